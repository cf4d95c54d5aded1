/*
 * conn_guard.h - slow and greedy HTTP clients (issue 13). libmicrohttpd's idle timeout restarts
 * at every byte, so a client trickling its headers holds a connection for ever, and a few
 * addresses could hold them all. The guard keeps a table of live connections and:
 *
 * - cuts a connection whose request headers are not complete GUARD_HEADER_DEADLINE_MS after the
 *   connection (or the previous answer) began, and one whose body arrives slower than
 *   GUARD_BODY_MIN_BPS after a grace of GUARD_BODY_GRACE_MS (the socket is shut down; the
 *   server closes it as if the client had gone);
 * - refuses a new connection from an address (IPv6: its /64) that holds per_address already,
 *   and, once the server is three quarters full, from one that holds GUARD_FAIR_SHARE: the last
 *   quarter is kept for addresses that hold few, so nobody starves the others.
 *
 * Times are passed in (tests drive the clock); connections are the caller's handles. All calls
 * are thread-safe.
 */
#ifndef LS_SRV_CONN_GUARD_H
#define LS_SRV_CONN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#define GUARD_HEADER_DEADLINE_MS 10000
#define GUARD_BODY_GRACE_MS 10000
#define GUARD_BODY_MIN_BPS 1024
#define GUARD_FAIR_SHARE 4

struct conn_guard;
struct guarded; /* one connection */

struct conn_guard_stats {
    uint64_t cut_headers, cut_body, refused_address, refused_fair;
};

/* A guard for at most max_conns connections, per_address of them from one address. */
struct conn_guard *conn_guard_new(size_t max_conns, size_t per_address);
void conn_guard_free(struct conn_guard *g);

/* May a connection from addr (numeric text) be taken now? 1 yes, 0 refused (counted). A yes
 * holds its place at once (until conn_guard_open, or GUARD_ADMIT_HOLD_MS), so connections from
 * one address accepted by several threads at the same moment are all counted. */
#define GUARD_ADMIT_HOLD_MS 5000
int conn_guard_admit(struct conn_guard *g, const char *addr, int64_t now_ms);
/* A connection began (fd: its socket, shut down if it must be cut): it takes the place its
 * admission held; NULL when out of memory or the table is full (then it is not guarded but
 * still counted against nobody). */
struct guarded *conn_guard_open(struct conn_guard *g, int fd, const char *addr, int64_t now_ms);
void conn_guard_close(struct conn_guard *g, struct guarded *c);
/* The request's headers are all in; expect body bytes (0 when none is announced). */
void conn_guard_headers_done(struct conn_guard *g, struct guarded *c, int64_t now_ms);
/* n more body bytes arrived. */
void conn_guard_body(struct conn_guard *g, struct guarded *c, size_t n);
/* The whole request is in: no deadline while it is handled. */
void conn_guard_handling(struct conn_guard *g, struct guarded *c);
/* The answer went out: the next request's headers are due from now. */
void conn_guard_answered(struct conn_guard *g, struct guarded *c, int64_t now_ms);

/* Cut the connections past their deadline (shutdown of their sockets); how many. */
size_t conn_guard_sweep(struct conn_guard *g, int64_t now_ms);
void conn_guard_stats(struct conn_guard *g, struct conn_guard_stats *out);

#endif /* LS_SRV_CONN_GUARD_H */
