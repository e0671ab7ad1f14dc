/*
 * The Socket.IO layer's objects: the io (one per sio_server), clients (one per Engine.IO
 * session), namespaces and sockets (one per client and namespace). Shared by client.c,
 * namespace.c, socket.c and broadcast.c; the public face is the Socket.IO part of sio.h.
 */
#ifndef SIO_SIO_IO_H
#define SIO_SIO_IO_H

#include <jansson.h>

#include "adapter/adapter.h"
#include "base/buf.h"
#include "base/intern.h"
#include "base/list.h"
#include "base/log.h"
#include "eio/eio.h"
#include "sio/packet.h"
#include "sio.h"

typedef struct sio__io sio__io;
typedef struct sio__client sio__client;
typedef struct sio__recovery sio__recovery;
typedef struct sio__client_files sio__client_files;

typedef struct sio__handler {
    const char *event; /* interned in io->names; NULL: an any-handler */
    sio_event_cb fn;
    void *ud;
    uint8_t once;
} sio__handler;

/* An immutable, refcounted handler list shared by the sockets with equal handlers
 * (handlers.c). NULL is the empty list. */
typedef struct sio__handlers sio__handlers;

typedef struct sio__callback {
    void (*fn)(void);
    void *ud;
} sio__callback;

/* A server→client emit waiting for its ack. */
typedef struct sio__pending_ack {
    sio__list node;
    uint64_t id;
    uint64_t deadline; /* loop ms; 0: none */
    sio_ack_cb fn;
    void *ud;
    struct sio__bc_ack *group; /* set when part of a broadcast with ack */
} sio__pending_ack;

struct sio__io {
    sio_server *server;
    uv_loop_t *loop;
    const sio__logger *log;
    sio_io_options opt;
    sio__eio_server *eio;
    sio__client_files *client_files; /* serveClient */
    json_t *empty_auth;              /* the auth of every CONNECT without a payload */
    sio__intern *names;              /* handler event names, shared by all sockets */
    sio__handlers **hbuckets;        /* the handler lists in use */
    size_t nhbuckets, nhlists;
    sio__buf scratch; /* packet encoding, reused */
    sio__sp_options sp5, sp4;
    sio__list namespaces; /* static and dynamic children */
    sio__list matchers;   /* dynamic parents */
    sio__list clients;
    sio__list waiting; /* clients in no namespace yet, oldest first (connectTimeout) */
    sio__list acks;    /* sockets with a deadline-bound pending ack */
    uv_timer_t timer;
    uint32_t timer_ms;
    int closing;
    int handles;
};

struct sio__client {
    sio__io *io;
    sio__eio_socket *conn;
    sio__list node;      /* io->clients */
    sio__list wait_node; /* io->waiting while in no namespace */
    uint64_t connect_deadline;
    /* The stream decoder, made when a binary packet's attachments are awaited: the other
     * packets decode without state, and most clients never send binary. */
    sio__sp_decoder *dec;
    sio__list sockets; /* this client's sockets, one per namespace */
    int64_t issued;
    int busy;
    uint8_t version; /* Socket.IO protocol: 5, or 4 over EIO3 */
    uint8_t closed;
    uint8_t secure; /* the handshake request came over TLS */
    /* The handshake request, kept in strings[]: the url first, then at these offsets the
     * remote address, the raw query string, and nheaders headers (client.c). */
    uint32_t address, query, headers, nheaders;
    char strings[];
};

struct sio_namespace {
    sio__io *io;
    sio__list node; /* io->namespaces or io->matchers */
    char *name;
    sio__adapter *adapter;
    sio__recovery *recovery; /* connection state recovery, when on */
    sio__list sockets;
    size_t count;
    sio_namespace *parent; /* a dynamic child's parent */
    sio_namespace_match_cb match;
    void *match_ud;
    void *regex; /* regex_t for sio_of_pattern */
    struct sio__mw {
        sio_middleware_cb fn;
        void *ud;
    } * mws;
    size_t nmws;
    struct sio__conn_cb {
        sio_connection_cb fn;
        void *ud;
    } * conns;
    size_t nconns;
};

enum { SOCK_CONNECTING, SOCK_CONNECTED, SOCK_DISCONNECTED };

/* The most attachments one packet may carry whatever max_attachments says: the encoders'
 * room for them is on the stack. */
#define SIO__MAX_ATTACHMENTS 64
/* Namespace names are at most this long (sio_of() and clients alike). */
#define SIO__MAX_NSP_NAME 255

/* Socket ids and private session ids: 20 characters and a NUL. */
#define SIO__ID_SIZE 21

/* What few sockets use (connection state recovery, onAnyOutgoing), allocated when first
 * needed. */
typedef struct sio__socket_rare {
    json_t *restore_rooms; /* a recovered socket's rooms, joined on connect */
    json_t *missed;        /* and the events it missed, sent before its CONNECT reply */
    struct sio__out_cb {
        sio_outgoing_cb fn;
        void *ud;
    } * outs;
    size_t nouts;
} sio__socket_rare;

struct sio_socket {
    sio_namespace *nsp;
    sio__client *client;
    sio__member member; /* member.id is the id: 20 characters, "<nsp>#<engine id>" in v4 */
    sio__list client_node;
    sio__list nsp_node;
    sio__list ack_node; /* io->acks while an ack with a deadline waits */
    uint8_t state;
    uint8_t recovered;
    uint8_t closing;     /* in sio__socket_close: a nested close of it is a no-op */
    uint8_t has_ud : 1;  /* socket_ud_size is not 0 */
    uint8_t has_pid : 1; /* a private session id (recovery on) precedes the id */
    uint32_t busy;
    uint32_t nacks;         /* entries in acks (bounded by max_pending_acks) */
    uint32_t nkept;         /* events kept with sio_event_keep() (bounded by max_kept_events) */
    uint32_t ndiscs;        /* entries in discs */
    sio__socket_rare *rare; /* NULL until needed */
    struct sio_next *next;  /* the middleware step in progress */
    sio__handlers *handlers;
    struct sio__disc_cb {
        sio_disconnect_cb fn;
        void *ud;
        int before; /* disconnecting */
    } * discs;
    sio__list acks; /* sio__pending_ack */
    uint64_t next_ack;
    json_t *auth;
    json_t *data;
    max_align_t ud[]; /* socket_ud_size bytes, then the pid's storage (SIO__ID_SIZE), then the
                         id's */
};

/* The storage of the socket's id, and of its private session id (NULL without recovery). */
static inline char *sio__socket_id_buf(const sio_socket *s)
{
    return (char *)s->member.id;
}
static inline char *sio__socket_pid(const sio_socket *s)
{
    return s->has_pid ? (char *)s->member.id - SIO__ID_SIZE : NULL;
}
/* s's rare part, made when missing; NULL when out of memory. */
sio__socket_rare *sio__socket_rare_get(sio_socket *s);

struct sio_event {
    sio_socket *s;
    const char *name; /* in name_json, or in num for a number */
    json_t *name_json;
    json_t *args; /* the packet's array, without the name */
    uint64_t id;
    uint8_t has_id, acked, kept;
    int refs;
    char num[32];
};

/* handlers.c */
enum {
    SIO__H_ANY = 1,   /* any-handlers instead of an event's */
    SIO__H_ONE = 2,   /* remove the first match only */
    SIO__H_EXACT = 4, /* match ud and the once flag too */
    SIO__H_ONCE = 8,  /* with SIO__H_EXACT: the once flag to match */
};
/* Point *list at the list with one more handler, at the end or the front. */
int sio__handlers_add(sio__io *io, sio__handlers **list, const char *event, sio_event_cb fn,
                      void *ud, int once, int prepend);
/* Point *list at the list without the matching handlers (fn NULL matches every function).
 * SIO_ENOMEM leaves it unchanged. */
int sio__handlers_remove(sio__io *io, sio__handlers **list, const char *event, sio_event_cb fn,
                         void *ud, int flags);
sio__handlers *sio__handlers_ref(sio__handlers *l);
void sio__handlers_unref(sio__io *io, sio__handlers *l);
size_t sio__handlers_count(const sio__handlers *l);
const sio__handler *sio__handlers_at(const sio__handlers *l, size_t i);
/* Frees the table once every list is gone. */
void sio__handlers_table_free(sio__io *io);

/* client.c */
sio__io *sio__io_get(sio_server *server);
/* Send a packet to one client: encoded with the client's options. Events and acks are held
 * to the outbound bound (SIO_ECLOSED past it: the client is closing). */
int sio__client_send(sio__client *c, const sio__sp_packet *p);
/* The same for the packets a recovered socket missed: not held to the bound, which they
 * may pass together (they are bounded by the recovery window); later packets then are. */
int sio__client_send_missed(sio__client *c, const sio__sp_packet *p);
/* Send an already encoded packet (text and attachments as shared blocks); compress 0 keeps
 * it from being deflated (the compress(false) flag). frames, when
 * not NULL, caches the WebSocket frames of the text ([0]) and of each attachment ([1 + i]),
 * per Engine.IO version, across the recipients of one broadcast. */
int sio__client_send_encoded(sio__client *c, sio__bytes *text, sio__bytes *const *bins,
                             size_t nbins, sio__bytes *(*frames)[2], int compress);
void sio__client_close(sio__client *c, const char *reason);
void sio__client_socket_gone(sio__client *c, sio_socket *s);
/* The first of c's sockets that is not already being closed, or NULL. */
sio_socket *sio__client_open_socket(sio__client *c);
/* Undo a c->busy++ taken around calls that may close c: frees c if it closed meanwhile. */
void sio__client_release(sio__client *c);
const sio__sp_options *sio__client_sp(const sio__client *c);
/* The value of the handshake request's header name (any case), or NULL. */
const char *sio__client_header(const sio__client *c, const char *name);

/* namespace.c */
sio_namespace *sio__nsp_find(sio__io *io, const char *name, size_t len, const json_t *auth);
void sio__nsp_free(sio_namespace *nsp);
/* Start a socket's connection to nsp: middlewares, then connect. */
void sio__nsp_connect(sio_namespace *nsp, sio__client *c, json_t *auth);
/* A connecting socket went away during its middlewares: later answers are ignored. */
void sio__nsp_abandon(sio_socket *s);
/* Run the connection handlers of a socket that just connected. */
void sio__nsp_connected(sio_socket *s);

/* serve_client.c: routes for the browser client's files under path. */
sio__client_files *sio__client_files_new(sio_server *server, const char *path, const char *dir);
void sio__client_files_free(sio__client_files *cf);

/* recovery.c */
sio__recovery *sio__recovery_new(uint32_t max_ms);
void sio__recovery_free(sio__recovery *r);
/* Append an offset to data (an event array) and keep it with its rooms. */
int sio__recovery_keep(sio__recovery *r, uint64_t now, json_t *data, const char *const *rooms,
                       size_t nrooms, const char *const *except, size_t nexcept);
/* Keep the session of a socket that disconnects for a recoverable reason. */
void sio__recovery_persist(sio__recovery *r, uint64_t now, sio_socket *s, const char *reason);
/* Restore s from auth {pid, offset}: 1 when recovered (id, data, rooms and missed set). */
int sio__recovery_restore(sio__recovery *r, uint64_t now, sio_socket *s, const json_t *auth);

/* socket.c */
sio_socket *sio__socket_new(sio_namespace *nsp, sio__client *c, json_t *auth);
void sio__socket_connected(sio_socket *s);
void sio__socket_packet(sio_socket *s, sio__sp_packet *p);
/* Close: run disconnecting/disconnect with reason, leave every room, release. notify: send
 * DISCONNECT to the client. */
void sio__socket_close(sio_socket *s, const char *reason, int notify);
/* Call the onAnyOutgoing listeners. 0, or SIO_ECLOSED when one disconnected the socket,
 * which may then be freed. */
int sio__socket_outgoing(sio_socket *s, const char *event, json_t *args);
void sio__socket_release(sio_socket *s);
/* Join room, within max_rooms_per_socket: 0, SIO_ELIMIT (logged) or the adapter's error. */
int sio__socket_join(sio_socket *s, const char *room);
void sio__socket_expire_acks(sio_socket *s, uint64_t now);
/* Encode and send ev/args to one socket (socket.emit). */
int sio__socket_emit_json(sio_socket *s, const char *event, json_t *args, sio_ack_cb fn, void *ud,
                          uint32_t timeout_ms);
json_t *sio__vpack_args(const char *fmt, va_list ap);
int sio__reserved_event(const char *name);

#endif
