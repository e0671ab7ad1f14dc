/*
 * libFuzzer target for the Socket.IO packet decoder and its stream reassembly
 * (src/sio/packet.c).
 *
 * Input: one byte of options (bit 0: protocol v4; bits 1-3: max_attachments 1..7, 0 for the
 * default; bits 4-5: max_depth 2, 8 or 32, 0 for the default), then messages separated by
 * 0x1f. The first message is text; a later one is text when it starts with 0x1e (dropped),
 * binary otherwise. Messages are fed to one sio__sp_decoder, each from an exact-size copy so
 * ASan sees over-reads. Checked:
 * - the one-shot decoder and the stream decoder agree on the first message;
 * - every result is 0, SIO_EPROTO or SIO_ETOOBIG, and errors are sticky; an attachment fails
 *   only when none is awaited or when it is the last one and a placeholder names no attachment
 *   (socket.io-parser checks placeholders then);
 * - a decoded text packet is well formed: type 0..6, attachments exactly for 5 and 6, a
 *   valid payload for its type, a namespace starting with '/' (and in v4 free of '?' and
 *   '#'), an id within 2^53 - 1;
 * - every complete packet encodes (or, when placeholders named one attachment more often
 *   than max_attachments allows, fails with SIO_ETOOBIG), and the encoding decodes back to
 *   an equal packet whose encoding is the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio.h"
#include "sio/packet.h"

#define MAX_BLOBS 64

static char *dup_exact(const uint8_t *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}

static size_t count_binaries(const json_t *v)
{
    size_t n = 0;
    if (sio__sp_is_binary(v)) return 1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) n += count_binaries(json_array_get(v, i));
    } else if (json_is_object(v)) {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it))
            n += count_binaries(json_object_iter_value(it));
    }
    return n;
}

static int span_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (!a || !b) return a == b;
    return alen == blen && !memcmp(a, b, alen);
}

static void check_text_packet(const sio__sp_options *o, const sio__sp_packet *p)
{
    if (p->type > SIO__SP_BINARY_ACK) abort();
    int binary = p->type == SIO__SP_BINARY_EVENT || p->type == SIO__SP_BINARY_ACK;
    if (binary != (p->attachments > 0)) abort();
    size_t max = o->max_attachments ? o->max_attachments : SIO__SP_DEFAULT_MAX_ATTACHMENTS;
    if (p->attachments > max) abort();
    if (!sio__sp_payload_valid(o->version, p->type, p->data)) abort();
    if (!p->nsp_len || p->nsp[0] != '/' || memchr(p->nsp, ',', p->nsp_len)) abort();
    if (o->version == 4 && (memchr(p->nsp, '?', p->nsp_len) || memchr(p->nsp, '#', p->nsp_len)))
        abort();
    if (o->version != 4 && p->query) abort();
    if (p->has_id && p->id > SIO__SP_MAX_ID) abort();
    if (!p->has_id && p->id) abort();
    if (sio__sp_has_binary(p->data)) abort();
}

/* Encode p, decode the encoding with a fresh decoder, compare, and encode again. */
static void roundtrip(const sio__sp_options *o, const sio__sp_packet *p)
{
    sio__buf t1 = SIO__BUF_INIT, t2 = SIO__BUF_INIT;
    sio__sp_blob b1[MAX_BLOBS], b2[MAX_BLOBS];
    size_t max = o->max_attachments ? o->max_attachments : SIO__SP_DEFAULT_MAX_ATTACHMENTS;
    size_t bins = count_binaries(p->data);

    int n1 = sio__sp_encode(o, &t1, p, b1, MAX_BLOBS);
    if (bins > max) {
        if (n1 != SIO_ETOOBIG || t1.len) abort();
        goto done;
    }
    if (n1 < 0 || (size_t)n1 != bins) abort();

    sio__sp_decoder d;
    sio__sp_packet q = {0};
    sio__sp_decoder_init(&d, o);
    char *text = dup_exact(t1.data, t1.len);
    int rc = sio__sp_decoder_text(&d, text, t1.len, &q);
    if (rc != (n1 ? 0 : 1)) abort();
    for (int i = 0; i < n1; i++) {
        rc = sio__sp_decoder_binary(&d, b1[i].data, b1[i].len, &q);
        if (rc != (i + 1 == n1 ? 1 : 0)) abort();
    }
    if (q.type != p->type || q.has_id != p->has_id || q.id != p->id) abort();
    if (!span_equal(q.nsp, q.nsp_len, p->nsp, p->nsp_len)) abort();
    if (!span_equal(q.query, q.query_len, p->query, p->query_len)) abort();
    if (!sio__sp_equal(q.data, p->data)) abort();

    int n2 = sio__sp_encode(o, &t2, &q, b2, MAX_BLOBS);
    if (n2 != n1 || t2.len != t1.len || memcmp(t2.data, t1.data, t1.len)) abort();
    for (int i = 0; i < n1; i++)
        if (b2[i].len != b1[i].len || memcmp(b2[i].data, b1[i].data, b1[i].len)) abort();

    sio__sp_packet_clear(&q);
    sio__sp_decoder_free(&d);
    free(text);
done:
    sio__buf_free(&t1);
    sio__buf_free(&t2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t depths[] = {0, 2, 8, 32};
    if (!size) return 0;
    sio__sp_options o = {
        .version = data[0] & 1 ? 4 : 5,
        .max_attachments = (size_t)(data[0] >> 1 & 7),
        .max_depth = depths[data[0] >> 4 & 3],
    };
    data++, size--;

    sio__sp_decoder d;
    sio__sp_decoder_init(&d, &o);
    int sticky = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != 0x1f) continue;
        const uint8_t *m = data + start;
        size_t n = i - start;
        int text = start == 0 || (n && m[0] == 0x1e);
        if (start && text) m++, n--;
        start = i + 1;

        char *copy = dup_exact(m, n);
        sio__sp_packet p = {0};
        int rc;
        if (text) {
            /* The one-shot decoder must agree with the stream decoder when it is idle. */
            if (!sticky && !sio__sp_decoder_awaited(&d)) {
                sio__sp_packet one;
                const char *why = NULL;
                int r1 = sio__sp_decode(&o, copy, n, &one, &why);
                if (r1 != 0 && r1 != SIO_EPROTO && r1 != SIO_ETOOBIG) abort();
                if (r1 && (!why || one.data)) abort();
                if (!r1) {
                    check_text_packet(&o, &one);
                    if (!one.attachments) roundtrip(&o, &one);
                }
                sio__sp_packet_clear(&one);
                rc = sio__sp_decoder_text(&d, copy, n, &p);
                if (r1 ? rc != r1 : rc < 0) abort();
            } else {
                rc = sio__sp_decoder_text(&d, copy, n, &p);
            }
        } else {
            size_t awaited = sio__sp_decoder_awaited(&d);
            rc = sio__sp_decoder_binary(&d, copy, n, &p);
            const char *why = awaited ? "illegal attachments"
                                      : "got binary data when not reconstructing a packet";
            if (!sticky && rc < 0 && (awaited > 1 || strcmp(d.reason, why))) abort();
        }
        if (sticky && rc != sticky) abort();
        if (rc < 0) {
            if (rc != SIO_EPROTO && rc != SIO_ETOOBIG) abort();
            if (d.error != rc || !d.reason || sio__sp_decoder_awaited(&d)) abort();
            sticky = rc;
        } else if (rc == 1) {
            if (p.type > SIO__SP_CONNECT_ERROR) abort();
            roundtrip(&o, &p);
            sio__sp_packet_clear(&p);
        } else if (!sio__sp_decoder_awaited(&d)) {
            abort();
        }
        free(copy);
    }
    sio__sp_decoder_free(&d);
    return 0;
}
