// Normalisations: LayerNorm (± affine) and RMSNorm over the last axis (Wan's DiT, eps 1e-6), and the
// Wan-VAE's L2 "RMS_norm" over the channel axis 1: y = x / max(‖x‖₂, 1e-12) · √C · γ.
// Statistics in Float with Double accumulation of sums; the backward keeps x̂ and 1/σ only.

/// One row's arithmetic of the norms, shared by the plain ops and the fused ones (`layerNormModulated`,
/// `rmsNormRope`), so that those compute exactly what their compositions do.
enum NormRow {
    /// A LayerNorm row's mean and 1/σ.
    @inline(__always)
    static func layerStats(_ x: UnsafePointer<Float>, _ d: Int, eps: Float) -> (mean: Float, rstd: Float) {
        let mu = Kernels.sum(x, d) / Float(d)
        return (mu, 1 / (Kernels.sumSquaredDeviation(x, d, mu) / Float(d) + eps).squareRoot())
    }

    /// An RMSNorm row's 1/rms.
    @inline(__always)
    static func rmsInverse(_ x: UnsafePointer<Float>, _ d: Int, eps: Float) -> Float {
        1 / (Kernels.dot(x, x, d) / Float(d) + eps).squareRoot()
    }

    /// LayerNorm's input gradient of a row from g·w (`gyw`) and x̂ (`h`): (1/σ)(gyw − mean(gyw) − x̂·mean(gyw·x̂)).
    @inline(__always)
    static func layerInputGradient(_ gyw: UnsafePointer<Float>, _ h: UnsafePointer<Float>, rstd: Float, _ d: Int,
                                   into dx: UnsafeMutablePointer<Float>) {
        let m1 = Kernels.sum(gyw, d) / Float(d)
        let m2 = Kernels.dot(gyw, h, d) / Float(d)
        for j in 0..<d { dx[j] = rstd * (gyw[j] - m1 - h[j] * m2) }
    }

    /// RMSNorm's backward of a row: gw += g·x·ri and, when `dx` is given, dx = ri·(g·w − x·ri²·mean(g·w·x)),
    /// with `gyw` as d floats of scratch.
    @inline(__always)
    static func rmsBackward(_ gy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, ri: Float, weight w: UnsafePointer<Float>?,
                            _ d: Int, gw: UnsafeMutablePointer<Float>, gyw: UnsafeMutablePointer<Float>,
                            dx: UnsafeMutablePointer<Float>?) {
        for j in 0..<d { gw[j] += gy[j] * x[j] * ri }
        guard let dx else { return }
        if let w { for j in 0..<d { gyw[j] = gy[j] * w[j] } } else { for j in 0..<d { gyw[j] = gy[j] } }
        let m = Kernels.dot(gyw, x, d) / Float(d)
        for j in 0..<d { dx[j] = ri * (gyw[j] - x[j] * ri * ri * m) }
    }
}

extension Tensor {
    /// LayerNorm over the last axis. x: [..., D], weight/bias: [D] or nil.
    public func layerNorm(weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-6) -> Tensor {
        let d = shape.last ?? 1
        if let weight { precondition(weight.shape == [d], "layerNorm: weight \(weight.shape) must be [\(d)] for input \(shape)") }
        if let bias { precondition(bias.shape == [d], "layerNorm: bias \(bias.shape) must be [\(d)] for input \(shape)") }
        let rows = count / Swift.max(d, 1)
        var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
        let w = weight?.data, b = bias?.data
        let y = Kernels.buffer(count) { py in
            data.withUnsafeBufferPointer { px in mean.withUnsafeMutableBufferPointer { mean in rstd.withUnsafeMutableBufferPointer { rstd in
                Parallel.rows(rows, width: d) { range in for r in range {
                    let x = px.base + r * d, o = py.base + r * d
                    let (mu, rs) = NormRow.layerStats(x, d, eps: eps)
                    mean[r] = mu; rstd[r] = rs
                    if let w, let b { for j in 0..<d { o[j] = (x[j] - mu) * rs * w[j] + b[j] } }
                    else if let w { for j in 0..<d { o[j] = (x[j] - mu) * rs * w[j] } }
                    else if let b { for j in 0..<d { o[j] = (x[j] - mu) * rs + b[j] } }
                    else { for j in 0..<d { o[j] = (x[j] - mu) * rs } }
                } }
            } } }
        }
        let out = Tensor(shape: shape, data: y)
        let inputs = [self] + [weight, bias].compactMap { $0 }
        if Tensor.needsGrad(inputs) {
            let (xd, hasW, hasB, rx) = (data, weight != nil, bias != nil, requiresGrad)
            out.record("layer_norm", inputs) { g in
                // x̂ = (x − μ)/σ; dx = (1/σ)(g·w − mean(g·w) − x̂·mean(g·w·x̂)); dw = Σ g·x̂; db = Σ g.
                // Rows over the cores; dw and db ([dw | db] per block of rows) summed in a fixed order.
                var gx = rx ? Kernels.unfilled(g.count) : []
                let sums = g.withUnsafeBufferPointer { pg in xd.withUnsafeBufferPointer { px in gx.withUnsafeMutableBufferPointer { pgx in
                    mean.withUnsafeBufferPointer { mean in rstd.withUnsafeBufferPointer { rstd in
                        Parallel.blockSums(rows: rows, width: 2 * d) { range, partial in
                            let gw = partial, gb = partial + d
                            let gyw = UnsafeMutablePointer<Float>.allocate(capacity: 2 * d), h = gyw + d
                            defer { gyw.deallocate() }
                            for r in range {
                                let gy = pg.base + r * d, x = px.base + r * d
                                let (mu, rs) = (mean[r], rstd[r])
                                for j in 0..<d { h[j] = (x[j] - mu) * rs; gw[j] += gy[j] * h[j]; gb[j] += gy[j] }
                                guard rx else { continue }
                                if let w { for j in 0..<d { gyw[j] = gy[j] * w[j] } } else { for j in 0..<d { gyw[j] = gy[j] } }
                                NormRow.layerInputGradient(gyw, h, rstd: rs, d, into: pgx.base + r * d)
                            }
                        }
                    } }
                } } }
                var grads: [[Float]?] = [rx ? gx : nil]
                if hasW { grads.append(Array(sums[0..<d])) }
                if hasB { grads.append(Array(sums[d...])) }
                return grads
            }
        }
        return out
    }

    /// RMSNorm over the last axis: x / √(mean(x²) + eps) · weight. x: [..., D], weight: [D] or nil.
    public func rmsNorm(weight: Tensor? = nil, eps: Float = 1e-6) -> Tensor {
        let d = shape.last ?? 1
        if let weight { precondition(weight.shape == [d], "rmsNorm: weight \(weight.shape) must be [\(d)] for input \(shape)") }
        let rows = count / Swift.max(d, 1)
        var rinv = [Float](repeating: 0, count: rows)
        let w = weight?.data
        let y = Kernels.buffer(count) { py in
            data.withUnsafeBufferPointer { px in rinv.withUnsafeMutableBufferPointer { rinv in
                Parallel.rows(rows, width: d) { range in for r in range {
                    let x = px.base + r * d, o = py.base + r * d
                    let ri = NormRow.rmsInverse(x, d, eps: eps)
                    rinv[r] = ri
                    if let w { for j in 0..<d { o[j] = x[j] * ri * w[j] } } else { for j in 0..<d { o[j] = x[j] * ri } }
                } }
            } }
        }
        let out = Tensor(shape: shape, data: y)
        let inputs = [self] + [weight].compactMap { $0 }
        if Tensor.needsGrad(inputs) {
            let (xd, rx) = (data, requiresGrad)
            out.record("rms_norm", inputs) { g in
                // Rows over the cores; dw summed per block of rows in a fixed order.
                var gx = rx ? Kernels.unfilled(g.count) : []
                let gw = g.withUnsafeBufferPointer { pg in xd.withUnsafeBufferPointer { px in gx.withUnsafeMutableBufferPointer { pgx in
                    rinv.withUnsafeBufferPointer { rinv in (w ?? []).withUnsafeBufferPointer { pw in
                        let weight = w == nil ? nil : pw.base
                        return Parallel.blockSums(rows: rows, width: d) { range, gw in
                            let gyw = UnsafeMutablePointer<Float>.allocate(capacity: d)
                            defer { gyw.deallocate() }
                            for r in range {
                                NormRow.rmsBackward(pg.base + r * d, px.base + r * d, ri: rinv[r], weight: weight, d, gw: gw, gyw: gyw,
                                                    dx: rx ? pgx.base + r * d : nil)
                            }
                        }
                    } }
                } } }
                return w == nil ? [rx ? gx : nil] : [rx ? gx : nil, gw]
            }
        }
        return out
    }

    /// Wan-VAE RMS_norm: L2-normalise over axis 1, times √C and γ. x: [B, C, ...], gamma: [C] (any
    /// shape with C values, e.g. [C,1,1,1]) or nil.
    public func l2Norm(gamma: Tensor? = nil, eps: Float = 1e-12) -> Tensor {
        precondition(rank >= 2, "l2Norm: input \(shape) needs a channel axis")
        let (b, c) = (shape[0], shape[1])
        let s = count / Swift.max(b * c, 1)
        if let gamma { precondition(gamma.count == c, "l2Norm: gamma \(gamma.shape) must have \(c) values for input \(shape)") }
        let scale = Float(c).squareRoot()
        var inv = [Float](repeating: 0, count: b * s)     // 1/max(‖x‖, eps) per position
        var y = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            var acc = [Float](repeating: 0, count: s)
            for bi in 0..<b {
                let x = px.base + bi * c * s, o = py.base + bi * c * s
                for j in 0..<s { acc[j] = 0 }
                for ci in 0..<c { let row = x + ci * s; for j in 0..<s { acc[j] += row[j] * row[j] } }
                for j in 0..<s { inv[bi * s + j] = 1 / Swift.max(acc[j].squareRoot(), eps) }
                for ci in 0..<c {
                    let gsc = scale * (gamma?.data[ci] ?? 1)
                    let row = x + ci * s, orow = o + ci * s
                    for j in 0..<s { orow[j] = row[j] * inv[bi * s + j] * gsc }
                }
            }
        } }
        let out = Tensor(shape: shape, data: y)
        let inputs = [self] + [gamma].compactMap { $0 }
        if Tensor.needsGrad(inputs) {
            let (xd, gdata, rx) = (data, gamma?.data, requiresGrad)
            out.record("l2_norm", inputs) { g in
                var gx = [Float](repeating: 0, count: g.count)
                var gg = [Float](repeating: 0, count: c)
                let invEps = 1 / eps
                g.withUnsafeBufferPointer { pg in xd.withUnsafeBufferPointer { px in gx.withUnsafeMutableBufferPointer { pgx in
                    var dotv = [Float](repeating: 0, count: s)
                    for bi in 0..<b {
                        let base = bi * c * s
                        for j in 0..<s { dotv[j] = 0 }
                        // u = dy·γ·√C; dx = inv·(u − x̂·(x̂·u)) where the norm is above eps, inv·u otherwise.
                        for ci in 0..<c {
                            let gsc = scale * (gdata?[ci] ?? 1)
                            var sg: Float = 0
                            for j in 0..<s {
                                let xh = px[base + ci * s + j] * inv[bi * s + j]
                                sg += pg[base + ci * s + j] * xh
                                dotv[j] += pg[base + ci * s + j] * gsc * xh
                            }
                            gg[ci] += sg * scale
                        }
                        guard rx else { continue }
                        for ci in 0..<c {
                            let gsc = scale * (gdata?[ci] ?? 1)
                            for j in 0..<s {
                                let iv = inv[bi * s + j]
                                let clamped = iv == invEps   // ‖x‖ ≤ eps: the max() picked eps, a constant
                                let u = pg[base + ci * s + j] * gsc
                                let xh = px[base + ci * s + j] * iv
                                pgx[base + ci * s + j] = clamped ? iv * u : iv * (u - xh * dotv[j])
                            }
                        }
                    }
                } } }
                return gdata == nil ? [rx ? gx : nil] : [rx ? gx : nil, gg]
            }
        }
        return out
    }
}
