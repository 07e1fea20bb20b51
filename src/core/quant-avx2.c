/*
 * The AVX2 (with FMA and F16C) build of the SIMD kernels in quant-simd.h.
 * With 16 vector registers the best tile differs by family (measured on
 * Zen 3 with 64 activations): 4 weight rows by 3 activations for the
 * legacy types, 2 by 4 for the K-quants, 2 by 3 for the float types.
 */
#define QS_VNNI	0
#define QS_RB	4
#define QS_CB	4
#define QS_GEOM_LEGACY	(4, 3)
#define QS_GEOM_K	(2, 4)
#define QS_GEOM_FLOAT	(2, 3)
#define QS_GEMM_GETTER		quant_avx2_gemm
#define QS_GEMM_X8_GETTER	quant_avx2_gemm_x8
#define QS_QUANTIZE_GETTER	quant_avx2_quantize
#define QS_DEQUANTIZE_GETTER	quant_avx2_dequantize
#define QS_ATTN_GETTER		quant_avx2_attn
#define QS_SWIGLU_GETTER	quant_avx2_swiglu

#include "core/quant-simd.h"
