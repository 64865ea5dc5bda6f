// The one matrix product the engine computes itself instead of through OpenBLAS: BF16 inputs, F32
// sums, on the AMX tile units of Intel Xeons from the 4th generation on, or else on AVX512-BF16
// vectors (AMD Zen 4 and later, Intel Cooper Lake); Swift has no intrinsics for either. Used for
// inference only, where the caller asks for it (GEMM.withArithmetic in Tensors).
// Beside it, AVX-512 code that the Haswell-targeted Swift build cannot emit, used wherever the CPU
// has AVX-512: loops for an exponential row and GELU (forward and backward), one head's F32 attention
// without a graph, and the direct stride-1 3D convolution of inference (conv3d.c).
// Docs: docs/benchmarks.md, "BF16 products on AMX", "Exponentials 16 lanes wide wherever the CPU
// has AVX-512", "Attention in one kernel" and "Direct convolution".
#ifndef GPD_CKERNELS_H
#define GPD_CKERNELS_H

#include <stdint.h>

/// 1 when this CPU and kernel let the process use AMX BF16 tiles: cpuid reports AMX-TILE,
/// AMX-BF16, AVX-512 F/BW and AVX512-BF16, the OS saves the tile state, and Linux granted the
/// per-process permission to use it (requested once, here). 0 otherwise.
int gpd_amx_bf16_available(void);

/// 1 when this CPU has AVX-512 F, BW and VL and AVX512-BF16 (VDPBF16PS) and the OS saves the ZMM
/// state; 0 otherwise. Independent of the tiles: a CPU with AMX has these too.
int gpd_avx512_bf16_available(void);

/// 1 when either of the two is: gpd_bf16_gemm_packed may be called.
int gpd_bf16_available(void);

/// 1 when cpuid's vendor string is "AuthenticAMD". The engine runs BF16 products on AVX512-BF16
/// vectors only there: on AMD Zen 4 they ran at twice OpenBLAS's F32 rate, on an Intel Xeon without
/// AMX at half of it (docs/benchmarks.md, "BF16 products on AVX512-BF16 vectors").
int gpd_cpu_is_amd(void);

/// Elements (uint16) a packed right operand of op(B) [K, N] takes.
long gpd_bf16_packed_count(long n, long k);

/// Packs op(B) [K, N] into `out` (gpd_bf16_packed_count(n, k) elements), rounded to BF16 (to
/// nearest, ties to even; NaN stays NaN), in the tile layout gpd_bf16_gemm_packed reads, zero-padded.
/// op(B) = Bᵀ with B stored [N, K] (row stride ldb) when transB != 0, else B stored [K, N].
void gpd_bf16_pack(int transB, long n, long k, const float *b, long ldb, uint16_t *out);

/// C[M,N] = alpha · A[M,K] · op(B) + beta · C, row-major, A rounded to BF16 as it is read and the
/// products summed in F32; `packed` is op(B) from gpd_bf16_pack with the same n and k. beta == 0
/// ignores C's old contents. On the tiles where gpd_amx_bf16_available() returns 1, else on vectors.
/// Call only when gpd_bf16_available() returned 1. Returns 0, or -1 when its scratch memory could not
/// be allocated (C is then untouched).
int gpd_bf16_gemm_packed(long m, long n, long k, float alpha, const float *a, long lda,
                         const uint16_t *packed, float beta, float *c, long ldc);

/// gpd_bf16_gemm_packed on AVX512-BF16 vectors whatever the CPU's tiles (so that a machine with
/// tiles tests both kernels). Call only when gpd_avx512_bf16_available() returned 1.
int gpd_bf16_gemm_packed_vectors(long m, long n, long k, float alpha, const float *a, long lda,
                                 const uint16_t *packed, float beta, float *c, long ldc);

/// 1 when this CPU has AVX-512 F and BW and the OS saves the ZMM and opmask state; 0 otherwise.
int gpd_avx512_available(void);

/// In place: row[i] ← e^(scale · (row[i] − max(row))), scale > 0, 16 lanes at a time (the
/// exponential of Kernels.fastExp in Tensors); returns the sum. Attention's softmax without a graph
/// (inference): on the BF16 path its scores' scale is applied here, so that their product is stored
/// straight from the tiles; on the F32 path the scores come scaled and scale is 1. Call only when
/// gpd_avx512_available() returned 1 (gpd_bf16_available() implies it).
float gpd_exp_row_shifted(float *row, long n, float scale);

/// y = GELU(x) (tanh approximation, Kernels.gelu's formula in Tensors), 16 lanes at a time: the FFN
/// activation's forward (Tensor.geluWide). Call only when gpd_avx512_available() returned 1.
void gpd_gelu16(const float *x, float *y, long n);

/// dx = dy · GELU′(x) (the derivative of gpd_gelu16's function, Kernels.geluBackward's formula in
/// Tensors), 16 lanes at a time: the FFN activation's backward. Call only when gpd_avx512_available()
/// returned 1.
void gpd_gelu16_backward(const float *x, const float *dy, float *dx, long n);

/// Floats of scratch gpd_attention_f32 needs for `lk` keys of head dimension `d`.
long gpd_attention_scratch_floats(long lk, long d);

/// One head's attention, F32: out[i] = Σ_j softmax_j(scale · q_i · k_j) · v_j for the lq rows of q
/// (row stride ldq), against lk ≥ 1 keys and values (strides ldk, ldv); rows of d values, d a
/// multiple of 32; scale > 0. out has row stride ldo. `scratch`: gpd_attention_scratch_floats(lk, d)
/// floats, 64-byte aligned, owned by the calling thread. Call only when gpd_avx512_available()
/// returned 1 (attention.c says how it works).
void gpd_attention_f32(long lq, long lk, long d, float scale, const float *q, long ldq, const float *k, long ldk,
                       const float *v, long ldv, float *out, long ldo, float *scratch);

/// Direct 3D convolution, stride 1 (conv3d.c says how it works). Floats of the zero-padded input
/// copy (with 32 floats of slack at the end, read and never used) and of the arranged weights.
long gpd_conv3d_padded_floats(long cin, long fi, long hi, long wi, long pf0, long pf1, long ph0, long ph1, long pw0, long pw1);
long gpd_conv3d_weight_floats(long cout, long cin, long kf, long kh, long kw);

/// Copies x [cin, fi, hi, wi] into `padded` with (before, after) zero padding per axis.
void gpd_conv3d_pad(long cin, long fi, long hi, long wi, long pf0, long pf1, long ph0, long ph1, long pw0, long pw1,
                    const float *x, float *padded);

/// Copies w [cout, cin, kf, kh, kw] into `arranged` in the layout gpd_conv3d_rows reads.
void gpd_conv3d_arrange(long cout, long cin, long kf, long kh, long kw, const float *w, float *arranged);

/// y[co, frame, :, :] for the output channels 8·block … 8·block + 7 (those below cout) of one output
/// frame: the stride-1 cross-correlation of the padded input (fp × hp × wp per channel) with the
/// arranged weights, plus bias[co] (bias may be NULL). y is [cout, fo, ho, wo]. Call only when
/// gpd_avx512_available() returned 1.
void gpd_conv3d_rows(long cin, long fp, long hp, long wp, const float *padded, long cout, long kf, long kh, long kw,
                     const float *arranged, const float *bias, long fo, long ho, long wo, long frame, long block, float *y);

#endif
