/*
 * Namespaces: static ones made by sio_of(), dynamic children made on demand for a parent
 * made by sio_of_match()/sio_of_pattern(), the middleware chain a connecting socket runs
 * through (each step may answer later), and the connection handlers.
 */
#include <regex.h>
#include <string.h>

#include "base/alloc.h"
#include "base/id.h"
#include "sio/io.h"

struct sio_next {
    sio_socket *s; /* NULL once the socket is gone */
    size_t step;
};

static void sio__nsp_free_parts(sio_namespace *nsp);

static sio_namespace *nsp_new(sio__io *io, const char *name, size_t len)
{
    sio_namespace *nsp = sio__calloc(1, sizeof(*nsp));
    if (!nsp) return NULL;
    nsp->io = io;
    nsp->name = sio__strndup(name, len);
    nsp->adapter = sio__memory_adapter_new();
    if (!nsp->name || !nsp->adapter) {
        if (nsp->adapter) nsp->adapter->ops->free(nsp->adapter);
        sio__free(nsp->name);
        sio__free(nsp);
        return NULL;
    }
    sio__list_init(&nsp->sockets);
    uint32_t keep = io->opt.recovery_max_disconnection_ms;
    if (keep && !(nsp->recovery = sio__recovery_new(keep))) {
        sio__nsp_free_parts(nsp);
        return NULL;
    }
    return nsp;
}

static void sio__nsp_free_parts(sio_namespace *nsp)
{
    if (nsp->adapter) nsp->adapter->ops->free(nsp->adapter);
    sio__recovery_free(nsp->recovery);
    if (nsp->regex) {
        regfree(nsp->regex);
        sio__free(nsp->regex);
    }
    sio__free(nsp->mws);
    sio__free(nsp->conns);
    sio__free(nsp->name);
    sio__free(nsp);
}

void sio__nsp_free(sio_namespace *nsp)
{
    sio__list_remove(&nsp->node);
    sio__nsp_free_parts(nsp);
}

static sio_namespace *find_static(sio__io *io, const char *name, size_t len)
{
    for (sio__list *pos = io->namespaces.next; pos != &io->namespaces; pos = pos->next) {
        sio_namespace *nsp = sio__container_of(pos, sio_namespace, node);
        if (strlen(nsp->name) == len && !memcmp(nsp->name, name, len)) return nsp;
    }
    return NULL;
}

sio_namespace *sio_of(sio_server *server, const char *name)
{
    if (!server || !name) return NULL;
    sio__io *io = sio__io_get(server);
    if (!io) return NULL;
    /* Node prepends the slash a name lacks. */
    char buf[256];
    size_t len = strlen(name);
    if (len + 2 > sizeof(buf)) return NULL;
    size_t off = name[0] == '/' ? 0 : 1;
    buf[0] = '/';
    memcpy(buf + off, name, len + 1);
    len += off;
    sio_namespace *nsp = find_static(io, buf, len);
    if (nsp) return nsp;
    if (!(nsp = nsp_new(io, buf, len))) return NULL;
    sio__list_push_back(&io->namespaces, &nsp->node);
    return nsp;
}

sio_namespace *sio_of_match(sio_server *server, sio_namespace_match_cb match, void *ud)
{
    if (!server || !match) return NULL;
    sio__io *io = sio__io_get(server);
    if (!io) return NULL;
    sio_namespace *nsp = nsp_new(io, "/_dynamic", 9);
    if (!nsp) return NULL;
    nsp->match = match;
    nsp->match_ud = ud;
    sio__list_push_back(&io->matchers, &nsp->node);
    return nsp;
}

static int regex_match(const char *name, const json_t *auth, void *ud)
{
    (void)auth;
    return regexec(ud, name, 0, NULL, 0) == 0;
}

sio_namespace *sio_of_pattern(sio_server *server, const char *pattern)
{
    if (!server || !pattern) return NULL;
    regex_t *re = sio__malloc(sizeof(*re));
    if (!re) return NULL;
    if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB)) {
        sio__free(re);
        return NULL;
    }
    sio_namespace *nsp = sio_of_match(server, regex_match, re);
    if (!nsp) {
        regfree(re);
        sio__free(re);
        return NULL;
    }
    nsp->regex = re;
    return nsp;
}

sio_namespace *sio__nsp_find(sio__io *io, const char *name, size_t len, const json_t *auth)
{
    sio_namespace *nsp = find_static(io, name, len);
    if (nsp) return nsp;
    for (sio__list *pos = io->matchers.next; pos != &io->matchers; pos = pos->next) {
        sio_namespace *parent = sio__container_of(pos, sio_namespace, node);
        if (!parent->match(name, auth, parent->match_ud)) continue;
        /* A child: it shares the parent's middlewares and connection handlers. */
        if (!(nsp = nsp_new(io, name, len))) return NULL;
        nsp->parent = parent;
        sio__list_push_back(&io->namespaces, &nsp->node);
        return nsp;
    }
    return NULL;
}

const char *sio_namespace_name(const sio_namespace *nsp)
{
    return nsp->name;
}

size_t sio_namespace_count(const sio_namespace *nsp)
{
    return nsp->count;
}

int sio_use(sio_namespace *nsp, sio_middleware_cb fn, void *ud)
{
    if (!nsp || !fn) return SIO_EINVAL;
    struct sio__mw *m = sio__reallocarray(nsp->mws, nsp->nmws + 1, sizeof(*m));
    if (!m) return SIO_ENOMEM;
    nsp->mws = m;
    m[nsp->nmws++] = (struct sio__mw){fn, ud};
    return 0;
}

int sio_on_connection(sio_namespace *nsp, sio_connection_cb fn, void *ud)
{
    if (!nsp || !fn) return SIO_EINVAL;
    struct sio__conn_cb *c = sio__reallocarray(nsp->conns, nsp->nconns + 1, sizeof(*c));
    if (!c) return SIO_ENOMEM;
    nsp->conns = c;
    c[nsp->nconns++] = (struct sio__conn_cb){fn, ud};
    return 0;
}

/* The namespace whose handlers apply (a dynamic child uses its parent's). */
static const sio_namespace *handlers_of(const sio_namespace *nsp)
{
    return nsp->parent ? nsp->parent : nsp;
}

static void run_step(struct sio_next *next)
{
    sio_socket *s = next->s;
    const sio_namespace *h = handlers_of(s->nsp);
    if (next->step < h->nmws) {
        const struct sio__mw *m = &h->mws[next->step];
        /* s stays valid until the middleware returns, even when it let s through and a
         * connection handler disconnected it. */
        s->busy++;
        m->fn(s, next, m->ud);
        sio__socket_release(s);
        return;
    }
    s->next = NULL;
    sio__free(next);
    sio__socket_connected(s);
}

void sio__nsp_connect(sio_namespace *nsp, sio__client *c, json_t *auth)
{
    /* Out of memory, the client is closed: it would wait for an answer forever. */
    sio_socket *s = sio__socket_new(nsp, c, auth);
    if (!s) {
        sio__client_close(c, "forced server close");
        return;
    }
    if (nsp->recovery && c->version == 5) {
        uint64_t now = uv_now(nsp->io->loop);
        if (!sio__recovery_restore(nsp->recovery, now, s, s->auth) &&
            sio__base64id(sio__socket_pid(s))) {
            sio__client_close(c, "forced server close");
            return;
        }
        if (s->recovered && !nsp->io->opt.recovery_run_middlewares) {
            sio__socket_connected(s);
            return;
        }
    }
    struct sio_next *next = sio__calloc(1, sizeof(*next));
    if (!next) {
        sio__client_close(c, "forced server close");
        return;
    }
    next->s = s;
    s->next = next;
    run_step(next);
}

void sio_next_ok(sio_next *next)
{
    if (!next) return;
    if (!next->s) { /* the client left meanwhile */
        sio__free(next);
        return;
    }
    next->step++;
    run_step(next);
}

void sio_next_error(sio_next *next, const char *message, json_t *data)
{
    if (!next) {
        json_decref(data);
        return;
    }
    sio_socket *s = next->s;
    sio__free(next);
    if (!s) {
        json_decref(data);
        return;
    }
    s->next = NULL;
    json_t *err;
    if (s->client->version == 4) /* socket.io 2 clients get err.data || err.message */
        err = data ? json_incref(data) : json_string(message ? message : "");
    else if (data)
        err = json_pack("{s:s, s:O}", "message", message ? message : "", "data", data);
    else
        err = json_pack("{s:s}", "message", message ? message : "");
    json_decref(data);
    sio__sp_packet p = {.type = SIO__SP_CONNECT_ERROR,
                        .nsp = s->nsp->name,
                        .nsp_len = strlen(s->nsp->name),
                        .data = err};
    int r = sio__client_send(s->client, &p);
    json_decref(err);
    if (r) /* the refusal cannot be sent: end the connection instead */
        sio__client_close(s->client, "forced server close");
    else
        sio__socket_close(s, "server namespace disconnect", 0);
}

/* Called by socket.c when a connecting socket goes away during its middlewares. */
void sio__nsp_abandon(sio_socket *s)
{
    if (s->next) {
        s->next->s = NULL;
        s->next = NULL;
    }
}

void sio__nsp_connected(sio_socket *s)
{
    const sio_namespace *h = handlers_of(s->nsp);
    for (size_t i = 0; i < h->nconns && s->state == SOCK_CONNECTED; i++)
        h->conns[i].fn(s, h->conns[i].ud);
}
