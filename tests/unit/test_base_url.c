/* Percent-decoding and query parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/url.h"
#include "sio.h"

static void test_decode(void **state)
{
    char out[64];
    assert_int_equal(sio__url_decode(out, "a%20b+c", 7, 0), 7 - 2);
    assert_memory_equal(out, "a b+c", 5);
    assert_int_equal(sio__url_decode(out, "a%20b+c", 7, 1), 5);
    assert_memory_equal(out, "a b c", 5);
    assert_int_equal(sio__url_decode(out, "%e2%82%AC", 9, 0), 3);
    assert_memory_equal(out, "\xe2\x82\xac", 3);
    assert_int_equal(sio__url_decode(out, "%", 1, 0), SIO_EINVAL);
    assert_int_equal(sio__url_decode(out, "%4", 2, 0), SIO_EINVAL);
    assert_int_equal(sio__url_decode(out, "%zz", 3, 0), SIO_EINVAL);
    char inplace[] = "x%41y";
    assert_int_equal(sio__url_decode(inplace, inplace, 5, 0), 3);
    assert_memory_equal(inplace, "xAy", 3);
}

static void test_query(void **state)
{
    const char *q = "EIO=4&transport=polling&t=N8hyd6w&empty=&flag&sp=a+b%21";
    char out[32];
    assert_int_equal(sio__query_get(q, strlen(q), "EIO", out, sizeof(out)), 1);
    assert_string_equal(out, "4");
    assert_int_equal(sio__query_get(q, strlen(q), "transport", out, sizeof(out)), 7);
    assert_string_equal(out, "polling");
    assert_int_equal(sio__query_get(q, strlen(q), "empty", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(sio__query_get(q, strlen(q), "flag", out, sizeof(out)), 0);
    assert_int_equal(sio__query_get(q, strlen(q), "sp", out, sizeof(out)), 4);
    assert_string_equal(out, "a b!");
    assert_int_equal(sio__query_get(q, strlen(q), "sid", out, sizeof(out)), SIO_ENOTFOUND);
    assert_int_equal(sio__query_get(q, strlen(q), "EI", out, sizeof(out)), SIO_ENOTFOUND);
    assert_int_equal(sio__query_get(q, strlen(q), "transport", out, 7), SIO_ETOOBIG);
    assert_int_equal(sio__query_get(q, strlen(q), "transport", out, 8), 7);
    assert_int_equal(sio__query_get("a=%zz", 5, "a", out, sizeof(out)), SIO_EINVAL);
    assert_int_equal(sio__query_get("", 0, "a", out, sizeof(out)), SIO_ENOTFOUND);
    /* A long value decodes across the internal pieces, escapes included. */
    char longq[600] = "v=";
    for (int i = 0; i < 150; i++) strcat(longq, "%41");
    char big[200];
    assert_int_equal(sio__query_get(longq, strlen(longq), "v", big, sizeof(big)), 150);
    for (int i = 0; i < 150; i++) assert_int_equal(big[i], 'A');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
