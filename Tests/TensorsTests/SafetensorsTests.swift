// safetensors: round trip with metadata, F16 writing (exact for halves, nearest otherwise), F16/BF16/F64/I64 decoding of known bit patterns, and
// crafted bad files (truncated, oversized or overlong header, bad JSON, unknown dtype, offsets out of
// bounds, size mismatch) that must give a TensorError, never a crash.
import _TestSupport
import Tensors
import XCTest
import Foundation

final class SafetensorsTests: XCTestCase {
    /// A file from a header dictionary and a raw data buffer.
    func craft(_ header: String, _ payload: [UInt8], headerLength: UInt64? = nil) -> Data {
        var d = Data()
        var n = (headerLength ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: payload)
        return d
    }

    func testRoundTripKeepsValuesShapesAndMetadata() throws {
        let a = randomTensor([2, 3, 4], seed: 1), b = randomTensor([5], seed: 2), s = Tensor(scalar: 3.5)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpd-st-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.safetensors").path
        try Safetensors.write(["a": a, "b.weight": b, "s": s], metadata: ["format": "pt", "note": "ünïcode"], to: path)
        let f = try Safetensors.read(path)
        XCTAssertEqual(f.tensors["a"]?.shape, [2, 3, 4])
        XCTAssertEqual(f.tensors["a"]?.data, a.data)
        XCTAssertEqual(f.tensors["b.weight"]?.data, b.data)
        XCTAssertEqual(f.tensors["s"]?.shape, [])
        XCTAssertEqual(f.tensors["s"]?.item, 3.5)
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "ünïcode"])
        XCTAssertEqual(f.dtypes["a"], "F32")
        // Header length is a multiple of 8, as the format recommends.
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } % 8, 0)
        XCTAssertThrowsError(try f.tensor("a", shape: [3, 2, 4], path: path)) { e in
            XCTAssertEqual(e as? TensorError, .wrongShape(name: "a", expected: [3, 2, 4], actual: [2, 3, 4], path: path))
        }
        XCTAssertThrowsError(try f.tensor("missing", path: path))
    }

    func testWritesF16ExactlyAndRoundsToNearest() throws {
        // Every finite half value survives write → read bit for bit (the reader's decoder is our own).
        let halves = (0...0xFFFF).map { UInt16($0) }.filter { ($0 >> 10) & 0x1F != 0x1F }
        let exact = Tensor(shape: [halves.count], data: halves.map { Safetensors.halfToFloat($0) })
        let back = try Safetensors.parse(try Safetensors.serialize(["h": exact], storage: .f16))
        XCTAssertEqual(back.dtypes["h"], "F16")
        XCTAssertEqual(back.tensors["h"]?.data, exact.data)
        // Arbitrary floats come back as the nearest half: no representable half is closer.
        let x = randomTensor([4096], seed: 7)
        let scaled = Tensor(shape: [4096], data: x.data.enumerated().map { $1 * Float(1 << ($0 % 12)) / 64 })
        let r = try Safetensors.parse(try Safetensors.serialize(["x": scaled], storage: .f16)).tensors["x"]!.data
        for (v, h) in zip(scaled.data, r) {
            XCTAssertLessThanOrEqual(abs(v - h), abs(v) * 0x1p-11 + 0x1p-25, "\(v) → \(h)")
            let bits = Float16(h).bitPattern
            for n in [bits &- 1, bits &+ 1] where (n >> 10) & 0x1F != 0x1F && (n & 0x7FFF) != 0x7FFF {
                XCTAssertLessThanOrEqual(abs(v - h), abs(v - Safetensors.halfToFloat(n)), "\(v): \(h) is not the nearest half")
            }
        }
    }

    func testDecodesHalfBFloatDoubleAndIntegers() throws {
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal 2^-24 = 0x0001, +inf = 0x7C00
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00]
        // BF16: 1.0 = 0x3F80, -0.5 = 0xBF00, 3.140625 = 0x4049
        let bf16: [UInt16] = [0x3F80, 0xBF00, 0x4049]
        var payload: [UInt8] = []
        for v in f16 + bf16 { payload += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        for v in [Double(0.25), -1e10] { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload += $0 } }
        for v in [Int64(999), -3] { withUnsafeBytes(of: v.littleEndian) { payload += $0 } }
        let header = #"{"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[10,16]},"# +
            #""d":{"dtype":"F64","shape":[2],"data_offsets":[16,32]},"i":{"dtype":"I64","shape":[2],"data_offsets":[32,48]}}"#
        let f = try Safetensors.parse(craft(header, payload))
        XCTAssertEqual(f.tensors["h"]?.data, [1, -2, 65504, Float(sign: .plus, exponent: -24, significand: 1), .infinity])
        XCTAssertEqual(f.tensors["b"]?.data, [1, -0.5, 3.140625])
        XCTAssertEqual(f.tensors["d"]?.data, [0.25, -1e10])
        XCTAssertEqual(f.tensors["i"]?.data, [999, -3])
    }

    func testRejectsBadFiles() {
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let eight = [UInt8](repeating: 0, count: 8)
        XCTAssertNoThrow(try Safetensors.parse(craft(ok, eight)))
        let cases: [(String, Data, String)] = [
            ("empty", Data(), "shorter than the 8-byte"),
            ("truncated length", Data([1, 2, 3]), "shorter than the 8-byte"),
            ("oversized header", craft(ok, eight, headerLength: 1 << 40), "exceeds"),
            ("header past end", craft(ok, eight, headerLength: 500), "runs past the end"),
            ("not json", craft("{not json", eight), "not a JSON object"),
            ("json array", craft("[1,2]", eight), "not a JSON object"),
            ("unknown dtype", craft(#"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#, eight), "unsupported dtype Q4"),
            ("offsets past buffer", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, eight), "outside"),
            ("reversed offsets", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, eight), "outside"),
            ("size mismatch", craft(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, eight), "needs 12 bytes"),
            ("negative dim", craft(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, eight), "invalid shape"),
            ("huge dims", craft(#"{"a":{"dtype":"F32","shape":[1000000000,1000000000],"data_offsets":[0,8]}}"#, eight), "needs"),
            ("missing fields", craft(#"{"a":{"dtype":"F32"}}"#, eight), "lacks"),
            ("bad metadata", craft(#"{"__metadata__":{"k":3}}"#, eight), "not a string"),
        ]
        // The same files through the reader (pread, tensor by tensor), which checks before it reads.
        let dir = NSTemporaryDirectory() + "gpd-st-bad-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (what, data, expected) in cases {
            XCTAssertThrowsError(try Safetensors.parse(data, path: "bad.safetensors"), what) { e in
                let message = String(describing: e)
                XCTAssertTrue(message.contains(expected) && message.contains("bad.safetensors"), "\(what): \(message)")
            }
            let path = dir + "/bad.safetensors"
            XCTAssertNoThrow(try data.write(to: URL(fileURLWithPath: path)))
            XCTAssertThrowsError(try Safetensors.read(path), what) { e in
                let message = String(describing: e)
                XCTAssertTrue(message.contains(expected) && message.contains(path), "read, \(what): \(message)")
            }
        }
        XCTAssertThrowsError(try Safetensors.read("/nonexistent/x.safetensors")) { e in
            XCTAssertTrue(String(describing: e).contains("/nonexistent/x.safetensors"))
        }
    }
}
