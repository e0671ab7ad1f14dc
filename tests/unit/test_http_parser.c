/*
 * The llhttp glue: requests whole, byte by byte and split at every point; pipelining
 * stops after each message; limits and malformed input give the right status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/http.h"

typedef struct ctx {
    sio__buf body;
    int heads;
    int refuse_head; /* status on_head returns */
} ctx;

static int on_head(sio_http_req *req, void *ud)
{
    ctx *c = ud;
    c->heads++;
    return c->refuse_head;
}

static int on_body(sio_http_req *req, const uint8_t *p, size_t n, void *ud)
{
    ctx *c = ud;
    sio__buf_append(&c->body, p, n);
    return 0;
}

static const sio__http_parser_events events = {.on_head = on_head, .on_body = on_body};

typedef struct parsed {
    sio__http_parser p;
    sio_http_req req;
    ctx c;
} parsed;

static void setup(parsed *x, uint32_t max_head)
{
    memset(x, 0, sizeof(*x));
    sio__http_req_init(&x->req);
    sio__http_parser_init(&x->p, &x->req, max_head, &events, &x->c);
}

static void teardown(parsed *x)
{
    sio__http_req_free(&x->req);
    sio__buf_free(&x->c.body);
}

/* Feed in pieces of at most `step` bytes (0: whole); returns bytes consumed up to the first
 * complete message, or -1 on error. */
static ptrdiff_t feed(parsed *x, const char *s, size_t n, size_t step)
{
    size_t off = 0;
    while (off < n) {
        size_t k = step ? (n - off < step ? n - off : step) : n - off;
        ptrdiff_t r = sio__http_parser_execute(&x->p, (const uint8_t *)s + off, k);
        if (r < 0) return -1;
        off += (size_t)r;
        if (x->p.complete) return (ptrdiff_t)off;
        if ((size_t)r < k) return -1;
    }
    return (ptrdiff_t)off;
}

static const char get_req[] = "GET /a//b/./c?x=1&y=%20z HTTP/1.1\r\n"
                              "Host: example.com\r\n"
                              "X-Multi: one\r\n"
                              "Content-Length: 0\r\n"
                              "User-Agent: test\r\n\r\n";

static void check_get(parsed *x)
{
    assert_true(x->p.complete);
    assert_string_equal(sio_http_req_method(&x->req), "GET");
    assert_string_equal(sio_http_req_url(&x->req), "/a//b/./c?x=1&y=%20z");
    assert_string_equal(sio_http_req_path(&x->req), "/a/b/c");
    assert_string_equal(sio_http_req_query(&x->req), "x=1&y=%20z");
    assert_string_equal(sio_http_req_header(&x->req, "host"), "example.com");
    assert_string_equal(sio_http_req_header(&x->req, "USER-AGENT"), "test");
    assert_null(sio_http_req_header(&x->req, "cookie"));
    assert_true(x->req.keep_alive);
    assert_false(x->req.has_body);
    const char *n, *v;
    assert_int_equal(sio_http_req_header_at(&x->req, 1, &n, &v), 0);
    assert_string_equal(n, "X-Multi");
    assert_string_equal(v, "one");
    assert_int_equal(sio_http_req_header_at(&x->req, 4, &n, &v), SIO_ENOTFOUND);
}

static void test_get_every_split(void **state)
{
    size_t n = strlen(get_req);
    for (size_t step = 0; step <= n; step++) {
        parsed x;
        setup(&x, 16384);
        assert_int_equal(feed(&x, get_req, n, step), (ptrdiff_t)n);
        check_get(&x);
        teardown(&x);
    }
    /* Split in two at every point. */
    for (size_t cut = 1; cut < n; cut++) {
        parsed x;
        setup(&x, 16384);
        assert_int_equal(sio__http_parser_execute(&x.p, (const uint8_t *)get_req, cut),
                         (ptrdiff_t)cut);
        assert_int_equal(sio__http_parser_execute(&x.p, (const uint8_t *)get_req + cut, n - cut),
                         (ptrdiff_t)(n - cut));
        check_get(&x);
        teardown(&x);
    }
}

static void test_pipelined(void **state)
{
    char two[1024];
    snprintf(two, sizeof(two), "%s%s", get_req, "GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
    parsed x;
    setup(&x, 16384);
    ptrdiff_t r = sio__http_parser_execute(&x.p, (const uint8_t *)two, strlen(two));
    assert_int_equal(r, (ptrdiff_t)strlen(get_req));
    check_get(&x);
    sio__http_parser_next(&x.p);
    assert_false(x.p.complete);
    ptrdiff_t r2 =
        sio__http_parser_execute(&x.p, (const uint8_t *)two + r, strlen(two) - (size_t)r);
    assert_int_equal(r2, (ptrdiff_t)(strlen(two) - (size_t)r));
    assert_true(x.p.complete);
    assert_string_equal(sio_http_req_path(&x.req), "/second");
    assert_int_equal(x.c.heads, 2);
    teardown(&x);
}

static void test_chunked_body(void **state)
{
    static const char req[] = "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n";
    size_t n = strlen(req);
    for (size_t step = 0; step < 8; step++) {
        parsed x;
        setup(&x, 16384);
        assert_int_equal(feed(&x, req, n, step), (ptrdiff_t)n);
        assert_true(x.req.has_body);
        assert_int_equal(x.c.body.len, 11);
        assert_memory_equal(x.c.body.data, "hello world", 11);
        teardown(&x);
    }
}

static void test_content_length_body(void **state)
{
    static const char req[] =
        "POST /echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nabcd";
    parsed x;
    setup(&x, 16384);
    assert_int_equal(feed(&x, req, strlen(req), 0), (ptrdiff_t)strlen(req));
    assert_true(x.req.expect_continue);
    assert_int_equal(x.req.content_length, 4);
    assert_memory_equal(x.c.body.data, "abcd", 4);
    teardown(&x);
}

static void test_http10(void **state)
{
    parsed x;
    setup(&x, 16384);
    static const char a[] = "GET / HTTP/1.0\r\n\r\n";
    assert_int_equal(feed(&x, a, strlen(a), 0), (ptrdiff_t)strlen(a));
    assert_false(x.req.keep_alive);
    teardown(&x);
    setup(&x, 16384);
    static const char b[] = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    assert_int_equal(feed(&x, b, strlen(b), 0), (ptrdiff_t)strlen(b));
    assert_true(x.req.keep_alive);
    teardown(&x);
    setup(&x, 16384);
    static const char c[] = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
    assert_int_equal(feed(&x, c, strlen(c), 0), (ptrdiff_t)strlen(c));
    assert_false(x.req.keep_alive);
    teardown(&x);
}

static void test_upgrade_leftover(void **state)
{
    static const char req[] = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
                              "Upgrade: websocket\r\n\r\nRAWBYTES";
    size_t head = strlen(req) - 8;
    parsed x;
    setup(&x, 16384);
    ptrdiff_t r = sio__http_parser_execute(&x.p, (const uint8_t *)req, strlen(req));
    assert_int_equal(r, (ptrdiff_t)head);
    assert_true(x.p.complete);
    assert_true(x.req.upgrade);
    teardown(&x);
}

static void expect_status(const char *req, uint32_t max_head, int status)
{
    for (size_t step = 0; step < 3; step++) {
        parsed x;
        setup(&x, max_head);
        assert_int_equal(feed(&x, req, strlen(req), step ? step * 7 : 0), -1);
        assert_int_equal(x.p.status, status);
        /* Errors are sticky. */
        assert_int_equal(
            sio__http_parser_execute(&x.p, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18), -1);
        teardown(&x);
    }
}

static void test_errors(void **state)
{
    expect_status("GARBAGE\r\n\r\n", 16384, 400);
    expect_status("GET / HTTP/9.9\r\n\r\n", 16384, 400);
    expect_status("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 16384, 400);
    expect_status("GET /../etc/passwd HTTP/1.1\r\n\r\n", 16384, 400);
    expect_status("GET /%2e%2e/etc/passwd HTTP/1.1\r\n\r\n", 16384, 400);
    expect_status("GET /a%00b HTTP/1.1\r\n\r\n", 16384, 400);
    expect_status("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                  16384, 400);
    char big[2048];
    snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX-Big: %0600d\r\n\r\n", 0);
    expect_status(big, 512, 431);
    /* Many small headers over the limit too. */
    sio__buf b = SIO__BUF_INIT;
    sio__buf_append_str(&b, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 300; i++) sio__buf_printf(&b, "H%d: v\r\n", i);
    sio__buf_append_str(&b, "\r\n");
    sio__buf_nul(&b);
    expect_status((const char *)b.data, 1u << 20, 431);
    sio__buf_free(&b);
}

static void test_head_refused(void **state)
{
    parsed x;
    setup(&x, 16384);
    x.c.refuse_head = 413;
    static const char req[] = "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n";
    assert_int_equal(feed(&x, req, strlen(req), 0), -1);
    assert_int_equal(x.p.status, 413);
    teardown(&x);
}

static void test_non_path_targets(void **state)
{
    parsed x;
    setup(&x, 16384);
    static const char req[] = "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(feed(&x, req, strlen(req), 0), (ptrdiff_t)strlen(req));
    assert_string_equal(sio_http_req_path(&x.req), "*");
    teardown(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_every_split),  cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_chunked_body),     cmocka_unit_test(test_content_length_body),
        cmocka_unit_test(test_http10),           cmocka_unit_test(test_upgrade_leftover),
        cmocka_unit_test(test_errors),           cmocka_unit_test(test_head_refused),
        cmocka_unit_test(test_non_path_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
