/* Unit tests of the wire codec (include/labshare/wire.c): round trips and every rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/wire.h"

static struct ls_reading sample(int64_t seq)
{
    struct ls_reading r;

    memset(&r, 0, sizeof(r));
    r.seq = seq;
    snprintf(r.instrument, sizeof(r.instrument), "icp-ms-01");
    r.ts = 1795000000000 + seq;
    r.state = LS_STATE_RUNNING;
    r.run_seconds = 4294967295LL;
    r.energy_wh = 12;
    r.power_w = 1500.5;
    r.samples = 7;
    r.badge = 1001;
    r.has = LS_HAS_RUN_SECONDS | LS_HAS_ENERGY_WH | LS_HAS_POWER_W | LS_HAS_SAMPLES | LS_HAS_BADGE;
    r.cause = LS_CAUSE_HEARTBEAT;
    return r;
}

static void batch_round_trip(void **state)
{
    struct ls_reading in[3] = {sample(1), sample(2), sample(3)};
    struct ls_batch b;
    char err[200];
    char *s;

    (void)state;
    in[1].has = 0; /* a reading with no optional fields */
    in[1].state = LS_STATE_FAULT;
    in[2].cause = LS_CAUSE_BOOT;
    s = ls_batch_encode("gw-1", 42, -1, in, 3);
    assert_non_null(s);
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, err, sizeof(err)), LS_OK);
    assert_string_equal(b.gateway, "gw-1");
    assert_int_equal(b.epoch, 42);
    assert_int_equal(b.count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(b.readings[i].seq, in[i].seq);
        assert_string_equal(b.readings[i].instrument, in[i].instrument);
        assert_int_equal(b.readings[i].ts, in[i].ts);
        assert_int_equal(b.readings[i].state, in[i].state);
        assert_int_equal(b.readings[i].cause, in[i].cause);
        assert_int_equal(b.readings[i].has & ~LS_HAS_TS, in[i].has);
    }
    assert_int_equal(b.readings[0].run_seconds, 4294967295LL);
    assert_true(b.readings[0].power_w == 1500.5);
    assert_int_equal(b.readings[0].badge, 1001);
    ls_batch_release(&b);
    free(s);
}

/* the relay state (issue 12) is optional, a boolean, and survives the trip both ways */
static void interlock_field(void **state)
{
    struct ls_reading in[2] = {sample(1), sample(2)}, r;
    struct ls_batch b;
    char err[200];
    char *s;

    (void)state;
    in[0].interlock = 1;
    in[0].has |= LS_HAS_INTERLOCK;
    in[1].interlock = 0;
    in[1].has |= LS_HAS_INTERLOCK;
    s = ls_batch_encode("gw-1", 42, -1, in, 2);
    assert_non_null(strstr(s, "\"interlock\":true"));
    assert_non_null(strstr(s, "\"interlock\":false"));
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, err, sizeof(err)), LS_OK);
    assert_true(b.readings[0].has & LS_HAS_INTERLOCK);
    assert_int_equal(b.readings[0].interlock, 1);
    assert_true(b.readings[1].has & LS_HAS_INTERLOCK);
    assert_int_equal(b.readings[1].interlock, 0);
    ls_batch_release(&b);
    free(s);
    assert_int_equal(
        ls_meter_decode("{\"state\":\"idle\",\"interlock\":null}", 33, &r, err, sizeof(err)),
        LS_OK);
    assert_false(r.has & LS_HAS_INTERLOCK);
    assert_int_equal(
        ls_meter_decode("{\"state\":\"idle\",\"interlock\":1}", 30, &r, err, sizeof(err)),
        LS_ERR_INVAL);
    assert_non_null(strstr(err, "interlock"));
    assert_int_equal(
        ls_meter_decode("{\"state\":\"idle\",\"interlock\":\"on\"}", 33, &r, err, sizeof(err)),
        LS_ERR_INVAL);
}

static void batch_after(void **state)
{
    struct ls_reading in[2] = {sample(5), sample(9)};
    struct ls_batch b;
    char err[200];
    char *s;

    (void)state;
    s = ls_batch_encode("gw", 3, 4, in, 2);
    assert_non_null(strstr(s, "\"after\":4"));
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, err, sizeof(err)), LS_OK);
    assert_int_equal(b.after, 4);
    ls_batch_release(&b);
    free(s);
    s = ls_batch_encode("gw", 3, -1, in, 2);
    assert_null(strstr(s, "after"));
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, err, sizeof(err)), LS_OK);
    assert_int_equal(b.after, -1);
    ls_batch_release(&b);
    free(s);
    /* after must lie before the first seq */
    s = ls_batch_encode("gw", 3, 5, in, 2);
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, "not after 'after'"));
    free(s);
    s = "{\"gateway\":\"g\",\"epoch\":1,\"after\":-2,\"readings\":[]}";
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, err, sizeof(err)), LS_ERR_INVAL);
}

static void batch_empty_ok(void **state)
{
    struct ls_batch b;
    const char *s = "{\"gateway\":\"g\",\"epoch\":1,\"readings\":[]}";

    (void)state;
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, NULL, 0), LS_OK);
    assert_int_equal(b.count, 0);
    ls_batch_release(&b);
}

/* Each of these must be refused with a reason. */
static void batch_rejections(void **state)
{
    static const struct {
        const char *json;
        const char *reason; /* a word the error must contain */
    } bad[] = {
        {"not json", "malformed"},
        {"[1,2]", "object"},
        {"{\"epoch\":1,\"readings\":[]}", "gateway"},
        {"{\"gateway\":\"a/b\",\"epoch\":1,\"readings\":[]}", "gateway"},
        {"{\"gateway\":\"g\",\"epoch\":0,\"readings\":[]}", "epoch"},
        {"{\"gateway\":\"g\",\"epoch\":\"1\",\"readings\":[]}", "epoch"},
        {"{\"gateway\":\"g\",\"epoch\":1}", "readings"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":{}}", "readings"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[1]}", "object"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"instrument\":\"i\",\"ts\":1,"
         "\"state\":\"idle\",\"cause\":\"boot\"}]}",
         "seq"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"ts\":1,"
         "\"state\":\"idle\",\"cause\":\"boot\"}]}",
         "instrument"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"instrument\":\"i\","
         "\"state\":\"idle\",\"cause\":\"boot\"}]}",
         "ts"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"instrument\":\"i\",\"ts\":1,"
         "\"state\":\"busy\",\"cause\":\"boot\"}]}",
         "state"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"instrument\":\"i\",\"ts\":1,"
         "\"state\":\"idle\",\"cause\":\"why\"}]}",
         "cause"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"instrument\":\"i\",\"ts\":1,"
         "\"state\":\"idle\",\"cause\":\"boot\",\"run_seconds\":-1}]}",
         "run_seconds"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"instrument\":\"i\",\"ts\":1,"
         "\"state\":\"idle\",\"cause\":\"boot\",\"energy_wh\":1.5}]}",
         "energy_wh"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"instrument\":\"i\",\"ts\":1,"
         "\"state\":\"idle\",\"cause\":\"boot\",\"power_w\":\"5\"}]}",
         "power_w"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"instrument\":\"i\",\"ts\":1,"
         "\"state\":\"idle\",\"cause\":\"boot\",\"samples\":9007199254740992}]}",
         "samples"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":[{\"seq\":1,\"instrument\":\"i\","
         "\"ts\":99999999999999999,\"state\":\"idle\",\"cause\":\"boot\"}]}",
         "ts"},
        {"{\"gateway\":\"g\",\"epoch\":1,\"readings\":["
         "{\"seq\":2,\"instrument\":\"i\",\"ts\":1,\"state\":\"idle\",\"cause\":\"boot\"},"
         "{\"seq\":2,\"instrument\":\"i\",\"ts\":1,\"state\":\"idle\",\"cause\":\"boot\"}]}",
         "increase"},
        {"{\"gateway\":\"g\",\"gateway\":\"h\",\"epoch\":1,\"readings\":[]}", "duplicate"},
    };
    char err[300];
    struct ls_batch b;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        memset(&b, 0, sizeof(b));
        if (ls_batch_decode(bad[i].json, strlen(bad[i].json), &b, err, sizeof(err)) == LS_OK)
            fail_msg("accepted bad batch %zu: %s", i, bad[i].json);
        if (!strstr(err, bad[i].reason))
            fail_msg("batch %zu: error '%s' does not mention '%s'", i, err, bad[i].reason);
        assert_null(b.readings);
    }
}

static void batch_too_many(void **state)
{
    struct ls_reading *r = calloc(LS_BATCH_MAX_READINGS + 1, sizeof(*r));
    struct ls_batch b;
    char err[200];
    char *s;

    (void)state;
    for (int i = 0; i <= LS_BATCH_MAX_READINGS; i++) {
        r[i] = sample(i + 1);
    }
    s = ls_batch_encode("gw", 1, -1, r, LS_BATCH_MAX_READINGS + 1);
    assert_non_null(s);
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, err, sizeof(err)), LS_ERR_TOOBIG);
    assert_non_null(strstr(err, "exceeds"));
    free(s);
    /* exactly the maximum is fine */
    s = ls_batch_encode("gw", 1, -1, r, LS_BATCH_MAX_READINGS);
    assert_int_equal(ls_batch_decode(s, strlen(s), &b, err, sizeof(err)), LS_OK);
    assert_int_equal(b.count, LS_BATCH_MAX_READINGS);
    ls_batch_release(&b);
    free(s);
    free(r);
}

static void payload_too_big(void **state)
{
    size_t n = LS_PAYLOAD_MAX + 1;
    char *s = malloc(n);
    struct ls_reading r;
    char err[100];

    (void)state;
    memset(s, ' ', n);
    assert_int_equal(ls_meter_decode(s, n, &r, err, sizeof(err)), LS_ERR_TOOBIG);
    free(s);
}

static void meter_payload(void **state)
{
    struct ls_reading r, in = sample(0);
    const char *minimal = "{\"state\":\"idle\"}";
    char err[200];
    char *s;

    (void)state;
    assert_int_equal(ls_meter_decode(minimal, strlen(minimal), &r, err, sizeof(err)), LS_OK);
    assert_int_equal(r.state, LS_STATE_IDLE);
    assert_int_equal(r.has, 0); /* no ts, no counters */
    s = ls_meter_encode(&in);
    assert_int_equal(ls_meter_decode(s, strlen(s), &r, err, sizeof(err)), LS_OK);
    assert_int_equal(r.has, in.has | LS_HAS_TS);
    assert_int_equal(r.ts, in.ts);
    assert_int_equal(r.samples, 7);
    free(s);
    assert_int_not_equal(ls_meter_decode("{}", 2, &r, err, sizeof(err)), LS_OK);
    assert_non_null(strstr(err, "state"));
    assert_int_not_equal(ls_meter_decode("{\"state\":2}", 11, &r, err, sizeof(err)), LS_OK);
}

static void ack_and_status(void **state)
{
    struct ls_ack a = {77, 12345}, b;
    struct ls_status st, back;
    char ids[2][LS_ID_MAX] = {"a", "b-2"};
    char err[200];
    char *s;

    (void)state;
    s = ls_ack_encode(&a);
    assert_int_equal(ls_ack_decode(s, strlen(s), &b, err, sizeof(err)), LS_OK);
    assert_int_equal(b.epoch, 77);
    assert_int_equal(b.upto, 12345);
    free(s);
    assert_int_not_equal(ls_ack_decode("{\"epoch\":1}", 11, &b, err, sizeof(err)), LS_OK);
    assert_int_not_equal(ls_ack_decode("{\"epoch\":1,\"upto\":-1}", 21, &b, err, sizeof(err)),
                         LS_OK);

    memset(&st, 0, sizeof(st));
    st.online = 1;
    snprintf(st.version, sizeof(st.version), "9.9");
    st.outbox = 5;
    st.instrument_count = 2;
    st.instruments = ids;
    s = ls_status_encode(&st);
    assert_int_equal(ls_status_decode(s, strlen(s), &back, err, sizeof(err)), LS_OK);
    assert_int_equal(back.online, 1);
    assert_int_equal(back.outbox, 5);
    assert_int_equal(back.instrument_count, 2);
    assert_string_equal(back.instruments[1], "b-2");
    assert_string_equal(back.version, "9.9");
    ls_status_release(&back);
    free(s);
    assert_int_not_equal(ls_status_decode("{\"online\":1}", 12, &back, err, sizeof(err)), LS_OK);
    /* relay states and faults (issue 12) */
    {
        char il_ids[1][LS_ID_MAX] = {"a"}, f_ids[1][LS_ID_MAX] = {"b-2"};
        char faults[1][LS_FAULT_MAX] = {"meter unreachable: Connection refused"};
        int on[1] = {1};
        st.interlock_count = 1;
        st.interlock_ids = il_ids;
        st.interlock_on = on;
        st.fault_count = 1;
        st.fault_ids = f_ids;
        st.faults = faults;
        s = ls_status_encode(&st);
        assert_int_equal(ls_status_decode(s, strlen(s), &back, err, sizeof(err)), LS_OK);
        assert_int_equal(back.interlock_count, 1);
        assert_string_equal(back.interlock_ids[0], "a");
        assert_int_equal(back.interlock_on[0], 1);
        assert_int_equal(back.fault_count, 1);
        assert_string_equal(back.fault_ids[0], "b-2");
        assert_string_equal(back.faults[0], "meter unreachable: Connection refused");
        ls_status_release(&back);
        free(s);
    }
    {
        static const char *const bad[] = {
            "{\"online\":true,\"interlock_faults\":[\"x\"]}",
            "{\"online\":true,\"interlock_faults\":{\"a\":1}}",
            "{\"online\":true,\"interlock_faults\":{\"a\":\"\"}}",
            "{\"online\":true,\"interlock_faults\":{\"a\":\"line\\nbreak\"}}",
            "{\"online\":true,\"interlock_faults\":{\"a\":\"\u00e9\"}}",
            "{\"online\":true,\"interlock_faults\":{\"../a\":\"x\"}}",
        };
        char big[400];
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            assert_int_equal(ls_status_decode(bad[i], strlen(bad[i]), &back, err, sizeof(err)),
                             LS_ERR_INVAL);
        snprintf(big, sizeof(big), "{\"online\":true,\"interlock_faults\":{\"a\":\"%0*d\"}}",
                 LS_FAULT_MAX, 0);
        assert_int_equal(ls_status_decode(big, strlen(big), &back, err, sizeof(err)), LS_ERR_INVAL);
        snprintf(big, sizeof(big), "{\"online\":true,\"interlock_faults\":{\"a\":\"%0*d\"}}",
                 LS_FAULT_MAX - 1, 0);
        assert_int_equal(ls_status_decode(big, strlen(big), &back, err, sizeof(err)), LS_OK);
        ls_status_release(&back);
    }
    assert_int_not_equal(ls_status_decode("{\"online\":true,\"instruments\":[\"../x\"]}", 37, &back,
                                          err, sizeof(err)),
                         LS_OK);
}

static void topics_and_ids(void **state)
{
    char buf[128], gw[LS_ID_MAX];
    enum ls_topic_kind k;

    (void)state;
    assert_int_equal(ls_topic(buf, sizeof(buf), "gw-7", LS_TOPIC_ACK), LS_OK);
    assert_string_equal(buf, "labshare/v1/gw/gw-7/ack");
    assert_int_equal(ls_topic(buf, 10, "gw-7", LS_TOPIC_ACK), LS_ERR_TOOBIG);
    assert_int_equal(ls_topic_parse("labshare/v1/gw/gw-7/readings", &k, gw), LS_OK);
    assert_int_equal(k, LS_TOPIC_READINGS);
    assert_string_equal(gw, "gw-7");
    assert_int_not_equal(ls_topic_parse("labshare/v1/gw/gw-7/other", &k, gw), LS_OK);
    assert_int_not_equal(ls_topic_parse("labshare/v1/gw//readings", &k, gw), LS_OK);
    assert_int_not_equal(ls_topic_parse("labshare/v2/gw/x/readings", &k, gw), LS_OK);
    assert_int_not_equal(ls_topic_parse("labshare/v1/gw/x/readings/more", &k, gw), LS_OK);
    assert_true(ls_id_valid("icp-ms_01.a"));
    assert_false(ls_id_valid(""));
    assert_false(ls_id_valid(".."));
    assert_false(ls_id_valid("a/b"));
    assert_false(ls_id_valid("a+b"));
    memset(buf, 'a', 63);
    buf[63] = '\0';
    assert_true(ls_id_valid(buf)); /* 63 characters: the longest */
    buf[63] = 'a';
    buf[64] = '\0';
    assert_false(ls_id_valid(buf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_round_trip), cmocka_unit_test(batch_empty_ok),
        cmocka_unit_test(batch_after),      cmocka_unit_test(batch_rejections),
        cmocka_unit_test(batch_too_many),   cmocka_unit_test(payload_too_big),
        cmocka_unit_test(meter_payload),    cmocka_unit_test(ack_and_status),
        cmocka_unit_test(topics_and_ids),   cmocka_unit_test(interlock_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
