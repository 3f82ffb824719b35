/* symbolize.c - offline symbolization with elfutils' libdwfl: each module
 * of the trace's map is reported at its recorded load bias, then every
 * distinct address is looked up once. C++ names are demangled with the C++
 * runtime's own demangler (libstdc++'s __cxa_demangle, the one c++filt's
 * output matches), so that frames read `ns::Class::method(int)`. */
#define _GNU_SOURCE
#include "symbolize.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* libstdc++'s demangler (cxxabi.h), callable from C: returns a malloc'd
 * string, or NULL with *status < 0 when the name is not a mangled one. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct mt_symbolizer {
    Dwfl *dwfl;
    Dwfl_Callbacks callbacks;
    char *debuginfo_path;
    Dwfl_Module **modules; /* as added, to give each symbol a module index */
    int nmodules, cap;
    int reporting;
    char name[1024]; /* the last function name returned */
};

struct mt_symbolizer *mt_symbolizer_new(void)
{
    struct mt_symbolizer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->callbacks.find_elf = dwfl_build_id_find_elf;
    s->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
    s->callbacks.section_address = dwfl_offline_section_address;
    s->callbacks.debuginfo_path = &s->debuginfo_path;
    s->dwfl = dwfl_begin(&s->callbacks);
    if (!s->dwfl) {
        free(s);
        return NULL;
    }
    dwfl_report_begin(s->dwfl);
    s->reporting = 1;
    return s;
}

int mt_symbolizer_add(struct mt_symbolizer *s, const char *path, uint64_t bias)
{
    if (!s->reporting)
        return EINVAL;
    /* MEMTAP_NO_SYMBOLS=1: no module file is opened (native frames stay
     * module+offset): a faster load, and the fuzzer's, whose traces name
     * any path at all. */
    const char *off = getenv("MEMTAP_NO_SYMBOLS");
    if (off && *off == '1')
        return ENOENT;
    Dwfl_Module *m = dwfl_report_elf(s->dwfl, path, path, -1, bias, false);
    if (!m)
        return ENOENT;
    if (s->nmodules == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        Dwfl_Module **n = realloc(s->modules, (size_t)cap * sizeof *n);
        if (!n)
            return ENOMEM;
        s->modules = n;
        s->cap = cap;
    }
    s->modules[s->nmodules++] = m;
    return 0;
}

/* Replaces a mangled C++ name in name[cap] by its demangled form (cut to
 * fit); leaves any other name as it is. */
static void demangle(char *name, size_t cap)
{
    if (name[0] != '_' || name[1] != 'Z')
        return;
    int status = 0;
    char *plain = __cxa_demangle(name, NULL, NULL, &status);
    if (plain && status == 0) {
        size_t n = strlen(plain);
        if (n >= cap)
            n = cap - 1;
        memcpy(name, plain, n);
        name[n] = 0;
    }
    free(plain);
}

void mt_symbolize(struct mt_symbolizer *s, uint64_t pc, struct mt_symbol *out)
{
    memset(out, 0, sizeof *out);
    out->module = -1;
    if (s->reporting) {
        dwfl_report_end(s->dwfl, NULL, NULL);
        s->reporting = 0;
    }
    Dwarf_Addr addr = pc ? pc - 1 : 0;
    Dwfl_Module *m = dwfl_addrmodule(s->dwfl, addr);
    if (!m)
        return;
    for (int i = 0; i < s->nmodules; i++)
        if (s->modules[i] == m)
            out->module = i;
    GElf_Off offset;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(m, addr, &offset, &sym, NULL, NULL, NULL);
    if (name) {
        /* "memcpy@@GLIBC_2.14" -> "memcpy": the version is noise here. */
        size_t n = strcspn(name, "@");
        if (n >= sizeof s->name)
            n = sizeof s->name - 1;
        memcpy(s->name, name, n);
        s->name[n] = 0;
        demangle(s->name, sizeof s->name);
        out->function = s->name;
    }
    Dwfl_Line *line = dwfl_module_getsrc(m, addr);
    if (line) {
        int lineno = 0;
        const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
        if (file) {
            out->file = file;
            out->line = lineno;
        }
    }
}

void mt_symbolizer_free(struct mt_symbolizer *s)
{
    if (!s)
        return;
    dwfl_end(s->dwfl);
    free(s->modules);
    free(s);
}
