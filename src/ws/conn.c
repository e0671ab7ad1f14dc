/*
 * WebSocket connections: the handshake on top of HTTP, then the frame codec over a
 * connection taken over from the HTTP server.
 *
 * Input goes straight from the loop's receive slab through the frame parser, which
 * unmasks in place and hands whole messages out as spans; only fragmented messages or
 * messages split across reads are copied (by the parser). Compressed messages are
 * inflated into a buffer that lives for the delivery only, so an idle connection holds
 * only the parser state, kept in the room its net connection reserved for it.
 *
 * Output is a frame header and the payload queued on the net connection, which coalesces
 * small writes and flushes once per loop turn. A bounded queue gives backpressure: sends
 * fail with SIO_EAGAIN past max_buffered, and on_drain says when to go on. (Engine.IO
 * keeps its own bound and sends through the internal calls, which do not check it.) A
 * peer that keeps pinging without reading would grow the queue with pongs: past
 * max_buffered its connection is dropped.
 *
 * Closing follows RFC 6455 section 7: the side that starts sends a close frame and waits
 * (close_timeout_ms) for the answer; a received close frame is echoed; the server then
 * ends the TCP connection. A protocol violation sends its close code (1002, 1007, 1009)
 * and ends the connection. on_close reports the peer's code, or 1006 when none came.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ws/deflate.h"
#include "ws/frame.h"
#include "ws/handshake.h"
#include "ws/ws.h"

#define DEFAULT_MAX_MESSAGE   ((size_t)100 << 20)
#define DEFAULT_THRESHOLD     1024
#define DEFAULT_MAX_BUFFERED  ((size_t)16 << 20)
#define DEFAULT_CLOSE_TIMEOUT 5000

struct sio_ws {
    sio__conn *c;
    sio__ws_group *group;
    sio__ws_parser parser;
    sio__pmd *pmd;
    const char *protocol;
    void *data;
    char *peer_reason; /* from the peer's close frame */
    uint16_t peer_code;
    unsigned close_sent : 1, close_received : 1, failed : 1, want_drain : 1, embedded : 1;
};

/* Embedded in a connection's reserved room, which is 8-byte aligned. */
_Static_assert(_Alignof(sio_ws) <= 8, "sio_ws fits the connection's reserved room");

size_t sio__ws_conn_size(void)
{
    return sizeof(sio_ws);
}

static const sio_ws_options *OPT(const sio_ws *ws)
{
    return &ws->group->opt;
}

void sio__ws_group_init(sio__ws_group *g, const sio_ws_options *opt)
{
    memset(g, 0, sizeof(*g));
    if (opt) g->opt = *opt;
    if (!g->opt.max_message) g->opt.max_message = DEFAULT_MAX_MESSAGE;
    if (!g->opt.deflate_threshold) g->opt.deflate_threshold = DEFAULT_THRESHOLD;
    if (!g->opt.max_buffered) g->opt.max_buffered = DEFAULT_MAX_BUFFERED;
    if (!g->opt.close_timeout_ms) g->opt.close_timeout_ms = DEFAULT_CLOSE_TIMEOUT;
}

/* ---- output ---- */

static int send_frame(sio_ws *ws, int opcode, const uint8_t *data, size_t len, int rsv1)
{
    uint8_t head[SIO_WS_MAX_HEADER];
    size_t hl = sio__ws_encode_header(head, 1, opcode, rsv1, len, NULL);
    if (len > 64 * 1024) return sio__conn_write_through(ws->c, head, hl, data, len);
    int r = sio__conn_write(ws->c, head, hl);
    return r || !len ? r : sio__conn_write(ws->c, data, len);
}

static void send_close(sio_ws *ws, uint16_t code, const char *reason)
{
    if (ws->close_sent) return;
    uint8_t payload[SIO_WS_MAX_CONTROL];
    size_t n = sio__ws_close_payload(payload, code, reason, reason ? strlen(reason) : 0);
    ws->close_sent = 1;
    send_frame(ws, SIO_WS_OP_CLOSE, payload, n, 0);
}

/* End the connection once the close frame is written: within close_timeout_ms, since a
 * peer that does not read would otherwise keep it (and what it queued) forever. */
static void end_conn(sio_ws *ws)
{
    sio__conn_set_deadline(ws->c, OPT(ws)->close_timeout_ms);
    sio__conn_end(ws->c);
}

/* The peer broke the protocol: say why and end the connection. */
static void fail(sio_ws *ws, uint16_t code, const char *reason)
{
    if (ws->failed) return;
    ws->failed = 1;
    if (!ws->close_received) ws->peer_code = code; /* what on_close reports */
    /* A message over the limit is worth a line; other protocol violations are noise. */
    char peer[64] = "?";
    sio__conn_peer(ws->c, peer, sizeof(peer));
    sio__log(sio__net_log(ws->c->net), code == 1009 ? SIO_LOG_INFO : SIO_LOG_DEBUG,
             "websocket: %s: closing with %u: %s", peer, code, reason ? reason : "");
    send_close(ws, code, reason);
    end_conn(ws);
}

int sio_ws_send(sio_ws *ws, const void *data, size_t len, int binary)
{
    if (!ws || ws->close_sent || ws->failed) return SIO_ECLOSED;
    if (sio__conn_queued(ws->c) > OPT(ws)->max_buffered) {
        ws->want_drain = 1;
        sio__conn_want_drain(ws->c);
        return SIO_EAGAIN;
    }
    return sio__ws_send(ws, data, len, binary, 1);
}

int sio__ws_send(sio_ws *ws, const void *data, size_t len, int binary, int compress)
{
    if (!ws || ws->close_sent || ws->failed) return SIO_ECLOSED;
    if (!data && len) return SIO_EINVAL;
    if (!binary && !sio__utf8_valid(data, len)) return SIO_EUTF8;
    int opcode = binary ? SIO_WS_OP_BINARY : SIO_WS_OP_TEXT;
    if (compress && ws->pmd && len >= OPT(ws)->deflate_threshold) {
        sio__buf z = SIO__BUF_INIT;
        int r = sio__pmd_compress(ws->pmd, data, len, &z);
        if (!r) r = send_frame(ws, opcode, z.data, z.len, 1);
        sio__buf_free(&z);
        return r;
    }
    return send_frame(ws, opcode, data, len, 0);
}

int sio__ws_send_shared(sio_ws *ws, sio__bytes *frame, size_t payload_len, int compress)
{
    if (!ws || ws->close_sent || ws->failed) return SIO_ECLOSED;
    if (compress && ws->pmd && payload_len >= OPT(ws)->deflate_threshold) return SIO_ESTATE;
    return sio__conn_write_bytes(ws->c, frame, 0, frame->len);
}

int sio__ws_send_frame(sio_ws *ws, sio__bytes *frame, size_t off, size_t len)
{
    if (!ws || ws->close_sent || ws->failed) return SIO_ECLOSED;
    return sio__conn_write_bytes(ws->c, frame, off, len);
}

void sio__ws_terminate(sio_ws *ws)
{
    if (!ws || !ws->c) return;
    if (!ws->close_received && !ws->failed) ws->peer_code = SIO_WS_CLOSE_ABNORMAL;
    ws->failed = 1;
    sio__conn_close(ws->c);
}

int sio_ws_ping(sio_ws *ws, const void *data, size_t len)
{
    if (!ws || ws->close_sent || ws->failed) return SIO_ECLOSED;
    if (len > SIO_WS_MAX_CONTROL || (!data && len)) return SIO_EINVAL;
    return send_frame(ws, SIO_WS_OP_PING, data, len, 0);
}

int sio_ws_close(sio_ws *ws, int code, const char *reason)
{
    if (!ws || ws->close_sent || ws->failed) return SIO_ECLOSED;
    if (code && (code < 0 || code > 4999 || !sio__ws_close_code_valid((unsigned)code)))
        return SIO_EINVAL;
    send_close(ws, (uint16_t)code, reason);
    if (ws->close_received)
        end_conn(ws);
    else
        sio__conn_set_deadline(ws->c, OPT(ws)->close_timeout_ms);
    return 0;
}

size_t sio_ws_buffered(const sio_ws *ws)
{
    return ws && ws->c ? sio__conn_queued(ws->c) : 0;
}

void sio_ws_want_drain(sio_ws *ws)
{
    if (!ws || !ws->c) return;
    ws->want_drain = 1;
    sio__conn_want_drain(ws->c);
}

const char *sio_ws_protocol(const sio_ws *ws)
{
    return ws->protocol;
}

void sio_ws_set_data(sio_ws *ws, void *data)
{
    ws->data = data;
}

void *sio_ws_data(const sio_ws *ws)
{
    return ws->data;
}

/* ---- input ---- */

static int on_message(void *ud, int opcode, const uint8_t *data, size_t len, int compressed)
{
    sio_ws *ws = ud;
    if (ws->failed || ws->close_sent) return 0; /* closing: data is dropped */
    sio__buf inflated = SIO__BUF_INIT;
    if (compressed) {
        if (!ws->pmd) {
            fail(ws, SIO_WS_CLOSE_PROTOCOL, "RSV1 without permessage-deflate");
            return 1;
        }
        int r = sio__pmd_decompress(ws->pmd, data, len, &inflated);
        if (r) {
            sio__buf_free(&inflated);
            if (r == SIO_ETOOBIG)
                fail(ws, SIO_WS_CLOSE_TOO_BIG, "message too big");
            else
                fail(ws, SIO_WS_CLOSE_INVALID_DATA, "invalid compressed data");
            return 1;
        }
        data = inflated.data ? inflated.data : (const uint8_t *)"";
        len = inflated.len;
        if (opcode == SIO_WS_OP_TEXT && !sio__utf8_valid(data, len)) {
            sio__buf_free(&inflated);
            fail(ws, SIO_WS_CLOSE_INVALID_DATA, "invalid UTF-8");
            return 1;
        }
    }
    const sio_ws_options *o = OPT(ws);
    if (o->on_message) o->on_message(ws, data, len, opcode == SIO_WS_OP_BINARY, o->ud);
    sio__buf_free(&inflated);
    return ws->failed;
}

static int on_control(void *ud, int opcode, const uint8_t *data, size_t len)
{
    sio_ws *ws = ud;
    const sio_ws_options *o = OPT(ws);
    switch (opcode) {
    case SIO_WS_OP_PING:
        if (ws->close_sent || ws->failed) return 0;
        if (sio__conn_queued(ws->c) > o->max_buffered) {
            /* Pings from a peer that reads nothing: the pongs would pile up. */
            sio__log_info(sio__net_log(ws->c->net),
                          "websocket: peer pings but does not read (%zu bytes queued, "
                          "max_buffered %zu): dropping the connection",
                          sio__conn_queued(ws->c), o->max_buffered);
            sio__ws_terminate(ws);
            return 1;
        }
        send_frame(ws, SIO_WS_OP_PONG, data, len, 0);
        return 0;
    case SIO_WS_OP_PONG:
        if (o->on_pong && !ws->failed) o->on_pong(ws, data, len, o->ud);
        return 0;
    default: /* CLOSE */
        ws->close_received = 1;
        ws->peer_code = sio__ws_close_code(data, len);
        if (len > 2) ws->peer_reason = sio__strndup((const char *)data + 2, len - 2);
        /* Echo the code (none if none came), then end the TCP connection. */
        send_close(ws, ws->peer_code == SIO_WS_CLOSE_NO_STATUS ? 0 : ws->peer_code, NULL);
        end_conn(ws);
        return 1;
    }
}

static const sio__ws_events parser_events = {
    .on_message = on_message,
    .on_control = on_control,
};

static void on_conn_read(sio__conn *c, uint8_t *data, size_t n, void *ud)
{
    sio_ws *ws = ud;
    if (ws->failed || ws->close_received) return;
    ptrdiff_t r = sio__ws_parse(&ws->parser, data, n, &parser_events, ws);
    if (r < 0) fail(ws, ws->parser.close_code, ws->parser.reason);
}

static void on_conn_eof(sio__conn *c, int err, void *ud)
{
    sio__conn_close(c);
}

static void on_conn_timeout(sio__conn *c, void *ud)
{
    /* The peer never answered our close frame. */
    sio__conn_close(c);
}

static void on_conn_drain(sio__conn *c, void *ud)
{
    sio_ws *ws = ud;
    if (!ws->want_drain) return;
    ws->want_drain = 0;
    const sio_ws_options *o = OPT(ws);
    if (o->on_drain && !ws->close_sent && !ws->failed) o->on_drain(ws, o->ud);
}

static void on_conn_close(sio__conn *c, void *ud)
{
    sio_ws *ws = ud;
    const sio_ws_options *o = OPT(ws);
    ws->group->count--;
    ws->c = NULL;
    ws->close_sent = 1;
    int code = ws->close_received || ws->failed ? ws->peer_code : SIO_WS_CLOSE_ABNORMAL;
    if (o->on_close) o->on_close(ws, code, ws->peer_reason ? ws->peer_reason : "", o->ud);
    sio__free(ws->peer_reason);
    sio__ws_parser_free(&ws->parser);
    sio__pmd_free(ws->pmd);
    if (!ws->embedded) sio__free(ws);
}

static const sio__conn_events conn_events = {
    .on_read = on_conn_read,
    .on_eof = on_conn_eof,
    .on_drain = on_conn_drain,
    .on_timeout = on_conn_timeout,
    .on_close = on_conn_close,
};

/* ---- the handshake ---- */

static void refuse(sio_http_res *res, int status, const char *why)
{
    char body[128];
    size_t n = (size_t)snprintf(body, sizeof(body), "%s\n", why ? why : "Forbidden");
    sio_http_res_send(res, status, "text/plain; charset=utf-8", body, n);
}

sio_ws *sio__ws_accept(sio__ws_group *g, sio_http_req *req, sio_http_res *res)
{
    const sio_ws_options *o = &g->opt;
    const char *why = NULL;
    const char *key = sio_http_req_header(req, "sec-websocket-key");
    int st = sio__ws_check_request(!strcmp(sio_http_req_method(req), "GET"), req->http_major,
                                   req->http_minor, sio_http_req_header(req, "upgrade"),
                                   sio_http_req_header(req, "connection"),
                                   sio_http_req_header(req, "sec-websocket-version"), key, &why);
    if (st) {
        if (st == 426) sio_http_res_header(res, "Sec-WebSocket-Version", "13");
        if (!req->upgrade && st == 400) st = 426; /* a plain GET on a WebSocket endpoint */
        refuse(res, st, why);
        return NULL;
    }
    if (o->on_upgrade && (st = o->on_upgrade(req, o->ud)) != 0) {
        refuse(res, st < 400 || st > 599 ? 403 : st, "Forbidden");
        return NULL;
    }

    /* Negotiate into a local copy first: the state moves into the connection's reserved
     * room once the connection is ours. */
    sio_ws tmp, *ws = &tmp;
    memset(ws, 0, sizeof(*ws));
    ws->group = g;
    int pi = sio__ws_select_protocol(sio_http_req_header(req, "sec-websocket-protocol"),
                                     o->subprotocols, o->nsubprotocols);
    ws->protocol = pi >= 0 ? o->subprotocols[pi] : NULL;
    char ext[256] = "";
    const char *offer = sio_http_req_header(req, "sec-websocket-extensions");
    if (o->per_message_deflate && offer) {
        sio__pmd_params params;
        sio__pmd_config cfg = {0};
        if (sio__pmd_negotiate(offer, &cfg, &params, ext, sizeof(ext)) == 1) {
            ws->pmd = sio__pmd_new(&params, SIO__PMD_SERVER, o->max_message);
            if (!ws->pmd) ext[0] = 0;
        } else {
            ext[0] = 0;
        }
    }
    sio__ws_options po = {
        .max_message = o->max_message,
        .role = SIO_WS_ROLE_SERVER,
        .rsv1_allowed = ws->pmd != NULL,
    };
    sio__ws_parser_init(&ws->parser, &po);

    sio__buf left = SIO__BUF_INIT;
    sio__conn *c = sio__http_takeover(req, &left);
    sio_ws *mem = NULL;
    if (c) {
        mem = sio__conn_ext(c, sizeof(sio_ws));
        if (mem)
            tmp.embedded = 1;
        else
            mem = sio__malloc(sizeof(sio_ws));
    }
    if (!mem) {
        sio__pmd_free(ws->pmd);
        sio__ws_parser_free(&ws->parser);
        sio__buf_free(&left);
        if (c)
            sio__conn_close(c);
        else
            refuse(res, 500, "Internal Server Error");
        return NULL;
    }
    *mem = tmp;
    ws = mem;
    ws->c = c;
    sio__conn_set_handler(c, &conn_events, ws);
    g->count++;

    char accept[29], head[512];
    sio__ws_accept_key(key, accept);
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s%s%s%s\r\n",
                      accept, ws->protocol ? "Sec-WebSocket-Protocol: " : "",
                      ws->protocol ? ws->protocol : "", ws->protocol ? "\r\n" : "",
                      ext[0] ? "Sec-WebSocket-Extensions: " : "", ext, ext[0] ? "\r\n" : "");
    if (hn < 0 || (size_t)hn >= sizeof(head) || sio__conn_write(c, head, (size_t)hn))
        sio__conn_close(c);

    if (o->on_open) o->on_open(ws, req, o->ud);
    if (left.len && !ws->failed) on_conn_read(c, left.data, left.len, ws);
    sio__buf_free(&left);
    return ws;
}

void sio__ws_handler(sio_http_req *req, sio_http_res *res, void *ud)
{
    sio__ws_accept(ud, req, res);
}

typedef struct close_all {
    sio__ws_group *g;
    int code;
    const char *reason;
} close_all;

static void close_if_in_group(sio__conn *c, void *ud)
{
    const close_all *ca = ud;
    if (c->ev != &conn_events) return;
    sio_ws *ws = c->ud;
    if (ws->group == ca->g && !ws->close_sent && !ws->failed)
        sio_ws_close(ws, ca->code, ca->reason);
}

/* The group's connections are found among the context's: a list of its own would cost
 * every connection two pointers. */
void sio__ws_group_close_all(sio__ws_group *g, sio__net *net, int code, const char *reason)
{
    close_all ca = {g, code, reason};
    sio__net_each_conn(net, close_if_in_group, &ca);
}
