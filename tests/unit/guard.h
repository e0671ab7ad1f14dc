/*
 * Inputs against a guard page, for decoder tests: a copy placed so that its last byte is
 * followed by a PROT_NONE page, so reading one byte past the input faults at once.
 * Include after <cmocka.h>.
 */
#ifndef SIO_TESTS_GUARD_H
#define SIO_TESTS_GUARD_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
    uint8_t *map;
    size_t maplen;
    uint8_t *end; /* first byte of the PROT_NONE page */
} guard;

/* Room for inputs of up to cap bytes. */
static void guard_init(guard *g, size_t cap)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (cap + page - 1) / page * page;
    if (!data) data = page;
    g->maplen = data + page;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    g->end = g->map + data;
    assert_int_equal(mprotect(g->end, page, PROT_NONE), 0);
}

/* A copy of p[0..n) ending where the guard page begins. */
static uint8_t *guard_put(guard *g, const void *p, size_t n)
{
    uint8_t *dst = g->end - n;
    if (n) memcpy(dst, p, n);
    return dst;
}

static void guard_free(guard *g)
{
    munmap(g->map, g->maplen);
}

#endif
