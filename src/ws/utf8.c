/*
 * Incremental UTF-8 validator.
 *
 * WebSocket text messages must be valid UTF-8 (RFC 6455 8.1), and the check has to work on
 * data as it arrives: a four-byte code point may be split across two TCP reads or two
 * fragments of one message. So the validator is a tiny state machine whose whole state is
 * one word that survives between calls.
 *
 * The state is the well-formed byte sequence table of Unicode (chapter 3, table 3-7)
 * written out: after a lead byte we know how many continuation bytes are still needed and
 * the allowed range of the next one. Only the byte after the lead has a narrowed range:
 * E0 needs A0..BF (no overlongs), ED needs 80..9F (no surrogates), F0 needs 90..BF (no
 * overlongs), F4 needs 80..8F (nothing above U+10FFFF); C0, C1 and F5..FF never start a
 * sequence. The state packs `need << 16 | lo << 8 | hi`; 0 is "between code points" and
 * REJECT is sticky.
 *
 * Alternatives: Hoehrmann's table-driven DFA is as small and branch-free, but its 364-byte
 * table is opaque to review; SIMD validators (simdutf, Lemire-Keiser) are far faster on
 * long non-ASCII text but are large and architecture-specific. Socket.IO text is mostly
 * ASCII JSON, so the win that matters is the ASCII fast path: between code points we test 8
 * bytes at a time for a set high bit and skip whole words.
 */
#include "ws/utf8.h"

#include <string.h>

#include "sio.h"

#define REJECT     UINT32_MAX
#define ASCII_MASK 0x8080808080808080ull

static inline uint32_t pack(uint32_t need, uint32_t lo, uint32_t hi)
{
    return need << 16 | lo << 8 | hi;
}

size_t sio__utf8_scan(sio__utf8 *v, const uint8_t *p, size_t n)
{
    uint32_t st = v->state;
    size_t i = 0;

    if (st == REJECT) return 0;
    while (i < n) {
        if (st == 0) {
            /* Between code points: skip ASCII a word at a time. */
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & ASCII_MASK) break;
                i += 8;
            }
            if (i == n) break;
            uint8_t c = p[i];
            if (c < 0x80) {
                i++;
                continue;
            }
            if (c < 0xC2) goto reject; /* stray continuation, or overlong C0/C1 */
            if (c < 0xE0)
                st = pack(1, 0x80, 0xBF);
            else if (c < 0xF0)
                st = pack(2, c == 0xE0 ? 0xA0 : 0x80, c == 0xED ? 0x9F : 0xBF);
            else if (c < 0xF5)
                st = pack(3, c == 0xF0 ? 0x90 : 0x80, c == 0xF4 ? 0x8F : 0xBF);
            else
                goto reject;
            i++;
        } else {
            uint8_t c = p[i];
            if (c < (uint8_t)(st >> 8) || c > (uint8_t)st) goto reject;
            uint32_t need = (st >> 16) - 1;
            st = need ? pack(need, 0x80, 0xBF) : 0;
            i++;
        }
    }
    v->state = st;
    return n;

reject:
    v->state = REJECT;
    return i;
}

int sio__utf8_feed(sio__utf8 *v, const uint8_t *p, size_t n)
{
    return sio__utf8_scan(v, p, n) == n && v->state != REJECT ? 0 : SIO_EUTF8;
}

int sio__utf8_finish(const sio__utf8 *v)
{
    return v->state == 0 ? 0 : SIO_EUTF8;
}

int sio__utf8_valid(const uint8_t *p, size_t n)
{
    sio__utf8 v = {0};
    return sio__utf8_feed(&v, p, n) == 0 && v.state == 0;
}
