/*
 * What the clients say once connected, and the run's clock: the warm-up, the measured
 * window, the paced emits.
 *
 * In the hot path the emits are a precomputed JSON tail behind "42<id>", and an ack is
 * recognised by its "43<id>" prefix without decoding its payload: the generator must cost
 * far less per message than any server it drives, and a JSON tree per ack would not. Only
 * the CONNECT reply goes through the Socket.IO codec.
 */
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bench.h"

#include "eio/packet.h"
#include "sio/packet.h"

/* An echo-ack emit stamped with t: when it was sent (closed loop) or due (open loop). */
static void send_emit(client *c, uint64_t t)
{
    bench *b = c->b;
    char head[32];
    uint64_t id = c->next_id++;
    int hn = snprintf(head, sizeof head, "42%" PRIu64, id);
    c->sent_at[id & (b->ring - 1)] = t;
    b->sent++;
    if (b->tp->send(c, head, (size_t)hn, b->tail.data, b->tail.len)) b->failed_run = 1;
}

static void start_pacer(bench *b);
static void on_timer(uv_timer_t *t);

/* Rooms: receiver c's `join` is done (the ack of the `echo-ack` it sent after it came
 * back, and the server handles a socket's packets in order). Once every receiver's is,
 * the warm-up starts. */
static void rooms_joined(client *c)
{
    bench *b = c->b;
    if (!b->joining || c->index == 0) return;
    b->room_size[(c->index - 1) % b->rooms]++;
    b->joined++;
    if (--b->joining) return;
    start_pacer(b);
    uv_timer_start(&b->timer, on_timer, (uint64_t)(b->warmup * 1000), 0);
}

/* Closed loop: a new emit per ack, the latency from the send. Open loop: the latency from
 * the time the emit was due, so a stalled server shows in it (no coordinated omission),
 * counted for the emits due in the window, including the acks that come in the grace. */
static void on_ack(client *c, const uint8_t *d, size_t n)
{
    bench *b = c->b;
    uint64_t id = 0;
    size_t i = 1;
    while (i < n && d[i] >= '0' && d[i] <= '9') id = id * 10 + (uint64_t)(d[i++] - '0');
    if (i > 1 && b->scenario == SC_ROOMS) {
        rooms_joined(c);
        return;
    }
    if (i == 1 || b->scenario != SC_ECHO_ACK || b->phase >= PH_DONE) return;
    uint64_t now = uv_hrtime(), t = c->sent_at[id & (b->ring - 1)];
    c->acked++;
    b->acks++;
    if (!b->open_loop) {
        if (b->phase == PH_MEASURE) hist_add(&b->lat, (now - t) / 1000);
        send_emit(c, now);
        return;
    }
    if (b->phase >= PH_MEASURE && t >= b->t0_ns && t < b->t1_ns) {
        b->win_acks++;
        hist_add(&b->lat, (now - t) / 1000);
    }
    if (b->phase == PH_DRAIN && b->acks == b->sent) finish(b);
}

/* The CONNECT reply of a handshake: counted (with its latency from the connect) if it
 * came in the window, then the client starts over. */
static void handshake_done(client *c)
{
    bench *b = c->b;
    b->handshakes++;
    if (b->phase == PH_MEASURE) hist_add(&b->lat, (uv_hrtime() - c->t_start) / 1000);
    b->tp->done(c);
}

/* A Socket.IO packet (the payload of an Engine.IO message). */
static void on_sio(client *c, const uint8_t *d, size_t n)
{
    if (c->state == C_SIO) {
        sio__sp_packet p;
        if (sio__sp_decode(NULL, (const char *)d, n, &p, NULL) == 0) {
            int ok = p.type == SIO__SP_CONNECT;
            sio__sp_packet_clear(&p);
            if (ok && c->b->scenario == SC_HANDSHAKE) {
                handshake_done(c);
                return;
            }
            if (ok) {
                client_ready(c);
                return;
            }
        }
        fprintf(stderr, "sio-bench: client %u: CONNECT refused: %.*s\n", c->index, (int)n, d);
        client_close(c);
        return;
    }
    if (c->state != C_READY || !n) return;
    bench *b = c->b;
    if (d[0] == '3') {
        on_ack(c, d, n);
    } else if (d[0] == '2' && c->index != 0 && b->phase < PH_DONE &&
               (b->scenario == SC_BROADCAST || b->scenario == SC_ROOMS)) {
        b->deliveries++;
        if (b->phase == PH_DRAIN && b->deliveries == b->expected) finish(b);
    }
}

void sc_eio_packet(client *c, int type, const uint8_t *data, size_t len)
{
    bench *b = c->b;
    switch (type) {
    case SIO__EIO_PING:
        b->pings++;
        b->tp->send(c, "3", 1, data, len); /* the probe body, if any, comes back */
        break;
    case SIO__EIO_OPEN:
        if (c->state == C_OPEN) {
            c->state = C_SIO;
            b->tp->send(c, "40", 2, NULL, 0);
        }
        break;
    case SIO__EIO_MESSAGE:
        on_sio(c, data, len);
        break;
    case SIO__EIO_CLOSE:
        client_close(c);
        break;
    default:
        break;
    }
}

static void on_timer(uv_timer_t *t)
{
    bench *b = t->data;
    if (b->joining) {
        fprintf(stderr, "sio-bench: %u joins not acknowledged in 10 s\n", b->joining);
        b->failed_run = 1;
        finish(b);
    } else if (b->phase == PH_WARMUP) { /* warm-up over: measure */
        b->phase = PH_MEASURE;
        b->t0_ns = uv_hrtime();
        b->t1_ns = UINT64_MAX;
        b->acks0 = b->acks;
        b->emits0 = b->emits;
        b->deliveries0 = b->deliveries;
        b->handshakes0 = b->handshakes;
        b->pings0 = b->pings;
        b->ticks0 = proc_ticks(b->server_pid, &b->sys0);
        b->cpu0 = self_cpu_s();
        uv_timer_start(&b->timer, on_timer, (uint64_t)(b->seconds * 1000), 0);
    } else if (b->phase == PH_MEASURE && (b->open_loop || b->scenario == SC_ROOMS)) {
        /* a grace for the acks or deliveries under way */
        window_end(b);
        b->phase = PH_DRAIN;
        uv_poll_stop(&b->pacer);
        if (b->open_loop ? b->acks == b->sent : b->deliveries == b->expected)
            finish(b);
        else
            uv_timer_start(&b->timer, on_timer, (uint64_t)(b->grace * 1000), 0);
    } else if (b->phase == PH_MEASURE || b->phase == PH_DRAIN) {
        finish(b);
    }
}

/* Every tick (--tick-us), the emits --rate asks for by then: from the broadcast sender
 * (client 0), or, open-loop echo-ack, from every client in turn. Emit k is due at
 * pace_t0 + k / rate and belongs to the first tick at or after that; its latency counts
 * from that tick, so a generator late for a tick (behind on acks from a slow server) shows
 * it too. A client with a full ring of emits in flight (2 s worth: a sanity cap) skips its
 * turn. */
static void on_pace(uv_poll_t *h, int status, int events)
{
    bench *b = h->data;
    uint64_t expirations;
    if (read(b->pacer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) return;
    if (b->phase >= PH_DRAIN) return;
    /* The last tick (they are b->tick_ns apart from pace_t0) and emits 0..due-1, due by then. */
    uint64_t tick = (uv_hrtime() - b->pace_t0) / b->tick_ns * b->tick_ns;
    uint64_t due = (uint64_t)(b->rate * (double)tick / 1e9) + 1;
    if (b->scenario == SC_ECHO_ACK) {
        double every = 1e9 / b->rate;
        for (; b->emits < due; b->emits++) {
            client *c = &b->clients[b->emits % b->n];
            uint64_t at = (uint64_t)((double)b->emits * every); /* its tick: <= tick */
            at = b->pace_t0 + (at + b->tick_ns - 1) / b->tick_ns * b->tick_ns;
            if (at > b->pace_t0 + tick) at = b->pace_t0 + tick; /* rounding */
            if (c->state != C_READY || c->next_id - 1 - c->acked >= b->ring)
                b->skipped++;
            else
                send_emit(c, at);
        }
        return;
    }
    client *c = &b->clients[0];
    if (c->state != C_READY) return;
    if (b->scenario == SC_ROOMS) {
        char head[64];
        for (; b->emits < due; b->emits++) {
            uint32_t r = (uint32_t)(b->emits % b->rooms);
            int hn = snprintf(head, sizeof head, "42[\"to-room\",\"room-%u\",", r);
            b->expected += b->room_size[r];
            if (b->tp->send(c, head, (size_t)hn, b->tail.data, b->tail.len)) b->failed_run = 1;
        }
        return;
    }
    for (; b->emits < due; b->emits++)
        if (b->tp->send(c, "42", 2, b->tail.data, b->tail.len)) b->failed_run = 1;
}

static void start_pacer(bench *b)
{
    b->pace_t0 = uv_hrtime();
    struct timespec ts = {(time_t)(b->tick_ns / 1000000000), (long)(b->tick_ns % 1000000000)};
    struct itimerspec every = {ts, ts};
    if (timerfd_settime(b->pacer_fd, 0, &every, NULL) < 0 ||
        uv_poll_start(&b->pacer, UV_READABLE, on_pace) < 0) {
        fprintf(stderr, "sio-bench: timerfd: %s\n", strerror(errno));
        b->failed_run = 1;
    }
}

void sc_start(bench *b)
{
    if (b->scenario == SC_HANDSHAKE) {
        b->phase = PH_WARMUP;
        uv_timer_start(&b->timer, on_timer, (uint64_t)(b->warmup * 1000), 0);
        start_all(b);
        return;
    }
    if (b->failed) fprintf(stderr, "sio-bench: %u of %u connections failed\n", b->failed, b->n);
    if (!b->ready) {
        b->t0_ns = uv_hrtime();
        finish(b);
        return;
    }
    if (b->scenario == SC_ECHO_ACK && !b->open_loop)
        for (uint32_t i = 0; i < b->n; i++)
            if (b->clients[i].state == C_READY)
                for (uint32_t k = 0; k < b->window; k++) send_emit(&b->clients[i], uv_hrtime());
    if (b->scenario == SC_BROADCAST || b->open_loop) start_pacer(b);
    if (b->scenario == SC_ROOMS) { /* each receiver joins its room, then the warm-up */
        for (uint32_t i = 1; i < b->n; i++) {
            client *c = &b->clients[i];
            char join[64];
            int jn = snprintf(join, sizeof join, "42[\"join\",\"room-%u\"]", (i - 1) % b->rooms);
            if (c->state != C_READY) continue;
            b->joining++;
            if (b->tp->send(c, join, (size_t)jn, NULL, 0) ||
                b->tp->send(c, "421[\"echo-ack\"]", 15, NULL, 0))
                b->failed_run = 1;
        }
        if (b->joining) {
            uv_timer_start(&b->timer, on_timer, 10000, 0);
            return;
        }
        start_pacer(b);
    }
    double warm = b->scenario == SC_IDLE ? 0 : b->warmup;
    uv_timer_start(&b->timer, on_timer, (uint64_t)(warm * 1000), 0);
}
