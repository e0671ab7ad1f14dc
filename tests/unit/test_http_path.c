/* Path normalisation: collapsing, dot segments, and every spelling of a traversal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/path.h"
#include "sio.h"

static void ok(const char *in, const char *want)
{
    char out[256];
    ptrdiff_t n = sio__http_path_normalize(in, strlen(in), out, sizeof(out));
    assert_int_equal(n, (ptrdiff_t)strlen(want));
    assert_string_equal(out, want);
}

static void bad(const char *in)
{
    char out[256];
    assert_int_equal(sio__http_path_normalize(in, strlen(in), out, sizeof(out)), SIO_EINVAL);
}

static void test_normal(void **state)
{
    ok("/", "/");
    ok("//", "/");
    ok("/a/b", "/a/b");
    ok("//a///b/./c/", "/a/b/c/");
    ok("/a/.", "/a/");
    ok("/a/./", "/a/");
    ok("/./", "/");
    ok("/%41b%2fc", "/Ab/c");
    ok("/a%20b", "/a b");
    ok("/a+b", "/a+b");
    ok("/...", "/...");
    ok("/..a/b..", "/..a/b..");
    ok("/index.html", "/index.html");
}

static void test_traversal(void **state)
{
    bad("/..");
    bad("/../x");
    bad("/a/../../x");
    bad("/a/..");
    bad("/%2e%2e/x");
    bad("/%2E%2e/x");
    bad("/a/%2E%2e%2Fb");
    bad("/.%2e/");
    bad("/%2e./");
    bad("/a%2f..%2fb");
    bad("/%00");
    bad("/a%00.png");
    bad("/a%5c..%5cb");
    bad("/a\\b");
    bad("/a%");
    bad("/a%4");
    bad("/a%zz");
    bad("a/b");
    bad("");
}

static void test_small_output(void **state)
{
    char out[4];
    assert_int_equal(sio__http_path_normalize("/abcdef", 7, out, sizeof(out)), SIO_ETOOBIG);
    assert_int_equal(sio__http_path_normalize("/ab", 3, out, sizeof(out)), 3);
    assert_string_equal(out, "/ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal),
        cmocka_unit_test(test_traversal),
        cmocka_unit_test(test_small_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
