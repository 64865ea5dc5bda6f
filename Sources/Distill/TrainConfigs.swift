// Config sections for the trainers (TOML tables; keys are snake_case; every field has a default).
import Data
import Diffusion
import Foundation
import Models
import Runs
import Tensors

public struct DataSection: ConfigSection, Equatable {
    /// Frames per clip (4k + 1).
    public var frames = 17
    /// Square frame size in pixels.
    public var size = 32
    /// Seed of the training data stream (clip i of step s is a function of it).
    public var seed: UInt64 = 1
    /// Share of two-object clips.
    public var twoObjectRate = 0.4
    /// Relative weights of circle, square and triangle in the drawn scenes (equal: the original stream).
    public var shapeWeights = [1.0, 1.0, 1.0]
    enum CodingKeys: String, CodingKey, CaseIterable {
        case frames, size, seed, twoObjectRate = "two_object_rate", shapeWeights = "shape_weights"
    }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public init() {}
    public func validate(path: String, prefix: String) throws {
        try ConfigFile.require(frames >= 1 && frames <= 1025 && (frames - 1) % 4 == 0, path, "\(prefix).frames", "must be 4k+1 from 1 to 1025 (e.g. 17), got \(frames)")
        try ConfigFile.require(size >= 16 && size <= 256 && size % 8 == 0, path, "\(prefix).size", "must be a multiple of 8 in 16…256, got \(size)")
        try ConfigFile.require((0...1).contains(twoObjectRate), path, "\(prefix).two_object_rate", "must be in [0, 1]")
        let problem = WorldConfig.weightsProblem(shapeWeights)
        try ConfigFile.require(problem == nil, path, "\(prefix).shape_weights", "\(problem ?? ""), got \(shapeWeights)")
    }

    /// The world the trainers draw clips from.
    public var world: WorldConfig {
        WorldConfig(frames: frames, size: size, twoObjectRate: twoObjectRate, shapeWeights: shapeWeights)
    }
}

public struct TrainSection: ConfigSection, Equatable {
    /// Optimizer steps in all.
    public var steps = 3000
    /// Clips per step.
    public var batch = 8
    /// Peak learning rate (after warm-up).
    public var lr = 1e-3
    /// Learning rate at the end of the cosine.
    public var lrFloor = 1e-4
    /// Linear warm-up steps.
    public var warmup = 100
    /// AdamW decoupled weight decay.
    public var weightDecay = 0.0
    /// AdamW (β₁, β₂).
    public var betas = [0.9, 0.99]
    /// Global gradient-norm clip (0: off).
    public var clip = 1.0
    /// EMA decay of the weights (0: no EMA).
    public var ema = 0.0
    /// Seed of the initial weights and the noise stream.
    public var seed: UInt64 = 0
    /// Metrics every N steps.
    public var logEvery = 10
    /// Checkpoint every N steps.
    public var checkpointEvery = 100
    /// Evaluation (and a media clip) every N steps.
    public var evalEvery = 250
    /// Checkpoints kept.
    public var keep = 3
    enum CodingKeys: String, CodingKey, CaseIterable {
        case steps, batch, lr, lrFloor = "lr_floor", warmup, weightDecay = "weight_decay", betas, clip, ema, seed
        case logEvery = "log_every", checkpointEvery = "checkpoint_every", evalEvery = "eval_every", keep
    }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public init() {}
    public func validate(path: String, prefix: String) throws {
        func req(_ ok: Bool, _ key: String, _ m: String) throws { try ConfigFile.require(ok, path, "\(prefix).\(key)", m) }
        try req((1...100_000_000).contains(steps), "steps", "must be 1 to 100000000, got \(steps)")
        try req(batch >= 1 && batch <= 1024, "batch", "must be in 1…1024")
        try req(lr > 0 && lr < 1, "lr", "must be in (0, 1)")
        try req(lrFloor >= 0 && lrFloor <= lr, "lr_floor", "must be in [0, lr]")
        try req(warmup >= 0, "warmup", "must be ≥ 0")
        try req(weightDecay >= 0 && weightDecay < 1, "weight_decay", "must be in [0, 1)")
        try req(betas.count == 2 && betas.allSatisfy { $0 >= 0 && $0 < 1 }, "betas", "must be two values in [0, 1)")
        try req(clip >= 0, "clip", "must be ≥ 0")
        try req(ema >= 0 && ema < 1, "ema", "must be in [0, 1)")
        try req(logEvery >= 1, "log_every", "must be ≥ 1")
        try req(checkpointEvery >= 1, "checkpoint_every", "must be ≥ 1")
        try req(evalEvery >= 1, "eval_every", "must be ≥ 1")
        try req(keep >= 1, "keep", "must be ≥ 1")
    }
}

public struct VAEModelSection: ConfigSection, Equatable {
    public var baseDim = 16
    public var zDim = 8
    public var dimMult = [1, 2, 2]
    public var numResBlocks = 1
    public var temperalDownsample = [true, true]
    /// Decoder width (0: base_dim). A wider decoder behind a frozen encoder sharpens reconstructions
    /// without moving the latent space.
    public var decoderBaseDim = 0
    /// A diffusers VAE folder to start from: every weight whose name and shape match is copied.
    public var initFrom = ""
    /// Train the decoder only: the encoder (from init_from) and so the latent space stay fixed, and a
    /// teacher trained on them stays valid.
    public var freezeEncoder = false
    /// How many times wider this decoder is than init_from's (decoder_base_dim = init_width × its
    /// decoder width): every decoder channel is copied so that at step 0 it decodes what init_from's
    /// decoder decodes (WidthGrowth). 1: weights are copied where name and shape match.
    public var initWidth = 1
    enum CodingKeys: String, CodingKey, CaseIterable {
        case baseDim = "base_dim", zDim = "z_dim", dimMult = "dim_mult", numResBlocks = "num_res_blocks", temperalDownsample = "temperal_downsample"
        case decoderBaseDim = "decoder_base_dim", initFrom = "init_from", freezeEncoder = "freeze_encoder", initWidth = "init_width"
    }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public init() {}
    public var config: WanVAEConfig {
        var c = WanVAEConfig()
        (c.baseDim, c.zDim, c.dimMult, c.numResBlocks, c.temperalDownsample) = (baseDim, zDim, dimMult, numResBlocks, temperalDownsample)
        c.decoderBaseDim = decoderBaseDim > 0 && decoderBaseDim != baseDim ? decoderBaseDim : nil
        c.latentsMean = [Float](repeating: 0, count: zDim); c.latentsStd = [Float](repeating: 1, count: zDim)
        return c
    }
    public func validate(path: String, prefix: String) throws {
        do { try config.validate(path: path) } catch let ModelError.config(_, field, m) { throw ConfigError(path, "\(prefix).\(field)", m) }
        try ConfigFile.require(decoderBaseDim >= 0, path, "\(prefix).decoder_base_dim", "must be ≥ 0 (0: base_dim)")
        try ConfigFile.require(!freezeEncoder || !initFrom.isEmpty, path, "\(prefix).freeze_encoder", "needs init_from (the encoder to keep)")
        try ConfigFile.require((1...4).contains(initWidth), path, "\(prefix).init_width", "must be 1…4, got \(initWidth)")
        try ConfigFile.require(initWidth == 1 || !initFrom.isEmpty, path, "\(prefix).init_width", "needs init_from (the decoder to widen)")
    }
}

public struct VAELossSection: ConfigSection, Equatable {
    /// Weight of the L1 reconstruction term.
    public var l1 = 1.0
    /// Weight of the MSE reconstruction term.
    public var mse = 1.0
    /// Pixel weight where an object is (vs 1 on the background).
    public var objectWeight = 5.0
    /// Extra weight on frame 0 (the causal VAE's weakest frame).
    public var firstFrameWeight = 2.0
    /// Weight of mean(z²), which keeps the deterministic latent bounded.
    public var latentL2 = 1e-3
    /// Weight of an L1 term on the spatial finite differences (edges), object-weighted like the rest:
    /// it penalises the soft, rounded corners a pixel loss tolerates.
    public var gradient = 0.0
    /// Weight of an L1 term on the error's differences between consecutive frames, object-weighted like
    /// the rest: it penalises a moving object drawn blurred or misplaced in one frame of the pair a
    /// latent frame decodes to, which a per-frame loss weighs no more than any other error. Tried at 1
    /// and 4 on vae-2x's decoder, it moved little (docs/two-objects.md, "Sharper edges").
    public var temporal = 0.0
    /// Extra pixel weight between a two-object clip's objects: each pixel's weight is raised by
    /// gap_weight × the clip's gap map there (`ShapesWorld.gapMap`), so the band of background that
    /// keeps the pair apart is reconstructed as background, not as a blend of the two objects; 0 trains
    /// without it (docs/two-objects.md, "A decoder that keeps the gap").
    public var gapWeight = 0.0
    /// The gap map's width σ (pixels).
    public var gapSigma = 3.0
    /// Noise added to the latents the decoder reconstructs from in training: Gaussian, latent_noise × each
    /// latent channel's standard deviation (the kept encoder's latents_std: it needs model.freeze_encoder),
    /// drawn from (train.seed, step, row) so a resumed run sees the same. Meant to teach the decoder to
    /// decode latents a little off its encoder's (a diffusion model's) as the nearest clean clip; on
    /// vae-2x's decoder 0.1 and 0.25 scored the teacher lower, not higher (docs/two-objects.md, "A
    /// decoder for the teacher's latents"). 0 trains without it.
    public var latentNoise = 0.0
    enum CodingKeys: String, CodingKey, CaseIterable {
        case l1, mse, objectWeight = "object_weight", firstFrameWeight = "first_frame_weight", latentL2 = "latent_l2", gradient, temporal
        case gapWeight = "gap_weight", gapSigma = "gap_sigma", latentNoise = "latent_noise"
    }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public init() {}
    public func validate(path: String, prefix: String) throws {
        for (k, v) in [("l1", l1), ("mse", mse), ("latent_l2", latentL2), ("gradient", gradient), ("temporal", temporal), ("latent_noise", latentNoise)] { try ConfigFile.require(v >= 0, path, "\(prefix).\(k)", "must be ≥ 0") }
        try ConfigFile.require(objectWeight >= 1, path, "\(prefix).object_weight", "must be ≥ 1")
        try ConfigFile.require(firstFrameWeight >= 1, path, "\(prefix).first_frame_weight", "must be ≥ 1")
        try ConfigFile.require(gapWeight >= 0, path, "\(prefix).gap_weight", "must be 0 or more")
        try ConfigFile.require(gapSigma > 0, path, "\(prefix).gap_sigma", "must be positive")
    }
}

public struct VAETrainConfig: Equatable {
    public var data = DataSection()
    public var model = VAEModelSection()
    public var train = TrainSection()
    public var loss = VAELossSection()

    public init() {}

    public static func load(_ path: String, overrides: [String] = []) throws -> VAETrainConfig {
        let t = try ConfigFile.read(path, overrides: overrides)
        try ConfigFile.checkTopLevel(t, allowed: ["kind", "data", "model", "train", "loss"], path: path)
        if let kind = t["kind"] as? String, kind != "vae" { throw ConfigError(path, "kind", "this is a '\(kind)' config; `gpd train vae` needs kind = \"vae\"") }
        try ConfigFile.requireSections(["model"], optional: ["data", "train", "loss"], in: t, path: path)
        var c = VAETrainConfig()
        c.data = try ConfigFile.decode(DataSection.self, from: t["data"] as? [String: Any], path: path, prefix: "data")
        c.model = try ConfigFile.decode(VAEModelSection.self, from: t["model"] as? [String: Any], path: path, prefix: "model")
        c.train = try ConfigFile.decode(TrainSection.self, from: t["train"] as? [String: Any], path: path, prefix: "train")
        c.loss = try ConfigFile.decode(VAELossSection.self, from: t["loss"] as? [String: Any], path: path, prefix: "loss")
        try ConfigFile.require(c.loss.latentNoise == 0 || c.model.freezeEncoder, path, "loss.latent_noise",
                               "needs model.freeze_encoder: the noise is measured in the kept encoder's latent deviations")
        let spatial = 1 << (c.model.dimMult.count - 1)
        try ConfigFile.require(c.data.size % spatial == 0, path, "data.size", "must divide by the VAE's spatial compression \(spatial)")
        try ConfigFile.require((c.data.frames - 1) % (1 << c.model.temperalDownsample.filter { $0 }.count) == 0, path, "data.frames",
                               "must be 1 + k·(temporal compression)")
        return c
    }

    public func toml() throws -> String {
        try ConfigFile.toml([("data", data), ("model", model), ("train", train), ("loss", loss)], top: ["kind": "vae"])
    }
}

public struct TextSection: ConfigSection, Equatable {
    public var dim = 128
    public var layers = 2
    public var heads = 4
    public var ffn = 256
    /// Tokens per prompt, including EOS.
    public var textLength = 16
    /// Standard deviation of the position embedding at initialisation (the token embedding's is 1).
    public var positionInit = 0.02   // TextEncoder.positionInitStd
    /// Weight of the caption-structure task (`StructureHead`: which object is on top or at the left, which
    /// below or at the right, along which axis) added to the flow loss; 0 trains without it.
    public var structureWeight = 0.0
    /// Where each of the text encoder's layers comes from when the teacher starts from one
    /// (`model.init_from`) whose encoder has other layers: the index of its layer to copy, or -1 for a
    /// new layer that starts as the identity (its attention output and FFN output zeroed, so at step 0
    /// the encoder computes exactly what init_from's computes); every layer of init_from's encoder is
    /// used. Empty: the same layers, copied one to one.
    public var initLayers: [Int] = []
    enum CodingKeys: String, CodingKey, CaseIterable {
        case dim, layers, heads, ffn, textLength = "text_length", positionInit = "position_init", structureWeight = "structure_weight"
        case initLayers = "init_layers"
    }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public init() {}
    public func config(vocab: Int) -> TextEncoderConfig {
        TextEncoderConfig(vocab: vocab, dim: dim, layers: layers, heads: heads, ffn: ffn, textLength: textLength)
    }
    public func validate(path: String, prefix: String) throws {
        do { try config(vocab: 64).validate(path: path) } catch let ModelError.config(_, field, m) { throw ConfigError(path, "\(prefix).\(field)", m) }
        guard positionInit.isFinite, positionInit >= 0, positionInit <= 10 else { throw ConfigError(path, "\(prefix).position_init", "must be 0…10, got \(positionInit)") }
        guard structureWeight.isFinite, structureWeight >= 0 else { throw ConfigError(path, "\(prefix).structure_weight", "must be 0 or more, got \(structureWeight)") }
        try LayerMap.validate(initLayers, layers: layers, prefix: prefix, path: path)
    }
}

public struct DiTSection: ConfigSection, Equatable {
    public var heads = 4
    public var headDim = 32
    public var layers = 6
    public var ffn = 512
    /// Latent frames × rows × columns per token (Wan2.1: [1, 2, 2]).
    public var patchSize = [1, 2, 2]
    /// A teacher to start from (demo:NAME, a run name for its export, or a model folder): its text
    /// encoder and transformer weights, which must match this config's tensor for tensor. Its VAE may
    /// differ (with as many latent channels): a teacher on a finer latent grid can start from one
    /// trained on a coarser, cheaper one (docs/word-use.md).
    public var initFrom = ""
    /// Where each of this model's layers comes from when it starts from a teacher with other layers:
    /// the index of init_from's layer to copy, or -1 for a new layer that starts as the identity (its
    /// two attention output projections and its FFN's output zeroed, so at step 0 the model computes
    /// exactly what init_from computes); every layer of init_from is used. Empty: init_from has the same
    /// layers, copied one to one.
    public var initLayers: [Int] = []
    /// How many times wider this model is than init_from: heads and ffn are init_width times init_from's,
    /// head_dim the same. Every channel is copied init_width times, so at step 0 the model computes what
    /// init_from computes (WidthGrowth). 1: the same width.
    public var initWidth = 1
    enum CodingKeys: String, CodingKey, CaseIterable {
        case heads, headDim = "head_dim", layers, ffn, patchSize = "patch_size", initFrom = "init_from", initLayers = "init_layers"
        case initWidth = "init_width"
    }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public init() {}
    public func config(latentChannels: Int, textDim: Int) -> WanTransformerConfig {
        var c = WanTransformerConfig()
        (c.numAttentionHeads, c.attentionHeadDim, c.numLayers, c.ffnDim, c.patchSize) = (heads, headDim, layers, ffn, patchSize)
        (c.inChannels, c.outChannels, c.textDim, c.ropeMaxSeqLen) = (latentChannels, latentChannels, textDim, 64)
        return c
    }
    public func validate(path: String, prefix: String) throws {
        do { try config(latentChannels: 8, textDim: 8).validate(path: path) } catch let ModelError.config(_, field, m) {
            throw ConfigError(path, "\(prefix).\(field)", m)
        }
        try ConfigFile.require((1...4).contains(initWidth), path, "\(prefix).init_width", "must be 1…4, got \(initWidth)")
        if initWidth > 1 {
            try ConfigFile.require(!initFrom.isEmpty, path, "\(prefix).init_width", "needs init_from (the teacher to widen)")
            try ConfigFile.require(heads % initWidth == 0 && ffn % initWidth == 0, path, "\(prefix).init_width",
                                   "is \(initWidth), which must divide \(prefix).heads (\(heads)) and \(prefix).ffn (\(ffn))")
        }
        guard !initLayers.isEmpty else { return }
        try ConfigFile.require(!initFrom.isEmpty, path, "\(prefix).init_layers", "needs init_from (the teacher whose layers it names)")
        try LayerMap.validate(initLayers, layers: layers, prefix: prefix, path: path)
    }
}

/// A map from a grown model's layers to the layers of the model it starts from (`model.init_layers`,
/// `text.init_layers`): one entry per layer, each a source layer or -1 for a new one.
enum LayerMap {
    static func validate(_ map: [Int], layers: Int, prefix: String, path: String) throws {
        guard !map.isEmpty else { return }
        let key = "\(prefix).init_layers"
        try ConfigFile.require(map.count == layers, path, key, "names \(map.count) layers where \(prefix).layers is \(layers); it needs one entry per layer")
        if let bad = map.first(where: { $0 < -1 }) {
            throw ConfigError(path, key, "has \(bad): an entry is a layer of init_from (0 or more) or -1 for a new one")
        }
    }
}

public struct FlowSection: ConfigSection, Equatable {
    /// σ = sigmoid(u), u ~ N(logit_mean, logit_std²) (logit-normal noise levels).
    public var logitMean = 0.0
    public var logitStd = 1.0
    /// Share of prompts replaced by "" so the model learns the unconditional velocity (for CFG).
    public var promptDropout = 0.1
    /// Clips pre-encoded once with the frozen VAE and cycled through.
    public var datasetClips = 8192
    /// Extra weight of the flow loss on the latent positions between a two-object clip's objects: each
    /// position's squared error is weighed 1 + gap_weight × the clip's gap map there
    /// (`ShapesWorld.gapMap`, the largest value over the pixels the position encodes); 0 trains without it.
    public var gapWeight = 0.0
    /// The gap map's width σ (pixels).
    public var gapSigma = 3.0
    /// Extra weight of the flow loss along every object's outline, in one- and two-object clips alike:
    /// each position's squared error is weighed 1 + edge_weight × the clip's edge map there
    /// (`ShapesWorld.edgeMap`, the largest value over the pixels the position encodes), added to the gap
    /// term when both are set; 0 trains without it.
    public var edgeWeight = 0.0
    /// The edge map's width σ (pixels).
    public var edgeSigma = 1.0
    /// Weight of a second term on the velocity error's changes from one latent frame to the next: the
    /// mean square of e[f+1] − e[f] (e = prediction − target) over every latent position, added to the
    /// flow loss × temporal_weight. An error that differs from frame to frame — an object drawn apart
    /// or misplaced in one frame — is what jerks the clip's motion; this weighs it more than one that
    /// is the same in every frame; 0 trains without it (docs/two-objects.md, "A loss on the error's
    /// changes in time").
    public var temporalWeight = 0.0
    enum CodingKeys: String, CodingKey, CaseIterable {
        case logitMean = "logit_mean", logitStd = "logit_std", promptDropout = "prompt_dropout", datasetClips = "dataset_clips"
        case gapWeight = "gap_weight", gapSigma = "gap_sigma", edgeWeight = "edge_weight", edgeSigma = "edge_sigma"
        case temporalWeight = "temporal_weight"
    }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public init() {}
    public func validate(path: String, prefix: String) throws {
        try ConfigFile.require(logitStd > 0, path, "\(prefix).logit_std", "must be positive")
        try ConfigFile.require((0..<1).contains(promptDropout), path, "\(prefix).prompt_dropout", "must be in [0, 1)")
        try ConfigFile.require(datasetClips >= 16, path, "\(prefix).dataset_clips", "must be at least 16")
        try ConfigFile.require(gapWeight >= 0, path, "\(prefix).gap_weight", "must be 0 or more")
        try ConfigFile.require(gapSigma > 0, path, "\(prefix).gap_sigma", "must be positive")
        try ConfigFile.require(edgeWeight >= 0, path, "\(prefix).edge_weight", "must be 0 or more")
        try ConfigFile.require(edgeSigma > 0, path, "\(prefix).edge_sigma", "must be positive")
        try ConfigFile.require(temporalWeight >= 0, path, "\(prefix).temporal_weight", "must be 0 or more")
    }
}

public struct SampleSection: ConfigSection, Equatable {
    public var solver = "unipc"
    public var steps = 48
    public var shift = 3.0
    public var guidance = 5.0
    /// Prompts of samples/prompts/eval.txt scored at each evaluation (seed 0).
    public var evalPrompts = 8
    enum CodingKeys: String, CodingKey, CaseIterable { case solver, steps, shift, guidance, evalPrompts = "eval_prompts" }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public init() {}
    public var settings: SamplingSettings {
        SamplingSettings(solver: Solver(rawValue: solver) ?? .unipc, steps: steps, shift: shift, guidance: Float(guidance))
    }
    public func validate(path: String, prefix: String) throws {
        try ConfigFile.require(Solver(rawValue: solver) != nil, path, "\(prefix).solver", "must be \"unipc\" or \"euler\"")
        try ConfigFile.require(steps >= 1 && steps <= 1000, path, "\(prefix).steps", "must be in 1…1000")
        try ConfigFile.require(shift > 0, path, "\(prefix).shift", "must be positive")
        try ConfigFile.require(guidance >= 0, path, "\(prefix).guidance", "must be ≥ 0")
        try ConfigFile.require((1...72).contains(evalPrompts), path, "\(prefix).eval_prompts", "must be 1 to 72 (the suite's prompts), got \(evalPrompts)")
    }
}

public struct TeacherTrainConfig: Equatable {
    /// The trained VAE: a diffusers folder (e.g. samples/demo/vae or runs/vae-demo/export).
    public var vae = "samples/demo/vae"
    public var data = DataSection()
    public var text = TextSection()
    public var model = DiTSection()
    public var train = TrainSection()
    public var flow = FlowSection()
    public var sample = SampleSection()

    public init() {}

    public static func load(_ path: String, overrides: [String] = []) throws -> TeacherTrainConfig {
        let t = try ConfigFile.read(path, overrides: overrides)
        try ConfigFile.checkTopLevel(t, allowed: ["kind", "vae", "data", "text", "model", "train", "flow", "sample"], path: path)
        if let kind = t["kind"] as? String, kind != "teacher" { throw ConfigError(path, "kind", "this is a '\(kind)' config; `gpd train teacher` needs kind = \"teacher\"") }
        try ConfigFile.requireSections(["model"], optional: ["data", "text", "train", "flow", "sample"], in: t, path: path)
        var c = TeacherTrainConfig()
        if let v = t["vae"] { guard let s = v as? String else { throw ConfigError(path, "vae", "must be a folder path string") }; c.vae = s }
        c.data = try ConfigFile.decode(DataSection.self, from: t["data"] as? [String: Any], path: path, prefix: "data")
        c.text = try ConfigFile.decode(TextSection.self, from: t["text"] as? [String: Any], path: path, prefix: "text")
        c.model = try ConfigFile.decode(DiTSection.self, from: t["model"] as? [String: Any], path: path, prefix: "model")
        c.train = try ConfigFile.decode(TrainSection.self, from: t["train"] as? [String: Any], path: path, prefix: "train")
        c.flow = try ConfigFile.decode(FlowSection.self, from: t["flow"] as? [String: Any], path: path, prefix: "flow")
        c.sample = try ConfigFile.decode(SampleSection.self, from: t["sample"] as? [String: Any], path: path, prefix: "sample")
        try ConfigFile.require(c.text.initLayers.isEmpty || !c.model.initFrom.isEmpty, path, "text.init_layers",
                               "needs model.init_from (the teacher whose text encoder layers it names)")
        return c
    }

    public func toml() throws -> String {
        try ConfigFile.toml([("data", data), ("text", text), ("model", model), ("train", train), ("flow", flow), ("sample", sample)],
                            top: ["kind": "teacher", "vae": vae])
    }
}

/// GPD (guided online targets) or PD (classic progressive distillation).
public enum DistillMethod: String, ConfigChoice { case gpd, pd }
/// Where training states come from: the student's own rollouts (online), the guided teacher's
/// rollouts, or forward-noised data clips.
public enum StateInputs: String, ConfigChoice { case student, teacher, data }
/// GPD's online target (previous student, then the guided teacher) or the guided teacher's own
/// trajectory as a precomputed dataset would give it (an ablation).
public enum DistillTargets: String, ConfigChoice { case online, offline }
/// The products' arithmetic as a config value ("f32" or "bf16": `distill.inference_arithmetic`).
extension GEMM.Arithmetic: ConfigChoice {}

public struct DistillSection: ConfigSection, Equatable {
    public var method = DistillMethod.gpd
    /// Teacher grid: steps N_T and shift (the student of horizon k samples every k-th point).
    public var teacherSteps = 48
    public var shift = 3.0
    /// Stage horizons (each divides teacher_steps): 2, 3, 4, 6, 8 → 24, 16, 12, 8, 6 steps.
    public var stages = [2, 3, 4, 6, 8]
    public var stepsPerStage = 300
    /// Teacher guidance, linearly annealed from the first stage to the last.
    public var guidanceStart = 6.0
    public var guidanceEnd = 1.5
    public var inputs = StateInputs.student
    /// Autoguidance of the guided teacher, in every stage: its velocity also gains this weight ×
    /// (v_c − v_weak), the weaker model being the one the teacher folder's `sampling.autoguide` names
    /// (its folder or left-out blocks; this weight replaces that one). 0: classifier-free guidance only.
    public var autoguideWeight = 0.0
    /// Offline: the guided teacher's own 48-step trajectory supplies both states and targets (needs
    /// inputs = "teacher").
    public var targets = DistillTargets.online
    /// Start the student from this model (REF: a stage export such as RUN/stages/k6, or a student
    /// folder) instead of the teacher; its horizon is read from its sampling grid and the first stage's
    /// target starts with its jump. Empty: the teacher (horizon 1).
    public var initStudent = ""
    /// The products' arithmetic of every forward pass that takes no gradient: the rollouts that give
    /// the training states and the targets' jumps (the guided teacher, the previous-stage student).
    /// "bf16" runs them as BF16 products where `GEMM.bf16Available` (AMX, or AVX512-BF16 on AMD; F32 elsewhere); the student's
    /// training step, the prompts' encoding and the stage evaluations stay F32 (docs/benchmarks.md,
    /// "BF16 in distillation").
    public var inferenceArithmetic = GEMM.Arithmetic.f32
    /// Weight of the frequency-domain loss (0: off; a mean on the velocity MSE's scale) and how many
    /// final stages use it; the Butterworth order and cut-offs in normalised frequency (Nyquist = 1).
    public var frequencyWeight = 1.0
    public var frequencyStages = 1
    public var butterworthOrder = 4
    public var spatialCutoff = 0.25
    public var temporalCutoff = 0.25
    /// Prompts per step (each yields one state per student grid point).
    public var prompts = 4
    /// Evaluation prompts (from samples/prompts/eval.txt, seed 0) at the end of each stage.
    public var evalPrompts = 8

    enum CodingKeys: String, CodingKey, CaseIterable {
        case method, teacherSteps = "teacher_steps", shift, stages, stepsPerStage = "steps_per_stage"
        case guidanceStart = "guidance_start", guidanceEnd = "guidance_end", autoguideWeight = "autoguide_weight", inputs, targets, initStudent = "init_student"
        case inferenceArithmetic = "inference_arithmetic", frequencyWeight = "frequency_weight"
        case frequencyStages = "frequency_stages", butterworthOrder = "butterworth_order", spatialCutoff = "spatial_cutoff"
        case temporalCutoff = "temporal_cutoff", prompts, evalPrompts = "eval_prompts"
    }
    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public static let choices = ["method": DistillMethod.names, "inputs": StateInputs.names, "targets": DistillTargets.names,
                                 "inference_arithmetic": GEMM.Arithmetic.names]
    public init() {}

    public func validate(path: String, prefix: String) throws {
        func req(_ ok: Bool, _ k: String, _ m: String) throws { try ConfigFile.require(ok, path, "\(prefix).\(k)", m) }
        try req(teacherSteps >= 2, "teacher_steps", "must be at least 2")
        try req(shift > 0, "shift", "must be positive")
        do { _ = try StagePlan(stages, teacherSteps: teacherSteps) } catch { throw ConfigError(path, "\(prefix).stages", "\(error)") }
        if method == .pd {
            var prev = 1
            for k in stages { try req(k == 2 * prev, "stages", "pd halves the step count each stage: horizons 2, 4, 8, … (got \(stages))"); prev = k }
        }
        try req(stepsPerStage >= 1, "steps_per_stage", "must be at least 1")
        try req(guidanceStart >= 0 && guidanceEnd >= 0, "guidance_start", "guidance must be ≥ 0")
        try req(autoguideWeight.isFinite && (0...100).contains(autoguideWeight), "autoguide_weight", "must be a number from 0 to 100")
        if targets == .offline {
            try req(method == .gpd, "targets", "offline targets are a GPD ablation (method = \"gpd\")")
            try req(inputs == .teacher, "targets", "offline targets come from the teacher's trajectory: set inputs = \"teacher\"")
        }
        try req(frequencyWeight >= 0, "frequency_weight", "must be ≥ 0")
        try req(frequencyStages >= 0, "frequency_stages", "must be ≥ 0")
        try req(butterworthOrder >= 1, "butterworth_order", "must be ≥ 1")
        try req(spatialCutoff > 0 && temporalCutoff > 0, "spatial_cutoff", "cut-offs must be positive")
        try req(prompts >= 1, "prompts", "must be ≥ 1")
        try req((1...72).contains(evalPrompts), "eval_prompts", "must be 1 to 72 (the suite's prompts), got \(evalPrompts)")
    }

    /// Guidance of stage j of m (linear from start to end).
    public func guidance(stage j: Int, of m: Int) -> Float {
        m <= 1 ? Float(guidanceEnd) : Float(guidanceStart + (guidanceEnd - guidanceStart) * Double(j) / Double(m - 1))
    }
}

public struct DistillConfig: Equatable {
    /// The teacher model: demo:NAME, a run name or a model folder; by default the bundled 80-token teacher.
    public var teacher = "demo:teacher-struct"
    public var data = DataSection()
    public var distill = DistillSection()
    public var train = TrainSection()

    public init() {}

    public static func load(_ path: String, overrides: [String] = []) throws -> DistillConfig {
        let t = try ConfigFile.read(path, overrides: overrides)
        try ConfigFile.checkTopLevel(t, allowed: ["kind", "teacher", "data", "distill", "train"], path: path)
        if let kind = t["kind"] as? String, kind != "distill" { throw ConfigError(path, "kind", "this is a '\(kind)' config; `gpd distill` needs kind = \"distill\"") }
        try ConfigFile.requireSections(["distill"], optional: ["data", "train"], in: t, path: path)
        var c = DistillConfig()
        if let v = t["teacher"] { guard let s = v as? String else { throw ConfigError(path, "teacher", "must be a model REF string") }; c.teacher = s }
        c.data = try ConfigFile.decode(DataSection.self, from: t["data"] as? [String: Any], path: path, prefix: "data")
        c.distill = try ConfigFile.decode(DistillSection.self, from: t["distill"] as? [String: Any], path: path, prefix: "distill")
        c.train = try ConfigFile.decode(TrainSection.self, from: t["train"] as? [String: Any], path: path, prefix: "train")
        return c
    }

    public func toml() throws -> String {
        try ConfigFile.toml([("data", data), ("distill", distill), ("train", train)], top: ["kind": "distill", "teacher": teacher])
    }
}
