/* fuzz_common.h - what the libFuzzer harnesses share: quiet logs, and an input as a file for
 * the parsers that read one. */
#ifndef LS_FUZZ_COMMON_H
#define LS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "labshare/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Write data to this process's scratch file and return its path (NULL when it cannot). */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *ext)
{
    static char path[96];
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/labshare-fuzz-%d%s", (int)getpid(), ext);
    f = fopen(path, "wb");
    if (!f)
        return NULL;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return NULL;
    }
    fclose(f);
    return path;
}

#define FUZZ_QUIET_LOGS                                                                            \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        ls_log_init("fuzz", LS_LOG_OFF);                                                           \
        return 0;                                                                                  \
    }

#endif /* LS_FUZZ_COMMON_H */
