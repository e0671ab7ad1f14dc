/*
 * The adapter: who is in which room, and which sockets a broadcast reaches. Mirrors
 * socket.io-adapter: one adapter per namespace, rooms are sets of socket ids, every socket
 * is in the room named by its id. The in-memory adapter (memory.c) is the default; a
 * cluster adapter (Redis) implements the same operations and forwards what it must.
 *
 * The adapter knows sockets only as members: the sio__member embedded in each socket,
 * which carries the socket id and the adapter's bookkeeping. It never includes the
 * Socket.IO layer's headers; matching members are handed back through callbacks.
 */
#ifndef SIO_ADAPTER_ADAPTER_H
#define SIO_ADAPTER_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/list.h"

typedef struct sio__adapter sio__adapter;
typedef struct sio__membership sio__membership;

/* The adapter's part of a socket. Zero it before sio__adapter_add(); the socket owns id,
 * which does not change while the member is added. */
typedef struct sio__member {
    const char *id;
    sio__list node;              /* every member of the adapter */
    sio__membership *rooms;      /* this member's rooms (adapter-owned) */
    struct sio__member *id_next; /* the adapter's members by id */
    uint32_t nrooms : 31;        /* rooms, its own included */
    uint32_t own : 1;            /* in the room named by its id (memory adapter) */
    uint32_t mark;               /* scratch for one selection */
} sio__member;

/* Which members an operation reaches: in any of rooms (none: every member), and in none
 * of except. Node's BroadcastOptions. */
typedef struct sio__adapter_sel {
    const char *const *rooms;
    size_t nrooms;
    const char *const *except;
    size_t nexcept;
    int local; /* this node only (no effect in memory) */
} sio__adapter_sel;

/* Called for each selected member; a nonzero return stops the walk. The callback may not
 * add or remove members or memberships of other members; it may change its own member's
 * rooms (socketsJoin/Leave) and may remove its own member (disconnectSockets). */
typedef int (*sio__adapter_each_cb)(sio__member *m, void *ud);
/* Called for each room of a member; nonzero stops. */
typedef int (*sio__adapter_room_cb)(const char *room, void *ud);

typedef struct sio__adapter_ops {
    /* Add m (joined to the room named by its id), join rooms, leave one, leave all (and
     * remove m). Joining a room m is in is a no-op. 0 or SIO_ENOMEM. */
    int (*add)(sio__adapter *a, sio__member *m);
    int (*join)(sio__adapter *a, sio__member *m, const char *room);
    void (*leave)(sio__adapter *a, sio__member *m, const char *room);
    void (*remove)(sio__adapter *a, sio__member *m);
    /* Walk the selected members, each once. Returns the number visited. */
    size_t (*each)(sio__adapter *a, const sio__adapter_sel *sel, sio__adapter_each_cb fn, void *ud);
    /* Membership queries. */
    int (*in_room)(const sio__adapter *a, const sio__member *m, const char *room);
    size_t (*room_size)(const sio__adapter *a, const char *room); /* 0 when no such room */
    void (*rooms_of)(const sio__adapter *a, const sio__member *m, sio__adapter_room_cb fn,
                     void *ud);
    /* Every room with at least one member. */
    void (*rooms)(const sio__adapter *a, sio__adapter_room_cb fn, void *ud);
    size_t (*count)(const sio__adapter *a); /* members */
    /* Free the adapter; it must have no members left. */
    void (*free)(sio__adapter *a);
} sio__adapter_ops;

struct sio__adapter {
    const sio__adapter_ops *ops;
};

/* The in-memory adapter. NULL on allocation failure. */
sio__adapter *sio__memory_adapter_new(void);

#endif
