/*
 * Private to the quant kernels (quant.c, quant-avx2.c, quant-avx512.c): the
 * hooks through which the dispatcher asks a SIMD level for its kernels, and
 * the small helpers every level decodes blocks with, so that the bit
 * layouts are written down once.
 */
#ifndef SWARM_CORE_QUANT_IMPL_H
#define SWARM_CORE_QUANT_IMPL_H

#include <stdint.h>
#include <string.h>

#include "core/quant.h"

typedef void (*quant_dequantize_fn)(const void *src, float *dst, int64_t n);

/* Each returns NULL for a type the level has no kernel for; the dispatcher
 * then falls back to the level below and finally to the reference. */
quant_gemm_fn		quant_avx2_gemm(enum ggml_type);
quant_quantize_fn	quant_avx2_quantize(enum ggml_type);
quant_dequantize_fn	quant_avx2_dequantize(enum ggml_type);
quant_gemm_fn		quant_avx2_gemm_x8(enum ggml_type);
quant_gemm_fn		quant_avx512_gemm(enum ggml_type);
quant_gemm_fn		quant_avx512_gemm_x8(enum ggml_type);
quant_quantize_fn	quant_avx512_quantize(enum ggml_type);
quant_dequantize_fn	quant_avx512_dequantize(enum ggml_type);
quant_attn_fn		quant_avx2_attn(void);
quant_attn_fn		quant_avx512_attn(void);
quant_swiglu_fn		quant_avx2_swiglu(void);
quant_swiglu_fn		quant_avx512_swiglu(void);

/* Six-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block. */
static inline void
quant_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

/* The 16 signed scales of a Q3_K block (bias of 32 removed): low nibbles
 * from bytes 0-7 (low halves first), top two bits from bytes 8-11. */
static inline void
quant_k3_scales(const uint8_t *s, int8_t *out)
{
	uint32_t a[3], o[4];
	uint8_t u[16];
	int j;

	memcpy(a, s, 12);
	o[0] = (a[0] & 0x0f0f0f0f) | ((a[2] & 0x03030303) << 4);
	o[1] = (a[1] & 0x0f0f0f0f) | (((a[2] >> 2) & 0x03030303) << 4);
	o[2] = ((a[0] >> 4) & 0x0f0f0f0f) | (((a[2] >> 4) & 0x03030303) << 4);
	o[3] = ((a[1] >> 4) & 0x0f0f0f0f) | (((a[2] >> 6) & 0x03030303) << 4);
	memcpy(u, o, 16);
	for (j = 0; j < 16; j++)
		out[j] = (int8_t)(u[j] - 32);
}

static inline float
quant_bits_f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline uint32_t
quant_f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

#endif
