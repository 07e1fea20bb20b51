/*
 * A channel: an HTTP/1.1 connection upgraded (101 Switching Protocols,
 * "Upgrade: swarm-channel/1") to a stream of length-prefixed frames, one
 * request then its answer, for the small requests of the hot path (a step
 * of a session). It carries what an HTTP request carries (method, path,
 * headers, a body; the answer's status, type, headers, body) without
 * HTTP's text parsing, so the server's route handlers run unchanged.
 * man/swarm-protocol.7 documents it. A frame, little-endian:
 *
 *	off  size  field
 *	  0     4  magic "SWCH"
 *	  4     2  kind: 1 request, 2 answer
 *	  6     2  status: the answer's HTTP status (100-599); 0 in a request
 *	  8     4  head_len: bytes of the fields that follow
 *	 12     4  body_len: bytes of the body after the fields
 *	 16        fields, each a 2-byte length and that many bytes, none of
 *		   them NUL, CR or LF: a request's method and path, an
 *		   answer's content type (may be empty); then header name and
 *		   value pairs
 *	           the body
 */
#ifndef SWARM_NET_CHANNEL_H
#define SWARM_NET_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define CHANNEL_PROTOCOL	"swarm-channel/1"
#define CHANNEL_MAGIC		"SWCH"
#define CHANNEL_HEAD_SIZE	16
#define CHANNEL_MAX_FIELDS	16384	/* head_len */
#define CHANNEL_MAX_HEADERS	16	/* name and value pairs */
#define CHANNEL_MAX_FIELD	8192	/* one field's bytes */

enum channel_kind {
	CHANNEL_REQUEST = 1,
	CHANNEL_ANSWER = 2,
};

/* The fixed part of a frame. */
struct channel_head {
	enum channel_kind kind;
	unsigned	 status;
	uint32_t	 head_len;
	uint32_t	 body_len;
};

/* A frame's fields, each an allocated NUL-terminated copy. */
struct channel_msg {
	enum channel_kind kind;
	unsigned	 status;	/* an answer's */
	char		*method;	/* a request's */
	char		*path;		/* a request's */
	char		*content_type;	/* an answer's; "" when none */
	char		*names[CHANNEL_MAX_HEADERS];
	char		*values[CHANNEL_MAX_HEADERS];
	size_t		 n_headers;
	uint32_t	 body_len;
};

/*
 * Reads the fixed part (CHANNEL_HEAD_SIZE bytes) and checks it: the
 * magic, a known kind, a status that fits the kind, head_len within
 * CHANNEL_MAX_FIELDS and body_len within max_body.
 */
int	channel_head_parse(const void *buf, uint64_t max_body,
	    struct channel_head *, char **cause);
/* Reads the fields of a frame whose fixed part is head. */
int	channel_fields_parse(const struct channel_head *head, const void *buf,
	    size_t len, struct channel_msg *, char **cause);
void	channel_msg_release(struct channel_msg *);

/*
 * Appends a frame's fixed part and fields (the body, body_len bytes, is
 * the caller's to append). Fields with NUL, CR or LF, or over the limits,
 * are a caller's bug: these return -1 and append nothing.
 */
int	channel_encode_request(struct strbuf *, const char *method,
	    const char *path, char *const *names, char *const *values,
	    size_t n_headers, uint32_t body_len);
int	channel_encode_answer(struct strbuf *, unsigned status,
	    const char *content_type, char *const *names, char *const *values,
	    size_t n_headers, uint32_t body_len);

/*
 * Blocking socket I/O with a deadline (clock_now() seconds). channel_fill
 * makes in hold at least want bytes, taking as much as the socket has (up
 * to want + 64 KiB). -1 with *cause on end of file, an error or the
 * deadline; *closed set when the peer closed the connection.
 */
int	channel_fill(int fd, struct strbuf *in, size_t want, double deadline,
	    int *closed, char **cause);
int	channel_write(int fd, const void *buf, size_t len, double deadline,
	    char **cause);
/* Drops the first n bytes of in (a frame taken). */
void	channel_consume(struct strbuf *in, size_t n);

#endif
