// Data parallelism for the trainers (docs/parallel.md): every rank draws the whole global batch's
// inputs exactly as one process would (data indices, noise, timesteps, prompt dropout) and trains on
// its contiguous share of the rows; the loss is a mean over equal shares, so averaging the ranks'
// gradients over one flat buffer gives the gradient one process computes, up to the order of float
// sums. Clipping, the optimizer and the EMA then see the same numbers on every rank.
import Cluster
import Dispatch
import NN
import Tensors

extension World {
    /// The rows of a global batch this rank trains on; a batch that does not divide is refused.
    public func rows(ofBatch batch: Int, section: String = "[train] batch") throws -> Range<Int> {
        guard batch % size == 0 else {
            throw TrainError("\(section) \(batch) does not divide among \(size) processes: use a multiple of \(size), or another -np")
        }
        return share(of: batch)
    }

    /// Replaces each parameter's gradient by its mean over the ranks (one allreduce of a flat buffer).
    /// Returns the seconds the exchange took, packing and waiting included; 0 alone.
    @discardableResult
    public func averageGradients(_ params: [Tensor]) -> Double {
        guard size > 1 else { return 0 }
        let start = DispatchTime.now().uptimeNanoseconds
        var flat = [Float]()
        flat.reserveCapacity(params.reduce(0) { $0 + $1.count })
        for p in params { if let g = p.grad { flat += g } else { flat += [Float](repeating: 0, count: p.count) } }
        sum(&flat)
        let scale = 1 / Float(size)
        var offset = 0
        for p in params {
            p.grad = flat[offset..<(offset + p.count)].map { $0 * scale }
            offset += p.count
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The mean of `value` over the ranks.
    public func mean(_ value: Float) -> Float {
        guard size > 1 else { return value }
        var v = [Double(value)]
        sum(&v)
        return Float(v[0] / Double(size))
    }
}

extension World {
    /// The gradient exchange's time as a logged metric (none in a single process).
    public func exchangeMetrics(seconds: Double) -> [String: Double] {
        size > 1 ? ["allreduce_seconds": seconds] : [:]
    }
}
