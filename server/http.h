/*
 * http.h - the HTTP front of the server (libmicrohttpd 0.9.75): request state, body cap,
 * routing, authentication, JSON/CSV responses and the ls_rc -> status table.
 *
 * Requests run on libmicrohttpd's thread pool; each thread has its own store connection.
 * Handlers (routes_*.c) are called with a complete request and fill a response.
 */
#ifndef LS_SRV_HTTP_H
#define LS_SRV_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"
#include "labshare/buf.h"

/* Largest request body accepted; larger ones get 413 without being read into memory. */
#define HTTP_BODY_MAX (256 * 1024)
#define HTTP_MAX_PARAMS 4

struct http;

struct http_req {
    const char *method;
    const char *path;
    void *conn;         /* struct MHD_Connection */
    struct ls_buf body; /* the request body, NUL-terminated */
    int body_too_big;
    struct store *st; /* this thread's store connection */
    const struct srv_config *cfg;
    struct principal who; /* valid when authenticated */
    int authenticated;
    const char *params[HTTP_MAX_PARAMS]; /* {x} segments of the route, in order */
    char param_buf[512];
};

struct http_resp {
    unsigned status;
    char *body; /* owned; freed after sending */
    size_t len;
    const char *content_type;
};

/* Start serving cfg->listen_host:listen_port. LS_ERR_IO with a logged reason. */
int http_start(const struct srv_config *cfg, struct http **out);
/* Stop accepting, finish running requests, close the threads' store connections, free. */
void http_stop(struct http *h);

/* Helpers for handlers. Each returns LS_OK, or LS_ERR_NOMEM when the response could not be
 * built (the request then gets a bare 500). */
int http_json(struct http_resp *resp, unsigned status, json_t *body); /* steals body */
int http_error(struct http_resp *resp, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
unsigned http_status_of(int rc);

/* The value of query argument name, or NULL. Borrowed from the request. */
const char *http_query(struct http_req *req, const char *name);

/* Parse the common list arguments: limit (1..max, default def), offset (>= 0), from/to as
 * RFC 3339 times or YYYY-MM-DD dates (UTC midnight). On a bad value fills resp with a 400 and
 * returns LS_ERR_INVAL. Absent from/to become INT64_MIN/INT64_MAX. */
int http_list_args(struct http_req *req, struct http_resp *resp, int64_t def, int64_t max,
                   int64_t *limit, int64_t *offset, int64_t *from_ms, int64_t *to_ms);

/* Format epoch ms as RFC 3339 UTC ("2026-11-27T10:00:00.123Z") into buf (>= 32 bytes). */
void http_time_format(int64_t ms, char *buf, size_t len);
/* Parse an RFC 3339 time (Z or +hh:mm offset, optional fraction) or a YYYY-MM-DD date. */
int http_time_parse(const char *s, int64_t *ms);

#endif /* LS_SRV_HTTP_H */
