/*
 * TLS in the network layer over real loopback sockets, against an OpenSSL client in the
 * same loop (memory BIOs on a libuv TCP handle) that verifies the server's certificate:
 * many small writes leave as a few records, a large write-through arrives whole, received
 * bytes are decrypted and echoed, ending sends close_notify before the FIN, a client that
 * never starts its handshake is closed after the handshake timeout, and plain HTTP to the
 * TLS port is closed with one log line. The certificate is made here, and bad files, a
 * mismatched key and bad options are refused when the context is made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "net/net.h"
#include "net/net_int.h"

static char dir[] = "/tmp/sio-tls-unit-XXXXXX";
static char cert_path[64], key_path[64], other_key_path[64], junk_path[64];

/* ---- a self-signed certificate for 127.0.0.1 ---- */

static EVP_PKEY *write_key(const char *path)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    return k;
}

static int make_files(void **state)
{
    assert_non_null(mkdtemp(dir));
    snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
    snprintf(other_key_path, sizeof(other_key_path), "%s/other.pem", dir);
    snprintf(junk_path, sizeof(junk_path), "%s/junk.pem", dir);
    EVP_PKEY *k = write_key(key_path);
    EVP_PKEY_free(write_key(other_key_path));
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(junk_path, "w");
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
    return 0;
}

static int remove_files(void **state)
{
    unlink(cert_path);
    unlink(key_path);
    unlink(other_key_path);
    unlink(junk_path);
    rmdir(dir);
    return 0;
}

/* ---- the fixture: a TLS listener and one OpenSSL client ---- */

typedef struct fixture {
    uv_loop_t loop;
    sio__logger log;
    char logged[512];
    sio__net *net;
    sio__tls_ctx *ctx;
    sio__listener *l;
    sio__conn *server_conn;
    const char *scenario;
    int server_closed, server_reads, server_eofs;
    /* the client */
    uv_tcp_t tcp;
    uv_connect_t creq;
    SSL_CTX *cctx;
    SSL *ssl;
    BIO *rbio, *wbio;
    sio__buf received; /* decrypted */
    sio__buf sent;     /* what the client sent, for the echo */
    uint8_t hdr[5];    /* record header being read */
    size_t hdr_fill, rec_left;
    int app_records; /* records of type application_data (TLS 1.3: everything after hello) */
    int handshake_done, close_notify, client_eof;
    const char *first_write; /* raw bytes the client sends instead of a ClientHello */
} fixture;

static void log_cb(sio_log_level level, const char *line, void *ud)
{
    fixture *f = ud;
    size_t n = strlen(f->logged);
    snprintf(f->logged + n, sizeof(f->logged) - n, "%s\n", line);
}

static void srv_read(sio__conn *c, uint8_t *data, size_t n, void *ud)
{
    fixture *f = ud;
    f->server_reads++;
    if (!strcmp(f->scenario, "echo")) assert_int_equal(sio__conn_write(c, data, n), 0);
}

static void srv_eof(sio__conn *c, int err, void *ud)
{
    fixture *f = ud;
    f->server_eofs++;
    sio__conn_end(c);
}

static void srv_close(sio__conn *c, void *ud)
{
    fixture *f = ud;
    f->server_closed++;
    f->server_conn = NULL;
}

static const sio__conn_events srv_events = {
    .on_read = srv_read,
    .on_eof = srv_eof,
    .on_close = srv_close,
};

static void on_accept(sio__listener *l, sio__conn *c, void *ud)
{
    fixture *f = ud;
    f->server_conn = c;
    assert_non_null(c->tls);
    sio__conn_set_handler(c, &srv_events, f);
    assert_int_equal(sio__conn_read_start(c), 0);
    if (!strcmp(f->scenario, "small")) {
        /* Queued before the handshake: encrypted once it is done, in few records. */
        char line[32];
        for (int i = 0; i < 10000; i++) {
            int n = snprintf(line, sizeof(line), "%d,", i);
            assert_int_equal(sio__conn_write(c, line, (size_t)n), 0);
        }
        sio__conn_end(c);
    }
}

/* Send what the client's SSL produced. */
static void cl_flush(fixture *f)
{
    char buf[16384];
    int n;
    while ((n = BIO_read(f->wbio, buf, sizeof(buf))) > 0) {
        uv_buf_t b = uv_buf_init(buf, (unsigned)n);
        assert_int_equal(uv_try_write((uv_stream_t *)&f->tcp, &b, 1), n);
    }
}

/* Count records by their headers as they pass. */
static void count_records(fixture *f, const uint8_t *p, size_t n)
{
    while (n) {
        if (f->rec_left) {
            size_t k = n < f->rec_left ? n : f->rec_left;
            f->rec_left -= k, p += k, n -= k;
            continue;
        }
        f->hdr[f->hdr_fill++] = *p++, n--;
        if (f->hdr_fill == 5) {
            if (f->hdr[0] == 23) f->app_records++;
            f->rec_left = (size_t)f->hdr[3] << 8 | f->hdr[4];
            f->hdr_fill = 0;
        }
    }
}

static void cl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char slab[65536];
    buf->base = slab;
    buf->len = sizeof(slab);
}

static void cl_drive(fixture *f)
{
    if (!f->handshake_done) {
        int r = SSL_do_handshake(f->ssl);
        if (r == 1) {
            f->handshake_done = 1;
            assert_int_equal(SSL_get_verify_result(f->ssl), X509_V_OK);
            if (!strcmp(f->scenario, "echo")) {
                /* 200 KiB in pieces of many sizes. */
                for (size_t i = 0, n = 1; f->sent.len < 200 * 1024; i++, n = n * 3 % 9001 + 1) {
                    uint8_t piece[9002];
                    for (size_t j = 0; j < n; j++) piece[j] = (uint8_t)(i + j);
                    assert_int_equal(SSL_write(f->ssl, piece, (int)n), (int)n);
                    sio__buf_append(&f->sent, piece, n);
                }
            }
        } else {
            assert_int_equal(SSL_get_error(f->ssl, r), SSL_ERROR_WANT_READ);
        }
    }
    if (f->handshake_done) {
        uint8_t buf[16384];
        int r;
        while ((r = SSL_read(f->ssl, buf, sizeof(buf))) > 0)
            sio__buf_append(&f->received, buf, (size_t)r);
        int e = SSL_get_error(f->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN)
            f->close_notify = 1;
        else
            assert_int_equal(e, SSL_ERROR_WANT_READ);
        if (!strcmp(f->scenario, "echo") && f->received.len == f->sent.len && !f->close_notify)
            SSL_shutdown(f->ssl); /* the server answers the EOF by ending */
    }
    cl_flush(f);
}

static void cl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fixture *f = s->data;
    if (n > 0) {
        count_records(f, (const uint8_t *)buf->base, (size_t)n);
        BIO_write(f->rbio, buf->base, (int)n);
        if (!f->first_write) cl_drive(f);
    } else if (n < 0) {
        f->client_eof = 1;
        uv_close((uv_handle_t *)s, NULL);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    fixture *f = req->data;
    assert_int_equal(status, 0);
    f->tcp.data = f;
    uv_read_start((uv_stream_t *)&f->tcp, cl_alloc, cl_read);
    if (f->first_write) {
        if (*f->first_write) {
            uv_buf_t b = uv_buf_init((char *)f->first_write, (unsigned)strlen(f->first_write));
            uv_try_write((uv_stream_t *)&f->tcp, &b, 1);
        }
        return;
    }
    cl_drive(f);
}

static void run_scenario(fixture *f, const char *scenario, const sio_tls_options *opts)
{
    memset(f, 0, sizeof(*f));
    f->scenario = scenario;
    if (!strcmp(scenario, "silent")) f->first_write = "";
    if (!strcmp(scenario, "plain")) f->first_write = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->log = (sio__logger){.cb = log_cb, .ud = f, .level = SIO_LOG_INFO};
    f->net = sio__net_new(&f->loop, &f->log);
    assert_non_null(f->net);
    sio_tls_options o = {.cert_file = cert_path, .key_file = key_path};
    if (opts) o = *opts;
    f->ctx = sio__tls_ctx_new(&o, &f->log);
    assert_non_null(f->ctx);
    assert_int_equal(sio__listener_start(f->net, "127.0.0.1", 0, on_accept, f, &f->l), 0);
    sio__listener_set_tls(f->l, f->ctx);
    sio__tls_ctx_unref(f->ctx); /* the listener holds it now */

    f->cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(f->cctx, SSL_VERIFY_PEER, NULL);
    assert_int_equal(SSL_CTX_load_verify_locations(f->cctx, cert_path, NULL), 1);
    f->ssl = SSL_new(f->cctx);
    SSL_set1_host(f->ssl, "127.0.0.1");
    f->rbio = BIO_new(BIO_s_mem());
    f->wbio = BIO_new(BIO_s_mem());
    SSL_set_bio(f->ssl, f->rbio, f->wbio);
    SSL_set_connect_state(f->ssl);

    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", sio__listener_port(f->l), &sa);
    uv_tcp_init(&f->loop, &f->tcp);
    f->creq.data = f;
    uv_tcp_connect(&f->creq, &f->tcp, (struct sockaddr *)&sa, on_connect);
    for (int i = 0; i < 100000 && !f->client_eof; i++) uv_run(&f->loop, UV_RUN_ONCE);
    assert_true(f->client_eof);
    sio__listener_close(f->l);
    while (f->server_conn) uv_run(&f->loop, UV_RUN_ONCE);
    sio__net_free(f->net);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    SSL_free(f->ssl);
    SSL_CTX_free(f->cctx);
}

static void free_fixture(fixture *f)
{
    sio__buf_free(&f->received);
    sio__buf_free(&f->sent);
}

/* ---- tests ---- */

static void test_ctx_errors(void **state)
{
    sio__logger log = {.level = 0}; /* below SIO_LOG_ERROR: nothing printed */
    const sio_tls_options bad[] = {
        {.cert_file = cert_path},
        {.key_file = key_path},
        {.cert_file = "/nonexistent/cert.pem", .key_file = key_path},
        {.cert_file = junk_path, .key_file = key_path},
        {.cert_file = cert_path, .key_file = junk_path},
        {.cert_file = cert_path, .key_file = other_key_path},
        {.cert_file = cert_path, .key_file = key_path, .min_version = 11},
        {.cert_file = cert_path, .key_file = key_path, .ciphers = "NO-SUCH-CIPHER"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(sio__tls_ctx_new(&bad[i], &log));
    assert_int_equal(ERR_peek_error(), 0); /* nothing left behind for the next caller */
    sio_tls_options good = {
        .cert_file = cert_path, .key_file = key_path, .min_version = SIO_TLS_1_3};
    sio__tls_ctx *x = sio__tls_ctx_new(&good, &log);
    assert_non_null(x);
    sio__tls_ctx_unref(x);
}

static void test_small_writes_few_records(void **state)
{
    fixture f;
    run_scenario(&f, "small", NULL);
    sio__buf want = {0};
    char line[32];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(line, sizeof(line), "%d,", i);
        sio__buf_append(&want, line, (size_t)n);
    }
    assert_int_equal(f.received.len, want.len);
    assert_memory_equal(f.received.data, want.data, want.len);
    assert_true(f.close_notify);
    /* 48890 bytes in 16 KiB records: 3 of them, plus TLS 1.3's encrypted handshake
     * messages (4 with OpenSSL 3), 2 session tickets and the close_notify alert: 10 here,
     * and 10000 without batching. */
    assert_true(f.app_records <= 12);
    assert_int_equal(f.server_reads, 0);
    sio__buf_free(&want);
    free_fixture(&f);
}

static void test_echo(void **state)
{
    fixture f;
    run_scenario(&f, "echo", NULL);
    assert_int_equal(f.received.len, f.sent.len);
    assert_memory_equal(f.received.data, f.sent.data, f.sent.len);
    assert_true(f.server_reads > 0);
    assert_int_equal(f.server_eofs, 1); /* the client's close_notify */
    assert_true(f.close_notify);
    free_fixture(&f);
}

static void test_handshake_timeout(void **state)
{
    fixture f;
    sio_tls_options o = {.cert_file = cert_path, .key_file = key_path, .handshake_timeout_ms = 300};
    run_scenario(&f, "silent", &o);
    assert_int_equal(f.server_closed, 1);
    assert_int_equal(f.server_reads, 0);
    assert_non_null(strstr(f.logged, "127.0.0.1: TLS handshake timed out"));
    free_fixture(&f);
}

static void test_plain_http_refused(void **state)
{
    fixture f;
    run_scenario(&f, "plain", NULL);
    assert_int_equal(f.server_closed, 1);
    assert_int_equal(f.server_reads, 0);
    assert_non_null(strstr(f.logged, "127.0.0.1: TLS handshake failed: http request"));
    assert_null(strchr(strchr(f.logged, '\n') + 1, '\n')); /* one line */
    free_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_errors),
        cmocka_unit_test(test_small_writes_few_records),
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_plain_http_refused),
    };
    return cmocka_run_group_tests(tests, make_files, remove_files);
}
