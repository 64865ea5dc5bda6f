// The `gpd` command: argument parsing only; the work lives in the library targets.
import ArgumentParser
import Cluster
import Bench
import Distill
import ModelFolders
import Foundation
import Runs
import Tensors
import Studio
import Terminal

@main
struct GPD: ParsableCommand {
    static func main() {
        EngineRuntime.prepareBLAS()   // may re-execute this process once with OpenBLAS's settings
        EngineRuntime.keepFreedMemory()
        if let problem = EngineRuntime.applyThreadSetting() {
            printError("Error: \(problem)")
            Foundation.exit(64)
        }
        setvbuf(stdout, nil, _IOLBF, 0)   // line-buffered even into a log file, so progress shows as it happens
        // A first word that is neither an option nor a command is a typo, not the studio's argument.
        if CommandLine.arguments.count > 1, let word = CommandLine.arguments.dropFirst().first, !word.hasPrefix("-"),
           !configuration.subcommands.contains(where: { $0._commandName == word }), word != "help" {
            let names = configuration.subcommands.map { $0._commandName }.joined(separator: ", ")
            printError("Error: unknown command '\(word)' (commands: \(names); `gpd --help` says what each does)")
            Foundation.exit(64)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // ArgumentParser's message for the error (usage, help, or the error itself), sanitised: it can
            // quote a path, a run name or a caption.
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                let rank = World.launchedByMPI && code != .success ? "rank \(World.current.rank): " : ""
                if code == .success { print(message) } else { printError(rank + message) }
            }
            // Under mpirun an error on one rank ends the job: the others would wait for it forever.
            if World.launchedByMPI && code != .success { World.current.abort(code.rawValue) }
            Foundation.exit(code.rawValue)
        }
    }

    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "gpd",
            abstract: "GPD Studio: Guided Progressive Distillation of text-to-video diffusion models, on the CPU.",
            version: Version.full,
            subcommands: [Studio.self, SampleCommand.self, DataCommand.self, TrainCommand.self, DistillCommand.self, EvalCommand.self, TextCommand.self, RunsCommand.self, ScheduleCommand.self, ModelCommand.self, VAECommand.self, BenchCommand.self],
            defaultSubcommand: Studio.self)
    }
}

enum Version {
    static let project = "0.1.0"

    static var bf16Line: String {
        switch GEMM.bf16Units {
        case nil: return GEMM.bf16Unused ?? "neither AMX tiles nor AVX512-BF16 on this CPU: every product is F32"
        case let units? where GEMM.studioDefault == .bf16: return "\(units): the studio samples with BF16 products (--arithmetic bf16 elsewhere)"
        case let units?: return "\(units): BF16 products where asked (--arithmetic bf16, inference_arithmetic); the studio stays F32 by default"
        }
    }

    /// The project version and the native libraries this binary linked.
    static var full: String {
        """
        gpd \(project)
          OpenBLAS  \(GEMM.config) (\(GEMM.threads) threads)
                    core \(EngineRuntime.blasDecision.core): \(EngineRuntime.blasDecision.explanation)
          BF16      \(bf16Line)
          AVX-512   \(GEMM.avx512Available ? "softmax exponentials (attention without a graph) and GELU 16 lanes wide" : "none: the engine's own loops are AVX2, 8 lanes wide")
          FFTW      \(FFT.version)
          ncurses   \(NativeLibraries.ncurses)
          sixel     \(NativeLibraries.sixel)
        """
    }
}

struct Studio: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open the terminal studio (the default command).")

    @OptionGroup var runs: RunsOption
    @Option(help: "Theme name from themes/ (\(Theme.available().joined(separator: ", "))).") var theme: String = "dark"
    @Option(help: "Image output: sixel, blocks or none (default: ask the terminal).") var graphics: GraphicsMode?
    @Flag(help: "Print what the terminal answered to the capability probe, then exit.") var probe = false
    @Option(help: ArgumentHelp("Open on this screen: runs, run, sample or spectra.", valueName: "runs|run|sample|spectra")) var screen: String?
    @Flag(help: "Print the keybinding table (Markdown) and exit.") var keys = false
    @Option(help: "Start the Sample screen with this prompt.") var prompt: String?
    @Option(name: .customLong("run"), help: "Open the Run screen on this run.") var runName: String?
    @Option(help: "The teacher on the Sample screen: a project model (demo:teacher-struct, a run, a model folder) or a diffusers Wan2.1 folder (9 frames at 128×128).") var teacher: String?
    @Option(help: "The Sample screen's products: bf16 (BF16 inputs, F32 sums, on AMX tiles, or AVX512-BF16 on AMD CPUs; F32 elsewhere) or f32 (as `gpd sample` and `gpd eval` compute by default). Default: bf16 where the CPU has AMX tiles, else f32.")
    var arithmetic: GEMM.Arithmetic?

    func run() throws {
        if keys {
            let (keymap, problem) = Keymap.load()
            if let problem { FileHandle.standardError.write(Data((problem + "\n").utf8)) }
            print("Rebind any of these by name in \(Keymap.userFile), e.g. `stop = [\"x\", \"ctrl-x\"]`.\n")
            print("| key | name | where | what |\n|---|---|---|---|")
            for b in keymap.bindings {
                let where_ = b.screens.isEmpty ? "everywhere" : ScreenID.allCases.filter { b.screens.contains($0) }.map(\.rawValue).joined(separator: ", ")
                print("| `\(b.label)` | `\(b.name)` | \(where_) | \(b.help.replacingOccurrences(of: "|", with: "\\|")) |")
            }
            return
        }
        if probe {
            let c = Capabilities.probe()
            print("sixel: \(c.sixel)  cell: \(c.cellWidth)×\(c.cellHeight) px  truecolor: \(c.truecolor)\nreplies: \(c.replies)")
            return
        }
        let welcome = importDemoRunsIntoAnEmptyStore()
        if let runName {
            // Refused before the screen opens: the Run screen would show an unknown name as a new run.
            let store = try RunStore(root: runs.root)
            if try store.run(runName) == nil {
                let names = try store.runs().map(\.name)
                let listed = names.isEmpty ? "none yet; the demo's: gpd runs import \(Self.demoRuns ?? "samples/demo/runs")"
                    : names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", … (\(names.count) in all: gpd runs list)" : "")
                throw ValidationError("--run \(runName): no such run in \(runs.root)/ (runs: \(listed))")
            }
        }
        let app = StudioApp(runsRoot: runs.root, themeName: theme)
        if let teacher {
            var isDir: ObjCBool = false
            let projectModel = (try? ModelRef.resolve(teacher, runsRoot: runs.root)) != nil
            guard projectModel || (FileManager.default.fileExists(atPath: teacher, isDirectory: &isDir) && isDir.boolValue) else {
                throw ValidationError("--teacher \(teacher): neither a project model (demo:NAME, a run with an export, a folder with model.json) nor a folder (a diffusers Wan2.1 folder)")
            }
            app.teacher = teacher
            if screen == nil { app.state.screen = .sample }
        }
        if let welcome { app.state.message = (welcome, false) }
        if let screen {
            guard let id = ScreenID.allCases.first(where: { $0.rawValue.lowercased() == screen.lowercased() }) else {
                throw ValidationError("unknown screen '\(screen)' (runs, run, sample, spectra)")
            }
            app.state.screen = id
        }
        if let prompt { app.state.sample.prompt = prompt }
        app.arithmetic = arithmetic ?? GEMM.studioDefault
        if let runName { app.state.screen = .run; app.state.run.detail = RunDetail(name: runName) }
        try app.run(graphics: graphics)
        // Quit at once: a background sample may be inside a GEMM, and OpenBLAS's exit handler would
        // wait for it. Curses is closed; nothing else needs flushing.
        fflush(stdout)
        _exit(0)
    }

    /// The demo's archived runs (samples/demo/runs), the runs that made the bundled models.
    static var demoRuns: String? { ModelRef.demoRoot().map { $0 + "/runs" } }

    /// On the default runs root with no runs yet (a fresh checkout), brings in the demo's archived
    /// runs (samples/demo/runs), so the studio opens on the runs that made the demo models; a store
    /// that has runs but not all of the demo's is left as it is, with a line saying how to add them.
    /// An explicit --runs or $GPD_RUNS is left alone.
    func importDemoRunsIntoAnEmptyStore() -> String? {
        guard runs.runs == nil, ProcessInfo.processInfo.environment["GPD_RUNS"] == nil,
              let demo = Self.demoRuns, FileManager.default.fileExists(atPath: demo),
              let store = try? RunStore(root: runs.root), let have = try? Set(store.runs().map(\.name)) else { return nil }
        guard have.isEmpty else {
            let missing = ((try? RunArchive.archivedRuns(in: demo, names: [])) ?? []).filter { !have.contains($0) }
            return missing.isEmpty ? nil : "\(missing.count) of the demo's runs are not in \(runs.root)/: gpd runs import \(demo)"
        }
        do {
            let names = try RunArchive.importRuns(from: demo, into: store).imported
            return "imported the demo's runs (\(names.joined(separator: ", "))) from \(demo) into \(runs.root)/"
        } catch { return "could not import the demo's runs: \(error)" }
    }
}

extension GraphicsMode: ExpressibleByArgument {}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench",
        abstract: "Measure the engine against this machine's ceilings (ratios from one run).")

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(help: "Smaller sizes, for a smoke run.")
    var quick = false

    static var groups: [String] { EngineBench.groups + ModelBench.groups + DataBench.groups + StudioBench.groups }

    @Option(help: "Run only these groups (comma-separated): \(BenchCommand.groups.joined(separator: ", ")). The memory group builds a 1.3B model (6 GB).")
    var only: String?

    func validate() throws {
        if let only {
            let unknown = only.split(separator: ",").map(String.init).filter { !BenchCommand.groups.contains($0) }
            if !unknown.isEmpty {
                throw ValidationError("unknown bench group(s) \(unknown.joined(separator: ", ")); known: \(BenchCommand.groups.joined(separator: ", "))")
            }
        }
    }

    func run() throws {
        var report = BenchReport(machine: machineDescription(), threads: GEMM.threads,
                                 blasCore: "\(EngineRuntime.blasDecision.core) (\(EngineRuntime.blasDecision.explanation))")
        let selected = only.map { Set($0.split(separator: ",").map(String.init)) }
        EngineBench.run(into: &report, quick: quick, only: selected)
        try ModelBench.run(into: &report, only: selected)
        try StudioBench.run(into: &report, only: selected)
        try DataBench.run(into: &report, only: selected)
        print(json ? try report.json() : report.table())
    }
}
