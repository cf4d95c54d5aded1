/*
 * rc.h - the one result code of LabShare.
 *
 * Every function that can fail returns enum ls_rc, 0 on success. Each module that wraps a
 * library (libmodbus, SQLite, libmosquitto, libmicrohttpd) translates that library's error
 * style into these codes once; the HTTP layer maps them to status codes in one table.
 */
#ifndef LS_RC_H
#define LS_RC_H

enum ls_rc {
    LS_OK = 0,
    LS_ERR_NOMEM,    /* allocation failed */
    LS_ERR_INVAL,    /* malformed or out-of-range input */
    LS_ERR_CONFLICT, /* the write collides with existing data */
    LS_ERR_NOTFOUND, /* no such object */
    LS_ERR_IO,       /* a system call or device failed */
    LS_ERR_DB,       /* SQLite failed */
    LS_ERR_PROTO,    /* a peer broke the protocol (Modbus, MQTT, HTTP) */
    LS_ERR_TIMEOUT,  /* a peer did not answer in time */
    LS_ERR_FULL,     /* a bounded buffer or store is full */
    LS_ERR_AUTH,     /* not authenticated */
    LS_ERR_DENIED,   /* authenticated but not allowed */
    LS_ERR_RULE,     /* a business rule is broken */
    LS_ERR_TOOBIG,   /* input exceeds a size limit */
    LS_ERR_LIMIT,    /* too many attempts: try again later (login throttling) */
    LS_ERR_METHOD,   /* the operation does not apply to the object (HTTP: the method) */
    LS_RC_COUNT
};

/* A static English description of rc; never NULL, also for unknown values. Any thread. */
const char *ls_strerror(enum ls_rc rc);

/* A short stable identifier of rc ("invalid", "conflict", ...), used as the "error" code of
 * HTTP error bodies. Static; never NULL. Any thread. */
const char *ls_rc_name(enum ls_rc rc);

#endif /* LS_RC_H */
