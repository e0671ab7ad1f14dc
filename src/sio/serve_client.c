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
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "http/http.h"
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
        if (sio__http_compress(&f->plain, SIO__HTTP_ENC_GZIP, 9, &f->gz)) sio__buf_free(&f->gz);
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
    if (f->gz.len && sio__http_pick_encoding(sio_http_req_header(req, "accept-encoding")) ==
                         SIO__HTTP_ENC_GZIP) {
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
