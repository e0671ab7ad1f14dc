/* Interned strings: one refcounted copy of each distinct string. Every socket of an
 * application usually registers handlers for the same few event names, so a socket keeps
 * pointers into this table instead of a copy of each name. */
#ifndef SIO_BASE_INTERN_H
#define SIO_BASE_INTERN_H

#include <stddef.h>

typedef struct sio__intern sio__intern;

/* An empty table, or NULL when out of memory. */
sio__intern *sio__intern_new(void);
/* Frees the table and every string still in it. */
void sio__intern_free(sio__intern *t);
/* The shared copy of s with one more reference, or NULL when out of memory. Pointers
 * returned for equal strings are equal. */
const char *sio__intern_get(sio__intern *t, const char *s);
/* One more reference to a string returned by sio__intern_get (NULL is ignored). */
void sio__intern_ref(sio__intern *t, const char *s);
/* Drops one reference of a string returned by sio__intern_get (NULL is ignored); the last
 * one frees it. */
void sio__intern_put(sio__intern *t, const char *s);
/* The number of distinct strings held. */
size_t sio__intern_count(const sio__intern *t);

#endif
