/* Interned strings: sharing, reference counts, growth, and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/intern.h"
#include "sio.h"

static int fail_after = -1; /* allocations left before failing; -1: never fail */

static void *counting_malloc(size_t n)
{
    if (fail_after == 0) return NULL;
    if (fail_after > 0) fail_after--;
    return malloc(n);
}

static void *counting_calloc(size_t c, size_t n)
{
    if (fail_after == 0) return NULL;
    if (fail_after > 0) fail_after--;
    return calloc(c, n);
}

static void test_share(void **state)
{
    sio__intern *t = sio__intern_new();
    assert_non_null(t);
    char a[] = "message", b[] = "message";
    const char *x = sio__intern_get(t, a);
    const char *y = sio__intern_get(t, b);
    assert_non_null(x);
    assert_ptr_equal(x, y);
    assert_ptr_not_equal(x, a);
    assert_string_equal(x, "message");
    const char *e = sio__intern_get(t, "");
    assert_string_equal(e, "");
    assert_ptr_not_equal(e, x);
    assert_int_equal(sio__intern_count(t), 2);
    /* The string stays until its last reference goes. */
    sio__intern_put(t, x);
    assert_int_equal(sio__intern_count(t), 2);
    sio__intern_ref(t, y);
    sio__intern_put(t, y);
    assert_int_equal(sio__intern_count(t), 2);
    sio__intern_put(t, y);
    assert_int_equal(sio__intern_count(t), 1);
    sio__intern_put(t, NULL);
    const char *z = sio__intern_get(t, "message");
    assert_string_equal(z, "message");
    assert_int_equal(sio__intern_count(t), 2);
    sio__intern_put(t, z);
    sio__intern_put(t, e);
    assert_int_equal(sio__intern_count(t), 0);
    sio__intern_free(t);
}

/* Thousands of names: every one found again after the table grew, removal in another
 * order than insertion, and strings left in the table freed with it (ASan checks). */
static void test_many(void **state)
{
    sio__intern *t = sio__intern_new();
    enum { N = 5000 };
    static const char *p[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "event-%d", i);
        p[i] = sio__intern_get(t, name);
        assert_non_null(p[i]);
    }
    assert_int_equal(sio__intern_count(t), N);
    for (int i = N - 1; i >= 0; i--) {
        snprintf(name, sizeof(name), "event-%d", i);
        const char *q = sio__intern_get(t, name);
        assert_ptr_equal(q, p[i]);
        sio__intern_put(t, q);
    }
    for (int i = 0; i < N; i += 2) sio__intern_put(t, p[i]);
    assert_int_equal(sio__intern_count(t), N / 2);
    for (int i = 1; i < N; i += 2) {
        snprintf(name, sizeof(name), "event-%d", i);
        assert_string_equal(p[i], name);
    }
    sio__intern_free(t);
    sio__intern_free(NULL);
}

static void test_out_of_memory(void **state)
{
    assert_int_equal(sio_replace_allocator(counting_malloc, realloc, counting_calloc, free), 0);
    fail_after = 0;
    assert_null(sio__intern_new());
    fail_after = 1; /* the table, not its buckets */
    assert_null(sio__intern_new());
    fail_after = -1;
    sio__intern *t = sio__intern_new();
    assert_non_null(t);
    fail_after = 0;
    assert_null(sio__intern_get(t, "a"));
    assert_int_equal(sio__intern_count(t), 0);
    /* A table that cannot grow still works, with longer chains. */
    char name[32];
    const char *kept[100];
    for (int i = 0; i < 100; i++) {
        fail_after = i >= 16 ? 1 : -1; /* the entry succeeds, the doubling fails */
        snprintf(name, sizeof(name), "n%d", i);
        kept[i] = sio__intern_get(t, name);
        assert_non_null(kept[i]);
    }
    fail_after = -1;
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        const char *q = sio__intern_get(t, name);
        assert_ptr_equal(q, kept[i]);
        sio__intern_put(t, q);
        sio__intern_put(t, kept[i]);
    }
    assert_int_equal(sio__intern_count(t), 0);
    sio__intern_free(t);
    assert_int_equal(sio_replace_allocator(malloc, realloc, calloc, free), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
