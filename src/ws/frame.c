/*
 * WebSocket frame codec (RFC 6455 section 5; RFC 7692 for RSV1).
 *
 * The parser is a byte-resumable state machine with two states that matter, HEADER and
 * PAYLOAD. Header bytes (2 to 14) are gathered into p->hdr one at a time and each rule is
 * checked as soon as the byte that decides it has arrived, so an error is reported at the
 * same stream offset however the input is split. The payload is unmasked in place, a word
 * at a time, with the mask phase carried across calls (it is the position in the payload
 * mod 4).
 *
 * What it reports is messages, not frames: the connection layer wants "a text message",
 * "a ping", "a close", and every WebSocket implementation needs the same fragment rules,
 * UTF-8 check and size limit, so they live here once, where they are fuzzed. A message
 * whose single frame lies entirely inside one input chunk (the common case) is handed out
 * as a span of the input, with no copy. Otherwise its payload is gathered into a buffer the
 * parser owns, grown as bytes arrive (never beyond what the frame declared, so a peer cannot
 * make us allocate by announcing a large frame and then stalling) and freed once the message
 * is delivered, so an idle connection holds no buffer. Control frames, at most 125 bytes,
 * that straddle reads are gathered in an inline array instead, since they can arrive in the
 * middle of a fragmented message whose buffer is in use.
 *
 * Alternatives: a frame-level parser with on_frame_header/on_frame_data callbacks
 * (llhttp-style) never copies, but pushes reassembly, the UTF-8 state and the limits into
 * every user; a parser that needs the whole frame in one buffer (the caller keeps unparsed
 * tails) is simpler, but makes the connection buffer up to max_message bytes per socket
 * before anything can be checked.
 *
 * Choices where the RFC leaves room, matching the `ws` module:
 * - Lengths need not be minimally encoded: RFC 6455 5.2 puts that duty on the sender and
 *   `ws` accepts them, so we do too. A 64-bit length with the most significant bit set is
 *   a protocol error (the RFC says that bit MUST be 0).
 * - max_message is checked against the declared length before any payload is buffered:
 *   the sum over all fragments so far plus the new frame. For compressed messages this is
 *   the size on the wire; the inflated size is the connection's to bound.
 * - Text messages with RSV1 set are not UTF-8 checked here: the bytes are deflated.
 * - After a CLOSE frame nothing more is parsed (RFC 6455 5.5.1): input is consumed and
 *   dropped.
 * - Valid close codes: see sio__ws_close_code_valid in frame.h.
 */
#include "ws/frame.h"

#include <string.h>

#include "base/alloc.h"
#include "sio.h"

enum { ST_HEADER, ST_PAYLOAD, ST_CLOSED, ST_ERROR };

/* Zero-length spans point here so that data is never NULL. */
static const uint8_t empty_span[1];

void sio__ws_parser_init(sio__ws_parser *p, const sio__ws_options *opts)
{
    memset(p, 0, sizeof *p);
    p->max_message = opts && opts->max_message ? opts->max_message : SIO_WS_DEFAULT_MAX_MESSAGE;
    p->role = opts && opts->role == SIO_WS_ROLE_CLIENT ? SIO_WS_ROLE_CLIENT : SIO_WS_ROLE_SERVER;
    p->rsv1_allowed = opts && opts->rsv1_allowed;
    p->state = ST_HEADER;
    p->hdr_need = 2;
}

void sio__ws_parser_free(sio__ws_parser *p)
{
    sio__free(p->ctl);
    p->ctl = NULL;
    sio__free(p->buf);
    p->buf = NULL;
    p->buf_len = p->buf_cap = 0;
}

int sio__ws_parser_closed(const sio__ws_parser *p)
{
    return p->state == ST_CLOSED;
}

static int fail(sio__ws_parser *p, int err, uint16_t close_code, const char *reason,
                uint64_t offset)
{
    p->state = ST_ERROR;
    p->error = err;
    p->close_code = close_code;
    p->reason = reason;
    p->offset = offset;
    return err;
}

static int is_control(unsigned op)
{
    return op >= 0x8;
}

/* Rules decided by the first header byte: FIN, RSV1-3, opcode. */
static int check_byte0(sio__ws_parser *p, uint64_t at)
{
    uint8_t b = p->hdr[0];
    unsigned op = b & 0x0F;
    int fin = b >> 7, rsv1 = (b & 0x40) != 0;

    if (b & 0x30)
        return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "RSV2 and RSV3 must be clear", at);
    switch (op) {
    case SIO_WS_OP_CONT:
        if (!p->msg_op)
            return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "continuation without a message", at);
        if (rsv1)
            return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "RSV1 set on a continuation frame",
                        at);
        break;
    case SIO_WS_OP_TEXT:
    case SIO_WS_OP_BINARY:
        if (p->msg_op)
            return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "data frame inside a message", at);
        if (rsv1 && !p->rsv1_allowed)
            return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "RSV1 must be clear", at);
        break;
    case SIO_WS_OP_CLOSE:
    case SIO_WS_OP_PING:
    case SIO_WS_OP_PONG:
        if (!fin) return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "fragmented control frame", at);
        if (rsv1)
            return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "RSV1 set on a control frame", at);
        break;
    default:
        return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "invalid opcode", at);
    }
    p->opcode = (uint8_t)op;
    p->fin = (uint8_t)fin;
    return 0;
}

/* The length is known: bound it. */
static int check_length(sio__ws_parser *p, uint64_t at)
{
    if (is_control(p->opcode)) return 0; /* already bounded by 125 */
    uint64_t before = p->opcode == SIO_WS_OP_CONT ? p->msg_len : 0;
    if (p->frame_len > p->max_message - before)
        return fail(p, SIO_ETOOBIG, SIO_WS_CLOSE_TOO_BIG, "message over max_message", at);
    return 0;
}

/* Rules decided by the second byte: MASK for our role, the 7-bit length. */
static int check_byte1(sio__ws_parser *p, uint64_t at)
{
    uint8_t b = p->hdr[1];
    int masked = b >> 7;
    unsigned len7 = b & 0x7F;

    if (p->role == SIO_WS_ROLE_SERVER && !masked)
        return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "client frame must be masked", at);
    if (p->role == SIO_WS_ROLE_CLIENT && masked)
        return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "server frame must not be masked", at);
    if (is_control(p->opcode) && len7 > SIO_WS_MAX_CONTROL)
        return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "control frame over 125 bytes", at);
    p->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0));
    if (len7 < 126) {
        p->frame_len = len7;
        return check_length(p, at);
    }
    return 0;
}

/* The header length at which the 16- or 64-bit extended length is complete; 0 when the
 * 7-bit length is all there is. Valid once the second byte is in. */
static unsigned ext_length_end(const sio__ws_parser *p)
{
    unsigned len7 = p->hdr[1] & 0x7F;
    return len7 == 126 ? 4 : len7 == 127 ? 10 : 0;
}

/* The extended length is complete (hdr_len is 4 or 10). */
static int check_ext_length(sio__ws_parser *p, uint64_t at)
{
    uint64_t len = 0;
    for (unsigned i = 2; i < p->hdr_len; i++) len = len << 8 | p->hdr[i];
    if (len >> 63)
        return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "64-bit length with the top bit set", at);
    p->frame_len = len;
    return check_length(p, at);
}

/* The header is complete: set up the payload and, for a first frame, the message. */
static void start_payload(sio__ws_parser *p)
{
    if (p->hdr[1] & 0x80)
        memcpy(p->mask, p->hdr + p->hdr_need - 4, 4);
    else
        memset(p->mask, 0, 4);
    p->remaining = p->frame_len;
    p->ctl_len = 0;
    if (p->opcode == SIO_WS_OP_TEXT || p->opcode == SIO_WS_OP_BINARY) {
        p->msg_op = p->opcode;
        p->msg_rsv1 = (p->hdr[0] & 0x40) != 0;
        p->msg_len = p->frame_len;
        sio__utf8_init(&p->utf8);
    } else if (p->opcode == SIO_WS_OP_CONT) {
        p->msg_len += p->frame_len;
    }
    p->state = ST_PAYLOAD;
}

static void next_frame(sio__ws_parser *p)
{
    p->state = ST_HEADER;
    p->hdr_len = 0;
    p->hdr_need = 2;
}

/* Append k payload bytes to the reassembly buffer, growing it geometrically but never past
 * the end of the current frame (p->remaining already excludes these k bytes). */
static int append(sio__ws_parser *p, const uint8_t *d, size_t k, uint64_t at)
{
    size_t need = p->buf_len + k;
    if (!k) return 0;
    if (need > p->buf_cap) {
        size_t limit = need + (size_t)p->remaining; /* <= max_message: fits */
        size_t cap = p->buf_cap ? p->buf_cap * 2 : 4096;
        if (cap < need) cap = need;
        if (cap > limit) cap = limit;
        uint8_t *nb = sio__realloc(p->buf, cap);
        if (!nb) return fail(p, SIO_ENOMEM, SIO_WS_CLOSE_INTERNAL, "out of memory", at);
        p->buf = nb;
        p->buf_cap = cap;
    }
    memcpy(p->buf + p->buf_len, d, k);
    p->buf_len += k;
    return 0;
}

/* A whole control frame is in data[0..len); at is the offset of its last byte. Returns <0 on
 * error, else the callback's verdict. */
static int deliver_control(sio__ws_parser *p, const uint8_t *data, size_t len,
                           const sio__ws_events *ev, void *ud, uint64_t at)
{
    int op = p->opcode;
    if (op == SIO_WS_OP_CLOSE) {
        if (len == 1)
            return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "close payload of 1 byte", at);
        if (len >= 2 && !sio__ws_close_code_valid(sio__ws_close_code(data, len)))
            return fail(p, SIO_EPROTO, SIO_WS_CLOSE_PROTOCOL, "invalid close code", at);
        if (len > 2 && !sio__utf8_valid(data + 2, len - 2))
            return fail(p, SIO_EUTF8, SIO_WS_CLOSE_INVALID_DATA, "close reason is not UTF-8", at);
        p->state = ST_CLOSED;
    } else {
        next_frame(p);
    }
    if (!ev || !ev->on_control) return 0;
    return ev->on_control(ud, op, len ? data : empty_span, len) ? 1 : 0;
}

/* The last frame of a data message is complete. */
static int deliver_message(sio__ws_parser *p, const uint8_t *data, size_t len,
                           const sio__ws_events *ev, void *ud, uint64_t at)
{
    int op = p->msg_op, compressed = p->msg_rsv1, rc = 0;
    if (op == SIO_WS_OP_TEXT && !compressed && sio__utf8_finish(&p->utf8) < 0)
        return fail(p, SIO_EUTF8, SIO_WS_CLOSE_INVALID_DATA, "text message is not UTF-8", at);
    p->msg_op = 0;
    p->msg_len = 0;
    next_frame(p);
    if (ev && ev->on_message)
        rc = ev->on_message(ud, op, len ? data : empty_span, len, compressed) ? 1 : 0;
    /* Not before the callback: data may point into the buffer. */
    sio__ws_parser_free(p);
    return rc;
}

/* Consume up to n payload bytes at d (base is the stream offset of d[0]). Returns the bytes
 * consumed, or -1 on error (p->error is set); *paused is set when a callback paused. */
static ptrdiff_t payload(sio__ws_parser *p, uint8_t *d, size_t n, uint64_t base,
                         const sio__ws_events *ev, void *ud, int *paused)
{
    uint64_t off = p->frame_len - p->remaining;
    size_t take = p->remaining < n ? (size_t)p->remaining : n;
    int whole = off == 0 && take == p->frame_len; /* the frame's payload is all in d */
    int rc = 0;

    sio__ws_mask(d, take, p->mask, (size_t)(off & 3));
    p->remaining -= take;
    uint64_t last = base + take - 1; /* offset of the frame's last byte, when it ends here */

    if (is_control(p->opcode)) {
        if (whole) {
            rc = deliver_control(p, d, take, ev, ud, last);
        } else {
            /* A control payload split across reads: gathered in a small buffer that
             * exists only until the frame is complete, so idle parsers hold none. */
            if (!p->ctl && !(p->ctl = sio__malloc(SIO_WS_MAX_CONTROL))) {
                fail(p, SIO_ENOMEM, SIO_WS_CLOSE_INTERNAL, "out of memory", base);
                return -1;
            }
            memcpy(p->ctl + p->ctl_len, d, take);
            p->ctl_len = (uint8_t)(p->ctl_len + take);
            if (!p->remaining) {
                rc = deliver_control(p, p->ctl, p->ctl_len, ev, ud, last);
                sio__free(p->ctl);
                p->ctl = NULL;
            }
        }
    } else {
        if (p->msg_op == SIO_WS_OP_TEXT && !p->msg_rsv1) {
            size_t ok = sio__utf8_scan(&p->utf8, d, take);
            if (ok < take) {
                fail(p, SIO_EUTF8, SIO_WS_CLOSE_INVALID_DATA, "text message is not UTF-8",
                     base + ok);
                return -1;
            }
        }
        if (whole && p->fin && p->opcode != SIO_WS_OP_CONT) {
            rc = deliver_message(p, d, take, ev, ud, last);
        } else {
            if (append(p, d, take, base) < 0) return -1;
            if (!p->remaining) {
                if (p->fin)
                    rc = deliver_message(p, p->buf, p->buf_len, ev, ud, last);
                else
                    next_frame(p);
            }
        }
    }
    if (rc < 0) return -1;
    *paused = rc;
    return (ptrdiff_t)take;
}

ptrdiff_t sio__ws_parse(sio__ws_parser *p, uint8_t *in, size_t n, const sio__ws_events *ev,
                        void *ud)
{
    if (p->state == ST_ERROR) return p->error;
    if (n > PTRDIFF_MAX) return SIO_EINVAL;

    uint64_t base = p->total;
    size_t i = 0;
    int paused = 0;

    while (i < n && !paused) {
        if (p->state == ST_CLOSED) {
            i = n;
            break;
        }
        if (p->state == ST_HEADER) {
            while (p->hdr_len < p->hdr_need && i < n) {
                uint64_t at = base + i;
                int rc = 0;
                p->hdr[p->hdr_len++] = in[i++];
                if (p->hdr_len == 1)
                    rc = check_byte0(p, at);
                else if (p->hdr_len == 2)
                    rc = check_byte1(p, at);
                else if (p->hdr_len == ext_length_end(p))
                    rc = check_ext_length(p, at);
                if (rc < 0) goto error;
            }
            if (p->hdr_len < p->hdr_need) break;
            start_payload(p);
        }
        /* ST_PAYLOAD. Runs even with no input left, so that an empty payload completes. */
        ptrdiff_t k = payload(p, in + i, n - i, base + i, ev, ud, &paused);
        if (k < 0) goto error;
        i += (size_t)k;
    }
    p->total = base + i;
    return (ptrdiff_t)i;

error:
    p->total = base + i;
    return p->error;
}

size_t sio__ws_header_size(size_t len, int masked)
{
    return 2 + (len < 126 ? 0 : len <= 0xFFFF ? 2 : 8) + (masked ? 4 : 0);
}

size_t sio__ws_encode_header(uint8_t *out, int fin, int opcode, int rsv1, size_t len,
                             const uint8_t *mask)
{
    size_t k = 0;
    uint8_t m = mask ? 0x80 : 0;

    out[k++] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[k++] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[k++] = m | 126;
        out[k++] = (uint8_t)(len >> 8);
        out[k++] = (uint8_t)len;
    } else {
        uint64_t l = len;
        out[k++] = m | 127;
        for (int s = 56; s >= 0; s -= 8) out[k++] = (uint8_t)(l >> s);
    }
    if (mask) {
        memcpy(out + k, mask, 4);
        k += 4;
    }
    return k;
}

void sio__ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset)
{
    uint8_t key[8];
    uint64_t k8;
    size_t i = 0;

    for (unsigned j = 0; j < 8; j++) key[j] = mask[(offset + j) & 3];
    memcpy(&k8, key, 8);
    if (!k8) return;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k8;
        memcpy(p + i, &w, 8);
    }
    /* i is a multiple of 8 here, so key[i & 7] keeps the phase. */
    for (; i < n; i++) p[i] ^= key[i & 7];
}

size_t sio__ws_close_payload(uint8_t *out, uint16_t code, const char *reason, size_t len)
{
    if (!code) return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (!reason) len = 0;
    if (len > SIO_WS_MAX_CLOSE_REASON) {
        /* Cut before the code point that would straddle the limit. */
        len = SIO_WS_MAX_CLOSE_REASON;
        while (len > 0 && ((uint8_t)reason[len] & 0xC0) == 0x80) len--;
    }
    if (len) memcpy(out + 2, reason, len);
    return 2 + len;
}

uint16_t sio__ws_close_code(const uint8_t *data, size_t len)
{
    if (len < 2) return SIO_WS_CLOSE_NO_STATUS;
    return (uint16_t)(data[0] << 8 | data[1]);
}

int sio__ws_close_code_valid(unsigned code)
{
    if (code >= 3000 && code <= 4999) return 1;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}
