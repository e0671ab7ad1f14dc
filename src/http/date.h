/* HTTP dates (RFC 9110 section 5.6.7), without locale or time zone state. */
#ifndef SIO_HTTP_DATE_H
#define SIO_HTTP_DATE_H

#include <stddef.h>
#include <stdint.h>

/* Write IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and a NUL; returns 29. */
size_t sio__http_date_format(char out[32], int64_t unix_seconds);
/* Parse IMF-fixdate, RFC 850 or asctime dates; 0 or SIO_EINVAL. */
int sio__http_date_parse(const char *s, size_t n, int64_t *unix_seconds);

#endif
