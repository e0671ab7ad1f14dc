/*
 * The llhttp glue: turns llhttp's span callbacks into one sio_http_req per request.
 *
 * llhttp hands out spans of the input that are valid only during its callbacks, and may
 * split any token across reads, so the request line and headers are copied into the
 * request's head buffer as they arrive (bounded by max_head: over it is 431). Everything
 * else stays out: the body is passed on to the caller, who enforces the route's limit.
 *
 * Parsing stops after each complete message (on_message_complete returns HPE_PAUSED), so
 * a pipelined request is only parsed once the previous one has been answered; the caller
 * keeps the unconsumed bytes. Upgrade requests end with llhttp's HPE_PAUSED_UPGRADE, and
 * the bytes after them belong to the new protocol.
 */
#include <string.h>

#include "base/alloc.h"
#include "http/http.h"
#include "http/path.h"
#include "base/url.h"

#define MAX_HEADERS 256

static sio__http_parser *P(llhttp_t *ll)
{
    return (sio__http_parser *)ll->data;
}

static int fail(sio__http_parser *p, int status, const char *reason)
{
    p->status = status;
    p->reason = reason;
    return HPE_USER;
}

static int head_append(sio__http_parser *p, const char *at, size_t n)
{
    p->head_bytes += (uint32_t)n;
    if (p->head_bytes > p->max_head) return fail(p, 431, "header section too large");
    if (sio__buf_append(&p->req->head, at, n)) return fail(p, 503, "out of memory");
    return 0;
}

static int head_nul(sio__http_parser *p)
{
    static const char z = 0;
    if (sio__buf_append(&p->req->head, &z, 1)) return fail(p, 503, "out of memory");
    return 0;
}

static int on_message_begin(llhttp_t *ll)
{
    sio__http_parser *p = P(ll);
    p->in_head = 1;
    p->in_message = 1;
    p->head_bytes = 0;
    p->req->url_off = (uint32_t)p->req->head.len;
    return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
    return head_append(P(ll), at, n);
}

static int on_url_complete(llhttp_t *ll)
{
    sio__http_parser *p = P(ll);
    p->req->url_len = (uint32_t)p->req->head.len - p->req->url_off;
    return head_nul(p);
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    sio__http_parser *p = P(ll);
    sio_http_req *req = p->req;
    if (req->cur_field == UINT32_MAX) {
        if (req->nheaders >= MAX_HEADERS) return fail(p, 431, "too many headers");
        req->cur_field = (uint32_t)req->head.len;
    }
    return head_append(p, at, n);
}

static int on_header_field_complete(llhttp_t *ll)
{
    sio__http_parser *p = P(ll);
    sio_http_req *req = p->req;
    if (req->nheaders == req->headers_cap) {
        uint32_t ncap = req->headers_cap ? req->headers_cap * 2 : 16;
        sio__http_header *h = sio__reallocarray(req->headers, ncap, sizeof(*h));
        if (!h) return fail(p, 503, "out of memory");
        req->headers = h;
        req->headers_cap = ncap;
    }
    sio__http_header *h = &req->headers[req->nheaders];
    h->name_off = req->cur_field;
    h->name_len = (uint32_t)req->head.len - req->cur_field;
    int r = head_nul(p);
    h->value_off = (uint32_t)req->head.len;
    h->value_len = 0;
    p->head_bytes += 4; /* ": " and CRLF */
    return r;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    sio__http_parser *p = P(ll);
    p->req->headers[p->req->nheaders].value_len += (uint32_t)n;
    return head_append(p, at, n);
}

static int on_header_value_complete(llhttp_t *ll)
{
    sio__http_parser *p = P(ll);
    p->req->nheaders++;
    p->req->cur_field = UINT32_MAX;
    return head_nul(p);
}

static int on_headers_complete(llhttp_t *ll)
{
    sio__http_parser *p = P(ll);
    sio_http_req *req = p->req;
    p->in_head = 0;
    p->raw_head = 0;
    req->method = (uint8_t)ll->method;
    req->http_major = ll->http_major;
    req->http_minor = ll->http_minor;
    req->keep_alive = llhttp_should_keep_alive(ll) ? 1 : 0;
    req->upgrade = ll->upgrade ? 1 : 0;
    req->content_length = (ll->flags & F_CONTENT_LENGTH) ? ll->content_length : 0;
    req->has_body = (ll->flags & F_CHUNKED) || req->content_length > 0;
    const char *expect = sio_http_req_header(req, "expect");
    req->expect_continue = expect && !strcasecmp(expect, "100-continue");

    /* Split the target into a normalised path and the raw query. A target that is not a
     * path (CONNECT's authority, OPTIONS *, absolute-form) gets the path "*", which no
     * route matches. Normalising never makes a path longer. */
    size_t url_len = req->url_len;
    if (sio__buf_reserve(&req->head, url_len + 3)) return fail(p, 503, "out of memory");
    const char *url = (const char *)req->head.data + req->url_off;
    const char *q = memchr(url, '?', url_len);
    size_t plen = q ? (size_t)(q - url) : url_len;
    size_t qoff = q ? (size_t)(q + 1 - (const char *)req->head.data) : 0;
    size_t qlen = q ? url_len - plen - 1 : 0;
    char *out = (char *)req->head.data + req->head.len;
    ptrdiff_t n;
    if (plen && url[0] == '/') {
        n = sio__http_path_normalize(url, plen, out, plen + 1);
        if (n < 0) return fail(p, 400, "malformed request target");
    } else {
        memcpy(out, "*", 2);
        n = 1;
    }
    req->path_off = (uint32_t)req->head.len;
    req->head.len += (size_t)n + 1;
    req->query_off = (uint32_t)req->head.len;
    if (qlen) memmove(req->head.data + req->head.len, req->head.data + qoff, qlen);
    req->head.data[req->head.len + qlen] = 0;
    req->head.len += qlen + 1;

    int st = p->ev->on_head ? p->ev->on_head(req, p->ud) : 0;
    if (st) return fail(p, st, "refused");
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
    sio__http_parser *p = P(ll);
    int st = p->ev->on_body ? p->ev->on_body(p->req, (const uint8_t *)at, n, p->ud) : 0;
    if (st) return fail(p, st, "body refused");
    return 0;
}

static int on_message_complete(llhttp_t *ll)
{
    sio__http_parser *p = P(ll);
    p->in_message = 0;
    p->complete = 1;
    /* Upgrades stop by themselves (HPE_PAUSED_UPGRADE); others stop here. */
    return ll->upgrade ? 0 : HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void sio__http_parser_init(sio__http_parser *p, sio_http_req *req, uint32_t max_head,
                           const sio__http_parser_events *ev, void *ud)
{
    memset(p, 0, sizeof(*p));
    llhttp_init(&p->ll, HTTP_REQUEST, &settings);
    p->ll.data = p;
    p->req = req;
    p->ev = ev;
    p->ud = ud;
    p->max_head = max_head;
}

ptrdiff_t sio__http_parser_execute(sio__http_parser *p, const uint8_t *data, size_t n)
{
    if (p->status) return -1;
    if (p->paused) {
        llhttp_resume(&p->ll);
        p->paused = 0;
    }
    llhttp_errno_t err = llhttp_execute(&p->ll, (const char *)data, n);
    if (err == HPE_OK) {
        /* Raw bytes of an unfinished head bound it too: padding that no callback sees
         * (optional whitespace) must not let a head grow without limit. */
        if (p->in_head) {
            p->raw_head += n;
            if (p->raw_head > 2 * (size_t)p->max_head) {
                p->status = 431;
                p->reason = "header section too large";
                return -1;
            }
        }
        return (ptrdiff_t)n;
    }
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        p->paused = 1;
        if (err == HPE_PAUSED_UPGRADE) p->complete = 1;
        const char *pos = llhttp_get_error_pos(&p->ll);
        return pos ? (ptrdiff_t)(pos - (const char *)data) : (ptrdiff_t)n;
    }
    if (!p->status) {
        p->status = 400;
        p->reason = llhttp_get_error_reason(&p->ll);
        if (err == HPE_INVALID_METHOD) p->status = 400;
    }
    return -1;
}

void sio__http_parser_next(sio__http_parser *p)
{
    p->complete = 0;
    sio__http_req_reset(p->req);
}

int sio__http_parser_in_head(const sio__http_parser *p)
{
    return p->in_head;
}

void sio__http_req_init(sio_http_req *req)
{
    memset(req, 0, sizeof(*req));
    req->cur_field = UINT32_MAX;
}

void sio__http_req_reset(sio_http_req *req)
{
    req->head.len = 0;
    req->body.len = 0;
    req->nheaders = 0;
    req->cur_field = UINT32_MAX;
    req->url_off = req->url_len = req->path_off = req->query_off = 0;
    req->keep_alive = req->upgrade = req->expect_continue = req->has_body = 0;
    req->content_length = 0;
    /* Drop big buffers so an idle keep-alive connection holds little. */
    if (req->head.cap > 4096) sio__buf_free(&req->head);
    if (req->body.cap > 4096) sio__buf_free(&req->body);
}

void sio__http_req_free(sio_http_req *req)
{
    sio__buf_free(&req->head);
    sio__buf_free(&req->body);
    sio__free(req->headers);
    req->headers = NULL;
    req->headers_cap = req->nheaders = 0;
}

/* ---- public accessors ---- */

const char *sio_http_req_method(const sio_http_req *req)
{
    return llhttp_method_name((llhttp_method_t)req->method);
}

const char *sio_http_req_path(const sio_http_req *req)
{
    return (const char *)req->head.data + req->path_off;
}

const char *sio_http_req_query(const sio_http_req *req)
{
    return (const char *)req->head.data + req->query_off;
}

const char *sio_http_req_url(const sio_http_req *req)
{
    return (const char *)req->head.data + req->url_off;
}

const char *sio_http_req_header(const sio_http_req *req, const char *name)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < req->nheaders; i++) {
        const sio__http_header *h = &req->headers[i];
        if (h->name_len == nl && !strncasecmp((const char *)req->head.data + h->name_off, name, nl))
            return (const char *)req->head.data + h->value_off;
    }
    return NULL;
}

int sio_http_req_header_at(const sio_http_req *req, size_t n, const char **name, const char **value)
{
    if (n >= req->nheaders) return SIO_ENOTFOUND;
    *name = (const char *)req->head.data + req->headers[n].name_off;
    *value = (const char *)req->head.data + req->headers[n].value_off;
    return 0;
}

const uint8_t *sio_http_req_body(const sio_http_req *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data ? req->body.data : (const uint8_t *)"";
}

const char *sio_http_req_remote_addr(const sio_http_req *req)
{
    return req->remote;
}

int sio_http_req_query_param(const sio_http_req *req, const char *name, char *out, size_t outlen)
{
    const char *q = sio_http_req_query(req);
    return sio__query_get(q, strlen(q), name, out, outlen);
}
