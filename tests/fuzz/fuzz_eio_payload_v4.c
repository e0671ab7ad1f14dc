/*
 * libFuzzer target for the Engine.IO v4 payload decoder (src/eio/packet.c).
 *
 * The input is a polling POST body. The decoder's verdict is checked against a reference
 * written the plain way round (split at every 0x1e, then judge each piece), and:
 * - a rejected payload delivers no packet;
 * - delivered packets are well formed: type 0..6, binary only for messages, text valid
 *   UTF-8 (by the WebSocket layer's validator, an independent implementation);
 * - re-encoding them with sio__eio_payload_append_v4 gives back the input byte for byte
 *   (base64 is canonical, so the encoding is unique), and decoding that gives the same
 *   packets;
 * - a callback that stops at packet k makes the decoder return its value after exactly k
 *   packets.
 * Every buffer handed to the decoder is an exact-size allocation, so ASan sees over-reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/packet.h"
#include "sio.h"
#include "ws/utf8.h"

#define STOP 12345

typedef struct {
    uint8_t type, binary;
    size_t off, len;
} item;

typedef struct {
    item *p;
    size_t n, cap;
    uint8_t *bytes;
    size_t blen, bcap;
    size_t stop_at; /* return STOP after this many packets (0: never) */
} plist;

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return p;
    size_t cap2 = *cap ? *cap * 2 : 16;
    while (cap2 < need) cap2 *= 2;
    p = realloc(p, cap2 * size);
    if (!p) abort();
    *cap = cap2;
    return p;
}

static int on_packet(void *ud, const sio__eio_packet *p)
{
    plist *l = ud;
    if (!p->data || p->type > SIO__EIO_NOOP) abort();
    if (p->binary && p->type != SIO__EIO_MESSAGE) abort();
    if (!p->binary && !sio__utf8_valid(p->data, p->len)) abort();
    l->p = grow(l->p, &l->cap, l->n + 1, sizeof *l->p);
    l->bytes = grow(l->bytes, &l->bcap, l->blen + p->len + 1, 1);
    memcpy(l->bytes + l->blen, p->data, p->len);
    l->p[l->n++] = (item){p->type, p->binary, l->blen, p->len};
    l->blen += p->len;
    return l->stop_at && l->n == l->stop_at ? STOP : 0;
}

static sio__eio_packet at(const plist *l, size_t i)
{
    return (sio__eio_packet){l->p[i].type, l->p[i].binary, l->bytes + l->p[i].off, l->p[i].len};
}

static int same(const plist *a, const plist *b)
{
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        sio__eio_packet x = at(a, i), y = at(b, i);
        if (x.type != y.type || x.binary != y.binary || x.len != y.len) return 0;
        if (x.len && memcmp(x.data, y.data, x.len)) return 0;
    }
    return 1;
}

static void plist_free(plist *l)
{
    free(l->p);
    free(l->bytes);
}

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}

static int decode(const uint8_t *in, size_t n, plist *l)
{
    uint8_t *copy = dup_exact(in, n);
    int rc = sio__eio_decode_payload_v4(copy, n, on_packet, l);
    free(copy);
    return rc;
}

/* Reference: canonical padded base64, judged character by character with a bit count. */
static int ref_base64(const uint8_t *s, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t pad = 0, bits = 0;
    uint32_t acc = 0;
    if (n % 4) return 0;
    while (pad < 2 && pad < n && s[n - 1 - pad] == '=') pad++;
    for (size_t i = 0; i < n - pad; i++) {
        const char *c = memchr(alphabet, s[i], 64);
        if (!c) return 0;
        acc = (acc << 6 | (uint32_t)(c - alphabet)) & 0xffffff;
        bits += 6;
        if (bits >= 8) bits -= 8;
    }
    /* The bits left over after the last whole byte must be zero. */
    return (acc & ((1u << bits) - 1)) == 0;
}

/* Reference: 1 when the payload is acceptable. */
static int ref_valid(const uint8_t *in, size_t n)
{
    size_t start = 0;
    if (!n) return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && in[i] != 0x1e) continue;
        const uint8_t *s = in + start;
        size_t len = i - start;
        if (!len) return 0;
        if (s[0] == 'b') {
            if (!ref_base64(s + 1, len - 1)) return 0;
        } else if (s[0] < '0' || s[0] > '6' || !sio__utf8_valid(s + 1, len - 1)) {
            return 0;
        }
        start = i + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plist a = {0}, b = {0}, c = {0};
    sio__buf out = SIO__BUF_INIT;

    int rc = decode(data, size, &a);
    if (rc != 0 && rc != SIO_EPROTO) abort();
    if ((rc == 0) != ref_valid(data, size)) abort();
    if (rc) {
        if (a.n) abort();
        goto done;
    }
    if (!a.n) abort();

    for (size_t i = 0; i < a.n; i++) {
        sio__eio_packet p = at(&a, i);
        if (sio__eio_payload_append_v4(&out, &p)) abort();
    }
    if (out.len != size || memcmp(out.data, data, size)) abort();
    if (decode(out.data, out.len, &b) || !same(&a, &b)) abort();

    c.stop_at = 1 + (size_t)data[size / 2] % a.n;
    if (decode(data, size, &c) != STOP || c.n != c.stop_at) abort();

done:
    sio__buf_free(&out);
    plist_free(&a);
    plist_free(&b);
    plist_free(&c);
    return 0;
}
