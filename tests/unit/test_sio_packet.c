/*
 * Tests for the Socket.IO packet codec (src/sio/packet.c).
 *
 * Text packets are decoded from a copy placed against a guard page, so reading one byte past
 * the input faults. Decoded packets are rendered as "<type> <nsp>?<query> #<id> +<attachments>
 * <JSON>" (parts left out when absent, binary nodes shown as "<hex>") so expectations read
 * like the wire. Vectors marked "spec" are the examples of the protocol documents, byte for
 * byte; those marked "node" were produced by socket.io-parser 4.2.7 (its Encoder, and
 * JSON.stringify in Node 20) from the same values, and the verdicts "node accepts" come from
 * its Decoder. Malformed input must fail with the documented code and leave nothing to free:
 * the tests run under ASan and LeakSanitizer, which also checks jansson's reference counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "locale.h"
#include "sio.h"
#include "sio/json.h"
#include "sio/packet.h"

/* A guarded copy of s[0..n) (guard.h), mapped for this input alone. */
static char *guarded(guard *g, const char *s, size_t n)
{
    guard_init(g, n);
    return (char *)guard_put(g, s, n);
}

/* ------------------------------------------------------------------------------------ */
/* Rendering                                                                            */
/* ------------------------------------------------------------------------------------ */

/* A deep copy of v with every binary node replaced by the string "<hex of its bytes>". */
static json_t *show_binaries(const json_t *v)
{
    if (sio__sp_is_binary(v)) {
        const void *d;
        size_t n;
        assert_int_equal(sio__sp_binary_get(v, &d, &n), 0);
        char s[1024] = "<";
        for (size_t i = 0; i < n && i < 500; i++) sprintf(s + 1 + 2 * i, "%02x", ((uint8_t *)d)[i]);
        strcat(s, ">");
        return json_string(s);
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(a, show_binaries(json_array_get(v, i)));
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it))
            json_object_setn_new_nocheck(o, json_object_iter_key(it), json_object_iter_key_len(it),
                                         show_binaries(json_object_iter_value(it)));
        return o;
    }
    return json_incref((json_t *)v);
}

/* JSON.stringify of v, binary nodes shown as strings; a static buffer. */
static const char *json_text(const json_t *v)
{
    static char s[8192];
    sio__buf b = SIO__BUF_INIT;
    json_t *shown = show_binaries(v);
    assert_int_equal(sio__sp_stringify(&b, shown, 0), 0);
    json_decref(shown);
    assert_true(b.len < sizeof s);
    memcpy(s, b.data, b.len);
    s[b.len] = 0;
    sio__buf_free(&b);
    return s;
}

static const char *render(const sio__sp_packet *p)
{
    static char s[8192];
    int k = snprintf(s, sizeof s, "%u", p->type);
    if (p->nsp_len != 1 || p->nsp[0] != '/' || p->query)
        k += snprintf(s + k, sizeof s - (size_t)k, " %.*s", (int)p->nsp_len, p->nsp);
    if (p->query) k += snprintf(s + k, sizeof s - (size_t)k, "?%.*s", (int)p->query_len, p->query);
    if (p->has_id) k += snprintf(s + k, sizeof s - (size_t)k, " #%llu", (unsigned long long)p->id);
    if (p->attachments) k += snprintf(s + k, sizeof s - (size_t)k, " +%zu", p->attachments);
    if (p->data) snprintf(s + k, sizeof s - (size_t)k, " %s", json_text(p->data));
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* Decoding helpers                                                                     */
/* ------------------------------------------------------------------------------------ */

static sio__sp_options v5 = {.version = 5};
static sio__sp_options v4 = {.version = 4};

/* sio__sp_decode on a guarded copy of text; the packet's spans are not used afterwards. */
static int decode_rc(const sio__sp_options *o, const char *text, size_t n, const char **why)
{
    guard g;
    sio__sp_packet p;
    int rc = sio__sp_decode(o, guarded(&g, text, n), n, &p, why);
    if (rc) {
        assert_null(p.data);
    }
    sio__sp_packet_clear(&p);
    guard_free(&g);
    return rc;
}

/* Decode must succeed and render as want (when want is not NULL). */
static void expect_ok(const sio__sp_options *o, const char *text, const char *want)
{
    guard g;
    sio__sp_packet p;
    size_t n = strlen(text);
    const char *why = NULL;
    int rc = sio__sp_decode(o, guarded(&g, text, n), n, &p, &why);
    if (rc) fail_msg("v%d %s: rc %d (%s)", o ? o->version : 5, text, rc, why);
    const char *got = render(&p);
    if (want && strcmp(got, want))
        fail_msg("v%d %s: got [%s], want [%s]", o->version, text, got, want);
    sio__sp_packet_clear(&p);
    guard_free(&g);
}

/* Decode must fail with rc and the reason (when want_why is not NULL). */
static void expect_bad_n(const sio__sp_options *o, const char *text, size_t n, int want_rc,
                         const char *want_why)
{
    const char *why = NULL;
    int rc = decode_rc(o, text, n, &why);
    if (rc != want_rc)
        fail_msg("v%d [%.*s]: rc %d (%s), want %d", o->version, (int)n, text, rc, why ? why : "-",
                 want_rc);
    assert_non_null(why);
    if (want_why && strcmp(why, want_why))
        fail_msg("v%d [%s]: reason '%s', want '%s'", o->version, text, why, want_why);
}

static void expect_bad(const sio__sp_options *o, const char *text, int want_rc,
                       const char *want_why)
{
    expect_bad_n(o, text, strlen(text), want_rc, want_why);
}

/* ------------------------------------------------------------------------------------ */
/* Encoding helpers                                                                     */
/* ------------------------------------------------------------------------------------ */

#define MAX_BLOBS 16

typedef struct {
    char text[8192];
    sio__sp_blob blobs[MAX_BLOBS];
    int n; /* attachments, or the error */
} encoded;

static encoded *encode(const sio__sp_options *o, const sio__sp_packet *p)
{
    static encoded e;
    sio__buf b = SIO__BUF_INIT;
    memset(&e, 0, sizeof e);
    e.n = sio__sp_encode(o, &b, p, e.blobs, MAX_BLOBS);
    if (e.n < 0) assert_int_equal(b.len, 0);
    assert_true(b.len < sizeof e.text);
    if (b.len) memcpy(e.text, b.data, b.len);
    sio__buf_free(&b);
    return &e;
}

/* The attachments of e as "<hex>|<hex>". */
static const char *blobs_hex(const encoded *e)
{
    static char s[4096];
    size_t k = 0;
    s[0] = 0;
    for (int i = 0; i < e->n; i++) {
        if (i) k += (size_t)sprintf(s + k, "|");
        k += (size_t)sprintf(s + k, "<");
        for (size_t j = 0; j < e->blobs[i].len; j++)
            k += (size_t)sprintf(s + k, "%02x", e->blobs[i].data[j]);
        k += (size_t)sprintf(s + k, ">");
    }
    return s;
}

/* A packet to encode. */
static sio__sp_packet pkt(int type, const char *nsp, int has_id, uint64_t id, json_t *data)
{
    return (sio__sp_packet){.type = (uint8_t)type,
                            .nsp = nsp,
                            .nsp_len = nsp ? strlen(nsp) : 0,
                            .has_id = (uint8_t)has_id,
                            .id = id,
                            .data = data};
}

/* Encode p (taking over its data) and compare text and attachments. */
static void expect_encode(const sio__sp_options *o, sio__sp_packet p, const char *want_text,
                          const char *want_blobs)
{
    encoded *e = encode(o, &p);
    if (e->n < 0) fail_msg("encode %s: rc %d", want_text, e->n);
    if (strcmp(e->text, want_text)) fail_msg("encode: got [%s], want [%s]", e->text, want_text);
    assert_string_equal(blobs_hex(e), want_blobs);
    json_decref(p.data);
}

static void expect_encode_rc(const sio__sp_options *o, sio__sp_packet p, int want_rc)
{
    encoded *e = encode(o, &p);
    if (e->n != want_rc) fail_msg("encode: rc %d, want %d ([%s])", e->n, want_rc, e->text);
    json_decref(p.data);
}

static json_t *bin(const char *bytes, size_t n)
{
    json_t *b = sio__sp_binary_new(bytes, n);
    assert_non_null(b);
    return b;
}

#define BIN(lit) bin(lit, sizeof(lit) - 1)

static json_t *parse(const char *json)
{
    json_error_t err;
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!v) fail_msg("test JSON %s: %s", json, err.text);
    return v;
}

/* ------------------------------------------------------------------------------------ */
/* Stream decoding helpers                                                              */
/* ------------------------------------------------------------------------------------ */

/* Feed text, then each attachment; the last call must complete the packet, which is
 * rendered. The text's guard page is unmapped before the attachments are fed, so the
 * completed packet's namespace must not point into it. */
static void expect_stream(const sio__sp_options *o, const char *text, const sio__sp_blob *att,
                          size_t natt, const char *want)
{
    sio__sp_decoder d;
    sio__sp_packet p = {0};
    guard g;
    size_t n = strlen(text);
    sio__sp_decoder_init(&d, o);
    int rc = sio__sp_decoder_text(&d, guarded(&g, text, n), n, &p);
    guard_free(&g);
    if (rc != (natt ? 0 : 1)) fail_msg("%s: text rc %d (%s)", text, rc, d.reason);
    for (size_t i = 0; i < natt; i++) {
        assert_int_equal(sio__sp_decoder_awaited(&d), natt - i);
        rc = sio__sp_decoder_binary(&d, att[i].data, att[i].len, &p);
        assert_int_equal(rc, i + 1 == natt ? 1 : 0);
    }
    assert_int_equal(sio__sp_decoder_awaited(&d), 0);
    const char *got = render(&p);
    if (strcmp(got, want)) fail_msg("%s: got [%s], want [%s]", text, got, want);
    sio__sp_packet_clear(&p);
    sio__sp_decoder_free(&d);
}

#define ATT(lit)                                                                                   \
    {                                                                                              \
        (const uint8_t *)(lit), sizeof(lit) - 1                                                    \
    }

/* Decode text (plus attachments) with a decoder, encode the result, and expect the same
 * text and attachments back: the encoding is canonical. */
static void expect_roundtrip(const sio__sp_options *o, const char *text, const sio__sp_blob *att,
                             size_t natt)
{
    sio__sp_decoder d;
    sio__sp_packet p = {0};
    sio__sp_decoder_init(&d, o);
    int rc = sio__sp_decoder_text(&d, text, strlen(text), &p);
    for (size_t i = 0; i < natt && rc == 0; i++)
        rc = sio__sp_decoder_binary(&d, att[i].data, att[i].len, &p);
    if (rc != 1) fail_msg("%s: rc %d (%s)", text, rc, d.reason);
    encoded *e = encode(o, &p);
    assert_int_equal(e->n, (int)natt);
    if (strcmp(e->text, text)) fail_msg("round trip: got [%s], want [%s]", e->text, text);
    for (size_t i = 0; i < natt; i++) {
        assert_int_equal(e->blobs[i].len, att[i].len);
        assert_memory_equal(e->blobs[i].data, att[i].data, att[i].len);
    }
    sio__sp_packet_clear(&p);
    sio__sp_decoder_free(&d);
}

/* ------------------------------------------------------------------------------------ */
/* The specifications' examples                                                         */
/* ------------------------------------------------------------------------------------ */

/* spec v5 "Packet encoding / Examples" and the sample session, decoded and re-encoded. */
static void test_v5_spec_examples(void **state)
{
    expect_ok(&v5, "0", "0");
    expect_ok(&v5, "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}",
              "0 /admin {\"sid\":\"oSO0OpakMV_3jnilAAAA\"}");
    expect_ok(&v5, "4{\"message\":\"Not authorized\"}", "4 {\"message\":\"Not authorized\"}");
    expect_ok(&v5, "2[\"foo\"]", "2 [\"foo\"]");
    expect_ok(&v5, "2/admin,[\"bar\"]", "2 /admin [\"bar\"]");
    expect_ok(&v5, "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]",
              "5 +1 [\"baz\",{\"_placeholder\":true,\"num\":0}]");
    expect_ok(&v5, "212[\"foo\"]", "2 #12 [\"foo\"]");
    expect_ok(&v5, "3/admin,13[\"bar\"]", "3 /admin #13 [\"bar\"]");
    expect_ok(&v5, "1", "1");
    expect_ok(&v5, "1/admin,", "1 /admin");
    expect_ok(&v5, "0/admin,", "0 /admin");
    expect_ok(&v5, "0{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}", "0 {\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}");
    expect_ok(&v5, "2/admin,1[\"tellme\"]", "2 /admin #1 [\"tellme\"]");

    static const sio__sp_blob b1234[] = {ATT("\x01\x02\x03\x04")};
    static const sio__sp_blob b12_34[] = {ATT("\x01\x02"), ATT("\x03\x04")};
    expect_stream(&v5, "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", b1234, 1,
                  "2 +1 [\"baz\",\"<01020304>\"]");
    expect_stream(&v5,
                  "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},"
                  "{\"_placeholder\":true,\"num\":1}]",
                  b12_34, 2, "2 /admin +2 [\"baz\",\"<0102>\",\"<0304>\"]");
    expect_stream(&v5, "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", b1234, 1,
                  "3 #15 +1 [\"bar\",\"<01020304>\"]");
    /* The sample session's "461-/admin,1[...]", without the Engine.IO type. */
    expect_stream(&v5, "61-/admin,1[{\"_placeholder\":true,\"num\":0}]", b1234, 1,
                  "3 /admin #1 +1 [\"<01020304>\"]");

    /* Every example encodes back to itself. */
    const char *plain[] = {
        "0",
        "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}",
        "4{\"message\":\"Not authorized\"}",
        "2[\"foo\"]",
        "2/admin,[\"bar\"]",
        "212[\"foo\"]",
        "3/admin,13[\"bar\"]",
        "1",
        "1/admin,",
        "0/admin,",
        "0/admin,{\"sid\":\"-G5j-67EZFp-q59rADQM\"}",
        "2/admin,1[\"tellme\"]",
    };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        expect_roundtrip(&v5, plain[i], NULL, 0);
    expect_roundtrip(&v5, "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", b1234, 1);
    expect_roundtrip(
        &v5,
        "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
        b12_34, 2);
    expect_roundtrip(&v5, "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", b1234, 1);
    expect_roundtrip(&v5, "61-/admin,1[{\"_placeholder\":true,\"num\":0}]", b1234, 1);
}

/* spec v4 "Packet encoding / Examples" and its sample session. */
static void test_v4_spec_examples(void **state)
{
    expect_ok(&v4, "0", "0");
    expect_ok(&v4, "0/admin,", "0 /admin");
    expect_ok(&v4, "1/admin,", "1 /admin");
    expect_ok(&v4, "2[\"hello\",1]", "2 [\"hello\",1]");
    expect_ok(&v4, "2/admin,456[\"project:delete\",123]", "2 /admin #456 [\"project:delete\",123]");
    expect_ok(&v4, "3/admin,456[]", "3 /admin #456 []");
    expect_ok(&v4, "4/admin,\"Not authorized\"", "4 /admin \"Not authorized\"");
    expect_ok(&v4, "51-[\"hello\",{\"_placeholder\":true,\"num\":0}]",
              "5 +1 [\"hello\",{\"_placeholder\":true,\"num\":0}]");

    static const sio__sp_blob b123[] = {ATT("\x01\x02\x03")}, b321[] = {ATT("\x03\x02\x01")};
    expect_stream(&v4, "51-[\"hello\",{\"_placeholder\":true,\"num\":0}]", b123, 1,
                  "2 +1 [\"hello\",\"<010203>\"]");
    expect_stream(&v4, "51-/admin,456[\"project:delete\",{\"_placeholder\":true,\"num\":0}]", b123,
                  1, "2 /admin #456 +1 [\"project:delete\",\"<010203>\"]");
    expect_stream(&v4, "61-/admin,456[{\"_placeholder\":true,\"num\":0}]", b321, 1,
                  "3 /admin #456 +1 [\"<030201>\"]");

    const char *plain[] = {
        "0",
        "0/admin,",
        "1/admin,",
        "2[\"hello\",1]",
        "2/admin,456[\"project:delete\",123]",
        "3/admin,456[]",
        "4/admin,\"Not authorized\"",
        "2[\"hey\",\"Jude\"]",
        "2/admin,1[\"tellme\"]",
    };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        expect_roundtrip(&v4, plain[i], NULL, 0);
    expect_roundtrip(&v4, "51-[\"hello\",{\"_placeholder\":true,\"num\":0}]", b123, 1);
    expect_roundtrip(&v4, "51-/admin,456[\"project:delete\",{\"_placeholder\":true,\"num\":0}]",
                     b123, 1);
    expect_roundtrip(&v4, "61-/admin,456[{\"_placeholder\":true,\"num\":0}]", b321, 1);
}

/* node: socket.io-parser's Encoder on the same packets (Buffers where the trees have binary
 * nodes). */
static void test_node_encoder_vectors(void **state)
{
    expect_encode(&v5, pkt(0, "/", 0, 0, NULL), "0", "");
    expect_encode(&v5, pkt(0, NULL, 0, 0, NULL), "0", "");
    expect_encode(&v5, pkt(0, "/admin", 0, 0, json_pack("{ss}", "sid", "oSO0OpakMV_3jnilAAAA")),
                  "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}", "");
    expect_encode(&v5, pkt(4, "/", 0, 0, json_pack("{ss}", "message", "Not authorized")),
                  "4{\"message\":\"Not authorized\"}", "");
    expect_encode(&v5, pkt(2, "/", 0, 0, json_pack("[s]", "foo")), "2[\"foo\"]", "");
    expect_encode(&v5, pkt(2, "/admin", 0, 0, json_pack("[s]", "bar")), "2/admin,[\"bar\"]", "");
    expect_encode(&v5, pkt(2, "/", 0, 0, json_pack("[so]", "baz", BIN("\x01\x02\x03\x04"))),
                  "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", "<01020304>");
    expect_encode(
        &v5, pkt(2, "/admin", 0, 0, json_pack("[soo]", "baz", BIN("\x01\x02"), BIN("\x03\x04"))),
        "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},"
        "{\"_placeholder\":true,\"num\":1}]",
        "<0102>|<0304>");
    expect_encode(&v5, pkt(2, "/", 1, 12, json_pack("[s]", "foo")), "212[\"foo\"]", "");
    expect_encode(&v5, pkt(3, "/admin", 1, 13, json_pack("[s]", "bar")), "3/admin,13[\"bar\"]", "");
    expect_encode(&v5, pkt(3, "/", 1, 15, json_pack("[so]", "bar", BIN("\x01\x02\x03\x04"))),
                  "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", "<01020304>");
    expect_encode(&v5, pkt(1, "/", 0, 0, NULL), "1", "");
    expect_encode(&v5, pkt(1, "/admin", 0, 0, NULL), "1/admin,", "");
    /* Nested: objects in arrays in objects, numbered depth first. */
    expect_encode(
        &v5,
        pkt(2, "/", 1, 7,
            json_pack("[s{s[o{so}]so}[[o]]]", "nested", "a", BIN("\x01"), "b", BIN("\x02"), "c",
                      BIN("\x03"), BIN("\x04"))),
        "54-7[\"nested\",{\"a\":[{\"_placeholder\":true,\"num\":0},{\"b\":{\"_placeholder\":"
        "true,\"num\":1}}],\"c\":{\"_placeholder\":true,\"num\":2}},[[{\"_placeholder\":"
        "true,\"num\":3}]]]",
        "<01>|<02>|<03>|<04>");
    /* Every kind of value, as JSON.stringify writes it. */
    json_t *all = parse("[\"e\",{},[],[[]],{\"a\":{}},\"\",null,true,false,0,-1,1.5]");
    json_array_append_new(all, json_real(1e21));
    json_array_append_new(all, json_real(1e-7));
    json_array_append_new(all, json_string("\xe2\x80\xa8\xe2\x80\xa9"));
    json_array_append_new(all, json_string("\xc3\xa9\xf0\x9f\x98\x80"));
    json_array_append_new(all, json_stringn("\x00\x1f\x7f", 3));
    expect_encode(
        &v5, pkt(2, "/", 0, 0, all),
        "2[\"e\",{},[],[[]],{\"a\":{}},\"\",null,true,false,0,-1,1.5,1e+21,1e-7,"
        "\"\xe2\x80\xa8\xe2\x80\xa9\",\"\xc3\xa9\xf0\x9f\x98\x80\",\"\\u0000\\u001f\x7f\"]",
        "");
}

/* ------------------------------------------------------------------------------------ */
/* Every packet type, both protocol revisions                                           */
/* ------------------------------------------------------------------------------------ */

static void test_every_type(void **state)
{
    const sio__sp_options *both[] = {&v5, &v4};
    for (int i = 0; i < 2; i++) {
        const sio__sp_options *o = both[i];
        /* CONNECT: no payload, or an object. */
        expect_ok(o, "0", "0");
        expect_ok(o, "0/chat,", "0 /chat");
        expect_ok(o, "0/chat", "0 /chat"); /* node accepts the namespace without ',' */
        expect_ok(o, "0{}", "0 {}");
        expect_ok(o, "0/chat,{\"token\":\"123\"}", "0 /chat {\"token\":\"123\"}");
        /* DISCONNECT: never a payload. */
        expect_ok(o, "1", "1");
        expect_ok(o, "1/chat,", "1 /chat");
        /* EVENT */
        expect_ok(o, "2[\"a\"]", "2 [\"a\"]");
        expect_ok(o, "2[1,2]", "2 [1,2]");
        expect_ok(o, "2/chat,99[\"a\",{\"b\":[null]}]", "2 /chat #99 [\"a\",{\"b\":[null]}]");
        /* ACK */
        expect_ok(o, "30[]", "3 #0 []");
        expect_ok(o, "3/chat,5[\"x\",1]", "3 /chat #5 [\"x\",1]");
        /* CONNECT_ERROR / ERROR: a string or an object. */
        expect_ok(o, "4\"nope\"", "4 \"nope\"");
        expect_ok(o, "4/chat,{\"message\":\"nope\",\"data\":{\"code\":1}}",
                  "4 /chat {\"message\":\"nope\",\"data\":{\"code\":1}}");
        expect_ok(o, "4", "4");
        /* BINARY_EVENT and BINARY_ACK, as the text packet reports them. */
        expect_ok(o, "51-[\"a\",{\"_placeholder\":true,\"num\":0}]",
                  "5 +1 [\"a\",{\"_placeholder\":true,\"num\":0}]");
        expect_ok(
            o, "62-/chat,3[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]",
            "6 /chat #3 +2 [{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]");
        /* Ids are allowed on every type, as node does (the session ignores them). */
        expect_ok(o, "01", "0 #1");
        expect_ok(o, "1/chat,1", "1 /chat #1");
        /* node: every type may come without payload; isPayloadValid only judges one that is
         * there (the specifications say an EVENT's payload MUST be there). */
        expect_ok(o, "2", "2");
        expect_ok(o, "3", "3");
        expect_ok(o, "31", "3 #1");
        expect_ok(o, "27", "2 #7");
        expect_ok(o, "2/a,", "2 /a");
        expect_ok(o, "2/a,7", "2 /a #7");
        expect_ok(o, "51-", "5 +1");
        expect_ok(o, "61-1", "6 #1 +1");
        expect_ok(o, "51-/x,3", "5 /x #3 +1");
        const char *bare[] = {"2", "3", "31", "2/a,7", "3/a,"};
        for (size_t k = 0; k < sizeof bare / sizeof *bare; k++)
            expect_roundtrip(o, bare[k], NULL, 0);
    }
}

/* Protocol v4 namespaces carry the connect query; v5 takes '?' literally. */
static void test_v4_query(void **state)
{
    expect_ok(&v4, "0/admin?token=1234&uid=abcd,", "0 /admin?token=1234&uid=abcd");
    expect_ok(&v4, "0/admin?token=abc", "0 /admin?token=abc");
    expect_ok(&v4, "0/?x=1,", "0 /?x=1");
    expect_ok(&v4, "0/admin?,", "0 /admin?");
    expect_ok(&v4, "2/admin?a=b,3[\"x\"]", "2 /admin?a=b #3 [\"x\"]");
    expect_ok(&v4, "0/admin#frag,", "0 /admin");
    expect_ok(&v4, "0/admin?a=1#frag,", "0 /admin?a=1");
    expect_ok(&v4, "0/admin#f?a=1,", "0 /admin");
    expect_ok(&v5, "0/admin?token=1,", "0 /admin?token=1");
    {
        guard g;
        sio__sp_packet p;
        const char *t = "0/admin?token=1,";
        assert_int_equal(sio__sp_decode(&v5, guarded(&g, t, strlen(t)), strlen(t), &p, NULL), 0);
        assert_null(p.query);
        assert_int_equal(p.nsp_len, 14);
        guard_free(&g);
    }
    expect_roundtrip(&v4, "0/admin?token=1234&uid=abcd,", NULL, 0);
    expect_roundtrip(&v4, "0/?x=1,", NULL, 0);
    expect_roundtrip(&v4, "0/admin?,", NULL, 0);

    /* The query survives in a pending binary packet. */
    static const sio__sp_blob b1[] = {ATT("\x01")};
    expect_stream(&v4, "51-/a?b=c,[\"x\",{\"_placeholder\":true,\"num\":0}]", b1, 1,
                  "2 /a?b=c +1 [\"x\",\"<01>\"]");

    sio__sp_packet p = pkt(0, "/admin", 0, 0, NULL);
    p.query = "token=1";
    p.query_len = 7;
    expect_encode(&v4, p, "0/admin?token=1,", "");
    expect_encode_rc(&v5, p, SIO_EINVAL); /* no queries in v5 */
    p.query = "a,b";
    p.query_len = 3;
    expect_encode_rc(&v4, p, SIO_EINVAL);
    p.query = "a#b";
    expect_encode_rc(&v4, p, SIO_EINVAL);
    p.query = "";
    p.query_len = 0;
    p.nsp = "/";
    p.nsp_len = 1;
    expect_encode(&v4, p, "0/?,", "");
    expect_encode_rc(&v4, pkt(0, "/a?b", 0, 0, NULL), SIO_EINVAL);
    expect_encode_rc(&v4, pkt(0, "/a#b", 0, 0, NULL), SIO_EINVAL);
    expect_encode(&v5, pkt(0, "/a?b", 0, 0, NULL), "0/a?b,", "");
}

/* ------------------------------------------------------------------------------------ */
/* Malformed packets                                                                    */
/* ------------------------------------------------------------------------------------ */

static void test_bad_type(void **state)
{
    const char *bad[] = {"7", "8[\"a\"]", "9", "a", "-1", "/", "[\"a\"]", "{}", "\"x\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_bad(&v5, bad[i], SIO_EPROTO, "unknown packet type");
    /* node reads Number(""), Number(" ") as 0: CONNECT. */
    expect_bad(&v5, "", SIO_EPROTO, "unknown packet type");
    expect_bad(&v5, " ", SIO_EPROTO, "unknown packet type");
    expect_bad(&v5, "\t0", SIO_EPROTO, "unknown packet type");
    expect_bad_n(&v5, "\0002[\"a\"]", 7, SIO_EPROTO, "unknown packet type");
    expect_bad(&v4, "", SIO_EPROTO, "unknown packet type");
    expect_bad(&v4, "7", SIO_EPROTO, "unknown packet type");
}

static void test_bad_attachments(void **state)
{
    /* node: "Illegal attachments" */
    expect_bad(&v5, "5", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "5-", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "5-[\"a\"]", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "51[\"a\"]", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "51", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "50-[\"a\"]", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "6a-[]", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "5/a,1-[\"a\"]", SIO_EPROTO, "Illegal attachments");
    /* node accepts these through Number(): stricter here. */
    expect_bad(&v5, "5 1-[\"a\"]", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "51.0-[\"a\"]", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "5+1-[\"a\"]", SIO_EPROTO, "Illegal attachments");
    expect_bad(&v5, "50x1-[\"a\"]", SIO_EPROTO, "Illegal attachments");
    /* Over the bound: "too many attachments", also when the count overflows. */
    expect_bad(&v5, "511-[\"a\"]", SIO_ETOOBIG, "too many attachments");
    expect_bad(&v5, "599999999999999999999999999999-[\"a\"]", SIO_ETOOBIG, "too many attachments");
    expect_bad(&v4, "611-[]", SIO_ETOOBIG, "too many attachments");
    expect_ok(&v5, "510-[\"a\"]", "5 +10 [\"a\"]");
    expect_ok(&v5, "601-[]", "6 +1 []"); /* leading zeros are digits */
    sio__sp_options two = {.max_attachments = 2};
    expect_ok(&two, "52-[\"a\"]", "5 +2 [\"a\"]");
    expect_bad(&two, "53-[\"a\"]", SIO_ETOOBIG, "too many attachments");
    sio__sp_options huge = {.max_attachments = SIZE_MAX};
    expect_ok(&huge, "5123456789-[\"a\"]", "5 +123456789 [\"a\"]");
    expect_bad(&huge, "5999999999999999999999999999999-[\"a\"]", SIO_ETOOBIG,
               "too many attachments");
}

static void test_bad_namespace_and_id(void **state)
{
    /* The namespace runs to the first ',' or the end: whatever is in it is its name. */
    expect_ok(&v5, "0/a b\"c,", "0 /a b\"c");
    expect_ok(&v5, "0/,", "0");
    expect_ok(&v5, "2/,[\"a\"]", "2 [\"a\"]");
    expect_ok(&v5, "0//,", "0 //");
    /* Without ',' the JSON is part of the name, and the event has no payload (node). */
    expect_ok(&v5, "2/admin[\"a\"]", "2 /admin[\"a\"]");
    /* A namespace must start with '/'; anything else is taken for the payload. */
    expect_bad(&v5, "2admin,[\"a\"]", SIO_EPROTO, "invalid payload");
    expect_bad(&v5, "2,[\"a\"]", SIO_EPROTO, "invalid payload");

    /* Ids: decimal digits, leading zeros allowed, at most 2^53 - 1. */
    expect_ok(&v5, "20[\"a\"]", "2 #0 [\"a\"]");
    expect_ok(&v5, "2007[\"a\"]", "2 #7 [\"a\"]");
    expect_ok(&v5, "29007199254740991[\"a\"]", "2 #9007199254740991 [\"a\"]");
    expect_ok(&v5, "2000000000000000000000000000009007199254740991[\"a\"]",
              "2 #9007199254740991 [\"a\"]");
    expect_bad(&v5, "29007199254740992[\"a\"]", SIO_EPROTO, "invalid ack id");
    expect_bad(&v5, "299999999999999999999[\"a\"]", SIO_EPROTO, "invalid ack id");
    expect_bad(&v5, "218446744073709551616[\"a\"]", SIO_EPROTO, "invalid ack id");
    /* Something other than a digit after the id is the payload. */
    expect_bad(&v5, "21a[\"a\"]", SIO_EPROTO, "invalid payload");
    expect_bad(&v5, "2-1[\"a\"]", SIO_EPROTO, "invalid payload");
}

/* node: socket.io-parser's decodeString, rendered, or NULL where it throws. Its id loop takes
 * every character c with Number(c) == c: the digits and JavaScript's white space. */
static const struct {
    const char *text, *node;
} id_vectors[] = {
    {"2 [\"a\"]", "2 #0 [\"a\"]"},
    {"21 [\"a\"]", "2 #1 [\"a\"]"},
    {"2\t[\"a\"]", "2 #0 [\"a\"]"},
    {"2\r\n[\"a\"]", "2 #0 [\"a\"]"},
    {"2/a,\n[\"a\"]", "2 /a #0 [\"a\"]"},
    {"0/admin, ", "0 /admin #0"},
    {"2 ", "2 #0"},
    {"2  7 [\"a\"]", "2 #7 [\"a\"]"},
    {"2\302\240[\"a\"]", "2 #0 [\"a\"]"},
    {"2\357\273\2773[\"a\"]", "2 #3 [\"a\"]"},
    {"2\342\200\2503\343\200\200[\"a\"]", "2 #3 [\"a\"]"},
    {"2\342\200\251\341\232\200\342\200\200\342\200\212\342\200\257\342\201\237[\"a\"]",
     "2 #0 [\"a\"]"},
    {"2\013\0141[\"a\"]", "2 #1 [\"a\"]"},
    {"3 []", "3 #0 []"},
    {"0 {}", "0 #0 {}"},
    {"1 ", "1 #0"},
    {"4 \"x\"", "4 #0 \"x\""},
    {"2/x, 5 ", "2 /x #5"},
    {"2[\"a\"] ", "2 [\"a\"]"},
    {"2[\"a\"]\n", "2 [\"a\"]"},
    {"2[\"a\"]\t\r\n ", "2 [\"a\"]"},
    {"2 [\"a\"] ", "2 #0 [\"a\"]"},
    {"29007199254740991 [\"a\"]", "2 #9007199254740991 [\"a\"]"},
    {"2\341\240\216[\"a\"]", NULL},
    {"2\342\200\213[\"a\"]", NULL},
    {"2\302\205[\"a\"]", NULL},
    {"2\342\200\207x[\"a\"]", NULL},
    {"2[\"a\"]\302\240", NULL},
    {"2[\"a\"]\013", NULL},
    {"1 {}", NULL},
};

static void test_ack_id_white_space(void **state)
{
    for (size_t i = 0; i < sizeof id_vectors / sizeof *id_vectors; i++) {
        if (id_vectors[i].node)
            expect_ok(&v5, id_vectors[i].text, id_vectors[i].node);
        else
            expect_bad(&v5, id_vectors[i].text, SIO_EPROTO, "invalid payload");
    }
    /* Stricter: node reads "1 2" as the id NaN (and answers "3NaN[...]"), and ids past 2^53 as
     * inexact numbers. */
    expect_bad(&v5, "2 1 2[\"a\"]", SIO_EPROTO, "invalid ack id");
    expect_bad(&v5, "21\302\2402", SIO_EPROTO, "invalid ack id");
    expect_bad(&v5, "2 9007199254740992[\"a\"]", SIO_EPROTO, "invalid ack id");
    /* A character cut short at the end is not white space. */
    expect_bad_n(&v5, "2\xe2\x80", 3, SIO_EPROTO, "invalid payload");
    expect_bad_n(&v5, "2\xc2", 2, SIO_EPROTO, "invalid payload");
    expect_roundtrip(&v5, "20[\"a\"]", NULL, 0);
}

static void test_bad_json(void **state)
{
    const char *bad[] = {
        "2[",
        "2[\"a\"]x",
        "2[\"a\"],",
        "2[\"a\"][\"b\"]",
        "2[\"a\",]",
        "2['a']",
        "2[\"a\" 1]",
        "2[01]",
        "2[1.]",
        "2[.5]",
        "2[+1]",
        "2[NaN]",
        "2[Infinity]",
        "2[\"\x01\"]",
        "2[\"a\\x\"]",
        "2[\"\\u12\"]",
        "2[\"a\"]\x1e",
        "0{\"a\":1,}",
        "0{a:1}",
        "4'x'",
        "2[undefined]",
        "2[\"a\"]//",
        "2[1e]",
        "2[-]",
        "0{\"a\":1 \"b\":2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_bad(&v5, bad[i], SIO_EPROTO, "invalid payload");
    /* Invalid UTF-8 inside the JSON (the Engine.IO layer would have refused it first). */
    expect_bad(&v5, "2[\"\xff\"]", SIO_EPROTO, "invalid payload");
    expect_bad(&v5, "2[\"\xc0\xaf\"]", SIO_EPROTO, "invalid payload");
    expect_bad(&v5, "2[\"\xed\xa0\x80\"]", SIO_EPROTO, "invalid payload"); /* raw surrogate */
    expect_bad(&v5, "2[\"\\n\xf4\x90\x80\x80\"]", SIO_EPROTO, "invalid payload");
    /* A raw NUL is not JSON; an escaped one is fine in a value. */
    expect_bad_n(&v5, "2[\"a\0\"]", 7, SIO_EPROTO, "invalid payload");
    expect_bad_n(&v5, "2[\"a\"]\0", 7, SIO_EPROTO, "invalid payload");
    expect_ok(&v5, "2[\"a\\u0000b\",\"\\u0000\"]", "2 [\"a\\u0000b\",\"\\u0000\"]");
    /* Trailing whitespace is JSON's. */
    expect_ok(&v5, "2[\"a\"] \n", "2 [\"a\"]");
    expect_ok(&v5, "2[ \"a\" , 1 ]", "2 [\"a\",1]");
    /* Surrogate pairs written as escapes are one character; a lone one is kept (node). */
    expect_ok(&v5, "2[\"\\ud83d\\ude00\"]", "2 [\"\xf0\x9f\x98\x80\"]");
    expect_ok(&v5, "2[\"\\ud800\",\"\\udc00\"]", "2 [\"\\ud800\",\"\\udc00\"]");
    expect_ok(&v5, "0{\"a\\u0000\":1}", "0 {\"a\\u0000\":1}");
    expect_ok(&v5, "2[\"a\",1e400,-1e400]", "2 [\"a\",null,null]");
    /* An infinite number as the event name is a number for isPayloadValid: the event is
     * named by String(Infinity), what the listeners are keyed by. */
    expect_ok(&v5, "2[1e400,-1e400]", "2 [\"Infinity\",null]");
    expect_ok(&v5, "2 [ \n-1e999]", "2 #0 [\"-Infinity\"]");
    expect_ok(&v5, "51-[1e400,{\"_placeholder\":true,\"num\":0}]",
              "5 +1 [\"Infinity\",{\"_placeholder\":true,\"num\":0}]");
    expect_bad(&v5, "2[null,1]", SIO_EPROTO, "invalid payload");
    expect_ok(&v5, "31[1e400]", "3 #1 [null]");
    /* Duplicate keys: the last value, at the first key's place (JSON.parse). */
    expect_ok(&v5, "0{\"a\":1,\"b\":2,\"a\":3}", "0 {\"a\":3,\"b\":2}");
}

/* isPayloadValid, type by type. */
static void test_payload_rules(void **state)
{
    const sio__sp_options *both[] = {&v5, &v4};
    for (int i = 0; i < 2; i++) {
        const sio__sp_options *o = both[i];
        const char *bad[] = {
            /* CONNECT: an object or nothing */
            "0[]",
            "0null",
            "0\"x\"",
            "01{}x",
            "0true",
            "01.5",
            /* DISCONNECT: nothing at all */
            "1{}",
            "1[]",
            "1null",
            "1/a,{}",
            "1\"x\"",
            /* EVENT: a non-empty array, its first element a number or a non-reserved name */
            "2[]",
            "2{}",
            "2\"a\"",
            "2null",
            "2[null]",
            "2[true]",
            "2[[\"a\"]]",
            "2[{}]",
            "2[[]]",
            /* ACK: an array */
            "31{}",
            "31\"a\"",
            "31null",
            "3{}",
            /* CONNECT_ERROR: a string or an object */
            "4[]",
            "4null",
            "4true",
            "4[\"x\"]",
            "41[]",
            /* BINARY_EVENT / BINARY_ACK as EVENT / ACK */
            "51-[]",
            "51-{}",
            "51-[null]",
            "51-[\"connect\"]",
            "61-{}",
            "61-\"x\"",
            "51-[{\"_placeholder\":true,\"num\":0}]",
        };
        for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
            expect_bad(o, bad[k], SIO_EPROTO, "invalid payload");
        const char *reserved[] = {"connect",       "connect_error", "disconnect",
                                  "disconnecting", "newListener",   "removeListener"};
        for (size_t k = 0; k < 6; k++) {
            char t[64];
            snprintf(t, sizeof t, "2[\"%s\",1]", reserved[k]);
            expect_bad(o, t, SIO_EPROTO, "invalid payload");
            snprintf(t, sizeof t, "2/x,3[\"%s\"]", reserved[k]);
            expect_bad(o, t, SIO_EPROTO, "invalid payload");
        }
        /* Near misses are ordinary names. */
        expect_ok(o, "2[\"Connect\"]", "2 [\"Connect\"]");
        expect_ok(o, "2[\"connect \"]", "2 [\"connect \"]");
        expect_ok(o, "2[\"connec\"]", "2 [\"connec\"]");
        expect_ok(o, "2[\"connect\\u0000\"]", "2 [\"connect\\u0000\"]");
        expect_ok(o, "2[\"\"]", "2 [\"\"]");
        expect_ok(o, "2[\"error\"]", "2 [\"error\"]");
        expect_ok(o, "2[\"a\",\"connect\"]", "2 [\"a\",\"connect\"]");
        /* Numbers are names. */
        expect_ok(o, "2[0]", "2 [0]");
        expect_ok(o, "2[-1.5,2]", "2 [-1.5,2]");
        expect_ok(o, "2[1e300]", "2 [1e+300]");
        /* An ACK may be empty or hold anything. */
        expect_ok(o, "31[]", "3 #1 []");
        expect_ok(o, "31[null,{},\"connect\"]", "3 #1 [null,{},\"connect\"]");
        expect_ok(o, "61-[{\"_placeholder\":true,\"num\":0}]",
                  "6 +1 [{\"_placeholder\":true,\"num\":0}]");
        expect_ok(o, "4\"\"", "4 \"\"");
        expect_ok(o, "4{}", "4 {}");
    }

    /* The same rules on trees. */
    json_t *bin1 = BIN("x"), *arr = parse("[\"a\"]"), *obj = parse("{}");
    assert_true(sio__sp_payload_valid(5, SIO__SP_CONNECT, NULL));
    assert_true(sio__sp_payload_valid(5, SIO__SP_CONNECT, obj));
    assert_false(sio__sp_payload_valid(5, SIO__SP_CONNECT, bin1));
    assert_false(sio__sp_payload_valid(5, SIO__SP_CONNECT_ERROR, bin1));
    assert_false(sio__sp_payload_valid(5, SIO__SP_DISCONNECT, obj));
    assert_true(sio__sp_payload_valid(5, SIO__SP_DISCONNECT, NULL));
    assert_true(sio__sp_payload_valid(5, SIO__SP_EVENT, arr));
    /* Absent is fine for every type (node checks only a payload that is there). */
    for (int t = SIO__SP_CONNECT; t <= SIO__SP_BINARY_ACK; t++) {
        assert_true(sio__sp_payload_valid(5, t, NULL));
        assert_true(sio__sp_payload_valid(4, t, NULL));
    }
    assert_false(sio__sp_payload_valid(5, 7, arr));
    assert_false(sio__sp_payload_valid(5, 7, NULL));
    json_decref(bin1);
    json_decref(arr);
    json_decref(obj);
}

/* ------------------------------------------------------------------------------------ */
/* Binary packets                                                                       */
/* ------------------------------------------------------------------------------------ */

static void test_binary_reassembly(void **state)
{
    static uint8_t all[256];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;

    /* Nested: objects in arrays in objects, with the attachments in wire order. */
    static const sio__sp_blob three[] = {ATT("\xaa"), ATT("\xbb\xbb"), ATT("\xcc\x00\xcc")};
    expect_stream(
        &v5,
        "53-/n,9[\"e\",{\"list\":[{\"_placeholder\":true,\"num\":0},{\"deep\":"
        "{\"x\":[{\"_placeholder\":true,\"num\":1}]}}]},{\"_placeholder\":true,\"num\":2}]",
        three, 3,
        "2 /n #9 +3 [\"e\",{\"list\":[\"<aa>\",{\"deep\":{\"x\":[\"<bbbb>\"]}}]},"
        "\"<cc00cc>\"]");
    /* Placeholders may name attachments in any order, twice, or not at all (node). */
    expect_stream(&v5,
                  "53-[\"e\",{\"_placeholder\":true,\"num\":2},{\"_placeholder\":true,\"num\":0},"
                  "{\"_placeholder\":true,\"num\":2}]",
                  three, 3, "2 +3 [\"e\",\"<cc00cc>\",\"<aa>\",\"<cc00cc>\"]");
    expect_stream(&v5, "52-[\"e\"]", three, 2, "2 +2 [\"e\"]");
    /* Empty attachments and every byte value. */
    sio__sp_blob odd[] = {{(const uint8_t *)"", 0}, {all, 256}};
    char want[1024] = "3 #4 +2 [\"<>\",\"<";
    for (int i = 0; i < 256; i++) sprintf(want + strlen(want), "%02x", i);
    strcat(want, ">\"]");
    expect_stream(&v5, "62-4[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
                  odd, 2, want);
    /* The placeholder test is socket.io-parser's: _placeholder true, other members ignored,
     * num an integral number (1.0 reads as 1). */
    static const sio__sp_blob two[] = {ATT("\x01"), ATT("\x02")};
    expect_stream(&v5,
                  "52-[\"e\",{\"num\":1,\"_placeholder\":true,\"extra\":[1]},"
                  "{\"_placeholder\":true,\"num\":1.0},{\"_placeholder\":false,\"num\":0},"
                  "{\"_placeholder\":1,\"num\":0}]",
                  two, 2,
                  "2 +2 [\"e\",\"<02>\",\"<02>\",{\"_placeholder\":false,\"num\":0},"
                  "{\"_placeholder\":1,\"num\":0}]");
    /* Placeholders as object members and as the first element of an ack. */
    expect_stream(
        &v5, "61-1[{\"_placeholder\":true,\"num\":0},{\"k\":{\"_placeholder\":true,\"num\":0}}]",
        two, 1, "3 #1 +1 [\"<01>\",{\"k\":\"<01>\"}]");

    /* Ten attachments (the default bound), in order. */
    sio__sp_blob ten[10];
    char text[2048] = "510-[\"many\"";
    char rendered[2048] = "2 +10 [\"many\"";
    for (int i = 0; i < 10; i++) {
        ten[i] = (sio__sp_blob){all + i, 1};
        sprintf(text + strlen(text), ",{\"_placeholder\":true,\"num\":%d}", i);
        sprintf(rendered + strlen(rendered), ",\"<%02x>\"", i);
    }
    strcat(text, "]");
    strcat(rendered, "]");
    expect_stream(&v5, text, ten, 10, rendered);
    expect_roundtrip(&v5, text, ten, 10);

    /* Round trips of nested binaries. */
    expect_roundtrip(&v5,
                     "53-/n,9[\"e\",{\"list\":[{\"_placeholder\":true,\"num\":0},{\"deep\":{\"x\":"
                     "[{\"_placeholder\":true,\"num\":1}]}}]},{\"_placeholder\":true,\"num\":2}]",
                     three, 3);
    expect_roundtrip(&v4, "61-/x,0[[[{\"_placeholder\":true,\"num\":0}]]]", two, 1);
}

/* A decoded tree with binaries encodes with attachments renumbered in tree order. */
static void test_binary_renumbered(void **state)
{
    static const sio__sp_blob three[] = {ATT("\xaa"), ATT("\xbb"), ATT("\xcc")};
    sio__sp_decoder d;
    sio__sp_packet p = {0};
    sio__sp_decoder_init(&d, NULL);
    const char *t =
        "53-[\"e\",{\"_placeholder\":true,\"num\":2},{\"_placeholder\":true,\"num\":0}]";
    assert_int_equal(sio__sp_decoder_text(&d, t, strlen(t), &p), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sio__sp_decoder_binary(&d, three[i].data, three[i].len, &p), i == 2);
    encoded *e = encode(NULL, &p);
    assert_int_equal(e->n, 2);
    assert_string_equal(e->text, "52-[\"e\",{\"_placeholder\":true,\"num\":0},"
                                 "{\"_placeholder\":true,\"num\":1}]");
    assert_string_equal(blobs_hex(e), "<cc>|<aa>");
    /* The attachments are borrowed from the tree. */
    assert_ptr_equal(e->blobs[0].data, json_string_value(json_object_getn(json_array_get(p.data, 1),
                                                                          "\xff"
                                                                          "bin",
                                                                          4)));
    sio__sp_packet_clear(&p);
    sio__sp_decoder_free(&d);
}

/* The text decodes and waits for natt attachments; the last one fails the packet with
 * "illegal attachments", and the error is sticky. */
static void expect_reconstruction_error(const char *text, size_t natt)
{
    sio__sp_decoder d;
    sio__sp_packet p = {0};
    sio__sp_decoder_init(&d, NULL);
    if (sio__sp_decoder_text(&d, text, strlen(text), &p) != 0) fail_msg("%s: %s", text, d.reason);
    for (size_t i = 0; i + 1 < natt; i++)
        assert_int_equal(sio__sp_decoder_binary(&d, "x", 1, &p), 0);
    assert_int_equal(sio__sp_decoder_binary(&d, "x", 1, &p), SIO_EPROTO);
    assert_string_equal(d.reason, "illegal attachments");
    assert_null(p.data);
    assert_int_equal(sio__sp_decoder_awaited(&d), 0);
    assert_int_equal(sio__sp_decoder_binary(&d, "x", 1, &p), SIO_EPROTO);
    assert_int_equal(sio__sp_decoder_text(&d, "2[\"a\"]", 6, &p), SIO_EPROTO);
    sio__sp_decoder_free(&d);
}

/* node: socket.io-parser looks at placeholders when it reconstructs the packet, after the
 * last attachment: a num that names none fails the packet only then, and a num in range that
 * is not an integer gives undefined (JSON.stringify: null in an array, no member in an
 * object). */
static void test_placeholders_at_reconstruction(void **state)
{
    const char *bad[] = {
        "51-[\"a\",{\"_placeholder\":true,\"num\":1}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":-1}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]",
        "51-[\"a\",{\"_placeholder\":true}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":null}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":[0]}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":1e300}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":1e400}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":-0.5}]",
        "52-[\"a\",[{\"x\":{\"_placeholder\":true,\"num\":2}}]]",
        "52-[\"a\",{\"_placeholder\":true,\"num\":0},{\"k\":{\"_placeholder\":true,\"num\":2}}]",
        "61-[{\"_placeholder\":true,\"num\":18446744073709551616}]",
        "61-[{\"_placeholder\":true,\"num\":-9223372036854775808}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* The text alone is fine. */
        expect_ok(&v5, bad[i], NULL);
        expect_reconstruction_error(bad[i], (size_t)(bad[i][1] - '0'));
    }

    static const sio__sp_blob one[] = {ATT("\x01")}, two[] = {ATT("\x01"), ATT("\x02")};
    expect_stream(&v5, "51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]", one, 1,
                  "2 +1 [\"a\",null]");
    expect_stream(&v5, "51-[\"a\",{\"_placeholder\":true,\"num\":5e-324}]", one, 1,
                  "2 +1 [\"a\",null]");
    expect_stream(&v5,
                  "52-[\"a\",{\"_placeholder\":true,\"num\":1.5},{\"k\":{\"_placeholder\":true,"
                  "\"num\":0.25},\"j\":1}]",
                  two, 2, "2 +2 [\"a\",null,{\"j\":1}]");
    const char *zero[] = {"-0", "-0.0", "1e-400", "0.0", "0e7"};
    for (size_t i = 0; i < sizeof zero / sizeof *zero; i++) {
        char t[96];
        snprintf(t, sizeof t, "51-[\"a\",{\"_placeholder\":true,\"num\":%s}]", zero[i]);
        expect_stream(&v5, t, one, 1, "2 +1 [\"a\",\"<01>\"]");
    }
    /* A placeholder is replaced whole: what else it holds is not looked at. */
    expect_stream(&v5,
                  "52-[\"a\",{\"_placeholder\":true,\"num\":1,\"x\":{\"_placeholder\":true,"
                  "\"num\":9}}]",
                  two, 2, "2 +2 [\"a\",\"<02>\"]");
    /* Binary packets without payload. */
    expect_stream(&v5, "51-", one, 1, "2 +1");
    expect_stream(&v5, "51-7", one, 1, "2 #7 +1");
    expect_stream(&v4, "62-/x,", two, 2, "3 /x +2");
}

static void test_binary_errors(void **state)
{
    const char *why;
    sio__sp_decoder d;
    sio__sp_packet p = {0};

    /* A binary message when none is awaited; the error is sticky. */
    sio__sp_decoder_init(&d, NULL);
    assert_int_equal(sio__sp_decoder_binary(&d, "x", 1, &p), SIO_EPROTO);
    assert_string_equal(d.reason, "got binary data when not reconstructing a packet");
    assert_int_equal(d.error, SIO_EPROTO);
    assert_int_equal(sio__sp_decoder_text(&d, "2[\"a\"]", 6, &p), SIO_EPROTO);
    assert_int_equal(sio__sp_decoder_binary(&d, "x", 1, &p), SIO_EPROTO);
    sio__sp_decoder_free(&d);

    /* After a complete binary packet, one more attachment is an error. */
    sio__sp_decoder_init(&d, NULL);
    const char *t = "51-[\"a\",{\"_placeholder\":true,\"num\":0}]";
    assert_int_equal(sio__sp_decoder_text(&d, t, strlen(t), &p), 0);
    assert_int_equal(sio__sp_decoder_binary(&d, "x", 1, &p), 1);
    sio__sp_packet_clear(&p);
    assert_int_equal(sio__sp_decoder_binary(&d, "y", 1, &p), SIO_EPROTO);
    sio__sp_decoder_free(&d);

    /* A text packet while attachments are awaited drops the pending one. */
    sio__sp_decoder_init(&d, NULL);
    t = "52-/nsp,[\"a\",{\"_placeholder\":true,\"num\":0}]";
    assert_int_equal(sio__sp_decoder_text(&d, t, strlen(t), &p), 0);
    assert_int_equal(sio__sp_decoder_binary(&d, "x", 1, &p), 0);
    assert_int_equal(sio__sp_decoder_awaited(&d), 1);
    assert_int_equal(sio__sp_decoder_text(&d, "2[\"b\"]", 6, &p), SIO_EPROTO);
    assert_string_equal(d.reason, "got plaintext data when reconstructing a packet");
    assert_int_equal(sio__sp_decoder_awaited(&d), 0);
    assert_int_equal(sio__sp_decoder_binary(&d, "x", 1, &p), SIO_EPROTO);
    sio__sp_decoder_free(&d);

    /* Freeing a decoder with a packet pending releases it. */
    sio__sp_decoder_init(&d, NULL);
    assert_int_equal(sio__sp_decoder_text(&d, t, strlen(t), &p), 0);
    sio__sp_decoder_free(&d);

    /* Decode errors are sticky too, with node's reason. */
    sio__sp_decoder_init(&d, NULL);
    assert_int_equal(sio__sp_decoder_text(&d, "511-[\"a\"]", 9, &p), SIO_ETOOBIG);
    assert_string_equal(d.reason, "too many attachments");
    assert_int_equal(sio__sp_decoder_text(&d, "2[\"a\"]", 6, &p), SIO_ETOOBIG);
    sio__sp_decoder_free(&d);

    /* Plain packets pass through the decoder, their spans in the input. */
    sio__sp_decoder_init(&d, NULL);
    t = "2/chat,[\"a\"]";
    assert_int_equal(sio__sp_decoder_text(&d, t, strlen(t), &p), 1);
    assert_ptr_equal(p.nsp, t + 1);
    sio__sp_packet_clear(&p);
    assert_int_equal(sio__sp_decoder_text(&d, "1", 1, &p), 1);
    sio__sp_packet_clear(&p);
    sio__sp_decoder_free(&d);

    t = "51-[\"a\",{\"_placeholder\":true,\"num\":0}]";
    why = NULL;
    assert_int_equal(decode_rc(&v5, t, strlen(t), &why), 0);
    assert_null(why);
}

/* Placeholders are plain data in packets that are not binary. */
static void test_placeholders_in_plain_packets(void **state)
{
    const char *t = "2[\"a\",{\"_placeholder\":true,\"num\":0}]";
    expect_ok(&v5, t, "2 [\"a\",{\"_placeholder\":true,\"num\":0}]");
    expect_roundtrip(&v5, t, NULL, 0);
    expect_roundtrip(&v5, "31[{\"_placeholder\":true,\"num\":99}]", NULL, 0);
    expect_roundtrip(&v5, "0{\"_placeholder\":true,\"num\":0}", NULL, 0);
    /* A tree with binary nodes and such an object cannot be sent: the peer would take the
     * object for an attachment. */
    expect_encode_rc(
        &v5, pkt(2, "/", 0, 0, json_pack("[s{sbsi}o]", "a", "_placeholder", 1, "num", 0, BIN("x"))),
        SIO_EINVAL);
    expect_encode(
        &v5, pkt(2, "/", 0, 0, json_pack("[s{sbsi}o]", "a", "_placeholder", 0, "num", 0, BIN("x"))),
        "51-[\"a\",{\"_placeholder\":false,\"num\":0},{\"_placeholder\":true,\"num\":0}]", "<78>");
}

/* ------------------------------------------------------------------------------------ */
/* Encoding rules                                                                       */
/* ------------------------------------------------------------------------------------ */

static void test_encode_types(void **state)
{
    /* 5 and 6 without binary nodes are sent as 2 and 3; 2 and 3 with them as 5 and 6. */
    expect_encode(&v5, pkt(5, "/", 0, 0, json_pack("[s]", "a")), "2[\"a\"]", "");
    expect_encode(&v5, pkt(6, "/", 1, 3, json_pack("[]")), "33[]", "");
    expect_encode(&v5, pkt(5, "/", 0, 0, json_pack("[so]", "a", BIN("x"))),
                  "51-[\"a\",{\"_placeholder\":true,\"num\":0}]", "<78>");
    expect_encode(&v5, pkt(6, "/x", 1, 3, json_pack("[o]", BIN(""))),
                  "61-/x,3[{\"_placeholder\":true,\"num\":0}]", "<>");
    expect_encode(&v5, pkt(3, "/", 1, 0, json_pack("[o]", BIN("\x00"))),
                  "61-0[{\"_placeholder\":true,\"num\":0}]", "<00>");
    /* The binary node at the top is an attachment too (not a valid event, but encodable). */
    expect_encode(&v5, pkt(3, "/", 1, 1, BIN("z")), "61-1{\"_placeholder\":true,\"num\":0}",
                  "<7a>");
    /* Binary nodes only in events and acks. */
    for (int t = 0; t <= 4; t++) {
        if (t == 2 || t == 3) continue;
        expect_encode_rc(&v5, pkt(t, "/", 0, 0, json_pack("{so}", "b", BIN("x"))), SIO_EINVAL);
    }
    /* Over max_attachments, or over the caller's array. */
    json_t *eleven = json_array();
    for (int i = 0; i < 11; i++) json_array_append_new(eleven, BIN("x"));
    expect_encode_rc(&v5, pkt(2, "/", 0, 0, json_incref(eleven)), SIO_ETOOBIG);
    sio__sp_options twelve = {.max_attachments = 12};
    sio__sp_packet p = pkt(2, "/", 0, 0, eleven);
    encoded *e = encode(&twelve, &p);
    assert_int_equal(e->n, 11);
    assert_memory_equal(e->text, "511-[{", 6);
    sio__buf b = SIO__BUF_INIT;
    sio__sp_blob few[3];
    assert_int_equal(sio__sp_encode(&twelve, &b, &p, few, 3), SIO_ETOOBIG);
    assert_int_equal(sio__sp_encode(&twelve, &b, &p, NULL, 0), SIO_ETOOBIG);
    assert_int_equal(b.len, 0);
    /* Without binary nodes no array is needed. */
    sio__sp_packet plain = pkt(2, "/", 0, 0, json_pack("[s]", "a"));
    assert_int_equal(sio__sp_encode(NULL, &b, &plain, NULL, 0), 0);
    assert_int_equal(b.len, 6);
    /* Encoding appends, and leaves what was there on error. */
    assert_int_equal(sio__sp_encode(&twelve, &b, &p, few, 3), SIO_ETOOBIG);
    assert_int_equal(b.len, 6);
    assert_int_equal(sio__sp_encode(&twelve, &b, &p, e->blobs, MAX_BLOBS), 11);
    assert_memory_equal(b.data, "2[\"a\"]511-[{", 12);
    json_decref(plain.data);
    json_decref(eleven);
    sio__buf_free(&b);
}

static void test_encode_invalid(void **state)
{
    json_t *a = json_pack("[s]", "a");
    expect_encode_rc(&v5, pkt(7, "/", 0, 0, NULL), SIO_EINVAL);
    expect_encode_rc(&v5, pkt(2, "admin", 0, 0, json_incref(a)), SIO_EINVAL);
    expect_encode_rc(&v5, pkt(2, "/a,b", 0, 0, json_incref(a)), SIO_EINVAL);
    expect_encode_rc(&v5, pkt(2, "", 0, 0, json_incref(a)), SIO_EINVAL);
    sio__sp_packet p = pkt(2, "/", 1, SIO__SP_MAX_ID, json_incref(a));
    expect_encode(&v5, p, "29007199254740991[\"a\"]", "");
    p = pkt(2, "/", 1, SIO__SP_MAX_ID + 1, json_incref(a));
    expect_encode_rc(&v5, p, SIO_EINVAL);
    /* Strings and keys must be WTF-8 (the _nocheck constructors do not check): UTF-8 in which
     * a lone surrogate may stand, written as an escape. */
    const char *not_wtf8[] = {"\xff", "\xc0\x80", "\xe0\x80\x80", "\xf4\x90\x80\x80",    "\xed\xa0",
                              "\x80", "a\xc3",    "\xf0\x9f\x98", "\xf8\x88\x80\x80\x80"};
    for (size_t i = 0; i < sizeof not_wtf8 / sizeof *not_wtf8; i++) {
        json_t *bad = json_stringn_nocheck(not_wtf8[i], strlen(not_wtf8[i]));
        expect_encode_rc(&v5, pkt(2, "/", 0, 0, json_pack("[so]", "a", bad)), SIO_EUTF8);
        json_t *o = json_object();
        json_object_setn_new_nocheck(o, not_wtf8[i], strlen(not_wtf8[i]), json_true());
        expect_encode_rc(&v5, pkt(2, "/", 0, 0, json_pack("[so]", "a", o)), SIO_EUTF8);
    }
    expect_encode(&v5, pkt(2, "/", 0, 0, json_pack("[o]", json_stringn_nocheck("\xed\xa0\x80", 3))),
                  "2[\"\\ud800\"]", "");
    json_t *o;
    /* A key with NUL is written escaped. */
    o = json_object();
    json_object_setn_new_nocheck(o, "a\0b", 3, json_true());
    expect_encode(&v5, pkt(2, "/", 0, 0, json_pack("[so]", "a", o)),
                  "2[\"a\",{\"a\\u0000b\":true}]", "");
    /* An object with the binary key and more members is not a binary node. */
    o = json_object();
    json_object_setn_new_nocheck(o,
                                 "\xff"
                                 "bin",
                                 4, json_string("x"));
    json_object_set_new(o, "y", json_null());
    expect_encode_rc(&v5, pkt(2, "/", 0, 0, json_pack("[so]", "a", o)), SIO_EUTF8);
    json_decref(a);
}

/* ------------------------------------------------------------------------------------ */
/* JSON as JSON.stringify writes it                                                     */
/* ------------------------------------------------------------------------------------ */

static const char *stringify(const json_t *v)
{
    static char s[8192];
    sio__buf b = SIO__BUF_INIT;
    int rc = sio__sp_stringify(&b, v, 0);
    if (rc) fail_msg("stringify rc %d", rc);
    memcpy(s, b.data, b.len);
    s[b.len] = 0;
    sio__buf_free(&b);
    return s;
}

static void expect_stringify(json_t *v, const char *want)
{
    const char *got = stringify(v);
    if (strcmp(got, want)) fail_msg("stringify: got [%s], want [%s]", got, want);
    json_decref(v);
}

/* node: JSON.stringify of every ASCII character, and of non-ASCII text. */
static void test_stringify_strings(void **state)
{
    char all[128];
    for (int i = 0; i < 128; i++) all[i] = (char)i;
    expect_stringify(
        json_stringn(all, 128),
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e"
        "\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a"
        "\\u001b\\u001c\\u001d\\u001e\\u001f !\\\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMN"
        "OPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f\"");
    /* U+2028 and U+2029 are not escaped; neither are other non-ASCII characters. */
    expect_stringify(json_string("\xe2\x80\xa8\xe2\x80\xa9"), "\"\xe2\x80\xa8\xe2\x80\xa9\"");
    expect_stringify(json_string("h\xc3\xa9llo \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf"),
                     "\"h\xc3\xa9llo \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"");
    expect_stringify(json_string("</script>"), "\"</script>\"");
    expect_stringify(json_string(""), "\"\"");
    expect_stringify(json_stringn("\0\0", 2), "\"\\u0000\\u0000\"");
    /* Keys are escaped the same way. */
    expect_stringify(json_pack("{s:i}", "a\"b\\c\n\x01", 1), "{\"a\\\"b\\\\c\\n\\u0001\":1}");
    /* node: lone surrogates (here WTF-8, 3 bytes each) are escaped; a high and a low one in a
     * row are one character to JavaScript, written as it is. */
    expect_stringify(json_pack("[ooooo]", json_stringn_nocheck("\xed\xa0\x80", 3),
                               json_stringn_nocheck("\xed\xbf\xbf\xed\xa0\x80", 6),
                               json_stringn_nocheck("a\355\257\277b", 5),
                               json_stringn_nocheck("\xed\xa0\x80\xed\xb0\x80", 6),
                               json_stringn_nocheck("\xed\xb0\x80\xed\xa0\x80\xed\xb0\x80", 9)),
                     "[\"\\ud800\",\"\\udfff\\ud800\",\"a\\udbffb\",\"\xf0\x90\x80\x80\","
                     "\"\\udc00\xf0\x90\x80\x80\"]");
    expect_stringify(json_string("\xed\x9f\xbf\xee\x80\x80"), "\"\xed\x9f\xbf\xee\x80\x80\"");
    /* Binary nodes are not JSON. */
    sio__buf b = SIO__BUF_INIT;
    json_t *v = json_pack("[o]", BIN("x"));
    assert_int_equal(sio__sp_stringify(&b, v, 0), SIO_EINVAL);
    assert_int_equal(sio__sp_stringify(&b, NULL, 0), SIO_EINVAL);
    assert_int_equal(b.len, 0);
    json_decref(v);
    sio__buf_free(&b);
}

/* node: JSON.stringify(x) for the double with these bits. Picked from 252,000 vectors that
 * all pass (random bit patterns, powers of two and ten with their neighbours, and short
 * decimals); the ones from 0x43b... to 0x7cf... are powers of two whose shortest form is
 * the decimal above the nearest one. */
static const struct {
    uint64_t bits;
    const char *js;
} number_vectors[] = {
    {0x3fb999999999999aull, "0.1"},
    {0x3fc999999999999aull, "0.2"},
    {0x3fd3333333333333ull, "0.3"},
    {0x3fd5555555555555ull, "0.3333333333333333"},
    {0x3fe5555555555555ull, "0.6666666666666666"},
    {0x405edd2f1a9fbe77ull, "123.456"},
    {0x444b1ae4d6e2ef50ull, "1e+21"},
    {0x4415af1d78b58c40ull, "100000000000000000000"},
    {0x444b1ae4d6e2ef4full, "999999999999999900000"},
    {0x3e8421f5f40d8376ull, "1.5e-7"},
    {0x3e7ad7f29abcaf48ull, "1e-7"},
    {0x3eb0c6f7a0b5ed8dull, "0.000001"},
    {0x0000000000000001ull, "5e-324"},
    {0x7fefffffffffffffull, "1.7976931348623157e+308"},
    {0x4340000000000000ull, "9007199254740992"},
    {0x4340000000000001ull, "9007199254740994"},
    {0x43e0000000000000ull, "9223372036854776000"},
    {0x43f0000000000000ull, "18446744073709552000"},
    {0xbe7ad7f29abcaf48ull, "-1e-7"},
    {0x3c36b082c2148b8eull, "1.23e-18"},
    {0x4011666666666666ull, "4.35"},
    {0x3fe0000000000000ull, "0.5"},
    {0x4059000000000000ull, "100"},
    {0x7e37e43c8800759cull, "1e+300"},
    {0x0060000000000000ull, "7.120236347223045e-307"},
    {0x0100000000000000ull, "7.291122019556398e-304"},
    {0x0420000000000000ull, "8.209073602596753e-289"},
    {0x0660000000000000ull, "5.641232424577593e-278"},
    {0x0d70000000000000ull, "5.858190679279809e-244"},
    {0x0e80000000000000ull, "7.678447687145631e-239"},
    {0x0eb0000000000000ull, "6.142758149716505e-238"},
    {0x0f50000000000000ull, "6.290184345309701e-235"},
    {0x13e0000000000000ull, "5.940911144672375e-213"},
    {0x1480000000000000ull, "6.083493012144512e-210"},
    {0x1690000000000000ull, "5.225680706521042e-200"},
    {0x1730000000000000ull, "5.351097043477547e-197"},
    {0x0008d53171256324ull, "1.2283500314098825e-308"},
    {0x0004a736557b2deaull, "6.471033250122096e-309"},
    {0x000936b9e2f565f7ull, "1.281332965716115e-308"},
    {0x0001a1da3d4190deull, "2.269903975143283e-309"},
    {0x0008ee350c21aa77ull, "1.241938455141077e-308"},
    {0x0008a4c5995e15dcull, "1.2020461049827527e-308"},
    {0x05269dc4ea05d415ull, "7.604582635395793e-284"},
    {0x03e843ff50e12b78ull, "7.781180310616212e-290"},
    {0xebf071623be68534ull, "-8.64919158718811e+211"},
    {0xee6f3e44c3fd9a01ull, "-9.034888886357968e+223"},
    {0x6fcd321cfd8eadd8ull, "3.5411670029236263e+230"},
    {0x662227643f3bbcf1ull, "9.64221187841441e+183"},
    {0xc7a72afbb2d5d249ull, "-1.539771271235475e+37"},
    {0x375c71eb656c9202ull, "5.102071317805385e-42"},
    {0x6ad938886028199aull, "5.060768059707238e+206"},
    {0x4c1591f47ec1c6b0ull, "3.3849486020082074e+58"},
    {0x22128c31772f1ab0ull, "1.4853558418972165e-144"},
    {0xf186c58b2e64d4d1ull, "-7.414146685238098e+238"},
    {0x174b36c0f32b1889ull, "1.820301522590286e-196"},
    {0x3f93ae128f8595c6ull, "0.019218721399189474"},
    {0x847e42d384c4be1full, "-4.9683020959963106e-287"},
    {0xf37ff33b438cf48aull, "-2.2339270118796443e+248"},
    {0x107ed31007e1c332ull, "3.176719267959579e-229"},
    {0x3d7c980143e44281ull, "1.62536760543879e-12"},
    {0x76e7f4614bdc2491ull, "6.034416799509402e+264"},
    {0xba25b47e851dbb56ull, "-1.369781581003743e-28"},
    {0x93b9678e3b7d559bull, "-1.1791090672531784e-213"},
    {0xf315eb49f216bd1full, "-2.394633922586029e+246"},
    {0x6dc7d87d2fad2901ull, "6.73404772322124e+220"},
    {0x67aa49fec9e58e51ull, "2.3426211370878e+191"},
    {0x8cb423fe2c86bed5ull, "-1.8003457400449048e-247"},
    {0x1847be302704a90dull, "1.040799179098809e-191"},
    {0x390fc7e1790e9365ull, "7.650945491698718e-34"},
    {0xf6011758de0dbfe5ull, "-2.627839381794388e+260"},
    {0x99346976bd4bcac4ull, "-2.9320244394433853e-187"},
    {0x457b4d79a7e13082ull, "5.2810981602899645e+26"},
    {0x821d78584f4901c4ull, "-1.7602156691039075e-298"},
    {0xa0ecd3307824eecaull, "-4.402920669396937e-150"},
    {0x396a94a3b2b6be8dull, "4.0953933966391916e-32"},
    {0x118379a017548980ull, "2.6307096270777054e-224"},
    {0x0e1ace284bb2443aull, "1.0049956637481287e-240"},
    {0xe921f7e54bc34347ull, "-2.6863041178307094e+198"},
    {0x3b65014c7ec6adc9ull, "1.3899991634628718e-22"},
    {0x58e789b9be37f4ccull, "1.8994054064307515e+120"},
    {0x30afee1c2ea5b96cull, "3.529649624867453e-74"},
    {0x3f8287c2a26e5703ull, "0.009048004705430218"},
    {0x50e1f6fbf32f3511ull, "4.26020789206259e+81"},
    {0xd6918541cf36db9cull, "-1.028693087802208e+109"},
    {0xba53fcf595463789ull, "-1.0091422881181853e-27"},
    {0x76fb45110b9bccfdull, "1.3739091521111316e+265"},
    {0x2ec8664c1c3f539full, "2.511966804975026e-83"},
    {0x2a5d2edb4dadf501ull, "1.2724243041353202e-104"},
    {0xe0926d2e33c5da33ull, "-1.5811762453269098e+157"},
    {0x1c8d1aebf3804e47ull, "3.765672173692322e-171"},
    {0xee5c5175dc4b1546ull, "-4.094515468394215e+223"},
    {0x837c166ca9a41d72ull, "-7.036533791414064e-292"},
    {0xbe37df5898bcdc51ull, "-5.558236881e-9"},
    {0xbc00e77a029f4b6bull, "-1.145473519e-19"},
    {0x3ea5e791b6d07927ull, "6.528069725930206e-7"},
    {0x4022e9397371c548ull, "9.455516441"},
    {0xbd331d6e63da078bull, "-6.791e-14"},
    {0xbd3048abaeac7828ull, "-5.785192650014192e-14"},
    {0xbe1eec7bd512b572ull, "-1.8e-9"},
    {0xc0efc78ba1f8e3acull, "-65084.363522"},
    {0x4119088400000000ull, "410145"},
    {0x3b9160d8d60d702aull, "9.2e-22"},
    {0xc32923f2c449e000ull, "-3538200000000000"},
    {0xc33dfe3377488070ull, "-8442271322636400"},
    {0x4254e6b57e800000ull, "359080000000"},
    {0x3e3ff52f78ee4ca2ull, "7.440744811e-9"},
    {0x4305d6eb28bc2000ull, "768410000000000"},
    {0x42577bf70d830ccdull, "403456144908.2"},
    {0xbe928f2f5682dd3dull, "-2.765553604e-7"},
    {0x3e2bcbdb80fce8bfull, "3.235917318738557e-9"},
    {0xbc0445ad13014610ull, "-1.3736958181e-19"},
    {0x3d903276d44c7306ull, "3.6828e-12"},
    {0x3d550bb42fe234fcull, "2.9907764352e-13"},
    {0xbf32747c6f9d7e70ull, "-0.000281601314432201"},
    {0x3c60c57c69eab99bull, "7.27344818618063e-18"},
    {0x3da24285746349b0ull, "8.3036178949448e-12"},
    {0x43cc19ae8b315478ull, "4049682840662110000"},
    {0x42e193e6e9d5d3b3ull, "154615455592093.6"},
    {0xbf149ea626786d58ull, "-0.000078658"},
    {0xc0180e0a649917fbull, "-6.013711521"},
    {0xbed1f7bbe01ff9e4ull, "-0.0000042838360077"},
    {0xbedd5c31593e5fb7ull, "-0.000007"},
};

/* Numbers read and write as in JavaScript whatever the locale's decimal point. */
static void test_numbers_in_a_comma_locale(void **state)
{
    (void)state;
    comma_locale l;
    comma_locale_enter(&l);
    char buf[32];
    for (size_t i = 0; i < sizeof number_vectors / sizeof *number_vectors; i++) {
        double d;
        memcpy(&d, &number_vectors[i].bits, 8);
        sio__sp_format_double(d, buf);
        if (strcmp(buf, number_vectors[i].js))
            fail_msg("%016llx: got %s, want %s", (unsigned long long)number_vectors[i].bits, buf,
                     number_vectors[i].js);
    }
    static const char text[] = "[1.5,-0.25,6.02e23,1e-7]";
    json_t *v = NULL;
    size_t where = 0;
    assert_int_equal(sio__json_parse(text, sizeof text - 1, 32, &v, &where), 0);
    assert_true(json_real_value(json_array_get(v, 0)) == 1.5);
    assert_true(json_real_value(json_array_get(v, 1)) == -0.25);
    assert_true(json_real_value(json_array_get(v, 2)) == 6.02e23);
    assert_true(json_real_value(json_array_get(v, 3)) == 1e-7);
    json_decref(v);
    comma_locale_leave(&l);
}

static void test_stringify_numbers(void **state)
{
    char buf[32];
    for (size_t i = 0; i < sizeof number_vectors / sizeof *number_vectors; i++) {
        double d;
        memcpy(&d, &number_vectors[i].bits, 8);
        size_t n = sio__sp_format_double(d, buf);
        if (strcmp(buf, number_vectors[i].js) || n != strlen(buf))
            fail_msg("%016llx: got %s, want %s", (unsigned long long)number_vectors[i].bits, buf,
                     number_vectors[i].js);
        json_t *r = json_real(d);
        expect_stringify(r, number_vectors[i].js);
    }
    /* -0, NaN and the infinities (which json_real refuses to hold). */
    assert_int_equal(sio__sp_format_double(-0.0, buf), 1);
    assert_string_equal(buf, "0");
    sio__sp_format_double(NAN, buf);
    assert_string_equal(buf, "null");
    sio__sp_format_double(INFINITY, buf);
    assert_string_equal(buf, "null");
    sio__sp_format_double(-INFINITY, buf);
    assert_string_equal(buf, "null");
    /* The longest forms. */
    assert_int_equal(sio__sp_format_double(-1.2345678901234568e-300, buf), 24);
    assert_string_equal(buf, "-1.2345678901234568e-300");
    assert_int_equal(sio__sp_format_double(-1.2345678901234567e-6, buf), 25);
    assert_string_equal(buf, "-0.0000012345678901234567");
    assert_int_equal(sio__sp_format_double(-1.2345678901234567e20, buf), 22);
    assert_string_equal(buf, "-123456789012345670000");

    /* Integers are written exactly, 64 bits wide. */
    expect_stringify(json_integer(0), "0");
    expect_stringify(json_integer(-1), "-1");
    expect_stringify(json_integer(9007199254740992), "9007199254740992");
    expect_stringify(json_integer(9007199254740993), "9007199254740993");
    expect_stringify(json_integer(INT64_MAX), "9223372036854775807");
    expect_stringify(json_integer(INT64_MIN), "-9223372036854775808");
    /* Reals with integral values are written as JavaScript writes those numbers. */
    expect_stringify(json_real(1.0), "1");
    expect_stringify(json_real(-0.0), "0");
    expect_stringify(json_real(1e18), "1000000000000000000");
    expect_stringify(json_real(9007199254740992.0), "9007199254740992");
    expect_stringify(json_real(18446744073709551616.0), "18446744073709552000");
}

static void test_stringify_structures(void **state)
{
    expect_stringify(parse("[]"), "[]");
    expect_stringify(parse("{}"), "{}");
    expect_stringify(parse("[[],{},[[]],[{}],{\"a\":[]},{\"b\":{}}]"),
                     "[[],{},[[]],[{}],{\"a\":[]},{\"b\":{}}]");
    expect_stringify(parse(" { \"z\" : 1 , \"a\" : [ true , false , null ] } "),
                     "{\"z\":1,\"a\":[true,false,null]}");
    /* node: array-index keys first, in numeric order, then the others in insertion order. */
    expect_stringify(parse("{\"b\":1,\"a\":2,\"10\":3,\"2\":4}"),
                     "{\"2\":4,\"10\":3,\"b\":1,\"a\":2}");
    json_t *many = json_object();
    json_object_set_new(many, "x", json_integer(0));
    for (int i = 20; i >= 0; i--) {
        char k[8];
        snprintf(k, sizeof k, "%d", i);
        json_object_set_new(many, k, json_integer(i));
    }
    json_object_set_new(many, "y", json_integer(1));
    json_object_set_new(many, "4294967294", json_integer(2));
    json_object_set_new(many, "4294967295", json_integer(3));
    json_object_set_new(many, "007", json_integer(4));
    expect_stringify(many,
                     "{\"0\":0,\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,\"6\":6,\"7\":7,\"8\":8,"
                     "\"9\":9,\"10\":10,\"11\":11,\"12\":12,\"13\":13,\"14\":14,\"15\":15,"
                     "\"16\":16,\"17\":17,\"18\":18,\"19\":19,\"20\":20,\"4294967294\":2,"
                     "\"x\":0,\"y\":1,\"4294967295\":3,\"007\":4}");
    /* In a packet, with binary nodes among the members: numbered in the written order. */
    expect_encode(
        &v5,
        pkt(2, "/", 0, 0,
            json_pack("[s{sososo}]", "e", "b", BIN("\x02"), "1", BIN("\x01"), "a", BIN("\x03"))),
        "53-[\"e\",{\"1\":{\"_placeholder\":true,\"num\":0},\"b\":{\"_placeholder\":true,"
        "\"num\":1},\"a\":{\"_placeholder\":true,\"num\":2}}]",
        "<01>|<02>|<03>");
    json_t *o = json_object();
    json_object_set_new(o, "y", json_integer(1));
    json_object_set_new(o, "x", json_integer(2));
    json_object_set_new(o, "y", json_integer(3));
    expect_stringify(o, "{\"y\":3,\"x\":2}");
    expect_stringify(json_true(), "true");
    expect_stringify(json_false(), "false");
    expect_stringify(json_null(), "null");
    expect_stringify(json_string("x"), "\"x\"");
    /* A value shared by two places is written twice. */
    json_t *shared = json_pack("{s:i}", "k", 1);
    expect_stringify(json_pack("[OO]", shared, shared), "[{\"k\":1},{\"k\":1}]");
    json_decref(shared);
}

/* ------------------------------------------------------------------------------------ */
/* Numbers in decoded JSON                                                              */
/* ------------------------------------------------------------------------------------ */

static void test_decode_numbers(void **state)
{
    guard g;
    sio__sp_packet p;
    /* Safe integers (below 2^53 in magnitude) are json_integers; every other number is the
     * double JSON.parse reads, and a number beyond the double range, an infinity there, is
     * null (what JSON.stringify writes for it). */
    const char *t = "2[18446744073709552000,1,-2,1.5,-0,9223372036854775807,1e2,"
                    "-9223372036854775809,9007199254740993,\"99999999999999999999\",1.5e300,"
                    "9007199254740991,-9007199254740991,9007199254740992,1e400,-1e400]";
    assert_int_equal(sio__sp_decode(NULL, guarded(&g, t, strlen(t)), strlen(t), &p, NULL), 0);
    guard_free(&g);
    const json_t *a = p.data;
    assert_true(json_is_real(json_array_get(a, 0)));
    assert_true(json_real_value(json_array_get(a, 0)) == 18446744073709551616.0);
    assert_int_equal(json_integer_value(json_array_get(a, 1)), 1);
    assert_int_equal(json_integer_value(json_array_get(a, 2)), -2);
    assert_true(json_is_real(json_array_get(a, 3)));
    assert_true(json_is_integer(json_array_get(a, 4)));
    assert_true(json_is_real(json_array_get(a, 5)));
    assert_true(json_real_value(json_array_get(a, 5)) == 9223372036854775808.0);
    assert_true(json_is_real(json_array_get(a, 6)));
    assert_true(json_is_real(json_array_get(a, 7)));
    assert_true(json_is_real(json_array_get(a, 8)));
    assert_true(json_real_value(json_array_get(a, 8)) == 9007199254740992.0);
    assert_int_equal(json_integer_value(json_array_get(a, 11)), 9007199254740991);
    assert_int_equal(json_integer_value(json_array_get(a, 12)), -9007199254740991);
    assert_true(json_is_real(json_array_get(a, 13)));
    assert_true(json_is_null(json_array_get(a, 14)));
    assert_true(json_is_null(json_array_get(a, 15)));
    /* node: JSON.stringify(JSON.parse(...)) */
    assert_string_equal(json_text(a),
                        "[18446744073709552000,1,-2,1.5,0,9223372036854776000,100,"
                        "-9223372036854776000,9007199254740992,\"99999999999999999999\","
                        "1.5e+300,9007199254740991,-9007199254740991,9007199254740992,"
                        "null,null]");
    sio__sp_packet_clear(&p);
    /* The same in objects, nested, and at the top (node). */
    expect_ok(&v5, "0{\"a\":{\"b\":[99999999999999999999]},\"c\":3.0}",
              "0 {\"a\":{\"b\":[100000000000000000000]},\"c\":3}");
    expect_ok(&v5, "31[-99999999999999999999999]", "3 #1 [-1e+23]");
    expect_ok(&v5, "4{\"n\":12345678901234567890123}", "4 {\"n\":1.2345678901234568e+22}");
    expect_ok(&v5, "2[0,-9223372036854775808,-0]", "2 [0,-9223372036854776000,0]");
    expect_ok(&v5, "2[18446744073709552000,1.12345678901234567890123,123456789012345678901e-1]",
              "2 [18446744073709552000,1.1234567890123457,12345678901234567000]");
    expect_ok(&v5, "2[9007199254740993,1.0,-0.0,1e-7,5e-324]",
              "2 [9007199254740992,1,0,1e-7,5e-324]");
    expect_ok(&v5, "2[1e-400]", "2 [0]");
    /* A literal of any length; 10^309 and above are infinite. */
    char big[700] = "2[1";
    memset(big + 3, '0', 308);
    strcpy(big + 311, ",1");
    memset(big + 313, '0', 309);
    strcpy(big + 622, "]");
    guarded(&g, big, strlen(big));
    assert_int_equal(sio__sp_decode(NULL, (char *)g.end - strlen(big), strlen(big), &p, NULL), 0);
    guard_free(&g);
    assert_true(json_real_value(json_array_get(p.data, 0)) == 1e308);
    assert_true(json_is_null(json_array_get(p.data, 1)));
    sio__sp_packet_clear(&p);
}

/* ------------------------------------------------------------------------------------ */
/* JSON as JSON.parse reads it (src/sio/json.c)                                         */
/* ------------------------------------------------------------------------------------ */

/* node: JSON.stringify(JSON.parse(text)), NULL where JSON.parse throws. Strings in C are
 * UTF-8, so "\ud800" in node's output is the escape, written back as JavaScript does. */
static const struct {
    const char *text, *node;
} json_vectors[] = {
    {"1e400", "null"},
    {"-1e400", "null"},
    {"[1e309,1.8e308,1.7976931348623157e308,1.7976931348623158e308,1.7976931348623159e308]",
     "[null,null,1.7976931348623157e+308,1.7976931348623157e+308,null]"},
    {"9007199254740991", "9007199254740991"},
    {"-9007199254740991", "-9007199254740991"},
    {"9007199254740992", "9007199254740992"},
    {"9007199254740993", "9007199254740992"},
    {"-9007199254740993", "-9007199254740992"},
    {"9007199254740995", "9007199254740996"},
    {"12345678901234567890", "12345678901234567000"},
    {"9223372036854775807", "9223372036854776000"},
    {"-9223372036854775808", "-9223372036854776000"},
    {"18446744073709551615", "18446744073709552000"},
    {"18446744073709552000", "18446744073709552000"},
    {"123456789012345678901234567890", "1.2345678901234568e+29"},
    {"-999999999999999999999999999999", "-1e+30"},
    {"[0,-0,0.0,-0.0,1.0,1e2,1E+2,1e-2,0e5,-0e-5]", "[0,0,0,0,1,100,100,0.01,0,0]"},
    {"1e-400", "0"},
    {"5e-324", "5e-324"},
    {"2.4703282292062328e-324", "5e-324"},
    {"0.1", "0.1"},
    {"123456789.123456789", "123456789.12345679"},
    {"100000000000000000000", "100000000000000000000"},
    {"1e21", "1e+21"},
    {"1e-7", "1e-7"},
    {"0.000001", "0.000001"},
    {"3.5e3", "3500"},
    {"[-0.0000001,1e-6,-1e21,1.5e300,2e-308,4.9e-324,123e-20]",
     "[-1e-7,0.000001,-1e+21,1.5e+300,2e-308,5e-324,1.23e-18]"},
    {"{\"b\":1,\"2\":0,\"a\":1,\"1\":0,\"01\":2,\"-1\":3,\"4294967294\":4,\"4294967295\":5}",
     "{\"1\":0,\"2\":0,\"4294967294\":4,\"b\":1,\"a\":1,\"01\":2,\"-1\":3,\"4294967295\":5}"},
    {"{\"10\":1,\"9\":2,\"0\":3,\"00\":4,\"1.5\":5,\"1e3\":6,\" 1\":7,\"+1\":8,\"4294967296\":9,"
     "\"\":10}",
     "{\"0\":3,\"9\":2,\"10\":1,\"00\":4,\"1.5\":5,\"1e3\":6,\" 1\":7,\"+1\":8,\"4294967296\":9,"
     "\"\":10}"},
    {"[{\"z\":{\"3\":[{\"1\":1,\"0\":0}],\"x\":1}}]",
     "[{\"z\":{\"3\":[{\"0\":0,\"1\":1}],\"x\":1}}]"},
    {"{\"a\":1,\"a\":2}", "{\"a\":2}"},
    {"{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}"},
    {"{\"1\":1,\"1\":2}", "{\"1\":2}"},
    {"{\"a\":[1],\"a\":{\"b\":2}}", "{\"a\":{\"b\":2}}"},
    {"{\"__proto__\":{\"x\":1}}", "{\"__proto__\":{\"x\":1}}"},
    {"{\"__proto__\":1,\"a\":2}", "{\"__proto__\":1,\"a\":2}"},
    {"\"\\ud800\"", "\"\\ud800\""},
    {"\"\\udc00\"", "\"\\udc00\""},
    {"\"\\udc00x\\ud83d\\ude00\"", "\"\\udc00x\360\237\230\200\""},
    {"\"\\ud83d\"", "\"\\ud83d\""},
    {"\"\\ud83d\\u0041\"", "\"\\ud83dA\""},
    {"\"\\ude00\\ud83d\"", "\"\\ude00\\ud83d\""},
    {"\"\\ud83d\\ude00\"", "\"\360\237\230\200\""},
    {"\"\\uD83D\\uDE00\"", "\"\360\237\230\200\""},
    {"\"\\ud800\\ud800\\udc00\"", "\"\\ud800\360\220\200\200\""},
    {"\"\\udbff\\udfff\"", "\"\364\217\277\277\""},
    {"\"a\\ud800b\"", "\"a\\ud800b\""},
    {"\"\\ud800\\\\\"", "\"\\ud800\\\\\""},
    {"{\"\\ud800\":1}", "{\"\\ud800\":1}"},
    {"{\"\\u0000\":1,\"a\\u0000b\":2}", "{\"\\u0000\":1,\"a\\u0000b\":2}"},
    {"\"\\u0000\"", "\"\\u0000\""},
    {"\"\\u2028\\u2029\"", "\"\342\200\250\342\200\251\""},
    {"\"\\u007f\\u001f\"", "\"\177\\u001f\""},
    {"\"\\/\"", "\"/\""},
    {"\"\\b\\f\\n\\r\\t\\\"\\\\\"", "\"\\b\\f\\n\\r\\t\\\"\\\\\""},
    {"\"\\u00e9\\u00E9\303\251\360\237\230\200\"", "\"\303\251\303\251\303\251\360\237\230\200\""},
    {" 1 ", "1"},
    {"\t[ 1 , 2 ]\n", "[1,2]"},
    {"\r\n{ \"a\" : [ ] }\r\n", "{\"a\":[]}"},
    {"[1,\n2]", "[1,2]"},
    {"[1,]", NULL},
    {"[,1]", NULL},
    {"{\"a\":1,}", NULL},
    {"{,}", NULL},
    {"[01]", NULL},
    {"[1.]", NULL},
    {"[.5]", NULL},
    {"[-]", NULL},
    {"[+1]", NULL},
    {"[1e]", NULL},
    {"[1e+]", NULL},
    {"[-01]", NULL},
    {"[0x1]", NULL},
    {"[Infinity]", NULL},
    {"[NaN]", NULL},
    {"[true,false,null]", "[true,false,null]"},
    {"[tru]", NULL},
    {"[nul]", NULL},
    {"[True]", NULL},
    {"\"\\x41\"", NULL},
    {"\"\\u12\"", NULL},
    {"\"\\u12g4\"", NULL},
    {"\"\\U0041\"", NULL},
    {"\"a\tb\"", NULL},
    {"\"a\001\"", NULL},
    {"\"a", NULL},
    {"\"\\", NULL},
    {"\"\\u", NULL},
    {"\"\\ud83d\\u", NULL},
    {"'a'", NULL},
    {"{a:1}", NULL},
    {"[1 2]", NULL},
    {"{\"a\" 1}", NULL},
    {"{\"a\":1 \"b\":2}", NULL},
    {"{\"a\"}", NULL},
    {"{1:2}", NULL},
    {"[", NULL},
    {"{", NULL},
    {"]", NULL},
    {"[}", NULL},
    {"[]", "[]"},
    {"{}", "{}"},
    {"[[]]", "[[]]"},
    {"\"\"", "\"\""},
    {"null", "null"},
    {"true", "true"},
    {"false", "false"},
    {"", NULL},
    {" ", NULL},
    {"[1]x", NULL},
    {"[1][2]", NULL},
    {"\302\240[1]", NULL},
    {"\357\273\277[1]", NULL},
    {"[1]\302\240", NULL},
    {"[1]\342\200\250", NULL},
    {"\"\342\200\250\"", "\"\342\200\250\""},
    {"\"\177\"", "\"\177\""},
    {"[1\014]", NULL},
    {"[1\013]", NULL},
    {"{\"a\":{\"b\":{\"c\":[{\"d\":null}]}}}", "{\"a\":{\"b\":{\"c\":[{\"d\":null}]}}}"},
};

/* sio__json_parse on a guarded copy of s[0..n). */
static int json_parse_n(const char *s, size_t n, size_t max_depth, json_t **out, size_t *where)
{
    guard g;
    int rc = sio__json_parse(guarded(&g, s, n), n, max_depth, out, where);
    guard_free(&g);
    return rc;
}

static void test_json_node_vectors(void **state)
{
    for (size_t i = 0; i < sizeof json_vectors / sizeof *json_vectors; i++) {
        const char *t = json_vectors[i].text, *want = json_vectors[i].node;
        json_t *v = NULL;
        size_t where = SIZE_MAX;
        int rc = json_parse_n(t, strlen(t), 0, &v, &where);
        if (!want) {
            if (rc != SIO_EPROTO) fail_msg("[%s]: rc %d, want SIO_EPROTO", t, rc);
            assert_true(where <= strlen(t));
            continue;
        }
        if (rc) fail_msg("[%s]: rc %d at %zu", t, rc, where);
        const char *got = stringify(v);
        if (strcmp(got, want)) fail_msg("[%s]: got [%s], want [%s]", t, got, want);
        json_decref(v);
    }
}

/* The values the parser builds: their kinds and bytes. */
static void test_json_values(void **state)
{
    json_t *v;
    const char *t =
        "[9007199254740991,9007199254740992,-0,1.0,1e2,1e400,\"\\ud800\","
        "\"\\udc00\\ud83d\\ude00\",\"a\\u0000b\",{\"k\\u0000\":1,\"\":2,\"\\u00e9\":3}]";
    assert_int_equal(json_parse_n(t, strlen(t), 0, &v, NULL), 0);
    assert_true(json_is_integer(json_array_get(v, 0)));
    assert_true(json_is_real(json_array_get(v, 1)));
    assert_true(json_is_integer(json_array_get(v, 2)));
    assert_true(json_is_real(json_array_get(v, 3)));
    assert_true(json_is_real(json_array_get(v, 4)));
    assert_true(json_is_null(json_array_get(v, 5)));
    /* Lone surrogates are WTF-8: the 3-byte form of their code point. */
    json_t *s = json_array_get(v, 6);
    assert_int_equal(json_string_length(s), 3);
    assert_memory_equal(json_string_value(s), "\xed\xa0\x80", 3);
    s = json_array_get(v, 7);
    assert_int_equal(json_string_length(s), 7);
    assert_memory_equal(json_string_value(s), "\xed\xb0\x80\xf0\x9f\x98\x80", 7);
    s = json_array_get(v, 8);
    assert_int_equal(json_string_length(s), 3);
    assert_memory_equal(json_string_value(s), "a\0b", 3);
    /* Keys with NUL, empty keys, keys with escapes; members in the order of the text. */
    json_t *o = json_array_get(v, 9);
    assert_int_equal(json_object_size(o), 3);
    void *it = json_object_iter(o);
    assert_int_equal(json_object_iter_key_len(it), 2);
    assert_memory_equal(json_object_iter_key(it), "k\0", 2);
    it = json_object_iter_next(o, it);
    assert_int_equal(json_object_iter_key_len(it), 0);
    it = json_object_iter_next(o, it);
    assert_int_equal(json_object_iter_key_len(it), 2);
    assert_memory_equal(json_object_iter_key(it), "\xc3\xa9", 2);
    assert_int_equal(json_integer_value(json_object_getn(o, "\xc3\xa9", 2)), 3);
    json_decref(v);

    /* Duplicate keys: the last value at the first key's place, also for containers. */
    t = "{\"a\":{\"x\":[1]},\"b\":[],\"a\":[{\"y\":2}],\"c\":0}";
    assert_int_equal(json_parse_n(t, strlen(t), 0, &v, NULL), 0);
    it = json_object_iter(v);
    assert_string_equal(json_object_iter_key(it), "a");
    assert_string_equal(stringify(v), "{\"a\":[{\"y\":2}],\"b\":[],\"c\":0}");
    json_decref(v);

    /* Any top-level value, surrounded by JSON's white space only. */
    assert_int_equal(json_parse_n(" \t\r\n\"x\" \t\r\n", 11, 0, &v, NULL), 0);
    assert_string_equal(json_string_value(v), "x");
    json_decref(v);
    /* Raw bytes must be UTF-8 (not WTF-8: a lone surrogate comes only as an escape). */
    const char *bad[] = {"\"\xed\xa0\x80\"", "\"\xff\"",
                         "\"\xc3\"",         "\"\xc3",
                         "\"a\xe2\x82\"",    "\"\xf4\x90\x80\x80\"",
                         "\xc3\xa9",         "[\"\\u00e9\",\"\xc0\x80\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(json_parse_n(bad[i], strlen(bad[i]), 0, &v, NULL), SIO_EPROTO);
    /* A NUL byte is not JSON, inside a string or out. */
    assert_int_equal(json_parse_n("\"a\0\"", 4, 0, &v, NULL), SIO_EPROTO);
    assert_int_equal(json_parse_n("1\0", 2, 0, &v, NULL), SIO_EPROTO);
    assert_int_equal(json_parse_n("", 0, 0, &v, NULL), SIO_EPROTO);
    /* Cut short anywhere: refused, never read past the end (the guard page). */
    const char *whole =
        "{\"a\":[1.5e3,-2,\"\\ud83d\\ude00\\n\\u00e9\xc3\xa9\",true,false,null,{}]}";
    for (size_t n = 0; n < strlen(whole); n++)
        assert_int_equal(json_parse_n(whole, n, 0, &v, NULL), SIO_EPROTO);
    assert_int_equal(json_parse_n(whole, strlen(whole), 0, &v, NULL), 0);
    json_decref(v);
    /* The error offset is where the parser stopped. */
    size_t where;
    assert_int_equal(json_parse_n("[1,2,x]", 7, 0, &v, &where), SIO_EPROTO);
    assert_int_equal(where, 5);
}

/* Depth: max_depth arrays and objects, iteratively (no recursion), at most 2048. */
static void test_json_depth(void **state)
{
    json_t *v;
    size_t n = 2 * SIO__JSON_MAX_DEPTH + 2;
    char *deep = malloc(n + 1);
    assert_non_null(deep);
    for (size_t i = 0; i <= SIO__JSON_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[n - 1 - i] = ']';
    }
    deep[n] = 0;
    /* 2049 levels: too deep for every max_depth. */
    assert_int_equal(json_parse_n(deep, n, 0, &v, NULL), SIO_ETOOBIG);
    assert_int_equal(json_parse_n(deep, n, SIZE_MAX, &v, NULL), SIO_ETOOBIG);
    /* 2048 levels: fine by default. */
    assert_int_equal(json_parse_n(deep + 1, n - 2, 0, &v, NULL), 0);
    json_decref(v);
    assert_int_equal(json_parse_n(deep + 1, n - 2, 2047, &v, NULL), SIO_ETOOBIG);
    free(deep);
    /* Objects count as levels too, as do empty ones. */
    const char *t = "{\"a\":[{\"b\":{}}]}";
    assert_int_equal(json_parse_n(t, strlen(t), 4, &v, NULL), 0);
    json_decref(v);
    assert_int_equal(json_parse_n(t, strlen(t), 3, &v, NULL), SIO_ETOOBIG);
    assert_int_equal(json_parse_n("[[],[],[[]]]", 12, 2, &v, NULL), SIO_ETOOBIG);
    assert_int_equal(json_parse_n("[[],[],[]]", 10, 2, &v, NULL), 0);
    json_decref(v);
    assert_int_equal(json_parse_n("1", 1, 1, &v, NULL), 0);
    json_decref(v);
}

/* ------------------------------------------------------------------------------------ */
/* Nesting depth                                                                        */
/* ------------------------------------------------------------------------------------ */

static char *nested(const char *prefix, size_t depth, const char *inner)
{
    size_t n = strlen(prefix) + 2 * depth + strlen(inner) + 8; /* room for a closing "]" */
    char *s = malloc(n);
    assert_non_null(s);
    strcpy(s, prefix);
    for (size_t i = 0; i < depth; i++) strcat(s, "[");
    strcat(s, inner);
    for (size_t i = 0; i < depth; i++) strcat(s, "]");
    return s;
}

static void test_depth(void **state)
{
    /* The default: 128 levels, a placeholder counting as one. */
    char *ok = nested("2[\"a\",", 127, "1");
    strcat(ok, "]");
    guard g;
    sio__sp_packet p;
    assert_int_equal(sio__sp_decode(NULL, guarded(&g, ok, strlen(ok)), strlen(ok), &p, NULL), 0);
    guard_free(&g);
    encoded *e = encode(NULL, &p);
    assert_int_equal(e->n, 0);
    assert_string_equal(e->text, ok);
    /* One level more does not encode either. */
    json_t *deeper = json_pack("[sO]", "a", p.data);
    sio__sp_packet q = pkt(2, "/", 0, 0, deeper);
    expect_encode_rc(NULL, q, SIO_ETOOBIG);
    sio__sp_packet_clear(&p);
    free(ok);

    char *bad = nested("2[\"a\",", 128, "1");
    strcat(bad, "]");
    expect_bad(&v5, bad, SIO_ETOOBIG, "payload nested too deeply");
    free(bad);

    /* Brackets inside strings do not count; escaped quotes do not end them. */
    sio__sp_options three = {.max_depth = 3};
    expect_ok(&three, "2[\"[[[[{{{{\",{\"a\":[1]}]", "2 [\"[[[[{{{{\",{\"a\":[1]}]");
    expect_ok(&three, "2[\"\\\"[[[[\",{\"a\":[1]}]", "2 [\"\\\"[[[[\",{\"a\":[1]}]");
    expect_bad(&three, "2[\"a\",{\"a\":[[1]]}]", SIO_ETOOBIG, "payload nested too deeply");
    expect_bad(&three, "2[\"\\\\\",[[[1]]]]", SIO_ETOOBIG, "payload nested too deeply");
    /* A binary node is a level when encoded: what encodes under a bound decodes under it. */
    expect_encode_rc(&three, pkt(2, "/", 0, 0, json_pack("[s[[o]]]", "a", BIN("x"))), SIO_ETOOBIG);
    expect_encode(&three, pkt(2, "/", 0, 0, json_pack("[s[o]]", "a", BIN("x"))),
                  "51-[\"a\",[{\"_placeholder\":true,\"num\":0}]]", "<78>");
    static const sio__sp_blob x[] = {ATT("x")};
    expect_roundtrip(&three, "51-[\"a\",[{\"_placeholder\":true,\"num\":0}]]", x, 1);
    expect_bad(&three, "51-[\"a\",[[{\"_placeholder\":true,\"num\":0}]]]", SIO_ETOOBIG, NULL);

    /* A cyclic tree is refused, not followed forever. */
    json_t *loop = json_array(), *inner = json_array();
    json_array_append(inner, loop);
    json_array_append_new(loop, inner);
    sio__buf b = SIO__BUF_INIT;
    assert_int_equal(sio__sp_stringify(&b, loop, 0), SIO_ETOOBIG);
    assert_false(sio__sp_has_binary(loop));
    json_array_clear(loop);
    json_decref(loop);
    sio__buf_free(&b);
}

/* ------------------------------------------------------------------------------------ */
/* Binary nodes                                                                         */
/* ------------------------------------------------------------------------------------ */

static void test_binary_nodes(void **state)
{
    const void *d;
    size_t n;
    json_t *b = sio__sp_binary_new("a\0b\xff", 4);
    assert_true(sio__sp_is_binary(b));
    assert_int_equal(sio__sp_binary_get(b, &d, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(d, "a\0b\xff", 4);
    json_t *copy = sio__sp_deep_copy(b);
    assert_true(sio__sp_is_binary(copy));
    assert_ptr_not_equal(copy, b);
    assert_true(sio__sp_equal(b, copy));
    json_t *other = sio__sp_binary_new("a\0b\xfe", 4);
    assert_false(sio__sp_equal(b, other));
    json_decref(other);
    json_decref(copy);

    json_t *empty = sio__sp_binary_new(NULL, 0);
    assert_true(sio__sp_is_binary(empty));
    assert_int_equal(sio__sp_binary_get(empty, &d, &n), 0);
    assert_int_equal(n, 0);

    /* Look-alikes are not binary nodes. */
    json_t *two = json_object();
    json_object_setn_new_nocheck(two,
                                 "\xff"
                                 "bin",
                                 4, json_string("x"));
    json_object_set_new(two, "y", json_null());
    json_t *nonstr = json_object();
    json_object_setn_new_nocheck(nonstr,
                                 "\xff"
                                 "bin",
                                 4, json_integer(1));
    json_t *key3 = json_object();
    json_object_setn_new_nocheck(key3, "bin", 3, json_string("x"));
    json_t *key5 = json_object();
    json_object_setn_new_nocheck(key5,
                                 "\xff"
                                 "bin\0",
                                 5, json_string("x"));
    json_t *notbin[] = {two, nonstr, key3, key5, NULL};
    for (size_t i = 0; i < 5; i++) {
        assert_false(sio__sp_is_binary(notbin[i]));
        assert_int_equal(sio__sp_binary_get(notbin[i], &d, &n), SIO_EINVAL);
        assert_false(sio__sp_has_binary(notbin[i]));
    }
    json_t *s = json_string("x");
    assert_false(sio__sp_is_binary(s));
    assert_int_equal(sio__sp_binary_get(s, &d, &n), SIO_EINVAL);

    /* has_binary looks everywhere. */
    json_t *deep = json_pack("[s{s[i{s[o]}]}]", "a", "b", 1, "c", json_incref(empty));
    assert_true(sio__sp_has_binary(deep));
    assert_true(sio__sp_has_binary(b));
    json_t *none = parse("[\"a\",{\"b\":[1,{\"c\":[]}]}]");
    assert_false(sio__sp_has_binary(none));
    assert_false(sio__sp_has_binary(NULL));
    json_t *in_obj = json_pack("{so}", "k", json_incref(b));
    assert_true(sio__sp_has_binary(in_obj));

    json_decref(in_obj);
    json_decref(none);
    json_decref(deep);
    json_decref(s);
    for (size_t i = 0; i < 4; i++) json_decref(notbin[i]);
    json_decref(empty);
    json_decref(b);
}

/* Equality as a JavaScript peer sees it, and copies that keep binary nodes. */
static void test_equal_and_copy(void **state)
{
    json_t *a =
        json_pack("[s{s:o,s:i,s:f}[o]n]", "e", "k", BIN("\x00\x01"), "n", 1, "r", 0.5, BIN(""));
    json_t *b = sio__sp_deep_copy(a);
    assert_non_null(b);
    assert_true(sio__sp_equal(a, b));
    assert_string_equal(json_text(b), "[\"e\",{\"k\":\"<0001>\",\"n\":1,\"r\":0.5},[\"<>\"],null]");
    assert_true(sio__sp_is_binary(json_object_get(json_array_get(b, 1), "k")));
    /* Members in another order are the same object; numbers compare by value. */
    json_t *c =
        json_pack("[s{s:f,s:f,s:o}[o]n]", "e", "r", 0.5, "n", 1.0, "k", BIN("\x00\x01"), BIN(""));
    assert_true(sio__sp_equal(a, c));
    json_t *d =
        json_pack("[s{s:f,s:f,s:o}[o]n]", "e", "r", 0.5, "n", 1.0, "k", BIN("\x00\x02"), BIN(""));
    assert_false(sio__sp_equal(a, d));
    assert_true(sio__sp_equal(NULL, NULL));
    assert_false(sio__sp_equal(a, NULL));
    assert_false(sio__sp_equal(NULL, a));
    json_t *ints[] = {json_integer(1), json_real(1.0), json_integer(2), json_string("1"),
                      json_true(),     json_null(),    json_array(),    json_object()};
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            assert_int_equal(sio__sp_equal(ints[i], ints[j]), i == j || i + j == 1);
    for (int i = 0; i < 8; i++) json_decref(ints[i]);
    json_t *big = json_integer(9007199254740993), *big2 = json_integer(9007199254740992);
    assert_false(sio__sp_equal(big, big2));
    json_t *s1 = json_stringn("a\0b", 3), *s2 = json_stringn("a\0c", 3);
    assert_false(sio__sp_equal(s1, s2));
    json_decref(s1);
    json_decref(s2);
    json_decref(big);
    json_decref(big2);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
}

/* Nothing from the wire can be a binary node, whatever it looks like. */
static void test_binary_key_from_wire(void **state)
{
    /* The parser writes UTF-8 (WTF-8), which has no byte 0xff: "\u00ff" is two bytes. */
    const char *look[] = {"2[\"a\",{\"\\u0000bin\":\"x\"}]", "2[\"a\",{\"\\u00ffbin\":\"x\"}]",
                          "2[\"a\",{\"\303\277bin\":\"x\"}]"};
    for (size_t i = 0; i < sizeof look / sizeof *look; i++) {
        guard g;
        sio__sp_packet p;
        const char *t = look[i];
        assert_int_equal(sio__sp_decode(NULL, guarded(&g, t, strlen(t)), strlen(t), &p, NULL), 0);
        guard_free(&g);
        assert_false(sio__sp_has_binary(p.data));
        sio__sp_packet_clear(&p);
    }
    expect_ok(&v5, "2[\"a\",{\"bin\":\"x\"}]", "2 [\"a\",{\"bin\":\"x\"}]");
    expect_ok(&v5, "2[\"a\",{\"\\\\0bin\":\"x\"}]", "2 [\"a\",{\"\\\\0bin\":\"x\"}]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v5_spec_examples),
        cmocka_unit_test(test_v4_spec_examples),
        cmocka_unit_test(test_node_encoder_vectors),
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_v4_query),
        cmocka_unit_test(test_bad_type),
        cmocka_unit_test(test_bad_attachments),
        cmocka_unit_test(test_bad_namespace_and_id),
        cmocka_unit_test(test_ack_id_white_space),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_payload_rules),
        cmocka_unit_test(test_binary_reassembly),
        cmocka_unit_test(test_binary_renumbered),
        cmocka_unit_test(test_placeholders_at_reconstruction),
        cmocka_unit_test(test_binary_errors),
        cmocka_unit_test(test_placeholders_in_plain_packets),
        cmocka_unit_test(test_encode_types),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_stringify_strings),
        cmocka_unit_test(test_stringify_numbers),
        cmocka_unit_test(test_stringify_structures),
        cmocka_unit_test(test_decode_numbers),
        cmocka_unit_test(test_json_node_vectors),
        cmocka_unit_test(test_json_values),
        cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_binary_nodes),
        cmocka_unit_test(test_equal_and_copy),
        cmocka_unit_test(test_binary_key_from_wire),
        cmocka_unit_test(test_numbers_in_a_comma_locale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
