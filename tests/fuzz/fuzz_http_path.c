/*
 * Fuzz the request-target helpers: path normalisation, percent-decoding, query lookup,
 * Range and date parsing. Invariants: a normalised path starts with '/', holds no "//",
 * no ".." segment and no NUL, and normalising it again changes nothing (when it has no
 * '%' left to decode); a satisfiable range lies inside the resource.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/url.h"
#include "http/date.h"
#include "http/path.h"
#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char out[4096], again[4096];
    if (size < sizeof(out)) {
        ptrdiff_t n = sio__http_path_normalize(s, size, out, sizeof(out));
        if (n >= 0) {
            if (out[0] != '/' || strstr(out, "//") || strstr(out, "/../") ||
                strlen(out) != (size_t)n)
                __builtin_trap();
            if (n >= 3 && !strcmp(out + n - 3, "/..")) __builtin_trap();
            if (!memchr(out, '%', (size_t)n)) {
                ptrdiff_t m = sio__http_path_normalize(out, (size_t)n, again, sizeof(again));
                if (m != n || memcmp(out, again, (size_t)n)) __builtin_trap();
            }
        }
        (void)sio__url_decode(out, s, size, 1);
        (void)sio__query_get(s, size, "sid", out, 64);
    }
    uint64_t start, end, rsize = size ? data[0] * 1000u : 0;
    if (sio__http_range_parse(s, size, rsize, &start, &end) == SIO__RANGE_OK &&
        !(start <= end && end < rsize))
        __builtin_trap();
    int64_t t;
    if (sio__http_date_parse(s, size, &t) == 0 && t > -62167219200 && t < 253402300800) {
        char d[32];
        sio__http_date_format(d, t);
    }
    return 0;
}
