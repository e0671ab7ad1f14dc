/*
 * The Engine.IO server: sessions over long-polling and WebSocket, v4 and v3.
 *
 * A session is found by its sid in a chained hash table. Outbound packets for a polling
 * session wait in a small queue of refcounted blocks; sessions with something to send are
 * listed, and at the end of the loop turn (a uv_check) every listed session with a parked
 * GET answers it with all its packets as one payload, so a burst costs one response. Over
 * WebSocket each packet leaves as one frame at once.
 *
 * Every session has an outbound bound (max_buffered_bytes): the bytes waiting for the next
 * GET, or not yet written to the WebSocket. A client that stops reading fills it, and the
 * message that would pass it closes the session ("transport error", as engine.io names a
 * failed transport) instead of being queued, with a log line. The close waits for the end
 * of the loop turn (the flush check), so a send never runs close callbacks under its
 * caller: until then sends fail and the session is not writable. Its WebSocket is then
 * dropped at once, queued output and all: a close handshake would wait behind the very
 * bytes the peer does not read. Node has no such bound (its buffers grow without limit);
 * this one is libsio's deliberate difference.
 *
 * Timers are one sweep per server over all sessions: the v4 ping schedule, the pong and
 * v3 ping deadlines, the upgrade deadline and the deadline of a polling close that waits
 * for the client's next GET. Engine.IO's deadlines are coarse, and one uv_timer_t per
 * session would cost more than the session itself.
 *
 * The upgrade follows engine.io: a WebSocket that names an existing polling session is a
 * probe; "2probe" is answered "3probe" and a parked GET is released with a noop (and so is
 * any GET that arrives while probing); "5" switches the session to the WebSocket and
 * flushes the queue there. Until "5" everything goes to polling, so nothing is lost or
 * reordered.
 *
 * Callbacks may close the session (and the layer above may do so from anywhere): a session
 * is freed only when no call of ours is on the stack for it (busy).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/alloc.h"
#include "base/id.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/list.h"
#include "eio/eio.h"
#include "eio/packet.h"
#include "ws/frame.h"
#include "ws/ws.h"

#define BUCKETS          4096
#define CLOSE_TIMEOUT_MS 30000 /* a polling close waits this long for the next GET */

enum { S_OPEN, S_CLOSING, S_CLOSED };
enum { BY_SERVER, BY_CLIENT };

typedef struct pkt {
    uint8_t type, binary, no_compress;
    sio__bytes *data; /* NULL when empty */
} pkt;

struct sio__eio_socket {
    sio__eio_server *srv;
    sio__list node;       /* srv->sessions */
    sio__list flush_node; /* srv->to_flush, while linked */
    sio__eio_socket *hnext;
    sio_http_res *get; /* a parked long-poll GET */
    sio_ws *ws;        /* the WebSocket transport */
    sio_ws *probe;     /* a WebSocket being upgraded to */
    pkt *q;
    void *data;
    size_t qbytes; /* bytes of the queued packets */
    uint32_t nq, capq;
    uint64_t next_ping, deadline, upgrade_deadline, close_deadline;
    uint8_t version, transport, state, get_enc;
    uint8_t b64 : 1, probing : 1, awaiting_pong : 1, refreshed : 1;
    uint8_t overflow : 1; /* over the outbound bound: closes at the end of the turn */
    uint16_t busy;
    char sid[22];
};

struct sio_verdict {
    sio__eio_server *srv;
    sio__list node;
    sio_http_res *res; /* NULL once the client went away */
    sio_http_req *req;
    uint8_t version, transport, b64, in_call, decided, allow;
    char message[128]; /* a refusal's message given during the call */
};

struct sio__eio_server {
    sio__eio_options opt;
    char path[128];
    uv_loop_t *loop;
    uv_timer_t sweep;
    uv_check_t flusher;
    uint32_t sweep_ms;
    sio__ws_group ws;
    sio__list sessions;
    sio__list to_flush;
    sio__list verdicts;
    sio__list cursor; /* the sweep's place in sessions */
    size_t count;
    sio__eio_socket *accepting; /* the session a WebSocket being accepted upgrades */
    int accepting_version, accept_reject, closing, handles;
    /* The WebSocket frames of a ping and a pong ("2", "3" in both versions), built once and
     * shared: a heartbeat costs an idle connection no allocation of its own. */
    sio__bytes *control[2];
    sio__eio_socket *buckets[BUCKETS];
};

static void close_session(sio__eio_socket *s, const char *reason, int by);
static void send_error(sio_http_req *req, sio_http_res *res, int code, const char *message);
static void flush_polling(sio__eio_socket *s);
static void on_flush(uv_check_t *h);

/* ---- session table ---- */

static uint32_t hash_sid(const char *sid)
{
    return sio__hash_str(sid, NULL) % BUCKETS;
}

static sio__eio_socket *find(sio__eio_server *srv, const char *sid)
{
    for (sio__eio_socket *s = srv->buckets[hash_sid(sid)]; s; s = s->hnext)
        if (!strcmp(s->sid, sid)) return s;
    return NULL;
}

static void unlink_session(sio__eio_socket *s)
{
    sio__eio_socket **pp = &s->srv->buckets[hash_sid(s->sid)];
    while (*pp && *pp != s) pp = &(*pp)->hnext;
    if (*pp) *pp = s->hnext;
    sio__list_remove(&s->node);
    if (sio__list_linked(&s->flush_node)) sio__list_remove(&s->flush_node);
    s->srv->count--;
}

static sio__eio_socket *new_session(sio__eio_server *srv, int version, int transport,
                                    sio_http_req *req)
{
    sio__eio_socket *s = sio__calloc(1, sizeof(*s));
    if (!s) return NULL;
    do {
        if (sio__base64id(s->sid)) {
            sio__free(s);
            return NULL;
        }
    } while (find(srv, s->sid));
    s->srv = srv;
    s->version = (uint8_t)version;
    s->transport = (uint8_t)transport;
    uint32_t b = hash_sid(s->sid);
    s->hnext = srv->buckets[b];
    srv->buckets[b] = s;
    sio__list_push_back(&srv->sessions, &s->node);
    sio__list_init(&s->flush_node);
    srv->count++;
    uint64_t now = uv_now(srv->loop);
    if (version >= 4)
        s->next_ping = now + srv->opt.ping_interval_ms;
    else /* v3: the client pings; it is late after interval + timeout */
        s->deadline = now + srv->opt.ping_interval_ms + srv->opt.ping_timeout_ms;
    return s;
}

static void drop_queue(sio__eio_socket *s)
{
    for (size_t i = 0; i < s->nq; i++) sio__bytes_unref(s->q[i].data);
    s->nq = 0;
    s->qbytes = 0;
}

static void free_session(sio__eio_socket *s)
{
    drop_queue(s);
    sio__free(s->q);
    sio__free(s);
}

/* Returns nonzero when the session closed meanwhile (it may be freed now). */
static int release(sio__eio_socket *s)
{
    int closed = s->state == S_CLOSED;
    if (--s->busy == 0 && closed) free_session(s);
    return closed;
}

/* ---- outbound ---- */

static int queue_packet(sio__eio_socket *s, int type, sio__bytes *b, int flags)
{
    if (s->nq == s->capq) {
        uint32_t ncap = s->capq ? s->capq * 2 : 4;
        pkt *nq = sio__reallocarray(s->q, ncap, sizeof(*nq));
        if (!nq) return SIO_ENOMEM;
        s->q = nq;
        s->capq = ncap;
    }
    s->q[s->nq++] = (pkt){(uint8_t)type, (uint8_t)(flags & SIO__EIO_BINARY),
                          (uint8_t) !!(flags & SIO__EIO_NO_COMPRESS), b ? sio__bytes_ref(b) : NULL};
    s->qbytes += b ? b->len : 0;
    return 0;
}

static sio__eio_packet view(const pkt *p)
{
    return (sio__eio_packet){p->type, p->binary, p->data ? p->data->data : (const uint8_t *)"",
                             p->data ? p->data->len : 0};
}

static int ws_send_packet(sio_ws *ws, int version, const sio__eio_packet *p, int compress)
{
    if (p->binary) {
        if (version >= 4) return sio__ws_send(ws, p->data, p->len, 1, compress);
        sio__buf b = SIO__BUF_INIT;
        int r = sio__buf_append(&b, "\x04", 1);
        if (!r) r = sio__buf_append(&b, p->data, p->len);
        if (!r) r = sio__ws_send(ws, b.data, b.len, 1, compress);
        sio__buf_free(&b);
        return r;
    }
    char small[512];
    if (p->len + 1 <= sizeof(small)) {
        small[0] = (char)('0' + p->type);
        if (p->len) memcpy(small + 1, p->data, p->len);
        return sio__ws_send(ws, small, p->len + 1, 0, compress);
    }
    sio__buf b = SIO__BUF_INIT;
    int r = sio__eio_encode_text(&b, p);
    if (!r) r = sio__ws_send(ws, b.data, b.len, 0, compress);
    sio__buf_free(&b);
    return r;
}

static void schedule_flush(sio__eio_socket *s)
{
    sio__eio_server *srv = s->srv;
    if (sio__list_linked(&s->flush_node)) return;
    if (sio__list_empty(&srv->to_flush)) uv_check_start(&srv->flusher, on_flush);
    sio__list_push_back(&srv->to_flush, &s->flush_node);
}

size_t sio__eio_buffered(const sio__eio_socket *s)
{
    if (s->transport == SIO__EIO_WEBSOCKET) return s->ws ? sio_ws_buffered(s->ws) : 0;
    return s->qbytes;
}

/* Per packet: a WebSocket frame header and the Engine.IO type, or a payload's separator. */
#define PART_OVERHEAD 16

int sio__eio_admit(sio__eio_socket *s, size_t len, size_t nparts)
{
    if (s->state != S_OPEN || s->overflow) return SIO_ECLOSED;
    size_t bound = s->srv->opt.max_buffered_bytes, queued = sio__eio_buffered(s);
    size_t n = len + nparts * PART_OVERHEAD;
    if (!queued || (queued <= bound && n <= bound - queued)) return 0;
    s->overflow = 1;
    sio__log_info(s->srv->opt.log,
                  "engine.io: %s: outbound bound reached (max_buffered_bytes %zu: %zu bytes "
                  "queued, %zu more): closing the session (transport error)",
                  s->sid, bound, queued, len);
    schedule_flush(s);
    return SIO_ECLOSED;
}

/* Whether a message may be sent: the session is open, and the message fits under the
 * bound (or was admitted already). */
static int check_send(sio__eio_socket *s, size_t len, int flags)
{
    if (s->state != S_OPEN || s->overflow) return SIO_ECLOSED;
    return flags & SIO__EIO_ADMITTED ? 0 : sio__eio_admit(s, len, 1);
}

static int send_packet(sio__eio_socket *s, int type, sio__bytes *b, int flags)
{
    if (s->transport == SIO__EIO_WEBSOCKET && s->ws) {
        sio__eio_packet p = {(uint8_t)type, (uint8_t)(flags & SIO__EIO_BINARY),
                             b ? b->data : (const uint8_t *)"", b ? b->len : 0};
        return ws_send_packet(s->ws, s->version, &p, !(flags & SIO__EIO_NO_COMPRESS));
    }
    int r = queue_packet(s, type, b, flags);
    if (!r && s->get) schedule_flush(s);
    return r;
}

/* The server frame (unmasked, FIN) of a packet of type: text "<type><body>", v4 binary the
 * body, v3 binary the type's byte then the body. */
static sio__bytes *build_frame(int type, const sio__bytes *b, int binary, int version)
{
    size_t prefix = binary && version >= 4 ? 0 : 1;
    size_t n = prefix + (b ? b->len : 0);
    uint8_t head[SIO_WS_MAX_HEADER];
    size_t hl =
        sio__ws_encode_header(head, 1, binary ? SIO_WS_OP_BINARY : SIO_WS_OP_TEXT, 0, n, NULL);
    sio__bytes *f = sio__bytes_new(hl + n);
    if (!f) return NULL;
    memcpy(f->data, head, hl);
    if (prefix) f->data[hl] = (uint8_t)(binary ? type : '0' + type);
    if (b && b->len) memcpy(f->data + hl + prefix, b->data, b->len);
    f->len = (uint32_t)(hl + n);
    return f;
}

static int send_control(sio__eio_socket *s, int type)
{
    if (s->transport == SIO__EIO_WEBSOCKET && s->ws &&
        (type == SIO__EIO_PING || type == SIO__EIO_PONG)) {
        sio__bytes **f = &s->srv->control[type == SIO__EIO_PONG];
        if (!*f) *f = build_frame(type, NULL, 0, s->version);
        if (*f) return sio__ws_send_shared(s->ws, *f, 1, 0);
    }
    return send_packet(s, type, NULL, 0);
}

int sio__eio_send_bytes(sio__eio_socket *s, sio__bytes *b, int flags)
{
    int r = check_send(s, b ? b->len : 0, flags);
    if (r) return r;
    return send_packet(s, SIO__EIO_MESSAGE, b && b->len ? b : NULL, flags);
}

int sio__eio_send_shared(sio__eio_socket *s, sio__bytes *b, int flags, sio__bytes *frames[2])
{
    int binary = flags & SIO__EIO_BINARY;
    int r = check_send(s, b ? b->len : 0, flags);
    if (r) return r;
    if (s->transport == SIO__EIO_WEBSOCKET && s->ws && frames) {
        sio__bytes **slot = &frames[s->version < 4];
        if (!*slot) *slot = build_frame(SIO__EIO_MESSAGE, b, binary, s->version);
        if (*slot) {
            size_t payload = (b ? b->len : 0) + (binary && s->version >= 4 ? 0 : 1);
            r = sio__ws_send_shared(s->ws, *slot, payload, !(flags & SIO__EIO_NO_COMPRESS));
            if (r != SIO_ESTATE) return r;
        }
    }
    return send_packet(s, SIO__EIO_MESSAGE, b && b->len ? b : NULL, flags);
}

int sio__eio_send(sio__eio_socket *s, const void *data, size_t len, int flags)
{
    int r = check_send(s, len, flags);
    if (r) return r;
    if (s->transport == SIO__EIO_WEBSOCKET && s->ws) {
        sio__eio_packet p = {SIO__EIO_MESSAGE, (uint8_t)(flags & SIO__EIO_BINARY), data ? data : "",
                             len};
        return ws_send_packet(s->ws, s->version, &p, !(flags & SIO__EIO_NO_COMPRESS));
    }
    sio__bytes *b = NULL;
    if (len && !(b = sio__bytes_copy(data, len))) return SIO_ENOMEM;
    r = send_packet(s, SIO__EIO_MESSAGE, b, flags);
    sio__bytes_unref(b);
    return r;
}

/* ---- polling responses ---- */

/* Answer the parked GET with everything queued, plus a close packet when closing. */
static void answer_get(sio__eio_socket *s, int with_close)
{
    sio__eio_server *srv = s->srv;
    sio_http_res *res = s->get;
    s->get = NULL;
    sio_http_res_on_close(res, NULL, NULL);
    if (with_close) queue_packet(s, SIO__EIO_CLOSE, NULL, 0);
    int binary_body = 0, compress = 0;
    if (s->version < 4 && !s->b64)
        for (size_t i = 0; i < s->nq; i++) binary_body |= s->q[i].binary;
    /* As engine.io: the response is compressed when any of its packets may be. */
    for (size_t i = 0; i < s->nq; i++) compress |= !s->q[i].no_compress;
    sio__buf body = SIO__BUF_INIT;
    int r = 0;
    for (size_t i = 0; i < s->nq && !r; i++) {
        sio__eio_packet p = view(&s->q[i]);
        if (s->version >= 4)
            r = sio__eio_payload_append_v4(&body, &p);
        else if (binary_body)
            r = sio__eio_payload_append_v3_binary(&body, &p);
        else
            r = sio__eio_payload_append_v3(&body, &p);
    }
    drop_queue(s);
    if (s->capq > 16) { /* a burst is over: give its room back */
        sio__free(s->q);
        s->q = NULL;
        s->capq = 0;
    }
    sio_http_res_header(res, "Cache-Control", "no-store");
    const char *type = binary_body ? "application/octet-stream" : "text/plain; charset=UTF-8";
    if (!r && compress && s->get_enc && !srv->opt.no_http_compression &&
        body.len >= srv->opt.http_compression_threshold) {
        sio__buf z = SIO__BUF_INIT;
        if (!sio__http_compress(&body, s->get_enc, Z_DEFAULT_COMPRESSION, &z)) {
            sio_http_res_header(res, "Content-Encoding",
                                s->get_enc == SIO__HTTP_ENC_GZIP ? "gzip" : "deflate");
            sio_http_res_send(res, 200, type, z.data, z.len);
            sio__buf_free(&z);
            sio__buf_free(&body);
            return;
        }
        sio__buf_free(&z);
    }
    sio_http_res_send(res, r ? 500 : 200, type, body.data, body.len);
    sio__buf_free(&body);
}

static void flush_polling(sio__eio_socket *s)
{
    if (s->overflow) {
        close_session(s, "transport error", BY_SERVER);
        return;
    }
    if (!s->get) return;
    if (s->state == S_CLOSING) {
        answer_get(s, 1);
        close_session(s, "forced close", BY_SERVER);
        return;
    }
    if (!s->nq) return;
    /* A client may send its next GET on a connection whose earlier responses it has not
     * read (pipelining): they count toward the bound too. */
    size_t unread = sio__http_res_queued(s->get), bound = s->srv->opt.max_buffered_bytes;
    if (unread && (unread > bound || s->qbytes > bound - unread)) {
        s->overflow = 1;
        sio__log_info(s->srv->opt.log,
                      "engine.io: %s: outbound bound reached (max_buffered_bytes %zu: %zu bytes "
                      "queued, %zu unread on the polling connection): closing the session "
                      "(transport error)",
                      s->sid, bound, s->qbytes, unread);
        close_session(s, "transport error", BY_SERVER);
        return;
    }
    answer_get(s, 0);
}

static void on_flush(uv_check_t *h)
{
    sio__eio_server *srv = h->data;
    while (!sio__list_empty(&srv->to_flush)) {
        sio__eio_socket *s = sio__container_of(srv->to_flush.next, sio__eio_socket, flush_node);
        sio__list_remove(&s->flush_node);
        flush_polling(s);
    }
    uv_check_stop(h);
}

/* ---- inbound ---- */

/* One packet from the client. Returns nonzero when the session closed. */
static int on_packet(sio__eio_socket *s, const sio__eio_packet *p)
{
    sio__eio_server *srv = s->srv;
    uint64_t now = uv_now(srv->loop);
    if (s->version >= 4 && s->awaiting_pong && !s->refreshed && p->type != SIO__EIO_PONG) {
        /* Any traffic proves the client alive: the pong deadline moves once per ping. */
        s->deadline = now + srv->opt.ping_timeout_ms;
        s->refreshed = 1;
    }
    switch (p->type) {
    case SIO__EIO_PING:
        if (s->version >= 4) {
            close_session(s, "transport error", BY_SERVER); /* invalid heartbeat direction */
            return 1;
        }
        s->deadline = now + srv->opt.ping_interval_ms + srv->opt.ping_timeout_ms;
        if (s->state == S_OPEN) send_control(s, SIO__EIO_PONG);
        return 0;
    case SIO__EIO_PONG:
        if (s->version < 4) {
            close_session(s, "transport error", BY_SERVER);
            return 1;
        }
        s->awaiting_pong = 0;
        s->deadline = 0;
        s->next_ping = now + srv->opt.ping_interval_ms;
        return 0;
    case SIO__EIO_MESSAGE:
        if (srv->opt.cb && srv->opt.cb->on_message) {
            s->busy++;
            srv->opt.cb->on_message(s, p->data, p->len, p->binary, srv->opt.ud);
            return release(s);
        }
        return 0;
    case SIO__EIO_CLOSE:
        close_session(s, "transport close", BY_CLIENT);
        return 1;
    default: /* open, upgrade and noop are ignored, as engine.io does */
        return 0;
    }
}

static int post_packet_cb(void *ud, const sio__eio_packet *p)
{
    return on_packet(ud, p);
}

/* ---- closing ---- */

static void close_session(sio__eio_socket *s, const char *reason, int by)
{
    if (s->state == S_CLOSED) return;
    sio__eio_server *srv = s->srv;
    s->state = S_CLOSED;
    unlink_session(s);
    if (s->get) {
        /* engine.io answers a parked GET with a noop when the client closed, else close. */
        sio_http_res *res = s->get;
        s->get = NULL;
        sio_http_res_on_close(res, NULL, NULL);
        const char *body =
            by == BY_CLIENT ? (s->version < 4 ? "1:6" : "6") : (s->version < 4 ? "1:1" : "1");
        sio_http_res_header(res, "Cache-Control", "no-store");
        sio_http_res_send(res, 200, "text/plain; charset=UTF-8", body, strlen(body));
    }
    if (s->probe) {
        sio_ws_set_data(s->probe, NULL);
        sio_ws_close(s->probe, 0, NULL);
        s->probe = NULL;
    }
    if (s->ws) {
        sio_ws_set_data(s->ws, NULL);
        if (s->overflow)
            sio__ws_terminate(s->ws);
        else
            sio_ws_close(s->ws, 0, NULL);
        s->ws = NULL;
    }
    drop_queue(s);
    s->busy++;
    if (srv->opt.cb && srv->opt.cb->on_close) srv->opt.cb->on_close(s, reason, srv->opt.ud);
    release(s);
}

void sio__eio_close(sio__eio_socket *s)
{
    if (s->state != S_OPEN) return;
    if (s->transport == SIO__EIO_WEBSOCKET && s->ws) {
        close_session(s, "forced close", BY_SERVER);
        return;
    }
    /* Polling: what is queued goes out first, followed by a close packet, in the parked
     * GET or the next one. */
    s->state = S_CLOSING;
    s->close_deadline = uv_now(s->srv->loop) + CLOSE_TIMEOUT_MS;
    if (s->get) flush_polling(s);
}

/* ---- HTTP ---- */

static int in_list(const char *const *list, size_t n, const char *origin)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && !strcmp(list[i], origin)) return 1;
    return 0;
}

/* The `cors` middleware's test: the list or the predicate; neither allows every origin. */
static int origin_allowed(const sio_cors_options *c, const char *origin)
{
    if (!c->norigins && !c->origin_cb) return 1;
    return in_list(c->origins, c->norigins, origin) ||
           (c->origin_cb && c->origin_cb(origin, c->origin_ud));
}

/*
 * The Origin allowlist against cross-site WebSocket hijacking: a browser always sends
 * Origin with an upgrade and with a cross-origin request, so a page of another site is
 * refused here before any session or 101 exists. Requests without Origin are not from a
 * page of another site (non-browser clients, same-origin GETs) and pass. Returns nonzero
 * when the request was refused (and answered).
 */
static int refuse_origin(sio__eio_server *srv, sio_http_req *req, sio_http_res *res)
{
    const sio__eio_options *o = &srv->opt;
    const char *origin = sio_http_req_header(req, "origin");
    if (!origin) return 0;
    int allowed;
    if (o->nallowed_origins || o->allow_origin)
        allowed = in_list(o->allowed_origins, o->nallowed_origins, origin) ||
                  (o->allow_origin && o->allow_origin(origin, o->allow_origin_ud));
    else if (o->cors.enabled && (o->cors.norigins || o->cors.origin_cb))
        allowed = origin_allowed(&o->cors, origin);
    else
        return 0;
    if (allowed) return 0;
    sio__log_warn(o->log, "engine.io: %s: origin \"%.200s\" not allowed (%s): refused",
                  sio_http_req_remote_addr(req), origin, req->upgrade ? "websocket" : "polling");
    send_error(req, res, 4, "Origin not allowed");
    return 1;
}

/* The `cors` middleware's headers; returns 1 when the request was a preflight and is
 * answered. */
static int apply_cors(sio__eio_server *srv, sio_http_req *req, sio_http_res *res)
{
    const sio_cors_options *c = &srv->opt.cors;
    if (!c->enabled) return 0;
    const char *origin = sio_http_req_header(req, "origin");
    if (c->any_star && !c->norigins && !c->origin_cb) {
        sio_http_res_header(res, "Access-Control-Allow-Origin", "*");
    } else if (origin && origin_allowed(c, origin)) {
        sio_http_res_header(res, "Access-Control-Allow-Origin", origin);
        sio_http_res_header(res, "Vary", "Origin");
    } else {
        sio_http_res_header(res, "Vary", "Origin");
    }
    if (c->credentials) sio_http_res_header(res, "Access-Control-Allow-Credentials", "true");
    if (strcmp(sio_http_req_method(req), "OPTIONS")) {
        if (c->exposed_headers)
            sio_http_res_header(res, "Access-Control-Expose-Headers", c->exposed_headers);
        return 0;
    }
    sio_http_res_header(res, "Access-Control-Allow-Methods",
                        c->methods ? c->methods : "GET,HEAD,PUT,PATCH,POST,DELETE");
    const char *h = c->allowed_headers ? c->allowed_headers
                                       : sio_http_req_header(req, "access-control-request-headers");
    if (!c->allowed_headers && h)
        sio_http_res_header(res, "Vary", "Access-Control-Request-Headers");
    if (h && *h) sio_http_res_header(res, "Access-Control-Allow-Headers", h);
    if (c->max_age) {
        char v[16];
        snprintf(v, sizeof(v), "%d", c->max_age);
        sio_http_res_header(res, "Access-Control-Max-Age", v);
    }
    sio_http_res_send(res, 204, NULL, NULL, 0);
    return 1;
}

static void json_str(sio__buf *b, const char *s)
{
    sio__buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            sio__buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            sio__buf_printf(b, "\\u%04x", ch);
        else
            sio__buf_append(b, s, 1);
    }
    sio__buf_append(b, "\"", 1);
}

static const char *const messages[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request",       "Forbidden",          "Unsupported protocol version",
};

/* engine.io's abortRequest (JSON, 400 or 403) or, for an upgrade request, abortUpgrade
 * (400 with the message as text/html, then the connection closes). */
static void send_error(sio_http_req *req, sio_http_res *res, int code, const char *message)
{
    if (!message) message = messages[code];
    if (req->upgrade) {
        sio_http_res_header(res, "Connection", "close");
        sio_http_res_send(res, 400, "text/html", message, strlen(message));
        return;
    }
    sio__buf b = SIO__BUF_INIT;
    sio__buf_printf(&b, "{\"code\":%d,\"message\":", code);
    json_str(&b, message);
    sio__buf_append(&b, "}", 1);
    sio_http_res_send(res, code == 4 ? 403 : 400, "application/json", b.data, b.len);
    sio__buf_free(&b);
}

static void open_packet(sio__eio_socket *s, int upgrades, int polling, sio__buf *out)
{
    sio__eio_server *srv = s->srv;
    char json[256];
    int n = snprintf(json, sizeof(json),
                     "{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%u,\"pingTimeout\":%u,"
                     "\"maxPayload\":%zu}",
                     s->sid, upgrades ? "\"websocket\"" : "", srv->opt.ping_interval_ms,
                     srv->opt.ping_timeout_ms, srv->opt.max_http_buffer_size);
    sio__eio_packet p = {SIO__EIO_OPEN, 0, (const uint8_t *)json, (size_t)n};
    if (!polling)
        sio__eio_encode_text(out, &p);
    else if (s->version < 4)
        sio__eio_payload_append_v3(out, &p);
    else
        sio__eio_payload_append_v4(out, &p);
}

static void set_cookie(sio__eio_server *srv, sio_http_res *res, const char *sid)
{
    const sio_cookie_options *c = &srv->opt.cookie;
    if (!c->enabled) return;
    sio__buf b = SIO__BUF_INIT;
    sio__buf_printf(&b, "%s=%s", c->name ? c->name : "io", sid);
    if (c->max_age) sio__buf_printf(&b, "; Max-Age=%d", c->max_age);
    if (c->domain) sio__buf_printf(&b, "; Domain=%s", c->domain);
    sio__buf_printf(&b, "; Path=%s", c->path ? c->path : "/");
    if (!c->no_http_only) sio__buf_append_str(&b, "; HttpOnly");
    if (c->secure) sio__buf_append_str(&b, "; Secure");
    const char *ss = c->same_site ? c->same_site : "Lax";
    if (*ss) sio__buf_printf(&b, "; SameSite=%s", ss);
    if (!sio__buf_nul(&b)) sio_http_res_header(res, "Set-Cookie", (const char *)b.data);
    sio__buf_free(&b);
}

static void on_get_closed(sio_http_res *res, void *ud)
{
    sio__eio_socket *s = ud;
    s->get = NULL;
    /* An aborted long poll ends the session, as in engine.io. */
    close_session(s, "transport error", BY_SERVER);
}

static int allows(sio__eio_server *srv, unsigned t)
{
    return (srv->opt.transports & t) != 0;
}

static void handle_get(sio__eio_socket *s, sio_http_req *req, sio_http_res *res)
{
    if (s->get) {
        /* Overlapping polls: engine.io answers 400 and drops the session. */
        sio_http_res_send(res, 400, NULL, NULL, 0);
        close_session(s, "transport error", BY_SERVER);
        return;
    }
    s->get = res;
    s->get_enc = (uint8_t)sio__http_pick_encoding(sio_http_req_header(req, "accept-encoding"));
    sio_http_res_on_close(res, on_get_closed, s);
    if (s->state == S_CLOSING) {
        flush_polling(s);
        return;
    }
    if (s->probing && !s->nq) {
        /* The client is upgrading: release this poll at once. */
        queue_packet(s, SIO__EIO_NOOP, NULL, 0);
    }
    if (s->nq) schedule_flush(s);
}

static void handle_post(sio__eio_socket *s, sio_http_req *req, sio_http_res *res)
{
    size_t n;
    uint8_t *body = (uint8_t *)sio_http_req_body(req, &n);
    const char *ct = sio_http_req_header(req, "content-type");
    int binary_body = ct && !strcmp(ct, "application/octet-stream");
    if (binary_body && s->version >= 4) {
        sio_http_res_send(res, 400, NULL, NULL, 0);
        close_session(s, "transport error", BY_SERVER); /* invalid content */
        return;
    }
    s->busy++;
    int r = s->version >= 4 ? sio__eio_decode_payload_v4(body, n, post_packet_cb, s)
                            : sio__eio_decode_payload_v3(body, n, binary_body, post_packet_cb, s);
    if (r < 0) close_session(s, "parse error", BY_SERVER);
    release(s);
    /* engine.io answers "ok" whatever the payload held. */
    sio_http_res_header(res, "Cache-Control", "no-store");
    sio_http_res_send(res, 200, "text/html", "ok", 2);
}

static void handshake_polling(sio__eio_server *srv, sio_http_req *req, sio_http_res *res,
                              int version, int b64)
{
    sio__eio_socket *s = new_session(srv, version, SIO__EIO_POLLING, req);
    if (!s) {
        send_error(req, res, 3, NULL);
        return;
    }
    s->b64 = b64 != 0;
    sio__buf body = SIO__BUF_INIT;
    open_packet(s, allows(srv, SIO__EIO_WEBSOCKET) && !srv->opt.no_upgrades, 1, &body);
    set_cookie(srv, res, s->sid);
    sio_http_res_header(res, "Cache-Control", "no-store");
    sio_http_res_send(res, 200, "text/plain; charset=UTF-8", body.data, body.len);
    sio__buf_free(&body);
    s->busy++;
    if (srv->opt.cb && srv->opt.cb->on_open) srv->opt.cb->on_open(s, req, srv->opt.ud);
    release(s);
}

static void handshake(sio__eio_server *srv, sio_http_req *req, sio_http_res *res, int version,
                      int transport, int b64)
{
    if (transport == SIO__EIO_POLLING) {
        handshake_polling(srv, req, res, version, b64);
        return;
    }
    srv->accepting = NULL;
    srv->accepting_version = version;
    sio__ws_accept(&srv->ws, req, res);
}

/* ---- allowRequest ---- */

static void verdict_aborted(sio_http_res *res, void *ud)
{
    sio_verdict *v = ud;
    v->res = NULL;
}

static void verdict_resume(sio_http_req *req, sio_http_res *res, void *ud)
{
    sio_verdict *v = ud;
    handshake(v->srv, req, res, v->version, v->transport, v->b64);
}

/* Act on a verdict and free it. */
static void decide(sio_verdict *v, int allow, const char *message)
{
    sio__list_remove(&v->node);
    sio_http_res *res = v->res;
    if (res) {
        sio_http_res_on_close(res, NULL, NULL);
        if (!allow) /* no message or "": engine.io's "Forbidden" */
            send_error(v->req, res, 4, message && *message ? message : NULL);
        else if (v->in_call)
            verdict_resume(v->req, res, v);
        else
            sio__http_res_resume(res, verdict_resume, v);
    }
    sio__free(v);
}

void sio_verdict_done(sio_verdict *v, int allow, const char *message)
{
    if (v->in_call) {
        /* Answered from inside allow_request: ask() acts on it when the call returns. */
        v->decided = 1;
        v->allow = (uint8_t)(allow != 0);
        snprintf(v->message, sizeof(v->message), "%s", message ? message : "");
        return;
    }
    decide(v, allow, message);
}

static void ask(sio__eio_server *srv, sio_http_req *req, sio_http_res *res, int version,
                int transport, int b64)
{
    if (!srv->opt.allow_request) {
        handshake(srv, req, res, version, transport, b64);
        return;
    }
    sio_verdict *v = sio__calloc(1, sizeof(*v));
    if (!v) {
        send_error(req, res, 3, NULL);
        return;
    }
    v->srv = srv;
    v->res = res;
    v->req = req;
    v->version = (uint8_t)version;
    v->transport = (uint8_t)transport;
    v->b64 = (uint8_t)b64;
    v->in_call = 1;
    sio__list_push_back(&srv->verdicts, &v->node);
    sio_http_res_on_close(res, verdict_aborted, v);
    srv->opt.allow_request(req, v, srv->opt.allow_request_ud);
    if (v->decided)
        decide(v, v->allow, v->message);
    else
        v->in_call = 0;
}

/* ---- the route ---- */

void sio__eio_handler(sio_http_req *req, sio_http_res *res, void *ud)
{
    sio__eio_server *srv = ud;
    if (apply_cors(srv, req, res)) return;
    const char *m = sio_http_req_method(req);
    char eio[8], transport[16], sid[32], b64[8];
    if (sio_http_req_query_param(req, "transport", transport, sizeof(transport)) < 0)
        transport[0] = 0;
    unsigned t = !strcmp(transport, "polling")     ? SIO__EIO_POLLING
                 : !strcmp(transport, "websocket") ? SIO__EIO_WEBSOCKET
                                                   : 0;
    if (!t || !allows(srv, t)) {
        send_error(req, res, 0, NULL);
        return;
    }
    int have_eio = sio_http_req_query_param(req, "EIO", eio, sizeof(eio)) >= 0;
    int version = !have_eio ? 0 : !strcmp(eio, "4") ? 4 : !strcmp(eio, "3") ? 3 : 0;
    if (!version || (version == 3 && !srv->opt.allow_eio3)) {
        send_error(req, res, 5, NULL);
        return;
    }
    int sidlen = sio_http_req_query_param(req, "sid", sid, sizeof(sid));
    int b64_on = sio_http_req_query_param(req, "b64", b64, sizeof(b64)) > 0;
    if (sidlen == SIO_ETOOBIG) {
        send_error(req, res, 1, NULL);
        return;
    }
    if (sidlen <= 0) {
        if (strcmp(m, "GET")) {
            send_error(req, res, 2, NULL);
            return;
        }
        if (t == SIO__EIO_WEBSOCKET && !req->upgrade) {
            send_error(req, res, 3, NULL);
            return;
        }
        if (refuse_origin(srv, req, res)) return;
        ask(srv, req, res, version, t, b64_on);
        return;
    }
    sio__eio_socket *s = find(srv, sid);
    if (!s) {
        send_error(req, res, 1, NULL);
        return;
    }
    if ((!req->upgrade && s->transport != t) || s->version != version) {
        send_error(req, res, 3, NULL);
        return;
    }
    if (t == SIO__EIO_WEBSOCKET) {
        if (srv->opt.no_upgrades) {
            send_error(req, res, 3, NULL);
            return;
        }
        if (refuse_origin(srv, req, res)) return;
        /* A session already upgrading or upgraded: engine.io completes the handshake and
         * closes the new WebSocket at once. */
        srv->accept_reject = s->transport != SIO__EIO_POLLING || s->probe || s->state != S_OPEN;
        srv->accepting = s;
        srv->accepting_version = s->version;
        sio__ws_accept(&srv->ws, req, res);
        srv->accepting = NULL;
        srv->accept_reject = 0;
        return;
    }
    if (!strcmp(m, "GET"))
        handle_get(s, req, res);
    else if (!strcmp(m, "POST"))
        handle_post(s, req, res);
    else
        sio_http_res_send(res, 500, NULL, NULL, 0);
}

/* ---- WebSocket transport ---- */

static void ws_open(sio_ws *ws, sio_http_req *req, void *ud)
{
    sio__eio_server *srv = ud;
    sio__eio_socket *s = srv->accepting;
    if (s && srv->accept_reject) {
        sio_ws_close(ws, 0, NULL);
        return;
    }
    if (s) {
        /* A probe for an upgrade from polling. */
        s->probe = ws;
        s->upgrade_deadline = uv_now(srv->loop) + srv->opt.upgrade_timeout_ms;
        sio_ws_set_data(ws, s);
        return;
    }
    s = new_session(srv, srv->accepting_version, SIO__EIO_WEBSOCKET, req);
    if (!s) {
        sio_ws_close(ws, 1011, NULL);
        return;
    }
    s->ws = ws;
    sio_ws_set_data(ws, s);
    sio__buf open = SIO__BUF_INIT;
    open_packet(s, 0, 0, &open);
    sio_ws_send(ws, open.data, open.len, 0);
    sio__buf_free(&open);
    s->busy++;
    if (srv->opt.cb && srv->opt.cb->on_open) srv->opt.cb->on_open(s, req, srv->opt.ud);
    release(s);
}

static void finish_upgrade(sio__eio_socket *s)
{
    sio__eio_server *srv = s->srv;
    s->ws = s->probe;
    s->probe = NULL;
    s->probing = 0;
    s->transport = SIO__EIO_WEBSOCKET;
    if (sio__list_linked(&s->flush_node)) sio__list_remove(&s->flush_node);
    if (s->get) {
        /* Release the old transport's GET. */
        sio_http_res *res = s->get;
        s->get = NULL;
        sio_http_res_on_close(res, NULL, NULL);
        sio_http_res_header(res, "Cache-Control", "no-store");
        sio_http_res_send(res, 200, "text/plain; charset=UTF-8", s->version < 4 ? "1:6" : "6",
                          s->version < 4 ? 3 : 1);
    }
    for (size_t i = 0; i < s->nq; i++) {
        sio__eio_packet p = view(&s->q[i]);
        ws_send_packet(s->ws, s->version, &p, !s->q[i].no_compress);
    }
    drop_queue(s);
    sio__free(s->q);
    s->q = NULL;
    s->capq = 0;
    if (s->state == S_CLOSING) {
        close_session(s, "forced close", BY_SERVER);
        return;
    }
    if (srv->opt.cb && srv->opt.cb->on_upgrade) {
        s->busy++;
        srv->opt.cb->on_upgrade(s, srv->opt.ud);
        release(s);
    }
}

static void drop_probe(sio__eio_socket *s)
{
    sio_ws *probe = s->probe;
    s->probe = NULL;
    s->probing = 0;
    sio_ws_set_data(probe, NULL);
    sio_ws_close(probe, 0, NULL);
}

static void ws_message(sio_ws *ws, const void *data, size_t len, int binary, void *ud)
{
    sio__eio_socket *s = sio_ws_data(ws);
    if (!s || s->state == S_CLOSED) return;
    sio__eio_packet p;
    const uint8_t *text = data;
    size_t skip = s->version < 4 ? 2 : 1;
    if (!binary && len >= skip && text[0] == 'b' && ws != s->probe) {
        /* A base64 binary message ("b<base64>", v3 "b4<base64>"): forced base64 clients. */
        if (s->version < 4 && text[1] != '0' + SIO__EIO_MESSAGE) {
            close_session(s, "parse error", BY_SERVER);
            return;
        }
        uint8_t *bin = sio__malloc(len);
        long n = bin ? sio__eio_base64_decode(bin, text + skip, len - skip) : SIO_ENOMEM;
        if (n < 0) {
            sio__free(bin);
            close_session(s, "parse error", BY_SERVER);
            return;
        }
        p = (sio__eio_packet){SIO__EIO_MESSAGE, 1, bin, (size_t)n};
        on_packet(s, &p);
        sio__free(bin);
        return;
    }
    int r = binary ? sio__eio_decode_ws_binary(s->version < 4, data, len, &p)
                   : sio__eio_decode_text(data, len, &p);
    if (ws == s->probe) {
        if (!r && p.type == SIO__EIO_PING && p.len == 5 && !memcmp(p.data, "probe", 5)) {
            sio__eio_packet pong = {SIO__EIO_PONG, 0, (const uint8_t *)"probe", 5};
            ws_send_packet(ws, s->version, &pong, 1);
            s->probing = 1;
            if (s->get && !s->nq) {
                queue_packet(s, SIO__EIO_NOOP, NULL, 0);
                schedule_flush(s);
            }
        } else if (!r && p.type == SIO__EIO_UPGRADE && s->probing) {
            finish_upgrade(s);
        } else {
            drop_probe(s);
        }
        return;
    }
    if (r) {
        close_session(s, "parse error", BY_SERVER);
        return;
    }
    on_packet(s, &p);
}

static void ws_close(sio_ws *ws, int code, const char *reason, void *ud)
{
    sio__eio_socket *s = sio_ws_data(ws);
    if (!s) return;
    if (ws == s->probe) {
        s->probe = NULL;
        s->probing = 0;
        return;
    }
    s->ws = NULL;
    /* A WebSocket this side failed (protocol error, message too big) is engine.io's
     * "transport error"; any other end is "transport close". */
    int failed = code == 1002 || code == 1007 || code == 1009 || code == 1011;
    close_session(s, failed ? "transport error" : "transport close", BY_CLIENT);
}

/* ---- the sweep ---- */

static void sweep_one(sio__eio_server *srv, sio__eio_socket *s, uint64_t now)
{
    if (s->busy) return;
    if (s->state == S_CLOSING) {
        if (now >= s->close_deadline) close_session(s, "forced close", BY_SERVER);
        return;
    }
    if (s->deadline && now >= s->deadline) {
        close_session(s, "ping timeout", BY_SERVER);
        return;
    }
    if (s->version >= 4 && !s->awaiting_pong && now >= s->next_ping) {
        s->awaiting_pong = 1;
        s->refreshed = 0;
        s->deadline = now + srv->opt.ping_timeout_ms;
        send_control(s, SIO__EIO_PING);
    }
    if (s->probe && now >= s->upgrade_deadline) drop_probe(s);
}

static void on_sweep(uv_timer_t *t)
{
    sio__eio_server *srv = t->data;
    uint64_t now = uv_now(srv->loop);
    /* A cursor node walks the list, so a close callback may unlink any session. */
    sio__list *cur = &srv->cursor;
    sio__list_push_back(srv->sessions.next, cur);
    while (cur->next != &srv->sessions) {
        sio__list *n = cur->next;
        sio__list_remove(cur);
        sio__list_push_back(n->next, cur);
        sweep_one(srv, sio__container_of(n, sio__eio_socket, node), now);
    }
    sio__list_remove(cur);
}

/* ---- the server ---- */

sio__eio_server *sio__eio_server_new(uv_loop_t *loop, const sio__eio_options *opt)
{
    sio__eio_server *srv = sio__calloc(1, sizeof(*srv));
    if (!srv) return NULL;
    if (opt) srv->opt = *opt;
    sio__eio_options *o = &srv->opt;
    if (!o->ping_interval_ms) o->ping_interval_ms = 25000;
    if (!o->ping_timeout_ms) o->ping_timeout_ms = 20000;
    if (!o->upgrade_timeout_ms) o->upgrade_timeout_ms = 10000;
    if (!o->max_http_buffer_size) o->max_http_buffer_size = 1000000;
    if (!o->transports) o->transports = SIO__EIO_POLLING | SIO__EIO_WEBSOCKET;
    if (!o->http_compression_threshold) o->http_compression_threshold = 1024;
    if (!o->per_message_deflate_threshold) o->per_message_deflate_threshold = 1024;
    if (!o->max_buffered_bytes) {
        /* Room for a burst of the largest messages clients may send, which servers often
         * relay to others. */
        o->max_buffered_bytes = (size_t)16 << 20;
        if (o->max_http_buffer_size <= SIZE_MAX / 4 &&
            o->max_http_buffer_size * 4 > o->max_buffered_bytes)
            o->max_buffered_bytes = o->max_http_buffer_size * 4;
    }
    /* Node's path rule: strip one trailing slash, then add it back. */
    const char *p = o->path ? o->path : "/engine.io/";
    size_t n = strlen(p);
    if (n && p[n - 1] == '/') n--;
    if (n + 2 > sizeof(srv->path)) n = sizeof(srv->path) - 2;
    memcpy(srv->path, p, n);
    srv->path[n] = '/';
    srv->path[n + 1] = 0;
    o->path = srv->path;
    srv->loop = loop;
    sio__list_init(&srv->sessions);
    sio__list_init(&srv->to_flush);
    sio__list_init(&srv->verdicts);
    sio_ws_options wo = {
        .on_open = ws_open,
        .on_message = ws_message,
        .on_close = ws_close,
        .ud = srv,
        .max_message = o->max_http_buffer_size,
        .per_message_deflate = o->per_message_deflate,
        .deflate_threshold = o->per_message_deflate_threshold,
        /* Messages are bounded here (sio__eio_admit); the WebSocket's own bound then only
         * stops pongs to a peer that pings without reading. */
        .max_buffered = o->max_buffered_bytes,
    };
    sio__ws_group_init(&srv->ws, &wo);
    /* Deadlines are checked at a tenth of the shorter period (10 ms to 1 s). */
    uint32_t period =
        o->ping_interval_ms < o->ping_timeout_ms ? o->ping_interval_ms : o->ping_timeout_ms;
    srv->sweep_ms = period / 10 < 10 ? 10 : period / 10 > 1000 ? 1000 : period / 10;
    uv_timer_init(loop, &srv->sweep);
    srv->sweep.data = srv;
    uv_timer_start(&srv->sweep, on_sweep, srv->sweep_ms, srv->sweep_ms);
    uv_unref((uv_handle_t *)&srv->sweep);
    uv_check_init(loop, &srv->flusher);
    srv->flusher.data = srv;
    uv_unref((uv_handle_t *)&srv->flusher);
    return srv;
}

const char *sio__eio_path(const sio__eio_server *srv)
{
    return srv->path;
}

size_t sio__eio_max_body(const sio__eio_server *srv)
{
    return srv->opt.max_http_buffer_size;
}

size_t sio__eio_server_count(const sio__eio_server *srv)
{
    return srv->count;
}

void sio__eio_server_close_all(sio__eio_server *srv)
{
    srv->closing = 1;
    /* engine.io's close(): discard the transport; a parked poll gets a close packet. */
    while (!sio__list_empty(&srv->sessions)) {
        sio__eio_socket *s = sio__container_of(srv->sessions.next, sio__eio_socket, node);
        /* What is queued for a parked GET goes out with the close packet (the last packets
         * the application sent, such as disconnects); over WebSocket the close frame
         * follows whatever is still queued. */
        if (s->get && s->nq && !s->overflow && s->transport == SIO__EIO_POLLING) answer_get(s, 1);
        close_session(s, "forced close", BY_SERVER);
    }
    while (!sio__list_empty(&srv->verdicts)) {
        sio_verdict *v = sio__container_of(srv->verdicts.next, sio_verdict, node);
        sio__list_remove(&v->node);
        if (v->res) {
            sio_http_res_on_close(v->res, NULL, NULL);
            send_error(v->req, v->res, 3, NULL);
            v->res = NULL;
        }
        /* The application still holds v: left detached, it is freed by the
         * sio_verdict_done() call that is still to come. */
    }
    uv_timer_stop(&srv->sweep);
}

static void free_after_close(uv_handle_t *h)
{
    sio__eio_server *srv = h->data;
    if (--srv->handles == 0) sio__free(srv);
}

void sio__eio_server_free(sio__eio_server *srv)
{
    if (!srv) return;
    sio__eio_server_close_all(srv);
    sio__bytes_unref(srv->control[0]);
    sio__bytes_unref(srv->control[1]);
    srv->handles = 2;
    uv_close((uv_handle_t *)&srv->sweep, free_after_close);
    uv_close((uv_handle_t *)&srv->flusher, free_after_close);
}

int sio__eio_writable(const sio__eio_socket *s)
{
    if (s->state != S_OPEN || s->overflow) return 0;
    if (s->transport == SIO__EIO_WEBSOCKET) return s->ws && sio_ws_buffered(s->ws) == 0;
    return s->get && s->nq == 0;
}

const char *sio__eio_sid(const sio__eio_socket *s)
{
    return s->sid;
}

int sio__eio_version(const sio__eio_socket *s)
{
    return s->version;
}

int sio__eio_transport(const sio__eio_socket *s)
{
    return s->transport;
}

void sio__eio_set_data(sio__eio_socket *s, void *data)
{
    s->data = data;
}

void *sio__eio_data(const sio__eio_socket *s)
{
    return s->data;
}
