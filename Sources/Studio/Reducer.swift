// The studio's state transitions as a pure function: an action changes the state and names the
// effects (sampling, run-store reads and commands, loading a run) the loop then performs. Keeping
// them apart lets tests drive every key without a terminal, a run store or a model.
import Diffusion
import Runs

/// What the loop does for the reducer: everything that reads or writes outside the state.
public enum Effect: Equatable {
    case quit
    case loadRunDetail, refreshRuns
    /// Stop or pause the open (Run screen) or selected (Runs screen) run.
    case control(ControlCommand)
    case resumeRun
    /// A student by label ("" cycles to the next).
    case selectStudent(String)
    /// Shows the configs :new can start.
    case listConfigs
    case requestTeacher, requestStudent
    /// From the command line: a theme by name, a config started as a run, a control command with its
    /// payload for a named run, a teacher (a project model or a Wan2.1 folder), a run deleted.
    case loadTheme(String)
    case startRun(config: String, name: String)
    case sendControl(run: String, ControlCommand, payload: String)
    case loadTeacher(String)
    case deleteRun(String)
}

extension StudioState {
    /// The run under the cursor on the Runs screen.
    public var selectedRun: RunSummary? {
        let v = runs.visible
        return v.indices.contains(runs.selected) ? v[runs.selected] : nil
    }
}

public enum Reducer {
    /// Applies `action` to the state; returns what the loop must do outside it, in order.
    public static func reduce(_ state: inout StudioState, _ action: Action) -> [Effect] {
        switch action {
        case .quit: return [.quit]
        case .help: state.help = true
        case .command: state.command = ""
        case let .switchTo(s): state.screen = s; if s == .run { return [.loadRunDetail] }
        case .nextScreen, .previousScreen:
            let all = ScreenID.allCases, i = all.firstIndex(of: state.screen)!
            state.screen = all[(i + (action == .nextScreen ? 1 : all.count - 1)) % all.count]
            if state.screen == .run { return [.loadRunDetail] }
        case .refresh: return [.refreshRuns]
        case .up, .down, .pageUp, .pageDown, .top, .bottom:
            let n = state.runs.visible.count
            let delta = [Action.up: -1, .down: 1, .pageUp: -10, .pageDown: 10][action] ?? 0
            if state.screen == .runs {
                if action == .top { state.runs.selected = 0 } else if action == .bottom { state.runs.selected = max(0, n - 1) }
                else { state.runs.selected = min(max(0, state.runs.selected + delta), max(0, n - 1)) }
            } else { state.run.scroll = max(0, state.run.scroll + delta) }
        case .open:
            guard let r = state.selectedRun else { return [] }
            state.run.detail = RunDetail(name: r.name)
            state.screen = .run
            return [.loadRunDetail]
        case .filter: state.runs.filtering = true
        case .sort: state.runs.sort = (state.runs.sort + 1) % RunsState.sortNames.count
        case .mark:
            guard let r = state.selectedRun else { return [] }
            if state.runs.marked.contains(r.name) { state.runs.marked.remove(r.name) } else { state.runs.marked.insert(r.name) }
        case .stop, .pause: return [.control(action == .stop ? .stop : .pause)]
        case .resume: return [.resumeRun]
        case .newRun:
            state.command = "new "
            return [.listConfigs]
        case .toggleLog: if state.screen == .spectra { state.spectraLogY.toggle() } else { state.run.logY.toggle() }
        case .toggleSmooth: state.run.smooth.toggle()
        case .toggleMedia: state.run.media.toggle()
        case .cycleStudent: return [.selectStudent("")]
        case .editStages:
            guard let d = state.run.detail, d.kind == .distill else { state.message = ("stage schedules belong to distillation runs", true); return [] }
            let plan = d.stagePlan
            state.command = "stages " + plan.horizons.dropFirst(plan.current + 1).map(String.init).joined(separator: ",")
            state.message = ("remaining horizons after the current stage (teacher steps \(plan.teacherSteps) / horizon = student steps); enter sends, esc cancels", false)
        case .nextMetric:
            let n = state.run.detail?.metricKeys.count ?? 1
            state.run.metricIndex = (state.run.metricIndex + 1) % max(1, n)
        case .editPrompt:
            state.sample.editing = true; state.sample.draft = state.sample.prompt
            state.message = ("editing the prompt: ^U clears it, ↑ recalls the last one, enter samples, esc cancels", false)
        case .nextSeed: state.sample.seed += 1; return [.requestTeacher, .requestStudent]
        case .playPause: state.sample.playing.toggle()
        case .frameBack, .frameForward:
            state.sample.playing = false
            let n = max(1, state.sample.clipShape.first ?? 1)
            state.sample.frame = (state.sample.frame + (action == .frameForward ? 1 : n - 1)) % n
        case .toggleDiff: state.sample.diff.toggle()
        case .pointPrevious: state.sample.point = max(0, state.sample.point - 1)
        case .pointNext: state.sample.point = min(state.sample.sigmas.count - 1, state.sample.point + 1)
        case .pointUp, .pointDown:
            guard state.sample.sigmas.indices.contains(state.sample.point) else { return [] }
            let v = state.sample.sigmas[state.sample.point] + (action == .pointUp ? 0.02 : -0.02)
            state.sample.sigmas[state.sample.point] = min(1, max(0, (v * 1000).rounded() / 1000))
            return scheduleChanged(&state)
        case .pointInsert:
            let s = state.sample.sigmas, i = state.sample.point
            guard i + 1 < s.count else { return [] }
            state.sample.sigmas.insert((s[i] + s[i + 1]) / 2, at: i + 1)
            state.sample.point = i + 1
            return scheduleChanged(&state)
        case .pointDelete:
            guard state.sample.sigmas.count > 2 else { return [] }
            state.sample.sigmas.remove(at: state.sample.point)
            state.sample.point = min(state.sample.point, state.sample.sigmas.count - 1)
            return scheduleChanged(&state)
        case .shiftDown, .shiftUp:
            state.sample.shift = max(0.5, state.sample.shift + (action == .shiftUp ? 0.5 : -0.5))
            state.sample.sigmas = TeacherGridPreset.sigmas(steps: max(1, state.sample.sigmas.count - 1), shift: state.sample.shift)
            return scheduleChanged(&state)
        case let .studentSteps(d):
            let steps = min(48, max(1, state.sample.sigmas.count - 1 + d))
            if steps == state.sample.sigmas.count - 1 {
                state.message = (steps == 1 ? "one step is the fewest a student can take" : "48 steps is the teacher's own grid, the most", true)
                return []
            }
            state.sample.sigmas = TeacherGridPreset.sigmas(steps: steps, shift: state.sample.shift)
            state.sample.point = min(state.sample.point, steps)
            return scheduleChanged(&state)
        case let .teacherSteps(d):
            state.sample.teacherSettings.steps = min(96, max(1, state.sample.teacherSettings.steps + d))
            state.sample.teacherSettings.sigmas = nil
            return [.requestTeacher]
        case let .teacherGuidance(d):
            state.sample.teacherSettings.guidance = min(15, max(0, state.sample.teacherSettings.guidance + d))
            return [.requestTeacher]
        case .teacherSolver:
            state.sample.teacherSettings.solver = state.sample.teacherSettings.solver == .unipc ? .euler : .unipc
            return [.requestTeacher]
        case .resetSchedule:
            state.sample.sigmas = state.sample.preset.isEmpty ? TeacherGridPreset.sigmas(steps: 6, shift: 3) : state.sample.preset
            return scheduleChanged(&state)
        }
        return []
    }

    /// After an edit of the student's schedule: the error it has, or a new student clip.
    public static func scheduleChanged(_ state: inout StudioState) -> [Effect] {
        do {
            try FlowSchedule.validate(state.sample.sigmas)
            state.sample.scheduleError = nil
            return [.requestStudent]
        } catch {
            state.sample.scheduleError = "\(error)".replacingOccurrences(of: "invalid schedule: ", with: "")
            return []
        }
    }
}
