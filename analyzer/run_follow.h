/* run_follow.h - `memtap run --load`: the trace loaded while CMD runs, by
 * a process of the launcher's (run_follow.c). */
#ifndef MT_RUN_FOLLOW_H
#define MT_RUN_FOLLOW_H

#include <sys/types.h>

struct mt_follower {
    pid_t pid;   /* 0: none */
    int done_fd; /* closed when CMD is gone */
    const char *trace, *db;
};

/* Starts following trace (created by CMD, maybe later) into db. Returns 0
 * or an errno (then there is no follower: the first report loads). */
int mt_follow_start(struct mt_follower *f, const char *trace, const char *db);

/* CMD is gone and its exit recorded in the trace: the follower reads the
 * rest and writes the database (the trace may be packed meanwhile: the
 * follower reads the file it opened). */
void mt_follow_stop(struct mt_follower *f);

/* Stops it if not yet, and waits for it. Returns 1 when db was written. */
int mt_follow_finish(struct mt_follower *f);

/* `memtap run --live`: memtap top's view of trace on the terminal, in a
 * process of the launcher's (f->db unused), until CMD is gone
 * (mt_follow_stop) and the user quits with q; note: a line on its screen.
 * mt_follow_finish waits for the user. */
int mt_view_start(struct mt_follower *f, const char *trace, const char *note);

#endif
