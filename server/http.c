#include "http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "auth.h"
#include "routes.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Idle connections are closed after 20 s: libmicrohttpd's default is never. */
#define CONN_TIMEOUT_S 20
#define CONN_LIMIT 1000
#define PER_IP_LIMIT 64
/* Per-connection buffer for headers and the read buffer. */
#define CONN_MEMORY 65536
#define MAX_STORES 128

enum route_flags { ROUTE_PUBLIC = 0, ROUTE_AUTH = 1 << 0 };

struct route {
    const char *method;
    const char *pattern; /* "/api/v1/x/{}/y": {} matches one segment */
    int (*fn)(struct http_req *, struct http_resp *);
    unsigned flags;
};

static const struct route routes[] = {
    {"GET", "/healthz", route_healthz, ROUTE_PUBLIC},
    {"GET", "/api/v1/readings", route_readings_list, ROUTE_AUTH},
};

struct http {
    struct MHD_Daemon *d;
    const struct srv_config *cfg;
    pthread_mutex_t lock;
    struct store *stores[MAX_STORES]; /* one per libmicrohttpd thread, closed at stop */
    size_t store_count;
};

static _Thread_local struct store *thread_store;

static const struct {
    int rc;
    unsigned status;
} status_table[] = {
    {LS_OK, 200},           {LS_ERR_INVAL, 400},    {LS_ERR_AUTH, 401},   {LS_ERR_DENIED, 403},
    {LS_ERR_NOTFOUND, 404}, {LS_ERR_CONFLICT, 409}, {LS_ERR_TOOBIG, 413}, {LS_ERR_RULE, 422},
    {LS_ERR_FULL, 503},     {LS_ERR_TIMEOUT, 504},
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
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

    json_decref(body);
    if (!s)
        return LS_ERR_NOMEM;
    free(resp->body);
    resp->status = status;
    resp->body = s;
    resp->len = strlen(s);
    resp->content_type = "application/json";
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

void http_time_format(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)t * 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

int http_time_parse(const char *s, int64_t *ms)
{
    struct tm tm;
    const char *p;
    int64_t frac = 0, scale = 1000, off_s = 0;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%d", &tm);
    if (!p || (p - s) != 10)
        return LS_ERR_INVAL;
    if (*p == '\0')
        goto done;
    if (*p != 'T' && *p != 't')
        return LS_ERR_INVAL;
    s = p + 1;
    p = strptime(s, "%H:%M:%S", &tm);
    if (!p || (p - s) != 8)
        return LS_ERR_INVAL;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return LS_ERR_INVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        char h[3] = {0}, m[3] = {0};
        if (strlen(p) != 6 || p[3] != ':')
            return LS_ERR_INVAL;
        memcpy(h, p + 1, 2);
        memcpy(m, p + 4, 2);
        if (ls_parse_int(h, 0, 23, &hh) || ls_parse_int(m, 0, 59, &mm))
            return LS_ERR_INVAL;
        off_s = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return LS_ERR_INVAL;
    }
    if (*p)
        return LS_ERR_INVAL;
done:
    /* strptime accepts 2026-02-31; normalise and compare to refuse it. */
    {
        struct tm check = tm;
        t = timegm(&check);
        if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon)
            return LS_ERR_INVAL;
    }
    *ms = ((int64_t)t - off_s) * 1000 + frac;
    return LS_OK;
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
    if ((v = http_query(req, "from")) && http_time_parse(v, from_ms)) {
        http_error(resp, LS_ERR_INVAL, "from must be an RFC 3339 time or a YYYY-MM-DD date");
        return LS_ERR_INVAL;
    }
    if ((v = http_query(req, "to")) && http_time_parse(v, to_ms)) {
        http_error(resp, LS_ERR_INVAL, "to must be an RFC 3339 time or a YYYY-MM-DD date");
        return LS_ERR_INVAL;
    }
    if (*from_ms > *to_ms) {
        http_error(resp, LS_ERR_INVAL, "from is after to");
        return LS_ERR_INVAL;
    }
    return LS_OK;
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

static void dispatch(struct http *h, struct http_req *req, struct http_resp *resp)
{
    const struct route *found = NULL;
    int path_known = 0;
    const char *authz;
    int rc;

    if (req->body_too_big) {
        http_error(resp, LS_ERR_TOOBIG, "request body over %d bytes", HTTP_BODY_MAX);
        return;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!match(routes[i].pattern, req->path, req))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, req->method) == 0) {
            found = &routes[i];
            break;
        }
    }
    if (!found) {
        if (path_known)
            http_json(resp, 405,
                      json_pack("{s:s, s:s}", "error", "method_not_allowed", "message",
                                "method not allowed on this path"));
        else
            http_error(resp, LS_ERR_NOTFOUND, "no such path");
        return;
    }
    req->st = get_store(h);
    if (!req->st) {
        http_error(resp, LS_ERR_DB, "database unavailable");
        return;
    }
    if (found->flags & ROUTE_AUTH) {
        authz =
            MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        rc = auth_bearer(req->st, authz, &req->who);
        if (rc) {
            http_error(resp, rc == LS_ERR_AUTH ? LS_ERR_AUTH : rc,
                       rc == LS_ERR_AUTH ? "a valid bearer token is required"
                                         : "authentication failed");
            return;
        }
        req->authenticated = 1;
    }
    rc = found->fn(req, resp);
    if (rc && !resp->body)
        http_error(resp, rc, "%s", ls_strerror((enum ls_rc)rc));
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct http_resp *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (!resp->body) {
        static const char oom[] = "{\"error\":\"nomem\",\"message\":\"out of memory\"}";
        r = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        resp->status = 500;
        resp->content_type = "application/json";
    } else {
        r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        resp->body = NULL; /* libmicrohttpd frees it */
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(conn, resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http *h = cls;
    struct http_req *req = *con_cls;
    struct http_resp resp;
    enum MHD_Result ret;

    (void)version;
    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        ls_buf_init(&req->body, HTTP_BODY_MAX);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* Past the cap, keep reading (and discarding) so the client gets a clean 413. */
        if (!req->body_too_big && ls_buf_add(&req->body, upload_data, *upload_data_size))
            req->body_too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    req->method = method;
    req->path = url;
    req->conn = conn;
    req->cfg = h->cfg;
    memset(&resp, 0, sizeof(resp));
    dispatch(h, req, &resp);
    ret = send_resp(conn, &resp);
    free(resp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_req *req = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
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

int http_start(const struct srv_config *cfg, struct http **out)
{
    struct http *h = calloc(1, sizeof(*h));
    struct addrinfo hints, *ai = NULL;
    char port[8];
    int gai;

    if (!h)
        return LS_ERR_NOMEM;
    h->cfg = cfg;
    pthread_mutex_init(&h->lock, NULL);
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
    h->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
            (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        (uint16_t)cfg->listen_port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)PER_IP_LIMIT, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->d) {
        ls_error("http: cannot listen on %s:%d", cfg->listen_host, cfg->listen_port);
        goto fail;
    }
    ls_info("http: listening on http://%s:%d/", cfg->listen_host, cfg->listen_port);
    *out = h;
    return LS_OK;
fail:
    pthread_mutex_destroy(&h->lock);
    free(h);
    return LS_ERR_IO;
}

void http_stop(struct http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    for (size_t i = 0; i < h->store_count; i++)
        store_close(h->stores[i]);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
