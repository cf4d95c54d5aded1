/* json_guard.c - JSON parsing that fails when an allocation failed: see json_guard.h. */
#include "labshare/json_guard.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/banned.h"

static _Thread_local int alloc_failed;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

/* Tries a failed allocation again a few times before jansson sees it: jansson 2.14 handles
 * a NULL badly in places (an assertion in its lexer aborts the process, seen under injected
 * failures), so a passing shortage never reaches it; a lasting one still does, and is flagged. */
#define ALLOC_TRIES 3

static void *guarded_malloc(size_t size)
{
    void *p = NULL;

    for (int i = 0; i < ALLOC_TRIES && !p; i++)
        p = malloc(size);
    if (!p)
        alloc_failed = 1;
    return p;
}

static void guarded_free(void *p)
{
    free(p);
}

static void install(void)
{
    /* values made before with malloc are still freed with free: switching is harmless */
    json_set_alloc_funcs(guarded_malloc, guarded_free);
}

void ls_json_guard_install(void)
{
    pthread_once(&installed, install);
}

json_t *ls_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err, int *oom)
{
    json_t *v;

    ls_json_guard_install();
    alloc_failed = 0;
    v = json_loadb(buf, len, flags, err);
    if (oom)
        *oom = alloc_failed;
    if (alloc_failed) {
        json_decref(v);
        if (err)
            snprintf(err->text, sizeof(err->text), "out of memory");
        return NULL;
    }
    return v;
}

json_t *ls_json_loads(const char *text, size_t flags, json_error_t *err, int *oom)
{
    if (!text) {
        if (oom)
            *oom = 0;
        return NULL;
    }
    return ls_json_loadb(text, strlen(text), flags, err, oom);
}
