/*
 * Times the gemm kernels per weight type and SIMD level on a 2048 x 2048
 * matrix (BENCH_SHAPE=ROWSxK another: 2048x5632 is a 1.1B model's down
 * projection, where a kernel's row outgrowing the first-level cache
 * showed), with one activation (decode: memory bound, reported as GB/s of
 * weights streamed) and 64 (prompt processing: compute bound, GFLOP/s).
 * The weights are cycled through enough copies to exceed the last-level
 * cache, so decode figures are memory bandwidth, not cache bandwidth.
 * Types with an interleaved layout are timed in it too ("Q4_0x8").
 *
 * usage: bench-kernels [type ...]
 * BENCH_HOT=1 in the environment times one copy, from the cache: the
 * kernels' compute ceiling rather than the memory's. BENCH_ACTS=1,8,64
 * times other activation counts (a batch of sessions' decode steps).
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/quant.h"

#define DIM	2048	/* rows and k unless BENCH_SHAPE says */
#define DIM_MAX	65536
#define ELEMS_MAX	((size_t)1 << 26)	/* rows x k: 256 MiB of floats */
#define BYTES_COLD (256u << 20)
#define ACTS_MAX	64	/* activations a call, at most */

static const enum ggml_type bench_types[] = {
	GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0,
	GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
	GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K,
	GGML_TYPE_Q6_K,
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* weights in large pages, as model-load copies them (4 KiB pages cost a
 * single core a fifth of its read bandwidth) */
#define BENCH_HUGE	((size_t)2 << 20)

static void *
bench_weights_alloc(size_t n)
{
	size_t sz = (n + BENCH_HUGE - 1) / BENCH_HUGE * BENCH_HUGE;
	void *p = aligned_alloc(BENCH_HUGE, sz);

	if (p == NULL) {
		fprintf(stderr, "bench-kernels: out of memory\n");
		exit(1);
	}
#ifdef MADV_HUGEPAGE
	(void)madvise(p, sz, MADV_HUGEPAGE);
#endif
	return p;
}

/*
 * n copies' places of bytes each, page-aligned in one allocation (free
 * the first); one allocation each would round a small matrix up to a
 * large page per copy.
 */
static uint8_t **
bench_copies_alloc(size_t bytes, int n)
{
	size_t stride = (bytes + 4095) / 4096 * 4096;
	uint8_t **c = malloc(sizeof(*c) * n), *base;
	int i;

	if (c == NULL) {
		fprintf(stderr, "bench-kernels: out of memory\n");
		exit(1);
	}
	base = bench_weights_alloc(stride * n);
	for (i = 0; i < n; i++)
		c[i] = base + stride * i;
	return c;
}

static uint64_t rng = 88172645463325252ull;

static float
frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)(rng >> 40) / (float)(1 << 24) - 0.5f;
}

static int
wanted(int argc, char **argv, const char *name)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

/* The activation counts timed: one and 64, or BENCH_ACTS's list. */
static int bench_nacts[ACTS_MAX] = { 1, 64 };
static int bench_n_nacts = 2;

/* One kernel at each activation count: best of five runs of ~0.1 s, so
 * that the figures are for the kernel, not for a busy host. */
static void
bench_kernel(const char *name, enum quant_isa isa, quant_gemm_fn fn,
    int rows, int k, uint8_t **w, int ncopies, size_t ws, const uint8_t *act,
    size_t as, size_t wbytes, float *out)
{
	const int *nacts = bench_nacts;
	double t0, dt, best_dt, flops;
	int a, rep, it, iters;

	for (a = 0; a < bench_n_nacts; a++) {
		t0 = now();
		fn(k, w[0], ws, rows, act, as, nacts[a], out, rows);
		dt = now() - t0;
		iters = (int)(0.1 / (dt > 1e-6 ? dt : 1e-6));
		if (iters < 2)
			iters = 2;
		best_dt = 1e30;
		for (rep = 0; rep < 5; rep++) {
			t0 = now();
			for (it = 0; it < iters; it++)
				fn(k, w[(rep * iters + it) % ncopies], ws,
				    rows, act, as, nacts[a], out, rows);
			dt = (now() - t0) / iters;
			if (dt < best_dt)
				best_dt = dt;
		}
		flops = 2.0 * rows * k * nacts[a];
		printf("%-6s %-7s %6d %10.3f %10.2f %10.2f\n", name,
		    quant_isa_name(isa), nacts[a], best_dt * 1e3,
		    wbytes / best_dt * 1e-9, flops / best_dt * 1e-9);
		fflush(stdout);
	}
}

/* BENCH_ACTS: "1,8,64" into bench_nacts; -1 if it is not that. */
static int
bench_acts(const char *list)
{
	char *end;
	long v;
	int n = 0;

	for (;;) {
		v = strtol(list, &end, 10);
		if (end == list || v < 1 || v > ACTS_MAX || n == ACTS_MAX)
			return -1;
		bench_nacts[n++] = (int)v;
		if (*end == '\0')
			break;
		if (*end != ',')
			return -1;
		list = end + 1;
	}
	bench_n_nacts = n;
	return 0;
}

int
main(int argc, char **argv)
{
	enum quant_isa best = quant_set_isa(QUANT_ISA_AVX512), isa;
	float *wf, *af, *out;
	size_t t, ws, as, wbytes;
	uint8_t **x8 = NULL;
	const char *shape = getenv("BENCH_SHAPE");
	const char *acts_list = getenv("BENCH_ACTS");
	char name[16], x, more;
	int ncopies, i, rows = DIM, k = DIM;

	if (acts_list != NULL && bench_acts(acts_list) != 0) {
		fprintf(stderr, "bench-kernels: BENCH_ACTS '%s' is not a "
		    "list of counts of 1 to %d, comma-separated\n", acts_list,
		    ACTS_MAX);
		return 1;
	}
	if (shape != NULL && (sscanf(shape, "%d%c%d%c", &rows, &x, &k,
	    &more) != 3 || x != 'x' || rows < 1 || rows > DIM_MAX || k < 256 ||
	    k > DIM_MAX || k % 256 != 0 || (size_t)rows * k > ELEMS_MAX)) {
		fprintf(stderr, "bench-kernels: BENCH_SHAPE '%s' is not "
		    "ROWSxK (rows 1-%d, k a multiple of 256 up to %d, at most "
		    "%zu elements)\n", shape, DIM_MAX, DIM_MAX, ELEMS_MAX);
		return 1;
	}
	wf = malloc(sizeof(float) * (size_t)rows * k);
	af = malloc(sizeof(float) * k * 64);
	out = malloc(sizeof(float) * rows * 64);
	for (i = 0; (size_t)i < (size_t)rows * k; i++)
		wf[i] = frand() * 0.1f;
	for (i = 0; i < k * 64; i++)
		af[i] = frand();
	printf("%d rows x k %d\n", rows, k);
	printf("%-6s %-7s %6s %10s %10s %10s\n", "type", "isa", "n_acts",
	    "ms/call", "GB/s", "GFLOP/s");
	for (t = 0; t < sizeof(bench_types) / sizeof(bench_types[0]); t++) {
		enum ggml_type type = bench_types[t];
		const struct quant_type_info *ti = quant_type_info(type);
		uint8_t **w, *act;

		if (!wanted(argc, argv, ti->name))
			continue;
		ws = quant_row_size(type, k);
		as = quant_row_size(ti->dot_type, k);
		wbytes = ws * rows;
		ncopies = getenv("BENCH_HOT") ? 1 :
		    (int)(BYTES_COLD / wbytes) + 1;
		w = bench_copies_alloc(wbytes, ncopies);
		for (i = 0; i < rows; i++)
			quant_quantize_row_ref(type, wf + (size_t)i * k,
			    w[0] + ws * i, k);
		for (i = 1; i < ncopies; i++)
			memcpy(w[i], w[0], wbytes);
		act = malloc(as * 64);
		for (i = 0; i < 64; i++)
			quant_quantize_row_ref(ti->dot_type,
			    af + (size_t)i * k, act + as * i, k);
		if (quant_x8_supported(type)) {
			/* the same weights interleaved, as a model loads them */
			x8 = bench_copies_alloc(quant_x8_bytes(type, k, rows),
			    ncopies);
			for (i = 0; i < ncopies; i++)
				quant_x8_pack(type, k, w[i], ws, rows, x8[i]);
		}
		for (isa = QUANT_ISA_SCALAR; isa <= best; isa++) {
			quant_set_isa(isa);
			bench_kernel(ti->name, isa, quant_get_gemm(type), rows,
			    k, w, ncopies, ws, act, as, wbytes, out);
			if (x8 != NULL) {
				snprintf(name, sizeof(name), "%sx8", ti->name);
				bench_kernel(name, isa, quant_get_gemm_x8(type),
				    rows, k, x8, ncopies, ws, act, as, wbytes,
				    out);
			}
		}
		if (x8 != NULL)
			free(x8[0]);
		free(x8);
		x8 = NULL;
		free(w[0]);
		free(w);
		free(act);
	}
	free(wf);
	free(af);
	free(out);
	return 0;
}
