/* mbloop.c - Modbus TCP meters polled from one epoll loop: see mbloop.h. */
#include "mbloop.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mbap.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Descriptors kept for the rest of the gateway (outbox, broker, logs) beside the connections. */
#define FD_RESERVE 64

enum conn_state { C_DOWN, C_CONNECTING, C_UP };

struct conn {
    const struct gw_device *ep; /* its first device: host and port */
    struct dev_state **devs;
    size_t count;
    enum conn_state st;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen; /* 0 until resolved */
    int64_t retry_ms;  /* down: not connected again before this */
    int64_t backoff_ms;
    int64_t deadline;      /* connecting, or a request in flight: when it has timed out */
    struct dev_state *cur; /* the poll under way */
    int in_flight;
    uint16_t tid;
    uint8_t req[MBAP_REQUEST_LEN];
    uint16_t *values; /* where the answer's values go */
    uint8_t buf[MBAP_ADU_MAX];
    size_t have;
    uint16_t *regs; /* GW_FIELD_COUNT x regwords, for the poll under way */
    size_t regwords;
    int64_t wake; /* when the loop must look at it without an event */
    size_t heap_at;
};

struct mbloop {
    struct outbox *ob;
    struct relays *relays;
    int epfd, stopfd;
    pthread_t thread;
    int started;
    struct conn *conns;
    size_t nconns;
    struct conn **heap; /* every connection, by wake */
    struct devpoll_batch batch;
    int64_t batch_since; /* when the oldest reading of the batch was added */
    int fd_floor;        /* connections get descriptors from here (FD_SETSIZE), or 0: anywhere */
};

/* --- the connections by wake time: a binary heap ----------------------------------------- */

static void heap_swap(struct mbloop *l, size_t a, size_t b)
{
    struct conn *t = l->heap[a];

    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_at = a;
    l->heap[b]->heap_at = b;
}

static void heap_fix(struct mbloop *l, size_t i)
{
    while (i > 0 && l->heap[(i - 1) / 2]->wake > l->heap[i]->wake) {
        heap_swap(l, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t m = i, a = 2 * i + 1, b = a + 1;
        if (a < l->nconns && l->heap[a]->wake < l->heap[m]->wake)
            m = a;
        if (b < l->nconns && l->heap[b]->wake < l->heap[m]->wake)
            m = b;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

static int by_wake(const void *a, const void *b)
{
    const struct conn *x = *(struct conn *const *)a, *y = *(struct conn *const *)b;

    return x->wake < y->wake ? -1 : x->wake > y->wake;
}

static int by_endpoint(const void *a, const void *b)
{
    const struct dev_state *x = *(struct dev_state *const *)a, *y = *(struct dev_state *const *)b;
    int c = strcmp(x->dev->host, y->dev->host);

    if (c == 0)
        c = (x->dev->port > y->dev->port) - (x->dev->port < y->dev->port);
    return c ? c : (x > y) - (x < y);
}

static int64_t min_due(const struct conn *c)
{
    int64_t m = INT64_MAX;

    for (size_t i = 0; i < c->count; i++)
        if (c->devs[i]->next_ms < m)
            m = c->devs[i]->next_ms;
    return m;
}

static void set_wake(struct mbloop *l, struct conn *c)
{
    if (c->st == C_CONNECTING || c->in_flight)
        c->wake = c->deadline;
    else if (c->st == C_DOWN) {
        int64_t due = min_due(c);
        c->wake = due > c->retry_ms ? due : c->retry_ms;
    } else
        c->wake = min_due(c);
    heap_fix(l, c->heap_at);
}

/* --- one connection -------------------------------------------------------------------- */

static void conn_close(struct conn *c, int64_t now)
{
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->st = C_DOWN;
    c->in_flight = 0;
    c->have = 0;
    c->retry_ms = now + devpoll_link_backoff(&c->backoff_ms);
}

/* The endpoint could not be reached: every poll that was due fails with why. */
static void connect_failed(struct mbloop *l, struct conn *c, const char *why, int64_t now)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->devs[i]->next_ms <= now)
            devpoll_unreachable(c->devs[i], l->relays, why, now);
    conn_close(c, now);
}

static void flush(struct mbloop *l)
{
    if (l->batch.n)
        devpoll_batch_flush(&l->batch, l->ob);
}

/* The poll under way is over. */
static void end_poll(struct mbloop *l, struct conn *c, int64_t now)
{
    struct dev_state *ds = c->cur;

    c->cur = NULL;
    ds->phase = DP_IDLE;
    if (ds->keep) {
        if (l->batch.n == 0)
            l->batch_since = now;
        devpoll_batch_add(&l->batch, ds);
    }
    if (ds->polled)
        c->backoff_ms = 0;
    if (ds->link_lost)
        conn_close(c, now);
}

/* Send the poll's next operation, or end it. */
static void conn_step(struct mbloop *l, struct conn *c, int64_t now)
{
    struct mb_op op;
    uint16_t *values;

    while (c->cur) {
        if (!devpoll_next(c->cur, &op, &values)) {
            end_poll(l, c, now);
            return;
        }
        c->tid++;
        if (mbap_request(c->req, c->tid, (uint8_t)c->cur->dev->unit, op.function, op.addr,
                         op.count_or_value) != LS_OK) {
            devpoll_result(c->cur, LS_ERR_IO, "a request Modbus does not allow");
            continue;
        }
        if (send(c->fd, c->req, sizeof(c->req), MSG_NOSIGNAL) != (ssize_t)sizeof(c->req)) {
            /* a 12-byte request into an idle connection's empty buffer: anything short of all
             * of it is a broken link */
            devpoll_result(c->cur, LS_ERR_IO, errno ? strerror(errno) : "short send");
            continue;
        }
        c->values = values;
        c->in_flight = 1;
        c->deadline = now + c->cur->dev->timeout_ms;
        return;
    }
}

/* Begin the polls that are due, one at a time. */
static void conn_next(struct mbloop *l, struct conn *c, int64_t now)
{
    while (c->st == C_UP && !c->cur) {
        struct dev_state *ds = NULL;
        for (size_t i = 0; i < c->count; i++)
            if (c->devs[i]->next_ms <= now && (!ds || c->devs[i]->next_ms < ds->next_ms))
                ds = c->devs[i];
        if (!ds)
            return;
        if (ds->pending)
            flush(l); /* its last reading is committed before it is polled again */
        devpoll_begin(ds, l->relays, c->regs, c->regwords, now);
        c->cur = ds;
        conn_step(l, c, now);
    }
}

/* The operation in flight failed or was answered (rc as devpoll_result takes it). */
static void conn_result(struct mbloop *l, struct conn *c, int rc, const char *why, int64_t now)
{
    c->in_flight = 0;
    devpoll_result(c->cur, rc, why);
    conn_step(l, c, now);
    conn_next(l, c, now);
}

static void conn_up(struct mbloop *l, struct conn *c, int64_t now)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    int one = 1;

    c->st = C_UP;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        connect_failed(l, c, strerror(errno), now);
        return;
    }
    conn_next(l, c, now);
}

static int resolve(struct conn *c, char *why, size_t len)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", c->ep->port);
    /* a name is looked up once (blocking the loop for that lookup), then kept */
    rc = getaddrinfo(c->ep->host, port, &hints, &res);
    if (rc != 0 || !res || res->ai_addrlen > sizeof(c->addr)) {
        snprintf(why, len, "cannot resolve %s: %s", c->ep->host,
                 rc ? gai_strerror(rc) : "no address");
        if (res)
            freeaddrinfo(res);
        return LS_ERR_IO;
    }
    memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
    c->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return LS_OK;
}

static void conn_connect(struct mbloop *l, struct conn *c, int64_t now)
{
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    char why[GW_STR_MAX + 128];

    if (!c->addrlen && resolve(c, why, sizeof(why)) != LS_OK) {
        connect_failed(l, c, why, now);
        return;
    }
    c->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        connect_failed(l, c, strerror(errno), now);
        return;
    }
    if (l->fd_floor) {
        /* above select()'s range, which stays for libmodbus's RTU buses and libmosquitto */
        int high = fcntl(c->fd, F_DUPFD_CLOEXEC, l->fd_floor);
        if (high >= 0) {
            close(c->fd);
            c->fd = high;
        }
    }
    if (connect(c->fd, (struct sockaddr *)&c->addr, c->addrlen) < 0 && errno != EINPROGRESS) {
        connect_failed(l, c, strerror(errno), now);
        return;
    }
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        connect_failed(l, c, strerror(errno), now);
        return;
    }
    c->st = C_CONNECTING;
    c->deadline = now + c->ep->timeout_ms; /* as libmodbus: the response timeout */
}

static void conn_readable(struct mbloop *l, struct conn *c, int64_t now)
{
    char why[160];
    ssize_t n;
    int len;

    for (;;) {
        n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0 || !c->in_flight) {
        /* closed, broken, or bytes nobody asked for: the link is out of step */
        if (n == 0)
            snprintf(why, sizeof(why), "the meter closed the connection");
        else if (n < 0)
            snprintf(why, sizeof(why), "%s", strerror(errno));
        else
            snprintf(why, sizeof(why), "bytes nobody asked for");
        if (c->in_flight)
            conn_result(l, c, LS_ERR_IO, why, now);
        else {
            ls_debug("%s:%d: %s; reconnecting", c->ep->host, c->ep->port, why);
            conn_close(c, now);
        }
        return;
    }
    c->have += (size_t)n;
    len = mbap_frame_length(c->buf, c->have);
    if (len < 0) {
        conn_result(l, c, LS_ERR_IO, "not a Modbus TCP frame", now);
        return;
    }
    if (len == 0 || c->have < (size_t)len)
        return;
    if (c->have > (size_t)len) {
        conn_result(l, c, LS_ERR_IO, "bytes after the answer", now);
        return;
    }
    {
        int rc = mbap_reply(c->req, c->buf, c->have, c->values, why, sizeof(why));
        c->have = 0;
        conn_result(l, c,
                    rc == LS_OK           ? LS_OK
                    : rc == LS_ERR_DENIED ? LS_ERR_DENIED
                                          : LS_ERR_IO,
                    why, now);
    }
}

static void conn_event(struct mbloop *l, struct conn *c, uint32_t events, int64_t now)
{
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t elen = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (err)
            connect_failed(l, c, strerror(err), now);
        else if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_up(l, c, now);
    } else if (c->st == C_UP) {
        conn_readable(l, c, now);
    }
    set_wake(l, c);
}

static void conn_timer(struct mbloop *l, struct conn *c, int64_t now)
{
    switch (c->st) {
    case C_DOWN:
        if (now >= c->retry_ms && min_due(c) <= now)
            conn_connect(l, c, now);
        break;
    case C_CONNECTING:
        if (now >= c->deadline)
            connect_failed(l, c, strerror(ETIMEDOUT), now);
        break;
    case C_UP:
        if (c->in_flight && now >= c->deadline)
            conn_result(l, c, LS_ERR_IO, strerror(ETIMEDOUT), now);
        else if (!c->in_flight)
            conn_next(l, c, now);
        break;
    }
    set_wake(l, c);
}

/* --- the loop ---------------------------------------------------------------------------- */

static void *loop_main(void *arg)
{
    struct mbloop *l = arg;
    struct epoll_event evs[256];
    int stopping = 0;

    while (!stopping) {
        int64_t now = ls_mono_ms(), until = l->nconns ? l->heap[0]->wake : now + 1000;
        int timeout, n;

        if (l->batch.n && l->batch_since + MBLOOP_FLUSH_MS < until)
            until = l->batch_since + MBLOOP_FLUSH_MS;
        if (until - now > 1000)
            until = now + 1000;
        timeout = until > now ? (int)(until - now) : 0;
        n = epoll_wait(l->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), timeout);
        if (n < 0 && errno != EINTR) {
            ls_error("Modbus TCP loop: epoll_wait: %s", strerror(errno));
            break;
        }
        now = ls_mono_ms();
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr)
                stopping = 1;
            else
                conn_event(l, evs[i].data.ptr, evs[i].events, now);
        }
        /* each timer moves its connection's wake past now, or the next round does */
        for (size_t k = 0; k < l->nconns && l->heap[0]->wake <= now; k++)
            conn_timer(l, l->heap[0], now);
        if (l->batch.n && (now - l->batch_since >= MBLOOP_FLUSH_MS || l->batch.n == l->batch.cap))
            flush(l);
    }
    flush(l);
    return NULL;
}

/* Room for a descriptor per connection above select()'s range: the soft limit raised towards
 * the hard one. Returns the lowest descriptor the connections are to get: FD_SETSIZE when that
 * room is there, else 0 (anywhere: with a low hard limit the endpoints share the range with
 * the rest). */
static int fd_limit(size_t conns)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)FD_SETSIZE + conns + FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want)
        return FD_SETSIZE;
    if (rl.rlim_cur < (rlim_t)conns + FD_RESERVE)
        ls_warn("only %llu descriptors allowed (ulimit -n, hard limit) for %zu Modbus TCP "
                "endpoints; endpoints beyond that cannot be connected",
                (unsigned long long)rl.rlim_cur, conns);
    return 0;
}

int mbloop_start(struct dev_state *devs, size_t count, struct outbox *ob, struct relays *relays,
                 struct mbloop **out)
{
    struct mbloop *l = calloc(1, sizeof(*l));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    struct dev_state **order;

    if (!l)
        return LS_ERR_NOMEM;
    l->ob = ob;
    l->relays = relays;
    l->epfd = l->stopfd = -1;
    l->conns = calloc(count ? count : 1, sizeof(*l->conns));
    l->heap = calloc(count ? count : 1, sizeof(*l->heap));
    if (!l->conns || !l->heap || devpoll_batch_init(&l->batch, count) != LS_OK) {
        mbloop_stop(l);
        return LS_ERR_NOMEM;
    }
    /* the devices by endpoint (sorted, not compared pairwise: thousands of them), in config
     * order within one */
    order = calloc(count ? count : 1, sizeof(*order));
    if (!order) {
        mbloop_stop(l);
        return LS_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++)
        order[i] = &devs[i];
    qsort(order, count, sizeof(*order), by_endpoint);
    for (size_t i = 0; i < count; i++) {
        struct conn *c = l->nconns ? &l->conns[l->nconns - 1] : NULL;
        struct dev_state **d;
        if (!c || !gw_same_endpoint(c->ep, order[i]->dev)) {
            c = &l->conns[l->nconns++];
            c->ep = order[i]->dev;
            c->fd = -1;
        }
        d = realloc(c->devs, (c->count + 1) * sizeof(*d));
        if (!d) {
            free(order);
            mbloop_stop(l);
            return LS_ERR_NOMEM;
        }
        c->devs = d;
        c->devs[c->count++] = order[i];
    }
    free(order);
    for (size_t k = 0; k < l->nconns; k++) {
        struct conn *c = &l->conns[k];
        /* buffers sized for this endpoint's largest request, not the protocol's largest */
        for (size_t i = 0; i < c->count; i++)
            for (unsigned q = 0; q < c->devs[i]->plan.request_count; q++)
                if (c->devs[i]->plan.requests[q].count > c->regwords)
                    c->regwords = c->devs[i]->plan.requests[q].count;
        if (c->regwords == 0)
            c->regwords = 1;
        c->regs = calloc((size_t)GW_FIELD_COUNT * c->regwords, sizeof(*c->regs));
        if (!c->regs) {
            mbloop_stop(l);
            return LS_ERR_NOMEM;
        }
        c->wake = min_due(c);
        l->heap[k] = c;
    }
    /* a sorted array is a heap */
    qsort(l->heap, l->nconns, sizeof(*l->heap), by_wake);
    for (size_t k = 0; k < l->nconns; k++)
        l->heap[k]->heap_at = k;
    l->fd_floor = fd_limit(l->nconns);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->epfd < 0 || l->stopfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stopfd, &ev) < 0) {
        ls_error("Modbus TCP loop: %s", strerror(errno));
        mbloop_stop(l);
        return LS_ERR_IO;
    }
    if (pthread_create(&l->thread, NULL, loop_main, l)) {
        ls_error("cannot start the Modbus TCP polling thread");
        mbloop_stop(l);
        return LS_ERR_IO;
    }
    l->started = 1;
    *out = l;
    return LS_OK;
}

void mbloop_stop(struct mbloop *l)
{
    if (!l)
        return;
    if (l->started) {
        uint64_t one = 1;
        if (write(l->stopfd, &one, sizeof(one)) < 0)
            ls_warn("Modbus TCP loop: cannot wake it to stop: %s", strerror(errno));
        pthread_join(l->thread, NULL);
    }
    for (size_t k = 0; k < l->nconns; k++) {
        if (l->conns[k].fd >= 0)
            close(l->conns[k].fd);
        free(l->conns[k].devs);
        free(l->conns[k].regs);
    }
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->stopfd >= 0)
        close(l->stopfd);
    devpoll_batch_free(&l->batch);
    free(l->conns);
    free(l->heap);
    free(l);
}

size_t mbloop_endpoints(const struct mbloop *l)
{
    return l->nconns;
}
