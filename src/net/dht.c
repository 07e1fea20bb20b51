/*
 * The DHT wrapper over OpenDHT's C binding. OpenDHT runs its own threads and
 * calls back on them; each get or put here is an operation record that the
 * callbacks fill under the wrapper's lock while the caller waits on a
 * condition variable with a deadline. A caller that gives up leaves its
 * record behind, marked abandoned: the late callback frees it, or dht_free
 * does once the runner (and so every callback) has stopped. Callbacks only
 * copy bytes and signal; they never block.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opendht/opendht_c.h>

#include "net/dht-bind.h"
#include "net/dht.h"
#include "util/parse.h"
#include "util/xmalloc.h"

struct dht_op {
	struct dht	*dht;
	int		 done;
	int		 ok;
	int		 abandoned;
	struct dht_values vals;
	uint64_t	*ids;		/* value ids seen, to drop repeats */
	struct dht_op	*next;
};

struct dht {
	dht_runner	*runner;
	char		*network;
	uint16_t	 port;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct dht_op	*ops;		/* in flight or abandoned */
};

static uint32_t
dht_network_id(const char *network)
{
	dht_infohash h;
	uint32_t id;

	if (network == NULL || *network == '\0')
		return 0;
	dht_infohash_get_from_string(&h, network);
	memcpy(&id, h.d, sizeof(id));
	/* 0 is OpenDHT's default network: keep named ones off it. */
	return id != 0 ? id : 1;
}

/*
 * Starts the runner on bind_host only, when it is given and is not a
 * wildcard; else (clients) on every interface, as the C binding does.
 */
static int
dht_run(struct dht *d, const char *bind_host, uint16_t port,
    const char *network, char **cause)
{
	struct addrinfo hints, *ai = NULL;
	dht_runner_config cfg;
	char portstr[8], err[256];
	int rc;

	if (bind_host == NULL || *bind_host == '\0' ||
	    strcmp(bind_host, "0.0.0.0") == 0 || strcmp(bind_host, "::") == 0) {
		dht_runner_config_default(&cfg);
		cfg.threaded = true;
		cfg.peer_discovery = false;	/* multicast: not on loopback */
		cfg.peer_publish = false;
		cfg.log = false;
		cfg.dht_config.node_config.network = dht_network_id(network);
		/* Re-replicate stored values when storing nodes leave. */
		cfg.dht_config.node_config.maintain_storage = true;
		if ((rc = dht_runner_run_config(d->runner, port, &cfg)) != 0)
			return set_cause(cause, "cannot start the dht on udp "
			    "port %u: %s", (unsigned)port,
			    strerror(rc < 0 ? -rc : rc));
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	if ((rc = getaddrinfo(bind_host, portstr, &hints, &ai)) != 0)
		return set_cause(cause, "cannot resolve '%s': %s", bind_host,
		    gai_strerror(rc));
	rc = dht_bind_run(d->runner, ai->ai_addr, ai->ai_addrlen,
	    dht_network_id(network), 1, err, sizeof(err));
	freeaddrinfo(ai);
	if (rc != 0)
		return set_cause(cause, "cannot start the dht on udp %s:%u: %s",
		    bind_host, (unsigned)port, err);
	return 0;
}

struct dht *
dht_new(const char *bind_host, uint16_t port, const char *network,
    char **cause)
{
	struct dht *d;

	d = xcalloc(1, sizeof(*d));
	d->network = xstrdup(network != NULL ? network : "");
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->runner = dht_runner_new();
	if (d->runner == NULL) {
		set_cause(cause, "cannot create the dht runner");
		goto fail;
	}
	if (dht_run(d, bind_host, port, network, cause) != 0)
		goto fail;
	d->port = dht_runner_get_bound_port(d->runner, AF_INET);
	if (d->port == 0)
		d->port = dht_runner_get_bound_port(d->runner, AF_INET6);
	if (d->port == 0) {
		/* OpenDHT only logs a failed bind; this is what shows. */
		set_cause(cause, "cannot start the dht on udp port %u: "
		    "the port is in use or cannot be bound", (unsigned)port);
		goto fail;
	}
	return d;
fail:
	dht_free(d);
	return NULL;
}

static void
dht_op_free(struct dht_op *op)
{
	dht_values_release(&op->vals);
	free(op->ids);
	free(op);
}

void
dht_free(struct dht *d)
{
	struct dht_op *op, *next;

	if (d == NULL)
		return;
	/* Deleting the runner joins its threads: no callback runs after. */
	if (d->runner != NULL)
		dht_runner_delete(d->runner);
	for (op = d->ops; op != NULL; op = next) {
		next = op->next;
		dht_op_free(op);
	}
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d->network);
	free(d);
}

uint16_t
dht_port(const struct dht *d)
{
	return d->port;
}

const char *
dht_network(const struct dht *d)
{
	return d->network;
}

/* The infohash of "<network>/<key>". */
static void
dht_key_hash(const struct dht *d, const char *key, dht_infohash *h)
{
	char *s;

	s = xasprintf("%s/%s", d->network, key);
	dht_infohash_get_from_string(h, s);
	free(s);
}

static struct dht_op *
dht_op_new(struct dht *d)
{
	struct dht_op *op;

	op = xcalloc(1, sizeof(*op));
	op->dht = d;
	pthread_mutex_lock(&d->lock);
	op->next = d->ops;
	d->ops = op;
	pthread_mutex_unlock(&d->lock);
	return op;
}

/* With the lock held. */
static void
dht_op_unlink(struct dht *d, struct dht_op *op)
{
	struct dht_op **pp;

	for (pp = &d->ops; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == op) {
			*pp = op->next;
			return;
		}
	}
}

static bool
dht_get_value_cb(const dht_value *v, void *arg)
{
	struct dht_op *op = arg;
	struct dht *d = op->dht;
	dht_data_view view;
	dht_value_id id;
	size_t i, n;

	view = dht_value_get_data(v);
	id = dht_value_get_id(v);
	pthread_mutex_lock(&d->lock);
	n = op->vals.n;
	if (op->abandoned || n >= DHT_GET_MAX || view.size > DHT_VALUE_MAX)
		goto out;
	for (i = 0; i < n; i++) {
		if (op->ids[i] == id)
			goto out;
	}
	op->vals.data = xreallocarray(op->vals.data, n + 1, sizeof(uint8_t *));
	op->vals.len = xreallocarray(op->vals.len, n + 1, sizeof(size_t));
	op->ids = xreallocarray(op->ids, n + 1, sizeof(uint64_t));
	op->vals.data[n] = xmalloc(view.size + 1);
	memcpy(op->vals.data[n], view.data, view.size);
	op->vals.data[n][view.size] = '\0';	/* text values: handy */
	op->vals.len[n] = view.size;
	op->ids[n] = id;
	op->vals.n = n + 1;
out:
	pthread_mutex_unlock(&d->lock);
	return true;
}

static void
dht_op_done_cb(bool ok, void *arg)
{
	struct dht_op *op = arg;
	struct dht *d = op->dht;

	pthread_mutex_lock(&d->lock);
	op->done = 1;
	op->ok = ok;
	if (op->abandoned) {
		dht_op_unlink(d, op);
		dht_op_free(op);
	} else
		pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/*
 * Waits for op to finish or the deadline. Returns 1 when it finished (op
 * unlinked, the caller frees it), 0 on timeout (op abandoned, not the
 * caller's any more; *vals gets what it had).
 */
static int
dht_op_wait(struct dht *d, struct dht_op *op, int timeout_ms,
    struct dht_values *vals)
{
	struct timespec ts;
	int done;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	while (!op->done) {
		if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) == ETIMEDOUT)
			break;
	}
	done = op->done;
	if (vals != NULL) {
		*vals = op->vals;
		memset(&op->vals, 0, sizeof(op->vals));
		free(op->ids);
		op->ids = NULL;
	}
	if (done)
		dht_op_unlink(d, op);
	else
		op->abandoned = 1;
	pthread_mutex_unlock(&d->lock);
	return done;
}

int
dht_bootstrap(struct dht *d, const char *hostport, int timeout_ms,
    char **cause)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct dht_op **ops = NULL;
	const char *colon, *errstr;
	char *host;
	char service[8];
	uint64_t port;
	size_t i, n = 0;
	int rc, ok = 0;

	if (hostport[0] == '[') {
		colon = strchr(hostport, ']');
		if (colon == NULL || colon[1] != ':')
			goto bad;
		host = xstrndup(hostport + 1, colon - hostport - 1);
		colon++;
	} else {
		colon = strrchr(hostport, ':');
		if (colon == NULL || colon == hostport)
			goto bad;
		host = xstrndup(hostport, colon - hostport);
	}
	port = parse_uint(colon + 1, 1, 65535, &errstr);
	if (errstr != NULL) {
		free(host);
		return set_cause(cause, "invalid bootstrap address '%s': "
		    "port %s", hostport, errstr);
	}
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		set_cause(cause, "cannot resolve '%s': %s", hostport,
		    gai_strerror(rc));
		goto out;
	}
	/*
	 * Ping first: OpenDHT stalls every operation for seconds on a dead
	 * bootstrap node, so only nodes that answer are handed to it.
	 */
	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	ops = xcalloc(n, sizeof(*ops));
	for (ai = res, i = 0; ai != NULL; ai = ai->ai_next, i++) {
		ops[i] = dht_op_new(d);
		dht_runner_ping(d->runner, ai->ai_addr, ai->ai_addrlen,
		    dht_op_done_cb, ops[i]);
	}
	for (i = 0; i < n; i++) {
		/* The deadline is shared: later waits are short. */
		if (dht_op_wait(d, ops[i], i == 0 ? timeout_ms : 1, NULL)) {
			ok |= ops[i]->ok;
			dht_op_free(ops[i]);
		}
	}
	if (!ok) {
		set_cause(cause, "bootstrap peer '%s' does not answer",
		    hostport);
		goto out;
	}
	dht_runner_bootstrap(d->runner, host, service);
out:
	free(ops);
	if (res != NULL)
		freeaddrinfo(res);
	free(host);
	return ok ? 0 : -1;
bad:
	return set_cause(cause, "invalid bootstrap address '%s': "
	    "want host:port", hostport);
}

int
dht_put(struct dht *d, const char *key, const void *data, size_t len,
    int timeout_ms, char **cause)
{
	dht_infohash h;
	dht_value *v;
	struct dht_op *op;

	if (len > DHT_VALUE_MAX)
		return set_cause(cause, "dht value for '%s' too large: %zu "
		    "bytes, at most %d", key, len, DHT_VALUE_MAX);
	dht_key_hash(d, key, &h);
	v = dht_value_new(data, len);
	if (v == NULL)
		return set_cause(cause, "cannot make a dht value for '%s'", key);
	op = dht_op_new(d);
	dht_runner_put(d->runner, &h, v, dht_op_done_cb, op, false);
	dht_value_unref(v);
	if (dht_op_wait(d, op, timeout_ms, NULL))
		dht_op_free(op);
	/*
	 * Not acknowledged (nobody else yet, or slow peers) is no failure:
	 * the value is stored locally and the runner keeps trying.
	 */
	return 0;
}

int
dht_get(struct dht *d, const char *key, int timeout_ms,
    struct dht_values *out, char **cause)
{
	dht_infohash h;
	struct dht_op *op;

	memset(out, 0, sizeof(*out));
	dht_key_hash(d, key, &h);
	op = dht_op_new(d);
	dht_runner_get(d->runner, &h, dht_get_value_cb, dht_op_done_cb, op);
	if (dht_op_wait(d, op, timeout_ms, out))
		dht_op_free(op);
	return 0;
}

void
dht_values_release(struct dht_values *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->data[i]);
	free(v->data);
	free(v->len);
	memset(v, 0, sizeof(*v));
}
