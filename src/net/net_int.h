/* Internals shared by the network layer's files. */
#ifndef SIO_NET_NET_INT_H
#define SIO_NET_NET_INT_H

#include "net/net.h"

struct sio__net {
    uv_loop_t *loop;
    const sio__logger *log;
    uint8_t *slab;
    size_t slab_size;
    sio__list conns;   /* every open connection */
    sio__list pending; /* connections with output to flush this turn */
    size_t npending;
    size_t nconns;
    size_t conn_ext;
    uv_prepare_t prepare;
    uv_idle_t idle; /* active while the loop must not block: a deferred fan-out flush, or
                       busy polling */
    uint8_t read_seen, deferred;
    uint64_t busy_poll_ns; /* 0: off */
    uint64_t busy_until;   /* hrtime until which the loop polls without blocking; 0 off */
    uv_timer_t sweep;
    int handles;
    void (*empty_cb)(void *ud);
    void *empty_ud;
    uint32_t end_timeout_ms; /* an ending connection's output must progress this often */
    size_t max_conns;        /* 0: no bound */
    size_t refused;          /* connections refused since the last log line */
    uint64_t refused_log;    /* loop time of that line */
};

struct sio__tls {
    struct ssl_st *ssl;
    sio__tls_ctx *ctx;
    sio__conn *c;
    const uint8_t *in; /* ciphertext being fed to the SSL, during a read */
    size_t in_len;
    sio__wq out;          /* ciphertext waiting for the socket */
    uint64_t hs_deadline; /* loop time in ms; 0 once the handshake is done */
    unsigned hs_done : 1, notified : 1, peer_closed : 1;
};

sio__conn *sio__conn_accept(sio__net *net, uv_stream_t *server);
void sio__conn_flush(sio__conn *c);
/* Flush c with the loop turn's other pending connections. */
void sio__conn_mark_pending(sio__conn *c);
void sio__net_check_empty(sio__net *net);

/* Output rings. Each keeps c->queued up to date. */
sio__wq_ent *sio__wq_at(sio__wq *w, uint32_t i);
/* Queue len bytes of b from off; the caller's reference moves to the ring on success. */
int sio__wq_push(sio__conn *c, sio__wq *w, sio__bytes *b, uint32_t off, uint32_t len);
/* Queue a copy of p..p+n, appended to the tail block when it fits, else in a new block of
 * at least block bytes. 0 or SIO_ENOMEM. */
int sio__wq_append(sio__conn *c, sio__wq *w, const void *p, size_t n, size_t block);
/* Drop n bytes from the front. */
void sio__wq_consume(sio__conn *c, sio__wq *w, size_t n);
void sio__wq_release(sio__conn *c, sio__wq *w);

/* TLS on a connection (tls.c). */
/* Give c its TLS state; 0 or SIO_ENOMEM. */
int sio__tls_new(sio__conn *c, sio__tls_ctx *ctx);
void sio__tls_free(sio__conn *c);
/* Nonzero once the handshake is done and plaintext may be encrypted. */
static inline int sio__tls_ready(const sio__conn *c)
{
    return c->tls->hs_done && !c->tls->notified;
}
/* Feed received ciphertext: drive the handshake, deliver plaintext to on_read. */
void sio__tls_read(sio__conn *c, const uint8_t *data, size_t n);
/* Encrypt queued plaintext (a bounded batch) into the wire queue; 0 or a negative code. */
int sio__tls_encrypt(sio__conn *c);
/* Encrypt head and p, bypassing the plaintext queue (which must be empty). */
int sio__tls_encrypt_direct(sio__conn *c, const void *head, size_t hn, const void *p, size_t n);
/* Queue close_notify once; returns 1 when it was queued now, else 0. */
int sio__tls_close_notify(sio__conn *c);
/* The handshake deadline passed: log and close. */
void sio__tls_timeout(sio__conn *c);

#endif
