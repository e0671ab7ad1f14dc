/*
 * libsio: real-time, event-based, bidirectional communication for the web.
 *
 * This is the one public header. Every object is an opaque handle; options structs are
 * valid when zeroed (a zero field means "the documented default"); callbacks take the
 * object first and the user pointer last; fallible functions return 0 or a negative
 * SIO_E* code that sio_strerror() describes. Everything runs on one libuv loop: all
 * callbacks are called on that loop's thread.
 */
#ifndef SIO_H
#define SIO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIO_VERSION_MAJOR 0
#define SIO_VERSION_MINOR 1
#define SIO_VERSION_PATCH 0

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                               */
/* ------------------------------------------------------------------------------------ */

/*
 * libsio's own error codes, below libuv's range. libuv codes (UV_E*) pass through
 * unchanged wherever libsio returns an error, so sio_strerror() accepts both.
 */
#define SIO_ERR_MAP(X)                                                                             \
    X(PROTO, "protocol violation")                                                                 \
    X(TOOBIG, "payload over limit")                                                                \
    X(CLOSED, "connection closed")                                                                 \
    X(NOTFOUND, "not found")                                                                       \
    X(UTF8, "invalid UTF-8")                                                                       \
    X(HTTP, "malformed HTTP")                                                                      \
    X(STATE, "operation not valid in this state")                                                  \
    X(TIMEDOUT, "timed out")                                                                       \
    X(LIMIT, "limit reached")

typedef enum {
    SIO_EINVAL = UV_EINVAL,
    SIO_ENOMEM = UV_ENOMEM,
    SIO_EAGAIN = UV_EAGAIN,
    SIO_ERR_BASE_ = -32100,
#define SIO_ERR_ENUM_(name, msg) SIO_E##name,
    SIO_ERR_MAP(SIO_ERR_ENUM_)
#undef SIO_ERR_ENUM_
} sio_errno;

/* A static string describing err (a SIO_E* or UV_E* code); never NULL. */
const char *sio_strerror(int err);
/* The code's name without prefix ("EPROTO", "ECONNRESET"); never NULL. */
const char *sio_err_name(int err);

/* ------------------------------------------------------------------------------------ */
/* Allocation                                                                           */
/* ------------------------------------------------------------------------------------ */

/*
 * Replace the allocator libsio uses for everything it allocates. Call it once, before any
 * other libsio function. Returns SIO_EINVAL if a function is NULL. libsio never aborts on
 * allocation failure: the failing call returns SIO_ENOMEM. JSON values are jansson's:
 * json_set_alloc_funcs() sets their allocator.
 */
int sio_replace_allocator(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                          void *(*calloc_fn)(size_t, size_t), void (*free_fn)(void *));

/* ------------------------------------------------------------------------------------ */
/* Logging                                                                              */
/* ------------------------------------------------------------------------------------ */

typedef enum {
    SIO_LOG_ERROR = 1,
    SIO_LOG_WARN = 2,
    SIO_LOG_INFO = 3,
    SIO_LOG_DEBUG = 4,
} sio_log_level;

/* Receives one formatted line (no trailing newline, cut at 1023 bytes); the string is
 * borrowed for the call. */
typedef void (*sio_log_cb)(sio_log_level level, const char *line, void *ud);

/* ------------------------------------------------------------------------------------ */
/* Server                                                                               */
/* ------------------------------------------------------------------------------------ */

typedef struct sio_server sio_server;
typedef struct sio_http_req sio_http_req;

/*
 * Node's `cors` option (the `cors` middleware's fields). Off unless enabled. An origin is
 * allowed when it is in origins or origin_cb says so; with neither, every origin is.
 * Enabled with origins or origin_cb, the same test also guards the Engine.IO handshake and
 * WebSocket upgrades (see sio_io_options.allowed_origins and docs/security.md).
 */
typedef struct sio_cors_options {
    int enabled;
    /* Allowed origins, compared exactly ("https://example.com"); none (and no origin_cb):
     * any origin (reflected, or "*" with any_star). */
    const char *const *origins;
    size_t norigins;
    int any_star;
    int credentials;
    const char *methods;         /* NULL: "GET,HEAD,PUT,PATCH,POST,DELETE" */
    const char *allowed_headers; /* NULL: the preflight's Access-Control-Request-Headers */
    const char *exposed_headers; /* NULL: none */
    int max_age;                 /* seconds; 0: not sent */
    /* Node's `origin: (origin, cb) => ...`, but synchronous: return nonzero to allow origin
     * (the request's Origin header, borrowed for the call; never NULL: requests without one
     * need no CORS answer and are not asked about). Runs on the loop thread for every
     * request to the Engine.IO path that has an Origin, so keep it quick. */
    int (*origin_cb)(const char *origin, void *ud);
    void *origin_ud;
} sio_cors_options;

/* Node's `cookie` option: the session id in a cookie on the handshake. Off unless enabled. */
typedef struct sio_cookie_options {
    int enabled;
    const char *name;      /* "io" */
    const char *path;      /* "/" */
    const char *domain;    /* none */
    const char *same_site; /* "Lax"; "" for none */
    int max_age;           /* seconds; 0: a session cookie */
    int no_http_only;      /* HttpOnly unless set */
    int secure;
} sio_cookie_options;

/*
 * A handshake waiting for the application's allowRequest answer. Answer it exactly once
 * with sio_verdict_done(), during the callback or later (on the loop thread): allow, or
 * refuse with a message (NULL: "Forbidden"; copied, cut to 127 bytes when answered during
 * the callback), which the client gets as HTTP 403 {"code":4,"message":...} (400 for a
 * WebSocket upgrade, as Node does). req is valid during the callback only. An answer after
 * the client went away or the server shut down is ignored, and releases v.
 */
typedef struct sio_verdict sio_verdict;
typedef void (*sio_allow_request_cb)(sio_http_req *req, sio_verdict *v, void *ud);
void sio_verdict_done(sio_verdict *v, int allow, const char *message);

/* Transport bits. */
enum { SIO_TRANSPORT_POLLING = 1, SIO_TRANSPORT_WEBSOCKET = 2 };

/*
 * The Socket.IO server's options, Node's `new Server(opts)`: every zero field is Node's
 * default.
 */
typedef struct sio_io_options {
    const char *path;            /* "/socket.io/" */
    uint32_t ping_interval_ms;   /* 25000 */
    uint32_t ping_timeout_ms;    /* 20000 */
    uint32_t upgrade_timeout_ms; /* 10000 */
    uint32_t connect_timeout_ms; /* 45000: a client that joins no namespace is closed */
    size_t max_http_buffer_size; /* 1e6 */
    unsigned transports;         /* SIO_TRANSPORT_* bits; 0: both */
    int no_upgrades;             /* allowUpgrades: false */
    int allow_eio3;              /* allowEIO3: socket.io-client 2.x */
    int per_message_deflate;     /* perMessageDeflate */
    int no_http_compression;     /* httpCompression: false */
    int no_serve_client;         /* serveClient: false */
    /* Where the browser client's files are (socket.io-client's dist/ directory); NULL: the
     * one installed in the source tree at build time. */
    const char *client_dir;
    sio_cors_options cors;
    sio_cookie_options cookie;
    sio_allow_request_cb allow_request;
    void *allow_request_ud;
    /* Bytes of user data kept inside every socket (sio_socket_ud()); zeroed at connect. */
    size_t socket_ud_size;
    /* connectionStateRecovery: off when 0, else how long a disconnected socket's id, rooms,
     * data and missed packets are kept (Node's maxDisconnectionDuration, 120000). */
    uint32_t recovery_max_disconnection_ms;
    /* Run the middlewares again for a recovered socket (Node's skipMiddlewares: false). */
    int recovery_run_middlewares;
    /* The outbound bound of each client connection, in bytes: what waits for its next
     * long-polling GET, or what its WebSocket has not written yet (a broadcast's shared
     * buffer counts for every client that still holds it). Volatile packets are dropped
     * as soon as anything waits; a packet that would take a client past the bound closes
     * its connection instead ("transport error", logged), unless nothing is queued. Node
     * buffers without limit. 0: 16 MiB, or 4 times max_http_buffer_size when that is more. */
    size_t max_buffered_bytes;
    /*
     * The Origin allowlist of the Engine.IO handshake and of every WebSocket upgrade on
     * io.path, against cross-site WebSocket hijacking (Node has none: its allowRequest is
     * the place for it there). A request whose Origin header is neither in allowed_origins
     * (exact match) nor accepted by allow_origin is refused like an allowRequest refusal
     * ("Origin not allowed": HTTP 403 {"code":4,...}, 400 for a WebSocket upgrade, before
     * any 101) and logged at warn level. Requests without an Origin (non-browser clients)
     * pass. With both unset, cors.origins and cors.origin_cb serve as the allowlist when
     * cors is enabled with either; otherwise no Origin is checked (Node's default).
     */
    const char *const *allowed_origins;
    size_t nallowed_origins;
    int (*allow_origin)(const char *origin, void *ud);
    void *allow_origin_ud;
    /* Most binary attachments in one packet, received or sent (socket.io-parser's
     * maxAttachments): 0 means 10, at most 64. A client announcing more is closed as a
     * parse error; an emit with more returns SIO_ETOOBIG. */
    size_t max_attachments;
    /* Longest event name and namespace name in bytes a client may send: 0 means 255 (Node
     * has no bound but maxHttpBufferSize). Namespace names are never longer than 255. A
     * longer namespace gets CONNECT_ERROR "Invalid namespace"; a longer event name closes
     * the client as a parse error. */
    size_t max_name_bytes;
    /* Most rooms a socket may be in besides its own: 0 means no bound (Node's). sio_join()
     * past it returns SIO_ELIMIT and logs. */
    uint32_t max_rooms_per_socket;
    /* Most emits per socket waiting for the client's ack (sio_emit_ack): 0 means 1000 (Node
     * has no bound). Past it the emit returns SIO_ELIMIT, sends nothing and logs. */
    uint32_t max_pending_acks;
    /* Most events per socket kept with sio_event_keep() and not released: 0 means 1000.
     * Past it sio_event_keep() returns NULL and logs: answer the ack during the callback. */
    uint32_t max_kept_events;
    void *reserved[8];
} sio_io_options;

/* Lowest TLS versions a server can be set to accept. */
enum { SIO_TLS_1_2 = 12, SIO_TLS_1_3 = 13 };

/*
 * TLS for every listener of a server (https and wss): set cert_file and key_file. Zeroed,
 * the server speaks plain TCP. See docs/security.md ("TLS") for the defaults and what is
 * refused.
 */
typedef struct sio_tls_options {
    /* PEM file: the server certificate, then the intermediate certificates of its chain. */
    const char *cert_file;
    /* PEM file: the certificate's private key (unencrypted). */
    const char *key_file;
    /* OpenSSL cipher list for TLS 1.2; NULL means ECDHE with AES-GCM or ChaCha20-Poly1305
     * (Mozilla's "intermediate" list). TLS 1.3 uses OpenSSL's default suites. */
    const char *ciphers;
    /* Lowest version accepted: SIO_TLS_1_2 (0 means this) or SIO_TLS_1_3. */
    int min_version;
    /* A client must complete its handshake within this many ms of connecting, or it is
     * closed; 0 means 10000 (Node's handshakeTimeout is 120000: shorter here, since a
     * half-open handshake holds the largest per-connection state the server has). */
    uint32_t handshake_timeout_ms;
    void *reserved[4];
} sio_tls_options;

typedef struct sio_server_options {
    /* Directory served for GET/HEAD on "/" and below; NULL serves no files. */
    const char *static_dir;
    /* Upper bound on a request's header section in bytes; 0 means 16384. */
    uint32_t max_header_bytes;
    /* Headers must be complete within this many milliseconds; 0 means 10000. */
    uint32_t header_timeout_ms;
    /* An idle keep-alive connection is closed after this many ms; 0 means 5000. */
    uint32_t keepalive_timeout_ms;
    /* Graceful shutdown closes what is still open after this many ms; 0 means 4000. */
    uint32_t shutdown_timeout_ms;
    /* Log lines at or below this level; 0 means SIO_LOG_INFO. */
    sio_log_level log_level;
    /* Where log lines go; NULL writes them to stderr. */
    sio_log_cb log_cb;
    void *log_ud;
    /* The Socket.IO endpoint (served once a namespace exists: sio_of()). */
    sio_io_options io;
    /* TLS on every listener when tls.cert_file and tls.key_file are set. */
    sio_tls_options tls;
    /* Most open connections (Node's server.maxConnections); 0 means no bound. A connection
     * past it is accepted and closed at once, and logged (at most one line a second). */
    uint32_t max_connections;
    /* Busy polling, in µs (Linux's SO_BUSY_POLL, done by the loop): after a loop turn that
     * read input, the loop keeps polling without blocking for this long before it sleeps,
     * so a message that arrives meanwhile is handled without waking the thread. It lowers
     * latency where waking an idle core is slow (virtual machines, deep idle states), at
     * the cost of a busy core for that long after every burst of input. 0 (the default)
     * never spins; see docs/tuning.md ("Latency and the kernel"). */
    uint32_t busy_poll_us;
    void *reserved[8];
} sio_server_options;

/*
 * Create a server on loop (NULL: the server creates and owns its own loop). opts may be
 * NULL; it is copied, but not the strings it points to: they must outlive the server
 * (static_dir is copied here, io.path and io.client_dir by the first sio_of()). Returns
 * NULL on allocation failure, when static_dir cannot be resolved, or when TLS is asked
 * for and its certificate or key cannot be loaded or do not match (with a log line).
 * SIGPIPE is set to be ignored unless the application has its own handler (a write to a
 * reset connection would otherwise end the process). Free with sio_server_free() once the
 * loop no longer runs, or let sio_run() return and then free.
 */
sio_server *sio_server_new(uv_loop_t *loop, const sio_server_options *opts);

/* The loop the server runs on. */
uv_loop_t *sio_server_loop(sio_server *io);

/*
 * Listen on host:port (IPv4 or IPv6 literal; "localhost", "" and NULL mean 127.0.0.1, so
 * unlike Node's listen(port) leaving the host out does not listen on every interface: use
 * "::" or "0.0.0.0"; port 0 picks a free port). May be called several times for several
 * addresses. SO_REUSEADDR is set; an IPv6 address also accepts IPv4 where the system maps
 * it. Returns 0, SIO_EINVAL (host not a literal, port out of range), SIO_ESTATE (shutting
 * down), SIO_ENOMEM, or libuv's code from bind/listen (UV_EADDRINUSE, ...).
 */
int sio_listen(sio_server *io, const char *host, int port);

/* The port of the n-th successful sio_listen() (for port 0), or SIO_ENOTFOUND when there
 * is no such listener or a shutdown closed it. */
int sio_server_port(sio_server *io, unsigned n);

/*
 * Run the loop until the server has shut down. SIGINT and SIGTERM start a graceful
 * shutdown: listening stops, in-flight responses finish, idle connections close, and
 * whatever is still open after shutdown_timeout_ms is closed. The signal handlers exist
 * only while sio_run() runs. Returns 0 once the loop has ended, or SIO_ESTATE when called
 * again or after a shutdown started.
 */
int sio_run(sio_server *io);

/*
 * Start a graceful shutdown from code (what SIGINT/SIGTERM do). Socket.IO sockets
 * disconnect now ("server shutting down"). cb, if not NULL, is called once when every
 * connection and listener is closed; when nothing is open, before this returns. Calling it
 * again is a no-op that returns SIO_ESTATE.
 */
typedef void (*sio_server_closed_cb)(sio_server *io, void *ud);
int sio_server_shutdown(sio_server *io, sio_server_closed_cb cb, void *ud);

/*
 * Hand work to the loop thread from any thread: fn(io, ud) runs on the loop thread soon,
 * exactly once for every post that returned 0, in the order posted (also during a shutdown;
 * those still waiting when the server closes run then). The one libsio function other
 * threads may call, from sio_server_new() until sio_server_free() is called. Returns 0,
 * SIO_EINVAL (fn NULL), SIO_ENOMEM, or SIO_ESTATE once the server has closed (fn will not
 * run: ud is still the caller's).
 */
typedef void (*sio_post_cb)(sio_server *io, void *ud);
int sio_server_post(sio_server *io, sio_post_cb fn, void *ud);

/*
 * Free the server; a running one is shut down without waiting (open connections are
 * closed). With its own loop: call it after sio_run() returned (not from a callback: it
 * runs the loop to release everything, and uv_run() cannot be re-entered). With a borrowed
 * loop: call it after, or from, the shutdown callback; the memory is released the next
 * time the loop runs, so run it once more before uv_loop_close().
 */
void sio_server_free(sio_server *io);

/* ------------------------------------------------------------------------------------ */
/* HTTP routes                                                                          */
/* ------------------------------------------------------------------------------------ */

typedef struct sio_http_req sio_http_req;
typedef struct sio_http_res sio_http_res;

/* Method bits for routes. */
enum {
    SIO_HTTP_GET = 1 << 0,
    SIO_HTTP_HEAD = 1 << 1,
    SIO_HTTP_POST = 1 << 2,
    SIO_HTTP_PUT = 1 << 3,
    SIO_HTTP_DELETE = 1 << 4,
    SIO_HTTP_OPTIONS = 1 << 5,
    SIO_HTTP_PATCH = 1 << 6,
    SIO_HTTP_ANY = 0x7f,
};

/*
 * A route handler. It is called once the whole request body has arrived (bounded by the
 * route's max_body). req is valid until the response ends; res must be ended exactly once,
 * now or later, with sio_http_res_end(). A handler that answers later should set
 * sio_http_res_on_close(): when the peer goes away first, req and res are gone once that
 * callback returns (their memory serves the next connection). Without the callback they stay
 * valid until the response is ended, which then returns SIO_ECLOSED and sends nothing.
 */
typedef void (*sio_http_handler)(sio_http_req *req, sio_http_res *res, void *ud);

typedef struct sio_http_route_options {
    /* SIO_HTTP_* bits the route answers; 0 means GET|HEAD. Others get 405. */
    unsigned methods;
    /* Nonzero: the route matches path and everything below it ("/api" matches "/api/x"). */
    int prefix;
    /* Largest accepted request body in bytes; 0 means 1 MiB. Larger bodies get 413. */
    size_t max_body;
    void *reserved[4];
} sio_http_route_options;

/*
 * Add a route. Exact routes win over prefix routes, longer prefixes over shorter ones; of
 * two routes with the same path the first added wins (static_dir is a prefix route on "/"
 * added by sio_server_new()). The path must begin with "/". opts may be NULL. Returns 0,
 * SIO_EINVAL (also once a shutdown started), or SIO_ENOMEM.
 */
int sio_http_route(sio_server *io, const char *path, sio_http_handler handler, void *ud,
                   const sio_http_route_options *opts);

/* Request accessors. Strings are borrowed and valid while req is. */
const char *sio_http_req_method(const sio_http_req *req);
/* The decoded, normalised path ("/a/b"), without the query string. */
const char *sio_http_req_path(const sio_http_req *req);
/* The raw query string after "?" ("" when none). */
const char *sio_http_req_query(const sio_http_req *req);
/* The raw request target as sent. */
const char *sio_http_req_url(const sio_http_req *req);
/* The value of the first header named name (case-insensitive), or NULL. */
const char *sio_http_req_header(const sio_http_req *req, const char *name);
/* The n-th header (name as sent); returns 0 and sets name/value, or SIO_ENOTFOUND past the
 * end. */
int sio_http_req_header_at(const sio_http_req *req, size_t n, const char **name,
                           const char **value);
/* The decoded value of query parameter name, copied into out (NUL-terminated); returns its
 * length, SIO_ENOTFOUND, SIO_ETOOBIG if it does not fit, or SIO_EINVAL for a malformed
 * percent escape. */
int sio_http_req_query_param(const sio_http_req *req, const char *name, char *out, size_t outlen);
/* The request body (empty when none). */
const uint8_t *sio_http_req_body(const sio_http_req *req, size_t *len);
/* The peer's address as text ("127.0.0.1", "::1"). */
const char *sio_http_req_remote_addr(const sio_http_req *req);
/* 1 when the request came over TLS (Node's req.socket.encrypted), else 0. */
int sio_http_req_secure(const sio_http_req *req);

/* Set the status (default 200; 100-999, else SIO_EINVAL). SIO_ESTATE once sent. */
int sio_http_res_status(sio_http_res *res, int status);
/* Add a response header (never replaces one). Names and values with CR or LF are refused
 * with SIO_EINVAL. Date, Content-Length and Connection are written by libsio; a
 * "Connection: close" of yours closes the connection after the response. */
int sio_http_res_header(sio_http_res *res, const char *name, const char *value);
/*
 * Send body (len bytes, copied) and end the response. Content-Length is set from len; 204
 * and 304 responses must have no body (SIO_EINVAL, nothing sent: the response can still be
 * ended). Returns 0, SIO_ESTATE if the response already ended, or SIO_ECLOSED if writing
 * failed (the response counts as ended and the
 * connection is closed). Not to be called after the sio_http_res_on_close() callback.
 */
int sio_http_res_end(sio_http_res *res, const void *body, size_t len);
/* Convenience: status, Content-Type and body in one call. */
int sio_http_res_send(sio_http_res *res, int status, const char *content_type, const void *body,
                      size_t len);
/*
 * Called once if the connection closes before the response ended; after it, res is gone
 * and must not be used. Lets long-running handlers notice an aborted request. While a
 * callback is set, a client that ends its side of the connection (FIN) counts as gone too,
 * as for Node's http server; otherwise a half-closed client still gets its answer.
 */
typedef void (*sio_http_res_close_cb)(sio_http_res *res, void *ud);
void sio_http_res_on_close(sio_http_res *res, sio_http_res_close_cb cb, void *ud);

/* ------------------------------------------------------------------------------------ */
/* Raw WebSocket endpoints                                                              */
/* ------------------------------------------------------------------------------------ */

/*
 * A WebSocket connection (RFC 6455, with permessage-deflate from RFC 7692 when enabled).
 * The pointer is valid from on_open until on_close returns; every sio_ws_* call on it
 * fails with SIO_ECLOSED once the closing handshake has started.
 */
typedef struct sio_ws sio_ws;

typedef struct sio_ws_options {
    /*
     * Before the handshake is answered: return 0 to accept, or an HTTP status (403) to
     * refuse (values outside 400-599 refuse with 403). Use it to check Origin (there is no
     * allowlist of its own here: docs/security.md), cookies or tokens. NULL accepts every
     * request.
     */
    int (*on_upgrade)(sio_http_req *req, void *ud);
    /* The handshake is done; req (the upgrade request) is valid during the call only. */
    void (*on_open)(sio_ws *ws, sio_http_req *req, void *ud);
    /* A whole message: binary is 0 for text (valid UTF-8, not NUL-terminated), 1 for binary.
     * data is borrowed: valid during the call only. */
    void (*on_message)(sio_ws *ws, const void *data, size_t len, int binary, void *ud);
    /* A pong arrived (an answer to sio_ws_ping, or unsolicited). */
    void (*on_pong)(sio_ws *ws, const void *data, size_t len, void *ud);
    /* The outbound queue emptied after a send returned SIO_EAGAIN or sio_ws_buffered() was
     * above zero and sio_ws_want_drain() was called. */
    void (*on_drain)(sio_ws *ws, void *ud);
    /* Exactly once: code is the peer's close code, 1005 for a close frame without one,
     * 1006 when the connection ended without a close frame, or the code this side sent
     * when the peer broke the protocol (1002, 1007, 1009). reason is "" when none. ws is
     * freed after it returns. */
    void (*on_close)(sio_ws *ws, int code, const char *reason, void *ud);
    void *ud;
    /* Subprotocols in order of preference; the first one the client offers is selected. */
    const char *const *subprotocols;
    size_t nsubprotocols;
    /* Largest message accepted (also after inflating); 0 means 100 MiB. Larger: close 1009. */
    size_t max_message;
    /* Nonzero enables permessage-deflate when the client offers it. */
    int per_message_deflate;
    /* Messages shorter than this are sent uncompressed; 0 means 1024. */
    size_t deflate_threshold;
    /* Sends fail with SIO_EAGAIN while more than this many bytes wait, and a peer that pings
     * meanwhile (it does not read) is dropped rather than queued more pongs; 0: 16 MiB. */
    size_t max_buffered;
    /* After sio_ws_close(), the peer has this long to answer; 0 means 5000 ms. */
    uint32_t close_timeout_ms;
    /* Nonzero: also serve every path below path ("/" serves them all). */
    int prefix;
    void *reserved[8];
} sio_ws_options;

/*
 * Serve WebSocket connections on path (exact, or with opts->prefix the path and below).
 * A plain GET there is answered 426. opts is copied; the strings it points to must outlive
 * io. On shutdown every connection is closed with 1001 ("going away").
 */
int sio_ws_route(sio_server *io, const char *path, const sio_ws_options *opts);

/*
 * Send one message (binary 0: text, which must be valid UTF-8; 1: binary). data is copied.
 * Returns 0, SIO_EAGAIN when more than max_buffered bytes are waiting (the message is not
 * sent: wait for on_drain), SIO_EUTF8 for invalid text, or SIO_ECLOSED.
 */
int sio_ws_send(sio_ws *ws, const void *data, size_t len, int binary);
/* Send a ping with up to 125 bytes of payload (SIO_EINVAL above), or SIO_ECLOSED. */
int sio_ws_ping(sio_ws *ws, const void *data, size_t len);
/*
 * Start the closing handshake with code (1000-1003, 1007-1014, 3000-4999, else SIO_EINVAL;
 * 0 sends no code and no reason) and an optional reason (cut to 123 bytes). The connection
 * closes when the peer answers or after close_timeout_ms; on_close follows. SIO_ECLOSED
 * when closing already started.
 */
int sio_ws_close(sio_ws *ws, int code, const char *reason);
/* Bytes queued for this connection and not yet written. */
size_t sio_ws_buffered(const sio_ws *ws);
/* Ask for one on_drain when nothing is left to write. */
void sio_ws_want_drain(sio_ws *ws);
/* The selected subprotocol, or NULL. */
const char *sio_ws_protocol(const sio_ws *ws);
/* A pointer the application keeps with the connection (NULL at first). */
void sio_ws_set_data(sio_ws *ws, void *data);
void *sio_ws_data(const sio_ws *ws);

/* ------------------------------------------------------------------------------------ */
/* Socket.IO                                                                            */
/* ------------------------------------------------------------------------------------ */

/*
 * The Socket.IO server lives in the sio_server: the first sio_of() (or sio_of_match(),
 * sio_of_pattern()) starts serving io.path ("/socket.io/"), with the options in
 * sio_server_options.io.
 *
 * Event arguments are jansson values. Binary data is a value of its own made with
 * sio_binary(); it may sit anywhere in the arguments (nested in arrays and objects), and
 * libsio turns it into attachments on the wire. Emitting functions take a jansson pack
 * format and its arguments ("[so]" with a string and a value whose reference is stolen:
 * see json_pack() in jansson's documentation); the outer brackets may be left out.
 *
 * A sio_socket pointer is valid until its disconnect handlers have returned; work that
 * outlives a callback keeps sio_socket_id() and looks the socket up again.
 */
typedef struct sio_namespace sio_namespace;
typedef struct sio_socket sio_socket;
typedef struct sio_event sio_event;
typedef struct sio_next sio_next;
typedef struct sio_broadcast sio_broadcast;

/* A binary value holding a copy of len bytes (NULL on allocation failure). */
json_t *sio_binary(const void *data, size_t len);
/* Nonzero when v is a binary value. */
int sio_is_binary(const json_t *v);
/* The bytes of a binary value (borrowed from v); 0 or SIO_EINVAL when v is not binary. */
int sio_binary_data(const json_t *v, const void **data, size_t *len);

/* ---- namespaces ---- */

/* The namespace named name ("/" is the main one; a missing leading "/" is added), created
 * on first use. NULL for a NULL name, one over 254 bytes, or allocation failure. As in
 * Node, "/" always exists once the Socket.IO endpoint is set up (the first Socket.IO call);
 * clients get "Invalid namespace" for any namespace that does not exist. */
sio_namespace *sio_of(sio_server *io, const char *name);
/*
 * Dynamic namespaces, like io.of(regex) or io.of(fn): a client that connects to a name no
 * existing namespace has gets a child namespace when match(name, auth, ud) returns nonzero
 * (auth is the CONNECT payload, an object). Children are kept, and later clients of the
 * same name join them without match being asked again. The returned parent takes
 * middlewares and connection handlers that every child shares (those added to a child are
 * not used); it has no sockets itself, so broadcasts go through a child
 * (sio_socket_namespace()). sio_of_pattern() matches a POSIX extended regular expression
 * (NULL when invalid).
 */
typedef int (*sio_namespace_match_cb)(const char *name, const json_t *auth, void *ud);
sio_namespace *sio_of_match(sio_server *io, sio_namespace_match_cb match, void *ud);
sio_namespace *sio_of_pattern(sio_server *io, const char *regex);
const char *sio_namespace_name(const sio_namespace *nsp);
/* The number of connected sockets in nsp. */
size_t sio_namespace_count(const sio_namespace *nsp);

/*
 * Middleware (io.use): fn runs for each connecting socket, in the order added, before the
 * connection handlers. It continues with sio_next_ok(next) or refuses with
 * sio_next_error(next, message, data): the client gets CONNECT_ERROR {message, data}
 * (data may be NULL; its reference is stolen). next may be answered later, from any
 * callback on the loop; if the client left meanwhile the answer is ignored. Every next
 * must be answered exactly once. The socket is not connected yet (sio_emit() and
 * sio_join() return SIO_ECLOSED), and the answer may free it: it is the middleware's last
 * use of s. A middleware that answers later keeps next only, as s is freed at once if its
 * client leaves.
 */
typedef void (*sio_middleware_cb)(sio_socket *s, sio_next *next, void *ud);
int sio_use(sio_namespace *nsp, sio_middleware_cb fn, void *ud);
void sio_next_ok(sio_next *next);
void sio_next_error(sio_next *next, const char *message, json_t *data);

/* io.on("connection"): a socket joined nsp. */
typedef void (*sio_connection_cb)(sio_socket *s, void *ud);
int sio_on_connection(sio_namespace *nsp, sio_connection_cb fn, void *ud);

/* ---- sockets ---- */

/* An event handler. ev is valid during the call only (sio_event_keep() to keep it). */
typedef void (*sio_event_cb)(sio_socket *s, sio_event *ev, void *ud);
/* Disconnect: reason is Node's string ("client namespace disconnect", "transport close",
 * "ping timeout", "server namespace disconnect", "server shutting down", ...). */
typedef void (*sio_disconnect_cb)(sio_socket *s, const char *reason, void *ud);

/* socket.on(event, fn) / once / off (off with fn NULL removes every handler of event). As in
 * Node, a dispatch calls the handlers registered when it began: one added meanwhile is
 * called from the next event on, one removed is still called for the event being
 * dispatched. Once the socket disconnected, sio_on/sio_once return SIO_ECLOSED and sio_off
 * does nothing. */
int sio_on(sio_socket *s, const char *event, sio_event_cb fn, void *ud);
int sio_once(sio_socket *s, const char *event, sio_event_cb fn, void *ud);
void sio_off(sio_socket *s, const char *event, sio_event_cb fn);
/* socket.onAny / prependAny / offAny (fn NULL: all): called for every event, before the
 * event's own handlers. Don't call sio_prepend_any() from a handler of the same socket: a
 * handler may then run twice and another not at all for that event. */
int sio_on_any(sio_socket *s, sio_event_cb fn, void *ud);
int sio_prepend_any(sio_socket *s, sio_event_cb fn, void *ud);
void sio_off_any(sio_socket *s, sio_event_cb fn);
/* socket.onAnyOutgoing: called with every event sent to this socket, by its own emits and
 * by broadcasts (args borrowed, without a recovery offset). fn NULL removes all. */
typedef void (*sio_outgoing_cb)(sio_socket *s, const char *event, const json_t *args, void *ud);
int sio_on_any_outgoing(sio_socket *s, sio_outgoing_cb fn, void *ud);
void sio_off_any_outgoing(sio_socket *s, sio_outgoing_cb fn);
/* "disconnecting" (rooms still visible, still connected) and "disconnect" (after pending
 * acks failed with SIO_ECLOSED; s is gone when the handlers returned). From its disconnecting
 * handlers, sio_disconnect(s, 0) does nothing more, s being already on its way out (in Node
 * it would run them again); sio_disconnect(s, 1) also ends the connection. */
int sio_on_disconnecting(sio_socket *s, sio_disconnect_cb fn, void *ud);
int sio_on_disconnect(sio_socket *s, sio_disconnect_cb fn, void *ud);

/* The event's name, its arguments (an array, without the ack), and their count. */
const char *sio_event_name(const sio_event *ev);
json_t *sio_event_args(const sio_event *ev);
/* json_unpack() on the arguments array: "[s]" or "s" (brackets optional) takes the first
 * argument as a string. Returns 0 or SIO_EINVAL. */
int sio_event_unpack(const sio_event *ev, const char *fmt, ...);
/* Nonzero when the client waits for an acknowledgement. */
int sio_event_wants_ack(const sio_event *ev);
/* Answer the client's ack with values packed from fmt (NULL: no values). Once per event;
 * later calls return SIO_ESTATE, events without an ack SIO_ESTATE too; SIO_ECLOSED once
 * the socket disconnected (or when the answer would take its client past
 * io.max_buffered_bytes, which closes it); SIO_EINVAL for a bad format. */
int sio_ack(sio_event *ev, const char *fmt, ...);
/* The same with the values as an array (borrowed). */
int sio_ack_array(sio_event *ev, json_t *args);
/* Keep ev past its callback (to answer the ack later); release with sio_event_release().
 * This keeps the event, not the socket: once it disconnected, sio_ack() is SIO_ECLOSED.
 * Returns ev, or NULL (nothing kept) when its socket already holds io.max_kept_events kept
 * events. */
sio_event *sio_event_keep(sio_event *ev);
void sio_event_release(sio_event *ev);

/* socket.emit(event, ...args). 0, SIO_ECLOSED (not connected, or its session closing, also
 * when the packet would take the client past io.max_buffered_bytes: the packet is dropped
 * and the connection closes at the end of the loop turn), SIO_EINVAL (bad format or a
 * reserved event name), SIO_ETOOBIG (more than io.max_attachments binary values, 10 by
 * default, or nesting deeper than 128), SIO_ENOMEM. */
int sio_emit(sio_socket *s, const char *event, const char *fmt, ...);
/* The same with the arguments as an array (borrowed): socket.emit(event, ...args). */
int sio_emit_array(sio_socket *s, const char *event, json_t *args);
/* socket.timeout(ms).emit(event, ...args, (err, ...resp) => ...): fn gets the client's
 * answer, or err SIO_ETIMEDOUT after timeout_ms (0: no timeout; checked every tenth of
 * connect_timeout_ms, 10 to 100 ms), or SIO_ECLOSED if the socket disconnects first; once,
 * unless the emit failed. args is borrowed for the call, NULL with an error. Fails as
 * sio_emit(), and with SIO_ELIMIT (logged, nothing sent) while io.max_pending_acks acks of
 * this socket are pending. */
typedef void (*sio_ack_cb)(sio_socket *s, int err, json_t *args, void *ud);
int sio_emit_ack(sio_socket *s, uint32_t timeout_ms, sio_ack_cb fn, void *ud, const char *event,
                 const char *fmt, ...);

/* The same with the arguments as an array (borrowed). */
int sio_emit_ack_array(sio_socket *s, uint32_t timeout_ms, sio_ack_cb fn, void *ud,
                       const char *event, json_t *args);

/* socket.disconnect(close): leave the namespace (the disconnect handlers run before this
 * returns); with close, every socket of the client leaves and the connection ends. No-op
 * for a socket that is not connected (during its middlewares, or disconnected). */
void sio_disconnect(sio_socket *s, int close);

/* The socket's id (20 characters, distinct from the Engine.IO id). A recovered socket has
 * its old id; protocol v4 clients (allow_eio3) have "<nsp>#<engine id>" ids, the engine
 * id alone on "/", as socket.io 2 made them. */
const char *sio_socket_id(const sio_socket *s);
sio_namespace *sio_socket_namespace(const sio_socket *s);
sio_server *sio_socket_server(const sio_socket *s);
int sio_socket_connected(const sio_socket *s);
/* True when connection state recovery restored this socket. */
int sio_socket_recovered(const sio_socket *s);
/* The user data room of io.socket_ud_size bytes (NULL when 0). */
void *sio_socket_ud(sio_socket *s);
/* socket.data: a JSON object kept with the socket (created empty), shared with other
 * nodes by fetchSockets. Borrowed. */
json_t *sio_socket_data(sio_socket *s);

/* socket.handshake, from the request that opened the Engine.IO session: auth (the CONNECT
 * payload, an object), headers, query, url, address, issued (ms since the epoch, taken at
 * that request; Node's time is the same moment as text), secure (1 when that request came
 * over TLS). Strings and values are borrowed. */
const json_t *sio_socket_auth(const sio_socket *s);
const char *sio_socket_header(const sio_socket *s, const char *name);
/* The decoded value of query parameter name of the handshake URL, copied into out
 * (NUL-terminated): its length, SIO_ENOTFOUND, SIO_ETOOBIG or SIO_EINVAL. */
int sio_socket_query(const sio_socket *s, const char *name, char *out, size_t outlen);
const char *sio_socket_url(const sio_socket *s);
const char *sio_socket_address(const sio_socket *s);
int64_t sio_socket_issued(const sio_socket *s);
int sio_socket_secure(const sio_socket *s);
/* The transport in use: SIO_TRANSPORT_POLLING or SIO_TRANSPORT_WEBSOCKET. */
int sio_socket_transport(const sio_socket *s);
/* Bytes waiting to be sent to the socket's client (shared by its sockets in every
 * namespace): what io.max_buffered_bytes bounds. 0 once the connection is gone. */
size_t sio_socket_buffered(const sio_socket *s);

/* ---- rooms ---- */

/* socket.join / leave. Every socket is in the room named by its id. sio_join() returns 0,
 * SIO_EINVAL, SIO_ECLOSED (not connected: also during middlewares), SIO_ELIMIT (in
 * io.max_rooms_per_socket rooms besides its own already: logged) or SIO_ENOMEM. */
int sio_join(sio_socket *s, const char *room);
void sio_leave(sio_socket *s, const char *room);
int sio_socket_in(const sio_socket *s, const char *room);
/* Call fn for each room of s (its id first, then in join order); stops when fn returns
 * nonzero. room is borrowed for the call. Nothing once s is disconnected. */
void sio_socket_rooms(const sio_socket *s, int (*fn)(const char *room, void *ud), void *ud);

/* ---- broadcasting: io.to(room).except(room).emit(...) ---- */

/*
 * A broadcast operator, like Node's BroadcastOperator. Start one from a namespace (every
 * socket of it) or from a socket (every socket but the sender: socket.broadcast,
 * socket.to(room)); narrow it with to/except, set flags, then end it with one of the
 * terminal calls (emit, emit_ack, fetch, join, leave, disconnect), which free it. Each
 * builder returns its argument (NULL stays NULL, and a terminal call on NULL fails with
 * SIO_ENOMEM), so calls nest:
 *
 *     sio_broadcast_emit(sio_except(sio_to(sio_broadcast_of(s), "room"), "muted"), "msg", "s",
 * text);
 */
sio_broadcast *sio_broadcast_nsp(sio_namespace *nsp);
sio_broadcast *sio_broadcast_of(sio_socket *s);
sio_broadcast *sio_to(sio_broadcast *b, const char *room);
sio_broadcast *sio_except(sio_broadcast *b, const char *room);
sio_broadcast *sio_local(sio_broadcast *b);
sio_broadcast *sio_volatile(sio_broadcast *b);
/* on = 0: the packets are never deflated, neither by permessage-deflate nor in a polling
 * response (compressed only when one of its packets may be). The default is on. */
sio_broadcast *sio_compress(sio_broadcast *b, int on);
sio_broadcast *sio_timeout(sio_broadcast *b, uint32_t ms);
/* Free an operator without using it. */
void sio_broadcast_free(sio_broadcast *b);

/* Emit to every matching socket: encoded once, shared by all. */
int sio_broadcast_emit(sio_broadcast *b, const char *event, const char *fmt, ...);
/* The same with the arguments as an array (borrowed). */
int sio_broadcast_emit_array(sio_broadcast *b, const char *event, json_t *args);
/* Emit with an ack from every recipient: fn gets (0, array of answers: the first value of
 * each) when all answered or left, or (SIO_ETIMEDOUT, the answers so far) after the
 * operator's timeout (none: wait for every recipient). Nothing matched: fn(0, []) before
 * this returns. answers is borrowed for the call. */
typedef void (*sio_broadcast_ack_cb)(int err, json_t *answers, void *ud);
int sio_broadcast_emit_ack(sio_broadcast *b, sio_broadcast_ack_cb fn, void *ud, const char *event,
                           const char *fmt, ...);
/* fetchSockets: fn(s, ud) for each matching local socket (stop with nonzero). The sockets
 * themselves, valid during the call; fn may emit to, join, leave or disconnect its s. */
int sio_broadcast_fetch(sio_broadcast *b, int (*fn)(sio_socket *s, void *ud), void *ud);
/* socketsJoin / socketsLeave / disconnectSockets. */
int sio_broadcast_join(sio_broadcast *b, const char *room);
int sio_broadcast_leave(sio_broadcast *b, const char *room);
int sio_broadcast_disconnect(sio_broadcast *b, int close);

/* io.serverSideEmit: reach the other nodes of a cluster. On one node it returns 0 without
 * packing fmt (a value passed with "o" is not consumed). */
int sio_server_side_emit(sio_namespace *nsp, const char *event, const char *fmt, ...);

#ifdef __cplusplus
}
#endif

#endif /* SIO_H */
