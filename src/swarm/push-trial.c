/*
 * Push auto: timing both ways of sending steps on a chain. See
 * push-trial.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/push-trial.h"
#include "util/clock.h"
#include "util/path.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define PUSH_MEMO_SLOTS	16
#define PUSH_MEMO_FILE_LINES	(4 * PUSH_MEMO_SLOTS)	/* read at most */

struct push_memo_entry {
	uint64_t	 chain;
	int		 verdict;
	double		 median[2];
	double		 until;
};

struct push_memo {
	pthread_mutex_t		 mu;
	struct push_memo_entry	 e[PUSH_MEMO_SLOTS];
	size_t			 n;
	int			 made;	/* a verdict of this process's */
};

struct push_memo *
push_memo_new(void)
{
	struct push_memo *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void
push_memo_free(struct push_memo *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* The fresh verdict the memo holds for chain, if any, into t. */
static void
push_memo_get(struct push_memo *m, struct push_trial *t, uint64_t chain,
    double now)
{
	size_t i;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n; i++) {
		if (m->e[i].chain != chain || now >= m->e[i].until)
			continue;
		t->verdict = m->e[i].verdict;
		memcpy(t->median, m->e[i].median, sizeof(t->median));
		t->until = m->e[i].until;
		break;
	}
	pthread_mutex_unlock(&m->mu);
}

/* Keeps a verdict: over the same chain's, else the one lapsing first. */
static void
push_memo_keep(struct push_memo *m, const struct push_memo_entry *e)
{
	size_t i, k = 0;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n && m->e[i].chain != e->chain; i++)
		;
	if (i < m->n)
		k = i;
	else if (m->n < PUSH_MEMO_SLOTS)
		k = m->n++;
	else
		for (i = 1; i < m->n; i++)
			if (m->e[i].until < m->e[k].until)
				k = i;
	m->e[k] = *e;
	pthread_mutex_unlock(&m->mu);
}

static void
push_memo_put(struct push_memo *m, const struct push_trial *t)
{
	struct push_memo_entry e;

	if (m == NULL)
		return;
	e.chain = t->chain;
	e.verdict = t->verdict;
	memcpy(e.median, t->median, sizeof(e.median));
	e.until = t->until;
	push_memo_keep(m, &e);
	pthread_mutex_lock(&m->mu);
	m->made = 1;
	pthread_mutex_unlock(&m->mu);
}

/*
 * One line of the file: "CHAIN VERDICT SENT PUSHED UNTIL", the chain in
 * hex, the medians in seconds, UNTIL on the wall clock. A line that is
 * not that, or whose verdict lapsed or would hold longer than a verdict
 * made now, is no verdict (the file is anyone's to edit).
 */
static int
push_memo_parse(const char *line, double wall, double now,
    struct push_memo_entry *e)
{
	unsigned long long chain;
	double sent, pushed, until, left;
	int verdict, used = 0;

	if (sscanf(line, "%16llx %d %lf %lf %lf%n", &chain, &verdict, &sent,
	    &pushed, &until, &used) != 5 || (line[used] != '\n' &&
	    line[used] != '\0'))
		return -1;
	if ((verdict != PUSH_WAY_SENT && verdict != PUSH_WAY_PUSHED) ||
	    !(sent >= 0 && sent < 3600) || !(pushed >= 0 && pushed < 3600))
		return -1;
	left = until - wall;
	if (!(left > 0 && left <= PUSH_TRIAL_HOLD))
		return -1;
	e->chain = (uint64_t)chain;
	e->verdict = verdict;
	e->median[PUSH_WAY_SENT] = sent;
	e->median[PUSH_WAY_PUSHED] = pushed;
	e->until = now + left;
	return 0;
}

int
push_memo_load(struct push_memo *m, const char *path, double now,
    char **cause)
{
	struct push_memo_entry e;
	char line[256];
	double wall = clock_wall();
	FILE *f;
	int n = 0, lines = 0;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	while (lines++ < PUSH_MEMO_FILE_LINES && fgets(line, sizeof(line), f)
	    != NULL) {
		if (strchr(line, '\n') == NULL && !feof(f))
			break;		/* longer than any line of ours */
		if (push_memo_parse(line, wall, now, &e) == 0) {
			push_memo_keep(m, &e);
			n++;
		}
	}
	fclose(f);
	return n;
}

int
push_memo_save(struct push_memo *m, const char *path, double now,
    char **cause)
{
	struct push_memo *all;
	struct strbuf text = STRBUF_INIT;
	double wall = clock_wall();
	char *ignored = NULL;
	size_t i;
	int rc, made;

	pthread_mutex_lock(&m->mu);
	made = m->made;
	pthread_mutex_unlock(&m->mu);
	if (!made)
		return 0;	/* nothing the file lacks */
	/* Another process's verdicts stay, ours over the same chains. */
	all = push_memo_new();
	if (push_memo_load(all, path, now, &ignored) < 0)
		free(ignored);
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n; i++)
		if (m->e[i].until > now)
			push_memo_keep(all, &m->e[i]);
	pthread_mutex_unlock(&m->mu);
	for (i = 0; i < all->n; i++)
		strbuf_addf(&text, "%016llx %d %.6f %.6f %.3f\n",
		    (unsigned long long)all->e[i].chain, all->e[i].verdict,
		    all->e[i].median[PUSH_WAY_SENT],
		    all->e[i].median[PUSH_WAY_PUSHED],
		    wall + (all->e[i].until - now));
	rc = path_write_atomic(path, text.len > 0 ? text.buf : "", cause);
	strbuf_release(&text);
	push_memo_free(all);
	return rc;
}

void
push_trial_init(struct push_trial *t)
{
	memset(t, 0, sizeof(*t));
	t->verdict = -1;
}

/* FNV-1a over the bytes, continued from h. */
static uint64_t
push_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t
push_trial_chain(uint64_t chain, const char *addr, uint32_t begin,
    uint32_t end)
{
	uint32_t span[2] = { begin, end };

	if (chain == 0)
		chain = 0xcbf29ce484222325ULL;
	chain = push_hash(chain, addr, strlen(addr) + 1);
	return push_hash(chain, span, sizeof(span));
}

enum push_way
push_trial_way(struct push_trial *t, struct push_memo *m, uint64_t chain,
    int rows, double now)
{
	if (t->chain != chain || (t->verdict >= 0 && now >= t->until)) {
		t->chain = chain;
		t->n[0] = t->n[1] = 0;
		t->steps = 0;
		t->verdict = -1;
		push_memo_get(m, t, chain, now);
	}
	if (t->verdict >= 0)
		return (enum push_way)t->verdict;
	/* A prompt's steps push (the way that suits far peers); single
	 * rows alternate in runs, pushed first, until a way has its
	 * share (a run of the other way may have failed). */
	if (rows != 1 || t->n[PUSH_WAY_SENT] >= PUSH_TRIAL_STEPS)
		return PUSH_WAY_PUSHED;
	if (t->n[PUSH_WAY_PUSHED] >= PUSH_TRIAL_STEPS)
		return PUSH_WAY_SENT;
	return t->steps / PUSH_TRIAL_RUN % 2 == 0 ? PUSH_WAY_PUSHED :
	    PUSH_WAY_SENT;
}

static int
push_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
push_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), push_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
push_trial_note(struct push_trial *t, struct push_memo *m,
    enum push_way way, int rows, double seconds, int clean, double now)
{
	int first;

	if (t->verdict >= 0 || rows != 1)
		return 0;
	/* the first step of a run meets what the other way left */
	first = t->steps % PUSH_TRIAL_RUN == 0;
	t->steps++;
	if (first || !clean || seconds < 0 || t->n[way] >= PUSH_TRIAL_STEPS)
		return 0;
	t->took[way][t->n[way]++] = seconds;
	if (t->n[PUSH_WAY_SENT] < PUSH_TRIAL_STEPS ||
	    t->n[PUSH_WAY_PUSHED] < PUSH_TRIAL_STEPS)
		return 0;
	t->median[PUSH_WAY_SENT] = push_median(t->took[PUSH_WAY_SENT],
	    PUSH_TRIAL_STEPS);
	t->median[PUSH_WAY_PUSHED] = push_median(t->took[PUSH_WAY_PUSHED],
	    PUSH_TRIAL_STEPS);
	t->verdict = t->median[PUSH_WAY_PUSHED] < PUSH_TRIAL_MARGIN *
	    t->median[PUSH_WAY_SENT] ? PUSH_WAY_PUSHED : PUSH_WAY_SENT;
	t->until = now + PUSH_TRIAL_HOLD;
	push_memo_put(m, t);
	return 1;
}
