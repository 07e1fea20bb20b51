/*
 * Tests for src/core/quant: block sizes, fp16/bf16 rounding, the bit layout
 * of every block type (hand-built blocks with values worked out from the
 * format), quantize/dequantize round trips, the reference dot products
 * against dequantized floats, and every SIMD level's kernels against the
 * references.
 */
#include <stdint.h>

#include "test.h"
#include "core/quant.h"
#include "core/quant-impl.h"

/*
 * The AVX-512 build of the kernels uses tiles of 4 x 4 and vpdpbusd, which
 * the AVX2 build does not; compile that build here for AVX2, with
 * vpdpbusd computed exactly from AVX2 instructions, so that its geometry
 * and its VNNI branches are checked on machines without AVX-512 too.
 */
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

/* acc + the four products of unsigned u and signed s bytes per int32
 * lane, without saturation: each product fits in int16 (255 * 127). */
static inline __m256i
test_dpbusd(__m256i acc, __m256i u, __m256i s)
{
	const __m256i low = _mm256_set1_epi16(0xFF), ones =
	    _mm256_set1_epi16(1);
	__m256i ue = _mm256_and_si256(u, low), uo = _mm256_srli_epi16(u, 8);
	__m256i se = _mm256_srai_epi16(_mm256_slli_epi16(s, 8), 8);
	__m256i so = _mm256_srai_epi16(s, 8);

	return _mm256_add_epi32(acc, _mm256_add_epi32(
	    _mm256_madd_epi16(_mm256_mullo_epi16(ue, se), ones),
	    _mm256_madd_epi16(_mm256_mullo_epi16(uo, so), ones)));
}
#undef _mm256_dpbusd_epi32
#define _mm256_dpbusd_epi32(acc, u, s)	test_dpbusd(acc, u, s)
#define QS_VNNI	1
#define QS_RB	4
#define QS_CB	4
#define QS_GEMM_GETTER		test_wide_gemm
#define QS_GEMM_X8_GETTER	test_wide_gemm_x8
#define QS_QUANTIZE_GETTER	test_wide_quantize
#define QS_DEQUANTIZE_GETTER	test_wide_dequantize
#define QS_ATTN_GETTER		test_wide_attn
#define QS_SWIGLU_GETTER	test_wide_swiglu
quant_attn_fn		test_wide_attn(void);
quant_swiglu_fn		test_wide_swiglu(void);
quant_gemm_fn		test_wide_gemm(enum ggml_type);
quant_gemm_fn		test_wide_gemm_x8(enum ggml_type);
quant_quantize_fn	test_wide_quantize(enum ggml_type);
quant_dequantize_fn	test_wide_dequantize(enum ggml_type);
#include "core/quant-simd.h"
#pragma GCC pop_options

static const enum ggml_type weight_types[] = {
	GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q4_0,
	GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0,
	GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K,
	GGML_TYPE_Q6_K,
};
#define N_WEIGHT_TYPES (sizeof(weight_types) / sizeof(weight_types[0]))

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rng_u32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Roughly normal, with an occasional outlier as real weights have. */
static float
rng_normal(void)
{
	float s = 0;
	int i;

	for (i = 0; i < 4; i++)
		s += (float)rng_u32() / 4294967296.0f - 0.5f;
	if (rng_u32() % 97 == 0)
		s *= 6;
	return s * 1.7f;
}

static void
fill_random(float *x, int64_t n, float scale)
{
	int64_t i;

	for (i = 0; i < n; i++)
		x[i] = rng_normal() * scale;
}

static void
test_sizes(void)
{
	static const struct {
		enum ggml_type type;
		const char *name;
		uint32_t bs;
		size_t ts;
		enum ggml_type dot;
	} want[] = {
		{ GGML_TYPE_F32, "F32", 1, 4, GGML_TYPE_F32 },
		{ GGML_TYPE_F16, "F16", 1, 2, GGML_TYPE_F16 },
		{ GGML_TYPE_BF16, "BF16", 1, 2, GGML_TYPE_BF16 },
		{ GGML_TYPE_Q4_0, "Q4_0", 32, 18, GGML_TYPE_Q8_0 },
		{ GGML_TYPE_Q4_1, "Q4_1", 32, 20, GGML_TYPE_Q8_1 },
		{ GGML_TYPE_Q5_0, "Q5_0", 32, 22, GGML_TYPE_Q8_0 },
		{ GGML_TYPE_Q5_1, "Q5_1", 32, 24, GGML_TYPE_Q8_1 },
		{ GGML_TYPE_Q8_0, "Q8_0", 32, 34, GGML_TYPE_Q8_0 },
		{ GGML_TYPE_Q8_1, "Q8_1", 32, 36, GGML_TYPE_Q8_1 },
		{ GGML_TYPE_Q2_K, "Q2_K", 256, 84, GGML_TYPE_Q8_K },
		{ GGML_TYPE_Q3_K, "Q3_K", 256, 110, GGML_TYPE_Q8_K },
		{ GGML_TYPE_Q4_K, "Q4_K", 256, 144, GGML_TYPE_Q8_K },
		{ GGML_TYPE_Q5_K, "Q5_K", 256, 176, GGML_TYPE_Q8_K },
		{ GGML_TYPE_Q6_K, "Q6_K", 256, 210, GGML_TYPE_Q8_K },
		{ GGML_TYPE_Q8_K, "Q8_K", 256, 292, GGML_TYPE_Q8_K },
	};
	const struct quant_type_info *ti;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ti = quant_type_info(want[i].type);
		CHECK(ti != NULL);
		CHECK_STR(ti->name, want[i].name);
		CHECK(ti->block_size == want[i].bs);
		CHECK(ti->type_size == want[i].ts);
		CHECK(ti->dot_type == want[i].dot);
		CHECK(ti->can_matmul == (want[i].type != GGML_TYPE_Q8_1 &&
		    want[i].type != GGML_TYPE_Q8_K));
		CHECK(quant_row_size(want[i].type, 4096) ==
		    4096 / want[i].bs * want[i].ts);
	}
	CHECK(quant_type_info(4) == NULL);
	CHECK(quant_type_info(GGML_TYPE_COUNT) == NULL);
	CHECK(quant_type_info(0xffffffffu) == NULL);
	CHECK(quant_row_size(GGML_TYPE_Q4_K, 100) == 0);
	CHECK(quant_row_size(GGML_TYPE_Q4_0, 33) == 0);
	CHECK(quant_row_size(GGML_TYPE_Q4_0, -32) == 0);
	CHECK(quant_get_gemm(GGML_TYPE_Q8_K) == NULL);
	CHECK(quant_get_gemm(GGML_TYPE_Q4_K) != NULL);
	CHECK(quant_get_quantize(GGML_TYPE_Q8_K) != NULL);
}

static float
bits_f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

__attribute__((target("f16c")))
static uint16_t
hw_f32_to_fp16(float f)
{
	return (uint16_t)__builtin_ia32_vcvtps2ph((float __attribute__((
	    vector_size(16)))){ f, 0, 0, 0 }, 0)[0];
}

static void
test_fp16(void)
{
	uint32_t h, u;
	int i;

	CHECK(f32_to_fp16(0.0f) == 0x0000);
	CHECK(f32_to_fp16(-0.0f) == 0x8000);
	CHECK(f32_to_fp16(1.0f) == 0x3c00);
	CHECK(f32_to_fp16(-2.0f) == 0xc000);
	CHECK(f32_to_fp16(65504.0f) == 0x7bff);
	CHECK(f32_to_fp16(65519.0f) == 0x7bff);
	CHECK(f32_to_fp16(65520.0f) == 0x7c00);
	CHECK(f32_to_fp16(1e10f) == 0x7c00);
	CHECK(f32_to_fp16(-INFINITY) == 0xfc00);
	CHECK((f32_to_fp16(NAN) & 0x7c00) == 0x7c00 &&
	    (f32_to_fp16(NAN) & 0x3ff) != 0);
	/* ties to even */
	CHECK(f32_to_fp16(1.0f + 0x1p-11f) == 0x3c00);
	CHECK(f32_to_fp16(1.0f + 3 * 0x1p-11f) == 0x3c02);
	CHECK(f32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01);
	/* subnormals */
	CHECK(f32_to_fp16(0x1p-24f) == 0x0001);
	CHECK(f32_to_fp16(0x1p-25f) == 0x0000);
	CHECK(f32_to_fp16(0x1.8p-25f) == 0x0001);
	CHECK(f32_to_fp16(3 * 0x1p-25f) == 0x0002);
	CHECK(f32_to_fp16(0x1p-14f) == 0x0400);
	CHECK(f32_to_fp16(0x1p-14f - 0x1p-25f) == 0x0400);
	CHECK(fp16_to_f32(0x0001) == 0x1p-24f);
	CHECK(fp16_to_f32(0x03ff) == 1023 * 0x1p-24f);
	CHECK(fp16_to_f32(0x8000) == 0.0f && signbit(fp16_to_f32(0x8000)));
	CHECK(isinf(fp16_to_f32(0x7c00)) && isnan(fp16_to_f32(0x7e00)));
	/* every half survives the round trip */
	for (h = 0; h < 0x10000; h++) {
		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0)
			continue;
		CHECKF(f32_to_fp16(fp16_to_f32((uint16_t)h)) == h, "%04x", h);
	}
	/* and random floats round as the F16C instruction does */
	if (__builtin_cpu_supports("f16c")) {
		for (i = 0; i < 200000; i++) {
			u = rng_u32();
			if ((u & 0x7f800000) == 0x7f800000 && (u & 0x7fffff))
				continue;
			/* bias the exponent toward the half range */
			if (i & 1)
				u = (u & 0x807fffff) | ((100 + rng_u32() % 45)
				    << 23);
			CHECKF(f32_to_fp16(bits_f32(u)) ==
			    hw_f32_to_fp16(bits_f32(u)), "%08x", u);
		}
	}
}

static void
test_bf16(void)
{
	CHECK(f32_to_bf16(1.0f) == 0x3f80);
	CHECK(bf16_to_f32(0x3f80) == 1.0f);
	CHECK(bf16_to_f32(0xc040) == -3.0f);
	CHECK(f32_to_bf16(bits_f32(0x3f808000)) == 0x3f80);	/* tie, even */
	CHECK(f32_to_bf16(bits_f32(0x3f818000)) == 0x3f82);	/* tie, up */
	CHECK(f32_to_bf16(bits_f32(0x3f808001)) == 0x3f81);
	CHECK(f32_to_bf16(INFINITY) == 0x7f80);
	CHECK(f32_to_bf16(bits_f32(0x7f7fffff)) == 0x7f80);	/* overflow */
	CHECK(isnan(bf16_to_f32(f32_to_bf16(NAN))));
	CHECK(isnan(bf16_to_f32(f32_to_bf16(bits_f32(0x7f800001)))));
	CHECK(f32_to_bf16(bits_f32(0x00010000)) == 0x0001);	/* subnormal */
	CHECK(f32_to_bf16(-0.0f) == 0x8000);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Dequantizes one block of `type` from raw bytes. */
static void
deq(enum ggml_type type, const uint8_t *raw, float *y)
{
	quant_dequantize_row_ref(type, raw, y, quant_type_info(type)->block_size);
}

static void
test_layout_legacy(void)
{
	uint8_t b[64];
	float y[32];

	/* Q4_0: d = 2; byte 3 = 0xa1: element 3 = 1 - 8, element 19 = 10 - 8 */
	memset(b, 0x88, sizeof(b));
	put16(b, 0x4000);
	b[2 + 3] = 0xa1;
	deq(GGML_TYPE_Q4_0, b, y);
	CHECK(y[3] == -14 && y[19] == 4 && y[0] == 0 && y[31] == 0);

	/* Q4_1: d = 0.5, m = -1 */
	memset(b, 0, sizeof(b));
	put16(b, 0x3800);
	put16(b + 2, 0xbc00);
	b[4 + 15] = 0xf3;
	deq(GGML_TYPE_Q4_1, b, y);
	CHECK(y[15] == 0.5f && y[31] == 6.5f && y[0] == -1);

	/* Q5_0: d = 1; qh bit 2 -> element 2 gains 16, bit 17 -> element 17 */
	memset(b, 0, sizeof(b));
	put16(b, 0x3c00);
	b[2] = 0x04;
	b[2 + 2] = 0x02;
	b[6 + 2] = 0x0f;
	b[6 + 1] = 0x50;
	deq(GGML_TYPE_Q5_0, b, y);
	CHECK(y[2] == 15 && y[18] == -16 && y[17] == 5 && y[1] == -16);

	/* Q5_1: d = 1, m = 0.25; qh bit 31 -> element 31 */
	memset(b, 0, sizeof(b));
	put16(b, 0x3c00);
	put16(b + 2, 0x3400);
	b[4 + 3] = 0x80;
	b[8 + 15] = 0x20;
	deq(GGML_TYPE_Q5_1, b, y);
	CHECK(y[31] == 18.25f && y[15] == 0.25f);

	/* Q8_0: d = 0.25 */
	memset(b, 0, sizeof(b));
	put16(b, 0x3400);
	b[2 + 5] = 0x81;		/* -127 */
	b[2 + 31] = 100;
	deq(GGML_TYPE_Q8_0, b, y);
	CHECK(y[5] == -31.75f && y[31] == 25);

	/* Q8_1: the sum field does not enter the values */
	memset(b, 0, sizeof(b));
	put16(b, 0x3c00);
	put16(b + 2, 0x7bff);
	b[4 + 7] = 3;
	deq(GGML_TYPE_Q8_1, b, y);
	CHECK(y[7] == 3 && y[8] == 0);
}

static void
test_layout_k(void)
{
	uint8_t b[512];
	float y[256];
	int i;

	/* Q2_K: scales[12] = 0x53 (scale 3, min 5) covers elements 192-207;
	 * qs[32 + 16] bits 4-5 hold element 128 + 64 + 16 = 208 (sub-block
	 * 13), bits 2-3 of qs[32 + 1] hold element 128 + 32 + 1 = 161. */
	memset(b, 0, sizeof(b));
	b[12] = 0x53;
	b[10] = 0x21;
	b[13] = 0x02;
	b[16 + 32 + 0] = 0x30;		/* element 192: q = 3 */
	b[16 + 32 + 16] = 0x20;		/* element 208: q = 2 */
	b[16 + 32 + 1] = 0x0c;		/* element 161: q = 3 */
	put16(b + 80, 0x4000);		/* d = 2 */
	put16(b + 82, 0x3800);		/* dmin = 0.5 */
	deq(GGML_TYPE_Q2_K, b, y);
	CHECK(y[192] == 2 * 3 * 3 - 0.5f * 5);
	CHECK(y[193] == -2.5f);
	CHECK(y[208] == 2 * 2 * 2 - 0);
	CHECK(y[161] == 2 * 1 * 3 - 0.5f * 2);	/* sub-block 10 */
	CHECK(y[0] == 0);

	/* Q3_K: sub-block 9 (elements 144-159) has six-bit scale
	 * (scales[1] >> 4) | ((scales[9] >> 4 & 3) << 4) = 0x3 | 0x20 = 35,
	 * i.e. 3 after the bias; element 150 = 128 + 0 * 32 + 22: low bits
	 * from qs[32 + 22] bits 0-1, high bit hmask[22] bit 4. */
	memset(b, 0, sizeof(b));
	for (i = 0; i < 12; i++)
		b[96 + i] = 0;
	b[96 + 1] = 0x30;
	b[96 + 9] = 0x20;
	b[32 + 32 + 22] = 0x02;
	b[22] = 0x10;
	put16(b + 108, 0x3800);		/* d = 0.5 */
	deq(GGML_TYPE_Q3_K, b, y);
	CHECK(y[150] == 0.5f * 3 * 2);
	CHECK(y[151] == 0.5f * 3 * -4);	/* hmask clear: q = 0 - 4 */
	CHECK(y[0] == 0.5f * -32 * -4);
	/* sub-block 0: scale low nibble scales[0] & 0xf, high scales[8] & 3 */
	b[96 + 0] = 0x01;
	b[96 + 8] = 0x02;		/* 0x21 - 32 = 1 */
	deq(GGML_TYPE_Q3_K, b, y);
	CHECK(y[0] == 0.5f * 1 * -4);
	CHECK(y[150] == 0.5f * 3 * 2);

	/* Q4_K: sub-block 1 uses scales[1] & 63 and mins scales[5] & 63;
	 * sub-block 6 uses scales[10] nibbles and the top bits of scales[2]
	 * and scales[6]. Element 32 + 5 = high nibble of qs[5]; element
	 * 192 + 7 = low nibble of qs[96 + 7]. */
	memset(b, 0, sizeof(b));
	put16(b, 0x3c00);		/* d = 1 */
	put16(b + 2, 0x3800);		/* dmin = 0.5 */
	b[4 + 1] = 7;
	b[4 + 5] = 4;
	b[4 + 10] = 0x32;		/* scale low 2, min low 3 */
	b[4 + 2] = 0x40;		/* scale of 6 += 16 */
	b[4 + 6] = 0x80;		/* min of 6 += 32 */
	b[16 + 5] = 0x90;
	b[16 + 96 + 7] = 0x0b;
	deq(GGML_TYPE_Q4_K, b, y);
	CHECK(y[37] == 7 * 9 - 0.5f * 4);
	CHECK(y[199] == 18 * 11 - 0.5f * 35);
	CHECK(y[200] == -0.5f * 35);
	CHECK(y[0] == 0);

	/* Q5_K: as Q4_K plus qh[l] bit j for sub-block j */
	memset(b, 0, sizeof(b));
	put16(b, 0x3c00);
	b[4 + 3] = 1;			/* scale of sub-block 3 */
	b[4 + 11] = 0x01;		/* scale of sub-block 7: 1 */
	b[16 + 4] = 0x08;		/* sub-block 3 (elements 96..), l 4: bit 3 */
	b[48 + 32 + 4] = 0x20;		/* qs[32 + 4] high nibble: element 100 */
	b[16 + 31] = 0x80;		/* sub-block 7, l 31 */
	deq(GGML_TYPE_Q5_K, b, y);
	CHECK(y[100] == 16 + 2);
	CHECK(y[255] == 16);
	CHECK(y[99] == 0);

	/* Q6_K: element 128 + 64 + 3 = 195 is ql[64 + 3] high nibble with
	 * qh[32 + 3] bits 4-5; scale index 8 + 4 = 12. */
	memset(b, 0, sizeof(b));
	for (i = 0; i < 128; i++)
		b[i] = 0;
	b[64 + 3] = 0x50;
	b[128 + 32 + 3] = 0x30;		/* top bits 3: q = 0x35 - 32 = 21 */
	b[192 + 12] = (uint8_t)-3;
	b[192 + 0] = 2;
	put16(b + 208, 0x3800);		/* d = 0.5 */
	deq(GGML_TYPE_Q6_K, b, y);
	CHECK(y[195] == 0.5f * -3 * 21);
	CHECK(y[0] == 0.5f * 2 * -32);
	CHECK(y[196] == 0.5f * -3 * -32);

	/* Q8_K: float d, then qs, then bsums */
	memset(b, 0, sizeof(b));
	{
		float d = 0.125f;

		memcpy(b, &d, 4);
	}
	b[4 + 255] = 0x80;
	deq(GGML_TYPE_Q8_K, b, y);
	CHECK(y[255] == -16 && y[0] == 0);
}

static void
test_round_trip(void)
{
	static const struct {
		enum ggml_type type;
		double max_rel_rms;
	} cases[] = {
		{ GGML_TYPE_F32, 0 },
		{ GGML_TYPE_F16, 5e-4 },
		{ GGML_TYPE_BF16, 4e-3 },
		{ GGML_TYPE_Q8_0, 0.01 },
		{ GGML_TYPE_Q8_1, 0.01 },
		{ GGML_TYPE_Q8_K, 0.05 },
		{ GGML_TYPE_Q6_K, 0.03 },
		{ GGML_TYPE_Q5_0, 0.08 },
		{ GGML_TYPE_Q5_1, 0.07 },
		{ GGML_TYPE_Q5_K, 0.06 },
		{ GGML_TYPE_Q4_0, 0.15 },
		{ GGML_TYPE_Q4_1, 0.12 },
		{ GGML_TYPE_Q4_K, 0.11 },
		{ GGML_TYPE_Q3_K, 0.22 },
		{ GGML_TYPE_Q2_K, 0.36 },
	};
	enum { N = 4096 };
	static float x[N], y[N];
	static uint8_t q[N * 4];
	size_t c;
	double err, ref;
	int i;

	fill_random(x, N, 0.02f);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memset(q, 0xa5, sizeof(q));
		quant_quantize_row_ref(cases[c].type, x, q, N);
		quant_dequantize_row_ref(cases[c].type, q, y, N);
		err = ref = 0;
		for (i = 0; i < N; i++) {
			err += (double)(y[i] - x[i]) * (y[i] - x[i]);
			ref += (double)x[i] * x[i];
		}
		err = sqrt(err / ref);
		if (getenv("QUANT_VERBOSE"))
			printf("# %s %g\n", quant_type_info(cases[c].type)->name, err);
		CHECKF(err <= cases[c].max_rel_rms, "%s: relative rms %g",
		    quant_type_info(cases[c].type)->name, err);
	}
	/* all-zero input quantizes to zeros without dividing by zero */
	memset(x, 0, sizeof(x));
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		quant_quantize_row_ref(cases[c].type, x, q, N);
		quant_dequantize_row_ref(cases[c].type, q, y, N);
		for (i = 0; i < N; i++)
			CHECKF(y[i] == 0, "%s", quant_type_info(
			    cases[c].type)->name);
	}
}

/* Q8_1's s and Q8_K's bsums are what the dot products trust. */
static void
test_activation_sums(void)
{
	enum { N = 512 };
	float x[N];
	uint8_t q[N * 2];
	const uint8_t *b;
	int i, j, s;

	fill_random(x, N, 1);
	quant_quantize_row_ref(GGML_TYPE_Q8_1, x, q, N);
	for (i = 0; i < N / 32; i++) {
		uint16_t d, hs;

		b = q + 36 * i;
		memcpy(&d, b, 2);
		memcpy(&hs, b + 2, 2);
		for (s = 0, j = 0; j < 32; j++)
			s += (int8_t)b[4 + j];
		CHECK(fabsf(fp16_to_f32(hs) - fp16_to_f32(d) * s) <=
		    1e-3f * fabsf(fp16_to_f32(d) * s) + 1e-6f);
	}
	quant_quantize_row_ref(GGML_TYPE_Q8_K, x, q, N);
	for (i = 0; i < N / 256; i++) {
		int16_t bs[16];
		int mn = 0, mx = 0;

		b = q + 292 * i;
		memcpy(bs, b + 4 + 256, sizeof(bs));
		for (j = 0; j < 256; j++) {
			int v = (int8_t)b[4 + j];

			mn = v < mn ? v : mn;
			mx = v > mx ? v : mx;
		}
		CHECK(mn == -127 || mx == 127);
		for (j = 0; j < 16; j++) {
			int l;

			for (s = 0, l = 0; l < 16; l++)
				s += (int8_t)b[4 + 16 * j + l];
			CHECK(bs[j] == s);
		}
	}
}

/*
 * The reference dot products agree with the float dot product of the
 * dequantized operands: the integer sums and scales use the same layout
 * as dequantization.
 */
static void
test_vec_dot_ref(void)
{
	enum { N = 1024 };
	static float w[N], x[N], wd[N], xd[N];
	static uint8_t wq[N * 4], xq[N * 4];
	const struct quant_type_info *ti;
	double want, mag;
	float got;
	size_t t;
	int i;

	fill_random(w, N, 0.05f);
	fill_random(x, N, 3);
	for (t = 0; t < N_WEIGHT_TYPES; t++) {
		ti = quant_type_info(weight_types[t]);
		quant_quantize_row_ref(weight_types[t], w, wq, N);
		quant_quantize_row_ref(ti->dot_type, x, xq, N);
		quant_dequantize_row_ref(weight_types[t], wq, wd, N);
		quant_dequantize_row_ref(ti->dot_type, xq, xd, N);
		want = mag = 0;
		for (i = 0; i < N; i++) {
			want += (double)wd[i] * xd[i];
			mag += fabs((double)wd[i] * xd[i]);
		}
		got = quant_vec_dot_ref(weight_types[t], N, wq, xq);
		/* Q8_1's s is stored in fp16, so allow its rounding */
		CHECKF(fabs(got - want) <= 2e-4 * mag, "%s: %g vs %g",
		    ti->name, got, want);
		if (ti->dot_type != GGML_TYPE_Q8_1)
			CHECKF(fabs(got - want) <= 2e-6 * mag, "%s: %g vs %g",
			    ti->name, got, want);
	}
}

static int
isa_count(void)
{
	enum quant_isa best = quant_set_isa(QUANT_ISA_AVX512);

	return (int)best + 1;
}

static void
test_gemm_levels(void)
{
	/* 160: five legacy blocks, so decode's groups of four leave one */
	static const int64_t ks[] = { 256, 512, 2048, 160, 172, 40 };
	static const int rows[] = { 1, 3, 16, 17 };
	static const int nacts[] = { 1, 2, 7, 64 };
	enum { KMAX = 2048, RMAX = 17, AMAX = 64, OSTRIDE = RMAX + 3 };
	const struct quant_type_info *ti;
	float *wf, *af, *wd, *ad, *out, *ref, *mag;
	uint8_t *w, *a;
	size_t t, ws, as, ki, ri, ai;
	int lvl, nlvl = isa_count(), i, j, l;
	quant_gemm_fn fn;

	wf = malloc(sizeof(float) * KMAX * RMAX);
	af = malloc(sizeof(float) * KMAX * AMAX);
	wd = malloc(sizeof(float) * KMAX * RMAX);
	ad = malloc(sizeof(float) * KMAX * AMAX);
	w = malloc((size_t)(KMAX * 4 + 16) * RMAX);
	a = malloc((size_t)(KMAX * 4 + 16) * AMAX);
	out = malloc(sizeof(float) * OSTRIDE * AMAX);
	ref = malloc(sizeof(float) * OSTRIDE * AMAX);
	mag = malloc(sizeof(float) * OSTRIDE * AMAX);
	fill_random(wf, KMAX * RMAX, 0.05f);
	fill_random(af, KMAX * AMAX, 2);
	for (t = 0; t < N_WEIGHT_TYPES; t++) {
		ti = quant_type_info(weight_types[t]);
		for (ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
			int64_t k = ks[ki];

			/* rows that end mid-vector: the float types only */
			if (k % ti->block_size != 0)
				continue;

			/* strides off the vector width: rows need only
			 * their element alignment */
			ws = quant_row_size(weight_types[t], k) + 4;
			as = quant_row_size(ti->dot_type, k) + 12;
			for (i = 0; i < RMAX; i++) {
				quant_quantize_row_ref(weight_types[t],
				    wf + k * i, w + ws * i, k);
				quant_dequantize_row_ref(weight_types[t],
				    w + ws * i, wd + k * i, k);
			}
			for (j = 0; j < AMAX; j++) {
				quant_quantize_row_ref(ti->dot_type,
				    af + k * j, a + as * j, k);
				quant_dequantize_row_ref(ti->dot_type,
				    a + as * j, ad + k * j, k);
			}
			for (j = 0; j < AMAX; j++)
				for (i = 0; i < RMAX; i++) {
					double m = 0;

					for (l = 0; l < k; l++)
						m += fabsf(wd[k * i + l] *
						    ad[k * j + l]);
					mag[j * OSTRIDE + i] = (float)m;
				}
			for (ri = 0; ri < 4; ri++) for (ai = 0; ai < 4; ai++) {
				int nr = rows[ri], na = nacts[ai];

				quant_gemm_ref(weight_types[t], k, w, ws, nr,
				    a, as, na, ref, OSTRIDE);
				for (lvl = 0; lvl <= nlvl; lvl++) {
					if (lvl == nlvl) {
						/* the AVX-512 build emulated, if AVX2 runs */
						if (nlvl < 2)
							continue;
						fn = test_wide_gemm(
						    weight_types[t]);
					} else {
						quant_set_isa(
						    (enum quant_isa)lvl);
						fn = quant_get_gemm(
						    weight_types[t]);
					}
					for (i = 0; i < OSTRIDE * AMAX; i++)
						out[i] = -1234.5f;
					fn(k, w, ws, nr, a, as, na, out,
					    OSTRIDE);
					for (j = 0; j < na; j++)
					for (i = 0; i < OSTRIDE; i++) {
						float g = out[j * OSTRIDE + i];
						float r = ref[j * OSTRIDE + i];
						double tol;

						if (i >= nr) {
							CHECKF(g == -1234.5f,
							    "%s wrote past row",
							    ti->name);
							continue;
						}
						tol = 1e-5 * mag[j * OSTRIDE +
						    i] + 1e-30;
						CHECKF(fabs(g - r) <= tol,
						    "%s %s k %lld rows %d acts"
						    " %d [%d,%d]: %.9g vs %.9g",
						    ti->name, lvl == nlvl ?
						    "4x4 vnni" : quant_isa_name(
						    (enum quant_isa)lvl),
						    (long long)k, nr, na, i, j,
						    g, r);
					}
				}
				quant_set_isa(QUANT_ISA_AVX512);
			}
		}
	}
	quant_set_isa(QUANT_ISA_AVX512);
	free(wf);
	free(af);
	free(wd);
	free(ad);
	free(w);
	free(a);
	free(out);
	free(ref);
	free(mag);
}

/*
 * The float types' prompt kernel in all its blocking: more activations
 * than one group block holds (QS_FPANEL_GROUPS groups of sixteen), k over
 * several panel blocks and ending mid-chunk, rows ending mid-tile; every
 * level against the reference.
 */
static void
test_gemm_float_blocks(void)
{
	static const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_F16,
	    GGML_TYPE_BF16 };
	static const int nacts[] = { 4, 150 };
	enum { K = 2600, ROWS = 13, AMAX = 150 };
	float *wf, *af, *out, *ref;
	uint8_t *w, *a;
	size_t t, ws, as;
	int lvl, nlvl = isa_count(), ai, i, j, bad;
	quant_gemm_fn fn;

	wf = malloc(sizeof(float) * K * ROWS);
	af = malloc(sizeof(float) * K * AMAX);
	w = malloc((size_t)K * 4 * ROWS);
	a = malloc((size_t)K * 4 * AMAX);
	out = malloc(sizeof(float) * ROWS * AMAX);
	ref = malloc(sizeof(float) * ROWS * AMAX);
	fill_random(wf, K * ROWS, 0.05f);
	fill_random(af, K * AMAX, 2);
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		ws = quant_row_size(types[t], K);
		as = quant_row_size(types[t], K);
		for (i = 0; i < ROWS; i++)
			quant_quantize_row_ref(types[t], wf + (size_t)K * i,
			    w + ws * i, K);
		for (j = 0; j < AMAX; j++)
			quant_quantize_row_ref(types[t], af + (size_t)K * j,
			    a + as * j, K);
		for (ai = 0; ai < 2; ai++) {
			quant_gemm_ref(types[t], K, w, ws, ROWS, a, as,
			    nacts[ai], ref, ROWS);
			for (lvl = 0; lvl < nlvl; lvl++) {
				quant_set_isa((enum quant_isa)lvl);
				fn = quant_get_gemm(types[t]);
				fn(K, w, ws, ROWS, a, as, nacts[ai], out, ROWS);
				for (bad = 0, i = 0; i < ROWS * nacts[ai]; i++)
					bad += fabsf(out[i] - ref[i]) >
					    1e-4f * (fabsf(ref[i]) + 1);
				CHECKF(bad == 0, "%s %s, %d activations: %d "
				    "sums off", quant_type_info(types[t])->name,
				    quant_isa_name((enum quant_isa)lvl),
				    nacts[ai], bad);
			}
		}
	}
	quant_set_isa(QUANT_ISA_AVX512);
	free(wf);
	free(af);
	free(w);
	free(a);
	free(out);
	free(ref);
}

/*
 * Interleaved weights: the layout round-trips, its reference equals the
 * plain one exactly, and every level's kernel matches the plain reference
 * for whole and short panels, few and many activations, one run of k and
 * several (k past QS_X8_TERMS / C blocks), and a call that starts at panel 1.
 * extreme: constant rows (of either sign) against constant activations
 * (of either sign), so every weight and activation takes its largest
 * quantized magnitude and the integer sums their largest values.
 */
static void
check_gemm_x8(enum ggml_type type, const int64_t *ks, size_t n_ks,
    int extreme)
{
	static const int rows[] = { 1, 3, 8, 17, 24 };
	static const int nacts[] = { 1, 2, 3, 4, 5, 7, 8, 9, 17 };
	enum { RMAX = 24, AMAX = 17, OSTRIDE = RMAX + 5 };
	const enum ggml_type dot = quant_type_info(type)->dot_type;
	int64_t kmax = ks[n_ks - 1];
	float *wf, *af, *out, *ref;
	uint8_t *w, *x8, *a, *row;
	size_t ws, as, ki, ri, ai;
	int lvl, nlvl = isa_count(), i, j, first;
	quant_gemm_fn fn;

	wf = malloc(sizeof(float) * (size_t)kmax * RMAX);
	af = malloc(sizeof(float) * (size_t)kmax * AMAX);
	w = malloc(quant_row_size(type, kmax) * RMAX);
	x8 = malloc(quant_x8_bytes(type, kmax, RMAX));
	row = malloc(quant_row_size(type, kmax));
	a = malloc(quant_row_size(dot, kmax) * AMAX);
	out = malloc(sizeof(float) * OSTRIDE * AMAX);
	ref = malloc(sizeof(float) * OSTRIDE * AMAX);
	fill_random(wf, kmax * RMAX, 0.05f);
	fill_random(af, kmax * AMAX, 2);
	for (i = 0; extreme && i < RMAX; i++)
		for (ki = 0; ki < (size_t)kmax; ki++)
			wf[(size_t)i * kmax + ki] = i & 2 ? -0.05f : 0.05f;
	for (j = 0; extreme && j < AMAX; j++)
		for (ki = 0; ki < (size_t)kmax; ki++)
			af[(size_t)j * kmax + ki] = j & 1 ? -2.0f : 2.0f;
	for (ki = 0; ki < n_ks; ki++) {
		int64_t k = ks[ki];

		ws = quant_row_size(type, k);
		as = quant_row_size(dot, k);
		for (i = 0; i < RMAX; i++)
			quant_quantize_row_ref(type, wf + k * i, w + ws * i, k);
		for (j = 0; j < AMAX; j++)
			quant_quantize_row_ref(dot, af + k * j, a + as * j, k);
		for (ri = 0; ri < sizeof(rows) / sizeof(rows[0]); ri++) {
			int nr = rows[ri];

			memset(x8, 0xA5, quant_x8_bytes(type, k, RMAX));
			CHECK(quant_x8_pack(type, k, w, ws, nr, x8) == 0);
			for (i = 0; i < nr; i++) {
				quant_x8_unpack_row(type, k, x8, i, row);
				CHECKF(memcmp(row, w + ws * i, ws) == 0,
				    "x8 row %d of %d, k %lld", i, nr,
				    (long long)k);
			}
			for (ai = 0; ai < sizeof(nacts) / sizeof(nacts[0]);
			    ai++) for (first = 0; first <= 8 && first < nr;
			    first += 8) {
				int na = nacts[ai], n = nr - first;

				quant_gemm_ref(type, k, w + ws * first, ws, n,
				    a, as, na, ref, OSTRIDE);
				quant_set_isa(QUANT_ISA_SCALAR);
				for (lvl = 0; lvl <= nlvl; lvl++) {
					if (lvl == nlvl) {
						if (nlvl < 2)
							continue;
						fn = test_wide_gemm_x8(type);
					} else {
						quant_set_isa(
						    (enum quant_isa)lvl);
						fn = quant_get_gemm_x8(type);
					}
					for (i = 0; i < OSTRIDE * AMAX; i++)
						out[i] = -1234.5f;
					fn(k, x8 + ws * first, ws, n, a, as,
					    na, out, OSTRIDE);
					for (j = 0; j < na; j++)
					for (i = 0; i < OSTRIDE; i++) {
						float g = out[j * OSTRIDE + i];
						float r = ref[j * OSTRIDE + i];

						if (i >= n) {
							CHECKF(g == -1234.5f,
							    "x8 wrote past row"
							    " %d", i);
							continue;
						}
						/* the reference sums
						 * blocks in the same order:
						 * exact; the kernels: close */
						CHECKF(lvl == 0 ? g == r :
						    fabsf(g - r) <= 1e-4f *
						    (1 + fabsf(r)),
						    "%s x8 %s k %lld rows %d+%d"
						    " acts %d [%d,%d]: %.9g vs"
						    " %.9g", quant_type_info(
						    type)->name, lvl == nlvl ?
						    "4x4 vnni" : quant_isa_name(
						    (enum quant_isa)lvl),
						    (long long)k, first, n, na,
						    i, j, g, r);
					}
				}
				quant_set_isa(QUANT_ISA_AVX512);
			}
		}
	}
	quant_set_isa(QUANT_ISA_AVX512);
	free(wf);
	free(af);
	free(w);
	free(x8);
	free(row);
	free(a);
	free(out);
	free(ref);
}

static void
test_gemm_x8(void)
{
	static const int64_t k4_0[] = { 32, 160, 2048, 32 * 1100 };
	static const int64_t k4_K[] = { 256, 2048, 256 * 520 };

	CHECK(quant_x8_supported(GGML_TYPE_Q4_0));
	CHECK(quant_x8_supported(GGML_TYPE_Q4_K));
	CHECK(quant_x8_supported(GGML_TYPE_Q6_K));
	CHECK(quant_x8_supported(GGML_TYPE_Q8_0));
	CHECK(!quant_x8_supported(GGML_TYPE_Q5_0));
	CHECK(quant_x8_supported(GGML_TYPE_Q5_K));
	CHECK(quant_get_gemm_x8(GGML_TYPE_Q3_K) == NULL);
	CHECK(quant_x8_bytes(GGML_TYPE_Q4_0, 64, 17) == 24 * 36);
	CHECK(quant_x8_bytes(GGML_TYPE_Q4_0, 33, 8) == 0);
	CHECK(quant_x8_pack(GGML_TYPE_Q5_0, 32, NULL, 0, 0, NULL) == -1);
	check_gemm_x8(GGML_TYPE_Q4_0, k4_0, sizeof(k4_0) / sizeof(k4_0[0]), 0);
	check_gemm_x8(GGML_TYPE_Q4_0, k4_0, 2, 1);
	check_gemm_x8(GGML_TYPE_Q8_0, k4_0, sizeof(k4_0) / sizeof(k4_0[0]), 0);
	check_gemm_x8(GGML_TYPE_Q8_0, k4_0, 2, 1);
	check_gemm_x8(GGML_TYPE_Q4_K, k4_K, sizeof(k4_K) / sizeof(k4_K[0]), 0);
	check_gemm_x8(GGML_TYPE_Q4_K, k4_K, 2, 1);
	check_gemm_x8(GGML_TYPE_Q5_K, k4_K, sizeof(k4_K) / sizeof(k4_K[0]), 0);
	check_gemm_x8(GGML_TYPE_Q5_K, k4_K, 2, 1);
	check_gemm_x8(GGML_TYPE_Q6_K, k4_K, sizeof(k4_K) / sizeof(k4_K[0]), 0);
	check_gemm_x8(GGML_TYPE_Q6_K, k4_K, 2, 1);
}

static void
test_quantize_levels(void)
{
	static const enum ggml_type types[] = {
		GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0,
		GGML_TYPE_Q8_1, GGML_TYPE_Q8_K,
	};
	enum { N = 4096 };
	static float x[N];
	static uint8_t q[N * 4 + 64], r[N * 4 + 64];
	size_t t;
	int lvl, nlvl = isa_count();
	quant_quantize_fn fn;
	size_t sz;

	fill_random(x, N, 5);
	x[7] = 0;
	x[100] = -0.0f;
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		sz = quant_row_size(types[t], N);
		memset(r, 0x5a, sizeof(r));
		quant_quantize_row_ref(types[t], x, r, N);
		for (lvl = 0; lvl < nlvl; lvl++) {
			quant_set_isa((enum quant_isa)lvl);
			fn = quant_get_quantize(types[t]);
			CHECK(fn != NULL);
			memset(q, 0x5a, sizeof(q));
			fn(x, q, N);
			CHECKF(memcmp(q, r, sz + 64) == 0, "%s at %s",
			    quant_type_info(types[t])->name,
			    quant_isa_name((enum quant_isa)lvl));
		}
	}
	/* conversions of special values and of rows that end mid-vector */
	{
		static const uint32_t special[] = {
			0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001,
			0xffffe000, 0x477ff000, 0x477fefff, 0x33000000,
			0x33000001, 0x00000001, 0x80000000, 0x3f808000,
			0x3f818000, 0x49800000, 0x387fe000, 0xc77fe000,
			0x3f800fff, 0x01000000, 0x7f7fffff,
		};
		float sx[19];
		uint16_t hq[19], hr[19];
		size_t i, ns = sizeof(special) / sizeof(special[0]);

		for (i = 0; i < ns; i++)
			memcpy(&sx[i], &special[i], 4);
		for (t = 1; t < 3; t++) {
			quant_quantize_row_ref(types[t], sx, hr, (int64_t)ns);
			for (lvl = 0; lvl < nlvl; lvl++) {
				quant_set_isa((enum quant_isa)lvl);
				quant_get_quantize(types[t])(sx, hq,
				    (int64_t)ns);
				CHECKF(memcmp(hq, hr, sizeof(hr)) == 0,
				    "%s specials at %s",
				    quant_type_info(types[t])->name,
				    quant_isa_name((enum quant_isa)lvl));
			}
		}
	}
	quant_set_isa(QUANT_ISA_AVX512);
}

static void
test_dequantize_levels(void)
{
	static const enum ggml_type extra[] = { GGML_TYPE_Q8_1,
	    GGML_TYPE_Q8_K };
	enum { N = 2048 };
	static float x[N], y[N + 16], r[N + 16];
	static uint8_t q[N * 4];
	enum ggml_type type;
	size_t t;
	int lvl, nlvl = isa_count();

	fill_random(x, N, 1);
	for (t = 0; t < N_WEIGHT_TYPES + 2; t++) {
		type = t < N_WEIGHT_TYPES ? weight_types[t] :
		    extra[t - N_WEIGHT_TYPES];
		quant_quantize_row_ref(type, x, q, N);
		memset(r, 0, sizeof(r));
		quant_dequantize_row_ref(type, q, r, N);
		for (lvl = 0; lvl < nlvl; lvl++) {
			quant_set_isa((enum quant_isa)lvl);
			memset(y, 0, sizeof(y));
			quant_dequantize_row(type, q, y, N);
			CHECKF(memcmp(y, r, sizeof(y)) == 0, "%s at %s",
			    quant_type_info(type)->name,
			    quant_isa_name((enum quant_isa)lvl));
		}
	}
	/* half-precision rows of a length that is no multiple of 8 */
	for (t = 1; t < 3; t++) {
		type = weight_types[t];
		quant_quantize_row_ref(type, x, q, 21);
		memset(r, 0, sizeof(r));
		quant_dequantize_row_ref(type, q, r, 21);
		for (lvl = 0; lvl < nlvl; lvl++) {
			quant_set_isa((enum quant_isa)lvl);
			memset(y, 0, sizeof(y));
			quant_dequantize_row(type, q, y, 21);
			CHECK(memcmp(y, r, sizeof(y)) == 0);
		}
	}
	quant_set_isa(QUANT_ISA_AVX512);
}

/*
 * Attention at every level against the reference: grouped heads of 64,
 * 128 and 40 (no multiple of 8: the reference's own path) over 1 to 1500
 * positions, with keys spread wide enough that most weights underflow;
 * outputs within 2e-5 of the largest value, and every level the same to
 * the bit whatever the positions before it (a row's result depends on its
 * own cache only).
 */
static void
test_attn_levels(void)
{
	static const int hds[] = { 64, 128, 40 };
	static const int lens[] = { 1, 7, 8, 9, 300, 1500 };
	enum { GROUP = 8, STRIDE = 4 * 128 + 8, POS = 1500 };
	static float q[GROUP * 128], k[POS * STRIDE], v[POS * STRIDE];
	static float sc[GROUP * POS], ref[GROUP * 128], got[GROUP * 128];
	float scale, err, top;
	size_t h, l, i;
	int lvl, nlvl = isa_count();

	fill_random(k, POS * STRIDE, 3);
	fill_random(v, POS * STRIDE, 1);
	for (h = 0; h < sizeof(hds) / sizeof(hds[0]); h++)
	for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		int hd = hds[h], len = lens[l];

		fill_random(q, GROUP * hd, 1);
		scale = 1.0f / sqrtf((float)hd);
		quant_attn_ref(q, GROUP, hd, k, v, STRIDE, len, scale, sc,
		    ref);
		for (top = 0, i = 0; i < (size_t)GROUP * hd; i++)
			if (fabsf(ref[i]) > top)
				top = fabsf(ref[i]);
		for (lvl = 0; lvl < nlvl; lvl++) {
			quant_set_isa((enum quant_isa)lvl);
			memset(got, 0, sizeof(got));
			quant_get_attn()(q, GROUP, hd, k, v, STRIDE, len,
			    scale, sc, got);
			for (err = 0, i = 0; i < (size_t)GROUP * hd; i++)
				if (fabsf(got[i] - ref[i]) > err)
					err = fabsf(got[i] - ref[i]);
			CHECKF(err <= 2e-5f * top, "hd %d, %d positions at "
			    "%s: off by %g of %g", hd, len, quant_isa_name(
			    (enum quant_isa)lvl), err, top);
			/* one head alone: the same bits as in its group */
			quant_get_attn()(q + hd, 1, hd, k, v, STRIDE, len,
			    scale, sc, ref);
			CHECK(memcmp(ref, got + hd, (size_t)hd *
			    sizeof(float)) == 0);
			quant_attn_ref(q, GROUP, hd, k, v, STRIDE, len, scale,
			    sc, ref);
		}
		/* the wide build's kernel: the AVX-512 file's arithmetic */
		quant_set_isa(QUANT_ISA_AVX2);
		if (quant_isa() == QUANT_ISA_AVX2) {
			test_wide_attn()(q, GROUP, hd, k, v, STRIDE, len,
			    scale, sc, got);
			for (err = 0, i = 0; i < (size_t)GROUP * hd; i++)
				if (fabsf(got[i] - ref[i]) > err)
					err = fabsf(got[i] - ref[i]);
			CHECK(err <= 2e-5f * top);
		}
	}
	quant_set_isa(QUANT_ISA_AVX512);
}

/*
 * SwiGLU at every level against the reference: gates across and past
 * exp's range (silu of -200 is 0, of 200 is 200), within 4e-6 relative;
 * and an element's result the same to the bit wherever it lies (an array
 * cut at any point, as a pass over more rows cuts it).
 */
static void
test_swiglu_levels(void)
{
	enum { N = 1003 };
	static float g[N], u[N], ref[N], got[N], part[N];
	float err;
	size_t i, cut;
	int lvl, nlvl = isa_count();

	fill_random(g, N, 6);
	fill_random(u, N, 1);
	g[0] = -200;
	g[1] = 200;
	g[2] = 0;
	g[3] = -87.5f;
	g[4] = 88.5f;
	memcpy(ref, g, sizeof(g));
	quant_swiglu_ref(ref, u, N);
	CHECK(ref[0] == 0 && fabsf(ref[1] - 200 * u[1]) < 1e-3f);
	for (lvl = 0; lvl < nlvl; lvl++) {
		quant_set_isa((enum quant_isa)lvl);
		memcpy(got, g, sizeof(g));
		quant_get_swiglu()(got, u, N);
		for (i = 0; i < N; i++) {
			err = fabsf(got[i] - ref[i]);
			CHECKF(err <= 4e-6f * fabsf(ref[i]) + 1e-30f, "at %s, "
			    "element %zu (gate %g): %g against %g",
			    quant_isa_name((enum quant_isa)lvl), i, g[i],
			    got[i], ref[i]);
		}
		for (cut = 1; cut < 20; cut++) {
			memcpy(part, g, sizeof(g));
			quant_get_swiglu()(part, u, cut);
			quant_get_swiglu()(part + cut, u + cut, N - cut);
			CHECK(memcmp(part, got, sizeof(got)) == 0);
		}
	}
	quant_set_isa(QUANT_ISA_AVX512);
}

static void
test_isa(void)
{
	enum quant_isa best = quant_set_isa(QUANT_ISA_AVX512);

	CHECK(quant_set_isa(QUANT_ISA_SCALAR) == QUANT_ISA_SCALAR);
	CHECK(quant_isa() == QUANT_ISA_SCALAR);
	CHECK(quant_set_isa(QUANT_ISA_AVX512) == best);
	CHECK_STR(quant_isa_name(QUANT_ISA_AVX2), "avx2");
	printf("# isa: %s\n", quant_isa_name(best));
}

/*
 * The claim batched decoding stands on (quant_gemm_rows_independent):
 * for those types, at every level and for plain and interleaved weights,
 * a product over many activation rows gives each row exactly the bits of
 * a product over that row alone, for row counts that take every path
 * (one row, a few, a panel's worth).
 */
static void
test_gemm_rows_independent(void)
{
	enum { K = 512, R = 24, A = 40, OS = R };
	static const int nacts[] = { 2, 5, 9, 40 };
	float *wf = malloc(sizeof(float) * K * R), *af = malloc(sizeof(float) *
	    K * A), *many = malloc(sizeof(float) * OS * A), one[OS];
	uint8_t *w = malloc((size_t)K * 4 * R), *x8 = NULL, *a;
	size_t t, ws, as;
	int lvl, nlvl = isa_count(), ai, j, plain, bad = 0;
	quant_gemm_fn fn;

	a = malloc((size_t)K * 4 * A);
	fill_random(wf, K * R, 0.05f);
	fill_random(af, K * A, 2);
	for (t = 0; t < N_WEIGHT_TYPES; t++) {
		enum ggml_type type = weight_types[t];
		enum ggml_type dot = quant_type_info(type)->dot_type;

		if (!quant_gemm_rows_independent(type, 0) &&
		    !quant_gemm_rows_independent(type, 1))
			continue;
		ws = quant_row_size(type, K);
		as = quant_row_size(dot, K);
		for (j = 0; j < R; j++)
			quant_quantize_row_ref(type, wf + K * j, w + ws * j, K);
		for (j = 0; j < A; j++)
			quant_quantize_row_ref(dot, af + K * j, a + as * j, K);
		if (quant_x8_supported(type)) {
			x8 = realloc(x8, quant_x8_bytes(type, K, R));
			CHECK(quant_x8_pack(type, K, w, ws, R, x8) == 0);
		}
		for (lvl = 0; lvl < nlvl; lvl++)
		for (plain = 1; plain >= (quant_x8_supported(type) ? 0 : 1);
		    plain--)
		for (ai = 0; ai < 4; ai++) {
			if (!quant_gemm_rows_independent(type, !plain))
				continue;
			quant_set_isa((enum quant_isa)lvl);
			fn = plain ? quant_get_gemm(type) :
			    quant_get_gemm_x8(type);
			fn(K, plain ? w : x8, ws, R, a, as, nacts[ai], many,
			    OS);
			for (j = 0; j < nacts[ai]; j++) {
				fn(K, plain ? w : x8, ws, R, a + as * j, as, 1,
				    one, OS);
				if (memcmp(one, many + OS * j, sizeof(one)) ==
				    0)
					continue;
				fprintf(stderr, "  %s %s %s: row %d of %d "
				    "differs\n", quant_type_info(type)->name,
				    quant_isa_name((enum quant_isa)lvl),
				    plain ? "plain" : "x8", j, nacts[ai]);
				bad++;
				break;
			}
		}
		quant_set_isa(QUANT_ISA_AVX512);
	}
	quant_set_isa(QUANT_ISA_AVX512);
	free(wf);
	free(af);
	free(many);
	free(w);
	free(x8);
	free(a);
	CHECKF(bad == 0, "%d products differ", bad);
}

int
main(void)
{
	TEST_RUN(test_sizes);
	TEST_RUN(test_fp16);
	TEST_RUN(test_bf16);
	TEST_RUN(test_layout_legacy);
	TEST_RUN(test_layout_k);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_activation_sums);
	TEST_RUN(test_vec_dot_ref);
	TEST_RUN(test_isa);
	TEST_RUN(test_gemm_levels);
	TEST_RUN(test_gemm_float_blocks);
	TEST_RUN(test_gemm_x8);
	TEST_RUN(test_gemm_rows_independent);
	TEST_RUN(test_quantize_levels);
	TEST_RUN(test_dequantize_levels);
	TEST_RUN(test_attn_levels);
	TEST_RUN(test_swiglu_levels);
	TEST_EXIT();
}
