/*
 * The HTTP/1.1 server layer: requests parsed by llhttp, routed to handlers, answered by a
 * response writer; the hook through which WebSocket takes a connection over.
 *
 * The public face is sio_http_route() and the sio_http_req/sio_http_res accessors in
 * sio.h; this header is what the server object and the higher layers use.
 */
#ifndef SIO_HTTP_HTTP_H
#define SIO_HTTP_HTTP_H

#include <llhttp.h>

#include "base/buf.h"
#include "base/list.h"
#include "base/log.h"
#include "net/net.h"
#include "sio.h"

typedef struct sio__http_server sio__http_server;
typedef struct sio__http_conn sio__http_conn;

typedef struct sio__http_header {
    uint32_t name_off, name_len, value_off, value_len;
} sio__http_header;

/* A request. Strings live in head (NUL-terminated, addressed by offsets). */
struct sio_http_req {
    sio__buf head;
    sio__http_header *headers;
    uint32_t nheaders, headers_cap;
    uint32_t url_off, url_len;
    uint32_t path_off, query_off; /* normalised path and raw query, in head */
    uint32_t cur_field;           /* header being parsed */
    uint8_t method;               /* llhttp_method_t */
    uint8_t http_major, http_minor;
    unsigned keep_alive : 1, upgrade : 1, expect_continue : 1, has_body : 1;
    uint64_t content_length; /* when known (has_body and not chunked) */
    sio__buf body;
    char remote[48];
    sio__http_conn *conn;
};

typedef struct sio__http_parser_events {
    /* Headers complete: 0 to go on, or an HTTP status (400, 404, 413, ...) to refuse. */
    int (*on_head)(sio_http_req *req, void *ud);
    /* Body bytes: 0, or an HTTP status to refuse (413). */
    int (*on_body)(sio_http_req *req, const uint8_t *p, size_t n, void *ud);
} sio__http_parser_events;

/*
 * The llhttp glue: a codec that fills a sio_http_req and stops after each complete
 * message so the caller can answer it before the next pipelined one is parsed.
 */
typedef struct sio__http_parser {
    llhttp_t ll;
    sio_http_req *req;
    const sio__http_parser_events *ev;
    void *ud;
    uint32_t max_head; /* bytes of request line + headers */
    uint32_t head_bytes;
    size_t raw_head;
    int status;         /* the HTTP status to answer after an error */
    const char *reason; /* why, for the log */
    unsigned in_head : 1, in_message : 1, complete : 1, paused : 1;
} sio__http_parser;

void sio__http_parser_init(sio__http_parser *p, sio_http_req *req, uint32_t max_head,
                           const sio__http_parser_events *ev, void *ud);
/*
 * Parse. Returns the bytes consumed (>= 0) or -1 after an error, with p->status set. When
 * p->complete is set on return, one whole request is in p->req and the bytes after it are
 * not consumed; call sio__http_parser_next() before parsing the next one.
 */
ptrdiff_t sio__http_parser_execute(sio__http_parser *p, const uint8_t *data, size_t n);
void sio__http_parser_next(sio__http_parser *p);
/* True when a request has started but its headers are not complete. */
int sio__http_parser_in_head(const sio__http_parser *p);
/* Release what the request holds. */
void sio__http_req_init(sio_http_req *req);
void sio__http_req_reset(sio_http_req *req);
void sio__http_req_free(sio_http_req *req);

/* Routes. */
typedef struct sio__http_route {
    char *path;
    size_t len;
    int prefix;
    unsigned methods;
    size_t max_body;
    sio_http_handler handler;
    void *ud;
} sio__http_route;

typedef struct sio__http_router {
    sio__http_route *routes;
    size_t n, cap;
} sio__http_router;

int sio__http_router_add(sio__http_router *r, const char *path, int prefix, unsigned methods,
                         size_t max_body, sio_http_handler h, void *ud);
/* The route for a normalised path: exact beats prefix, longer prefix beats shorter. */
const sio__http_route *sio__http_router_match(const sio__http_router *r, const char *path);
/* The SIO_HTTP_* bit for an llhttp method, 0 when none. */
unsigned sio__http_method_bit(uint8_t llhttp_method);
/* "GET, HEAD" for an Allow header. */
void sio__http_allow_header(unsigned methods, char *out, size_t outlen);
void sio__http_router_free(sio__http_router *r);

/* The server. */
typedef struct sio__http_options {
    uint32_t max_header_bytes;
    uint32_t header_timeout_ms;
    uint32_t keepalive_timeout_ms;
    sio__tls_ctx *tls; /* not NULL: every listener serves TLS with it */
} sio__http_options;

sio__http_server *sio__http_server_new(sio__net *net, const sio__http_options *opts);
int sio__http_server_listen(sio__http_server *s, const char *host, int port);
int sio__http_server_port(sio__http_server *s, unsigned n);
int sio__http_server_route(sio__http_server *s, const char *path, sio_http_handler h, void *ud,
                           const sio_http_route_options *opts);
/* Stop listening; idle connections end now, busy ones after their response. done is
 * called once no connection is left. */
void sio__http_server_shutdown(sio__http_server *s, void (*done)(void *ud), void *ud);
/* Close every connection now (the shutdown deadline). */
void sio__http_server_close_all(sio__http_server *s);
void sio__http_server_free(sio__http_server *s);
const sio__logger *sio__http_server_log(sio__http_server *s);
uv_loop_t *sio__http_server_loop(sio__http_server *s);

/*
 * Take the connection of an upgrade request away from HTTP (WebSocket). Must be called
 * from the request's handler, before any response. The caller installs its own handler
 * on the returned connection; the bytes received after the request are appended to
 * leftover. The request and response objects are gone when the handler returns.
 */
sio__conn *sio__http_takeover(sio_http_req *req, sio__buf *leftover);

/*
 * Go on with a request whose handler returned without answering: run fn as if it were the
 * route's handler, so it may answer or take the connection over (an upgrade decided
 * asynchronously). res must still be open.
 */
void sio__http_res_resume(sio_http_res *res, sio_http_handler fn, void *ud);

/* Add preformatted header lines ("Name: value\r\n"...), trusted to be well formed. */
int sio__http_res_header_lines(sio_http_res *res, const char *lines, size_t len);

/* Streaming responses, for static files and long-polling. */
/* Send the status line and headers with a Content-Length (HEAD requests send no body).
 * SIO_EINVAL, before anything is written, for a length on a 204 or 304. */
int sio__http_res_write_head(sio_http_res *res, uint64_t content_length);
int sio__http_res_write(sio_http_res *res, const void *p, size_t n);
int sio__http_res_write_bytes(sio_http_res *res, sio__bytes *b, size_t off, size_t n);
/* End a response whose head was written; the body must have had content_length bytes. */
int sio__http_res_finish(sio_http_res *res);
/* Bytes of this connection's output still queued, and a callback when it drains. */
size_t sio__http_res_queued(const sio_http_res *res);
void sio__http_res_on_drain(sio_http_res *res, void (*cb)(sio_http_res *res, void *ud), void *ud);
sio__http_server *sio__http_res_server(const sio_http_res *res);
int sio__http_res_is_head(const sio_http_res *res);

/* Content codings (encoding.c). */
enum { SIO__HTTP_ENC_NONE, SIO__HTTP_ENC_GZIP, SIO__HTTP_ENC_DEFLATE };
/* The best of gzip and deflate an Accept-Encoding header (NULL: none) allows; gzip wins
 * ties. A coding named in the header is not covered by "*". */
int sio__http_pick_encoding(const char *accept_encoding);
/* Append in compressed as gzip or deflate (zlib format) at zlib level. 0 or SIO_ENOMEM. */
int sio__http_compress(const sio__buf *in, int enc, int level, sio__buf *out);

/* The static file handler (ud: the sio__http_static). */
typedef struct sio__http_static sio__http_static;
sio__http_static *sio__http_static_new(uv_loop_t *loop, const char *root);
void sio__http_static_free(sio__http_static *st);
void sio__http_static_handler(sio_http_req *req, sio_http_res *res, void *ud);

#endif
