/*
 * The chat's payload rules: see chat_msg.h. Kept apart from main.c, which owns the state
 * and the sockets, so that everything a client's payload reaches before the chat's state
 * is one small module with its own tests and fuzzer.
 */
#include "chat_msg.h"

#include <stdio.h>
#include <string.h>

size_t chat_utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    return chars;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

const char *chat_check_name(const json_t *v, char out[CHAT_NAME_BUF])
{
    if (!json_is_string(v)) return "must be a string";
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    while (n > 0 && is_space(*s)) s++, n--;
    while (n > 0 && is_space(s[n - 1])) n--;
    if (n == 0) return "must not be empty";
    if (chat_utf8_chars(s, n) > CHAT_NAME_MAX_CHARS) return "must be at most 32 characters";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "must not contain control characters";
    /* JSON may spell a lone UTF-16 surrogate ("\ud800"), which the library hands over as
     * its 3-byte sequence, ED A0..BF xx: not UTF-8, so no jansson string or key, and a
     * name is both. */
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)s[i] == 0xED && (unsigned char)s[i + 1] >= 0xA0)
            return "must not contain lone surrogates";
    memcpy(out, s, n);
    out[n] = '\0';
    return NULL;
}

const char *chat_check_text(const json_t *v)
{
    if (!json_is_string(v)) return "text must be a string";
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), blank = 0;
    while (blank < n && is_space(s[blank])) blank++;
    if (blank == n) return "text must not be empty";
    if (chat_utf8_chars(s, n) > CHAT_TEXT_MAX_CHARS) return "text must be at most 2000 characters";
    return NULL;
}

const char *chat_check_image(const json_t *arg, size_t max_image, size_t *len)
{
    const char *type = json_string_value(json_object_get(arg, "type"));
    const json_t *name = json_object_get(arg, "name");
    const void *bytes;
    if (!json_is_string(name) || json_string_length(name) > CHAT_FILE_NAME_MAX)
        return "name must be a string of at most 255 bytes";
    if (!type || strncmp(type, "image/", 6) || strlen(type) > CHAT_TYPE_MAX)
        return "type must be an image type (image/png, ...)";
    /* A binary argument (a Blob, ArrayBuffer or Buffer in JavaScript) arrives in place. */
    if (sio_binary_data(json_object_get(arg, "data"), &bytes, len) < 0)
        return "data must be binary";
    if (*len == 0) return "data must not be empty";
    if (*len > max_image) return "image is too large";
    return NULL;
}

int chat_typing(const json_t *arg)
{
    return json_is_true(json_object_get(arg, "typing"));
}

const char *chat_text_arg(const json_t *v)
{
    if (!json_is_string(v) ||
        chat_utf8_chars(json_string_value(v), json_string_length(v)) > CHAT_TEXT_MAX_CHARS)
        return NULL;
    return json_string_value(v);
}

const char *chat_room_key(char key[CHAT_KEY_BUF], const char *room)
{
    snprintf(key, CHAT_KEY_BUF, "#%s", room);
    return key;
}

json_t *chat_message_new(const char *id, const char *room, const char *from, json_t *text,
                         int64_t ts)
{
    return json_pack("{ss ss ss sO sI}", "id", id, "room", room, "from", from, "text", text, "ts",
                     (json_int_t)ts);
}
