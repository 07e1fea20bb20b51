/*
 * libmicrohttpd glue: binds the listening socket, collects request bodies
 * (refusing those over the limit without buffering them) and turns the
 * handler's answer into an MHD response.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http-server.h"
#include "net/protocol.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* One thread each: a bound on threads as much as on sockets. */
#define HTTP_SERVER_MAX_CONNECTIONS	256

struct http_server {
	struct MHD_Daemon	*mhd;
	http_handler		 handler;
	void			*arg;
	size_t			 max_body;
	uint16_t		 port;
};

/* Per-request state between MHD's calls. */
struct http_conn {
	struct strbuf	 body;
	int		 too_large;
};

void
http_response_error(struct http_response *r, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	free(r->body);
	r->status = status;
	r->content_type = "application/json";
	r->body = proto_error_json(code, msg);
	r->len = strlen(r->body);
	free(msg);
}

static int
http_server_loopback(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}

static enum MHD_Result
http_server_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_conn *hc = *con_cls;
	struct http_request req;
	struct http_response resp;
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (hc == NULL) {
		hc = xcalloc(1, sizeof(*hc));
		strbuf_init(&hc->body);
		*con_cls = hc;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (hc->too_large || hc->body.len + *upload_data_size >
		    s->max_body) {
			hc->too_large = 1;
			strbuf_release(&hc->body);
		} else
			strbuf_add(&hc->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}

	memset(&resp, 0, sizeof(resp));
	if (hc->too_large) {
		http_response_error(&resp, 413, "too_large", "request body over "
		    "%zu bytes", s->max_body);
	} else {
		memset(&req, 0, sizeof(req));
		req.method = method;
		req.path = url;
		req.body = hc->body.buf != NULL ? hc->body.buf : "";
		req.body_len = hc->body.len;
		req.token = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    "X-Swarm-Token");
		req.loopback = http_server_loopback(c);
		resp.status = 500;
		s->handler(s->arg, &req, &resp);
	}
	if (resp.body == NULL) {
		resp.body = xstrdup("");
		resp.len = 0;
	}
	mr = MHD_create_response_from_buffer(resp.len, resp.body,
	    MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(resp.body);
		return MHD_NO;
	}
	if (resp.content_type != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
		    resp.content_type);
	ret = MHD_queue_response(c, (unsigned)resp.status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static void
http_server_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_conn *hc = *con_cls;

	if (hc != NULL) {
		strbuf_release(&hc->body);
		free(hc);
		*con_cls = NULL;
	}
}

/* Small frames must not wait for Nagle's algorithm. */
static void
http_server_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	int one = 1;

	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL)
		setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
}

struct http_server *
http_server_new(const char *host, uint16_t port, size_t max_body,
    http_handler handler, void *arg, char **cause)
{
	struct http_server *s;
	struct addrinfo hints, *ai = NULL;
	const union MHD_DaemonInfo *di;
	char portstr[8];
	unsigned flags;
	int err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((err = getaddrinfo(host, portstr, &hints, &ai)) != 0) {
		set_cause(cause, "cannot resolve '%s': %s", host,
		    gai_strerror(err));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->handler = handler;
	s->arg = arg;
	s->max_body = max_body;
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_USE_ITC;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->mhd = MHD_start_daemon(flags, port, NULL, NULL, http_server_access,
	    s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_NOTIFY_COMPLETED, http_server_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, http_server_notify, s,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_SERVER_MAX_CONNECTIONS,
	    MHD_OPTION_END);
	err = errno;
	freeaddrinfo(ai);
	if (s->mhd == NULL) {
		set_cause(cause, "cannot listen on %s:%u: %s", host, port,
		    strerror(err != 0 ? err : EADDRINUSE));
		free(s);
		return NULL;
	}
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di != NULL && di->port != 0 ? di->port : port;
	return s;
}

uint16_t
http_server_port(const struct http_server *s)
{
	return s->port;
}

void
http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}
