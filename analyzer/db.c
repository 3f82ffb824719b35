/* db.c - input resolution for analysis commands: trace or database. */
#define _GNU_SOURCE
#include "db.h"
#include "schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"
#include "mt_trace_format.h"
#include "util.h"

void mt_db_path_for(const char *trace, char *out, size_t cap)
{
    mt_path_replace_ext(trace, ".memtap", ".db", out, cap);
}

int64_t mt_db_meta_int(sqlite3 *db, const char *key, int64_t dflt)
{
    sqlite3_stmt *st;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return dflt;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

void mt_db_meta_text(sqlite3 *db, const char *key, char *buf, size_t cap)
{
    sqlite3_stmt *st;
    buf[0] = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* What kind of file is this? 1 trace, 2 database, 0 neither, -1 error. */
static int sniff(const char *path, int quiet)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (!quiet)
            mt_error("%s: %s", path, strerror(errno));
        return -1;
    }
    char head[16] = {0};
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n >= 8 && memcmp(head, MT_MAGIC, 8) == 0)
        return 1;
    if (n == 16 && memcmp(head, "SQLite format 3", 16) == 0)
        return 2;
    return 0;
}

static int open_db(const char *path, sqlite3 **db)
{
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        mt_error("%s: %s", path, sqlite3_errmsg(*db));
        sqlite3_close(*db);
        *db = NULL;
        return MT_EXIT_FAIL;
    }
    int64_t version = mt_db_meta_int(*db, "schema_version", -1);
    if (version != MT_SCHEMA_VERSION) {
        if (version < 0)
            mt_error("%s: not a memtap database", path);
        else
            mt_error("%s: database schema %lld, this memtap reads %d: load the trace again"
                     " (memtap load --force TRACE)",
                     path, (long long)version, MT_SCHEMA_VERSION);
        sqlite3_close(*db);
        *db = NULL;
        return MT_EXIT_FAIL;
    }
    return MT_EXIT_OK;
}

int mt_db_is_current(const char *db_path, const char *trace)
{
    struct stat st;
    sqlite3 *db;
    if (stat(trace, &st) != 0 || sniff(db_path, 1) != 2)
        return 0;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 0;
    }
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    int ok = mt_db_meta_int(db, "schema_version", -1) == MT_SCHEMA_VERSION &&
             mt_db_meta_int(db, "trace_size", -1) == (int64_t)st.st_size &&
             mt_db_meta_int(db, "trace_mtime_ns", -1) == mtime;
    int kind = mt_db_meta_int(db, "compact", 1) ? MT_DB_COMPACT : MT_DB_ALL;
    sqlite3_close(db);
    return ok ? kind : 0;
}

int mt_db_open_input(const char *path, sqlite3 **db)
{
    int kind = sniff(path, 0);
    if (kind < 0)
        return MT_EXIT_FAIL;
    if (kind == 2)
        return open_db(path, db);
    if (kind == 0) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size == 0)
            mt_error("%s: empty file, not a memtap trace or database", path);
        else
            mt_error("%s: not a memtap trace or database", path);
        return MT_EXIT_FAIL;
    }
    char db_path[4096];
    mt_db_path_for(path, db_path, sizeof db_path);
    if (!mt_db_is_current(db_path, path)) {
        int replace = 0;
        if (mt_path_exists(db_path)) {
            /* Replace only a memtap database (a stale one of this trace). */
            sqlite3 *old = NULL;
            int ours = sniff(db_path, 1) == 2 &&
                       sqlite3_open_v2(db_path, &old, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
                       mt_db_meta_int(old, "schema_version", -1) >= 0;
            sqlite3_close(old);
            if (!ours) {
                mt_error("%s: exists and is not a memtap database; load with -o elsewhere",
                         db_path);
                return MT_EXIT_FAIL;
            }
            replace = 1;
        }
        int rc = mt_load(path, db_path, replace, 0, 0);
        if (rc)
            return rc;
    }
    return open_db(db_path, db);
}
