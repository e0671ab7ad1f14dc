/*
 * String and byte hashing for the hash tables: FNV-1a, finished with murmur3's finaliser.
 * FNV's low bits depend only on the low bits of each byte, and power-of-two tables pick
 * buckets by the low bits, so the high bits are folded down before use.
 */
#ifndef SIO_BASE_HASH_H
#define SIO_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SIO__HASH_INIT 2166136261u

/* Continue hash h over n bytes at p. */
static inline uint32_t sio__hash_bytes(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

/* The value to pick buckets with, from a hash built with sio__hash_bytes. */
static inline uint32_t sio__hash_finish(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* A NUL-terminated string's hash; its length goes in *len when len is not NULL. */
static inline uint32_t sio__hash_str(const char *s, size_t *len)
{
    uint32_t h = SIO__HASH_INIT;
    const char *p = s;
    for (; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    if (len) *len = (size_t)(p - s);
    return sio__hash_finish(h);
}

#endif
