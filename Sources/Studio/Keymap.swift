// Keybindings as data: one table drives dispatch, the footer hints and the help overlay (lazygit's
// rule). A binding belongs to some screens (or all) and names an action.
import Terminal

public enum ScreenID: String, CaseIterable {
    case runs = "Runs", run = "Run", sample = "Sample", spectra = "Spectra"
}

public enum Action: Hashable {
    case quit, help, command, switchTo(ScreenID), nextScreen, previousScreen, refresh
    case up, down, pageUp, pageDown, top, bottom, open
    case filter, sort, mark, stop, pause, resume, newRun
    case toggleLog, toggleSmooth, nextMetric, toggleMedia
    case editPrompt, nextSeed, playPause, frameBack, frameForward, toggleDiff
    case teacherSteps(Int), teacherGuidance(Float), teacherSolver
    case cycleStudent, editStages
    case pointPrevious, pointNext, pointUp, pointDown, pointInsert, pointDelete, shiftDown, shiftUp, resetSchedule, studentSteps(Int)
}

public struct Binding {
    public var keys: [Key]
    public var label: String
    public var help: String
    public var action: Action
    /// Screens where the binding applies (empty: everywhere).
    public var screens: Set<ScreenID>
    /// Shown in the footer.
    public var hint: Bool
}

public enum Keymap {
    public static let bindings: [Binding] = [
        Binding(keys: [.char("q")], label: "q", help: "quit", action: .quit, screens: [], hint: true),
        Binding(keys: [.char("?")], label: "?", help: "help (this page)", action: .help, screens: [], hint: true),
        Binding(keys: [.char(":")], label: ":", help: "command line (:theme NAME, :run NAME, :sample PROMPT, :student NAME, :teacher WAN_DIR, :stages 4,6,8, :steps-per-stage N, :new CONFIG, :delete NAME, :q)", action: .command, screens: [], hint: true),
        Binding(keys: [.char("1")], label: "1", help: "Runs screen", action: .switchTo(.runs), screens: [], hint: false),
        Binding(keys: [.char("2")], label: "2", help: "Run screen", action: .switchTo(.run), screens: [], hint: false),
        Binding(keys: [.char("3")], label: "3", help: "Sample screen", action: .switchTo(.sample), screens: [], hint: false),
        Binding(keys: [.char("4")], label: "4", help: "Spectra screen", action: .switchTo(.spectra), screens: [], hint: false),
        Binding(keys: [.tab], label: "tab", help: "next screen", action: .nextScreen, screens: [], hint: true),
        Binding(keys: [.backTab], label: "S-tab", help: "previous screen", action: .previousScreen, screens: [], hint: false),
        Binding(keys: [.ctrl("l")], label: "^L", help: "repaint", action: .refresh, screens: [], hint: false),
        Binding(keys: [.up, .char("k")], label: "↑/k", help: "move up", action: .up, screens: [.runs, .run], hint: false),
        Binding(keys: [.down, .char("j")], label: "↓/j", help: "move down", action: .down, screens: [.runs, .run], hint: false),
        Binding(keys: [.pageUp], label: "PgUp", help: "page up", action: .pageUp, screens: [.runs, .run], hint: false),
        Binding(keys: [.pageDown], label: "PgDn", help: "page down", action: .pageDown, screens: [.runs, .run], hint: false),
        Binding(keys: [.home, .char("g")], label: "g", help: "first", action: .top, screens: [.runs], hint: false),
        Binding(keys: [.end, .char("G")], label: "G", help: "last", action: .bottom, screens: [.runs], hint: false),
        Binding(keys: [.enter], label: "enter", help: "open the run", action: .open, screens: [.runs], hint: true),
        Binding(keys: [.char("/")], label: "/", help: "filter runs by name or kind", action: .filter, screens: [.runs], hint: true),
        Binding(keys: [.char("s")], label: "s", help: "sort by the next column", action: .sort, screens: [.runs], hint: true),
        Binding(keys: [.char(" ")], label: "space", help: "mark a run (marked runs are overlaid on the Run screen)", action: .mark, screens: [.runs], hint: true),
        Binding(keys: [.char("x")], label: "x", help: "stop the run (checkpoint, then exit)", action: .stop, screens: [.runs, .run], hint: true),
        Binding(keys: [.char("p")], label: "p", help: "pause the run", action: .pause, screens: [.runs, .run], hint: false),
        Binding(keys: [.char("r")], label: "r", help: "resume a paused, stopped or crashed run", action: .resume, screens: [.runs, .run], hint: false),
        Binding(keys: [.char("n")], label: "n", help: "new run: opens the command line at :new, listing samples/configs", action: .newRun, screens: [.runs], hint: false),
        Binding(keys: [.char("l")], label: "l", help: "log-scale y axis", action: .toggleLog, screens: [.run, .spectra], hint: true),
        Binding(keys: [.char("e")], label: "e", help: "EMA smoothing", action: .toggleSmooth, screens: [.run], hint: true),
        Binding(keys: [.char("m")], label: "m", help: "next metric", action: .nextMetric, screens: [.run], hint: true),
        Binding(keys: [.char("S")], label: "S", help: "edit a running distillation's remaining stages (:stages 4,6,8; :steps-per-stage N)", action: .editStages, screens: [.run], hint: true),
        Binding(keys: [.char("v")], label: "v", help: "view the newest media clip (samples saved at evaluations)", action: .toggleMedia, screens: [.run], hint: true),
        Binding(keys: [.char("e"), .enter], label: "e", help: "edit the prompt (^U clears, ↑ recalls, enter samples, esc cancels)", action: .editPrompt, screens: [.sample], hint: true),
        Binding(keys: [.char("c")], label: "c", help: "switch the student model (demo students, distillation exports and their stages, the teacher)", action: .cycleStudent, screens: [.sample], hint: true),
        Binding(keys: [.char("n")], label: "n", help: "next noise seed", action: .nextSeed, screens: [.sample], hint: false),
        Binding(keys: [.char(" ")], label: "space", help: "play / pause", action: .playPause, screens: [.sample], hint: true),
        Binding(keys: [.char(",")], label: ",", help: "previous frame", action: .frameBack, screens: [.sample], hint: false),
        Binding(keys: [.char(".")], label: ".", help: "next frame", action: .frameForward, screens: [.sample], hint: false),
        Binding(keys: [.char("d")], label: "d", help: "difference view |teacher − student|", action: .toggleDiff, screens: [.sample], hint: true),
        Binding(keys: [.left, .char("h")], label: "←/h", help: "previous schedule point", action: .pointPrevious, screens: [.sample], hint: false),
        Binding(keys: [.right, .char("l")], label: "→/l", help: "next schedule point", action: .pointNext, screens: [.sample], hint: false),
        Binding(keys: [.up, .char("k")], label: "↑/k", help: "raise the selected sigma", action: .pointUp, screens: [.sample], hint: true),
        Binding(keys: [.down, .char("j")], label: "↓/j", help: "lower the selected sigma", action: .pointDown, screens: [.sample], hint: false),
        Binding(keys: [.char("i")], label: "i", help: "insert a schedule point after the selected one", action: .pointInsert, screens: [.sample], hint: false),
        Binding(keys: [.char("x")], label: "x", help: "delete the selected schedule point", action: .pointDelete, screens: [.sample], hint: false),
        Binding(keys: [.char("<")], label: "<", help: "lower the shift (preset grid)", action: .shiftDown, screens: [.sample], hint: false),
        Binding(keys: [.char(">")], label: ">", help: "raise the shift (preset grid)", action: .shiftUp, screens: [.sample], hint: false),
        Binding(keys: [.char("R")], label: "R", help: "reset the schedule to the student's preset", action: .resetSchedule, screens: [.sample], hint: true),
        Binding(keys: [.char("T")], label: "T", help: "teacher: 12 more steps", action: .teacherSteps(12), screens: [.sample], hint: false),
        Binding(keys: [.char("t")], label: "t", help: "teacher: 12 steps fewer", action: .teacherSteps(-12), screens: [.sample], hint: false),
        Binding(keys: [.char("W")], label: "W", help: "teacher: guidance +0.5", action: .teacherGuidance(0.5), screens: [.sample], hint: false),
        Binding(keys: [.char("w")], label: "w", help: "teacher: guidance −0.5", action: .teacherGuidance(-0.5), screens: [.sample], hint: false),
        Binding(keys: [.char("u")], label: "u", help: "teacher: switch solver (UniPC / Euler)", action: .teacherSolver, screens: [.sample], hint: false),
        Binding(keys: [.char("+")], label: "+", help: "one more student step (preset grid)", action: .studentSteps(1), screens: [.sample], hint: false),
        Binding(keys: [.char("-")], label: "-", help: "one student step fewer (preset grid)", action: .studentSteps(-1), screens: [.sample], hint: false),
    ]

    public static func action(for key: Key, on screen: ScreenID) -> Action? {
        // Screen-specific bindings win over global ones.
        if let b = bindings.first(where: { $0.screens.contains(screen) && $0.keys.contains(key) }) { return b.action }
        return bindings.first(where: { $0.screens.isEmpty && $0.keys.contains(key) })?.action
    }

    public static func hints(for screen: ScreenID) -> [(String, String)] {
        bindings.filter { $0.hint && ($0.screens.isEmpty || $0.screens.contains(screen)) }.map { ($0.label, $0.help.split(separator: " ").first.map(String.init) ?? $0.help) }
    }
}
