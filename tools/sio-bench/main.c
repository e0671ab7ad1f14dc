/*
 * sio-bench: a load generator for Socket.IO servers, on libsio's own codecs and libuv.
 *
 * Every client is a raw TCP connection that does the WebSocket upgrade, the Engine.IO v4
 * open and the Socket.IO v5 CONNECT to "/", then answers Engine.IO pings; with --transport
 * polling, an Engine.IO long-polling session on two keep-alive HTTP/1.1 connections
 * (client_poll.c) instead. Frames are built
 * with the WebSocket codec (client role: masked) and parsed by it; Engine.IO packets go
 * through the Engine.IO codec; the CONNECT reply is decoded by the Socket.IO codec. In the
 * hot path the emits are a precomputed JSON tail behind "42<id>", and an ack is recognised
 * by its "43<id>" prefix without decoding its payload: the generator must cost far less
 * per message than any server it drives, and a JSON tree per ack would not.
 *
 * One loop, one process. Sends queued during a loop turn are written by one uv_prepare_t
 * (one write per connection per turn); reads share one slab. Connects are started at most
 * --concurrency at a time, from source addresses spread over 127.0.0.1..127.0.0.K
 * (--sources K, with IP_BIND_ADDRESS_NO_PORT so the source port is picked at connect time),
 * which lifts the 28k ephemeral-port ceiling of a single source address. bench.h lists the
 * other files; this one reads the options and prints the result.
 *
 * Scenarios (one JSON line on stdout per run; the key names follow bench/sio-load.mjs):
 *   idle      hold N connections for S seconds, heartbeats answered; the server's RSS
 *             before the connects and after the hold, its CPU ticks over the hold.
 *   echo-ack  N connections, W `echo-ack` emits in flight on each (a new one per ack);
 *             after a warm-up, acks, latency percentiles (fixed-bucket histogram) and the
 *             server's and the generator's CPU over the measured window. With --rate R it
 *             is open loop instead: R emits per second in all, round-robin over the
 *             clients, due every tick (--tick-us) whatever the acks; the latency runs from the
 *             time an emit was due, not sent (no coordinated omission). After the window,
 *             a grace of up to 2 s for the acks under way; emits never acked are `missed`.
 *   rooms     N receivers each join one of R rooms (`join`, round-robin), then one sender
 *             (client 0, in no room) emits `to-room` (room, payload) at --rate, cycling
 *             through the rooms; the deliveries in the window and the CPU per delivery,
 *             and, after a grace for those under way, whether every emit reached every
 *             member of its room (`missing`).
 *   handshake N clients at once each do a whole handshake (TCP connect, WebSocket
 *             upgrade, Engine.IO open, Socket.IO CONNECT and its reply), close with a
 *             reset and start over; after a warm-up, the handshakes completed, their
 *             latency from the connect, and the CPU per handshake.
 *   broadcast one sender (client 0) emits `broadcast` at --rate per second, and the server
 *             relays it to the N others; after a warm-up, the deliveries they count and the
 *             CPU per delivery over the measured window.
 * The server's figures come from /proc/PID/{stat,status} when --server-pid is given.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"

#include "base/alloc.h"
#include "sio/packet.h"

void window_end(bench *b)
{
    b->t1_ns = uv_hrtime();
    b->ticks1 = proc_ticks(b->server_pid, &b->sys1);
    b->cpu1 = self_cpu_s();
}

/* CPU ticks as µs per unit (per: 1e6 / units), -1 for ticks that could not be read. */
static double ticks_us(long ticks, double per)
{
    return ticks >= 0 ? (double)ticks / (double)sysconf(_SC_CLK_TCK) * per : -1;
}

/* The latency percentiles, as ,"p50_us":..,"p999_us":.. */
static void print_latency(const bench *b)
{
    printf(",\"p50_us\":%" PRIu64 ",\"p90_us\":%" PRIu64 ",\"p99_us\":%" PRIu64
           ",\"p999_us\":%" PRIu64,
           hist_quantile(&b->lat, 0.5), hist_quantile(&b->lat, 0.9), hist_quantile(&b->lat, 0.99),
           hist_quantile(&b->lat, 0.999));
}

void finish(bench *b)
{
    if (b->phase != PH_DRAIN) window_end(b);
    long rss_after = proc_rss_kb(b->server_pid);
    b->phase = PH_DONE;
    double wall = (double)(b->t1_ns - b->t0_ns) / 1e9;
    long ticks = b->ticks1 >= 0 && b->ticks0 >= 0 ? b->ticks1 - b->ticks0 : -1;
    long sys = ticks >= 0 ? b->sys1 - b->sys0 : -1;
    double client_cpu = b->cpu1 - b->cpu0;
    static const char *const names[] = {"idle", "echo-ack", "broadcast", "handshake", "rooms"};
    /* What every scenario reports; a handshake client is one of n slots, never "ready". */
    printf("{\"scenario\":\"%s\",\"transport\":\"%s\",\"connections\":%u,\"failed\":%u,"
           "\"lost\":%u,\"pings\":%" PRIu64 ",\"wall_s\":%.3f,\"server_ticks\":%ld,"
           "\"server_sys_ticks\":%ld,\"client_cpu_s\":%.3f",
           names[b->scenario], b->tp->name, b->scenario == SC_HANDSHAKE ? b->n : b->ready,
           b->failed, b->lost, b->pings - b->pings0, wall, ticks, sys, client_cpu);
    /* The scenario's unit (delivery, handshake, ack) counted in the window, and its name. */
    uint64_t count = 1;
    const char *unit = NULL;
    if (b->scenario == SC_IDLE) {
        printf(",\"rss_before_kb\":%ld,\"rss_after_kb\":%ld", b->rss_before, rss_after);
    } else if (b->scenario == SC_BROADCAST || b->scenario == SC_ROOMS) {
        count = b->deliveries - b->deliveries0;
        unit = "delivery";
        printf(",\"receivers\":%u", b->n - 1);
        if (b->scenario == SC_ROOMS) printf(",\"rooms\":%u", b->rooms);
        printf(",\"rate\":%.0f,\"payload_bytes\":%u,\"emits\":%" PRIu64 ",\"deliveries\":%" PRIu64
               ",\"deliveries_per_s\":%.0f",
               b->rate, b->payload_size, b->emits - b->emits0, count,
               wall > 0 ? (double)count / wall : 0);
        if (b->scenario == SC_ROOMS) {
            /* Deliveries in the window; missing counts over the whole run, after the grace. */
            printf(",\"expected_total\":%" PRIu64 ",\"delivered_total\":%" PRIu64
                   ",\"missing\":%" PRId64,
                   b->expected, b->deliveries, (int64_t)(b->expected - b->deliveries));
            if (b->expected != b->deliveries) b->failed_run = 1;
        }
    } else if (b->scenario == SC_HANDSHAKE) {
        count = b->handshakes - b->handshakes0;
        unit = "handshake";
        printf(",\"handshakes\":%" PRIu64 ",\"handshakes_total\":%" PRIu64
               ",\"handshakes_per_s\":%.0f",
               count, b->handshakes, wall > 0 ? (double)count / wall : 0);
        print_latency(b);
    } else {
        /* Closed loop: every ack in the window. Open loop: the acks of the emits due in it,
         * and what was never acked (missed, after the grace) or never sent (skipped). */
        count = b->open_loop ? b->win_acks : b->acks - b->acks0;
        unit = "ack";
        printf(",\"window\":%u,\"rate\":%.0f,\"payload_bytes\":%u", b->open_loop ? 0 : b->window,
               b->open_loop ? b->rate : 0, b->payload_size);
        if (b->open_loop)
            printf(",\"emits\":%" PRIu64 ",\"emits_per_s\":%.0f,\"missed\":%" PRIu64
                   ",\"skipped\":%" PRIu64,
                   b->emits - b->emits0, wall > 0 ? (double)(b->emits - b->emits0) / wall : 0,
                   b->sent - b->acks, b->skipped);
        printf(",\"acks\":%" PRIu64 ",\"acks_per_s\":%.0f", count,
               wall > 0 ? (double)count / wall : 0);
        print_latency(b);
    }
    if (unit) {
        double per = count ? 1e6 / (double)count : 0;
        printf(",\"server_us_per_%s\":%.3f,\"server_sys_us_per_%s\":%.3f,"
               "\"client_us_per_%s\":%.3f",
               unit, ticks_us(ticks, per), unit, ticks_us(sys, per), unit, client_cpu * per);
    }
    printf("}\n");
    if (!count) b->failed_run = 1;
    fflush(stdout);
    if (b->failed || b->lost || (b->scenario != SC_HANDSHAKE && b->ready != b->n))
        b->failed_run = 1;
    for (uint32_t i = 0; i < b->n; i++) client_close(&b->clients[i]);
    uv_close((uv_handle_t *)&b->timer, NULL);
    uv_close((uv_handle_t *)&b->pacer, NULL);
    uv_close((uv_handle_t *)&b->flush, NULL);
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: sio-bench --port P [options]\n"
               "  --host IP            server address (IPv4, default 127.0.0.1)\n"
               "  --path PATH          Engine.IO path (default /socket.io/)\n"
               "  --scenario NAME      idle (default), echo-ack, broadcast, rooms or handshake\n"
               "  --transport T        websocket (default) or polling: Engine.IO long-polling\n"
               "                       over two keep-alive HTTP/1.1 connections per client\n"
               "  --connections N      clients; broadcast, rooms: receivers, plus one sender;\n"
               "                       handshake: handshakes under way at once (default 1)\n"
               "  --rooms R            rooms: rooms the receivers join (default 1)\n"
               "  --seconds S          measured window: the hold (idle) or the run (default 2)\n"
               "  --warmup S           unmeasured seconds first, but for idle (default 1)\n"
               "  --window W           echo-ack: emits in flight per client (default 1)\n"
               "  --rate R             broadcast, rooms: the sender's emits per second (default\n"
               "                       100); echo-ack: open loop, R emits per second over all\n"
               "                       clients whatever the acks (default: closed loop)\n"
               "  --tick-us T          paced emits (--rate) go out in bursts every T us\n"
               "                       (default 200)\n"
               "  --payload-size B     bytes of the emitted string (default 32)\n"
               "  --concurrency K      connects under way at once (default 64)\n"
               "  --sources K          spread source addresses over 127.0.0.1..127.0.0.K\n"
               "                       (default 1: no bind)\n"
               "  --server-pid PID     read the server's CPU ticks and RSS from /proc/PID\n"
               "Prints one JSON line: scenario, transport, connections, failed, lost, pings,\n"
               "wall_s, server_ticks, server_sys_ticks (its part in the kernel), client_cpu_s,\n"
               "and, per unit (ack, delivery, handshake), server_us_per_U,\n"
               "server_sys_us_per_U and client_us_per_U, and:\n"
               "  idle       rss_before_kb, rss_after_kb\n"
               "  echo-ack   acks, acks_per_s, p50_us, p90_us, p99_us, p999_us; with --rate\n"
               "             also emits, emits_per_s, missed (never acked), skipped (not\n"
               "             sent: cap)\n"
               "  broadcast  receivers, emits, deliveries, deliveries_per_s\n"
               "  rooms      the same and rooms, expected_total, delivered_total, missing\n"
               "  handshake  handshakes, handshakes_total (with the warm-up), handshakes_per_s,\n"
               "             p50_us..\n"
               "Figures that need --server-pid are -1 without it. Exits 1 if a connection\n"
               "failed or was lost, nothing was acked, delivered or handshaken, or a room emit\n"
               "is missing; 2 on bad arguments.\n");
}

static int parse_args(bench *b, int argc, char **argv)
{
    static const struct option longs[] = {
        {"host", 1, NULL, 'H'},         {"port", 1, NULL, 'p'},
        {"path", 1, NULL, 'P'},         {"scenario", 1, NULL, 's'},
        {"connections", 1, NULL, 'n'},  {"seconds", 1, NULL, 'S'},
        {"warmup", 1, NULL, 'u'},       {"window", 1, NULL, 'w'},
        {"payload-size", 1, NULL, 'b'}, {"concurrency", 1, NULL, 'k'},
        {"sources", 1, NULL, 'a'},      {"server-pid", 1, NULL, 'i'},
        {"rate", 1, NULL, 'r'},         {"rooms", 1, NULL, 'R'},
        {"tick-us", 1, NULL, 't'},      {"transport", 1, NULL, 'T'},
        {"help", 0, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int o, rate_set = 0;
    while ((o = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (o) {
        case 'H':
            b->host = optarg;
            break;
        case 'p':
            b->port = atoi(optarg);
            break;
        case 'r':
            b->rate = atof(optarg);
            rate_set = 1;
            break;
        case 'P':
            b->path = optarg;
            break;
        case 'T':
            if (!strcmp(optarg, "websocket"))
                b->tp = &ws_transport;
            else if (!strcmp(optarg, "polling"))
                b->tp = &poll_transport;
            else {
                fprintf(stderr, "sio-bench: unknown transport %s\n", optarg);
                return -1;
            }
            break;
        case 't':
            b->tick_ns = (uint64_t)(atof(optarg) * 1000);
            break;
        case 'R':
            b->rooms = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 's':
            if (!strcmp(optarg, "idle"))
                b->scenario = SC_IDLE;
            else if (!strcmp(optarg, "echo-ack"))
                b->scenario = SC_ECHO_ACK;
            else if (!strcmp(optarg, "broadcast"))
                b->scenario = SC_BROADCAST;
            else if (!strcmp(optarg, "handshake"))
                b->scenario = SC_HANDSHAKE;
            else if (!strcmp(optarg, "rooms"))
                b->scenario = SC_ROOMS;
            else {
                fprintf(stderr, "sio-bench: unknown scenario %s\n", optarg);
                return -1;
            }
            break;
        case 'n':
            b->n = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'S':
            b->seconds = atof(optarg);
            break;
        case 'u':
            b->warmup = atof(optarg);
            break;
        case 'w':
            b->window = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            b->payload_size = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'k':
            b->concurrency = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'a':
            b->sources = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'i':
            b->server_pid = atol(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc || b->port <= 0 || b->port > 65535 || !b->n || !b->window ||
        !b->concurrency || !b->sources || b->sources > 254 || b->seconds <= 0 || b->warmup < 0 ||
        b->payload_size > (1u << 24) || b->window > (1u << 20) || !(b->rate > 0) ||
        b->n > (1u << 24) || !b->rooms || b->rooms > b->n || b->tick_ns < 10000 ||
        b->tick_ns > 10000000000ull) {
        usage(stderr);
        return -1;
    }
    if (b->scenario == SC_BROADCAST || b->scenario == SC_ROOMS) b->n++; /* client 0 sends */
    b->open_loop = b->scenario == SC_ECHO_ACK && rate_set;
    return 0;
}

/* The args of every emit, encoded once: ["echo-ack","yyy..."] or ["broadcast","yyy..."],
 * or for rooms what follows the room: "yyy..."]. */
static int build_tail(bench *b)
{
    char *s = sio__malloc(b->payload_size + 1);
    if (!s) return SIO_ENOMEM;
    memset(s, 'y', b->payload_size);
    s[b->payload_size] = 0;
    json_t *args =
        b->scenario == SC_ROOMS
            ? json_pack("[s]", s)
            : json_pack("[ss]", b->scenario == SC_BROADCAST ? "broadcast" : "echo-ack", s);
    sio__free(s);
    if (!args) return SIO_ENOMEM;
    int rc = sio__sp_stringify(&b->tail, args, 0);
    json_decref(args);
    if (rc >= 0 && b->scenario == SC_ROOMS) sio__buf_consume(&b->tail, 1); /* "yyy"] */
    return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
    bench b = {.tp = &ws_transport,
               .host = "127.0.0.1",
               .path = "/socket.io/",
               .n = 1,
               .window = 1,
               .concurrency = 64,
               .sources = 1,
               .payload_size = 32,
               .seconds = 2,
               .rate = 100,
               .rooms = 1,
               .tick_ns = 200000,
               .grace = 2,
               .warmup = 1};
    if (parse_args(&b, argc, argv)) return 2;

    /* As many descriptors as the hard limit allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* Open loop: room for 2 s of emits per client in flight (at least 64, at most 64k). */
    double open_cap = b.open_loop ? 2 * b.rate / b.n : 0;
    uint32_t want = b.open_loop ? (open_cap > 65536 ? 65536
                                   : open_cap < 64  ? 64
                                                    : (uint32_t)open_cap)
                                : b.window;
    b.ring = 1;
    while (b.ring < want) b.ring <<= 1;
    b.clients = sio__calloc(b.n, sizeof *b.clients);
    b.slab = sio__malloc(SLAB_SIZE);
    uint64_t *rings = sio__calloc((size_t)b.n * b.ring, sizeof *rings);
    b.room_size = sio__calloc(b.rooms, sizeof *b.room_size);
    if (!b.clients || !b.slab || !rings || !b.room_size || build_tail(&b)) {
        fprintf(stderr, "sio-bench: out of memory\n");
        return 2;
    }
    for (uint32_t i = 0; i < b.n; i++) {
        client *c = &b.clients[i];
        c->b = &b;
        c->index = i;
        c->mask_state = 2463534242u ^ (i * 2654435761u);
        if (!c->mask_state) c->mask_state = 1;
        c->next_id = 1;
        c->sent_at = rings + (size_t)i * b.ring;
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    b.loop = &loop;
    uv_prepare_init(&loop, &b.flush);
    b.flush.data = &b;
    uv_prepare_start(&b.flush, on_flush);
    uv_timer_init(&loop, &b.timer);
    b.timer.data = &b;
    /* A timerfd rather than a uv_timer_t: libuv's timers have a resolution of 1 ms, and
     * the latency of an open-loop emit counts from its tick. */
    b.pacer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (b.pacer_fd < 0 || uv_poll_init(&loop, &b.pacer, b.pacer_fd) < 0) {
        fprintf(stderr, "sio-bench: timerfd: %s\n", strerror(errno));
        return 2;
    }
    b.pacer.data = &b;

    b.rss_before = proc_rss_kb(b.server_pid);
    b.t0_ns = uv_hrtime();
    b.ticks0 = proc_ticks(b.server_pid, &b.sys0);
    b.cpu0 = self_cpu_s();
    if (b.scenario == SC_HANDSHAKE)
        sc_start(&b);
    else
        connect_next(&b);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    close(b.pacer_fd);
    if (rc) fprintf(stderr, "sio-bench: loop not closed: %s\n", uv_strerror(rc));

    sio__buf_free(&b.tail);
    sio__free(rings);
    sio__free(b.room_size);
    sio__free(b.slab);
    sio__free(b.clients);
    return b.failed_run || rc ? 1 : 0;
}
