/* pprof.c - `memtap flamegraph --format pprof`: the flamegraph's model as
 * a gzipped pprof profile (profile.proto, analyzer/proto), the format go
 * tool pprof, Pyroscope, Parca and speedscope read, and the OpenTelemetry
 * profiles pipeline converts from.
 *
 * Four sample types, as Go's heap profiles have them: alloc_objects and
 * alloc_space (blocks and bytes ever allocated), inuse_objects and
 * inuse_space (live at the view's point: the heap peak, the exit; for the
 * diff view the change from A to B), inuse_space the default (alloc_space
 * for the total view). One sample per stack, its locations leaf first, one
 * location per frame: Python frames as functions with their file and line
 * (no mapping), native frames with their address, their function, file
 * and line when symbolized, and their module as a mapping with its
 * build-id. The encoding is protobuf-c's (Debian's libprotobuf-c), the
 * compression zlib's. */
#include "pprof.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "db.h"
#include "profile.pb-c.h"
#include "report.h"
#include "util.h"

/* ---- the string table ------------------------------------------------------ */

struct strings {
    char **v;
    size_t n, cap;
    uint32_t *slot; /* open addressing: index + 1 */
    size_t slot_cap;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The index of s, added when new; -1 without memory. */
static int64_t intern(struct strings *t, const char *s)
{
    if (!s)
        s = "";
    if ((t->n + 1) * 2 > t->slot_cap) {
        size_t cap = t->slot_cap ? t->slot_cap * 2 : 1024;
        uint32_t *slot = calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t i = 0; i < t->n; i++) {
            size_t j = hash_str(t->v[i]) & (cap - 1);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = (uint32_t)i + 1;
        }
        free(t->slot);
        t->slot = slot;
        t->slot_cap = cap;
    }
    size_t j = hash_str(s) & (t->slot_cap - 1);
    while (t->slot[j]) {
        if (strcmp(t->v[t->slot[j] - 1], s) == 0)
            return t->slot[j] - 1;
        j = (j + 1) & (t->slot_cap - 1);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        char **v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n] = strdup(s);
    if (!t->v[t->n])
        return -1;
    t->slot[j] = (uint32_t)++t->n;
    return (int64_t)t->n - 1;
}

static void strings_free(struct strings *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    free(t->slot);
}

/* ---- frames, functions, locations, mappings --------------------------------- */

struct frame_info {
    int python, used;
    uint64_t address;
    int64_t name, file, line; /* string indices; line a number */
    int64_t module;           /* modules.id, 0: none */
    uint64_t location;        /* its location id, 0 before it is made */
};

struct writer {
    struct strings str;
    struct frame_info *frames;
    uint32_t nframes;
    Perftools__Profiles__Location **locations;
    size_t nlocations, cap_locations;
    Perftools__Profiles__Function **functions;
    size_t nfunctions, cap_functions;
    uint64_t *function_keys; /* name << 32 | file, per function */
    Perftools__Profiles__Mapping **mappings;
    size_t nmappings;
    int64_t *mapping_of_module; /* modules.id -> mapping id (0: none) */
    int64_t nmodules;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    void *p = realloc(*v, c * size);
    if (!p)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

static int load_frames(sqlite3 *db, struct writer *w)
{
    w->nframes = (uint32_t)mt_query_int(db, "SELECT coalesce(max(id), 0) + 1 FROM frames");
    w->frames = calloc(w->nframes, sizeof *w->frames);
    w->nmodules = mt_query_int(db, "SELECT coalesce(max(id), 0) + 1 FROM modules");
    w->mapping_of_module = calloc((size_t)w->nmodules, sizeof *w->mapping_of_module);
    if (!w->frames || !w->mapping_of_module)
        return -1;
    sqlite3_stmt *st;
    if (mt_prepare(db, "SELECT id, kind, address, function, file, line, module_id FROM frames",
                   &st) != 0)
        return -1;
    int rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id < 0 || id >= w->nframes)
            continue;
        struct frame_info *f = &w->frames[id];
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        const char *fn = (const char *)sqlite3_column_text(st, 3);
        f->python = kind && strcmp(kind, "python") == 0;
        f->address = (uint64_t)sqlite3_column_int64(st, 2);
        char hex[32];
        if (!fn) {
            snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)f->address);
            fn = hex;
        }
        f->name = intern(&w->str, fn);
        f->file = intern(&w->str, (const char *)sqlite3_column_text(st, 4));
        f->line = sqlite3_column_int64(st, 5);
        f->module = sqlite3_column_int64(st, 6);
        if (f->name < 0 || f->file < 0)
            rc = -1;
    }
    sqlite3_finalize(st);
    return rc;
}

static int load_mappings(sqlite3 *db, struct writer *w)
{
    sqlite3_stmt *st;
    if (mt_prepare(db,
                   "SELECT m.id, m.path, m.base, m.build_id, max(f.address),"
                   " max(f.file IS NOT NULL), max(f.line IS NOT NULL)"
                   " FROM modules m LEFT JOIN frames f ON f.module_id = m.id GROUP BY m.id",
                   &st) != 0)
        return -1;
    int64_t n = mt_query_int(db, "SELECT count(*) FROM modules");
    w->mappings = calloc((size_t)(n ? n : 1), sizeof *w->mappings);
    if (!w->mappings) {
        sqlite3_finalize(st);
        return -1;
    }
    int rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW && (int64_t)w->nmappings < n) {
        Perftools__Profiles__Mapping *m = calloc(1, sizeof *m);
        if (!m) {
            rc = -1;
            break;
        }
        perftools__profiles__mapping__init(m);
        int64_t id = sqlite3_column_int64(st, 0);
        m->id = w->nmappings + 1;
        m->memory_start = (uint64_t)sqlite3_column_int64(st, 2);
        uint64_t top = (uint64_t)sqlite3_column_int64(st, 4);
        m->memory_limit = top >= m->memory_start ? top + 1 : m->memory_start + 1;
        m->filename = intern(&w->str, (const char *)sqlite3_column_text(st, 1));
        m->build_id = intern(&w->str, (const char *)sqlite3_column_text(st, 3));
        m->has_functions = 1;
        m->has_filenames = sqlite3_column_int(st, 5) != 0;
        m->has_line_numbers = sqlite3_column_int(st, 6) != 0;
        if (m->filename < 0 || m->build_id < 0)
            rc = -1;
        w->mappings[w->nmappings++] = m;
        if (id > 0 && id < w->nmodules)
            w->mapping_of_module[id] = (int64_t)m->id;
    }
    sqlite3_finalize(st);
    return rc;
}

static uint64_t function_id(struct writer *w, int64_t name, int64_t file)
{
    uint64_t key = (uint64_t)name << 32 | (uint64_t)(uint32_t)file;
    for (size_t i = w->nfunctions; i-- > 0;) /* recent first: a stack's frames repeat */
        if (w->function_keys[i] == key)
            return i + 1;
    size_t cap = w->cap_functions;
    if (grow((void **)&w->functions, &w->cap_functions, w->nfunctions, sizeof *w->functions))
        return 0;
    if (cap != w->cap_functions) {
        uint64_t *k = realloc(w->function_keys, w->cap_functions * sizeof *k);
        if (!k)
            return 0;
        w->function_keys = k;
    }
    Perftools__Profiles__Function *f = calloc(1, sizeof *f);
    if (!f)
        return 0;
    perftools__profiles__function__init(f);
    f->id = w->nfunctions + 1;
    f->name = f->system_name = name;
    f->filename = file;
    w->function_keys[w->nfunctions] = key;
    w->functions[w->nfunctions++] = f;
    return f->id;
}

/* The location of frame id, made when first used; 0 without memory. */
static uint64_t location_of(struct writer *w, uint32_t id)
{
    struct frame_info *f = &w->frames[id];
    if (f->location)
        return f->location;
    if (grow((void **)&w->locations, &w->cap_locations, w->nlocations, sizeof *w->locations))
        return 0;
    Perftools__Profiles__Location *l = calloc(1, sizeof *l);
    Perftools__Profiles__Line *line = calloc(1, sizeof *line);
    Perftools__Profiles__Line **lines = calloc(1, sizeof *lines);
    uint64_t fid = function_id(w, f->name, f->file);
    if (!l || !line || !lines || !fid) {
        free(l);
        free(line);
        free(lines);
        return 0;
    }
    perftools__profiles__location__init(l);
    perftools__profiles__line__init(line);
    line->function_id = fid;
    line->line = f->line;
    lines[0] = line;
    l->id = w->nlocations + 1;
    l->n_line = 1;
    l->line = lines;
    if (!f->python) {
        l->address = f->address;
        if (f->module > 0 && f->module < w->nmodules)
            l->mapping_id = (uint64_t)w->mapping_of_module[f->module];
    }
    w->locations[w->nlocations++] = l;
    f->location = l->id;
    return l->id;
}

/* ---- the profile ---------------------------------------------------------------- */

static Perftools__Profiles__ValueType *value_type(struct writer *w, const char *type,
                                                  const char *unit)
{
    Perftools__Profiles__ValueType *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    perftools__profiles__value_type__init(v);
    v->type = intern(&w->str, type);
    v->unit = intern(&w->str, unit);
    return v;
}

/* gzip of data[0..n) to out. */
static int write_gzip(FILE *out, const uint8_t *data, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return -1;
    uint8_t buf[1 << 16];
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)n;
    int rc = 0, zr;
    do {
        z.next_out = buf;
        z.avail_out = sizeof buf;
        zr = deflate(&z, Z_FINISH);
        size_t have = sizeof buf - z.avail_out;
        if (zr == Z_STREAM_ERROR || fwrite(buf, 1, have, out) != have)
            rc = -1;
    } while (!rc && zr != Z_STREAM_END);
    deflateEnd(&z);
    return rc;
}

int mt_pprof_write(FILE *out, sqlite3 *db, const struct mt_fg_model *m, const struct mt_pprof_view *v)
{
    struct writer w;
    memset(&w, 0, sizeof w);
    Perftools__Profiles__Profile p;
    perftools__profiles__profile__init(&p);
    int64_t *inuse_b = calloc(m->nnodes ? m->nnodes : 1, sizeof *inuse_b);
    int64_t *inuse_n = calloc(m->nnodes ? m->nnodes : 1, sizeof *inuse_n);
    int64_t *alloc_b = calloc(m->nnodes ? m->nnodes : 1, sizeof *alloc_b);
    int64_t *alloc_n = calloc(m->nnodes ? m->nnodes : 1, sizeof *alloc_n);
    Perftools__Profiles__ValueType *types[4] = {NULL};
    Perftools__Profiles__Sample **samples = calloc(m->nnodes ? m->nnodes : 1, sizeof *samples);
    size_t nsamples = 0;
    uint8_t *packed = NULL;
    int rc = -1;
    if (intern(&w.str, "") != 0 || !inuse_b || !inuse_n || !alloc_b || !alloc_n || !samples ||
        load_frames(db, &w) != 0 || load_mappings(db, &w) != 0)
        goto out;
    for (uint32_t i = 0; i < m->ntotals; i++) {
        alloc_b[m->totals[i].node] += m->totals[i].bytes;
        alloc_n[m->totals[i].node] += m->totals[i].count;
    }
    for (uint32_t i = 0; i < m->ngroups; i++) {
        const struct mt_fg_group *g = &m->groups[i];
        if (g->first <= (uint32_t)v->b && (uint32_t)v->b <= g->last) {
            inuse_b[g->node] += g->bytes;
            inuse_n[g->node] += g->count;
        }
        if (v->diff && g->first <= (uint32_t)v->a && (uint32_t)v->a <= g->last) {
            inuse_b[g->node] -= g->bytes;
            inuse_n[g->node] -= g->count;
        }
    }
    static const char *const names[4][2] = {{"alloc_objects", "count"},
                                            {"alloc_space", "bytes"},
                                            {"inuse_objects", "count"},
                                            {"inuse_space", "bytes"}};
    for (int i = 0; i < 4; i++)
        if (!(types[i] = value_type(&w, names[i][0], names[i][1])))
            goto out;
    p.n_sample_type = 4;
    p.sample_type = types;
    p.default_sample_type = v->total ? types[1]->type : types[3]->type;
    Perftools__Profiles__ValueType period_type;
    perftools__profiles__value_type__init(&period_type);
    period_type.type = intern(&w.str, "space");
    period_type.unit = intern(&w.str, "bytes");
    p.period_type = &period_type;
    int64_t rate = mt_db_meta_int(db, "sample_rate", 0);
    p.period = rate > 0 ? rate : 1;
    p.time_nanos = mt_db_meta_int(db, "start_realtime_ns", 0);
    p.duration_nanos = mt_db_meta_int(db, "duration_ns", 0);
    char cmd[2048], comment[2300];
    mt_db_meta_text(db, "command_line", cmd, sizeof cmd);
    snprintf(comment, sizeof comment, "memtap %s view%s: %s", v->name,
             rate > 0 ? " (sampled by bytes: estimates)" : "", cmd);
    int64_t comment_idx = intern(&w.str, comment);
    p.n_comment = 1;
    p.comment = &comment_idx;

    uint32_t chain[1100];
    for (uint32_t node = 0; node < m->nnodes; node++) {
        if (!inuse_b[node] && !inuse_n[node] && !alloc_b[node] && !alloc_n[node])
            continue;
        int depth = 0;
        for (uint32_t n = node; n && depth < 1100; n = m->parent[n]) {
            uint32_t f = m->frame[n];
            if (f >= w.nframes || (f < m->nframes && (m->frame_class[f] & v->hide)))
                continue;
            chain[depth++] = f;
        }
        Perftools__Profiles__Sample *s = calloc(1, sizeof *s);
        uint64_t *loc = calloc((size_t)(depth ? depth : 1), sizeof *loc);
        int64_t *val = calloc(4, sizeof *val);
        if (!s || !loc || !val) {
            free(s);
            free(loc);
            free(val);
            goto out;
        }
        perftools__profiles__sample__init(s);
        for (int i = 0; i < depth; i++)
            if (!(loc[i] = location_of(&w, chain[i]))) {
                free(s);
                free(loc);
                free(val);
                goto out;
            }
        val[0] = alloc_n[node];
        val[1] = alloc_b[node];
        val[2] = inuse_n[node];
        val[3] = inuse_b[node];
        s->n_location_id = (size_t)depth;
        s->location_id = loc;
        s->n_value = 4;
        s->value = val;
        samples[nsamples++] = s;
    }
    p.n_sample = nsamples;
    p.sample = samples;
    p.n_location = w.nlocations;
    p.location = w.locations;
    p.n_function = w.nfunctions;
    p.function = w.functions;
    p.n_mapping = w.nmappings;
    p.mapping = w.mappings;
    p.n_string_table = w.str.n;
    p.string_table = w.str.v;
    size_t size = perftools__profiles__profile__get_packed_size(&p);
    packed = malloc(size ? size : 1);
    if (!packed)
        goto out;
    perftools__profiles__profile__pack(&p, packed);
    rc = write_gzip(out, packed, size);
out:
    free(packed);
    for (size_t i = 0; i < nsamples; i++) {
        free(samples[i]->location_id);
        free(samples[i]->value);
        free(samples[i]);
    }
    free(samples);
    for (int i = 0; i < 4; i++)
        free(types[i]);
    for (size_t i = 0; i < w.nlocations; i++) {
        free(w.locations[i]->line[0]);
        free(w.locations[i]->line);
        free(w.locations[i]);
    }
    free(w.locations);
    for (size_t i = 0; i < w.nfunctions; i++)
        free(w.functions[i]);
    free(w.functions);
    free(w.function_keys);
    for (size_t i = 0; i < w.nmappings; i++)
        free(w.mappings[i]);
    free(w.mappings);
    free(w.mapping_of_module);
    free(w.frames);
    strings_free(&w.str);
    free(inuse_b);
    free(inuse_n);
    free(alloc_b);
    free(alloc_n);
    if (rc)
        mt_error("flamegraph: cannot write the pprof profile (out of memory, or a write error)");
    return rc ? MT_EXIT_FAIL : MT_EXIT_OK;
}
