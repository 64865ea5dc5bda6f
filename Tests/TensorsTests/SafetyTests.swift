// Inputs that cannot fit end in errors that say so, and atomic writes never follow a planted link
// (the reproductions of the safety review, as regression tests).
import _TestSupport
import Foundation
import Tensors
import XCTest

final class SafetyTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "safety-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A header declaring a 64 GB tensor over a sparse file of that size: every offset is valid, the
    /// tensor cannot fit; refused before a byte is allocated.
    func testATensorLargerThanMemoryIsRefusedByName() throws {
        let path = dir + "/huge.safetensors"
        let count = 16_000_000_000
        let header = Data("{\"frames\":{\"dtype\":\"F32\",\"shape\":[\(count)],\"data_offsets\":[0,\(4 * count)]}}".utf8)
        var n = UInt64(header.count).littleEndian
        var data = Data(bytes: &n, count: 8); data.append(header)
        try data.write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_WRONLY); defer { close(fd) }
        XCTAssertEqual(ftruncate(fd, off_t(8 + header.count + 4 * count)), 0, "a sparse file")
        XCTAssertThrowsError(try Safetensors.read(path)) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("this machine has"), "\(e)")
        }
    }

    func testSizesThatOverflowOrExceedMemoryAreErrors() {
        XCTAssertThrowsError(try MemoryBudget.count([1 << 40, 1 << 40], "x")) { XCTAssertTrue("\($0)".contains("more values than an Int")) }
        XCTAssertThrowsError(try MemoryBudget.checkShape([100_000, 100_000, 100], "the weights")) { e in
            XCTAssertTrue("\(e)".hasPrefix("the weights needs"), "\(e)")
        }
        XCTAssertEqual(try MemoryBudget.checkShape([17, 32, 32, 3], "a clip"), 17 * 32 * 32 * 3)
    }

    /// Symlinks planted at names a writer might use (the old `.NAME.tmp-PID`, and the target itself)
    /// are never written through: the victim keeps its bytes, the output is a new regular file.
    func testAtomicWritesNeverFollowAPlantedLink() throws {
        let victim = dir + "/victim", out = dir + "/out.safetensors"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: dir + "/.out.safetensors.tmp-\(getpid())", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(atPath: out, withDestinationPath: victim)
        try Safetensors.write(["x": Tensor(shape: [2], data: [1, 2])], to: out)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious")
        XCTAssertEqual(try Safetensors.read(out).tensors["x"]?.data, [1, 2])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: out)[.type] as? FileAttributeType, .typeRegular)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") && !$0.hasSuffix("-\(getpid())") }
        XCTAssertEqual(leftovers, [], "no temporary file is left behind")
    }
}
