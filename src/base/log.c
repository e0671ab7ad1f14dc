/*
 * Log lines are formatted into a stack buffer (longer lines are cut, never allocated) and
 * handed to the server's callback, or written to stderr with a level tag.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void sio__log(const sio__logger *lg, sio_log_level level, const char *fmt, ...)
{
    if (!lg || level > lg->level) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (lg->cb) {
        lg->cb(level, line, lg->ud);
        return;
    }
    static const char *const tags[] = {"", "error", "warn", "info", "debug"};
    fprintf(stderr, "libsio %s: %s\n", tags[level <= SIO_LOG_DEBUG ? level : 0], line);
}
