/* Internals shared by the network layer's files. */
#ifndef SIO_NET_NET_INT_H
#define SIO_NET_NET_INT_H

#include "net/net.h"

struct sio__net {
    uv_loop_t *loop;
    const sio__logger *log;
    uint8_t *slab;
    size_t slab_size;
    sio__list conns;   /* every open connection */
    sio__list pending; /* connections with output to flush this turn */
    size_t npending;
    size_t nconns;
    size_t conn_ext;
    uv_prepare_t prepare;
    uv_idle_t idle; /* active while a fan-out flush waits one non-blocking poll */
    uint8_t read_seen, deferred;
    uv_timer_t sweep;
    int handles;
    void (*empty_cb)(void *ud);
    void *empty_ud;
    size_t max_conns;     /* 0: no bound */
    size_t refused;       /* connections refused since the last log line */
    uint64_t refused_log; /* loop time of that line */
};

sio__conn *sio__conn_accept(sio__net *net, uv_stream_t *server);
void sio__conn_flush(sio__conn *c);
void sio__net_check_empty(sio__net *net);

#endif
