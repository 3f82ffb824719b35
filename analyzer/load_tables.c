/* load_tables.c - `memtap load` after the stream: the frames (native ones
 * symbolized), the stack trie with each stack's site, the modules, and the
 * per-stack totals the compact rule summed (keep.h). Reads the loader's
 * state (load_int.h); writes with the connection the row writer gave back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load_int.h"
#include "util.h"

/* Binds n integers to st's parameters and steps it. */
static int insert(struct loader *L, sqlite3_stmt *st, const int64_t *v, int n)
{
    for (int i = 0; i < n; i++)
        sqlite3_bind_int64(st, i + 1, v[i]);
    return mt_load_step(L, st);
}

/* The file name of a module's path. */
static const char *file_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* CPython's allocator functions (its domains, pymalloc, the debug hooks):
 * in native stacks of a Python process, the site is their caller
 * (PyByteArray_Resize, bytes_new), as it is malloc's; an arena's
 * (--pymalloc=arenas), the allocation that needed it. pymalloc's own
 * bookkeeping (arena_map_*) stays its own site. */
static const char *const python_allocator_prefixes[] = {
    "PyMem_",           "_PyMem_",           "PyObject_Malloc",  "PyObject_Calloc",
    "PyObject_Realloc", "_PyObject_Malloc",  "_PyObject_Calloc", "_PyObject_Realloc",
    "_PyObject_Alloc",  "pymalloc_alloc",    "pymalloc_realloc",  "new_arena",
    "allocate_from_new_pool", "pymalloc_pool_extend", "_PyObject_ArenaMmap",
};

/* Frames that belong to the allocator rather than to the program: the site
 * of an allocation is the first frame from the leaf that is not one. */
static int is_allocator_frame(const char *module_path, const char *function)
{
    if (function && (strncmp(function, "_Znw", 4) == 0 || strncmp(function, "_Zna", 4) == 0 ||
                     strncmp(function, "operator new", 12) == 0))
        return 1;
    for (size_t i = 0; function && i < sizeof python_allocator_prefixes / sizeof(char *); i++)
        if (strncmp(function, python_allocator_prefixes[i], strlen(python_allocator_prefixes[i])) == 0)
            return 1;
    if (!module_path)
        return 0;
    const char *base = file_name(module_path);
    return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libstdc++.so", 12) == 0 ||
           strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "libmemtap", 9) == 0;
}

/* The name of a native frame without a symbol (a stripped program, say):
 * its module's file name and the return address's offset in that file,
 * "ls+0x51f1" (what addr2line -e takes, less one), or the bare address
 * outside every module. Distinct addresses keep distinct names, so that
 * reports never merge two unnamed sites into one. */
static const char *unnamed_frame(const struct loader *L, const struct mt_symbol *sym,
                                 uint64_t pc, char *buf, size_t cap)
{
    if (sym->module < 0) {
        snprintf(buf, cap, "0x%llx", (unsigned long long)pc);
        return buf;
    }
    snprintf(buf, cap, "%.64s+0x%llx", file_name(L->modules[sym->module].path),
             (unsigned long long)(pc - L->modules[sym->module].base));
    return buf;
}

/* The modules some frames of which found no symbol (a stripped file whose
 * debug file is neither installed nor reachable through debuginfod): their
 * count in modules.unnamed_frames, and one line on stderr naming them. */
static int note_unnamed(struct loader *L, const uint32_t *unnamed)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(L->db, "UPDATE modules SET unnamed_frames = ? WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return mt_load_sql_fail(L, "prepare modules");
    int rc = 0, n = 0;
    char list[512] = "";
    size_t used = 0;
    for (int i = 0; i < L->nmodules && !rc; i++) {
        if (!unnamed[i])
            continue;
        sqlite3_bind_int64(st, 1, unnamed[i]);
        sqlite3_bind_int(st, 2, i + 1);
        rc = mt_load_step(L, st);
        if (n++ < 8 && used < sizeof list) {
            int w = snprintf(list + used, sizeof list - used, "%s%s (build-id %s)", used ? ", " : "",
                             file_name(L->modules[i].path),
                             L->modules[i].build_id[0] ? L->modules[i].build_id : "none");
            used += w > 0 ? (size_t)w : 0;
        }
    }
    sqlite3_finalize(st);
    if (!rc && n && !L->quiet)
        mt_warn("no symbols for some frames of %d module%s: %s%s; they stay as module+offset."
                " Install their debug files (looked up by build-id under /usr/lib/debug),"
                " or set DEBUGINFOD_URLS%s",
                n, n == 1 ? "" : "s", list, n > 8 ? ", ..." : "",
                getenv("DEBUGINFOD_URLS") ? " (it is set: they were not found there)" : "");
    return rc;
}

static int write_frames(struct loader *L, uint8_t *allocator_frame)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(L->db,
                           "INSERT INTO frames(id, kind, address, function, file, line, module_id)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return mt_load_sql_fail(L, "prepare frames");
    uint32_t *unnamed = calloc(L->nmodules ? (size_t)L->nmodules : 1, sizeof *unnamed);
    if (!unnamed) {
        sqlite3_finalize(st);
        return ENOMEM;
    }
    int rc = 0;
    for (uint32_t id = 1; id <= L->pc_count && !rc; id++) {
        uint64_t value = L->frame_pcs[id];
        sqlite3_bind_int64(st, 1, id);
        if (value & MT_FRAME_PYTHON) {
            uint32_t py = (uint32_t)(value & ~MT_FRAME_PYTHON);
            const struct pyframe *f = py < L->npyframes ? &L->pyframes[py] : NULL;
            allocator_frame[id] = 0;
            sqlite3_bind_text(st, 2, "python", -1, SQLITE_STATIC);
            sqlite3_bind_null(st, 3);
            sqlite3_bind_text(st, 4, f && f->function ? f->function : NULL, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, f && f->file ? f->file : NULL, -1, SQLITE_STATIC);
            if (f && f->file)
                sqlite3_bind_int64(st, 6, (sqlite3_int64)f->line);
            else
                sqlite3_bind_null(st, 6);
            sqlite3_bind_null(st, 7);
            rc = mt_load_step(L, st);
            continue;
        }
        struct mt_symbol sym;
        mt_symbolize(L->sym, value, &sym);
        const char *module = sym.module >= 0 ? L->modules[sym.module].path : NULL;
        allocator_frame[id] = (uint8_t)is_allocator_frame(module, sym.function);
        sqlite3_bind_text(st, 2, "native", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)value);
        char noname[96];
        const char *function =
            sym.function ? sym.function : unnamed_frame(L, &sym, value, noname, sizeof noname);
        if (!sym.function && sym.module >= 0)
            unnamed[sym.module]++;
        sqlite3_bind_text(st, 4, function, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, sym.file, -1, SQLITE_TRANSIENT);
        if (sym.file)
            sqlite3_bind_int(st, 6, sym.line);
        else
            sqlite3_bind_null(st, 6);
        if (sym.module >= 0)
            sqlite3_bind_int(st, 7, sym.module + 1);
        else
            sqlite3_bind_null(st, 7);
        rc = mt_load_step(L, st);
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = note_unnamed(L, unnamed);
    free(unnamed);
    return rc;
}

int mt_load_write_stacks(struct loader *L)
{
    uint8_t *allocator_frame = calloc(L->pc_count + 1, 1);
    uint32_t *site = calloc(L->nnodes ? L->nnodes : 1, sizeof *site);
    uint32_t *py_site = calloc(L->nnodes ? L->nnodes : 1, sizeof *py_site);
    if (!allocator_frame || !site || !py_site) {
        free(allocator_frame);
        free(site);
        free(py_site);
        return ENOMEM;
    }
    int rc = write_frames(L, allocator_frame);
    sqlite3_stmt *st = NULL;
    if (!rc && sqlite3_prepare_v2(L->db,
                                  "INSERT INTO stacks(id, parent, frame_id, site_frame_id,"
                                  " native_site_frame_id) VALUES (?, ?, ?, ?, ?)",
                                  -1, &st, NULL) != SQLITE_OK)
        rc = mt_load_sql_fail(L, "prepare stacks");
    /* A parent is always created before its child, so its id is smaller
     * (a corrupt trace's parent that is not is cut: the stack ends there,
     * and the table never holds a cycle for the reports' walks to follow):
     * one ascending pass finds every stack's site: the innermost Python
     * frame when there is one (a mixed stack's leaf is interpreter C code),
     * else the innermost native frame outside the allocator. */
    for (uint32_t id = 1; id < L->nnodes && !rc; id++) {
        struct node *n = &L->nodes[id];
        if (!n->defined)
            continue;
        uint32_t up = n->parent < id ? site[n->parent] : 0;
        uint32_t py_up = n->parent < id ? py_site[n->parent] : 0;
        int python = (L->frame_pcs[n->frame] & MT_FRAME_PYTHON) != 0;
        site[id] = allocator_frame[n->frame] ? up : n->frame;
        py_site[id] = python ? n->frame : py_up;
        uint32_t shown = py_site[id] ? py_site[id] : site[id] ? site[id] : n->frame;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, n->parent < id ? n->parent : 0);
        sqlite3_bind_int64(st, 3, n->frame);
        sqlite3_bind_int64(st, 4, shown);
        if (site[id])
            sqlite3_bind_int64(st, 5, site[id]);
        else
            sqlite3_bind_null(st, 5);
        rc = mt_load_step(L, st);
    }
    sqlite3_finalize(st);
    free(allocator_frame);
    free(site);
    free(py_site);
    return rc;
}

/* Per (stack, thread): stack_totals, peak_live, and the non-empty buckets
 * of lifetimes, lifetime_times and sizes. */
int mt_load_write_totals(struct loader *L)
{
    enum { TOTALS, PEAK, LIFETIMES, LIFETIME_TIMES, SIZES, NSTMT };
    static const char *const sql[NSTMT] = {
        [TOTALS] = "INSERT INTO stack_totals(stack_id, thread_id, count, bytes, freed_count,"
                   " freed_bytes, first_seq) VALUES (?,?,?,?,?,?,?)",
        [PEAK] = "INSERT INTO peak_live(stack_id, thread_id, bytes, count) VALUES (?,?,?,?)",
        [LIFETIMES] = "INSERT INTO lifetimes(stack_id, thread_id, bucket, count)"
                      " VALUES (?,?,?,?)",
        [LIFETIME_TIMES] = "INSERT INTO lifetime_times(stack_id, thread_id, bucket, count)"
                           " VALUES (?,?,?,?)",
        [SIZES] = "INSERT INTO sizes(stack_id, thread_id, bucket, count) VALUES (?,?,?,?)",
    };
    sqlite3_stmt *st[NSTMT] = {NULL};
    int rc = 0;
    for (int i = 0; i < NSTMT && !rc; i++)
        if (sqlite3_prepare_v2(L->db, sql[i], -1, &st[i], NULL) != SQLITE_OK)
            rc = mt_load_sql_fail(L, "prepare totals");
    for (size_t i = 0; i < L->keep.n && !rc; i++) {
        const struct mt_stack_total *t = &L->keep.v[i];
        if (!t->count)
            continue; /* only frees of blocks allocated before: none here */
        const int64_t totals[] = {t->stack,
                                  t->thread,
                                  (int64_t)t->count,
                                  (int64_t)t->bytes,
                                  (int64_t)t->freed_count,
                                  (int64_t)t->freed_bytes,
                                  (int64_t)t->first_seq};
        rc = insert(L, st[TOTALS], totals, 7);
        if (!rc && mt_keep_at_peak(&L->keep, t)) {
            const int64_t peak[] = {t->stack, t->thread, (int64_t)t->peak_bytes,
                                    (int64_t)t->peak_count};
            rc = insert(L, st[PEAK], peak, 4);
        }
        for (int b = 0; b < MT_LIFETIME_BUCKETS && !rc; b++) {
            const int64_t bucket[] = {t->stack, t->thread, b, (int64_t)t->lifetime[b]};
            if (t->lifetime[b])
                rc = insert(L, st[LIFETIMES], bucket, 4);
        }
        for (int b = 0; b < MT_LIFETIME_TIME_BUCKETS && !rc; b++) {
            const int64_t bucket[] = {t->stack, t->thread, b, (int64_t)t->lifetime_time[b]};
            if (t->lifetime_time[b])
                rc = insert(L, st[LIFETIME_TIMES], bucket, 4);
        }
        for (int b = 0; b < MT_SIZE_BUCKETS && !rc; b++) {
            const int64_t bucket[] = {t->stack, t->thread, b, (int64_t)t->sizes[b]};
            if (t->sizes[b])
                rc = insert(L, st[SIZES], bucket, 4);
        }
    }
    for (int i = 0; i < NSTMT; i++)
        sqlite3_finalize(st[i]);
    return rc;
}

int mt_load_write_modules(struct loader *L)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(L->db, "INSERT INTO modules(id, path, base, build_id) VALUES (?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return mt_load_sql_fail(L, "prepare modules");
    int rc = 0;
    for (int i = 0; i < L->nmodules && !rc; i++) {
        sqlite3_bind_int(st, 1, i + 1);
        sqlite3_bind_text(st, 2, L->modules[i].path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)L->modules[i].base);
        sqlite3_bind_text(st, 4, L->modules[i].build_id, -1, SQLITE_STATIC);
        rc = mt_load_step(L, st);
    }
    sqlite3_finalize(st);
    return rc;
}
