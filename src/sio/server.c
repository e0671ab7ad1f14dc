/*
 * The server object: what a program creates first. It owns (or borrows) the loop, the
 * network context, the HTTP server with its routes and static files, and the shutdown
 * sequence; the Engine.IO and Socket.IO layers attach to it.
 *
 * Shutdown is graceful and bounded: listeners close, idle connections end, in-flight
 * responses finish, and whatever is still open when shutdown_timeout_ms passes is closed.
 * Freeing is deferred until every handle the server owns has been released by libuv, so
 * sio_server_free() is safe at any point on an owned loop, and on a borrowed loop
 * completes the next time that loop runs.
 */
#include <signal.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "http/http.h"
#include "net/net.h"
#include "sio/post.h"
#include "sio/server.h"
#include "ws/ws.h"
#include "sio.h"

enum { S_RUNNING, S_SHUTTING, S_CLOSED };

struct sio_server {
    uv_loop_t *loop;
    uv_loop_t own_loop;
    int owns_loop;
    sio__logger log;
    sio_server_options opt;
    sio__net *net;
    sio__http_server *http;
    sio__http_static *st;
    sio__tls_ctx *tls;
    sio__ws_group **ws_groups;
    size_t nws_groups;
    struct shutdown_hook {
        void (*fn)(void *ud);
        void *ud;
    } * hooks;
    size_t nhooks;
    struct sio__io *sio;
    void (*sio_free)(struct sio__io *x);
    uv_signal_t sigint, sigterm;
    uv_timer_t timer;
    sio__post_queue posts;
    int posts_on;
    int handles; /* open handles of this struct */
    int signals_on;
    int state;
    int free_pending;
    int ran;
    sio_server_closed_cb closed_cb;
    void *closed_ud;
};

static void destroy(sio_server *io)
{
    if (io->posts_on) sio__post_free(&io->posts);
    if (io->sio) io->sio_free(io->sio);
    sio__http_server_free(io->http);
    sio__http_static_free(io->st);
    sio__tls_ctx_unref(io->tls);
    for (size_t i = 0; i < io->nws_groups; i++) sio__free(io->ws_groups[i]);
    sio__free(io->ws_groups);
    sio__free(io->hooks);
    if (io->owns_loop) {
        /* Let libuv release what was closed, then the loop itself. */
        uv_run(io->loop, UV_RUN_DEFAULT);
        uv_loop_close(io->loop);
    }
    sio__free(io);
}

static void on_handle_closed(uv_handle_t *h)
{
    sio_server *io = h->data;
    if (--io->handles == 0 && io->free_pending && !io->owns_loop) destroy(io);
}

static void close_own_handles(sio_server *io)
{
    if (io->signals_on) {
        io->signals_on = 0;
        uv_close((uv_handle_t *)&io->sigint, on_handle_closed);
        uv_close((uv_handle_t *)&io->sigterm, on_handle_closed);
    }
    if (!uv_is_closing((uv_handle_t *)&io->timer))
        uv_close((uv_handle_t *)&io->timer, on_handle_closed);
    if (io->posts_on && !uv_is_closing((uv_handle_t *)&io->posts.async))
        sio__post_close(&io->posts, on_handle_closed);
}

/* Every connection is closed: release the loop's handles. */
static void on_all_closed(void *ud)
{
    sio_server *io = ud;
    io->state = S_CLOSED;
    uv_timer_stop(&io->timer);
    sio__net_free(io->net);
    io->net = NULL;
    close_own_handles(io);
    sio__log_info(&io->log, "server closed");
    if (io->closed_cb) io->closed_cb(io, io->closed_ud);
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    sio_server *io = t->data;
    sio__log_warn(&io->log, "shutdown timeout: closing %zu open connection(s)",
                  sio__net_conn_count(io->net));
    sio__http_server_close_all(io->http);
    sio__net_close_all(io->net);
}

static void on_signal(uv_signal_t *s, int signum)
{
    sio_server *io = s->data;
    if (io->state == S_RUNNING) {
        sio__log_info(&io->log, "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
        sio_server_shutdown(io, NULL, NULL);
    }
}

/*
 * A write to a connection the peer has reset raises SIGPIPE, which would kill the process;
 * libuv writes with writev, which cannot ask for MSG_NOSIGNAL. Ignore it, as Node does,
 * unless the application installed a handler of its own.
 */
static void ignore_sigpipe(void)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

sio_server *sio_server_new(uv_loop_t *loop, const sio_server_options *opts)
{
    ignore_sigpipe();
    sio_server *io = sio__calloc(1, sizeof(*io));
    if (!io) return NULL;
    if (opts) io->opt = *opts;
    if (!io->opt.shutdown_timeout_ms) io->opt.shutdown_timeout_ms = 4000;
    io->log.cb = io->opt.log_cb;
    io->log.ud = io->opt.log_ud;
    io->log.level = io->opt.log_level ? io->opt.log_level : SIO_LOG_INFO;
    if (loop) {
        io->loop = loop;
    } else {
        if (uv_loop_init(&io->own_loop)) {
            sio__free(io);
            return NULL;
        }
        io->loop = &io->own_loop;
        io->owns_loop = 1;
    }
    uv_timer_init(io->loop, &io->timer);
    io->timer.data = io;
    io->handles = 1;
    if (sio__post_init(&io->posts, io->loop, io)) goto fail;
    io->posts_on = 1;
    io->handles++;
    io->net = sio__net_new(io->loop, &io->log);
    if (io->net) {
        sio__net_set_conn_ext(io->net, sio__ws_conn_size());
        sio__net_set_max_conns(io->net, io->opt.max_connections);
        sio__net_set_busy_poll(io->net, io->opt.busy_poll_us);
    }
    if (io->opt.tls.cert_file || io->opt.tls.key_file) {
        io->tls = sio__tls_ctx_new(&io->opt.tls, &io->log);
        if (!io->tls) goto fail;
    }
    sio__http_options ho = {
        .max_header_bytes = io->opt.max_header_bytes,
        .header_timeout_ms = io->opt.header_timeout_ms,
        .keepalive_timeout_ms = io->opt.keepalive_timeout_ms,
        .tls = io->tls,
    };
    io->http = io->net ? sio__http_server_new(io->net, &ho) : NULL;
    if (!io->http) goto fail;
    if (io->opt.static_dir) {
        io->st = sio__http_static_new(io->loop, io->opt.static_dir);
        if (!io->st) {
            sio__log_error(&io->log, "static directory %s: not found", io->opt.static_dir);
            goto fail;
        }
        sio_http_route_options ro = {.methods = SIO_HTTP_GET | SIO_HTTP_HEAD, .prefix = 1};
        if (sio__http_server_route(io->http, "/", sio__http_static_handler, io->st, &ro)) goto fail;
    }
    return io;
fail:
    if (io->net) {
        sio__net_free(io->net);
        io->net = NULL;
    }
    io->state = S_CLOSED;
    close_own_handles(io);
    if (io->owns_loop) {
        destroy(io);
    } else {
        io->free_pending = 1;
    }
    return NULL;
}

uv_loop_t *sio_server_loop(sio_server *io)
{
    return io->loop;
}

int sio_listen(sio_server *io, const char *host, int port)
{
    if (io->state != S_RUNNING) return SIO_ESTATE;
    int r = sio__http_server_listen(io->http, host, port);
    if (r) {
        sio__log_error(&io->log, "listen on %s:%d: %s", host ? host : "", port, sio_strerror(r));
        return r;
    }
    return 0;
}

int sio_server_port(sio_server *io, unsigned n)
{
    return sio__http_server_port(io->http, n);
}

int sio_http_route(sio_server *io, const char *path, sio_http_handler handler, void *ud,
                   const sio_http_route_options *opts)
{
    if (!io || io->state != S_RUNNING) return SIO_EINVAL;
    return sio__http_server_route(io->http, path, handler, ud, opts);
}

int sio_ws_route(sio_server *io, const char *path, const sio_ws_options *opts)
{
    if (!io || io->state != S_RUNNING || !opts) return SIO_EINVAL;
    sio__ws_group **ng = sio__reallocarray(io->ws_groups, io->nws_groups + 1, sizeof(*ng));
    if (!ng) return SIO_ENOMEM;
    io->ws_groups = ng;
    sio__ws_group *g = sio__malloc(sizeof(*g));
    if (!g) return SIO_ENOMEM;
    sio__ws_group_init(g, opts);
    sio_http_route_options ro = {.methods = SIO_HTTP_GET, .prefix = opts->prefix};
    int r = sio__http_server_route(io->http, path, sio__ws_handler, g, &ro);
    if (r) {
        sio__free(g);
        return r;
    }
    io->ws_groups[io->nws_groups++] = g;
    return 0;
}

struct sio__io *sio__server_io(const sio_server *io)
{
    return io->sio;
}

void sio__server_set_io(sio_server *io, struct sio__io *x, void (*free_fn)(struct sio__io *x))
{
    io->sio = x;
    io->sio_free = free_fn;
}

const sio_server_options *sio__server_options(const sio_server *io)
{
    return &io->opt;
}

const sio__logger *sio__server_log(const sio_server *io)
{
    return &io->log;
}

int sio__server_on_shutdown(sio_server *io, void (*fn)(void *ud), void *ud)
{
    struct shutdown_hook *h = sio__reallocarray(io->hooks, io->nhooks + 1, sizeof(*h));
    if (!h) return SIO_ENOMEM;
    io->hooks = h;
    h[io->nhooks++] = (struct shutdown_hook){fn, ud};
    return 0;
}

int sio_run(sio_server *io)
{
    if (io->state != S_RUNNING || io->ran) return SIO_ESTATE;
    io->ran = 1;
    uv_signal_init(io->loop, &io->sigint);
    uv_signal_init(io->loop, &io->sigterm);
    io->sigint.data = io->sigterm.data = io;
    io->handles += 2;
    io->signals_on = 1;
    uv_signal_start(&io->sigint, on_signal, SIGINT);
    uv_signal_start(&io->sigterm, on_signal, SIGTERM);
    int r = uv_run(io->loop, UV_RUN_DEFAULT);
    (void)r;
    return 0;
}

int sio_server_post(sio_server *io, sio_post_cb fn, void *ud)
{
    if (!io || !fn) return SIO_EINVAL;
    return sio__post_push(&io->posts, fn, ud);
}

int sio_server_shutdown(sio_server *io, sio_server_closed_cb cb, void *ud)
{
    if (io->state != S_RUNNING) return SIO_ESTATE;
    io->state = S_SHUTTING;
    io->closed_cb = cb;
    io->closed_ud = ud;
    uv_timer_start(&io->timer, on_shutdown_timeout, io->opt.shutdown_timeout_ms, 0);
    sio__http_server_shutdown(io->http, NULL, NULL);
    for (size_t i = 0; i < io->nws_groups; i++)
        sio__ws_group_close_all(io->ws_groups[i], io->net, 1001, "server shutting down");
    for (size_t i = 0; i < io->nhooks; i++) io->hooks[i].fn(io->hooks[i].ud);
    sio__net_on_empty(io->net, on_all_closed, io);
    return 0;
}

void sio_server_free(sio_server *io)
{
    if (!io) return;
    io->free_pending = 1;
    if (io->state == S_RUNNING) sio_server_shutdown(io, NULL, NULL);
    if (io->state == S_SHUTTING) {
        sio__http_server_close_all(io->http);
        if (io->net) sio__net_close_all(io->net);
    }
    if (io->owns_loop) {
        /* Run the loop until every handle is released; destroy() runs it once more. */
        while (io->state != S_CLOSED) uv_run(io->loop, UV_RUN_ONCE);
        destroy(io);
        return;
    }
    if (io->state == S_CLOSED && io->handles == 0) destroy(io);
}
