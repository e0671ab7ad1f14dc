/*
 * sio_server_post: other threads hand work to the loop thread; every accepted post runs
 * once, on the loop thread, in each thread's order, and none is lost at a shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <uv.h>

#include "sio.h"

#define THREADS    4
#define PER_THREAD 20000

typedef struct run {
    sio_server *io;
    uv_thread_t loop_thread;
    uint32_t next[THREADS]; /* the sequence number each thread's next post must carry */
    uint32_t done, off_thread, out_of_order, closed_refused;
} run;

static run R;

static void counted(sio_server *io, void *ud)
{
    uintptr_t v = (uintptr_t)ud;
    unsigned t = (unsigned)(v >> 24), seq = (unsigned)(v & 0xffffff);
    uv_thread_t self = uv_thread_self();
    if (!uv_thread_equal(&self, &R.loop_thread)) R.off_thread++;
    if (io != R.io || t >= THREADS || seq != R.next[t]) R.out_of_order++;
    if (t < THREADS) R.next[t] = seq + 1;
    if (++R.done == THREADS * PER_THREAD) sio_server_shutdown(io, NULL, NULL);
}

static void poster(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    for (uintptr_t i = 0; i < PER_THREAD; i++)
        while (sio_server_post(R.io, counted, (void *)(t << 24 | i)) == SIO_ENOMEM) {
        }
}

static void test_threads_post_in_order(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    R.io = sio_server_new(NULL, &(sio_server_options){.log_level = SIO_LOG_ERROR});
    assert_non_null(R.io);
    assert_int_equal(sio_listen(R.io, "127.0.0.1", 0), 0); /* keeps the loop running */
    R.loop_thread = uv_thread_self();
    uv_thread_t th[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++)
        assert_int_equal(uv_thread_create(&th[t], poster, (void *)t), 0);
    assert_int_equal(sio_run(R.io), 0);
    for (int t = 0; t < THREADS; t++) uv_thread_join(&th[t]);
    assert_int_equal(R.done, THREADS * PER_THREAD);
    assert_int_equal(R.off_thread, 0);
    assert_int_equal(R.out_of_order, 0);
    sio_server_free(R.io);
}

static void refuse_after_close(sio_server *io, void *ud)
{
    (void)ud;
    if (sio_server_post(io, counted, NULL) == SIO_ESTATE) R.closed_refused++;
}

/* Posts still waiting when the server closes run then; later ones are refused. */
static void test_waiting_posts_run_at_close(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    R.io = sio_server_new(NULL, &(sio_server_options){.log_level = SIO_LOG_ERROR});
    assert_non_null(R.io);
    R.loop_thread = uv_thread_self();
    assert_int_equal(sio_server_post(R.io, NULL, NULL), SIO_EINVAL);
    for (uintptr_t i = 0; i < 100; i++)
        assert_int_equal(sio_server_post(R.io, counted, (void *)i), 0);
    assert_int_equal(sio_server_shutdown(R.io, refuse_after_close, NULL), 0);
    sio_server_free(R.io); /* runs the owned loop until everything is closed */
    assert_int_equal(R.done, 100);
    assert_int_equal(R.out_of_order, 0);
    assert_int_equal(R.closed_refused, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_post_in_order),
        cmocka_unit_test(test_waiting_posts_run_at_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
