/*
 * Tests for the incremental UTF-8 validator (src/ws/utf8.c).
 *
 * The validator is checked against an independent reference written the other way round
 * (decode the code point, then test its range), exhaustively for every sequence of up to
 * three bytes and over a grid of four-byte ones; then every classic failure class
 * (overlongs, surrogates, past U+10FFFF, stray and missing continuations) is fed split at
 * every point, and the ASCII fast path is checked with a non-ASCII byte at each position
 * of a word.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sio.h"
#include "ws/utf8.h"

/* Reference: 1 if p[0..n) is valid UTF-8, decoding each code point and checking its range. */
static int ref_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

static int split_valid(const uint8_t *p, size_t n, size_t cut)
{
    sio__utf8 v;
    sio__utf8_init(&v);
    if (sio__utf8_feed(&v, p, cut) < 0) return 0;
    if (sio__utf8_feed(&v, p + cut, n - cut) < 0) return 0;
    return sio__utf8_finish(&v) == 0;
}

static void test_exhaustive_short(void **state)
{
    uint8_t b[3];
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (uint8_t)x;
        assert_int_equal(sio__utf8_valid(b, 1), ref_valid(b, 1));
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (uint8_t)y;
            assert_int_equal(sio__utf8_valid(b, 2), ref_valid(b, 2));
            assert_int_equal(split_valid(b, 2, 1), ref_valid(b, 2));
        }
    }
    /* Every three-byte string, whole and split after the first byte. */
    for (unsigned x = 0; x < 1u << 24; x++) {
        b[0] = (uint8_t)(x >> 16), b[1] = (uint8_t)(x >> 8), b[2] = (uint8_t)x;
        int want = ref_valid(b, 3);
        if (sio__utf8_valid(b, 3) != want) fail_msg("%02x %02x %02x", b[0], b[1], b[2]);
        if ((x & 0xFF) == 0x80 && split_valid(b, 3, 1) != want) fail_msg("split %06x", x);
    }
}

static void test_four_byte_grid(void **state)
{
    static const uint8_t tails[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    uint8_t b[4];
    for (unsigned x = 0xE0; x < 0x100; x++)
        for (unsigned y = 0; y < 256; y++)
            for (size_t i = 0; i < sizeof tails; i++)
                for (size_t j = 0; j < sizeof tails; j++) {
                    b[0] = (uint8_t)x, b[1] = (uint8_t)y, b[2] = tails[i], b[3] = tails[j];
                    int want = ref_valid(b, 4);
                    assert_int_equal(sio__utf8_valid(b, 4), want);
                    for (size_t cut = 0; cut <= 4; cut++)
                        assert_int_equal(split_valid(b, 4, cut), want);
                }
}

typedef struct {
    const char *s;
    size_t bad; /* index of the rejected byte; SIZE_MAX when only finish() fails */
} bad_case;

static void test_invalid_classes(void **state)
{
    static const bad_case cases[] = {
        {"\x80", 0},                  /* stray continuation */
        {"a\xbf", 1},                 /* stray continuation after ASCII */
        {"\xc0\x80", 0},              /* overlong NUL */
        {"\xc1\xbf", 0},              /* overlong U+007F */
        {"\xe0\x80\x80", 1},          /* overlong 3-byte */
        {"\xe0\x9f\xbf", 1},          /* overlong U+07FF */
        {"\xf0\x80\x80\x80", 1},      /* overlong 4-byte */
        {"\xf0\x8f\xbf\xbf", 1},      /* overlong U+FFFF */
        {"\xed\xa0\x80", 1},          /* U+D800, first surrogate */
        {"\xed\xbf\xbf", 1},          /* U+DFFF, last surrogate */
        {"\xf4\x90\x80\x80", 1},      /* U+110000 */
        {"\xf5\x80\x80\x80", 0},      /* lead past F4 */
        {"\xff", 0},                  /* never valid */
        {"\xfe", 0},                  /* never valid */
        {"\xe2\x82\x41", 2},          /* missing continuation, ASCII next */
        {"\xc3\xc3\xa9", 1},          /* lead where a continuation belongs */
        {"abcdefgh\xc3", SIZE_MAX},   /* truncated at the end */
        {"\xf0\x9d\x84", SIZE_MAX},   /* truncated 4-byte */
        {"0123456789abcdef\x80", 16}, /* after the fast path */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const uint8_t *p = (const uint8_t *)cases[k].s;
        size_t n = strlen(cases[k].s);
        assert_false(sio__utf8_valid(p, n));
        assert_false(ref_valid(p, n));
        for (size_t cut = 0; cut <= n; cut++) assert_false(split_valid(p, n, cut));

        /* Byte by byte, the rejection happens at the documented byte. */
        sio__utf8 v = {0};
        size_t at = SIZE_MAX;
        for (size_t i = 0; i < n && at == SIZE_MAX; i++)
            if (sio__utf8_scan(&v, p + i, 1) == 0) at = i;
        assert_int_equal(at, cases[k].bad);
        if (at == SIZE_MAX) {
            assert_int_equal(sio__utf8_finish(&v), SIO_EUTF8);
        }

        /* Whole, scan reports the same index. */
        sio__utf8_init(&v);
        size_t got = sio__utf8_scan(&v, p, n);
        assert_int_equal(got, cases[k].bad == SIZE_MAX ? n : cases[k].bad);
    }
}

static void test_valid_boundaries(void **state)
{
    static const char *ok[] = {
        "",
        "plain ASCII",
        "\x7f",
        "\xc2\x80",                                  /* U+0080 */
        "\xdf\xbf",                                  /* U+07FF */
        "\xe0\xa0\x80",                              /* U+0800 */
        "\xed\x9f\xbf",                              /* U+D7FF, below the surrogates */
        "\xee\x80\x80",                              /* U+E000, above them */
        "\xef\xbf\xbf",                              /* U+FFFF */
        "\xef\xbb\xbf",                              /* BOM: allowed */
        "\xf0\x90\x80\x80",                          /* U+10000 */
        "\xf4\x8f\xbf\xbf",                          /* U+10FFFF */
        "h\xc3\xa9llo \xe2\x82\xac\xf0\x9d\x84\x9e", /* "héllo €𝄞" */
    };
    for (size_t k = 0; k < sizeof ok / sizeof *ok; k++) {
        const uint8_t *p = (const uint8_t *)ok[k];
        size_t n = strlen(ok[k]);
        assert_true(sio__utf8_valid(p, n));
        for (size_t cut = 0; cut <= n; cut++) assert_true(split_valid(p, n, cut));
        /* A valid prefix that stops inside a code point fails only at finish(). */
        for (size_t cut = 1; cut < n; cut++) {
            sio__utf8 v = {0};
            assert_int_equal(sio__utf8_feed(&v, p, cut), 0);
            if ((p[cut] & 0xC0) == 0x80) assert_int_equal(sio__utf8_finish(&v), SIO_EUTF8);
        }
    }
    assert_true(sio__utf8_valid(NULL, 0));
}

static void test_ascii_fast_path(void **state)
{
    uint8_t buf[64];
    for (size_t pos = 0; pos < 40; pos++)
        for (size_t align = 0; align < 8; align++) {
            memset(buf, 'a', sizeof buf);
            uint8_t *p = buf + align;
            size_t n = 48;
            p[pos] = 0x80; /* stray continuation at pos */
            sio__utf8 v = {0};
            assert_int_equal(sio__utf8_scan(&v, p, n), pos);
            p[pos] = 0xc3, p[pos + 1] = 0xa9; /* é at pos */
            assert_true(sio__utf8_valid(p, n));
            p[pos + 1] = 'a'; /* truncated é */
            sio__utf8_init(&v);
            assert_int_equal(sio__utf8_scan(&v, p, n), pos + 1);
        }
}

static void test_sticky_reject(void **state)
{
    sio__utf8 v = {0};
    assert_int_equal(sio__utf8_feed(&v, (const uint8_t *)"\xff", 1), SIO_EUTF8);
    assert_int_equal(sio__utf8_feed(&v, (const uint8_t *)"ok", 2), SIO_EUTF8);
    assert_int_equal(sio__utf8_feed(&v, NULL, 0), SIO_EUTF8);
    assert_int_equal(sio__utf8_scan(&v, (const uint8_t *)"ok", 2), 0);
    assert_int_equal(sio__utf8_finish(&v), SIO_EUTF8);
    sio__utf8_init(&v);
    assert_int_equal(sio__utf8_feed(&v, (const uint8_t *)"ok", 2), 0);
    assert_int_equal(sio__utf8_finish(&v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustive_short), cmocka_unit_test(test_four_byte_grid),
        cmocka_unit_test(test_invalid_classes),  cmocka_unit_test(test_valid_boundaries),
        cmocka_unit_test(test_ascii_fast_path),  cmocka_unit_test(test_sticky_reject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
