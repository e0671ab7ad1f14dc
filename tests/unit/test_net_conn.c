/*
 * The network layer over real loopback sockets: many small writes coalesce and arrive in
 * order, a large write survives a full kernel buffer, ending flushes before FIN, deadlines
 * fire, busy polling keeps the loop awake only for its window after input, and everything is
 * released (the loop closes cleanly).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "net/net.h"
#include "net/net_int.h"

typedef struct fixture {
    uv_loop_t loop;
    sio__logger log;
    sio__net *net;
    sio__listener *l;
    sio__conn *server_conn;
    uv_tcp_t client;
    uv_connect_t creq;
    sio__buf received; /* what the client read */
    int client_eof;
    int server_closed;
    int timeouts;
    int drains;
    const char *scenario;
} fixture;

static void srv_close(sio__conn *c, void *ud)
{
    fixture *f = ud;
    f->server_closed++;
    f->server_conn = NULL;
}

static void srv_timeout(sio__conn *c, void *ud)
{
    fixture *f = ud;
    f->timeouts++;
    sio__conn_close(c);
}

static void srv_drain(sio__conn *c, void *ud)
{
    fixture *f = ud;
    f->drains++;
    sio__conn_end(c);
}

static const sio__conn_events srv_events = {
    .on_close = srv_close,
    .on_timeout = srv_timeout,
    .on_drain = srv_drain,
};

static void on_accept(sio__listener *l, sio__conn *c, void *ud)
{
    fixture *f = ud;
    f->server_conn = c;
    sio__conn_set_handler(c, &srv_events, f);
    sio__conn_read_start(c);
    if (!strcmp(f->scenario, "small")) {
        /* 10000 small writes in one turn: coalesced, in order. */
        char line[32];
        for (int i = 0; i < 10000; i++) {
            int n = snprintf(line, sizeof(line), "%d,", i);
            assert_int_equal(sio__conn_write(c, line, (size_t)n), 0);
        }
        sio__conn_end(c);
    } else if (!strcmp(f->scenario, "large")) {
        /* 8 MiB in one shared block, queued twice: more than the kernel takes at once. */
        sio__bytes *b = sio__bytes_new(4u << 20);
        for (uint32_t i = 0; i < b->cap; i++) b->data[i] = (uint8_t)(i * 7);
        b->len = b->cap;
        assert_int_equal(sio__conn_write_bytes(c, b, 0, b->len), 0);
        assert_int_equal(sio__conn_write_bytes(c, b, 0, b->len), 0);
        assert_int_equal(b->refs, 3);
        sio__bytes_unref(b);
        assert_true(sio__conn_queued(c) == (8u << 20));
        sio__conn_want_drain(c); /* on_drain ends the connection */
    } else if (!strcmp(f->scenario, "stalled-end")) {
        /* 8 MiB to a client that never reads, then the end: closed once the output has not
         * moved for the end timeout. */
        sio__bytes *b = sio__bytes_new(8u << 20);
        memset(b->data, 'x', b->cap);
        b->len = b->cap;
        assert_int_equal(sio__conn_write_bytes(c, b, 0, b->len), 0);
        sio__bytes_unref(b);
        sio__conn_end(c);
    } else if (!strcmp(f->scenario, "deadline")) {
        sio__conn_set_deadline(c, 300);
    }
}

static void cl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char slab[65536];
    buf->base = slab;
    buf->len = sizeof(slab);
}

static void cl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fixture *f = s->data;
    if (n > 0) {
        sio__buf_append(&f->received, buf->base, (size_t)n);
    } else if (n < 0) {
        f->client_eof = 1;
        uv_close((uv_handle_t *)s, NULL);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    fixture *f = req->data;
    assert_int_equal(status, 0);
    f->client.data = f;
    if (strcmp(f->scenario, "stalled-end"))
        uv_read_start((uv_stream_t *)&f->client, cl_alloc, cl_read);
}

/* A new loop with a network context listening on 127.0.0.1 at a free port, whose address
 * goes in *sa. */
static sio__net *listen_local(uv_loop_t *loop, const sio__logger *log, sio__accept_cb cb, void *ud,
                              sio__listener **l, struct sockaddr_in *sa)
{
    assert_int_equal(uv_loop_init(loop), 0);
    sio__net *net = sio__net_new(loop, log);
    assert_non_null(net);
    assert_int_equal(sio__listener_start(net, "127.0.0.1", 0, cb, ud, l), 0);
    int port = sio__listener_port(*l);
    assert_true(port > 0);
    uv_ip4_addr("127.0.0.1", port, sa);
    return net;
}

/* Once every connection and the listener are closed: free the context, let libuv release
 * the handles, and close the loop (which fails if anything is left). */
static void net_done(uv_loop_t *loop, sio__net *net)
{
    sio__net_free(net);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void run_scenario(fixture *f, const char *scenario)
{
    memset(f, 0, sizeof(*f));
    f->scenario = scenario;
    f->log.level = SIO_LOG_WARN;
    struct sockaddr_in sa;
    f->net = listen_local(&f->loop, &f->log, on_accept, f, &f->l, &sa);
    sio__net_set_end_timeout(f->net, 400);
    uv_tcp_init(&f->loop, &f->client);
    f->creq.data = f;
    uv_tcp_connect(&f->creq, &f->client, (struct sockaddr *)&sa, on_connect);
    /* Run until the client saw the end (or, not reading, the server closed), then release
     * everything. */
    if (!strcmp(scenario, "stalled-end")) {
        uint64_t give_up = uv_hrtime() + 5000000000u;
        while (!f->server_closed && uv_hrtime() < give_up) uv_run(&f->loop, UV_RUN_ONCE);
        uv_close((uv_handle_t *)&f->client, NULL);
        assert_int_equal(f->server_closed, 1);
    } else {
        for (int i = 0; i < 100000 && !f->client_eof; i++) uv_run(&f->loop, UV_RUN_ONCE);
        assert_true(f->client_eof);
    }
    sio__listener_close(f->l);
    while (f->server_conn) uv_run(&f->loop, UV_RUN_ONCE);
    net_done(&f->loop, f->net);
}

static void test_small_writes_coalesce(void **state)
{
    fixture f;
    run_scenario(&f, "small");
    sio__buf want = SIO__BUF_INIT;
    for (int i = 0; i < 10000; i++) sio__buf_printf(&want, "%d,", i);
    assert_int_equal(f.received.len, want.len);
    assert_memory_equal(f.received.data, want.data, want.len);
    assert_int_equal(f.server_closed, 1);
    sio__buf_free(&want);
    sio__buf_free(&f.received);
}

static void test_large_write(void **state)
{
    fixture f;
    run_scenario(&f, "large");
    assert_int_equal(f.received.len, 8u << 20);
    for (uint32_t i = 0; i < (8u << 20); i += 4099)
        assert_int_equal(f.received.data[i], (uint8_t)((i % (4u << 20)) * 7));
    assert_int_equal(f.drains, 1);
    sio__buf_free(&f.received);
}

static void test_deadline(void **state)
{
    fixture f;
    uint64_t t0 = uv_hrtime();
    run_scenario(&f, "deadline");
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_int_equal(f.timeouts, 1);
    assert_true(ms >= 300 && ms < 2000);
    assert_int_equal(f.received.len, 0);
}

/* A peer that stops reading cannot keep an ending connection open: it closes once its
 * output has not moved for the end timeout (400 ms here), and not before. */
static void test_stalled_end(void **state)
{
    fixture f;
    uint64_t t0 = uv_hrtime();
    run_scenario(&f, "stalled-end");
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_true(ms >= 400 && ms < 3000);
    assert_int_equal(f.timeouts, 0);
    sio__buf_free(&f.received);
}

static void test_listen_errors(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    sio__logger log = {.level = SIO_LOG_ERROR};
    sio__net *net = sio__net_new(&loop, &log);
    sio__listener *l = NULL, *l2 = NULL;
    assert_int_equal(sio__listener_start(net, "not-an-ip", 0, on_accept, NULL, &l), SIO_EINVAL);
    assert_int_equal(sio__listener_start(net, "127.0.0.1", 70000, on_accept, NULL, &l), SIO_EINVAL);
    assert_int_equal(sio__listener_start(net, "127.0.0.1", 0, on_accept, NULL, &l), 0);
    /* The same port twice fails with the system's error, and leaks nothing. */
    assert_int_equal(
        sio__listener_start(net, "127.0.0.1", sio__listener_port(l), on_accept, NULL, &l2),
        UV_EADDRINUSE);
    sio__listener_close(l);
    net_done(&loop, net);
}

/* ---- fan-out: input on one connection writes to many ---- */

#define FAN 100 /* more than the connections that make a flush wait one non-blocking poll */

typedef struct fan {
    uv_loop_t loop;
    sio__net *net;
    sio__conn *conns[FAN];
    int nconns, closed;
    uv_tcp_t clients[FAN];
    uv_connect_t creqs[FAN];
    sio__buf got[FAN];
    int connected;
} fan;

static void fan_read(sio__conn *c, uint8_t *data, size_t n, void *ud)
{
    fan *f = ud;
    for (int i = 0; i < f->nconns; i++) assert_int_equal(sio__conn_write(f->conns[i], data, n), 0);
}

static void fan_close(sio__conn *c, void *ud)
{
    ((fan *)ud)->closed++;
}

static const sio__conn_events fan_events = {.on_read = fan_read, .on_close = fan_close};

static void fan_accept(sio__listener *l, sio__conn *c, void *ud)
{
    fan *f = ud;
    f->conns[f->nconns++] = c;
    sio__conn_set_handler(c, &fan_events, f);
    sio__conn_read_start(c);
}

static void fan_cl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    sio__buf *got = s->data;
    if (n > 0) sio__buf_append(got, buf->base, (size_t)n);
}

static void fan_connected(uv_connect_t *req, int status)
{
    fan *f = req->data;
    assert_int_equal(status, 0);
    f->connected++;
    uv_read_start(req->handle, cl_alloc, fan_cl_read);
}

static void fan_done(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

static size_t fan_min_got(fan *f)
{
    size_t m = SIZE_MAX;
    for (int i = 0; i < FAN; i++) m = f->got[i].len < m ? f->got[i].len : m;
    return m;
}

/* A message that fans out to many connections reaches all of them without any further
 * event on the loop (the deferred flush must not wait for one), and a burst of messages
 * arrives whole and in order everywhere. */
static void test_fan_out(void **state)
{
    static fan f;
    memset(&f, 0, sizeof(f));
    sio__logger log = {.level = SIO_LOG_WARN};
    sio__listener *l;
    struct sockaddr_in sa;
    f.net = listen_local(&f.loop, &log, fan_accept, &f, &l, &sa);
    for (int i = 0; i < FAN; i++) {
        uv_tcp_init(&f.loop, &f.clients[i]);
        f.clients[i].data = &f.got[i];
        f.creqs[i].data = &f;
        uv_tcp_connect(&f.creqs[i], &f.clients[i], (struct sockaddr *)&sa, fan_connected);
    }
    while (f.connected < FAN || f.nconns < FAN) uv_run(&f.loop, UV_RUN_ONCE);
    /* Nothing else wakes the loop: no deadline sweep. */
    uv_timer_stop(&f.net->sweep);
    /* One message: delivered everywhere while the loop has nothing else to wake it. */
    uv_buf_t one = uv_buf_init("m0;", 3);
    assert_int_equal(uv_try_write((uv_stream_t *)&f.clients[0], &one, 1), 3);
    int timed_out = 0;
    uv_timer_t guard;
    uv_timer_init(&f.loop, &guard);
    guard.data = &timed_out;
    uv_timer_start(&guard, fan_done, 5000, 0);
    while (!timed_out && fan_min_got(&f) < 3) uv_run(&f.loop, UV_RUN_ONCE);
    assert_false(timed_out);
    /* A burst from several senders. */
    sio__buf want = SIO__BUF_INIT;
    sio__buf_append(&want, "m0;", 3);
    for (int k = 1; k <= 50; k++) {
        char m[16];
        int n = snprintf(m, sizeof(m), "m%d;", k);
        uv_buf_t b = uv_buf_init(m, (unsigned)n);
        assert_int_equal(uv_try_write((uv_stream_t *)&f.clients[0], &b, 1), n);
        sio__buf_append(&want, m, (size_t)n);
    }
    while (!timed_out && fan_min_got(&f) < want.len) uv_run(&f.loop, UV_RUN_ONCE);
    assert_false(timed_out);
    for (int i = 0; i < FAN; i++) {
        assert_int_equal(f.got[i].len, want.len);
        assert_memory_equal(f.got[i].data, want.data, want.len);
        sio__buf_free(&f.got[i]);
        uv_close((uv_handle_t *)&f.clients[i], NULL);
    }
    sio__buf_free(&want);
    uv_close((uv_handle_t *)&guard, NULL);
    sio__listener_close(l);
    while (f.closed < FAN) uv_run(&f.loop, UV_RUN_ONCE);
    net_done(&f.loop, f.net);
}

/* ---- busy polling ---- */

typedef struct spin {
    uv_loop_t loop;
    sio__net *net;
    sio__conn *conn;
    uv_tcp_t client;
    uv_connect_t creq;
    uv_check_t turns_h;
    int connected, reads, closed;
    long turns; /* loop turns counted by the check handle */
} spin;

static void spin_read(sio__conn *c, uint8_t *data, size_t n, void *ud)
{
    ((spin *)ud)->reads++;
}

static void spin_close(sio__conn *c, void *ud)
{
    ((spin *)ud)->closed = 1;
}

static const sio__conn_events spin_events = {.on_read = spin_read, .on_close = spin_close};

static void spin_accept(sio__listener *l, sio__conn *c, void *ud)
{
    spin *f = ud;
    f->conn = c;
    sio__conn_set_handler(c, &spin_events, f);
    sio__conn_read_start(c);
}

static void spin_connected(uv_connect_t *req, int status)
{
    assert_int_equal(status, 0);
    ((spin *)req->data)->connected = 1;
}

static void spin_turn(uv_check_t *h)
{
    ((spin *)h->data)->turns++;
}

/* Loop turns during the next ms milliseconds of running the loop. */
static long spin_turns_for(spin *f, unsigned ms)
{
    int done = 0;
    uv_timer_t t;
    uv_timer_init(&f->loop, &t);
    t.data = &done;
    uv_timer_start(&t, fan_done, ms, 0);
    f->turns = 0;
    while (!done) uv_run(&f->loop, UV_RUN_ONCE);
    long n = f->turns;
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return n;
}

/* Send one byte from the client and run until the server has read it. */
static void spin_poke(spin *f)
{
    int before = f->reads;
    uv_buf_t b = uv_buf_init("x", 1);
    assert_int_equal(uv_try_write((uv_stream_t *)&f->client, &b, 1), 1);
    while (f->reads == before) uv_run(&f->loop, UV_RUN_ONCE);
}

/* With busy polling off, a loop with nothing to do blocks: a handful of turns in 40 ms
 * (the timer's). With it on, input makes the loop poll without blocking (thousands of
 * turns in 40 ms; about 100,000 here) until the window after the last read has passed,
 * and then it blocks again. */
static void test_busy_poll(void **state)
{
    static spin f;
    memset(&f, 0, sizeof(f));
    sio__logger log = {.level = SIO_LOG_WARN};
    sio__listener *l;
    struct sockaddr_in sa;
    f.net = listen_local(&f.loop, &log, spin_accept, &f, &l, &sa);
    uv_timer_stop(&f.net->sweep); /* nothing else wakes the loop */
    uv_tcp_init(&f.loop, &f.client);
    f.creq.data = &f;
    uv_tcp_connect(&f.creq, &f.client, (struct sockaddr *)&sa, spin_connected);
    while (!f.connected || !f.conn) uv_run(&f.loop, UV_RUN_ONCE);
    uv_check_init(&f.loop, &f.turns_h);
    f.turns_h.data = &f;
    uv_check_start(&f.turns_h, spin_turn);
    uv_unref((uv_handle_t *)&f.turns_h);

    spin_poke(&f);
    long off = spin_turns_for(&f, 40);
    assert_true(off <= 5);

    sio__net_set_busy_poll(f.net, 300000); /* 300 ms */
    spin_poke(&f);
    long on = spin_turns_for(&f, 40);
    assert_true(on >= 1000);
    /* Past the window (300 ms after the read), the loop blocks again. */
    spin_turns_for(&f, 350);
    long after = spin_turns_for(&f, 40);
    assert_true(after <= 5);
    /* Off again: input no longer starts a window. */
    sio__net_set_busy_poll(f.net, 0);
    spin_poke(&f);
    assert_true(spin_turns_for(&f, 40) <= 5);

    uv_close((uv_handle_t *)&f.turns_h, NULL);
    uv_close((uv_handle_t *)&f.client, NULL);
    sio__listener_close(l);
    while (!f.closed) uv_run(&f.loop, UV_RUN_ONCE);
    net_done(&f.loop, f.net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_writes_coalesce),
        cmocka_unit_test(test_large_write),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_stalled_end),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_fan_out),
        cmocka_unit_test(test_busy_poll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
