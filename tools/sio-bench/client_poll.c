/*
 * The long-polling transport: an Engine.IO v4 polling session over raw keep-alive
 * HTTP/1.1, on two connections per client as a browser's engine.io-client ends up using:
 * io[0] carries the GETs, one always parked once the session is open, and io[1] the POSTs,
 * one at a time. Packets queued while a POST is under way go out together in the next one,
 * joined by 0x1e; those queued during a loop turn are sent by one POST built just before
 * the turn's writes (the prepare hook), not one POST each.
 *
 * Responses are parsed by llhttp; a GET's body is decoded by libsio's Engine.IO payload
 * codec and each packet handed to scenario.c like a WebSocket message. A server closes an
 * idle keep-alive connection after a few seconds (5 s for Node and libsio), which the
 * POST connection is between two heartbeats: it is then closed here too and connected again
 * when the next POST is due. A POST whose connection closes before its response is sent
 * again on the new one. The GET connection never idles; losing it loses the client.
 *
 * The handshake: GET without sid (the open packet, with the sid), then POST "40" and the
 * CONNECT reply on the next GET. A handshake client ends its session with POST "1" (the
 * close packet, as engine.io-client's close() sends) and resets both connections once it
 * is answered.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <llhttp.h>

#include "bench.h"

#include "base/alloc.h"
#include "eio/packet.h"

typedef struct response {
    llhttp_t http;
    sio__buf body;
} response;

typedef struct poll_session {
    response get, post; /* the parsers of io[0] and io[1] */
    sio__buf get_req;   /* "GET <path>?EIO=4&transport=polling&sid=<sid> HTTP/1.1..." */
    sio__buf post_head; /* the same POST, up to "Content-Length: " */
    sio__buf post_q;    /* packets for the next POST */
    sio__buf post_body; /* the POST under way, kept to send again if io[1] closes */
    uint8_t open;       /* the sid is known */
    uint8_t post_busy;  /* a POST is under way */
    uint8_t post_up;    /* io[1] is connected */
    uint8_t done;       /* handshake: the close packet is queued; no more GETs */
} poll_session;

static int on_message_begin(llhttp_t *h)
{
    sio__buf_reset(&((response *)h)->body);
    return 0;
}

static int on_body(llhttp_t *h, const char *at, size_t n)
{
    return sio__buf_append(&((response *)h)->body, at, n) ? -1 : 0;
}

static int on_message_complete(llhttp_t *h);

static const llhttp_settings_t http_settings = {
    .on_message_begin = on_message_begin,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void issue_get(client *c)
{
    conn *k = &c->io[0];
    if (sio__buf_append(&k->out, c->ps->get_req.data, c->ps->get_req.len)) {
        client_close(c);
        return;
    }
    conn_schedule(k);
}

/* Send the queued packets when io[1] can take a POST, connecting it again if it was closed. */
static void kick_post(client *c)
{
    poll_session *ps = c->ps;
    conn *k = &c->io[1];
    if (ps->post_busy || !ps->open || c->state >= C_CLOSING) return;
    if (!ps->post_q.len && !ps->post_body.len) return;
    if (ps->post_up) {
        conn_schedule(k); /* the POST is built in poll_prepare */
    } else if (!k->open && !k->closing) {
        int rc = conn_open(k, c);
        if (rc < 0) {
            fprintf(stderr, "sio-bench: client %u: %s\n", c->index, uv_strerror(rc));
            client_close(c);
        }
    }
}

static void poll_prepare(conn *k)
{
    client *c = k->c;
    poll_session *ps = c->ps;
    if (k != &c->io[1] || ps->post_busy || !ps->post_up || !ps->open) return;
    if (!ps->post_body.len) {
        if (!ps->post_q.len) return;
        sio__buf tmp = ps->post_body; /* swap: the queue becomes the body */
        ps->post_body = ps->post_q;
        ps->post_q = tmp;
    }
    if (sio__buf_append(&k->out, ps->post_head.data, ps->post_head.len) ||
        sio__buf_printf(&k->out, "%zu\r\n\r\n", ps->post_body.len) ||
        sio__buf_append(&k->out, ps->post_body.data, ps->post_body.len)) {
        client_close(c);
        return;
    }
    ps->post_busy = 1;
}

static int poll_send(client *c, const void *a, size_t an, const void *z, size_t zn)
{
    poll_session *ps = c->ps;
    if ((ps->post_q.len && sio__buf_append(&ps->post_q, "\x1e", 1)) ||
        sio__buf_append(&ps->post_q, a, an) || (zn && sio__buf_append(&ps->post_q, z, zn)))
        return SIO_ENOMEM;
    kick_post(c);
    return 0;
}

/* The open packet: its sid makes the session's GET and POST requests. */
static int on_open_packet(client *c, const sio__eio_packet *p)
{
    bench *b = c->b;
    poll_session *ps = c->ps;
    json_t *o = json_loadb((const char *)p->data, p->len, 0, NULL);
    const char *sid = json_string_value(json_object_get(o, "sid"));
    int ok = sid && *sid &&
             strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-_") == strlen(sid);
    if (ok)
        ok = !sio__buf_printf(
                 &ps->get_req,
                 "GET %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", b->path,
                 sid, b->host, b->port) &&
             !sio__buf_printf(&ps->post_head,
                              "POST %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s:%d\r\n"
                              "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ",
                              b->path, sid, b->host, b->port);
    json_decref(o);
    if (!ok) {
        fprintf(stderr, "sio-bench: client %u: bad open packet: %.*s\n", c->index, (int)p->len,
                p->data);
        return -1;
    }
    ps->open = 1;
    c->state = C_OPEN;
    return 0;
}

static int on_packet(void *ud, const sio__eio_packet *p)
{
    client *c = ud;
    if (p->type == SIO__EIO_OPEN && (c->ps->open || on_open_packet(c, p))) return -1;
    sc_eio_packet(c, p->type, p->data, p->len);
    return c->state >= C_CLOSING;
}

static int on_get_response(client *c, response *r)
{
    poll_session *ps = c->ps;
    if (!ps->open && c->state != C_HTTP) return -1;
    if (sio__eio_decode_payload_v4(r->body.data, r->body.len, on_packet, c) ||
        c->state >= C_CLOSING)
        return -1;
    if (!ps->open) {
        fprintf(stderr, "sio-bench: client %u: no open packet\n", c->index);
        return -1;
    }
    if (!ps->done) issue_get(c);
    return 0;
}

static int on_post_response(client *c)
{
    poll_session *ps = c->ps;
    ps->post_busy = 0;
    sio__buf_reset(&ps->post_body);
    if (ps->done && !ps->post_q.len) { /* the close packet is answered */
        client_recycle(c);
        return -1;
    }
    kick_post(c);
    return 0;
}

static int on_message_complete(llhttp_t *h)
{
    response *r = (response *)h;
    conn *k = h->data;
    client *c = k->c;
    if (c->state >= C_CLOSING) return -1;
    if (h->status_code != 200) {
        fprintf(stderr, "sio-bench: client %u: HTTP %d: %.*s\n", c->index, h->status_code,
                (int)(r->body.len < 200 ? r->body.len : 200), (const char *)r->body.data);
        client_close(c);
        return -1;
    }
    int rc = k == &c->io[0] ? on_get_response(c, r) : on_post_response(c);
    if (rc && c->state < C_CLOSING) client_close(c);
    return rc;
}

static void poll_read(conn *k, uint8_t *in, size_t n)
{
    client *c = k->c;
    response *r = k == &c->io[0] ? &c->ps->get : &c->ps->post;
    llhttp_errno_t e = llhttp_execute(&r->http, (const char *)in, n);
    if (e != HPE_OK && c->state < C_CLOSING) {
        fprintf(stderr, "sio-bench: client %u: bad HTTP response: %s\n", c->index,
                llhttp_get_error_reason(&r->http));
        client_close(c);
    }
}

static void poll_connected(conn *k)
{
    client *c = k->c;
    bench *b = c->b;
    poll_session *ps = c->ps;
    if (k == &c->io[1]) {
        ps->post_up = 1;
        kick_post(c);
        return;
    }
    c->state = C_HTTP;
    if (sio__buf_printf(&k->out, "GET %s?EIO=4&transport=polling HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
                        b->path, b->host, b->port)) {
        client_close(c);
        return;
    }
    conn_schedule(k);
}

/* The server closed the idle POST connection (or one with a POST under way, which then
 * goes again on the next). */
static int poll_conn_lost(conn *k)
{
    client *c = k->c;
    poll_session *ps = c->ps;
    if (k != &c->io[1] || ps->done) return 0;
    ps->post_up = 0;
    ps->post_busy = 0;
    llhttp_init(&ps->post.http, HTTP_RESPONSE, &http_settings);
    ps->post.http.data = k;
    conn_close(k);
    return 1;
}

static void poll_conn_closed(conn *k)
{
    kick_post(k->c);
}

static int poll_start(client *c)
{
    poll_session *ps = sio__calloc(1, sizeof *ps);
    if (!ps) return UV_ENOMEM;
    c->ps = ps;
    llhttp_init(&ps->get.http, HTTP_RESPONSE, &http_settings);
    ps->get.http.data = &c->io[0];
    llhttp_init(&ps->post.http, HTTP_RESPONSE, &http_settings);
    ps->post.http.data = &c->io[1];
    int rc = conn_open(&c->io[0], c);
    return rc < 0 ? rc : conn_open(&c->io[1], c);
}

static void poll_release(client *c)
{
    poll_session *ps = c->ps;
    if (!ps) return;
    sio__buf_free(&ps->get.body);
    sio__buf_free(&ps->post.body);
    sio__buf_free(&ps->get_req);
    sio__buf_free(&ps->post_head);
    sio__buf_free(&ps->post_q);
    sio__buf_free(&ps->post_body);
    sio__free(ps);
    c->ps = NULL;
}

static void poll_done(client *c)
{
    c->ps->done = 1;
    if (poll_send(c, "1", 1, NULL, 0)) client_close(c);
}

const transport poll_transport = {
    .start = poll_start,
    .connected = poll_connected,
    .read = poll_read,
    .send = poll_send,
    .release = poll_release,
    .done = poll_done,
    .prepare = poll_prepare,
    .conn_lost = poll_conn_lost,
    .conn_closed = poll_conn_closed,
    .name = "polling",
};
