/* faults.c - fault injection for tests (faults.h): only in the shim built
 * with MT_FAULTS. MEMTAP_FAULT is read at the first call (getenv: nothing
 * allocated), each kind's calls counted atomically. */
#ifdef MT_FAULTS
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "faults.h"

static const struct {
    const char *name;
    int err;
} kinds[MT_FAULT_KINDS] = {
    [MT_FAULT_OPEN] = {"open", EMFILE},
    [MT_FAULT_MMAP] = {"mmap", ENOMEM},
    [MT_FAULT_FALLOCATE] = {"fallocate", ENOSPC},
    [MT_FAULT_THREAD] = {"thread", EAGAIN},
};

static unsigned long nth[MT_FAULT_KINDS]; /* 0: never */
static int onward[MT_FAULT_KINDS];        /* the Nth and every later call */
static unsigned long calls[MT_FAULT_KINDS];
static int parsed;

static void parse(void)
{
    const char *s = getenv("MEMTAP_FAULT");
    while (s && *s) {
        for (int k = 0; k < MT_FAULT_KINDS; k++) {
            size_t n = strlen(kinds[k].name);
            if (strncmp(s, kinds[k].name, n) == 0 && s[n] == ':') {
                char *end;
                nth[k] = strtoul(s + n + 1, &end, 10);
                onward[k] = *end == '+';
                break;
            }
        }
        s = strchr(s, ',');
        if (s)
            s++;
    }
}

int mt_fault(enum mt_fault_kind kind)
{
    if (!__atomic_load_n(&parsed, __ATOMIC_ACQUIRE)) {
        parse();
        __atomic_store_n(&parsed, 1, __ATOMIC_RELEASE);
    }
    if (!nth[kind])
        return 0;
    unsigned long c = __atomic_add_fetch(&calls[kind], 1, __ATOMIC_RELAXED);
    return c == nth[kind] || (onward[kind] && c > nth[kind]) ? kinds[kind].err : 0;
}
#endif
