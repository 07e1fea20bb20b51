/*
 * The AVX-512 build of the SIMD kernels in quant-simd.h: the same 256-bit
 * arithmetic with vpdpbusd (AVX512-VNNI on 256-bit vectors) for the byte
 * dot products, and 32 vector registers for tiles of 4 rows by 4
 * activations.
 */
#define QS_VNNI	1
#define QS_RB	4
#define QS_CB	4
#define QS_X8_Q4_0_ACTS	8
#define QS_GEMM_GETTER		quant_avx512_gemm
#define QS_GEMM_X8_GETTER	quant_avx512_gemm_x8
#define QS_QUANTIZE_GETTER	quant_avx512_quantize
#define QS_DEQUANTIZE_GETTER	quant_avx512_dequantize
#define QS_ATTN_GETTER		quant_avx512_attn
#define QS_SWIGLU_GETTER	quant_avx512_swiglu

#include "core/quant-simd.h"
