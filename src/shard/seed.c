/*
 * Seeding the store over the node's HTTP server (seed.h).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "net/http-server.h"
#include "shard/seed.h"
#include "shard/store.h"
#include "util/xmalloc.h"

#define SEED_MAX_RANGE	(64ull << 20)

static int
seed_open(const char *model, struct store_model *sm,
    struct http_response *resp)
{
	char *cause = NULL;

	if (store_open(sm, model, 0, &cause) == 0)
		return 0;
	http_response_error(resp, 404, "not_found", "%s", cause);
	free(cause);
	return -1;
}

void
seed_answer_manifest(const char *model, struct http_response *resp)
{
	struct store_model sm;
	json_t *o;
	char *held;
	size_t i;

	if (seed_open(model, &sm, resp) != 0)
		return;
	held = xmalloc(sm.m.n_pieces + 1);
	for (i = 0; i < sm.m.n_pieces; i++)
		held[i] = sm.held[i] ? '1' : '0';
	held[i] = '\0';
	o = json_pack("{s:o,s:s}", "manifest", manifest_to_json(&sm.m),
	    "held", held);
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	resp->len = strlen(resp->body);
	json_decref(o);
	free(held);
	store_close(&sm);
}

/* "bytes=A-B" with A <= B; 0 or -1. */
static int
seed_range(const char *h, uint64_t *a, uint64_t *b)
{
	char *end;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0)
		return -1;
	*a = strtoull(h + 6, &end, 10);
	if (*end != '-')
		return -1;
	*b = strtoull(end + 1, &end, 10);
	return *end == '\0' && *a <= *b ? 0 : -1;
}

/* Do held pieces cover [a, b]? */
static int
seed_covered(const struct store_model *sm, uint64_t a, uint64_t b)
{
	const struct manifest_piece *p;
	uint64_t at = a;
	size_t i;

	for (i = 0; i < sm->m.n_pieces && at <= b; i++) {
		p = &sm->m.pieces[i];
		if (p->offset <= at && at < p->offset + p->size) {
			if (!sm->held[i])
				return 0;
			at = p->offset + p->size;
		}
	}
	return at > b;
}

void
seed_answer_data(const char *model, const struct http_request *req,
    struct http_response *resp)
{
	struct store_model sm;
	uint64_t a, b;
	int fd;

	if (seed_range(http_request_header(req, "Range"), &a, &b) != 0) {
		http_response_error(resp, 416, "bad_range", "give one Range "
		    "of bytes");
		return;
	}
	if (seed_open(model, &sm, resp) != 0)
		return;
	if (b >= sm.m.file_size || b - a + 1 > SEED_MAX_RANGE ||
	    !seed_covered(&sm, a, b)) {
		http_response_error(resp, 416, "not_held", "bytes %" PRIu64
		    "-%" PRIu64 " are not all held here", a, b);
		goto out;
	}
	/* From the page cache to the socket, without a copy here. */
	if ((fd = open(sm.data_path, O_RDONLY | O_CLOEXEC)) < 0) {
		http_response_error(resp, 500, "io", "cannot read the store");
		goto out;
	}
	resp->has_file = 1;
	resp->file_fd = fd;
	resp->file_offset = a;
	resp->len = b - a + 1;
	resp->status = 206;
	resp->content_type = "application/octet-stream";
	http_response_header(resp, "Content-Range", "bytes %" PRIu64 "-%"
	    PRIu64 "/%" PRIu64, a, b, sm.m.file_size);
out:
	store_close(&sm);
}
