// The studio's controller and loop: keys → actions → state; background results drained from the
// mailbox; the frame rendered by the pure renderers and drawn by the curses session (the only curses
// user, on this thread). Runs are re-read every second; a playing clip advances at 8 frames/s.
import Data
import Diffusion

import Foundation
import ModelFolders
import Runs
import Tensors
import Terminal

public final class StudioApp {
    public var state = StudioState()
    public var theme: Theme
    let mailbox = Mailbox()
    let backend: SampleBackend
    let runs: RunsRepository
    var lastRunsRefresh = Date.distantPast, lastFrameAdvance = Date()
    var quit = false
    /// The teacher to open instead of the default one: a project model (demo:NAME, a run, a model
    /// folder) or a diffusers Wan2.1 folder.
    public var teacher: String?
    /// The Sample screen's products (F32 where the CPU runs no BF16 products: `GEMM.bf16Available`).
    public var arithmetic: GEMM.Arithmetic {
        get { backend.arithmetic }
        set {
            backend.arithmetic = newValue
            state.sample.bf16 = newValue == .bf16 && GEMM.bf16Available
        }
    }

    public init(runsRoot: String, themeName: String) {
        let (t, problem) = Theme.load(themeName)
        theme = t
        state.runsRoot = runsRoot
        backend = SampleBackend(mailbox: mailbox, runsRoot: runsRoot)
        runs = RunsRepository(mailbox: mailbox, root: runsRoot)
        let (keymap, keysProblem) = Keymap.load()
        state.keymap = keymap
        if let problem = problem ?? keysProblem { state.message = (problem, true) }
        if let demo = ModelRef.demoRoot() {
            do {
                state.runs.bundled = try RunArchive.bundledModels(in: demo + "/runs").map {
                    ($0.model, $0.run, try RunArchive.archivedRecord(in: demo + "/runs", name: $0.run).updated)
                }
            } catch { state.message = ("\(error)", true) }
        }
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
        backend.load()
        if let teacher { run(.loadTeacher(teacher)) }
        refreshRuns()
        // The first clips are requested when the load's results (the models' own sampling settings and
        // schedules) are in the state — requested now, they would sample with the defaults.
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
        if let effects = Reducer.typed(&state, key) { effects.forEach(run); return }
        if case let .mouse(row, col, button) = key { Reducer.click(&state, row: row, col: col, button: button).forEach(run); return }
        if key == .escape { state.message = nil; return }
        guard let action = state.keymap.action(for: key, on: state.screen) else { return }
        state.message = nil
        perform(action)
    }

    public func perform(_ action: Action) {
        Reducer.reduce(&state, action).forEach(run)
    }

    /// Runs a line as if typed after `:`.
    public func execute(_ line: String) {
        Reducer.execute(&state, line).forEach(run)
    }

    func run(_ effect: Effect) {
        switch effect {
        case .quit: quit = true
        case .loadRunDetail: loadRunDetail()
        case .refreshRuns: refreshRuns()
        case let .control(command): control(command)
        case .resumeRun: resumeRun()
        case let .selectStudent(label): selectStudent(label)
        case .listConfigs:
            let list = "configs: " + configs().joined(separator: ", ")
            state.message = state.message.map { ($0.text + " — " + list, $0.error) } ?? (list, false)
        case .requestTeacher: requestTeacher()
        case .requestStudent: requestStudent()
        case let .loadTheme(name):
            let (t, problem) = Theme.load(name)
            theme = t
            state.message = problem.map { ($0, true) } ?? ("theme \(t.name)", false)
        case let .startRun(config, name): newRun(config: config, name: name)
        case let .sendControl(name, command, payload):
            do {
                try RunStore(root: state.runsRoot).control(name, command: command, payload: payload)
                state.message = ("\(command.rawValue) \(payload) sent to \(name); the trainer checks and applies it at its next step (see events)", false)
            } catch { state.message = ("\(error)", true) }
        case let .loadTeacher(ref):
            // A project model when the name resolves to one; otherwise a diffusers Wan2.1 folder.
            if (try? ModelRef.resolve(ref, runsRoot: state.runsRoot)) != nil { backend.loadTeacher(ref: ref) } else { backend.loadWan(path: ref) }
        case let .deleteRun(name): deleteRun(name)
        }
    }

    var selectedRun: RunSummary? { state.selectedRun }

    // MARK: commands

    func configs() -> [String] {
        let dir = FileManager.default.currentDirectoryPath + "/samples/configs"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// `:new CONFIG [NAME]`: starts the config's trainer as a detached process (it outlives the studio).
    func newRun(config: String, name: String) {
        let path = FileManager.default.currentDirectoryPath + "/samples/configs/\(config).toml"
        let kind: RunKind
        do {
            let table = try ConfigFile.read(path)
            guard let k = (table["kind"] as? String).flatMap(RunKind.init(rawValue:)) else {
                state.message = ("\(path): 'kind' must be one of \(RunKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))", true); return
            }
            kind = k
        } catch { state.message = ("\(error)", true); return }
        do {
            try FileManager.default.createDirectory(atPath: state.runsRoot, withIntermediateDirectories: true)
            let args = kind.command + ["--config", path, "--run", name, "--runs", state.runsRoot]
            let pid = try RunSupervisor.launchDetached(RunSupervisor.executable, args, log: state.runsRoot + "/\(name).stdout.log")
            state.message = ("started \(kind.rawValue) run '\(name)' (pid \(pid))", false)
        } catch { state.message = ("\(error)", true) }
    }

    /// `:delete NAME`: deletes a run that no trainer holds and no other run's config refers to (the
    /// typed name is the confirmation; `gpd runs delete --force` overrides the second check).
    func deleteRun(_ name: String) {
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

    /// `:student [NAME]` or `c`: the next student candidate (demo students, the teacher's own first;
    /// distillation exports and their stages; then the teacher itself at the student's steps), or the one whose label contains NAME.
    func selectStudent(_ arg: String) {
        let candidates = SampleBackend.studentCandidates(runsRoot: state.runsRoot, teacher: state.sample.teacherFolder)
        let options = candidates.map { ($0.label, Optional($0.folder)) } + [(SampleBackend.teacherAsStudent, nil)]
        let pick: (String, String?)?
        if arg.isEmpty {
            let i = options.firstIndex { $0.0 == state.sample.studentLabel }.map { ($0 + 1) % options.count } ?? 0
            pick = options[i]
        } else {
            pick = options.first { $0.0 == arg } ?? options.first { $0.0.contains(arg) }
        }
        guard let pick else { state.message = ("no student '\(arg)' (have: \(options.map(\.0).joined(separator: ", ")))", true); return }
        state.message = ("loading \(pick.0)…", false)
        let foreign = state.sample.teacherFolder != nil && candidates.contains { $0.label == pick.0 && !$0.ofTeacher }
        backend.selectStudent(folder: pick.1, label: pick.0, foreign: foreign)
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
        state.sample.teacherBusy = true
        backend.sampleTeacher(prompt: state.sample.prompt, seed: state.sample.seed, settings: state.sample.teacherSettings)
    }

    func requestStudent() {
        guard state.sample.scheduleError == nil else { return }
        state.sample.studentBusy = true
        let sigmas = state.sample.sigmas.isEmpty ? TeacherGridPreset.sigmas(steps: 6, shift: state.sample.shift) : state.sample.sigmas
        backend.sampleStudent(prompt: state.sample.prompt, seed: state.sample.seed, sigmas: sigmas)
    }
}
