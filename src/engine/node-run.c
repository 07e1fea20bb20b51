/*
 * A node in the swarm (node-run.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gguf.h"
#include "engine/node-run.h"
#include "engine/shard-pull.h"
#include "net/dht.h"
#include "net/http-server.h"
#include "net/protocol.h"
#include "shard/seed.h"
#include "shard/store.h"
#include "swarm/balance.h"
#include "swarm/directory-dht.h"
#include "swarm/identity.h"
#include "swarm/model-id.h"
#include "util/clock.h"
#include "util/logcb.h"
#include "util/xmalloc.h"

/*
 * Adding a whole file to the store hashes all of it, which must not hold
 * up serving: a thread does it, detached, and tells the node what it
 * holds if the node is still there.
 */
struct node_run_import {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cond;
	struct node		*node;		/* NULL once the node is gone */
	int			 attached;	/* node set (or gone) */
	char			*path;
	int			 hash;		/* the id waits for the hash */
	int			 hash_rc;	/* 1: running, 0: done, -1: not */
	double			 hash_s;
	char			 id[MODEL_ID_MAX];
	char			*hash_cause;
	int			 seed;		/* add the file to the store */
	void			(*log)(void *arg, const char *msg);
	void			*log_arg;
	int			 refs;
};

struct node_run {
	struct node_run_config	*cfg;
	int			 have_id;
	struct identity		 id;
	struct node		*node;
	struct dht		*dht;
	struct directory	*dir;
	char			*path;		/* the file loaded */
	char			*held;		/* spans the store holds */
	char			*pulled;	/* the id pulled */
	char			 model_id[MODEL_ID_MAX]; /* "": hashing */
	struct node_run_import	*import;
	int			 hold;		/* the store, held while serving */
};

static void
node_run_log(const struct node_run *nr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
node_run_log(const struct node_run *nr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logcb_vprintf(nr->cfg->node.log, nr->cfg->node.log_arg, fmt, ap);
	va_end(ap);
}

int
node_run_in_dht(const struct node_run_config *cfg)
{
	return cfg->new_swarm || cfg->n_bootstrap > 0;
}

/* The model's block count, and how many fit in memory. */
static int
node_run_model(const char *path, uint32_t *n_block, uint32_t *fit,
    char **cause)
{
	struct gguf_file *f;
	long page, pages;

	if ((f = gguf_open(path, cause)) == NULL)
		return -1;
	if (model_id_block_count(f, n_block) != 0) {
		gguf_close(f);
		return set_cause(cause, "cannot tell the blocks of '%s'", path);
	}
	/* As many as fit in nine tenths of the memory free now. */
	page = sysconf(_SC_PAGESIZE);
	pages = sysconf(_SC_AVPHYS_PAGES);
	*fit = balance_blocks_that_fit(f, *n_block, page > 0 && pages > 0 ?
	    (uint64_t)pages * (uint64_t)page / 10 * 9 : UINT64_MAX);
	gguf_close(f);
	return 0;
}

/* The block count announced with the record; 0: unknown. */
static uint32_t
node_run_block_count(const char *path)
{
	struct gguf_file *f;
	uint32_t n = 0;

	if ((f = gguf_open(path, NULL)) == NULL)
		return 0;
	if (model_id_block_count(f, &n) != 0)
		n = 0;
	gguf_close(f);
	return n;
}

/*
 * --blocks auto: the span of the wanted length that the swarm serves
 * least, looked up with a short-lived client of the DHT.
 */
static int
node_run_auto(struct node_run *nr, char **cause)
{
	struct node_run_config *cfg = nr->cfg;
	struct dht *dht = NULL;
	struct directory *dir = NULL;
	struct peer_record *recs = NULL;
	const char *model_id = nr->model_id;
	char *c = NULL;
	uint32_t n_block, fit = 0;
	size_t n = 0;
	int rc;

	if (node_run_model(cfg->node.model_path, &n_block, &fit, cause) != 0)
		return -1;
	if (!cfg->new_swarm) {
		rc = directory_dht_join(cfg->network, NULL, 0, cfg->bootstrap,
		    cfg->n_bootstrap, NODE_RUN_JOIN_TRIES, NODE_RUN_JOIN_MS,
		    &dht, &c);
		if (rc < 0) {
			*cause = c;
			return -1;
		}
		if (rc == 0) {
			dir = directory_dht_new(dht, NULL);
			if (dir->ops->lookup(dir, model_id, &recs, &n, &c) != 0)
				n = 0;
		}
		if (c != NULL)
			node_run_log(nr, "blocks auto: %s", c);
	}
	balance_choose_span(recs, n, n_block, cfg->num_blocks > 0 ?
	    cfg->num_blocks : fit, &cfg->node.block_begin,
	    &cfg->node.block_end);
	node_run_log(nr, "blocks auto: %u:%u of %u, the least served by the "
	    "%zu node%s seen", cfg->node.block_begin, cfg->node.block_end,
	    n_block, n, n == 1 ? "" : "s");
	free(c);
	free(recs);
	if (dir != NULL)
		dir->ops->free(dir);
	dht_free(dht);
	return 0;
}

static void
node_run_import_unref(struct node_run_import *im)
{
	int last;

	pthread_mutex_lock(&im->mu);
	last = --im->refs == 0;
	pthread_mutex_unlock(&im->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&im->mu);
	pthread_cond_destroy(&im->cond);
	free(im->hash_cause);
	free(im->path);
	free(im);
}

static void
node_run_import_log(struct node_run_import *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
node_run_import_log(struct node_run_import *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logcb_vprintf(im->log, im->log_arg, fmt, ap);
	va_end(ap);
}

/* The hash's outcome, to the node once both are there; im->mu held. */
static void
node_run_import_apply(struct node_run_import *im)
{
	if (im->node == NULL || im->hash_rc == 1)
		return;
	if (im->hash_rc == 0) {
		node_set_model_id(im->node, im->id);
		node_run_import_log(im, "weights hashed in %.1f s: serving as "
		    "%s", im->hash_s, im->id);
	} else {
		node_run_import_log(im, "cannot hash the weights: %s",
		    im->hash_cause);
		node_drain(im->node);
	}
}

/* The id of a whole file not hashed before, while the node loads. */
static int
node_run_import_hash(struct node_run_import *im)
{
	char id[MODEL_ID_MAX], *cause = NULL;
	double t0 = clock_now();
	int rc;

	rc = store_model_id(im->path, 1, id, sizeof(id), &cause);
	pthread_mutex_lock(&im->mu);
	im->hash_rc = rc == 0 ? 0 : -1;
	im->hash_s = clock_now() - t0;
	snprintf(im->id, sizeof(im->id), "%s", rc == 0 ? id : "");
	im->hash_cause = cause;
	if (im->attached)
		node_run_import_apply(im);
	pthread_mutex_unlock(&im->mu);
	return rc;
}

static void *
node_run_import_main(void *arg)
{
	struct node_run_import *im = arg;
	char *id = NULL, *held = NULL, *cause = NULL;
	int tries;

	if (im->hash && node_run_import_hash(im) != 0)
		goto out;
	if (!im->seed)
		goto out;
	/* Another node sharing the data directory may be adding it too. */
	for (tries = 0; tries < 60; tries++) {
		free(cause);
		cause = NULL;
		if (store_add_file(im->path, 0, 0, 0, 0, &id, &cause) == 0) {
			held = store_held_text(id);
			break;
		}
		if (strstr(cause, "another process") == NULL)
			break;
		clock_sleep(0.5);
	}
	pthread_mutex_lock(&im->mu);
	while (!im->attached)
		pthread_cond_wait(&im->cond, &im->mu);
	if (im->node != NULL && held != NULL) {
		node_set_held(im->node, held);
		node_run_import_log(im, "seeding the whole file from the "
		    "shard store as %s", id);
	} else if (im->node != NULL && cause != NULL)
		node_run_import_log(im, "not seeding: %s", cause);
	pthread_mutex_unlock(&im->mu);
out:
	free(cause);
	free(held);
	free(id);
	node_run_import_unref(im);
	return NULL;
}

/*
 * A node serving a whole file not hashed before hashes it on a thread of
 * its own, started before the node loads its span: the node loads,
 * answers /info meanwhile, and is announced (and opens sessions) once its
 * id is known. Then, seeding, it adds the file to the store (the manifest
 * is cached by then). node_run_import_attach gives the thread the node.
 */
static void
node_run_import(struct node_run *nr, int hash, int seed)
{
	struct node_run_import *im = xcalloc(1, sizeof(*im));
	pthread_t t;

	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->cond, NULL);
	im->path = xstrdup(nr->path);
	im->hash = hash;
	im->hash_rc = 1;
	im->seed = seed;
	im->log = nr->cfg->node.log;
	im->log_arg = nr->cfg->node.log_arg;
	im->refs = 2;
	if (pthread_create(&t, NULL, node_run_import_main, im) != 0) {
		free(im->path);
		pthread_cond_destroy(&im->cond);
		pthread_mutex_destroy(&im->mu);
		free(im);
		return;
	}
	pthread_detach(t);
	nr->import = im;
}

/* The node for the import thread; NULL: it is gone (or never came). */
static void
node_run_import_attach(struct node_run *nr, struct node *node)
{
	struct node_run_import *im = nr->import;

	if (im == NULL)
		return;
	pthread_mutex_lock(&im->mu);
	im->node = node;
	im->attached = 1;
	node_run_import_apply(im);
	pthread_cond_broadcast(&im->cond);
	pthread_mutex_unlock(&im->mu);
}

/*
 * --pull: the span (or, with auto, the span the swarm serves least) from
 * the model's URL or from the swarm's seeders into the store; the model
 * is then its id in the store.
 */
static int
node_run_pull(struct node_run *nr, const char **model, char **cause)
{
	struct node_run_config *cfg = nr->cfg;
	struct shard_pull_config sc;
	struct pull_report rep;
	char *line;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.pull.source = *model;
	sc.pull.block_begin = cfg->node.block_begin;
	sc.pull.block_end = cfg->node.block_end;
	sc.auto_blocks = cfg->auto_blocks;
	sc.num_blocks = cfg->num_blocks;
	sc.bootstrap = cfg->bootstrap;
	sc.n_bootstrap = cfg->n_bootstrap;
	sc.network = cfg->network;
	sc.log = cfg->node.log;
	sc.log_arg = cfg->node.log_arg;
	rc = shard_pull(&sc, &rep, cause);
	if (rep.notes != NULL)
		node_run_log(nr, "pull: %s", rep.notes);
	if (rc == 0) {
		line = pull_report_line(&rep);
		node_run_log(nr, "%s", line);
		free(line);
		*model = nr->pulled = xstrdup(rep.id);
		cfg->node.block_begin = sc.pull.block_begin;
		cfg->node.block_end = sc.pull.block_end;
		cfg->auto_blocks = 0;
	}
	pull_report_release(&rep);
	return rc;
}

/*
 * Each node its own identity, the same at every restart: the key file
 * given, else one per listen address under the data directory
 * (nodes/HOST_PORT/identity.key), so that nodes sharing a SWARM_HOME differ.
 * A node on a port chosen at start has no stable address to key it by: it
 * gets a new key each run.
 */
static int
node_run_identity(struct node_run *nr, char **cause)
{
	struct node_run_config *cfg = nr->cfg;
	char *host = NULL, *path, *p;
	uint16_t port;
	int rc;

	if (cfg->identity_path != NULL)
		return identity_load_file(cfg->identity_path, &nr->id, cause);
	if (proto_parse_addr(cfg->node.listen, &host, &port, cause) != 0)
		return -1;
	if (port == 0) {
		free(host);
		identity_generate(&nr->id);
		if (node_run_in_dht(cfg))
			node_run_log(nr, "a port chosen at start: a new peer "
			    "id for this run (--listen HOST:PORT or --identity "
			    "FILE keeps one)");
		return 0;
	}
	for (p = host; *p != '\0'; p++)
		if (*p == ':' || *p == '/' || *p == '[' || *p == ']')
			*p = '_';
	path = xasprintf("%s/nodes/%s_%u/identity.key", cfg->node.data_dir,
	    host, (unsigned)port);
	rc = identity_load_file(path, &nr->id, cause);
	free(path);
	free(host);
	return rc;
}

/* Pieces of the shard store, for other nodes' pulls (shard/seed.h). */
static void
node_run_route_manifest(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	if (!node_seeding(arg))
		http_response_error(resp, 404, "not_seeding", "this node does "
		    "not seed (node.seed is false)");
	else
		seed_answer_manifest(req->wild[0], resp);
}

static void
node_run_route_data(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	if (!node_seeding(arg))
		http_response_error(resp, 404, "not_seeding", "this node does "
		    "not seed (node.seed is false)");
	else
		seed_answer_data(req->wild[0], req, resp);
}

static const struct http_route node_run_routes[] = {
	{ "GET", "/shards/*/manifest", node_run_route_manifest, 0,
	    HTTP_ROUTE_THREAD, NULL },
	{ "GET", "/shards/*/data", node_run_route_data, 0,
	    HTTP_ROUTE_THREAD, NULL },
};

struct node_run *
node_run_start(struct node_run_config *cfg, char **cause)
{
	struct node_run *nr = xcalloc(1, sizeof(*nr));
	const char *listen = cfg->node.listen, *model;
	char *span = NULL;
	int hashed;

	nr->cfg = cfg;
	nr->hold = -1;
	/* Outside a DHT too: receipts are made out to the node's key. */
	if (node_run_identity(nr, cause) != 0)
		goto fail;
	nr->have_id = 1;
	cfg->node.peer_id = nr->id.peer_id;
	cfg->node.node_key = nr->id.pk;
	model = cfg->node.model_path;
	if (cfg->pull && node_run_pull(nr, &model, cause) != 0)
		goto fail;
	/* A model of the store: its file, once it holds the span. */
	if ((nr->path = store_resolve(model, 0, 0, 0, cause)) == NULL)
		goto fail;
	cfg->node.model_path = nr->path;
	/*
	 * The id commits to the weights: a store model's manifest has it, a
	 * whole file hashed before is in the cache; else the node hashes it
	 * while it starts (--blocks auto needs the id first: it waits).
	 */
	hashed = store_model_id(nr->path, cfg->auto_blocks, nr->model_id,
	    sizeof(nr->model_id), cause);
	if (hashed < 0)
		goto fail;
	cfg->node.model_id = nr->model_id;	/* "" when hashed == 1 */
	if (cfg->auto_blocks && node_run_auto(nr, cause) != 0)
		goto fail;
	if (strcmp(model, nr->path) != 0 && (span = store_resolve(model,
	    cfg->node.block_begin, cfg->node.block_end, 0, cause)) == NULL)
		goto fail;
	free(span);
	if (strcmp(model, nr->path) != 0) {
		cfg->node.held = nr->held = store_held_text(model);
		nr->hold = store_hold(model);
	}
	cfg->node.extra_routes = node_run_routes;
	cfg->node.n_extra_routes = sizeof(node_run_routes) /
	    sizeof(node_run_routes[0]);
	if (strcmp(model, nr->path) == 0 && (cfg->node.seed || hashed == 1))
		node_run_import(nr, hashed == 1, cfg->node.seed);
	if (hashed == 1 && nr->import == NULL) {
		set_cause(cause, "cannot start a thread");
		goto fail;
	}
	if ((nr->node = node_new(&cfg->node, cause)) == NULL)
		goto fail;
	node_run_import_attach(nr, nr->node);
	node_run_log(nr, "serving blocks %u:%u of %s on %s (model %s, %.0f "
	    "tokens/s per block)", cfg->node.block_begin, cfg->node.block_end,
	    cfg->node.model_path, node_addr(nr->node), hashed == 1 ?
	    "id once its weights are hashed" : nr->model_id,
	    node_throughput(nr->node));
	if (cfg->node.public_addr == NULL && (strncmp(listen, "0.0.0.0:", 8) ==
	    0 || strncmp(listen, "[::]:", 5) == 0))
		node_run_log(nr, "listening on every interface: give others a "
		    "reachable address with --public-addr HOST:PORT");
	return nr;
fail:
	node_run_free(nr);
	return NULL;
}

struct node *
node_run_node(struct node_run *nr)
{
	return nr->node;
}

int
node_run_join(struct node_run *nr, char **cause)
{
	struct node_run_config *cfg = nr->cfg;
	char *c = NULL, *host;
	uint32_t n_block;
	uint16_t port;
	int rc;

	if (!node_run_in_dht(cfg)) {
		node_run_log(nr, "not in a DHT: use --new-swarm or --bootstrap "
		    "HOST:PORT to be found by clients");
		return 0;
	}
	n_block = node_run_block_count(cfg->node.model_path);
	/* UDP on the host of the HTTP port, and nowhere else. */
	if (proto_parse_addr(cfg->node.listen, &host, &port, cause) != 0)
		return -1;
	/* A new swarm bootstraps off nobody: zero tries. */
	rc = directory_dht_join(cfg->network, host, node_port(nr->node),
	    cfg->bootstrap, cfg->new_swarm ? 0 : cfg->n_bootstrap,
	    cfg->new_swarm ? 0 : NODE_RUN_JOIN_TRIES, NODE_RUN_JOIN_MS,
	    &nr->dht, &c);
	free(host);
	switch (rc) {
	case -1:
		*cause = c;
		return -1;
	case 1:
		if (!cfg->new_swarm)
			break;
		/* FALLTHROUGH */
	default:
		free(c);
		c = NULL;
	}
	nr->dir = directory_dht_new(nr->dht, &nr->id);
	directory_dht_set_model(nr->dir, n_block,
	    (uint32_t)cfg->node.announce_interval);
	if (cfg->new_swarm)
		node_run_log(nr, "new swarm '%s': others join with --bootstrap "
		    "%s", cfg->network, node_addr(nr->node));
	else if (c != NULL) {
		node_run_log(nr, "%s; trying again at each announcement", c);
		directory_dht_set_retry(nr->dir, cfg->bootstrap,
		    cfg->n_bootstrap);
	} else
		node_run_log(nr, "joined swarm '%s' as peer %.16s",
		    cfg->network, nr->id.peer_id);
	free(c);
	node_set_announcer(nr->node, nr->dir);
	return 0;
}

void
node_run_free(struct node_run *nr)
{
	if (nr == NULL)
		return;
	if (nr->import != NULL) {
		node_run_import_attach(nr, NULL);
		node_run_import_unref(nr->import);
	}
	node_free(nr->node);
	if (nr->dir != NULL)
		nr->dir->ops->free(nr->dir);
	dht_free(nr->dht);
	if (nr->have_id)
		identity_release(&nr->id);
	free(nr->path);
	free(nr->held);
	free(nr->pulled);
	if (nr->hold >= 0)
		close(nr->hold);
	free(nr);
}
