/*
 * log.h - levelled logging to stderr.
 *
 * One line per message: "2026-11-27T10:00:00.123Z labshare-gateway[123] warn: text".
 * Thread-safe: each message is written with a single write(2) so lines never interleave.
 */
#ifndef LS_LOG_H
#define LS_LOG_H

enum ls_log_level { LS_LOG_DEBUG = 0, LS_LOG_INFO, LS_LOG_WARN, LS_LOG_ERROR, LS_LOG_OFF };

/* Set the program name shown in each line (borrowed: must outlive all logging) and the lowest
 * level printed (default LS_LOG_INFO). Call once from main() before threads start. */
void ls_log_init(const char *program, enum ls_log_level level);

/* Parse "debug", "info", "warn", "error", "off" into *level. LS_ERR_INVAL (int) otherwise. */
int ls_log_level_parse(const char *text, enum ls_log_level *level);

/* Log a printf-style message at level. Any thread. Messages longer than 2 KiB are cut. */
void ls_log(enum ls_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ls_debug(...) ls_log(LS_LOG_DEBUG, __VA_ARGS__)
#define ls_info(...) ls_log(LS_LOG_INFO, __VA_ARGS__)
#define ls_warn(...) ls_log(LS_LOG_WARN, __VA_ARGS__)
#define ls_error(...) ls_log(LS_LOG_ERROR, __VA_ARGS__)

#endif /* LS_LOG_H */
