#include "sio/post.h"

#include "base/alloc.h"
#include "base/list.h"

struct sio__post_item {
    sio__post_item *next;
    sio_post_cb fn;
    void *ud;
};

/* Run a detached list in order, freeing as it goes. */
static void run_all(sio__post_queue *q, sio__post_item *it)
{
    while (it) {
        sio__post_item *next = it->next;
        sio_post_cb fn = it->fn;
        void *ud = it->ud;
        sio__free(it);
        fn(q->owner, ud);
        it = next;
    }
}

static sio__post_item *take_all(sio__post_queue *q)
{
    uv_mutex_lock(&q->lock);
    sio__post_item *it = q->head;
    q->head = NULL;
    q->tail = &q->head;
    uv_mutex_unlock(&q->lock);
    return it;
}

static void on_async(uv_async_t *a)
{
    sio__post_queue *q = sio__container_of(a, sio__post_queue, async);
    run_all(q, take_all(q));
}

int sio__post_init(sio__post_queue *q, uv_loop_t *loop, sio_server *owner)
{
    q->head = NULL;
    q->tail = &q->head;
    q->owner = owner;
    q->closed = 0;
    int r = uv_mutex_init(&q->lock);
    if (r) return r;
    r = uv_async_init(loop, &q->async, on_async);
    if (r) {
        uv_mutex_destroy(&q->lock);
        return r;
    }
    q->async.data = owner; /* for the owner's close callback */
    uv_unref((uv_handle_t *)&q->async);
    return 0;
}

int sio__post_push(sio__post_queue *q, sio_post_cb fn, void *ud)
{
    sio__post_item *it = sio__malloc(sizeof(*it));
    if (!it) return SIO_ENOMEM;
    it->next = NULL;
    it->fn = fn;
    it->ud = ud;
    uv_mutex_lock(&q->lock);
    if (q->closed) {
        uv_mutex_unlock(&q->lock);
        sio__free(it);
        return SIO_ESTATE;
    }
    *q->tail = it;
    q->tail = &it->next;
    /* Under the lock, so that a close cannot come between the check and the send. */
    uv_async_send(&q->async);
    uv_mutex_unlock(&q->lock);
    return 0;
}

void sio__post_close(sio__post_queue *q, uv_close_cb on_closed)
{
    uv_mutex_lock(&q->lock);
    q->closed = 1;
    uv_mutex_unlock(&q->lock);
    /* Posts made from these callbacks are refused: the queue is closed. */
    run_all(q, take_all(q));
    uv_close((uv_handle_t *)&q->async, on_closed);
}

void sio__post_free(sio__post_queue *q)
{
    uv_mutex_destroy(&q->lock);
}
