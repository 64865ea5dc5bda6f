// Size-0 tensors are allowed: every op takes one (an empty batch, zero rows, zero tokens) and gives
// the right shape forward and zero-size gradients backward, without touching an empty buffer's
// address (which may be nil).
import _TestSupport
@testable import Tensors
import XCTest

final class EmptyTensorTests: XCTestCase {
    /// Runs `op` on the inputs, checks the output's shape, then backward through a sum (0 for an empty output).
    func check(_ inputs: [Tensor], _ expected: [Int], _ name: String, _ op: ([Tensor]) -> Tensor) {
        for t in inputs { t.requiresGrad = true; t.zeroGrad() }
        let y = op(inputs)
        XCTAssertEqual(y.shape, expected, name)
        let loss = y.sum()
        XCTAssertEqual(loss.data, [0], name)
        loss.backward()
        for (i, t) in inputs.enumerated() {
            let g = t.grad ?? [Float](repeating: 0, count: t.count)
            XCTAssertEqual(g.count, t.count, "\(name): gradient of input \(i)")
            XCTAssertTrue(g.allSatisfy { $0 == 0 }, "\(name): gradient of input \(i)")
        }
    }

    func testEveryOpTakesASizeZeroTensor() {
        let rows0 = { Tensor(zeros: [0, 8]) }
        let w = { randomTensor([8], seed: 1) }
        check([rows0(), randomTensor([4, 8], seed: 2)], [0, 4], "linear") { $0[0].linear($0[1]) }
        check([rows0(), randomTensor([8, 3], seed: 3)], [0, 3], "matmul") { $0[0].matmul($0[1]) }
        check([Tensor(zeros: [2, 0, 5]), Tensor(zeros: [2, 5, 3])], [2, 0, 3], "bmm, no rows") { $0[0].matmul($0[1]) }
        check([Tensor(zeros: [2, 4, 0]), Tensor(zeros: [2, 0, 3])], [2, 4, 3], "bmm, empty inner dimension") { $0[0].matmul($0[1]) }
        check([rows0(), w(), w()], [0, 8], "layerNorm") { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        check([rows0(), w()], [0, 8], "rmsNorm") { $0[0].rmsNorm(weight: $0[1]) }
        check([Tensor(zeros: [0, 4, 2, 3, 3])], [0, 4, 2, 3, 3], "l2Norm") { $0[0].l2Norm() }
        check([rows0()], [0, 8], "softmax") { $0[0].softmax() }
        check([rows0()], [0, 8], "silu, gelu, exp") { $0[0].silu().gelu().exp() }
        check([rows0(), w()], [0, 8], "broadcast arithmetic") { ($0[0] + $0[1]) * $0[1] - 2 * $0[0] }
        check([rows0()], [8], "sum over the empty axis") { $0[0].sum(axes: [0]) }
        check([rows0()], [0], "sum over the full axis") { $0[0].sum(axes: [1]) }
        check([rows0()], [8, 0], "transpose") { $0[0].transpose(0, 1) }
        check([rows0(), rows0()], [0, 16], "concat") { Tensor.concat([$0[0], $0[1]], axis: 1) }
        check([randomTensor([3, 8], seed: 4)], [0, 8], "empty slice") { $0[0].slice(axis: 0, 1, 1) }
        check([rows0()], [2, 8], "pad") { $0[0].pad([(1, 1), (0, 0)]) }
        check([Tensor(zeros: [0, 2, 3, 4, 4]), randomTensor([5, 2, 1, 3, 3], seed: 5), randomTensor([5], seed: 6)],
              [0, 5, 3, 4, 4], "conv3d, empty batch") { $0[0].conv3d($0[1], $0[2], Conv3dGeometry(padding: (0, 1, 1))) }
        // Attention over zero queries: [B, L, heads, d].
        let q = Tensor(zeros: [1, 0, 2, 4]), kv = randomTensor([1, 3, 2, 4], seed: 7)
        check([q, kv, kv], [1, 0, 2, 4], "attention, no queries") { Tensor.attention(q: $0[0], k: $0[1], v: $0[2]) }
        check([Tensor(zeros: [0, 8]), Tensor(zeros: [0, 8])], [], "mse of empty tensors") { Tensor.mse($0[0], $0[1]) * 0 }
        check([rows0()], [], "cross-entropy of no rows") { Tensor.crossEntropy($0[0], labels: []) }
        XCTAssertEqual(Tensor.embedding(randomTensor([5, 3], seed: 8), []).shape, [0, 3])
    }
}
