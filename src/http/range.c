/*
 * Byte ranges. Only one range is honoured: multipart/byteranges answers are rarely used
 * and RFC 9110 lets a server ignore Range altogether, so several ranges get the whole
 * resource. Anything that does not parse is ignored the same way, as the RFC asks.
 */
#include "http/range.h"

#include <string.h>
#include <strings.h>

static int ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Digits at *p..end into *out; 0 when none or on overflow. */
static int number(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
        s++;
    }
    if (s == *p) return 0;
    *p = s;
    *out = v;
    return 1;
}

sio__range_result sio__http_range_parse(const char *value, size_t n, uint64_t size, uint64_t *start,
                                        uint64_t *end)
{
    const char *p = value, *e = value + n;
    while (p < e && ows(*p)) p++;
    if ((size_t)(e - p) < 6 || strncasecmp(p, "bytes", 5)) return SIO__RANGE_NONE;
    p += 5;
    while (p < e && ows(*p)) p++;
    if (p == e || *p++ != '=') return SIO__RANGE_NONE;
    while (p < e && ows(*p)) p++;
    uint64_t a = 0, b = 0;
    int has_a = number(&p, e, &a);
    while (p < e && ows(*p)) p++;
    if (p == e || *p++ != '-') return SIO__RANGE_NONE;
    while (p < e && ows(*p)) p++;
    int has_b = number(&p, e, &b);
    while (p < e && ows(*p)) p++;
    if (p != e) return SIO__RANGE_NONE; /* several ranges, or junk */
    if (!has_a && !has_b) return SIO__RANGE_NONE;
    if (!has_a) {
        /* Suffix: the last b bytes. */
        if (b == 0 || size == 0) return SIO__RANGE_UNSATISFIABLE;
        if (b > size) b = size;
        *start = size - b;
        *end = size - 1;
        return SIO__RANGE_OK;
    }
    if (has_b && b < a) return SIO__RANGE_NONE;
    if (a >= size) return SIO__RANGE_UNSATISFIABLE;
    *start = a;
    *end = has_b && b < size - 1 ? b : size - 1;
    return SIO__RANGE_OK;
}
