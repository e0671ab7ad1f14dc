/*
 * The Socket.IO server (src/sio: server, client, namespace, socket, broadcast, recovery, and
 * the in-memory adapter under them) through the public API in sio.h, for the contracts the
 * end-to-end suite with the JS clients cannot reach: handler tables changed while they run,
 * sockets disconnected from their own handlers, middlewares answered late or never needed,
 * events kept past their handler, ack callbacks that fire exactly once whatever happens,
 * broadcast operators and rooms, shutdown, connection state recovery, and allocation
 * failures at every step of a session.
 *
 * Everything runs on the test's thread: a real server on a loop of its own, listening on an
 * ephemeral loopback port, and raw clients on non-blocking sockets that speak WebSocket,
 * Engine.IO v4 and Socket.IO v5 text (or long-polling). While a client waits for bytes it
 * turns the server's loop, so test code reads as a conversation: a client sends, the server's
 * handlers run, the test calls the C API, and a client checks what came over the wire.
 * Server-side callbacks never assert; they append to a log that the test compares.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sio.h"

#define WAIT_MS  2000 /* how long a client waits for what must come */
#define QUIET_MS 60   /* how long it listens to be sure nothing comes */
#define MAXS     32

/* ------------------------------------------------------------------------------------ */
/* An allocator that fails on request                                                   */
/* ------------------------------------------------------------------------------------ */

/* Installed once in main(). While counting, every libsio allocation is numbered from 1 and
 * the one numbered fail_at (if any) returns NULL. */
static struct {
    int counting;
    long count, fail_at;
    int failed;
} alloc_ctl;

static int alloc_fails(void)
{
    if (!alloc_ctl.counting) return 0;
    if (++alloc_ctl.count != alloc_ctl.fail_at) return 0;
    alloc_ctl.failed = 1;
    return 1;
}

static void *t_malloc(size_t n)
{
    return alloc_fails() ? NULL : malloc(n);
}

static void *t_realloc(void *p, size_t n)
{
    return alloc_fails() ? NULL : realloc(p, n);
}

static void *t_calloc(size_t n, size_t size)
{
    return alloc_fails() ? NULL : calloc(n, size);
}

/* ------------------------------------------------------------------------------------ */
/* The server side                                                                      */
/* ------------------------------------------------------------------------------------ */

typedef struct env env;

struct env {
    uv_loop_t loop;
    sio_server *io;
    sio_server_options so;
    sio_namespace *nsp; /* "/" */
    int port;
    /* Called for every connection after the socket is recorded (NULL: nothing more). */
    void (*on_conn)(env *t, sio_socket *s);
    /* Connected sockets by connection order; NULL once disconnected. */
    sio_socket *socks[MAXS];
    int nsocks;
    int closed_cb; /* sio_server_shutdown's callback */
    char log[16384];
    /* Scratch for the scenarios. */
    sio_event *kept[4];
    sio_next *next[4];
    int n;
    int flag;
    int ret[8];
};

/* The socket's index in t->socks, kept in its user data. */
typedef struct sud {
    int idx;
} sud;

static void note(env *t, const char *fmt, ...)
{
    size_t n = strlen(t->log);
    if (n + 2 >= sizeof(t->log)) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->log + n, sizeof(t->log) - n - 1, fmt, ap);
    va_end(ap);
    n = strlen(t->log);
    t->log[n] = ';';
    t->log[n + 1] = 0;
}

/* Compare the log with want and clear it. */
#define LOG_IS(t, want)                                                                            \
    do {                                                                                           \
        assert_string_equal((t)->log, (want));                                                     \
        (t)->log[0] = 0;                                                                           \
    } while (0)

static int idx_of(sio_socket *s)
{
    return ((sud *)sio_socket_ud(s))->idx;
}

static void rec_disconnect(sio_socket *s, const char *reason, void *ud)
{
    env *t = ud;
    int i = idx_of(s);
    note(t, "disc %d %s", i, reason);
    if (i >= 0 && i < MAXS && t->socks[i] == s) t->socks[i] = NULL;
}

static void rec_connection(sio_socket *s, void *ud)
{
    env *t = ud;
    int i = t->nsocks < MAXS ? t->nsocks++ : MAXS - 1;
    ((sud *)sio_socket_ud(s))->idx = i;
    if (sio_on_disconnect(s, rec_disconnect, t)) { /* out of memory: not kept */
        sio_disconnect(s, 1);
        return;
    }
    t->socks[i] = s;
    if (t->on_conn) t->on_conn(t, s);
}

static void quiet_log(sio_log_level level, const char *line, void *ud)
{
    (void)level;
    (void)line;
    (void)ud;
}

/* Start a server with t->so (defaults filled in) and the namespace "/" recording sockets. */
static void start(env *t)
{
    t->log[0] = 0;
    assert_int_equal(uv_loop_init(&t->loop), 0);
    t->so.log_cb = quiet_log;
    if (!t->so.shutdown_timeout_ms) t->so.shutdown_timeout_ms = 1000;
    t->so.io.socket_ud_size = sizeof(sud);
    if (!t->so.io.connect_timeout_ms) t->so.io.connect_timeout_ms = 1000;
    t->io = sio_server_new(&t->loop, &t->so);
    assert_non_null(t->io);
    t->nsp = sio_of(t->io, "/");
    assert_non_null(t->nsp);
    assert_int_equal(sio_on_connection(t->nsp, rec_connection, t), 0);
    assert_int_equal(sio_listen(t->io, "127.0.0.1", 0), 0);
    t->port = sio_server_port(t->io, 0);
    assert_true(t->port > 0);
}

/* Turn the loop without blocking, enough for what one turn queues to be written. */
static void spin(env *t)
{
    for (int i = 0; i < 3; i++) uv_run(&t->loop, UV_RUN_NOWAIT);
}

/* Turn the loop, waiting at most ms for the server or for fd (-1: none) to have work. */
static void turn(env *t, int fd, int ms)
{
    spin(t);
    struct pollfd p[2] = {{.fd = uv_backend_fd(&t->loop), .events = POLLIN},
                          {.fd = fd, .events = POLLIN}};
    int to = uv_backend_timeout(&t->loop);
    if (to < 0 || to > ms) to = ms;
    if (to > 5) to = 5;
    poll(p, fd >= 0 ? 2 : 1, to);
    spin(t);
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000;
}

/* Run the server for ms milliseconds. */
static void run_for(env *t, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (now_ms() < end) turn(t, -1, (int)(end - now_ms()));
}

/* Free the server and check that the loop ends with nothing left. */
static void finish(env *t)
{
    if (t->io) sio_server_free(t->io);
    t->io = NULL;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&t->loop), 0);
}

/* ------------------------------------------------------------------------------------ */
/* The client: WebSocket + Engine.IO v4 + Socket.IO v5, or long-polling                 */
/* ------------------------------------------------------------------------------------ */

typedef struct cl {
    env *t;
    int fd;
    uint8_t *in;
    size_t len, cap;
    char sid[32]; /* the Engine.IO session */
    char id[64];  /* the Socket.IO id of the last CONNECT reply */
    char pid[64]; /* and its private id, with recovery on */
    char offset[64];
    int eof;
} cl;

enum { CL_TIMEOUT = -1, CL_CLOSED = 0, CL_TEXT = 1, CL_BINARY = 2 };

static int cl_tcp(env *t, cl *k)
{
    memset(k, 0, sizeof(*k));
    k->t = t;
    k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (k->fd < 0) return -1;
    int one = 1;
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(k->fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) return -1;
    struct pollfd p = {.fd = k->fd, .events = POLLOUT};
    for (int i = 0; i < WAIT_MS && poll(&p, 1, 0) == 0; i++) turn(t, -1, 1);
    return p.revents & POLLOUT ? 0 : -1;
}

static int cl_write(cl *k, const void *data, size_t n)
{
    const uint8_t *b = data;
    uint64_t end = now_ms() + WAIT_MS;
    while (n) {
        ssize_t w = send(k->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR) && now_ms() < end) {
            turn(k->t, -1, 1);
        } else {
            return -1;
        }
    }
    spin(k->t);
    return 0;
}

/* Read what is there, turning the loop meanwhile: > 0 bytes, 0 at EOF, -1 after ms. */
static ssize_t cl_fill(cl *k, int ms)
{
    if (k->eof) return 0;
    if (k->cap - k->len < 65536) {
        k->cap = k->cap * 2 + 65536;
        k->in = realloc(k->in, k->cap);
    }
    uint64_t end = now_ms() + (uint64_t)ms;
    for (;;) {
        ssize_t r = recv(k->fd, k->in + k->len, k->cap - k->len, MSG_DONTWAIT);
        if (r > 0) {
            k->len += (size_t)r;
            return r;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            k->eof = 1;
            return 0;
        }
        uint64_t now = now_ms();
        if (now >= end) return -1;
        turn(k->t, k->fd, (int)(end - now));
    }
}

static int cl_need(cl *k, size_t n, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (k->len < n) {
        uint64_t now = now_ms();
        if (cl_fill(k, now < end ? (int)(end - now) : 0) <= 0) return -1;
    }
    return 0;
}

static void cl_consume(cl *k, size_t n)
{
    memmove(k->in, k->in + n, k->len - n);
    k->len -= n;
}

static void cl_close(cl *k)
{
    if (k->fd >= 0) close(k->fd);
    k->fd = -1;
    free(k->in);
    k->in = NULL;
    k->len = k->cap = 0;
}

/* Close with a reset: a client that vanishes. */
static void cl_reset(cl *k)
{
    struct linger lg = {1, 0};
    setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    cl_close(k);
}

/* An HTTP response: its status, and its body copied into body (NUL-terminated). */
static int cl_http_resp(cl *k, char *body, size_t cap)
{
    size_t hl;
    for (;;) {
        uint8_t *e = k->len >= 4 ? memmem(k->in, k->len, "\r\n\r\n", 4) : NULL;
        if (e) {
            hl = (size_t)(e - k->in) + 4;
            break;
        }
        if (cl_fill(k, WAIT_MS) <= 0) return -1;
    }
    int status = -1;
    char head[4096];
    size_t n = hl < sizeof(head) ? hl : sizeof(head) - 1;
    memcpy(head, k->in, n);
    head[n] = 0;
    if (sscanf(head, "HTTP/1.1 %d", &status) != 1) return -1;
    const char *cl_hdr = strcasestr(head, "\r\nContent-Length:");
    size_t blen = cl_hdr ? strtoul(cl_hdr + 17, NULL, 10) : 0;
    if (cl_need(k, hl + blen, WAIT_MS)) return -1;
    if (body) {
        size_t m = blen < cap ? blen : cap - 1;
        memcpy(body, k->in + hl, m);
        body[m] = 0;
    }
    cl_consume(k, hl + blen);
    return status;
}

/* A masked client frame. */
static int ws_send_frame(cl *k, int opcode, const void *p, size_t n)
{
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    uint8_t *f = malloc(n + 14);
    size_t h = 0;
    f[h++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        f[h++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        f[h++] = 0x80 | 126;
        f[h++] = (uint8_t)(n >> 8);
        f[h++] = (uint8_t)n;
    } else {
        f[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) f[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++) f[h + i] = ((const uint8_t *)p)[i] ^ mask[i & 3];
    int r = cl_write(k, f, h + n);
    free(f);
    return r;
}

/* Send an Engine.IO packet as a text frame ("4" and a Socket.IO packet for a message). */
static int cl_send(cl *k, const char *text)
{
    return ws_send_frame(k, 1, text, strlen(text));
}

static int cl_send_binary(cl *k, const void *data, size_t n)
{
    return ws_send_frame(k, 2, data, n);
}

/*
 * The next data frame within ms: CL_TEXT or CL_BINARY with its payload in *out (to free,
 * NUL-terminated), CL_CLOSED on a close frame or EOF, CL_TIMEOUT. Pings are answered.
 */
static int cl_next(cl *k, int ms, char **out, size_t *outlen)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    *out = NULL;
    for (;;) {
        uint64_t now = now_ms();
        int left = now < end ? (int)(end - now) : 0;
        if (cl_need(k, 2, left)) return k->eof ? CL_CLOSED : CL_TIMEOUT;
        size_t n = k->in[1] & 0x7f, h = 2;
        if (n == 126) {
            if (cl_need(k, 4, left)) return k->eof ? CL_CLOSED : CL_TIMEOUT;
            n = (size_t)k->in[2] << 8 | k->in[3];
            h = 4;
        } else if (n == 127) {
            if (cl_need(k, 10, left)) return k->eof ? CL_CLOSED : CL_TIMEOUT;
            n = 0;
            for (int i = 0; i < 8; i++) n = n << 8 | k->in[2 + i];
            h = 10;
        }
        if (cl_need(k, h + n, left)) return k->eof ? CL_CLOSED : CL_TIMEOUT;
        int op = k->in[0] & 0x0f;
        char *d = malloc(n + 1);
        memcpy(d, k->in + h, n);
        d[n] = 0;
        cl_consume(k, h + n);
        if (op == 8) { /* answered, as a client does, so that the server need not wait */
            ws_send_frame(k, 8, d, n);
            free(d);
            k->eof = 1;
            return CL_CLOSED;
        }
        if (op == 1 && n == 1 && d[0] == '2') { /* an Engine.IO ping */
            free(d);
            cl_send(k, "3");
            continue;
        }
        if (op != 1 && op != 2) {
            free(d);
            continue;
        }
        *out = d;
        if (outlen) *outlen = n;
        return op == 1 ? CL_TEXT : CL_BINARY;
    }
}

/* The next text message (to free); "(timeout)", "(closed)" or "(binary)" otherwise. */
static char *cl_text(cl *k)
{
    char *d;
    int r = cl_next(k, WAIT_MS, &d, NULL);
    if (r == CL_TEXT) return d;
    if (r == CL_BINARY) {
        free(d);
        return strdup("(binary)");
    }
    return strdup(r == CL_CLOSED ? "(closed)" : "(timeout)");
}

/* The next message must be want. */
#define EXPECT(k, want)                                                                            \
    do {                                                                                           \
        char *got_ = cl_text(k);                                                                   \
        if (strcmp(got_, (want))) print_error("line %d: got %s\n", __LINE__, got_);                \
        assert_string_equal(got_, (want));                                                         \
        free(got_);                                                                                \
    } while (0)

/* The next message must start with prefix. */
#define EXPECT_PREFIX(k, prefix)                                                                   \
    do {                                                                                           \
        char *got_ = cl_text(k);                                                                   \
        if (strncmp(got_, (prefix), strlen(prefix)))                                               \
            print_error("line %d: got %s\n", __LINE__, got_);                                      \
        assert_true(!strncmp(got_, (prefix), strlen(prefix)));                                     \
        free(got_);                                                                                \
    } while (0)

/* Nothing may arrive for ms (the loop turns meanwhile). */
#define EXPECT_NOTHING(k, ms)                                                                      \
    do {                                                                                           \
        char *got_;                                                                                \
        int r_ = cl_next((k), (ms), &got_, NULL);                                                  \
        if (r_ != CL_TIMEOUT) print_error("line %d: got %d %s\n", __LINE__, r_, got_);             \
        free(got_);                                                                                \
        assert_int_equal(r_, CL_TIMEOUT);                                                          \
    } while (0)

/* The connection must end (close frame or EOF), whatever comes before. */
static int cl_wait_closed(cl *k)
{
    for (;;) {
        char *d;
        int r = cl_next(k, WAIT_MS, &d, NULL);
        free(d);
        if (r == CL_CLOSED) return 1;
        if (r == CL_TIMEOUT) return 0;
    }
}

/* The string value of "key":"..." in s, copied into out. */
static int json_field(const char *s, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = s ? strstr(s, pat) : NULL;
    if (!p) return -1;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap) return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return 0;
}

/* A WebSocket session with query (NULL: none): the upgrade and Engine.IO's open packet. */
static void cl_ws(env *t, cl *k, const char *query)
{
    assert_int_equal(cl_tcp(t, k), 0);
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET /socket.io/?EIO=4&transport=websocket%s%s HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nX-Test: yes\r\n\r\n",
                     query ? "&" : "", query ? query : "");
    assert_int_equal(cl_write(k, req, (size_t)n), 0);
    assert_int_equal(cl_http_resp(k, NULL, 0), 101);
    char *open = cl_text(k);
    assert_true(open[0] == '0');
    assert_int_equal(json_field(open, "sid", k->sid, sizeof(k->sid)), 0);
    free(open);
}

/* Join namespace nsp ("/" or "/name") with auth (a JSON object or NULL): the CONNECT reply
 * must come; its sid (and pid) are kept. */
static void cl_join(cl *k, const char *nsp, const char *auth)
{
    char pkt[1024], want[128];
    int prefix = strcmp(nsp, "/") != 0;
    snprintf(pkt, sizeof(pkt), "40%s%s%s", prefix ? nsp : "", prefix ? "," : "", auth ? auth : "");
    assert_int_equal(cl_send(k, pkt), 0);
    snprintf(want, sizeof(want), "40%s%s{\"sid\":\"", prefix ? nsp : "", prefix ? "," : "");
    char *got = cl_text(k);
    if (strncmp(got, want, strlen(want))) print_error("connect reply: %s\n", got);
    assert_true(!strncmp(got, want, strlen(want)));
    assert_int_equal(json_field(got, "sid", k->id, sizeof(k->id)), 0);
    if (json_field(got, "pid", k->pid, sizeof(k->pid))) k->pid[0] = 0;
    free(got);
}

/* A client connected to "/" over WebSocket. */
static void cl_connect(env *t, cl *k)
{
    cl_ws(t, k, NULL);
    cl_join(k, "/", NULL);
}

/* ------------------------------------------------------------------------------------ */
/* Long-polling                                                                         */
/* ------------------------------------------------------------------------------------ */

/* One request on a connection of its own; status, with the body in body. */
static int poll_req(env *t, const char *method, const char *sid, const char *data, char *body,
                    size_t cap)
{
    cl k;
    if (cl_tcp(t, &k)) return -1;
    char req[2048];
    size_t dn = data ? strlen(data) : 0;
    int n = snprintf(req, sizeof(req),
                     "%s /socket.io/?EIO=4&transport=polling%s%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, sid ? "&sid=" : "", sid ? sid : "", dn, data ? data : "");
    int st = cl_write(&k, req, (size_t)n) ? -1 : cl_http_resp(&k, body, cap);
    cl_close(&k);
    return st;
}

static int room_size(env *t, const char *room);
static void ack_log(sio_socket *s, int err, json_t *args, void *ud);

/* Turn the loop until the log holds needle (1) or WAIT_MS passed (0). */
static int wait_log(env *t, const char *needle)
{
    uint64_t end = now_ms() + WAIT_MS;
    while (!strstr(t->log, needle)) {
        if (now_ms() >= end) return 0;
        turn(t, -1, 5);
    }
    spin(t);
    return 1;
}

#define WAIT_LOG(t, needle)                                                                        \
    do {                                                                                           \
        if (!wait_log((t), (needle))) print_error("log: %s\n", (t)->log);                          \
        assert_true(strstr((t)->log, (needle)) != NULL);                                           \
    } while (0)

/* Turn the loop until cond holds or WAIT_MS passed. */
#define WAIT_FOR(t, cond)                                                                          \
    do {                                                                                           \
        uint64_t end_ = now_ms() + WAIT_MS;                                                        \
        while (!(cond) && now_ms() < end_) turn((t), -1, 5);                                       \
        assert_true(cond);                                                                         \
    } while (0)

static void log_event(env *t, const char *who, sio_socket *s, sio_event *ev)
{
    char *args = json_dumps(sio_event_args(ev), JSON_COMPACT | JSON_ENCODE_ANY);
    note(t, "%s %d %s %s", who, idx_of(s), sio_event_name(ev), args ? args : "?");
    free(args);
}

/* Handlers that only log themselves. */
#define LOGGING_HANDLER(name)                                                                      \
    static void name(sio_socket *s, sio_event *ev, void *ud)                                       \
    {                                                                                              \
        log_event(ud, #name, s, ev);                                                               \
    }
LOGGING_HANDLER(ha)
LOGGING_HANDLER(hb)
LOGGING_HANDLER(hany)
LOGGING_HANDLER(hfirst)

/* ------------------------------------------------------------------------------------ */
/* 1. handlers                                                                          */
/* ------------------------------------------------------------------------------------ */

static void conn_handlers(env *t, sio_socket *s)
{
    t->ret[0] = sio_on(s, "a", ha, t);
    t->ret[1] = sio_once(s, "a", hb, t);
    t->ret[2] = sio_on_any(s, hany, t);
    t->ret[3] = sio_prepend_any(s, hfirst, t);
    t->ret[4] = sio_on(s, "b", ha, t) | sio_on(s, "b", hb, t) | sio_on(s, "7", ha, t);
    t->ret[5] = sio_on(s, NULL, ha, t);
    t->ret[6] = sio_on(s, "a", NULL, t);
    t->ret[7] = sio_once(s, NULL, ha, t);
}

/* on, once, onAny, prependAny, off (one handler, all of an event), offAny (one, all). */
static void test_handlers(void **state)
{
    env t = {.on_conn = conn_handlers};
    start(&t);
    cl k;
    cl_connect(&t, &k);
    for (int i = 0; i < 5; i++) assert_int_equal(t.ret[i], 0);
    assert_int_equal(t.ret[5], SIO_EINVAL);
    assert_int_equal(t.ret[6], SIO_EINVAL);
    assert_int_equal(t.ret[7], SIO_EINVAL);
    sio_socket *s = t.socks[0];

    /* Any-handlers first (the prepended one before the others), then the event's own. */
    cl_send(&k, "42[\"a\",1]");
    WAIT_LOG(&t, "hb 0 a");
    LOG_IS(&t, "hfirst 0 a [1];hany 0 a [1];ha 0 a [1];hb 0 a [1];");
    /* once: gone after one call. */
    cl_send(&k, "42[\"a\",2]");
    WAIT_LOG(&t, "ha 0 a");
    LOG_IS(&t, "hfirst 0 a [2];hany 0 a [2];ha 0 a [2];");
    /* A number as the event name. */
    cl_send(&k, "42[7,\"x\"]");
    WAIT_LOG(&t, "ha 0 7");
    LOG_IS(&t, "hfirst 0 7 [\"x\"];hany 0 7 [\"x\"];ha 0 7 [\"x\"];");

    sio_off(s, "b", hb);
    cl_send(&k, "42[\"b\"]");
    WAIT_LOG(&t, "ha 0 b");
    LOG_IS(&t, "hfirst 0 b [];hany 0 b [];ha 0 b [];");
    sio_off(s, "b", NULL);
    sio_off_any(s, hfirst);
    cl_send(&k, "42[\"b\",{\"k\":null}]");
    WAIT_LOG(&t, "hany 0 b");
    LOG_IS(&t, "hany 0 b [{\"k\":null}];");
    sio_off_any(s, NULL);
    cl_send(&k, "42[\"a\",3]");
    WAIT_LOG(&t, "ha 0 a");
    LOG_IS(&t, "ha 0 a [3];");
    /* Nothing handles it: nothing happens. */
    cl_send(&k, "42[\"nobody\"]");
    cl_send(&k, "42[\"a\",4]");
    WAIT_LOG(&t, "ha 0 a");
    LOG_IS(&t, "ha 0 a [4];");
    /* Removing what is not there is harmless. */
    sio_off(s, "nope", ha);
    sio_off(s, "a", hany);
    sio_off_any(s, ha);
    cl_send(&k, "42[\"a\",5]");
    WAIT_LOG(&t, "ha 0 a");
    LOG_IS(&t, "ha 0 a [5];");
    cl_close(&k);
    WAIT_LOG(&t, "disc 0");
    LOG_IS(&t, "disc 0 transport close;");
    finish(&t);
}

/* hx1 changes the handler table while "x" is being dispatched. */
static void hx2(sio_socket *s, sio_event *ev, void *ud);
static void hx3(sio_socket *s, sio_event *ev, void *ud);
LOGGING_HANDLER(hx4)

static void hcount(sio_socket *s, sio_event *ev, void *ud)
{
    (void)s;
    (void)ev;
    ((env *)ud)->n++;
}

static void hx1(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    log_event(t, "hx1", s, ev);
    sio_off(s, "x", hx3);   /* later in this dispatch: still called for this event */
    sio_off(s, "x", hx1);   /* itself: this call goes on */
    sio_on(s, "x", hx4, t); /* added: from the next event on */
    for (int i = 0; i < 40; i++) sio_on(s, "y", hcount, t); /* the list is rebuilt each time */
    sio_on_any(s, hfirst, t);
    log_event(t, "hx1-end", s, ev);
}

static void hx2(sio_socket *s, sio_event *ev, void *ud)
{
    log_event(ud, "hx2", s, ev);
}

static void hx3(sio_socket *s, sio_event *ev, void *ud)
{
    log_event(ud, "hx3", s, ev);
}

/* A once handler that registers itself again. */
static void honce_again(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    log_event(t, "again", s, ev);
    if (++t->flag < 3) sio_once(s, "o", honce_again, t);
}

/* An any-handler that removes the event's handlers: they still run for this event. */
static void hoff_z(sio_socket *s, sio_event *ev, void *ud)
{
    if (!strcmp(sio_event_name(ev), "z")) sio_off(s, "z", NULL);
    (void)ud;
}

static void conn_dispatch(env *t, sio_socket *s)
{
    sio_on(s, "x", hx1, t);
    sio_on(s, "x", hx2, t);
    sio_on(s, "x", hx3, t);
    sio_once(s, "o", honce_again, t);
    sio_on_any(s, hoff_z, t);
    sio_on(s, "z", ha, t);
}

/* As in Node, a dispatch calls the handlers registered when it began: those added meanwhile
 * wait for the next event, those removed are still called for this one, once handlers at
 * most once. */
static void test_handlers_changed_while_dispatching(void **state)
{
    env t = {.on_conn = conn_dispatch};
    start(&t);
    cl k;
    cl_connect(&t, &k);
    cl_send(&k, "42[\"x\"]");
    WAIT_LOG(&t, "hx3 0");
    LOG_IS(&t, "hx1 0 x [];hx1-end 0 x [];hx2 0 x [];hx3 0 x [];");
    cl_send(&k, "42[\"x\",1]");
    WAIT_LOG(&t, "hx4 0");
    LOG_IS(&t, "hfirst 0 x [1];hx2 0 x [1];hx4 0 x [1];");
    sio_off_any(t.socks[0], hfirst);
    cl_send(&k, "42[\"y\"]");
    WAIT_FOR(&t, t.n == 40);
    for (int i = 0; i < 4; i++) cl_send(&k, "42[\"o\"]");
    cl_send(&k, "42[\"z\"]");
    cl_send(&k, "42[\"z\"]");
    cl_send(&k, "42[\"x\",2]");
    WAIT_LOG(&t, "hx4 0 x [2]");
    LOG_IS(&t, "again 0 o [];again 0 o [];again 0 o [];ha 0 z [];hx2 0 x [2];hx4 0 x [2];");
    assert_int_equal(t.n, 40);
    cl_close(&k);
    finish(&t);
}

/* ------------------------------------------------------------------------------------ */
/* 2. disconnecting from inside                                                         */
/* ------------------------------------------------------------------------------------ */

static void hbye(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    sio_disconnect(s, 0);
    note(t, "bye connected=%d", sio_socket_connected(s));
    t->ret[0] = sio_emit(s, "after", NULL);
    t->ret[1] = sio_ack(ev, "s", "late");
    t->ret[2] = sio_join(s, "r");
    t->ret[3] = sio_on(s, "more", ha, t);
    sio_off(s, "bye", NULL); /* nothing left to remove */
    sio_disconnect(s, 0);    /* again: nothing */
    sio_disconnect(s, 1);
}

static void hquit(sio_socket *s, sio_event *ev, void *ud)
{
    sio_disconnect(s, 1);
    note(ud, "quit connected=%d", sio_socket_connected(s));
}

static void rec_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    note(ud, "disconnecting %d %s in-own-room=%d", idx_of(s), reason,
         sio_socket_in(s, sio_socket_id(s)));
}

static void conn_bye(env *t, sio_socket *s)
{
    sio_on(s, "bye", hbye, t);
    sio_on(s, "bye", ha, t); /* not called: the socket left */
    sio_on(s, "quit", hquit, t);
    sio_on_disconnecting(s, rec_disconnecting, t);
}

static void test_disconnect_in_handler(void **state)
{
    env t = {.on_conn = conn_bye};
    start(&t);
    sio_namespace *b = sio_of(t.io, "b"); /* the slash is added */
    assert_non_null(b);
    assert_string_equal(sio_namespace_name(b), "/b");
    assert_ptr_equal(sio_of(t.io, "/b"), b);
    sio_on_connection(b, rec_connection, &t);
    cl k;
    cl_connect(&t, &k);
    cl_send(&k, "421[\"bye\"]");
    EXPECT(&k, "41");
    LOG_IS(&t, "disconnecting 0 server namespace disconnect in-own-room=1;"
               "disc 0 server namespace disconnect;bye connected=0;");
    assert_int_equal(t.ret[0], SIO_ECLOSED);
    assert_int_equal(t.ret[1], SIO_ECLOSED);
    assert_int_equal(t.ret[2], SIO_ECLOSED);
    assert_int_equal(t.ret[3], SIO_ECLOSED);
    assert_int_equal(sio_namespace_count(t.nsp), 0);
    /* The connection stays: the client joins again, and another namespace too. */
    cl_join(&k, "/", NULL);
    cl_join(&k, "/b", "{\"x\":1}");
    assert_int_equal(sio_namespace_count(t.nsp), 1);
    assert_int_equal(sio_namespace_count(b), 1);
    /* disconnect(true): every namespace is left, then the connection ends. */
    cl_send(&k, "42[\"quit\"]");
    EXPECT(&k, "41");
    EXPECT(&k, "41/b,");
    assert_true(cl_wait_closed(&k));
    LOG_IS(&t, "disconnecting 1 server namespace disconnect in-own-room=1;"
               "disc 1 server namespace disconnect;"
               "disconnecting 2 server namespace disconnect in-own-room=1;"
               "disc 2 server namespace disconnect;quit connected=0;");
    assert_int_equal(sio_namespace_count(t.nsp), 0);
    assert_int_equal(sio_namespace_count(b), 0);
    cl_close(&k);
    finish(&t);
}

/* A disconnecting handler that disconnects its socket again. */
static void disc_again(sio_socket *s, const char *reason, void *ud)
{
    env *t = ud;
    note(t, "disconnecting %d %s", idx_of(s), reason);
    sio_disconnect(s, t->flag);
    note(t, "after %d", sio_socket_connected(s));
}

/* While leaving, the socket still joins rooms, emits and asks for acks; afterwards it is in
 * no room, and the acks have failed before the disconnect handlers. */
static void disc_busy(sio_socket *s, const char *reason, void *ud)
{
    env *t = ud;
    t->ret[3] = sio_join(s, "late-room");
    t->ret[4] = sio_emit(s, "bye", NULL);
    t->ret[5] = sio_emit_ack(s, 0, ack_log, t, "q", NULL);
    sio_on_disconnect(s, rec_disconnect, t); /* added while leaving: runs too */
}

static void conn_disc_again(env *t, sio_socket *s)
{
    sio_on_disconnecting(s, disc_again, t);
    if (t->n) sio_on_disconnecting(s, disc_busy, t);
}

static void test_disconnect_in_disconnecting(void **state)
{
    env t = {.on_conn = conn_disc_again};
    start(&t);
    cl k1, k2, k3;
    /* The client leaves. */
    cl_connect(&t, &k1);
    cl_send(&k1, "41");
    WAIT_LOG(&t, "disc 0");
    LOG_IS(&t, "disconnecting 0 client namespace disconnect;after 1;"
               "disc 0 client namespace disconnect;");
    /* The transport closes, and the handler asks for the whole connection to end. */
    t.flag = 1;
    cl_connect(&t, &k2);
    cl_close(&k2);
    WAIT_LOG(&t, "disc 1");
    LOG_IS(&t, "disconnecting 1 transport close;after 1;disc 1 transport close;");
    /* The server disconnects it. */
    t.flag = 0;
    cl_connect(&t, &k3);
    sio_disconnect(t.socks[2], 0);
    EXPECT(&k3, "41");
    LOG_IS(&t, "disconnecting 2 server namespace disconnect;after 1;"
               "disc 2 server namespace disconnect;");
    /* The server disconnects it, and the handler ends the connection: the client is closed
     * under the socket that is leaving. */
    t.flag = 1;
    cl_connect(&t, &k2);
    sio_disconnect(t.socks[3], 0);
    assert_true(cl_wait_closed(&k2));
    LOG_IS(&t, "disconnecting 3 server namespace disconnect;after 1;"
               "disc 3 server namespace disconnect;");
    assert_int_equal(sio_namespace_count(t.nsp), 0);

    t.flag = 0;
    t.n = 1;
    cl_close(&k2);
    cl_connect(&t, &k2);
    cl_send(&k2, "41");
    EXPECT(&k2, "42[\"bye\"]");
    EXPECT(&k2, "421[\"q\"]");
    WAIT_LOG(&t, "disc 4");
    LOG_IS(&t, "disconnecting 4 client namespace disconnect;after 1;ack 4 ECLOSED -;"
               "disc 4 client namespace disconnect;disc 4 client namespace disconnect;");
    assert_int_equal(t.ret[3], 0);
    assert_int_equal(t.ret[4], 0);
    assert_int_equal(t.ret[5], 0);
    assert_int_equal(room_size(&t, "late-room"), 0);
    cl_close(&k1);
    cl_close(&k2);
    cl_close(&k3);
    finish(&t);
}

/* The disconnect handler of one namespace's socket ends the connection through the socket
 * of another namespace on the same client. */
static void disc_sibling(sio_socket *s, const char *reason, void *ud)
{
    env *t = ud;
    note(t, "left %d %s", idx_of(s), reason);
    for (int i = 0; i < t->nsocks; i++)
        if (t->socks[i] && t->socks[i] != s) sio_disconnect(t->socks[i], 1);
}

static void conn_sibling(env *t, sio_socket *s)
{
    if (!strcmp(sio_namespace_name(sio_socket_namespace(s)), "/")) {
        sio_on_disconnect(s, disc_sibling, t);
        sio_on_disconnecting(s, disc_sibling, t);
    }
}

static void test_disconnect_sibling_from_handlers(void **state)
{
    env t = {.on_conn = conn_sibling};
    start(&t);
    sio_on_connection(sio_of(t.io, "/b"), rec_connection, &t);
    sio_on_connection(sio_of(t.io, "/c"), rec_connection, &t);
    cl k;
    for (int round = 0; round < 3; round++) {
        t.nsocks = 0;
        cl_ws(&t, &k, NULL);
        cl_join(&k, "/", NULL);
        cl_join(&k, "/b", NULL);
        cl_join(&k, "/c", NULL);
        if (round == 0) sio_disconnect(t.socks[0], 0);
        if (round == 1) sio_disconnect(t.socks[0], 1);
        if (round == 2) cl_send(&k, "41");
        assert_true(cl_wait_closed(&k));
        WAIT_FOR(&t, !t.socks[0] && !t.socks[1] && !t.socks[2]);
        cl_close(&k);
        t.log[0] = 0;
    }
    assert_int_equal(sio_namespace_count(t.nsp), 0);
    assert_int_equal(sio_namespace_count(sio_of(t.io, "/b")), 0);
    finish(&t);
}

/* ------------------------------------------------------------------------------------ */
/* 3. middlewares                                                                       */
/* ------------------------------------------------------------------------------------ */

static void mw_auth(sio_socket *s, sio_next *next, void *ud)
{
    env *t = ud;
    const char *token = json_string_value(json_object_get(sio_socket_auth(s), "token"));
    note(t, "mw-auth %s %s", sio_namespace_name(sio_socket_namespace(s)), token ? token : "-");
    json_object_set_new(sio_socket_data(s), "user", json_string(token ? token : "anon"));
    sio_disconnect(s, 0); /* not connected yet: nothing to do */
    sio_disconnect(s, 1);
    sio_next_ok(next);
}

static void mw_later(sio_socket *s, sio_next *next, void *ud)
{
    env *t = ud;
    note(t, "mw-later count=%zu", sio_namespace_count(sio_socket_namespace(s)));
    t->next[t->n++ & 3] = next;
}

static void mw_refuse(sio_socket *s, sio_next *next, void *ud)
{
    note(ud, "mw-refuse");
    sio_next_error(next, "nope", json_pack("{si}", "code", 7));
}

static void mw_never(sio_socket *s, sio_next *next, void *ud)
{
    note(ud, "mw-never");
}

/* Continues, then looks at its socket, which the connection handler has disconnected. */
static void mw_then_look(sio_socket *s, sio_next *next, void *ud)
{
    sio_next_ok(next);
    note(ud, "after-next connected=%d id-len=%zu", sio_socket_connected(s),
         strlen(sio_socket_id(s)));
}

static void conn_mw(env *t, sio_socket *s)
{
    json_t *user = json_object_get(sio_socket_data(s), "user");
    note(t, "conn %s user=%s", sio_namespace_name(sio_socket_namespace(s)),
         user ? json_string_value(user) : "-");
    if (!strcmp(sio_namespace_name(sio_socket_namespace(s)), "/look")) sio_disconnect(s, 0);
}

static void test_middlewares(void **state)
{
    env t = {.on_conn = conn_mw};
    start(&t);
    sio_namespace *m = sio_of(t.io, "/m"), *e = sio_of(t.io, "/e"), *look = sio_of(t.io, "/look");
    sio_use(sio_of(t.io, "/n"), mw_later, &t);
    assert_int_equal(sio_use(m, mw_auth, &t), 0);
    assert_int_equal(sio_use(m, mw_later, &t), 0);
    assert_int_equal(sio_use(e, mw_auth, &t), 0);
    assert_int_equal(sio_use(e, mw_refuse, &t), 0);
    assert_int_equal(sio_use(e, mw_never, &t), 0); /* after a refusal: not run */
    assert_int_equal(sio_use(look, mw_then_look, &t), 0);
    assert_int_equal(sio_use(NULL, mw_auth, &t), SIO_EINVAL);
    assert_int_equal(sio_use(m, NULL, &t), SIO_EINVAL);
    sio_on_connection(m, rec_connection, &t);
    sio_on_connection(e, rec_connection, &t);
    sio_on_connection(look, rec_connection, &t);

    cl k;
    cl_ws(&t, &k, NULL);
    /* A deferred step: nothing is sent until it is answered. */
    cl_send(&k, "40/m,{\"token\":\"abc\"}");
    EXPECT_NOTHING(&k, QUIET_MS);
    LOG_IS(&t, "mw-auth /m abc;mw-later count=0;");
    assert_int_equal(sio_namespace_count(m), 0);
    sio_next_ok(t.next[0]);
    EXPECT_PREFIX(&k, "40/m,{\"sid\":\"");
    LOG_IS(&t, "conn /m user=abc;");
    assert_int_equal(sio_namespace_count(m), 1);

    /* A refusal with data; the connection stays and may try again. */
    cl_send(&k, "40/e,");
    EXPECT(&k, "44/e,{\"message\":\"nope\",\"data\":{\"code\":7}}");
    LOG_IS(&t, "mw-auth /e -;mw-refuse;");
    assert_int_equal(sio_namespace_count(e), 0);
    cl_send(&k, "40/e,{\"token\":\"x\"}");
    EXPECT(&k, "44/e,{\"message\":\"nope\",\"data\":{\"code\":7}}");
    t.log[0] = 0;

    /* A deferred refusal without message or data. */
    cl_send(&k, "40/n,");
    WAIT_LOG(&t, "mw-later");
    sio_next_error(t.next[1], NULL, NULL);
    EXPECT(&k, "44/n,{\"message\":\"\"}");

    /* The socket stays valid in the middleware that let it through, even when the
     * connection handler has disconnected it meanwhile. */
    t.log[0] = 0;
    cl_send(&k, "40/look,");
    EXPECT_PREFIX(&k, "40/look,{\"sid\":\"");
    EXPECT(&k, "41/look,");
    LOG_IS(&t, "conn /look user=-;disc 1 server namespace disconnect;"
               "after-next connected=0 id-len=20;");

    /* The main namespace still works on the same connection. */
    cl_join(&k, "/", NULL);
    assert_int_equal(sio_namespace_count(t.nsp), 1);
    cl_close(&k);
    finish(&t);
}

/* Connection handlers run in order until one disconnects the socket; here the first one
 * empties the namespace, the new socket included. */
static void conn_clear(sio_socket *s, void *ud)
{
    env *t = ud;
    note(t, "clear count=%zu", sio_namespace_count(sio_socket_namespace(s)));
    t->ret[0] = sio_broadcast_disconnect(sio_broadcast_nsp(sio_socket_namespace(s)), 0);
}

static void conn_second(sio_socket *s, void *ud)
{
    note(ud, "second %d", sio_socket_connected(s));
}

static void test_connection_handlers(void **state)
{
    env t = {0};
    start(&t);
    sio_namespace *x = sio_of(t.io, "/x");
    assert_int_equal(sio_on_connection(x, conn_second, &t), 0);
    assert_int_equal(sio_on_connection(NULL, conn_second, &t), SIO_EINVAL);
    assert_int_equal(sio_on_connection(x, NULL, &t), SIO_EINVAL);
    cl k1, k2;
    cl_ws(&t, &k1, NULL);
    cl_join(&k1, "/x", NULL);
    LOG_IS(&t, "second 1;");
    assert_int_equal(sio_on_connection(x, conn_clear, &t), 0);
    assert_int_equal(sio_on_connection(x, conn_second, &t), 0);
    cl_ws(&t, &k2, NULL);
    cl_join(&k2, "/x", NULL);
    EXPECT(&k2, "41/x,");
    EXPECT(&k1, "41/x,");
    LOG_IS(&t, "second 1;clear count=2;");
    assert_int_equal(t.ret[0], 0);
    assert_int_equal(sio_namespace_count(x), 0);
    cl_close(&k1);
    cl_close(&k2);
    finish(&t);
}

/* A client leaves while a middleware is pending; the late answers are ignored. */
static void test_middleware_client_gone(void **state)
{
    env t = {.on_conn = conn_mw};
    start(&t);
    sio_namespace *m = sio_of(t.io, "/m");
    sio_use(m, mw_later, &t);
    sio_on_connection(m, rec_connection, &t);
    cl k1, k2, k3;
    cl_ws(&t, &k1, NULL);
    cl_send(&k1, "40/m,");
    cl_ws(&t, &k2, NULL);
    cl_send(&k2, "40/m,");
    cl_ws(&t, &k3, NULL);
    cl_send(&k3, "40/m,");
    WAIT_FOR(&t, t.n == 3);
    cl_close(&k1);
    cl_reset(&k2);
    run_for(&t, 30);
    sio_next_ok(t.next[0]);
    sio_next_error(t.next[1], "late", json_pack("{ss}", "a", "b"));
    assert_int_equal(sio_namespace_count(m), 0);
    assert_int_equal(t.nsocks, 0);
    /* The third is still pending when the server goes away; answered afterwards. */
    cl_close(&k3);
    finish(&t);
    sio_next_ok(t.next[2]);
    assert_string_equal(t.log, "mw-later count=0;mw-later count=0;mw-later count=0;");
}

/* connectTimeout: a client that joins no namespace in time is closed; one that joined and
 * left is not (as in Node, the timeout applies once). */
static void test_connect_timeout(void **state)
{
    env t = {.so.io.connect_timeout_ms = 300};
    start(&t);
    cl idle, joined, left;
    uint64_t t0 = now_ms();
    cl_ws(&t, &idle, NULL);
    cl_connect(&t, &joined);
    cl_connect(&t, &left);
    cl_send(&left, "41");
    assert_true(cl_wait_closed(&idle));
    uint64_t waited = now_ms() - t0;
    assert_true(waited >= 290);
    assert_true(waited < 3000);
    EXPECT_NOTHING(&joined, 350);
    EXPECT_NOTHING(&left, 10);
    cl_send(&joined, "42[\"still\"]");
    cl_join(&left, "/", NULL);
    assert_int_equal(sio_namespace_count(t.nsp), 2);

    /* A middleware still deciding when the time is up: the client is in no namespace yet
     * and is closed (as Node does); the late answer is ignored. */
    sio_namespace *m = sio_of(t.io, "/m");
    sio_use(m, mw_later, &t);
    cl slow;
    cl_ws(&t, &slow, NULL);
    cl_send(&slow, "40/m,");
    assert_true(cl_wait_closed(&slow));
    assert_int_equal(t.n, 1);
    sio_next_ok(t.next[0]);
    assert_int_equal(sio_namespace_count(m), 0);
    cl_close(&slow);
    cl_close(&idle);
    cl_close(&joined);
    cl_close(&left);
    finish(&t);
}

/* ------------------------------------------------------------------------------------ */
/* 4. events kept past their handler                                                    */
/* ------------------------------------------------------------------------------------ */

static void h_keep(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    log_event(t, "keep", s, ev);
    int i = t->n++ & 3;
    t->kept[i] = sio_event_keep(ev);
    if (!strcmp(sio_event_name(ev), "twice")) sio_event_keep(ev);
}

static void h_ack_now(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    t->ret[0] = sio_ack(ev, "[s{sb}]", "now", "ok", 1);
    t->ret[1] = sio_ack(ev, "s", "again");
    t->ret[2] = sio_event_wants_ack(ev);
    t->ret[3] = sio_ack(ev, NULL);
}

static void h_ack_binary(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    t->ret[4] = sio_ack(ev, "{[]", "bin"); /* a bad format: nothing sent, still answerable */
    t->ret[5] = sio_ack(ev, "so", "b", sio_binary("\x01\x02\x03", 3));
}

static void conn_keep(env *t, sio_socket *s)
{
    sio_on(s, "later", h_keep, t);
    sio_on(s, "twice", h_keep, t);
    sio_on(s, "now", h_ack_now, t);
    sio_on(s, "bin", h_ack_binary, t);
}

static void test_event_keep_release(void **state)
{
    env t = {.on_conn = conn_keep};
    start(&t);
    cl k;
    cl_connect(&t, &k);

    /* Answered after the handler returned; a second answer is refused. */
    cl_send(&k, "425[\"later\",1]");
    WAIT_LOG(&t, "keep 0 later");
    EXPECT_NOTHING(&k, QUIET_MS);
    sio_event *ev = t.kept[0];
    assert_int_equal(sio_event_wants_ack(ev), 1);
    assert_string_equal(sio_event_name(ev), "later");
    assert_int_equal(json_integer_value(json_array_get(sio_event_args(ev), 0)), 1);
    assert_int_equal(sio_ack(ev, "si", "done", 2), 0);
    EXPECT(&k, "435[\"done\",2]");
    assert_int_equal(sio_event_wants_ack(ev), 0);
    assert_int_equal(sio_ack(ev, "s", "again"), SIO_ESTATE);
    json_t *a = json_array();
    assert_int_equal(sio_ack_array(ev, a), SIO_ESTATE);
    json_decref(a);
    sio_event_release(ev);

    /* Kept without an ack id: nothing to answer. */
    cl_send(&k, "42[\"later\",2]");
    WAIT_LOG(&t, "keep 0 later [2]");
    assert_int_equal(sio_event_wants_ack(t.kept[1]), 0);
    assert_int_equal(sio_ack(t.kept[1], NULL), SIO_ESTATE);
    sio_event_release(t.kept[1]);

    /* Kept twice (two references), never answered: released twice, nothing sent. */
    cl_send(&k, "426[\"twice\"]");
    WAIT_LOG(&t, "keep 0 twice");
    sio_event_release(t.kept[2]);
    assert_string_equal(sio_event_name(t.kept[2]), "twice");
    sio_event_release(t.kept[2]);
    EXPECT_NOTHING(&k, QUIET_MS);

    /* Answered in the handler: later answers are refused. */
    cl_send(&k, "427[\"now\"]");
    EXPECT(&k, "437[\"now\",{\"ok\":true}]");
    assert_int_equal(t.ret[0], 0);
    assert_int_equal(t.ret[1], SIO_ESTATE);
    assert_int_equal(t.ret[2], 0);
    assert_int_equal(t.ret[3], SIO_ESTATE);

    /* A binary answer: a BINARY_ACK with its attachment. */
    cl_send(&k, "428[\"bin\"]");
    EXPECT(&k, "461-8[\"b\",{\"_placeholder\":true,\"num\":0}]");
    char *d;
    size_t n;
    assert_int_equal(cl_next(&k, WAIT_MS, &d, &n), CL_BINARY);
    assert_true(n == 3 && !memcmp(d, "\x01\x02\x03", 3));
    free(d);
    assert_int_equal(t.ret[4], SIO_EINVAL);
    assert_int_equal(t.ret[5], 0);

    /* Kept while the client leaves: the socket is gone (its disconnect handlers ran), the
     * event can still be read, answers fail, and releasing it frees the socket. */
    t.log[0] = 0;
    cl_send(&k, "429[\"later\",3]");
    WAIT_LOG(&t, "keep 0 later [3]");
    ev = t.kept[3];
    cl_close(&k);
    WAIT_LOG(&t, "disc 0 transport close");
    assert_int_equal(sio_ack(ev, "s", "too late"), SIO_ECLOSED);
    assert_string_equal(sio_event_name(ev), "later");
    sio_event_release(ev);
    finish(&t);
}

/* An event kept when the server is freed, released afterwards. */
static void test_event_kept_past_server(void **state)
{
    env t = {.on_conn = conn_keep};
    start(&t);
    cl k;
    cl_connect(&t, &k);
    cl_send(&k, "421[\"later\"]");
    WAIT_LOG(&t, "keep 0 later");
    sio_server_shutdown(t.io, NULL, NULL);
    assert_true(cl_wait_closed(&k));
    WAIT_LOG(&t, "disc 0 server shutting down");
    cl_close(&k);
    finish(&t);
    assert_int_equal(sio_event_wants_ack(t.kept[0]), 1);
    assert_int_equal(sio_ack(t.kept[0], NULL), SIO_ECLOSED);
    assert_string_equal(sio_event_name(t.kept[0]), "later");
    sio_event_release(t.kept[0]);
}

/* ------------------------------------------------------------------------------------ */
/* 5. server to client acks                                                             */
/* ------------------------------------------------------------------------------------ */

/* A copy of v with every binary value, at any depth, replaced by "<n bytes>". */
static json_t *printable(json_t *v)
{
    const void *d;
    size_t n, i;
    if (sio_binary_data(v, &d, &n) == 0) {
        char b[32];
        snprintf(b, sizeof(b), "<%zu bytes>", n);
        return json_string(b);
    }
    json_t *out, *x;
    if (json_is_array(v)) {
        out = json_array();
        json_array_foreach(v, i, x) json_array_append_new(out, printable(x));
        return out;
    }
    if (json_is_object(v)) {
        const char *key;
        out = json_object();
        json_object_foreach(v, key, x) json_object_set_new(out, key, printable(x));
        return out;
    }
    return json_incref(v);
}

/* args as JSON, binary values as <n bytes> (to free). */
static char *dump_args(json_t *args)
{
    if (!args) return strdup("-");
    json_t *copy = printable(args);
    char *a = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    return a ? a : strdup("?");
}

static void ack_log(sio_socket *s, int err, json_t *args, void *ud)
{
    env *t = ud;
    char *a = dump_args(args);
    note(t, "ack %d %s %s", idx_of(s), err ? sio_err_name(err) : "ok", a);
    free(a);
}

static void test_emit_ack(void **state)
{
    env t = {.so.io.connect_timeout_ms = 200}; /* the deadline sweep every 20 ms */
    start(&t);
    cl k;
    cl_connect(&t, &k);
    sio_socket *s = t.socks[0];

    assert_int_equal(sio_emit_ack(s, 0, NULL, &t, "q", NULL), SIO_EINVAL);
    assert_int_equal(sio_emit_ack(s, 0, ack_log, &t, "disconnect", NULL), SIO_EINVAL);
    assert_int_equal(sio_emit_ack(s, 0, ack_log, &t, "q", "{s}", "x"), SIO_EINVAL);
    assert_int_equal(sio_emit(s, "connect", NULL), SIO_EINVAL);

    /* Answered. */
    assert_int_equal(sio_emit_ack(s, 0, ack_log, &t, "q", "i", 1), 0);
    EXPECT(&k, "421[\"q\",1]");
    cl_send(&k, "431[\"yes\",{\"n\":2}]");
    WAIT_LOG(&t, "ack 0");
    LOG_IS(&t, "ack 0 ok [\"yes\",{\"n\":2}];");
    /* An answer to nothing, and a second answer to the same id: ignored. */
    cl_send(&k, "431[\"again\"]");
    cl_send(&k, "4399[]");

    /* Not answered in time: the error comes once, a late answer is ignored. */
    uint64_t t0 = now_ms();
    assert_int_equal(sio_emit_ack(s, 50, ack_log, &t, "q", "i", 2), 0);
    EXPECT(&k, "422[\"q\",2]");
    WAIT_LOG(&t, "ack 0 ETIMEDOUT");
    assert_true(now_ms() - t0 >= 45);
    cl_send(&k, "432[\"late\"]");
    run_for(&t, 100);
    LOG_IS(&t, "ack 0 ETIMEDOUT -;");

    /* Answered with binary, before its deadline. */
    json_t *args = json_pack("[i]", 3);
    assert_int_equal(sio_emit_ack_array(s, 1000, ack_log, &t, "q", args), 0);
    json_decref(args);
    EXPECT(&k, "423[\"q\",3]");
    cl_send(&k, "461-3[{\"_placeholder\":true,\"num\":0}]");
    cl_send_binary(&k, "\xff", 1);
    WAIT_LOG(&t, "ack 0");
    LOG_IS(&t, "ack 0 ok [\"<1 bytes>\"];");

    /* Pending when the client goes: each callback gets ECLOSED, once. */
    assert_int_equal(sio_emit_ack(s, 0, ack_log, &t, "q", "i", 4), 0);
    assert_int_equal(sio_emit_ack(s, 1500, ack_log, &t, "q", "i", 5), 0);
    assert_int_equal(sio_emit_ack(s, 5000, ack_log, &t, "q", "i", 6), 0);
    EXPECT(&k, "424[\"q\",4]");
    EXPECT(&k, "425[\"q\",5]");
    EXPECT(&k, "426[\"q\",6]");
    cl_close(&k);
    WAIT_LOG(&t, "disc 0");
    run_for(&t, 100);
    LOG_IS(&t, "ack 0 ECLOSED -;ack 0 ECLOSED -;ack 0 ECLOSED -;disc 0 transport close;");
    finish(&t);
}

/* An ack's callback disconnects its own socket, or another socket with acks pending. */
static void ack_disconnect(sio_socket *s, int err, json_t *args, void *ud)
{
    env *t = ud;
    ack_log(s, err, args, ud);
    sio_disconnect(s, t->flag);
    for (int i = 0; i < t->nsocks; i++)
        if (t->socks[i]) sio_disconnect(t->socks[i], t->flag);
}

static void test_ack_callbacks_disconnect(void **state)
{
    env t = {.so.io.connect_timeout_ms = 200};
    start(&t);
    cl k[3];
    for (int i = 0; i < 3; i++) cl_connect(&t, &k[i]);
    /* The first socket's ack expires first; its callback disconnects everyone. */
    sio_emit_ack(t.socks[0], 30, ack_disconnect, &t, "q", NULL);
    sio_emit_ack(t.socks[0], 0, ack_log, &t, "q", NULL);
    sio_emit_ack(t.socks[0], 30, ack_log, &t, "q", NULL);
    sio_emit_ack(t.socks[1], 40, ack_log, &t, "q", NULL);
    sio_emit_ack(t.socks[1], 0, ack_log, &t, "q", NULL);
    sio_emit_ack(t.socks[2], 5000, ack_log, &t, "q", NULL);
    WAIT_LOG(&t, "disc 2");
    run_for(&t, 80);
    LOG_IS(&t, "ack 0 ETIMEDOUT -;ack 0 ECLOSED -;ack 0 ECLOSED -;"
               "disc 0 server namespace disconnect;ack 1 ECLOSED -;ack 1 ECLOSED -;"
               "disc 1 server namespace disconnect;ack 2 ECLOSED -;"
               "disc 2 server namespace disconnect;");
    EXPECT(&k[0], "421[\"q\"]");
    EXPECT(&k[0], "422[\"q\"]");
    EXPECT(&k[0], "423[\"q\"]");
    EXPECT(&k[0], "41");
    EXPECT(&k[1], "421[\"q\"]");
    EXPECT(&k[1], "422[\"q\"]");
    EXPECT(&k[1], "41");
    EXPECT(&k[2], "421[\"q\"]");
    EXPECT(&k[2], "41");
    /* Now an answer arrives and its callback closes whole connections. */
    t.flag = 1;
    for (int i = 0; i < 3; i++) cl_join(&k[i], "/", NULL);
    sio_emit_ack(t.socks[3], 0, ack_disconnect, &t, "q", NULL);
    sio_emit_ack(t.socks[4], 0, ack_log, &t, "q", NULL);
    EXPECT(&k[0], "421[\"q\"]");
    cl_send(&k[0], "431[]");
    for (int i = 0; i < 3; i++) assert_true(cl_wait_closed(&k[i]));
    WAIT_LOG(&t, "disc 5");
    LOG_IS(&t, "ack 3 ok [];disc 3 server namespace disconnect;ack 4 ECLOSED -;"
               "disc 4 server namespace disconnect;disc 5 server namespace disconnect;");
    for (int i = 0; i < 3; i++) cl_close(&k[i]);
    finish(&t);
}

/* ------------------------------------------------------------------------------------ */
/* 6. broadcast with acks                                                               */
/* ------------------------------------------------------------------------------------ */

static void bc_ack_log(int err, json_t *answers, void *ud)
{
    env *t = ud;
    char *a = dump_args(answers);
    note(t, "bc %s %s", err ? sio_err_name(err) : "ok", a);
    free(a);
}

static void test_broadcast_emit_ack(void **state)
{
    env t = {.so.io.connect_timeout_ms = 200};
    start(&t);
    cl k[3];
    for (int i = 0; i < 3; i++) cl_connect(&t, &k[i]);

    /* Everyone answers: the first value of each answer, in arrival order. */
    assert_int_equal(
        sio_broadcast_emit_ack(sio_broadcast_nsp(t.nsp), bc_ack_log, &t, "poll", "i", 1), 0);
    for (int i = 0; i < 3; i++) EXPECT(&k[i], "421[\"poll\",1]");
    cl_send(&k[2], "431[\"c\",\"ignored\"]");
    cl_send(&k[0], "431[{\"a\":1}]");
    EXPECT_NOTHING(&k[1], 30);
    assert_string_equal(t.log, "");
    cl_send(&k[1], "431[]");
    WAIT_LOG(&t, "bc ");
    LOG_IS(&t, "bc ok [\"c\",{\"a\":1},null];");

    /* One does not answer: the timeout reports what came, once; late answers change
     * nothing. */
    sio_broadcast_emit_ack(sio_timeout(sio_broadcast_nsp(t.nsp), 300), bc_ack_log, &t, "poll",
                           NULL);
    for (int i = 0; i < 3; i++) EXPECT(&k[i], "422[\"poll\"]");
    cl_send(&k[0], "432[1]");
    cl_send(&k[1], "432[2]");
    WAIT_LOG(&t, "bc ");
    LOG_IS(&t, "bc ETIMEDOUT [1,2];");
    cl_send(&k[2], "432[3]");
    run_for(&t, 100);
    assert_string_equal(t.log, "");

    /* Nobody to ask: answered at once, with nothing. */
    assert_int_equal(sio_broadcast_emit_ack(sio_to(sio_broadcast_nsp(t.nsp), "empty"), bc_ack_log,
                                            &t, "poll", NULL),
                     0);
    LOG_IS(&t, "bc ok [];");

    /* Misuse: refused, the operator freed. */
    assert_int_equal(sio_broadcast_emit_ack(sio_broadcast_nsp(t.nsp), NULL, &t, "poll", NULL),
                     SIO_EINVAL);
    assert_int_equal(
        sio_broadcast_emit_ack(sio_broadcast_nsp(t.nsp), bc_ack_log, &t, "connect", NULL),
        SIO_EINVAL);
    assert_int_equal(sio_broadcast_emit_ack(sio_broadcast_nsp(t.nsp), bc_ack_log, &t, "e", "{"),
                     SIO_EINVAL);
    assert_int_equal(sio_broadcast_emit_ack(NULL, bc_ack_log, &t, "e", NULL), SIO_ENOMEM);

    /* One recipient leaves before answering: the others' answers complete it. */
    sio_broadcast_emit_ack(sio_timeout(sio_broadcast_of(t.socks[0]), 5000), bc_ack_log, &t, "poll",
                           NULL);
    EXPECT(&k[1], "423[\"poll\"]");
    EXPECT(&k[2], "423[\"poll\"]");
    cl_send(&k[1], "433[\"b\"]");
    cl_close(&k[2]);
    WAIT_LOG(&t, "bc ");
    LOG_IS(&t, "bc ok [\"b\"];disc 2 transport close;");

    /* Still waiting when the server is freed: the callback comes once. */
    sio_broadcast_emit_ack(sio_broadcast_nsp(t.nsp), bc_ack_log, &t, "poll", NULL);
    sio_broadcast_emit_ack(sio_timeout(sio_broadcast_nsp(t.nsp), 3000), bc_ack_log, &t, "poll",
                           NULL);
    EXPECT(&k[0], "423[\"poll\"]");
    EXPECT(&k[0], "424[\"poll\"]");
    cl_send(&k[0], "433[\"a\"]");
    cl_send(&k[0], "434[\"a\"]");
    run_for(&t, 20);
    assert_string_equal(t.log, "");
    finish(&t);
    assert_string_equal(t.log, "disc 0 server shutting down;bc ok [\"a\"];bc ok [\"a\"];"
                               "disc 1 server shutting down;");
    cl_close(&k[0]);
    cl_close(&k[1]);
}

/* ------------------------------------------------------------------------------------ */
/* 7. rooms and broadcast selections                                                    */
/* ------------------------------------------------------------------------------------ */

static int count_room(const char *room, void *ud)
{
    (void)room;
    return ++*(int *)ud == 1000; /* stop at 1000 */
}

static int first_room(const char *room, void *ud)
{
    snprintf(ud, 64, "%s", room);
    return 1;
}

static int leave_listed(const char *room, void *ud)
{
    env *t = ud;
    sio_socket *s = t->socks[31];
    if (strcmp(room, sio_socket_id(s))) {
        char next[32];
        snprintf(next, sizeof(next), "r%d", atoi(room + 1) + 2);
        sio_leave(s, room);
        sio_leave(s, next);
    }
    return 0;
}

static int fetch_count(sio_socket *s, void *ud)
{
    (void)s;
    ++*(int *)ud;
    return 0;
}

static int room_size(env *t, const char *room)
{
    int n = 0;
    assert_int_equal(sio_broadcast_fetch(sio_to(sio_broadcast_nsp(t->nsp), room), fetch_count, &n),
                     0);
    return n;
}

static void test_rooms(void **state)
{
    env t = {0};
    start(&t);
    cl k1, k2;
    cl_connect(&t, &k1);
    cl_connect(&t, &k2);
    sio_socket *a = t.socks[0], *b = t.socks[1];
    char name[32], first[64];

    /* Its own room, first. */
    assert_true(sio_socket_in(a, sio_socket_id(a)));
    assert_string_equal(sio_socket_id(a), k1.id);
    sio_socket_rooms(a, first_room, first);
    assert_string_equal(first, sio_socket_id(a));
    assert_int_equal(room_size(&t, sio_socket_id(a)), 1);

    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        assert_int_equal(sio_join(a, name), 0);
        if (i % 3 == 0) assert_int_equal(sio_join(b, name), 0);
    }
    assert_int_equal(sio_join(a, "r7"), 0); /* already in: nothing changes */
    assert_int_equal(sio_join(a, NULL), SIO_EINVAL);
    assert_int_equal(sio_join(NULL, "x"), SIO_EINVAL);
    int n = 0;
    sio_socket_rooms(a, count_room, &n);
    assert_int_equal(n, 301);
    for (int i = 0; i < 300; i += 2) {
        snprintf(name, sizeof(name), "r%d", i);
        sio_leave(a, name);
    }
    sio_leave(a, "not-joined");
    sio_leave(a, NULL);
    n = 0;
    sio_socket_rooms(a, count_room, &n);
    assert_int_equal(n, 151);
    assert_false(sio_socket_in(a, "r0"));
    assert_true(sio_socket_in(a, "r1"));
    assert_true(sio_socket_in(b, "r0"));
    assert_int_equal(room_size(&t, "r0"), 1);
    assert_int_equal(room_size(&t, "r3"), 2);
    assert_int_equal(room_size(&t, "r1"), 1);

    /* A listing whose callback leaves the room it is given (and one more). */
    t.socks[31] = a;
    sio_socket_rooms(a, leave_listed, &t);
    n = 0;
    sio_socket_rooms(a, count_room, &n);
    assert_int_equal(n, 1);
    assert_true(sio_socket_in(a, sio_socket_id(a)));
    assert_int_equal(room_size(&t, "r3"), 1);

    /* A private message through the receiver's own room. */
    sio_broadcast_emit(sio_to(sio_broadcast_of(a), sio_socket_id(b)), "pm", "s", "hi");
    EXPECT(&k2, "42[\"pm\",\"hi\"]");
    EXPECT_NOTHING(&k1, 20);

    /* Left on disconnect: every room, emptied rooms removed. */
    cl_close(&k2);
    WAIT_LOG(&t, "disc 1");
    assert_int_equal(room_size(&t, "r0"), 0);
    assert_int_equal(room_size(&t, "r3"), 0);
    assert_int_equal(room_size(&t, k2.id), 0);
    assert_int_equal(room_size(&t, k1.id), 1);
    assert_int_equal(sio_namespace_count(t.nsp), 1);
    /* And a socket can leave its own room (as in Node). */
    sio_leave(a, sio_socket_id(a));
    assert_false(sio_socket_in(a, sio_socket_id(a)));
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(t.nsp), sio_socket_id(a)), "pm", NULL);
    EXPECT_NOTHING(&k1, 20);
    cl_close(&k1);
    finish(&t);
}

/* Which clients got "x" before "end": a string of their letters, "-" for none. */
static void who_got(env *t, cl *k, int n, char *out)
{
    sio_broadcast_emit(sio_broadcast_nsp(t->nsp), "end", NULL);
    int m = 0;
    for (int i = 0; i < n; i++) {
        int got = 0;
        for (;;) {
            char *d = cl_text(&k[i]);
            int end = !strcmp(d, "42[\"end\"]");
            if (!end && !strncmp(d, "42[\"x\"", 6))
                got++;
            else if (!end)
                print_error("client %d: %s\n", i, d);
            assert_true(end || !strncmp(d, "42[\"x\"", 6));
            free(d);
            if (end) break;
        }
        assert_true(got <= 1); /* nobody gets it twice */
        if (got) out[m++] = (char)('A' + i);
    }
    if (!m) out[m++] = '-';
    out[m] = 0;
}

#define SEL(b, want)                                                                               \
    do {                                                                                           \
        char got_[8];                                                                              \
        assert_int_equal(sio_broadcast_emit((b), "x", "i", __LINE__), 0);                          \
        who_got(&t, k, 4, got_);                                                                   \
        assert_string_equal(got_, (want));                                                         \
    } while (0)

static void test_broadcast_selections(void **state)
{
    env t = {0};
    start(&t);
    cl k[4];
    for (int i = 0; i < 4; i++) cl_connect(&t, &k[i]);
    sio_socket *A = t.socks[0], *B = t.socks[1], *C = t.socks[2];
    sio_join(A, "r1");
    sio_join(B, "r1");
    sio_join(B, "r2");
    sio_join(C, "r2");
    sio_namespace *nsp = t.nsp;

    SEL(sio_broadcast_nsp(nsp), "ABCD");
    SEL(sio_to(sio_broadcast_nsp(nsp), "r1"), "AB");
    SEL(sio_to(sio_to(sio_broadcast_nsp(nsp), "r1"), "r2"), "ABC");
    SEL(sio_to(sio_to(sio_to(sio_broadcast_nsp(nsp), "r1"), "r2"), "r1"), "ABC");
    SEL(sio_except(sio_to(sio_broadcast_nsp(nsp), "r1"), "r2"), "A");
    SEL(sio_except(sio_broadcast_nsp(nsp), "r1"), "CD");
    SEL(sio_except(sio_except(sio_broadcast_nsp(nsp), "r1"), "r2"), "D");
    SEL(sio_broadcast_of(A), "BCD");
    SEL(sio_to(sio_broadcast_of(A), "r1"), "B");
    SEL(sio_to(sio_to(sio_broadcast_of(B), "r1"), "r2"), "AC");
    SEL(sio_local(sio_broadcast_of(A)), "BCD");
    SEL(sio_volatile(sio_to(sio_broadcast_nsp(nsp), "r2")), "BC");
    SEL(sio_compress(sio_broadcast_nsp(nsp), 0), "ABCD");
    SEL(sio_to(sio_broadcast_nsp(nsp), "nobody"), "-");
    SEL(sio_to(sio_broadcast_nsp(nsp), sio_socket_id(C)), "C");
    SEL(sio_to(sio_broadcast_of(C), sio_socket_id(C)), "-");
    SEL(sio_except(sio_broadcast_nsp(nsp), sio_socket_id(A)), "BCD");
    SEL(sio_timeout(sio_to(sio_broadcast_nsp(nsp), "r1"), 10), "AB");

    /* Builders on NULL stay NULL; terminal calls on NULL fail; misuse frees the operator. */
    assert_null(sio_to(sio_except(sio_local(sio_broadcast_nsp(NULL)), "a"), "b"));
    assert_null(sio_broadcast_of(NULL));
    assert_int_equal(sio_broadcast_emit(NULL, "x", NULL), SIO_ENOMEM);
    assert_int_equal(sio_broadcast_emit(sio_broadcast_nsp(nsp), "disconnect", NULL), SIO_EINVAL);
    assert_int_equal(sio_broadcast_emit(sio_broadcast_nsp(nsp), "x", "{s"), SIO_EINVAL);
    assert_int_equal(sio_broadcast_emit_array(sio_broadcast_nsp(nsp), "x", NULL), SIO_EINVAL);
    assert_int_equal(sio_broadcast_fetch(sio_broadcast_nsp(nsp), NULL, NULL), SIO_EINVAL);
    assert_int_equal(sio_broadcast_join(sio_broadcast_nsp(nsp), NULL), SIO_EINVAL);
    assert_int_equal(sio_broadcast_leave(sio_broadcast_nsp(nsp), NULL), SIO_EINVAL);
    sio_broadcast_free(sio_to(sio_broadcast_nsp(nsp), "unused"));
    sio_broadcast_free(NULL);
    json_t *args = json_pack("[s]", "arr");
    assert_int_equal(sio_broadcast_emit_array(sio_to(sio_broadcast_nsp(nsp), "r2"), "x", args), 0);
    json_decref(args);
    char got[8];
    who_got(&t, k, 4, got);
    assert_string_equal(got, "BC");
    for (int i = 0; i < 4; i++) cl_close(&k[i]);
    finish(&t);
}

/* fetchSockets, socketsJoin, socketsLeave, disconnectSockets. */
static int fetch_stop(sio_socket *s, void *ud)
{
    (void)s;
    return ++*(int *)ud == 2;
}

static int fetch_disconnect(sio_socket *s, void *ud)
{
    env *t = ud;
    note(t, "fetched %d", idx_of(s));
    sio_disconnect(s, 0);
    return 0;
}

static int fetch_disconnect_others(sio_socket *s, void *ud)
{
    env *t = ud;
    note(t, "fetched %d", idx_of(s));
    for (int i = t->nsocks - 1; i >= 0; i--)
        if (t->socks[i] && t->socks[i] != s && !sio_socket_in(t->socks[i], "r1"))
            sio_disconnect(t->socks[i], 0);
    return 0;
}

/* While being disconnected, tell the rest of the room (a nested selection). */
static void disc_tell_room(sio_socket *s, const char *reason, void *ud)
{
    if (sio_socket_in(s, "r2"))
        sio_broadcast_emit(sio_to(sio_broadcast_of(s), "r2"), "left", "i", idx_of(s));
    (void)ud;
}

static void conn_tell(env *t, sio_socket *s)
{
    sio_on_disconnecting(s, disc_tell_room, t);
}

static void test_broadcast_operators(void **state)
{
    env t = {.on_conn = conn_tell};
    start(&t);
    cl k[4];
    for (int i = 0; i < 4; i++) cl_connect(&t, &k[i]);
    sio_namespace *nsp = t.nsp;
    sio_join(t.socks[0], "r1");
    sio_join(t.socks[1], "r1");

    int n = 0;
    assert_int_equal(sio_broadcast_fetch(sio_broadcast_nsp(nsp), fetch_stop, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(room_size(&t, "r1"), 2);
    assert_int_equal(sio_broadcast_join(sio_except(sio_broadcast_nsp(nsp), "r1"), "r2"), 0);
    assert_int_equal(room_size(&t, "r2"), 2);
    assert_true(sio_socket_in(t.socks[2], "r2") && sio_socket_in(t.socks[3], "r2"));
    assert_int_equal(sio_broadcast_join(sio_to(sio_broadcast_nsp(nsp), "r2"), "r1"), 0);
    assert_int_equal(room_size(&t, "r1"), 4);
    assert_int_equal(sio_broadcast_leave(sio_to(sio_broadcast_of(t.socks[0]), "r1"), "r1"), 0);
    assert_int_equal(room_size(&t, "r1"), 1);
    assert_true(sio_socket_in(t.socks[0], "r1"));

    /* disconnectSockets on a room: its members leave, each telling the others in r2 while
     * the walk goes on. */
    assert_int_equal(sio_broadcast_disconnect(sio_to(sio_broadcast_nsp(nsp), "r2"), 0), 0);
    EXPECT(&k[2], "41");
    EXPECT(&k[3], "42[\"left\",2]");
    EXPECT(&k[3], "41");
    EXPECT_NOTHING(&k[0], 20);
    assert_int_equal(sio_namespace_count(nsp), 2);
    LOG_IS(&t, "disc 2 server namespace disconnect;disc 3 server namespace disconnect;");

    /* A fetch callback that disconnects the other selected sockets, not yet visited. */
    for (int i = 2; i < 4; i++) cl_join(&k[i], "/", NULL);
    assert_int_equal(sio_namespace_count(nsp), 4);
    t.log[0] = 0;
    assert_int_equal(
        sio_broadcast_fetch(sio_except(sio_broadcast_nsp(nsp), "r1"), fetch_disconnect_others, &t),
        0);
    LOG_IS(&t, "fetched 1;disc 5 server namespace disconnect;disc 4 server namespace disconnect;");
    EXPECT(&k[2], "41");
    EXPECT(&k[3], "41");

    /* Walking everyone and disconnecting each from the fetch callback. */
    assert_int_equal(sio_broadcast_fetch(sio_broadcast_nsp(nsp), fetch_disconnect, &t), 0);
    LOG_IS(&t, "fetched 0;disc 0 server namespace disconnect;fetched 1;"
               "disc 1 server namespace disconnect;");
    assert_int_equal(sio_namespace_count(nsp), 0);
    EXPECT(&k[0], "41");
    EXPECT(&k[1], "41");

    /* disconnectSockets(true) ends the connections. */
    cl_join(&k[0], "/", NULL);
    cl_join(&k[1], "/", NULL);
    assert_int_equal(sio_broadcast_disconnect(sio_broadcast_nsp(nsp), 1), 0);
    EXPECT(&k[0], "41");
    EXPECT(&k[1], "41");
    assert_true(cl_wait_closed(&k[0]));
    assert_true(cl_wait_closed(&k[1]));
    for (int i = 0; i < 4; i++) cl_close(&k[i]);
    finish(&t);
}

/* A handler broadcasts to its room, leaves it, broadcasts again, disconnects itself and
 * broadcasts once more. */
static void h_go(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    t->ret[0] = sio_broadcast_emit(sio_to(sio_broadcast_of(s), "r"), "x", "s", "before");
    sio_leave(s, "r");
    t->ret[1] = sio_broadcast_emit(sio_to(sio_broadcast_nsp(sio_socket_namespace(s)), "r"), "x",
                                   "s", "left");
    sio_disconnect(s, 0);
    t->ret[2] = sio_broadcast_emit(sio_to(sio_broadcast_of(s), "r"), "x", "s", "gone");
    t->ret[3] = sio_broadcast_emit(sio_broadcast_nsp(sio_socket_namespace(s)), "x", "s", "all");
}

static void conn_go(env *t, sio_socket *s)
{
    sio_join(s, "r");
    sio_on(s, "go", h_go, t);
}

static void test_broadcast_from_leaving_socket(void **state)
{
    env t = {.on_conn = conn_go};
    start(&t);
    cl k[3];
    for (int i = 0; i < 3; i++) cl_connect(&t, &k[i]);
    cl_send(&k[0], "42[\"go\"]");
    EXPECT(&k[0], "41");
    for (int i = 1; i < 3; i++) {
        EXPECT(&k[i], "42[\"x\",\"before\"]");
        EXPECT(&k[i], "42[\"x\",\"left\"]");
        EXPECT(&k[i], "42[\"x\",\"gone\"]");
        EXPECT(&k[i], "42[\"x\",\"all\"]");
    }
    EXPECT_NOTHING(&k[0], 20);
    for (int i = 0; i < 4; i++) assert_int_equal(t.ret[i], 0);
    assert_int_equal(room_size(&t, "r"), 2);
    for (int i = 0; i < 3; i++) cl_close(&k[i]);
    finish(&t);
}

/* ------------------------------------------------------------------------------------ */
/* 8. shutdown and free                                                                 */
/* ------------------------------------------------------------------------------------ */

static void on_closed(sio_server *io, void *ud)
{
    env *t = ud;
    t->closed_cb++;
    note(t, "closed");
}

/* The first socket's disconnect handler disconnects everyone else in "/", closing their
 * connections while the shutdown walks the clients. */
static void disc_everyone(sio_socket *s, const char *reason, void *ud)
{
    env *t = ud;
    t->ret[0] = sio_emit(s, "late", NULL);
    t->ret[1] = sio_broadcast_disconnect(sio_broadcast_nsp(t->nsp), 1);
}

static void conn_shutdown(env *t, sio_socket *s)
{
    if (idx_of(s) == 0) sio_on_disconnect(s, disc_everyone, t);
}

static void test_shutdown(void **state)
{
    env t = {.on_conn = conn_shutdown};
    start(&t);
    sio_on_connection(sio_of(t.io, "/a"), rec_connection, &t);
    cl k1, k2, get;
    cl_ws(&t, &k1, NULL);
    cl_join(&k1, "/", NULL);  /* 0 */
    cl_join(&k1, "/a", NULL); /* 1 */
    cl_connect(&t, &k2);      /* 2 */
    /* A polling client (3) with its GET parked. */
    char body[512], sid[32];
    assert_int_equal(poll_req(&t, "GET", NULL, NULL, body, sizeof(body)), 200);
    assert_int_equal(json_field(body, "sid", sid, sizeof(sid)), 0);
    assert_int_equal(poll_req(&t, "POST", sid, "40", body, sizeof(body)), 200);
    assert_int_equal(poll_req(&t, "GET", sid, NULL, body, sizeof(body)), 200);
    assert_true(!strncmp(body, "40{\"sid\":\"", 10));
    assert_int_equal(cl_tcp(&t, &get), 0);
    char req[256];
    int n = snprintf(req, sizeof(req),
                     "GET /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\n\r\n",
                     sid);
    cl_write(&get, req, (size_t)n);
    run_for(&t, 20);
    assert_int_equal(t.nsocks, 4);

    sio_emit_ack(t.socks[0], 5000, ack_log, &t, "q", NULL);
    sio_emit_ack(t.socks[2], 0, ack_log, &t, "q", NULL);
    assert_int_equal(sio_server_shutdown(t.io, on_closed, &t), 0);
    assert_int_equal(sio_server_shutdown(t.io, on_closed, &t), SIO_ESTATE);
    assert_int_equal(sio_listen(t.io, "127.0.0.1", 0), SIO_ESTATE);
    LOG_IS(&t, "ack 0 ECLOSED -;disc 0 server shutting down;"
               "ack 2 ECLOSED -;disc 2 server namespace disconnect;"
               "disc 3 server namespace disconnect;disc 1 server shutting down;");
    assert_int_equal(t.ret[0], SIO_ECLOSED);
    assert_int_equal(t.ret[1], 0);
    assert_true(cl_wait_closed(&k1));
    assert_true(cl_wait_closed(&k2));
    /* The parked GET: the disconnect packet that was queued, and the close packet. */
    assert_int_equal(cl_http_resp(&get, body, sizeof(body)), 200);
    assert_string_equal(body, "41\x1e"
                              "1");
    cl_close(&k1);
    cl_close(&k2);
    cl_close(&get);
    WAIT_FOR(&t, t.closed_cb == 1);
    LOG_IS(&t, "closed;");
    finish(&t);
    assert_int_equal(t.closed_cb, 1);
}

/* A handler starts the shutdown: its own socket leaves under it, the others too. */
static void h_stop(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    t->ret[0] = sio_server_shutdown(sio_socket_server(s), on_closed, t);
    t->ret[1] = sio_socket_connected(s);
    t->ret[2] = sio_ack(ev, NULL);
    t->ret[3] = sio_emit(s, "x", NULL);
}

static void conn_stop(env *t, sio_socket *s)
{
    sio_on(s, "stop", h_stop, t);
    sio_on(s, "stop", ha, t); /* not reached */
}

static void test_shutdown_from_handler(void **state)
{
    env t = {.on_conn = conn_stop};
    start(&t);
    cl k1, k2;
    cl_connect(&t, &k1);
    cl_connect(&t, &k2);
    cl_send(&k2, "421[\"stop\"]");
    assert_true(cl_wait_closed(&k1));
    assert_true(cl_wait_closed(&k2));
    cl_close(&k1);
    cl_close(&k2);
    WAIT_FOR(&t, t.closed_cb == 1);
    LOG_IS(&t, "disc 0 server shutting down;disc 1 server shutting down;closed;");
    assert_int_equal(t.ret[0], 0);
    assert_int_equal(t.ret[1], 0);
    assert_int_equal(t.ret[2], SIO_ECLOSED);
    assert_int_equal(t.ret[3], SIO_ECLOSED);
    finish(&t);
}

/* sio_server_free() straight away, with sockets in several namespaces, acks waiting with and
 * without deadlines, a broadcast ack, a pending middleware and a kept event. */
static void test_free_with_pending(void **state)
{
    env t = {.on_conn = conn_keep};
    start(&t);
    sio_namespace *b = sio_of(t.io, "/b"), *m = sio_of(t.io, "/m");
    sio_on_connection(b, rec_connection, &t);
    sio_use(m, mw_later, &t);
    cl k1, k2;
    cl_ws(&t, &k1, NULL);
    cl_join(&k1, "/", NULL);
    cl_join(&k1, "/b", NULL);
    cl_connect(&t, &k2);
    cl_send(&k2, "40/m,");
    cl_send(&k2, "421[\"later\"]");
    WAIT_LOG(&t, "keep 2 later");
    assert_int_equal(t.n, 2); /* one next, one kept event */
    sio_emit_ack(t.socks[0], 100, ack_log, &t, "q", NULL);
    sio_emit_ack(t.socks[1], 0, ack_log, &t, "q", NULL);
    sio_emit_ack(t.socks[2], 20, ack_log, &t, "q", NULL);
    sio_broadcast_emit_ack(sio_timeout(sio_broadcast_nsp(t.nsp), 50), bc_ack_log, &t, "p", NULL);
    t.log[0] = 0;
    sio_event *ev = t.kept[1];
    sio_next *next = t.next[0];
    finish(&t);
    /* The broadcast ack is complete when its last recipient (2) is gone. */
    assert_string_equal(t.log, "ack 0 ECLOSED -;disc 0 server shutting down;"
                               "ack 1 ECLOSED -;disc 1 server shutting down;"
                               "ack 2 ECLOSED -;bc ok [];disc 2 server shutting down;");
    assert_int_equal(sio_ack(ev, NULL), SIO_ECLOSED);
    sio_event_release(ev);
    sio_next_ok(next);
    cl_close(&k1);
    cl_close(&k2);
}

/* ------------------------------------------------------------------------------------ */
/* 9. connection state recovery                                                         */
/* ------------------------------------------------------------------------------------ */

/* The offset at the end of an event: 42[...,"<offset>"]. */
static void take_offset(cl *k, const char *msg)
{
    const char *e = strrchr(msg, '"'), *b = e;
    while (b > msg && b[-1] != '"') b--;
    assert_true(e && b > msg && e > b && (size_t)(e - b) < sizeof(k->offset));
    memcpy(k->offset, b, (size_t)(e - b));
    k->offset[e - b] = 0;
}

/* Expect "42[<args>,\"<offset>\"]" and keep the offset. */
#define EXPECT_KEPT(k, args)                                                                       \
    do {                                                                                           \
        char *got_ = cl_text(k);                                                                   \
        const char *want_ = "42[" args ",\"";                                                      \
        if (strncmp(got_, want_, strlen(want_))) print_error("line %d: %s\n", __LINE__, got_);     \
        assert_true(!strncmp(got_, want_, strlen(want_)));                                         \
        take_offset((k), got_);                                                                    \
        free(got_);                                                                                \
    } while (0)

static void mw_log(sio_socket *s, sio_next *next, void *ud)
{
    note(ud, "mw");
    sio_next_ok(next);
}

static void conn_recover(env *t, sio_socket *s)
{
    note(t, "conn %d recovered=%d in-r=%d n=%lld", idx_of(s), sio_socket_recovered(s),
         sio_socket_in(s, "r"),
         (long long)json_integer_value(json_object_get(sio_socket_data(s), "n")));
    if (!sio_socket_recovered(s)) {
        sio_join(s, "r");
        json_object_set_new(sio_socket_data(s), "n", json_integer(idx_of(s) + 10));
    }
}

static void test_recovery(void **state)
{
    env t = {.on_conn = conn_recover, .so.io.recovery_max_disconnection_ms = 600};
    start(&t);
    sio_use(t.nsp, mw_log, &t);
    cl a, b;
    cl_connect(&t, &a);
    cl_connect(&t, &b);
    assert_int_equal(strlen(a.pid), 20);
    char id[64], pid[64], offset[64];
    strcpy(id, a.id);
    strcpy(pid, a.pid);
    LOG_IS(&t, "mw;conn 0 recovered=0 in-r=0 n=0;mw;conn 1 recovered=0 in-r=0 n=0;");
    sio_leave(t.socks[1], "r");

    /* Every event without an ack carries an offset; acks do not. */
    sio_emit(t.socks[0], "hello", "i", 1);
    EXPECT_KEPT(&a, "\"hello\",1");
    sio_emit_ack(t.socks[0], 0, ack_log, &t, "q", NULL);
    EXPECT(&a, "421[\"q\"]");
    sio_broadcast_emit(sio_broadcast_nsp(t.nsp), "all", "i", 0);
    EXPECT_KEPT(&a, "\"all\",0");

    /* The transport drops; what is sent meanwhile is kept. */
    strcpy(offset, a.offset);
    cl_close(&a);
    WAIT_LOG(&t, "disc 0");
    LOG_IS(&t, "ack 0 ECLOSED -;disc 0 transport close;");
    sio_broadcast_emit(sio_broadcast_nsp(t.nsp), "m", "i", 1);
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(t.nsp), "r"), "m", "i", 2);
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(t.nsp), "x"), "m", "i", 3);
    sio_broadcast_emit(sio_except(sio_broadcast_nsp(t.nsp), "r"), "m", "i", 4);
    run_for(&t, 10); /* b's queue drained: a volatile packet reaches it */
    sio_broadcast_emit(sio_volatile(sio_broadcast_nsp(t.nsp)), "m", "i", 5);
    sio_emit(t.socks[1], "m", "i", 6);
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(t.nsp), id), "m", "i", 7);

    /* Back with its pid and offset: the same id, rooms and data, the missed packets before
     * the CONNECT reply, and no middleware. */
    cl_ws(&t, &a, NULL);
    char auth[256];
    snprintf(auth, sizeof(auth), "40{\"pid\":\"%s\",\"offset\":\"%s\"}", pid, offset);
    cl_send(&a, auth);
    EXPECT_KEPT(&a, "\"m\",1");
    EXPECT_KEPT(&a, "\"m\",2");
    EXPECT_KEPT(&a, "\"m\",7");
    char want[256];
    snprintf(want, sizeof(want), "40{\"sid\":\"%s\",\"pid\":\"%s\"}", id, pid);
    EXPECT(&a, want);
    LOG_IS(&t, "conn 2 recovered=1 in-r=1 n=10;");
    assert_true(sio_socket_recovered(t.socks[2]));
    assert_string_equal(sio_socket_id(t.socks[2]), id);
    /* Rooms are back: a broadcast to r reaches it. */
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(t.nsp), "r"), "r", NULL);
    EXPECT_KEPT(&a, "\"r\"");
    /* The other client got what was meant for it. */
    EXPECT_KEPT(&b, "\"all\",0");
    EXPECT_KEPT(&b, "\"m\",1");
    EXPECT_KEPT(&b, "\"m\",4");
    EXPECT(&b, "42[\"m\",5]"); /* volatile: not kept, no offset */
    EXPECT_KEPT(&b, "\"m\",6");
    EXPECT_NOTHING(&b, 20);

    /* Leaving on purpose keeps nothing: the same pid is not recovered. */
    strcpy(offset, a.offset);
    cl_send(&a, "41");
    WAIT_LOG(&t, "disc 2 client namespace disconnect");
    t.log[0] = 0;
    snprintf(auth, sizeof(auth), "{\"pid\":\"%s\",\"offset\":\"%s\"}", pid, offset);
    cl_join(&a, "/", auth);
    LOG_IS(&t, "mw;conn 3 recovered=0 in-r=0 n=0;");
    assert_string_not_equal(a.id, id);
    assert_string_not_equal(a.pid, pid);

    /* Dropped, but back too late: a new session. */
    strcpy(id, a.id);
    strcpy(pid, a.pid);
    sio_emit(t.socks[3], "hello", NULL);
    EXPECT_KEPT(&a, "\"hello\"");
    strcpy(offset, a.offset);
    cl_close(&a);
    WAIT_LOG(&t, "disc 3 transport close");
    run_for(&t, 650);
    sio_broadcast_emit(sio_broadcast_nsp(t.nsp), "m", "i", 8);
    EXPECT_KEPT(&b, "\"m\",8");
    t.log[0] = 0;
    cl_ws(&t, &a, NULL);
    snprintf(auth, sizeof(auth), "{\"pid\":\"%s\",\"offset\":\"%s\"}", pid, offset);
    cl_join(&a, "/", auth);
    LOG_IS(&t, "mw;conn 4 recovered=0 in-r=0 n=0;");
    assert_string_not_equal(a.id, id);
    /* An unknown offset: not recovered either. */
    cl_close(&b);
    cl_ws(&t, &b, NULL);
    snprintf(auth, sizeof(auth), "{\"pid\":\"%s\",\"offset\":\"nope\"}", a.pid);
    cl_close(&a);
    WAIT_LOG(&t, "disc 4 transport close");
    cl_join(&b, "/", auth);
    assert_true(strstr(t.log, "conn 5 recovered=0 in-r=0 n=0") != NULL);
    cl_close(&b);
    finish(&t);
}

/* The outbound bound (io.max_buffered_bytes 8192) with recovery on. Emits made outside the
 * loop queue without being written: a's queue fills. A packet with an attachment that does
 * not fit is refused whole, later ones fail too, a broadcast skips a, and a's connection
 * ends at the end of the turn with "transport error", having received only whole packets.
 * Recovered, a gets everything it missed (more than the bound: the replay is not held to
 * it) and then its CONNECT reply. */
static void test_outbound_bound(void **state)
{
    env t = {.on_conn = conn_recover,
             .so.io.recovery_max_disconnection_ms = 1000,
             .so.io.max_buffered_bytes = 8192};
    start(&t);
    cl a, b;
    cl_connect(&t, &a);
    cl_connect(&t, &b);
    char pid[64], offset[64], big[3001], prefix[64];
    memset(big, 'x', 3000);
    big[3000] = 0;
    strcpy(pid, a.pid);
    sio_emit(t.socks[0], "hello", NULL);
    EXPECT_KEPT(&a, "\"hello\"");
    strcpy(offset, a.offset);
    t.log[0] = 0;

    assert_int_equal(sio_socket_buffered(t.socks[0]), 0);
    assert_int_equal(sio_emit(t.socks[0], "m", "s", big), 0);
    assert_int_equal(sio_emit(t.socks[0], "m", "s", big), 0);
    assert_true(sio_socket_buffered(t.socks[0]) > 6000);
    assert_true(sio_socket_buffered(t.socks[0]) < 6100);
    assert_int_equal(sio_emit(t.socks[0], "bin", "o", sio_binary(big, 3000)), SIO_ECLOSED);
    assert_int_equal(sio_emit(t.socks[0], "late", NULL), SIO_ECLOSED);
    assert_int_equal(sio_broadcast_emit(sio_broadcast_nsp(t.nsp), "all", "i", 1), 0);
    assert_true(sio_socket_connected(t.socks[0])); /* until the end of the turn */
    snprintf(prefix, sizeof(prefix), "42[\"m\",\"xxxxxxxx");
    EXPECT_PREFIX(&a, prefix);
    EXPECT_PREFIX(&a, prefix);
    char *d;
    assert_int_equal(cl_next(&a, WAIT_MS, &d, NULL), CL_CLOSED);
    WAIT_LOG(&t, "disc 0 transport error");
    EXPECT_KEPT(&b, "\"all\",1");
    cl_close(&a);

    cl_ws(&t, &a, NULL);
    char auth[256];
    snprintf(auth, sizeof(auth), "40{\"pid\":\"%s\",\"offset\":\"%s\"}", pid, offset);
    cl_send(&a, auth);
    EXPECT_PREFIX(&a, prefix);
    EXPECT_PREFIX(&a, prefix);
    EXPECT_PREFIX(&a, "451-[\"bin\",{\"_placeholder\":true,\"num\":0},\"");
    size_t n;
    assert_int_equal(cl_next(&a, WAIT_MS, &d, &n), CL_BINARY);
    assert_true(n == 3000 && !memcmp(d, big, 3000));
    free(d);
    EXPECT_KEPT(&a, "\"late\"");
    EXPECT_KEPT(&a, "\"all\",1");
    EXPECT_PREFIX(&a, "40{\"sid\":");
    WAIT_LOG(&t, "conn 2 recovered=1");
    cl_close(&a);
    cl_close(&b);
    finish(&t);
}

/* ------------------------------------------------------------------------------------ */
/* 10. transports, handshake data, binary, outgoing, namespaces                         */
/* ------------------------------------------------------------------------------------ */

static void conn_handshake(env *t, sio_socket *s)
{
    char q[32];
    int small = sio_socket_query(s, "foo", q, 3);
    int qn = sio_socket_query(s, "foo", q, sizeof(q));
    const char *h = sio_socket_header(s, "x-test");
    char *auth = json_dumps(sio_socket_auth(s), JSON_COMPACT);
    /* Common names are kept as one byte: they are found in any case all the same. */
    const char *up = sio_socket_header(s, "UPGRADE"), *host = sio_socket_header(s, "Host");
    note(t,
         "conn %d %s q=%d:%s h=%s up=%s host=%d auth=%s addr=%s url=%d issued=%d secure=%d ud=%d",
         idx_of(s), sio_socket_transport(s) == SIO_TRANSPORT_POLLING ? "polling" : "websocket", qn,
         qn >= 0 ? q : "", h ? h : "-", up ? up : "-", host && !strcmp(host, "127.0.0.1"), auth,
         sio_socket_address(s), !strncmp(sio_socket_url(s), "/socket.io/?EIO=4", 17),
         sio_socket_issued(s) > 0, sio_socket_secure(s), sio_socket_ud(s) != NULL);
    free(auth);
    note(t, "small=%s none=%s", sio_err_name(small),
         sio_err_name(sio_socket_query(s, "none", q, sizeof(q))));
    sio_on_any(s, hany, t);
}

static void test_polling_and_handshake(void **state)
{
    env t = {.on_conn = conn_handshake, .so.io.connect_timeout_ms = 200};
    start(&t);
    cl k;
    cl_ws(&t, &k, "foo=bar%20baz");
    cl_join(&k, "/", "{\"token\":\"t\"}");
    LOG_IS(&t, "conn 0 websocket q=7:bar baz h=yes up=websocket host=1 auth={\"token\":\"t\"} "
               "addr=127.0.0.1 url=1 "
               "issued=1 secure=0 ud=1;small=ETOOBIG none=ENOTFOUND;");

    char body[512], sid[32];
    assert_int_equal(poll_req(&t, "GET", NULL, NULL, body, sizeof(body)), 200);
    assert_true(body[0] == '0');
    assert_int_equal(json_field(body, "sid", sid, sizeof(sid)), 0);
    assert_int_equal(poll_req(&t, "POST", sid, "40", body, sizeof(body)), 200);
    assert_string_equal(body, "ok");
    assert_int_equal(poll_req(&t, "GET", sid, NULL, body, sizeof(body)), 200);
    assert_true(!strncmp(body, "40{\"sid\":\"", 10));
    LOG_IS(
        &t,
        "conn 1 polling q=-32096: h=- up=- host=1 auth={} addr=127.0.0.1 url=1 issued=1 secure=0 "
        "ud=1;small=ENOTFOUND none=ENOTFOUND;");
    sio_socket *p = t.socks[1];

    /* Several packets in one POST. */
    assert_int_equal(poll_req(&t, "POST", sid,
                              "42[\"a\"]\x1e"
                              "42[\"b\",1]",
                              body, sizeof(body)),
                     200);
    WAIT_LOG(&t, "hany 1 b");
    LOG_IS(&t, "hany 1 a [];hany 1 b [1];");

    /* A broadcast reaches both transports; the polling one in its next GET, with an ack
     * request answered by POST. */
    sio_broadcast_emit(sio_broadcast_nsp(t.nsp), "x", "i", 1);
    sio_emit_ack(p, 1000, ack_log, &t, "q", "s", "p");
    EXPECT(&k, "42[\"x\",1]");
    assert_int_equal(poll_req(&t, "GET", sid, NULL, body, sizeof(body)), 200);
    assert_string_equal(body, "42[\"x\",1]\x1e"
                              "421[\"q\",\"p\"]");
    assert_int_equal(poll_req(&t, "POST", sid, "431[\"yes\"]", body, sizeof(body)), 200);
    WAIT_LOG(&t, "ack 1");
    LOG_IS(&t, "ack 1 ok [\"yes\"];");

    /* disconnect(true) on a polling client: the DISCONNECT and a close in the next GET. */
    sio_disconnect(p, 1);
    assert_int_equal(poll_req(&t, "GET", sid, NULL, body, sizeof(body)), 200);
    assert_string_equal(body, "41\x1e"
                              "1");
    LOG_IS(&t, "disc 1 server namespace disconnect;");
    cl_close(&k);
    finish(&t);
}

static void h_up(sio_socket *s, sio_event *ev, void *ud)
{
    env *t = ud;
    const void *d;
    size_t n;
    json_t *arg = json_array_get(sio_event_args(ev), 0);
    int r = sio_binary_data(json_object_get(arg, "f"), &d, &n);
    note(t, "up r=%d bin=%d n=%zu first=%d", r, sio_is_binary(json_object_get(arg, "f")), n,
         r == 0 && n ? ((const uint8_t *)d)[0] : -1);
    assert_int_equal(sio_binary_data(arg, &d, &n), SIO_EINVAL);
}

static void out_log(sio_socket *s, const char *event, const json_t *args, void *ud)
{
    char *a = dump_args((json_t *)args);
    note(ud, "out %d %s %s", idx_of(s), event, a);
    free(a);
}

static void out_other(sio_socket *s, const char *event, const json_t *args, void *ud)
{
    note(ud, "other %d %s", idx_of(s), event);
}

static void conn_binary(env *t, sio_socket *s)
{
    sio_on(s, "up", h_up, t);
    sio_on_any_outgoing(s, out_log, t);
    sio_on_any_outgoing(s, out_other, t);
    assert_int_equal(sio_on_any_outgoing(s, NULL, t), SIO_EINVAL);
}

static void test_binary_and_outgoing(void **state)
{
    env t = {.on_conn = conn_binary};
    start(&t);
    cl k1, k2;
    cl_connect(&t, &k1);
    cl_connect(&t, &k2);

    cl_send(&k1, "451-[\"up\",{\"f\":{\"_placeholder\":true,\"num\":0}}]");
    cl_send_binary(&k1, "\x07\x00\x01", 3);
    WAIT_LOG(&t, "up ");
    LOG_IS(&t, "up r=0 bin=1 n=3 first=7;");

    /* Binary nested in what the server sends, to one and to all. */
    assert_int_equal(sio_emit(t.socks[0], "down", "{so}", "file", sio_binary("abc", 3)), 0);
    EXPECT(&k1, "451-[\"down\",{\"file\":{\"_placeholder\":true,\"num\":0}}]");
    char *d;
    size_t n;
    assert_int_equal(cl_next(&k1, WAIT_MS, &d, &n), CL_BINARY);
    assert_true(n == 3 && !memcmp(d, "abc", 3));
    free(d);
    LOG_IS(&t, "out 0 down [{\"file\":\"<3 bytes>\"}];other 0 down;");
    sio_broadcast_emit(sio_broadcast_nsp(t.nsp), "bb", "oo", sio_binary("", 0),
                       sio_binary("\xff\xfe", 2));
    for (int i = 0; i < 2; i++) {
        cl *k = i ? &k2 : &k1;
        EXPECT(k, "452-[\"bb\",{\"_placeholder\":true,\"num\":0},"
                  "{\"_placeholder\":true,\"num\":1}]");
        assert_int_equal(cl_next(k, WAIT_MS, &d, &n), CL_BINARY);
        assert_int_equal(n, 0);
        free(d);
        assert_int_equal(cl_next(k, WAIT_MS, &d, &n), CL_BINARY);
        assert_true(n == 2 && !memcmp(d, "\xff\xfe", 2));
        free(d);
    }
    LOG_IS(&t, "out 0 bb [\"<0 bytes>\",\"<2 bytes>\"];other 0 bb;"
               "out 1 bb [\"<0 bytes>\",\"<2 bytes>\"];other 1 bb;");

    /* offAnyOutgoing: one listener, then all. */
    sio_off_any_outgoing(t.socks[0], out_log);
    sio_emit(t.socks[0], "e", NULL);
    EXPECT(&k1, "42[\"e\"]");
    LOG_IS(&t, "other 0 e;");
    sio_off_any_outgoing(t.socks[0], NULL);
    sio_emit(t.socks[0], "e", NULL);
    EXPECT(&k1, "42[\"e\"]");
    LOG_IS(&t, "");

    json_t *notarray = json_object();
    assert_int_equal(sio_emit_array(t.socks[0], "e", notarray), SIO_EINVAL);
    assert_int_equal(sio_emit_ack_array(t.socks[0], 0, ack_log, &t, "e", notarray), SIO_EINVAL);
    json_decref(notarray);
    assert_int_equal(sio_emit(NULL, "e", NULL), SIO_EINVAL);
    assert_int_equal(sio_emit(t.socks[0], NULL, NULL), SIO_EINVAL);
    cl_close(&k1);
    cl_close(&k2);
    finish(&t);
}

/* An outgoing listener that disconnects its socket (a limiter, say) while the socket is
 * being emitted to, from code that is not in a callback of it. */
static void out_disconnect(sio_socket *s, const char *event, const json_t *args, void *ud)
{
    note(ud, "out %d %s", idx_of(s), event);
    sio_disconnect(s, !strcmp(event, "close"));
}

static void conn_out_disconnect(env *t, sio_socket *s)
{
    sio_on_any_outgoing(s, out_disconnect, t);
}

static void test_outgoing_listener_disconnects(void **state)
{
    env t = {.on_conn = conn_out_disconnect, .so.io.connect_timeout_ms = 200};
    start(&t);
    cl k[4];
    for (int i = 0; i < 4; i++) cl_connect(&t, &k[i]);
    /* The socket is gone before the packet is sent: it is not sent, the call fails (and an
     * ack callback never comes). */
    assert_int_equal(sio_emit(t.socks[0], "one", NULL), SIO_ECLOSED);
    EXPECT(&k[0], "41");
    EXPECT_NOTHING(&k[0], 20);
    assert_int_equal(sio_emit_ack(t.socks[1], 30, ack_log, &t, "two", NULL), SIO_ECLOSED);
    EXPECT(&k[1], "41");
    EXPECT_NOTHING(&k[1], 150);
    LOG_IS(&t, "out 0 one;disc 0 server namespace disconnect;"
               "out 1 two;disc 1 server namespace disconnect;");
    /* A broadcast: every recipient leaves as it is reached. */
    assert_int_equal(sio_broadcast_emit(sio_broadcast_nsp(t.nsp), "close", NULL), 0);
    assert_true(cl_wait_closed(&k[2]));
    assert_true(cl_wait_closed(&k[3]));
    WAIT_LOG(&t, "disc 3");
    LOG_IS(&t, "out 2 close;disc 2 server namespace disconnect;"
               "out 3 close;disc 3 server namespace disconnect;");
    assert_int_equal(sio_namespace_count(t.nsp), 0);
    for (int i = 0; i < 4; i++) cl_close(&k[i]);
    finish(&t);
}

/* A dynamic parent: its middlewares and connection handlers serve every child. */
static int match_room(const char *name, const json_t *auth, void *ud)
{
    (void)ud;
    return !strncmp(name, "/room-", 6) && json_is_true(json_object_get(auth, "ok"));
}

static void conn_nsp(env *t, sio_socket *s)
{
    note(t, "conn %d %s", idx_of(s), sio_namespace_name(sio_socket_namespace(s)));
}

static void test_namespaces(void **state)
{
    env t = {.on_conn = conn_nsp};
    start(&t);
    assert_null(sio_of(t.io, NULL));
    char longname[300];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_null(sio_of(t.io, longname));
    assert_null(sio_of_pattern(t.io, "(unclosed"));
    assert_null(sio_of_match(t.io, NULL, NULL));
    sio_namespace *parent = sio_of_match(t.io, match_room, NULL);
    assert_non_null(parent);
    sio_use(parent, mw_log, &t);
    sio_on_connection(parent, rec_connection, &t);
    sio_namespace *re = sio_of_pattern(t.io, "^/re-[0-9]+$");
    assert_non_null(re);
    sio_on_connection(re, rec_connection, &t);

    cl k;
    cl_ws(&t, &k, NULL);
    cl_send(&k, "40/room-1,");
    EXPECT(&k, "44/room-1,{\"message\":\"Invalid namespace\"}");
    cl_join(&k, "/room-1", "{\"ok\":true}");
    cl_join(&k, "/re-42", NULL);
    cl_send(&k, "40/re-x,");
    EXPECT(&k, "44/re-x,{\"message\":\"Invalid namespace\"}");
    LOG_IS(&t, "mw;conn 0 /room-1;conn 1 /re-42;");
    /* The child exists from now on, as a namespace of its own. */
    sio_namespace *child = sio_socket_namespace(t.socks[0]);
    assert_string_equal(sio_namespace_name(child), "/room-1");
    assert_int_equal(sio_namespace_count(child), 1);
    sio_broadcast_emit(sio_broadcast_nsp(child), "hi", NULL);
    EXPECT(&k, "42/room-1,[\"hi\"]");
    /* Events and acks in a namespace carry its name. */
    sio_emit_ack(t.socks[1], 0, ack_log, &t, "q", NULL);
    EXPECT(&k, "42/re-42,1[\"q\"]");
    cl_send(&k, "43/re-42,1[2]");
    WAIT_LOG(&t, "ack 1");
    LOG_IS(&t, "ack 1 ok [2];");
    cl_send(&k, "41/room-1,");
    WAIT_LOG(&t, "disc 0 client namespace disconnect");
    /* A packet for a namespace the client is not in closes the connection (as in Node). */
    cl_send(&k, "42/room-1,[\"x\"]");
    assert_true(cl_wait_closed(&k));
    WAIT_LOG(&t, "disc 1 forced close");
    cl_close(&k);
    finish(&t);
}

/* ------------------------------------------------------------------------------------ */
/* 11. allocation failures                                                              */
/* ------------------------------------------------------------------------------------ */

/* What one run of the scenario saw. */
typedef struct outcome {
    int setup_failed;  /* the server could not be set up */
    int api_errors;    /* calls that returned an error */
    int closed;        /* clients whose connection ended */
    int silent;        /* a call said 0 but its packet never came, on an open connection */
    int dropped;       /* broadcast packets a recipient did not get */
    int acks, bc_acks; /* ack callbacks run */
    int recovered;     /* the first client got its session back */
    int done;          /* the scenario ran to its end */
    const char *lost;  /* what the first silent loss was */
} outcome;

static outcome *cur_out;

static void fa_ack(sio_socket *s, int err, json_t *args, void *ud)
{
    (void)s;
    (void)err;
    (void)args;
    ((outcome *)ud)->acks++;
}

static void fa_bc_ack(int err, json_t *answers, void *ud)
{
    (void)err;
    (void)answers;
    ((outcome *)ud)->bc_acks++;
}

static void fa_join(sio_socket *s, sio_event *ev, void *ud)
{
    const char *room;
    int r = sio_event_unpack(ev, "s", &room) ? SIO_EINVAL : sio_join(s, room);
    if (r) cur_out->api_errors++;
    if (sio_ack(ev, "i", r)) {
        /* The answer cannot be sent: the application ends the connection. */
        cur_out->api_errors++;
        sio_disconnect(s, 1);
    }
}

static void fa_mw(sio_socket *s, sio_next *next, void *ud)
{
    (void)ud;
    if (json_object_set_new(sio_socket_data(s), "user", json_string("u")))
        sio_next_error(next, "no memory", NULL);
    else
        sio_next_ok(next);
}

static void fa_conn(env *t, sio_socket *s)
{
    if (sio_on(s, "join", fa_join, t)) {
        cur_out->api_errors++;
        sio_disconnect(s, 1);
    }
}

/* Wait up to ms for a text message starting with prefix (others are skipped): 1, or 0 when
 * the connection ended, or -1 when it did not come. A CONNECT reply's pid is kept. */
static int fa_wait(cl *k, const char *prefix, int ms)
{
    if (k->fd < 0 || k->eof) return 0;
    for (;;) {
        char *d;
        int r = cl_next(k, ms, &d, NULL);
        if (r == CL_TIMEOUT) return -1;
        if (r == CL_CLOSED) return 0;
        int match = r == CL_TEXT && !strncmp(d, prefix, strlen(prefix));
        if (match && !strncmp(d, "40{", 3) && json_field(d, "pid", k->pid, sizeof(k->pid)))
            k->pid[0] = 0;
        free(d);
        if (match) return 1;
    }
}

/* A packet the server said it sent (the call returned 0) must come unless the connection
 * ends: anything else is a silent loss. */
static int fa_sent(outcome *o, cl *k, const char *prefix)
{
    int r = fa_wait(k, prefix, WAIT_MS);
    if (r == -1 && !o->silent++) o->lost = prefix;
    return r == 1;
}

/* A broadcast packet: a recipient whose send failed misses it (counted, not an error). The
 * reference run, where nothing fails, waits as long as for any packet. */
static int fa_broadcast(outcome *o, cl *k, const char *prefix)
{
    int r = fa_wait(k, prefix, alloc_ctl.fail_at ? 150 : WAIT_MS);
    if (r == -1) o->dropped++;
    return r == 1;
}

/* A WebSocket session that may be refused: 0 when open. */
static int fa_ws(env *t, cl *k)
{
    if (cl_tcp(t, k)) return -1;
    static const char req[] = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                              "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    if (cl_write(k, req, sizeof(req) - 1) || cl_http_resp(k, NULL, 0) != 101) return -1;
    return fa_wait(k, "0{", WAIT_MS) == 1 ? 0 : -1;
}

/* The scenario, with connection state recovery on: two clients connect through a middleware
 * and join a room (the second also tries an unknown namespace and sends binary); the server
 * emits to the first (text and binary), broadcasts to the room, moves the room's sockets to
 * another and counts them, asks the first for an ack and everyone for a broadcast ack; the
 * first client's transport drops, it comes back with its session (or a new one) and is
 * disconnected by the server. */
static void fa_scenario(outcome *o)
{
    env t = {.on_conn = fa_conn};
    cur_out = o;
    t.so.log_cb = quiet_log;
    t.so.shutdown_timeout_ms = 500;
    t.so.io.socket_ud_size = sizeof(sud);
    t.so.io.connect_timeout_ms = 200;
    t.so.io.recovery_max_disconnection_ms = 1000;
    assert_int_equal(uv_loop_init(&t.loop), 0);
    cl k[2] = {{.fd = -1}, {.fd = -1}};
    int open[2] = {0, 0}, joined[2] = {0, 0};
    if (!(t.io = sio_server_new(&t.loop, &t.so)) || !(t.nsp = sio_of(t.io, "/")) ||
        sio_use(t.nsp, fa_mw, &t) || sio_on_connection(t.nsp, rec_connection, &t) ||
        sio_listen(t.io, "127.0.0.1", 0) || (t.port = sio_server_port(t.io, 0)) <= 0) {
        o->setup_failed = 1;
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        if (fa_ws(&t, &k[i])) {
            o->closed++;
            continue;
        }
        if (i == 1) {
            cl_send(&k[i], "40/nope,");
            if (!fa_sent(o, &k[i], "44/nope,")) continue;
        }
        cl_send(&k[i], "40");
        open[i] = fa_sent(o, &k[i], "40{");
        if (!open[i]) continue;
        if (i == 1) {
            cl_send(&k[i], "451-[\"up\",{\"_placeholder\":true,\"num\":0}]");
            cl_send_binary(&k[i], "\x09", 1);
        }
        cl_send(&k[i], "421[\"join\",\"room\"]");
        char *d;
        open[i] = cl_next(&k[i], WAIT_MS, &d, NULL) == CL_TEXT;
        if (open[i])
            joined[i] = !strcmp(d, "431[0]");
        else if (!k[i].eof)
            o->silent++;
        free(d);
    }
    sio_socket *a = t.socks[0];
    if (open[0] && a) {
        int r = sio_emit(a, "hello", "i", 1);
        if (r)
            o->api_errors++;
        else {
            char *d;
            open[0] = cl_next(&k[0], WAIT_MS, &d, NULL) == CL_TEXT;
            if (open[0] && !strncmp(d, "42[\"hello\",1,\"", 14))
                take_offset(&k[0], d);
            else if (!k[0].eof)
                o->silent++;
            free(d);
        }
        r = sio_emit(a, "bin", "o", sio_binary("\x01\x02", 2));
        if (r)
            o->api_errors++;
        else if ((open[0] = fa_sent(o, &k[0], "451-[\"bin\""))) {
            char *d;
            open[0] = cl_next(&k[0], WAIT_MS, &d, NULL) == CL_BINARY;
            free(d);
        }
    }
    int r = sio_broadcast_emit(sio_to(sio_broadcast_nsp(t.nsp), "room"), "news", "s", "x");
    if (r) o->api_errors++;
    for (int i = 0; i < 2 && !r; i++)
        if (open[i] && joined[i]) fa_broadcast(o, &k[i], "42[\"news\"");
    int n = 0;
    if (sio_broadcast_join(sio_to(sio_broadcast_nsp(t.nsp), "room"), "other") ||
        sio_broadcast_fetch(sio_to(sio_broadcast_nsp(t.nsp), "other"), fetch_count, &n))
        o->api_errors++;
    if (open[0] && t.socks[0]) {
        r = sio_emit_ack(t.socks[0], 100, fa_ack, o, "ask", NULL);
        if (r) {
            o->api_errors++;
            o->acks++; /* no callback will come */
        } else if (fa_sent(o, &k[0], "42")) {
            cl_send(&k[0], "431[\"ok\"]");
        }
    } else {
        o->acks++;
    }
    r = sio_broadcast_emit_ack(sio_timeout(sio_broadcast_nsp(t.nsp), 100), fa_bc_ack, o, "all",
                               NULL);
    if (r) {
        o->api_errors++;
        o->bc_acks++;
    }
    for (int i = 0; i < 2 && !r; i++)
        if (open[i] && fa_broadcast(o, &k[i], "42")) {
            char ans[32];
            snprintf(ans, sizeof(ans), "43%d[%d]", i == 0 ? 2 : 1, i);
            cl_send(&k[i], ans);
        }
    uint64_t end = now_ms() + 300;
    while ((o->acks < 1 || o->bc_acks < 1) && now_ms() < end) turn(&t, -1, 5);
    if (t.socks[0] && k[0].pid[0] && k[0].offset[0]) {
        /* The transport drops; the client comes back with its pid and offset. */
        char auth[160];
        snprintf(auth, sizeof(auth), "40{\"pid\":\"%s\",\"offset\":\"%s\"}", k[0].pid, k[0].offset);
        cl_close(&k[0]);
        end = now_ms() + WAIT_MS;
        while (t.socks[0] && now_ms() < end) turn(&t, -1, 5);
        if (sio_broadcast_emit(sio_to(sio_broadcast_nsp(t.nsp), "room"), "missed", NULL))
            o->api_errors++;
        if (fa_ws(&t, &k[0])) {
            o->closed++;
        } else {
            int before = t.nsocks;
            cl_send(&k[0], auth);
            if (fa_sent(o, &k[0], "40{") && t.nsocks > before && t.socks[t.nsocks - 1]) {
                o->recovered = sio_socket_recovered(t.socks[t.nsocks - 1]);
                sio_disconnect(t.socks[t.nsocks - 1], 0);
                fa_sent(o, &k[0], "41");
            }
        }
    }
    o->done = 1;
out:
    for (int i = 0; i < 2; i++) {
        if (k[i].eof) o->closed++;
        if (k[i].fd >= 0) cl_close(&k[i]);
    }
    finish(&t);
}

/* Every allocation of the scenario fails in turn. Each failure must end in an error, a closed
 * connection or a broadcast packet dropped for one recipient; never in a crash, a leak (ASan),
 * a packet lost without an error, or an ack callback run twice or not at all. */
static void test_allocation_failures(void **state)
{
    outcome ref = {0};
    alloc_ctl.counting = 1;
    alloc_ctl.count = 0;
    alloc_ctl.fail_at = 0;
    fa_scenario(&ref);
    alloc_ctl.counting = 0;
    long total = alloc_ctl.count;
    assert_true(ref.done);
    assert_int_equal(ref.api_errors + ref.closed + ref.silent + ref.dropped + ref.setup_failed, 0);
    assert_int_equal(ref.acks, 1);
    assert_int_equal(ref.bc_acks, 1);
    assert_int_equal(ref.recovered, 1);
    assert_true(total > 100);
    int runs = 0, setup = 0, errors = 0, closes = 0, drops = 0;
    for (long n = 1; n <= total + 20; n++) {
        outcome o = {0};
        alloc_ctl.counting = 1;
        alloc_ctl.count = 0;
        alloc_ctl.fail_at = n;
        alloc_ctl.failed = 0;
        fa_scenario(&o);
        alloc_ctl.counting = 0;
        if (!alloc_ctl.failed) continue; /* fewer allocations this time */
        runs++;
        if (o.silent) print_error("allocation %ld: %s lost without an error\n", n, o.lost);
        assert_int_equal(o.silent, 0);
        setup += o.setup_failed;
        errors += o.api_errors > 0;
        closes += o.closed > 0;
        drops += o.dropped > 0;
        if (o.setup_failed) continue;
        assert_true(o.done);
        assert_int_equal(o.acks, 1);
        assert_int_equal(o.bc_acks, 1);
    }
    print_message("%ld allocations; %d runs with one failing: %d at setup, %d with an error, "
                  "%d with a connection closed, %d with a broadcast packet dropped\n",
                  total, runs, setup, errors, closes, drops);
    assert_true(runs >= total);
    assert_true(setup > 0 && errors > 0 && closes > 0);
}

int main(void)
{
    assert_int_equal(sio_replace_allocator(t_malloc, t_realloc, t_calloc, free), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handlers),
        cmocka_unit_test(test_handlers_changed_while_dispatching),
        cmocka_unit_test(test_disconnect_in_handler),
        cmocka_unit_test(test_disconnect_in_disconnecting),
        cmocka_unit_test(test_disconnect_sibling_from_handlers),
        cmocka_unit_test(test_middlewares),
        cmocka_unit_test(test_middleware_client_gone),
        cmocka_unit_test(test_connection_handlers),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_event_keep_release),
        cmocka_unit_test(test_event_kept_past_server),
        cmocka_unit_test(test_emit_ack),
        cmocka_unit_test(test_ack_callbacks_disconnect),
        cmocka_unit_test(test_broadcast_emit_ack),
        cmocka_unit_test(test_rooms),
        cmocka_unit_test(test_broadcast_selections),
        cmocka_unit_test(test_broadcast_operators),
        cmocka_unit_test(test_broadcast_from_leaving_socket),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_shutdown_from_handler),
        cmocka_unit_test(test_free_with_pending),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_outbound_bound),
        cmocka_unit_test(test_polling_and_handshake),
        cmocka_unit_test(test_binary_and_outgoing),
        cmocka_unit_test(test_outgoing_listener_disconnects),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_allocation_failures),
    };
    /* SIO_TEST_FILTER=test_name (wildcards allowed) runs a subset. */
    if (getenv("SIO_TEST_FILTER")) cmocka_set_test_filter(getenv("SIO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
