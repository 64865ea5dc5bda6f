// Distillation targets as pure functions over velocity fields (docs/design.md §2).
// A velocity field maps states [B, …] at per-sample noise levels σ [B] to velocities; an Euler jump
// from σ to σ' is x + (σ' − σ)·v. Grid indices refer to the teacher's N-interval grid.
import Diffusion
import Foundation
import Tensors

/// (states [B, …], σ per sample) → velocities [B, …]
public typealias VelocityField = (Tensor, [Float]) throws -> Tensor

/// The teacher's grid: σ_i = shift(1 − i/N) for i < N, σ_N = 0 (Wan's sampling sigmas). Its every k-th
/// point is the shifted N/k-step grid, so a student of horizon k samples on `student(k)`.
public enum Targets {
    /// One Euler jump of each sample from grid index a_b to a_b + span.
    static func jump(_ x: Tensor, from a: [Int], span: Int, grid: TeacherGrid, field: VelocityField) throws -> Tensor {
        let v = try field(x, a.map { grid.sigmas[$0] })
        return eulerMove(x, v, dsigma: a.map { grid.sigmas[$0 + span] - grid.sigmas[$0] })
    }

    static func eulerMove(_ x: Tensor, _ v: Tensor, dsigma: [Float]) -> Tensor {
        let per = x.count / x.shape[0]
        var out = x.data
        for b in 0..<x.shape[0] { let d = dsigma[b]; for j in 0..<per { out[b * per + j] += d * v.data[b * per + j] } }
        return Tensor(shape: x.shape, data: out)
    }

    static func velocity(from x: Tensor, to y: Tensor, a: [Int], span: Int, grid: TeacherGrid) -> Tensor {
        let per = x.count / x.shape[0]
        var out = [Float](repeating: 0, count: x.count)
        for b in 0..<x.shape[0] {
            let d = grid.sigmas[a[b] + span] - grid.sigmas[a[b]]
            for j in 0..<per { out[b * per + j] = (y.data[b * per + j] - x.data[b * per + j]) / d }
        }
        return Tensor(shape: x.shape, data: out)
    }

    /// GPD's guided target for a horizon-k student at grid indices a: the frozen previous-stage student
    /// (horizon p) jumps σ_a → σ_{a+p}, then the guided teacher takes the remaining k − p single
    /// intervals; v* = (x_{a+k} − x_a)/(σ_{a+k} − σ_a).
    public static func gpd(_ xa: Tensor, a: [Int], k: Int, p: Int, grid: TeacherGrid, previous: VelocityField, teacher: VelocityField) throws -> Tensor {
        precondition(p >= 1 && p < k, "gpd target: previous horizon \(p) must be in 1..<\(k)")
        var x = try jump(xa, from: a, span: p, grid: grid, field: previous)
        for i in p..<k { x = try jump(x, from: a.map { $0 + i }, span: 1, grid: grid, field: teacher) }
        return velocity(from: xa, to: x, a: a, span: k, grid: grid)
    }

    /// Classic progressive distillation (Salimans & Ho, for flow): two jumps of the previous model of
    /// horizon p = k/2; v* = [(σa−σb)v₁ + (σb−σc)v₂]/(σa−σc).
    public static func pd(_ xa: Tensor, a: [Int], k: Int, grid: TeacherGrid, previous: VelocityField) throws -> Tensor {
        precondition(k % 2 == 0, "pd target: horizon \(k) must be even")
        let p = k / 2
        let xb = try jump(xa, from: a, span: p, grid: grid, field: previous)
        let xc = try jump(xb, from: a.map { $0 + p }, span: p, grid: grid, field: previous)
        return velocity(from: xa, to: xc, a: a, span: k, grid: grid)
    }
}

/// A validated list of stage horizons over an N-step teacher grid.
public struct StagePlan: Equatable, Codable {
    public var horizons: [Int]

    public init(_ horizons: [Int], teacherSteps: Int, after current: Int = 1) throws {
        guard !horizons.isEmpty else { throw TrainError("the stage list is empty") }
        var prev = current
        for k in horizons {
            guard k > prev else { throw TrainError("stage horizons must increase: \(k) follows \(prev) in \(horizons)") }
            guard teacherSteps % k == 0 else {
                let ok = (2...teacherSteps).filter { teacherSteps % $0 == 0 && $0 > current }.map(String.init).joined(separator: ", ")
                throw TrainError("horizon \(k) does not divide the teacher's \(teacherSteps) steps (possible: \(ok))")
            }
            prev = k
        }
        self.horizons = horizons
    }
}
