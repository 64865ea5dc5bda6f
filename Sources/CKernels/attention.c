// Attention without a graph for one head, F32, on AVX-512 (contract: include/CKernels.h).
//
// Why not OpenBLAS: the scores Q·Kᵀ have an inner dimension of one head (32 to 128) and the product
// with V an output of one head's width, so the packing OpenBLAS does before every product (both
// operands, for every block of query rows) is large beside the arithmetic — for the product with V
// at 32 columns it copies more values than it multiplies (docs/benchmarks.md, "Attention in one
// kernel"). Here K is laid out once per head into panels of 32 keys and V's rows side by side, and Q
// and the probabilities are read where they lie (one value broadcast to every lane).
//
// Per block of 8 query rows: the scores against every key (8 × 32 tiles: 16 sums in registers, per
// step of the head dimension two loads of a K panel and 8 broadcasts of Q), each row's exponentials
// shifted by its maximum (gpd_exp_row_shifted, which also applies the scale), then the product with
// V (8 rows × 32 columns of the head: per key two loads of V's row and 8 broadcasts of the
// probabilities), divided by each row's sum as it is stored. The sums run in a fixed order whatever
// the number of threads, so the result does not depend on how the heads are spread over the cores.
#include "CKernels.h"

#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#include <string.h>

#include "lanes.h"

#define WIDE_TARGET __attribute__((target("avx512f,avx512bw")))

long gpd_attention_scratch_floats(long lk, long d) { return roundUp(lk, 32) * d + 8 * roundUp(lk, 32) + 8 * d + lk * d; }

/// s[r][0..32) = Σ_p q[r][p] · panel[p][0..32) for r < 8.
WIDE_TARGET static inline void scoreTile(const float *q, long ldq, const float *panel, long d, float *s, long lds) {
    __m512 c[8][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < 8; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
    for (long p = 0; p < d; p++) {
        __m512 b0 = _mm512_load_ps(panel + p * 32), b1 = _mm512_load_ps(panel + p * 32 + 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < 8; r++) {
            __m512 a = _mm512_set1_ps(q[r * ldq + p]);
            c[r][0] = _mm512_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(a, b1, c[r][1]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < 8; r++) { _mm512_storeu_ps(s + r * lds, c[r][0]); _mm512_storeu_ps(s + r * lds + 16, c[r][1]); }
}

/// out[r][0..32) = inverse[r] · Σ_{j < lk} p[r][j] · v[j][0..32) for r < rows (≤ 8).
WIDE_TARGET static inline void valueTile(const float *p, long ldp, const float *v, long ldv, long lk,
                                         const float *inverse, long rows, float *out, long ldo) {
    __m512 c[8][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < 8; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
    for (long j = 0; j < lk; j++) {
        __m512 b0 = _mm512_loadu_ps(v + j * ldv), b1 = _mm512_loadu_ps(v + j * ldv + 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < 8; r++) {
            __m512 a = _mm512_set1_ps(p[r * ldp + j]);
            c[r][0] = _mm512_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(a, b1, c[r][1]);
        }
    }
    for (long r = 0; r < rows; r++) {
        __m512 inv = _mm512_set1_ps(inverse[r]);
        _mm512_storeu_ps(out + r * ldo, _mm512_mul_ps(c[r][0], inv));
        _mm512_storeu_ps(out + r * ldo + 16, _mm512_mul_ps(c[r][1], inv));
    }
}

WIDE_TARGET void gpd_attention_f32(long lq, long lk, long d, float scale, const float *q, long ldq, const float *k, long ldk,
                                   const float *v, long ldv, float *out, long ldo, float *scratch) {
    long lkp = roundUp(lk, 32);
    float *panels = scratch, *s = scratch + lkp * d, *qTail = s + 8 * lkp, *values = qTail + 8 * d;
    // K into panels of 32 keys: panels[c][p][t] = k[32c + t][p], zero past the last key. Each panel
    // is 128 d bytes, so every panel starts 64-byte aligned when the scratch does.
    for (long c = 0; c < lkp / 32; c++) {
        float *panel = panels + c * d * 32;
        for (long t = 0; t < 32; t++) {
            long key = 32 * c + t;
            if (key < lk) { const float *row = k + key * ldk; for (long p = 0; p < d; p++) panel[p * 32 + t] = row[p]; }
            else { for (long p = 0; p < d; p++) panel[p * 32 + t] = 0; }
        }
    }
    // V's rows side by side (row stride d): in place they lie h·d apart, and at strides of 2 KB and
    // more the rows of a head fall into few L1 sets.
    for (long j = 0; j < lk; j++) memcpy(values + j * d, v + j * ldv, sizeof(float) * d);
    float inverse[8];
    for (long r0 = 0; r0 < lq; r0 += 8) {
        long rows = lq - r0 < 8 ? lq - r0 : 8;
        const float *qb = q + r0 * ldq;
        long ldqb = ldq;
        if (rows < 8) {
            // The last block's missing rows read zeros (their scores are 0, finite, and never stored).
            memset(qTail, 0, sizeof(float) * 8 * d);
            for (long r = 0; r < rows; r++) memcpy(qTail + r * d, qb + r * ldq, sizeof(float) * d);
            qb = qTail;
            ldqb = d;
        }
        for (long c = 0; c < lkp / 32; c++) scoreTile(qb, ldqb, panels + c * d * 32, d, s + 32 * c, lkp);
        for (long r = 0; r < rows; r++) {
            float sum = gpd_exp_row_shifted(s + r * lkp, lk, scale);
            inverse[r] = sum > 0 ? 1 / sum : 0;
        }
        for (long col = 0; col < d; col += 32) valueTile(s, lkp, values + col, d, lk, inverse, rows, out + r0 * ldo + col, ldo);
    }
}

#else

long gpd_attention_scratch_floats(long lk, long d) { (void)lk; (void)d; return 0; }
void gpd_attention_f32(long lq, long lk, long d, float scale, const float *q, long ldq, const float *k, long ldk,
                       const float *v, long ldv, float *out, long ldo, float *scratch) {
    (void)lq; (void)lk; (void)d; (void)scale; (void)q; (void)ldq; (void)k; (void)ldk; (void)v; (void)ldv; (void)out; (void)ldo; (void)scratch;
}

#endif
