/*
 * The static directory: every lookup asks each listed node for its record.
 * A node that does not answer, answers something that is not a record, or
 * serves another model is left out. The record's address is replaced by the
 * one asked, which is known to reach the node.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "net/http-client.h"
#include "net/protocol.h"
#include "swarm/directory-static.h"
#include "swarm/record.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define DIRECTORY_STATIC_TIMEOUT	5	/* seconds */

struct directory_static {
	struct directory	 base;
	size_t			 n;
	struct http_client	**http;
};

static int
directory_static_ask(struct http_client *hc, struct peer_record *r)
{
	struct strbuf body = STRBUF_INIT;
	json_t *o = NULL;
	long status;
	int rc = -1;

	if (http_client_request(hc, "GET", "/info", NULL, NULL, 0, NULL,
	    DIRECTORY_STATIC_TIMEOUT, 1 << 20, &status, &body, NULL) != 0 ||
	    status != 200)
		goto out;
	if ((o = json_loadb(body.buf, body.len, 0, NULL)) == NULL ||
	    json_integer_value(json_object_get(o, "protocol")) !=
	    PROTO_VERSION ||
	    record_from_json(json_object_get(o, "record"), r, NULL) != 0)
		goto out;
	snprintf(r->addr, sizeof(r->addr), "%s", http_client_addr(hc));
	rc = 0;
out:
	json_decref(o);
	strbuf_release(&body);
	return rc;
}

static int
directory_static_lookup(struct directory *d, const char *model_id,
    struct peer_record **out, size_t *n, char **cause)
{
	struct directory_static *ds = (struct directory_static *)d;
	struct peer_record r;
	size_t i;

	*out = NULL;
	*n = 0;
	for (i = 0; i < ds->n; i++) {
		if (directory_static_ask(ds->http[i], &r) != 0 ||
		    strcmp(r.model_id, model_id) != 0)
			continue;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = r;
	}
	return 0;
}

static void
directory_static_free(struct directory *d)
{
	struct directory_static *ds = (struct directory_static *)d;
	size_t i;

	for (i = 0; i < ds->n; i++)
		http_client_free(ds->http[i]);
	free(ds->http);
	free(ds);
}

static const struct directory_ops directory_static_ops = {
	.lookup = directory_static_lookup,
	.announce = NULL,
	.free = directory_static_free,
};

struct directory *
directory_static_new(const char *const *addrs, size_t n)
{
	struct directory_static *ds;
	size_t i;

	ds = xcalloc(1, sizeof(*ds));
	ds->base.ops = &directory_static_ops;
	ds->http = xcalloc(n ? n : 1, sizeof(*ds->http));
	for (i = 0; i < n; i++) {
		if ((ds->http[i] = http_client_new(addrs[i], 2)) == NULL)
			abort();
		ds->n++;
	}
	return &ds->base;
}
