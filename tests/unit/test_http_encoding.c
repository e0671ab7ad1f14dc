/*
 * Content codings: Accept-Encoding negotiation as Node's Negotiator does it, and whole-body
 * gzip/deflate that zlib reads back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "http/http.h"
#include "locale.h"

static void test_pick(void **state)
{
    (void)state;
    assert_int_equal(sio__http_pick_encoding(NULL), SIO__HTTP_ENC_NONE);
    assert_int_equal(sio__http_pick_encoding(""), SIO__HTTP_ENC_NONE);
    assert_int_equal(sio__http_pick_encoding("identity"), SIO__HTTP_ENC_NONE);
    assert_int_equal(sio__http_pick_encoding("gzip, deflate, br"), SIO__HTTP_ENC_GZIP);
    assert_int_equal(sio__http_pick_encoding("deflate"), SIO__HTTP_ENC_DEFLATE);
    assert_int_equal(sio__http_pick_encoding("GZIP"), SIO__HTTP_ENC_GZIP);
    assert_int_equal(sio__http_pick_encoding("*"), SIO__HTTP_ENC_GZIP);
    /* q-values choose; q=0 refuses; a coding named is not covered by "*". */
    assert_int_equal(sio__http_pick_encoding("gzip;q=0.5, deflate;q=0.8"), SIO__HTTP_ENC_DEFLATE);
    assert_int_equal(sio__http_pick_encoding("gzip;q=0.85, deflate;q=0.8"), SIO__HTTP_ENC_GZIP);
    assert_int_equal(sio__http_pick_encoding("gzip;q=0, deflate;q=0"), SIO__HTTP_ENC_NONE);
    assert_int_equal(sio__http_pick_encoding("gzip;q=0, *"), SIO__HTTP_ENC_DEFLATE);
    assert_int_equal(sio__http_pick_encoding("deflate;q=.25, gzip;q=.125"), SIO__HTTP_ENC_DEFLATE);
    assert_int_equal(sio__http_pick_encoding("gzip;q=junk"), SIO__HTTP_ENC_NONE);
}

/* "q=0.5" is a half in every locale, not 0 where the decimal point is a comma. */
static void test_pick_in_a_comma_locale(void **state)
{
    (void)state;
    comma_locale l;
    comma_locale_enter(&l);
    assert_int_equal(sio__http_pick_encoding("gzip;q=0.5"), SIO__HTTP_ENC_GZIP);
    assert_int_equal(sio__http_pick_encoding("gzip;q=0.5, deflate;q=0.8"), SIO__HTTP_ENC_DEFLATE);
    comma_locale_leave(&l);
}

static void round_trip(int enc)
{
    sio__buf in = {0}, out = {0};
    for (int i = 0; i < 2000; i++) assert_int_equal(sio__buf_append(&in, "hello, world ", 13), 0);
    assert_int_equal(sio__http_compress(&in, enc, 6, &out), 0);
    assert_true(out.len < in.len / 10);
    if (enc == SIO__HTTP_ENC_GZIP) assert_true(out.data[0] == 0x1f && out.data[1] == 0x8b);

    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, enc == SIO__HTTP_ENC_GZIP ? 31 : 15), Z_OK);
    unsigned char back[32768];
    z.next_in = out.data;
    z.avail_in = (uInt)out.len;
    z.next_out = back;
    z.avail_out = sizeof back;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, in.len);
    assert_memory_equal(back, in.data, in.len);
    inflateEnd(&z);
    sio__buf_free(&in);
    sio__buf_free(&out);
}

static void test_compress(void **state)
{
    (void)state;
    round_trip(SIO__HTTP_ENC_GZIP);
    round_trip(SIO__HTTP_ENC_DEFLATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_pick_in_a_comma_locale),
        cmocka_unit_test(test_compress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
