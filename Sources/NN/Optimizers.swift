// AdamW exactly as torch.optim.AdamW (default, non-foreach math, float32): decoupled decay
// p ← p·(1 − lr·wd), bias-corrected moments, denom = √v/√(1−β₂ᵗ) + eps, p ← p − lr/(1−β₁ᵗ)·m/denom.
// Plus global-norm gradient clipping (torch.nn.utils.clip_grad_norm_), an EMA of weights, and the
// warm-up + cosine learning-rate schedule.
import Foundation
import Tensors

public final class AdamW {
    public let params: [Tensor]
    public var lr: Float
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var step = 0
    public private(set) var m: [[Float]]
    public private(set) var v: [[Float]]

    public init(_ params: [Tensor], lr: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.params = params
        self.lr = lr
        (beta1, beta2) = betas
        self.eps = eps
        self.weightDecay = weightDecay
        m = params.map { [Float](repeating: 0, count: $0.count) }
        v = m
    }

    /// One update from the accumulated gradients (parameters without a gradient are skipped, as torch does).
    public func update() {
        step += 1
        let bc1 = 1 - powf(beta1, Float(step))
        let bc2Sqrt = (1 - powf(beta2, Float(step))).squareRoot()
        let stepSize = lr / bc1
        let decay = 1 - lr * weightDecay
        let (b1, b2, e) = (beta1, beta2, eps)
        let params = params
        // Parameters over the cores, each one whole on one thread (the same arithmetic in any split).
        m.withUnsafeMutableBufferPointer { ms in v.withUnsafeMutableBufferPointer { vs in
            Parallel.balanced(params.map(\.count)) { i in
                let p = params[i]
                guard let g = p.grad else { return }
                p.data.withUnsafeMutableBufferPointer { pp in ms[i].withUnsafeMutableBufferPointer { pm in
                vs[i].withUnsafeMutableBufferPointer { pv in g.withUnsafeBufferPointer { pg in
                    for j in 0..<pp.count {
                        pp[j] *= decay
                        pm[j] = pm[j] * b1 + (1 - b1) * pg[j]                       // lerp as torch: m + (g − m)(1 − β₁)
                        pv[j] = pv[j] * b2 + (1 - b2) * pg[j] * pg[j]
                        let denom = pv[j].squareRoot() / bc2Sqrt + e
                        pp[j] -= stepSize * pm[j] / denom
                    }
                } } } }
            }
        } }
    }

    public func zeroGrad() { for p in params { p.zeroGrad() } }

    /// Moments and step as named tensors, for checkpoints ("<prefix>.m.<i>", "<prefix>.v.<i>").
    public func state(prefix: String = "optim") -> [String: Tensor] {
        var out: [String: Tensor] = ["\(prefix).step": Tensor(scalar: Float(step))]
        for i in params.indices {
            out["\(prefix).m.\(i)"] = Tensor(shape: params[i].shape, data: m[i])
            out["\(prefix).v.\(i)"] = Tensor(shape: params[i].shape, data: v[i])
        }
        return out
    }

    public func restore(_ state: [String: Tensor], prefix: String = "optim", path: String) throws {
        guard let s = state["\(prefix).step"] else { throw TensorError.missingTensor(name: "\(prefix).step", path: path) }
        step = Int(s.item)
        for i in params.indices {
            for (key, isM) in [("\(prefix).m.\(i)", true), ("\(prefix).v.\(i)", false)] {
                guard let t = state[key] else { throw TensorError.missingTensor(name: key, path: path) }
                guard t.count == params[i].count else { throw TensorError.wrongShape(name: key, expected: params[i].shape, actual: t.shape, path: path) }
                if isM { m[i] = t.data } else { v[i] = t.data }
            }
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (torch's clip_grad_norm_,
/// coefficient maxNorm/(norm + 1e-6) clamped to 1). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ params: [Tensor], maxNorm: Float) -> Float {
    // Each parameter's sum of squares on some core, added in parameter order: the same total as one thread.
    let sizes = params.map { $0.grad?.count ?? 0 }
    var squares = [Double](repeating: 0, count: params.count)
    squares.withUnsafeMutableBufferPointer { sq in
        Parallel.balanced(sizes) { i in if let g = params[i].grad { sq[i] = Kernels.dot(g, g) } }
    }
    let norm = Float(squares.reduce(0, +).squareRoot())
    let coef = min(maxNorm / (norm + 1e-6), 1)
    if coef < 1 { Parallel.balanced(sizes) { i in if params[i].grad != nil { Kernels.scaleInPlace(&params[i].grad!, coef) } } }
    return norm
}

/// Exponential moving average of parameters: shadow ← decay·shadow + (1 − decay)·p.
public final class EMA {
    public let decay: Float
    public private(set) var shadow: [[Float]]

    public init(_ params: [Tensor], decay: Float) {
        self.decay = decay
        shadow = params.map(\.data)
    }

    public func update(_ params: [Tensor]) {
        let d = decay
        shadow.withUnsafeMutableBufferPointer { shadows in
            Parallel.balanced(params.map(\.count)) { i in
                shadows[i].withUnsafeMutableBufferPointer { ps in params[i].data.withUnsafeBufferPointer { pp in
                    for j in 0..<ps.count { ps[j] = d * ps[j] + (1 - d) * pp[j] }
                } }
            }
        }
    }

    /// Copies the averaged values into `params` (e.g. to evaluate or export the EMA model).
    public func copy(to params: [Tensor]) { for (i, p) in params.enumerated() { p.data = shadow[i] } }

    public func restore(_ values: [[Float]]) {
        precondition(values.count == shadow.count && zip(values, shadow).allSatisfy { $0.count == $1.count }, "EMA.restore: shapes differ")
        shadow = values
    }
}

/// Linear warm-up from 0 over `warmup` steps, then a half-cosine from `peak` to `floor` at `total`.
public struct WarmupCosine: Codable, Equatable {
    public var peak: Float
    public var floor: Float
    public var warmup: Int
    public var total: Int

    public init(peak: Float, floor: Float = 0, warmup: Int, total: Int) {
        self.peak = peak; self.floor = floor; self.warmup = warmup; self.total = total
    }

    /// The rate for 0-based `step`: (step+1)/warmup·peak during warm-up, cosine after.
    public func rate(at step: Int) -> Float {
        if step < warmup { return peak * Float(step + 1) / Float(warmup) }
        let span = max(total - warmup, 1)
        let t = min(Float(step - warmup) / Float(span), 1)
        return floor + (peak - floor) * 0.5 * (1 + cosf(.pi * t))
    }
}
