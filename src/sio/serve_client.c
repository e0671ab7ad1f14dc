/*
 * serveClient: the browser client's bundles at {path}socket.io.js (.min.js, .esm.min.js,
 * .msgpack.min.js and their .map files), read from the installed socket.io-client
 * package's dist/ directory, as Node's server serves them: ETag "<client version>" (304
 * for a matching If-None-Match), Cache-Control public, max-age=0, gzip when accepted.
 *
 * A file is read on its first request and kept, with its gzip form, for the server's
 * life: these are a few hundred KiB read once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "sio/io.h"

#ifndef SIO_CLIENT_DIR
#define SIO_CLIENT_DIR "node_modules/socket.io-client/dist"
#endif

static const char *const files[] = {
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

typedef struct client_file {
    struct sio__client_files *owner;
    const char *name;
    sio__buf plain, gz;
    int loaded;
} client_file;

struct sio__client_files {
    char dir[512];
    char etag[64];
    client_file f[NFILES];
};

static int read_all(const char *path, sio__buf *out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return SIO_ENOTFOUND;
    char chunk[65536];
    size_t n;
    int r = 0;
    while (!r && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0) r = sio__buf_append(out, chunk, n);
    fclose(fp);
    return r;
}

static int gzip_buf(const sio__buf *in, sio__buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return SIO_ENOMEM;
    size_t bound = deflateBound(&z, in->len) + 32;
    int r = sio__buf_reserve(out, bound);
    if (!r) {
        z.next_in = in->data;
        z.avail_in = (uInt)in->len;
        z.next_out = out->data;
        z.avail_out = (uInt)bound;
        r = deflate(&z, Z_FINISH) == Z_STREAM_END ? 0 : SIO_ENOMEM;
        if (!r) out->len = bound - z.avail_out;
    }
    deflateEnd(&z);
    return r;
}

/* Whether an Accept-Encoding header takes gzip (named or "*", with a q above 0). */
static int accepts_gzip(const char *ae)
{
    if (!ae) return 0;
    const char *p = ae;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ') p++;
        size_t n = (size_t)(p - tok);
        double q = 1;
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ') p++;
                if ((*p == 'q' || *p == 'Q') && p[1] == '=') q = strtod(p + 2, NULL);
            } else {
                p++;
            }
        }
        if (((n == 4 && !strncasecmp(tok, "gzip", 4)) || (n == 1 && *tok == '*')) && q > 0)
            return 1;
    }
    return 0;
}

static void serve(sio_http_req *req, sio_http_res *res, void *ud)
{
    client_file *f = ud;
    struct sio__client_files *cf = f->owner;
    if (!f->loaded) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", cf->dir, f->name);
        if (read_all(path, &f->plain)) {
            sio__buf_free(&f->plain);
            sio_http_res_send(res, 404, "text/plain; charset=utf-8", "Not Found\n", 10);
            return;
        }
        if (gzip_buf(&f->plain, &f->gz)) sio__buf_free(&f->gz);
        f->loaded = 1;
    }
    const char *inm = sio_http_req_header(req, "if-none-match");
    if (inm && (!strcmp(inm, cf->etag) || (!strncmp(inm, "W/", 2) && !strcmp(inm + 2, cf->etag)))) {
        sio_http_res_send(res, 304, NULL, NULL, 0);
        return;
    }
    size_t n = strlen(f->name);
    int map = n > 4 && !strcmp(f->name + n - 4, ".map");
    sio_http_res_header(res, "Cache-Control", "public, max-age=0");
    sio_http_res_header(res, "ETag", cf->etag);
    const char *type =
        map ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8";
    if (f->gz.len && accepts_gzip(sio_http_req_header(req, "accept-encoding"))) {
        sio_http_res_header(res, "Content-Encoding", "gzip");
        sio_http_res_send(res, 200, type, f->gz.data, f->gz.len);
        return;
    }
    sio_http_res_send(res, 200, type, f->plain.data, f->plain.len);
}

/* The client's version from dist/../package.json, for the ETag. */
static void read_version(struct sio__client_files *cf)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/../package.json", cf->dir);
    json_t *pkg = json_load_file(path, 0, NULL);
    const char *v = json_string_value(json_object_get(pkg, "version"));
    snprintf(cf->etag, sizeof(cf->etag), "\"%s\"", v ? v : "0");
    json_decref(pkg);
}

sio__client_files *sio__client_files_new(sio_server *server, const char *path, const char *dir)
{
    struct sio__client_files *cf = sio__calloc(1, sizeof(*cf));
    if (!cf) return NULL;
    snprintf(cf->dir, sizeof(cf->dir), "%s", dir ? dir : SIO_CLIENT_DIR);
    read_version(cf);
    for (size_t i = 0; i < NFILES; i++) {
        cf->f[i].owner = cf;
        cf->f[i].name = files[i];
        char route[512];
        snprintf(route, sizeof(route), "%s%s", path, files[i]);
        if (sio_http_route(server, route, serve, &cf->f[i], NULL)) {
            sio__client_files_free(cf);
            return NULL;
        }
    }
    return cf;
}

void sio__client_files_free(sio__client_files *cf)
{
    if (!cf) return;
    for (size_t i = 0; i < NFILES; i++) {
        sio__buf_free(&cf->f[i].plain);
        sio__buf_free(&cf->f[i].gz);
    }
    sio__free(cf);
}
