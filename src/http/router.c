/*
 * The router: a short array of routes matched by a linear scan. Servers have a handful of
 * routes (the Engine.IO path, the client bundle, static files, a few user routes), so a
 * scan over contiguous entries beats a trie in both speed and clarity. Exact routes win
 * over prefix routes and longer prefixes over shorter ones, whatever the order of
 * registration.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "http/http.h"

int sio__http_router_add(sio__http_router *r, const char *path, int prefix, unsigned methods,
                         size_t max_body, sio_http_handler h, void *ud)
{
    if (!path || path[0] != '/' || !h) return SIO_EINVAL;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        sio__http_route *nr = sio__reallocarray(r->routes, ncap, sizeof(*nr));
        if (!nr) return SIO_ENOMEM;
        r->routes = nr;
        r->cap = ncap;
    }
    size_t len = strlen(path);
    /* "/api/" and "/api" name the same prefix. */
    if (prefix && len > 1 && path[len - 1] == '/') len--;
    char *copy = sio__strndup(path, len);
    if (!copy) return SIO_ENOMEM;
    r->routes[r->n++] = (sio__http_route){
        .path = copy,
        .len = len,
        .prefix = prefix ? 1 : 0,
        .methods = methods ? methods : (SIO_HTTP_GET | SIO_HTTP_HEAD),
        .max_body = max_body ? max_body : (1u << 20),
        .handler = h,
        .ud = ud,
    };
    return 0;
}

static int prefix_matches(const sio__http_route *rt, const char *path, size_t plen)
{
    if (rt->len == 1) return 1; /* "/" */
    if (plen < rt->len || memcmp(path, rt->path, rt->len)) return 0;
    return plen == rt->len || path[rt->len] == '/';
}

const sio__http_route *sio__http_router_match(const sio__http_router *r, const char *path)
{
    size_t plen = strlen(path);
    const sio__http_route *best = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const sio__http_route *rt = &r->routes[i];
        if (!rt->prefix) {
            if (rt->len == plen && !memcmp(rt->path, path, plen)) return rt;
            continue;
        }
        if (prefix_matches(rt, path, plen) && (!best || rt->len > best->len)) best = rt;
    }
    return best;
}

unsigned sio__http_method_bit(uint8_t m)
{
    switch (m) {
    case HTTP_GET:
        return SIO_HTTP_GET;
    case HTTP_HEAD:
        return SIO_HTTP_HEAD;
    case HTTP_POST:
        return SIO_HTTP_POST;
    case HTTP_PUT:
        return SIO_HTTP_PUT;
    case HTTP_DELETE:
        return SIO_HTTP_DELETE;
    case HTTP_OPTIONS:
        return SIO_HTTP_OPTIONS;
    case HTTP_PATCH:
        return SIO_HTTP_PATCH;
    default:
        return 0;
    }
}

void sio__http_allow_header(unsigned methods, char *out, size_t outlen)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    size_t used = 0;
    out[0] = 0;
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(methods & (1u << i))) continue;
        int n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", names[i]);
        if (n < 0 || (size_t)n >= outlen - used) return;
        used += (size_t)n;
    }
}

void sio__http_router_free(sio__http_router *r)
{
    for (size_t i = 0; i < r->n; i++) sio__free(r->routes[i].path);
    sio__free(r->routes);
    r->routes = NULL;
    r->n = r->cap = 0;
}
