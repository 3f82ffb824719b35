/* options.c - every MEMTAP_* environment option in one table, read once at
 * start-up (before the program can change its environment, and never on the
 * allocation path). Unknown or malformed values fall back to the default and
 * are reported once on stderr: a bad option must not stop the program. */
#include <stdlib.h>
#include <string.h>

#include "mt_shim.h"

struct mt_options mt_opt = {
    .output = NULL,
    .session = 0,
    .root_pid = 0,
    .native = -1, /* auto */
    .max_depth = 128,
    .sample_ms = 10,
    .owned_sequence = 1,
    .fast_unwind = 1,
    .table_generations = MT_GENERATIONS,
};

enum opt_type { OPT_STRING, OPT_INT, OPT_U64, OPT_DEC };

struct opt_def {
    const char *env;
    enum opt_type type;
    void *target;
    long min, max;
};

static const struct opt_def opt_table[] = {
    {"MEMTAP_OUTPUT", OPT_STRING, &mt_opt.output, 0, 0},
    {"MEMTAP_SESSION", OPT_U64, &mt_opt.session, 0, 0},
    {"MEMTAP_ROOT_PID", OPT_INT, &mt_opt.root_pid, 0, 1L << 30},
    {"MEMTAP_CHILDREN", OPT_INT, &mt_opt.children, 0, 1},
    {"MEMTAP_NATIVE", OPT_INT, &mt_opt.native, 0, 1},
    {"MEMTAP_PYMALLOC_ARENAS", OPT_INT, &mt_opt.pymalloc_arenas, 0, 1},
    {"MEMTAP_DEPTH", OPT_INT, &mt_opt.max_depth, 1, 1024},
    {"MEMTAP_SAMPLE_MS", OPT_INT, &mt_opt.sample_ms, 0, 60000},
    {"MEMTAP_SNAPSHOT_SIGNAL", OPT_INT, &mt_opt.snapshot_signal, 1, 64},
    {"MEMTAP_OWNED_SEQUENCE", OPT_INT, &mt_opt.owned_sequence, 0, 1},
    {"MEMTAP_DEBUG", OPT_INT, &mt_opt.debug, 0, 1},
    {"MEMTAP_FAST_UNWIND", OPT_INT, &mt_opt.fast_unwind, 0, 1},
    {"MEMTAP_UNWIND_CHECK", OPT_INT, &mt_opt.unwind_check, 0, 1},
    {"MEMTAP_TABLE_GENERATIONS", OPT_INT, &mt_opt.table_generations, 1, MT_GENERATIONS},
    {"MEMTAP_SAMPLE_RATE", OPT_DEC, &mt_opt.sample_rate, 0, 0},
    {"MEMTAP_SAMPLE_SEED", OPT_DEC, &mt_opt.sample_seed, 0, 0},
    {"MEMTAP_PAUSED", OPT_INT, &mt_opt.paused, 0, 1},
    {"MEMTAP_WINDOW_SIGNAL", OPT_INT, &mt_opt.window_signal, 1, 64},
    {"MEMTAP_START_AFTER_MS", OPT_INT, &mt_opt.start_after_ms, 0, 1L << 40},
    {"MEMTAP_STOP_AFTER_MS", OPT_INT, &mt_opt.stop_after_ms, 0, 1L << 40},
};

static void set_int(const struct opt_def *d, long v)
{
    if (d->target == &mt_opt.root_pid || d->target == &mt_opt.start_after_ms ||
        d->target == &mt_opt.stop_after_ms)
        *(long *)d->target = v;
    else
        *(int *)d->target = (int)v;
}

void mt_options_load(void)
{
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
        const struct opt_def *d = &opt_table[i];
        const char *s = getenv(d->env);
        if (!s || !*s)
            continue;
        char *end = NULL;
        switch (d->type) {
        case OPT_STRING:
            *(const char **)d->target = s;
            break;
        case OPT_U64: {
            unsigned long long v = strtoull(s, &end, 16);
            if (*end)
                mt_say("ignoring malformed ", d->env, "");
            else
                *(uint64_t *)d->target = v;
            break;
        }
        case OPT_DEC: {
            unsigned long long v = strtoull(s, &end, 10);
            if (*end || *s == '-')
                mt_say("ignoring malformed ", d->env, "");
            else
                *(uint64_t *)d->target = v;
            break;
        }
        case OPT_INT: {
            long v = strtol(s, &end, 10);
            if (*end || v < d->min || v > d->max)
                mt_say("ignoring out-of-range ", d->env, "");
            else
                set_int(d, v);
            break;
        }
        }
    }
}
