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

#include "../config.h"
#include "../service.h"
#include "../store.h"
#include "labshare/buf.h"

/* Largest request body accepted; larger ones get 413 without being read into memory. */
#define HTTP_BODY_MAX (256 * 1024)
#define HTTP_MAX_PARAMS 4

struct http;
struct broker;

struct http_req {
    const char *method;
    const char *path;
    void *conn;         /* struct MHD_Connection */
    struct ls_buf body; /* the request body, NUL-terminated */
    size_t body_cap;    /* its largest size: HTTP_BODY_MAX, or an upload route's own */
    int body_too_big;
    struct store *st; /* this thread's store connection */
    const struct srv_config *cfg;
    struct broker *broker; /* gateway accounts on the MQTT broker; NULL = none */
    struct principal who;  /* valid when authenticated */
    int authenticated;
    const char *params[HTTP_MAX_PARAMS]; /* {x} segments of the route, in order */
    char param_buf[512];
    char addr[64]; /* client address (behind a trusted proxy: the one it names, forwarded.h) */
    int https;     /* came over HTTPS: ours, or a trusted proxy's (cookies are Secure) */
    struct notify_settings notify; /* for the service calls (http_service) */
};

struct http_resp {
    unsigned status;
    char *body; /* owned; freed after sending */
    size_t len;
    const char *content_type;
    char set_cookie[256];          /* a Set-Cookie header, when not empty */
    char set_cookie2[256];         /* a second one (the CSRF cookie of a login) */
    char content_disposition[128]; /* e.g. attachment; filename="x.csv", when not empty */
    int retry_after;               /* seconds, for a Retry-After header; 0 = none */
};

/* Start serving cfg->listen_host:listen_port. LS_ERR_IO with a logged reason. */
/* metrics_text, when given, adds the caller's lines (e.g. ingest counters) to
 * /metrics/prometheus; it is called on an HTTP thread. */
/* broker (borrowed; may be NULL) is handed to the handlers as req->broker. */
int http_start(const struct srv_config *cfg, struct broker *broker,
               void (*metrics_text)(void *arg, struct ls_buf *out), void *metrics_arg,
               struct http **out);
/* Stop accepting, finish running requests, close the threads' store connections, free. */
void http_stop(struct http *h);

/* Helpers for handlers. Each returns LS_OK, or LS_ERR_NOMEM when the response could not be
 * built (the request then gets a bare 500). */
int http_json(struct http_resp *resp, unsigned status, json_t *body); /* steals body */
int http_error(struct http_resp *resp, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
unsigned http_status_of(int rc);

/* The request body as a JSON object into *out (caller decrefs). On a missing or malformed body
 * or a non-object fills resp with a 400 and returns LS_ERR_INVAL. */
int http_body_json(struct http_req *req, struct http_resp *resp, json_t **out);

/* Refuse (400 in resp, LS_ERR_INVAL) an object with a key not in the NULL-terminated list. */
int http_only_keys(struct http_resp *resp, const json_t *obj, const char *const *keys);

/* Roles of the authenticated principal. */
int http_is_admin(const struct http_req *req);
int http_is_auditor(const struct http_req *req);              /* an auditor (reads everything) */
int http_manages(const struct http_req *req, int64_t org_id); /* admin, or manager of org_id */

/* The scope of a list of per-user records (bookings, usage): ?instrument= and ?user_id= parsed
 * into *instrument and *user_id, then narrowed to what the caller may see: admins and auditors
 * everything, managers their organisation's instruments' (*org_id) unless they ask for their
 * own, researchers their own. A 400 in resp and LS_ERR_INVAL on a bad argument. */
int http_scope(struct http_req *req, struct http_resp *resp, const char **instrument,
               int64_t *user_id, int64_t *org_id);

/* Append an audit record for the authenticated actor (in the caller's transaction). */
int http_audit(struct http_req *req, const char *action, const char *object, const json_t *before,
               const json_t *after);

/* Append the audit record of a write (action on object, before and after: before is released,
 * after is stolen and sent with status), commit, or roll back and answer the error. */
int http_commit_audited(struct http_req *req, struct http_resp *resp, const char *action,
                        const char *object, json_t *before, json_t *after, unsigned status);

/* The same, with the keys of reply_extra (stolen; may be NULL) added to the answer only, never
 * to the audit record: a secret shown once. */
int http_commit_audited_reply(struct http_req *req, struct http_resp *resp, const char *action,
                              const char *object, json_t *before, json_t *after,
                              json_t *reply_extra, unsigned status);

/* A service call (service.h) on behalf of req's caller: *sv set up with the platform's usage
 * settings and a reply hook that answers status with the object before the write commits
 * (*reply is its state, kept by the caller until the call returns). */
struct http_reply {
    struct http_resp *resp;
    unsigned status;
};
void http_service(struct http_req *req, struct http_resp *resp, unsigned status, struct service *sv,
                  struct http_reply *reply);
/* The end of a service call that returned rc with *out: on an error the answer is 422 naming a
 * broken rule, 409 with the booking in the way, else the status of out->rc with out->why (on
 * success the reply hook answered already); out is released. Returns LS_OK (the route's). */
int http_outcome(struct http_resp *resp, int rc, struct outcome *out);
/* 422 {"error": "rule", "rule": rule, "message": msg}: a business rule is broken. */
int http_rule_error(struct http_resp *resp, const char *rule, const char *msg);

/* 201/200 with the object, or the error for rc. Steals obj. */
int http_created(struct http_resp *resp, json_t *obj);

/* A list answer {"items": items, "total": total} (steals items), or CSV when the request asks
 * for ?format=csv: columns are the keys of the first item, values quoted as RFC 4180. */
int http_list(struct http_req *req, struct http_resp *resp, json_t *items, int64_t total,
              const char *csv_name);

/* The value of cookie name, or NULL. Borrowed from the request. */
const char *http_cookie(struct http_req *req, const char *name);

/* The value of query argument name, or NULL. Borrowed from the request. */
const char *http_query(struct http_req *req, const char *name);

/* Parse the common list arguments: limit (1..max, default def), offset (>= 0), from/to as
 * RFC 3339 times or YYYY-MM-DD dates (midnight in the platform time zone), or month=YYYY-MM
 * (the platform's month). On a bad value fills resp with a 400 and returns LS_ERR_INVAL.
 * Absent from/to become INT64_MIN/INT64_MAX. */
int http_list_args(struct http_req *req, struct http_resp *resp, int64_t def, int64_t max,
                   int64_t *limit, int64_t *offset, int64_t *from_ms, int64_t *to_ms);

/* [from, to) of month "YYYY-MM" in the platform time zone, as epoch ms. LS_ERR_INVAL. */
int http_month_range(const char *month, int64_t *from_ms, int64_t *to_ms);

#endif /* LS_SRV_HTTP_H */
