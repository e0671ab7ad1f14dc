/* Content types by extension. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/mime.h"

static void test_types(void **state)
{
    assert_string_equal(sio__mime_type("/index.html"), "text/html; charset=utf-8");
    assert_string_equal(sio__mime_type("/INDEX.HTM"), "text/html; charset=utf-8");
    assert_string_equal(sio__mime_type("/a/b.css"), "text/css; charset=utf-8");
    assert_string_equal(sio__mime_type("/socket.io.min.js"), "text/javascript; charset=utf-8");
    assert_string_equal(sio__mime_type("/x.js.map"), "application/json; charset=utf-8");
    assert_string_equal(sio__mime_type("/p.PNG"), "image/png");
    assert_string_equal(sio__mime_type("/f.woff2"), "font/woff2");
    assert_string_equal(sio__mime_type("/app.webmanifest"), "application/manifest+json");
    assert_string_equal(sio__mime_type("/x.xyz"), "application/octet-stream");
    assert_string_equal(sio__mime_type("/noext"), "application/octet-stream");
    assert_string_equal(sio__mime_type("/dir.d/file"), "application/octet-stream");
    assert_string_equal(sio__mime_type("/trailing."), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_types)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
