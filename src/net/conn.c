/*
 * TCP connections: reading into the loop's shared slab, and a queue of outbound byte
 * blocks written by one writev per loop turn.
 *
 * The queue is a ring of (block, offset, length) entries. Blocks are refcounted so one
 * encoded broadcast frame can sit in thousands of queues at once. Small writes are copied
 * into a per-connection "tail" block and coalesced, so an HTTP response's head and small
 * body, or several small messages, leave in one iovec entry. Writing is attempted with
 * uv_try_write first (most writes complete at once on a healthy socket, and then no
 * uv_write_t round trip is paid); whatever the kernel does not take goes to one
 * outstanding uv_write, and the queue keeps growing behind it until it completes.
 *
 * Ending a connection is graceful: queued output is flushed, the write side is shut down,
 * and input is read and discarded until the peer closes or a short linger deadline passes.
 * Closing with unread input would make the kernel answer with a reset that can destroy the
 * response the peer has not read yet.
 */
#include <string.h>

#include "base/alloc.h"
#include "net/net_int.h"
#include "sio.h"

#define MAX_IOV    64
/* Small writes are copied into a block that later small writes of the same loop turn
 * append to. The first block of an empty queue is small: most connections send one small
 * message per turn, and thousands of them may do so in the same turn (a heartbeat sweep),
 * where 1 KiB each would be a transient peak the allocator keeps as resident memory. A
 * queue that already holds output gets larger blocks. */
#define TAIL_FIRST 256
#define TAIL_MORE  2048
#define COPY_LIMIT (16 * 1024)
#define LINGER_MS  2000

static void on_closed(uv_handle_t *h);

static void free_handle(uv_handle_t *h)
{
    sio__free(h);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    sio__conn *c = h->data;
    buf->base = (char *)c->net->slab;
    buf->len = c->net->slab_size;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    sio__conn *c = s->data;
    if (nread > 0) {
        c->net->read_seen = 1;
        if (c->tls) {
            if (!c->ending || !c->tls->hs_done)
                sio__tls_read(c, (const uint8_t *)buf->base, (size_t)nread);
            return;
        }
        if (!c->ending && c->ev && c->ev->on_read)
            c->ev->on_read(c, (uint8_t *)buf->base, (size_t)nread, c->ud);
        return;
    }
    if (nread == 0) return;
    c->reading = 0;
    if (c->ending || !c->ev || !c->ev->on_eof)
        sio__conn_close(c);
    else
        c->ev->on_eof(c, (int)nread, c->ud);
}

sio__conn *sio__conn_accept(sio__net *net, uv_stream_t *server)
{
    sio__conn *c = sio__calloc(1, sizeof(*c) + net->conn_ext);
    if (!c) {
        /* Accept and drop, so the listener does not spin on a pending connection. */
        uv_tcp_t *t = sio__malloc(sizeof(*t));
        if (!t) return NULL;
        uv_tcp_init(net->loop, t);
        uv_accept(server, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, free_handle);
        return NULL;
    }
    c->net = net;
    c->ext_size = (uint16_t)net->conn_ext;
    uv_tcp_init(net->loop, &c->tcp);
    c->tcp.data = c;
    sio__list_init(&c->pending_node);
    sio__list_push_back(&net->conns, &c->all_node);
    net->nconns++;
    int r = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (r) {
        sio__log_debug(net->log, "accept: %s", uv_strerror(r));
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return NULL;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    return c;
}

void *sio__conn_ext(sio__conn *c, size_t size)
{
    return c->ext_size >= size ? c->ext : NULL;
}

void sio__conn_set_handler(sio__conn *c, const sio__conn_events *ev, void *ud)
{
    c->ev = ev;
    c->ud = ud;
}

int sio__conn_read_start(sio__conn *c)
{
    if (c->closing) return SIO_ECLOSED;
    if (c->reading) return 0;
    int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (!r) c->reading = 1;
    return r;
}

void sio__conn_read_stop(sio__conn *c)
{
    if (!c->reading || c->closing) return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
}

/* ---- the output queue ---- */

static inline sio__wq_ent *q_at(sio__wq *w, uint32_t i)
{
    return &w->ents[(w->head + i) & (w->cap - 1)];
}

sio__wq_ent *sio__wq_at(sio__wq *w, uint32_t i)
{
    return q_at(w, i);
}

int sio__wq_push(sio__conn *c, sio__wq *w, sio__bytes *b, uint32_t off, uint32_t len)
{
    if (w->len == w->cap) {
        uint32_t ncap = w->cap ? w->cap * 2 : 4;
        sio__wq_ent *nq = sio__reallocarray(NULL, ncap, sizeof(*nq));
        if (!nq) return SIO_ENOMEM;
        for (uint32_t i = 0; i < w->len; i++) nq[i] = *q_at(w, i);
        sio__free(w->ents);
        w->ents = nq;
        w->cap = ncap;
        w->head = 0;
    }
    *q_at(w, w->len) = (sio__wq_ent){b, off, len};
    w->len++;
    c->queued += len;
    return 0;
}

void sio__wq_consume(sio__conn *c, sio__wq *w, size_t n)
{
    while (n && w->len) {
        sio__wq_ent *e = q_at(w, 0);
        if (e->len > n) {
            e->off += (uint32_t)n;
            e->len -= (uint32_t)n;
            c->queued -= n;
            return;
        }
        n -= e->len;
        c->queued -= e->len;
        if (e->b == w->tail) w->tail = NULL;
        sio__bytes_unref(e->b);
        w->head = (w->head + 1) & (w->cap - 1);
        w->len--;
    }
    if (!w->len) {
        /* An idle connection keeps no ring. */
        sio__free(w->ents);
        w->ents = NULL;
        w->cap = 0;
        w->head = 0;
    }
}

int sio__wq_append(sio__conn *c, sio__wq *w, const void *p, size_t n, size_t block)
{
    if (w->tail && w->len) {
        /* The tail block is the last entry and ends where its data ends: append. Bytes
         * already handed to the kernel are never moved, so this is safe mid-write. */
        sio__wq_ent *e = q_at(w, w->len - 1);
        if (e->b == w->tail && e->off + e->len == w->tail->len &&
            w->tail->cap - w->tail->len >= n) {
            memcpy(w->tail->data + w->tail->len, p, n);
            w->tail->len += (uint32_t)n;
            e->len += (uint32_t)n;
            c->queued += n;
            return 0;
        }
    }
    sio__bytes *b = sio__bytes_new(n < block ? block : n);
    if (!b) return SIO_ENOMEM;
    memcpy(b->data, p, n);
    b->len = (uint32_t)n;
    int r = sio__wq_push(c, w, b, 0, (uint32_t)n);
    if (r) {
        sio__bytes_unref(b);
        return r;
    }
    w->tail = b->cap > b->len ? b : NULL;
    return 0;
}

void sio__wq_release(sio__conn *c, sio__wq *w)
{
    while (w->len) {
        sio__wq_ent *e = q_at(w, 0);
        c->queued -= e->len;
        sio__bytes_unref(e->b);
        w->head = (w->head + 1) & (w->cap - 1);
        w->len--;
    }
    sio__free(w->ents);
    w->ents = NULL;
    w->cap = 0;
    w->head = 0;
    w->tail = NULL;
}

void sio__conn_mark_pending(sio__conn *c)
{
    if (!c->writing && !c->closing && !sio__list_linked(&c->pending_node)) {
        sio__list_push_back(&c->net->pending, &c->pending_node);
        c->net->npending++;
    }
}

int sio__conn_write_bytes(sio__conn *c, sio__bytes *b, size_t off, size_t len)
{
    if (c->closing || c->ending) return SIO_ECLOSED;
    if (!len) return 0;
    if (off > b->len || len > b->len - off) return SIO_EINVAL;
    int r = sio__wq_push(c, &c->q, sio__bytes_ref(b), (uint32_t)off, (uint32_t)len);
    if (r) {
        sio__bytes_unref(b);
        return r;
    }
    sio__conn_mark_pending(c);
    return 0;
}

int sio__conn_write(sio__conn *c, const void *p, size_t n)
{
    if (c->closing || c->ending) return SIO_ECLOSED;
    if (!n) return 0;
    size_t block = c->q.len ? TAIL_MORE : TAIL_FIRST;
    int r = sio__wq_append(c, &c->q, p, n, n < COPY_LIMIT ? block : n);
    if (r) return r;
    sio__conn_mark_pending(c);
    return 0;
}

static int write_copy(sio__conn *c, const void *p, size_t n)
{
    if (n < COPY_LIMIT) return sio__conn_write(c, p, n);
    sio__bytes *b = sio__bytes_copy(p, n);
    if (!b) return SIO_ENOMEM;
    int r = sio__conn_write_bytes(c, b, 0, n);
    sio__bytes_unref(b);
    return r;
}

static int write_wire(sio__conn *c);

int sio__conn_write_through(sio__conn *c, const void *head, size_t hn, const void *p, size_t n)
{
    if (c->closing || c->ending) return SIO_ECLOSED;
    if (c->tls) {
        /* Nothing older waits unencrypted: encrypt straight from the caller's memory. */
        if (c->q.len || !sio__tls_ready(c)) {
            int r = sio__conn_write(c, head, hn);
            return r ? r : write_copy(c, p, n);
        }
        if (sio__tls_encrypt_direct(c, head, hn, p, n)) {
            sio__conn_close(c);
            return SIO_ECLOSED;
        }
        if (!c->writing && write_wire(c) < 0) return SIO_ECLOSED;
        if (c->tls->out.len) sio__conn_mark_pending(c);
        return 0;
    }
    size_t done = 0;
    if (!c->q.len && !c->writing) {
        uv_buf_t iov[2] = {uv_buf_init((char *)head, (unsigned)hn),
                           uv_buf_init((char *)p, (unsigned)n)};
        int r = uv_try_write((uv_stream_t *)&c->tcp, iov, 2);
        if (r < 0 && r != UV_EAGAIN) {
            sio__conn_close(c);
            return SIO_ECLOSED;
        }
        done = r > 0 ? (size_t)r : 0;
    }
    int r = 0;
    if (done < hn) {
        r = sio__conn_write(c, (const uint8_t *)head + done, hn - done);
        done = hn;
    }
    if (!r && done - hn < n) r = write_copy(c, (const uint8_t *)p + (done - hn), n - (done - hn));
    return r;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    sio__conn *c = req->data;
    sio__free(req);
    if (c->closing) return;
    if (status < 0) {
        sio__conn_close(c);
        return;
    }
    /* Read and discard until the peer closes, or the linger deadline closes us. */
    if (sio__conn_read_start(c)) sio__conn_close(c);
}

static void start_shutdown(sio__conn *c)
{
    c->shut = 1;
    c->deadline = uv_now(c->net->loop) + LINGER_MS;
    /* Requests are allocated only when needed: most connections never use them. */
    uv_shutdown_t *req = sio__malloc(sizeof(*req));
    if (!req) {
        sio__conn_close(c);
        return;
    }
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown)) {
        sio__free(req);
        sio__conn_close(c);
    }
}

static void drained(sio__conn *c)
{
    if (c->ending) {
        if (c->shut) return;
        /* TLS says goodbye with close_notify before the FIN. */
        if (c->tls && sio__tls_close_notify(c) > 0) {
            sio__conn_flush(c);
            return;
        }
        if (!c->closing) start_shutdown(c);
        return;
    }
    if (c->want_drain) {
        c->want_drain = 0;
        if (c->ev && c->ev->on_drain) c->ev->on_drain(c, c->ud);
    }
}

/* The queue whose bytes go to the socket as they are. */
static inline sio__wq *wire(sio__conn *c)
{
    return c->tls ? &c->tls->out : &c->q;
}

static void on_write(uv_write_t *req, int status)
{
    sio__conn *c = req->data;
    sio__free(req);
    c->writing = 0;
    if (c->closing) return; /* cancelled by close: on_closed releases the queue */
    if (status < 0) {
        sio__log_debug(c->net->log, "write failed: %s", uv_strerror(status));
        sio__conn_close(c);
        return;
    }
    sio__wq_consume(c, wire(c), c->inflight);
    c->inflight = 0;
    /* Progress: an ending connection gets another end timeout for the rest. */
    if (c->ending && !c->shut) c->deadline = uv_now(c->net->loop) + c->net->end_timeout_ms;
    sio__conn_flush(c);
}

static uint32_t fill_iov(sio__wq *w, uv_buf_t *iov, size_t *total)
{
    uint32_t n = w->len < MAX_IOV ? w->len : MAX_IOV;
    *total = 0;
    for (uint32_t i = 0; i < n; i++) {
        sio__wq_ent *e = q_at(w, i);
        iov[i] = uv_buf_init((char *)e->b->data + e->off, e->len);
        *total += e->len;
    }
    return n;
}

/* Write the wire queue until it is empty or the kernel is full, then hand the rest to one
 * uv_write. Returns 0, 1 when a write is outstanding, or -1 when the connection closed. */
static int write_wire(sio__conn *c)
{
    uv_buf_t iov[MAX_IOV];
    size_t total;
    sio__wq *w = wire(c);
    while (w->len) {
        uint32_t n = fill_iov(w, iov, &total);
        int r = uv_try_write((uv_stream_t *)&c->tcp, iov, n);
        if (r == UV_EAGAIN) r = 0;
        if (r < 0) {
            sio__log_debug(c->net->log, "write failed: %s", uv_strerror(r));
            sio__conn_close(c);
            return -1;
        }
        sio__wq_consume(c, w, (size_t)r);
        if ((size_t)r == total) continue;
        /* The kernel is full: hand the rest to one uv_write and wait for it. */
        n = fill_iov(w, iov, &total);
        uv_write_t *req = sio__malloc(sizeof(*req));
        if (!req) {
            sio__conn_close(c);
            return -1;
        }
        req->data = c;
        r = uv_write(req, (uv_stream_t *)&c->tcp, iov, n, on_write);
        if (r) {
            sio__free(req);
            sio__conn_close(c);
            return -1;
        }
        c->writing = 1;
        c->inflight = (uint32_t)total;
        return 1;
    }
    return 0;
}

void sio__conn_flush(sio__conn *c)
{
    while (!c->closing && !c->writing) {
        /* With TLS, plaintext is encrypted only when the previous ciphertext has left, in
         * batches of whole records: many small messages make few records, and a shared
         * broadcast frame stays shared while the peer is slow. */
        if (c->tls && !c->tls->out.len && c->q.len && sio__tls_ready(c) && sio__tls_encrypt(c)) {
            sio__conn_close(c);
            return;
        }
        if (write_wire(c)) return;
        if (!c->tls || !c->q.len || !sio__tls_ready(c)) break;
    }
    if (!c->closing && !c->writing && !c->q.len && !(c->tls && c->tls->out.len)) drained(c);
}

void sio__conn_want_drain(sio__conn *c)
{
    if (c->closing) return;
    c->want_drain = 1;
    if (!c->queued && !c->writing) drained(c);
}

void sio__conn_end(sio__conn *c)
{
    if (c->closing || c->ending) return;
    if (c->tls && !c->tls->hs_done && !c->q.len) {
        /* Nothing to say to a peer that has not finished its handshake. (With output
         * queued, the ending waits for the handshake, which its timeout bounds.) */
        sio__conn_close(c);
        return;
    }
    c->ending = 1;
    c->want_drain = 0;
    if (!c->queued && !c->writing) {
        drained(c);
        return;
    }
    /* The output must keep moving (a deadline already set, e.g. a WebSocket's close
     * timeout, stays when it is sooner). */
    uint64_t limit = uv_now(c->net->loop) + c->net->end_timeout_ms;
    if (!c->deadline || c->deadline > limit) c->deadline = limit;
    sio__conn_mark_pending(c);
}

void sio__conn_close(sio__conn *c)
{
    if (c->closing) return;
    c->closing = 1;
    if (sio__list_linked(&c->pending_node)) {
        sio__list_remove(&c->pending_node);
        c->net->npending--;
    }
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_closed(uv_handle_t *h)
{
    sio__conn *c = h->data;
    sio__wq_release(c, &c->q);
    if (c->tls) sio__tls_free(c);
    sio__list_remove(&c->all_node);
    c->net->nconns--;
    sio__net *net = c->net;
    if (c->ev && c->ev->on_close) c->ev->on_close(c, c->ud);
    sio__free(c);
    sio__net_check_empty(net);
}

void sio__conn_set_deadline(sio__conn *c, uint64_t ms_from_now)
{
    if (c->ending) return; /* the linger deadline stands */
    c->deadline = ms_from_now ? uv_now(c->net->loop) + ms_from_now : 0;
}

int sio__conn_peer(const sio__conn *c, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int r = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len);
    if (r) return r;
    if (ss.ss_family == AF_INET6) return uv_ip6_name((struct sockaddr_in6 *)&ss, out, outlen);
    return uv_ip4_name((struct sockaddr_in *)&ss, out, outlen);
}
