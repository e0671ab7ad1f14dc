/*
 * The network layer: TCP listeners and connections on libuv, with the per-loop machinery
 * that makes many small connections cheap.
 *
 *  - sio__net is the per-loop context: one receive slab shared by every connection, one
 *    uv_prepare_t that flushes every connection with queued output once per loop turn,
 *    and one coarse timer that sweeps connection deadlines.
 *  - sio__conn is one TCP connection. Upper layers (HTTP, then WebSocket after an upgrade)
 *    take it over by installing their callback table; bytes they queue are written with a
 *    single writev per loop turn.
 */
#ifndef SIO_NET_NET_H
#define SIO_NET_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/list.h"
#include "base/log.h"

typedef struct sio__net sio__net;
typedef struct sio__conn sio__conn;
typedef struct sio__listener sio__listener;

/* A connection's callbacks. Every member may be NULL except on_close. */
typedef struct sio__conn_events {
    /* Bytes arrived. data is writable, borrowed and valid only during the call. */
    void (*on_read)(sio__conn *c, uint8_t *data, size_t n, void *ud);
    /* The peer closed its side (err = UV_EOF) or a read failed. NULL: close. */
    void (*on_eof)(sio__conn *c, int err, void *ud);
    /* The outbound queue became empty after sio__conn_want_drain(). */
    void (*on_drain)(sio__conn *c, void *ud);
    /* The deadline set with sio__conn_set_deadline() passed. NULL: close. */
    void (*on_timeout)(sio__conn *c, void *ud);
    /* Exactly once, after the socket is closed; c is freed when this returns. */
    void (*on_close)(sio__conn *c, void *ud);
} sio__conn_events;

typedef struct sio__wq_ent {
    sio__bytes *b;
    uint32_t off, len;
} sio__wq_ent;

/* A ring of queued output blocks. */
typedef struct sio__wq {
    sio__wq_ent *ents;
    uint32_t head, len, cap;
    sio__bytes *tail; /* the last block, when small writes may append to it */
} sio__wq;

/* A TLS context (certificate, key, settings) shared by a listener's connections. */
typedef struct sio__tls_ctx sio__tls_ctx;
/* A connection's TLS state; allocated only for connections of a TLS listener. */
typedef struct sio__tls sio__tls;

struct sio__conn {
    uv_tcp_t tcp;
    sio__net *net;
    const sio__conn_events *ev;
    void *ud;
    sio__list all_node;     /* in net->conns */
    sio__list pending_node; /* in net->pending while output waits for the flush */
    sio__wq q;              /* queued output (plaintext on a TLS connection) */
    sio__tls *tls;          /* NULL: plain TCP */
    size_t queued;          /* bytes queued, in flight included (and ciphertext, with TLS) */
    uint64_t deadline;      /* loop time in ms; 0: none */
    uint32_t inflight;      /* bytes handed to an outstanding uv_write */
    uint16_t closing : 1, ending : 1, shut : 1, reading : 1, want_drain : 1, writing : 1;
    uint16_t ext_size;
    _Alignas(8) unsigned char ext[];
};

/*
 * Room reserved after every accepted connection for the state of the protocol that may
 * take it over (WebSocket), so that state needs no allocation of its own: one block per
 * long-lived connection instead of two (uSockets' ext_size). Set before listening.
 */
void sio__net_set_conn_ext(sio__net *net, size_t ext_size);
/*
 * An ending connection (sio__conn_end) whose queued output makes no progress for this many
 * ms is closed: a peer that stops reading cannot hold it open forever. 0 means 30000.
 */
void sio__net_set_end_timeout(sio__net *net, uint32_t ms);
/* The reserved room of c (8-byte aligned: 16 would cost most connections a 16-byte heap
 * chunk of padding), or NULL when fewer than size bytes. */
void *sio__conn_ext(sio__conn *c, size_t size);

/* Per-loop context. */
sio__net *sio__net_new(uv_loop_t *loop, const sio__logger *log);
/* Node's server.maxConnections: past n open connections (0: no bound) a new one is
 * accepted and closed at once, with a log line at most once a second. */
void sio__net_set_max_conns(sio__net *net, size_t n);
/* Busy polling: after a loop turn that read input, the loop polls without blocking for us
 * microseconds before it may sleep again (each new read restarts the window), so input
 * arriving meanwhile is handled without waking the thread. 0 (the default) turns it off. */
void sio__net_set_busy_poll(sio__net *net, uint32_t us);
/* Close the context's handles; every connection must already be closed. The memory is
 * freed once libuv has released the handles (run the loop after this). */
void sio__net_free(sio__net *net);
uv_loop_t *sio__net_loop(sio__net *net);
const sio__logger *sio__net_log(sio__net *net);
/* Number of open connections. */
size_t sio__net_conn_count(sio__net *net);
/* Close every connection now. */
void sio__net_close_all(sio__net *net);
/* Call fn for every open connection; fn may close it. */
void sio__net_each_conn(sio__net *net, void (*fn)(sio__conn *c, void *ud), void *ud);
/* Call cb once, when the last open connection has closed (at once if none is open). */
void sio__net_on_empty(sio__net *net, void (*cb)(void *ud), void *ud);

/* Accepted connections are handed to on_accept, which must install a handler with
 * sio__conn_set_handler() or close the connection. */
typedef void (*sio__accept_cb)(sio__listener *l, sio__conn *c, void *ud);

/* Bind and listen; 0 or a negative code. *out receives the listener. */
int sio__listener_start(sio__net *net, const char *host, int port, sio__accept_cb cb, void *ud,
                        sio__listener **out);
/* Serve TLS with ctx on every connection the listener accepts from now on (a reference is
 * taken). on_accept sees such a connection at once; its on_read gets the decrypted bytes
 * once the handshake is done, and what it writes is encrypted at flush time. */
void sio__listener_set_tls(sio__listener *l, sio__tls_ctx *ctx);

/*
 * A TLS context from the certificate and key files of o (tls.c): NULL, with one log line
 * saying why, when a file cannot be read, the key does not match the certificate, an
 * option is invalid, or memory runs out. Refcounted: listeners and connections hold
 * references, so the creator may drop its own at any time.
 */
sio__tls_ctx *sio__tls_ctx_new(const sio_tls_options *o, const sio__logger *log);
sio__tls_ctx *sio__tls_ctx_ref(sio__tls_ctx *ctx);
void sio__tls_ctx_unref(sio__tls_ctx *ctx);
int sio__listener_port(const sio__listener *l);
/* Stop accepting and free the listener (asynchronously). */
void sio__listener_close(sio__listener *l);

void sio__conn_set_handler(sio__conn *c, const sio__conn_events *ev, void *ud);
/* Stop or resume reading (no on_read while stopped). */
void sio__conn_read_stop(sio__conn *c);
int sio__conn_read_start(sio__conn *c);

/* Queue len bytes of b from off (a reference is taken). 0 or SIO_ECLOSED. */
int sio__conn_write_bytes(sio__conn *c, sio__bytes *b, size_t off, size_t len);
/* Queue a copy of p..p+n, coalesced with earlier small writes. 0, SIO_ENOMEM, SIO_ECLOSED. */
int sio__conn_write(sio__conn *c, const void *p, size_t n);
/*
 * Write a header and a large payload now when nothing is queued, copying only what the
 * kernel does not take at once; otherwise queue copies of both. Saves copying big
 * messages that a healthy socket accepts directly. 0, SIO_ENOMEM or SIO_ECLOSED.
 */
int sio__conn_write_through(sio__conn *c, const void *head, size_t hn, const void *p, size_t n);
/* Bytes queued and not yet written. */
static inline size_t sio__conn_queued(const sio__conn *c)
{
    return c->queued;
}
/* Ask for one on_drain when the queue is next empty (at once if it is empty now). */
void sio__conn_want_drain(sio__conn *c);

/* Flush what is queued, send FIN, discard further input briefly, then close. */
void sio__conn_end(sio__conn *c);
/* Close now; queued output is dropped. on_close follows asynchronously. */
void sio__conn_close(sio__conn *c);
/* Deadline in ms from now (0 clears it), checked by the net sweep. */
void sio__conn_set_deadline(sio__conn *c, uint64_t ms_from_now);
/* The peer's address as text; 0 or a negative code. */
int sio__conn_peer(const sio__conn *c, char *out, size_t outlen);

#endif
