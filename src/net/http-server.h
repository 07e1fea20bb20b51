/*
 * A small HTTP/1.1 server over libmicrohttpd for the node's endpoints. Each
 * connection gets its own thread (a step blocks on the compute pool, and a
 * blocked connection must not hold up another's), keep-alive is on, and an
 * idle server sleeps in poll. A request's body is collected up to a limit
 * and handed to one callback, whose answer is sent as is.
 */
#ifndef SWARM_NET_HTTP_SERVER_H
#define SWARM_NET_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct http_request {
	const char	*method;
	const char	*path;
	const char	*body;
	size_t		 body_len;
	const char	*token;		/* X-Swarm-Token header, or NULL */
	int		 loopback;	/* the client is on 127.0.0.0/8 or ::1 */
};

struct http_response {
	int		 status;
	const char	*content_type;	/* static */
	char		*body;		/* allocated; the server frees it */
	size_t		 len;
};

typedef void (*http_handler)(void *arg, const struct http_request *,
    struct http_response *);

struct http_server;

/* Listens on host:port (port 0: any free port). */
struct http_server	*http_server_new(const char *host, uint16_t port,
			    size_t max_body, http_handler, void *arg,
			    char **cause);
uint16_t		 http_server_port(const struct http_server *);
/* Stops listening, closes every connection and waits for their threads. */
void			 http_server_free(struct http_server *);

/* Fills a JSON error answer: {"error":{"code","message"}}. */
void	http_response_error(struct http_response *, int status,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#endif
