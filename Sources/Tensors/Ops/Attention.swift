// Multi-head scaled dot-product attention and Wan's interleaved 3D RoPE.
// Layout [B, L, H, d] (tokens, then heads): Wan's q/k/v projections produce [B, L, H·d] directly,
// so heads are addressed in place through sgemm's leading dimension, with no transposes.
// Training keeps the attention probabilities P for the backward (O(L²) per head); inference (no
// graph) runs blocks of query rows with their scores in cache and keeps nothing — in F32 on AVX-512,
// each head in one C kernel (Sources/CKernels/attention.c).

import CKernels

extension Tensor {
    /// softmax(q·kᵀ·scale)·v per (batch, head). q: [B, Lq, H, d], k, v: [B, Lk, H, d] → [B, Lq, H, d]
    public static func attention(q: Tensor, k: Tensor, v: Tensor, scale: Float? = nil) -> Tensor {
        precondition(q.rank == 4 && k.rank == 4 && v.rank == 4, "attention: q \(q.shape), k \(k.shape), v \(v.shape) must be [B, L, H, d]")
        let (b, lq, h, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let lk = k.shape[1]
        precondition(k.shape == [b, lk, h, d] && v.shape == [b, lk, h, d],
                     "attention: k \(k.shape) and v \(v.shape) must be [\(b), Lk, \(h), \(d)] to match q \(q.shape)")
        let sc = scale ?? 1 / Float(d).squareRoot()
        let ld = h * d
        if !needsGrad(q, k, v) { return attentionBlocked(q: q, k: k, v: v, scale: sc) }
        var probs = Kernels.unfilled(b * h * lq * lk)   // written by β = 0 GEMMs, like `out`
        var out = Kernels.unfilled(q.count)
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        probs.withUnsafeMutableBufferPointer { pp in out.withUnsafeMutableBufferPointer { po in
            // (batch, head) pairs in parallel, each with single-threaded GEMMs.
            GEMM.singleThreaded { Parallel.chunks(b * h, grain: headGrain(b * h, lq, lk, d)) { range in for bh in range {
                    let (bi, hi) = (bh / h, bh % h)
                    let qh = pq.base + bi * lq * ld + hi * d
                    let kh = pk.base + bi * lk * ld + hi * d
                    let vh = pv.base + bi * lk * ld + hi * d
                    let p = pp.base + (bi * h + hi) * lq * lk
                    // S = scale·Q·Kᵀ: [Lq, Lk]
                    GEMM.sgemm(transA: false, transB: true, m: lq, n: lk, k: d, alpha: sc, a: qh, lda: ld, b: kh, ldb: ld, c: p, ldc: lk)
                    Softmax.rows(p, rows: lq, cols: lk, ld: lk)
                    // O = P·V: [Lq, d] written into the head's columns.
                    GEMM.sgemm(transA: false, transB: false, m: lq, n: d, k: lk, a: p, lda: lk, b: vh, ldb: ld,
                               c: po.base + bi * lq * ld + hi * d, ldc: ld)
            } } }
        } } } } }
        let result = Tensor(shape: q.shape, data: out)
        if needsGrad(q, k, v) {
            let (qd, kd, vd) = (q.data, k.data, v.data)
            result.record("attention", [q, k, v]) { g in
                // Every entry of these is written by a β = 0 GEMM (each head its own columns) before use.
                var gq = Kernels.unfilled(qd.count)
                var gk = Kernels.unfilled(kd.count)
                var gv = Kernels.unfilled(vd.count)
                var dp = Kernels.unfilled(b * h * lq * lk)   // one dS scratch per (batch, head)
                g.withUnsafeBufferPointer { pg in qd.withUnsafeBufferPointer { pq in kd.withUnsafeBufferPointer { pk in
                vd.withUnsafeBufferPointer { pv in probs.withUnsafeBufferPointer { pp in
                gq.withUnsafeMutableBufferPointer { dq in gk.withUnsafeMutableBufferPointer { dk in
                gv.withUnsafeMutableBufferPointer { dv in dp.withUnsafeMutableBufferPointer { ds in
                    GEMM.singleThreaded { Parallel.chunks(b * h, grain: headGrain(b * h, lq, lk, d)) { range in for bh in range {
                            let (bi, hi) = (bh / h, bh % h)
                            let ds = ds.base + bh * lq * lk
                            let qo = bi * lq * ld + hi * d, ko = bi * lk * ld + hi * d
                            let p = pp.base + (bi * h + hi) * lq * lk
                            let go = pg.base + qo
                            // dV = Pᵀ·dO
                            GEMM.sgemm(transA: true, transB: false, m: lk, n: d, k: lq, a: p, lda: lk, b: go, ldb: ld,
                                       c: dv.base + ko, ldc: ld)
                            // dP = dO·Vᵀ, then dS = P∘(dP − rowsum(dP∘P))
                            GEMM.sgemm(transA: false, transB: true, m: lq, n: lk, k: d, a: go, lda: ld, b: pv.base + ko, ldb: ld,
                                       c: ds, ldc: lk)
                            Softmax.backwardRows(y: p, dy: ds, dx: ds, rows: lq, cols: lk, ld: lk)
                            // dQ = scale·dS·K, dK = scale·dSᵀ·Q
                            GEMM.sgemm(transA: false, transB: false, m: lq, n: d, k: lk, alpha: sc, a: ds, lda: lk,
                                       b: pk.base + ko, ldb: ld, c: dq.base + qo, ldc: ld)
                            GEMM.sgemm(transA: true, transB: false, m: lk, n: d, k: lq, alpha: sc, a: ds, lda: lk,
                                       b: pq.base + qo, ldb: ld, c: dk.base + ko, ldc: ld)
                    } } }
                } } } } } } } } }
                return [gq, gk, gv]
            }
        }
        return result
    }

    /// Floats of scores per block of the inference path (256 KB: a block stays in L2); short
    /// sequences fit in one block.
    static let attentionBlockFloats = 1 << 16

    /// (batch, head) pairs per parallel chunk: all of them on this thread when the whole attention is
    /// under `headsOnOneThread` multiply-adds per product, one per chunk otherwise.
    static func headGrain(_ pairs: Int, _ lq: Int, _ lk: Int, _ d: Int) -> Int {
        pairs * lq * lk * d < headsOnOneThread ? max(pairs, 1) : 1
    }

    /// A quarter of `GEMM.singleThreadWork`: the heads go over the cores through the engine's own
    /// workers. The demo teacher's sampling (8 pairs of 80 × 80 × 32, 1.6 M) splits; a single head of
    /// a few dozen tokens does not.
    static let headsOnOneThread = 1 << 19

    /// Attention without a graph: per (batch, head), blocks of query rows — scores, softmax and the
    /// product with V while the block's scores are in cache — so memory is O(rows·Lk) per thread
    /// instead of the whole [B, H, Lq, Lk] probability tensor training keeps for its backward.
    static func attentionBlocked(q: Tensor, k: Tensor, v: Tensor, scale sc: Float) -> Tensor {
        let (b, lq, h, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let lk = k.shape[1], ld = h * d
        let bf16 = GEMM.bf16Active && sc > 0   // the BF16 path scales in the exponential, after the row maximum
        let wide = GEMM.avx512Available   // 16-lane exponentials (the BF16 units imply AVX-512)
        // F32 on AVX-512 with whole 32s of head dimension (every Wan model here): one C kernel per head.
        if !bf16 && wide && d % 32 == 0 && sc > 0 && lk > 0 && lq > 0 {
            return attentionOneKernel(q: q, k: k, v: v, scale: sc)
        }
        // The tile product takes rows 32 at a time: a block of whole 32s leaves no part-filled tiles
        // but the last (576 tokens: 6 blocks of 96 rather than 5 of 113 and an 11-row tail; the
        // vector product's 48-row chunks divide 96 too).
        let fitting = max(16, attentionBlockFloats / max(lk, 1))
        let rowsPerBlock = max(1, min(lq, bf16 ? max(32, fitting / 32 * 32) : fitting))
        var out = Kernels.unfilled(q.count)
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        out.withUnsafeMutableBufferPointer { po in
            GEMM.singleThreaded { Parallel.chunks(b * h, grain: headGrain(b * h, lq, lk, d)) { range in
                var scores = Kernels.unfilled(rowsPerBlock * lk), inverse = Kernels.unfilled(rowsPerBlock)
                scores.withUnsafeMutableBufferPointer { ps in inverse.withUnsafeMutableBufferPointer { pn in
                    for bh in range {
                        let (bi, hi) = (bh / h, bh % h)
                        let kh = pk.base + bi * lk * ld + hi * d
                        let vh = pv.base + bi * lk * ld + hi * d
                        // BF16 products: this head's K and V packed once for all its blocks.
                        let packedK = bf16 ? BF16Operand(transB: true, n: lk, k: d, b: kh, ldb: ld) : nil
                        let packedV = bf16 ? BF16Operand(transB: false, n: d, k: lk, b: vh, ldb: ld) : nil
                        for r0 in stride(from: 0, to: lq, by: rowsPerBlock) {
                            let m = min(rowsPerBlock, lq - r0)
                            let qh = pq.base + (bi * lq + r0) * ld + hi * d
                            // BF16: raw scores Q·Kᵀ (α = 1: stored as summed), scaled in the exponential.
                            if let packedK { packedK.product(m: m, a: qh, lda: ld, c: ps.base, ldc: lk) }
                            else { GEMM.sgemm(transA: false, transB: true, m: m, n: lk, k: d, alpha: sc, a: qh, lda: ld, b: kh, ldb: ld,
                                              c: ps.base, ldc: lk) }
                            // exp(s − max) then (P·V) / Σ: the division touches m × d outputs, not m × L scores.
                            // The F32 path's scores come scaled, the BF16 path's are scaled in the exponential.
                            for i in 0..<m {
                                let sum = wide ? gpd_exp_row_shifted(ps.base + i * lk, lk, bf16 ? sc : 1) : Softmax.expRow(ps.base + i * lk, lk)
                                pn[i] = sum > 0 ? 1 / sum : 0   // no keys: 0
                            }
                            let oh = po.base + (bi * lq + r0) * ld + hi * d
                            if let packedV { packedV.product(m: m, a: ps.base, lda: lk, c: oh, ldc: ld) }
                            else { GEMM.sgemm(transA: false, transB: false, m: m, n: d, k: lk, a: ps.base, lda: lk, b: vh, ldb: ld, c: oh, ldc: ld) }
                            for i in 0..<m { let row = oh + i * ld, inv = pn[i]; for j in 0..<d { row[j] *= inv } }
                        }
                    }
                } }
            } }
        } } } }
        return Tensor(shape: q.shape, data: out)
    }

    /// `attentionBlocked` in F32 on AVX-512 with a head dimension that is a multiple of 32: each
    /// (batch, head) pair in one C kernel (`gpd_attention_f32`: scores, softmax and the product with V
    /// per 8 query rows, no OpenBLAS packing), the pairs over the cores.
    static func attentionOneKernel(q: Tensor, k: Tensor, v: Tensor, scale sc: Float) -> Tensor {
        let (b, lq, h, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let lk = k.shape[1], ld = h * d
        // Counted as the two products per head it replaces (benchmarks' achieved GFLOP/s).
        FLOPCounter.current?.add(4 * b * h * lq * lk * d)
        var out = Kernels.unfilled(q.count)
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        out.withUnsafeMutableBufferPointer { po in
            Parallel.chunks(b * h, grain: headGrain(b * h, lq, lk, d)) { range in
                let floats = gpd_attention_scratch_floats(lk, d)
                let scratch = UnsafeMutableRawPointer.allocate(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64)
                defer { scratch.deallocate() }
                let ps = scratch.bindMemory(to: Float.self, capacity: floats)
                for bh in range {
                    let (bi, hi) = (bh / h, bh % h)
                    gpd_attention_f32(lq, lk, d, sc, pq.base + bi * lq * ld + hi * d, ld, pk.base + bi * lk * ld + hi * d, ld,
                                      pv.base + bi * lk * ld + hi * d, ld, po.base + bi * lq * ld + hi * d, ld, ps)
                }
            }
        } } } }
        return Tensor(shape: q.shape, data: out)
    }

    /// Interleaved rotary embedding: for each head, pairs (x[2m], x[2m+1]) rotate by angle φ[l, m].
    /// x: [B, L, H, d]; cos, sin: [L, d/2] (constants) → [B, L, H, d]
    public func rope(cos: Tensor, sin: Tensor) -> Tensor {
        precondition(rank == 4, "rope: input \(shape) must be [B, L, H, d]")
        let (b, l, h, d) = (shape[0], shape[1], shape[2], shape[3])
        precondition(d % 2 == 0, "rope: head dim \(d) must be even")
        precondition(cos.shape == [l, d / 2] && sin.shape == [l, d / 2],
                     "rope: cos \(cos.shape) / sin \(sin.shape) must be [\(l), \(d / 2)] for input \(shape)")
        let (c, s) = (cos.data, sin.data)
        let out = Tensor(shape: shape, data: Tensor.rotatePairs(data, b: b, l: l, h: h, d: d, cos: c, sin: s, sign: 1))
        if Tensor.needsGrad(self) {
            // The rotation is orthogonal: its adjoint rotates by −φ.
            out.record("rope", [self]) { g in [Tensor.rotatePairs(g, b: b, l: l, h: h, d: d, cos: c, sin: s, sign: -1)] }
        }
        return out
    }

    static func rotatePairs(_ x: [Float], b: Int, l: Int, h: Int, d: Int, cos: [Float], sin: [Float], sign: Float) -> [Float] {
        let half = d / 2
        return x.withUnsafeBufferPointer { px in cos.withUnsafeBufferPointer { pc in sin.withUnsafeBufferPointer { ps in
            Kernels.buffer(x.count) { py in
                // Token rows (b·l of them, h·d values each) over the cores.
                Parallel.rows(b * l, width: h * d) { rows in
                    for row in rows {
                        let li = row % l
                        rotateRow(px.base + row * h * d, into: py.base + row * h * d, h: h, d: d,
                                  cos: pc.base + li * half, sin: ps.base + li * half, sign: sign)
                    }
                }
            }
        } } }
    }

    /// One token's h heads of d values: pairs (x[2m], x[2m+1]) of each head rotate by the angle whose
    /// cosine and sine are cos[m], sign·sin[m].
    @inline(__always)
    static func rotateRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, h: Int, d: Int,
                          cos cr: UnsafePointer<Float>, sin sr: UnsafePointer<Float>, sign: Float) {
        for hi in 0..<h {
            let xi = x + hi * d, yi = y + hi * d
            for m in 0..<(d / 2) {
                let (a0, a1) = (xi[2 * m], xi[2 * m + 1])
                let (cm, sm) = (cr[m], sign * sr[m])
                yi[2 * m] = a0 * cm - a1 * sm
                yi[2 * m + 1] = a0 * sm + a1 * cm
            }
        }
    }

    /// rmsNorm(weight:eps:) over the last axis of [B, L, H·d], then, split into H heads, rope(cos:sin:):
    /// the self-attention's queries and keys in one op → [B, L, H, d]. Values and gradients are the
    /// composition's, the same arithmetic in the same order (bit-identical); it saves the normalised
    /// tensor between the two — one [B, L, H·d] buffer written and read each way.
    public func rmsNormRope(weight: Tensor, eps: Float, heads h: Int, cos: Tensor, sin: Tensor) -> Tensor {
        precondition(rank == 3 && shape[2] % h == 0, "rmsNormRope: input \(shape) must be [B, L, \(h)·d]")
        let (b, l, width) = (shape[0], shape[1], shape[2])
        let d = width / h, half = d / 2, rows = b * l
        precondition(weight.shape == [width], "rmsNormRope: weight \(weight.shape) must be [\(width)] for input \(shape)")
        precondition(d % 2 == 0, "rmsNormRope: head dim \(d) must be even")
        precondition(cos.shape == [l, half] && sin.shape == [l, half],
                     "rmsNormRope: cos \(cos.shape) / sin \(sin.shape) must be [\(l), \(half)] for input \(shape)")
        let (xd, w, c, sn) = (data, weight.data, cos.data, sin.data)
        var rinv = [Float](repeating: 0, count: rows)
        let y = Kernels.buffer(count) { py in
            xd.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in c.withUnsafeBufferPointer { pc in
            sn.withUnsafeBufferPointer { ps in rinv.withUnsafeMutableBufferPointer { rinv in
                Parallel.rows(rows, width: width) { range in
                    let n = UnsafeMutablePointer<Float>.allocate(capacity: width)
                    defer { n.deallocate() }
                    for r in range {
                        let x = px.base + r * width
                        let ri = NormRow.rmsInverse(x, width, eps: eps)
                        rinv[r] = ri
                        for j in 0..<width { n[j] = x[j] * ri * pw[j] }
                        let li = r % l
                        Tensor.rotateRow(n, into: py.base + r * width, h: h, d: d, cos: pc.base + li * half, sin: ps.base + li * half, sign: 1)
                    }
                }
            } } } } }
        }
        let out = Tensor(shape: [b, l, h, d], data: y)
        if Tensor.needsGrad(self, weight) {
            let rx = requiresGrad
            out.record("rms_norm_rope", [self, weight]) { g in
                // dn = the rotation's adjoint (by −φ) of g, then rmsNorm's backward of dn, row by row;
                // dw summed per block of rows in a fixed order.
                var gx = rx ? Kernels.unfilled(g.count) : []
                let gw = g.withUnsafeBufferPointer { pg in xd.withUnsafeBufferPointer { px in gx.withUnsafeMutableBufferPointer { pgx in
                    w.withUnsafeBufferPointer { pw in c.withUnsafeBufferPointer { pc in sn.withUnsafeBufferPointer { ps in
                    rinv.withUnsafeBufferPointer { rinv in
                        Parallel.blockSums(rows: rows, width: width) { range, gw in
                            let dn = UnsafeMutablePointer<Float>.allocate(capacity: 2 * width), gyw = dn + width
                            defer { dn.deallocate() }
                            for r in range {
                                let li = r % l
                                Tensor.rotateRow(pg.base + r * width, into: dn, h: h, d: d, cos: pc.base + li * half, sin: ps.base + li * half, sign: -1)
                                NormRow.rmsBackward(dn, px.base + r * width, ri: rinv[r], weight: pw.base, width, gw: gw, gyw: gyw,
                                                    dx: rx ? pgx.base + r * width : nil)
                            }
                        }
                    } } } }
                } } }
                return [rx ? gx : nil, gw]
            }
        }
        return out
    }
}
