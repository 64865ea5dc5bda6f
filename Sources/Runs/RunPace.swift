import Foundation

/// How fast a running trainer goes and when what it is doing ends, from its own `sec_per_step`
/// readings: their median times the steps left. For a distillation the steps left are those of the
/// stage in progress, and the rate is read in that stage alone — later stages run at other speeds
/// (each state costs the teacher fewer steps), so no end of the whole run is promised; for a VAE or
/// teacher run they are the steps to `train.steps`.
public struct RunPace: Equatable {
    public var secondsPerStep: Double
    public var stepsLeft: Int
    /// For a distillation: the stage in progress, counted from 1, and the plan's stage count.
    public var stage: Int?
    public var stages: Int?

    public init(secondsPerStep: Double, stepsLeft: Int, stage: Int? = nil, stages: Int? = nil) {
        (self.secondsPerStep, self.stepsLeft, self.stage, self.stages) = (secondsPerStep, stepsLeft, stage, stages)
    }

    public var secondsLeft: Double { Double(stepsLeft) * secondsPerStep }

    /// The readings a rate is taken from: at most this many, the newest.
    static let window = 9

    /// The pace of a run of `kind` at `step`, its config.toml text `config`, the steps at which its
    /// stages began (`stage` events, in order) and its `sec_per_step` readings (step, seconds) in
    /// step order; nil when the config does not say where the work ends or no reading counts yet
    /// (a distillation's stage before its first log line).
    public static func of(kind: RunKind?, config: String, step: Int, stageStarts: [Int], secPerStep: [(step: Int, value: Double)]) -> RunPace? {
        guard let kind, let table = try? ConfigFile.parse(config, path: "config.toml") else { return nil }
        func int(_ section: String, _ key: String) -> Int? { ((table[section] as? [String: Any])?[key] as? NSNumber)?.intValue }
        let end: Int, since: Int
        var stage: Int? = nil, stages: Int? = nil
        if kind == .distill {
            guard let perStage = int("distill", "steps_per_stage"), perStage > 0, let start = stageStarts.last else { return nil }
            let planned = ((table["distill"] as? [String: Any])?["stages"] as? [Any])?.count ?? 0
            (end, since) = (start + perStage, start)
            (stage, stages) = (stageStarts.count, max(planned, stageStarts.count))
        } else {
            guard let total = int("train", "steps"), total > 0 else { return nil }
            (end, since) = (total, 0)
        }
        // A stage's first reading may hold the evaluation that closed the stage before it; the
        // median of several keeps one such reading from setting the rate.
        let readings = secPerStep.filter { $0.step > since && $0.value.isFinite && $0.value > 0 }.suffix(window).map(\.value).sorted()
        guard !readings.isEmpty else { return nil }
        let n = readings.count
        let median = n % 2 == 1 ? readings[n / 2] : (readings[n / 2 - 1] + readings[n / 2]) / 2
        return RunPace(secondsPerStep: median, stepsLeft: max(0, end - step), stage: stage, stages: stages)
    }

    /// "17 s/step · stage 1/5 ends in ~28 min", "0.52 s/step · ends in ~1 h 10 min".
    public var summary: String {
        let rate = secondsPerStep >= 10 ? String(format: "%.0f s/step", secondsPerStep)
            : secondsPerStep >= 1 ? String(format: "%.1f s/step", secondsPerStep) : String(format: "%.2f s/step", secondsPerStep)
        let what = stage.map { "stage \($0)/\(stages ?? $0) ends" } ?? "ends"
        return "\(rate) · \(what) in ~\(Self.duration(secondsLeft))"
    }

    /// A rounded duration: "40 s", "28 min", "1 h 10 min" (also the trainers' progress line's ETA).
    public static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        if t < 60 { return "\(t) s" }
        let m = Int((s / 60).rounded())
        return m < 60 ? "\(m) min" : "\(m / 60) h \(m % 60) min"
    }
}
