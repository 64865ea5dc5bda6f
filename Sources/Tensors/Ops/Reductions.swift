// Sums and means over all values or over a set of axes (keepDims optional).

extension Tensor {
    /// Σ of every value → shape [].
    public func sum() -> Tensor {
        var s = 0.0
        data.withUnsafeBufferPointer { p in
            // Blocked Float partial sums, Double across blocks: fast and accurate enough.
            var i = 0
            while i < p.count {
                let end = min(i + 4096, p.count)
                var b: Float = 0
                for j in i..<end { b += p[j] }
                s += Double(b)
                i = end
            }
        }
        let out = Tensor(shape: [], data: [Float(s)])
        if Tensor.needsGrad(self) {
            let n = count
            out.record("sum", [self]) { g in [[Float](repeating: g[0], count: n)] }
        }
        return out
    }

    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Σ over `axes` (negative axes count from the end).
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let ax = Set(axes.map { normalizedAxis($0, "sum") })
        let kept = shape.enumerated().map { ax.contains($0.offset) ? 1 : $0.element }
        let reduced = Broadcast.reduce(data, from: shape, to: kept)
        let outShape = keepDims ? kept : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        let out = Tensor(shape: outShape, data: reduced)
        if Tensor.needsGrad(self) {
            let full = shape
            out.record("sum_axes", [self]) { g in
                [Broadcast.binary(g, kept, [0], [1], full, +)]   // broadcast g back to the full shape
            }
        }
        return out
    }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = Set(axes.map { normalizedAxis($0, "mean") }).map { shape[$0] }.product
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    func normalizedAxis(_ axis: Int, _ op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(op): axis \(axis) out of range for shape \(shape)")
        return a
    }
}
