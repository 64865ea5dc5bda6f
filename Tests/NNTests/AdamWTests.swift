// AdamW, clipping and the LR schedule against PyTorch: a tiny MLP (Linear-GELU-LayerNorm-Linear-
// SiLU-RMSNorm-Linear) trained 10 steps; every loss, gradient norm and the final weights must match
// torch's (Tests/NNTests/Fixtures/adamw_mlp.safetensors, scripts/make_engine_fixtures.py).
import _TestSupport
import NN
import Tensors
import XCTest

final class MLP: Module {
    let fc1: Linear, norm1: LayerNorm, fc2: Linear, norm2: RMSNorm, fc3: Linear

    init(rng: inout RNG) {
        fc1 = Linear(6, 16, rng: &rng)
        norm1 = LayerNorm(16)
        fc2 = Linear(16, 16, rng: &rng)
        norm2 = RMSNorm(16)
        fc3 = Linear(16, 4, rng: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        fc3(norm2(fc2(norm1(fc1(x).gelu())).silu()))
    }
}

final class AdamWTests: XCTestCase {
    func testTenStepsMatchPyTorch() throws {
        let f = try loadFixture("adamw_mlp.safetensors", bundle: .module)
        var rng = RNG(seed: 0)
        let model = MLP(rng: &rng)
        var initial: [String: Tensor] = [:]
        for (k, v) in f.tensors where k.hasPrefix("init.") { initial[String(k.dropFirst(5))] = v }
        try model.load(initial, path: "adamw_mlp.safetensors")
        XCTAssertEqual(model.namedParameters().map(\.0),
                       ["fc1.weight", "fc1.bias", "norm1.weight", "norm1.bias", "fc2.weight", "fc2.bias", "norm2.weight", "fc3.weight", "fc3.bias"])

        let x = try f.tensor("x"), target = try f.tensor("target")
        let schedule = WarmupCosine(peak: 1e-2, floor: 1e-3, warmup: 3, total: 10)
        let opt = AdamW(model.parameters(), lr: 1e-2, betas: (0.9, 0.99), eps: 1e-8, weightDecay: 0.05)
        var losses: [Float] = [], norms: [Float] = [], lrs: [Float] = []
        for step in 0..<10 {
            opt.lr = schedule.rate(at: step)
            opt.zeroGrad()
            let loss = Tensor.mse(model(x), target)
            loss.backward()
            norms.append(clipGradNorm(opt.params, maxNorm: 0.5))
            opt.update()
            losses.append(loss.item)
            lrs.append(opt.lr)
        }
        assertClose(lrs, try f.tensor("lrs").data, atol: 0, rtol: 1e-6, "learning rates")
        assertClose(losses, try f.tensor("losses").data, atol: 1e-6, rtol: 1e-5, "losses")
        assertClose(norms, try f.tensor("grad_norms").data, atol: 1e-6, rtol: 1e-5, "gradient norms")
        for (name, p) in model.namedParameters() {
            assertClose(p.data, try f.tensor("final." + name).data, atol: 1e-6, rtol: 1e-5, "final \(name)")
        }
        XCTAssertLessThan(losses.last!, losses.first!, "training must reduce the loss")
    }

    func testClipAndEMAAnalytic() {
        let a = Tensor(shape: [2], data: [0, 0], requiresGrad: true), b = Tensor(shape: [1], data: [0], requiresGrad: true)
        a.grad = [3, 0]; b.grad = [4]
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 1), 5)
        XCTAssertEqual(a.grad![0], 3 / (5 + 1e-6), accuracy: 1e-7)
        XCTAssertEqual(b.grad![0], 4 / (5 + 1e-6), accuracy: 1e-7)
        a.grad = [0.3, 0]
        XCTAssertEqual(clipGradNorm([a], maxNorm: 1), 0.3, accuracy: 1e-7)
        XCTAssertEqual(a.grad!, [0.3, 0], "below the limit nothing changes")

        let p = Tensor(shape: [1], data: [1], requiresGrad: true)
        let ema = EMA([p], decay: 0.9)
        p.data = [2]; ema.update([p])
        XCTAssertEqual(ema.shadow[0][0], 1.1, accuracy: 1e-6)
        p.data = [2]; ema.update([p])
        XCTAssertEqual(ema.shadow[0][0], 1.19, accuracy: 1e-6)
    }

    /// Clipping, AdamW and the EMA split a model's parameters over the cores (`Parallel.balanced`): with
    /// three workers on parameters of uneven sizes, well above the split's grain, every value must equal
    /// the one-thread run's bit for bit, and a parameter without a gradient must stay untouched.
    func testParametersSplitOverTheCoresMatchOneThread() {
        let sizes = [70_000, 3, 40_000, 128, 90_000, 1, 33_000]
        func run(workers: Int) -> (norm: Float, params: [[Float]], m: [[Float]], shadow: [[Float]]) {
            let saved = Parallel.workers
            Parallel.workers = workers
            defer { Parallel.workers = saved }
            var rng = RNG(seed: 11)
            let params = sizes.map { Tensor(shape: [$0], data: rng.normal($0), requiresGrad: true) }
            let opt = AdamW(params, lr: 1e-2, betas: (0.9, 0.99), weightDecay: 0.05)
            let ema = EMA(params, decay: 0.9)
            var norm: Float = 0
            for _ in 0..<3 {
                for (i, p) in params.enumerated() { p.grad = i == 5 ? nil : rng.normal(p.count).map { $0 * 3 } }
                norm = clipGradNorm(params, maxNorm: 1)
                opt.update()
                ema.update(params)
            }
            return (norm, params.map(\.data), opt.m, ema.shadow)
        }
        let one = run(workers: 1), split = run(workers: 3)
        XCTAssertGreaterThan(one.norm, 1, "the gradients must be clipped for the test to cover the scaling")
        XCTAssertEqual(split.norm, one.norm)
        XCTAssertEqual(split.params, one.params)
        XCTAssertEqual(split.m, one.m)
        XCTAssertEqual(split.shadow, one.shadow)
        XCTAssertEqual(one.m[5], [0], "a parameter without a gradient keeps its moments")

        for workers in [1, 2, 3, 8] {
            let saved = Parallel.workers
            Parallel.workers = workers
            defer { Parallel.workers = saved }
            for sizes in [sizes, [1 << 20], [5, 5], [], [1 << 16, 1 << 16, 1 << 16, 1 << 16, 1 << 16]] {
                var seen = [Int](repeating: 0, count: sizes.count)
                seen.withUnsafeMutableBufferPointer { s in Parallel.balanced(sizes) { i in s[i] += 1 } }
                XCTAssertEqual(seen, [Int](repeating: 1, count: sizes.count), "every index once: \(workers) workers, \(sizes)")
            }
        }
    }

    func testWarmupCosineShape() {
        let s = WarmupCosine(peak: 1, floor: 0.1, warmup: 4, total: 14)
        XCTAssertEqual(s.rate(at: 0), 0.25)
        XCTAssertEqual(s.rate(at: 3), 1)
        XCTAssertEqual(s.rate(at: 4), 1)
        XCTAssertEqual(s.rate(at: 9), 0.55, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 14), 0.1, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 100), 0.1, accuracy: 1e-6)
    }

    func testOptimizerStateRoundTrip() throws {
        var rng = RNG(seed: 3)
        let model = MLP(rng: &rng)
        let opt = AdamW(model.parameters())
        for p in model.parameters() { p.grad = [Float](repeating: 0.1, count: p.count) }
        opt.update(); opt.update()
        let state = opt.state()
        let other = AdamW(model.parameters())
        try other.restore(state, path: "mem")
        XCTAssertEqual(other.step, 2)
        XCTAssertEqual(other.m, opt.m)
        XCTAssertEqual(other.v, opt.v)
        XCTAssertThrowsError(try other.restore([:], path: "ckpt.safetensors")) { e in
            XCTAssertEqual(e as? TensorError, .missingTensor(name: "optim.step", path: "ckpt.safetensors"))
        }
    }
}
