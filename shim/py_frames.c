/* py_frames.c - Python frames, named and numbered: each (code object,
 * identity, byte offset) seen in a stack gets an id the first time, and a
 * PYFRAME record with its file, function and line, read from the code
 * object without calling into the interpreter but for the line
 * (PyCode_Addr2Line, under the GIL the allocating hook holds). python.c
 * walks the stacks and asks for the ids of frames not seen before; the
 * common path (a stack seen before) never comes here.
 *
 * Must not: allocate, or take a reference.
 */
#define _GNU_SOURCE
#include <string.h>

#include "py_frames.h"
#include "py_layout.h"
#include "record.h"

/* Python frames seen so far: (code, identity, offset) -> id, lock-free,
 * growing by generations (tables.c): 12k frames in the first (384 KiB),
 * 4.1M in all five (a program with 250k allocating lines needs the fourth). */
#define PYFRAME_SLOTS (1u << 14)
#define PYFRAME_PROBES 64

struct pyframe_slot {
    uint64_t code;      /* claims the slot */
    uint64_t identity;  /* the code object's generation (code table) */
    uint32_t offset;
    uint32_t id;        /* publishes it */
};
static struct mt_table pyframe_table;
static uint32_t next_pyframe;
static int pyframes_lost; /* a frame found no slot: its stacks lack it */

static const struct mt_py_layout *layout;
static int (*addr2line)(void *code, int byte_offset);

int mt_py_frames_init(void)
{
    return mt_table_init(&pyframe_table, sizeof(struct pyframe_slot), PYFRAME_SLOTS);
}

void mt_py_frames_use(const struct mt_py_layout *L, int (*code_addr2line)(void *, int))
{
    layout = L;
    addr2line = code_addr2line;
}

uint32_t mt_py_last_frame_id(void)
{
    return __atomic_load_n(&next_pyframe, __ATOMIC_RELAXED);
}

int mt_py_frames_lost(void)
{
    return pyframes_lost;
}

/* Code point c as UTF-8 into out; returns its length. */
static size_t utf8_put(uint32_t c, unsigned char out[4])
{
    if (c < 0x80) {
        out[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (unsigned char)(0xC0 | c >> 6);
        out[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (unsigned char)(0xE0 | c >> 12);
        out[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (c >> 18 & 0x07));
    out[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* The UTF-8 text of str object s, read from its fields, or dflt. No call
 * into the interpreter: PyUnicode_AsUTF8 allocates (a UTF-8 copy kept in
 * the object, memory of the program's we would have made) and needs the
 * GIL, which a thread naming its frames may not hold. A compact ASCII
 * string is its own UTF-8; another compact one has the copy if someone
 * asked for it, else is encoded here into buf (cap bytes, cut at a
 * character). A legacy string (not compact; <= 3.11, never a code
 * object's name or file) reads as dflt. */
static const char *str_utf8(void *s, char *buf, size_t cap, const char *dflt)
{
    const struct mt_py_layout *L = layout;
    uint32_t state = s ? FIELD(s, L->str_state, uint32_t) : 0;
    if (!(state & L->str_compact))
        return dflt;
    if (state & L->str_ascii)
        return (const char *)s + L->str_ascii_data;
    const char *copy = __atomic_load_n(&FIELD(s, L->str_utf8, const char *), __ATOMIC_ACQUIRE);
    if (copy)
        return copy;
    unsigned kind = (state >> L->str_kind_shift) & 7;
    const unsigned char *text = (const unsigned char *)s + L->str_compact_data;
    int64_t n = FIELD(s, L->str_length, int64_t);
    size_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t c = kind == 1   ? text[i]
                     : kind == 2 ? ((const uint16_t *)(const void *)text)[i]
                                 : ((const uint32_t *)(const void *)text)[i];
        unsigned char out[4];
        size_t len = utf8_put(c, out);
        if (at + len >= cap)
            break;
        memcpy(buf + at, out, len);
        at += len;
    }
    buf[at] = 0;
    return buf;
}

/* Where a frame's probe starts. The identity is in it: code objects that
 * follow one another at an address (exec or compile in a loop) would
 * otherwise all probe from one slot, and a few hundred of them would fill
 * its probe window in every generation. */
static inline size_t pyframe_index(uint64_t code, uint64_t identity, uint32_t offset)
{
    return (size_t)mt_stack_mix(code ^ (identity << 40), offset);
}

/* (code, identity, offset) in an older generation of the frame table,
 * which takes no new entries but from threads that had not yet seen the
 * newer one; 0: not there. */
static uint32_t old_pyframe(const struct mt_generation *g, uint64_t key, uint64_t identity,
                            uint32_t offset)
{
    const struct pyframe_slot *slots = g->slots;
    size_t i = pyframe_index(key, identity, offset) & g->mask;
    for (int probe = 0; probe < PYFRAME_PROBES; probe++, i = (i + 1) & g->mask) {
        const struct pyframe_slot *s = &slots[i];
        uint32_t id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE);
        if (id && s->code == key && s->offset == offset && s->identity == identity)
            return id;
        if (!id && __atomic_load_n(&s->code, __ATOMIC_RELAXED) == 0)
            return 0;
    }
    return 0;
}

/* The same in the newest generation g, created (and its PYFRAME record
 * written, under the GIL) if not there. One probe pass, like the stack
 * trie's: look up and claim as we go. 0: no room in its probe window. */
static uint32_t new_pyframe(struct mt_thread *t, struct mt_generation *g, void *code,
                            uint64_t identity, uint32_t offset)
{
    struct pyframe_slot *slots = g->slots;
    uint64_t key = (uint64_t)(uintptr_t)code;
    size_t i = pyframe_index(key, identity, offset) & g->mask;
    for (int probe = 0; probe < PYFRAME_PROBES; probe++, i = (i + 1) & g->mask) {
        struct pyframe_slot *s = &slots[i];
        uint32_t id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE);
        if (id) {
            if (s->code == key && s->offset == offset && s->identity == identity)
                return id;
            continue;
        }
        uint64_t expect = __atomic_load_n(&s->code, __ATOMIC_RELAXED);
        if (expect != 0 ||
            !__atomic_compare_exchange_n(&s->code, &expect, key, 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED)) {
            /* Being filled by another thread (another interpreter's GIL, 3.12+),
             * with this very frame maybe: a code object shared by interpreters
             * (the static ones of frozen modules). Its id, not a second one. */
            if (expect == key) {
                uint32_t other = mt_wait_published(&s->id);
                if (other && s->offset == offset && s->identity == identity)
                    return other;
            }
            continue;
        }
        s->offset = offset;
        s->identity = identity;
        __atomic_fetch_add(&g->count, 1, __ATOMIC_RELAXED);
        uint32_t nid = __atomic_add_fetch(&next_pyframe, 1, __ATOMIC_RELAXED);
        int line = addr2line(code, (int)offset);
        char file_buf[512], name_buf[256];
        const char *file = str_utf8(FIELD(code, layout->code_filename, void *), file_buf,
                                    sizeof file_buf, "?");
        const char *name = str_utf8(FIELD(code, layout->code_name, void *), name_buf,
                                    sizeof name_buf, "?");
        mt_record_pyframe(t, nid, line, file, name);
        __atomic_store_n(&s->id, nid, __ATOMIC_RELEASE);
        return nid;
    }
    return 0;
}

uint32_t mt_py_frame_id(struct mt_thread *t, void *code, uint64_t identity, uint32_t offset)
{
    for (;;) {
        uint32_t top = mt_table_top(&pyframe_table);
        for (uint32_t k = 0; k < top; k++) {
            uint32_t id =
                old_pyframe(&pyframe_table.gen[k], (uint64_t)(uintptr_t)code, identity, offset);
            if (id)
                return id;
        }
        struct mt_generation *g = &pyframe_table.gen[top];
        uint32_t id = mt_generation_full(g) ? 0 : new_pyframe(t, g, code, identity, offset);
        if (id)
            return id;
        if (!mt_table_grow(&pyframe_table, top)) /* full, or its probe window is */
            break;
    }
    pyframes_lost = 1;
    return 0;
}
