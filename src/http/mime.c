/*
 * Content types by extension: a sorted table searched with bsearch. Text types carry
 * "charset=utf-8" so browsers never guess. Unknown extensions are served as
 * application/octet-stream, which browsers download rather than render.
 */
#include "http/mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *ext, *type;
} entry;

/* Sorted by extension (lowercase ASCII). */
static const entry table[] = {
    {"avif", "image/avif"},
    {"css", "text/css; charset=utf-8"},
    {"gif", "image/gif"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"ico", "image/x-icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"ogg", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"svg", "image/svg+xml"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xml", "application/xml"},
};

static int cmp(const void *key, const void *e)
{
    return strcasecmp(key, ((const entry *)e)->ext);
}

const char *sio__mime_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || !dot[1]) return "application/octet-stream";
    const entry *e =
        bsearch(dot + 1, table, sizeof(table) / sizeof(table[0]), sizeof(table[0]), cmp);
    return e ? e->type : "application/octet-stream";
}
