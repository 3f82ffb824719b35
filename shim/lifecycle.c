/* lifecycle.c - start-up, fork and exit.
 *
 * Start-up runs in the constructor, under the recursion guard, before the
 * program's main (but possibly after some of its allocations: every hook
 * works before this runs, untraced). The process the launcher started
 * (MEMTAP_ROOT_PID) is traced, and with MEMTAP_CHILDREN every descendant
 * too, each into a trace of its own (trace_file.c names them): an exec'd
 * program starts its process's trace afresh; other descendants inherit
 * LD_PRELOAD and, without MEMTAP_CHILDREN, record nothing.
 *
 * fork: the child never writes to the parent's file (the mapping is
 * shared with the parent). Following children, it switches to a file of
 * its own at once, in the fork's child handler (writer.c), with the fork
 * point in its header: the loader gives it its parent's live blocks from
 * there. Not following, it stops tracing. Documented in README.
 *
 * How a process ended: exit and _exit record the status they are given
 * (a return from main reaches exit inside libc, unseen: the launcher and
 * the parent know it).
 *
 * Exit: exit() runs the destructor (mt_stop). _exit and _Exit run nothing,
 * yet programs end by them (dash does, and Python's os._exit): their trace
 * is closed in the hooks below, with only what is safe in a signal handler
 * (where _exit is often called) and never from a vfork child, which shares
 * the parent's memory and state but not its pid.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mt_shim.h"
#include "sampling.h"

static pid_t traced_pid; /* the process whose trace this is */

long mt_traced_pid(void)
{
    return traced_pid;
}

static void after_fork_child(void)
{
    if (!mt_enabled) { /* stopped (a full disk): the parent's trace is not ours */
        mt_writer_forget_after_fork();
        return;
    }
    struct mt_fork_point at = {
        .seq = __atomic_load_n(&mt_seq.value, __ATOMIC_RELAXED),
        .last_stack = mt_stacks_last_id(),
        .last_pyframe = mt_py_last_frame_id(),
    };
    if (!mt_opt.children || mt_writer_follow_fork(&at) != 0) {
        mt_writer_forget_after_fork();
        return;
    }
    traced_pid = getpid();
    struct mt_thread *t = &mt_self;
    int was = t->guard;
    t->guard = 1;
    mt_record_sample(t);
    t->guard = was;
}

__attribute__((constructor)) static void mt_start(void)
{
    struct mt_thread *t = &mt_self;
    t->guard = 1;
    mt_resolve_real();
    mt_children_init();
    mt_exec_init();
    mt_options_load();
    if (!mt_opt.output ||
        (mt_opt.root_pid && mt_opt.root_pid != (long)getpid() && !mt_opt.children))
        goto out;
    mt_modules_init();
    int python = mt_py_detect();
    if (mt_opt.native < 0) { /* auto: native stacks unless Python gives stacks */
        mt_opt.native = !python;
        mt_opt.native_fallback = python; /* and where it gives none */
    }
    if (mt_stacks_init() != 0) {
        mt_say("stacks unavailable (out of memory)", "", "");
        mt_opt.native = 0;
        mt_opt.native_fallback = 0;
        mt_py_waiting = 0;
    }
    mt_sampling_init();
    if (mt_writer_open() != 0)
        goto out;
    mt_windows_init();
    pthread_atfork(NULL, NULL, after_fork_child);
    traced_pid = getpid();
    mt_enabled = 1;
    mt_modules_update(t);
    mt_record_sample(t);
    mt_sampler_start(python);
out:
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->guard = 0;
}

/* The exit messages (mt_say writes with write(2)). */
static void say_at_exit(void)
{
    uint64_t cut = mt_stacks_cut();
    if (cut) {
        char n[24];
        snprintf(n, sizeof n, "%llu", (unsigned long long)cut);
        mt_say(n, " stacks were cut short: the stack tables were full", "");
    }
    if (mt_py_active && mt_py_frames_lost())
        mt_say("python: the frame table was full: some stacks lack Python frames", "", "");
    if (mt_py_active && mt_py_code_table_full())
        mt_say("python: the code table was full: a code object that replaced a dead one at ",
               "its address may show the dead one's frames", "");
    if (mt_opt.debug) {
        char n[24];
        snprintf(n, sizeof n, "%llu", (unsigned long long)mt_seq_owner_changes());
        mt_say("debug: the sequence counter changed owner ", n, " times");
        uint64_t fast, joined, fallback, disagree;
        mt_unwind_counts(&fast, &joined, &fallback, &disagree);
        char u[128];
        snprintf(u, sizeof u, "%llu fast (%llu ended in the memo), %llu by libunwind, %llu disagreed",
                 (unsigned long long)fast, (unsigned long long)joined,
                 (unsigned long long)fallback, (unsigned long long)disagree);
        mt_say("debug: native walks: ", u, "");
        if (mt_opt.unwind_check) {
            snprintf(n, sizeof n, "%llu", (unsigned long long)mt_stack_keys_checked());
            mt_say("debug: stacks found by key, checked against a full walk: ", n, "");
        }
    }
}

__attribute__((destructor)) static void mt_stop(void)
{
    struct mt_thread *t = &mt_self;
    if (!mt_enabled) {
        if (mt_writer_stopped() && getpid() == traced_pid) { /* closed all the same */
            t->guard = 1;
            mt_writer_close(0);
            t->guard = 0;
        }
        return;
    }
    t->guard = 1;
    mt_sampler_stop();
    mt_modules_update(t);
    say_at_exit();
    mt_writer_close(1);
    t->guard = 0;
}

/* _exit/_Exit: the sampler thread is not joined (the exit takes it) and
 * the module map not read again (the loader's lock may be held by the code
 * a signal interrupted); a hook this thread was in when a signal came may
 * have half a record at its place, so no last sample is written there. */
static void close_before_exit(void)
{
    struct mt_thread *t = &mt_self;
    if ((!mt_enabled && !mt_writer_stopped()) || getpid() != traced_pid)
        return;
    int interrupted = t->guard;
    t->guard = 1;
    say_at_exit();
    mt_writer_close(!interrupted);
}

static __attribute__((noreturn)) void exit_now(int status)
{
    mt_resolve_real();
    if (mt_real.exit_now)
        mt_real.exit_now(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"), noreturn)) void exit(int status)
{
    if ((mt_enabled || mt_writer_stopped()) && getpid() == traced_pid)
        mt_writer_exit_status(status);
    mt_resolve_real();
    if (mt_real.exit)
        mt_real.exit(status);
    exit_now(status);
}

__attribute__((visibility("default"), noreturn)) void _exit(int status)
{
    if ((mt_enabled || mt_writer_stopped()) && getpid() == traced_pid)
        mt_writer_exit_status(status);
    close_before_exit();
    exit_now(status);
}

__attribute__((visibility("default"), noreturn)) void _Exit(int status)
{
    if ((mt_enabled || mt_writer_stopped()) && getpid() == traced_pid)
        mt_writer_exit_status(status);
    close_before_exit();
    exit_now(status);
}
