/*
 * The transfer half of a pull (pull-private.h): pieces asked of sources
 * with HTTP Range requests on libcurl's multi interface, rarest pieces
 * first, a few in flight per source over kept-alive connections, each
 * answer checked against the manifest before the store takes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "shard/pull-private.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#define PULL_MAX_FAILS		3	/* a source failing this often in a row */
#define PULL_TIMEOUT_S		10

struct pull_xfer {
	CURL		*h;
	size_t		 piece;
	int		 src;
	uint8_t		*buf;
	uint64_t	 offset;
	size_t		 len;
	size_t		 cap;
	int		 overflow;
	int		 range_ok;	/* Content-Range is the one asked */
	struct pull_xfer *next;		/* in flight */
	struct pull_xfer *qnext;	/* in the checker's queues */
	int		 put_rc;
	int		 bad;
	char		*cause;
};

static size_t
pull_xfer_write(char *p, size_t size, size_t n, void *arg)
{
	struct pull_xfer *x = arg;

	n *= size;
	if (n > x->cap - x->len) {
		x->overflow = 1;
		return 0;
	}
	memcpy(x->buf + x->len, p, n);
	x->len += n;
	return n;
}

/* The answer must be the range asked, not another one. */
static size_t
pull_xfer_header(char *p, size_t size, size_t n, void *arg)
{
	struct pull_xfer *x = arg;
	unsigned long long a, b;
	char line[256];

	n *= size;
	if (n < sizeof(line) && strncasecmp(p, "content-range:", 14) == 0) {
		memcpy(line, p, n);
		line[n] = '\0';
		x->range_ok = sscanf(line + 14, " bytes %llu-%llu", &a, &b) ==
		    2 && a == x->offset && b + 1 == x->offset + x->cap;
	}
	return n;
}

static int
pull_usable(const struct pull *pl, int s, size_t i)
{
	const struct pull_src *src = &pl->src[s];

	return !src->banned && !src->dropped && (src->has == NULL ||
	    src->has[i]);
}

/*
 * The usable source with the fewest pieces in flight (not skip, and not
 * one backing off after a failure), or -1.
 */
static int
pull_pick(const struct pull *pl, size_t i, unsigned max, int skip, int *any)
{
	double now = clock_now();
	int s, best = -1;

	*any = 0;
	for (s = 0; s < pl->n_src; s++) {
		if (!pull_usable(pl, s, i))
			continue;
		*any = 1;
		if (s == skip || pl->src[s].in_flight >= max ||
		    pl->src[s].retry_at > now)
			continue;
		if (best < 0 || pl->src[s].in_flight < pl->src[best].in_flight)
			best = s;
	}
	return best;
}

static void
pull_start(struct pull *pl, size_t i, int s)
{
	const struct manifest_piece *p = &pl->sm.m.pieces[i];
	struct pull_xfer *x = xcalloc(1, sizeof(*x));
	char range[64];

	x->piece = i;
	x->src = s;
	x->offset = p->offset;
	x->cap = (size_t)p->size;
	/* Buffers of a whole piece are reused: a fresh one is a fresh
	 * mapping whose every page the kernel must fault in and zero. */
	if (x->cap <= MANIFEST_PIECE_BYTES && pl->n_spare > 0)
		x->buf = pl->spare[--pl->n_spare];
	else
		x->buf = xmalloc(x->cap > MANIFEST_PIECE_BYTES ? x->cap :
		    MANIFEST_PIECE_BYTES);
	/* Handles are reused too: each keeps its receive buffer and its
	 * connection. */
	x->h = pl->n_handles > 0 ? pl->handles[--pl->n_handles] :
	    curl_easy_init();
	snprintf(range, sizeof(range), "%llu-%llu",
	    (unsigned long long)p->offset,
	    (unsigned long long)(p->offset + p->size - 1));
	curl_easy_setopt(x->h, CURLOPT_URL, pl->src[s].url);
	curl_easy_setopt(x->h, CURLOPT_RANGE, range);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, pull_xfer_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, pull_xfer_header);
	curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_TIME, (long)PULL_TIMEOUT_S);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(x->h, CURLOPT_BUFFERSIZE, 512L << 10);
	curl_multi_add_handle(pl->multi, x->h);
	x->next = pl->xfers;
	pl->xfers = x;
	pl->state[i] = PULL_PIECE_FLIGHT;
	if (pl->flights[i]++ == 0)
		pl->fetcher[i] = (int16_t)s;
	pl->src[s].in_flight++;
	pl->in_flight++;
}

/*
 * The end game: nothing is left to start, so a source with nothing in
 * flight asks again for a piece another source is still sending; the
 * first answer wins, and one slow source does not hold up the end.
 */
static void
pull_endgame(struct pull *pl)
{
	size_t k, i;
	int s, any;

	for (k = 0; k < pl->n_order; k++) {
		i = pl->order[k];
		if (pl->state[i] != PULL_PIECE_FLIGHT || pl->flights[i] != 1)
			continue;
		if ((s = pull_pick(pl, i, 1, pl->fetcher[i], &any)) >= 0)
			pull_start(pl, i, s);
	}
}

/* Starts what the sources can take; -1 when a piece has no source left. */
static int
pull_schedule(struct pull *pl, char **cause)
{
	unsigned max = pl->cfg->in_flight ? pl->cfg->in_flight : 4;
	size_t k, i;
	int s, any, todo = 0;

	if (pl->checking >= PULL_BACKLOG)
		return 0;

	for (k = 0; k < pl->n_order; k++) {
		i = pl->order[k];
		if (pl->state[i] != PULL_PIECE_TODO)
			continue;
		todo = 1;
		s = pull_pick(pl, i, max, -1, &any);
		if (!any)
			return set_cause(cause, "piece %zu (%s) has no source "
			    "left", i, pull_piece_name(pl, i));
		if (s >= 0)
			pull_start(pl, i, s);
	}
	if (!todo && pl->n_src > 1)
		pull_endgame(pl);
	return 0;
}

/*
 * A source failed at transport level: it backs off (0.2 s, doubling) and
 * is dropped after a few failures in a row.
 */
static void
pull_fail(struct pull *pl, struct pull_src *src, const char *why)
{
	src->retry_at = clock_now() + 0.2 * (double)(1u << src->fails);
	if (++src->fails >= PULL_MAX_FAILS && !src->dropped) {
		src->dropped = 1;
		pull_log(pl, "dropped %s: %s", src->name, why);
	}
}

static void
pull_progress(const struct pull *pl)
{
	unsigned n = 0;
	int s;

	if (pl->cfg->progress == NULL)
		return;
	for (s = 0; s < pl->n_src; s++)
		n += !pl->src[s].banned && !pl->src[s].dropped;
	pl->cfg->progress(pl->cfg->progress_arg, pl->done_bytes,
	    pl->total_bytes, n);
}

/* Out of the multi handle and the list in flight; the buffer is kept. */
static void
pull_xfer_detach(struct pull *pl, struct pull_xfer *x)
{
	struct pull_xfer **pp;

	for (pp = &pl->xfers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	curl_multi_remove_handle(pl->multi, x->h);
	/* Not reset: a reset handle given its buffer size again frees and
	 * allocates its receive buffer (fresh pages, faulted in at each
	 * piece); pull_start sets every option each time anyway. */
	if (pl->n_handles < PULL_SPARE) {
		pl->handles[pl->n_handles++] = x->h;
	} else
		curl_easy_cleanup(x->h);
	x->h = NULL;
}

static void
pull_xfer_free(struct pull *pl, struct pull_xfer *x)
{
	if (x->h != NULL)
		pull_xfer_detach(pl, x);
	if (x->cap <= MANIFEST_PIECE_BYTES && pl->n_spare < PULL_SPARE)
		pl->spare[pl->n_spare++] = x->buf;
	else
		free(x->buf);
	free(x->cause);
	free(x);
}

/* One copy of piece i less: back to do when none is left and none won. */
static void
pull_copy_gone(struct pull *pl, size_t i)
{
	pl->flights[i]--;
	if (pl->state[i] != PULL_PIECE_DONE)
		pl->state[i] = pl->flights[i] > 0 ? PULL_PIECE_FLIGHT :
		    PULL_PIECE_TODO;
}

static void *
pull_checker_main(void *arg)
{
	struct pull *pl = arg;
	struct pull_xfer *x;
	uint8_t h[MANIFEST_HASH_BYTES];

	pthread_mutex_lock(&pl->qmu);
	for (;;) {
		while (pl->q_in == NULL && !pl->q_stop)
			pthread_cond_wait(&pl->qcv, &pl->qmu);
		if ((x = pl->q_in) == NULL)
			break;
		pl->q_in = x->qnext;
		pthread_mutex_unlock(&pl->qmu);
		/* Hashed side by side; written one at a time (two writers
		 * of one file only spin on its lock in the kernel). */
		x->put_rc = store_piece_check(&pl->sm, x->piece, x->buf,
		    x->len, h, &x->bad, &x->cause);
		if (x->put_rc == 0) {
			pthread_mutex_lock(&pl->wmu);
			x->put_rc = store_piece_write(&pl->sm, x->piece, x->buf,
			    x->len, h, &x->cause);
			pthread_mutex_unlock(&pl->wmu);
		}
		pthread_mutex_lock(&pl->qmu);
		x->qnext = pl->q_out;
		pl->q_out = x;
		curl_multi_wakeup(pl->multi);
	}
	pthread_mutex_unlock(&pl->qmu);
	return NULL;
}

static void
pull_check(struct pull *pl, struct pull_xfer *x)
{
	struct pull_xfer **pp;

	pull_xfer_detach(pl, x);
	pl->state[x->piece] = PULL_PIECE_CHECK;
	pl->checking++;
	pthread_mutex_lock(&pl->qmu);
	for (pp = &pl->q_in; *pp != NULL; pp = &(*pp)->qnext)
		;
	x->qnext = NULL;
	*pp = x;
	pthread_cond_signal(&pl->qcv);
	pthread_mutex_unlock(&pl->qmu);
}

/* A transfer ended: a failure is retried, a whole answer checked. */
static void
pull_finish(struct pull *pl, struct pull_xfer *x, CURLcode res)
{
	struct pull_src *src = &pl->src[x->src];
	long status = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	src->in_flight--;
	pl->in_flight--;
	if (pl->state[x->piece] == PULL_PIECE_DONE) {
		pull_copy_gone(pl, x->piece);	/* the other copy won */
		pull_xfer_free(pl, x);
		return;
	}
	if (res != CURLE_OK || !((status == 206 && x->range_ok) ||
	    (status == 200 && x->offset == 0 && x->len ==
	    pl->sm.m.file_size)) || x->len != x->cap) {
		pull_fail(pl, src, res != CURLE_OK ? curl_easy_strerror(res) :
		    "a short or unranged answer");
		pl->rep->pieces_retried++;
		pull_copy_gone(pl, x->piece);
		pull_xfer_free(pl, x);
		return;
	}
	pull_check(pl, x);
}

/* A piece checked and written, or refused: its source banned. */
static int
pull_checked(struct pull *pl, struct pull_xfer *x, char **cause)
{
	struct pull_src *src = &pl->src[x->src];
	int won = pl->state[x->piece] != PULL_PIECE_DONE && x->put_rc == 0;

	if (won)
		pl->state[x->piece] = PULL_PIECE_DONE;
	pull_copy_gone(pl, x->piece);
	if (x->put_rc != 0 && !x->bad) {
		*cause = x->cause;
		x->cause = NULL;
		return -1;
	}
	if (x->put_rc != 0) {
		pl->rep->bad_pieces++;
		pl->rep->pieces_retried++;
		src->banned = 1;
		pull_log(pl, "banned %s: %s", src->name, x->cause);
		return 0;
	}
	src->fails = 0;
	src->bytes += x->len;
	src->pieces++;
	if (won) {
		pl->done_bytes += x->len;
		pl->rep->bytes_fetched += x->len;
		pl->rep->pieces_fetched++;
		pull_progress(pl);
	}
	return 0;
}

static int
pull_reap(struct pull *pl, char **cause)
{
	struct pull_xfer *x, *done;
	CURLMsg *msg;
	int left, rc = 0;

	while ((msg = curl_multi_info_read(pl->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
		pull_finish(pl, x, msg->data.result);
	}
	pthread_mutex_lock(&pl->qmu);
	done = pl->q_out;
	pl->q_out = NULL;
	pthread_mutex_unlock(&pl->qmu);
	while ((x = done) != NULL) {
		done = x->qnext;
		pl->checking--;
		if (rc == 0 && pull_checked(pl, x, cause) != 0)
			rc = -1;
		pull_xfer_free(pl, x);
	}
	return rc;
}

static int
pull_all_done(const struct pull *pl)
{
	size_t k;

	for (k = 0; k < pl->n_order; k++)
		if (pl->state[pl->order[k]] != PULL_PIECE_DONE)
			return 0;
	return 1;
}

/* Waits for the checker to finish its queue, then frees what is left. */
static void
pull_checker_stop(struct pull *pl)
{
	struct pull_xfer *x;

	pthread_mutex_lock(&pl->qmu);
	pl->q_stop = 1;
	pthread_cond_broadcast(&pl->qcv);
	pthread_mutex_unlock(&pl->qmu);
	while (pl->n_checkers > 0)
		pthread_join(pl->checker[--pl->n_checkers], NULL);
	while ((x = pl->q_out) != NULL) {
		pl->q_out = x->qnext;
		pull_xfer_free(pl, x);
	}
	pthread_mutex_destroy(&pl->qmu);
	pthread_mutex_destroy(&pl->wmu);
	pthread_cond_destroy(&pl->qcv);
}

int
pull_fetch(struct pull *pl, char **cause)
{
	int running = 0, rc = 0;

	pl->multi = curl_multi_init();
	curl_multi_setopt(pl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	pthread_mutex_init(&pl->qmu, NULL);
	pthread_mutex_init(&pl->wmu, NULL);
	pthread_cond_init(&pl->qcv, NULL);
	for (pl->n_checkers = 0; pl->n_checkers < PULL_CHECKERS;
	    pl->n_checkers++)
		if (pthread_create(&pl->checker[pl->n_checkers], NULL,
		    pull_checker_main, pl) != 0)
			break;
	if (pl->n_checkers == 0)
		abort();
	while (rc == 0 && !pull_all_done(pl)) {
		if ((rc = pull_schedule(pl, cause)) != 0)
			break;
		curl_multi_perform(pl->multi, &running);
		if ((rc = pull_reap(pl, cause)) != 0)
			break;
		if (!pull_all_done(pl))
			curl_multi_poll(pl->multi, NULL, 0, 200, NULL);
	}
	pull_checker_stop(pl);
	/* Stop whatever is still in flight (an error above). */
	while (pl->xfers != NULL)
		pull_xfer_free(pl, pl->xfers);
	curl_multi_cleanup(pl->multi);
	pl->multi = NULL;
	while (pl->n_spare > 0)
		free(pl->spare[--pl->n_spare]);
	while (pl->n_handles > 0)
		curl_easy_cleanup(pl->handles[--pl->n_handles]);
	return rc;
}
