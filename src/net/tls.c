/*
 * TLS on server connections, with OpenSSL over a custom BIO instead of a socket.
 *
 * The SSL object never touches the socket. Its BIO reads from the span of ciphertext that
 * the current read delivered (libuv's shared receive slab, so no copy of ours), and writes
 * into the connection's wire queue, the ring of blocks the net layer writes with one
 * writev per loop turn. OpenSSL's memory BIO would do the same with two more buffers per
 * connection that keep their peak size while the connection idles.
 *
 * What the upper layers queue stays plaintext until the flush. There the queue is
 * encrypted in batches: small messages are gathered into one record of up to 16 KiB, so a
 * burst of messages costs a few records, not one record (and 22 bytes of overhead) each.
 * Plaintext is encrypted only once the previous ciphertext has left for the kernel, which
 * keeps a slow reader's ciphertext to one batch and leaves broadcast frames shared until
 * then. Large messages written through (sio__conn_write_through) are encrypted from the
 * caller's memory at once when nothing else waits.
 *
 * The handshake is driven by the reads; a connection that has not finished it within the
 * handshake timeout is closed by the net layer's deadline sweep, and a failed handshake
 * (plain HTTP to the TLS port, an old protocol version, garbage) closes the connection
 * with one log line. Upper layers see none of this: they get plaintext, or an EOF.
 *
 * Defaults follow Mozilla's "intermediate" profile: TLS 1.2 and 1.3, ECDHE with AEAD
 * ciphers for 1.2, no compression, no renegotiation, the server's cipher order. Sessions
 * resume through stateless tickets; OpenSSL's server-side session cache is off (as in
 * Node), so memory does not grow with the number of clients ever seen. Buffers are
 * released while a connection idles (SSL_MODE_RELEASE_BUFFERS).
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "base/alloc.h"
#include "net/net_int.h"

#define RECORD_MAX        16384
#define ENCRYPT_BATCH     (256 * 1024) /* plaintext encrypted per flush step */
#define OUT_BLOCK         (RECORD_MAX + 512)
#define PLAIN_BUF         (64 * 1024) /* decrypted bytes handed to on_read at once */
#define HANDSHAKE_TIMEOUT 10000

#define DEFAULT_CIPHERS                                                                            \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct sio__tls_ctx {
    SSL_CTX *ssl;
    BIO_METHOD *bio;
    const sio__logger *log;
    uint32_t handshake_timeout_ms;
    uint32_t refs;
    uint8_t *plain; /* PLAIN_BUF bytes, shared by every connection of the context */
};

/* ---- the BIO: reads from the current span, writes to the wire queue ---- */

static int bio_write(BIO *b, const char *data, size_t n, size_t *written)
{
    sio__tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (sio__wq_append(t->c, &t->out, data, n, OUT_BLOCK)) return 0;
    *written = n;
    return 1;
}

static int bio_read(BIO *b, char *data, size_t n, size_t *got)
{
    sio__tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!t->in_len) {
        BIO_set_retry_read(b);
        return 0;
    }
    if (n > t->in_len) n = t->in_len;
    memcpy(data, t->in, n);
    t->in += n;
    t->in_len -= n;
    *got = n;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* ---- the context ---- */

/* The first error OpenSSL queued, as text (and the queue emptied). */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    if (!e) {
        snprintf(buf, len, "unknown error");
    } else if (ERR_SYSTEM_ERROR(e)) {
        snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
    } else {
        const char *r = ERR_reason_error_string(e);
        if (r)
            snprintf(buf, len, "%s", r);
        else
            ERR_error_string_n(e, buf, len);
    }
    ERR_clear_error();
    return buf;
}

/* ALPN: HTTP/1.1 is what this server speaks. A client that offers protocols but not that
 * one could not talk to us anyway, and is refused during the handshake (as Node does). */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char http11[] = "\x08http/1.1";
    (void)ssl, (void)arg;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, http11, sizeof(http11) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

sio__tls_ctx *sio__tls_ctx_new(const sio_tls_options *o, const sio__logger *log)
{
    char why[256];
    if (!o || !o->cert_file || !o->key_file) {
        sio__log_error(log, "tls: a certificate and a key file are both needed");
        return NULL;
    }
    if (o->min_version && o->min_version != SIO_TLS_1_2 && o->min_version != SIO_TLS_1_3) {
        sio__log_error(log, "tls: min_version %d: not 12 or 13", o->min_version);
        return NULL;
    }
    sio__tls_ctx *x = sio__calloc(1, sizeof(*x));
    if (!x) return NULL;
    x->refs = 1;
    x->log = log;
    x->handshake_timeout_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : HANDSHAKE_TIMEOUT;
    ERR_clear_error();
    x->ssl = SSL_CTX_new(TLS_server_method());
    x->bio = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sio");
    x->plain = sio__malloc(PLAIN_BUF);
    if (!x->ssl || !x->bio || !x->plain) {
        sio__log_error(log, "tls: %s", ssl_reason(why, sizeof(why)));
        goto fail;
    }
    BIO_meth_set_write_ex(x->bio, bio_write);
    BIO_meth_set_read_ex(x->bio, bio_read);
    BIO_meth_set_ctrl(x->bio, bio_ctrl);

    SSL_CTX *ctx = x->ssl;
    SSL_CTX_set_min_proto_version(ctx,
                                  o->min_version == SIO_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_dh_auto(ctx, 1);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    if (!SSL_CTX_set_cipher_list(ctx, o->ciphers ? o->ciphers : DEFAULT_CIPHERS)) {
        sio__log_error(log, "tls: ciphers \"%s\": %s", o->ciphers ? o->ciphers : DEFAULT_CIPHERS,
                       ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
        sio__log_error(log, "tls: certificate %s: %s", o->cert_file, ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1) {
        int mismatch = ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_X509 &&
                       (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH ||
                        ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_TYPE_MISMATCH);
        if (mismatch)
            sio__log_error(log, "tls: key %s does not match certificate %s: %s", o->key_file,
                           o->cert_file, ssl_reason(why, sizeof(why)));
        else
            sio__log_error(log, "tls: key %s: %s", o->key_file, ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        sio__log_error(log, "tls: key %s does not match certificate %s: %s", o->key_file,
                       o->cert_file, ssl_reason(why, sizeof(why)));
        goto fail;
    }
    return x;
fail:
    ERR_clear_error();
    x->refs = 1;
    sio__tls_ctx_unref(x);
    return NULL;
}

sio__tls_ctx *sio__tls_ctx_ref(sio__tls_ctx *x)
{
    x->refs++;
    return x;
}

void sio__tls_ctx_unref(sio__tls_ctx *x)
{
    if (!x || --x->refs) return;
    SSL_CTX_free(x->ssl);
    BIO_meth_free(x->bio);
    sio__free(x->plain);
    sio__free(x);
}

/* ---- a connection ---- */

int sio__tls_new(sio__conn *c, sio__tls_ctx *ctx)
{
    sio__tls *t = sio__calloc(1, sizeof(*t));
    if (!t) return SIO_ENOMEM;
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl);
    BIO *b = t->ssl ? BIO_new(ctx->bio) : NULL;
    if (!b) {
        SSL_free(t->ssl);
        sio__free(t);
        ERR_clear_error();
        return SIO_ENOMEM;
    }
    BIO_set_data(b, t);
    BIO_set_init(b, 1);
    SSL_set_bio(t->ssl, b, b); /* one reference, for both directions */
    SSL_set_accept_state(t->ssl);
    t->ctx = sio__tls_ctx_ref(ctx);
    t->c = c;
    t->hs_deadline = uv_now(c->net->loop) + ctx->handshake_timeout_ms;
    c->tls = t;
    return 0;
}

void sio__tls_free(sio__conn *c)
{
    sio__tls *t = c->tls;
    sio__wq_release(c, &t->out);
    SSL_free(t->ssl);
    sio__tls_ctx_unref(t->ctx);
    sio__free(t);
    c->tls = NULL;
}

/* The connection cannot go on: one log line, then the alert OpenSSL queued (if any) is
 * sent before a graceful close, so the peer learns why; nothing more is read or written. */
static void fail(sio__conn *c, const char *what)
{
    sio__tls *t = c->tls;
    char peer[64], why[256];
    if (sio__conn_peer(c, peer, sizeof(peer))) strcpy(peer, "?");
    sio__log_info(c->net->log, "%s: TLS %s: %s", peer, what, ssl_reason(why, sizeof(why)));
    t->hs_deadline = 0;
    t->peer_closed = 1;
    t->in_len = 0;
    if (!t->out.len) {
        sio__conn_close(c);
        return;
    }
    sio__wq_release(c, &c->q);
    t->notified = 1;
    c->ending = 1;
    c->want_drain = 0;
    sio__conn_mark_pending(c);
}

void sio__tls_timeout(sio__conn *c)
{
    char peer[64];
    if (sio__conn_peer(c, peer, sizeof(peer))) strcpy(peer, "?");
    sio__log_info(c->net->log, "%s: TLS handshake timed out", peer);
    sio__conn_close(c);
}

static void deliver(sio__conn *c, uint8_t *p, size_t n)
{
    if (n && !c->closing && !c->ending && c->ev && c->ev->on_read) c->ev->on_read(c, p, n, c->ud);
}

void sio__tls_read(sio__conn *c, const uint8_t *data, size_t n)
{
    sio__tls *t = c->tls;
    if (t->peer_closed) return;
    t->in = data;
    t->in_len = n;
    if (!t->hs_done) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            int e = SSL_get_error(t->ssl, r);
            if (e != SSL_ERROR_WANT_READ) {
                fail(c, "handshake failed");
                return;
            }
            t->in_len = 0;
            if (t->out.len) sio__conn_mark_pending(c);
            return;
        }
        t->hs_done = 1;
        t->hs_deadline = 0;
        if (t->out.len || c->q.len) sio__conn_mark_pending(c);
    }
    /* Decrypt into the context's buffer and deliver it in chunks of up to PLAIN_BUF. The
     * reader may close or end the connection, or hand it to another handler, meanwhile. */
    uint8_t *plain = t->ctx->plain;
    size_t fill = 0;
    for (;;) {
        size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(t->ssl, plain + fill, PLAIN_BUF - fill, &got);
        if (r == 1) {
            fill += got;
            if (fill < PLAIN_BUF) continue;
            deliver(c, plain, fill);
            fill = 0;
            if (c->closing || c->ending) break;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        deliver(c, plain, fill);
        if (c->closing) return;
        if (e == SSL_ERROR_WANT_READ) break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            /* close_notify: the peer is done sending; to the reader it is an EOF. */
            t->peer_closed = 1;
            sio__conn_read_stop(c);
            if (c->ending || !c->ev || !c->ev->on_eof)
                sio__conn_close(c);
            else
                c->ev->on_eof(c, UV_EOF, c->ud);
            return;
        }
        fail(c, "read failed");
        return;
    }
    t->in_len = 0;
    /* Post-handshake messages (session tickets, key updates) are output of reading. */
    if (t->out.len) sio__conn_mark_pending(c);
}

static int ssl_write(sio__conn *c, const void *p, size_t n)
{
    size_t done;
    ERR_clear_error();
    if (SSL_write_ex(c->tls->ssl, p, n, &done) != 1 || done != n) {
        char why[256];
        sio__log_debug(c->net->log, "TLS write failed: %s", ssl_reason(why, sizeof(why)));
        return SIO_EPROTO;
    }
    return 0;
}

int sio__tls_encrypt(sio__conn *c)
{
    uint8_t stage[RECORD_MAX];
    size_t budget = ENCRYPT_BATCH;
    while (c->q.len && budget) {
        sio__wq_ent *e = sio__wq_at(&c->q, 0);
        if (e->len >= RECORD_MAX) {
            /* Whole records straight from the block. */
            size_t n = e->len < budget ? e->len : budget;
            if (n > RECORD_MAX) n -= n % RECORD_MAX;
            if (ssl_write(c, e->b->data + e->off, n)) return SIO_EPROTO;
            sio__wq_consume(c, &c->q, n);
            budget = n < budget ? budget - n : 0;
            continue;
        }
        /* Gather small entries into one record. */
        size_t fill = 0;
        while (c->q.len && fill < RECORD_MAX) {
            e = sio__wq_at(&c->q, 0);
            size_t n = e->len < RECORD_MAX - fill ? e->len : RECORD_MAX - fill;
            memcpy(stage + fill, e->b->data + e->off, n);
            fill += n;
            sio__wq_consume(c, &c->q, n);
        }
        if (ssl_write(c, stage, fill)) return SIO_EPROTO;
        budget = fill < budget ? budget - fill : 0;
    }
    return 0;
}

int sio__tls_encrypt_direct(sio__conn *c, const void *head, size_t hn, const void *p, size_t n)
{
    uint8_t stage[RECORD_MAX];
    if (hn >= RECORD_MAX) return ssl_write(c, head, hn) || ssl_write(c, p, n) ? SIO_EPROTO : 0;
    /* The header rides in the first record with the start of the payload. */
    size_t first = n < RECORD_MAX - hn ? n : RECORD_MAX - hn;
    memcpy(stage, head, hn);
    memcpy(stage + hn, p, first);
    if (ssl_write(c, stage, hn + first)) return SIO_EPROTO;
    return first < n ? ssl_write(c, (const uint8_t *)p + first, n - first) : 0;
}

int sio__tls_close_notify(sio__conn *c)
{
    sio__tls *t = c->tls;
    if (t->notified || !t->hs_done) return 0;
    t->notified = 1;
    ERR_clear_error();
    SSL_shutdown(t->ssl);
    ERR_clear_error();
    return t->out.len > 0;
}
