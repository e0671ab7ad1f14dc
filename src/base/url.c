/*
 * URL helpers: percent-decoding in place or into a caller's buffer, and a scan of a query
 * string for one parameter. Pure and allocation-free; callers size the output.
 */
#include "base/url.h"

#include <string.h>

#include "sio.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ptrdiff_t sio__url_decode(char *out, const char *in, size_t n, int plus_as_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch == '%') {
            if (n - i < 3) return SIO_EINVAL;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0) return SIO_EINVAL;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (ch == '+' && plus_as_space) {
            out[o++] = ' ';
        } else {
            out[o++] = ch;
        }
    }
    return (ptrdiff_t)o;
}

int sio__query_get(const char *query, size_t qlen, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = query, *end = query + qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        const char *ke = eq ? eq : pe;
        if ((size_t)(ke - p) == nl && !memcmp(p, name, nl)) {
            const char *v = eq ? eq + 1 : pe;
            size_t vl = (size_t)(pe - v);
            /* Decode in pieces small enough for the stack, bounded by outlen. */
            size_t o = 0;
            while (vl) {
                size_t k = vl > 96 ? 96 : vl;
                /* Never split an escape between pieces. */
                if (k < vl && k >= 1 && v[k - 1] == '%')
                    k -= 1;
                else if (k < vl && k >= 2 && v[k - 2] == '%')
                    k -= 2;
                char tmp[96];
                ptrdiff_t d = sio__url_decode(tmp, v, k, 1);
                if (d < 0) return SIO_EINVAL;
                if (o + (size_t)d + 1 > outlen) return SIO_ETOOBIG;
                memcpy(out + o, tmp, (size_t)d);
                o += (size_t)d;
                v += k;
                vl -= k;
            }
            if (o + 1 > outlen) return SIO_ETOOBIG;
            out[o] = 0;
            ptrdiff_t d = (ptrdiff_t)o;
            return (int)d;
        }
        p = pe + 1;
    }
    return SIO_ENOTFOUND;
}
