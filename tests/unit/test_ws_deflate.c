/*
 * permessage-deflate: negotiation in both roles, RFC 7692's example bytes, round trips
 * with and without context takeover, and the bound on inflated size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sio.h"
#include "ws/deflate.h"

static int nego(const char *offer, const sio__pmd_config *cfg, sio__pmd_params *p, char *resp)
{
    return sio__pmd_negotiate(offer, cfg, p, resp, 256);
}

static void test_negotiate(void **state)
{
    sio__pmd_params p;
    char r[256];
    assert_int_equal(nego("permessage-deflate", NULL, &p, r), 1);
    assert_string_equal(r, "permessage-deflate");
    assert_int_equal(nego("permessage-deflate; client_max_window_bits", NULL, &p, r), 1);
    assert_string_equal(r, "permessage-deflate");
    assert_int_equal(nego("permessage-deflate; server_max_window_bits=10", NULL, &p, r), 1);
    assert_string_equal(r, "permessage-deflate; server_max_window_bits=10");
    assert_int_equal(p.server_max_window_bits, 10);
    assert_int_equal(nego("permessage-deflate; client_max_window_bits=\"10\"", NULL, &p, r), 1);
    assert_string_equal(r, "permessage-deflate; client_max_window_bits=10");
    /* The first offer is invalid (duplicate), the second is taken. */
    assert_int_equal(
        nego("permessage-deflate; server_no_context_takeover; server_no_context_takeover,"
             " permessage-deflate; client_no_context_takeover",
             NULL, &p, r),
        1);
    assert_string_equal(r, "permessage-deflate; client_no_context_takeover");
    assert_true(p.client_no_context_takeover);
    /* Unknown parameters and bad values decline; other extensions are skipped. */
    assert_int_equal(nego("permessage-deflate; foo", NULL, &p, r), 0);
    assert_int_equal(nego("permessage-deflate; server_max_window_bits=16", NULL, &p, r), 0);
    assert_int_equal(nego("permessage-deflate; server_max_window_bits", NULL, &p, r), 0);
    assert_int_equal(nego("permessage-deflate; client_max_window_bits=7", NULL, &p, r), 0);
    assert_int_equal(nego("x-webkit-deflate-frame", NULL, &p, r), 0);
    assert_int_equal(nego("x-foo; a=\"b,c\", permessage-deflate", NULL, &p, r), 1);
    /* What the server demands. */
    sio__pmd_config cfg = {.server_no_context_takeover = 1, .client_no_context_takeover = 1};
    assert_int_equal(nego("permessage-deflate", &cfg, &p, r), 1);
    assert_string_equal(
        r, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    sio__pmd_config lim = {.client_max_window_bits = 10};
    assert_int_equal(nego("permessage-deflate", &lim, &p, r), 0);
    assert_int_equal(nego("permessage-deflate; client_max_window_bits", &lim, &p, r), 1);
    assert_string_equal(r, "permessage-deflate; client_max_window_bits=10");
}

static void test_client_side(void **state)
{
    char offer[128];
    sio__pmd_params p;
    assert_int_equal(sio__pmd_offer(NULL, offer, sizeof(offer)), 0);
    assert_string_equal(offer, "permessage-deflate; client_max_window_bits");
    assert_int_equal(sio__pmd_offer(NULL, offer, 10), SIO_ETOOBIG);
    assert_int_equal(
        sio__pmd_accept_response("permessage-deflate; server_max_window_bits=12", NULL, &p), 0);
    assert_int_equal(p.server_max_window_bits, 12);
    assert_int_equal(sio__pmd_accept_response("permessage-deflate; bogus", NULL, &p), SIO_EPROTO);
    assert_int_equal(sio__pmd_accept_response("x-other", NULL, &p), SIO_EPROTO);
}

static void test_rfc_examples(void **state)
{
    /* RFC 7692 7.2.3.1 and 7.2.3.2: "Hello" twice with a shared window. */
    sio__pmd_params p = {0};
    sio__pmd *z = sio__pmd_new(&p, SIO__PMD_SERVER, 1 << 20);
    sio__buf out = SIO__BUF_INIT;
    assert_int_equal(sio__pmd_compress(z, (const uint8_t *)"Hello", 5, &out), 0);
    static const uint8_t first[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    assert_int_equal(out.len, sizeof(first));
    assert_memory_equal(out.data, first, sizeof(first));
    out.len = 0;
    assert_int_equal(sio__pmd_compress(z, (const uint8_t *)"Hello", 5, &out), 0);
    static const uint8_t second[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    assert_int_equal(out.len, sizeof(second));
    assert_memory_equal(out.data, second, sizeof(second));
    /* The inflater reads both, keeping the window. */
    sio__pmd *in = sio__pmd_new(&p, SIO__PMD_CLIENT, 1 << 20);
    out.len = 0;
    assert_int_equal(sio__pmd_decompress(in, first, sizeof(first), &out), 0);
    assert_int_equal(sio__pmd_decompress(in, second, sizeof(second), &out), 0);
    assert_int_equal(out.len, 10);
    assert_memory_equal(out.data, "HelloHello", 10);
    sio__buf_free(&out);
    sio__pmd_free(z);
    sio__pmd_free(in);
}

static void round_trip(const uint8_t *data, size_t n, int no_takeover, int bits)
{
    sio__pmd_params p = {.server_no_context_takeover = (uint8_t)no_takeover,
                         .client_no_context_takeover = (uint8_t)no_takeover,
                         .server_max_window_bits = (uint8_t)bits,
                         .client_max_window_bits = (uint8_t)bits};
    sio__pmd *srv = sio__pmd_new(&p, SIO__PMD_SERVER, 4u << 20);
    sio__pmd *cli = sio__pmd_new(&p, SIO__PMD_CLIENT, 4u << 20);
    sio__buf z = SIO__BUF_INIT, back = SIO__BUF_INIT;
    size_t first_len = 0;
    for (int round = 0; round < 2; round++) {
        sio__pmd *from = round ? cli : srv, *to = round ? srv : cli;
        for (int rep = 0; rep < 2; rep++) {
            z.len = back.len = 0;
            assert_int_equal(sio__pmd_compress(from, data, n, &z), 0);
            if (rep == 0)
                first_len = z.len;
            else if (!no_takeover)
                assert_true(z.len <= first_len); /* a shared window never hurts */
            assert_int_equal(sio__pmd_decompress(to, z.data, z.len, &back), 0);
            assert_int_equal(back.len, n);
            if (n) assert_memory_equal(back.data, data, n);
        }
    }
    sio__buf_free(&z);
    sio__buf_free(&back);
    sio__pmd_free(srv);
    sio__pmd_free(cli);
}

static void test_round_trips(void **state)
{
    size_t big = 1u << 20;
    uint8_t *rnd = malloc(big), *zeros = calloc(1, big), *text = malloc(10240);
    srand(7);
    for (size_t i = 0; i < big; i++) rnd[i] = (uint8_t)rand();
    for (size_t i = 0; i < 10240; i++) text[i] = "the quick brown fox jumps "[i % 26];
    for (int nt = 0; nt < 2; nt++) {
        round_trip((const uint8_t *)"", 0, nt, 0);
        round_trip((const uint8_t *)"x", 1, nt, 0);
        round_trip(text, 10240, nt, 0);
        round_trip(rnd, big, nt, 0);
        round_trip(zeros, big, nt, 0);
        round_trip(text, 10240, nt, 8);
    }
    free(rnd);
    free(zeros);
    free(text);
}

static void test_bomb_and_corrupt(void **state)
{
    sio__pmd_params p = {0};
    sio__pmd *srv = sio__pmd_new(&p, SIO__PMD_SERVER, 10u << 20);
    size_t n = 10u << 20;
    uint8_t *zeros = calloc(1, n);
    sio__buf z = SIO__BUF_INIT, out = SIO__BUF_INIT;
    assert_int_equal(sio__pmd_compress(srv, zeros, n, &z), 0);
    assert_true(z.len < 20000);
    sio__pmd *cli = sio__pmd_new(&p, SIO__PMD_CLIENT, 1u << 20);
    assert_int_equal(sio__pmd_decompress(cli, z.data, z.len, &out), SIO_ETOOBIG);
    /* Stopped at the limit: never more than one chunk past it. */
    assert_true(out.len <= (1u << 20) + 1);
    assert_true(out.cap <= (2u << 20) + 64);
    sio__pmd_free(cli);
    cli = sio__pmd_new(&p, SIO__PMD_CLIENT, 1u << 20);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x12, 0x34};
    out.len = 0;
    assert_int_equal(sio__pmd_decompress(cli, junk, sizeof(junk), &out), SIO_EPROTO);
    sio__pmd_free(cli);
    sio__pmd_free(srv);
    sio__buf_free(&z);
    sio__buf_free(&out);
    free(zeros);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiate),        cmocka_unit_test(test_client_side),
        cmocka_unit_test(test_rfc_examples),     cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_bomb_and_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
