/* memtap.h - the public C API a traced program may call.
 *
 * Every function here is declared weak: a program compiled against this
 * header links and runs without memtap (the symbol is then NULL and the
 * inline helpers do nothing); under `memtap run` the shim provides them.
 */
#ifndef MEMTAP_H
#define MEMTAP_H

#ifdef __cplusplus
extern "C" {
#endif

/* Records a named marker (a snapshot point) in the trace, ordered with the
 * allocations around it. label: any bytes up to the first NUL, cut at 255.
 * Returns 0, or EINVAL for a NULL label, or ENODEV if this process is not
 * being traced. Safe from any thread; not async-signal-safe. */
int mt_marker(const char *label) __attribute__((weak));

/* Recording windows: mt_window_stop() stops recording allocations (frees
 * are still recorded, so a block recorded earlier and freed meanwhile is
 * freed in the trace), mt_window_start() starts again; each switch is a
 * marker memtap:window-stop or memtap:window-start in the trace. `memtap
 * run --paused` starts with recording off. Return 0, or ENODEV if this
 * process is not being traced. mt_window_recording() is 1 while recording. */
int mt_window_start(void) __attribute__((weak));
int mt_window_stop(void) __attribute__((weak));
int mt_window_recording(void) __attribute__((weak));

/* 1 when this process is being traced, 0 when not. */
int mt_is_traced(void) __attribute__((weak));

/* Calls mt_marker when the shim is loaded; a no-op otherwise. */
static inline int mt_marker_if_traced(const char *label)
{
    return mt_marker ? mt_marker(label) : 0;
}

#ifdef __cplusplus
}
#endif
#endif
