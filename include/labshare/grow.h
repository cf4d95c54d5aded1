/*
 * grow.h - room in a growable array (after git's ALLOC_GROW).
 *
 *     struct interval *v = NULL;
 *     size_t n = 0, cap = 0;
 *     if (LS_GROW(v, cap, n + 1))
 *         goto nomem;
 *     v[n++] = x;
 *
 * Capacity doubles from 16, so appending n elements costs O(n) copies in all.
 */
#ifndef LS_GROW_H
#define LS_GROW_H

#include <stddef.h>

/* Make room for at least need elements of size bytes in the array *arrp (a pointer to the array
 * pointer) whose capacity is *cap. LS_ERR_NOMEM on failure or overflow, array and capacity
 * unchanged (the caller still owns and frees the old array). */
int ls_grow(void *arrp, size_t *cap, size_t need, size_t size);

#define LS_GROW(arr, cap, need) ls_grow(&(arr), &(cap), (need), sizeof(*(arr)))

#endif
