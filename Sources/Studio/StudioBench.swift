// The studio's latency budget (issue targets, absolute because they are what a person feels): a
// screen rendered from state, the sixel of a side-by-side frame, a 6-step clip of random weights at
// the 80-token demo shape (sampled and decoded at batch 1), and the bundled teacher's and student's
// clips as the Sample screen gets them (the demo-model issue's interactivity targets).
import Bench
import Diffusion
import Data

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
        s.runs.rows = (0..<200).map { RunSummary(name: "run-\($0)", kind: .distill, status: .finished, step: $0 * 10, stage: "k8", loss: 0.1,
                                                 eval: 0.5, evalKey: "eval/total", updated: Double($0), pid: nil) }
        row("render the Runs screen, 200 runs, 160×48", target: 50) { _ = Renderer.render(s, theme: theme, rows: 48, cols: 160) }
        // Sixel of teacher | student at 128×128 each (a 32-px clip at 4×, as on a 10×20-pixel cell
        // terminal): two ShapesWorld frames of one clip, side by side with a gutter.
        let clipA = ShapesWorld.sample(seed: 3).frames, (w, h) = (2 * 128 + 8, 128)
        func frame(_ i: Int) -> [UInt8] {
            var rgb = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h { for x in 0..<w where x < 128 || x >= 136 {
                let f = x < 128 ? i : i + 1, sx = (x < 128 ? x : x - 136) / 4, sy = y / 4
                for c in 0..<3 { rgb[(y * w + x) * 3 + c] = UInt8(clipA.data[((f * 32 + sy) * 32 + sx) * 3 + c] * 255) }
            } }
            return rgb
        }
        let first = frame(0), later = frame(8)
        row("sixel of a side-by-side frame, 264×128, new palette", target: 10) { _ = try? Sixel.encode(width: w, height: h, rgb: later) }
        let palette = try SixelPalette(width: w, height: h, rgb: first, key: 0)
        row("sixel of a side-by-side frame, 264×128, the clip's palette", target: 10) { _ = try? Sixel.encode(width: w, height: h, rgb: later, palette: palette) }
        // The student clip after a schedule edit: 6 Euler steps and the decode, demo shapes.
        var rng = RNG(seed: 9)
        let dit = try WanTransformer(ModelBench.demoTransformer, rng: &rng)
        let vae = try WanVAE(ModelBench.demoVAE, rng: &rng)
        let pipe = WanPipeline(transformer: dit, vae: vae)
        let z = rng.normal(shape: [1, 8, 5, 8, 8]), ctx = rng.normal(shape: [1, 16, 128])
        let settings = SamplingSettings(solver: .euler, steps: 6, shift: 3, guidance: 1)
        row("random 80-token student: 6 steps + decode", target: 150) {
            _ = try? pipe.sample(latents: z, context: ctx, negative: nil, settings: settings) { _, _ in }
        }
        try bundledPair(into: &report, group: group)
    }

    /// The interactivity targets of the demo-model issue, on the pair the studio opens on (the first of
    /// `SampleBackend.demoTeachers` that is bundled, and its first student) and through the studio's own
    /// backend and arithmetic: from the request for the default prompt's clip to its frames in the state
    /// (text encoding, sampling, decode; for the student also PSNR and SSIM to the teacher's clip). The
    /// student's latent spectra follow its frames, untimed. Skipped when no bundled teacher is found
    /// (outside the repository).
    static func bundledPair(into report: inout BenchReport, group: String) throws {
        let mailbox = Mailbox()
        let backend = SampleBackend(mailbox: mailbox, runsRoot: NSTemporaryDirectory() + "gpd-bench-no-runs-\(getpid())")
        let arithmetic = GEMM.studioDefault
        backend.arithmetic = arithmetic
        var state = StudioState()
        func wait(until done: (StudioState) -> Bool) {
            while true {
                for update in mailbox.wait(seconds: 0.05) { update(&state) }
                if done(state) { return }
            }
        }
        backend.load()
        wait { $0.sample.teacherLabel != "no teacher" }
        guard state.sample.teacherFolder != nil else { return }
        if let (message, isError) = state.message, isError { throw StudioBenchError(text: "the studio's bundled models: " + message) }
        let prompt = state.sample.prompt, seed = state.sample.seed
        // Each request is timed to its frames; the work the backend does after them (the student's
        // spectra) ends before the next request, as it does between a person's edits.
        // The student's row notes where the median clip's time went: the backend's own split
        // (SampleBackend.StudentTimings) and, as "rest", what lies outside it (queue hand-off, the mailbox).
        func clip(_ who: String, target ms: Double, request: () -> Void, busy: WritableKeyPath<SampleState, Bool>, spectra: Bool,
                  split: () -> SampleBackend.StudentTimings? = { nil }) throws {
            var runs: [(seconds: Double, split: SampleBackend.StudentTimings?)] = []
            for _ in 0..<6 {   // the first is a warm-up
                state.sample[keyPath: busy] = true
                state.sample.spectra = nil
                state.message = nil
                let t0 = Timing.now()
                request()
                wait { !$0.sample[keyPath: busy] }
                runs.append((Timing.now() - t0, split()))
                if let (message, isError) = state.message, isError { throw StudioBenchError(text: message) }
                if spectra { wait { $0.sample.spectra != nil } }
            }
            let median = runs.dropFirst().sorted { $0.seconds < $1.seconds }[2], t = median.seconds
            let note = median.split.map { s in
                String(format: "(text + noise %.1f, denoise %.1f, decode %.1f, PSNR+SSIM %.1f, rest %.1f ms)", (s.sample - s.denoise - s.decode) * 1e3,
                       s.denoise * 1e3, s.decode * 1e3, s.fidelity * 1e3, (t - s.sample - s.fidelity) * 1e3)
            }
            report.add(group, "\(who), \(arithmetic)", value: t * 1e3, unit: "ms", baseline: ms, baselineName: "target",
                       target: 1, note: note, seconds: t)
        }
        let teacher = state.sample.teacherSettings
        func name(_ label: String) -> String { label.hasPrefix("demo:") ? String(label.dropFirst(5)) : label }
        // Network evaluations per step: the conditional one, the unconditional one under guidance, the
        // weaker model's under autoguidance (fewer on steps outside a guidance interval, and on the steps
        // between those that compute the guidance terms under guidance_every).
        let perStep = 1 + (teacher.guidance > 1 ? 1 : 0) + ((teacher.autoguide?.weight ?? 0) != 0 ? 1 : 0)
        let every = teacher.guidanceEvery > 1 ? ", guidance every \(teacher.guidanceEvery)" : ""
        try clip("\(name(state.sample.teacherLabel)) to frames, \(teacher.steps) steps ×\(perStep)\(every)", target: 1000,
                 request: { backend.sampleTeacher(prompt: prompt, seed: seed, settings: teacher) }, busy: \.teacherBusy, spectra: false)
        let sigmas = state.sample.sigmas
        try clip("\(name(state.sample.studentLabel)) to frames, \(sigmas.count - 1) steps", target: 150,
                 request: { backend.sampleStudent(prompt: prompt, seed: seed, sigmas: sigmas) }, busy: \.studentBusy, spectra: true,
                 split: { backend.lastStudentTimings })
    }
}

struct StudioBenchError: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}
