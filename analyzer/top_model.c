/* top_model.c - `memtap top`'s live model (top_model.h): a replay of the
 * trace's events as they come, lighter than the loader's: a live map whose
 * entries carry their site instead of their stack, per-site live bytes,
 * and the heap and RSS now. A stack's site is found once, when its first
 * allocation arrives, by walking its nodes outward to the first Python
 * frame (else the innermost frame is the site). Names are made only for
 * the sites shown: Python frames from their records, native ones by the
 * symbolizer, which reads the modules' files when first asked. */
#include "top_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt_trace_format.h"
#include "symbolize.h"

void mt_top_model_init(struct mt_top_model *m)
{
    memset(m, 0, sizeof *m);
}

void mt_top_model_free(struct mt_top_model *m)
{
    mt_livemap_free(&m->live);
    free(m->node_parent);
    free(m->node_site);
    free(m->node_frame);
    for (uint32_t i = 0; i < m->npyframes; i++) {
        free(m->pyframes[i].file);
        free(m->pyframes[i].function);
    }
    free(m->pyframes);
    for (int i = 0; i < m->nmodules; i++)
        free(m->modules[i].path);
    free(m->modules);
    if (m->sym)
        mt_symbolizer_free(m->sym);
    for (uint32_t i = 0; i < m->nsites; i++)
        free(m->sites[i].name);
    free(m->sites);
    free(m->site_index);
    memset(m, 0, sizeof *m);
}

/* Grows *arr (elements of size each, *cap of them) to hold index i. */
static int room(void **arr, uint32_t *cap, uint32_t i, size_t size)
{
    if (i < *cap)
        return 0;
    uint32_t n = *cap ? *cap : 1024;
    while (n <= i)
        n *= 2;
    void *p = realloc(*arr, (size_t)n * size);
    if (!p)
        return ENOMEM;
    memset((char *)p + (size_t)*cap * size, 0, (size_t)(n - *cap) * size);
    *arr = p;
    *cap = n;
    return 0;
}

static int on_stack(struct mt_top_model *m, const struct mt_event *ev)
{
    uint32_t id = ev->stack;
    if (id >= m->nnodes) { /* the three arrays grow together, to the same size */
        uint32_t c1 = m->nnodes, c2 = m->nnodes, c3 = m->nnodes;
        if (room((void **)&m->node_parent, &c1, id, sizeof *m->node_parent) ||
            room((void **)&m->node_site, &c2, id, sizeof *m->node_site) ||
            room((void **)&m->node_frame, &c3, id, sizeof *m->node_frame))
            return ENOMEM; /* the grown ones are larger than nnodes says: harmless */
        m->nnodes = c1;
    }
    m->node_parent[id] = ev->parent;
    m->node_frame[id] = ev->frame;
    m->node_site[id] = 0;
    return 0;
}

static int on_pyframe(struct mt_top_model *m, const struct mt_event *ev)
{
    uint32_t id = ev->stack;
    if (room((void **)&m->pyframes, &m->npyframes, id, sizeof *m->pyframes))
        return ENOMEM;
    free(m->pyframes[id].file);
    free(m->pyframes[id].function);
    m->pyframes[id].file = strndup(ev->text ? ev->text : "", ev->text_len);
    m->pyframes[id].function = strndup(ev->text2 ? ev->text2 : "", ev->text2_len);
    m->pyframes[id].line = ev->line;
    return m->pyframes[id].file && m->pyframes[id].function ? 0 : ENOMEM;
}

static int on_module(struct mt_top_model *m, const struct mt_event *ev)
{
    void *p = realloc(m->modules, (size_t)(m->nmodules + 1) * sizeof *m->modules);
    if (!p)
        return ENOMEM;
    m->modules = p;
    m->modules[m->nmodules].path = strndup(ev->text, ev->text_len);
    m->modules[m->nmodules].base = ev->addr;
    if (!m->modules[m->nmodules].path)
        return ENOMEM;
    m->nmodules++;
    return 0;
}

static uint64_t hash(uint64_t k)
{
    return k * 0x9E3779B97F4A7C15ull;
}

/* The site of key, made when new: its index, or UINT32_MAX without memory. */
static uint32_t site_of_key(struct mt_top_model *m, uint64_t key)
{
    if ((m->nsites + 1) * 2 > m->index_cap) {
        uint32_t cap = m->index_cap ? m->index_cap * 2 : 1024;
        uint32_t *idx = calloc(cap, sizeof *idx);
        if (!idx)
            return UINT32_MAX;
        for (uint32_t i = 0; i < m->nsites; i++) {
            uint32_t j = (uint32_t)(hash(m->sites[i].key) >> 32) & (cap - 1);
            while (idx[j])
                j = (j + 1) & (cap - 1);
            idx[j] = i + 1;
        }
        free(m->site_index);
        m->site_index = idx;
        m->index_cap = cap;
    }
    uint32_t j = (uint32_t)(hash(key) >> 32) & (m->index_cap - 1);
    while (m->site_index[j]) {
        if (m->sites[m->site_index[j] - 1].key == key)
            return m->site_index[j] - 1;
        j = (j + 1) & (m->index_cap - 1);
    }
    if (m->nsites == m->cap_sites) {
        uint32_t cap = m->cap_sites ? m->cap_sites * 2 : 256;
        void *p = realloc(m->sites, (size_t)cap * sizeof *m->sites);
        if (!p)
            return UINT32_MAX;
        m->sites = p;
        m->cap_sites = cap;
    }
    struct mt_top_site *s = &m->sites[m->nsites];
    memset(s, 0, sizeof *s);
    s->key = key;
    m->site_index[j] = ++m->nsites;
    return m->nsites - 1;
}

static uint32_t site_of_stack(struct mt_top_model *m, uint32_t stack)
{
    if (stack < m->nnodes && m->node_site[stack])
        return m->node_site[stack] - 1;
    uint64_t key = 0;
    uint32_t n = stack;
    for (int depth = 0; n && n < m->nnodes && depth < 1024; depth++) {
        uint64_t f = m->node_frame[n];
        if (depth == 0)
            key = f;
        if (f & MT_FRAME_PYTHON) {
            key = f;
            break;
        }
        n = m->node_parent[n];
    }
    uint32_t s = site_of_key(m, key);
    if (s != UINT32_MAX && stack && stack < m->nnodes)
        m->node_site[stack] = s + 1;
    return s;
}

int mt_top_model_event(struct mt_top_model *m, const struct mt_event *ev)
{
    m->events++;
    switch (ev->kind) {
    case MT_EV_ALLOC: {
        uint32_t s = site_of_stack(m, ev->stack);
        if (s == UINT32_MAX)
            return ENOMEM;
        struct mt_live e = {.addr = ev->addr, .seq = ev->seq, .size = ev->size, .stack = s};
        struct mt_live old;
        int r = mt_livemap_put(&m->live, &e, &old);
        if (r < 0)
            return ENOMEM;
        if (r == 1) { /* its free was not seen: the old block is gone */
            m->heap -= (int64_t)old.size;
            m->sites[old.stack].bytes -= (int64_t)old.size;
            m->sites[old.stack].count--;
        }
        m->heap += (int64_t)ev->size;
        m->sites[s].bytes += (int64_t)ev->size;
        m->sites[s].count++;
        if (m->heap > m->heap_peak)
            m->heap_peak = m->heap;
        return 0;
    }
    case MT_EV_FREE:
    case MT_EV_REALLOC_FREE: {
        struct mt_live old;
        if (mt_livemap_take(&m->live, ev->addr, &old)) {
            m->heap -= (int64_t)old.size;
            m->sites[old.stack].bytes -= (int64_t)old.size;
            m->sites[old.stack].count--;
        }
        return 0;
    }
    case MT_EV_STACK:
        return on_stack(m, ev);
    case MT_EV_PYFRAME:
        return on_pyframe(m, ev);
    case MT_EV_MODULE:
        return on_module(m, ev);
    case MT_EV_SAMPLE: {
        uint64_t own = ev->own_anon + ev->own_file + ev->own_shmem;
        m->rss = ev->rss > own ? ev->rss - own : 0;
        if (m->rss > m->rss_peak)
            m->rss_peak = m->rss;
        m->now_ns = ev->ns;
        return 0;
    }
    default:
        return 0; /* a failed realloc's undo: the block shows again at its next event */
    }
}

void mt_top_model_tick(struct mt_top_model *m)
{
    memmove(m->heap_hist, m->heap_hist + 1, sizeof m->heap_hist - sizeof m->heap_hist[0]);
    memmove(m->rss_hist, m->rss_hist + 1, sizeof m->rss_hist - sizeof m->rss_hist[0]);
    m->heap_hist[MT_TOP_HISTORY - 1] = m->heap;
    m->rss_hist[MT_TOP_HISTORY - 1] = (int64_t)m->rss;
    for (uint32_t i = 0; i < m->nsites; i++) /* a new site's older values are 0 */
        m->sites[i].past[m->ticks % MT_TOP_GROWTH] = m->sites[i].bytes;
    m->ticks++;
}

int64_t mt_top_site_growth(const struct mt_top_model *m, const struct mt_top_site *s)
{
    if (!m->ticks)
        return s->bytes;
    /* the ring's oldest value: MT_TOP_GROWTH ticks ago (before: 0, the start) */
    int64_t then = m->ticks < MT_TOP_GROWTH ? 0 : s->past[m->ticks % MT_TOP_GROWTH];
    return s->bytes - then;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

const char *mt_top_site_name(struct mt_top_model *m, struct mt_top_site *s)
{
    if (s->name)
        return s->name;
    char buf[1024];
    if (!s->key) {
        snprintf(buf, sizeof buf, "(no stack)");
    } else if (s->key & MT_FRAME_PYTHON) {
        uint64_t id = s->key & ~MT_FRAME_PYTHON;
        if (id < m->npyframes && m->pyframes[id].function)
            snprintf(buf, sizeof buf, "%s (%s:%llu)", m->pyframes[id].function,
                     base_name(m->pyframes[id].file), (unsigned long long)m->pyframes[id].line);
        else
            snprintf(buf, sizeof buf, "(Python frame %llu)", (unsigned long long)id);
    } else {
        if (!m->sym)
            m->sym = mt_symbolizer_new();
        for (; m->sym && m->symbolized_modules < m->nmodules; m->symbolized_modules++)
            (void)mt_symbolizer_add(m->sym, m->modules[m->symbolized_modules].path,
                                    m->modules[m->symbolized_modules].base);
        struct mt_symbol sy = {NULL, NULL, 0, -1};
        if (m->sym)
            mt_symbolize(m->sym, s->key, &sy);
        if (sy.function && sy.file && sy.line)
            snprintf(buf, sizeof buf, "%s (%s:%d)", sy.function, base_name(sy.file), sy.line);
        else if (sy.function)
            snprintf(buf, sizeof buf, "%s", sy.function);
        else if (sy.module >= 0 && sy.module < m->nmodules)
            snprintf(buf, sizeof buf, "%s+0x%llx", base_name(m->modules[sy.module].path),
                     (unsigned long long)(s->key - m->modules[sy.module].base));
        else
            snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)s->key);
    }
    s->name = strdup(buf);
    return s->name ? s->name : "?";
}
