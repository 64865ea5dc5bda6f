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

    func testSoftmaxAttentionRope() {
        let x = randomTensor([4, 9], seed: 22, lo: -3, hi: 3)
        gradCheck([x], eps: 1e-3, "softmax") { $0[0].softmax() }
        gradCheck([x], eps: 1e-3, "cross-entropy") { Tensor.crossEntropy($0[0], labels: [3, 0, 8, 3]) }
        let q = randomTensor([2, 5, 3, 4], seed: 23), k = randomTensor([2, 6, 3, 4], seed: 24), v = randomTensor([2, 6, 3, 4], seed: 25)
        gradCheck([q, k, v], eps: 1e-3, "attention") { Tensor.attention(q: $0[0], k: $0[1], v: $0[2]) }
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
