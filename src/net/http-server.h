/*
 * The one HTTP/1.1 server of the house, over libmicrohttpd, for the node,
 * the gateway and whatever comes next. A server is a table of routes
 * (method and path pattern -> handler): a path that matches no route is a
 * 404, one that matches with another method a 405 with an Allow header,
 * both answered from the table. Before a byte of a body is kept, its
 * Content-Length is checked against the route's cap (413) and against the
 * bytes all connections may buffer together (503), the route's bearer key
 * (401) and the route's own admit check; two Content-Length headers are a
 * 400.
 *
 * The server is event-driven: a few threads each wait in epoll over many
 * sockets, so slow or idle clients cost a socket, not a thread, and are
 * dropped after a short silence. A handler flagged HTTP_ROUTE_THREAD runs
 * on a thread of its own while its connection is suspended, so long work
 * (a forward pass, a generation) never holds one of those threads; such a
 * handler may answer with a stream, written as the work goes and ended
 * when the handler returns.
 */
#ifndef SWARM_NET_HTTP_SERVER_H
#define SWARM_NET_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_WILD		4	/* '*' segments in a pattern */
#define HTTP_MAX_HEADERS	8	/* headers a handler may add */

struct http_exchange;
struct http_stream;

struct http_request {
	const char	*method;
	const char	*path;
	const char	*wild[HTTP_MAX_WILD];	/* what each '*' matched */
	const char	*body;		/* NUL-terminated; "" when none */
	size_t		 body_len;
	int		 loopback;	/* the client is on 127.0.0.0/8 or ::1 */
	int		 channel;	/* it came on a channel */
	struct http_exchange *x;	/* the server's */
};

struct http_response {
	int		 status;
	const char	*content_type;	/* static */
	char		*body;		/* allocated; the server frees it */
	size_t		 len;
	/* Or, has_file set: len bytes of file_fd from file_offset, sent from
	 * the page cache (sendfile) without a copy; the server closes it. */
	int		 has_file;
	int		 file_fd;
	uint64_t	 file_offset;
	char		*headers[HTTP_MAX_HEADERS][2];	/* allocated */
	int		 n_headers;
};

typedef void (*http_handler)(void *arg, const struct http_request *,
    struct http_response *);

/*
 * Called once the headers are in, before any of the body is read:
 * returns 0 to go on, or fills resp and returns -1 to answer at once.
 * content_length is UINT64_MAX when the client did not say (chunked).
 */
typedef int (*http_admit)(void *arg, const struct http_request *,
    uint64_t content_length, struct http_response *);

#define HTTP_ROUTE_AUTH		0x1	/* a bearer key of the server's */
#define HTTP_ROUTE_THREAD	0x2	/* long work: a thread of its own */
/* Also served on a channel (channel_path below); never with a stream. */
#define HTTP_ROUTE_CHANNEL	0x4

struct http_route {
	const char	*method;	/* "GET" answers HEAD too */
	/*
	 * A path; a '*' segment matches one segment ("/sessions/x/step"
	 * matches "/sessions/x" with x a '*'), and a last segment "**"
	 * matches the rest of the path, even empty.
	 */
	const char	*pattern;
	http_handler	 handler;
	size_t		 max_body;	/* 0: no body */
	int		 flags;
	http_admit	 admit;		/* may be NULL */
};

struct http_server_config {
	const char		*host;
	uint16_t		 port;		/* 0: any free port */
	const struct http_route	*routes;
	size_t			 n_routes;
	void			*arg;		/* to every callback */
	char *const		*api_keys;	/* for HTTP_ROUTE_AUTH */
	size_t			 n_api_keys;	/* 0: no key needed */
	/*
	 * The body of an answer the server gives itself (400, 401, 404,
	 * 405, 413, 503, 500), in the application's error shape; NULL: a
	 * protocol error ({"error":{"code","message"}}). message is UTF-8.
	 */
	void			(*error)(void *arg, struct http_response *,
				    int status, const char *code,
				    const char *message);
	/* Every answer's status as it is queued (metrics); may be NULL. */
	void			(*answered)(void *arg, int status);
	size_t			 max_buffered;	/* 0: 128 MiB */
	unsigned		 threads;	/* 0: 4 */
	unsigned		 idle_timeout;	/* seconds; 0: 10 */
	unsigned		 max_per_address; /* 0: 256 */
	/*
	 * Channels (net/channel.h): a GET of channel_path asking to upgrade
	 * to CHANNEL_PROTOCOL turns its connection into a channel, served
	 * by a thread of its own that runs the HTTP_ROUTE_CHANNEL routes'
	 * handlers frame by frame, with the same checks as over HTTP.
	 * NULL: none. A channel ends after channel_idle seconds without a
	 * request; past max_channels (16 from one address, loopback
	 * excepted) the upgrade is refused with 503.
	 */
	const char		*channel_path;
	unsigned		 max_channels;	/* 0: 128 */
	unsigned		 channel_idle;	/* seconds; 0: 120 */
};

struct http_server;

/* Listens on host:port; raises the open-file limit as far as it goes. */
struct http_server	*http_server_new(const struct http_server_config *,
			    char **cause);
uint16_t		 http_server_port(const struct http_server *);
/* Channels open now. */
unsigned		 http_server_channels(struct http_server *);
/*
 * Stops listening: streams see their client gone, the server waits for
 * every handler thread, then closes every connection.
 */
void			 http_server_free(struct http_server *);

/* A request header (case-insensitive name), or NULL; the first of several. */
const char	*http_request_header(const struct http_request *,
		    const char *name);
/*
 * Has the client hung up (or is the server stopping)? Cheap enough to ask
 * once per generated token.
 */
int		 http_request_gone(const struct http_request *);

/* Adds a header to the answer. */
void	http_response_header(struct http_response *, const char *name,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fills a protocol error answer: {"error":{"code","message"}}. */
void	http_response_error(struct http_response *, int status,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Frees what a response holds; it may be filled again. */
void	http_response_release(struct http_response *);

/*
 * From an HTTP_ROUTE_THREAD handler: sends the status and the headers of
 * resp now and answers with a stream; resp's body is ignored. The stream
 * ends when the handler returns. NULL when the route is not threaded.
 */
struct http_stream	*http_response_stream(const struct http_request *,
			    struct http_response *);
/*
 * Queues bytes; waits while too much is queued. -1 when the client is
 * gone or the server stopping: the handler should stop its work.
 */
int			 http_stream_write(struct http_stream *,
			    const void *buf, size_t len);

/* Compares two keys in time that depends on neither's content. */
int	http_key_equal(const char *a, const char *b);
/*
 * Does path match a route's pattern? 1 with what each '*' segment matched
 * copied (allocated) to wild, else 0 with wild untouched. The server's own
 * routing; public for the fuzz target.
 */
int	http_route_match(const char *pattern, const char *path,
	    char *wild[HTTP_MAX_WILD]);

#endif
