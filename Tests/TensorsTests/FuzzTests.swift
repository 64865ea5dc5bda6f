// A seeded mutation loop over the safetensors reader: bytes flipped, inserted, deleted and truncated
// in a valid file, and header numbers replaced by extreme ones. Every variant must parse or throw;
// a crash fails the suite. Deterministic (RNG seed), bounded (a few thousand variants).
import _TestSupport
import Foundation
import Tensors
import XCTest

final class FuzzTests: XCTestCase {
    func testMutatedSafetensorsNeverCrashTheReader() throws {
        let valid = try Safetensors.serialize(["a": Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), "b": Tensor(shape: [4], data: [7, 8, 9, 10])],
                                              metadata: ["caption": "a red circle"], storage: .f32)
        var rng = RNG(seed: 2026)
        var parsed = 0, refused = 0
        let extremes = ["-1", "0", "18446744073709551615", "9223372036854775807", "4611686018427387904", "1e300", "null", "[]", "\"x\""]
        for i in 0..<3000 {
            var bytes = [UInt8](valid)
            switch i % 5 {
            case 0: for _ in 0..<(1 + rng.int(below: 4)) { bytes[rng.int(below: bytes.count)] = UInt8(rng.int(below: 256)) }
            case 1: bytes.removeSubrange(rng.int(below: bytes.count)..<bytes.count)
            case 2: bytes.insert(UInt8(rng.int(below: 256)), at: rng.int(below: bytes.count))
            case 3: bytes.remove(at: rng.int(below: bytes.count))
            default:
                // Replace one number in the JSON header with an extreme value (lengths re-stated).
                let n = Int(bytes[0]) | Int(bytes[1]) << 8
                var header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
                let numbers = header.ranges(of: #/[0-9]+/#)
                if !numbers.isEmpty {
                    header.replaceSubrange(numbers[rng.int(below: numbers.count)], with: extremes[rng.int(below: extremes.count)])
                }
                var len = UInt64(header.utf8.count).littleEndian
                bytes = [UInt8](Data(bytes: &len, count: 8)) + Array(header.utf8) + Array(bytes[(8 + n)...])
            }
            do { _ = try Safetensors.parse(Data(bytes)); parsed += 1 } catch { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 1000, "most mutations are refused")
        XCTAssertGreaterThan(parsed, 10, "some survive as valid files (flipped data bytes)")
    }
}
