/*
 * libFuzzer target for the Engine.IO v3 payload decoder (src/eio/packet.c), both forms.
 *
 * Input layout: bit 0 of byte 0 picks the form (0: "<n>:<packet>" text, 1: the binary
 * application/octet-stream form), the rest is the POST body. Checks:
 * - the verdict matches a reference written the plain way round (lengths read whole, code
 *   points decoded one at a time and counted as JavaScript counts them);
 * - a rejected payload delivers no packet;
 * - delivered packets are well formed: type 0..6, binary only for messages, text valid
 *   UTF-8 (by the WebSocket layer's validator, an independent implementation);
 * - the packets re-encode in each of the three payload forms (v3 text, v3 binary, and v4
 *   when no text holds its separator) and decode back to the same packets; the text
 *   form's encoding is a fixed point (encoding what it decodes to gives it back);
 * - a callback that stops at packet k makes the decoder return its value after exactly k
 *   packets.
 * Every buffer handed to a decoder is an exact-size allocation, so ASan sees over-reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/packet.h"
#include "sio.h"
#include "ws/utf8.h"

#define STOP 12345

enum { V4, V3_TEXT, V3_BINARY };

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
    memset(l, 0, sizeof *l);
}

static int decode(int form, const uint8_t *in, size_t n, plist *l)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) abort();
    if (n) memcpy(copy, in, n);
    int rc = form == V4 ? sio__eio_decode_payload_v4(copy, n, on_packet, l)
                        : sio__eio_decode_payload_v3(copy, n, form == V3_BINARY, on_packet, l);
    free(copy);
    return rc;
}

static void encode(int form, const plist *l, sio__buf *out)
{
    sio__buf_reset(out);
    for (size_t i = 0; i < l->n; i++) {
        sio__eio_packet p = at(l, i);
        int rc = form == V4        ? sio__eio_payload_append_v4(out, &p)
                 : form == V3_TEXT ? sio__eio_payload_append_v3(out, &p)
                                   : sio__eio_payload_append_v3_binary(out, &p);
        if (rc) abort();
    }
}

/* Encoding l in form and decoding the result gives l again. */
static void check_roundtrip(int form, const plist *l, sio__buf *out)
{
    plist back = {0};
    encode(form, l, out);
    if (decode(form, out->data, out->len, &back) || !same(l, &back)) abort();
    plist_free(&back);
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
    return (acc & ((1u << bits) - 1)) == 0;
}

/* Reference: a packet string, "<0..6><UTF-8>" or "b4<base64>". */
static int ref_packet(const uint8_t *s, size_t n)
{
    if (!n) return 0;
    if (s[0] == 'b') return n >= 2 && s[1] == '4' && ref_base64(s + 2, n - 2);
    return s[0] >= '0' && s[0] <= '6' && sio__utf8_valid(s + 1, n - 1);
}

/* Reference: the text form. A length past n can never fit, so it stops growing there. */
static int ref_text(const uint8_t *in, size_t n)
{
    size_t i = 0;
    if (!n) return 0;
    while (i < n) {
        size_t digits = 0, units = 0, got = 0;
        for (; i < n && in[i] >= '0' && in[i] <= '9'; i++, digits++)
            if (units <= n) units = units * 10 + (size_t)(in[i] - '0');
        if (!digits || i == n || in[i] != ':' || units > n) return 0;
        size_t start = ++i;
        while (got < units) {
            if (i == n) return 0;
            size_t k = in[i] < 0x80 ? 1 : in[i] < 0xE0 ? 2 : in[i] < 0xF0 ? 3 : 4;
            if (k > n - i || !sio__utf8_valid(in + i, k)) return 0;
            got += k == 4 ? 2 : 1;
            i += k;
        }
        if (got != units || (units && !ref_packet(in + start, i - start))) return 0;
    }
    return 1;
}

/* Reference: the binary form. */
static int ref_binary(const uint8_t *in, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t kind = in[i++];
        size_t digits = 0, len = 0;
        if (kind > 1) return 0;
        for (; i < n && in[i] <= 9; i++, digits++)
            if (len <= n) len = len * 10 + in[i];
        if (!digits || digits > 310 || i == n || in[i] != 0xff) return 0;
        i++;
        if (!len || len > n - i) return 0;
        if (kind == 0 ? !ref_packet(in + i, len) : in[i] != SIO__EIO_MESSAGE) return 0;
        i += len;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int form = data[0] & 1 ? V3_BINARY : V3_TEXT;
    data++;
    size--;

    plist a = {0}, again = {0};
    sio__buf out = SIO__BUF_INIT, out2 = SIO__BUF_INIT;
    int rc = decode(form, data, size, &a);
    if (rc != 0 && rc != SIO_EPROTO) abort();
    if ((rc == 0) != (form == V3_BINARY ? ref_binary(data, size) : ref_text(data, size))) abort();
    if (rc) {
        if (a.n) abort();
        goto done;
    }

    /* An empty packet list has no text form encoding here ("0:" is the session's). */
    if (a.n) check_roundtrip(V3_TEXT, &a, &out);
    check_roundtrip(V3_BINARY, &a, &out);
    int separator = 0;
    for (size_t i = 0; i < a.n && !separator; i++)
        separator = !a.p[i].binary && memchr(a.bytes + a.p[i].off, 0x1e, a.p[i].len);
    if (a.n && !separator) check_roundtrip(V4, &a, &out);

    if (a.n) {
        encode(V3_TEXT, &a, &out);
        if (decode(V3_TEXT, out.data, out.len, &again)) abort();
        encode(V3_TEXT, &again, &out2);
        if (out.len != out2.len || memcmp(out.data, out2.data, out.len)) abort();

        plist stop = {.stop_at = 1 + (size_t)data[size / 2] % a.n};
        if (decode(form, data, size, &stop) != STOP || stop.n != stop.stop_at) abort();
        plist_free(&stop);
    }

done:
    sio__buf_free(&out);
    sio__buf_free(&out2);
    plist_free(&a);
    plist_free(&again);
    return 0;
}
