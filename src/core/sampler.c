/*
 * Picks the next token from a row of logits. In order: the repetition
 * penalty (llama.cpp's rule: a positive logit is divided by the penalty, a
 * negative one multiplied, once per distinct token among the last
 * repeat_last_n accepted), the presence and frequency penalties over the
 * same window, then greedy argmax when the temperature is not positive;
 * otherwise temperature, top-k, top-p and min-p cut the candidates and one
 * is drawn from the rest with a xoshiro256** generator seeded from the
 * caller's seed, so a seed names a sequence. All memory is allocated by
 * sampler_new: sampling a token allocates nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sampler.h"
#include "util/xmalloc.h"

#define SAMPLER_MAX_WINDOW	65536

struct sampler_cand {
	float	logit;
	int32_t	id;
	float	p;
};

struct sampler {
	struct sampler_params	 params;
	uint32_t		 n_vocab;
	uint64_t		 s[4];		/* xoshiro256** state */

	struct sampler_cand	*cand;		/* n_vocab */

	/* the last `window` accepted tokens, a ring, and their counts */
	int32_t			*ring;
	size_t			 window;
	size_t			 ring_n;
	size_t			 ring_pos;
	uint32_t		*count;		/* n_vocab */
	uint32_t		*seen;		/* n_vocab: call stamp */
	uint32_t		 stamp;
};

void
sampler_params_default(struct sampler_params *p)
{
	memset(p, 0, sizeof(*p));
	p->temperature = 0.8f;
	p->top_k = 40;
	p->top_p = 0.95f;
	p->min_p = 0.05f;
	p->repeat_penalty = 1.0f;
	p->repeat_last_n = 64;
	p->presence_penalty = 0.0f;
	p->frequency_penalty = 0.0f;
	p->seed = 0;
}

static uint64_t
sampler_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
sampler_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
sampler_next(struct sampler *s)
{
	uint64_t r = sampler_rotl(s->s[1] * 5, 7) * 9;
	uint64_t t = s->s[1] << 17;

	s->s[2] ^= s->s[0];
	s->s[3] ^= s->s[1];
	s->s[1] ^= s->s[2];
	s->s[0] ^= s->s[3];
	s->s[2] ^= t;
	s->s[3] = sampler_rotl(s->s[3], 45);
	return r;
}

/* uniform in [0, 1) */
static double
sampler_uniform(struct sampler *s)
{
	return (double)(sampler_next(s) >> 11) * 0x1.0p-53;
}

struct sampler *
sampler_new(const struct sampler_params *params, uint32_t n_vocab)
{
	struct sampler *s;
	uint64_t x;
	int i;

	if (n_vocab == 0 || n_vocab > INT32_MAX)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->params = *params;
	s->n_vocab = n_vocab;
	x = params->seed;
	for (i = 0; i < 4; i++)
		s->s[i] = sampler_splitmix(&x);
	s->cand = xcalloc(n_vocab, sizeof(*s->cand));
	s->count = xcalloc(n_vocab, sizeof(*s->count));
	s->seen = xcalloc(n_vocab, sizeof(*s->seen));
	if (params->repeat_last_n > 0)
		s->window = (size_t)params->repeat_last_n;
	if (s->window > SAMPLER_MAX_WINDOW)
		s->window = SAMPLER_MAX_WINDOW;
	s->ring = xcalloc(s->window ? s->window : 1, sizeof(*s->ring));
	return s;
}

void
sampler_free(struct sampler *s)
{
	if (s == NULL)
		return;
	free(s->cand);
	free(s->count);
	free(s->seen);
	free(s->ring);
	free(s);
}

void
sampler_accept(struct sampler *s, int32_t token)
{
	int32_t old;

	if (s->window == 0 || token < 0 || (uint32_t)token >= s->n_vocab)
		return;
	if (s->ring_n == s->window) {
		old = s->ring[s->ring_pos];
		s->count[old]--;
	} else
		s->ring_n++;
	s->ring[s->ring_pos] = token;
	s->count[token]++;
	s->ring_pos = (s->ring_pos + 1) % s->window;
}

static void
sampler_penalize(struct sampler *s, float *logits)
{
	const struct sampler_params *p = &s->params;
	size_t i;
	int32_t t;
	float *l;

	if (s->ring_n == 0 || (p->repeat_penalty == 1.0f &&
	    p->presence_penalty == 0.0f && p->frequency_penalty == 0.0f))
		return;
	if (++s->stamp == 0) {
		memset(s->seen, 0, s->n_vocab * sizeof(*s->seen));
		s->stamp = 1;
	}
	for (i = 0; i < s->ring_n; i++) {
		t = s->ring[i];
		if (s->seen[t] == s->stamp)
			continue;
		s->seen[t] = s->stamp;
		l = &logits[t];
		if (p->repeat_penalty > 0.0f && p->repeat_penalty != 1.0f) {
			if (*l > 0.0f)
				*l /= p->repeat_penalty;
			else
				*l *= p->repeat_penalty;
		}
		*l -= (float)s->count[t] * p->frequency_penalty +
		    p->presence_penalty;
	}
}

/* Descending logit, then ascending id: a total order, so runs repeat. */
static int
sampler_cmp(const void *a, const void *b)
{
	const struct sampler_cand *x = a, *y = b;

	if (x->logit != y->logit)
		return x->logit > y->logit ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void
sampler_swap(struct sampler_cand *c, size_t i, size_t j)
{
	struct sampler_cand t = c[i];

	c[i] = c[j];
	c[j] = t;
}

/* Moves the k best candidates (in no order) to the front of c[0, n). */
static void
sampler_select(struct sampler_cand *c, size_t n, size_t k)
{
	size_t lo = 0, hi = n, i, mid, last, store;

	while (hi - lo > 1) {
		/* the median of three as the pivot, at the end */
		mid = lo + (hi - lo) / 2;
		last = hi - 1;
		if (sampler_cmp(&c[mid], &c[lo]) < 0)
			sampler_swap(c, mid, lo);
		if (sampler_cmp(&c[last], &c[lo]) < 0)
			sampler_swap(c, last, lo);
		if (sampler_cmp(&c[mid], &c[last]) < 0)
			sampler_swap(c, mid, last);
		store = lo;
		for (i = lo; i < last; i++) {
			if (sampler_cmp(&c[i], &c[last]) < 0)
				sampler_swap(c, i, store++);
		}
		sampler_swap(c, store, last);
		if (store == k || store + 1 == k)
			return;
		if (store + 1 < k)
			lo = store + 1;
		else
			hi = store;
	}
}

static void
sampler_sift(struct sampler_cand *c, size_t i, size_t n)
{
	size_t child;

	/* a max-heap in sampler_cmp's order: the worst at the root */
	while ((child = 2 * i + 1) < n) {
		if (child + 1 < n && sampler_cmp(&c[child + 1], &c[child]) > 0)
			child++;
		if (sampler_cmp(&c[child], &c[i]) <= 0)
			break;
		sampler_swap(c, i, child);
		i = child;
	}
}

/* Heapsort, best first: in place, as qsort may allocate. */
static void
sampler_sort(struct sampler_cand *c, size_t n)
{
	size_t i;

	if (n < 2)
		return;
	for (i = n / 2; i-- > 0;)
		sampler_sift(c, i, n);
	for (i = n - 1; i > 0; i--) {
		sampler_swap(c, 0, i);
		sampler_sift(c, 0, i);
	}
}

int32_t
sampler_sample(struct sampler *s, float *logits)
{
	const struct sampler_params *p = &s->params;
	struct sampler_cand *c = s->cand;
	size_t n = s->n_vocab, i, keep;
	double total, sum, cum, u, inv_t;
	float best;
	int32_t arg;

	sampler_penalize(s, logits);

	if (!(p->temperature > 0.0f)) {
		arg = 0;
		best = logits[0];
		for (i = 1; i < n; i++) {
			if (logits[i] > best || (isnan(best) && !isnan(logits[i]))) {
				best = logits[i];
				arg = (int32_t)i;
			}
		}
		return arg;
	}

	best = -INFINITY;
	for (i = 0; i < n; i++) {
		c[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
		c[i].id = (int32_t)i;
		if (c[i].logit > best)
			best = c[i].logit;
	}
	if (p->top_k > 0 && (size_t)p->top_k < n) {
		sampler_select(c, n, (size_t)p->top_k);
		n = (size_t)p->top_k;
	}

	/*
	 * Softmax with the temperature; (l - max) / T cannot overflow. The
	 * weights are relative to the best (which has weight 1), total is
	 * their sum over every candidate left after top-k.
	 */
	inv_t = 1.0 / p->temperature;
	total = 0.0;
	for (i = 0; i < n; i++) {
		double e = exp(((double)c[i].logit - best) * inv_t);

		if (!(e == e))		/* every logit -inf */
			e = 1.0;
		c[i].p = (float)e;
		total += e;
	}
	/*
	 * Min-p keeps weights >= min_p. Dropping the others before top-p
	 * changes nothing (they are its tail, and top-p measures against
	 * total), and leaves few candidates to sort.
	 */
	if (p->min_p > 0.0f) {
		for (i = keep = 0; i < n; i++) {
			if (c[i].p >= p->min_p)
				sampler_swap(c, i, keep++);
		}
		n = keep > 0 ? keep : 1;
	}
	sampler_sort(c, n);

	/* top-p: the shortest head whose mass reaches top_p */
	if (p->top_p < 1.0f) {
		cum = 0.0;
		for (keep = 0; keep < n; keep++) {
			cum += c[keep].p;
			if (cum >= p->top_p * total) {
				keep++;
				break;
			}
		}
		if (keep < n)
			n = keep > 0 ? keep : 1;
	}

	sum = 0.0;
	for (i = 0; i < n; i++)
		sum += c[i].p;
	u = sampler_uniform(s) * sum;
	cum = 0.0;
	for (i = 0; i + 1 < n; i++) {
		cum += c[i].p;
		if (u < cum)
			break;
	}
	return c[i].id;
}
