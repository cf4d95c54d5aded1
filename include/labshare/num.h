/*
 * num.h - range-checked parsing of numbers that come from outside (config, HTTP, MQTT).
 *
 * The whole string must be the number: no leading/trailing junk, no empty string, no
 * overflow. Leading white space is refused too (strtol would skip it). Any thread.
 */
#ifndef LS_NUM_H
#define LS_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Parse a decimal integer in [min, max] into *out. LS_ERR_INVAL on junk or out of range;
 * *out is unchanged on error. */
int ls_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parse a decimal unsigned integer in [min, max] (no sign allowed). */
int ls_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Convenience for int-sized values. */
int ls_parse_int(const char *s, int min, int max, int *out);

/* Parse a finite floating-point number in [min, max] (no NaN, no infinity). */
int ls_parse_double(const char *s, double min, double max, double *out);

/* Parse "yes/no/true/false/1/0/on/off" into *out. */
int ls_parse_bool(const char *s, int *out);

/* Split "host:port" (or "[v6addr]:port") into host (hostlen bytes) and port number 1..65535.
 * LS_ERR_INVAL on a missing or bad port, an empty or too long host. */
int ls_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

/* Current time: milliseconds since the Unix epoch (wall clock), and a monotonic clock in ms. */
int64_t ls_now_ms(void);
int64_t ls_mono_ms(void);

#endif /* LS_NUM_H */
