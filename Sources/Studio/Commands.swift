// The studio's command line (`:` then a command): what can be typed, parsed into a value or a usage
// line that says what was expected. Parsing is pure; the reducer decides what a command changes and
// the loop performs what it needs outside the state.
import Foundation

/// A line typed after `:`.
public enum StudioCommand: Equatable {
    case quit
    /// A theme by name (themes/NAME.toml); "" is the default.
    case theme(String)
    /// Opens a run on the Run screen.
    case openRun(String)
    case sample(prompt: String)
    /// Starts the config samples/configs/CONFIG.toml as a new run, named NAME or after the config.
    case newRun(config: String, name: String?)
    /// Remaining horizons of the open distillation run.
    case stages([Int])
    case stepsPerStage(Int)
    /// A student by (part of) its label; "" cycles to the next.
    case student(String)
    /// A teacher: a project model (demo:NAME, a run, a folder with model.json) or a diffusers Wan2.1 folder.
    case teacher(String)
    case delete(run: String)

    /// Every command's name as typed, for the "unknown command" answer.
    public static let names = ["theme", "run", "sample", "new", "stages", "steps-per-stage", "student", "teacher", "delete", "q"]

    /// What was wrong with a typed line.
    public struct Problem: Error, Equatable {
        /// The command typed ("" for an empty line).
        public var command: String
        public var message: String
    }

    public static func parse(_ line: String) -> Result<StudioCommand, Problem> {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
        guard let cmd = parts.first else { return .failure(Problem(command: "", message: "type a command after ':' (\(names.joined(separator: ", ")))")) }
        let arg = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        func usage(_ text: String) -> Result<StudioCommand, Problem> { .failure(Problem(command: cmd, message: "usage: " + text)) }
        switch cmd {
        case "q", "quit": return .success(.quit)
        case "theme": return .success(.theme(arg))
        case "run":
            return arg.isEmpty ? usage(":run NAME — opens the run on the Run screen") : .success(.openRun(arg))
        case "sample":
            return arg.isEmpty ? usage(":sample PROMPT") : .success(.sample(prompt: arg))
        case "new":
            let words = arg.split(separator: " ").map(String.init)
            guard let config = words.first, words.count <= 2 else { return usage(":new CONFIG [NAME]") }
            return .success(.newRun(config: config, name: words.count > 1 ? words[1] : nil))
        case "stages":
            let horizons = arg.replacingOccurrences(of: " ", with: "").split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !arg.isEmpty, horizons.allSatisfy({ $0 != nil }) else { return usage(":stages 4,6,8 (horizons after the current stage)") }
            return .success(.stages(horizons.map { $0! }))
        case "steps-per-stage":
            guard let n = Int(arg), n >= 1 else { return usage(":steps-per-stage N (N ≥ 1)") }
            return .success(.stepsPerStage(n))
        case "student": return .success(.student(arg))
        case "teacher":
            return arg.isEmpty ? usage(":teacher MODEL — demo:NAME, a run, a model folder, or a diffusers Wan2.1 folder")
                : .success(.teacher(arg))
        case "delete":
            return arg.isEmpty ? usage(":delete NAME (the run's full name)") : .success(.delete(run: arg))
        default:
            return .failure(Problem(command: cmd, message: "unknown command '\(cmd)' (\(names.joined(separator: ", ")))"))
        }
    }
}
