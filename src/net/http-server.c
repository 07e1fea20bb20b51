/*
 * libmicrohttpd glue. Threads of an epoll pool take the sockets; a request
 * is matched against the route table as soon as its headers are in, so
 * that everything that can refuse it (no route, the wrong method, no key,
 * a body too large for the route or for the server's budget, the route's
 * own admit check) does so before a byte of body is buffered, and the
 * answer goes out early with the connection closed behind it.
 *
 * An exchange (one request and its answer) is shared by libmicrohttpd's
 * side and, for a threaded route, the handler's thread; it is counted and
 * freed by whichever lets go last. A threaded request's connection is
 * suspended while its handler runs and resumed when the answer is ready;
 * a stream's connection is suspended whenever it has nothing to send and
 * resumed by the next write.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/http-server.h"
#include "net/http-server-impl.h"
#include "net/protocol.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define HTTP_DEFAULT_BUFFERED	((size_t)128 << 20)
#define HTTP_DEFAULT_THREADS	4
#define HTTP_DEFAULT_TIMEOUT	10
#define HTTP_DEFAULT_PER_ADDR	256
#define HTTP_MAX_CONNECTIONS	16384
#define HTTP_STREAM_HIGH	((size_t)1 << 20)	/* queued stream bytes */
#define HTTP_MAX_WORKERS	1024	/* handler threads */
#define HTTP_WORKER_IDLE	30	/* seconds before an idle one ends */

/* --- responses ------------------------------------------------------------ */

void
http_response_release(struct http_response *r)
{
	int i;

	free(r->body);
	if (r->has_file)
		close(r->file_fd);
	for (i = 0; i < r->n_headers; i++) {
		free(r->headers[i][0]);
		free(r->headers[i][1]);
	}
	memset(r, 0, sizeof(*r));
}

void
http_response_header(struct http_response *r, const char *name,
    const char *fmt, ...)
{
	va_list ap;

	if (r->n_headers == HTTP_MAX_HEADERS)
		return;
	va_start(ap, fmt);
	r->headers[r->n_headers][1] = xvasprintf(fmt, ap);
	va_end(ap);
	r->headers[r->n_headers][0] = xstrdup(name);
	r->n_headers++;
}

void
http_response_error(struct http_response *r, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	/* It may quote a path or a method: proto_error_json makes it UTF-8. */
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

int
http_key_equal(const char *a, const char *b)
{
	unsigned char da[32], db[32];

	/* Digests of a fixed length: the time says nothing of either key. */
	crypto_generichash(da, sizeof(da), (const unsigned char *)a,
	    strlen(a), NULL, 0);
	crypto_generichash(db, sizeof(db), (const unsigned char *)b,
	    strlen(b), NULL, 0);
	return sodium_memcmp(da, db, sizeof(da)) == 0;
}

/* --- exchanges ------------------------------------------------------------ */

struct http_exchange *
http_exchange_alloc(struct http_server *s, const char *method,
    const char *path)
{
	struct http_exchange *x = xcalloc(1, sizeof(*x));

	x->s = s;
	x->refs = 1;
	x->fd = -1;
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	x->method = xstrdup(method);
	x->path = xstrdup(path);
	x->content_length = UINT64_MAX;
	x->stream.x = x;
	strbuf_init(&x->body);
	strbuf_init(&x->out);
	return x;
}

static struct http_exchange *
http_exchange_new(struct http_server *s, struct MHD_Connection *c,
    const char *method, const char *path)
{
	struct http_exchange *x = http_exchange_alloc(s, method, path);
	const union MHD_ConnectionInfo *ci;

	x->conn = c;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL)
		x->fd = ci->connect_fd;
	return x;
}

void
http_exchange_unref(struct http_exchange *x)
{
	struct http_server *s = x->s;
	size_t i;
	int last;

	pthread_mutex_lock(&x->mu);
	last = --x->refs == 0;
	pthread_mutex_unlock(&x->mu);
	if (!last)
		return;
	if (x->reserved > 0) {
		pthread_mutex_lock(&s->mu);
		s->buffered -= x->reserved;
		pthread_mutex_unlock(&s->mu);
	}
	for (i = 0; i < x->n_headers; i++) {
		free(x->headers[i].name);
		free(x->headers[i].value);
	}
	free(x->headers);
	for (i = 0; i < HTTP_MAX_WILD; i++)
		free(x->wild[i]);
	free(x->method);
	free(x->path);
	strbuf_release(&x->body);
	strbuf_release(&x->out);
	http_response_release(&x->resp);
	pthread_cond_destroy(&x->cv);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

/* Called with x->mu held. */
static void
http_exchange_resume(struct http_exchange *x)
{
	if (x->suspended) {
		x->suspended = 0;
		MHD_resume_connection(x->conn);
	}
}

static enum MHD_Result
http_exchange_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct http_exchange *x = cls;

	if (key == NULL)
		return MHD_YES;
	x->headers = xreallocarray(x->headers, x->n_headers + 1,
	    sizeof(*x->headers));
	x->headers[x->n_headers].name = xstrdup(key);
	x->headers[x->n_headers].value = xstrdup(value != NULL ? value : "");
	x->n_headers++;
	return MHD_YES;
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	const struct http_exchange *x = req->x;
	size_t i;

	for (i = 0; i < x->n_headers; i++)
		if (strcasecmp(x->headers[i].name, name) == 0)
			return x->headers[i].value;
	return NULL;
}

/* Called with x->mu held. */
static int
http_exchange_gone_locked(struct http_exchange *x)
{
	struct pollfd pfd;
	char b;

	if (x->gone || http_server_stopping(x->s))
		return 1;
	/*
	 * A suspended connection is not watched by the server: look at the
	 * socket. Its descriptor stays open until the connection ends, which
	 * sets x->gone under this lock first.
	 */
	if (x->fd < 0)
		return 0;
	pfd.fd = x->fd;
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 1;
	/* Bytes of a pipelined request are no hang-up; end of file is. */
	return (pfd.revents & POLLIN) && recv(x->fd, &b, 1, MSG_PEEK |
	    MSG_DONTWAIT) == 0;
}

int
http_request_gone(const struct http_request *req)
{
	struct http_exchange *x = req->x;
	int gone;

	pthread_mutex_lock(&x->mu);
	gone = http_exchange_gone_locked(x);
	pthread_mutex_unlock(&x->mu);
	return gone;
}

/* --- answering ------------------------------------------------------------ */

enum MHD_Result
http_server_queue(struct http_server *s, struct http_exchange *x,
    struct http_response *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	int i;

	if (r->body == NULL && !r->has_file) {
		r->body = xstrdup("");
		r->len = 0;
	}
	if (r->status < 100 || r->status > 599)
		r->status = 500;
	if (r->has_file) {
		mr = MHD_create_response_from_fd_at_offset64(r->len,
		    r->file_fd, r->file_offset);
		if (mr == NULL)
			return MHD_NO;	/* http_response_release closes it */
		r->has_file = 0;
	} else {
		mr = MHD_create_response_from_buffer(r->len, r->body,
		    MHD_RESPMEM_MUST_FREE);
		if (mr == NULL)
			return MHD_NO;
		r->body = NULL;
	}
	if (r->content_type != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->content_type);
	for (i = 0; i < r->n_headers; i++)
		MHD_add_response_header(mr, r->headers[i][0], r->headers[i][1]);
	if (s->cfg.answered != NULL)
		s->cfg.answered(s->cfg.arg, r->status);
	x->queued = 1;
	ret = MHD_queue_response(x->conn, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

void
http_server_error_fill(struct http_server *s, struct http_response *r,
    int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	/* The JSON builders (proto_error_json, the gateway's) make it UTF-8. */
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (s->cfg.error != NULL) {
		free(r->body);
		r->body = NULL;
		r->len = 0;
		r->status = status;
		s->cfg.error(s->cfg.arg, r, status, code, msg);
	} else
		http_response_error(r, status, code, "%s", msg);
	free(msg);
}

/* --- streams -------------------------------------------------------------- */

static ssize_t
http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_exchange *x = cls;
	size_t n;

	pthread_mutex_lock(&x->mu);
	if (x->out_off < x->out.len) {
		n = x->out.len - x->out_off;
		if (n > max)
			n = max;
		memcpy(buf, x->out.buf + x->out_off, n);
		x->out_off += n;
		if (x->out_off == x->out.len) {
			strbuf_reset(&x->out);
			x->out_off = 0;
		}
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->mu);
		return (ssize_t)n;
	}
	if (x->done) {
		pthread_mutex_unlock(&x->mu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	/* Nothing to send: sleep until the next write or the end. */
	x->suspended = 1;
	MHD_suspend_connection(x->conn);
	pthread_mutex_unlock(&x->mu);
	return 0;
}

static void
http_stream_free(void *cls)
{
	http_exchange_unref(cls);
}

struct http_stream *
http_response_stream(const struct http_request *req, struct http_response *r)
{
	struct http_exchange *x = req->x;

	if (!x->threaded || &x->resp != r)
		return NULL;
	pthread_mutex_lock(&x->mu);
	x->streaming = 1;
	http_exchange_resume(x);
	pthread_mutex_unlock(&x->mu);
	return &x->stream;
}

int
http_stream_write(struct http_stream *st, const void *buf, size_t len)
{
	struct http_exchange *x = st->x;
	struct timespec ts;

	pthread_mutex_lock(&x->mu);
	for (;;) {
		if (http_exchange_gone_locked(x)) {
			pthread_mutex_unlock(&x->mu);
			return -1;
		}
		if (x->out.len - x->out_off < HTTP_STREAM_HIGH)
			break;
		/* A client that does not read: wait, looking now and then. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec++;
		pthread_cond_timedwait(&x->cv, &x->mu, &ts);
	}
	strbuf_add(&x->out, buf, len);
	http_exchange_resume(x);
	pthread_mutex_unlock(&x->mu);
	return 0;
}

/* --- handler threads ------------------------------------------------------ */

/*
 * Threaded handlers run on a pool that grows as requests wait and shrinks
 * when idle: a thread is not created per request (a step of a node comes
 * every few milliseconds), nor kept when the load is gone.
 */
/* Takes x out of the queue. Called with s->mu held. */
static void
http_server_unqueue(struct http_server *s, struct http_exchange *x)
{
	struct http_exchange **pp, *prev = NULL;

	for (pp = &s->queue; *pp != NULL; prev = *pp, pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			if (s->queue_tail == x)
				s->queue_tail = prev;
			s->n_queued--;
			return;
		}
}

static void *
http_server_worker(void *arg)
{
	struct http_server *s = arg;
	struct http_exchange *x;
	struct timespec ts;
	int rc;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->queue == NULL && !s->stopping) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += HTTP_WORKER_IDLE;
			s->n_idle++;
			rc = pthread_cond_timedwait(&s->work, &s->mu, &ts);
			s->n_idle--;
			if (rc != 0 && s->queue == NULL)
				goto out;
		}
		if ((x = s->queue) == NULL)
			break;		/* stopping, nothing left */
		http_server_unqueue(s, x);
		pthread_mutex_unlock(&s->mu);

		x->route->handler(s->cfg.arg, &x->req, &x->resp);
		pthread_mutex_lock(&x->mu);
		x->done = 1;
		http_exchange_resume(x);
		pthread_mutex_unlock(&x->mu);
		http_exchange_unref(x);

		pthread_mutex_lock(&s->mu);
		s->jobs--;
		pthread_cond_broadcast(&s->cv);
	}
out:
	s->n_workers--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* A threaded request that cannot run: its answer is ready, a 503. */
static void
http_server_refuse(struct http_server *s, struct http_exchange *x,
    const char *code, const char *why)
{
	http_server_error_fill(s, &x->resp, 503, code, "%s", why);
	http_response_header(&x->resp, "Retry-After", "1");
	pthread_mutex_lock(&x->mu);
	x->refs--;
	x->done = 1;
	http_exchange_resume(x);
	pthread_mutex_unlock(&x->mu);
}

/*
 * Runs the handler on a worker thread, the connection suspended (outside
 * the server's lock: libmicrohttpd takes its own). The job is counted
 * under the lock that http_server_free sets stopping under, so that none
 * is queued after it has waited for them all.
 */
static void
http_server_spawn(struct http_server *s, struct http_exchange *x)
{
	pthread_attr_t attr;
	pthread_t t;
	int err, start;

	x->threaded = 1;
	x->refs++;	/* the worker's; no other holder runs yet */
	x->suspended = 1;
	MHD_suspend_connection(x->conn);
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		http_server_refuse(s, x, "stopping", "the server is stopping");
		return;
	}
	s->jobs++;
	x->next = NULL;
	if (s->queue_tail != NULL)
		s->queue_tail->next = x;
	else
		s->queue = x;
	s->queue_tail = x;
	s->n_queued++;
	/*
	 * A new worker unless an idle one is there for each waiting job;
	 * past the cap, jobs wait for a worker to come free.
	 */
	if ((start = s->n_idle < s->n_queued &&
	    s->n_workers < HTTP_MAX_WORKERS))
		s->n_workers++;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	if (!start)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, http_server_worker, s);
	pthread_attr_destroy(&attr);
	if (err == 0)
		return;
	pthread_mutex_lock(&s->mu);
	s->n_workers--;
	if (s->n_workers > 0) {		/* another will take it */
		pthread_mutex_unlock(&s->mu);
		return;
	}
	/* No worker at all: take the job back. */
	http_server_unqueue(s, x);
	s->jobs--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	http_server_refuse(s, x, "overloaded", "cannot start a thread");
}

/* The connection is back: the stream's head, or the whole answer. */
static enum MHD_Result
http_server_resumed(struct http_server *s, struct http_exchange *x)
{
	struct http_response *r = &x->resp;
	struct MHD_Response *mr;
	enum MHD_Result ret;
	int i;

	pthread_mutex_lock(&x->mu);
	if (!x->streaming) {
		if (!x->done) {	/* cannot be: resumed for nothing */
			x->suspended = 1;
			MHD_suspend_connection(x->conn);
			pthread_mutex_unlock(&x->mu);
			return MHD_YES;
		}
		pthread_mutex_unlock(&x->mu);
		return http_server_queue(s, x, r);
	}
	x->stream_queued = 1;
	x->refs++;	/* the response's */
	pthread_mutex_unlock(&x->mu);
	mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    http_stream_read, x, http_stream_free);
	if (mr == NULL) {
		http_exchange_unref(x);
		return MHD_NO;
	}
	if (r->content_type != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->content_type);
	for (i = 0; i < r->n_headers; i++)
		MHD_add_response_header(mr, r->headers[i][0], r->headers[i][1]);
	if (r->status < 100 || r->status > 599)
		r->status = 200;
	if (s->cfg.answered != NULL)
		s->cfg.answered(s->cfg.arg, r->status);
	x->queued = 1;
	ret = MHD_queue_response(x->conn, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* --- routing -------------------------------------------------------------- */

/* Does path match pattern? The '*' segments are copied to wild. */
int
http_route_match(const char *pattern, const char *path,
    char *wild[HTTP_MAX_WILD])
{
	const char *p = pattern, *q = path, *pe, *qe;
	int n = 0;

	for (;;) {
		if (*p == '\0' || *q == '\0')
			break;
		if (*p != '/' || *q != '/')
			goto no;
		p++;
		q++;
		pe = p + strcspn(p, "/");
		qe = q + strcspn(q, "/");
		if (pe - p == 2 && p[0] == '*' && p[1] == '*' && *pe == '\0') {
			if (n < HTTP_MAX_WILD)
				wild[n++] = xstrdup(q);
			return 1;
		}
		if (pe - p == 1 && *p == '*') {
			if (qe == q || n == HTTP_MAX_WILD)
				goto no;
			wild[n++] = xstrndup(q, (size_t)(qe - q));
		} else if (pe - p != qe - q || memcmp(p, q, (size_t)(pe - p))
		    != 0)
			goto no;
		p = pe;
		q = qe;
	}
	/* A pattern ending in a "**" segment matches its parent path too. */
	if (*q == '\0' && strcmp(p, "/**") == 0) {
		if (n < HTTP_MAX_WILD)
			wild[n++] = xstrdup("");
		return 1;
	}
	if (*p == '\0' && *q == '\0')
		return 1;
no:
	while (n > 0) {
		free(wild[--n]);
		wild[n] = NULL;
	}
	return 0;
}

static int
http_route_method(const struct http_route *r, const char *method)
{
	if (strcmp(r->method, method) == 0)
		return 1;
	return strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0;
}

/*
 * The route for the request, or NULL with *path_known set when some
 * route has its path (a 405; *allow lists the methods).
 */
const struct http_route *
http_server_route(struct http_server *s, struct http_exchange *x,
    int *path_known, struct strbuf *allow)
{
	const struct http_route *r;
	char *wild[HTTP_MAX_WILD];
	size_t i;
	int k;

	*path_known = 0;
	for (i = 0; i < s->cfg.n_routes; i++) {
		r = &s->cfg.routes[i];
		memset(wild, 0, sizeof(wild));
		if (!http_route_match(r->pattern, x->path, wild))
			continue;
		if (http_route_method(r, x->method)) {
			memcpy(x->wild, wild, sizeof(wild));
			return r;
		}
		for (k = 0; k < HTTP_MAX_WILD; k++)
			free(wild[k]);
		*path_known = 1;
		if (allow->len > 0)
			strbuf_adds(allow, ", ");
		strbuf_adds(allow, r->method);
		if (strcmp(r->method, "GET") == 0)
			strbuf_adds(allow, ", HEAD");
	}
	return NULL;
}

int
http_server_loopback_addr(const struct sockaddr *sa)
{
	if (sa == NULL)
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

static int
http_server_loopback(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci != NULL && http_server_loopback_addr(ci->client_addr);
}

/* Content-Length: -1 when malformed or given twice. */
static int
http_server_content_length(struct http_exchange *x, uint64_t *out)
{
	const char *v = NULL, *p;
	uint64_t n = 0;
	size_t i;
	int seen = 0;

	for (i = 0; i < x->n_headers; i++) {
		if (strcasecmp(x->headers[i].name, "Content-Length") != 0)
			continue;
		if (seen++)
			return -1;
		v = x->headers[i].value;
	}
	*out = UINT64_MAX;
	if (v == NULL)
		return 0;
	for (p = v; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX / 10) - 1)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	for (; *p == ' ' || *p == '\t'; p++)
		;
	if (*p != '\0')
		return -1;
	*out = n;
	return 0;
}

/* Reserves n more bytes of the server's body budget for x. */
int
http_server_reserve(struct http_server *s, struct http_exchange *x, size_t n)
{
	int ok;

	pthread_mutex_lock(&s->mu);
	if ((ok = n <= s->cfg.max_buffered - s->buffered)) {
		s->buffered += n;
		x->reserved += n;
	}
	pthread_mutex_unlock(&s->mu);
	return ok ? 0 : -1;
}

static void
http_exchange_request(struct http_exchange *x)
{
	int i;

	memset(&x->req, 0, sizeof(x->req));
	x->req.method = x->method;
	x->req.path = x->path;
	for (i = 0; i < HTTP_MAX_WILD; i++)
		x->req.wild[i] = x->wild[i];
	x->req.body = x->body.buf != NULL ? x->body.buf : "";
	x->req.body_len = x->body.len;
	x->req.loopback = http_server_loopback(x->conn);
	x->req.x = x;
}

/* A key from Authorization: Bearer, checked against every key. */
int
http_server_authorized(struct http_server *s, struct http_exchange *x)
{
	const char *h;
	size_t i;
	int ok = 0;

	if (s->cfg.n_api_keys == 0)
		return 1;
	h = http_request_header(&x->req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	for (h += 7; *h == ' '; h++)
		;
	/* Every key is compared, so the time says not which one matched. */
	for (i = 0; i < s->cfg.n_api_keys; i++)
		ok |= http_key_equal(h, s->cfg.api_keys[i]);
	return ok;
}

/* The headers are in: everything that can refuse the request does. */
static enum MHD_Result
http_server_begin(struct http_server *s, struct http_exchange *x)
{
	struct http_response *r = &x->resp;
	struct strbuf allow = STRBUF_INIT;
	const struct http_route *route;
	int known;

	MHD_get_connection_values(x->conn, MHD_HEADER_KIND,
	    http_exchange_header, x);
	http_exchange_request(x);
	if (s->cfg.channel_path != NULL && strcmp(x->path,
	    s->cfg.channel_path) == 0 && strcmp(x->method, "GET") == 0) {
		/* Answered (101 or a refusal) at the request's end. */
		x->channel = 1;
		return MHD_YES;
	}
	if (http_server_content_length(x, &x->content_length) != 0) {
		http_server_error_fill(s, r, 400, "bad_request", "one "
		    "Content-Length header with a number is needed");
		goto answer;
	}
	if ((route = http_server_route(s, x, &known, &allow)) == NULL) {
		if (known) {
			http_server_error_fill(s, r, 405, "method_not_allowed",
			    "%s is not allowed on %s", x->method, x->path);
			http_response_header(r, "Allow", "%s", allow.buf);
		} else
			http_server_error_fill(s, r, 404, "not_found",
			    "no endpoint %s %s", x->method, x->path);
		goto answer;
	}
	x->route = route;
	http_exchange_request(x);	/* with the wild segments */
	if ((route->flags & HTTP_ROUTE_AUTH) && !http_server_authorized(s, x)) {
		http_server_error_fill(s, r, 401, "invalid_api_key", "a valid "
		    "API key is needed: send Authorization: Bearer KEY");
		goto answer;
	}
	if (x->content_length != UINT64_MAX && x->content_length >
	    route->max_body) {
		http_server_error_fill(s, r, 413, "too_large", "the request "
		    "body is over %zu bytes", route->max_body);
		goto answer;
	}
	if (route->admit != NULL && route->admit(s->cfg.arg, &x->req,
	    x->content_length, r) != 0)
		goto answer;
	if (x->content_length != UINT64_MAX && x->content_length > 0 &&
	    http_server_reserve(s, x, (size_t)x->content_length) != 0) {
		http_server_error_fill(s, r, 503, "overloaded", "too many "
		    "request bodies at once; retry later");
		http_response_header(r, "Retry-After", "1");
		goto answer;
	}
	strbuf_release(&allow);
	return MHD_YES;
answer:
	strbuf_release(&allow);
	/*
	 * With a body on its way, the answer goes now and libmicrohttpd
	 * reads no more of the connection; without one, it waits for the
	 * request's end so that the connection may stay open.
	 */
	if ((x->content_length == UINT64_MAX && http_request_header(&x->req,
	    "Transfer-Encoding") == NULL) || x->content_length == 0) {
		x->refused = 1;
		return MHD_YES;
	}
	return http_server_queue(s, x, r);
}

static void
http_server_upload(struct http_server *s, struct http_exchange *x,
    const char *data, size_t n)
{
	size_t want;

	if (x->too_large || x->over_budget)
		return;
	if (n > x->route->max_body - x->body.len) {
		x->too_large = 1;
		goto drop;
	}
	want = x->body.len + n;
	/* A chunked body, its size unsaid, is reserved as it comes. */
	if (want > x->reserved && http_server_reserve(s, x, want -
	    x->reserved) != 0) {
		x->over_budget = 1;
		goto drop;
	}
	strbuf_add(&x->body, data, n);
	return;
drop:
	strbuf_release(&x->body);
}

static enum MHD_Result
http_server_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_exchange *x = *con_cls;

	if (x == NULL) {
		x = http_exchange_new(s, c, method, url);
		*con_cls = x;
		return http_server_begin(s, x);
	}
	if (*upload_data_size > 0) {
		if (!x->queued && !x->refused && !x->channel)
			http_server_upload(s, x, upload_data,
			    *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (x->queued)
		return MHD_YES;
	if (x->refused)
		return http_server_queue(s, x, &x->resp);
	if (x->channel)
		return http_channel_offer(s, x);
	if (x->threaded)
		return http_server_resumed(s, x);
	if (x->too_large) {
		http_server_error_fill(s, &x->resp, 413, "too_large", "the "
		    "request body is over %zu bytes", x->route->max_body);
		return http_server_queue(s, x, &x->resp);
	}
	if (x->over_budget) {
		http_server_error_fill(s, &x->resp, 503, "overloaded", "too "
		    "many request bodies at once; retry later");
		http_response_header(&x->resp, "Retry-After", "1");
		return http_server_queue(s, x, &x->resp);
	}
	http_exchange_request(x);
	if (x->route->flags & HTTP_ROUTE_THREAD) {
		http_server_spawn(s, x);
		return MHD_YES;
	}
	x->resp.status = 500;
	x->route->handler(s->cfg.arg, &x->req, &x->resp);
	return http_server_queue(s, x, &x->resp);
}

static void
http_server_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_exchange *x = *con_cls;

	if (x == NULL)
		return;
	*con_cls = NULL;
	pthread_mutex_lock(&x->mu);
	x->gone = 1;
	x->fd = -1;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	http_exchange_unref(x);
}

/* --- connections ---------------------------------------------------------- */

int
http_addr_key(const struct sockaddr *sa, unsigned char key[16], int *family)
{
	memset(key, 0, 16);
	if (sa == NULL)
		return -1;
	*family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return -1;
	return 0;
}

static struct http_addr **
http_addr_find(struct http_server *s, const unsigned char key[16],
    int family)
{
	struct http_addr **pp;
	unsigned h = 0;
	int i;

	for (i = 0; i < 16; i++)
		h = h * 31 + key[i];
	for (pp = &s->addrs[h % HTTP_ADDR_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->family == family && memcmp((*pp)->key, key, 16) == 0)
			break;
	return pp;
}

/*
 * The per-address cap. Loopback is exempt: a local process can open
 * sockets to the server's resources by other means anyway, and behind a
 * reverse proxy on the same host every client has the proxy's address, so
 * a cap there would cap the whole service.
 */
static enum MHD_Result
http_server_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct http_server *s = cls;
	struct http_addr **pp;
	unsigned char key[16];
	int family, ok;

	if (http_server_loopback_addr(sa) || http_addr_key(sa, key,
	    &family) != 0)
		return MHD_YES;
	pthread_mutex_lock(&s->mu);
	pp = http_addr_find(s, key, family);
	ok = *pp == NULL || (*pp)->count < s->cfg.max_per_address;
	pthread_mutex_unlock(&s->mu);
	return ok ? MHD_YES : MHD_NO;
}

static void
http_server_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	const union MHD_ConnectionInfo *ci;
	struct http_addr **pp, *a;
	unsigned char key[16];
	int one = 1, family;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* Small frames must not wait for Nagle's algorithm. */
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci != NULL)
			setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY,
			    &one, sizeof(one));
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || http_server_loopback_addr(ci->client_addr) ||
	    http_addr_key(ci->client_addr, key, &family) != 0)
		return;
	pthread_mutex_lock(&s->mu);
	pp = http_addr_find(s, key, family);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if (*pp == NULL) {
			a = xcalloc(1, sizeof(*a));
			memcpy(a->key, key, 16);
			a->family = family;
			*pp = a;
		}
		(*pp)->count++;
	} else if (*pp != NULL && --(*pp)->count == 0) {
		a = *pp;
		*pp = a->next;
		free(a);
	}
	pthread_mutex_unlock(&s->mu);
}

/* As many descriptors as the hard limit allows; the connection cap. */
static unsigned
http_server_fd_limit(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	n = rl.rlim_cur;
	/* Room for the model, the DHT and the clients of this process. */
	n = n > 256 ? n - 128 : n / 2;
	if (n > HTTP_MAX_CONNECTIONS)
		n = HTTP_MAX_CONNECTIONS;
	return (unsigned)n;
}

struct http_server *
http_server_new(const struct http_server_config *cfg, char **cause)
{
	struct http_server *s;
	struct addrinfo hints, *ai = NULL;
	const union MHD_DaemonInfo *di;
	char portstr[8];
	unsigned flags, limit;
	int err;

	if (sodium_init() < 0) {
		set_cause(cause, "cannot initialize libsodium");
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", cfg->port);
	if ((err = getaddrinfo(cfg->host, portstr, &hints, &ai)) != 0) {
		set_cause(cause, "cannot resolve '%s': %s", cfg->host,
		    gai_strerror(err));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	if (s->cfg.max_buffered == 0)
		s->cfg.max_buffered = HTTP_DEFAULT_BUFFERED;
	if (s->cfg.threads == 0)
		s->cfg.threads = HTTP_DEFAULT_THREADS;
	if (s->cfg.idle_timeout == 0)
		s->cfg.idle_timeout = HTTP_DEFAULT_TIMEOUT;
	if (s->cfg.max_per_address == 0)
		s->cfg.max_per_address = HTTP_DEFAULT_PER_ADDR;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->work, NULL);
	limit = http_server_fd_limit();
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
	if (cfg->channel_path != NULL)
		flags |= MHD_ALLOW_UPGRADE;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	s->mhd = MHD_start_daemon(flags, cfg->port, http_server_accept, s,
	    http_server_access, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_NOTIFY_COMPLETED, http_server_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, http_server_notify, s,
	    MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.idle_timeout,
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
	    MHD_OPTION_END);
	err = errno;
	freeaddrinfo(ai);
	if (s->mhd == NULL) {
		set_cause(cause, "cannot listen on %s:%u: %s", cfg->host,
		    cfg->port, strerror(err != 0 ? err : EADDRINUSE));
		pthread_cond_destroy(&s->work);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di != NULL && di->port != 0 ? di->port : cfg->port;
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
	struct http_addr *a;
	size_t i;
	int fd;

	if (s == NULL)
		return;
	/*
	 * Handlers see their clients gone and end; each resumes its
	 * connection as it does, and no connection may stay suspended when
	 * the daemon stops.
	 */
	pthread_mutex_lock(&s->mu);
	__atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&s->mu);
	if ((fd = MHD_quiesce_daemon(s->mhd)) >= 0)
		close(fd);	/* ours once quiesced */
	pthread_mutex_lock(&s->mu);
	pthread_cond_broadcast(&s->work);
	while (s->jobs > 0 || s->n_workers > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	/* Upgraded connections are ours to end before the daemon stops. */
	http_channel_close_all(s);
	MHD_stop_daemon(s->mhd);
	for (i = 0; i < HTTP_ADDR_BUCKETS; i++)
		while ((a = s->addrs[i]) != NULL) {
			s->addrs[i] = a->next;
			free(a);
		}
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
