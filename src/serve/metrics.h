/*
 * The gateway's Prometheus exposition: answers by status, tokens in and
 * out, and two histograms (time to the first token, generation speed),
 * counted from many threads at once.
 */
#ifndef SWARM_SERVE_METRICS_H
#define SWARM_SERVE_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define METRICS_NSTATUS		600
#define METRICS_HIST_MAX	16

/* A histogram over fixed bucket bounds. */
struct metrics_hist {
	const double	*le;
	size_t		 n;
	uint64_t	 count[METRICS_HIST_MAX];	/* per bucket, +Inf last */
	uint64_t	 total;
	double		 sum;
};

struct metrics {
	pthread_mutex_t		 mu;
	uint64_t		 by_status[METRICS_NSTATUS];
	uint64_t		 tokens_in;
	uint64_t		 tokens_out;
	struct metrics_hist	 ttft;		/* seconds */
	struct metrics_hist	 tps;		/* generated tokens/s */
};

void	metrics_init(struct metrics *);
void	metrics_release(struct metrics *);
void	metrics_count_status(struct metrics *, int status);
/*
 * A generation done: prompt tokens, generated tokens, the seconds to the
 * first token (< 0: unknown) and those spent after it.
 */
void	metrics_count_done(struct metrics *, size_t in, size_t out,
	    double ttft, double gen_seconds);
/* The text exposition, with the two gauges the caller keeps. */
void	metrics_render(struct metrics *, int active, int active_streams,
	    struct strbuf *out);

#endif
