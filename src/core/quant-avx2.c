/*
 * The AVX2 (with FMA and F16C) build of the SIMD kernels in quant-simd.h:
 * tiles of 4 weight rows by 2 activations fit the 16 vector registers.
 */
#define QS_VNNI	0
#define QS_RB	4
#define QS_CB	2
#define QS_GEMM_GETTER		quant_avx2_gemm
#define QS_QUANTIZE_GETTER	quant_avx2_quantize
#define QS_DEQUANTIZE_GETTER	quant_avx2_dequantize

#include "core/quant-simd.h"
