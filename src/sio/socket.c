/*
 * Sockets: one client in one namespace. Event handlers (on, once, any), emits with and
 * without acks, acks to the client's events, rooms through the namespace's adapter, the
 * handshake data, and the disconnect sequence Node has: "disconnecting" while the rooms
 * are still visible, then leave them all, then "disconnect".
 *
 * Handlers may disconnect the socket; it is freed when no call of ours is on the stack for
 * it (busy), as the Engine.IO sessions are.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/id.h"
#include "base/intern.h"
#include "base/url.h"
#include "sio/io.h"

static const char *const reserved[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

int sio__reserved_event(const char *name)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (!strcmp(name, reserved[i])) return 1;
    return 0;
}

/* ---- binary values ---- */

json_t *sio_binary(const void *data, size_t len)
{
    return sio__sp_binary_new(data, len);
}

int sio_is_binary(const json_t *v)
{
    return sio__sp_is_binary(v);
}

int sio_binary_data(const json_t *v, const void **data, size_t *len)
{
    return sio__sp_binary_get(v, data, len);
}

/* fmt as an array format: "so" becomes "[so]" in buf; NULL when it does not fit. */
static const char *bracketed(const char *fmt, char buf[256])
{
    if (fmt[0] == '[') return fmt;
    size_t n = strlen(fmt);
    if (n + 3 > 256) return NULL;
    buf[0] = '[';
    memcpy(buf + 1, fmt, n);
    buf[n + 1] = ']';
    buf[n + 2] = 0;
    return buf;
}

/* A pack format without its outer brackets gets them; NULL or "" packs no arguments. */
json_t *sio__vpack_args(const char *fmt, va_list ap)
{
    if (!fmt || !*fmt) return json_array();
    char buf[256];
    const char *f = bracketed(fmt, buf);
    if (!f) return NULL;
    json_error_t err;
    json_t *v = json_vpack_ex(&err, 0, f, ap);
    if (v && !json_is_array(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---- life cycle ---- */

sio_socket *sio__socket_new(sio_namespace *nsp, sio__client *c, json_t *auth)
{
    size_t ud = nsp->io->opt.socket_ud_size;
    /* socket.io 2 derives the id from the Engine.IO id: "<nsp>#<sid>" outside "/". */
    const char *sid = c->version == 4 ? sio__eio_sid(c->conn) : NULL;
    int root = !strcmp(nsp->name, "/");
    size_t nl = strlen(nsp->name), id_size = SIO__ID_SIZE;
    if (sid && !root) id_size = nl + 1 + strlen(sid) + 1;
    if (id_size < SIO__ID_SIZE) id_size = SIO__ID_SIZE; /* recovery writes a v5 id in place */
    size_t pid_size = nsp->recovery && c->version == 5 ? SIO__ID_SIZE : 0;
    sio_socket *s = sio__calloc(1, sizeof(*s) + ud + id_size + pid_size);
    if (!s) {
        json_decref(auth);
        return NULL;
    }
    s->nsp = nsp;
    s->client = c;
    s->auth = auth;
    s->has_ud = ud != 0;
    s->has_pid = pid_size != 0;
    s->state = SOCK_CONNECTING;
    s->next_ack = 1;
    char *id = (char *)s->ud + ud + pid_size;
    s->member.id = id;
    if (sid) {
        size_t off = 0;
        if (!root) {
            memcpy(id, nsp->name, nl);
            id[nl] = '#';
            off = nl + 1;
        }
        memcpy(id + off, sid, strlen(sid) + 1);
    } else if (sio__base64id(id)) {
        json_decref(auth);
        sio__free(s);
        return NULL;
    }
    sio__list_init(&s->nsp_node);
    sio__list_init(&s->ack_node);
    sio__list_init(&s->acks);
    sio__list_push_back(&c->sockets, &s->client_node);
    return s;
}

/* The handler list lives in the server's table. A socket gives it back when it leaves: no
 * event is dispatched to it afterwards, and a kept event may keep it past the server. */
static void drop_handlers(sio_socket *s)
{
    sio__handlers_unref(s->nsp->io, s->handlers);
    s->handlers = NULL;
}

static void free_socket(sio_socket *s)
{
    if (s->handlers) drop_handlers(s); /* not reached: a socket is freed once it left */
    sio__free(s->discs);
    json_decref(s->auth);
    json_decref(s->data);
    if (s->rare) {
        json_decref(s->rare->restore_rooms);
        json_decref(s->rare->missed);
        sio__free(s->rare->outs);
        sio__free(s->rare);
    }
    sio__free(s);
}

sio__socket_rare *sio__socket_rare_get(sio_socket *s)
{
    if (!s->rare) s->rare = sio__calloc(1, sizeof(*s->rare));
    return s->rare;
}

void sio__socket_release(sio_socket *s)
{
    if (--s->busy == 0 && s->state == SOCK_DISCONNECTED) free_socket(s);
}

void sio__socket_connected(sio_socket *s)
{
    sio__client *c = s->client;
    sio_namespace *nsp = s->nsp;
    if (nsp->adapter->ops->add(nsp->adapter, &s->member)) {
        sio__client_close(c, "forced server close"); /* rather than leave it waiting */
        return;
    }
    s->state = SOCK_CONNECTED;
    sio__list_push_back(&nsp->sockets, &s->nsp_node);
    nsp->count++;
    if (sio__list_linked(&c->wait_node)) {
        sio__list_remove(&c->wait_node);
        sio__list_init(&c->wait_node);
    }
    sio__socket_rare *rare = s->rare;
    if (rare && rare->restore_rooms) {
        size_t i;
        json_t *room;
        json_array_foreach (rare->restore_rooms, i, room)
            sio__socket_join(s, json_string_value(room));
    }
    if (rare && rare->missed) {
        /* What the client missed goes before the CONNECT reply, as in Node. */
        size_t i;
        json_t *ev;
        json_array_foreach (rare->missed, i, ev) {
            sio__sp_packet m = {
                .type = SIO__SP_EVENT, .nsp = nsp->name, .nsp_len = strlen(nsp->name), .data = ev};
            sio__client_send_missed(c, &m);
        }
        json_decref(rare->missed);
        rare->missed = NULL;
    }
    const char *pid = sio__socket_pid(s);
    json_t *data = c->version == 4 ? NULL
                   : pid && pid[0] ? json_pack("{ssss}", "sid", s->member.id, "pid", pid)
                                   : json_pack("{ss}", "sid", s->member.id);
    sio__sp_packet p = {
        .type = SIO__SP_CONNECT, .nsp = nsp->name, .nsp_len = strlen(nsp->name), .data = data};
    int r = sio__client_send(c, &p);
    json_decref(data);
    if (r) {
        /* The client cannot learn it is connected: end the connection rather than keep a
         * socket it does not know about. */
        sio__client_close(c, "forced server close");
        return;
    }
    s->busy++;
    sio__nsp_connected(s);
    sio__socket_release(s);
}

static void fail_acks(sio_socket *s, int err)
{
    while (!sio__list_empty(&s->acks)) {
        sio__pending_ack *a = sio__container_of(s->acks.next, sio__pending_ack, node);
        sio__list_remove(&a->node);
        s->nacks--;
        if (a->fn) a->fn(s, err, NULL, a->ud);
        sio__free(a);
    }
    if (sio__list_linked(&s->ack_node)) {
        sio__list_remove(&s->ack_node);
        sio__list_init(&s->ack_node);
    }
}

static void run_disconnect(sio_socket *s, const char *reason, int before)
{
    for (size_t i = 0; i < s->ndiscs; i++)
        if (s->discs[i].before == before) s->discs[i].fn(s, reason, s->discs[i].ud);
}

void sio__socket_close(sio_socket *s, const char *reason, int notify)
{
    if (s->state == SOCK_DISCONNECTED || s->closing) return;
    sio__client *c = s->client;
    s->busy++;
    if (s->state == SOCK_CONNECTING) {
        sio__nsp_abandon(s);
        s->state = SOCK_DISCONNECTED;
        sio__client_socket_gone(c, s);
        drop_handlers(s);
        sio__socket_release(s);
        return;
    }
    /* "disconnecting": still in its rooms. Its handlers may disconnect the socket again (a
     * no-op) or end the whole client, which stays allocated until the socket has left it. */
    s->closing = 1;
    c->busy++;
    run_disconnect(s, reason, 1);
    sio_namespace *nsp = s->nsp;
    if (nsp->recovery) sio__recovery_persist(nsp->recovery, uv_now(nsp->io->loop), s, reason);
    s->state = SOCK_DISCONNECTED;
    nsp->adapter->ops->remove(nsp->adapter, &s->member);
    sio__list_remove(&s->nsp_node);
    nsp->count--;
    if (notify) {
        sio__sp_packet p = {
            .type = SIO__SP_DISCONNECT, .nsp = nsp->name, .nsp_len = strlen(nsp->name)};
        /* A client that cannot be told would go on using the namespace: end it. */
        if (sio__client_send(c, &p)) sio__client_close(c, "forced server close");
    }
    sio__client_socket_gone(c, s);
    sio__client_release(c);
    fail_acks(s, SIO_ECLOSED);
    run_disconnect(s, reason, 0);
    drop_handlers(s);
    sio__socket_release(s);
}

void sio_disconnect(sio_socket *s, int close)
{
    if (!s || s->state != SOCK_CONNECTED) return;
    if (!close) {
        sio__socket_close(s, "server namespace disconnect", 1);
        return;
    }
    /* Every socket of the client leaves its namespace (one already leaving, whose handler
     * may be the caller, finishes on its own), then the connection ends. */
    sio__client *c = s->client;
    c->busy++;
    sio_socket *o;
    while ((o = sio__client_open_socket(c))) sio__socket_close(o, "server namespace disconnect", 1);
    sio__client_close(c, "forced server close");
    sio__client_release(c);
}

/* ---- handlers ---- */

static int add_handler(sio_socket *s, const char *event, sio_event_cb fn, void *ud, int once,
                       int prepend)
{
    if (!s || !fn) return SIO_EINVAL;
    if (s->state == SOCK_DISCONNECTED) return SIO_ECLOSED;
    return sio__handlers_add(s->nsp->io, &s->handlers, event, fn, ud, once, prepend);
}

int sio_on(sio_socket *s, const char *event, sio_event_cb fn, void *ud)
{
    return event ? add_handler(s, event, fn, ud, 0, 0) : SIO_EINVAL;
}

int sio_once(sio_socket *s, const char *event, sio_event_cb fn, void *ud)
{
    return event ? add_handler(s, event, fn, ud, 1, 0) : SIO_EINVAL;
}

int sio_on_any(sio_socket *s, sio_event_cb fn, void *ud)
{
    return add_handler(s, NULL, fn, ud, 0, 0);
}

int sio_prepend_any(sio_socket *s, sio_event_cb fn, void *ud)
{
    return add_handler(s, NULL, fn, ud, 0, 1);
}

/* A removal that cannot allocate its new list (the old one is shared) would leave a
 * handler the application removed: the socket is closed instead. */
static void remove_handlers(sio_socket *s, const char *event, sio_event_cb fn, void *ud, int flags)
{
    if (s->state == SOCK_DISCONNECTED) return;
    if (sio__handlers_remove(s->nsp->io, &s->handlers, event, fn, ud, flags)) {
        sio__log_error(s->nsp->io->log, "out of memory removing a handler: closing %s",
                       s->member.id);
        sio__socket_close(s, "forced server close", 1);
    }
}

void sio_off(sio_socket *s, const char *event, sio_event_cb fn)
{
    if (!s || !event) return;
    remove_handlers(s, event, fn, NULL, 0);
}

void sio_off_any(sio_socket *s, sio_event_cb fn)
{
    if (!s) return;
    remove_handlers(s, NULL, fn, NULL, SIO__H_ANY);
}

int sio_on_any_outgoing(sio_socket *s, sio_outgoing_cb fn, void *ud)
{
    if (!s || !fn) return SIO_EINVAL;
    sio__socket_rare *rare = sio__socket_rare_get(s);
    if (!rare) return SIO_ENOMEM;
    struct sio__out_cb *o = sio__reallocarray(rare->outs, rare->nouts + 1, sizeof(*o));
    if (!o) return SIO_ENOMEM;
    rare->outs = o;
    o[rare->nouts++] = (struct sio__out_cb){fn, ud};
    return 0;
}

int sio__socket_outgoing(sio_socket *s, const char *event, json_t *args)
{
    if (!s->rare || !s->rare->nouts) return 0;
    /* The listeners registered now, as Node calls a copy of its list: one may add or
     * remove listeners, or disconnect the socket (held busy meanwhile). */
    struct sio__out_cb small[16], *copy = small;
    size_t n = s->rare->nouts;
    if (n > 16 && !(copy = sio__reallocarray(NULL, n, sizeof(*copy)))) return 0;
    memcpy(copy, s->rare->outs, n * sizeof(*copy));
    s->busy++;
    for (size_t i = 0; i < n; i++) copy[i].fn(s, event, args, copy[i].ud);
    if (copy != small) sio__free(copy);
    int gone = s->state != SOCK_CONNECTED;
    sio__socket_release(s);
    return gone ? SIO_ECLOSED : 0;
}

void sio_off_any_outgoing(sio_socket *s, sio_outgoing_cb fn)
{
    if (!s || !s->rare) return;
    sio__socket_rare *rare = s->rare;
    size_t j = 0;
    for (size_t i = 0; i < rare->nouts; i++)
        if (fn && rare->outs[i].fn != fn) rare->outs[j++] = rare->outs[i];
    rare->nouts = j;
}

static int add_disc(sio_socket *s, sio_disconnect_cb fn, void *ud, int before)
{
    if (!s || !fn) return SIO_EINVAL;
    struct sio__disc_cb *d = sio__reallocarray(s->discs, s->ndiscs + 1, sizeof(*d));
    if (!d) return SIO_ENOMEM;
    s->discs = d;
    d[s->ndiscs++] = (struct sio__disc_cb){fn, ud, before};
    return 0;
}

int sio_on_disconnecting(sio_socket *s, sio_disconnect_cb fn, void *ud)
{
    return add_disc(s, fn, ud, 1);
}

int sio_on_disconnect(sio_socket *s, sio_disconnect_cb fn, void *ud)
{
    return add_disc(s, fn, ud, 0);
}

/* ---- events from the client ---- */

const char *sio_event_name(const sio_event *ev)
{
    return ev->name;
}

json_t *sio_event_args(const sio_event *ev)
{
    return ev->args;
}

int sio_event_unpack(const sio_event *ev, const char *fmt, ...)
{
    if (!ev || !fmt) return SIO_EINVAL;
    char buf[256];
    const char *f = bracketed(fmt, buf);
    if (!f) return SIO_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    json_error_t err;
    int r = json_vunpack_ex(ev->args, &err, 0, f, ap);
    va_end(ap);
    return r ? SIO_EINVAL : 0;
}

int sio_event_wants_ack(const sio_event *ev)
{
    return ev->has_id && !ev->acked;
}

/* The variadic calls pack their arguments before any check, so that references stolen
 * with "o" are released on every path. */

int sio_ack(sio_event *ev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *args = sio__vpack_args(fmt, ap);
    va_end(ap);
    if (!ev || !ev->has_id || ev->acked) {
        json_decref(args);
        return SIO_ESTATE;
    }
    if (!args) return SIO_EINVAL;
    int r = sio_ack_array(ev, args);
    json_decref(args);
    return r;
}

int sio_ack_array(sio_event *ev, json_t *args)
{
    if (!ev || !ev->has_id || ev->acked) return SIO_ESTATE;
    if (!json_is_array(args)) return SIO_EINVAL;
    sio_socket *s = ev->s;
    if (!s || s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    ev->acked = 1;
    sio__sp_packet p = {.type = SIO__SP_ACK,
                        .has_id = 1,
                        .id = ev->id,
                        .nsp = s->nsp->name,
                        .nsp_len = strlen(s->nsp->name),
                        .data = args};
    return sio__client_send(s->client, &p);
}

sio_event *sio_event_keep(sio_event *ev)
{
    sio_socket *s = ev->s;
    if (s) {
        const sio__io *io = s->nsp->io;
        if (s->nkept >= io->opt.max_kept_events) {
            sio__log_warn(io->log,
                          "socket.io: %s: max_kept_events (%u) reached: event \"%.64s\" "
                          "not kept",
                          s->member.id, io->opt.max_kept_events, ev->name);
            return NULL;
        }
        s->nkept++;
        s->busy++;
    }
    ev->refs++;
    return ev;
}

static void event_free(sio_event *ev)
{
    json_decref(ev->name_json);
    json_decref(ev->args);
    sio__free(ev);
}

void sio_event_release(sio_event *ev)
{
    if (!ev) return;
    sio_socket *s = ev->s;
    if (--ev->refs == 0) event_free(ev);
    if (s) {
        s->nkept--;
        sio__socket_release(s);
    }
}

static void dispatch_event(sio_socket *s, sio__sp_packet *p)
{
    sio_event *ev = sio__calloc(1, sizeof(*ev));
    if (!ev) {
        /* Dropped, the event's ack would never come: end the connection instead. */
        sio__client_close(s->client, "forced server close");
        return;
    }
    /* No payload: Node emits the event undefined, which reaches the "undefined" listeners, or
     * with an ack id the ack function itself, which no named listener matches. */
    int unnamed = !p->data && p->has_id;
    /* The event takes the decoded array: its first element, the name, is kept aside. */
    json_t *first = json_array_get(p->data, 0);
    if (!p->data) {
        ev->name = "undefined";
    } else if (json_is_string(first)) {
        ev->name_json = json_incref(first);
        ev->name = json_string_value(first);
    } else {
        if (json_is_real(first))
            sio__sp_format_double(json_real_value(first), ev->num);
        else
            snprintf(ev->num, sizeof(ev->num), "%" JSON_INTEGER_FORMAT, json_integer_value(first));
        ev->name = ev->num;
    }
    if (p->data) {
        ev->args = json_incref(p->data);
        json_array_remove(ev->args, 0);
    } else if (!(ev->args = json_array())) {
        sio__free(ev);
        return;
    }
    ev->s = s;
    ev->id = p->id;
    ev->has_id = p->has_id;
    ev->refs = 1;
    s->busy++;
    /* The handlers registered now, as EventEmitter.emit() calls its listeners even when
     * one removes another; any-handlers first, as Node's onAny listeners run first. */
    sio__handlers *hs = sio__handlers_ref(s->handlers);
    size_t n = sio__handlers_count(hs);
    for (int pass = 0; pass < 2 - unnamed && s->state == SOCK_CONNECTED; pass++) {
        for (size_t i = 0; i < n && s->state == SOCK_CONNECTED; i++) {
            const sio__handler *h = sio__handlers_at(hs, i);
            if (pass == 0 ? h->event != NULL : !h->event || strcmp(h->event, ev->name)) continue;
            if (h->once)
                remove_handlers(s, h->event, h->fn, h->ud,
                                SIO__H_ONE | SIO__H_EXACT | SIO__H_ONCE |
                                    (h->event ? 0 : SIO__H_ANY));
            if (s->state != SOCK_CONNECTED) break;
            h->fn(s, ev, h->ud);
        }
    }
    sio__handlers_unref(s->nsp->io, hs);
    if (--ev->refs == 0)
        event_free(ev);
    else
        ev->s = s; /* kept: the socket stays busy through the kept event */
    sio__socket_release(s);
}

static void on_ack(sio_socket *s, sio__sp_packet *p)
{
    for (sio__list *pos = s->acks.next; pos != &s->acks; pos = pos->next) {
        sio__pending_ack *a = sio__container_of(pos, sio__pending_ack, node);
        if (a->id != p->id) continue;
        sio__list_remove(&a->node);
        s->nacks--;
        s->busy++;
        json_t *none = p->data ? NULL : json_array(); /* "3<id>": an answer without values */
        if (a->fn) a->fn(s, 0, p->data ? p->data : none, a->ud);
        json_decref(none);
        sio__free(a);
        sio__socket_release(s);
        return;
    }
}

void sio__socket_packet(sio_socket *s, sio__sp_packet *p)
{
    if (s->state != SOCK_CONNECTED) {
        sio__client_close(s->client, "forced close");
        return;
    }
    switch (p->type) {
    case SIO__SP_EVENT:
    case SIO__SP_BINARY_EVENT:
        dispatch_event(s, p);
        break;
    case SIO__SP_ACK:
    case SIO__SP_BINARY_ACK:
        if (p->has_id) on_ack(s, p);
        break;
    case SIO__SP_DISCONNECT:
        sio__socket_close(s, "client namespace disconnect", 0);
        break;
    default:
        break;
    }
}

/* ---- emitting ---- */

void sio__socket_expire_acks(sio_socket *s, uint64_t now)
{
    int left = 0;
    s->busy++;
    sio__list *pos, *tmp;
    sio__list_foreach_safe(pos, tmp, &s->acks)
    {
        sio__pending_ack *a = sio__container_of(pos, sio__pending_ack, node);
        if (!a->deadline) continue;
        if (a->deadline > now) {
            left = 1;
            continue;
        }
        sio__list_remove(&a->node);
        s->nacks--;
        if (a->fn) a->fn(s, SIO_ETIMEDOUT, NULL, a->ud);
        sio__free(a);
        /* The callback disconnected the socket: every other ack was failed and freed (tmp
         * too). Otherwise the list only grew at its end. */
        if (s->state != SOCK_CONNECTED) break;
    }
    if (!left && sio__list_linked(&s->ack_node)) {
        sio__list_remove(&s->ack_node);
        sio__list_init(&s->ack_node);
    }
    sio__socket_release(s);
}

int sio__socket_emit_json(sio_socket *s, const char *event, json_t *args, sio_ack_cb fn, void *ud,
                          uint32_t timeout_ms)
{
    if (s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    if (sio__reserved_event(event)) return SIO_EINVAL;
    if (fn && s->nacks >= s->nsp->io->opt.max_pending_acks) {
        sio__log_warn(s->nsp->io->log,
                      "socket.io: %s: max_pending_acks (%u) reached: emit \"%.64s\" refused",
                      s->member.id, s->nsp->io->opt.max_pending_acks, event);
        return SIO_ELIMIT;
    }
    json_t *data = json_array();
    if (!data || json_array_append_new(data, json_string(event)) || json_array_extend(data, args)) {
        json_decref(data);
        return SIO_ENOMEM;
    }
    if (sio__socket_outgoing(s, event, args)) {
        json_decref(data);
        return SIO_ECLOSED;
    }
    if (s->nsp->recovery && !fn) {
        /* Kept for recovery like a broadcast to the socket's own room. */
        const char *room = s->member.id;
        if (sio__recovery_keep(s->nsp->recovery, uv_now(s->nsp->io->loop), data, &room, 1, NULL,
                               0)) {
            json_decref(data);
            return SIO_ENOMEM;
        }
    }
    sio__sp_packet p = {
        .type = SIO__SP_EVENT, .nsp = s->nsp->name, .nsp_len = strlen(s->nsp->name), .data = data};
    sio__pending_ack *a = NULL;
    if (fn) {
        if (!(a = sio__calloc(1, sizeof(*a)))) {
            json_decref(data);
            return SIO_ENOMEM;
        }
        a->id = s->next_ack++;
        a->fn = fn;
        a->ud = ud;
        p.has_id = 1;
        p.id = a->id;
    }
    int r = sio__client_send(s->client, &p);
    json_decref(data);
    if (a) {
        if (r) {
            sio__free(a);
            return r;
        }
        sio__list_push_back(&s->acks, &a->node);
        s->nacks++;
        if (timeout_ms) {
            a->deadline = uv_now(s->nsp->io->loop) + timeout_ms;
            if (!sio__list_linked(&s->ack_node))
                sio__list_push_back(&s->nsp->io->acks, &s->ack_node);
        }
    }
    return r;
}

int sio_emit(sio_socket *s, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *args = sio__vpack_args(fmt, ap);
    va_end(ap);
    if (!s || !event || !args) {
        json_decref(args);
        return SIO_EINVAL;
    }
    int r = sio__socket_emit_json(s, event, args, NULL, NULL, 0);
    json_decref(args);
    return r;
}

int sio_emit_array(sio_socket *s, const char *event, json_t *args)
{
    if (!s || !event || !json_is_array(args)) return SIO_EINVAL;
    return sio__socket_emit_json(s, event, args, NULL, NULL, 0);
}

int sio_emit_ack_array(sio_socket *s, uint32_t timeout_ms, sio_ack_cb fn, void *ud,
                       const char *event, json_t *args)
{
    if (!s || !event || !fn || !json_is_array(args)) return SIO_EINVAL;
    return sio__socket_emit_json(s, event, args, fn, ud, timeout_ms);
}

int sio_emit_ack(sio_socket *s, uint32_t timeout_ms, sio_ack_cb fn, void *ud, const char *event,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *args = sio__vpack_args(fmt, ap);
    va_end(ap);
    if (!s || !event || !fn || !args) {
        json_decref(args);
        return SIO_EINVAL;
    }
    int r = sio__socket_emit_json(s, event, args, fn, ud, timeout_ms);
    json_decref(args);
    return r;
}

/* ---- rooms ---- */

int sio__socket_join(sio_socket *s, const char *room)
{
    sio__adapter *a = s->nsp->adapter;
    const sio__io *io = s->nsp->io;
    uint32_t max = io->opt.max_rooms_per_socket;
    /* The socket's own room does not count. */
    if (max && s->member.nrooms > max && !a->ops->in_room(a, &s->member, room)) {
        sio__log_warn(io->log,
                      "socket.io: %s: max_rooms_per_socket (%u) reached: room \"%.64s\" "
                      "not joined",
                      s->member.id, max, room);
        return SIO_ELIMIT;
    }
    return a->ops->join(a, &s->member, room);
}

int sio_join(sio_socket *s, const char *room)
{
    if (!s || !room) return SIO_EINVAL;
    if (s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    return sio__socket_join(s, room);
}

void sio_leave(sio_socket *s, const char *room)
{
    if (!s || !room || s->state != SOCK_CONNECTED) return;
    s->nsp->adapter->ops->leave(s->nsp->adapter, &s->member, room);
}

int sio_socket_in(const sio_socket *s, const char *room)
{
    return s && room && s->state == SOCK_CONNECTED &&
           s->nsp->adapter->ops->in_room(s->nsp->adapter, &s->member, room);
}

void sio_socket_rooms(const sio_socket *s, int (*fn)(const char *room, void *ud), void *ud)
{
    if (s && fn && s->state == SOCK_CONNECTED)
        s->nsp->adapter->ops->rooms_of(s->nsp->adapter, &s->member, fn, ud);
}

/* ---- accessors ---- */

const char *sio_socket_id(const sio_socket *s)
{
    return s->member.id;
}

sio_namespace *sio_socket_namespace(const sio_socket *s)
{
    return s->nsp;
}

sio_server *sio_socket_server(const sio_socket *s)
{
    return s->nsp->io->server;
}

int sio_socket_connected(const sio_socket *s)
{
    return s->state == SOCK_CONNECTED;
}

int sio_socket_recovered(const sio_socket *s)
{
    return s->recovered;
}

void *sio_socket_ud(sio_socket *s)
{
    return s->has_ud ? (void *)s->ud : NULL;
}

json_t *sio_socket_data(sio_socket *s)
{
    if (!s->data) s->data = json_object();
    return s->data;
}

const json_t *sio_socket_auth(const sio_socket *s)
{
    return s->auth;
}

const char *sio_socket_header(const sio_socket *s, const char *name)
{
    return sio__client_header(s->client, name);
}

int sio_socket_query(const sio_socket *s, const char *name, char *out, size_t outlen)
{
    const char *q = s->client->strings + s->client->query;
    return sio__query_get(q, strlen(q), name, out, outlen);
}

const char *sio_socket_url(const sio_socket *s)
{
    return s->client->strings;
}

const char *sio_socket_address(const sio_socket *s)
{
    return s->client->strings + s->client->address;
}

int64_t sio_socket_issued(const sio_socket *s)
{
    return s->client->issued;
}

int sio_socket_secure(const sio_socket *s)
{
    return s && s->client ? s->client->secure : 0;
}

int sio_socket_transport(const sio_socket *s)
{
    return s->client->conn ? sio__eio_transport(s->client->conn) : 0;
}

size_t sio_socket_buffered(const sio_socket *s)
{
    return s->client->conn ? sio__eio_buffered(s->client->conn) : 0;
}
