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
    X(STATE, "operation not valid in this state")

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
 * allocation failure: the failing call returns SIO_ENOMEM.
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

/* Receives one formatted line (no trailing newline); the string is borrowed. */
typedef void (*sio_log_cb)(sio_log_level level, const char *line, void *ud);

/* ------------------------------------------------------------------------------------ */
/* Server                                                                               */
/* ------------------------------------------------------------------------------------ */

typedef struct sio_server sio_server;

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
    void *reserved[8];
} sio_server_options;

/*
 * Create a server on loop (NULL: the server creates and owns its own loop). opts may be
 * NULL. Returns NULL on allocation failure or invalid options. SIGPIPE is set to be
 * ignored unless the application has its own handler (a write to a reset connection
 * would otherwise end the process). Free with
 * sio_server_free() once the loop no longer runs, or let sio_run() return and then free.
 */
sio_server *sio_server_new(uv_loop_t *loop, const sio_server_options *opts);

/* The loop the server runs on. */
uv_loop_t *sio_server_loop(sio_server *io);

/*
 * Listen on host:port (IPv4 or IPv6 literal, or "localhost"; port 0 picks a free port).
 * May be called several times for several addresses. SO_REUSEADDR is set; an IPv6
 * address also accepts IPv4 where the system maps it. Returns 0 or a negative code.
 */
int sio_listen(sio_server *io, const char *host, int port);

/* The port of the n-th successful sio_listen() (for port 0), or a negative code. */
int sio_server_port(sio_server *io, unsigned n);

/*
 * Run the loop until the server has shut down. SIGINT and SIGTERM start a graceful
 * shutdown: listening stops, in-flight responses finish, idle connections close, and
 * whatever is still open after shutdown_timeout_ms is closed. Returns 0 after a clean
 * shutdown or a negative code.
 */
int sio_run(sio_server *io);

/*
 * Start a graceful shutdown from code (what SIGINT/SIGTERM do). cb, if not NULL, is called
 * once when every connection and listener is closed. Calling it again is a no-op that
 * returns SIO_ESTATE.
 */
typedef void (*sio_server_closed_cb)(sio_server *io, void *ud);
int sio_server_shutdown(sio_server *io, sio_server_closed_cb cb, void *ud);

/*
 * Free the server. Must not be called while its loop runs callbacks of this server; after
 * sio_run() returned, or after the shutdown callback, it always succeeds.
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
 * now or later, with sio_http_res_end() (or closed if the peer goes away: see
 * sio_http_res_on_close()).
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
 * Add a route. Exact routes win over prefix routes, longer prefixes over shorter ones.
 * The path must begin with "/". opts may be NULL. Returns 0, SIO_EINVAL, or SIO_ENOMEM.
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
/* The n-th header; returns 0 and sets name/value, or SIO_ENOTFOUND past the end. */
int sio_http_req_header_at(const sio_http_req *req, size_t n, const char **name,
                           const char **value);
/* The decoded value of query parameter name, copied into out (NUL-terminated); returns its
 * length, SIO_ENOTFOUND, or SIO_ETOOBIG if it does not fit. */
int sio_http_req_query_param(const sio_http_req *req, const char *name, char *out, size_t outlen);
/* The request body (empty when none). */
const uint8_t *sio_http_req_body(const sio_http_req *req, size_t *len);
/* The peer's address as text ("127.0.0.1", "::1"). */
const char *sio_http_req_remote_addr(const sio_http_req *req);

/* Set the status (default 200). Must come before the first write. */
int sio_http_res_status(sio_http_res *res, int status);
/* Add a response header. Names and values with CR or LF are refused with SIO_EINVAL. */
int sio_http_res_header(sio_http_res *res, const char *name, const char *value);
/*
 * Send body (len bytes, copied) and end the response. Content-Length is set from len.
 * Returns 0, SIO_ESTATE if the response already ended, or SIO_ECLOSED if the peer is gone
 * (the response still counts as ended).
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
     * refuse. Use it to check Origin, cookies or tokens. NULL accepts every request.
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
     * when the peer broke the protocol (1002, 1007, 1009). ws is freed after it returns. */
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
    /* Sends fail with SIO_EAGAIN while more than this many bytes wait; 0 means 16 MiB. */
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
/* Send a ping with up to 125 bytes of payload. */
int sio_ws_ping(sio_ws *ws, const void *data, size_t len);
/*
 * Start the closing handshake with code (1000, 3000-4999, ...; 0 sends no code) and an
 * optional reason (cut to 123 bytes). The connection closes when the peer answers or
 * after close_timeout_ms; on_close follows.
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

#ifdef __cplusplus
}
#endif

#endif /* SIO_H */
