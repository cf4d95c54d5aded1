/*
 * timefmt.h - times on the API and in files: RFC 3339, the one format and the one parser.
 * Pure; any thread (the date-only form reads the process's time zone, TZ, set at start).
 */
#ifndef LS_TIMEFMT_H
#define LS_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Format epoch ms as RFC 3339 UTC ("2026-11-27T10:00:00.123Z") into buf (>= 32 bytes). */
void ls_time_format(int64_t ms, char *buf, size_t len);
/* Parse an RFC 3339 time (Z or +hh:mm offset, optional fraction) or a YYYY-MM-DD date
 * (midnight in the platform time zone) into *ms. LS_ERR_INVAL on anything else, including
 * dates that do not exist (2026-02-31); *ms is unchanged then. */
int ls_time_parse(const char *s, int64_t *ms);

#endif /* LS_TIMEFMT_H */
