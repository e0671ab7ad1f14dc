/*
 * libFuzzer target for whole HTTP request handling: the real server (sio_server_new) with
 * static files, a body-echo route, a raw WebSocket route and the Socket.IO endpoint
 * (Engine.IO v3 and v4, polling and WebSocket), fed arbitrary bytes over a loopback TCP
 * connection. Parser, router, static serving (ranges, conditionals, HEAD), upgrade and
 * handshake checks, Engine.IO handshake and polling, WebSocket frames after an upgrade and
 * the Socket.IO layer behind them all run as in production; only the peer is the fuzzer.
 *
 * Input layout: byte 0 holds options (bit 0: half-close the connection before closing it;
 * bit 1: permessage-deflate on; bit 2: Engine.IO v3 refused), bytes 1-4 two split points
 * (16-bit little-endian, taken modulo the length), and the rest is what the client sends,
 * written in up to three chunks cut at the split points. After each chunk the loop runs
 * until the server is idle, so the server sees partial reads at those points. Every "$SID"
 * in a chunk is replaced by the last Engine.IO session id the server handed out, so
 * polling requests can name a live session.
 *
 * SIO_FUZZ_VERBOSE=1 in the environment prints what the server sends and logs, which helps
 * when writing seeds. The target runs best with -entropic=0 (its .options file): its
 * inputs reach so many features that the entropic schedule's bookkeeping costs more than
 * the input itself.
 *
 * Each input gets a fresh server on the same port (SO_REUSEADDR) and loop, and ends with
 * the server freed and the loop run dry; the target then checks that no libuv handle or
 * request is left and that no file descriptor leaked. libFuzzer's leak check (LSan) sees
 * any memory the input left behind.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "sio.h"

#define SID_MAX 32

typedef struct fuzz_state {
    uv_loop_t loop;
    char dir[64];
    int port;
    char sid[SID_MAX + 1];
    size_t sid_len;
    int verbose; /* SIO_FUZZ_VERBOSE set: print what the server sends */
    uint8_t rbuf[65536];
} fuzz_state;

static fuzz_state *g;

static void put_file(const char *name, const void *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g->dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) abort();
}

static void remove_files(void)
{
    static const char *const names[] = {"index.html", "a.txt", "big.bin", "sub/b.css", "sub"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", g->dir, names[i]);
        remove(path);
    }
    rmdir(g->dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static fuzz_state state;
    static uint8_t big[70000];
    g = &state;
    if (uv_loop_init(&g->loop)) abort();
    strcpy(g->dir, "/tmp/sio-fuzz-http-XXXXXX");
    if (!mkdtemp(g->dir)) abort();
    atexit(remove_files);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", g->dir);
    if (mkdir(sub, 0700)) abort();
    static const char index[] = "<!doctype html><title>t</title><p>hello</p>\n";
    put_file("index.html", index, sizeof index - 1);
    put_file("a.txt", "0123456789abcdefghijklmnopqrstuvwxyz\n", 37);
    put_file("sub/b.css", "body { color: red }\n", 20);
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 31 + (i >> 8));
    put_file("big.bin", big, sizeof big);
    signal(SIGPIPE, SIG_IGN);
    g->verbose = getenv("SIO_FUZZ_VERBOSE") != NULL;
    return 0;
}

static void on_log(sio_log_level level, const char *line, void *ud)
{
    if (g->verbose) fprintf(stderr, "[log] %s\n", line);
}

static void on_echo(sio_http_req *req, sio_http_res *res, void *ud)
{
    size_t n;
    const uint8_t *body = sio_http_req_body(req, &n);
    sio_http_res_send(res, 200, "application/octet-stream", body, n);
}

static void ws_message(sio_ws *ws, const void *data, size_t len, int binary, void *ud)
{
    if (len == 5 && !memcmp(data, "close", 5))
        sio_ws_close(ws, 1000, "bye");
    else
        sio_ws_send(ws, data, len, binary);
}

static void on_message(sio_socket *s, sio_event *ev, void *ud)
{
    sio_emit_array(s, "message-back", sio_event_args(ev));
}

static void on_message_ack(sio_socket *s, sio_event *ev, void *ud)
{
    sio_ack_array(ev, sio_event_args(ev));
}

static void on_join(sio_socket *s, sio_event *ev, void *ud)
{
    const char *room;
    if (sio_event_unpack(ev, "s", &room) == 0) {
        sio_join(s, room);
        sio_broadcast_emit(sio_to(sio_broadcast_nsp(sio_socket_namespace(s)), room), "joined", "s",
                           sio_socket_id(s));
    }
}

static void on_connection(sio_socket *s, void *ud)
{
    sio_emit(s, "hello", "s", "world");
    sio_on(s, "message", on_message, NULL);
    sio_on(s, "message-with-ack", on_message_ack, NULL);
    sio_on(s, "join", on_join, NULL);
}

static sio_server *start_server(unsigned flags)
{
    static const sio_ws_options ws_deflate = {
        .on_message = ws_message, .max_message = 4096, .per_message_deflate = 1};
    static const sio_ws_options ws_plain = {.on_message = ws_message, .max_message = 4096};
    sio_server_options o = {
        .static_dir = g->dir,
        .log_cb = on_log,
        .log_level = SIO_LOG_DEBUG, /* every log line is formatted, so that code runs too */
        .io =
            {
                .allow_eio3 = !(flags & 4),
                .per_message_deflate = (flags & 2) != 0,
                .max_http_buffer_size = 0,
            },
    };
    sio_server *io = sio_server_new(&g->loop, &o);
    if (!io) abort();
    int r = sio_ws_route(io, "/ws", flags & 2 ? &ws_deflate : &ws_plain);
    if (!r)
        r = sio_http_route(
            io, "/echo", on_echo, NULL,
            &(sio_http_route_options){.methods = SIO_HTTP_POST | SIO_HTTP_PUT, .max_body = 4096});
    sio_namespace *nsps[] = {sio_of(io, "/"), sio_of(io, "/custom")};
    for (size_t i = 0; !r && i < 2; i++)
        r = nsps[i] ? sio_on_connection(nsps[i], on_connection, NULL) : SIO_ENOMEM;
    if (!r) r = sio_listen(io, "127.0.0.1", g->port);
    if (r) abort();
    g->port = sio_server_port(io, 0);
    return io;
}

/* Remember the last Engine.IO session id the server handed out: the open packet's
 * 0{"sid":"...", not a Socket.IO CONNECT's 40{"sid":"... */
static void find_sid(const uint8_t *p, size_t n)
{
    static const char key[] = "0{\"sid\":\"";
    const size_t k = sizeof key - 1;
    for (const uint8_t *at = p; (at = memmem(at, n - (size_t)(at - p), key, k));) {
        int is_open = at == p || at[-1] != '4';
        at += k;
        size_t len = 0;
        while (at + len < p + n && at[len] != '"' && len < SID_MAX) len++;
        if (is_open && at + len < p + n && at[len] == '"') {
            memcpy(g->sid, at, len);
            g->sid_len = len;
        }
    }
}

/* Read and discard what the server sent; returns the bytes read. */
static size_t drain(int fd)
{
    size_t total = 0;
    for (;;) {
        ssize_t n = recv(fd, g->rbuf, sizeof g->rbuf, 0);
        if (n <= 0) return total;
        find_sid(g->rbuf, (size_t)n);
        if (g->verbose) fwrite(g->rbuf, 1, (size_t)n, stderr);
        total += (size_t)n;
    }
}

/*
 * Run the loop until the server has nothing left to do: no bytes come back and no
 * thread-pool request (a file read) is outstanding. Loopback delivers a write to the
 * peer's socket before write() returns, so one turn sees it.
 */
static void settle(int fd)
{
    int idle = 0;
    for (int turn = 0; turn < 5000 && idle < 3; turn++) {
        uv_run(&g->loop, UV_RUN_NOWAIT);
        size_t got = fd >= 0 ? drain(fd) : 0;
        if (got) {
            idle = 0;
        } else if (g->loop.active_reqs.count) {
            struct pollfd p = {.fd = uv_backend_fd(&g->loop), .events = POLLIN};
            idle = poll(&p, 1, 20) > 0 ? 0 : idle + 1;
        } else {
            idle++;
        }
    }
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) return; /* the server closed */
            settle(fd);
            continue;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Send a chunk with every "$SID" replaced by the current session id. */
static void send_chunk(int fd, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    while (p < end) {
        const uint8_t *at = memmem(p, (size_t)(end - p), "$SID", 4);
        if (!at) {
            send_all(fd, p, (size_t)(end - p));
            break;
        }
        send_all(fd, p, (size_t)(at - p));
        send_all(fd, (const uint8_t *)g->sid, g->sid_len);
        p = at + 4;
    }
    settle(fd);
}

static int connect_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) abort();
    /* Closing sends a reset: no TIME_WAIT piles up over millions of inputs. */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    /* Without it Nagle holds small writes back until an ACK, which loopback delays. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS) abort();
    settle(fd);
    return fd;
}

/*
 * Between inputs no socket may be open, nor any file under the served directory. (Other
 * descriptors come and go with the process itself: the loop's own, and the pipes to the
 * symbolizer libFuzzer starts to name new functions.)
 */
static void check_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    size_t dirlen = strlen(g->dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], to[300];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, to, sizeof to - 1);
        if (n <= 0) continue;
        to[n] = 0;
        if (!strncmp(to, "socket:", 7) || !strncmp(to, g->dir, dirlen)) {
            fprintf(stderr, "descriptor %s left open: %s\n", e->d_name, to);
            abort();
        }
    }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    unsigned flags = data[0];
    size_t cut[2] = {(size_t)(data[1] | data[2] << 8), (size_t)(data[3] | data[4] << 8)};
    data += 5;
    size -= 5;
    for (int i = 0; i < 2; i++) cut[i] %= size + 1;
    if (cut[0] > cut[1]) {
        size_t t = cut[0];
        cut[0] = cut[1];
        cut[1] = t;
    }
    g->sid_len = 0;

    sio_server *io = start_server(flags);
    int fd = connect_client();
    send_chunk(fd, data, cut[0]);
    send_chunk(fd, data + cut[0], cut[1] - cut[0]);
    send_chunk(fd, data + cut[1], size - cut[1]);
    if (flags & 1) {
        shutdown(fd, SHUT_WR);
        settle(fd);
    }
    close(fd);
    settle(-1);

    sio_server_free(io);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    /* Nothing of this input may outlive it: no handle, no request, no descriptor. */
    if (uv_loop_alive(&g->loop) || g->loop.active_reqs.count) abort();
    check_fds();
    return 0;
}
