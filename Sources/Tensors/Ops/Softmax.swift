// Softmax over the last axis (max-subtracted, Float) with backward dx = y·(dy − Σ dy·y).

extension Tensor {
    public func softmax() -> Tensor {
        let d = shape.last ?? 1
        var y = data
        y.withUnsafeMutableBufferPointer { p in Softmax.rows(p.base, rows: count / Swift.max(d, 1), cols: d, ld: d) }
        let out = Tensor(shape: shape, data: y)
        if Tensor.needsGrad(self) {
            out.record("softmax", [self]) { g in
                var gx = [Float](repeating: 0, count: g.count)
                g.withUnsafeBufferPointer { pg in y.withUnsafeBufferPointer { py in gx.withUnsafeMutableBufferPointer { pd in
                    Softmax.backwardRows(y: py.base, dy: pg.base, dx: pd.base, rows: g.count / Swift.max(d, 1), cols: d, ld: d)
                } } }
                return [gx]
            }
        }
        return out
    }
}

/// Row softmax kernels on raw pointers (shared by `softmax` and `attention`).
public enum Softmax {
    /// In place: each of `rows` rows of `cols` values (row stride `ld`) becomes its softmax.
    public static func rows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int) {
        for r in 0..<rows {
            let row = p + r * ld
            let m = Kernels.max(row, cols)
            for j in 0..<cols { row[j] = Kernels.fastExp(row[j] - m) }
            let inv = 1 / Kernels.sum(row, cols)
            for j in 0..<cols { row[j] *= inv }
        }
    }

    /// dx = y·(dy − Σ_j dy_j·y_j), row by row.
    public static func backwardRows(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                    rows: Int, cols: Int, ld: Int) {
        for r in 0..<rows {
            let yr = y + r * ld, gr = dy + r * ld, dr = dx + r * ld
            let s = Kernels.dot(gr, yr, cols)
            for j in 0..<cols { dr[j] = yr[j] * (gr[j] - s) }
        }
    }
}
