/* notify.c - what people are told: see notify.h. */
#include "notify.h"

#include <libical/ical.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labshare/buf.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

static const char *const kind_names[NOTIFY_KIND_COUNT] = {
    "booking.confirmed", "booking.rejected", "booking.cancelled", "booking.reminder",
    "approval.waiting",  "order.placed",     "order.accepted",    "order.declined",
    "order.received",    "order.scheduled",  "order.completed",   "order.cancelled",
    "statement.ready",   "digest",
};

const char *notify_kind_name(enum notify_kind k)
{
    return (unsigned)k < NOTIFY_KIND_COUNT ? kind_names[k] : "?";
}

int notify_kind_parse(const char *name, enum notify_kind *k)
{
    for (int i = 0; name && i < NOTIFY_KIND_COUNT; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *k = (enum notify_kind)i;
            return LS_OK;
        }
    return LS_ERR_INVAL;
}

int notify_opt_out_join(const json_t *kinds, char *out, size_t len, char *why, size_t wlen)
{
    int want[NOTIFY_KIND_COUNT] = {0};
    size_t i, used = 0;
    json_t *v;

    out[0] = '\0';
    if (!json_is_array(kinds)) {
        snprintf(why, wlen, "mail_opt_out must be an array of notification kinds");
        return LS_ERR_INVAL;
    }
    json_array_foreach(kinds, i, v)
    {
        enum notify_kind k;
        if (notify_kind_parse(json_string_value(v), &k)) {
            snprintf(why, wlen, "mail_opt_out: '%.64s' is not a kind (booking.confirmed, ...)",
                     json_is_string(v) ? json_string_value(v) : "?");
            return LS_ERR_INVAL;
        }
        want[k] = 1;
    }
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
        int n;
        if (!want[k])
            continue;
        n = snprintf(out + used, len - used, "%s%s", used ? "," : "", kind_names[k]);
        if (n < 0 || (size_t)n >= len - used) {
            snprintf(why, wlen, "mail_opt_out is too long");
            return LS_ERR_INVAL;
        }
        used += (size_t)n;
    }
    return LS_OK;
}

int notify_opted_out(const char *opt_out, enum notify_kind k)
{
    const char *name = notify_kind_name(k), *p = opt_out;
    size_t n = strlen(name);

    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t m = end ? (size_t)(end - p) : strlen(p);
        if (m == n && strncmp(p, name, n) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int notify_email_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    const char *at = s ? strchr(s, '@') : NULL;

    if (n < 3 || n > 254 || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 127 || strchr("\"<>(),;:\\[]", c))
            return 0;
    }
    return 1;
}

int mail_from_address(const char *from, char *out, size_t len)
{
    const char *lt = strchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    char addr[256];
    size_t n;

    if (lt && (!gt || gt[1] != '\0'))
        return 0;
    n = lt ? (size_t)(gt - lt - 1) : strlen(from);
    if (n >= sizeof(addr))
        return 0;
    memcpy(addr, lt ? lt + 1 : from, n);
    addr[n] = '\0';
    /* the name before the address may not break the header either */
    for (const char *p = from; lt && p < lt; p++)
        if ((unsigned char)*p < ' ' || *p == '"')
            return 0;
    if (!notify_email_ok(addr))
        return 0;
    if (out)
        snprintf(out, len, "%s", addr);
    return 1;
}

/* A local time "YYYY-MM-DD HH:MM". */
static void local_time(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!localtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(out, len, "?");
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

int notify_render(const struct notify_event *e, char **subject, char **body)
{
    int zh = e->lang && strcmp(e->lang, "zh") == 0;
    char s[600], b[4096], start[32] = "", end[32] = "", what[400];
    const char *name =
        e->instrument_name && e->instrument_name[0] ? e->instrument_name : or_empty(e->instrument);
    const char *reason =
        e->reason && e->reason[0] ? e->reason : (zh ? "（未说明）" : "(none given)");

    *subject = *body = NULL;
    if (e->start_ms || e->end_ms) {
        local_time(e->start_ms, start, sizeof(start));
        local_time(e->end_ms, end, sizeof(end));
    }
    snprintf(what, sizeof(what), "%s%s%s", name, e->location && e->location[0] ? ", " : "",
             or_empty(e->location));
    switch (e->kind) {
    case NOTIFY_BOOKING_CONFIRMED:
        snprintf(s, sizeof(s), zh ? "预约已确认：%s %s" : "Booking confirmed: %s %s", name, start);
        snprintf(b, sizeof(b),
                 zh ? "您的预约 %lld 已确认。\n仪器：%s\n时间：%s 至 "
                      "%s\n附件中的日历邀请可加入您的日历。"
                    : "Your booking %lld is confirmed.\nInstrument: %s\nTime: %s to %s\nThe "
                      "attached invitation adds it to your calendar.",
                 (long long)e->booking_id, what, start, end);
        break;
    case NOTIFY_BOOKING_REJECTED:
        snprintf(s, sizeof(s), zh ? "预约未获批准：%s %s" : "Booking rejected: %s %s", name, start);
        snprintf(b, sizeof(b),
                 zh ? "您的预约 %lld 未获批准。\n仪器：%s\n时间：%s 至 %s\n原因：%s"
                    : "Your booking %lld was rejected.\nInstrument: %s\nTime: %s to %s\nReason: %s",
                 (long long)e->booking_id, what, start, end, reason);
        break;
    case NOTIFY_BOOKING_CANCELLED:
        snprintf(s, sizeof(s), zh ? "预约已取消：%s %s" : "Booking cancelled: %s %s", name, start);
        snprintf(
            b, sizeof(b),
            zh ? "您的预约 %lld 已取消。\n仪器：%s\n时间：%s 至 %s\n原因：%s"
               : "Your booking %lld was cancelled.\nInstrument: %s\nTime: %s to %s\nReason: %s",
            (long long)e->booking_id, what, start, end, reason);
        break;
    case NOTIFY_BOOKING_REMINDER:
        snprintf(s, sizeof(s), zh ? "预约即将开始：%s %s" : "Booking starts soon: %s %s", name,
                 start);
        snprintf(b, sizeof(b),
                 zh ? "您的预约 %lld 即将开始。\n仪器：%s\n时间：%s 至 %s"
                    : "Your booking %lld starts soon.\nInstrument: %s\nTime: %s to %s",
                 (long long)e->booking_id, what, start, end);
        break;
    case NOTIFY_APPROVAL_WAITING:
        snprintf(s, sizeof(s), zh ? "待审批的预约：%s %s" : "Booking waiting for approval: %s %s",
                 name, start);
        snprintf(b, sizeof(b),
                 zh ? "%s 预约了 %s，%s 至 %s（预约 %lld），等待您审批。"
                    : "%s booked %s from %s to %s (booking %lld); it waits for your approval.",
                 or_empty(e->who), what, start, end, (long long)e->booking_id);
        break;
    case NOTIFY_ORDER_PLACED:
        snprintf(s, sizeof(s),
                 zh ? "新的送样检测委托 %lld：%s" : "New sample-testing order %lld: %s",
                 (long long)e->order_id, name);
        snprintf(b, sizeof(b),
                 zh ? "%s 委托检测 %lld 个样品，仪器：%s\n检测项目：%s"
                    : "%s ordered a test of %lld samples on %s.\nAnalysis: %s",
                 or_empty(e->who), (long long)e->samples, what, or_empty(e->analysis));
        break;
    case NOTIFY_ORDER_ACCEPTED:
    case NOTIFY_ORDER_DECLINED:
    case NOTIFY_ORDER_RECEIVED:
    case NOTIFY_ORDER_SCHEDULED:
    case NOTIFY_ORDER_COMPLETED:
    case NOTIFY_ORDER_CANCELLED: {
        static const char *const en[] = {"accepted",
                                         "declined",
                                         "samples received",
                                         "scheduled",
                                         "completed: the report is ready",
                                         "cancelled"};
        static const char *const cn[] = {
            "已受理", "未受理", "样品已收到", "已安排检测", "已完成，报告可下载", "已取消"};
        int i = (int)e->kind - (int)NOTIFY_ORDER_ACCEPTED;
        snprintf(s, sizeof(s), zh ? "送样检测委托 %lld %s" : "Sample-testing order %lld %s",
                 (long long)e->order_id, zh ? cn[i] : en[i]);
        snprintf(b, sizeof(b),
                 zh ? "您的委托 %lld（%s，%lld 个样品，%s）%s。%s%s%s%s"
                    : "Your order %lld (%s, %lld samples, %s) is %s.%s%s%s%s",
                 (long long)e->order_id, or_empty(e->analysis), (long long)e->samples, what,
                 zh ? cn[i] : en[i],
                 e->kind == NOTIFY_ORDER_DECLINED || e->kind == NOTIFY_ORDER_CANCELLED
                     ? (zh ? "\n原因：" : "\nReason: ")
                     : "",
                 e->kind == NOTIFY_ORDER_DECLINED || e->kind == NOTIFY_ORDER_CANCELLED ? reason
                                                                                       : "",
                 start[0] ? (zh ? "\n时间：" : "\nTime: ") : "", start);
        break;
    }
    case NOTIFY_STATEMENT_READY:
        snprintf(s, sizeof(s), zh ? "%s 月结账单已出" : "Statement for %s is ready",
                 or_empty(e->month));
        snprintf(b, sizeof(b),
                 zh ? "%s 的月份已结账，贵单位的账单可以查看。"
                    : "The month %s is closed; your organisation's statement is ready.",
                 or_empty(e->month));
        break;
    case NOTIFY_DIGEST:
        snprintf(s, sizeof(s),
                 zh ? "每日待办：%lld 个预约待审批，%lld 个委托待受理"
                    : "Waiting for you: %lld bookings to approve, %lld orders",
                 (long long)e->waiting_bookings, (long long)e->waiting_orders);
        snprintf(b, sizeof(b),
                 zh ? "贵单位仪器有 %lld 个预约等待审批、%lld 个送样检测委托等待受理。"
                    : "Your organisation's instruments have %lld bookings waiting for approval and "
                      "%lld sample-testing orders waiting to be accepted.",
                 (long long)e->waiting_bookings, (long long)e->waiting_orders);
        break;
    default:
        return LS_ERR_INVAL;
    }
    {
        /* the footer: where to act, and how to stop these */
        size_t used = strlen(b);
        snprintf(b + used, sizeof(b) - used,
                 zh ? "\n\n%s %s\n（在“我的账户”中可退订此类通知：%s）\n"
                    : "\n\n%s %s\n(Stop these in your account's settings: %s)\n",
                 or_empty(e->platform), or_empty(e->link), notify_kind_name(e->kind));
    }
    *subject = strdup(s);
    *body = strdup(b);
    if (!*subject || !*body) {
        free(*subject);
        free(*body);
        *subject = *body = NULL;
        return LS_ERR_NOMEM;
    }
    return LS_OK;
}

static struct icaltimetype ical_utc(int64_t ms)
{
    return icaltime_from_timet_with_zone((time_t)(ms / 1000), 0, icaltimezone_get_utc_timezone());
}

char *notify_ics(const struct notify_event *e, int cancel)
{
    char uid[96], summary[400], location[400];
    icalcomponent *cal, *ev;
    char *text;

    snprintf(uid, sizeof(uid), "booking-%lld@labshare", (long long)e->booking_id);
    snprintf(summary, sizeof(summary), "%.100s booking", or_empty(e->instrument));
    snprintf(location, sizeof(location), "%.200s%s%.150s",
             e->instrument_name ? e->instrument_name : or_empty(e->instrument),
             e->location && e->location[0] ? ", " : "", or_empty(e->location));
    cal = icalcomponent_vanew(
        ICAL_VCALENDAR_COMPONENT, icalproperty_new_version("2.0"),
        icalproperty_new_prodid("-//LabShare//Instrument bookings//EN"),
        icalproperty_new_method(cancel ? ICAL_METHOD_CANCEL : ICAL_METHOD_REQUEST), (void *)0);
    if (!cal)
        return NULL;
    ev = icalcomponent_vanew(
        ICAL_VEVENT_COMPONENT, icalproperty_new_uid(uid), icalproperty_new_sequence(cancel ? 1 : 0),
        icalproperty_new_dtstamp(ical_utc(e->start_ms)),
        icalproperty_new_dtstart(ical_utc(e->start_ms)),
        icalproperty_new_dtend(ical_utc(e->end_ms)), icalproperty_new_summary(summary),
        icalproperty_new_location(location),
        icalproperty_new_status(cancel ? ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED), (void *)0);
    if (!ev) {
        icalcomponent_free(cal);
        return NULL;
    }
    icalcomponent_add_component(cal, ev);
    text = icalcomponent_as_ical_string_r(cal);
    icalcomponent_free(cal);
    return text;
}

json_t *notify_webhook_json(const struct notify_event *e, int64_t at_ms)
{
    char at[40], start[40], end[40];
    json_t *o;

    ls_time_format(at_ms, at, sizeof(at));
    o = json_pack("{s:s, s:s}", "event", notify_kind_name(e->kind), "at", at);
    if (!o)
        return NULL;
    if (e->instrument)
        json_object_set_new(o, "instrument", json_string(e->instrument));
    if (e->booking_id)
        json_object_set_new(o, "booking", json_integer(e->booking_id));
    if (e->order_id) {
        json_object_set_new(o, "order", json_integer(e->order_id));
        json_object_set_new(o, "samples", json_integer(e->samples));
    }
    if (e->start_ms || e->end_ms) {
        ls_time_format(e->start_ms, start, sizeof(start));
        ls_time_format(e->end_ms, end, sizeof(end));
        json_object_set_new(o, "start", json_string(start));
        json_object_set_new(o, "end", json_string(end));
    }
    if (e->who)
        json_object_set_new(o, "user", json_string(e->who));
    if (e->reason)
        json_object_set_new(o, "reason", json_string(e->reason));
    if (e->month)
        json_object_set_new(o, "month", json_string(e->month));
    return o;
}

void notify_sign(const char *secret, int64_t ts, const char *body, char *out, size_t len)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char hex[sizeof(mac) * 2 + 1], prefix[32];
    crypto_auth_hmacsha256_state st;

    /* "<ts>.<body>": a receiver that checks the time refuses a replayed delivery */
    snprintf(prefix, sizeof(prefix), "%lld.", (long long)ts);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, strlen(prefix));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    snprintf(out, len, "t=%lld,v1=%s", (long long)ts, hex);
}

/* Encoded words carry at most this many bytes of text each (60 base64 characters, a word of 72
 * with its markers: RFC 2047 allows 75). */
#define WORD_BYTES 45

int notify_header_word(const char *subject, char *out, size_t len)
{
    size_t n = strlen(subject), used = 0, i = 0;
    int plain = 1;

    for (size_t k = 0; k < n; k++)
        if ((unsigned char)subject[k] >= 127 || (unsigned char)subject[k] < ' ')
            plain = 0;
    if (plain) {
        if (n + 1 > len)
            return LS_ERR_INVAL;
        memcpy(out, subject, n + 1);
        return LS_OK;
    }
    while (i < n) {
        size_t take = n - i < WORD_BYTES ? n - i : WORD_BYTES, need;
        /* never split a UTF-8 character between two words */
        while (take < n - i && take > 0 && ((unsigned char)subject[i + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            return LS_ERR_INVAL;
        need = (used ? 1u : 0u) + 12u + (take + 2) / 3 * 4 + 1; /* base64 of take bytes, NUL */
        if (used + need > len)
            return LS_ERR_INVAL;
        if (used)
            out[used++] = ' ';
        memcpy(out + used, "=?UTF-8?B?", 10);
        used += 10;
        sodium_bin2base64(out + used, len - used, (const unsigned char *)subject + i, take,
                          sodium_base64_VARIANT_ORIGINAL);
        used += strlen(out + used);
        memcpy(out + used, "?=", 3);
        used += 2;
        i += take;
    }
    return LS_OK;
}
