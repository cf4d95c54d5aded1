/*
 * grow.c - room in a growable array.
 */
#include "labshare/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

int ls_grow(void *arrp, size_t *cap, size_t need, size_t size)
{
    void *arr, *p;
    size_t nc;

    if (need <= *cap)
        return LS_OK;
    nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return LS_ERR_NOMEM;
        nc *= 2;
    }
    if (size && nc > SIZE_MAX / size)
        return LS_ERR_NOMEM;
    memcpy(&arr, arrp, sizeof(arr));
    p = realloc(arr, nc * size);
    if (!p)
        return LS_ERR_NOMEM;
    memcpy(arrp, &p, sizeof(p));
    *cap = nc;
    return LS_OK;
}
