/*
 * Tests for the sampler: greedy and top-k 1 pick the argmax, a seed fixes
 * the sequence, top-p and min-p never leave their allowed sets, the
 * penalties move the argmax as llama.cpp's do, and at temperature 1 the
 * draws follow the softmax.
 */
#include <stdint.h>

#include "test.h"
#include "core/sampler.h"

#define NV	64

static void
fill(float *l, uint64_t seed)
{
	size_t i;

	for (i = 0; i < NV; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		l[i] = (float)((double)(seed >> 11) / 9007199254740992.0 * 8.0
		    - 4.0);
	}
}

static struct sampler_params
params(float temp, int top_k, float top_p, float min_p, uint64_t seed)
{
	struct sampler_params p;

	sampler_params_default(&p);
	p.temperature = temp;
	p.top_k = top_k;
	p.top_p = top_p;
	p.min_p = min_p;
	p.seed = seed;
	return p;
}

static void
test_defaults(void)
{
	struct sampler_params p;

	sampler_params_default(&p);
	CHECK(p.temperature == 0.8f && p.top_k == 40 && p.top_p == 0.95f &&
	    p.min_p == 0.05f && p.repeat_penalty == 1.0f &&
	    p.repeat_last_n == 64 && p.seed == 0 &&
	    p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f);
}

static void
test_greedy(void)
{
	struct sampler_params p = params(0.0f, 40, 0.95f, 0.05f, 1);
	struct sampler *s;
	float l[NV];
	int32_t t;

	CHECK((s = sampler_new(&p, NV)) != NULL);
	fill(l, 7);
	l[37] = 10.0f;
	t = sampler_sample(s, l);
	CHECK(t == 37);
	/* ties go to the lowest id */
	fill(l, 8);
	l[50] = 9.0f;
	l[12] = 9.0f;
	t = sampler_sample(s, l);
	CHECK(t == 12);
	/* a negative temperature is greedy too */
	sampler_free(s);
	p.temperature = -1.0f;
	CHECK((s = sampler_new(&p, NV)) != NULL);
	fill(l, 9);
	l[3] = 5.0f;
	t = sampler_sample(s, l);
	sampler_free(s);
	CHECK(t == 3);
}

static int32_t
argmax(const float *l)
{
	int32_t i, best = 0;

	for (i = 1; i < NV; i++) {
		if (l[i] > l[best])
			best = i;
	}
	return best;
}

static void
test_top_k_1_is_greedy(void)
{
	static const float temps[] = { 0.01f, 0.5f, 1.0f, 2.0f, 100.0f };
	struct sampler_params p;
	struct sampler *s;
	float l[NV];
	size_t i;
	int r, ok = 1;

	for (i = 0; ok && i < sizeof(temps) / sizeof(*temps); i++) {
		p = params(temps[i], 1, 1.0f, 0.0f, 42 + i);
		CHECK((s = sampler_new(&p, NV)) != NULL);
		for (r = 0; ok && r < 200; r++) {
			int32_t want;

			fill(l, (uint64_t)r * 31 + i);
			want = argmax(l);
			ok = sampler_sample(s, l) == want;
		}
		sampler_free(s);
	}
	CHECK(ok);
}

static void
test_top_k(void)
{
	struct sampler_params p;
	struct sampler *s;
	float l[NV], sorted[NV], t;
	int hits[NV] = { 0 }, i, j, r, ok = 1, k = 5;

	/* a hot temperature makes the five near-uniform: all are drawn */
	p = params(50.0f, k, 1.0f, 0.0f, 3);
	CHECK((s = sampler_new(&p, NV)) != NULL);
	fill(l, 11);
	memcpy(sorted, l, sizeof(l));
	for (i = 1; i < NV; i++) {
		for (j = i; j > 0 && sorted[j - 1] < sorted[j]; j--) {
			t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	}
	for (r = 0; r < 5000; r++) {
		fill(l, 11);
		hits[sampler_sample(s, l)]++;
	}
	sampler_free(s);
	fill(l, 11);
	for (i = 0; i < NV; i++) {
		if (l[i] >= sorted[k - 1])
			ok = ok && hits[i] > 500;
		else
			ok = ok && hits[i] == 0;
	}
	CHECK(ok);
}

static void
draw(uint64_t seed, int32_t *out, int n)
{
	struct sampler_params p = params(1.0f, 0, 1.0f, 0.0f, seed);
	struct sampler *s = sampler_new(&p, NV);
	float l[NV];
	int i;

	for (i = 0; i < n; i++) {
		fill(l, 5);	/* the same logits every time */
		out[i] = sampler_sample(s, l);
	}
	sampler_free(s);
}

static void
test_seed(void)
{
	int32_t a[1000], b[1000], c[1000];
	int i, same_ab = 1, differ_ac = 0, distinct = 0;
	int seen[NV] = { 0 };

	draw(1234, a, 1000);
	draw(1234, b, 1000);
	draw(1235, c, 1000);
	for (i = 0; i < 1000; i++) {
		same_ab &= a[i] == b[i];
		differ_ac += a[i] != c[i];
		if (!seen[a[i]]++)
			distinct++;
	}
	CHECK(same_ab);
	CHECK(differ_ac > 500);
	/* it does sample: the same logits give many different tokens */
	CHECK(distinct > 10);
}

/* p = 0.5, 0.3, 0.1, 0.05, 0.05 over 5 tokens, the rest impossible */
static void
set_known(float *l)
{
	static const double pr[] = { 0.5, 0.3, 0.1, 0.05, 0.05 };
	size_t i;

	for (i = 0; i < NV; i++)
		l[i] = -INFINITY;
	for (i = 0; i < 5; i++)
		l[(i * 13) % NV] = (float)log(pr[i]);
}

static void
check_allowed(float top_p, float min_p, const int *allowed, int *ok)
{
	struct sampler_params p = params(1.0f, 0, top_p, min_p, 99);
	struct sampler *s = sampler_new(&p, NV);
	int hits[NV] = { 0 };
	float l[NV];
	int i;

	for (i = 0; i < 20000; i++) {
		set_known(l);
		hits[sampler_sample(s, l)]++;
	}
	sampler_free(s);
	for (i = 0; i < NV; i++) {
		/* inside: drawn at least sometimes; outside: never */
		if (allowed[i] ? hits[i] < 100 : hits[i] != 0) {
			fprintf(stderr, "  top_p %g min_p %g: token %d drawn "
			    "%d times\n", top_p, min_p, i, hits[i]);
			*ok = 0;
		}
	}
}

static void
test_top_p_min_p(void)
{
	int allowed[NV];
	int ok = 1;

	/* top-p 0.75: 0.5 + 0.3 reaches it, so tokens 0 and 13 */
	memset(allowed, 0, sizeof(allowed));
	allowed[0] = allowed[13] = 1;
	check_allowed(0.75f, 0.0f, allowed, &ok);
	/* top-p 0.85: the third (26) is needed */
	allowed[26] = 1;
	check_allowed(0.85f, 0.0f, allowed, &ok);
	/* min-p 0.15: p >= 0.075, so 0, 13, 26 */
	check_allowed(1.0f, 0.15f, allowed, &ok);
	/* min-p 0.5: p >= 0.25, so 0 and 13 */
	allowed[26] = 0;
	check_allowed(1.0f, 0.5f, allowed, &ok);
	/* both: top-p keeps 4, min-p 0.3 (>= 0.15) keeps 2 */
	check_allowed(0.92f, 0.3f, allowed, &ok);
	CHECK(ok);
}

static void
test_repeat_penalty(void)
{
	struct sampler_params p = params(0.0f, 0, 1.0f, 0.0f, 1);
	struct sampler *s;
	float l[NV];
	int i;

	p.repeat_penalty = 1.1f;
	p.repeat_last_n = 4;
	CHECK((s = sampler_new(&p, NV)) != NULL);
	memset(l, 0, sizeof(l));
	l[0] = -5.0f;
	l[5] = 2.0f;
	l[6] = 1.9f;
	CHECK(sampler_sample(s, l) == 5);
	/* 2.0 / 1.1 = 1.82 < 1.9 */
	sampler_accept(s, 5);
	memset(l, 0, sizeof(l));
	l[0] = -5.0f;
	l[5] = 2.0f;
	l[6] = 1.9f;
	CHECK(sampler_sample(s, l) == 6);
	/* negative logits are multiplied: -1 * 1.1 < -1.05; 5 appears
	 * twice but is penalized once */
	sampler_accept(s, 5);
	for (i = 0; i < NV; i++)
		l[i] = -10.0f;
	l[5] = -1.0f;
	l[6] = -1.05f;
	CHECK(sampler_sample(s, l) == 6);
	/* four other tokens push 5 out of the window */
	for (i = 0; i < 4; i++)
		sampler_accept(s, 20 + i);
	memset(l, 0, sizeof(l));
	l[5] = 2.0f;
	l[6] = 1.9f;
	CHECK(sampler_sample(s, l) == 5);
	sampler_free(s);
}

static void
test_presence_frequency(void)
{
	struct sampler_params p = params(0.0f, 0, 1.0f, 0.0f, 1);
	struct sampler *s;
	float l[NV];

	p.frequency_penalty = 0.5f;
	CHECK((s = sampler_new(&p, NV)) != NULL);
	sampler_accept(s, 1);
	sampler_accept(s, 1);
	sampler_accept(s, 2);
	memset(l, 0, sizeof(l));
	l[1] = 3.0f;
	l[2] = 2.4f;
	l[3] = 2.2f;
	/* 3 - 2 * 0.5 = 2.0, 2.4 - 0.5 = 1.9: token 3 wins */
	CHECK(sampler_sample(s, l) == 3);
	CHECK(fabsf(l[1] - 2.0f) < 1e-6f && fabsf(l[2] - 1.9f) < 1e-6f);
	sampler_free(s);

	p.frequency_penalty = 0.0f;
	p.presence_penalty = 0.5f;
	CHECK((s = sampler_new(&p, NV)) != NULL);
	sampler_accept(s, 1);
	sampler_accept(s, 1);
	memset(l, 0, sizeof(l));
	l[1] = 3.0f;
	l[2] = 2.6f;
	/* presence counts once: 3 - 0.5 = 2.5 < 2.6 */
	CHECK(sampler_sample(s, l) == 2);
	CHECK(fabsf(l[1] - 2.5f) < 1e-6f);
	sampler_free(s);
}

static void
test_softmax_distribution(void)
{
	struct sampler_params p = params(1.0f, 0, 1.0f, 0.0f, 2024);
	struct sampler *s;
	float l[3];
	double want[3], z = 0.0, err, worst = 0.0;
	int hits[3] = { 0 }, i, n = 100000;

	CHECK((s = sampler_new(&p, 3)) != NULL);
	for (i = 0; i < n; i++) {
		l[0] = 1.0f;
		l[1] = 2.0f;
		l[2] = 0.5f;
		hits[sampler_sample(s, l)]++;
	}
	sampler_free(s);
	want[0] = exp(1.0);
	want[1] = exp(2.0);
	want[2] = exp(0.5);
	for (i = 0; i < 3; i++)
		z += want[i];
	for (i = 0; i < 3; i++) {
		err = fabs((double)hits[i] / n - want[i] / z);
		if (err > worst)
			worst = err;
	}
	printf("  softmax: %d/%d/%d of %d draws, worst error %.4f\n",
	    hits[0], hits[1], hits[2], n, worst);
	/* the standard error is about 0.0015 */
	CHECK(worst < 0.008);

	/* temperature 0.5 sharpens: the best token's share grows */
	p.temperature = 0.5f;
	CHECK((s = sampler_new(&p, 3)) != NULL);
	hits[0] = hits[1] = hits[2] = 0;
	for (i = 0; i < n; i++) {
		l[0] = 1.0f;
		l[1] = 2.0f;
		l[2] = 0.5f;
		hits[sampler_sample(s, l)]++;
	}
	sampler_free(s);
	z = exp(2.0) + exp(4.0) + exp(1.0);
	CHECK(fabs((double)hits[1] / n - exp(4.0) / z) < 0.008);
}

int
main(void)
{
	TEST_RUN(test_defaults);
	TEST_RUN(test_greedy);
	TEST_RUN(test_top_k_1_is_greedy);
	TEST_RUN(test_top_k);
	TEST_RUN(test_seed);
	TEST_RUN(test_top_p_min_p);
	TEST_RUN(test_repeat_penalty);
	TEST_RUN(test_presence_frequency);
	TEST_RUN(test_softmax_distribution);
	TEST_EXIT();
}
