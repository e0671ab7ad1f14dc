/* Buffers, refcounted blocks, the allocator hooks and error names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "sio.h"

static void test_buf(void **state)
{
    sio__buf b = SIO__BUF_INIT;
    assert_int_equal(sio__buf_nul(&b), 0);
    assert_string_equal((char *)b.data, "");
    for (int i = 0; i < 1000; i++) assert_int_equal(sio__buf_printf(&b, "%d,", i), 0);
    assert_true(b.len > 2000 && b.cap >= b.len);
    assert_memory_equal(b.data, "0,1,2,", 6);
    sio__buf_consume(&b, 2);
    assert_memory_equal(b.data, "1,2,", 4);
    size_t len = b.len;
    assert_int_equal(sio__buf_nul(&b), 0);
    assert_int_equal(b.len, len);
    assert_int_equal(b.data[b.len], 0);
    sio__buf_consume(&b, b.len + 10);
    assert_int_equal(b.len, 0);
    assert_int_equal(sio__buf_append_str(&b, "abc"), 0);
    assert_int_equal(sio__buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 3);
    assert_int_equal(sio__buf_reserve(&b, SIZE_MAX), SIO_ENOMEM);
    assert_int_equal(b.len, 3);
    sio__buf_reset(&b);
    assert_int_equal(b.len, 0);
    sio__buf_free(&b);
    assert_null(b.data);
}

static void test_bytes(void **state)
{
    sio__bytes *b = sio__bytes_copy("hello", 5);
    assert_int_equal(b->refs, 1);
    assert_int_equal(b->len, 5);
    assert_int_equal(b->cap, 5);
    assert_ptr_equal(sio__bytes_ref(b), b);
    assert_int_equal(b->refs, 2);
    sio__bytes_unref(b);
    sio__bytes_unref(b); /* freed here: the sanitizer would report a leak otherwise */
    sio__bytes_unref(NULL);
    assert_null(sio__bytes_new((size_t)UINT32_MAX));
}

static void test_alloc_overflow(void **state)
{
    assert_null(sio__calloc(SIZE_MAX / 2, 4));
    assert_null(sio__reallocarray(NULL, SIZE_MAX / 8, 16));
    char *s = sio__strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    sio__free(s);
    void *m = sio__memdup("xyz", 3);
    assert_memory_equal(m, "xyz", 3);
    sio__free(m);
    sio__free(NULL);
}

static int fail_after = -1;
static void *counting_malloc(size_t n)
{
    return fail_after-- == 0 ? NULL : malloc(n);
}
static void *counting_realloc(void *p, size_t n)
{
    return fail_after-- == 0 ? NULL : realloc(p, n);
}
static void *counting_calloc(size_t a, size_t b)
{
    return fail_after-- == 0 ? NULL : calloc(a, b);
}

static void test_replace_allocator(void **state)
{
    assert_int_equal(sio_replace_allocator(NULL, realloc, calloc, free), SIO_EINVAL);
    assert_int_equal(sio_replace_allocator(counting_malloc, counting_realloc, counting_calloc, free), 0);
    fail_after = 0;
    sio__buf b = SIO__BUF_INIT;
    assert_int_equal(sio__buf_append(&b, "x", 1), SIO_ENOMEM);
    fail_after = 0;
    assert_null(sio__bytes_copy("x", 1));
    assert_int_equal(sio__buf_append(&b, "x", 1), 0);
    sio__buf_free(&b);
    assert_int_equal(sio_replace_allocator(malloc, realloc, calloc, free), 0);
}

static void test_errors(void **state)
{
    assert_string_equal(sio_strerror(SIO_EPROTO), "protocol violation");
    assert_string_equal(sio_err_name(SIO_ETOOBIG), "ETOOBIG");
    assert_string_equal(sio_strerror(0), "success");
    assert_string_equal(sio_err_name(UV_EADDRINUSE), "EADDRINUSE");
    assert_string_equal(sio_strerror(SIO_ENOMEM), uv_strerror(UV_ENOMEM));
    assert_string_equal(sio_strerror(-99999), "unknown error");
    assert_string_equal(sio_err_name(12345), "EUNKNOWN");
    /* Every libsio code has a distinct name below libuv's range. */
    int codes[] = {SIO_EPROTO, SIO_ETOOBIG, SIO_ECLOSED, SIO_ENOTFOUND, SIO_EUTF8, SIO_EHTTP, SIO_ESTATE};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_true(codes[i] < -4096);
        assert_string_not_equal(sio_err_name(codes[i]), "EUNKNOWN");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),           cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_alloc_overflow), cmocka_unit_test(test_replace_allocator),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
