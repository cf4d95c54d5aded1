/* Unit tests of server storage (server/store.c) on real SQLite and, when LABSHARE_TEST_PG names
 * a PostgreSQL database (bash tests/pg.sh run ...), the same tests again on it: idempotent
 * ingest, the contiguous ack, migrations, tokens, the audit chain. */
// LINK: ALL_SERVER
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/auth.h"
#include "../../server/ingest.h"
#include "../../server/store.h"
#include "../../server/storage/db.h"
#include "labshare/rc.h"
#include "testutil.h"

static char path[1024];
static const char *pg_url; /* the engine under test: SQLite when NULL */
static char dberr[512];

/* A second connection, as another process or the API would have. */
static struct db *side(void)
{
    struct db *db = NULL;

    assert_int_equal(db_open(path, &db, dberr, sizeof(dberr)), DB_OK);
    return db;
}

/* The first column of the first row of sql, on a second connection. */
static int64_t side_int(const char *sql)
{
    struct db *db = side();
    struct db_stmt *q = NULL;
    int64_t v;

    assert_int_equal(db_prepare(db, sql, &q), DB_OK);
    assert_int_equal(db_step(q), DB_ROW);
    v = db_column_int64(q, 0);
    db_finalize(q);
    db_close(db);
    return v;
}

static void side_exec(const char *sql)
{
    struct db *db = side();
    int rc = db_exec(db, sql);

    if (rc != DB_OK)
        fprintf(stderr, "%s: %s\n", sql, db_errmsg(db));
    assert_int_equal(rc, DB_OK);
    db_close(db);
}

/* An empty database. */
static void reset_db(void)
{
    if (pg_url)
        side_exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    else
        unlink(path);
}

static int setup(void **state)
{
    (void)state;
    if (pg_url) {
        snprintf(path, sizeof(path), "%s", pg_url);
        reset_db();
        return 0;
    }
    return test_dir_make("server.db", path, sizeof(path));
}

static int teardown(void **state)
{
    (void)state;
    return pg_url ? 0 : test_dir_remove();
}

/* A batch of readings with the given seqs. */
static struct ls_batch batch(const char *gw, int64_t epoch, const int64_t *seqs, size_t n)
{
    struct ls_batch b;

    memset(&b, 0, sizeof(b));
    snprintf(b.gateway, sizeof(b.gateway), "%s", gw);
    b.epoch = epoch;
    b.after = -1;
    b.count = n;
    b.readings = calloc(n ? n : 1, sizeof(*b.readings));
    for (size_t i = 0; i < n; i++) {
        struct ls_reading *r = &b.readings[i];
        r->seq = seqs[i];
        snprintf(r->instrument, sizeof(r->instrument), "inst-%lld", (long long)(seqs[i] % 3));
        r->ts = 1000 * seqs[i];
        r->state = LS_STATE_RUNNING;
        r->run_seconds = seqs[i];
        r->has = LS_HAS_RUN_SECONDS;
        r->cause = LS_CAUSE_CHANGE;
    }
    return b;
}

/* Open the store with gateways "gw" (enabled) and "off" (disabled) registered and instruments
 * inst-0..2 bound to "gw" since the epoch; times far from now are fine here (the trust limits
 * are opened up), except where a test narrows them. */
static void open_trusting(struct store **st)
{
    struct trust_limits lim = {INT64_MAX / 4, INT64_MAX / 4, 1000000};

    assert_int_equal(store_open(path, st), LS_OK);
    side_exec("INSERT INTO orgs(id, name, type) VALUES(1, 'Lab', 'university')"
              " ON CONFLICT DO NOTHING;"
              "INSERT INTO gateways(id, registered_at, enabled) VALUES"
              " ('gw', 0, 1), ('off', 0, 0) ON CONFLICT DO NOTHING;"
              "INSERT INTO instruments(id, name, org_id, gateway, created_at)"
              " VALUES ('inst-0', 'I0', 1, 'gw', 0), ('inst-1', 'I1', 1, 'gw', 0),"
              " ('inst-2', 'I2', 1, 'gw', 0), ('other-gw', 'O', 1, 'off', 0)"
              " ON CONFLICT DO NOTHING;");
    store_set_trust(*st, &lim);
}

static int64_t count_readings(struct store *st)
{
    struct reading_query q = {NULL, INT64_MIN, INT64_MAX, 1, 0, 0};
    struct reading_row *rows;
    size_t n;
    int64_t total;

    assert_int_equal(store_readings_list(st, &q, &rows, &n, &total), LS_OK);
    free(rows);
    return total;
}

static void ingest_is_idempotent(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t s1[] = {1, 2, 3};
    struct ls_batch b = batch("gw", 7, s1, 3);

    (void)state;
    open_trusting(&st);
    assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.stored, 3);
    assert_int_equal(res.duplicates, 0);
    assert_int_equal(res.upto, 3);
    assert_int_equal(ingest_store_batches(st, &b, 1, 2, 120000, 300, &res), LS_OK);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.duplicates, 3);
    assert_int_equal(res.upto, 3);
    assert_int_equal(count_readings(st), 3);
    ls_batch_release(&b);
    store_close(st);
}

static void ack_stops_at_the_first_gap(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t s1[] = {1, 2, 4, 5}, s2[] = {3}, s3[] = {6, 7};
    struct ls_batch b1 = batch("gw", 7, s1, 4), b2 = batch("gw", 7, s2, 1);
    struct ls_batch b3 = batch("gw", 8, s3, 2); /* another epoch: its own sequence */

    (void)state;
    open_trusting(&st);
    assert_int_equal(ingest_store_batches(st, &b1, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, 2); /* 3 is missing */
    assert_int_equal(ingest_store_batches(st, &b2, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, 5); /* the gap is filled: 1..5 */
    assert_int_equal(ingest_store_batches(st, &b3, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, 0); /* epoch 8 has no seq 1 yet */
    assert_int_equal(count_readings(st), 7);
    ls_batch_release(&b1);
    ls_batch_release(&b2);
    ls_batch_release(&b3);
    store_close(st);
}

static void ack_walks_more_than_a_page(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t seqs[1000];
    struct ls_batch b;

    (void)state;
    open_trusting(&st);
    /* 2..2501 first (acks nothing), then 1: the walk must cross several pages of 1000 */
    for (int k = 0; k < 3; k++) {
        int64_t n = k < 2 ? 1000 : 500;
        for (int64_t i = 0; i < n; i++)
            seqs[i] = 2 + k * 1000 + i;
        b = batch("gw", 1, seqs, (size_t)n);
        assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
        assert_int_equal(res.upto, 0);
        ls_batch_release(&b);
    }
    seqs[0] = 1;
    b = batch("gw", 1, seqs, 1);
    assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, 2501);
    ls_batch_release(&b);
    store_close(st);
}

static void ack_crosses_thinned_ranges(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t s1[] = {1, 2, 5}, s2[] = {9, 10}, s3[] = {6};
    struct ls_batch b1 = batch("gw", 7, s1, 3), b2 = batch("gw", 7, s2, 2);
    struct ls_batch b3 = batch("gw", 7, s3, 1);

    (void)state;
    open_trusting(&st);
    /* b2 arrives first and says: after 6, 9 and 10 are all there is (7, 8 were thinned) */
    b2.after = 6;
    assert_int_equal(ingest_store_batches(st, &b2, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, 0);
    /* b1: 1..5 complete (3, 4 thinned) */
    b1.after = 0;
    assert_int_equal(ingest_store_batches(st, &b1, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, 5);
    /* b3 without a claim: 6 is stored, then the claim of b2 carries the ack to 10 */
    assert_int_equal(ingest_store_batches(st, &b3, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, 10);
    assert_int_equal(count_readings(st), 6); /* thinned seqs are not invented */
    ls_batch_release(&b1);
    ls_batch_release(&b2);
    ls_batch_release(&b3);
    store_close(st);
}

static void list_filters_and_pages(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t seqs[] = {1, 2, 3, 4, 5, 6};
    struct ls_batch b = batch("gw", 1, seqs, 6);
    struct reading_query q = {"inst-1", INT64_MIN, INT64_MAX, 100, 0, 0};
    struct reading_row *rows;
    size_t n;
    int64_t total;

    (void)state;
    open_trusting(&st);
    assert_int_equal(ingest_store_batches(st, &b, 1, 99, 120000, 300, &res), LS_OK);
    assert_int_equal(store_readings_list(st, &q, &rows, &n, &total), LS_OK);
    assert_int_equal(total, 2); /* seqs 1 and 4 */
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].r.seq, 1);
    assert_int_equal(rows[1].r.seq, 4);
    assert_int_equal(rows[1].received_ms, 99);
    assert_string_equal(rows[1].gateway, "gw");
    free(rows);
    /* [from, to): ts 2000 .. 4000 -> seqs 2, 3 */
    q.instrument = NULL;
    q.from_ms = 2000;
    q.to_ms = 4000;
    assert_int_equal(store_readings_list(st, &q, &rows, &n, &total), LS_OK);
    assert_int_equal(total, 2);
    free(rows);
    /* limit/offset page, total unchanged */
    q.from_ms = INT64_MIN;
    q.to_ms = INT64_MAX;
    q.limit = 2;
    q.offset = 4;
    assert_int_equal(store_readings_list(st, &q, &rows, &n, &total), LS_OK);
    assert_int_equal(total, 6);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].r.seq, 5);
    free(rows);
    ls_batch_release(&b);
    store_close(st);
}

static void migrations_run_once_and_refuse_newer(void **state)
{
    struct store *st;
    int v;

    (void)state;
    open_trusting(&st);
    v = store_schema_version(st);
    assert_true(v >= 1);
    store_close(st);
    open_trusting(&st); /* reopening migrates nothing */
    assert_int_equal(store_schema_version(st), v);
    store_close(st);
    /* a schema of 14 (before booking_spans), with a booking, is upgraded on either engine: the
     * longest booking is taken from the bookings there */
    side_exec(pg_url ? "DROP TRIGGER booking_spans_keep ON bookings; DROP FUNCTION"
                       " booking_spans_keep(); DROP TABLE booking_spans; DROP INDEX"
                       " bookings_user_open; ALTER TABLE usage DROP COLUMN external;"
                       " DROP TABLE usage_days; DROP TABLE usage_months; DROP TABLE booking_months;"
                       " DROP TABLE charge_months; DROP INDEX charges_instrument_month;"
                       " DROP TABLE order_results; DROP TABLE orders; DROP INDEX bookings_order;"
                       " ALTER TABLE bookings DROP COLUMN order_id; DROP TABLE notifications;"
                       " DROP INDEX bookings_confirmed_start; DROP INDEX bookings_pending;"
                       " ALTER TABLE users DROP COLUMN email; ALTER TABLE users DROP COLUMN lang;"
                       " ALTER TABLE users DROP COLUMN mail_opt_out; ALTER TABLE orgs DROP COLUMN"
                       " webhook_url; ALTER TABLE orgs DROP COLUMN webhook_secret;"
                       " UPDATE labshare_schema"
                       " SET version = 14"
                     : "DROP TRIGGER booking_spans_insert; DROP TRIGGER booking_spans_update;"
                       " DROP TABLE booking_spans; DROP INDEX bookings_user_open;"
                       " ALTER TABLE usage DROP COLUMN external; DROP TABLE usage_days;"
                       " DROP TABLE usage_months; DROP TABLE booking_months;"
                       " DROP TABLE charge_months; DROP INDEX charges_instrument_month;"
                       " DROP TABLE order_results; DROP TABLE orders; DROP INDEX bookings_order;"
                       " ALTER TABLE bookings DROP COLUMN order_id; DROP TABLE notifications;"
                       " DROP INDEX bookings_confirmed_start; DROP INDEX bookings_pending;"
                       " ALTER TABLE users DROP COLUMN email; ALTER TABLE users DROP COLUMN lang;"
                       " ALTER TABLE users DROP COLUMN mail_opt_out; ALTER TABLE orgs DROP COLUMN"
                       " webhook_url; ALTER TABLE orgs DROP COLUMN webhook_secret;"
                       " PRAGMA user_version = 14");
    /* with usage of a user of another organisation, across midnight (UTC here): schema 16
     * marks it external and sums it per day, an hour on each */
    side_exec("INSERT INTO orgs(id, name, type) VALUES(901, 'owner 901', 'university'),"
              " (902, 'other 902', 'enterprise');"
              "INSERT INTO users(id, username, role, org_id, created_at)"
              " VALUES(5, 'u', 'researcher', 902, 0);"
              "UPDATE instruments SET org_id = 901 WHERE id = 'inst-0';"
              "INSERT INTO bookings(instrument, user_id, start_ms, end_ms, status, created_by,"
              " created_at) VALUES('inst-0', 5, 0, 9000000, 'confirmed', 5, 0);"
              "INSERT INTO usage(instrument, session_start, session_end, open, start_ms, end_ms,"
              " run_ms, energy_wh, samples, user_id, attribution) VALUES('inst-0', 82800000,"
              " 90000000, 0, 82800000, 90000000, 7200000, 0, 0, 5, 'badge')");
    open_trusting(&st);
    assert_int_equal(store_schema_version(st), v);
    assert_int_equal(side_int("SELECT external FROM usage"), 1);
    assert_int_equal(side_int("SELECT count(*) FROM usage_days WHERE effective_ms = 3600000 AND"
                              " external_ms = 3600000 AND inside_ms = 0"),
                     2);
    assert_int_equal(side_int("SELECT booked_ms FROM booking_months WHERE instrument = 'inst-0'"
                              " AND month_ms = 0"),
                     9000000);
    assert_int_equal(side_int("SELECT count(*) FROM usage_months WHERE month_ms = 0 AND"
                              " effective_ms = 7200000 AND external_ms = 7200000"),
                     1);
    {
        int64_t days = 0, diffs = 0;
        assert_int_equal(store_usage_days_check(st, 0, &days, &diffs), LS_OK);
        assert_int_equal(days, 2);
        assert_int_equal(diffs, 0);
        /* a stored sum that the sessions do not give is found */
        side_exec("UPDATE usage_days SET inside_ms = 1 WHERE day_ms = 0;"
                  "DELETE FROM usage_months");
        assert_int_equal(store_usage_days_check(st, 0, &days, &diffs), LS_OK);
        assert_int_equal(diffs, 2);
        assert_int_equal(store_usage_days_check(st, 1, &days, &diffs), LS_OK);
        assert_int_equal(store_usage_days_check(st, 0, &days, &diffs), LS_OK);
        assert_int_equal(diffs, 0);
    }
    {
        int64_t conflict = 0;
        assert_int_equal(store_booking_overlap(st, "inst-0", 8000000, 8000001, 0, &conflict),
                         LS_ERR_CONFLICT);
        assert_int_equal(conflict, 1);
    }
    store_close(st);
    side_exec(pg_url ? "UPDATE labshare_schema SET version = 999" : "PRAGMA user_version = 999");
    st = NULL;
    assert_int_equal(store_open(path, &st), LS_ERR_DB);
    assert_null(st);
}

static void tokens_are_stored_hashed(void **state)
{
    struct store *st;
    struct principal p;
    char tok[AUTH_TOKEN_LEN], hdr[100];
    int64_t uid, uid2;
    struct db *db;
    struct db_stmt *q;

    (void)state;
    assert_int_equal(auth_init(), LS_OK);
    open_trusting(&st);
    assert_int_equal(store_admin_ensure(st, &uid), LS_OK);
    assert_int_equal(store_admin_ensure(st, &uid2), LS_OK);
    assert_int_equal(uid, uid2); /* created once */
    assert_int_equal(auth_token_issue(st, uid, "test", 0, tok, NULL), LS_OK);
    assert_int_equal(strlen(tok), AUTH_TOKEN_LEN - 1);
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    assert_int_equal(auth_bearer(st, hdr, &p), LS_OK);
    assert_string_equal(p.username, "admin");
    assert_string_equal(p.role, "admin");
    hdr[20] = hdr[20] == 'a' ? 'b' : 'a';
    assert_int_equal(auth_bearer(st, hdr, &p), LS_ERR_AUTH);
    assert_int_equal(auth_bearer(st, NULL, &p), LS_ERR_AUTH);
    assert_int_equal(auth_bearer(st, "Basic abc", &p), LS_ERR_AUTH);
    assert_int_equal(auth_bearer(st, "Bearer short", &p), LS_ERR_AUTH);
    store_close(st);
    /* the token text is nowhere in the database */
    db = side();
    assert_int_equal(db_prepare(db, "SELECT count(*) FROM tokens WHERE hash = ?", &q), DB_OK);
    db_bind_blob(q, 1, tok, (int)strlen(tok), DB_STATIC);
    assert_int_equal(db_step(q), DB_ROW);
    assert_int_equal(db_column_int(q, 0), 0);
    db_finalize(q);
    db_close(db);
}

/* Three audit records, then the chain verified, tampered with in the SQLite file, verified. */
static void audit_chain_detects_tampering(void **state)
{
    static const char *const tamper[] = {
        "UPDATE audit SET after = '{\"id\":1,\"name\":\"forged\"}' WHERE seq = 2",
        "DELETE FROM audit WHERE seq = 2",
        "DELETE FROM audit WHERE seq = 3",
        "UPDATE audit SET actor = 'someone-else' WHERE seq = 1",
        /* the principal is covered too: a user's act passed off as the system's */
        "UPDATE audit SET actor_kind = 'system', actor_id = 'metering' WHERE seq = 3",
        "UPDATE audit SET actor_user = 1 WHERE seq = 3",
        /* ... and so is a principal stripped off */
        "UPDATE audit SET actor_kind = NULL, actor_id = NULL, actor_user = NULL WHERE seq = 2",
    };
    static const int64_t first_bad[] = {2, 3, 3, 1, 3, 3, 2};
    static const char *const reason[] = {"was changed", "record 2 is missing", "were deleted",
                                         "was changed", "was changed",         "was changed",
                                         "was changed"};
    struct audit_actor admin = {"user", "1", 1, "admin"}, li = {"token", "7", 4, "dr.li"};

    (void)state;
    for (size_t t = 0; t < sizeof(tamper) / sizeof(tamper[0]); t++) {
        struct store *st;
        json_t *a = json_pack("{s:i, s:s}", "id", 1, "name", "ECUT");
        int64_t checked, bad;
        char why[300];

        reset_db();
        open_trusting(&st);
        assert_int_equal(store_begin(st), LS_OK);
        assert_int_equal(store_audit_append(st, 1000, &admin, "org.create", "org/1", NULL, a),
                         LS_OK);
        assert_int_equal(store_audit_append(st, 2000, &admin, "org.update", "org/1", a, a), LS_OK);
        assert_int_equal(store_audit_append(st, 3000, &li, "booking.create", "booking/1", NULL, a),
                         LS_OK);
        assert_int_equal(store_commit(st), LS_OK);
        assert_int_equal(store_audit_verify(st, &checked, &bad, why, sizeof(why)), LS_OK);
        assert_int_equal(checked, 3);
        assert_int_equal(bad, 0);
        store_close(st);
        side_exec(tamper[t]);
        open_trusting(&st);
        assert_int_equal(store_audit_verify(st, &checked, &bad, why, sizeof(why)), LS_OK);
        if (bad != first_bad[t] || !strstr(why, reason[t]))
            fail_msg("tamper %zu: first bad %lld (%s)", t, (long long)bad, why);
        store_close(st);
        json_decref(a);
    }
}

static size_t refused_total(const struct ingest_result *r)
{
    size_t n = 0;

    for (int c = 0; c < TRUST_CAUSE_COUNT; c++)
        n += r->refused[c];
    return n;
}

static void unregistered_or_disabled_gateway_is_refused_unacked(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t s1[] = {1, 2};
    struct ls_batch b = batch("stranger", 1, s1, 2), d = batch("off", 1, s1, 2);

    (void)state;
    open_trusting(&st);
    assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, -1); /* no ack at all */
    assert_int_equal(res.refused[TRUST_UNKNOWN_GATEWAY], 2);
    assert_int_equal(ingest_store_batches(st, &d, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, -1);
    assert_int_equal(res.refused[TRUST_UNKNOWN_GATEWAY], 2);
    assert_int_equal(count_readings(st), 0);
    ls_batch_release(&b);
    ls_batch_release(&d);
    store_close(st);
}

static void unbound_bad_time_and_bad_value_are_refused_the_rest_stored_and_acked(void **state)
{
    struct store *st;
    struct ingest_result res;
    struct trust_limits lim = {300 * 1000, 86400 * 1000, 1000};
    int64_t seqs[] = {1, 2, 3, 4, 5, 6};
    struct ls_batch b = batch("gw", 1, seqs, 6);
    int64_t now = 1800000000000LL;

    (void)state;
    open_trusting(&st);
    store_set_trust(st, &lim);
    for (size_t i = 0; i < 6; i++)
        b.readings[i].ts = now - 1000;
    snprintf(b.readings[1].instrument, LS_ID_MAX, "nowhere");  /* unknown instrument */
    snprintf(b.readings[2].instrument, LS_ID_MAX, "other-gw"); /* bound elsewhere */
    b.readings[3].ts = now + 301 * 1000;                       /* the future */
    b.readings[4].samples = TRUST_COUNTER_MAX + 1;             /* 2^53 - 1 would be too */
    b.readings[4].has |= LS_HAS_SAMPLES;
    assert_int_equal(ingest_store_batches(st, &b, 1, now, 120000, 300, &res), LS_OK);
    assert_int_equal(res.stored, 2);
    assert_int_equal(res.refused[TRUST_UNBOUND_INSTRUMENT], 2);
    assert_int_equal(res.refused[TRUST_BAD_TIME], 1);
    assert_int_equal(res.refused[TRUST_BAD_VALUE], 1);
    assert_int_equal(res.upto, 6); /* the refused are handled: the gateway may forget them */
    assert_int_equal(count_readings(st), 2);
    /* bound through the API meanwhile (another connection): believed from then on */
    {
        int64_t s9[] = {9};
        struct ls_batch nb = batch("gw", 1, s9, 1);
        side_exec("UPDATE instruments SET gateway = 'gw' WHERE id = 'other-gw'");
        snprintf(nb.readings[0].instrument, LS_ID_MAX, "other-gw");
        nb.readings[0].ts = now;
        assert_int_equal(ingest_store_batches(st, &nb, 1, now, 120000, 300, &res), LS_OK);
        assert_int_equal(res.stored, 1);
        ls_batch_release(&nb);
    }
    /* the edge: exactly max_future_s ahead is still believed */
    ls_batch_release(&b);
    seqs[0] = 7;
    b = batch("gw", 1, seqs, 1);
    b.readings[0].ts = now + 300 * 1000;
    assert_int_equal(ingest_store_batches(st, &b, 1, now, 120000, 300, &res), LS_OK);
    assert_int_equal(res.stored, 1);
    /* and before the instrument existed minus max_past_days: refused */
    ls_batch_release(&b);
    seqs[0] = 8;
    b = batch("gw", 1, seqs, 1);
    b.readings[0].ts = -86400 * 1000 - 1;
    assert_int_equal(ingest_store_batches(st, &b, 1, now, 120000, 300, &res), LS_OK);
    assert_int_equal(res.refused[TRUST_BAD_TIME], 1);
    ls_batch_release(&b);
    store_close(st);
}

static void conflicting_repeat_is_kept_out(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t seqs[] = {1, 2};
    struct ls_batch b = batch("gw", 1, seqs, 2), f = batch("gw", 1, seqs, 2);
    struct reading_query q = {NULL, INT64_MIN, INT64_MAX, 10, 0, 0};
    struct reading_row *rows;
    size_t n;
    int64_t total;

    (void)state;
    open_trusting(&st);
    assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
    f.readings[1].run_seconds = 999999; /* same seq, other content */
    assert_int_equal(ingest_store_batches(st, &f, 1, 2, 120000, 300, &res), LS_OK);
    assert_int_equal(res.duplicates, 1);
    assert_int_equal(res.refused[TRUST_CONFLICTING_REPEAT], 1);
    assert_int_equal(store_readings_list(st, &q, &rows, &n, &total), LS_OK);
    assert_int_equal(total, 2);
    assert_int_equal(rows[1].r.run_seconds, 2); /* the first stays */
    free(rows);
    ls_batch_release(&b);
    ls_batch_release(&f);
    store_close(st);
}

/* the relay state of a reading (issue 12) is stored, read back, and part of its identity */
static void interlock_state_is_kept_and_compared(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t seqs[] = {1, 2, 3};
    struct ls_batch b = batch("gw", 1, seqs, 3), f = batch("gw", 1, seqs, 3);
    struct reading_query q = {NULL, INT64_MIN, INT64_MAX, 10, 0, 0};
    struct reading_row *rows;
    size_t n;
    int64_t total;

    (void)state;
    open_trusting(&st);
    b.readings[0].has |= LS_HAS_INTERLOCK;
    b.readings[0].interlock = 1;
    b.readings[1].has |= LS_HAS_INTERLOCK;
    b.readings[1].interlock = 0;
    f.readings[0].has |= LS_HAS_INTERLOCK;
    f.readings[0].interlock = 0; /* the same reading claiming the relay was off */
    f.readings[1].has |= LS_HAS_INTERLOCK;
    f.readings[1].interlock = 0;
    assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.stored, 3);
    assert_int_equal(ingest_store_batches(st, &f, 1, 2, 120000, 300, &res), LS_OK);
    assert_int_equal(res.refused[TRUST_CONFLICTING_REPEAT], 1);
    assert_int_equal(res.duplicates, 2);
    assert_int_equal(store_readings_list(st, &q, &rows, &n, &total), LS_OK);
    assert_int_equal(n, 3);
    assert_true(rows[0].r.has & LS_HAS_INTERLOCK);
    assert_int_equal(rows[0].r.interlock, 1);
    assert_true(rows[1].r.has & LS_HAS_INTERLOCK);
    assert_int_equal(rows[1].r.interlock, 0);
    assert_false(rows[2].r.has & LS_HAS_INTERLOCK);
    assert_int_equal(rows[2].received_ms, 1); /* the columns after the reading's are in place */
    free(rows);
    ls_batch_release(&b);
    ls_batch_release(&f);
    store_close(st);
}

static void range_claims_longer_than_thinning_explains_are_refused(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t s1[] = {1, 2, 3}, s2[] = {9007199254740991LL}, s3[] = {2000};
    int64_t s4[] = {2000 + 1000000 + 2}, s5[] = {2000 + 1000000 + 1};
    struct ls_batch b1 = batch("gw", 1, s1, 3), far = batch("gw", 1, s2, 1);
    struct ls_batch behind = batch("gw", 1, s3, 1), longer = batch("gw", 1, s4, 1);
    struct ls_batch edge = batch("gw", 1, s5, 1);

    (void)state;
    open_trusting(&st); /* max_thinned 1000000 */
    assert_int_equal(ingest_store_batches(st, &b1, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.upto, 3);
    /* "after": 0 and one reading at 2^53 - 1: the ack must not jump there */
    far.after = 0;
    assert_int_equal(ingest_store_batches(st, &far, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.refused[TRUST_BAD_RANGE_CLAIM], 1);
    assert_int_equal(res.upto, 3);
    /* a resend claiming from behind the stored ack (1 < 3) is taken from the ack: 1996 thinned */
    behind.after = 1;
    assert_int_equal(ingest_store_batches(st, &behind, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(refused_total(&res), 0);
    assert_int_equal(res.upto, 2000);
    /* one more thinned seq than allowed is refused, exactly the allowed number is believed */
    longer.after = 2000;
    assert_int_equal(ingest_store_batches(st, &longer, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.refused[TRUST_BAD_RANGE_CLAIM], 1);
    assert_int_equal(res.upto, 2000);
    edge.after = 2000;
    assert_int_equal(ingest_store_batches(st, &edge, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(refused_total(&res), 0);
    assert_int_equal(res.upto,
                     2000 + 1000000 + 2); /* and the reading of the refused claim follows */
    ls_batch_release(&b1);
    ls_batch_release(&far);
    ls_batch_release(&behind);
    ls_batch_release(&longer);
    ls_batch_release(&edge);
    store_close(st);
}

static void badge_user_is_frozen_at_arrival(void **state)
{
    struct store *st;
    struct ingest_result res;
    int64_t seqs[] = {1};
    struct ls_batch b = batch("gw", 1, seqs, 1);
    struct db *db;
    struct db_stmt *q;

    (void)state;
    open_trusting(&st);
    db = side();
    assert_int_equal(db_exec(db, "INSERT INTO users(id, username, role, badge, created_at)"
                                 " VALUES(7, 'li', 'researcher', 1042, 0)"),
                     DB_OK);
    b.readings[0].badge = 1042;
    b.readings[0].has |= LS_HAS_BADGE;
    assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
    /* the badge moves to someone else later: the reading keeps its user */
    assert_int_equal(db_exec(db, "UPDATE users SET badge = NULL WHERE id = 7;"
                                 "INSERT INTO users(id, username, role, badge, created_at)"
                                 " VALUES(8, 'wang', 'researcher', 1042, 0)"),
                     DB_OK);
    assert_int_equal(db_prepare(db, "SELECT badge_user FROM readings", &q), DB_OK);
    assert_int_equal(db_step(q), DB_ROW);
    assert_int_equal(db_column_int64(q, 0), 7);
    db_finalize(q);
    db_close(db);
    ls_batch_release(&b);
    store_close(st);
}

/* A booking's share of the month sums follows it: split at midnight of the 1st (UTC here), its
 * end, rating and no-show counted in the month it ends, all of it gone once it is cancelled; the
 * check recomputing them from the rows agrees all along. */
static void month_sums_follow_a_booking(void **state)
{
    static const int64_t feb = 31LL * 86400000;
    struct store *st;
    struct booking b;
    int64_t rows = 0, diffs = 0;

    (void)state;
    open_trusting(&st);
    side_exec("INSERT INTO users(id, username, role, created_at) VALUES(5, 'u', 'researcher', 0)");
    memset(&b, 0, sizeof(b));
    snprintf(b.instrument, sizeof(b.instrument), "inst-0");
    b.user_id = b.created_by = 5;
    b.start_ms = feb - 3600000;
    b.end_ms = feb + 7200000;
    b.status = BOOKING_CONFIRMED;
    assert_int_equal(store_begin(st), LS_OK);
    assert_int_equal(store_booking_insert(st, &b), LS_OK);
    assert_int_equal(store_booking_set_status(st, b.id, BOOKING_NO_SHOW, NULL), LS_OK);
    assert_int_equal(store_booking_rate(st, b.id, 4, "fine"), LS_OK);
    assert_int_equal(store_commit(st), LS_OK);
    assert_int_equal(side_int("SELECT booked_ms FROM booking_months WHERE month_ms = 0"), 3600000);
    assert_int_equal(side_int("SELECT booked_ms * 1000 + ended * 100 + no_shows * 10 + rating_sum"
                              " FROM booking_months WHERE month_ms = 2678400000"),
                     7200000LL * 1000 + 100 + 10 + 4);
    assert_int_equal(store_month_sums_check(st, 0, &rows, &diffs), LS_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(diffs, 0);
    assert_int_equal(store_begin(st), LS_OK);
    assert_int_equal(store_booking_set_status(st, b.id, BOOKING_CANCELLED, "changed plans"), LS_OK);
    assert_int_equal(store_commit(st), LS_OK);
    assert_int_equal(side_int("SELECT count(*) FROM booking_months WHERE booked_ms <> 0 OR"
                              " ended <> 0 OR no_shows <> 0 OR rating_sum <> 0"),
                     0);
    assert_int_equal(store_month_sums_check(st, 0, &rows, &diffs), LS_OK);
    assert_int_equal(diffs, 0);
    /* a stored sum the rows do not give is found */
    side_exec("UPDATE booking_months SET ended = 1 WHERE month_ms = 0");
    assert_int_equal(store_month_sums_check(st, 0, &rows, &diffs), LS_OK);
    assert_int_equal(diffs, 1);
    store_close(st);
}

/* A closed month's heartbeats compacted (compact.h): three hours of a reading a minute (a boot, a
 * run, a pause, a run) keep the boot, the changes and each hour's first and last; the sessions
 * are those of all the readings, the digest of what stays matches the audit record until a kept
 * reading is altered, and a removed heartbeat sent again is a repeat, not stored again. */
static void compaction_keeps_sessions_and_its_digest(void **state)
{
    static const int64_t month_ms = 31LL * 86400000;
    struct store *st;
    struct ingest_result res;
    struct compact_report rep;
    int64_t seqs[180], rows = 0, diffs = 0, count = 0, checked = 0, bad = 0;
    struct ls_batch b;
    char hex[65];

    (void)state;
    for (int i = 0; i < 180; i++)
        seqs[i] = i + 1;
    b = batch("gw", 1, seqs, 180);
    for (int i = 0; i < 180; i++) {
        struct ls_reading *r = &b.readings[i];
        int idle = i >= 90 && i < 120;
        snprintf(r->instrument, sizeof(r->instrument), "inst-0");
        r->ts = 60000LL * i;
        r->state = idle ? LS_STATE_IDLE : LS_STATE_RUNNING;
        r->run_seconds = 60 * (i < 90 ? i : i < 120 ? 90 : i - 30);
        r->cause = i == 0                ? LS_CAUSE_BOOT
                   : i == 90 || i == 120 ? LS_CAUSE_CHANGE
                                         : LS_CAUSE_HEARTBEAT;
    }
    open_trusting(&st);
    assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.stored, 180);
    assert_int_equal(store_begin(st), LS_OK);
    assert_int_equal(store_readings_compact(st, "inst-0", "1970-01", 0, month_ms, 120000, &rep),
                     LS_OK);
    assert_int_equal(store_commit(st), LS_OK);
    /* 0 boot, 59 and 60 (hour edges), 90 change, 119 and 120 (edge, change), 179 last */
    assert_int_equal(rep.kept, 7);
    assert_int_equal(rep.removed, 173);
    assert_int_equal(rep.sessions_would_change, 0);
    assert_int_equal(count_readings(st), 7);
    assert_int_equal(side_int("SELECT count(*) FROM audit WHERE action = 'readings.compact'"
                              " AND object = 'readings/inst-0/1970-01'"),
                     1);
    /* the usage of the kept readings is the usage of all of them */
    assert_int_equal(store_begin(st), LS_OK);
    assert_int_equal(store_usage_rebuild(st, 120000, 300, 0, &rows, &diffs), LS_OK);
    store_rollback(st);
    assert_true(rows > 0);
    assert_int_equal(diffs, 0);
    assert_int_equal(side_int("SELECT sum(run_ms) FROM usage"), 149 * 60000); /* 90 + 59 min */
    assert_int_equal(store_readings_digest(st, "inst-0", 0, month_ms, hex, &count), LS_OK);
    assert_int_equal(count, 7);
    assert_string_equal(hex, rep.kept_digest);
    assert_int_equal(store_compact_verify(st, "1970-01", 0, month_ms, &checked, &bad), LS_OK);
    assert_int_equal(checked, 1);
    assert_int_equal(bad, 0);
    /* compacting again removes nothing and records nothing */
    assert_int_equal(store_begin(st), LS_OK);
    assert_int_equal(store_readings_compact(st, "inst-0", "1970-01", 0, month_ms, 120000, &rep),
                     LS_OK);
    assert_int_equal(store_commit(st), LS_OK);
    assert_int_equal(rep.removed, 0);
    assert_int_equal(side_int("SELECT count(*) FROM audit WHERE action = 'readings.compact'"), 1);
    /* the whole batch again: all repeats, the removed ones not stored a second time */
    assert_int_equal(ingest_store_batches(st, &b, 1, 1, 120000, 300, &res), LS_OK);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.duplicates, 180);
    assert_int_equal(count_readings(st), 7);
    /* a kept reading altered afterwards is found */
    side_exec("UPDATE readings SET run_seconds = run_seconds + 1 WHERE seq = 60");
    assert_int_equal(store_compact_verify(st, "1970-01", 0, month_ms, &checked, &bad), LS_OK);
    assert_int_equal(bad, 1);
    ls_batch_release(&b);
    store_close(st);
}

/* PostgreSQL holds the no-double-booking rule itself (an exclusion constraint): an overlapping
 * booking that holds a slot cannot be written whatever the code above did; cancelled ones and
 * other instruments do not collide. On SQLite the single writer and the service's check hold it
 * (tests/integration/26 and 75). */
static void overlapping_bookings_are_refused_by_the_database(void **state)
{
    struct store *st;
    struct db *db;
    static const char *const rows[] = {
        "INSERT INTO users(id, username, role, created_at) VALUES(5, 'u', 'researcher', 0)",
        "INSERT INTO bookings(instrument, user_id, start_ms, end_ms, status, created_by,"
        " created_at) VALUES('inst-0', 5, 1000, 5000, 'confirmed', 5, 0)",
        /* touching, not overlapping */
        "INSERT INTO bookings(instrument, user_id, start_ms, end_ms, status, created_by,"
        " created_at) VALUES('inst-0', 5, 5000, 6000, 'pending', 5, 0)",
        "INSERT INTO bookings(instrument, user_id, start_ms, end_ms, status, created_by,"
        " created_at) VALUES('inst-0', 5, 2000, 3000, 'cancelled', 5, 0)",
        "INSERT INTO bookings(instrument, user_id, start_ms, end_ms, status, created_by,"
        " created_at) VALUES('inst-1', 5, 2000, 3000, 'confirmed', 5, 0)",
    };

    (void)state;
    if (!pg_url) {
        skip();
        return;
    }
    open_trusting(&st);
    db = side();
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(db_exec(db, rows[i]), DB_OK);
    assert_int_not_equal(db_exec(db, "INSERT INTO bookings(instrument, user_id, start_ms, end_ms,"
                                     " status, created_by, created_at) VALUES('inst-0', 5, 4000,"
                                     " 4500, 'pending', 5, 0)"),
                         DB_OK);
    assert_int_equal(db_errcode(db), DB_E_EXCLUSION);
    /* nor may a cancelled one come back into a taken slot */
    assert_int_not_equal(
        db_exec(db, "UPDATE bookings SET status = 'confirmed' WHERE status = 'cancelled'"), DB_OK);
    assert_int_equal(db_errcode(db), DB_E_EXCLUSION);
    db_close(db);
    store_close(st);
}

/* The overlap check looks only near a booking (after its start less the instrument's longest
 * booking, which the database keeps whoever writes the rows): a week-long booking far behind a
 * new one is still found, touching ends are not overlaps, another instrument's do not count. */
static void overlap_finds_long_bookings_near_only(void **state)
{
    struct store *st;
    struct db *db;
    int64_t conflict = 0, week = 7 * 86400000LL;
    struct interval *busy = NULL;
    size_t nbusy = 0;

    (void)state;
    open_trusting(&st);
    db = side();
    assert_int_equal(db_exec(db, "INSERT INTO users(id, username, role, created_at) VALUES(5, 'u',"
                                 " 'researcher', 0);"
                                 "INSERT INTO bookings(id, instrument, user_id, start_ms, end_ms,"
                                 " status, created_by, created_at) VALUES"
                                 " (1, 'inst-0', 5, 0, 3600000, 'completed', 5, 0),"
                                 " (2, 'inst-0', 5, 86400000, 86400000 + 604800000, 'confirmed',"
                                 " 5, 0), (3, 'inst-1', 5, 0, 2419200000, 'confirmed', 5, 0)"),
                     DB_OK);
    db_close(db);
    /* six days into the week-long one: found, though it started long before */
    assert_int_equal(store_booking_overlap(st, "inst-0", 86400000 + week - 3600000,
                                           86400000 + week + 3600000, 0, &conflict),
                     LS_ERR_CONFLICT);
    assert_int_equal(conflict, 2);
    /* it is the one being changed: no conflict */
    assert_int_equal(store_booking_overlap(st, "inst-0", 86400000 + week - 3600000,
                                           86400000 + week + 3600000, 2, &conflict),
                     LS_OK);
    /* touching its end; the completed one does not hold its slot */
    assert_int_equal(
        store_booking_overlap(st, "inst-0", 86400000 + week, 86400000 + week + 1, 0, &conflict),
        LS_OK);
    assert_int_equal(store_booking_overlap(st, "inst-0", 0, 3600000, 0, &conflict), LS_OK);
    /* inst-2 has none; inst-1's four weeks reach three weeks on */
    assert_int_equal(store_booking_overlap(st, "inst-2", 0, 4 * week, 0, &conflict), LS_OK);
    assert_int_equal(store_booking_overlap(st, "inst-1", 3 * week, 3 * week + 1, 0, &conflict),
                     LS_ERR_CONFLICT);
    assert_int_equal(conflict, 3);
    /* availability sees it too */
    assert_int_equal(store_busy(st, "inst-1", 3 * week, 3 * week + 3600000, &busy, &nbusy), LS_OK);
    assert_int_equal(nbusy, 1);
    free(busy);
    store_close(st);
}

/* An instrument comes back as it was written, its nested settings as their structs; a change
 * replaces every column but when it joined; lists filter by owner and public; a row whose
 * settings do not parse is an error, not an instrument with the defaults. */
static void instruments_round_trip(void **state)
{
    struct store *st;
    struct instrument in, got, *v = NULL;
    int64_t total = 0;
    size_t n = 0;
    char why[200];
    json_t *hours =
        json_pack("{s:[[s,s],[s,s]], s:[]}", "mon", "08:00", "12:00", "13:00", "17:30", "tue");
    struct db *db;

    (void)state;
    open_trusting(&st);
    assert_int_equal(instrument_init(&in), LS_OK);
    snprintf(in.id, sizeof(in.id), "nmr-600");
    snprintf(in.name, sizeof(in.name), "NMR 600 MHz");
    in.org_id = 1;
    snprintf(in.category, sizeof(in.category), "spectroscopy");
    assert_int_equal(instrument_set_description(&in, "a magnet, \"cold\""), LS_OK);
    in.value_yuan = 9000000;
    in.rated_hours = 800;
    in.is_public = 0;
    snprintf(in.gateway, sizeof(in.gateway), "gw");
    in.booking.max_minutes = 240;
    in.booking.requires_qualification = 1;
    in.billing.basis = BASIS_MAX;
    in.billing.rates[CAT_INDUSTRY] = 90000;
    in.billing.no_show_fraction = 0.25;
    in.interlock.mode = INTERLOCK_ENFORCE;
    assert_int_equal(service_hours_parse(hours, &in.hours, why, sizeof(why)), LS_OK);
    in.joined_ms = 1700000000123LL;
    assert_int_equal(store_instrument_create(st, &in), LS_OK);
    assert_int_equal(store_instrument_create(st, &in), LS_ERR_CONFLICT);
    assert_int_equal(store_instrument_get(st, "nmr-600", &got), LS_OK);
    assert_string_equal(got.name, in.name);
    assert_string_equal(got.description, "a magnet, \"cold\"");
    assert_string_equal(got.gateway, "gw");
    assert_int_equal(got.is_public, 0);
    assert_int_equal(got.value_yuan, 9000000);
    assert_int_equal(got.joined_ms, 1700000000123LL);
    assert_memory_equal(&got.booking, &in.booking, sizeof(in.booking));
    assert_memory_equal(&got.hours, &in.hours, sizeof(in.hours));
    assert_memory_equal(&got.billing, &in.billing, sizeof(in.billing));
    assert_memory_equal(&got.interlock, &in.interlock, sizeof(in.interlock));
    instrument_clear(&got);
    /* a change: everything but when it joined */
    in.gateway[0] = '\0';
    in.is_public = 1;
    in.joined_ms = 5;
    assert_int_equal(store_instrument_update(st, &in), LS_OK);
    assert_int_equal(store_instrument_get(st, "nmr-600", &got), LS_OK);
    assert_string_equal(got.gateway, "");
    assert_int_equal(got.is_public, 1);
    assert_int_equal(got.joined_ms, 1700000000123LL);
    instrument_clear(&got);
    snprintf(in.id, sizeof(in.id), "nothing");
    assert_int_equal(store_instrument_update(st, &in), LS_ERR_NOTFOUND);
    assert_int_equal(store_instrument_get(st, "nothing", &got), LS_ERR_NOTFOUND);
    /* the fixture's four (public by default) and this one, by id; paged */
    assert_int_equal(store_instrument_list(st, 0, 1, 2, 1, &v, &n, &total), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(total, 5);
    assert_string_equal(v[0].id, "inst-1");
    /* written by hand, settings {}: the defaults */
    assert_int_equal(v[0].billing.increment_min, 15);
    assert_int_equal(v[0].booking.max_minutes, 480);
    instruments_free(v, n);
    assert_int_equal(store_instrument_list(st, 2, 0, 100, 0, &v, &n, &total), LS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
    instruments_free(v, n);
    /* settings changed by another connection (a server beside this one) are seen at once, though
     * this one keeps what it parsed of the texts it read */
    db = side();
    assert_int_equal(db_exec(db, "UPDATE instruments SET booking = '{\"max_minutes\": 120}' WHERE"
                                 " id = 'inst-2'"),
                     DB_OK);
    assert_int_equal(store_instrument_get(st, "inst-2", &got), LS_OK);
    assert_int_equal(got.booking.max_minutes, 120);
    instrument_clear(&got);
    assert_int_equal(store_instrument_get(st, "inst-1", &got), LS_OK); /* from what it kept */
    assert_int_equal(got.booking.max_minutes, 480);
    instrument_clear(&got);
    /* damaged settings: an error, never the defaults */
    assert_int_equal(db_exec(db, "UPDATE instruments SET billing = '{\"basis\": \"free\"}' WHERE"
                                 " id = 'inst-2'"),
                     DB_OK);
    assert_int_equal(store_instrument_get(st, "inst-2", &got), LS_ERR_DB);
    assert_int_equal(store_instrument_list(st, 0, 0, 100, 0, &v, &n, &total), LS_ERR_DB);
    assert_null(v);
    assert_int_equal(db_exec(db, "UPDATE instruments SET billing = 'not json' WHERE id = 'inst-2'"),
                     DB_OK);
    assert_int_equal(store_instrument_get(st, "inst-2", &got), LS_ERR_DB);
    db_close(db);
    instrument_clear(&in);
    json_decref(hours);
    store_close(st);
}

/* A gateway with what its status said: the instruments it reports and those bound to it. */
static void gateways_with_their_instruments(void **state)
{
    struct store *st;
    struct gateway g, *v = NULL;
    struct ls_status s;
    char reported[3][LS_ID_MAX] = {"inst-0", "inst-9", "other-gw"};
    size_t n = 0;

    (void)state;
    open_trusting(&st);
    assert_int_equal(store_gateway_get(st, "gw", &g), LS_OK);
    assert_int_equal(g.enabled, 1);
    assert_int_equal(g.online, 0);
    assert_int_equal(g.has_version, 0);
    assert_int_equal(g.outbox, -1);
    assert_int_equal(g.last_ack, -1);
    assert_int_equal(g.nreported, 0);
    assert_int_equal(g.nbound, 3);
    assert_string_equal(g.bound[2], "inst-2");
    gateway_clear(&g);
    memset(&s, 0, sizeof(s));
    s.online = 1;
    snprintf(s.version, sizeof(s.version), "1.4.2");
    s.outbox = 12;
    s.instruments = reported;
    s.instrument_count = 3;
    assert_int_equal(store_gateway_status(st, "gw", &s, 1700000000000LL), LS_OK);
    assert_int_equal(store_gateway_status(st, "off", &s, 1700000000000LL), LS_ERR_NOTFOUND);
    assert_int_equal(store_gateway_get(st, "gw", &g), LS_OK);
    assert_int_equal(g.online, 1);
    assert_string_equal(g.version, "1.4.2");
    assert_int_equal(g.outbox, 12);
    assert_int_equal(g.last_seen_ms, 1700000000000LL);
    assert_int_equal(g.nreported, 3);
    assert_string_equal(g.reported[1], "inst-9");
    gateway_clear(&g);
    /* disabled: offline whatever it said */
    assert_int_equal(store_gateway_update(st, "gw", NULL, 0, 0), LS_OK);
    assert_int_equal(store_gateway_list(st, 0, &v, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "gw");
    assert_int_equal(v[0].online, 0);
    assert_int_equal(v[1].nbound, 1);
    gateways_free(v, n);
    assert_int_equal(store_gateway_get(st, "nobody", &g), LS_ERR_NOTFOUND);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ingest_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_stops_at_the_first_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_walks_more_than_a_page, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_crosses_thinned_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(list_filters_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(unregistered_or_disabled_gateway_is_refused_unacked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            unbound_bad_time_and_bad_value_are_refused_the_rest_stored_and_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(conflicting_repeat_is_kept_out, setup, teardown),
        cmocka_unit_test_setup_teardown(interlock_state_is_kept_and_compared, setup, teardown),
        cmocka_unit_test_setup_teardown(range_claims_longer_than_thinning_explains_are_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(badge_user_is_frozen_at_arrival, setup, teardown),
        cmocka_unit_test_setup_teardown(migrations_run_once_and_refuse_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(tokens_are_stored_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_chain_detects_tampering, setup, teardown),
        cmocka_unit_test_setup_teardown(overlap_finds_long_bookings_near_only, setup, teardown),
        cmocka_unit_test_setup_teardown(instruments_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(gateways_with_their_instruments, setup, teardown),
        cmocka_unit_test_setup_teardown(overlapping_bookings_are_refused_by_the_database, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compaction_keeps_sessions_and_its_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(month_sums_follow_a_booking, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("store on SQLite", tests, NULL, NULL);

    pg_url = getenv("LABSHARE_TEST_PG");
    if (pg_url && pg_url[0])
        failed += cmocka_run_group_tests_name("store on PostgreSQL", tests, NULL, NULL);
    else
        printf("(PostgreSQL: not tested here; bash tests/pg.sh run %s runs it)\n",
               "build/tests/test_store");
    return failed;
}
