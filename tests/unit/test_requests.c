/* Unit tests of the API's request decoders (server/requests.c): what each accepts, with its
 * defaults, and each way of refusing - unknown fields, wrong types, ranges, sizes, times - with
 * the message naming the field; and the merge of a PATCH into an instrument's nested settings. */
// LINK: server/requests.c server/booking.c server/rollup.c server/interlock.c
// LINK: server/billing.c server/instrument.c
// LINK: server/notify.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../server/requests.h"
#include "labshare/rc.h"

#define NOW_MS 1796054400000LL /* 2026-12-01 00:00 in Asia/Shanghai */

static char why[200];
static json_t *kept; /* the body of the last helper call: decoded strings are borrowed from it */

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    return 0;
}

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, JSON_ALLOW_NUL, &e); /* the decoders refuse a NUL themselves */

    if (!o)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return o;
}

/* The decoder's verdict on text: "ok" or its reason. */
static const char *booking(const char *text, struct booking *b)
{
    json_t *o = J(text);
    int rc = req_booking_create(o, b, why, sizeof(why));

    json_decref(o);
    return rc ? why : "ok";
}

static void booking_create(void **state)
{
    struct booking b;
    (void)state;

    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-12-01T09:00:00Z\", "
                                "\"end\": \"2026-12-01T18:00:00+08:00\", \"project\": \"p\"}",
                                &b),
                        "ok");
    assert_string_equal(b.instrument, "ms-1");
    assert_string_equal(b.project, "p");
    assert_int_equal(b.start_ms, 1796115600000LL);
    assert_int_equal(b.end_ms, 1796115600000LL + 3600000LL);
    /* 10:00+08:00 is 02:00Z, before the start */
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-12-01T09:00:00Z\", "
                                "\"end\": \"2026-12-01T10:00:00+08:00\"}",
                                &b),
                        "start and end are required RFC 3339 times, start first");
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-12-01T09:00:00Z\", "
                                "\"end\": \"2026-12-01T10:00:00Z\", \"user_id\": 7}",
                                &b),
                        "ok");
    assert_int_equal(b.user_id, 7);
    assert_string_equal(b.project, "");
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-12-01T09:00:00Z\", "
                                "\"end\": \"2026-12-01T10:00:00Z\"}",
                                &b),
                        "ok");
    assert_int_equal(b.user_id, 0); /* the caller */
    assert_string_equal(booking("{\"instrument\": \"../x\", \"start\": \"2026-12-01\", "
                                "\"end\": \"2026-12-02\"}",
                                &b),
                        "instrument (an instrument id) is required");
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-02-30\", "
                                "\"end\": \"2026-03-02\"}",
                                &b),
                        "start and end are required RFC 3339 times, start first");
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": 1, \"end\": 2}", &b),
                        "start and end are required RFC 3339 times, start first");
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-12-01\", "
                                "\"end\": \"2026-12-02\", \"user_id\": 0}",
                                &b),
                        "user_id must be a user id");
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-12-01\", "
                                "\"end\": \"2026-12-02\", \"user_id\": \"7\"}",
                                &b),
                        "user_id must be a user id");
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-12-01\", "
                                "\"end\": \"2026-12-02\", \"project\": 5}",
                                &b),
                        "project must be text of at most 200 characters");
    assert_string_equal(booking("{\"instrument\": \"ms-1\", \"start\": \"2026-12-01\", "
                                "\"end\": \"2026-12-02\", \"status\": \"confirmed\"}",
                                &b),
                        "unknown field 'status'");
    {
        char big[400];
        memset(big, 'x', sizeof(big));
        big[0] = '{';
        memcpy(big + 1,
               "\"instrument\": \"ms-1\", \"start\": \"2026-12-01\", \"end\": "
               "\"2026-12-02\", \"project\": \"",
               strlen("\"instrument\": \"ms-1\", \"start\": \"2026-12-01\", \"end\": "
                      "\"2026-12-02\", \"project\": \""));
        strcpy(big + sizeof(big) - 4, "\"}");
        assert_string_equal(booking(big, &b), "project must be text of at most 200 characters");
    }
    {
        json_t *a = J("[1]");
        assert_int_equal(req_booking_create(a, &b, why, sizeof(why)), LS_ERR_INVAL);
        assert_string_equal(why, "the body must be a JSON object");
        json_decref(a);
    }
}

static void booking_reason_and_rating(void **state)
{
    const char *reason, *comment;
    int score = 0;
    json_t *o;
    (void)state;

    assert_int_equal(req_booking_reason(NULL, &reason, why, sizeof(why)), LS_OK);
    assert_null(reason);
    o = J("{\"reason\": \"the laser is out\"}");
    assert_int_equal(req_booking_reason(o, &reason, why, sizeof(why)), LS_OK);
    assert_string_equal(reason, "the laser is out");
    json_decref(o);
    o = J("{\"reason\": [\"x\"]}");
    assert_int_equal(req_booking_reason(o, &reason, why, sizeof(why)), LS_ERR_INVAL);
    assert_string_equal(why, "reason must be text of at most 500 characters");
    json_decref(o);
    o = J("{\"score\": 5, \"comment\": \"fine\"}");
    assert_int_equal(req_booking_rating(o, &score, &comment, why, sizeof(why)), LS_OK);
    assert_int_equal(score, 5);
    assert_string_equal(comment, "fine");
    json_decref(o);
    for (const char *const *t =
             (const char *const[]){"{\"score\": 0}", "{\"score\": 6}", "{\"score\": 4.5}",
                                   "{\"score\": \"5\"}", "{}", NULL};
         *t; t++) {
        o = J(*t);
        assert_int_equal(req_booking_rating(o, &score, &comment, why, sizeof(why)), LS_ERR_INVAL);
        assert_string_equal(why, "score must be a whole number from 1 to 5");
        json_decref(o);
    }
    o = J("{\"score\": 3, \"stars\": 3}");
    assert_int_equal(req_booking_rating(o, &score, &comment, why, sizeof(why)), LS_ERR_INVAL);
    assert_string_equal(why, "unknown field 'stars'");
    json_decref(o);
}

static const char *user(const char *text, int create, struct user_request *u)
{
    json_t *o = J(text);
    int rc = req_user(o, create, u, why, sizeof(why));

    json_decref(kept);
    kept = o;
    return rc ? why : "ok";
}

static void users(void **state)
{
    struct user_request u;
    (void)state;

    assert_string_equal(user("{\"username\": \"li.wei\", \"org_id\": 2, \"role\": \"researcher\", "
                             "\"password\": \"correct horse battery\", \"badge\": 4294967295}",
                             1, &u),
                        "ok");
    assert_string_equal(u.f.username, "li.wei");
    assert_int_equal(u.f.org_id, 2);
    assert_int_equal(u.f.badge, 4294967295LL);
    assert_string_equal(u.password, "correct horse battery");
    assert_null(u.f.password_hash); /* the handler hashes */
    assert_string_equal(
        user("{\"username\": \"li.wei\", \"org_id\": 2, \"role\": \"researcher\"}", 1, &u),
        "username, org_id, role and password are required");
    /* a change: what is not given is kept (-1 / -2 / NULL) */
    assert_string_equal(user("{\"display_name\": \"Li Wei\"}", 0, &u), "ok");
    assert_int_equal(u.f.org_id, -1);
    assert_int_equal(u.f.badge, -2);
    assert_null(u.f.role);
    assert_string_equal(user("{\"badge\": null}", 0, &u), "ok");
    assert_int_equal(u.f.badge, -1);
    assert_string_equal(user("{\"badge\": 4294967296}", 0, &u),
                        "badge must be a number from 1 to 4294967295 or null");
    assert_string_equal(user("{\"username\": \"Metering\"}", 0, &u),
                        "username: 'Metering' is reserved for a part of the system (the audit "
                        "log names them)");
    assert_string_equal(user("{\"username\": \"ab\"}", 0, &u),
                        "username: 3-63 of A-Z a-z 0-9 . _ -");
    assert_string_equal(user("{\"username\": \"a b c\"}", 0, &u),
                        "username: 3-63 of A-Z a-z 0-9 . _ -");
    assert_string_equal(user("{\"role\": \"root\"}", 0, &u),
                        "role: researcher, manager, auditor or admin");
    assert_string_equal(user("{\"display_name\": \"\"}", 0, &u), "display_name: 1-200 characters");
    assert_string_equal(user("{\"org_id\": -3}", 0, &u), "org_id must be an organisation id");
    assert_string_equal(user("{\"password\": \"short\"}", 0, &u), "password: 12 to 256 characters");
    /* a NUL inside would hash as a shorter password than the one typed */
    assert_string_equal(user("{\"password\": \"twelve chars\\u0000 and more\"}", 0, &u),
                        "password: 12 to 256 characters");
    assert_string_equal(
        user("{\"password\": \"a new long password\", \"revoke_tokens\": true}", 0, &u), "ok");
    assert_int_equal(u.revoke_tokens, 1);
    assert_string_equal(user("{\"revoke_tokens\": true}", 0, &u),
                        "revoke_tokens: true or false, and only with a new password");
    assert_string_equal(
        user("{\"password\": \"a new long password\", \"revoke_tokens\": true}", 1, &u),
        "unknown field 'revoke_tokens'");
}

static void orgs(void **state)
{
    const char *name, *type;
    json_t *o;
    (void)state;

    o = J("{\"name\": \"Zhejiang University\", \"type\": \"university\"}");
    assert_int_equal(req_org(o, 1, &name, &type, why, sizeof(why)), LS_OK);
    assert_string_equal(type, "university");
    json_decref(o);
    o = J("{\"type\": \"company\"}");
    assert_int_equal(req_org(o, 0, &name, &type, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(o);
    o = J("{\"type\": \"enterprise\"}");
    assert_int_equal(req_org(o, 0, &name, &type, why, sizeof(why)), LS_OK);
    assert_null(name);
    assert_int_equal(req_org(o, 1, &name, &type, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(o);
}

/* Decode text onto in (create: in freshly initialised first): "ok" or the reason. */
static const char *instrument(const char *text, int create, struct instrument *in)
{
    json_t *o = J(text);
    unsigned given = 0;
    int rc;

    if (create) {
        instrument_clear(in);
        assert_int_equal(instrument_init(in), LS_OK);
    }
    rc = req_instrument(o, create, NOW_MS, in, &given, why, sizeof(why));
    json_decref(o);
    return rc ? why : "ok";
}

static void instruments(void **state)
{
    struct instrument c = {0};
    unsigned given = 0;
    json_t *o;
    (void)state;

    assert_string_equal(
        instrument("{\"id\": \"nmr-600\", \"name\": \"NMR\", \"org_id\": 1}", 1, &c), "ok");
    /* the defaults a new instrument gets */
    assert_string_equal(c.id, "nmr-600");
    assert_int_equal(c.org_id, 1);
    assert_int_equal(c.rated_hours, 1400);
    assert_true(c.is_public);
    assert_int_equal(c.billing.basis, BASIS_METERED);
    assert_int_equal(c.billing.increment_min, 15);
    assert_int_equal(c.booking.max_minutes, 480);
    assert_int_equal(c.hours.count[0], 1); /* Monday 08:00-18:00 */
    assert_int_equal(c.interlock.mode, INTERLOCK_NONE);
    assert_int_equal(c.joined_ms, NOW_MS);
    assert_string_equal(c.description, "");
    /* a change sets only what is given */
    assert_string_equal(instrument("{\"rated_hours\": 800, \"description\": \"600 MHz\"}", 0, &c),
                        "ok");
    assert_int_equal(c.rated_hours, 800);
    assert_string_equal(c.name, "NMR");
    assert_string_equal(c.description, "600 MHz");
    assert_string_equal(instrument("{\"description\": null, \"gateway\": \"gw-1\"}", 0, &c), "ok");
    assert_string_equal(c.description, "");
    assert_string_equal(c.gateway, "gw-1");
    assert_string_equal(instrument("{\"gateway\": null}", 0, &c), "ok");
    assert_string_equal(c.gateway, "");
    /* an owner given is reported, so the route can check who may give it away */
    o = J("{\"org_id\": 2}");
    assert_int_equal(req_instrument(o, 0, NOW_MS, &c, &given, why, sizeof(why)), LS_OK);
    assert_int_equal(given, REQ_INSTRUMENT_ORG);
    json_decref(o);
    assert_string_equal(instrument("{\"id\": \"x\"}", 0, &c), "an instrument's id cannot change");
    assert_string_equal(instrument("{\"name\": \"NMR\", \"org_id\": 1}", 1, &c),
                        "id is required: 1-63 of A-Z a-z 0-9 . _ -");
    assert_string_equal(instrument("{\"rated_hours\": 8761}", 0, &c),
                        "rated_hours must be hours per year from 1 to 8760 (1400 by default, 800 "
                        "for special-purpose instruments)");
    assert_string_equal(instrument("{\"value_yuan\": -1}", 0, &c),
                        "value_yuan must be a whole number of yuan, 0 or more");
    assert_string_equal(instrument("{\"public\": 1}", 0, &c), "public must be true or false");
    assert_string_equal(instrument("{\"owner\": 1}", 0, &c), "unknown field 'owner'");
    assert_string_equal(instrument("{\"category\": 7}", 0, &c),
                        "category must be text of at most 100 characters");
    assert_string_equal(instrument("{\"billing\": {\"basis\": \"hourly\"}}", 0, &c),
                        "billing.basis must be booked, metered or max");
    assert_string_equal(instrument("{\"billing\": {\"rates\": {\"industry\": -5}}}", 0, &c),
                        "billing.rates: internal, academic and industry are whole amounts of fen "
                        "per hour from 0 to 100000000");
    assert_string_equal(instrument("{\"billing\": {\"increment_min\": 0}}", 0, &c),
                        "billing.increment_min must be a whole number from 1 to 1440");
    assert_string_equal(instrument("{\"billing\": {\"discount\": 1}}", 0, &c),
                        "billing.discount is not a billing setting");
    assert_string_equal(instrument("{\"billing\": []}", 0, &c), "billing must be an object");
    /* joined: registration only, never in the future (NOW_MS is the decoder's clock) */
    assert_string_equal(
        instrument("{\"id\": \"a\", \"name\": \"A\", \"org_id\": 1, \"joined\": \"2026-12-02\"}", 1,
                   &c),
        "joined must be an RFC 3339 time or a date, not in the future (an instrument migrated "
        "from an older system)");
    assert_string_equal(
        instrument("{\"id\": \"a\", \"name\": \"A\", \"org_id\": 1, \"joined\": \"2026-11-30\"}", 1,
                   &c),
        "ok");
    assert_int_equal(c.joined_ms, NOW_MS - 86400000LL);
    assert_string_equal(instrument("{\"joined\": \"2026-11-30\"}", 0, &c),
                        "joined is set when an instrument is registered");
    /* a nested parser's own reason comes through */
    assert_string_not_equal(instrument("{\"booking\": {\"max_minutes\": \"long\"}}", 0, &c), "ok");
    assert_non_null(strstr(why, "max_minutes"));
    instrument_clear(&c);
}

static void instrument_merge(void **state)
{
    json_t *cur = J("{\"billing\": {\"basis\": \"booked\", \"increment_min\": 30, \"rates\": "
                    "{\"internal\": 100, \"industry\": 900}}, \"booking\": {\"max_hours\": 4}}");
    json_t *body = J("{\"billing\": {\"rates\": {\"industry\": 1200, \"internal\": null}}, "
                     "\"name\": \"new\", \"booking\": 5}");
    struct instrument in;
    unsigned given;
    json_t *rates;
    (void)state;

    assert_int_equal(instrument_init(&in), LS_OK);
    req_instrument_merge(body, cur);
    rates = json_object_get(json_object_get(body, "billing"), "rates");
    assert_int_equal(json_integer_value(json_object_get(rates, "industry")), 1200);
    assert_null(json_object_get(rates, "internal")); /* null removed it */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(body, "billing"), "basis")), "booked");
    assert_int_equal(json_integer_value(json_object_get(body, "booking")), 5); /* left alone */
    /* and what is merged is validated whole: booking 5 is not an object */
    assert_int_equal(req_instrument(body, 0, NOW_MS, &in, &given, why, sizeof(why)), LS_ERR_INVAL);
    json_object_del(body, "booking");
    in.billing.rates[CAT_INTERNAL] = 77;
    assert_int_equal(req_instrument(body, 0, NOW_MS, &in, &given, why, sizeof(why)), LS_OK);
    assert_int_equal(in.billing.rates[CAT_INTERNAL], 0); /* removed: the default */
    assert_int_equal(in.billing.rates[CAT_INDUSTRY], 1200);
    assert_int_equal(in.billing.increment_min, 30);
    assert_int_equal(in.billing.basis, BASIS_BOOKED);
    assert_string_equal(in.name, "new");
    instrument_clear(&in);
    json_decref(body);
    json_decref(cur);
}

static void outages(void **state)
{
    struct outage_request o;
    json_t *cur = J("{\"start\": \"2026-12-01T08:00:00Z\", \"end\": \"2026-12-01T12:00:00Z\", "
                    "\"kind\": \"maintenance\", \"note\": \"lamp\"}");
    json_t *b;
    (void)state;

    b = J("{\"end\": \"2026-12-01T16:00:00Z\"}");
    assert_int_equal(req_outage(b, cur, &o, why, sizeof(why)), LS_OK);
    assert_int_equal(o.end_ms - o.start_ms, 8 * 3600000LL);
    assert_string_equal(o.kind, "maintenance");
    assert_string_equal(o.note, "lamp");
    assert_int_equal(req_outage(b, NULL, &o, why, sizeof(why)), LS_ERR_INVAL); /* create */
    json_decref(b);
    b = J("{\"end\": \"2026-12-01T07:00:00Z\"}");
    assert_int_equal(req_outage(b, cur, &o, why, sizeof(why)), LS_ERR_INVAL); /* before start */
    json_decref(b);
    b = J("{\"kind\": \"holiday\"}");
    assert_int_equal(req_outage(b, cur, &o, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(b);
    b = J("{\"start\": \"2026-12-01T08:00:00Z\", \"end\": \"2026-12-01T09:00:00Z\", \"kind\": "
          "\"breakdown\"}");
    assert_int_equal(req_outage(b, NULL, &o, why, sizeof(why)), LS_OK);
    assert_string_equal(o.note, "");
    json_decref(b);
    b = J("{\"note\": null}");
    assert_int_equal(req_outage(b, cur, &o, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(b);
    json_decref(cur);
}

static const char *voucher(const char *text, struct voucher_request *v)
{
    json_t *o = J(text);
    int rc = req_voucher(o, v, why, sizeof(why));

    json_decref(kept);
    kept = o;
    return rc ? "refused" : "ok";
}

static void vouchers(void **state)
{
    struct voucher_request v;
    (void)state;

    assert_string_equal(voucher("{\"org_id\": 3, \"percent\": 50, \"annual_cap\": 0, "
                                "\"valid_from\": \"2026-01-01\", \"valid_to\": \"2026-12-31\"}",
                                &v),
                        "ok");
    assert_int_equal(v.percent, 50);
    assert_string_equal(v.valid_to, "2026-12-31");
    assert_string_equal(voucher("{\"org_id\": 3, \"percent\": 101, \"annual_cap\": 0, "
                                "\"valid_from\": \"2026-01-01\", \"valid_to\": \"2026-12-31\"}",
                                &v),
                        "refused");
    assert_string_equal(voucher("{\"org_id\": 3, \"percent\": 50, \"annual_cap\": -1, "
                                "\"valid_from\": \"2026-01-01\", \"valid_to\": \"2026-12-31\"}",
                                &v),
                        "refused");
    assert_string_equal(voucher("{\"org_id\": 3, \"percent\": 50, \"annual_cap\": 0, "
                                "\"valid_from\": \"2026-12-31\", \"valid_to\": \"2026-01-01\"}",
                                &v),
                        "refused");
    assert_string_equal(voucher("{\"org_id\": 3, \"percent\": 50, \"annual_cap\": 0, "
                                "\"valid_from\": \"2026-02-30\", \"valid_to\": \"2026-03-01\"}",
                                &v),
                        "refused");
    assert_string_equal(voucher("{\"org_id\": 0, \"percent\": 50, \"annual_cap\": 0, "
                                "\"valid_from\": \"2026-01-01\", \"valid_to\": \"2026-12-31\"}",
                                &v),
                        "refused");
    assert_string_equal(
        voucher("{\"org_id\": 3, \"percent\": 50, \"annual_cap\": 0, \"valid_from\": "
                "\"2026-01-01T00:00:00Z\", \"valid_to\": \"2026-12-31\"}",
                &v),
        "refused");
}

static void gateways(void **state)
{
    struct gateway_request g;
    const char *name;
    int enabled;
    json_t *o;
    (void)state;

    o = J("{\"id\": \"gw-lab-1\"}");
    assert_int_equal(req_gateway_create(o, &g, why, sizeof(why)), LS_OK);
    assert_string_equal(g.name, "gw-lab-1"); /* the id when no name is given */
    assert_int_equal(g.org_id, 0);
    json_decref(o);
    o = J("{\"id\": \"gw\"}");
    assert_int_equal(req_gateway_create(o, &g, why, sizeof(why)), LS_ERR_INVAL);
    assert_string_equal(why, "id is required: 3-63 letters, digits, '.', '_' or '-'");
    json_decref(o);
    o = J("{\"id\": \"gw-1\", \"name\": \"\"}");
    assert_int_equal(req_gateway_create(o, &g, why, sizeof(why)), LS_ERR_INVAL);
    assert_string_equal(why, "name must be a text of 1-200 characters");
    json_decref(o);
    o = J("{\"id\": \"gw-1\", \"org_id\": null}");
    assert_int_equal(req_gateway_create(o, &g, why, sizeof(why)), LS_OK);
    json_decref(o);
    o = J("{\"id\": \"gw-1\", \"password\": \"mine\"}");
    assert_int_equal(req_gateway_create(o, &g, why, sizeof(why)), LS_ERR_INVAL);
    assert_string_equal(why, "unknown field 'password'");
    json_decref(o);
    o = J("{\"disabled\": true}");
    assert_int_equal(req_gateway_update(o, &name, &enabled, why, sizeof(why)), LS_OK);
    assert_int_equal(enabled, 0);
    assert_null(name);
    json_decref(o);
    o = J("{\"disabled\": \"yes\"}");
    assert_int_equal(req_gateway_update(o, &name, &enabled, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(o);
    o = J("{\"name\": \"Lab 2\"}");
    assert_int_equal(req_gateway_update(o, &name, &enabled, why, sizeof(why)), LS_OK);
    assert_string_equal(name, "Lab 2");
    assert_int_equal(enabled, -1);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(booking_create), cmocka_unit_test(booking_reason_and_rating),
        cmocka_unit_test(users),          cmocka_unit_test(orgs),
        cmocka_unit_test(instruments),    cmocka_unit_test(instrument_merge),
        cmocka_unit_test(outages),        cmocka_unit_test(vouchers),
        cmocka_unit_test(gateways),
    };
    int failed = cmocka_run_group_tests(tests, setup, NULL);

    json_decref(kept);
    return failed;
}
