/*
 * Connection state recovery (socket.io 4.6+, the in-memory SessionAwareAdapter): while it
 * is on, every event packet without an ack that is not volatile gets an offset appended as
 * its last argument and is kept, with its rooms, for maxDisconnectionDuration. A socket
 * that disconnects for a recoverable reason leaves its session (id, rooms, data) behind;
 * a client that reconnects with {pid, offset} gets them back and receives the packets it
 * missed, before its CONNECT reply.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/id.h"
#include "sio/io.h"

typedef struct kept_packet {
    sio__list node;
    uint64_t at;
    char id[24];
    json_t *data;   /* the event array, offset included */
    json_t *rooms;  /* array of strings; empty: every socket */
    json_t *except; /* array of strings */
} kept_packet;

typedef struct kept_session {
    sio__list node;
    uint64_t at;
    char pid[SIO__ID_SIZE];
    char sid[SIO__ID_SIZE];
    json_t *rooms;
    json_t *data;
} kept_session;

struct sio__recovery {
    uint32_t max_ms;
    uint64_t seq;
    sio__list packets;
    sio__list sessions;
};

static const char *const recoverable[] = {
    "transport error", "transport close",      "forced close",
    "ping timeout",    "server shutting down", "forced server close",
};

sio__recovery *sio__recovery_new(uint32_t max_ms)
{
    sio__recovery *r = sio__calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->max_ms = max_ms;
    sio__list_init(&r->packets);
    sio__list_init(&r->sessions);
    return r;
}

static void drop_packet(kept_packet *p)
{
    sio__list_remove(&p->node);
    json_decref(p->data);
    json_decref(p->rooms);
    json_decref(p->except);
    sio__free(p);
}

static void drop_session(kept_session *s)
{
    sio__list_remove(&s->node);
    json_decref(s->rooms);
    json_decref(s->data);
    sio__free(s);
}

void sio__recovery_free(sio__recovery *r)
{
    if (!r) return;
    while (!sio__list_empty(&r->packets))
        drop_packet(sio__container_of(r->packets.next, kept_packet, node));
    while (!sio__list_empty(&r->sessions))
        drop_session(sio__container_of(r->sessions.next, kept_session, node));
    sio__free(r);
}

/* Packets and sessions are kept in time order: drop what is older than the window. */
static void trim(sio__recovery *r, uint64_t now)
{
    while (!sio__list_empty(&r->packets)) {
        kept_packet *p = sio__container_of(r->packets.next, kept_packet, node);
        if (p->at + r->max_ms >= now) break;
        drop_packet(p);
    }
    while (!sio__list_empty(&r->sessions)) {
        kept_session *s = sio__container_of(r->sessions.next, kept_session, node);
        if (s->at + r->max_ms >= now) break;
        drop_session(s);
    }
}

static json_t *names(const char *const *list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(list[i]));
    return a;
}

int sio__recovery_keep(sio__recovery *r, uint64_t now, json_t *data, const char *const *rooms,
                       size_t nrooms, const char *const *except, size_t nexcept)
{
    trim(r, now);
    kept_packet *p = sio__calloc(1, sizeof(*p));
    if (!p) return SIO_ENOMEM;
    /* An offset that sorts by time and is unique within the process, as yeast's ids are. */
    snprintf(p->id, sizeof(p->id), "%llx-%llx", (unsigned long long)now,
             (unsigned long long)++r->seq);
    p->at = now;
    p->rooms = names(rooms, nrooms);
    p->except = names(except, nexcept);
    if (!p->rooms || !p->except || json_array_append_new(data, json_string(p->id))) {
        json_decref(p->rooms);
        json_decref(p->except);
        sio__free(p);
        return SIO_ENOMEM;
    }
    p->data = json_incref(data);
    sio__list_push_back(&r->packets, &p->node);
    return 0;
}

static int in_list(const json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (!strcmp(json_string_value(v), name)) return 1;
    return 0;
}

static int room_cb(const char *room, void *ud)
{
    json_array_append_new(ud, json_string(room));
    return 0;
}

void sio__recovery_persist(sio__recovery *r, uint64_t now, sio_socket *s, const char *reason)
{
    const char *pid = sio__socket_pid(s);
    if (!pid || !pid[0]) return;
    int ok = 0;
    for (size_t i = 0; i < sizeof(recoverable) / sizeof(recoverable[0]); i++)
        if (!strcmp(reason, recoverable[i])) ok = 1;
    if (!ok) return;
    trim(r, now);
    kept_session *k = sio__calloc(1, sizeof(*k));
    if (!k) return;
    k->at = now;
    snprintf(k->pid, sizeof(k->pid), "%s", pid);
    snprintf(k->sid, sizeof(k->sid), "%s", s->member.id);
    k->rooms = json_array();
    k->data = s->data ? json_incref(s->data) : NULL;
    if (!k->rooms) {
        json_decref(k->data);
        sio__free(k);
        return;
    }
    sio_socket_rooms(s, room_cb, k->rooms);
    sio__list_push_back(&r->sessions, &k->node);
}

int sio__recovery_restore(sio__recovery *r, uint64_t now, sio_socket *s, const json_t *auth)
{
    const char *pid = json_string_value(json_object_get(auth, "pid"));
    const char *offset = json_string_value(json_object_get(auth, "offset"));
    if (!pid || !offset) return 0;
    trim(r, now);
    kept_session *k = NULL;
    for (sio__list *pos = r->sessions.next; pos != &r->sessions; pos = pos->next) {
        kept_session *c = sio__container_of(pos, kept_session, node);
        if (!strcmp(c->pid, pid)) k = c;
    }
    if (!k) return 0;
    kept_packet *from = NULL;
    for (sio__list *pos = r->packets.next; pos != &r->packets; pos = pos->next) {
        kept_packet *p = sio__container_of(pos, kept_packet, node);
        if (!strcmp(p->id, offset)) from = p;
    }
    if (!from) return 0; /* the offset is too old */
    json_t *missed = json_array();
    if (!missed || !sio__socket_rare_get(s)) {
        json_decref(missed);
        return 0;
    }
    for (sio__list *pos = from->node.next; pos != &r->packets; pos = pos->next) {
        kept_packet *p = sio__container_of(pos, kept_packet, node);
        int included = !json_array_size(p->rooms), excluded = 0;
        size_t i;
        json_t *room;
        json_array_foreach(k->rooms, i, room)
        {
            if (in_list(p->rooms, json_string_value(room))) included = 1;
            if (in_list(p->except, json_string_value(room))) excluded = 1;
        }
        if (included && !excluded) json_array_append(missed, p->data);
    }
    snprintf(sio__socket_id_buf(s), SIO__ID_SIZE, "%s", k->sid); /* only v5 sockets have a pid */
    snprintf(sio__socket_pid(s), SIO__ID_SIZE, "%s", k->pid);
    json_decref(s->data);
    s->data = k->data ? json_incref(k->data) : NULL;
    s->rare->restore_rooms = json_incref(k->rooms);
    s->rare->missed = missed;
    s->recovered = 1;
    drop_session(k);
    return 1;
}
