/* Router: exact beats prefix, longer prefix beats shorter, segment boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/http.h"

static void h1(sio_http_req *req, sio_http_res *res, void *ud) {}

static const char *match(const sio__http_router *r, const char *path)
{
    const sio__http_route *rt = sio__http_router_match(r, path);
    return rt ? (const char *)rt->ud : NULL;
}

static void test_precedence(void **state)
{
    sio__http_router r = {0};
    assert_int_equal(sio__http_router_add(&r, "/", 1, 0, 0, h1, "static"), 0);
    assert_int_equal(sio__http_router_add(&r, "/socket.io/", 1, 0, 0, h1, "eio"), 0);
    assert_int_equal(sio__http_router_add(&r, "/socket.io/socket.io.js", 0, 0, 0, h1, "bundle"), 0);
    assert_int_equal(sio__http_router_add(&r, "/api", 1, 0, 0, h1, "api"), 0);
    assert_int_equal(sio__http_router_add(&r, "/api/v2", 1, 0, 0, h1, "api2"), 0);
    assert_int_equal(sio__http_router_add(&r, "/hello", 0, 0, 0, h1, "hello"), 0);

    assert_string_equal(match(&r, "/"), "static");
    assert_string_equal(match(&r, "/index.html"), "static");
    assert_string_equal(match(&r, "/socket.io/"), "eio");
    assert_string_equal(match(&r, "/socket.io"), "eio");
    assert_string_equal(match(&r, "/socket.io/socket.io.js"), "bundle");
    assert_string_equal(match(&r, "/socket.io/socket.io.js.map"), "eio");
    assert_string_equal(match(&r, "/api"), "api");
    assert_string_equal(match(&r, "/api/x"), "api");
    assert_string_equal(match(&r, "/apix"), "static"); /* not a segment boundary */
    assert_string_equal(match(&r, "/api/v2/users"), "api2");
    assert_string_equal(match(&r, "/api/v22"), "api");
    assert_string_equal(match(&r, "/hello"), "hello");
    assert_string_equal(match(&r, "/hello/x"), "static"); /* exact route only */
    sio__http_router_free(&r);
}

static void test_no_root(void **state)
{
    sio__http_router r = {0};
    assert_int_equal(sio__http_router_add(&r, "/a", 0, SIO_HTTP_POST, 10, h1, "a"), 0);
    assert_null(match(&r, "/"));
    assert_null(match(&r, "/b"));
    assert_null(match(&r, "*"));
    const sio__http_route *rt = sio__http_router_match(&r, "/a");
    assert_non_null(rt);
    assert_int_equal(rt->methods, SIO_HTTP_POST);
    assert_int_equal(rt->max_body, 10);
    sio__http_router_free(&r);
}

static void test_defaults_and_errors(void **state)
{
    sio__http_router r = {0};
    assert_int_equal(sio__http_router_add(&r, "x", 0, 0, 0, h1, NULL), SIO_EINVAL);
    assert_int_equal(sio__http_router_add(&r, NULL, 0, 0, 0, h1, NULL), SIO_EINVAL);
    assert_int_equal(sio__http_router_add(&r, "/x", 0, 0, 0, NULL, NULL), SIO_EINVAL);
    assert_int_equal(sio__http_router_add(&r, "/x", 0, 0, 0, h1, NULL), 0);
    const sio__http_route *rt = sio__http_router_match(&r, "/x");
    assert_int_equal(rt->methods, SIO_HTTP_GET | SIO_HTTP_HEAD);
    assert_int_equal(rt->max_body, 1u << 20);
    /* Many routes force the array to grow. */
    char p[32];
    for (int i = 0; i < 40; i++) {
        snprintf(p, sizeof(p), "/r%d", i);
        assert_int_equal(sio__http_router_add(&r, p, 0, 0, 0, h1, NULL), 0);
    }
    assert_non_null(sio__http_router_match(&r, "/r39"));
    sio__http_router_free(&r);
}

static void test_methods(void **state)
{
    char allow[80];
    sio__http_allow_header(SIO_HTTP_GET | SIO_HTTP_HEAD, allow, sizeof(allow));
    assert_string_equal(allow, "GET, HEAD");
    sio__http_allow_header(SIO_HTTP_POST, allow, sizeof(allow));
    assert_string_equal(allow, "POST");
    assert_int_equal(sio__http_method_bit(HTTP_GET), SIO_HTTP_GET);
    assert_int_equal(sio__http_method_bit(HTTP_PATCH), SIO_HTTP_PATCH);
    assert_int_equal(sio__http_method_bit(HTTP_PROPFIND), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_no_root),
        cmocka_unit_test(test_defaults_and_errors),
        cmocka_unit_test(test_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
