/* routes_ical.c - iCalendar feeds (RFC 5545, built with libical) of a user's or an
 * instrument's bookings, behind a secret feed URL a calendar client can poll without logging in. */
#include "routes.h"

#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../auth.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* Feeds cover bookings from 90 days back to a year ahead. */
#define FEED_PAST_MS (90LL * 86400000)
#define FEED_AHEAD_MS (366LL * 86400000)

int route_feed_create(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"kind", "instrument", NULL};
    json_t *body = NULL;
    const char *kind, *subject;
    char token[AUTH_TOKEN_LEN], url[SRV_STR_MAX + 128], uid[32], object[40];
    int64_t id = 0;

    if (http_body_json(req, resp, &body) || http_only_keys(resp, body, keys))
        goto out;
    kind = json_string_value(json_object_get(body, "kind"));
    subject = json_string_value(json_object_get(body, "instrument"));
    if (kind && strcmp(kind, "user") == 0 && !subject) {
        snprintf(uid, sizeof(uid), "%lld", (long long)req->who.user_id);
        subject = uid;
    } else if (kind && strcmp(kind, "instrument") == 0 && subject && ls_id_valid(subject)) {
        struct instrument inst;
        int allowed;
        if (store_instrument_get(req->st, subject, &inst)) {
            http_error(resp, LS_ERR_NOTFOUND, "no instrument '%s'", subject);
            goto out;
        }
        allowed = inst.is_public || http_manages(req, inst.org_id) || http_is_auditor(req);
        instrument_clear(&inst);
        if (!allowed) {
            http_error(resp, LS_ERR_DENIED, "a non-public instrument's feed is for its managers");
            goto out;
        }
    } else {
        http_error(resp, LS_ERR_INVAL,
                   "kind is user (your bookings) or instrument (with "
                   "\"instrument\": its id)");
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    if (auth_feed_new(req->st, kind, subject, req->who.user_id, token, &id)) {
        store_rollback(req->st);
        http_error(resp, LS_ERR_DB, "cannot create the feed");
        goto out;
    }
    /* audited without its secret URL, which only the answer carries */
    snprintf(url, sizeof(url), "%s/ical/%s.ics", req->cfg->public_url, token);
    snprintf(object, sizeof(object), "feed/%lld", (long long)id);
    http_commit_audited_reply(
        req, resp, "feed.create", object, NULL,
        json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "kind", kind, "subject", subject),
        json_pack("{s:s}", "url", url), 201);
out:
    json_decref(body);
    return LS_OK;
}

static struct icaltimetype ical_utc(int64_t ms)
{
    return icaltime_from_timet_with_zone((time_t)(ms / 1000), 0, icaltimezone_get_utc_timezone());
}

int route_ical(struct http_req *req, struct http_resp *resp)
{
    char token[AUTH_TOKEN_LEN + 8], kind[16], subject[LS_ID_MAX], uid[96], summary[400];
    struct booking_filter f;
    icalcomponent *cal = NULL;
    struct booking_view *items = NULL;
    int64_t total = 0, now = ls_now_ms();
    char *text;
    size_t len = strlen(req->params[0]), n = 0;

    /* the path is /ical/<token>.ics */
    if (len < 5 || len >= sizeof(token) || strcmp(req->params[0] + len - 4, ".ics") != 0)
        return http_error(resp, LS_ERR_NOTFOUND, "no such feed");
    memcpy(token, req->params[0], len - 4);
    token[len - 4] = '\0';
    if (auth_feed(req->st, token, kind, subject))
        return http_error(resp, LS_ERR_NOTFOUND, "no such feed");
    memset(&f, 0, sizeof(f));
    f.from_ms = now - FEED_PAST_MS;
    f.to_ms = now + FEED_AHEAD_MS;
    f.limit = 10000;
    if (strcmp(kind, "user") == 0)
        f.user_id = strtoll(subject, NULL, 10);
    else
        f.instrument = subject;
    if (store_booking_list(req->st, &f, &items, &n, &total))
        return http_error(resp, LS_ERR_DB, "cannot read bookings");
    cal = icalcomponent_vanew(ICAL_VCALENDAR_COMPONENT, icalproperty_new_version("2.0"),
                              icalproperty_new_prodid("-//LabShare//Instrument bookings//EN"),
                              icalproperty_new_calscale("GREGORIAN"), (void *)0);
    for (size_t i = 0; i < n; i++) {
        const struct booking *b = &items[i].b;
        const char *status = booking_status_name(b->status), *iid = b->instrument;
        int64_t s = b->start_ms, e = b->end_ms;
        icalcomponent *ev;
        struct instrument inst;
        char location[400];

        /* the instrument's name and room, so a calendar shows where to go */
        location[0] = '\0';
        if (store_instrument_get(req->st, iid, &inst) == LS_OK) {
            snprintf(location, sizeof(location), "%s%s%s", inst.name, inst.location[0] ? ", " : "",
                     inst.location);
            instrument_clear(&inst);
        }
        snprintf(uid, sizeof(uid), "booking-%lld@labshare", (long long)b->id);
        if (strcmp(kind, "user") == 0)
            snprintf(summary, sizeof(summary), "%s booking%s%.200s", b->instrument,
                     b->project[0] ? ": " : "", b->project);
        else
            snprintf(summary, sizeof(summary), "Booked (%s)", status);
        ev = icalcomponent_vanew(
            ICAL_VEVENT_COMPONENT, icalproperty_new_uid(uid),
            icalproperty_new_dtstamp(ical_utc(now)), icalproperty_new_dtstart(ical_utc(s)),
            icalproperty_new_dtend(ical_utc(e)), icalproperty_new_summary(summary),
            icalproperty_new_status(b->status == BOOKING_CANCELLED ? ICAL_STATUS_CANCELLED
                                    : b->status == BOOKING_PENDING ? ICAL_STATUS_TENTATIVE
                                                                   : ICAL_STATUS_CONFIRMED),
            (void *)0);
        if (location[0])
            icalcomponent_add_property(ev, icalproperty_new_location(location));
        icalcomponent_add_component(cal, ev);
    }
    free(items);
    text = icalcomponent_as_ical_string_r(cal);
    icalcomponent_free(cal);
    if (!text)
        return LS_ERR_NOMEM;
    resp->status = 200;
    resp->len = strlen(text);
    resp->body = text;
    resp->content_type = "text/calendar; charset=utf-8";
    return LS_OK;
}
