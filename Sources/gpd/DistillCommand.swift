// `gpd distill`: GPD or classic progressive distillation of a teacher into a few-step student.
import ArgumentParser
import Distill
import Foundation

struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "distill",
        abstract: "Distil a teacher into a few-step student (method = \"gpd\" or \"pd\" in the config).")
    @OptionGroup var options: TrainOptions

    func run() throws {
        let source = try options.configSource()
        let cfg = try DistillConfig.load(source.path, overrides: source.overrides)
        options.noteDefaults(source.path, overrides: source.overrides, sections: ["data", "train"])
        try Preflight.check(cfg, path: source.path, runsRoot: options.runs.root)
        let (session, reporter) = try options.session(kind: .distill, configTOML: try cfg.toml(), batch: (cfg.distill.prompts, "[distill] prompts"))
        let trainer = try DistillTrainer(config: cfg, session: session, runsRoot: options.runs.root)
        reporter.message("\(cfg.distill.method.rawValue): stages \(trainer.stages.map { "\(cfg.distill.teacherSteps / $0)" }.joined(separator: " → ")) steps, \(trainer.stepsPerStage) steps per stage")
        try trainer.run(resume: options.resume)
    }
}
