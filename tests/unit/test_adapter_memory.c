/*
 * The in-memory adapter: membership, empty-room deletion, selections by rooms (a union,
 * each member once) and exceptions, callbacks that change their member's rooms or remove
 * it during a walk, and a large number of rooms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "adapter/adapter.h"
#include "base/alloc.h"

#define N 8

typedef struct fixture {
    sio__adapter *a;
    sio__member m[N];
    char ids[N][8];
} fixture;

static int setup(void **state)
{
    fixture *f = sio__calloc(1, sizeof(*f));
    f->a = sio__memory_adapter_new();
    for (int i = 0; i < N; i++) {
        snprintf(f->ids[i], sizeof(f->ids[i]), "s%d", i);
        f->m[i].id = f->ids[i];
        assert_int_equal(f->a->ops->add(f->a, &f->m[i]), 0);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < N; i++) f->a->ops->remove(f->a, &f->m[i]);
    assert_int_equal(f->a->ops->count(f->a), 0);
    f->a->ops->free(f->a);
    sio__free(f);
    return 0;
}

/* Records the order of visited members as a string of indexes. */
typedef struct visit {
    fixture *f;
    char seen[64];
    size_t n;
    int stop_after;
    int action; /* 0 none, 1 join "x", 2 leave "a", 3 remove */
} visit;

static int record(sio__member *m, void *ud)
{
    visit *v = ud;
    int i = (int)(m - v->f->m);
    v->seen[v->n++] = (char)('0' + i);
    if (v->action == 1) v->f->a->ops->join(v->f->a, m, "x");
    if (v->action == 2) v->f->a->ops->leave(v->f->a, m, "a");
    if (v->action == 3) v->f->a->ops->remove(v->f->a, m);
    return v->stop_after && (int)v->n >= v->stop_after;
}

static const char *sel(fixture *f, const char *const *rooms, size_t nrooms,
                       const char *const *except, size_t nexcept, int action)
{
    static visit v;
    memset(&v, 0, sizeof(v));
    v.f = f;
    v.action = action;
    sio__adapter_sel s = {rooms, nrooms, except, nexcept, 0};
    size_t n = f->a->ops->each(f->a, &s, record, &v);
    assert_int_equal(n, v.n);
    return v.seen;
}

static void test_membership(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    assert_true(a->ops->in_room(a, &f->m[0], "s0"));
    assert_int_equal(a->ops->room_size(a, "s0"), 1);
    assert_int_equal(a->ops->join(a, &f->m[0], "a"), 0);
    assert_int_equal(a->ops->join(a, &f->m[0], "a"), 0); /* twice: once */
    assert_int_equal(a->ops->join(a, &f->m[1], "a"), 0);
    assert_int_equal(a->ops->room_size(a, "a"), 2);
    assert_int_equal(f->m[0].nrooms, 2);
    a->ops->leave(a, &f->m[0], "a");
    a->ops->leave(a, &f->m[0], "nope");
    assert_false(a->ops->in_room(a, &f->m[0], "a"));
    a->ops->leave(a, &f->m[1], "a");
    assert_int_equal(a->ops->room_size(a, "a"), 0); /* an empty room is gone */
    assert_int_equal(a->ops->count(a), N);
}

static void test_selection(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    for (int i = 0; i < 4; i++) a->ops->join(a, &f->m[i], "a");
    for (int i = 2; i < 6; i++) a->ops->join(a, &f->m[i], "b");
    assert_string_equal(sel(f, NULL, 0, NULL, 0, 0), "01234567");
    const char *ab[] = {"a", "b"}, *b[] = {"b"}, *s3[] = {"s3"}, *none[] = {"none"};
    assert_string_equal(sel(f, ab, 2, NULL, 0, 0), "012345"); /* a union, each once */
    assert_string_equal(sel(f, ab, 2, b, 1, 0), "01");
    assert_string_equal(sel(f, NULL, 0, s3, 1, 0), "0124567"); /* socket.broadcast */
    assert_string_equal(sel(f, none, 1, NULL, 0, 0), "");
    assert_string_equal(sel(f, ab, 2, none, 1, 0), "012345");
    /* Marks from one selection never leak into the next. */
    assert_string_equal(sel(f, b, 1, NULL, 0, 0), "2345");
}

static void test_changes_during_walk(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    for (int i = 0; i < 4; i++) a->ops->join(a, &f->m[i], "a");
    const char *ra[] = {"a"}, *rx[] = {"x"};
    assert_string_equal(sel(f, ra, 1, NULL, 0, 1), "0123"); /* socketsJoin */
    assert_int_equal(a->ops->room_size(a, "x"), 4);
    assert_string_equal(sel(f, ra, 1, NULL, 0, 2), "0123"); /* socketsLeave */
    assert_int_equal(a->ops->room_size(a, "a"), 0);
    assert_string_equal(sel(f, rx, 1, NULL, 0, 3), "0123"); /* disconnectSockets */
    assert_int_equal(a->ops->count(a), N - 4);
    assert_int_equal(a->ops->room_size(a, "x"), 0);
    assert_string_equal(sel(f, NULL, 0, NULL, 0, 0), "4567");
    for (int i = 0; i < 4; i++) assert_int_equal(a->ops->add(a, &f->m[i]), 0);
}

static void test_stop(void **state)
{
    fixture *f = *state;
    visit v = {.f = f, .stop_after = 3};
    sio__adapter_sel s = {0};
    assert_int_equal(f->a->ops->each(f->a, &s, record, &v), 3);
}

static int count_room(const char *room, void *ud)
{
    (*(int *)ud)++;
    return 0;
}

static void test_many_rooms(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    char name[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(name, sizeof(name), "room-%d", i);
        assert_int_equal(a->ops->join(a, &f->m[i % N], name), 0);
    }
    int rooms = 0;
    a->ops->rooms(a, count_room, &rooms);
    assert_int_equal(rooms, 50000 + N);
    int mine = 0;
    a->ops->rooms_of(a, &f->m[0], count_room, &mine);
    assert_int_equal(mine, 50000 / N + 1);
    assert_int_equal(a->ops->room_size(a, "room-49999"), 1);
    assert_true(a->ops->in_room(a, &f->m[49999 % N], "room-49999"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_membership, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_during_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_rooms, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
