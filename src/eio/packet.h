/*
 * Engine.IO packet and payload codec, protocol v4 and v3. Sans-I/O: bytes in, packets
 * out, and the reverse into a sio__buf.
 *
 * A packet is a type and a body. Text bodies are UTF-8; binary bodies are bytes. Only
 * message packets (type 4) carry binary bodies.
 *
 * Wire forms:
 *   text packet            "<type digit><body>"                       (v3 and v4)
 *   v4 binary over ws      the raw body as a binary frame
 *   v3 binary over ws      one byte 0x04, then the body, as a binary frame
 *   v4 polling payload     packets joined by 0x1e; a binary packet is "b<base64 body>"
 *   v3 polling payload     "<n>:<packet>" repeated, n in UTF-16 code units of the packet
 *                          string; a binary packet is "b4<base64 body>"
 *   v3 binary payload      per packet: 0x00 (text) or 0x01 (binary), the byte length as
 *                          decimal digits 0..9 (one per byte), 0xff, then the text packet
 *                          or 0x04 followed by the body
 *
 * Decoders are strict: anything engine.io-parser would turn into an error packet, and
 * text that is not valid UTF-8, is SIO_EPROTO. A payload is validated whole before the
 * first packet is delivered, so a malformed payload delivers nothing.
 */
#ifndef SIO_EIO_PACKET_H
#define SIO_EIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum {
    SIO__EIO_OPEN = 0,
    SIO__EIO_CLOSE = 1,
    SIO__EIO_PING = 2,
    SIO__EIO_PONG = 3,
    SIO__EIO_MESSAGE = 4,
    SIO__EIO_UPGRADE = 5,
    SIO__EIO_NOOP = 6,
};

typedef struct sio__eio_packet {
    uint8_t type;   /* SIO__EIO_* */
    uint8_t binary; /* body is bytes (messages only) */
    const uint8_t *data;
    size_t len;
} sio__eio_packet;

/* Called once per packet; a nonzero return stops decoding and is returned. The packet's
 * data points into the caller's buffer (or a scratch area) and is valid during the call. */
typedef int (*sio__eio_packet_cb)(void *ud, const sio__eio_packet *p);

/* One text packet (a WebSocket text frame): "<type><body>". 0 or SIO_EPROTO (empty, unknown
 * type, invalid UTF-8). p->data points into data. */
int sio__eio_decode_text(const uint8_t *data, size_t len, sio__eio_packet *p);

/* One binary WebSocket frame. v4: the frame is a binary message. v3: the first byte is the
 * packet type (only 4 is accepted) and the rest the body. 0 or SIO_EPROTO. */
int sio__eio_decode_ws_binary(int v3, const uint8_t *data, size_t len, sio__eio_packet *p);

/* A v4 polling payload (a POST body). Base64 bodies are decoded in place, so data is
 * modified. 0, SIO_EPROTO (nothing delivered), or the callback's nonzero return. */
int sio__eio_decode_payload_v4(uint8_t *data, size_t len, sio__eio_packet_cb cb, void *ud);

/* A v3 polling payload: binary_body selects the binary (application/octet-stream) form,
 * else the length-prefixed text form. data may be modified (base64 decoded in place).
 * Zero-length packets are skipped, as engine.io-parser does. Same returns as v4. */
int sio__eio_decode_payload_v3(uint8_t *data, size_t len, int binary_body, sio__eio_packet_cb cb,
                               void *ud);

/* Append one packet as a WebSocket text frame body: "<type><body>". A binary packet is
 * appended as "b<base64>" (the form polling uses). 0 or SIO_ENOMEM. */
int sio__eio_encode_text(sio__buf *out, const sio__eio_packet *p);

/* Append p to a v4 polling payload in out (adding the 0x1e separator when out is not
 * empty). 0 or SIO_ENOMEM. */
int sio__eio_payload_append_v4(sio__buf *out, const sio__eio_packet *p);
/* Append p to a v3 text payload ("<n>:<packet>", binary as "b4<base64>"). */
int sio__eio_payload_append_v3(sio__buf *out, const sio__eio_packet *p);
/* Append p to a v3 binary payload (used when the client supports binary and a packet in
 * the payload is binary). */
int sio__eio_payload_append_v3_binary(sio__buf *out, const sio__eio_packet *p);

/* Length of valid UTF-8 in UTF-16 code units (what JavaScript's String.length reports). */
size_t sio__eio_utf16_len(const uint8_t *data, size_t len);

/* Standard base64 with padding. encode appends to out; decode writes at most len*3/4 bytes
 * to dst (which may equal src) and returns the length, or SIO_EPROTO. */
int sio__eio_base64_encode(sio__buf *out, const uint8_t *data, size_t len);
long sio__eio_base64_decode(uint8_t *dst, const uint8_t *src, size_t len);

#endif
