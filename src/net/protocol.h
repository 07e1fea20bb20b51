/*
 * The peer-to-peer protocol (man/swarm-protocol.7): JSON control messages
 * over HTTP and one binary frame for hidden states. A step frame is a fixed
 * little-endian header followed by n_tokens rows of width values:
 *
 *	off  size  field
 *	  0     4  magic "SWHS"
 *	  4     2  version (PROTO_VERSION)
 *	  6     2  dtype (enum proto_dtype)
 *	  8     4  n_tokens
 *	 12     4  width (the model's n_embd)
 *	 16     4  pos0: position of the first row
 *	 20     4  flags (PROTO_FLAG_PUSH; others must be zero)
 *	 24     8  step number within the session, from 0
 *	 32     8  session: 0, reserved
 *	 40     8  reserved, zero
 *	 48        rows
 *
 * The same frame carries the answer (the span's output rows).
 */
#ifndef SWARM_NET_PROTOCOL_H
#define SWARM_NET_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define PROTO_VERSION		1
#define PROTO_MAGIC		"SWHS"
#define PROTO_HEADER_SIZE	48
#define PROTO_MAX_TOKENS	65536	/* rows in one frame */
#define PROTO_MAX_WIDTH		65536
#define PROTO_MAX_BODY		(64u << 20)	/* any request body */
#define PROTO_CONTENT_TYPE	"application/x-swarm-step"
/* Where a node upgrades a connection to a channel (net/channel.h), for
 * steps. */
#define PROTO_CHANNEL_PATH	"/channel"
/*
 * Push: the node forwards its output to the next hop of the route the
 * session's client signed (POST /sessions/ID/route), as a step of that
 * hop's session, with this flag again; a node without a route does not.
 */
#define PROTO_FLAG_PUSH		0x1
#define PROTO_FLAGS_KNOWN	PROTO_FLAG_PUSH

enum proto_dtype {
	PROTO_DTYPE_F32 = 0,
	PROTO_DTYPE_F16 = 1,
	PROTO_DTYPE_BF16 = 2,
};

struct proto_step {
	enum proto_dtype dtype;
	uint32_t	 n_tokens;
	uint32_t	 width;
	uint32_t	 pos0;
	uint32_t	 flags;
	uint64_t	 step;
	uint64_t	 session;
};

/* What a receiver accepts; checked before any allocation. */
struct proto_limits {
	uint32_t	 width;		/* exact; 0: any up to PROTO_MAX_WIDTH */
	uint32_t	 max_tokens;	/* rows per frame */
	uint32_t	 max_pos;	/* pos0 + n_tokens must not exceed it */
};

const char	*proto_dtype_name(enum proto_dtype);
int		 proto_dtype_parse(const char *, enum proto_dtype *);
size_t		 proto_dtype_size(enum proto_dtype);

/* Appends the frame for rows hidden[n_tokens][width], converted to dtype. */
void	proto_step_encode(const struct proto_step *, const float *hidden,
	    struct strbuf *out);
/*
 * Checks a frame against the limits and, on success, returns its rows
 * converted to float32 in *hidden (allocated, n_tokens * width).
 */
int	proto_step_decode(const void *buf, size_t len,
	    const struct proto_limits *, struct proto_step *,
	    float **hidden, char **cause);

/* {"error":{"code":CODE,"message":MESSAGE}} (allocated). */
/*
 * What a client signs to open a session (node_open_client): the model, the
 * span, the length and the time, one line each after a fixed first line, so
 * a signature speaks for these terms and nothing else. Allocated.
 */
char	*proto_session_terms(const char *model_id, uint32_t block_begin,
	    uint32_t block_end, uint32_t max_length, int64_t timestamp);
/*
 * What a client signs to let a session's node forward its outputs: the
 * session, the next hop (address and session there), the difference of
 * step numbers between the two sessions and a sequence number that only
 * grows, one line each after a fixed first line. Allocated.
 */
char	*proto_route_terms(const char *model_id, const char *session,
	    const char *next_addr, const char *next_session,
	    int64_t step_delta, uint64_t seq);
char	*proto_error_json(const char *code, const char *message);
/* Reads an error body; returns -1 when it is not one. */
int	 proto_error_parse(const char *body, size_t len, char **code,
	    char **message);

/* Splits "host:port" ("[v6]:port" too); host gets an allocated copy. */
int	 proto_parse_addr(const char *addr, char **host, uint16_t *port,
	    char **cause);

#endif
