/*
 * Counters and histograms behind one mutex; the exposition is Prometheus'
 * text format 0.0.4.
 */
#include <string.h>

#include "serve/metrics.h"
#include "util/strbuf.h"

static const double metrics_ttft_le[] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};
static const double metrics_tps_le[] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000
};
_Static_assert(sizeof(metrics_ttft_le) / sizeof(double) < METRICS_HIST_MAX,
    "ttft buckets");
_Static_assert(sizeof(metrics_tps_le) / sizeof(double) < METRICS_HIST_MAX,
    "tps buckets");

void
metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	m->ttft.le = metrics_ttft_le;
	m->ttft.n = sizeof(metrics_ttft_le) / sizeof(metrics_ttft_le[0]);
	m->tps.le = metrics_tps_le;
	m->tps.n = sizeof(metrics_tps_le) / sizeof(metrics_tps_le[0]);
}

void
metrics_release(struct metrics *m)
{
	pthread_mutex_destroy(&m->mu);
}

void
metrics_count_status(struct metrics *m, int status)
{
	pthread_mutex_lock(&m->mu);
	if (status >= 0 && status < METRICS_NSTATUS)
		m->by_status[status]++;
	pthread_mutex_unlock(&m->mu);
}

static void
metrics_hist_add(struct metrics_hist *h, double v)
{
	size_t i;

	for (i = 0; i < h->n && v > h->le[i]; i++)
		;
	h->count[i]++;
	h->total++;
	h->sum += v;
}

void
metrics_count_done(struct metrics *m, size_t in, size_t out, double ttft,
    double gen_seconds)
{
	pthread_mutex_lock(&m->mu);
	m->tokens_in += in;
	m->tokens_out += out;
	if (ttft >= 0)
		metrics_hist_add(&m->ttft, ttft);
	if (out > 1 && gen_seconds > 0)
		metrics_hist_add(&m->tps, (double)(out - 1) / gen_seconds);
	pthread_mutex_unlock(&m->mu);
}

static void
metrics_hist_print(const struct metrics_hist *h, const char *name,
    const char *help, struct strbuf *sb)
{
	uint64_t cum = 0;
	size_t i;

	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s histogram\n", name, help,
	    name);
	for (i = 0; i < h->n; i++) {
		cum += h->count[i];
		strbuf_addf(sb, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i],
		    (unsigned long long)cum);
	}
	strbuf_addf(sb, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
	    "%s_count %llu\n", name, (unsigned long long)h->total, name,
	    h->sum, name, (unsigned long long)h->total);
}

void
metrics_render(struct metrics *m, int active, int active_streams,
    struct strbuf *sb)
{
	size_t i;

	pthread_mutex_lock(&m->mu);
	strbuf_adds(sb, "# HELP swarm_serve_requests_total HTTP requests "
	    "answered, by status\n# TYPE swarm_serve_requests_total counter\n");
	for (i = 0; i < METRICS_NSTATUS; i++)
		if (m->by_status[i] > 0)
			strbuf_addf(sb, "swarm_serve_requests_total{status="
			    "\"%zu\"} %llu\n", i,
			    (unsigned long long)m->by_status[i]);
	strbuf_addf(sb, "# HELP swarm_serve_prompt_tokens_total prompt "
	    "tokens evaluated\n# TYPE swarm_serve_prompt_tokens_total counter\n"
	    "swarm_serve_prompt_tokens_total %llu\n"
	    "# HELP swarm_serve_completion_tokens_total tokens generated\n"
	    "# TYPE swarm_serve_completion_tokens_total counter\n"
	    "swarm_serve_completion_tokens_total %llu\n"
	    "# HELP swarm_serve_active_requests generations running\n"
	    "# TYPE swarm_serve_active_requests gauge\n"
	    "swarm_serve_active_requests %d\n"
	    "# HELP swarm_serve_active_streams streamed answers open\n"
	    "# TYPE swarm_serve_active_streams gauge\n"
	    "swarm_serve_active_streams %d\n",
	    (unsigned long long)m->tokens_in,
	    (unsigned long long)m->tokens_out, active, active_streams);
	metrics_hist_print(&m->ttft, "swarm_serve_time_to_first_token_seconds",
	    "from the request to the first token", sb);
	metrics_hist_print(&m->tps, "swarm_serve_generation_tokens_per_second",
	    "a request's generation speed after its first token", sb);
	pthread_mutex_unlock(&m->mu);
}
