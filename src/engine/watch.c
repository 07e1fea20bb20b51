/*
 * The swarm's peers asked for their status, all at once (watch.h).
 *
 * The caller's thread owns the targets and the multi handle; the discovery
 * thread only hands over the DHT's latest entries under w->mu, which the
 * caller merges into the targets when a round starts.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/survey.h"
#include "engine/watch.h"
#include "net/dht.h"
#include "swarm/directory-dht.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* Seconds to gather answers before reading them (see watch_run). */
#define WATCH_COALESCE	0.004

struct watch_target {
	char			*addr;
	char			*url_status;	/* GET /status: no session list */
	char			*url_info;	/* GET /info: everything */
	int			 old_node;	/* without /status: ask /info */
	int			 detail;	/* shown in detail: ask /info */
	int			 asked_info;
	int			 gateway;	/* asked GET /metrics */
	char			*url_metrics;
	CURL			*easy;
	struct strbuf		 body;
	int			 too_long;
	int			 running;
	int			 seen;		/* in the latest discovery */
	struct watch_answer	 answer;
	struct json_t		*doc;
	char			 error[CURL_ERROR_SIZE];
};

struct watch {
	struct watch_config	 cfg;
	CURLM			*multi;
	struct watch_target	**targets;
	size_t			 n_targets;
	struct watch_answer	*answers;
	char			*detail;	/* the address asked for /info */
	size_t			 n_answers;
	size_t			 running;
	int			 in_round;
	double			 next_round;

	/* Discovery, shared with its thread. */
	pthread_t		 thread;
	int			 thread_running;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cond;
	int			 stopping;
	struct directory_dht_entry *ents;	/* the latest, or NULL */
	size_t			 n_ents;
	int			 ents_new;
	int			 disc_done;	/* discovery was tried once */
	char			*disc_error;
	char			*disc_error_copy;	/* the caller's */
};

static size_t
watch_write(char *data, size_t size, size_t n, void *arg)
{
	struct watch_target *t = arg;

	if (t->body.len + n > WATCH_MAX_DOCUMENT) {
		t->too_long = 1;
		return 0;
	}
	strbuf_add(&t->body, data, n);
	return n;
}

static struct watch_target *
watch_target_new(struct watch *w, const char *addr)
{
	struct watch_target *t;
	long timeout_ms = (long)(w->cfg.timeout * 1000);
	CURL *easy;

	if ((easy = curl_easy_init()) == NULL)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->easy = easy;
	t->addr = xstrdup(addr);
	t->url_status = xasprintf("http://%s/status", addr);
	t->url_info = xasprintf("http://%s/info", addr);
	t->url_metrics = xasprintf("http://%s/metrics", addr);
	t->detail = w->detail != NULL && strcmp(w->detail, addr) == 0;
	strbuf_init(&t->body);
	/* Set once: the handle keeps its connection from round to round. */
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(t->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	t->answer.addr = t->addr;
	t->answer.error = "not asked yet";
	w->targets = xreallocarray(w->targets, w->n_targets + 1,
	    sizeof(*w->targets));
	w->targets[w->n_targets++] = t;
	return t;
}

static void
watch_target_free(struct watch *w, struct watch_target *t)
{
	if (t->running)
		curl_multi_remove_handle(w->multi, t->easy);
	curl_easy_cleanup(t->easy);
	json_decref(t->doc);
	strbuf_release(&t->body);
	free(t->url_status);
	free(t->url_info);
	free(t->url_metrics);
	free(t->addr);
	free(t);
}

static struct watch_target *
watch_find(struct watch *w, const char *addr)
{
	size_t i;

	for (i = 0; i < w->n_targets; i++)
		if (!w->targets[i]->gateway &&
		    strcmp(w->targets[i]->addr, addr) == 0)
			return w->targets[i];
	return NULL;
}

/* --- discovery ------------------------------------------------------------ */

static void
watch_disc_set(struct watch *w, struct directory_dht_entry *ents, size_t n,
    char *error)
{
	pthread_mutex_lock(&w->mu);
	if (ents != NULL || error == NULL) {
		free(w->ents);
		w->ents = ents;
		w->n_ents = n;
		w->ents_new = 1;
	}
	free(w->disc_error);
	w->disc_error = error;
	w->disc_done = 1;
	pthread_mutex_unlock(&w->mu);
	/* A round waits for the first discovery. */
	curl_multi_wakeup(w->multi);
}

/* Sleeps until the next discovery; 1 when the watch is stopping. */
static int
watch_disc_sleep(struct watch *w, double seconds)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)seconds;
	pthread_mutex_lock(&w->mu);
	while (!w->stopping && pthread_cond_timedwait(&w->cond, &w->mu,
	    &ts) != ETIMEDOUT)
		;
	stop = w->stopping;
	pthread_mutex_unlock(&w->mu);
	return stop;
}

static void *
watch_disc_main(void *arg)
{
	struct watch *w = arg;
	struct dht *dht = NULL;
	struct directory *dir = NULL;
	struct directory_dht_entry *ents;
	char *cause = NULL;
	size_t n;

	do {
		if (dir == NULL) {
			/* Bootstrap until a peer answers. */
			dht_free(dht);
			if (directory_dht_join(w->cfg.network, NULL, 0,
			    w->cfg.bootstrap, w->cfg.n_bootstrap, 1,
			    SURVEY_BOOTSTRAP_MS, &dht, &cause) != 0) {
				watch_disc_set(w, NULL, 0, cause);
				cause = NULL;
				continue;
			}
			dir = directory_dht_new(dht, NULL);
			directory_dht_set_timeout(dir, SURVEY_BOOTSTRAP_MS);
		}
		if (directory_dht_entries(dir, NULL, &ents, &n, &cause) != 0) {
			watch_disc_set(w, NULL, 0, cause);
			cause = NULL;
			continue;
		}
		if (n > WATCH_MAX_PEERS)
			n = WATCH_MAX_PEERS;
		watch_disc_set(w, ents, n, NULL);
	} while (!watch_disc_sleep(w, WATCH_DISCOVER_SECONDS));
	if (dir != NULL)
		dir->ops->free(dir);
	dht_free(dht);
	return NULL;
}

/*
 * The DHT's latest entries become the targets: new addresses are added,
 * and those no longer announced (stale, or gone) are dropped.
 */
static void
watch_merge(struct watch *w)
{
	struct directory_dht_entry *ents;
	struct watch_target *t;
	size_t i, j, n;

	pthread_mutex_lock(&w->mu);
	ents = w->ents_new ? w->ents : NULL;
	n = w->n_ents;
	w->ents = NULL;
	w->ents_new = 0;
	pthread_mutex_unlock(&w->mu);
	if (ents == NULL)
		return;
	for (i = 0; i < w->n_targets; i++)
		w->targets[i]->seen = 0;
	for (i = 0; i < n; i++) {
		if ((t = watch_find(w, ents[i].rec.addr)) == NULL &&
		    (t = watch_target_new(w, ents[i].rec.addr)) == NULL)
			continue;
		t->seen = 1;
		t->answer.listed = 1;
		t->answer.announced = 1;
		t->answer.rec = ents[i].rec;
		t->answer.n_block = ents[i].n_block;
	}
	free(ents);
	for (i = j = 0; i < w->n_targets; i++) {
		t = w->targets[i];
		if (t->seen || t->answer.local || t->gateway) {
			t->answer.listed = t->seen;
			w->targets[j++] = t;
		} else
			watch_target_free(w, t);
	}
	w->n_targets = j;
}

/* --- rounds --------------------------------------------------------------- */

/* One request: /status, or /info from a node without it or in detail. */
static int
watch_ask(struct watch *w, struct watch_target *t)
{
	strbuf_reset(&t->body);
	t->too_long = 0;
	t->error[0] = '\0';
	t->asked_info = t->old_node || t->detail;
	curl_easy_setopt(t->easy, CURLOPT_URL, t->gateway ? t->url_metrics :
	    t->asked_info ? t->url_info : t->url_status);
	return curl_multi_add_handle(w->multi, t->easy) == CURLM_OK ? 0 : -1;
}

static void
watch_start_round(struct watch *w)
{
	struct watch_target *t;
	size_t i;

	if (w->thread_running)
		watch_merge(w);
	/*
	 * Keep every peer's connection between rounds: by default libcurl
	 * keeps four per handle still added, so the connections of the
	 * round's last answers would be closed and opened again.
	 */
	curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS,
	    (long)w->n_targets + 4);
	for (i = 0; i < w->n_targets; i++) {
		t = w->targets[i];
		if (watch_ask(w, t) == 0) {
			t->running = 1;
			w->running++;
		}
	}
	w->in_round = 1;
	w->next_round = clock_now() + w->cfg.interval;
}

/* A transfer's end; 1 when it is to be asked again at /info. */
static int
watch_finish(struct watch_target *t, CURLcode rc)
{
	struct watch_answer *a = &t->answer;
	long status = 0;
	double total = 0;

	json_decref(t->doc);
	t->doc = NULL;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &total);
	if (rc == CURLE_OK && status == 404 && !t->asked_info && !t->gateway) {
		t->old_node = 1;
		return 1;
	}
	a->rtt_ms = total * 1000;
	a->ok = 0;
	a->doc = NULL;
	a->text = NULL;
	if (t->too_long)
		snprintf(t->error, sizeof(t->error), "answer over %u bytes",
		    WATCH_MAX_DOCUMENT);
	else if (rc != CURLE_OK) {
		if (t->error[0] == '\0')
			snprintf(t->error, sizeof(t->error), "%s",
			    curl_easy_strerror(rc));
	} else if (status != 200)
		snprintf(t->error, sizeof(t->error), "HTTP status %ld", status);
	else if (t->gateway) {
		a->ok = 1;
		a->text = t->body.buf != NULL ? t->body.buf : "";
	}
	else if ((t->doc = json_loadb(t->body.buf, t->body.len, 0, NULL)) ==
	    NULL || !json_is_object(t->doc)) {
		json_decref(t->doc);
		t->doc = NULL;
		snprintf(t->error, sizeof(t->error), "not a status document");
	} else {
		a->ok = 1;
		a->doc = t->doc;
	}
	a->error = a->ok ? NULL : t->error;
	return 0;
}

/* Collects finished transfers; 1 when the round is over. */
static int
watch_collect(struct watch *w)
{
	struct watch_target *t;
	CURLMsg *msg;
	size_t i;
	int left, retry;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&t);
		retry = watch_finish(t, msg->data.result);
		curl_multi_remove_handle(w->multi, t->easy);
		if (retry && watch_ask(w, t) == 0)
			continue;
		t->running = 0;
		w->running--;
	}
	if (!w->in_round || w->running > 0)
		return 0;
	w->in_round = 0;
	free(w->answers);
	w->answers = xcalloc(w->n_targets ? w->n_targets : 1,
	    sizeof(*w->answers));
	for (i = 0; i < w->n_targets; i++)
		w->answers[i] = w->targets[i]->answer;
	w->n_answers = w->n_targets;
	return 1;
}

/* Rounds wait until discovery has been tried once. */
static int
watch_ready(struct watch *w)
{
	int ready;

	if (!w->thread_running)
		return 1;
	pthread_mutex_lock(&w->mu);
	ready = w->disc_done;
	pthread_mutex_unlock(&w->mu);
	return ready;
}

int
watch_run(struct watch *w, int fd, double max_wait, char **cause)
{
	struct curl_waitfd wfd;
	double end = clock_now() + max_wait, now, wait;
	int still, numfds, done, ready;
	CURLMcode mc;

	for (;;) {
		now = clock_now();
		ready = watch_ready(w);
		if (!w->in_round && now >= w->next_round && ready)
			watch_start_round(w);
		if ((mc = curl_multi_perform(w->multi, &still)) != CURLM_OK)
			return set_cause(cause, "libcurl: %s",
			    curl_multi_strerror(mc));
		if ((done = watch_collect(w)) != 0)
			return done;
		now = clock_now();
		if (now >= end)
			return 0;
		wait = end - now;
		if (!w->in_round && ready && w->next_round - now < wait)
			wait = w->next_round - now;
		if (wait < 0)
			wait = 0;
		memset(&wfd, 0, sizeof(wfd));
		wfd.fd = fd;
		wfd.events = CURL_WAIT_POLLIN;
		if ((mc = curl_multi_poll(w->multi, fd >= 0 ? &wfd : NULL,
		    fd >= 0 ? 1 : 0, (int)(wait * 1000) + 1, &numfds)) !=
		    CURLM_OK)
			return set_cause(cause, "libcurl: %s",
			    curl_multi_strerror(mc));
		if (fd >= 0 && wfd.revents != 0)
			return 0;
		/*
		 * Answers arrive one by one: a moment's wait lets several be
		 * read in one pass over the handles, which costs as much for
		 * one answer as for all (the round's CPU, not its latency).
		 */
		if (numfds > 0 && w->in_round)
			clock_sleep(WATCH_COALESCE);
	}
}

void
watch_set_detail(struct watch *w, const char *addr)
{
	size_t i;

	free(w->detail);
	w->detail = addr != NULL ? xstrdup(addr) : NULL;
	for (i = 0; i < w->n_targets; i++)
		w->targets[i]->detail = addr != NULL &&
		    strcmp(w->targets[i]->addr, addr) == 0;
}

void
watch_refresh(struct watch *w)
{
	w->next_round = 0;
}

const struct watch_answer *
watch_answers(const struct watch *w, size_t *n)
{
	*n = w->n_answers;
	return w->answers;
}

const char *
watch_discovery_error(struct watch *w)
{
	pthread_mutex_lock(&w->mu);
	free(w->disc_error_copy);
	w->disc_error_copy = w->disc_error != NULL ?
	    xstrdup(w->disc_error) : NULL;
	pthread_mutex_unlock(&w->mu);
	return w->disc_error_copy;
}

struct watch *
watch_new(const struct watch_config *cfg, char **cause)
{
	struct watch *w;
	struct watch_target *t;
	size_t i;

	if (cfg->n_peers == 0 && cfg->n_bootstrap == 0) {
		set_cause(cause, "no peer to watch");
		return NULL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	w = xcalloc(1, sizeof(*w));
	w->cfg = *cfg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	if ((w->multi = curl_multi_init()) == NULL) {
		free(w);
		set_cause(cause, "cannot start libcurl");
		return NULL;
	}
	for (i = 0; i < cfg->n_peers && i < WATCH_MAX_PEERS; i++)
		if (watch_find(w, cfg->peers[i]) == NULL &&
		    (t = watch_target_new(w, cfg->peers[i])) != NULL)
			t->answer.listed = 1;
	if (cfg->local != NULL && ((t = watch_find(w, cfg->local)) != NULL ||
	    (t = watch_target_new(w, cfg->local)) != NULL))
		t->answer.local = 1;
	if (cfg->gateway != NULL && (t = watch_target_new(w, cfg->gateway)) !=
	    NULL) {
		t->gateway = 1;
		t->answer.gateway = 1;
	}
	if (cfg->n_peers == 0) {
		if (pthread_create(&w->thread, NULL, watch_disc_main, w) != 0) {
			watch_free(w);
			set_cause(cause, "cannot start a thread");
			return NULL;
		}
		w->thread_running = 1;
	}
	return w;
}

void
watch_free(struct watch *w)
{
	size_t i;

	if (w == NULL)
		return;
	if (w->thread_running) {
		pthread_mutex_lock(&w->mu);
		w->stopping = 1;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	for (i = 0; i < w->n_targets; i++)
		watch_target_free(w, w->targets[i]);
	free(w->targets);
	free(w->answers);
	free(w->detail);
	curl_multi_cleanup(w->multi);
	free(w->ents);
	free(w->disc_error);
	free(w->disc_error_copy);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	free(w);
}
