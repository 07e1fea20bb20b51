/*
 * Push auto: timing both ways of sending steps on a chain. See
 * push-trial.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/push-trial.h"
#include "util/xmalloc.h"

#define PUSH_MEMO_SLOTS	16

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

/* Keeps t's verdict: over the same chain's, else the one lapsing first. */
static void
push_memo_put(struct push_memo *m, const struct push_trial *t)
{
	size_t i, k = 0;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n && m->e[i].chain != t->chain; i++)
		;
	if (i < m->n)
		k = i;
	else if (m->n < PUSH_MEMO_SLOTS)
		k = m->n++;
	else
		for (i = 1; i < m->n; i++)
			if (m->e[i].until < m->e[k].until)
				k = i;
	m->e[k].chain = t->chain;
	m->e[k].verdict = t->verdict;
	memcpy(m->e[k].median, t->median, sizeof(t->median));
	m->e[k].until = t->until;
	pthread_mutex_unlock(&m->mu);
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
