// What the Sample screen offers as students: the bundled students (GPD-6 first) and distillation
// exports, never a teacher, whatever its folder is called (samples/demo/teacher-2x is one).
@testable import Studio
import XCTest

final class BackendTests: XCTestCase {
    func testStudentCandidatesAreTheBundledStudentsNotTeachers() throws {
        let candidates = SampleBackend.studentCandidates(runsRoot: NSTemporaryDirectory() + "gpd-no-runs-\(getpid())")
        let labels = candidates.map(\.label)
        XCTAssertEqual(labels.first, "demo:gpd6", "\(labels)")
        XCTAssertTrue(labels.contains("demo:pd6"), "\(labels)")
        XCTAssertFalse(labels.contains { $0.hasPrefix("demo:teacher") }, "teachers are not students: \(labels)")
        for c in candidates { XCTAssertTrue(SampleBackend.isStudent(folder: c.folder), c.folder) }
    }
}
