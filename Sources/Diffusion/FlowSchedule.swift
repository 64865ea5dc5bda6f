// Sigma schedules for flow matching (x_σ = (1−σ)·x₀ + σ·ε, t = 1000·σ), equal to diffusers' tables
// (docs/wan21.md §2): UniPCMultistepScheduler(use_flow_sigmas, flow_prediction, flow_shift)
// and FlowMatchEulerDiscreteScheduler(shift), plus validated custom sigma lists (the schedule editor).
import Foundation

public enum Solver: String, Codable, CaseIterable {
    case euler, unipc
}

public struct FlowSchedule: Equatable, Codable {
    /// N+1 noise levels, σ₀ > σ₁ > … > σ_N = 0 (stored as Float, as diffusers does).
    public var sigmas: [Float]
    /// N model timesteps (UniPC: ⌊1000·σ⌋ integers; Euler and custom: 1000·σ).
    public var timesteps: [Float]

    public var steps: Int { timesteps.count }

    /// σ' = s·σ / (1 + (s − 1)·σ)
    public static func shift(_ sigma: Double, _ s: Double) -> Double { s * sigma / (1 + (s - 1) * sigma) }

    /// diffusers UniPC with use_flow_sigmas and final_sigmas_type "zero".
    public static func unipc(steps n: Int, shift s: Double) throws -> FlowSchedule {
        try checkSteps(n, shift: s)
        // σ = linspace(1, 1/1000, N+1)[:-1], shifted, σ₀ nudged below 1, t = int(1000·σ).
        var sigmas = (0..<n).map { i -> Double in
            let alpha = 1 + (1.0 / 1000 - 1) * Double(i) / Double(n)
            return shift(alpha, s)
        }
        if abs(sigmas[0] - 1) < 1e-6 { sigmas[0] -= 1e-6 }
        let timesteps = sigmas.map { Float(Int64($0 * 1000)) }
        return FlowSchedule(sigmas: sigmas.map { Float($0) } + [0], timesteps: timesteps)
    }

    /// diffusers FlowMatchEulerDiscreteScheduler(shift): its training table is shifted once in Float
    /// (giving σ_min), then the inference grid linspace(σ_max, σ_min) is shifted again (a quirk kept
    /// for parity); timesteps are 1000·σ in Float.
    public static func euler(steps n: Int, shift s: Double) throws -> FlowSchedule {
        try checkSteps(n, shift: s)
        let sf = Float(s)
        let trainMin: Float = 1 / 1000
        let sigmaMin = Double(sf * trainMin / (1 + (sf - 1) * trainMin))
        let sigmaMax = 1.0
        let ts = (0..<n).map { i -> Double in
            n == 1 ? sigmaMax * 1000 : sigmaMax * 1000 + (sigmaMin * 1000 - sigmaMax * 1000) * Double(i) / Double(n - 1)
        }
        let sigmas = ts.map { Float(shift($0 / 1000, s)) }
        return FlowSchedule(sigmas: sigmas + [0], timesteps: sigmas.map { $0 * 1000 })
    }

    public static func preset(_ solver: Solver, steps: Int, shift: Double) throws -> FlowSchedule {
        switch solver {
        case .unipc: return try unipc(steps: steps, shift: shift)
        case .euler: return try euler(steps: steps, shift: shift)
        }
    }

    /// The first step that `strength` runs when sampling starts from a noised clean clip rather than from
    /// noise, as diffusers' image-to-image pipelines count it: the last ⌊N·strength⌋ of the N steps, so
    /// strength 1 is every step. Throws when that is no step at all.
    public func firstStep(strength: Double) throws -> Int {
        guard strength.isFinite, strength > 0, strength <= 1 else {
            throw ScheduleError.invalid("strength must be in (0, 1], got \(strength)")
        }
        let run = min(Int(Double(steps) * strength), steps)
        guard run >= 1 else {
            throw ScheduleError.invalid("strength \(strength) runs none of the \(steps) steps (it needs at least 1/\(steps))")
        }
        return steps - run
    }

    /// The steps from step `k` on (σ_k … 0), with their own timesteps: a multistep solver run on them
    /// starts afresh, at first order, as diffusers' schedulers do from a begin index (trajectories equal
    /// to theirs: SamplerTests.testTheStepsFromABeginIndexMatchDiffusers).
    public func suffix(from k: Int) -> FlowSchedule {
        precondition((0..<steps).contains(k), "FlowSchedule.suffix: step \(k) of \(steps)")
        return FlowSchedule(sigmas: Array(sigmas[k...]), timesteps: Array(timesteps[k...]))
    }

    /// A custom list: strictly decreasing, first ≤ 1, last = 0, all finite. Timesteps are 1000·σ.
    public static func custom(_ sigmas: [Float]) throws -> FlowSchedule {
        try validate(sigmas)
        return FlowSchedule(sigmas: sigmas, timesteps: sigmas.dropLast().map { $0 * 1000 })
    }

    public static func validate(_ sigmas: [Float]) throws {
        guard sigmas.count >= 2 else { throw ScheduleError.invalid("needs at least two values (one step), got \(sigmas.count)") }
        if let i = sigmas.firstIndex(where: { !$0.isFinite }) { throw ScheduleError.invalid("value \(i + 1) is not a finite number") }
        guard sigmas[0] <= 1 else { throw ScheduleError.invalid("the first sigma is \(sigmas[0]); it must be at most 1") }
        guard sigmas.last == 0 else { throw ScheduleError.invalid("the last sigma is \(sigmas.last!); it must be 0") }
        for i in 1..<sigmas.count where !(sigmas[i] < sigmas[i - 1]) {
            throw ScheduleError.invalid("sigmas must strictly decrease: value \(i + 1) (\(sigmas[i])) is not below value \(i) (\(sigmas[i - 1]))")
        }
    }

    static func checkSteps(_ n: Int, shift s: Double) throws {
        guard n >= 1 else { throw ScheduleError.invalid("steps must be at least 1, got \(n)") }
        guard n <= 1000 else { throw ScheduleError.invalid("steps must be at most 1000, got \(n)") }
        guard s.isFinite, s > 0 else { throw ScheduleError.invalid("shift must be a positive number, got \(s)") }
    }

    /// Parses "1,0.8,0.5,0" (the CLI's --sigmas).
    public static func parse(_ text: String) throws -> [Float] {
        try text.split(separator: ",").map { part in
            let s = part.trimmingCharacters(in: .whitespaces)
            guard let v = Float(s) else { throw ScheduleError.invalid("'\(s)' is not a number") }
            return v
        }
    }
}

public enum ScheduleError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String {
        switch self { case let .invalid(m): return "invalid schedule: \(m)" }
    }
}
