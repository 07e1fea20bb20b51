/*
 * The DHT directory: signed announcements in, verified fresh records out.
 * The signature covers "swarm-record-v1\n" and the value's JSON without its
 * "public_key" and "signature" members, dumped compact with sorted keys;
 * a reader re-dumps what it parsed the same way, so the bytes signed need
 * not travel twice. The public key must hash to the record's peer id, so a
 * node cannot speak for another, and a record found under one model's key
 * must name that model.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/dht.h"
#include "swarm/directory-dht.h"
#include "swarm/identity.h"
#include "swarm/record.h"
#include "util/hex.h"
#include "util/xmalloc.h"

#define DIRECTORY_DHT_DOMAIN	"swarm-record-v1\n"
/*
 * Announcements do not wait for storing nodes to acknowledge: with dead
 * nodes in the routing table a put takes seconds to settle, and waiting
 * would stretch the refresh interval past the readers' staleness limit.
 * The draining one does: the node exits right after it, and a put still
 * queued would die with the process.
 */
#define DIRECTORY_DHT_PUT_MS	0
#define DIRECTORY_DHT_LAST_PUT_MS 2000
#define DIRECTORY_DHT_RETRY_MS	500
#define DIRECTORY_DHT_N_BLOCK_MAX (1u << 20)
/* Clocks differ: tolerate records this far in the future. */
#define DIRECTORY_DHT_SKEW	300

struct directory_dht {
	struct directory	 dir;	/* first: the generic handle */
	struct dht		*dht;
	const struct identity	*id;
	uint32_t		 n_block;
	uint32_t		 refresh;
	int			 timeout_ms;
	pthread_mutex_t		 retry_lock;	/* announce runs on two threads */
	char			**retry;	/* bootstrap peers to try again */
	size_t			 nretry;
};

static void	directory_dht_clear_retry(struct directory_dht *);

static char *
directory_dht_payload(json_t *o)
{
	char *s, *msg;

	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL)
		abort();
	msg = xasprintf("%s%s", DIRECTORY_DHT_DOMAIN, s);
	free(s);
	return msg;
}

char *
directory_dht_encode(const struct peer_record *r, uint32_t n_block,
    uint32_t refresh, const struct identity *id)
{
	struct peer_record rec = *r;
	uint8_t sig[IDENTITY_SIG_LEN];
	char pk_hex[2 * IDENTITY_PK_LEN + 1], sig_hex[2 * IDENTITY_SIG_LEN + 1];
	char *msg, *s, *out;
	json_t *o;

	memcpy(rec.peer_id, id->peer_id, sizeof(rec.peer_id));
	o = record_to_json(&rec);
	if (o == NULL)
		abort();
	json_object_set_new(o, "n_block", json_integer(n_block));
	json_object_set_new(o, "refresh", json_integer(refresh));
	msg = directory_dht_payload(o);
	identity_sign(id, msg, strlen(msg), sig);
	free(msg);
	hex_encode(id->pk, sizeof(id->pk), pk_hex);
	hex_encode(sig, sizeof(sig), sig_hex);
	json_object_set_new(o, "public_key", json_string(pk_hex));
	json_object_set_new(o, "signature", json_string(sig_hex));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (s == NULL)
		abort();
	out = xstrdup(s);
	free(s);
	return out;
}

static int
directory_dht_get_u32(json_t *o, const char *key, uint32_t min, uint32_t max,
    uint32_t def, uint32_t *out, char **cause)
{
	json_t *v = json_object_get(o, key);
	json_int_t i;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return set_cause(cause, "record: '%s' is not an integer", key);
	i = json_integer_value(v);
	if (i < min || i > max)
		return set_cause(cause, "record: '%s' is out of range", key);
	*out = (uint32_t)i;
	return 0;
}

int
directory_dht_decode(const void *data, size_t len,
    struct directory_dht_entry *e, char **cause)
{
	json_error_t jerr;
	json_t *o, *v;
	uint8_t pk[IDENTITY_PK_LEN], sig[IDENTITY_SIG_LEN];
	char peer_id[PEER_ID_LEN + 1], *msg;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	if ((o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return set_cause(cause, "record: %s", jerr.text);
	if (!json_is_object(o)) {
		set_cause(cause, "record: not a JSON object");
		goto out;
	}
	v = json_object_get(o, "public_key");
	if (!json_is_string(v) ||
	    hex_decode(json_string_value(v), pk, sizeof(pk)) != 0) {
		set_cause(cause, "record: 'public_key' is malformed");
		goto out;
	}
	v = json_object_get(o, "signature");
	if (!json_is_string(v) ||
	    hex_decode(json_string_value(v), sig, sizeof(sig)) != 0) {
		set_cause(cause, "record: 'signature' is malformed");
		goto out;
	}
	json_object_del(o, "public_key");
	json_object_del(o, "signature");
	msg = directory_dht_payload(o);
	rc = identity_verify(pk, msg, strlen(msg), sig);
	free(msg);
	if (rc != 0) {
		set_cause(cause, "record: bad signature");
		goto out;
	}
	rc = -1;
	if (record_from_json(o, &e->rec, cause) != 0)
		goto out;
	identity_peer_id(pk, peer_id);
	if (strcmp(peer_id, e->rec.peer_id) != 0) {
		set_cause(cause, "record: 'peer_id' is not its key's");
		goto out;
	}
	if (directory_dht_get_u32(o, "n_block", 0, DIRECTORY_DHT_N_BLOCK_MAX,
	    0, &e->n_block, cause) != 0 ||
	    directory_dht_get_u32(o, "refresh", 1, DIRECTORY_DHT_REFRESH_MAX,
	    DIRECTORY_DHT_REFRESH, &e->refresh, cause) != 0)
		goto out;
	if (e->n_block != 0 && e->rec.block_end > e->n_block) {
		set_cause(cause, "record: span %u:%u past the model's %u blocks",
		    e->rec.block_begin, e->rec.block_end, e->n_block);
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static int
directory_dht_cmp(const void *a, const void *b)
{
	const struct peer_record *x = &((const struct directory_dht_entry *)a)->rec;
	const struct peer_record *y = &((const struct directory_dht_entry *)b)->rec;
	int c;

	if ((c = strcmp(x->model_id, y->model_id)) != 0)
		return c;
	if (x->block_begin != y->block_begin)
		return x->block_begin < y->block_begin ? -1 : 1;
	if (x->block_end != y->block_end)
		return x->block_end < y->block_end ? -1 : 1;
	return strcmp(x->peer_id, y->peer_id);
}

int
directory_dht_entries(struct directory *dir, const char *model_id,
    struct directory_dht_entry **out, size_t *n, char **cause)
{
	struct directory_dht *d = (struct directory_dht *)dir;
	struct directory_dht_entry e, *list = NULL;
	struct dht_values vals;
	char *key;
	size_t i, j, count = 0;
	int64_t now = (int64_t)time(NULL);
	int rc;

	*out = NULL;
	*n = 0;
	key = model_id != NULL ? xasprintf("model/%s", model_id) :
	    xstrdup("models");
	rc = dht_get(d->dht, key, d->timeout_ms, &vals, cause);
	free(key);
	if (rc != 0)
		return -1;
	for (i = 0; i < vals.n; i++) {
		if (directory_dht_decode(vals.data[i], vals.len[i], &e,
		    NULL) != 0)
			continue;
		if (model_id != NULL && strcmp(e.rec.model_id, model_id) != 0)
			continue;
		if (e.rec.timestamp > now + DIRECTORY_DHT_SKEW ||
		    now - e.rec.timestamp >
		    (int64_t)e.refresh * DIRECTORY_DHT_STALE_MULT)
			continue;
		/*
		 * The newest per node: peer, address and model. One key may
		 * run several nodes (processes sharing a data directory).
		 */
		for (j = 0; j < count; j++) {
			if (strcmp(list[j].rec.peer_id, e.rec.peer_id) == 0 &&
			    strcmp(list[j].rec.addr, e.rec.addr) == 0 &&
			    strcmp(list[j].rec.model_id, e.rec.model_id) == 0)
				break;
		}
		/* Within one second, the later state: gone after draining. */
		if (j < count) {
			if (e.rec.timestamp > list[j].rec.timestamp ||
			    (e.rec.timestamp == list[j].rec.timestamp &&
			    e.rec.state >= list[j].rec.state))
				list[j] = e;
			continue;
		}
		list = xreallocarray(list, count + 1, sizeof(*list));
		list[count++] = e;
	}
	dht_values_release(&vals);
	/* A node whose newest record says it left is not listed at all. */
	for (i = j = 0; i < count; i++)
		if (list[i].rec.state != PEER_STATE_GONE)
			list[j++] = list[i];
	count = j;
	if (count > 0)
		qsort(list, count, sizeof(*list), directory_dht_cmp);
	*out = list;
	*n = count;
	return 0;
}

static int
directory_dht_lookup(struct directory *dir, const char *model_id,
    struct peer_record **out, size_t *n, char **cause)
{
	struct directory_dht_entry *list;
	struct peer_record *recs;
	size_t i, count;

	*out = NULL;
	*n = 0;
	if (directory_dht_entries(dir, model_id, &list, &count, cause) != 0)
		return -1;
	recs = xreallocarray(NULL, count > 0 ? count : 1, sizeof(*recs));
	for (i = 0; i < count; i++)
		recs[i] = list[i].rec;
	free(list);
	*out = recs;
	*n = count;
	return 0;
}

static int
directory_dht_announce(struct directory *dir, const struct peer_record *r,
    char **cause)
{
	struct directory_dht *d = (struct directory_dht *)dir;
	struct peer_record rec = *r;
	char *value, *key;
	int rc, wait_ms;

	if (d->id == NULL)
		return set_cause(cause, "cannot announce without an identity");
	if (rec.timestamp == 0)
		rec.timestamp = (int64_t)time(NULL);
	pthread_mutex_lock(&d->retry_lock);
	if (d->nretry > 0 && directory_dht_bootstrap(d->dht, d->retry,
	    d->nretry, DIRECTORY_DHT_RETRY_MS, NULL) > 0)
		directory_dht_clear_retry(d);
	pthread_mutex_unlock(&d->retry_lock);
	value = directory_dht_encode(&rec, d->n_block, d->refresh, d->id);
	key = xasprintf("model/%s", rec.model_id);
	wait_ms = rec.state == PEER_STATE_DRAINING ||
	    rec.state == PEER_STATE_GONE ? DIRECTORY_DHT_LAST_PUT_MS :
	    DIRECTORY_DHT_PUT_MS;
	rc = dht_put(d->dht, key, value, strlen(value), wait_ms, cause);
	if (rc == 0)
		rc = dht_put(d->dht, "models", value, strlen(value), wait_ms,
		    cause);
	free(key);
	free(value);
	return rc;
}

static void
directory_dht_clear_retry(struct directory_dht *d)
{
	size_t i;

	for (i = 0; i < d->nretry; i++)
		free(d->retry[i]);
	free(d->retry);
	d->retry = NULL;
	d->nretry = 0;
}

void
directory_dht_set_retry(struct directory *dir, char *const *peers, size_t n)
{
	struct directory_dht *d = (struct directory_dht *)dir;
	size_t i;

	pthread_mutex_lock(&d->retry_lock);
	directory_dht_clear_retry(d);
	if (n > 0) {
		d->retry = xreallocarray(NULL, n, sizeof(*d->retry));
		for (i = 0; i < n; i++)
			d->retry[i] = xstrdup(peers[i]);
		d->nretry = n;
	}
	pthread_mutex_unlock(&d->retry_lock);
}

static void
directory_dht_free(struct directory *dir)
{
	struct directory_dht *d = (struct directory_dht *)dir;

	directory_dht_clear_retry(d);
	pthread_mutex_destroy(&d->retry_lock);
	free(d);
}

static const struct directory_ops directory_dht_ops = {
	.lookup = directory_dht_lookup,
	.announce = directory_dht_announce,
	.free = directory_dht_free,
};

struct directory *
directory_dht_new(struct dht *dht, const struct identity *id)
{
	struct directory_dht *d;

	d = xcalloc(1, sizeof(*d));
	d->dir.ops = &directory_dht_ops;
	pthread_mutex_init(&d->retry_lock, NULL);
	d->dht = dht;
	d->id = id;
	d->refresh = DIRECTORY_DHT_REFRESH;
	d->timeout_ms = 5000;
	return &d->dir;
}

void
directory_dht_set_model(struct directory *dir, uint32_t n_block,
    uint32_t refresh)
{
	struct directory_dht *d = (struct directory_dht *)dir;

	d->n_block = n_block;
	if (refresh >= 1 && refresh <= DIRECTORY_DHT_REFRESH_MAX)
		d->refresh = refresh;
}

void
directory_dht_set_timeout(struct directory *dir, int timeout_ms)
{
	((struct directory_dht *)dir)->timeout_ms = timeout_ms;
}

size_t
directory_dht_bootstrap(struct dht *dht, char *const *peers, size_t n,
    int timeout_ms, char **cause)
{
	char *first = NULL, *c;
	size_t i, ok = 0;

	for (i = 0; i < n; i++) {
		c = NULL;
		if (dht_bootstrap(dht, peers[i], timeout_ms, &c) == 0)
			ok++;
		else if (first == NULL)
			first = c;
		else
			free(c);
	}
	if (ok == 0) {
		if (first == NULL)
			first = xstrdup("no bootstrap peer given");
		if (cause != NULL)
			*cause = first;
		else
			free(first);
	} else
		free(first);
	return ok;
}

int
directory_dht_join(const char *network, const char *bind_host, uint16_t port,
    char *const *peers, size_t n, int tries, int timeout_ms, struct dht **dht,
    char **cause)
{
	char *c = NULL;
	size_t joined = 0;
	int i;

	if ((*dht = dht_new(bind_host, port, network, cause)) == NULL)
		return -1;
	for (i = 0; i < tries && joined == 0; i++) {
		free(c);
		c = NULL;
		joined = directory_dht_bootstrap(*dht, peers, n, timeout_ms, &c);
	}
	if (joined > 0)
		return 0;
	if (cause != NULL)
		*cause = c;
	else
		free(c);
	return 1;
}
