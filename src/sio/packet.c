/*
 * Socket.IO packet codec (protocol v5 and v4); the wire form and the binary node are described
 * in packet.h.
 *
 * Decoding follows socket.io-parser's decodeString (4.2) field by field: one digit of type,
 * for binary packets the attachment count and '-', a namespace from '/' up to ',' (or the
 * end), the ack id, then the rest is JSON, read as JSON.parse reads it (json.c). The payload
 * rules are isPayloadValid's, applied only when there is a payload: socket.io-parser lets
 * every type come without one, and the Node server then dispatches "2" as an event named
 * undefined and "3<id>" as an answer with no arguments. A binary packet's placeholders are
 * looked at when its last attachment arrives, as socket.io-parser reconstructs it: each is
 * swapped for a binary node, which may appear several times when several placeholders name it
 * (the node is shared, not copied), and one that names no attachment fails the packet then,
 * not when its text arrives.
 *
 * The ack id is what the parser's id loop reads: the run of characters c with Number(c) == c,
 * which are the digits and JavaScript's white space (Number(" ") is 0), converted with
 * Number(). So "2 [...]" is an event with id 0 and "2 7 [...]" one with id 7; the JSON
 * payload never starts with white space, since the id takes it.
 *
 * Where socket.io-parser accepts input only by accident of JavaScript's loose conversions, the
 * decoder is strict:
 * - The type is one digit 0 to 6. The parser reads Number(str.charAt(0)), so an empty packet,
 *   or one starting with a space, is a CONNECT there.
 * - The attachment count is decimal digits followed by '-', and at least 1 (as the parser
 *   requires). The parser compares it with Number(), which also takes " 1", "1.0", "0x1".
 * - The ack id is at most 2^53 - 1 (Number.MAX_SAFE_INTEGER), and has no white space between
 *   its digits: past that bound the parser's ids are inexact floats, and "2 1 2[...]" has the
 *   id NaN there, which the server echoes as "3NaN[...]".
 * - Nesting is bounded (max_depth): the trees are walked recursively here and by
 *   applications.
 *
 * Protocol v4 differs in one place only: the namespace may carry a query string ("/admin?x=1",
 * how socket.io-client 2 sends its connect query), split off here at the first '?' (a '#'
 * fragment is dropped). The Node server reads the v4 namespace with new URL(), which also
 * resolves dot segments and percent-encodes; that is not done here. Packet type 4 is ERROR
 * there; its payload rule (a string or an object) is the same as CONNECT_ERROR's.
 *
 * Encoding writes the JSON itself rather than calling json_dumps, for three reasons: binary
 * nodes become placeholders in the same pass; json_dumps reads keys as C strings, which the
 * binary marker is not; and the output should be the bytes the Node server sends for the same
 * value, so that tests and captures compare equal. jansson writes reals with %.17g (0.1 as
 * 0.10000000000000001); JavaScript writes the shortest decimal that reads back as the same
 * double, in its own layout, which sio__sp_format_double reproduces. JavaScript lists an
 * object's array-index keys ("2", "10") first, in numeric order, whatever the insertion order,
 * and so does the writer. Strings are written as json.c quotes them (lone surrogates as
 * \udxxx escapes). Integers are written exactly, also past 2^53, where a JavaScript peer rounds
 * them (a value from the wire never has such an integer: json.c reads it as a double).
 */
#include "sio/packet.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "sio.h"
#include "sio/json.h"

/* The key that marks a binary node: the byte 0xff (never in UTF-8, so never in a key that
 * came from the wire), then "bin". A plain C string, so every jansson call handles it. */
#define BIN_KEY                                                                                    \
    "\xff"                                                                                         \
    "bin"
#define BIN_KEY_LEN 4
/* How deep the unbounded walks (has_binary, equal, deep_copy) go: jansson's parser limit. */
#define WALK_DEPTH 2048
/* Number of significant digits that always identifies a double. */
#define MAX_DIGITS 17

static const char root_nsp[] = "/";

/* Event names socket.io-parser refuses: they mean something to the sockets or emitters. */
static const char *const reserved_events[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

static sio__sp_options options(const sio__sp_options *opts)
{
    sio__sp_options o = opts ? *opts : (sio__sp_options){0};
    if (o.version != 4) o.version = 5;
    if (!o.max_attachments) o.max_attachments = SIO__SP_DEFAULT_MAX_ATTACHMENTS;
    if (!o.max_depth) o.max_depth = SIO__SP_DEFAULT_MAX_DEPTH;
    return o;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ------------------------------------------------------------------------------------ */
/* Binary nodes                                                                         */
/* ------------------------------------------------------------------------------------ */

json_t *sio__sp_binary_new(const void *data, size_t len)
{
    json_t *s = json_stringn_nocheck(len ? data : "", len);
    if (!s) return NULL;
    json_t *o = json_object();
    if (!o) {
        json_decref(s);
        return NULL;
    }
    if (json_object_setn_new_nocheck(o, BIN_KEY, BIN_KEY_LEN, s)) { /* s is released */
        json_decref(o);
        return NULL;
    }
    return o;
}

int sio__sp_is_binary(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) != 1) return 0;
    /* The only member is the first; reading it avoids hashing the key. */
    void *it = json_object_iter((json_t *)v);
    return json_object_iter_key_len(it) == BIN_KEY_LEN &&
           !memcmp(json_object_iter_key(it), BIN_KEY, BIN_KEY_LEN) &&
           json_is_string(json_object_iter_value(it));
}

int sio__sp_binary_get(const json_t *v, const void **data, size_t *len)
{
    if (!sio__sp_is_binary(v)) return SIO_EINVAL;
    const json_t *s = json_object_iter_value(json_object_iter((json_t *)v));
    *data = json_string_value(s);
    *len = json_string_length(s);
    return 0;
}

static int has_binary(const json_t *v, int depth)
{
    if (depth > WALK_DEPTH) return 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (has_binary(json_array_get(v, i), depth + 1)) return 1;
    } else if (json_is_object(v)) {
        if (sio__sp_is_binary(v)) return 1;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it))
            if (has_binary(json_object_iter_value(it), depth + 1)) return 1;
    }
    return 0;
}

int sio__sp_has_binary(const json_t *v)
{
    return has_binary(v, 0);
}

/* jansson's json_equal and json_deep_copy look members up by C-string key, which a binary
 * node's key is not: these two walk members with their lengths. */

static int equal(const json_t *a, const json_t *b, int depth)
{
    if (a == b) return 1;
    if (!a || !b || depth > WALK_DEPTH) return 0;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b)) return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!equal(json_array_get(a, i), json_array_get(b, i), depth + 1)) return 0;
        return 1;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) return 0;
        for (void *it = json_object_iter((json_t *)a); it;
             it = json_object_iter_next((json_t *)a, it)) {
            const json_t *m =
                json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            if (!equal(json_object_iter_value(it), m, depth + 1)) return 0;
        }
        return 1;
    }
    default: /* true, false, null: one of each */
        return 1;
    }
}

int sio__sp_equal(const json_t *a, const json_t *b)
{
    return equal(a, b, 0);
}

static json_t *deep_copy(const json_t *v, int depth)
{
    if (depth > WALK_DEPTH) return NULL;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        json_t *o = json_object();
        for (void *it = json_object_iter((json_t *)v); o && it;
             it = json_object_iter_next((json_t *)v, it)) {
            json_t *c = deep_copy(json_object_iter_value(it), depth + 1);
            if (!c || json_object_setn_new_nocheck(o, json_object_iter_key(it),
                                                   json_object_iter_key_len(it), c)) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    case JSON_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < json_array_size(v); i++) {
            if (json_array_append_new(a, deep_copy(json_array_get(v, i), depth + 1))) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case JSON_STRING:
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return json_integer(json_integer_value(v));
    case JSON_REAL:
        return json_real(json_real_value(v));
    default: /* true, false, null are singletons */
        return json_incref((json_t *)v);
    }
}

json_t *sio__sp_deep_copy(const json_t *v)
{
    return v ? deep_copy(v, 0) : NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Decoding                                                                             */
/* ------------------------------------------------------------------------------------ */

static int fail(const char **reason, const char *why, int rc)
{
    if (reason) *reason = why;
    return rc;
}

static int is_reserved(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof reserved_events / sizeof *reserved_events; i++)
        if (strlen(reserved_events[i]) == n && !memcmp(reserved_events[i], s, n)) return 1;
    return 0;
}

/* socket.io-parser's isObject: a plain object (here: not a binary node). */
static int is_plain_object(const json_t *v)
{
    return json_is_object(v) && !sio__sp_is_binary(v);
}

int sio__sp_payload_valid(int version, int type, const json_t *data)
{
    if (!data) return type >= SIO__SP_CONNECT && type <= SIO__SP_BINARY_ACK;
    switch (type) {
    case SIO__SP_CONNECT:
        return is_plain_object(data);
    case SIO__SP_CONNECT_ERROR:
        return json_is_string(data) || is_plain_object(data);
    case SIO__SP_EVENT:
    case SIO__SP_BINARY_EVENT: {
        const json_t *name = json_array_get(data, 0); /* NULL unless a non-empty array */
        if (json_is_number(name)) return 1;
        return json_is_string(name) &&
               !is_reserved(json_string_value(name), json_string_length(name));
    }
    case SIO__SP_ACK:
    case SIO__SP_BINARY_ACK:
        return json_is_array(data);
    default: /* DISCONNECT carries nothing */
        return 0;
    }
}

/* socket.io-parser's test for a placeholder: the member _placeholder is true; other members
 * do not matter. */
static int is_placeholder(const json_t *v)
{
    return json_is_object(v) && json_is_true(json_object_getn(v, "_placeholder", 12));
}

/*
 * What placeholder v stands for, from the attachments in bins: 0 with the attachment in *out,
 * or with NULL for JavaScript's undefined; -1 when the packet is to be refused. As
 * socket.io-parser: num must be a number in [0, count); buffers[num] is then an attachment
 * when num is integral, and undefined otherwise (0.5).
 */
static int placeholder_value(const json_t *v, json_t *bins, json_t **out)
{
    const json_t *num = json_object_getn(v, "num", 3);
    double k;
    if (json_is_integer(num))
        k = (double)json_integer_value(num);
    else if (json_is_real(num))
        k = json_real_value(num);
    else
        return -1; /* null too: what an infinite num reads as */
    if (!(k >= 0 && k < (double)json_array_size(bins))) return -1;
    *out = k == (double)(size_t)k ? json_array_get(bins, (size_t)k) : NULL;
    return 0;
}

/*
 * socket.io-parser's reconstruction: swap every placeholder below v for its attachment (a
 * node named by several placeholders is shared, not copied). A placeholder that stands for
 * undefined becomes what JSON.stringify makes of undefined: null in an array, no member in an
 * object. -1 (v half done) for a placeholder that names no attachment. Allocates nothing.
 */
static int fill_placeholders(json_t *v, json_t *bins)
{
    json_t *b;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *m = json_array_get(v, i);
            if (!is_placeholder(m)) {
                if (fill_placeholders(m, bins)) return -1;
            } else if (placeholder_value(m, bins, &b)) {
                return -1;
            } else {
                json_array_set(v, i, b ? b : json_null());
            }
        }
    } else if (json_is_object(v)) {
        for (void *it = json_object_iter(v), *next; it; it = next) {
            next = json_object_iter_next(v, it);
            json_t *m = json_object_iter_value(it);
            if (!is_placeholder(m)) {
                if (fill_placeholders(m, bins)) return -1;
            } else if (placeholder_value(m, bins, &b)) {
                return -1;
            } else if (b) {
                json_object_iter_set(v, it, b);
            } else {
                json_object_deln(v, json_object_iter_key(it), json_object_iter_key_len(it));
            }
        }
    }
    return 0;
}

/*
 * An event named by a number beyond the double range ("2[1e400]") is an event named Infinity
 * in JavaScript: typeof Infinity is "number", so isPayloadValid takes it, and the listeners
 * of "Infinity" get it. The parser reads that number as null (json.h); put the name back in
 * its place as the string String(Infinity) would give. json is the payload's text, which
 * parsed to data.
 */
static int infinite_name(const char *json, json_t *data)
{
    if (!json_is_array(data) || !json_is_null(json_array_get(data, 0))) return 0;
    while (*json == '[' || *json == ' ' || *json == '\t' || *json == '\n' || *json == '\r') json++;
    if (*json != '-' && !is_digit(*json)) return 0; /* a literal null */
    json_t *name = json_string(*json == '-' ? "-Infinity" : "Infinity");
    return name && !json_array_set_new(data, 0, name) ? 0 : SIO_ENOMEM;
}

/* The length of the character at s[0..n) (n > 0) when it is one that JavaScript's Number()
 * trims as white space (ECMAScript's StrWhiteSpaceChar: WhiteSpace and LineTerminator), else
 * 0. */
static size_t js_space(const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    switch (u[0]) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
        return 1;
    case 0xc2: /* U+00A0 */
        return n >= 2 && u[1] == 0xa0 ? 2 : 0;
    case 0xe1: /* U+1680 */
        return n >= 3 && u[1] == 0x9a && u[2] == 0x80 ? 3 : 0;
    case 0xe2: /* U+2000 to U+200A, U+2028, U+2029, U+202F; U+205F */
        if (n < 3) return 0;
        if (u[1] == 0x80)
            return (u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf
                       ? 3
                       : 0;
        return u[1] == 0x81 && u[2] == 0x9f ? 3 : 0;
    case 0xe3: /* U+3000 */
        return n >= 3 && u[1] == 0x80 && u[2] == 0x80 ? 3 : 0;
    case 0xef: /* U+FEFF */
        return n >= 3 && u[1] == 0xbb && u[2] == 0xbf ? 3 : 0;
    default:
        return 0;
    }
}

/* Protocol v4: split "/path?query#fragment" into p->nsp (the path) and p->query. */
static void split_query(sio__sp_packet *p)
{
    const char *s = p->nsp, *end = s + p->nsp_len;
    const char *q = memchr(s, '?', p->nsp_len), *h = memchr(s, '#', p->nsp_len);
    if (q && (!h || q < h)) {
        p->query = q + 1;
        p->query_len = (size_t)((h ? h : end) - p->query);
    }
    if (q || h) p->nsp_len = (size_t)(((q && (!h || q < h)) ? q : h) - s);
}

int sio__sp_decode(const sio__sp_options *opts, const char *s, size_t n, sio__sp_packet *p,
                   const char **reason)
{
    sio__sp_options o = options(opts);
    size_t i = 1;

    memset(p, 0, sizeof *p);
    p->nsp = root_nsp;
    p->nsp_len = 1;
    if (!n || s[0] < '0' || s[0] > '6') return fail(reason, "unknown packet type", SIO_EPROTO);
    p->type = (uint8_t)(s[0] - '0');

    if (p->type == SIO__SP_BINARY_EVENT || p->type == SIO__SP_BINARY_ACK) {
        size_t count = 0, start = i;
        int overflow = 0;
        for (; i < n && is_digit(s[i]); i++) {
            if (count > (SIZE_MAX - 9) / 10)
                overflow = 1;
            else
                count = count * 10 + (size_t)(s[i] - '0');
        }
        if (i == start || i == n || s[i] != '-' || (!count && !overflow))
            return fail(reason, "Illegal attachments", SIO_EPROTO);
        if (overflow || count > o.max_attachments)
            return fail(reason, "too many attachments", SIO_ETOOBIG);
        p->attachments = count;
        i++;
    }

    if (i < n && s[i] == '/') {
        const char *comma = memchr(s + i, ',', n - i);
        size_t end = comma ? (size_t)(comma - s) : n;
        p->nsp = s + i;
        p->nsp_len = end - i;
        if (o.version == 4) split_query(p);
        i = comma ? end + 1 : n;
    }

    /* The ack id: socket.io-parser takes the run of characters c with Number(c) == c, the
     * digits and JavaScript's white space, and reads it with Number(): the white space around
     * the digits is trimmed, white space alone is 0, white space between digits is NaN. */
    size_t run = i, k;
    while (i < n && (k = is_digit(s[i]) ? 1 : js_space(s + i, n - i))) i += k;
    if (i > run) {
        uint64_t id = 0;
        int digits = 0, after = 0; /* met digits; met white space after them */
        for (size_t j = run; j < i;) {
            if (!is_digit(s[j])) {
                after = digits;
                j += js_space(s + j, i - j);
                continue;
            }
            if (after) return fail(reason, "invalid ack id", SIO_EPROTO); /* NaN */
            digits = 1;
            id = id * 10 + (uint64_t)(s[j++] - '0');
            if (id > SIO__SP_MAX_ID) return fail(reason, "invalid ack id", SIO_EPROTO);
        }
        p->has_id = 1;
        p->id = id;
    }

    if (i < n) {
        if (p->type == SIO__SP_DISCONNECT) return fail(reason, "invalid payload", SIO_EPROTO);
        int rc = sio__json_parse(s + i, n - i, o.max_depth, &p->data, NULL);
        if (rc == SIO_ETOOBIG) return fail(reason, "payload nested too deeply", rc);
        if (rc) return fail(reason, rc == SIO_ENOMEM ? "out of memory" : "invalid payload", rc);
        if ((p->type == SIO__SP_EVENT || p->type == SIO__SP_BINARY_EVENT) &&
            (rc = infinite_name(s + i, p->data))) {
            sio__sp_packet_clear(p);
            return fail(reason, "out of memory", rc);
        }
    }
    if (!sio__sp_payload_valid(o.version, p->type, p->data)) {
        sio__sp_packet_clear(p);
        return fail(reason, "invalid payload", SIO_EPROTO);
    }
    return 0;
}

void sio__sp_packet_clear(sio__sp_packet *p)
{
    json_decref(p->data);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------------------------ */
/* The stream decoder                                                                   */
/* ------------------------------------------------------------------------------------ */

void sio__sp_decoder_init(sio__sp_decoder *d, const sio__sp_options *opts)
{
    memset(d, 0, sizeof *d);
    d->opts = options(opts);
}

/* Drop the pending packet and what was gathered for it. */
static void drop(sio__sp_decoder *d)
{
    sio__sp_packet_clear(&d->pending);
    json_decref(d->bins);
    d->bins = NULL;
    sio__free(d->names);
    d->names = NULL;
}

void sio__sp_decoder_free(sio__sp_decoder *d)
{
    drop(d);
}

static int decoder_fail(sio__sp_decoder *d, int rc, const char *reason)
{
    drop(d);
    d->error = rc;
    d->reason = reason;
    return rc;
}

/* The pending packet outlives the caller's text: copy its nsp and query into d->names. */
static int keep_names(sio__sp_decoder *d, sio__sp_packet *p)
{
    if (p->nsp == root_nsp && !p->query) return 0;
    size_t qlen = p->query ? p->query_len : 0;
    char *m = sio__malloc(p->nsp_len + qlen + 1);
    if (!m) return SIO_ENOMEM;
    memcpy(m, p->nsp, p->nsp_len);
    p->nsp = m;
    if (p->query) {
        memcpy(m + p->nsp_len, p->query, qlen);
        p->query = m + p->nsp_len;
    }
    d->names = m;
    return 0;
}

int sio__sp_decoder_text(sio__sp_decoder *d, const char *s, size_t n, sio__sp_packet *out)
{
    if (d->error) return d->error;
    if (d->bins)
        return decoder_fail(d, SIO_EPROTO, "got plaintext data when reconstructing a packet");
    sio__free(d->names);
    d->names = NULL;

    sio__sp_packet p;
    const char *why;
    int rc = sio__sp_decode(&d->opts, s, n, &p, &why);
    if (rc) return decoder_fail(d, rc, why);
    if (!p.attachments) {
        *out = p;
        return 1;
    }
    d->pending = p;
    if (keep_names(d, &d->pending) || !(d->bins = json_array()))
        return decoder_fail(d, SIO_ENOMEM, "out of memory");
    return 0;
}

int sio__sp_decoder_binary(sio__sp_decoder *d, const void *data, size_t len, sio__sp_packet *out)
{
    if (d->error) return d->error;
    if (!d->bins)
        return decoder_fail(d, SIO_EPROTO, "got binary data when not reconstructing a packet");
    if (json_array_append_new(d->bins, sio__sp_binary_new(data, len)))
        return decoder_fail(d, SIO_ENOMEM, "out of memory");
    if (json_array_size(d->bins) < d->pending.attachments) return 0;

    if (fill_placeholders(d->pending.data, d->bins))
        return decoder_fail(d, SIO_EPROTO, "illegal attachments");
    *out = d->pending;
    out->type = d->pending.type == SIO__SP_BINARY_EVENT ? SIO__SP_EVENT : SIO__SP_ACK;
    memset(&d->pending, 0, sizeof d->pending);
    json_decref(d->bins);
    d->bins = NULL;
    return 1; /* d->names stays until the next call */
}

size_t sio__sp_decoder_awaited(const sio__sp_decoder *d)
{
    return d->bins ? d->pending.attachments - json_array_size(d->bins) : 0;
}

/* ------------------------------------------------------------------------------------ */
/* Numbers as JavaScript prints them                                                    */
/* ------------------------------------------------------------------------------------ */

/* The first p significant digits of d > 0, correctly rounded, into dig; returns the decimal
 * exponent of the first digit. glibc's printf rounds exactly. The decimal point printf
 * writes is the locale's (one byte or several), so everything that is not a digit up to the
 * exponent is skipped. */
static int round_digits(double d, int p, char *dig)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", p - 1, d);
    const char *c = buf;
    int k = 0;
    for (; *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') dig[k++] = *c;
    return atoi(c + 1);
}

/* The double nearest to dig[0].dig[1..p) * 10^e, read as the integer dig[0..p) scaled by
 * 10^(e-p+1): with no decimal point, strtod reads it the same in every locale. */
static double read_back(const char *dig, int p, int e)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*se%d", p, dig, e - (p - 1));
    return strtod(buf, NULL);
}

/*
 * 1 when some decimal of p significant digits reads back as d (> 0, finite); its digits go in
 * dig and its exponent in *e. Those reading back as d form an interval around d, so only the
 * two p-digit neighbours of d can: the correctly rounded one, which is the nearest, and the
 * one on the other side of d, which may be inside the interval when the nearest is not: just
 * above a power of two, the doubles below are twice as dense as those above.
 */
static int fits_in(double d, int p, char *dig, int *e)
{
    *e = round_digits(d, p, dig);
    double r = read_back(dig, p, *e);
    if (r == d) return 1;

    char alt[MAX_DIGITS];
    int ae = *e, j = p - 1;
    memcpy(alt, dig, (size_t)p);
    if (r > d) { /* one unit in the last place down */
        int power = alt[0] == '1';
        for (int k = 1; k < p; k++) power &= alt[k] == '0';
        if (power) { /* 1.00e5 - 1 unit is 9.99e4 */
            memset(alt, '9', (size_t)p);
            ae--;
        } else {
            for (; alt[j] == '0'; j--) alt[j] = '9';
            alt[j]--;
        }
    } else { /* one unit up */
        for (; j >= 0 && alt[j] == '9'; j--) alt[j] = '0';
        if (j < 0) { /* 9.99e4 + 1 unit is 1.00e5 */
            alt[0] = '1';
            ae++;
        } else {
            alt[j]++;
        }
    }
    if (read_back(alt, p, ae) != d) return 0;
    memcpy(dig, alt, (size_t)p);
    *e = ae;
    return 1;
}

size_t sio__sp_format_double(double d, char buf[32])
{
    if (!isfinite(d)) return (size_t)snprintf(buf, 32, "null");
    if (d == 0) return (size_t)snprintf(buf, 32, "0"); /* -0 too */

    /*
     * The fewest digits that read back as d (ECMA-262 Number::toString: k as small as
     * possible). Fitting is monotonic in p (every p-digit decimal is also a (p+1)-digit one)
     * and 17 digits always fit, so a binary search finds it. Most values settle at the first
     * probe, 15 digits: 15-digit decimals are spaced wider than the interval that reads back
     * as a normal double, so when one fits it is the only decimal of 15 digits or fewer that
     * does, and stripping its trailing zeros gives the answer. Subnormals have fewer
     * significant bits, and search below 15; when 15 do not fit, 16 or 17 do.
     */
    char dig[MAX_DIGITS], best[MAX_DIGITS];
    int e, be = 0, lo = 1, hi = MAX_DIGITS, found = 0;
    double a = d < 0 ? -d : d;
    if (fits_in(a, 15, best, &be)) {
        hi = 15;
        found = 1;
        if (a >= DBL_MIN) lo = 15;
    } else {
        lo = 16;
    }
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (fits_in(a, mid, dig, &e)) {
            memcpy(best, dig, (size_t)mid);
            be = e;
            hi = mid;
            found = 1;
        } else {
            lo = mid + 1;
        }
    }
    if (!found) fits_in(a, MAX_DIGITS, best, &be);
    int k = lo;
    while (k > 1 && best[k - 1] == '0') k--;

    /* Lay the digits out: n is the position of the decimal point relative to them. */
    char *o = buf;
    int n = be + 1;
    if (d < 0) *o++ = '-';
    if (k <= n && n <= 21) { /* 123, 1e20 written out */
        memcpy(o, best, (size_t)k);
        o += k;
        memset(o, '0', (size_t)(n - k));
        o += n - k;
    } else if (0 < n && n <= 21) { /* 12.3 */
        memcpy(o, best, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, best + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) { /* 0.00123 */
        *o++ = '0';
        *o++ = '.';
        memset(o, '0', (size_t)-n);
        o += -n;
        memcpy(o, best, (size_t)k);
        o += k;
    } else { /* 1.23e+21, 1e-7 */
        *o++ = best[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, best + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += snprintf(o, 8, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    *o = 0;
    return (size_t)(o - buf);
}

/* ------------------------------------------------------------------------------------ */
/* Encoding                                                                             */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    sio__buf *out;
    size_t max_depth;
    int allow_binary;
    sio__sp_blob *blobs; /* the first cap binary nodes met */
    size_t cap;
    size_t n;    /* binary nodes met */
    int literal; /* met an object with "_placeholder": true */
} writer;

static int put_uint(sio__buf *out, uint64_t u, int negative)
{
    char b[24], *e = b + sizeof b, *p = e;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (negative) *--p = '-';
    return sio__buf_append(out, p, (size_t)(e - p));
}

static int put_value(writer *w, const json_t *v, size_t depth);

static int put_binary(writer *w, const json_t *v)
{
    if (!w->allow_binary) return SIO_EINVAL;
    if (w->n < w->cap) {
        const void *data = NULL;
        sio__sp_binary_get(v, &data, &w->blobs[w->n].len);
        w->blobs[w->n].data = data;
    }
    int rc = sio__buf_append_str(w->out, "{\"_placeholder\":true,\"num\":");
    if (!rc) rc = put_uint(w->out, w->n++, 0);
    if (!rc) rc = sio__buf_append(w->out, "}", 1);
    return rc;
}

/* 1 when key is an array index, which JavaScript lists before the other keys of an object:
 * "0", or a decimal without leading zeros below 2^32 - 1; its value goes in *k. */
static int array_index(const char *key, size_t len, uint32_t *k)
{
    if (!len || len > 10 || (key[0] == '0' && len > 1)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(key[i])) return 0;
        v = v * 10 + (uint64_t)(key[i] - '0');
    }
    if (v > 4294967294u) return 0;
    *k = (uint32_t)v;
    return 1;
}

typedef struct {
    uint32_t index;
    void *it;
} indexed_member;

static int by_index(const void *a, const void *b)
{
    uint32_t x = ((const indexed_member *)a)->index, y = ((const indexed_member *)b)->index;
    return x < y ? -1 : x > y;
}

static int put_member(writer *w, void *it, size_t depth, int first)
{
    const char *key = json_object_iter_key(it);
    size_t klen = json_object_iter_key_len(it);
    json_t *m = json_object_iter_value(it);
    if (klen == 12 && !memcmp(key, "_placeholder", 12) && json_is_true(m)) w->literal = 1;
    int rc = first ? 0 : sio__buf_append(w->out, ",", 1);
    if (!rc) rc = sio__json_put_string(w->out, key, klen);
    if (!rc) rc = sio__buf_append(w->out, ":", 1);
    if (!rc) rc = put_value(w, m, depth + 1);
    return rc;
}

/* Members in JavaScript's order (OrdinaryOwnPropertyKeys): array indexes first, ascending,
 * then the other keys in insertion order. */
static int put_object(writer *w, const json_t *v, size_t depth)
{
    if (sio__sp_is_binary(v)) return put_binary(w, v);
    json_t *o = (json_t *)v;
    indexed_member few[8], *idx = few;
    size_t n = 0, k = 0;
    uint32_t index;
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
        n += (size_t)array_index(json_object_iter_key(it), json_object_iter_key_len(it), &index);
    if (n > sizeof few / sizeof *few && !(idx = sio__reallocarray(NULL, n, sizeof *idx)))
        return SIO_ENOMEM;
    for (void *it = json_object_iter(o); n && it; it = json_object_iter_next(o, it))
        if (array_index(json_object_iter_key(it), json_object_iter_key_len(it), &index))
            idx[k++] = (indexed_member){index, it};
    qsort(idx, n, sizeof *idx, by_index);

    int rc = sio__buf_append(w->out, "{", 1);
    for (k = 0; k < n && !rc; k++) rc = put_member(w, idx[k].it, depth, k == 0);
    for (void *it = json_object_iter(o); it && !rc; it = json_object_iter_next(o, it)) {
        if (n && array_index(json_object_iter_key(it), json_object_iter_key_len(it), &index))
            continue;
        rc = put_member(w, it, depth, k++ == 0);
    }
    if (idx != few) sio__free(idx);
    return rc ? rc : sio__buf_append(w->out, "}", 1);
}

static int put_array(writer *w, const json_t *v, size_t depth)
{
    int rc = sio__buf_append(w->out, "[", 1);
    for (size_t i = 0; i < json_array_size(v) && !rc; i++) {
        if (i) rc = sio__buf_append(w->out, ",", 1);
        if (!rc) rc = put_value(w, json_array_get(v, i), depth + 1);
    }
    return rc ? rc : sio__buf_append(w->out, "]", 1);
}

/* Write v, which sits inside depth arrays and objects. */
static int put_value(writer *w, const json_t *v, size_t depth)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        /* A binary node counts as a level too: it is written as a placeholder object. */
        if (depth >= w->max_depth) return SIO_ETOOBIG;
        return put_object(w, v, depth);
    case JSON_ARRAY:
        if (depth >= w->max_depth) return SIO_ETOOBIG;
        return put_array(w, v, depth);
    case JSON_STRING:
        return sio__json_put_string(w->out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        json_int_t k = json_integer_value(v);
        return put_uint(w->out, k < 0 ? 0 - (uint64_t)k : (uint64_t)k, k < 0);
    }
    case JSON_REAL:
        return sio__buf_append(w->out, num, sio__sp_format_double(json_real_value(v), num));
    case JSON_TRUE:
        return sio__buf_append(w->out, "true", 4);
    case JSON_FALSE:
        return sio__buf_append(w->out, "false", 5);
    case JSON_NULL:
        return sio__buf_append(w->out, "null", 4);
    }
    return SIO_EINVAL;
}

int sio__sp_stringify(sio__buf *out, const json_t *v, size_t max_depth)
{
    if (!v) return SIO_EINVAL;
    writer w = {.out = out, .max_depth = max_depth ? max_depth : SIO__SP_DEFAULT_MAX_DEPTH};
    size_t start = out->len;
    int rc = put_value(&w, v, 0);
    if (rc) out->len = start;
    return rc;
}

int sio__sp_encode(const sio__sp_options *opts, sio__buf *out, const sio__sp_packet *p,
                   sio__sp_blob *blobs, size_t cap)
{
    sio__sp_options o = options(opts);
    const char *nsp = p->nsp ? p->nsp : root_nsp;
    size_t nsp_len = p->nsp ? p->nsp_len : 1;
    int type = p->type;

    if (type > SIO__SP_BINARY_ACK || !nsp_len || nsp[0] != '/' || memchr(nsp, ',', nsp_len))
        return SIO_EINVAL;
    if (o.version == 4 && (memchr(nsp, '?', nsp_len) || memchr(nsp, '#', nsp_len)))
        return SIO_EINVAL;
    if (p->query && (o.version != 4 || memchr(p->query, ',', p->query_len) ||
                     memchr(p->query, '#', p->query_len)))
        return SIO_EINVAL;
    if (p->has_id && p->id > SIO__SP_MAX_ID) return SIO_EINVAL;
    if (type == SIO__SP_BINARY_EVENT) type = SIO__SP_EVENT;
    if (type == SIO__SP_BINARY_ACK) type = SIO__SP_ACK;

    /* Written as a plain packet; when binary nodes turn up, the count goes in afterwards. */
    size_t start = out->len;
    char t = (char)('0' + type);
    int rc = sio__buf_append(out, &t, 1);
    if (!rc && (nsp_len != 1 || p->query)) {
        rc = sio__buf_append(out, nsp, nsp_len);
        if (!rc && p->query) rc = sio__buf_append(out, "?", 1);
        if (!rc && p->query) rc = sio__buf_append(out, p->query, p->query_len);
        if (!rc) rc = sio__buf_append(out, ",", 1);
    }
    if (!rc && p->has_id) rc = put_uint(out, p->id, 0);

    writer w = {.out = out,
                .max_depth = o.max_depth,
                .allow_binary = 1,
                .blobs = blobs,
                .cap = blobs ? cap : 0};
    if (!rc && p->data) rc = put_value(&w, p->data, 0);
    if (!rc && w.n) {
        char head[24];
        size_t k = (size_t)snprintf(head, sizeof head, "%zu-", w.n);
        if (type != SIO__SP_EVENT && type != SIO__SP_ACK)
            rc = SIO_EINVAL;
        else if (w.literal)
            rc = SIO_EINVAL;
        else if (w.n > o.max_attachments || w.n > w.cap || w.n > INT32_MAX)
            rc = SIO_ETOOBIG;
        else if (!(rc = sio__buf_reserve(out, k))) {
            uint8_t *d = out->data + start;
            memmove(d + 1 + k, d + 1, out->len - start - 1);
            memcpy(d + 1, head, k);
            d[0] = type == SIO__SP_EVENT ? '5' : '6';
            out->len += k;
        }
    }
    if (rc) {
        out->len = start;
        return rc;
    }
    return (int)w.n;
}
