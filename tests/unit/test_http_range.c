/* Range headers: single ranges, suffixes, clamping, and everything that is ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/range.h"

static sio__range_result parse(const char *v, uint64_t size, uint64_t *s, uint64_t *e)
{
    return sio__http_range_parse(v, strlen(v), size, s, e);
}

static void test_ranges(void **state)
{
    uint64_t s, e;
    assert_int_equal(parse("bytes=0-9", 100, &s, &e), SIO__RANGE_OK);
    assert_true(s == 0 && e == 9);
    assert_int_equal(parse("bytes=90-200", 100, &s, &e), SIO__RANGE_OK);
    assert_true(s == 90 && e == 99);
    assert_int_equal(parse("bytes=5-", 10, &s, &e), SIO__RANGE_OK);
    assert_true(s == 5 && e == 9);
    assert_int_equal(parse("bytes=-3", 10, &s, &e), SIO__RANGE_OK);
    assert_true(s == 7 && e == 9);
    assert_int_equal(parse("bytes=-30", 10, &s, &e), SIO__RANGE_OK);
    assert_true(s == 0 && e == 9);
    assert_int_equal(parse(" bytes = 1 - 2 ", 10, &s, &e), SIO__RANGE_OK);
    assert_true(s == 1 && e == 2);
    assert_int_equal(parse("BYTES=0-0", 1, &s, &e), SIO__RANGE_OK);
    assert_true(s == 0 && e == 0);
}

static void test_unsatisfiable(void **state)
{
    uint64_t s, e;
    assert_int_equal(parse("bytes=10-", 10, &s, &e), SIO__RANGE_UNSATISFIABLE);
    assert_int_equal(parse("bytes=100000000-", 10, &s, &e), SIO__RANGE_UNSATISFIABLE);
    assert_int_equal(parse("bytes=-0", 10, &s, &e), SIO__RANGE_UNSATISFIABLE);
    assert_int_equal(parse("bytes=0-", 0, &s, &e), SIO__RANGE_UNSATISFIABLE);
    assert_int_equal(parse("bytes=-5", 0, &s, &e), SIO__RANGE_UNSATISFIABLE);
}

static void test_ignored(void **state)
{
    uint64_t s, e;
    const char *none[] = {"",
                          "bytes",
                          "bytes=",
                          "bytes=-",
                          "bytes=a-b",
                          "bytes=0-1,3-4",
                          "items=0-1",
                          "bytes=5-1",
                          "bytes 0-1",
                          "bytes=0-1 junk",
                          "bytes=99999999999999999999-",
                          "bytes=--1"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        assert_int_equal(parse(none[i], 10, &s, &e), SIO__RANGE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_unsatisfiable),
        cmocka_unit_test(test_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
