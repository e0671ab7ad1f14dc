/*
 * Event handler lists, shared between sockets.
 *
 * A Node application registers the same handlers on every socket in its connection
 * handler, and a list per socket would cost each connection a few hundred bytes. Here a
 * socket points at an immutable, refcounted list; lists with equal contents (same event
 * names, functions, user data and once flags, in the same order) are interned in one table
 * per server, so a thousand sockets with the same handlers share one list. Adding or
 * removing a handler makes the socket point at another list (found in the table or built),
 * never changes a list others may hold. Handlers given per-socket user data get lists of
 * their own and cost what a private array would.
 *
 * Immutability also gives Node's dispatch semantics for free: EventEmitter.emit() calls the
 * listeners registered when it started, even those an earlier listener removes, and a
 * dispatch here walks the list it took a reference to.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "base/intern.h"
#include "sio/io.h"

#define MIN_BUCKETS 64

struct sio__handlers {
    sio__handlers *hnext; /* the table's chain */
    uint32_t refs;
    uint32_t hash;
    uint32_t linked; /* in the table */
    uint32_t n;
    sio__handler h[];
};

static uint32_t hash_of(const sio__handlers *l)
{
    uint32_t h = SIO__HASH_INIT;
    for (uint32_t i = 0; i < l->n; i++) {
        const sio__handler *e = &l->h[i];
        h = sio__hash_bytes(h, &e->event, sizeof(e->event));
        h = sio__hash_bytes(h, &e->fn, sizeof(e->fn));
        h = sio__hash_bytes(h, &e->ud, sizeof(e->ud));
        h = sio__hash_bytes(h, &e->once, sizeof(e->once));
    }
    return sio__hash_finish(h);
}

static int same(const sio__handlers *a, const sio__handlers *b)
{
    if (a->n != b->n) return 0;
    for (uint32_t i = 0; i < a->n; i++) {
        const sio__handler *x = &a->h[i], *y = &b->h[i];
        if (x->event != y->event || x->fn != y->fn || x->ud != y->ud || x->once != y->once)
            return 0;
    }
    return 1;
}

static sio__handlers *list_new(uint32_t n)
{
    sio__handlers *l = sio__malloc(sizeof(*l) + n * sizeof(l->h[0]));
    if (!l) return NULL;
    memset(l, 0, sizeof(*l));
    l->n = n;
    return l;
}

static void unlink_list(sio__io *io, sio__handlers *l)
{
    if (!l->linked) return;
    for (sio__handlers **pp = &io->hbuckets[l->hash & (io->nhbuckets - 1)]; *pp;
         pp = &(*pp)->hnext) {
        if (*pp == l) {
            *pp = l->hnext;
            break;
        }
    }
    l->linked = 0;
    io->nhlists--;
}

/* Best effort: a table that cannot grow keeps longer chains. */
static void link_list(sio__io *io, sio__handlers *l)
{
    if (io->nhlists >= io->nhbuckets) {
        size_t n = io->nhbuckets ? io->nhbuckets * 2 : MIN_BUCKETS;
        sio__handlers **b = sio__calloc(n, sizeof(*b));
        if (b) {
            for (size_t i = 0; i < io->nhbuckets; i++) {
                for (sio__handlers *e = io->hbuckets[i], *next; e; e = next) {
                    next = e->hnext;
                    e->hnext = b[e->hash & (n - 1)];
                    b[e->hash & (n - 1)] = e;
                }
            }
            sio__free(io->hbuckets);
            io->hbuckets = b;
            io->nhbuckets = n;
        }
    }
    if (!io->nhbuckets) return; /* not shared, still valid */
    l->hash = hash_of(l);
    sio__handlers **head = &io->hbuckets[l->hash & (io->nhbuckets - 1)];
    l->hnext = *head;
    *head = l;
    l->linked = 1;
    io->nhlists++;
}

/* The interned list equal to the candidate c (which the call takes): c itself, now in the
 * table and holding references to its names, or an equal list already there (c freed). */
static sio__handlers *intern(sio__io *io, sio__handlers *c)
{
    if (!c->n) {
        sio__free(c);
        return NULL;
    }
    uint32_t h = hash_of(c);
    if (io->nhbuckets) {
        for (sio__handlers *e = io->hbuckets[h & (io->nhbuckets - 1)]; e; e = e->hnext) {
            if (e->hash == h && same(e, c)) {
                sio__free(c);
                e->refs++;
                return e;
            }
        }
    }
    c->refs = 1;
    for (uint32_t i = 0; i < c->n; i++) sio__intern_ref(io->names, c->h[i].event);
    link_list(io, c);
    return c;
}

sio__handlers *sio__handlers_ref(sio__handlers *l)
{
    if (l) l->refs++;
    return l;
}

void sio__handlers_unref(sio__io *io, sio__handlers *l)
{
    if (!l || --l->refs) return;
    unlink_list(io, l);
    for (uint32_t i = 0; i < l->n; i++) sio__intern_put(io->names, l->h[i].event);
    sio__free(l);
}

size_t sio__handlers_count(const sio__handlers *l)
{
    return l ? l->n : 0;
}

const sio__handler *sio__handlers_at(const sio__handlers *l, size_t i)
{
    return &l->h[i];
}

int sio__handlers_add(sio__io *io, sio__handlers **list, const char *event, sio_event_cb fn,
                      void *ud, int once, int prepend)
{
    sio__handlers *old = *list;
    uint32_t n = old ? old->n : 0;
    if (n == UINT32_MAX) return SIO_ENOMEM;
    const char *name = NULL;
    if (event && !(name = sio__intern_get(io->names, event))) return SIO_ENOMEM;
    sio__handlers *c = list_new(n + 1);
    if (!c) {
        sio__intern_put(io->names, name);
        return SIO_ENOMEM;
    }
    sio__handler nh = {name, fn, ud, (uint8_t)(once != 0)};
    if (n) memcpy(c->h + (prepend ? 1 : 0), old->h, n * sizeof(c->h[0]));
    c->h[prepend ? 0 : n] = nh;
    *list = intern(io, c);
    sio__intern_put(io->names, name);
    sio__handlers_unref(io, old);
    return 0;
}

static int matches(const sio__handler *h, const char *event, sio_event_cb fn, void *ud, int flags)
{
    if (flags & SIO__H_ANY ? h->event != NULL : !h->event || strcmp(h->event, event)) return 0;
    if (fn && h->fn != fn) return 0;
    if (flags & SIO__H_EXACT && (h->ud != ud || !h->once != !(flags & SIO__H_ONCE))) return 0;
    return 1;
}

int sio__handlers_remove(sio__io *io, sio__handlers **list, const char *event, sio_event_cb fn,
                         void *ud, int flags)
{
    sio__handlers *old = *list;
    if (!old) return 0;
    uint32_t keep = 0, first = UINT32_MAX;
    for (uint32_t i = 0; i < old->n; i++) {
        if (matches(&old->h[i], event, fn, ud, flags) &&
            (first == UINT32_MAX || !(flags & SIO__H_ONE))) {
            if (first == UINT32_MAX) first = i;
            continue;
        }
        keep++;
    }
    if (first == UINT32_MAX) return 0;
    sio__handlers *c = list_new(keep);
    if (!c) {
        if (old->refs > 1) return SIO_ENOMEM;
        /* Held by this socket alone: edit it in place. */
        unlink_list(io, old);
        c = old;
    }
    uint32_t j = 0, removed = 0;
    for (uint32_t i = 0; i < old->n; i++) {
        if (matches(&old->h[i], event, fn, ud, flags) && (!removed || !(flags & SIO__H_ONE))) {
            removed++;
            if (c == old) sio__intern_put(io->names, old->h[i].event);
            continue;
        }
        c->h[j++] = old->h[i];
    }
    if (c == old) {
        old->n = j;
        if (!j) {
            sio__free(old);
            *list = NULL;
        } else {
            link_list(io, old);
        }
        return 0;
    }
    c->n = j;
    *list = intern(io, c);
    sio__handlers_unref(io, old);
    return 0;
}

void sio__handlers_table_free(sio__io *io)
{
    sio__free(io->hbuckets);
    io->hbuckets = NULL;
    io->nhbuckets = io->nhlists = 0;
}
