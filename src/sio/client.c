/*
 * Socket.IO clients: one per Engine.IO session. A client decodes what its session brings
 * (text packets, and the attachments of binary ones), connects to namespaces, hands each
 * packet to the socket of its namespace, and closes every socket when the session ends.
 *
 * The io object (one per sio_server) is made here too: the Engine.IO server on io.path, the
 * route, and one timer for the coarse deadlines (connectTimeout, ack timeouts).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/url.h"
#include "http/http.h"
#include "sio/io.h"
#include "sio/server.h"

static void client_free(sio__client *c);

/* ---- the handshake request ---- */

/* A client and its handshake request (url, remote address, query, then the headers as
 * "name\0value\0" pairs) in one allocation: every connection keeps them, so no slack and
 * no per-string allocation. A common header name is kept as one byte, its index in header_names[]
 * plus one (a byte below 32, which never starts a header name), as HPACK's static table
 * does: the names are looked up without regard to case only, so their case need not be
 * kept, and they are most of a WebSocket handshake's bytes. */
#define SCRATCH_MAX (64 * 1024) /* larger encodings free their buffer */

static const char *const header_names[] = {
    "host",
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "user-agent",
    "origin",
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "pragma",
    "cookie",
    "referer",
    "authorization",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-real-ip",
    "sec-fetch-site",
    "sec-fetch-mode",
    "sec-fetch-dest",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "content-type",
    "content-length",
};

/* The byte a header name is kept as, or 0 when it is kept as it is. */
static uint8_t name_code(const char *name)
{
    for (size_t i = 0; i < sizeof(header_names) / sizeof(header_names[0]); i++)
        if (!strcasecmp(name, header_names[i])) return (uint8_t)(i + 1);
    return 0;
}

const char *sio__client_header(const sio__client *c, const char *name)
{
    const char *p = c->strings + c->headers;
    for (uint32_t i = 0; i < c->nheaders; i++) {
        uint8_t code = (uint8_t)*p;
        const char *n = code && code <= sizeof(header_names) / sizeof(header_names[0])
                            ? header_names[code - 1]
                            : p;
        const char *value = n == p ? p + strlen(p) + 1 : p + 1;
        if (!strcasecmp(n, name)) return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

static sio__client *client_new(sio_http_req *req)
{
    const char *url = sio_http_req_url(req), *address = sio_http_req_remote_addr(req);
    const char *query = sio_http_req_query(req);
    const char *name, *value;
    /* The query is most often the end of the url: then it is not kept twice. */
    size_t ul = strlen(url), ql = strlen(query);
    int tail = ql && ul > ql && url[ul - ql - 1] == '?' && !strcmp(url + ul - ql, query);
    size_t size = ul + strlen(address) + (tail ? 0 : ql + 1) + 2, n = 0;
    for (; !sio_http_req_header_at(req, n, &name, &value); n++)
        size += (name_code(name) ? 1 : strlen(name) + 1) + strlen(value) + 1;
    /* Offsets are 32 bits: far past what the HTTP parser lets a request head be. */
    if (size > UINT32_MAX || n > UINT32_MAX) return NULL;
    sio__client *c = sio__calloc(1, sizeof(*c) + size);
    if (!c) return NULL;
    char *p = stpcpy(c->strings, url) + 1;
    c->address = (uint32_t)(p - c->strings);
    p = stpcpy(p, address) + 1;
    if (tail) {
        c->query = (uint32_t)(ul - ql);
    } else {
        c->query = (uint32_t)(p - c->strings);
        p = stpcpy(p, query) + 1;
    }
    c->headers = (uint32_t)(p - c->strings);
    for (size_t i = 0; i < n; i++) {
        sio_http_req_header_at(req, i, &name, &value);
        uint8_t code = name_code(name);
        if (code)
            *p++ = (char)code;
        else
            p = stpcpy(p, name) + 1;
        p = stpcpy(p, value) + 1;
    }
    c->nheaders = (uint32_t)n;
    c->secure = (uint8_t)sio_http_req_secure(req);
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    c->issued = tv.tv_sec * 1000 + tv.tv_usec / 1000;
    return c;
}

/* ---- sending ---- */

const sio__sp_options *sio__client_sp(const sio__client *c)
{
    return c->version == 4 ? &c->io->sp4 : &c->io->sp5;
}

/* bounded: held to the outbound bound (else only refused once the session is over it). */
static int client_send(sio__client *c, const sio__sp_packet *p, int bounded)
{
    if (c->closed) return SIO_ECLOSED;
    /* Encoded into the server's scratch buffer, which sending copies from: no allocation
     * per packet. Taken while in use, in case sending ever re-enters. */
    sio__io *io = c->io;
    sio__buf b = io->scratch;
    io->scratch = (sio__buf)SIO__BUF_INIT;
    b.len = 0;
    sio__sp_blob blobs[SIO__MAX_ATTACHMENTS];
    int n = sio__sp_encode(sio__client_sp(c), &b, p, blobs, SIO__MAX_ATTACHMENTS);
    int r = n < 0 ? n : 0;
    if (!r && bounded) {
        /* A packet and its attachments fit under the outbound bound together, or none of
         * them is sent. */
        size_t total = b.len;
        for (int i = 0; i < n; i++) total += blobs[i].len;
        r = sio__eio_admit(c->conn, total, 1 + (size_t)n);
    }
    if (!r) r = sio__eio_send(c->conn, b.data, b.len, SIO__EIO_ADMITTED);
    for (int i = 0; i < n && !r; i++)
        r = sio__eio_send(c->conn, blobs[i].data, blobs[i].len,
                          SIO__EIO_BINARY | SIO__EIO_ADMITTED);
    if (io->scratch.data || b.cap > SCRATCH_MAX)
        sio__buf_free(&b);
    else
        io->scratch = b;
    return r;
}

int sio__client_send(sio__client *c, const sio__sp_packet *p)
{
    /* CONNECT, DISCONNECT and CONNECT_ERROR are small and come once per socket: they are
     * not held to the bound, so a client is always told where it stands. */
    int bounded = p->type != SIO__SP_CONNECT && p->type != SIO__SP_DISCONNECT &&
                  p->type != SIO__SP_CONNECT_ERROR;
    return client_send(c, p, bounded);
}

int sio__client_send_missed(sio__client *c, const sio__sp_packet *p)
{
    return client_send(c, p, 0);
}

int sio__client_send_encoded(sio__client *c, sio__bytes *text, sio__bytes *const *bins,
                             size_t nbins, sio__bytes *(*frames)[2], int compress)
{
    if (c->closed) return SIO_ECLOSED;
    int nc = (compress ? 0 : SIO__EIO_NO_COMPRESS) | SIO__EIO_ADMITTED;
    size_t total = text ? text->len : 0;
    for (size_t i = 0; i < nbins; i++) total += bins[i]->len;
    int r = sio__eio_admit(c->conn, total, 1 + nbins);
    if (!r) r = sio__eio_send_shared(c->conn, text, nc, frames ? frames[0] : NULL);
    for (size_t i = 0; i < nbins && !r; i++)
        r = sio__eio_send_shared(c->conn, bins[i], SIO__EIO_BINARY | nc,
                                 frames ? frames[1 + i] : NULL);
    return r;
}

/* ---- closing ---- */

sio_socket *sio__client_open_socket(sio__client *c)
{
    for (sio__list *pos = c->sockets.next; pos != &c->sockets; pos = pos->next) {
        sio_socket *s = sio__container_of(pos, sio_socket, client_node);
        if (!s->closing) return s;
    }
    return NULL;
}

void sio__client_release(sio__client *c)
{
    if (--c->busy == 0 && c->closed) client_free(c);
}

/* A socket whose close is in progress (its handler closed the client) finishes it and
 * leaves the list itself. */
static void close_sockets(sio__client *c, const char *reason)
{
    c->busy++;
    sio_socket *s;
    while ((s = sio__client_open_socket(c))) sio__socket_close(s, reason, 0);
    c->busy--;
}

/* Node's client.close(): end the session; every socket gets the reason (Node's sockets see
 * "forced close", the Engine.IO close that conn.close() fires first). */
void sio__client_close(sio__client *c, const char *reason)
{
    if (c->closed) return;
    close_sockets(c, reason);
    sio__eio_close(c->conn);
}

void sio__client_socket_gone(sio__client *c, sio_socket *s)
{
    /* A client back in no namespace stays: connectTimeout does not apply again (Node). */
    (void)c;
    sio__list_remove(&s->client_node);
    sio__list_init(&s->client_node);
}

/* ---- receiving ---- */

static sio_socket *socket_of(sio__client *c, const char *nsp, size_t len)
{
    sio__list *pos;
    for (pos = c->sockets.next; pos != &c->sockets; pos = pos->next) {
        sio_socket *s = sio__container_of(pos, sio_socket, client_node);
        const char *name = s->nsp->name;
        if (strlen(name) == len && !memcmp(name, nsp, len)) return s;
    }
    return NULL;
}

/* v4 clients name a namespace with a query ("/admin?token=1"): its parameters are the
 * auth object. */
static json_t *query_object(const char *q, size_t len)
{
    json_t *o = json_object();
    if (!o) return NULL;
    const char *end = q + len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        if (!amp) amp = end;
        const char *eq = memchr(q, '=', (size_t)(amp - q));
        const char *kend = eq ? eq : amp;
        char k[256], v[1024];
        size_t kl = (size_t)(kend - q), vl = eq ? (size_t)(amp - eq - 1) : 0;
        if (kl && kl < sizeof(k) && vl < sizeof(v)) {
            ptrdiff_t dk = sio__url_decode(k, q, kl, 1);
            ptrdiff_t dv = sio__url_decode(v, eq ? eq + 1 : "", vl, 1);
            if (dk >= 0 && dv >= 0) {
                k[dk] = 0;
                v[dv] = 0;
                json_object_set_new(o, k, json_string(v));
            }
        }
        q = amp + 1;
    }
    return o;
}

static void connect_nsp(sio__client *c, const char *name, size_t len, json_t *auth)
{
    char nbuf[SIO__MAX_NSP_NAME + 1];
    sio_namespace *nsp = NULL;
    if (len > c->io->opt.max_name_bytes || len > SIO__MAX_NSP_NAME) {
        /* No namespace has such a name: the client hears what an unknown one gets. */
        sio__log_warn(c->io->log, "socket.io: %s: namespace name of %zu bytes over the limit (%zu)",
                      sio__eio_sid(c->conn), len,
                      c->io->opt.max_name_bytes < SIO__MAX_NSP_NAME ? c->io->opt.max_name_bytes
                                                                    : SIO__MAX_NSP_NAME);
    } else {
        memcpy(nbuf, name, len);
        nbuf[len] = 0;
        if (!auth) auth = json_incref(c->io->empty_auth); /* shared: auth is read-only */
        nsp = sio__nsp_find(c->io, nbuf, len, auth);
    }
    if (!nsp) {
        /* An object for both protocols, as Node sends it. */
        json_t *err = json_pack("{ss}", "message", "Invalid namespace");
        sio__sp_packet p = {
            .type = SIO__SP_CONNECT_ERROR, .nsp = name, .nsp_len = len, .data = err};
        int r = sio__client_send(c, &p);
        json_decref(err);
        json_decref(auth);
        if (r) sio__client_close(c, "forced server close"); /* or it would wait forever */
        return;
    }
    sio__nsp_connect(nsp, c, auth);
}

static void on_packet(sio__client *c, sio__sp_packet *p)
{
    sio_socket *s = socket_of(c, p->nsp, p->nsp_len);
    if (!s && p->type == SIO__SP_CONNECT) {
        json_t *auth = NULL;
        if (c->version == 4)
            auth = p->query ? query_object(p->query, p->query_len) : NULL;
        else
            auth = json_incref(p->data);
        connect_nsp(c, p->nsp, p->nsp_len, auth);
    } else if (s && p->type != SIO__SP_CONNECT && p->type != SIO__SP_CONNECT_ERROR) {
        sio__socket_packet(s, p);
    } else {
        sio__client_close(c, "forced close"); /* an unexpected packet: Node's client.close() */
    }
}

/* One message into a packet: 1 (complete), 0 (attachments follow) or an error with *why.
 * A text packet without attachments needs no decoder state: only a binary packet makes
 * the client's decoder, which is then kept. */
static int decode(sio__client *c, const uint8_t *data, size_t len, int binary, sio__sp_packet *p,
                  const char **why)
{
    if (!c->dec && !binary) {
        int r = sio__sp_decode(sio__client_sp(c), (const char *)data, len, p, why);
        if (r) return r;
        if (!p->attachments) return 1;
        sio__sp_packet_clear(p); /* a binary packet's header: the decoder takes it again */
    }
    if (!c->dec) {
        if (!(c->dec = sio__malloc(sizeof(*c->dec)))) {
            *why = "out of memory";
            return SIO_ENOMEM;
        }
        sio__sp_decoder_init(c->dec, sio__client_sp(c));
    }
    int r = binary ? sio__sp_decoder_binary(c->dec, data, len, p)
                   : sio__sp_decoder_text(c->dec, (const char *)data, len, p);
    if (r < 0) *why = c->dec->reason;
    return r;
}

static void eio_message(sio__eio_socket *es, const uint8_t *data, size_t len, int binary, void *ud)
{
    sio__client *c = sio__eio_data(es);
    if (!c || c->closed) return;
    sio__sp_packet p = {0};
    const char *why = NULL;
    int r = decode(c, data, len, binary, &p, &why);
    if (r < 0) {
        /* Over a limit (attachments, nesting) is worth a warning; garbage is not. */
        sio__log(c->io->log, r == SIO_ETOOBIG ? SIO_LOG_WARN : SIO_LOG_DEBUG,
                 "socket.io: %s: parse error (%s): closing", sio__eio_sid(es),
                 why ? why : sio_strerror(r));
        close_sockets(c, "forced close"); /* Node closes the client on a decoder error */
        sio__eio_close(es);
        return;
    }
    if (r == 0) return; /* attachments follow */
    const json_t *name = json_array_get(p.data, 0);
    if ((p.type == SIO__SP_EVENT || p.type == SIO__SP_BINARY_EVENT) && json_is_string(name) &&
        json_string_length(name) > c->io->opt.max_name_bytes) {
        /* Treated as a packet that does not parse: Node has no such bound, and this is the
         * close its clients know for packets it refuses. */
        sio__log_warn(c->io->log,
                      "socket.io: %s: event name of %zu bytes over the limit (%zu): closing",
                      sio__eio_sid(es), json_string_length(name), c->io->opt.max_name_bytes);
        sio__sp_packet_clear(&p);
        sio__client_close(c, "forced close");
        return;
    }
    c->busy++;
    on_packet(c, &p);
    sio__sp_packet_clear(&p);
    if (--c->busy == 0 && c->closed) client_free(c);
}

static void eio_open(sio__eio_socket *es, sio_http_req *req, void *ud)
{
    sio__io *io = ud;
    sio__client *c = client_new(req);
    if (!c) {
        sio__eio_close(es);
        return;
    }
    c->io = io;
    c->conn = es;
    c->version = sio__eio_version(es) < 4 ? 4 : 5;
    sio__list_init(&c->sockets);
    sio__list_push_back(&io->clients, &c->node);
    c->connect_deadline = uv_now(io->loop) + io->opt.connect_timeout_ms;
    sio__list_push_back(&io->waiting, &c->wait_node);
    sio__eio_set_data(es, c);
    /* Protocol v4 clients are in the main namespace from the start. */
    if (c->version == 4) connect_nsp(c, "/", 1, NULL);
}

static void eio_close(sio__eio_socket *es, const char *reason, void *ud)
{
    sio__client *c = sio__eio_data(es);
    if (!c) return;
    sio__eio_set_data(es, NULL);
    close_sockets(c, reason);
    c->closed = 1;
    c->conn = NULL;
    if (!c->busy) client_free(c);
}

static void client_free(sio__client *c)
{
    if (sio__list_linked(&c->node)) sio__list_remove(&c->node);
    if (sio__list_linked(&c->wait_node)) sio__list_remove(&c->wait_node);
    if (c->dec) {
        sio__sp_decoder_free(c->dec);
        sio__free(c->dec);
    }
    sio__free(c);
}

static const sio__eio_callbacks eio_callbacks = {
    .on_open = eio_open,
    .on_message = eio_message,
    .on_close = eio_close,
};

/* ---- the io ---- */

static void on_timer(uv_timer_t *t)
{
    sio__io *io = t->data;
    uint64_t now = uv_now(io->loop);
    /* connectTimeout: the waiting list is in deadline order. */
    while (!sio__list_empty(&io->waiting)) {
        sio__client *c = sio__container_of(io->waiting.next, sio__client, wait_node);
        if (now < c->connect_deadline) break;
        sio__list_remove(&c->wait_node);
        sio__list_init(&c->wait_node);
        /* Still listed: no socket has connected. One waiting for its middlewares does not
         * count, as in Node, where a client joins a namespace once they have passed. */
        if (c->closed) continue;
        sio__log_info(io->log,
                      "socket.io: %s: no namespace joined within connectTimeout (%u ms): "
                      "closing",
                      sio__eio_sid(c->conn), io->opt.connect_timeout_ms);
        sio__client_close(c, "forced close");
    }
    /* Ack deadlines. A callback may disconnect any socket, which then leaves whichever
     * list it is in and may be freed: take the sockets one by one from a detached list. */
    sio__list todo;
    sio__list_init(&todo);
    if (!sio__list_empty(&io->acks)) {
        todo.next = io->acks.next;
        todo.prev = io->acks.prev;
        todo.next->prev = todo.prev->next = &todo;
        sio__list_init(&io->acks);
    }
    while (!sio__list_empty(&todo)) {
        sio_socket *s = sio__container_of(todo.next, sio_socket, ack_node);
        sio__list_remove(&s->ack_node);
        sio__list_push_back(&io->acks, &s->ack_node);
        sio__socket_expire_acks(s, now);
    }
}

static void on_shutdown(void *ud)
{
    sio__io *io = ud;
    io->closing = 1;
    /* A disconnect handler may close any other client (and so free it): the next client is
     * taken once the current one, held meanwhile, is done. */
    sio__list *pos = io->clients.next;
    while (pos != &io->clients) {
        sio__client *c = sio__container_of(pos, sio__client, node);
        c->busy++;
        close_sockets(c, "server shutting down");
        pos = pos->next;
        sio__client_release(c);
    }
    sio__eio_server_close_all(io->eio);
    uv_timer_stop(&io->timer);
}

static void timer_closed(uv_handle_t *h)
{
    sio__io *io = h->data;
    sio__handlers_table_free(io);
    sio__buf_free(&io->scratch);
    sio__intern_free(io->names);
    sio__free(io);
}

static void io_free(struct sio__io *io)
{
    on_shutdown(io);
    while (!sio__list_empty(&io->namespaces))
        sio__nsp_free(sio__container_of(io->namespaces.next, sio_namespace, node));
    while (!sio__list_empty(&io->matchers))
        sio__nsp_free(sio__container_of(io->matchers.next, sio_namespace, node));
    sio__eio_server_free(io->eio);
    sio__client_files_free(io->client_files);
    json_decref(io->empty_auth);
    uv_close((uv_handle_t *)&io->timer, timer_closed);
}

sio__io *sio__io_get(sio_server *server)
{
    sio__io *io = sio__server_io(server);
    if (io) return io;
    io = sio__calloc(1, sizeof(*io));
    if (!io) return NULL;
    io->server = server;
    io->loop = sio_server_loop(server);
    io->log = sio__server_log(server);
    io->opt = sio__server_options(server)->io;
    sio_io_options *o = &io->opt;
    if (!o->path) o->path = "/socket.io/";
    if (!o->connect_timeout_ms) o->connect_timeout_ms = 45000;
    if (!o->max_attachments) o->max_attachments = SIO__SP_DEFAULT_MAX_ATTACHMENTS;
    if (o->max_attachments > SIO__MAX_ATTACHMENTS) o->max_attachments = SIO__MAX_ATTACHMENTS;
    if (!o->max_name_bytes) o->max_name_bytes = 255;
    if (!o->max_pending_acks) o->max_pending_acks = 1000;
    if (!o->max_kept_events) o->max_kept_events = 1000;
    sio__list_init(&io->namespaces);
    sio__list_init(&io->matchers);
    sio__list_init(&io->clients);
    sio__list_init(&io->waiting);
    sio__list_init(&io->acks);
    if (!(io->empty_auth = json_object()) || !(io->names = sio__intern_new())) {
        json_decref(io->empty_auth);
        sio__free(io);
        return NULL;
    }
    io->sp5 = (sio__sp_options){.version = 5, .max_attachments = o->max_attachments};
    io->sp4 = (sio__sp_options){.version = 4, .max_attachments = o->max_attachments};
    sio__eio_options eo = {
        .path = o->path,
        .ping_interval_ms = o->ping_interval_ms,
        .ping_timeout_ms = o->ping_timeout_ms,
        .upgrade_timeout_ms = o->upgrade_timeout_ms,
        .max_http_buffer_size = o->max_http_buffer_size,
        .transports = o->transports,
        .no_upgrades = o->no_upgrades,
        .allow_eio3 = o->allow_eio3,
        .cors = o->cors,
        .cookie = o->cookie,
        .no_http_compression = o->no_http_compression,
        .per_message_deflate = o->per_message_deflate,
        .allow_request = o->allow_request,
        .allow_request_ud = o->allow_request_ud,
        .max_buffered_bytes = o->max_buffered_bytes,
        .allowed_origins = o->allowed_origins,
        .nallowed_origins = o->nallowed_origins,
        .allow_origin = o->allow_origin,
        .allow_origin_ud = o->allow_origin_ud,
        .log = io->log,
        .cb = &eio_callbacks,
        .ud = io,
    };
    io->eio = sio__eio_server_new(io->loop, &eo);
    if (!io->eio) {
        sio__intern_free(io->names);
        json_decref(io->empty_auth);
        sio__free(io);
        return NULL;
    }
    uint32_t t = o->connect_timeout_ms / 10;
    io->timer_ms = t < 10 ? 10 : t > 100 ? 100 : t;
    uv_timer_init(io->loop, &io->timer);
    io->timer.data = io;
    uv_unref((uv_handle_t *)&io->timer);
    int r = sio_http_route(server, sio__eio_path(io->eio), sio__eio_handler, io->eio,
                           &(sio_http_route_options){
                               .prefix = 1,
                               .methods = SIO_HTTP_ANY,
                               .max_body = sio__eio_max_body(io->eio),
                           });
    if (!r) r = sio__server_on_shutdown(server, on_shutdown, io);
    if (!r && !o->no_serve_client &&
        !(io->client_files = sio__client_files_new(server, sio__eio_path(io->eio), o->client_dir)))
        r = SIO_ENOMEM;
    if (r) {
        /* Out of memory while wiring up: routes or the shutdown hook may already point at
         * io, so it stays, unusable, until the server is freed. */
        sio__server_set_io(server, io, io_free);
        return NULL;
    }
    uv_timer_start(&io->timer, on_timer, io->timer_ms, io->timer_ms);
    sio__server_set_io(server, io, io_free);
    /* The main namespace always exists, as Node's io.sockets. */
    if (!sio_of(server, "/")) return NULL;
    return io;
}
