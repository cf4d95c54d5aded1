/*
 * mbloop.h - the Modbus TCP meters of a gateway polled from one thread without blocking
 * (issue 15): an epoll loop over one non-blocking connection per endpoint (host:port, a
 * meter or a Modbus gateway with several units behind it), framed by mbap.h, with one request
 * in flight per connection, a deadline per request, reconnects with backoff, and the polls'
 * readings committed to the outbox together at most every MBLOOP_FLUSH_MS. No select(), so
 * descriptors beyond 1024 are fine: thousands of meters in one process.
 */
#ifndef LS_GW_MBLOOP_H
#define LS_GW_MBLOOP_H

#include <stddef.h>

#include "devpoll.h"

/* Readings of finished polls wait at most this long for the outbox commit they share. */
#define MBLOOP_FLUSH_MS 100

struct mbloop;
struct outbox;
struct relays;

/* Poll devs (count, borrowed: set up with devpoll_init, all Modbus TCP, outliving the loop),
 * grouped by endpoint, from a thread of its own. LS_ERR_NOMEM, LS_ERR_IO (no epoll or thread). */
int mbloop_start(struct dev_state *devs, size_t count, struct outbox *ob, struct relays *relays,
                 struct mbloop **out);

/* Stop after the current step, commit what is pending, close the connections, join. Frees l. */
void mbloop_stop(struct mbloop *l);

/* The endpoints (connections) the loop serves. */
size_t mbloop_endpoints(const struct mbloop *l);

#endif /* LS_GW_MBLOOP_H */
