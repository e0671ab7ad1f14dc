/*
 * Sockets and the life of a client: TCP connects (from --sources loopback addresses), the
 * write batching, reads into the run's one slab, and closing.
 *
 * Sends queued during a loop turn are written by one uv_prepare_t: one uv_try_write per
 * connection per turn, and a uv_write of the rest if the kernel took less. Connects are
 * started at most --concurrency at a time; each source address is bound with
 * IP_BIND_ADDRESS_NO_PORT, so the port is picked at connect time per destination, which
 * lifts the 28k ephemeral-port ceiling of a single source address.
 *
 * A client is closed once: its connections are handed to uv_close together, and the
 * transport frees its state when the last one is closed. In the handshake scenario a
 * client that got its CONNECT reply is closed with a reset (SO_LINGER 0) and started again
 * from its close callback: a plain close would leave every connection in TIME_WAIT on the
 * client's side (the side that closes first), tens of thousands of them within seconds,
 * until the source ports run out; a reset leaves none, and costs the server no more (it
 * reads ECONNRESET where it would have read EOF).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "bench.h"

void conn_schedule(conn *k)
{
    if (!k->pending) {
        bench *b = k->c->b;
        k->pending = 1;
        k->next_pending = b->pending;
        b->pending = k;
    }
}

/* k failed (EOF, a read or write error): the transport may cope, else the client is done. */
static void conn_fail(conn *k)
{
    client *c = k->c;
    if (c->state < C_CLOSING && c->b->tp->conn_lost && c->b->tp->conn_lost(k)) return;
    client_close(c);
}

static void on_written(uv_write_t *req, int status)
{
    conn *k = req->data;
    k->writing = 0;
    sio__buf_reset(&k->inflight);
    if (status < 0) {
        if (status != UV_ECANCELED) conn_fail(k);
        return;
    }
    if (k->out.len) conn_schedule(k);
}

static void flush_conn(conn *k)
{
    if (k->writing || !k->out.len || !k->open || k->c->state >= C_CLOSING) return;
    uv_buf_t buf = uv_buf_init((char *)k->out.data, (unsigned)k->out.len);
    int n = uv_try_write((uv_stream_t *)&k->tcp, &buf, 1);
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) {
        conn_fail(k);
        return;
    }
    sio__buf_consume(&k->out, (size_t)n);
    if (!k->out.len) return;
    sio__buf tmp = k->inflight; /* swap: the queue goes out, the empty buffer comes back */
    k->inflight = k->out;
    k->out = tmp;
    buf = uv_buf_init((char *)k->inflight.data, (unsigned)k->inflight.len);
    k->wreq.data = k;
    if (uv_write(&k->wreq, (uv_stream_t *)&k->tcp, &buf, 1, on_written) < 0) {
        conn_fail(k);
        return;
    }
    k->writing = 1;
}

void on_flush(uv_prepare_t *h)
{
    bench *b = h->data;
    while (b->pending) {
        conn *k = b->pending;
        b->pending = k->next_pending;
        k->pending = 0;
        if (b->tp->prepare && k->open && k->c->state < C_CLOSING) b->tp->prepare(k);
        flush_conn(k);
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    conn *k = h->data;
    *buf = uv_buf_init((char *)k->c->b->slab, SLAB_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *k = s->data;
    if (nread == 0) return;
    if (nread < 0) {
        conn_fail(k);
        return;
    }
    if (k->c->state < C_CLOSING) k->c->b->tp->read(k, (uint8_t *)buf->base, (size_t)nread);
}

static void on_connect(uv_connect_t *req, int status)
{
    conn *k = req->data;
    client *c = k->c;
    if (status < 0) {
        if (c->state == C_CONNECTING)
            fprintf(stderr, "sio-bench: client %u: connect: %s\n", c->index, uv_strerror(status));
        client_close(c);
        return;
    }
    uv_tcp_nodelay(&k->tcp, 1);
    if (uv_read_start((uv_stream_t *)&k->tcp, on_alloc, on_read) < 0) {
        client_close(c);
        return;
    }
    c->b->tp->connected(k);
}

int conn_open(conn *k, client *c)
{
    bench *b = c->b;
    struct sockaddr_in dst, src;
    int rc = uv_ip4_addr(b->host, b->port, &dst);
    if (rc < 0) return rc;
    if ((rc = uv_tcp_init_ex(b->loop, &k->tcp, AF_INET)) < 0) return rc;
    k->c = c;
    k->tcp.data = k;
    k->open = 1;
    c->nopen++;
    if (b->sources > 1) {
        uv_os_fd_t fd;
        int one = 1;
        char ip[32];
        snprintf(ip, sizeof ip, "127.0.0.%u", 1 + c->index % b->sources);
        uv_ip4_addr(ip, 0, &src);
        if (uv_fileno((uv_handle_t *)&k->tcp, &fd) == 0)
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if ((rc = uv_tcp_bind(&k->tcp, (const struct sockaddr *)&src, 0)) < 0) return rc;
    }
    k->creq.data = k;
    return uv_tcp_connect(&k->creq, &k->tcp, (const struct sockaddr *)&dst, on_connect);
}

static int client_start(bench *b, client *c);

static void client_closed(client *c)
{
    bench *b = c->b;
    c->state = C_CLOSED;
    b->closing--;
    b->tp->release(c);
    if (c->recycle && b->phase < PH_DONE) {
        c->recycle = 0;
        int rc = client_start(b, c);
        if (rc < 0) fprintf(stderr, "sio-bench: client %u: %s\n", c->index, uv_strerror(rc));
    }
}

static void on_conn_closed(uv_handle_t *h)
{
    conn *k = h->data;
    client *c = k->c;
    sio__buf_free(&k->out);
    sio__buf_free(&k->inflight);
    k->closing = 0;
    c->nopen--;
    if (c->state >= C_CLOSING) {
        if (!c->nopen) client_closed(c);
    } else if (c->b->tp->conn_closed) {
        c->b->tp->conn_closed(k);
    }
}

void conn_close(conn *k)
{
    if (!k->open) return;
    k->open = 0;
    k->closing = 1;
    uv_close((uv_handle_t *)&k->tcp, on_conn_closed);
}

/* Hand every open connection of c to uv_close (c->state is C_CLOSING already). */
static void close_conns(client *c)
{
    c->b->closing++;
    if (!c->nopen) {
        client_closed(c);
        return;
    }
    for (int i = 0; i < 2; i++) {
        conn *k = &c->io[i];
        uv_os_fd_t fd;
        struct linger reset = {1, 0};
        if (k->open && c->recycle && uv_fileno((uv_handle_t *)&k->tcp, &fd) == 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        conn_close(k);
    }
}

static int client_start(bench *b, client *c)
{
    c->state = C_CONNECTING;
    c->t_start = uv_hrtime();
    int rc = b->tp->start(c);
    if (rc < 0) {
        c->state = C_CLOSING;
        b->failed++;
        close_conns(c);
        if (b->scenario == SC_HANDSHAKE && b->failed == b->n) finish(b);
    }
    return rc;
}

void client_ready(client *c)
{
    bench *b = c->b;
    c->state = C_READY;
    b->ready++;
    connect_next(b);
}

void client_recycle(client *c)
{
    if (c->state >= C_CLOSING || c->state == C_IDLE) return;
    c->state = C_CLOSING;
    c->recycle = 1;
    close_conns(c);
}

void client_close(client *c)
{
    bench *b = c->b;
    if (c->state >= C_CLOSING || c->state == C_IDLE) return;
    if (b->scenario == SC_HANDSHAKE) { /* a failed handshake: that client stops */
        c->state = C_CLOSING;
        close_conns(c);
        if (b->phase < PH_DONE && ++b->failed == b->n) finish(b);
        return;
    }
    int was_ready = c->state == C_READY;
    /* Closing first: what follows may start the next connects or end the run. */
    c->state = C_CLOSING;
    close_conns(c);
    if (b->phase < PH_DONE) {
        if (was_ready) {
            c->lost = 1;
            b->lost++;
            b->ready--;
        } else {
            b->failed++;
            connect_next(b);
        }
    }
    if (b->phase >= PH_WARMUP && b->phase <= PH_DRAIN && !b->ready) /* nothing to measure */
        finish(b);
}

void start_all(bench *b)
{
    while (b->started < b->n && b->phase < PH_DONE) {
        client *c = &b->clients[b->started++];
        int rc = client_start(b, c);
        if (rc < 0) fprintf(stderr, "sio-bench: client %u: %s\n", c->index, uv_strerror(rc));
    }
}

/* Start connects until --concurrency are under way; start the scenario once all are done. */
void connect_next(bench *b)
{
    while (b->started < b->n && b->started - b->ready - b->failed - b->lost < b->concurrency) {
        client *c = &b->clients[b->started++];
        int rc = client_start(b, c);
        if (rc < 0) fprintf(stderr, "sio-bench: client %u: %s\n", c->index, uv_strerror(rc));
    }
    if (b->phase == PH_CONNECT && b->ready + b->failed + b->lost == b->n) {
        b->phase = PH_WARMUP;
        sc_start(b);
    }
}
