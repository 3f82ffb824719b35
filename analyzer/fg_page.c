/* fg_page.c - writes the flamegraph page: the HTML template with its CSS,
 * its script and the data, the model of each process shown (fg_model.h)
 * as JSON in a <script type="application/json"> element of its own.
 * Every string in the JSON has <, > and & escaped (mt_json_string), so no
 * name, path or label can end the element, and the page only ever puts
 * them into the DOM as text.
 *
 * A run of several processes: the first model also carries the list of
 * the run's processes (for the page's selector: which have a model here,
 * the others are one `memtap flamegraph --pid PID` away) and the tree's
 * RSS over time (tree_samples, at most TREE_POINTS of them: the highest of
 * each stretch) with, at each of those times, the RSS of the processes of
 * highest peak (write_tree_stack); each model carries its process's start in
 * the run's time.
 *
 * A page compared with a base run (`memtap flamegraph --base RUN`) carries
 * that run's model too, in an element of its own (memtap-base).
 */
#define _GNU_SOURCE
#include "fg_page.h"

#include <string.h>

#include "db.h"
#include "tree.h"
#include "util.h"

extern const char mt_asset_page_html[], mt_asset_page_js[], mt_asset_page_css[];

#define TREE_POINTS 400

static void write_processes(FILE *out, const struct mt_fg_page *page)
{
    sqlite3_stmt *st;
    fputs(",\n\"processes\": [", out);
    if (sqlite3_prepare_v2(page->run,
                           MT_TREE_WALK " SELECT p.pid, t.depth, p.command, p.peak_bytes FROM t"
                           " JOIN processes p ON p.id = t.id ORDER BY t.path",
                           -1, &st, NULL) != SQLITE_OK)
        return (void)fputs("]", out);
    for (int n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
        int64_t pid = sqlite3_column_int64(st, 0);
        int part = -1;
        for (int i = 0; i < page->nparts; i++)
            if (mt_db_meta_int(page->parts[i].db, "pid", -1) == pid)
                part = i;
        fprintf(out, "%s[%d,%lld,%d,", n ? "," : "", part, (long long)pid,
                sqlite3_column_int(st, 1));
        mt_json_string(out, (const char *)sqlite3_column_text(st, 2));
        fprintf(out, ",%lld]", (long long)sqlite3_column_int64(st, 3));
    }
    sqlite3_finalize(st);
    fputs("]", out);
}

/* Each of the STACKED processes of highest RSS peak, its RSS at each time
 * of the tree's series (its latest sample then, 0 when it was not alive),
 * for the page to stack them under the tree's line; the others together
 * are the rest of the line. */
#define STACKED 8

static void write_tree_stack(FILE *out, sqlite3 *run, const int64_t *ns, int64_t n)
{
    sqlite3_stmt *top, *at;
    fputs(",\n\"treeStack\": {\"procs\": [", out);
    if (sqlite3_prepare_v2(run, "SELECT id, pid, command FROM processes WHERE traced = 1 AND"
                                " peak_rss_bytes > 0 ORDER BY peak_rss_bytes DESC, id LIMIT ?",
                           -1, &top, NULL) != SQLITE_OK)
        return (void)fputs("], \"rss\": []}", out);
    sqlite3_bind_int(top, 1, STACKED);
    int64_t ids[STACKED];
    int k = 0;
    while (k < STACKED && sqlite3_step(top) == SQLITE_ROW) {
        ids[k] = sqlite3_column_int64(top, 0);
        fprintf(out, "%s[%lld,", k ? "," : "", (long long)sqlite3_column_int64(top, 1));
        mt_json_string(out, (const char *)sqlite3_column_text(top, 2));
        fputs("]", out);
        k++;
    }
    sqlite3_finalize(top);
    fputs("], \"rss\": [", out);
    if (sqlite3_prepare_v2(run, "SELECT s.rss_bytes FROM process_samples s, processes p"
                                " WHERE p.id = ?1 AND s.process = ?1 AND s.ns <= ?2"
                                " AND p.start_ns <= ?2 AND ?2 <= p.end_ns"
                                " ORDER BY s.ns DESC LIMIT 1",
                           -1, &at, NULL) != SQLITE_OK)
        return (void)fputs("]}", out);
    for (int64_t i = 0; i < n; i++) {
        fputs(i ? ",[" : "[", out);
        for (int j = 0; j < k; j++) {
            sqlite3_reset(at);
            sqlite3_bind_int64(at, 1, ids[j]);
            sqlite3_bind_int64(at, 2, ns[i]);
            int64_t v = sqlite3_step(at) == SQLITE_ROW ? sqlite3_column_int64(at, 0) : 0;
            fprintf(out, j ? ",%lld" : "%lld", (long long)v);
        }
        fputs("]", out);
    }
    sqlite3_finalize(at);
    fputs("]}", out);
}

static void write_tree_rss(FILE *out, sqlite3 *run)
{
    sqlite3_stmt *st;
    fputs(",\n\"tree\": [", out);
    int64_t n = 0;
    if (sqlite3_prepare_v2(run, "SELECT count(*) FROM tree_samples", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    int64_t every = n > TREE_POINTS ? (n + TREE_POINTS - 1) / TREE_POINTS : 1;
    int64_t times[TREE_POINTS + 1], written = 0;
    if (sqlite3_prepare_v2(run, "SELECT (row_number() OVER (ORDER BY ns) - 1) / ?, ns, rss_bytes"
                                " FROM tree_samples ORDER BY ns", -1, &st, NULL) != SQLITE_OK)
        return (void)fputs("]", out);
    sqlite3_bind_int64(st, 1, every);
    int64_t bucket = -1, best_ns = 0, best = -1;
    for (int more = 1; more;) {
        more = sqlite3_step(st) == SQLITE_ROW;
        int64_t b = more ? sqlite3_column_int64(st, 0) : -2;
        if (b != bucket && best >= 0 && written <= TREE_POINTS) {
            fprintf(out, "%s[%.6f,%lld]", written ? "," : "", (double)best_ns / 1e9,
                    (long long)best);
            times[written++] = best_ns;
            best = -1;
        }
        bucket = b;
        if (more && sqlite3_column_int64(st, 2) > best) {
            best = sqlite3_column_int64(st, 2);
            best_ns = sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    fputs("]", out);
    write_tree_stack(out, run, times, written);
}

/* One run's or process's model: p, which is page->parts[0] when first. */
static void write_model(FILE *out, const struct mt_fg_page *page, const struct mt_fg_part *p,
                        int first)
{
    const struct mt_fg_model *m = &p->m;
    sqlite3 *db = p->db;
    char cmd[4096];
    mt_db_meta_text(db, "command_line", cmd, sizeof cmd);
    fputs("{\"version\": 1, \"command\": ", out);
    mt_json_string(out, cmd);
    fprintf(out, ", \"pid\": %lld, \"view\": \"%s\", \"from\": %d, \"to\": %d, \"hide\": %u,",
            (long long)mt_db_meta_int(db, "pid", 0), page->view, p->a, p->b, page->hide);
    fprintf(out, " \"peakBytes\": %lld, \"exitBytes\": %lld, \"peakPoint\": %u, \"exitPoint\": %u,",
            (long long)m->peak_bytes, (long long)m->exit_bytes, m->peak_point, m->exit_point);
    fprintf(out, " \"durationS\": %.6f,", (double)mt_db_meta_int(db, "duration_ns", 0) / 1e9);
    fprintf(out, " \"sampleRate\": %lld,", (long long)mt_db_meta_int(db, "sample_rate", 0));
    int64_t start = page->run ? mt_db_meta_int(db, "start_monotonic_ns", 0) -
                                    mt_db_meta_int(page->run, "start_monotonic_ns", 0)
                              : 0;
    fprintf(out, " \"startS\": %.6f,", (double)start / 1e9);
    fprintf(out, " \"merged\": [%u,%lld,%lld,%lld],\n\"frames\": [", p->merged.nodes,
            (long long)p->merged.total_bytes, (long long)p->merged.peak_bytes,
            (long long)p->merged.threshold);
    for (uint32_t i = 0; i < m->nframes; i++) {
        fputs(i ? ",[" : "[", out);
        mt_json_string(out, m->frame_name[i] ? m->frame_name[i] : "");
        fprintf(out, ",%d]", m->frame_class[i]);
    }
    fputs("],\n\"parent\": [", out);
    for (uint32_t i = 0; i < m->nnodes; i++)
        fprintf(out, i ? ",%u" : "%u", m->parent[i]);
    fputs("],\n\"frame\": [", out);
    for (uint32_t i = 0; i < m->nnodes; i++)
        fprintf(out, i ? ",%u" : "%u", m->frame[i]);
    fputs("],\n\"points\": [", out);
    for (uint32_t i = 0; i < m->npoints; i++) {
        const struct mt_fg_point *pt = &m->points[i];
        fprintf(out, "%s[%lld,%.6f,%lld,%d,", i ? "," : "", (long long)pt->seq,
                (double)pt->ns / 1e9, (long long)pt->rss, pt->kind);
        mt_json_string(out, pt->label);
        fprintf(out, ",%lld]", (long long)pt->rss_anon);
    }
    fputs("],\n\"groups\": [", out);
    for (uint32_t i = 0; i < m->ngroups; i++) {
        const struct mt_fg_group *g = &m->groups[i];
        fprintf(out, "%s%u,%u,%u,%u,%lld,%lld", i ? "," : "", g->node, g->thread, g->first,
                g->last, (long long)g->bytes, (long long)g->count);
    }
    fputs("],\n\"totals\": [", out);
    for (uint32_t i = 0; i < m->ntotals; i++) {
        const struct mt_fg_group *g = &m->totals[i];
        fprintf(out, "%s%u,%u,%lld,%lld", i ? "," : "", g->node, g->thread, (long long)g->bytes,
                (long long)g->count);
    }
    fputs("],\n\"threads\": [", out);
    for (uint32_t i = 0; i < m->nthreads; i++) {
        fprintf(out, "%s[%u,%lld,", i ? "," : "", i, (long long)m->thread_tid[i]);
        mt_json_string(out, m->thread_name[i]);
        fputc(']', out);
    }
    fputs("]", out);
    if (first && page->run) {
        write_processes(out, page);
        write_tree_rss(out, page->run);
    }
    fputs("}", out);
}

void mt_fg_page_write(FILE *out, const struct mt_fg_page *page)
{
    const char *t = mt_asset_page_html;
    while (*t) {
        const char *at = strchr(t, '@');
        if (!at) {
            fputs(t, out);
            break;
        }
        fwrite(t, 1, (size_t)(at - t), out);
        if (strncmp(at, "@CSS@", 5) == 0) {
            fputs(mt_asset_page_css, out);
            t = at + 5;
        } else if (strncmp(at, "@JS@", 4) == 0) {
            fputs(mt_asset_page_js, out);
            t = at + 4;
        } else if (strncmp(at, "@DATA@", 6) == 0) {
            write_model(out, page, &page->parts[0], 1);
            t = at + 6;
        } else if (strncmp(at, "@MORE@", 6) == 0) {
            for (int k = 1; k < page->nparts; k++) {
                fprintf(out, "<script id=\"memtap-data-%d\" type=\"application/json\">", k);
                write_model(out, page, &page->parts[k], 0);
                fputs("</script>\n", out);
            }
            if (page->base) {
                fputs("<script id=\"memtap-base\" type=\"application/json\">", out);
                write_model(out, page, page->base, 0);
                fputs("</script>\n", out);
            }
            t = at + 6;
        } else if (strncmp(at, "@TITLE@", 7) == 0) {
            char cmd[512];
            mt_db_meta_text(page->parts[0].db, "command_line", cmd, sizeof cmd);
            mt_html_text(out, cmd);
            t = at + 7;
        } else {
            fputc('@', out);
            t = at + 1;
        }
    }
}
