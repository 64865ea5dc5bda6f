// Strided iteration shared by broadcasting, permute, slice and gradient reduction.
// Shapes are first coalesced (adjacent dims merged where every operand is contiguous across them)
// so the innermost loop is as long as possible.

struct StridedLayout {
    var shape: [Int]
    var strides: [[Int]]   // one stride vector per operand, element units

    /// Merge adjacent dims where all operands step contiguously; drop size-1 dims.
    func coalesced() -> StridedLayout {
        var shp: [Int] = []
        var str: [[Int]] = Array(repeating: [], count: strides.count)
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = shp.indices.last,
               (0..<strides.count).allSatisfy({ str[$0][last] == strides[$0][d] * shape[d] }) {
                shp[last] *= shape[d]
                for o in 0..<strides.count { str[o][last] = strides[o][d] }
            } else {
                shp.append(shape[d])
                for o in 0..<strides.count { str[o].append(strides[o][d]) }
            }
        }
        if shp.isEmpty { shp = [1]; for o in 0..<strides.count { str[o] = [0] } }
        return StridedLayout(shape: shp, strides: str)
    }

    /// Calls `body(offsets, innerCount, innerStrides)` once per innermost run.
    func forEachRun(_ body: (_ offsets: [Int], _ n: Int, _ innerStrides: [Int]) -> Void) {
        let rank = shape.count
        let inner = shape[rank - 1]
        let innerStrides = strides.map { $0[rank - 1] }
        let outerCount = shape.dropLast().reduce(1, *)
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        var offsets = [Int](repeating: 0, count: strides.count)
        for _ in 0..<outerCount {
            body(offsets, inner, innerStrides)
            // Increment the multi-index (odometer) over the outer dims and update offsets.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                for o in 0..<strides.count { offsets[o] += strides[o][d] }
                if index[d] < shape[d] { break }
                for o in 0..<strides.count { offsets[o] -= strides[o][d] * shape[d] }
                index[d] = 0
                d -= 1
            }
        }
    }
}

enum Broadcast {
    /// NumPy broadcasting of two shapes, or nil when incompatible.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides of `shape` viewed as `outShape` (0 along broadcast dims).
    static func strides(of shape: [Int], as outShape: [Int]) -> [Int] {
        let pad = outShape.count - shape.count
        let own = shape.rowMajorStrides
        return (0..<outShape.count).map { i in
            i < pad || shape[i - pad] == 1 ? 0 : own[i - pad]
        }
    }

    /// out[i] = f(a[...], b[...]) for broadcast inputs.
    @inline(__always)
    static func binary(_ a: [Float], _ aShape: [Int], _ b: [Float], _ bShape: [Int], _ outShape: [Int],
                       _ f: (Float, Float) -> Float) -> [Float] {
        if aShape == bShape {
            return Kernels.buffer(a.count) { po in
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                    for i in 0..<po.count { po[i] = f(pa[i], pb[i]) }
                } }
            }
        }
        var out = [Float](repeating: 0, count: outShape.product)
        let layout = StridedLayout(shape: outShape, strides: [outShape.rowMajorStrides,
                                                              strides(of: aShape, as: outShape),
                                                              strides(of: bShape, as: outShape)]).coalesced()
        out.withUnsafeMutableBufferPointer { po in
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                layout.forEachRun { off, n, st in
                    let o = po.base + off[0], x = pa.base + off[1], y = pb.base + off[2]
                    if st[1] == 1 && st[2] == 1 { for i in 0..<n { o[i] = f(x[i], y[i]) } }
                    else if st[1] == 1 && st[2] == 0 { let yv = y[0]; for i in 0..<n { o[i] = f(x[i], yv) } }
                    else if st[1] == 0 && st[2] == 1 { let xv = x[0]; for i in 0..<n { o[i] = f(xv, y[i]) } }
                    else { for i in 0..<n { o[i * st[0]] = f(x[i * st[1]], y[i * st[2]]) } }
                }
            } }
        }
        return out
    }

    /// Sum `g` (shape `from`) down to `to`, the shape it was broadcast from.
    static func reduce(_ g: [Float], from: [Int], to: [Int]) -> [Float] {
        if from == to { return g }
        var out = [Float](repeating: 0, count: to.product)
        let layout = StridedLayout(shape: from, strides: [from.rowMajorStrides, strides(of: to, as: from)]).coalesced()
        out.withUnsafeMutableBufferPointer { po in
            g.withUnsafeBufferPointer { pg in
                layout.forEachRun { off, n, st in
                    let x = pg.base + off[0], o = po.base + off[1]
                    if st[1] == 0 {
                        var s: Float = 0
                        for i in 0..<n { s += x[i * st[0]] }
                        o[0] += s
                    } else {
                        for i in 0..<n { o[i * st[1]] += x[i * st[0]] }
                    }
                }
            }
        }
        return out
    }
}

enum StridedCopy {
    /// dst (contiguous, shape `shape`) ← src read at `srcStrides` from `srcOffset`.
    static func gather(_ src: [Float], offset: Int, strides srcStrides: [Int], shape: [Int]) -> [Float] {
        var out = [Float](repeating: 0, count: shape.product)
        if out.isEmpty { return out }
        let layout = StridedLayout(shape: shape, strides: [shape.rowMajorStrides, srcStrides]).coalesced()
        out.withUnsafeMutableBufferPointer { po in
            src.withUnsafeBufferPointer { ps in
                layout.forEachRun { off, n, st in
                    let o = po.base + off[0], x = ps.base + offset + off[1]
                    if st[0] == 1 && st[1] == 1 { o.update(from: x, count: n) }
                    else { for i in 0..<n { o[i * st[0]] = x[i * st[1]] } }
                }
            }
        }
        return out
    }

    /// dst (read/write at `dstStrides` from `offset`) += src (contiguous, shape `shape`).
    static func scatterAdd(_ src: [Float], into dst: inout [Float], offset: Int, strides dstStrides: [Int], shape: [Int]) {
        if src.isEmpty { return }
        let layout = StridedLayout(shape: shape, strides: [shape.rowMajorStrides, dstStrides]).coalesced()
        dst.withUnsafeMutableBufferPointer { pd in
            src.withUnsafeBufferPointer { ps in
                layout.forEachRun { off, n, st in
                    let x = ps.base + off[0], o = pd.base + offset + off[1]
                    for i in 0..<n { o[i * st[1]] += x[i * st[0]] }
                }
            }
        }
    }
}
