/*
 * The opening handshake's rules, kept apart from the connection so both roles share them
 * and tests can reach every branch. Hashing and base64 come from OpenSSL, which the
 * library links for TLS anyway.
 */
#include "ws/handshake.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "sio.h"

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int sio__ws_header_has_token(const char *value, const char *token)
{
    if (!value) return 0;
    size_t tl = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *start = p;
        while (*p && *p != ',') p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if ((size_t)(end - start) == tl && !strncasecmp(start, token, tl)) return 1;
    }
    return 0;
}

static int valid_key(const char *key)
{
    /* 16 bytes in base64: 22 characters and "==". */
    if (!key || strlen(key) != 24 || strcmp(key + 22, "==")) return 0;
    uint8_t raw[18];
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

int sio__ws_check_request(int is_get, int http_major, int http_minor, const char *upgrade,
                          const char *connection, const char *version, const char *key,
                          const char **why)
{
    const char *w = NULL;
    if (!is_get)
        w = "method must be GET";
    else if (http_major < 1 || (http_major == 1 && http_minor < 1))
        w = "HTTP/1.1 required";
    else if (!sio__ws_header_has_token(upgrade, "websocket"))
        w = "missing or invalid Upgrade header";
    else if (!sio__ws_header_has_token(connection, "upgrade"))
        w = "missing or invalid Connection header";
    else if (!version || strcmp(version, "13")) {
        if (why) *why = "unsupported WebSocket version";
        return 426;
    } else if (!valid_key(key))
        w = "missing or invalid Sec-WebSocket-Key";
    if (why) *why = w;
    return w ? 400 : 0;
}

void sio__ws_accept_key(const char *key, char out[29])
{
    uint8_t md[SHA_DIGEST_LENGTH];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
        EVP_DigestUpdate(ctx, key, strlen(key)) && EVP_DigestUpdate(ctx, GUID, sizeof(GUID) - 1) &&
        EVP_DigestFinal_ex(ctx, md, &len)) {
        EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
    } else {
        out[0] = 0;
    }
    EVP_MD_CTX_free(ctx);
}

int sio__ws_select_protocol(const char *offered, const char *const *supported, size_t n)
{
    if (!offered) return -1;
    for (size_t i = 0; i < n; i++)
        if (sio__ws_header_has_token(offered, supported[i])) return (int)i;
    return -1;
}

int sio__ws_client_key(char out[25])
{
    uint8_t raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1) return SIO_EAGAIN;
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
    return 0;
}

int sio__ws_check_response(int status, const char *upgrade, const char *connection,
                           const char *accept, const char *key, const char **why)
{
    char want[29];
    const char *w = NULL;
    if (status != 101)
        w = "status is not 101";
    else if (!sio__ws_header_has_token(upgrade, "websocket"))
        w = "missing or invalid Upgrade header";
    else if (!sio__ws_header_has_token(connection, "upgrade"))
        w = "missing or invalid Connection header";
    else {
        sio__ws_accept_key(key, want);
        if (!accept || strcmp(accept, want)) w = "Sec-WebSocket-Accept mismatch";
    }
    if (why) *why = w;
    return w ? SIO_EPROTO : 0;
}
