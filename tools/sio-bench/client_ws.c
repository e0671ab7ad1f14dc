/*
 * The WebSocket transport: one TCP connection per client, the HTTP upgrade, then masked
 * frames both ways. Frames are built with libsio's WebSocket codec (client role: masked,
 * with a xorshift key per frame) and parsed by it; each text message is decoded as one
 * Engine.IO packet and handed to scenario.c. WebSocket pings are answered here, Engine.IO
 * pings by scenario.c.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#include "base/alloc.h"
#include "eio/packet.h"

#define ACCEPT_VALUE "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* for the key below (RFC 6455 1.3) */
#define WS_KEY       "dGhlIHNhbXBsZSBub25jZQ=="

static uint32_t next_mask(client *c)
{
    uint32_t x = c->mask_state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return c->mask_state = x;
}

/* Queue one masked frame whose payload is a[0..an) then z[0..zn). */
static int send_frame(client *c, int opcode, const void *a, size_t an, const void *z, size_t zn)
{
    conn *k = &c->io[0];
    size_t len = an + zn;
    if (sio__buf_reserve(&k->out, SIO_WS_MAX_HEADER + len)) return SIO_ENOMEM;
    uint32_t m = next_mask(c);
    uint8_t key[4] = {(uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24)};
    uint8_t *p = k->out.data + k->out.len;
    size_t h = sio__ws_encode_header(p, 1, opcode, 0, len, key);
    if (an) memcpy(p + h, a, an);
    if (zn) memcpy(p + h + an, z, zn);
    sio__ws_mask(p + h, len, key, 0);
    k->out.len += h + len;
    conn_schedule(k);
    return 0;
}

static int ws_send(client *c, const void *a, size_t an, const void *z, size_t zn)
{
    return send_frame(c, SIO_WS_OP_TEXT, a, an, z, zn);
}

static int on_ws_message(void *ud, int opcode, const uint8_t *data, size_t len, int compressed)
{
    client *c = ud;
    sio__eio_packet p;
    if (opcode != SIO_WS_OP_TEXT || sio__eio_decode_text(data, len, &p)) {
        client_close(c);
        return 1;
    }
    sc_eio_packet(c, p.type, p.data, p.len);
    return c->state >= C_CLOSING;
}

static int on_ws_control(void *ud, int opcode, const uint8_t *data, size_t len)
{
    client *c = ud;
    if (opcode == SIO_WS_OP_PING) {
        send_frame(c, SIO_WS_OP_PONG, data, len, NULL, 0);
    } else if (opcode == SIO_WS_OP_CLOSE) {
        client_close(c);
        return 1;
    }
    return 0;
}

static const sio__ws_events ws_events = {on_ws_message, on_ws_control};

/* The upgrade response: returns the bytes after its header, -1 when incomplete, -2 on
 * failure. */
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

static void ws_read(conn *k, uint8_t *in, size_t n)
{
    client *c = k->c;
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

static void ws_connected(conn *k)
{
    client *c = k->c;
    bench *b = c->b;
    c->state = C_HTTP;
    char req_text[512];
    int n = snprintf(req_text, sizeof req_text,
                     "GET %s?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     b->path, b->host, b->port);
    if (n < 0 || (size_t)n >= sizeof req_text || sio__buf_append(&k->out, req_text, (size_t)n) ||
        !(c->http = sio__malloc(HTTP_MAX))) {
        client_close(c);
        return;
    }
    c->http_len = 0;
    conn_schedule(k);
}

static int ws_start(client *c)
{
    sio__ws_parser_init(&c->ws, &(sio__ws_options){.role = SIO_WS_ROLE_CLIENT});
    return conn_open(&c->io[0], c);
}

static void ws_release(client *c)
{
    sio__ws_parser_free(&c->ws);
    sio__free(c->http);
    c->http = NULL;
}

/* A reset: see conn.c. */
static void ws_done(client *c)
{
    client_recycle(c);
}

const transport ws_transport = {
    .start = ws_start,
    .connected = ws_connected,
    .read = ws_read,
    .send = ws_send,
    .release = ws_release,
    .done = ws_done,
    .name = "websocket",
};
