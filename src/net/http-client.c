/*
 * libcurl glue for the peer client. The easy handle is kept for the life of
 * the client: curl then reuses the connection, which on loopback saves a
 * connect per step and on a real link a round trip.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http-client.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

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

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
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

	*status = 0;
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

	*status = 0;
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
