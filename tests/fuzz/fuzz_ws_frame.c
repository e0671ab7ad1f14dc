/*
 * libFuzzer target for the WebSocket frame parser (src/ws/frame.c).
 *
 * Input layout: byte 0 picks the options (bit 0: client role; bit 1: rsv1_allowed; bits
 * 2-3: max_message of default, 16, 125 or 70000 bytes), bytes 1-2 pick a split point, and
 * the rest is the stream. The stream is parsed three ways: whole, in two chunks cut at the
 * split point, and (when short) one byte per call. All three must produce the same digest
 * of events and the same outcome (error code, close code, offset), which checks that the
 * parser resumes at any byte boundary. Events are also checked against the contract: sizes
 * within the limits, uncompressed text valid UTF-8, close codes valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws/frame.h"
#include "ws/utf8.h"

typedef struct {
    uint64_t digest;
    size_t events;
    size_t max_message;
} run;

static void mix(run *r, uint64_t v)
{
    r->digest = (r->digest ^ v) * 0x100000001b3ull;
}

static void mix_bytes(run *r, const uint8_t *p, size_t n)
{
    mix(r, n);
    for (size_t i = 0; i < n; i++) mix(r, p[i]);
}

static int on_message(void *ud, int op, const uint8_t *data, size_t len, int compressed)
{
    run *r = ud;
    if (!data || len > r->max_message) abort();
    if (op != SIO_WS_OP_TEXT && op != SIO_WS_OP_BINARY) abort();
    if (op == SIO_WS_OP_TEXT && !compressed && !sio__utf8_valid(data, len)) abort();
    r->events++;
    mix(r, (uint64_t)op << 1 | (compressed != 0));
    mix_bytes(r, data, len);
    return 0;
}

static int on_control(void *ud, int op, const uint8_t *data, size_t len)
{
    run *r = ud;
    if (!data || len > SIO_WS_MAX_CONTROL) abort();
    if (op == SIO_WS_OP_CLOSE) {
        if (len == 1) abort();
        if (len >= 2 && !sio__ws_close_code_valid(sio__ws_close_code(data, len))) abort();
    } else if (op != SIO_WS_OP_PING && op != SIO_WS_OP_PONG) {
        abort();
    }
    r->events++;
    mix(r, (uint64_t)op << 8);
    mix_bytes(r, data, len);
    return 0;
}

static const sio__ws_events events = {on_message, on_control};

/* Parse data cut into pieces of `step` bytes (0: at `cut` only); returns the digest. */
static uint64_t parse(const sio__ws_options *opts, const uint8_t *data, size_t n, size_t cut,
                      size_t step)
{
    sio__ws_parser p;
    run r = {.digest = 0xcbf29ce484222325ull, .max_message = opts->max_message};
    uint8_t *copy = malloc(n ? n : 1);
    size_t from = 0;
    ptrdiff_t rc = 0;

    if (!copy) abort();
    memcpy(copy, data, n);
    if (!r.max_message) r.max_message = SIO_WS_DEFAULT_MAX_MESSAGE;
    sio__ws_parser_init(&p, opts);
    while (from < n || (from == 0 && n == 0)) {
        size_t to = step ? from + step : (from < cut ? cut : n);
        if (to > n) to = n;
        /* A fresh allocation per chunk, so ASan sees reads past its end. */
        uint8_t *chunk = malloc(to - from ? to - from : 1);
        if (!chunk) abort();
        memcpy(chunk, copy + from, to - from);
        rc = sio__ws_parse(&p, chunk, to - from, &events, &r);
        free(chunk);
        if (rc < 0) break;
        if ((size_t)rc != to - from) abort();
        from = to;
        if (n == 0) break;
    }
    if (rc < 0) {
        if (rc != p.error || !p.reason) abort();
        if (p.close_code != 1002 && p.close_code != 1007 && p.close_code != 1009 &&
            p.close_code != 1011)
            abort();
        if (p.offset >= n) abort();
        mix(&r, (uint64_t)-rc);
        mix(&r, p.close_code);
        mix(&r, p.offset);
    } else if (p.total != n) {
        abort();
    }
    mix(&r, r.events);
    mix(&r, (uint64_t)sio__ws_parser_closed(&p));
    sio__ws_parser_free(&p);
    free(copy);
    return r.digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t maxes[4] = {0, 16, 125, 70000};
    if (size < 3) return 0;
    sio__ws_options opts = {
        .role = data[0] & 1 ? SIO_WS_ROLE_CLIENT : SIO_WS_ROLE_SERVER,
        .rsv1_allowed = (data[0] >> 1) & 1,
        .max_message = maxes[(data[0] >> 2) & 3],
    };
    size_t split = (size_t)(data[1] | data[2] << 8);
    data += 3;
    size -= 3;
    split = size ? split % (size + 1) : 0;

    uint64_t whole = parse(&opts, data, size, size, 0);
    if (parse(&opts, data, size, split, 0) != whole) abort();
    if (size <= 512 && parse(&opts, data, size, 0, 1) != whole) abort();
    return 0;
}
