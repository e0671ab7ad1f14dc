/*
 * The HTTP/1.1 server: connections, dispatch to routes, and the response writer.
 *
 * Each connection parses one request at a time. When a request is complete it is routed
 * and handed to its handler; parsing stops until the response has ended, and bytes that
 * arrive meanwhile (pipelined requests) are kept in a small stash, so responses always
 * leave in request order without queueing parsed requests. A handler may answer at once
 * or later (long-polling, file reads), or hand the connection over to another protocol
 * (sio__http_takeover, for WebSocket).
 *
 * Errors in the request itself (malformed, head too large, body too large) are answered
 * with their status and "Connection: close", and the connection ends gracefully; nothing
 * else is affected. Timeouts are connection deadlines swept by the net layer: the head
 * must arrive within header_timeout_ms, an idle keep-alive connection lasts
 * keepalive_timeout_ms, and a body must finish within the request timeout.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "http/date.h"
#include "http/http.h"

#define REQUEST_TIMEOUT_MS (300 * 1000)
#define STASH_LIMIT        (64 * 1024)
#define DISCARD_LIMIT      (1u << 20)
#define COPY_BODY_LIMIT    (16 * 1024)
#define POOL_MAX           64

enum { HC_IDLE, HC_READING, HC_HANDLING, HC_ENDING, HC_DETACHED };

struct sio_http_res {
    sio__http_conn *hc;
    int status;
    sio__buf extra; /* extra header lines */
    uint64_t remaining;
    unsigned active : 1, head_sent : 1, ended : 1, is_head : 1, close_after : 1;
    sio_http_res_close_cb close_cb;
    void *close_ud;
    void (*drain_cb)(sio_http_res *res, void *ud);
    void *drain_ud;
};

struct sio__http_conn {
    sio__http_server *srv;
    sio__conn *c;
    sio__list node;
    sio__http_parser parser;
    sio_http_req req;
    sio_http_res res;
    sio__buf stash;
    const sio__http_route *route;
    const uint8_t *cur; /* unparsed input while a request is dispatched */
    size_t cur_len;
    size_t discarded;
    int in_feed;
    int state;
    unsigned method_ok : 1, reading_stopped : 1;
    unsigned secure : 1; /* accepted on a TLS listener; kept past a takeover */
};

struct sio__http_server {
    sio__net *net;
    sio__http_options opt;
    sio__http_router router;
    sio__listener **listeners;
    size_t nlisteners;
    sio__list conns;
    size_t nconns;
    sio__list pool; /* released connection states, kept for reuse */
    size_t npool;
    sio__list orphans; /* states whose connection closed before their handler answered */
    int shutting_down;
    void (*done)(void *ud);
    void *done_ud;
    int64_t date_sec;
    char date[32];
};

static void process(sio__http_conn *hc, const uint8_t *data, size_t n, int from_stash);
static void finish_response(sio__http_conn *hc);

static const char *status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return status < 300   ? "OK"
               : status < 400 ? "Redirect"
               : status < 500 ? "Client Error"
                              : "Server Error";
    }
}

static const char *date_header(sio__http_server *s)
{
    int64_t now = (int64_t)time(NULL);
    if (now != s->date_sec) {
        s->date_sec = now;
        sio__http_date_format(s->date, now);
    }
    return s->date;
}

static void check_done(sio__http_server *s)
{
    if (s->shutting_down && !s->nconns && s->done) {
        void (*done)(void *) = s->done;
        s->done = NULL;
        done(s->done_ud);
    }
}

/* ---- connection lifetime ---- */

/* Pool or free a state that is in no list. */
static void hc_release(sio__http_conn *hc)
{
    sio__http_server *s = hc->srv;
    sio__buf_free(&hc->stash);
    if (s->npool < POOL_MAX && !s->shutting_down) {
        /* Keep the state (and its small buffers) for the next connection. Reusing it
         * also keeps these short-lived blocks from interleaving in the heap with the
         * long-lived state of upgraded connections. */
        sio__http_req_reset(&hc->req);
        if (hc->res.extra.cap > 4096) sio__buf_free(&hc->res.extra);
        sio__list_push_back(&s->pool, &hc->node);
        s->npool++;
    } else {
        sio__http_req_free(&hc->req);
        sio__buf_free(&hc->res.extra);
        sio__free(hc);
    }
}

static void hc_free(sio__http_conn *hc)
{
    sio__http_server *s = hc->srv;
    sio__list_remove(&hc->node);
    s->nconns--;
    hc_release(hc);
    check_done(s);
}

/* The response of an orphan (see on_conn_close) ends: the state can go. */
static int orphan_end(sio_http_res *res)
{
    res->ended = 1;
    res->active = 0;
    sio__list_remove(&res->hc->node);
    hc_release(res->hc);
    return SIO_ECLOSED;
}

static sio__http_conn *hc_alloc(sio__http_server *s)
{
    if (sio__list_empty(&s->pool)) return sio__calloc(1, sizeof(sio__http_conn));
    sio__http_conn *hc = sio__container_of(s->pool.next, sio__http_conn, node);
    sio__list_remove(&hc->node);
    s->npool--;
    sio__buf head = hc->req.head, body = hc->req.body, extra = hc->res.extra;
    sio__http_header *headers = hc->req.headers;
    uint32_t headers_cap = hc->req.headers_cap;
    memset(hc, 0, sizeof(*hc));
    hc->req.head = head;
    hc->req.head.len = 0;
    hc->req.body = body;
    hc->req.body.len = 0;
    hc->req.headers = headers;
    hc->req.headers_cap = headers_cap;
    hc->res.extra = extra;
    hc->res.extra.len = 0;
    return hc;
}

static void on_conn_close(sio__conn *c, void *ud)
{
    sio__http_conn *hc = ud;
    sio_http_res *res = &hc->res;
    hc->c = NULL;
    if (res->active && !res->ended && !res->close_cb) {
        /* The handler will answer later and did not ask to hear of the close: req and res
         * stay valid (and out of the pool, so they cannot answer the next connection's
         * request) until it ends the response, which then fails with SIO_ECLOSED. */
        sio__http_server *s = hc->srv;
        sio__list_remove(&hc->node);
        s->nconns--;
        sio__list_push_back(&s->orphans, &hc->node);
        check_done(s);
        return;
    }
    if (res->active && !res->ended) {
        res->ended = 1;
        res->close_cb(res, res->close_ud);
    }
    hc_free(hc);
}

static void on_conn_read(sio__conn *c, uint8_t *data, size_t n, void *ud)
{
    sio__http_conn *hc = ud;
    if (hc->state == HC_ENDING) return;
    if (hc->state == HC_HANDLING || hc->stash.len) {
        if (sio__buf_append(&hc->stash, data, n)) {
            sio__conn_close(c);
            return;
        }
        if (hc->state == HC_HANDLING) {
            if (hc->stash.len > STASH_LIMIT) {
                sio__conn_read_stop(c);
                hc->reading_stopped = 1;
            }
            return;
        }
        process(hc, hc->stash.data, hc->stash.len, 1);
        return;
    }
    process(hc, data, n, 0);
}

static void on_conn_eof(sio__conn *c, int err, void *ud)
{
    sio__http_conn *hc = ud;
    /* A half-closed peer may still wait for the answer to a request in progress, unless
     * the handler watches for aborts (a long poll: a client that stopped sending is gone,
     * as Node's server sees it). A reset peer waits for nothing. */
    if (hc->state == HC_HANDLING && err == UV_EOF && !hc->res.close_cb) {
        hc->res.close_after = 1;
        return;
    }
    sio__conn_close(c);
}

static void on_conn_timeout(sio__conn *c, void *ud)
{
    sio__http_conn *hc = ud;
    if (hc->state == HC_READING) {
        sio__log_info(sio__net_log(hc->srv->net),
                      "%s: 408 Request Timeout (request not complete in time)", hc->req.remote);
        static const char msg[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
        sio__conn_write(c, msg, sizeof(msg) - 1);
        hc->state = HC_ENDING;
        sio__conn_end(c);
        return;
    }
    sio__conn_close(c);
}

static void on_conn_drain(sio__conn *c, void *ud)
{
    sio__http_conn *hc = ud;
    sio_http_res *res = &hc->res;
    if (res->active && !res->ended && res->drain_cb) {
        void (*cb)(sio_http_res *, void *) = res->drain_cb;
        res->drain_cb = NULL;
        cb(res, res->drain_ud);
    }
}

static const sio__conn_events conn_events = {
    .on_read = on_conn_read,
    .on_eof = on_conn_eof,
    .on_drain = on_conn_drain,
    .on_timeout = on_conn_timeout,
    .on_close = on_conn_close,
};

/* ---- parsing and dispatch ---- */

static void send_error(sio__http_conn *hc, int status, const char *reason)
{
    const char *text = status_text(status);
    char buf[256];
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                     status, text, date_header(hc->srv), strlen(text) + 1, text);
    sio__log_info(sio__net_log(hc->srv->net), "%s: %d %s (%s)", hc->req.remote, status, text,
                  reason ? reason : "");
    sio__conn_write(hc->c, buf, (size_t)n);
    hc->state = HC_ENDING;
    sio__conn_end(hc->c);
}

static int on_head(sio_http_req *req, void *ud)
{
    sio__http_conn *hc = ud;
    sio__http_server *s = hc->srv;
    hc->route = sio__http_router_match(&s->router, sio_http_req_path(req));
    unsigned bit = sio__http_method_bit(req->method);
    hc->method_ok = hc->route && (hc->route->methods & bit);
    hc->discarded = 0;
    sio__conn_set_deadline(hc->c, REQUEST_TIMEOUT_MS);
    if (!req->has_body) return 0;
    if (!hc->method_ok) return req->expect_continue ? (hc->route ? 405 : 404) : 0;
    if (req->content_length > hc->route->max_body) return 413;
    if (req->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        sio__conn_write(hc->c, cont, sizeof(cont) - 1);
    }
    return 0;
}

static int on_body(sio_http_req *req, const uint8_t *p, size_t n, void *ud)
{
    sio__http_conn *hc = ud;
    if (!hc->method_ok) {
        /* Answered with 404/405 once complete; don't keep what nobody reads. */
        hc->discarded += n;
        return hc->discarded > DISCARD_LIMIT ? 413 : 0;
    }
    if (req->body.len + n > hc->route->max_body) return 413;
    return sio__buf_append(&req->body, p, n) ? 503 : 0;
}

static const sio__http_parser_events parser_events = {
    .on_head = on_head,
    .on_body = on_body,
};

static void dispatch(sio__http_conn *hc)
{
    sio__http_server *s = hc->srv;
    sio_http_req *req = &hc->req;
    sio_http_res *res = &hc->res;
    hc->state = HC_HANDLING;
    sio__conn_set_deadline(hc->c, 0);
    res->status = 200;
    res->extra.len = 0;
    res->remaining = 0;
    res->active = 1;
    res->head_sent = res->ended = 0;
    res->is_head = req->method == HTTP_HEAD;
    res->close_after = !req->keep_alive || s->shutting_down;
    res->close_cb = NULL;
    res->drain_cb = NULL;
    /* A request body nobody reads can't be buffered: it was discarded, answer it too. */
    if (!hc->route) {
        sio_http_res_send(res, 404, "text/plain; charset=utf-8", "Not Found\n", 10);
        return;
    }
    if (!hc->method_ok) {
        char allow[80];
        sio__http_allow_header(hc->route->methods, allow, sizeof(allow));
        sio_http_res_header(res, "Allow", allow);
        sio_http_res_send(res, 405, "text/plain; charset=utf-8", "Method Not Allowed\n", 19);
        return;
    }
    hc->route->handler(req, res, hc->route->ud);
}

static void process(sio__http_conn *hc, const uint8_t *data, size_t n, int from_stash)
{
    size_t off = 0;
    hc->in_feed++;
    while (off < n && (hc->state == HC_IDLE || hc->state == HC_READING)) {
        if (hc->state == HC_IDLE) {
            hc->state = HC_READING;
            sio__conn_set_deadline(hc->c, hc->srv->opt.header_timeout_ms);
        }
        ptrdiff_t r = sio__http_parser_execute(&hc->parser, data + off, n - off);
        if (r < 0) {
            send_error(hc, hc->parser.status, hc->parser.reason);
            break;
        }
        off += (size_t)r;
        if (hc->parser.complete) {
            hc->cur = data + off;
            hc->cur_len = n - off;
            dispatch(hc);
            hc->cur = NULL;
            if (hc->state == HC_DETACHED) off = n;
        }
    }
    hc->in_feed--;
    if (hc->state == HC_DETACHED) {
        hc_free(hc);
        return;
    }
    if (from_stash) {
        sio__buf_consume(&hc->stash, off);
    } else if (off < n && hc->state == HC_HANDLING) {
        if (sio__buf_append(&hc->stash, data + off, n - off)) sio__conn_close(hc->c);
    }
    if (hc->state == HC_IDLE && hc->srv->shutting_down) {
        hc->state = HC_ENDING;
        sio__conn_end(hc->c);
    }
}

static void finish_response(sio__http_conn *hc)
{
    sio_http_res *res = &hc->res;
    res->active = 0;
    if (res->close_after || hc->req.upgrade) {
        hc->state = HC_ENDING;
        sio__conn_end(hc->c);
        return;
    }
    sio__http_parser_next(&hc->parser);
    hc->state = HC_IDLE;
    sio__conn_set_deadline(hc->c, hc->srv->opt.keepalive_timeout_ms);
    if (hc->reading_stopped) {
        hc->reading_stopped = 0;
        sio__conn_read_start(hc->c);
    }
    /* Inside process() the loop picks up the next request itself. */
    if (!hc->in_feed && hc->stash.len)
        process(hc, hc->stash.data, hc->stash.len, 1);
    else if (!hc->in_feed && hc->srv->shutting_down && hc->state == HC_IDLE) {
        hc->state = HC_ENDING;
        sio__conn_end(hc->c);
    }
}

static void on_accept(sio__listener *l, sio__conn *c, void *ud)
{
    sio__http_server *s = ud;
    sio__http_conn *hc = s->shutting_down ? NULL : hc_alloc(s);
    if (!hc) {
        sio__conn_close(c);
        return;
    }
    hc->srv = s;
    hc->c = c;
    hc->secure = c->tls != NULL;
    hc->req.cur_field = UINT32_MAX;
    hc->req.conn = hc;
    hc->res.hc = hc;
    sio__http_parser_init(&hc->parser, &hc->req, s->opt.max_header_bytes, &parser_events, hc);
    if (sio__conn_peer(c, hc->req.remote, sizeof(hc->req.remote))) strcpy(hc->req.remote, "?");
    sio__list_push_back(&s->conns, &hc->node);
    s->nconns++;
    sio__conn_set_handler(c, &conn_events, hc);
    sio__conn_set_deadline(c, s->opt.header_timeout_ms);
    if (sio__conn_read_start(c)) sio__conn_close(c);
}

/* ---- takeover ---- */

sio__conn *sio__http_takeover(sio_http_req *req, sio__buf *leftover)
{
    sio__http_conn *hc = req->conn;
    if (!hc || hc->state != HC_HANDLING || !hc->in_feed || hc->res.head_sent || !hc->c) return NULL;
    /* cur covers everything unparsed: it points into the stash when the request came from
     * there, and the stash is empty otherwise. */
    if (hc->cur_len && sio__buf_append(leftover, hc->cur, hc->cur_len)) return NULL;
    sio__conn *c = hc->c;
    hc->c = NULL;
    hc->res.active = 0;
    hc->state = HC_DETACHED;
    sio__conn_set_handler(c, NULL, NULL);
    sio__conn_set_deadline(c, 0);
    /* Reading paused while the request waited with a full stash: the new owner reads on. */
    if (hc->reading_stopped) sio__conn_read_start(c);
    return c;
}

void sio__http_res_resume(sio_http_res *res, sio_http_handler fn, void *ud)
{
    sio__http_conn *hc = res->hc;
    if (!res->active || res->ended || hc->state != HC_HANDLING || hc->in_feed) {
        fn(&hc->req, res, ud);
        return;
    }
    /* The bytes that came after the request wait in the stash: hand them over as the
     * unparsed input, as process() does for a handler it runs. */
    hc->in_feed++;
    hc->cur = hc->stash.data;
    hc->cur_len = hc->stash.len;
    fn(&hc->req, res, ud);
    hc->cur = NULL;
    hc->in_feed--;
    if (hc->state == HC_DETACHED) {
        hc_free(hc);
        return;
    }
    if (hc->state == HC_IDLE && hc->stash.len)
        process(hc, hc->stash.data, hc->stash.len, 1);
    else if (hc->state == HC_IDLE && hc->srv->shutting_down) {
        hc->state = HC_ENDING;
        sio__conn_end(hc->c);
    }
}

/* ---- responses ---- */

static int valid_token(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n') return 0;
    return 1;
}

int sio_http_res_status(sio_http_res *res, int status)
{
    if (!res->active || res->head_sent) return SIO_ESTATE;
    if (status < 100 || status > 999) return SIO_EINVAL;
    res->status = status;
    return 0;
}

int sio_http_res_header(sio_http_res *res, const char *name, const char *value)
{
    if (!res->active || res->head_sent) return SIO_ESTATE;
    if (!name || !value || !*name || !valid_token(name) || !valid_token(value) || strchr(name, ':'))
        return SIO_EINVAL;
    if (!strcasecmp(name, "connection") && !strcasecmp(value, "close")) res->close_after = 1;
    return sio__buf_printf(&res->extra, "%s: %s\r\n", name, value);
}

int sio__http_res_header_lines(sio_http_res *res, const char *lines, size_t len)
{
    if (!res->active || res->head_sent) return SIO_ESTATE;
    return sio__buf_append(&res->extra, lines, len);
}

static int write_head(sio_http_res *res, uint64_t content_length, int has_length)
{
    sio__http_conn *hc = res->hc;
    if (!hc->c) return SIO_ECLOSED;
    char line[256];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nDate: %s\r\n", res->status,
                     status_text(res->status), date_header(hc->srv));
    int r = sio__conn_write(hc->c, line, (size_t)n);
    if (!r && res->extra.len) r = sio__conn_write(hc->c, res->extra.data, res->extra.len);
    if (hc->srv->shutting_down) res->close_after = 1;
    const char *conn = res->close_after
                           ? "Connection: close\r\n"
                           : (hc->req.http_minor == 0 ? "Connection: keep-alive\r\n" : "");
    if (has_length)
        n = snprintf(line, sizeof(line), "Content-Length: %llu\r\n%s\r\n",
                     (unsigned long long)content_length, conn);
    else
        n = snprintf(line, sizeof(line), "%s\r\n", conn);
    if (!r) r = sio__conn_write(hc->c, line, (size_t)n);
    res->head_sent = 1;
    return r;
}

int sio__http_res_write_head(sio_http_res *res, uint64_t content_length)
{
    if (!res->active || res->head_sent) return SIO_ESTATE;
    int no_body = res->status == 204 || res->status == 304;
    if (no_body && content_length) return SIO_EINVAL; /* refused before anything is written */
    int bodyless = res->is_head || no_body;
    int r = write_head(res, content_length, !no_body);
    res->remaining = bodyless ? 0 : content_length;
    return r;
}

int sio__http_res_write(sio_http_res *res, const void *p, size_t n)
{
    if (!res->active || !res->head_sent || res->ended) return SIO_ESTATE;
    if (!res->hc->c) return SIO_ECLOSED;
    if (res->is_head || !n) return 0;
    if (n > res->remaining) return SIO_EINVAL;
    res->remaining -= n;
    if (n <= COPY_BODY_LIMIT) return sio__conn_write(res->hc->c, p, n);
    sio__bytes *b = sio__bytes_copy(p, n);
    if (!b) return SIO_ENOMEM;
    int r = sio__conn_write_bytes(res->hc->c, b, 0, n);
    sio__bytes_unref(b);
    return r;
}

int sio__http_res_write_bytes(sio_http_res *res, sio__bytes *b, size_t off, size_t n)
{
    if (!res->active || !res->head_sent || res->ended) return SIO_ESTATE;
    if (!res->hc->c) return SIO_ECLOSED;
    if (res->is_head || !n) return 0;
    if (n > res->remaining) return SIO_EINVAL;
    res->remaining -= n;
    if (n <= 512) return sio__conn_write(res->hc->c, b->data + off, n);
    return sio__conn_write_bytes(res->hc->c, b, off, n);
}

int sio__http_res_finish(sio_http_res *res)
{
    if (!res->active || res->ended) return SIO_ESTATE;
    if (!res->hc->c) return orphan_end(res);
    if (!res->head_sent) return SIO_ESTATE;
    res->ended = 1;
    if (res->remaining) {
        /* The body fell short of its Content-Length: the connection can't be reused. */
        res->close_after = 1;
        sio__conn_close(res->hc->c);
        return SIO_EINVAL;
    }
    finish_response(res->hc);
    return 0;
}

int sio_http_res_end(sio_http_res *res, const void *body, size_t len)
{
    if (!res->active || res->ended) return SIO_ESTATE;
    if (!res->hc->c) return orphan_end(res);
    if (res->head_sent) return sio__http_res_finish(res);
    int r = sio__http_res_write_head(res, len);
    if (r == SIO_EINVAL) return r; /* nothing written: the response can still be ended */
    if (!r && len) r = sio__http_res_write(res, body, len);
    if (r) {
        res->ended = 1;
        res->active = 0;
        sio__conn_close(res->hc->c);
        return r == SIO_ECLOSED ? r : SIO_ECLOSED;
    }
    return sio__http_res_finish(res);
}

int sio_http_res_send(sio_http_res *res, int status, const char *content_type, const void *body,
                      size_t len)
{
    int r = sio_http_res_status(res, status);
    if (!r && content_type) r = sio_http_res_header(res, "Content-Type", content_type);
    if (r) return r;
    return sio_http_res_end(res, body, len);
}

void sio_http_res_on_close(sio_http_res *res, sio_http_res_close_cb cb, void *ud)
{
    res->close_cb = cb;
    res->close_ud = ud;
}

size_t sio__http_res_queued(const sio_http_res *res)
{
    return res->hc->c ? sio__conn_queued(res->hc->c) : 0;
}

void sio__http_res_on_drain(sio_http_res *res, void (*cb)(sio_http_res *res, void *ud), void *ud)
{
    res->drain_cb = cb;
    res->drain_ud = ud;
    if (cb && res->hc->c) sio__conn_want_drain(res->hc->c);
}

sio__http_server *sio__http_res_server(const sio_http_res *res)
{
    return res->hc->srv;
}

int sio__http_res_is_head(const sio_http_res *res)
{
    return res->is_head;
}

/* ---- the server ---- */

sio__http_server *sio__http_server_new(sio__net *net, const sio__http_options *opts)
{
    sio__http_server *s = sio__calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->net = net;
    if (opts) s->opt = *opts;
    if (!s->opt.max_header_bytes) s->opt.max_header_bytes = 16384;
    if (!s->opt.header_timeout_ms) s->opt.header_timeout_ms = 10000;
    if (!s->opt.keepalive_timeout_ms) s->opt.keepalive_timeout_ms = 5000;
    sio__list_init(&s->conns);
    sio__list_init(&s->pool);
    sio__list_init(&s->orphans);
    return s;
}

int sio__http_server_listen(sio__http_server *s, const char *host, int port)
{
    if (s->shutting_down) return SIO_ESTATE;
    sio__listener **nl = sio__reallocarray(s->listeners, s->nlisteners + 1, sizeof(*nl));
    if (!nl) return SIO_ENOMEM;
    s->listeners = nl;
    int r = sio__listener_start(s->net, host, port, on_accept, s, &nl[s->nlisteners]);
    if (r) return r;
    if (s->opt.tls) sio__listener_set_tls(nl[s->nlisteners], s->opt.tls);
    s->nlisteners++;
    return 0;
}

int sio__http_server_port(sio__http_server *s, unsigned n)
{
    if (n >= s->nlisteners || !s->listeners[n]) return SIO_ENOTFOUND;
    return sio__listener_port(s->listeners[n]);
}

int sio__http_server_route(sio__http_server *s, const char *path, sio_http_handler h, void *ud,
                           const sio_http_route_options *opts)
{
    sio_http_route_options o = {0};
    if (opts) o = *opts;
    return sio__http_router_add(&s->router, path, o.prefix, o.methods, o.max_body, h, ud);
}

void sio__http_server_shutdown(sio__http_server *s, void (*done)(void *ud), void *ud)
{
    s->shutting_down = 1;
    s->done = done;
    s->done_ud = ud;
    for (size_t i = 0; i < s->nlisteners; i++) {
        if (s->listeners[i]) sio__listener_close(s->listeners[i]);
        s->listeners[i] = NULL;
    }
    sio__list *pos, *tmp;
    sio__list_foreach_safe(pos, tmp, &s->conns)
    {
        sio__http_conn *hc = sio__container_of(pos, sio__http_conn, node);
        if (hc->state == HC_IDLE && !hc->stash.len) {
            hc->state = HC_ENDING;
            sio__conn_end(hc->c);
        } else if (hc->state == HC_READING) {
            sio__conn_close(hc->c);
        } else if (hc->state == HC_HANDLING) {
            hc->res.close_after = 1;
        }
    }
    check_done(s);
}

void sio__http_server_close_all(sio__http_server *s)
{
    sio__list *pos, *tmp;
    sio__list_foreach_safe(pos, tmp, &s->conns)
    {
        sio__http_conn *hc = sio__container_of(pos, sio__http_conn, node);
        if (hc->c) sio__conn_close(hc->c);
    }
}

void sio__http_server_free(sio__http_server *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nlisteners; i++)
        if (s->listeners[i]) sio__listener_close(s->listeners[i]);
    sio__free(s->listeners);
    sio__http_router_free(&s->router);
    /* Orphans too: their responses can no longer be ended once the server is gone. */
    while (!sio__list_empty(&s->orphans)) {
        sio__http_conn *hc = sio__container_of(s->orphans.next, sio__http_conn, node);
        sio__list_remove(&hc->node);
        sio__list_push_back(&s->pool, &hc->node);
        sio__buf_free(&hc->stash);
    }
    while (!sio__list_empty(&s->pool)) {
        sio__http_conn *hc = sio__container_of(s->pool.next, sio__http_conn, node);
        sio__list_remove(&hc->node);
        sio__http_req_free(&hc->req);
        sio__buf_free(&hc->res.extra);
        sio__free(hc);
    }
    sio__free(s);
}

const sio__logger *sio__http_server_log(sio__http_server *s)
{
    return sio__net_log(s->net);
}

uv_loop_t *sio__http_server_loop(sio__http_server *s)
{
    return sio__net_loop(s->net);
}

int sio_http_req_secure(const sio_http_req *req)
{
    return req && req->conn && req->conn->secure;
}
