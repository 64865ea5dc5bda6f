// A running trainer's pace: the median of its newest step times, times the steps left to the end of
// the stage (a distillation) or of the run (`train.steps`); none before a reading exists in the
// stage, and none where the config does not say where the work ends.
import Runs
@testable import Studio
import XCTest

final class RunPaceTests: XCTestCase {
    let distill = "kind = \"distill\"\n[distill]\nstages = [ 2, 3, 4, 6, 8 ]\nsteps_per_stage = 200\n"

    func testADistillationsPaceIsItsStagesOwn() throws {
        // Stage 1 ran at 16 s a step; stage 2 began at step 200, its first reading holding the stage
        // evaluation between them (30 s), the others 9 s.
        let readings = stride(from: 10, through: 200, by: 10).map { ($0, 16.0) } + [(210, 30.0), (220, 9.0), (230, 9.0), (240, 9.0), (250, 9.0)]
        let p = try XCTUnwrap(RunPace.of(kind: .distill, config: distill, step: 250, stageStarts: [0, 200], secPerStep: readings))
        XCTAssertEqual(p, RunPace(secondsPerStep: 9, stepsLeft: 150, stage: 2, stages: 5), "the median of the stage's own readings")
        XCTAssertEqual(p.secondsLeft, 1350)
        XCTAssertEqual(p.summary, "9.0 s/step · stage 2/5 ends in ~23 min")

        // Only the newest readings count: a machine that got busy shows at once.
        let busier = readings + (26...34).map { ($0 * 10, 20.0) }
        XCTAssertEqual(RunPace.of(kind: .distill, config: distill, step: 340, stageStarts: [0, 200], secPerStep: busier)?.secondsPerStep, 20)

        // A stage that has no reading of its own yet has no pace; nor has a run whose stages have not begun.
        XCTAssertNil(RunPace.of(kind: .distill, config: distill, step: 200, stageStarts: [0, 200], secPerStep: Array(readings.prefix(20))))
        XCTAssertNil(RunPace.of(kind: .distill, config: distill, step: 0, stageStarts: [], secPerStep: []))
    }

    func testAVAEOrTeacherRunEndsAtItsTrainSteps() throws {
        let config = "kind = \"teacher\"\n[train]\nsteps = 6000\nlr = 4e-4\n"
        let readings = [(50, 0.9), (100, 0.5), (150, 0.52), (200, 0.48)]
        let p = try XCTUnwrap(RunPace.of(kind: .teacher, config: config, step: 200, stageStarts: [], secPerStep: readings))
        XCTAssertEqual(p.secondsPerStep, 0.51, accuracy: 1e-12, "the median of an even count: the mean of the middle two")
        XCTAssertEqual(p.stepsLeft, 5800)
        XCTAssertNil(p.stage)
        XCTAssertEqual(p.summary, "0.51 s/step · ends in ~49 min")
        XCTAssertEqual(RunPace(secondsPerStep: 1.2, stepsLeft: 4000).summary, "1.2 s/step · ends in ~1 h 20 min")
        XCTAssertEqual(RunPace(secondsPerStep: 0.02, stepsLeft: 100).summary, "0.02 s/step · ends in ~2 s")
        // No end in the config, no kind, a config that does not parse, readings that are not times: no pace.
        XCTAssertNil(RunPace.of(kind: .teacher, config: "kind = \"teacher\"\n", step: 200, stageStarts: [], secPerStep: readings))
        XCTAssertNil(RunPace.of(kind: nil, config: config, step: 200, stageStarts: [], secPerStep: readings))
        XCTAssertNil(RunPace.of(kind: .teacher, config: "[train\nsteps = 6000", step: 200, stageStarts: [], secPerStep: readings))
        XCTAssertNil(RunPace.of(kind: .teacher, config: config, step: 200, stageStarts: [], secPerStep: [(100, .nan), (200, 0)]))
    }

    /// The Run screen shows it above the plot while the run runs, and drops it once it has stopped.
    func testTheRunScreenShowsThePaceOfARunningRun() {
        var d = RunDetail(name: "gpd")
        (d.kind, d.status, d.step, d.config) = (.distill, .running, 250, distill)
        d.events = [0, 200].enumerated().map { EventRow(id: Int64($0.offset), step: $0.element, time: 0, kind: .stage, detail: "stage \($0.offset + 1)/5") }
        d.metrics["sec_per_step"] = [(190, 16), (210, 9), (220, 9), (230, 9), (250, 9)]
        d.metrics["loss"] = [(190, 0.5), (250, 0.4)]
        var s = StudioState()
        s.screen = .run
        s.run.detail = d
        func line() -> String { Renderer.render(s, theme: Theme(), rows: 24, cols: 80).lines[2] }
        XCTAssertTrue(line().trimmingCharacters(in: .whitespaces).hasSuffix("9.0 s/step · stage 2/5 ends in ~23 min"), line())
        XCTAssertTrue(line().hasPrefix(" loss (EMA)   m: next metric (2)"), line())
        // A longer label (another metric, log y) leaves no room beside it: the label alone.
        (s.run.metricIndex, s.run.logY) = (1, true)
        XCTAssertEqual(line().trimmingCharacters(in: .whitespaces), "sec_per_step (EMA) · log y   m: next metric (2)")
        s.run.detail?.status = .stopped
        XCTAssertFalse(line().contains("s/step"), line())
    }
}
