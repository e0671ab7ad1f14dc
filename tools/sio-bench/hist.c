/*
 * Latency histogram: fixed buckets, exact below 64 us, then 32 per power of two (about 3%
 * wide), so adding a sample is a shift and an increment and the table never grows.
 */
#include "bench.h"

static unsigned hist_index(uint64_t us)
{
    if (us < 64) return (unsigned)us;
    unsigned msb = 63u - (unsigned)__builtin_clzll(us);
    unsigned shift = msb - 5;
    unsigned idx = shift * HIST_SUB + (unsigned)(us >> shift);
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The middle of bucket idx, in microseconds. */
static uint64_t hist_value(unsigned idx)
{
    if (idx < 64) return idx;
    unsigned shift = idx / HIST_SUB - 1;
    uint64_t m = idx % HIST_SUB + HIST_SUB;
    return (m << shift) + ((1ull << shift) >> 1);
}

void hist_add(hist *h, uint64_t us)
{
    h->b[hist_index(us)]++;
    h->n++;
}

uint64_t hist_quantile(const hist *h, double q)
{
    if (!h->n) return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n), seen = 0;
    if (rank >= h->n) rank = h->n - 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > rank) return hist_value(i);
    }
    return hist_value(HIST_BUCKETS - 1);
}
