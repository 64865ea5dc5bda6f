// Flow-matching samplers as a step machine: the caller evaluates the velocity at `x` and `timestep`,
// then `advance(velocity:)` moves to the next noise level. Euler, and UniPC (order 2, bh2, predict-x₀,
// lower-order final), written from docs/wan21.md §2 and equal to diffusers' schedulers.
// Scalars in Double from the Float sigmas; tensor updates in Float.
import Foundation
import Tensors

public struct FlowSampler {
    public let schedule: FlowSchedule
    public let solver: Solver
    /// The current state (σ = sigmas[step]).
    public private(set) var x: Tensor
    public private(set) var step = 0

    // UniPC state: the latest data predictions (x₀ estimates), the previous corrected sample, the
    // previous predictor order.
    private var history: [[Float]] = []
    private var lastSample: [Float]? = nil
    private var lastOrder = 1

    public init(x: Tensor, schedule: FlowSchedule, solver: Solver) {
        self.x = x.detached()
        self.schedule = schedule
        self.solver = solver
    }

    public var isDone: Bool { step >= schedule.steps }
    public var sigma: Float { schedule.sigmas[step] }
    public var timestep: Float { schedule.timesteps[step] }

    /// Moves x from sigmas[step] to sigmas[step + 1] given the velocity predicted at x.
    public mutating func advance(velocity v: Tensor) {
        precondition(!isDone, "FlowSampler: all \(schedule.steps) steps are done")
        precondition(v.shape == x.shape, "FlowSampler: velocity \(v.shape) does not match the state \(x.shape)")
        switch solver {
        case .euler:
            let dt = schedule.sigmas[step + 1] - schedule.sigmas[step]
            x = Tensor(shape: x.shape, data: zip(x.data, v.data).map { $0 + dt * $1 })
        case .unipc:
            x = Tensor(shape: x.shape, data: uniPCStep(v.data))
        }
        step += 1
    }

    static func lambda(_ sigma: Double) -> Double { Foundation.log(1 - sigma) - Foundation.log(sigma) }

    private mutating func uniPCStep(_ v: [Float]) -> [Float] {
        let s = schedule.sigmas.map(Double.init)
        let i = step, n = schedule.steps
        var xi = x.data
        // 1. Data prediction from the uncorrected sample.
        let si = Float(s[i])
        let m = zip(xi, v).map { $0 - si * $1 }

        // 2. Corrector (UniC) of order lastOrder, from the previous step's prediction.
        if i > 0, let prev = lastSample {
            let h = Self.lambda(s[i]) - Self.lambda(s[i - 1])
            let hh = -h, phi = expm1(hh), bh = phi
            let alpha = 1 - s[i], ratio = s[i] / s[i - 1]
            let m1 = history[history.count - 1]
            var rhoD = 0.0, rhoT = 0.5
            var d: [Float] = []
            if lastOrder == 2 {
                let m2 = history[history.count - 2]
                let r = (Self.lambda(s[i - 2]) - Self.lambda(s[i - 1])) / h
                let c1 = phi / hh - 1, b1 = c1 / bh, b2 = (c1 / hh - 0.5) * 2 / bh
                // Solve [[1, 1], [r, 1]]·ρ = [b1, b2].
                rhoD = (b1 - b2) / (1 - r)
                rhoT = b1 - rhoD
                d = zip(m2, m1).map { Float(Double($0 - $1) / r) }
            }
            let (a, b, c) = (Float(ratio), Float(alpha * phi), Float(alpha * bh))
            for j in 0..<xi.count {
                let base = a * prev[j] - b * m1[j]
                let corr = (d.isEmpty ? 0 : Float(rhoD) * d[j]) + Float(rhoT) * (m[j] - m1[j])
                xi[j] = base - c * corr
            }
        }
        history.append(m)
        if history.count > 2 { history.removeFirst() }
        lastSample = xi

        // 3. Predictor (UniP): first order at the first and the last step.
        let order = min(2, n - i, history.count)
        lastOrder = order
        if s[i + 1] == 0 { return m }
        let h = Self.lambda(s[i + 1]) - Self.lambda(s[i])
        let hh = -h, phi = expm1(hh), bh = phi
        let alphaNext = 1 - s[i + 1], ratio = s[i + 1] / s[i]
        var out = [Float](repeating: 0, count: xi.count)
        let (a, b) = (Float(ratio), Float(alphaNext * phi))
        for j in 0..<xi.count { out[j] = a * xi[j] - b * m[j] }
        if order == 2 {
            let mPrev = history[0]
            let r = (Self.lambda(s[i - 1]) - Self.lambda(s[i])) / h
            let c = Float(alphaNext * bh * 0.5 / r)
            for j in 0..<out.count { out[j] -= c * (mPrev[j] - m[j]) }
        }
        return out
    }
}

/// Classifier-free guidance on the velocity: v_u + g·(v_c − v_u).
public func guided(conditional vc: Tensor, unconditional vu: Tensor, scale g: Float) -> Tensor {
    precondition(vc.shape == vu.shape, "guided: \(vc.shape) vs \(vu.shape)")
    return Tensor(shape: vc.shape, data: zip(vc.data, vu.data).map { $1 + g * ($0 - $1) })
}
