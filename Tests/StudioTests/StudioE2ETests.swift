// The real binary driven in tmux as a person would: open the studio on an empty runs root, switch
// screens, type a prompt, edit the schedule into an invalid one and back, open help, quit — asserting
// on capture-pane. Skipped only where tmux is not installed (CI installs it). And the sixel stream through
// a real pty: every image frame complete and inside one synchronized update.
import Foundation
import XCTest
import _TestSupport

final class StudioE2ETests: XCTestCase {
    var session = "gpd-e2e-\(getpid())"

    /// Runs tmux with a deadline (never Foundation.Process: see _TestSupport/Subprocess.swift).
    @discardableResult
    func tmux(_ args: [String], output: Bool = false) throws -> String {
        try Child.run(["tmux"] + args, seconds: 20).output
    }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", session], output: true) }

    /// Waits until the screen contains `text` (up to `seconds`).
    /// Waits until the screen shows `text` (or any of `alternatives`).
    func waitFor(_ text: String, or alternatives: String..., seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if ([text] + alternatives).contains(where: { last.contains($0) }) { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTFail("'\(text)' did not appear; the screen was:\n\(last)", file: file, line: line)
    }

    func keys(_ k: String...) throws { _ = try tmux(["send-keys", "-t", session] + k); Thread.sleep(forTimeInterval: 0.3) }

    /// `--run NAME` for a run the store does not hold is refused by name before the terminal is taken
    /// over (the Run screen used to show it as a new, empty run).
    func testAnUnknownRunIsRefusedByName() throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("gpd").path
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "needs the gpd binary (swift build --build-tests)")
        let root = NSTemporaryDirectory() + "gpd-unknown-run-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (status, output) = try Child.run([binary, "studio", "--runs", root, "--run", "no-such-run", "--graphics", "none"])
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("--run no-such-run: no such run in \(root)/"), output)
        XCTAssertTrue(output.contains("gpd runs import ") && output.contains("samples/demo/runs"), "an empty store names the import: \(output)")
    }

    /// On a fresh checkout (the default ./runs, no $GPD_RUNS, no store yet) the studio brings in the
    /// demo's archived runs and says so; the store then lists them to a later `--run` refusal.
    func testAFreshStoreImportsTheDemoRuns() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "tmux is not installed")
        let binary = Bundle.main.bundleURL.appendingPathComponent("gpd").path
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "needs the gpd binary (swift build --build-tests)")
        let demoRuns = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../samples/demo/runs").standardized.path
        let archived = try FileManager.default.contentsOfDirectory(atPath: demoRuns)
            .filter { FileManager.default.fileExists(atPath: demoRuns + "/" + $0 + "/run.json") }
        XCTAssertGreaterThan(archived.count, 8)
        let cwd = NSTemporaryDirectory() + "gpd-fresh-\(getpid())"
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "200", "-y", "32", "-c", cwd,
                      "env -u GPD_RUNS TERM=xterm-256color \(binary) studio --graphics blocks"])
        defer { _ = try? tmux(["kill-session", "-t", session]); try? FileManager.default.removeItem(atPath: cwd) }
        try waitFor("imported the demo's runs (")
        // The Runs screen counts them once the store has been read (which rows fit on it depends on
        // their ages, so the count, not a name, is what the screen must show).
        try waitFor("\(archived.count)/\(archived.count) runs")
        try keys("q")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, (try tmux(["list-sessions"], output: true)).contains(session) { Thread.sleep(forTimeInterval: 0.2) }
        let (status, output) = try Child.run(["/usr/bin/env", "-u", "GPD_RUNS", "sh", "-c",
                                              "cd '\(cwd)' && '\(binary)' studio --run no-such-run --graphics none"])
        XCTAssertNotEqual(status, 0, output)
        // The refusal names the first runs and counts them all: every archived run was imported.
        XCTAssertTrue(output.contains("no such run in runs/") && output.contains("(\(archived.count) in all"),
                      "the refusal counts the \(archived.count) imported runs: \(output)")
    }

    func testDriveTheStudio() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "tmux is not installed")
        let binary = Bundle.main.bundleURL.appendingPathComponent("gpd").path
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "needs the gpd binary (swift build --build-tests)")
        let root = NSTemporaryDirectory() + "gpd-e2e-runs-\(getpid())"
        let cwd = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "100", "-y", "32", "-c", cwd,
                      "env TERM=xterm-256color \(binary) studio --runs \(root) --graphics blocks"])
        defer { _ = try? tmux(["kill-session", "-t", session]); try? FileManager.default.removeItem(atPath: root) }
        try waitFor("GPD Studio")
        try waitFor("No runs in")
        try keys("3")
        try waitFor("student schedule")
        try waitFor("■ teacher")   // demo:teacher-2x-gap4 when the repo has it, else the ground truth
        try keys("e")
        try keys("C-u")
        try keys("a green square moving up on a red zebra background", "Enter")
        try waitFor("prompt  a green square moving up on a red zebra background")
        try waitFor("unknown: zebra")
        // Raise the selected point (σ₁) above σ₀: the schedule becomes invalid and is not sampled.
        // First the student's own schedule must be in place (the models load in the background).
        try waitFor("1.000 0.938")
        for _ in 0..<6 { try keys("k") }
        try waitFor("not sampled")
        try keys("R")
        let afterReset = try screen()
        XCTAssertFalse(afterReset.contains("not sampled"), afterReset)
        try keys("?")
        try waitFor("Keys — Sample screen")
        try keys("Escape")
        try keys("4")
        // The Spectra screen: empty until a student clip has been sampled, its plots after.
        try waitFor("No spectra yet", or: "radially averaged spatial power")
        try keys("1")
        try waitFor("NAME")
        try keys(":", "theme light", "Enter")
        try waitFor("theme light")
        try keys(":", "delete nosuch", "Enter")
        try waitFor("'nosuch': no such run")
        try keys("q")
        // Background sampling with a real demo model may still be busy in a debug build: allow time.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try tmux(["list-sessions"], output: true)).contains(session) { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertFalse((try tmux(["list-sessions"], output: true)).contains(session), "q quits the studio")
    }

    /// The studio in sixel mode through a real pty (script(1)): every sixel image it sends during
    /// playback is complete and inside one synchronized update (DEC mode 2026), so a terminal that
    /// knows the mode never shows a half-drawn frame.
    func testSixelFramesAreSynchronizedUpdates() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "script(1) is not installed")
        let binary = Bundle.main.bundleURL.appendingPathComponent("gpd").path
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "needs the gpd binary (swift build --build-tests)")
        let root = NSTemporaryDirectory() + "gpd-sync-runs-\(getpid())", raw = NSTemporaryDirectory() + "gpd-sync-\(getpid()).raw"
        defer { try? FileManager.default.removeItem(atPath: root); try? FileManager.default.removeItem(atPath: raw) }
        let cwd = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
        // The 80-token teacher: its frames arrive within half a minute even in a debug or sanitized build.
        let command = "cd \(cwd); stty cols 120 rows 40; exec timeout -s KILL 150 env TERM=xterm-256color \(binary) studio --runs \(root) --graphics sixel --screen sample --teacher demo:teacher-struct"
        let child = try Child.spawn(["script", "-q", "-c", command, raw])
        defer { child.signal(SIGTERM); _ = child.wait(seconds: 10) }
        let (dcs, st) = (Data([0x1B, 0x50]), Data([0x1B, 0x5C]))
        let (begin, end) = (Data("\u{1B}[?2026h".utf8), Data("\u{1B}[?2026l".utf8))
        func ranges(_ d: Data, _ pattern: Data) -> [Int] {
            var out: [Int] = [], from = d.startIndex
            while let r = d.range(of: pattern, in: from..<d.endIndex) { out.append(r.lowerBound); from = r.upperBound }
            return out
        }
        var data = Data()
        let deadline = Date().addingTimeInterval(140)
        while Date() < deadline {
            data = (try? Data(contentsOf: URL(fileURLWithPath: raw))) ?? Data()
            if ranges(data, end).count >= 4 { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let (starts, stops, opens, closes) = (ranges(data, dcs), ranges(data, st), ranges(data, begin), ranges(data, end))
        XCTAssertGreaterThanOrEqual(closes.count, 4, "fewer than 4 image frames arrived in 140 s")
        for s in starts where s < (closes.last ?? 0) {
            let open = opens.last { $0 < s } ?? -1, closeBefore = closes.last { $0 < s } ?? -1
            XCTAssertGreaterThan(open, closeBefore, "a sixel at byte \(s) is outside a synchronized update")
            let stop = stops.first { $0 > s } ?? Int.max, closeAfter = closes.first { $0 > s } ?? Int.max
            XCTAssertLessThan(stop, closeAfter, "the sixel at byte \(s) is not complete before its update ends")
        }
    }
}
