/*
 * Engine.IO packet and payload codec (protocol v4 and v3); the wire forms are listed in
 * packet.h.
 *
 * Decoding a payload is two passes over the same bytes. The first validates everything
 * (length prefixes, packet types, UTF-8, base64) and delivers nothing; the second decodes
 * base64 bodies in place and hands each packet to the callback. The Node parsers instead
 * deliver packets as they go and stop at the first bad one, so the packets before it take
 * effect and then the session closes with "parse error"; here a payload is one unit, all or
 * nothing, and a session never acts on half of it. The alternative to a second pass is to
 * remember where each packet starts, which costs an allocation per payload or a bound on
 * the packet count. The second pass is cheap: v4 finds the separators again with memchr and
 * v3 binary reads the length prefixes again; only v3 text repeats real work, the UTF-16
 * count that locates each packet (it checks UTF-8 as it goes, at ASCII speed a word at a
 * time). Base64 is only checked on the first pass and only decoded on the second.
 *
 * Where the specs are silent we follow engine.io-parser (v4) and engine.io's parser-v3,
 * and reject what they would turn into an error packet, plus what they accept only by
 * accident of JavaScript:
 * - Every packet is at least its type: an empty v4 packet (an empty payload, or a payload
 *   with an empty piece between separators) is an error.
 * - Base64 must be canonical RFC 4648: length a multiple of 4, the standard alphabet,
 *   padding only at the end and unused bits zero. Node's Buffer.from(s, "base64") skips
 *   what it does not understand; every Engine.IO client encodes canonically, and the
 *   strict form makes decode(encode(x)) == x hold byte for byte.
 * - Binary packets are messages. v3's "b<type><base64>" and its binary payload parts
 *   carry a type; parser-v3 decodes "b2AQ==" into a ping with a buffer and "b9" into a
 *   packet of no type. Only type 4 is accepted.
 * - v3 length prefixes are decimal digits only. parser-v3 compares the prefix with
 *   JavaScript's loose equality, so " 6", "0x6" and "6.0" pass there; leading zeros ("06")
 *   are the one variant we keep, since they are digits.
 * - v3 text lengths count UTF-16 code units of the packet string. A length that ends
 *   inside a four-byte UTF-8 character (between the two halves of a surrogate pair) is an
 *   error, as it is in parser-v3 once the next prefix fails to parse.
 * - A v3 text payload must not be empty, and a zero-length packet ("0:") is skipped:
 *   parser-v3 encodes an empty packet list as "0:". A v3 binary payload may be empty (no
 *   packets, as parser-v3 decodes it), but its parts may not: an empty string part is an
 *   error packet in parser-v3 and an empty binary part a packet with no type.
 * - v3 binary payload parts start with 0 (string) or 1 (binary); parser-v3 treats any
 *   byte other than 0 as "binary". Their length digits are bytes 0 to 9 (parser-v3 would
 *   read a byte 23 as the two digits "2" and "3"), at most 310 of them (the length of
 *   Number.MAX_VALUE written out, parser-v3's bound; its check runs before each digit is
 *   added, so it takes 311), and the part must be all there.
 * - String parts of a v3 binary payload are length-prefixed in bytes, not UTF-16 units,
 *   and may themselves be base64 packets ("b4..."): parser-v3 decodes them as such.
 * - Text must be valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
 *   The JavaScript servers decode with replacement characters instead.
 *
 * A single WebSocket text frame starting with 'b' is an unknown type for
 * sio__eio_decode_text: its input is const, so a base64 body cannot be decoded in place.
 * Clients send such frames only when forced to base64 (engine.io-client's forceBase64);
 * the session layer can decode them with sio__eio_base64_decode into its own buffer.
 */
#include "eio/packet.h"

#include <limits.h>
#include <string.h>

#include "sio.h"

#define ASCII_MASK 0x8080808080808080ull

/* The record separator between v4 payload packets. */
#define V4_SEPARATOR 0x1e
/* The most length digits parser-v3 reads in a binary payload part. */
#define V3_MAX_DIGITS 310

/* text_form flags: check the body's UTF-8 (first pass), decode base64 in place (second). */
enum { CHECK_UTF8 = 1, DECODE = 2 };

/* ------------------------------------------------------------------------------------ */
/* UTF-8 and UTF-16 lengths                                                             */
/* ------------------------------------------------------------------------------------ */

/*
 * The length of the valid UTF-8 sequence that starts with the non-ASCII byte p[0], or 0.
 * Unicode's table of well-formed sequences: only the byte after the lead has a narrowed
 * range (E0: no overlongs, ED: no surrogates, F0: no overlongs, F4: nothing past U+10FFFF).
 */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xBF;
    size_t k;

    if (c < 0xC2) return 0;
    if (c < 0xE0) {
        k = 2;
    } else if (c < 0xF0) {
        k = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c < 0xF5) {
        k = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < k || p[1] < lo || p[1] > hi) return 0;
    for (size_t j = 2; j < k; j++)
        if ((p[j] & 0xC0) != 0x80) return 0;
    return k;
}

/* 1 when p[0..n) is valid UTF-8. Text is mostly ASCII JSON: skip it a word at a time. */
static int utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & ASCII_MASK) break;
            i += 8;
        }
        if (i == n) break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/*
 * The number of bytes of p[0..n) that hold exactly `units` UTF-16 code units of valid
 * UTF-8, or SIZE_MAX when the bytes run out, are not valid UTF-8, or the count ends
 * between the two units of a four-byte character.
 */
static size_t utf16_span(const uint8_t *p, size_t n, size_t units)
{
    size_t i = 0;
    while (units) {
        while (units >= 8 && n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & ASCII_MASK) break;
            i += 8;
            units -= 8;
        }
        if (!units) break;
        if (i == n) return SIZE_MAX;
        if (p[i] < 0x80) {
            i++;
            units--;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        size_t u = k == 4 ? 2 : 1;
        if (!k || u > units) return SIZE_MAX;
        i += k;
        units -= u;
    }
    return i;
}

/* A lead or ASCII byte is one unit, a four-byte lead one more, continuation bytes none. */
static inline size_t utf16_units(uint8_t c)
{
    return (size_t)((c & 0xC0) != 0x80) + (c >= 0xF0);
}

size_t sio__eio_utf16_len(const uint8_t *data, size_t len)
{
    size_t units = 0, i = 0;
    for (; len - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        if (!(w & ASCII_MASK)) {
            units += 8;
            continue;
        }
        for (size_t j = 0; j < 8; j++) units += utf16_units(data[i + j]);
    }
    for (; i < len; i++) units += utf16_units(data[i]);
    return units;
}

/* ------------------------------------------------------------------------------------ */
/* Base64                                                                               */
/* ------------------------------------------------------------------------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Sextet values of the standard alphabet; '=' is 0xfe, anything else 0xff. Both have the
 * high bit set, so one test on the OR of a quantum's four values finds either. */
static const uint8_t b64_value[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff, 0xff, 0x3f,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff,
    0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

#define B64_PAD 0xfe

/*
 * Strict base64 of src[0..len): with dst, decode into it (dst may equal src: each quantum
 * is read whole before its three bytes are written, and they land at or before it);
 * without, only check. Returns the decoded length or SIO_EPROTO.
 */
static long base64_run(uint8_t *dst, const uint8_t *src, size_t len)
{
    if (len % 4 || len > LONG_MAX) return SIO_EPROTO;
    if (!len) return 0;

    size_t o = 0, last = len - 4;
    for (size_t i = 0; i < last; i += 4) {
        uint32_t a = b64_value[src[i]], b = b64_value[src[i + 1]], c = b64_value[src[i + 2]],
                 d = b64_value[src[i + 3]];
        if ((a | b | c | d) & 0x80) return SIO_EPROTO;
        if (dst) {
            uint32_t v = a << 18 | b << 12 | c << 6 | d;
            dst[o] = (uint8_t)(v >> 16);
            dst[o + 1] = (uint8_t)(v >> 8);
            dst[o + 2] = (uint8_t)v;
        }
        o += 3;
    }

    /* The last quantum: "xxxx", "xxx=" or "xx==", with the bits past the data zero. */
    uint32_t a = b64_value[src[last]], b = b64_value[src[last + 1]], c = b64_value[src[last + 2]],
             d = b64_value[src[last + 3]];
    size_t tail;
    if ((a | b) & 0x80) return SIO_EPROTO;
    if (c == B64_PAD) {
        if (d != B64_PAD || (b & 0x0f)) return SIO_EPROTO;
        tail = 1;
        c = d = 0;
    } else if (d == B64_PAD) {
        if ((c & 0x80) || (c & 0x03)) return SIO_EPROTO;
        tail = 2;
        d = 0;
    } else {
        if ((c | d) & 0x80) return SIO_EPROTO;
        tail = 3;
    }
    if (dst) {
        uint32_t v = a << 18 | b << 12 | c << 6 | d;
        dst[o] = (uint8_t)(v >> 16);
        if (tail > 1) dst[o + 1] = (uint8_t)(v >> 8);
        if (tail > 2) dst[o + 2] = (uint8_t)v;
    }
    return (long)(o + tail);
}

long sio__eio_base64_decode(uint8_t *dst, const uint8_t *src, size_t len)
{
    return base64_run(dst, src, len);
}

/* The encoded size of n bytes in *out; 0, or SIO_ENOMEM when it does not fit a size_t. */
static int base64_size(size_t n, size_t *out)
{
    if (n / 3 >= SIZE_MAX / 4 - 1) return SIO_ENOMEM;
    *out = (n + 2) / 3 * 4;
    return 0;
}

/* Write the base64 of s[0..n) at o, which has room for it; returns the bytes written. */
static size_t base64_put(uint8_t *o, const uint8_t *s, size_t n)
{
    uint8_t *start = o;
    size_t i = 0;
    for (; n - i >= 3; i += 3, o += 4) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        o[0] = (uint8_t)b64_alphabet[v >> 18];
        o[1] = (uint8_t)b64_alphabet[v >> 12 & 63];
        o[2] = (uint8_t)b64_alphabet[v >> 6 & 63];
        o[3] = (uint8_t)b64_alphabet[v & 63];
    }
    if (n - i) {
        uint32_t v = (uint32_t)s[i] << 16 | (n - i == 2 ? (uint32_t)s[i + 1] << 8 : 0);
        o[0] = (uint8_t)b64_alphabet[v >> 18];
        o[1] = (uint8_t)b64_alphabet[v >> 12 & 63];
        o[2] = n - i == 2 ? (uint8_t)b64_alphabet[v >> 6 & 63] : '=';
        o[3] = '=';
        o += 4;
    }
    return (size_t)(o - start);
}

int sio__eio_base64_encode(sio__buf *out, const uint8_t *data, size_t len)
{
    size_t n;
    int r = base64_size(len, &n);
    if (r || (r = sio__buf_reserve(out, n))) return r;
    out->len += base64_put(out->data + out->len, data, len);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Decoding                                                                             */
/* ------------------------------------------------------------------------------------ */

/* n = n * 10 + d; SIO_EPROTO when the result would exceed limit. */
static int add_digit(size_t *n, unsigned d, size_t limit)
{
    if (d > limit || *n > (limit - d) / 10) return SIO_EPROTO;
    *n = *n * 10 + d;
    return 0;
}

/* "<type digit><UTF-8 body>" with len >= 1; the body's UTF-8 is checked when asked. */
static int text_packet(const uint8_t *data, size_t len, int check_utf8, sio__eio_packet *p)
{
    unsigned type = (unsigned)data[0] - '0';
    if (type > SIO__EIO_NOOP) return SIO_EPROTO;
    if (check_utf8 && !utf8_valid(data + 1, len - 1)) return SIO_EPROTO;
    p->type = (uint8_t)type;
    p->binary = 0;
    p->data = data + 1;
    p->len = len - 1;
    return 0;
}

/*
 * A packet in the text form polling uses: a text packet, or a binary message as
 * "b<base64>" (v4) or "b4<base64>" (v3). Flags: CHECK_UTF8, DECODE (the base64 body is
 * decoded in place; without it the body is only checked).
 */
static int text_form(uint8_t *s, size_t n, int v3, int flags, sio__eio_packet *p)
{
    if (!n) return SIO_EPROTO;
    if (s[0] != 'b') return text_packet(s, n, flags & CHECK_UTF8, p);

    size_t skip = v3 ? 2 : 1;
    if (v3 && (n < 2 || s[1] != '0' + SIO__EIO_MESSAGE)) return SIO_EPROTO;
    long r = base64_run(flags & DECODE ? s + skip : NULL, s + skip, n - skip);
    if (r < 0) return (int)r;
    p->type = SIO__EIO_MESSAGE;
    p->binary = 1;
    p->data = s + skip;
    p->len = (size_t)r;
    return 0;
}

int sio__eio_decode_text(const uint8_t *data, size_t len, sio__eio_packet *p)
{
    if (!len) return SIO_EPROTO;
    return text_packet(data, len, 1, p);
}

int sio__eio_decode_ws_binary(int v3, const uint8_t *data, size_t len, sio__eio_packet *p)
{
    if (v3 && (!len || data[0] != SIO__EIO_MESSAGE)) return SIO_EPROTO;
    p->type = SIO__EIO_MESSAGE;
    p->binary = 1;
    p->data = v3 ? data + 1 : data;
    p->len = v3 ? len - 1 : len;
    return 0;
}

/* One pass over a v4 payload: check it (cb NULL), or decode and deliver it. */
static int payload_v4(uint8_t *data, size_t len, sio__eio_packet_cb cb, void *ud)
{
    if (!len) return SIO_EPROTO;

    uint8_t *s = data, *end = data + len;
    int flags = cb ? DECODE : CHECK_UTF8;
    for (;;) {
        uint8_t *sep = memchr(s, V4_SEPARATOR, (size_t)(end - s));
        uint8_t *e = sep ? sep : end;
        sio__eio_packet p;
        int r = text_form(s, (size_t)(e - s), 0, flags, &p);
        if (r || (cb && (r = cb(ud, &p)))) return r;
        if (!sep) return 0;
        s = sep + 1;
    }
}

int sio__eio_decode_payload_v4(uint8_t *data, size_t len, sio__eio_packet_cb cb, void *ud)
{
    int r = payload_v4(data, len, NULL, NULL);
    return r ? r : payload_v4(data, len, cb, ud);
}

/* One pass over a v3 text payload: "<units>:<packet>" repeated. The UTF-16 walk checks
 * UTF-8 on both passes, so text_form need not. */
static int payload_v3_text(uint8_t *data, size_t len, sio__eio_packet_cb cb, void *ud)
{
    size_t i = 0;

    if (!len) return SIO_EPROTO;
    while (i < len) {
        size_t n = 0, start = i;
        for (; i < len && data[i] != ':'; i++) {
            unsigned d = (unsigned)data[i] - '0';
            if (d > 9 || add_digit(&n, d, len)) return SIO_EPROTO;
        }
        if (i == start || i == len) return SIO_EPROTO;
        i++;
        size_t bytes = utf16_span(data + i, len - i, n);
        if (bytes == SIZE_MAX) return SIO_EPROTO;
        if (bytes) {
            sio__eio_packet p;
            int r = text_form(data + i, bytes, 1, cb ? DECODE : 0, &p);
            if (r || (cb && (r = cb(ud, &p)))) return r;
        }
        i += bytes;
    }
    return 0;
}

/* One pass over a v3 binary payload: <0|1> <digit bytes> 0xff <part>, repeated. */
static int payload_v3_binary(uint8_t *data, size_t len, sio__eio_packet_cb cb, void *ud)
{
    size_t i = 0;

    while (i < len) {
        uint8_t kind = data[i++];
        size_t n = 0, start = i;
        if (kind > 1) return SIO_EPROTO;
        for (; i < len && data[i] != 0xff; i++)
            if (data[i] > 9 || i - start >= V3_MAX_DIGITS || add_digit(&n, data[i], len))
                return SIO_EPROTO;
        if (i == start || i == len) return SIO_EPROTO;
        i++;
        if (!n || n > len - i) return SIO_EPROTO;

        sio__eio_packet p;
        uint8_t *s = data + i;
        if (kind == 0) {
            int r = text_form(s, n, 1, cb ? DECODE : CHECK_UTF8, &p);
            if (r) return r;
        } else {
            if (s[0] != SIO__EIO_MESSAGE) return SIO_EPROTO;
            p = (sio__eio_packet){
                .type = SIO__EIO_MESSAGE, .binary = 1, .data = s + 1, .len = n - 1};
        }
        if (cb) {
            int r = cb(ud, &p);
            if (r) return r;
        }
        i += n;
    }
    return 0;
}

int sio__eio_decode_payload_v3(uint8_t *data, size_t len, int binary_body, sio__eio_packet_cb cb,
                               void *ud)
{
    int (*pass)(uint8_t *, size_t, sio__eio_packet_cb, void *) =
        binary_body ? payload_v3_binary : payload_v3_text;
    int r = pass(data, len, NULL, NULL);
    return r ? r : pass(data, len, cb, ud);
}

/* ------------------------------------------------------------------------------------ */
/* Encoding                                                                             */
/* ------------------------------------------------------------------------------------ */

/* Room for any size_t in decimal. */
#define MAX_DIGITS 20

/* Write v in decimal at o, each digit as zero + digit; returns the digits written. */
static size_t digits_put(uint8_t *o, size_t v, uint8_t zero)
{
    uint8_t tmp[MAX_DIGITS];
    size_t k = 0;
    do {
        tmp[k++] = (uint8_t)(v % 10);
        v /= 10;
    } while (v);
    for (size_t j = 0; j < k; j++) o[j] = (uint8_t)(zero + tmp[k - 1 - j]);
    return k;
}

/* Misuse: a type outside 0..6, or a binary body on anything but a message. */
static int packet_invalid(const sio__eio_packet *p)
{
    return p->type > SIO__EIO_NOOP || (p->binary && p->type != SIO__EIO_MESSAGE);
}

/*
 * The size of p in text form: 1 + len for text, the base64 size plus the prefix ("b", or
 * "b4" in v3) for binary. 0, SIO_EINVAL (misuse) or SIO_ENOMEM (too large).
 */
static int text_form_size(const sio__eio_packet *p, int v3, size_t *out)
{
    if (packet_invalid(p)) return SIO_EINVAL;
    if (!p->binary) {
        if (p->len > SIZE_MAX - 64) return SIO_ENOMEM;
        *out = 1 + p->len;
        return 0;
    }
    int r = base64_size(p->len, out);
    if (r || *out > SIZE_MAX - 64) return SIO_ENOMEM;
    *out += v3 ? 2 : 1;
    return 0;
}

/* Write p in text form at o, which has room for it; returns the bytes written. */
static size_t text_form_put(uint8_t *o, const sio__eio_packet *p, int v3)
{
    if (!p->binary) {
        o[0] = (uint8_t)('0' + p->type);
        if (p->len) memcpy(o + 1, p->data, p->len);
        return 1 + p->len;
    }
    o[0] = 'b';
    if (v3) o[1] = '0' + SIO__EIO_MESSAGE;
    return (v3 ? 2 : 1) + base64_put(o + (v3 ? 2 : 1), p->data, p->len);
}

int sio__eio_encode_text(sio__buf *out, const sio__eio_packet *p)
{
    size_t n;
    int r = text_form_size(p, 0, &n);
    if (r || (r = sio__buf_reserve(out, n))) return r;
    out->len += text_form_put(out->data + out->len, p, 0);
    return 0;
}

int sio__eio_payload_append_v4(sio__buf *out, const sio__eio_packet *p)
{
    size_t n, sep = out->len != 0;
    int r = text_form_size(p, 0, &n);
    if (r || (r = sio__buf_reserve(out, sep + n))) return r;
    if (sep) out->data[out->len++] = V4_SEPARATOR;
    out->len += text_form_put(out->data + out->len, p, 0);
    return 0;
}

int sio__eio_payload_append_v3(sio__buf *out, const sio__eio_packet *p)
{
    size_t n;
    int r = text_form_size(p, 1, &n);
    if (r || (r = sio__buf_reserve(out, MAX_DIGITS + 1 + n))) return r;

    /* Base64 is ASCII, so a binary packet is as many units as bytes. */
    size_t units = p->binary ? n : 1 + sio__eio_utf16_len(p->data, p->len);
    uint8_t *o = out->data + out->len;
    o += digits_put(o, units, '0');
    *o++ = ':';
    o += text_form_put(o, p, 1);
    out->len = (size_t)(o - out->data);
    return 0;
}

int sio__eio_payload_append_v3_binary(sio__buf *out, const sio__eio_packet *p)
{
    if (packet_invalid(p)) return SIO_EINVAL;
    if (p->len > SIZE_MAX - 64) return SIO_ENOMEM;
    int r = sio__buf_reserve(out, 1 + MAX_DIGITS + 1 + 1 + p->len);
    if (r) return r;

    /* Text packets are "<type digit><body>" counted in UTF-8 bytes; binary ones a type byte
     * and the body. Both lengths include the type. */
    uint8_t *o = out->data + out->len;
    *o++ = p->binary ? 1 : 0;
    o += digits_put(o, 1 + p->len, 0);
    *o++ = 0xff;
    *o++ = p->binary ? SIO__EIO_MESSAGE : (uint8_t)('0' + p->type);
    if (p->len) memcpy(o, p->data, p->len);
    out->len = (size_t)(o + p->len - out->data);
    return 0;
}
