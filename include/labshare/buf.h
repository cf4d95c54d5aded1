/*
 * buf.h - a bounded, growable byte buffer (after curl's dynbuf).
 *
 * The buffer is always NUL-terminated and never grows past its maximum ("toobig"): an append
 * that would exceed it fails with LS_ERR_TOOBIG and leaves the content unchanged.
 * Not thread-safe: one owner at a time.
 */
#ifndef LS_BUF_H
#define LS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct ls_buf {
    char *data; /* NUL-terminated content, NULL while empty and never grown */
    size_t len; /* bytes used, excluding the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit of len */
};

/* Initialise an embedded buffer that will hold at most max bytes. Allocates nothing. */
void ls_buf_init(struct ls_buf *b, size_t max);

/* Free the content and reset to empty; the buffer can be reused. */
void ls_buf_release(struct ls_buf *b);

/* Empty the buffer but keep its memory. */
void ls_buf_reset(struct ls_buf *b);

/* Append n bytes. LS_ERR_TOOBIG past the limit, LS_ERR_NOMEM; unchanged on error. */
int ls_buf_add(struct ls_buf *b, const void *data, size_t n);

/* Append a C string. Same errors as ls_buf_add. */
int ls_buf_adds(struct ls_buf *b, const char *s);

/* Append printf-style text. Same errors as ls_buf_add, LS_ERR_INVAL on a format error. */
int ls_buf_printf(struct ls_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ls_buf_vprintf(struct ls_buf *b, const char *fmt, va_list ap);

/* The content as a C string: "" when empty. Borrowed, valid until the next change. */
const char *ls_buf_str(const struct ls_buf *b);

/* Take the content: the caller frees it with free(). The buffer becomes empty. Returns NULL
 * when empty. */
char *ls_buf_detach(struct ls_buf *b);

#endif /* LS_BUF_H */
