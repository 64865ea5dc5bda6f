// Matrix products with autograd: batched matmul (optional transposes, 2D right operand shared over
// the batch) and linear (y = x·Wᵀ + b, PyTorch's layout). Everything goes through GEMM.sgemm.

extension Tensor {
    /// op(a)·op(b). a: [..., M, K] ([..., K, M] if transA); b: [..., K, N] ([..., N, K] if transB)
    /// with the same batch dims, or 2D (shared by every batch entry). → [..., M, N]
    public func matmul(_ b: Tensor, transA: Bool = false, transB: Bool = false) -> Tensor {
        let a = self
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: operands \(a.shape) and \(b.shape) need rank ≥ 2")
        let batchShape = Array(a.shape.dropLast(2))
        let shared = b.rank == 2
        precondition(shared || Array(b.shape.dropLast(2)) == batchShape, "matmul: batch dims of \(a.shape) and \(b.shape) differ")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transA ? (ac, ar) : (ar, ac)
        let (kb, n) = transB ? (bc, br) : (br, bc)
        precondition(k == kb, "matmul: inner sizes differ: \(a.shape)\(transA ? "ᵀ" : "") · \(b.shape)\(transB ? "ᵀ" : "")")
        let batch = batchShape.product
        let (sa, sb, sc) = (m * k, shared ? 0 : k * n, m * n)
        let c = Kernels.buffer(batch * m * n) { pc in a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in
            if shared && !transA {
                // One GEMM over all batch rows: [batch·M, K]·op(B).
                GEMM.sgemm(transA: false, transB: transB, m: batch * m, n: n, k: k, a: pa.base, lda: ac,
                           b: pb.base, ldb: bc, c: pc.base, ldc: n)
            } else {
                for i in 0..<batch {
                    GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.base + i * sa, lda: ac,
                               b: pb.base + i * sb, ldb: bc, c: pc.base + i * sc, ldc: n)
                }
            }
        } } }
        let out = Tensor(shape: batchShape + [m, n], data: c)
        if Tensor.needsGrad(a, b) {
            let (ad, bd, ra, rb) = (a.data, b.data, a.requiresGrad, b.requiresGrad)
            out.record("matmul", [a, b]) { g in
                var ga: [Float]? = nil, gb: [Float]? = nil
                g.withUnsafeBufferPointer { pg in ad.withUnsafeBufferPointer { pa in bd.withUnsafeBufferPointer { pb in
                    if ra {
                        // d op(A) = dC·op(B)ᵀ; for transA the stored A gets its transpose: op(B)·dCᵀ.
                        // Every entry is written by a β = 0 GEMM: no zero fill first.
                        let d = Kernels.buffer(ad.count) { pd in
                            for i in 0..<batch {
                                let gp = pg.base + i * sc, bp = pb.base + i * sb, dp = pd.base + i * sa
                                if !transA {
                                    GEMM.sgemm(transA: false, transB: !transB, m: m, n: k, k: n, a: gp, lda: n, b: bp, ldb: bc, c: dp, ldc: ac)
                                } else {
                                    GEMM.sgemm(transA: transB, transB: true, m: k, n: m, k: n, a: bp, lda: bc, b: gp, ldb: n, c: dp, ldc: ac)
                                }
                            }
                        }
                        ga = d
                    }
                    if rb {
                        // d op(B) = op(A)ᵀ·dC; for transB: dCᵀ·op(A). A shared B sums over the batch (beta = 1).
                        let d = Kernels.buffer(bd.count) { pd in
                            if batch == 0 { pd.update(repeating: 0) }
                            for i in 0..<batch {
                                let gp = pg.base + i * sc, ap = pa.base + i * sa, dp = pd.base + i * sb
                                let beta: Float = shared && i > 0 ? 1 : 0
                                if !transB {
                                    GEMM.sgemm(transA: !transA, transB: false, m: k, n: n, k: m, a: ap, lda: ac, b: gp, ldb: n, beta: beta, c: dp, ldc: bc)
                                } else {
                                    GEMM.sgemm(transA: true, transB: transA, m: n, n: k, k: m, a: gp, lda: n, b: ap, ldb: ac, beta: beta, c: dp, ldc: bc)
                                }
                            }
                        }
                        gb = d
                    }
                } } }
                return [ga, gb]
            }
        }
        return out
    }

    /// x·Wᵀ + b. x: [..., in], weight: [out, in], bias: [out] → [..., out]
    public func linear(_ weight: Tensor, _ bias: Tensor? = nil) -> Tensor {
        let x = self
        precondition(weight.rank == 2, "linear: weight \(weight.shape) must be [out, in]")
        let (nOut, nIn) = (weight.shape[0], weight.shape[1])
        precondition(x.shape.last == nIn, "linear: input \(x.shape) does not end in \(nIn) (weight \(weight.shape))")
        if let bias { precondition(bias.shape == [nOut], "linear: bias \(bias.shape) must be [\(nOut)]") }
        let rows = x.count / Swift.max(nIn, 1)
        let y = Kernels.buffer(rows * nOut) { py in
            if let bias {   // C starts as the bias rows, then C += x·Wᵀ
                bias.data.withUnsafeBufferPointer { pb in
                    Parallel.rows(rows, width: nOut) { range in
                        for r in range { (py.base + r * nOut).update(from: pb.base, count: nOut) }
                    }
                }
            }
            x.data.withUnsafeBufferPointer { px in weight.data.withUnsafeBufferPointer { pw in
                GEMM.sgemm(transA: false, transB: true, m: rows, n: nOut, k: nIn, a: px.base, lda: nIn,
                           b: pw.base, ldb: nIn, beta: bias == nil ? 0 : 1, c: py.base, ldc: nOut)
            } }
        }
        let out = Tensor(shape: Array(x.shape.dropLast()) + [nOut], data: y)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        if Tensor.needsGrad(inputs) {
            let (xd, wd, rx, rw) = (x.data, weight.data, x.requiresGrad, weight.requiresGrad)
            let rb = bias?.requiresGrad ?? false
            out.record("linear", inputs) { g in
                var gx: [Float]? = nil, gw: [Float]? = nil, gb: [Float]? = nil
                g.withUnsafeBufferPointer { pg in
                    if rx {   // dx = dy·W
                        gx = wd.withUnsafeBufferPointer { pw in Kernels.buffer(xd.count) { pd in
                            GEMM.sgemm(transA: false, transB: false, m: rows, n: nIn, k: nOut, a: pg.base, lda: nOut,
                                       b: pw.base, ldb: nIn, c: pd.base, ldc: nIn)
                        } }
                    }
                    if rw {   // dW = dyᵀ·x
                        gw = xd.withUnsafeBufferPointer { px in Kernels.buffer(wd.count) { pd in
                            GEMM.sgemm(transA: true, transB: false, m: nOut, n: nIn, k: rows, a: pg.base, lda: nOut,
                                       b: px.base, ldb: nIn, c: pd.base, ldc: nIn)
                        } }
                    }
                    if rb {   // db = Σ_rows dy, rows over the cores in a fixed order
                        gb = Parallel.blockSums(rows: rows, width: nOut) { range, pd in
                            for r in range { let row = pg.base + r * nOut; for j in 0..<nOut { pd[j] += row[j] } }
                        }
                    }
                }
                return bias == nil ? [gx, gw] : [gx, gw, gb]
            }
        }
        return out
    }
}
