/*
 * bench-model: the speed of a whole model on this machine, measured the way
 * llama-bench measures it so the figures compare with llama.cpp's:
 *
 *   ppN  prompt processing: N tokens evaluated as one batch from an empty
 *        KV cache (logits for the last row only), in tokens per second;
 *   tgN  text generation: N tokens one at a time after a short prompt, each
 *        step embedding, every block, the head and a greedy pick.
 *
 * Each test runs R times per thread count after an untimed warm-up (which
 * also pages the mapped weights in); the table gives the median and half
 * the spread between the fastest and the slowest run. It calls the core
 * directly, so no tokenizer or sampler time is counted. Generation is
 * bound by memory bandwidth: every step reads every block's weights and
 * the output matrix, so the bytes read per token times tg speed is the
 * bandwidth the run achieved. To compare it with what the machine gives,
 * each run also reads those same bytes once with nothing done to them
 * (the "read" figure): tg cannot beat read GB/s / bytes per token.
 * --plain keeps the matrices in the file's layout (no interleaving at
 * load), to measure what the repacking gives.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/quant.h"
#include "util/parse.h"
#include "util/xmalloc.h"

#include "read-pass.h"

#define BENCH_MAX_THREADS	16
#define BENCH_SHORT_PROMPT	4	/* tokens evaluated before a tg run */

struct bench_stat {
	double	 median;
	double	 min;
	double	 max;
	double	 mean;
	double	 stddev;
};

struct bench_ctx {
	const struct model	*m;
	struct pool		*pool;
	struct kv_cache		*kv;
	float			*hidden;
	float			*logits;
	int32_t			*tokens;
	int32_t			*pos;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench-model [-t threads,...] [-r reps] [-p n_prompt]"
	    " [-n n_gen]\n"
	    "                   [--json FILE] [--no-header] [--plain] model.gguf\n");
	exit(2);
}

static void
die(const char *what, char *cause) __attribute__((noreturn));

static void
die(const char *what, char *cause)
{
	fprintf(stderr, "bench-model: %s%s%s\n", what, cause ? ": " : "",
	    cause ? cause : "");
	free(cause);
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
bench_stats(const double *v, int n, struct bench_stat *st)
{
	double *s = xcalloc((size_t)n, sizeof(*s)), var = 0;
	int i;

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), bench_cmp);
	st->min = s[0];
	st->max = s[n - 1];
	st->median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
	st->mean = 0;
	for (i = 0; i < n; i++)
		st->mean += s[i] / n;
	for (i = 0; i < n; i++)
		var += (s[i] - st->mean) * (s[i] - st->mean);
	st->stddev = n > 1 ? sqrt(var / (n - 1)) : 0;
	free(s);
}

/* llama.cpp's general.file_type names. */
static const char *
bench_ftype_name(uint32_t ft)
{
	static const char *names[] = {
		[0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1",
		[7] = "Q8_0", [8] = "Q5_0", [9] = "Q5_1", [10] = "Q2_K",
		[11] = "Q3_K_S", [12] = "Q3_K_M", [13] = "Q3_K_L",
		[14] = "Q4_K_S", [15] = "Q4_K_M", [16] = "Q5_K_S",
		[17] = "Q5_K_M", [18] = "Q6_K", [32] = "BF16",
	};

	if (ft < sizeof(names) / sizeof(names[0]) && names[ft] != NULL)
		return names[ft];
	return "?";
}

static int
bench_argmax(const float *v, uint32_t n)
{
	uint32_t i, best = 0;

	for (i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int)best;
}

/* Evaluates tokens[0, n) at positions pos0.. and the head on the last row. */
static void
bench_eval(struct bench_ctx *c, const int32_t *tokens, int n, int32_t pos0)
{
	const struct model *m = c->m;
	char *cause = NULL;
	int i;

	for (i = 0; i < n; i++)
		c->pos[i] = pos0 + i;
	if (model_embed(m, tokens, n, c->hidden, &cause) != 0 ||
	    model_forward_blocks(m, c->pool, 0, m->hp.n_layer, c->hidden,
	    c->pos, n, c->kv, &cause) != 0 ||
	    model_head(m, c->pool, c->hidden + (size_t)(n - 1) * m->hp.n_embd,
	    1, c->logits, &cause) != 0)
		die("evaluation failed", cause);
}

/* Prompt processing: tokens per second of one batch of n_prompt. */
static double
bench_pp(struct bench_ctx *c, int n_prompt)
{
	double t0;

	c->kv->n_filled = 0;	/* a fresh cache */
	t0 = now();
	bench_eval(c, c->tokens, n_prompt, 0);
	return n_prompt / (now() - t0);
}

/* Generation: tokens per second of n_gen single-token steps. */
/*
 * The bandwidth limit: the bytes a generated token reads (every block
 * tensor, the output norm and matrix), read once with the same pool and
 * nothing else done to them, in chunks spread over the threads. Generation
 * cannot beat this reading rate divided by the bytes per token.
 */
#define BENCH_READ_CHUNK	(1u << 20)

struct bench_read {
	const uint8_t	**ptr;		/* chunks of at most BENCH_READ_CHUNK */
	size_t		 *len;
	int		  n;
	uint64_t	  sink[BENCH_MAX_THREADS];
};

static void
bench_read_task(void *arg, int task, int thread)
{
	struct bench_read *b = arg;

	b->sink[thread] += read_pass(b->ptr[task], b->len[task]);
}

static void
bench_read_add(struct bench_read *b, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t o, len;

	for (o = 0; o < n; o += len) {
		len = n - o < BENCH_READ_CHUNK ? n - o : BENCH_READ_CHUNK;
		b->ptr = xreallocarray(b->ptr, (size_t)b->n + 1,
		    sizeof(*b->ptr));
		b->len = xreallocarray(b->len, (size_t)b->n + 1,
		    sizeof(*b->len));
		b->ptr[b->n] = p + o;
		b->len[b->n] = len;
		b->n++;
	}
}

/* GB/s of one pass over the chunks */
static double
bench_read(struct pool *pool, struct bench_read *b, uint64_t bytes)
{
	double t0 = now();

	pool_run(pool, bench_read_task, b, b->n);
	return bytes / (now() - t0) / 1e9;
}

static double
bench_tg(struct bench_ctx *c, int n_gen)
{
	int32_t tok;
	double t0;
	int i;

	c->kv->n_filled = 0;
	bench_eval(c, c->tokens, BENCH_SHORT_PROMPT, 0);
	tok = bench_argmax(c->logits, c->m->hp.n_vocab);
	t0 = now();
	for (i = 0; i < n_gen; i++) {
		bench_eval(c, &tok, 1, BENCH_SHORT_PROMPT + i);
		tok = bench_argmax(c->logits, c->m->hp.n_vocab);
	}
	return n_gen / (now() - t0);
}

static void
bench_parse_threads(const char *s, int *t, int *n)
{
	char *copy = xstrdup(s), *p, *save = NULL;
	const char *errstr;

	*n = 0;
	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (*n == BENCH_MAX_THREADS)
			break;
		t[(*n)++] = (int)parse_uint(p, 1, 256, &errstr);
		if (errstr != NULL) {
			fprintf(stderr, "bench-model: -t '%s': %s\n", p, errstr);
			exit(2);
		}
	}
	free(copy);
	if (*n == 0)
		usage();
}

static int
bench_num(const char *opt, const char *s, int min, int max)
{
	const char *errstr;
	int v = (int)parse_uint(s, (uint64_t)min, (uint64_t)max, &errstr);

	if (errstr != NULL) {
		fprintf(stderr, "bench-model: %s '%s': %s\n", opt, s, errstr);
		exit(2);
	}
	return v;
}

static void
bench_size(char *buf, size_t len, double bytes)
{
	if (bytes >= 1024.0 * 1048576.0)
		snprintf(buf, len, "%.2f GiB", bytes / (1024.0 * 1048576.0));
	else
		snprintf(buf, len, "%.2f MiB", bytes / 1048576.0);
}

/* Parameter counts as llama-bench prints them: 1.10 B, 260.0 K. */
static void
bench_count(char *buf, size_t len, double n, int space)
{
	const char *sp = space ? " " : "";

	if (n >= 1e9)
		snprintf(buf, len, "%.2f%sB", n / 1e9, sp);
	else if (n >= 1e6)
		snprintf(buf, len, "%.2f%sM", n / 1e6, sp);
	else
		snprintf(buf, len, "%.2f%sK", n / 1e3, sp);
}

static json_t *
bench_stat_json(const struct bench_stat *st, const double *v, int n)
{
	json_t *o = json_object(), *a = json_array();
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	json_object_set_new(o, "median", json_real(st->median));
	json_object_set_new(o, "min", json_real(st->min));
	json_object_set_new(o, "max", json_real(st->max));
	json_object_set_new(o, "mean", json_real(st->mean));
	json_object_set_new(o, "stddev", json_real(st->stddev));
	json_object_set_new(o, "samples", a);
	return o;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "reps", required_argument, NULL, 'r' },
		{ "n-prompt", required_argument, NULL, 'p' },
		{ "n-gen", required_argument, NULL, 'n' },
		{ "json", required_argument, NULL, 'j' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "plain", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int threads[BENCH_MAX_THREADS] = { 1, 2 }, n_threads = 2;
	int reps = 5, n_prompt = 64, n_gen = 32, header = 1, plain = 0, c, ti;
	int r;
	const char *json_path = NULL, *path;
	struct gguf_file *gf;
	struct model_hparams hp;
	struct model *m;
	struct bench_ctx bc;
	struct stat sb;
	struct rusage ru;
	struct bench_read rd;
	uint64_t i, n_params = 0, per_token = 0;
	uint32_t ftype = 0, n_ctx, l;
	double *pp, *tg, *rb, load_s, t0;
	char size[32], params[32], model_name[64];
	const char *isa, *type;
	char *cause = NULL;
	json_t *root, *runs;

	while ((c = getopt_long(argc, argv, "t:r:p:n:j:HPh", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 't': bench_parse_threads(optarg, threads, &n_threads); break;
		case 'r': reps = bench_num("-r", optarg, 1, 1000); break;
		case 'p': n_prompt = bench_num("-p", optarg, 1, 4096); break;
		case 'n': n_gen = bench_num("-n", optarg, 1, 4096); break;
		case 'j': json_path = optarg; break;
		case 'H': header = 0; break;
		case 'P': plain = MODEL_LOAD_PLAIN; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	path = argv[optind];

	t0 = now();
	if ((gf = gguf_open(path, &cause)) == NULL)
		die("cannot load model", cause);
	bc.pool = pool_new(threads[n_threads - 1]);
	if (model_read_hparams(gf, &hp, &cause) != 0 ||
	    (m = model_load(gf, 0, hp.n_layer, MODEL_LOAD_EMBED |
	    MODEL_LOAD_HEAD | plain, bc.pool, &cause)) == NULL)
		die("cannot load model", cause);
	pool_free(bc.pool);
	load_s = now() - t0;
	if (stat(path, &sb) != 0)
		die(xasprintf("cannot stat '%s'", path), NULL);
	gguf_get_u32(gf, "general.file_type", &ftype);
	type = bench_ftype_name(ftype);

	/* Weights read per generated token: every block tensor, the output
	 * norm and the output matrix (the embedding costs one row), where
	 * the products read them (an interleaved copy or the file). */
	memset(&rd, 0, sizeof(rd));
	for (i = 0; i < gf->n_tensors; i++)
		n_params += gf->tensors[i].n_elements;
	for (l = 0; l <= hp.n_layer; l++) {
		const struct model_block *b = &m->blocks[l < hp.n_layer ? l : 0];
		const struct model_weight *bw[] = { &b->attn_norm, &b->wq,
		    &b->wk, &b->wv, &b->wo, &b->bq, &b->bk, &b->bv,
		    &b->ffn_norm, &b->w_gate, &b->w_up, &b->w_down };
		const struct model_weight *hw[] = { &m->output_norm,
		    &m->output };
		const struct model_weight *const *w = l < hp.n_layer ? bw : hw;
		size_t nw = l < hp.n_layer ? sizeof(bw) / sizeof(bw[0]) : 2, k;

		for (k = 0; k < nw; k++) {
			size_t n;
			const void *p = model_weight_bytes(w[k], &n);

			if (p != NULL) {
				per_token += n;
				bench_read_add(&rd, p, n);
			}
		}
	}
	bench_count(params, sizeof(params), (double)n_params, 0);
	snprintf(model_name, sizeof(model_name), "%s %s", m->hp.arch_name,
	    params);
	bench_size(size, sizeof(size), (double)sb.st_size);
	bench_count(params, sizeof(params), (double)n_params, 1);
	isa = quant_isa_name(quant_isa());

	memset(&bc, 0, sizeof(bc));
	bc.m = m;
	n_ctx = (uint32_t)(n_prompt > BENCH_SHORT_PROMPT + n_gen ? n_prompt :
	    BENCH_SHORT_PROMPT + n_gen);
	if ((bc.kv = kv_cache_new(m, 0, m->hp.n_layer, n_ctx, &cause)) == NULL)
		die("cannot make the KV cache", cause);
	bc.hidden = xcalloc((size_t)(n_prompt > BENCH_SHORT_PROMPT ? n_prompt :
	    BENCH_SHORT_PROMPT) * m->hp.n_embd, sizeof(float));
	bc.logits = xcalloc(m->hp.n_vocab, sizeof(float));
	bc.pos = xcalloc((size_t)n_prompt + BENCH_SHORT_PROMPT, sizeof(int32_t));
	bc.tokens = xcalloc((size_t)n_prompt + BENCH_SHORT_PROMPT,
	    sizeof(int32_t));
	{
		/* Seeded token ids after the specials: the same prompt for
		 * every model of a vocabulary. */
		uint64_t s = 0x9e3779b97f4a7c15ULL;
		int k;

		bc.tokens[0] = 1;	/* BOS */
		for (k = 1; k < n_prompt + BENCH_SHORT_PROMPT; k++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			bc.tokens[k] = (int32_t)(3 + s % (m->hp.n_vocab > 3 ?
			    m->hp.n_vocab - 3 : 1));
			if ((uint32_t)bc.tokens[k] >= m->hp.n_vocab)
				bc.tokens[k] = 0;
		}
	}

	fprintf(stderr, "bench-model: %s: %s, %s, %u blocks, loaded in %.2f s, "
	    "isa %s; %d reps\n", path, type, size, m->hp.n_layer, load_s, isa,
	    reps);
	if (header) {
		printf("| model | type | size | params | isa | threads | test |"
		    " t/s | GB/s |\n");
		printf("| --- | --- | ---: | ---: | --- | ---: | --- | ---: |"
		    " ---: |\n");
		fflush(stdout);
	}

	pp = xcalloc((size_t)reps, sizeof(*pp));
	tg = xcalloc((size_t)reps, sizeof(*tg));
	rb = xcalloc((size_t)reps, sizeof(*rb));
	root = json_object();
	runs = json_array();
	for (ti = 0; ti < n_threads; ti++) {
		struct bench_stat sp, sg, sr;
		json_t *run;
		double gbps;

		bc.pool = pool_new(threads[ti]);
		/* warm-up: pages the weights in, starts the workers */
		bench_pp(&bc, n_prompt);
		bench_tg(&bc, 2);
		for (r = 0; r < reps; r++) {
			pp[r] = bench_pp(&bc, n_prompt);
			tg[r] = bench_tg(&bc, n_gen);
			rb[r] = bench_read(bc.pool, &rd, per_token);
			fprintf(stderr, "bench-model: %d threads, run %d: pp%d "
			    "%.2f t/s, tg%d %.2f t/s, read %.1f GB/s\n",
			    threads[ti], r + 1, n_prompt, pp[r], n_gen, tg[r],
			    rb[r]);
		}
		pool_free(bc.pool);
		bench_stats(pp, reps, &sp);
		bench_stats(tg, reps, &sg);
		bench_stats(rb, reps, &sr);
		gbps = per_token * sg.median / 1e9;
		fprintf(stderr, "bench-model: %d threads: the weights read at "
		    "%.1f GB/s, a limit of %.1f t/s; tg%d reaches %.0f%% of "
		    "it\n", threads[ti], sr.median, sr.median * 1e9 /
		    per_token, n_gen, 100 * gbps / sr.median);
		printf("| %s | %s | %s | %s | %s | %d | pp%d | %.2f ± %.2f | |\n",
		    model_name, type, size, params, isa, threads[ti], n_prompt,
		    sp.median, (sp.max - sp.min) / 2);
		printf("| %s | %s | %s | %s | %s | %d | tg%d | %.2f ± %.2f |"
		    " %.1f |\n", model_name, type, size, params, isa,
		    threads[ti], n_gen, sg.median, (sg.max - sg.min) / 2, gbps);
		fflush(stdout);

		run = json_object();
		json_object_set_new(run, "threads", json_integer(threads[ti]));
		json_object_set_new(run, "pp", bench_stat_json(&sp, pp, reps));
		json_object_set_new(run, "tg", bench_stat_json(&sg, tg, reps));
		json_object_set_new(run, "tg_gbps", json_real(gbps));
		json_object_set_new(run, "read_gbps", bench_stat_json(&sr, rb,
		    reps));
		json_array_append_new(runs, run);
	}

	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "bench-model: peak RSS %.1f MiB; weights read per "
	    "token %.1f MiB\n", ru.ru_maxrss / 1024.0, per_token / 1048576.0);
	if (json_path != NULL) {
		json_object_set_new(root, "model", json_string(path));
		json_object_set_new(root, "name", json_string(model_name));
		json_object_set_new(root, "type", json_string(type));
		json_object_set_new(root, "file_bytes",
		    json_integer((json_int_t)sb.st_size));
		json_object_set_new(root, "params",
		    json_integer((json_int_t)n_params));
		json_object_set_new(root, "blocks", json_integer(m->hp.n_layer));
		json_object_set_new(root, "isa", json_string(isa));
		json_object_set_new(root, "interleaved", json_boolean(!plain));
		json_object_set_new(root, "n_prompt", json_integer(n_prompt));
		json_object_set_new(root, "n_gen", json_integer(n_gen));
		json_object_set_new(root, "reps", json_integer(reps));
		json_object_set_new(root, "bytes_per_token",
		    json_integer((json_int_t)per_token));
		json_object_set_new(root, "peak_rss_bytes",
		    json_integer((json_int_t)ru.ru_maxrss * 1024));
		json_object_set_new(root, "load_seconds", json_real(load_s));
		json_object_set_new(root, "runs", runs);
		runs = NULL;
		if (json_dump_file(root, json_path, JSON_INDENT(2)) != 0)
			die(xasprintf("cannot write '%s'", json_path), NULL);
	}
	json_decref(runs);
	json_decref(root);
	free(pp);
	free(tg);
	free(rb);
	free(rd.ptr);
	free(rd.len);
	free(bc.hidden);
	free(bc.logits);
	free(bc.pos);
	free(bc.tokens);
	kv_cache_free(bc.kv);
	model_free(m);
	gguf_close(gf);
	return 0;
}
