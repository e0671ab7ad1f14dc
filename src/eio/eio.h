/*
 * The Engine.IO server (the session half of the eio layer): handshakes, sessions with
 * their heartbeat, the long-polling and WebSocket transports and the upgrade between them.
 * The Socket.IO layer sits on top through the callbacks below.
 *
 * Behaviour follows the Node `engine.io` package: option names and defaults, error codes
 * and messages, close reasons ("transport close", "transport error", "ping timeout",
 * "parse error", "forced close").
 */
#ifndef SIO_EIO_EIO_H
#define SIO_EIO_EIO_H

#include "base/buf.h"
#include "base/log.h"
#include "http/http.h"
#include "sio.h"

typedef struct sio__eio_server sio__eio_server;
typedef struct sio__eio_socket sio__eio_socket;

typedef struct sio__eio_callbacks {
    /* A session opened; req is the handshake request, valid during the call. */
    void (*on_open)(sio__eio_socket *s, sio_http_req *req, void *ud);
    /* A message (text: valid UTF-8; binary). data is borrowed. */
    void (*on_message)(sio__eio_socket *s, const uint8_t *data, size_t len, int binary, void *ud);
    /* Exactly once, with engine.io's reason; the session is freed when this returns. */
    void (*on_close)(sio__eio_socket *s, const char *reason, void *ud);
    /* The session switched from polling to WebSocket. */
    void (*on_upgrade)(sio__eio_socket *s, void *ud);
} sio__eio_callbacks;

enum { SIO__EIO_POLLING = 1, SIO__EIO_WEBSOCKET = 2 };

/* Zero means Node's default for every field. */
typedef struct sio__eio_options {
    const char *path;            /* "/engine.io/" */
    uint32_t ping_interval_ms;   /* 25000 */
    uint32_t ping_timeout_ms;    /* 20000 */
    uint32_t upgrade_timeout_ms; /* 10000 */
    size_t max_http_buffer_size; /* 1e6 */
    unsigned transports;         /* SIO__EIO_* bits; 0: both */
    int no_upgrades;             /* allowUpgrades: false */
    int allow_eio3;              /* allowEIO3 */
    sio_cors_options cors;
    sio_cookie_options cookie;
    /* httpCompression: polling responses of at least this many bytes are gzip/deflate
     * compressed when the client accepts it; 0: 1024; no_http_compression turns it off. */
    size_t http_compression_threshold;
    int no_http_compression;
    /* perMessageDeflate (off by default, as in Node); threshold 0: 1024. */
    int per_message_deflate;
    size_t per_message_deflate_threshold;
    /* allowRequest: decide on every handshake (polling or WebSocket) by calling
     * sio_verdict_done(), now or later. NULL: every handshake is allowed. */
    sio_allow_request_cb allow_request;
    void *allow_request_ud;
    /* The outbound bound of a session, in bytes: what waits for a polling GET, or what the
     * WebSocket has not written yet. A message that would take a session past it (unless
     * nothing is queued) closes the session ("transport error"). 0: 16 MiB, or 4 times
     * max_http_buffer_size when that is more. */
    size_t max_buffered_bytes;
    /* The Origin allowlist of handshakes and WebSocket upgrades (sio_io_options'); unset:
     * cors.origins and cors.origin_cb when cors is enabled with either, else none. */
    const char *const *allowed_origins;
    size_t nallowed_origins;
    int (*allow_origin)(const char *origin, void *ud);
    void *allow_origin_ud;
    /* Where refusals and the outbound bound are logged; NULL: nowhere. */
    const sio__logger *log;
    const sio__eio_callbacks *cb;
    void *ud;
} sio__eio_options;

sio__eio_server *sio__eio_server_new(uv_loop_t *loop, const sio__eio_options *opt);
/* The HTTP handler for the Engine.IO path (a prefix route; ud: the server). */
void sio__eio_handler(sio_http_req *req, sio_http_res *res, void *ud);
const char *sio__eio_path(const sio__eio_server *srv);
/* The route's body limit: a POST larger than maxHttpBufferSize gets 413. */
size_t sio__eio_max_body(const sio__eio_server *srv);
/* Close every session (reason "forced close"); parked polls get a close packet. */
void sio__eio_server_close_all(sio__eio_server *srv);
void sio__eio_server_free(sio__eio_server *srv);
size_t sio__eio_server_count(const sio__eio_server *srv);

/* Flags of a message sent. */
enum {
    SIO__EIO_BINARY = 1,      /* binary, else text */
    SIO__EIO_NO_COMPRESS = 2, /* never deflated: permessage-deflate or the polling response
                               * (which is compressed when any packet in it may be) */
    SIO__EIO_ADMITTED = 4,    /* already counted by sio__eio_admit(): not checked again */
};

/*
 * Check that a message of len bytes in nparts Engine.IO packets fits under the session's
 * outbound bound, before sending its parts with SIO__EIO_ADMITTED: a message in several
 * packets (Socket.IO's binary ones) is then sent whole or not at all. 0 when it fits (or
 * nothing is queued); otherwise SIO_ECLOSED, a log line, and the session is closed at the
 * end of the loop turn ("transport error"); until then every send fails with SIO_ECLOSED
 * and the session is not writable.
 */
int sio__eio_admit(sio__eio_socket *s, size_t len, size_t nparts);
/* Bytes waiting to be sent on the session (the bound's measure). */
size_t sio__eio_buffered(const sio__eio_socket *s);

/* Queue a message: checked against the outbound bound unless SIO__EIO_ADMITTED. 0,
 * SIO_ECLOSED (closing or closed, or over the bound) or SIO_ENOMEM. */
int sio__eio_send(sio__eio_socket *s, const void *data, size_t len, int flags);
/* The same with a shared block (a broadcast encoded once); takes a reference. */
int sio__eio_send_bytes(sio__eio_socket *s, sio__bytes *b, int flags);
/*
 * The same for a message sent to many sessions: frames[0] and frames[1] cache the
 * WebSocket frame of b for v4 and v3 sessions (start them NULL, unref them when done);
 * WebSocket sessions then share one frame instead of copying b.
 */
int sio__eio_send_shared(sio__eio_socket *s, sio__bytes *b, int flags, sio__bytes *frames[2]);
/* Close the session from this side ("forced close"): what is queued is sent first. */
void sio__eio_close(sio__eio_socket *s);
/* Whether a packet sent now leaves at once (engine.io's transport.writable): a GET is
 * parked with nothing queued, or the WebSocket has nothing waiting. Volatile packets are
 * dropped when it is not. */
int sio__eio_writable(const sio__eio_socket *s);
const char *sio__eio_sid(const sio__eio_socket *s);
int sio__eio_version(const sio__eio_socket *s);
int sio__eio_transport(const sio__eio_socket *s);
void sio__eio_set_data(sio__eio_socket *s, void *data);
void *sio__eio_data(const sio__eio_socket *s);

#endif
