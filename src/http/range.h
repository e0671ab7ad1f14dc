/* The Range request header (RFC 9110 section 14), single byte ranges only. */
#ifndef SIO_HTTP_RANGE_H
#define SIO_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SIO__RANGE_NONE = 0,         /* serve the whole resource */
    SIO__RANGE_OK = 1,           /* serve [start, end], end inclusive */
    SIO__RANGE_UNSATISFIABLE = 2 /* answer 416 */
} sio__range_result;

/*
 * Parse a Range value (n bytes) for a resource of size bytes. A malformed value, another
 * unit or several ranges give NONE; a first byte at or past the end gives UNSATISFIABLE.
 */
sio__range_result sio__http_range_parse(const char *value, size_t n, uint64_t size, uint64_t *start,
                                        uint64_t *end);

#endif
