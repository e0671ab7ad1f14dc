/*
 * Intrusive circular doubly-linked lists, in the manner of libuv's queue.h: the node lives
 * inside the owning struct, so linking never allocates and unlinking is O(1).
 */
#ifndef SIO_BASE_LIST_H
#define SIO_BASE_LIST_H

#include <stddef.h>

typedef struct sio__list {
    struct sio__list *next, *prev;
} sio__list;

#define sio__container_of(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))

static inline void sio__list_init(sio__list *h)
{
    h->next = h->prev = h;
}

static inline int sio__list_empty(const sio__list *h)
{
    return h->next == h;
}

/* True when n is linked into some list (nodes are kept self-linked when detached). */
static inline int sio__list_linked(const sio__list *n)
{
    return n->next != n;
}

static inline void sio__list_push_back(sio__list *h, sio__list *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static inline void sio__list_remove(sio__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

#define sio__list_foreach_safe(pos, tmp, head)                                                     \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                               \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
