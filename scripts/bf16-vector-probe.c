// The BF16 vector product (Sources/CKernels/bf16_gemm.c, gpd_bf16_gemm_packed_vectors) against
// OpenBLAS's F32 sgemm on one core, and the instructions' own peaks: how many VDPBF16PS, how many
// F32 FMAs and, where the CPU has AVX512-FP16, how many FP16 FMAs (all 512 bits wide) one core
// retires per second with no memory traffic. Both products compute
// x·Wᵀ ([M, K] by [N, K]) into the same C; each is timed as the best of `calls` calls, interleaved
// call by call, so a machine whose speed drifts slows them alike. Packing W is timed apart (a linear
// layer packs its weight on every call; attention packs each head's K and V once for all its blocks).
//
//   clang -O2 -ISources/CKernels/include scripts/bf16-vector-probe.c Sources/CKernels/bf16_gemm.c \
//      -o /tmp/bf16-vector-probe -lopenblas -lpthread
//
// clang, as SwiftPM builds the package's C: the loops rely on `#pragma clang loop unroll(full)` to keep
// their sums in registers, and gcc (Debian's `cc`) ignores it and keeps them in memory, which
// measures a store and a load per instruction instead of the instruction.
//   OPENBLAS_CORETYPE=Cooperlake /tmp/bf16-vector-probe 1152 128 128 [calls]
//
// Only on a CPU with AVX512-BF16 (`gpd --version` says). Set OPENBLAS_CORETYPE to the core `gpd
// --version` names (the probe does not choose one). Prints GFLOP/s; docs/benchmarks.md, "BF16 products
// on AVX512-BF16 vectors", has the results.
#include "CKernels.h"
#include <cblas.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

// 12 independent chains of `n` instructions each (enough to cover the latency, no loads): VDPBF16PS
// on pairs of 1.0 when `bf16`, else F32 FMAs. The empty asm keeps the compiler from folding the chains.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static float chains(long n, int bf16) {
    __m512 acc[12];
    for (int r = 0; r < 12; r++) acc[r] = _mm512_setzero_ps();
    __m512 x = (__m512)_mm512_set1_epi32(0x3f803f80), y = x;   // as F32 about 1.0; as BF16 pairs of 1.0
    for (long i = 0; i < n; i++) {
#pragma clang loop unroll(full)
        for (int r = 0; r < 12; r++)
            acc[r] = bf16 ? _mm512_dpbf16_ps(acc[r], (__m512bh)x, (__m512bh)y) : _mm512_fmadd_ps(acc[r], x, y);
        __asm__ volatile("" : "+v"(x));
    }
    float s = 0;
    for (int r = 0; r < 12; r++) s += _mm512_reduce_add_ps(acc[r]);
    return s;
}

// The same 12 chains of FP16 FMAs, 32 lanes each: acc += 1 · 1 (the sums stop growing at 2048, where
// adding 1 no longer changes an FP16 value; no infinities, no subnormals).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512fp16"))) static float halfChains(long n) {
    __m512h acc[12];
    for (int r = 0; r < 12; r++) acc[r] = _mm512_setzero_ph();
    __m512h x = _mm512_set1_ph((_Float16)1.0f), y = x;
    for (long i = 0; i < n; i++) {
#pragma clang loop unroll(full)
        for (int r = 0; r < 12; r++) acc[r] = _mm512_fmadd_ph(x, y, acc[r]);
        __asm__ volatile("" : "+v"(x));
    }
    float s = 0;
    for (int r = 0; r < 12; r++) s += (float)_mm512_reduce_add_ph(acc[r]);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s M N K [calls]\n", argv[0]); return 2; }
    if (!gpd_avx512_bf16_available()) { fprintf(stderr, "this CPU has no AVX512-BF16\n"); return 1; }
    long m = atol(argv[1]), n = atol(argv[2]), k = atol(argv[3]);
    int calls = argc > 4 ? atoi(argv[4]) : 20;
    openblas_set_num_threads(1);

    long chain = 50000000;
    double t = now();
    volatile float sink = chains(chain, 1);
    double dot = now() - t;
    t = now();
    sink += chains(chain, 0);
    double fma = now() - t;
    (void)sink;
    printf("peak, one core: VDPBF16PS %.1f GFLOP/s (%.2f G/s), FMA %.1f GFLOP/s (%.2f G/s)",
           12.0 * chain * 64 / dot / 1e9, 12.0 * chain / dot / 1e9, 12.0 * chain * 32 / fma / 1e9, 12.0 * chain / fma / 1e9);
    if (__builtin_cpu_supports("avx512fp16")) {
        t = now();
        sink += halfChains(chain);
        double half = now() - t;
        printf(", FP16 FMA %.1f GFLOP/s (%.2f G/s)", 12.0 * chain * 64 / half / 1e9, 12.0 * chain / half / 1e9);
    }
    printf("\n");

    float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k), *c = malloc(sizeof(float) * m * n);
    uint16_t *packed = malloc(sizeof(uint16_t) * gpd_bf16_packed_count(n, k));
    if (!a || !w || !c || !packed) { fprintf(stderr, "out of memory\n"); return 1; }
    srand(1);
    for (long i = 0; i < m * k; i++) a[i] = (float)(rand() % 1000) / 1000 - 0.5f;
    for (long i = 0; i < n * k; i++) w[i] = (float)(rand() % 1000) / 1000 - 0.5f;
    double vectors = 1e9, pack = 1e9, sgemm = 1e9;
    for (int i = 0; i < calls; i++) {
        t = now();
        gpd_bf16_pack(1, n, k, w, k, packed);
        if (now() - t < pack) pack = now() - t;
        t = now();
        gpd_bf16_gemm_packed_vectors(m, n, k, 1, a, k, packed, 0, c, n);
        if (now() - t < vectors) vectors = now() - t;
        t = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1, a, (int)k, w, (int)k, 0, c, (int)n);
        if (now() - t < sgemm) sgemm = now() - t;
    }
    double flops = 2.0 * m * n * k;
    printf("%ld×%ld→%ld, one core: BF16 vectors %.1f GFLOP/s (packing W apart: %.1f %% of it), sgemm %.1f GFLOP/s\n",
           m, k, n, flops / vectors / 1e9, 100 * pack / vectors, flops / sgemm / 1e9);
    return 0;
}
