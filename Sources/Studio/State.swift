// The studio's state: plain structs, changed only on the UI thread by actions and by snapshots that
// background work posts. Render functions read it; nothing here draws.
import Diffusion
import Foundation
import Runs
import Terminal

public struct RunsState {
    public var rows: [RunSummary] = []
    /// Whether the store has been read once: until then an empty list is not an empty store.
    public var loaded = false
    public var selected = 0
    public var filter = ""
    public var filtering = false
    /// 0 age (newest first; the bundled models' runs before the rest), 1 name, 2 status, 3 step.
    public var sort = 0
    public var marked: Set<String> = []
    public var warning: String?
    public static let sortNames = ["age", "name", "status", "step"]
    /// The runs whose exports are the bundled models, in the demo manifest's order
    /// (samples/demo/runs/bundled.json, `RunArchive.bundledModels`), each with its archived record's
    /// `updated`: a store's run is one of them when both name and time match — imported from the demo,
    /// not a run of one's own that took the same name (as the recipes' `--run` names suggest).
    public var bundled: [(model: String, run: String, updated: Double)] = []

    /// The run's place in `bundled`, if it is one of those runs.
    func bundledIndex(_ run: RunSummary) -> Int? { bundled.firstIndex { $0.run == run.name && $0.updated == run.updated } }

    /// The bundled model a run made, if it is one of those runs.
    public func bundledModel(_ run: RunSummary) -> String? { bundledIndex(run).map { bundled[$0].model } }

    /// The sort's name as the Runs screen shows it.
    public var sortLabel: String {
        sort == 0 && rows.contains(where: { bundledModel($0) != nil }) ? "age, bundled first" : Self.sortNames[sort]
    }

    public var visible: [RunSummary] {
        let f = filter.lowercased()
        let rows = f.isEmpty ? self.rows : self.rows.filter { $0.name.lowercased().contains(f) || $0.kind.rawValue.contains(f) || $0.status.rawValue.contains(f)
            || (bundledModel($0)?.lowercased().contains(f) ?? false) }
        switch sort {
        case 1: return rows.sorted { $0.name < $1.name }
        case 2: return rows.sorted { ($0.status.rawValue, $0.name) < ($1.status.rawValue, $1.name) }
        case 3: return rows.sorted { $0.step > $1.step }
        default:
            // A fresh checkout's store holds the demo's runs: the ones behind the bundled models come first,
            // in the manifest's order, so a newcomer meets them before the newest experiments.
            return rows.sorted { a, b in
                switch (bundledIndex(a), bundledIndex(b)) {
                case let (x?, y?): return x < y
                case (.some, nil): return true
                case (nil, .some): return false
                case (nil, nil): return a.updated > b.updated
                }
            }
        }
    }
}

public struct RunDetail {
    public var name: String
    public var kind: RunKind?
    public var status = RunStatus.created
    public var step = 0
    /// Processes the trainer runs on (mpirun -np N).
    public var worldSize = 1
    /// key → points (step, value)
    public var metrics: [String: [(x: Double, y: Double)]] = [:]
    public var events: [EventRow] = []
    public var logTail: [String] = []
    public var config = ""
    /// The newest media clip of the run: frames [F, H, W, 3], its caption and step.
    public var mediaFrames: [Float]? = nil
    public var mediaShape: [Int] = []
    public var mediaCaption = ""
    public var mediaName = ""
    /// The same metric for runs marked on the Runs screen (name → points).
    public var compared: [String: [String: [(x: Double, y: Double)]]] = [:]
    public init(name: String) { self.name = name }

    public var metricKeys: [String] {
        let preferred = ["loss", "eval/total", "eval/psnr", "eval/quality", "eval/semantic", "lr", "grad_norm", "sec_per_step"]
        let keys = Set(metrics.keys)
        return preferred.filter { keys.contains($0) } + keys.subtracting(preferred).sorted()
    }

    /// Steps where a distillation stage began (vertical markers).
    public var stageMarkers: [Double] { events.filter { $0.kind == .stage }.map { Double($0.step) } }

    /// A running trainer's rate and the time left to the end of its stage or run (RunPace); nil
    /// when it is not running or has no reading to go by yet.
    public var pace: RunPace? {
        guard status == .running else { return nil }
        return RunPace.of(kind: kind, config: config, step: step, stageStarts: events.filter { $0.kind == .stage }.map(\.step),
                          secPerStep: (metrics["sec_per_step"] ?? []).map { (Int($0.x), $0.y) })
    }

    /// A distillation's stage list as it stands (config.toml is rewritten on live changes), the index
    /// of the stage in progress (= stages begun − 1), the teacher's steps and the steps per stage.
    public var stagePlan: (horizons: [Int], current: Int, teacherSteps: Int, stepsPerStage: Int) {
        let t = (try? ConfigFile.parse(config, path: "config.toml")) ?? [:]
        let d = t["distill"] as? [String: Any] ?? [:]
        let horizons = (d["stages"] as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue }
        let begun = events.filter { $0.kind == .stage }.count
        return (horizons, max(0, min(begun, horizons.count) - 1), (d["teacher_steps"] as? NSNumber)?.intValue ?? 48,
                (d["steps_per_stage"] as? NSNumber)?.intValue ?? 0)
    }

    /// One row per evaluated stage: its horizon, the step it ended at, MiniVBench and fidelity to the teacher.
    public var stageRows: [(horizon: Int, step: Int, total: Double, psnr: Double?, ssim: Double?)] {
        func at(_ key: String, _ x: Double) -> Double? { metrics[key]?.last { $0.x == x }?.y }
        return (metrics["eval/total"] ?? []).compactMap { p in
            guard let k = at("horizon", p.x) else { return nil }
            return (Int(k), Int(p.x), p.y, at("eval/psnr", p.x), at("eval/ssim", p.x))
        }
    }
}

public struct RunScreenState {
    public var detail: RunDetail?
    public var metricIndex = 0
    public var logY = false
    public var smooth = true
    public var scroll = 0
    /// Show the newest media clip instead of metrics and events.
    public var media = false
    public var mediaFrame = 0
}

public struct SampleState {
    public var prompt = "a red circle moving right on a blue background"
    public var editing = false
    public var draft = ""
    public var history: [String] = []
    public var seed: UInt64 = 0
    public var unknownWords: [String] = []
    public var problem: String?

    public var teacherLabel = "no teacher"
    /// The project teacher's folder (nil for none or a Wan2.1 folder): its students are offered first.
    public var teacherFolder: String?
    public var studentLabel = "no student"
    /// Set when a new student (teacher) model is in place: the UI thread then samples it.
    public var studentReload = false
    public var teacherReload = false
    /// The teacher is a diffusers Wan2.1 folder (prompts are free text, not ShapesWorld's grammar).
    public var teacherIsWan = false
    /// Steps done and total of the teacher clip being sampled (a Wan2.1 clip takes minutes on a CPU).
    public var teacherProgress: (done: Int, total: Int)?
    public var teacherSettings = SamplingSettings(solver: .unipc, steps: 48, shift: 3, guidance: 5)
    /// The student's sigma list being edited, its preset, the selected point and the shift used for presets.
    public var sigmas: [Float] = []
    public var preset: [Float] = []
    public var point = 1
    public var shift = 3.0
    public var scheduleError: String?

    /// Frames [F, H, W, 3] in [0, 1].
    public var teacherFrames: [Float]? = nil
    public var studentFrames: [Float]? = nil
    public var clipShape: [Int] = []
    public var teacherSeconds: Double?
    public var studentSeconds: Double?
    /// Whether the clips are sampled with BF16 products (`gpd studio --arithmetic`).
    public var bf16 = false
    public var psnr: Double?
    public var ssim: Double?
    public var teacherBusy = false
    public var studentBusy = false
    public var frame = 0
    public var playing = true
    public var diff = false
    public var imageVersion = 0
    /// Latent spectra of the last clips (teacher, student, data): radially averaged spatial and temporal.
    public var spectra: SpectraSnapshot?
}

public struct SpectraSnapshot {
    public var spatial: [String: [Double]] = [:]
    public var temporal: [String: [Double]] = [:]
    /// Per-channel 2D spatial power (log) of the teacher and student latents: [channel][h·w].
    public var heatmaps: [String: [[Double]]] = [:]
    public var heatmapSize = (h: 0, w: 0)
    public var highFrequencyRatio: [String: Double] = [:]
    public init() {}
}

public struct StudioState {
    public var screen: ScreenID = .runs
    public var runs = RunsState()
    public var run = RunScreenState()
    public var sample = SampleState()
    public var spectraLogY = true
    public var help = false
    public var command: String?
    public var message: (text: String, error: Bool)?
    public var graphics: GraphicsMode = .blocks
    /// The keys in effect: the standard ones with the user's keys file applied.
    public var keymap = Keymap.standard
    public var runsRoot = "runs"
    public init() {}
}
