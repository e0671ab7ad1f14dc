/*
 * libFuzzer target for the chat's payload rules (apps/chat/chat_msg.c), fed what a client's
 * event becomes on the server: the input is a Socket.IO packet as the chat's namespace gets
 * it, a text packet then binary attachments, separated by 0x1f, decoded by the real packet
 * decoder (src/sio/packet.c). The event is checked as sio-chat checks it (login, join and
 * leave take a name; message a text; typing a flag; image an image; the playground's
 * hello, hello-ack and shout a text), and what is accepted must be usable the way the chat
 * uses it:
 * - an accepted name is trimmed, 1 to 32 characters, free of control characters, and can
 *   be a jansson string and object key (the chat's state is keyed by names); its room key
 *   is "#" and the name, uncut;
 * - a text is accepted exactly when a plain reference accepts it; an accepted one makes a
 *   message record that the packet encoder writes, and that reads back equal;
 * - an accepted image is within its limits and its broadcast packet encodes.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat_msg.h"
#include "sio.h"
#include "sio/packet.h"

#define MAX_IMAGE 64

static char *dup_exact(const uint8_t *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}

static int space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Code points in WTF-8 (a lone surrogate is one 3-byte sequence). */
static size_t ref_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        chars++;
    }
    return chars;
}

/* The packet p's data encoded as an event and decoded back is the same value. */
static void check_encodes(json_t *data)
{
    sio__sp_packet p = {.type = SIO__SP_EVENT, .nsp = "/", .nsp_len = 1, .data = data};
    sio__sp_blob blobs[4];
    sio__buf out = SIO__BUF_INIT;
    int n = sio__sp_encode(NULL, &out, &p, blobs, 4);
    if (n < 0) abort();
    if (n == 0) {
        sio__sp_packet q;
        char *text = dup_exact(out.data, out.len);
        if (sio__sp_decode(NULL, text, out.len, &q, NULL) || !sio__sp_equal(q.data, data)) abort();
        sio__sp_packet_clear(&q);
        free(text);
    }
    sio__buf_free(&out);
}

static void check_name(const json_t *v)
{
    char out[CHAT_NAME_BUF], key[CHAT_KEY_BUF];
    if (chat_check_name(v, out)) return;
    size_t n = strlen(out);
    if (!n || space(out[0]) || space(out[n - 1]) || ref_chars(out, n) > CHAT_NAME_MAX_CHARS)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) abort();
    if (!memmem(json_string_value(v), json_string_length(v), out, n)) abort();
    /* The chat keeps users and rooms in jansson objects keyed by name. */
    json_t *obj = json_object();
    if (!obj || json_object_set_new(obj, out, json_true())) abort();
    json_t *msg = json_pack("[s{ss}]", "user joined", "room", out);
    if (!msg) abort();
    check_encodes(msg);
    json_decref(msg);
    json_decref(obj);
    if (strlen(chat_room_key(key, out)) != n + 1 || key[0] != '#' || strcmp(key + 1, out)) abort();
}

static void check_text(json_t *v)
{
    int want = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), blank = 0;
        while (blank < n && space(s[blank])) blank++;
        want = blank < n && ref_chars(s, n) <= CHAT_TEXT_MAX_CHARS;
    }
    if ((chat_check_text(v) == NULL) != want) abort();
    if ((chat_text_arg(v) != NULL) !=
        (json_is_string(v) &&
         ref_chars(json_string_value(v), json_string_length(v)) <= CHAT_TEXT_MAX_CHARS))
        abort();
    if (!want) return;
    json_t *m = chat_message_new("18c0-1", "general", "alice", v, 1700000000000);
    if (!m || json_object_get(m, "text") != v) abort();
    json_t *args = json_pack("[so]", "message", m);
    if (!args) abort();
    check_encodes(args);
    json_decref(args);
}

static void check_image(json_t *arg)
{
    size_t len = SIZE_MAX;
    if (chat_check_image(arg, MAX_IMAGE, &len)) return;
    const void *bytes;
    size_t n;
    if (len == 0 || len > MAX_IMAGE || sio_binary_data(json_object_get(arg, "data"), &bytes, &n) ||
        n != len)
        abort();
    const char *type = json_string_value(json_object_get(arg, "type"));
    if (!type || strncmp(type, "image/", 6) ||
        json_string_length(json_object_get(arg, "name")) > CHAT_FILE_NAME_MAX)
        abort();
    json_t *args = json_pack("[s{ss ss ss sO sO sO sI}]", "image", "id", "18c0-2", "room",
                             "general", "from", "alice", "name", json_object_get(arg, "name"),
                             "type", json_object_get(arg, "type"), "data",
                             json_object_get(arg, "data"), "ts", (json_int_t)1700000000000);
    if (!args) abort();
    check_encodes(args);
    json_decref(args);
}

static void check_event(json_t *data)
{
    const char *event = json_string_value(json_array_get(data, 0));
    json_t *arg = json_array_get(data, 1);
    if (!event) return;
    if (!strcmp(event, "login") || !strcmp(event, "join") || !strcmp(event, "leave")) {
        check_name(arg);
    } else if (!strcmp(event, "message")) {
        check_text(json_object_get(arg, "text"));
        check_name(json_object_get(arg, "room"));
    } else if (!strcmp(event, "typing")) {
        int typing = chat_typing(arg);
        if (typing != json_is_true(json_object_get(arg, "typing"))) abort();
    } else if (!strcmp(event, "image")) {
        check_image(arg);
    } else {
        check_text(arg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sio__sp_options o = {.version = 5};
    sio__sp_decoder d;
    sio__sp_decoder_init(&d, &o);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != 0x1f) continue;
        char *copy = dup_exact(data + start, i - start);
        sio__sp_packet p = {0};
        int rc = start == 0 ? sio__sp_decoder_text(&d, copy, i - start, &p)
                            : sio__sp_decoder_binary(&d, (uint8_t *)copy, i - start, &p);
        start = i + 1;
        if (rc == 1 && p.type == SIO__SP_EVENT) check_event(p.data);
        if (rc == 1) sio__sp_packet_clear(&p);
        free(copy);
        if (rc) break;
    }
    sio__sp_decoder_free(&d);
    return 0;
}
