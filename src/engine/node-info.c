/*
 * A node's own account of itself (node-info.h).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/node-info.h"
#include "net/http-client.h"
#include "net/protocol.h"
#include "swarm/node.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define NODE_INFO_CONNECT_S	5
#define NODE_INFO_TIMEOUT_S	10
#define NODE_INFO_MAX_BODY	(1 << 20)

static int64_t
node_info_int(const json_t *st, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(st, key));
}

int
node_info_parse(const json_t *doc, struct node_info *ni, char **cause)
{
	const json_t *st = json_object_get(doc, "status");

	if (!json_is_object(st))
		return set_cause(cause, "not a swarm node: no status");
	if (record_from_json(json_object_get(doc, "record"), &ni->rec,
	    cause) != 0)
		return -1;
	ni->n_layer = node_info_int(st, "n_layer");
	ni->sessions = node_info_int(st, "sessions");
	ni->max_sessions = node_info_int(st, "max_sessions");
	ni->max_context = node_info_int(st, "max_context");
	ni->tokens_processed = node_info_int(st, "tokens_processed");
	ni->steps = node_info_int(st, "steps");
	ni->uptime_seconds = json_number_value(json_object_get(st,
	    "uptime_seconds"));
	ni->tokens_per_second_10s = json_number_value(json_object_get(st,
	    "tokens_per_second_10s"));
	ni->tokens_per_second_60s = json_number_value(json_object_get(st,
	    "tokens_per_second_60s"));
	ni->queue = node_info_int(st, "queue");
	ni->errors = node_info_int(st, "errors");
	return 0;
}

int
node_info_fetch(const char *addr, struct node_info *ni, char **cause)
{
	struct http_client *hc;
	struct strbuf body = STRBUF_INIT;
	long status;
	int rc = -1;

	memset(ni, 0, sizeof(*ni));
	if ((hc = http_client_new(addr, NODE_INFO_CONNECT_S)) == NULL)
		return set_cause(cause, "cannot start an HTTP client");
	if (http_client_request(hc, "GET", "/info", NULL, NULL, 0, NULL,
	    NODE_INFO_TIMEOUT_S, NODE_INFO_MAX_BODY, &status, &body,
	    cause) != 0)
		goto out;
	if (status != 200) {
		set_cause(cause, "%s: HTTP status %ld", addr, status);
		goto out;
	}
	if ((ni->json = json_loadb(body.buf, body.len, 0, NULL)) == NULL) {
		set_cause(cause, "%s: not a swarm node", addr);
		goto out;
	}
	if (node_info_parse(ni->json, ni, cause) != 0) {
		if (cause != NULL && *cause == NULL)
			set_cause(cause, "%s: not a swarm node", addr);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		node_info_release(ni);
	strbuf_release(&body);
	http_client_free(hc);
	return rc;
}

void
node_info_release(struct node_info *ni)
{
	json_decref(ni->json);
	ni->json = NULL;
}

/* The control token of the node on port, as it wrote it. */
static int
node_info_token(const char *data_dir, uint16_t port, char *token,
    size_t size, char **cause)
{
	char *path = node_token_path(data_dir, port);
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL) {
		set_cause(cause, "cannot read '%s': %s (is a node on port %u of "
		    "this machine?)", path, strerror(errno), port);
		free(path);
		return -1;
	}
	n = fread(token, 1, size - 1, fp);
	fclose(fp);
	free(path);
	token[n] = '\0';
	token[strcspn(token, "\r\n")] = '\0';
	return 0;
}

int
node_info_leave(const char *addr, const char *data_dir, char **cause)
{
	struct http_client *hc = NULL;
	struct strbuf body = STRBUF_INIT;
	char *host = NULL, *code = NULL, *msg = NULL, token[128];
	uint16_t port;
	long status;
	int rc = -1;

	if (proto_parse_addr(addr, &host, &port, cause) != 0 ||
	    node_info_token(data_dir, port, token, sizeof(token), cause) != 0)
		goto out;
	if ((hc = http_client_new(addr, NODE_INFO_CONNECT_S)) == NULL) {
		set_cause(cause, "cannot start an HTTP client");
		goto out;
	}
	if (http_client_request(hc, "POST", "/control/leave", token, "", 0,
	    "application/json", NODE_INFO_TIMEOUT_S, 1 << 16, &status, &body,
	    cause) != 0)
		goto out;
	if (status != 202) {
		if (proto_error_parse(body.buf, body.len, &code, &msg) == 0)
			set_cause(cause, "%s: %s", addr, msg);
		else
			set_cause(cause, "%s: HTTP status %ld", addr, status);
		goto out;
	}
	rc = 0;
out:
	free(code);
	free(msg);
	free(host);
	strbuf_release(&body);
	http_client_free(hc);
	return rc;
}

int
node_info_fetch_wait(const char *addr, double seconds, struct node_info *ni,
    char **cause)
{
	double end = clock_now() + seconds, left;
	char *c = NULL;

	/* Asked every 0.1 s, and once more at the end: the whole time. */
	for (;;) {
		free(c);
		c = NULL;
		if (node_info_fetch(addr, ni, &c) == 0)
			return 0;
		if ((left = end - clock_now()) <= 0)
			break;
		clock_sleep(left < 0.1 ? left : 0.1);
	}
	set_cause(cause, "no node answers at %s (%s); start one with `swarm "
	    "node join -m MODEL.gguf --listen %s`", addr, c, addr);
	free(c);
	return -1;
}

int
node_info_wait_gone(const char *addr, double seconds, char **cause)
{
	struct http_client *hc;
	struct strbuf body = STRBUF_INIT;
	char *c = NULL;
	long status;
	int i, n = (int)(seconds * 10);

	if ((hc = http_client_new(addr, NODE_INFO_CONNECT_S)) == NULL)
		return set_cause(cause, "cannot start an HTTP client");
	/* Until the connection is refused. */
	for (i = 0; i < n; i++) {
		free(c);
		c = NULL;
		if (http_client_request(hc, "GET", "/info", NULL, NULL, 0, NULL,
		    2, NODE_INFO_MAX_BODY, &status, &body, &c) != 0)
			break;
		clock_sleep(0.1);
	}
	free(c);
	strbuf_release(&body);
	http_client_free(hc);
	if (i == n)
		return set_cause(cause, "%s: still up after %.0f s", addr,
		    seconds);
	return 0;
}
