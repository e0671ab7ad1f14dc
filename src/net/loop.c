/*
 * The per-loop network context and TCP listeners.
 *
 * Three things are shared by every connection of a loop instead of being kept per
 * connection:
 *   - the receive slab: libuv's alloc callback always returns the same 256 KiB block, so an
 *     idle connection holds no read buffer at all (uSockets does the same). Readers must
 *     consume or copy what they need during the read callback.
 *   - the flush: writes only queue; one uv_prepare_t (which runs just before the loop
 *     blocks) flushes each connection that has output with one writev. Many messages queued
 *     during one turn cost one system call (Redis's clients_pending_write, uWS's cork).
 *   - busy polling (opt-in, sio__net_set_busy_poll): for a while after a turn that read
 *     input the same idle handle keeps the loop from blocking, so the next message finds
 *     the thread awake instead of paying for a wake-up.
 *   - the deadline sweep: one repeating timer visits the connections and fires the passed
 *     deadlines, instead of a uv_timer_t per connection. Deadlines here are coarse
 *     (header and idle timeouts), so a sweep every 250 ms is precise enough; a timer
 *     wheel would replace the linear walk if connection counts make it show in profiles.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "net/net_int.h"
#include "sio.h"

#define SLAB_SIZE              (256 * 1024)
#define SWEEP_MS               250
#define DEFAULT_END_TIMEOUT_MS 30000
#define BACKLOG                4096
#define DEFER_MIN              64 /* connections with output that make a flush worth deferring */

static void on_idle(uv_idle_t *h)
{
    (void)h;
}

static void on_prepare(uv_prepare_t *h)
{
    sio__net *net = h->data;
    sio__list *pos, *tmp;
    /* Busy polling: input opens (or extends) a window in which the loop does not block.
     * Off, now and the window stay 0. */
    uint64_t now = net->busy_poll_ns ? uv_hrtime() : 0;
    if (net->read_seen) net->busy_until = now + net->busy_poll_ns;
    /* A turn that read input and now has output for many connections (a broadcast) waits
     * for one more non-blocking poll first: input that arrived meanwhile (the rest of a
     * burst) is handled and its output joins the same writes, one writev per connection
     * for the lot. Only once in a row, so output is never held longer than that poll. */
    if (net->deferred) {
        net->deferred = 0;
    } else if (net->read_seen && net->npending >= DEFER_MIN) {
        net->read_seen = 0;
        net->deferred = 1;
        uv_idle_start(&net->idle, on_idle);
        return;
    }
    net->read_seen = 0;
    if (now < net->busy_until)
        uv_idle_start(&net->idle, on_idle);
    else
        uv_idle_stop(&net->idle);
    /* Flushing can complete synchronously and queue nothing new, or fail and close; either
     * way the node leaves the list before the connection is touched again. */
    sio__list_foreach_safe(pos, tmp, &net->pending)
    {
        sio__conn *c = sio__container_of(pos, sio__conn, pending_node);
        sio__list_remove(&c->pending_node);
        net->npending--;
        sio__conn_flush(c);
    }
}

static void on_sweep(uv_timer_t *h)
{
    sio__net *net = h->data;
    uint64_t now = uv_now(net->loop);
    sio__list *pos, *tmp;
    sio__list_foreach_safe(pos, tmp, &net->conns)
    {
        sio__conn *c = sio__container_of(pos, sio__conn, all_node);
        if (c->tls && c->tls->hs_deadline && c->tls->hs_deadline <= now && !c->closing) {
            c->tls->hs_deadline = 0;
            sio__tls_timeout(c);
            continue;
        }
        if (c->deadline && c->deadline <= now && !c->closing) {
            c->deadline = 0;
            if (!c->ending && c->ev && c->ev->on_timeout) {
                c->ev->on_timeout(c, c->ud);
            } else {
                if (c->ending && !c->shut) {
                    char peer[64] = "?";
                    sio__conn_peer(c, peer, sizeof(peer));
                    sio__log_info(net->log,
                                  "%s: output stalled while ending: closing with %zu bytes unsent",
                                  peer, c->queued);
                }
                sio__conn_close(c);
            }
        }
    }
}

sio__net *sio__net_new(uv_loop_t *loop, const sio__logger *log)
{
    sio__net *net = sio__calloc(1, sizeof(*net));
    if (!net) return NULL;
    net->end_timeout_ms = DEFAULT_END_TIMEOUT_MS;
    net->slab = sio__malloc(SLAB_SIZE);
    if (!net->slab) {
        sio__free(net);
        return NULL;
    }
    net->slab_size = SLAB_SIZE;
    net->loop = loop;
    net->log = log;
    sio__list_init(&net->conns);
    sio__list_init(&net->pending);
    uv_prepare_init(loop, &net->prepare);
    net->prepare.data = net;
    uv_prepare_start(&net->prepare, on_prepare);
    uv_unref((uv_handle_t *)&net->prepare);
    uv_idle_init(loop, &net->idle);
    net->idle.data = net;
    uv_timer_init(loop, &net->sweep);
    net->sweep.data = net;
    uv_timer_start(&net->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    uv_unref((uv_handle_t *)&net->sweep);
    net->handles = 3;
    return net;
}

static void on_net_handle_closed(uv_handle_t *h)
{
    sio__net *net = h->data;
    if (--net->handles == 0) {
        sio__free(net->slab);
        sio__free(net);
    }
}

void sio__net_free(sio__net *net)
{
    if (!net) return;
    uv_close((uv_handle_t *)&net->prepare, on_net_handle_closed);
    uv_close((uv_handle_t *)&net->sweep, on_net_handle_closed);
    uv_close((uv_handle_t *)&net->idle, on_net_handle_closed);
}

uv_loop_t *sio__net_loop(sio__net *net)
{
    return net->loop;
}

const sio__logger *sio__net_log(sio__net *net)
{
    return net->log;
}

size_t sio__net_conn_count(sio__net *net)
{
    return net->nconns;
}

void sio__net_close_all(sio__net *net)
{
    sio__list *pos, *tmp;
    sio__list_foreach_safe(pos, tmp, &net->conns)
    {
        sio__conn_close(sio__container_of(pos, sio__conn, all_node));
    }
}

void sio__net_each_conn(sio__net *net, void (*fn)(sio__conn *c, void *ud), void *ud)
{
    sio__list *pos, *tmp;
    sio__list_foreach_safe(pos, tmp, &net->conns)
    {
        fn(sio__container_of(pos, sio__conn, all_node), ud);
    }
}

void sio__net_set_conn_ext(sio__net *net, size_t ext_size)
{
    /* A connection records the size in 16 bits; past that, protocols allocate their own. */
    net->conn_ext = ext_size > UINT16_MAX - 7 ? 0 : (ext_size + 7) & ~(size_t)7;
}

void sio__net_set_end_timeout(sio__net *net, uint32_t ms)
{
    net->end_timeout_ms = ms ? ms : DEFAULT_END_TIMEOUT_MS;
}

void sio__net_on_empty(sio__net *net, void (*cb)(void *ud), void *ud)
{
    net->empty_cb = cb;
    net->empty_ud = ud;
    sio__net_check_empty(net);
}

void sio__net_check_empty(sio__net *net)
{
    if (net->nconns || !net->empty_cb) return;
    void (*cb)(void *) = net->empty_cb;
    net->empty_cb = NULL;
    cb(net->empty_ud);
}

/* ---- listeners ---- */

static void free_handle(uv_handle_t *h)
{
    sio__free(h);
}

struct sio__listener {
    uv_tcp_t tcp;
    sio__net *net;
    sio__accept_cb cb;
    void *ud;
    sio__tls_ctx *tls;
    int port;
};

static void free_listener(uv_handle_t *h)
{
    sio__listener *l = h->data;
    sio__tls_ctx_unref(l->tls);
    sio__free(l);
}

void sio__net_set_busy_poll(sio__net *net, uint32_t us)
{
    net->busy_poll_ns = (uint64_t)us * 1000;
    net->busy_until = 0; /* a window still open ends now */
}

void sio__net_set_max_conns(sio__net *net, size_t n)
{
    net->max_conns = n;
}

/* A refused connection is logged at most once a second, with the count since the last
 * line, so a flood cannot turn into a flood of log lines. */
static void log_refused(sio__net *net, const char *why)
{
    uint64_t now = uv_now(net->loop);
    net->refused++;
    if (net->refused_log && now < net->refused_log + 1000) return;
    sio__log_warn(net->log, "connection refused: %s (%zu since the last such line)", why,
                  net->refused);
    net->refused = 0;
    net->refused_log = now;
}

static void close_accepted(sio__net *net, uv_stream_t *server)
{
    uv_tcp_t *t = sio__malloc(sizeof(*t));
    if (!t) return; /* libuv keeps the connection pending until the next accept */
    uv_tcp_init(net->loop, t);
    uv_accept(server, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, free_handle);
}

static void on_connection(uv_stream_t *server, int status)
{
    sio__listener *l = server->data;
    if (status < 0) {
        /* EMFILE/ENFILE: libuv has already accepted and closed the pending connections with
         * its reserve descriptor, so the listener does not spin on them. */
        log_refused(l->net, uv_strerror(status));
        return;
    }
    if (l->net->max_conns && l->net->nconns >= l->net->max_conns) {
        char why[64];
        snprintf(why, sizeof(why), "max_connections (%zu) reached", l->net->max_conns);
        log_refused(l->net, why);
        close_accepted(l->net, server);
        return;
    }
    sio__conn *c = sio__conn_accept(l->net, server);
    if (!c) return;
    if (l->tls && sio__tls_new(c, l->tls)) {
        sio__log_warn(l->net->log, "accept: no memory for TLS");
        sio__conn_close(c);
        return;
    }
    l->cb(l, c, l->ud);
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss)
{
    if (!host || !*host || !strcmp(host, "localhost")) host = "127.0.0.1";
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return 0;
    return SIO_EINVAL;
}

int sio__listener_start(sio__net *net, const char *host, int port, sio__accept_cb cb, void *ud,
                        sio__listener **out)
{
    if (port < 0 || port > 65535 || !cb) return SIO_EINVAL;
    struct sockaddr_storage ss;
    int r = resolve(host, port, &ss);
    if (r) return r;
    sio__listener *l = sio__calloc(1, sizeof(*l));
    if (!l) return SIO_ENOMEM;
    l->net = net;
    l->cb = cb;
    l->ud = ud;
    uv_tcp_init(net->loop, &l->tcp);
    l->tcp.data = l;
    /* libuv sets SO_REUSEADDR on bind; IPv6 listeners stay dual-stack where allowed. */
    r = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&ss, 0);
    if (!r) r = uv_listen((uv_stream_t *)&l->tcp, BACKLOG, on_connection);
    if (r) {
        uv_close((uv_handle_t *)&l->tcp, free_handle);
        return r;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &len);
    l->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *out = l;
    return 0;
}

int sio__listener_port(const sio__listener *l)
{
    return l->port;
}

void sio__listener_set_tls(sio__listener *l, sio__tls_ctx *ctx)
{
    sio__tls_ctx_unref(l->tls);
    l->tls = ctx ? sio__tls_ctx_ref(ctx) : NULL;
}

void sio__listener_close(sio__listener *l)
{
    uv_close((uv_handle_t *)&l->tcp, free_listener);
}
