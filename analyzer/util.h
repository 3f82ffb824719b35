/* util.h - small helpers shared by the memtap commands: error reporting in
 * the one CLI format, human-readable sizes, JSON string output. */
#ifndef MT_UTIL_H
#define MT_UTIL_H

#include <stdint.h>
#include <stdio.h>

/* Exit statuses of every command. */
enum { MT_EXIT_OK = 0, MT_EXIT_FAIL = 1, MT_EXIT_USAGE = 2, MT_EXIT_CANCELED = 3 };
/* `memtap run`'s own failure (a usage mistake, an existing -o, no shim):
 * CMD did not run. Not 1 or 2, which CMD may exit with: 125, as env,
 * timeout and nohup say "the launcher failed" (126, 127: CMD could not
 * be executed, was not found; as a shell says). */
enum { MT_EXIT_RUN = 125 };

/* Prints a command's usage text: on stdout when asked for (--help, returns
 * MT_EXIT_OK), on stderr after a usage mistake (returns MT_EXIT_USAGE). */
int mt_usage(const char *text, int asked);

/* argv[0] of memtap (main sets it): where mt_self_dir looks without /proc. */
extern const char *mt_argv0;

/* Puts the formatted reason in err (errlen bytes) and returns code: the
 * error path of functions that say why they failed in a caller's buffer. */
int mt_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prints "memtap: <fmt>\n" on stderr. */
void mt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "memtap: warning: <fmt>\n" on stderr. */
void mt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats bytes as "1.5 MiB" into buf (at least 16 bytes); returns buf. */
const char *mt_human_bytes(uint64_t bytes, char *buf, size_t cap);

/* Length of the well-formed UTF-8 sequence at p (1 to 4 bytes), 0 when the
 * bytes there are not one (a stray or cut-short byte, an overlong form, a
 * surrogate, beyond U+10FFFF). p is NUL-terminated. */
size_t mt_utf8_len(const unsigned char *p);

/* Writes s as a JSON string literal (with quotes); NULL writes null. Any
 * bytes give valid JSON: controls escaped, bytes that are not UTF-8 as
 * U+FFFD, and <, >, & escaped so the literal is safe inside <script>. */
void mt_json_string(FILE *out, const char *s);

/* Writes s as HTML text or attribute value: markup characters as
 * entities, controls and bytes that are not UTF-8 as U+FFFD. */
void mt_html_text(FILE *out, const char *s);

/* snprintf that reports truncation: 0, or ENAMETOOLONG if out was too
 * small (out then holds a truncated string). */
int mt_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* path with its extension old_ext replaced by new_ext ("x.memtap" ->
 * "x.db"), or new_ext appended when path does not end in old_ext. */
void mt_path_replace_ext(const char *path, const char *old_ext, const char *new_ext, char *out,
                         size_t cap);

/* 1 if path names an existing file (not following a final symlink). */
int mt_path_exists(const char *path);

/* Directory of the running memtap executable, into buf. 0 or errno. */
int mt_self_dir(char *buf, size_t cap);

#endif
