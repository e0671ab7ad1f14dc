/*
 * Incremental UTF-8 validation (RFC 3629): state carries across calls, so a code point split
 * between two reads or two WebSocket fragments validates like a contiguous one.
 */
#ifndef SIO_WS_UTF8_H
#define SIO_WS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Zero-initialise (or sio__utf8_init) before the first byte. Opaque: compare with nothing. */
typedef struct {
    uint32_t state;
} sio__utf8;

static inline void sio__utf8_init(sio__utf8 *v)
{
    v->state = 0;
}

/*
 * Validate n more bytes. Returns how many of them were accepted: n when all are fine so far,
 * otherwise the index of the byte that made the input invalid (the byte itself is not
 * accepted). After a rejection the validator stays rejected until re-initialised.
 */
size_t sio__utf8_scan(sio__utf8 *v, const uint8_t *p, size_t n);

/* Validate n more bytes; 0 or SIO_EUTF8 (sticky). */
int sio__utf8_feed(sio__utf8 *v, const uint8_t *p, size_t n);

/* End of input: 0 when everything fed is valid and complete, SIO_EUTF8 when it was rejected
 * or stops in the middle of a code point. */
int sio__utf8_finish(const sio__utf8 *v);

/* One-shot: 1 when p[0..n) is complete, valid UTF-8, else 0. */
int sio__utf8_valid(const uint8_t *p, size_t n);

#endif
