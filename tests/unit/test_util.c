/* test_util.c - JSON string escaping (which must also be safe inside an
 * HTML <script>) and HTML text escaping, both for any bytes; and
 * human-readable sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util.h"

static void json(const char *in, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    mt_json_string(f, in);
    fclose(f);
    assert_string_equal(buf, want);
    free(buf);
}

static void json_escaping(void **state)
{
    (void)state;
    json("plain", "\"plain\"");
    json("a\"b\\c", "\"a\\\"b\\\\c\"");
    json("line\nbreak\ttab", "\"line\\nbreak\\ttab\"");
    json("</script><img src=x onerror=alert(1)>",
         "\"\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e\"");
    json("\x01", "\"\\u0001\"");
    json(NULL, "null");
    /* UTF-8 passes as it is; any byte that is not part of it is U+FFFD */
    json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    json("caf\xe9", "\"caf\\ufffd\"");
    json("\xc3", "\"\\ufffd\"");                  /* cut short at the end */
    json("\xc3(", "\"\\ufffd(\"");                /* cut short by an ASCII byte */
    json("\xc0\xaf", "\"\\ufffd\\ufffd\"");      /* overlong '/' */
    json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate (Python's surrogateescape) */
    json("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* beyond U+10FFFF */
    json("\x7f\x1f", "\"\\u007f\\u001f\"");
}

static void html(const char *in, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    mt_html_text(f, in);
    fclose(f);
    assert_string_equal(buf, want);
    free(buf);
}

static void html_escaping(void **state)
{
    (void)state;
    html("a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&#39;");
    html("</script>", "&lt;/script&gt;");
    html("caf\xc3\xa9", "caf\xc3\xa9");
    html("caf\xe9\x01", "caf\xef\xbf\xbd\xef\xbf\xbd");
}

static void human_sizes(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(mt_human_bytes(0, b, sizeof b), "0 B");
    assert_string_equal(mt_human_bytes(1023, b, sizeof b), "1023 B");
    assert_string_equal(mt_human_bytes(1536, b, sizeof b), "1.5 KiB");
    assert_string_equal(mt_human_bytes(295294822, b, sizeof b), "281.6 MiB");
}

static void fmt_reports_truncation(void **state)
{
    (void)state;
    char b[8];
    assert_int_equal(mt_fmt(b, sizeof b, "%s", "1234567"), 0);
    assert_int_not_equal(mt_fmt(b, sizeof b, "%s", "12345678"), 0);
}

static void replaces_extension(void **state)
{
    (void)state;
    char out[64];
    mt_path_replace_ext("dir/x.memtap", ".memtap", ".db", out, sizeof out);
    assert_string_equal(out, "dir/x.db");
    mt_path_replace_ext("x.trace", ".memtap", ".db", out, sizeof out);
    assert_string_equal(out, "x.trace.db");
    mt_path_replace_ext(".memtap", ".memtap", ".db", out, sizeof out);
    assert_string_equal(out, ".memtap.db"); /* a bare extension is a name */
    mt_path_replace_ext("x.db", ".db", ".html", out, sizeof out);
    assert_string_equal(out, "x.html");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_escaping),
        cmocka_unit_test(html_escaping),
        cmocka_unit_test(human_sizes),
        cmocka_unit_test(fmt_reports_truncation),
        cmocka_unit_test(replaces_extension),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
