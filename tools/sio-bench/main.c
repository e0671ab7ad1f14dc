/*
 * sio-bench: a load generator for Socket.IO servers, on libsio's own codecs and libuv.
 *
 * Every client is a raw TCP connection that does the WebSocket upgrade, the Engine.IO v4
 * open and the Socket.IO v5 CONNECT to "/", then answers Engine.IO pings. Frames are built
 * with the WebSocket codec (client role: masked) and parsed by it; Engine.IO packets go
 * through the Engine.IO codec; the CONNECT reply is decoded by the Socket.IO codec. In the
 * hot path the emits are a precomputed JSON tail behind "42<id>", and an ack is recognised
 * by its "43<id>" prefix without decoding its payload: the generator must cost far less
 * per message than any server it drives, and a JSON tree per ack would not.
 *
 * One loop, one process. Sends queued during a loop turn are written by one uv_prepare_t
 * (one write per connection per turn); reads share one slab. Connects are started at most
 * --concurrency at a time, from source addresses spread over 127.0.0.1..127.0.0.K
 * (--sources K, with IP_BIND_ADDRESS_NO_PORT so the source port is picked at connect time),
 * which lifts the 28k ephemeral-port ceiling of a single source address.
 *
 * Scenarios (one JSON line on stdout per run; the key names follow bench/sio-load.mjs):
 *   idle      hold N connections for S seconds, heartbeats answered; the server's RSS
 *             before the connects and after the hold, its CPU ticks over the hold.
 *   echo-ack  N connections, W `echo-ack` emits in flight on each (a new one per ack);
 *             after a warm-up, acks, latency percentiles (fixed-bucket histogram) and the
 *             server's and the generator's CPU over the measured window.
 *   broadcast one sender (client 0) emits `broadcast` at --rate per second, and the server
 *             relays it to the N others; after a warm-up, the deliveries they count and the
 *             CPU per delivery over the measured window.
 * The server's figures come from /proc/PID/{stat,status} when --server-pid is given.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "sio.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "eio/packet.h"
#include "sio/packet.h"
#include "ws/frame.h"

#define SLAB_SIZE    (256 * 1024)
#define HTTP_MAX     4096
#define ACCEPT_VALUE "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* for the key below (RFC 6455 1.3) */
#define WS_KEY       "dGhlIHNhbXBsZSBub25jZQ=="

/* Latency histogram: exact below 64 us, then 32 buckets per power of two (about 3%). */
#define HIST_SUB     32
#define HIST_BUCKETS (64 + 40 * HIST_SUB)

enum { C_IDLE, C_CONNECTING, C_HTTP, C_OPEN, C_SIO, C_READY, C_CLOSING, C_CLOSED };
enum { SC_IDLE, SC_ECHO_ACK, SC_BROADCAST };

typedef struct bench bench;

typedef struct client {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    bench *b;
    uint32_t index;
    uint8_t state;
    uint8_t pending; /* on b's pending list */
    uint8_t writing; /* wreq in flight */
    uint8_t lost;    /* closed before the end of the run */
    uint32_t mask_state;
    sio__ws_parser ws;
    char *http; /* the upgrade response so far, NULL after it */
    size_t http_len;
    sio__buf out;      /* queued bytes */
    sio__buf inflight; /* bytes of the uv_write in flight */
    struct client *next_pending;
    uint64_t next_id;
    uint64_t *sent_at; /* ring of send times by id, window slots (a power of two) */
} client;

struct bench {
    uv_loop_t *loop;
    /* options */
    const char *host;
    int port;
    const char *path;
    int scenario;
    uint32_t n, window, concurrency, sources, payload_size;
    double seconds, warmup, rate;
    long server_pid;
    /* state */
    client *clients;
    uint32_t started, ready, failed, lost, closing;
    client *pending;
    uv_prepare_t flush;
    uv_timer_t timer;
    uv_timer_t pacer; /* broadcast: the sender's emits */
    uint64_t pace_t0, emits, deliveries, emits0, deliveries0;
    uint8_t *slab;  /* every read lands here: it is parsed before the next one */
    uint32_t ring;  /* sent_at slots per client */
    sio__buf tail;  /* the JSON args of an emit: ["echo-ack","yyy"] or ["broadcast","yyy"] */
    int phase;      /* 0 connecting, 1 warm-up, 2 measuring, 3 done */
    int failed_run; /* an error to report in the exit code */
    uint64_t pings; /* pings answered */
    uint64_t acks;  /* acks received */
    uint64_t hist[HIST_BUCKETS];
    uint64_t hist_n;
    /* window snapshots */
    uint64_t t0_ns, pings0, acks0;
    long ticks0, rss_before;
    double cpu0;
};

/* ---- /proc and rusage ---------------------------------------------------------------- */

static long proc_ticks(long pid)
{
    if (pid <= 0) return -1;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Fields after the command name (which may hold spaces) start at ") ": state is field 3,
     * utime 14 and stime 15. */
    char *p = strrchr(line, ')');
    if (!p) return -1;
    p += 2;
    unsigned long ut = 0, st = 0;
    if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (long)(ut + st);
}

static long proc_rss_kb(long pid)
{
    if (pid <= 0) return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- histogram ----------------------------------------------------------------------- */

static unsigned hist_index(uint64_t us)
{
    if (us < 64) return (unsigned)us;
    unsigned msb = 63u - (unsigned)__builtin_clzll(us);
    unsigned shift = msb - 5;
    unsigned idx = shift * HIST_SUB + (unsigned)(us >> shift);
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The middle of bucket idx, in microseconds. */
static uint64_t hist_value(unsigned idx)
{
    if (idx < 64) return idx;
    unsigned shift = idx / HIST_SUB - 1;
    uint64_t m = idx % HIST_SUB + HIST_SUB;
    return (m << shift) + ((1ull << shift) >> 1);
}

static uint64_t hist_quantile(const bench *b, double q)
{
    if (!b->hist_n) return 0;
    uint64_t rank = (uint64_t)(q * (double)b->hist_n), seen = 0;
    if (rank >= b->hist_n) rank = b->hist_n - 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += b->hist[i];
        if (seen > rank) return hist_value(i);
    }
    return hist_value(HIST_BUCKETS - 1);
}

/* ---- sending ------------------------------------------------------------------------- */

static void schedule(client *c)
{
    if (!c->pending) {
        c->pending = 1;
        c->next_pending = c->b->pending;
        c->b->pending = c;
    }
}

static uint32_t next_mask(client *c)
{
    uint32_t x = c->mask_state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return c->mask_state = x;
}

/* Queue one masked text frame whose payload is a[0..an) then z[0..zn). */
static int send_text2(client *c, const void *a, size_t an, const void *z, size_t zn)
{
    size_t len = an + zn;
    if (sio__buf_reserve(&c->out, SIO_WS_MAX_HEADER + len)) return SIO_ENOMEM;
    uint32_t m = next_mask(c);
    uint8_t key[4] = {(uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24)};
    uint8_t *p = c->out.data + c->out.len;
    size_t h = sio__ws_encode_header(p, 1, SIO_WS_OP_TEXT, 0, len, key);
    memcpy(p + h, a, an);
    if (zn) memcpy(p + h + an, z, zn);
    sio__ws_mask(p + h, len, key, 0);
    c->out.len += h + len;
    schedule(c);
    return 0;
}

static int send_text(client *c, const char *s)
{
    return send_text2(c, s, strlen(s), NULL, 0);
}

static void send_emit(client *c)
{
    bench *b = c->b;
    char head[32];
    uint64_t id = c->next_id++;
    int hn = snprintf(head, sizeof head, "42%" PRIu64, id);
    c->sent_at[id & (b->ring - 1)] = uv_hrtime();
    if (send_text2(c, head, (size_t)hn, b->tail.data, b->tail.len)) b->failed_run = 1;
}

static void client_close(client *c);
static void finish(bench *b);

static void on_written(uv_write_t *req, int status)
{
    client *c = req->data;
    c->writing = 0;
    sio__buf_reset(&c->inflight);
    if (status < 0) {
        client_close(c);
        return;
    }
    if (c->out.len) schedule(c);
}

static void flush_client(client *c)
{
    if (c->writing || !c->out.len || c->state >= C_CLOSING) return;
    uv_buf_t buf = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) {
        client_close(c);
        return;
    }
    sio__buf_consume(&c->out, (size_t)n);
    if (!c->out.len) return;
    sio__buf tmp = c->inflight; /* swap: the queue goes out, the empty buffer comes back */
    c->inflight = c->out;
    c->out = tmp;
    buf = uv_buf_init((char *)c->inflight.data, (unsigned)c->inflight.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0) {
        client_close(c);
        return;
    }
    c->writing = 1;
}

static void on_flush(uv_prepare_t *h)
{
    bench *b = h->data;
    while (b->pending) {
        client *c = b->pending;
        b->pending = c->next_pending;
        c->pending = 0;
        flush_client(c);
    }
}

/* ---- receiving ----------------------------------------------------------------------- */

static void connect_next(bench *b);

static void client_ready(client *c)
{
    bench *b = c->b;
    c->state = C_READY;
    b->ready++;
    connect_next(b);
}

static void on_ack(client *c, const uint8_t *d, size_t n)
{
    bench *b = c->b;
    uint64_t id = 0;
    size_t i = 1;
    while (i < n && d[i] >= '0' && d[i] <= '9') id = id * 10 + (uint64_t)(d[i++] - '0');
    if (i == 1 || b->scenario != SC_ECHO_ACK || b->phase >= 3) return;
    b->acks++;
    if (b->phase == 2) {
        uint64_t us = (uv_hrtime() - c->sent_at[id & (b->ring - 1)]) / 1000;
        b->hist[hist_index(us)]++;
        b->hist_n++;
    }
    send_emit(c);
}

static void on_sio(client *c, const uint8_t *d, size_t n)
{
    if (c->state == C_SIO) {
        sio__sp_packet p;
        if (sio__sp_decode(NULL, (const char *)d, n, &p, NULL) == 0) {
            int ok = p.type == SIO__SP_CONNECT;
            sio__sp_packet_clear(&p);
            if (ok) {
                client_ready(c);
                return;
            }
        }
        fprintf(stderr, "sio-bench: client %u: CONNECT refused: %.*s\n", c->index, (int)n, d);
        client_close(c);
        return;
    }
    if (c->state != C_READY || !n) return;
    if (d[0] == '3')
        on_ack(c, d, n);
    else if (d[0] == '2' && c->b->scenario == SC_BROADCAST && c->index != 0)
        c->b->deliveries++;
}

static int on_ws_message(void *ud, int opcode, const uint8_t *data, size_t len, int compressed)
{
    client *c = ud;
    sio__eio_packet p;
    if (opcode != SIO_WS_OP_TEXT || sio__eio_decode_text(data, len, &p)) {
        client_close(c);
        return 1;
    }
    switch (p.type) {
    case SIO__EIO_PING:
        c->b->pings++;
        send_text2(c, "3", 1, p.data, p.len); /* the probe body, if any, comes back */
        break;
    case SIO__EIO_OPEN:
        if (c->state == C_OPEN) {
            c->state = C_SIO;
            send_text(c, "40");
        }
        break;
    case SIO__EIO_MESSAGE:
        on_sio(c, p.data, p.len);
        break;
    case SIO__EIO_CLOSE:
        client_close(c);
        return 1;
    default:
        break;
    }
    return c->state >= C_CLOSING;
}

static int on_ws_control(void *ud, int opcode, const uint8_t *data, size_t len)
{
    client *c = ud;
    if (opcode == SIO_WS_OP_PING) {
        uint32_t m = next_mask(c);
        uint8_t key[4] = {(uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24)};
        if (sio__buf_reserve(&c->out, SIO_WS_MAX_HEADER + len) == 0) {
            uint8_t *p = c->out.data + c->out.len;
            size_t h = sio__ws_encode_header(p, 1, SIO_WS_OP_PONG, 0, len, key);
            memcpy(p + h, data, len);
            sio__ws_mask(p + h, len, key, 0);
            c->out.len += h + len;
            schedule(c);
        }
    } else if (opcode == SIO_WS_OP_CLOSE) {
        client_close(c);
        return 1;
    }
    return 0;
}

static const sio__ws_events ws_events = {on_ws_message, on_ws_control};

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    client *c = h->data;
    bench *b = c->b;
    *buf = uv_buf_init((char *)b->slab, SLAB_SIZE);
}

/* The upgrade response: returns the bytes after its header, or -1 on failure/incomplete. */
static ptrdiff_t take_http(client *c, const uint8_t *in, size_t n)
{
    size_t room = HTTP_MAX - 1 - c->http_len, take = n < room ? n : room;
    memcpy(c->http + c->http_len, in, take);
    size_t old = c->http_len;
    c->http_len += take;
    c->http[c->http_len] = 0;
    char *end = strstr(c->http, "\r\n\r\n");
    if (!end) return c->http_len == HTTP_MAX - 1 ? -2 : -1;
    size_t hdr = (size_t)(end + 4 - c->http);
    if (strncmp(c->http, "HTTP/1.1 101", 12) || !strstr(c->http, ACCEPT_VALUE)) {
        fprintf(stderr, "sio-bench: client %u: upgrade refused: %.*s\n", c->index,
                (int)(strchr(c->http, '\r') - c->http), c->http);
        return -2;
    }
    sio__free(c->http);
    c->http = NULL;
    c->state = C_OPEN;
    return (ptrdiff_t)(hdr - old);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    client *c = s->data;
    if (nread == 0) return;
    if (nread < 0) {
        client_close(c);
        return;
    }
    uint8_t *in = (uint8_t *)buf->base;
    size_t n = (size_t)nread;
    if (c->state == C_HTTP) {
        ptrdiff_t off = take_http(c, in, n);
        if (off == -1) return;
        if (off < 0) {
            client_close(c);
            return;
        }
        in += off;
        n -= (size_t)off;
    }
    if (n && c->state < C_CLOSING && sio__ws_parse(&c->ws, in, n, &ws_events, c) < 0)
        client_close(c);
}

/* ---- connecting and closing ---------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    client *c = h->data;
    c->state = C_CLOSED;
    c->b->closing--;
    sio__ws_parser_free(&c->ws);
    sio__buf_free(&c->out);
    sio__buf_free(&c->inflight);
    sio__free(c->http);
    c->http = NULL;
}

static void client_close(client *c)
{
    bench *b = c->b;
    if (c->state >= C_CLOSING || c->state == C_IDLE) return;
    int was_ready = c->state == C_READY;
    /* Closing first: what follows may start the next connects or end the run. */
    c->state = C_CLOSING;
    b->closing++;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    if (b->phase < 3) {
        if (was_ready) {
            c->lost = 1;
            b->lost++;
            b->ready--;
        } else {
            b->failed++;
            connect_next(b);
        }
    }
    if ((b->phase == 1 || b->phase == 2) && !b->ready) /* nothing left to measure */
        finish(b);
}

static void on_connect(uv_connect_t *req, int status)
{
    client *c = req->data;
    if (status < 0) {
        if (c->state == C_CONNECTING)
            fprintf(stderr, "sio-bench: client %u: connect: %s\n", c->index, uv_strerror(status));
        client_close(c);
        return;
    }
    c->state = C_HTTP;
    uv_tcp_nodelay(&c->tcp, 1);
    bench *b = c->b;
    char req_text[512];
    int n = snprintf(req_text, sizeof req_text,
                     "GET %s?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     b->path, b->host, b->port);
    if (sio__buf_append(&c->out, req_text, (size_t)n) || !(c->http = sio__malloc(HTTP_MAX)) ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        client_close(c);
        return;
    }
    c->http_len = 0;
    schedule(c);
}

static int client_start(bench *b, client *c)
{
    struct sockaddr_in dst, src;
    int rc = uv_ip4_addr(b->host, b->port, &dst);
    if (rc < 0) return rc;
    if ((rc = uv_tcp_init_ex(b->loop, &c->tcp, AF_INET)) < 0) return rc;
    c->tcp.data = c;
    c->state = C_CONNECTING;
    if (b->sources > 1) {
        uv_os_fd_t fd;
        int one = 1;
        char ip[32];
        snprintf(ip, sizeof ip, "127.0.0.%u", 1 + c->index % b->sources);
        uv_ip4_addr(ip, 0, &src);
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if ((rc = uv_tcp_bind(&c->tcp, (const struct sockaddr *)&src, 0)) < 0) goto fail;
    }
    c->creq.data = c;
    if ((rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&dst, on_connect)) < 0)
        goto fail;
    return 0;
fail:
    c->state = C_CLOSING;
    b->closing++;
    b->failed++;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return rc;
}

static void start_scenario(bench *b);

/* Start connects until --concurrency are under way; start the scenario once all are done. */
static void connect_next(bench *b)
{
    while (b->started < b->n && b->started - b->ready - b->failed - b->lost < b->concurrency) {
        client *c = &b->clients[b->started++];
        int rc = client_start(b, c);
        if (rc < 0) fprintf(stderr, "sio-bench: client %u: %s\n", c->index, uv_strerror(rc));
    }
    if (b->phase == 0 && b->ready + b->failed + b->lost == b->n) {
        b->phase = 1;
        start_scenario(b);
    }
}

/* ---- scenarios ----------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    bench *b = t->data;
    if (b->phase == 1) { /* warm-up over: measure */
        b->phase = 2;
        b->t0_ns = uv_hrtime();
        b->acks0 = b->acks;
        b->emits0 = b->emits;
        b->deliveries0 = b->deliveries;
        b->pings0 = b->pings;
        b->ticks0 = proc_ticks(b->server_pid);
        b->cpu0 = self_cpu_s();
        uv_timer_start(&b->timer, on_timer, (uint64_t)(b->seconds * 1000), 0);
    } else if (b->phase == 2) {
        finish(b);
    }
}

/* The broadcast sender (client 0): every millisecond, the emits --rate asks for by now. */
static void on_pace(uv_timer_t *t)
{
    bench *b = t->data;
    client *c = &b->clients[0];
    if (c->state != C_READY || b->phase >= 3) return;
    uint64_t due = (uint64_t)(b->rate * (double)(uv_hrtime() - b->pace_t0) / 1e9);
    for (; b->emits < due; b->emits++)
        if (send_text2(c, "42", 2, b->tail.data, b->tail.len)) b->failed_run = 1;
}

static void start_scenario(bench *b)
{
    if (b->failed) fprintf(stderr, "sio-bench: %u of %u connections failed\n", b->failed, b->n);
    if (!b->ready) {
        b->t0_ns = uv_hrtime();
        finish(b);
        return;
    }
    if (b->scenario == SC_ECHO_ACK)
        for (uint32_t i = 0; i < b->n; i++)
            if (b->clients[i].state == C_READY)
                for (uint32_t k = 0; k < b->window; k++) send_emit(&b->clients[i]);
    if (b->scenario == SC_BROADCAST) {
        b->pace_t0 = uv_hrtime();
        uv_timer_start(&b->pacer, on_pace, 1, 1);
    }
    double warm = b->scenario == SC_IDLE ? 0 : b->warmup;
    uv_timer_start(&b->timer, on_timer, (uint64_t)(warm * 1000), 0);
}

static void finish(bench *b)
{
    uint64_t t1 = uv_hrtime();
    long ticks1 = proc_ticks(b->server_pid);
    long rss_after = proc_rss_kb(b->server_pid);
    double cpu1 = self_cpu_s();
    b->phase = 3;
    double wall = (double)(t1 - b->t0_ns) / 1e9;
    long ticks = ticks1 >= 0 && b->ticks0 >= 0 ? ticks1 - b->ticks0 : -1;
    double client_cpu = cpu1 - b->cpu0;
    double hz = (double)sysconf(_SC_CLK_TCK);
    if (b->scenario == SC_IDLE) {
        printf("{\"scenario\":\"idle\",\"connections\":%u,\"failed\":%u,\"lost\":%u,"
               "\"pings\":%" PRIu64 ",\"wall_s\":%.3f,\"server_ticks\":%ld,"
               "\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,\"client_cpu_s\":%.3f}\n",
               b->ready, b->failed, b->lost, b->pings - b->pings0, wall, ticks, b->rss_before,
               rss_after, client_cpu);
    } else if (b->scenario == SC_BROADCAST) {
        uint64_t d = b->deliveries - b->deliveries0;
        double per = d ? 1e6 / (double)d : 0;
        printf("{\"scenario\":\"broadcast\",\"receivers\":%u,\"connections\":%u,\"failed\":%u,"
               "\"lost\":%u,\"rate\":%.0f,\"payload_bytes\":%u,\"emits\":%" PRIu64
               ",\"deliveries\":%" PRIu64 ",\"wall_s\":%.3f,\"deliveries_per_s\":%.0f,"
               "\"server_ticks\":%ld,\"server_us_per_delivery\":%.3f,\"client_cpu_s\":%.3f,"
               "\"client_us_per_delivery\":%.3f,\"pings\":%" PRIu64 "}\n",
               b->n - 1, b->ready, b->failed, b->lost, b->rate, b->payload_size,
               b->emits - b->emits0, d, wall, wall > 0 ? (double)d / wall : 0, ticks,
               ticks >= 0 ? (double)ticks / hz * per : -1, client_cpu, client_cpu * per,
               b->pings - b->pings0);
        if (!d) b->failed_run = 1;
    } else {
        uint64_t acks = b->acks - b->acks0;
        double per = acks ? 1e6 / (double)acks : 0;
        printf("{\"scenario\":\"echo-ack\",\"connections\":%u,\"failed\":%u,\"lost\":%u,"
               "\"window\":%u,\"payload_bytes\":%u,\"acks\":%" PRIu64 ",\"wall_s\":%.3f,"
               "\"acks_per_s\":%.0f,\"p50_us\":%" PRIu64 ",\"p90_us\":%" PRIu64
               ",\"p99_us\":%" PRIu64 ",\"p999_us\":%" PRIu64 ",\"server_ticks\":%ld,"
               "\"server_us_per_ack\":%.3f,\"client_cpu_s\":%.3f,\"client_us_per_ack\":%.3f,"
               "\"pings\":%" PRIu64 "}\n",
               b->ready, b->failed, b->lost, b->window, b->payload_size, acks, wall,
               wall > 0 ? (double)acks / wall : 0, hist_quantile(b, 0.5), hist_quantile(b, 0.9),
               hist_quantile(b, 0.99), hist_quantile(b, 0.999), ticks,
               ticks >= 0 ? (double)ticks / hz * per : -1, client_cpu, client_cpu * per,
               b->pings - b->pings0);
        if (!acks) b->failed_run = 1;
    }
    fflush(stdout);
    if (b->failed || b->lost || b->ready != b->n) b->failed_run = 1;
    for (uint32_t i = 0; i < b->n; i++) client_close(&b->clients[i]);
    uv_close((uv_handle_t *)&b->timer, NULL);
    uv_close((uv_handle_t *)&b->pacer, NULL);
    uv_close((uv_handle_t *)&b->flush, NULL);
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: sio-bench --port P [options]\n"
               "  --host IP            server address (IPv4, default 127.0.0.1)\n"
               "  --path PATH          Engine.IO path (default /socket.io/)\n"
               "  --scenario NAME      idle (default), echo-ack or broadcast\n"
               "  --connections N      clients; broadcast: receivers, plus one sender (default 1)\n"
               "  --seconds S          measured window: the hold (idle) or the run (default 2)\n"
               "  --warmup S           echo-ack, broadcast: unmeasured seconds first (default 1)\n"
               "  --window W           echo-ack: emits in flight per client (default 1)\n"
               "  --rate R             broadcast: the sender's emits per second (default 100)\n"
               "  --payload-size B     bytes of the emitted string (default 32)\n"
               "  --concurrency K      connects under way at once (default 64)\n"
               "  --sources K          spread source addresses over 127.0.0.1..127.0.0.K\n"
               "                       (default 1: no bind)\n"
               "  --server-pid PID     read the server's CPU ticks and RSS from /proc/PID\n"
               "Prints one JSON line: connections, failed, lost, pings, wall_s, server_ticks,\n"
               "client_cpu_s, and rss_before_kb/rss_after_kb (idle); acks, acks_per_s, p50_us,\n"
               "p90_us, p99_us, p999_us, server_us_per_ack, client_us_per_ack (echo-ack);\n"
               "receivers, emits, deliveries, deliveries_per_s, server_us_per_delivery,\n"
               "client_us_per_delivery (broadcast). Figures that need --server-pid are -1\n"
               "without it. Exits 1 if a connection failed or was lost, or nothing was acked\n"
               "or delivered; 2 on bad arguments.\n");
}

static int parse_args(bench *b, int argc, char **argv)
{
    static const struct option longs[] = {{"host", 1, NULL, 'H'},
                                          {"port", 1, NULL, 'p'},
                                          {"path", 1, NULL, 'P'},
                                          {"scenario", 1, NULL, 's'},
                                          {"connections", 1, NULL, 'n'},
                                          {"seconds", 1, NULL, 'S'},
                                          {"warmup", 1, NULL, 'u'},
                                          {"window", 1, NULL, 'w'},
                                          {"payload-size", 1, NULL, 'b'},
                                          {"concurrency", 1, NULL, 'k'},
                                          {"sources", 1, NULL, 'a'},
                                          {"server-pid", 1, NULL, 'i'},
                                          {"rate", 1, NULL, 'r'},
                                          {"help", 0, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (o) {
        case 'H':
            b->host = optarg;
            break;
        case 'p':
            b->port = atoi(optarg);
            break;
        case 'r':
            b->rate = atof(optarg);
            break;
        case 'P':
            b->path = optarg;
            break;
        case 's':
            if (!strcmp(optarg, "idle"))
                b->scenario = SC_IDLE;
            else if (!strcmp(optarg, "echo-ack"))
                b->scenario = SC_ECHO_ACK;
            else if (!strcmp(optarg, "broadcast"))
                b->scenario = SC_BROADCAST;
            else {
                fprintf(stderr, "sio-bench: unknown scenario %s\n", optarg);
                return -1;
            }
            break;
        case 'n':
            b->n = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'S':
            b->seconds = atof(optarg);
            break;
        case 'u':
            b->warmup = atof(optarg);
            break;
        case 'w':
            b->window = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            b->payload_size = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'k':
            b->concurrency = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'a':
            b->sources = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'i':
            b->server_pid = atol(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc || b->port <= 0 || b->port > 65535 || !b->n || !b->window ||
        !b->concurrency || !b->sources || b->sources > 254 || b->seconds <= 0 || b->warmup < 0 ||
        b->payload_size > (1u << 24) || b->window > (1u << 20) || !(b->rate > 0) ||
        b->n > (1u << 24)) {
        usage(stderr);
        return -1;
    }
    if (b->scenario == SC_BROADCAST) b->n++; /* client 0 sends */
    return 0;
}

/* The args of every emit, encoded once: ["echo-ack","yyy..."] or ["broadcast","yyy..."]. */
static int build_tail(bench *b)
{
    char *s = sio__malloc(b->payload_size + 1);
    if (!s) return SIO_ENOMEM;
    memset(s, 'y', b->payload_size);
    s[b->payload_size] = 0;
    json_t *args = json_pack("[ss]", b->scenario == SC_BROADCAST ? "broadcast" : "echo-ack", s);
    sio__free(s);
    if (!args) return SIO_ENOMEM;
    int rc = sio__sp_stringify(&b->tail, args, 0);
    json_decref(args);
    return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
    bench b = {.host = "127.0.0.1",
               .path = "/socket.io/",
               .n = 1,
               .window = 1,
               .concurrency = 64,
               .sources = 1,
               .payload_size = 32,
               .seconds = 2,
               .rate = 100,
               .warmup = 1};
    if (parse_args(&b, argc, argv)) return 2;

    /* As many descriptors as the hard limit allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    b.ring = 1;
    while (b.ring < b.window) b.ring <<= 1;
    b.clients = sio__calloc(b.n, sizeof *b.clients);
    b.slab = sio__malloc(SLAB_SIZE);
    uint64_t *rings = sio__calloc((size_t)b.n * b.ring, sizeof *rings);
    if (!b.clients || !b.slab || !rings || build_tail(&b)) {
        fprintf(stderr, "sio-bench: out of memory\n");
        return 2;
    }
    for (uint32_t i = 0; i < b.n; i++) {
        client *c = &b.clients[i];
        c->b = &b;
        c->index = i;
        c->mask_state = 2463534242u ^ (i * 2654435761u);
        if (!c->mask_state) c->mask_state = 1;
        c->next_id = 1;
        c->sent_at = rings + (size_t)i * b.ring;
        sio__ws_parser_init(&c->ws, &(sio__ws_options){.role = SIO_WS_ROLE_CLIENT});
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    b.loop = &loop;
    uv_prepare_init(&loop, &b.flush);
    b.flush.data = &b;
    uv_prepare_start(&b.flush, on_flush);
    uv_timer_init(&loop, &b.timer);
    b.timer.data = &b;
    uv_timer_init(&loop, &b.pacer);
    b.pacer.data = &b;

    b.rss_before = proc_rss_kb(b.server_pid);
    b.t0_ns = uv_hrtime();
    b.ticks0 = proc_ticks(b.server_pid);
    b.cpu0 = self_cpu_s();
    connect_next(&b);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    if (rc) fprintf(stderr, "sio-bench: loop not closed: %s\n", uv_strerror(rc));

    for (uint32_t i = 0; i < b.n; i++) /* clients never started */
        sio__ws_parser_free(&b.clients[i].ws);
    sio__buf_free(&b.tail);
    sio__free(rings);
    sio__free(b.slab);
    sio__free(b.clients);
    return b.failed_run || rc ? 1 : 0;
}
