// Direct 3D convolution, stride 1, F32, on AVX-512 (contract: include/CKernels.h).
//
// Why not im2col + OpenBLAS: a VAE's convolutions have few output channels (3 to 32 in the demo
// VAEs), so the product behind im2col is short and wide — [Cout, Cin·27] by [Cin·27, positions] —
// and OpenBLAS packs the whole column matrix for only Cout rows of the other operand: writing the
// column matrix and packing it cost about as much as the arithmetic (docs/benchmarks.md, "Direct
// convolution").
//
// Here the input is copied once, zero-padded, and the output is computed in tiles of 8 output
// channels by 2 segments of 16 consecutive output positions along the width (16 sums in registers).
// Per input channel and kernel tap, a tile loads 16 input values for each segment straight from the
// padded input (the tap's shift is an offset) and broadcasts 8 weights, laid out beforehand so that
// the 8 channels of a tap are adjacent. A segment is a row's 16-wide piece; rows narrower than 32
// put two rows in one tile. Sums run in a fixed order (input channel, then the taps in order), so the
// result does not depend on the number of threads.
#include "CKernels.h"

#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#include <string.h>

#include "lanes.h"

#define WIDE_TARGET __attribute__((target("avx512f,avx512bw")))

long gpd_conv3d_padded_floats(long cin, long fi, long hi, long wi, long pf0, long pf1, long ph0, long ph1, long pw0, long pw1) {
    return cin * (fi + pf0 + pf1) * (hi + ph0 + ph1) * (wi + pw0 + pw1) + 32;
}

long gpd_conv3d_weight_floats(long cout, long cin, long kf, long kh, long kw) { return (cout + 7) / 8 * 8 * cin * kf * kh * kw; }

void gpd_conv3d_pad(long cin, long fi, long hi, long wi, long pf0, long pf1, long ph0, long ph1, long pw0, long pw1,
                    const float *x, float *padded) {
    long fp = fi + pf0 + pf1, hp = hi + ph0 + ph1, wp = wi + pw0 + pw1;
    memset(padded, 0, sizeof(float) * (size_t)gpd_conv3d_padded_floats(cin, fi, hi, wi, pf0, pf1, ph0, ph1, pw0, pw1));
    for (long c = 0; c < cin; c++)
        for (long f = 0; f < fi; f++)
            for (long h = 0; h < hi; h++)
                memcpy(padded + ((c * fp + f + pf0) * hp + h + ph0) * wp + pw0, x + ((c * fi + f) * hi + h) * wi, sizeof(float) * (size_t)wi);
}

void gpd_conv3d_arrange(long cout, long cin, long kf, long kh, long kw, const float *w, float *arranged) {
    // arranged[block][c][tap][8] = w[8 block + o][c][tap], 0 for a channel past cout.
    long taps = kf * kh * kw, blocks = (cout + 7) / 8;
    for (long b = 0; b < blocks; b++)
        for (long c = 0; c < cin; c++)
            for (long t = 0; t < taps; t++)
                for (long o = 0; o < 8; o++) {
                    long co = 8 * b + o;
                    arranged[((b * cin + c) * taps + t) * 8 + o] = co < cout ? w[(co * cin + c) * taps + t] : 0;
                }
}

WIDE_TARGET void gpd_conv3d_rows(long cin, long fp, long hp, long wp, const float *padded, long cout, long kf, long kh, long kw,
                                 const float *arranged, const float *bias, long fo, long ho, long wo, long frame, long block, float *y) {
    long taps = kf * kh * kw, perRow = (wo + 15) / 16, segments = ho * perRow, plane = ho * wo, volume = fo * plane;
    long channelStride = fp * hp * wp;
    const float *wb = arranged + block * cin * taps * 8;
    long coCount = cout - 8 * block < 8 ? cout - 8 * block : 8;
    for (long s = 0; s < segments; s += 2) {
        long h0 = s / perRow, w0 = (s % perRow) * 16;
        long s1 = s + 1 < segments ? s + 1 : s;   // a last lone segment is computed twice, stored once
        long h1 = s1 / perRow, w1 = (s1 % perRow) * 16;
        const float *x0 = padded + (frame * hp + h0) * wp + w0, *x1 = padded + (frame * hp + h1) * wp + w1;
        __m512 c[8][2];
#pragma clang loop unroll(full)
        for (int o = 0; o < 8; o++) { c[o][0] = _mm512_setzero_ps(); c[o][1] = _mm512_setzero_ps(); }
        const float *wt = wb;
        for (long ci = 0; ci < cin; ci++) {
            for (long a = 0; a < kf; a++)
                for (long i = 0; i < kh; i++) {
                    long off = ci * channelStride + (a * hp + i) * wp;
                    for (long j = 0; j < kw; j++, wt += 8) {
                        __m512 v0 = _mm512_loadu_ps(x0 + off + j), v1 = _mm512_loadu_ps(x1 + off + j);
#pragma clang loop unroll(full)
                        for (int o = 0; o < 8; o++) {
                            __m512 g = _mm512_set1_ps(wt[o]);
                            c[o][0] = _mm512_fmadd_ps(g, v0, c[o][0]);
                            c[o][1] = _mm512_fmadd_ps(g, v1, c[o][1]);
                        }
                    }
                }
        }
        __mmask16 m0 = firstLanes(wo - w0), m1 = firstLanes(wo - w1);
        for (long o = 0; o < coCount; o++) {
            long co = 8 * block + o;
            __m512 b = _mm512_set1_ps(bias ? bias[co] : 0.0f);
            float *row = y + co * volume + frame * plane;
            _mm512_mask_storeu_ps(row + h0 * wo + w0, m0, _mm512_add_ps(c[o][0], b));
            if (s1 != s) _mm512_mask_storeu_ps(row + h1 * wo + w1, m1, _mm512_add_ps(c[o][1], b));
        }
    }
}

#else

long gpd_conv3d_padded_floats(long cin, long fi, long hi, long wi, long pf0, long pf1, long ph0, long ph1, long pw0, long pw1) {
    (void)cin; (void)fi; (void)hi; (void)wi; (void)pf0; (void)pf1; (void)ph0; (void)ph1; (void)pw0; (void)pw1; return 0;
}
long gpd_conv3d_weight_floats(long cout, long cin, long kf, long kh, long kw) { (void)cout; (void)cin; (void)kf; (void)kh; (void)kw; return 0; }
void gpd_conv3d_pad(long cin, long fi, long hi, long wi, long pf0, long pf1, long ph0, long ph1, long pw0, long pw1,
                    const float *x, float *padded) {
    (void)cin; (void)fi; (void)hi; (void)wi; (void)pf0; (void)pf1; (void)ph0; (void)ph1; (void)pw0; (void)pw1; (void)x; (void)padded;
}
void gpd_conv3d_arrange(long cout, long cin, long kf, long kh, long kw, const float *w, float *arranged) {
    (void)cout; (void)cin; (void)kf; (void)kh; (void)kw; (void)w; (void)arranged;
}
void gpd_conv3d_rows(long cin, long fp, long hp, long wp, const float *padded, long cout, long kf, long kh, long kw,
                     const float *arranged, const float *bias, long fo, long ho, long wo, long frame, long block, float *y) {
    (void)cin; (void)fp; (void)hp; (void)wp; (void)padded; (void)cout; (void)kf; (void)kh; (void)kw;
    (void)arranged; (void)bias; (void)fo; (void)ho; (void)wo; (void)frame; (void)block; (void)y;
}

#endif
