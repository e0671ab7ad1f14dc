/*
 * libFuzzer target for the single-packet parts of the Engine.IO codec (src/eio/packet.c):
 * WebSocket text and binary frames, base64 and UTF-16 lengths.
 *
 * Input layout: byte 0 picks what the rest is (mod 4): a text frame, a v4 binary frame, a
 * v3 binary frame, or base64. Each verdict is checked against a reference small enough to
 * read at a glance (a text frame is a digit 0..6 and valid UTF-8; base64 is judged by a
 * bit-counting decoder), and whatever decodes re-encodes: a text frame back to itself
 * with sio__eio_encode_text, base64 back to itself, and every packet through the three
 * payload forms back to the same packet. UTF-16 lengths of valid text are checked against
 * a count of decoded code points.
 * Every buffer handed to a decoder is an exact-size allocation, so ASan sees over-reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/packet.h"
#include "sio.h"
#include "ws/utf8.h"

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}

typedef struct {
    const sio__eio_packet *want;
    size_t seen;
} expect;

static int on_packet(void *ud, const sio__eio_packet *p)
{
    expect *e = ud;
    if (e->seen++) abort();
    if (p->type != e->want->type || p->binary != e->want->binary || p->len != e->want->len) abort();
    if (p->len && memcmp(p->data, e->want->data, p->len)) abort();
    return 0;
}

/* p survives each payload form as a payload of one packet. */
static void check_payloads(const sio__eio_packet *p)
{
    for (int form = 0; form < 3; form++) {
        sio__buf out = SIO__BUF_INIT;
        int rc = form == 0   ? sio__eio_payload_append_v4(&out, p)
                 : form == 1 ? sio__eio_payload_append_v3(&out, p)
                             : sio__eio_payload_append_v3_binary(&out, p);
        if (rc) abort();
        /* A text body holding the v4 separator cannot travel in a v4 payload. */
        if (form == 0 && !p->binary && memchr(p->data, 0x1e, p->len)) {
            sio__buf_free(&out);
            continue;
        }
        uint8_t *copy = dup_exact(out.data, out.len);
        expect e = {p, 0};
        rc = form == 0 ? sio__eio_decode_payload_v4(copy, out.len, on_packet, &e)
                       : sio__eio_decode_payload_v3(copy, out.len, form == 2, on_packet, &e);
        if (rc || e.seen != 1) abort();
        free(copy);
        sio__buf_free(&out);
    }
}

/* Reference UTF-16 length: decode each code point (the input is valid UTF-8). */
static size_t ref_utf16_len(const uint8_t *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t cp = k == 1 ? c : c & (0x7f >> k);
        for (size_t j = 1; j < k; j++) cp = cp << 6 | (s[i + j] & 0x3f);
        units += cp >= 0x10000 ? 2 : 1;
        i += k;
    }
    return units;
}

static void check_text(const uint8_t *data, size_t size)
{
    uint8_t *in = dup_exact(data, size);
    sio__eio_packet p;
    int rc = sio__eio_decode_text(in, size, &p);
    int valid =
        size >= 1 && data[0] >= '0' && data[0] <= '6' && sio__utf8_valid(data + 1, size - 1);
    if (rc != (valid ? 0 : SIO_EPROTO)) abort();
    if (valid) {
        if (p.type != data[0] - '0' || p.binary || p.data != in + 1 || p.len != size - 1) abort();
        if (sio__eio_utf16_len(p.data, p.len) != ref_utf16_len(p.data, p.len)) abort();
        sio__buf out = SIO__BUF_INIT;
        if (sio__eio_encode_text(&out, &p) || out.len != size || memcmp(out.data, data, size))
            abort();
        sio__buf_free(&out);
        check_payloads(&p);
    }
    free(in);
}

static void check_ws_binary(int v3, const uint8_t *data, size_t size)
{
    uint8_t *in = dup_exact(data, size);
    sio__eio_packet p;
    int rc = sio__eio_decode_ws_binary(v3, in, size, &p);
    int valid = !v3 || (size >= 1 && data[0] == SIO__EIO_MESSAGE);
    if (rc != (valid ? 0 : SIO_EPROTO)) abort();
    if (valid) {
        if (p.type != SIO__EIO_MESSAGE || !p.binary || p.data != in + v3 || p.len != size - v3)
            abort();
        check_payloads(&p);
    }
    free(in);
}

/* Reference: canonical padded base64, decoded with a bit accumulator; -1 when invalid. */
static long ref_base64(const uint8_t *s, size_t n, uint8_t *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t pad = 0, bits = 0, o = 0;
    uint32_t acc = 0;
    if (n % 4) return -1;
    while (pad < 2 && pad < n && s[n - 1 - pad] == '=') pad++;
    for (size_t i = 0; i < n - pad; i++) {
        const char *c = memchr(alphabet, s[i], 64);
        if (!c) return -1;
        acc = (acc << 6 | (uint32_t)(c - alphabet)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (acc & ((1u << bits) - 1)) ? -1 : (long)o;
}

static void check_base64(const uint8_t *data, size_t size)
{
    uint8_t *ref = malloc(size ? size : 1), *dst = malloc(size ? size : 1);
    uint8_t *in = dup_exact(data, size);
    if (!ref || !dst) abort();
    long want = ref_base64(data, size, ref);
    long got = sio__eio_base64_decode(dst, in, size);
    if (want < 0 ? got != SIO_EPROTO : got != want) abort();
    /* In place gives the same. */
    long got2 = sio__eio_base64_decode(in, in, size);
    if (got2 != got) abort();
    if (want >= 0) {
        if (memcmp(dst, ref, (size_t)want) || memcmp(in, ref, (size_t)want)) abort();
        sio__buf out = SIO__BUF_INIT;
        if (sio__eio_base64_encode(&out, ref, (size_t)want)) abort();
        if (out.len != size || memcmp(out.data, data, size)) abort();
        sio__buf_free(&out);
    }
    free(ref);
    free(dst);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0] & 3;
    data++;
    size--;
    switch (mode) {
    case 0:
        check_text(data, size);
        break;
    case 1:
        check_ws_binary(0, data, size);
        break;
    case 2:
        check_ws_binary(1, data, size);
        break;
    default:
        check_base64(data, size);
        break;
    }
    return 0;
}
