/*
 * Channels on the server's side (net/channel.h, http-server.h): a GET of
 * the channel path with "Upgrade: swarm-channel/1" is answered 101, and
 * libmicrohttpd hands the socket over. A thread of the channel's own then
 * reads request frames, runs each through the same checks as an HTTP
 * request (route, method, key, body cap, the route's admit check, the
 * server's body budget) and the route's handler, on itself (no hand-off
 * to a worker and back), and writes the answer frame: one wake-up and one
 * socket call each way for a request.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/channel.h"
#include "net/http-server-impl.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define HTTP_CHANNEL_MAX	128	/* channels at once */
#define HTTP_CHANNEL_PER_ADDR	16	/* from one address, not loopback */
#define HTTP_CHANNEL_IDLE	120	/* seconds without a request */
#define HTTP_CHANNEL_FRAME_TIME	10.0	/* seconds for a frame's head */
/* A refused request's body up to this is read and dropped, keeping the
 * channel; a larger one ends the channel after the answer. */
#define HTTP_CHANNEL_DRAIN	((size_t)1 << 20)

struct http_channel {
	struct http_server	*s;
	int			 fd;
	struct MHD_UpgradeResponseHandle *urh;
	int			 loopback;
	unsigned char		 key[16];	/* the client's address */
	int			 family;
	struct strbuf		 in;		/* bytes read, not yet taken */
	struct strbuf		 out;
	struct http_channel	*next;
};

static unsigned
http_channel_max(const struct http_server *s)
{
	return s->cfg.max_channels != 0 ? s->cfg.max_channels :
	    HTTP_CHANNEL_MAX;
}

/* Channels from ch's address. Called with s->mu held. */
static unsigned
http_channel_count_addr(const struct http_server *s, const unsigned char
    key[16], int family)
{
	const struct http_channel *c;
	unsigned n = 0;

	for (c = s->channels; c != NULL; c = c->next)
		if (!c->loopback && c->family == family &&
		    memcmp(c->key, key, 16) == 0)
			n++;
	return n;
}

static void
http_channel_addr(struct MHD_Connection *conn, int *loopback,
    unsigned char key[16], int *family)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	memset(key, 0, 16);
	*family = AF_UNSPEC;
	*loopback = 0;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	*loopback = http_server_loopback_addr(sa);
	http_addr_key(sa, key, family);
}

/* The channel's end: the socket back to libmicrohttpd, which closes it. */
static void
http_channel_end(struct http_channel *ch)
{
	struct http_server *s = ch->s;
	struct http_channel **pp;

	MHD_upgrade_action(ch->urh, MHD_UPGRADE_ACTION_CLOSE);
	pthread_mutex_lock(&s->mu);
	for (pp = &s->channels; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	s->n_channels--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	strbuf_release(&ch->in);
	strbuf_release(&ch->out);
	free(ch);
}

/* Writes x's answer as a frame (the channel's last when last is set); -1
 * when the client is gone. */
static int
http_channel_answer(struct http_channel *ch, struct http_exchange *x,
    int last)
{
	struct http_server *s = ch->s;
	struct http_response *r = &x->resp;
	char *names[CHANNEL_MAX_HEADERS], *values[CHANNEL_MAX_HEADERS];
	char *cause = NULL;
	size_t n = 0;
	int i, rc;

	if (r->has_file || r->len > UINT32_MAX) {
		/* A route served on channels answers from memory. */
		http_response_release(r);
		http_server_error_fill(s, r, 500, "internal", "an answer a "
		    "channel cannot carry");
	}
	if (r->status < 100 || r->status > 599)
		r->status = 500;
	/* The last answer says so: the client closes, and the server's
	 * close finds nothing unread. */
	if (last) {
		names[n] = "Connection";
		values[n++] = "close";
	}
	for (i = 0; i < r->n_headers && n < CHANNEL_MAX_HEADERS; i++) {
		names[n] = r->headers[i][0];
		values[n++] = r->headers[i][1];
	}
	strbuf_reset(&ch->out);
	if (channel_encode_answer(&ch->out, (unsigned)r->status,
	    r->content_type, names, values, n, (uint32_t)r->len) != 0) {
		/* A header no frame can carry: the status and body alone. */
		strbuf_reset(&ch->out);
		channel_encode_answer(&ch->out, (unsigned)r->status,
		    r->content_type, NULL, NULL, 0, (uint32_t)r->len);
	}
	if (r->len > 0)
		strbuf_add(&ch->out, r->body, r->len);
	if (s->cfg.answered != NULL)
		s->cfg.answered(s->cfg.arg, r->status);
	rc = channel_write(ch->fd, ch->out.buf, ch->out.len, clock_now() +
	    (s->cfg.idle_timeout > 0 ? s->cfg.idle_timeout : 10), &cause);
	free(cause);
	if (ch->out.alloc > ((size_t)1 << 20))
		strbuf_release(&ch->out);
	return rc;
}

/* Reads and drops n bytes of body; -1 when they do not come. */
static int
http_channel_drain(struct http_channel *ch, size_t n)
{
	char *cause = NULL;
	int closed;

	if (channel_fill(ch->fd, &ch->in, n, clock_now() +
	    HTTP_CHANNEL_FRAME_TIME, &closed, &cause) != 0) {
		free(cause);
		return -1;
	}
	channel_consume(&ch->in, n);
	return 0;
}

/*
 * Before a channel ends with a body unread: the answer is out, and the
 * client reads it before the close resets the connection (a close with
 * bytes unread sends a reset, which may drop the answer on its way).
 */
static void
http_channel_linger(struct http_channel *ch)
{
	char *cause = NULL;
	double deadline = clock_now() + 2.0;
	int closed = 0;

	shutdown(ch->fd, SHUT_WR);
	while (!closed && clock_now() < deadline) {
		strbuf_reset(&ch->in);
		if (channel_fill(ch->fd, &ch->in, (size_t)1 << 20, deadline,
		    &closed, &cause) != 0)
			break;
	}
	free(cause);
	strbuf_release(&ch->in);
}

/*
 * One request: its checks, its handler and its answer. Returns 0 to go
 * on with the channel, -1 to end it.
 */
static int
http_channel_request(struct http_channel *ch, const struct channel_msg *m)
{
	struct http_server *s = ch->s;
	struct strbuf allow = STRBUF_INIT;
	const struct http_route *route;
	struct http_exchange *x;
	size_t i, body = m->body_len;
	char *cause = NULL;
	double deadline;
	int known, closed, keep = 1, rc = -1;

	x = http_exchange_alloc(s, m->method, m->path);
	x->headers = xreallocarray(NULL, m->n_headers + 1,
	    sizeof(*x->headers));
	for (i = 0; i < m->n_headers; i++) {
		x->headers[i].name = xstrdup(m->names[i]);
		x->headers[i].value = xstrdup(m->values[i]);
	}
	x->n_headers = m->n_headers;
	x->content_length = body;
	route = http_server_route(s, x, &known, &allow);
	strbuf_release(&allow);
	x->req.method = x->method;
	x->req.path = x->path;
	for (i = 0; i < HTTP_MAX_WILD; i++)
		x->req.wild[i] = x->wild[i];
	x->req.body = "";
	x->req.loopback = ch->loopback;
	x->req.channel = 1;
	x->req.x = x;
	x->resp.status = 500;
	if (route == NULL || !(route->flags & HTTP_ROUTE_CHANNEL)) {
		http_server_error_fill(s, &x->resp, 404, "not_found", "no "
		    "endpoint %s %s on a channel", x->method, x->path);
		goto refused;
	}
	x->route = route;
	if ((route->flags & HTTP_ROUTE_AUTH) && !http_server_authorized(s,
	    x)) {
		http_server_error_fill(s, &x->resp, 401, "invalid_api_key",
		    "a valid API key is needed: send Authorization: Bearer "
		    "KEY");
		goto refused;
	}
	if (body > route->max_body) {
		http_server_error_fill(s, &x->resp, 413, "too_large", "the "
		    "request body is over %zu bytes", route->max_body);
		keep = 0;
		goto answer;
	}
	if (route->admit != NULL && route->admit(s->cfg.arg, &x->req, body,
	    &x->resp) != 0)
		goto refused;
	if (body > 0 && http_server_reserve(s, x, body) != 0) {
		http_server_error_fill(s, &x->resp, 503, "overloaded", "too "
		    "many request bodies at once; retry later");
		http_response_header(&x->resp, "Retry-After", "1");
		goto refused;
	}
	/* The body may be large (a long prompt's rows): time by its size. */
	deadline = clock_now() + HTTP_CHANNEL_FRAME_TIME + (double)body /
	    (1 << 20);
	if (channel_fill(ch->fd, &ch->in, body, deadline, &closed,
	    &cause) != 0)
		goto out;
	strbuf_add(&x->body, ch->in.buf, body);
	channel_consume(&ch->in, body);
	x->req.body = x->body.buf != NULL ? x->body.buf : "";
	x->req.body_len = x->body.len;
	route->handler(s->cfg.arg, &x->req, &x->resp);
	goto answer;
refused:
	if (body > HTTP_CHANNEL_DRAIN)
		keep = 0;
	else if (http_channel_drain(ch, body) != 0)
		goto out;
answer:
	if (http_channel_answer(ch, x, !keep) == 0 && keep)
		rc = 0;
	else if (!keep)
		http_channel_linger(ch);
out:
	free(cause);
	http_exchange_unref(x);
	return rc;
}

static void *
http_channel_run(void *arg)
{
	struct http_channel *ch = arg;
	struct http_server *s = ch->s;
	struct channel_head h;
	struct channel_msg m;
	char *cause = NULL;
	double idle;
	int closed;

	idle = s->cfg.channel_idle != 0 ? s->cfg.channel_idle :
	    HTTP_CHANNEL_IDLE;
	while (!http_server_stopping(s)) {
		/* Idle until a frame starts; then it must come whole. */
		if (channel_fill(ch->fd, &ch->in, 1, clock_now() + idle,
		    &closed, &cause) != 0 || channel_fill(ch->fd, &ch->in,
		    CHANNEL_HEAD_SIZE, clock_now() + HTTP_CHANNEL_FRAME_TIME,
		    &closed, &cause) != 0)
			break;
		if (channel_head_parse(ch->in.buf, UINT32_MAX, &h,
		    &cause) != 0 || h.kind != CHANNEL_REQUEST)
			break;
		if (channel_fill(ch->fd, &ch->in, CHANNEL_HEAD_SIZE +
		    h.head_len, clock_now() + HTTP_CHANNEL_FRAME_TIME,
		    &closed, &cause) != 0)
			break;
		if (channel_fields_parse(&h, ch->in.buf + CHANNEL_HEAD_SIZE,
		    h.head_len, &m, &cause) != 0)
			break;
		channel_consume(&ch->in, CHANNEL_HEAD_SIZE + h.head_len);
		if (http_channel_request(ch, &m) != 0) {
			channel_msg_release(&m);
			break;
		}
		channel_msg_release(&m);
		if (ch->in.alloc > ((size_t)1 << 20) && ch->in.len == 0)
			strbuf_release(&ch->in);
	}
	/* A malformed frame ends the channel: there is no way to answer
	 * it in step with the client. */
	free(cause);
	http_channel_end(ch);
	return NULL;
}

/* libmicrohttpd's call once the 101 is out: the socket is the channel's. */
static void
http_channel_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
    const char *extra_in, size_t extra_in_size, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct http_server *s = cls;
	struct http_channel *ch;
	pthread_attr_t attr;
	pthread_t t;
	int one = 1, err;

	(void)con_cls;
	ch = xcalloc(1, sizeof(*ch));
	ch->s = s;
	ch->fd = sock;
	ch->urh = urh;
	strbuf_init(&ch->in);
	strbuf_init(&ch->out);
	if (extra_in_size > 0)
		strbuf_add(&ch->in, extra_in, extra_in_size);
	http_channel_addr(conn, &ch->loopback, ch->key, &ch->family);
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		strbuf_release(&ch->in);
		free(ch);
		return;
	}
	ch->next = s->channels;
	s->channels = ch;
	s->n_channels++;
	pthread_mutex_unlock(&s->mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, http_channel_run, ch);
	pthread_attr_destroy(&attr);
	if (err != 0)
		http_channel_end(ch);
}

/* The end of a GET of the channel path: 101, or why not. */
enum MHD_Result
http_channel_offer(struct http_server *s, struct http_exchange *x)
{
	struct http_response *r = &x->resp;
	struct MHD_Response *mr;
	const char *up = http_request_header(&x->req, "Upgrade");
	unsigned char key[16];
	int loopback, family, full;
	enum MHD_Result ret;

	if (up == NULL || strcasecmp(up, CHANNEL_PROTOCOL) != 0) {
		http_server_error_fill(s, r, 426, "upgrade_required", "this "
		    "path upgrades to %s", CHANNEL_PROTOCOL);
		http_response_header(r, "Upgrade", "%s", CHANNEL_PROTOCOL);
		goto refuse;
	}
	http_channel_addr(x->conn, &loopback, key, &family);
	pthread_mutex_lock(&s->mu);
	full = s->stopping || s->n_channels >= http_channel_max(s) ||
	    (!loopback && http_channel_count_addr(s, key, family) >=
	    HTTP_CHANNEL_PER_ADDR);
	pthread_mutex_unlock(&s->mu);
	if (full) {
		http_server_error_fill(s, r, 503, "overloaded", "no channel "
		    "free; use HTTP");
		http_response_header(r, "Retry-After", "30");
		goto refuse;
	}
	if ((mr = MHD_create_response_for_upgrade(http_channel_upgraded,
	    s)) == NULL)
		return MHD_NO;
	MHD_add_response_header(mr, MHD_HTTP_HEADER_UPGRADE,
	    CHANNEL_PROTOCOL);
	if (s->cfg.answered != NULL)
		s->cfg.answered(s->cfg.arg, 101);
	x->queued = 1;
	ret = MHD_queue_response(x->conn, MHD_HTTP_SWITCHING_PROTOCOLS, mr);
	MHD_destroy_response(mr);
	return ret;
refuse:
	x->channel = 0;
	return http_server_queue(s, x, r);
}

unsigned
http_server_channels(struct http_server *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = s->n_channels;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void
http_channel_close_all(struct http_server *s)
{
	struct http_channel *c;

	/* Each thread sees its socket end, and ends the channel. */
	pthread_mutex_lock(&s->mu);
	for (c = s->channels; c != NULL; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (s->n_channels > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}
