/*
 * avx512 fast paths of the quant kernels (placeholder: every type falls back
 * to the reference kernels).
 */
#include "core/quant-impl.h"

quant_gemm_fn
quant_avx512_gemm(enum ggml_type type)
{
	return NULL;
}

quant_quantize_fn
quant_avx512_quantize(enum ggml_type type)
{
	return NULL;
}

quant_dequantize_fn
quant_avx512_dequantize(enum ggml_type type)
{
	return NULL;
}
