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
	int		 verdict;	/* a push_way; -1: a trial going on */
	double		 median[2];	/* the verdict's */
	int		 n[2];		/* the trial's clean steps, by way */
	double		 took[2][PUSH_TRIAL_STEPS];	/* seconds */
	double		 until;		/* lapses (a trial: its steps) */
};

struct push_memo {
	pthread_mutex_t		 mu;
	struct push_memo_entry	 e[PUSH_MEMO_SLOTS];
	size_t			 n;
	int			 made;	/* a verdict or step of this process's */
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

/* mu held: the fresh entry of chain, or NULL. */
static struct push_memo_entry *
push_memo_find(struct push_memo *m, uint64_t chain, double now)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].chain == chain && now < m->e[i].until)
			return &m->e[i];
	return NULL;
}

/* mu held: the slot for chain: its own, else a free one, else the one
 * lapsing first. */
static struct push_memo_entry *
push_memo_slot(struct push_memo *m, uint64_t chain)
{
	size_t i, k = 0;

	for (i = 0; i < m->n && m->e[i].chain != chain; i++)
		;
	if (i < m->n)
		k = i;
	else if (m->n < PUSH_MEMO_SLOTS)
		k = m->n++;
	else
		for (i = 1; i < m->n; i++)
			if (m->e[i].until < m->e[k].until)
				k = i;
	return &m->e[k];
}

/* Copies a verdict, or a trial's steps, of e into t. */
static void
push_memo_copy(struct push_trial *t, const struct push_memo_entry *e)
{
	if (e->verdict >= 0) {
		t->verdict = e->verdict;
		memcpy(t->median, e->median, sizeof(t->median));
		t->until = e->until;
	} else {
		memcpy(t->n, e->n, sizeof(t->n));
		memcpy(t->took, e->took, sizeof(t->took));
	}
}

/* What the memo holds for chain into t: a fresh verdict, or the steps
 * of a trial the process's clients time together. */
static void
push_memo_get(struct push_memo *m, struct push_trial *t, uint64_t chain,
    double now)
{
	struct push_memo_entry *e;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	if ((e = push_memo_find(m, chain, now)) != NULL)
		push_memo_copy(t, e);
	pthread_mutex_unlock(&m->mu);
}

/* Keeps an entry: over the same chain's, else the one lapsing first. */
static void
push_memo_keep(struct push_memo *m, const struct push_memo_entry *e)
{
	pthread_mutex_lock(&m->mu);
	*push_memo_slot(m, e->chain) = *e;
	pthread_mutex_unlock(&m->mu);
}

/*
 * One line of the file: "CHAIN VERDICT SENT PUSHED UNTIL", the chain in
 * hex, the medians in seconds, UNTIL on the wall clock; or a trial going
 * on, "CHAIN -1 UNTIL NS NP" and the NS sent then NP pushed steps'
 * seconds. A line that is not that, or that lapsed or would hold longer
 * than one made now, is nothing (the file is anyone's to edit).
 */
static int
push_memo_parse(const char *line, double wall, double now,
    struct push_memo_entry *e)
{
	unsigned long long chain;
	double sent, pushed, until, left, v;
	const char *p;
	char *end;
	int verdict, ns, np, i, used = 0;

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%16llx %d%n", &chain, &verdict, &used) != 2)
		return -1;
	p = line + used;
	if (verdict == -1) {
		if (sscanf(p, " %lf %d %d%n", &until, &ns, &np, &used) != 3 ||
		    ns < 0 || ns > PUSH_TRIAL_STEPS || np < 0 ||
		    np > PUSH_TRIAL_STEPS || ns + np == 0)
			return -1;
		for (p += used, i = 0; i < ns + np; i++, p = end) {
			if (*p != ' ')
				return -1;
			v = strtod(p, &end);
			if (end == p || !(v >= 0 && v < 3600))
				return -1;
			if (i < ns)
				e->took[PUSH_WAY_SENT][i] = v;
			else
				e->took[PUSH_WAY_PUSHED][i - ns] = v;
		}
		e->n[PUSH_WAY_SENT] = ns;
		e->n[PUSH_WAY_PUSHED] = np;
	} else if (sscanf(p, " %lf %lf %lf%n", &sent, &pushed, &until,
	    &used) != 3 || (verdict != PUSH_WAY_SENT && verdict !=
	    PUSH_WAY_PUSHED) || !(sent >= 0 && sent < 3600) ||
	    !(pushed >= 0 && pushed < 3600))
		return -1;
	else {
		p += used;
		e->median[PUSH_WAY_SENT] = sent;
		e->median[PUSH_WAY_PUSHED] = pushed;
	}
	if (*p != '\n' && *p != '\0')
		return -1;
	/* the file's clock is in milliseconds: a second's leeway */
	left = until - wall;
	if (!(left > 0 && left <= PUSH_TRIAL_HOLD + 1))
		return -1;
	if (left > PUSH_TRIAL_HOLD)
		left = PUSH_TRIAL_HOLD;
	e->chain = (uint64_t)chain;
	e->verdict = verdict;
	e->until = now + left;
	return 0;
}

int
push_memo_load(struct push_memo *m, const char *path, double now,
    int *trials, char **cause)
{
	struct push_memo_entry e;
	char line[512];
	double wall = clock_wall();
	FILE *f;
	int n = 0, lines = 0;

	if (trials != NULL)
		*trials = 0;
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
		if (push_memo_parse(line, wall, now, &e) != 0)
			continue;
		push_memo_keep(m, &e);
		if (e.verdict >= 0)
			n++;
		else if (trials != NULL)
			(*trials)++;
	}
	fclose(f);
	return n;
}

/* The line of e (push_memo_parse's), its lapse on the wall clock. */
static void
push_memo_line(struct strbuf *text, const struct push_memo_entry *e,
    double wall, double now)
{
	int i, w;

	if (e->verdict >= 0) {
		strbuf_addf(text, "%016llx %d %.6f %.6f %.3f\n",
		    (unsigned long long)e->chain, e->verdict,
		    e->median[PUSH_WAY_SENT], e->median[PUSH_WAY_PUSHED],
		    wall + (e->until - now));
		return;
	}
	strbuf_addf(text, "%016llx -1 %.3f %d %d", (unsigned long long)e->chain,
	    wall + (e->until - now), e->n[PUSH_WAY_SENT],
	    e->n[PUSH_WAY_PUSHED]);
	for (w = PUSH_WAY_SENT; w <= PUSH_WAY_PUSHED; w++)
		for (i = 0; i < e->n[w]; i++)
			strbuf_addf(text, " %.6f", e->took[w][i]);
	strbuf_addc(text, '\n');
}

int
push_memo_save(struct push_memo *m, const char *path, double now,
    char **cause)
{
	struct push_memo *all;
	struct push_memo_entry *theirs;
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
	/* Another process's entries stay, ours over the same chains, but
	 * not a trial of ours over a verdict of theirs. */
	all = push_memo_new();
	if (push_memo_load(all, path, now, NULL, &ignored) < 0)
		free(ignored);
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n; i++) {
		if (m->e[i].until <= now)
			continue;
		theirs = push_memo_find(all, m->e[i].chain, now);
		if (m->e[i].verdict < 0 && theirs != NULL &&
		    theirs->verdict >= 0)
			continue;
		*push_memo_slot(all, m->e[i].chain) = m->e[i];
	}
	pthread_mutex_unlock(&m->mu);
	for (i = 0; i < all->n; i++)
		push_memo_line(&text, &all->e[i], wall, now);
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
	}
	/* Trying: the steps the process's other clients timed, or their
	 * verdict. */
	if (t->verdict < 0)
		push_memo_get(m, t, chain, now);
	if (t->verdict >= 0)
		return (enum push_way)t->verdict;
	/* A prompt's steps push (the way that suits far peers); single
	 * rows alternate in runs, pushed first, until a way has its
	 * share (a run of the other way may have failed, or other
	 * clients timed it). */
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
push_median(const double *took, int n)
{
	double v[PUSH_TRIAL_STEPS];

	memcpy(v, took, (size_t)n * sizeof(*v));
	qsort(v, (size_t)n, sizeof(*v), push_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The verdict, once t holds its steps of each way: 1, else 0. */
static int
push_trial_decide(struct push_trial *t, double now)
{
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
	return 1;
}

/*
 * A timed step into the memo's trial of t's chain (one begun from t's
 * steps if the memo has none), its steps back into t, and the verdict
 * when they are enough; a verdict another client made meanwhile is
 * taken instead.
 */
static int
push_memo_note(struct push_memo *m, struct push_trial *t, enum push_way way,
    double seconds, double now)
{
	struct push_memo_entry *e;
	int done;

	pthread_mutex_lock(&m->mu);
	if ((e = push_memo_find(m, t->chain, now)) != NULL &&
	    e->verdict >= 0) {
		push_memo_copy(t, e);
		pthread_mutex_unlock(&m->mu);
		return 0;
	}
	if (e == NULL) {
		e = push_memo_slot(m, t->chain);
		memset(e, 0, sizeof(*e));
		e->chain = t->chain;
		e->verdict = -1;
		memcpy(e->n, t->n, sizeof(e->n));
		memcpy(e->took, t->took, sizeof(e->took));
	}
	if (e->n[way] < PUSH_TRIAL_STEPS)
		e->took[way][e->n[way]++] = seconds;
	e->until = now + PUSH_TRIAL_HOLD;
	push_memo_copy(t, e);
	if ((done = push_trial_decide(t, now)) != 0) {
		e->verdict = t->verdict;
		memcpy(e->median, t->median, sizeof(e->median));
		e->until = t->until;
	}
	m->made = 1;
	pthread_mutex_unlock(&m->mu);
	return done;
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
	if (first || !clean || seconds < 0)
		return 0;
	if (m != NULL)
		return push_memo_note(m, t, way, seconds, now);
	if (t->n[way] >= PUSH_TRIAL_STEPS)
		return 0;
	t->took[way][t->n[way]++] = seconds;
	return push_trial_decide(t, now);
}
