// The studio's pure render functions as text snapshots (every screen at 80×24 and 160×48; recorded
// when missing, then compared), the too-small screen, keybindings as data, themes, half blocks and
// the sixel encoder round trip through libsixel's decoder.
import _TestSupport
import Diffusion
import Foundation
import Runs
@testable import Studio
import Terminal
import XCTest

final class StudioRenderTests: XCTestCase {
    static let now = Date().timeIntervalSince1970

    /// A state with runs, a run's curves, sampled clips and spectra — fixed numbers, no clock.
    func sampleState() -> StudioState {
        var s = StudioState()
        s.runsRoot = "runs"
        s.runs.rows = [
            RunSummary(name: "vae-demo", kind: .vae, status: .finished, step: 3000, stage: nil, loss: 0.0412, eval: 27.31, evalKey: "eval/psnr", updated: Self.now - 7300, pid: nil),
            RunSummary(name: "teacher-demo", kind: .teacher, status: .running, step: 1200, stage: nil, loss: 0.2133, eval: 0.6512, evalKey: "eval/total", updated: Self.now - 300, pid: 42),
            RunSummary(name: "gpd-demo", kind: .distill, status: .crashed, step: 450, stage: "k4", loss: 0.0151, eval: nil, evalKey: nil, updated: Self.now - 100_000, pid: 7),
        ]
        s.runs.marked = ["gpd-demo"]
        var d = RunDetail(name: "teacher-demo")
        (d.kind, d.status, d.step) = (.teacher, .running, 1200)
        d.metrics["loss"] = (1...120).map { (Double($0 * 10), 2.0 / Double($0).squareRoot()) }
        d.metrics["eval/total"] = [(500, 0.41), (1000, 0.65)]
        d.events = [EventRow(id: 1, step: 0, time: 0, kind: .stage, detail: "stage 1/2: horizon 2"), EventRow(id: 2, step: 600, time: 0, kind: .stage, detail: "stage 2/2: horizon 4")]
        d.logTail = ["started teacher run, pid 42"]
        d.config = "kind = 'teacher'\n\n[train]\nbatch = 32\nlr = 0.0004\n"
        s.run.detail = d
        var st = SampleState()
        st.teacherLabel = "demo:teacher-struct"; st.studentLabel = "demo:gpd6-struct"
        st.sigmas = TeacherGridPreset.sigmas(steps: 6, shift: 3); st.preset = st.sigmas
        st.point = 2
        let (f, h, w) = (3, 8, 8)
        st.clipShape = [f, h, w, 3]
        st.teacherFrames = (0..<(f * h * w * 3)).map { Float($0 % 7) / 7 }
        st.studentFrames = (0..<(f * h * w * 3)).map { Float($0 % 5) / 5 }
        (st.teacherSeconds, st.studentSeconds, st.psnr, st.ssim) = (0.71, 0.052, 28.4, 0.93)
        st.unknownWords = ["zebra"]
        var spec = SpectraSnapshot()
        spec.spatial = ["teacher": [1, 0.5, 0.2, 0.1, 0.05], "student": [1, 0.45, 0.2, 0.08, 0.03], "data": [1, 0.5, 0.25, 0.1, 0.06]]
        spec.temporal = ["teacher": [3, 1, 0.5], "student": [3, 1.2, 0.4]]
        spec.heatmaps = ["teacher": [[Double](repeating: 1, count: 16)], "student": [[Double](repeating: 2, count: 16)]]
        spec.heatmapSize = (4, 4)
        spec.highFrequencyRatio = ["teacher": 0.21, "student": 0.18]
        st.spectra = spec
        s.sample = st
        return s
    }

    func snapshot(_ name: String, _ frame: Frame, file: StaticString = #filePath, line: UInt = #line) {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
        let url = dir.appendingPathComponent(name + ".txt")
        let text = frame.lines.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(separator: "\n") + "\n"
        guard let recorded = try? String(contentsOf: url, encoding: .utf8) else {
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try? text.write(to: url, atomically: true, encoding: .utf8)
            XCTFail("recorded a new snapshot \(name).txt; check it and run again", file: file, line: line)
            return
        }
        if recorded != text {
            let a = recorded.split(separator: "\n", omittingEmptySubsequences: false), b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }
            XCTFail("snapshot \(name) differs at line \((first?.offset ?? min(a.count, b.count)) + 1):\n  recorded: \(first.map { String($0.element.0) } ?? "")\n  now:      \(first.map { String($0.element.1) } ?? "")",
                    file: file, line: line)
        }
    }

    func testEveryScreenAtTwoSizes() {
        var s = sampleState()
        let theme = Theme()
        for (rows, cols) in [(24, 80), (48, 160)] {
            for screen in ScreenID.allCases {
                s.screen = screen
                let f = Renderer.render(s, theme: theme, rows: rows, cols: cols)
                XCTAssertEqual(f.lines.count, rows)
                snapshot("\(screen.rawValue.lowercased())-\(cols)x\(rows)", f)
            }
        }
        s.screen = .runs; s.help = true
        snapshot("help-80x24", Renderer.render(s, theme: theme, rows: 24, cols: 80))
    }

    func testContentThatMustBeThere() {
        var s = sampleState()
        let theme = Theme()
        let runs = Renderer.render(s, theme: theme, rows: 24, cols: 80).lines.joined(separator: "\n")
        for needle in ["teacher-demo", "crashed", "27.31 dB", "0.6512", "●"] { XCTAssertTrue(runs.contains(needle), needle) }
        s.screen = .sample
        let sample = Renderer.render(s, theme: theme, rows: 24, cols: 80)
        let text = sample.lines.joined(separator: "\n")
        for needle in ["unknown: zebra", "PSNR 28.40 dB", "demo:gpd6-struct", "1.000"] { XCTAssertTrue(text.contains(needle), needle) }
        XCTAssertEqual(sample.images.count, 1, "teacher and student share one image")
        XCTAssertEqual(sample.images[0].width, 8 + 8 + 1, "side by side with a gutter")
        XCTAssertLessThan(sample.images[0].row + sample.images[0].rows, 23, "images stay off the last row")
        // With autoguidance the teacher's settings run long: its clip time comes right after its label,
        // so it stays on screen at 80 columns, and the weaker model is named by its folder.
        s.sample.teacherSettings.guidance = 2
        s.sample.teacherSettings.autoguide = try? AutoguideSettings(model: "../teacher-2x-11k", weight: 1)
        let teacherLine = Renderer.render(s, theme: theme, rows: 24, cols: 80).lines.first { $0.contains("■ teacher") } ?? ""
        XCTAssertTrue(teacherLine.contains("demo:teacher-struct · 0.71 s · unipc 48 steps"), teacherLine)
        let wide = Renderer.render(s, theme: theme, rows: 48, cols: 160).lines.first { $0.contains("■ teacher") } ?? ""
        XCTAssertTrue(wide.contains("guidance 2 · autoguide teacher-2x-11k ×1"), wide)
        s.sample.editing = true; s.sample.draft = "a gre"
        XCTAssertTrue(Renderer.render(s, theme: theme, rows: 24, cols: 80).lines.joined().contains("words: green"), "vocabulary hints while typing")
        s.sample.editing = false
        s.sample.sigmas = [1, 0.5, 0.6, 0]
        s.sample.scheduleError = "sigmas must strictly decrease"
        XCTAssertTrue(Renderer.render(s, theme: theme, rows: 24, cols: 80).lines.joined().contains("not sampled"))
        s.screen = .run; s.run.media = true
        XCTAssertTrue(Renderer.render(s, theme: theme, rows: 24, cols: 80).lines.joined().contains("no media yet"))
        s.run.detail?.mediaFrames = [Float](repeating: 0.5, count: 2 * 4 * 6 * 3)
        s.run.detail?.mediaShape = [2, 4, 6, 3]; s.run.detail?.mediaName = "step-0000500.safetensors"
        let media = Renderer.render(s, theme: theme, rows: 24, cols: 80)
        XCTAssertEqual(media.images.count, 1)
        XCTAssertEqual(media.images.first?.width, 6)
        XCTAssertTrue(media.lines.joined().contains("step-0000500"))
        s.run.media = false
        let small = Renderer.render(s, theme: theme, rows: 10, cols: 40)
        XCTAssertTrue(small.lines.joined().contains("enlarge"))
        XCTAssertTrue(small.images.isEmpty)
    }

    /// An empty runs list says why: the store not read yet, unreadable, empty, or the filter.
    func testAnEmptyRunsListSaysWhy() {
        var s = StudioState()
        s.runsRoot = "runs"
        func text() -> String { Renderer.render(s, theme: Theme(), rows: 24, cols: 120).lines.joined(separator: "\n") }
        XCTAssertTrue(text().contains("Reading the runs in runs/"), text())
        XCTAssertFalse(text().contains("No runs in"), "an unread store is not an empty one")
        s.runs.warning = "cannot open the run store in runs"
        XCTAssertTrue(text().contains("could not be read") && text().contains("cannot open the run store"), text())
        s.runs.warning = nil
        s.runs.loaded = true
        XCTAssertTrue(text().contains("No runs in runs/ yet"), text())
        s.runs.rows = sampleState().runs.rows
        s.runs.filter = "zzz"
        XCTAssertTrue(text().contains("No run matches the filter 'zzz'"), text())
    }

    /// The runs behind the bundled models (the demo manifest, matched by name and time) come first in the
    /// default order, in the manifest's order, each naming its model; the other sorts ignore them; the
    /// filter finds a run by its model's name.
    func testTheBundledModelsRunsComeFirst() {
        var s = sampleState()
        s.runs.loaded = true
        func text() -> String { Renderer.render(s, theme: Theme(), rows: 24, cols: 120).lines.joined(separator: "\n") }
        XCTAssertEqual(s.runs.visible.map(\.name), ["teacher-demo", "vae-demo", "gpd-demo"], "newest first without a manifest")
        XCTAssertTrue(text().contains("sort: age ·"), text())
        // teacher-demo shares a name with a manifest entry but not its time: a run of one's own, not marked.
        s.runs.bundled = [("gpd6-demo", "gpd-demo", Self.now - 100_000), ("vae-demo", "vae-demo", Self.now - 7300),
                          ("teacher-x", "not-in-this-store", 0), ("teacher-y", "teacher-demo", Self.now - 5)]
        XCTAssertEqual(s.runs.visible.map(\.name), ["gpd-demo", "vae-demo", "teacher-demo"])
        XCTAssertTrue(text().contains("gpd-demo · bundled as demo:gpd6-demo") && text().contains("sort: age, bundled first"), text())
        XCTAssertFalse(text().contains("teacher-demo · bundled"), text())
        s.runs.bundled[1].updated += 1
        XCTAssertEqual(s.runs.visible.map(\.name), ["gpd-demo", "teacher-demo", "vae-demo"], "vae-demo is then not the demo's")
        s.runs.sort = 1
        XCTAssertEqual(s.runs.visible.map(\.name), ["gpd-demo", "teacher-demo", "vae-demo"], "by name")
        XCTAssertTrue(text().contains("sort: name ·"), text())
        s.runs.sort = 0
        s.runs.filter = "gpd6"
        XCTAssertEqual(s.runs.visible.map(\.name), ["gpd-demo"])
    }

    /// A distillation's Run screen: the per-stage table (finished stages with their evaluation, the
    /// stage in progress, the planned ones — from the live config.toml) instead of the latest metrics.
    func testDistillationStageTable() {
        var s = sampleState()
        var d = RunDetail(name: "gpd-demo")
        (d.kind, d.status, d.step) = (.distill, .running, 650)
        d.metrics["loss"] = (1...65).map { (Double($0 * 10), 0.3 / Double($0).squareRoot()) }
        d.metrics["horizon"] = [(300, 2), (600, 3), (650, 4)]
        d.metrics["eval/total"] = [(300, 0.5012), (600, 0.4871)]
        d.metrics["eval/psnr"] = [(300, 24.31), (600, 22.85)]
        d.metrics["eval/ssim"] = [(300, 0.912), (600, 0.874)]
        d.metrics["sec_per_step"] = [(610, 4.4), (620, 4.2), (630, 4.0), (640, 4.1), (650, 4.0)]
        d.events = [0, 300, 600].enumerated().map { EventRow(id: Int64($0.offset), step: $0.element, time: 0, kind: .stage, detail: "stage \($0.offset + 1)/4") }
        d.config = "kind = \"distill\"\n[distill]\nstages = [ 2, 3, 4, 8 ]\nsteps_per_stage = 300\nteacher_steps = 48\n"
        s.run.detail = d
        s.screen = .run
        XCTAssertEqual(d.stagePlan.horizons, [2, 3, 4, 8])
        XCTAssertEqual(d.stagePlan.current, 2)
        XCTAssertEqual(d.stageRows.map(\.horizon), [2, 3])
        let f = Renderer.render(s, theme: Theme(), rows: 24, cols: 80)
        let text = f.lines.joined(separator: "\n")
        for needle in ["4.1 s/step · stage 3/4 ends in ~17 min", "300 steps each", "2      24  0.5012  24.31 0.912", "3      16  0.4871  22.85 0.874", "4      12  ▶ running", "8       6  planned"] {
            XCTAssertTrue(text.contains(needle), "'\(needle)' in\n\(text)")
        }
        snapshot("run-distill-80x24", f)
        XCTAssertEqual(Keymap.standard.action(for: .char("S"), on: .run), .editStages)
        XCTAssertEqual(Keymap.standard.action(for: .char("c"), on: .sample), .cycleStudent)
    }

    func testKeybindingsAreData() {
        XCTAssertEqual(Keymap.standard.action(for: .char("q"), on: .sample), .quit)
        XCTAssertEqual(Keymap.standard.action(for: .char("x"), on: .sample), .pointDelete, "screen bindings win over global ones")
        XCTAssertEqual(Keymap.standard.action(for: .char("x"), on: .runs), .stop)
        XCTAssertEqual(Keymap.standard.action(for: .enter, on: .runs), .open)
        for screen in ScreenID.allCases {
            for (label, _) in Keymap.standard.hints(for: screen) { XCTAssertTrue(Keymap.standard.bindings.contains { $0.label == label }) }
        }
    }

    func testAKeysFileRebindsByName() throws {
        let k = try Keymap.standard.rebound(["quit": "Q", "stop": ["ctrl-x", "X"], "next_seed": "f5", "pause": [String]()], file: "keys.toml")
        XCTAssertEqual(k.action(for: .char("Q"), on: .runs), .quit)
        XCTAssertNil(k.action(for: .char("q"), on: .runs), "the old key is gone")
        XCTAssertEqual(k.action(for: .ctrl("x"), on: .run), .stop)
        XCTAssertEqual(k.action(for: .function(5), on: .sample), .nextSeed)
        XCTAssertNil(k.action(for: .char("p"), on: .runs), "an empty list unbinds")
        XCTAssertEqual(k.bindings.first { $0.name == "stop" }?.label, "^X/X")
        XCTAssertEqual(k.bindings.first { $0.name == "pause" }?.label, "—")
        // A key taken from another binding on the same screens: the user's wins there, others keep theirs.
        let moved = try Keymap.standard.rebound(["quit": "x"], file: "keys.toml")
        XCTAssertEqual(moved.action(for: .char("x"), on: .runs), .quit)
        XCTAssertEqual(moved.action(for: .char("x"), on: .sample), .quit)
        XCTAssertEqual(moved.bindings.first { $0.name == "delete_point" }?.keys, [], "x no longer deletes a schedule point")
        let local = try Keymap.standard.rebound(["delete_point": "D"], file: "keys.toml")
        XCTAssertEqual(local.action(for: .char("x"), on: .runs), .stop, "a binding on other screens keeps its key")
        XCTAssertEqual(local.action(for: .char("D"), on: .sample), .pointDelete)
        // Mistakes are named by file and entry.
        for (table, needle) in [(["qiut": "Q"] as [String: Any], "'qiut': no such binding"), (["quit": "ctrl-1"], "'ctrl-1' is not a key"),
                                (["quit": "escape"], "reserved"), (["quit": 3], "must be a key")] {
            XCTAssertThrowsError(try Keymap.standard.rebound(table, file: "keys.toml")) { e in
                XCTAssertTrue("\(e)".contains("keys.toml") && "\(e)".contains(needle), "\(e)")
            }
        }
        // A broken file loses nothing: the standard keys and the message.
        let path = NSTemporaryDirectory() + "gpd-keys-\(getpid()).toml"
        try "quit = \"Q\"\nstop = \"nope\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (loaded, problem) = Keymap.load(path)
        XCTAssertEqual(loaded.action(for: .char("q"), on: .runs), .quit)
        XCTAssertTrue(problem?.contains("'nope' is not a key") ?? false, "\(problem ?? "no problem")")
        XCTAssertNil(Keymap.load(path + ".missing").1, "no file: the standard keys, silently")
    }

    func testThemes() throws {
        let t = try Theme.parse("background = \"#000000\"\nstudent = \"#ff00ff\"\ncolormap = \"magma\"\n", name: "t")
        XCTAssertEqual(t.student, RGB(255, 0, 255))
        XCTAssertThrowsError(try Theme.parse("background = \"#000000\"\nstudnet = \"#ff00ff\"\n", name: "bad")) { e in XCTAssertTrue("\(e)".contains("studnet") && "\(e)".contains("unknown key")) }
        XCTAssertThrowsError(try Theme.parse("accent = \"blue\"\n", name: "bad")) { e in XCTAssertTrue("\(e)".contains("'accent'") && "\(e)".contains("#rrggbb")) }
        XCTAssertThrowsError(try Theme.parse("accent = #88c0d0\n", name: "bad")) { e in XCTAssertTrue("\(e)".contains("line 1") && "\(e)".contains("TOML")) }
        XCTAssertThrowsError(try Theme.parse("colormap = \"jet\"\n", name: "bad")) { e in XCTAssertTrue("\(e)".contains("colormap")) }
        let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../themes")
        for name in ["dark", "light", "high-contrast"] {
            XCTAssertNoThrow(try Theme.parse(String(contentsOf: themes.appendingPathComponent(name + ".toml"), encoding: .utf8), name: name), name)
        }
    }

    func testHalfBlocks() {
        // 2×4 image: columns red/blue on top rows, green/white below.
        let px: [UInt8] = [255, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 255, 0, 255, 0, 255, 255, 255, 0, 255, 0, 255, 255, 255]
        var f = Frame(rows: 2, cols: 2)
        HalfBlocks.render(ImageOverlay(row: 0, col: 0, rows: 2, cols: 2, width: 2, height: 4, pixels: px, version: 0), into: &f)
        XCTAssertEqual(f[0, 0].char, "▀")
        XCTAssertEqual(f[0, 0].style.fg, RGB(255, 0, 0)); XCTAssertEqual(f[0, 0].style.bg, RGB(255, 0, 0))
        XCTAssertEqual(f[1, 1].style.fg, RGB(255, 255, 255))
        XCTAssertEqual(f[1, 0].style.bg, RGB(0, 255, 0))
        XCTAssertEqual(CursesSession.xterm256(RGB(255, 0, 0)), 196)
        XCTAssertEqual(CursesSession.xterm256(RGB(128, 128, 128)), 244)
    }

    func testSixelRoundTrip() throws {
        // Teacher and student side by side (two halves of one image, one palette).
        let (w, h) = (130, 64)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w {
            let k = (y * w + x) * 3
            rgb[k] = UInt8(x * 255 / w); rgb[k + 1] = UInt8(y * 255 / h); rgb[k + 2] = x < w / 2 ? 40 : 200
        } }
        let data = try Sixel.encode(width: w, height: h, rgb: rgb)
        XCTAssertTrue(data.starts(with: [0x1B, 0x50]), "a 7-bit DCS")
        let (dw, dh, back) = try Sixel.decode(data)
        XCTAssertEqual(dw, w)
        XCTAssertEqual(dh, h)
        var worst = 0, total = 0
        for i in 0..<rgb.count { let d = abs(Int(rgb[i]) - Int(back[i])); worst = max(worst, d); total += d }
        XCTAssertLessThan(worst, 40, "palette error")
        XCTAssertLessThan(Double(total) / Double(rgb.count), 8)

        // A later frame of the same clip (shifted by 3 px) in the first frame's palette.
        let palette = try SixelPalette(width: w, height: h, rgb: rgb, key: 1)
        var next = rgb
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { next[(y * w + x) * 3 + c] = rgb[(y * w + (x + 3) % w) * 3 + c] } } }
        let (pw, ph, again) = try Sixel.decode(try Sixel.encode(width: w, height: h, rgb: next, palette: palette))
        XCTAssertEqual([pw, ph], [w, h])
        var worst2 = 0, total2 = 0
        for i in 0..<next.count { let d = abs(Int(next[i]) - Int(again[i])); worst2 = max(worst2, d); total2 += d }
        XCTAssertLessThan(worst2, 48, "palette error in a reused palette")
        XCTAssertLessThan(Double(total2) / Double(next.count), 10)
    }

    func testCapabilityRepliesParse() {
        var c = Capabilities()
        c.parse("\u{1B}[?63;1;2;4;6;9;15;16;17;18;21;22;28c\u{1B}[6;22;11t\u{1B}[0n")
        XCTAssertTrue(c.sixel)
        XCTAssertEqual(c.cellWidth, 11); XCTAssertEqual(c.cellHeight, 22)
        var d = Capabilities()
        d.parse("\u{1B}[?1;2c\u{1B}[0n")
        XCTAssertFalse(d.sixel)
        XCTAssertEqual(d.graphics, .blocks)
    }
}
