/*
 * A rate over the last seconds: counts added at a time fall in one-second
 * buckets of a ring that covers RATE_SECONDS, so a node can say how many
 * tokens per second it served over the last 10 s and the last minute
 * without keeping every event. Not locked: the owner's lock guards it.
 */
#ifndef SWARM_UTIL_RATE_H
#define SWARM_UTIL_RATE_H

#include <stdint.h>

#define RATE_SECONDS	60

struct rate {
	int64_t		sec[RATE_SECONDS];	/* the second each bucket holds */
	uint64_t	count[RATE_SECONDS];
	double		start;			/* when counting began */
};

/* Starts counting at now (seconds, any monotonic clock). */
void	rate_init(struct rate *, double now);
void	rate_add(struct rate *, double now, uint64_t n);
/*
 * Counts per second over the last window seconds (1..RATE_SECONDS) before
 * now; a rate started less than window ago is divided by its age.
 */
double	rate_per_second(const struct rate *, double now, int window);

#endif
