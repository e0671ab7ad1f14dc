/*
 * Growable byte buffers and refcounted immutable byte blocks.
 *
 * sio__buf is the scratch buffer encoders write into. sio__bytes is what gets queued on
 * connections: one immutable block, shared by every connection that sends it, freed when
 * the last write that references it completes.
 */
#ifndef SIO_BASE_BUF_H
#define SIO_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sio__buf {
    uint8_t *data;
    size_t len, cap;
} sio__buf;

#define SIO__BUF_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Make room for extra more bytes; 0 or SIO_ENOMEM. */
int sio__buf_reserve(sio__buf *b, size_t extra);
int sio__buf_append(sio__buf *b, const void *p, size_t n);
int sio__buf_append_str(sio__buf *b, const char *s);
int sio__buf_printf(sio__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sio__buf_vprintf(sio__buf *b, const char *fmt, va_list ap);
/* Drop the first n bytes (n <= len). */
void sio__buf_consume(sio__buf *b, size_t n);
/* Ensure data[len] == 0 without changing len; 0 or SIO_ENOMEM. */
int sio__buf_nul(sio__buf *b);
void sio__buf_reset(sio__buf *b);
void sio__buf_free(sio__buf *b);

typedef struct sio__bytes {
    uint32_t refs;
    uint32_t len; /* bytes used */
    uint32_t cap; /* bytes allocated in data */
    uint8_t data[];
} sio__bytes;

/* A block with cap bytes of room and len 0, one reference held by the caller. */
sio__bytes *sio__bytes_new(size_t cap);
/* A block holding a copy of p..p+n. */
sio__bytes *sio__bytes_copy(const void *p, size_t n);
static inline sio__bytes *sio__bytes_ref(sio__bytes *b)
{
    b->refs++;
    return b;
}
void sio__bytes_unref(sio__bytes *b);

#endif
