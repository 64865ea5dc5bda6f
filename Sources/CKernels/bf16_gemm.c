// BF16 matrix products (declarations and contract: include/CKernels.h), on AMX tiles where the CPU
// has them and on AVX512-BF16 vectors elsewhere (AMD Zen 4 and later, Intel Cooper Lake; the engine
// calls the vectors on AMD CPUs only: gpd_cpu_is_amd in include/CKernels.h).
//
// Tiles. A tile register holds 16 rows of 64 bytes. TDPBF16PS multiplies a 16 × 32 BF16 tile of A by a
// 32 × 16 BF16 tile of B — B stored as 16 rows of 16 pairs (B[2r][j], B[2r+1][j]) — and adds the
// 16 × 16 F32 result into a third tile. This kernel keeps a 32 × 32 block of C in four tiles, loads
// two tiles of A (32 rows) and two of B (32 columns) per 32-deep step of K, and stores the block into
// C directly when it lies wholly inside C with alpha = 1 and beta 0 or 1 (beta = 1: the tiles start
// from C), else through a small F32 buffer where alpha, beta and the edges of C are applied. B is packed once per
// product (or once for many, by the caller); A is converted 32 rows at a time, as the block needs it.
//
// Vectors. VDPBF16PS multiplies the 16 BF16 pairs of one ZMM register by the 16 pairs of another and
// adds each lane's two products into an F32 lane — so one row of the tiles' packed B (16 columns, one
// pair of K each) is exactly one operand, and the other is a pair of one row of A broadcast to every
// lane. The kernel keeps an 8 × 32 block of C in 16 registers, and per pair of K loads two registers
// of B and broadcasts 8 pairs of A: 16 products for 10 loads, 26 of the 32 registers. (12 rows would
// need 38: the compiler hoists the broadcasts and spills sums every step, at a third to a half of the
// rate.) Same packed B, same converted A. On a Zen 4 core it runs at 190–220 GFLOP/s, 0.82–0.94 of the
// instruction's peak and twice OpenBLAS's F32 rate (docs/benchmarks.md, "BF16 products on AVX512-BF16
// vectors").
#include "CKernels.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lanes.h"

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18
#define TILE_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16,amx-tile,amx-bf16")))
#define WIDE_TARGET __attribute__((target("avx512f,avx512bw")))
#define VECTOR_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// XCR0, the state components the OS saves; 0 when the OS does not enable XSAVE (no XGETBV then).
static unsigned long long savedState(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return 0;                // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static int wide;
static pthread_once_t wideDetection = PTHREAD_ONCE_INIT;

static void detectWide(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    if (!(((b >> 16) & 1) && ((b >> 30) & 1))) return;                                // AVX-512 F and BW
    wide = (savedState() & 0xE6) == 0xE6;                   // SSE, AVX, opmask, upper ZMM state
}

int gpd_avx512_available(void) {
    pthread_once(&wideDetection, detectWide);
    return wide;
}

static int available;
static pthread_once_t detection = PTHREAD_ONCE_INIT;

static void detect(void) {
    if (!gpd_avx512_available()) return;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    int amxBF16 = (d >> 22) & 1, amxTile = (d >> 24) & 1;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return;
    int avx512bf16 = (a >> 5) & 1;
    if (!(amxBF16 && amxTile && avx512bf16)) return;
    if ((savedState() & (3ull << 17)) != (3ull << 17)) return;   // tile configuration and tile data
    // Linux hands out the 8 KB tile state only to processes that ask (kernel 5.16 on).
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return;
    available = 1;
}

int gpd_amx_bf16_available(void) {
    pthread_once(&detection, detect);
    return available;
}

static int vectors;
static pthread_once_t vectorDetection = PTHREAD_ONCE_INIT;

static void detectVectors(void) {
    if (!gpd_avx512_available()) return;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((b >> 31) & 1)) return;          // AVX-512 VL
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return;
    vectors = (a >> 5) & 1;                                                             // AVX512-BF16
}

int gpd_avx512_bf16_available(void) {
    pthread_once(&vectorDetection, detectVectors);
    return vectors;
}

int gpd_bf16_available(void) { return gpd_amx_bf16_available() || gpd_avx512_bf16_available(); }

int gpd_cpu_is_amd(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
    return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;   // "Auth" "enti" "cAMD"
}


long gpd_bf16_packed_count(long n, long k) { return roundUp(n, 32) * roundUp(k, 32); }


// Packed op(B): for each 16-column block j and each 32-deep step s of K, one 1 KB tile (512 values) —
// row r holds the pairs (B[32s + 2r][16j + t], B[32s + 2r + 1][16j + t]) for t = 0 … 15.
VECTOR_TARGET static void packTransposed(long n, long k, const float *b, long ldb, uint16_t *out) {
    // Bᵀ stored [N, K]: column 16j + t of op(B) is row 16j + t of B, 32 consecutive values per step.
    // Each is converted at once into 16 pairs; the tile is the 16 × 16 transpose of those pairs.
    long steps = roundUp(k, 32) / 32, blocks = roundUp(n, 32) / 16;
    uint32_t pairs[16][16] __attribute__((aligned(64)));
    for (long j = 0; j < blocks; j++) {
        for (long s = 0; s < steps; s++) {
            for (int t = 0; t < 16; t++) {
                long col = 16 * j + t, p = 32 * s;
                if (col >= n) { memset(pairs[t], 0, 64); continue; }
                const float *src = b + col * ldb + p;
                __m512 low = _mm512_maskz_loadu_ps(firstLanes(k - p), src);
                __m512 high = _mm512_maskz_loadu_ps(firstLanes(k - p - 16), src + 16);
                _mm512_store_si512((void *)pairs[t], (__m512i)_mm512_cvtne2ps_pbh(high, low));
            }
            uint32_t *tile = (uint32_t *)(out + (j * steps + s) * 512);
            for (int r = 0; r < 16; r++)
                for (int t = 0; t < 16; t++) tile[r * 16 + t] = pairs[t][r];
        }
    }
}

VECTOR_TARGET static void packStraight(long n, long k, const float *b, long ldb, uint16_t *out) {
    // B stored [K, N]: rows 2r and 2r + 1 of a step, 16 columns each, converted together and
    // interleaved value by value into one tile row.
    long steps = roundUp(k, 32) / 32, blocks = roundUp(n, 32) / 16;
    __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                          23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (long j = 0; j < blocks; j++) {
        __mmask16 lanes = firstLanes(n - 16 * j);
        for (long s = 0; s < steps; s++) {
            uint16_t *tile = out + (j * steps + s) * 512;
            for (int r = 0; r < 16; r++) {
                long row = 32 * s + 2 * r;
                __m512 even = row < k ? _mm512_maskz_loadu_ps(lanes, b + row * ldb + 16 * j) : _mm512_setzero_ps();
                __m512 odd = row + 1 < k ? _mm512_maskz_loadu_ps(lanes, b + (row + 1) * ldb + 16 * j) : _mm512_setzero_ps();
                __m512i both = (__m512i)_mm512_cvtne2ps_pbh(odd, even);
                _mm512_storeu_si512((void *)(tile + r * 32), _mm512_permutexvar_epi16(interleave, both));
            }
        }
    }
}

void gpd_bf16_pack(int transB, long n, long k, const float *b, long ldb, uint16_t *out) {
    if (transB) packTransposed(n, k, b, ldb, out);
    else packStraight(n, k, b, ldb, out);
}

/// Rows i0 … i0 + count − 1 of A (rows past m are zero) as BF16, `depth` values per row (zero past k).
VECTOR_TARGET static void convertRows(const float *a, long lda, long i0, long m, long k, long depth, long count, uint16_t *out) {
    for (long r = 0; r < count; r++) {
        uint16_t *dst = out + r * depth;
        if (i0 + r >= m) { memset(dst, 0, (size_t)depth * 2); continue; }
        const float *src = a + (i0 + r) * lda;
        for (long p = 0; p < depth; p += 32) {
            __m512 low = _mm512_maskz_loadu_ps(firstLanes(k - p), src + p);
            __m512 high = _mm512_maskz_loadu_ps(firstLanes(k - p - 16), src + p + 16);
            _mm512_storeu_si512((void *)(dst + p), (__m512i)_mm512_cvtne2ps_pbh(high, low));
        }
    }
}

typedef struct {
    uint8_t palette, startRow, reserved[14];
    uint16_t bytesPerRow[16];
    uint8_t rows[16];
} __attribute__((packed)) TileConfig;

TILE_TARGET static int tileProduct(long m, long n, long k, float alpha, const float *a, long lda,
                                     const uint16_t *packed, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return 0;
    long depth = roundUp(k, 32), steps = depth / 32, blocks = roundUp(n, 32) / 16;
    uint16_t *rows = aligned_alloc(64, (size_t)(32 * depth * 2));
    if (!rows) return -1;
    float block[32 * 32] __attribute__((aligned(64)));
    TileConfig config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.rows[t] = 16; config.bytesPerRow[t] = 64; }
    _tile_loadconfig(&config);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (long i0 = 0; i0 < m; i0 += 32) {
        convertRows(a, lda, i0, m, k, depth, 32, rows);
        long rowsHere = m - i0 < 32 ? m - i0 : 32;
        for (long j = 0; j < blocks; j += 2) {
            // A whole 32 × 32 block of C with alpha = 1 and beta ∈ {0, 1} (a linear layer, with or
            // without its bias in C) accumulates in place: the tiles start as zero or as C and are
            // stored straight back. Other blocks go through `block`.
            int direct = rowsHere == 32 && 16 * j + 32 <= n && alpha == 1 && (beta == 0 || beta == 1);
            float *corner = c + i0 * ldc + 16 * j;
            if (direct && beta == 1) {
                _tile_loadd(0, corner, ldc * 4);
                _tile_loadd(1, corner + 16, ldc * 4);
                _tile_loadd(2, corner + 16 * ldc, ldc * 4);
                _tile_loadd(3, corner + 16 * ldc + 16, ldc * 4);
            } else {
                _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
            }
            const uint16_t *b0 = packed + j * steps * 512, *b1 = b0 + steps * 512;
            for (long s = 0; s < steps; s++) {
                _tile_loadd(4, rows + 32 * s, depth * 2);
                _tile_loadd(5, rows + 16 * depth + 32 * s, depth * 2);
                _tile_loadd(6, b0 + s * 512, 64);
                _tile_loadd(7, b1 + s * 512, 64);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                _tile_dpbf16ps(2, 5, 6);
                _tile_dpbf16ps(3, 5, 7);
            }
            if (direct) {
                _tile_stored(0, corner, ldc * 4);
                _tile_stored(1, corner + 16, ldc * 4);
                _tile_stored(2, corner + 16 * ldc, ldc * 4);
                _tile_stored(3, corner + 16 * ldc + 16, ldc * 4);
                continue;
            }
            _tile_stored(0, block, 128);
            _tile_stored(1, block + 16, 128);
            _tile_stored(2, block + 16 * 32, 128);
            _tile_stored(3, block + 16 * 32 + 16, 128);
            for (long r = 0; r < rowsHere; r++) {
                for (int h = 0; h < 2; h++) {
                    long col = 16 * j + 16 * h;
                    __mmask16 lanes = firstLanes(n - col);
                    if (!lanes) continue;
                    float *dst = c + (i0 + r) * ldc + col;
                    __m512 v = _mm512_mul_ps(va, _mm512_load_ps(block + r * 32 + 16 * h));
                    if (beta != 0) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(lanes, dst), v);
                    _mm512_mask_storeu_ps(dst, lanes, v);
                }
            }
        }
    }
    _tile_release();
    free(rows);
    return 0;
}

/// Rows of C in one call of `vectorBlock`: 8 rows × 2 registers of 16 columns = 16 accumulators.
#define VECTOR_ROWS 8
/// Rows of A converted at a time: six blocks of 8, so each 32-column panel of B serves 48 rows while
/// it is in cache.
#define VECTOR_CHUNK 48

/// C[r, 16j … 16j + 31] (r < rows, column lanes as `lanes`) = alpha · A·B + beta · C for the 8 rows
/// of `a` (BF16, `depth` per row, zero-padded), B the two packed 16-column blocks b0 and b1.
VECTOR_TARGET static inline void vectorBlock(const uint16_t *a, long depth, const uint16_t *b0, const uint16_t *b1,
                                             long rows, __mmask16 lanes0, __mmask16 lanes1, float alpha, float beta,
                                             float *c, long ldc) {
    __m512 acc[2 * VECTOR_ROWS];
#pragma clang loop unroll(full)
    for (int r = 0; r < 2 * VECTOR_ROWS; r++) acc[r] = _mm512_setzero_ps();
    typedef int32_t __attribute__((may_alias)) Pair;   // two BF16 values of A, read as one lane
    const Pair *pairs = (const Pair *)a;
    long stride = depth / 2;
    for (long q = 0; q < depth / 2; q++) {
        __m512bh v0 = (__m512bh)_mm512_loadu_si512((const void *)(b0 + 32 * q));
        __m512bh v1 = (__m512bh)_mm512_loadu_si512((const void *)(b1 + 32 * q));
#pragma clang loop unroll(full)
        for (int r = 0; r < VECTOR_ROWS; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32(pairs[r * stride + q]);
            acc[2 * r] = _mm512_dpbf16_ps(acc[2 * r], x, v0);
            acc[2 * r + 1] = _mm512_dpbf16_ps(acc[2 * r + 1], x, v1);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma clang loop unroll(full)
    for (int r = 0; r < VECTOR_ROWS; r++) {
        if (r >= rows) break;
        float *row = c + r * ldc;
        __m512 y0 = alpha == 1 ? acc[2 * r] : _mm512_mul_ps(va, acc[2 * r]);
        __m512 y1 = alpha == 1 ? acc[2 * r + 1] : _mm512_mul_ps(va, acc[2 * r + 1]);
        if (beta != 0) {
            y0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(lanes0, row), y0);
            y1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(lanes1, row + 16), y1);
        }
        _mm512_mask_storeu_ps(row, lanes0, y0);
        _mm512_mask_storeu_ps(row + 16, lanes1, y1);
    }
}

VECTOR_TARGET int gpd_bf16_gemm_packed_vectors(long m, long n, long k, float alpha, const float *a, long lda,
                                               const uint16_t *packed, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return 0;
    long depth = roundUp(k, 32), steps = depth / 32, blocks = roundUp(n, 32) / 16;
    uint16_t *rows = aligned_alloc(64, (size_t)(VECTOR_CHUNK * depth * 2));
    if (!rows) return -1;
    for (long i0 = 0; i0 < m; i0 += VECTOR_CHUNK) {
        long here = m - i0 < VECTOR_CHUNK ? m - i0 : VECTOR_CHUNK;
        convertRows(a, lda, i0, m, k, depth, roundUp(here, VECTOR_ROWS), rows);   // rows past m come out zero
        for (long j = 0; j < blocks; j += 2) {
            const uint16_t *b0 = packed + j * steps * 512, *b1 = b0 + steps * 512;
            __mmask16 lanes0 = firstLanes(n - 16 * j), lanes1 = firstLanes(n - 16 * j - 16);
            for (long g = 0; g < here; g += VECTOR_ROWS)
                vectorBlock(rows + g * depth, depth, b0, b1, here - g, lanes0, lanes1, alpha, beta,
                            c + (i0 + g) * ldc + 16 * j, ldc);
        }
    }
    free(rows);
    return 0;
}

int gpd_bf16_gemm_packed(long m, long n, long k, float alpha, const float *a, long lda,
                         const uint16_t *packed, float beta, float *c, long ldc) {
    if (gpd_amx_bf16_available()) return tileProduct(m, n, k, alpha, a, lda, packed, beta, c, ldc);
    return gpd_bf16_gemm_packed_vectors(m, n, k, alpha, a, lda, packed, beta, c, ldc);
}

/// e^x, 16 lanes at a time: Kernels.fastExp's reduction and polynomial (Cephes-style: x = n·ln 2 + r,
/// e^r by a degree-7 polynomial; within 1.2e-7 relative on [-87, 88]), with 2^n applied by VSCALEFPS,
/// which also gives 0 far below and +inf far above without the bit arithmetic and blends a plain
/// AVX-512 version needs (a third fewer instructions; 0.36 against 0.51 ns per value in a softmax row).
WIDE_TARGET static inline __m512 exp16(__m512 x) {
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.442695041f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), xc));
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    return _mm512_scalef_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f))), n);
}

WIDE_TARGET float gpd_exp_row_shifted(float *row, long n, float scale) {
    // Whole vectors unmasked; the tail (if any) masked.
    long whole = n & ~15L;
    __m512 mx = _mm512_set1_ps(-__builtin_inff());
    for (long i = 0; i < whole; i += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(row + i));
    if (whole < n) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, firstLanes(n - whole), row + whole));
    // scale · (v − max) as one FMA: v · scale − max · scale.
    __m512 s = _mm512_set1_ps(scale), shift = _mm512_set1_ps(-_mm512_reduce_max_ps(mx) * scale), sum = _mm512_setzero_ps();
    for (long i = 0; i < whole; i += 16) {
        __m512 e = exp16(_mm512_fmadd_ps(_mm512_loadu_ps(row + i), s, shift));
        _mm512_storeu_ps(row + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (whole < n) {
        __mmask16 lanes = firstLanes(n - whole);
        __m512 e = exp16(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, row + whole), s, shift));
        _mm512_mask_storeu_ps(row + whole, lanes, e);
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(lanes, e));
    }
    return _mm512_reduce_add_ps(sum);
}

WIDE_TARGET void gpd_gelu16(const float *x, float *y, long n) {
    // v / (1 + e^(−2u)), u = √(2/π)(v + 0.044715 v³): Kernels.gelu's formula, 16 lanes at a time.
    const __m512 c = _mm512_set1_ps(0.7978845608028654f), cubic = _mm512_set1_ps(0.044715f), one = _mm512_set1_ps(1.0f);
    for (long i = 0; i < n; i += 16) {
        __mmask16 lanes = firstLanes(n - i);
        __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
        __m512 u = _mm512_mul_ps(c, _mm512_fmadd_ps(_mm512_mul_ps(cubic, v), _mm512_mul_ps(v, v), v));
        __m512 e = exp16(_mm512_mul_ps(_mm512_set1_ps(-2.0f), u));
        _mm512_mask_storeu_ps(y + i, lanes, _mm512_div_ps(v, _mm512_add_ps(one, e)));
    }
}

WIDE_TARGET void gpd_gelu16_backward(const float *x, const float *dy, float *dx, long n) {
    // dy · (s + v · (1 − t²)/2 · du), s = 1 / (1 + e^(−2u)) = (1 + tanh u)/2, t = tanh u = 2s − 1,
    // du = √(2/π)(1 + 3 · 0.044715 v²): Kernels.geluBackward's formula, 16 lanes at a time.
    const __m512 c = _mm512_set1_ps(0.7978845608028654f), cubic = _mm512_set1_ps(0.044715f), one = _mm512_set1_ps(1.0f);
    const __m512 slope = _mm512_set1_ps(3 * 0.044715f), half = _mm512_set1_ps(0.5f), two = _mm512_set1_ps(2.0f);
    for (long i = 0; i < n; i += 16) {
        __mmask16 lanes = firstLanes(n - i);
        __m512 v = _mm512_maskz_loadu_ps(lanes, x + i), v2 = _mm512_mul_ps(v, v);
        __m512 u = _mm512_mul_ps(c, _mm512_fmadd_ps(_mm512_mul_ps(cubic, v), v2, v));
        __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_mul_ps(_mm512_set1_ps(-2.0f), u))));
        __m512 t = _mm512_fmsub_ps(two, s, one);
        __m512 du = _mm512_mul_ps(c, _mm512_fmadd_ps(slope, v2, one));
        __m512 grad = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(v, half), _mm512_fnmadd_ps(t, t, one)), du, s);
        _mm512_mask_storeu_ps(dx + i, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, dy + i), grad));
    }
}

#else

int gpd_amx_bf16_available(void) { return 0; }
int gpd_avx512_bf16_available(void) { return 0; }
int gpd_bf16_available(void) { return 0; }
int gpd_cpu_is_amd(void) { return 0; }
int gpd_avx512_available(void) { return 0; }
void gpd_gelu16(const float *x, float *y, long n) { (void)x; (void)y; (void)n; }
void gpd_gelu16_backward(const float *x, const float *dy, float *dx, long n) { (void)x; (void)dy; (void)dx; (void)n; }
float gpd_exp_row_shifted(float *row, long n, float scale) { (void)row; (void)n; (void)scale; return 0; }
long gpd_bf16_packed_count(long n, long k) { (void)n; (void)k; return 0; }
void gpd_bf16_pack(int transB, long n, long k, const float *b, long ldb, uint16_t *out) {
    (void)transB; (void)n; (void)k; (void)b; (void)ldb; (void)out;
}
int gpd_bf16_gemm_packed(long m, long n, long k, float alpha, const float *a, long lda,
                         const uint16_t *packed, float beta, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)packed; (void)beta; (void)c; (void)ldc;
    return -1;
}
int gpd_bf16_gemm_packed_vectors(long m, long n, long k, float alpha, const float *a, long lda,
                                 const uint16_t *packed, float beta, float *c, long ldc) {
    return gpd_bf16_gemm_packed(m, n, k, alpha, a, lda, packed, beta, c, ldc);
}

#endif
