/* Unit tests of what people are told (server/notify.c): kinds and opt-outs, addresses, messages
 * in both languages, the iCalendar objects, header words and the webhook signature. */
// LINK: server/notify.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/notify.h"
#include "labshare/rc.h"

static void kinds_and_opt_outs(void **state)
{
    char out[512], why[200];
    enum notify_kind k;
    json_t *a;

    (void)state;
    for (int i = 0; i < NOTIFY_KIND_COUNT; i++) {
        assert_int_equal(notify_kind_parse(notify_kind_name((enum notify_kind)i), &k), LS_OK);
        assert_int_equal(k, i);
    }
    assert_int_equal(notify_kind_parse("booking", &k), LS_ERR_INVAL);
    /* joined in the kinds' order, each once */
    a = json_pack("[s, s, s]", "digest", "booking.reminder", "digest");
    assert_int_equal(notify_opt_out_join(a, out, sizeof(out), why, sizeof(why)), LS_OK);
    assert_string_equal(out, "booking.reminder,digest");
    json_decref(a);
    assert_true(notify_opted_out(out, NOTIFY_DIGEST));
    assert_true(notify_opted_out(out, NOTIFY_BOOKING_REMINDER));
    assert_false(notify_opted_out(out, NOTIFY_BOOKING_CONFIRMED));
    assert_false(notify_opted_out("", NOTIFY_DIGEST));
    /* a prefix is not the kind */
    assert_false(notify_opted_out("booking.confirmedx", NOTIFY_BOOKING_CONFIRMED));
    a = json_pack("[s, i]", "digest", 3);
    assert_int_equal(notify_opt_out_join(a, out, sizeof(out), why, sizeof(why)), LS_ERR_INVAL);
    json_decref(a);
    a = json_string("digest");
    assert_int_equal(notify_opt_out_join(a, out, sizeof(out), why, sizeof(why)), LS_ERR_INVAL);
    json_decref(a);
    a = json_array();
    assert_int_equal(notify_opt_out_join(a, out, sizeof(out), why, sizeof(why)), LS_OK);
    assert_string_equal(out, "");
    json_decref(a);
}

static void addresses(void **state)
{
    char addr[256];

    (void)state;
    assert_true(notify_email_ok("li@ecut.edu.cn"));
    assert_false(notify_email_ok("li@"));
    assert_false(notify_email_ok("@ecut"));
    assert_false(notify_email_ok("li@a@b"));
    assert_false(notify_email_ok("li @ecut"));
    assert_false(notify_email_ok("li@ecut\r\nBcc: all@x"));
    assert_false(notify_email_ok("<li@ecut>"));
    assert_false(notify_email_ok("li,x@ecut"));
    assert_false(notify_email_ok(NULL));
    assert_true(mail_from_address("LabShare <noreply@lab.test>", addr, sizeof(addr)));
    assert_string_equal(addr, "noreply@lab.test");
    assert_true(mail_from_address("noreply@lab.test", addr, sizeof(addr)));
    assert_false(mail_from_address("LabShare <noreply@lab.test> x", NULL, 0));
    assert_false(mail_from_address("Lab\"Share <noreply@lab.test>", NULL, 0));
    assert_false(mail_from_address("LabShare", NULL, 0));
}

static struct notify_event booking_event(enum notify_kind kind, const char *lang)
{
    struct notify_event e;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.lang = lang;
    e.platform = "Jiangxi Sharing Platform";
    e.link = "https://lab.test";
    e.instrument = "icp-ms-01";
    e.instrument_name = "ICP-MS";
    e.location = "Building A, 101";
    e.who = "Dr Li";
    e.booking_id = 42;
    e.start_ms = 1796313600000; /* 2026-12-03T16:00:00Z = 2026-12-04 00:00 in Shanghai */
    e.end_ms = e.start_ms + 3600000;
    e.reason = "the lamp is being replaced";
    return e;
}

static void messages_in_both_languages(void **state)
{
    struct notify_event e = booking_event(NOTIFY_BOOKING_REJECTED, "en");
    char *s, *b;

    (void)state;
    assert_int_equal(notify_render(&e, &s, &b), LS_OK);
    assert_string_equal(s, "Booking rejected: ICP-MS 2026-12-04 00:00");
    assert_non_null(strstr(b, "Your booking 42 was rejected."));
    assert_non_null(strstr(b, "Instrument: ICP-MS, Building A, 101"));
    assert_non_null(strstr(b, "Time: 2026-12-04 00:00 to 2026-12-04 01:00"));
    assert_non_null(strstr(b, "Reason: the lamp is being replaced"));
    assert_non_null(strstr(b, "Jiangxi Sharing Platform https://lab.test"));
    assert_non_null(strstr(b, "booking.rejected")); /* how to stop them */
    free(s);
    free(b);
    e.lang = "zh";
    assert_int_equal(notify_render(&e, &s, &b), LS_OK);
    assert_string_equal(s, "预约未获批准：ICP-MS 2026-12-04 00:00");
    assert_non_null(strstr(b, "原因：the lamp is being replaced"));
    free(s);
    free(b);
    /* no reason given is said so, not left blank */
    e.reason = NULL;
    e.kind = NOTIFY_BOOKING_CANCELLED;
    assert_int_equal(notify_render(&e, &s, &b), LS_OK);
    assert_non_null(strstr(b, "（未说明）"));
    free(s);
    free(b);
    /* every kind renders in both languages */
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
        for (int l = 0; l < 2; l++) {
            e = booking_event((enum notify_kind)k, l ? "zh" : "en");
            e.order_id = 7;
            e.samples = 3;
            e.analysis = "Pb, Cd";
            e.month = "2026-11";
            e.waiting_bookings = 2;
            assert_int_equal(notify_render(&e, &s, &b), LS_OK);
            assert_true(strlen(s) > 5 && !strchr(s, '\n'));
            assert_true(strlen(b) > 20);
            free(s);
            free(b);
        }
    }
}

static void calendar_objects(void **state)
{
    struct notify_event e = booking_event(NOTIFY_BOOKING_CONFIRMED, "en");
    char *ics = notify_ics(&e, 0);

    (void)state;
    assert_non_null(ics);
    assert_non_null(strstr(ics, "METHOD:REQUEST"));
    assert_non_null(strstr(ics, "UID:booking-42@labshare"));
    assert_non_null(strstr(ics, "DTSTART:20261203T160000Z"));
    assert_non_null(strstr(ics, "DTEND:20261203T170000Z"));
    assert_non_null(strstr(ics, "STATUS:CONFIRMED"));
    free(ics);
    ics = notify_ics(&e, 1);
    assert_non_null(strstr(ics, "METHOD:CANCEL"));
    assert_non_null(strstr(ics, "STATUS:CANCELLED"));
    assert_non_null(strstr(ics, "SEQUENCE:1"));
    free(ics);
}

static void header_words(void **state)
{
    char out[400];
    const char *zh = "预约已确认：电感耦合等离子体质谱仪 2026-12-04 00:00 的预约";

    (void)state;
    assert_int_equal(notify_header_word("Booking confirmed", out, sizeof(out)), LS_OK);
    assert_string_equal(out, "Booking confirmed");
    assert_int_equal(notify_header_word(zh, out, sizeof(out)), LS_OK);
    assert_memory_equal(out, "=?UTF-8?B?", 10);
    /* words of at most 75 characters, each whole UTF-8 */
    {
        char copy[400], *save = NULL, joined[400] = "";
        size_t used = 0;
        snprintf(copy, sizeof(copy), "%s", out);
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            unsigned char bin[100];
            size_t n = 0, len = strlen(w);
            assert_true(len <= 75);
            assert_memory_equal(w + len - 2, "?=", 2);
            w[len - 2] = '\0';
            assert_int_equal(sodium_base642bin(bin, sizeof(bin), w + 10, strlen(w + 10), NULL, &n,
                                               NULL, sodium_base64_VARIANT_ORIGINAL),
                             0);
            assert_true((bin[0] & 0xC0) != 0x80); /* no word starts inside a character */
            memcpy(joined + used, bin, n);
            used += n;
        }
        joined[used] = '\0';
        assert_string_equal(joined, zh);
    }
    assert_int_equal(notify_header_word(zh, out, 20), LS_ERR_INVAL);
    /* a control character is encoded, never passed into a header */
    assert_int_equal(notify_header_word("a\r\nBcc: x", out, sizeof(out)), LS_OK);
    assert_null(strchr(out, '\r'));
}

static void webhook_signature(void **state)
{
    char sig[128];
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char hex[sizeof(mac) * 2 + 1];
    const char *body = "{\"event\":\"booking.confirmed\"}";
    const char *msg = "1700000000.{\"event\":\"booking.confirmed\"}";
    crypto_auth_hmacsha256_state st;

    (void)state;
    notify_sign("secret-0123456789", 1700000000, body, sig, sizeof(sig));
    /* the same HMAC computed here from its definition */
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)"secret-0123456789", 17);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    assert_memory_equal(sig, "t=1700000000,v1=", 16);
    assert_string_equal(sig + 16, hex);
    notify_sign("another-secret-xx", 1700000000, body, sig, sizeof(sig));
    assert_string_not_equal(sig + 16, hex);
}

static void webhook_payload(void **state)
{
    struct notify_event e = booking_event(NOTIFY_BOOKING_CANCELLED, "en");
    json_t *o = notify_webhook_json(&e, 1796313600000);

    (void)state;
    assert_string_equal(json_string_value(json_object_get(o, "event")), "booking.cancelled");
    assert_int_equal(json_integer_value(json_object_get(o, "booking")), 42);
    assert_string_equal(json_string_value(json_object_get(o, "start")), "2026-12-03T16:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(o, "reason")),
                        "the lamp is being replaced");
    assert_null(json_object_get(o, "order"));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kinds_and_opt_outs),
        cmocka_unit_test(addresses),
        cmocka_unit_test(messages_in_both_languages),
        cmocka_unit_test(calendar_objects),
        cmocka_unit_test(header_words),
        cmocka_unit_test(webhook_signature),
        cmocka_unit_test(webhook_payload),
    };
    setenv("TZ", "Asia/Shanghai", 1);
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
