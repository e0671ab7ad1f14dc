/*
 * libFuzzer target for the Socket.IO packet encoder, its JSON writer and binary
 * reassembly (src/sio/packet.c), from trees the decoder could never produce.
 *
 * The input is a little program that builds a jansson tree: arrays and objects at any depth,
 * binary nodes anywhere (as array elements and object members), strings of arbitrary code
 * points (controls, quotes, U+2028, astral, lone surrogates as WTF-8), keys that JavaScript
 * orders first (array indexes), integers and doubles of any bit pattern. The tree becomes the
 * arguments of an event or ack, which is encoded, decoded back through a stream decoder with
 * its attachments, and checked:
 * - encoding fails exactly when the tree breaks a documented rule (too deep, too many binary
 *   nodes, a "_placeholder": true object next to binary nodes), and leaves the buffer alone;
 * - the attachments are the binary nodes' bytes, in depth-first order;
 * - the decoded tree equals the original (numbers by value, as JavaScript sees them), so every
 *   double is written in a form that reads back exactly;
 * - encoding the decoded tree gives the same bytes, unless the tree holds integers beyond 2^53
 *   (written exactly, read back as the doubles JavaScript reads): then encoding is stable from
 *   the second round on;
 * - sio__sp_deep_copy gives an equal tree.
 */
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio.h"
#include "sio/packet.h"

#define MAX_BLOBS  32
#define MAX_OPEN   40
#define MAX_ATTACH 24
#define MAX_DEPTH  24

typedef struct {
    const uint8_t *p;
    size_t n;
} reader;

static int take(reader *r, size_t k, const uint8_t **out)
{
    if (r->n < k) return 0;
    *out = r->p;
    r->p += k, r->n -= k;
    return 1;
}

static unsigned byte(reader *r)
{
    const uint8_t *b;
    return take(r, 1, &b) ? b[0] : 0;
}

/* WTF-8 for code point c (surrogates too). */
static size_t put_utf8(char *o, uint32_t c)
{
    c %= 0x110000;
    if (c < 0x80) return o[0] = (char)c, 1;
    if (c < 0x800) return o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 63)), 2;
    if (c < 0x10000)
        return o[0] = (char)(0xE0 | c >> 12), o[1] = (char)(0x80 | (c >> 6 & 63)),
               o[2] = (char)(0x80 | (c & 63)), 3;
    return o[0] = (char)(0xF0 | c >> 18), o[1] = (char)(0x80 | (c >> 12 & 63)),
           o[2] = (char)(0x80 | (c >> 6 & 63)), o[3] = (char)(0x80 | (c & 63)), 4;
}

/* A string of up to 15 code points; each is one byte (mostly ASCII and controls) or, after a
 * 0xff byte, three bytes of code point, or after 0xfe, a surrogate. A low surrogate right
 * after a high one is moved out of the way: to JavaScript the two would be one character,
 * which the writer writes as such. no_nul maps NUL to 'x' (for keys). */
static size_t make_string(reader *r, char *s, int no_nul)
{
    size_t len = 0, k = byte(r) & 15;
    uint32_t last = 0;
    for (size_t i = 0; i < k; i++) {
        uint32_t c = byte(r);
        const uint8_t *b;
        if (c == 0xff)
            c = take(r, 3, &b) ? (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2] : 0x2028;
        else if (c == 0xfe)
            c = 0xd800 + byte(r) * 8 % 0x800;
        c %= 0x110000;
        if (last >= 0xd800 && last < 0xdc00 && c >= 0xdc00 && c < 0xe000) c -= 0x2000;
        if (no_nul && !c) c = 'x';
        len += put_utf8(s + len, c);
        last = c;
    }
    return len;
}

typedef struct {
    int unsafe;     /* an integer beyond 2^53 */
    size_t bins;    /* binary nodes */
    int literal;    /* an object member "_placeholder": true */
    size_t depth;   /* deepest level, a binary node counting as one */
    uint8_t *bytes; /* binary node contents in depth-first order */
    size_t nbytes;
    size_t blen[256];
} facts;

/* The value of key when it is an array index (JavaScript lists those first, ascending), else
 * -1. */
static long long array_index(const char *key, size_t len)
{
    if (!len || len > 10 || (key[0] == '0' && len > 1)) return -1;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (key[i] < '0' || key[i] > '9') return -1;
        v = v * 10 + (key[i] - '0');
    }
    return v <= 4294967294ll ? v : -1;
}

static void survey(const json_t *v, size_t depth, facts *f);

static void survey_member(void *it, size_t depth, facts *f)
{
    json_t *m = json_object_iter_value(it);
    if (json_object_iter_key_len(it) == 12 &&
        !memcmp(json_object_iter_key(it), "_placeholder", 12) && json_is_true(m))
        f->literal = 1;
    survey(m, depth + 1, f);
}

static void survey(const json_t *v, size_t depth, facts *f)
{
    if (sio__sp_is_binary(v)) {
        const void *d;
        size_t n;
        sio__sp_binary_get(v, &d, &n);
        if (depth + 1 > f->depth) f->depth = depth + 1;
        if (f->bins < 256) {
            f->bytes = realloc(f->bytes, f->nbytes + n + 1);
            if (!f->bytes) abort();
            memcpy(f->bytes + f->nbytes, d, n);
            f->nbytes += n;
            f->blen[f->bins] = n;
        }
        f->bins++;
    } else if (json_is_integer(v)) {
        json_int_t k = json_integer_value(v);
        if (k > 9007199254740992 || k < -9007199254740992) f->unsafe = 1;
    } else if (json_is_array(v) || json_is_object(v)) {
        if (depth + 1 > f->depth) f->depth = depth + 1;
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++)
                survey(json_array_get(v, i), depth + 1, f);
        } else {
            /* In the order the writer uses: array indexes ascending, then the others. */
            json_t *o = (json_t *)v;
            for (long long last = -1;;) {
                void *next = NULL;
                long long best = -1;
                for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
                    long long k =
                        array_index(json_object_iter_key(it), json_object_iter_key_len(it));
                    if (k > last && (best < 0 || k < best)) best = k, next = it;
                }
                if (!next) break;
                survey_member(next, depth, f);
                last = best;
            }
            for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
                if (array_index(json_object_iter_key(it), json_object_iter_key_len(it)) < 0)
                    survey_member(it, depth, f);
        }
    }
}

/* Build the tree. The stack of open containers holds a reference to each, since a later
 * member with the same key may replace one in its parent. */
static json_t *build(reader *r)
{
    json_t *stack[MAX_OPEN];
    char key[64];
    size_t klen = 0;
    int top = 0, explicit_key = 0;
    unsigned counter = 0;
    stack[0] = json_array();
    json_array_append_new(stack[0], json_string("e"));
    while (r->n) {
        unsigned op = byte(r);
        json_t *v = NULL;
        char s[64];
        const uint8_t *b;
        switch (op % 11) {
        case 0:
            v = json_array();
            break;
        case 1:
            v = json_object();
            break;
        case 2:
            if (top) json_decref(stack[top--]);
            continue;
        case 3: {
            size_t n = byte(r) % 40;
            if (!take(r, n, &b)) b = (const uint8_t *)"", n = 0;
            v = sio__sp_binary_new(b, n);
            break;
        }
        case 4:
            v = json_stringn_nocheck(s, make_string(r, s, 0));
            break;
        case 5: {
            int64_t k = 0;
            if (take(r, 8, &b)) memcpy(&k, b, 8);
            v = json_integer((json_int_t)k);
            break;
        }
        case 6: {
            double d = 0;
            if (take(r, 8, &b)) memcpy(&d, b, 8);
            v = json_real(isfinite(d) ? d : 0.5);
            break;
        }
        case 7:
            v = json_real((double)(int8_t)byte(r) / 4);
            break;
        case 8:
            v = op & 16 ? json_true() : json_false();
            break;
        case 9:
            v = json_null();
            break;
        default: /* the key of the next object member */
            klen = make_string(r, key, 1);
            if ((byte(r) & 7) == 7) klen = 12, memcpy(key, "_placeholder", 12);
            if ((byte(r) & 7) == 6) /* an array index, or a near miss ("01", "4294967295") */
                klen = (size_t)snprintf(key, sizeof key, byte(r) & 1 ? "0%u" : "%u",
                                        byte(r) & 2 ? 4294967290u + (byte(r) & 7) : byte(r));
            explicit_key = 1;
            continue;
        }
        if (!v) abort();
        json_t *parent = stack[top];
        if (json_is_array(parent)) {
            json_array_append(parent, v);
        } else {
            if (!explicit_key) klen = (size_t)snprintf(key, sizeof key, "k%u", counter++);
            json_object_setn_new_nocheck(parent, key, klen, json_incref(v));
            explicit_key = 0;
        }
        if ((json_is_array(v) || json_is_object(v)) && !sio__sp_is_binary(v) && top + 1 < MAX_OPEN)
            stack[++top] = json_incref(v);
        json_decref(v);
    }
    while (top) json_decref(stack[top--]);
    return stack[0];
}

/* Decode text t (with its n attachments) and encode it again: the same bytes. */
static void stable(const sio__sp_options *o, const sio__buf *t, const sio__sp_blob *b, int n)
{
    sio__sp_decoder d;
    sio__sp_packet q = {0};
    sio__buf t3 = SIO__BUF_INIT;
    sio__sp_blob b3[MAX_BLOBS];
    sio__sp_decoder_init(&d, o);
    char *text = malloc(t->len);
    if (!text) abort();
    memcpy(text, t->data, t->len);
    int rc = sio__sp_decoder_text(&d, text, t->len, &q);
    for (int i = 0; i < n && rc == 0; i++) rc = sio__sp_decoder_binary(&d, b[i].data, b[i].len, &q);
    if (rc != 1) abort();
    if (sio__sp_encode(o, &t3, &q, b3, MAX_BLOBS) != n) abort();
    if (t3.len != t->len || memcmp(t3.data, t->data, t->len)) abort();
    sio__sp_packet_clear(&q);
    sio__sp_decoder_free(&d);
    free(text);
    sio__buf_free(&t3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    unsigned head = byte(&r);
    sio__sp_options o = {
        .version = head & 1 ? 4 : 5, .max_attachments = MAX_ATTACH, .max_depth = MAX_DEPTH};
    int ack = head & 2;
    json_t *tree = build(&r);
    facts f = {0};
    survey(tree, 0, &f);

    int has_id = ack || (head & 4);
    sio__sp_packet p = {.type = ack ? SIO__SP_ACK : SIO__SP_EVENT,
                        .nsp = "/n",
                        .nsp_len = 2,
                        .has_id = (uint8_t)has_id,
                        .id = has_id ? head >> 3 : 0};
    p.data = tree;

    sio__buf t1 = SIO__BUF_INIT, t2 = SIO__BUF_INIT;
    sio__sp_blob b1[MAX_BLOBS], b2[MAX_BLOBS];
    sio__buf_append(&t1, "x", 1);
    int n1 = sio__sp_encode(&o, &t1, &p, b1, MAX_BLOBS);
    int want = f.depth > MAX_DEPTH   ? SIO_ETOOBIG
               : f.bins && f.literal ? SIO_EINVAL
               : f.bins > MAX_ATTACH ? SIO_ETOOBIG
                                     : (int)f.bins;
    if (n1 != want) abort();
    if (n1 < 0) {
        if (t1.len != 1) abort();
        goto done;
    }

    /* The attachments, in order. */
    size_t off = 0;
    for (int i = 0; i < n1; i++) {
        if (b1[i].len != f.blen[i] || memcmp(b1[i].data, f.bytes + off, b1[i].len)) abort();
        off += b1[i].len;
    }

    sio__sp_decoder d;
    sio__sp_packet q = {0};
    sio__sp_decoder_init(&d, &o);
    char *text = malloc(t1.len - 1);
    if (!text) abort();
    memcpy(text, t1.data + 1, t1.len - 1);
    int rc = sio__sp_decoder_text(&d, text, t1.len - 1, &q);
    if (rc != (n1 ? 0 : 1)) abort();
    for (int i = 0; i < n1; i++) {
        uint8_t *copy = malloc(b1[i].len ? b1[i].len : 1);
        if (!copy) abort();
        memcpy(copy, b1[i].data, b1[i].len);
        rc = sio__sp_decoder_binary(&d, copy, b1[i].len, &q);
        free(copy);
        if (rc != (i + 1 == n1 ? 1 : 0)) abort();
    }
    if (q.type != p.type || q.has_id != p.has_id || q.id != p.id) abort();
    if (q.nsp_len != 2 || memcmp(q.nsp, "/n", 2)) abort();
    if (!sio__sp_equal(q.data, tree)) abort();
    int n2 = sio__sp_encode(&o, &t2, &q, b2, MAX_BLOBS);
    if (n2 != n1) abort();
    if (!f.unsafe && (t2.len != t1.len - 1 || memcmp(t2.data, t1.data + 1, t2.len))) abort();
    for (int i = 0; i < n1; i++)
        if (b2[i].len != b1[i].len || memcmp(b2[i].data, b1[i].data, b1[i].len)) abort();
    if (f.unsafe) stable(&o, &t2, b2, n2);
    sio__sp_packet_clear(&q);
    sio__sp_decoder_free(&d);
    free(text); /* a plain packet's nsp points into it */

    json_t *copy = sio__sp_deep_copy(tree);
    if (!copy || !sio__sp_equal(copy, tree)) abort();
    json_decref(copy);

done:
    free(f.bytes);
    json_decref(tree);
    sio__buf_free(&t1);
    sio__buf_free(&t2);
    return 0;
}
