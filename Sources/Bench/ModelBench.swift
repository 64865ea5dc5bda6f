// Model benchmarks: the Wan transformer's forward per denoising step at the demo size (80 and 576
// tokens) and a 1.3B block at a realistic token count, a demo-teacher training step, the demo and 2×
// VAE decodes, each in achieved GFLOP/s (GEMM FLOPs counted by FLOPCounter) against the 1024² sgemm
// rate measured alternately in the same run; sampling steps with BF16 tile products against F32; and
// the peak RSS of a 1.3B-config forward on a small latent (target: within 8 GB).
import Diffusion
import Foundation
import Models
import NN
import Tensors

public enum ModelBench {
    public static let groups = ["transformer", "train", "frequency", "vae", "memory", "bf16"]

    /// The demo DiT of docs/design.md §2.4: dim 128 (4 × 32), 6 layers, FFN 512, 8 latent channels.
    public static var demoTransformer: WanTransformerConfig {
        var c = WanTransformerConfig()
        (c.numAttentionHeads, c.attentionHeadDim, c.ffnDim, c.numLayers, c.inChannels, c.outChannels, c.textDim) = (4, 32, 512, 6, 8, 8, 128)
        return c
    }

    /// The demo VAE: base 16, z 8, dim_mult [1, 2, 2], one residual block, temporal [T, T] (4× / 4×).
    public static var demoVAE: WanVAEConfig {
        var c = WanVAEConfig()
        (c.baseDim, c.zDim, c.dimMult, c.numResBlocks, c.temperalDownsample) = (16, 8, [1, 2, 2], 1, [true, true])
        c.latentsMean = [Float](repeating: 0, count: 8); c.latentsStd = [Float](repeating: 1, count: 8)
        return c
    }

    public static func run(into report: inout BenchReport, only: Set<String>? = nil) throws {
        func on(_ g: String) -> Bool { only?.contains(g) ?? true }
        let (sgemm, sgemmFlops) = EngineBench.squareSgemm()
        func row(_ group: String, _ name: String, flops: Int, _ body: () -> Void) {
            let (t, tc) = Timing.compare(repeats: 5, body, sgemm)
            report.add(group, name, value: Double(flops) / t / 1e9, unit: "GFLOP/s", baseline: sgemmFlops / tc / 1e9,
                       baselineName: "sgemm 1024²", note: String(format: "%.2f ms", t * 1e3), seconds: t)
        }
        if on("transformer") {
            var rng = RNG(seed: 1)
            let model = try WanTransformer(demoTransformer, rng: &rng)
            // 80 tokens: the demo VAE's 8×5×8×8 latents; 576: the 2× VAE's 8×9×16×16, on which the
            // bundled teacher-2x-gap4 and its students sample (batch 2: a guided step, batch 1: a student's).
            for (latent, tokens) in [([8, 5, 8, 8], 80), ([8, 9, 16, 16], 576)] {
                for batch in [1, 2] {
                    let x = rng.normal(shape: [batch] + latent), ctx = rng.normal(shape: [batch, 16, 128])
                    let ts = [Float](repeating: 500, count: batch)
                    let forward = { _ = try! GradMode.withDisabled { try model(x, timesteps: ts, context: ctx) } }
                    let (_, flops) = FLOPCounter.counting(forward)
                    row("Wan transformer forward (one denoising step)", "demo d128 L6, \(tokens) tokens, batch \(batch)", flops: flops, forward)
                }
            }
            // One 1.3B block (dim 1536, 12 heads, FFN 8960) on 1560 tokens (one 480×832 latent frame) and 512 text tokens.
            let big = WanTransformerConfig.wan1_3B
            let block = WanBlock(big, rng: &rng)
            let probe = try WanTransformer(smallProbe(big), rng: &rng)
            let rope = probe.ropeTables(grid: (1, 30, 52))
            let h = rng.normal(shape: [1, 1560, 1536]), ctx = rng.normal(shape: [1, 512, 1536])
            let proj = Tensor(shape: [1, 6, 1536], data: rng.normal(6 * 1536).map { $0 * 0.1 })
            let step = { _ = GradMode.withDisabled { block(h, context: ctx, timestepProj: proj, rope: rope) } }
            let (_, flops) = FLOPCounter.counting(step)
            row("Wan transformer forward (one denoising step)", "1.3B block, 1560 tokens", flops: flops, step)
            // Attention alone at the mid-size shape (1024 tokens, 8 heads × 64): the inference path
            // (query blocks, scores in L2) against the training path (the whole probability tensor).
            let (l, heads, d) = (1024, 8, 64)
            let q = rng.normal(shape: [1, l, heads, d]), k = rng.normal(shape: [1, l, heads, d]), v = rng.normal(shape: [1, l, heads, d])
            let qg = Tensor(shape: q.shape, data: q.data, requiresGrad: true)
            let attentionFlops = 4 * l * l * d * heads
            row("Attention (1024 tokens, 8 heads × 64)", "blocked, no graph (inference)", flops: attentionFlops) { _ = Tensor.attention(q: q, k: k, v: v) }
            row("Attention (1024 tokens, 8 heads × 64)", "whole probability tensor (training path)", flops: attentionFlops) { _ = Tensor.attention(q: qg, k: k, v: v) }
            // The 576-token models' self-attention (4 heads × 32), one clip: a student's denoising step has six.
            let (l2, heads2, d2) = (576, 4, 32)
            let q2 = rng.normal(shape: [1, l2, heads2, d2]), k2 = rng.normal(shape: [1, l2, heads2, d2]), v2 = rng.normal(shape: [1, l2, heads2, d2])
            row("Attention (576 tokens, 4 heads × 32)", "blocked, no graph (inference)", flops: 4 * l2 * l2 * d2 * heads2) { _ = Tensor.attention(q: q2, k: k2, v: v2) }
        }
        if on("train") {
            // One demo-teacher training step as `gpd train teacher` runs it: batch 32, forward, MSE,
            // backward, gradient clipping and AdamW (the text encoder excluded).
            var rng = RNG(seed: 4)
            let model = try WanTransformer(demoTransformer, rng: &rng)
            let opt = AdamW(model.parameters(), lr: 1e-4, betas: (0.9, 0.99), weightDecay: 0.01)
            let x = rng.normal(shape: [32, 8, 5, 8, 8]), ctx = rng.normal(shape: [32, 16, 128]), target = rng.normal(shape: [32, 8, 5, 8, 8])
            let ts = (0..<32).map { Float($0) * 31 }
            // Each phase's wall time is kept too: the row's note says where the step goes.
            var phases: [[Double]] = [[], [], []]
            let step = {
                let t0 = Timing.now()
                opt.zeroGrad()
                let loss = Tensor.mse(try! model(x, timesteps: ts, context: ctx), target)
                let t1 = Timing.now()
                loss.backward()
                let t2 = Timing.now()
                _ = clipGradNorm(model.parameters(), maxNorm: 1)
                opt.update()
                let t3 = Timing.now()
                for (i, dt) in [t1 - t0, t2 - t1, t3 - t2].enumerated() { phases[i].append(dt) }
            }
            let (_, flops) = FLOPCounter.counting(step)
            row("Training step", "demo teacher d128 L6, batch 32 × 80 tokens", flops: flops, step)
            let medians = phases.map { $0.sorted()[$0.count / 2] * 1e3 }
            report.rows[report.rows.count - 1].note! += String(format: " (forward %.1f, backward %.1f, clip + AdamW %.1f)",
                                                              medians[0], medians[1], medians[2])
            // Its attention alone: the six layers' self-attention at the step's shape (32 × 4 heads of
            // 80 × 80 × 32), forward + backward.
            let (q, k, v) = (rng.normal(shape: [32, 80, 4, 32]), rng.normal(shape: [32, 80, 4, 32]), rng.normal(shape: [32, 80, 4, 32]))
            for t in [q, k, v] { t.requiresGrad = true }
            let attention = { for _ in 0..<6 { Tensor.attention(q: q, k: k, v: v).sum().backward(); for t in [q, k, v] { t.grad = nil } } }
            let (_, attentionFlops) = FLOPCounter.counting(attention)
            row("Training step", "its self-attention, 6 layers, fwd + bwd", flops: attentionFlops, attention)
        }
        if on("frequency") {
            // GPD's final-stage loss on a stage-5 batch of states (24 × 8×5×8×8): 3D real FFTs, the
            // Butterworth-weighted spectral distance and its backward (adjoint FFT), against sgemm's rate.
            var rng = RNG(seed: 5)
            let a = rng.normal(shape: [24, 8, 5, 8, 8]), b = rng.normal(shape: [24, 8, 5, 8, 8])
            a.requiresGrad = true
            let step = { a.grad = nil; Tensor.frequencyLoss(a, b).backward() }
            let (t, tc) = Timing.compare(repeats: 5, step, sgemm)
            report.add("Frequency-domain loss", "forward + backward, 24 × 8×5×8×8 latents", value: t * 1e3, unit: "ms",
                       note: String(format: "sgemm 1024² alongside: %.1f GFLOP/s", sgemmFlops / tc / 1e9), seconds: t)
        }
        if on("vae") {
            var rng = RNG(seed: 2)
            // The demo VAE, and the 2× VAE the bundled pair decodes with (one downsampling stage:
            // dim_mult [1, 2], temporal [T]; samples/demo/vae-2x's layout).
            var twice = demoVAE
            (twice.dimMult, twice.temperalDownsample) = ([1, 2], [true])
            for (config, latent, name) in [(demoVAE, [1, 8, 5, 8, 8], "demo bd16 z8, 8×5×8×8 → 17×32×32"),
                                           (twice, [1, 8, 9, 16, 16], "2× VAE bd16 z8, 8×9×16×16 → 17×32×32")] {
                let vae = try WanVAE(config, rng: &rng)
                let z = rng.normal(shape: latent)
                let decode = { _ = try! GradMode.withDisabled { try vae.decode(z) } }
                let (_, flops) = FLOPCounter.counting(decode)
                row("Wan VAE decode", name, flops: flops, decode)
            }
        }
        if on("bf16") {
            // Sampling with BF16 products (GEMM.Arithmetic.bf16: AMX tiles or AVX512-BF16 vectors) against F32, alternating in this
            // run: a guided denoising step (batch 2) of the demo transformer on the 80 tokens of the demo
            // VAE's latents and on the 576 of the 2× VAE's (teacher-2x), and one 1.3B block.
            let group = "BF16 products on \(GEMM.bf16Units ?? "AMX tiles or AVX512-BF16 vectors") (against F32 in the same run)"
            if !GEMM.bf16Available {
                report.add(group, "not measured", value: 0, unit: "", note: GEMM.bf16Unused ?? "this CPU has neither AMX BF16 tiles (granted by Linux) nor AVX512-BF16")
            } else {
                var rng = RNG(seed: 6)
                let model = try WanTransformer(demoTransformer, rng: &rng)
                func compare(_ name: String, _ forward: @escaping () -> Void) {
                    let (_, flops) = FLOPCounter.counting(forward)
                    let bf16 = { GEMM.withArithmetic(.bf16, forward) }
                    let (t, tf) = Timing.compare(repeats: 5, bf16, forward)
                    report.add(group, name, value: Double(flops) / t / 1e9, unit: "GFLOP/s", baseline: Double(flops) / tf / 1e9,
                               baselineName: "F32", note: String(format: "%.2f ms against %.2f ms", t * 1e3, tf * 1e3), seconds: t)
                }
                for (latent, tokens) in [([2, 8, 5, 8, 8], 80), ([2, 8, 9, 16, 16], 576)] {
                    let x = rng.normal(shape: latent), ctx = rng.normal(shape: [2, 16, 128])
                    compare("demo d128 L6, batch 2 × \(tokens) tokens") { _ = try! GradMode.withDisabled { try model(x, timesteps: [500, 500], context: ctx) } }
                }
                let big = WanTransformerConfig.wan1_3B
                let block = WanBlock(big, rng: &rng)
                let rope = try WanTransformer(smallProbe(big), rng: &rng).ropeTables(grid: (1, 30, 52))
                let h = rng.normal(shape: [1, 1560, 1536]), ctx = rng.normal(shape: [1, 512, 1536])
                let proj = Tensor(shape: [1, 6, 1536], data: rng.normal(6 * 1536).map { $0 * 0.1 })
                compare("1.3B block, 1560 tokens") { _ = GradMode.withDisabled { block(h, context: ctx, timestepProj: proj, rope: rope) } }
            }
        }
        if on("memory") {
            let t0 = Date()
            var rng = RNG(seed: 3)
            let model = try WanTransformer(.wan1_3B, rng: &rng)
            let x = rng.normal(shape: [1, 16, 1, 16, 16]), ctx = rng.normal(shape: [1, 512, 4096])
            let t1 = Date()
            _ = try GradMode.withDisabled { try model(x, timesteps: [999], context: ctx) }
            let forward = Date().timeIntervalSince(t1)
            let rss = Double(peakRSSKiB()) / 1_048_576
            report.add("Memory", "1.3B forward, latent 1×16×1×16×16, peak RSS", value: rss, unit: "GiB",
                       note: String(format: "target ≤ 8 GiB: %@; %.1f s to build, %.2f s forward; %d parameters",
                                    rss <= 8 ? "met" : "MISSED", t1.timeIntervalSince(t0), forward, model.parameterCount))
        }
    }

    /// A one-layer, narrow-text copy of `c` (same heads/head dim), to borrow its RoPE tables.
    static func smallProbe(_ c: WanTransformerConfig) -> WanTransformerConfig {
        var p = c
        (p.numLayers, p.ffnDim, p.textDim) = (1, 8, 8)
        return p
    }

    /// Peak resident set size of this process (VmHWM), KiB.
    public static func peakRSSKiB() -> Int {
        peakRSSKiB(status: (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? "")
    }

    /// VmHWM from the text of /proc/PID/status: "VmHWM:\t   5120 kB", the number right-aligned in 8
    /// columns after a tab, so from 10⁷ KiB (9.5 GiB) up it follows the tab directly. 0 when absent.
    static func peakRSSKiB(status: String) -> Int {
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "0") ?? 0
    }
}
