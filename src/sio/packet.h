/*
 * Socket.IO packet codec, protocol v5 (socket.io 3 and later, over Engine.IO v4) and v4
 * (socket.io-client 1.x/2.x, over Engine.IO v3). Sans-I/O: one Engine.IO message in, a packet
 * out, and the reverse into a sio__buf.
 *
 * Wire form of one packet (the body of an Engine.IO message):
 *
 *   <type>[<attachments>-][<nsp>,][<id>][<JSON payload>]
 *
 * followed, for BINARY_EVENT and BINARY_ACK, by <attachments> binary Engine.IO messages. In
 * the JSON, attachment k is the placeholder {"_placeholder":true,"num":k}.
 *
 * Binary values live in jansson trees as a marked node: an object with exactly one member,
 * whose 4-byte key is the byte 0xff followed by "bin", and whose value is a string holding the
 * raw bytes (jansson strings can hold any bytes when made with the _nocheck constructors).
 * The JSON parser (json.h) never makes a key with the byte 0xff, so such a node never comes
 * from the wire; and the key is an ordinary C string, so json_equal, json_deep_copy and the other
 * jansson functions handle these nodes like any object. The decoder puts these nodes where the
 * placeholders were; the encoder turns them back into placeholders and lists their bytes as
 * the attachments to send.
 */
#ifndef SIO_SIO_PACKET_H
#define SIO_SIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"

enum {
    SIO__SP_CONNECT = 0,
    SIO__SP_DISCONNECT = 1,
    SIO__SP_EVENT = 2,
    SIO__SP_ACK = 3,
    SIO__SP_CONNECT_ERROR = 4, /* "ERROR" in protocol v4 */
    SIO__SP_BINARY_EVENT = 5,
    SIO__SP_BINARY_ACK = 6,
};

/* max_attachments when the option is 0: socket.io-parser's maxAttachments default. */
#define SIO__SP_DEFAULT_MAX_ATTACHMENTS 10
/* max_depth when the option is 0. */
#define SIO__SP_DEFAULT_MAX_DEPTH 128
/* The largest ack id: Number.MAX_SAFE_INTEGER, 2^53 - 1. */
#define SIO__SP_MAX_ID 9007199254740991ull

/* Zero means the default for every field. */
typedef struct sio__sp_options {
    /* Socket.IO protocol revision: 5 (the default) or 4. */
    int version;
    /* Most attachments in one binary packet, decoded or encoded; 0 means 10. */
    size_t max_attachments;
    /* Most nested arrays and objects in a payload (a placeholder counts as one level);
     * 0 means 128, and more than SIO__JSON_MAX_DEPTH (2048) means 2048 when decoding. */
    size_t max_depth;
} sio__sp_options;

/*
 * A packet. Decoded: nsp (and query) are borrowed, see each decoder for how long they live;
 * data is owned by the packet (release with sio__sp_packet_clear). To encode: everything is
 * borrowed from the caller.
 */
typedef struct sio__sp_packet {
    uint8_t type;   /* SIO__SP_* */
    uint8_t has_id; /* id is present */
    uint64_t id;    /* ack id, at most SIO__SP_MAX_ID */
    /* Binary packets: the attachments announced by the text packet. */
    size_t attachments;
    /* Namespace, "/" when the packet has none; not NUL-terminated. To encode, NULL means "/". */
    const char *nsp;
    size_t nsp_len;
    /* Protocol v4 only: the query string of the namespace ("/admin?token=1" gives nsp
     * "/admin" and query "token=1"), undecoded; NULL when there is no '?'. */
    const char *query;
    size_t query_len;
    /* Payload, NULL when absent. */
    json_t *data;
} sio__sp_packet;

/* An attachment to send: bytes borrowed from a binary node of the encoded tree. */
typedef struct sio__sp_blob {
    const uint8_t *data;
    size_t len;
} sio__sp_blob;

/* ---- Binary nodes ---------------------------------------------------------------------- */

/* A new binary node holding a copy of data[0..len) (data may be NULL when len is 0), with
 * one reference for the caller; NULL when out of memory. */
json_t *sio__sp_binary_new(const void *data, size_t len);

/* 1 when v is a binary node, else 0 (v may be NULL). */
int sio__sp_is_binary(const json_t *v);

/* The bytes of binary node v, borrowed from it: 0, or SIO_EINVAL when v is not one. */
int sio__sp_binary_get(const json_t *v, const void **data, size_t *len);

/* 1 when v is or contains a binary node at any depth, else 0. Looks no deeper than 2048
 * levels (a cyclic tree is not walked forever). */
int sio__sp_has_binary(const json_t *v);

/* 1 when a and b are the same value as a JavaScript peer sees it: numbers compare by value
 * (integer 1 equals real 1.0), members in any order, binary nodes by their bytes. Either may
 * be NULL (equal only to NULL). Trees deeper than 2048 levels compare unequal. */
int sio__sp_equal(const json_t *a, const json_t *b);

/* A deep copy of v that keeps binary nodes (and any key with NUL) intact; NULL when out of
 * memory or deeper than 2048 levels. */
json_t *sio__sp_deep_copy(const json_t *v);

/* ---- Decoding -------------------------------------------------------------------------- */

/*
 * Decode one text packet s[0..n), the body of one Engine.IO message (which has checked that
 * it is UTF-8). On success returns 0 and fills p: nsp and query point into s (or at a static
 * "/"), data is a new tree (JSON as JSON.parse reads it, see json.h) or NULL when the packet
 * has no payload, which every type may lack. A BINARY_EVENT/ACK comes out as it is on the
 * wire: type 5 or 6, attachments set, placeholders still in data, not checked yet (the stream
 * decoder checks them when the attachments are in). On failure p holds nothing to release,
 * and *reason (when reason is not NULL) gets a static description. Errors: SIO_EPROTO for
 * anything socket.io-parser would reject and for the stricter rules listed in packet.c,
 * SIO_ETOOBIG for more attachments than max_attachments or a payload deeper than max_depth,
 * SIO_ENOMEM. opts may be NULL.
 */
int sio__sp_decode(const sio__sp_options *opts, const char *s, size_t n, sio__sp_packet *p,
                   const char **reason);

/* Release p's payload (json_decref) and zero p. */
void sio__sp_packet_clear(sio__sp_packet *p);

/*
 * 1 when data is an acceptable payload for a packet of this type, else 0: socket.io-parser's
 * isPayloadValid, and "absent" (data NULL) for every type, as the parser checks only a
 * payload that is there. version is kept for the revisions' sake; both have the same rules.
 */
int sio__sp_payload_valid(int version, int type, const json_t *data);

/*
 * The stream decoder of one connection: text packets, and after a binary one its
 * attachments, as socket.io-parser's Decoder. Embed it, initialise with sio__sp_decoder_init
 * and release with sio__sp_decoder_free. Errors are sticky: once a call fails, every later
 * call returns the same code, and d->error and d->reason describe it.
 */
typedef struct sio__sp_decoder {
    sio__sp_options opts; /* with defaults filled in */
    sio__sp_packet pending;
    json_t *bins; /* attachments received so far (an array), NULL when none is expected */
    char *names;  /* copy of the pending (or last completed) packet's nsp and query */
    int error;
    const char *reason;
} sio__sp_decoder;

/* Prepare d. opts may be NULL (all defaults). Never fails. */
void sio__sp_decoder_init(sio__sp_decoder *d, const sio__sp_options *opts);

/* Release what d holds (a pending packet). d itself is the caller's; re-init to reuse. */
void sio__sp_decoder_free(sio__sp_decoder *d);

/*
 * Feed one text message. Returns 1 and fills *out with a complete non-binary packet (its nsp
 * borrowed from s), or 0 when it was a binary packet and its attachments must follow: feed
 * them with sio__sp_decoder_binary. Errors as sio__sp_decode; a text message while
 * attachments are awaited is SIO_EPROTO.
 */
int sio__sp_decoder_text(sio__sp_decoder *d, const char *s, size_t n, sio__sp_packet *out);

/*
 * Feed one binary message: the next attachment of the pending packet. Returns 0 while more
 * are awaited, or 1 with the complete packet in *out: type EVENT or ACK (as socket.io-parser
 * 4 reports them), attachments the number received, every placeholder replaced by a binary
 * node of its attachment (one whose num is a number in range but not an integer stands for
 * JavaScript's undefined: it becomes null in an array and is left out of an object). Its nsp
 * and query are copies that live in d until the next call on d. Errors: SIO_EPROTO with
 * reason "illegal attachments" when the last attachment arrives and a placeholder's num is
 * not a number in [0, attachments), SIO_EPROTO for a binary message when none is awaited,
 * SIO_ENOMEM.
 */
int sio__sp_decoder_binary(sio__sp_decoder *d, const void *data, size_t len, sio__sp_packet *out);

/* The attachments still awaited (0 when idle). */
size_t sio__sp_decoder_awaited(const sio__sp_decoder *d);

/* ---- Encoding -------------------------------------------------------------------------- */

/*
 * Append packet p to out as one text packet. When p->data holds binary nodes the packet is
 * sent as BINARY_EVENT/ACK (type 2 and 5 give 5, 3 and 6 give 6; without binary nodes 5 and
 * 6 give 2 and 3): the nodes are written as placeholders numbered depth first, and their
 * bytes are listed in blobs[0..k), borrowed from the tree, to be sent as binary messages
 * right after the text. Returns k (the number of attachments, 0 for a plain packet), or
 *   SIO_EINVAL  type over 6; nsp not starting with '/' or containing ','; a query in protocol
 *               v5, or (v4) a '?' or '#' in nsp or a ',' or '#' in the query; id over
 *               SIO__SP_MAX_ID; binary nodes in a packet other than an event or ack; an
 *               object with "_placeholder": true in a packet that also has binary nodes (the
 *               peer would take it for an attachment);
 *   SIO_EUTF8   a string or key that is not WTF-8 (UTF-8 that may hold lone surrogates);
 *   SIO_ETOOBIG more binary nodes than max_attachments or cap, or data deeper than max_depth;
 *   SIO_ENOMEM.
 * On error out is left as it was. The JSON is what JavaScript's JSON.stringify writes for the
 * same value (sio__sp_stringify). opts may be NULL; blobs may be NULL when cap is 0.
 */
int sio__sp_encode(const sio__sp_options *opts, sio__buf *out, const sio__sp_packet *p,
                   sio__sp_blob *blobs, size_t cap);

/*
 * Append v as JSON.stringify writes it: compact; an object's members in JavaScript's order,
 * the array-index keys ("0", "7", up to 2^32 - 2) first in numeric order, then the others in
 * insertion order; strings escaped as JavaScript does (sio__json_put_string: WTF-8, a lone
 * surrogate as \udxxx); numbers as Number.prototype.toString, integers exactly. Binary nodes
 * are SIO_EINVAL; otherwise errors as sio__sp_encode. max_depth 0 means the default.
 */
int sio__sp_stringify(sio__buf *out, const json_t *v, size_t max_depth);

/* Write d as JavaScript's Number.prototype.toString does ("0.1", "1e+21", "1.5e-7", "0" for
 * -0, "null" for NaN and infinities, as JSON.stringify has it) into buf, NUL-terminated.
 * Returns the length (at most 25). */
size_t sio__sp_format_double(double d, char buf[32]);

#endif
