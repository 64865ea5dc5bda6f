// `gpd distill`: GPD or classic progressive distillation of a teacher into a few-step student.
import ArgumentParser
import Distill
import Foundation

struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "distill",
        abstract: "Distil a teacher into a few-step student (method = \"gpd\" or \"pd\" in the config).")
    @Option(help: "A TOML config (e.g. samples/configs/gpd-demo.toml).") var config: String
    @Option(name: .customLong("run"), help: "Run name (default: the config's file name).") var runName: String?
    @Flag(help: "Continue the run from its newest checkpoint (inside any stage).") var resume = false
    @OptionGroup var runs: RunsOption

    func run() throws {
        let cfg = try DistillConfig.load(config)
        let name = runName ?? ((config as NSString).lastPathComponent as NSString).deletingPathExtension
        let session = try TrainSession(root: runs.root, name: name, kind: "distill", configTOML: try cfg.toml(), resume: resume)
        session.stop.installSignalHandlers()
        let reporter = CLIReporter(label: name)
        session.reporter = reporter
        let trainer = try DistillTrainer(config: cfg, session: session, runsRoot: runs.root)
        reporter.message("\(cfg.distill.method): stages \(trainer.stages.map { "\(cfg.distill.teacherSteps / $0)" }.joined(separator: " → ")) steps, \(trainer.stepsPerStage) steps per stage")
        try trainer.run(resume: resume)
    }
}
