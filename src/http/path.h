/* Request path normalisation for routing and static files. */
#ifndef SIO_HTTP_PATH_H
#define SIO_HTTP_PATH_H

#include <stddef.h>

/*
 * Normalise the path part of a request target (n bytes, starting with '/'): percent-decode,
 * collapse repeated slashes, drop "." segments; a ".." segment, a decoded NUL or a backslash
 * is SIO_EINVAL. A trailing slash is kept. Writes a NUL-terminated result into out and
 * returns its length, or SIO_ETOOBIG when outcap is too small.
 */
ptrdiff_t sio__http_path_normalize(const char *path, size_t n, char *out, size_t outcap);

#endif
