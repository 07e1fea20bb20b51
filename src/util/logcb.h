/*
 * Log callbacks: every runtime reports progress through a caller's
 * void (*log)(void *arg, const char *msg), NULL for silence; these format
 * the message and make the call.
 */
#ifndef SWARM_UTIL_LOGCB_H
#define SWARM_UTIL_LOGCB_H

#include <stdarg.h>

typedef void (*logcb_fn)(void *arg, const char *msg);

void	logcb_vprintf(logcb_fn, void *arg, const char *fmt, va_list ap);

#endif
