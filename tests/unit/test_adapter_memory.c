/*
 * Tests for the in-memory adapter (src/adapter/memory.c).
 *
 * Selections are rendered as the indexes of the members visited, in order ("0123"), so
 * each expectation reads like Node's apply() would walk: rooms in the order given, members
 * of a room in join order, every member once, minus the members of the except rooms.
 * Callbacks that change their member's rooms or remove it are run for every kind of walk,
 * and so are selections started from inside a callback. Two random tests check the adapter
 * against models: one steps a model of Node's walks in lockstep with callbacks that change
 * rooms and members, the other runs operations, with and without allocation failures,
 * against a plain model of socket.io-adapter's two Maps. Every allocation goes through a
 * counting allocator installed once in main(), which also shows that selections allocate
 * nothing. The last test prints the cost of a selection per member visited.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter/adapter.h"
#include "base/alloc.h"
#include "sio.h"

/* ---- allocator: counts calls; fail_next = k makes the call k allocations from now fail */

static size_t allocs;
static long fail_next = -1;
static int fail_calloc; /* every calloc fails */

static int fail_now(void)
{
    allocs++;
    return fail_next >= 0 && fail_next-- == 0;
}
static void *counting_malloc(size_t n)
{
    return fail_now() ? NULL : malloc(n);
}
static void *counting_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : realloc(p, n);
}
static void *counting_calloc(size_t a, size_t b)
{
    return fail_now() || fail_calloc ? NULL : calloc(a, b);
}

/* xorshift32: the random sequences are the same on every run. */
static uint32_t rng_state;

static uint32_t rng(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state % n;
}

static int count_room(const char *room, void *ud)
{
    (*(size_t *)ud)++;
    return 0;
}

/* ---- fixture: eight members s0..s7, all added ---- */

#define N 8

typedef struct fixture {
    sio__adapter *a;
    const sio__adapter_ops *ops;
    sio__member m[N];
    char ids[N][8];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->a = sio__memory_adapter_new();
    assert_non_null(f->a);
    f->ops = f->a->ops;
    for (int i = 0; i < N; i++) {
        snprintf(f->ids[i], sizeof(f->ids[i]), "s%d", i);
        f->m[i].id = f->ids[i];
        assert_int_equal(f->ops->add(f->a, &f->m[i]), 0);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < N; i++) f->ops->remove(f->a, &f->m[i]);
    assert_int_equal(f->ops->count(f->a), 0);
    f->ops->free(f->a);
    free(f);
    return 0;
}

static void join(fixture *f, int i, const char *room)
{
    assert_int_equal(f->ops->join(f->a, &f->m[i], room), 0);
}

/* Members lo..hi join room. */
static void join_range(fixture *f, int lo, int hi, const char *room)
{
    for (int i = lo; i <= hi; i++) join(f, i, room);
}

/* ---- selections rendered as strings ---- */

typedef void (*action_fn)(fixture *f, int i);

typedef struct visit {
    fixture *f;
    action_fn act;
    size_t stop_after;
    size_t n;
    char seen[64];
} visit;

static int record(sio__member *m, void *ud)
{
    visit *v = ud;
    ptrdiff_t i = m - v->f->m;
    assert_true(i >= 0 && i < N);
    assert_true(v->n < sizeof(v->seen) - 1);
    v->seen[v->n++] = (char)('0' + i);
    if (v->act) v->act(v->f, (int)i);
    return v->stop_after && v->n >= v->stop_after;
}

typedef struct names {
    char buf[8][16];
    const char *p[8];
    size_t n;
} names;

/* "a,b" -> {"a", "b"}; NULL or "" -> none. */
static void split(names *out, const char *csv)
{
    out->n = 0;
    while (csv && *csv) {
        size_t len = strcspn(csv, ",");
        assert_true(out->n < 8 && len < sizeof(out->buf[0]));
        memcpy(out->buf[out->n], csv, len);
        out->buf[out->n][len] = '\0';
        out->p[out->n] = out->buf[out->n];
        out->n++;
        csv += len + (csv[len] == ',');
    }
}

/* The members a selection visits. Results live in a ring of buffers so that selections
 * made from inside a callback keep their own. */
static const char *walk(fixture *f, const char *rooms, const char *except, action_fn act,
                        size_t stop_after)
{
    static char ring[16][64];
    static unsigned slot;
    names r, e;
    split(&r, rooms);
    split(&e, except);
    visit v = {.f = f, .act = act, .stop_after = stop_after};
    sio__adapter_sel sel = {r.n ? r.p : NULL, r.n, e.n ? e.p : NULL, e.n, 0};
    size_t n = f->ops->each(f->a, &sel, record, &v);
    assert_int_equal(n, v.n);
    char *out = ring[slot++ % 16];
    memcpy(out, v.seen, v.n);
    out[v.n] = '\0';
    return out;
}

static const char *sel(fixture *f, const char *rooms, const char *except)
{
    return walk(f, rooms, except, NULL, 0);
}

/* Room listings, sorted when they come from the whole table. */
typedef struct listing {
    fixture *f;
    int i;        /* the member whose rooms are listed */
    int action;   /* what the callback does */
    int hide_new; /* do not record rooms named new-* */
    size_t stop_after, n;
    char names[64][16];
} listing;

static int cmp_name(const void *x, const void *y)
{
    return strcmp(x, y);
}

static const char *render(listing *l, int sorted)
{
    static char out[1024];
    if (sorted) qsort(l->names, l->n, sizeof(l->names[0]), cmp_name);
    out[0] = '\0';
    for (size_t k = 0; k < l->n; k++) {
        if (k) strcat(out, ",");
        strcat(out, l->names[k]);
    }
    return out;
}

enum { LIST_ONLY, LIST_LEAVE_IT, LIST_JOIN_NEW, LIST_LEAVE_C, LIST_EMPTY_IT, LIST_REMOVE_ALL };

static int list_room(const char *room, void *ud)
{
    listing *l = ud;
    assert_true(l->n < 64 && strlen(room) < 16);
    if (!l->hide_new || strncmp(room, "new-", 4)) strcpy(l->names[l->n++], room);
    char name[32];
    switch (l->action) {
    case LIST_LEAVE_IT: /* socket.rooms.forEach(r => socket.leave(r)) */
        l->f->ops->leave(l->f->a, &l->f->m[l->i], room);
        break;
    case LIST_JOIN_NEW:
        snprintf(name, sizeof(name), "new-%s", room);
        if (strncmp(room, "new-", 4)) join(l->f, l->i, name);
        break;
    case LIST_LEAVE_C:
        l->f->ops->leave(l->f->a, &l->f->m[l->i], "c");
        break;
    case LIST_REMOVE_ALL: /* every room but the one listed goes */
        for (int k = 0; k < N; k++) l->f->ops->remove(l->f->a, &l->f->m[k]);
        break;
    case LIST_EMPTY_IT: { /* everyone leaves the room being listed */
        char copy[16];
        strcpy(copy, room);
        for (int k = 0; k < N; k++) l->f->ops->leave(l->f->a, &l->f->m[k], copy);
        break;
    }
    }
    return l->stop_after && l->n >= l->stop_after;
}

static const char *rooms_of(fixture *f, int i, int action, size_t stop_after)
{
    listing l = {.f = f, .i = i, .action = action, .stop_after = stop_after};
    f->ops->rooms_of(f->a, &f->m[i], list_room, &l);
    return render(&l, 0);
}

static const char *all_rooms(fixture *f, int action, size_t stop_after)
{
    listing l = {.f = f, .action = action, .stop_after = stop_after};
    l.hide_new = action == LIST_JOIN_NEW;
    f->ops->rooms(f->a, list_room, &l);
    return render(&l, 1);
}

/* ---- membership ---- */

static void test_own_room(void **state)
{
    fixture *f = *state;
    assert_int_equal(f->ops->count(f->a), N);
    for (int i = 0; i < N; i++) {
        assert_true(f->ops->in_room(f->a, &f->m[i], f->ids[i]));
        assert_int_equal(f->ops->room_size(f->a, f->ids[i]), 1);
        assert_int_equal(f->m[i].nrooms, 1);
    }
    assert_false(f->ops->in_room(f->a, &f->m[0], "s1"));
    assert_string_equal(rooms_of(f, 3, LIST_ONLY, 0), "s3");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s0,s1,s2,s3,s4,s5,s6,s7");
    /* Joining the own room again changes nothing. */
    join(f, 3, "s3");
    assert_int_equal(f->ops->room_size(f->a, "s3"), 1);
    assert_int_equal(f->m[3].nrooms, 1);
}

static void test_join_leave(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    join(f, 0, "a");
    join(f, 0, "a"); /* twice: once */
    join(f, 1, "a");
    assert_int_equal(f->ops->room_size(a, "a"), 2);
    assert_int_equal(f->m[0].nrooms, 2);
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "s0,a");

    f->ops->leave(a, &f->m[0], "nope"); /* no such room */
    f->ops->leave(a, &f->m[0], "s1");   /* a room it is not in */
    assert_int_equal(f->ops->room_size(a, "s1"), 1);
    assert_int_equal(f->m[0].nrooms, 2);

    f->ops->leave(a, &f->m[0], "a");
    assert_false(f->ops->in_room(a, &f->m[0], "a"));
    assert_true(f->ops->in_room(a, &f->m[1], "a"));
    assert_int_equal(f->ops->room_size(a, "a"), 1);
    assert_int_equal(f->m[0].nrooms, 1);
    f->ops->leave(a, &f->m[0], "a"); /* again: nothing */
    assert_int_equal(f->ops->room_size(a, "a"), 1);

    /* The last member out deletes the room. */
    f->ops->leave(a, &f->m[1], "a");
    assert_int_equal(f->ops->room_size(a, "a"), 0);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s0,s1,s2,s3,s4,s5,s6,s7");

    /* A member may leave its own room and still be reached by "every member". */
    f->ops->leave(a, &f->m[2], "s2");
    assert_int_equal(f->ops->room_size(a, "s2"), 0);
    assert_int_equal(f->m[2].nrooms, 0);
    assert_null(f->m[2].rooms);
    assert_string_equal(rooms_of(f, 2, LIST_ONLY, 0), "");
    assert_string_equal(sel(f, NULL, NULL), "01234567");
    assert_string_equal(sel(f, "s2", NULL), "");
    join(f, 2, "s2");
    assert_string_equal(sel(f, "s2", NULL), "2");

    /* Misuse is refused, not fatal. */
    assert_int_equal(f->ops->join(a, &f->m[0], NULL), SIO_EINVAL);
    f->ops->leave(a, &f->m[0], NULL);
    assert_false(f->ops->in_room(a, &f->m[0], NULL));
    assert_int_equal(f->ops->room_size(a, NULL), 0);
    sio__member anonymous = {0};
    assert_int_equal(f->ops->add(a, &anonymous), SIO_EINVAL);
    f->ops->remove(a, &anonymous);
    assert_int_equal(f->ops->count(a), N);
}

static void test_remove(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    join(f, 0, "a");
    join(f, 0, "b");
    join(f, 1, "a");
    f->ops->remove(a, &f->m[0]);
    assert_int_equal(f->ops->count(a), N - 1);
    assert_int_equal(f->ops->room_size(a, "a"), 1);
    assert_int_equal(f->ops->room_size(a, "b"), 0);
    assert_int_equal(f->ops->room_size(a, "s0"), 0);
    assert_null(f->m[0].rooms);
    assert_int_equal(f->m[0].nrooms, 0);
    assert_false(f->ops->in_room(a, &f->m[0], "a"));
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "a,s1,s2,s3,s4,s5,s6,s7");
    assert_string_equal(sel(f, NULL, NULL), "1234567");

    f->ops->remove(a, &f->m[0]); /* twice: nothing */
    assert_int_equal(f->ops->count(a), N - 1);
    sio__member never = {.id = "never"}; /* never added */
    f->ops->remove(a, &never);
    assert_int_equal(f->ops->count(a), N - 1);

    /* Added again, it comes last, as a new entry of Node's sids Map would. */
    assert_int_equal(f->ops->add(a, &f->m[0]), 0);
    assert_string_equal(sel(f, NULL, NULL), "12345670");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "s0");
}

/* ---- selections ---- */

static void test_selection(void **state)
{
    fixture *f = *state;
    join_range(f, 0, 3, "a");
    join_range(f, 2, 5, "b");
    join(f, 5, "c");
    join(f, 1, "c");
    join(f, 3, "c");

    assert_string_equal(sel(f, NULL, NULL), "01234567");
    assert_string_equal(sel(f, "a", NULL), "0123");
    assert_string_equal(sel(f, "c", NULL), "513"); /* join order */
    /* A union: rooms in the order given, each member once. */
    assert_string_equal(sel(f, "a,b", NULL), "012345");
    assert_string_equal(sel(f, "b,a", NULL), "234501");
    assert_string_equal(sel(f, "c,a,b", NULL), "513024");
    assert_string_equal(sel(f, "a,a", NULL), "0123");
    assert_string_equal(sel(f, "s6,a,s0", NULL), "60123");
    /* Exceptions. */
    assert_string_equal(sel(f, "a,b", "b"), "01");
    assert_string_equal(sel(f, "a,b", "c"), "024");
    assert_string_equal(sel(f, "a", "a"), "");
    assert_string_equal(sel(f, NULL, "a,b"), "67");
    assert_string_equal(sel(f, NULL, "c,s0"), "2467");
    /* socket.broadcast: every member but the sender, by its own room. */
    assert_string_equal(sel(f, NULL, "s3"), "0124567");
    assert_string_equal(sel(f, "a", "s1"), "023");
    /* Rooms and exceptions that do not exist. */
    assert_string_equal(sel(f, "none", NULL), "");
    assert_string_equal(sel(f, "none,a,nada", NULL), "0123");
    assert_string_equal(sel(f, NULL, "none"), "01234567");
    assert_string_equal(sel(f, "b", "none,s4"), "235");
    /* Marks of one selection never leak into the next. */
    for (int k = 0; k < 3; k++) {
        assert_string_equal(sel(f, "a,b", "c"), "024");
        assert_string_equal(sel(f, "b", NULL), "2345");
        assert_string_equal(sel(f, NULL, NULL), "01234567");
    }
    /* A selection changes nothing. */
    assert_int_equal(f->ops->room_size(f->a, "a"), 4);
    assert_int_equal(f->ops->room_size(f->a, "none"), 0);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "a,b,c,s0,s1,s2,s3,s4,s5,s6,s7");
}

static void test_stop(void **state)
{
    fixture *f = *state;
    join_range(f, 0, 3, "a");
    join_range(f, 2, 5, "b");
    assert_string_equal(walk(f, NULL, NULL, NULL, 3), "012");
    assert_string_equal(walk(f, NULL, "s0", NULL, 1), "1");
    assert_string_equal(walk(f, "a,b", NULL, NULL, 5), "01234");
    assert_string_equal(walk(f, "a,b", NULL, NULL, 4), "0123"); /* b is not started */
    assert_string_equal(walk(f, "a,b", NULL, NULL, 100), "012345");
    /* No selection at all: every member. */
    visit v = {.f = f, .stop_after = 2};
    assert_int_equal(f->ops->each(f->a, NULL, record, &v), 2);
    assert_memory_equal(v.seen, "01", 2);
}

/* ---- callbacks that change their own member ---- */

static void act_join_x(fixture *f, int i)
{
    join(f, i, "x");
}
static void act_join_a(fixture *f, int i)
{
    join(f, i, "a");
}
static void act_join_b(fixture *f, int i)
{
    join(f, i, "b");
}
static void act_join_c(fixture *f, int i)
{
    join(f, i, "c");
}
static void act_leave_a(fixture *f, int i)
{
    f->ops->leave(f->a, &f->m[i], "a");
}
static void act_leave_b(fixture *f, int i)
{
    f->ops->leave(f->a, &f->m[i], "b");
}
static void act_leave_ab(fixture *f, int i)
{
    act_leave_a(f, i);
    act_leave_b(f, i);
}
static void act_rejoin_a(fixture *f, int i)
{
    act_leave_a(f, i);
    act_join_a(f, i);
}
static void act_leave_own(fixture *f, int i)
{
    f->ops->leave(f->a, &f->m[i], f->ids[i]);
}
static void act_leave_solo(fixture *f, int i)
{
    f->ops->leave(f->a, &f->m[i], "solo");
}
static void act_solo_handover(fixture *f, int i)
{
    /* The room empties, so Node deletes it; joined again, it is a new room. */
    act_leave_solo(f, i);
    join(f, 6, "solo");
    join(f, i, "solo");
}
static void act_remove(fixture *f, int i)
{
    f->ops->remove(f->a, &f->m[i]);
}
static void act_readd(fixture *f, int i)
{
    f->ops->remove(f->a, &f->m[i]);
    assert_int_equal(f->ops->add(f->a, &f->m[i]), 0);
}

static int count_member(sio__member *m, void *ud);

/* The room named by a member's id takes no memory of its own; it behaves as any room. */
static void test_own_room_implicit(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    /* Left: a broadcast to the id misses it; joined again: reached. */
    f->ops->leave(a, &f->m[0], "s0");
    assert_false(f->ops->in_room(a, &f->m[0], "s0"));
    assert_int_equal(f->ops->room_size(a, "s0"), 0);
    assert_int_equal(f->m[0].nrooms, 0);
    assert_string_equal(sel(f, "s0", NULL), "");
    assert_string_equal(sel(f, "s0,s1", NULL), "1");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s1,s2,s3,s4,s5,s6,s7");
    assert_string_equal(sel(f, NULL, "s0"), "01234567");
    f->ops->leave(a, &f->m[0], "s0"); /* twice: no change */
    assert_int_equal(f->m[0].nrooms, 0);
    join(f, 0, "s0");
    join(f, 0, "s0");
    assert_int_equal(f->m[0].nrooms, 1);
    assert_string_equal(sel(f, "s0", NULL), "0");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "s0");

    /* A room named like another member's id: to(id) reaches both, each once, the member
     * named so first. */
    join(f, 2, "s0");
    join(f, 1, "s0");
    assert_int_equal(f->ops->room_size(a, "s0"), 3);
    assert_true(f->ops->in_room(a, &f->m[1], "s0"));
    assert_false(f->ops->in_room(a, &f->m[3], "s0"));
    assert_string_equal(sel(f, "s0", NULL), "021");
    assert_string_equal(sel(f, "s1,s0", NULL), "102");
    assert_string_equal(sel(f, "s0,s0", NULL), "021");
    assert_string_equal(sel(f, "s0", "s1"), "02");
    assert_string_equal(sel(f, "s0", "s0"), "");
    assert_string_equal(sel(f, NULL, "s0"), "34567");
    assert_string_equal(sel(f, "s2", "s0"), "");
    assert_string_equal(rooms_of(f, 1, LIST_ONLY, 0), "s1,s0");
    assert_int_equal(f->m[1].nrooms, 2);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s0,s1,s2,s3,s4,s5,s6,s7");
    /* Its owner leaves: the others still make the room. */
    f->ops->leave(a, &f->m[0], "s0");
    assert_int_equal(f->ops->room_size(a, "s0"), 2);
    assert_string_equal(sel(f, "s0", NULL), "21");
    assert_string_equal(sel(f, NULL, "s0"), "034567");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s0,s1,s2,s3,s4,s5,s6,s7");
    /* And joins again: first in the walk, though Node's Set would have it last. */
    join(f, 0, "s0");
    assert_string_equal(sel(f, "s0", NULL), "021");
    assert_int_equal(f->ops->room_size(a, "s0"), 3);
    /* Leaving a room so named leaves only that member; its owner stays. */
    f->ops->leave(a, &f->m[2], "s0");
    f->ops->leave(a, &f->m[1], "s0");
    assert_string_equal(sel(f, "s0", NULL), "0");
    assert_int_equal(f->ops->room_size(a, "s0"), 1);
    assert_int_equal(f->m[1].nrooms, 1);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s0,s1,s2,s3,s4,s5,s6,s7");

    /* Removed, it is in no room; added again, in its own. */
    join(f, 5, "s4");
    f->ops->remove(a, &f->m[4]);
    assert_int_equal(f->ops->room_size(a, "s4"), 1);
    assert_string_equal(sel(f, "s4", NULL), "5");
    assert_false(f->ops->in_room(a, &f->m[4], "s4"));
    assert_int_equal(f->ops->add(a, &f->m[4]), 0);
    assert_string_equal(sel(f, "s4", NULL), "45");
    assert_int_equal(f->m[4].nrooms, 1);
    f->ops->leave(a, &f->m[5], "s4");

    /* Leaving its own room while a walk of it runs, and while its rooms are listed. */
    assert_string_equal(walk(f, "s6,s7", NULL, act_leave_own, 0), "67");
    assert_string_equal(sel(f, "s6,s7", NULL), "");
    assert_string_equal(rooms_of(f, 6, LIST_ONLY, 0), "");
    join(f, 6, "s6");
    join(f, 6, "a");
    assert_string_equal(rooms_of(f, 6, LIST_LEAVE_IT, 0), "s6,a");
    assert_int_equal(f->m[6].nrooms, 0);
    assert_string_equal(rooms_of(f, 7, LIST_JOIN_NEW, 0), "");
    join(f, 7, "s7");
    assert_string_equal(rooms_of(f, 7, LIST_JOIN_NEW, 0), "s7");
    assert_string_equal(rooms_of(f, 7, LIST_ONLY, 0), "s7,new-s7");
    join(f, 6, "s6");
    join(f, 7, "b");
    assert_string_equal(rooms_of(f, 7, LIST_ONLY, 1), "s7");
}

/* Two members with one id: the room of that name holds both. */
static void test_same_id(void **state)
{
    sio__adapter *a = sio__memory_adapter_new();
    assert_non_null(a);
    sio__member m[3] = {{.id = "d"}, {.id = "d"}, {.id = "e"}};
    for (int i = 0; i < 3; i++) assert_int_equal(a->ops->add(a, &m[i]), 0);
    assert_int_equal(a->ops->room_size(a, "d"), 2);
    const char *d[] = {"d"}, *e[] = {"e"};
    sio__adapter_sel to_d = {d, 1, NULL, 0, 0}, not_d = {NULL, 0, d, 1, 0};
    sio__adapter_sel d_not_e = {d, 1, e, 1, 0};
    size_t seen = 0;
    assert_int_equal(a->ops->each(a, &to_d, count_member, &seen), 2);
    assert_int_equal(a->ops->each(a, &not_d, count_member, &seen), 1);
    assert_int_equal(a->ops->each(a, &d_not_e, count_member, &seen), 2);
    size_t rooms = 0;
    a->ops->rooms(a, count_room, &rooms);
    assert_int_equal(rooms, 2);
    a->ops->leave(a, &m[1], "d");
    assert_int_equal(a->ops->room_size(a, "d"), 1);
    assert_true(a->ops->in_room(a, &m[0], "d"));
    assert_false(a->ops->in_room(a, &m[1], "d"));
    rooms = 0;
    a->ops->rooms(a, count_room, &rooms);
    assert_int_equal(rooms, 2);
    a->ops->remove(a, &m[0]);
    assert_int_equal(a->ops->room_size(a, "d"), 0);
    rooms = 0;
    a->ops->rooms(a, count_room, &rooms);
    assert_int_equal(rooms, 1);
    a->ops->free(a);
}

static void test_changes_walking_all(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    join_range(f, 0, 3, "a");
    /* socketsJoin */
    assert_string_equal(walk(f, NULL, NULL, act_join_x, 0), "01234567");
    assert_int_equal(f->ops->room_size(a, "x"), N);
    /* socketsLeave, one of the member's rooms and then its own */
    assert_string_equal(walk(f, NULL, "s7", act_leave_a, 0), "0123456");
    assert_int_equal(f->ops->room_size(a, "a"), 0);
    assert_string_equal(walk(f, NULL, NULL, act_leave_own, 0), "01234567");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "x");
    /* Removed and added again: last in the order, and not reached a second time. */
    assert_string_equal(walk(f, NULL, NULL, act_readd, 0), "01234567");
    assert_int_equal(f->ops->count(a), N);
    assert_string_equal(sel(f, NULL, NULL), "01234567");
    /* disconnectSockets */
    assert_string_equal(walk(f, NULL, "s2", act_remove, 0), "0134567");
    assert_int_equal(f->ops->count(a), 1);
    assert_string_equal(sel(f, NULL, NULL), "2");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s2");
    assert_string_equal(walk(f, NULL, NULL, act_remove, 0), "2");
    assert_int_equal(f->ops->count(a), 0);
    assert_string_equal(sel(f, NULL, NULL), "");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "");
}

static void test_changes_walking_rooms(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    join_range(f, 0, 3, "a");
    assert_string_equal(walk(f, "a", NULL, act_join_a, 0), "0123");
    assert_string_equal(walk(f, "a", NULL, act_rejoin_a, 0), "0123");
    assert_int_equal(f->ops->room_size(a, "a"), 4);
    assert_string_equal(sel(f, "a", NULL), "0123");
    assert_string_equal(walk(f, "a", "s2", act_rejoin_a, 0), "013");
    assert_string_equal(sel(f, "a", NULL), "2013"); /* 2 stayed put, the others moved */
    /* Every member leaves the room being walked: it is freed once the walk is over. */
    assert_string_equal(walk(f, "a", NULL, act_leave_a, 0), "2013");
    assert_int_equal(f->ops->room_size(a, "a"), 0);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s0,s1,s2,s3,s4,s5,s6,s7");

    /* Unions, with a room later in the list joined or an earlier one left. */
    join_range(f, 0, 3, "a");
    join_range(f, 2, 5, "b");
    assert_string_equal(walk(f, "a,b", NULL, act_join_b, 0), "012345");
    assert_int_equal(f->ops->room_size(a, "b"), 6);
    assert_string_equal(walk(f, "a,b", NULL, act_leave_a, 0), "012345");
    assert_int_equal(f->ops->room_size(a, "a"), 0);
    join_range(f, 0, 3, "a");
    assert_string_equal(walk(f, "b,a", NULL, act_leave_b, 0), "234501");
    assert_int_equal(f->ops->room_size(a, "b"), 0);
    join_range(f, 2, 5, "b");
    assert_string_equal(walk(f, "a,b", NULL, act_leave_ab, 0), "012345");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s0,s1,s2,s3,s4,s5,s6,s7");
    join_range(f, 0, 3, "a");
    join_range(f, 2, 5, "b");
    /* b's members join a, which the walk is done with. */
    assert_string_equal(walk(f, "a,b", NULL, act_rejoin_a, 0), "012345");
    assert_string_equal(sel(f, "a", NULL), "012345");
    /* Joining an except room does not bring back members already excluded. */
    join(f, 4, "c");
    assert_string_equal(walk(f, "a,b", "c", act_join_c, 0), "01235");
    assert_int_equal(f->ops->room_size(a, "c"), 6);
    f->ops->leave(a, &f->m[5], "c");
    assert_string_equal(walk(f, "b", "c", act_join_c, 0), "5");

    /* Emptied and made again while it is walked: the walk does not reach the new room. */
    join(f, 7, "solo");
    assert_string_equal(walk(f, "solo", NULL, act_solo_handover, 0), "7");
    assert_string_equal(sel(f, "solo", NULL), "67");
    act_leave_solo(f, 6);
    act_leave_solo(f, 7);
    /* The one member of a room leaves it while it is walked, then the walk stops. */
    join(f, 7, "solo");
    assert_string_equal(walk(f, "solo", NULL, act_leave_solo, 1), "7");
    assert_int_equal(f->ops->room_size(a, "solo"), 0);
    assert_false(strstr(all_rooms(f, LIST_ONLY, 0), "solo"));
    join(f, 7, "solo");
    assert_string_equal(walk(f, "solo,a", NULL, act_leave_solo, 0), "7012345");
    assert_false(strstr(all_rooms(f, LIST_ONLY, 0), "solo"));

    /* disconnectSockets on a union. */
    assert_string_equal(walk(f, "a,b", "s1", act_remove, 0), "02345");
    assert_int_equal(f->ops->count(a), 3);
    assert_int_equal(f->ops->room_size(a, "a"), 1);
    assert_int_equal(f->ops->room_size(a, "b"), 0);
    assert_string_equal(sel(f, NULL, NULL), "167");
    assert_string_equal(walk(f, "a", NULL, act_remove, 0), "1");
    assert_int_equal(f->ops->room_size(a, "a"), 0);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s6,s7");
}

/* Beyond what the callback contract allows: changing another member does not break a walk.
 * A member removed or taken out of the room before its turn is not reached; one added or
 * joining during the walk is, as in Node. */
static void act_remove_next(fixture *f, int i)
{
    if (i + 1 < N) f->ops->remove(f->a, &f->m[i + 1]);
}
static void act_next_leaves_a(fixture *f, int i)
{
    if (i + 1 < N) act_leave_a(f, i + 1);
}
static void act_add_seven(fixture *f, int i)
{
    if (i == 0) assert_int_equal(f->ops->add(f->a, &f->m[7]), 0);
}
static void act_seven_joins_a(fixture *f, int i)
{
    if (i == 0) act_join_a(f, 7);
}
static void act_last_brings_six(fixture *f, int i)
{
    if (i == 4) act_join_a(f, 6);
}
static void act_last_adds_five(fixture *f, int i)
{
    if (i == 7) assert_int_equal(f->ops->add(f->a, &f->m[5]), 0);
}

static void test_changes_to_others(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    join_range(f, 0, 5, "a");
    assert_string_equal(walk(f, "a", NULL, act_next_leaves_a, 0), "024");
    assert_int_equal(f->ops->room_size(a, "a"), 3);
    assert_string_equal(walk(f, "a", NULL, act_seven_joins_a, 0), "0247");
    assert_string_equal(sel(f, "a", NULL), "0247");
    assert_string_equal(walk(f, NULL, NULL, act_remove_next, 0), "0246");
    assert_int_equal(f->ops->count(a), 4);
    assert_string_equal(sel(f, "a", NULL), "024");
    f->ops->remove(a, &f->m[7]);
    assert_string_equal(walk(f, NULL, NULL, act_add_seven, 0), "02467");
    /* Joining or added while the walk is at its last member. */
    assert_string_equal(walk(f, "a", NULL, act_last_brings_six, 0), "0246");
    assert_string_equal(walk(f, NULL, NULL, act_last_adds_five, 0), "024675");
    assert_string_equal(sel(f, NULL, NULL), "024675");
}

/* ---- selections started from a callback (a disconnect handler that broadcasts) ---- */

static void act_nested_broadcast_then_remove(fixture *f, int i)
{
    /* io.to(["a", "b"]).except(own id).emit(): the members of a or b after i, as members
     * before i are gone. */
    char expect[N + 1], *e = expect;
    for (int k = i + 1; k <= 5; k++) *e++ = (char)('0' + k);
    *e = '\0';
    assert_string_equal(sel(f, "a,b", f->ids[i]), expect);
    assert_string_equal(sel(f, "b,a", "a"), i < 5 ? "45" : "5");
    act_remove(f, i);
}

static void act_nested_walks(fixture *f, int i)
{
    assert_string_equal(sel(f, NULL, NULL), "01234567");
    assert_string_equal(sel(f, "b,a", "s0"), "23451");
    assert_string_equal(sel(f, "a", "b"), "01");
}

static void act_nested_deeper(fixture *f, int i)
{
    /* A selection two levels down, from a callback of a nested one. */
    assert_string_equal(walk(f, "b", "s5", act_nested_walks, 0), "234");
}

static void act_nested_changes(fixture *f, int i)
{
    if (i != 0) return;
    /* Nested walks whose callbacks change their member, each visiting members once. */
    assert_string_equal(walk(f, "a", NULL, act_rejoin_a, 0), "0123");
    assert_string_equal(walk(f, "a,b", "s4", act_join_b, 0), "01235");
    assert_string_equal(walk(f, NULL, "a", act_leave_own, 0), "4567");
    assert_string_equal(walk(f, "b,a", NULL, act_leave_a, 0), "234501");
    join_range(f, 0, 3, "a");
    for (int k = 4; k < N; k++) join(f, k, f->ids[k]);
}

static void test_nested(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    join_range(f, 0, 3, "a");
    join_range(f, 2, 5, "b");
    /* The caller's marks survive: a member in both rooms is still visited once. */
    assert_string_equal(walk(f, "a,b", "s4", act_nested_walks, 0), "01235");
    assert_string_equal(walk(f, "a,b", "s4", act_nested_deeper, 0), "01235");
    assert_string_equal(walk(f, NULL, "s1", act_nested_walks, 0), "0234567");
    /* Everyone left a while the caller walked it, and joined again: that is a new room,
     * as in Node, and the caller reaches 1, 2, 3 only through b. */
    assert_string_equal(walk(f, "a,b", "s4", act_nested_changes, 0), "02351");
    assert_string_equal(sel(f, "a,b", NULL), "012345");
    /* disconnectSockets whose disconnect handlers broadcast. */
    assert_string_equal(walk(f, "a,b", NULL, act_nested_broadcast_then_remove, 0), "012345");
    assert_int_equal(f->ops->count(a), 2);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s6,s7");
}

/* ---- random walks with changes made from the callbacks ---- */

/*
 * A model of what a walk reaches, stepped in lockstep with the adapter: each callback checks
 * its member against the model's next one, then changes rooms and members at random in both.
 * A top-level walk follows Node's apply() over JavaScript Sets: entries are reached in
 * insertion order, those deleted before their turn are skipped, those inserted meanwhile
 * are reached, a Set deleted when emptied is not followed into its successor, and nobody is
 * reached twice. A nested walk (depth 1 and 2) reaches the entries present when it began
 * and still there, skipping members now in an except room or in a room selected before
 * the current one. The room named by a member's id is the adapter's own order: that member
 * first, when it is in it as the walk of the room begins, then the Set of the others.
 */
enum { WM = 10, WR = 6, WN = WR + WM + 1 }; /* members; shared rooms; names: q*, w*, zz */

typedef struct entry {
    int who;
    unsigned seq;
} entry;

typedef struct world {
    sio__adapter *a;
    sio__member m[WM];
    char names[WN][8];
    int added[WM];
    entry list[WM]; /* Node's sids Map */
    int nlist;
    entry room[WN][WM]; /* Node's rooms Map, but for own rooms */
    int nroom[WN];
    int own[WM];      /* member i is in room w<i> */
    unsigned gen[WN]; /* a new Set each time an empty room is joined */
    unsigned seq;
    size_t visits, nested;
} world;

static int w_find(const entry *v, int n, int who)
{
    for (int k = 0; k < n; k++)
        if (v[k].who == who) return k;
    return -1;
}

static void w_del(entry *v, int *n, int who)
{
    int k = w_find(v, *n, who);
    if (k < 0) return;
    memmove(v + k, v + k + 1, (size_t)(*n - k - 1) * sizeof(*v));
    (*n)--;
}

/* Whether room r is member i's own room and i is in it. */
static int w_own(const world *w, int i, int r)
{
    return r == WR + i && w->own[i];
}

static void w_model_join(world *w, int i, int r)
{
    if (r == WR + i) {
        w->own[i] = 1;
        return;
    }
    if (w_find(w->room[r], w->nroom[r], i) >= 0) return;
    if (!w->nroom[r]) w->gen[r]++;
    w->room[r][w->nroom[r]++] = (entry){i, ++w->seq};
}

static void w_join(world *w, int i, int r)
{
    assert_int_equal(w->a->ops->join(w->a, &w->m[i], w->names[r]), 0);
    w_model_join(w, i, r);
}

static void w_leave(world *w, int i, int r)
{
    w->a->ops->leave(w->a, &w->m[i], w->names[r]);
    if (r == WR + i) w->own[i] = 0;
    w_del(w->room[r], &w->nroom[r], i);
}

static void w_remove(world *w, int i)
{
    w->a->ops->remove(w->a, &w->m[i]);
    for (int r = 0; r < WN; r++) w_del(w->room[r], &w->nroom[r], i);
    w->own[i] = 0;
    w_del(w->list, &w->nlist, i);
    w->added[i] = 0;
}

static void w_add(world *w, int i)
{
    assert_int_equal(w->a->ops->add(w->a, &w->m[i]), 0);
    w->added[i] = 1;
    w->list[w->nlist++] = (entry){i, ++w->seq};
    w_model_join(w, i, WR + i);
}

typedef struct witer {
    int nested, done;
    int rooms[3], nr, except[2], ne;
    int ri, started, own_done;
    unsigned gen, last, bound; /* last: the seq last reached, 0 for none */
    char excluded[WM], seen[WM];
} witer;

static int w_in_any(const world *w, int i, const int *rooms, int n)
{
    for (int k = 0; k < n; k++)
        if (w_own(w, i, rooms[k]) || w_find(w->room[rooms[k]], w->nroom[rooms[k]], i) >= 0)
            return 1;
    return 0;
}

/* Whether a walk visits member i, which it reached, from the selection's room ri. */
static int w_admit(const world *w, witer *it, int i, int ri)
{
    if (it->nested) return !w_in_any(w, i, it->except, it->ne) && !w_in_any(w, i, it->rooms, ri);
    if (it->excluded[i] || it->seen[i]) return 0;
    it->seen[i] = 1;
    return 1;
}

static int model_next(const world *w, witer *it)
{
    while (!it->done) {
        const entry *src = w->list;
        int n = w->nlist;
        if (it->nr) {
            if (it->ri >= it->nr) break;
            int r = it->rooms[it->ri];
            if (!it->own_done) {
                it->own_done = 1;
                int o = r - WR;
                if (o >= 0 && o < WM && w_own(w, o, r) && w_admit(w, it, o, it->ri)) return o;
            }
            if (!it->started) {
                if (!w->nroom[r]) {
                    it->own_done = 0;
                    it->ri++;
                    continue;
                }
                it->started = 1;
                it->gen = w->gen[r];
                it->last = 0;
                it->bound = w->room[r][w->nroom[r] - 1].seq;
            }
            src = w->room[r];
            n = w->gen[r] == it->gen ? w->nroom[r] : 0;
        }
        int k = 0;
        while (k < n && src[k].seq <= it->last) k++;
        if (k == n || (it->nested && src[k].seq > it->bound)) {
            if (!it->nr) break;
            it->ri++;
            it->started = it->own_done = 0;
            continue;
        }
        it->last = src[k].seq;
        int i = src[k].who;
        if (w_admit(w, it, i, it->ri)) return i;
    }
    it->done = 1;
    return -1;
}

typedef struct wctx {
    world *w;
    witer it;
    int depth;
    size_t n;
} wctx;

static void w_select(world *w, int depth);

static int w_visit(sio__member *m, void *ud)
{
    wctx *c = ud;
    world *w = c->w;
    int i = (int)(m - w->m);
    assert_int_equal(i, model_next(w, &c->it));
    c->n++;
    w->visits++;
    int j = (int)rng(WM), r = (int)rng(WN - 1); /* zz is never joined */
    uint32_t op = rng(100);
    if (c->depth) {
        if (op < 25) {
            w_join(w, i, r);
        } else if (op < 33) {
            w_leave(w, i, r);
        } else if (op < 35) {
            w_remove(w, i);
            if (rng(2)) w_add(w, i);
        } else if (op < 38) {
            if (w->added[j]) w_join(w, j, r);
        } else if (op < 41) {
            if (w->added[j]) w_leave(w, j, r);
        } else if (op < 47) {
            if (c->depth < 2) w_select(w, c->depth + 1);
        } else if (op < 49) {
            c->it.done = 1;
            return 1;
        }
        return 0;
    }
    if (op < 20) {
        w_join(w, i, r);
    } else if (op < 35) {
        w_leave(w, i, r);
    } else if (op < 40) { /* disconnected, or reconnected at once */
        w_remove(w, i);
        if (rng(2)) w_add(w, i);
    } else if (op < 45) { /* others, beyond the callback contract */
        if (w->added[j]) w_join(w, j, r);
    } else if (op < 50) {
        if (w->added[j]) w_leave(w, j, r);
    } else if (op < 53) {
        if (j != i && w->added[j])
            w_remove(w, j);
        else if (!w->added[j])
            w_add(w, j);
    } else if (op < 63) {
        w_select(w, 1);
    } else if (op < 65) {
        c->it.done = 1;
        return 1;
    }
    return 0;
}

static void w_select(world *w, int depth)
{
    wctx c = {.w = w, .depth = depth};
    witer *it = &c.it;
    it->nested = depth > 0;
    it->nr = (int)rng(4);
    it->ne = (int)rng(3);
    const char *rooms[3], *except[2];
    for (int k = 0; k < it->nr; k++) rooms[k] = w->names[it->rooms[k] = (int)rng(WN)];
    for (int k = 0; k < it->ne; k++) except[k] = w->names[it->except[k] = (int)rng(WN)];
    for (int k = 0; k < it->ne; k++) {
        for (int e = 0; e < w->nroom[it->except[k]]; e++)
            it->excluded[w->room[it->except[k]][e].who] = 1;
        int o = it->except[k] - WR;
        if (o >= 0 && o < WM && w_own(w, o, it->except[k])) it->excluded[o] = 1;
    }
    if (!it->nr) it->bound = w->nlist ? w->list[w->nlist - 1].seq : 0;
    sio__adapter_sel sel = {rooms, (size_t)it->nr, except, (size_t)it->ne, 0};
    size_t n = w->a->ops->each(w->a, &sel, w_visit, &c);
    assert_int_equal(n, c.n);
    assert_int_equal(model_next(w, it), -1);
    w->nested += depth > 0;
}

static void w_check(world *w)
{
    size_t added = 0, rooms = 0, nonempty = 0;
    for (int i = 0; i < WM; i++) added += (size_t)w->added[i];
    assert_int_equal(w->a->ops->count(w->a), added);
    for (int r = 0; r < WN; r++) {
        int own = r >= WR && r < WR + WM && w_own(w, r - WR, r);
        assert_int_equal(w->a->ops->room_size(w->a, w->names[r]), w->nroom[r] + own);
        nonempty += w->nroom[r] + own > 0;
        for (int i = 0; i < WM; i++)
            assert_int_equal(w->a->ops->in_room(w->a, &w->m[i], w->names[r]),
                             w_own(w, i, r) || w_find(w->room[r], w->nroom[r], i) >= 0);
    }
    w->a->ops->rooms(w->a, count_room, &rooms);
    assert_int_equal(rooms, nonempty);
}

static void test_random_walks(void **state)
{
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->a = sio__memory_adapter_new();
    assert_non_null(w->a);
    for (int r = 0; r < WN; r++)
        snprintf(w->names[r], sizeof(w->names[r]),
                 r < WR        ? "q%d"
                 : r < WR + WM ? "w%d"
                               : "zz",
                 r < WR ? r : r - WR);
    for (int i = 0; i < WM; i++) {
        w->m[i].id = w->names[WR + i];
        w_add(w, i);
    }
    rng_state = 0xdeadbeefu;
    for (int step = 0; step < 30000; step++) {
        int i = (int)rng(WM), r = (int)rng(WN - 1);
        uint32_t op = rng(100);
        if (!w->added[i])
            w_add(w, i);
        else if (op < 30)
            w_join(w, i, r);
        else if (op < 40)
            w_leave(w, i, r);
        else if (op < 42)
            w_remove(w, i);
        else
            w_select(w, 0);
        if (step % 64 == 0) w_check(w);
    }
    w_check(w);
    assert_true(w->visits > 70000 && w->nested > 6000);
    w->a->ops->free(w->a);
    free(w);
}

/* ---- listings ---- */

static void test_rooms_of(void **state)
{
    fixture *f = *state;
    join(f, 0, "a");
    join(f, 0, "b");
    join(f, 0, "c");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "s0,a,b,c");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 2), "s0,a");
    f->ops->leave(f->a, &f->m[0], "b");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "s0,a,c");
    join(f, 0, "b");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "s0,a,c,b");
    /* Rooms left from the callback: the one listed, or one not listed yet. */
    assert_string_equal(rooms_of(f, 0, LIST_LEAVE_C, 0), "s0,a,b");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "s0,a,b");
    /* The next room, the last one, left from the callback. */
    join(f, 1, "c");
    assert_string_equal(rooms_of(f, 1, LIST_LEAVE_C, 0), "s1");
    assert_int_equal(f->m[1].nrooms, 1);
    /* Rooms joined from the callback are not listed. */
    assert_string_equal(rooms_of(f, 0, LIST_JOIN_NEW, 0), "s0,a,b");
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "s0,a,b,new-s0,new-a,new-b");
    /* Leaving every room while listing them. */
    assert_string_equal(rooms_of(f, 0, LIST_LEAVE_IT, 0), "s0,a,b,new-s0,new-a,new-b");
    assert_int_equal(f->m[0].nrooms, 0);
    assert_string_equal(rooms_of(f, 0, LIST_ONLY, 0), "");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "s1,s2,s3,s4,s5,s6,s7");
}

static void test_rooms(void **state)
{
    fixture *f = *state;
    join_range(f, 0, 3, "a");
    join(f, 5, "b");
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "a,b,s0,s1,s2,s3,s4,s5,s6,s7");
    listing l = {.f = f, .stop_after = 3};
    f->ops->rooms(f->a, list_room, &l);
    assert_int_equal(l.n, 3);
    /* Rooms created from the callback: the listing ends, each old room once. */
    assert_string_equal(all_rooms(f, LIST_JOIN_NEW, 0), "a,b,s0,s1,s2,s3,s4,s5,s6,s7");
    const char *after = all_rooms(f, LIST_ONLY, 0);
    assert_string_equal(after, "a,b,new-a,new-b,new-s0,new-s1,new-s2,new-s3,new-s4,new-s5,"
                               "new-s6,new-s7,s0,s1,s2,s3,s4,s5,s6,s7");
    /* Every room emptied, and so freed, while it is listed. */
    assert_string_equal(all_rooms(f, LIST_EMPTY_IT, 0), after);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "");
    for (int i = 0; i < N; i++) assert_int_equal(f->m[i].nrooms, 0);
    assert_string_equal(sel(f, NULL, NULL), "01234567");
    /* Every other room freed from the first callback: the listing ends there. */
    for (int i = 0; i < N; i++) join(f, i, f->ids[i]);
    assert_int_equal(strlen(all_rooms(f, LIST_REMOVE_ALL, 0)), 2);
    assert_string_equal(all_rooms(f, LIST_ONLY, 0), "");
    for (int i = 0; i < N; i++) assert_int_equal(f->ops->add(f->a, &f->m[i]), 0);
}

/* ---- many rooms ---- */

static void test_many_rooms(void **state)
{
    fixture *f = *state;
    sio__adapter *a = f->a;
    enum { ROOMS = 50000 };
    char name[32];
    for (int i = 0; i < ROOMS; i++) {
        snprintf(name, sizeof(name), "room-%d", i);
        join(f, i % N, name);
        if (i % 3 == 0) join(f, (i + 1) % N, name);
    }
    size_t rooms = 0;
    f->ops->rooms(a, count_room, &rooms);
    assert_int_equal(rooms, ROOMS + N);
    size_t mine = 0;
    f->ops->rooms_of(a, &f->m[0], count_room, &mine);
    assert_int_equal(mine, f->m[0].nrooms);
    size_t expect = 1;
    for (int i = 0; i < ROOMS; i++) expect += i % N == 0 || (i % 3 == 0 && (i + 1) % N == 0);
    assert_int_equal(f->m[0].nrooms, expect);
    for (int i = 0; i < ROOMS; i += 997) {
        snprintf(name, sizeof(name), "room-%d", i);
        assert_int_equal(f->ops->room_size(a, name), i % 3 == 0 ? 2 : 1);
        assert_true(f->ops->in_room(a, &f->m[i % N], name));
        assert_int_equal(f->ops->in_room(a, &f->m[(i + 1) % N], name), i % 3 == 0);
        assert_false(f->ops->in_room(a, &f->m[(i + 2) % N], name));
    }
    assert_int_equal(f->ops->room_size(a, "room-50000"), 0);
    assert_string_equal(sel(f, "room-0,room-3,room-4", NULL), "0134");
    /* Emptied again, the table shrinks; every room still resolves. */
    for (int i = 0; i < ROOMS; i++) {
        if (i % 5 == 0) continue;
        snprintf(name, sizeof(name), "room-%d", i);
        for (int k = 0; k < N; k++) f->ops->leave(a, &f->m[k], name);
    }
    rooms = 0;
    f->ops->rooms(a, count_room, &rooms);
    assert_int_equal(rooms, ROOMS / 5 + N);
    for (int i = 0; i < ROOMS; i += 5) {
        snprintf(name, sizeof(name), "room-%d", i);
        assert_true(f->ops->in_room(a, &f->m[i % N], name));
    }
    assert_string_equal(sel(f, "room-0,room-1,room-5", NULL), "015");
}

/* Names that differ in one byte, in its high bits too, are rooms of their own. */
static void test_similar_names(void **state)
{
    fixture *f = *state;
    char name[8] = "r";
    for (int c = 1; c < 256; c++) {
        name[1] = (char)c;
        name[2] = '\0';
        join(f, c % N, name);
    }
    for (int c = 1; c < 256; c++) {
        name[1] = (char)c;
        assert_int_equal(f->ops->room_size(f->a, name), 1);
        assert_true(f->ops->in_room(f->a, &f->m[c % N], name));
    }
}

/* ---- allocation ---- */

static int count_member(sio__member *m, void *ud)
{
    (*(size_t *)ud)++;
    return 0;
}

static void test_alloc_failure(void **state)
{
    fail_next = 0;
    assert_null(sio__memory_adapter_new());
    sio__adapter *a = sio__memory_adapter_new();
    assert_non_null(a);
    sio__member m = {.id = "m"}, n = {.id = "n"};

    /* add: every allocation it makes fails in turn, leaving nothing behind. */
    int failures = 0;
    for (long k = 0;; k++) {
        fail_next = k;
        int r = a->ops->add(a, &m);
        fail_next = -1;
        if (!r) break;
        assert_int_equal(r, SIO_ENOMEM);
        failures++;
        assert_int_equal(a->ops->count(a), 0);
        assert_int_equal(a->ops->room_size(a, "m"), 0);
        assert_null(m.rooms);
        assert_int_equal(m.nrooms, 0);
        a->ops->remove(a, &m);
        assert_int_equal(a->ops->count(a), 0);
    }
    assert_int_equal(failures, 1); /* the id table; the own room takes no memory */
    assert_int_equal(a->ops->add(a, &n), 0);

    /* join of a new room, then of an existing one. */
    for (long k = 0;; k++) {
        fail_next = k;
        int r = a->ops->join(a, &m, "room");
        fail_next = -1;
        if (!r) break;
        assert_int_equal(r, SIO_ENOMEM);
        assert_false(a->ops->in_room(a, &m, "room"));
        assert_int_equal(a->ops->room_size(a, "room"), 0);
        assert_int_equal(m.nrooms, 1);
    }
    fail_next = 0;
    assert_int_equal(a->ops->join(a, &n, "room"), SIO_ENOMEM);
    assert_int_equal(a->ops->room_size(a, "room"), 1);
    assert_int_equal(n.nrooms, 1);
    assert_int_equal(a->ops->join(a, &n, "room"), 0);
    assert_int_equal(a->ops->room_size(a, "room"), 2);

    /* Queries, selections and leaving allocate nothing (nothing here shrinks the table). */
    allocs = 0;
    const char *rooms[] = {"room", "n"}, *except[] = {"m"};
    sio__adapter_sel sel = {rooms, 2, except, 1, 0}, all = {0};
    size_t seen = 0;
    assert_int_equal(a->ops->each(a, &sel, count_member, &seen), 1);
    assert_int_equal(a->ops->each(a, &all, count_member, &seen), 2);
    assert_true(a->ops->in_room(a, &n, "room"));
    assert_int_equal(a->ops->room_size(a, "room"), 2);
    a->ops->rooms_of(a, &m, count_room, &seen);
    a->ops->rooms(a, count_room, &seen);
    assert_int_equal(seen, 1 + 2 + 2 + 3);
    a->ops->leave(a, &n, "room");
    a->ops->remove(a, &n);
    assert_int_equal(allocs, 0);
    /* Freed with a member still in. */
    a->ops->free(a);
}

/* A table that cannot grow still takes new rooms; it grows with the next one that can. */
static void test_growth_failure(void **state)
{
    sio__adapter *a = sio__memory_adapter_new();
    sio__member m = {.id = "m"};
    assert_int_equal(a->ops->add(a, &m), 0);
    assert_int_equal(a->ops->join(a, &m, "first"), 0); /* the table's first buckets */
    char name[16];
    fail_calloc = 1;
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        assert_int_equal(a->ops->join(a, &m, name), 0);
    }
    fail_calloc = 0;
    assert_int_equal(a->ops->join(a, &m, "last"), 0);
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        assert_int_equal(a->ops->room_size(a, name), 1);
    }
    size_t rooms = 0;
    a->ops->rooms(a, count_room, &rooms);
    assert_int_equal(rooms, 203);
    a->ops->remove(a, &m);
    a->ops->free(a);
}

/* ---- a random walk checked against a model of socket.io-adapter's Maps ---- */

enum { MM = 12, MR = 8, NR = MR + MM + 1 }; /* shared rooms, own rooms, one never joined */

typedef struct model {
    int added[MM];
    int order[MM], norder;       /* the member list */
    int room[NR][MM], nroom[NR]; /* room -> members, in join order */
    int mine[MM][NR], nmine[MM]; /* member -> rooms, in join order */
    char names[NR][8];           /* r0..r7, m0..m11, zz */
    sio__member m[MM];
} model;

static void vec_del(int *v, int *n, int x)
{
    for (int i = 0; i < *n; i++) {
        if (v[i] == x) {
            memmove(v + i, v + i + 1, (size_t)(*n - i - 1) * sizeof(*v));
            (*n)--;
            return;
        }
    }
}

static int vec_has(const int *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x) return 1;
    return 0;
}

static void model_join(model *md, int i, int r)
{
    if (vec_has(md->room[r], md->nroom[r], i)) return;
    md->room[r][md->nroom[r]++] = i;
    md->mine[i][md->nmine[i]++] = r;
}

static void model_leave(model *md, int i, int r)
{
    vec_del(md->room[r], &md->nroom[r], i);
    vec_del(md->mine[i], &md->nmine[i], r);
}

/* Node's apply(): the order and the members it reaches, but for the adapter's own order in
 * a room named by a member's id: that member first. */
static void model_select(const model *md, const int *rooms, int nr, const int *except, int ne,
                         char *out)
{
    int excluded[MM] = {0}, seen[MM] = {0};
    for (int e = 0; e < ne; e++)
        for (int k = 0; k < md->nroom[except[e]]; k++) excluded[md->room[except[e]][k]] = 1;
    if (!nr) {
        for (int k = 0; k < md->norder; k++)
            if (!excluded[md->order[k]]) *out++ = (char)('a' + md->order[k]);
    }
    for (int r = 0; r < nr; r++) {
        int owner = rooms[r] - MR;
        for (int k = -1; k < md->nroom[rooms[r]]; k++) {
            int i;
            if (k < 0) {
                if (owner < 0 || owner >= MM ||
                    !vec_has(md->room[rooms[r]], md->nroom[rooms[r]], owner))
                    continue;
                i = owner;
            } else {
                i = md->room[rooms[r]][k];
                if (i == owner) continue;
            }
            if (excluded[i] || seen[i]) continue;
            seen[i] = 1;
            *out++ = (char)('a' + i);
        }
    }
    *out = '\0';
}

typedef struct model_visit {
    model *md;
    char *out;
} model_visit;

static int model_record(sio__member *m, void *ud)
{
    model_visit *v = ud;
    *v->out++ = (char)('a' + (m - v->md->m));
    return 0;
}

typedef struct name_list {
    const model *md;
    int want[NR], n; /* the rooms expected: its own first, then in join order */
    int k;
} name_list;

static int check_room_of(const char *room, void *ud)
{
    name_list *l = ud;
    assert_true(l->k < l->n);
    assert_string_equal(room, l->md->names[l->want[l->k++]]);
    return 0;
}

static void model_check(const model *md, const sio__adapter *a)
{
    int added = 0, nonempty = 0;
    for (int i = 0; i < MM; i++) added += md->added[i];
    assert_int_equal(a->ops->count(a), added);
    for (int r = 0; r < NR; r++) {
        assert_int_equal(a->ops->room_size(a, md->names[r]), md->nroom[r]);
        nonempty += md->nroom[r] > 0;
        for (int i = 0; i < MM; i++)
            assert_int_equal(a->ops->in_room(a, &md->m[i], md->names[r]),
                             vec_has(md->room[r], md->nroom[r], i));
    }
    for (int i = 0; i < MM; i++) {
        assert_int_equal(md->m[i].nrooms, md->nmine[i]);
        name_list l = {.md = md};
        if (vec_has(md->mine[i], md->nmine[i], MR + i)) l.want[l.n++] = MR + i;
        for (int k = 0; k < md->nmine[i]; k++)
            if (md->mine[i][k] != MR + i) l.want[l.n++] = md->mine[i][k];
        a->ops->rooms_of(a, &md->m[i], check_room_of, &l);
        assert_int_equal(l.k, md->nmine[i]);
    }
    size_t rooms = 0;
    a->ops->rooms(a, count_room, &rooms);
    assert_int_equal(rooms, nonempty);
}

static void run_model(int failing)
{
    model *md = calloc(1, sizeof(*md));
    assert_non_null(md);
    for (int r = 0; r < NR; r++)
        snprintf(md->names[r], sizeof(md->names[r]),
                 r < MR        ? "r%d"
                 : r < MR + MM ? "m%d"
                               : "zz",
                 r < MR ? r : r - MR);
    for (int i = 0; i < MM; i++) md->m[i].id = md->names[MR + i];
    sio__adapter *a = sio__memory_adapter_new();
    assert_non_null(a);
    rng_state = failing ? 0x9e3779b9u : 0x12345678u;
    size_t selections = 0, failures = 0;
    for (int step = 0; step < 40000; step++) {
        int i = (int)rng(MM), r = (int)rng(MR + MM), op = (int)rng(100);
        if (failing && rng(3) == 0) fail_next = rng(3);
        if (!md->added[i]) {
            int err = a->ops->add(a, &md->m[i]);
            fail_next = -1;
            if (err) {
                assert_int_equal(err, SIO_ENOMEM);
                failures++;
                continue;
            }
            md->added[i] = 1;
            md->order[md->norder++] = i;
            model_join(md, i, MR + i);
        } else if (op < 40) {
            int err = a->ops->join(a, &md->m[i], md->names[r]);
            fail_next = -1;
            if (err) {
                assert_int_equal(err, SIO_ENOMEM);
                failures++;
                continue;
            }
            model_join(md, i, r);
        } else if (op < 60) {
            fail_next = -1;
            a->ops->leave(a, &md->m[i], md->names[r]);
            model_leave(md, i, r);
        } else if (op < 64) {
            fail_next = -1;
            a->ops->remove(a, &md->m[i]);
            while (md->nmine[i]) model_leave(md, i, md->mine[i][0]);
            vec_del(md->order, &md->norder, i);
            md->added[i] = 0;
        } else if (op < 98) {
            fail_next = -1;
            int rooms[4], except[3], nr = (int)rng(5) % 4, ne = (int)rng(4) % 3;
            const char *rn[4], *en[3];
            for (int k = 0; k < nr; k++) rn[k] = md->names[rooms[k] = (int)rng(NR)];
            for (int k = 0; k < ne; k++) en[k] = md->names[except[k] = (int)rng(NR)];
            char want[MM + 1], got[MM + 1];
            model_select(md, rooms, nr, except, ne, want);
            model_visit v = {md, got};
            sio__adapter_sel sel = {rn, (size_t)nr, en, (size_t)ne, 0};
            size_t before = allocs;
            size_t n = a->ops->each(a, &sel, model_record, &v);
            *v.out = '\0';
            assert_int_equal(allocs, before);
            assert_int_equal(n, strlen(got));
            assert_string_equal(got, want);
            selections++;
        } else {
            fail_next = -1;
            model_check(md, a);
        }
    }
    fail_next = -1;
    model_check(md, a);
    assert_true(selections > 10000);
    if (failing) assert_true(failures > 1000);
    a->ops->free(a);
    free(md);
}

static void test_model(void **state)
{
    run_model(0);
}

static void test_model_failing(void **state)
{
    run_model(1);
}

/* ---- cost of a selection ---- */

static int bench_member(sio__member *m, void *ud)
{
    *(size_t *)ud += m->nrooms;
    return 0;
}

static double ns_per_member(sio__adapter *a, const sio__adapter_sel *sel, size_t expect)
{
    enum { REPS = 200 };
    size_t sum = 0, before = allocs;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < REPS; k++)
        assert_int_equal(a->ops->each(a, sel, bench_member, &sum), expect);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(allocs, before); /* no allocation per selection */
    assert_true(sum > 0);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    return ns / REPS / (double)expect;
}

static void test_bench(void **state)
{
    enum { BIG = 10000 };
    sio__member *ms = calloc(BIG, sizeof(*ms));
    char(*ids)[8] = calloc(BIG, sizeof(*ids));
    assert_true(ms && ids);
    sio__adapter *a = sio__memory_adapter_new();
    for (int i = 0; i < BIG; i++) {
        snprintf(ids[i], sizeof(ids[i]), "b%d", i);
        ms[i].id = ids[i];
        assert_int_equal(a->ops->add(a, &ms[i]), 0);
        assert_int_equal(a->ops->join(a, &ms[i], "big"), 0);
        if (i % 2) assert_int_equal(a->ops->join(a, &ms[i], "odd"), 0);
    }
    const char *big[] = {"big"}, *odd_big[] = {"odd", "big"}, *me[] = {"b0"}, *odd[] = {"odd"};
    sio__adapter_sel room = {big, 1, NULL, 0, 0}, all = {0};
    sio__adapter_sel others = {NULL, 0, me, 1, 0};  /* socket.broadcast.emit */
    sio__adapter_sel both = {odd_big, 2, me, 1, 0}; /* to(["odd", "big"]).except(id) */
    sio__adapter_sel evens = {NULL, 0, odd, 1, 0};  /* except("odd") */
    double t_room = ns_per_member(a, &room, BIG);
    double t_all = ns_per_member(a, &all, BIG);
    double t_others = ns_per_member(a, &others, BIG - 1);
    double t_both = ns_per_member(a, &both, BIG - 1);
    double t_evens = ns_per_member(a, &evens, BIG / 2);
    print_message("memory adapter, %d members, ns per member visited: room %.1f, all %.1f, "
                  "all but one %.1f, union of 2 rooms (15000 memberships) %.1f, "
                  "all except a 5000-member room %.1f\n",
                  BIG, t_room, t_all, t_others, t_both, t_evens);
    for (int i = 0; i < BIG; i++) a->ops->remove(a, &ms[i]);
    a->ops->free(a);
    free(ids);
    free(ms);
}

int main(void)
{
    assert_int_equal(
        sio_replace_allocator(counting_malloc, counting_realloc, counting_calloc, free), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_own_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_room_implicit, setup, teardown),
        cmocka_unit_test(test_same_id),
        cmocka_unit_test_setup_teardown(test_join_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_walking_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_walking_rooms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_to_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
        cmocka_unit_test(test_random_walks),
        cmocka_unit_test_setup_teardown(test_rooms_of, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rooms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_rooms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_similar_names, setup, teardown),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_growth_failure),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_model_failing),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
