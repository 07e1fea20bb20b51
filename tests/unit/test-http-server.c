/*
 * Tests for src/net/http-server over loopback with raw sockets: the route
 * table's 404 and 405 (with Allow), the wild segments, the checks made
 * before a body is read (413, 503, two Content-Length headers, 401),
 * threaded handlers not holding the server's one thread, streams, and a
 * client that hangs up being seen by its handler.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "test-net.h"
#include "net/http-server.h"
#include "util/xmalloc.h"

static int test_gone_seen;	/* atomic */

static double
test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_echo(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	resp->status = 200;
	resp->content_type = "text/plain";
	resp->body = xasprintf("%s %s wild=%s body=%zu", req->method,
	    req->path, req->wild[0] != NULL ? req->wild[0] : "-",
	    req->body_len);
	resp->len = strlen(resp->body);
}

static void
test_slow(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	usleep(1500 * 1000);
	test_echo(arg, req, resp);
}

static void
test_stream(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	struct http_stream *st;
	char line[32];
	int i;

	resp->status = 200;
	resp->content_type = "text/event-stream";
	if ((st = http_response_stream(req, resp)) == NULL)
		return;
	for (i = 0; i < 3; i++) {
		snprintf(line, sizeof(line), "data: %d\n\n", i);
		if (http_stream_write(st, line, strlen(line)) != 0)
			return;
		usleep(50 * 1000);
	}
}

/* Writes until the client is seen gone (at most 10 s). */
static void
test_endless(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	struct http_stream *st;
	int i;

	resp->status = 200;
	if ((st = http_response_stream(req, resp)) == NULL)
		return;
	for (i = 0; i < 200; i++) {
		if (http_stream_write(st, "tick\n", 5) != 0) {
			__atomic_store_n(&test_gone_seen, 1, __ATOMIC_RELEASE);
			return;
		}
		usleep(50 * 1000);
	}
}

static const struct http_route test_routes[] = {
	{ "GET", "/echo", test_echo, 0, 0, NULL },
	{ "POST", "/echo", test_echo, 10000, 0, NULL },
	{ "GET", "/items/*/name", test_echo, 0, 0, NULL },
	{ "GET", "/slow", test_slow, 0, HTTP_ROUTE_THREAD, NULL },
	{ "GET", "/stream", test_stream, 0, HTTP_ROUTE_THREAD, NULL },
	{ "GET", "/endless", test_endless, 0, HTTP_ROUTE_THREAD, NULL },
	{ "GET", "/secret", test_echo, 0, HTTP_ROUTE_AUTH, NULL },
};

static char *const test_keys[] = { "k1", "k2" };

static struct http_server *
test_server(void)
{
	struct http_server_config c;
	char *cause = NULL;
	struct http_server *s;

	memset(&c, 0, sizeof(c));
	c.host = "127.0.0.1";
	c.routes = test_routes;
	c.n_routes = sizeof(test_routes) / sizeof(test_routes[0]);
	c.api_keys = test_keys;
	c.n_api_keys = 2;
	c.threads = 1;
	c.max_buffered = 4000;
	if ((s = http_server_new(&c, &cause)) == NULL)
		fprintf(stderr, "  %s\n", cause);
	free(cause);
	return s;
}

/* Sends raw and reads the answer until the server closes (5 s at most). */
static char *
test_exchange(uint16_t port, const char *raw)
{
	static char buf[65536];
	struct pollfd pfd;
	size_t n = 0;
	ssize_t k;
	int fd;

	buf[0] = '\0';
	if ((fd = test_connect(port)) < 0)
		return buf;
	if (write(fd, raw, strlen(raw)) < 0)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (n < sizeof(buf) - 1 && poll(&pfd, 1, 5000) == 1) {
		if ((k = read(fd, buf + n, sizeof(buf) - 1 - n)) <= 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
out:
	close(fd);
	return buf;
}

static void
test_http_routes(void)
{
	struct http_server *s = test_server();
	uint16_t port;
	char *a;

	CHECK(s != NULL);
	port = http_server_port(s);
	a = test_exchange(port, "GET /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 200", 12) == 0 && strstr(a, "GET /echo"));
	a = test_exchange(port, "GET /items/abc/name HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(strstr(a, "wild=abc") != NULL);
	a = test_exchange(port, "GET /items//name HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 404", 12) == 0);
	a = test_exchange(port, "GET /nowhere HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 404", 12) == 0 &&
	    strstr(a, "\"not_found\"") != NULL);
	a = test_exchange(port, "DELETE /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 405", 12) == 0);
	CHECK(strstr(a, "Allow: GET, HEAD, POST") != NULL);
	a = test_exchange(port, "HEAD /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 200", 12) == 0);
	http_server_free(s);
}

static void
test_http_bodies(void)
{
	struct http_server *s = test_server();
	static char pad[6001];
	uint16_t port;
	char *a, *raw;

	CHECK(s != NULL);
	port = http_server_port(s);
	a = test_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nContent-Length: 5\r\n\r\nhello");
	CHECK(strstr(a, "body=5") != NULL);
	/* Over the route's cap: answered with no byte of the body sent. */
	a = test_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nContent-Length: 20000\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 413", 12) == 0);
	/* Within the route's cap, over the server's budget. */
	a = test_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nContent-Length: 5000\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 503", 12) == 0);
	CHECK(strstr(a, "Retry-After: 1") != NULL);
	a = test_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nContent-Length: 5\r\n"
	    "Content-Length: 50\r\n\r\nhello");
	CHECK(strncmp(a, "HTTP/1.1 400", 12) == 0);
	a = test_exchange(port, "GET /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nContent-Length: 0\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 400", 12) == 0);
	/* A chunked body, its size unsaid, is counted as it comes. */
	memset(pad, 'a', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	raw = xasprintf("POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "%zx\r\n%s\r\n0\r\n\r\n", sizeof(pad) - 1, pad);
	a = test_exchange(port, raw);
	free(raw);
	CHECKF(strncmp(a, "HTTP/1.1 503", 12) == 0, "%.40s", a);
	http_server_free(s);
}

static void
test_http_auth(void)
{
	struct http_server *s = test_server();
	uint16_t port;
	char *a;

	CHECK(s != NULL);
	port = http_server_port(s);
	a = test_exchange(port, "GET /secret HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 401", 12) == 0);
	a = test_exchange(port, "GET /secret HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer k3\r\nConnection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 401", 12) == 0);
	a = test_exchange(port, "GET /secret HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer k2\r\nConnection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 200", 12) == 0);
	CHECK(http_key_equal("abc", "abc") && !http_key_equal("abc", "abd") &&
	    !http_key_equal("abc", "abcd") && !http_key_equal("", "a"));
	http_server_free(s);
}

struct test_slow_call {
	uint16_t	 port;
	char		 answer[256];
};

static void *
test_slow_main(void *arg)
{
	struct test_slow_call *c = arg;

	snprintf(c->answer, sizeof(c->answer), "%s", test_exchange(c->port,
	    "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
	return NULL;
}

/* Two slow handlers run while the server's one thread answers another. */
static void
test_http_threads(void)
{
	struct http_server *s = test_server();
	struct test_slow_call c1, c2;
	pthread_t t1, t2;
	double t0, dt;
	char *a;

	CHECK(s != NULL);
	c1.port = c2.port = http_server_port(s);
	pthread_create(&t1, NULL, test_slow_main, &c1);
	pthread_create(&t2, NULL, test_slow_main, &c2);
	usleep(200 * 1000);
	t0 = test_now();
	a = test_exchange(c1.port, "GET /echo HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	dt = test_now() - t0;
	CHECKF(strncmp(a, "HTTP/1.1 200", 12) == 0 && dt < 0.5, "%.3f s", dt);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK(strstr(c1.answer, "GET /slow") != NULL);
	CHECK(strstr(c2.answer, "GET /slow") != NULL);
	http_server_free(s);
}

static void
test_http_stream(void)
{
	struct http_server *s = test_server();
	double t0;
	char *a;
	int fd;

	CHECK(s != NULL);
	a = test_exchange(http_server_port(s), "GET /stream HTTP/1.1\r\n"
	    "Host: x\r\nConnection: close\r\n\r\n");
	CHECK(strncmp(a, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(a, "text/event-stream") != NULL);
	CHECK(strstr(a, "data: 0") != NULL && strstr(a, "data: 2") != NULL);
	/* A client that hangs up: the handler's next writes fail. */
	__atomic_store_n(&test_gone_seen, 0, __ATOMIC_RELEASE);
	fd = test_connect(http_server_port(s));
	CHECK(fd >= 0);
	a = "GET /endless HTTP/1.1\r\nHost: x\r\n\r\n";
	CHECK(write(fd, a, strlen(a)) > 0);
	usleep(300 * 1000);
	close(fd);
	t0 = test_now();
	while (!__atomic_load_n(&test_gone_seen, __ATOMIC_ACQUIRE) &&
	    test_now() - t0 < 5)
		usleep(20 * 1000);
	CHECK(__atomic_load_n(&test_gone_seen, __ATOMIC_ACQUIRE));
	http_server_free(s);
}

int
main(void)
{
	TEST_RUN(test_http_routes);
	TEST_RUN(test_http_bodies);
	TEST_RUN(test_http_auth);
	TEST_RUN(test_http_threads);
	TEST_RUN(test_http_stream);
	TEST_EXIT();
}
