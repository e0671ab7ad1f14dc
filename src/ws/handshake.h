/*
 * The WebSocket opening handshake (RFC 6455 section 4), both roles, without I/O: header
 * checks, Sec-WebSocket-Accept, subprotocol selection, and client keys.
 */
#ifndef SIO_WS_HANDSHAKE_H
#define SIO_WS_HANDSHAKE_H

#include <stddef.h>

/* True if the comma-separated header value contains token (case-insensitive). */
int sio__ws_header_has_token(const char *value, const char *token);

/*
 * Check an upgrade request. Arguments are header values (NULL when absent). Returns 0 when
 * it is a valid WebSocket handshake, 426 when the version is not 13 (answer with
 * "Sec-WebSocket-Version: 13"), or 400 otherwise; *why says what was wrong.
 */
int sio__ws_check_request(int is_get, int http_major, int http_minor, const char *upgrade,
                          const char *connection, const char *version, const char *key,
                          const char **why);

/* Sec-WebSocket-Accept for key: 28 characters and a NUL. */
void sio__ws_accept_key(const char *key, char out[29]);

/*
 * Choose a subprotocol: the first of the server's supported list (in its order of
 * preference) that the client offered in Sec-WebSocket-Protocol. Returns its index, or
 * -1 when none matches or nothing was offered.
 */
int sio__ws_select_protocol(const char *offered, const char *const *supported, size_t n);

/* A client key: base64 of 16 random bytes, 24 characters and a NUL. 0 or SIO_EAGAIN when
 * no randomness is available. */
int sio__ws_client_key(char out[25]);

/* Check a server's handshake response for key. 0, or SIO_EPROTO with *why set. */
int sio__ws_check_response(int status, const char *upgrade, const char *connection,
                           const char *accept, const char *key, const char **why);

#endif
