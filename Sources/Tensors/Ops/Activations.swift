// Pointwise nonlinearities: SiLU, tanh-GELU, tanh, exp, square, sqrt. Forward and backward side by side.
import CKernels

extension Tensor {
    /// Shared shape of a pointwise op: y = f(x), dx = df(x, dy). The backward keeps x only.
    func pointwise(_ op: String,
                   _ forward: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void,
                   backward: @escaping (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        let y = Kernels.buffer(count) { py in
            data.withUnsafeBufferPointer { px in
                Parallel.chunks(px.count) { r in
                    forward(UnsafeBufferPointer(rebasing: px[r]), UnsafeMutableBufferPointer(rebasing: py[r]))
                }
            }
        }
        let out = Tensor(shape: shape, data: y)
        if Tensor.needsGrad(self) {
            let x = data
            out.record(op, [self]) { g in
                [Kernels.buffer(x.count) { pgx in
                    x.withUnsafeBufferPointer { px in g.withUnsafeBufferPointer { pg in
                        Parallel.chunks(px.count) { r in
                            backward(UnsafeBufferPointer(rebasing: px[r]), UnsafeBufferPointer(rebasing: pg[r]),
                                     UnsafeMutableBufferPointer(rebasing: pgx[r]))
                        }
                    } }
                }]
            }
        }
        return out
    }

    /// x·σ(x)
    public func silu() -> Tensor { pointwise("silu", Kernels.silu, backward: Kernels.siluBackward) }

    /// GELU with the tanh approximation (PyTorch `approximate="tanh"`).
    public func gelu() -> Tensor {
        // 16 lanes wide where the CPU has AVX-512 (the Swift build's loops are 8 wide), forward and backward.
        GEMM.avx512Available ? pointwise("gelu", Self.geluWide, backward: Self.geluBackwardWide)
                             : pointwise("gelu", Kernels.gelu, backward: Kernels.geluBackward)
    }

    /// GELU through the C kernels' 16-lane loop, Kernels.gelu's formula; only where GEMM.avx512Available.
    public static func geluWide(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
        precondition(GEMM.avx512Available && x.count == y.count, "geluWide: needs AVX-512 and equal lengths")
        if let px = x.baseAddress, let py = y.baseAddress { gpd_gelu16(px, py, x.count) }
    }

    /// GELU's backward through the C kernels' 16-lane loop, Kernels.geluBackward's formula; only where
    /// GEMM.avx512Available.
    public static func geluBackwardWide(_ x: UnsafeBufferPointer<Float>, _ dy: UnsafeBufferPointer<Float>, _ dx: UnsafeMutableBufferPointer<Float>) {
        precondition(GEMM.avx512Available && x.count == dy.count && x.count == dx.count, "geluBackwardWide: needs AVX-512 and equal lengths")
        if let px = x.baseAddress, let pg = dy.baseAddress, let pd = dx.baseAddress { gpd_gelu16_backward(px, pg, pd, x.count) }
    }

    public func tanh() -> Tensor {
        pointwise("tanh", { x, y in for i in 0..<x.count { y[i] = Kernels.fastTanh(x[i]) } },
                  backward: { x, g, d in for i in 0..<x.count { let t = Kernels.fastTanh(x[i]); d[i] = g[i] * (1 - t * t) } })
    }

    public func exp() -> Tensor {
        pointwise("exp", { x, y in for i in 0..<x.count { y[i] = Kernels.fastExp(x[i]) } },
                  backward: { x, g, d in for i in 0..<x.count { d[i] = g[i] * Kernels.fastExp(x[i]) } })
    }

    public func square() -> Tensor {
        pointwise("square", { x, y in for i in 0..<x.count { y[i] = x[i] * x[i] } },
                  backward: { x, g, d in for i in 0..<x.count { d[i] = 2 * x[i] * g[i] } })
    }

    public func sqrt() -> Tensor {
        pointwise("sqrt", { x, y in for i in 0..<x.count { y[i] = x[i].squareRoot() } },
                  backward: { x, g, d in for i in 0..<x.count { d[i] = g[i] * 0.5 / x[i].squareRoot() } })
    }
}

extension Tensor {
    /// Values limited to [lo, hi]; the gradient passes where lo < x < hi (PyTorch's clamp).
    public func clamp(_ lo: Float, _ hi: Float) -> Tensor {
        pointwise("clamp", { x, y in for i in 0..<x.count { y[i] = Swift.min(Swift.max(x[i], lo), hi) } },
                  backward: { x, g, d in for i in 0..<x.count { d[i] = x[i] > lo && x[i] < hi ? g[i] : 0 } })
    }
}

extension Tensor {
    /// |x|; the gradient is sign(x) (0 at 0, as PyTorch).
    public func abs() -> Tensor {
        pointwise("abs", { x, y in for i in 0..<x.count { y[i] = Swift.abs(x[i]) } },
                  backward: { x, g, d in for i in 0..<x.count { d[i] = x[i] > 0 ? g[i] : (x[i] < 0 ? -g[i] : 0) } })
    }
}
