/*
 * Static files: GET and HEAD below a root directory, without blocking the loop.
 *
 * Every file system call runs on libuv's thread pool (realpath, open, fstat, read). The
 * request path was normalised by the parser (no "..", no NUL, no backslash), and the
 * resolved real path must still lie below the root's real path, so a symlink that points
 * outside the root is refused while links inside it work.
 *
 * Small files (up to CACHE_FILE_MAX) are kept in memory after the first read, in one
 * refcounted block that is queued directly on every connection that asks for it, and
 * revalidated against the file system (size and mtime) at most once per second, like
 * nginx's open_file_cache. Larger files are streamed in 64 KiB reads that wait for the
 * connection's output to drain, so a slow reader holds at most a few chunks in memory.
 *
 * Validators are a weak ETag from size and mtime plus Last-Modified; one byte range is
 * honoured (several ranges get the whole file, as RFC 9110 allows).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "http/date.h"
#include "http/http.h"
#include "http/mime.h"
#include "http/range.h"

#define CACHE_FILE_MAX  (256 * 1024)
#define CACHE_TOTAL_MAX (32u << 20)
#define CACHE_BUCKETS   256
#define REVALIDATE_MS   1000
#define CHUNK           (64 * 1024)
#define HIGH_WATER      (256 * 1024)

typedef struct file_info {
    uint64_t size;
    int64_t mtime;
    char etag[48];
    char last_modified[32];
    const char *mime;
    /* The header lines every answer carries, formatted once per file version:
     * validators (also in a 304), then the rest. */
    char lines[256];
    uint16_t validators_len, lines_len;
} file_info;

typedef struct cache_ent {
    struct cache_ent *next;
    char *path; /* the request path */
    sio__bytes *data;
    file_info info;
    uint64_t checked; /* loop time of the last validation */
} cache_ent;

struct sio__http_static {
    uv_loop_t *loop;
    char *root; /* real path, no trailing slash */
    size_t root_len;
    cache_ent *buckets[CACHE_BUCKETS];
    size_t cached_bytes;
    int jobs; /* file system operations in flight */
    int freeing;
};

typedef struct job {
    uv_fs_t fs;
    sio__http_static *st;
    sio_http_req *req;
    sio_http_res *res;
    char *path; /* request path, with index.html appended for directories */
    char *full; /* root + path */
    uv_file fd;
    file_info info;
    uint64_t off, end; /* the byte range being sent, end exclusive */
    sio__bytes *buf;
    int aborted;
} job;

static cache_ent *cache_find(sio__http_static *st, const char *path)
{
    for (cache_ent *e = st->buckets[sio__hash_str(path, NULL) % CACHE_BUCKETS]; e; e = e->next)
        if (!strcmp(e->path, path)) return e;
    return NULL;
}

static void cache_clear(sio__http_static *st)
{
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        cache_ent *e = st->buckets[i];
        while (e) {
            cache_ent *next = e->next;
            sio__bytes_unref(e->data);
            sio__free(e->path);
            sio__free(e);
            e = next;
        }
        st->buckets[i] = NULL;
    }
    st->cached_bytes = 0;
}

static void cache_put(sio__http_static *st, const char *path, sio__bytes *data,
                      const file_info *info)
{
    cache_ent *e = cache_find(st, path);
    if (e) {
        st->cached_bytes -= e->data->len;
        sio__bytes_unref(e->data);
    } else {
        if (st->cached_bytes + data->len > CACHE_TOTAL_MAX) cache_clear(st);
        e = sio__calloc(1, sizeof(*e));
        if (!e) return;
        e->path = sio__strdup(path);
        if (!e->path) {
            sio__free(e);
            return;
        }
        uint32_t b = sio__hash_str(path, NULL) % CACHE_BUCKETS;
        e->next = st->buckets[b];
        st->buckets[b] = e;
    }
    e->data = sio__bytes_ref(data);
    e->info = *info;
    e->checked = uv_now(st->loop);
    st->cached_bytes += data->len;
}

sio__http_static *sio__http_static_new(uv_loop_t *loop, const char *root)
{
    char real[PATH_MAX];
    /* Startup, before the loop runs: a blocking realpath is fine here. */
    if (!realpath(root, real)) return NULL;
    sio__http_static *st = sio__calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->loop = loop;
    st->root_len = strlen(real);
    if (st->root_len == 1) st->root_len = 0; /* "/" */
    st->root = sio__strndup(real, st->root_len);
    if (!st->root) {
        sio__free(st);
        return NULL;
    }
    return st;
}

void sio__http_static_free(sio__http_static *st)
{
    if (!st) return;
    cache_clear(st);
    if (st->jobs) {
        /* Jobs still running finish against the aborted flag and free st last. */
        st->freeing = 1;
        return;
    }
    sio__free(st->root);
    sio__free(st);
}

/* ---- answering ---- */

static int etag_matches(const char *list, const char *etag)
{
    /* If-None-Match uses the weak comparison: W/ prefixes are ignored. */
    const char *bare = etag[0] == 'W' ? etag + 2 : etag;
    size_t n = strlen(bare);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (*p == '*') return 1;
        if (p[0] == 'W' && p[1] == '/') p += 2;
        if (!strncmp(p, bare, n) && (p[n] == 0 || p[n] == ',' || p[n] == ' ')) return 1;
        while (*p && *p != ',') p++;
    }
    return 0;
}

static int not_modified(sio_http_req *req, const file_info *fi)
{
    const char *inm = sio_http_req_header(req, "if-none-match");
    if (inm) return etag_matches(inm, fi->etag);
    const char *ims = sio_http_req_header(req, "if-modified-since");
    int64_t t;
    if (ims && !sio__http_date_parse(ims, strlen(ims), &t)) return fi->mtime <= t;
    return 0;
}

/*
 * Decide status and headers for a file of known info. Returns 0 when the body range
 * [*start, *end) must follow, 1 when the response is complete (304, 416, empty).
 */
static int answer_head(sio_http_req *req, sio_http_res *res, const file_info *fi, uint64_t *start,
                       uint64_t *end)
{
    if (not_modified(req, fi)) {
        sio__http_res_header_lines(res, fi->lines, fi->validators_len);
        sio_http_res_status(res, 304);
        sio__http_res_write_head(res, 0);
        sio__http_res_finish(res);
        return 1;
    }
    sio__http_res_header_lines(res, fi->lines, fi->lines_len);
    *start = 0;
    *end = fi->size;
    const char *range = sio_http_req_header(req, "range");
    const char *if_range = sio_http_req_header(req, "if-range");
    if (range &&
        (!if_range || !strcmp(if_range, fi->etag) || !strcmp(if_range, fi->last_modified))) {
        uint64_t s, e;
        char cr[96];
        switch (sio__http_range_parse(range, strlen(range), fi->size, &s, &e)) {
        case SIO__RANGE_OK:
            snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)s,
                     (unsigned long long)e, (unsigned long long)fi->size);
            sio_http_res_status(res, 206);
            sio_http_res_header(res, "Content-Range", cr);
            *start = s;
            *end = e + 1;
            break;
        case SIO__RANGE_UNSATISFIABLE:
            snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)fi->size);
            sio_http_res_status(res, 416);
            sio_http_res_header(res, "Content-Range", cr);
            sio__http_res_write_head(res, 0);
            sio__http_res_finish(res);
            return 1;
        default:
            break;
        }
    }
    sio__http_res_write_head(res, *end - *start);
    if (*end == *start || sio__http_res_is_head(res)) {
        sio__http_res_finish(res);
        return 1;
    }
    return 0;
}

static void serve_bytes(sio_http_req *req, sio_http_res *res, sio__bytes *data, const file_info *fi)
{
    uint64_t s, e;
    if (answer_head(req, res, fi, &s, &e)) return;
    sio__http_res_write_bytes(res, data, (size_t)s, (size_t)(e - s));
    sio__http_res_finish(res);
}

static void not_found(sio_http_res *res)
{
    sio_http_res_send(res, 404, "text/plain; charset=utf-8", "Not Found\n", 10);
}

/* ---- the asynchronous path ---- */

static void job_free(job *j)
{
    sio__http_static *st = j->st;
    if (j->fd >= 0) {
        uv_fs_t close_req;
        uv_fs_close(st->loop, &close_req, j->fd, NULL); /* synchronous close: cheap, no callback */
        uv_fs_req_cleanup(&close_req);
    }
    sio__bytes_unref(j->buf);
    sio__free(j->path);
    sio__free(j->full);
    sio__free(j);
    if (--st->jobs == 0 && st->freeing) {
        sio__free(st->root);
        sio__free(st);
    }
}

static void on_res_close(sio_http_res *res, void *ud)
{
    job *j = ud;
    j->aborted = 1;
}

/* Finish a job whose response may still be open: answer with status if it is. */
static void job_fail(job *j, int status)
{
    if (!j->aborted) {
        sio_http_res_on_close(j->res, NULL, NULL);
        if (status == 404)
            not_found(j->res);
        else
            sio_http_res_send(j->res, status, "text/plain; charset=utf-8", "Error\n", 6);
    }
    job_free(j);
}

static void read_next(job *j);

/* A read finished: its result, or NULL when the response went away meanwhile (the job is
 * then freed). */
static job *read_done(uv_fs_t *fs, ssize_t *n)
{
    job *j = fs->data;
    *n = fs->result;
    uv_fs_req_cleanup(fs);
    if (!j->aborted) return j;
    job_free(j);
    return NULL;
}

static void on_drain(sio_http_res *res, void *ud)
{
    read_next(ud);
}

static void on_read(uv_fs_t *fs)
{
    ssize_t n;
    job *j = read_done(fs, &n);
    if (!j) return;
    if (n <= 0) {
        /* The file shrank under us: the promised length can't be met; close. */
        sio_http_res_on_close(j->res, NULL, NULL);
        sio__http_res_finish(j->res);
        job_free(j);
        return;
    }
    j->buf->len = (uint32_t)n;
    sio__http_res_write_bytes(j->res, j->buf, 0, (size_t)n);
    sio__bytes_unref(j->buf);
    j->buf = NULL;
    j->off += (uint64_t)n;
    if (j->off >= j->end) {
        sio_http_res_on_close(j->res, NULL, NULL);
        sio__http_res_finish(j->res);
        job_free(j);
        return;
    }
    if (sio__http_res_queued(j->res) > HIGH_WATER)
        sio__http_res_on_drain(j->res, on_drain, j);
    else
        read_next(j);
}

static void read_next(job *j)
{
    if (j->aborted) {
        job_free(j);
        return;
    }
    uint64_t want = j->end - j->off;
    if (want > CHUNK) want = CHUNK;
    j->buf = sio__bytes_new((size_t)want);
    if (!j->buf) {
        /* Out of memory mid-body: finishing short closes the connection. */
        sio_http_res_on_close(j->res, NULL, NULL);
        sio__http_res_finish(j->res);
        job_free(j);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)j->buf->data, (unsigned)want);
    j->fs.data = j;
    if (uv_fs_read(j->st->loop, &j->fs, j->fd, &b, 1, (int64_t)j->off, on_read)) job_fail(j, 500);
}

static void on_read_whole(uv_fs_t *fs)
{
    ssize_t n;
    job *j = read_done(fs, &n);
    if (!j) return;
    if (n < 0 || (uint64_t)n != j->info.size) {
        job_fail(j, 500);
        return;
    }
    j->buf->len = (uint32_t)n;
    cache_put(j->st, j->path, j->buf, &j->info);
    sio_http_res_on_close(j->res, NULL, NULL);
    serve_bytes(j->req, j->res, j->buf, &j->info);
    job_free(j);
}

static void redirect_dir(job *j)
{
    sio_http_res_on_close(j->res, NULL, NULL);
    sio__buf loc = SIO__BUF_INIT;
    sio__buf_printf(&loc, "%s/", sio_http_req_path(j->req));
    const char *q = sio_http_req_query(j->req);
    if (*q) sio__buf_printf(&loc, "?%s", q);
    if (!sio__buf_nul(&loc)) sio_http_res_header(j->res, "Location", (char *)loc.data);
    sio__buf_free(&loc);
    sio_http_res_send(j->res, 301, "text/plain; charset=utf-8", "Moved Permanently\n", 18);
    job_free(j);
}

static void on_fstat(uv_fs_t *fs)
{
    job *j = fs->data;
    int r = (int)fs->result;
    uv_stat_t sb = fs->statbuf;
    uv_fs_req_cleanup(fs);
    if (j->aborted) {
        job_free(j);
        return;
    }
    if (r < 0) {
        job_fail(j, 404);
        return;
    }
    if ((sb.st_mode & S_IFMT) == S_IFDIR) {
        redirect_dir(j);
        return;
    }
    if ((sb.st_mode & S_IFMT) != S_IFREG) {
        job_fail(j, 404);
        return;
    }
    file_info *fi = &j->info;
    fi->size = sb.st_size;
    fi->mtime = (int64_t)sb.st_mtim.tv_sec;
    snprintf(fi->etag, sizeof(fi->etag), "W/\"%llx-%llx\"", (unsigned long long)fi->size,
             (unsigned long long)fi->mtime);
    sio__http_date_format(fi->last_modified, fi->mtime);
    fi->mime = sio__mime_type(j->path);
    int v = snprintf(fi->lines, sizeof(fi->lines), "ETag: %s\r\nLast-Modified: %s\r\n", fi->etag,
                     fi->last_modified);
    int all = snprintf(fi->lines + v, sizeof(fi->lines) - (size_t)v,
                       "Content-Type: %s\r\nAccept-Ranges: bytes\r\n"
                       "Cache-Control: public, max-age=0\r\n",
                       fi->mime);
    fi->validators_len = (uint16_t)v;
    fi->lines_len = (uint16_t)(v + all);

    /* The cached copy is still the file on disk: serve it without reading. */
    cache_ent *e = cache_find(j->st, j->path);
    if (e && e->info.size == fi->size && e->info.mtime == fi->mtime) {
        e->checked = uv_now(j->st->loop);
        sio_http_res_on_close(j->res, NULL, NULL);
        serve_bytes(j->req, j->res, e->data, &e->info);
        job_free(j);
        return;
    }
    if (fi->size <= CACHE_FILE_MAX) {
        j->buf = sio__bytes_new((size_t)fi->size);
        if (!j->buf) {
            job_fail(j, 503);
            return;
        }
        uv_buf_t b = uv_buf_init((char *)j->buf->data, (unsigned)fi->size);
        j->fs.data = j;
        if (uv_fs_read(j->st->loop, &j->fs, j->fd, &b, 1, 0, on_read_whole)) job_fail(j, 500);
        return;
    }
    sio_http_res_on_close(j->res, on_res_close, j);
    if (answer_head(j->req, j->res, fi, &j->off, &j->end)) {
        sio_http_res_on_close(j->res, NULL, NULL);
        job_free(j);
        return;
    }
    read_next(j);
}

static void on_open(uv_fs_t *fs)
{
    job *j = fs->data;
    int r = (int)fs->result;
    uv_fs_req_cleanup(fs);
    if (j->aborted) {
        if (r >= 0) j->fd = r;
        job_free(j);
        return;
    }
    if (r < 0) {
        job_fail(j, 404);
        return;
    }
    j->fd = r;
    j->fs.data = j;
    if (uv_fs_fstat(j->st->loop, &j->fs, j->fd, on_fstat)) job_fail(j, 500);
}

static void on_realpath(uv_fs_t *fs)
{
    job *j = fs->data;
    int r = (int)fs->result;
    const char *real = r == 0 ? fs->ptr : NULL;
    sio__http_static *st = j->st;
    /* Below the root, or the root itself. */
    int inside = real && !strncmp(real, st->root, st->root_len) &&
                 (real[st->root_len] == '/' || real[st->root_len] == 0);
    char *open_path = inside ? sio__strdup(real) : NULL;
    uv_fs_req_cleanup(fs);
    if (j->aborted) {
        sio__free(open_path);
        job_free(j);
        return;
    }
    if (!open_path) {
        job_fail(j, 404);
        return;
    }
    j->fs.data = j;
    r = uv_fs_open(st->loop, &j->fs, open_path, O_RDONLY | O_CLOEXEC, 0, on_open);
    sio__free(open_path);
    if (r) job_fail(j, 404);
}

void sio__http_static_handler(sio_http_req *req, sio_http_res *res, void *ud)
{
    sio__http_static *st = ud;
    const char *path = sio_http_req_path(req);
    size_t plen = strlen(path);
    int dir = plen && path[plen - 1] == '/';

    char key[4096];
    if (plen + sizeof("index.html") > sizeof(key)) {
        sio_http_res_send(res, 414, "text/plain; charset=utf-8", "URI Too Long\n", 13);
        return;
    }
    memcpy(key, path, plen);
    strcpy(key + plen, dir ? "index.html" : "");

    cache_ent *e = cache_find(st, key);
    if (e && uv_now(st->loop) - e->checked < REVALIDATE_MS) {
        serve_bytes(req, res, e->data, &e->info);
        return;
    }

    job *j = sio__calloc(1, sizeof(*j));
    if (j) {
        j->path = sio__strdup(key);
        j->full = sio__malloc(st->root_len + strlen(key) + 1);
    }
    if (!j || !j->path || !j->full) {
        if (j) {
            sio__free(j->path);
            sio__free(j->full);
            sio__free(j);
        }
        sio_http_res_send(res, 503, "text/plain; charset=utf-8", "Unavailable\n", 12);
        return;
    }
    memcpy(j->full, st->root, st->root_len);
    strcpy(j->full + st->root_len, key);
    j->st = st;
    j->req = req;
    j->res = res;
    j->fd = -1;
    st->jobs++;
    sio_http_res_on_close(res, on_res_close, j);
    j->fs.data = j;
    if (uv_fs_realpath(st->loop, &j->fs, j->full, on_realpath)) job_fail(j, 404);
}
