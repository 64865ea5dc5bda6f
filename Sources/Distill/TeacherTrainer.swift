// Trains the ShapesWorld teacher (docs/design.md §2.3): a Wan transformer and the text encoder jointly, by flow
// matching on latents of a frozen VAE: x_σ = (1−σ)x₀ + σε, target v = ε − x₀, σ logit-normal, t = 1000σ,
// 10 % empty prompts for classifier-free guidance, AdamW with warm-up + cosine, clipping and an EMA of
// the weights (the EMA is what is evaluated and exported); optionally the squared error weighs the latent
// positions between a pair's objects (`flow.gap_weight`) or along the objects' outlines (`flow.edge_weight`)
// more, and a term on the error's changes from frame to frame can be added (`flow.temporal_weight`)
// (docs/two-objects.md). Clips are encoded once into a cached set; step s reads a permutation slot and
// noise that are functions of (seed, s), so resume is exact.
import Cluster
import Data
import ModelFolders
import Diffusion
import Eval
import Foundation
import Media
import Models
import NN
import Runs
import Tensors

public final class TeacherTrainer {
    public let config: TeacherTrainConfig
    public let session: TrainSession
    public let model: VideoModel
    let optimizer: AdamW
    let ema: EMA?
    let params: [Tensor]
    /// The caption-structure head (`text.structure_weight` > 0; trained, checkpointed, not exported).
    let structure: StructureHead?
    var latents: Tensor!            // [N, z, F', H', W'], normalised
    var captions: [String] = []
    /// Per clip and latent position ([N, F'·H'·W']), 1 + `flow.gap_weight` × the clip's gap map there
    /// + `flow.edge_weight` × its edge map; nil when both weights are 0 (the flow loss is the plain mean square).
    var lossWeights: [Float]?
    var structureLabels: [CaptionStructure?] = []

    public init(config: TeacherTrainConfig, session: TrainSession) throws {
        self.config = config
        self.session = session
        let vae = try WanVAE.load(folder: config.vae)
        var rng = RNG(seed: config.train.seed)
        let tok = Tokenizer()
        let text = try TextEncoder(config.text.config(vocab: tok.vocabularySize), rng: &rng)
        // text.position_init rescales the drawn position embedding, so every other initial value (and
        // the random stream after it) is the same whatever its value.
        let positionScale = Float(config.text.positionInit) / TextEncoder.positionInitStd
        if positionScale != 1 { text.positionEmbedding.data = text.positionEmbedding.data.map { $0 * positionScale } }
        let dit = try WanTransformer(config.model.config(latentChannels: vae.config.zDim, textDim: config.text.dim), rng: &rng)
        let mc = VideoModelConfig(textEncoder: text.config, transformer: dit.config, frames: config.data.frames, size: config.data.size,
                                  sampling: config.sample.settings, kind: "teacher")
        model = VideoModel(config: mc, textEncoder: text, transformer: dit, vae: vae)
        // A run with checkpoints can only be resuming (TrainSession refuses to start over one); its
        // weights come from the checkpoint, so the starting teacher is read only for step 0.
        if !config.model.initFrom.isEmpty, try session.folder.checkpoints().isEmpty {
            var shares = WidthGrowth.shares(trainSeed: config.train.seed)
            try Self.initialize(model, from: config.model.initFrom, runsRoot: session.store.root, layers: config.model.initLayers,
                                textLayers: config.text.initLayers, width: config.model.initWidth, rng: &shares)
        }
        structure = config.text.structureWeight > 0 ? StructureHead(dim: config.text.dim, rng: &rng) : nil
        params = text.parameters() + dit.parameters() + (structure?.parameters() ?? [])
        optimizer = AdamW(params, lr: Float(config.train.lr), betas: (Float(config.train.betas[0]), Float(config.train.betas[1])),
                          weightDecay: Float(config.train.weightDecay))
        ema = config.train.ema > 0 ? EMA(params, decay: Float(config.train.ema)) : nil
    }

    /// Copies a trained teacher's text encoder and transformer (`model.init_from`) into `model`, every
    /// tensor by name; one that is missing or shaped differently is an error naming it. The EMA and
    /// the optimizer start from the copied weights. `layers` (`model.init_layers`; empty: one to one)
    /// names the source layer of each of the transformer's layers, -1 for one that starts as the
    /// identity, and `textLayers` (`text.init_layers`) does the same for the text encoder's; `width`
    /// (`model.init_width`) widens the source's transformer first (WidthGrowth, shares from `rng`).
    static func initialize(_ model: VideoModel, from ref: String, runsRoot: String, layers: [Int] = [], textLayers: [Int] = [],
                           width: Int = 1, rng: inout RNG) throws {
        let folder = try ModelRef.resolve(ref, runsRoot: runsRoot)
        let source = try VideoModel.load(folder: folder)
        /// Copies `from` into `into` name by name, a block's through `map` (`key` in the config; empty: one
        /// to one); a new layer's tensors named in `residual` are zeroed (the rest keep the run's seed's draws).
        func copy(_ into: [(String, Tensor)], _ from: [(String, Tensor)], _ part: String, key: String, map: [Int],
                  residual: [String]) throws {
            /// The source tensor of each name: a block's through `map`, nil for a new layer's.
            func sourceName(_ name: String) -> String? {
                let parts = name.split(separator: ".", maxSplits: 2)
                guard !map.isEmpty, parts.count == 3, parts[0] == "blocks", let i = Int(parts[1]) else { return name }
                return map[i] < 0 ? nil : "blocks.\(map[i]).\(parts[2])"
            }
            let src = Dictionary(from, uniquingKeysWith: { a, _ in a })
            for (name, p) in into {
                guard let from = sourceName(name) else {   // a new layer: the identity
                    if residual.contains(where: { name.hasSuffix("." + $0) }) { p.data = [Float](repeating: 0, count: p.count) }
                    continue
                }
                guard let t = src[from] else { throw ConfigError(folder, "model.init_from", "it has no \(part).\(from)") }
                guard t.shape == p.shape else {
                    throw ConfigError(folder, "model.init_from", "its \(part).\(from) is \(t.shape) where this config's \(part).\(name) is \(p.shape); the architectures must match")
                }
                p.data = t.data
            }
            if let extra = Set(src.keys).subtracting(into.compactMap { sourceName($0.0) }).sorted().first {
                throw ConfigError(folder, "model.init_from", "its \(part).\(extra) has no place in this config; \(map.isEmpty ? "the architectures must match" : "\(key) must use every layer of init_from")")
            }
        }
        try copy(model.textEncoder.namedParameters(), source.textEncoder.namedParameters(), "text_encoder", key: "text.init_layers",
                 map: textLayers, residual: TextEncoderBlock.residualOutputs)
        try copy(model.transformer.namedParameters(), WidthGrowth.widen(source.transformer.namedParameters(), factor: width, rng: &rng),
                 "transformer", key: "model.init_layers", map: layers, residual: WanBlock.residualOutputs)
    }

    var named: [(String, Tensor)] {
        model.textEncoder.namedParameters().map { ("text_encoder." + $0.0, $0.1) } + model.transformer.namedParameters().map { ("transformer." + $0.0, $0.1) }
            + (structure?.namedParameters().map { ("structure_head." + $0.0, $0.1) } ?? [])
    }

    /// Encodes the dataset once, cached in the run folder (a resumed run reads the cache). Under mpirun
    /// each rank encodes its share of the batches of 16 clips into a part file, rank 0 joins the parts
    /// into the cache and every rank reads it: the latents one process encodes, batch for batch.
    func prepareData() throws {
        defer {
            if structure != nil { structureLabels = captions.map { PromptGrammar.parse($0).scene.map(CaptionStructure.init) } }
            if config.flow.gapWeight > 0 || config.flow.edgeWeight > 0, latents != nil {
                let w = latentLossWeights()
                lossWeights = w
                let mean = w.reduce(0, +) / Float(w.count), half = Float(w.reduce(0) { $0 + ($1 >= 1.5 ? 1 : 0) }) / Float(w.count)
                session.reporter?.message(String(format: "flow loss weights: mean %.3f, %.1f %% of latent positions at 1.5 or more", mean, half * 100))
            }
        }
        let world = session.world, batches = (config.flow.datasetClips + 15) / 16
        guard world.size > 1 else {
            if readCache() { return }
            (latents, captions) = try encode(batches: 0..<batches)
            return try Self.writeDataset(latents, captions, to: cachePath)
        }
        // Rank 0 decides whether the cache is whole, so that every rank takes the same path.
        if !(try world.broadcast(session.writer && readCache())) {
            var stopped = false
            do {
                let mine = world.share(of: batches)
                if !mine.isEmpty {
                    let (z, caps) = try encode(batches: mine)
                    try Self.writeDataset(z, caps, to: partPath(world.rank))
                }
            } catch is StopRequested { stopped = true }
            // An error on any rank has aborted the job by now; a stop seen on any rank stops every rank,
            // and the parts already written go (a new start encodes again).
            guard world.max([stopped ? 1 : 0])[0] == 0 else {
                if session.writer { removeParts() }
                throw StopRequested()
            }
            var joinError: Error?
            if session.writer {
                do {
                    let parts = try (0..<world.size).filter { !world.share(of: batches, rank: $0).isEmpty }.map { try Self.readDataset(partPath($0)) }
                    (latents, captions) = (Tensor.concat(parts.map(\.0), axis: 0), parts.flatMap(\.1))
                    try Self.writeDataset(latents, captions, to: cachePath)
                    removeParts()
                } catch { joinError = error }
            }
            guard try session.agree(joinError == nil) else {
                throw joinError ?? TrainError("rank 0 could not join the ranks' parts of the encoded dataset in \(session.folder.path)")
            }
        }
        if !session.writer, !readCache() {
            throw TrainError("\(cachePath): rank 0's encoded dataset is not readable here (the ranks must share the run folder)")
        }
    }

    var cachePath: String { session.folder.path + "/latents.safetensors" }
    func partPath(_ rank: Int) -> String { session.folder.path + "/latents.part-\(rank).safetensors" }

    /// Removes every rank's part file, a crashed start's at another world size included.
    func removeParts() {
        let fm = FileManager.default
        for f in (try? fm.contentsOfDirectory(atPath: session.folder.path)) ?? [] where f.hasPrefix("latents.part-") {
            try? fm.removeItem(atPath: session.folder.path + "/" + f)
        }
    }

    /// A dataset file (the cache or a rank's part): latents [N, C, F, H, W] and their N captions.
    static func writeDataset(_ latents: Tensor, _ captions: [String], to path: String) throws {
        try Safetensors.write(["latents": latents], metadata: ["captions": captions.joined(separator: "\n")], to: path)
    }

    static func readDataset(_ path: String) throws -> (Tensor, [String]) {
        let f = try Safetensors.read(path)
        guard let z = f.tensors["latents"], let caps = f.metadata["captions"]?.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
              caps.count == z.shape[0] else { throw TrainError("\(path): not an encoded dataset (latents with one caption each)") }
        return (z, caps)
    }

    /// Reads the cache into `latents` and `captions` if it holds `dataset_clips` clips.
    func readCache() -> Bool {
        guard let (z, caps) = try? Self.readDataset(cachePath), z.shape[0] == config.flow.datasetClips else { return false }
        (latents, captions) = (z, caps)
        return true
    }

    /// The normalized latents and captions of dataset batches `range` (16 clips each, the last one short).
    func encode(batches range: Range<Int>) throws -> (Tensor, [String]) {
        let n = config.flow.datasetClips, share = min(n, range.upperBound * 16) - range.lowerBound * 16
        var parts: [Tensor] = [], caps: [String] = []
        let t0 = Date()
        try GradMode.withDisabled {
            for b in range {
                let start = b * 16
                let clips = (start..<min(n, start + 16)).map { ShapesWorld.sample(seed: clipSeed($0), config: worldConfig) }
                caps += clips.map(\.caption)
                let x = Tensor.concat(clips.map { $0.pixels.reshape([1] + $0.pixels.shape) }, axis: 0)
                parts.append(try model.vae.normalize(try model.vae.encode(x)))
                let done = (b - range.lowerBound) * 16
                if done % 1024 == 0 {
                    let of = session.world.size > 1 ? "\(done)/\(share) clips of this process's share of \(n)" : "\(done)/\(n) clips"
                    session.reporter?.message("encoding the dataset: \(of) (\(Int(Date().timeIntervalSince(t0)))s)")
                }
                try session.checkStop()
            }
        }
        return (Tensor.concat(parts, axis: 0), caps)
    }

    /// The seed of dataset clip `i`.
    func clipSeed(_ i: Int) -> UInt64 { config.data.seed &* 7_919 &+ UInt64(i) }

    var worldConfig: WorldConfig { config.data.world }

    /// `lossWeights` for the encoded dataset: each clip rendered again from its seed (its pixels are not
    /// kept), its gap and edge maps taken to the latent grid.
    func latentLossWeights() -> [Float] {
        let latent = (f: latents.shape[2], h: latents.shape[3], w: latents.shape[4])
        let (g, e) = (Float(config.flow.gapWeight), Float(config.flow.edgeWeight))
        let plane = latent.f * latent.h * latent.w
        func pooled(_ map: [Float]) -> [Float] { Self.maxPool(map, frames: worldConfig.frames, size: worldConfig.size, latent: latent) }
        var out = [Float]()
        out.reserveCapacity(latents.shape[0] * plane)
        for i in 0..<latents.shape[0] {
            let clip = ShapesWorld.sample(seed: clipSeed(i), config: worldConfig)
            var w = [Float](repeating: 1, count: plane)
            if g > 0 {
                let gap = pooled(ShapesWorld.gapMap(clip.truth, config: worldConfig, sigma: Float(config.flow.gapSigma)))
                for j in 0..<plane { w[j] += g * gap[j] }
            }
            if e > 0 {
                let edge = pooled(ShapesWorld.edgeMap(clip.truth, config: worldConfig, sigma: Float(config.flow.edgeSigma)))
                for j in 0..<plane { w[j] += e * edge[j] }
            }
            out += w
        }
        return out
    }

    /// A pixel map [F, H, W] on the latent grid [F', H', W']: each latent position takes the largest value
    /// of the pixels it encodes. Wan's causal VAE encodes frame 0 alone into latent frame 0 and frames
    /// (k−1)·r+1 … k·r into latent frame k (r = (F−1)/(F'−1)); spatially, blocks of H/H' × W/W' pixels.
    static func maxPool(_ map: [Float], frames: Int, size n: Int, latent: (f: Int, h: Int, w: Int)) -> [Float] {
        let r = latent.f > 1 ? (frames - 1) / (latent.f - 1) : 1
        let (bh, bw) = (n / latent.h, n / latent.w)
        var out = [Float](repeating: 0, count: latent.f * latent.h * latent.w)
        for t in 0..<frames {
            let k = t == 0 ? 0 : (t - 1) / r + 1
            for y in 0..<n {
                for x in 0..<n {
                    let o = (k * latent.h + y / bh) * latent.w + x / bw
                    out[o] = max(out[o], map[(t * n + y) * n + x])
                }
            }
        }
        return out
    }

    /// Dataset indices of step `s`: a per-epoch permutation, a function of (seed, epoch).
    func indices(step s: Int) -> [Int] {
        let n = latents.shape[0], b = config.train.batch
        return (0..<b).map { i in
            let flat = s * b + i, epoch = flat / n
            return permutation(epoch: epoch, n: n)[flat % n]
        }
    }

    private var permCache: (Int, [Int])?
    func permutation(epoch: Int, n: Int) -> [Int] {
        if let (e, p) = permCache, e == epoch { return p }
        var rng = RNG(seed: config.data.seed &+ 0xE90C &* UInt64(epoch + 1))
        var p = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, rng.int(below: i + 1)) }
        permCache = (epoch, p)
        return p
    }

    public func run(resume: Bool) throws {
        let t = config.train
        do { try prepareData() } catch is StopRequested { try session.stopBeforeTraining(); return }
        var start = 0
        if resume, let c = try session.resumePoint() {
            try TrainState.restore(c.file, named: named, optimizer: optimizer, ema: ema, path: session.folder.checkpointPath(step: c.step))
            start = c.step
            session.reporter?.message("resumed from step \(start)")
        }
        let schedule = WarmupCosine(peak: Float(t.lr), floor: Float(t.lrFloor), warmup: t.warmup, total: t.steps)
        let per = latents.count / latents.shape[0]
        let world = session.world, mine = try world.rows(ofBatch: t.batch)
        let end = try session.loop(from: start, to: t.steps, optimizer: optimizer, schedule: schedule, logEvery: t.logEvery, evalEvery: t.evalEvery,
                                   checkpointEvery: t.checkpointEvery, step: { step in
            // The random draws cover the whole global batch, in one process's order, so a row gets the
            // same noise whichever rank trains it; the inputs are built for this rank's rows only.
            let idx = indices(step: step)
            var rng = RNG(seed: t.seed &+ 0x7EAC_0000 &+ UInt64(step) &* 0x1_0000)
            let eps = rng.normal(idx.count * per)
            let sigmas = rng.normal(idx.count).map { u -> Float in 1 / (1 + Foundation.exp(-(Float(config.flow.logitMean) + Float(config.flow.logitStd) * u))) }
            let drop = rng.uniform(idx.count).map { Double($0) < config.flow.promptDropout }
            var xs = [Float](), target = [Float](), weights = [Float]()
            xs.reserveCapacity(mine.count * per); target.reserveCapacity(mine.count * per)
            if lossWeights != nil { weights.reserveCapacity(mine.count * per) }
            for b in mine {
                let s = sigmas[b], x0 = idx[b] * per
                for j in 0..<per {
                    let (x, e) = (latents.data[x0 + j], eps[b * per + j])
                    xs.append((1 - s) * x + s * e); target.append(e - x)
                }
                if let lossWeights {
                    // The same weight for every latent channel of a position.
                    let plane = per / latents.shape[1], g0 = idx[b] * plane
                    for j in 0..<per { weights.append(lossWeights[g0 + j % plane]) }
                }
            }
            let prompts = mine.map { drop[$0] ? "" : captions[idx[$0]] }
            let shape = [mine.count] + Array(latents.shape.dropFirst())
            let (ctx, toks) = try model.embed(prompts)
            let pred = try model.transformer(Tensor(shape: shape, data: xs), timesteps: mine.map { sigmas[$0] * 1000 }, context: ctx)
            let targetTensor = Tensor(shape: shape, data: target)
            let weighted = lossWeights == nil ? Tensor.mse(pred, targetTensor) : Tensor.mse(pred, targetTensor, weights: weights)
            let temporal = config.flow.temporalWeight > 0 ? Self.frameDifferenceMSE(pred - targetTensor) : nil
            let flow = temporal.map { weighted + Float(config.flow.temporalWeight) * $0 } ?? weighted
            let term = structure.map { structureTerm($0, context: ctx, tokens: toks, rows: Array(mine), indices: idx, dropped: drop) }
            let loss = term?.loss.map { flow + Float(config.text.structureWeight) * $0 } ?? flow
            // With a gap, edge or temporal weight, the plain mean square is logged too: it compares with
            // runs without them.
            let plain = lossWeights == nil && temporal == nil ? nil : GradMode.withDisabled { Tensor.mse(pred, targetTensor).item }
            var outcome = try session.optimize(loss, params: params, named: { named }, optimizer: optimizer, clip: t.clip, step: step)
            ema?.update(params)
            if let plain { outcome.metrics["flow_mse"] = Double(session.world.mean(plain)) }
            if let temporal { outcome.metrics["temporal_mse"] = Double(session.world.mean(temporal.item)) }
            if let term {
                outcome.loss = session.world.mean(flow.item)
                outcome.metrics["structure_loss"] = Double(session.world.mean(term.value))
                outcome.metrics["structure_exact"] = Double(session.world.mean(term.exact))
            }
            return outcome
        }, evaluate: { try evaluate(step: $0) }, checkpoint: { step, _ in try checkpoint(step: step) })
        guard let end else { return }
        try session.write {
            try withEMA { try model.save(to: session.folder.path + "/export", metadata: ["source_run": session.name, "step": String(end)]) }
            session.reporter?.message("exported \(session.folder.path)/export")
        }
        try session.finish(step: end, status: .finished)
    }

    /// The caption-structure task on this rank's captions (`rows`: its rows of the global batch, in the
    /// order of `context`; the empty prompts have none). Its loss is the mean over the global batch's
    /// captions: this rank's mean is weighted by its share of them, times the world size, as the ranks'
    /// gradients are averaged — so every world size trains alike. `value` and `exact` are weighted the
    /// same way, so their mean over the ranks is the global batch's. `loss` is nil when no row has one.
    func structureTerm(_ head: StructureHead, context: Tensor, tokens: [Tokenized], rows: [Int], indices idx: [Int],
                       dropped: [Bool]) -> (loss: Tensor?, value: Float, exact: Float) {
        let labelled = { (b: Int) in !dropped[b] && self.structureLabels[idx[b]] != nil }
        let mine = rows.indices.filter { labelled(rows[$0]) }
        guard !mine.isEmpty else { return (nil, 0, 0) }
        let share = Float(mine.count * session.world.size) / Float(idx.indices.filter(labelled).count)
        let (l, d) = (context.shape[1], context.shape[2])
        let r = head(mine.map { context.slice(axis: 0, $0, $0 + 1).reshape(l, d).slice(axis: 0, 0, tokens[$0].count) },
                     labels: mine.map { structureLabels[idx[rows[$0]]]! })
        return (share * r.loss, share * r.loss.item, share * Float(r.exact))
    }

    /// Mean square of the change of `e` ([N, z, F', H', W']) from one latent frame to the next, over every
    /// pair of neighbouring frames, channel and position (`flow.temporal_weight`).
    static func frameDifferenceMSE(_ e: Tensor) -> Tensor {
        let n = e.shape[2]
        guard n > 1 else { return (e * 0).mean() }
        let g = e.slice(axis: 2, 1, n) - e.slice(axis: 2, 0, n - 1)
        return (g * g).mean()
    }

    func checkpoint(step: Int) throws {
        try session.saveCheckpoint(TrainState.tensors(model: named, optimizer: optimizer, ema: ema),
                                   metadata: ["kind": "teacher", "step": String(step), "config": try config.toml()], step: step, keep: config.train.keep)
    }

    /// Runs `body` with the EMA weights swapped in.
    func withEMA<R>(_ body: () throws -> R) rethrows -> R {
        guard let ema else { return try body() }
        let saved = params.map(\.data)
        ema.copy(to: params)
        defer { for (p, d) in zip(params, saved) { p.data = d } }
        return try body()
    }

    /// MiniVBench on the first `eval_prompts` prompts of the eval suite (seed 0), EMA weights; a media clip;
    /// and how much the predictions use each prompt attribute, on the whole suite (`WordUse`, word_use/…).
    public func evaluate(step: Int) throws {
        let suite = try EvalSuite.prompts()
        let prompts = Array(suite.prefix(config.sample.evalPrompts))
        let (score, frames, use) = try withEMA { () throws -> (BenchScore, Tensor, [(WordUse.Attribute, Double)]) in
            let use = WordUse.summary(try WordUse.measure(model: model, scenes: suite.compactMap { PromptGrammar.parse($0).scene }))
            let (r, _) = try model.sample(prompts: prompts, seeds: [UInt64](repeating: 0, count: prompts.count)) { [session] _, _ in try session.checkStop() }
            let f = try r.decoded()
            let clips = (0..<prompts.count).map { f.slice(axis: 0, $0, $0 + 1).reshape(Array(f.shape.dropFirst())) }
            let scores = try zip(clips, prompts).map { try MiniVBench.score($0, prompt: $1) }
            return (MiniVBench.aggregate(scores), clips[0], use)
        }
        var values = ["eval/total": score.total, "eval/vbench_total": score.vbenchTotal, "eval/quality": score.quality, "eval/semantic": score.semantic]
        if let h = score.heldOut { values["eval/held_out"] = h.total }
        if let v = score.seen { values["eval/seen"] = v.total }
        for (a, u) in use { values["word_use/" + a.rawValue] = u }
        try session.log(step: step, values)
        try session.saveMedia(frames, caption: prompts[0], name: String(format: "step-%07d", step))
        let heldOut = score.heldOut.map { String(format: "held-out %.4f, ", $0.total) } ?? ""
        let text = String(format: "MiniVBench total %.4f (%@VBench-weighted %.4f) on %d prompts; word use ", score.total, heldOut, score.vbenchTotal, prompts.count)
            + use.map { String(format: "%@ %.3f", $0.0.rawValue, $0.1) }.joined(separator: ", ")
        try session.event(step: step, kind: .eval, text)
        session.reporter?.message("step \(step): " + text)
    }
}

