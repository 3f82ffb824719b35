/* run_signals.h - the launcher's signals: CMD sees each signal once, as it
 * would untraced, and the launcher lives to report however it is signalled
 * (but SIGKILL). How, with a terminal and without: run_signals.c.
 */
#ifndef MT_RUN_SIGNALS_H
#define MT_RUN_SIGNALS_H

#include <sys/types.h>

/* Before fork: blocks the signals the launcher passes on, so that none is
 * lost between the fork and mt_run_signals_parent. */
void mt_run_signals_prepare(void);

/* In the child, before exec: its process group, and the signal mask as it
 * was. */
void mt_run_signals_child(void);

/* In the launcher after fork: passes signals on to child, and unblocks. */
void mt_run_signals_parent(pid_t child);

/* Waits for child to end, into *status: 0, or an errno. */
int mt_run_wait(pid_t child, int *status);

#endif
