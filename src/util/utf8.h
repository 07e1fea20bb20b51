/*
 * UTF-8 helpers for output that must be valid text (JSON, terminals) while
 * the model may produce arbitrary bytes through byte-fallback tokens.
 */
#ifndef SWARM_UTIL_UTF8_H
#define SWARM_UTIL_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid
 * or cut short by the end of the buffer. */
size_t	 utf8_seq_len(const unsigned char *s, size_t avail);
/* Allocated copy of s[0..len) with every invalid sequence replaced by
 * U+FFFD; *outlen gets the new length. */
char	*utf8_sanitize(const char *s, size_t len, size_t *outlen);

#endif
