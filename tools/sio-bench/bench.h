/*
 * sio-bench's shared state: the run (bench), its clients, and the TCP connections a client
 * drives. main.c reads the options and prints the result; conn.c owns the sockets (connects,
 * batched writes, reads into one slab, closes) and a client's life; client_ws.c and
 * client_poll.c are the WebSocket and long-polling transports; scenario.c is what the
 * clients say once connected; hist.c and proc.c are the latency histogram and the /proc
 * readings.
 *
 * A transport turns bytes into Engine.IO packets for scenario.c (sc_eio_packet) and sends
 * the packets scenario.c asks for (tp->send). It decides nothing else but how a handshake
 * client ends its session (tp->done) and the answers to WebSocket pings.
 */
#ifndef SIO_BENCH_H
#define SIO_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sio.h"

#include "base/buf.h"
#include "ws/frame.h"

#define SLAB_SIZE (256 * 1024)
#define HTTP_MAX  4096

/* Latency histogram: exact below 64 us, then 32 buckets per power of two (about 3%). */
#define HIST_SUB     32
#define HIST_BUCKETS (64 + 40 * HIST_SUB)

typedef struct hist {
    uint64_t n;
    uint64_t b[HIST_BUCKETS];
} hist;

void hist_add(hist *h, uint64_t us);
/* The value at quantile q (0..1) in microseconds, 0 when empty. */
uint64_t hist_quantile(const hist *h, double q);

/* The server's CPU ticks (utime + stime; stime, its part in the kernel, in *sys) and RSS,
 * -1 when pid <= 0 or unreadable. */
long proc_ticks(long pid, long *sys);
long proc_rss_kb(long pid);
/* This process's CPU time in seconds. */
double self_cpu_s(void);

/* Client states, in order: a client goes forward only. */
enum { C_IDLE, C_CONNECTING, C_HTTP, C_OPEN, C_SIO, C_READY, C_CLOSING, C_CLOSED };
enum { SC_IDLE, SC_ECHO_ACK, SC_BROADCAST, SC_HANDSHAKE, SC_ROOMS };
/* Run phases: connecting, warm-up, measured window, the grace for what is still in
 * flight at its end (open-loop echo-ack, rooms), done. */
enum { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE };

typedef struct bench bench;
typedef struct client client;

/* One TCP connection of a client. */
typedef struct conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    client *c;
    uint8_t open;      /* tcp initialised and not yet given to uv_close */
    uint8_t pending;   /* on b's pending list */
    uint8_t writing;   /* wreq in flight */
    uint8_t closing;   /* given to uv_close, its callback not run yet */
    sio__buf out;      /* queued bytes */
    sio__buf inflight; /* bytes of the uv_write in flight */
    struct conn *next_pending;
} conn;

struct client {
    conn io[2]; /* WebSocket: io[0]; polling: io[0] for the GETs, io[1] for the POSTs */
    bench *b;
    uint32_t index;
    uint8_t state;
    uint8_t lost;    /* closed before the end of the run */
    uint8_t nopen;   /* connections not closed yet */
    uint8_t recycle; /* handshake: closed on purpose, to start again once closed */
    uint32_t mask_state;
    sio__ws_parser ws;
    char *http; /* the upgrade response so far, NULL after it */
    size_t http_len;
    struct poll_session *ps; /* polling: the session's HTTP state */
    uint64_t next_id;
    uint64_t acked;    /* acks received */
    uint64_t *sent_at; /* ring of send times by id, b->ring slots (a power of two) */
    uint64_t t_start;  /* when its connect started */
};

typedef struct transport {
    /* Open the client's connection(s); 0 or a libuv error (nothing left open then). */
    int (*start)(client *c);
    /* Connection k has connected. */
    void (*connected)(conn *k);
    /* Bytes read on k (n > 0), valid during the call; the transport may change them. */
    void (*read)(conn *k, uint8_t *in, size_t n);
    /* Queue one Engine.IO text packet whose bytes are a[0..an) then z[0..zn). */
    int (*send)(client *c, const void *a, size_t an, const void *z, size_t zn);
    /* Every connection of c is closed: free what the transport holds. */
    void (*release)(client *c);
    /* c's session is done (handshake): end it as the transport's clients do, then
     * client_recycle(c). */
    void (*done)(client *c);
    /* Optional. Called for each scheduled connection before its queue is written. */
    void (*prepare)(conn *k);
    /* Optional. k read EOF or an error: 1 if the transport copes (it closes k with
     * conn_close), 0 to close the client. */
    int (*conn_lost)(conn *k);
    /* Optional. k, closed with conn_close, is closed; its client is still open. */
    void (*conn_closed)(conn *k);
    const char *name;
} transport;

extern const transport ws_transport;
extern const transport poll_transport;

struct bench {
    uv_loop_t *loop;
    const transport *tp;
    /* options */
    const char *host;
    int port;
    const char *path;
    int scenario;
    uint32_t n, window, concurrency, sources, payload_size, rooms;
    double seconds, warmup, rate, grace;
    int open_loop; /* echo-ack with --rate */
    long server_pid;
    /* state */
    client *clients;
    uint32_t started, ready, failed, lost, closing;
    conn *pending;
    uv_prepare_t flush;
    uv_timer_t timer;
    uv_poll_t pacer; /* the paced emits: a timerfd every tick_ns */
    uint64_t tick_ns;
    int pacer_fd;
    uint64_t pace_t0, emits, deliveries, emits0, deliveries0;
    uint8_t *slab; /* every read lands here: it is parsed before the next one */
    uint32_t ring; /* sent_at slots per client */
    /* The JSON args of an emit: ["echo-ack","yyy"] or ["broadcast","yyy"]; for rooms the
     * part after the room, "yyy"] */
    sio__buf tail;
    int phase;
    int failed_run;             /* an error to report in the exit code */
    uint64_t pings;             /* pings answered */
    uint64_t acks;              /* acks received */
    uint64_t sent;              /* echo-ack emits sent */
    uint64_t win_acks, skipped; /* open loop: acks of emits due in the window; emits not sent */
    uint64_t handshakes, handshakes0; /* CONNECT replies received */
    /* rooms: members per room, joins acknowledged, deliveries the emits so far call for */
    uint32_t *room_size;
    uint32_t joined;
    uint32_t joining; /* joins not acknowledged yet */
    uint64_t expected;
    hist lat;
    /* window snapshots: at its start (0) and its end (1) */
    uint64_t t0_ns, t1_ns, pings0, acks0;
    long ticks0, ticks1, sys0, sys1, rss_before;
    double cpu0, cpu1;
};

/* conn.c */
int conn_open(conn *k, client *c); /* uv_tcp_init, bind per --sources, connect */
void conn_close(conn *k);          /* close one connection of a client that stays open */
void conn_schedule(conn *k);       /* flush k's queue before the loop sleeps */
void on_flush(uv_prepare_t *h);
void client_ready(client *c);
void client_close(client *c);
/* Handshake: close c at once (a reset, no TIME_WAIT) and start it again once closed. */
void client_recycle(client *c);
void connect_next(bench *b);
/* Handshake: start every client at once, each started again as soon as it is closed. */
void start_all(bench *b);

/* scenario.c */
void sc_start(bench *b);
/* An Engine.IO packet for client c (the transport answers nothing by itself). */
void sc_eio_packet(client *c, int type, const uint8_t *data, size_t len);

/* main.c */
void window_end(bench *b); /* the window's end figures, taken once */
void finish(bench *b);

#endif
