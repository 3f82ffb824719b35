/* schema.h - the SQLite schema of a memtap database (documented for users
 * in docs/schema.md; keep the two in step). */
#ifndef MT_SCHEMA_H
#define MT_SCHEMA_H

#define MT_SCHEMA_VERSION 5 /* 5: samples without memtap's own RSS, its parts */

/* Tables, created before loading. */
extern const char mt_schema_tables[];
/* Indexes and views, created after the rows are in (faster to build). */
extern const char mt_schema_views[];

#endif
