// Philox RNG: known-answer vector, determinism, split-independence, and distribution moments.
import _TestSupport
import Tensors
import XCTest

final class RNGTests: XCTestCase {
    func testPhiloxKnownAnswer() {
        // Random123's kat_vectors: philox4x32-10 with counter 0 and key 0 → 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
        let r = RNG.philox(seed: 0, counter: 0)
        XCTAssertEqual([r.0, r.1, r.2, r.3], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
    }

    func testSameSeedSameStreamAndSplitsAgree() {
        var a = RNG(seed: 42), b = RNG(seed: 42)
        XCTAssertEqual(a.normal(1000), b.normal(1000))
        var whole = RNG(seed: 5), parts = RNG(seed: 5)
        XCTAssertEqual(whole.normal(16), parts.normal(8) + parts.normal(8))
        var other = RNG(seed: 43)
        XCTAssertNotEqual(RNG(seed: 42).position, 1)
        var fresh = RNG(seed: 42)
        XCTAssertNotEqual(fresh.normal(8), other.normal(8))
    }

    func testMoments() {
        var rng = RNG(seed: 123)
        let n = rng.normal(200_000)
        let mean = n.reduce(0.0) { $0 + Double($1) } / Double(n.count)
        let variance = n.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.015)
        let u = rng.uniform(100_000)
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(u.reduce(0.0) { $0 + Double($1) } / Double(u.count), 0.5, accuracy: 0.01)
        XCTAssertTrue(n.allSatisfy { $0.isFinite })
    }
}
