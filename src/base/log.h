/* Leveled logging through a per-server callback; no global logger. */
#ifndef SIO_BASE_LOG_H
#define SIO_BASE_LOG_H

#include "sio.h"

typedef struct sio__logger {
    sio_log_cb cb; /* NULL: stderr */
    void *ud;
    sio_log_level level;
} sio__logger;

void sio__log(const sio__logger *lg, sio_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define sio__log_error(lg, ...) sio__log((lg), SIO_LOG_ERROR, __VA_ARGS__)
#define sio__log_warn(lg, ...)  sio__log((lg), SIO_LOG_WARN, __VA_ARGS__)
#define sio__log_info(lg, ...)  sio__log((lg), SIO_LOG_INFO, __VA_ARGS__)
#define sio__log_debug(lg, ...) sio__log((lg), SIO_LOG_DEBUG, __VA_ARGS__)

#endif
