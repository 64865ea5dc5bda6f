// The studio's typed text without a terminal: the `:` command line parses every command (or answers
// with its usage), each command's state change and effects, the runs filter and the prompt editor
// (enter applies, escape cancels, ^U clears, ↑ recalls), and mouse clicks on tabs and rows.
import Diffusion
import Runs
@testable import Studio
import Terminal
import XCTest

final class CommandLineTests: XCTestCase {
    func state() -> StudioState {
        var s = StudioState()
        let names = ["alpha", "beta", "gamma"]
        for (i, name) in names.enumerated() {
            let kind: RunKind = i == 2 ? .distill : .teacher
            let status: RunStatus = i == 2 ? .running : .finished
            s.runs.rows.append(RunSummary(name: name, kind: kind, status: status, step: 0, stage: nil, loss: nil, eval: nil,
                                          evalKey: nil, updated: Double(10 - i), pid: nil))
        }
        return s
    }

    func type(_ s: inout StudioState, _ text: String) -> [Effect] {
        var effects: [Effect] = []
        for c in text { effects += Reducer.typed(&s, .char(c)) ?? [] }
        return effects + (Reducer.typed(&s, .enter) ?? [])
    }

    func testParsesEveryCommandAndAnswersWithUsage() {
        func ok(_ line: String) -> StudioCommand? { try? StudioCommand.parse(line).get() }
        func problem(_ line: String) -> String? {
            if case let .failure(p) = StudioCommand.parse(line) { return p.message }
            return nil
        }
        XCTAssertEqual(ok("q"), .quit)
        XCTAssertEqual(ok("  quit  "), .quit)
        XCTAssertEqual(ok("theme"), .theme(""))
        XCTAssertEqual(ok("theme light"), .theme("light"))
        XCTAssertEqual(ok("run alpha"), .openRun("alpha"))
        XCTAssertEqual(ok("sample a red circle moving right"), .sample(prompt: "a red circle moving right"))
        XCTAssertEqual(ok("new teacher-demo"), .newRun(config: "teacher-demo", name: nil))
        XCTAssertEqual(ok("new teacher-demo t2"), .newRun(config: "teacher-demo", name: "t2"))
        XCTAssertEqual(ok("stages 4, 6,8"), .stages([4, 6, 8]))
        XCTAssertEqual(ok("steps-per-stage 300"), .stepsPerStage(300))
        XCTAssertEqual(ok("student"), .student(""))
        XCTAssertEqual(ok("student gpd"), .student("gpd"))
        XCTAssertEqual(ok("teacher ~/wan"), .teacher("~/wan"))
        XCTAssertEqual(ok("teacher demo:teacher-struct"), .teacher("demo:teacher-struct"))
        XCTAssertEqual(ok("delete alpha"), .delete(run: "alpha"))
        for line in ["run", "sample", "new", "new a b c", "stages", "stages 4,,6", "stages 4,x", "steps-per-stage 0",
                     "steps-per-stage many", "teacher", "delete"] {
            XCTAssertTrue(problem(line)?.hasPrefix("usage: :") ?? false, "'\(line)': \(problem(line) ?? "parsed")")
        }
        XCTAssertEqual(problem("frobnicate x"), "unknown command 'frobnicate' (" + StudioCommand.names.joined(separator: ", ") + ")")
        XCTAssertNotNil(problem(""))
    }

    func testCommandsChangeTheStateOrNameTheirEffects() {
        var s = state()
        XCTAssertEqual(Reducer.reduce(&s, .command), [])
        XCTAssertEqual(s.command, "")
        XCTAssertEqual(type(&s, "run beta"), [.loadRunDetail])
        XCTAssertNil(s.command, "enter closes the command line")
        XCTAssertEqual(s.screen, .run)
        XCTAssertEqual(s.run.detail?.name, "beta")
        XCTAssertEqual(Reducer.execute(&s, "run nope"), [])
        XCTAssertEqual(s.message?.text, "no run 'nope'")
        XCTAssertEqual(Reducer.execute(&s, "theme"), [.loadTheme("dark")])
        XCTAssertEqual(Reducer.execute(&s, "new teacher-demo"), [.startRun(config: "teacher-demo", name: "teacher-demo")])
        XCTAssertEqual(Reducer.execute(&s, "new"), [.listConfigs], "a bare :new lists the configs after its usage")
        XCTAssertEqual(s.message?.error, true)
        XCTAssertEqual(Reducer.execute(&s, "delete beta"), [.deleteRun("beta")])
        XCTAssertEqual(Reducer.execute(&s, "student gpd"), [.selectStudent("gpd")])
        XCTAssertEqual(Reducer.execute(&s, "q"), [.quit])

        // Schedule changes go to a live distillation run only.
        XCTAssertEqual(Reducer.execute(&s, "stages 4,6"), [])
        XCTAssertTrue(s.message?.text.contains("belong to distillation runs") ?? false, "\(String(describing: s.message))")
        s.run.detail = RunDetail(name: "gamma"); s.run.detail?.kind = .distill; s.run.detail?.status = .finished
        XCTAssertEqual(Reducer.execute(&s, "stages 4,6"), [])
        XCTAssertTrue(s.message?.text.contains("needs a live trainer") ?? false)
        s.run.detail?.status = .running
        XCTAssertEqual(Reducer.execute(&s, "stages 4, 6"), [.sendControl(run: "gamma", .stages, payload: "4,6")])
        XCTAssertEqual(Reducer.execute(&s, "steps-per-stage 300"), [.sendControl(run: "gamma", .stepsPerStage, payload: "300")])
        s.screen = .sample
        XCTAssertEqual(Reducer.execute(&s, "stages 4"), [], "not from the Sample screen")

        // :sample goes to the Sample screen and samples both models; :teacher opens a folder there.
        s.screen = .runs
        XCTAssertEqual(Reducer.execute(&s, "sample a white triangle moving down on a red background"), [.requestTeacher, .requestStudent])
        XCTAssertEqual(s.screen, .sample)
        XCTAssertEqual(s.sample.prompt, "a white triangle moving down on a red background")
        XCTAssertEqual(s.sample.unknownWords, [])
        XCTAssertEqual(Reducer.execute(&s, "sample a purple unicorn"), [.requestTeacher, .requestStudent])
        XCTAssertTrue(s.sample.unknownWords.contains("unicorn"), "\(s.sample.unknownWords)")
        s.screen = .runs
        XCTAssertEqual(Reducer.execute(&s, "teacher /models/wan"), [.loadTeacher("/models/wan")])
        XCTAssertEqual(s.screen, .sample)
    }

    func testLineEditingFilterAndPromptEditor() {
        var s = state()
        XCTAssertNil(Reducer.typed(&s, .char("x")), "no line open: keys are actions")
        // The command line: backspace, ^U, escape.
        s.command = ""
        for c in "rum" { _ = Reducer.typed(&s, .char(c)) }
        _ = Reducer.typed(&s, .backspace)
        XCTAssertEqual(s.command, "ru")
        _ = Reducer.typed(&s, .ctrl("u"))
        XCTAssertEqual(s.command, "")
        XCTAssertEqual(Reducer.typed(&s, .escape), [])
        XCTAssertNil(s.command, "escape closes without running")

        // The filter narrows the runs as typed and resets the cursor; escape clears it.
        _ = Reducer.reduce(&s, .filter)
        s.runs.selected = 2
        _ = Reducer.typed(&s, .char("g"))
        XCTAssertEqual(s.runs.visible.map(\.name), ["gamma"])
        XCTAssertEqual(s.runs.selected, 0)
        _ = Reducer.typed(&s, .enter)
        XCTAssertFalse(s.runs.filtering)
        XCTAssertEqual(s.runs.filter, "g", "enter keeps the filter")
        _ = Reducer.reduce(&s, .filter)
        _ = Reducer.typed(&s, .escape)
        XCTAssertEqual(s.runs.filter, "")

        // The prompt editor opens on the current prompt; enter samples it, an empty one is refused.
        _ = Reducer.reduce(&s, .editPrompt)
        XCTAssertEqual(s.sample.draft, s.sample.prompt)
        _ = Reducer.typed(&s, .ctrl("u"))
        XCTAssertEqual(type(&s, "a blue square"), [.requestTeacher, .requestStudent])
        XCTAssertFalse(s.sample.editing)
        XCTAssertEqual(s.sample.prompt, "a blue square")
        _ = Reducer.reduce(&s, .editPrompt)
        _ = Reducer.typed(&s, .ctrl("u"))
        XCTAssertEqual(type(&s, "   "), [])
        XCTAssertEqual(s.message?.text, "an empty prompt samples nothing")
        XCTAssertEqual(s.sample.prompt, "a blue square", "the refused prompt changes nothing")
        _ = Reducer.reduce(&s, .editPrompt)
        _ = Reducer.typed(&s, .ctrl("u"))
        _ = Reducer.typed(&s, .up)
        XCTAssertEqual(s.sample.draft, "a blue square", "↑ recalls the last prompt")
        _ = Reducer.typed(&s, .escape)
        XCTAssertFalse(s.sample.editing)
    }

    func testMouseSwitchesTabsAndSelectsRuns() {
        var s = state()
        // The tabs start after the 12-column title: " 1 Runs " is 8 wide, then one column, " 2 Run "…
        XCTAssertEqual(Reducer.click(&s, row: 0, col: 12 + 8 + 1, button: 1), [.loadRunDetail])
        XCTAssertEqual(s.screen, .run)
        _ = Reducer.click(&s, row: 0, col: 12, button: 1)
        XCTAssertEqual(s.screen, .runs)
        _ = Reducer.click(&s, row: 3, col: 5, button: 1)
        XCTAssertEqual(s.runs.selected, 1)
        _ = Reducer.click(&s, row: 40, col: 5, button: 1)
        XCTAssertEqual(s.runs.selected, 2, "below the last run selects the last")
        _ = Reducer.click(&s, row: 10, col: 5, button: 4)
        XCTAssertEqual(s.runs.selected, 1, "the wheel moves the cursor")
    }
}
