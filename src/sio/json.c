/*
 * JSON.parse into jansson values, and JSON.stringify's string quoting (the value model is in
 * json.h).
 *
 * jansson's own parser is strict RFC 8259 too, but it reads a different value model: it
 * refuses a \u escape of a lone surrogate and a \u0000 in a key, both of which JSON.parse
 * takes, refuses numbers beyond the double range and integer literals beyond 64 bits, which
 * JSON.parse reads as an infinity and a rounded double, and keeps integers up to 2^63 exact
 * where a JavaScript peer has them rounded. Working around that from outside took a second
 * parse and still left the strings, so the parser is here: one pass over the text, building
 * the jansson values as it goes.
 *
 * The parser is iterative: a stack of the open arrays and objects, each attached to its
 * parent as soon as it opens (jansson containers are references, so they can be filled after
 * they are linked). A member's key is therefore used at once and never kept; the root owns
 * everything, and an error releases the root alone. Strings without escapes are copied once,
 * straight from the text into the jansson string; strings with escapes are decoded into a
 * scratch buffer first.
 *
 * Numbers: integer literals of at most 16 digits are read here; every other number goes to
 * strtod, which rounds correctly (glibc), as JavaScript does. strtod reads the locale's
 * decimal point, so the '.' is swapped for it, as jansson does.
 */
#include "sio/json.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "sio.h"
#include "ws/utf8.h"

/* The largest safe integer, Number.MAX_SAFE_INTEGER. */
#define MAX_SAFE 9007199254740991ull

typedef struct {
    const uint8_t *s;
    size_t n, i;
    size_t max_depth;
    json_t **stack; /* the open arrays and objects, innermost last; borrowed from root */
    size_t depth, cap;
    json_t *small[16]; /* the stack until it is deeper */
    json_t *root;
    const char *key; /* the key of the member being read, when the innermost is an object */
    size_t key_len;
    sio__buf keybuf, strbuf; /* decoded keys and string values with escapes */
} parser;

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(parser *p)
{
    while (p->i < p->n && is_space(p->s[p->i])) p->i++;
}

static int hex4(const uint8_t *s, uint32_t *u)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v |= (uint32_t)((c | 0x20) - 'a' + 10);
        else
            return -1;
    }
    *u = v;
    return 0;
}

/* Code point c (at most U+10FFFF; surrogates too) as UTF-8/WTF-8 into o; returns the length. */
static size_t put_code_point(uint8_t *o, uint32_t c)
{
    if (c < 0x80) return o[0] = (uint8_t)c, 1;
    if (c < 0x800) return o[0] = (uint8_t)(0xc0 | c >> 6), o[1] = (uint8_t)(0x80 | (c & 63)), 2;
    if (c < 0x10000) {
        o[0] = (uint8_t)(0xe0 | c >> 12);
        o[1] = (uint8_t)(0x80 | (c >> 6 & 63));
        o[2] = (uint8_t)(0x80 | (c & 63));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | c >> 18);
    o[1] = (uint8_t)(0x80 | (c >> 12 & 63));
    o[2] = (uint8_t)(0x80 | (c >> 6 & 63));
    o[3] = (uint8_t)(0x80 | (c & 63));
    return 4;
}

/*
 * The string starting at the '"' at p->i: its decoded bytes in *out and *len, pointing into the
 * text when it has no escapes, else into scratch. SIO_EPROTO or SIO_ENOMEM on error.
 */
static int read_string(parser *p, sio__buf *scratch, const char **out, size_t *len)
{
    const uint8_t *s = p->s;
    size_t start = ++p->i, i = start, n = p->n;
    uint8_t high = 0;

    for (; i < n && s[i] != '"' && s[i] != '\\'; i++) {
        if (s[i] < 0x20) goto bad;
        high |= s[i];
    }
    if (i == n) goto bad;
    if (s[i] == '"') {
        if (high & 0x80 && !sio__utf8_valid(s + start, i - start)) goto bad;
        *out = (const char *)s + start;
        *len = i - start;
        p->i = i + 1;
        return 0;
    }

    /* Escapes: decode into scratch. The raw runs between escapes are validated as one span
     * at the end (an escape is ASCII, so it never splits a UTF-8 sequence). */
    scratch->len = 0;
    size_t run = start;
    for (;;) {
        if (i == n) goto bad;
        uint8_t c = s[i];
        if (c == '"') break;
        if (c < 0x20) goto bad;
        high |= c;
        if (c != '\\') {
            i++;
            continue;
        }
        if (sio__buf_append(scratch, s + run, i - run)) return SIO_ENOMEM;
        if (++i == n) goto bad;
        uint8_t e[4];
        size_t k = 1;
        switch (s[i]) {
        case '"':
        case '\\':
        case '/':
            e[0] = s[i];
            break;
        case 'b':
            e[0] = '\b';
            break;
        case 'f':
            e[0] = '\f';
            break;
        case 'n':
            e[0] = '\n';
            break;
        case 'r':
            e[0] = '\r';
            break;
        case 't':
            e[0] = '\t';
            break;
        case 'u': {
            uint32_t u, lo;
            if (n - i < 5 || hex4(s + i + 1, &u)) goto bad;
            i += 4;
            /* A high surrogate followed by an escaped low one is one character. */
            if (u >= 0xd800 && u < 0xdc00 && n - i > 6 && s[i + 1] == '\\' && s[i + 2] == 'u' &&
                !hex4(s + i + 3, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
            k = put_code_point(e, u);
            break;
        }
        default:
            goto bad;
        }
        if (sio__buf_append(scratch, e, k)) return SIO_ENOMEM;
        run = ++i;
    }
    if (sio__buf_append(scratch, s + run, i - run)) return SIO_ENOMEM;
    if (high & 0x80 && !sio__utf8_valid(s + start, i - start)) goto bad;
    *out = scratch->len ? (const char *)scratch->data : "";
    *len = scratch->len;
    p->i = i + 1;
    return 0;
bad:
    p->i = i;
    return SIO_EPROTO;
}

/* The number at p->i, as JSON.parse reads it, in *out (see json.h). */
static int read_number(parser *p, json_t **out)
{
    const uint8_t *s = p->s;
    size_t n = p->n, start = p->i, i = start;
    int negative = 0, integer = 1;

    if (s[i] == '-') negative = 1, i++;
    if (i == n || s[i] < '0' || s[i] > '9') goto bad;
    size_t digits = i;
    uint64_t v = 0;
    if (s[i] == '0') {
        i++;
    } else {
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (i - digits < 16) v = v * 10 + (uint64_t)(s[i] - '0');
    }
    size_t ndigits = i - digits;
    if (i < n && s[i] == '.') {
        integer = 0;
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == f) goto bad;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integer = 0;
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t x = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == x) goto bad;
    }
    p->i = i;

    if (integer && ndigits <= 16 && v <= MAX_SAFE) {
        *out = json_integer(negative ? -(json_int_t)v : (json_int_t)v);
        return *out ? 0 : SIO_ENOMEM;
    }

    /* strtod on a NUL-terminated copy, with the locale's decimal point. */
    size_t len = i - start;
    char small[64], *c = len < sizeof small ? small : sio__malloc(len + 1);
    if (!c) return SIO_ENOMEM;
    memcpy(c, s + start, len);
    c[len] = 0;
    const char *point = localeconv()->decimal_point;
    if (point && point[0] && point[0] != '.' && !point[1]) {
        char *dot = memchr(c, '.', len);
        if (dot) *dot = point[0];
    }
    double d = strtod(c, NULL);
    if (c != small) sio__free(c);
    /* Beyond the double range: an infinity in JavaScript, which JSON.stringify writes as
     * null. json_real cannot hold one. */
    *out = isfinite(d) ? json_real(d) : json_null();
    return *out ? 0 : SIO_ENOMEM;
bad:
    p->i = i;
    return SIO_EPROTO;
}

/* Link v (a new reference, released on failure) into the innermost container, or make it the
 * root. */
static int attach(parser *p, json_t *v)
{
    if (!p->depth) {
        p->root = v;
        return 0;
    }
    json_t *top = p->stack[p->depth - 1];
    int rc = json_is_array(top) ? json_array_append_new(top, v)
                                : json_object_setn_new_nocheck(top, p->key, p->key_len, v);
    return rc ? SIO_ENOMEM : 0;
}

static int open_container(parser *p, json_t *c)
{
    if (!c) return SIO_ENOMEM;
    if (p->depth == p->max_depth) {
        json_decref(c);
        return SIO_ETOOBIG;
    }
    if (p->depth == p->cap) {
        /* The first levels live in the parser itself: most payloads allocate no stack. */
        size_t cap = p->cap * 2;
        if (cap > p->max_depth) cap = p->max_depth;
        json_t **st = sio__reallocarray(p->stack == p->small ? NULL : p->stack, cap, sizeof *st);
        if (!st) {
            json_decref(c);
            return SIO_ENOMEM;
        }
        if (p->stack == p->small) memcpy(st, p->small, sizeof(p->small));
        p->stack = st;
        p->cap = cap;
    }
    int rc = attach(p, c);
    if (!rc) p->stack[p->depth++] = c;
    return rc;
}

/* Read the key of the next member and its ':' (p->i at the key's '"'). */
static int read_key(parser *p)
{
    if (p->i == p->n || p->s[p->i] != '"') return SIO_EPROTO;
    int rc = read_string(p, &p->keybuf, &p->key, &p->key_len);
    if (rc) return rc;
    skip_space(p);
    if (p->i == p->n || p->s[p->i] != ':') return SIO_EPROTO;
    p->i++;
    return 0;
}

static int literal(parser *p, const char *word, size_t len, json_t *v)
{
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len)) return SIO_EPROTO;
    p->i += len;
    return attach(p, v);
}

/* One value at p->i (after white space); containers are opened, not read. */
static int read_value(parser *p)
{
    skip_space(p);
    if (p->i == p->n) return SIO_EPROTO;
    int rc;
    switch (p->s[p->i]) {
    case '[':
        p->i++;
        return open_container(p, json_array());
    case '{':
        p->i++;
        return open_container(p, json_object());
    case '"': {
        const char *str;
        size_t len;
        if ((rc = read_string(p, &p->strbuf, &str, &len))) return rc;
        json_t *v = json_stringn_nocheck(str, len);
        return v ? attach(p, v) : SIO_ENOMEM;
    }
    case 't':
        return literal(p, "true", 4, json_true());
    case 'f':
        return literal(p, "false", 5, json_false());
    case 'n':
        return literal(p, "null", 4, json_null());
    default: {
        json_t *v;
        if ((rc = read_number(p, &v))) return rc;
        return attach(p, v);
    }
    }
}

static int parse(parser *p)
{
    int rc = read_value(p);
    while (!rc && p->depth) {
        json_t *top = p->stack[p->depth - 1];
        int array = json_is_array(top);
        int fresh = array ? !json_array_size(top) : !json_object_size(top);
        skip_space(p);
        if (p->i == p->n) return SIO_EPROTO;
        uint8_t c = p->s[p->i];
        if (c == (array ? ']' : '}')) {
            /* Right after '[' or a value: a ',' is always followed by a value. */
            p->i++;
            p->depth--;
            continue;
        }
        if (!fresh) {
            if (c != ',') return SIO_EPROTO;
            p->i++;
            skip_space(p);
        }
        if (!array && (rc = read_key(p))) return rc;
        rc = read_value(p);
    }
    if (rc) return rc;
    skip_space(p);
    return p->i == p->n ? 0 : SIO_EPROTO;
}

int sio__json_parse(const char *s, size_t n, size_t max_depth, json_t **out, size_t *where)
{
    parser p = {.s = (const uint8_t *)s, .n = n};
    p.stack = p.small;
    p.cap = sizeof(p.small) / sizeof(p.small[0]);
    p.max_depth = max_depth && max_depth < SIO__JSON_MAX_DEPTH ? max_depth : SIO__JSON_MAX_DEPTH;
    int rc = parse(&p);
    if (p.stack != p.small) sio__free(p.stack);
    sio__buf_free(&p.keybuf);
    sio__buf_free(&p.strbuf);
    if (rc) {
        json_decref(p.root);
        if (where) *where = p.i;
        return rc;
    }
    *out = p.root;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Strings as JSON.stringify writes them                                                */
/* ------------------------------------------------------------------------------------ */

/*
 * The length of the WTF-8 sequence at s[0..n) (1 to 4), its code point in *c; 0 when s does
 * not start with one. WTF-8 is UTF-8 in which the code points U+D800 to U+DFFF are allowed.
 */
static size_t wtf8_next(const uint8_t *s, size_t n, uint32_t *c)
{
    uint8_t b = s[0];
    if (b < 0x80) return *c = b, 1;
    size_t len;
    uint32_t v, min;
    if (b >= 0xc2 && b <= 0xdf)
        len = 2, v = b & 0x1f, min = 0x80;
    else if (b >= 0xe0 && b <= 0xef)
        len = 3, v = b & 0x0f, min = 0x800;
    else if (b >= 0xf0 && b <= 0xf4)
        len = 4, v = b & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff) return 0;
    *c = v;
    return len;
}

static const char hex[] = "0123456789abcdef";

int sio__json_put_string(sio__buf *out, const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    if (n > SIZE_MAX - 2 || sio__buf_reserve(out, n + 2)) return SIO_ENOMEM;
    out->data[out->len++] = '"';
    size_t run = 0, i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        uint8_t esc[6] = {'\\', 0};
        size_t k = 2, len = 1;
        if (c >= 0x80) {
            uint32_t cp, lo;
            len = wtf8_next(s + i, n - i, &cp);
            if (!len) return SIO_EUTF8;
            if (cp < 0xd800 || cp > 0xdfff) {
                i += len;
                continue;
            }
            if (cp < 0xdc00 && n - i > 3 && wtf8_next(s + i + 3, n - i - 3, &lo) == 3 &&
                lo >= 0xdc00 && lo <= 0xdfff) {
                /* Two halves of one character: JavaScript sees the pair. */
                k = put_code_point(esc, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
                len = 6;
            } else {
                memcpy(esc, "\\ud", 3);
                esc[3] = (uint8_t)hex[cp >> 8 & 15];
                esc[4] = (uint8_t)hex[cp >> 4 & 15];
                esc[5] = (uint8_t)hex[cp & 15];
                k = 6;
            }
        } else {
            switch (c) {
            case '"':
            case '\\':
                esc[1] = c;
                break;
            case '\b':
                esc[1] = 'b';
                break;
            case '\f':
                esc[1] = 'f';
                break;
            case '\n':
                esc[1] = 'n';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            case '\t':
                esc[1] = 't';
                break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = (uint8_t)hex[c >> 4];
                esc[5] = (uint8_t)hex[c & 15];
                k = 6;
            }
        }
        if (sio__buf_append(out, s + run, i - run) || sio__buf_append(out, esc, k))
            return SIO_ENOMEM;
        i += len;
        run = i;
    }
    if (sio__buf_append(out, s + run, n - run) || sio__buf_append(out, "\"", 1)) return SIO_ENOMEM;
    return 0;
}
