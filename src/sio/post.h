/*
 * Work handed to the loop thread from other threads (sio_server_post): a mutex-guarded
 * list drained by one uv_async_t. Every accepted post runs exactly once on the loop thread,
 * in the order posted; the ones still waiting when the queue closes run during the close,
 * so nothing a post carries is lost or leaked.
 */
#ifndef SIO_SIO_POST_H
#define SIO_SIO_POST_H

#include <uv.h>

#include "sio.h"

typedef struct sio__post_item sio__post_item;

typedef struct sio__post_queue {
    uv_async_t async; /* unreferenced: waiting for posts keeps no loop alive */
    uv_mutex_t lock;
    sio__post_item *head, **tail;
    sio_server *owner;
    int closed;
} sio__post_queue;

/* On the loop thread. 0 or libuv's code. */
int sio__post_init(sio__post_queue *q, uv_loop_t *loop, sio_server *owner);
/* On any thread: 0, SIO_ENOMEM, or SIO_ESTATE once the queue closed. */
int sio__post_push(sio__post_queue *q, sio_post_cb fn, void *ud);
/* On the loop thread: refuse further posts, run those waiting, and close the handle;
 * on_closed(handle) follows from libuv, after which the queue's memory may go. */
void sio__post_close(sio__post_queue *q, uv_close_cb on_closed);
/* After the close: posts are answered SIO_ESTATE until this, and must stop before it. */
void sio__post_free(sio__post_queue *q);

#endif
