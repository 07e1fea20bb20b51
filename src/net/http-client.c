/*
 * libcurl glue for the peer client. The easy handle is kept for the life of
 * the client: curl then reuses the connection, which on loopback saves a
 * connect per step and on a real link a round trip.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/channel.h"
#include "net/http-client.h"
#include "net/protocol.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* Seconds before a channel is asked for again after one failed. */
#define HTTP_CLIENT_CHANNEL_RETRY	5.0
#define HTTP_CLIENT_MAX_UPGRADE_HEAD	16384

struct http_client {
	CURL		*curl;
	char		*addr;
	double		 connect_timeout;
	struct strbuf	*answer;	/* during a request */
	size_t		 max_answer;
	int		 too_long;
	/* http_client_stream's receiver, during a stream */
	int		(*on_data)(void *, const char *, size_t);
	void		*on_data_arg;
	int		 stopped;
	/* "Name: value" for the next request only */
	char		*next_headers[HTTP_CLIENT_MAX_HEADERS];
	int		 n_next_headers;
	/* The connection's socket, for http_client_abort from another
	 * thread; -1: none. */
	pthread_mutex_t	 sock_mu;
	curl_socket_t	 sock;
	int		 aborted;	/* by http_client_abort, under sock_mu */
	/*
	 * The channel (net/channel.h), on a connection of its own: ch_path
	 * NULL when not wanted, ch_fd -1 when not open (set under sock_mu,
	 * for http_client_abort), no new try before ch_retry_at.
	 */
	char		*ch_path;
	int		 ch_fd;
	double		 ch_retry_at;
	int		 ch_used;	/* the last request went over it */
	double		 ch_first_byte;	/* its times */
	double		 ch_total;
	struct strbuf	 ch_in;
	struct strbuf	 ch_out;
};

static pthread_once_t http_client_once = PTHREAD_ONCE_INIT;

static void
http_client_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
http_client_write(char *data, size_t size, size_t n, void *arg)
{
	struct http_client *c = arg;

	if (c->answer->len + n > c->max_answer) {
		c->too_long = 1;
		return 0;
	}
	strbuf_add(c->answer, data, n);
	return n;
}

static curl_socket_t
http_client_open_socket(void *arg, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	struct http_client *c = arg;
	curl_socket_t fd;

	(void)purpose;
	fd = socket(a->family, a->socktype, a->protocol);
	pthread_mutex_lock(&c->sock_mu);
	c->sock = fd;
	pthread_mutex_unlock(&c->sock_mu);
	return fd;
}

static int
http_client_close_socket(void *arg, curl_socket_t fd)
{
	struct http_client *c = arg;

	pthread_mutex_lock(&c->sock_mu);
	if (c->sock == fd)
		c->sock = -1;
	pthread_mutex_unlock(&c->sock_mu);
	return close(fd);
}

/* Every request: curl_easy_reset forgets them. */
static void
http_client_socket_opts(struct http_client *c)
{
	curl_easy_setopt(c->curl, CURLOPT_OPENSOCKETFUNCTION,
	    http_client_open_socket);
	curl_easy_setopt(c->curl, CURLOPT_OPENSOCKETDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_CLOSESOCKETFUNCTION,
	    http_client_close_socket);
	curl_easy_setopt(c->curl, CURLOPT_CLOSESOCKETDATA, c);
}

void
http_client_abort(struct http_client *c)
{
	pthread_mutex_lock(&c->sock_mu);
	if (c->sock >= 0)
		shutdown(c->sock, SHUT_RDWR);
	if (c->ch_fd >= 0)
		shutdown(c->ch_fd, SHUT_RDWR);
	c->aborted = 1;
	pthread_mutex_unlock(&c->sock_mu);
}

/* addr is host:port, or a base URL with its scheme. */
static char *
http_client_url(const struct http_client *c, const char *path)
{
	if (strstr(c->addr, "://") != NULL)
		return xasprintf("%s%s", c->addr, path);
	return xasprintf("http://%s%s", c->addr, path);
}

struct http_client *
http_client_new(const char *addr, double connect_timeout)
{
	struct http_client *c;

	pthread_once(&http_client_once, http_client_global_init);
	c = xcalloc(1, sizeof(*c));
	c->addr = xstrdup(addr);
	c->connect_timeout = connect_timeout;
	c->sock = -1;
	c->ch_fd = -1;
	strbuf_init(&c->ch_in);
	strbuf_init(&c->ch_out);
	pthread_mutex_init(&c->sock_mu, NULL);
	if ((c->curl = curl_easy_init()) == NULL) {
		pthread_mutex_destroy(&c->sock_mu);
		free(c->addr);
		free(c);
		return NULL;
	}
	return c;
}

void
http_client_set_header(struct http_client *c, const char *name,
    const char *value)
{
	size_t len = strlen(name);
	int i;

	/* The same name again replaces the value. */
	for (i = 0; i < c->n_next_headers; i++) {
		if (strncasecmp(c->next_headers[i], name, len) == 0 &&
		    c->next_headers[i][len] == ':') {
			free(c->next_headers[i]);
			c->next_headers[i] = xasprintf("%s: %s", name, value);
			return;
		}
	}
	if (c->n_next_headers == HTTP_CLIENT_MAX_HEADERS)
		abort();
	c->next_headers[c->n_next_headers++] = xasprintf("%s: %s", name,
	    value);
}

static void	http_client_channel_close(struct http_client *);

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	http_client_channel_close(c);
	free(c->ch_path);
	strbuf_release(&c->ch_in);
	strbuf_release(&c->ch_out);
	curl_easy_cleanup(c->curl);
	pthread_mutex_destroy(&c->sock_mu);
	while (c->n_next_headers > 0)
		free(c->next_headers[--c->n_next_headers]);
	free(c->addr);
	free(c);
}

const char *
http_client_addr(const struct http_client *c)
{
	return c->addr;
}

/* A request starts: no status yet, no abort of an earlier one. */
static void
http_client_begin(struct http_client *c, long *status)
{
	*status = 0;
	c->ch_used = 0;
	pthread_mutex_lock(&c->sock_mu);
	c->aborted = 0;
	pthread_mutex_unlock(&c->sock_mu);
}

int
http_client_request(struct http_client *c, const char *method,
    const char *path, const char *token, const void *body, size_t len,
    const char *content_type, double timeout, size_t max_answer, long *status,
    struct strbuf *answer, char **cause)
{
	struct curl_slist *hdrs = NULL;
	char *url, *h;
	CURL *e = c->curl;
	CURLcode rc;
	int i;

	http_client_begin(c, status);
	strbuf_reset(answer);
	url = http_client_url(c, path);
	curl_easy_reset(e);
	http_client_socket_opts(c);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(c->connect_timeout * 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_client_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	/* Without this curl waits for a 100-continue on large bodies. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (content_type != NULL) {
		h = xasprintf("Content-Type: %s", content_type);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	if (token != NULL) {
		h = xasprintf("X-Swarm-Token: %s", token);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	for (i = 0; i < c->n_next_headers; i++) {
		hdrs = curl_slist_append(hdrs, c->next_headers[i]);
		free(c->next_headers[i]);
	}
	c->n_next_headers = 0;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	if (body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else if (strcmp(method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	c->answer = answer;
	c->max_answer = max_answer;
	c->too_long = 0;
	rc = curl_easy_perform(e);
	c->answer = NULL;
	curl_slist_free_all(hdrs);
	free(url);
	if (c->too_long)
		return set_cause(cause, "%s: answer over %zu bytes", c->addr,
		    max_answer);
	if (rc != CURLE_OK)
		return set_cause(cause, "%s: %s", c->addr,
		    curl_easy_strerror(rc));
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int
http_client_timing(struct http_client *c, double *first_byte, double *total)
{
	curl_off_t fb, t;

	if (c->ch_used) {
		*first_byte = c->ch_first_byte;
		*total = c->ch_total;
		return 0;
	}
	if (curl_easy_getinfo(c->curl, CURLINFO_STARTTRANSFER_TIME_T, &fb) !=
	    CURLE_OK || curl_easy_getinfo(c->curl, CURLINFO_TOTAL_TIME_T, &t) !=
	    CURLE_OK)
		return -1;
	*first_byte = (double)fb * 1e-6;
	*total = (double)t * 1e-6;
	return 0;
}

static size_t
http_client_stream_write(char *data, size_t size, size_t n, void *arg)
{
	struct http_client *c = arg;

	if (c->on_data(c->on_data_arg, data, n) != 0) {
		c->stopped = 1;
		return 0;
	}
	return n;
}

/* While the answer waits, the receiver may still want to stop it. */
static int
http_client_stream_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_client *c = arg;

	if (c->on_data(c->on_data_arg, NULL, 0) != 0) {
		c->stopped = 1;
		return 1;
	}
	return 0;
}

int
http_client_stream(struct http_client *c, const char *path,
    const char *bearer, const void *body, size_t len, double timeout,
    int (*on_data)(void *, const char *, size_t), void *arg, long *status,
    char **cause)
{
	struct curl_slist *hdrs = NULL;
	char *url, *h;
	CURL *e = c->curl;
	CURLcode rc;
	int i;

	http_client_begin(c, status);
	url = http_client_url(c, path);
	curl_easy_reset(e);
	http_client_socket_opts(c);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(c->connect_timeout * 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	/* A proxy from the environment, but never for loopback. */
	curl_easy_setopt(e, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_client_stream_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION,
	    http_client_stream_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body != NULL)
		hdrs = curl_slist_append(hdrs, "Content-Type: "
		    "application/json");
	if (bearer != NULL) {
		h = xasprintf("Authorization: Bearer %s", bearer);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	for (i = 0; i < c->n_next_headers; i++) {
		hdrs = curl_slist_append(hdrs, c->next_headers[i]);
		free(c->next_headers[i]);
	}
	c->n_next_headers = 0;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	if (body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	c->on_data = on_data;
	c->on_data_arg = arg;
	c->stopped = 0;
	rc = curl_easy_perform(e);
	c->on_data = NULL;
	curl_slist_free_all(hdrs);
	free(url);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	if (c->stopped)
		return 1;
	if (rc != CURLE_OK)
		return set_cause(cause, "%s: %s", c->addr,
		    curl_easy_strerror(rc));
	return 0;
}

/* --- the channel ------------------------------------------------------------ */

void
http_client_channel(struct http_client *c, const char *path)
{
	free(c->ch_path);
	c->ch_path = path != NULL ? xstrdup(path) : NULL;
	c->ch_retry_at = 0;
}

static void
http_client_channel_close(struct http_client *c)
{
	int fd;

	pthread_mutex_lock(&c->sock_mu);
	fd = c->ch_fd;
	c->ch_fd = -1;
	pthread_mutex_unlock(&c->sock_mu);
	if (fd >= 0)
		close(fd);
	strbuf_reset(&c->ch_in);
}

/* A connected socket to host:port, or -1 with *cause. */
static int
http_client_connect(const char *host, uint16_t port, double deadline,
    char **cause)
{
	struct addrinfo hints, *ai = NULL, *a;
	char portstr[8];
	socklen_t len;
	int fd = -1, err, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((err = getaddrinfo(host, portstr, &hints, &ai)) != 0)
		return set_cause(cause, "cannot resolve '%s': %s", host,
		    gai_strerror(err));
	err = ECONNREFUSED;
	for (a = ai; a != NULL; a = a->ai_next) {
		struct pollfd pfd;
		double left;

		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		err = errno;
		if (errno == EINPROGRESS) {
			left = deadline - clock_now();
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			len = sizeof(err);
			if (left > 0 && poll(&pfd, 1, (int)(left * 1000) + 1) ==
			    1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &len) == 0 && err == 0)
				break;
			if (left <= 0 || err == EINPROGRESS)
				err = ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return set_cause(cause, "cannot connect to %s:%u: %s", host,
		    port, strerror(err));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * Opens the channel: a connection of its own and an upgrade on it. -1
 * with *cause when it cannot; *refused is then the server's status when
 * it answered (404: it has no channels), else 0.
 */
static int
http_client_channel_open(struct http_client *c, double deadline,
    long *refused, char **cause)
{
	char *host = NULL, *req, *end;
	uint16_t port;
	int fd, closed, major, minor, status;
	double d;

	*refused = 0;
	if (strstr(c->addr, "://") != NULL)
		return set_cause(cause, "channels need host:port");
	if (proto_parse_addr(c->addr, &host, &port, cause) != 0)
		return -1;
	d = clock_now() + c->connect_timeout;
	fd = http_client_connect(host, port, d < deadline ? d : deadline,
	    cause);
	free(host);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&c->sock_mu);
	c->ch_fd = fd;
	pthread_mutex_unlock(&c->sock_mu);
	strbuf_reset(&c->ch_in);
	req = xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade"
	    "\r\nUpgrade: %s\r\n\r\n", c->ch_path, c->addr, CHANNEL_PROTOCOL);
	if (channel_write(fd, req, strlen(req), deadline, cause) != 0) {
		free(req);
		goto fail;
	}
	free(req);
	/* The answer's head; a refusal's body is not read. */
	while ((end = strstr(c->ch_in.buf != NULL ? c->ch_in.buf : "",
	    "\r\n\r\n")) == NULL) {
		if (c->ch_in.len >= HTTP_CLIENT_MAX_UPGRADE_HEAD) {
			set_cause(cause, "an upgrade answer's head over %d "
			    "bytes", HTTP_CLIENT_MAX_UPGRADE_HEAD);
			goto fail;
		}
		if (channel_fill(fd, &c->ch_in, c->ch_in.len + 1, deadline,
		    &closed, cause) != 0)
			goto fail;
		if (memchr(c->ch_in.buf, '\0', c->ch_in.len) != NULL) {
			set_cause(cause, "a NUL in an upgrade answer");
			goto fail;
		}
	}
	if (sscanf(c->ch_in.buf, "HTTP/%d.%d %d", &major, &minor,
	    &status) != 3) {
		set_cause(cause, "not an HTTP answer to an upgrade");
		goto fail;
	}
	if (status != 101) {
		*refused = status;
		set_cause(cause, "upgrade answered %d", status);
		goto fail;
	}
	channel_consume(&c->ch_in, (size_t)(end + 4 - c->ch_in.buf));
	return 0;
fail:
	http_client_channel_close(c);
	return -1;
}

/* One request over the open channel; -1 with *cause when it fails. */
static int
http_client_channel_call(struct http_client *c, const char *method,
    const char *path, const char *token, const void *body, size_t len,
    const char *content_type, double deadline, size_t max_answer,
    long *status, struct strbuf *answer, char **cause)
{
	char *names[CHANNEL_MAX_HEADERS], *values[CHANNEL_MAX_HEADERS];
	char *ctype = NULL, *tok = NULL, *colon;
	struct channel_head h;
	struct channel_msg m;
	size_t n = 0;
	double t0 = clock_now();
	int i, closed, last = 0, rc = -1;

	if (len > UINT32_MAX)
		return set_cause(cause, "a body over 4 GiB");
	if (content_type != NULL) {
		names[n] = "Content-Type";
		values[n++] = ctype = xstrdup(content_type);
	}
	if (token != NULL) {
		names[n] = "X-Swarm-Token";
		values[n++] = tok = xstrdup(token);
	}
	/* "Name: value" split in place; the strings stay the client's. */
	for (i = 0; i < c->n_next_headers; i++) {
		colon = strchr(c->next_headers[i], ':');
		*colon = '\0';
		names[n] = c->next_headers[i];
		values[n++] = colon + 1 + strspn(colon + 1, " ");
	}
	strbuf_reset(&c->ch_out);
	i = channel_encode_request(&c->ch_out, method, path, names, values, n,
	    (uint32_t)len);
	for (i = 0; i < c->n_next_headers; i++)
		c->next_headers[i][strlen(c->next_headers[i])] = ':';
	free(ctype);
	free(tok);
	if (c->ch_out.len == 0)
		return set_cause(cause, "a request no channel frame carries");
	if (len > 0)
		strbuf_add(&c->ch_out, body, len);
	if (channel_write(c->ch_fd, c->ch_out.buf, c->ch_out.len, deadline,
	    cause) != 0)
		goto out;
	if (channel_fill(c->ch_fd, &c->ch_in, CHANNEL_HEAD_SIZE, deadline,
	    &closed, cause) != 0)
		goto out;
	c->ch_first_byte = clock_now() - t0;
	if (channel_head_parse(c->ch_in.buf, max_answer, &h, cause) != 0 ||
	    h.kind != CHANNEL_ANSWER) {
		if (*cause == NULL)
			set_cause(cause, "a request frame from the server");
		goto out;
	}
	if (channel_fill(c->ch_fd, &c->ch_in, CHANNEL_HEAD_SIZE + (size_t)
	    h.head_len + h.body_len, deadline, &closed, cause) != 0)
		goto out;
	if (channel_fields_parse(&h, c->ch_in.buf + CHANNEL_HEAD_SIZE,
	    h.head_len, &m, cause) != 0)
		goto out;
	for (i = 0; i < (int)m.n_headers; i++)
		if (strcasecmp(m.names[i], "Connection") == 0 &&
		    strcasecmp(m.values[i], "close") == 0)
			last = 1;
	channel_msg_release(&m);
	strbuf_reset(answer);
	strbuf_add(answer, c->ch_in.buf + CHANNEL_HEAD_SIZE + h.head_len,
	    h.body_len);
	channel_consume(&c->ch_in, CHANNEL_HEAD_SIZE + (size_t)h.head_len +
	    h.body_len);
	*status = (long)h.status;
	c->ch_total = clock_now() - t0;
	c->ch_used = 1;
	if (last)
		http_client_channel_close(c);
	rc = 0;
out:
	if (c->ch_out.alloc > ((size_t)1 << 20))
		strbuf_release(&c->ch_out);
	if (c->ch_in.alloc > ((size_t)1 << 20) && c->ch_in.len == 0)
		strbuf_release(&c->ch_in);
	return rc;
}

int
http_client_request_channel(struct http_client *c, const char *method,
    const char *path, const char *token, const void *body, size_t len,
    const char *content_type, double timeout, size_t max_answer, long *status,
    struct strbuf *answer, char **cause)
{
	double now = clock_now(), deadline = now + timeout;
	char *err = NULL;
	long refused;
	int aborted;

	http_client_begin(c, status);
	if (c->ch_path == NULL || (c->ch_fd < 0 && now < c->ch_retry_at))
		goto http;
	if (c->ch_fd < 0 && http_client_channel_open(c, deadline, &refused,
	    &err) != 0) {
		/* A server without channels says so once: HTTP from then. */
		c->ch_retry_at = refused == 404 || refused == 405 ||
		    refused == 426 || refused == 400 ? INFINITY : clock_now() +
		    HTTP_CLIENT_CHANNEL_RETRY;
		goto fallback;
	}
	if (http_client_channel_call(c, method, path, token, body, len,
	    content_type, deadline, max_answer, status, answer, &err) == 0) {
		while (c->n_next_headers > 0)
			free(c->next_headers[--c->n_next_headers]);
		return 0;
	}
	/* A node restarted, a link broken: a new channel next time. */
	http_client_channel_close(c);
	c->ch_retry_at = clock_now() + 1.0;
fallback:
	pthread_mutex_lock(&c->sock_mu);
	aborted = c->aborted;
	pthread_mutex_unlock(&c->sock_mu);
	if (aborted || clock_now() >= deadline) {
		set_cause(cause, "%s: %s", c->addr, err);
		free(err);
		return -1;
	}
	free(err);
http:
	/* The same request over HTTP; what it asks must bear a repeat. */
	return http_client_request(c, method, path, token, body, len,
	    content_type, deadline - clock_now(), max_answer, status, answer,
	    cause);
}

int
http_client_on_channel(const struct http_client *c)
{
	return c->ch_used;
}
