/*
 * Tensor element types (numbered as in GGUF/ggml), their block layouts, and
 * the kernels that use them. Every type has a plain scalar `_ref` kernel that
 * is the specification; the fast paths (AVX2, AVX-512) are chosen at run
 * time from CPUID and are checked against the references by
 * tests/unit/test-quant.c.
 *
 * Matrix products quantize the activations first into the weight type's
 * "dot type" (F32 -> F32, F16 -> F16, BF16 -> BF16, Q4_0/Q4_1/Q5_0/Q5_1/
 * Q8_0 -> Q8_0 or Q8_1, K-quants -> Q8_K), as llama.cpp does, so the results
 * match its reference logits closely.
 */
#ifndef SWARM_CORE_QUANT_H
#define SWARM_CORE_QUANT_H

#include <stddef.h>
#include <stdint.h>

enum ggml_type {
	GGML_TYPE_F32 = 0,
	GGML_TYPE_F16 = 1,
	GGML_TYPE_Q4_0 = 2,
	GGML_TYPE_Q4_1 = 3,
	GGML_TYPE_Q5_0 = 6,
	GGML_TYPE_Q5_1 = 7,
	GGML_TYPE_Q8_0 = 8,
	GGML_TYPE_Q8_1 = 9,
	GGML_TYPE_Q2_K = 10,
	GGML_TYPE_Q3_K = 11,
	GGML_TYPE_Q4_K = 12,
	GGML_TYPE_Q5_K = 13,
	GGML_TYPE_Q6_K = 14,
	GGML_TYPE_Q8_K = 15,
	GGML_TYPE_BF16 = 30,
	GGML_TYPE_COUNT = 40,	/* bound for tables indexed by type */
};

#define QK4_0	32
#define QK8_0	32
#define QK_K	256

/* ---- block layouts (filled in by quant.c's owner; sizes pinned) ---- */
/*
 * Byte-for-byte the GGUF on-disk blocks. fp16 fields are raw IEEE half bits.
 * Within a 32-element block of the legacy types, byte j holds element j in
 * its low nibble and element j + 16 in its high nibble.
 */
#define QK4_1	32
#define QK5_0	32
#define QK5_1	32
#define QK8_1	32
#define K_SCALE_SIZE 12

struct block_q4_0 {
	uint16_t	d;		/* scale */
	uint8_t		qs[QK4_0 / 2];	/* q - 8 in [-8, 7] */
};
_Static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0 size");

struct block_q4_1 {
	uint16_t	d;		/* scale */
	uint16_t	m;		/* offset: x = q * d + m */
	uint8_t		qs[QK4_1 / 2];
};
_Static_assert(sizeof(struct block_q4_1) == 20, "block_q4_1 size");

struct block_q5_0 {
	uint16_t	d;
	uint8_t		qh[4];		/* bit j: fifth bit of element j */
	uint8_t		qs[QK5_0 / 2];	/* low four bits; q - 16 */
};
_Static_assert(sizeof(struct block_q5_0) == 22, "block_q5_0 size");

struct block_q5_1 {
	uint16_t	d;
	uint16_t	m;
	uint8_t		qh[4];
	uint8_t		qs[QK5_1 / 2];
};
_Static_assert(sizeof(struct block_q5_1) == 24, "block_q5_1 size");

struct block_q8_0 {
	uint16_t	d;
	int8_t		qs[QK8_0];
};
_Static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0 size");

struct block_q8_1 {
	uint16_t	d;
	uint16_t	s;		/* d * sum(qs) */
	int8_t		qs[QK8_1];
};
_Static_assert(sizeof(struct block_q8_1) == 36, "block_q8_1 size");

/*
 * Q2_K: 16 sub-blocks of 16; scales[i] holds sub-block i's scale (low
 * nibble) and min (high nibble); x = d * sc * q - dmin * m, q in [0, 3].
 * qs[32 * h + l] holds, in bit pairs 0-1, 2-3, 4-5, 6-7, the elements
 * 128 * h + l, + 32, + 64, + 96.
 */
struct block_q2_K {
	uint8_t		scales[QK_K / 16];
	uint8_t		qs[QK_K / 4];
	uint16_t	d;
	uint16_t	dmin;
};
_Static_assert(sizeof(struct block_q2_K) == 84, "block_q2_K size");

/*
 * Q3_K: q in [-4, 3] = low two bits (laid out as Q2_K) minus 4 unless the
 * hmask bit is set (bit h * 4 + j of hmask[l] for element 128 * h + 32 * j
 * + l); 16 six-bit scales biased by 32: low nibbles in scales[0..7] (low
 * nibble: sub-blocks 0-7, high nibble: 8-15), top two bits in scales[8..11].
 */
struct block_q3_K {
	uint8_t		hmask[QK_K / 8];
	uint8_t		qs[QK_K / 4];
	uint8_t		scales[12];
	uint16_t	d;
};
_Static_assert(sizeof(struct block_q3_K) == 110, "block_q3_K size");

/*
 * Q4_K: 8 sub-blocks of 32 with six-bit scales and mins packed in 12 bytes;
 * x = d * sc * q - dmin * m. qs[32 * h + l]: element 64 * h + l in the low
 * nibble, 64 * h + 32 + l in the high one.
 */
struct block_q4_K {
	uint16_t	d;
	uint16_t	dmin;
	uint8_t		scales[K_SCALE_SIZE];
	uint8_t		qs[QK_K / 2];
};
_Static_assert(sizeof(struct block_q4_K) == 144, "block_q4_K size");

/* Q5_K: Q4_K plus a fifth bit: bit 2h of qh[l] for element 64h + l, bit
 * 2h + 1 for 64h + 32 + l. */
struct block_q5_K {
	uint16_t	d;
	uint16_t	dmin;
	uint8_t		scales[K_SCALE_SIZE];
	uint8_t		qh[QK_K / 8];
	uint8_t		qs[QK_K / 2];
};
_Static_assert(sizeof(struct block_q5_K) == 176, "block_q5_K size");

/*
 * Q6_K: 16 sub-blocks of 16 with int8 scales; q in [-32, 31] stored + 32.
 * For half h and l in [0, 32): ql[64h + l] low nibble -> element 128h + l,
 * ql[64h + 32 + l] low -> + 32, ql[64h + l] high -> + 64, ql[64h + 32 + l]
 * high -> + 96; qh[32h + l] bit pairs 0-1, 2-3, 4-5, 6-7 give the top two
 * bits of those four.
 */
struct block_q6_K {
	uint8_t		ql[QK_K / 2];
	uint8_t		qh[QK_K / 4];
	int8_t		scales[QK_K / 16];
	uint16_t	d;
};
_Static_assert(sizeof(struct block_q6_K) == 210, "block_q6_K size");

/* Q8_K: the K-quants' activation type; bsums[i] = sum of qs[16i..16i+16). */
struct block_q8_K {
	float		d;
	int8_t		qs[QK_K];
	int16_t		bsums[QK_K / 16];
};
_Static_assert(sizeof(struct block_q8_K) == 292, "block_q8_K size");

struct quant_type_info {
	const char	*name;		/* "Q4_K", as llama.cpp names it */
	uint32_t	 block_size;	/* elements per block */
	size_t		 type_size;	/* bytes per block */
	enum ggml_type	 dot_type;	/* activation type for matrix products */
	int		 can_matmul;	/* usable as a weight in quant_gemm */
};

/* NULL for a type number this build does not know. */
const struct quant_type_info *quant_type_info(uint32_t type);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block. */
size_t	quant_row_size(enum ggml_type type, int64_t n);

/* fp16 / bf16 scalar conversions (round to nearest even). */
float		fp16_to_f32(uint16_t h);
uint16_t	f32_to_fp16(float f);
float		bf16_to_f32(uint16_t h);
uint16_t	f32_to_bf16(float f);

/* ---- reference kernels: the specification ---- */
/* dst[0..n) = values of a row of `type`; n a multiple of the block size. */
void	quant_dequantize_row_ref(enum ggml_type type, const void *src, float *dst,
	    int64_t n);
/* Quantizes a float row into `type` (every type above may be a target;
 * used for activations and by the model generator). The K-quant weight
 * quantizers fit sub-block scales by a small search: sound, not tuned. */
void	quant_quantize_row_ref(enum ggml_type type, const float *src, void *dst,
	    int64_t n);
/* Dot product of a weight row of `type` with an activation row already in
 * quant_type_info(type)->dot_type. */
float	quant_vec_dot_ref(enum ggml_type type, int64_t n, const void *w,
	    const void *act);

/*
 * Tile of a matrix product, the hot path of every forward pass:
 *   out[j * out_stride + i] = dot(row i of w, activation j)
 * for i in [0, n_rows), j in [0, n_acts); w rows are w_stride bytes apart,
 * activations act_stride bytes apart (in the dot type), k elements each.
 * Decode calls it with n_acts = 1, prompt processing with many. k is a
 * multiple of the weight type's block; rows and activations need only
 * the alignment of their fields (2 bytes, 4 for F32 and Q8_K).
 */
typedef void (*quant_gemm_fn)(int64_t k, const void *w, size_t w_stride,
	    int n_rows, const void *acts, size_t act_stride, int n_acts,
	    float *out, size_t out_stride);
typedef void (*quant_quantize_fn)(const float *src, void *dst, int64_t n);

void	quant_gemm_ref(enum ggml_type type, int64_t k, const void *w,
	    size_t w_stride, int n_rows, const void *acts, size_t act_stride,
	    int n_acts, float *out, size_t out_stride);

/*
 * Interleaved weights: a type listed by quant_x8_supported can be repacked
 * once, at load, into panels of QUANT_X8_ROWS rows whose blocks are stored
 * side by side, the layout the fast kernels compute on directly (one
 * vector then holds a little of each of eight rows, so one byte product
 * serves eight rows and no horizontal sum is needed). Decode streams the
 * panels without unpacking them. A panel of rows [8p, 8p + 8) starts 8p
 * rows' worth of bytes into the repacked matrix, as row 8p would in the
 * plain one, so a caller that cuts the rows at multiples of eight passes
 * the same offsets and stride (the plain row size) either way. A last
 * panel with fewer rows is padded with zero rows.
 *
 * Block b of a panel holds block b of each of its eight rows: the rows'
 * fp16 fields side by side, then their byte arrays cut into words of four
 * bytes, word w of row r at byte 32w + 4r (so the 32-byte vector w holds
 * word w of every row).
 *
 * Q4_0 (struct block_q4_0x8): vector m of qs (0..3) holds elements 4m..
 * 4m+3 of each row in its low nibbles and 16 + 4m.. in its high ones.
 * Q8_0 (struct block_q8_0x8): vector m of qs (0..7) holds elements 4m..4m+3.
 * Q4_K (struct block_q4_Kx8): the three vectors of scales hold the rows'
 * twelve bytes of packed six-bit scales and mins; vector 8h + m of qs
 * holds elements 64h + 4m.. (low nibbles) and 64h + 32 + 4m.. (high).
 * Q5_K (struct block_q5_Kx8): as Q4_K, and vector m of qh holds the fifth
 * bits of elements 32j + 4m.. in bit j.
 * Q6_K (struct block_q6_Kx8): the four vectors of scales hold scales
 * 4q..4q+3 of each row; the six-bit values are regrouped by sub-block:
 * vectors 3j, 3j+1, 3j+2 of q hold elements 16j + 4i.. (i = 0, 1, 2) in
 * their low six bits and bits 2i, 2i+1 of elements 16j + 12.. in their
 * top two, so that a sub-block's four vectors come out in a few masks.
 */
#define QUANT_X8_ROWS	8

struct block_q4_0x8 {
	uint16_t	d[QUANT_X8_ROWS];
	uint8_t		qs[QUANT_X8_ROWS * QK4_0 / 2];
};
_Static_assert(sizeof(struct block_q4_0x8) == 8 * sizeof(struct block_q4_0),
    "block_q4_0x8 size");

struct block_q8_0x8 {
	uint16_t	d[QUANT_X8_ROWS];
	int8_t		qs[QUANT_X8_ROWS * QK8_0];
};
_Static_assert(sizeof(struct block_q8_0x8) == 8 * sizeof(struct block_q8_0),
    "block_q8_0x8 size");

struct block_q4_Kx8 {
	uint16_t	d[QUANT_X8_ROWS];
	uint16_t	dmin[QUANT_X8_ROWS];
	uint8_t		scales[QUANT_X8_ROWS * K_SCALE_SIZE];
	uint8_t		qs[QUANT_X8_ROWS * QK_K / 2];
};
_Static_assert(sizeof(struct block_q4_Kx8) == 8 * sizeof(struct block_q4_K),
    "block_q4_Kx8 size");

struct block_q5_Kx8 {
	uint16_t	d[QUANT_X8_ROWS];
	uint16_t	dmin[QUANT_X8_ROWS];
	uint8_t		scales[QUANT_X8_ROWS * K_SCALE_SIZE];
	uint8_t		qh[QUANT_X8_ROWS * QK_K / 8];
	uint8_t		qs[QUANT_X8_ROWS * QK_K / 2];
};
_Static_assert(sizeof(struct block_q5_Kx8) == 8 * sizeof(struct block_q5_K),
    "block_q5_Kx8 size");

struct block_q6_Kx8 {
	uint16_t	d[QUANT_X8_ROWS];
	int8_t		scales[QUANT_X8_ROWS * QK_K / 16];
	uint8_t		q[QUANT_X8_ROWS * QK_K * 3 / 4];
};
_Static_assert(sizeof(struct block_q6_Kx8) == 8 * sizeof(struct block_q6_K),
    "block_q6_Kx8 size");

int	quant_x8_supported(enum ggml_type type);
/* Bytes of n_rows rows of k elements repacked (whole panels). */
size_t	quant_x8_bytes(enum ggml_type type, int64_t k, int64_t n_rows);
/* Repacks n_rows rows of k elements, src_stride bytes apart, into dst
 * (quant_x8_bytes long). -1 for a type without the layout. */
int	quant_x8_pack(enum ggml_type type, int64_t k, const void *src,
	    size_t src_stride, int64_t n_rows, void *dst);
/* Row `row` of a repacked matrix back in the plain layout. */
void	quant_x8_unpack_row(enum ggml_type type, int64_t k, const void *x8,
	    int64_t row, void *dst);
/* quant_gemm over repacked weights: w is the start of a panel, w_stride
 * the plain row size; rows past n_rows in the last panel are not written. */
void	quant_gemm_x8_ref(enum ggml_type type, int64_t k, const void *w,
	    size_t w_stride, int n_rows, const void *acts, size_t act_stride,
	    int n_acts, float *out, size_t out_stride);

/* ---- dispatched fast paths ---- */
enum quant_isa {
	QUANT_ISA_SCALAR = 0,
	QUANT_ISA_AVX2 = 1,
	QUANT_ISA_AVX512 = 2,
};

/* Detects the CPU once; SWARM_ISA=scalar|avx2|avx512 caps the choice. */
enum quant_isa	 quant_isa(void);
const char	*quant_isa_name(enum quant_isa);
/* Forces a level no higher than the CPU supports (tests); returns the level
 * actually in force. */
enum quant_isa	 quant_set_isa(enum quant_isa);
/* Kernels for the level in force; NULL when the type cannot be a weight. */
quant_gemm_fn	 quant_get_gemm(enum ggml_type weight_type);
/*
 * Whether a product over this weight type (x8: interleaved) gives each
 * activation row the same bits whatever the other rows of the call are
 * (the integer dot products of the quantized types sum in one order), so
 * rows of different sessions may share one call. The float types, and
 * plain Q4_0, Q5_0 and Q8_0, take another path for one row than for many
 * (test-quant checks the claim at every level).
 */
int		 quant_gemm_rows_independent(enum ggml_type weight_type, int x8);
/* Quantizer for an activation (dot) type. */
/* Kernels over repacked weights; NULL without quant_x8_supported. */
quant_gemm_fn	 quant_get_gemm_x8(enum ggml_type weight_type);
quant_quantize_fn quant_get_quantize(enum ggml_type dot_type);

/*
 * Attention of n_q query heads that share one key and value head (grouped
 * queries): q holds the n_q heads' rows of hd floats; row s < len of the
 * keys is at k + s * kv_stride, of the values at v + s * kv_stride. Each
 * head's row of out (n_q rows of hd) = softmax(scale * q k^T) v. scores:
 * n_q * len floats of scratch. The reference sums in the order the forward
 * pass always has; the SIMD kernels (hd a multiple of 8, else the
 * reference) take eight positions' dot products at a time and a
 * polynomial exp, within a few units in the last place of it.
 */
typedef void	(*quant_attn_fn)(const float *q, int n_q, int hd,
		    const float *k, const float *v, size_t kv_stride, int len,
		    float scale, float *scores, float *out);
void		 quant_attn_ref(const float *q, int n_q, int hd,
		    const float *k, const float *v, size_t kv_stride, int len,
		    float scale, float *scores, float *out);
quant_attn_fn	 quant_get_attn(void);

/*
 * SwiGLU's gate: gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 +
 * e^-gate[i]) * up[i] for i < n. The SIMD kernels use a polynomial exp
 * (within a few units in the last place of the reference's expf) and give
 * every element the same arithmetic wherever it lies in the array.
 */
typedef void	(*quant_swiglu_fn)(float *gate, const float *up, size_t n);
void		 quant_swiglu_ref(float *gate, const float *up, size_t n);
quant_swiglu_fn	 quant_get_swiglu(void);
void		 quant_dequantize_row(enum ggml_type type, const void *src,
		    float *dst, int64_t n);

#endif
