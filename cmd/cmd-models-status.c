/*
 * swarm models status [MODEL_ID | MODEL.gguf]: what the swarm serves, read
 * from the DHT as a short-lived client node. Per model: its blocks, how
 * many peers serve each (draining peers do not count), the gaps, every
 * peer's span, throughput, load and state, and whether the model is
 * complete. Without an argument it lists every model announced in the
 * network.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "conf/conf.h"
#include "core/gguf.h"
#include "net/dht.h"
#include "swarm/directory-dht.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define MODELS_STATUS_BOOTSTRAP_MS	2000

static const struct cmd_opt models_status_opts[] = {
	{ 0, "json", NULL, "print one JSON object" },
	{ 'b', "bootstrap", "HOST:PORT", "a node to join the swarm through "
	    "(repeatable; default: swarm.bootstrap)" },
	{ 0, "network", "NAME", "the swarm's name (default: swarm.network)" },
	{ 0, "timeout", "SECONDS", "how long to wait for the DHT (default 5)" },
	{ 0, NULL, NULL, NULL }
};

/* One model's entries, a slice of the sorted list. */
struct models_status_model {
	const char			*model_id;
	struct directory_dht_entry	*ents;
	size_t				 n;
	uint32_t			 n_block;	/* 0: unknown */
	uint32_t			 span;		/* blocks to show */
	uint32_t			*replicas;	/* span entries */
};

static void
models_status_count(struct models_status_model *m, uint32_t file_n_block)
{
	uint32_t b;
	size_t i;

	m->n_block = file_n_block;
	for (i = 0; i < m->n; i++) {
		if (m->n_block == 0 && m->ents[i].n_block != 0)
			m->n_block = m->ents[i].n_block;
	}
	m->span = m->n_block;
	for (i = 0; i < m->n; i++) {
		if (m->ents[i].rec.block_end > m->span)
			m->span = m->ents[i].rec.block_end;
	}
	m->replicas = xcalloc(m->span > 0 ? m->span : 1, sizeof(uint32_t));
	for (i = 0; i < m->n; i++) {
		if (m->ents[i].rec.state == PEER_STATE_DRAINING)
			continue;
		for (b = m->ents[i].rec.block_begin;
		    b < m->ents[i].rec.block_end && b < m->span; b++)
			m->replicas[b]++;
	}
}

static int
models_status_complete(const struct models_status_model *m)
{
	uint32_t b;

	if (m->n_block == 0)
		return 0;
	for (b = 0; b < m->n_block; b++) {
		if (m->replicas[b] == 0)
			return 0;
	}
	return 1;
}

/* Calls fn for each run of blocks with the same replica count. */
static void
models_status_runs(const struct models_status_model *m,
    void (*fn)(void *, uint32_t, uint32_t, uint32_t), void *arg)
{
	uint32_t a, b;

	for (a = 0; a < m->span; a = b) {
		for (b = a + 1; b < m->span && m->replicas[b] == m->replicas[a];
		    b++)
			;
		fn(arg, a, b, m->replicas[a]);
	}
}

static void
models_status_print_run(void *arg, uint32_t a, uint32_t b, uint32_t n)
{
	if (b - a == 1)
		printf("    block %" PRIu32 ": ", a);
	else
		printf("    blocks %" PRIu32 "-%" PRIu32 ": ", a, b - 1);
	if (n == 0)
		printf("no peer\n");
	else
		printf("%" PRIu32 " peer%s\n", n, n == 1 ? "" : "s");
}

static void
models_status_print(const struct models_status_model *m, int64_t now)
{
	const struct peer_record *r;
	char span[32];
	size_t i;

	printf("model %s\n", m->model_id);
	if (m->n_block != 0)
		printf("  blocks %" PRIu32 ", %s\n", m->n_block,
		    models_status_complete(m) ? "complete" : "incomplete");
	else
		printf("  blocks unknown (no record gives the count), "
		    "incomplete\n");
	models_status_runs(m, models_status_print_run, NULL);
	printf("  %-16s %-22s %-7s %12s %5s %-9s %s\n", "PEER", "ADDRESS",
	    "SPAN", "TOKENS/S", "LOAD", "STATE", "AGE");
	for (i = 0; i < m->n; i++) {
		r = &m->ents[i].rec;
		snprintf(span, sizeof(span), "%" PRIu32 ":%" PRIu32,
		    r->block_begin, r->block_end);
		printf("  %-16.16s %-22s %-7s %12.1f %5.2f %-9s %" PRId64 "s\n",
		    r->peer_id, r->addr, span, r->throughput, r->load,
		    peer_state_name(r->state),
		    now > r->timestamp ? now - r->timestamp : 0);
	}
}

static void
models_status_json_run(void *arg, uint32_t a, uint32_t b, uint32_t n)
{
	json_t *o = arg;

	json_array_append_new(json_object_get(o, "coverage"),
	    json_pack("{s:I,s:I,s:I}", "begin", (json_int_t)a, "end",
	    (json_int_t)b, "replicas", (json_int_t)n));
	if (n == 0)
		json_array_append_new(json_object_get(o, "gaps"),
		    json_pack("{s:I,s:I}", "begin", (json_int_t)a, "end",
		    (json_int_t)b));
}

static json_t *
models_status_json(const struct models_status_model *m, int64_t now)
{
	json_t *o, *peers, *reps, *p;
	uint32_t b;
	size_t i;

	o = json_object();
	json_object_set_new(o, "model_id", json_string(m->model_id));
	json_object_set_new(o, "n_block", m->n_block != 0 ?
	    json_integer(m->n_block) : json_null());
	json_object_set_new(o, "complete",
	    json_boolean(models_status_complete(m)));
	reps = json_array();
	for (b = 0; b < m->span; b++)
		json_array_append_new(reps, json_integer(m->replicas[b]));
	json_object_set_new(o, "replicas", reps);
	json_object_set_new(o, "coverage", json_array());
	json_object_set_new(o, "gaps", json_array());
	models_status_runs(m, models_status_json_run, o);
	peers = json_array();
	for (i = 0; i < m->n; i++) {
		p = record_to_json(&m->ents[i].rec);
		json_object_set_new(p, "age_s", json_integer(now >
		    m->ents[i].rec.timestamp ? now - m->ents[i].rec.timestamp :
		    0));
		json_array_append_new(peers, p);
	}
	json_object_set_new(o, "peers", peers);
	return o;
}

/* The model id and block count of a GGUF file. */
static int
models_status_file(const char *path, char *id, uint32_t *n_block)
{
	struct gguf_file *f;
	char *cause = NULL;

	if ((f = gguf_open(path, &cause)) == NULL)
		return cmd_fail(cause);
	if (model_id_compute(f, id, MODEL_ID_MAX) != 0) {
		gguf_close(f);
		return cmd_error("cannot compute the model id of '%s'", path);
	}
	if (model_id_block_count(f, n_block) != 0)
		*n_block = 0;
	gguf_close(f);
	return EXIT_OK;
}

static int
models_status_exec(struct cmd_args *a)
{
	struct conf *c;
	struct dht *dht = NULL;
	struct directory *dir = NULL;
	struct directory_dht_entry *ents = NULL;
	struct models_status_model *models = NULL;
	char id[MODEL_ID_MAX], *cause = NULL, **vals, *const *peers;
	const char *arg, *network, *errstr, *want = NULL;
	uint32_t file_n_block = 0;
	size_t i, j, n = 0, nmodels = 0, npeers, len;
	int64_t now;
	int rc = EXIT_ERR, nv, timeout_ms = 5000;
	json_t *root, *list;
	struct strbuf sb;

	if ((c = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if (a->argc == 1) {
		arg = a->argv[0];
		/* A file by its name or existence; else it names an id. */
		len = strlen(arg);
		if (access(arg, F_OK) != 0 && model_id_valid(arg) &&
		    (len < 5 || strcmp(arg + len - 5, ".gguf") != 0))
			want = arg;
		else {
			if ((rc = models_status_file(arg, id,
			    &file_n_block)) != EXIT_OK)
				goto out;
			rc = EXIT_ERR;
			want = id;
		}
	}
	if ((arg = args_get(a, "timeout")) != NULL) {
		timeout_ms = (int)(parse_double(arg, 0.1, 600, &errstr) * 1000);
		if (errstr != NULL) {
			rc = cmd_usage_error(a, "timeout '%s' is %s", arg,
			    errstr);
			goto out;
		}
	}
	vals = args_get_all(a, "bootstrap", &nv);
	if (nv > 0) {
		strbuf_init(&sb);
		for (i = 0; i < (size_t)nv; i++)
			strbuf_addf(&sb, "%s%s", i > 0 ? "," : "", vals[i]);
		j = conf_set_flag(c, "swarm.bootstrap", sb.buf,
		    &cause);
		strbuf_release(&sb);
		if (j != 0) {
			rc = cmd_usage_error(a, "%s", cause);
			free(cause);
			goto out;
		}
	}
	if ((arg = args_get(a, "network")) != NULL &&
	    conf_set_flag(c, "swarm.network", arg, &cause) != 0) {
		rc = cmd_usage_error(a, "%s", cause);
		free(cause);
		goto out;
	}
	network = conf_get_str(c, "swarm.network");
	peers = conf_get_list(c, "swarm.bootstrap", &npeers);
	if (npeers == 0) {
		rc = cmd_usage_error(a, "no bootstrap peer: give --bootstrap "
		    "HOST:PORT or set swarm.bootstrap");
		goto out;
	}

	if ((dht = dht_new(NULL, 0, network, &cause)) == NULL) {
		rc = cmd_fail(cause);
		goto out;
	}
	if (directory_dht_bootstrap(dht, peers, npeers,
	    MODELS_STATUS_BOOTSTRAP_MS, &cause) == 0) {
		rc = cmd_fail(cause);
		goto out;
	}
	dir = directory_dht_new(dht, NULL);
	directory_dht_set_timeout(dir, timeout_ms);
	if (directory_dht_entries(dir, want, &ents, &n, &cause) != 0) {
		rc = cmd_fail(cause);
		goto out;
	}
	now = (int64_t)time(NULL);

	/* The list is sorted by model: cut it into models. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(ents[j].rec.model_id,
		    ents[i].rec.model_id) == 0; j++)
			;
		models = xreallocarray(models, nmodels + 1, sizeof(*models));
		memset(&models[nmodels], 0, sizeof(*models));
		models[nmodels].model_id = ents[i].rec.model_id;
		models[nmodels].ents = &ents[i];
		models[nmodels].n = j - i;
		models_status_count(&models[nmodels], file_n_block);
		nmodels++;
	}
	/* A model asked for by name is shown even when nobody serves it. */
	if (want != NULL && nmodels == 0) {
		models = xcalloc(1, sizeof(*models));
		models[0].model_id = want;
		models_status_count(&models[0], file_n_block);
		nmodels = 1;
	}

	if (args_flag(a, "json")) {
		root = json_object();
		json_object_set_new(root, "network", json_string(network));
		list = json_array();
		for (i = 0; i < nmodels; i++)
			json_array_append_new(list,
			    models_status_json(&models[i], now));
		json_object_set_new(root, "models", list);
		rc = cmd_print_json(root);
		goto out;
	}
	if (nmodels == 0)
		printf("no model is served in network '%s'\n", network);
	for (i = 0; i < nmodels; i++) {
		if (i > 0)
			putchar('\n');
		models_status_print(&models[i], now);
	}
	rc = EXIT_OK;
out:
	for (i = 0; i < nmodels; i++)
		free(models[i].replicas);
	free(models);
	free(ents);
	if (dir != NULL)
		dir->ops->free(dir);
	dht_free(dht);
	conf_free(c);
	return rc;
}

const struct cmd_entry cmd_models_status_entry = {
	.noun = "models", .verb = "status",
	.usage = "[--json] [-b host:port ...] [--network name] "
	    "[model-id | model.gguf]",
	.summary = "show which peers serve which blocks of each model",
	.opts = models_status_opts,
	.min_args = 0, .max_args = 1,
	.exec = models_status_exec,
};
