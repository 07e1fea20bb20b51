/*
 * An HTTP client for one peer over libcurl: one easy handle reused for every
 * request, so the connection stays open (keep-alive) and small frames go out
 * at once (TCP_NODELAY). Not thread-safe: one client per thread and peer.
 */
#ifndef SWARM_NET_HTTP_CLIENT_H
#define SWARM_NET_HTTP_CLIENT_H

#include <stddef.h>

struct strbuf;
struct http_client;

/* addr is host:port, or a base URL (http://host:port/v1); timeouts in
 * seconds. */
struct http_client	*http_client_new(const char *addr,
			    double connect_timeout);
void			 http_client_free(struct http_client *);
const char		*http_client_addr(const struct http_client *);
#define HTTP_CLIENT_MAX_HEADERS	4

/*
 * One more header for the next request only (a receipt); no CR or LF. At
 * most HTTP_CLIENT_MAX_HEADERS names; the same name again replaces.
 */
void			 http_client_set_header(struct http_client *,
			    const char *name, const char *value);

/*
 * Sends a request (body may be NULL for none) and collects the answer, at
 * most max_answer bytes. Returns -1 with *cause on a transport failure
 * (refused, reset, timeout, answer too long); an HTTP error status is not a
 * failure here: it is in *status.
 */
int	http_client_request(struct http_client *, const char *method,
	    const char *path, const char *token, const void *body, size_t len,
	    const char *content_type, double timeout, size_t max_answer,
	    long *status, struct strbuf *answer, char **cause);

/*
 * Lets http_client_request_channel use a channel (net/channel.h): path is
 * where the server upgrades connections to one (NULL: never). Only for a
 * host:port client.
 */
void	http_client_channel(struct http_client *, const char *path);
/*
 * As http_client_request, over the channel when the server gives one: it
 * is opened at the first such request, on a connection of its own, and
 * kept. When the channel cannot be opened or fails, the request goes over
 * HTTP at once (so it must bear being received twice, as a session's step
 * does); a server that has no channels is not asked again, and after a
 * failure no channel is tried for a few seconds.
 */
int	http_client_request_channel(struct http_client *, const char *method,
	    const char *path, const char *token, const void *body, size_t len,
	    const char *content_type, double timeout, size_t max_answer,
	    long *status, struct strbuf *answer, char **cause);
/* Did the last request go over the channel? */
int	http_client_on_channel(const struct http_client *);

/*
 * The last request's times from its start, seconds: to the answer's first
 * byte and to its last. What lies between is the answer's transfer, which
 * tells the link's speed when the answer is large (client.c's wire dtype).
 */
int	http_client_timing(struct http_client *, double *first_byte,
	    double *total);

/*
 * From another thread: breaks the connection, so that a request waiting
 * on it fails at once (and the next one connects anew).
 */
void	http_client_abort(struct http_client *);

/*
 * POSTs a JSON body (NULL: GETs) to path (Authorization: Bearer when bearer is not
 * NULL) and hands the answer to on_data as it arrives, and with (NULL, 0)
 * now and then while it waits: on_data returning non-zero stops the
 * transfer, and this returns 1. Returns 0 when the answer is complete,
 * -1 with *cause on a transport failure; the status is in *status.
 * timeout 0: none.
 */
int	http_client_stream(struct http_client *, const char *path,
	    const char *bearer, const void *body, size_t len, double timeout,
	    int (*on_data)(void *arg, const char *data, size_t len),
	    void *arg, long *status, char **cause);

#endif
