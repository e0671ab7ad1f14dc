/*
 * sio-chat: the libsio demo chat server.
 *
 * A small multi-room chat, written to be read top to bottom as a tour of the public API
 * (include/sio.h): a server with static files and the browser client bundle, namespaces,
 * event handlers with acknowledgements, rooms, broadcasts, binary data, socket data and
 * connection state recovery. The event protocol it speaks is docs/chat-protocol.md.
 *
 * The chat's state is plain JSON (jansson values, the same type the API uses for event
 * arguments): an object of users keyed by nickname and an object of rooms keyed by name.
 * Each socket remembers its nickname in its socket data, which connection state recovery
 * restores along with the socket's rooms.
 *
 * Presence and recovery: when a user's connection drops, socket.io-client reconnects and
 * the server may recover the socket (same id, rooms, data, plus the packets it missed).
 * So a dropped connection does not make the user leave at once: the user is "away" for as
 * long as the server keeps the socket for recovery. Coming back within that time is
 * silent; not coming back makes the user leave every room, as an explicit disconnect does
 * at once.
 *
 * Besides the chat on "/", three small namespaces serve the /playground page.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio.h"

/* ---- limits and defaults (docs/chat-protocol.md lists them) ---- */

#define DEFAULT_ROOM      "general"
#define NAME_MAX_CHARS    32   /* nicknames and room names */
#define TEXT_MAX_CHARS    2000 /* a message */
#define FILE_NAME_MAX     255  /* an image's name */
#define ROOMS_PER_USER    20
#define DEFAULT_HISTORY   50
#define DEFAULT_MAX_IMAGE (1024 * 1024)

/* How long a disconnected socket can be recovered: also how long its user stays "away". */
#define RECOVERY_MS (2 * 60 * 1000)

/* Names are at most 32 characters of up to 4 UTF-8 bytes each. */
#define NAME_BUF (NAME_MAX_CHARS * 4 + 1)

struct chat {
    sio_namespace *nsp; /* "/": the chat itself */
    /* nickname -> {"id": socket id, "rooms": {room: true, ...}, "away_until": ms} */
    json_t *users;
    /* room name -> {"members": {nickname: true, ...}, "history": [message, ...]} */
    json_t *rooms;
    size_t history;   /* messages kept per room */
    size_t max_image; /* bytes */
    int64_t started;  /* ms since the epoch: makes message ids unique across restarts */
    uint64_t last_id;
    uv_timer_t sweep; /* once a second: users who did not come back leave */
};

/* ------------------------------------------------------------------------------------ */
/* Small helpers                                                                        */
/* ------------------------------------------------------------------------------------ */

/* Milliseconds since the epoch, the `ts` of messages. */
static int64_t now_ms(void)
{
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* One log line on stdout. */
__attribute__((format(printf, 1, 2))) static void log_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/*
 * Answer an event's ack with {ok: false, error: "..."}. sio_ack() is harmless when the
 * client did not ask for an ack (it returns SIO_ESTATE), so handlers call it regardless.
 */
__attribute__((format(printf, 2, 3))) static void fail(sio_event *ev, const char *fmt, ...)
{
    char error[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, sizeof error, fmt, ap);
    va_end(ap);
    sio_ack(ev, "{sb ss}", "ok", 0, "error", error);
}

/* The event's first argument (NULL when there is none). Borrowed, like every argument. */
static json_t *first_arg(sio_event *ev)
{
    return json_array_get(sio_event_args(ev), 0);
}

/* The string member `key` of obj, or NULL when obj is not an object or it is no string. */
static const char *string_member(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Unicode characters in n bytes of UTF-8 (jansson only hands out valid UTF-8). */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    return chars;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Check a nickname or room name and copy it, without surrounding whitespace, into out.
 * Returns NULL when it is valid, else why not ("must not be empty", ...).
 */
static const char *check_name(const json_t *v, char out[NAME_BUF])
{
    if (!json_is_string(v)) return "must be a string";
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    while (n > 0 && is_space(*s)) s++, n--;
    while (n > 0 && is_space(s[n - 1])) n--;
    if (n == 0) return "must not be empty";
    if (utf8_chars(s, n) > NAME_MAX_CHARS) return "must be at most 32 characters";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "must not contain control characters";
    memcpy(out, s, n);
    out[n] = '\0';
    return NULL;
}

/* Check a message's text: a string with something besides whitespace, at most 2000 chars. */
static const char *check_text(const json_t *v)
{
    if (!json_is_string(v)) return "text must be a string";
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), blank = 0;
    while (blank < n && is_space(s[blank])) blank++;
    if (blank == n) return "text must not be empty";
    if (utf8_chars(s, n) > TEXT_MAX_CHARS) return "text must be at most 2000 characters";
    return NULL;
}

/*
 * The library room behind a chat room. Every socket is also in a room named by its own
 * id, so chat rooms get a "#" prefix: no room name can then reach someone's private room.
 */
static const char *room_key(char key[NAME_BUF + 1], const char *room)
{
    snprintf(key, NAME_BUF + 1, "#%s", room);
    return key;
}

/* ------------------------------------------------------------------------------------ */
/* The chat's state                                                                     */
/* ------------------------------------------------------------------------------------ */

/* The nickname of the user logged in on s, or NULL. Borrowed from s's socket data. */
static const char *nickname_of(struct chat *chat, sio_socket *s)
{
    const char *nick = string_member(sio_socket_data(s), "nickname");
    json_t *user = json_object_get(chat->users, nick ? nick : "");
    if (!user) return NULL;
    const char *id = string_member(user, "id");
    return id && !strcmp(id, sio_socket_id(s)) ? nick : NULL;
}

static json_t *user_rooms(struct chat *chat, const char *nick)
{
    return json_object_get(json_object_get(chat->users, nick), "rooms");
}

static json_t *room_members(struct chat *chat, const char *room)
{
    return json_object_get(json_object_get(chat->rooms, room), "members");
}

static int in_room(struct chat *chat, const char *nick, const char *room)
{
    return json_object_get(user_rooms(chat, nick), room) != NULL;
}

/* [{name, count}]: "general" first, then every other room with members, oldest first. */
static json_t *rooms_list(struct chat *chat)
{
    json_t *list = json_array();
    const char *name;
    json_t *room;
    json_object_foreach (chat->rooms, name, room) {
        size_t count = json_object_size(json_object_get(room, "members"));
        json_array_append_new(list, json_pack("{ss sI}", "name", name, "count", (json_int_t)count));
    }
    return list;
}

/* Everyone on "/" (logged in or not) gets the room list whenever a count changes. */
static void broadcast_rooms(struct chat *chat)
{
    sio_broadcast_emit(sio_broadcast_nsp(chat->nsp), "rooms", "o", rooms_list(chat));
}

/* An id no other message or image has had, even before a restart. */
static const char *next_id(struct chat *chat, char buf[48])
{
    snprintf(buf, 48, "%llx-%llu", (unsigned long long)chat->started,
             (unsigned long long)++chat->last_id);
    return buf;
}

/*
 * nick leaves room: it tells the remaining members and forgets the room once it is empty
 * (except "general", which always exists). The caller takes care of the socket's own
 * library room and of broadcasting the new counts.
 */
static void leave_room(struct chat *chat, const char *nick, const char *room)
{
    char key[NAME_BUF + 1];
    json_t *members = room_members(chat, room);
    json_object_del(members, nick);
    size_t count = json_object_size(members);
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(chat->nsp), room_key(key, room)), "user left",
                       "{ss ss sI}", "room", room, "nickname", nick, "count", (json_int_t)count);
    log_line("%s left %s (%zu)", nick, room, count);
    if (count == 0 && strcmp(room, DEFAULT_ROOM)) json_object_del(chat->rooms, room);
}

/* The user is gone for good: leave every room, then forget the nickname. */
static void end_user(struct chat *chat, const char *nickname, const char *why)
{
    char nick[NAME_BUF];
    snprintf(nick, sizeof nick, "%s", nickname); /* the key itself is about to be freed */
    log_line("%s is gone (%s)", nick, why);
    json_t *rooms = user_rooms(chat, nick);
    int had_rooms = json_object_size(rooms) > 0;
    const char *room;
    json_t *unused;
    json_object_foreach (rooms, room, unused) leave_room(chat, nick, room);
    json_object_del(chat->users, nick);
    if (had_rooms) broadcast_rooms(chat);
}

/* Once a second: users who stayed away longer than a recovery is possible leave. */
static void on_sweep(uv_timer_t *t)
{
    struct chat *chat = t->data;
    int64_t now = now_ms();
    const char *nick;
    json_t *user, *tmp;
    json_object_foreach_safe (chat->users, tmp, nick, user) {
        json_int_t until = json_integer_value(json_object_get(user, "away_until"));
        if (until && now >= until) end_user(chat, nick, "did not come back");
    }
}

/* ------------------------------------------------------------------------------------ */
/* The chat's events (namespace "/")                                                    */
/* ------------------------------------------------------------------------------------ */

/*
 * The checks shared by message, typing and image: a logged-in user and a room the user is
 * in. Sets *nick and *room; returns NULL, or the error for the ack.
 */
static const char *check_member(struct chat *chat, sio_socket *s, const json_t *arg,
                                const char **nick, const char **room)
{
    *nick = nickname_of(chat, s);
    *room = string_member(arg, "room");
    if (!*nick) return "not logged in";
    if (!*room) return "room must be a string";
    if (!in_room(chat, *nick, *room)) return "not in that room";
    return NULL;
}

/*
 * The checks shared by join and leave: a logged-in user and a valid room name, copied to
 * room. Returns the nickname, or NULL once the ack has the error.
 */
static const char *check_user_and_room(struct chat *chat, sio_socket *s, sio_event *ev,
                                       char room[NAME_BUF])
{
    const char *nick = nickname_of(chat, s);
    const char *why = check_name(first_arg(ev), room);
    if (!nick) {
        fail(ev, "not logged in");
        return NULL;
    }
    if (why) {
        fail(ev, "room name %s", why);
        return NULL;
    }
    return nick;
}

/* login (nickname, ack) -> {ok, rooms} */
static void on_login(sio_socket *s, sio_event *ev, void *ud)
{
    struct chat *chat = ud;
    char nick[NAME_BUF];
    const char *why = check_name(first_arg(ev), nick), *current = nickname_of(chat, s);
    if (why) {
        fail(ev, "nickname %s", why);
        return;
    }
    json_t *holder = json_object_get(chat->users, nick);
    if (current && strcmp(current, nick)) {
        fail(ev, "already logged in as %s", current);
        return;
    }
    if (!current && holder && !json_object_get(holder, "away_until")) {
        fail(ev, "nickname is taken");
        return;
    }

    if (!current) {
        /* The holder's connection dropped: a new login with its nickname takes over. */
        if (holder) end_user(chat, nick, "replaced by a new login");
        json_object_set_new(chat->users, nick,
                            json_pack("{ss s{}}", "id", sio_socket_id(s), "rooms"));
        json_object_set_new(sio_socket_data(s), "nickname", json_string(nick));
        log_line("%s logged in as %s", sio_socket_id(s), nick);
    }
    sio_ack(ev, "{sb so}", "ok", 1, "rooms", rooms_list(chat));
}

/* join (room, ack) -> {ok, room, members, history}; the others get "user joined". */
static void on_join(sio_socket *s, sio_event *ev, void *ud)
{
    struct chat *chat = ud;
    char room[NAME_BUF], key[NAME_BUF + 1];
    const char *nick = check_user_and_room(chat, s, ev, room);
    if (!nick) return;
    int joining = !in_room(chat, nick, room);
    if (joining && json_object_size(user_rooms(chat, nick)) >= ROOMS_PER_USER) {
        fail(ev, "too many rooms (at most %d)", ROOMS_PER_USER);
        return;
    }

    if (joining) {
        if (!json_object_get(chat->rooms, room))
            json_object_set_new(chat->rooms, room, json_pack("{s{} s[]}", "members", "history"));
        json_object_set_new(user_rooms(chat, nick), room, json_true());
        json_object_set_new(room_members(chat, room), nick, json_true());
        sio_join(s, room_key(key, room));
        size_t count = json_object_size(room_members(chat, room));
        /* sio_broadcast_of(s): everyone but the sender, like socket.to(room) in Node. */
        sio_broadcast_emit(sio_to(sio_broadcast_of(s), key), "user joined", "{ss ss sI}", "room",
                           room, "nickname", nick, "count", (json_int_t)count);
        log_line("%s joined %s (%zu)", nick, room, count);
        broadcast_rooms(chat);
    }
    json_t *members = json_array();
    const char *member;
    json_t *unused;
    json_object_foreach (room_members(chat, room), member, unused)
        json_array_append_new(members, json_string(member));
    json_t *history = json_object_get(json_object_get(chat->rooms, room), "history");
    sio_ack(ev, "{sb ss so sO}", "ok", 1, "room", room, "members", members, "history", history);
}

/* leave (room, ack) -> {ok}; the remaining members get "user left". */
static void on_leave(sio_socket *s, sio_event *ev, void *ud)
{
    struct chat *chat = ud;
    char room[NAME_BUF], key[NAME_BUF + 1];
    const char *nick = check_user_and_room(chat, s, ev, room);
    if (!nick) return;
    if (!in_room(chat, nick, room)) {
        fail(ev, "not in that room");
        return;
    }

    json_object_del(user_rooms(chat, nick), room);
    sio_leave(s, room_key(key, room));
    leave_room(chat, nick, room);
    broadcast_rooms(chat);
    sio_ack(ev, "{sb}", "ok", 1);
}

/* message {room, text} -> {ok, id, ts}; the room, sender included, gets the message. */
static void on_message(sio_socket *s, sio_event *ev, void *ud)
{
    struct chat *chat = ud;
    json_t *arg = first_arg(ev), *text = json_object_get(arg, "text");
    const char *nick, *room;
    const char *error = check_member(chat, s, arg, &nick, &room);
    if (!error) error = check_text(text);
    if (error) {
        fail(ev, "%s", error);
        return;
    }

    char id[48], key[NAME_BUF + 1];
    int64_t ts = now_ms();
    json_t *msg = json_pack("{ss ss ss sO sI}", "id", next_id(chat, id), "room", room, "from", nick,
                            "text", text, "ts", (json_int_t)ts);
    /* sio_broadcast_nsp(): every socket of the namespace in the room, the sender too. */
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(chat->nsp), room_key(key, room)), "message", "O",
                       msg);

    json_t *history = json_object_get(json_object_get(chat->rooms, room), "history");
    json_array_append_new(history, msg);
    while (json_array_size(history) > chat->history) json_array_remove(history, 0);
    sio_ack(ev, "{sb ss sI}", "ok", 1, "id", id, "ts", (json_int_t)ts);
}

/* typing {room, typing} -> the room but the sender gets {room, nickname, typing}. */
static void on_typing(sio_socket *s, sio_event *ev, void *ud)
{
    struct chat *chat = ud;
    json_t *arg = first_arg(ev);
    const char *nick, *room;
    const char *error = check_member(chat, s, arg, &nick, &room);
    if (error) {
        fail(ev, "%s", error);
        return;
    }

    /* Volatile: a typing notice is worth nothing late, so it is neither queued behind a
     * slow connection nor kept for recovery. */
    char key[NAME_BUF + 1];
    int typing = json_is_true(json_object_get(arg, "typing"));
    sio_broadcast_emit(sio_volatile(sio_to(sio_broadcast_of(s), room_key(key, room))), "typing",
                       "{ss ss sb}", "room", room, "nickname", nick, "typing", typing);
    sio_ack(ev, "{sb}", "ok", 1);
}

/* The checks of an image's name, type and data (the room is check_member's). */
static const char *check_image(struct chat *chat, const json_t *arg, size_t *len)
{
    const char *type = string_member(arg, "type");
    const void *bytes;
    if (!json_is_string(json_object_get(arg, "name")) ||
        json_string_length(json_object_get(arg, "name")) > FILE_NAME_MAX)
        return "name must be a string of at most 255 bytes";
    if (!type || strncmp(type, "image/", 6) || strlen(type) > 100)
        return "type must be an image type (image/png, ...)";
    /* A binary argument (a Blob, ArrayBuffer or Buffer in JavaScript) arrives in place. */
    if (sio_binary_data(json_object_get(arg, "data"), &bytes, len) < 0)
        return "data must be binary";
    if (*len == 0) return "data must not be empty";
    if (*len > chat->max_image) return "image is too large";
    return NULL;
}

/* image {room, name, type, data} -> {ok, id, ts}; the room, sender included, gets it. */
static void on_image(sio_socket *s, sio_event *ev, void *ud)
{
    struct chat *chat = ud;
    json_t *arg = first_arg(ev);
    const char *nick, *room;
    size_t len = 0;
    const char *error = check_member(chat, s, arg, &nick, &room);
    if (!error) error = check_image(chat, arg, &len);
    if (error) {
        fail(ev, "%s", error);
        return;
    }

    char id[48], key[NAME_BUF + 1];
    int64_t ts = now_ms();
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(chat->nsp), room_key(key, room)), "image",
                       "{ss ss ss sO sO sO sI}", "id", next_id(chat, id), "room", room, "from",
                       nick, "name", json_object_get(arg, "name"), "type",
                       json_object_get(arg, "type"), "data", json_object_get(arg, "data"), "ts",
                       (json_int_t)ts);
    log_line("%s sent an image to %s (%zu bytes)", nick, room, len);
    sio_ack(ev, "{sb ss sI}", "ok", 1, "id", id, "ts", (json_int_t)ts);
}

/* Reasons after which the client reconnects by itself and the socket can be recovered. */
static int may_come_back(const char *reason)
{
    return !strcmp(reason, "transport close") || !strcmp(reason, "transport error") ||
           !strcmp(reason, "ping timeout") || !strcmp(reason, "forced close");
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    struct chat *chat = ud;
    const char *nick = nickname_of(chat, s);
    log_line("%s disconnected%s%s: %s", sio_socket_id(s), nick ? " as " : "", nick ? nick : "",
             reason);
    if (!nick || !strcmp(reason, "server shutting down")) return;
    if (may_come_back(reason)) {
        /* Keep the user (nickname, rooms) until recovery is no longer possible. */
        json_t *user = json_object_get(chat->users, nick);
        json_object_set_new(user, "away_until", json_integer(now_ms() + RECOVERY_MS + 1000));
        log_line("%s is away for up to %d s", nick, RECOVERY_MS / 1000);
        return;
    }
    end_user(chat, nick, reason);
}

/*
 * A recovered socket has its old id, rooms and socket data (so its nickname) back, and has
 * been sent what it missed. Its user is present again, with nothing to tell the others.
 * Returns 0 when the nickname went to a new login meanwhile: that socket is sent away.
 */
static int welcome_back(struct chat *chat, sio_socket *s)
{
    const char *nick = string_member(sio_socket_data(s), "nickname");
    if (!nick) return 1; /* it never logged in */
    if (!nickname_of(chat, s)) {
        log_line("%s recovered, but %s is someone else's now", sio_socket_id(s), nick);
        sio_disconnect(s, 0);
        return 0;
    }
    json_object_del(json_object_get(chat->users, nick), "away_until");
    log_line("%s is back (recovered %s)", nick, sio_socket_id(s));
    return 1;
}

static void on_chat_connection(sio_socket *s, void *ud)
{
    struct chat *chat = ud;
    log_line("%s connected from %s%s", sio_socket_id(s), sio_socket_address(s),
             sio_socket_recovered(s) ? " (recovered)" : "");
    if (sio_socket_recovered(s) && !welcome_back(chat, s)) return;
    /* Handlers belong to the socket object: a recovered socket registers them again. */
    sio_on(s, "login", on_login, chat);
    sio_on(s, "join", on_join, chat);
    sio_on(s, "leave", on_leave, chat);
    sio_on(s, "message", on_message, chat);
    sio_on(s, "typing", on_typing, chat);
    sio_on(s, "image", on_image, chat);
    sio_on_disconnect(s, on_disconnect, chat);
}

/* ------------------------------------------------------------------------------------ */
/* The playground's namespaces                                                          */
/* ------------------------------------------------------------------------------------ */

/* The first argument as a string of at most TEXT_MAX_CHARS characters, or NULL. */
static const char *text_arg(sio_event *ev)
{
    json_t *v = first_arg(ev);
    if (!json_is_string(v) ||
        utf8_chars(json_string_value(v), json_string_length(v)) > TEXT_MAX_CHARS)
        return NULL;
    return json_string_value(v);
}

/* hello (text) -> hello (text), to the sender only. */
static void on_hello(sio_socket *s, sio_event *ev, void *ud)
{
    const char *text = text_arg(ev);
    if (text) sio_emit(s, "hello", "s", text);
}

/* hello-ack (text, ack) -> ack {echo, ts} */
static void on_hello_ack(sio_socket *s, sio_event *ev, void *ud)
{
    const char *text = text_arg(ev);
    if (!text) {
        fail(ev, "text must be a string of at most 2000 characters");
        return;
    }
    sio_ack(ev, "{ss sI}", "echo", text, "ts", (json_int_t)now_ms());
}

/* shout (text) -> every other socket of the namespace gets shout {from, text}. */
static void on_shout(sio_socket *s, sio_event *ev, void *ud)
{
    const char *text = text_arg(ev);
    if (text)
        sio_broadcast_emit(sio_broadcast_of(s), "shout", "{ss ss}", "from", sio_socket_id(s),
                           "text", text);
}

static void on_playground_disconnect(sio_socket *s, const char *reason, void *ud)
{
    log_line("%s left %s: %s", sio_socket_id(s), sio_namespace_name(sio_socket_namespace(s)),
             reason);
}

static void on_playground_connection(sio_socket *s, void *ud)
{
    log_line("%s connected to /playground", sio_socket_id(s));
    sio_on(s, "hello", on_hello, NULL);
    sio_on(s, "hello-ack", on_hello_ack, NULL);
    sio_on(s, "shout", on_shout, NULL);
    sio_on_disconnect(s, on_playground_disconnect, NULL);
}

static void on_some_namespace_connection(sio_socket *s, void *ud)
{
    log_line("%s connected to /some-namespace", sio_socket_id(s));
    sio_emit(s, "welcome", "{ss ss}", "nsp", "/some-namespace", "id", sio_socket_id(s));
    sio_on(s, "hello", on_hello, NULL);
    sio_on_disconnect(s, on_playground_disconnect, NULL);
}

static int count_socket(sio_socket *s, void *ud)
{
    ++*(size_t *)ud;
    return 0; /* keep going */
}

/* join (roomId, ack) on /room -> join it, ack {ok, room, count}. */
static void on_room_join(sio_socket *s, sio_event *ev, void *ud)
{
    char room[NAME_BUF];
    const char *why = check_name(first_arg(ev), room);
    if (why) {
        fail(ev, "room %s", why);
        return;
    }
    sio_join(s, room);
    /* fetchSockets, here only to count the room's sockets. */
    size_t count = 0;
    sio_broadcast_fetch(sio_to(sio_broadcast_nsp(sio_socket_namespace(s)), room), count_socket,
                        &count);
    log_line("%s joined room %s on /room (%zu)", sio_socket_id(s), room, count);
    sio_ack(ev, "{sb ss sI}", "ok", 1, "room", room, "count", (json_int_t)count);
}

/* say {room, text} on /room -> the room (sender included if it joined) gets said. */
static void on_room_say(sio_socket *s, sio_event *ev, void *ud)
{
    json_t *arg = first_arg(ev);
    const char *room = string_member(arg, "room"), *text = string_member(arg, "text");
    if (!room || !text || check_text(json_object_get(arg, "text"))) return;
    sio_broadcast_emit(sio_to(sio_broadcast_nsp(sio_socket_namespace(s)), room), "said",
                       "{ss ss ss}", "room", room, "from", sio_socket_id(s), "text", text);
}

static void on_room_connection(sio_socket *s, void *ud)
{
    log_line("%s connected to /room", sio_socket_id(s));
    sio_on(s, "join", on_room_join, NULL);
    sio_on(s, "say", on_room_say, NULL);
    sio_on_disconnect(s, on_playground_disconnect, NULL);
}

/* ------------------------------------------------------------------------------------ */
/* main                                                                                 */
/* ------------------------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sio-chat [--host H] [--port P] [--public DIR] [--history N]\n"
            "                [--max-image BYTES] [--tls-cert FILE --tls-key FILE]\n"
            "\n"
            "  --host H           address to listen on (default: all interfaces, \"::\" and "
            "0.0.0.0)\n"
            "  --port P           TCP port (default: 3000)\n"
            "  --public DIR       directory with the chat page and its assets\n"
            "                     (default: apps/chat/public)\n"
            "  --history N        messages kept per room for newcomers (default: 50)\n"
            "  --max-image BYTES  largest image accepted (default: 1048576)\n"
            "  --tls-cert FILE    serve https and wss with this PEM certificate (chain)\n"
            "  --tls-key FILE     ... and this PEM private key (both are needed)\n"
            "  --help             show this help\n"
            "\n"
            "The browser client is served at /socket.io/socket.io.js. SIGINT or SIGTERM shuts\n"
            "the server down gracefully.\n");
}

/* A decimal number in [min, max], or -1. */
static long parse_number(const char *s, long min, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= min && v <= max ? v : -1;
}

int main(int argc, char **argv)
{
    const char *host = NULL, *public_dir = "apps/chat/public";
    const char *tls_cert = NULL, *tls_key = NULL;
    long port = 3000, history = DEFAULT_HISTORY, max_image = DEFAULT_MAX_IMAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--host") && v) {
            host = v, i++;
        } else if (!strcmp(a, "--port") && v && (port = parse_number(v, 0, 65535)) >= 0) {
            i++;
        } else if (!strcmp(a, "--public") && v) {
            public_dir = v, i++;
        } else if (!strcmp(a, "--tls-cert") && v) {
            tls_cert = v, i++;
        } else if (!strcmp(a, "--tls-key") && v) {
            tls_key = v, i++;
        } else if (!strcmp(a, "--history") && v && (history = parse_number(v, 0, 10000)) >= 0) {
            i++;
        } else if (!strcmp(a, "--max-image") && v &&
                   (max_image = parse_number(v, 1, 64L * 1024 * 1024)) >= 0) {
            i++;
        } else {
            fprintf(stderr, "sio-chat: unknown, incomplete or out-of-range option: %s\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!tls_cert != !tls_key) {
        fprintf(stderr, "sio-chat: --tls-cert and --tls-key go together\n\n");
        usage(stderr);
        return 2;
    }

    sio_server_options opts = {
        .static_dir = public_dir,
        /* Socket.IO's connectionStateRecovery: a page whose connection drops gets its socket
         * back, with what it missed. */
        .io.recovery_max_disconnection_ms = RECOVERY_MS,
        /* Room for the largest image and the rest of its packet; a bigger packet closes the
         * connection, as maxHttpBufferSize does in Node. */
        .io.max_http_buffer_size = (size_t)max_image + 64 * 1024,
        /* https and wss when a certificate is given. */
        .tls = {.cert_file = tls_cert, .key_file = tls_key},
    };
    sio_server *io = sio_server_new(NULL, &opts);
    if (!io) {
        fprintf(stderr, "sio-chat: cannot start (is --public %s a directory?%s)\n", public_dir,
                tls_cert ? " are the TLS certificate and key readable and a pair?" : "");
        return 1;
    }

    struct chat chat = {
        .users = json_object(),
        .rooms = json_pack("{s{s{} s[]}}", DEFAULT_ROOM, "members", "history"),
        .history = (size_t)history,
        .max_image = (size_t)max_image,
        .started = now_ms(),
    };
    chat.nsp = sio_of(io, "/");
    sio_on_connection(chat.nsp, on_chat_connection, &chat);
    sio_on_connection(sio_of(io, "/playground"), on_playground_connection, NULL);
    sio_on_connection(sio_of(io, "/some-namespace"), on_some_namespace_connection, NULL);
    sio_on_connection(sio_of(io, "/room"), on_room_connection, NULL);

    /* The sweep timer shares the server's loop. Unreferenced, it does not keep the loop
     * (and so sio_run()) going once the server has shut down. */
    uv_timer_init(sio_server_loop(io), &chat.sweep);
    chat.sweep.data = &chat;
    uv_timer_start(&chat.sweep, on_sweep, 1000, 1000);
    uv_unref((uv_handle_t *)&chat.sweep);

    int r;
    if (host) {
        r = sio_listen(io, host, (int)port);
    } else if ((r = sio_listen(io, "::", (int)port)) != 0) {
        r = sio_listen(io, "0.0.0.0", (int)port); /* no IPv6 on this machine */
    }
    if (r) {
        fprintf(stderr, "sio-chat: cannot listen on port %ld: %s\n", port, sio_strerror(r));
    } else {
        log_line("sio-chat: listening on %s://localhost:%d", tls_cert ? "https" : "http",
                 sio_server_port(io, 0));
        r = sio_run(io);
    }

    /* sio_server_free() runs the loop once more, which completes the timer's close. */
    uv_close((uv_handle_t *)&chat.sweep, NULL);
    sio_server_free(io);
    json_decref(chat.users);
    json_decref(chat.rooms);
    return r ? 1 : 0;
}
