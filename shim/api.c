/* api.c - the public API of include/memtap.h, as the shim provides it.
 * These run on the program's behalf, not inside an allocation, but they
 * still set the recursion guard: what they write must not be traced. */
#include <errno.h>

#include "memtap.h"
#include "mt_shim.h"

int mt_marker_internal(const char *label)
{
    struct mt_thread *t = &mt_self;
    if (!mt_enabled || t->guard)
        return ENODEV;
    int saved = errno;
    t->guard = 1;
    mt_record_marker(t, label);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->guard = 0;
    errno = saved;
    return 0;
}

__attribute__((visibility("default"))) int mt_marker(const char *label)
{
    return label ? mt_marker_internal(label) : EINVAL;
}

__attribute__((visibility("default"))) int mt_is_traced(void)
{
    return mt_enabled != 0;
}
