// 3D convolution (cross-correlation, as PyTorch's Conv3d) by im2col + sgemm, with zero padding given
// per side so causal convs (Wan-VAE: 2 frames in front, none behind) need no separate pad op.
// Without a graph, stride 1 on AVX-512, a direct kernel instead (Sources/CKernels/conv3d.c).
// The naive direct convolution beside it is the reference the tests sweep against.

import CKernels

public struct Conv3dGeometry: Equatable {
    public var stride: (Int, Int, Int)
    /// (before, after) zero padding for frames, height, width.
    public var padding: [(Int, Int)]

    public init(stride: (Int, Int, Int) = (1, 1, 1), padding: [(Int, Int)] = [(0, 0), (0, 0), (0, 0)]) {
        precondition(padding.count == 3, "Conv3dGeometry: padding needs 3 (before, after) pairs")
        self.stride = stride
        self.padding = padding
    }

    /// Symmetric padding p on every axis.
    public init(stride: (Int, Int, Int) = (1, 1, 1), padding p: (Int, Int, Int)) {
        self.init(stride: stride, padding: [(p.0, p.0), (p.1, p.1), (p.2, p.2)])
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.stride == b.stride && a.padding.elementsEqual(b.padding, by: ==)
    }

    var strides: [Int] { [stride.0, stride.1, stride.2] }

    func outputSize(input: [Int], kernel: [Int]) -> [Int] {
        (0..<3).map { i in
            let padded = input[i] + padding[i].0 + padding[i].1
            return padded < kernel[i] ? 0 : (padded - kernel[i]) / strides[i] + 1
        }
    }
}

extension Tensor {
    /// x: [B, Cin, F, H, W], weight: [Cout, Cin, kf, kh, kw], bias: [Cout] → [B, Cout, Fo, Ho, Wo]
    public func conv3d(_ weight: Tensor, _ bias: Tensor? = nil, _ geo: Conv3dGeometry = .init()) -> Tensor {
        precondition(rank == 5 && weight.rank == 5, "conv3d: input \(shape) and weight \(weight.shape) must be 5-D")
        let (b, cin) = (shape[0], shape[1])
        let cout = weight.shape[0]
        precondition(weight.shape[1] == cin, "conv3d: weight \(weight.shape) expects \(weight.shape[1]) input channels, input \(shape) has \(cin)")
        if let bias { precondition(bias.shape == [cout], "conv3d: bias \(bias.shape) must be [\(cout)]") }
        let inSize = Array(shape[2...]), ks = Array(weight.shape[2...])
        let outSize = geo.outputSize(input: inSize, kernel: ks)
        precondition(outSize.allSatisfy { $0 > 0 }, "conv3d: input \(shape) is smaller than kernel \(ks) after padding")
        let kdim = cin * ks.product, n = outSize.product, inPer = cin * inSize.product
        let direct = ks == [1, 1, 1] && geo.strides == [1, 1, 1] && geo.padding.allSatisfy { $0 == (0, 0) }
        // The direct kernel where it was measured: the demo VAEs' channel counts (up to 32; docs/benchmarks.md,
        // "Direct convolution"). Wider convolutions (Wan2.1's VAE) stay on im2col.
        if !direct && geo.strides == [1, 1, 1] && GEMM.avx512Available && !GEMM.bf16Active && ks[2] <= 17 && b > 0
            && cin <= 64 && cout <= 64 && !Tensor.needsGrad([self, weight] + [bias].compactMap { $0 }) {
            return conv3dDirect(weight, bias, geo, outSize: outSize)
        }
        let plane = outSize[1] * outSize[2]
        // Output frames per im2col chunk: keep a chunk's column matrix near 1 MB so it stays in cache.
        let framesPerChunk = Swift.max(1, (1 << 18) / Swift.max(1, kdim * plane))
        let chunks = (outSize[0] + framesPerChunk - 1) / framesPerChunk
        let y = Kernels.buffer(b * cout * n) { py in
            data.withUnsafeBufferPointer { px in weight.data.withUnsafeBufferPointer { pw in
                // Work items are (batch entry, chunk of output frames), run on all cores with single-threaded
                // GEMMs; each builds its own column matrix and writes its own columns of Y.
                GEMM.singleThreaded { Parallel.chunks(b * chunks, grain: 1) { range in
                    var col = [Float](unsafeUninitializedCapacity: direct ? 0 : kdim * framesPerChunk * plane) { _, c in
                        c = direct ? 0 : kdim * framesPerChunk * plane
                    }
                    col.withUnsafeMutableBufferPointer { pc in
                        for item in range {
                            let (bi, ci) = (item / chunks, item % chunks)
                            let xb = px.base + bi * inPer, yb = py.base + bi * cout * n
                            let f0 = ci * framesPerChunk, f1 = Swift.min(outSize[0], f0 + framesPerChunk)
                            let nb = (f1 - f0) * plane
                            if direct {   // 1×1×1, stride 1, no padding: the input already is the column matrix
                                GEMM.sgemm(transA: false, transB: false, m: cout, n: nb, k: kdim, a: pw.base, lda: kdim,
                                           b: xb + f0 * plane, ldb: n, c: yb + f0 * plane, ldc: n)
                            } else {
                                Im2Col.fill(pc.base, from: xb, channels: cin, input: inSize, kernel: ks, output: outSize,
                                            frames: f0..<f1, geo: geo)
                                GEMM.sgemm(transA: false, transB: false, m: cout, n: nb, k: kdim, a: pw.base, lda: kdim,
                                           b: pc.base, ldb: nb, c: yb + f0 * plane, ldc: n)
                            }
                            if let bias {
                                for o in 0..<cout { let v = bias.data[o]; let row = yb + o * n + f0 * plane; for j in 0..<nb { row[j] += v } }
                            }
                        }
                    }
                } }
            } }
        }
        let out = Tensor(shape: [b, cout] + outSize, data: y)
        let inputs = [self, weight] + [bias].compactMap { $0 }
        if Tensor.needsGrad(inputs) {
            let (xd, wd, rx, rw, rb) = (data, weight.data, requiresGrad, weight.requiresGrad, bias?.requiresGrad ?? false)
            let hasBias = bias != nil
            out.record("conv3d", inputs) { g in
                var gx = [Float](repeating: 0, count: rx ? xd.count : 0)
                var gw = [Float](repeating: 0, count: rw ? wd.count : 0)
                var gb = [Float](repeating: 0, count: rb ? cout : 0)
                let chunkCols = framesPerChunk * plane
                let workers = Swift.max(1, Swift.min(Parallel.workers, b))
                // Batch entries in parallel (their dX are disjoint); dW and db per worker, summed after.
                var partW = [[Float]](repeating: [], count: workers), partB = [[Float]](repeating: [], count: workers)
                g.withUnsafeBufferPointer { pg in xd.withUnsafeBufferPointer { px in wd.withUnsafeBufferPointer { pw in
                gx.withUnsafeMutableBufferPointer { pgx in partW.withUnsafeMutableBufferPointer { ppw in partB.withUnsafeMutableBufferPointer { ppb in
                    let gxBase = pgx.baseAddress
                    GEMM.singleThreaded { Parallel.chunks(workers, grain: 1) { wrange in for worker in wrange {
                        var lw = [Float](repeating: 0, count: rw ? wd.count : 0), lb = [Float](repeating: 0, count: rb ? cout : 0)
                        var col = [Float](repeating: 0, count: direct ? 0 : kdim * chunkCols)
                        var dcol = [Float](repeating: 0, count: rx && !direct ? kdim * chunkCols : 0)
                        lw.withUnsafeMutableBufferPointer { plw in col.withUnsafeMutableBufferPointer { pc in dcol.withUnsafeMutableBufferPointer { pd in
                            for bi in stride(from: worker, to: b, by: workers) {
                                let gyb = pg.base + bi * cout * n, xb = px.base + bi * inPer
                                if rb { for o in 0..<cout { lb[o] += Kernels.sum(gyb + o * n, n) } }
                                if direct {
                                    // dW += dY·Xᵀ; dX = Wᵀ·dY
                                    if rw { GEMM.sgemm(transA: false, transB: true, m: cout, n: kdim, k: n, a: gyb, lda: n, b: xb, ldb: n,
                                                       beta: 1, c: plw.base, ldc: kdim) }
                                    if rx { GEMM.sgemm(transA: true, transB: false, m: kdim, n: n, k: cout, a: pw.base, lda: kdim, b: gyb, ldb: n,
                                                       beta: 1, c: gxBase! + bi * inPer, ldc: n) }
                                    continue
                                }
                                for ci in 0..<chunks {
                                    let f0 = ci * framesPerChunk, f1 = Swift.min(outSize[0], f0 + framesPerChunk)
                                    let nb = (f1 - f0) * plane
                                    let gChunk = gyb + f0 * plane
                                    if rw {   // dW += dY[:, chunk]·col_chunkᵀ
                                        Im2Col.fill(pc.base, from: xb, channels: cin, input: inSize, kernel: ks, output: outSize, frames: f0..<f1, geo: geo)
                                        GEMM.sgemm(transA: false, transB: true, m: cout, n: kdim, k: nb, a: gChunk, lda: n, b: pc.base, ldb: nb,
                                                   beta: 1, c: plw.base, ldc: kdim)
                                    }
                                    if rx {   // dcol = Wᵀ·dY[:, chunk], scattered back (col2im)
                                        GEMM.sgemm(transA: true, transB: false, m: kdim, n: nb, k: cout, a: pw.base, lda: kdim, b: gChunk, ldb: n,
                                                   c: pd.base, ldc: nb)
                                        Im2Col.scatterAdd(pd.base, into: gxBase! + bi * inPer, channels: cin, input: inSize, kernel: ks,
                                                          output: outSize, frames: f0..<f1, geo: geo)
                                    }
                                }
                            }
                        } } }
                        ppw[worker] = lw; ppb[worker] = lb
                    } } }
                } } } } } }
                for part in partW where !part.isEmpty { Kernels.addInPlace(&gw, part) }
                for part in partB where !part.isEmpty { Kernels.addInPlace(&gb, part) }
                var grads: [[Float]?] = [rx ? gx : nil, rw ? gw : nil]
                if hasBias { grads.append(rb ? gb : nil) }
                return grads
            }
        }
        return out
    }
}

extension Tensor {
    /// `conv3d` without a graph, stride 1, on AVX-512: the direct kernel of Sources/CKernels/conv3d.c
    /// (input zero-padded once, tiles of 8 output channels × 32 output positions), the work items
    /// (batch entry, output frame, block of 8 output channels) over the cores.
    func conv3dDirect(_ weight: Tensor, _ bias: Tensor?, _ geo: Conv3dGeometry, outSize: [Int]) -> Tensor {
        let (b, cin, fi, hi, wi) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        let (cout, kf, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3], weight.shape[4])
        let p = geo.padding
        let (fp, hp, wp) = (fi + p[0].0 + p[0].1, hi + p[1].0 + p[1].1, wi + p[2].0 + p[2].1)
        let padFloats = gpd_conv3d_padded_floats(cin, fi, hi, wi, p[0].0, p[0].1, p[1].0, p[1].1, p[2].0, p[2].1)
        let weightFloats = gpd_conv3d_weight_floats(cout, cin, kf, kh, kw)
        let (fo, ho, wo) = (outSize[0], outSize[1], outSize[2])
        let blocks = (cout + 7) / 8, per = cout * fo * ho * wo
        FLOPCounter.current?.add(2 * b * per * cin * kf * kh * kw)
        var padded = Kernels.unfilled(b * padFloats), arranged = Kernels.unfilled(weightFloats)
        let y = Kernels.buffer(b * per) { py in
            data.withUnsafeBufferPointer { px in weight.data.withUnsafeBufferPointer { pw in
            padded.withUnsafeMutableBufferPointer { pp in arranged.withUnsafeMutableBufferPointer { pa in
                gpd_conv3d_arrange(cout, cin, kf, kh, kw, pw.base, pa.base)
                for bi in 0..<b {
                    gpd_conv3d_pad(cin, fi, hi, wi, p[0].0, p[0].1, p[1].0, p[1].1, p[2].0, p[2].1, px.base + bi * cin * fi * hi * wi,
                                   pp.base + bi * padFloats)
                }
                let (paBase, ppBase) = (UnsafePointer(pa.base), UnsafePointer(pp.base))
                let run = { (pb: UnsafePointer<Float>?) in
                    Parallel.chunks(b * fo * blocks, grain: 1) { range in for item in range {
                        let (bi, rest) = item.quotientAndRemainder(dividingBy: fo * blocks)
                        let (frame, block) = rest.quotientAndRemainder(dividingBy: blocks)
                        gpd_conv3d_rows(cin, fp, hp, wp, ppBase + bi * padFloats, cout, kf, kh, kw, paBase, pb, fo, ho, wo,
                                        frame, block, py.base + bi * per)
                    } }
                }
                if let bias { bias.data.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
            } } } }
        }
        return Tensor(shape: [b, cout] + outSize, data: y)
    }
}

/// im2col for 3D: col[(c, a, i, j), (fo, ho, wo)] = x[c, fo·sf − pf + a, ho·sh − ph + i, wo·sw − pw + j] (0 outside).
enum Im2Col {
    static func fill(_ col: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>, channels: Int, input: [Int],
                     kernel: [Int], output: [Int], frames: Range<Int>, geo: Conv3dGeometry) {
        walk(channels: channels, input: input, kernel: kernel, output: output, frames: frames, geo: geo) { colRow, xOff, valid, wo0, wo1, sw, wiStart in
            // Zero the invalid parts of the run, copy the valid middle.
            if !valid { for w in 0..<output[2] { col[colRow + w] = 0 }; return }
            for w in 0..<wo0 { col[colRow + w] = 0 }
            for w in wo1..<output[2] { col[colRow + w] = 0 }
            if sw == 1 { (col + colRow + wo0).update(from: x + xOff + wiStart + wo0, count: wo1 - wo0) }
            else { for w in wo0..<wo1 { col[colRow + w] = x[xOff + wiStart + w * sw] } }
        }
    }

    static func scatterAdd(_ col: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, channels: Int, input: [Int],
                           kernel: [Int], output: [Int], frames: Range<Int>, geo: Conv3dGeometry) {
        walk(channels: channels, input: input, kernel: kernel, output: output, frames: frames, geo: geo) { colRow, xOff, valid, wo0, wo1, sw, wiStart in
            guard valid else { return }
            for w in wo0..<wo1 { x[xOff + wiStart + w * sw] += col[colRow + w] }
        }
    }

    /// Visits each (column row, output frame in `frames`, output row) run along the output width; the
    /// column matrix covers just those frames ([K, |frames|·Ho·Wo]).
    /// body(colOffset, xRowOffset, rowValid, firstValidWo, endValidWo, strideW, wiOfWo0)
    @inline(__always)
    static func walk(channels: Int, input: [Int], kernel: [Int], output: [Int], frames: Range<Int>, geo: Conv3dGeometry,
                     _ body: (Int, Int, Bool, Int, Int, Int, Int) -> Void) {
        let (fi, hi, wi) = (input[0], input[1], input[2])
        let (kf, kh, kw) = (kernel[0], kernel[1], kernel[2])
        let (ho, wo) = (output[1], output[2])
        let (sf, sh, sw) = geo.stride
        let (pf, ph, pw) = (geo.padding[0].0, geo.padding[1].0, geo.padding[2].0)
        let n = frames.count * ho * wo
        var row = 0
        for c in 0..<channels {
            for a in 0..<kf {
                for i in 0..<kh {
                    for j in 0..<kw {
                        // Output columns wo with 0 ≤ wo·sw − pw + j < wi.
                        let start = j - pw
                        let wo0 = start >= 0 ? 0 : (-start + sw - 1) / sw
                        let wo1 = Swift.min(wo, wi - start <= 0 ? 0 : (wi - start - 1) / sw + 1)
                        for f in frames {
                            let fIn = f * sf - pf + a
                            for h in 0..<ho {
                                let hIn = h * sh - ph + i
                                let valid = fIn >= 0 && fIn < fi && hIn >= 0 && hIn < hi && wo0 < wo1
                                let xOff = ((c * fi + fIn) * hi + hIn) * wi
                                body(row * n + ((f - frames.lowerBound) * ho + h) * wo, xOff, valid, Swift.max(wo0, 0), Swift.max(wo1, wo0), sw, start)
                            }
                        }
                        row += 1
                    }
                }
            }
        }
    }

    /// Direct convolution in Double: the reference for `conv3d`.
    public static func naiveConv3d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ geo: Conv3dGeometry) -> Tensor {
        let (b, cin, cout) = (x.shape[0], x.shape[1], w.shape[0])
        let inSize = Array(x.shape[2...]), ks = Array(w.shape[2...])
        let os = geo.outputSize(input: inSize, kernel: ks)
        var y = [Float](repeating: 0, count: b * cout * os.product)
        var idx = 0
        for bi in 0..<b { for o in 0..<cout { for f in 0..<os[0] { for h in 0..<os[1] { for ww in 0..<os[2] {
            var s = Double(bias?.data[o] ?? 0)
            for c in 0..<cin { for a in 0..<ks[0] { for i in 0..<ks[1] { for j in 0..<ks[2] {
                let fi = f * geo.stride.0 - geo.padding[0].0 + a
                let hi = h * geo.stride.1 - geo.padding[1].0 + i
                let wi = ww * geo.stride.2 - geo.padding[2].0 + j
                guard fi >= 0, fi < inSize[0], hi >= 0, hi < inSize[1], wi >= 0, wi < inSize[2] else { continue }
                s += Double(x.data[(((bi * cin + c) * inSize[0] + fi) * inSize[1] + hi) * inSize[2] + wi])
                   * Double(w.data[(((o * cin + c) * ks[0] + a) * ks[1] + i) * ks[2] + j])
            } } } }
            y[idx] = Float(s); idx += 1
        } } } } }
        return Tensor(shape: [b, cout] + os, data: y)
    }
}

extension Tensor {
    /// Nearest-neighbour upsampling of [B, C, F, H, W] by integer factors (frames, height, width).
    public func upsampleNearest(_ factors: (Int, Int, Int)) -> Tensor {
        precondition(rank == 5, "upsampleNearest: input \(shape) must be [B, C, F, H, W]")
        let (ft, fh, fw) = factors
        let (bc, f, h, w) = (shape[0] * shape[1], shape[2], shape[3], shape[4])
        let (fo, ho, wo) = (f * ft, h * fh, w * fw)
        var y = [Float](repeating: 0, count: bc * fo * ho * wo)
        data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            for p in 0..<bc { for fi in 0..<fo { for hi in 0..<ho {
                let src = px.base + ((p * f + fi / ft) * h + hi / fh) * w
                let dst = py.base + ((p * fo + fi) * ho + hi) * wo
                for wi in 0..<wo { dst[wi] = src[wi / fw] }
            } } }
        } }
        let out = Tensor(shape: [shape[0], shape[1], fo, ho, wo], data: y)
        if Tensor.needsGrad(self) {
            let n = count
            out.record("upsample_nearest", [self]) { g in
                var gx = [Float](repeating: 0, count: n)
                g.withUnsafeBufferPointer { pg in gx.withUnsafeMutableBufferPointer { pd in
                    for p in 0..<bc { for fi in 0..<fo { for hi in 0..<ho {
                        let dst = pd.base + ((p * f + fi / ft) * h + hi / fh) * w
                        let src = pg.base + ((p * fo + fi) * ho + hi) * wo
                        for wi in 0..<wo { dst[wi / fw] += src[wi] }
                    } } }
                } }
                return [gx]
            }
        }
        return out
    }

    /// mean((a − b)²) → shape []
    public static func mse(_ a: Tensor, _ b: Tensor) -> Tensor { meanSquare(a, b, weights: nil) }

    /// mean(w·(a − b)²) → shape [], `weights` one per element of `a` (a's layout); the mean is over the
    /// elements, so weights of 1 give `mse(a, b)`.
    public static func mse(_ a: Tensor, _ b: Tensor, weights: [Float]) -> Tensor {
        precondition(weights.count == a.count, "mse: \(weights.count) weights for \(a.count) elements")
        return meanSquare(a, b, weights: weights)
    }

    static func meanSquare(_ a: Tensor, _ b: Tensor, weights w: [Float]?) -> Tensor {
        precondition(a.shape == b.shape, "mse: shapes \(a.shape) and \(b.shape) differ")
        var s = 0.0
        let n = a.count
        a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in
            for i in 0..<n { let d = Double(pa[i] - pb[i]); s += Double(w?[i] ?? 1) * d * d }
        } }
        let out = Tensor(shape: [], data: [Float(s / Double(Swift.max(n, 1)))])
        if needsGrad(a, b) {
            let (ad, bd, ra, rb) = (a.data, b.data, a.requiresGrad, b.requiresGrad)
            out.record("mse", [a, b]) { g in
                let k = 2 * g[0] / Float(Swift.max(n, 1))
                var d = [Float](repeating: 0, count: n)
                for i in 0..<n { d[i] = k * (w?[i] ?? 1) * (ad[i] - bd[i]) }
                var neg: [Float]? = nil
                if rb { var t = d; Kernels.scaleInPlace(&t, -1); neg = t }
                return [ra ? d : nil, neg]
            }
        }
        return out
    }
}
