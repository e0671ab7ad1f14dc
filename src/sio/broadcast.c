/*
 * Broadcast operators (Node's BroadcastOperator): a selection of a namespace's sockets by
 * rooms and exceptions, and what to do with it. An emit is encoded once: one text packet
 * and its attachments as shared blocks that every recipient's queue references.
 */
#include <stdarg.h>
#include <string.h>

#include "base/alloc.h"
#include "sio/io.h"

struct sio_broadcast {
    sio_namespace *nsp;
    char **rooms;
    size_t nrooms;
    char **except;
    size_t nexcept;
    uint32_t timeout_ms;
    uint8_t local, is_volatile, no_compress, failed;
};

static sio_broadcast *bc_new(sio_namespace *nsp)
{
    if (!nsp) return NULL;
    sio_broadcast *b = sio__calloc(1, sizeof(*b));
    if (b) b->nsp = nsp;
    return b;
}

void sio_broadcast_free(sio_broadcast *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->nrooms; i++) sio__free(b->rooms[i]);
    for (size_t i = 0; i < b->nexcept; i++) sio__free(b->except[i]);
    sio__free(b->rooms);
    sio__free(b->except);
    sio__free(b);
}

static int add_name(char ***list, size_t *n, const char *name)
{
    char *copy = sio__strdup(name);
    char **l = copy ? sio__reallocarray(*list, *n + 1, sizeof(*l)) : NULL;
    if (!l) {
        sio__free(copy);
        return SIO_ENOMEM;
    }
    l[(*n)++] = copy;
    *list = l;
    return 0;
}

sio_broadcast *sio_broadcast_nsp(sio_namespace *nsp)
{
    return bc_new(nsp);
}

sio_broadcast *sio_broadcast_of(sio_socket *s)
{
    if (!s) return NULL;
    sio_broadcast *b = bc_new(s->nsp);
    if (b && add_name(&b->except, &b->nexcept, s->member.id)) b->failed = 1;
    return b;
}

sio_broadcast *sio_to(sio_broadcast *b, const char *room)
{
    if (b && room && add_name(&b->rooms, &b->nrooms, room)) b->failed = 1;
    return b;
}

sio_broadcast *sio_except(sio_broadcast *b, const char *room)
{
    if (b && room && add_name(&b->except, &b->nexcept, room)) b->failed = 1;
    return b;
}

sio_broadcast *sio_local(sio_broadcast *b)
{
    if (b) b->local = 1;
    return b;
}

sio_broadcast *sio_volatile(sio_broadcast *b)
{
    if (b) b->is_volatile = 1;
    return b;
}

sio_broadcast *sio_compress(sio_broadcast *b, int on)
{
    if (b) b->no_compress = !on;
    return b;
}

sio_broadcast *sio_timeout(sio_broadcast *b, uint32_t ms)
{
    if (b) b->timeout_ms = ms;
    return b;
}

static sio__adapter_sel selection(const sio_broadcast *b)
{
    return (sio__adapter_sel){(const char *const *)b->rooms, b->nrooms,
                              (const char *const *)b->except, b->nexcept, b->local};
}

static sio_socket *socket_of(sio__member *m)
{
    return sio__container_of(m, sio_socket, member);
}

/* Take the operator for a terminal call: NULL when it is unusable (and then freed). */
static sio_broadcast *take(sio_broadcast *b)
{
    if (b && b->failed) {
        sio_broadcast_free(b);
        return NULL;
    }
    return b;
}

/* ---- emit ---- */

typedef struct emit_ctx {
    int is_volatile, compress;
    const char *event;
    json_t *args;
    sio__bytes *text;
    sio__bytes *bins[16];
    size_t nbins;
    sio__bytes *frames[17][2]; /* WebSocket frames built once, for v4 and v3 sessions */
} emit_ctx;

static int deliver(sio__member *m, void *ud)
{
    emit_ctx *e = ud;
    sio_socket *s = socket_of(m);
    if (s->state != SOCK_CONNECTED) return 0;
    /* A volatile packet is dropped for a client that could not take it at once. */
    if (e->is_volatile && (!s->client->conn || !sio__eio_writable(s->client->conn))) return 0;
    if (sio__socket_outgoing(s, e->event, e->args)) return 0;
    /* A failure means the client is closing: one over its outbound bound is closed at the
     * end of the loop turn, so with recovery on it gets this packet again from the log
     * when it reconnects, rather than a silent gap in its offsets. */
    sio__client_send_encoded(s->client, e->text, e->bins, e->nbins, e->frames, e->compress);
    return 0;
}

static json_t *event_data(const char *event, json_t *args)
{
    json_t *data = json_array();
    if (!data || json_array_append_new(data, json_string(event)) || json_array_extend(data, args)) {
        json_decref(data);
        return NULL;
    }
    return data;
}

static int emit_json(sio_broadcast *b, const char *event, json_t *args)
{
    json_t *data = event_data(event, args);
    if (!data) return SIO_ENOMEM;
    if (b->nsp->recovery && !b->is_volatile &&
        sio__recovery_keep(b->nsp->recovery, uv_now(b->nsp->io->loop), data,
                           (const char *const *)b->rooms, b->nrooms, (const char *const *)b->except,
                           b->nexcept)) {
        json_decref(data);
        return SIO_ENOMEM;
    }
    sio__sp_packet p = {
        .type = SIO__SP_EVENT, .nsp = b->nsp->name, .nsp_len = strlen(b->nsp->name), .data = data};
    sio__buf buf = SIO__BUF_INIT;
    sio__sp_blob blobs[SIO__MAX_ATTACHMENTS];
    int n = sio__sp_encode(&b->nsp->io->sp5, &buf, &p, blobs, SIO__MAX_ATTACHMENTS);
    emit_ctx e = {
        .is_volatile = b->is_volatile, .compress = !b->no_compress, .event = event, .args = args};
    int r = n < 0 ? n : 0;
    if (!r && !(e.text = sio__bytes_copy(buf.data, buf.len))) r = SIO_ENOMEM;
    for (int i = 0; !r && i < n; i++, e.nbins++)
        if (!(e.bins[i] = sio__bytes_copy(blobs[i].data, blobs[i].len))) r = SIO_ENOMEM;
    if (!r) {
        sio__adapter_sel sel = selection(b);
        b->nsp->adapter->ops->each(b->nsp->adapter, &sel, deliver, &e);
    }
    sio__bytes_unref(e.text);
    for (size_t i = 0; i < e.nbins; i++) sio__bytes_unref(e.bins[i]);
    for (size_t i = 0; i < 17; i++) {
        sio__bytes_unref(e.frames[i][0]);
        sio__bytes_unref(e.frames[i][1]);
    }
    sio__buf_free(&buf);
    json_decref(data);
    return r;
}

int sio_broadcast_emit(sio_broadcast *b, const char *event, const char *fmt, ...)
{
    /* Packed first, so that references stolen with "o" are released on every path. */
    va_list ap;
    va_start(ap, fmt);
    json_t *args = sio__vpack_args(fmt, ap);
    va_end(ap);
    if (!(b = take(b))) {
        json_decref(args);
        return SIO_ENOMEM;
    }
    int r = SIO_EINVAL;
    if (args && event && !sio__reserved_event(event)) r = emit_json(b, event, args);
    json_decref(args);
    sio_broadcast_free(b);
    return r;
}

int sio_broadcast_emit_array(sio_broadcast *b, const char *event, json_t *args)
{
    if (!(b = take(b))) return SIO_ENOMEM;
    int r = event && !sio__reserved_event(event) && json_is_array(args) ? emit_json(b, event, args)
                                                                        : SIO_EINVAL;
    sio_broadcast_free(b);
    return r;
}

/* ---- emit with acks ---- */

typedef struct bc_ack {
    sio_broadcast_ack_cb fn;
    void *ud;
    json_t *answers;
    size_t expected;
    int refs; /* the emit, and each socket's pending ack */
    int done;
} bc_ack;

static void bc_ack_unref(bc_ack *g)
{
    if (--g->refs == 0) {
        json_decref(g->answers);
        sio__free(g);
    }
}

static void bc_check(bc_ack *g)
{
    if (!g->done && json_array_size(g->answers) >= g->expected) {
        g->done = 1;
        g->fn(0, g->answers, g->ud);
    }
}

static void on_socket_ack(sio_socket *s, int err, json_t *args, void *ud)
{
    (void)s;
    bc_ack *g = ud;
    if (!g->done) {
        if (!err) {
            /* Node keeps the first argument of each answer. */
            json_t *first = json_array_get(args, 0);
            json_array_append(g->answers, first ? first : json_null());
            bc_check(g);
        } else if (err == SIO_ETIMEDOUT) {
            g->done = 1;
            g->fn(SIO_ETIMEDOUT, g->answers, g->ud);
        } else {
            /* The socket left: it will not answer. */
            g->expected--;
            bc_check(g);
        }
    }
    bc_ack_unref(g);
}

typedef struct ack_ctx {
    const char *event;
    json_t *args;
    bc_ack *g;
    uint32_t timeout_ms;
} ack_ctx;

static int deliver_ack(sio__member *m, void *ud)
{
    ack_ctx *a = ud;
    sio_socket *s = socket_of(m);
    if (s->state != SOCK_CONNECTED) return 0;
    a->g->refs++;
    if (sio__socket_emit_json(s, a->event, a->args, on_socket_ack, a->g, a->timeout_ms)) {
        a->g->refs--;
        return 0;
    }
    a->g->expected++;
    return 0;
}

int sio_broadcast_emit_ack(sio_broadcast *b, sio_broadcast_ack_cb fn, void *ud, const char *event,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *args = sio__vpack_args(fmt, ap);
    va_end(ap);
    if (!(b = take(b))) {
        json_decref(args);
        return SIO_ENOMEM;
    }
    if (!fn || !event || sio__reserved_event(event)) {
        json_decref(args);
        sio_broadcast_free(b);
        return SIO_EINVAL;
    }
    bc_ack *g = args ? sio__calloc(1, sizeof(*g)) : NULL;
    if (!g || !(g->answers = json_array())) {
        sio__free(g);
        json_decref(args);
        sio_broadcast_free(b);
        return args ? SIO_ENOMEM : SIO_EINVAL;
    }
    g->fn = fn;
    g->ud = ud;
    g->refs = 1;
    ack_ctx a = {event, args, g, b->timeout_ms};
    sio__adapter_sel sel = selection(b);
    b->nsp->adapter->ops->each(b->nsp->adapter, &sel, deliver_ack, &a);
    bc_check(g);
    bc_ack_unref(g);
    json_decref(args);
    sio_broadcast_free(b);
    return 0;
}

/* ---- fetchSockets, socketsJoin, socketsLeave, disconnectSockets ---- */

typedef struct walk_ctx {
    int (*fn)(sio_socket *s, void *ud);
    void *ud;
    const char *room;
    int close;
    sio__adapter *adapter;
} walk_ctx;

static int walk_fetch(sio__member *m, void *ud)
{
    walk_ctx *w = ud;
    sio_socket *s = socket_of(m);
    return s->state == SOCK_CONNECTED ? w->fn(s, w->ud) : 0;
}

int sio_broadcast_fetch(sio_broadcast *b, int (*fn)(sio_socket *s, void *ud), void *ud)
{
    if (!(b = take(b))) return SIO_ENOMEM;
    if (!fn) {
        sio_broadcast_free(b);
        return SIO_EINVAL;
    }
    walk_ctx w = {.fn = fn, .ud = ud};
    sio__adapter_sel sel = selection(b);
    b->nsp->adapter->ops->each(b->nsp->adapter, &sel, walk_fetch, &w);
    sio_broadcast_free(b);
    return 0;
}

static int walk_join(sio__member *m, void *ud)
{
    walk_ctx *w = ud;
    sio__socket_join(socket_of(m), w->room);
    return 0;
}

static int walk_leave(sio__member *m, void *ud)
{
    walk_ctx *w = ud;
    w->adapter->ops->leave(w->adapter, m, w->room);
    return 0;
}

static int walk_disconnect(sio__member *m, void *ud)
{
    walk_ctx *w = ud;
    sio_disconnect(socket_of(m), w->close);
    return 0;
}

static int walk(sio_broadcast *b, sio__adapter_each_cb fn, const char *room, int close)
{
    if (!(b = take(b))) return SIO_ENOMEM;
    walk_ctx w = {.room = room, .close = close, .adapter = b->nsp->adapter};
    sio__adapter_sel sel = selection(b);
    b->nsp->adapter->ops->each(b->nsp->adapter, &sel, fn, &w);
    sio_broadcast_free(b);
    return 0;
}

int sio_broadcast_join(sio_broadcast *b, const char *room)
{
    if (!room) {
        sio_broadcast_free(b);
        return SIO_EINVAL;
    }
    return walk(b, walk_join, room, 0);
}

int sio_broadcast_leave(sio_broadcast *b, const char *room)
{
    if (!room) {
        sio_broadcast_free(b);
        return SIO_EINVAL;
    }
    return walk(b, walk_leave, room, 0);
}

int sio_broadcast_disconnect(sio_broadcast *b, int close)
{
    return walk(b, walk_disconnect, NULL, close);
}

int sio_server_side_emit(sio_namespace *nsp, const char *event, const char *fmt, ...)
{
    /* One node: nobody else to reach. The cluster adapter forwards it. The arguments are
     * packed all the same, releasing references stolen with "o". */
    va_list ap;
    va_start(ap, fmt);
    json_t *args = sio__vpack_args(fmt, ap);
    va_end(ap);
    int r = !nsp || !event ? SIO_EINVAL : args ? 0 : SIO_EINVAL;
    json_decref(args);
    return r;
}
