/*
 * The process-wide allocator hooks: the only global state libsio keeps. They are set once
 * at startup (sio_replace_allocator) before any object exists, like uv_replace_allocator.
 * Every size computation that multiplies is checked here so callers cannot overflow.
 */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>

#include "sio.h"

static struct {
    void *(*malloc_fn)(size_t);
    void *(*realloc_fn)(void *, size_t);
    void *(*calloc_fn)(size_t, size_t);
    void (*free_fn)(void *);
} allocator = {malloc, realloc, calloc, free};

int sio_replace_allocator(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                          void *(*calloc_fn)(size_t, size_t), void (*free_fn)(void *))
{
    if (!malloc_fn || !realloc_fn || !calloc_fn || !free_fn) return SIO_EINVAL;
    allocator.malloc_fn = malloc_fn;
    allocator.realloc_fn = realloc_fn;
    allocator.calloc_fn = calloc_fn;
    allocator.free_fn = free_fn;
    return 0;
}

void *sio__malloc(size_t n)
{
    return allocator.malloc_fn(n ? n : 1);
}

void *sio__calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return allocator.calloc_fn(count ? count : 1, size ? size : 1);
}

void *sio__realloc(void *p, size_t n)
{
    return allocator.realloc_fn(p, n ? n : 1);
}

void *sio__reallocarray(void *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return sio__realloc(p, count * size);
}

void sio__free(void *p)
{
    if (p) allocator.free_fn(p);
}

void *sio__memdup(const void *p, size_t n)
{
    void *q = sio__malloc(n);
    if (q && n) memcpy(q, p, n);
    return q;
}

char *sio__strndup(const char *s, size_t n)
{
    char *q = sio__malloc(n + 1);
    if (!q) return NULL;
    memcpy(q, s, n);
    q[n] = '\0';
    return q;
}

char *sio__strdup(const char *s)
{
    return sio__strndup(s, strlen(s));
}
