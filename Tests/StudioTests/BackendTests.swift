// What the Sample screen offers as students: the bundled students, those distilled from the current
// teacher first (GPD before PD), and distillation exports — never a teacher, whatever its folder is
// called (samples/demo/teacher-2x is one). The studio opens on teacher-struct and its GPD-6.
@testable import Studio
import ModelFolders
import XCTest

final class BackendTests: XCTestCase {
    let noRuns = NSTemporaryDirectory() + "gpd-no-runs-\(getpid())"

    func testStudentCandidatesAreTheBundledStudentsNotTeachers() throws {
        let labels = SampleBackend.studentCandidates(runsRoot: noRuns).map(\.label)
        for s in ["demo:gpd6", "demo:pd6", "demo:gpd6-struct", "demo:pd6-struct"] { XCTAssertTrue(labels.contains(s), "\(s) in \(labels)") }
        XCTAssertFalse(labels.contains { $0.hasPrefix("demo:teacher") }, "teachers are not students: \(labels)")
        for c in SampleBackend.studentCandidates(runsRoot: noRuns) { XCTAssertTrue(SampleBackend.isStudent(folder: c.folder), c.folder) }
    }

    func testTheTeachersOwnStudentsComeFirst() throws {
        for (teacher, first) in [("teacher-struct", ["demo:gpd6-struct", "demo:pd6-struct"]), ("teacher", ["demo:gpd6", "demo:pd6"])] {
            // The folder named another way (a trailing "/." and a "..") is still the same teacher.
            let folder = try ModelRef.resolve("demo:" + teacher, runsRoot: noRuns)
            let labels = SampleBackend.studentCandidates(runsRoot: noRuns, teacher: folder + "/../" + teacher + "/.").map(\.label)
            XCTAssertEqual(Array(labels.prefix(2)), first, "teacher \(teacher): \(labels)")
        }
        let found = SampleBackend.discover(runsRoot: noRuns)
        XCTAssertEqual(found.teacher.map { ($0 as NSString).lastPathComponent }, "teacher-struct")
        XCTAssertEqual(found.student.map { ($0 as NSString).lastPathComponent }, "gpd6-struct")
    }
}
