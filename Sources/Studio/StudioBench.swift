// The studio's latency budget (issue targets, absolute because they are what a person feels): a
// screen rendered from state, the sixel of a side-by-side frame, and the demo student's 6-step clip
// that a schedule edit re-renders (random weights of the demo shape, sampled and decoded at batch 1).
import Bench
import Diffusion
import Distill
import Foundation
import Models
import Runs
import Tensors
import Terminal

public enum StudioBench {
    public static let groups = ["studio"]

    public static func run(into report: inout BenchReport, only: Set<String>? = nil) throws {
        guard only?.contains("studio") ?? true else { return }
        let group = "Studio latency (target as the baseline: ratio ≥ 1 is met)"
        func row(_ name: String, target ms: Double, _ body: () -> Void) {
            let t = Timing.measure(repeats: 7, body)
            report.add(group, name, value: t * 1e3, unit: "ms", baseline: ms, baselineName: "target", target: 1, seconds: t)
        }
        // A Sample screen at 160×48 with 17-frame 32×32 clips and a Runs screen with 200 runs.
        var s = StudioState()
        s.screen = .sample
        let clip: [Float] = (0..<(17 * 32 * 32 * 3)).map { (i: Int) -> Float in Float(i % 97) / 97 }
        (s.sample.clipShape, s.sample.teacherFrames, s.sample.studentFrames) = ([17, 32, 32, 3], clip, Array(clip.reversed()))
        s.sample.sigmas = TeacherGridPreset.sigmas(steps: 6, shift: 3)
        let theme = Theme()
        row("render the Sample screen, 160×48", target: 50) { _ = Renderer.render(s, theme: theme, rows: 48, cols: 160) }
        s.screen = .runs
        s.runs.rows = (0..<200).map { RunSummary(name: "run-\($0)", kind: "distill", status: "finished", step: $0 * 10, stage: "k8", loss: 0.1,
                                                 eval: 0.5, evalKey: "eval/total", updated: Double($0), pid: nil) }
        row("render the Runs screen, 200 runs, 160×48", target: 50) { _ = Renderer.render(s, theme: theme, rows: 48, cols: 160) }
        // Sixel of teacher | student at 128×128 each (what a 16-row image is on a 10×20-pixel cell terminal).
        let (w, h) = (2 * 128 + 8, 128)
        let rgb: [UInt8] = (0..<(w * h * 3)).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: (i * 7) ^ (i >> 5)) }
        row("sixel of a side-by-side frame, 264×128, new palette", target: 10) { _ = try? Sixel.encode(width: w, height: h, rgb: rgb) }
        let palette = try SixelPalette(width: w, height: h, rgb: rgb, key: 0)
        row("sixel of a side-by-side frame, 264×128, the clip's palette", target: 10) { _ = try? Sixel.encode(width: w, height: h, rgb: rgb, palette: palette) }
        // The student clip after a schedule edit: 6 Euler steps and the decode, demo shapes.
        var rng = RNG(seed: 9)
        let dit = try WanTransformer(ModelBench.demoTransformer, rng: &rng)
        let vae = try WanVAE(ModelBench.demoVAE, rng: &rng)
        let pipe = WanPipeline(transformer: dit, vae: vae)
        let z = rng.normal(shape: [1, 8, 5, 8, 8]), ctx = rng.normal(shape: [1, 16, 128])
        let settings = SamplingSettings(solver: .euler, steps: 6, shift: 3, guidance: 1)
        row("demo student clip after a schedule edit: 6 steps + decode", target: 150) {
            _ = try? pipe.sample(latents: z, context: ctx, negative: nil, settings: settings) { _, _ in }
        }
    }
}
