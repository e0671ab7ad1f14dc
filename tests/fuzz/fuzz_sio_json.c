/*
 * libFuzzer target for the JSON parser and string quoting (src/sio/json.c) and the writer
 * (sio__sp_stringify in src/sio/packet.c).
 *
 * Input: one byte of options (max_depth: 0 for the default, else 1..32 or 2048), then the
 * JSON text. Checked:
 * - the parser returns 0, SIO_EPROTO or SIO_ETOOBIG, and a value exactly on success;
 * - against jansson, whose parser is strict RFC 8259 too but reads a narrower value model:
 *   every text without NUL bytes that jansson accepts (nested within the depth) is
 *   accepted, as an equal value (numbers by value, as JavaScript sees them);
 * - parse, write, parse again: the values are equal, and writing the second gives the same
 *   bytes (the writer's output is what the parser reads back, and canonical);
 * - the input as a string: sio__json_put_string accepts it exactly when it is WTF-8, and its
 *   quoting parses back to the same bytes when the input is UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio.h"
#include "sio/json.h"
#include "sio/packet.h"

static char *dup_exact(const uint8_t *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}

static size_t depth_of(const json_t *v)
{
    size_t d = 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            size_t k = depth_of(json_array_get(v, i));
            if (k > d) d = k;
        }
        return d + 1;
    }
    if (json_is_object(v)) {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            size_t k = depth_of(json_object_iter_value(it));
            if (k > d) d = k;
        }
        return d + 1;
    }
    return 0;
}

/* The deepest nesting of arrays and objects in a valid JSON text, counted as depth_of()
 * counts: what the parser's depth limit bounds. A value can be shallower than its text,
 * when a later duplicate key replaced a deeper member. */
static size_t text_depth(const char *s, size_t n)
{
    size_t d = 0, max = 0;
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_string) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_string = 0;
        } else if (s[i] == '"') {
            in_string = 1;
        } else if (s[i] == '[' || s[i] == '{') {
            if (++d > max) max = d;
        } else if (s[i] == ']' || s[i] == '}') {
            d--;
        }
    }
    return max;
}

/* Write v, parse it back and check the round trip; the written text goes in *out. */
static void roundtrip(const json_t *v, sio__buf *out)
{
    sio__buf again = SIO__BUF_INIT;
    if (sio__sp_stringify(out, v, SIO__JSON_MAX_DEPTH)) abort();
    char *text = dup_exact(out->data, out->len);
    json_t *w = NULL;
    if (sio__json_parse(text, out->len, 0, &w, NULL)) abort();
    if (!sio__sp_equal(v, w)) abort();
    if (sio__sp_stringify(&again, w, SIO__JSON_MAX_DEPTH)) abort();
    if (again.len != out->len || memcmp(again.data, out->data, out->len)) abort();
    json_decref(w);
    free(text);
    sio__buf_free(&again);
}

/* 1 when s[0..n) is UTF-8 (no surrogates). */
static int is_utf8(const uint8_t *s, size_t n)
{
    json_t *v = json_stringn(n ? (const char *)s : "", n); /* jansson checks */
    json_decref(v);
    return v != NULL;
}

/* 1 when s[0..n) is WTF-8: UTF-8 that may also hold U+D800 to U+DFFF. */
static int is_wtf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        size_t len;
        uint32_t c, min;
        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf)
            len = 2, c = b & 0x1f, min = 0x80;
        else if (b >= 0xe0 && b <= 0xef)
            len = 3, c = b & 0x0f, min = 0x800;
        else if (b >= 0xf0 && b <= 0xf4)
            len = 4, c = b & 0x07, min = 0x10000;
        else
            return 0;
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            c = c << 6 | (s[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff) return 0;
        i += len;
    }
    return 1;
}

static void check_string(const uint8_t *s, size_t n)
{
    sio__buf q = SIO__BUF_INIT;
    int rc = sio__json_put_string(&q, (const char *)s, n);
    if (rc != (is_wtf8(s, n) ? 0 : SIO_EUTF8)) abort();
    if (!rc) {
        char *text = dup_exact(q.data, q.len);
        json_t *v = NULL;
        if (sio__json_parse(text, q.len, 0, &v, NULL) || !json_is_string(v)) abort();
        if (is_utf8(s, n) && (json_string_length(v) != n || memcmp(json_string_value(v), s, n)))
            abort();
        sio__buf w = SIO__BUF_INIT;
        roundtrip(v, &w);
        sio__buf_free(&w);
        json_decref(v);
        free(text);
    }
    sio__buf_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    size_t max_depth = data[0] == 0xff ? SIO__JSON_MAX_DEPTH : data[0] % 33;
    data++, size--;
    char *text = dup_exact(data, size);

    json_t *v = NULL;
    size_t where = SIZE_MAX;
    int rc = sio__json_parse(text, size, max_depth, &v, &where);
    if (rc != 0 && rc != SIO_EPROTO && rc != SIO_ETOOBIG) abort();
    if (rc ? v != NULL || where > size : v == NULL) abort();
    size_t limit = max_depth ? max_depth : SIO__JSON_MAX_DEPTH;
    if (!rc && depth_of(v) > limit) abort();

    /* jansson: what it accepts within the depth limit (of the text: jansson has none of
     * its own), the parser accepts as the same value. (jansson's buffer reader takes a NUL
     * byte for the end of the text, which JSON.parse does not.) */
    json_error_t err;
    json_t *j = memchr(text, 0, size)
                    ? NULL
                    : json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (j && text_depth(text, size) <= limit) {
        if (rc || !sio__sp_equal(v, j)) abort();
    }
    json_decref(j);

    if (!rc) {
        sio__buf w = SIO__BUF_INIT;
        roundtrip(v, &w);
        sio__buf_free(&w);
    }
    json_decref(v);
    free(text);

    check_string(data, size);
    return 0;
}
