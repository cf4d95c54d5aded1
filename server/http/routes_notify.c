/* routes_notify.c - the notification queue (admins) and an organisation's webhook. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config.h"
#include "../netguard.h"
#include "../notify.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

static json_t *time_or_null(int64_t ms)
{
    char t[40];

    if (!ms)
        return json_null();
    ls_time_format(ms, t, sizeof(t));
    return json_string(t);
}

static json_t *row_json(const struct notify_row *r)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:s}",
                     "id", (json_int_t)r->id, "key", r->key, "channel", r->channel, "kind", r->kind,
                     "user_id", r->user_id ? json_integer(r->user_id) : json_null(), "org_id",
                     r->org_id ? json_integer(r->org_id) : json_null(), "recipient", r->recipient,
                     "subject", r->subject, "created_at", time_or_null(r->created_at), "next_at",
                     time_or_null(r->next_at), "attempts", (json_int_t)r->attempts, "sent_at",
                     time_or_null(r->sent_at), "failed_at", time_or_null(r->failed_at),
                     "last_error", r->last_error[0] ? json_string(r->last_error) : json_null(),
                     "state",
                     r->sent_at     ? "sent"
                     : r->failed_at ? "failed"
                                    : "queued");
}

int route_notifications_list(struct http_req *req, struct http_resp *resp)
{
    struct notify_row *rows = NULL;
    int64_t limit, offset, from, to, total = 0;
    const char *state = http_query(req, "state");
    json_t *items;
    size_t n = 0;

    if (!http_is_admin(req))
        return http_error(resp, LS_ERR_DENIED, "only admins read the notification queue");
    if (http_list_args(req, resp, 100, 1000, &limit, &offset, &from, &to))
        return LS_OK;
    if (state && strcmp(state, "queued") != 0 && strcmp(state, "sent") != 0 &&
        strcmp(state, "failed") != 0)
        return http_error(resp, LS_ERR_INVAL, "state must be queued, sent or failed");
    if (store_notify_list(req->st, state, limit, offset, &rows, &n, &total))
        return http_error(resp, LS_ERR_DB, "cannot read the notification queue");
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        json_t *o = row_json(&rows[i]);
        if (!o || json_array_append_new(items, o)) {
            json_decref(items);
            items = NULL;
        }
    }
    notify_rows_free(rows, n);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot read the notification queue");
    return http_list(req, resp, items, total, "notifications");
}

/* Whether url is one the server may POST to: http(s)://, printable, at most 500 bytes. */
static int hook_url_ok(const char *url)
{
    size_t n = url ? strlen(url) : 0;

    if (n < 10 || n > 500 || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || (unsigned char)url[i] >= 127)
            return 0;
    return 1;
}

/* GET, PUT, DELETE /orgs/{id}/webhook: its managers and admins. */
static int webhook(struct http_req *req, struct http_resp *resp, int put, int del)
{
    static const char *const keys[] = {"url", "secret", NULL};
    char url[512], secret[256], object[40];
    json_t *body = NULL, *before, *after;
    const char *nu = "", *ns = "";
    struct org o;
    int64_t id;
    int rc;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    if ((rc = store_org_get(req->st, id, &o)))
        return http_error(resp, rc, "no organisation %lld", (long long)id);
    if (!http_manages(req, id))
        return http_error(resp, LS_ERR_DENIED,
                          "only the organisation's managers and admins see or set its webhook");
    if ((rc = store_org_webhook(req->st, id, url, sizeof(url), secret, sizeof(secret))))
        return http_error(resp, rc, "cannot read the webhook");
    before = json_pack("{s:o, s:b}", "url", url[0] ? json_string(url) : json_null(), "secret_set",
                       secret[0] != '\0');
    if (!put && !del)
        return before ? http_json(resp, 200, before) : http_error(resp, LS_ERR_NOMEM, "no memory");
    if (put) {
        if (http_body_json(req, resp, &body) || http_only_keys(resp, body, keys)) {
            json_decref(before);
            json_decref(body);
            return LS_OK;
        }
        nu = json_string_value(json_object_get(body, "url"));
        ns = json_string_value(json_object_get(body, "secret"));
        if (!hook_url_ok(nu) || !ns || strlen(ns) < 16 || strlen(ns) > 255) {
            json_decref(before);
            json_decref(body);
            return http_error(resp, LS_ERR_INVAL,
                              "url (http:// or https://, at most 500 characters) and secret (16 "
                              "to 255 characters, to sign each delivery) are required");
        }
        if (!req->cfg->webhook_private && netguard_url_internal(nu) != 0) {
            json_decref(before);
            json_decref(body);
            return http_error(resp, LS_ERR_INVAL,
                              "url: a webhook goes to a public address; this one is internal or "
                              "not a URL with a host (an operator may allow internal ones: "
                              "[notify] webhook_private)");
        }
    }
    if (store_begin(req->st)) {
        json_decref(before);
        json_decref(body);
        return http_error(resp, LS_ERR_DB, "database busy");
    }
    rc = store_org_webhook_set(req->st, id, nu, ns);
    after = json_pack("{s:o, s:b}", "url", nu[0] ? json_string(nu) : json_null(), "secret_set",
                      ns[0] != '\0');
    json_decref(body);
    if (rc || !after) {
        store_rollback(req->st);
        json_decref(before);
        json_decref(after);
        return http_error(resp, rc ? rc : LS_ERR_NOMEM, "cannot save the webhook");
    }
    snprintf(object, sizeof(object), "org/%lld", (long long)id);
    /* the audit record names the URL and that a secret is set, never the secret */
    return http_commit_audited(req, resp, del ? "org.webhook_delete" : "org.webhook", object,
                               before, after, 200);
}

int route_org_webhook_get(struct http_req *req, struct http_resp *resp)
{
    return webhook(req, resp, 0, 0);
}

int route_org_webhook_put(struct http_req *req, struct http_resp *resp)
{
    return webhook(req, resp, 1, 0);
}

int route_org_webhook_delete(struct http_req *req, struct http_resp *resp)
{
    return webhook(req, resp, 0, 1);
}
