/*
 * WebSocket framing (RFC 6455 section 5, with the RSV1 rule of RFC 7692): a resumable,
 * role-parameterised frame parser that reports whole messages and control frames, and the
 * pieces to build frames. Pure: no I/O, no timers; the parser allocates only to reassemble a
 * message that spans several reads or fragments.
 */
#ifndef SIO_WS_FRAME_H
#define SIO_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "ws/utf8.h"

enum {
    SIO_WS_OP_CONT = 0x0,
    SIO_WS_OP_TEXT = 0x1,
    SIO_WS_OP_BINARY = 0x2,
    SIO_WS_OP_CLOSE = 0x8,
    SIO_WS_OP_PING = 0x9,
    SIO_WS_OP_PONG = 0xA,
};

/* Which end we are: a server receives masked frames, a client unmasked ones. */
typedef enum {
    SIO_WS_ROLE_SERVER = 0,
    SIO_WS_ROLE_CLIENT = 1,
} sio__ws_role;

/* Close codes (RFC 6455 7.4.1) the codec uses. */
enum {
    SIO_WS_CLOSE_NORMAL = 1000,
    SIO_WS_CLOSE_GOING_AWAY = 1001,
    SIO_WS_CLOSE_PROTOCOL = 1002,
    SIO_WS_CLOSE_NO_STATUS = 1005, /* never sent: "the Close frame had no code" */
    SIO_WS_CLOSE_ABNORMAL = 1006,  /* never sent: "no Close frame at all" */
    SIO_WS_CLOSE_INVALID_DATA = 1007,
    SIO_WS_CLOSE_TOO_BIG = 1009,
    SIO_WS_CLOSE_INTERNAL = 1011,
};

/* The largest control frame payload, and the longest close reason that fits in one. */
#define SIO_WS_MAX_CONTROL      125
#define SIO_WS_MAX_CLOSE_REASON 123
/* The largest frame header: 2 + 8 (64-bit length) + 4 (masking key). */
#define SIO_WS_MAX_HEADER 14
/* max_message when the option is 0: 100 MiB, the `ws` module's maxPayload default. */
#define SIO_WS_DEFAULT_MAX_MESSAGE ((size_t)100 * 1024 * 1024)

/* Zero means the default for every field. */
typedef struct {
    /* Largest data message accepted, summed over its fragments, in bytes as received (that
     * is, compressed size for RSV1 messages); 0 means SIO_WS_DEFAULT_MAX_MESSAGE. */
    size_t max_message;
    /* SIO_WS_ROLE_SERVER (the default) or SIO_WS_ROLE_CLIENT. */
    sio__ws_role role;
    /* Nonzero once permessage-deflate is negotiated: RSV1 may then be set on the first frame
     * of a data message. */
    int rsv1_allowed;
} sio__ws_options;

/*
 * The parser's callbacks. Spans are borrowed: valid only during the call (they point either
 * into the caller's input, unmasked in place, or into the parser's reassembly buffer). A
 * span of length 0 is never NULL. Return 0 to go on, or nonzero to pause: sio__ws_parse
 * then returns at once with the bytes consumed so far (this frame included), and the next
 * call resumes with the byte after it. A NULL callback drops its events.
 */
typedef struct {
    /*
     * A whole data message. opcode is SIO_WS_OP_TEXT or SIO_WS_OP_BINARY; compressed is the
     * RSV1 bit of its first frame. Uncompressed text has been checked to be valid UTF-8;
     * compressed text has not (it can only be checked after inflating).
     */
    int (*on_message)(void *ud, int opcode, const uint8_t *data, size_t len, int compressed);
    /*
     * A control frame: SIO_WS_OP_PING, SIO_WS_OP_PONG or SIO_WS_OP_CLOSE, len <= 125. A
     * CLOSE payload has been validated (empty, or a valid code and a UTF-8 reason, see
     * sio__ws_close_code_valid); sio__ws_close_code() reads its code. After a CLOSE the
     * parser ignores all further input.
     */
    int (*on_control)(void *ud, int opcode, const uint8_t *data, size_t len);
} sio__ws_events;

/*
 * Parser state; embed it and treat the fields as read-only, except the documented error
 * fields. Initialise with sio__ws_parser_init and release with sio__ws_parser_free.
 */
typedef struct sio__ws_parser {
    size_t max_message;
    uint8_t role;
    uint8_t rsv1_allowed;
    uint8_t state;    /* header, payload, closed, error */
    uint8_t hdr_len;  /* header bytes received so far */
    uint8_t hdr_need; /* header bytes this frame needs (2 until byte 1 is known) */
    uint8_t opcode;   /* current frame */
    uint8_t fin;
    uint8_t msg_op;   /* opcode of the open data message, 0 when none */
    uint8_t msg_rsv1; /* RSV1 of its first frame */
    uint8_t ctl_len;  /* control payload bytes gathered in ctl */
    uint8_t hdr[SIO_WS_MAX_HEADER];
    uint8_t mask[4]; /* masking key of the current frame, zero when unmasked */
    /* After an error (sticky): the code returned, the close code to send (1002, 1007,
     * 1009 or 1011), a static description, and the stream offset of the byte at which the
     * error became certain. (Fields are ordered to leave no padding: a parser is part of
     * every WebSocket connection.) */
    int error;
    uint64_t frame_len; /* payload length of the current frame */
    uint64_t msg_len;   /* declared bytes of the open data message so far */
    uint64_t remaining; /* payload bytes of it still to come */
    uint64_t total;     /* bytes consumed since init: the stream offset */
    sio__utf8 utf8;     /* across the fragments of an open text message */
    uint16_t close_code;
    uint8_t *buf; /* reassembly buffer (sio__malloc), NULL when idle */
    size_t buf_len, buf_cap;
    uint8_t *ctl; /* a split control payload being gathered, NULL when none */
    const char *reason;
    uint64_t offset;
} sio__ws_parser;

/* Prepare p. opts may be NULL (all defaults). Never fails. */
void sio__ws_parser_init(sio__ws_parser *p, const sio__ws_options *opts);

/* Release the memory p owns (a partial message). p itself is the caller's; re-init to reuse. */
void sio__ws_parser_free(sio__ws_parser *p);

/*
 * Parse n bytes of the stream. The input is writable: masked payloads are unmasked in
 * place. Returns the bytes consumed: n, or fewer when a callback paused. Returns a negative
 * code once the peer broke the protocol: SIO_EPROTO (close 1002), SIO_EUTF8 (1007),
 * SIO_ETOOBIG (1009) or SIO_ENOMEM (1011). Errors are sticky: later calls return the same
 * code; p->close_code, p->reason and p->offset describe it. A payload is copied only when
 * its message is fragmented or spans more than one call; partial headers are kept inside p,
 * so the caller never has to keep unconsumed bytes except after a pause. n larger than
 * PTRDIFF_MAX is refused with SIO_EINVAL (not sticky). Not reentrant: a callback must not
 * call sio__ws_parse or sio__ws_parser_free on the same parser.
 */
ptrdiff_t sio__ws_parse(sio__ws_parser *p, uint8_t *in, size_t n, const sio__ws_events *ev,
                        void *ud);

/* Nonzero once a CLOSE frame was parsed: the rest of the stream is ignored. */
int sio__ws_parser_closed(const sio__ws_parser *p);

/* The size of a frame header for a payload of len bytes, masked or not (2 to 14). */
size_t sio__ws_header_size(size_t len, int masked);

/*
 * Write a frame header into out (room for SIO_WS_MAX_HEADER bytes) and return its size.
 * mask is the 4-byte masking key, or NULL for an unmasked frame (a server's). The payload
 * that follows must be masked by the caller with sio__ws_mask(payload, len, mask, 0).
 * Lengths use the shortest encoding, as RFC 6455 5.2 requires of senders.
 */
size_t sio__ws_encode_header(uint8_t *out, int fin, int opcode, int rsv1, size_t len,
                             const uint8_t *mask);

/*
 * XOR n bytes with the masking key, in place. offset is the position of p[0] in the frame
 * payload (only offset % 4 matters), so a payload can be masked in pieces.
 */
void sio__ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset);

/*
 * Build a CLOSE payload into out (room for SIO_WS_MAX_CONTROL bytes) and return its length.
 * code 0 gives an empty payload (no status). Otherwise: the code in network order, then the
 * reason (UTF-8, len bytes; NULL for none) cut to SIO_WS_MAX_CLOSE_REASON bytes at a code
 * point boundary.
 */
size_t sio__ws_close_payload(uint8_t *out, uint16_t code, const char *reason, size_t len);

/* The code in a CLOSE payload; SIO_WS_CLOSE_NO_STATUS (1005) when it is empty. */
uint16_t sio__ws_close_code(const uint8_t *data, size_t len);

/*
 * Nonzero when code may appear in a CLOSE frame: 1000-1003, 1007-1014 and 3000-4999. 1004 is
 * reserved, 1005, 1006 and 1015 are "never sent" markers, and the rest of 0-2999 is
 * unassigned. 1012-1014 are allowed as the IANA registry assigns them (service restart,
 * try again later, bad gateway), as the `ws` module does.
 */
int sio__ws_close_code_valid(unsigned code);

#endif
