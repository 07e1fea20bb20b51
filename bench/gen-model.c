/*
 * gen-model: writes a GGUF of any Llama shape filled with seeded random
 * weights, so the benchmarks (and tests) can run a model of a real size
 * without shipping one. The file looks like one llama.cpp made: the same
 * tensor names and shapes, the same per-tensor type mix for each file type,
 * full llama.* metadata and a SentencePiece-style vocabulary that the
 * tokenizer can encode any text with. A weight's values depend only on the
 * seed, the tensor name and the row, so files of different types hold the
 * same model quantized differently, and the thread count changes nothing.
 *
 * Files go to a cache directory under a name that encodes the shape, the
 * type and the seed; an existing file made with the same parameters is
 * reused. The path of the file is printed on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/gguf-write.h"
#include "core/gguf.h"
#include "core/pool.h"
#include "core/quant.h"
#include "util/parse.h"
#include "util/xmalloc.h"

/* Bumped whenever the bytes written for the same parameters change, so a
 * cached file from an older generator is made again. */
#define GEN_VERSION	2

#define GEN_SPACE	"\xe2\x96\x81"	/* U+2581, SentencePiece's space */

/* The file types, numbered as llama.cpp's general.file_type. */
struct gen_ftype {
	const char	*name;
	uint32_t	 file_type;
	enum ggml_type	 base;		/* type of most 2-D weights */
	int		 quantized;
};

static const struct gen_ftype gen_ftypes[] = {
	{ "F32", 0, GGML_TYPE_F32, 0 },
	{ "F16", 1, GGML_TYPE_F16, 0 },
	{ "Q4_0", 2, GGML_TYPE_Q4_0, 1 },
	{ "Q8_0", 7, GGML_TYPE_Q8_0, 1 },
	{ "Q4_K_M", 15, GGML_TYPE_Q4_K, 1 },
};

struct gen_shape {
	uint32_t	 n_block;
	uint32_t	 n_embd;
	uint32_t	 n_ff;
	uint32_t	 n_head;
	uint32_t	 n_head_kv;
	uint32_t	 n_vocab;
	uint32_t	 n_ctx;
	float		 rope_theta;
	float		 rms_eps;
	int		 tied;
	uint32_t	 head_dim;	/* 0: n_embd / n_head */
};

/* TinyLlama-1.1B (v1.0): the shape the benchmark reference figures use. */
static const struct gen_shape gen_tinyllama = {
	22, 2048, 5632, 32, 4, 32000, 2048, 10000.0f, 1e-5f, 0, 0
};

static int
gen_is_tinyllama(const struct gen_shape *s)
{
	const struct gen_shape *t = &gen_tinyllama;

	return s->n_block == t->n_block && s->n_embd == t->n_embd &&
	    s->n_ff == t->n_ff && s->n_head == t->n_head &&
	    s->n_head_kv == t->n_head_kv && s->n_vocab == t->n_vocab &&
	    s->n_ctx == t->n_ctx && s->tied == t->tied;
}

enum gen_role {
	GEN_TOKEN_EMBD,
	GEN_OUTPUT,
	GEN_NORM,
	GEN_ATTN_Q,
	GEN_ATTN_K,
	GEN_ATTN_V,
	GEN_ATTN_OUT,
	GEN_FFN_GATE,
	GEN_FFN_UP,
	GEN_FFN_DOWN,
};

struct gen_tensor {
	char		 name[64];
	enum gen_role	 role;
	enum ggml_type	 type;
	int64_t		 n_in;		/* row length, ne[0] */
	int64_t		 n_out;		/* rows, ne[1]; 1 for vectors */
	uint64_t	 key;		/* hash of the name: seeds the rows */
	size_t		 row_bytes;
	size_t		 n_bytes;
	void		*data;
};

struct gen_job {
	const struct gen_tensor	*t;
	uint64_t		 seed;
	float			**scratch;	/* one row per pool thread */
	int			 rows_per_task;
};

static int	gen_verbose = 1;
static int	gen_tty;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: gen-model [--shape tinyllama] [--type F32|F16|Q8_0|Q4_0|Q4_K_M]\n"
	    "                 [--blocks N] [--embd N] [--ffn N] [--heads N]"
	    " [--kv-heads N]\n"
	    "                 [--vocab N] [--ctx N] [--seed N] [--tied]"
	    " [--threads N] [--head-dim N]\n"
	    "                 [--dir DIR | --out FILE] [--force] [--quiet]\n");
	exit(2);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gen-model: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t
gen_fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* splitmix64: turns (seed, tensor, row) into a well-mixed xorshift state. */
static uint64_t
gen_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Normal deviates by inverse transform: a table of the standard normal's
 * quantiles at p = i / GEN_NQ, interpolated linearly. One xorshift draw
 * gives two deviates, which makes generating a billion weights a matter of
 * seconds (Box-Muller's log and sin/cos took longer than quantizing); the
 * tails are cut at about 3.7 sigma, which trained weights hardly exceed.
 */
#define GEN_NQ_BITS	12
#define GEN_NQ		(1 << GEN_NQ_BITS)

static float	gen_quantile[GEN_NQ + 1];

static void
gen_quantile_init(void)
{
	int i, k;

	for (i = 0; i <= GEN_NQ; i++) {
		/* p = i / GEN_NQ, kept off 0 and 1 by half a step */
		double p = (i == 0 ? 0.5 : i == GEN_NQ ? GEN_NQ - 0.5 : i) /
		    (double)GEN_NQ;
		double lo = -10, hi = 10;

		/* solve 0.5 * erfc(-x / sqrt 2) = p by bisection */
		for (k = 0; k < 60; k++) {
			double mid = 0.5 * (lo + hi);

			if (0.5 * erfc(-mid / M_SQRT2) < p)
				lo = mid;
			else
				hi = mid;
		}
		gen_quantile[i] = (float)(0.5 * (lo + hi));
	}
}

/* xorshift64* */
static uint64_t
gen_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline float
gen_deviate(uint32_t bits)
{
	uint32_t i = bits >> (32 - GEN_NQ_BITS);
	float f = (float)(bits & ((1u << (32 - GEN_NQ_BITS)) - 1)) *
	    (1.0f / (1u << (32 - GEN_NQ_BITS)));

	return gen_quantile[i] + f * (gen_quantile[i + 1] - gen_quantile[i]);
}

/* Fills a row with mean + std * N(0, 1). */
static void
gen_normal_row(uint64_t *s, float *dst, int64_t n, float mean, float std)
{
	int64_t i;

	for (i = 0; i < n; i += 2) {
		uint64_t x = gen_next(s);

		dst[i] = mean + std * gen_deviate((uint32_t)(x >> 32));
		if (i + 1 < n)
			dst[i + 1] = mean + std * gen_deviate((uint32_t)x);
	}
}

static void
gen_rows(void *arg, int task, int thread)
{
	const struct gen_job *job = arg;
	const struct gen_tensor *t = job->t;
	float *row = job->scratch[thread];
	int64_t r, r0 = (int64_t)task * job->rows_per_task;
	int64_t r1 = r0 + job->rows_per_task;
	/* Norm weights sit near 1 as in trained models; the rest is the
	 * usual initialisation scale, which keeps activations finite. */
	float mean = t->role == GEN_NORM ? 1.0f : 0.0f;
	float std = t->role == GEN_NORM ? 0.05f : 0.02f;

	if (r1 > t->n_out)
		r1 = t->n_out;
	for (r = r0; r < r1; r++) {
		uint64_t s = gen_mix(job->seed ^ gen_mix(t->key ^
		    gen_mix((uint64_t)r)));
		void *dst = (char *)t->data + (size_t)r * t->row_bytes;

		if (s == 0)
			s = 1;
		gen_normal_row(&s, row, t->n_in, mean, std);
		if (t->type == GGML_TYPE_F32)
			memcpy(dst, row, (size_t)t->n_in * sizeof(float));
		else
			quant_quantize_row_ref(t->type, row, dst, t->n_in);
	}
}

/*
 * llama.cpp's use_more_bits(): the first and last eighth of the layers and
 * every third one in between get more bits in the _M mixes.
 */
static int
gen_use_more_bits(uint32_t i, uint32_t n)
{
	return i < n / 8 || i >= 7 * n / 8 || (int64_t)(i - n / 8) % 3 == 2;
}

static uint32_t
gen_block_size(enum ggml_type type)
{
	const struct quant_type_info *ti = quant_type_info(type);

	return ti != NULL ? ti->block_size : 1;
}

/*
 * The type of a tensor, as llama.cpp's quantizer (llama_tensor_get_type in
 * llama-quant.cpp) picks it for the file types we make:
 *
 *  - 1-D tensors (the norms) stay F32; F32 and F16 files keep every 2-D
 *    weight in that type (the quantizer does not remix unquantized types).
 *  - output.weight (or, when the output is tied, token_embd.weight, which
 *    then plays its part) becomes Q6_K unless the base type is Q8_0; this
 *    is why a Q4_0 file holds its output matrix in Q6_K.
 *  - Q4_K_M: the base is Q4_K (token_embd included); attn_v.weight and
 *    ffn_down.weight become Q6_K on the layers where use_more_bits() holds.
 *  - A row length that is not a multiple of the chosen type's block falls
 *    back as llama.cpp does: Q4_K -> Q5_0, Q6_K -> Q8_0 (and an output
 *    whose rows do not fit the base block goes straight to Q8_0).
 */
static enum ggml_type
gen_tensor_type(const struct gen_ftype *ft, const struct gen_shape *sh,
    enum gen_role role, uint32_t layer, int64_t n_in)
{
	enum ggml_type type = ft->base;

	if (role == GEN_NORM)
		return GGML_TYPE_F32;
	if (!ft->quantized)
		return type;
	if (role == GEN_OUTPUT || (role == GEN_TOKEN_EMBD && sh->tied)) {
		if (n_in % gen_block_size(type) != 0)
			type = GGML_TYPE_Q8_0;
		else if (type != GGML_TYPE_Q8_0)
			type = GGML_TYPE_Q6_K;
	} else if (ft->file_type == 15 && (role == GEN_ATTN_V ||
	    role == GEN_FFN_DOWN) && gen_use_more_bits(layer, sh->n_block))
		type = GGML_TYPE_Q6_K;

	if (n_in % gen_block_size(type) != 0) {
		if (type == GGML_TYPE_Q4_K)
			type = GGML_TYPE_Q5_0;
		else if (type == GGML_TYPE_Q6_K)
			type = GGML_TYPE_Q8_0;
	}
	return type;
}

static void
gen_add(struct gen_tensor *t, size_t *n, const char *name, enum gen_role role,
    int64_t n_in, int64_t n_out, const struct gen_ftype *ft,
    const struct gen_shape *sh, uint32_t layer)
{
	struct gen_tensor *x = &t[(*n)++];

	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->role = role;
	x->n_in = n_in;
	x->n_out = n_out;
	x->type = gen_tensor_type(ft, sh, role, layer, n_in);
	x->key = gen_fnv1a(name);
	x->row_bytes = quant_row_size(x->type, n_in);
	if (x->row_bytes == 0)
		die("tensor '%s': rows of %lld do not fit type %s", name,
		    (long long)n_in, quant_type_info(x->type)->name);
	x->n_bytes = x->row_bytes * (size_t)n_out;
}

/* A head's width: given (--head-dim), or the width over the heads. */
static int64_t
gen_head_dim(const struct gen_shape *sh)
{
	return sh->head_dim ? sh->head_dim : sh->n_embd / sh->n_head;
}

/* Tensors in the order llama.cpp's converter writes a Llama. */
static struct gen_tensor *
gen_tensors(const struct gen_ftype *ft, const struct gen_shape *sh,
    size_t *count)
{
	int64_t e = sh->n_embd, f = sh->n_ff, v = sh->n_vocab;
	int64_t hd = gen_head_dim(sh), kvd = hd * sh->n_head_kv;
	int64_t qd = hd * sh->n_head;
	struct gen_tensor *t = xcalloc((size_t)sh->n_block * 9 + 3, sizeof(*t));
	size_t n = 0;
	char name[64];
	uint32_t l;

#define BLK(suffix) (snprintf(name, sizeof(name), "blk.%u." suffix, l), name)
	gen_add(t, &n, "token_embd.weight", GEN_TOKEN_EMBD, e, v, ft, sh, 0);
	for (l = 0; l < sh->n_block; l++) {
		gen_add(t, &n, BLK("attn_norm.weight"), GEN_NORM, e, 1, ft, sh, l);
		gen_add(t, &n, BLK("attn_q.weight"), GEN_ATTN_Q, e, qd, ft, sh,
		    l);
		gen_add(t, &n, BLK("attn_k.weight"), GEN_ATTN_K, e, kvd, ft, sh, l);
		gen_add(t, &n, BLK("attn_v.weight"), GEN_ATTN_V, e, kvd, ft, sh, l);
		gen_add(t, &n, BLK("attn_output.weight"), GEN_ATTN_OUT, qd, e,
		    ft, sh, l);
		gen_add(t, &n, BLK("ffn_norm.weight"), GEN_NORM, e, 1, ft, sh, l);
		gen_add(t, &n, BLK("ffn_gate.weight"), GEN_FFN_GATE, e, f, ft, sh,
		    l);
		gen_add(t, &n, BLK("ffn_up.weight"), GEN_FFN_UP, e, f, ft, sh, l);
		gen_add(t, &n, BLK("ffn_down.weight"), GEN_FFN_DOWN, f, e, ft, sh,
		    l);
	}
#undef BLK
	gen_add(t, &n, "output_norm.weight", GEN_NORM, e, 1, ft, sh, 0);
	if (!sh->tied)
		gen_add(t, &n, "output.weight", GEN_OUTPUT, e, v, ft, sh, 0);
	*count = n;
	return t;
}

/* ---- vocabulary ---- */

struct gen_vocab {
	char		**tokens;
	float		 *scores;
	int32_t		 *types;
	uint32_t	  n;
	uint32_t	  cap;
	char		**set;		/* open addressing over tokens */
	size_t		  set_mask;
};

static void
gen_vocab_add(struct gen_vocab *v, const char *piece, float score, int32_t type)
{
	size_t i = gen_fnv1a(piece) & v->set_mask;

	if (v->n == v->cap)
		return;
	for (; v->set[i] != NULL; i = (i + 1) & v->set_mask)
		if (strcmp(v->set[i], piece) == 0)
			return;
	v->tokens[v->n] = v->set[i] = xstrdup(piece);
	v->scores[v->n] = score;
	v->types[v->n] = type;
	v->n++;
}

/* A normal piece: SentencePiece scores fall with rank. */
static void
gen_vocab_piece(struct gen_vocab *v, const char *piece)
{
	gen_vocab_add(v, piece, -(float)(v->n - 259), 1);
}

/* A word and every prefix of it, bare and after a space, so that the
 * tokenizer's pairwise merges can reach the whole word. */
static void
gen_vocab_word(struct gen_vocab *v, const char *w)
{
	char buf[64];
	size_t i, n = strlen(w);

	for (i = 2; i <= n && i < 40; i++) {
		snprintf(buf, sizeof(buf), "%.*s", (int)i, w);
		gen_vocab_piece(v, buf);
	}
	for (i = 1; i <= n && i < 40; i++) {
		snprintf(buf, sizeof(buf), GEN_SPACE "%.*s", (int)i, w);
		gen_vocab_piece(v, buf);
	}
}

/*
 * <unk>, <s>, </s>, the 256 byte tokens that make any text encodable, then
 * pieces in the way a trained SentencePiece vocabulary ranks them: single
 * characters, common English words with their prefixes, then every string
 * of two, three, four lowercase letters (bare and after a space) until the
 * vocabulary is full.
 */
static void
gen_vocab_build(struct gen_vocab *v, uint32_t n)
{
	static const char *words[] = {
		"the", "and", "of", "to", "in", "is", "was", "that", "for",
		"it", "with", "as", "his", "on", "be", "at", "by", "had",
		"are", "but", "from", "or", "have", "an", "they", "which",
		"one", "you", "were", "her", "all", "she", "there", "would",
		"their", "we", "him", "been", "has", "when", "who", "will",
		"more", "no", "if", "out", "so", "said", "what", "up", "its",
		"about", "into", "than", "them", "can", "only", "other",
		"new", "some", "could", "time", "these", "two", "may", "then",
		"do", "first", "any", "my", "now", "such", "like", "our",
		"over", "man", "me", "even", "most", "made", "after", "also",
		"did", "many", "before", "must", "through", "back", "years",
		"where", "much", "your", "way", "well", "down", "should",
		"because", "each", "just", "those", "people", "how", "too",
		"little", "state", "good", "very", "make", "world", "still",
		"own", "see", "work", "long", "get", "here", "between",
		"both", "life", "being", "under", "never", "day", "same",
		"another", "know", "while", "last", "might", "great", "old",
		"year", "off", "come", "since", "against", "go", "came",
		"right", "used", "take", "three", "hello", "once", "upon",
		"story", "happy", "friend", "play", "park", "tree", "house",
		"mother", "father", "water", "small", "big", "ing", "tion",
	};
	static const char single[] =
	    "etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLCUMWFGYPBVKJXQZ"
	    "0123456789.,'\"-!?:;()";
	char buf[16];
	size_t i, len, k;
	uint32_t j;

	memset(v, 0, sizeof(*v));
	v->cap = n;
	v->tokens = xcalloc(n, sizeof(*v->tokens));
	v->scores = xcalloc(n, sizeof(*v->scores));
	v->types = xcalloc(n, sizeof(*v->types));
	for (v->set_mask = 1; v->set_mask < 2 * (size_t)n; v->set_mask <<= 1)
		;
	v->set = xcalloc(v->set_mask, sizeof(*v->set));
	v->set_mask--;

	gen_vocab_add(v, "<unk>", 0, 2);
	gen_vocab_add(v, "<s>", 0, 3);
	gen_vocab_add(v, "</s>", 0, 3);
	for (j = 0; j < 256; j++) {
		snprintf(buf, sizeof(buf), "<0x%02X>", j);
		gen_vocab_add(v, buf, 0, 6);
	}
	gen_vocab_piece(v, GEN_SPACE);
	for (i = 0; single[i] != '\0'; i++) {
		snprintf(buf, sizeof(buf), "%c", single[i]);
		gen_vocab_piece(v, buf);
		snprintf(buf, sizeof(buf), GEN_SPACE "%c", single[i]);
		gen_vocab_piece(v, buf);
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		gen_vocab_word(v, words[i]);
	for (len = 2; v->n < n && len <= 4; len++) {
		size_t total = 1;

		for (k = 0; k < len; k++)
			total *= 26;
		for (i = 0; i < total && v->n < n; i++) {
			size_t x = i;

			for (k = len; k-- > 0; x /= 26)
				buf[k] = "etaoinshrdlcumwfgypbvkjxqz"[x % 26];
			buf[len] = '\0';
			gen_vocab_piece(v, buf);
			memmove(buf + 3, buf, len + 1);
			memcpy(buf, GEN_SPACE, 3);
			gen_vocab_piece(v, buf);
		}
	}
	if (v->n < n)
		die("vocabulary of %u is too large to fill", n);
}

static void
gen_vocab_release(struct gen_vocab *v)
{
	uint32_t i;

	for (i = 0; i < v->n; i++)
		free(v->tokens[i]);
	free(v->tokens);
	free(v->scores);
	free(v->types);
	free(v->set);
}

/* ---- the file ---- */

static void
gen_progress(const char *what, uint64_t done, uint64_t total, double t0,
    int *last_decile, int force)
{
	int pct = total ? (int)(100 * done / total) : 100;

	if (!gen_verbose)
		return;
	if (gen_tty) {
		fprintf(stderr, "\rgen-model: %3d%% %-28s %6.1f s", pct, what,
		    now() - t0);
		if (force)
			fputc('\n', stderr);
	} else if (pct / 10 > *last_decile && !force) {
		*last_decile = pct / 10;
		fprintf(stderr, "gen-model: %3d%% %.1f s\n", pct, now() - t0);
	}
}

static char *
gen_description(const struct gen_ftype *ft, const struct gen_shape *sh,
    uint64_t seed)
{
	char hd[32] = "";

	if (sh->head_dim)
		snprintf(hd, sizeof(hd), " of %u", sh->head_dim);
	return xasprintf("random weights (gen-model v%d, seed %llu, %s): %u "
	    "blocks, width %u, ffn %u, %u/%u heads%s, vocabulary %u, context "
	    "%u%s", GEN_VERSION, (unsigned long long)seed, ft->name,
	    sh->n_block, sh->n_embd, sh->n_ff, sh->n_head, sh->n_head_kv, hd,
	    sh->n_vocab, sh->n_ctx, sh->tied ? ", tied output" : "");
}

/* Whether path is a readable GGUF that this generator made with the same
 * parameters. */
static int
gen_cached(const char *path, const char *desc)
{
	struct gguf_file *gf;
	char *cause = NULL, *d;
	int same;

	if (access(path, R_OK) != 0)
		return 0;
	if ((gf = gguf_open(path, &cause)) == NULL) {
		fprintf(stderr, "gen-model: remaking %s: %s\n", path, cause);
		free(cause);
		return 0;
	}
	d = gguf_get_strdup(gf, "general.description");
	same = d != NULL && strcmp(d, desc) == 0;
	free(d);
	gguf_close(gf);
	return same;
}

static void
gen_mkdirs(const char *dir)
{
	char *p = xstrdup(dir), *s;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			die("cannot create '%s': %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0777) != 0 && errno != EEXIST)
		die("cannot create '%s': %s", p, strerror(errno));
	free(p);
}

static uint32_t
gen_num(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	const char *errstr;
	uint64_t v = parse_uint(s, min, max, &errstr);

	if (errstr != NULL) {
		fprintf(stderr, "gen-model: --%s '%s': %s\n", opt, s, errstr);
		exit(2);
	}
	return (uint32_t)v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{ "type", required_argument, NULL, 'T' },
		{ "shape", required_argument, NULL, 'S' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "embd", required_argument, NULL, 'e' },
		{ "ffn", required_argument, NULL, 'f' },
		{ "heads", required_argument, NULL, 'H' },
		{ "kv-heads", required_argument, NULL, 'k' },
		{ "vocab", required_argument, NULL, 'v' },
		{ "ctx", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 's' },
		{ "tied", no_argument, NULL, 'y' },
		{ "head-dim", required_argument, NULL, 'D' },
		{ "threads", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/* Shape options override the preset whatever their order. */
	int64_t over[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	struct gen_shape sh = gen_tinyllama;
	const struct gen_ftype *ft = &gen_ftypes[4];
	const char *out = NULL, *dir = "bench/models";
	uint64_t seed = 42, n_params = 0, done = 0;
	int c, n_threads = 0, force = 0, tied = 0, last = -1;
	struct gen_tensor *t;
	struct gen_vocab voc;
	struct gguf_writer *w;
	struct pool *pool;
	struct gen_job job;
	char *path, *desc, *name, *cause = NULL;
	const char *errstr;
	size_t n_t, i, total_bytes = 0;
	int64_t max_in = 0;
	double t0;

	while ((c = getopt_long(argc, argv, "o:d:T:S:b:e:f:H:k:v:c:s:yt:FqhD:",
	    longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'd': dir = optarg; break;
		case 'T':
			for (i = 0; i < sizeof(gen_ftypes) / sizeof(*ft); i++)
				if (strcasecmp(optarg, gen_ftypes[i].name) == 0)
					break;
			if (i == sizeof(gen_ftypes) / sizeof(*ft)) {
				fprintf(stderr, "gen-model: unknown type '%s' "
				    "(F32, F16, Q8_0, Q4_0, Q4_K_M)\n", optarg);
				exit(2);
			}
			ft = &gen_ftypes[i];
			break;
		case 'S':
			if (strcmp(optarg, "tinyllama") != 0) {
				fprintf(stderr, "gen-model: unknown shape '%s' "
				    "(tinyllama)\n", optarg);
				exit(2);
			}
			break;	/* the defaults are TinyLlama's */
		case 'b': over[0] = gen_num("blocks", optarg, 1, 4096); break;
		case 'e': over[1] = gen_num("embd", optarg, 2, 1 << 16); break;
		case 'f': over[2] = gen_num("ffn", optarg, 1, 1 << 18); break;
		case 'H': over[3] = gen_num("heads", optarg, 1, 4096); break;
		case 'k': over[4] = gen_num("kv-heads", optarg, 1, 4096); break;
		case 'v': over[5] = gen_num("vocab", optarg, 260, 1 << 20); break;
		case 'c': over[6] = gen_num("ctx", optarg, 1, 1 << 24); break;
		case 'D': over[7] = gen_num("head-dim", optarg, 2, 4096); break;
		case 's':
			seed = parse_uint(optarg, 0, UINT64_MAX, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "gen-model: --seed '%s': %s\n",
				    optarg, errstr);
				exit(2);
			}
			break;
		case 'y': tied = 1; break;
		case 't': n_threads = (int)gen_num("threads", optarg, 1, 256);
			break;
		case 'F': force = 1; break;
		case 'q': gen_verbose = 0; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (over[0] >= 0) sh.n_block = (uint32_t)over[0];
	if (over[1] >= 0) sh.n_embd = (uint32_t)over[1];
	if (over[2] >= 0) sh.n_ff = (uint32_t)over[2];
	if (over[3] >= 0) sh.n_head = (uint32_t)over[3];
	if (over[4] >= 0) sh.n_head_kv = (uint32_t)over[4];
	if (over[5] >= 0) sh.n_vocab = (uint32_t)over[5];
	if (over[6] >= 0) sh.n_ctx = (uint32_t)over[6];
	if (over[7] >= 0) sh.head_dim = (uint32_t)over[7];
	sh.tied = tied;
	/* A head count given alone implies as many KV heads, not TinyLlama's
	 * four. */
	if (over[3] >= 0 && over[4] < 0)
		sh.n_head_kv = sh.n_head;
	if ((sh.head_dim == 0 && sh.n_embd % sh.n_head != 0) ||
	    gen_head_dim(&sh) % 2 != 0 || sh.n_head % sh.n_head_kv != 0)
		die("inconsistent shape: width %u, %u heads, %u KV heads "
		    "(the width must split into heads of even size, the heads "
		    "into KV groups)", sh.n_embd, sh.n_head, sh.n_head_kv);

	desc = gen_description(ft, &sh, seed);
	if (out != NULL)
		path = xstrdup(out);
	else {
		gen_mkdirs(dir);
		char hd[32] = "";

		if (sh.head_dim)
			snprintf(hd, sizeof(hd), "-d%u", sh.head_dim);
		path = xasprintf("%s/llama-b%u-e%u-f%u-h%u-kv%u%s-v%u-c%u%s-%s-"
		    "s%llu.gguf", dir, sh.n_block, sh.n_embd, sh.n_ff,
		    sh.n_head, sh.n_head_kv, hd, sh.n_vocab, sh.n_ctx,
		    sh.tied ? "-tied" : "", ft->name, (unsigned long long)seed);
	}
	if (!force && gen_cached(path, desc)) {
		if (gen_verbose)
			fprintf(stderr, "gen-model: reusing %s\n", path);
		printf("%s\n", path);
		free(desc);
		free(path);
		return 0;
	}

	gen_tty = isatty(STDERR_FILENO);
	gen_quantile_init();
	t0 = now();
	t = gen_tensors(ft, &sh, &n_t);
	for (i = 0; i < n_t; i++) {
		n_params += (uint64_t)t[i].n_in * t[i].n_out;
		total_bytes += t[i].n_bytes;
		if (t[i].n_in > max_in)
			max_in = t[i].n_in;
	}
	if (gen_verbose)
		fprintf(stderr, "gen-model: %s: %zu tensors, %.2f B parameters, "
		    "%.1f MiB of %s\n", path, n_t, n_params / 1e9,
		    total_bytes / 1048576.0, ft->name);

	w = gguf_writer_new();
	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_str(w, "general.type", "model");
	name = xasprintf("%s random %s", gen_is_tinyllama(&sh) ?
	    "TinyLlama-1.1B-shape" : "llama", ft->name);
	gguf_writer_add_str(w, "general.name", name);
	gguf_writer_add_str(w, "general.description", desc);
	gguf_writer_add_u32(w, "general.file_type", ft->file_type);
	if (ft->quantized)
		gguf_writer_add_u32(w, "general.quantization_version", 2);
	gguf_writer_add_u32(w, "llama.vocab_size", sh.n_vocab);
	gguf_writer_add_u32(w, "llama.context_length", sh.n_ctx);
	gguf_writer_add_u32(w, "llama.embedding_length", sh.n_embd);
	gguf_writer_add_u32(w, "llama.block_count", sh.n_block);
	gguf_writer_add_u32(w, "llama.feed_forward_length", sh.n_ff);
	gguf_writer_add_u32(w, "llama.rope.dimension_count",
	    (uint32_t)gen_head_dim(&sh));
	if (sh.head_dim) {
		gguf_writer_add_u32(w, "llama.attention.key_length",
		    sh.head_dim);
		gguf_writer_add_u32(w, "llama.attention.value_length",
		    sh.head_dim);
	}
	gguf_writer_add_u32(w, "llama.attention.head_count", sh.n_head);
	gguf_writer_add_u32(w, "llama.attention.head_count_kv", sh.n_head_kv);
	gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon",
	    sh.rms_eps);
	gguf_writer_add_f32(w, "llama.rope.freq_base", sh.rope_theta);

	gen_vocab_build(&voc, sh.n_vocab);
	gguf_writer_add_str(w, "tokenizer.ggml.model", "llama");
	gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens",
	    (const char *const *)voc.tokens, voc.n);
	gguf_writer_add_arr_f32(w, "tokenizer.ggml.scores", voc.scores, voc.n);
	gguf_writer_add_arr_i32(w, "tokenizer.ggml.token_type", voc.types,
	    voc.n);
	gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
	gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
	gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	gguf_writer_add_u32(w, "tokenizer.ggml.padding_token_id", 2);
	gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", 1);
	gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", 0);

	pool = pool_new(n_threads);
	job.seed = seed;
	job.scratch = xcalloc((size_t)pool_size(pool), sizeof(*job.scratch));
	for (c = 0; c < pool_size(pool); c++)
		job.scratch[c] = xcalloc((size_t)max_in + 1, sizeof(float));
	for (i = 0; i < n_t; i++) {
		struct gen_tensor *x = &t[i];
		uint64_t ne[2] = { (uint64_t)x->n_in, (uint64_t)x->n_out };
		int n_tasks;

		x->data = xmalloc(x->n_bytes);
		job.t = x;
		/* About 64k values a task: fine enough to balance threads. */
		job.rows_per_task = (int)(65536 / x->n_in) + 1;
		n_tasks = (int)((x->n_out + job.rows_per_task - 1) /
		    job.rows_per_task);
		pool_run(pool, gen_rows, &job, n_tasks);
		gguf_writer_add_tensor(w, x->name, x->type, x->n_out > 1 ? 2 : 1,
		    ne, x->data, x->n_bytes);
		done += (uint64_t)x->n_in * x->n_out;
		gen_progress(x->name, done, n_params, t0, &last, 0);
	}
	gen_progress("writing", done, n_params, t0, &last, 0);
	if (gguf_writer_write(w, path, &cause) != 0)
		die("%s", cause);
	gen_progress("done", done, n_params, t0, &last, 1);
	if (gen_verbose)
		fprintf(stderr, "gen-model: wrote %s (%.1f MiB) in %.1f s with %d "
		    "threads\n", path, total_bytes / 1048576.0, now() - t0,
		    pool_size(pool));
	printf("%s\n", path);

	for (c = 0; c < pool_size(pool); c++)
		free(job.scratch[c]);
	free(job.scratch);
	pool_free(pool);
	gguf_writer_free(w);
	for (i = 0; i < n_t; i++)
		free(t[i].data);
	free(t);
	gen_vocab_release(&voc);
	free(name);
	free(desc);
	free(path);
	return 0;
}
