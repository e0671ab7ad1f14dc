/*
 * The in-memory adapter: socket.io-adapter's Adapter, in C.
 *
 * Rooms live in a chained hash table keyed by name (power-of-two buckets, load factor at
 * most 1, halved when under 1/8). A room holds its name, its member count and an intrusive
 * list of membership nodes. A membership node ties one member to one room and sits in two
 * lists, the room's and the member's (sio__member.rooms, in join order), so joining never
 * allocates more than the node, leaving unlinks the node in O(1) once it is found on the
 * shorter of the two lists, and remove() costs O(rooms of the member). A room is freed
 * when its last member leaves, as Node deletes empty rooms.
 *
 * The room named by a member's id is implicit. Every socket is in one from the start and
 * most never join another, so a room and a membership per socket would be most of the
 * adapter's memory. Instead members are kept in a second hash table keyed by id (a pointer
 * in the member and about one bucket per member), and a flag in the member says whether it
 * is in its own room: add() sets it, leave(m, m->id) clears it, join(m, m->id) sets it again.
 * Room X is then the member with id X when its flag is set, plus the members of the table's
 * room X, which exists only when others joined a room so named (an added member is never in
 * the table's room named by its own id). Every operation looks at both. Walking room X
 * visits the own-room part first: the member named X leads its room, as in Node where it
 * joins first; only when it left its room and joined it again, or joined after others, is
 * the order not Node's. A member's rooms likewise list its own room first.
 *
 * Selections allocate nothing. Node builds a Set of excluded ids and a Set of visited ids
 * per broadcast; here each member carries a scratch mark, and each selection takes a fresh
 * pair of values from a per-adapter epoch: one for the members of the except rooms, one
 * for members already visited. Marks from earlier selections never match, so nothing is
 * cleared afterwards and a broadcast to a room touches only that room's members.
 *
 * Callbacks may change the rooms of their member or remove it, and in the Socket.IO layer
 * they reach user code (disconnect handlers) that may start another selection. Three things
 * keep the walks sound:
 *
 *  - Every walk registers a cursor, the node it visits next. Unlinking a node first moves
 *    every cursor off it, and appending a node to a list whose end a cursor has reached
 *    moves that cursor onto it. A walk thus survives the removal of any node, and, like
 *    the iteration of a JavaScript Set, goes on to members that join a selected room while
 *    it runs; the visited mark keeps it from reaching anyone twice (a member that leaves a
 *    room and joins it again). An emptied room leaves the table at once, as Node deletes
 *    the Set: a walk of it ends there, and a later join makes a new room. A room being
 *    walked or listed stays allocated (pinned) until the walk is over.
 *
 *  - A selection started from a callback of another one (nested) must not overwrite the
 *    marks its caller is still using. It visits only the nodes present when it began, and
 *    decides exclusion and duplicates from the member's own rooms ("in an except room?",
 *    "in a room selected before this one?"). That is exact for every member not yet
 *    visited, since only a visited member's callback changes its rooms. The one case it
 *    cannot tell: a nested union whose callback makes its member leave an earlier selected
 *    room, while the member is also in a later one, visits that member again. The
 *    alternatives (saving the caller's marks, or a visited set) allocate on a path that
 *    cannot report failure.
 *
 *  - The rooms table does not resize while rooms() lists it, and the id table does not
 *    resize while a selection runs (it grows with the next add() after). A walk of the
 *    own-room part of room X keeps its place in the id table's chain in its cursor, so
 *    that too survives removals; members added meanwhile go to the chain's head and are
 *    not reached, nor is a member that joins its own room after that part of the walk.
 */
#include <string.h>

#include "adapter/adapter.h"
#include "base/alloc.h"
#include "base/hash.h"
#include "sio.h"

#define MIN_BUCKETS 16

typedef struct room {
    struct room *hnext; /* bucket chain */
    uint32_t hash;
    uint32_t pins; /* walks and listings in progress: emptied, it is freed when they end */
    size_t count;
    sio__list members; /* sio__membership.in_room, in join order */
    char name[];
} room;

struct sio__membership {
    sio__list in_room;   /* the room's list */
    sio__list in_member; /* circular without a head: member->rooms is the first node */
    room *room;
    sio__member *member;
};

/* A walk in progress. next is the node to visit next: NULL when the walk is over, the
 * list head when it has reached the end of the list so far (nodes appended later are still
 * visited). A bounded walk stops after last instead, the tail when it began. A walk of an id
 * table chain has id_next instead. */
typedef struct cursor {
    struct cursor *up;
    sio__list *head; /* NULL for a member's rooms, a circular list without a head */
    sio__list *next, *last;
    sio__member *id_next;
} cursor;

/* A rooms() call in progress: the room it lists next. */
typedef struct listing {
    struct listing *up;
    room *next;
} listing;

typedef struct memory {
    sio__adapter base;
    room **buckets;
    size_t nbuckets, nrooms;
    sio__list members; /* sio__member.node */
    size_t nmembers;
    sio__member **ids; /* members by id, chained through id_next */
    size_t nids;       /* buckets of ids */
    uint32_t epoch;
    uint32_t selecting; /* each() calls in progress */
    uint32_t frozen;    /* rooms() calls or teardown in progress: the table keeps its size */
    cursor *cursors;    /* innermost walk first */
    listing *listings;  /* innermost first */
} memory;

/* The query ops take a const adapter but register cursors and pins while they call back
 * into code that may change rooms; every adapter is allocated mutable. */
static memory *unconst(const sio__adapter *base)
{
    return (memory *)base;
}

/* ---- rooms table ---- */

static room *find_room_h(const memory *a, const char *name, uint32_t h)
{
    if (!a->nbuckets) return NULL;
    for (room *r = a->buckets[h & (a->nbuckets - 1)]; r; r = r->hnext)
        if (r->hash == h && !strcmp(r->name, name)) return r;
    return NULL;
}

static room *find_room(const memory *a, const char *name)
{
    return name ? find_room_h(a, name, sio__hash_str(name, NULL)) : NULL;
}

static int resize(memory *a, size_t n)
{
    room **b = sio__calloc(n, sizeof(*b));
    if (!b) return SIO_ENOMEM;
    for (size_t i = 0; i < a->nbuckets; i++) {
        room *next;
        for (room *r = a->buckets[i]; r; r = next) {
            next = r->hnext;
            room **slot = &b[r->hash & (n - 1)];
            r->hnext = *slot;
            *slot = r;
        }
    }
    sio__free(a->buckets);
    a->buckets = b;
    a->nbuckets = n;
    return 0;
}

static room *new_room(memory *a, const char *name, uint32_t h)
{
    /* Growing is best effort once there is a table: a full one still works, only slower,
     * and the next new room tries again. */
    if (!a->nbuckets && resize(a, MIN_BUCKETS)) return NULL;
    if (a->nrooms >= a->nbuckets && !a->frozen) resize(a, a->nbuckets * 2);
    size_t len = strlen(name);
    room *r = sio__malloc(sizeof(*r) + len + 1);
    if (!r) return NULL;
    r->hash = h;
    r->pins = 0;
    r->count = 0;
    sio__list_init(&r->members);
    memcpy(r->name, name, len + 1);
    room **slot = &a->buckets[h & (a->nbuckets - 1)];
    r->hnext = *slot;
    *slot = r;
    a->nrooms++;
    return r;
}

/* Take an emptied room out of the table, as Node deletes the Set: a later join makes a new
 * room, which a walk of this one does not reach. Pinned, it is freed by the last unpin. */
static void retire_room(memory *a, room *r)
{
    room **pp = &a->buckets[r->hash & (a->nbuckets - 1)];
    while (*pp != r) pp = &(*pp)->hnext;
    *pp = r->hnext;
    for (listing *l = a->listings; l; l = l->up)
        if (l->next == r) l->next = r->hnext;
    a->nrooms--;
    if (!r->pins) sio__free(r);
    if (!a->frozen && a->nbuckets > MIN_BUCKETS && a->nrooms < a->nbuckets / 8)
        resize(a, a->nbuckets / 2); /* on failure the table just stays larger */
}

static void unpin(room *r)
{
    if (--r->pins == 0 && r->count == 0) sio__free(r);
}

/* ---- walks ---- */

static void cursor_push(memory *a, cursor *c)
{
    c->up = a->cursors;
    c->head = c->next = c->last = NULL;
    c->id_next = NULL;
    a->cursors = c;
}

static void cursor_pop(memory *a, cursor *c)
{
    a->cursors = c->up;
}

/* Walk the list at head to its end, including nodes appended meanwhile. */
static void cursor_start(cursor *c, sio__list *head)
{
    c->head = head;
    c->next = head->next;
    c->last = NULL;
}

/* Walk the nodes from first to last, both in place now. */
static void cursor_start_bounded(cursor *c, sio__list *head, sio__list *first, sio__list *last)
{
    c->head = head;
    c->next = first == head ? NULL : first;
    c->last = last;
}

static sio__list *cursor_step(cursor *c)
{
    sio__list *p = c->next;
    if (!p || p == c->head) return NULL;
    c->next = p == c->last ? NULL : p->next;
    return p;
}

/* Append n to the list at head. A walk waiting at the end of that list goes on to n. */
static void link_node(memory *a, sio__list *head, sio__list *n)
{
    sio__list_push_back(head, n);
    for (cursor *c = a->cursors; c; c = c->up)
        if (c->next == head) c->next = n;
}

/* Unlink n from its list, moving every walk off it first. When n was a bounded walk's last
 * node, its predecessor becomes the last one; that predecessor is outside the walk (the
 * head, or the tail of a circular list) only when nothing is left to visit. */
static void unlink_node(memory *a, sio__list *n)
{
    for (cursor *c = a->cursors; c; c = c->up) {
        if (c->next == n) c->next = n == c->last ? NULL : n->next;
        if (c->last == n) c->last = n->prev;
    }
    sio__list_remove(n);
}

/* ---- members by id ---- */

/* The id table keeps at most two members per bucket on average (add() grows it, remove()
 * shrinks it under a quarter). */
static int resize_ids(memory *a, size_t n)
{
    sio__member **b = sio__calloc(n, sizeof(*b));
    if (!b) return SIO_ENOMEM;
    for (size_t i = 0; i < a->nids; i++) {
        sio__member *next;
        for (sio__member *m = a->ids[i]; m; m = next) {
            next = m->id_next;
            sio__member **slot = &b[sio__hash_str(m->id, NULL) & (n - 1)];
            m->id_next = *slot;
            *slot = m;
        }
    }
    sio__free(a->ids);
    a->ids = b;
    a->nids = n;
    return 0;
}

/* The first member of the chain where members with id hash h are. */
static sio__member *ids_chain(const memory *a, uint32_t h)
{
    return a->nids ? a->ids[h & (a->nids - 1)] : NULL;
}

/* Whether m is in the room named name through its own id. */
static int own_room(const sio__member *m, const char *name)
{
    return m->own && !strcmp(m->id, name);
}

static void unlink_id(memory *a, sio__member *m)
{
    sio__member **pp = &a->ids[sio__hash_str(m->id, NULL) & (a->nids - 1)];
    while (*pp != m) pp = &(*pp)->id_next;
    *pp = m->id_next;
    for (cursor *c = a->cursors; c; c = c->up)
        if (c->id_next == m) c->id_next = m->id_next;
    m->id_next = NULL;
}

/* ---- memberships ---- */

static sio__membership *next_of_member(const sio__membership *ms)
{
    return sio__container_of(ms->in_member.next, sio__membership, in_member);
}

/* m's membership of r, looked up on the shorter of the two lists. */
static sio__membership *find_membership(const sio__member *m, const room *r)
{
    if (!r || !m->rooms) return NULL;
    if (r->count < m->nrooms) {
        for (const sio__list *p = r->members.next; p != &r->members; p = p->next) {
            sio__membership *ms = sio__container_of(p, sio__membership, in_room);
            if (ms->member == m) return ms;
        }
        return NULL;
    }
    sio__membership *ms = m->rooms;
    do {
        if (ms->room == r) return ms;
        ms = next_of_member(ms);
    } while (ms != m->rooms);
    return NULL;
}

static int member_in(const memory *a, const sio__member *m, const char *name)
{
    return name && (own_room(m, name) || find_membership(m, find_room(a, name)));
}

static int in_any(const memory *a, const sio__member *m, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (member_in(a, m, names[i])) return 1;
    return 0;
}

static void unlink_membership(memory *a, sio__membership *ms)
{
    sio__member *m = ms->member;
    room *r = ms->room;
    unlink_node(a, &ms->in_room);
    if (m->rooms == ms) m->rooms = ms->in_member.next != &ms->in_member ? next_of_member(ms) : NULL;
    unlink_node(a, &ms->in_member);
    m->nrooms--;
    if (--r->count == 0) retire_room(a, r);
    sio__free(ms);
}

/* ---- ops ---- */

/* Whether m was added (and not removed since). A member that failed to be added is
 * self-linked; one never added is zeroed. */
static int added(const sio__member *m)
{
    return m->node.next && sio__list_linked(&m->node);
}

static int mem_join(sio__adapter *base, sio__member *m, const char *name)
{
    memory *a = (memory *)base;
    if (!name) return SIO_EINVAL;
    if (m->id && !strcmp(name, m->id) && added(m)) {
        if (!m->own) {
            m->own = 1;
            m->nrooms++;
        }
        return 0;
    }
    uint32_t h = sio__hash_str(name, NULL);
    room *r = find_room_h(a, name, h);
    if (r && find_membership(m, r)) return 0;
    sio__membership *ms = sio__malloc(sizeof(*ms));
    if (!ms) return SIO_ENOMEM;
    if (!r && !(r = new_room(a, name, h))) {
        sio__free(ms);
        return SIO_ENOMEM;
    }
    ms->room = r;
    ms->member = m;
    link_node(a, &r->members, &ms->in_room);
    r->count++;
    if (m->rooms) {
        sio__list_push_back(&m->rooms->in_member, &ms->in_member); /* before the first: last */
    } else {
        sio__list_init(&ms->in_member);
        m->rooms = ms;
    }
    m->nrooms++;
    return 0;
}

static void mem_leave(sio__adapter *base, sio__member *m, const char *name)
{
    memory *a = (memory *)base;
    if (name && own_room(m, name)) {
        m->own = 0;
        m->nrooms--;
        return;
    }
    sio__membership *ms = find_membership(m, find_room(a, name));
    if (ms) unlink_membership(a, ms);
}

static int mem_add(sio__adapter *base, sio__member *m)
{
    memory *a = (memory *)base;
    if (!m->id) return SIO_EINVAL;
    m->rooms = NULL;
    m->nrooms = 0;
    m->own = 0;
    m->id_next = NULL;
    /* Removed and added again during a selection, it keeps its mark: it is not visited
     * twice. */
    if (!a->selecting) m->mark = 0;
    sio__list_init(&m->node);
    /* Growing is best effort once there is a table, and waits while a selection may be
     * walking a chain. */
    if (!a->nids && resize_ids(a, MIN_BUCKETS)) return SIO_ENOMEM;
    if (a->nmembers >= a->nids * 2 && !a->selecting) resize_ids(a, a->nids * 2);
    sio__member **slot = &a->ids[sio__hash_str(m->id, NULL) & (a->nids - 1)];
    m->id_next = *slot;
    *slot = m;
    m->own = 1;
    m->nrooms = 1;
    link_node(a, &a->members, &m->node);
    a->nmembers++;
    return 0;
}

static void mem_remove(sio__adapter *base, sio__member *m)
{
    memory *a = (memory *)base;
    while (m->rooms) unlink_membership(a, m->rooms);
    m->own = 0;
    m->nrooms = 0;
    if (added(m)) {
        unlink_id(a, m);
        unlink_node(a, &m->node);
        a->nmembers--;
        if (!a->selecting && a->nids > MIN_BUCKETS && a->nmembers < a->nids / 4)
            resize_ids(a, a->nids / 2); /* on failure the table just stays larger */
    }
}

static void next_epoch(memory *a)
{
    a->epoch += 2;
    if (a->epoch == 0) {
        /* Wrapped after 2^31 selections: marks that old could match again. */
        for (sio__list *p = a->members.next; p != &a->members; p = p->next)
            sio__container_of(p, sio__member, node)->mark = 0;
        a->epoch = 2;
    }
}

/* Whether a walk of the selection's room i (0 for every member) visits m, which it reached:
 * not excluded and not visited before, by marks at the top level (which the visit sets), by
 * m's rooms when nested. */
static int admit(const memory *a, const sio__adapter_sel *sel, size_t i, sio__member *m, int nested,
                 uint32_t excluded)
{
    if (nested) return !in_any(a, m, sel->except, sel->nexcept) && !in_any(a, m, sel->rooms, i);
    if (m->mark == excluded || m->mark == excluded + 1) return 0;
    m->mark = excluded + 1;
    return 1;
}

static size_t mem_each(sio__adapter *base, const sio__adapter_sel *sel, sio__adapter_each_cb fn,
                       void *ud)
{
    static const sio__adapter_sel everyone;
    memory *a = (memory *)base;
    if (!sel) sel = &everyone;
    int nested = a->selecting > 0;
    uint32_t excluded = 0; /* and excluded + 1: visited */
    if (!nested) {
        next_epoch(a);
        excluded = a->epoch;
        for (size_t i = 0; i < sel->nexcept; i++) {
            const char *name = sel->except[i];
            if (!name) continue;
            uint32_t h = sio__hash_str(name, NULL);
            for (sio__member *m = ids_chain(a, h); m; m = m->id_next)
                if (own_room(m, name)) m->mark = excluded;
            room *r = find_room_h(a, name, h);
            if (!r) continue;
            for (sio__list *p = r->members.next; p != &r->members; p = p->next)
                sio__container_of(p, sio__membership, in_room)->member->mark = excluded;
        }
    }
    a->selecting++;
    cursor c;
    cursor_push(a, &c);
    size_t n = 0;
    int stop = 0;
    sio__list *p;
    /* Like Node, a top-level walk also reaches members that join (or, for every member,
     * are added) while it runs; its marks keep it from reaching anyone twice. A nested
     * walk has no marks and visits only what was there when it began. */
    if (!sel->nrooms) {
        sio__list *h = &a->members;
        if (nested)
            cursor_start_bounded(&c, h, h->next, h->prev);
        else
            cursor_start(&c, h);
        while (!stop && (p = cursor_step(&c))) {
            sio__member *m = sio__container_of(p, sio__member, node);
            if (!admit(a, sel, 0, m, nested, excluded)) continue;
            n++;
            stop = fn(m, ud) != 0;
        }
    }
    for (size_t i = 0; i < sel->nrooms && !stop; i++) {
        const char *name = sel->rooms[i];
        if (!name) continue;
        uint32_t h = sio__hash_str(name, NULL);
        /* The own-room part: the member named like the room, when it is in it. */
        c.id_next = ids_chain(a, h);
        sio__member *o;
        while (!stop && (o = c.id_next)) {
            c.id_next = o->id_next;
            if (!own_room(o, name) || !admit(a, sel, i, o, nested, excluded)) continue;
            n++;
            stop = fn(o, ud) != 0;
        }
        c.id_next = NULL;
        room *r = stop ? NULL : find_room_h(a, name, h);
        if (!r) continue;
        r->pins++;
        sio__list *head = &r->members;
        if (nested)
            cursor_start_bounded(&c, head, head->next, head->prev);
        else
            cursor_start(&c, head);
        while (!stop && (p = cursor_step(&c))) {
            sio__member *m = sio__container_of(p, sio__membership, in_room)->member;
            if (!admit(a, sel, i, m, nested, excluded)) continue;
            n++;
            stop = fn(m, ud) != 0;
        }
        cursor_start_bounded(&c, NULL, NULL, NULL); /* off the room before it may go */
        unpin(r);
    }
    cursor_pop(a, &c);
    a->selecting--;
    return n;
}

static int mem_in_room(const sio__adapter *base, const sio__member *m, const char *name)
{
    return member_in((const memory *)base, m, name);
}

static size_t mem_room_size(const sio__adapter *base, const char *name)
{
    const memory *a = (const memory *)base;
    if (!name) return 0;
    uint32_t h = sio__hash_str(name, NULL);
    const room *r = find_room_h(a, name, h);
    size_t n = r ? r->count : 0;
    for (const sio__member *m = ids_chain(a, h); m; m = m->id_next) n += own_room(m, name);
    return n;
}

/* Its own room first, then the others in join order. The callback may change m's rooms:
 * rooms it joins are not listed. */
static void mem_rooms_of(const sio__adapter *base, const sio__member *m, sio__adapter_room_cb fn,
                         void *ud)
{
    memory *a = unconst(base);
    if (!m->rooms && !m->own) return;
    cursor c;
    cursor_push(a, &c);
    if (m->rooms) cursor_start_bounded(&c, NULL, &m->rooms->in_member, m->rooms->in_member.prev);
    if (m->own && fn(m->id, ud)) c.next = NULL;
    sio__list *p;
    while ((p = cursor_step(&c))) {
        sio__membership *ms = sio__container_of(p, sio__membership, in_member);
        if (fn(ms->room->name, ud)) break;
    }
    cursor_pop(a, &c);
}

/* Whether m is the first member of its id table chain in the room named by its id: the one
 * that stands for that room in a listing. */
static int lists_own_room(const memory *a, const sio__member *m)
{
    if (!m->own) return 0;
    for (const sio__member *o = ids_chain(a, sio__hash_str(m->id, NULL)); o != m; o = o->id_next)
        if (own_room(o, m->id)) return 0;
    return 1;
}

/* The table's rooms in table order, then the own rooms not also in the table, in member
 * order. The callback may join and leave rooms: the table does not resize meanwhile, the
 * listed room stays allocated until the callback returns, rooms emptied before their turn
 * are not listed, and rooms created meanwhile may or may not be. A room that is both in the
 * table and some member's own room is listed once, unless the callback empties the table's
 * room after it was listed (it comes again with the own rooms). */
static void mem_rooms(const sio__adapter *base, sio__adapter_room_cb fn, void *ud)
{
    memory *a = unconst(base);
    listing l = {.up = a->listings};
    a->listings = &l;
    a->frozen++;
    int stop = 0;
    for (size_t i = 0; i < a->nbuckets && !stop; i++) {
        room *r;
        l.next = a->buckets[i];
        while (!stop && (r = l.next)) {
            l.next = r->hnext;
            r->pins++;
            stop = fn(r->name, ud) != 0;
            unpin(r);
        }
    }
    a->listings = l.up;
    if (!stop && !sio__list_empty(&a->members)) {
        cursor c;
        cursor_push(a, &c);
        cursor_start_bounded(&c, &a->members, a->members.next, a->members.prev);
        sio__list *p;
        while (!stop && (p = cursor_step(&c))) {
            sio__member *m = sio__container_of(p, sio__member, node);
            if (lists_own_room(a, m) && !find_room(a, m->id)) stop = fn(m->id, ud) != 0;
        }
        cursor_pop(a, &c);
    }
    a->frozen--;
}

static size_t mem_count(const sio__adapter *base)
{
    return ((const memory *)base)->nmembers;
}

/* Members still in the adapter are removed; their sio__member stays the caller's. */
static void mem_free(sio__adapter *base)
{
    memory *a = (memory *)base;
    while (!sio__list_empty(&a->members))
        mem_remove(base, sio__container_of(a->members.next, sio__member, node));
    /* Members joined to rooms without add() are left: the last to go frees each room. */
    a->frozen++;
    for (size_t i = 0; i < a->nbuckets; i++) {
        while (a->buckets[i]) {
            room *r = a->buckets[i];
            for (size_t k = r->count; k > 0; k--)
                unlink_membership(a, sio__container_of(r->members.next, sio__membership, in_room));
        }
    }
    sio__free(a->buckets);
    sio__free(a->ids);
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
