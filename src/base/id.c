#include "base/id.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sio.h"

int sio__base64id(char out[21])
{
    unsigned char raw[15], enc[24];
    if (RAND_bytes(raw, sizeof(raw)) != 1) return SIO_EAGAIN;
    EVP_EncodeBlock(enc, raw, sizeof(raw)); /* 20 characters and a NUL, no padding */
    for (int i = 0; i < 21; i++) {
        char ch = (char)enc[i];
        out[i] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
    }
    return 0;
}
