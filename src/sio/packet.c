/*
 * Socket.IO packet codec (protocol v5 and v4); the wire form and the binary node are described
 * in packet.h.
 *
 * Decoding follows socket.io-parser's decodeString (4.2) field by field: one digit of type,
 * for binary packets the attachment count and '-', a namespace from '/' up to ',' (or the
 * end), the ack id digits, then the rest is JSON. jansson parses the JSON; the payload rules
 * are isPayloadValid's. A binary packet's placeholders are checked as soon as its text
 * arrives, against the announced count, so reassembly cannot fail later: when the last
 * attachment arrives, each placeholder is swapped for a binary node, which may appear several
 * times when several placeholders name it (the node is shared, not copied).
 *
 * Where socket.io-parser accepts input only by accident of JavaScript's loose conversions, or
 * where the specification is stricter than the parser, the decoder is strict:
 * - The type is one digit 0 to 6. The parser reads Number(str.charAt(0)), so an empty packet,
 *   or one starting with a space, is a CONNECT there.
 * - The attachment count is decimal digits followed by '-', and at least 1 (as the parser
 *   requires). The parser compares it with Number(), which also takes " 1", "1.0", "0x1".
 * - The ack id is decimal digits, at most 2^53 - 1 (Number.MAX_SAFE_INTEGER): past that the
 *   parser's ids are inexact floats. The parser's id loop also takes every character c with
 *   Number(c) == c, and whitespace converts to 0, so "2 [...]" is an event with id 0 there.
 *   Hence the payload may not start with JSON whitespace: that is the one place where it
 *   would be read differently.
 * - EVENT and BINARY_EVENT need a payload, and in v5 so do ACK and BINARY_ACK: the
 *   specifications say the payload MUST be there (v4: an ack "may contain a payload"). The
 *   parser lets "2" through, and the server turns it into an event with no name.
 * - A placeholder's num must be an integer (or a real with an integral value) in range. The
 *   parser only checks typeof "number" and the range, so 0.5 becomes undefined.
 * - Nesting is bounded (max_depth, checked on the text before jansson sees it): the trees are
 *   walked recursively here and by applications.
 * - jansson is stricter than JSON.parse in three ways: a \u escape of a lone surrogate is an
 *   error (UTF-8 cannot carry it), a key containing \u0000 is an error, and a number too large
 *   for a double is an error where JavaScript makes it Infinity. JSON.stringify never writes
 *   the last two, and since ES2019 it escapes lone surrogates, so a JavaScript peer sending a
 *   string with one has its packet refused.
 * Numbers: JavaScript has one number type, jansson two. An integer literal that fits in 64 bits
 * is a json_integer, any other number a json_real. JavaScript writes every integer below 1e21
 * in full, so 2**64 arrives as 18446744073709552000, on which jansson fails; the payload is
 * then parsed again from a copy in which such literals have ".0" appended. Duplicate keys keep
 * the last value at the first key's place, as JSON.parse does.
 *
 * Protocol v4 differs in two places only: the namespace may carry a query string ("/admin?x=1",
 * how socket.io-client 2 sends its connect query), split off here at the first '?' (a '#'
 * fragment is dropped); and an ACK may come without payload. The Node server reads the v4
 * namespace with new URL(), which also resolves dot segments and percent-encodes; that is not
 * done here. Packet type 4 is ERROR there; its payload rule (a string or an object) is the
 * same as CONNECT_ERROR's.
 *
 * Encoding writes the JSON itself rather than calling json_dumps, for three reasons: binary
 * nodes become placeholders in the same pass; json_dumps reads keys as C strings, which the
 * binary marker is not; and the output should be the bytes the Node server sends for the same
 * value, so that tests and captures compare equal. jansson writes reals with %.17g (0.1 as
 * 0.10000000000000001); JavaScript writes the shortest decimal that reads back as the same
 * double, in its own layout, which sio__sp_format_double reproduces. One difference remains
 * and is harmless: JavaScript lists an object's integer-like keys ("2", "10") first, in numeric
 * order, whatever the insertion order; the receiver builds the same object either way.
 * Integers are written exactly, also past 2^53, where a JavaScript peer rounds them.
 */
#include "sio/packet.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "sio.h"
#include "ws/utf8.h"

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

/*
 * 1 when the JSON text s[0..n) nests arrays and objects more than max deep, counting the
 * brackets outside strings. Malformed text may get either answer: jansson judges it next.
 */
static int too_deep(const char *s, size_t n, size_t max)
{
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\') i++;
        } else if (c == '[' || c == '{') {
            if (++depth > max) return 1;
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        }
    }
    return 0;
}

/* 1 when the integer literal s[0..n) ("-"? digits) fits in 64 bits, as strtoll sees it. */
static int fits_int64(const char *s, size_t n)
{
    int negative = s[0] == '-';
    const char *limit = negative ? "9223372036854775808" : "9223372036854775807";
    s += negative, n -= (size_t)negative;
    while (n > 1 && s[0] == '0') s++, n--;
    return n < 19 || (n == 19 && memcmp(s, limit, 19) <= 0);
}

/*
 * A copy of the JSON text s[0..n) in which every integer literal outside strings that does
 * not fit in 64 bits has ".0" appended, so that jansson reads it as a real, as JSON.parse
 * would; NULL when out of memory. Its length goes in *len.
 */
static char *widen_integers(const char *s, size_t n, size_t *len)
{
    sio__buf b = SIO__BUF_INIT;
    size_t i = 0, run = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\') i++;
            i++;
        } else if (c == '-' || is_digit(c)) {
            size_t start = i++, end;
            while (i < n && is_digit(s[i])) i++;
            end = i; /* then a fraction or an exponent makes it a real already */
            while (i < n && (is_digit(s[i]) || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                             s[i] == '+' || s[i] == '-'))
                i++;
            if (i == end && end - start > (size_t)(c == '-') && !fits_int64(s + start, i - start)) {
                if (sio__buf_append(&b, s + run, i - run) || sio__buf_append(&b, ".0", 2)) {
                    sio__buf_free(&b);
                    return NULL;
                }
                run = i;
            }
        } else {
            i++;
        }
    }
    if (sio__buf_append(&b, s + run, n - run) || sio__buf_reserve(&b, 1)) {
        sio__buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return (char *)b.data;
}

/* Parse the JSON payload s[0..n): 0, SIO_EPROTO or SIO_ENOMEM. */
static int parse_json(const char *s, size_t n, json_t **out)
{
    json_error_t err;
    size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_t *v = json_loadb(s, n, flags, &err);
    if (!v && json_error_code(&err) == json_error_numeric_overflow) {
        /* An integer literal past 64 bits (JavaScript writes 2**64 as 18446744073709552000):
         * read that one as a double, as JSON.parse does, and the others still exactly. */
        size_t wlen;
        char *w = widen_integers(s, n, &wlen);
        if (!w) return SIO_ENOMEM;
        v = json_loadb(w, wlen, flags, &err);
        sio__free(w);
    }
    if (!v) return json_error_code(&err) == json_error_out_of_memory ? SIO_ENOMEM : SIO_EPROTO;
    *out = v;
    return 0;
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
    if (!data)
        return type == SIO__SP_CONNECT || type == SIO__SP_DISCONNECT ||
               type == SIO__SP_CONNECT_ERROR || (version == 4 && type == SIO__SP_ACK);
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

/* The attachment a placeholder names, or -1 when num is not an integral number below count. */
static long long placeholder_num(const json_t *v, size_t count)
{
    const json_t *num = json_object_getn(v, "num", 3);
    if (json_is_integer(num)) {
        json_int_t k = json_integer_value(num);
        return k >= 0 && (uint64_t)k < count ? k : -1;
    }
    if (json_is_real(num)) {
        double k = json_real_value(num);
        return k >= 0 && k < (double)count && k == (double)(long long)k ? (long long)k : -1;
    }
    return -1;
}

/* 0 when every placeholder in v names an attachment below count, else -1. */
static int check_placeholders(const json_t *v, size_t count)
{
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (check_placeholders(json_array_get(v, i), count)) return -1;
    } else if (json_is_object(v)) {
        if (is_placeholder(v)) return placeholder_num(v, count) < 0 ? -1 : 0;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it))
            if (check_placeholders(json_object_iter_value(it), count)) return -1;
    }
    return 0;
}

/* Swap every placeholder below v (checked already) for its attachment in bins. Allocates
 * nothing, so it cannot fail. */
static void fill_placeholders(json_t *v, json_t *bins)
{
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *m = json_array_get(v, i);
            if (is_placeholder(m))
                json_array_set(v, i, json_array_get(bins, (size_t)placeholder_num(m, SIZE_MAX)));
            else
                fill_placeholders(m, bins);
        }
    } else if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            json_t *m = json_object_iter_value(it);
            if (is_placeholder(m))
                json_object_iter_set(v, it,
                                     json_array_get(bins, (size_t)placeholder_num(m, SIZE_MAX)));
            else
                fill_placeholders(m, bins);
        }
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

    if (i < n && is_digit(s[i])) {
        uint64_t id = 0;
        for (; i < n && is_digit(s[i]); i++) {
            id = id * 10 + (uint64_t)(s[i] - '0');
            if (id > SIO__SP_MAX_ID) return fail(reason, "invalid ack id", SIO_EPROTO);
        }
        p->has_id = 1;
        p->id = id;
    }

    if (i < n) {
        char c = s[i];
        if (p->type == SIO__SP_DISCONNECT || c == ' ' || c == '\t' || c == '\n' || c == '\r')
            return fail(reason, "invalid payload", SIO_EPROTO);
        if (too_deep(s + i, n - i, o.max_depth))
            return fail(reason, "payload nested too deeply", SIO_ETOOBIG);
        int rc = parse_json(s + i, n - i, &p->data);
        if (rc) return fail(reason, rc == SIO_ENOMEM ? "out of memory" : "invalid payload", rc);
    }
    if (!sio__sp_payload_valid(o.version, p->type, p->data)) {
        sio__sp_packet_clear(p);
        return fail(reason, "invalid payload", SIO_EPROTO);
    }
    if (p->attachments && check_placeholders(p->data, p->attachments)) {
        sio__sp_packet_clear(p);
        return fail(reason, "illegal attachments", SIO_EPROTO);
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

    fill_placeholders(d->pending.data, d->bins);
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
 * exponent of the first digit. glibc's printf rounds exactly. */
static int round_digits(double d, int p, char *dig)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.*e", p - 1, d);
    const char *c = buf;
    int k = 0;
    dig[k++] = *c++;
    if (*c == '.') c++;
    while (*c != 'e') dig[k++] = *c++;
    return atoi(c + 1);
}

/* The double nearest to 0.dig[0..p) * 10^(e+1). */
static double read_back(const char *dig, int p, int e)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%c.%.*se%d", dig[0], p - 1, dig + 1, e);
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

static const char hex[] = "0123456789abcdef";

/* A string as JSON.stringify quotes it: only '"', '\\' and control characters are escaped,
 * with the short forms where JSON has them and \u00xx (lowercase) otherwise. */
static int put_string(sio__buf *out, const char *s, size_t n)
{
    if (!sio__utf8_valid((const uint8_t *)s, n)) return SIO_EUTF8;
    if (n > SIZE_MAX - 2 || sio__buf_reserve(out, n + 2)) return SIO_ENOMEM;
    out->data[out->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        char esc[6] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        if (sio__buf_append(out, s + run, i - run) || sio__buf_append(out, esc, k))
            return SIO_ENOMEM;
        run = i + 1;
    }
    if (sio__buf_append(out, s + run, n - run) || sio__buf_append(out, "\"", 1)) return SIO_ENOMEM;
    return 0;
}

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

static int put_object(writer *w, const json_t *v, size_t depth)
{
    if (sio__sp_is_binary(v)) return put_binary(w, v);
    int rc = sio__buf_append(w->out, "{", 1);
    const char *sep = "";
    for (void *it = json_object_iter((json_t *)v); it && !rc;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        json_t *m = json_object_iter_value(it);
        if (klen == 12 && !memcmp(key, "_placeholder", 12) && json_is_true(m)) w->literal = 1;
        rc = sio__buf_append_str(w->out, sep);
        if (!rc) rc = put_string(w->out, key, klen);
        if (!rc) rc = sio__buf_append(w->out, ":", 1);
        if (!rc) rc = put_value(w, m, depth + 1);
        sep = ",";
    }
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
        return put_string(w->out, json_string_value(v), json_string_length(v));
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
