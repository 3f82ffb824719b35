/* symbolize.h - native addresses to function, file and line, offline, from
 * the module map recorded in the trace (elfutils libdwfl does the ELF and
 * DWARF work, including build-id lookups of separate debug info). */
#ifndef MT_SYMBOLIZE_H
#define MT_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct mt_symbolizer;

struct mt_symbol {
    const char *function; /* NULL if unknown; valid until the next call */
    const char *file;     /* NULL without debug info */
    int line;             /* 0 without debug info */
    int module;           /* index of the module as added, -1 if none */
};

/* Returns NULL if libdwfl cannot start (out of memory). */
struct mt_symbolizer *mt_symbolizer_new(void);

/* Adds a loaded object at its load bias. Returns 0, or an errno code when
 * the file cannot be read (its addresses will stay unnamed). */
int mt_symbolizer_add(struct mt_symbolizer *s, const char *path, uint64_t bias);

/* Resolves a return address (looks up pc - 1, the call instruction). */
void mt_symbolize(struct mt_symbolizer *s, uint64_t pc, struct mt_symbol *out);

void mt_symbolizer_free(struct mt_symbolizer *s);

#endif
