// Trains the ShapesWorld VAE (docs/design.md §2.3–2.4): the Wan-VAE layout on full-length
// clips, deterministic (the posterior mode) with a small mean(z²) penalty, an object-weighted L1 + MSE
// reconstruction, then per-channel latent statistics measured on data and stored with the export.
import Data
import Eval
import Foundation
import Media
import Models
import NN
import Runs
import Tensors

public final class VAETrainer {
    public let config: VAETrainConfig
    public let session: TrainSession
    public let vae: WanVAE
    let optimizer: AdamW
    /// The parameters being trained (the decoder side only with model.freeze_encoder).
    let trained: [Tensor]
    let world: WorldConfig
    /// With model.freeze_encoder: the source folder's latent statistics (latents_mean, latents_std),
    /// which the export keeps (see `export`).
    let keptStatistics: (mean: [Float], std: [Float])?

    public init(config: VAETrainConfig, session: TrainSession) throws {
        self.config = config
        self.session = session
        var rng = RNG(seed: config.train.seed)
        vae = try WanVAE(config.model.config, rng: &rng)
        var kept: (mean: [Float], std: [Float])?
        if !config.model.initFrom.isEmpty {
            var shares = WidthGrowth.shares(trainSeed: config.train.seed)
            let source = try Self.initialize(vae, from: config.model.initFrom, freezeEncoder: config.model.freezeEncoder,
                                             width: config.model.initWidth, rng: &shares)
            if config.model.freezeEncoder { kept = (source.latentsMean, source.latentsStd) }
        }
        keptStatistics = kept
        trained = config.model.freezeEncoder ? vae.decoder.parameters() + vae.postQuantConv.parameters() : vae.parameters()
        optimizer = AdamW(trained, lr: Float(config.train.lr), betas: (Float(config.train.betas[0]), Float(config.train.betas[1])),
                          weightDecay: Float(config.train.weightDecay))
        world = config.data.world
    }

    /// Copies every weight of the VAE folder whose name and shape match, and returns the folder's config.
    /// With `freezeEncoder` the encoder side (encoder, quant_conv) must match entirely: it is the latent
    /// space being kept. With `width` > 1 the folder's decoder is first widened that many times
    /// (WidthGrowth.widenDecoder), and every decoder weight must then match.
    static func initialize(_ vae: WanVAE, from folder: String, freezeEncoder: Bool, width: Int = 1, rng: inout RNG) throws -> WanVAEConfig {
        let loaded = try WanVAE.load(folder: folder)
        var source = loaded.stateDict()
        if width > 1 {
            try checkWidth(source: loaded.config, into: vae.config, width: width, path: folder)
            let names = source.keys.sorted()
            source = Dictionary(uniqueKeysWithValues: WidthGrowth.widenDecoder(names.map { ($0, source[$0]!) }, factor: width, rng: &rng))
        }
        var copied = 0
        for (name, p) in vae.namedParameters() {
            let encoderSide = name.hasPrefix("encoder.") || name.hasPrefix("quant_conv.")
            guard let t = source[name], t.shape == p.shape else {
                let theirs = source[name]?.shape.description ?? "missing"
                if freezeEncoder && encoderSide {
                    throw ConfigError(folder, "model.init_from", "its \(name) does not match this config's encoder (\(theirs) vs \(p.shape)); a frozen encoder must be the same")
                }
                if width > 1 && name.hasPrefix("decoder.") {
                    throw ConfigError(folder, "model.init_width", "its widened \(name) is \(theirs), this config's \(p.shape)")
                }
                continue
            }
            p.data = t.data
            copied += 1
        }
        guard copied > 0 else { throw ConfigError(folder, "model.init_from", "no weight matches this config") }
        return loaded.config
    }

    /// model.init_width × the source folder's decoder width must be this config's decoder width.
    static func checkWidth(source: WanVAEConfig, into mine: WanVAEConfig, width: Int, path: String) throws {
        let (a, b) = (source.decoderBaseDim ?? source.baseDim, mine.decoderBaseDim ?? mine.baseDim)
        guard b == width * a else {
            throw ConfigError(path, "model.init_width", "\(width) × the decoder width \(a) of model.init_from is \(width * a), but model.decoder_base_dim (or base_dim) is \(b)")
        }
    }

    /// Clip i of step s: a pure function of (data seed, s, i), so a resumed run sees the same data.
    func clip(step: Int, index: Int) -> Clip {
        ShapesWorld.sample(seed: config.data.seed &* 1_000_003 &+ UInt64(step * config.train.batch + index), config: world)
    }

    /// Held-out clips (a different seed stream) for PSNR.
    func heldOut(_ i: Int) -> Clip { ShapesWorld.sample(seed: 0xE7A1_0000 &+ UInt64(i), config: world) }

    /// Pixels [B, 3, F, H, W] in [−1, 1] and the per-pixel loss weights [B, 1, F, H, W]: `object_weight`
    /// where a pixel differs from the background (1 elsewhere), plus `gap_weight` × the gap map, times
    /// `first_frame_weight` on frame 0.
    func batch(_ clips: [Clip]) -> (Tensor, Tensor) {
        let x = Tensor.concat(clips.map { $0.pixels.reshape([1] + $0.pixels.shape) }, axis: 0)
        let (f, h, w) = (world.frames, world.size, world.size)
        var weights = [Float](repeating: 1, count: clips.count * f * h * w)
        let gapWeight = Float(config.loss.gapWeight)
        for (b, c) in clips.enumerated() {
            let bg = c.scene.background.rgb
            let gap = gapWeight > 0 && c.truth.count == 2 ? ShapesWorld.gapMap(c.truth, config: world, sigma: Float(config.loss.gapSigma)) : nil
            for t in 0..<f { for y in 0..<h { for xx in 0..<w {
                let k = ((t * h + y) * w + xx) * 3
                let d = max(abs(c.frames.data[k] - bg.0), abs(c.frames.data[k + 1] - bg.1), abs(c.frames.data[k + 2] - bg.2))
                var wt: Float = d > 0.05 ? Float(config.loss.objectWeight) : 1
                if let gap { wt += gapWeight * gap[(t * h + y) * w + xx] }
                if t == 0 { wt *= Float(config.loss.firstFrameWeight) }
                weights[((b * f + t) * h + y) * w + xx] = wt
            } } }
        }
        return (x, Tensor(shape: [clips.count, 1, f, h, w], data: weights))
    }

    /// Runs from the last checkpoint (or step 0) to `train.steps`, or until stopped.
    public func run(resume: Bool) throws {
        let t = config.train
        var start = 0
        if resume, let c = try session.resumePoint() {
            try TrainState.restore(c.file, named: vae.namedParameters(), optimizer: optimizer, ema: nil, path: session.folder.checkpointPath(step: c.step))
            start = c.step
            session.reporter?.message("resumed from step \(start)")
        }
        let schedule = WarmupCosine(peak: Float(t.lr), floor: Float(t.lrFloor), warmup: t.warmup, total: t.steps)
        let params = trained
        let world = session.world, mine = try world.rows(ofBatch: t.batch)
        let end = try session.loop(from: start, to: t.steps, optimizer: optimizer, schedule: schedule, logEvery: t.logEvery, evalEvery: t.evalEvery,
                                   checkpointEvery: t.checkpointEvery, step: { step in
            let (x, w) = batch(mine.map { clip(step: step, index: $0) })   // this rank's rows of the global batch
            let z = config.model.freezeEncoder ? try GradMode.withDisabled { try vae.encode(x) } : try vae.encode(x)
            let noise = config.loss.latentNoise > 0 ? Self.latentNoise(like: z, std: keptStatistics?.std ?? [],
                                                                       scale: Float(config.loss.latentNoise), seed: t.seed, step: step, rows: Array(mine)) : nil
            let y = try vae.decode(noise.map { z + $0 } ?? z, clamp: false)
            let d = y - x
            let l1 = (d.abs() * w).mean(), l2 = (d.square() * w).mean(), lz = z.square().mean()
            var loss = Float(config.loss.l1) * l1 + Float(config.loss.mse) * l2 + Float(config.loss.latentL2) * lz
            if config.loss.gradient > 0 { loss = loss + Float(config.loss.gradient) * Self.edgeLoss(d, weights: w) }
            if config.loss.temporal > 0 { loss = loss + Float(config.loss.temporal) * Self.frameDifferenceLoss(d, weights: w) }
            var outcome = try session.optimize(loss, params: params, named: { vae.namedParameters() }, optimizer: optimizer, clip: t.clip, step: step)
            outcome.metrics.merge(["l1": Double(world.mean(l1.item)), "mse": Double(world.mean(l2.item)), "latent_l2": Double(world.mean(lz.item))]) { a, _ in a }
            return outcome
        }, evaluate: { try evaluate(step: $0) }, checkpoint: { step, _ in try checkpoint(step: step) })
        guard let end else { return }
        try session.write { try export() }
        try session.finish(step: end, status: .finished)
    }

    /// Gaussian noise shaped like the latents z ([B, C, …]): `scale` × the channel's standard deviation
    /// `std[c]`, row b drawn from (seed, step, rows[b]) — the row's index in the global batch, so the
    /// noise is the same however many processes share the batch, and on resume.
    static func latentNoise(like z: Tensor, std: [Float], scale: Float, seed: UInt64, step: Int, rows: [Int]) -> Tensor {
        let (b, c) = (z.shape[0], z.shape[1]), per = z.count / (b * c)
        precondition(rows.count == b && std.count == c, "latentNoise: \(rows.count) rows and \(std.count) deviations for latents \(z.shape)")
        var data = [Float](repeating: 0, count: z.count)
        for (bi, row) in rows.enumerated() {
            var rng = RNG(seed: seed &+ 0x1A7E_0000 &+ UInt64(step) &* 0x1_0000 &+ UInt64(row))
            let e = rng.normal(c * per)
            for ci in 0..<c { for j in 0..<per { data[(bi * c + ci) * per + j] = scale * std[ci] * e[ci * per + j] } }
        }
        return Tensor(shape: z.shape, data: data)
    }

    /// Object-weighted L1 of the spatial finite differences of the error d = y − x ([B, C, F, H, W]):
    /// |∂ₓy − ∂ₓx| + |∂ᵧy − ∂ᵧx|, each weighted by the mean of its two pixels' weights.
    static func edgeLoss(_ d: Tensor, weights w: Tensor) -> Tensor {
        neighbourDifferenceL1(d, weights: w, axis: 4) + neighbourDifferenceL1(d, weights: w, axis: 3)
    }

    /// The same along time: |∂ₜy − ∂ₜx| between consecutive frames; 0 for a one-frame clip.
    static func frameDifferenceLoss(_ d: Tensor, weights w: Tensor) -> Tensor {
        neighbourDifferenceL1(d, weights: w, axis: 2)
    }

    /// Mean of |d[i+1] − d[i]| along `axis`, each difference weighted by the mean of its two elements'
    /// weights (w broadcasts over d's channels); 0, still in the graph, when the axis has one element.
    static func neighbourDifferenceL1(_ d: Tensor, weights w: Tensor, axis: Int) -> Tensor {
        let n = d.shape[axis]
        guard n > 1 else { return (d * 0).mean() }
        let g = d.slice(axis: axis, 1, n) - d.slice(axis: axis, 0, n - 1)
        let wm = (w.slice(axis: axis, 1, n) + w.slice(axis: axis, 0, n - 1)) * 0.5
        return (g.abs() * wm).mean()
    }

    func checkpoint(step: Int) throws {
        let meta = ["kind": "vae", "step": String(step), "config": try config.toml()]
        try session.saveCheckpoint(TrainState.tensors(model: vae.namedParameters(), optimizer: optimizer, ema: nil),
                                   metadata: meta, step: step, keep: config.train.keep)
    }

    /// Reconstruction PSNR over 16 held-out clips; a side-by-side GIF (original | reconstruction) as media.
    public func evaluate(step: Int) throws {
        let (psnr, sample) = try GradMode.withDisabled { () throws -> (Double, Tensor) in
            var total = 0.0
            var first: Tensor?
            for i in stride(from: 0, to: 16, by: 4) {
                let clips = (i..<(i + 4)).map(heldOut)
                let (x, _) = batch(clips)
                let y = try vae.decode(try vae.encode(x))
                for b in 0..<clips.count {
                    let xb = x.slice(axis: 0, b, b + 1), yb = y.slice(axis: 0, b, b + 1)
                    total += Metrics.psnr(xb * 0.5 + 0.5, yb * 0.5 + 0.5)
                    if first == nil {
                        first = Tensor.concat([(xb * 0.5 + 0.5).reshape(Array(xb.shape.dropFirst())).permute(1, 2, 3, 0),
                                               (yb * 0.5 + 0.5).reshape(Array(yb.shape.dropFirst())).permute(1, 2, 3, 0)], axis: 2)
                    }
                }
            }
            return (total / 16, first!)
        }
        try session.log(step: step, ["eval/psnr": psnr])
        try session.saveMedia(sample, caption: "original | reconstruction: " + heldOut(0).caption, name: String(format: "step-%07d", step))
        let text = String(format: "held-out PSNR %.2f dB", psnr)
        try session.event(step: step, kind: .eval, text)
        session.reporter?.message("step \(step): " + text)
    }

    /// Writes the VAE as a diffusers folder (config.json with latents_mean/std, weights) to
    /// runs/<name>/export. Its latent statistics are the per-channel mean/std over 256 fresh clips of the
    /// run's data, or, with a frozen encoder, the source folder's unchanged — the latent space is the
    /// source's, and a model trained on it normalises its latents with the source's statistics, so the
    /// export replaces the source folder without changing what such a model's latents mean (the run's
    /// data may differ from the source's, e.g. in its share of two-object clips).
    public func export() throws {
        var vaeConfig = config.model.config
        if let keptStatistics {
            (vaeConfig.latentsMean, vaeConfig.latentsStd) = keptStatistics
        } else {
            var sums = [Double](repeating: 0, count: config.model.zDim), squares = sums
            var count = 0
            try GradMode.withDisabled {
                for i in stride(from: 0, to: 256, by: 8) {
                    let (x, _) = batch((i..<(i + 8)).map { ShapesWorld.sample(seed: 0x57A7_0000 &+ UInt64($0), config: world) })
                    let z = try vae.encode(x)
                    let (b, c) = (z.shape[0], z.shape[1]), per = z.count / (b * c)
                    for bi in 0..<b { for ci in 0..<c { for j in 0..<per {
                        let v = Double(z.data[(bi * c + ci) * per + j]); sums[ci] += v; squares[ci] += v * v
                    } } }
                    count += b * per
                }
            }
            let n = Double(count)
            vaeConfig.latentsMean = sums.map { Float($0 / n) }
            vaeConfig.latentsStd = zip(sums, squares).map { Float(max($1 / n - ($0 / n) * ($0 / n), 1e-8).squareRoot()) }
        }
        let dir = session.folder.path + "/export"
        try WanVAEExport.write(vae, config: vaeConfig, to: dir, metadata: ["source_run": session.name])
        session.reporter?.message("exported \(dir) (latent std \(vaeConfig.latentsStd.map { String(format: "%.2f", $0) }.joined(separator: " ")))")
    }
}
