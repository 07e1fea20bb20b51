/*
 * A growable, always NUL-terminated byte buffer (after git's strbuf), used
 * wherever text or binary data of unknown length is assembled.
 */
#ifndef SWARM_UTIL_STRBUF_H
#define SWARM_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct strbuf {
	char	*buf;
	size_t	 len;
	size_t	 alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void	 strbuf_init(struct strbuf *sb);
void	 strbuf_release(struct strbuf *sb);
void	 strbuf_reset(struct strbuf *sb);
void	 strbuf_grow(struct strbuf *sb, size_t extra);
void	 strbuf_add(struct strbuf *sb, const void *data, size_t len);
void	 strbuf_adds(struct strbuf *sb, const char *s);
void	 strbuf_addc(struct strbuf *sb, char c);
void	 strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Appends everything fp has left to read; -1 on a read error. */
int	 strbuf_fread(struct strbuf *sb, FILE *fp);
/* Hands the buffer to the caller (never NULL) and resets sb. */
char	*strbuf_detach(struct strbuf *sb, size_t *len);

#endif
