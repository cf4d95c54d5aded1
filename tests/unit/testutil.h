/* testutil.h - helpers shared by the unit tests: a fresh temporary folder per test. */
#ifndef LS_TESTUTIL_H
#define LS_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

static char test_dir[64];

/* Make test_dir a new empty folder and put "<test_dir>/<name>" into path. 0 on success. */
static inline int test_dir_make(const char *name, char *path, size_t len)
{
    snprintf(test_dir, sizeof(test_dir), "/tmp/ls-unit-XXXXXX");
    if (!mkdtemp(test_dir))
        return -1;
    snprintf(path, len, "%s/%s", test_dir, name);
    return 0;
}

/* Remove test_dir and everything in it. 0 on success. */
static inline int test_dir_remove(void)
{
    char cmd[100];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
    return system(cmd);
}

#endif /* LS_TESTUTIL_H */
