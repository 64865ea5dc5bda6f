// Normalisations: LayerNorm (± affine) and RMSNorm over the last axis (Wan's DiT, eps 1e-6), and the
// Wan-VAE's L2 "RMS_norm" over the channel axis 1: y = x / max(‖x‖₂, 1e-12) · √C · γ.
// Statistics in Float with Double accumulation of sums; the backward keeps x̂ and 1/σ only.

extension Tensor {
    /// LayerNorm over the last axis. x: [..., D], weight/bias: [D] or nil.
    public func layerNorm(weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-6) -> Tensor {
        let d = shape.last ?? 1
        if let weight { precondition(weight.shape == [d], "layerNorm: weight \(weight.shape) must be [\(d)] for input \(shape)") }
        if let bias { precondition(bias.shape == [d], "layerNorm: bias \(bias.shape) must be [\(d)] for input \(shape)") }
        let rows = count / Swift.max(d, 1)
        var xhat = [Float](repeating: 0, count: count)
        var rstd = [Float](repeating: 0, count: rows)
        var y = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { px in xhat.withUnsafeMutableBufferPointer { ph in y.withUnsafeMutableBufferPointer { py in
            let w = weight?.data, b = bias?.data
            for r in 0..<rows {
                let x = px.baseAddress! + r * d, h = ph.baseAddress! + r * d, o = py.baseAddress! + r * d
                var s: Float = 0
                for j in 0..<d { s += x[j] }
                let mu = s / Float(d)
                var v: Float = 0
                for j in 0..<d { let c = x[j] - mu; v += c * c }
                let rs = 1 / (v / Float(d) + eps).squareRoot()
                rstd[r] = rs
                for j in 0..<d { h[j] = (x[j] - mu) * rs }
                if let w, let b { for j in 0..<d { o[j] = h[j] * w[j] + b[j] } }
                else if let w { for j in 0..<d { o[j] = h[j] * w[j] } }
                else if let b { for j in 0..<d { o[j] = h[j] + b[j] } }
                else { o.update(from: h, count: d) }
            }
        } } }
        let out = Tensor(shape: shape, data: y)
        let inputs = [self] + [weight, bias].compactMap { $0 }
        if Tensor.needsGrad(inputs) {
            let w = weight?.data
            let (hasW, hasB, rx) = (weight != nil, bias != nil, requiresGrad)
            out.record("layer_norm", inputs) { g in
                var gx = [Float](repeating: 0, count: g.count)
                var gw = [Float](repeating: 0, count: d), gb = [Float](repeating: 0, count: d)
                g.withUnsafeBufferPointer { pg in xhat.withUnsafeBufferPointer { ph in gx.withUnsafeMutableBufferPointer { pgx in
                    var gyw = [Float](repeating: 0, count: d)
                    for r in 0..<rows {
                        let gy = pg.baseAddress! + r * d, h = ph.baseAddress! + r * d, dx = pgx.baseAddress! + r * d
                        for j in 0..<d { gw[j] += gy[j] * h[j]; gb[j] += gy[j] }
                        guard rx else { continue }
                        if let w { for j in 0..<d { gyw[j] = gy[j] * w[j] } } else { for j in 0..<d { gyw[j] = gy[j] } }
                        var m1: Float = 0, m2: Float = 0
                        for j in 0..<d { m1 += gyw[j]; m2 += gyw[j] * h[j] }
                        m1 /= Float(d); m2 /= Float(d)
                        let rs = rstd[r]
                        for j in 0..<d { dx[j] = rs * (gyw[j] - m1 - h[j] * m2) }
                    }
                } } }
                var grads: [[Float]?] = [rx ? gx : nil]
                if hasW { grads.append(gw) }
                if hasB { grads.append(gb) }
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
        var y = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            let w = weight?.data
            for r in 0..<rows {
                let x = px.baseAddress! + r * d, o = py.baseAddress! + r * d
                var s: Float = 0
                for j in 0..<d { s += x[j] * x[j] }
                let ri = 1 / (s / Float(d) + eps).squareRoot()
                rinv[r] = ri
                if let w { for j in 0..<d { o[j] = x[j] * ri * w[j] } } else { for j in 0..<d { o[j] = x[j] * ri } }
            }
        } }
        let out = Tensor(shape: shape, data: y)
        let inputs = [self] + [weight].compactMap { $0 }
        if Tensor.needsGrad(inputs) {
            let (xd, w, rx) = (data, weight?.data, requiresGrad)
            out.record("rms_norm", inputs) { g in
                var gx = [Float](repeating: 0, count: g.count)
                var gw = [Float](repeating: 0, count: d)
                g.withUnsafeBufferPointer { pg in xd.withUnsafeBufferPointer { px in gx.withUnsafeMutableBufferPointer { pgx in
                    var gyw = [Float](repeating: 0, count: d)
                    for r in 0..<rows {
                        let gy = pg.baseAddress! + r * d, x = px.baseAddress! + r * d, dx = pgx.baseAddress! + r * d
                        let ri = rinv[r]
                        for j in 0..<d { gw[j] += gy[j] * x[j] * ri }
                        guard rx else { continue }
                        if let w { for j in 0..<d { gyw[j] = gy[j] * w[j] } } else { for j in 0..<d { gyw[j] = gy[j] } }
                        var m: Float = 0
                        for j in 0..<d { m += gyw[j] * x[j] }
                        m /= Float(d)
                        for j in 0..<d { dx[j] = ri * (gyw[j] - x[j] * ri * ri * m) }
                    }
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
                let x = px.baseAddress! + bi * c * s, o = py.baseAddress! + bi * c * s
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
