/* schema.h - the SQLite schema of a memtap database (documented for users
 * in docs/schema.md; keep the two in step). */
#ifndef MT_SCHEMA_H
#define MT_SCHEMA_H

/* How deep the walks of a stack's frames go (SQL, as text): past any stack
 * the shim writes (2 x 1024 frames), short of forever on a table with a
 * cycle (a hand-edited database). */
#define MT_STACK_WALK_MAX "4096"

#define MT_SCHEMA_VERSION 8 /* 8: markers' heap figures; 7: modules.unnamed_frames */

/* Tables, created before loading. */
extern const char mt_schema_tables[];
/* Indexes and views, created after the rows are in (faster to build). */
extern const char mt_schema_views[];

/* The load's own scratch tables (temporary, dropped before it ends): the
 * growth slices as cut, merged at the end (load.c, write_slices). */
extern const char mt_schema_scratch[];

#endif
