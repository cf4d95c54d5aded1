/* Unit tests of the HTTP connection guard (server/http/conn_guard.c) with a driven clock and real
 * sockets (socketpair): the header deadline, the minimum body rate, the per-address share and
 * the fair share near the limit. */
// LINK: server/http/conn_guard.c server/throttle.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../server/http/conn_guard.h"

/* 1 when the far end of pair was shut down by the guard (reading gives EOF at once). */
static int was_cut(int far)
{
    char c;
    struct timeval tv = {0, 1000};

    setsockopt(far, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return recv(far, &c, 1, 0) == 0;
}

static void header_deadline_and_body_rate(void **state)
{
    struct conn_guard *g = conn_guard_new(8, 8);
    struct conn_guard_stats st;
    int a[2], b[2], c[2];

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    struct guarded *ga = conn_guard_open(g, a[0], "10.0.0.1", 0);
    struct guarded *gb = conn_guard_open(g, b[0], "10.0.0.2", 0);
    struct guarded *gc = conn_guard_open(g, c[0], "10.0.0.3", 0);
    /* b sends its headers at 1 s and a body of 20 KiB in 20 s (1 KiB/s: just enough) */
    conn_guard_headers_done(g, gb, 1000);
    /* c's headers too, then nearly nothing */
    conn_guard_headers_done(g, gc, 1000);
    conn_guard_body(g, gc, 100);
    assert_int_equal(conn_guard_sweep(g, GUARD_HEADER_DEADLINE_MS), 0); /* not past it yet */
    assert_int_equal(conn_guard_sweep(g, GUARD_HEADER_DEADLINE_MS + 1), 1);
    assert_true(was_cut(a[1]));
    assert_false(was_cut(b[1]));
    conn_guard_body(g, gb, 20 * 1024);
    /* c: grace over at 11 s; at 12 s it should have had 1 KiB, it has 100 bytes */
    assert_int_equal(conn_guard_sweep(g, 1000 + GUARD_BODY_GRACE_MS + 1000), 1);
    assert_true(was_cut(c[1]));
    assert_int_equal(conn_guard_sweep(g, 1000 + GUARD_BODY_GRACE_MS + 20000), 0);
    assert_false(was_cut(b[1]));
    /* handled, then answered: the next request's headers are due from the answer */
    conn_guard_handling(g, gb);
    assert_int_equal(conn_guard_sweep(g, 100000), 0);
    conn_guard_answered(g, gb, 100000);
    assert_int_equal(conn_guard_sweep(g, 100000 + GUARD_HEADER_DEADLINE_MS), 0);
    assert_int_equal(conn_guard_sweep(g, 100001 + GUARD_HEADER_DEADLINE_MS), 1);
    conn_guard_stats(g, &st);
    assert_int_equal(st.cut_headers, 2);
    assert_int_equal(st.cut_body, 1);
    conn_guard_close(g, ga);
    conn_guard_close(g, gb);
    conn_guard_close(g, gc);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
        close(c[i]);
    }
    conn_guard_free(g);
}

static void shares(void **state)
{
    struct conn_guard *g = conn_guard_new(16, 7);
    struct guarded *held[16];
    struct conn_guard_stats st;
    size_t n = 0;

    (void)state;
    /* one address: its share of 7, then refused */
    while (conn_guard_admit(g, "10.0.0.1", 0))
        held[n++] = conn_guard_open(g, -1, "10.0.0.1", 0);
    assert_int_equal(n, 7);
    /* another fills to three quarters (12), then is held to the fair share */
    while (conn_guard_admit(g, "10.0.0.2", 0))
        held[n++] = conn_guard_open(g, -1, "10.0.0.2", 0);
    assert_int_equal(n, 12);
    /* the last quarter: GUARD_FAIR_SHARE each for addresses holding few */
    for (int k = 0; k < GUARD_FAIR_SHARE; k++) {
        assert_true(conn_guard_admit(g, "2001:db8::1", 0));
        held[n++] = conn_guard_open(g, -1, "2001:db8::1", 0);
    }
    assert_false(conn_guard_admit(g, "2001:db8::ffff", 0)); /* the same /64 */
    conn_guard_stats(g, &st);
    assert_int_equal(st.refused_address, 1);
    assert_int_equal(st.refused_fair, 2);
    /* closing frees the share */
    conn_guard_close(g, held[0]);
    assert_false(conn_guard_admit(g, "10.0.0.1", 0)); /* 6 held, but past 3/4 it is over 4 */
    for (size_t i = 1; i < n; i++)
        conn_guard_close(g, held[i]);
    assert_true(conn_guard_admit(g, "10.0.0.1", 0));
    conn_guard_free(g);
}

/* Connections admitted at the same moment (several threads accept) count before they open,
 * and an admission whose connection never opens gives its place back after a while. */
static void admitted_connections_count_before_they_open(void **state)
{
    struct conn_guard *g = conn_guard_new(16, 3);
    struct conn_guard_stats st;

    (void)state;
    for (int k = 0; k < 3; k++)
        assert_true(conn_guard_admit(g, "10.0.0.1", 0));
    assert_false(conn_guard_admit(g, "10.0.0.1", 0)); /* three admitted, none open yet */
    assert_non_null(conn_guard_open(g, -1, "10.0.0.1", 10));
    assert_false(conn_guard_admit(g, "10.0.0.1", 20)); /* one open, two still admitted */
    /* the two that never opened are given back; the open one stays */
    assert_true(conn_guard_admit(g, "10.0.0.1", 10 + GUARD_ADMIT_HOLD_MS + 1));
    assert_true(conn_guard_admit(g, "10.0.0.1", 10 + GUARD_ADMIT_HOLD_MS + 2));
    assert_false(conn_guard_admit(g, "10.0.0.1", 10 + GUARD_ADMIT_HOLD_MS + 3));
    conn_guard_stats(g, &st);
    assert_int_equal(st.refused_address, 3);
    conn_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admitted_connections_count_before_they_open),
        cmocka_unit_test(header_deadline_and_body_rate),
        cmocka_unit_test(shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
