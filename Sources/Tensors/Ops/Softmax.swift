// Softmax over the last axis (max-subtracted, Float) with backward dx = y·(dy − Σ dy·y), and the
// cross-entropy of row logits against class labels.
import CKernels
import Foundation
import RealModule

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
    /// In place: each of `rows` rows of `cols` values (row stride `ld`) becomes its softmax. The
    /// exponentials run 16 lanes wide where the CPU has AVX-512 (`gpd_exp_row_shifted`: the same
    /// reduction and polynomial as `expRow`), 8 wide elsewhere.
    public static func rows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int) {
        let wide = GEMM.avx512Available && cols > 0
        for r in 0..<rows {
            let row = p + r * ld
            let inv = 1 / (wide ? gpd_exp_row_shifted(row, cols, 1) : expRow(row, cols))
            for j in 0..<cols { row[j] *= inv }
        }
    }

    /// In place: a row of `cols` values becomes exp(x − max), in one pass after the max; returns its
    /// sum. The softmax is the row divided by it — which a caller may apply later, to fewer values
    /// (attention divides its m × d output rather than the m × L probabilities).
    @inline(__always)
    public static func expRow(_ row: UnsafeMutablePointer<Float>, _ cols: Int) -> Float {
        let m = Kernels.max(row, cols)
        var s: Float = 0
        for j in 0..<cols {
            let e = Kernels.fastExp(row[j] - m)
            row[j] = e
            s = Relaxed.sum(s, e)
        }
        return s
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

extension Tensor {
    /// Mean cross-entropy of `logits` [N, C] against class indices `labels` (N of them, each 0..<C):
    /// mean over rows of logsumexp(row) − row[label] → shape []. Backward: (softmax − one-hot) / N.
    public static func crossEntropy(_ logits: Tensor, labels: [Int]) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "crossEntropy: logits \(logits.shape) need [N, C] with N = \(labels.count) labels")
        let (n, c) = (logits.shape[0], logits.shape[1])
        precondition(labels.allSatisfy { $0 >= 0 && $0 < c }, "crossEntropy: a label is outside 0..<\(c)")
        var p = logits.data
        var total = 0.0
        p.withUnsafeMutableBufferPointer { q in
            guard let base = q.baseAddress else { return }     // no rows
            for r in 0..<n {
                let row = base + r * c
                var m = -Float.infinity
                for j in 0..<c { m = Swift.max(m, row[j]) }
                var s = 0.0
                for j in 0..<c { s += Double(Foundation.exp(row[j] - m)) }
                total += Foundation.log(s) + Double(m) - Double(row[labels[r]])
            }
            Softmax.rows(base, rows: n, cols: c, ld: c)
        }
        let out = Tensor(shape: [], data: [Float(total / Double(Swift.max(n, 1)))])
        if needsGrad(logits) {
            out.record("cross_entropy", [logits]) { g in
                let k = g[0] / Float(Swift.max(n, 1))
                var d = p
                for r in 0..<n { d[r * c + labels[r]] -= 1 }
                return [d.map { $0 * k }]
            }
        }
        return out
    }
}
