/* The allocator every libsio allocation goes through (replaceable, overflow-checked). */
#ifndef SIO_BASE_ALLOC_H
#define SIO_BASE_ALLOC_H

#include <stddef.h>
#include <string.h>

void *sio__malloc(size_t n);
void *sio__calloc(size_t count, size_t size);
void *sio__realloc(void *p, size_t n);
/* realloc for count * size bytes; NULL (and p untouched) if the product overflows. */
void *sio__reallocarray(void *p, size_t count, size_t size);
void sio__free(void *p);
char *sio__strdup(const char *s);
char *sio__strndup(const char *s, size_t n);
void *sio__memdup(const void *p, size_t n);

#endif
