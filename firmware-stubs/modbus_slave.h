/*
 * modbus_slave.h - a Modbus TCP slave serving one meter's register map to several clients at
 * once (libmodbus). Driven by the caller's select() loop so that one process can serve many
 * meters. Not thread-safe: one owner.
 */
#ifndef LS_MODBUS_SLAVE_H
#define LS_MODBUS_SLAVE_H

#include <sys/select.h>

#include "meter.h"

struct mb_slave;

/* Listen on host:port (host may be a name or address) for unit id unit. On error returns
 * LS_ERR_IO with a reason logged; *out is set only on success. Free with mb_slave_free(). */
int mb_slave_new_tcp(const char *host, const char *port, int unit, struct mb_slave **out);
void mb_slave_free(struct mb_slave *s);

/* Add the slave's sockets to rd and raise *maxfd. */
void mb_slave_prepare(struct mb_slave *s, fd_set *rd, int *maxfd);

/* Serve every ready socket in rd: requests are answered from m's current registers (m is
 * advanced to now_ms first); coil writes change m's interlock. */
void mb_slave_process(struct mb_slave *s, fd_set *rd, struct meter *m, int64_t now_ms);

#endif /* LS_MODBUS_SLAVE_H */
