// Keybindings as data: one table drives dispatch, the footer hints and the help overlay (lazygit's
// rule). A binding has a name, belongs to some screens (or all) and names an action; a user's keys
// file (TOML, `name = "key"` or `name = ["key", …]`) rebinds any of them by name.
import Foundation
import Runs
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
    /// The name a keys file rebinds it by.
    public var name: String
    public var keys: [Key]
    public var help: String
    public var action: Action
    /// Screens where the binding applies (empty: everywhere).
    public var screens: Set<ScreenID>
    /// Shown in the footer.
    public var hint: Bool

    init(_ name: String, _ keys: [Key], help: String, action: Action, screens: Set<ScreenID>, hint: Bool) {
        (self.name, self.keys, self.help, self.action, self.screens, self.hint) = (name, keys, help, action, screens, hint)
    }

    /// Its keys as shown in the footer and the help: `↑/k`, `^L`, `space`; `—` when unbound.
    public var label: String { keys.isEmpty ? "—" : keys.map(KeyName.label).joined(separator: "/") }

    func overlaps(_ other: Binding) -> Bool { screens.isEmpty || other.screens.isEmpty || !screens.isDisjoint(with: other.screens) }
}

public struct Keymap {
    public var bindings: [Binding]

    public static let standard = Keymap(bindings: [
        Binding("quit", [.char("q")], help: "quit", action: .quit, screens: [], hint: true),
        Binding("help", [.char("?")], help: "help (this page)", action: .help, screens: [], hint: true),
        Binding("command", [.char(":")], help: "command line (:theme NAME, :run NAME, :sample PROMPT, :student NAME, :teacher MODEL|WAN_DIR, :stages 4,6,8, :steps-per-stage N, :new CONFIG, :delete NAME, :q)", action: .command, screens: [], hint: true),
        Binding("screen_runs", [.char("1")], help: "Runs screen", action: .switchTo(.runs), screens: [], hint: false),
        Binding("screen_run", [.char("2")], help: "Run screen", action: .switchTo(.run), screens: [], hint: false),
        Binding("screen_sample", [.char("3")], help: "Sample screen", action: .switchTo(.sample), screens: [], hint: false),
        Binding("screen_spectra", [.char("4")], help: "Spectra screen", action: .switchTo(.spectra), screens: [], hint: false),
        Binding("next_screen", [.tab], help: "next screen", action: .nextScreen, screens: [], hint: true),
        Binding("previous_screen", [.backTab], help: "previous screen", action: .previousScreen, screens: [], hint: false),
        Binding("repaint", [.ctrl("l")], help: "repaint", action: .refresh, screens: [], hint: false),
        Binding("up", [.up, .char("k")], help: "move up", action: .up, screens: [.runs, .run], hint: false),
        Binding("down", [.down, .char("j")], help: "move down", action: .down, screens: [.runs, .run], hint: false),
        Binding("page_up", [.pageUp], help: "page up", action: .pageUp, screens: [.runs, .run], hint: false),
        Binding("page_down", [.pageDown], help: "page down", action: .pageDown, screens: [.runs, .run], hint: false),
        Binding("first", [.char("g"), .home], help: "first", action: .top, screens: [.runs], hint: false),
        Binding("last", [.char("G"), .end], help: "last", action: .bottom, screens: [.runs], hint: false),
        Binding("open", [.enter], help: "open the run", action: .open, screens: [.runs], hint: true),
        Binding("filter", [.char("/")], help: "filter runs by name or kind", action: .filter, screens: [.runs], hint: true),
        Binding("sort", [.char("s")], help: "sort by the next column", action: .sort, screens: [.runs], hint: true),
        Binding("mark", [.char(" ")], help: "mark a run (marked runs are overlaid on the Run screen)", action: .mark, screens: [.runs], hint: true),
        Binding("stop", [.char("x")], help: "stop the run (checkpoint, then exit)", action: .stop, screens: [.runs, .run], hint: true),
        Binding("pause", [.char("p")], help: "pause the run", action: .pause, screens: [.runs, .run], hint: false),
        Binding("resume", [.char("r")], help: "resume a paused, stopped or crashed run", action: .resume, screens: [.runs, .run], hint: false),
        Binding("new_run", [.char("n")], help: "new run: opens the command line at :new, listing samples/configs", action: .newRun, screens: [.runs], hint: false),
        Binding("log_scale", [.char("l")], help: "log-scale y axis", action: .toggleLog, screens: [.run, .spectra], hint: true),
        Binding("smoothing", [.char("e")], help: "EMA smoothing", action: .toggleSmooth, screens: [.run], hint: true),
        Binding("next_metric", [.char("m")], help: "next metric", action: .nextMetric, screens: [.run], hint: true),
        Binding("edit_stages", [.char("S")], help: "edit a running distillation's remaining stages (:stages 4,6,8; :steps-per-stage N)", action: .editStages, screens: [.run], hint: true),
        Binding("media", [.char("v")], help: "view the newest media clip (samples saved at evaluations)", action: .toggleMedia, screens: [.run], hint: true),
        Binding("edit_prompt", [.char("e"), .enter], help: "edit the prompt (^U clears, ↑ recalls, enter samples, esc cancels)", action: .editPrompt, screens: [.sample], hint: true),
        Binding("next_student", [.char("c")], help: "switch the student model (demo students, distillation exports and their stages, the teacher)", action: .cycleStudent, screens: [.sample], hint: true),
        Binding("next_seed", [.char("n")], help: "next noise seed", action: .nextSeed, screens: [.sample], hint: false),
        Binding("play", [.char(" ")], help: "play / pause", action: .playPause, screens: [.sample], hint: true),
        Binding("previous_frame", [.char(",")], help: "previous frame", action: .frameBack, screens: [.sample], hint: false),
        Binding("next_frame", [.char(".")], help: "next frame", action: .frameForward, screens: [.sample], hint: false),
        Binding("difference", [.char("d")], help: "difference view |teacher − student|", action: .toggleDiff, screens: [.sample], hint: true),
        Binding("previous_point", [.left, .char("h")], help: "previous schedule point", action: .pointPrevious, screens: [.sample], hint: false),
        Binding("next_point", [.right, .char("l")], help: "next schedule point", action: .pointNext, screens: [.sample], hint: false),
        Binding("raise_point", [.up, .char("k")], help: "raise the selected sigma", action: .pointUp, screens: [.sample], hint: true),
        Binding("lower_point", [.down, .char("j")], help: "lower the selected sigma", action: .pointDown, screens: [.sample], hint: false),
        Binding("insert_point", [.char("i")], help: "insert a schedule point after the selected one", action: .pointInsert, screens: [.sample], hint: false),
        Binding("delete_point", [.char("x")], help: "delete the selected schedule point", action: .pointDelete, screens: [.sample], hint: false),
        Binding("lower_shift", [.char("<")], help: "lower the shift (preset grid)", action: .shiftDown, screens: [.sample], hint: false),
        Binding("raise_shift", [.char(">")], help: "raise the shift (preset grid)", action: .shiftUp, screens: [.sample], hint: false),
        Binding("reset_schedule", [.char("R")], help: "reset the schedule to the student's preset", action: .resetSchedule, screens: [.sample], hint: true),
        Binding("teacher_more_steps", [.char("T")], help: "teacher: 12 more steps", action: .teacherSteps(12), screens: [.sample], hint: false),
        Binding("teacher_fewer_steps", [.char("t")], help: "teacher: 12 steps fewer", action: .teacherSteps(-12), screens: [.sample], hint: false),
        Binding("teacher_more_guidance", [.char("W")], help: "teacher: guidance +0.5", action: .teacherGuidance(0.5), screens: [.sample], hint: false),
        Binding("teacher_less_guidance", [.char("w")], help: "teacher: guidance −0.5", action: .teacherGuidance(-0.5), screens: [.sample], hint: false),
        Binding("teacher_solver", [.char("u")], help: "teacher: switch solver (UniPC / Euler)", action: .teacherSolver, screens: [.sample], hint: false),
        Binding("student_more_steps", [.char("+")], help: "one more student step (preset grid)", action: .studentSteps(1), screens: [.sample], hint: false),
        Binding("student_fewer_steps", [.char("-")], help: "one student step fewer (preset grid)", action: .studentSteps(-1), screens: [.sample], hint: false),
    ])

    public func action(for key: Key, on screen: ScreenID) -> Action? {
        // Screen-specific bindings win over global ones.
        if let b = bindings.first(where: { $0.screens.contains(screen) && $0.keys.contains(key) }) { return b.action }
        return bindings.first(where: { $0.screens.isEmpty && $0.keys.contains(key) })?.action
    }

    public func hints(for screen: ScreenID) -> [(String, String)] {
        bindings.filter { $0.hint && ($0.screens.isEmpty || $0.screens.contains(screen)) }.map { ($0.label, $0.help.split(separator: " ").first.map(String.init) ?? $0.help) }
    }
}

extension Keymap {
    /// The user's keys file: `$XDG_CONFIG_HOME/gpd/keys.toml` (~/.config/gpd/keys.toml).
    public static var userFile: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.config"
        return base + "/gpd/keys.toml"
    }

    /// The standard keys with a keys file's changes; with no file, the standard keys. On a problem,
    /// the standard keys and the message (naming the file and the entry).
    public static func load(_ path: String = userFile) -> (Keymap, String?) {
        guard FileManager.default.fileExists(atPath: path) else { return (.standard, nil) }
        do {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw TerminalError.terminal("\(path): not readable UTF-8 text") }
            return (try standard.rebound(try ConfigFile.parse(text, path: path), file: path), nil)
        } catch { return (.standard, "\(error); using the standard keys") }
    }

    /// Rebinds by name: each entry's keys replace the binding's, and are taken away from any other
    /// binding that applies on the same screens (so the user's choice wins everywhere it is visible).
    public func rebound(_ table: [String: Any], file: String) throws -> Keymap {
        var map = self
        for (name, value) in table.sorted(by: { $0.key < $1.key }) {
            func bad(_ why: String) -> TerminalError { .terminal("\(file): '\(name)': \(why)") }
            guard let i = map.bindings.firstIndex(where: { $0.name == name }) else {
                throw bad("no such binding (\(bindings.map(\.name).joined(separator: ", ")))")
            }
            let texts: [String]
            if let one = value as? String { texts = [one] } else if let list = value as? [Any], list.allSatisfy({ $0 is String }) {
                texts = list.map { $0 as! String }
            } else { throw bad("must be a key (\"q\", \"ctrl-l\", \"pgup\") or a list of keys") }
            var keys: [Key] = []
            for t in texts {
                guard let k = KeyName.parse(t) else { throw bad("'\(t)' is not a key (\(KeyName.examples))") }
                guard k != .escape, k != .resize else { throw bad("'\(t)' is reserved: escape closes prompts and messages") }
                if !keys.contains(k) { keys.append(k) }
            }
            map.bindings[i].keys = keys
            for j in map.bindings.indices where j != i && map.bindings[j].overlaps(map.bindings[i]) {
                map.bindings[j].keys.removeAll { keys.contains($0) }
            }
        }
        return map
    }
}

/// Keys by name, for keys files and labels.
enum KeyName {
    static let named: [(String, Key)] = [
        ("up", .up), ("down", .down), ("left", .left), ("right", .right), ("enter", .enter), ("tab", .tab),
        ("shift-tab", .backTab), ("backspace", .backspace), ("delete", .delete), ("escape", .escape),
        ("pgup", .pageUp), ("pgdn", .pageDown), ("home", .home), ("end", .end), ("space", .char(" ")),
    ]
    static let examples = "a character, ctrl-a…ctrl-z, f1…f12, " + named.map(\.0).joined(separator: ", ")

    static func parse(_ text: String) -> Key? {
        let t = text.lowercased()
        if let k = named.first(where: { $0.0 == t })?.1 { return k }
        if text.count == 1, let c = text.first { return .char(c) }
        if t.hasPrefix("ctrl-"), t.count == 6, let c = t.last, c.isLetter, c.isASCII { return .ctrl(c) }
        if t.hasPrefix("f"), let n = Int(t.dropFirst()), (1...12).contains(n) { return .function(n) }
        return nil
    }

    static func label(_ key: Key) -> String {
        switch key {
        case .char(" "): return "space"
        case let .char(c): return String(c)
        case let .ctrl(c): return "^" + c.uppercased()
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .backTab: return "S-tab"
        case let .function(n): return "F\(n)"
        default: return named.first { $0.1 == key }?.0 ?? "?"
        }
    }
}
