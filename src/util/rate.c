/*
 * Rates over a sliding window of one-second buckets (rate.h).
 */
#include <math.h>
#include <string.h>

#include "util/rate.h"

void
rate_init(struct rate *r, double now)
{
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < RATE_SECONDS; i++)
		r->sec[i] = -1;
	r->start = now;
}

void
rate_add(struct rate *r, double now, uint64_t n)
{
	int64_t s = (int64_t)floor(now);
	int i = (int)(((s % RATE_SECONDS) + RATE_SECONDS) % RATE_SECONDS);

	if (r->sec[i] != s) {
		r->sec[i] = s;
		r->count[i] = 0;
	}
	r->count[i] += n;
}

double
rate_per_second(const struct rate *r, double now, int window)
{
	int64_t s = (int64_t)floor(now);
	uint64_t sum = 0;
	double age;
	int i;

	if (window < 1)
		window = 1;
	if (window > RATE_SECONDS)
		window = RATE_SECONDS;
	/* The current second counts too: window buckets in all. */
	for (i = 0; i < RATE_SECONDS; i++)
		if (r->sec[i] > s - window && r->sec[i] <= s)
			sum += r->count[i];
	age = now - r->start;
	if (age > window)
		age = window;
	if (age < 1)
		age = 1;
	return (double)sum / age;
}
