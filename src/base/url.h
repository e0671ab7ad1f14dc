/* Percent-decoding and query-string lookup (RFC 3986, HTML form encoding). */
#ifndef SIO_BASE_URL_H
#define SIO_BASE_URL_H

#include <stddef.h>

/* Decode n bytes of in into out (room for n bytes; out may equal in). Returns the decoded
 * length or SIO_EINVAL on a malformed escape. Does not NUL-terminate. */
ptrdiff_t sio__url_decode(char *out, const char *in, size_t n, int plus_as_space);

/* The first `name` parameter of an "a=1&b=2" query, form-decoded into out and
 * NUL-terminated. Returns its length, SIO_ENOTFOUND, SIO_ETOOBIG or SIO_EINVAL. */
int sio__query_get(const char *query, size_t qlen, const char *name, char *out, size_t outlen);

#endif
