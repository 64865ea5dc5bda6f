// Sampler trajectories against diffusers' schedulers with an analytic velocity
// v = tanh(W·x) + 0.001·t·x, for UniPC (N = 1, 2, 4, 10) and Euler, also from a begin index (the
// schedule's suffix, as image-to-image sampling runs it); and first-order UniP = Euler.
import _TestSupport
import Diffusion
import Tensors
import XCTest

final class SamplerTests: XCTestCase {
    func velocity(_ x: Tensor, _ t: Float, _ w: Tensor) -> Tensor {
        GradMode.withDisabled { x.matmul(w, transB: true).tanh() + x * (0.001 * t) }
    }

    func testTrajectoriesMatchDiffusers() throws {
        let f = try loadFixture("samplers.safetensors", bundle: .module)
        let w = try f.tensor("W"), x0 = try f.tensor("x0")
        for (kind, n, s) in [("unipc", 4, 3), ("unipc", 10, 5), ("unipc", 1, 3), ("unipc", 2, 5), ("euler", 4, 3), ("euler", 6, 5)] {
            let solver = Solver(rawValue: kind)!
            var sampler = FlowSampler(x: x0, schedule: try .preset(solver, steps: n, shift: Double(s)), solver: solver)
            let reference = try f.tensor("\(kind).n\(n).s\(s)")
            let per = x0.count
            var i = 0
            while !sampler.isDone {
                sampler.advance(velocity: velocity(sampler.x, sampler.timestep, w))
                i += 1
                let expected = Array(reference.data[(i * per)..<((i + 1) * per)])
                assertClose(sampler.x.data, expected, atol: 1e-5, rtol: 1e-5, "\(kind) N=\(n) s=\(s) step \(i)")
            }
            XCTAssertEqual(i, n)
        }
    }

    func testTheStepsFromABeginIndexMatchDiffusers() throws {
        // diffusers: set_timesteps(N), set_begin_index(k), then step through timesteps[k...] from x0;
        // here: a sampler on the schedule's suffix from k (its first UniPC step at first order, no corrector).
        let f = try loadFixture("samplers.safetensors", bundle: .module)
        let w = try f.tensor("W"), x0 = try f.tensor("x0")
        for (kind, n, s, k) in [("unipc", 10, 5, 4), ("unipc", 48, 3, 36), ("euler", 6, 5, 2)] {
            let solver = Solver(rawValue: kind)!
            let full = try FlowSchedule.preset(solver, steps: n, shift: Double(s))
            var sampler = FlowSampler(x: x0, schedule: full.suffix(from: k), solver: solver)
            let reference = try f.tensor("\(kind).n\(n).s\(s).from\(k)")
            let per = x0.count
            var i = 0
            while !sampler.isDone {
                XCTAssertEqual(sampler.timestep, full.timesteps[k + i])
                sampler.advance(velocity: velocity(sampler.x, sampler.timestep, w))
                i += 1
                assertClose(sampler.x.data, Array(reference.data[(i * per)..<((i + 1) * per)]), atol: 1e-5, rtol: 1e-5, "\(kind) N=\(n) s=\(s) from \(k), step \(i)")
            }
            XCTAssertEqual(i, n - k)
            XCTAssertEqual(reference.shape[0], n - k + 1)
        }
    }

    func testOneStepUniPCIsEuler() throws {
        let x = randomTensor([2, 3], seed: 1), v = randomTensor([2, 3], seed: 2)
        let schedule = try FlowSchedule.custom([0.8, 0.3, 0])
        var u = FlowSampler(x: x, schedule: schedule, solver: .unipc), e = FlowSampler(x: x, schedule: schedule, solver: .euler)
        u.advance(velocity: v); e.advance(velocity: v)
        assertClose(u.x, e.x, atol: 1e-6, rtol: 1e-6, "first UniPC step equals Euler")
    }

    func testExactVelocityReachesTheDataInOneEulerStep() throws {
        // For x_σ = (1−σ)x₀ + σε the true velocity is ε − x₀: one Euler step from σ to 0 lands on x₀.
        let x0 = randomTensor([4, 5], seed: 3), eps = randomTensor([4, 5], seed: 4)
        let sigma: Float = 0.7
        let xs = x0 * (1 - sigma) + eps * sigma
        var s = FlowSampler(x: xs, schedule: try .custom([sigma, 0]), solver: .euler)
        s.advance(velocity: eps - x0)
        assertClose(s.x, x0, atol: 1e-6, rtol: 1e-6, "one step")
    }
}
