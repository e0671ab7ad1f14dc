/*
 * JSON as JavaScript reads it: JSON.parse into jansson values, and JSON.stringify's quoting
 * of strings. The Socket.IO codec (packet.c) uses these so that a payload read and written
 * back is what a Node server would send for the same text.
 *
 * The value model, where JavaScript and jansson differ:
 * - Numbers: JavaScript has one kind, the double. An integer literal (no fraction, no
 *   exponent) with a magnitude below 2^53 (a safe integer) becomes a json_integer; any other
 *   number becomes a json_real holding the nearest double (so 9007199254740993 reads as
 *   9007199254740992, and 1e2 as 100.0), and a number beyond the double range, which
 *   JavaScript reads as an infinity and JSON.stringify writes as null, becomes json_null.
 * - Strings are sequences of UTF-16 code units in JavaScript, so a \u escape of a lone
 *   surrogate ("\ud800") is a string there. Here strings are WTF-8: UTF-8 in which a lone
 *   surrogate is the 3-byte sequence of its code point (U+D800 is ED A0 80). A surrogate pair
 *   written as two escapes is one 4-byte character, as in UTF-8. Strings from the parser are
 *   valid UTF-8 unless they hold a lone surrogate, and never hold the byte 0xff. Keys and
 *   values may contain NUL ("\u0000"); read them with their lengths.
 * - Objects keep their members in the order of the text; a repeated key keeps the last value
 *   at the first key's place. (JavaScript also lists integer-like keys first when it
 *   enumerates an object; sio__sp_stringify writes them in that order.)
 */
#ifndef SIO_SIO_JSON_H
#define SIO_SIO_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"

/* The deepest nesting the parser accepts whatever it is asked: the depth that the recursive
 * walks over trees (packet.c) are written for. */
#define SIO__JSON_MAX_DEPTH 2048

/*
 * Parse s[0..n) as JSON.parse does (RFC 8259 JSON, white space around the value allowed),
 * into a new value in *out. s holds UTF-8; it need not be NUL-terminated. Arrays and objects
 * may nest max_depth deep (0 or more than SIO__JSON_MAX_DEPTH mean SIO__JSON_MAX_DEPTH).
 * Returns 0, SIO_EPROTO when the text is not JSON or not UTF-8 (*where, when where is not
 * NULL, gets the byte offset of the error), SIO_ETOOBIG when it nests deeper, SIO_ENOMEM.
 */
int sio__json_parse(const char *s, size_t n, size_t max_depth, json_t **out, size_t *where);

/*
 * Append s[0..n) quoted as JSON.stringify quotes it: '"', '\\' and control characters
 * escaped (the short forms where JSON has them, else \u00xx), a lone surrogate as \udxxx,
 * everything else as it is. s is WTF-8 (a high and a low surrogate in a row are written as
 * the pair's character, as JavaScript sees them); anything else is SIO_EUTF8. 0, SIO_EUTF8
 * or SIO_ENOMEM; on error out may hold part of the string (the caller truncates).
 */
int sio__json_put_string(sio__buf *out, const char *s, size_t n);

#endif
