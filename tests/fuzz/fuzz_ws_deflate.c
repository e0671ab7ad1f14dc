/*
 * Fuzz permessage-deflate: negotiation with the input as an extensions header, inflating
 * the input under a small limit, and a compress/decompress round trip of the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sio.h"
#include "ws/deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char header[1024], resp[256];
    size_t hn = size < sizeof(header) - 1 ? size : sizeof(header) - 1;
    memcpy(header, data, hn);
    header[hn] = 0;
    sio__pmd_params p;
    if (sio__pmd_negotiate(header, NULL, &p, resp, sizeof(resp)) == 1) {
        sio__pmd_params back;
        if (sio__pmd_accept_response(resp, NULL, &back)) __builtin_trap();
    }
    (void)sio__pmd_accept_response(header, NULL, &p);

    sio__pmd_params none = {0};
    sio__pmd *z = sio__pmd_new(&none, SIO__PMD_SERVER, 64 * 1024);
    sio__buf out = SIO__BUF_INIT;
    int r = sio__pmd_decompress(z, data, size, &out);
    if (r == 0 && out.len > 64 * 1024) __builtin_trap();
    if (out.len > 64 * 1024 + 1) __builtin_trap();
    sio__pmd_free(z);

    sio__pmd *a = sio__pmd_new(&none, SIO__PMD_SERVER, 1 << 20);
    sio__pmd *b = sio__pmd_new(&none, SIO__PMD_CLIENT, 1 << 20);
    sio__buf zb = SIO__BUF_INIT;
    out.len = 0;
    if (sio__pmd_compress(a, data, size, &zb) || sio__pmd_decompress(b, zb.data, zb.len, &out) ||
        out.len != size || (size && memcmp(out.data, data, size)))
        __builtin_trap();
    sio__pmd_free(a);
    sio__pmd_free(b);
    sio__buf_free(&zb);
    sio__buf_free(&out);
    return 0;
}
