/*
 * Matrix products for the forward pass: the activations are quantized once
 * to the weight's dot type, then the weight's rows (times tiles of
 * activation rows for a batch) are cut into tasks sized so the pool's
 * threads stay balanced and each kernel call keeps several rows in flight.
 */
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/pool.h"
#include "util/xmalloc.h"

/* One matrix of a grouped product: its rows are cut into tasks. */
struct model_matmul_part {
	const struct model_weight	*w;
	const void			*data;	/* w's plain or x8 rows */
	quant_gemm_fn			 gemm;
	float				*out;
	int				 rows_per_task;
	int				 row_tasks;
	int				 first_task;
};

#define MODEL_MATMUL_ACT_TILE	64
/* Row tasks a thread and rows a task at most: most products, and the
 * float types' prompts (see model_matmul_group). */
#define MODEL_MATMUL_TASKS		16
#define MODEL_MATMUL_ROWS_MAX		256
#define MODEL_MATMUL_FLOAT_TASKS	4
#define MODEL_MATMUL_FLOAT_ROWS_MAX	1024

/*
 * Products of one input with up to three matrices (q/k/v, gate/up): the
 * input is quantized once and every matrix's tasks go out in one job, so
 * the threads meet once instead of three times.
 */
struct model_matmul_job {
	struct model_matmul_part part[MODEL_MATMUL_MAX_PARTS];
	int			 n_parts;
	const char		*acts;
	size_t			 act_row;
	const float		*in;
	int64_t			 n_in;
	int			 n;
	int			 acts_per_task;
	quant_quantize_fn	 quantize;
};

static void
model_matmul_quantize_task(void *arg, int task, int thread)
{
	struct model_matmul_job *j = arg;

	(void)thread;
	j->quantize(j->in + (size_t)task * j->n_in,
	    (char *)j->acts + (size_t)task * j->act_row, j->n_in);
}

static void
model_matmul_task(void *arg, int task, int thread)
{
	struct model_matmul_job *j = arg;
	const struct model_matmul_part *p = &j->part[0];
	int i, rt, at, a0, nr, na;
	int64_t r0;

	(void)thread;
	for (i = 1; i < j->n_parts && task >= j->part[i].first_task; i++)
		p = &j->part[i];
	task -= p->first_task;
	rt = task % p->row_tasks;
	at = task / p->row_tasks;
	r0 = (int64_t)rt * p->rows_per_task;
	a0 = at * j->acts_per_task;
	nr = p->rows_per_task;
	na = j->acts_per_task;
	if (r0 + nr > p->w->n_out)
		nr = (int)(p->w->n_out - r0);
	if (a0 + na > j->n)
		na = j->n - a0;
	p->gemm(j->n_in, (const char *)p->data + (size_t)r0 *
	    p->w->row_bytes, p->w->row_bytes, nr, j->acts + (size_t)a0 *
	    j->act_row, j->act_row, na, p->out + (size_t)a0 * p->w->n_out + r0,
	    (size_t)p->w->n_out);
}

size_t
model_matmul_acts_bytes(const struct model_weight *w, int n)
{
	enum ggml_type dot = quant_type_info(w->type)->dot_type;

	if (dot == GGML_TYPE_F32 || n <= 0)
		return 0;
	return quant_row_size(dot, w->n_in) * (size_t)n;
}

void
model_matmul_group(struct pool *pool, const struct model_weight *const *w,
    float *const *out, int n_parts, const float *in, int n, void *acts)
{
	enum ggml_type dot = quant_type_info(w[0]->type)->dot_type;
	struct model_matmul_job j;
	int threads = pool_size(pool), act_tasks, tasks = 0, i, per, cap;
	int float_prompt;
	char *buf = NULL;

	for (i = 1; i < n_parts; i++) {
		if (quant_type_info(w[i]->type)->dot_type != dot ||
		    w[i]->n_in != w[0]->n_in) {
			/* different activation types: one job each */
			for (i = 0; i < n_parts; i++)
				model_matmul_group(pool, &w[i], &out[i], 1, in,
				    n, acts);
			return;
		}
	}
	memset(&j, 0, sizeof(j));
	j.n_parts = n_parts;
	j.n = n;
	j.in = in;
	j.n_in = w[0]->n_in;
	if (dot == GGML_TYPE_F32) {
		j.acts = (const char *)in;
		j.act_row = (size_t)j.n_in * sizeof(float);
	} else {
		j.act_row = quant_row_size(dot, j.n_in);
		if (acts == NULL)
			acts = buf = xmalloc(j.act_row * (size_t)n);
		j.acts = acts;
		j.quantize = quant_get_quantize(dot);
		pool_run(pool, model_matmul_quantize_task, &j, n);
	}
	j.acts_per_task = n < MODEL_MATMUL_ACT_TILE ? n : MODEL_MATMUL_ACT_TILE;
	act_tasks = (n + j.acts_per_task - 1) / j.acts_per_task;
	for (i = 0; i < n_parts; i++) {
		struct model_matmul_part *p = &j.part[i];

		p->w = w[i];
		p->out = out[i];
		p->data = model_weight_bytes(w[i], NULL);
		p->gemm = w[i]->x8 != NULL ? quant_get_gemm_x8(w[i]->type) :
		    quant_get_gemm(w[i]->type);
		/* Enough row tasks to balance the threads, each a multiple
		 * of 16 rows so kernels can keep several rows in flight (and
		 * interleaved panels of eight are never cut). The float
		 * types' kernel converts and packs all of a call's
		 * activations before it starts: their prompts get four
		 * tasks a thread, not sixteen, and larger ones (an F16
		 * 2048-wide product at 64 activations: 89 GFLOP/s in calls
		 * of 64 rows, 95 of 128, 105 of 512). With one thread there
		 * is nothing to balance: one call a matrix (a 1.1B F16
		 * prompt of 64 tokens: 44.8-48.9 -> 47.1-51.4 tokens/s). */
		float_prompt = n > 1 && dot == w[i]->type;
		per = float_prompt ? MODEL_MATMUL_FLOAT_TASKS :
		    MODEL_MATMUL_TASKS;
		cap = float_prompt ? MODEL_MATMUL_FLOAT_ROWS_MAX :
		    MODEL_MATMUL_ROWS_MAX;
		if (float_prompt && threads == 1)
			per = 1, cap = (int)w[i]->n_out;
		p->rows_per_task = (int)((w[i]->n_out + threads * per - 1) /
		    (threads * per));
		if (act_tasks > 1)
			p->rows_per_task = (int)((w[i]->n_out + threads - 1) /
			    threads);
		p->rows_per_task = (p->rows_per_task + 15) & ~15;
		if (p->rows_per_task > cap)
			p->rows_per_task = cap;
		if (p->rows_per_task < 16)
			p->rows_per_task = 16;
		p->row_tasks = (int)((w[i]->n_out + p->rows_per_task - 1) /
		    p->rows_per_task);
		p->first_task = tasks;
		tasks += p->row_tasks * act_tasks;
	}
	pool_run(pool, model_matmul_task, &j, tasks);
	free(buf);
}

const void *
model_weight_bytes(const struct model_weight *w, size_t *n)
{
	if (w->x8 != NULL) {
		if (n != NULL)
			*n = quant_x8_bytes(w->type, w->n_in, w->n_out);
		return w->x8;
	}
	if (n != NULL)
		*n = w->data != NULL ? w->row_bytes * (size_t)w->n_out : 0;
	return w->data;
}

void
model_matmul(struct pool *pool, const struct model_weight *w, const float *in,
    int n, float *out)
{
	model_matmul_group(pool, &w, &out, 1, in, n, NULL);
}
