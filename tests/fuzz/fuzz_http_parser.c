/*
 * Fuzz the HTTP request codec (llhttp and libsio's glue): arbitrary bytes, fed whole and
 * split at a point the input chooses, with pipelined requests parsed one after another.
 * Both feeds must agree on how many requests were parsed and on every path.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/http.h"

static int on_body(sio_http_req *req, const uint8_t *p, size_t n, void *ud)
{
    sio_http_req *r = req;
    return sio__buf_append(&r->body, p, n) || r->body.len > 65536 ? 413 : 0;
}

static const sio__http_parser_events events = {.on_body = on_body};

/* Parse everything; return a hash over what was parsed. */
static uint64_t run(const uint8_t *data, size_t size, size_t cut, uint32_t max_head)
{
    sio_http_req req;
    sio__http_parser p;
    sio__http_req_init(&req);
    sio__http_parser_init(&p, &req, max_head, &events, NULL);
    uint64_t h = 1469598103934665603ull;
    size_t off = 0, limit = cut;
    int requests = 0;
    while (off < size && requests < 64) {
        size_t end = off < limit ? limit : size;
        ptrdiff_t r = sio__http_parser_execute(&p, data + off, end - off);
        if (r < 0) {
            h = h * 31 + (uint64_t)p.status;
            break;
        }
        off += (size_t)r;
        if (p.complete) {
            requests++;
            const char *path = sio_http_req_path(&req);
            for (const char *s = path; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
            /* Accessors must be safe on anything the parser accepted. */
            (void)sio_http_req_header(&req, "host");
            (void)sio_http_req_query(&req);
            h = h * 31 + req.body.len;
            if (req.upgrade) break;
            sio__http_parser_next(&p);
        } else if (off < end) {
            break;
        }
    }
    sio__http_req_free(&req);
    return h * 31 + (uint64_t)requests;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint32_t max_head = 64u + data[0] * 64u;
    size_t cut = data[1] % (size - 1);
    data += 2;
    size -= 2;
    uint64_t whole = run(data, size, size, max_head);
    uint64_t split = run(data, size, cut, max_head);
    /* The head limit also counts raw bytes of unfinished heads, which depends on where reads
     * end, so only inputs far from the limit must agree exactly. */
    if (size < max_head && whole != split) __builtin_trap();
    return 0;
}
