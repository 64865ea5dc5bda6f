// Ops against PyTorch (Tests/TensorsTests/Fixtures/ops.safetensors, scripts/make_engine_fixtures.py):
// forward values and the gradients of every input for a fixed upstream gradient. Plus the
// im2col convolution against the direct one over odd shapes, strides and paddings.
import _TestSupport
@testable import Tensors
import XCTest

final class ReferenceTests: XCTestCase {
    var fixture: SafetensorsFile!

    override func setUpWithError() throws { fixture = try loadFixture("ops.safetensors", bundle: .module) }

    /// Runs `f` on the fixture inputs `names`, compares output and input gradients with torch.
    func check(_ op: String, _ names: [String], atol: Float = 1e-5, rtol: Float = 1e-4,
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) throws {
        let inputs = try names.map { try fixture.tensor("\(op).in.\($0)").detached() }
        for t in inputs { t.requiresGrad = true }
        let y = f(inputs)
        assertClose(y, try fixture.tensor("\(op).out"), atol: atol, rtol: rtol, "\(op) forward", file: file, line: line)
        y.backward(seed: try fixture.tensor("\(op).gout").data)
        for (name, t) in zip(names, inputs) {
            assertClose(t.grad ?? [], try fixture.tensor("\(op).grad.\(name)").data, atol: atol, rtol: rtol, "\(op) d\(name)", file: file, line: line)
        }
    }

    func testAgainstPyTorch() throws {
        try check("layer_norm", ["x", "w", "b"]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        try check("layer_norm_plain", ["x"]) { $0[0].layerNorm() }
        try check("rms_norm", ["x", "w"]) { $0[0].rmsNorm(weight: $0[1]) }
        try check("gelu", ["x"]) { $0[0].gelu() }
        try check("silu", ["x"]) { $0[0].silu() }
        try check("softmax", ["x"]) { $0[0].softmax() }
        try check("attention", ["q", "k", "v"]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2]) }
        try check("conv3d_causal", ["x", "w", "b"]) { $0[0].conv3d($0[1], $0[2], Conv3dGeometry(padding: [(2, 0), (1, 1), (1, 1)])) }
        try check("conv3d_down", ["x", "w", "b"]) {
            $0[0].conv3d($0[1], $0[2], Conv3dGeometry(stride: (1, 2, 2), padding: [(0, 0), (0, 1), (0, 1)]))
        }
        try check("conv3d_time", ["x", "w", "b"]) { $0[0].conv3d($0[1], $0[2], Conv3dGeometry(stride: (2, 1, 1))) }
        try check("upsample", ["x"]) { $0[0].upsampleNearest((1, 2, 2)) }
    }

    func testConvMatchesDirectConvolution() {
        var seed: UInt64 = 100
        let cases: [([Int], [Int], Conv3dGeometry)] = [
            ([1, 2, 5, 7, 6], [3, 2, 3, 3, 3], .init(padding: [(2, 0), (1, 1), (1, 1)])),
            ([2, 3, 3, 9, 8], [4, 3, 1, 3, 3], .init(stride: (1, 2, 2), padding: [(0, 0), (0, 1), (0, 1)])),
            ([1, 2, 7, 3, 4], [2, 2, 3, 1, 1], .init(stride: (2, 1, 1))),
            ([1, 1, 4, 5, 5], [2, 1, 2, 2, 3], .init(stride: (2, 3, 2), padding: [(1, 1), (2, 0), (0, 2)])),
            ([2, 4, 2, 3, 3], [5, 4, 1, 1, 1], .init()),
            // Stride 1 without a graph takes the direct kernel on AVX-512: rows of 1 to 37 outputs (one,
            // two and three 16-wide segments, two short rows per tile, a lone last segment), 3 to 11
            // output channels (a part-filled block of 8), 2D kernels, asymmetric padding, two batch entries.
            ([2, 3, 4, 6, 37], [11, 3, 3, 3, 3], .init(padding: [(2, 0), (1, 1), (1, 1)])),
            ([1, 5, 2, 5, 16], [3, 5, 1, 3, 3], .init(padding: [(0, 0), (1, 1), (1, 1)])),
            ([1, 2, 3, 3, 1], [9, 2, 3, 1, 1], .init(padding: [(2, 0), (0, 0), (0, 0)])),
            ([1, 2, 2, 7, 9], [8, 2, 2, 2, 3], .init(padding: [(1, 0), (0, 2), (2, 1)])),
        ]
        for (xs, ws, geo) in cases {
            seed += 1
            let x = randomTensor(xs, seed: seed), w = randomTensor(ws, seed: seed + 50), b = randomTensor([ws[0]], seed: seed + 70)
            assertClose(x.conv3d(w, b, geo), Im2Col.naiveConv3d(x, w, b, geo), atol: 1e-5, rtol: 1e-5, "conv \(xs) * \(ws)")
        }
    }

    func testFastExpAccuracy() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let rel = abs(Kernels.fastExp(x) - Foundation.exp(x)) / Foundation.exp(x)
            worst = max(worst, rel)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(Kernels.fastExp(-200), 0)
        XCTAssertEqual(Kernels.fastExp(200), .infinity)
    }

    /// Cross-entropy's analytic values: uniform logits cost log C; a row [a, b] costs log(1 + e^(b−a))
    /// for label 0, also where the logits are far beyond exp's range.
    func testCrossEntropyAnalyticValues() {
        let uniform = Tensor.crossEntropy(Tensor(shape: [3, 5], data: [Float](repeating: 0.7, count: 15)), labels: [0, 4, 2])
        XCTAssertEqual(uniform.item, Foundation.log(5), accuracy: 1e-6)
        let pairs = Tensor(shape: [2, 2], data: [2, -1, 1000, 997])
        let want = (Foundation.log(1 + Foundation.exp(-3.0)) + Foundation.log(1 + Foundation.exp(-3.0))) / 2
        XCTAssertEqual(Double(Tensor.crossEntropy(pairs, labels: [0, 0]).item), want, accuracy: 1e-6)
        let wrong = Tensor.crossEntropy(pairs, labels: [1, 1]).item
        XCTAssertEqual(Double(wrong), Foundation.log(1 + Foundation.exp(3.0)), accuracy: 1e-5)
    }

    /// The vectorised row maximum equals a plain scan at every length around its 32-value chunks and
    /// wherever the maximum sits (first, middle of a chunk, the scalar tail, last).
    func testRowMaximumAtEveryLengthAndPosition() {
        for n in 0...100 {
            let base = randomTensor([max(n, 1)], seed: UInt64(n) + 300).data.prefix(n).map { $0 - 2 }
            for at in Set([0, n / 2, 31, 32, 63, n - 1]) where at >= 0 && at < n {
                var x = Array(base)
                x[at] = 5 + Float(at) * 1e-3
                let got = x.withUnsafeBufferPointer { Kernels.max($0.base, n) }
                XCTAssertEqual(got, x.max(), "n \(n), maximum at \(at)")
            }
            if n == 0 { XCTAssertEqual([Float]().withUnsafeBufferPointer { Kernels.max($0.base, 0) }, -.infinity) }
        }
        let negative = [Float](repeating: -1e30, count: 40)
        XCTAssertEqual(negative.withUnsafeBufferPointer { Kernels.max($0.base, 40) }, -1e30, "all values below zero")
    }
}

import Foundation
