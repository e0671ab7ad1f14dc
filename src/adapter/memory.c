/*
 * The in-memory adapter: rooms in a hash table, each a list of membership nodes; a
 * membership node sits in its room's list and in its member's list, so leaving is O(1)
 * once found in the member's (short) list. Empty rooms are freed, as Node deletes them.
 *
 * A selection marks members with a per-adapter epoch instead of building a set: members
 * of the except rooms get one mark, visited members another, so a broadcast allocates
 * nothing once the scratch array has grown to the largest selection.
 */
#include <string.h>

#include "adapter/adapter.h"
#include "base/alloc.h"
#include "sio.h"

typedef struct room {
    struct room *hnext;
    uint32_t hash;
    size_t count;
    sio__list members; /* sio__membership.room_node */
    char name[];
} room;

struct sio__membership {
    room *room;
    sio__member *member;
    sio__list room_node;
    sio__membership *next; /* in the member's list */
};

typedef struct memory {
    sio__adapter base;
    room **buckets;
    size_t nbuckets, nrooms;
    sio__list members;
    size_t nmembers;
    uint32_t epoch;
    sio__member **scratch;
    size_t scratch_cap;
} memory;

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static room *find_room(const memory *a, const char *name)
{
    if (!a->nbuckets) return NULL;
    uint32_t h = hash_str(name);
    for (room *r = a->buckets[h & (a->nbuckets - 1)]; r; r = r->hnext)
        if (r->hash == h && !strcmp(r->name, name)) return r;
    return NULL;
}

static int grow(memory *a)
{
    size_t n = a->nbuckets ? a->nbuckets * 2 : 64;
    room **b = sio__calloc(n, sizeof(*b));
    if (!b) return SIO_ENOMEM;
    for (size_t i = 0; i < a->nbuckets; i++) {
        room *r = a->buckets[i];
        while (r) {
            room *next = r->hnext;
            r->hnext = b[r->hash & (n - 1)];
            b[r->hash & (n - 1)] = r;
            r = next;
        }
    }
    sio__free(a->buckets);
    a->buckets = b;
    a->nbuckets = n;
    return 0;
}

static room *get_room(memory *a, const char *name)
{
    room *r = find_room(a, name);
    if (r) return r;
    if (a->nrooms >= a->nbuckets && grow(a)) return NULL;
    size_t len = strlen(name);
    if (!(r = sio__malloc(sizeof(*r) + len + 1))) return NULL;
    r->hash = hash_str(name);
    r->count = 0;
    sio__list_init(&r->members);
    memcpy(r->name, name, len + 1);
    size_t b = r->hash & (a->nbuckets - 1);
    r->hnext = a->buckets[b];
    a->buckets[b] = r;
    a->nrooms++;
    return r;
}

static void drop_room(memory *a, room *r)
{
    room **pp = &a->buckets[r->hash & (a->nbuckets - 1)];
    while (*pp != r) pp = &(*pp)->hnext;
    *pp = r->hnext;
    a->nrooms--;
    sio__free(r);
}

static int mem_join(sio__adapter *base, sio__member *m, const char *name)
{
    memory *a = (memory *)base;
    for (sio__membership *ms = m->rooms; ms; ms = ms->next)
        if (!strcmp(ms->room->name, name)) return 0;
    sio__membership *ms = sio__malloc(sizeof(*ms));
    if (!ms) return SIO_ENOMEM;
    room *r = get_room(a, name);
    if (!r) {
        sio__free(ms);
        return SIO_ENOMEM;
    }
    ms->room = r;
    ms->member = m;
    sio__list_push_back(&r->members, &ms->room_node);
    r->count++;
    ms->next = m->rooms;
    m->rooms = ms;
    m->nrooms++;
    return 0;
}

static void unlink_membership(memory *a, sio__member *m, sio__membership **pp)
{
    sio__membership *ms = *pp;
    *pp = ms->next;
    m->nrooms--;
    sio__list_remove(&ms->room_node);
    if (--ms->room->count == 0) drop_room(a, ms->room);
    sio__free(ms);
}

static void mem_leave(sio__adapter *base, sio__member *m, const char *name)
{
    memory *a = (memory *)base;
    for (sio__membership **pp = &m->rooms; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->room->name, name)) {
            unlink_membership(a, m, pp);
            return;
        }
    }
}

static int mem_add(sio__adapter *base, sio__member *m)
{
    memory *a = (memory *)base;
    m->rooms = NULL;
    m->nrooms = 0;
    m->mark = 0;
    int r = mem_join(base, m, m->id);
    if (r) return r;
    sio__list_push_back(&a->members, &m->node);
    a->nmembers++;
    return 0;
}

static void mem_remove(sio__adapter *base, sio__member *m)
{
    memory *a = (memory *)base;
    while (m->rooms) unlink_membership(a, m, &m->rooms);
    if (sio__list_linked(&m->node)) {
        sio__list_remove(&m->node);
        sio__list_init(&m->node);
        a->nmembers--;
    }
}

static int reserve_scratch(memory *a, size_t n)
{
    if (n <= a->scratch_cap) return 0;
    size_t cap = a->scratch_cap ? a->scratch_cap : 64;
    while (cap < n) cap *= 2;
    sio__member **s = sio__reallocarray(a->scratch, cap, sizeof(*s));
    if (!s) return SIO_ENOMEM;
    a->scratch = s;
    a->scratch_cap = cap;
    return 0;
}

static size_t mem_each(sio__adapter *base, const sio__adapter_sel *sel, sio__adapter_each_cb fn,
                       void *ud)
{
    memory *a = (memory *)base;
    a->epoch += 2;
    uint32_t excluded = a->epoch, visited = a->epoch + 1;
    for (size_t i = 0; i < sel->nexcept; i++) {
        room *r = find_room(a, sel->except[i]);
        if (!r) continue;
        for (sio__list *p = r->members.next; p != &r->members; p = p->next)
            sio__container_of(p, sio__membership, room_node)->member->mark = excluded;
    }
    /* Collect first: callbacks may change rooms (socketsJoin/Leave) or remove their
     * member (disconnectSockets) while we walk. */
    size_t n = 0;
    if (!sel->nrooms) {
        if (reserve_scratch(a, a->nmembers)) return 0;
        for (sio__list *p = a->members.next; p != &a->members; p = p->next) {
            sio__member *m = sio__container_of(p, sio__member, node);
            if (m->mark != excluded) a->scratch[n++] = m;
        }
    } else {
        size_t total = 0;
        for (size_t i = 0; i < sel->nrooms; i++) {
            room *r = find_room(a, sel->rooms[i]);
            if (r) total += r->count;
        }
        if (reserve_scratch(a, total)) return 0;
        for (size_t i = 0; i < sel->nrooms; i++) {
            room *r = find_room(a, sel->rooms[i]);
            if (!r) continue;
            for (sio__list *p = r->members.next; p != &r->members; p = p->next) {
                sio__member *m = sio__container_of(p, sio__membership, room_node)->member;
                if (m->mark == excluded || m->mark == visited) continue;
                m->mark = visited;
                a->scratch[n++] = m;
            }
        }
    }
    /* The scratch array may be reused by a nested selection from a callback: walk a copy
     * when that happens (rare), else in place. */
    sio__member **list = a->scratch;
    size_t cap = a->scratch_cap;
    a->scratch = NULL;
    a->scratch_cap = 0;
    size_t visited_n = 0;
    for (size_t i = 0; i < n; i++) {
        visited_n++;
        if (fn(list[i], ud)) break;
    }
    if (!a->scratch) {
        a->scratch = list;
        a->scratch_cap = cap;
    } else {
        sio__free(list);
    }
    return visited_n;
}

static int mem_in_room(const sio__adapter *base, const sio__member *m, const char *name)
{
    (void)base;
    for (const sio__membership *ms = m->rooms; ms; ms = ms->next)
        if (!strcmp(ms->room->name, name)) return 1;
    return 0;
}

static size_t mem_room_size(const sio__adapter *base, const char *name)
{
    const room *r = find_room((const memory *)base, name);
    return r ? r->count : 0;
}

static void mem_rooms_of(const sio__adapter *base, const sio__member *m, sio__adapter_room_cb fn,
                         void *ud)
{
    (void)base;
    for (const sio__membership *ms = m->rooms; ms; ms = ms->next)
        if (fn(ms->room->name, ud)) return;
}

static void mem_rooms(const sio__adapter *base, sio__adapter_room_cb fn, void *ud)
{
    const memory *a = (const memory *)base;
    for (size_t i = 0; i < a->nbuckets; i++)
        for (const room *r = a->buckets[i]; r; r = r->hnext)
            if (fn(r->name, ud)) return;
}

static size_t mem_count(const sio__adapter *base)
{
    return ((const memory *)base)->nmembers;
}

static void mem_free(sio__adapter *base)
{
    memory *a = (memory *)base;
    while (!sio__list_empty(&a->members))
        mem_remove(base, sio__container_of(a->members.next, sio__member, node));
    sio__free(a->buckets);
    sio__free(a->scratch);
    sio__free(a);
}

static const sio__adapter_ops memory_ops = {
    .add = mem_add,
    .join = mem_join,
    .leave = mem_leave,
    .remove = mem_remove,
    .each = mem_each,
    .in_room = mem_in_room,
    .room_size = mem_room_size,
    .rooms_of = mem_rooms_of,
    .rooms = mem_rooms,
    .count = mem_count,
    .free = mem_free,
};

sio__adapter *sio__memory_adapter_new(void)
{
    memory *a = sio__calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->base.ops = &memory_ops;
    sio__list_init(&a->members);
    return &a->base;
}
