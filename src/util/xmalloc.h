/*
 * Allocation helpers that never return NULL: running out of memory is not a
 * condition the toolkit can recover from, so these abort with a message.
 * xasprintf is how src/ builds the allocated `cause` strings it returns.
 */
#ifndef SWARM_UTIL_XMALLOC_H
#define SWARM_UTIL_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* Set *cause (when cause is not NULL) to a formatted message; returns -1. */
int set_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
