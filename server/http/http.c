#include "http.h"

#include <errno.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../auth.h"
#include "../requests.h"
#include "../writer.h"
#include "routes.h"
#include "conn_guard.h"
#include "forwarded.h"
#include "web.h"
#include "labshare/json_guard.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* Idle connections are closed after 20 s: libmicrohttpd's default is never. */
#define CONN_TIMEOUT_S 20
/* Per-connection buffer for headers and the read buffer. */
#define CONN_MEMORY 65536
#define MAX_STORES 128

/* ROUTE_WRITE: the handler runs on the writer (writer.h), its writes committed in a group with
 * others'; for writes that touch nothing but the database (not the broker) and do no slow work
 * (no password hashing), so that they do not hold the group up. */
enum route_flags { ROUTE_PUBLIC = 0, ROUTE_AUTH = 1 << 0, ROUTE_WRITE = 1 << 1 };

struct route {
    const char *method;
    const char *pattern; /* "/api/v1/x/{}/y": {} matches one segment */
    int (*fn)(struct http_req *, struct http_resp *);
    unsigned flags;
};

static const struct route routes[] = {
    {"GET", "/healthz", route_healthz, ROUTE_PUBLIC},
    {"GET", "/metrics/prometheus", route_prometheus, ROUTE_PUBLIC},
    {"POST", "/api/v1/login", route_login, ROUTE_PUBLIC},
    {"POST", "/api/v1/logout", route_logout, ROUTE_AUTH},
    {"POST", "/api/v1/tokens", route_token_new, ROUTE_AUTH},
    {"GET", "/api/v1/tokens", route_tokens_list, ROUTE_AUTH},
    {"DELETE", "/api/v1/tokens/{}", route_token_delete, ROUTE_AUTH},
    {"GET", "/api/v1/feeds", route_feeds_list, ROUTE_AUTH},
    {"DELETE", "/api/v1/feeds/{}", route_feed_delete, ROUTE_AUTH},
    {"GET", "/api/v1/me", route_me, ROUTE_AUTH},
    {"GET", "/api/v1/orgs", route_orgs_list, ROUTE_AUTH},
    {"POST", "/api/v1/orgs", route_org_create, ROUTE_AUTH},
    {"GET", "/api/v1/orgs/{}", route_org_get, ROUTE_AUTH},
    {"PATCH", "/api/v1/orgs/{}", route_org_update, ROUTE_AUTH},
    {"GET", "/api/v1/orgs/{}/webhook", route_org_webhook_get, ROUTE_AUTH},
    {"PUT", "/api/v1/orgs/{}/webhook", route_org_webhook_put, ROUTE_AUTH},
    {"DELETE", "/api/v1/orgs/{}/webhook", route_org_webhook_delete, ROUTE_AUTH},
    {"GET", "/api/v1/notifications", route_notifications_list, ROUTE_AUTH},
    {"GET", "/api/v1/users", route_users_list, ROUTE_AUTH},
    {"POST", "/api/v1/users", route_user_create, ROUTE_AUTH},
    {"GET", "/api/v1/users/{}", route_user_get, ROUTE_AUTH},
    {"PATCH", "/api/v1/users/{}", route_user_update, ROUTE_AUTH},
    {"GET", "/api/v1/instruments", route_instruments_list, ROUTE_AUTH},
    {"POST", "/api/v1/instruments", route_instrument_create, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/instruments/{}", route_instrument_get, ROUTE_AUTH},
    {"PATCH", "/api/v1/instruments/{}", route_instrument_update, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/instruments/{}/availability", route_availability, ROUTE_AUTH},
    {"GET", "/api/v1/instruments/{}/outages", route_outages_list, ROUTE_AUTH},
    {"POST", "/api/v1/instruments/{}/outages", route_outage_create, ROUTE_AUTH | ROUTE_WRITE},
    {"PATCH", "/api/v1/instruments/{}/outages/{}", route_outage_update, ROUTE_AUTH | ROUTE_WRITE},
    {"DELETE", "/api/v1/instruments/{}/outages/{}", route_outage_delete, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/instruments/{}/qualifications", route_qualifications_list, ROUTE_AUTH},
    {"POST", "/api/v1/instruments/{}/qualifications", route_qualification_grant, ROUTE_AUTH},
    {"DELETE", "/api/v1/instruments/{}/qualifications/{}", route_qualification_revoke, ROUTE_AUTH},
    {"GET", "/api/v1/bookings", route_bookings_list, ROUTE_AUTH},
    {"POST", "/api/v1/bookings", route_booking_create, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/bookings/{}", route_booking_get, ROUTE_AUTH},
    {"POST", "/api/v1/bookings/{}/cancel", route_booking_cancel, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "/api/v1/bookings/{}/approve", route_booking_approve, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "/api/v1/bookings/{}/reject", route_booking_reject, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "/api/v1/bookings/{}/rating", route_booking_rating, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/orders", route_orders_list, ROUTE_AUTH},
    {"POST", "/api/v1/orders", route_order_create, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/orders/{}", route_order_get, ROUTE_AUTH},
    {"POST", "/api/v1/orders/{}/accept", route_order_accept, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "/api/v1/orders/{}/decline", route_order_decline, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "/api/v1/orders/{}/receive", route_order_receive, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "/api/v1/orders/{}/schedule", route_order_schedule, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "/api/v1/orders/{}/complete", route_order_complete, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "/api/v1/orders/{}/cancel", route_order_cancel, ROUTE_AUTH | ROUTE_WRITE},
    {"PUT", "/api/v1/orders/{}/results", route_order_results_put, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/orders/{}/results", route_order_results_get, ROUTE_AUTH},
    {"GET", "/api/v1/readings", route_readings_list, ROUTE_AUTH},
    {"GET", "/api/v1/usage", route_usage_list, ROUTE_AUTH},
    {"GET", "/api/v1/metrics", route_metrics, ROUTE_AUTH},
    {"GET", "/api/v1/evaluation", route_evaluation, ROUTE_AUTH},
    {"GET", "/api/v1/collaboration", route_collaboration, ROUTE_AUTH},
    {"GET", "/api/v1/purchase-review", route_purchase_review, ROUTE_AUTH},
    {"GET", "/api/v1/charges", route_charges_list, ROUTE_AUTH},
    {"GET", "/api/v1/statements", route_statement, ROUTE_AUTH},
    {"POST", "/api/v1/statements/close", route_statement_close, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/vouchers", route_vouchers_list, ROUTE_AUTH},
    {"POST", "/api/v1/vouchers", route_voucher_create, ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "/api/v1/gateways", route_gateways_list, ROUTE_AUTH},
    {"POST", "/api/v1/gateways", route_gateway_create, ROUTE_AUTH},
    {"GET", "/api/v1/gateways/{}", route_gateway_get, ROUTE_AUTH},
    {"PATCH", "/api/v1/gateways/{}", route_gateway_update, ROUTE_AUTH},
    {"DELETE", "/api/v1/gateways/{}", route_gateway_delete, ROUTE_AUTH},
    {"POST", "/api/v1/gateways/{}/rotate", route_gateway_rotate, ROUTE_AUTH},
    {"GET", "/api/v1/audit-log", route_audit_list, ROUTE_AUTH},
    {"GET", "/api/v1/audit-log/verify", route_audit_verify, ROUTE_AUTH},
    {"POST", "/api/v1/feeds", route_feed_create, ROUTE_AUTH},
    {"GET", "/ical/{}", route_ical, ROUTE_PUBLIC},
    {"GET", "/api/v1/catalog", route_catalog, ROUTE_PUBLIC},
    {"GET", "/api/v1/catalog/capacity", route_catalog_capacity, ROUTE_PUBLIC},
    {"GET", "/api/v1/platform", route_platform, ROUTE_PUBLIC},
    {"GET", "/api/v1/figures", route_figures, ROUTE_PUBLIC},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The query parameters each list takes besides the common ones (limit, offset, from, to,
 * month, format): anything else is refused with 400 naming it, before the handler runs. */
static const struct {
    const char *pattern;
    const char *const params[6];
} list_params[] = {
    {"/api/v1/orgs", {NULL}},
    {"/api/v1/users", {"org", NULL}},
    {"/api/v1/instruments", {"org", NULL}},
    {"/api/v1/instruments/{}/availability", {NULL}},
    {"/api/v1/instruments/{}/outages", {NULL}},
    {"/api/v1/instruments/{}/qualifications", {NULL}},
    {"/api/v1/bookings", {"status", "instrument", "user", "user_id", "org", NULL}},
    {"/api/v1/orders", {"status", "instrument", "user_id", NULL}},
    {"/api/v1/notifications", {"state", NULL}},
    {"/api/v1/orders/{}/results", {"name", NULL}},
    {"/api/v1/readings", {"instrument", "refused", NULL}},
    {"/api/v1/usage", {"instrument", "user_id", NULL}},
    {"/api/v1/metrics", {"by", "org", NULL}},
    {"/api/v1/evaluation", {"year", "by", "org", NULL}},
    {"/api/v1/collaboration", {NULL}},
    {"/api/v1/purchase-review", {"category", "region", "value_yuan", "expected_hours", NULL}},
    {"/api/v1/charges", {"org", "owner_org", "instrument", NULL}},
    {"/api/v1/statements", {"org", "owner_org", NULL}},
    {"/api/v1/vouchers", {NULL}},
    {"/api/v1/gateways", {NULL}},
    {"/api/v1/audit-log", {"object", "actor", "action", NULL}},
    {"/api/v1/catalog", {"q", "category", NULL}},
    {"/api/v1/catalog/capacity", {NULL}},
    {"/api/v1/figures", {"year", NULL}},
    {"/api/v1/tokens", {NULL}},
    {"/api/v1/feeds", {NULL}},
};

/* Latency buckets of /metrics/prometheus, seconds. */
static const double buckets[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct route_stats {
    uint64_t count[6]; /* by status class: 1xx..5xx, index 1..5 */
    uint64_t le[NBUCKETS];
    double sum_s;
};

struct http {
    struct MHD_Daemon *d;
    const struct srv_config *cfg;
    struct broker *broker;
    struct writer *writer; /* the ROUTE_WRITE handlers' */
    pthread_mutex_t lock;
    struct store *stores[MAX_STORES]; /* one per libmicrohttpd thread, closed at stop */
    size_t store_count;
    struct route_stats stats[NROUTES + 1]; /* the last: no route matched */
    void (*metrics_text)(void *arg, struct ls_buf *out);
    void *metrics_arg;
    struct web *web; /* the UI's files, read once at start */
    int tls;         /* HTTPS: cookies are Secure, answers carry HSTS */
    char *cert_pem, *key_pem;
    /* slow and greedy clients (conn_guard.h), swept by their own thread */
    struct conn_guard *guard;
    pthread_t sweeper;
    int sweeper_running, stopping;
    pthread_cond_t wake;
};

/* The server's http, for the prometheus route (one server per process). */
static struct http *the_http;

static _Thread_local struct store *thread_store;

static const struct {
    int rc;
    unsigned status;
} status_table[] = {
    {LS_OK, 200},           {LS_ERR_INVAL, 400},  {LS_ERR_AUTH, 401},     {LS_ERR_DENIED, 403},
    {LS_ERR_NOTFOUND, 404}, {LS_ERR_METHOD, 405}, {LS_ERR_CONFLICT, 409}, {LS_ERR_TOOBIG, 413},
    {LS_ERR_RULE, 422},     {LS_ERR_LIMIT, 429},  {LS_ERR_FULL, 503},     {LS_ERR_TIMEOUT, 504},
};

unsigned http_status_of(int rc)
{
    for (size_t i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
        if (status_table[i].rc == rc)
            return status_table[i].status;
    return 500;
}

int http_json(struct http_resp *resp, unsigned status, json_t *body)
{
    /* 12 significant digits: figures are rounded before (4 decimals), so 0.0517 stays 0.0517 */
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;

    json_decref(body);
    if (!s)
        return LS_ERR_NOMEM;
    free(resp->body);
    resp->status = status;
    resp->body = s;
    resp->len = strlen(s);
    resp->content_type = "application/json; charset=utf-8";
    return LS_OK;
}

int http_error(struct http_resp *resp, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return http_json(resp, http_status_of(rc),
                     json_pack("{s:s, s:s}", "error", ls_rc_name((enum ls_rc)rc), "message", msg));
}

const char *http_query(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int http_list_args(struct http_req *req, struct http_resp *resp, int64_t def, int64_t max,
                   int64_t *limit, int64_t *offset, int64_t *from_ms, int64_t *to_ms)
{
    const char *v;

    *limit = def;
    *offset = 0;
    *from_ms = INT64_MIN;
    *to_ms = INT64_MAX;
    if ((v = http_query(req, "limit")) && ls_parse_i64(v, 1, max, limit)) {
        http_error(resp, LS_ERR_INVAL, "limit must be a whole number from 1 to %lld",
                   (long long)max);
        return LS_ERR_INVAL;
    }
    if ((v = http_query(req, "offset")) && ls_parse_i64(v, 0, INT64_MAX / 2, offset)) {
        http_error(resp, LS_ERR_INVAL, "offset must be a whole number, 0 or more");
        return LS_ERR_INVAL;
    }
    if ((v = http_query(req, "from")) && ls_time_parse(v, from_ms)) {
        http_error(resp, LS_ERR_INVAL, "from must be an RFC 3339 time or a YYYY-MM-DD date");
        return LS_ERR_INVAL;
    }
    if ((v = http_query(req, "to")) && ls_time_parse(v, to_ms)) {
        http_error(resp, LS_ERR_INVAL, "to must be an RFC 3339 time or a YYYY-MM-DD date");
        return LS_ERR_INVAL;
    }
    if ((v = http_query(req, "month"))) {
        if (http_query(req, "from") || http_query(req, "to")) {
            http_error(resp, LS_ERR_INVAL, "give month, or from and to, not both");
            return LS_ERR_INVAL;
        }
        if (http_month_range(v, from_ms, to_ms)) {
            http_error(resp, LS_ERR_INVAL, "month must be YYYY-MM (in the platform time zone)");
            return LS_ERR_INVAL;
        }
    }
    if (*from_ms > *to_ms) {
        http_error(resp, LS_ERR_INVAL, "from is after to");
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

int http_month_range(const char *month, int64_t *from_ms, int64_t *to_ms)
{
    char first[32], next[32];
    int y, m;

    if (!month || strlen(month) != 7 || month[4] != '-' || strspn(month, "0123456789-") != 7 ||
        sscanf(month, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12 || y < 1970 || y > 2999)
        return LS_ERR_INVAL;
    snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
    snprintf(next, sizeof(next), "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    return ls_time_parse(first, from_ms) || ls_time_parse(next, to_ms) ? LS_ERR_INVAL : LS_OK;
}

struct query_check {
    const char *const *allowed;
    char bad[64];
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    static const char *const common[] = {"limit", "offset", "from", "to", "month", "format", NULL};
    struct query_check *c = cls;

    (void)kind;
    (void)value;
    for (size_t i = 0; common[i]; i++)
        if (strcmp(key, common[i]) == 0)
            return MHD_YES;
    for (size_t i = 0; c->allowed && c->allowed[i]; i++)
        if (strcmp(key, c->allowed[i]) == 0)
            return MHD_YES;
    snprintf(c->bad, sizeof(c->bad), "%.60s", key);
    return MHD_NO;
}

/* Refuse (400 naming it, LS_ERR_INVAL) a query parameter that is neither a common list argument
 * nor in the NULL-terminated list allowed. */
static int only_query(struct http_req *req, struct http_resp *resp, const char *const *allowed)
{
    struct query_check c = {allowed, ""};
    char list[256] = "limit, offset, from, to, month, format";
    size_t len = strlen(list);

    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_arg, &c);
    if (!c.bad[0])
        return LS_OK;
    for (size_t i = 0; allowed && allowed[i] && len < sizeof(list); i++) {
        int w = snprintf(list + len, sizeof(list) - len, ", %s", allowed[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    http_error(resp, LS_ERR_INVAL, "unknown query parameter '%s' (this list takes %s)", c.bad,
               list);
    return LS_ERR_INVAL;
}

/* Match path against pattern, capturing {} segments into req->params. */
static int match(const char *pattern, const char *path, struct http_req *req)
{
    size_t used = 0;
    int np = 0;

    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            const char *end = strchr(path, '/');
            size_t n = end ? (size_t)(end - path) : strlen(path);
            if (n == 0 || np >= HTTP_MAX_PARAMS || used + n + 1 > sizeof(req->param_buf))
                return 0;
            memcpy(req->param_buf + used, path, n);
            req->param_buf[used + n] = '\0';
            req->params[np++] = req->param_buf + used;
            used += n + 1;
            path += n;
            pattern += 2;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

static struct store *get_store(struct http *h)
{
    struct store *st = NULL;

    if (thread_store)
        return thread_store;
    pthread_mutex_lock(&h->lock);
    if (h->store_count < MAX_STORES && store_open(h->cfg->db, &st) == LS_OK)
        h->stores[h->store_count++] = st;
    pthread_mutex_unlock(&h->lock);
    thread_store = st;
    return st;
}

/* Authenticate: a bearer token, or a session cookie (whose writes need the CSRF header). */
static int authenticate(struct http_req *req, struct http_resp *resp)
{
    const char *authz =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *cookie = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "ls_session");
    int rc;

    if (authz)
        rc = auth_bearer(req->st, authz, &req->who);
    else if (cookie)
        rc = auth_session(req->st, cookie, &req->who);
    else
        rc = LS_ERR_AUTH;
    if (rc) {
        http_error(resp, rc,
                   rc == LS_ERR_AUTH ? "log in, or send a valid bearer token"
                                     : "authentication failed");
        return rc;
    }
    if (req->who.session && strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
        !auth_csrf_ok(&req->who,
                      MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-CSRF-Token"))) {
        http_error(resp, LS_ERR_DENIED,
                   "a write with a session cookie needs the X-CSRF-Token "
                   "header given at login");
        return LS_ERR_DENIED;
    }
    req->authenticated = 1;
    return LS_OK;
}

struct route_call {
    const struct route *route;
    struct http_req *req;
    struct http_resp *resp;
};

static int run_route(struct store *st, void *arg)
{
    struct route_call *c = arg;

    c->req->st = st;
    return c->route->fn(c->req, c->resp);
}

/* Run a ROUTE_WRITE handler on the writer; answer only when its group is durable (a 201 is never
 * given for a booking a crash could lose), else 503 and nothing is kept. */
static int write_route(struct http *h, const struct route *route, struct http_req *req,
                       struct http_resp *resp)
{
    struct route_call c = {route, req, resp};
    struct store *own = req->st;
    int committed, rc = writer_run(h->writer, run_route, &c, &committed);

    req->st = own;
    if (committed)
        return rc;
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
    resp->retry_after = 1;
    return http_error(resp, LS_ERR_DB, "cannot record the change; try again");
}

static void dispatch(struct http *h, struct http_req *req, struct http_resp *resp,
                     size_t *route_index)
{
    const struct route *found = NULL;
    int path_known = 0;
    int rc;

    if (req->body_too_big) {
        http_error(resp, LS_ERR_TOOBIG, "request body over %zu bytes", req->body_cap);
        return;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!match(routes[i].pattern, req->path, req))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, req->method) == 0) {
            found = &routes[i];
            *route_index = i;
            break;
        }
    }
    if (!found) {
        if (path_known)
            http_error(resp, LS_ERR_METHOD, "method not allowed on this path");
        else
            http_error(resp, LS_ERR_NOTFOUND, "no such path");
        return;
    }
    req->st = get_store(h);
    if (!req->st) {
        http_error(resp, LS_ERR_DB, "database unavailable");
        return;
    }
    if ((found->flags & ROUTE_AUTH) && authenticate(req, resp))
        return;
    if (strcmp(found->method, "GET") == 0)
        for (size_t i = 0; i < sizeof(list_params) / sizeof(list_params[0]); i++)
            if (strcmp(list_params[i].pattern, found->pattern) == 0 &&
                only_query(req, resp, list_params[i].params))
                return;
    if (found->flags & ROUTE_WRITE)
        rc = write_route(h, found, req, resp);
    else {
        rc = found->fn(req, resp);
        store_rollback(req->st); /* a handler that failed mid-transaction leaves nothing behind */
    }
    if (rc && !resp->body)
        http_error(resp, rc, "%s", ls_strerror((enum ls_rc)rc));
}

/* The UI's pages may load scripts, styles, images and data from this server only; nothing
 * inline, nothing framed. The API's answers are data and may load nothing at all. */
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "                    \
    "form-action 'self'; frame-ancestors 'none'"
#define API_CSP "default-src 'none'; frame-ancestors 'none'"

/* Under HTTPS: browsers keep to HTTPS for a year (HSTS). */
static void add_tls_headers(struct MHD_Response *r)
{
    if (the_http && the_http->tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
}

/* A Set-Cookie header; Secure under HTTPS, so the browser never sends it in clear. */
static void add_cookie(struct MHD_Response *r, const char *cookie, int https)
{
    char c[300];

    if (!cookie[0])
        return;
    snprintf(c, sizeof(c), "%s%s", cookie, https ? "; Secure" : "");
    MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, c);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct http_resp *resp, int https)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (!resp->body) {
        static const char oom[] = "{\"error\":\"nomem\",\"message\":\"out of memory\"}";
        r = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        resp->status = 500;
        resp->content_type = "application/json; charset=utf-8";
    } else {
        r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        resp->body = NULL; /* libmicrohttpd frees it */
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "Content-Security-Policy", API_CSP);
    add_cookie(r, resp->set_cookie, https);
    add_cookie(r, resp->set_cookie2, https);
    add_tls_headers(r);
    if (resp->content_disposition[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, resp->content_disposition);
    if (resp->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", resp->retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (resp->status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    ret = MHD_queue_response(conn, resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void client_addr(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    buf[0] = '\0';
    if (ci && ci->client_addr &&
        getnameinfo(ci->client_addr,
                    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in),
                    buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
        buf[0] = '\0';
}

static void count_request(struct http *h, size_t ri, unsigned status, double secs)
{
    struct route_stats *s = &h->stats[ri];
    unsigned cls = status / 100;

    pthread_mutex_lock(&h->lock);
    if (cls >= 1 && cls <= 5)
        s->count[cls]++;
    for (size_t b = 0; b < NBUCKETS; b++)
        if (secs <= buckets[b])
            s->le[b]++;
    s->sum_s += secs;
    pthread_mutex_unlock(&h->lock);
}

int route_prometheus(struct http_req *req, struct http_resp *resp)
{
    struct http *h = the_http;
    struct ls_buf b;
    int rc = LS_OK;

    (void)req;
    ls_buf_init(&b, 4 * 1024 * 1024);
    rc |= ls_buf_adds(&b, "# HELP labshare_http_requests_total HTTP requests by route and "
                          "status class.\n# TYPE labshare_http_requests_total counter\n");
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i <= NROUTES; i++) {
        const char *m = i < NROUTES ? routes[i].method : "ANY";
        const char *p = i < NROUTES ? routes[i].pattern : "unmatched";
        for (unsigned c = 1; c <= 5; c++)
            if (h->stats[i].count[c])
                rc |= ls_buf_printf(&b,
                                    "labshare_http_requests_total{method=\"%s\",route=\"%s\","
                                    "status=\"%uxx\"} %llu\n",
                                    m, p, c, (unsigned long long)h->stats[i].count[c]);
    }
    rc |= ls_buf_adds(&b, "# HELP labshare_http_request_seconds Time to answer, by route.\n"
                          "# TYPE labshare_http_request_seconds histogram\n");
    for (size_t i = 0; i <= NROUTES; i++) {
        uint64_t total = 0;
        const char *m = i < NROUTES ? routes[i].method : "ANY";
        const char *p = i < NROUTES ? routes[i].pattern : "unmatched";
        for (unsigned c = 1; c <= 5; c++)
            total += h->stats[i].count[c];
        if (!total)
            continue;
        for (size_t k = 0; k < NBUCKETS; k++)
            rc |= ls_buf_printf(&b,
                                "labshare_http_request_seconds_bucket{method=\"%s\",route=\"%s\","
                                "le=\"%g\"} %llu\n",
                                m, p, buckets[k], (unsigned long long)h->stats[i].le[k]);
        rc |= ls_buf_printf(&b,
                            "labshare_http_request_seconds_bucket{method=\"%s\",route=\"%s\","
                            "le=\"+Inf\"} %llu\n"
                            "labshare_http_request_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
                            "labshare_http_request_seconds_count{method=\"%s\",route=\"%s\"} "
                            "%llu\n",
                            m, p, (unsigned long long)total, m, p, h->stats[i].sum_s, m, p,
                            (unsigned long long)total);
    }
    pthread_mutex_unlock(&h->lock);
    {
        struct writer_stats ws;
        writer_get_stats(h->writer, &ws);
        rc |= ls_buf_printf(
            &b,
            "# HELP labshare_writer_writes_total API writes run by the writer (group commit).\n"
            "# TYPE labshare_writer_writes_total counter\nlabshare_writer_writes_total %llu\n"
            "# HELP labshare_writer_groups_total Transactions the writer committed or tried.\n"
            "# TYPE labshare_writer_groups_total counter\nlabshare_writer_groups_total %llu\n"
            "# HELP labshare_writer_failed_total Writes in groups that could not commit.\n"
            "# TYPE labshare_writer_failed_total counter\nlabshare_writer_failed_total %llu\n"
            "# HELP labshare_writer_queued Writes waiting for the writer now.\n"
            "# TYPE labshare_writer_queued gauge\nlabshare_writer_queued %llu\n",
            (unsigned long long)ws.writes, (unsigned long long)ws.groups,
            (unsigned long long)ws.failed, (unsigned long long)ws.queued);
    }
    {
        struct conn_guard_stats gs;
        uint64_t ok, failed;
        auth_login_counts(&ok, &failed);
        rc |= ls_buf_printf(&b,
                            "# HELP labshare_logins_total Logins by result.\n"
                            "# TYPE labshare_logins_total counter\n"
                            "labshare_logins_total{result=\"success\"} %llu\n"
                            "labshare_logins_total{result=\"failure\"} %llu\n",
                            (unsigned long long)ok, (unsigned long long)failed);
        conn_guard_stats(h->guard, &gs);
        rc |= ls_buf_printf(
            &b,
            "# HELP labshare_http_connections_cut_total Connections shut for trickling their "
            "request, by what was slow.\n# TYPE labshare_http_connections_cut_total counter\n"
            "labshare_http_connections_cut_total{slow=\"headers\"} %llu\n"
            "labshare_http_connections_cut_total{slow=\"body\"} %llu\n"
            "# HELP labshare_http_connections_refused_total Connections refused to an address "
            "holding its share.\n# TYPE labshare_http_connections_refused_total counter\n"
            "labshare_http_connections_refused_total{limit=\"address\"} %llu\n"
            "labshare_http_connections_refused_total{limit=\"fair_share\"} %llu\n",
            (unsigned long long)gs.cut_headers, (unsigned long long)gs.cut_body,
            (unsigned long long)gs.refused_address, (unsigned long long)gs.refused_fair);
    }
    if (h->metrics_text)
        h->metrics_text(h->metrics_arg, &b);
    if (rc) {
        ls_buf_release(&b);
        return LS_ERR_NOMEM;
    }
    resp->status = 200;
    resp->len = b.len;
    resp->body = ls_buf_detach(&b);
    if (!resp->body) {
        resp->body = strdup("");
        resp->len = 0;
    }
    resp->content_type = "text/plain; version=0.0.4";
    return LS_OK;
}

static int is_api_path(const char *path)
{
    return strncmp(path, "/api/", 5) == 0 || strncmp(path, "/ical/", 6) == 0 ||
           strcmp(path, "/healthz") == 0 || strncmp(path, "/metrics/", 9) == 0;
}

static int accepts_gzip(struct MHD_Connection *conn)
{
    const char *ae =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);

    return ae && strstr(ae, "gzip") != NULL;
}

/* A file of the UI: precompressed when the client takes gzip, 304 when it has this version. */
static enum MHD_Result send_web(struct MHD_Connection *conn, const struct web_file *f)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    int not_modified = inm && strcmp(inm, f->etag) == 0;
    int gz = !not_modified && f->gz && accepts_gzip(conn);
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (not_modified)
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else
        r = MHD_create_response_from_buffer(gz ? f->gz_len : f->len, (void *)(gz ? f->gz : f->body),
                                            MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    if (gz)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, f->etag);
    /* Packages live under a versioned folder, so a day's caching is safe; our own files are
     * revalidated on every load (a 304 costs one round trip). */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            f->long_lived ? "public, max-age=86400" : "no-cache");
    MHD_add_response_header(r, "Content-Security-Policy", UI_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    add_tls_headers(r);
    ret = MHD_queue_response(conn, not_modified ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* The guard's record of a connection (set when it began), or NULL. */
static struct guarded *guarded_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http *h = cls;
    struct http_req *req = *con_cls;
    struct http_resp resp;
    enum MHD_Result ret;
    size_t ri = NROUTES;
    int64_t t0;

    (void)version;
    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        /* an order's results file is the one body larger than a JSON request */
        req->body_cap = strcmp(method, "PUT") == 0 && match("/api/v1/orders/{}/results", url, req)
                            ? (size_t)h->cfg->results_max_kb * 1024
                            : HTTP_BODY_MAX;
        ls_buf_init(&req->body, req->body_cap);
        *con_cls = req;
        conn_guard_headers_done(h->guard, guarded_of(conn), ls_mono_ms());
        return MHD_YES;
    }
    if (*upload_data_size) {
        conn_guard_body(h->guard, guarded_of(conn), *upload_data_size);
        /* Past the cap, keep reading (and discarding) so the client gets a clean 413. */
        if (!req->body_too_big && ls_buf_add(&req->body, upload_data, *upload_data_size))
            req->body_too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    conn_guard_handling(h->guard, guarded_of(conn));
    if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && !is_api_path(url)) {
        const struct web_file *f = web_find(h->web, url);
        if (f)
            return send_web(conn, f);
    }
    req->method = method;
    req->path = url;
    req->conn = conn;
    req->cfg = h->cfg;
    req->broker = h->broker;
    client_addr(conn, req->addr, sizeof(req->addr));
    req->https = h->tls;
    if (forwarded_trusted(h->cfg->trusted_proxies, req->addr)) {
        const char *proto = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
        char peer[sizeof(req->addr)];
        memcpy(peer, req->addr, sizeof(peer));
        forwarded_client(h->cfg->trusted_proxies, peer,
                         MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"),
                         req->addr, sizeof(req->addr));
        req->https |= proto && strcmp(proto, "https") == 0;
    }
    memset(&resp, 0, sizeof(resp));
    t0 = ls_mono_ms();
    dispatch(h, req, &resp, &ri);
    ret = send_resp(conn, &resp, req->https);
    free(resp.body);
    count_request(h, ri, resp.status, (double)(ls_mono_ms() - t0) / 1000.0);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_req *req = *con_cls;
    struct http *h = cls;

    (void)toe;
    conn_guard_answered(h->guard, guarded_of(conn), ls_mono_ms());
    if (!req)
        return;
    ls_buf_release(&req->body);
    free(req);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    ls_warn("http: %s", msg);
}

/* A connection offered: refused when its address holds its share (conn_guard.h). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct http *h = cls;
    char text[64];

    if (getnameinfo(addr, len, text, sizeof(text), NULL, 0, NI_NUMERICHOST) != 0)
        text[0] = 0;
    return conn_guard_admit(h->guard, text, ls_mono_ms()) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http *h = cls;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        char addr[64];
        client_addr(conn, addr, sizeof(addr));
        *socket_context = fd ? conn_guard_open(h->guard, fd->connect_fd, addr, ls_mono_ms()) : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_guard_close(h->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* Cut trickling connections twice a second. */
static void *sweep_main(void *arg)
{
    struct http *h = arg;

    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        struct timespec until;
        pthread_mutex_unlock(&h->lock);
        if (conn_guard_sweep(h->guard, ls_mono_ms()))
            ls_info("http: cut a connection that trickled its request");
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 500 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&h->lock);
        if (!h->stopping)
            pthread_cond_timedwait(&h->wake, &h->lock, &until);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* A PEM file, read whole (at most 1 MiB), NUL-terminated; NULL with a logged reason. */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    if (!f) {
        ls_error("http: cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc((size_t)1024 * 1024 + 1);
    if (buf) {
        n = fread(buf, 1, (size_t)1024 * 1024, f);
        buf[n] = 0;
        if (ferror(f) || n == 0 || !feof(f) || !strstr(buf, "-----BEGIN ")) {
            ls_error("http: %s is not a PEM file of at most 1 MiB", path);
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* What http_start() made besides the daemon and the stores (the key wiped). */
static void release(struct http *h)
{
    writer_stop(h->writer);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->wake);
    conn_guard_free(h->guard);
    web_free(h->web);
    free(h->cert_pem);
    if (h->key_pem)
        sodium_memzero(h->key_pem, strlen(h->key_pem));
    free(h->key_pem);
    free(h);
}

int http_start(const struct srv_config *cfg, struct broker *broker,
               void (*metrics_text)(void *arg, struct ls_buf *out), void *metrics_arg,
               struct http **out)
{
    struct http *h = calloc(1, sizeof(*h));
    struct addrinfo hints, *ai = NULL;
    char port[8];
    int gai;

    if (!h)
        return LS_ERR_NOMEM;
    h->cfg = cfg;
    h->broker = broker;
    h->metrics_text = metrics_text;
    h->metrics_arg = metrics_arg;
    if (web_load(cfg->web_root, &h->web)) {
        free(h);
        return LS_ERR_IO;
    }
    if (writer_start(cfg->db, &h->writer)) {
        ls_error("http: cannot open the database for writing");
        web_free(h->web);
        free(h);
        return LS_ERR_IO;
    }
    the_http = h;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    h->guard = conn_guard_new((size_t)cfg->max_connections, (size_t)cfg->max_per_address);
    if (!h->guard)
        goto fail;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%d", cfg->listen_port);
    gai = getaddrinfo(cfg->listen_host, port, &hints, &ai);
    if (gai) {
        ls_error("http: cannot resolve %s: %s", cfg->listen_host, gai_strerror(gai));
        goto fail;
    }
    if (cfg->certfile[0]) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            ls_error("http: this libmicrohttpd has no TLS support; [server] certfile needs it");
            freeaddrinfo(ai);
            goto fail;
        }
        h->cert_pem = read_pem(cfg->certfile);
        h->key_pem = read_pem(cfg->keyfile);
        if (!h->cert_pem || !h->key_pem) {
            freeaddrinfo(ai);
            goto fail;
        }
        h->tls = 1;
    }
    {
        struct MHD_OptionItem tls_opts[] = {
            {h->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, h->cert_pem},
            {MHD_OPTION_HTTPS_MEM_KEY, 0, h->key_pem},
            {MHD_OPTION_END, 0, NULL},
        };
        h->d = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0) | (h->tls ? MHD_USE_TLS : 0),
            (uint16_t)cfg->listen_port, on_accept, h, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
            on_mhd_log, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
            (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_ARRAY,
            tls_opts, MHD_OPTION_END);
    }
    freeaddrinfo(ai);
    if (!h->d) {
        ls_error("http: cannot listen on %s:%d%s", cfg->listen_host, cfg->listen_port,
                 h->tls ? " with TLS (is the key the certificate's, both PEM?)" : "");
        goto fail;
    }
    ls_info("http: listening on %s://%s:%d/", h->tls ? "https" : "http", cfg->listen_host,
            cfg->listen_port);
    if (pthread_create(&h->sweeper, NULL, sweep_main, h) == 0)
        h->sweeper_running = 1;
    *out = h;
    return LS_OK;
fail:
    release(h);
    return LS_ERR_IO;
}

void http_stop(struct http *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    if (h->sweeper_running)
        pthread_join(h->sweeper, NULL);
    MHD_stop_daemon(h->d);
    for (size_t i = 0; i < h->store_count; i++)
        store_close(h->stores[i]);
    release(h);
}

int http_body_json(struct http_req *req, struct http_resp *resp, json_t **out)
{
    json_error_t jerr;
    json_t *o;
    int oom = 0;

    *out = NULL;
    if (req->body.len == 0) {
        http_error(resp, LS_ERR_INVAL, "a JSON object body is required");
        return LS_ERR_INVAL;
    }
    /* never a body cut short by a failed allocation (json_guard.h), acted on as if sent */
    o = ls_json_loadb(ls_buf_str(&req->body), req->body.len, JSON_REJECT_DUPLICATES, &jerr, &oom);
    if (!o && oom) {
        http_error(resp, LS_ERR_NOMEM, "out of memory while reading the body; try again");
        return LS_ERR_NOMEM;
    }
    if (!o) {
        http_error(resp, LS_ERR_INVAL, "malformed JSON at line %d column %d: %s", jerr.line,
                   jerr.column, jerr.text);
        return LS_ERR_INVAL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        http_error(resp, LS_ERR_INVAL, "the body must be a JSON object");
        return LS_ERR_INVAL;
    }
    *out = o;
    return LS_OK;
}

int http_only_keys(struct http_resp *resp, const json_t *obj, const char *const *keys)
{
    char why[100];

    if (req_only_keys(obj, keys, why, sizeof(why)))
        return http_error(resp, LS_ERR_INVAL, "%s", why), LS_ERR_INVAL;
    return LS_OK;
}

int http_is_admin(const struct http_req *req)
{
    return req->authenticated && strcmp(req->who.role, "admin") == 0;
}

int http_is_auditor(const struct http_req *req)
{
    return req->authenticated && strcmp(req->who.role, "auditor") == 0;
}

int http_manages(const struct http_req *req, int64_t org_id)
{
    return http_is_admin(req) || (req->authenticated && strcmp(req->who.role, "manager") == 0 &&
                                  req->who.org_id == org_id && org_id > 0);
}

int http_audit(struct http_req *req, const char *action, const char *object, const json_t *before,
               const json_t *after)
{
    struct audit_actor who = {req->who.session ? "user" : "token", "", req->who.user_id,
                              req->who.username};

    /* a session acts as its user; a bearer token as itself, on behalf of its owner */
    snprintf(who.id, sizeof(who.id), "%lld",
             (long long)(req->who.session ? req->who.user_id : req->who.cred_id));
    return store_audit_append(req->st, ls_now_ms(), &who, action, object, before, after);
}

static int reply_json(void *arg, const json_t *after, const json_t *extra)
{
    struct http_reply *r = arg;
    json_t *answer = extra ? json_copy((json_t *)after) : json_incref((json_t *)after);

    /* extra: keys for the answer only (a shallow copy keeps them out of the audited object) */
    if (!answer || (extra && json_object_update(answer, (json_t *)extra))) {
        json_decref(answer);
        return LS_ERR_NOMEM;
    }
    return http_json(r->resp, r->status, answer);
}

void http_service(struct http_req *req, struct http_resp *resp, unsigned status, struct service *sv,
                  struct http_reply *reply)
{
    service_init(sv, req->st, &req->who, (int64_t)req->cfg->merge_gap_s * 1000,
                 req->cfg->no_show_min_run_s);
    req->notify.mail = req->cfg->mail_host[0] != '\0';
    req->notify.platform = req->cfg->platform_name;
    req->notify.link = req->cfg->public_url;
    sv->notify = &req->notify;
    reply->resp = resp;
    reply->status = status;
    sv->reply = reply_json;
    sv->reply_arg = reply;
}

int http_rule_error(struct http_resp *resp, const char *rule, const char *msg)
{
    return http_json(resp, http_status_of(LS_ERR_RULE),
                     json_pack("{s:s, s:s, s:s}", "error", ls_rc_name(LS_ERR_RULE), "rule", rule,
                               "message", msg));
}

static int outcome_error(struct http_resp *resp, const struct outcome *out)
{
    if (out->rule && out->limit >= 0)
        return http_json(resp, http_status_of(LS_ERR_RULE),
                         json_pack("{s:s, s:s, s:I, s:s}", "error", ls_rc_name(LS_ERR_RULE), "rule",
                                   out->rule, "limit", (json_int_t)out->limit, "message",
                                   out->why));
    if (out->rule)
        return http_rule_error(resp, out->rule, out->why);
    if (out->rc == LS_ERR_CONFLICT && out->conflict)
        return http_json(resp, http_status_of(LS_ERR_CONFLICT),
                         json_pack("{s:s, s:s, s:I}", "error", ls_rc_name(LS_ERR_CONFLICT),
                                   "message", out->why, "conflict", (json_int_t)out->conflict));
    return http_error(resp, out->rc, "%s", out->why);
}

int http_outcome(struct http_resp *resp, int rc, struct outcome *out)
{
    /* LS_OK: the reply hook answered before the commit */
    if (rc)
        outcome_error(resp, out);
    outcome_free(out);
    return LS_OK;
}

int http_created(struct http_resp *resp, json_t *obj)
{
    return http_json(resp, 201, obj);
}

/* A plain value for a CSV cell: a string as is, a number or boolean as JSON writes it, an array
 * as its elements joined by ';' (an inner array's by '-', e.g. service hours 08:00-18:00).
 * Objects are flattened into columns before (flatten()). */
static int csv_text(struct ls_buf *out, const json_t *v, const char *sep)
{
    size_t i;
    json_t *e;
    char *text;
    int rc = LS_OK;

    if (!v || json_is_null(v))
        return LS_OK;
    if (json_is_string(v))
        return ls_buf_adds(out, json_string_value(v));
    if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            rc |= i ? ls_buf_adds(out, sep) : LS_OK;
            rc |= csv_text(out, e, "-");
        }
        return rc;
    }
    text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(12));
    rc = ls_buf_adds(out, text ? text : "");
    free(text);
    return rc;
}

/* Copy the object o into flat with nested objects as dotted keys (billing.rates.internal). */
static void flatten(json_t *flat, const json_t *o, const char *prefix)
{
    const char *key;
    json_t *v;
    char name[256];

    json_object_foreach((json_t *)o, key, v)
    {
        snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", key);
        if (json_is_object(v))
            flatten(flat, v, name);
        else
            json_object_set(flat, name, v);
    }
}

/* Append v to b as one CSV field (RFC 4180: quoted when it holds a comma, quote or newline, or
 * when it is text neutralised against formula injection). */
static int csv_field(struct ls_buf *b, const json_t *v)
{
    struct ls_buf cell;
    const char *s;
    int rc = LS_OK;

    if (json_is_null(v) || !v)
        return LS_OK;
    ls_buf_init(&cell, 1024 * 1024);
    if (csv_text(&cell, v, ";")) {
        ls_buf_release(&cell);
        return LS_ERR_NOMEM;
    }
    s = cell.data ? cell.data : "";
    /* OWASP's rule against formula injection: text that a spreadsheet would read as a formula
     * (= + - @, a tab or a carriage return first) gets a leading apostrophe; numbers stay. */
    if ((json_is_string(v) || json_is_array(v)) && s[0] && strchr("=+-@\t\r", s[0])) {
        rc |= ls_buf_adds(b, "\"'");
        for (const char *p = s; *p && !rc; p++)
            rc |= *p == '"' ? ls_buf_adds(b, "\"\"") : ls_buf_add(b, p, 1);
        rc |= ls_buf_adds(b, "\"");
    } else if (strpbrk(s, ",\"\r\n")) {
        rc |= ls_buf_adds(b, "\"");
        for (const char *p = s; *p && !rc; p++)
            rc |= *p == '"' ? ls_buf_adds(b, "\"\"") : ls_buf_add(b, p, 1);
        rc |= ls_buf_adds(b, "\"");
    } else {
        rc = ls_buf_adds(b, s);
    }
    ls_buf_release(&cell);
    return rc;
}

int http_list(struct http_req *req, struct http_resp *resp, json_t *items, int64_t total,
              const char *csv_name)
{
    const char *format = http_query(req, "format");
    struct ls_buf b;
    json_t *first, *v;
    const char *key;
    size_t i;
    int rc = LS_OK;

    if (!format || strcmp(format, "json") == 0)
        return http_json(resp, 200,
                         json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total));
    if (strcmp(format, "csv") != 0 || !csv_name) {
        json_decref(items);
        return http_error(resp, LS_ERR_INVAL, "format must be json%s", csv_name ? " or csv" : "");
    }
    ls_buf_init(&b, 64 * 1024 * 1024);
    /* one plain value per cell: nested objects become dotted columns */
    {
        json_t *flat = json_array();
        json_array_foreach(items, i, v)
        {
            json_t *o = json_object();
            flatten(o, v, "");
            json_array_append_new(flat, o);
        }
        json_decref(items);
        items = flat;
    }
    first = json_array_get(items, 0);
    if (first) {
        int col = 0;
        json_object_foreach(first, key, v)
        {
            (void)v;
            rc |= ls_buf_adds(&b, col++ ? "," : "");
            rc |= ls_buf_adds(&b, key);
        }
        rc |= ls_buf_adds(&b, "\r\n");
    }
    json_array_foreach(items, i, v)
    {
        int col = 0;
        json_t *f;
        json_object_foreach(first, key, f)
        {
            (void)f;
            rc |= ls_buf_adds(&b, col++ ? "," : "");
            rc |= csv_field(&b, json_object_get(v, key));
        }
        rc |= ls_buf_adds(&b, "\r\n");
    }
    json_decref(items);
    if (rc) {
        ls_buf_release(&b);
        return LS_ERR_NOMEM;
    }
    resp->status = 200;
    resp->len = b.len;
    resp->body = b.len ? ls_buf_detach(&b) : strdup("");
    resp->content_type = "text/csv; charset=utf-8";
    snprintf(resp->content_disposition, sizeof(resp->content_disposition),
             "attachment; filename=\"%s.csv\"", csv_name);
    return LS_OK;
}

const char *http_cookie(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

int http_commit_audited_reply(struct http_req *req, struct http_resp *resp, const char *action,
                              const char *object, json_t *before, json_t *after,
                              json_t *reply_extra, unsigned status)
{
    int rc = http_audit(req, action, object, before, after);

    json_decref(before);
    /* the answer is made before the commit: a change is never committed and then answered with
     * an error because the answer could not be made (out of memory) */
    if (rc == LS_OK && reply_extra && json_object_update(after, reply_extra))
        rc = LS_ERR_NOMEM;
    json_decref(reply_extra);
    if (rc == LS_OK)
        rc = http_json(resp, status, after);
    else
        json_decref(after);
    if (rc == LS_OK)
        rc = store_commit(req->st);
    if (rc) {
        store_rollback(req->st);
        return http_error(resp, rc, "cannot record the change");
    }
    return LS_OK;
}

int http_commit_audited(struct http_req *req, struct http_resp *resp, const char *action,
                        const char *object, json_t *before, json_t *after, unsigned status)
{
    return http_commit_audited_reply(req, resp, action, object, before, after, NULL, status);
}

int http_scope(struct http_req *req, struct http_resp *resp, const char **instrument,
               int64_t *user_id, int64_t *org_id)
{
    const char *v;

    *instrument = http_query(req, "instrument");
    if (*instrument && !ls_id_valid(*instrument)) {
        http_error(resp, LS_ERR_INVAL, "instrument is not a valid id");
        return LS_ERR_INVAL;
    }
    if ((v = http_query(req, "user_id")) && ls_parse_i64(v, 1, INT64_MAX, user_id)) {
        http_error(resp, LS_ERR_INVAL, "user_id must be a user id");
        return LS_ERR_INVAL;
    }
    if (http_is_admin(req) || http_is_auditor(req))
        return LS_OK;
    if (strcmp(req->who.role, "manager") == 0 && *user_id != req->who.user_id)
        *org_id = req->who.org_id;
    else
        *user_id = req->who.user_id;
    return LS_OK;
}
