// The ShapesWorld text encoder: Wan's context interface (real rows then exact zeros), per-prompt
// independence of padding, errors, and gradients (embedding op and a whole encoder).
import _TestSupport
@testable import Models
import NN
import Tensors
import XCTest

final class TextEncoderTests: XCTestCase {
    func testInterface() throws {
        var rng = RNG(seed: 1)
        let enc = try TextEncoder(TextEncoderConfig(vocab: 20, dim: 8, layers: 2, heads: 2, ffn: 16, textLength: 6), rng: &rng)
        let y = try enc([[5, 6, 1], [1]])
        XCTAssertEqual(y.shape, [2, 6, 8])
        for (b, n) in [(0, 3), (1, 1)] {
            for l in 0..<6 {
                let row = (0..<8).map { y[b, l, $0] }
                if l < n { XCTAssertTrue(row.contains { $0 != 0 }) } else { XCTAssertEqual(row, [Float](repeating: 0, count: 8), "row \(l) of prompt \(b) must be exactly zero") }
            }
        }
        // A prompt's encoding does not depend on what it is batched with.
        let alone = try enc([[5, 6, 1]])
        XCTAssertEqual(Array(y.data[0..<48]), alone.data)
        XCTAssertThrowsError(try enc([[1, 2, 3, 4, 5, 6, 7]]))
        XCTAssertThrowsError(try enc([[25]]))
    }

    func testGradients() throws {
        let table = randomTensor([5, 3], seed: 2)
        gradCheck([table], "embedding") { Tensor.embedding($0[0], [4, 0, 4, 2]) }
        var rng = RNG(seed: 3)
        let enc = try TextEncoder(TextEncoderConfig(vocab: 12, dim: 4, layers: 1, heads: 2, ffn: 8, textLength: 5), rng: &rng)
        gradCheck(enc.parameters(), eps: 1e-2, atol: 3e-3, rtol: 2e-2, "text encoder") { _ in try! enc([[3, 4, 1], [7, 1]]) }
    }
}
