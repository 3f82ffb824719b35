/* modules.c - the module map: every loaded object with its load bias, path
 * and GNU build-id, so native addresses can be symbolized offline.
 *
 * Checked whenever a new stack frame is interned (rare after warm-up): the
 * loader's dlpi_adds counter says in one call whether anything was loaded
 * since the last look. No dlopen interposer: it would change which object's
 * RUNPATH glibc uses for the program's own dlopen calls.
 *
 * A thread that finds another one updating skips the update instead of
 * waiting: the other one may be blocked on the loader lock that this thread
 * holds (malloc from inside dlopen). The next new frame, or exit, retries.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "mt_shim.h"

uintptr_t mt_self_text_lo, mt_self_text_hi;

#define KNOWN_MAX 4096
static uint64_t known[KNOWN_MAX]; /* hash of (bias, path) of recorded objects */
static int known_count;
static unsigned long long seen_adds = ~0ull;
static volatile int updating;
static char exe_path[MT_PATH_MAX];

static uint64_t module_key(uint64_t bias, const char *path)
{
    uint64_t h = bias * 0x9E3779B97F4A7C15ull;
    for (const char *s = path; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h | 1;
}

static int read_adds(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(unsigned long long *)data = info->dlpi_adds;
    return 1; /* one object is enough: the counter is global */
}

static size_t find_build_id(const struct dl_phdr_info *info, const unsigned char **out)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t name_sz = (nh->n_namesz + 3) & ~3u, desc_sz = (nh->n_descsz + 3) & ~3u;
            const unsigned char *name = p + sizeof *nh, *desc = name + name_sz;
            if (desc + desc_sz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0) {
                *out = desc;
                return nh->n_descsz;
            }
            p = desc + desc_sz;
        }
    }
    return 0;
}

static int record_one(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct mt_thread *t = data;
    const char *path = info->dlpi_name;
    if (!path || !*path)
        path = exe_path; /* the executable itself has no name here */
    if (!*path || strncmp(path, "linux-vdso", 10) == 0 || strncmp(path, "linux-gate", 10) == 0)
        return 0;
    uint64_t key = module_key(info->dlpi_addr, path);
    for (int i = 0; i < known_count; i++)
        if (known[i] == key)
            return 0;
    if (known_count < KNOWN_MAX)
        known[known_count++] = key;
    const unsigned char *build_id = NULL;
    size_t id_len = find_build_id(info, &build_id);
    mt_record_module(t, info->dlpi_addr, path, build_id, id_len);
    return 0;
}

void mt_modules_update(struct mt_thread *t)
{
    unsigned long long adds = 0;
    dl_iterate_phdr(read_adds, &adds);
    if (adds == __atomic_load_n(&seen_adds, __ATOMIC_RELAXED))
        return;
    if (__atomic_exchange_n(&updating, 1, __ATOMIC_ACQUIRE))
        return;
    dl_iterate_phdr(record_one, t);
    __atomic_store_n(&seen_adds, adds, __ATOMIC_RELAXED);
    __atomic_store_n(&updating, 0, __ATOMIC_RELEASE);
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t self = (uintptr_t)data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    if (self < lo || self >= hi)
        return 0;
    mt_self_text_lo = lo;
    mt_self_text_hi = hi;
    return 1;
}

void mt_modules_init(void)
{
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = 0;
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&mt_modules_init);
}
