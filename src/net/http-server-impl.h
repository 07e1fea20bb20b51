/*
 * The HTTP server's insides, shared by its two files: http-server.c (the
 * libmicrohttpd side) and http-channel.c (connections upgraded to
 * channels, net/channel.h). Not for the server's users.
 */
#ifndef SWARM_NET_HTTP_SERVER_IMPL_H
#define SWARM_NET_HTTP_SERVER_IMPL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/http-server.h"
#include "util/strbuf.h"

#define HTTP_ADDR_BUCKETS	256

struct http_channel;

/* Open connections of one client address (not loopback). */
struct http_addr {
	unsigned char	 key[16];
	int		 family;
	unsigned	 count;
	struct http_addr *next;
};

struct http_server {
	struct http_server_config cfg;
	struct MHD_Daemon	*mhd;
	uint16_t		 port;
	int			 stopping;	/* atomic */
	pthread_mutex_t		 mu;		/* everything below */
	pthread_cond_t		 cv;
	size_t			 buffered;	/* body bytes reserved */
	pthread_cond_t		 work;		/* a job is queued */
	struct http_exchange	*queue;		/* jobs for the workers */
	struct http_exchange	*queue_tail;
	unsigned		 n_queued;
	unsigned		 jobs;		/* queued or running */
	unsigned		 n_workers;
	unsigned		 n_idle;
	struct http_addr	*addrs[HTTP_ADDR_BUCKETS];
	struct http_channel	*channels;	/* open channels */
	unsigned		 n_channels;
};

struct http_header {
	char	*name;
	char	*value;
};

struct http_stream {
	struct http_exchange	*x;
};

struct http_exchange {
	struct http_server	*s;
	struct MHD_Connection	*conn;
	const struct http_route	*route;
	int			 fd;
	pthread_mutex_t		 mu;	/* the fields from here on */
	pthread_cond_t		 cv;
	int			 refs;
	char			*method;
	char			*path;
	char			*wild[HTTP_MAX_WILD];
	struct http_header	*headers;
	size_t			 n_headers;
	struct strbuf		 body;
	uint64_t		 content_length;	/* UINT64_MAX: unknown */
	size_t			 reserved;	/* of the server's budget */
	int			 queued;	/* an answer is on its way */
	int			 refused;	/* answered at the request's end */
	int			 too_large;
	int			 over_budget;
	int			 threaded;	/* a handler thread has it */
	int			 suspended;
	int			 done;		/* the handler returned */
	int			 gone;		/* the connection ended */
	int			 streaming;
	int			 channel;	/* asks for a channel */
	int			 stream_queued;
	struct http_request	 req;
	struct http_response	 resp;
	struct http_stream	 stream;
	struct strbuf		 out;		/* stream bytes not yet sent */
	size_t			 out_off;
	struct http_exchange	*next;		/* in the server's queue */
};

static inline int
http_server_stopping(const struct http_server *s)
{
	return __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE);
}

/* An exchange of no connection yet (refs 1, fd -1). */
struct http_exchange	*http_exchange_alloc(struct http_server *,
			    const char *method, const char *path);
void			 http_exchange_unref(struct http_exchange *);
const struct http_route	*http_server_route(struct http_server *,
			    struct http_exchange *, int *path_known,
			    struct strbuf *allow);
int			 http_server_authorized(struct http_server *,
			    struct http_exchange *);
int			 http_server_reserve(struct http_server *,
			    struct http_exchange *, size_t);
enum MHD_Result		 http_server_queue(struct http_server *,
			    struct http_exchange *, struct http_response *);
int			 http_server_loopback_addr(const struct sockaddr *);
/* An address's bytes (zero-padded to 16) and family; -1: not IP. */
int			 http_addr_key(const struct sockaddr *,
			    unsigned char key[16], int *family);
void			 http_server_error_fill(struct http_server *,
			    struct http_response *, int status,
			    const char *code, const char *fmt, ...)
			    __attribute__((format(printf, 5, 6)));

/* http-channel.c: the upgrade's answer, and the channels' end. */
enum MHD_Result		 http_channel_offer(struct http_server *,
			    struct http_exchange *);
void			 http_channel_close_all(struct http_server *);

#endif
