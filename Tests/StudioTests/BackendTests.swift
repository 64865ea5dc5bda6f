// What the Sample screen offers as students: the bundled students, those distilled from the current
// teacher first (GPD before PD), and distillation exports — never a teacher, whatever its folder is
// called. The studio opens on teacher-2x-gap4 and its GPD-6.
@testable import Studio
import ModelFolders
import Runs
import XCTest

final class BackendTests: XCTestCase {
    let noRuns = NSTemporaryDirectory() + "gpd-no-runs-\(getpid())"

    /// Looking for runs creates an empty run store there; nothing is left behind.
    override func tearDown() { try? FileManager.default.removeItem(atPath: noRuns) }

    func testStudentCandidatesAreTheBundledStudentsNotTeachers() throws {
        let labels = SampleBackend.studentCandidates(runsRoot: noRuns).map(\.label)
        for s in ["demo:gpd6-struct", "demo:gpd6-gap4-ag", "demo:pd6-gap4-ag"] { XCTAssertTrue(labels.contains(s), "\(s) in \(labels)") }
        XCTAssertFalse(labels.contains { $0.hasPrefix("demo:teacher") }, "teachers are not students: \(labels)")
        for c in SampleBackend.studentCandidates(runsRoot: noRuns) { XCTAssertTrue(SampleBackend.isStudent(folder: c.folder), c.folder) }
    }

    func testTheTeachersOwnStudentsComeFirst() throws {
        for (teacher, first) in [("teacher-2x-gap4", ["demo:gpd6-gap4-ag", "demo:pd6-gap4-ag"]), ("teacher-struct", ["demo:gpd6-struct"])] {
            // The folder named another way (a trailing "/." and a "..") is still the same teacher.
            let folder = try ModelRef.resolve("demo:" + teacher, runsRoot: noRuns)
            let candidates = SampleBackend.studentCandidates(runsRoot: noRuns, teacher: folder + "/../" + teacher + "/.")
            let labels = candidates.map(\.label)
            XCTAssertEqual(Array(labels.prefix(first.count)), first, "teacher \(teacher): \(labels)")
            XCTAssertEqual(candidates.filter(\.ofTeacher).map(\.label), first, "teacher \(teacher)'s own students")
        }
        let found = SampleBackend.discover(runsRoot: noRuns)
        XCTAssertEqual(found.teacher.map { ($0 as NSString).lastPathComponent }, "teacher-2x-gap4")
        XCTAssertEqual(found.student.map { ($0.folder as NSString).lastPathComponent }, "gpd6-gap4-ag")
        XCTAssertEqual(found.student?.label, "demo:gpd6-gap4-ag")
    }

    /// A student clip reaches the screen before its latent spectra are computed (two updates, the frames
    /// first), and the spectra's data latent — the prompt's real clip through the VAE, the same for
    /// every schedule edit — is reused only for the same prompt, seed and model: the data spectrum after
    /// a change of seed is the one a fresh backend computes, and asking again gives it unchanged.
    func testStudentFramesComeBeforeTheirSpectraAndTheDataLatentFollowsTheSeed() throws {
        let prompt = "a white triangle moving down on a red background"
        func backend() -> (SampleBackend, Mailbox, [Float]) {
            let mailbox = Mailbox(), backend = SampleBackend(mailbox: mailbox, runsRoot: noRuns)
            var state = StudioState()
            backend.loadTeacher(ref: "demo:teacher-struct"); backend.queue.sync {}
            for u in mailbox.drain() { u(&state) }
            XCTAssertEqual(state.sample.studentLabel, "demo:gpd6-struct")
            return (backend, mailbox, state.sample.sigmas)
        }
        func dataSpectrum(_ b: (SampleBackend, Mailbox, [Float]), seed: UInt64) throws -> [Double] {
            b.0.sampleStudent(prompt: prompt, seed: seed, sigmas: b.2); b.0.queue.sync {}
            let updates = b.1.drain()
            XCTAssertEqual(updates.count, 2, "the frames, then the spectra")
            var state = StudioState()
            try XCTUnwrap(updates.first, "no update for the student clip")(&state)
            XCTAssertNotNil(state.sample.studentFrames, "the first update carries the frames")
            XCTAssertTrue(state.sample.spectra == nil, "… without waiting for the spectra")
            updates.dropFirst().forEach { $0(&state) }
            return try XCTUnwrap(state.sample.spectra?.spatial["data"], "the data spectrum")
        }
        let used = backend()
        let seed0 = try dataSpectrum(used, seed: 0)
        let seed1 = try dataSpectrum(used, seed: 1), again = try dataSpectrum(used, seed: 1)
        XCTAssertNotEqual(seed0, seed1, "another seed is another real clip")
        XCTAssertEqual(seed1, try dataSpectrum(backend(), seed: 1), "after a change of seed: a fresh backend's data spectrum")
        XCTAssertEqual(again, seed1, "the same prompt and seed again: the same data spectrum")
    }
}

/// A student belongs with the teacher it was distilled from: distillation runs are matched by their
/// config's `teacher`, and loading another teacher replaces a student that is not its own.
final class StudentPairingTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "gpd-pairing-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let store = try RunStore(root: root)
        let student = try String(contentsOfFile: try ModelRef.resolve("demo:gpd6-struct", runsRoot: root) + "/model.json", encoding: .utf8)
        for (name, teacher) in [("of-2x", "demo:teacher-2x-gap4"), ("of-struct", "demo:teacher-struct")] {
            try store.register(name: name, kind: .distill)
            try FileManager.default.createDirectory(atPath: root + "/\(name)/export", withIntermediateDirectories: true)
            try "kind = \"distill\"\nteacher = \"\(teacher)\"\n".write(toFile: root + "/\(name)/config.toml", atomically: true, encoding: .utf8)
            try student.write(toFile: root + "/\(name)/export/model.json", atomically: true, encoding: .utf8)
        }
        // of-struct's export loads: gpd6-struct's weights, its base and VAE named by absolute paths.
        let gpd6 = try ModelRef.resolve("demo:gpd6-struct", runsRoot: root)
        var studentJSON = try JSONSerialization.jsonObject(with: Data(student.utf8)) as! [String: Any]
        for key in ["base", "vae_folder"] { studentJSON[key] = gpd6 + "/" + (studentJSON[key] as! String) }
        try JSONSerialization.data(withJSONObject: studentJSON).write(to: URL(fileURLWithPath: root + "/of-struct/export/model.json"))
        try FileManager.default.createSymbolicLink(atPath: root + "/of-struct/export/model.safetensors", withDestinationPath: gpd6 + "/model.safetensors")
        // A teacher run with no student of its own: teacher-struct's weights under another folder.
        let source = try ModelRef.resolve("demo:teacher-struct", runsRoot: root)
        try store.register(name: "alone", kind: .teacher)
        try FileManager.default.createDirectory(atPath: root + "/alone/export", withIntermediateDirectories: true)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/model.json"))) as! [String: Any]
        json["vae_folder"] = source + "/" + (json["vae_folder"] as! String)   // absolute: the folder moved
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: root + "/alone/export/model.json"))
        try FileManager.default.createSymbolicLink(atPath: root + "/alone/export/model.safetensors", withDestinationPath: source + "/model.safetensors")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func testRunsAreMatchedToTheTeacherTheirConfigNames() throws {
        let t2x = try ModelRef.resolve("demo:teacher-2x-gap4", runsRoot: root)
        let for2x = SampleBackend.studentCandidates(runsRoot: root, teacher: t2x)
        XCTAssertEqual(for2x.filter(\.ofTeacher).map(\.label), ["demo:gpd6-gap4-ag", "demo:pd6-gap4-ag", "of-2x"], "of the runs, only the one distilled from teacher-2x-gap4 is its own: \(for2x)")
        let struct_ = try ModelRef.resolve("demo:teacher-struct", runsRoot: root)
        let forStruct = SampleBackend.studentCandidates(runsRoot: root, teacher: struct_)
        XCTAssertEqual(forStruct.filter(\.ofTeacher).map(\.label), ["demo:gpd6-struct", "of-struct"])
        let runs = forStruct.map(\.label).filter { !$0.hasPrefix("demo:") }
        XCTAssertEqual(runs, ["of-struct", "of-2x"], "the teacher's own runs before the others")
    }

    func testLoadingATeacherReplacesAStudentOfAnotherTeacher() throws {
        let mailbox = Mailbox(), backend = SampleBackend(mailbox: mailbox, runsRoot: root)
        var state = StudioState()
        func settle() { backend.queue.sync {}; for u in mailbox.drain() { u(&state) } }
        backend.load(); settle()
        XCTAssertEqual(state.sample.studentLabel, "demo:gpd6-gap4-ag", "the studio opens on teacher-2x-gap4's GPD-6")
        // The first clips wait for the load: its results carry the teacher's own sampling (guidance 2 with
        // autoguidance, not the state's defaults) and ask for the clips, which the studio then requests.
        let bundled = try VideoModel.load(folder: try XCTUnwrap(state.sample.teacherFolder)).config.sampling
        XCTAssertEqual(state.sample.teacherSettings, bundled)
        XCTAssertNotNil(state.sample.teacherSettings.autoguide)
        XCTAssertTrue(state.sample.teacherReload && state.sample.studentReload, "the load asks for the first clips")
        backend.loadTeacher(ref: "alone"); settle()
        XCTAssertEqual(state.sample.teacherLabel, "alone")
        XCTAssertEqual(state.sample.studentLabel, SampleBackend.teacherAsStudent, "no student of this teacher: the teacher at the student's steps")
        XCTAssertEqual(state.sample.sigmas.count, 7, "the 6-step grid")
        backend.loadTeacher(ref: "demo:teacher-struct"); settle()
        XCTAssertEqual(state.sample.studentLabel, "demo:gpd6-struct", "back on teacher-struct: its own GPD-6 again")
        // A student of the teacher being loaded stays.
        backend.selectStudent(folder: root + "/of-struct/export", label: "of-struct"); settle()
        XCTAssertEqual(state.sample.studentLabel, "of-struct", "\(String(describing: state.message))")
        backend.loadTeacher(ref: "demo:teacher-struct"); settle()
        XCTAssertEqual(state.sample.studentLabel, "of-struct")
    }
}

/// The mailbox between the backend and whoever shows its results: updates come out once each, in the
/// order they were posted, and a post from another thread reaches a thread waiting for it.
final class MailboxTests: XCTestCase {
    func testUpdatesComeOutOnceInOrderAndAWaiterWakesForAPost() {
        let mailbox = Mailbox()
        XCTAssertTrue(mailbox.drain().isEmpty, "nothing posted")
        XCTAssertTrue(mailbox.wait(seconds: 0.001).isEmpty, "nothing posted: the wait ends empty")
        mailbox.post { $0.sample.seed = 1 }
        mailbox.post { $0.sample.seed = 2 * $0.sample.seed + 1 }
        var state = StudioState()
        for u in mailbox.wait(seconds: 60) { u(&state) }
        XCTAssertEqual(state.sample.seed, 3, "both updates, in the order posted")
        XCTAssertTrue(mailbox.drain().isEmpty, "each update comes out once")
        // A post from another thread, made while this one waits or just before.
        let waiting = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { waiting.wait(); mailbox.post { $0.sample.seed = 7 } }
        waiting.signal()
        var got: [(inout StudioState) -> Void] = []
        let deadline = Date(timeIntervalSinceNow: 60)
        while got.isEmpty && Date() < deadline { got = mailbox.wait(seconds: 1) }   // a spurious wake-up returns none
        XCTAssertEqual(got.count, 1, "the other thread's post arrives")
        for u in got { u(&state) }
        XCTAssertEqual(state.sample.seed, 7)
    }
}
