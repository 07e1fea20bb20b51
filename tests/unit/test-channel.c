/*
 * Tests for channels (src/net/channel, the server's http-channel and the
 * client's http_client_request_channel): frames encoded and checked, a
 * channel's requests answered as over HTTP (headers, key, body cap, a
 * route not served on channels), the client falling back to HTTP where a
 * server has no channels or the channel breaks, bytes sent before the 101,
 * and a server stopped with channels open.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "test-net.h"
#include "net/channel.h"
#include "net/http-client.h"
#include "net/http-server.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static void
test_echo(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	const char *h = http_request_header(req, "X-Test");
	const char *t = http_request_header(req, "Content-Type");

	(void)arg;
	resp->status = 200;
	resp->content_type = "text/plain";
	resp->body = xasprintf("%s %s wild=%s body=%zu:%.*s x=%s type=%s "
	    "loopback=%d", req->method, req->path, req->wild[0] != NULL ?
	    req->wild[0] : "-", req->body_len, (int)(req->body_len < 64 ?
	    req->body_len : 64), req->body, h != NULL ? h : "-", t != NULL ?
	    t : "-", req->loopback);
	resp->len = strlen(resp->body);
	http_response_header(resp, "X-Answer", "yes");
}

/* Refuses bodies that start with "no" before they are read. */
static int
test_admit(void *arg, const struct http_request *req, uint64_t len,
    struct http_response *resp)
{
	(void)arg;
	if (strcmp(req->wild[0], "refuse") != 0)
		return 0;
	http_response_error(resp, 404, "unknown", "refused before the body");
	return -1;
}

static const struct http_route test_routes[] = {
	{ "POST", "/items/*", test_echo, 100000, HTTP_ROUTE_CHANNEL |
	    HTTP_ROUTE_THREAD, test_admit },
	{ "GET", "/plain", test_echo, 0, 0, NULL },
	{ "GET", "/secret", test_echo, 0, HTTP_ROUTE_AUTH |
	    HTTP_ROUTE_CHANNEL, NULL },
};

static char *const test_keys[] = { "k1" };

static struct http_server *
test_server(int channels)
{
	struct http_server_config c;
	char *cause = NULL;
	struct http_server *s;

	memset(&c, 0, sizeof(c));
	c.host = "127.0.0.1";
	c.routes = test_routes;
	c.n_routes = sizeof(test_routes) / sizeof(test_routes[0]);
	c.api_keys = test_keys;
	c.n_api_keys = 1;
	c.threads = 1;
	c.channel_path = channels ? "/channel" : NULL;
	if ((s = http_server_new(&c, &cause)) == NULL)
		fprintf(stderr, "  %s\n", cause);
	free(cause);
	return s;
}

static struct http_client *
test_client(struct http_server *s)
{
	struct http_client *c;
	char addr[32];

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", http_server_port(s));
	c = http_client_new(addr, 2);
	http_client_channel(c, "/channel");
	return c;
}

static void
test_channel_frames(void)
{
	struct strbuf sb = STRBUF_INIT;
	char *names[2] = { "X-A", "Y" }, *values[2] = { "1", "two words" };
	char *bad[1] = { "a\r\nb" }, *colon[1] = { "a:b" };
	struct channel_head h;
	struct channel_msg m;
	char *cause = NULL;
	unsigned char raw[CHANNEL_HEAD_SIZE];

	CHECK(channel_encode_request(&sb, "POST", "/s/1/step", names, values,
	    2, 5) == 0);
	CHECK(sb.len == CHANNEL_HEAD_SIZE + 2 + 4 + 2 + 9 + 2 + 3 + 2 + 1 +
	    2 + 1 + 2 + 9);
	CHECK(channel_head_parse(sb.buf, 5, &h, &cause) == 0);
	CHECK(h.kind == CHANNEL_REQUEST && h.body_len == 5 && h.status == 0);
	CHECK(channel_head_parse(sb.buf, 4, &h, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "body") != NULL);
	free(cause);
	cause = NULL;
	CHECK(channel_head_parse(sb.buf, 5, &h, &cause) == 0);
	CHECK(channel_fields_parse(&h, sb.buf + CHANNEL_HEAD_SIZE,
	    sb.len - CHANNEL_HEAD_SIZE, &m, &cause) == 0);
	CHECK_STR(m.method, "POST");
	CHECK_STR(m.path, "/s/1/step");
	CHECK(m.n_headers == 2);
	CHECK_STR(m.values[1], "two words");
	channel_msg_release(&m);
	/* One byte short: a field cut. */
	CHECK(channel_fields_parse(&h, sb.buf + CHANNEL_HEAD_SIZE,
	    sb.len - CHANNEL_HEAD_SIZE - 1, &m, &cause) == -1);
	free(cause);
	cause = NULL;
	h.head_len--;
	CHECK(channel_fields_parse(&h, sb.buf + CHANNEL_HEAD_SIZE,
	    sb.len - CHANNEL_HEAD_SIZE - 1, &m, &cause) == -1);
	free(cause);
	cause = NULL;
	/* What no frame may carry is refused when encoding. */
	strbuf_reset(&sb);
	CHECK(channel_encode_request(&sb, "GET", "/x", names, bad, 1, 0) ==
	    -1 && sb.len == 0);
	CHECK(channel_encode_request(&sb, "GET", "x", NULL, NULL, 0, 0) ==
	    -1);
	CHECK(channel_encode_answer(&sb, 99, "", NULL, NULL, 0, 0) == -1);
	/* A header name with ':' is refused when read. */
	CHECK(channel_encode_request(&sb, "GET", "/x", colon, values, 1,
	    0) == 0);
	CHECK(channel_head_parse(sb.buf, 0, &h, &cause) == 0);
	CHECK(channel_fields_parse(&h, sb.buf + CHANNEL_HEAD_SIZE,
	    sb.len - CHANNEL_HEAD_SIZE, &m, &cause) == -1);
	free(cause);
	cause = NULL;
	/* Heads that lie. */
	memcpy(raw, sb.buf, sizeof(raw));
	raw[0] = 'X';
	CHECK(channel_head_parse(raw, 0, &h, &cause) == -1);
	free(cause);
	cause = NULL;
	memcpy(raw, sb.buf, sizeof(raw));
	raw[6] = 200;		/* a status in a request */
	CHECK(channel_head_parse(raw, 0, &h, &cause) == -1);
	free(cause);
	cause = NULL;
	memcpy(raw, sb.buf, sizeof(raw));
	raw[11] = 1;		/* fields of 16 MiB */
	CHECK(channel_head_parse(raw, 0, &h, &cause) == -1);
	free(cause);
	cause = NULL;
	strbuf_reset(&sb);
	CHECK(channel_encode_answer(&sb, 200, "text/plain", NULL, NULL, 0,
	    0) == 0);
	CHECK(channel_head_parse(sb.buf, 0, &h, &cause) == 0);
	CHECK(channel_fields_parse(&h, sb.buf + CHANNEL_HEAD_SIZE,
	    sb.len - CHANNEL_HEAD_SIZE, &m, &cause) == 0);
	CHECK(m.status == 200);
	CHECK_STR(m.content_type, "text/plain");
	channel_msg_release(&m);
	strbuf_release(&sb);
}

static void
test_channel_requests(void)
{
	struct http_server *s = test_server(1);
	struct http_client *c;
	struct strbuf a = STRBUF_INIT;
	char *cause = NULL, *big;
	long status;
	int i;

	CHECK(s != NULL);
	c = test_client(s);
	for (i = 0; i < 3; i++) {
		http_client_set_header(c, "X-Test", "v1");
		CHECK(http_client_request_channel(c, "POST", "/items/abc",
		    NULL, "hello", 5, "text/x-test", 5, 1 << 16, &status, &a,
		    &cause) == 0);
		CHECK(status == 200);
		CHECK(http_client_on_channel(c));
		CHECKF(strcmp(a.buf, "POST /items/abc wild=abc body=5:hello "
		    "x=v1 type=text/x-test loopback=1") == 0, "%s", a.buf);
	}
	/* The header was for one request only. */
	CHECK(http_client_request_channel(c, "POST", "/items/q", NULL, "", 0,
	    NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(strstr(a.buf, "x=- ") != NULL);
	/* A route not served on channels: answered there, 404. */
	CHECK(http_client_request_channel(c, "GET", "/plain", NULL, NULL, 0,
	    NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(status == 404 && http_client_on_channel(c));
	/* The key, as over HTTP. */
	CHECK(http_client_request_channel(c, "GET", "/secret", NULL, NULL, 0,
	    NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(status == 401);
	http_client_set_header(c, "Authorization", "Bearer k1");
	CHECK(http_client_request_channel(c, "GET", "/secret", NULL, NULL, 0,
	    NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(status == 200);
	/* Refused by the admit check, its body dropped: the channel goes on. */
	CHECK(http_client_request_channel(c, "POST", "/items/refuse", NULL,
	    "abc", 3, NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(status == 404 && strstr(a.buf, "refused before") != NULL);
	CHECK(http_client_request_channel(c, "POST", "/items/after", NULL,
	    "xyz", 3, NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(status == 200 && strstr(a.buf, "body=3:xyz") != NULL);
	/* Over the route's cap: 413, and the channel ends after it. */
	big = xcalloc(1, 200000);
	CHECK(http_client_request_channel(c, "POST", "/items/big", NULL, big,
	    200000, NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	free(big);
	CHECK(status == 413);
	/* An answer over the client's cap fails the channel; HTTP says so
	 * too. */
	CHECK(http_client_request_channel(c, "POST", "/items/abc", NULL, "x",
	    1, NULL, 5, 10, &status, &a, &cause) == -1);
	CHECK(cause != NULL);
	free(cause);
	cause = NULL;
	/* A failure keeps the client off channels a moment, not for good. */
	CHECK(http_client_request_channel(c, "POST", "/items/abc", NULL, "x",
	    1, NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(status == 200 && !http_client_on_channel(c));
	usleep(1100 * 1000);
	CHECK(http_client_request_channel(c, "POST", "/items/abc", NULL, "x",
	    1, NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(status == 200 && http_client_on_channel(c));
	http_client_free(c);
	strbuf_release(&a);
	http_server_free(s);
}

static void
test_channel_fallback(void)
{
	struct http_server *s = test_server(0);
	struct http_client *c;
	struct strbuf a = STRBUF_INIT;
	char *cause = NULL;
	long status;
	int i;

	CHECK(s != NULL);
	c = test_client(s);
	for (i = 0; i < 2; i++) {
		http_client_set_header(c, "X-Test", "v2");
		CHECK(http_client_request_channel(c, "POST", "/items/abc",
		    NULL, "hi", 2, NULL, 5, 1 << 16, &status, &a,
		    &cause) == 0);
		CHECK(status == 200 && !http_client_on_channel(c));
		CHECK(strstr(a.buf, "body=2:hi x=v2") != NULL);
	}
	http_client_free(c);
	http_server_free(s);
	/* A server stopped with a channel open, then the client again. */
	s = test_server(1);
	CHECK(s != NULL);
	c = test_client(s);
	CHECK(http_client_request_channel(c, "POST", "/items/abc", NULL, "hi",
	    2, NULL, 5, 1 << 16, &status, &a, &cause) == 0);
	CHECK(http_client_on_channel(c));
	http_server_free(s);
	CHECK(http_client_request_channel(c, "POST", "/items/abc", NULL, "hi",
	    2, NULL, 2, 1 << 16, &status, &a, &cause) == -1);
	free(cause);
	http_client_free(c);
	strbuf_release(&a);
}

/* Everything the server sends until it closes or 3 s pass. */
static size_t
test_read_all(int fd, char *buf, size_t max)
{
	struct pollfd pfd;
	size_t n = 0;
	ssize_t k;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (n < max && poll(&pfd, 1, 3000) == 1) {
		if ((k = read(fd, buf + n, max - n)) <= 0)
			break;
		n += (size_t)k;
	}
	return n;
}

static void
test_channel_raw(void)
{
	struct http_server *s = test_server(1);
	struct strbuf sb = STRBUF_INIT;
	static char buf[8192];
	const char *up = "GET /channel HTTP/1.1\r\nHost: x\r\nConnection: "
	    "Upgrade\r\nUpgrade: swarm-channel/1\r\n\r\n";
	const char *no_up = "GET /channel HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	size_t n;
	int fd;

	CHECK(s != NULL);
	/* No Upgrade header: 426. */
	fd = test_connect(http_server_port(s));
	CHECK(fd >= 0);
	CHECK(write(fd, no_up, strlen(no_up)) == (ssize_t)strlen(no_up));
	n = test_read_all(fd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	close(fd);
	CHECKF(strncmp(buf, "HTTP/1.1 426", 12) == 0, "%s", buf);
	/* A frame sent with the upgrade, before the 101: answered. */
	strbuf_adds(&sb, up);
	CHECK(channel_encode_request(&sb, "POST", "/items/early", NULL, NULL,
	    0, 2) == 0);
	strbuf_adds(&sb, "ok");
	fd = test_connect(http_server_port(s));
	CHECK(fd >= 0);
	CHECK(write(fd, sb.buf, sb.len) == (ssize_t)sb.len);
	/* Then garbage: the server ends the channel. */
	usleep(100 * 1000);
	CHECK(write(fd, "GARBAGE GARBAGE GARBAGE", 23) == 23);
	n = test_read_all(fd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	close(fd);
	CHECKF(strncmp(buf, "HTTP/1.1 101", 12) == 0, "%s", buf);
	CHECK(memmem(buf, n, "body=2:ok", 9) != NULL);
	strbuf_release(&sb);
	http_server_free(s);
}

int
main(void)
{
	TEST_RUN(test_channel_frames);
	TEST_RUN(test_channel_requests);
	TEST_RUN(test_channel_fallback);
	TEST_RUN(test_channel_raw);
	TEST_EXIT();
}
