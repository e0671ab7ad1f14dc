/*
 * The Engine.IO server (src/eio/server.c) over real loopback sockets, for the options and
 * server-side paths a fixed fixture cannot reach: allowRequest (synchronous, asynchronous,
 * over WebSocket, with the client gone, at shutdown), cookies, HTTP compression, restricted
 * transports, closing from the server, EIO=3 payloads, overlapping polls, the path and the
 * body limit, CORS, protocol violations, and the outbound bound (max_buffered_bytes).
 *
 * Each test runs a server on a loop of its own in the main thread and a client in a
 * second thread that speaks HTTP/1.1 and WebSocket over blocking sockets. The client
 * reaches the loop only through a uv_async_t that starts the shutdown. Checks made on
 * either thread are collected under a mutex and asserted once the loop has ended, since
 * cmocka's asserts are not thread-safe. Expected answers are those of Node's engine.io 6,
 * except where a test says libsio answers otherwise on purpose.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "eio/eio.h"
#include "http/http.h"
#include "sio/server.h"
#include "sio.h"

#define MAX_FAIL   32
#define TIMEOUT_MS 2000

/* ------------------------------------------------------------------------------------ */
/* The shared state and checks                                                          */
/* ------------------------------------------------------------------------------------ */

typedef struct ctx ctx;

struct ctx {
    /* Set by the test. */
    sio__eio_options opt;
    void (*client)(ctx *c);
    /* The loop side. */
    uv_loop_t loop;
    sio_server *io;
    sio__eio_server *eio;
    uv_async_t stop;
    char path[128];
    int port;
    atomic_int handled; /* requests sio__eio_handler has returned from */
    atomic_int verdicts_pending;
    atomic_int verdicts_done;
    int send_after_close; /* sio__eio_send on a session just closed (loop thread) */
    /* Both threads. */
    pthread_mutex_t mu;
    char events[8192];
    int nchecks, nfail;
    char fail[MAX_FAIL][320];
};

static void check_at(ctx *c, int ok, int line, const char *fmt, ...)
{
    pthread_mutex_lock(&c->mu);
    c->nchecks++;
    if (!ok && c->nfail < MAX_FAIL) {
        char *out = c->fail[c->nfail++];
        int n = snprintf(out, sizeof(c->fail[0]), "line %d: ", line);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out + n, sizeof(c->fail[0]) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&c->mu);
}

#define CHECK(c, cond) check_at((c), (cond) != 0, __LINE__, "%s", #cond)
#define CHECK_INT(c, a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        check_at((c), a_ == b_, __LINE__, "%s == %s (%lld, want %lld)", #a, #b, a_, b_);           \
    } while (0)
#define CHECK_STR(c, a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        check_at((c), a_ &&b_ && !strcmp(a_, b_), __LINE__, "%s == %s (\"%s\", want \"%s\")", #a,  \
                 #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                      \
    } while (0)
#define CHECK_HAS(c, hay, needle)                                                                  \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        check_at((c), h_ &&strstr(h_, n_) != NULL, __LINE__, "%s contains \"%s\" (\"%s\")", #hay,  \
                 n_, h_ ? h_ : "(null)");                                                          \
    } while (0)

/* The loop side's log: "open polling 4;close forced close;..." */
static void event(ctx *c, const char *fmt, ...)
{
    pthread_mutex_lock(&c->mu);
    size_t n = strlen(c->events);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->events + n, sizeof(c->events) - n - 1, fmt, ap);
    va_end(ap);
    n = strlen(c->events);
    if (n + 1 < sizeof(c->events)) strcpy(c->events + n, ";");
    pthread_mutex_unlock(&c->mu);
}

static int failures(ctx *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->nfail;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static int count_events(ctx *c, const char *needle)
{
    pthread_mutex_lock(&c->mu);
    int k = 0;
    for (const char *p = c->events; (p = strstr(p, needle)) != NULL; p++) k++;
    pthread_mutex_unlock(&c->mu);
    return k;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait until the log holds needle at least n times. */
static int wait_events(ctx *c, const char *needle, int n)
{
    for (int i = 0; i < TIMEOUT_MS; i++) {
        if (count_events(c, needle) >= n) return 1;
        sleep_ms(1);
    }
    return 0;
}

static int wait_counter(atomic_int *a, int n)
{
    for (int i = 0; i < TIMEOUT_MS; i++) {
        if (atomic_load(a) >= n) return 1;
        sleep_ms(1);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* The server                                                                           */
/* ------------------------------------------------------------------------------------ */

static void srv_open(sio__eio_socket *s, sio_http_req *req, void *ud)
{
    event(ud, "open %s %d", sio__eio_transport(s) == SIO__EIO_POLLING ? "polling" : "websocket",
          sio__eio_version(s));
}

/* Echo everything, except "bye": answer "later" and close the session from this side;
 * "big:..." is echoed with the result logged ("sent <r>"); "pair:..." is sent twice as one
 * admitted message ("pair <r>"); "flood:<n>" sends n messages of 16 KiB in one turn and logs
 * how many were queued and the first failure ("flood <k> <r>"); "shutdown" sends "last" and
 * shuts the server down. */
static void srv_message(sio__eio_socket *s, const uint8_t *data, size_t len, int binary, void *ud)
{
    ctx *c = ud;
    if (!binary && len >= 4 && !memcmp(data, "big:", 4)) {
        event(c, "sent %d", sio__eio_send(s, data, len, 0));
        return;
    }
    if (!binary && len >= 5 && !memcmp(data, "pair:", 5)) {
        int r = sio__eio_admit(s, 2 * len, 2);
        for (int i = 0; i < 2 && !r; i++) r = sio__eio_send(s, data, len, SIO__EIO_ADMITTED);
        event(c, "pair %d", r);
        return;
    }
    if (!binary && len == 8 && !memcmp(data, "shutdown", 8)) {
        /* Sent, then the server shuts down in the same turn: a parked GET carries it. */
        CHECK_INT(c, sio__eio_send(s, "last", 4, 0), 0);
        CHECK_INT(c, sio_server_shutdown(c->io, NULL, NULL), 0);
        return;
    }
    if (!binary && len >= 6 && !memcmp(data, "flood:", 6)) {
        static char chunk[16384];
        memset(chunk, 'f', sizeof(chunk));
        int n = atoi((const char *)data + 6), k = 0, r = 0;
        while (k < n && !(r = sio__eio_send(s, chunk, sizeof(chunk), 0))) k++;
        event(c, "flood %d %d writable %d", k, r, sio__eio_writable(s));
        return;
    }
    if (!binary && len <= 32)
        event(c, "msg %.*s", (int)len, (const char *)data);
    else
        event(c, "msg %s %zu", binary ? "binary" : "text", len);
    if (!binary && len == 3 && !memcmp(data, "bye", 3)) {
        CHECK_INT(c, sio__eio_send(s, "later", 5, 0), 0);
        sio__eio_close(s);
        c->send_after_close = sio__eio_send(s, "late", 4, 0);
        return;
    }
    CHECK_INT(c, sio__eio_send(s, data, len, binary), 0);
}

static void srv_close(sio__eio_socket *s, const char *reason, void *ud)
{
    event(ud, "close %s", reason);
}

static void srv_upgrade(sio__eio_socket *s, void *ud)
{
    event(ud, "upgrade");
}

static const sio__eio_callbacks callbacks = {
    .on_open = srv_open,
    .on_message = srv_message,
    .on_close = srv_close,
    .on_upgrade = srv_upgrade,
};

typedef struct later {
    uv_timer_t timer;
    ctx *c;
    sio_verdict *v;
    int allow;
    const char *message;
} later;

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_fire(uv_timer_t *t)
{
    later *l = t->data;
    sio_verdict_done(l->v, l->allow, l->message);
    event(l->c, "verdict");
    atomic_fetch_add(&l->c->verdicts_done, 1);
    atomic_fetch_sub(&l->c->verdicts_pending, 1);
    uv_close((uv_handle_t *)t, later_closed);
}

static void decide_later(ctx *c, sio_verdict *v, int allow, const char *message, int ms)
{
    later *l = calloc(1, sizeof(*l));
    l->c = c;
    l->v = v;
    l->allow = allow;
    l->message = message;
    uv_timer_init(&c->loop, &l->timer);
    l->timer.data = l;
    atomic_fetch_add(&c->verdicts_pending, 1);
    uv_timer_start(&l->timer, later_fire, (uint64_t)ms, 0);
}

/* The query parameter v picks the verdict: deny, deny-null, deny-empty, later (allow after
 * 20 ms), later-deny, later-deny-empty, slow (allow after 150 ms); none allows at once. */
static void allow_request(sio_http_req *req, sio_verdict *v, void *ud)
{
    ctx *c = ud;
    char mode[32];
    if (sio_http_req_query_param(req, "v", mode, sizeof(mode)) < 0) mode[0] = 0;
    event(c, "ask %s", mode);
    if (!strcmp(mode, "deny"))
        sio_verdict_done(v, 0, "not \"you\"");
    else if (!strcmp(mode, "deny-null"))
        sio_verdict_done(v, 0, NULL);
    else if (!strcmp(mode, "later"))
        decide_later(c, v, 1, NULL, 20);
    else if (!strcmp(mode, "later-deny"))
        decide_later(c, v, 0, "go away", 20);
    else if (!strcmp(mode, "later-deny-empty"))
        decide_later(c, v, 0, "", 20);
    else if (!strcmp(mode, "deny-empty"))
        sio_verdict_done(v, 0, "");
    else if (!strcmp(mode, "slow"))
        decide_later(c, v, 1, NULL, 150);
    else
        sio_verdict_done(v, 1, NULL);
}

static void route(sio_http_req *req, sio_http_res *res, void *ud)
{
    ctx *c = ud;
    sio__eio_handler(req, res, c->eio);
    atomic_fetch_add(&c->handled, 1);
}

static void on_server_shutdown(void *ud)
{
    sio__eio_server_close_all(ud);
}

static void on_stop(uv_async_t *a)
{
    ctx *c = a->data;
    sio_server_shutdown(c->io, NULL, NULL);
    uv_close((uv_handle_t *)a, NULL);
}

static void *client_main(void *arg)
{
    ctx *c = arg;
    c->client(c);
    return NULL;
}

/* Ask the loop to shut down, after every pending verdict timer has fired unless now. */
static void client_stop(ctx *c, int now)
{
    for (int i = 0; !now && i < TIMEOUT_MS && atomic_load(&c->verdicts_pending); i++) sleep_ms(1);
    if (!now) CHECK_INT(c, atomic_load(&c->verdicts_pending), 0);
    uv_async_send(&c->stop);
}

static void run(ctx *c)
{
    pthread_mutex_init(&c->mu, NULL);
    c->events[0] = 0;
    assert_int_equal(uv_loop_init(&c->loop), 0);
    sio_server_options so = {.log_level = SIO_LOG_ERROR, .shutdown_timeout_ms = 2000};
    c->io = sio_server_new(&c->loop, &so);
    assert_non_null(c->io);
    c->opt.cb = &callbacks;
    c->opt.ud = c;
    c->opt.allow_request_ud = c;
    c->eio = sio__eio_server_new(&c->loop, &c->opt);
    assert_non_null(c->eio);
    snprintf(c->path, sizeof(c->path), "%s", sio__eio_path(c->eio));
    sio_http_route_options ro = {
        .prefix = 1,
        .methods = SIO_HTTP_GET | SIO_HTTP_POST | SIO_HTTP_OPTIONS,
        .max_body = sio__eio_max_body(c->eio),
    };
    assert_int_equal(sio_http_route(c->io, c->path, route, c, &ro), 0);
    assert_int_equal(sio__server_on_shutdown(c->io, on_server_shutdown, c->eio), 0);
    assert_int_equal(sio_listen(c->io, "127.0.0.1", 0), 0);
    c->port = sio_server_port(c->io, 0);
    assert_true(c->port > 0);
    assert_int_equal(uv_async_init(&c->loop, &c->stop, on_stop), 0);
    c->stop.data = c;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_main, c), 0);
    assert_int_equal(sio_run(c->io), 0);
    pthread_join(th, NULL);
    sio__eio_server_free(c->eio);
    sio_server_free(c->io);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&c->loop), 0);
    for (int i = 0; i < c->nfail; i++) print_error("%s\n", c->fail[i]);
    if (c->nfail) print_error("events: %s\n", c->events);
    assert_int_equal(c->nfail, 0);
    assert_true(c->nchecks > 0);
}

/* ------------------------------------------------------------------------------------ */
/* The client: HTTP/1.1 and WebSocket over blocking sockets                             */
/* ------------------------------------------------------------------------------------ */

typedef struct cl {
    int fd;
    uint8_t *in;
    size_t len, cap;
} cl;

static int cl_open(ctx *c, cl *k)
{
    memset(k, 0, sizeof(*k));
    k->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (k->fd < 0) return -1;
    struct timeval tv = {TIMEOUT_MS / 1000, 0};
    setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(k->fd, (struct sockaddr *)&sa, sizeof(sa));
}

static int cl_write(cl *k, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(k->fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read what is there: > 0 bytes, 0 at EOF, < 0 on error or timeout. */
static ssize_t cl_fill(cl *k)
{
    if (k->cap - k->len < 65536) {
        k->cap = k->cap * 2 + 65536;
        k->in = realloc(k->in, k->cap);
    }
    ssize_t r = recv(k->fd, k->in + k->len, k->cap - k->len, 0);
    if (r > 0) k->len += (size_t)r;
    return r;
}

static int cl_need(cl *k, size_t n)
{
    while (k->len < n)
        if (cl_fill(k) <= 0) return -1;
    return 0;
}

static void cl_consume(cl *k, size_t n)
{
    memmove(k->in, k->in + n, k->len - n);
    k->len -= n;
}

/* True when the server ends the connection with nothing more to read. */
static int cl_at_eof(cl *k)
{
    return k->len == 0 && cl_fill(k) == 0;
}

static void cl_close(cl *k)
{
    if (k->fd >= 0) close(k->fd);
    k->fd = -1;
    free(k->in);
    k->in = NULL;
    k->len = k->cap = 0;
}

/* Close with a reset, as a client that vanishes. */
static void cl_reset(cl *k)
{
    struct linger lg = {1, 0};
    setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    cl_close(k);
}

typedef struct resp {
    int status;
    char head[4096];
    char *body; /* NUL-terminated */
    size_t len;
} resp;

static void resp_free(resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* The value of the n-th header called name, or NULL. */
static const char *resp_header_nth(const resp *r, const char *name, int nth, char *out,
                                   size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) || line[nl] != ':') continue;
        if (nth-- > 0) continue;
        const char *v = line + nl + 1;
        while (*v == ' ') v++;
        const char *e = strstr(v, "\r\n");
        size_t n = e ? (size_t)(e - v) : strlen(v);
        if (n >= outlen) n = outlen - 1;
        memcpy(out, v, n);
        out[n] = 0;
        return out;
    }
    return NULL;
}

static char hbuf[1024];

/* The first header called name (client thread only; the result is overwritten). */
static const char *hdr(const resp *r, const char *name)
{
    return resp_header_nth(r, name, 0, hbuf, sizeof(hbuf));
}

static int count_headers(const resp *r, const char *name)
{
    char tmp[512];
    int n = 0;
    while (resp_header_nth(r, name, n, tmp, sizeof(tmp))) n++;
    return n;
}

/* One response: 0, or -1 when the connection ended or timed out first. */
static int read_resp(cl *k, resp *r)
{
    memset(r, 0, sizeof(*r));
    r->status = -1;
    size_t hl;
    for (;;) {
        uint8_t *e = k->len >= 4 ? memmem(k->in, k->len, "\r\n\r\n", 4) : NULL;
        if (e) {
            hl = (size_t)(e - k->in) + 4;
            break;
        }
        if (cl_fill(k) <= 0) return -1;
    }
    size_t n = hl < sizeof(r->head) ? hl : sizeof(r->head) - 1;
    memcpy(r->head, k->in, n);
    r->head[n] = 0;
    if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1) return -1;
    const char *cl_hdr = hdr(r, "Content-Length");
    size_t blen = cl_hdr ? strtoul(cl_hdr, NULL, 10) : 0;
    if (cl_need(k, hl + blen)) return -1;
    r->body = malloc(blen + 1);
    memcpy(r->body, k->in + hl, blen);
    r->body[blen] = 0;
    r->len = blen;
    cl_consume(k, hl + blen);
    return 0;
}

/* The bytes of a request; POSTs get a Content-Length. */
static size_t build_req(char *out, size_t cap, const char *method, const char *target,
                        const char *extra, size_t body_len)
{
    int n = snprintf(out, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, target,
                     extra ? extra : "");
    if (!strcmp(method, "POST"))
        n += snprintf(out + n, cap - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(out + n, cap - (size_t)n, "\r\n");
    return (size_t)n;
}

static int send_req(cl *k, const char *method, const char *target, const char *extra,
                    const void *body, size_t n)
{
    char head[4096];
    size_t hn = build_req(head, sizeof(head), method, target, extra, n);
    if (cl_write(k, head, hn)) return -1;
    return n ? cl_write(k, body, n) : 0;
}

/* One request on a connection of its own; the status, or -1. */
static int http(ctx *c, const char *method, const char *target, const char *extra, const void *body,
                size_t n, resp *r)
{
    char h[2048];
    snprintf(h, sizeof(h), "Connection: close\r\n%s", extra ? extra : "");
    cl k;
    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (cl_open(c, &k) || send_req(&k, method, target, h, body, n) || read_resp(&k, r)) {
        cl_close(&k);
        return -1;
    }
    cl_close(&k);
    return r->status;
}

/* The Engine.IO path with a query. */
static const char *url(ctx *c, char *out, size_t cap, const char *fmt, ...)
{
    int n = snprintf(out, cap, "%s?", c->path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    return out;
}

#define URL(...) url(c, target, sizeof(target), __VA_ARGS__)

static int get_sid(const char *body, char sid[32])
{
    const char *p = body ? strstr(body, "\"sid\":\"") : NULL;
    if (!p) return -1;
    p += 7;
    const char *e = strchr(p, '"');
    if (!e || e - p >= 32) return -1;
    memcpy(sid, p, (size_t)(e - p));
    sid[e - p] = 0;
    return 0;
}

/* A polling handshake; the sid, and the response when r is not NULL. */
static int handshake(ctx *c, int version, const char *extra_query, char sid[32], resp *r)
{
    char target[512];
    resp tmp;
    if (!r) r = &tmp;
    URL("EIO=%d&transport=polling%s%s", version, extra_query ? "&" : "",
        extra_query ? extra_query : "");
    int st = http(c, "GET", target, NULL, NULL, 0, r);
    CHECK_INT(c, st, 200);
    int ok = st == 200 ? get_sid(r->body, sid) : -1;
    CHECK_INT(c, ok, 0);
    if (r == &tmp) resp_free(r);
    return ok;
}

/* A POST of a payload; checks engine.io's "ok" when the status is 200. */
static int post(ctx *c, int version, const char *sid, const char *ctype, const void *body, size_t n)
{
    char target[512], extra[256];
    URL("EIO=%d&transport=polling&sid=%s", version, sid);
    snprintf(extra, sizeof(extra), "Content-Type: %s\r\n",
             ctype ? ctype : "text/plain;charset=UTF-8");
    resp r;
    int st = http(c, "POST", target, extra, body, n, &r);
    if (st == 200) CHECK_STR(c, r.body, "ok");
    resp_free(&r);
    return st;
}

static int poll_get(ctx *c, int version, const char *sid, const char *extra, resp *r)
{
    char target[512];
    URL("EIO=%d&transport=polling&sid=%s", version, sid);
    return http(c, "GET", target, extra, NULL, 0, r);
}

/* A GET sent on k and left parked: returns once the server has handled it. */
static int park_get(ctx *c, cl *k, int version, const char *sid)
{
    char target[512];
    URL("EIO=%d&transport=polling&sid=%s", version, sid);
    int before = atomic_load(&c->handled);
    if (cl_open(c, k) || send_req(k, "GET", target, "Connection: close\r\n", NULL, 0)) return -1;
    return wait_counter(&c->handled, before + 1) ? 0 : -1;
}

static const char ws_headers[] = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n";

/* A masked client frame into out (room for n + 14 bytes). */
static size_t ws_frame(uint8_t *out, int opcode, const void *p, size_t n)
{
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = 0;
    out[h++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        out[h++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++) out[h + i] = ((const uint8_t *)p)[i] ^ mask[i & 3];
    return h + n;
}

static int ws_send(cl *k, int opcode, const void *p, size_t n)
{
    uint8_t *f = malloc(n + 14);
    int r = cl_write(k, f, ws_frame(f, opcode, p, n));
    free(f);
    return r;
}

/* One server frame: its opcode, and its payload (NUL-terminated, to free). */
static int ws_read(cl *k, int *opcode, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (cl_need(k, 2)) return -1;
    size_t n = k->in[1] & 0x7f, h = 2;
    if (n == 126) {
        if (cl_need(k, 4)) return -1;
        n = (size_t)k->in[2] << 8 | k->in[3];
        h = 4;
    } else if (n == 127) {
        if (cl_need(k, 10)) return -1;
        n = 0;
        for (int i = 0; i < 8; i++) n = n << 8 | k->in[2 + i];
        h = 10;
    }
    if (cl_need(k, h + n)) return -1;
    *opcode = k->in[0] & 0x0f;
    *data = malloc(n + 1);
    memcpy(*data, k->in + h, n);
    (*data)[n] = 0;
    *len = n;
    cl_consume(k, h + n);
    return 0;
}

/* Read one text frame and compare it with want. */
static void expect_text_frame(ctx *c, cl *k, const char *want, int line)
{
    int op = -1;
    char *d;
    size_t n;
    int r = ws_read(k, &op, &d, &n);
    check_at(c, r == 0 && op == 1 && d && !strcmp(d, want), line,
             "text frame \"%s\" (read %d, opcode %d, \"%s\")", want, r, op, d ? d : "");
    free(d);
}

/* ------------------------------------------------------------------------------------ */
/* 1. allowRequest                                                                      */
/* ------------------------------------------------------------------------------------ */

static void client_allow_sync(ctx *c)
{
    char target[512], sid[32];
    resp r;
    cl k;

    CHECK_INT(c, http(c, "GET", URL("EIO=4&transport=polling&v=deny"), NULL, NULL, 0, &r), 403);
    CHECK_STR(c, r.body, "{\"code\":4,\"message\":\"not \\\"you\\\"\"}");
    CHECK_STR(c, hdr(&r, "Content-Type"), "application/json");
    resp_free(&r);

    CHECK_INT(c, http(c, "GET", URL("EIO=4&transport=polling&v=deny-null"), NULL, NULL, 0, &r),
              403);
    CHECK_STR(c, r.body, "{\"code\":4,\"message\":\"Forbidden\"}");
    resp_free(&r);
    CHECK_INT(c, http(c, "GET", URL("EIO=4&transport=polling&v=deny-empty"), NULL, NULL, 0, &r),
              403);
    CHECK_STR(c, r.body, "{\"code\":4,\"message\":\"Forbidden\"}");
    resp_free(&r);

    /* A refused WebSocket handshake: abortUpgrade's 400 with the message as text/html. */
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=websocket&v=deny"), ws_headers, NULL, 0),
              0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 400);
    CHECK_STR(c, hdr(&r, "Content-Type"), "text/html");
    CHECK_STR(c, r.body, "not \"you\"");
    CHECK(c, cl_at_eof(&k));
    resp_free(&r);
    cl_close(&k);

    CHECK_INT(c, handshake(c, 4, "v=yes", sid, &r), 0);
    CHECK(c, !strncmp(r.body, "0{\"sid\":\"", 9));
    resp_free(&r);
    CHECK_INT(c, count_events(c, "ask "), 5);
    CHECK_INT(c, count_events(c, "open "), 1);
    client_stop(c, 0);
}

static void test_allow_request_sync(void **state)
{
    ctx c = {.opt = {.allow_request = allow_request}, .client = client_allow_sync};
    run(&c);
}

static void client_allow_async(ctx *c)
{
    char target[512], sid[32];
    resp r;
    cl k;

    /* Allowed 20 ms later: the open packet. */
    CHECK_INT(c, handshake(c, 4, "v=later", sid, &r), 0);
    CHECK(c, !strncmp(r.body, "0{\"sid\":\"", 9));
    CHECK_HAS(c, r.body, "\"upgrades\":[\"websocket\"]");
    resp_free(&r);
    CHECK_INT(c, post(c, 4, sid, NULL, "4hi", 3), 200);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 200);
    CHECK_STR(c, r.body, "4hi");
    resp_free(&r);

    /* Refused 20 ms later. */
    CHECK_INT(c, http(c, "GET", URL("EIO=4&transport=polling&v=later-deny"), NULL, NULL, 0, &r),
              403);
    CHECK_STR(c, r.body, "{\"code\":4,\"message\":\"go away\"}");
    resp_free(&r);
    /* An empty message is engine.io's "Forbidden", later as at once. */
    CHECK_INT(c,
              http(c, "GET", URL("EIO=4&transport=polling&v=later-deny-empty"), NULL, NULL, 0, &r),
              403);
    CHECK_STR(c, r.body, "{\"code\":4,\"message\":\"Forbidden\"}");
    resp_free(&r);

    /* A keep-alive connection with a second request pipelined behind the deferred one:
     * both are answered, in order. */
    CHECK_INT(c, cl_open(c, &k), 0);
    char both[2048];
    size_t n =
        build_req(both, sizeof(both), "GET", URL("EIO=4&transport=polling&v=later"), NULL, 0);
    n += build_req(both + n, sizeof(both) - n, "GET",
                   URL("EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA"), "Connection: close\r\n",
                   0);
    CHECK_INT(c, cl_write(&k, both, n), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 200);
    CHECK(c, r.body && !strncmp(r.body, "0{\"sid\":\"", 9));
    resp_free(&r);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 400);
    CHECK_STR(c, r.body, "{\"code\":1,\"message\":\"Session ID unknown\"}");
    resp_free(&r);
    cl_close(&k);

    /* A WebSocket handshake refused 20 ms later. */
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(
        c, send_req(&k, "GET", URL("EIO=4&transport=websocket&v=later-deny"), ws_headers, NULL, 0),
        0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 400);
    CHECK_STR(c, hdr(&r, "Content-Type"), "text/html");
    CHECK_STR(c, r.body, "go away");
    CHECK(c, cl_at_eof(&k));
    resp_free(&r);
    cl_close(&k);

    CHECK_INT(c, count_events(c, "open polling 4"), 2);
    CHECK_INT(c, count_events(c, "verdict"), 5);
    client_stop(c, 0);
}

static void test_allow_request_async(void **state)
{
    ctx c = {.opt = {.allow_request = allow_request}, .client = client_allow_async};
    run(&c);
}

/* A WebSocket-first handshake allowed later: 101, the open packet in the first frame, and
 * the frames that came with and right after the request are not lost. */
static void client_allow_async_ws(ctx *c)
{
    char target[512];
    resp r;
    cl k;
    CHECK_INT(c, cl_open(c, &k), 0);
    uint8_t buf[4096];
    size_t n = build_req((char *)buf, sizeof(buf), "GET", URL("EIO=4&transport=websocket&v=later"),
                         ws_headers, 0);
    n += ws_frame(buf + n, 1, "4hello", 6);
    CHECK_INT(c, cl_write(&k, buf, n), 0);
    sleep_ms(2);
    CHECK_INT(c, ws_send(&k, 1, "4world", 6), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 101);
    CHECK_INT(c, count_headers(&r, "Set-Cookie"), 0);
    resp_free(&r);
    int op = -1;
    char *d = NULL;
    size_t len;
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0);
    CHECK_INT(c, op, 1);
    CHECK(c, d && !strncmp(d, "0{\"sid\":\"", 9));
    CHECK_HAS(c, d, "\"upgrades\":[]");
    free(d);
    expect_text_frame(c, &k, "4hello", __LINE__);
    expect_text_frame(c, &k, "4world", __LINE__);
    /* The session works on: a binary message comes back binary. */
    CHECK_INT(c, ws_send(&k, 2, "\x01\x02\x03", 3), 0);
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0);
    CHECK_INT(c, op, 2);
    CHECK(c, len == 3 && d && !memcmp(d, "\x01\x02\x03", 3));
    free(d);
    cl_close(&k);
    CHECK(c, wait_events(c, "close transport close", 1));
    CHECK_INT(c, count_events(c, "open websocket 4"), 1);
    client_stop(c, 0);
}

static void test_allow_request_async_websocket(void **state)
{
    ctx c = {.opt = {.allow_request = allow_request, .cookie = {.enabled = 1}},
             .client = client_allow_async_ws};
    run(&c);
}

/* More than the HTTP layer keeps while a request waits (64 KiB), and more than one read
 * brings (the loop's 256 KiB slab), arrives behind the upgrade request: reading pauses,
 * and must go on once the WebSocket owns the connection. */
static void client_allow_async_ws_large(ctx *c)
{
    enum { FRAMES = 6, SIZE = 150000 };
    char target[512];
    resp r;
    cl k;
    CHECK_INT(c, cl_open(c, &k), 0);
    uint8_t *payload = malloc(SIZE);
    uint8_t *buf = malloc((size_t)FRAMES * (SIZE + 14) + 4096);
    size_t n = build_req((char *)buf, 4096, "GET", URL("EIO=4&transport=websocket&v=later"),
                         ws_headers, 0);
    for (int f = 0; f < FRAMES; f++) {
        for (size_t i = 0; i < SIZE; i++) payload[i] = (uint8_t)(i * 31 + (size_t)f * 7);
        n += ws_frame(buf + n, 2, payload, SIZE);
    }
    n += ws_frame(buf + n, 1, "4after", 6);
    CHECK_INT(c, cl_write(&k, buf, n), 0);
    free(buf);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 101);
    resp_free(&r);
    int op = -1;
    char *d = NULL;
    size_t len = 0;
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0);
    CHECK(c, d && !strncmp(d, "0{\"sid\":\"", 9));
    free(d);
    for (int f = 0; f < FRAMES; f++) {
        for (size_t i = 0; i < SIZE; i++) payload[i] = (uint8_t)(i * 31 + (size_t)f * 7);
        int rr = ws_read(&k, &op, &d, &len);
        check_at(c, rr == 0 && op == 2 && len == SIZE && !memcmp(d, payload, SIZE), __LINE__,
                 "echo of frame %d (read %d, opcode %d, %zu bytes)", f, rr, op, len);
        free(d);
        if (rr) break;
    }
    if (!failures(c)) expect_text_frame(c, &k, "4after", __LINE__);
    free(payload);
    cl_close(&k);
    client_stop(c, 0);
}

static void test_allow_request_async_websocket_large(void **state)
{
    ctx c = {.opt = {.allow_request = allow_request}, .client = client_allow_async_ws_large};
    run(&c);
}

/* On one keep-alive connection: a polling handshake and a WebSocket handshake, both
 * decided later, and a frame, in one write. The second request is parsed from what was
 * kept while the first waited; the frame reaches the WebSocket. */
static void client_allow_async_pipelined(ctx *c)
{
    char target[512];
    resp r;
    cl k;
    CHECK_INT(c, cl_open(c, &k), 0);
    uint8_t buf[4096];
    size_t n =
        build_req((char *)buf, sizeof(buf), "GET", URL("EIO=4&transport=polling&v=later"), NULL, 0);
    n += build_req((char *)buf + n, sizeof(buf) - n, "GET",
                   URL("EIO=4&transport=websocket&v=later"), ws_headers, 0);
    n += ws_frame(buf + n, 1, "4piped", 6);
    CHECK_INT(c, cl_write(&k, buf, n), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 200);
    CHECK(c, r.body && !strncmp(r.body, "0{\"sid\":\"", 9));
    resp_free(&r);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 101);
    resp_free(&r);
    int op = -1;
    char *d = NULL;
    size_t len;
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0);
    CHECK(c, d && !strncmp(d, "0{\"sid\":\"", 9));
    free(d);
    expect_text_frame(c, &k, "4piped", __LINE__);
    cl_close(&k);
    CHECK(c, wait_events(c, "close transport close", 1));
    CHECK_INT(c, count_events(c, "verdict"), 2);
    CHECK_INT(c, count_events(c, "open polling 4"), 1);
    CHECK_INT(c, count_events(c, "open websocket 4"), 1);
    client_stop(c, 0);
}

static void test_allow_request_async_pipelined(void **state)
{
    ctx c = {.opt = {.allow_request = allow_request}, .client = client_allow_async_pipelined};
    run(&c);
}

/* The client vanishes (a reset) while its verdict is pending: the late verdict is
 * harmless, for polling and for WebSocket, and the server serves on. */
static void client_allow_gone(ctx *c)
{
    char target[512], sid[32];
    cl k;
    int before = atomic_load(&c->handled);
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=polling&v=slow"), NULL, NULL, 0), 0);
    CHECK(c, wait_counter(&c->handled, before + 1));
    cl_reset(&k);

    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=websocket&v=slow"), ws_headers, NULL, 0),
              0);
    CHECK(c, wait_counter(&c->handled, before + 2));
    cl_reset(&k);

    CHECK(c, wait_counter(&c->verdicts_done, 2));
    sleep_ms(20);
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, post(c, 4, sid, NULL, "4still", 6), 200);
    resp r;
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 200);
    CHECK_STR(c, r.body, "4still");
    resp_free(&r);
    client_stop(c, 0);
}

static void test_allow_request_client_gone(void **state)
{
    ctx c = {.opt = {.allow_request = allow_request}, .client = client_allow_gone};
    run(&c);
}

/* A shutdown while a verdict is pending answers the request at once (libsio's choice:
 * engine.io lets the late verdict open a session); the application's late
 * sio_verdict_done() must still be harmless. */
static void client_allow_shutdown(ctx *c)
{
    char target[512];
    cl k;
    resp r;
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=polling&v=slow"), NULL, NULL, 0), 0);
    CHECK(c, wait_counter(&c->handled, 1));
    client_stop(c, 1);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 400);
    CHECK_STR(c, r.body, "{\"code\":3,\"message\":\"Bad request\"}");
    resp_free(&r);
    cl_close(&k);
}

static void test_allow_request_pending_at_shutdown(void **state)
{
    ctx c = {.opt = {.allow_request = allow_request}, .client = client_allow_shutdown};
    run(&c);
    assert_int_equal(atomic_load(&c.verdicts_done), 1);
    assert_int_equal(count_events(&c, "open "), 0);
}

/* ------------------------------------------------------------------------------------ */
/* 2. cookie                                                                            */
/* ------------------------------------------------------------------------------------ */

static void client_cookie(ctx *c, const char *want_fmt)
{
    char sid[32], want[256];
    resp r;
    CHECK_INT(c, handshake(c, 4, NULL, sid, &r), 0);
    snprintf(want, sizeof(want), want_fmt, sid);
    CHECK_INT(c, count_headers(&r, "Set-Cookie"), 1);
    CHECK_STR(c, hdr(&r, "Set-Cookie"), want);
    resp_free(&r);
    /* Only the handshake sets it. */
    char target[512];
    URL("EIO=4&transport=polling&sid=%s", sid);
    CHECK_INT(c, http(c, "POST", target, "Content-Type: text/plain\r\n", "4x", 2, &r), 200);
    CHECK_INT(c, count_headers(&r, "Set-Cookie"), 0);
    resp_free(&r);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 200);
    CHECK_STR(c, r.body, "4x");
    CHECK_INT(c, count_headers(&r, "Set-Cookie"), 0);
    resp_free(&r);
    client_stop(c, 0);
}

static void client_cookie_default(ctx *c)
{
    client_cookie(c, "io=%s; Path=/; HttpOnly; SameSite=Lax");
}

static void client_cookie_custom(ctx *c)
{
    client_cookie(c, "sess=%s; Max-Age=60; Domain=example.com; Path=/app; Secure; SameSite=Strict");
}

static void test_cookie(void **state)
{
    ctx c = {.opt = {.cookie = {.enabled = 1}}, .client = client_cookie_default};
    run(&c);
    ctx c2 = {
        .opt = {.cookie = {.enabled = 1,
                           .name = "sess",
                           .path = "/app",
                           .domain = "example.com",
                           .same_site = "Strict",
                           .max_age = 60,
                           .no_http_only = 1,
                           .secure = 1}},
        .client = client_cookie_custom,
    };
    run(&c2);
}

static void client_no_cookie(ctx *c)
{
    char sid[32];
    resp r;
    CHECK_INT(c, handshake(c, 4, NULL, sid, &r), 0);
    CHECK_INT(c, count_headers(&r, "Set-Cookie"), 0);
    resp_free(&r);
    client_stop(c, 0);
}

static void test_cookie_off(void **state)
{
    ctx c = {.client = client_no_cookie};
    run(&c);
}

/* ------------------------------------------------------------------------------------ */
/* 3. HTTP compression                                                                  */
/* ------------------------------------------------------------------------------------ */

static int inflate_body(const resp *r, int gzip, char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, gzip ? 31 : 15) != Z_OK) return -1;
    size_t cap = 1u << 20;
    *out = malloc(cap + 1);
    z.next_in = (Bytef *)r->body;
    z.avail_in = (uInt)r->len;
    z.next_out = (Bytef *)*out;
    z.avail_out = (uInt)cap;
    int zr = inflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    (*out)[*outlen] = 0;
    int trailing = z.avail_in != 0;
    inflateEnd(&z);
    return zr == Z_STREAM_END && !trailing ? 0 : -1;
}

/* Echo msg, then poll with Accept-Encoding ae (NULL: none) and compare what comes back;
 * want_enc is the expected Content-Encoding (NULL: identity). */
static void echo_compressed(ctx *c, const char *sid, const char *msg, const char *ae,
                            const char *want_enc, int line)
{
    size_t n = strlen(msg);
    char *packet = malloc(n + 2);
    packet[0] = '4';
    memcpy(packet + 1, msg, n + 1);
    check_at(c, post(c, 4, sid, NULL, packet, n + 1) == 200, line, "POST");
    char extra[128] = "";
    if (ae) snprintf(extra, sizeof(extra), "Accept-Encoding: %s\r\n", ae);
    resp r;
    check_at(c, poll_get(c, 4, sid, extra, &r) == 200, line, "GET");
    char encbuf[64];
    const char *enc = resp_header_nth(&r, "Content-Encoding", 0, encbuf, sizeof(encbuf));
    check_at(c, (!enc && !want_enc) || (enc && want_enc && !strcmp(enc, want_enc)), line,
             "Accept-Encoding \"%s\": Content-Encoding \"%s\", want \"%s\"", ae ? ae : "",
             enc ? enc : "", want_enc ? want_enc : "");
    check_at(
        c, hdr(&r, "Content-Type") && !strcmp(hdr(&r, "Content-Type"), "text/plain; charset=UTF-8"),
        line, "Content-Type");
    if (enc) {
        char *plain = NULL;
        size_t plen = 0;
        int ok = inflate_body(&r, !strcmp(enc, "gzip"), &plain, &plen);
        check_at(c, ok == 0 && plen == n + 1 && !memcmp(plain, packet, n + 1), line,
                 "inflated %s body (%d, %zu bytes from %zu)", enc, ok, plen, r.len);
        check_at(c, r.len < n, line, "compressed body smaller");
        free(plain);
    } else {
        check_at(c, r.len == n + 1 && !memcmp(r.body, packet, n + 1), line, "identity body");
    }
    resp_free(&r);
    free(packet);
}

static char *pattern(size_t n)
{
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) s[i] = "the quick brown fox jumps over the lazy dog "[i % 44];
    s[n] = 0;
    return s;
}

static void client_compression(ctx *c)
{
    char sid[32];
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    char *big = pattern(2000), *at = pattern(1023), *small = pattern(100);
    echo_compressed(c, sid, big, "gzip", "gzip", __LINE__);
    echo_compressed(c, sid, big, "deflate", "deflate", __LINE__);
    echo_compressed(c, sid, big, "gzip, deflate, br", "gzip", __LINE__);
    echo_compressed(c, sid, big, "deflate, gzip;q=0.5", "deflate", __LINE__);
    echo_compressed(c, sid, big, "*", "gzip", __LINE__);
    echo_compressed(c, sid, big, "gzip;q=0", NULL, __LINE__);
    echo_compressed(c, sid, big, "identity", NULL, __LINE__);
    echo_compressed(c, sid, big, NULL, NULL, __LINE__);
    /* A coding refused by name is not brought back by the wildcard (Negotiator: deflate). */
    echo_compressed(c, sid, big, "gzip;q=0, *", "deflate", __LINE__);
    /* The threshold counts the payload: "4" + 1023 bytes is 1024. */
    echo_compressed(c, sid, at, "gzip", "gzip", __LINE__);
    echo_compressed(c, sid, small, "gzip", NULL, __LINE__);
    free(big);
    free(at);
    free(small);
    client_stop(c, 0);
}

static void test_http_compression(void **state)
{
    ctx c = {.client = client_compression};
    run(&c);
}

static void client_compression_off(ctx *c)
{
    char sid[32];
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    char *big = pattern(5000);
    echo_compressed(c, sid, big, "gzip", NULL, __LINE__);
    echo_compressed(c, sid, big, "deflate", NULL, __LINE__);
    free(big);
    client_stop(c, 0);
}

static void client_compression_threshold(ctx *c)
{
    char sid[32];
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    char *small = pattern(100), *tiny = pattern(40);
    echo_compressed(c, sid, small, "gzip", "gzip", __LINE__);
    echo_compressed(c, sid, tiny, "gzip", NULL, __LINE__);
    free(small);
    free(tiny);
    client_stop(c, 0);
}

static void test_http_compression_options(void **state)
{
    ctx c = {.opt = {.no_http_compression = 1}, .client = client_compression_off};
    run(&c);
    ctx c2 = {.opt = {.http_compression_threshold = 64}, .client = client_compression_threshold};
    run(&c2);
}

/* ------------------------------------------------------------------------------------ */
/* 4. transports and upgrades                                                           */
/* ------------------------------------------------------------------------------------ */

static void client_polling_only(ctx *c)
{
    char target[512], sid[32];
    resp r;
    cl k;
    CHECK_INT(c, handshake(c, 4, NULL, sid, &r), 0);
    CHECK_HAS(c, r.body, "\"upgrades\":[]");
    resp_free(&r);

    CHECK_INT(c, http(c, "GET", URL("EIO=4&transport=websocket"), NULL, NULL, 0, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":0,\"message\":\"Transport unknown\"}");
    resp_free(&r);

    /* An upgrade request: refused as well, as abortUpgrade's text/html or (engine.io, which
     * then takes no upgrades at all) as the JSON error. */
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=websocket"), ws_headers, NULL, 0), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 400);
    CHECK_HAS(c, r.body, "Transport unknown");
    resp_free(&r);
    cl_close(&k);

    /* Nor as an upgrade of the polling session. */
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(
        c, send_req(&k, "GET", URL("EIO=4&transport=websocket&sid=%s", sid), ws_headers, NULL, 0),
        0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 400);
    CHECK_HAS(c, r.body, "Transport unknown");
    resp_free(&r);
    cl_close(&k);
    CHECK_INT(c, count_events(c, "open "), 1);
    client_stop(c, 0);
}

static void test_transports_polling_only(void **state)
{
    ctx c = {.opt = {.transports = SIO__EIO_POLLING}, .client = client_polling_only};
    run(&c);
}

static void client_websocket_only(ctx *c)
{
    char target[512];
    resp r;
    cl k;
    CHECK_INT(c, http(c, "GET", URL("EIO=4&transport=polling"), NULL, NULL, 0, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":0,\"message\":\"Transport unknown\"}");
    resp_free(&r);
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=websocket"), ws_headers, NULL, 0), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 101);
    resp_free(&r);
    int op;
    char *d;
    size_t len;
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0);
    CHECK(c, d && !strncmp(d, "0{\"sid\":\"", 9));
    CHECK_HAS(c, d, "\"upgrades\":[]");
    free(d);
    cl_close(&k);
    CHECK(c, wait_events(c, "close transport close", 1));
    client_stop(c, 0);
}

static void test_transports_websocket_only(void **state)
{
    ctx c = {.opt = {.transports = SIO__EIO_WEBSOCKET}, .client = client_websocket_only};
    run(&c);
}

/* No upgrades offered, and a probe refused (libsio's choice: engine.io only stops offering
 * them and still accepts a probe). */
static void client_no_upgrades(ctx *c)
{
    char target[512], sid[32];
    resp r;
    cl k;
    CHECK_INT(c, handshake(c, 4, NULL, sid, &r), 0);
    CHECK_HAS(c, r.body, "\"upgrades\":[]");
    resp_free(&r);
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(
        c, send_req(&k, "GET", URL("EIO=4&transport=websocket&sid=%s", sid), ws_headers, NULL, 0),
        0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 400);
    CHECK_STR(c, r.body, "Bad request");
    resp_free(&r);
    cl_close(&k);
    /* The polling session is unharmed. */
    CHECK_INT(c, post(c, 4, sid, NULL, "4on", 3), 200);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 200);
    CHECK_STR(c, r.body, "4on");
    resp_free(&r);
    CHECK_INT(c, count_events(c, "upgrade"), 0);
    CHECK_INT(c, count_events(c, "close"), 0);
    client_stop(c, 0);
}

static void test_no_upgrades(void **state)
{
    ctx c = {.opt = {.no_upgrades = 1}, .client = client_no_upgrades};
    run(&c);
}

/* ------------------------------------------------------------------------------------ */
/* 5. closing from the server                                                           */
/* ------------------------------------------------------------------------------------ */

static void client_server_close(ctx *c)
{
    char sid[32];
    resp r;
    cl k;

    /* (a) No GET parked: the next one gets the queue and the close packet in one payload
     * (engine.io takes two polls: "4later", then "6\x1e1"). */
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, post(c, 4, sid, NULL, "4bye", 4), 200);
    CHECK_INT(c, count_events(c, "close"), 0);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 200);
    CHECK_STR(c, r.body,
              "4later\x1e"
              "1");
    resp_free(&r);
    CHECK(c, wait_events(c, "close forced close", 1));
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":1,\"message\":\"Session ID unknown\"}");
    resp_free(&r);

    /* (b) A GET parked: it is answered at once. */
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, park_get(c, &k, 4, sid), 0);
    CHECK_INT(c, post(c, 4, sid, NULL, "4bye", 4), 200);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 200);
    CHECK_STR(c, r.body,
              "4later\x1e"
              "1");
    resp_free(&r);
    cl_close(&k);
    CHECK(c, wait_events(c, "close forced close", 2));
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    resp_free(&r);
    client_stop(c, 0);
}

static void test_server_close_polling(void **state)
{
    ctx c = {.client = client_server_close};
    run(&c);
    /* (c) Sending after the close. */
    assert_int_equal(c.send_after_close, SIO_ECLOSED);
    assert_int_equal(count_events(&c, "close "), 2);
}

static void client_server_close_ws(ctx *c)
{
    char target[512];
    resp r;
    cl k;
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=websocket"), ws_headers, NULL, 0), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 101);
    resp_free(&r);
    int op = -1;
    char *d;
    size_t len;
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0);
    free(d);
    CHECK_INT(c, ws_send(&k, 1, "4bye", 4), 0);
    expect_text_frame(c, &k, "4later", __LINE__);
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0);
    CHECK_INT(c, op, 8);
    free(d);
    cl_close(&k);
    CHECK(c, wait_events(c, "close forced close", 1));
    client_stop(c, 0);
}

static void test_server_close_websocket(void **state)
{
    ctx c = {.client = client_server_close_ws};
    run(&c);
    assert_int_equal(c.send_after_close, SIO_ECLOSED);
    assert_int_equal(count_events(&c, "close "), 1);
}

/* Closed from the server while the client upgrades: what was queued leaves over the new
 * transport, then the WebSocket closes. */
static void client_close_during_upgrade(ctx *c)
{
    char target[512], sid[32];
    resp r;
    cl get, ws;
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, park_get(c, &get, 4, sid), 0);
    CHECK_INT(c, cl_open(c, &ws), 0);
    CHECK_INT(
        c, send_req(&ws, "GET", URL("EIO=4&transport=websocket&sid=%s", sid), ws_headers, NULL, 0),
        0);
    CHECK_INT(c, read_resp(&ws, &r), 0);
    CHECK_INT(c, r.status, 101);
    resp_free(&r);
    CHECK_INT(c, ws_send(&ws, 1, "2probe", 6), 0);
    expect_text_frame(c, &ws, "3probe", __LINE__);
    /* The parked poll is released with a noop. */
    CHECK_INT(c, read_resp(&get, &r), 0);
    CHECK_STR(c, r.body, "6");
    resp_free(&r);
    cl_close(&get);
    CHECK_INT(c, post(c, 4, sid, NULL, "4bye", 4), 200);
    CHECK_INT(c, ws_send(&ws, 1, "5", 1), 0);
    expect_text_frame(c, &ws, "4later", __LINE__);
    int op = -1;
    char *d;
    size_t len;
    CHECK_INT(c, ws_read(&ws, &op, &d, &len), 0);
    CHECK_INT(c, op, 8);
    free(d);
    cl_close(&ws);
    CHECK(c, wait_events(c, "close forced close", 1));
    client_stop(c, 0);
}

static void test_server_close_during_upgrade(void **state)
{
    ctx c = {.client = client_close_during_upgrade};
    run(&c);
    assert_int_equal(c.send_after_close, SIO_ECLOSED);
    assert_int_equal(count_events(&c, "close "), 1);
}

/* A client that resets the connection of its parked poll is gone: engine.io closes the
 * session at once ("poll connection closed prematurely"), without waiting for the ping. */
static void client_parked_get_reset(ctx *c)
{
    char sid[32];
    cl k;
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, park_get(c, &k, 4, sid), 0);
    cl_reset(&k);
    CHECK(c, wait_events(c, "close transport error", 1));
    client_stop(c, 0);
}

static void test_parked_get_client_reset(void **state)
{
    ctx c = {.client = client_parked_get_reset};
    run(&c);
}

/* ------------------------------------------------------------------------------------ */
/* 6. EIO=3                                                                             */
/* ------------------------------------------------------------------------------------ */

static const uint8_t v3_binary_payload[] = {0x01, 0x05, 0xff, 0x04, 0x00, 0x01, 0xfe, 0xff};

static void client_eio3(ctx *c)
{
    char sid[32];
    resp r;

    /* The handshake is a v3 text payload: "<n>:0{...}" with n the packet's length. */
    CHECK_INT(c, handshake(c, 3, NULL, sid, &r), 0);
    char *colon = r.body ? strchr(r.body, ':') : NULL;
    CHECK(c, colon && colon[1] == '0' && strtoul(r.body, NULL, 10) == strlen(colon + 1));
    resp_free(&r);

    /* A binary message as a binary payload comes back the same way. */
    CHECK_INT(
        c,
        post(c, 3, sid, "application/octet-stream", v3_binary_payload, sizeof(v3_binary_payload)),
        200);
    CHECK_INT(c, poll_get(c, 3, sid, NULL, &r), 200);
    CHECK_STR(c, hdr(&r, "Content-Type"), "application/octet-stream");
    CHECK(c, r.len == sizeof(v3_binary_payload) &&
                 !memcmp(r.body, v3_binary_payload, sizeof(v3_binary_payload)));
    resp_free(&r);

    /* The client pings in v3. */
    CHECK_INT(c, post(c, 3, sid, NULL, "1:2", 3), 200);
    CHECK_INT(c, poll_get(c, 3, sid, NULL, &r), 200);
    CHECK_STR(c, r.body, "1:3");
    CHECK_STR(c, hdr(&r, "Content-Type"), "text/plain; charset=UTF-8");
    resp_free(&r);

    /* Closed from the server: the v3 text payload with the close packet. */
    CHECK_INT(c, post(c, 3, sid, NULL, "4:4bye", 6), 200);
    CHECK_INT(c, poll_get(c, 3, sid, NULL, &r), 200);
    CHECK_STR(c, r.body, "6:4later1:1");
    resp_free(&r);
    CHECK(c, wait_events(c, "close forced close", 1));

    /* b64=1: binary goes back as base64 text. */
    CHECK_INT(c, handshake(c, 3, "b64=1", sid, NULL), 0);
    CHECK_INT(
        c,
        post(c, 3, sid, "application/octet-stream", v3_binary_payload, sizeof(v3_binary_payload)),
        200);
    char target[512];
    URL("EIO=3&transport=polling&b64=1&sid=%s", sid);
    CHECK_INT(c, http(c, "GET", target, NULL, NULL, 0, &r), 200);
    CHECK_STR(c, hdr(&r, "Content-Type"), "text/plain; charset=UTF-8");
    CHECK_STR(c, r.body, "10:b4AAH+/w==");
    resp_free(&r);
    CHECK_INT(c, count_events(c, "msg binary 4"), 2);

    /* The same session's protocol version is fixed. */
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":3,\"message\":\"Bad request\"}");
    resp_free(&r);
    client_stop(c, 0);
}

static void test_eio3(void **state)
{
    ctx c = {.opt = {.allow_eio3 = 1}, .client = client_eio3};
    run(&c);
}

/* ------------------------------------------------------------------------------------ */
/* 7. overlapping polls                                                                 */
/* ------------------------------------------------------------------------------------ */

static void client_overlap(ctx *c)
{
    char sid[32];
    resp r;
    cl k;
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, park_get(c, &k, 4, sid), 0);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    resp_free(&r);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 200);
    CHECK_STR(c, r.body, "1");
    resp_free(&r);
    cl_close(&k);
    CHECK(c, wait_events(c, "close transport error", 1));
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":1,\"message\":\"Session ID unknown\"}");
    resp_free(&r);
    client_stop(c, 0);
}

static void test_overlapping_gets(void **state)
{
    ctx c = {.client = client_overlap};
    run(&c);
}

/* ------------------------------------------------------------------------------------ */
/* 8. path and body limit                                                               */
/* ------------------------------------------------------------------------------------ */

static void client_path_limit(ctx *c)
{
    char sid[32], target[512];
    resp r;
    CHECK_STR(c, c->path, "/custom/");
    CHECK_INT(c, handshake(c, 4, NULL, sid, &r), 0);
    CHECK_HAS(c, r.body, "\"maxPayload\":100");
    resp_free(&r);
    CHECK_INT(c, http(c, "GET", "/customx/?EIO=4&transport=polling", NULL, NULL, 0, &r), 404);
    resp_free(&r);

    char body[128];
    memset(body, 'x', sizeof(body));
    body[0] = '4';
    CHECK_INT(c, post(c, 4, sid, NULL, body, 100), 200);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 200);
    CHECK(c, r.len == 100 && !memcmp(r.body, body, 100));
    resp_free(&r);
    CHECK_INT(c, post(c, 4, sid, NULL, body, 101), 413);
    /* Refused before the handler: the session lives on. */
    CHECK_INT(c, post(c, 4, sid, NULL, "4ok", 3), 200);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 200);
    CHECK_STR(c, r.body, "4ok");
    resp_free(&r);
    CHECK_INT(c, count_events(c, "close"), 0);

    /* EIO=3 without allowEIO3. */
    CHECK_INT(c, http(c, "GET", URL("EIO=3&transport=polling"), NULL, NULL, 0, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":5,\"message\":\"Unsupported protocol version\"}");
    resp_free(&r);
    client_stop(c, 0);
}

static void test_path_and_body_limit(void **state)
{
    ctx c = {.opt = {.path = "/custom", .max_http_buffer_size = 100}, .client = client_path_limit};
    run(&c);
}

/* ------------------------------------------------------------------------------------ */
/* 9. protocol violations                                                               */
/* ------------------------------------------------------------------------------------ */

static void client_violations(ctx *c)
{
    char sid[32], target[512];
    resp r;
    cl k;

    /* A ping from a v4 client: "invalid heartbeat direction". */
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, post(c, 4, sid, NULL, "2", 1), 200);
    CHECK(c, wait_events(c, "close transport error", 1));
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":1,\"message\":\"Session ID unknown\"}");
    resp_free(&r);

    /* A binary body on EIO=4: "invalid content". */
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, post(c, 4, sid, "application/octet-stream", "4abc", 4), 400);
    CHECK(c, wait_events(c, "close transport error", 2));

    /* A malformed payload: nothing of it is delivered, the POST is still "ok". */
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c,
              post(c, 4, sid, NULL,
                   "4first\x1e"
                   "9x",
                   8),
              200);
    CHECK(c, wait_events(c, "close parse error", 1));
    CHECK_INT(c, count_events(c, "msg first"), 0);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    resp_free(&r);

    /* Polling with the sid of a WebSocket session. */
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=websocket"), ws_headers, NULL, 0), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 101);
    resp_free(&r);
    int op;
    char *d;
    size_t len;
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0);
    CHECK_INT(c, get_sid(d, sid), 0);
    free(d);
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":3,\"message\":\"Bad request\"}");
    resp_free(&r);
    /* A malformed WebSocket packet closes that session too. */
    CHECK_INT(c, ws_send(&k, 1, "x", 1), 0);
    CHECK(c, wait_events(c, "close parse error", 2));
    cl_close(&k);

    /* A handshake must be a GET. */
    CHECK_INT(c, http(c, "POST", URL("EIO=4&transport=polling"), NULL, "4x", 2, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":2,\"message\":\"Bad handshake method\"}");
    resp_free(&r);
    client_stop(c, 0);
}

static void test_v4_violations(void **state)
{
    ctx c = {.client = client_violations};
    run(&c);
    assert_int_equal(count_events(&c, "close "), 4);
}

/* ------------------------------------------------------------------------------------ */
/* CORS                                                                                 */
/* ------------------------------------------------------------------------------------ */

static const char *const cors_origins[] = {"https://a.example"};

static void client_cors(ctx *c)
{
    char target[512];
    resp r;
    URL("EIO=4&transport=polling");
    CHECK_INT(c, http(c, "GET", target, "Origin: https://a.example\r\n", NULL, 0, &r), 200);
    CHECK_STR(c, hdr(&r, "Access-Control-Allow-Origin"), "https://a.example");
    CHECK_STR(c, hdr(&r, "Access-Control-Allow-Credentials"), "true");
    CHECK_STR(c, hdr(&r, "Access-Control-Expose-Headers"), "X-A");
    CHECK_STR(c, hdr(&r, "Vary"), "Origin");
    resp_free(&r);

    /* With an origin list, the list also guards the handshake: another site's page is
     * refused as allowRequest refuses, and gets no CORS answer. */
    CHECK_INT(c, http(c, "GET", target, "Origin: https://b.example\r\n", NULL, 0, &r), 403);
    CHECK_STR(c, r.body, "{\"code\":4,\"message\":\"Origin not allowed\"}");
    CHECK(c, hdr(&r, "Access-Control-Allow-Origin") == NULL);
    CHECK_STR(c, hdr(&r, "Vary"), "Origin");
    resp_free(&r);

    CHECK_INT(c,
              http(c, "OPTIONS", target,
                   "Origin: https://a.example\r\nAccess-Control-Request-Method: POST\r\n"
                   "Access-Control-Request-Headers: x-b\r\n",
                   NULL, 0, &r),
              204);
    CHECK_STR(c, hdr(&r, "Access-Control-Allow-Origin"), "https://a.example");
    CHECK_STR(c, hdr(&r, "Access-Control-Allow-Methods"), "GET,HEAD,PUT,PATCH,POST,DELETE");
    CHECK_STR(c, hdr(&r, "Access-Control-Allow-Headers"), "x-b");
    CHECK_STR(c, hdr(&r, "Access-Control-Max-Age"), "600");
    resp_free(&r);
    /* A preflight opens no session, nor does a refused origin. */
    CHECK_INT(c, count_events(c, "open "), 1);
    client_stop(c, 0);
}

/* ------------------------------------------------------------------------------------ */
/* The outbound bound                                                                   */
/* ------------------------------------------------------------------------------------ */

static void fill(char *out, const char *prefix, size_t n)
{
    size_t pl = strlen(prefix);
    memcpy(out, prefix, pl);
    memset(out + pl, 'a', n - pl);
    out[n] = 0;
}

/* Polling (bound 4096): a message into an empty queue is taken whatever its size; a
 * two-packet message that does not fit is refused whole; the session then closes with
 * "transport error" at the end of the turn, and is gone for the next GET. */
static void client_bound_polling(ctx *c)
{
    char sid[32], msg[8192];
    resp r;
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    /* Both halves of a pair fit (3000 + 2 * 16 of 4096): one GET carries both. */
    fill(msg, "4pair:", 1500);
    CHECK_INT(c, post(c, 4, sid, NULL, msg, strlen(msg)), 200);
    CHECK(c, wait_events(c, "pair 0", 1));
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 200);
    CHECK_INT(c, r.len, 2 * 1500 + 1);
    resp_free(&r);
    /* 5000 bytes into an empty queue: taken. */
    fill(msg, "4big:", 5001);
    CHECK_INT(c, post(c, 4, sid, NULL, msg, strlen(msg)), 200);
    CHECK(c, wait_events(c, "sent 0", 1));
    /* Then a pair of 2 * 300: past the bound, so neither half is queued, and the session
     * closes. */
    fill(msg, "4pair:", 301);
    CHECK_INT(c, post(c, 4, sid, NULL, msg, strlen(msg)), 200);
    CHECK(c, wait_events(c, "pair -", 1));
    CHECK(c, wait_events(c, "close transport error", 1));
    CHECK_INT(c, poll_get(c, 4, sid, NULL, &r), 400);
    CHECK_STR(c, r.body, "{\"code\":1,\"message\":\"Session ID unknown\"}");
    resp_free(&r);
    client_stop(c, 0);
}

static void test_bound_polling(void **state)
{
    ctx c = {.opt = {.max_buffered_bytes = 4096}, .client = client_bound_polling};
    run(&c);
    char want[64];
    snprintf(want, sizeof(want), "pair %d", SIO_ECLOSED);
    assert_int_equal(count_events(&c, want), 1);
}

/* WebSocket (bound 64 KiB): 100 messages of 16 KiB in one turn, nothing written yet: with
 * their frame headers and the per-packet allowance the fourth would pass the bound, so it
 * and every later one fail, the session is no longer writable, and at the end of the turn
 * the connection is dropped with what it queued: no message and no close frame reach the
 * client, only the end of the stream. */
static void client_bound_websocket(ctx *c)
{
    char target[512];
    resp r;
    cl k;
    CHECK_INT(c, cl_open(c, &k), 0);
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=websocket"), ws_headers, NULL, 0), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 101);
    resp_free(&r);
    int op = -1;
    char *d;
    size_t len;
    CHECK_INT(c, ws_read(&k, &op, &d, &len), 0); /* the open packet */
    free(d);
    CHECK_INT(c, ws_send(&k, 1, "4flood:100", 10), 0);
    CHECK(c, wait_events(c, "close transport error", 1));
    CHECK_INT(c, ws_read(&k, &op, &d, &len), -1);
    free(d);
    CHECK_INT(c, (int)k.len, 0);
    cl_close(&k);
    client_stop(c, 0);
}

static void test_bound_websocket(void **state)
{
    ctx c = {.opt = {.max_buffered_bytes = 65536}, .client = client_bound_websocket};
    run(&c);
    char want[64];
    snprintf(want, sizeof(want), "flood 3 %d writable 0", SIO_ECLOSED);
    if (count_events(&c, want) != 1) print_error("events: %s\n", c.events);
    assert_int_equal(count_events(&c, want), 1);
}

/* A WebSocket peer that pings and never reads: once the pongs pile up past the bound, its
 * connection is dropped rather than queueing more of them. */
static void client_ping_flood(ctx *c)
{
    char target[512];
    resp r;
    cl k;
    CHECK_INT(c, cl_open(c, &k), 0);
    int small = 4096;
    setsockopt(k.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    CHECK_INT(c, send_req(&k, "GET", URL("EIO=4&transport=websocket"), ws_headers, NULL, 0), 0);
    CHECK_INT(c, read_resp(&k, &r), 0);
    CHECK_INT(c, r.status, 101);
    resp_free(&r);
    uint8_t ping[125], frames[64 * 139];
    memset(ping, 'p', sizeof(ping));
    size_t n = 0;
    for (int i = 0; i < 64; i++) n += ws_frame(frames + n, 9, ping, sizeof(ping));
    /* At most 64 MiB of pings: the server drops the connection long before. */
    int sent = 0;
    for (int i = 0; i < (64 << 20) / (int)n && !cl_write(&k, frames, n); i++) sent++;
    CHECK(c, sent < (64 << 20) / (int)n);
    CHECK(c, wait_events(c, "close transport close", 1));
    cl_close(&k);
    client_stop(c, 0);
}

static void test_ping_flood(void **state)
{
    ctx c = {.opt = {.max_buffered_bytes = 65536}, .client = client_ping_flood};
    run(&c);
}

/* A shutdown answers a parked GET with what is queued, then the close packet. */
static void client_shutdown_flush(ctx *c)
{
    char sid[32];
    resp r;
    cl get;
    CHECK_INT(c, handshake(c, 4, NULL, sid, NULL), 0);
    CHECK_INT(c, park_get(c, &get, 4, sid), 0);
    CHECK_INT(c, post(c, 4, sid, NULL, "4shutdown", 9), 200);
    CHECK_INT(c, read_resp(&get, &r), 0);
    CHECK_INT(c, r.status, 200);
    CHECK_STR(c, r.body, "4last\0361");
    resp_free(&r);
    cl_close(&get);
    CHECK(c, wait_events(c, "close forced close", 1));
    client_stop(c, 1);
}

static void test_shutdown_flush_polling(void **state)
{
    ctx c = {.client = client_shutdown_flush};
    run(&c);
}

static void test_cors(void **state)
{
    ctx c = {
        .opt = {.cors = {.enabled = 1,
                         .origins = cors_origins,
                         .norigins = 1,
                         .credentials = 1,
                         .exposed_headers = "X-A",
                         .max_age = 600}},
        .client = client_cors,
    };
    run(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_request_sync),
        cmocka_unit_test(test_allow_request_async),
        cmocka_unit_test(test_allow_request_async_websocket),
        cmocka_unit_test(test_allow_request_async_websocket_large),
        cmocka_unit_test(test_allow_request_async_pipelined),
        cmocka_unit_test(test_allow_request_client_gone),
        cmocka_unit_test(test_cookie),
        cmocka_unit_test(test_cookie_off),
        cmocka_unit_test(test_http_compression),
        cmocka_unit_test(test_http_compression_options),
        cmocka_unit_test(test_transports_polling_only),
        cmocka_unit_test(test_transports_websocket_only),
        cmocka_unit_test(test_no_upgrades),
        cmocka_unit_test(test_server_close_polling),
        cmocka_unit_test(test_server_close_websocket),
        cmocka_unit_test(test_server_close_during_upgrade),
        cmocka_unit_test(test_parked_get_client_reset),
        cmocka_unit_test(test_eio3),
        cmocka_unit_test(test_overlapping_gets),
        cmocka_unit_test(test_path_and_body_limit),
        cmocka_unit_test(test_v4_violations),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_bound_polling),
        cmocka_unit_test(test_bound_websocket),
        cmocka_unit_test(test_ping_flood),
        cmocka_unit_test(test_shutdown_flush_polling),
        cmocka_unit_test(test_allow_request_pending_at_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
