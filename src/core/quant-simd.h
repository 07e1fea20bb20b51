/*
 * The SIMD kernels, written once on 256-bit vectors and compiled twice: by
 * quant-avx2.c with AVX2/FMA/F16C, and by quant-avx512.c with AVX-512
 * (VL, VNNI), where the unsigned-by-signed byte dot product becomes one
 * vpdpbusd and the compiler has 32 vector registers for larger tiles. The
 * two builds compute the same integers, so a level tested on one machine
 * is the same arithmetic on the other.
 *
 * The including file defines QS_VNNI (0 or 1), QS_RB and QS_CB (the
 * largest tile: rows by activations), optionally QS_GEOM_LEGACY,
 * QS_GEOM_K and QS_GEOM_FLOAT (the tile each family uses), and the names
 * of the four entry points.
 *
 * A gemm tile decodes a block of each of its weight rows once and uses it
 * for every activation of the tile (prompt processing). One activation
 * (decode) streams one row at a time instead, see "decode rows" below.
 * Within a block the products are summed as integers and scaled once, as
 * the references do.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "core/quant-impl.h"

/* Rounding must match the references bit for bit where they are compared
 * exactly (dequantization), so no multiply-add is fused unless asked. */
#pragma GCC optimize("fp-contract=off")

/* the legacy types gather the fp16 scales of up to four rows at once */
_Static_assert(QS_RB >= 1 && QS_RB <= 4 && QS_CB >= 1, "tile geometry");

#define QS_INLINE static inline __attribute__((always_inline))
#define QS_UNROLL _Pragma("GCC unroll 8")

#define QS_ROW(base, stride, i, type) \
	((const type *)((const uint8_t *)(base) + (size_t)(i) * (stride)))

/* acc + sum of four adjacent u8 * s8 products per int32 lane; u <= 127 or
 * products small enough that the AVX2 pairwise int16 sum cannot saturate */
QS_INLINE __m256i
qs_dot_u8s8(__m256i acc, __m256i u, __m256i s)
{
#if QS_VNNI
	return _mm256_dpbusd_epi32(acc, u, s);
#else
	return _mm256_add_epi32(acc, _mm256_madd_epi16(
	    _mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

QS_INLINE float
qs_hsum(__m256 v)
{
	__m128 x = _mm_add_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	x = _mm_add_ps(x, _mm_movehl_ps(x, x));
	x = _mm_add_ss(x, _mm_movehdup_ps(x));
	return _mm_cvtss_f32(x);
}

QS_INLINE int
qs_hsum_i32(__m256i v)
{
	__m128i x = _mm_add_epi32(_mm256_castsi256_si128(v),
	    _mm256_extracti128_si256(v, 1));

	x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
	x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
	return _mm_cvtsi128_si32(x);
}

QS_INLINE float
qs_h2f(uint16_t h)
{
	return _cvtsh_ss(h);
}

QS_INLINE __m256
qs_h2f_v(uint16_t h)
{
	return _mm256_cvtph_ps(_mm_set1_epi16((short)h));
}

/* 16 bytes of nibbles -> 32 values: element j from the low nibble of
 * byte j, element j + 16 from its high nibble. */
QS_INLINE __m256i
qs_nibbles(const uint8_t *qs)
{
	__m128i x = _mm_loadu_si128((const __m128i *)qs);

	return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x),
	    _mm256_set1_epi8(0x0F));
}

/* 32 bits -> 32 bytes of 0x10 where the bit is set (the fifth bit). */
QS_INLINE __m256i
qs_bit4(const uint8_t *qh)
{
	const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0,
	    1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
	    3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
	uint32_t bits;
	__m256i v;

	memcpy(&bits, qh, 4);
	v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf);
	v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* -off * sum(a) in int32 lanes, the start of a dot with q + off stored */
QS_INLINE __m256i
qs_offset(__m256i a, int off)
{
	__m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(
	    _mm256_set1_epi8((char)off), a), _mm256_set1_epi16(1));

	return _mm256_sub_epi32(_mm256_setzero_si256(), s);
}

/*
 * The legacy types' block scales: the fp16 scales of up to four weight
 * rows are converted together (wd), and their products with one
 * activation block's scale are left in memory, where a broadcast load
 * fetches each without a shuffle.
 */
QS_INLINE void
qs_scales4(float *sc, __m128 wd, uint16_t ad)
{
	_mm_storeu_ps(sc, _mm_mul_ps(wd, _mm_cvtph_ps(_mm_set1_epi16(
	    (short)ad))));
}

/*
 * Decode streams each weight row once: asking for the bytes a little
 * ahead keeps the memory busy across the page boundaries where the
 * hardware prefetcher stops (measured 1.2x to 1.3x on a Zen 3 host).
 */
#ifndef QS_DEC_AHEAD
#define QS_DEC_AHEAD	1024
#endif

QS_INLINE void
qs_prefetch(const void *p, size_t size)
{
	size_t o;

	QS_UNROLL for (o = 0; o < size; o += 64)
		_mm_prefetch((const char *)p + QS_DEC_AHEAD + o, _MM_HINT_T0);
}

/*
 * Decode over interleaved panels whose row of blocks outgrows the 32 KiB
 * first-level cache (Q6_K: 37 KiB at k = 5632, Q8_0: 48 KiB): weights
 * asked for as usual push the activation out of it before the next panel
 * reads it again. Their weights are asked for non-temporally (read once)
 * further ahead, and the activation's next block back into the first
 * level. The 5632-wide products at one thread went from 21-22 to 26-29
 * GB/s (Q6_K) and from 25-27 to 27-28 (Q8_0), the 2048-wide ones
 * unchanged (Zen 4); the types with smaller panels gained nothing
 * measurable and keep qs_prefetch.
 */
#define QS_X8_AHEAD	2048

QS_INLINE void
qs_x8_ahead(const void *b, size_t bsize, const void *act_next,
    size_t act_size)
{
	size_t o;

	QS_UNROLL for (o = 0; o < bsize; o += 64)
		_mm_prefetch((const char *)b + QS_X8_AHEAD + o, _MM_HINT_NTA);
	QS_UNROLL for (o = 0; o < act_size; o += 64)
		_mm_prefetch((const char *)act_next + o, _MM_HINT_T0);
}

/* ---- Q8_0 ---- */

QS_INLINE void
qs_tile_q8_0(const int R, const int C, int64_t nb, const void *w, size_t ws,
    const void *acts, size_t as, float *out, size_t os)
{
	__m256 acc[QS_RB][QS_CB];
	int64_t ib;
	int r, c;

	QS_UNROLL for (r = 0; r < R; r++)
		QS_UNROLL for (c = 0; c < C; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (ib = 0; ib < nb; ib++) {
		if (C == 1)
			QS_UNROLL for (r = 0; r < R; r++)
				qs_prefetch(QS_ROW(w, ws, r,
				    struct block_q8_0) + ib,
				    sizeof(struct block_q8_0));
		__m256i wv[QS_RB], wu[QS_RB];
		__m256 wd[QS_RB];

		QS_UNROLL for (r = 0; r < R; r++) {
			const struct block_q8_0 *b = QS_ROW(w, ws, r,
			    struct block_q8_0) + ib;

			wv[r] = _mm256_loadu_si256((const __m256i *)b->qs);
			wu[r] = _mm256_abs_epi8(wv[r]);
			wd[r] = qs_h2f_v(b->d);
		}
		QS_UNROLL for (c = 0; c < C; c++) {
			const struct block_q8_0 *y = QS_ROW(acts, as, c,
			    struct block_q8_0) + ib;
			__m256i av = _mm256_loadu_si256((const __m256i *)y->qs);
			__m256 ad = qs_h2f_v(y->d);

			QS_UNROLL for (r = 0; r < R; r++) {
				__m256i p = qs_dot_u8s8(_mm256_setzero_si256(),
				    wu[r], _mm256_sign_epi8(av, wv[r]));

				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p),
				    _mm256_mul_ps(wd[r], ad), acc[r][c]);
			}
		}
	}
	QS_UNROLL for (r = 0; r < R; r++)
		QS_UNROLL for (c = 0; c < C; c++)
			out[(size_t)c * os + r] = qs_hsum(acc[r][c]);
}

/* ---- Q4_0, Q5_0 (against Q8_0): q + off stored unsigned ---- */

QS_INLINE __m256i
qs_decode_q4_0(const struct block_q4_0 *b)
{
	return qs_nibbles(b->qs);
}

QS_INLINE __m256i
qs_decode_q5_0(const struct block_q5_0 *b)
{
	return _mm256_or_si256(qs_nibbles(b->qs), qs_bit4(b->qh));
}

#define QS_TILE_OFFSET(name, btype, off)				\
QS_INLINE void								\
qs_tile_##name(const int R, const int C, int64_t nb, const void *w,	\
    size_t ws, const void *acts, size_t as, float *out, size_t os)	\
{									\
	__m256 acc[QS_RB][QS_CB];					\
	int64_t ib;							\
	int r, c;							\
									\
	QS_UNROLL for (r = 0; r < R; r++)				\
		QS_UNROLL for (c = 0; c < C; c++)			\
			acc[r][c] = _mm256_setzero_ps();		\
	for (ib = 0; ib < nb; ib++) {					\
		if (C == 1)						\
			QS_UNROLL for (r = 0; r < R; r++)		\
				qs_prefetch(QS_ROW(w, ws, r,		\
				    struct btype) + ib,			\
				    sizeof(struct btype));		\
		__m256i wu[QS_RB];					\
		uint16_t dh[4] = { 0, 0, 0, 0 };			\
		__m128 wd;						\
									\
		QS_UNROLL for (r = 0; r < R; r++) {			\
			const struct btype *b_ = QS_ROW(w, ws, r,	\
			    struct btype) + ib;				\
									\
			wu[r] = qs_decode_##name(b_);			\
			dh[r] = b_->d;					\
		}							\
		wd = _mm_cvtph_ps(_mm_setr_epi16((short)dh[0],	\
		    (short)dh[1], (short)dh[2], (short)dh[3], 0, 0, 0,	\
		    0));						\
		QS_UNROLL for (c = 0; c < C; c++) {			\
			const struct block_q8_0 *y = QS_ROW(acts, as,	\
			    c, struct block_q8_0) + ib;			\
			__m256i av = _mm256_loadu_si256(		\
			    (const __m256i *)y->qs);			\
			__m256i init = qs_offset(av, off);		\
			float sc[4];					\
									\
			qs_scales4(sc, wd, y->d);			\
			QS_UNROLL for (r = 0; r < R; r++) {		\
				__m256i p = qs_dot_u8s8(init, wu[r],	\
				    av);				\
									\
				acc[r][c] = _mm256_fmadd_ps(		\
				    _mm256_cvtepi32_ps(p),		\
				    _mm256_broadcast_ss(&sc[r]),	\
				    acc[r][c]);				\
			}						\
		}							\
	}								\
	QS_UNROLL for (r = 0; r < R; r++)				\
		QS_UNROLL for (c = 0; c < C; c++)			\
			out[(size_t)c * os + r] = qs_hsum(acc[r][c]);	\
}
QS_TILE_OFFSET(q4_0, block_q4_0, 8)
QS_TILE_OFFSET(q5_0, block_q5_0, 16)

/* ---- Q4_1, Q5_1 (against Q8_1): x = d q + m ---- */

QS_INLINE __m256i
qs_decode_q4_1(const void *blk, float *d, float *m)
{
	const struct block_q4_1 *b = blk;

	*d = qs_h2f(b->d);
	*m = qs_h2f(b->m);
	return qs_nibbles(b->qs);
}

QS_INLINE __m256i
qs_decode_q5_1(const void *blk, float *d, float *m)
{
	const struct block_q5_1 *b = blk;

	*d = qs_h2f(b->d);
	*m = qs_h2f(b->m);
	return _mm256_or_si256(qs_nibbles(b->qs), qs_bit4(b->qh));
}

#define QS_TILE_MIN(name, btype)					\
QS_INLINE void								\
qs_tile_##name(const int R, const int C, int64_t nb, const void *w,	\
    size_t ws, const void *acts, size_t as, float *out, size_t os)	\
{									\
	__m256 acc[QS_RB][QS_CB];					\
	float accm[QS_RB][QS_CB];					\
	int64_t ib;							\
	int r, c;							\
									\
	QS_UNROLL for (r = 0; r < R; r++)				\
		QS_UNROLL for (c = 0; c < C; c++) {			\
			acc[r][c] = _mm256_setzero_ps();		\
			accm[r][c] = 0;					\
		}							\
	for (ib = 0; ib < nb; ib++) {					\
		if (C == 1)						\
			QS_UNROLL for (r = 0; r < R; r++)		\
				qs_prefetch(QS_ROW(w, ws, r,		\
				    struct btype) + ib,			\
				    sizeof(struct btype));		\
		__m256i wu[QS_RB];					\
		__m256 wd[QS_RB];					\
		float wm[QS_RB];					\
									\
		QS_UNROLL for (r = 0; r < R; r++) {			\
			float d;					\
									\
			wu[r] = qs_decode_##name(QS_ROW(w, ws, r,	\
			    struct btype) + ib, &d, &wm[r]);		\
			wd[r] = _mm256_set1_ps(d);			\
		}							\
		QS_UNROLL for (c = 0; c < C; c++) {			\
			const struct block_q8_1 *y = QS_ROW(acts, as,	\
			    c, struct block_q8_1) + ib;			\
			__m256i av = _mm256_loadu_si256(		\
			    (const __m256i *)y->qs);			\
			__m256 ad = qs_h2f_v(y->d);			\
			float ys = qs_h2f(y->s);			\
									\
			QS_UNROLL for (r = 0; r < R; r++) {		\
				__m256i p = qs_dot_u8s8(		\
				    _mm256_setzero_si256(), wu[r], av);	\
									\
				acc[r][c] = _mm256_fmadd_ps(		\
				    _mm256_cvtepi32_ps(p),		\
				    _mm256_mul_ps(wd[r], ad),		\
				    acc[r][c]);				\
				accm[r][c] += wm[r] * ys;		\
			}						\
		}							\
	}								\
	QS_UNROLL for (r = 0; r < R; r++)				\
		QS_UNROLL for (c = 0; c < C; c++)			\
			out[(size_t)c * os + r] = qs_hsum(acc[r][c]) +	\
			    accm[r][c];					\
}
QS_TILE_MIN(q4_1, block_q4_1)
QS_TILE_MIN(q5_1, block_q5_1)

/* ---- Q4_K, Q5_K (against Q8_K) ---- */

/* Unpacks the twelve scale bytes: sc[0..7] scales, sc[8..15] mins. */
QS_INLINE void
qs_k4_scales(const uint8_t *s, uint8_t *sc)
{
	uint32_t u[3], o[4];

	memcpy(u, s, 12);
	o[0] = u[0] & 0x3f3f3f3f;
	o[1] = (u[2] & 0x0f0f0f0f) | ((u[0] >> 6) & 0x03030303) << 4;
	o[2] = u[1] & 0x3f3f3f3f;
	o[3] = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 6) & 0x03030303) << 4;
	memcpy(sc, o, 16);
}

/* The same in a vector: bytes 0-7 scales, 8-15 mins. Reads 16 bytes from
 * s, which the fields after the scales of Q4_K and Q5_K cover. */
QS_INLINE __m128i
qs_k4_scales_v(const uint8_t *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)s);
	/* dwords: u0 u2 u1 u2 (low parts), u0 u0 u1 u1 (top two bits) */
	__m128i lo = _mm_shuffle_epi32(v, 0x98);
	__m128i hi = _mm_shuffle_epi32(v, 0x50);

	lo = _mm_and_si128(_mm_srlv_epi32(lo, _mm_setr_epi32(0, 0, 0, 4)),
	    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
	hi = _mm_and_si128(_mm_srli_epi32(hi, 2), _mm_setr_epi32(0,
	    0x30303030, 0, 0x30303030));
	return _mm_or_si128(lo, hi);
}

/* mins as int16 pairs matching the 16 bsums: m0 m0 m1 m1 ... m7 m7 */
QS_INLINE __m256i
qs_k4_mins(__m128i scm)
{
	__m128i m = _mm_cvtepu8_epi16(_mm_srli_si128(scm, 8));

	return _mm256_set_m128i(_mm_unpackhi_epi16(m, m),
	    _mm_unpacklo_epi16(m, m));
}

/* int16 element e (0..7) of each 128-bit lane, in every position */
QS_INLINE __m256i
qs_bcast16(__m256i v, int e)
{
	return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(
	    (2 * e) | ((2 * e + 1) << 8))));
}

#define QS_TILE_K45(name, btype, high)					\
QS_INLINE void								\
qs_tile_##name(const int R, const int C, int64_t nb, const void *w,	\
    size_t ws, const void *acts, size_t as, float *out, size_t os)	\
{									\
	__m256 acc[QS_RB][QS_CB];					\
	int64_t ib;							\
	int r, c, h;							\
									\
	QS_UNROLL for (r = 0; r < R; r++)				\
		QS_UNROLL for (c = 0; c < C; c++)			\
			acc[r][c] = _mm256_setzero_ps();		\
	for (ib = 0; ib < nb; ib++) {					\
		if (C == 1)						\
			QS_UNROLL for (r = 0; r < R; r++)		\
				qs_prefetch(QS_ROW(w, ws, r,		\
				    struct btype) + ib,			\
				    sizeof(struct btype));		\
		__m256i isum[QS_RB][QS_CB], sv[QS_RB];			\
		__m128i scm[QS_RB];					\
		const struct btype *b[QS_RB];				\
									\
		QS_UNROLL for (r = 0; r < R; r++) {			\
			b[r] = QS_ROW(w, ws, r, struct btype) + ib;	\
			scm[r] = qs_k4_scales_v(b[r]->scales);		\
			sv[r] = _mm256_broadcastsi128_si256(		\
			    _mm_cvtepu8_epi16(scm[r]));			\
			QS_UNROLL for (c = 0; c < C; c++)		\
				isum[r][c] = _mm256_setzero_si256();	\
		}							\
		QS_UNROLL for (h = 0; h < 4; h++) {		\
			__m256i lo[QS_RB], hi[QS_RB];			\
			__m256i slo[QS_RB], shi[QS_RB];			\
									\
			QS_UNROLL for (r = 0; r < R; r++) {		\
				__m256i q = _mm256_loadu_si256(		\
				    (const __m256i *)(b[r]->qs + 32 * h)); \
									\
				lo[r] = _mm256_and_si256(q,		\
				    _mm256_set1_epi8(0x0F));		\
				hi[r] = _mm256_and_si256(		\
				    _mm256_srli_epi16(q, 4),		\
				    _mm256_set1_epi8(0x0F));		\
				high(b[r], h, lo[r], hi[r]);		\
				slo[r] = qs_bcast16(sv[r], 2 * h);	\
				shi[r] = qs_bcast16(sv[r], 2 * h + 1);	\
			}						\
			QS_UNROLL for (c = 0; c < C; c++) {		\
				const struct block_q8_K *y = QS_ROW(	\
				    acts, as, c, struct block_q8_K) + ib; \
				__m256i alo = _mm256_loadu_si256(	\
				    (const __m256i *)(y->qs + 64 * h));	\
				__m256i ahi = _mm256_loadu_si256(	\
				    (const __m256i *)(y->qs + 64 * h +	\
				    32));				\
									\
				QS_UNROLL for (r = 0; r < R; r++) {	\
					__m256i p0 = _mm256_madd_epi16(	\
					    _mm256_maddubs_epi16(lo[r],	\
					    alo), slo[r]);		\
					__m256i p1 = _mm256_madd_epi16(	\
					    _mm256_maddubs_epi16(hi[r],	\
					    ahi), shi[r]);		\
									\
					isum[r][c] = _mm256_add_epi32(	\
					    isum[r][c],			\
					    _mm256_add_epi32(p0, p1));	\
				}					\
			}						\
		}							\
		QS_UNROLL for (r = 0; r < R; r++) {			\
			__m256i mins = qs_k4_mins(scm[r]);		\
			__m256 d = qs_h2f_v(b[r]->d);			\
			__m256 dmin = qs_h2f_v(b[r]->dmin);		\
									\
			QS_UNROLL for (c = 0; c < C; c++) {		\
				const struct block_q8_K *y = QS_ROW(	\
				    acts, as, c, struct block_q8_K) + ib; \
				__m256 yd = _mm256_set1_ps(y->d);	\
				__m256i m = _mm256_madd_epi16(mins,	\
				    _mm256_loadu_si256((const __m256i *) \
				    y->bsums));				\
									\
				acc[r][c] = _mm256_fmadd_ps(		\
				    _mm256_cvtepi32_ps(isum[r][c]),	\
				    _mm256_mul_ps(d, yd), acc[r][c]);	\
				acc[r][c] = _mm256_fnmadd_ps(		\
				    _mm256_cvtepi32_ps(m),		\
				    _mm256_mul_ps(dmin, yd), acc[r][c]); \
			}						\
		}							\
	}								\
	QS_UNROLL for (r = 0; r < R; r++)				\
		QS_UNROLL for (c = 0; c < C; c++)			\
			out[(size_t)c * os + r] = qs_hsum(acc[r][c]);	\
}

/* Q5_K's fifth bits: bit 2h of qh[l] for the low half, 2h + 1 high. */
#define QS_K5_HIGH(blk, h, lo, hi) do {					\
	__m256i qh_ = _mm256_loadu_si256((const __m256i *)(blk)->qh);	\
	__m256i b0_ = _mm256_set1_epi8((char)(1 << (2 * (h))));		\
	__m256i b1_ = _mm256_set1_epi8((char)(2 << (2 * (h))));		\
	(lo) = _mm256_or_si256((lo), _mm256_and_si256(_mm256_cmpeq_epi8( \
	    _mm256_and_si256(qh_, b0_), b0_), _mm256_set1_epi8(0x10)));	\
	(hi) = _mm256_or_si256((hi), _mm256_and_si256(_mm256_cmpeq_epi8( \
	    _mm256_and_si256(qh_, b1_), b1_), _mm256_set1_epi8(0x10)));	\
} while (0)

#define QS_K5_NONE(blk, h, lo, hi) do { } while (0)

QS_TILE_K45(q4_K, block_q4_K, QS_K5_NONE)
QS_TILE_K45(q5_K, block_q5_K, QS_K5_HIGH)

/* ---- Q6_K (against Q8_K) ---- */

/* int16 scale vector for the 32 elements of pair k = 4h + j of a block of
 * 16 sub-blocks of 16 (Q2_K, Q3_K, Q6_K): the first 16 take scale 2k, the
 * next 16 scale 2k + 1 (sc: the 16 scales as int8). */
QS_INLINE __m256i
qs_scale_pair(__m128i sc, int k)
{
	const __m128i mask = _mm_add_epi8(_mm_setr_epi8(0, 0, 0, 0, 0, 0, 0,
	    0, 1, 1, 1, 1, 1, 1, 1, 1), _mm_set1_epi8((char)(2 * k)));

	return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, mask));
}

/* biased 6-bit values (0..63) of elements 128h + 32j + [0, 32) */
QS_INLINE __m256i
qs_q6_values(const struct block_q6_K *b, int h, int j)
{
	__m256i ql = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h +
	    32 * (j & 1)));
	__m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
	__m256i lo, hi;

	lo = j < 2 ? ql : _mm256_srli_epi16(ql, 4);
	lo = _mm256_and_si256(lo, _mm256_set1_epi8(0x0F));
	switch (j) {
	case 0: hi = _mm256_slli_epi16(qh, 4); break;
	case 1: hi = _mm256_slli_epi16(qh, 2); break;
	case 2: hi = qh; break;
	default: hi = _mm256_srli_epi16(qh, 2); break;
	}
	return _mm256_or_si256(lo, _mm256_and_si256(hi,
	    _mm256_set1_epi8(0x30)));
}

QS_INLINE void
qs_tile_q6_K(const int R, const int C, int64_t nb, const void *w, size_t ws,
    const void *acts, size_t as, float *out, size_t os)
{
	__m256 acc[QS_RB][QS_CB];
	int64_t ib;
	int r, c, h, j;

	QS_UNROLL for (r = 0; r < R; r++)
		QS_UNROLL for (c = 0; c < C; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (ib = 0; ib < nb; ib++) {
		if (C == 1)
			QS_UNROLL for (r = 0; r < R; r++)
				qs_prefetch(QS_ROW(w, ws, r,
				    struct block_q6_K) + ib,
				    sizeof(struct block_q6_K));
		__m256i isum[QS_RB][QS_CB];
		__m128i sc[QS_RB];
		const struct block_q6_K *b[QS_RB];

		QS_UNROLL for (r = 0; r < R; r++) {
			b[r] = QS_ROW(w, ws, r, struct block_q6_K) + ib;
			sc[r] = _mm_loadu_si128((const __m128i *)b[r]->scales);
			QS_UNROLL for (c = 0; c < C; c++)
				isum[r][c] = _mm256_setzero_si256();
		}
		QS_UNROLL for (h = 0; h < 2; h++) {
			QS_UNROLL for (j = 0; j < 4; j++) {
				__m256i q[QS_RB], s[QS_RB];

				QS_UNROLL for (r = 0; r < R; r++) {
					q[r] = qs_q6_values(b[r], h, j);
					s[r] = qs_scale_pair(sc[r],
					    4 * h + j);
				}
				QS_UNROLL for (c = 0; c < C; c++) {
					const struct block_q8_K *y = QS_ROW(
					    acts, as, c, struct block_q8_K) +
					    ib;
					__m256i a = _mm256_loadu_si256(
					    (const __m256i *)(y->qs +
					    128 * h + 32 * j));

					QS_UNROLL for (r = 0; r < R; r++)
						isum[r][c] = _mm256_add_epi32(
						    isum[r][c],
						    _mm256_madd_epi16(
						    _mm256_maddubs_epi16(q[r],
						    a), s[r]));
				}
			}
		}
		QS_UNROLL for (r = 0; r < R; r++) {
			__m256i sc16 = _mm256_cvtepi8_epi16(sc[r]);
			__m256 d = qs_h2f_v(b[r]->d);

			QS_UNROLL for (c = 0; c < C; c++) {
				const struct block_q8_K *y = QS_ROW(acts, as,
				    c, struct block_q8_K) + ib;
				/* the stored values carry +32 */
				__m256i corr = _mm256_slli_epi32(
				    _mm256_madd_epi16(sc16, _mm256_loadu_si256(
				    (const __m256i *)y->bsums)), 5);

				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(
				    _mm256_sub_epi32(isum[r][c], corr)),
				    _mm256_mul_ps(d, _mm256_set1_ps(y->d)),
				    acc[r][c]);
			}
		}
	}
	QS_UNROLL for (r = 0; r < R; r++)
		QS_UNROLL for (c = 0; c < C; c++)
			out[(size_t)c * os + r] = qs_hsum(acc[r][c]);
}

/* ---- Q2_K, Q3_K (against Q8_K): 16 sub-blocks of 16 ---- */

/* two-bit values of elements 128h + 32j + [0, 32) */
QS_INLINE __m256i
qs_2bit(const uint8_t *qs, int h, int j)
{
	__m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * h));

	return _mm256_and_si256(_mm256_srli_epi16(q, 2 * j),
	    _mm256_set1_epi8(3));
}

/*
 * One activation with VNNI: pairs k = 4h + j and k + 1 (j even) each go
 * through one byte dot product (int32 sums of four, at most 4 * 3 * 128,
 * so int16), the two put side by side in each int32 lane and multiplied
 * by their sub-blocks' scales in one word multiply-add: 3 instructions a
 * pair against 4 for the int16 products, and one byte shuffle for the
 * scales of two pairs against two (sb: the sixteen scales in both lanes;
 * the shuffle takes a scale and a zero high byte for each word). Every
 * int32 lane gets the same sum as in the byte-table path, elements 4i to
 * 4i + 3 of each pair, so one activation and many agree to the bit.
 */
#if QS_VNNI
/* v0, v1: the values of pairs k and k + 1 against aq; sc: the words */
QS_INLINE __m256i
qs_two_pairs(__m256i acc, __m256i v0, __m256i v1, const int8_t *aq,
    __m256i sc)
{
	__m256i d0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), v0,
	    _mm256_loadu_si256((const __m256i *)aq));
	__m256i d1 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), v1,
	    _mm256_loadu_si256((const __m256i *)(aq + 32)));

	return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_blend_epi16(d0,
	    _mm256_slli_epi32(d1, 16), 0xAA), sc));
}

QS_INLINE __m256i
qs_q2_two_pairs(__m256i acc, const uint8_t *qs, const int8_t *aq,
    __m256i sb, int h, int j)
{
	const int s0 = 8 * h + 2 * j;
	const short m0 = (short)(0x8000 | s0), m1 = (short)(0x8000 | (s0 + 1));
	const short m2 = (short)(0x8000 | (s0 + 2));
	const short m3 = (short)(0x8000 | (s0 + 3));
	/* words: sub-blocks s0, s0 + 2 | s0 + 1, s0 + 3 alternating */
	__m256i sc = _mm256_shuffle_epi8(sb, _mm256_setr_epi16(m0, m2, m0,
	    m2, m0, m2, m0, m2, m1, m3, m1, m3, m1, m3, m1, m3));

	return qs_two_pairs(acc, qs_2bit(qs, h, j), qs_2bit(qs, h, j + 1),
	    aq + 128 * h + 32 * j, sc);
}
#endif

/*
 * A Q2_K value times its sub-block's 4-bit scale is at most 45, a byte:
 * one byte shuffle looks it up in a table of the sub-block's multiples
 * (dword s * 0x03020100 is bytes 0, s, 2s, 3s), and the products with the
 * activation go into one int32 sum per block, with no int16 step and no
 * per-pair widening of the scales. That measured 1.5x for many
 * activations but slower for one (the table's shuffles are on its
 * critical path), which keeps the int16 products and scales; both give
 * every int32 lane the same sum, elements 4i to 4i + 3 of each pair.
 */
QS_INLINE void
qs_tile_q2_K(const int R, const int C, int64_t nb, const void *w, size_t ws,
    const void *acts, size_t as, float *out, size_t os)
{
	__m256 acc[QS_RB][QS_CB];
	int64_t ib;
	int r, c, h, j;

	QS_UNROLL for (r = 0; r < R; r++)
		QS_UNROLL for (c = 0; c < C; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (ib = 0; ib < nb; ib++) {
		if (C == 1)
			QS_UNROLL for (r = 0; r < R; r++)
				qs_prefetch(QS_ROW(w, ws, r,
				    struct block_q2_K) + ib,
				    sizeof(struct block_q2_K));
		__m256i isum[QS_RB][QS_CB], lut[QS_RB][2];
		const struct block_q2_K *b[QS_RB];

		__m128i sv[QS_RB];

		QS_UNROLL for (r = 0; r < R; r++) {
			b[r] = QS_ROW(w, ws, r, struct block_q2_K) + ib;
			sv[r] = _mm_and_si128(_mm_loadu_si128((const __m128i *)
			    b[r]->scales), _mm_set1_epi8(0x0F));
			/* tables of sub-blocks 0-7 and 8-15, a dword each */
			if (C > 1) {
				lut[r][0] = _mm256_mullo_epi32(
				    _mm256_cvtepu8_epi32(sv[r]),
				    _mm256_set1_epi32(0x03020100));
				lut[r][1] = _mm256_mullo_epi32(
				    _mm256_cvtepu8_epi32(_mm_srli_si128(sv[r],
				    8)), _mm256_set1_epi32(0x03020100));
			}
			QS_UNROLL for (c = 0; c < C; c++)
				isum[r][c] = _mm256_setzero_si256();
		}
#if QS_VNNI
		if (C == 1) {
			const struct block_q8_K *y = QS_ROW(acts, as, 0,
			    struct block_q8_K) + ib;

			QS_UNROLL for (r = 0; r < R; r++) {
				__m256i sb = _mm256_broadcastsi128_si256(
				    sv[r]);

				QS_UNROLL for (h = 0; h < 2; h++)
					QS_UNROLL for (j = 0; j < 4; j += 2)
						isum[r][0] = qs_q2_two_pairs(
						    isum[r][0], b[r]->qs,
						    y->qs, sb, h, j);
			}
		} else
#endif
		QS_UNROLL for (h = 0; h < 2; h++) {
			QS_UNROLL for (j = 0; j < 4; j++) {
				/* pair k = 4h + j: sub-block 2k in the low
				 * lane, 2k + 1 in the high one */
				const __m256i idx = _mm256_setr_epi32(
				    (2 * j) & 7, 0, 0, 0, (2 * j + 1) & 7, 0,
				    0, 0);
				__m256i v[QS_RB], sc[QS_RB];

				QS_UNROLL for (r = 0; r < R; r++) {
					v[r] = qs_2bit(b[r]->qs, h, j);
					if (C > 1)
						v[r] = _mm256_shuffle_epi8(
						    _mm256_permutevar8x32_epi32(
						    lut[r][h], idx), v[r]);
					else
						sc[r] = qs_scale_pair(sv[r],
						    4 * h + j);
				}
				QS_UNROLL for (c = 0; c < C; c++) {
					const struct block_q8_K *y = QS_ROW(
					    acts, as, c, struct block_q8_K) +
					    ib;
					__m256i a = _mm256_loadu_si256(
					    (const __m256i *)(y->qs +
					    128 * h + 32 * j));

					QS_UNROLL for (r = 0; r < R; r++)
						isum[r][c] = C > 1 ?
						    qs_dot_u8s8(isum[r][c],
						    v[r], a) :
						    _mm256_add_epi32(isum[r][c],
						    _mm256_madd_epi16(
						    _mm256_maddubs_epi16(v[r],
						    a), sc[r]));
				}
			}
		}
		QS_UNROLL for (r = 0; r < R; r++) {
			__m128i s8 = _mm_loadu_si128((const __m128i *)
			    b[r]->scales);
			__m256i mins = _mm256_cvtepu8_epi16(
			    _mm_and_si128(_mm_srli_epi16(s8, 4),
			    _mm_set1_epi8(0x0F)));
			__m256 d = qs_h2f_v(b[r]->d);
			__m256 dmin = qs_h2f_v(b[r]->dmin);

			QS_UNROLL for (c = 0; c < C; c++) {
				const struct block_q8_K *y = QS_ROW(acts, as,
				    c, struct block_q8_K) + ib;
				__m256 yd = _mm256_set1_ps(y->d);
				__m256i m = _mm256_madd_epi16(mins,
				    _mm256_loadu_si256((const __m256i *)
				    y->bsums));

				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(
				    isum[r][c]), _mm256_mul_ps(d, yd),
				    acc[r][c]);
				acc[r][c] = _mm256_fnmadd_ps(
				    _mm256_cvtepi32_ps(m),
				    _mm256_mul_ps(dmin, yd), acc[r][c]);
			}
		}
	}
	QS_UNROLL for (r = 0; r < R; r++)
		QS_UNROLL for (c = 0; c < C; c++)
			out[(size_t)c * os + r] = qs_hsum(acc[r][c]);
}

/* The sixteen 6-bit Q3_K scales (12 bytes at s), less 32, as int8: the
 * same as quant_k3_scales, in registers (no store and reload). */
QS_INLINE __m128i
qs_k3_scales_v(const uint8_t *s)
{
	uint32_t a2;
	__m128i lo, hi;

	memcpy(&a2, s + 8, 4);
	/* dwords a0 a1 a0 a1, the high nibbles in the last two */
	lo = _mm_shuffle_epi32(_mm_loadl_epi64((const __m128i *)s), 0x44);
	lo = _mm_and_si128(_mm_srlv_epi32(lo, _mm_setr_epi32(0, 0, 4, 4)),
	    _mm_set1_epi32(0x0f0f0f0f));
	/* two bits of a2 per dword, at bits 4-5 of each byte */
	hi = _mm_srlv_epi32(_mm_set1_epi32((int)a2), _mm_setr_epi32(0, 2, 4,
	    6));
	hi = _mm_and_si128(_mm_slli_epi32(hi, 4), _mm_set1_epi32(0x30303030));
	return _mm_sub_epi8(_mm_or_si128(lo, hi), _mm_set1_epi8(32));
}

#if QS_VNNI
/*
 * qs_two_pairs' scales from sb, the words of sub-blocks 8h.. in both
 * halves: words w, w + 2 alternating in the low half, w + 1, w + 3 in
 * the high one (a byte shuffle within each half).
 */
QS_INLINE __m256i
qs_pair_words(__m256i sb, int w)
{
	const char lo = (char)(2 * w), lo2 = (char)(2 * w + 4);
	const char hi = (char)(2 * w + 2), hi2 = (char)(2 * w + 6);

	return _mm256_shuffle_epi8(sb, _mm256_setr_epi8(lo, lo + 1, lo2,
	    lo2 + 1, lo, lo + 1, lo2, lo2 + 1, lo, lo + 1, lo2, lo2 + 1, lo,
	    lo + 1, lo2, lo2 + 1, hi, hi + 1, hi2, hi2 + 1, hi, hi + 1, hi2,
	    hi2 + 1, hi, hi + 1, hi2, hi2 + 1, hi, hi + 1, hi2, hi2 + 1));
}
#endif

/* unsigned Q3_K values (0..7) of elements 128h + 32j + [0, 32): the two
 * low bits and bit 4h + j of hmask moved to bit 2 (a 16-bit shift keeps
 * it in its byte: it moves at most five places, towards bit 2) */
QS_INLINE __m256i
qs_q3_values(const struct block_q3_K *b, int h, int j)
{
	const int m = 4 * h + j;
	__m256i hm = _mm256_loadu_si256((const __m256i *)b->hmask);

	hm = m >= 2 ? _mm256_srli_epi16(hm, m - 2) : _mm256_slli_epi16(hm,
	    2 - m);
	return _mm256_or_si256(qs_2bit(b->qs, h, j), _mm256_and_si256(hm,
	    _mm256_set1_epi8(4)));
}

/*
 * Q3_K: q = low two bits + 4 * hmask bit - 4; the unsigned part (0..7)
 * goes through the byte dot product and the -4 comes back through the
 * bsums, as Q6_K's bias does. One activation with VNNI goes by pairs as
 * Q2_K's does (qs_two_pairs; sums of four at most 4 * 7 * 128, int16),
 * the signed scales as words of both halves' sub-blocks: every int32
 * lane gets the same sum as in the other path.
 */
QS_INLINE void
qs_tile_q3_K(const int R, const int C, int64_t nb, const void *w, size_t ws,
    const void *acts, size_t as, float *out, size_t os)
{
	__m256 acc[QS_RB][QS_CB];
	int64_t ib;
	int r, c, h, j;

	QS_UNROLL for (r = 0; r < R; r++)
		QS_UNROLL for (c = 0; c < C; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (ib = 0; ib < nb; ib++) {
		if (C == 1)
			QS_UNROLL for (r = 0; r < R; r++)
				qs_prefetch(QS_ROW(w, ws, r,
				    struct block_q3_K) + ib,
				    sizeof(struct block_q3_K));
		__m256i isum[QS_RB][QS_CB];
		const struct block_q3_K *b[QS_RB];
		__m128i sv[QS_RB];

		QS_UNROLL for (r = 0; r < R; r++) {
			b[r] = QS_ROW(w, ws, r, struct block_q3_K) + ib;
			sv[r] = qs_k3_scales_v(b[r]->scales);
			QS_UNROLL for (c = 0; c < C; c++)
				isum[r][c] = _mm256_setzero_si256();
		}
#if QS_VNNI
		if (C == 1) {
			const int8_t *aq = (QS_ROW(acts, as, 0,
			    struct block_q8_K) + ib)->qs;

			QS_UNROLL for (r = 0; r < R; r++) {
				__m256i s16 = _mm256_cvtepi8_epi16(sv[r]);

				QS_UNROLL for (h = 0; h < 2; h++) {
					/* sub-blocks 8h.. as words, both halves */
					__m256i sb = h ?
					    _mm256_permute4x64_epi64(s16,
					    0xEE) : _mm256_permute4x64_epi64(
					    s16, 0x44);

					QS_UNROLL for (j = 0; j < 4; j += 2)
						isum[r][0] = qs_two_pairs(
						    isum[r][0],
						    qs_q3_values(b[r], h, j),
						    qs_q3_values(b[r], h,
						    j + 1), aq + 128 * h +
						    32 * j, qs_pair_words(sb,
						    2 * j));
				}
			}
		} else
#endif
		QS_UNROLL for (h = 0; h < 2; h++) {
			QS_UNROLL for (j = 0; j < 4; j++) {
				__m256i q[QS_RB], s[QS_RB];

				QS_UNROLL for (r = 0; r < R; r++) {
					q[r] = qs_q3_values(b[r], h, j);
					s[r] = qs_scale_pair(sv[r], 4 * h + j);
				}
				QS_UNROLL for (c = 0; c < C; c++) {
					const struct block_q8_K *y = QS_ROW(
					    acts, as, c, struct block_q8_K) +
					    ib;
					__m256i a = _mm256_loadu_si256(
					    (const __m256i *)(y->qs +
					    128 * h + 32 * j));

					QS_UNROLL for (r = 0; r < R; r++)
						isum[r][c] = _mm256_add_epi32(
						    isum[r][c],
						    _mm256_madd_epi16(
						    _mm256_maddubs_epi16(q[r],
						    a), s[r]));
				}
			}
		}
		QS_UNROLL for (r = 0; r < R; r++) {
			__m256i sc16 = _mm256_cvtepi8_epi16(sv[r]);
			__m256 d = qs_h2f_v(b[r]->d);

			QS_UNROLL for (c = 0; c < C; c++) {
				const struct block_q8_K *y = QS_ROW(acts, as,
				    c, struct block_q8_K) + ib;
				__m256i corr = _mm256_slli_epi32(
				    _mm256_madd_epi16(sc16, _mm256_loadu_si256(
				    (const __m256i *)y->bsums)), 2);

				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(
				    _mm256_sub_epi32(isum[r][c], corr)),
				    _mm256_mul_ps(d, _mm256_set1_ps(y->d)),
				    acc[r][c]);
			}
		}
	}
	QS_UNROLL for (r = 0; r < R; r++)
		QS_UNROLL for (c = 0; c < C; c++)
			out[(size_t)c * os + r] = qs_hsum(acc[r][c]);
}

/* ---- F32, F16, BF16 ---- */

QS_INLINE __m256
qs_load_f32(const void *p, int64_t i)
{
	return _mm256_loadu_ps((const float *)p + i);
}

QS_INLINE __m256
qs_load_f16(const void *p, int64_t i)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)
	    ((const uint16_t *)p + i)));
}

QS_INLINE __m256
qs_load_bf16(const void *p, int64_t i)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(
	    _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i))), 16));
}

/* one element, for the tail of a row that is no multiple of 16 */
QS_INLINE float
qs_elem_f32(const void *p, int64_t i)
{
	return ((const float *)p)[i];
}

QS_INLINE float
qs_elem_f16(const void *p, int64_t i)
{
	return _cvtsh_ss(((const uint16_t *)p)[i]);
}

QS_INLINE float
qs_elem_bf16(const void *p, int64_t i)
{
	return bf16_to_f32(((const uint16_t *)p)[i]);
}

/* two accumulators per pair so that decode keeps the FMA pipes busy; the
 * k % 16 tail is summed in scalar */
#define QS_TILE_FLOAT(name, esize)					\
QS_INLINE void								\
qs_tile_##name(const int R, const int C, int64_t k, const void *w,	\
    size_t ws, const void *acts, size_t as, float *out, size_t os)	\
{									\
	__m256 acc[QS_RB][QS_CB][2];					\
	int64_t i;							\
	int r, c, u;							\
									\
	QS_UNROLL for (r = 0; r < R; r++)				\
		QS_UNROLL for (c = 0; c < C; c++) {			\
			acc[r][c][0] = _mm256_setzero_ps();		\
			acc[r][c][1] = _mm256_setzero_ps();		\
		}							\
	for (i = 0; i + 16 <= k; i += 16) {				\
		if (C == 1)						\
			QS_UNROLL for (r = 0; r < R; r++)		\
				qs_prefetch(QS_ROW(w, ws, r, uint8_t) +	\
				    i * esize, 16 * esize);		\
		QS_UNROLL for (u = 0; u < 2; u++) {			\
			__m256 wv[QS_RB];				\
									\
			QS_UNROLL for (r = 0; r < R; r++)		\
				wv[r] = qs_load_##name(QS_ROW(w, ws, r,	\
				    uint8_t), i + 8 * u);		\
			QS_UNROLL for (c = 0; c < C; c++) {		\
				__m256 av = qs_load_##name(QS_ROW(acts,	\
				    as, c, uint8_t), i + 8 * u);	\
									\
				QS_UNROLL for (r = 0; r < R; r++)	\
					acc[r][c][u] = _mm256_fmadd_ps(	\
					    wv[r], av, acc[r][c][u]);	\
			}						\
		}							\
	}								\
	QS_UNROLL for (r = 0; r < R; r++)				\
		QS_UNROLL for (c = 0; c < C; c++) {			\
			float t = qs_hsum(_mm256_add_ps(acc[r][c][0],	\
			    acc[r][c][1]));				\
			int64_t l;					\
									\
			for (l = i; l < k; l++)				\
				t += qs_elem_##name(QS_ROW(w, ws, r,	\
				    uint8_t), l) * qs_elem_##name(	\
				    QS_ROW(acts, as, c, uint8_t), l);	\
			out[(size_t)c * os + r] = t;			\
		}							\
}
QS_TILE_FLOAT(f32, 4)
QS_TILE_FLOAT(f16, 2)
QS_TILE_FLOAT(bf16, 2)

/* ---- decode rows (one activation) ---- */

/*
 * With one activation every weight byte is used once, so the speed is how
 * fast the rows stream in: one row at a time, front to back, keeps the
 * reads a single sequential stream, which the hardware prefetcher follows
 * far better than the several streams of a multi-row tile (measured: 1.4x
 * to 1.6x the bandwidth on a Zen 3 host). Two accumulators hide the FMA
 * latency; the activation's block scales are converted once per call.
 */
#define QS_DEC_NB	512	/* most blocks a row may have for these */

/* the activation scales of a Q8_0 row as floats */
QS_INLINE void
qs_dec_scales_q8_0(int64_t nb, const struct block_q8_0 *y, float *ad)
{
	int64_t i;

	for (i = 0; i < nb; i++)
		ad[i] = qs_h2f(y[i].d);
}

/* -8 * sum(a) of each Q8_0 activation block, once per call: added to
 * four blocks' sums at once */
QS_INLINE void
qs_dec_init_q4_0(int64_t nb, const struct block_q8_0 *y, int32_t *off)
{
	int64_t i;

	for (i = 0; i < nb; i++)
		off[i] = qs_hsum_i32(qs_offset(_mm256_loadu_si256(
		    (const __m256i *)y[i].qs), 8));
}

/* the int32 lanes of one block's dot product, q + 8 by a (the offset
 * comes back through qs_dec_init_q4_0) */
QS_INLINE __m256i
qs_dec_int_q4_0(const struct block_q4_0 *x, const struct block_q8_0 *y)
{
	__m256i q = _mm256_and_si256(_mm256_srlv_epi32(
	    _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)
	    x->qs)), _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
	    _mm256_set1_epi8(0x0F));

	return qs_dot_u8s8(_mm256_setzero_si256(), q, _mm256_loadu_si256(
	    (const __m256i *)y->qs));
}

QS_INLINE __m256i
qs_dec_int_q8_0(const struct block_q8_0 *x, const struct block_q8_0 *y)
{
	__m256i w = _mm256_loadu_si256((const __m256i *)x->qs);
	__m256i a = _mm256_loadu_si256((const __m256i *)y->qs);

	return qs_dot_u8s8(_mm256_setzero_si256(), _mm256_abs_epi8(w),
	    _mm256_sign_epi8(a, w));
}

/* the lane sums of four blocks' products, one block per lane */
QS_INLINE __m128i
qs_dec_sum4(__m256i p0, __m256i p1, __m256i p2, __m256i p3)
{
	__m256i t01 = _mm256_add_epi32(_mm256_unpacklo_epi32(p0, p1),
	    _mm256_unpackhi_epi32(p0, p1));
	__m256i t23 = _mm256_add_epi32(_mm256_unpacklo_epi32(p2, p3),
	    _mm256_unpackhi_epi32(p2, p3));
	__m256i t = _mm256_add_epi32(_mm256_unpacklo_epi64(t01, t23),
	    _mm256_unpackhi_epi64(t01, t23));

	return _mm_add_epi32(_mm256_castsi256_si128(t),
	    _mm256_extracti128_si256(t, 1));
}

/*
 * One row: four blocks a step, their integer sums gathered into the four
 * lanes of one vector so that the conversion, the scales (four fp16
 * weight scales converted together) and the FMA are paid once per four
 * blocks rather than once per block.
 */
#define QS_DEC_LEGACY(name, btype, has_init)				\
static void								\
qs_dec_##name(int64_t nb, const void *w, size_t ws, int n_rows,		\
    const void *act, float *out)					\
{									\
	const struct block_q8_0 *y = act;				\
	float ad[QS_DEC_NB];						\
	int32_t off[QS_DEC_NB];						\
	int64_t ib;							\
	int r;								\
									\
	qs_dec_scales_q8_0(nb, y, ad);					\
	if (has_init)							\
		qs_dec_init_##name(nb, y, off);				\
	else								\
		memset(off, 0, (size_t)nb * sizeof(off[0]));		\
	for (r = 0; r < n_rows; r++) {					\
		const struct btype *x = QS_ROW(w, ws, r, struct btype);	\
		__m128 acc = _mm_setzero_ps();				\
		float t;						\
									\
		for (ib = 0; ib + 4 <= nb; ib += 4) {			\
			__m128i p, h;					\
			__m128 sc;					\
									\
			qs_prefetch(x + ib, 4 * sizeof(*x));		\
			p = qs_dec_sum4(				\
			    qs_dec_int_##name(x + ib, y + ib),		\
			    qs_dec_int_##name(x + ib + 1, y + ib + 1),	\
			    qs_dec_int_##name(x + ib + 2, y + ib + 2),	\
			    qs_dec_int_##name(x + ib + 3, y + ib + 3));	\
			if (has_init)					\
				p = _mm_add_epi32(p, _mm_loadu_si128(	\
				    (const __m128i *)(off + ib)));	\
			h = _mm_setr_epi16((short)x[ib].d,		\
			    (short)x[ib + 1].d, (short)x[ib + 2].d,	\
			    (short)x[ib + 3].d, 0, 0, 0, 0);		\
			sc = _mm_mul_ps(_mm_cvtph_ps(h),		\
			    _mm_loadu_ps(ad + ib));			\
			acc = _mm_fmadd_ps(_mm_cvtepi32_ps(p), sc, acc); \
		}							\
		acc = _mm_add_ps(acc, _mm_movehl_ps(acc, acc));	\
		acc = _mm_add_ss(acc, _mm_movehdup_ps(acc));		\
		t = _mm_cvtss_f32(acc);					\
		for (; ib < nb; ib++)					\
			t += qs_h2f(x[ib].d) * ad[ib] * (float)		\
			    (qs_hsum_i32(qs_dec_int_##name(x + ib,	\
			    y + ib)) + off[ib]);			\
		out[r] = t;						\
	}								\
}
QS_DEC_LEGACY(q4_0, block_q4_0, 1)
#define qs_dec_init_q8_0(nb, y, init) do { } while (0)
QS_DEC_LEGACY(q8_0, block_q8_0, 0)

/* F16 rows against the F16 activation, both converted as they are
 * loaded; four accumulators, 32 elements (one cache line of weights) a
 * step. The activation was converted to a float buffer once per call
 * before: twice its bytes in the first-level cache beside the weights'
 * stream, which for the 5632-wide down projection (a 22 KiB buffer) halved
 * the read speed (14-15 against 24-26 GB/s, 2048 x 5632 from memory on a
 * Zen 4 host; 2048-wide rows 23-26 against 25-28).
 * No software prefetch here: with the rows in large pages (model-load
 * copies them there) the hardware prefetcher follows the stream alone,
 * and the prefetch instructions only took load slots (measured 22 -> 28
 * GB/s on a Zen 4 host, 2048 x 2048 from memory). */
static void
qs_dec_f16(int64_t k, const void *w, size_t ws, int n_rows, const void *act,
    float *out)
{
	int64_t i;
	int r, u;

	for (r = 0; r < n_rows; r++) {
		const uint8_t *x = QS_ROW(w, ws, r, uint8_t);
		__m256 acc[4];
		float t;

		QS_UNROLL for (u = 0; u < 4; u++)
			acc[u] = _mm256_setzero_ps();
		for (i = 0; i + 32 <= k; i += 32) {
			QS_UNROLL for (u = 0; u < 4; u++)
				acc[u] = _mm256_fmadd_ps(qs_load_f16(x,
				    i + 8 * u), qs_load_f16(act, i + 8 * u),
				    acc[u]);
		}
		for (; i + 8 <= k; i += 8)
			acc[0] = _mm256_fmadd_ps(qs_load_f16(x, i),
			    qs_load_f16(act, i), acc[0]);
		t = qs_hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]),
		    _mm256_add_ps(acc[2], acc[3])));
		for (; i < k; i++)
			t += qs_elem_f16(x, i) * qs_elem_f16(act, i);
		out[r] = t;
	}
}

/* ---- panels (many activations) ---- */

/*
 * Prompt processing is bound by arithmetic, and the tiles above spend most
 * of theirs outside the byte products: every (row, activation) pair of a
 * block needs its own widening, conversion, scale and, at the end, a
 * horizontal sum. A panel decodes eight weight rows once, side by side:
 * vector j of a block holds weights 4j..4j+3 of row r in int32 lane r, so
 * one byte dot product against four broadcast activation bytes gives a
 * partial sum for each of the eight rows, lane by lane. A block's eight
 * partial sums stay in int16 (Q4_0: at most 8 * 2 * 15 * 127 = 30480), and
 * the widening, conversion and scaling are paid once per block for eight
 * rows together. The panel is then used by every activation of the call.
 */
#define QS_PANEL_ROWS	8
#ifndef QS_PANEL_ACTS
#define QS_PANEL_ACTS	4	/* activations per pass over a panel */
#endif
/* activations a run over Q4_0's interleaved panels takes at once: 4, or 8
 * where the build has 32 vector registers (the other types' runs take
 * QS_PANEL_ACTS: eight of them measured slower) */
#ifndef QS_X8_Q4_0_ACTS
#define QS_X8_Q4_0_ACTS	4
#endif
_Static_assert(QS_PANEL_ACTS == 4 && (QS_X8_Q4_0_ACTS == 4 ||
    QS_X8_Q4_0_ACTS == 8), "QS_GEMM_X8 dispatches runs of 1 to 4 or 8");
#define QS_PANEL_MIN	4	/* fewer activations go through the tiles */
#ifndef QS_PANEL_KB
#define QS_PANEL_KB	64	/* blocks a pass, so that they stay in L1 */
#endif

struct qs_panel_block {
	__m256i	q[8];		/* q[j] lane r: weights 4j..4j+3 of row r */
	float	d[8];		/* the rows' block scales */
};

/* an activation block's scale and the integer term added to its sums */
struct qs_act_block {
	float	d;
	int32_t	off;
};

/* rows[r] int32 element j -> out[j] lane r: an 8 x 8 transpose */
QS_INLINE void
qs_transpose8(__m256i *v)
{
	__m256i t[8], u[8];
	int i;

	for (i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_epi32(v[i], v[i + 1]);
		t[i + 1] = _mm256_unpackhi_epi32(v[i], v[i + 1]);
	}
	for (i = 0; i < 8; i += 4) {
		u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
		u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
		u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
		u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	for (i = 0; i < 4; i++) {
		v[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
		v[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
	}
}

/* The 32 weights of a block as bytes in element order, and its scale:
 * Q4_0 as q + 8 (unsigned), Q8_0 as stored (signed) or, with VNNI, as
 * q + 128 (unsigned). */
QS_INLINE __m256i
qs_panel_bytes_q4_0(const void *blk, float *d)
{
	const struct block_q4_0 *b = blk;

	*d = qs_h2f(b->d);
	return qs_nibbles(b->qs);
}

/* Q5_0 as q + 16 (unsigned, 0..31) */
QS_INLINE __m256i
qs_panel_bytes_q5_0(const void *blk, float *d)
{
	const struct block_q5_0 *b = blk;

	*d = qs_h2f(b->d);
	return qs_decode_q5_0(b);
}

QS_INLINE __m256i
qs_panel_bytes_q8_0(const void *blk, float *d)
{
	const struct block_q8_0 *b = blk;
	__m256i v = _mm256_loadu_si256((const __m256i *)b->qs);

	*d = qs_h2f(b->d);
#if QS_VNNI
	/* as q + 128: vpdpbusd takes them unsigned, with no sign steps and
	 * no saturation; the activation's term removes the 128 */
	v = _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
#endif
	return v;
}

/* Rows past n_rows are zero, so a short panel needs no special case. */
#define QS_PANEL_PACK(name, btype)					\
static void								\
qs_panel_pack_##name(int64_t nb, const void *w, size_t ws, int n_rows,	\
    struct qs_panel_block *p)						\
{									\
	int64_t ib;							\
	int r;								\
									\
	for (ib = 0; ib < nb; ib++) {					\
		__m256i v[8];						\
									\
		for (r = 0; r < QS_PANEL_ROWS; r++) {			\
			if (r < n_rows) {				\
				v[r] = qs_panel_bytes_##name(QS_ROW(w,	\
				    ws, r, struct btype) + ib,		\
				    &p[ib].d[r]);			\
			} else {					\
				v[r] = _mm256_setzero_si256();		\
				p[ib].d[r] = 0;				\
			}						\
		}							\
		qs_transpose8(v);					\
		for (r = 0; r < 8; r++)					\
			_mm256_store_si256(&p[ib].q[r], v[r]);		\
	}								\
}
QS_PANEL_PACK(q4_0, block_q4_0)
QS_PANEL_PACK(q5_0, block_q5_0)
QS_PANEL_PACK(q8_0, block_q8_0)

/* Keeps v in a register as computed: without it the compiler reorders a
 * chain of integer additions into a tree whose partial sums no longer fit
 * in the sixteen registers, and spills them. */
#define QS_KEEP(v)	__asm__("" : "+x"(v))

#if QS_VNNI
/*
 * acc + the byte products of u with the four signed bytes at p, broadcast
 * to every lane, through vpdpbusd's embedded broadcast: the compiler does
 * not fold a set1 into it, and a broadcast load of its own costs a load
 * and an issue slot next to every product.
 */
QS_INLINE __m256i
qs_dpbusd_b4(__m256i acc, __m256i u, const void *p)
{
	__asm__("vpdpbusd %2%{1to8%}, %1, %0" : "+v"(acc) : "v"(u),
	    "m"(*(const int32_t *)p));
	return acc;
}
#endif

QS_INLINE __m256i
qs_bcast4(const void *p)
{
	int32_t x;

	memcpy(&x, p, 4);
	return _mm256_set1_epi32(x);
}

/*
 * C activations against one panel: acc[c] lane r ends as the dot product
 * of row r with activation c. Q4_0's unsigned weights go straight into
 * the byte products and a block's eight stay in int16; Q8_0's signed ones
 * lend their sign to the activation (|w| * sign(a, w)), and each product
 * pair, up to 2 * 128 * 127, is widened at once. With VNNI one vpdpbusd
 * does a step of either straight into int32 (Q8_0's weights then stored
 * as q + 128, see qs_panel_bytes_q8_0).
 */
/*
 * Q5_0 the same way as q + 16: eight steps of its products, up to
 * 8 * 2 * 31 * 127, no longer fit in int16, so without VNNI the sums are
 * widened after every four steps (half: at most 31496).
 */
QS_INLINE void
qs_panel_run_off(const int C, const int half, int64_t ib0, int64_t ib1,
    const struct qs_panel_block *p, const void *acts, size_t as,
    const struct qs_act_block *ab, size_t abs_, __m256 *res)
{
#if !QS_VNNI
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i s32[QS_PANEL_ACTS];
#endif
	__m256 acc[QS_PANEL_ACTS];
	int64_t ib;
	int c, j;

	QS_UNROLL for (c = 0; c < C; c++)
		acc[c] = res[c];
	for (ib = ib0; ib < ib1; ib++) {
		__m256i s[QS_PANEL_ACTS];
		__m256 d = _mm256_load_ps(p[ib].d);

		QS_UNROLL for (c = 0; c < C; c++) {
			s[c] = _mm256_setzero_si256();
#if !QS_VNNI
			s32[c] = _mm256_setzero_si256();
#endif
		}
		QS_UNROLL for (j = 0; j < 8; j++) {
			__m256i w = _mm256_load_si256(&p[ib].q[j]);

			QS_UNROLL for (c = 0; c < C; c++) {
				__m256i a = qs_bcast4(QS_ROW(acts, as, c,
				    struct block_q8_0)[ib].qs + 4 * j);
#if QS_VNNI
				s[c] = _mm256_dpbusd_epi32(s[c], w, a);
#else
				s[c] = _mm256_add_epi16(s[c],
				    _mm256_maddubs_epi16(w, a));
				if (half && j == 3) {
					s32[c] = _mm256_madd_epi16(s[c], ones);
					s[c] = _mm256_setzero_si256();
				}
#endif
				QS_KEEP(s[c]);
			}
		}
		QS_UNROLL for (c = 0; c < C; c++) {
			const struct qs_act_block *a = &ab[c * abs_ + ib];
#if QS_VNNI
			__m256i i32 = _mm256_add_epi32(s[c],
			    _mm256_set1_epi32(a->off));
#else
			__m256i i32 = _mm256_add_epi32(_mm256_madd_epi16(s[c],
			    ones), _mm256_set1_epi32(a->off));

			if (half)
				i32 = _mm256_add_epi32(i32, s32[c]);
#endif

			acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i32),
			    _mm256_mul_ps(d, _mm256_set1_ps(a->d)), acc[c]);
		}
	}
	QS_UNROLL for (c = 0; c < C; c++)
		res[c] = acc[c];
}

#define qs_panel_run_q4_0(C, ib0, ib1, p, acts, as, ab, abs_, res) \
	qs_panel_run_off(C, 0, ib0, ib1, p, acts, as, ab, abs_, res)
#define qs_panel_run_q5_0(C, ib0, ib1, p, acts, as, ab, abs_, res) \
	qs_panel_run_off(C, 1, ib0, ib1, p, acts, as, ab, abs_, res)

/*
 * One Q8_0 block of eight rows (eight vectors of four weights a row, as
 * in a panel or struct block_q8_0x8) against C activations, into acc.
 * On AVX2 the signed weights take the sign steps (|w| once a vector, the
 * activation's sign per activation) and each product pair, up to
 * 2 * 128 * 127, is widened at once; with VNNI the weights go in as
 * q + 128 (biased: stored so; else made so here), one vpdpbusd a step,
 * and the activation's term (ab->off) removes the 128.
 */
QS_INLINE void
qs_q8_0_block(const int C, const void *wv, int biased, __m256 d,
    const void *acts, size_t as, int64_t ib, const struct qs_act_block *ab,
    size_t abs_, __m256 *acc)
{
#if !QS_VNNI
	const __m256i ones = _mm256_set1_epi16(1);
#endif
	__m256i s[QS_PANEL_ACTS];
	int c, j;

	QS_UNROLL for (c = 0; c < C; c++)
		s[c] = _mm256_setzero_si256();
	QS_UNROLL for (j = 0; j < 8; j++) {
		__m256i w = _mm256_loadu_si256((const __m256i *)wv + j);
#if QS_VNNI
		if (!biased)
			w = _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80));
#else
		__m256i wa = _mm256_abs_epi8(w);
#endif

		QS_UNROLL for (c = 0; c < C; c++) {
			__m256i a = qs_bcast4(QS_ROW(acts, as, c,
			    struct block_q8_0)[ib].qs + 4 * j);
#if QS_VNNI
			s[c] = _mm256_dpbusd_epi32(s[c], w, a);
#else
			s[c] = _mm256_add_epi32(s[c], _mm256_madd_epi16(
			    _mm256_maddubs_epi16(wa, _mm256_sign_epi8(a, w)),
			    ones));
#endif
			QS_KEEP(s[c]);
		}
	}
	QS_UNROLL for (c = 0; c < C; c++) {
		const struct qs_act_block *a = &ab[(size_t)c * abs_ + ib];
#if QS_VNNI
		s[c] = _mm256_add_epi32(s[c], _mm256_set1_epi32(a->off));
#endif
		acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[c]),
		    _mm256_mul_ps(d, _mm256_set1_ps(a->d)), acc[c]);
	}
}

QS_INLINE void
qs_panel_run_q8_0(const int C, int64_t ib0, int64_t ib1,
    const struct qs_panel_block *p, const void *acts, size_t as,
    const struct qs_act_block *ab, size_t abs_, __m256 *res)
{
	__m256 acc[QS_PANEL_ACTS];
	int64_t ib;
	int c;

	QS_UNROLL for (c = 0; c < C; c++)
		acc[c] = res[c];
	for (ib = ib0; ib < ib1; ib++)
		qs_q8_0_block(C, p[ib].q, QS_VNNI, _mm256_load_ps(p[ib].d), acts,
		    as, ib, ab, abs_, acc);
	QS_UNROLL for (c = 0; c < C; c++)
		res[c] = acc[c];
}

/* An activation block's scale, and the term its sums carry when the
 * weights are stored with an offset (Q4_0 as q + 8: -8 * sum(a)). */
QS_INLINE struct qs_act_block
qs_act_term(const struct block_q8_0 *y, int off)
{
	struct qs_act_block t;

	t.d = qs_h2f(y->d);
	t.off = off == 0 ? 0 : qs_hsum_i32(qs_offset(_mm256_loadu_si256(
	    (const __m256i *)y->qs), off));
	return t;
}

/* Every activation block's, activation by activation */
static void
qs_panel_acts(int64_t nb, const void *acts, size_t as, int n_acts, int off,
    struct qs_act_block *ab)
{
	int64_t ib;
	int c;

	for (c = 0; c < n_acts; c++) {
		const struct block_q8_0 *y = QS_ROW(acts, as, c,
		    struct block_q8_0);

		for (ib = 0; ib < nb; ib++)
			ab[c * nb + ib] = qs_act_term(&y[ib], off);
	}
}
#define qs_panel_acts_q4_0(nb, acts, as, n, ab) \
	qs_panel_acts(nb, acts, as, n, 8, ab)
#define qs_panel_acts_q5_0(nb, acts, as, n, ab) \
	qs_panel_acts(nb, acts, as, n, 16, ab)
#define qs_panel_acts_q8_0(nb, acts, as, n, ab) \
	qs_panel_acts(nb, acts, as, n, QS_VNNI ? 128 : 0, ab)

/* lanes 0..n-1 set (n <= 8) */
QS_INLINE __m256i
qs_lanes(int n)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
	    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* lanes 0..n-1 of v to out */
QS_INLINE void
qs_store_rows(float *out, __m256 v, int n)
{
	if (n == 8)
		_mm256_storeu_ps(out, v);
	else
		_mm256_maskstore_ps(out, qs_lanes(n), v);
}

/*
 * The driver: the activations' block scales once, then eight rows at a
 * time, packed and run against every activation, QS_PANEL_ACTS at a time.
 * Returns -1 (nothing written) when the scratch cannot be had; the caller
 * falls back to the tiles.
 */
#define QS_PANEL_GEMM(name)						\
static int								\
qs_panel_gemm_##name(int64_t nb, const void *w, size_t ws, int n_rows,	\
    const void *acts, size_t as, int n_acts, float *out, size_t os)	\
{									\
	struct qs_panel_block *p;					\
	struct qs_act_block *ab;					\
	__m256 *sums;							\
	int64_t k0, k1;							\
	int r, c, nr;							\
									\
	p = aligned_alloc(32, (size_t)nb * sizeof(*p));			\
	ab = malloc((size_t)nb * (size_t)n_acts * sizeof(*ab));		\
	sums = aligned_alloc(32, (size_t)n_acts * sizeof(*sums));	\
	if (p == NULL || ab == NULL || sums == NULL) {			\
		free(p);						\
		free(ab);						\
		free(sums);						\
		return -1;						\
	}								\
	qs_panel_acts_##name(nb, acts, as, n_acts, ab);			\
	for (r = 0; r < n_rows; r += QS_PANEL_ROWS) {			\
		nr = n_rows - r < QS_PANEL_ROWS ? n_rows - r :		\
		    QS_PANEL_ROWS;					\
		qs_panel_pack_##name(nb, (const uint8_t *)w +		\
		    (size_t)r * ws, ws, nr, p);				\
		for (c = 0; c < n_acts; c++)				\
			sums[c] = _mm256_setzero_ps();			\
		for (k0 = 0; k0 < nb; k0 = k1) {			\
			k1 = nb - k0 < QS_PANEL_KB ? nb : k0 +		\
			    QS_PANEL_KB;				\
			for (c = 0; c + QS_PANEL_ACTS <= n_acts;	\
			    c += QS_PANEL_ACTS)				\
				qs_panel_run_##name(QS_PANEL_ACTS, k0,	\
				    k1, p, (const uint8_t *)acts +	\
				    (size_t)c * as, as, ab +		\
				    (size_t)c * nb, (size_t)nb,		\
				    sums + c);				\
			for (; c < n_acts; c++)				\
				qs_panel_run_##name(1, k0, k1, p,	\
				    (const uint8_t *)acts + (size_t)c *	\
				    as, as, ab + (size_t)c * nb,	\
				    (size_t)nb, sums + c);		\
		}							\
		for (c = 0; c < n_acts; c++)				\
			qs_store_rows(out + (size_t)c * os + r, sums[c],	\
			    nr);					\
	}								\
	free(p);							\
	free(ab);							\
	free(sums);							\
	return 0;							\
}
QS_PANEL_GEMM(q4_0)
QS_PANEL_GEMM(q5_0)
QS_PANEL_GEMM(q8_0)

/*
 * Q4_0 interleaved at load (struct block_q4_0x8): the four vectors of a
 * block hold the panel's vectors 0..3 in their low nibbles and 4..7 in
 * their high ones, so the runs compute on them as they stream in: per
 * block of eight rows, eight byte products and one widening instead of
 * eight rows' worth of products, widenings and lane sums.
 */
QS_INLINE void
qs_x8_bytes_q4_0(const struct block_q4_0x8 *x, int m, __m256i *lo,
    __m256i *hi)
{
	const __m256i mask = _mm256_set1_epi8(0x0F);
	__m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * m));

	*lo = _mm256_and_si256(v, mask);
	*hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
}


/* lanes 0..n-1 of out as a vector (the rest zero) */
QS_INLINE __m256
qs_load_rows(const float *out, int n)
{
	if (n == 8)
		return _mm256_loadu_ps(out);
	return _mm256_maskload_ps(out, qs_lanes(n));
}

/* a run's C sums into out (added to what it holds when add) */
QS_INLINE void
qs_x8_store(const int C, const __m256 *acc, float *out, size_t os, int nr,
    int add)
{
	int c;

	QS_UNROLL for (c = 0; c < C; c++) {
		float *o = out + (size_t)c * os;

		qs_store_rows(o, add ? _mm256_add_ps(acc[c], qs_load_rows(o,
		    nr)) : acc[c], nr);
	}
}

/*
 * Q4_0x8's activations, copied once per call block by block: block ib of
 * activation c at [ib * C + c], its bytes beside its scale and offset term,
 * so that a run reads every activation of a block through one pointer.
 */
struct qs_x8_act {
	int8_t			qs[QK8_0];
	struct qs_act_block	t;
};

static void
qs_x8_acts_q4_0(int64_t n, const void *acts, size_t as, int C,
    struct qs_x8_act *pk)
{
	int64_t ib;
	int c;

	for (ib = 0; ib < n; ib++) {
		for (c = 0; c < C; c++) {
			const struct block_q8_0 *y = QS_ROW(acts, as, c,
			    struct block_q8_0) + ib;
			struct qs_x8_act *a = &pk[ib * C + c];

			memcpy(a->qs, y->qs, sizeof(a->qs));
			a->t = qs_act_term(y, 8);
		}
	}
}

/*
 * C activations (n blocks of each, packed as above) against one panel
 * streamed from memory; the block's sums as in qs_panel_run_q4_0 (int16
 * on AVX2, where a block's eight byte products per lane cannot overflow
 * them; int32 through vpdpbusd with VNNI, starting from the offset term).
 * add: out already holds the sums of the blocks before these.
 */
QS_INLINE void
qs_x8_run_q4_0(const int C, int64_t n, const struct block_q4_0x8 *x,
    const struct qs_x8_act *pk, float *out, size_t os, int nr, int add)
{
	__m256 acc[QS_X8_Q4_0_ACTS];
	int64_t ib;
	int c, m;

	QS_UNROLL for (c = 0; c < C; c++)
		acc[c] = _mm256_setzero_ps();
	for (ib = 0; ib < n; ib++) {
		const struct qs_x8_act *a = pk + ib * C;
		__m256i s[QS_X8_Q4_0_ACTS];
		__m256 d;

		/* measured: asking ahead pays for one activation and
		 * for six or more, and costs for two to five */
		if (C == 1 || C >= 6)
			qs_prefetch(x + ib, sizeof(*x));
		d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)
		    x[ib].d));
		QS_UNROLL for (c = 0; c < C; c++)
#if QS_VNNI
			s[c] = _mm256_set1_epi32(a[c].t.off);
#else
			s[c] = _mm256_setzero_si256();
#endif
		QS_UNROLL for (m = 0; m < 4; m++) {
			__m256i lo, hi;

			qs_x8_bytes_q4_0(x + ib, m, &lo, &hi);
			QS_UNROLL for (c = 0; c < C; c++) {
#if QS_VNNI
				s[c] = qs_dpbusd_b4(s[c], lo, a[c].qs + 4 * m);
				s[c] = qs_dpbusd_b4(s[c], hi,
				    a[c].qs + 16 + 4 * m);
#else
				s[c] = _mm256_add_epi16(s[c],
				    _mm256_maddubs_epi16(lo, qs_bcast4(
				    a[c].qs + 4 * m)));
				QS_KEEP(s[c]);
				s[c] = _mm256_add_epi16(s[c],
				    _mm256_maddubs_epi16(hi, qs_bcast4(
				    a[c].qs + 16 + 4 * m)));
				QS_KEEP(s[c]);
#endif
			}
		}
		QS_UNROLL for (c = 0; c < C; c++) {
#if QS_VNNI
			__m256i i32 = s[c];
#else
			__m256i i32 = _mm256_add_epi32(_mm256_madd_epi16(s[c],
			    _mm256_set1_epi16(1)),
			    _mm256_set1_epi32(a[c].t.off));
#endif
			acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i32),
			    _mm256_mul_ps(d, _mm256_set1_ps(a[c].t.d)), acc[c]);
		}
	}
	qs_x8_store(C, acc, out, os, nr, add);
}

/* Q8_0 interleaved (struct block_q8_0x8): its blocks as panels are */
QS_INLINE void
qs_x8_run_q8_0(const int C, int64_t n, const struct block_q8_0x8 *x,
    const void *acts, size_t as, const struct qs_act_block *ab,
    float *out, size_t os, int nr, int add)
{
	__m256 acc[QS_PANEL_ACTS];
	int64_t ib;
	int c;

	QS_UNROLL for (c = 0; c < C; c++)
		acc[c] = _mm256_setzero_ps();
	for (ib = 0; ib < n; ib++) {
		if (C == 1)
			qs_x8_ahead(x + ib, sizeof(*x), QS_ROW(acts, as, 0,
			    struct block_q8_0) + ib + 1, sizeof(struct
			    block_q8_0));
		qs_q8_0_block(C, x[ib].qs, 0, _mm256_cvtph_ps(_mm_loadu_si128(
		    (const __m128i *)x[ib].d)), acts, as, ib, ab, (size_t)n,
		    acc);
	}
	qs_x8_store(C, acc, out, os, nr, add);
}

/*
 * Q4_K interleaved (struct block_q4_Kx8) against Q8_K activations. The
 * rows' six-bit scales and mins are unpacked for eight rows at once
 * (byte j & 3 of lane r: sub-block j of row r, j < 4 from the "lo"
 * vectors), and a sub-block's eight steps of byte products stay in int16
 * (at most 8 * 2 * 15 * 128 = 30720) until one multiply-add by its
 * scales widens them. The mins meet the activation's sub-block sums,
 * two sub-blocks per multiply-add.
 */
struct qs_kact_block {
	float	d;
	/* Q4_K, Q5_K: bs[p] the sums of sub-blocks 2p and 2p + 1 (of 32);
	 * Q6_K: bs[2q] those of 4q and 4q + 2, bs[2q + 1] of 4q + 1 and
	 * 4q + 3 (of 16); two int16 a lane, for one multiply-add */
	int32_t	bs[8];
};

QS_INLINE int32_t
qs_int16_pair(int lo, int hi)
{
	return (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
}

/* six: the Q6_K pairing, else the Q4_K one */
static void
qs_x8_kacts(int64_t nb, const void *acts, size_t as, int n_acts, int six,
    struct qs_kact_block *ka)
{
	int64_t ib;
	int c, q;

	for (c = 0; c < n_acts; c++) {
		const struct block_q8_K *y = QS_ROW(acts, as, c,
		    struct block_q8_K);

		for (ib = 0; ib < nb; ib++) {
			struct qs_kact_block *k = &ka[c * nb + ib];
			const int16_t *b = y[ib].bsums;

			k->d = y[ib].d;
			for (q = 0; q < 4; q++) {
				if (six) {
					k->bs[2 * q] = qs_int16_pair(b[4 * q],
					    b[4 * q + 2]);
					k->bs[2 * q + 1] = qs_int16_pair(
					    b[4 * q + 1], b[4 * q + 3]);
				} else {
					k->bs[q] = qs_int16_pair(b[4 * q] +
					    b[4 * q + 1], b[4 * q + 2] +
					    b[4 * q + 3]);
				}
			}
		}
	}
}

QS_INLINE void
qs_x8_k4_scales(const uint8_t *scales, __m256i *sc_lo, __m256i *sc_hi,
    __m256i *m_lo, __m256i *m_hi)
{
	const __m256i six = _mm256_set1_epi8(0x3F);
	const __m256i four = _mm256_set1_epi8(0x0F);
	const __m256i top = _mm256_set1_epi8(0x30);
	__m256i w0 = _mm256_loadu_si256((const __m256i *)scales);
	__m256i w1 = _mm256_loadu_si256((const __m256i *)(scales + 32));
	__m256i w2 = _mm256_loadu_si256((const __m256i *)(scales + 64));

	*sc_lo = _mm256_and_si256(w0, six);
	*m_lo = _mm256_and_si256(w1, six);
	*sc_hi = _mm256_or_si256(_mm256_and_si256(w2, four),
	    _mm256_and_si256(_mm256_srli_epi16(w0, 2), top));
	*m_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(w2, 4),
	    four), _mm256_and_si256(_mm256_srli_epi16(w1, 2), top));
}

/* bytes b0, b1 of each int32 lane of v into its two int16 halves */
QS_INLINE __m256i
qs_x8_pick16(__m256i v, int b0, int b1)
{
	const uint32_t f = 0x80008000u;
	__m256i idx = _mm256_setr_epi32(
	    (int)(f | (uint32_t)b0 | (uint32_t)b1 << 16),
	    (int)(f | (uint32_t)(4 + b0) | (uint32_t)(4 + b1) << 16),
	    (int)(f | (uint32_t)(8 + b0) | (uint32_t)(8 + b1) << 16),
	    (int)(f | (uint32_t)(12 + b0) | (uint32_t)(12 + b1) << 16),
	    (int)(f | (uint32_t)b0 | (uint32_t)b1 << 16),
	    (int)(f | (uint32_t)(4 + b0) | (uint32_t)(4 + b1) << 16),
	    (int)(f | (uint32_t)(8 + b0) | (uint32_t)(8 + b1) << 16),
	    (int)(f | (uint32_t)(12 + b0) | (uint32_t)(12 + b1) << 16));

	return _mm256_shuffle_epi8(v, idx);
}

/*
 * Q5_K (struct block_q5_Kx8) the same way, each value's fifth bit from
 * vector m of qh (bit j for sub-block j) moved to bit 4; its values reach
 * 31, so on AVX2 a sub-block's int16 sums are widened every four steps
 * (4 * 2 * 31 * 128 = 31744). The two layouts share d, dmin and scales.
 */
_Static_assert(offsetof(struct block_q4_Kx8, scales) ==
    offsetof(struct block_q5_Kx8, scales) &&
    offsetof(struct block_q4_Kx8, dmin) ==
    offsetof(struct block_q5_Kx8, dmin), "K4/K5 interleaved heads");

QS_INLINE void
qs_x8_run_k45(const int C, const int five, int64_t n, const uint8_t *x,
    size_t bsize, size_t qh_off, size_t qs_off, const void *acts, size_t as,
    const struct qs_kact_block *ka, float *out, size_t os, int nr, int add)
{
	const __m256i four = _mm256_set1_epi8(0x0F);
	__m256 acc[QS_PANEL_ACTS];
	int64_t ib;
	int c, j, m;

	QS_UNROLL for (c = 0; c < C; c++)
		acc[c] = _mm256_setzero_ps();
	for (ib = 0; ib < n; ib++) {
		const uint8_t *b = x + (size_t)ib * bsize;
		__m256i isum[QS_PANEL_ACTS], sc_lo, sc_hi, m_lo, m_hi;
		__m256 d, dmin;

		if (C == 1)
			qs_prefetch(b, bsize);
		qs_x8_k4_scales(b + offsetof(struct block_q4_Kx8, scales),
		    &sc_lo, &sc_hi, &m_lo, &m_hi);
		QS_UNROLL for (c = 0; c < C; c++)
			isum[c] = _mm256_setzero_si256();
		QS_UNROLL for (j = 0; j < 8; j++) {
			__m256i s[QS_PANEL_ACTS], sc = j < 4 ? sc_lo : sc_hi;

#if QS_VNNI
			/* sums already int32: the scale as an int32 lane */
			sc = _mm256_and_si256(qs_x8_pick16(sc, j & 3, j & 3),
			    _mm256_set1_epi32(0xFF));
#else
			sc = qs_x8_pick16(sc, j & 3, j & 3);
#endif
			QS_UNROLL for (c = 0; c < C; c++)
				s[c] = _mm256_setzero_si256();
			QS_UNROLL for (m = 0; m < 8; m++) {
				__m256i v = _mm256_loadu_si256((const __m256i *)
				    (b + qs_off + 32 * (8 * (j / 2) + m)));

				v = _mm256_and_si256(j & 1 ?
				    _mm256_srli_epi16(v, 4) : v, four);
				if (five) {
					__m256i h = _mm256_and_si256(
					    _mm256_loadu_si256((const __m256i *)
					    (b + qh_off + 32 * m)),
					    _mm256_set1_epi8((char)(1 << j)));

					v = _mm256_or_si256(v, j <= 4 ?
					    _mm256_slli_epi16(h, 4 - j) :
					    _mm256_srli_epi16(h, j - 4));
				}
				QS_UNROLL for (c = 0; c < C; c++) {
					__m256i a = qs_bcast4(QS_ROW(acts, as, c,
					    struct block_q8_K)[ib].qs + 32 * j +
					    4 * m);
#if QS_VNNI
					s[c] = _mm256_dpbusd_epi32(s[c], v, a);
#else
					s[c] = _mm256_add_epi16(s[c],
					    _mm256_maddubs_epi16(v, a));
#endif
					QS_KEEP(s[c]);
				}
#if !QS_VNNI
				if (five && m == 3) {
					QS_UNROLL for (c = 0; c < C; c++) {
						isum[c] = _mm256_add_epi32(
						    isum[c], _mm256_madd_epi16(
						    s[c], sc));
						s[c] = _mm256_setzero_si256();
					}
				}
#endif
			}
			QS_UNROLL for (c = 0; c < C; c++)
#if QS_VNNI
				isum[c] = _mm256_add_epi32(isum[c],
				    _mm256_mullo_epi32(s[c], sc));
#else
				isum[c] = _mm256_add_epi32(isum[c],
				    _mm256_madd_epi16(s[c], sc));
#endif
		}
		d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));
		dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b +
		    offsetof(struct block_q4_Kx8, dmin))));
		QS_UNROLL for (c = 0; c < C; c++) {
			const struct qs_kact_block *k = &ka[(size_t)c * n + ib];
			__m256 ad = _mm256_set1_ps(k->d);
			__m256i ms = _mm256_madd_epi16(qs_x8_pick16(m_lo, 0, 1),
			    _mm256_set1_epi32(k->bs[0]));

			ms = _mm256_add_epi32(ms, _mm256_madd_epi16(
			    qs_x8_pick16(m_lo, 2, 3), _mm256_set1_epi32(
			    k->bs[1])));
			ms = _mm256_add_epi32(ms, _mm256_madd_epi16(
			    qs_x8_pick16(m_hi, 0, 1), _mm256_set1_epi32(
			    k->bs[2])));
			ms = _mm256_add_epi32(ms, _mm256_madd_epi16(
			    qs_x8_pick16(m_hi, 2, 3), _mm256_set1_epi32(
			    k->bs[3])));
			acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]),
			    _mm256_mul_ps(d, ad), acc[c]);
			acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ms),
			    _mm256_mul_ps(dmin, ad), acc[c]);
		}
	}
	qs_x8_store(C, acc, out, os, nr, add);
}

QS_INLINE void
qs_x8_run_q4_K(const int C, int64_t n, const struct block_q4_Kx8 *x,
    const void *acts, size_t as, const struct qs_kact_block *ka,
    float *out, size_t os, int nr, int add)
{
	qs_x8_run_k45(C, 0, n, (const uint8_t *)x, sizeof(*x), 0,
	    offsetof(struct block_q4_Kx8, qs), acts, as, ka, out, os, nr, add);
}

QS_INLINE void
qs_x8_run_q5_K(const int C, int64_t n, const struct block_q5_Kx8 *x,
    const void *acts, size_t as, const struct qs_kact_block *ka,
    float *out, size_t os, int nr, int add)
{
	qs_x8_run_k45(C, 1, n, (const uint8_t *)x, sizeof(*x),
	    offsetof(struct block_q5_Kx8, qh), offsetof(struct block_q5_Kx8,
	    qs), acts, as, ka, out, os, nr, add);
}

/*
 * Q6_K interleaved (struct block_q6_Kx8) against Q8_K activations. The
 * six-bit values are put together as stored (0..63, +32 on the true
 * value) and a sub-block of 16 elements is four vectors; on AVX2 two
 * vectors' byte products stay in int16 (at most 2 * 2 * 63 * 128 = 32256)
 * before one multiply-add by the sub-block's scales widens them. The +32
 * comes off once per block: 32 times the rows' scales against the
 * activation's sub-block sums (struct qs_kact_block's Q6_K pairing), two
 * sub-blocks per multiply-add.
 */

/* byte b of each int32 lane of v at bits 8..15 and 24..31 (the rest 0) */
QS_INLINE __m256i
qs_x8_high16(__m256i v, int b)
{
	const uint32_t f = 0x00800080u;
	__m256i idx = _mm256_setr_epi32(
	    (int)(f | (uint32_t)b << 8 | (uint32_t)b << 24),
	    (int)(f | (uint32_t)(4 + b) << 8 | (uint32_t)(4 + b) << 24),
	    (int)(f | (uint32_t)(8 + b) << 8 | (uint32_t)(8 + b) << 24),
	    (int)(f | (uint32_t)(12 + b) << 8 | (uint32_t)(12 + b) << 24),
	    (int)(f | (uint32_t)b << 8 | (uint32_t)b << 24),
	    (int)(f | (uint32_t)(4 + b) << 8 | (uint32_t)(4 + b) << 24),
	    (int)(f | (uint32_t)(8 + b) << 8 | (uint32_t)(8 + b) << 24),
	    (int)(f | (uint32_t)(12 + b) << 8 | (uint32_t)(12 + b) << 24));

	return _mm256_shuffle_epi8(v, idx);
}

/* the stored values of sub-block j's four vectors of the eight rows
 * (struct block_q6_Kx8) */
QS_INLINE void
qs_x8_q6_values(const struct block_q6_Kx8 *b, int j, __m256i v[4])
{
	const __m256i six = _mm256_set1_epi8(0x3F);
	const __m256i top = _mm256_set1_epi8((char)0xC0);
	const __m256i *q = (const __m256i *)(b->q + 96 * j);
	__m256i p0 = _mm256_loadu_si256(q), p1 = _mm256_loadu_si256(q + 1);
	__m256i p2 = _mm256_loadu_si256(q + 2), t;

	v[0] = _mm256_and_si256(p0, six);
	v[1] = _mm256_and_si256(p1, six);
	v[2] = _mm256_and_si256(p2, six);
	/* top bits gathered in bits 2..7 of each byte: no bit crosses a
	 * byte in the 16-bit shifts */
	t = _mm256_or_si256(_mm256_and_si256(p2, top), _mm256_srli_epi16(
	    _mm256_and_si256(p1, top), 2));
	t = _mm256_or_si256(t, _mm256_srli_epi16(_mm256_and_si256(p0, top),
	    4));
	v[3] = _mm256_srli_epi16(t, 2);
}

QS_INLINE void
qs_x8_run_q6_K(const int C, int64_t n, const struct block_q6_Kx8 *x,
    const void *acts, size_t as, const struct qs_kact_block *ka,
    float *out, size_t os, int nr, int add)
{
	__m256 acc[QS_PANEL_ACTS];
	int64_t ib;
	int c, i, jj, q;

	QS_UNROLL for (c = 0; c < C; c++)
		acc[c] = _mm256_setzero_ps();
	for (ib = 0; ib < n; ib++) {
		const struct block_q6_Kx8 *b = x + ib;
		__m256i isum[QS_PANEL_ACTS], corr[QS_PANEL_ACTS];
		__m256 d;

		if (C == 1)
			qs_x8_ahead(b, sizeof(*b), QS_ROW(acts, as, 0,
			    struct block_q8_K) + ib + 1, sizeof(struct
			    block_q8_K));
		QS_UNROLL for (c = 0; c < C; c++)
			isum[c] = _mm256_setzero_si256();
		/* sub-block j = 4q + jj: scales word q, byte jj */
		for (q = 0; q < 4; q++) {
			__m256i w = _mm256_loadu_si256((const __m256i *)
			    (b->scales + 32 * q));

			QS_UNROLL for (jj = 0; jj < 4; jj++) {
				const int j = 4 * q + jj;
				__m256i sc = qs_x8_high16(w, jj), v[4];

				qs_x8_q6_values(b, j, v);
#if QS_VNNI
				sc = _mm256_srai_epi32(sc, 24);
				QS_UNROLL for (c = 0; c < C; c++) {
					const int8_t *a = QS_ROW(acts, as, c,
					    struct block_q8_K)[ib].qs + 16 * j;
					__m256i s = _mm256_setzero_si256();

					QS_UNROLL for (i = 0; i < 4; i++)
						s = _mm256_dpbusd_epi32(s, v[i],
						    qs_bcast4(a + 4 * i));
					isum[c] = _mm256_add_epi32(isum[c],
					    _mm256_mullo_epi32(s, sc));
				}
#else
				sc = _mm256_srai_epi16(sc, 8);
				QS_UNROLL for (c = 0; c < C; c++) {
					const int8_t *a = QS_ROW(acts, as, c,
					    struct block_q8_K)[ib].qs + 16 * j;

					QS_UNROLL for (i = 0; i < 4; i += 2)
						isum[c] = _mm256_add_epi32(
						    isum[c], _mm256_madd_epi16(
						    _mm256_add_epi16(
						    _mm256_maddubs_epi16(v[i],
						    qs_bcast4(a + 4 * i)),
						    _mm256_maddubs_epi16(v[i + 1],
						    qs_bcast4(a + 4 * i + 4))),
						    sc));
				}
#endif
			}
		}
		QS_UNROLL for (c = 0; c < C; c++)
			corr[c] = _mm256_setzero_si256();
		QS_UNROLL for (q = 0; q < 4; q++) {
			__m256i w = _mm256_loadu_si256((const __m256i *)
			    (b->scales + 32 * q));
			__m256i even = _mm256_srai_epi16(_mm256_slli_epi16(w, 8),
			    8);
			__m256i odd = _mm256_srai_epi16(w, 8);

			QS_UNROLL for (c = 0; c < C; c++) {
				const struct qs_kact_block *k =
				    &ka[(size_t)c * n + ib];

				corr[c] = _mm256_add_epi32(corr[c],
				    _mm256_madd_epi16(even, _mm256_set1_epi32(
				    k->bs[2 * q])));
				corr[c] = _mm256_add_epi32(corr[c],
				    _mm256_madd_epi16(odd, _mm256_set1_epi32(
				    k->bs[2 * q + 1])));
			}
		}
		d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
		QS_UNROLL for (c = 0; c < C; c++) {
			__m256i t = _mm256_sub_epi32(isum[c],
			    _mm256_slli_epi32(corr[c], 5));

			acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t),
			    _mm256_mul_ps(d, _mm256_set1_ps(
			    ka[(size_t)c * n + ib].d)), acc[c]);
		}
	}
	qs_x8_store(C, acc, out, os, nr, add);
}

/*
 * The interleaved gemms run on the panels as stored, QS_PANEL_ACTS
 * activations a pass (Q4_0: QS_X8_Q4_0_ACTS), along k in runs short
 * enough that the activations' per-block terms fit on the stack:
 * QS_X8_TERMS of them, QS_X8_TERMS / C blocks a run. Q4_0's
 * (qs_x8_acts_q4_0, 40 bytes a block) are kept to 20 KiB, so that they
 * stay in the first-level cache while the panels stream past them.
 * Prompts take the same path: for Q4_0 it measured as fast as repacking
 * into the plain layout's int8 panels first.
 */
#define QS_X8_TERMS		2048
#define QS_X8_TERMS_Q4_0	512

#define qs_x8_call_q4_0(C, n, x, a, as, ab, o, os, nr, add) \
	qs_x8_run_q4_0(C, n, x, ab, o, os, nr, add)
#define qs_x8_call_q8_0	qs_x8_run_q8_0
#define qs_x8_call_q4_K	qs_x8_run_q4_K
#define qs_x8_call_q5_K	qs_x8_run_q5_K
#define qs_x8_call_q6_K	qs_x8_run_q6_K
#define qs_x8_acts_q4_K(nb, acts, as, n, ka)	\
	qs_x8_kacts(nb, acts, as, n, 0, ka)
#define qs_x8_acts_q5_K	qs_x8_acts_q4_K
#define qs_x8_acts_q8_0	qs_panel_acts_q8_0
#define qs_x8_acts_q6_K(nb, acts, as, n, ka)	\
	qs_x8_kacts(nb, acts, as, n, 1, ka)

/* a run of cn (1 to 4) activations, with cn a constant for each count */
#define QS_X8_RUN4(name, cn, ...)					\
	do {								\
		if ((cn) == 4)						\
			qs_x8_call_##name(4, __VA_ARGS__);		\
		else if ((cn) == 1)					\
			qs_x8_call_##name(1, __VA_ARGS__);		\
		else if ((cn) == 2)					\
			qs_x8_call_##name(2, __VA_ARGS__);		\
		else							\
			qs_x8_call_##name(3, __VA_ARGS__);		\
	} while (0)
/* the same for 1 to 8 */
#define QS_X8_RUN8(name, cn, ...)					\
	do {								\
		if ((cn) == 8)						\
			qs_x8_call_##name(8, __VA_ARGS__);		\
		else if ((cn) <= 4)					\
			QS_X8_RUN4(name, cn, __VA_ARGS__);		\
		else if ((cn) == 5)					\
			qs_x8_call_##name(5, __VA_ARGS__);		\
		else if ((cn) == 6)					\
			qs_x8_call_##name(6, __VA_ARGS__);		\
		else							\
			qs_x8_call_##name(7, __VA_ARGS__);		\
	} while (0)
#if QS_X8_Q4_0_ACTS == 8
#define QS_X8_RUN_Q4_0	QS_X8_RUN8
#else
#define QS_X8_RUN_Q4_0	QS_X8_RUN4
#endif

#define QS_GEMM_X8(name, blk, ablk, aname, terms, most, runner)	\
static void								\
qs_gemm_##name##x8(int64_t k, const void *w, size_t ws, int n_rows,	\
    const void *acts, size_t as, int n_acts, float *out, size_t os)	\
{									\
	struct aname ab[terms];						\
	const uint8_t *ap = acts;					\
	int64_t nb = k / (blk), k0, n;					\
	int c, cn, r, nr;						\
									\
	for (c = 0; c < n_acts; c += cn) {				\
		cn = n_acts - c < (most) ? n_acts - c : (most);		\
		for (k0 = 0; k0 < nb; k0 += n) {			\
			const uint8_t *a = ap + (size_t)c * as +	\
			    (size_t)k0 * sizeof(struct ablk);		\
									\
			n = nb - k0 < (terms) / cn ? nb - k0 :		\
			    (terms) / cn;				\
			qs_x8_acts_##name(n, a, as, cn, ab);		\
			for (r = 0; r < n_rows; r += QUANT_X8_ROWS) {	\
				const struct block_##name##x8 *x =	\
				    (const struct block_##name##x8 *)	\
				    ((const uint8_t *)w + (size_t)r *	\
				    ws) + k0;				\
									\
				nr = n_rows - r < QUANT_X8_ROWS ?	\
				    n_rows - r : QUANT_X8_ROWS;		\
				runner(name, cn, n, x, a, as, ab,	\
				    out + (size_t)c * os + r, os, nr,	\
				    k0 > 0);				\
			}						\
		}							\
	}								\
}
QS_GEMM_X8(q4_0, QK4_0, block_q8_0, qs_x8_act, QS_X8_TERMS_Q4_0,
    QS_X8_Q4_0_ACTS, QS_X8_RUN_Q4_0)
QS_GEMM_X8(q8_0, QK8_0, block_q8_0, qs_act_block, QS_X8_TERMS, QS_PANEL_ACTS,
    QS_X8_RUN4)
QS_GEMM_X8(q4_K, QK_K, block_q8_K, qs_kact_block, QS_X8_TERMS, QS_PANEL_ACTS,
    QS_X8_RUN4)
QS_GEMM_X8(q5_K, QK_K, block_q8_K, qs_kact_block, QS_X8_TERMS, QS_PANEL_ACTS,
    QS_X8_RUN4)
QS_GEMM_X8(q6_K, QK_K, block_q8_K, qs_kact_block, QS_X8_TERMS, QS_PANEL_ACTS,
    QS_X8_RUN4)

/*
 * The float types the other way round: sixteen activations side by side
 * (converted to float once per call, element i of activation c at
 * [i][c]), and each weight broadcast against them, so that a step of six
 * rows is twelve multiply-adds on two activation vectors, nothing else;
 * sums stay per (row, activation) lane until the end. The weights of the
 * six rows are converted to float QS_FPANEL_KC at a time into a buffer
 * that stays in the first-level cache.
 */
#define QS_FPANEL_ACTS	16
#define QS_FPANEL_ROWS	6
#define QS_FPANEL_KC	512

QS_INLINE void
qs_fpanel_row_f32(const void *w, int64_t i0, int64_t n, float *dst)
{
	memcpy(dst, (const float *)w + i0, (size_t)n * sizeof(float));
}

#define QS_FPANEL_ROW(name)						\
QS_INLINE void								\
qs_fpanel_row_##name(const void *w, int64_t i0, int64_t n, float *dst)	\
{									\
	int64_t i;							\
									\
	for (i = 0; i + 8 <= n; i += 8)					\
		_mm256_store_ps(dst + i, qs_load_##name(w, i0 + i));	\
	for (; i < n; i++)						\
		dst[i] = qs_elem_##name(w, i0 + i);			\
}
QS_FPANEL_ROW(f16)
QS_FPANEL_ROW(bf16)

/* R rows (R <= QS_FPANEL_ROWS, float rows wr) against the sixteen
 * activations of ap, kc elements, added to the sums in res[r][activation].
 * pf, when not NULL, holds where the rows' next chunks are (R of them,
 * elements of esize bytes): their cache lines are asked for along the
 * run, a line of each every QS_FPANEL_PF elements, so that the next
 * conversion finds them in the cache. */
#define QS_FPANEL_PF	32

QS_INLINE void
qs_fpanel_run(const int R, int64_t kc, const float *const *wr, const float *ap,
    float *res, const uint8_t *const *pf, const int esize)
{
	__m256 acc[QS_FPANEL_ROWS][2];
	int64_t i, i0, end;
	int r, o;

	QS_UNROLL for (r = 0; r < R; r++) {
		acc[r][0] = _mm256_load_ps(res + r * QS_FPANEL_ACTS);
		acc[r][1] = _mm256_load_ps(res + r * QS_FPANEL_ACTS + 8);
	}
	for (i0 = 0; i0 < kc; i0 += QS_FPANEL_PF) {
		end = kc - i0 < QS_FPANEL_PF ? kc : i0 + QS_FPANEL_PF;
		if (pf != NULL)
			for (r = 0; r < R; r++)
				for (o = 0; o < QS_FPANEL_PF * esize; o += 64)
					_mm_prefetch((const char *)pf[r] +
					    i0 * esize + o, _MM_HINT_T0);
		for (i = i0; i < end; i++) {
			__m256 a0 = _mm256_load_ps(ap + i * QS_FPANEL_ACTS);
			__m256 a1 = _mm256_load_ps(ap + i * QS_FPANEL_ACTS +
			    8);

			QS_UNROLL for (r = 0; r < R; r++) {
				__m256 wv = _mm256_broadcast_ss(wr[r] + i);

				acc[r][0] = _mm256_fmadd_ps(wv, a0, acc[r][0]);
				acc[r][1] = _mm256_fmadd_ps(wv, a1, acc[r][1]);
			}
		}
	}
	QS_UNROLL for (r = 0; r < R; r++) {
		_mm256_store_ps(res + r * QS_FPANEL_ACTS, acc[r][0]);
		_mm256_store_ps(res + r * QS_FPANEL_ACTS + 8, acc[r][1]);
	}
}

/* Where row `row`'s next chunk starts, element k0 of it: the same row
 * further on, or (after a block's last chunk, next_tile set) the row a
 * tile further down (the last row, past the end). */
QS_INLINE const uint8_t *
qs_fpanel_next(const void *w, size_t ws, int n_rows, int row, int64_t k0,
    int next_tile, int esize)
{
	if (next_tile)
		row = row + QS_FPANEL_ROWS < n_rows ? row + QS_FPANEL_ROWS :
		    n_rows - 1;
	return QS_ROW(w, ws, row, uint8_t) + k0 * esize;
}

/* qs_fpanel_run for R = nr rows, each count compiled on its own */
QS_INLINE void
qs_fpanel_tile(int nr, int64_t kc, const float *const *wr, const float *ap,
    float *res, const uint8_t *const *pf, const int esize)
{
	switch (nr) {
	case 6: qs_fpanel_run(6, kc, wr, ap, res, pf, esize); break;
	case 5: qs_fpanel_run(5, kc, wr, ap, res, pf, esize); break;
	case 4: qs_fpanel_run(4, kc, wr, ap, res, pf, esize); break;
	case 3: qs_fpanel_run(3, kc, wr, ap, res, pf, esize); break;
	case 2: qs_fpanel_run(2, kc, wr, ap, res, pf, esize); break;
	default: qs_fpanel_run(1, kc, wr, ap, res, pf, esize); break;
	}
}

/* elements k0 .. k0 + kc - 1 of n activations into ap ([i][c]), eight
 * elements by eight activations at a time through a transpose; missing
 * activations are zero */
#define QS_FPANEL_ACTS_PACK(name)					\
static void								\
qs_fpanel_pack_##name(int64_t k0, int64_t kc, const void *acts,	\
    size_t as, int n, float *ap)					\
{									\
	int64_t i;							\
	int h, c;							\
									\
	for (h = 0; h < QS_FPANEL_ACTS; h += 8) {			\
		for (i = 0; i + 8 <= kc; i += 8) {			\
			__m256i v[8];					\
									\
			for (c = 0; c < 8; c++)				\
				v[c] = h + c < n ? _mm256_castps_si256(	\
				    qs_load_##name(QS_ROW(acts, as,	\
				    h + c, uint8_t), k0 + i)) :		\
				    _mm256_setzero_si256();		\
			qs_transpose8(v);				\
			for (c = 0; c < 8; c++)				\
				_mm256_store_si256((__m256i *)(ap +	\
				    (i + c) * QS_FPANEL_ACTS + h),	\
				    v[c]);				\
		}							\
		for (; i < kc; i++)					\
			for (c = 0; c < 8; c++)				\
				ap[i * QS_FPANEL_ACTS + h + c] = h + c	\
				    < n ? qs_elem_##name(QS_ROW(acts,	\
				    as, h + c, uint8_t), k0 + i) : 0.0f; \
	}								\
}
QS_FPANEL_ACTS_PACK(f32)
QS_FPANEL_ACTS_PACK(f16)
QS_FPANEL_ACTS_PACK(bf16)

/*
 * The driver takes the activations up to QS_FPANEL_GROUPS groups at a
 * time, and k in blocks of whole chunks (QS_FPANEL_KC elements) whose
 * packed activations fit in QS_FPANEL_PANEL bytes (the second-level
 * cache). In a block, it packs the activations' chunks once, then takes
 * the rows six at a time and goes along the block with them: each chunk
 * of the six rows is converted once and run against all the
 * activations, adding to per-(tile, activation) sums that stay in memory
 * from block to block. While a chunk runs, the next one (the same rows
 * further on, or the next tile's first) is asked for from memory, a
 * little at a time; the conversion then finds it in the cache. Before,
 * k went in the outer loop a chunk at a time and the conversion waited
 * on memory: 9-13 % of an F16 prompt's time, against 2 % now (2048 x 2048
 * F16 at 64 activations: 90-95 against 105-106 GFLOP/s on a Zen 4 core).
 */
#define QS_FPANEL_GROUPS	8
#define QS_FPANEL_PANEL		(256 * 1024)

#define QS_FPANEL_GEMM(name, direct, esize)				\
static int								\
qs_fpanel_gemm_##name(int64_t k, const void *w, size_t ws, int n_rows,	\
    const void *acts, size_t as, int n_acts, float *out, size_t os)	\
{									\
	const int groups = (n_acts + QS_FPANEL_ACTS - 1) /		\
	    QS_FPANEL_ACTS;						\
	const int tiles = (n_rows + QS_FPANEL_ROWS - 1) /		\
	    QS_FPANEL_ROWS;						\
	const int64_t chunks = (k + QS_FPANEL_KC - 1) / QS_FPANEL_KC;	\
	const size_t tsize = QS_FPANEL_ROWS * QS_FPANEL_ACTS;		\
	const size_t psize = QS_FPANEL_KC * QS_FPANEL_ACTS;		\
	const int gmax = groups < QS_FPANEL_GROUPS ? groups :		\
	    QS_FPANEL_GROUPS;						\
	const float *wr[QS_FPANEL_ROWS];				\
	const uint8_t *pf[QS_FPANEL_ROWS], *const *p;			\
	float *ap, *wb, *sums, *t;					\
	int64_t k0, kc, ch, c0, nch, bch;				\
	int r, g, g0, ng, c, nc, nr, i, j;				\
									\
	bch = QS_FPANEL_PANEL / ((int64_t)gmax * (int64_t)psize *	\
	    (int64_t)sizeof(float));					\
	if (bch < 1)							\
		bch = 1;						\
	if (bch > chunks)						\
		bch = chunks;						\
	ap = aligned_alloc(32, (size_t)bch * (size_t)gmax * psize *	\
	    sizeof(float));						\
	wb = aligned_alloc(32, QS_FPANEL_ROWS * QS_FPANEL_KC *		\
	    sizeof(float));						\
	sums = aligned_alloc(32, (size_t)tiles * (size_t)gmax * tsize *	\
	    sizeof(float));						\
	if (ap == NULL || wb == NULL || sums == NULL) {			\
		free(ap);						\
		free(wb);						\
		free(sums);						\
		return -1;						\
	}								\
	for (g0 = 0; g0 < groups; g0 += gmax) {				\
		ng = groups - g0 < gmax ? groups - g0 : gmax;		\
		memset(sums, 0, (size_t)tiles * (size_t)ng * tsize *	\
		    sizeof(float));					\
		for (c0 = 0; c0 < chunks; c0 += bch) {			\
			nch = chunks - c0 < bch ? chunks - c0 : bch;	\
			for (ch = 0; ch < nch; ch++) {			\
				k0 = (c0 + ch) * QS_FPANEL_KC;		\
				kc = k - k0 < QS_FPANEL_KC ? k - k0 :	\
				    QS_FPANEL_KC;			\
				for (g = 0; g < ng; g++) {		\
					c = (g0 + g) * QS_FPANEL_ACTS;	\
					nc = n_acts - c <		\
					    QS_FPANEL_ACTS ? n_acts -	\
					    c : QS_FPANEL_ACTS;		\
					qs_fpanel_pack_##name(k0, kc,	\
					    (const uint8_t *)acts +	\
					    (size_t)c * as, as, nc, ap +	\
					    ((size_t)ch * (size_t)ng +	\
					    (size_t)g) * psize);	\
				}					\
			}						\
			for (r = 0; r < n_rows; r += QS_FPANEL_ROWS) {	\
				nr = n_rows - r < QS_FPANEL_ROWS ?	\
				    n_rows - r : QS_FPANEL_ROWS;	\
				t = sums + (size_t)(r /			\
				    QS_FPANEL_ROWS) * (size_t)ng * tsize; \
				for (ch = 0; ch < nch; ch++) {		\
					k0 = (c0 + ch) * QS_FPANEL_KC;	\
					kc = k - k0 < QS_FPANEL_KC ?	\
					    k - k0 : QS_FPANEL_KC;	\
					/* what comes next: these rows \
					 * on, or the next tile's */	\
					p = ch + 1 < nch || r +		\
					    QS_FPANEL_ROWS < n_rows ?	\
					    pf : NULL;			\
					for (i = 0; i < nr; i++) {	\
						const uint8_t *row =	\
						    QS_ROW(w, ws, r + i, \
						    uint8_t);		\
									\
						pf[i] = qs_fpanel_next(	\
						    w, ws, n_rows, r +	\
						    i, ch + 1 < nch ?	\
						    k0 + QS_FPANEL_KC :	\
						    c0 * QS_FPANEL_KC,	\
						    ch + 1 == nch,	\
						    (esize));		\
						if (direct) {		\
							wr[i] = (const float *)(const void *) \
							    row + k0;	\
						} else {		\
							qs_fpanel_row_##name( \
							    row, k0, kc, \
							    wb + i *	\
							    QS_FPANEL_KC); \
							wr[i] = wb + i * \
							    QS_FPANEL_KC; \
						}			\
					}				\
					for (g = 0; g < ng; g++)	\
						qs_fpanel_tile(nr, kc,	\
						    wr, ap + ((size_t)ch * \
						    (size_t)ng + (size_t)g) \
						    * psize, t + (size_t)g \
						    * tsize, g == 0 ? p : \
						    NULL, (esize));	\
				}					\
			}						\
		}							\
		for (r = 0; r < n_rows; r += QS_FPANEL_ROWS) {		\
			nr = n_rows - r < QS_FPANEL_ROWS ? n_rows - r :	\
			    QS_FPANEL_ROWS;				\
			for (g = 0; g < ng; g++) {			\
				t = sums + ((size_t)(r /		\
				    QS_FPANEL_ROWS) * (size_t)ng +	\
				    (size_t)g) * tsize;			\
				c = (g0 + g) * QS_FPANEL_ACTS;		\
				nc = n_acts - c < QS_FPANEL_ACTS ?	\
				    n_acts - c : QS_FPANEL_ACTS;	\
				for (j = 0; j < nc; j++)		\
					for (i = 0; i < nr; i++)	\
						out[(size_t)(c + j) *	\
						    os + r + i] =	\
						    t[i *		\
						    QS_FPANEL_ACTS + j]; \
			}						\
		}							\
	}								\
	free(ap);							\
	free(wb);							\
	free(sums);							\
	return 0;							\
}
QS_FPANEL_GEMM(f32, 1, 4)
QS_FPANEL_GEMM(f16, 0, 2)
QS_FPANEL_GEMM(bf16, 0, 2)

/* ---- gemm drivers ---- */

/*
 * Tile geometry (rows, activations) per family, at most QS_RB by QS_CB;
 * the including file may choose smaller tiles where they measure faster
 * (fewer registers spilled).
 */
#ifndef QS_GEOM_LEGACY
#define QS_GEOM_LEGACY	(QS_RB, QS_CB)
#endif
#ifndef QS_GEOM_K
#define QS_GEOM_K	(QS_RB, QS_CB)
#endif
#ifndef QS_GEOM_FLOAT
#define QS_GEOM_FLOAT	(QS_RB, QS_CB)
#endif
#define qs_rb_(geom)	qs_first_ geom
#define qs_cb_(geom)	qs_second_ geom
#define qs_first_(a, b)		(a)
#define qs_second_(a, b)	(b)

typedef void (*qs_dec_fn)(int64_t, const void *, size_t, int, const void *,
    float *);
#define QS_NO_DEC	((qs_dec_fn)NULL)
typedef int (*qs_panel_fn)(int64_t, const void *, size_t, int, const void *,
    size_t, int, float *, size_t);
#define QS_NO_PANEL	((qs_panel_fn)NULL)

/*
 * Tiles of QS_RB rows by QS_CB activations, then the leftovers one row or
 * one activation at a time. The float types take k, the block types the
 * number of blocks. One activation (decode) goes one row at a time (see
 * above), through a decode kernel where the type has one.
 */
#define QS_GEMM(name, blk, dec, geom, panel)				\
static void								\
qs_gemm_##name(int64_t k, const void *w, size_t ws, int n_rows,	\
    const void *acts, size_t as, int n_acts, float *out, size_t os)	\
{									\
	const uint8_t *wp = w, *ap = acts;				\
	int64_t n = k / (blk);						\
	const int rb = qs_rb_(geom), cb = qs_cb_(geom);			\
	int r, c;							\
									\
	if (n_acts == 1 && dec != NULL && n <= QS_DEC_NB) {		\
		dec(n, w, ws, n_rows, acts, out);			\
		return;							\
	}								\
	if (n_acts >= QS_PANEL_MIN && panel != NULL &&			\
	    panel(n, w, ws, n_rows, acts, as, n_acts, out, os) == 0)	\
		return;							\
	if (n_acts == 1) {						\
		for (r = 0; r < n_rows; r++)				\
			qs_tile_##name(1, 1, n, wp + (size_t)r * ws,	\
			    ws, acts, as, out + r, os);			\
		return;							\
	}								\
	for (r = 0; r + rb <= n_rows; r += rb) {			\
		for (c = 0; c + cb <= n_acts; c += cb)			\
			qs_tile_##name(rb, cb, n,			\
			    wp + (size_t)r * ws, ws,			\
			    ap + (size_t)c * as, as,			\
			    out + (size_t)c * os + r, os);		\
		for (; c < n_acts; c++)					\
			qs_tile_##name(rb, 1, n,			\
			    wp + (size_t)r * ws, ws,			\
			    ap + (size_t)c * as, as,			\
			    out + (size_t)c * os + r, os);		\
	}								\
	for (; r < n_rows; r++) {					\
		for (c = 0; c + cb <= n_acts; c += cb)			\
			qs_tile_##name(1, cb, n,			\
			    wp + (size_t)r * ws, ws,			\
			    ap + (size_t)c * as, as,			\
			    out + (size_t)c * os + r, os);		\
		for (; c < n_acts; c++)					\
			qs_tile_##name(1, 1, n,				\
			    wp + (size_t)r * ws, ws,			\
			    ap + (size_t)c * as, as,			\
			    out + (size_t)c * os + r, os);		\
	}								\
}
QS_GEMM(q8_0, QK8_0, qs_dec_q8_0, QS_GEOM_LEGACY, qs_panel_gemm_q8_0)
QS_GEMM(q4_0, QK4_0, qs_dec_q4_0, QS_GEOM_LEGACY, qs_panel_gemm_q4_0)
QS_GEMM(q5_0, QK5_0, QS_NO_DEC, QS_GEOM_LEGACY, qs_panel_gemm_q5_0)
QS_GEMM(q4_1, QK4_1, QS_NO_DEC, QS_GEOM_LEGACY, QS_NO_PANEL)
QS_GEMM(q5_1, QK5_1, QS_NO_DEC, QS_GEOM_LEGACY, QS_NO_PANEL)
QS_GEMM(q2_K, QK_K, QS_NO_DEC, QS_GEOM_K, QS_NO_PANEL)
QS_GEMM(q3_K, QK_K, QS_NO_DEC, QS_GEOM_K, QS_NO_PANEL)
QS_GEMM(q4_K, QK_K, QS_NO_DEC, QS_GEOM_K, QS_NO_PANEL)
QS_GEMM(q5_K, QK_K, QS_NO_DEC, QS_GEOM_K, QS_NO_PANEL)
QS_GEMM(q6_K, QK_K, QS_NO_DEC, QS_GEOM_K, QS_NO_PANEL)

#define QS_GEMM_FLOAT(name, dec, geom, panel)				\
static void								\
qs_gemm_##name(int64_t k, const void *w, size_t ws, int n_rows,	\
    const void *acts, size_t as, int n_acts, float *out, size_t os)	\
{									\
	const uint8_t *wp = w, *ap = acts;				\
	const int rb = qs_rb_(geom), cb = qs_cb_(geom);			\
	int r, c;							\
									\
	if (n_acts == 1 && dec != NULL) {				\
		dec(k, w, ws, n_rows, acts, out);			\
		return;							\
	}								\
	if (n_acts >= QS_PANEL_MIN && panel != NULL &&			\
	    panel(k, w, ws, n_rows, acts, as, n_acts, out, os) == 0)	\
		return;							\
	if (n_acts == 1) {						\
		for (r = 0; r < n_rows; r++)				\
			qs_tile_##name(1, 1, k, wp + (size_t)r * ws,	\
			    ws, acts, as, out + r, os);			\
		return;							\
	}								\
	for (r = 0; r + rb <= n_rows; r += rb) {			\
		for (c = 0; c + cb <= n_acts; c += cb)			\
			qs_tile_##name(rb, cb, k,			\
			    wp + (size_t)r * ws, ws,			\
			    ap + (size_t)c * as, as,			\
			    out + (size_t)c * os + r, os);		\
		for (; c < n_acts; c++)					\
			qs_tile_##name(rb, 1, k,			\
			    wp + (size_t)r * ws, ws,			\
			    ap + (size_t)c * as, as,			\
			    out + (size_t)c * os + r, os);		\
	}								\
	for (; r < n_rows; r++) {					\
		for (c = 0; c + cb <= n_acts; c += cb)			\
			qs_tile_##name(1, cb, k,			\
			    wp + (size_t)r * ws, ws,			\
			    ap + (size_t)c * as, as,			\
			    out + (size_t)c * os + r, os);		\
		for (; c < n_acts; c++)					\
			qs_tile_##name(1, 1, k,				\
			    wp + (size_t)r * ws, ws,			\
			    ap + (size_t)c * as, as,			\
			    out + (size_t)c * os + r, os);		\
	}								\
}
QS_GEMM_FLOAT(f32, QS_NO_DEC, QS_GEOM_FLOAT, qs_fpanel_gemm_f32)
QS_GEMM_FLOAT(f16, qs_dec_f16, QS_GEOM_FLOAT, qs_fpanel_gemm_f16)
QS_GEMM_FLOAT(bf16, QS_NO_DEC, QS_GEOM_FLOAT, qs_fpanel_gemm_bf16)

/* ---- activation quantizers (bit-identical to the references) ---- */

QS_INLINE float
qs_hmax(__m256 v)
{
	__m128 x = _mm_max_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	x = _mm_max_ps(x, _mm_movehl_ps(x, x));
	x = _mm_max_ss(x, _mm_movehdup_ps(x));
	return _mm_cvtss_f32(x);
}

QS_INLINE __m256
qs_abs(__m256 v)
{
	return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

/* four vectors of 8 rounded int32 -> 32 int8 in element order */
QS_INLINE __m256i
qs_pack32(__m256 x0, __m256 x1, __m256 x2, __m256 x3, __m256 scale)
{
	/* an enum: clang wants the rounding mode as a constant expression */
	enum { rnd = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
	__m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(x0,
	    scale), rnd));
	__m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(x1,
	    scale), rnd));
	__m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(x2,
	    scale), rnd));
	__m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(x3,
	    scale), rnd));
	__m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1),
	    _mm256_packs_epi32(i2, i3));

	/* the packs interleave 128-bit lanes: restore the order */
	return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5,
	    2, 6, 3, 7));
}

static void
qs_quantize_q8_0(const float *x, void *dst, int64_t n)
{
	struct block_q8_0 *b = dst;
	int64_t i, nb = n / QK8_0;

	for (i = 0; i < nb; i++, b++, x += QK8_0) {
		__m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
		__m256 x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24);
		__m256 m = _mm256_max_ps(_mm256_max_ps(qs_abs(x0), qs_abs(x1)),
		    _mm256_max_ps(qs_abs(x2), qs_abs(x3)));
		float amax = qs_hmax(m), d = amax / 127;
		float id = amax != 0 ? 127 / amax : 0;

		b->d = f32_to_fp16(d);
		_mm256_storeu_si256((__m256i *)b->qs, qs_pack32(x0, x1, x2, x3,
		    _mm256_set1_ps(id)));
	}
}

static void
qs_quantize_q8_1(const float *x, void *dst, int64_t n)
{
	struct block_q8_1 *b = dst;
	int64_t i, nb = n / QK8_1;

	for (i = 0; i < nb; i++, b++, x += QK8_1) {
		__m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
		__m256 x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24);
		__m256 m = _mm256_max_ps(_mm256_max_ps(qs_abs(x0), qs_abs(x1)),
		    _mm256_max_ps(qs_abs(x2), qs_abs(x3)));
		float amax = qs_hmax(m), d = amax / 127;
		float id = amax != 0 ? 127 / amax : 0;
		__m256i q = qs_pack32(x0, x1, x2, x3, _mm256_set1_ps(id));
		__m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(
		    _mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
		__m128i t = _mm_add_epi32(_mm256_castsi256_si128(s),
		    _mm256_extracti128_si256(s, 1));
		int sum;

		t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
		t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
		sum = _mm_cvtsi128_si32(t);
		b->d = f32_to_fp16(d);
		_mm256_storeu_si256((__m256i *)b->qs, q);
		b->s = f32_to_fp16(d * (float)sum);
	}
}

static void
qs_quantize_q8_K(const float *x, void *dst, int64_t n)
{
	struct block_q8_K *b = dst;
	int64_t i, nb = n / QK_K;
	int j;

	for (i = 0; i < nb; i++, b++, x += QK_K) {
		__m256 m = _mm256_setzero_ps(), sv;
		float amax, max = 0, iscale;

		for (j = 0; j < QK_K; j += 8)
			m = _mm256_max_ps(m, qs_abs(_mm256_loadu_ps(x + j)));
		amax = qs_hmax(m);
		if (amax == 0) {
			memset(b, 0, sizeof(*b));
			continue;
		}
		/* the first element of largest magnitude sets the sign */
		for (j = 0; j < QK_K; j++) {
			if (x[j] == amax || x[j] == -amax) {
				max = x[j];
				break;
			}
		}
		iscale = -127.f / max;
		sv = _mm256_set1_ps(iscale);
		for (j = 0; j < QK_K; j += 32) {
			__m256i q = qs_pack32(_mm256_loadu_ps(x + j),
			    _mm256_loadu_ps(x + j + 8),
			    _mm256_loadu_ps(x + j + 16),
			    _mm256_loadu_ps(x + j + 24), sv);
			__m256i s16;

			/* +128 saturated to 127 by the packs: the clip */
			_mm256_storeu_si256((__m256i *)(b->qs + j), q);
			s16 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(
			    _mm256_castsi256_si128(q)), _mm256_set1_epi16(1));
			s16 = _mm256_hadd_epi32(s16, _mm256_madd_epi16(
			    _mm256_cvtepi8_epi16(_mm256_extracti128_si256(q,
			    1)), _mm256_set1_epi16(1)));
			/* lanes: a01 a23 b01 b23 | a45 a67 b45 b67 */
			s16 = _mm256_hadd_epi32(s16, s16);
			/* a0123 b0123 . . | a4567 b4567 . . */
			{
				__m128i lo = _mm256_castsi256_si128(s16);
				__m128i hi = _mm256_extracti128_si256(s16, 1);
				__m128i t = _mm_add_epi32(lo, hi);

				b->bsums[j / 16] = (int16_t)_mm_cvtsi128_si32(t);
				b->bsums[j / 16 + 1] = (int16_t)
				    _mm_extract_epi32(t, 1);
			}
		}
		b->d = 1 / iscale;
	}
}

static void
qs_quantize_f16(const float *x, void *dst, int64_t n)
{
	uint16_t *h = dst;
	int64_t i;

	for (i = 0; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(
		    _mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		h[i] = f32_to_fp16(x[i]);
}

static void
qs_quantize_bf16(const float *x, void *dst, int64_t n)
{
	uint16_t *h = dst;
	int64_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		__m256i u = _mm256_loadu_si256((const __m256i *)(x + i));
		__m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16),
		    _mm256_set1_epi32(1));
		__m256i r = _mm256_srli_epi32(_mm256_add_epi32(u,
		    _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
		__m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u,
		    _mm256_set1_epi32(0x7fffffff)),
		    _mm256_set1_epi32(0x7f800000));
		__m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16),
		    _mm256_set1_epi32(64));
		__m128i p;

		r = _mm256_blendv_epi8(r, q, nan);
		p = _mm_packus_epi32(_mm256_castsi256_si128(r),
		    _mm256_extracti128_si256(r, 1));
		_mm_storeu_si128((__m128i *)(h + i), p);
	}
	for (; i < n; i++)
		h[i] = f32_to_bf16(x[i]);
}

/* ---- dequantization (bit-identical to the references) ---- */

static void
qs_dequantize_f16(const void *src, float *y, int64_t n)
{
	int64_t i;

	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, qs_load_f16(src, i));
	for (; i < n; i++)
		y[i] = fp16_to_f32(((const uint16_t *)src)[i]);
}

static void
qs_dequantize_bf16(const void *src, float *y, int64_t n)
{
	int64_t i;

	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, qs_load_bf16(src, i));
	for (; i < n; i++)
		y[i] = bf16_to_f32(((const uint16_t *)src)[i]);
}

/* 32 bytes (u8 or s8) times d -> 32 floats */
QS_INLINE void
qs_store_scaled(float *y, __m256i q, int is_signed, __m256 d, __m256 m)
{
	__m128i lo = _mm256_castsi256_si128(q), hi =
	    _mm256_extracti128_si256(q, 1);
	__m256i v[4];
	int i;

	if (is_signed) {
		v[0] = _mm256_cvtepi8_epi32(lo);
		v[1] = _mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8));
		v[2] = _mm256_cvtepi8_epi32(hi);
		v[3] = _mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8));
	} else {
		v[0] = _mm256_cvtepu8_epi32(lo);
		v[1] = _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8));
		v[2] = _mm256_cvtepu8_epi32(hi);
		v[3] = _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8));
	}
	QS_UNROLL for (i = 0; i < 4; i++)
		_mm256_storeu_ps(y + 8 * i, _mm256_sub_ps(_mm256_mul_ps(d,
		    _mm256_cvtepi32_ps(v[i])), m));
}

static void
qs_dequantize_q8_0(const void *src, float *y, int64_t n)
{
	const struct block_q8_0 *b = src;
	int64_t i, nb = n / QK8_0;

	for (i = 0; i < nb; i++, b++, y += QK8_0)
		qs_store_scaled(y, _mm256_loadu_si256((const __m256i *)b->qs), 1,
		    qs_h2f_v(b->d), _mm256_setzero_ps());
}

static void
qs_dequantize_q4_0(const void *src, float *y, int64_t n)
{
	const struct block_q4_0 *b = src;
	int64_t i, nb = n / QK4_0;

	for (i = 0; i < nb; i++, b++, y += QK4_0)
		qs_store_scaled(y, _mm256_sub_epi8(qs_nibbles(b->qs),
		    _mm256_set1_epi8(8)), 1, qs_h2f_v(b->d),
		    _mm256_setzero_ps());
}

static void
qs_dequantize_q4_K(const void *src, float *y, int64_t n)
{
	const struct block_q4_K *b = src;
	int64_t i, nb = n / QK_K;
	uint8_t sc[16];
	int h;

	for (i = 0; i < nb; i++, b++) {
		float d = qs_h2f(b->d), dmin = qs_h2f(b->dmin);

		qs_k4_scales(b->scales, sc);
		for (h = 0; h < 4; h++, y += 64) {
			__m256i q = _mm256_loadu_si256((const __m256i *)
			    (b->qs + 32 * h));

			qs_store_scaled(y, _mm256_and_si256(q,
			    _mm256_set1_epi8(0x0F)), 0,
			    _mm256_set1_ps(d * sc[2 * h]),
			    _mm256_set1_ps(dmin * sc[8 + 2 * h]));
			qs_store_scaled(y + 32, _mm256_and_si256(
			    _mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0F)), 0,
			    _mm256_set1_ps(d * sc[2 * h + 1]),
			    _mm256_set1_ps(dmin * sc[8 + 2 * h + 1]));
		}
	}
}

QS_INLINE void
qs_store16(float *y, __m128i q, float d)
{
	__m256 dv = _mm256_set1_ps(d);

	_mm256_storeu_ps(y, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(
	    _mm256_cvtepi8_epi32(q))));
	_mm256_storeu_ps(y + 8, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(
	    _mm256_cvtepi8_epi32(_mm_srli_si128(q, 8)))));
}

static void
qs_dequantize_q6_K(const void *src, float *y, int64_t n)
{
	const struct block_q6_K *b = src;
	int64_t i, nb = n / QK_K;
	int h, j;

	for (i = 0; i < nb; i++, b++) {
		float d = qs_h2f(b->d);

		for (h = 0; h < 2; h++) {
			for (j = 0; j < 4; j++, y += 32) {
				__m256i q = _mm256_sub_epi8(qs_q6_values(b, h,
				    j), _mm256_set1_epi8(32));
				const int8_t *sc = b->scales + 8 * h + 2 * j;

				qs_store16(y, _mm256_castsi256_si128(q),
				    d * sc[0]);
				qs_store16(y + 16, _mm256_extracti128_si256(q,
				    1), d * sc[1]);
			}
		}
	}
}

/* ---- entry points ---- */

quant_gemm_fn
QS_GEMM_GETTER(enum ggml_type type)
{
	switch (type) {
	case GGML_TYPE_F32: return qs_gemm_f32;
	case GGML_TYPE_F16: return qs_gemm_f16;
	case GGML_TYPE_BF16: return qs_gemm_bf16;
	case GGML_TYPE_Q4_0: return qs_gemm_q4_0;
	case GGML_TYPE_Q4_1: return qs_gemm_q4_1;
	case GGML_TYPE_Q5_0: return qs_gemm_q5_0;
	case GGML_TYPE_Q5_1: return qs_gemm_q5_1;
	case GGML_TYPE_Q8_0: return qs_gemm_q8_0;
	case GGML_TYPE_Q2_K: return qs_gemm_q2_K;
	case GGML_TYPE_Q3_K: return qs_gemm_q3_K;
	case GGML_TYPE_Q4_K: return qs_gemm_q4_K;
	case GGML_TYPE_Q5_K: return qs_gemm_q5_K;
	case GGML_TYPE_Q6_K: return qs_gemm_q6_K;
	default: return NULL;
	}
}

/* ---- attention ---- */

/*
 * e^x to within about two units in the last place: x = n ln 2 + r with
 * |r| <= ln 2 / 2, e^r by its Taylor polynomial to r^7 (Horner), then 2^n
 * into the exponent. Below -87.3 (where e^x leaves the normal floats) the
 * result is 0; above 88 it is e^88 (a quotient by 1 + e^x is then 0 as
 * it would be).
 */
QS_INLINE __m256
qs_exp(__m256 x)
{
	const __m256 lo = _mm256_set1_ps(-87.3f);
	__m256 n, r, p, tiny = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
	__m256i e;

	x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.0f));
	n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
	    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	/* ln 2 in two parts, so that n * ln2_hi is exact */
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
	p = _mm256_set1_ps(1.0f / 5040);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
	    _mm256_set1_epi32(127)), 23);
	p = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
	return _mm256_andnot_ps(tiny, p);
}

/* The eight sums of a[0..7] into the lanes of one vector. */
QS_INLINE __m256
qs_hsum8(const __m256 *a)
{
	__m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
	__m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
	__m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);

	return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
	    _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* One head's scores: sc[s] = scale * q . k_s, eight positions at a time
 * (eight independent sums, one vector of results). */
QS_INLINE void
qs_attn_scores(const float *q, int hd, const float *k, size_t kv_stride,
    int len, float scale, float *sc)
{
	const __m256 sv = _mm256_set1_ps(scale);
	__m256 acc[8];
	int s, i, j;

	for (s = 0; s + 8 <= len; s += 8) {
		const float *k0 = k + (size_t)s * kv_stride;

		QS_UNROLL for (j = 0; j < 8; j++)
			acc[j] = _mm256_setzero_ps();
		for (i = 0; i < hd; i += 8) {
			__m256 qv = _mm256_loadu_ps(q + i);

			QS_UNROLL for (j = 0; j < 8; j++)
				acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(
				    k0 + (size_t)j * kv_stride + i), acc[j]);
		}
		_mm256_storeu_ps(sc + s, _mm256_mul_ps(qs_hsum8(acc), sv));
	}
	for (; s < len; s++) {
		const float *kr = k + (size_t)s * kv_stride;
		__m256 a = _mm256_setzero_ps();

		for (i = 0; i < hd; i += 8)
			a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i),
			    _mm256_loadu_ps(kr + i), a);
		sc[s] = qs_hsum(a) * scale;
	}
}

/* sc[s] = e^(sc[s] - max) in place; returns their sum. */
QS_INLINE float
qs_attn_softmax(float *sc, int len)
{
	__m256 m = _mm256_set1_ps(-INFINITY), sum = _mm256_setzero_ps(), e;
	__m128 h;
	__m256i lanes;
	float max;
	int s;

	for (s = 0; s + 8 <= len; s += 8)
		m = _mm256_max_ps(m, _mm256_loadu_ps(sc + s));
	h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
	h = _mm_max_ps(h, _mm_movehl_ps(h, h));
	h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
	max = _mm_cvtss_f32(h);
	for (; s < len; s++)
		if (sc[s] > max)
			max = sc[s];
	m = _mm256_set1_ps(max);
	for (s = 0; s + 8 <= len; s += 8) {
		e = qs_exp(_mm256_sub_ps(_mm256_loadu_ps(sc + s), m));
		_mm256_storeu_ps(sc + s, e);
		sum = _mm256_add_ps(sum, e);
	}
	if (s < len) {
		lanes = qs_lanes(len - s);
		e = qs_exp(_mm256_sub_ps(_mm256_maskload_ps(sc + s, lanes),
		    m));
		e = _mm256_and_ps(e, _mm256_castsi256_ps(lanes));
		_mm256_maskstore_ps(sc + s, lanes, e);
		sum = _mm256_add_ps(sum, e);
	}
	return qs_hsum(sum);
}

/*
 * out_h = inv[h] * sum_s p_h[s] v_s for NH heads at once (p_h: the row of
 * sc at h * len), eight elements of the rows at a time: each value row is
 * read once for the NH heads, one multiply-add each (NH independent sums).
 */
QS_INLINE void
qs_attn_values(const int NH, const float *sc, int len, int hd,
    const float *v, size_t kv_stride, const float *inv, float *out)
{
	__m256 acc[8], vv;
	int d, s, h;

	for (d = 0; d < hd; d += 8) {
		QS_UNROLL for (h = 0; h < NH; h++)
			acc[h] = _mm256_setzero_ps();
		for (s = 0; s < len; s++) {
			vv = _mm256_loadu_ps(v + (size_t)s * kv_stride + d);
			QS_UNROLL for (h = 0; h < NH; h++)
				acc[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(
				    sc + (size_t)h * len + s), vv, acc[h]);
		}
		QS_UNROLL for (h = 0; h < NH; h++)
			_mm256_storeu_ps(out + (size_t)h * hd + d,
			    _mm256_mul_ps(acc[h], _mm256_set1_ps(inv[h])));
	}
}

static void
qs_attn(const float *q, int n_q, int hd, const float *k, const float *v,
    size_t kv_stride, int len, float scale, float *scores, float *out)
{
	float inv[8];
	int h, h0;

	if (hd % 8 != 0 || len <= 0) {
		quant_attn_ref(q, n_q, hd, k, v, kv_stride, len, scale, scores,
		    out);
		return;
	}
	for (h0 = 0; h0 < n_q; h0 += 8) {
		int nh = n_q - h0 < 8 ? n_q - h0 : 8;
		float *sc = scores + (size_t)h0 * len;

		for (h = 0; h < nh; h++) {
			qs_attn_scores(q + (size_t)(h0 + h) * hd, hd, k,
			    kv_stride, len, scale, sc + (size_t)h * len);
			inv[h] = 1.0f / qs_attn_softmax(sc + (size_t)h * len,
			    len);
		}
		if (nh == 8)
			qs_attn_values(8, sc, len, hd, v, kv_stride, inv,
			    out + (size_t)h0 * hd);
		else
			for (h = 0; h < nh; h++)
				qs_attn_values(1, sc + (size_t)h * len, len,
				    hd, v, kv_stride, inv + h, out +
				    (size_t)(h0 + h) * hd);
	}
}

quant_attn_fn
QS_ATTN_GETTER(void)
{
	return qs_attn;
}

/* SwiGLU's gate, eight at a time; the last few through masks, so that
 * every element has the same arithmetic wherever it lies. */
static void
qs_swiglu(float *gate, const float *up, size_t n)
{
	const __m256 one = _mm256_set1_ps(1.0f);
	__m256i lanes;
	__m256 g, y;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		g = _mm256_loadu_ps(gate + i);
		y = _mm256_div_ps(g, _mm256_add_ps(one, qs_exp(
		    _mm256_sub_ps(_mm256_setzero_ps(), g))));
		_mm256_storeu_ps(gate + i, _mm256_mul_ps(y,
		    _mm256_loadu_ps(up + i)));
	}
	if (i < n) {
		lanes = qs_lanes((int)(n - i));
		g = _mm256_maskload_ps(gate + i, lanes);
		y = _mm256_div_ps(g, _mm256_add_ps(one, qs_exp(
		    _mm256_sub_ps(_mm256_setzero_ps(), g))));
		_mm256_maskstore_ps(gate + i, lanes, _mm256_mul_ps(y,
		    _mm256_maskload_ps(up + i, lanes)));
	}
}

quant_swiglu_fn
QS_SWIGLU_GETTER(void)
{
	return qs_swiglu;
}

quant_gemm_fn
QS_GEMM_X8_GETTER(enum ggml_type type)
{
	switch (type) {
	case GGML_TYPE_Q4_0: return qs_gemm_q4_0x8;
	case GGML_TYPE_Q8_0: return qs_gemm_q8_0x8;
	case GGML_TYPE_Q4_K: return qs_gemm_q4_Kx8;
	case GGML_TYPE_Q5_K: return qs_gemm_q5_Kx8;
	case GGML_TYPE_Q6_K: return qs_gemm_q6_Kx8;
	default: return NULL;
	}
}

quant_quantize_fn
QS_QUANTIZE_GETTER(enum ggml_type type)
{
	switch (type) {
	case GGML_TYPE_F16: return qs_quantize_f16;
	case GGML_TYPE_BF16: return qs_quantize_bf16;
	case GGML_TYPE_Q8_0: return qs_quantize_q8_0;
	case GGML_TYPE_Q8_1: return qs_quantize_q8_1;
	case GGML_TYPE_Q8_K: return qs_quantize_q8_K;
	default: return NULL;
	}
}

quant_dequantize_fn
QS_DEQUANTIZE_GETTER(enum ggml_type type)
{
	switch (type) {
	case GGML_TYPE_F16: return qs_dequantize_f16;
	case GGML_TYPE_BF16: return qs_dequantize_bf16;
	case GGML_TYPE_Q4_0: return qs_dequantize_q4_0;
	case GGML_TYPE_Q8_0: return qs_dequantize_q8_0;
	case GGML_TYPE_Q4_K: return qs_dequantize_q4_K;
	case GGML_TYPE_Q6_K: return qs_dequantize_q6_K;
	default: return NULL;
	}
}
