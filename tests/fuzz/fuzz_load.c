/* fuzz_load.c - libFuzzer target: the whole load (analyzer/load.c: the
 * replay, the aggregates, the database) of any bytes as a trace, into a
 * fresh database each time, with no module file opened (MEMTAP_NO_SYMBOLS:
 * a fuzzed trace names any path). Corrupt input is an error, never a
 * crash, a hang, or memory beyond what the input can hold. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("MEMTAP_NO_SYMBOLS", "1", 1);
    unsetenv("DEBUGINFOD_URLS");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[] = "/tmp/memtap-fuzz-XXXXXX";
    if (!mkdtemp(dir))
        return 0;
    char trace[64], db[64];
    snprintf(trace, sizeof trace, "%s/t.memtap", dir);
    snprintf(db, sizeof db, "%s/t.db", dir);
    FILE *f = fopen(trace, "wb");
    if (f) {
        size_t ok = fwrite(data, 1, size, f);
        if (fclose(f) == 0 && ok == size)
            (void)mt_load(trace, db, 1, 1, size % 2);
    }
    static const char *const leftovers[] = {"t.db", "t.db-journal", "t.db-wal", "t.db-shm",
                                            "t.memtap"};
    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s/%s", dir, leftovers[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}
