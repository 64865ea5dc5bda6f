// The studio's reducer without a terminal: navigation clamps, screens cycle, run commands become
// effects, the student's schedule editor keeps a valid, bounded sigma list (or says what is wrong),
// and teacher settings stay in range — each action's state change and effects, checked directly.
import Diffusion
import Runs
@testable import Studio
import XCTest

final class ReducerTests: XCTestCase {
    func state(runs: Int = 3) -> StudioState {
        var s = StudioState()
        s.runs.rows = (0..<runs).map {
            RunSummary(name: "run\($0)", kind: $0 == 2 ? .distill : .teacher, status: .finished, step: 10 * $0, stage: nil, loss: nil,
                       eval: nil, evalKey: nil, updated: Double(1000 - $0), pid: nil)
        }
        s.sample.sigmas = TeacherGridPreset.sigmas(steps: 6, shift: 3)
        s.sample.preset = s.sample.sigmas
        return s
    }

    func testNavigationClampsAndScreensCycle() {
        var s = state()
        XCTAssertEqual(Reducer.reduce(&s, .up), [])
        XCTAssertEqual(s.runs.selected, 0, "up at the top stays")
        for _ in 0..<5 { _ = Reducer.reduce(&s, .down) }
        XCTAssertEqual(s.runs.selected, 2, "down stops at the last run")
        _ = Reducer.reduce(&s, .top)
        XCTAssertEqual(s.runs.selected, 0)
        _ = Reducer.reduce(&s, .pageDown)
        XCTAssertEqual(s.runs.selected, 2)
        var empty = state(runs: 0)
        _ = Reducer.reduce(&empty, .bottom)
        XCTAssertEqual(empty.runs.selected, 0, "no runs: the cursor stays at 0")
        XCTAssertEqual(Reducer.reduce(&empty, .open), [], "nothing to open")

        XCTAssertEqual(s.screen, .runs)
        XCTAssertEqual(Reducer.reduce(&s, .nextScreen), [.loadRunDetail], "the Run screen loads its run")
        XCTAssertEqual(s.screen, .run)
        _ = Reducer.reduce(&s, .previousScreen)
        XCTAssertEqual(s.screen, .runs)
        _ = Reducer.reduce(&s, .previousScreen)
        XCTAssertEqual(s.screen, ScreenID.allCases.last, "previous from the first wraps to the last")
        _ = Reducer.reduce(&s, .switchTo(.runs))
        _ = Reducer.reduce(&s, .bottom)
        XCTAssertEqual(Reducer.reduce(&s, .open), [.loadRunDetail])
        XCTAssertEqual(s.run.detail?.name, s.runs.visible.last?.name)
        XCTAssertEqual(s.screen, .run)
    }

    func testRunCommandsBecomeEffects() {
        var s = state()
        XCTAssertEqual(Reducer.reduce(&s, .stop), [.control(.stop)])
        XCTAssertEqual(Reducer.reduce(&s, .pause), [.control(.pause)])
        XCTAssertEqual(Reducer.reduce(&s, .resume), [.resumeRun])
        XCTAssertEqual(Reducer.reduce(&s, .refresh), [.refreshRuns])
        XCTAssertEqual(Reducer.reduce(&s, .quit), [.quit])
        XCTAssertEqual(Reducer.reduce(&s, .newRun), [.listConfigs])
        XCTAssertEqual(s.command, "new ")
        XCTAssertEqual(Reducer.reduce(&s, .cycleStudent), [.selectStudent("")])
        _ = Reducer.reduce(&s, .mark)
        XCTAssertEqual(s.runs.marked, [s.runs.visible[0].name])
        _ = Reducer.reduce(&s, .mark)
        XCTAssertTrue(s.runs.marked.isEmpty, "mark toggles")
        // Stage editing belongs to distillation runs.
        s.run.detail = RunDetail(name: "run0"); s.run.detail?.kind = .teacher
        s.command = nil
        XCTAssertEqual(Reducer.reduce(&s, .editStages), [])
        XCTAssertEqual(s.message?.error, true)
        XCTAssertNil(s.command)
    }

    func testScheduleEditorKeepsAValidBoundedList() {
        var s = state()
        let six = s.sample.sigmas
        XCTAssertEqual(six.count, 7)
        // Moving a point past its neighbour makes an invalid schedule: an error, no student request.
        s.sample.point = 1
        var effects: [Effect] = []
        for _ in 0..<40 { effects = Reducer.reduce(&s, .pointDown) }
        XCTAssertNotNil(s.sample.scheduleError)
        XCTAssertEqual(effects, [])
        XCTAssertGreaterThanOrEqual(s.sample.sigmas[1], 0)
        XCTAssertEqual(Reducer.reduce(&s, .resetSchedule), [.requestStudent], "reset restores the preset and samples")
        XCTAssertEqual(s.sample.sigmas, six)
        XCTAssertNil(s.sample.scheduleError)
        // Points move by 0.02, rounded to 1e-3, clamped to [0, 1].
        s.sample.point = 0
        _ = Reducer.reduce(&s, .pointUp)
        XCTAssertEqual(s.sample.sigmas[0], 1)
        // Insert puts the midpoint after the selected point and selects it; delete keeps at least two.
        s.sample.point = 2
        XCTAssertEqual(Reducer.reduce(&s, .pointInsert), [.requestStudent])
        XCTAssertEqual(s.sample.sigmas.count, 8)
        XCTAssertEqual(s.sample.point, 3)
        XCTAssertEqual(s.sample.sigmas[3], (six[2] + six[3]) / 2, accuracy: 1e-6)
        s.sample.point = s.sample.sigmas.count - 1
        XCTAssertEqual(Reducer.reduce(&s, .pointInsert), [], "nothing after the last point")
        s.sample.sigmas = [1, 0]; s.sample.point = 0
        XCTAssertEqual(Reducer.reduce(&s, .pointDelete), [])
        XCTAssertEqual(s.sample.sigmas, [1, 0], "two points is the fewest")
        // Steps: 1…48 with a message at the bounds.
        _ = Reducer.reduce(&s, .resetSchedule)
        for _ in 0..<10 { _ = Reducer.reduce(&s, .studentSteps(-1)) }
        XCTAssertEqual(s.sample.sigmas.count, 2)
        XCTAssertEqual(Reducer.reduce(&s, .studentSteps(-1)), [])
        XCTAssertTrue(s.message?.text.contains("fewest") ?? false)
        for _ in 0..<60 { _ = Reducer.reduce(&s, .studentSteps(1)) }
        XCTAssertEqual(s.sample.sigmas.count, 49)
        XCTAssertTrue(s.message?.text.contains("48 steps") ?? false)
        // Shift presets keep the step count and never go below 0.5.
        _ = Reducer.reduce(&s, .resetSchedule)
        for _ in 0..<10 { _ = Reducer.reduce(&s, .shiftDown) }
        XCTAssertEqual(s.sample.shift, 0.5)
        XCTAssertEqual(s.sample.sigmas, TeacherGridPreset.sigmas(steps: 6, shift: 0.5))
    }

    func testTeacherSettingsStayInRangeAndResample() {
        var s = state()
        s.sample.teacherSettings.sigmas = [1, 0.5, 0]
        XCTAssertEqual(Reducer.reduce(&s, .teacherSteps(12)), [.requestTeacher])
        XCTAssertNil(s.sample.teacherSettings.sigmas, "a step change returns to the preset grid")
        for _ in 0..<20 { _ = Reducer.reduce(&s, .teacherSteps(12)) }
        XCTAssertEqual(s.sample.teacherSettings.steps, 96)
        for _ in 0..<20 { _ = Reducer.reduce(&s, .teacherSteps(-12)) }
        XCTAssertEqual(s.sample.teacherSettings.steps, 1)
        for _ in 0..<40 { _ = Reducer.reduce(&s, .teacherGuidance(1)) }
        XCTAssertEqual(s.sample.teacherSettings.guidance, 15)
        let solver = s.sample.teacherSettings.solver
        _ = Reducer.reduce(&s, .teacherSolver)
        XCTAssertNotEqual(s.sample.teacherSettings.solver, solver)
        XCTAssertEqual(Reducer.reduce(&s, .nextSeed), [.requestTeacher, .requestStudent])
        XCTAssertEqual(s.sample.seed, 1)
        // Frames step with wrap-around and stop the playback.
        s.sample.clipShape = [4, 8, 8, 3]
        _ = Reducer.reduce(&s, .frameBack)
        XCTAssertEqual(s.sample.frame, 3)
        XCTAssertFalse(s.sample.playing)
        _ = Reducer.reduce(&s, .frameForward)
        XCTAssertEqual(s.sample.frame, 0)
    }
}
