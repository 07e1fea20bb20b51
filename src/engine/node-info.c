/*
 * A node's own account of itself (node-info.h).
 */
#include <jansson.h>
#include <string.h>

#include "engine/node-info.h"
#include "net/http-client.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define NODE_INFO_CONNECT_S	5
#define NODE_INFO_TIMEOUT_S	10
#define NODE_INFO_MAX_BODY	(1 << 20)

static int64_t
node_info_int(json_t *st, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(st, key));
}

int
node_info_fetch(const char *addr, struct node_info *ni, char **cause)
{
	struct http_client *hc;
	struct strbuf body = STRBUF_INIT;
	json_t *st;
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
	if ((ni->json = json_loadb(body.buf, body.len, 0, NULL)) == NULL ||
	    !json_is_object(st = json_object_get(ni->json, "status"))) {
		set_cause(cause, "%s: not a swarm node", addr);
		goto out;
	}
	if (record_from_json(json_object_get(ni->json, "record"), &ni->rec,
	    cause) != 0)
		goto out;
	ni->n_layer = node_info_int(st, "n_layer");
	ni->sessions = node_info_int(st, "sessions");
	ni->max_sessions = node_info_int(st, "max_sessions");
	ni->max_context = node_info_int(st, "max_context");
	ni->tokens_processed = node_info_int(st, "tokens_processed");
	ni->steps = node_info_int(st, "steps");
	ni->uptime_seconds = json_number_value(json_object_get(st,
	    "uptime_seconds"));
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
