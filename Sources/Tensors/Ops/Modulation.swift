// The adaptive-LayerNorm arithmetic of a DiT block, fused: modulation x·(1 + scale) + shift (alone or
// after the LayerNorm it follows in every block) and the gated residual x + y·gate, with per-sample
// vectors [B, 1, D] broadcast over the tokens of [B, L, D].
// Composed from broadcasting ops each is two or three passes over [B, L, D] plus the broadcast
// reductions of the backward (single-threaded, strided); fused, one threaded pass each way
// (`gpd bench --only train`, docs/benchmarks.md). The forward does the composition's arithmetic in
// its order; the backward's sums over L may round differently.

extension Tensor {
    /// Checks x: [B, L, D] against a per-sample vector [B, 1, D]; returns (B, L, D).
    private func modulationShape(_ v: Tensor, _ op: String, _ name: String) -> (Int, Int, Int) {
        precondition(rank == 3, "\(op): input \(shape) must be [B, L, D]")
        let (b, l, d) = (shape[0], shape[1], shape[2])
        precondition(v.shape == [b, 1, d], "\(op): \(name) \(v.shape) must be [\(b), 1, \(d)] for input \(shape)")
        return (b, l, d)
    }

    /// Rows of a [B, L, D] tensor over the cores, each with its sample index.
    private static func forEachRow(_ b: Int, _ l: Int, _ d: Int, _ body: (_ row: Int, _ sample: Int) -> Void) {
        Parallel.rows(b * l, width: d) { rows in
            for r in rows { body(r, r / Swift.max(l, 1)) }
        }
    }

    /// out[s, :] = Σ over the L rows of sample s of g (times the same row of `factor` when given).
    private static func sumRows(_ b: Int, _ l: Int, _ d: Int, _ g: UnsafePointer<Float>, times factor: UnsafePointer<Float>?,
                                into out: UnsafeMutablePointer<Float>) {
        Parallel.rows(b, width: l * d) { samples in
            for s in samples {
                let o = out + s * d
                for j in 0..<d { o[j] = 0 }
                for r in (s * l)..<((s + 1) * l) {
                    let gr = g + r * d
                    if let factor { let fr = factor + r * d; for j in 0..<d { o[j] += gr[j] * fr[j] } }
                    else { for j in 0..<d { o[j] += gr[j] } }
                }
            }
        }
    }

    /// self·(1 + scale) + shift. self: [B, L, D]; scale, shift: [B, 1, D].
    public func modulated(scale: Tensor, shift: Tensor) -> Tensor {
        let x = self
        let (b, l, d) = modulationShape(scale, "modulated", "scale")
        _ = modulationShape(shift, "modulated", "shift")
        let out = Kernels.buffer(x.count) { po in x.data.withUnsafeBufferPointer { px in
            scale.data.withUnsafeBufferPointer { ps in shift.data.withUnsafeBufferPointer { pt in
                let (o, xp, sp, tp) = (po.base, px.base, ps.base, pt.base)
                Tensor.forEachRow(b, l, d) { r, s in
                    let (or, xr, sr, tr) = (o + r * d, xp + r * d, sp + s * d, tp + s * d)
                    for j in 0..<d { or[j] = xr[j] * (sr[j] + 1) + tr[j] }
                }
            } }
        } }
        let y = Tensor(shape: x.shape, data: out)
        if Tensor.needsGrad(x, scale, shift) {
            let (xd, sd) = (x.data, scale.data)
            let (rx, rs, rt) = (x.requiresGrad, scale.requiresGrad, shift.requiresGrad)
            y.record("modulated", [x, scale, shift]) { g in
                var gx: [Float]? = nil, gs: [Float]? = nil, gt: [Float]? = nil
                g.withUnsafeBufferPointer { pg in xd.withUnsafeBufferPointer { px in sd.withUnsafeBufferPointer { ps in
                    let (gp, xp, sp) = (pg.base, px.base, ps.base)
                    if rx {   // dx = g·(1 + scale)
                        gx = Kernels.buffer(xd.count) { pd in
                            let dp = pd.base
                            Tensor.forEachRow(b, l, d) { r, s in
                                let (dr, gr, sr) = (dp + r * d, gp + r * d, sp + s * d)
                                for j in 0..<d { dr[j] = gr[j] * (sr[j] + 1) }
                            }
                        }
                    }
                    if rs {   // dscale = Σ_L g·x
                        gs = Kernels.buffer(b * d) { pd in Tensor.sumRows(b, l, d, gp, times: xp, into: pd.base) }
                    }
                    if rt {   // dshift = Σ_L g
                        gt = Kernels.buffer(b * d) { pd in Tensor.sumRows(b, l, d, gp, times: nil, into: pd.base) }
                    }
                } } }
                return [gx, gs, gt]
            }
        }
        return y
    }

    /// layerNorm(eps:) then modulated(scale:shift:) in one op: the DiT block's pre-attention and
    /// pre-FFN step. Forward and gradients are the composition's, the same arithmetic in the same order
    /// (bit-identical); it saves the normalised tensor between them — one [B, L, D] buffer written and
    /// read each way — and the backward's separate passes for the modulation's sums.
    public func layerNormModulated(scale: Tensor, shift: Tensor, eps: Float = 1e-6) -> Tensor {
        let x = self
        let (b, l, d) = modulationShape(scale, "layerNormModulated", "scale")
        _ = modulationShape(shift, "layerNormModulated", "shift")
        var mean = [Float](repeating: 0, count: b * l), rstd = [Float](repeating: 0, count: b * l)
        let out = Kernels.buffer(x.count) { po in x.data.withUnsafeBufferPointer { px in
            scale.data.withUnsafeBufferPointer { ps in shift.data.withUnsafeBufferPointer { pt in
                mean.withUnsafeMutableBufferPointer { mean in rstd.withUnsafeMutableBufferPointer { rstd in
                    let (o, xp, sp, tp) = (po.base, px.base, ps.base, pt.base)
                    Tensor.forEachRow(b, l, d) { r, s in
                        let (or, xr, sr, tr) = (o + r * d, xp + r * d, sp + s * d, tp + s * d)
                        let (mu, rs) = NormRow.layerStats(xr, d, eps: eps)
                        mean[r] = mu; rstd[r] = rs
                        for j in 0..<d { let n = (xr[j] - mu) * rs; or[j] = n * (sr[j] + 1) + tr[j] }
                    }
                } }
            } }
        } }
        let y = Tensor(shape: x.shape, data: out)
        if Tensor.needsGrad(x, scale, shift) {
            let (xd, sd) = (x.data, scale.data)
            let (rx, rs, rt) = (x.requiresGrad, scale.requiresGrad, shift.requiresGrad)
            y.record("layerNormModulated", [x, scale, shift]) { g in
                // Per sample: n = x̂ row by row, dscale = Σ_L g·n, dshift = Σ_L g, dn = g·(1 + scale), and
                // dx = rstd·(dn − mean(dn) − n·mean(dn·n)) — the samples over the cores.
                var gx = rx ? Kernels.unfilled(xd.count) : [], gs = [Float](repeating: 0, count: b * d)
                var gt = [Float](repeating: 0, count: b * d)
                g.withUnsafeBufferPointer { pg in xd.withUnsafeBufferPointer { px in sd.withUnsafeBufferPointer { ps in
                gx.withUnsafeMutableBufferPointer { pgx in gs.withUnsafeMutableBufferPointer { pgs in gt.withUnsafeMutableBufferPointer { pgt in
                mean.withUnsafeBufferPointer { mean in rstd.withUnsafeBufferPointer { rstd in
                    let (gp, xp, sp) = (pg.base, px.base, ps.base)
                    Parallel.rows(b, width: l * d) { samples in
                        let n = UnsafeMutablePointer<Float>.allocate(capacity: 2 * d), dn = n + d
                        defer { n.deallocate() }
                        for s in samples {
                            let (dsc, dsh, sr) = (pgs.base + s * d, pgt.base + s * d, sp + s * d)
                            for r in (s * l)..<((s + 1) * l) {
                                let (gr, xr) = (gp + r * d, xp + r * d)
                                let (mu, rsd) = (mean[r], rstd[r])
                                for j in 0..<d { n[j] = (xr[j] - mu) * rsd }
                                for j in 0..<d { dsc[j] += gr[j] * n[j]; dsh[j] += gr[j] }
                                guard rx else { continue }
                                for j in 0..<d { dn[j] = gr[j] * (sr[j] + 1) }
                                NormRow.layerInputGradient(dn, n, rstd: rsd, d, into: pgx.base + r * d)
                            }
                        }
                    }
                } } } } } } } }
                return [rx ? gx : nil, rs ? gs : nil, rt ? gt : nil]
            }
        }
        return y
    }

    /// self + y·gate. self, y: [B, L, D]; gate: [B, 1, D].
    public func addingGated(_ y: Tensor, gate: Tensor) -> Tensor {
        let x = self
        let (b, l, d) = modulationShape(gate, "addingGated", "gate")
        precondition(y.shape == x.shape, "addingGated: branch \(y.shape) must match the residual \(x.shape)")
        let out = Kernels.buffer(x.count) { po in x.data.withUnsafeBufferPointer { px in
            y.data.withUnsafeBufferPointer { py in gate.data.withUnsafeBufferPointer { pe in
                let (o, xp, yp, ep) = (po.base, px.base, py.base, pe.base)
                Tensor.forEachRow(b, l, d) { r, s in
                    let (or, xr, yr, er) = (o + r * d, xp + r * d, yp + r * d, ep + s * d)
                    for j in 0..<d { or[j] = xr[j] + yr[j] * er[j] }
                }
            } }
        } }
        let z = Tensor(shape: x.shape, data: out)
        if Tensor.needsGrad(x, y, gate) {
            let (yd, ed) = (y.data, gate.data)
            let (rx, ry, re) = (x.requiresGrad, y.requiresGrad, gate.requiresGrad)
            z.record("addingGated", [x, y, gate]) { g in
                var gy: [Float]? = nil, ge: [Float]? = nil
                g.withUnsafeBufferPointer { pg in yd.withUnsafeBufferPointer { py in ed.withUnsafeBufferPointer { pe in
                    let (gp, yp, ep) = (pg.base, py.base, pe.base)
                    if ry {   // dy = g·gate
                        gy = Kernels.buffer(yd.count) { pd in
                            let dp = pd.base
                            Tensor.forEachRow(b, l, d) { r, s in
                                let (dr, gr, er) = (dp + r * d, gp + r * d, ep + s * d)
                                for j in 0..<d { dr[j] = gr[j] * er[j] }
                            }
                        }
                    }
                    if re {   // dgate = Σ_L g·y
                        ge = Kernels.buffer(b * d) { pd in Tensor.sumRows(b, l, d, gp, times: yp, into: pd.base) }
                    }
                } } }
                return [rx ? g : nil, gy, ge]   // dx = g
            }
        }
        return z
    }
}
