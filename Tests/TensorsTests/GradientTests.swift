// Finite-difference gradient checks for every differentiable op (Double-accumulated central
// differences; per-op step and tolerance where the op has kinks or large curvature).
import _TestSupport
@testable import Tensors
import XCTest

final class GradientTests: XCTestCase {
    func testArithmeticWithBroadcasting() {
        let a = randomTensor([2, 3, 4], seed: 1), b = randomTensor([3, 1], seed: 2), c = randomTensor([4], seed: 3)
        gradCheck([a, b], "add") { $0[0] + $0[1] }
        gradCheck([a, b], "sub") { $0[0] - $0[1] }
        gradCheck([a, c], "mul") { $0[0] * $0[1] }
        let pos = randomTensor([3, 1], seed: 4, lo: 0.5, hi: 2)
        gradCheck([a, pos], eps: 1e-3, "div") { $0[0] / $0[1] }
        gradCheck([a], "affine") { 2.5 * $0[0] - 1 }
        let s = randomTensor([1], seed: 5)
        gradCheck([a, s], "scalar-tensor broadcast") { $0[0] * $0[1] }
    }

    func testPointwise() {
        let x = randomTensor([5, 7], seed: 6, lo: -4, hi: 4)
        gradCheck([x], eps: 1e-3, "silu") { $0[0].silu() }
        gradCheck([x], eps: 1e-3, "gelu") { $0[0].gelu() }
        gradCheck([x], eps: 1e-3, "tanh") { $0[0].tanh() }
        gradCheck([randomTensor([5, 7], seed: 7, lo: -2, hi: 2)], eps: 1e-3, "exp") { $0[0].exp() }
        gradCheck([x], "square") { $0[0].square() }
        gradCheck([randomTensor([5, 7], seed: 8, lo: 0.5, hi: 3)], eps: 1e-3, "sqrt") { $0[0].sqrt() }
    }

    func testReductionsAndViews() {
        let x = randomTensor([2, 3, 4, 5], seed: 9)
        gradCheck([x], "sum") { $0[0].sum() }
        gradCheck([x], "mean axes") { $0[0].mean(axes: [1, 3], keepDims: true) }
        gradCheck([x], "sum axes") { $0[0].sum(axes: [0, -1]) }
        gradCheck([x], "reshape") { $0[0].reshape(6, -1) }
        gradCheck([x], "permute") { $0[0].permute(2, 0, 3, 1) }
        gradCheck([x], "transpose") { $0[0].transpose(1, 3) }
        gradCheck([x], "slice") { $0[0].slice(axis: 2, 1, 3) }
        let y = randomTensor([2, 2, 4, 5], seed: 10)
        gradCheck([x, y], "concat") { Tensor.concat([$0[0], $0[1]], axis: 1) }
        gradCheck([x], "pad") { $0[0].pad([(0, 0), (1, 2), (0, 1), (2, 0)]) }
    }

    func testMatmulAndLinear() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(ta ? [2, 4, 3] : [2, 3, 4], seed: 11), b = randomTensor(tb ? [2, 5, 4] : [2, 4, 5], seed: 12)
            gradCheck([a, b], "bmm tA=\(ta) tB=\(tb)") { $0[0].matmul($0[1], transA: ta, transB: tb) }
            let shared = randomTensor(tb ? [5, 4] : [4, 5], seed: 13)
            gradCheck([a, shared], "matmul shared tA=\(ta) tB=\(tb)") { $0[0].matmul($0[1], transA: ta, transB: tb) }
        }
        let x = randomTensor([2, 3, 6], seed: 14), w = randomTensor([4, 6], seed: 15), b = randomTensor([4], seed: 16)
        gradCheck([x, w, b], "linear") { $0[0].linear($0[1], $0[2]) }
        gradCheck([x, w], "linear no bias") { $0[0].linear($0[1]) }
    }

    func testNorms() {
        let x = randomTensor([3, 4, 8], seed: 17, lo: -2, hi: 2)
        let w = randomTensor([8], seed: 18, lo: 0.5, hi: 1.5), b = randomTensor([8], seed: 19)
        gradCheck([x, w, b], eps: 1e-3, "layerNorm affine") { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        gradCheck([x], eps: 1e-3, "layerNorm plain") { $0[0].layerNorm() }
        gradCheck([x, w], eps: 1e-3, "rmsNorm") { $0[0].rmsNorm(weight: $0[1]) }
        let v = randomTensor([2, 5, 3, 2, 2], seed: 20, lo: -2, hi: 2), g = randomTensor([5, 1, 1, 1], seed: 21, lo: 0.5, hi: 1.5)
        gradCheck([v, g], eps: 1e-3, "l2Norm") { $0[0].l2Norm(gamma: $0[1]) }
    }

    /// LayerNorm's and RMSNorm's backward and linear's bias gradient run their rows on the cores and sum
    /// their weight gradients over fixed blocks of 256 rows (`Parallel.blockSums`). At 600 rows — three
    /// blocks, the last one ragged — the gradients equal those of the same ops on 100-row slices (one
    /// block each; x's rows as they are, the weights' summed), and they are the same bit for bit with
    /// one, two and three workers.
    func testRowBlockedGradientsOverTheCores() {
        let (rows, d) = (600, 24)
        let x = randomTensor([rows, d], seed: 40), w = randomTensor([d], seed: 41, lo: 0.5, hi: 1.5)
        let b = randomTensor([d], seed: 42), r = randomTensor([d], seed: 43, lo: 0.5, hi: 1.5)
        let probe = randomTensor([rows, d], seed: 44)
        func norms(_ t: [Tensor], _ probe: Tensor) -> Tensor { (t[0].layerNorm(weight: t[1], bias: t[2]).rmsNorm(weight: t[3]) * probe).sum() }
        func gradients(_ inputs: [Tensor], workers: Int, _ loss: ([Tensor]) -> Tensor) -> [[Float]] {
            let saved = Parallel.workers
            Parallel.workers = workers
            defer { Parallel.workers = saved }
            for t in inputs { t.requiresGrad = true; t.zeroGrad() }
            loss(inputs).backward()
            return inputs.map { $0.grad ?? [] }
        }
        let whole = gradients([x, w, b, r], workers: 3) { norms($0, probe) }

        var sliceX: [Float] = [], sliceWeights = [[Double]](repeating: [Double](repeating: 0, count: d), count: 3)
        for start in stride(from: 0, to: rows, by: 100) {
            let xs = Tensor(shape: [100, d], data: Array(x.data[(start * d)..<((start + 100) * d)]))
            let ps = Tensor(shape: [100, d], data: Array(probe.data[(start * d)..<((start + 100) * d)]))
            let (ws, bs, rs) = (Tensor(shape: [d], data: w.data), Tensor(shape: [d], data: b.data), Tensor(shape: [d], data: r.data))
            let g = gradients([xs, ws, bs, rs], workers: 1) { norms($0, ps) }
            sliceX += g[0]
            for i in 0..<3 { for j in 0..<d { sliceWeights[i][j] += Double(g[i + 1][j]) } }
        }
        assertClose(whole[0], sliceX, atol: 1e-6, rtol: 1e-5, "x gradient: whole vs slices")
        for (i, name) in ["layerNorm weight", "layerNorm bias", "rmsNorm weight"].enumerated() {
            assertClose(whole[i + 1], sliceWeights[i].map { Float($0) }, atol: 1e-5, rtol: 1e-5, "\(name) gradient: whole vs slices")
        }
        for workers in [1, 2] { XCTAssertEqual(gradients([x, w, b, r], workers: workers) { norms($0, probe) }, whole, "norms, \(workers) workers") }

        // linear's bias gradient: Σ over rows of dy, here the probe's columns.
        let lw = randomTensor([d, d], seed: 45), lb = randomTensor([d], seed: 46)
        let bias = gradients([x, lw, lb], workers: 3) { ($0[0].linear($0[1], $0[2]) * probe).sum() }[2]
        let columns = (0..<d).map { j in Float((0..<rows).reduce(0.0) { $0 + Double(probe.data[$1 * d + j]) }) }
        assertClose(bias, columns, atol: 1e-5, rtol: 1e-5, "linear bias gradient")
        for workers in [1, 2] {
            XCTAssertEqual(gradients([x, lw, lb], workers: workers) { ($0[0].linear($0[1], $0[2]) * probe).sum() }[2], bias, "bias, \(workers) workers")
        }
    }

    func testSoftmaxAttentionRope() {
        let x = randomTensor([4, 9], seed: 22, lo: -3, hi: 3)
        gradCheck([x], eps: 1e-3, "softmax") { $0[0].softmax() }
        gradCheck([x], eps: 1e-3, "cross-entropy") { Tensor.crossEntropy($0[0], labels: [3, 0, 8, 3]) }
        let q = randomTensor([2, 5, 3, 4], seed: 23), k = randomTensor([2, 6, 3, 4], seed: 24), v = randomTensor([2, 6, 3, 4], seed: 25)
        gradCheck([q, k, v], eps: 1e-3, "attention") { Tensor.attention(q: $0[0], k: $0[1], v: $0[2]) }
        // A head dimension of 32, the Wan models' (whose inference takes the one-kernel path on AVX-512).
        let q32 = randomTensor([1, 9, 2, 32], seed: 27), k32 = randomTensor([1, 11, 2, 32], seed: 28), v32 = randomTensor([1, 11, 2, 32], seed: 29)
        gradCheck([q32, k32, v32], eps: 1e-3, "attention, d 32") { Tensor.attention(q: $0[0], k: $0[1], v: $0[2]) }
        let angles = randomTensor([5, 2], seed: 26, lo: -3, hi: 3).data
        let cos = Tensor(shape: [5, 2], data: angles.map { Foundation.cos($0) }), sin = Tensor(shape: [5, 2], data: angles.map { Foundation.sin($0) })
        gradCheck([q], "rope") { $0[0].rope(cos: cos, sin: sin) }
    }

    func testConvUpsampleMSE() {
        let x = randomTensor([2, 3, 4, 5, 5], seed: 27), w = randomTensor([4, 3, 3, 3, 3], seed: 28, lo: -0.3, hi: 0.3), b = randomTensor([4], seed: 29)
        let causal = Conv3dGeometry(padding: [(2, 0), (1, 1), (1, 1)])
        gradCheck([x, w, b], "conv3d causal") { $0[0].conv3d($0[1], $0[2], causal) }
        let strided = Conv3dGeometry(stride: (2, 2, 1), padding: [(0, 1), (0, 1), (1, 0)])
        gradCheck([x, w, b], "conv3d strided") { $0[0].conv3d($0[1], $0[2], strided) }
        let w1 = randomTensor([2, 3, 1, 1, 1], seed: 30)
        gradCheck([x, w1], "conv3d 1×1×1") { $0[0].conv3d($0[1]) }
        gradCheck([x], "upsample") { $0[0].upsampleNearest((2, 2, 2)) }
        let y = randomTensor([2, 3, 4, 5, 5], seed: 31)
        gradCheck([x, y], "mse") { Tensor.mse($0[0], $0[1]) }
        let weights = randomTensor([2, 3, 4, 5, 5], seed: 32, lo: 0, hi: 4).data
        gradCheck([x, y], "weighted mse") { Tensor.mse($0[0], $0[1], weights: weights) }
        // Weights of 1 are the plain mean square; the weighted one is the weighted mean of the squares.
        XCTAssertEqual(Tensor.mse(x, y, weights: [Float](repeating: 1, count: x.count)).item, Tensor.mse(x, y).item, accuracy: 1e-6)
        let p = Tensor(shape: [3], data: [1, 2, 3]), q = Tensor(shape: [3], data: [0, 0, 1])
        let expected: Float = (2 * 1 + 0 * 4 + 0.5 * 4) / 3
        XCTAssertEqual(Tensor.mse(p, q, weights: [2, 0, 0.5]).item, expected, accuracy: 1e-6)
    }

    /// The fused DiT arithmetic against its composition from broadcasting ops (values) and finite
    /// differences (gradients of every input).
    func testModulationAndGatedResidual() {
        let x = randomTensor([2, 5, 7], seed: 60), y = randomTensor([2, 5, 7], seed: 61)
        let s = randomTensor([2, 1, 7], seed: 62), t = randomTensor([2, 1, 7], seed: 63)
        assertClose(x.modulated(scale: s, shift: t).data, (x * (s + 1) + t).data, atol: 1e-6, rtol: 1e-6, "modulated")
        assertClose(x.addingGated(y, gate: s).data, (x + y * s).data, atol: 1e-6, rtol: 1e-6, "addingGated")
        gradCheck([x, s, t], "modulated") { $0[0].modulated(scale: $0[1], shift: $0[2]) }
        gradCheck([x, y, s], "addingGated") { $0[0].addingGated($0[1], gate: $0[2]) }
        // Rows spread over the cores (L·D above one grain), a gradient for one input only.
        let bx = randomTensor([3, 300, 128], seed: 64), bs = randomTensor([3, 1, 128], seed: 65)
        let bt = randomTensor([3, 1, 128], seed: 66)
        gradCheck([bx, bs, bt], maxPoints: 24, "modulated, many rows") { $0[0].modulated(scale: $0[1], shift: $0[2]) }
        let frozen = randomTensor([3, 1, 128], seed: 67)
        bx.zeroGrad(); bx.requiresGrad = true
        (bx.addingGated(bx, gate: frozen) * 2).sum().backward()
        XCTAssertNil(frozen.grad, "no gradient for an input that does not require one")
        let expected: [Float] = (0..<bx.count).map { (i: Int) -> Float in
            let g: Float = frozen.data[(i / (300 * 128)) * 128 + i % 128]
            return 2 * (1 + g)
        }
        assertClose(bx.grad!, expected, atol: 1e-5, rtol: 1e-5, "d(x + x·g)/dx = 2(1 + g)")
    }

    /// layerNormModulated against layerNorm then modulated: the same values and gradients bit for bit,
    /// small (finite differences too) and with the samples over the cores (one and three workers).
    func testLayerNormModulatedEqualsTheComposition() {
        func compare(_ shape: [Int], seed: UInt64, workers: Int) {
            let saved = Parallel.workers
            Parallel.workers = workers
            defer { Parallel.workers = saved }
            let (b, d) = (shape[0], shape[2])
            let x = randomTensor(shape, seed: seed, lo: -2, hi: 2), s = randomTensor([b, 1, d], seed: seed + 1)
            let t = randomTensor([b, 1, d], seed: seed + 2), probe = randomTensor(shape, seed: seed + 3)
            func run(_ f: ([Tensor]) -> Tensor) -> [[Float]] {
                for v in [x, s, t] { v.requiresGrad = true; v.zeroGrad() }
                let y = f([x, s, t])
                (y * probe).sum().backward()
                return [y.data] + [x, s, t].map { $0.grad ?? [] }
            }
            let fused = run { $0[0].layerNormModulated(scale: $0[1], shift: $0[2], eps: 1e-6) }
            let composed = run { $0[0].layerNorm(eps: 1e-6).modulated(scale: $0[1], shift: $0[2]) }
            for (i, what) in ["values", "dx", "dscale", "dshift"].enumerated() {
                XCTAssertEqual(fused[i], composed[i], "\(what), \(shape), \(workers) workers")
            }
        }
        compare([2, 5, 7], seed: 70, workers: 1)
        compare([3, 300, 128], seed: 74, workers: 1)
        compare([3, 300, 128], seed: 74, workers: 3)
        let x = randomTensor([2, 5, 7], seed: 80, lo: -2, hi: 2), s = randomTensor([2, 1, 7], seed: 81)
        let t = randomTensor([2, 1, 7], seed: 82)
        gradCheck([x, s, t], eps: 1e-3, "layerNormModulated") { $0[0].layerNormModulated(scale: $0[1], shift: $0[2]) }
    }

    /// rmsNormRope against rmsNorm, reshape into heads, then rope: the same values and gradients bit for
    /// bit — small (finite differences too) and at 2 × 300 tokens (three blocks of rows) with one and
    /// three workers.
    func testRMSNormRopeEqualsTheComposition() {
        func compare(b: Int, l: Int, heads: Int, d: Int, seed: UInt64, workers: Int) {
            let saved = Parallel.workers
            Parallel.workers = workers
            defer { Parallel.workers = saved }
            let x = randomTensor([b, l, heads * d], seed: seed, lo: -2, hi: 2), w = randomTensor([heads * d], seed: seed + 1, lo: 0.5, hi: 1.5)
            let angles = randomTensor([l, d / 2], seed: seed + 2, lo: -3, hi: 3)
            let cos = Tensor(shape: angles.shape, data: angles.data.map { Foundation.cos($0) })
            let sin = Tensor(shape: angles.shape, data: angles.data.map { Foundation.sin($0) })
            let probe = randomTensor([b, l, heads, d], seed: seed + 3)
            func run(_ f: ([Tensor]) -> Tensor) -> [[Float]] {
                for v in [x, w] { v.requiresGrad = true; v.zeroGrad() }
                let y = f([x, w])
                XCTAssertEqual(y.shape, [b, l, heads, d])
                (y * probe).sum().backward()
                return [y.data, x.grad ?? [], w.grad ?? []]
            }
            let fused = run { $0[0].rmsNormRope(weight: $0[1], eps: 1e-6, heads: heads, cos: cos, sin: sin) }
            let composed = run { $0[0].rmsNorm(weight: $0[1], eps: 1e-6).reshape(b, l, heads, d).rope(cos: cos, sin: sin) }
            for (i, what) in ["values", "dx", "dweight"].enumerated() {
                XCTAssertEqual(fused[i], composed[i], "\(what), \(b)×\(l)×\(heads)×\(d), \(workers) workers")
            }
        }
        compare(b: 2, l: 3, heads: 2, d: 4, seed: 90, workers: 1)
        compare(b: 2, l: 300, heads: 4, d: 32, seed: 94, workers: 1)
        compare(b: 2, l: 300, heads: 4, d: 32, seed: 94, workers: 3)
        let angles = randomTensor([3, 2], seed: 99, lo: -3, hi: 3)
        let cos = Tensor(shape: [3, 2], data: angles.data.map { Foundation.cos($0) })
        let sin = Tensor(shape: [3, 2], data: angles.data.map { Foundation.sin($0) })
        let x = randomTensor([2, 3, 8], seed: 97, lo: -2, hi: 2), w = randomTensor([8], seed: 98, lo: 0.5, hi: 1.5)
        gradCheck([x, w], eps: 1e-3, "rmsNormRope") { $0[0].rmsNormRope(weight: $0[1], eps: 1e-6, heads: 2, cos: cos, sin: sin) }
    }
}

import Foundation

final class GradCheckHarnessTests: XCTestCase {
    /// The harness must catch a wrong backward: y = x² recorded with dy/dx = x (half the truth).
    func testHarnessCatchesAWrongBackward() {
        let x = randomTensor([6], seed: 40, lo: 0.5, hi: 2)
        let errors = gradCheckErrors([x]) { inputs in
            let t = inputs[0]
            let y = Tensor(shape: t.shape, data: t.data.map { $0 * $0 })
            if Tensor.needsGrad(t) {
                let xd = t.data
                y.record("wrong_square", [t]) { g in [zip(g, xd).map { $0 * $1 }] }
            }
            return y
        }
        XCTAssertEqual(errors.count, 6, "every checked entry of a wrong gradient must be reported")
    }
}
