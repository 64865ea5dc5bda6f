// The studio's controller and loop: keys → actions → state; background results drained from the
// mailbox; the frame rendered by the pure renderers and drawn by the curses session (the only curses
// user, on this thread). Runs are re-read every second; a playing clip advances at 8 frames/s.
import Data
import Diffusion

import Foundation
import Runs
import Tensors
import Terminal

public final class StudioApp {
    public var state = StudioState()
    public var theme: Theme
    let mailbox = Mailbox()
    let backend: SampleBackend
    let runs: RunsRepository
    var studentGeneration = 0, teacherGeneration = 0
    var lastRunsRefresh = Date.distantPast, lastFrameAdvance = Date()
    var quit = false
    /// A diffusers Wan2.1 folder to open as the teacher instead of the project's models.
    public var wanTeacher: String?

    public init(runsRoot: String, themeName: String) {
        let (t, problem) = Theme.load(themeName)
        theme = t
        state.runsRoot = runsRoot
        backend = SampleBackend(mailbox: mailbox, runsRoot: runsRoot)
        runs = RunsRepository(mailbox: mailbox, root: runsRoot)
        if let problem { state.message = (problem, true) }
    }

    /// Runs the studio until q. `graphics` overrides the probe.
    public func run(graphics: GraphicsMode?) throws {
        guard isatty(0) != 0, isatty(1) != 0 else {
            throw TerminalError.terminal("the studio needs a terminal (stdin and stdout are not ttys); the CLI commands (gpd --help) work anywhere")
        }
        let caps = Capabilities.probe()
        state.graphics = graphics ?? caps.graphics
        let session = CursesSession(graphics: state.graphics, capabilities: caps)
        defer { session.close() }
        if let wanTeacher { backend.loadWan(path: wanTeacher) } else { backend.load() }
        refreshRuns()
        requestTeacher(); requestStudent()
        var dirty = true
        while !quit {
            let updates = mailbox.drain()
            for u in updates { u(&state) }
            if state.sample.teacherReload { state.sample.teacherReload = false; requestTeacher() }
            if state.sample.studentReload { state.sample.studentReload = false; scheduleChanged() }
            if !updates.isEmpty { dirty = true }
            // The read happens off this thread; its results arrive through the mailbox and redraw then.
            if Date().timeIntervalSince(lastRunsRefresh) > 1 { refreshRuns() }
            if Date().timeIntervalSince(lastFrameAdvance) >= 0.125 {
                if state.screen == .sample, state.sample.playing, let n = state.sample.clipShape.first, n > 1 {
                    state.sample.frame = (state.sample.frame + 1) % n
                    dirty = true
                }
                if state.screen == .run, state.run.media, let n = state.run.detail?.mediaShape.first, n > 1 {
                    state.run.mediaFrame = (state.run.mediaFrame + 1) % n
                    dirty = true
                }
                lastFrameAdvance = Date()
            }
            if dirty {
                let size = session.size
                session.draw(Renderer.render(state, theme: theme, rows: size.rows, cols: size.cols))
                dirty = false
            }
            // Every key already typed is handled before the next frame is drawn, so a slow frame (a
            // loaded machine, large images) delays the screen, never the keys.
            var key = session.readKey(milliseconds: 40), handled = 0
            while let k = key, handled < 64, !quit {
                if k == .resize || k == .ctrl("l") { session.invalidate() }
                handle(k)
                dirty = true
                handled += 1
                key = session.readKey(milliseconds: 0)
            }
        }
    }

    // MARK: input

    public func handle(_ key: Key) {
        if state.help { state.help = false; return }
        if state.command != nil { editCommand(key); return }
        if state.runs.filtering { editFilter(key); return }
        if state.sample.editing { editPrompt(key); return }
        if case let .mouse(row, col, button) = key { mouse(row, col, button); return }
        if key == .escape { state.message = nil; return }
        guard let action = Keymap.action(for: key, on: state.screen) else { return }
        state.message = nil
        perform(action)
    }

    func mouse(_ row: Int, _ col: Int, _ button: Int) {
        if button == 4 { perform(.up); return }
        if button == 5 { perform(.down); return }
        if row == 0 {
            // Tabs: " 1 Runs " … after the 12-column title.
            var c = 12
            for s in ScreenID.allCases {
                let w = s.rawValue.count + 4
                if col >= c && col < c + w { state.screen = s; return }
                c += w + 1
            }
        }
        if state.screen == .runs, row >= 2 { state.runs.selected = min(max(0, row - 2), max(0, state.runs.visible.count - 1)) }
    }

    public func perform(_ action: Action) {
        for effect in Reducer.reduce(&state, action) { run(effect) }
    }

    func run(_ effect: Effect) {
        switch effect {
        case .quit: quit = true
        case .loadRunDetail: loadRunDetail()
        case .refreshRuns: refreshRuns()
        case let .control(command): control(command)
        case .resumeRun: resumeRun()
        case let .selectStudent(label): selectStudent(label)
        case .listConfigs: state.message = ("configs: " + configs().joined(separator: ", "), false)
        case .requestTeacher: requestTeacher()
        case .requestStudent: requestStudent()
        }
    }

    var selectedRun: RunSummary? { state.selectedRun }

    // MARK: text input

    func editText(_ text: inout String, _ key: Key) -> Bool? {
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

    func editCommand(_ key: Key) {
        var t = state.command ?? ""
        switch editText(&t, key) {
        case true?: state.command = nil; execute(t)
        case false?: state.command = nil
        default: state.command = t
        }
    }

    func editFilter(_ key: Key) {
        var t = state.runs.filter
        switch editText(&t, key) {
        case true?: state.runs.filtering = false
        case false?: state.runs.filtering = false; state.runs.filter = ""
        default: state.runs.filter = t; state.runs.selected = 0
        }
    }

    func editPrompt(_ key: Key) {
        var t = state.sample.draft
        if key == .up, let last = state.sample.history.last { state.sample.draft = last; return }
        switch editText(&t, key) {
        case true?:
            state.sample.editing = false
            setPrompt(t)
        case false?: state.sample.editing = false
        default: state.sample.draft = t
        }
    }

    public func setPrompt(_ text: String) {
        let p = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !p.isEmpty else { state.message = ("an empty prompt samples nothing", true); return }
        state.sample.prompt = p
        if state.sample.history.last != p { state.sample.history.append(p) }
        // ShapesWorld's grammar judges prompts for the project's models; a Wan2.1 folder takes any text.
        let parsed = state.sample.teacherIsWan ? nil : PromptGrammar.parse(p)
        state.sample.unknownWords = parsed?.unknownWords ?? []
        state.sample.problem = parsed?.problem
        requestTeacher(); requestStudent()
    }

    // MARK: commands

    func execute(_ line: String) {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        guard let cmd = parts.first else { return }
        let arg = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch cmd {
        case "q", "quit": quit = true
        case "theme":
            let (t, problem) = Theme.load(arg.isEmpty ? "dark" : arg)
            theme = t
            state.message = problem.map { ($0, true) } ?? ("theme \(t.name)", false)
        case "run":
            guard state.runs.rows.contains(where: { $0.name == arg }) else { state.message = ("no run '\(arg)'", true); return }
            state.run.detail = RunDetail(name: arg); state.screen = .run; loadRunDetail()
        case "sample": state.screen = .sample; setPrompt(arg)
        case "new": newRun(arg)
        case "stages", "steps-per-stage": scheduleControl(cmd, arg)
        case "student": selectStudent(arg)
        case "teacher":
            guard !arg.isEmpty else { state.message = ("usage: :teacher DIR — a diffusers Wan2.1 folder (tokenizer, text_encoder, transformer, vae, scheduler)", true); return }
            state.screen = .sample
            backend.loadWan(path: (arg as NSString).expandingTildeInPath)
        case "delete": deleteRun(arg)
        default: state.message = ("unknown command '\(cmd)' (theme, run, sample, new, stages, steps-per-stage, student, teacher, delete, q)", true)
        }
    }

    func configs() -> [String] {
        let dir = FileManager.default.currentDirectoryPath + "/samples/configs"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// `:new CONFIG [NAME]`: starts the config's trainer as a detached process (it outlives the studio).
    func newRun(_ arg: String) {
        let parts = arg.split(separator: " ").map(String.init)
        guard let config = parts.first else { state.message = ("usage: :new CONFIG [NAME] — configs: \(configs().joined(separator: ", "))", true); return }
        let path = FileManager.default.currentDirectoryPath + "/samples/configs/\(config).toml"
        let table: [String: Any]
        do { table = try ConfigFile.read(path) } catch { state.message = ("\(error)", true); return }
        guard let kind = table["kind"] as? String, ["vae", "teacher", "distill"].contains(kind) else {
            state.message = ("\(path): 'kind' must be \"vae\", \"teacher\" or \"distill\"", true); return
        }
        let name = parts.count > 1 ? parts[1] : config
        let args = (kind == "distill" ? ["distill"] : ["train", kind]) + ["--config", path, "--run", name, "--runs", state.runsRoot]
        do {
            try FileManager.default.createDirectory(atPath: state.runsRoot, withIntermediateDirectories: true)
            let pid = try RunSupervisor.launchDetached(RunSupervisor.executable, args, log: state.runsRoot + "/\(name).stdout.log")
            state.message = ("started \(kind) run '\(name)' (pid \(pid))", false)
        } catch { state.message = ("\(error)", true) }
    }

    /// `:delete NAME`: deletes a run that no trainer holds and no other run's config refers to (the
    /// typed name is the confirmation; `gpd runs delete --force` overrides the second check).
    func deleteRun(_ name: String) {
        guard !name.isEmpty else { state.message = ("usage: :delete NAME (the run's full name)", true); return }
        do {
            try RunSupervisor.delete(try RunStore(root: state.runsRoot), name: name)
            if state.run.detail?.name == name { state.run.detail = nil }
            state.message = ("deleted run '\(name)'", false)
            refreshRuns()
        } catch { state.message = ("\(error)", true) }
    }

    // MARK: runs

    /// Asks for the runs list (and the open run's detail) to be read again, off this thread.
    func refreshRuns() {
        lastRunsRefresh = Date()
        loadRunDetail()
    }

    func loadRunDetail() {
        if state.run.detail == nil, let r = selectedRun { state.run.detail = RunDetail(name: r.name) }
        let d = state.run.detail
        runs.refresh(.init(detail: state.screen == .run ? d?.name : nil, marked: state.runs.marked,
                           shownMedia: d.flatMap { d in d.mediaName.isEmpty ? nil : (d.mediaName, d.mediaFrames, d.mediaShape, d.mediaCaption) }))
    }

    func control(_ command: ControlCommand) {
        guard let name = state.screen == .run ? state.run.detail?.name : selectedRun?.name else { return }
        do {
            try RunStore(root: state.runsRoot).control(name, command: command)
            state.message = ("\(command.rawValue) sent to \(name); the trainer applies it at its next step", false)
        } catch { state.message = ("\(error)", true) }
    }

    /// `:stages 4,6,8` / `:steps-per-stage 300` on the open distillation run: sent through the control
    /// channel; the trainer validates and applies it at its next step and records an event.
    func scheduleControl(_ cmd: String, _ arg: String) {
        guard let d = state.run.detail, state.screen == .run || state.screen == .runs else { state.message = ("open a distillation run first (Runs screen, enter)", true); return }
        guard d.kind == .distill else { state.message = ("\(d.name) is a \(d.kind?.rawValue ?? "unknown") run; stage schedules belong to distillation runs", true); return }
        guard d.status == .running || d.status == .paused else { state.message = ("\(d.name) is \(d.status.rawValue); a schedule change needs a live trainer", true); return }
        let payload = arg.replacingOccurrences(of: " ", with: "")
        if cmd == "stages" {
            guard !payload.isEmpty, payload.split(separator: ",").allSatisfy({ Int($0) != nil }) else {
                state.message = ("usage: :stages 4,6,8 (horizons after the current stage)", true); return
            }
        } else {
            guard let n = Int(payload), n >= 1 else { state.message = ("usage: :steps-per-stage N (N ≥ 1)", true); return }
        }
        do {
            try RunStore(root: state.runsRoot).control(d.name, command: cmd == "stages" ? .stages : .stepsPerStage, payload: payload)
            state.message = ("\(cmd) \(payload) sent to \(d.name); the trainer checks and applies it at its next step (see events)", false)
        } catch { state.message = ("\(error)", true) }
    }

    /// `:student [NAME]` or `c`: the next student candidate (demo students, distillation exports and
    /// their stages, then the teacher itself at the student's steps), or the one whose label contains NAME.
    func selectStudent(_ arg: String) {
        let options = SampleBackend.studentCandidates(runsRoot: state.runsRoot).map { ($0.label, Optional($0.folder)) }
            + [(SampleBackend.teacherAsStudent, nil)]
        let pick: (String, String?)?
        if arg.isEmpty {
            let i = options.firstIndex { $0.0 == state.sample.studentLabel }.map { ($0 + 1) % options.count } ?? 0
            pick = options[i]
        } else {
            pick = options.first { $0.0 == arg } ?? options.first { $0.0.contains(arg) }
        }
        guard let pick else { state.message = ("no student '\(arg)' (have: \(options.map(\.0).joined(separator: ", ")))", true); return }
        state.message = ("loading \(pick.0)…", false)
        backend.selectStudent(folder: pick.1, label: pick.0)
    }

    func resumeRun() {
        guard let name = state.screen == .run ? state.run.detail?.name : selectedRun?.name,
              let r = state.runs.rows.first(where: { $0.name == name }) else { return }
        if r.status == .paused { control(.resume); return }
        guard [RunStatus.stopped, .crashed, .failed].contains(r.status) else { state.message = ("\(name) is \(r.status.rawValue)", true); return }
        do {
            let pid = try RunSupervisor.restart(root: state.runsRoot, name: name, kind: r.kind)
            state.message = ("restarted \(name) from its newest checkpoint (pid \(pid))", false)
        } catch { state.message = ("\(error)", true) }
    }

    // MARK: sampling

    func scheduleChanged() { for effect in Reducer.scheduleChanged(&state) { run(effect) } }

    func requestTeacher() {
        teacherGeneration += 1
        state.sample.teacherBusy = true
        backend.sampleTeacher(prompt: state.sample.prompt, seed: state.sample.seed, settings: state.sample.teacherSettings, generation: teacherGeneration)
    }

    func requestStudent() {
        guard state.sample.scheduleError == nil else { return }
        studentGeneration += 1
        state.sample.studentBusy = true
        let sigmas = state.sample.sigmas.isEmpty ? TeacherGridPreset.sigmas(steps: 6, shift: state.sample.shift) : state.sample.sigmas
        backend.sampleStudent(prompt: state.sample.prompt, seed: state.sample.seed, sigmas: sigmas, generation: studentGeneration)
    }
}
