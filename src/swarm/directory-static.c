/*
 * The static directory: every lookup asks each listed node for its record,
 * all at once. A node that does not answer, answers something that is not
 * a record, or serves another model is left out. The record's address is
 * replaced by the one asked, which is known to reach the node. A node that
 * gave no answer the last time it was asked (hung, or its machine gone) is
 * given DIRECTORY_STATIC_RETRY seconds instead of the full timeout, so that
 * it does not hold every lookup (every new session) for that long.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "net/http-client.h"
#include "net/protocol.h"
#include "swarm/directory-static.h"
#include "swarm/record.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define DIRECTORY_STATIC_TIMEOUT	5	/* seconds */
#define DIRECTORY_STATIC_RETRY		1	/* after no answer */

struct directory_static {
	struct directory	 base;
	size_t			 n;
	struct http_client	**http;
	int			*silent;	/* no answer the last time */
};

/* One node asked, on a thread of its own. */
struct directory_static_ask {
	struct http_client	*hc;
	double			 timeout;
	struct peer_record	 r;
	int			 rc;		/* 0, or -1 */
	int			 answered;	/* any HTTP answer at all */
	pthread_t		 thread;
	int			 started;
};

static void *
directory_static_ask_run(void *arg)
{
	struct directory_static_ask *a = arg;
	struct strbuf body = STRBUF_INIT;
	json_t *o = NULL;
	long status;

	a->rc = -1;
	a->answered = http_client_request(a->hc, "GET", "/info", NULL, NULL,
	    0, NULL, a->timeout, 1 << 20, &status, &body, NULL) == 0;
	if (!a->answered || status != 200)
		goto out;
	if ((o = json_loadb(body.buf, body.len, 0, NULL)) == NULL ||
	    json_integer_value(json_object_get(o, "protocol")) !=
	    PROTO_VERSION ||
	    record_from_json(json_object_get(o, "record"), &a->r, NULL) != 0)
		goto out;
	snprintf(a->r.addr, sizeof(a->r.addr), "%s", http_client_addr(a->hc));
	a->rc = 0;
out:
	json_decref(o);
	strbuf_release(&body);
	return NULL;
}

static int
directory_static_lookup(struct directory *d, const char *model_id,
    struct peer_record **out, size_t *n, char **cause)
{
	struct directory_static *ds = (struct directory_static *)d;
	struct directory_static_ask *asks;
	size_t i;

	*out = NULL;
	*n = 0;
	asks = xcalloc(ds->n ? ds->n : 1, sizeof(*asks));
	for (i = 0; i < ds->n; i++) {
		asks[i].hc = ds->http[i];
		asks[i].timeout = ds->silent[i] ? DIRECTORY_STATIC_RETRY :
		    DIRECTORY_STATIC_TIMEOUT;
		/* the last one (or any a thread cannot be had for) here */
		asks[i].started = i + 1 < ds->n && pthread_create(
		    &asks[i].thread, NULL, directory_static_ask_run,
		    &asks[i]) == 0;
		if (!asks[i].started)
			directory_static_ask_run(&asks[i]);
	}
	for (i = 0; i < ds->n; i++) {
		if (asks[i].started)
			pthread_join(asks[i].thread, NULL);
		ds->silent[i] = !asks[i].answered;
		if (asks[i].rc != 0 || strcmp(asks[i].r.model_id,
		    model_id) != 0)
			continue;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = asks[i].r;
	}
	free(asks);
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
	free(ds->silent);
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
	ds->silent = xcalloc(n ? n : 1, sizeof(*ds->silent));
	for (i = 0; i < n; i++) {
		if ((ds->http[i] = http_client_new(addrs[i], 2)) == NULL)
			abort();
		ds->n++;
	}
	return &ds->base;
}
