/*
 * A pull (pull.h): the manifest it trusts (made from the origin's header,
 * or the store's, or the one the peers serve), the sources and what each
 * holds, the pieces wanted in rarest-first order, then the transfers
 * (pull-fetch.c) and the report.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/gguf.h"
#include "shard/pull-private.h"
#include "swarm/model-id.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#define PULL_HEADER_FIRST	(64u << 10)
#define PULL_HEADER_MAX		(1ull << 31)
#define PULL_MANIFEST_MAX	(64u << 20)

struct pull_buf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
	uint64_t	 total;		/* from Content-Range; 0: unknown */
};

static size_t
pull_buf_write(char *p, size_t size, size_t n, void *arg)
{
	struct pull_buf *b = arg;

	n *= size;
	if (n > b->cap - b->len)
		return 0;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return n;
}

static size_t
pull_buf_header(char *p, size_t size, size_t n, void *arg)
{
	struct pull_buf *b = arg;
	unsigned long long total;
	char line[256];
	const char *slash;

	n *= size;
	if (n < sizeof(line) && strncasecmp(p, "content-range:", 14) == 0) {
		memcpy(line, p, n);
		line[n] = '\0';
		if ((slash = strchr(line, '/')) != NULL &&
		    sscanf(slash + 1, "%llu", &total) == 1)
			b->total = total;
	}
	return n;
}

/* GET url (range "A-B" or NULL) into b, at most b->cap bytes. */
static int
pull_get(const char *url, const char *range, struct pull_buf *b,
    long *status, char **cause)
{
	CURL *h = curl_easy_init();
	CURLcode res;

	b->len = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (range != NULL)
		curl_easy_setopt(h, CURLOPT_RANGE, range);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, pull_buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, pull_buf_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	res = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	if (res == CURLE_WRITE_ERROR && range != NULL && *status == 200)
		return set_cause(cause, "'%s' does not answer Range requests",
		    url);
	if (res != CURLE_OK)
		return set_cause(cause, "'%s': %s", url, curl_easy_strerror(res));
	return 0;
}

void
pull_log(struct pull *pl, const char *fmt, ...)
{
	va_list ap;
	char *msg, *old = pl->rep->notes;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	pl->rep->notes = xasprintf("%s%s%s", old ? old : "", old ? "\n" : "",
	    msg);
	free(old);
	free(msg);
}

const char *
pull_piece_name(const struct pull *pl, size_t i)
{
	size_t t = pl->sm.m.pieces[i].tensor;

	return t == SIZE_MAX ? "the header" : pl->sm.m.tensors[t].name;
}

/*
 * The header from the origin: ranges from the start, doubled until the
 * parse ends inside the bytes fetched. The prefix sits in an anonymous
 * mapping of the file's size, so the parser checks every tensor against
 * the real size while the pages past the header are never touched.
 */
/* The first want bytes of url into b, with the file's size. */
static int
pull_origin_prefix(const char *url, uint64_t want, struct pull_buf *b,
    char **cause)
{
	char range[64];
	long status;

	free(b->p);
	b->p = xmalloc(want);
	b->cap = want;
	snprintf(range, sizeof(range), "0-%llu", (unsigned long long)want - 1);
	if (pull_get(url, range, b, &status, cause) != 0)
		return -1;
	if (status != 206 && status != 200)
		return set_cause(cause, "'%s': HTTP %ld", url, status);
	if (status == 200 || b->total == 0)
		b->total = b->len;
	if (b->total > SIZE_MAX || b->len == 0)
		return set_cause(cause, "'%s': no bytes", url);
	return 0;
}

static int
pull_origin_manifest(const char *url, struct manifest *m,
    struct pull_buf *prefix, char **cause)
{
	struct pull_buf b = { 0 };
	struct gguf_file *f = NULL;
	uint64_t want = PULL_HEADER_FIRST;
	uint8_t *map = MAP_FAILED;
	int rc = -1;

	for (;;) {
		if (pull_origin_prefix(url, want, &b, cause) != 0)
			goto out;
		map = mmap(NULL, b.total, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (map == MAP_FAILED) {
			set_cause(cause, "cannot map %llu bytes",
			    (unsigned long long)b.total);
			goto out;
		}
		memcpy(map, b.p, b.len);
		f = gguf_open_buffer(map, b.total, url, cause);
		if (f != NULL && f->data_offset <= b.len)
			break;
		gguf_close(f);
		f = NULL;
		munmap(map, b.total);
		map = MAP_FAILED;
		if (b.len >= b.total || want >= PULL_HEADER_MAX)
			goto out;	/* the parse's own error */
		want *= 2;
		free(*cause);
		*cause = NULL;
	}
	rc = manifest_from_gguf(m, f, b.total, 0, cause);
out:
	gguf_close(f);
	if (map != MAP_FAILED)
		munmap(map, b.total);
	if (rc == 0 && prefix != NULL) {
		*prefix = b;
		b.p = NULL;
	}
	free(b.p);
	return rc;
}

static int
pull_add_source(struct pull *pl, const char *name, const char *url)
{
	struct pull_src *s;

	if (pl->n_src >= PULL_MAX_SOURCES)
		return -1;
	s = &pl->src[pl->n_src++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->url = xstrdup(url);
	return 0;
}

static int
pull_peer_json(const char *url, json_t **out)
{
	struct pull_buf b = { 0 };
	json_error_t err;
	long status = 0;

	*out = NULL;
	b.p = xmalloc(PULL_MANIFEST_MAX);
	b.cap = PULL_MANIFEST_MAX;
	if (pull_get(url, NULL, &b, &status, NULL) == 0 && status == 200)
		*out = json_loadb((const char *)b.p, b.len, 0, &err);
	free(b.p);
	return *out != NULL ? 0 : -1;
}

/* A peer's manifest and the pieces it holds; -1 when it has none. */
static int
pull_peer_offer(const char *peer, const char *model, struct manifest *m,
    uint8_t **has)
{
	char *url = xasprintf("http://%s/shards/%s/manifest", peer, model);
	const char *held;
	json_t *o = NULL;
	size_t i;
	int rc = -1;

	*has = NULL;
	if (pull_peer_json(url, &o) != 0 || manifest_from_json(m,
	    json_object_get(o, "manifest"), NULL) != 0)
		goto out;
	held = json_string_value(json_object_get(o, "held"));
	if (held == NULL || strlen(held) != m->n_pieces) {
		manifest_release(m);
		goto out;
	}
	*has = xcalloc(m->n_pieces, 1);
	for (i = 0; i < m->n_pieces; i++)
		(*has)[i] = held[i] == '1';
	rc = 0;
out:
	json_decref(o);
	free(url);
	return rc;
}


static int
pull_manifest_copy(struct manifest *dst, const struct manifest *src)
{
	json_t *o = manifest_to_json(src);
	int rc = manifest_from_json(dst, o, NULL);

	json_decref(o);
	return rc;
}

/*
 * The manifest to trust among the offers: the store's own, else for a
 * committed id the offer of that id (manifest_from_json checked that its
 * hashes are the id's), else the complete one of the digest asked for,
 * else the complete one most peers serve (a name or a provisional id:
 * nothing better to go by).
 */
static int
pull_trust(const struct pull_config *cfg, struct manifest *offers,
    const int *ok, size_t n, struct manifest *trusted, char **cause)
{
	char d[2 * MANIFEST_HASH_BYTES + 1], e[sizeof(d)];
	struct store_model local;
	size_t i, j, votes, best_votes = 0, best = SIZE_MAX;

	if (store_open(&local, cfg->source, STORE_READ, NULL) == 0) {
		i = pull_manifest_copy(trusted, &local.m);
		store_close(&local);
		return i == 0 ? 0 : set_cause(cause, "bad manifest in the store");
	}
	for (i = 0; i < n && model_id_committed(cfg->source); i++) {
		if (ok[i] && strcmp(offers[i].id, cfg->source) == 0)
			return pull_manifest_copy(trusted, &offers[i]) == 0 ?
			    0 : set_cause(cause, "bad manifest");
	}
	if (model_id_committed(cfg->source))
		return set_cause(cause, "no peer serves the manifest of '%s'",
		    cfg->source);
	for (i = 0; i < n; i++) {
		if (!ok[i] || !manifest_complete(&offers[i]))
			continue;
		manifest_digest(&offers[i], d, sizeof(d));
		if (cfg->digest != NULL && strcmp(d, cfg->digest) != 0)
			continue;
		for (j = votes = 0; j < n; j++) {
			if (!ok[j] || !manifest_complete(&offers[j]))
				continue;
			manifest_digest(&offers[j], e, sizeof(e));
			votes += strcmp(d, e) == 0;
		}
		if (votes > best_votes) {
			best_votes = votes;
			best = i;
		}
	}
	if (best == SIZE_MAX)
		return set_cause(cause, "no peer serves a whole manifest of "
		    "'%s'%s", cfg->source, cfg->digest != NULL ? " with that "
		    "digest" : "");
	return pull_manifest_copy(trusted, &offers[best]) == 0 ? 0 :
	    set_cause(cause, "bad manifest");
}

/*
 * A peer's bytes count only where the trusted manifest knows the hash:
 * what it alone could vouch for comes from the origin, if any.
 */
static void
pull_trusted_only(const struct manifest *trusted, uint8_t *has)
{
	size_t k;

	for (k = 0; k < trusted->n_pieces; k++)
		if (!trusted->pieces[k].known)
			has[k] = 0;
}

static int
pull_from_peers(struct pull *pl, struct manifest *trusted, char **cause)
{
	const struct pull_config *cfg = pl->cfg;
	struct manifest offers[PULL_MAX_SOURCES];
	uint8_t *has[PULL_MAX_SOURCES];
	int ok[PULL_MAX_SOURCES], rc;
	size_t i, n = cfg->n_peers < PULL_MAX_SOURCES - 1 ? cfg->n_peers :
	    PULL_MAX_SOURCES - 1;
	char *url;

	memset(offers, 0, sizeof(offers));
	for (i = 0; i < n; i++)
		ok[i] = pull_peer_offer(cfg->peers[i], cfg->source, &offers[i],
		    &has[i]) == 0;
	/*
	 * The origin's header makes a provisional manifest: no stand-in for
	 * the one a committed id asks for.
	 */
	if ((rc = pull_trust(cfg, offers, ok, n, trusted, cause)) != 0 &&
	    cfg->origin != NULL && !model_id_committed(cfg->source)) {
		free(*cause);
		*cause = NULL;
		rc = pull_origin_manifest(cfg->origin, trusted, NULL, cause);
	}
	for (i = 0; i < n; i++) {
		if (!ok[i])
			continue;
		if (rc == 0 && manifest_same_file(trusted, &offers[i])) {
			pull_trusted_only(trusted, has[i]);
			url = xasprintf("http://%s/shards/%s/data",
			    cfg->peers[i], trusted->id);
			if (pull_add_source(pl, cfg->peers[i], url) == 0)
				pl->src[pl->n_src - 1].has = has[i];
			else
				free(has[i]);
			free(url);
		} else {
			if (rc == 0)
				pull_log(pl, "%s serves another file under "
				    "this id: not used", cfg->peers[i]);
			free(has[i]);
		}
		manifest_release(&offers[i]);
	}
	return rc;
}

static int
pull_cmp_rarity(const void *a, const void *b, void *arg)
{
	const struct pull *pl = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int cx = 0, cy = 0, s;

	for (s = 0; s < pl->n_src; s++) {
		cx += pl->src[s].has == NULL || pl->src[s].has[x];
		cy += pl->src[s].has == NULL || pl->src[s].has[y];
	}
	if (cx != cy)
		return cx < cy ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* What to fetch: wanted, not held; rarest first; room for it checked. */
static int
pull_plan(struct pull *pl, char **cause)
{
	const struct manifest *m = &pl->sm.m;
	uint32_t b = pl->cfg->block_end;
	uint8_t *want = xcalloc(m->n_pieces, 1);
	size_t i;
	int rc;

	if (b == MANIFEST_NO_BLOCK || b > m->n_blocks)
		b = m->n_blocks;
	if (pl->cfg->block_begin > b) {
		free(want);
		return set_cause(cause, "blocks %u:%u out of range: '%s' has %u",
		    pl->cfg->block_begin, b, m->id, m->n_blocks);
	}
	pl->rep->bytes_wanted = manifest_want(m, pl->cfg->block_begin, b,
	    pl->cfg->head, want);
	rc = store_check_space(&pl->sm, want, cause);
	pl->state = xcalloc(m->n_pieces, 1);
	pl->flights = xcalloc(m->n_pieces, 1);
	pl->fetcher = xcalloc(m->n_pieces, sizeof(*pl->fetcher));
	pl->order = xcalloc(m->n_pieces, sizeof(*pl->order));
	for (i = 0; i < m->n_pieces; i++) {
		if (!want[i] || pl->sm.held[i])
			continue;
		pl->state[i] = PULL_PIECE_TODO;
		pl->order[pl->n_order++] = i;
		pl->total_bytes += m->pieces[i].size;
	}
	qsort_r(pl->order, pl->n_order, sizeof(*pl->order), pull_cmp_rarity,
	    pl);
	free(want);
	return rc;
}

static void
pull_fill_report(struct pull *pl, double t0)
{
	struct pull_report *r = pl->rep;
	int s;

	r->seconds = clock_now() - t0;
	for (s = 0; s < pl->n_src; s++) {
		struct pull_source_report *sr = &r->sources[r->n_sources++];

		sr->name = pl->src[s].name;
		pl->src[s].name = NULL;
		sr->bytes = pl->src[s].bytes;
		sr->pieces = pl->src[s].pieces;
		sr->banned = pl->src[s].banned;
		sr->dropped = pl->src[s].dropped;
	}
}

static void
pull_release(struct pull *pl)
{
	int s;

	for (s = 0; s < pl->n_src; s++) {
		free(pl->src[s].name);
		free(pl->src[s].url);
		free(pl->src[s].has);
	}
	free(pl->state);
	free(pl->flights);
	free(pl->fetcher);
	free(pl->order);
	store_close(&pl->sm);
}

/* The header fetched with the manifest is the first piece: kept. */
static int
pull_put_prefix(struct pull *pl, const struct pull_buf *prefix, char **cause)
{
	const struct manifest_piece *p = &pl->sm.m.pieces[0];
	int bad;

	if (prefix->p == NULL || pl->sm.held[0] || prefix->len < p->size)
		return 0;
	pl->rep->bytes_fetched += prefix->len;
	if (store_piece_put(&pl->sm, 0, prefix->p, p->size, &bad, cause) != 0)
		return -1;
	pl->state[0] = PULL_PIECE_DONE;
	pl->done_bytes += p->size;
	return 0;
}

static int
pull_is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/*
 * A whole file pulled under a provisional id (from an origin) moves to the
 * id committed to its bytes, as `shard add` would name it.
 */
static int
pull_commit(struct pull *pl, const char *origin, char **cause)
{
	const char *why = NULL;
	char *was;
	int rc;

	if (model_id_committed(pl->sm.m.id))
		return 0;
	was = xstrdup(pl->sm.m.id);
	if ((rc = store_commit_id(&pl->sm, origin, &why, cause)) > 0) {
		pull_log(pl, "every piece held: '%s' is now '%s', the id "
		    "committed to its bytes", was, pl->sm.m.id);
		free(pl->rep->id);
		pl->rep->id = xstrdup(pl->sm.m.id);
	} else if (rc == 0 && why != NULL && manifest_complete(&pl->sm.m))
		pull_log(pl, "'%s' keeps its provisional id: %s", was, why);
	free(was);
	return rc < 0 ? -1 : 0;
}

int
pull_run(const struct pull_config *cfg, struct pull_report *rep,
    char **cause)
{
	struct pull pl;
	struct manifest m;
	struct pull_buf prefix = { 0 };
	double t0 = clock_now();
	const char *origin = pull_is_url(cfg->source) ? cfg->source :
	    cfg->origin;
	int rc;

	memset(rep, 0, sizeof(*rep));
	memset(&pl, 0, sizeof(pl));
	pl.cfg = cfg;
	pl.rep = rep;
	pl.sm.data_fd = pl.sm.pieces_fd = -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pull_is_url(cfg->source))
		rc = pull_origin_manifest(cfg->source, &m, &prefix, cause);
	else
		rc = pull_from_peers(&pl, &m, cause);
	if (rc != 0)
		goto out;
	/* A whole pull of this URL may have moved to its committed id. */
	rc = 0;
	if (pull_is_url(cfg->source) && !model_id_committed(m.id))
		rc = store_open_moved(&pl.sm, &m, cfg->source, cause);
	if (rc == 0)
		rc = store_create(&pl.sm, &m, cause);
	else if (rc > 0)
		rc = 0;
	manifest_release(&m);
	if (rc != 0)
		goto out;
	rep->id = xstrdup(pl.sm.m.id);
	if (origin != NULL)
		pull_add_source(&pl, origin, origin);
	if ((rc = pull_plan(&pl, cause)) == 0 &&
	    (rc = pull_put_prefix(&pl, &prefix, cause)) == 0)
		rc = pull_fetch(&pl, cause);
	if (store_save_manifest(&pl.sm, rc == 0 ? cause : NULL) != 0)
		rc = -1;
	if (rc == 0)
		rc = pull_commit(&pl, origin, cause);
	pull_fill_report(&pl, t0);
out:
	free(prefix.p);
	pull_release(&pl);
	return rc;
}

void
pull_report_release(struct pull_report *r)
{
	size_t i;

	for (i = 0; i < r->n_sources; i++)
		free(r->sources[i].name);
	free(r->id);
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

json_t *
pull_report_json(const struct pull_report *r)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	json_object_set_new(o, "id", r->id ? json_string(r->id) : json_null());
	json_object_set_new(o, "bytes_wanted",
	    json_integer((json_int_t)r->bytes_wanted));
	json_object_set_new(o, "bytes_fetched",
	    json_integer((json_int_t)r->bytes_fetched));
	json_object_set_new(o, "pieces_fetched",
	    json_integer((json_int_t)r->pieces_fetched));
	json_object_set_new(o, "pieces_retried",
	    json_integer((json_int_t)r->pieces_retried));
	json_object_set_new(o, "bad_pieces",
	    json_integer((json_int_t)r->bad_pieces));
	json_object_set_new(o, "seconds", json_real(r->seconds));
	for (i = 0; i < r->n_sources; i++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:I,s:b,s:b}",
		    "source", r->sources[i].name, "bytes",
		    (json_int_t)r->sources[i].bytes, "pieces",
		    (json_int_t)r->sources[i].pieces, "banned",
		    r->sources[i].banned, "dropped", r->sources[i].dropped));
	json_object_set_new(o, "sources", a);
	return o;
}

char *
pull_report_line(const struct pull_report *r)
{
	char *banned = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < r->n_sources; i++) {
		if (!r->sources[i].banned)
			continue;
		t = xasprintf("%s; banned %s (bad piece)", banned,
		    r->sources[i].name);
		free(banned);
		banned = t;
	}
	t = xasprintf("'%s': %llu bytes wanted, %llu fetched in %.2f s from "
	    "%zu source%s, %llu pieces retried%s", r->id ? r->id : "?",
	    (unsigned long long)r->bytes_wanted,
	    (unsigned long long)r->bytes_fetched, r->seconds, r->n_sources,
	    r->n_sources == 1 ? "" : "s",
	    (unsigned long long)r->pieces_retried, banned);
	free(banned);
	return t;
}
