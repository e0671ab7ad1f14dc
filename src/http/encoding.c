/*
 * Content codings: choosing one from Accept-Encoding (q-values honoured, as Node's
 * Negotiator: a coding named in the header is not covered by "*"), and compressing a whole
 * body with zlib.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "http/http.h"

/* A q-value as parseFloat reads one ("0.5", "1", ".25"; garbage: 0), by hand: strtod would
 * want the locale's decimal point. */
static double parse_q(const char *p)
{
    double q = 0, scale = 1;
    while (*p >= '0' && *p <= '9') q = q * 10 + (*p++ - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++) q += (*p - '0') * (scale /= 10);
    return q;
}

int sio__http_pick_encoding(const char *ae)
{
    if (!ae) return SIO__HTTP_ENC_NONE;
    double qs[3] = {-1, -1, -1}; /* gzip, deflate, "*"; -1: not named */
    const char *p = ae;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t') p++;
        size_t n = (size_t)(p - tok);
        double q = 1;
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ') p++;
                if ((*p == 'q' || *p == 'Q') && p[1] == '=') q = parse_q(p + 2);
            } else {
                p++;
            }
        }
        int i = n == 4 && !strncasecmp(tok, "gzip", 4)      ? 0
                : n == 7 && !strncasecmp(tok, "deflate", 7) ? 1
                : n == 1 && *tok == '*'                     ? 2
                                                            : -1;
        if (i >= 0 && q > qs[i]) qs[i] = q;
    }
    double qg = qs[0] >= 0 ? qs[0] : qs[2], qd = qs[1] >= 0 ? qs[1] : qs[2];
    if (qg <= 0 && qd <= 0) return SIO__HTTP_ENC_NONE;
    return qg >= qd ? SIO__HTTP_ENC_GZIP : SIO__HTTP_ENC_DEFLATE;
}

int sio__http_compress(const sio__buf *in, int enc, int level, sio__buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, level, Z_DEFLATED, enc == SIO__HTTP_ENC_GZIP ? 31 : 15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return SIO_ENOMEM;
    size_t bound = deflateBound(&z, in->len) + 32;
    int r = sio__buf_reserve(out, bound);
    if (!r) {
        z.next_in = in->data;
        z.avail_in = (uInt)in->len;
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)bound;
        r = deflate(&z, Z_FINISH) == Z_STREAM_END ? 0 : SIO_ENOMEM;
        if (!r) out->len += bound - z.avail_out;
    }
    deflateEnd(&z);
    return r;
}
