/* eh_frame.c - the unwind rule of one instruction, read from the .eh_frame
 * of the object that holds it, for the fast walker (unwind.c).
 *
 * The object is found with glibc's lock-free _dl_find_object, its FDE with
 * the .eh_frame_hdr search table; the CIE's and the FDE's call-frame
 * instructions are run up to the instruction. What the walker can use comes
 * back packed in one word (mt_shim.h): where the caller's frame starts (rsp
 * or rbp plus a constant), the return address just below it, and where rbp
 * was saved, if it was. Anything else is MT_RULE_UNKNOWN, and the walk that
 * meets it goes to libunwind: a CFA given by an expression or by another
 * register, a signal frame, a return-address or rbp rule other than "saved
 * at CFA+n", code with no unwind table, an unusual table encoding. One
 * piece of code outside every object is known by its bytes: CPython's perf
 * trampolines (python -X perf, 3.12+).
 *
 * Runs once per instruction address (the walker keeps the rules). Must not
 * allocate, lock, or call into the traced program.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mt_shim.h"

#if defined(__x86_64__) && defined(DLFO_EH_SEGMENT_TYPE)

/* DWARF register numbers on x86-64. */
enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };

/* ---- reading .eh_frame ---------------------------------------------------- */

struct reader {
    const unsigned char *p, *end;
    int bad;
};

static uint64_t get_uleb(struct reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; r->p < r->end && shift < 64; shift += 7) {
        unsigned char b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t get_sleb(struct reader *r)
{
    int64_t v = 0;
    int shift = 0;
    while (r->p < r->end && shift < 64) {
        unsigned char b = *r->p++;
        v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= -((int64_t)1 << shift);
            return v;
        }
    }
    r->bad = 1;
    return 0;
}

static uint64_t get_fixed(struct reader *r, int n)
{
    if (r->end - r->p < n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, (size_t)n); /* little-endian */
    r->p += n;
    return v;
}

/* A pointer in one of the DW_EH_PE encodings GNU toolchains emit: absolute
 * or pc-relative, 2/4/8-byte or LEB128. Indirect and the rest: bad. */
static uint64_t get_encoded(struct reader *r, unsigned enc)
{
    const unsigned char *at = r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00: v = get_fixed(r, 8); break;                           /* absptr */
    case 0x01: v = get_uleb(r); break;                               /* uleb128 */
    case 0x02: v = get_fixed(r, 2); break;                           /* udata2 */
    case 0x03: v = get_fixed(r, 4); break;                           /* udata4 */
    case 0x04: v = get_fixed(r, 8); break;                           /* udata8 */
    case 0x09: v = (uint64_t)get_sleb(r); break;                     /* sleb128 */
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)get_fixed(r, 2); break; /* sdata2 */
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)get_fixed(r, 4); break; /* sdata4 */
    case 0x0c: v = get_fixed(r, 8); break;                           /* sdata8 */
    default: r->bad = 1; return 0;
    }
    switch (enc & 0x70) {
    case 0x00: break;                               /* absolute */
    case 0x10: v += (uint64_t)(uintptr_t)at; break; /* pc-relative */
    default: r->bad = 1;
    }
    if (enc & 0x80)
        r->bad = 1; /* indirect */
    return v;
}

/* The FDE covering ip, through the object's .eh_frame_hdr binary search
 * table (the layout GNU ld and lld write: version 1, a datarel sdata4 table).
 * NULL when there is none or the table is in another encoding. */
static const unsigned char *find_fde(uint64_t ip)
{
    struct dl_find_object obj;
    if (_dl_find_object((void *)(uintptr_t)ip, &obj) != 0 || !obj.dlfo_eh_frame)
        return NULL;
    const unsigned char *hdr = obj.dlfo_eh_frame;
    if (hdr[0] != 1 || hdr[3] != 0x3b)
        return NULL;
    struct reader r = {hdr + 4, hdr + 4 + 16, 0};
    (void)get_encoded(&r, hdr[1]); /* eh_frame_ptr: not needed */
    uint64_t count = get_encoded(&r, hdr[2]);
    if (r.bad || count == 0)
        return NULL;
    const int32_t *table = (const int32_t *)(const void *)r.p; /* pairs */
    int64_t rel = (int64_t)(ip - (uint64_t)(uintptr_t)hdr);
    uint64_t lo = 0, hi = count; /* the last entry with start <= ip */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (table[2 * mid] <= rel)
            lo = mid;
        else
            hi = mid;
    }
    if (table[2 * lo] > rel)
        return NULL;
    return hdr + table[2 * lo + 1];
}

/* What a CIE says that its FDEs need. */
struct cie {
    const unsigned char *instr, *instr_end;
    uint64_t code_align;
    int64_t data_align;
    unsigned fde_enc;
    int has_aug_data;
    int signal_frame;
};

static int parse_cie(const unsigned char *c, struct cie *out)
{
    uint32_t len;
    memcpy(&len, c, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    struct reader r = {c + 4, c + 4 + len, 0};
    if (get_fixed(&r, 4) != 0)
        return -1; /* not a CIE */
    unsigned version = (unsigned)get_fixed(&r, 1);
    if (version != 1 && version != 3)
        return -1;
    const char *aug = (const char *)r.p;
    size_t aug_len = strnlen(aug, (size_t)(r.end - r.p));
    r.p += aug_len + 1;
    out->code_align = get_uleb(&r);
    out->data_align = get_sleb(&r);
    uint64_t ra = version == 1 ? get_fixed(&r, 1) : get_uleb(&r);
    if (ra != REG_RA)
        return -1;
    out->fde_enc = 0;
    out->has_aug_data = 0;
    out->signal_frame = 0;
    if (aug[0] == 'z') {
        uint64_t n = get_uleb(&r);
        const unsigned char *data_end = r.p + n;
        out->has_aug_data = 1;
        for (const char *a = aug + 1; *a && !r.bad; a++) {
            if (*a == 'R')
                out->fde_enc = (unsigned)get_fixed(&r, 1);
            else if (*a == 'L')
                (void)get_fixed(&r, 1);
            else if (*a == 'P') {
                unsigned enc = (unsigned)get_fixed(&r, 1);
                (void)get_encoded(&r, enc & 0x7f); /* the personality: skipped */
            } else if (*a == 'S')
                out->signal_frame = 1;
            else
                return -1;
        }
        if (r.p > data_end)
            return -1;
        r.p = data_end;
    } else if (aug[0]) {
        return -1;
    }
    if (r.bad || r.p > r.end)
        return -1;
    out->instr = r.p;
    out->instr_end = r.end;
    return 0;
}

/* The rules a walk cares about, as the CFA program builds them. */
struct row {
    int cfa_reg;
    int64_t cfa_off;
    int bp_rule; /* 0 unchanged, 1 saved at CFA + bp_off, -1 something else */
    int64_t bp_off;
    int ra_rule; /* 0 none yet, 1 saved at CFA + ra_off, 2 undefined, -1 other */
    int64_t ra_off;
};

/* Sets a register's rule from a CFA instruction; only rbp and the return
 * address matter to the walk, the other registers are not restored. */
static void set_rule(struct row *row, uint64_t reg, int rule, int64_t off)
{
    if (reg == REG_RBP) {
        row->bp_rule = rule;
        row->bp_off = off;
    } else if (reg == REG_RA) {
        row->ra_rule = rule;
        row->ra_off = off;
    }
}

/* Runs a CFA program up to the row for target (or the end). Returns 0, or
 * -1 on an instruction the walk cannot follow. */
static int run_cfa(struct reader *r, const struct cie *cie, uint64_t *loc, uint64_t target,
                   struct row *row, const struct row *initial)
{
    struct row stack[8];
    int depth = 0;
    while (r->p < r->end && !r->bad) {
        unsigned op = *r->p++;
        uint64_t delta = 0, reg;
        switch (op & 0xc0) {
        case 0x40: delta = op & 0x3f; goto advance;
        case 0x80: set_rule(row, op & 0x3f, 1, (int64_t)get_uleb(r) * cie->data_align); continue;
        case 0xc0:
            reg = op & 0x3f;
            goto restore;
        }
        switch (op) {
        case 0x00: break; /* nop */
        case 0x01: return -1; /* set_loc: not emitted by GNU tools */
        case 0x02: delta = get_fixed(r, 1); goto advance;
        case 0x03: delta = get_fixed(r, 2); goto advance;
        case 0x04: delta = get_fixed(r, 4); goto advance;
        case 0x05: reg = get_uleb(r); set_rule(row, reg, 1, (int64_t)get_uleb(r) * cie->data_align); break;
        case 0x06: reg = get_uleb(r); goto restore;
        case 0x07: reg = get_uleb(r); set_rule(row, reg, reg == REG_RA ? 2 : -1, 0); break;
        case 0x08: reg = get_uleb(r); set_rule(row, reg, 0, 0); break; /* same value */
        case 0x09: reg = get_uleb(r); (void)get_uleb(r); set_rule(row, reg, -1, 0); break;
        case 0x0a:
            if (depth == 8)
                return -1;
            stack[depth++] = *row;
            break;
        case 0x0b: {
            if (depth == 0)
                return -1;
            struct row saved = stack[--depth]; /* the CFA comes back too */
            *row = saved;
            break;
        }
        case 0x0c: row->cfa_reg = (int)get_uleb(r); row->cfa_off = (int64_t)get_uleb(r); break;
        case 0x0d: row->cfa_reg = (int)get_uleb(r); break;
        case 0x0e: row->cfa_off = (int64_t)get_uleb(r); break;
        case 0x0f: return -1; /* def_cfa_expression */
        case 0x10: /* expression */
        case 0x16: /* val_expression */
            reg = get_uleb(r);
            set_rule(row, reg, -1, 0);
            r->p += get_uleb(r);
            break;
        case 0x11: reg = get_uleb(r); set_rule(row, reg, 1, get_sleb(r) * cie->data_align); break;
        case 0x12:
            row->cfa_reg = (int)get_uleb(r);
            row->cfa_off = get_sleb(r) * cie->data_align;
            break;
        case 0x13: row->cfa_off = get_sleb(r) * cie->data_align; break;
        case 0x14: reg = get_uleb(r); (void)get_uleb(r); set_rule(row, reg, -1, 0); break;
        case 0x15: reg = get_uleb(r); (void)get_sleb(r); set_rule(row, reg, -1, 0); break;
        case 0x2e: (void)get_uleb(r); break; /* GNU_args_size */
        default: return -1;
        }
        continue;
    advance:
        *loc += delta * cie->code_align;
        if (*loc > target)
            return 0;
        continue;
    restore:
        if (!initial)
            return -1; /* restore inside the CIE itself */
        if (reg == REG_RBP) {
            row->bp_rule = initial->bp_rule;
            row->bp_off = initial->bp_off;
        } else if (reg == REG_RA) {
            row->ra_rule = initial->ra_rule;
            row->ra_off = initial->ra_off;
        }
    }
    return r->bad ? -1 : 0;
}

/* CPython 3.12+'s perf trampolines (python -X perf, or
 * sys.activate_stack_trampoline) are copies, in anonymous memory with no
 * unwind table, of Python/asm_trampoline.S, one of (as builds have it):
 *     sub $8,%rsp; call *%rcx; add $8,%rsp; ret        (3.12, 3.13)
 *     [endbr64] push %rbp; mov %rsp,%rbp; call *%rcx; pop %rbp; ret  (3.14)
 * At the call (ip: its last byte, as the walker looks up a return address
 * less one), the caller's frame starts at rsp + 16 in the first, and in
 * the second at rbp + 16 with rbp saved just below. The bytes are read with
 * process_vm_readv: the address came off the stack and may not be mapped. */
static uint64_t perf_trampoline_rule(uint64_t ip)
{
    static const unsigned char sub_rsp[11] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1,
                                              0x48, 0x83, 0xc4, 0x08, 0xc3};
    static const unsigned char push_rbp[8] = {0x55, 0x48, 0x89, 0xe5, 0xff, 0xd1, 0x5d, 0xc3};
    struct dl_find_object obj;
    unsigned char got[sizeof sub_rsp];
    struct iovec here = {got, sizeof got}, there = {(void *)(uintptr_t)(ip - 5), sizeof got};
    ssize_t n = 0;
    if (ip >= 5 && mt_py_may_have_trampolines() &&
        _dl_find_object((void *)(uintptr_t)ip, &obj) != 0)
        n = process_vm_readv(getpid(), &here, 1, &there, 1, 0); /* short at a mapping's end */
    if (n == (ssize_t)sizeof sub_rsp && memcmp(got, sub_rsp, sizeof sub_rsp) == 0)
        return mt_rule_pack(MT_RULE_STEP, 0, 0, 16);
    if (n >= (ssize_t)sizeof push_rbp && memcmp(got, push_rbp, sizeof push_rbp) == 0)
        return mt_rule_pack(MT_RULE_STEP, MT_RULE_CFA_BP | MT_RULE_BP_SAVED, -16, 16);
    return mt_rule_pack(MT_RULE_UNKNOWN, 0, 0, 0);
}

/* The rule for an instruction address, from its FDE. */
MT_COLD uint64_t mt_eh_frame_rule(uint64_t ip)
{
    const uint64_t unknown = mt_rule_pack(MT_RULE_UNKNOWN, 0, 0, 0);
    const unsigned char *fde = find_fde(ip);
    if (!fde)
        return perf_trampoline_rule(ip);
    uint32_t len;
    int32_t cie_ptr;
    memcpy(&len, fde, 4);
    memcpy(&cie_ptr, fde + 4, 4);
    if (len == 0 || len == 0xffffffffu || cie_ptr <= 0)
        return unknown;
    struct cie cie;
    if (parse_cie(fde + 4 - cie_ptr, &cie) || cie.signal_frame)
        return unknown;
    struct reader r = {fde + 8, fde + 4 + len, 0};
    uint64_t start = get_encoded(&r, cie.fde_enc);
    uint64_t range = get_encoded(&r, cie.fde_enc & 0x0f);
    if (r.bad || ip < start || ip - start >= range)
        return unknown;
    if (cie.has_aug_data) {
        uint64_t n = get_uleb(&r);
        r.p += n;
    }
    struct row row = {REG_RSP, 8, 0, 0, 0, 0};
    struct reader ci = {cie.instr, cie.instr_end, 0};
    uint64_t loc = start;
    if (run_cfa(&ci, &cie, &loc, ~0ull, &row, NULL))
        return unknown;
    struct row initial = row;
    loc = start;
    if (r.p > r.end || run_cfa(&r, &cie, &loc, ip, &row, &initial))
        return unknown;
    if (row.ra_rule == 2)
        return mt_rule_pack(MT_RULE_END, 0, 0, 0);
    if (row.ra_rule != 1 || row.ra_off != -8 || (row.cfa_reg != REG_RSP && row.cfa_reg != REG_RBP) ||
        row.cfa_off <= 0 || row.cfa_off > INT32_MAX || row.bp_rule < 0 ||
        (row.bp_rule == 1 && (row.bp_off < INT16_MIN || row.bp_off > INT16_MAX)))
        return unknown;
    return mt_rule_pack(MT_RULE_STEP, (row.cfa_reg == REG_RBP ? MT_RULE_CFA_BP : 0u) |
                                    (row.bp_rule == 1 ? MT_RULE_BP_SAVED : 0u),
                     (int)row.bp_off, (int)row.cfa_off);
}

int mt_is_perf_trampoline(uint64_t ip)
{
    return mt_rule_kind(perf_trampoline_rule(ip)) == MT_RULE_STEP;
}

#else

int mt_is_perf_trampoline(uint64_t ip)
{
    (void)ip;
    return 0;
}

#endif
