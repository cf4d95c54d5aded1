#include "labshare/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

static const char *log_program = "labshare";
static enum ls_log_level log_min = LS_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void ls_log_init(const char *program, enum ls_log_level level)
{
    log_program = program;
    log_min = level;
}

int ls_log_level_parse(const char *text, enum ls_log_level *level)
{
    for (int i = 0; i <= LS_LOG_OFF; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = (enum ls_log_level)i;
            return LS_OK;
        }
    }
    return LS_ERR_INVAL;
}

void ls_log(enum ls_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec now;
    struct tm tm;
    size_t n;
    int w;
    va_list ap;

    if (level < log_min || level >= LS_LOG_OFF)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    w = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%ld] %s: ", now.tv_nsec / 1000000L,
                 log_program, (long)getpid(), level_names[level]);
    if (w < 0)
        return;
    n += (size_t)w;
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    n += (size_t)w;
    /* vsnprintf reports the untruncated length: clamp and keep room for the newline. */
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write keeps concurrent lines whole; a failed log write has nowhere to be reported. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}
