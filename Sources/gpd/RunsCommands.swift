// `gpd runs list|show|stop|pause|resume|control|delete|export|import`: the run store from the command line.
import ArgumentParser
import Foundation
import Runs

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "List, inspect and control training runs.",
                                                    subcommands: [List.self, Show.self, Stop.self, Pause.self, Resume.self, Control.self, Delete.self, Export.self, Import.self])

    static func age(_ t: Double) -> String { runAge(t) }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every run: kind, status (crashed = no live trainer), step, loss, eval, age.")
        @OptionGroup var runs: RunsOption
        @Flag(help: "One JSON object.") var json = false
        func run() throws {
            let rows = runs.hasStore ? try RunSupervisor.summaries(try RunStore(root: runs.root)) : []
            if json {
                let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
                print(String(decoding: try e.encode(["runs": rows]), as: UTF8.self))
                return
            }
            if rows.isEmpty { print("no runs in \(runs.root) (start one with `gpd train vae --config samples/configs/vae-demo.toml`)"); return }
            func row(_ c: [String]) -> String {
                let widths = [20, 8, 9, 8, 10, 12, 6]
                return zip(c, widths).enumerated().map { i, p in
                    let (text, w) = p
                    let pad = String(repeating: " ", count: max(0, w - text.count))
                    return i >= 3 ? pad + text : text + pad
                }.joined(separator: " ")
            }
            print(row(["NAME", "KIND", "STATUS", "STEP", "LOSS", "EVAL", "AGE"]))
            for r in rows {
                let loss = r.loss.map { String(format: "%.4f", $0) } ?? "–"
                let ev = r.eval.map { String(format: r.evalKey == "eval/psnr" ? "%.2f dB" : "%.4f", $0) } ?? "–"
                print(row([r.name, r.kind.rawValue, r.status.rawValue, String(r.step), loss, ev, RunsCommand.age(r.updated)]))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A run's status, latest metrics, events and checkpoints.")
        @Argument(help: "Run name.") var name: String
        @OptionGroup var runs: RunsOption
        @Flag(help: "One JSON object.") var json = false
        func run() throws {
            guard runs.hasStore else { throw RunsError("no run '\(name)' in \(runs.root) (no run store there)") }
            let store = try RunStore(root: runs.root)
            guard let summary = try RunSupervisor.summaries(store).first(where: { $0.name == name }) else { throw RunsError("no run '\(name)' in \(runs.root)") }
            let folder = try RunFolder(root: runs.root, name: name)
            var latest: [String: Double] = [:]
            var evaluations: [Int: [String: Double]] = [:]   // step → eval/* values
            var stepTimes: [(step: Int, value: Double)] = []
            for m in try store.metrics(name) {
                latest[m.key] = m.value
                if m.key.hasPrefix("eval/") { evaluations[m.step, default: [:]][String(m.key.dropFirst(5))] = m.value }
                if m.key == "sec_per_step" { stepTimes.append((m.step, m.value)) }
            }
            let evalSteps = evaluations.keys.sorted()
            let events = try store.events(name)
            let checkpoints = try folder.checkpoints()
            let worldSize = try store.run(name)?.worldSize ?? 1
            let config = (try? String(contentsOfFile: folder.configPath, encoding: .utf8)) ?? ""
            let pace = summary.status != .running ? nil
                : RunPace.of(kind: summary.kind, config: config, step: summary.step, stageStarts: events.filter { $0.kind == .stage }.map(\.step), secPerStep: stepTimes)
            if json {
                // null unless running: seconds per step, and the steps and seconds left (in the stage, with its number, for a distillation).
                let paceJSON: Any = pace.map { p in
                    ["seconds_per_step": p.secondsPerStep, "steps_left": Double(p.stepsLeft), "seconds_left": p.secondsLeft]
                        .merging(p.stage.map { ["stage": Double($0), "stages": Double(p.stages ?? $0)] } ?? [:]) { a, _ in a }
                } ?? NSNull()
                try printJSON(["name": name, "kind": summary.kind.rawValue, "status": summary.status.rawValue, "step": summary.step, "world_size": worldSize, "metrics": latest,
                               "events": events.map { ["step": $0.step, "kind": $0.kind.rawValue, "detail": $0.detail, "time": $0.time] },
                               "evaluations": evalSteps.map { ["step": Double($0)].merging(evaluations[$0]!) { a, _ in a } },
                               "checkpoints": checkpoints.map { $0.path }, "config": config, "pace": paceJSON])
                return
            }
            print("\(name): \(summary.kind.rawValue) run, \(summary.status.rawValue) at step \(summary.step)\(summary.pid.map { ", pid \($0)" } ?? "")"
                  + (worldSize > 1 ? ", \(worldSize) processes (mpirun)" : ""))
            if let pace { print("  " + pace.summary) }
            let keyWidth = latest.keys.map(\.count).max() ?? 0
            for k in latest.keys.sorted() { print("  " + k.padding(toLength: keyWidth, withPad: " ", startingAt: 0) + String(format: " %.5g", latest[k]!)) }
            if !evalSteps.isEmpty {
                let keys = ["step"] + Set(evaluations.values.flatMap(\.keys)).sorted()
                func row(_ cells: [String]) -> String {
                    "  " + zip(cells, keys).map { $0.padding(toLength: max(8, $1.count), withPad: " ", startingAt: 0) }.joined(separator: "  ")
                }
                print("evaluations:\n" + row(keys))
                for step in evalSteps {
                    print(row([String(step)] + keys.dropFirst().map { k in evaluations[step]![k].map { String(format: "%.4f", $0) } ?? "–" }))
                }
            }
            print("checkpoints: " + (checkpoints.isEmpty ? "none" : checkpoints.map { "step \($0.step)" }.joined(separator: ", ")))
            for e in events.suffix(10) { print("  [step \(e.step)] \(e.kind): \(e.detail)") }
        }
    }

    static func queue(_ root: String, _ name: String, _ command: ControlCommand, _ payload: String = "") throws {
        let store = try RunStore(root: root)
        guard try store.run(name) != nil else { throw RunsError("no run '\(name)' in \(root)") }
        try store.control(name, command: command, payload: payload)
        print("\(name): \(command.rawValue)\(payload.isEmpty ? "" : " \(payload)") queued; the trainer applies it at its next step")
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask a run's trainer to checkpoint and stop.")
        @Argument var name: String
        @OptionGroup var runs: RunsOption
        func run() throws { try RunsCommand.queue(runs.root, name, .stop) }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a running trainer (it keeps its lock and memory).")
        @Argument var name: String
        @OptionGroup var runs: RunsOption
        func run() throws { try RunsCommand.queue(runs.root, name, .pause) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused trainer, or restart a stopped or crashed run from its newest checkpoint (in the background).")
        @Argument var name: String
        @OptionGroup var runs: RunsOption
        func run() throws {
            let store = try RunStore(root: runs.root)
            guard let r = try RunSupervisor.summaries(store).first(where: { $0.name == name }) else { throw RunsError("no run '\(name)' in \(runs.root)") }
            switch r.status {
            case .paused: try RunsCommand.queue(runs.root, name, .resume)
            case .running: print("\(name) is already running")
            case .finished: print("\(name) has finished")
            default:
                let pid = try RunSupervisor.restart(root: runs.root, name: name, kind: r.kind)
                // Watch the new trainer for two seconds: one that exits at once (another took the run's lock,
                // or the run cannot resume) is reported as such, not as a restart.
                let log = runs.root + "/\(name)/stdout.log"
                for _ in 0..<40 {
                    var status: Int32 = 0
                    if waitpid(pid, &status, WNOHANG) == pid {
                        let last = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").last.map(String.init) ?? ""
                        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                        if code == 0 { print("\(name): resumed and ran to its end (\(last))"); return }
                        throw RunsError("\(name): the trainer exited at once (status \(code)): \(last)")
                    }
                    usleep(50_000)
                }
                print("\(name): restarted from its newest checkpoint (pid \(pid); output in \(log))")
            }
        }
    }

    struct Control: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a running trainer: learning rate; for a distillation, the remaining stages and steps per stage.")
        @Argument var name: String
        @Option(help: "New learning rate from the next step.") var lr: Double?
        @Option(help: "Distillation: the horizons after the current stage, e.g. 4,6,8.") var stages: String?
        @Option(help: "Distillation: steps per stage from now on.") var stepsPerStage: Int?
        @OptionGroup var runs: RunsOption
        func run() throws {
            guard lr != nil || stages != nil || stepsPerStage != nil else { throw ValidationError("nothing to change: give --lr, --stages or --steps-per-stage") }
            if let lr {
                guard lr > 0, lr < 1 else { throw ValidationError("--lr must be in (0, 1)") }
                try RunsCommand.queue(runs.root, name, .lr, String(lr))
            }
            if let stages {
                let horizons = stages.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !horizons.isEmpty, horizons.allSatisfy({ $0 != nil && $0! >= 1 }) else {
                    throw ValidationError("--stages takes horizons like 4,6,8")
                }
                guard zip(horizons, horizons.dropFirst()).allSatisfy({ $0! < $1! }) else {
                    throw ValidationError("--stages must grow: each horizon larger than the one before (e.g. 4,6,8), got \(stages)")
                }
                try RunsCommand.queue(runs.root, name, .stages, stages)
            }
            if let stepsPerStage {
                guard stepsPerStage >= 1 else { throw ValidationError("--steps-per-stage must be at least 1") }
                try RunsCommand.queue(runs.root, name, .stepsPerStage, String(stepsPerStage))
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete runs: their history in the store and their folders (checkpoints, exports, media).",
            discussion: "Refused while a trainer runs it (stop it first) and while another run's config refers to it as its teacher, VAE or starting point (--force deletes anyway). Models exported elsewhere with `gpd model export` are not touched.")
        @Argument(help: "Runs to delete.") var names: [String]
        @Flag(help: "Delete even when other runs' configs refer to these runs.") var force = false
        @OptionGroup var runs: RunsOption
        func run() throws {
            guard !names.isEmpty else { throw ValidationError("name the runs to delete") }
            let store = try RunStore(root: runs.root)
            for name in names {
                try RunSupervisor.delete(store, name: name, force: force, alongWith: Set(names))
                print("deleted \(name)")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write runs' histories (record, metrics, events), config, log and newest media clip to a folder.",
            discussion: "Checkpoints are not copied. `gpd runs import` reads the folder back into any store.")
        @Argument(help: "Runs to export (all when none).") var names: [String] = []
        @Option(help: "The archive folder to write.") var out: String
        @Flag(help: "Leave out the newest media clip (the history alone).") var noMedia = false
        @OptionGroup var runs: RunsOption
        func run() throws {
            let written = try RunArchive.export(try RunStore(root: runs.root), names: names, to: out, media: !noMedia)
            print("exported \(written.joined(separator: ", ")) to \(out)")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bring archived runs (from `gpd runs export`, e.g. samples/demo/runs) into the store.",
            discussion: "A run whose name the store has is skipped, never overwritten. Imported runs have no checkpoints: they are history to browse and compare.")
        @Argument(help: "The archive folder.") var archive: String
        @Argument(help: "Runs to import (all when none).") var names: [String] = []
        @OptionGroup var runs: RunsOption
        func run() throws {
            let (imported, skipped, failed) = try RunArchive.importAll(from: archive, into: try RunStore(root: runs.root), names: names)
            if !imported.isEmpty { print("imported \(imported.joined(separator: ", ")) into \(runs.root)") }
            if !skipped.isEmpty { print("skipped \(skipped.joined(separator: ", ")) (already in \(runs.root))") }
            for f in failed { printError("not imported: \(f.name): \(f.error)") }
            if !failed.isEmpty { throw RunsError("\(failed.count) of \(imported.count + skipped.count + failed.count) archived runs were not imported") }
        }
    }
}

/// A runs command that could not do what it was asked (exit 1); usage mistakes stay ValidationErrors (exit 64).
struct RunsError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
