// MiniVBench against itself: real ShapesWorld clips of the prompts, and each `Corruption` of them,
// scored the same way. A corruption's margin is the real clips' total minus its own over the same
// clips (it applies only to some prompts: frozen to moving ones, say). `gpd eval --calibrate` prints
// it; docs/metric.md holds the table; Tests/EvalTests assert the margins.
import Data
import Tensors

public struct CalibrationRow {
    /// "real" or a corruption's name.
    public var name: String
    public var corruption: Corruption?
    /// Scores of the row's clips.
    public var score: BenchScore
    /// The real clips' score over the same prompts and seeds.
    public var real: BenchScore
    /// real.total − score.total.
    public var margin: Double { real.total - score.total }
}

public enum Calibration {
    public static func run(prompts: [String], seeds: [UInt64], config: WorldConfig = .init(),
                           progress: ((Int, Int) -> Void)? = nil) throws -> [CalibrationRow] {
        var real: [ClipScore] = []
        var corrupted: [Corruption: [(index: Int, score: ClipScore)]] = [:]
        let total = prompts.count * seeds.count
        for p in prompts {
            guard let scene = PromptGrammar.parse(p).scene else { throw DataError.invalid("cannot read the prompt \"\(p)\"") }
            for seed in seeds {
                let index = real.count
                real.append(try MiniVBench.score(ShapesWorld.render(scene, seed: seed, config: config).frames, prompt: p))
                for c in Corruption.allCases {
                    guard let frames = c.apply(to: scene, seed: seed, config: config) else { continue }
                    corrupted[c, default: []].append((index, try MiniVBench.score(frames, prompt: p)))
                }
                progress?(real.count, total)
            }
        }
        let all = MiniVBench.aggregate(real)
        var rows = [CalibrationRow(name: "real", corruption: nil, score: all, real: all)]
        for c in Corruption.allCases {
            guard let list = corrupted[c], !list.isEmpty else { continue }
            rows.append(CalibrationRow(name: c.rawValue, corruption: c, score: MiniVBench.aggregate(list.map(\.score)),
                                       real: MiniVBench.aggregate(list.map { real[$0.index] })))
        }
        return rows
    }
}
