/*
 * permessage-deflate (RFC 7692): parameter negotiation for both roles, and per-connection
 * compression and decompression of whole messages with zlib.
 */
#ifndef SIO_WS_DEFLATE_H
#define SIO_WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

typedef struct sio__pmd_params {
    uint8_t server_no_context_takeover, client_no_context_takeover;
    uint8_t server_max_window_bits, client_max_window_bits; /* 8..15; 0: not given */
} sio__pmd_params;

/* What this end asks for; zero means the defaults of Node's ws (context takeover on both
 * sides, 15 window bits). */
typedef struct sio__pmd_config {
    uint8_t server_no_context_takeover, client_no_context_takeover;
    uint8_t server_max_window_bits, client_max_window_bits;
} sio__pmd_config;

enum { SIO__PMD_SERVER = 0, SIO__PMD_CLIENT = 1 };

typedef struct sio__pmd sio__pmd;

/*
 * Server: choose the first acceptable permessage-deflate offer in a Sec-WebSocket-Extensions
 * value. Returns 1 and writes the response value into response, or 0 when nothing is
 * acceptable (the extension is then not used).
 */
int sio__pmd_negotiate(const char *offer, const sio__pmd_config *cfg, sio__pmd_params *out,
                       char *response, size_t response_len);
/* Client: the offer to send; 0 or SIO_ETOOBIG. */
int sio__pmd_offer(const sio__pmd_config *cfg, char *out, size_t outlen);
/* Client: check the server's answer; 0 or SIO_EPROTO. */
int sio__pmd_accept_response(const char *value, const sio__pmd_config *cfg, sio__pmd_params *out);

/* Per-connection state; the zlib streams are created on first use. NULL when out of memory. */
sio__pmd *sio__pmd_new(const sio__pmd_params *p, int role, size_t max_inflated);
void sio__pmd_free(sio__pmd *z);
/* Append the compressed payload of one whole message to out. 0, SIO_ENOMEM. */
int sio__pmd_compress(sio__pmd *z, const uint8_t *in, size_t n, sio__buf *out);
/* Append the inflated message to out: 0, SIO_ETOOBIG past max_inflated, SIO_EPROTO when
 * the data is corrupt, SIO_ENOMEM. */
int sio__pmd_decompress(sio__pmd *z, const uint8_t *in, size_t n, sio__buf *out);

#endif
