#include "labshare/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

void ls_buf_init(struct ls_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void ls_buf_release(struct ls_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ls_buf_reset(struct ls_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Make room for need more bytes plus the NUL. */
static int reserve(struct ls_buf *b, size_t need)
{
    size_t want, cap;
    char *p;

    if (need > b->max - b->len)
        return LS_ERR_TOOBIG;
    want = b->len + need + 1;
    if (want <= b->cap)
        return LS_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->data, cap);
    if (!p)
        return LS_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return LS_OK;
}

int ls_buf_add(struct ls_buf *b, const void *data, size_t n)
{
    int rc = reserve(b, n);

    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return LS_OK;
}

int ls_buf_adds(struct ls_buf *b, const char *s)
{
    return ls_buf_add(b, s, strlen(s));
}

int ls_buf_vprintf(struct ls_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return LS_ERR_INVAL;
    rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    if (vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap) != n)
        return LS_ERR_INVAL;
    b->len += (size_t)n;
    return LS_OK;
}

int ls_buf_printf(struct ls_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = ls_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *ls_buf_str(const struct ls_buf *b)
{
    return b->data ? b->data : "";
}

char *ls_buf_detach(struct ls_buf *b)
{
    char *p = b->data;

    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
