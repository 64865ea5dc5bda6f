// ShapesWorld and MiniVBench speed: a clip must be generated and scored in well under the time to
// sample it (targets: ≤ 5 ms per 17-frame 64 px clip generated, ≤ 20 ms per clip scored).
import Data
import Eval
import Foundation
import Tensors

public enum DataBench {
    public static let groups = ["data"]

    public static func run(into report: inout BenchReport, only: Set<String>? = nil) throws {
        guard only?.contains("data") ?? true else { return }
        for size in [32, 64] {
            let config = WorldConfig(frames: 17, size: size)
            var seed: UInt64 = 0
            let gen = Timing.measure(repeats: 5) { seed += 1; _ = ShapesWorld.sample(seed: seed, config: config) }
            report.add("ShapesWorld and MiniVBench (per clip, 17 frames)", "generate \(size)×\(size)", value: gen * 1e3, unit: "ms",
                       note: size == 64 ? String(format: "target ≤ 5 ms: %@", gen <= 0.005 ? "met" : "MISSED") : nil)
            let clips = (0..<8).map { ShapesWorld.sample(seed: 500 + UInt64($0), config: config) }
            var i = 0
            let score = Timing.measure(repeats: 5) { i += 1; let c = clips[i % clips.count]; _ = try? MiniVBench.score(c.frames, prompt: c.caption) }
            report.add("ShapesWorld and MiniVBench (per clip, 17 frames)", "score \(size)×\(size)", value: score * 1e3, unit: "ms",
                       note: size == 64 ? String(format: "target ≤ 20 ms: %@", score <= 0.02 ? "met" : "MISSED") : nil)
        }
    }
}
