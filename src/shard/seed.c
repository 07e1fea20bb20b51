/*
 * Seeding the store over the node's HTTP server (seed.h). A data request
 * asks for one piece: opening the store's model for each (its manifest
 * parsed and checked, its records read, work that grows with the model's
 * pieces) would be repeated thousands of times for a large model, so the
 * models asked for are kept open, and opened again only when their
 * manifest or records changed on disk (a pull into the same store, a
 * verify).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "net/http-server.h"
#include "shard/seed.h"
#include "shard/store.h"
#include "util/xmalloc.h"

#define SEED_MAX_RANGE	(64ull << 20)
#define SEED_CACHE	4

struct seed_entry {
	char			*model;		/* as asked; NULL: free */
	struct store_model	 sm;
	struct stat		 manifest_st;
	struct stat		 pieces_st;
	unsigned		 used;
};

static pthread_mutex_t	 seed_mu = PTHREAD_MUTEX_INITIALIZER;
static struct seed_entry seed_cache[SEED_CACHE];
static unsigned		 seed_clock;

static int
seed_open(const char *model, struct store_model *sm,
    struct http_response *resp)
{
	char *cause = NULL;

	if (store_open(sm, model, STORE_SEED, &cause) == 0)
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

static int
seed_same_file(const char *path, const struct stat *was)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_ino == was->st_ino &&
	    st.st_size == was->st_size && st.st_mtim.tv_sec ==
	    was->st_mtim.tv_sec && st.st_mtim.tv_nsec == was->st_mtim.tv_nsec;
}

static void
seed_entry_drop(struct seed_entry *e)
{
	if (e->model == NULL)
		return;
	free(e->model);
	e->model = NULL;
	store_close(&e->sm);
}

/* The open model, still as on disk; called with seed_mu held. */
static struct seed_entry *
seed_get(const char *model, char **cause)
{
	struct seed_entry *e, *victim = &seed_cache[0];
	char *mpath;
	int i, ok;

	for (i = 0; i < SEED_CACHE; i++) {
		e = &seed_cache[i];
		if (e->model == NULL || strcmp(e->model, model) != 0)
			continue;
		mpath = xasprintf("%s/manifest.json", e->sm.dir);
		ok = seed_same_file(mpath, &e->manifest_st) &&
		    seed_same_file(e->sm.pieces_path, &e->pieces_st);
		free(mpath);
		if (ok) {
			e->used = ++seed_clock;
			return e;
		}
		seed_entry_drop(e);
	}
	for (i = 0; i < SEED_CACHE; i++)
		if (seed_cache[i].model == NULL ||
		    seed_cache[i].used < victim->used)
			victim = &seed_cache[i];
	seed_entry_drop(victim);
	e = victim;
	/* The files' state first: a change while opening shows next time. */
	if (store_open(&e->sm, model, STORE_SEED, cause) != 0)
		return NULL;
	mpath = xasprintf("%s/manifest.json", e->sm.dir);
	ok = stat(mpath, &e->manifest_st) == 0 &&
	    stat(e->sm.pieces_path, &e->pieces_st) == 0;
	free(mpath);
	if (!ok) {
		store_close(&e->sm);
		set_cause(cause, "cannot read the store's '%s'", model);
		return NULL;
	}
	e->model = xstrdup(model);
	e->used = ++seed_clock;
	return e;
}

void
seed_answer_data(const char *model, const struct http_request *req,
    struct http_response *resp)
{
	struct seed_entry *e;
	char *cause = NULL, *path = NULL;
	uint64_t a, b, size = 0;
	int fd, held = 0;

	if (seed_range(http_request_header(req, "Range"), &a, &b) != 0) {
		http_response_error(resp, 416, "bad_range", "give one Range "
		    "of bytes");
		return;
	}
	pthread_mutex_lock(&seed_mu);
	if ((e = seed_get(model, &cause)) != NULL) {
		size = e->sm.m.file_size;
		held = b < size && b - a + 1 <= SEED_MAX_RANGE &&
		    seed_covered(&e->sm, a, b);
		path = xstrdup(e->sm.data_path);
	}
	pthread_mutex_unlock(&seed_mu);
	if (path == NULL) {
		http_response_error(resp, 404, "not_found", "%s", cause);
		free(cause);
		return;
	}
	if (!held) {
		http_response_error(resp, 416, "not_held", "bytes %" PRIu64
		    "-%" PRIu64 " are not all held here", a, b);
		goto out;
	}
	/* From the page cache to the socket, without a copy here. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
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
	    PRIu64 "/%" PRIu64, a, b, size);
out:
	free(path);
}
