/*
 * The chat's payload rules (docs/chat-protocol.md): what a nickname, a room name, a
 * message, an image and a typing notice must look like, and the message record the chat
 * keeps and sends. Pure functions over jansson values, with no server or socket state, so
 * they are unit-tested (tests/unit/test_chat_msg.c) and fuzzed (tests/fuzz/fuzz_chat_msg.c)
 * on their own.
 *
 * The checks return NULL when the value is acceptable, else the reason as a constant
 * string ("must not be empty", ...), which the chat sends back in its ack.
 */
#ifndef SIO_CHAT_MSG_H
#define SIO_CHAT_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "sio.h"

#define CHAT_NAME_MAX_CHARS 32   /* nicknames and room names */
#define CHAT_TEXT_MAX_CHARS 2000 /* a message */
#define CHAT_FILE_NAME_MAX  255  /* an image's name, in bytes */
#define CHAT_TYPE_MAX       100  /* an image's MIME type, in bytes */

/* Names are at most 32 characters of up to 4 UTF-8 bytes each, and a NUL. */
#define CHAT_NAME_BUF (CHAT_NAME_MAX_CHARS * 4 + 1)
/* A room's library key: "#" and the name. */
#define CHAT_KEY_BUF (CHAT_NAME_BUF + 1)

/* Unicode characters in n bytes of valid UTF-8 (what jansson hands out). */
size_t chat_utf8_chars(const char *s, size_t n);

/*
 * A nickname or room name: a string of 1 to 32 characters once surrounding whitespace is
 * trimmed, without control characters or lone surrogates (the names are keys of the chat's
 * jansson objects, which take only UTF-8). On success the trimmed name is copied to out.
 */
const char *chat_check_name(const json_t *v, char out[CHAT_NAME_BUF]);

/* A message's text: a string of at most 2000 characters with something besides whitespace. */
const char *chat_check_text(const json_t *v);

/*
 * An image {name, type, data}: name a string of at most 255 bytes, type "image/..." of at
 * most 100 bytes, data binary of 1 to max_image bytes (*len gets its length).
 */
const char *chat_check_image(const json_t *arg, size_t max_image, size_t *len);

/* A typing notice's flag: only a JSON true means typing. */
int chat_typing(const json_t *arg);

/* The playground's text argument: a string of at most 2000 characters, else NULL. */
const char *chat_text_arg(const json_t *v);

/*
 * The library room behind a chat room. Every socket is also in a room named by its own id,
 * so chat rooms get a "#" prefix: no room name can then reach someone's private room.
 */
const char *chat_room_key(char key[CHAT_KEY_BUF], const char *room);

/* A message record {id, room, from, text, ts} (text is shared, not copied); NULL when out
 * of memory. */
json_t *chat_message_new(const char *id, const char *room, const char *from, json_t *text,
                         int64_t ts);

#endif
