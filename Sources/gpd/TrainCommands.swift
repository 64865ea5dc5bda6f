// `gpd train vae|teacher`: trainers writing to the run store; a progress bar on a terminal.
import ArgumentParser
import Cluster
import Distill
import Foundation
import Runs

/// The runs root: --runs, then $GPD_RUNS, then ./runs.
struct RunsOption: ParsableArguments {
    @Option(help: "Runs root folder (default: $GPD_RUNS or ./runs).") var runs: String?
    var root: String { runs ?? ProcessInfo.processInfo.environment["GPD_RUNS"] ?? "runs" }

    func validate() throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), !isFolder.boolValue {
            throw ValidationError("the runs root '\(root)' is a file, not a folder (--runs DIR or $GPD_RUNS)")
        }
    }

    /// Whether the root holds a run store yet (read-only commands do not create one).
    var hasStore: Bool { FileManager.default.fileExists(atPath: root + "/runs.sqlite") }
}

final class CLIReporter: TrainReporter {
    let label: String
    var progressBar: Progress?
    /// Under mpirun only rank 0 reports; the others would repeat it.
    let quiet = !World.current.isRoot
    init(label: String) { self.label = label }
    func progress(step: Int, total: Int, loss: Float, rate: Double) {
        guard !quiet else { return }
        if progressBar == nil { progressBar = Progress(label, total: total) }
        let tty = isatty(2) != 0
        if tty {
            let eta = Double(total - step) / max(rate, 1e-9)
            FileHandle.standardError.write(String(format: "\r%@ step %d/%d  loss %.4f  %.2f step/s  ETA %@   ", label, step, total, loss, rate,
                                                  RunPace.duration(eta)).data(using: .utf8)!)
        } else {
            print(String(format: "%@ step %d/%d loss %.5f (%.2f step/s)", label, step, total, loss, rate))
        }
    }
    func message(_ text: String) {
        guard !quiet else { return }
        if isatty(2) != 0 { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
        print("\(label): \(text)")
    }
}

/// The options every trainer command takes, and the session they open.
struct TrainOptions: ParsableArguments {
    @Option(help: "A TOML config from samples/configs/ (not needed with --resume --run NAME).") var config: String?
    @Option(name: .customLong("run"), help: "Run name (default: the config's file name).") var runName: String?
    @Flag(help: "Continue the run from its newest checkpoint (with the run's own config.toml).") var resume = false
    @Option(name: .customLong("set"), parsing: .singleValue,
            help: ArgumentHelp("Override one config value, e.g. --set distill.frequency_weight=0 (repeatable; TOML values).", valueName: "section.key=value"))
    var overrides: [String] = []
    @OptionGroup var runs: RunsOption

    func validate() throws {
        guard config == nil else { return }
        guard resume, runName != nil else { throw ValidationError("give --config FILE (a new run), or --resume --run NAME (continue a run with its own config)") }
    }

    var name: String { runName ?? (((config ?? "") as NSString).lastPathComponent as NSString).deletingPathExtension }

    /// The config to load: the file given, or on --resume the run's resolved config.toml (so a resumed
    /// run continues with exactly what it started with, overrides and live changes included).
    func configSource() throws -> (path: String, overrides: [String]) {
        let own = runs.root + "/" + name + "/config.toml"
        guard resume, FileManager.default.fileExists(atPath: own) else {
            guard let config else { throw ValidationError("run '\(name)' has no \(own) to resume with; give --config FILE to start it") }
            return (config, overrides)
        }
        if !overrides.isEmpty { throw ValidationError("--set applies to new runs; run '\(name)' resumes with its own \(own)") }
        return (own, [])
    }

    /// Says which of a config's sections are absent, so their defaults apply knowingly (the run's
    /// config.toml records every value either way).
    func noteDefaults(_ path: String, overrides: [String], sections: [String]) {
        guard let table = try? ConfigFile.read(path, overrides: overrides) else { return }
        let missing = sections.filter { table[$0] == nil }
        if !missing.isEmpty {
            printError("note: \(path) has no \(missing.map { "[\($0)]" }.joined(separator: ", ")) section\(missing.count > 1 ? "s" : ""): the defaults apply")
        }
    }

    /// Opens the run (lock, store, resolved config), routes SIGINT/SIGTERM to a graceful stop and
    /// reports progress on the terminal.
    /// `batch`: the global batch the ranks divide (checked before the run exists).
    func session(kind: RunKind, configTOML: String, batch: (size: Int, section: String)) throws -> (TrainSession, CLIReporter) {
        do { _ = try World.current.rows(ofBatch: batch.size, section: batch.section) } catch { throw ValidationError("\(error)") }
        let session = try TrainSession(root: runs.root, name: name, kind: kind, configTOML: configTOML, resume: resume)
        session.stop.installSignalHandlers()
        let reporter = CLIReporter(label: name)
        session.reporter = reporter
        return (session, reporter)
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train the ShapesWorld VAE or teacher.",
                                                    subcommands: [VAE.self, Teacher.self])

    struct VAE: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "vae", abstract: "Train a Wan-VAE on ShapesWorld clips (e.g. samples/configs/vae-demo.toml).")
        @OptionGroup var options: TrainOptions

        func run() throws {
            let source = try options.configSource()
            let cfg = try VAETrainConfig.load(source.path, overrides: source.overrides)
            options.noteDefaults(source.path, overrides: source.overrides, sections: ["data", "train", "loss"])
            try Preflight.check(cfg, path: source.path)
            let (session, reporter) = try options.session(kind: .vae, configTOML: try cfg.toml(), batch: (cfg.train.batch, "[train] batch"))
            let trainer = try VAETrainer(config: cfg, session: session)
            reporter.message("\(trainer.vae.parameterCount) parameters; \(cfg.train.steps) steps of \(cfg.train.batch) clips (\(cfg.data.frames)×\(cfg.data.size)²)")
            try trainer.run(resume: options.resume)
        }
    }

    struct Teacher: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "teacher",
            abstract: "Train a Wan-architecture teacher and its text encoder by flow matching on ShapesWorld latents (e.g. samples/configs/teacher-demo.toml).")
        @OptionGroup var options: TrainOptions

        func run() throws {
            let source = try options.configSource()
            let cfg = try TeacherTrainConfig.load(source.path, overrides: source.overrides)
            options.noteDefaults(source.path, overrides: source.overrides, sections: ["data", "text", "train", "flow", "sample"])
            // A run that resumes from a checkpoint needs no starting teacher (model.init_from).
            let resuming = options.resume && !((try? RunFolder(root: options.runs.root, name: options.name).checkpoints().isEmpty) ?? true)
            try Preflight.check(cfg, path: source.path, runsRoot: options.runs.root, initialWeights: !resuming)
            let (session, reporter) = try options.session(kind: .teacher, configTOML: try cfg.toml(), batch: (cfg.train.batch, "[train] batch"))
            let trainer = try TeacherTrainer(config: cfg, session: session)
            reporter.message("\(trainer.model.transformer.parameterCount) transformer + \(trainer.model.textEncoder.parameterCount) text-encoder parameters; \(cfg.train.steps) steps of \(cfg.train.batch)")
            try trainer.run(resume: options.resume)
        }
    }
}
