/*
 * Tests for the Engine.IO packet and payload codec (src/eio/packet.c).
 *
 * Payloads and malformed frames are decoded from a copy placed against a guard page, so
 * reading one byte past the input faults. Decoded packets are rendered into a short log
 * ("4:hello|b:01020304": type and text, or "b" and the bytes in hex) so expectations read
 * like the wire examples they come from. Vectors marked "spec" are the examples of the
 * protocol documents; those marked "node" were produced by engine.io-parser 5.2 and
 * engine.io's parser-v3 from the same packets. Every malformed input must give SIO_EPROTO
 * and deliver no packet at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "eio/packet.h"
#include "sio.h"

/* A string literal and its length, without the terminating NUL. */
#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1
/* A byte array literal and its length. */
#define B(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
/* The v4 payload separator. */
#define RS "\x1e"

enum { V4, V3_TEXT, V3_BINARY };

/* ------------------------------------------------------------------------------------ */
/* Collecting decoded packets                                                           */
/* ------------------------------------------------------------------------------------ */

#define MAX_PACKETS 64

typedef struct {
    sio__eio_packet p[MAX_PACKETS]; /* data are copies owned here */
    size_t n;
    size_t stop_after; /* return stop_rc once this many packets arrived (0: never) */
    int stop_rc;
    char log[8192];
} collector;

static int collect(void *ud, const sio__eio_packet *p)
{
    collector *c = ud;
    assert_true(c->n < MAX_PACKETS);
    assert_non_null(p->data);
    uint8_t *copy = malloc(p->len ? p->len : 1);
    assert_non_null(copy);
    memcpy(copy, p->data, p->len);
    c->p[c->n] = *p;
    c->p[c->n].data = copy;
    c->n++;
    return c->stop_after && c->n == c->stop_after ? c->stop_rc : 0;
}

static void collector_reset(collector *c)
{
    for (size_t i = 0; i < c->n; i++) free((void *)c->p[i].data);
    memset(c, 0, sizeof *c);
}

static void render_packet(char *s, size_t cap, const sio__eio_packet *p)
{
    size_t k = strlen(s);
    if (p->binary) {
        k += (size_t)snprintf(s + k, cap - k, "b:");
        for (size_t i = 0; i < p->len && k < cap; i++)
            k += (size_t)snprintf(s + k, cap - k, "%02x", p->data[i]);
        return;
    }
    k += (size_t)snprintf(s + k, cap - k, "%u:", p->type);
    for (size_t i = 0; i < p->len && k < cap; i++) {
        uint8_t c = p->data[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '|')
            k += (size_t)snprintf(s + k, cap - k, "%c", c);
        else
            k += (size_t)snprintf(s + k, cap - k, "\\x%02x", c);
    }
}

/* The packets collected so far as "4:hello|b:0102". */
static const char *render(collector *c)
{
    c->log[0] = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (i) strcat(c->log, "|");
        render_packet(c->log, sizeof c->log, &c->p[i]);
    }
    return c->log;
}

/* Decode a copy of in (against a guard page) as the given payload form. */
static int decode(int form, const uint8_t *in, size_t n, collector *c)
{
    guard g;
    guard_init(&g, n);
    uint8_t *d = guard_put(&g, in, n);
    int rc;
    switch (form) {
    case V4:
        rc = sio__eio_decode_payload_v4(d, n, collect, c);
        break;
    case V3_TEXT:
        rc = sio__eio_decode_payload_v3(d, n, 0, collect, c);
        break;
    default:
        rc = sio__eio_decode_payload_v3(d, n, 1, collect, c);
        break;
    }
    guard_free(&g);
    return rc;
}

/* Decode and compare the rendered packets. */
static void expect_ok(int form, const uint8_t *in, size_t n, const char *want)
{
    collector c = {0};
    int rc = decode(form, in, n, &c);
    if (rc != 0) fail_msg("form %d, %.*s: rc %d", form, (int)n, (const char *)in, rc);
    assert_string_equal(render(&c), want);
    collector_reset(&c);
}

/* Decode must fail with SIO_EPROTO having delivered nothing. */
static void expect_bad(int form, const uint8_t *in, size_t n)
{
    collector c = {0};
    int rc = decode(form, in, n, &c);
    if (rc != SIO_EPROTO || c.n)
        fail_msg("form %d, %.*s: rc %d, %zu packets", form, (int)n, (const char *)in, rc, c.n);
    collector_reset(&c);
}

/* sio__eio_decode_text on a copy of in against a guard page; the packet is not kept. */
static int text_rc(const char *in)
{
    size_t n = strlen(in);
    sio__eio_packet p;
    guard g;
    guard_init(&g, n);
    int rc = sio__eio_decode_text(guard_put(&g, (const uint8_t *)in, n), n, &p);
    guard_free(&g);
    return rc;
}

static const uint8_t bytes_1234[] = {1, 2, 3, 4};
static const uint8_t bytes_ff0001[] = {0xff, 0, 1};

/* Every byte value, for binary bodies. */
static uint8_t all_bytes[256];

static void fill_all_bytes(void)
{
    for (int i = 0; i < 256; i++) all_bytes[i] = (uint8_t)i;
}

#define TEXT(t, lit)                                                                               \
    ((sio__eio_packet){.type = (t), .data = (const uint8_t *)(lit), .len = sizeof(lit) - 1})
#define BIN(ptr, n)                                                                                \
    ((sio__eio_packet){.type = SIO__EIO_MESSAGE, .binary = 1, .data = (ptr), .len = (n)})

static void assert_same_packets(const collector *c, const sio__eio_packet *want, size_t n)
{
    assert_int_equal(c->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c->p[i].type, want[i].type);
        assert_int_equal(c->p[i].binary, want[i].binary);
        assert_int_equal(c->p[i].len, want[i].len);
        if (want[i].len) assert_memory_equal(c->p[i].data, want[i].data, want[i].len);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Single packets                                                                       */
/* ------------------------------------------------------------------------------------ */

static void test_decode_text_types(void **state)
{
    static const char *const types = "0123456";
    sio__eio_packet p;
    for (int t = 0; t <= 6; t++) {
        uint8_t frame[8] = {(uint8_t)types[t], 'p', 'r', 'o', 'b', 'e'};
        assert_int_equal(sio__eio_decode_text(frame, 6, &p), 0);
        assert_int_equal(p.type, t);
        assert_int_equal(p.binary, 0);
        assert_ptr_equal(p.data, frame + 1);
        assert_int_equal(p.len, 5);
        assert_int_equal(sio__eio_decode_text(frame, 1, &p), 0);
        assert_int_equal(p.type, t);
        assert_int_equal(p.len, 0);
    }

    assert_int_equal(sio__eio_decode_text(S("4€ and 😀"), &p), 0);
    assert_int_equal(p.len, sizeof("€ and 😀") - 1);
    assert_int_equal(sio__eio_decode_text(S("4{\"a\":[1,2]}"), &p), 0);
    assert_memory_equal(p.data, "{\"a\":[1,2]}", p.len);
}

static void test_decode_text_malformed(void **state)
{
    sio__eio_packet p;
    static const char *const bad_types[] = {"7", "9", "/", ":", "a", "x", " 4", "-1", RS};
    assert_int_equal(sio__eio_decode_text((const uint8_t *)"", 0, &p), SIO_EPROTO);
    for (size_t i = 0; i < sizeof bad_types / sizeof *bad_types; i++)
        assert_int_equal(text_rc(bad_types[i]), SIO_EPROTO);
    assert_int_equal(sio__eio_decode_text(B(0x00), &p), SIO_EPROTO);
    assert_int_equal(sio__eio_decode_text(B(0x04, 'a'), &p), SIO_EPROTO);
    /* A base64 packet is not a text frame: its const input cannot be decoded in place. */
    assert_int_equal(sio__eio_decode_text(S("bAQIDBA=="), &p), SIO_EPROTO);
    assert_int_equal(sio__eio_decode_text(S("b4AQIDBA=="), &p), SIO_EPROTO);

    /* Invalid UTF-8 in the body. */
    static const char *const bad_utf8[] = {
        "4\x80",             /* stray continuation */
        "4\xc3",             /* truncated two-byte */
        "4\xe2\x82",         /* truncated three-byte */
        "4\xf0\x9f\x98",     /* truncated four-byte */
        "4\xc0\xaf",         /* overlong '/' */
        "4\xc1\xbf",         /* overlong */
        "4\xe0\x80\xaf",     /* overlong three-byte */
        "4\xf0\x80\x80\xaf", /* overlong four-byte */
        "4\xed\xa0\x80",     /* UTF-16 surrogate D800 */
        "4\xed\xbf\xbf",     /* surrogate DFFF */
        "4\xf4\x90\x80\x80", /* past U+10FFFF */
        "4\xf5\x80\x80\x80", /* F5 lead */
        "4\xff",
        "4\xfe",
        "4abcdefgh\xe2\x28\xa1", /* bad continuation after the ASCII fast path */
        "4\xe2\x82\xac\xe2\x82", /* valid then truncated */
    };
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof *bad_utf8; i++)
        assert_int_equal(text_rc(bad_utf8[i]), SIO_EPROTO);

    /* The edges of the valid ranges are accepted. */
    static const char *const good_utf8[] = {
        "4\xc2\x80",     "4\xdf\xbf",         "4\xe0\xa0\x80",     "4\xed\x9f\xbf", "4\xee\x80\x80",
        "4\xef\xbf\xbf", "4\xf0\x90\x80\x80", "4\xf4\x8f\xbf\xbf", "4\x7f",
    };
    for (size_t i = 0; i < sizeof good_utf8 / sizeof *good_utf8; i++)
        assert_int_equal(text_rc(good_utf8[i]), 0);
}

static void test_decode_ws_binary(void **state)
{
    sio__eio_packet p;
    fill_all_bytes();

    /* v4: the frame is the body, whatever its first byte. */
    assert_int_equal(sio__eio_decode_ws_binary(0, all_bytes, 256, &p), 0);
    assert_int_equal(p.type, SIO__EIO_MESSAGE);
    assert_int_equal(p.binary, 1);
    assert_ptr_equal(p.data, all_bytes);
    assert_int_equal(p.len, 256);
    uint8_t one = 0;
    assert_int_equal(sio__eio_decode_ws_binary(0, &one, 0, &p), 0);
    assert_int_equal(p.len, 0);
    assert_int_equal(p.binary, 1);

    /* v3: spec "4|0|1|2|3|4|5", the type as one raw byte. */
    assert_int_equal(sio__eio_decode_ws_binary(1, B(4, 0, 1, 2, 3, 4, 5), &p), 0);
    assert_int_equal(p.type, SIO__EIO_MESSAGE);
    assert_int_equal(p.binary, 1);
    assert_int_equal(p.len, 6);
    assert_memory_equal(p.data, ((const uint8_t[]){0, 1, 2, 3, 4, 5}), 6);
    assert_int_equal(sio__eio_decode_ws_binary(1, B(4), &p), 0);
    assert_int_equal(p.len, 0);

    /* v3: empty, other types, the type as an ASCII digit. */
    assert_int_equal(sio__eio_decode_ws_binary(1, &one, 0, &p), SIO_EPROTO);
    for (int t = 0; t < 256; t++) {
        uint8_t frame[2] = {(uint8_t)t, 1};
        assert_int_equal(sio__eio_decode_ws_binary(1, frame, 2, &p), t == 4 ? 0 : SIO_EPROTO);
    }
}

static void test_encode_text(void **state)
{
    static const char *const want[] = {"0probe", "1probe", "2probe", "3probe",
                                       "4probe", "5probe", "6probe"};
    sio__buf out = SIO__BUF_INIT;
    for (uint8_t t = 0; t <= 6; t++) {
        sio__buf_reset(&out);
        sio__eio_packet p = TEXT(t, "probe");
        assert_int_equal(sio__eio_encode_text(&out, &p), 0);
        assert_int_equal(out.len, 6);
        assert_memory_equal(out.data, want[t], 6);

        /* And back. */
        sio__eio_packet q;
        assert_int_equal(sio__eio_decode_text(out.data, out.len, &q), 0);
        assert_int_equal(q.type, t);
        assert_int_equal(q.len, 5);
    }

    sio__buf_reset(&out);
    sio__eio_packet p = TEXT(SIO__EIO_PONG, "");
    assert_int_equal(sio__eio_encode_text(&out, &p), 0);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.data[0], '3');

    /* A binary packet takes the polling form; encoding appends. */
    p = BIN(bytes_1234, 4);
    assert_int_equal(sio__eio_encode_text(&out, &p), 0);
    assert_int_equal(out.len, 10);
    assert_memory_equal(out.data, "3bAQIDBA==", 10);

    /* Misuse. */
    p = TEXT(7, "x");
    assert_int_equal(sio__eio_encode_text(&out, &p), SIO_EINVAL);
    p = BIN((const uint8_t *)"x", 1);
    p.type = SIO__EIO_PING;
    assert_int_equal(sio__eio_encode_text(&out, &p), SIO_EINVAL);
    assert_int_equal(sio__eio_payload_append_v4(&out, &p), SIO_EINVAL);
    assert_int_equal(sio__eio_payload_append_v3(&out, &p), SIO_EINVAL);
    assert_int_equal(sio__eio_payload_append_v3_binary(&out, &p), SIO_EINVAL);
    assert_int_equal(out.len, 10);
    sio__buf_free(&out);
}

/* ------------------------------------------------------------------------------------ */
/* UTF-16 lengths and base64                                                            */
/* ------------------------------------------------------------------------------------ */

static void test_utf16_len(void **state)
{
    static const struct {
        const char *s;
        size_t units;
    } cases[] = {
        {"", 0},
        {"a", 1},
        {"hello", 5},
        {"€", 1},                   /* 3 bytes, 1 unit */
        {"é", 1},                   /* 2 bytes */
        {"😀", 2},                   /* 4 bytes, a surrogate pair */
        {"4€", 2},                  /* spec: "2:4€" */
        {"4a😀", 4},                 /* node: "4:4a😀" */
        {"abcdefgh", 8},            /* one ASCII word */
        {"abcdefgh😀abcdefgh€", 19}, /* across the word boundary */
        {"abcdefg😀", 9},            /* the astral char straddles a word */
        {"\xf4\x8f\xbf\xbf\xf0\x90\x80\x80", 4},
        {"\xef\xbf\xbf\xc2\x80\x7f\x00", 3}, /* stops at the NUL: strlen */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(sio__eio_utf16_len((const uint8_t *)cases[i].s, strlen(cases[i].s)),
                         cases[i].units);

    /* Every code point class at every offset in a word. */
    for (size_t pad = 0; pad < 16; pad++) {
        uint8_t buf[64];
        memset(buf, 'x', pad);
        memcpy(buf + pad, "é€😀z", 10);
        assert_int_equal(sio__eio_utf16_len(buf, pad + 10), pad + 5);
    }
}

static void test_base64_rfc4648(void **state)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    sio__buf out = SIO__BUF_INIT;
    for (size_t i = 0; i < 7; i++) {
        sio__buf_reset(&out);
        assert_int_equal(sio__eio_base64_encode(&out, (const uint8_t *)plain[i], strlen(plain[i])),
                         0);
        assert_int_equal(out.len, strlen(coded[i]));
        assert_memory_equal(out.data, coded[i], out.len);

        uint8_t dst[16];
        assert_int_equal(sio__eio_base64_decode(dst, (const uint8_t *)coded[i], strlen(coded[i])),
                         (long)strlen(plain[i]));
        assert_memory_equal(dst, plain[i], strlen(plain[i]));
    }
    sio__buf_free(&out);
}

static void test_base64_all_lengths(void **state)
{
    sio__buf out = SIO__BUF_INIT;
    guard g;
    guard_init(&g, 400);
    fill_all_bytes();
    for (size_t n = 0; n <= 256; n++) {
        sio__buf_reset(&out);
        assert_int_equal(sio__eio_base64_encode(&out, all_bytes + 256 - n, n), 0);
        assert_int_equal(out.len, (n + 2) / 3 * 4);

        /* Into another buffer, then in place against the guard page. */
        uint8_t dst[256];
        assert_int_equal(sio__eio_base64_decode(dst, out.data, out.len), (long)n);
        assert_memory_equal(dst, all_bytes + 256 - n, n);
        uint8_t *in = guard_put(&g, out.data, out.len);
        assert_int_equal(sio__eio_base64_decode(in, in, out.len), (long)n);
        assert_memory_equal(in, all_bytes + 256 - n, n);
    }
    guard_free(&g);
    sio__buf_free(&out);
}

static void test_base64_malformed(void **state)
{
    static const char *const bad[] = {
        "Z",        "Zg",      "Zg=",  "Zm9vY",     "Zm9vYg=", /* length */
        "Zg==Zg==", "Z===",    "====", "Zm9v====",  "Z=g=",    /* padding */
        "=Zg=",     "Zg=a",    "Zm=v",                         /* padding */
        "Zh==",     "Zm9=",    "AB==", "AAB=",                 /* unused bits */
        "Zm9-",     "Zm9_",    "Zm 9", "Zm9\n",     "Zm9v\r\nYg==",
        "Zm9\x80",  "Zm9\xff", "Zm9.", "Zm9v Zm9v", "\0\0\0\0",
    };
    uint8_t dst[16];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n = strlen(bad[i]);
        if (!n) n = 4; /* the NUL case */
        if (sio__eio_base64_decode(dst, (const uint8_t *)bad[i], n) != SIO_EPROTO)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    /* Every byte that is not in the alphabet, in every position of the last quantum and of
     * a full one. */
    for (int c = 0; c < 256; c++) {
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
        for (int pos = 0; pos < 8; pos++) {
            uint8_t in[8] = {'Q', 'U', 'F', 'B', 'Q', 'U', 'F', 'B'};
            in[pos] = (uint8_t)c;
            /* '=' fails too: "QU=B" is misplaced padding, "QUF=" has unused bits set. */
            assert_int_equal(sio__eio_base64_decode(dst, in, 8), ok ? 6 : SIO_EPROTO);
        }
    }
    assert_int_equal(sio__eio_base64_decode(dst, S("QUE=")), 2);
    assert_int_equal(sio__eio_base64_decode(dst, S("QQ==")), 1);
}

/* ------------------------------------------------------------------------------------ */
/* v4 payloads                                                                          */
/* ------------------------------------------------------------------------------------ */

static void test_v4_spec_examples(void **state)
{
    expect_ok(V4, S("4hello" RS "2" RS "4world"), "4:hello|2:|4:world");
    expect_ok(V4, S("4hello" RS "bAQIDBA=="), "4:hello|b:01020304");
    expect_ok(V4, S("4hello" RS "4€"), "4:hello|4:\\xe2\\x82\\xac");
    /* The open packet of the handshake example. */
    expect_ok(V4,
              S("0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":"
                "25000,\"pingTimeout\":20000,\"maxPayload\":1000000}"),
              "0:{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":"
              "25000,\"pingTimeout\":20000,\"maxPayload\":1000000}");
    expect_ok(V4, S("2probe"), "2:probe");
    expect_ok(V4, S("1"), "1:");
    expect_ok(V4, S("6" RS "6"), "6:|6:");
    /* node: encodePayload of message "a😀", ping "probe", noop, message <ff 00 01>. */
    expect_ok(V4, S("4a😀" RS "2probe" RS "6" RS "b/wAB"),
              "4:a\\xf0\\x9f\\x98\\x80|2:probe|6:|b:ff0001");
    /* An empty base64 body is an empty binary message. */
    expect_ok(V4, S("b"), "b:");
    expect_ok(V4, S("b" RS "b"), "b:|b:");
}

static void test_v4_malformed(void **state)
{
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
#define BAD(lit) {lit, sizeof(lit) - 1}
        BAD(""),              /* empty payload */
        BAD(RS),              /* two empty packets */
        BAD("4a" RS),         /* trailing separator */
        BAD(RS "4a"),         /* leading separator */
        BAD("4a" RS RS "4b"), /* empty packet in the middle */
        BAD("7"),             /* unknown types */
        BAD("4a" RS "9"),
        BAD("a"),
        BAD(" 4"),
        BAD("\004abc"),
        BAD("4ok" RS "x"),
        BAD("bAQI"), /* base64 length */
        BAD("bAQIDB"),
        BAD("bA"),
        BAD("bAQ=D"), /* padding */
        BAD("bA==="),
        BAD("b===="),
        BAD("bAQ==AQ=="),
        BAD("bAR=="), /* unused bits */
        BAD("b@@@@"), /* alphabet */
        BAD("bAQ-_"),
        BAD("bAQ" RS "ID"), /* a separator inside the base64 */
        BAD("b4AQIDBA=="),  /* the v3 form: "4AQIDBA==" has 9 chars */
        BAD("4\xff"),       /* invalid UTF-8 */
        BAD("4ok" RS "4\xed\xa0\x80"),
        BAD("4\xe2\x82" RS "\xac"), /* a separator splitting a character */
        BAD("4\xc0\x80"),
#undef BAD
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_bad(V4, (const uint8_t *)bad[i].s, bad[i].n);

    /* A bad packet anywhere stops the whole payload, whichever packet it is. */
    for (size_t pos = 0; pos < 5; pos++) {
        char buf[64] = "";
        for (size_t k = 0; k < 5; k++) {
            if (k) strcat(buf, RS);
            strcat(buf, k == pos ? "8bad" : "4good");
        }
        expect_bad(V4, (const uint8_t *)buf, strlen(buf));
    }
}

static void test_v4_callback_stops(void **state)
{
    collector c = {.stop_after = 2, .stop_rc = 42};
    assert_int_equal(decode(V4, S("4a" RS "4b" RS "4c"), &c), 42);
    assert_string_equal(render(&c), "4:a|4:b");
    collector_reset(&c);

    c = (collector){.stop_after = 1, .stop_rc = -1};
    assert_int_equal(decode(V4, S("bAQ==" RS "bAg=="), &c), -1);
    assert_string_equal(render(&c), "b:01");
    collector_reset(&c);
}

/* A payload decodes in place: spans point into it and base64 lands where it was. */
static void test_v4_in_place(void **state)
{
    uint8_t data[] = "4hi" RS "bAQID";
    collector c = {0};
    assert_int_equal(sio__eio_decode_payload_v4(data, sizeof data - 1, collect, &c), 0);
    assert_string_equal(render(&c), "4:hi|b:010203");
    assert_memory_equal(data + 5, ((const uint8_t[]){1, 2, 3}), 3);
    collector_reset(&c);
}

/* ------------------------------------------------------------------------------------ */
/* v3 text payloads                                                                     */
/* ------------------------------------------------------------------------------------ */

static void test_v3_spec_examples(void **state)
{
    expect_ok(V3_TEXT, S("6:4hello2:4€"), "4:hello|4:\\xe2\\x82\\xac");
    expect_ok(V3_TEXT, S("2:4€10:b4AQIDBA=="), "4:\\xe2\\x82\\xac|b:01020304");
    expect_ok(V3_TEXT, S("4:4hey"), "4:hey");
    expect_ok(V3_TEXT, S("6:4hello6:4world"), "4:hello|4:world");
    expect_ok(V3_TEXT,
              S("96:0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                "\"pingInterval\":25000,\"pingTimeout\":5000}"),
              "0:{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
              "\"pingInterval\":25000,\"pingTimeout\":5000}");
    /* node: message "a😀", ping "probe", noop: the astral char counts two. */
    expect_ok(V3_TEXT, S("4:4a😀6:2probe1:6"), "4:a\\xf0\\x9f\\x98\\x80|2:probe|6:");
    expect_ok(V3_TEXT, S("3:4😀"), "4:\\xf0\\x9f\\x98\\x80");
    expect_ok(V3_TEXT, S("1:21:31:5"), "2:|3:|5:");

    /* node: an empty packet list encodes as "0:"; zero-length packets are skipped. */
    expect_ok(V3_TEXT, S("0:"), "");
    expect_ok(V3_TEXT, S("0:0:"), "");
    expect_ok(V3_TEXT, S("0:6:4hello0:"), "4:hello");
    /* Leading zeros are digits (parser-v3 compares "06" == 6). */
    expect_ok(V3_TEXT, S("06:4hello"), "4:hello");
    expect_ok(V3_TEXT, S("000000000000000000000000000000002:4a"), "4:a");
    /* Base64 packets, empty or not. */
    expect_ok(V3_TEXT, S("2:b4"), "b:");
    expect_ok(V3_TEXT, S("6:b4AQ==6:b4/w=="), "b:01|b:ff");
}

static void test_v3_malformed(void **state)
{
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
#define BAD(lit) {lit, sizeof(lit) - 1}
        BAD(""),  /* empty payload */
        BAD(":"), /* missing length */
        BAD(":4hello"),
        BAD("6:4hello:"),
        BAD("x:4"), /* non-digit lengths */
        BAD(" 6:4hello"),
        BAD("+6:4hello"),
        BAD("-1:4"),
        BAD("0x6:4hello"),
        BAD("6.0:4hello"),
        BAD("6e0:4hello"),
        BAD("6"), /* trailing length, no colon */
        BAD("6:4hello2"),
        BAD("6:4hello2:"), /* length past the end */
        BAD("6:4hell"),    /* truncated */
        BAD("7:4hello"),
        BAD("2:4hello"), /* length too short: the rest is not a prefix */
        BAD("5:4hello"),
        BAD("4:4€"), /* counts units, not bytes */
        BAD("1:😀"),  /* half a surrogate pair */
        BAD("2:4😀"),
        BAD("2:4😀1:4"),
        BAD("99999999999999999999999999:4"), /* overflow */
        BAD("18446744073709551616:4"),
        BAD("18446744073709551615:4"),
        BAD("1:7"), /* unknown types */
        BAD("1:9"),
        BAD("1:a"),
        BAD("6:4hello1:x"),
        BAD("1:b"), /* base64 packets that are not messages */
        BAD("2:b9"),
        BAD("6:b2AQ=="),
        BAD("10:bAQIDBA=="),
        BAD("5:b4AQ="), /* bad base64 */
        BAD("4:b4AQ"),
        BAD("6:b4AR=="),
        BAD("6:b4A==="),
        BAD("6:b4@@@@"),
        BAD("6:b4AQ=="
            "x"),
        BAD("2:4\xff"), /* invalid UTF-8 */
        BAD("2:4\xc3"),
        BAD("2:4\xed\xa0\x80"), /* a surrogate, whatever it counts */
        BAD("2:4\xe2\x82"),
        BAD("3:4\xc0\xaf"),
        BAD("1:4\xff"),
        BAD("10:4abcdefgh\xe2\x28\xa1"),
#undef BAD
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_bad(V3_TEXT, (const uint8_t *)bad[i].s, bad[i].n);

    /* A good packet before the bad one is not delivered either. */
    expect_bad(V3_TEXT, S("6:4hello6:4world1:9"));
    expect_bad(V3_TEXT, S("6:4hello2:4€10:b4AQIDBA="));
}

/* Only the exact UTF-16 length fits a packet, whatever mix of characters it holds. */
static void test_v3_exact_lengths(void **state)
{
    static const char body[] = "4abcdefghij€é😀klmnopqrst😀😀vwxyz€";
    size_t units = sio__eio_utf16_len((const uint8_t *)body, sizeof body - 1);
    assert_int_equal(units, 1 + 10 + 1 + 1 + 2 + 10 + 4 + 5 + 1);
    for (size_t n = 1; n <= units + 3; n++) {
        uint8_t buf[128];
        int k = snprintf((char *)buf, sizeof buf, "%zu:%s", n, body);
        collector c = {0};
        int rc = decode(V3_TEXT, buf, (size_t)k, &c);
        assert_int_equal(rc, n == units ? 0 : SIO_EPROTO);
        assert_int_equal(c.n, n == units ? 1 : 0);
        collector_reset(&c);
    }
}

static void test_v3_callback_stops(void **state)
{
    collector c = {.stop_after = 1, .stop_rc = 5};
    assert_int_equal(decode(V3_TEXT, S("2:4a2:4b"), &c), 5);
    assert_string_equal(render(&c), "4:a");
    collector_reset(&c);

    c = (collector){.stop_after = 2, .stop_rc = 9};
    assert_int_equal(
        decode(V3_BINARY, B(0, 2, 0xff, '4', 'a', 1, 2, 0xff, 4, 7, 0, 1, 0xff, '1'), &c), 9);
    assert_string_equal(render(&c), "4:a|b:07");
    collector_reset(&c);
}

/* ------------------------------------------------------------------------------------ */
/* v3 binary payloads                                                                   */
/* ------------------------------------------------------------------------------------ */

static void test_v3_binary_examples(void **state)
{
    /* node: message "€", message <01 02 03 04>. The spec's own example gives the binary
     * part's length as 4 and leaves out its type byte; parser-v3 writes the 0x04 and counts
     * it. */
    expect_ok(
        V3_BINARY,
        B(0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01, 0x05, 0xff, 0x04, 0x01, 0x02, 0x03, 0x04),
        "4:\\xe2\\x82\\xac|b:01020304");
    /* The spec's bytes as written: a binary part of type 1, which is not a message. */
    expect_bad(V3_BINARY, B(0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01, 0x04, 0xff, 0x01, 0x02,
                            0x03, 0x04));
    /* node: message "a😀", ping "probe", noop, message <ff>; string lengths in bytes. */
    expect_ok(V3_BINARY,
              B(0x00, 0x00, 0x06, 0xff, 0x34, 0x61, 0xf0, 0x9f, 0x98, 0x80, 0x00, 0x06, 0xff, 0x32,
                0x70, 0x72, 0x6f, 0x62, 0x65, 0x00, 0x01, 0xff, 0x36, 0x01, 0x02, 0xff, 0x04, 0xff),
              "4:a\\xf0\\x9f\\x98\\x80|2:probe|6:|b:ff");
    /* Empty: no packets (parser-v3 encodes an empty list as an empty buffer). */
    expect_ok(V3_BINARY, (const uint8_t *)"", 0, "");
    /* A base64 packet in a string part is a binary message, as in parser-v3. */
    expect_ok(V3_BINARY,
              B(0x00, 0x01, 0x00, 0xff, 'b', '4', 'A', 'Q', 'I', 'D', 'B', 'A', '=', '='),
              "b:01020304");
    expect_ok(V3_BINARY, B(0x00, 0x02, 0xff, 'b', '4'), "b:");
    /* A binary part with only its type byte is an empty message. */
    expect_ok(V3_BINARY, B(0x01, 0x01, 0xff, 0x04), "b:");
    /* Lengths of several digits and leading zeros. */
    uint8_t big[300] = {0x01, 0x02, 0x05, 0x06, 0xff, 0x04};
    memset(big + 6, 0xab, 255);
    collector c = {0};
    assert_int_equal(decode(V3_BINARY, big, 6 + 255, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.p[0].len, 255);
    collector_reset(&c);
    expect_ok(V3_BINARY, B(0x00, 0x00, 0x00, 0x02, 0xff, '4', 'x'), "4:x");
}

static void test_v3_binary_malformed(void **state)
{
#define BAD_BIN(...) expect_bad(V3_BINARY, B(__VA_ARGS__))
    BAD_BIN(0x02, 0x01, 0xff, 0x04); /* kind neither 0 nor 1 */
    BAD_BIN(0x30, 0x01, 0xff, '4');  /* kind as an ASCII digit */
    BAD_BIN(0xff, 0x01, 0xff, 0x04);
    BAD_BIN(0x00, 0xff, '4'); /* no length digits */
    BAD_BIN(0x01, 0xff, 0x04);
    BAD_BIN(0x00, 0x0a, 0xff, '4');      /* a digit byte past 9 */
    BAD_BIN(0x00, 0x17, 0xff, '4', 'a'); /* parser-v3 would read 23 as "2","3" */
    BAD_BIN(0x00, '1', 0xff, '4');       /* ASCII digits */
    BAD_BIN(0x00);                       /* header cut short */
    BAD_BIN(0x00, 0x01);
    BAD_BIN(0x01, 0x05);
    BAD_BIN(0x00, 0x05, 0xff, '4', 'a', 'b'); /* truncated part */
    BAD_BIN(0x01, 0x05, 0xff, 0x04, 0x01);
    BAD_BIN(0x01, 0x01, 0xff);
    BAD_BIN(0x00, 0x00, 0xff); /* zero-length parts */
    BAD_BIN(0x01, 0x00, 0xff);
    BAD_BIN(0x00, 0x00, 0xff, 0x00, 0x01, 0xff, '2');
    BAD_BIN(0x01, 0x02, 0xff, 0x02, 0x00); /* binary part of type ping */
    BAD_BIN(0x01, 0x02, 0xff, '4', 0x00);  /* type as an ASCII digit */
    BAD_BIN(0x00, 0x01, 0xff, '7');        /* unknown text type */
    BAD_BIN(0x00, 0x01, 0xff, 0x04);
    BAD_BIN(0x00, 0x02, 0xff, '4', 0xff); /* invalid UTF-8 */
    BAD_BIN(0x00, 0x04, 0xff, '4', 0xed, 0xa0, 0x80);
    BAD_BIN(0x00, 0x03, 0xff, '4', 0xe2, 0x82);              /* a character cut by the length */
    BAD_BIN(0x00, 0x05, 0xff, 'b', '4', 'A', 'Q', '=');      /* bad base64 */
    BAD_BIN(0x00, 0x06, 0xff, 'b', '2', 'A', 'Q', '=', '='); /* base64 ping */
    BAD_BIN(0x00, 0x01, 0xff, 'b');
    BAD_BIN(0x00, 0x02, 0xff, '4', 'a', 0x07); /* trailing kind byte, no header */
    /* A good part before a bad one is not delivered either. */
    BAD_BIN(0x00, 0x02, 0xff, '4', 'a', 0x01, 0x02, 0xff, 0x04, 0x01, 0x05);
    BAD_BIN(0x00, 0x02, 0xff, '4', 'a', 0x01, 0x02, 0xff, 0x03, 0x01);
    /* Lengths that overflow a size_t. */
    BAD_BIN(0x01, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 0xff,
            0x04);
    BAD_BIN(0x01, 1, 8, 4, 4, 6, 7, 4, 4, 0, 7, 3, 7, 0, 9, 5, 5, 1, 6, 1, 6, 0xff, 0x04);
#undef BAD_BIN
}

/* At most 310 length digits (parser-v3's bound), however many are leading zeros. */
static void test_v3_binary_digit_limit(void **state)
{
    for (size_t digits = 300; digits <= 320; digits++) {
        uint8_t buf[400] = {0};
        buf[0] = 0x01;
        buf[digits] = 2; /* digits zeros then 2: buf[1..digits] */
        buf[digits + 1] = 0xff;
        buf[digits + 2] = 0x04;
        buf[digits + 3] = 0x2a;
        collector c = {0};
        int rc = decode(V3_BINARY, buf, digits + 4, &c);
        assert_int_equal(rc, digits <= 310 ? 0 : SIO_EPROTO);
        assert_int_equal(c.n, digits <= 310 ? 1 : 0);
        collector_reset(&c);
    }
    /* A header that never ends. */
    uint8_t forever[2000];
    memset(forever, 0x01, sizeof forever);
    expect_bad(V3_BINARY, forever, sizeof forever);
}

/* ------------------------------------------------------------------------------------ */
/* Round trips                                                                          */
/* ------------------------------------------------------------------------------------ */

typedef int (*append_fn)(sio__buf *, const sio__eio_packet *);

static size_t sample_packets(sio__eio_packet *ps)
{
    static const uint8_t mixed[] = "héllo € wörld 😀 \xf4\x8f\xbf\xbf end";
    static uint8_t long_text[3000];
    fill_all_bytes();
    for (size_t i = 0; i < sizeof long_text; i++) long_text[i] = (uint8_t)('a' + i % 26);
    memcpy(long_text + 1000, "😀", 4);
    memcpy(long_text + 2001, "€", 3);
    size_t n = 0;
    ps[n++] = TEXT(SIO__EIO_OPEN, "{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":25000}");
    ps[n++] = TEXT(SIO__EIO_CLOSE, "");
    ps[n++] = TEXT(SIO__EIO_PING, "probe");
    ps[n++] = TEXT(SIO__EIO_PONG, "probe");
    ps[n++] = TEXT(SIO__EIO_MESSAGE, "hello");
    ps[n++] = TEXT(SIO__EIO_MESSAGE, "€");
    ps[n++] = TEXT(SIO__EIO_MESSAGE, "😀");
    ps[n++] = (sio__eio_packet){.type = SIO__EIO_MESSAGE, .data = mixed, .len = sizeof mixed - 1};
    ps[n++] = TEXT(SIO__EIO_MESSAGE, "");
    ps[n++] = TEXT(SIO__EIO_MESSAGE, "1:2:3 b4 \x01 0\xc2\xa0");
    ps[n++] = TEXT(SIO__EIO_UPGRADE, "");
    ps[n++] = TEXT(SIO__EIO_NOOP, "");
    ps[n++] = BIN(all_bytes, 256);
    ps[n++] = BIN(all_bytes, 0);
    ps[n++] = BIN(all_bytes + 255, 1);
    ps[n++] = BIN(all_bytes + 30, 2);
    ps[n++] = BIN(all_bytes + 1, 3);
    ps[n++] =
        (sio__eio_packet){.type = SIO__EIO_MESSAGE, .data = long_text, .len = sizeof long_text};
    ps[n++] = TEXT(SIO__EIO_MESSAGE, "tail");
    return n;
}

static void roundtrip(int form, append_fn append, const sio__eio_packet *ps, size_t n)
{
    sio__buf out = SIO__BUF_INIT;
    for (size_t i = 0; i < n; i++) assert_int_equal(append(&out, &ps[i]), 0);
    collector c = {0};
    assert_int_equal(decode(form, out.data, out.len, &c), 0);
    assert_same_packets(&c, ps, n);
    collector_reset(&c);

    /* And each packet on its own. */
    for (size_t i = 0; i < n; i++) {
        sio__buf_reset(&out);
        assert_int_equal(append(&out, &ps[i]), 0);
        assert_int_equal(decode(form, out.data, out.len, &c), 0);
        assert_same_packets(&c, &ps[i], 1);
        collector_reset(&c);
    }
    sio__buf_free(&out);
}

static void test_roundtrip_all_forms(void **state)
{
    sio__eio_packet ps[32];
    size_t n = sample_packets(ps);
    roundtrip(V4, sio__eio_payload_append_v4, ps, n);
    roundtrip(V3_TEXT, sio__eio_payload_append_v3, ps, n);
    roundtrip(V3_BINARY, sio__eio_payload_append_v3_binary, ps, n);

    /* encode_text gives each packet as a v4 payload of one. */
    for (size_t i = 0; i < n; i++) {
        sio__buf a = SIO__BUF_INIT, b = SIO__BUF_INIT;
        assert_int_equal(sio__eio_encode_text(&a, &ps[i]), 0);
        assert_int_equal(sio__eio_payload_append_v4(&b, &ps[i]), 0);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        if (!ps[i].binary) {
            sio__eio_packet q;
            assert_int_equal(sio__eio_decode_text(a.data, a.len, &q), 0);
            assert_same_packets(&(collector){.p = {q}, .n = 1}, &ps[i], 1);
        }
        sio__buf_free(&a);
        sio__buf_free(&b);
    }
}

/* The encoders write exactly what the reference encoders write for the same packets. */
static void test_encode_vectors(void **state)
{
    const sio__eio_packet euro[] = {TEXT(SIO__EIO_MESSAGE, "€"), BIN(bytes_1234, 4)};
    const sio__eio_packet mixed[] = {TEXT(SIO__EIO_MESSAGE, "a😀"), TEXT(SIO__EIO_PING, "probe"),
                                     TEXT(SIO__EIO_NOOP, ""), BIN(all_bytes + 255, 1)};
    const sio__eio_packet v4mixed[] = {TEXT(SIO__EIO_MESSAGE, "a😀"), TEXT(SIO__EIO_PING, "probe"),
                                       TEXT(SIO__EIO_NOOP, ""), BIN(bytes_ff0001, 3)};
    const struct {
        append_fn append;
        const sio__eio_packet *ps;
        size_t n;
        const char *want;
        size_t want_len;
    } cases[] = {
#define CASE(fn, ps, lit) {fn, ps, sizeof ps / sizeof *ps, lit, sizeof(lit) - 1}
        /* spec and node */
        CASE(sio__eio_payload_append_v3, euro, "2:4€10:b4AQIDBA=="),
        CASE(sio__eio_payload_append_v3_binary, euro,
             "\x00\x04\xff\x34\xe2\x82\xac\x01\x05\xff\x04\x01\x02\x03\x04"),
        CASE(sio__eio_payload_append_v4, euro, "4€" RS "bAQIDBA=="),
        /* node */
        CASE(sio__eio_payload_append_v3, mixed, "4:4a😀6:2probe1:66:b4/w=="),
        CASE(sio__eio_payload_append_v3_binary, mixed,
             "\x00\x06\xff\x34\x61\xf0\x9f\x98\x80\x00\x06\xff\x32\x70\x72\x6f\x62\x65\x00\x01\xff"
             "\x36\x01\x02\xff\x04\xff"),
        CASE(sio__eio_payload_append_v4, v4mixed, "4a😀" RS "2probe" RS "6" RS "b/wAB"),
#undef CASE
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sio__buf out = SIO__BUF_INIT;
        for (size_t k = 0; k < cases[i].n; k++)
            assert_int_equal(cases[i].append(&out, &cases[i].ps[k]), 0);
        assert_int_equal(out.len, cases[i].want_len);
        assert_memory_equal(out.data, cases[i].want, out.len);
        sio__buf_free(&out);
    }

    /* A v3 length of several digits: 1 + 99 units. */
    sio__buf out = SIO__BUF_INIT;
    uint8_t body[99];
    memset(body, 'z', sizeof body);
    sio__eio_packet p = {.type = SIO__EIO_MESSAGE, .data = body, .len = sizeof body};
    assert_int_equal(sio__eio_payload_append_v3(&out, &p), 0);
    assert_memory_equal(out.data, "100:4zzz", 8);
    sio__buf_reset(&out);
    assert_int_equal(sio__eio_payload_append_v3_binary(&out, &p), 0);
    assert_memory_equal(out.data, ((const uint8_t[]){0, 1, 0, 0, 0xff, '4', 'z'}), 7);
    sio__buf_free(&out);
}

/* ------------------------------------------------------------------------------------ */
/* Allocation                                                                           */
/* ------------------------------------------------------------------------------------ */

static int allocs, fail_allocs;

static void *counting_malloc(size_t n)
{
    allocs++;
    return fail_allocs ? NULL : malloc(n);
}

static void *counting_realloc(void *p, size_t n)
{
    allocs++;
    return fail_allocs ? NULL : realloc(p, n);
}

static void *counting_calloc(size_t a, size_t b)
{
    allocs++;
    return fail_allocs ? NULL : calloc(a, b);
}

/* Each encoder reserves once; a failed reservation leaves the buffer as it was. */
static void test_encoders_reserve_once(void **state)
{
    static const append_fn fns[] = {sio__eio_encode_text, sio__eio_payload_append_v4,
                                    sio__eio_payload_append_v3, sio__eio_payload_append_v3_binary};
    sio__eio_packet ps[32];
    size_t n = sample_packets(ps);

    assert_int_equal(
        sio_replace_allocator(counting_malloc, counting_realloc, counting_calloc, free), 0);
    for (size_t f = 0; f < 4; f++) {
        for (size_t i = 0; i < n; i++) {
            sio__buf out = SIO__BUF_INIT;
            allocs = 0;
            assert_int_equal(fns[f](&out, &ps[i]), 0);
            assert_int_equal(allocs, 1);
            sio__buf_free(&out);

            fail_allocs = 1;
            assert_int_equal(fns[f](&out, &ps[i]), SIO_ENOMEM);
            assert_int_equal(out.len, 0);
            fail_allocs = 0;
        }
    }
    sio__buf out = SIO__BUF_INIT;
    fail_allocs = 1;
    assert_int_equal(sio__eio_base64_encode(&out, all_bytes, 10), SIO_ENOMEM);
    fail_allocs = 0;
    assert_int_equal(sio_replace_allocator(malloc, realloc, calloc, free), 0);
}

/* Decoding allocates nothing. */
static void test_decoders_allocate_nothing(void **state)
{
    assert_int_equal(
        sio_replace_allocator(counting_malloc, counting_realloc, counting_calloc, free), 0);
    fail_allocs = 1;
    allocs = 0;
    expect_ok(V4, S("4hello" RS "bAQIDBA==" RS "2probe"), "4:hello|b:01020304|2:probe");
    expect_ok(V3_TEXT, S("2:4€10:b4AQIDBA=="), "4:\\xe2\\x82\\xac|b:01020304");
    expect_ok(V3_BINARY, B(0x00, 0x02, 0xff, '4', 'a', 0x01, 0x02, 0xff, 0x04, 0x09), "4:a|b:09");
    sio__eio_packet p;
    assert_int_equal(sio__eio_decode_text(S("4x"), &p), 0);
    assert_int_equal(sio__eio_decode_ws_binary(1, B(4, 1), &p), 0);
    assert_int_equal(allocs, 0);
    fail_allocs = 0;
    assert_int_equal(sio_replace_allocator(malloc, realloc, calloc, free), 0);
}

/* Sizes that cannot be encoded fail cleanly instead of wrapping. */
static void test_encode_huge(void **state)
{
    sio__buf out = SIO__BUF_INIT;
    sio__eio_packet p = {
        .type = SIO__EIO_MESSAGE, .binary = 1, .data = all_bytes, .len = SIZE_MAX - 3};
    assert_int_equal(sio__eio_encode_text(&out, &p), SIO_ENOMEM);
    assert_int_equal(sio__eio_payload_append_v4(&out, &p), SIO_ENOMEM);
    assert_int_equal(sio__eio_payload_append_v3(&out, &p), SIO_ENOMEM);
    assert_int_equal(sio__eio_payload_append_v3_binary(&out, &p), SIO_ENOMEM);
    assert_int_equal(sio__eio_base64_encode(&out, all_bytes, SIZE_MAX - 3), SIO_ENOMEM);
    assert_int_equal(sio__eio_base64_encode(&out, all_bytes, SIZE_MAX / 4 * 3), SIO_ENOMEM);
    p.binary = 0;
    assert_int_equal(sio__eio_encode_text(&out, &p), SIO_ENOMEM);
    assert_int_equal(sio__eio_payload_append_v3_binary(&out, &p), SIO_ENOMEM);
    assert_int_equal(out.len, 0);
    sio__buf_free(&out);
}

int main(void)
{
    fill_all_bytes();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_text_types),
        cmocka_unit_test(test_decode_text_malformed),
        cmocka_unit_test(test_decode_ws_binary),
        cmocka_unit_test(test_encode_text),
        cmocka_unit_test(test_utf16_len),
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_base64_all_lengths),
        cmocka_unit_test(test_base64_malformed),
        cmocka_unit_test(test_v4_spec_examples),
        cmocka_unit_test(test_v4_malformed),
        cmocka_unit_test(test_v4_callback_stops),
        cmocka_unit_test(test_v4_in_place),
        cmocka_unit_test(test_v3_spec_examples),
        cmocka_unit_test(test_v3_malformed),
        cmocka_unit_test(test_v3_exact_lengths),
        cmocka_unit_test(test_v3_callback_stops),
        cmocka_unit_test(test_v3_binary_examples),
        cmocka_unit_test(test_v3_binary_malformed),
        cmocka_unit_test(test_v3_binary_digit_limit),
        cmocka_unit_test(test_roundtrip_all_forms),
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_encoders_reserve_once),
        cmocka_unit_test(test_decoders_allocate_nothing),
        cmocka_unit_test(test_encode_huge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
