/*
 * Interned strings: a chained hash table of refcounted entries, the string stored after its
 * header so a string pointer leads back to its entry. The table doubles when it holds as
 * many strings as buckets and never shrinks (it holds names an application registers, not
 * names from the wire).
 */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "base/intern.h"

typedef struct ent {
    struct ent *next;
    uint32_t hash;
    uint32_t refs;
    char s[];
} ent;

struct sio__intern {
    ent **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
};

#define MIN_BUCKETS 16

static ent *entry_of(const char *s)
{
    return (ent *)(void *)(s - offsetof(ent, s));
}

sio__intern *sio__intern_new(void)
{
    sio__intern *t = sio__calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->buckets = sio__calloc(MIN_BUCKETS, sizeof(*t->buckets));
    if (!t->buckets) {
        sio__free(t);
        return NULL;
    }
    t->nbuckets = MIN_BUCKETS;
    return t;
}

void sio__intern_free(sio__intern *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (ent *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            sio__free(e);
        }
    }
    sio__free(t->buckets);
    sio__free(t);
}

/* Doubling is best effort: when it cannot allocate, chains just get longer. */
static void grow(sio__intern *t)
{
    size_t n = t->nbuckets * 2;
    ent **b = sio__calloc(n, sizeof(*b));
    if (!b) return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (ent *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    sio__free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

const char *sio__intern_get(sio__intern *t, const char *s)
{
    size_t len;
    uint32_t h = sio__hash_str(s, &len);
    for (ent *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->next) {
        if (e->hash == h && !strcmp(e->s, s)) {
            if (e->refs == UINT32_MAX) return NULL;
            e->refs++;
            return e->s;
        }
    }
    ent *e = sio__malloc(sizeof(*e) + len + 1);
    if (!e) return NULL;
    memcpy(e->s, s, len + 1);
    e->hash = h;
    e->refs = 1;
    if (t->count >= t->nbuckets) grow(t);
    ent **head = &t->buckets[h & (t->nbuckets - 1)];
    e->next = *head;
    *head = e;
    t->count++;
    return e->s;
}

void sio__intern_ref(sio__intern *t, const char *s)
{
    (void)t;
    if (s) entry_of(s)->refs++;
}

void sio__intern_put(sio__intern *t, const char *s)
{
    if (!s) return;
    ent *e = entry_of(s);
    if (--e->refs) return;
    for (ent **pp = &t->buckets[e->hash & (t->nbuckets - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    t->count--;
    sio__free(e);
}

size_t sio__intern_count(const sio__intern *t)
{
    return t->count;
}
