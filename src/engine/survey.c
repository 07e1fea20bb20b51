/*
 * The swarm's coverage, read from the DHT (survey.h).
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/gguf.h"
#include "engine/survey.h"
#include "net/dht.h"
#include "net/http-client.h"
#include "shard/store.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static void
survey_count(struct survey_model *m, uint32_t file_n_block)
{
	uint32_t b;
	size_t i;

	m->n_block = file_n_block;
	for (i = 0; i < m->n; i++)
		if (m->n_block == 0 && m->ents[i].n_block != 0)
			m->n_block = m->ents[i].n_block;
	m->span = m->n_block;
	for (i = 0; i < m->n; i++)
		if (m->ents[i].rec.block_end > m->span)
			m->span = m->ents[i].rec.block_end;
	m->replicas = xcalloc(m->span > 0 ? m->span : 1, sizeof(uint32_t));
	for (i = 0; i < m->n; i++) {
		if (m->ents[i].rec.state == PEER_STATE_DRAINING ||
		    m->ents[i].rec.state == PEER_STATE_UNREACHABLE)
			continue;
		for (b = m->ents[i].rec.block_begin;
		    b < m->ents[i].rec.block_end && b < m->span; b++)
			m->replicas[b]++;
	}
	m->complete = m->n_block != 0;
	for (b = 0; b < m->n_block; b++)
		if (m->replicas[b] == 0)
			m->complete = 0;
}

/* The entries are sorted by model: cut them into models. */
static void
survey_cut(struct survey *s, const char *want, uint32_t file_n_block)
{
	struct survey_model *m;
	size_t i, j;

	for (i = 0; i < s->n_ents; i = j) {
		for (j = i + 1; j < s->n_ents && strcmp(s->ents[j].rec.model_id,
		    s->ents[i].rec.model_id) == 0; j++)
			;
		s->models = xreallocarray(s->models, s->n_models + 1,
		    sizeof(*s->models));
		m = &s->models[s->n_models++];
		memset(m, 0, sizeof(*m));
		m->model_id = s->ents[i].rec.model_id;
		m->ents = &s->ents[i];
		m->n = j - i;
		survey_count(m, file_n_block);
	}
	/* A model asked for by name is shown even when nobody serves it. */
	if (want != NULL && s->n_models == 0) {
		s->models = xcalloc(1, sizeof(*s->models));
		s->models[0].model_id = want;
		survey_count(&s->models[0], file_n_block);
		s->n_models = 1;
	}
}

/* One peer's probe: does it answer GET /info? */
static void *
survey_probe_one(void *arg)
{
	struct directory_dht_entry *e = arg;
	struct http_client *hc;
	struct strbuf body = STRBUF_INIT;
	long status = 0;

	if ((hc = http_client_new(e->rec.addr, SURVEY_PROBE_SECONDS)) == NULL ||
	    http_client_request(hc, "GET", "/info", NULL, NULL, 0, NULL,
	    SURVEY_PROBE_SECONDS, 1 << 20, &status, &body, NULL) != 0 ||
	    status != 200)
		e->rec.state = PEER_STATE_UNREACHABLE;
	strbuf_release(&body);
	http_client_free(hc);
	return NULL;
}

/*
 * Asks every announced peer at once, with a short timeout, whether it
 * answers: a node killed since its last announcement shows as unreachable
 * (and serves nothing) at once, not when its record goes stale.
 */
static void
survey_probe(struct survey *s)
{
	pthread_t *t = xcalloc(s->n_ents ? s->n_ents : 1, sizeof(*t));
	char *started = xcalloc(s->n_ents ? s->n_ents : 1, 1);
	size_t i;

	for (i = 0; i < s->n_ents; i++) {
		if (s->ents[i].rec.state == PEER_STATE_DRAINING)
			continue;
		started[i] = pthread_create(&t[i], NULL, survey_probe_one,
		    &s->ents[i]) == 0;
		if (!started[i])
			survey_probe_one(&s->ents[i]);
	}
	for (i = 0; i < s->n_ents; i++)
		if (started[i])
			pthread_join(t[i], NULL);
	free(started);
	free(t);
}

int
survey_swarm(const char *network, char *const *bootstrap, size_t n,
    int timeout_ms, const char *want, uint32_t file_n_block,
    struct survey *s, char **cause)
{
	struct dht *dht = NULL;
	struct directory *dir = NULL;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (directory_dht_join(network, NULL, 0, bootstrap, n, 1,
	    SURVEY_BOOTSTRAP_MS, &dht, cause) != 0)
		goto out;
	dir = directory_dht_new(dht, NULL);
	directory_dht_set_timeout(dir, timeout_ms);
	if (directory_dht_entries(dir, want, &s->ents, &s->n_ents, cause) !=
	    0)
		goto out;
	survey_probe(s);
	survey_cut(s, want, file_n_block);
	rc = 0;
out:
	if (dir != NULL)
		dir->ops->free(dir);
	dht_free(dht);
	return rc;
}

void
survey_release(struct survey *s)
{
	size_t i;

	for (i = 0; i < s->n_models; i++)
		free(s->models[i].replicas);
	free(s->models);
	free(s->ents);
	memset(s, 0, sizeof(*s));
}

void
survey_runs(const struct survey_model *m,
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

int
survey_model_file(const char *path, char *id, uint32_t *n_block,
    char **cause)
{
	struct gguf_file *f;

	if ((f = gguf_open(path, cause)) == NULL)
		return -1;
	if (store_model_id(path, 1, id, MODEL_ID_MAX, cause) != 0) {
		gguf_close(f);
		return -1;
	}
	if (model_id_block_count(f, n_block) != 0)
		*n_block = 0;
	gguf_close(f);
	return 0;
}

static void
survey_json_run(void *arg, uint32_t a, uint32_t b, uint32_t n)
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
survey_model_json(const struct survey_model *m, int64_t now)
{
	json_t *o, *peers, *reps, *p;
	uint32_t b;
	size_t i;

	o = json_object();
	json_object_set_new(o, "model_id", json_string(m->model_id));
	json_object_set_new(o, "n_block", m->n_block != 0 ?
	    json_integer(m->n_block) : json_null());
	json_object_set_new(o, "complete",
	    json_boolean(m->complete));
	reps = json_array();
	for (b = 0; b < m->span; b++)
		json_array_append_new(reps, json_integer(m->replicas[b]));
	json_object_set_new(o, "replicas", reps);
	json_object_set_new(o, "coverage", json_array());
	json_object_set_new(o, "gaps", json_array());
	survey_runs(m, survey_json_run, o);
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

json_t *
survey_json(const struct survey *s, const char *network, int64_t now)
{
	json_t *root = json_object(), *list = json_array();
	size_t i;

	json_object_set_new(root, "network", json_string(network));
	for (i = 0; i < s->n_models; i++)
		json_array_append_new(list, survey_model_json(&s->models[i],
		    now));
	json_object_set_new(root, "models", list);
	return root;
}
