/*
 * WebSocket connections (the session half of the ws layer): the handshake on an HTTP
 * upgrade request, then frames in and out over a connection taken over from HTTP.
 *
 * A sio__ws_group holds the options of one endpoint and its open connections, so the
 * server can close them all on shutdown; Engine.IO uses the same type for its transport.
 */
#ifndef SIO_WS_WS_H
#define SIO_WS_WS_H

#include "base/buf.h"
#include "base/list.h"
#include "http/http.h"
#include "net/net.h"
#include "sio.h"

typedef struct sio__ws_group {
    sio_ws_options opt;
    size_t count;
} sio__ws_group;

void sio__ws_group_init(sio__ws_group *g, const sio_ws_options *opt);
/* Start the closing handshake on every connection of g, one of net's. */
void sio__ws_group_close_all(sio__ws_group *g, sio__net *net, int code, const char *reason);

/*
 * Answer an upgrade request: validate it, run on_upgrade, negotiate subprotocol and
 * permessage-deflate, take the connection over and send 101, call on_open, and parse
 * whatever arrived after the request. On refusal res is answered (400, 426, or the
 * on_upgrade status) and NULL returned. Must be called from the request's handler.
 */
sio_ws *sio__ws_accept(sio__ws_group *g, sio_http_req *req, sio_http_res *res);

/* sio_ws_send, with permessage-deflate skipped when compress is 0, and without the
 * max_buffered check (the caller keeps its own bound). */
int sio__ws_send(sio_ws *ws, const void *data, size_t len, int binary, int compress);

/*
 * Send a whole frame built once for many connections (a broadcast): queued by reference,
 * unless compress is set and this connection compresses messages of payload_len bytes
 * (SIO_ESTATE: send the message with sio__ws_send instead). No max_buffered check.
 */
int sio__ws_send_shared(sio_ws *ws, sio__bytes *frame, size_t payload_len, int compress);

/* Drop the connection now (ws's terminate()): queued output is discarded, no close frame
 * is sent, and on_close follows with 1006. For a peer that does not read. */
void sio__ws_terminate(sio_ws *ws);

/* Queue a prepared frame (header and payload, as built by the caller) as it is. */
int sio__ws_send_frame(sio_ws *ws, sio__bytes *frame, size_t off, size_t len);

/* The size of a connection's state, for sio__net_set_conn_ext(). */
size_t sio__ws_conn_size(void);

/* The HTTP handler for a group (ud: the group). */
void sio__ws_handler(sio_http_req *req, sio_http_res *res, void *ud);

#endif
