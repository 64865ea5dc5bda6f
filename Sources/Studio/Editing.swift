// The reducer's typed-text half: keys typed into the command line, the runs filter or the prompt
// editor; a command line's effect on the state; a mouse click. Like `Reducer.reduce`, pure: the loop
// performs the effects.
import Data
import Foundation
import Runs
import Terminal

extension Reducer {
    /// A key while a line is being edited; nil when none is (the key is then an action).
    public static func typed(_ state: inout StudioState, _ key: Key) -> [Effect]? {
        if var line = state.command {
            switch edit(&line, key) {
            case true?: state.command = nil; return execute(&state, line)
            case false?: state.command = nil
            default: state.command = line
            }
            return []
        }
        if state.runs.filtering {
            var text = state.runs.filter
            switch edit(&text, key) {
            case true?: state.runs.filtering = false
            case false?: state.runs.filtering = false; state.runs.filter = ""
            default: state.runs.filter = text; state.runs.selected = 0
            }
            return []
        }
        if state.sample.editing {
            if key == .up, let last = state.sample.history.last { state.sample.draft = last; return [] }
            var text = state.sample.draft
            switch edit(&text, key) {
            case true?: state.sample.editing = false; return setPrompt(&state, text)
            case false?: state.sample.editing = false
            default: state.sample.draft = text
            }
            return []
        }
        return nil
    }

    /// One key on a line of text: true on enter, false on escape, nil while editing goes on.
    static func edit(_ text: inout String, _ key: Key) -> Bool? {
        switch key {
        case .enter: return true
        case .escape: return false
        case .backspace: if !text.isEmpty { text.removeLast() }
        case let .char(c): if text.count < 500 { text.append(c) }
        case .ctrl("u"): text = ""
        default: break
        }
        return nil
    }

    /// A prompt to sample both models on (trimmed; refused when empty).
    public static func setPrompt(_ state: inout StudioState, _ text: String) -> [Effect] {
        let p = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !p.isEmpty else { state.message = ("an empty prompt samples nothing", true); return [] }
        state.sample.prompt = p
        if state.sample.history.last != p { state.sample.history.append(p) }
        // ShapesWorld's grammar judges prompts for the project's models; a Wan2.1 folder takes any text.
        let parsed = state.sample.teacherIsWan ? nil : PromptGrammar.parse(p)
        state.sample.unknownWords = parsed?.unknownWords ?? []
        state.sample.problem = parsed?.problem
        return [.requestTeacher, .requestStudent]
    }

    /// A line typed after `:`.
    public static func execute(_ state: inout StudioState, _ line: String) -> [Effect] {
        let command: StudioCommand
        switch StudioCommand.parse(line) {
        case let .failure(problem):
            state.message = (problem.message, true)
            return problem.command == "new" ? [.listConfigs] : []
        case let .success(c): command = c
        }
        switch command {
        case .quit: return [.quit]
        case let .theme(name): return [.loadTheme(name.isEmpty ? "dark" : name)]
        case let .openRun(name):
            guard state.runs.rows.contains(where: { $0.name == name }) else { state.message = ("no run '\(name)'", true); return [] }
            state.run.detail = RunDetail(name: name)
            state.screen = .run
            return [.loadRunDetail]
        case let .sample(prompt):
            state.screen = .sample
            return setPrompt(&state, prompt)
        case let .newRun(config, name): return [.startRun(config: config, name: name ?? config)]
        case let .stages(horizons):
            return scheduleControl(&state, .stages, horizons.map(String.init).joined(separator: ","))
        case let .stepsPerStage(n): return scheduleControl(&state, .stepsPerStage, String(n))
        case let .student(label): return [.selectStudent(label)]
        case let .teacher(ref):
            state.screen = .sample
            return [.loadTeacher(ref.hasPrefix("~") ? (ref as NSString).expandingTildeInPath : ref)]
        case let .delete(name): return [.deleteRun(name)]
        }
    }

    /// `:stages` / `:steps-per-stage` go to a live distillation run, which checks and applies them.
    static func scheduleControl(_ state: inout StudioState, _ command: ControlCommand, _ payload: String) -> [Effect] {
        guard let d = state.run.detail, state.screen == .run || state.screen == .runs else {
            state.message = ("open a distillation run first (Runs screen, enter)", true); return []
        }
        guard d.kind == .distill else {
            state.message = ("\(d.name) is a \(d.kind?.rawValue ?? "unknown") run; stage schedules belong to distillation runs", true); return []
        }
        guard d.status == .running || d.status == .paused else {
            state.message = ("\(d.name) is \(d.status.rawValue); a schedule change needs a live trainer", true); return []
        }
        return [.sendControl(run: d.name, command, payload: payload)]
    }

    /// A mouse event: the wheel scrolls, a click on a tab switches screens, on a run selects it.
    public static func click(_ state: inout StudioState, row: Int, col: Int, button: Int) -> [Effect] {
        if button == 4 { return reduce(&state, .up) }
        if button == 5 { return reduce(&state, .down) }
        if row == 0 {
            // Tabs: " 1 Runs " … after the 12-column title, one column apart.
            var c = 12
            for s in ScreenID.allCases {
                let w = s.rawValue.count + 4
                if col >= c && col < c + w { return reduce(&state, .switchTo(s)) }
                c += w + 1
            }
        }
        if state.screen == .runs, row >= 2 { state.runs.selected = min(max(0, row - 2), max(0, state.runs.visible.count - 1)) }
        return []
    }
}
