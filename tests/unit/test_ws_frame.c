/*
 * Tests for the WebSocket frame codec (src/ws/frame.c).
 *
 * Most protocol rules are exercised through the readable vectors in tests/vectors/ws/ (the
 * format is in tests/vectors/README.md): each vector is replayed whole, one byte per call,
 * split at every point, and (when short) split at every pair of points, and every replay
 * must give the same event log. Each chunk is copied against a guard page so an over-read
 * faults, and the one buffer is reused for every chunk so a parser that kept a pointer into
 * an earlier chunk would see it overwritten. The tests below the replay cover the builder
 * and what the vectors cannot express: zero-copy spans, pausing, buffer bounds, allocation
 * failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "sio.h"
#include "ws/frame.h"

#define VECTOR_DIR "tests/vectors/ws"

/* ------------------------------------------------------------------------------------ */
/* A growable string, the event log                                                     */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    char *s;
    size_t len, cap;
} strbuf;

static void sb_reserve(strbuf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) cap *= 2;
    b->s = realloc(b->s, cap);
    assert_non_null(b->s);
    b->cap = cap;
}

static void sb_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Render a payload as tests/vectors/README.md describes. */
static void sb_payload(strbuf *b, const uint8_t *d, size_t n)
{
    int printable = n > 0 && n <= 64;
    for (size_t i = 0; i < n && printable; i++)
        printable = d[i] >= 0x20 && d[i] < 0x7f && d[i] != '"' && d[i] != '\\';
    if (n == 0) {
        sb_printf(b, "\"\"");
    } else if (printable) {
        sb_printf(b, "\"%.*s\"", (int)n, (const char *)d);
    } else {
        int in_hex = 0;
        for (size_t i = 0; i < n;) {
            size_t run = 1;
            while (i + run < n && d[i + run] == d[i]) run++;
            if (run >= 8) {
                sb_printf(b, "%s%02x*%zu", i ? " " : "", d[i], run);
                in_hex = 0;
                i += run;
            } else {
                sb_printf(b, "%s%02x", i && !in_hex ? " " : "", d[i]);
                in_hex = 1;
                i++;
            }
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* Running the parser with an event log                                                 */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    strbuf log;
} logger;

static int log_message(void *ud, int op, const uint8_t *data, size_t len, int compressed)
{
    logger *lg = ud;
    assert_non_null(data);
    sb_printf(&lg->log, "message %s%s ", op == SIO_WS_OP_TEXT ? "text" : "binary",
              compressed ? " compressed" : "");
    sb_payload(&lg->log, data, len);
    sb_printf(&lg->log, "\n");
    return 0;
}

static int log_control(void *ud, int op, const uint8_t *data, size_t len)
{
    logger *lg = ud;
    assert_non_null(data);
    assert_true(len <= SIO_WS_MAX_CONTROL);
    if (op == SIO_WS_OP_CLOSE) {
        sb_printf(&lg->log, "close %u ", sio__ws_close_code(data, len));
        sb_payload(&lg->log, data + (len >= 2 ? 2 : len), len >= 2 ? len - 2 : 0);
    } else {
        sb_printf(&lg->log, "%s ", op == SIO_WS_OP_PING ? "ping" : "pong");
        sb_payload(&lg->log, data, len);
    }
    sb_printf(&lg->log, "\n");
    return 0;
}

static const sio__ws_events log_events = {log_message, log_control};

typedef struct {
    char name[160];
    char file[64];
    sio__ws_options opts;
    uint8_t *in;
    size_t n;
    strbuf expect;
} vector;

/* Feed v->in cut at cuts[0..ncuts) (ascending) and return the event log (caller frees). */
static char *replay(const vector *v, const size_t *cuts, size_t ncuts, guard *g)
{
    sio__ws_parser p;
    logger lg = {0};
    size_t from = 0;

    sio__ws_parser_init(&p, &v->opts);
    for (size_t c = 0; c <= ncuts; c++) {
        size_t to = c < ncuts ? cuts[c] : v->n;
        uint8_t *chunk = guard_put(g, v->in + from, to - from);
        ptrdiff_t r = sio__ws_parse(&p, chunk, to - from, &log_events, &lg);
        if (r < 0) {
            assert_int_equal(r, p.error);
            assert_non_null(p.reason);
            sb_printf(&lg.log, "error %s %u @%llu\n", sio_err_name((int)r), p.close_code,
                      (unsigned long long)p.offset);
            /* Sticky: any later call fails the same way and logs nothing. */
            size_t before = lg.log.len;
            uint8_t more[4] = {0x81, 0x80, 0, 0};
            assert_int_equal(sio__ws_parse(&p, more, sizeof more, &log_events, &lg), r);
            assert_int_equal(lg.log.len, before);
            break;
        }
        assert_int_equal((size_t)r, to - from);
        from = to;
    }
    sio__ws_parser_free(&p);
    assert_null(p.buf);
    sb_reserve(&lg.log, 0);
    lg.log.s[lg.log.len] = 0;
    return lg.log.s;
}

static void check_run(const vector *v, const char *mode, const size_t *cuts, size_t ncuts, guard *g)
{
    char *got = replay(v, cuts, ncuts, g);
    const char *want = v->expect.s ? v->expect.s : "";
    if (strcmp(got, want) != 0) {
        print_error("%s: \"%s\", %s", v->file, v->name, mode);
        for (size_t i = 0; i < ncuts; i++) print_error(" %zu", cuts[i]);
        print_error("\n--- expected\n%s--- got\n%s", want, got);
        free(got);
        fail();
    }
    free(got);
}

static void replay_all_ways(const vector *v)
{
    guard g;
    guard_init(&g, v->n);
    check_run(v, "whole", NULL, 0, &g);

    size_t *cuts = malloc((v->n + 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 1; i < v->n; i++) cuts[i - 1] = i;
    check_run(v, "byte by byte", cuts, v->n ? v->n - 1 : 0, &g);

    for (size_t i = 0; i <= v->n; i++) {
        /* Every split point of short inputs; for long ones, near the ends and a sample. */
        if (v->n > 1024 && i > 64 && i + 64 < v->n && i % 509) continue;
        check_run(v, "split at", &i, 1, &g);
    }
    if (v->n <= 48) {
        for (size_t i = 0; i <= v->n; i++)
            for (size_t j = i; j <= v->n; j++) {
                size_t two[2] = {i, j};
                check_run(v, "split at", two, 2, &g);
            }
    }
    free(cuts);
    guard_free(&g);
}

/* ------------------------------------------------------------------------------------ */
/* Reading vector files                                                                 */
/* ------------------------------------------------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void add_bytes(vector *v, const uint8_t *p, size_t n, size_t times)
{
    v->in = realloc(v->in, v->n + n * times + 1);
    assert_non_null(v->in);
    for (size_t t = 0; t < times; t++) {
        memcpy(v->in + v->n, p, n);
        v->n += n;
    }
}

static void parse_in_line(vector *v, const char *s, const char *where)
{
    while (*s) {
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) break;
        if (*s == '"') {
            const char *q = strchr(s + 1, '"');
            if (!q) fail_msg("%s: unterminated string", where);
            add_bytes(v, (const uint8_t *)s + 1, (size_t)(q - s - 1), 1);
            s = q + 1;
            continue;
        }
        uint8_t tok[4096];
        size_t n = 0;
        while (hexval(s[0]) >= 0) {
            if (hexval(s[1]) < 0) fail_msg("%s: odd number of hex digits", where);
            if (n == sizeof tok) fail_msg("%s: hex token too long", where);
            tok[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
            s += 2;
        }
        size_t times = 1;
        if (*s == '*') {
            char *end;
            times = strtoul(s + 1, &end, 10);
            s = end;
        }
        if (!n || (*s && *s != ' ' && *s != '\t')) fail_msg("%s: bad token near '%s'", where, s);
        add_bytes(v, tok, n, times);
    }
}

/* Load every vector of one file; returns how many. */
static size_t load_file(const char *path, const char *file, vector **out)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    vector *vs = NULL, *v = NULL;
    size_t count = 0, lineno = 0;
    char line[1 << 16];

    while (fgets(line, sizeof line, f)) {
        char where[256];
        size_t len = strlen(line);
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        snprintf(where, sizeof where, "%s:%zu", file, lineno);
        if (!len || line[0] == '#') continue;
        if (!strncmp(line, "=== ", 4)) {
            vs = realloc(vs, (count + 1) * sizeof *vs);
            assert_non_null(vs);
            v = &vs[count++];
            memset(v, 0, sizeof *v);
            snprintf(v->name, sizeof v->name, "%s", line + 4);
            snprintf(v->file, sizeof v->file, "%s", file);
            continue;
        }
        if (!v) fail_msg("%s: line outside a vector", where);
        if (!strcmp(line, "role server"))
            v->opts.role = SIO_WS_ROLE_SERVER;
        else if (!strcmp(line, "role client"))
            v->opts.role = SIO_WS_ROLE_CLIENT;
        else if (!strcmp(line, "rsv1"))
            v->opts.rsv1_allowed = 1;
        else if (!strncmp(line, "max ", 4))
            v->opts.max_message = strtoull(line + 4, NULL, 10);
        else if (!strncmp(line, "in ", 3))
            parse_in_line(v, line + 3, where);
        else
            sb_printf(&v->expect, "%s\n", line);
    }
    fclose(f);
    *out = vs;
    return count;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_vectors(void **state)
{
    DIR *d = opendir(VECTOR_DIR);
    if (!d) fail_msg("cannot open %s (run from the repository root)", VECTOR_DIR);
    char *names[64];
    size_t nfiles = 0, total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".txt") && nfiles < 64)
            names[nfiles++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nfiles, sizeof *names, cmp_str);
    for (size_t i = 0; i < nfiles; i++) {
        char path[512];
        vector *vs;
        snprintf(path, sizeof path, "%s/%s", VECTOR_DIR, names[i]);
        size_t n = load_file(path, names[i], &vs);
        for (size_t k = 0; k < n; k++) {
            replay_all_ways(&vs[k]);
            free(vs[k].in);
            free(vs[k].expect.s);
        }
        free(vs);
        free(names[i]);
        total += n;
    }
    print_message("replayed %zu vectors from %zu files\n", total, nfiles);
    assert_true(nfiles >= 4);
    assert_true(total >= 100);
}

/* ------------------------------------------------------------------------------------ */
/* Builder                                                                              */
/* ------------------------------------------------------------------------------------ */

static void test_header_size(void **state)
{
    static const struct {
        size_t len, plain;
    } cases[] = {{0, 2},     {1, 2},      {125, 2},      {126, 4},      {127, 4},
                 {65535, 4}, {65536, 10}, {1 << 20, 10}, {SIZE_MAX, 10}};
    uint8_t out[SIO_WS_MAX_HEADER];
    static const uint8_t key[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(sio__ws_header_size(cases[i].len, 0), cases[i].plain);
        assert_int_equal(sio__ws_header_size(cases[i].len, 1), cases[i].plain + 4);
        assert_int_equal(sio__ws_encode_header(out, 1, SIO_WS_OP_BINARY, 0, cases[i].len, NULL),
                         cases[i].plain);
        assert_int_equal(sio__ws_encode_header(out, 1, SIO_WS_OP_BINARY, 0, cases[i].len, key),
                         cases[i].plain + 4);
    }
}

static void test_encode_header_bytes(void **state)
{
    uint8_t out[SIO_WS_MAX_HEADER];
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n;

    /* RFC 6455 5.7 examples. */
    n = sio__ws_encode_header(out, 1, SIO_WS_OP_TEXT, 0, 5, NULL);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\x81\x05", 2);
    n = sio__ws_encode_header(out, 1, SIO_WS_OP_TEXT, 0, 5, key);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "\x81\x85\x37\xfa\x21\x3d", 6);
    n = sio__ws_encode_header(out, 1, SIO_WS_OP_BINARY, 0, 256, NULL);
    assert_memory_equal(out, "\x82\x7e\x01\x00", 4);
    n = sio__ws_encode_header(out, 1, SIO_WS_OP_BINARY, 0, 65536, NULL);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    n = sio__ws_encode_header(out, 1, SIO_WS_OP_BINARY, 0, 65535, key);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "\x82\xfe\xff\xff\x37\xfa\x21\x3d", 8);

    /* Flags: RSV1, no FIN, continuation; opcode is masked to 4 bits. */
    n = sio__ws_encode_header(out, 0, SIO_WS_OP_TEXT, 1, 0, NULL);
    assert_memory_equal(out, "\x41\x00", 2);
    n = sio__ws_encode_header(out, 1, SIO_WS_OP_CONT, 0, 125, NULL);
    assert_memory_equal(out, "\x80\x7d", 2);
    n = sio__ws_encode_header(out, 1, SIO_WS_OP_CLOSE, 0, 2, NULL);
    assert_memory_equal(out, "\x88\x02", 2);
}

static void ref_mask(uint8_t *p, size_t n, const uint8_t key[4], size_t offset)
{
    for (size_t i = 0; i < n; i++) p[i] ^= key[(offset + i) % 4];
}

static void test_mask_phase(void **state)
{
    static const uint8_t key[4] = {0xa1, 0xb2, 0xc3, 0xd4};
    uint8_t ref[100], a[100], b[104];
    for (size_t i = 0; i < sizeof ref; i++) ref[i] = (uint8_t)(i * 7 + 3);

    /* Every length from every phase, at every alignment, against a byte-wise mask. */
    for (size_t off = 0; off < 8; off++)
        for (size_t align = 0; align < 4; align++)
            for (size_t n = 0; n <= 40; n++) {
                memcpy(a, ref, n);
                memcpy(b + align, ref, n);
                ref_mask(a, n, key, off);
                sio__ws_mask(b + align, n, key, off);
                assert_memory_equal(a, b + align, n);
            }

    /* In pieces: every pair of split points equals masking in one go. */
    memcpy(a, ref, sizeof ref);
    sio__ws_mask(a, sizeof a, key, 0);
    for (size_t i = 0; i <= sizeof ref; i++)
        for (size_t j = i; j <= sizeof ref; j++) {
            memcpy(b, ref, sizeof ref);
            sio__ws_mask(b, i, key, 0);
            sio__ws_mask(b + i, j - i, key, i);
            sio__ws_mask(b + j, sizeof ref - j, key, j);
            assert_memory_equal(a, b, sizeof ref);
        }

    /* Masking twice restores; a zero key changes nothing. */
    sio__ws_mask(a, sizeof a, key, 0);
    assert_memory_equal(a, ref, sizeof ref);
    sio__ws_mask(a, sizeof a, (const uint8_t[4]){0}, 3);
    assert_memory_equal(a, ref, sizeof ref);
}

static void test_close_payload(void **state)
{
    uint8_t out[SIO_WS_MAX_CONTROL];
    char reason[400];
    size_t n;

    assert_int_equal(sio__ws_close_payload(out, 0, "ignored", 7), 0);
    n = sio__ws_close_payload(out, 1000, "bye", 3);
    assert_int_equal(n, 5);
    assert_memory_equal(out,
                        "\x03\xe8"
                        "bye",
                        5);
    n = sio__ws_close_payload(out, 4001, NULL, 10);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\x0f\xa1", 2);

    /* ASCII is cut at exactly 123 bytes. */
    memset(reason, 'x', 200);
    assert_int_equal(sio__ws_close_payload(out, 1001, reason, 200), 125);
    assert_int_equal(sio__ws_close_payload(out, 1001, reason, 123), 125);
    assert_int_equal(sio__ws_close_payload(out, 1001, reason, 122), 124);

    /* Multi-byte code points are never split: for each width and each alignment. */
    static const char *cps[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e"};
    for (size_t w = 0; w < 3; w++)
        for (size_t lead = 0; lead < 4; lead++) {
            size_t cpl = strlen(cps[w]), len = lead;
            memset(reason, 'a', lead);
            while (len + cpl < sizeof reason) {
                memcpy(reason + len, cps[w], cpl);
                len += cpl;
            }
            n = sio__ws_close_payload(out, 1000, reason, len);
            assert_true(n <= SIO_WS_MAX_CONTROL && n > SIO_WS_MAX_CONTROL - cpl);
            assert_true(sio__utf8_valid(out + 2, n - 2));
            assert_memory_equal(out + 2, reason, n - 2);
        }
}

static void test_close_codes(void **state)
{
    for (unsigned c = 0; c < 70000; c++) {
        int want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
        assert_int_equal(sio__ws_close_code_valid(c), want);
    }
    assert_int_equal(sio__ws_close_code(NULL, 0), 1005);
    assert_int_equal(sio__ws_close_code((const uint8_t *)"\x0b\xb8", 2), 3000);
}

/* ------------------------------------------------------------------------------------ */
/* Parser behaviour beyond the vectors                                                  */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    int messages, controls, pause;
    const uint8_t *last;
    size_t last_len;
    uint8_t copy[1 << 16];
} counter;

static int count_message(void *ud, int op, const uint8_t *data, size_t len, int compressed)
{
    counter *c = ud;
    c->messages++;
    c->last = data;
    c->last_len = len;
    if (len <= sizeof c->copy) memcpy(c->copy, data, len);
    return c->pause;
}

static int count_control(void *ud, int op, const uint8_t *data, size_t len)
{
    counter *c = ud;
    c->controls++;
    return c->pause;
}

static const sio__ws_events count_events = {count_message, count_control};

/* Build a frame into out; returns its size. Payload is masked when key is not NULL. */
static size_t build(uint8_t *out, int fin, int op, const void *payload, size_t len,
                    const uint8_t *key)
{
    size_t h = sio__ws_encode_header(out, fin, op, 0, len, key);
    if (len) memcpy(out + h, payload, len);
    if (key) sio__ws_mask(out + h, len, key, 0);
    return h + len;
}

static const uint8_t key1[4] = {0x12, 0x34, 0x56, 0x78};

static void test_roundtrip_lengths(void **state)
{
    static const size_t lens[] = {0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 70001};
    static uint8_t payload[70001], frame[70001 + SIO_WS_MAX_HEADER];
    counter *c = calloc(1, sizeof *c);
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 31 + (i >> 8));

    for (int role = 0; role < 2; role++)
        for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
            sio__ws_parser p;
            sio__ws_parser_init(&p, &(sio__ws_options){.role = role});
            size_t n = build(frame, 1, SIO_WS_OP_BINARY, payload, lens[k],
                             role == SIO_WS_ROLE_SERVER ? key1 : NULL);
            c->messages = 0;
            assert_int_equal(sio__ws_parse(&p, frame, n, &count_events, c), (ptrdiff_t)n);
            assert_int_equal(c->messages, 1);
            assert_int_equal(c->last_len, lens[k]);
            assert_memory_equal(c->last, payload, lens[k]);
            assert_int_equal(p.total, n);
            sio__ws_parser_free(&p);
        }
    free(c);
}

static void test_zero_copy(void **state)
{
    uint8_t buf[256];
    counter c = {0};
    sio__ws_parser p;
    size_t n = build(buf, 1, SIO_WS_OP_TEXT, "hello world", 11, key1);

    /* A whole frame in one chunk: the span is the input, unmasked in place. */
    sio__ws_parser_init(&p, NULL);
    assert_int_equal(sio__ws_parse(&p, buf, n, &count_events, &c), (ptrdiff_t)n);
    assert_ptr_equal(c.last, buf + 6);
    assert_memory_equal(buf + 6, "hello world", 11);
    assert_null(p.buf);

    /* Split inside the payload: reassembled in the parser's buffer, freed after delivery. */
    n = build(buf, 1, SIO_WS_OP_TEXT, "hello world", 11, key1);
    assert_int_equal(sio__ws_parse(&p, buf, 9, &count_events, &c), 9);
    assert_int_equal(c.messages, 1);
    assert_non_null(p.buf);
    assert_int_equal(sio__ws_parse(&p, buf + 9, n - 9, &count_events, &c), (ptrdiff_t)(n - 9));
    assert_int_equal(c.messages, 2);
    assert_true(c.last < buf || c.last >= buf + sizeof buf);
    assert_memory_equal(c.copy, "hello world", 11);
    assert_null(p.buf);

    /* Split inside the header only: still zero-copy. */
    n = build(buf, 1, SIO_WS_OP_TEXT, "hello world", 11, key1);
    assert_int_equal(sio__ws_parse(&p, buf, 3, &count_events, &c), 3);
    assert_int_equal(sio__ws_parse(&p, buf + 3, n - 3, &count_events, &c), (ptrdiff_t)(n - 3));
    assert_ptr_equal(c.last, buf + 6);
    sio__ws_parser_free(&p);
}

static void test_pause(void **state)
{
    uint8_t buf[256];
    counter c = {.pause = 1};
    sio__ws_parser p;
    size_t a = build(buf, 1, SIO_WS_OP_TEXT, "one", 3, key1);
    size_t b = build(buf + a, 1, SIO_WS_OP_PING, "p", 1, key1);
    size_t d = build(buf + a + b, 1, SIO_WS_OP_BINARY, "two", 3, key1);
    size_t n = a + b + d;

    sio__ws_parser_init(&p, NULL);
    assert_int_equal(sio__ws_parse(&p, buf, n, &count_events, &c), (ptrdiff_t)a);
    assert_int_equal(c.messages, 1);
    assert_int_equal(sio__ws_parse(&p, buf + a, n - a, &count_events, &c), (ptrdiff_t)b);
    assert_int_equal(c.controls, 1);
    c.pause = 0;
    assert_int_equal(sio__ws_parse(&p, buf + a + b, d, &count_events, &c), (ptrdiff_t)d);
    assert_int_equal(c.messages, 2);
    assert_memory_equal(c.copy, "two", 3);
    assert_int_equal(p.total, n);
    sio__ws_parser_free(&p);
}

static void test_close_ends_stream(void **state)
{
    uint8_t buf[64];
    counter c = {0};
    sio__ws_parser p;
    uint8_t payload[SIO_WS_MAX_CONTROL];
    size_t pl = sio__ws_close_payload(payload, 1000, "done", 4);
    size_t n = build(buf, 1, SIO_WS_OP_CLOSE, payload, pl, key1);
    memset(buf + n, 0xff, 10); /* garbage after the close */

    sio__ws_parser_init(&p, NULL);
    assert_false(sio__ws_parser_closed(&p));
    assert_int_equal(sio__ws_parse(&p, buf, n + 10, &count_events, &c), (ptrdiff_t)(n + 10));
    assert_int_equal(c.controls, 1);
    assert_true(sio__ws_parser_closed(&p));
    assert_int_equal(sio__ws_parse(&p, buf, 10, &count_events, &c), 10);
    assert_int_equal(c.controls, 1);
    sio__ws_parser_free(&p);
}

static void test_null_callbacks(void **state)
{
    uint8_t buf[64];
    sio__ws_parser p;
    size_t n = build(buf, 1, SIO_WS_OP_TEXT, "x", 1, key1);
    n += build(buf + n, 1, SIO_WS_OP_PING, "", 0, key1);
    sio__ws_parser_init(&p, NULL);
    assert_int_equal(sio__ws_parse(&p, buf, n, NULL, NULL), (ptrdiff_t)n);
    assert_int_equal(sio__ws_parse(&p, buf, 0, NULL, NULL), 0);
    sio__ws_parser_free(&p);
}

static void test_options(void **state)
{
    sio__ws_parser p;
    sio__ws_parser_init(&p, NULL);
    assert_int_equal(p.max_message, 100 * 1024 * 1024);
    assert_int_equal(p.role, SIO_WS_ROLE_SERVER);
    assert_int_equal(p.rsv1_allowed, 0);
    sio__ws_parser_init(&p, &(sio__ws_options){0});
    assert_int_equal(p.max_message, SIO_WS_DEFAULT_MAX_MESSAGE);
    sio__ws_parser_init(&p, &(sio__ws_options){.max_message = 7, .role = SIO_WS_ROLE_CLIENT});
    assert_int_equal(p.max_message, 7);
    assert_int_equal(p.role, SIO_WS_ROLE_CLIENT);
}

/* A peer that announces a large frame and stalls does not get it allocated. */
static void test_buffer_grows_with_data(void **state)
{
    uint8_t hdr[SIO_WS_MAX_HEADER + 16] = {0};
    counter *c = calloc(1, sizeof *c);
    sio__ws_parser p;
    size_t h = sio__ws_encode_header(hdr, 1, SIO_WS_OP_BINARY, 0, 50 << 20, key1);

    sio__ws_parser_init(&p, NULL);
    assert_int_equal(sio__ws_parse(&p, hdr, h + 16, &count_events, c), (ptrdiff_t)(h + 16));
    assert_true(p.buf_cap <= 4096);
    /* Mid-message: free releases it (the sanitizer checks for leaks). */
    sio__ws_parser_free(&p);
    assert_null(p.buf);

    /* Many small fragments reassemble into one message. */
    static uint8_t stream[300 * 16];
    size_t n = 0;
    for (int i = 0; i < 300; i++) {
        uint8_t piece[7];
        memset(piece, i & 0xff, sizeof piece);
        n += build(stream + n, i == 299, i ? SIO_WS_OP_CONT : SIO_WS_OP_BINARY, piece, 7, key1);
    }
    sio__ws_parser_init(&p, NULL);
    assert_int_equal(sio__ws_parse(&p, stream, n, &count_events, c), (ptrdiff_t)n);
    assert_int_equal(c->messages, 1);
    assert_int_equal(c->last_len, 2100);
    for (size_t i = 0; i < 2100; i++) assert_int_equal(c->copy[i], (i / 7) & 0xff);
    assert_null(p.buf);
    free(c);
}

static int fail_allocs;
static void *failing_realloc(void *ptr, size_t n)
{
    return fail_allocs ? NULL : realloc(ptr, n);
}
static void *failing_malloc(size_t n)
{
    return fail_allocs ? NULL : malloc(n);
}

static void test_out_of_memory(void **state)
{
    uint8_t buf[64];
    counter c = {0};
    sio__ws_parser p;
    size_t n = build(buf, 0, SIO_WS_OP_TEXT, "abc", 3, key1);

    assert_int_equal(sio_replace_allocator(failing_malloc, failing_realloc, calloc, free), 0);
    fail_allocs = 1;
    sio__ws_parser_init(&p, NULL);
    assert_int_equal(sio__ws_parse(&p, buf, n, &count_events, &c), SIO_ENOMEM);
    assert_int_equal(p.close_code, 1011);
    assert_int_equal(sio__ws_parse(&p, buf, n, &count_events, &c), SIO_ENOMEM);
    fail_allocs = 0;
    sio__ws_parser_free(&p);
    assert_int_equal(sio_replace_allocator(malloc, realloc, calloc, free), 0);

    /* A single-frame message in one chunk needs no allocation at all. */
    fail_allocs = 1;
    assert_int_equal(sio_replace_allocator(failing_malloc, failing_realloc, calloc, free), 0);
    sio__ws_parser_init(&p, NULL);
    n = build(buf, 1, SIO_WS_OP_TEXT, "abc", 3, key1);
    assert_int_equal(sio__ws_parse(&p, buf, n, &count_events, &c), (ptrdiff_t)n);
    assert_int_equal(c.messages, 1);
    fail_allocs = 0;
    assert_int_equal(sio_replace_allocator(malloc, realloc, calloc, free), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_header_size),
        cmocka_unit_test(test_encode_header_bytes),
        cmocka_unit_test(test_mask_phase),
        cmocka_unit_test(test_close_payload),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_roundtrip_lengths),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_pause),
        cmocka_unit_test(test_close_ends_stream),
        cmocka_unit_test(test_null_callbacks),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_buffer_grows_with_data),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
