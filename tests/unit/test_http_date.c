/* HTTP dates: formatting, the three parsed formats, and round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/date.h"
#include "sio.h"

static void test_format(void **state)
{
    char out[32];
    assert_int_equal(sio__http_date_format(out, 784111777), 29);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    sio__http_date_format(out, 0);
    assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    sio__http_date_format(out, 951782400);
    assert_string_equal(out, "Tue, 29 Feb 2000 00:00:00 GMT");
    sio__http_date_format(out, 2147483647);
    assert_string_equal(out, "Tue, 19 Jan 2038 03:14:07 GMT");
    sio__http_date_format(out, 4102444800);
    assert_string_equal(out, "Fri, 01 Jan 2100 00:00:00 GMT");
}

static void test_parse(void **state)
{
    int64_t t;
    const char *forms[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sio__http_date_parse(forms[i], strlen(forms[i]), &t), 0);
        assert_int_equal(t, 784111777);
    }
    const char *bad[] = {"",
                         "yesterday",
                         "Sun, 06 Nov 1994 08:49:37 UTC",
                         "Sun, 32 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Foo 1994 08:49:37 GMT",
                         "Sun, 06 Nov 1994 25:49:37 GMT",
                         "Sun, 06 Nov 1994 08:49:37 GMTX"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sio__http_date_parse(bad[i], strlen(bad[i]), &t), SIO_EINVAL);
}

static void test_round_trip(void **state)
{
    char out[32];
    for (int64_t t = 0; t < 4102444800; t += 86400 * 13 + 3607) {
        int64_t back;
        sio__http_date_format(out, t);
        assert_int_equal(sio__http_date_parse(out, strlen(out), &back), 0);
        assert_int_equal(back, t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
