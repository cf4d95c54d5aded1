/*
 * json_guard.h - parsing JSON that is never silently wrong.
 *
 * jansson 2.14, when an allocation fails in the middle of parsing, can return a value with a
 * token cut short instead of failing (its lexer does not check every append to its buffer): a
 * reading's instrument, a time or a request's field could come out different from what was
 * sent, and be acted on. The guard sees every allocation jansson makes (json_set_alloc_funcs,
 * wrappers around malloc and free) and a parse during which one failed is a failure. Any
 * thread; the flag is per thread.
 */
#ifndef LS_JSON_GUARD_H
#define LS_JSON_GUARD_H

#include <jansson.h>
#include <stddef.h>

/* Install the allocation wrappers (idempotent; also done by the first ls_json_loadb). Call it
 * before starting threads that use jansson. */
void ls_json_guard_install(void);

/* json_loadb, or NULL when it failed or any allocation failed during it; *oom (may be NULL) is
 * then 1 for an allocation failure (not the input's fault), else 0. */
json_t *ls_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err, int *oom);
/* The same for a NUL-terminated text (NULL: NULL, not out of memory). */
json_t *ls_json_loads(const char *text, size_t flags, json_error_t *err, int *oom);

#endif /* LS_JSON_GUARD_H */
