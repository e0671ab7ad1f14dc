/* The chat's payload rules (apps/chat/chat_msg.c): names, texts, images, typing, keys and
 * message records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chat_msg.h"
#include "sio/json.h"

/* chat_check_name on a JSON value given as text; out gets the trimmed name. */
static const char *name_of(const char *json, char out[CHAT_NAME_BUF])
{
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    strcpy(out, "(untouched)");
    const char *why = chat_check_name(v, out);
    json_decref(v);
    return why;
}

static void test_names(void **state)
{
    char out[CHAT_NAME_BUF];
    assert_null(name_of("\"alice\"", out));
    assert_string_equal(out, "alice");
    assert_null(name_of("\"  \\t bob smith \\r\\n\"", out));
    assert_string_equal(out, "bob smith");
    /* 32 characters, counted as code points: four-byte ones fill the buffer exactly. */
    char json[256] = "\"";
    for (int i = 0; i < 32; i++) strcat(json, "\xF0\x9F\x98\x80");
    strcat(json, "\"");
    assert_null(name_of(json, out));
    assert_int_equal(strlen(out), 128);
    assert_null(name_of("\"Zoë\"", out));
    assert_string_equal(out, "Zoë");
}

static void test_bad_names(void **state)
{
    char out[CHAT_NAME_BUF];
    assert_string_equal(name_of("42", out), "must be a string");
    assert_string_equal(name_of("null", out), "must be a string");
    assert_string_equal(name_of("{\"name\":\"x\"}", out), "must be a string");
    assert_string_equal(name_of("\"\"", out), "must not be empty");
    assert_string_equal(name_of("\" \\t\\n\"", out), "must not be empty");
    assert_string_equal(name_of("\"123456789012345678901234567890123\"", out),
                        "must be at most 32 characters");
    assert_string_equal(name_of("\"a\\u0000b\"", out), "must not contain control characters");
    assert_string_equal(name_of("\"a\\u007fb\"", out), "must not contain control characters");
    assert_string_equal(name_of("\"a\\u001bb\"", out), "must not contain control characters");
    assert_string_equal(out, "(untouched)");
}

/*
 * Regression (fuzz_chat_msg): JSON can spell a lone surrogate, which the library's parser
 * keeps as its 3-byte WTF-8 sequence. Such a name was accepted, and then could be neither a
 * key of the chat's user and room objects nor a jansson string: the login was acked but
 * never recorded. Surrogate pairs are fine.
 */
static void test_lone_surrogates(void **state)
{
    static const char *const bad[] = {
        "\"\\ud800\"",
        "\"a\\udfffb\"",
        "\" \\ud83d83d \"",
        "\"\\ude00\\ud83d\"",
    };
    char out[CHAT_NAME_BUF];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = NULL;
        assert_int_equal(sio__json_parse(bad[i], strlen(bad[i]), 0, &v, NULL), 0);
        assert_string_equal(chat_check_name(v, out), "must not contain lone surrogates");
        json_decref(v);
    }
    json_t *v = NULL;
    const char *pair = "\"\\ud83d\\ude00\"";
    assert_int_equal(sio__json_parse(pair, strlen(pair), 0, &v, NULL), 0);
    assert_null(chat_check_name(v, out));
    assert_string_equal(out, "\xF0\x9F\x98\x80");
    json_t *obj = json_object();
    assert_int_equal(json_object_set_new(obj, out, json_true()), 0);
    json_decref(obj);
    json_decref(v);
}

static const char *text_of(const char *json)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    const char *why = chat_check_text(v);
    json_decref(v);
    return why;
}

static void test_texts(void **state)
{
    assert_null(text_of("\"hi\""));
    assert_null(text_of("\"  hi  \""));
    assert_null(text_of("\"a\\u0000b\"")); /* a text may hold anything but only blanks */
    assert_string_equal(text_of("\"\""), "text must not be empty");
    assert_string_equal(text_of("\" \\n\\t\""), "text must not be empty");
    assert_string_equal(text_of("1"), "text must be a string");
    assert_string_equal(text_of("[\"hi\"]"), "text must be a string");

    char *long_text = malloc(2000 * 2 + 3);
    assert_non_null(long_text);
    long_text[0] = '"';
    for (int i = 0; i < 2000; i++) memcpy(long_text + 1 + 2 * i, "\xC3\xA9", 2);
    strcpy(long_text + 1 + 4000, "\"");
    assert_null(text_of(long_text));
    json_t *v = json_string("x");
    assert_string_equal(chat_text_arg(v), "x");
    json_decref(v);
    strcpy(long_text + 1 + 3998, "ab\"");
    assert_string_equal(text_of(long_text), "text must be at most 2000 characters");
    long_text[1 + 4000] = 0;
    v = json_string(long_text + 1);
    assert_null(chat_text_arg(v));
    json_decref(v);
    free(long_text);
    assert_null(chat_text_arg(NULL));
}

/* An image argument with binary data of n bytes (data NULL: the given JSON for data). */
static json_t *image(const char *name, const char *type, size_t n, json_t *data)
{
    static const uint8_t bytes[16] = {0x89, 'P', 'N', 'G'};
    return json_pack("{s:s?, s:s?, s:o}", "name", name, "type", type, "data",
                     data ? data : sio_binary(bytes, n));
}

static const char *check(json_t *arg, size_t max, size_t *len)
{
    const char *why = chat_check_image(arg, max, len);
    json_decref(arg);
    return why;
}

static void test_images(void **state)
{
    size_t len = 0;
    assert_null(check(image("a.png", "image/png", 16, NULL), 16, &len));
    assert_int_equal(len, 16);
    assert_string_equal(check(image("a.png", "image/png", 16, NULL), 15, &len),
                        "image is too large");
    assert_string_equal(check(image("a.png", "image/png", 0, NULL), 16, &len),
                        "data must not be empty");
    assert_string_equal(check(image("a.png", "image/png", 0, json_string("AAAA")), 16, &len),
                        "data must be binary");
    assert_string_equal(check(image("a.png", "text/plain", 4, NULL), 16, &len),
                        "type must be an image type (image/png, ...)");
    assert_string_equal(check(image("a.png", NULL, 4, NULL), 16, &len),
                        "type must be an image type (image/png, ...)");
    char type[128] = "image/";
    memset(type + 6, 'x', 95);
    assert_string_equal(check(image("a.png", type, 4, NULL), 16, &len),
                        "type must be an image type (image/png, ...)");
    type[100] = 0;
    assert_null(check(image("a.png", type, 4, NULL), 16, &len));
    assert_string_equal(check(image(NULL, "image/png", 4, NULL), 16, &len),
                        "name must be a string of at most 255 bytes");
    char name[300];
    memset(name, 'n', 256);
    name[256] = 0;
    assert_string_equal(check(image(name, "image/png", 4, NULL), 16, &len),
                        "name must be a string of at most 255 bytes");
    name[255] = 0;
    assert_null(check(image(name, "image/png", 4, NULL), 16, &len));
    assert_string_equal(chat_check_image(NULL, 16, &len),
                        "name must be a string of at most 255 bytes");
}

static void test_typing_and_keys(void **state)
{
    json_t *on = json_pack("{sb}", "typing", 1), *one = json_pack("{si}", "typing", 1);
    assert_true(chat_typing(on));
    assert_false(chat_typing(one)); /* only true itself, as the JavaScript client sends */
    assert_false(chat_typing(NULL));
    json_decref(on);
    json_decref(one);

    char key[CHAT_KEY_BUF], longest[CHAT_NAME_BUF];
    assert_string_equal(chat_room_key(key, "general"), "#general");
    memset(longest, 'r', sizeof longest - 1);
    longest[sizeof longest - 1] = 0;
    assert_int_equal(strlen(chat_room_key(key, longest)), CHAT_NAME_BUF);
    assert_int_equal(key[0], '#');
}

static void test_message_record(void **state)
{
    json_t *text = json_string("hello");
    json_t *m = chat_message_new("1-2", "general", "alice", text, 1700000000000);
    assert_non_null(m);
    char *s = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"from\":\"alice\",\"id\":\"1-2\",\"room\":\"general\","
                           "\"text\":\"hello\",\"ts\":1700000000000}");
    assert_ptr_equal(json_object_get(m, "text"), text); /* shared, not copied */
    free(s);
    json_decref(m);
    json_decref(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),           cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_lone_surrogates), cmocka_unit_test(test_texts),
        cmocka_unit_test(test_images),          cmocka_unit_test(test_typing_and_keys),
        cmocka_unit_test(test_message_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
