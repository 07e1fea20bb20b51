/*
 * Tensor types: the type table, fp16/bf16 conversions, the scalar reference
 * kernels that define what every block means (dequantize, quantize, dot
 * product against the activation "dot type"), and the run-time dispatcher
 * that picks the AVX2 or AVX-512 fast paths after checking CPUID and the
 * OS's saved vector state. The dot products accumulate integers within a
 * block and scale once per block or sub-block, as ggml does, so that the
 * results track llama.cpp's to float rounding.
 */
#include <cpuid.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "core/quant-impl.h"
#include "util/xmalloc.h"

static const struct quant_type_info quant_types[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = { "F32", 1, 4, GGML_TYPE_F32, 1 },
	[GGML_TYPE_F16] = { "F16", 1, 2, GGML_TYPE_F16, 1 },
	[GGML_TYPE_BF16] = { "BF16", 1, 2, GGML_TYPE_BF16, 1 },
	[GGML_TYPE_Q4_0] = { "Q4_0", QK4_0, sizeof(struct block_q4_0),
	    GGML_TYPE_Q8_0, 1 },
	[GGML_TYPE_Q4_1] = { "Q4_1", QK4_1, sizeof(struct block_q4_1),
	    GGML_TYPE_Q8_1, 1 },
	[GGML_TYPE_Q5_0] = { "Q5_0", QK5_0, sizeof(struct block_q5_0),
	    GGML_TYPE_Q8_0, 1 },
	[GGML_TYPE_Q5_1] = { "Q5_1", QK5_1, sizeof(struct block_q5_1),
	    GGML_TYPE_Q8_1, 1 },
	[GGML_TYPE_Q8_0] = { "Q8_0", QK8_0, sizeof(struct block_q8_0),
	    GGML_TYPE_Q8_0, 1 },
	[GGML_TYPE_Q8_1] = { "Q8_1", QK8_1, sizeof(struct block_q8_1),
	    GGML_TYPE_Q8_1, 0 },
	[GGML_TYPE_Q2_K] = { "Q2_K", QK_K, sizeof(struct block_q2_K),
	    GGML_TYPE_Q8_K, 1 },
	[GGML_TYPE_Q3_K] = { "Q3_K", QK_K, sizeof(struct block_q3_K),
	    GGML_TYPE_Q8_K, 1 },
	[GGML_TYPE_Q4_K] = { "Q4_K", QK_K, sizeof(struct block_q4_K),
	    GGML_TYPE_Q8_K, 1 },
	[GGML_TYPE_Q5_K] = { "Q5_K", QK_K, sizeof(struct block_q5_K),
	    GGML_TYPE_Q8_K, 1 },
	[GGML_TYPE_Q6_K] = { "Q6_K", QK_K, sizeof(struct block_q6_K),
	    GGML_TYPE_Q8_K, 1 },
	[GGML_TYPE_Q8_K] = { "Q8_K", QK_K, sizeof(struct block_q8_K),
	    GGML_TYPE_Q8_K, 0 },
};

const struct quant_type_info *
quant_type_info(uint32_t type)
{
	if (type >= GGML_TYPE_COUNT || quant_types[type].name == NULL)
		return NULL;
	return &quant_types[type];
}

size_t
quant_row_size(enum ggml_type type, int64_t n)
{
	const struct quant_type_info *ti = quant_type_info(type);

	if (ti == NULL || n < 0 || n % ti->block_size != 0)
		return 0;
	if ((uint64_t)(n / ti->block_size) > SIZE_MAX / ti->type_size)
		return 0;
	return (size_t)(n / ti->block_size) * ti->type_size;
}

/* ---- fp16 / bf16 ---- */

float
fp16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;

	if (exp == 0x1f)
		return quant_bits_f32(sign | 0x7f800000 | (man << 13));
	if (exp == 0) {
		/* zero or subnormal: man * 2^-24 is exact in float */
		float f = (float)man * 5.9604644775390625e-8f;

		return quant_bits_f32(sign | quant_f32_bits(f));
	}
	return quant_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t
f32_to_fp16(float f)
{
	uint32_t u = quant_f32_bits(f);
	uint32_t sign = (u >> 16) & 0x8000, r, rem, half;
	int e, s;

	u &= 0x7fffffff;
	if (u > 0x7f800000)		/* NaN: keep it quiet and signed */
		return (uint16_t)(sign | 0x7e00 | ((u >> 13) & 0x3ff));
	if (u >= 0x477ff000)		/* >= 65520 rounds to infinity */
		return (uint16_t)(sign | 0x7c00);
	if (u < 0x38800000) {		/* below 2^-14: subnormal or zero */
		e = (int)(u >> 23);
		if (e < 102)
			return (uint16_t)sign;
		u = (u & 0x7fffff) | 0x800000;
		s = 126 - e;
		r = u >> s;
		rem = u & ((1u << s) - 1);
		half = 1u << (s - 1);
		if (rem > half || (rem == half && (r & 1)))
			r++;
		return (uint16_t)(sign | r);
	}
	r = (u >> 13) - (112u << 10);
	rem = u & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (r & 1)))
		r++;
	return (uint16_t)(sign | r);
}

float
bf16_to_f32(uint16_t h)
{
	return quant_bits_f32((uint32_t)h << 16);
}

uint16_t
f32_to_bf16(float f)
{
	uint32_t u = quant_f32_bits(f);

	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((u >> 16) | 64);	/* quiet the NaN */
	return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

static const float *quant_fp16_lut(void);

/* ---- dequantization ---- */

static void
dequant_q4_0(const struct block_q4_0 *b, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, y += QK4_0) {
		float d = fp16_to_f32(b->d);

		for (j = 0; j < QK4_0 / 2; j++) {
			y[j] = d * ((b->qs[j] & 0xF) - 8);
			y[j + 16] = d * ((b->qs[j] >> 4) - 8);
		}
	}
}

static void
dequant_q4_1(const struct block_q4_1 *b, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, y += QK4_1) {
		float d = fp16_to_f32(b->d), m = fp16_to_f32(b->m);

		for (j = 0; j < QK4_1 / 2; j++) {
			y[j] = d * (b->qs[j] & 0xF) + m;
			y[j + 16] = d * (b->qs[j] >> 4) + m;
		}
	}
}

static uint32_t
load_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
dequant_q5_0(const struct block_q5_0 *b, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, y += QK5_0) {
		float d = fp16_to_f32(b->d);
		uint32_t qh = load_u32le(b->qh);

		for (j = 0; j < QK5_0 / 2; j++) {
			int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;

			y[j] = d * (((b->qs[j] & 0xF) | (h0 << 4)) - 16);
			y[j + 16] = d * (((b->qs[j] >> 4) | (h1 << 4)) - 16);
		}
	}
}

static void
dequant_q5_1(const struct block_q5_1 *b, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, y += QK5_1) {
		float d = fp16_to_f32(b->d), m = fp16_to_f32(b->m);
		uint32_t qh = load_u32le(b->qh);

		for (j = 0; j < QK5_1 / 2; j++) {
			int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;

			y[j] = d * ((b->qs[j] & 0xF) | (h0 << 4)) + m;
			y[j + 16] = d * ((b->qs[j] >> 4) | (h1 << 4)) + m;
		}
	}
}

static void
dequant_q8_0(const struct block_q8_0 *b, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, y += QK8_0) {
		float d = fp16_to_f32(b->d);

		for (j = 0; j < QK8_0; j++)
			y[j] = d * b->qs[j];
	}
}

static void
dequant_q8_1(const struct block_q8_1 *b, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, y += QK8_1) {
		float d = fp16_to_f32(b->d);

		for (j = 0; j < QK8_1; j++)
			y[j] = d * b->qs[j];
	}
}

static void
dequant_q2_K(const struct block_q2_K *b, float *y, int64_t nb)
{
	int64_t i;
	int h, j, l, sub;

	for (i = 0; i < nb; i++, b++) {
		float d = fp16_to_f32(b->d), dmin = fp16_to_f32(b->dmin);

		for (h = 0; h < 2; h++) {
			const uint8_t *q = b->qs + 32 * h;

			for (j = 0; j < 4; j++) {
				for (l = 0; l < 32; l++) {
					sub = 8 * h + 2 * j + l / 16;
					*y++ = d * (b->scales[sub] & 0xF) *
					    ((q[l] >> (2 * j)) & 3) -
					    dmin * (b->scales[sub] >> 4);
				}
			}
		}
	}
}

static void
dequant_q3_K(const struct block_q3_K *b, float *y, int64_t nb)
{
	int64_t i;
	int h, j, l, q;
	int8_t sc[16];

	for (i = 0; i < nb; i++, b++) {
		float d = fp16_to_f32(b->d);

		quant_k3_scales(b->scales, sc);
		for (h = 0; h < 2; h++) {
			for (j = 0; j < 4; j++) {
				for (l = 0; l < 32; l++) {
					q = (b->qs[32 * h + l] >> (2 * j)) & 3;
					if (!(b->hmask[l] & (1 << (4 * h + j))))
						q -= 4;
					*y++ = d * sc[8 * h + 2 * j + l / 16] * q;
				}
			}
		}
	}
}

static void
dequant_q4_K(const struct block_q4_K *b, float *y, int64_t nb)
{
	int64_t i;
	int h, l;
	uint8_t sc, m;

	for (i = 0; i < nb; i++, b++) {
		float d = fp16_to_f32(b->d), dmin = fp16_to_f32(b->dmin);

		for (h = 0; h < 4; h++) {
			const uint8_t *q = b->qs + 32 * h;
			float d1, m1, d2, m2;

			quant_k4_scale_min(2 * h, b->scales, &sc, &m);
			d1 = d * sc;
			m1 = dmin * m;
			quant_k4_scale_min(2 * h + 1, b->scales, &sc, &m);
			d2 = d * sc;
			m2 = dmin * m;
			for (l = 0; l < 32; l++)
				*y++ = d1 * (q[l] & 0xF) - m1;
			for (l = 0; l < 32; l++)
				*y++ = d2 * (q[l] >> 4) - m2;
		}
	}
}

static void
dequant_q5_K(const struct block_q5_K *b, float *y, int64_t nb)
{
	int64_t i;
	int h, l;
	uint8_t sc, m;

	for (i = 0; i < nb; i++, b++) {
		float d = fp16_to_f32(b->d), dmin = fp16_to_f32(b->dmin);

		for (h = 0; h < 4; h++) {
			const uint8_t *q = b->qs + 32 * h;
			float d1, m1, d2, m2;

			quant_k4_scale_min(2 * h, b->scales, &sc, &m);
			d1 = d * sc;
			m1 = dmin * m;
			quant_k4_scale_min(2 * h + 1, b->scales, &sc, &m);
			d2 = d * sc;
			m2 = dmin * m;
			for (l = 0; l < 32; l++)
				*y++ = d1 * ((q[l] & 0xF) |
				    (((b->qh[l] >> (2 * h)) & 1) << 4)) - m1;
			for (l = 0; l < 32; l++)
				*y++ = d2 * ((q[l] >> 4) |
				    (((b->qh[l] >> (2 * h + 1)) & 1) << 4)) - m2;
		}
	}
}

/* The stored (biased) six-bit value of element 128h + 32j + l, j in 0..3. */
static inline int
q6_K_value(const struct block_q6_K *b, int h, int j, int l)
{
	int lo, hi;

	lo = b->ql[64 * h + 32 * (j & 1) + l];
	lo = j < 2 ? lo & 0xF : lo >> 4;
	hi = (b->qh[32 * h + l] >> (2 * j)) & 3;
	return lo | (hi << 4);
}

static void
dequant_q6_K(const struct block_q6_K *b, float *y, int64_t nb)
{
	int64_t i;
	int h, j, l;

	for (i = 0; i < nb; i++, b++) {
		float d = fp16_to_f32(b->d);

		for (h = 0; h < 2; h++)
			for (j = 0; j < 4; j++)
				for (l = 0; l < 32; l++)
					*y++ = d * b->scales[8 * h + 2 * j +
					    l / 16] * (q6_K_value(b, h, j, l) -
					    32);
	}
}

static void
dequant_q8_K(const struct block_q8_K *b, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++)
		for (j = 0; j < QK_K; j++)
			*y++ = b->d * b->qs[j];
}

void
quant_dequantize_row_ref(enum ggml_type type, const void *src, float *dst,
    int64_t n)
{
	const struct quant_type_info *ti = quant_type_info(type);
	const uint16_t *h = src;
	int64_t i, nb;

	if (ti == NULL || n <= 0)
		return;
	nb = n / ti->block_size;
	switch (type) {
	case GGML_TYPE_F32:
		memcpy(dst, src, (size_t)n * sizeof(float));
		break;
	case GGML_TYPE_F16: {
		const float *lut = quant_fp16_lut();

		for (i = 0; i < n; i++)
			dst[i] = lut[h[i]];
		break;
	}
	case GGML_TYPE_BF16:
		for (i = 0; i < n; i++)
			dst[i] = bf16_to_f32(h[i]);
		break;
	case GGML_TYPE_Q4_0: dequant_q4_0(src, dst, nb); break;
	case GGML_TYPE_Q4_1: dequant_q4_1(src, dst, nb); break;
	case GGML_TYPE_Q5_0: dequant_q5_0(src, dst, nb); break;
	case GGML_TYPE_Q5_1: dequant_q5_1(src, dst, nb); break;
	case GGML_TYPE_Q8_0: dequant_q8_0(src, dst, nb); break;
	case GGML_TYPE_Q8_1: dequant_q8_1(src, dst, nb); break;
	case GGML_TYPE_Q2_K: dequant_q2_K(src, dst, nb); break;
	case GGML_TYPE_Q3_K: dequant_q3_K(src, dst, nb); break;
	case GGML_TYPE_Q4_K: dequant_q4_K(src, dst, nb); break;
	case GGML_TYPE_Q5_K: dequant_q5_K(src, dst, nb); break;
	case GGML_TYPE_Q6_K: dequant_q6_K(src, dst, nb); break;
	case GGML_TYPE_Q8_K: dequant_q8_K(src, dst, nb); break;
	default:
		break;
	}
}

/* ---- quantization ---- */

/* Round to nearest, ties to even (as the SIMD quantizers do); |f| < 2^22. */
static inline int
nearest_int(float f)
{
	float v = f + 12582912.f;

	return (int)(quant_f32_bits(v) & 0x007fffff) - 0x00400000;
}

static void
quant_q8_0(const float *x, struct block_q8_0 *b, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, x += QK8_0) {
		float amax = 0, d, id;

		for (j = 0; j < QK8_0; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		/* 127 / amax rather than 1 / d: llama.cpp's x86 build
		 * quantizes its activations so, and we want its bits */
		d = amax / 127;
		id = amax != 0 ? 127 / amax : 0;
		b->d = f32_to_fp16(d);
		for (j = 0; j < QK8_0; j++)
			b->qs[j] = (int8_t)nearest_int(x[j] * id);
	}
}

static void
quant_q8_1(const float *x, struct block_q8_1 *b, int64_t nb)
{
	int64_t i;
	int j, sum;

	for (i = 0; i < nb; i++, b++, x += QK8_1) {
		float amax = 0, d, id;

		for (j = 0; j < QK8_1; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		d = amax / 127;
		id = amax != 0 ? 127 / amax : 0;
		b->d = f32_to_fp16(d);
		sum = 0;
		for (j = 0; j < QK8_1; j++) {
			b->qs[j] = (int8_t)nearest_int(x[j] * id);
			sum += b->qs[j];
		}
		b->s = f32_to_fp16(d * (float)sum);
	}
}

static void
quant_q8_K(const float *x, struct block_q8_K *b, int64_t nb)
{
	int64_t i;
	int j, v, s;

	for (i = 0; i < nb; i++, b++, x += QK_K) {
		float amax = 0, max = 0, iscale;

		for (j = 0; j < QK_K; j++) {
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		if (amax == 0) {
			memset(b, 0, sizeof(*b));
			continue;
		}
		/* the signed extreme maps to -127, so +128 can occur: clip */
		iscale = -127.f / max;
		for (j = 0; j < QK_K; j++) {
			v = nearest_int(iscale * x[j]);
			b->qs[j] = (int8_t)(v > 127 ? 127 : v);
		}
		for (j = 0; j < QK_K / 16; j++) {
			int l;

			for (s = 0, l = 0; l < 16; l++)
				s += b->qs[16 * j + l];
			b->bsums[j] = (int16_t)s;
		}
		b->d = 1 / iscale;
	}
}

static void
absmax_signed(const float *x, int n, float *amax, float *max)
{
	int j;

	*amax = 0;
	*max = 0;
	for (j = 0; j < n; j++) {
		if (fabsf(x[j]) > *amax) {
			*amax = fabsf(x[j]);
			*max = x[j];
		}
	}
}

static void
quant_q4_0(const float *x, struct block_q4_0 *b, int64_t nb)
{
	int64_t i;
	int j, q0, q1;
	float amax, max, d, id;

	for (i = 0; i < nb; i++, b++, x += QK4_0) {
		absmax_signed(x, QK4_0, &amax, &max);
		d = max / -8;
		id = d != 0 ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		for (j = 0; j < QK4_0 / 2; j++) {
			q0 = (int)(x[j] * id + 8.5f);
			q1 = (int)(x[j + 16] * id + 8.5f);
			q0 = q0 > 15 ? 15 : q0;
			q1 = q1 > 15 ? 15 : q1;
			b->qs[j] = (uint8_t)(q0 | (q1 << 4));
		}
	}
}

static void
minmax(const float *x, int n, float *mn, float *mx)
{
	int j;

	*mn = INFINITY;
	*mx = -INFINITY;
	for (j = 0; j < n; j++) {
		*mn = fminf(*mn, x[j]);
		*mx = fmaxf(*mx, x[j]);
	}
}

static void
quant_q4_1(const float *x, struct block_q4_1 *b, int64_t nb)
{
	int64_t i;
	int j, q0, q1;
	float mn, mx, d, id;

	for (i = 0; i < nb; i++, b++, x += QK4_1) {
		minmax(x, QK4_1, &mn, &mx);
		d = (mx - mn) / 15;
		id = d != 0 ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		b->m = f32_to_fp16(mn);
		for (j = 0; j < QK4_1 / 2; j++) {
			q0 = (int)((x[j] - mn) * id + 0.5f);
			q1 = (int)((x[j + 16] - mn) * id + 0.5f);
			q0 = q0 > 15 ? 15 : q0;
			q1 = q1 > 15 ? 15 : q1;
			b->qs[j] = (uint8_t)(q0 | (q1 << 4));
		}
	}
}

static void
quant_q5_0(const float *x, struct block_q5_0 *b, int64_t nb)
{
	int64_t i;
	int j, q0, q1;
	uint32_t qh;
	float amax, max, d, id;

	for (i = 0; i < nb; i++, b++, x += QK5_0) {
		absmax_signed(x, QK5_0, &amax, &max);
		d = max / -16;
		id = d != 0 ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		qh = 0;
		for (j = 0; j < QK5_0 / 2; j++) {
			q0 = (int)(x[j] * id + 16.5f);
			q1 = (int)(x[j + 16] * id + 16.5f);
			q0 = q0 > 31 ? 31 : q0;
			q1 = q1 > 31 ? 31 : q1;
			b->qs[j] = (uint8_t)((q0 & 0xF) | ((q1 & 0xF) << 4));
			qh |= (uint32_t)(q0 >> 4) << j;
			qh |= (uint32_t)(q1 >> 4) << (j + 16);
		}
		for (j = 0; j < 4; j++)
			b->qh[j] = (uint8_t)(qh >> (8 * j));
	}
}

static void
quant_q5_1(const float *x, struct block_q5_1 *b, int64_t nb)
{
	int64_t i;
	int j, q0, q1;
	uint32_t qh;
	float mn, mx, d, id;

	for (i = 0; i < nb; i++, b++, x += QK5_1) {
		minmax(x, QK5_1, &mn, &mx);
		d = (mx - mn) / 31;
		id = d != 0 ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		b->m = f32_to_fp16(mn);
		qh = 0;
		for (j = 0; j < QK5_1 / 2; j++) {
			q0 = (int)((x[j] - mn) * id + 0.5f);
			q1 = (int)((x[j + 16] - mn) * id + 0.5f);
			q0 = q0 > 31 ? 31 : q0;
			q1 = q1 > 31 ? 31 : q1;
			b->qs[j] = (uint8_t)((q0 & 0xF) | ((q1 & 0xF) << 4));
			qh |= (uint32_t)(q0 >> 4) << j;
			qh |= (uint32_t)(q1 >> 4) << (j + 16);
		}
		for (j = 0; j < 4; j++)
			b->qh[j] = (uint8_t)(qh >> (8 * j));
	}
}

static inline int
clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Fits x ~ scale * q - mn with q in [0, nmax], mn >= 0, by trying a few
 * scales around (max - min) / nmax and refining each by least squares;
 * returns the scale and sets *mn.
 */
static float
fit_affine(const float *x, int n, int nmax, float *mn)
{
	float lo, hi, best_err = INFINITY, best_s = 0, best_m = 0;
	int is, j, q;

	minmax(x, n, &lo, &hi);
	if (lo > 0)
		lo = 0;
	if (hi <= lo) {
		*mn = -lo;
		return 0;
	}
	for (is = -10; is <= 10; is++) {
		float iscale = (nmax + 0.1f * is) / (hi - lo);
		double sl = 0, sl2 = 0, sx = 0, slx = 0, det, s, m, err = 0;

		if (iscale <= 0)
			continue;
		for (j = 0; j < n; j++) {
			q = clampi(nearest_int(iscale * (x[j] - lo)), 0, nmax);
			sl += q;
			sl2 += (double)q * q;
			sx += x[j];
			slx += (double)q * x[j];
		}
		det = n * sl2 - sl * sl;
		if (det <= 0)
			continue;
		s = (n * slx - sl * sx) / det;
		m = (sl2 * sx - sl * slx) / det;	/* x ~ s q + m */
		if (m > 0) {
			m = 0;
			s = sl2 > 0 ? slx / sl2 : 0;
		}
		if (s <= 0)
			continue;
		for (j = 0; j < n; j++) {
			double e;

			q = clampi(nearest_int((float)((x[j] - m) / s)), 0,
			    nmax);
			e = s * q + m - x[j];
			err += e * e;
		}
		if (err < best_err) {
			best_err = (float)err;
			best_s = (float)s;
			best_m = (float)-m;
		}
	}
	if (best_err == INFINITY) {
		*mn = -lo;
		return (hi - lo) / nmax;
	}
	*mn = best_m;
	return best_s;
}

/* Fits x ~ scale * q with q in [-nmax, nmax - 1]; the scale is signed so
 * that the largest magnitude lands on -nmax. */
static float
fit_symmetric(const float *x, int n, int nmax)
{
	float amax, max, best_err = INFINITY, best_s = 0;
	int is, j, q;

	absmax_signed(x, n, &amax, &max);
	if (amax < 1e-30f)
		return 0;
	for (is = -9; is <= 9; is++) {
		float iscale = -(nmax + 0.1f * is) / max;
		double sl2 = 0, slx = 0, s, err = 0;

		for (j = 0; j < n; j++) {
			q = clampi(nearest_int(iscale * x[j]), -nmax, nmax - 1);
			sl2 += (double)q * q;
			slx += (double)q * x[j];
		}
		if (sl2 <= 0)
			continue;
		s = slx / sl2;
		for (j = 0; j < n; j++) {
			double e;

			q = clampi(nearest_int((float)(x[j] / s)), -nmax,
			    nmax - 1);
			e = s * q - x[j];
			err += e * e;
		}
		if (err < best_err) {
			best_err = (float)err;
			best_s = (float)s;
		}
	}
	return best_s;
}

/* Quantizes per-sub-block scales (>= 0) to [0, qmax]; returns the step. */
static float
quantize_scales(const float *s, int n, int qmax, uint8_t *q)
{
	float mx = 0, d, id;
	int j;

	for (j = 0; j < n; j++)
		mx = fmaxf(mx, s[j]);
	d = mx / qmax;
	id = mx > 0 ? qmax / mx : 0;
	for (j = 0; j < n; j++)
		q[j] = (uint8_t)clampi(nearest_int(id * s[j]), 0, qmax);
	return d;
}

/* Sub-block affine quantization shared by Q2_K, Q4_K, Q5_K: fills
 * L[QK_K] with q in [0, nmax] given the stored d, dmin and 6/4-bit
 * scales and mins. */
static void
quant_k_affine(const float *x, int sub, int nmax, int smax, float *d,
    float *dmin, uint8_t *ls, uint8_t *lm, uint8_t *L, uint16_t *dh,
    uint16_t *dminh)
{
	float sc[16], mn[16];
	int ns = QK_K / sub, j, l;

	for (j = 0; j < ns; j++)
		sc[j] = fit_affine(x + sub * j, sub, nmax, &mn[j]);
	*d = quantize_scales(sc, ns, smax, ls);
	*dmin = quantize_scales(mn, ns, smax, lm);
	*dh = f32_to_fp16(*d);
	*dminh = f32_to_fp16(*dmin);
	*d = fp16_to_f32(*dh);
	*dmin = fp16_to_f32(*dminh);
	for (j = 0; j < ns; j++) {
		float ds = *d * ls[j], dm = *dmin * lm[j];

		for (l = 0; l < sub; l++) {
			float v = x[sub * j + l];

			L[sub * j + l] = ds > 0 ? (uint8_t)clampi(
			    nearest_int((v + dm) / ds), 0, nmax) : 0;
		}
	}
}

static void
quant_q2_K(const float *x, struct block_q2_K *b, int64_t nb)
{
	uint8_t L[QK_K], ls[16], lm[16];
	float d, dmin;
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, x += QK_K) {
		quant_k_affine(x, 16, 3, 15, &d, &dmin, ls, lm, L, &b->d,
		    &b->dmin);
		for (j = 0; j < 16; j++)
			b->scales[j] = (uint8_t)(ls[j] | (lm[j] << 4));
		memset(b->qs, 0, sizeof(b->qs));
		for (j = 0; j < QK_K; j++)
			b->qs[32 * (j / 128) + j % 32] |=
			    (uint8_t)(L[j] << (2 * ((j % 128) / 32)));
	}
}

static void
pack_k4_scales(const uint8_t *ls, const uint8_t *lm, uint8_t *s)
{
	int j;

	memset(s, 0, K_SCALE_SIZE);
	for (j = 0; j < 8; j++) {
		if (j < 4) {
			s[j] = ls[j];
			s[j + 4] = lm[j];
		} else {
			s[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
			s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
			s[j] |= (uint8_t)((lm[j] >> 4) << 6);
		}
	}
}

static void
quant_q4_K(const float *x, struct block_q4_K *b, int64_t nb)
{
	uint8_t L[QK_K], ls[8], lm[8];
	float d, dmin;
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, x += QK_K) {
		quant_k_affine(x, 32, 15, 63, &d, &dmin, ls, lm, L, &b->d,
		    &b->dmin);
		pack_k4_scales(ls, lm, b->scales);
		for (j = 0; j < QK_K / 2; j++) {
			int h = j / 32, l = j % 32;

			b->qs[j] = (uint8_t)(L[64 * h + l] |
			    (L[64 * h + 32 + l] << 4));
		}
	}
}

static void
quant_q5_K(const float *x, struct block_q5_K *b, int64_t nb)
{
	uint8_t L[QK_K], ls[8], lm[8];
	float d, dmin;
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, x += QK_K) {
		quant_k_affine(x, 32, 31, 63, &d, &dmin, ls, lm, L, &b->d,
		    &b->dmin);
		pack_k4_scales(ls, lm, b->scales);
		memset(b->qh, 0, sizeof(b->qh));
		for (j = 0; j < QK_K / 2; j++) {
			int h = j / 32, l = j % 32;
			int a = L[64 * h + l], c = L[64 * h + 32 + l];

			b->qs[j] = (uint8_t)((a & 0xF) | ((c & 0xF) << 4));
			b->qh[l] |= (uint8_t)(((a >> 4) << (2 * h)) |
			    ((c >> 4) << (2 * h + 1)));
		}
	}
}

/* Symmetric K-quants (Q3_K, Q6_K): fits each sub-block of 16, quantizes
 * the signed scales to [-smax, smax - 1] and fills L with q + nmax. */
static float
quant_k_symmetric(const float *x, int nmax, int smax, int8_t *ls, uint8_t *L,
    uint16_t *dh)
{
	float sc[16], amax = 0, max = 0, iscale, d;
	int j, l;

	for (j = 0; j < 16; j++) {
		sc[j] = fit_symmetric(x + 16 * j, 16, nmax);
		if (fabsf(sc[j]) > amax) {
			amax = fabsf(sc[j]);
			max = sc[j];
		}
	}
	if (amax == 0) {
		memset(ls, 0, 16);
		memset(L, nmax, QK_K);
		*dh = 0;
		return 0;
	}
	iscale = -smax / max;
	for (j = 0; j < 16; j++)
		ls[j] = (int8_t)clampi(nearest_int(iscale * sc[j]), -smax,
		    smax - 1);
	*dh = f32_to_fp16(1 / iscale);
	d = fp16_to_f32(*dh);
	for (j = 0; j < 16; j++) {
		float ds = d * ls[j];

		for (l = 0; l < 16; l++)
			L[16 * j + l] = (uint8_t)(ds != 0 ? clampi(nearest_int(
			    x[16 * j + l] / ds), -nmax, nmax - 1) + nmax : nmax);
	}
	return d;
}

static void
quant_q3_K(const float *x, struct block_q3_K *b, int64_t nb)
{
	uint8_t L[QK_K];
	int8_t ls[16];
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, x += QK_K) {
		quant_k_symmetric(x, 4, 32, ls, L, &b->d);
		memset(b->scales, 0, sizeof(b->scales));
		for (j = 0; j < 16; j++) {
			int v = ls[j] + 32;

			if (j < 8)
				b->scales[j] = (uint8_t)(v & 0xF);
			else
				b->scales[j - 8] |= (uint8_t)((v & 0xF) << 4);
			b->scales[8 + j % 4] |= (uint8_t)((v >> 4) <<
			    (2 * (j / 4)));
		}
		memset(b->qs, 0, sizeof(b->qs));
		memset(b->hmask, 0, sizeof(b->hmask));
		for (j = 0; j < QK_K; j++) {
			int h = j / 128, k = (j % 128) / 32, l = j % 32;
			int v = L[j];

			if (v > 3) {
				b->hmask[l] |= (uint8_t)(1 << (4 * h + k));
				v -= 4;
			}
			b->qs[32 * h + l] |= (uint8_t)(v << (2 * k));
		}
	}
}

static void
quant_q6_K(const float *x, struct block_q6_K *b, int64_t nb)
{
	uint8_t L[QK_K];
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, b++, x += QK_K) {
		quant_k_symmetric(x, 32, 128, b->scales, L, &b->d);
		memset(b->ql, 0, sizeof(b->ql));
		memset(b->qh, 0, sizeof(b->qh));
		for (j = 0; j < QK_K; j++) {
			int h = j / 128, k = (j % 128) / 32, l = j % 32;
			int v = L[j];

			b->ql[64 * h + 32 * (k & 1) + l] |=
			    (uint8_t)((v & 0xF) << (k < 2 ? 0 : 4));
			b->qh[32 * h + l] |= (uint8_t)((v >> 4) << (2 * k));
		}
	}
}

void
quant_quantize_row_ref(enum ggml_type type, const float *src, void *dst,
    int64_t n)
{
	const struct quant_type_info *ti = quant_type_info(type);
	uint16_t *h = dst;
	int64_t i, nb;

	if (ti == NULL || n <= 0)
		return;
	nb = n / ti->block_size;
	switch (type) {
	case GGML_TYPE_F32:
		memcpy(dst, src, (size_t)n * sizeof(float));
		break;
	case GGML_TYPE_F16:
		for (i = 0; i < n; i++)
			h[i] = f32_to_fp16(src[i]);
		break;
	case GGML_TYPE_BF16:
		for (i = 0; i < n; i++)
			h[i] = f32_to_bf16(src[i]);
		break;
	case GGML_TYPE_Q4_0: quant_q4_0(src, dst, nb); break;
	case GGML_TYPE_Q4_1: quant_q4_1(src, dst, nb); break;
	case GGML_TYPE_Q5_0: quant_q5_0(src, dst, nb); break;
	case GGML_TYPE_Q5_1: quant_q5_1(src, dst, nb); break;
	case GGML_TYPE_Q8_0: quant_q8_0(src, dst, nb); break;
	case GGML_TYPE_Q8_1: quant_q8_1(src, dst, nb); break;
	case GGML_TYPE_Q2_K: quant_q2_K(src, dst, nb); break;
	case GGML_TYPE_Q3_K: quant_q3_K(src, dst, nb); break;
	case GGML_TYPE_Q4_K: quant_q4_K(src, dst, nb); break;
	case GGML_TYPE_Q5_K: quant_q5_K(src, dst, nb); break;
	case GGML_TYPE_Q6_K: quant_q6_K(src, dst, nb); break;
	case GGML_TYPE_Q8_K: quant_q8_K(src, dst, nb); break;
	default:
		break;
	}
}

/* ---- dot products ---- */

/*
 * The float dot products sum in double, four partial sums so that the
 * scalar level is not bound by the latency of one chain; fp16 goes
 * through a table built once (the same values fp16_to_f32 gives).
 */
static float quant_fp16_table[1 << 16];
static pthread_once_t quant_fp16_once = PTHREAD_ONCE_INIT;

static void
quant_fp16_init(void)
{
	uint32_t h;

	for (h = 0; h < (1u << 16); h++)
		quant_fp16_table[h] = fp16_to_f32((uint16_t)h);
}

static const float *
quant_fp16_lut(void)
{
	pthread_once(&quant_fp16_once, quant_fp16_init);
	return quant_fp16_table;
}

#define DOT_FLOAT(name, type, conv)					\
static float								\
name(int64_t n, const type *x, const type *y)				\
{									\
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;				\
	int64_t i;							\
									\
	for (i = 0; i + 4 <= n; i += 4) {				\
		s0 += conv(x[i]) * conv(y[i]);				\
		s1 += conv(x[i + 1]) * conv(y[i + 1]);			\
		s2 += conv(x[i + 2]) * conv(y[i + 2]);			\
		s3 += conv(x[i + 3]) * conv(y[i + 3]);			\
	}								\
	for (; i < n; i++)						\
		s0 += conv(x[i]) * conv(y[i]);				\
	return (float)((s0 + s1) + (s2 + s3));				\
}
#define CONV_F32(v)	(v)
#define CONV_BF16(v)	bf16_to_f32(v)
#define CONV_F16(v)	lut[v]

/* fp16 and bf16 products are exact in float */
DOT_FLOAT(dot_f32, float, CONV_F32)
DOT_FLOAT(dot_bf16, uint16_t, CONV_BF16)

static float
dot_f16(int64_t n, const uint16_t *x, const uint16_t *y)
{
	const float *lut = quant_fp16_lut();
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int64_t i;

	for (i = 0; i + 4 <= n; i += 4) {
		s0 += CONV_F16(x[i]) * CONV_F16(y[i]);
		s1 += CONV_F16(x[i + 1]) * CONV_F16(y[i + 1]);
		s2 += CONV_F16(x[i + 2]) * CONV_F16(y[i + 2]);
		s3 += CONV_F16(x[i + 3]) * CONV_F16(y[i + 3]);
	}
	for (; i < n; i++)
		s0 += CONV_F16(x[i]) * CONV_F16(y[i]);
	return (float)((s0 + s1) + (s2 + s3));
}

static float
dot_q4_0(int64_t nb, const struct block_q4_0 *x, const struct block_q8_0 *y)
{
	float s = 0;
	int64_t i;
	int j, sumi;

	for (i = 0; i < nb; i++) {
		sumi = 0;
		for (j = 0; j < 16; j++)
			sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j] +
			    ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
		s += sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
	}
	return s;
}

static float
dot_q4_1(int64_t nb, const struct block_q4_1 *x, const struct block_q8_1 *y)
{
	float s = 0;
	int64_t i;
	int j, sumi;

	for (i = 0; i < nb; i++) {
		sumi = 0;
		for (j = 0; j < 16; j++)
			sumi += (x[i].qs[j] & 0xF) * y[i].qs[j] +
			    (x[i].qs[j] >> 4) * y[i].qs[j + 16];
		s += sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d)) +
		    fp16_to_f32(x[i].m) * fp16_to_f32(y[i].s);
	}
	return s;
}

static float
dot_q5_0(int64_t nb, const struct block_q5_0 *x, const struct block_q8_0 *y)
{
	float s = 0;
	int64_t i;
	int j, sumi, v0, v1;
	uint32_t qh;

	for (i = 0; i < nb; i++) {
		qh = load_u32le(x[i].qh);
		sumi = 0;
		for (j = 0; j < 16; j++) {
			v0 = ((x[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - 16;
			v1 = ((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) -
			    16;
			sumi += v0 * y[i].qs[j] + v1 * y[i].qs[j + 16];
		}
		s += sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
	}
	return s;
}

static float
dot_q5_1(int64_t nb, const struct block_q5_1 *x, const struct block_q8_1 *y)
{
	float s = 0;
	int64_t i;
	int j, sumi, v0, v1;
	uint32_t qh;

	for (i = 0; i < nb; i++) {
		qh = load_u32le(x[i].qh);
		sumi = 0;
		for (j = 0; j < 16; j++) {
			v0 = (x[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4);
			v1 = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
			sumi += v0 * y[i].qs[j] + v1 * y[i].qs[j + 16];
		}
		s += sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d)) +
		    fp16_to_f32(x[i].m) * fp16_to_f32(y[i].s);
	}
	return s;
}

static float
dot_q8_0(int64_t nb, const struct block_q8_0 *x, const struct block_q8_0 *y)
{
	float s = 0;
	int64_t i;
	int j, sumi;

	for (i = 0; i < nb; i++) {
		sumi = 0;
		for (j = 0; j < QK8_0; j++)
			sumi += x[i].qs[j] * y[i].qs[j];
		s += sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
	}
	return s;
}

static float
dot_q2_K(int64_t nb, const struct block_q2_K *x, const struct block_q8_K *y)
{
	float s = 0;
	int64_t i;
	int h, j, l, sub, isum, summs, p;

	for (i = 0; i < nb; i++) {
		const int8_t *q8 = y[i].qs;

		summs = 0;
		for (j = 0; j < 16; j++)
			summs += y[i].bsums[j] * (x[i].scales[j] >> 4);
		isum = 0;
		for (h = 0; h < 2; h++) {
			for (j = 0; j < 4; j++) {
				for (sub = 0; sub < 2; sub++) {
					p = 0;
					for (l = 16 * sub; l < 16 * sub + 16; l++)
						p += q8[l] * ((x[i].qs[32 * h +
						    l] >> (2 * j)) & 3);
					isum += p * (x[i].scales[8 * h + 2 * j +
					    sub] & 0xF);
				}
				q8 += 32;
			}
		}
		s += y[i].d * fp16_to_f32(x[i].d) * isum -
		    y[i].d * fp16_to_f32(x[i].dmin) * summs;
	}
	return s;
}

static float
dot_q3_K(int64_t nb, const struct block_q3_K *x, const struct block_q8_K *y)
{
	float s = 0;
	int64_t i;
	int h, j, l, sub, isum, p, q;
	int8_t sc[16];

	for (i = 0; i < nb; i++) {
		const int8_t *q8 = y[i].qs;

		quant_k3_scales(x[i].scales, sc);
		isum = 0;
		for (h = 0; h < 2; h++) {
			for (j = 0; j < 4; j++) {
				for (sub = 0; sub < 2; sub++) {
					p = 0;
					for (l = 16 * sub; l < 16 * sub + 16;
					    l++) {
						q = (x[i].qs[32 * h + l] >>
						    (2 * j)) & 3;
						if (!(x[i].hmask[l] &
						    (1 << (4 * h + j))))
							q -= 4;
						p += q8[l] * q;
					}
					isum += p * sc[8 * h + 2 * j + sub];
				}
				q8 += 32;
			}
		}
		s += fp16_to_f32(x[i].d) * y[i].d * isum;
	}
	return s;
}

static float
dot_q4_K(int64_t nb, const struct block_q4_K *x, const struct block_q8_K *y)
{
	float s = 0;
	int64_t i;
	int j, l, isum, summs, p;
	uint8_t sc, m;

	for (i = 0; i < nb; i++) {
		const uint8_t *q4 = x[i].qs;
		const int8_t *q8 = y[i].qs;

		isum = 0;
		summs = 0;
		for (j = 0; j < 8; j++) {
			quant_k4_scale_min(j, x[i].scales, &sc, &m);
			summs += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
			p = 0;
			for (l = 0; l < 32; l++)
				p += q8[32 * j + l] * (j & 1 ? q4[32 * (j / 2) +
				    l] >> 4 : q4[32 * (j / 2) + l] & 0xF);
			isum += p * sc;
		}
		s += fp16_to_f32(x[i].d) * y[i].d * isum -
		    fp16_to_f32(x[i].dmin) * y[i].d * summs;
	}
	return s;
}

static float
dot_q5_K(int64_t nb, const struct block_q5_K *x, const struct block_q8_K *y)
{
	float s = 0;
	int64_t i;
	int j, l, isum, summs, p, q;
	uint8_t sc, m;

	for (i = 0; i < nb; i++) {
		const uint8_t *q4 = x[i].qs;
		const int8_t *q8 = y[i].qs;

		isum = 0;
		summs = 0;
		for (j = 0; j < 8; j++) {
			quant_k4_scale_min(j, x[i].scales, &sc, &m);
			summs += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
			p = 0;
			for (l = 0; l < 32; l++) {
				q = q4[32 * (j / 2) + l];
				q = j & 1 ? q >> 4 : q & 0xF;
				q |= ((x[i].qh[l] >> j) & 1) << 4;
				p += q8[32 * j + l] * q;
			}
			isum += p * sc;
		}
		s += fp16_to_f32(x[i].d) * y[i].d * isum -
		    fp16_to_f32(x[i].dmin) * y[i].d * summs;
	}
	return s;
}

static float
dot_q6_K(int64_t nb, const struct block_q6_K *x, const struct block_q8_K *y)
{
	float s = 0;
	int64_t i;
	int h, j, l, sub, isum, p;

	for (i = 0; i < nb; i++) {
		const int8_t *q8 = y[i].qs;

		isum = 0;
		for (h = 0; h < 2; h++) {
			for (j = 0; j < 4; j++) {
				for (sub = 0; sub < 2; sub++) {
					p = 0;
					for (l = 16 * sub; l < 16 * sub + 16; l++)
						p += q8[l] * (q6_K_value(&x[i],
						    h, j, l) - 32);
					isum += p * x[i].scales[8 * h + 2 * j +
					    sub];
				}
				q8 += 32;
			}
		}
		s += fp16_to_f32(x[i].d) * y[i].d * isum;
	}
	return s;
}

float
quant_vec_dot_ref(enum ggml_type type, int64_t n, const void *w,
    const void *act)
{
	const struct quant_type_info *ti = quant_type_info(type);
	int64_t nb;

	if (ti == NULL || n <= 0)
		return 0;
	nb = n / ti->block_size;
	switch (type) {
	case GGML_TYPE_F32: return dot_f32(n, w, act);
	case GGML_TYPE_F16: return dot_f16(n, w, act);
	case GGML_TYPE_BF16: return dot_bf16(n, w, act);
	case GGML_TYPE_Q4_0: return dot_q4_0(nb, w, act);
	case GGML_TYPE_Q4_1: return dot_q4_1(nb, w, act);
	case GGML_TYPE_Q5_0: return dot_q5_0(nb, w, act);
	case GGML_TYPE_Q5_1: return dot_q5_1(nb, w, act);
	case GGML_TYPE_Q8_0: return dot_q8_0(nb, w, act);
	case GGML_TYPE_Q2_K: return dot_q2_K(nb, w, act);
	case GGML_TYPE_Q3_K: return dot_q3_K(nb, w, act);
	case GGML_TYPE_Q4_K: return dot_q4_K(nb, w, act);
	case GGML_TYPE_Q5_K: return dot_q5_K(nb, w, act);
	case GGML_TYPE_Q6_K: return dot_q6_K(nb, w, act);
	default: return 0;
	}
}

void
quant_gemm_ref(enum ggml_type type, int64_t k, const void *w,
    size_t w_stride, int n_rows, const void *acts, size_t act_stride,
    int n_acts, float *out, size_t out_stride)
{
	const char *wp = w, *ap = acts;
	int i, j;

	for (j = 0; j < n_acts; j++)
		for (i = 0; i < n_rows; i++)
			out[(size_t)j * out_stride + i] = quant_vec_dot_ref(type,
			    k, wp + (size_t)i * w_stride,
			    ap + (size_t)j * act_stride);
}

/* ---- interleaved weights ---- */

int
quant_x8_supported(enum ggml_type type)
{
	return type == GGML_TYPE_Q4_0 || type == GGML_TYPE_Q8_0 ||
	    type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q5_K ||
	    type == GGML_TYPE_Q6_K;
}

size_t
quant_x8_bytes(enum ggml_type type, int64_t k, int64_t n_rows)
{
	size_t row = quant_row_size(type, k);
	uint64_t panels;

	if (!quant_x8_supported(type) || row == 0 || n_rows < 0)
		return 0;
	panels = ((uint64_t)n_rows + QUANT_X8_ROWS - 1) / QUANT_X8_ROWS;
	if (panels > SIZE_MAX / QUANT_X8_ROWS / row)
		return 0;
	return (size_t)panels * QUANT_X8_ROWS * row;
}

/* Words of four bytes between a row's array and a panel's: word w of row
 * r at 32w + 4r of the panel (to_panel) or the other way round. */
static void
x8_words(uint8_t *panel, uint8_t *row, int n_words, int r, int to_panel)
{
	int w;

	for (w = 0; w < n_words; w++) {
		if (to_panel)
			memcpy(panel + 32 * w + 4 * r, row + 4 * w, 4);
		else
			memcpy(row + 4 * w, panel + 32 * w + 4 * r, 4);
	}
}

/* The 256 six-bit values of a plain Q6_K block (0..63, +32 on the true
 * value), out of it and into it. */
static void
q6_values_unpack(const struct block_q6_K *b, uint8_t *v)
{
	int h, l;

	for (h = 0; h < 2; h++)
		for (l = 0; l < 32; l++) {
			const uint8_t *ql = b->ql + 64 * h + l;
			int qh = b->qh[32 * h + l];

			v[128 * h + l] = (uint8_t)((ql[0] & 0x0F) |
			    (qh & 3) << 4);
			v[128 * h + 32 + l] = (uint8_t)((ql[32] & 0x0F) |
			    (qh >> 2 & 3) << 4);
			v[128 * h + 64 + l] = (uint8_t)(ql[0] >> 4 |
			    (qh >> 4 & 3) << 4);
			v[128 * h + 96 + l] = (uint8_t)(ql[32] >> 4 |
			    (qh >> 6 & 3) << 4);
		}
}

static void
q6_values_pack(struct block_q6_K *b, const uint8_t *v)
{
	int h, l;

	for (h = 0; h < 2; h++)
		for (l = 0; l < 32; l++) {
			const uint8_t *x = v + 128 * h + l;

			b->ql[64 * h + l] = (uint8_t)((x[0] & 0x0F) |
			    (x[64] & 0x0F) << 4);
			b->ql[64 * h + 32 + l] = (uint8_t)((x[32] & 0x0F) |
			    (x[96] & 0x0F) << 4);
			b->qh[32 * h + l] = (uint8_t)(x[0] >> 4 |
			    (x[32] >> 4) << 2 | (x[64] >> 4) << 4 |
			    (x[96] >> 4) << 6);
		}
}

/* Row r's values between a Q6_K panel's q and a plain block. */
static void
x8_q6_values(uint8_t *panel, struct block_q6_K *b, int r, int to_panel)
{
	uint8_t v[QK_K];
	int j, i, k;

	if (to_panel)
		q6_values_unpack(b, v);
	for (j = 0; j < QK_K / 16; j++)
		for (k = 0; k < 4; k++) {
			uint8_t *x = v + 16 * j + k;
			int top = 0;

			for (i = 0; i < 3; i++) {
				uint8_t *p = panel + 32 * (3 * j + i) + 4 * r +
				    k;

				if (to_panel) {
					*p = (uint8_t)(x[4 * i] | (x[12] >>
					    (2 * i) & 3) << 6);
				} else {
					x[4 * i] = *p & 0x3F;
					top |= (*p >> 6) << (2 * i);
				}
			}
			if (!to_panel)
				x[12] = (uint8_t)top;
		}
	if (!to_panel)
		q6_values_pack(b, v);
}

/* An fp16 field of row r between a panel's array and a plain block. */
static void
x8_half(uint16_t *panel, uint16_t *row, int r, int to_panel)
{
	if (to_panel)
		panel[r] = *row;
	else
		*row = panel[r];
}

/* Row r of panel block x and a plain block b, one way or the other
 * (callers have checked quant_x8_supported). */
static void
x8_block(enum ggml_type type, void *x, void *b, int r, int to_panel)
{
	switch (type) {
	case GGML_TYPE_Q4_0: {
		struct block_q4_0x8 *p = x;
		struct block_q4_0 *q = b;

		x8_half(p->d, &q->d, r, to_panel);
		x8_words(p->qs, q->qs, sizeof(q->qs) / 4, r, to_panel);
		break;
	}
	case GGML_TYPE_Q8_0: {
		struct block_q8_0x8 *p = x;
		struct block_q8_0 *q = b;

		x8_half(p->d, &q->d, r, to_panel);
		x8_words((uint8_t *)p->qs, (uint8_t *)q->qs,
		    sizeof(q->qs) / 4, r, to_panel);
		break;
	}
	case GGML_TYPE_Q4_K: {
		struct block_q4_Kx8 *p = x;
		struct block_q4_K *q = b;

		x8_half(p->d, &q->d, r, to_panel);
		x8_half(p->dmin, &q->dmin, r, to_panel);
		x8_words(p->scales, q->scales, sizeof(q->scales) / 4, r,
		    to_panel);
		x8_words(p->qs, q->qs, sizeof(q->qs) / 4, r, to_panel);
		break;
	}
	case GGML_TYPE_Q5_K: {
		struct block_q5_Kx8 *p = x;
		struct block_q5_K *q = b;

		x8_half(p->d, &q->d, r, to_panel);
		x8_half(p->dmin, &q->dmin, r, to_panel);
		x8_words(p->scales, q->scales, sizeof(q->scales) / 4, r,
		    to_panel);
		x8_words(p->qh, q->qh, sizeof(q->qh) / 4, r, to_panel);
		x8_words(p->qs, q->qs, sizeof(q->qs) / 4, r, to_panel);
		break;
	}
	case GGML_TYPE_Q6_K: {
		struct block_q6_Kx8 *p = x;
		struct block_q6_K *q = b;

		x8_half(p->d, &q->d, r, to_panel);
		x8_words((uint8_t *)p->scales, (uint8_t *)q->scales,
		    sizeof(q->scales) / 4, r, to_panel);
		x8_q6_values(p->q, q, r, to_panel);
		break;
	}
	default:
		break;
	}
}

int
quant_x8_pack(enum ggml_type type, int64_t k, const void *src,
    size_t src_stride, int64_t n_rows, void *dst)
{
	const struct quant_type_info *ti = quant_type_info(type);
	int64_t nb, p, ib, np;
	union {
		struct block_q4_0	q4_0;
		struct block_q8_0	q8_0;
		struct block_q4_K	q4_K;
		struct block_q5_K	q5_K;
		struct block_q6_K	q6_K;
	} blk;
	uint8_t *x = dst;
	size_t bs;
	int r;

	if (!quant_x8_supported(type) || quant_row_size(type, k) == 0)
		return -1;
	nb = k / ti->block_size;
	bs = ti->type_size;
	np = (n_rows + QUANT_X8_ROWS - 1) / QUANT_X8_ROWS;
	for (p = 0; p < np; p++) {
		for (ib = 0; ib < nb; ib++, x += QUANT_X8_ROWS * bs) {
			for (r = 0; r < QUANT_X8_ROWS; r++) {
				int64_t row = p * QUANT_X8_ROWS + r;

				if (row < n_rows)
					memcpy(&blk, (const uint8_t *)src +
					    (size_t)row * src_stride +
					    (size_t)ib * bs, bs);
				else
					memset(&blk, 0, bs);
				x8_block(type, x, &blk, r, 1);
			}
		}
	}
	return 0;
}

void
quant_x8_unpack_row(enum ggml_type type, int64_t k, const void *x8,
    int64_t row, void *dst)
{
	const struct quant_type_info *ti = quant_type_info(type);
	int64_t nb, ib;
	const uint8_t *x;
	uint8_t *b = dst;
	size_t bs;

	if (!quant_x8_supported(type) || quant_row_size(type, k) == 0)
		return;
	nb = k / ti->block_size;
	bs = ti->type_size;
	x = (const uint8_t *)x8 + (size_t)(row / QUANT_X8_ROWS) * nb *
	    QUANT_X8_ROWS * bs;
	for (ib = 0; ib < nb; ib++, x += QUANT_X8_ROWS * bs, b += bs)
		x8_block(type, (void *)(uintptr_t)x, b, (int)(row %
		    QUANT_X8_ROWS), 0);
}

/* The specification: each row unpacked, then the plain reference. */
void
quant_gemm_x8_ref(enum ggml_type type, int64_t k, const void *w,
    size_t w_stride, int n_rows, const void *acts, size_t act_stride,
    int n_acts, float *out, size_t out_stride)
{
	void *row = xmalloc(w_stride > 0 ? w_stride : 1);
	int i, j;

	for (i = 0; i < n_rows; i++) {
		quant_x8_unpack_row(type, k, w, i, row);
		for (j = 0; j < n_acts; j++)
			out[(size_t)j * out_stride + i] = quant_vec_dot_ref(
			    type, k, row, (const char *)acts + (size_t)j *
			    act_stride);
	}
	free(row);
}

#define REF_GEMM_X8(name, type)						\
static void								\
gemm_x8_ref_##name(int64_t k, const void *w, size_t w_stride,		\
    int n_rows, const void *acts, size_t act_stride, int n_acts,	\
    float *out, size_t out_stride)					\
{									\
	quant_gemm_x8_ref(type, k, w, w_stride, n_rows, acts,		\
	    act_stride, n_acts, out, out_stride);			\
}
REF_GEMM_X8(q4_0, GGML_TYPE_Q4_0)
REF_GEMM_X8(q8_0, GGML_TYPE_Q8_0)
REF_GEMM_X8(q4_K, GGML_TYPE_Q4_K)
REF_GEMM_X8(q5_K, GGML_TYPE_Q5_K)
REF_GEMM_X8(q6_K, GGML_TYPE_Q6_K)

/* ---- dispatch ---- */

#define REF_GEMM(name, type)						\
static void								\
gemm_ref_##name(int64_t k, const void *w, size_t w_stride, int n_rows,	\
    const void *acts, size_t act_stride, int n_acts, float *out,	\
    size_t out_stride)							\
{									\
	quant_gemm_ref(type, k, w, w_stride, n_rows, acts, act_stride,	\
	    n_acts, out, out_stride);					\
}
REF_GEMM(f32, GGML_TYPE_F32)
REF_GEMM(f16, GGML_TYPE_F16)
REF_GEMM(bf16, GGML_TYPE_BF16)
REF_GEMM(q4_0, GGML_TYPE_Q4_0)
REF_GEMM(q4_1, GGML_TYPE_Q4_1)
REF_GEMM(q5_0, GGML_TYPE_Q5_0)
REF_GEMM(q5_1, GGML_TYPE_Q5_1)
REF_GEMM(q8_0, GGML_TYPE_Q8_0)
REF_GEMM(q2_K, GGML_TYPE_Q2_K)
REF_GEMM(q3_K, GGML_TYPE_Q3_K)
REF_GEMM(q4_K, GGML_TYPE_Q4_K)
REF_GEMM(q5_K, GGML_TYPE_Q5_K)
REF_GEMM(q6_K, GGML_TYPE_Q6_K)

static const quant_gemm_fn quant_ref_gemms[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = gemm_ref_f32,
	[GGML_TYPE_F16] = gemm_ref_f16,
	[GGML_TYPE_BF16] = gemm_ref_bf16,
	[GGML_TYPE_Q4_0] = gemm_ref_q4_0,
	[GGML_TYPE_Q4_1] = gemm_ref_q4_1,
	[GGML_TYPE_Q5_0] = gemm_ref_q5_0,
	[GGML_TYPE_Q5_1] = gemm_ref_q5_1,
	[GGML_TYPE_Q8_0] = gemm_ref_q8_0,
	[GGML_TYPE_Q2_K] = gemm_ref_q2_K,
	[GGML_TYPE_Q3_K] = gemm_ref_q3_K,
	[GGML_TYPE_Q4_K] = gemm_ref_q4_K,
	[GGML_TYPE_Q5_K] = gemm_ref_q5_K,
	[GGML_TYPE_Q6_K] = gemm_ref_q6_K,
};

#define REF_QUANT(name, type)						\
static void								\
quantize_ref_##name(const float *src, void *dst, int64_t n)		\
{									\
	quant_quantize_row_ref(type, src, dst, n);			\
}
REF_QUANT(f32, GGML_TYPE_F32)
REF_QUANT(f16, GGML_TYPE_F16)
REF_QUANT(bf16, GGML_TYPE_BF16)
REF_QUANT(q8_0, GGML_TYPE_Q8_0)
REF_QUANT(q8_1, GGML_TYPE_Q8_1)
REF_QUANT(q8_K, GGML_TYPE_Q8_K)

static const quant_quantize_fn quant_ref_quantizers[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = quantize_ref_f32,
	[GGML_TYPE_F16] = quantize_ref_f16,
	[GGML_TYPE_BF16] = quantize_ref_bf16,
	[GGML_TYPE_Q8_0] = quantize_ref_q8_0,
	[GGML_TYPE_Q8_1] = quantize_ref_q8_1,
	[GGML_TYPE_Q8_K] = quantize_ref_q8_K,
};

static pthread_once_t quant_once = PTHREAD_ONCE_INIT;
static enum quant_isa quant_cpu_isa;	/* what the CPU and OS support */
static enum quant_isa quant_cur_isa;	/* in force */

static uint64_t
quant_xgetbv(void)
{
	uint32_t lo, hi;

	__asm__ volatile ("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static enum quant_isa
quant_detect(void)
{
	unsigned int a, b, c, d, b7, c7, a71;
	uint64_t xcr0;
	int avx2, avx512;

	if (!__get_cpuid_count(1, 0, &a, &b, &c, &d))
		return QUANT_ISA_SCALAR;
	/* OSXSAVE, AVX, FMA, F16C */
	if (!(c & (1u << 27)) || !(c & (1u << 28)) || !(c & (1u << 12)) ||
	    !(c & (1u << 29)))
		return QUANT_ISA_SCALAR;
	xcr0 = quant_xgetbv();
	if ((xcr0 & 0x6) != 0x6)	/* XMM and YMM state saved */
		return QUANT_ISA_SCALAR;
	if (!__get_cpuid_count(7, 0, &a, &b7, &c7, &d))
		return QUANT_ISA_SCALAR;
	avx2 = (b7 & (1u << 5)) != 0;
	if (!avx2)
		return QUANT_ISA_SCALAR;
	a71 = 0;
	if (a >= 1 && !__get_cpuid_count(7, 1, &a71, &b, &c, &d))
		a71 = 0;
	/* F (16), DQ (17), BW (30), VL (31), VNNI (ecx 11), BF16 (7.1 eax 5),
	 * and the opmask and ZMM state (XCR0 bits 5-7) */
	avx512 = (b7 & (1u << 16)) && (b7 & (1u << 17)) &&
	    (b7 & (1u << 30)) && (b7 & (1u << 31)) && (c7 & (1u << 11)) &&
	    (a71 & (1u << 5)) && (xcr0 & 0xe0) == 0xe0;
	return avx512 ? QUANT_ISA_AVX512 : QUANT_ISA_AVX2;
}

static void
quant_init(void)
{
	const char *env = getenv("SWARM_ISA");

	quant_cpu_isa = quant_detect();
	quant_cur_isa = quant_cpu_isa;
	if (env == NULL)
		return;
	if (strcmp(env, "scalar") == 0)
		quant_cur_isa = QUANT_ISA_SCALAR;
	else if (strcmp(env, "avx2") == 0 && quant_cur_isa > QUANT_ISA_AVX2)
		quant_cur_isa = QUANT_ISA_AVX2;
}

enum quant_isa
quant_isa(void)
{
	pthread_once(&quant_once, quant_init);
	return __atomic_load_n(&quant_cur_isa, __ATOMIC_RELAXED);
}

const char *
quant_isa_name(enum quant_isa isa)
{
	switch (isa) {
	case QUANT_ISA_SCALAR: return "scalar";
	case QUANT_ISA_AVX2: return "avx2";
	case QUANT_ISA_AVX512: return "avx512";
	}
	return "unknown";
}

enum quant_isa
quant_set_isa(enum quant_isa isa)
{
	pthread_once(&quant_once, quant_init);
	if (isa > quant_cpu_isa)
		isa = quant_cpu_isa;
	if (isa < QUANT_ISA_SCALAR)
		isa = QUANT_ISA_SCALAR;
	__atomic_store_n(&quant_cur_isa, isa, __ATOMIC_RELAXED);
	return isa;
}

int
quant_gemm_rows_independent(enum ggml_type type, int x8)
{
	switch (type) {
	case GGML_TYPE_F32:
	case GGML_TYPE_F16:
	case GGML_TYPE_BF16:
		return 0;
	case GGML_TYPE_Q4_0:
	case GGML_TYPE_Q8_0:
		return x8;	/* the plain kernels decode one row apart */
	case GGML_TYPE_Q5_0:
		return 0;	/* it has no interleaved layout */
	default:
		return 1;
	}
}

quant_gemm_fn
quant_get_gemm(enum ggml_type type)
{
	enum quant_isa isa = quant_isa();
	quant_gemm_fn fn = NULL;

	if ((unsigned)type >= GGML_TYPE_COUNT)
		return NULL;
	if (isa >= QUANT_ISA_AVX512)
		fn = quant_avx512_gemm(type);
	if (fn == NULL && isa >= QUANT_ISA_AVX2)
		fn = quant_avx2_gemm(type);
	return fn != NULL ? fn : quant_ref_gemms[type];
}

quant_gemm_fn
quant_get_gemm_x8(enum ggml_type type)
{
	enum quant_isa isa = quant_isa();
	quant_gemm_fn fn = NULL;

	if (!quant_x8_supported(type))
		return NULL;
	if (isa >= QUANT_ISA_AVX512)
		fn = quant_avx512_gemm_x8(type);
	if (fn == NULL && isa >= QUANT_ISA_AVX2)
		fn = quant_avx2_gemm_x8(type);
	if (fn != NULL)
		return fn;
	switch (type) {
	case GGML_TYPE_Q4_0: return gemm_x8_ref_q4_0;
	case GGML_TYPE_Q8_0: return gemm_x8_ref_q8_0;
	case GGML_TYPE_Q4_K: return gemm_x8_ref_q4_K;
	case GGML_TYPE_Q5_K: return gemm_x8_ref_q5_K;
	case GGML_TYPE_Q6_K: return gemm_x8_ref_q6_K;
	default: return NULL;
	}
}

quant_quantize_fn
quant_get_quantize(enum ggml_type type)
{
	enum quant_isa isa = quant_isa();
	quant_quantize_fn fn = NULL;

	if ((unsigned)type >= GGML_TYPE_COUNT)
		return NULL;
	if (isa >= QUANT_ISA_AVX512)
		fn = quant_avx512_quantize(type);
	if (fn == NULL && isa >= QUANT_ISA_AVX2)
		fn = quant_avx2_quantize(type);
	return fn != NULL ? fn : quant_ref_quantizers[type];
}

/* a . b in eight independent partial sums (the order the forward pass
 * has always summed attention's dot products in) */
static float
quant_dot_f32(const float *restrict a, const float *restrict b, int n)
{
	float acc[8] = { 0, 0, 0, 0, 0, 0, 0, 0 }, t;
	int i, l;

	for (i = 0; i + 8 <= n; i += 8)
		for (l = 0; l < 8; l++)
			acc[l] += a[i + l] * b[i + l];
	t = ((acc[0] + acc[4]) + (acc[1] + acc[5])) +
	    ((acc[2] + acc[6]) + (acc[3] + acc[7]));
	for (; i < n; i++)
		t += a[i] * b[i];
	return t;
}

/* y += a x, eight elements a step */
static void
quant_axpy_f32(float *restrict y, float a, const float *restrict x, int n)
{
	int i, l;

	for (i = 0; i + 8 <= n; i += 8)
		for (l = 0; l < 8; l++)
			y[i + l] += a * x[i + l];
	for (; i < n; i++)
		y[i] += a * x[i];
}

void
quant_attn_ref(const float *q, int n_q, int hd, const float *k,
    const float *v, size_t kv_stride, int len, float scale, float *scores,
    float *out)
{
	int h, s;

	for (h = 0; h < n_q; h++) {
		const float *qh = q + (size_t)h * hd;
		float *sc = scores + (size_t)h * len, *o = out + (size_t)h * hd;
		float max = -INFINITY;
		double sum = 0;

		for (s = 0; s < len; s++) {
			sc[s] = quant_dot_f32(qh, k + (size_t)s * kv_stride,
			    hd) * scale;
			if (sc[s] > max)
				max = sc[s];
		}
		for (s = 0; s < len; s++) {
			sc[s] = expf(sc[s] - max);
			sum += sc[s];
		}
		memset(o, 0, (size_t)hd * sizeof(float));
		for (s = 0; s < len; s++)
			quant_axpy_f32(o, (float)(sc[s] / sum), v + (size_t)s *
			    kv_stride, hd);
	}
}

void
quant_swiglu_ref(float *gate, const float *up, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

quant_swiglu_fn
quant_get_swiglu(void)
{
	enum quant_isa isa = quant_isa();

	if (isa >= QUANT_ISA_AVX512)
		return quant_avx512_swiglu();
	if (isa >= QUANT_ISA_AVX2)
		return quant_avx2_swiglu();
	return quant_swiglu_ref;
}

quant_attn_fn
quant_get_attn(void)
{
	enum quant_isa isa = quant_isa();

	if (isa >= QUANT_ISA_AVX512)
		return quant_avx512_attn();
	if (isa >= QUANT_ISA_AVX2)
		return quant_avx2_attn();
	return quant_attn_ref;
}

void
quant_dequantize_row(enum ggml_type type, const void *src, float *dst,
    int64_t n)
{
	enum quant_isa isa = quant_isa();
	quant_dequantize_fn fn = NULL;

	if ((unsigned)type >= GGML_TYPE_COUNT)
		return;
	if (isa >= QUANT_ISA_AVX512)
		fn = quant_avx512_dequantize(type);
	if (fn == NULL && isa >= QUANT_ISA_AVX2)
		fn = quant_avx2_dequantize(type);
	if (fn != NULL)
		fn(src, dst, n);
	else
		quant_dequantize_row_ref(type, src, dst, n);
}
