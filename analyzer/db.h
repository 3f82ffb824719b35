/* db.h - opening what an analysis command is given: a trace (loaded into a
 * database beside it on first use) or a database. */
#ifndef MT_DB_H
#define MT_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The database path that belongs to a trace: "x.memtap" -> "x.db",
 * anything else -> "<path>.db". */
void mt_db_path_for(const char *trace, char *out, size_t cap);

/* Opens path read-only as a database; a trace is loaded first (or its
 * up-to-date database reused). Prints errors. Returns MT_EXIT_*. */
int mt_db_open_input(const char *path, sqlite3 **db);

/* Whether db_path is a database made from this very trace file (same size
 * and mtime) by this memtap's schema: 0 if not, else its kind. */
enum { MT_DB_COMPACT = 1, MT_DB_ALL = 2 /* memtap load --all */ };
int mt_db_is_current(const char *db_path, const char *trace);

/* A meta value as an integer, or dflt when absent. */
int64_t mt_db_meta_int(sqlite3 *db, const char *key, int64_t dflt);

/* A meta value as text into buf (empty when absent). */
void mt_db_meta_text(sqlite3 *db, const char *key, char *buf, size_t cap);

#endif
