/* util.c - error reporting, size formatting, JSON strings, paths. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

int mt_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

void mt_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("memtap: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int mt_usage(const char *text, int asked)
{
    fputs(text, asked ? stdout : stderr);
    return asked ? MT_EXIT_OK : MT_EXIT_USAGE;
}

void mt_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("memtap: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *mt_human_bytes(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

size_t mt_utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) /* a continuation byte, never the NUL */
            return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || /* overlong; surrogate */
        (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))   /* overlong; > U+10FFFF */
        return 0;
    return n;
}

/* Copies the character at p to out when it is printable ASCII or
 * well-formed UTF-8, else writes bad (an escape for a control character or
 * a byte that is not UTF-8). Returns how many bytes of p it took. */
static size_t put_text_char(FILE *out, const unsigned char *p, const char *bad)
{
    if (*p < 0x20 || *p == 0x7F) {
        fputs(bad, out);
        return 1;
    }
    if (*p < 0x80) {
        fputc(*p, out);
        return 1;
    }
    size_t n = mt_utf8_len(p);
    if (!n) {
        fputs(bad, out);
        return 1;
    }
    fwrite(p, 1, n, out);
    return n;
}

void mt_json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '<': fputs("\\u003c", out); break; /* safe inside <script> too */
        case '>': fputs("\\u003e", out); break;
        case '&': fputs("\\u0026", out); break;
        default:
            if (*p < 0x20 || *p == 0x7F) {
                fprintf(out, "\\u%04x", *p);
            } else {
                p += put_text_char(out, p, "\\ufffd") - 1; /* a byte that is not UTF-8 */
            }
        }
    }
    fputc('"', out);
}

void mt_html_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        case '\t':
        case '\n': fputc(*p, out); break;
        default: /* U+FFFD for a control character (HTML has none) or a byte not UTF-8 */
            p += put_text_char(out, p, "\xEF\xBF\xBD") - 1;
        }
    }
}

int mt_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

const char *mt_argv0;

/* Without /proc (a mount namespace without it): argv[0], as the shell
 * found it: a path, or a name looked up in PATH. */
static int self_from_argv0(char *buf, size_t cap)
{
    if (!mt_argv0 || !*mt_argv0)
        return ENOENT;
    char found[PATH_MAX];
    if (strchr(mt_argv0, '/')) {
        if (!realpath(mt_argv0, found))
            return errno;
    } else {
        const char *path = getenv("PATH");
        int ok = 0;
        while (path && *path && !ok) {
            const char *end = strchr(path, ':');
            size_t len = end ? (size_t)(end - path) : strlen(path);
            char cand[PATH_MAX];
            if (len && mt_fmt(cand, sizeof cand, "%.*s/%s", (int)len, path, mt_argv0) == 0 &&
                access(cand, X_OK) == 0 && realpath(cand, found))
                ok = 1;
            path = end ? end + 1 : NULL;
        }
        if (!ok)
            return ENOENT;
    }
    return mt_fmt(buf, cap, "%s", found);
}

int mt_self_dir(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) {
        if (self_from_argv0(buf, cap) != 0)
            return errno ? errno : ENOENT;
        n = (ssize_t)strlen(buf);
    }
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return ENOENT;
    *slash = 0;
    return 0;
}

int mt_fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap ? ENAMETOOLONG : 0;
}

void mt_path_replace_ext(const char *path, const char *old_ext, const char *new_ext, char *out,
                         size_t cap)
{
    size_t n = strlen(path), k = strlen(old_ext);
    if (n > k && strcmp(path + n - k, old_ext) == 0)
        n -= k;
    snprintf(out, cap, "%.*s%s", (int)n, path, new_ext);
}
