/*
 * libcurl glue for the peer client. The easy handle is kept for the life of
 * the client: curl then reuses the connection, which on loopback saves a
 * connect per step and on a real link a round trip.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
	char		*next_header;	/* "Name: value" for the next request */
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

struct http_client *
http_client_new(const char *addr, double connect_timeout)
{
	struct http_client *c;

	pthread_once(&http_client_once, http_client_global_init);
	c = xcalloc(1, sizeof(*c));
	c->addr = xstrdup(addr);
	c->connect_timeout = connect_timeout;
	if ((c->curl = curl_easy_init()) == NULL) {
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
	free(c->next_header);
	c->next_header = xasprintf("%s: %s", name, value);
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c->next_header);
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

	*status = 0;
	strbuf_reset(answer);
	url = xasprintf("http://%s%s", c->addr, path);
	curl_easy_reset(e);
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
	if (c->next_header != NULL) {
		hdrs = curl_slist_append(hdrs, c->next_header);
		free(c->next_header);
		c->next_header = NULL;
	}
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
