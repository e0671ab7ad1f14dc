/*
 * Byte buffers. sio__buf grows geometrically; sio__bytes is a flexible-array block with a
 * plain (single-threaded) reference count, since everything runs on one loop thread.
 */
#include "buf.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "sio.h"

int sio__buf_reserve(sio__buf *b, size_t extra)
{
    if (extra <= b->cap - b->len) return 0;
    if (extra > SIZE_MAX - b->len - 1) return SIO_ENOMEM;
    size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *d = sio__realloc(b->data, cap);
    if (!d) return SIO_ENOMEM;
    b->data = d;
    b->cap = cap - 1; /* one byte always spare for sio__buf_nul */
    return 0;
}

int sio__buf_append(sio__buf *b, const void *p, size_t n)
{
    if (!n) return 0;
    int r = sio__buf_reserve(b, n);
    if (r) return r;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int sio__buf_append_str(sio__buf *b, const char *s)
{
    return sio__buf_append(b, s, strlen(s));
}

int sio__buf_vprintf(sio__buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) return SIO_EINVAL;
    int r = sio__buf_reserve(b, (size_t)n);
    if (r) return r;
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int sio__buf_printf(sio__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = sio__buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void sio__buf_consume(sio__buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

int sio__buf_nul(sio__buf *b)
{
    if (!b->data) {
        int r = sio__buf_reserve(b, 1);
        if (r) return r;
    }
    b->data[b->len] = 0;
    return 0;
}

void sio__buf_reset(sio__buf *b)
{
    b->len = 0;
}

void sio__buf_free(sio__buf *b)
{
    sio__free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

sio__bytes *sio__bytes_new(size_t cap)
{
    if (cap > UINT32_MAX - sizeof(sio__bytes)) return NULL;
    sio__bytes *b = sio__malloc(sizeof(*b) + cap);
    if (!b) return NULL;
    b->refs = 1;
    b->len = 0;
    b->cap = (uint32_t)cap;
    return b;
}

sio__bytes *sio__bytes_copy(const void *p, size_t n)
{
    sio__bytes *b = sio__bytes_new(n);
    if (!b) return NULL;
    if (n) memcpy(b->data, p, n);
    b->len = (uint32_t)n;
    return b;
}

void sio__bytes_unref(sio__bytes *b)
{
    if (b && --b->refs == 0) sio__free(b);
}
