/*
 * permessage-deflate with zlib.
 *
 * Negotiation reads the offers in a Sec-WebSocket-Extensions value in order and accepts the
 * first valid permessage-deflate offer; an offer with an unknown or repeated parameter is
 * declined, as RFC 7692 section 5 requires, and the next one is tried.
 *
 * Memory: a deflate stream at 15 window bits and memLevel 8 holds about 256 KiB, an
 * inflate stream about 44 KiB (7 KiB state and a 32 KiB window). Both are created on the
 * first message that needs them, so a connection that never sends or receives compressed
 * messages holds neither. When a direction negotiated no_context_takeover, its stream is
 * ended after every message instead of reset: re-creating it costs one allocation per
 * message, but an idle connection then holds nothing at all, which is the point of asking
 * for no context takeover.
 *
 * zlib cannot deflate with an 8-bit window; 9 is used when 8 is negotiated, as other
 * implementations do. Inflating always uses a 15-bit window, which reads any stream.
 */
#include "ws/deflate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/alloc.h"
#include "sio.h"

struct sio__pmd {
    z_stream def, inf;
    unsigned def_on : 1, inf_on : 1;
    unsigned def_reset : 1, inf_reset : 1; /* no context takeover in that direction */
    int def_bits;
    size_t max_inflated;
};

/* ---- negotiation ---- */

typedef struct offer {
    int snct, cnct;     /* seen: server/client_no_context_takeover */
    int smwb, cmwb;     /* seen: server/client_max_window_bits */
    int smwb_v, cmwb_v; /* values; cmwb_v 0 when given without value */
    int valid;
} offer;

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    return p;
}

static int parse_bits(const char *v, size_t n)
{
    if (n == 0 || n > 2) return -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (v[i] - '0');
    }
    if (n == 2 && v[0] == '0') return -1;
    return x >= 8 && x <= 15 ? x : -1;
}

/* Parse one extension element [p, e): "name; a; b=1; c=\"2\"". Returns 1 if it is a
 * permessage-deflate offer (valid or not, in o->valid), 0 for another extension. */
static int parse_offer(const char *p, const char *e, offer *o)
{
    memset(o, 0, sizeof(*o));
    o->valid = 1;
    p = skip_ws(p, e);
    const char *ne = p;
    while (ne < e && *ne != ';' && *ne != ' ' && *ne != '\t') ne++;
    if ((size_t)(ne - p) != 18 || strncasecmp(p, "permessage-deflate", 18)) return 0;
    p = skip_ws(ne, e);
    while (p < e) {
        if (*p != ';') {
            o->valid = 0;
            return 1;
        }
        p = skip_ws(p + 1, e);
        const char *k = p;
        while (p < e && *p != '=' && *p != ';' && *p != ' ' && *p != '\t') p++;
        size_t kl = (size_t)(p - k);
        p = skip_ws(p, e);
        const char *v = NULL;
        size_t vl = 0;
        if (p < e && *p == '=') {
            p = skip_ws(p + 1, e);
            if (p < e && *p == '"') {
                v = ++p;
                while (p < e && *p != '"') p++;
                if (p == e) {
                    o->valid = 0;
                    return 1;
                }
                vl = (size_t)(p - v);
                p++;
            } else {
                v = p;
                while (p < e && *p != ';' && *p != ' ' && *p != '\t') p++;
                vl = (size_t)(p - v);
            }
            p = skip_ws(p, e);
        }
#define IS(name) (kl == sizeof(name) - 1 && !strncasecmp(k, name, kl))
        if (IS("server_no_context_takeover") && !v && !o->snct) {
            o->snct = 1;
        } else if (IS("client_no_context_takeover") && !v && !o->cnct) {
            o->cnct = 1;
        } else if (IS("server_max_window_bits") && v && !o->smwb &&
                   (o->smwb_v = parse_bits(v, vl)) > 0) {
            o->smwb = 1;
        } else if (IS("client_max_window_bits") && !o->cmwb &&
                   (!v || (o->cmwb_v = parse_bits(v, vl)) > 0)) {
            o->cmwb = 1;
        } else {
            o->valid = 0;
            return 1;
        }
#undef IS
    }
    return 1;
}

/* The comma-separated element starting at p (commas inside quotes don't count). */
static const char *next_element(const char *p, const char **end)
{
    int q = 0;
    const char *s = p;
    while (*p && (q || *p != ',')) {
        if (*p == '"') q = !q;
        p++;
    }
    *end = p;
    return s;
}

int sio__pmd_negotiate(const char *value, const sio__pmd_config *cfg, sio__pmd_params *out,
                       char *response, size_t response_len)
{
    sio__pmd_config c = {0};
    if (cfg) c = *cfg;
    const char *p = value;
    while (p && *p) {
        const char *e;
        const char *s = next_element(p, &e);
        offer o;
        p = *e ? e + 1 : e;
        if (!parse_offer(s, e, &o) || !o.valid) continue;
        /* The server can only limit the client's window if the client allows it. */
        if (c.client_max_window_bits && c.client_max_window_bits < 15 && !o.cmwb) continue;
        sio__pmd_params r = {0};
        r.server_no_context_takeover = o.snct || c.server_no_context_takeover;
        r.client_no_context_takeover = o.cnct || c.client_no_context_takeover;
        int sb = o.smwb ? o.smwb_v : 15;
        if (c.server_max_window_bits && c.server_max_window_bits < sb)
            sb = c.server_max_window_bits;
        if (o.smwb || sb < 15) r.server_max_window_bits = (uint8_t)sb;
        if (o.cmwb) {
            int cb = o.cmwb_v ? o.cmwb_v : 15;
            if (c.client_max_window_bits && c.client_max_window_bits < cb)
                cb = c.client_max_window_bits;
            if (o.cmwb_v || cb < 15) r.client_max_window_bits = (uint8_t)cb;
        }
        int n = snprintf(response, response_len, "permessage-deflate%s%s",
                         r.server_no_context_takeover ? "; server_no_context_takeover" : "",
                         r.client_no_context_takeover ? "; client_no_context_takeover" : "");
        if (n < 0 || (size_t)n >= response_len) return 0;
        if (r.server_max_window_bits)
            n += snprintf(response + n, response_len - (size_t)n, "; server_max_window_bits=%d",
                          r.server_max_window_bits);
        if ((size_t)n < response_len && r.client_max_window_bits)
            n += snprintf(response + n, response_len - (size_t)n, "; client_max_window_bits=%d",
                          r.client_max_window_bits);
        if ((size_t)n >= response_len) return 0;
        *out = r;
        return 1;
    }
    return 0;
}

int sio__pmd_offer(const sio__pmd_config *cfg, char *out, size_t outlen)
{
    sio__pmd_config c = {0};
    if (cfg) c = *cfg;
    int n = snprintf(out, outlen, "permessage-deflate%s%s; client_max_window_bits",
                     c.server_no_context_takeover ? "; server_no_context_takeover" : "",
                     c.client_no_context_takeover ? "; client_no_context_takeover" : "");
    if (n >= 0 && (size_t)n < outlen && c.server_max_window_bits)
        n += snprintf(out + n, outlen - (size_t)n, "; server_max_window_bits=%d",
                      c.server_max_window_bits);
    return n < 0 || (size_t)n >= outlen ? SIO_ETOOBIG : 0;
}

int sio__pmd_accept_response(const char *value, const sio__pmd_config *cfg, sio__pmd_params *out)
{
    sio__pmd_config c = {0};
    if (cfg) c = *cfg;
    const char *e;
    const char *s = next_element(value, &e);
    offer o;
    if (*e || !parse_offer(s, e, &o) || !o.valid) return SIO_EPROTO;
    if (c.server_max_window_bits && (!o.smwb || o.smwb_v > c.server_max_window_bits))
        return SIO_EPROTO;
    if (c.server_no_context_takeover && !o.snct) return SIO_EPROTO;
    memset(out, 0, sizeof(*out));
    out->server_no_context_takeover = (uint8_t)o.snct;
    out->client_no_context_takeover = (uint8_t)(o.cnct || c.client_no_context_takeover);
    out->server_max_window_bits = (uint8_t)(o.smwb ? o.smwb_v : 0);
    out->client_max_window_bits = (uint8_t)(o.cmwb ? (o.cmwb_v ? o.cmwb_v : 15) : 0);
    return 0;
}

/* ---- streams ---- */

static voidpf zalloc(voidpf opaque, uInt items, uInt size)
{
    return sio__calloc(items, size);
}

static void zfree(voidpf opaque, voidpf p)
{
    sio__free(p);
}

sio__pmd *sio__pmd_new(const sio__pmd_params *p, int role, size_t max_inflated)
{
    sio__pmd *z = sio__calloc(1, sizeof(*z));
    if (!z) return NULL;
    int server = role == SIO__PMD_SERVER;
    int own_bits = server ? p->server_max_window_bits : p->client_max_window_bits;
    z->def_bits = own_bits ? own_bits : 15;
    if (z->def_bits < 9) z->def_bits = 9;
    z->def_reset = server ? p->server_no_context_takeover : p->client_no_context_takeover;
    z->inf_reset = server ? p->client_no_context_takeover : p->server_no_context_takeover;
    z->max_inflated = max_inflated ? max_inflated : SIZE_MAX;
    return z;
}

void sio__pmd_free(sio__pmd *z)
{
    if (!z) return;
    if (z->def_on) deflateEnd(&z->def);
    if (z->inf_on) inflateEnd(&z->inf);
    sio__free(z);
}

int sio__pmd_compress(sio__pmd *z, const uint8_t *in, size_t n, sio__buf *out)
{
    if (!z->def_on) {
        memset(&z->def, 0, sizeof(z->def));
        z->def.zalloc = zalloc;
        z->def.zfree = zfree;
        if (deflateInit2(&z->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -z->def_bits, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return SIO_ENOMEM;
        z->def_on = 1;
    }
    size_t start = out->len;
    z->def.next_in = (Bytef *)(uintptr_t)in;
    z->def.avail_in = (uInt)n;
    int r;
    do {
        size_t room = deflateBound(&z->def, z->def.avail_in) + 16;
        if (sio__buf_reserve(out, room)) return SIO_ENOMEM;
        z->def.next_out = out->data + out->len;
        z->def.avail_out = (uInt)(out->cap - out->len);
        r = deflate(&z->def, Z_SYNC_FLUSH);
        out->len = out->cap - z->def.avail_out;
        if (r != Z_OK && r != Z_BUF_ERROR) return SIO_ENOMEM;
    } while (z->def.avail_in || z->def.avail_out == 0);
    /* Drop the empty stored block's 00 00 ff ff that Z_SYNC_FLUSH ends with. */
    if (out->len - start >= 4) out->len -= 4;
    if (out->len == start) sio__buf_append(out, "\0", 1);
    if (z->def_reset) {
        deflateEnd(&z->def);
        z->def_on = 0;
    }
    return 0;
}

int sio__pmd_decompress(sio__pmd *z, const uint8_t *in, size_t n, sio__buf *out)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    if (!z->inf_on) {
        memset(&z->inf, 0, sizeof(z->inf));
        z->inf.zalloc = zalloc;
        z->inf.zfree = zfree;
        if (inflateInit2(&z->inf, -15) != Z_OK) return SIO_ENOMEM;
        z->inf_on = 1;
    }
    size_t produced = 0;
    int rc = 0;
    for (int part = 0; part < 2 && !rc; part++) {
        z->inf.next_in = (Bytef *)(uintptr_t)(part ? tail : in);
        z->inf.avail_in = (uInt)(part ? sizeof(tail) : n);
        int full = 0;
        while (z->inf.avail_in || full) {
            size_t left = z->max_inflated - produced;
            size_t chunk = left < 16384 ? left + 1 : 16384;
            if (sio__buf_reserve(out, chunk)) {
                rc = SIO_ENOMEM;
                break;
            }
            z->inf.next_out = out->data + out->len;
            z->inf.avail_out = (uInt)chunk;
            int r = inflate(&z->inf, Z_SYNC_FLUSH);
            size_t got = chunk - z->inf.avail_out;
            full = z->inf.avail_out == 0;
            out->len += got;
            produced += got;
            if (produced > z->max_inflated) {
                rc = SIO_ETOOBIG;
                break;
            }
            if (r == Z_STREAM_END) break;
            if (r == Z_BUF_ERROR && got == 0) break;
            if (r != Z_OK && r != Z_BUF_ERROR) {
                rc = r == Z_MEM_ERROR ? SIO_ENOMEM : SIO_EPROTO;
                break;
            }
        }
    }
    if (rc || z->inf_reset) {
        inflateEnd(&z->inf);
        z->inf_on = 0;
    }
    return rc;
}
