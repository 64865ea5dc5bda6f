// Text-to-video sampling as diffusers' WanPipeline computes it when given prompt embeddings and
// initial latents (docs/wan21.md §3): the denoising loop with classifier-free guidance (the
// unconditional pass is skipped when g ≤ 1, and at the steps outside a guidance interval when one is
// set — an extension diffusers does not have; so is autoguidance, guidance away from a weaker model:
// Autoguide below), latent de-normalisation, VAE decode, frames in [0, 1].
import Foundation
import Models
import Tensors

public struct SamplingSettings: Equatable, Codable {
    public var solver: Solver = .unipc
    public var steps: Int = 50
    public var shift: Double = 5
    public var guidance: Float = 5
    /// A custom schedule replaces (solver's table, steps, shift) when set.
    public var sigmas: [Float]? = nil
    /// The noise levels at which guidance applies, when set: a step that starts at σ within these bounds
    /// runs the guided pair, any other step the conditional pass alone (one evaluation). nil: every step.
    public var guidanceInterval: ClosedRange<Float>? = nil
    /// Guidance away from a weaker model as well, when set (one more evaluation per step).
    public var autoguide: AutoguideSettings? = nil
    /// N > 1: the guidance terms — what classifier-free guidance and autoguidance add to the
    /// conditional prediction — are computed at one guided step in N; the N − 1 steps after it take the
    /// conditional pass alone and add the terms last computed (while the same terms apply). 1: every step.
    public var guidanceEvery: Int = 1

    enum CodingKeys: String, CodingKey {
        case solver, steps, shift, guidance, sigmas, guidanceInterval = "guidance_interval", autoguide, guidanceEvery = "guidance_every"
    }

    public init(solver: Solver = .unipc, steps: Int = 50, shift: Double = 5, guidance: Float = 5, sigmas: [Float]? = nil,
                guidanceInterval: ClosedRange<Float>? = nil, autoguide: AutoguideSettings? = nil, guidanceEvery: Int = 1) {
        self.solver = solver; self.steps = steps; self.shift = shift; self.guidance = guidance; self.sigmas = sigmas
        self.guidanceInterval = guidanceInterval; self.autoguide = autoguide; self.guidanceEvery = guidanceEvery
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        (solver, steps, shift, guidance) = (try c.decode(Solver.self, forKey: .solver), try c.decode(Int.self, forKey: .steps),
                                            try c.decode(Double.self, forKey: .shift), try c.decode(Float.self, forKey: .guidance))
        sigmas = try c.decodeIfPresent([Float].self, forKey: .sigmas)
        guidanceInterval = try c.decodeIfPresent(ClosedRange<Float>.self, forKey: .guidanceInterval)
        if let i = guidanceInterval, !(i.lowerBound >= 0 && i.upperBound <= 1) {
            throw DecodingError.dataCorruptedError(forKey: .guidanceInterval, in: c,
                                                   debugDescription: "must be two noise levels [low, high] within [0, 1], got [\(i.lowerBound), \(i.upperBound)]")
        }
        autoguide = try c.decodeIfPresent(AutoguideSettings.self, forKey: .autoguide)
        guidanceEvery = try c.decodeIfPresent(Int.self, forKey: .guidanceEvery) ?? 1
        if !(1...100).contains(guidanceEvery) {
            throw DecodingError.dataCorruptedError(forKey: .guidanceEvery, in: c, debugDescription: "must be a whole number of steps from 1 to 100, got \(guidanceEvery)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(solver, forKey: .solver); try c.encode(steps, forKey: .steps); try c.encode(shift, forKey: .shift)
        try c.encode(guidance, forKey: .guidance)
        try c.encodeIfPresent(sigmas, forKey: .sigmas); try c.encodeIfPresent(guidanceInterval, forKey: .guidanceInterval)
        try c.encodeIfPresent(autoguide, forKey: .autoguide)
        if guidanceEvery != 1 { try c.encode(guidanceEvery, forKey: .guidanceEvery) }   // model.json files without it stay as they were
    }

    /// Whether a step starting at noise level σ runs with guidance.
    public func guides(atSigma sigma: Float) -> Bool {
        guidance > 1 && (guidanceInterval?.contains(sigma) ?? true)
    }

    /// Whether a step starting at noise level σ runs the autoguidance's weaker model (when there is
    /// one): at every step, or within `autoguide.interval` when it is set.
    public func autoguides(atSigma sigma: Float) -> Bool {
        autoguide?.interval?.contains(sigma) ?? true
    }

    public func schedule() throws -> FlowSchedule {
        if let sigmas { return try .custom(sigmas) }
        return try .preset(solver, steps: steps, shift: shift)
    }
}

public struct SampleResult {
    /// Final latents in model space (before de-normalisation): [B, z, F', H', W'].
    public var latents: Tensor
    /// Decoded frames [B, F, H, W, 3] in [0, 1], or nil when decoding was not asked for.
    public var frames: Tensor?
    public var nfe: Int
    public var denoiseSeconds: Double
    public var decodeSeconds: Double
    public var stepSeconds: [Double]

    /// The decoded frames [B, F, H, W, 3]; an error (not a crash) when the sampling was asked not to decode.
    public func decoded() throws -> Tensor {
        guard let frames else { throw ModelError.input("the sample was not decoded (decode: false); no frames") }
        return frames
    }

    /// Clip i of the decoded frames: [F, H, W, 3].
    public func clip(_ i: Int) throws -> Tensor {
        let f = try decoded()
        return f.slice(axis: 0, i, i + 1).reshape(Array(f.shape.dropFirst()))
    }
}

public struct WanPipeline {
    public let transformer: WanTransformer
    public let vae: WanVAE?

    public init(transformer: WanTransformer, vae: WanVAE?) {
        self.transformer = transformer
        self.vae = vae
    }

    /// Steps that start at this noise level or above run in F32 even when the caller asked for BF16
    /// products (`GEMM.withArithmetic(.bf16)`). The first steps decide where and what the objects are,
    /// and a sampler amplifies whatever they round: with every step in BF16, 3 of the suite's 72
    /// teacher-2x clips came out below 45 dB PSNR from their F32 clips (34.2 at worst: an edge moved
    /// by a pixel) and one teacher-struct clip at 15.5 dB (an object fewer); with the steps from σ 0.9
    /// up in F32 — 13 of 48 UniPC steps at shift 3, 2 of GPD-6's 6 — and the prompt encoded in F32
    /// (VideoModel.sample), the worst clip is 54.0 dB for teacher-2x and 45.4 for teacher-struct (55.9
    /// and 53.6 with the later exponential); the first 6 steps alone left one at 41.6
    /// (docs/benchmarks.md, "BF16 products on AMX").
    public static let exactFrom: Float = 0.9

    /// Denoises `latents` (the initial noise, or with `fromStep` k > 0 a state at the schedule's σ_k)
    /// and optionally decodes. context/negative: [B, L, text_dim] zero-padded; negative may be nil only
    /// when guidance ≤ 1. `onStep(i, n)` reports progress after each step; an error it throws ends the
    /// sampling (how a stop request cancels a long evaluation).
    public func sample(latents: Tensor, context: Tensor, negative: Tensor?, settings: SamplingSettings, fromStep: Int = 0, decode: Bool = true,
                       autoguide: Autoguide? = nil, onStep: ((Int, Int) throws -> Void)? = nil) throws -> SampleResult {
        let full = try settings.schedule()
        guard (0..<full.steps).contains(fromStep) else { throw ModelError.input("cannot start at step \(fromStep) of \(full.steps)") }
        let schedule = fromStep == 0 ? full : full.suffix(from: fromStep)
        let useCFG = settings.guidance > 1
        if useCFG && negative == nil { throw ModelError.input("guidance \(settings.guidance) > 1 needs negative prompt embeddings") }
        if let negative, negative.shape != context.shape {
            throw ModelError.input("negative prompt embeddings \(negative.shape) must match the prompt embeddings \(context.shape)")
        }
        let batch = latents.shape[0]
        var sampler = FlowSampler(x: latents, schedule: schedule, solver: settings.solver)
        var nfe = 0
        var stepSeconds: [Double] = []
        let t0 = Date()
        let arithmetic = GEMM.arithmetic
        // guidance_every > 1: the terms last computed (v − v_c), which of the two they hold, and the
        // guided steps that have used them.
        var held: (terms: Tensor, cfg: Bool, autoguide: Bool, uses: Int)? = nil
        try GradMode.withDisabled {
            while !sampler.isDone {
                let ts = Date()
                let t = [Float](repeating: sampler.timestep, count: batch)
                let cfg = settings.guides(atSigma: sampler.sigma)
                let ag = settings.autoguides(atSigma: sampler.sigma) && autoguide.map { $0.weight != 0 } ?? false
                let reusing = settings.guidanceEvery > 1 && (cfg || ag)
                if !reusing { held = nil }   // a step without guidance ends the terms' run
                let (v, evaluations) = try GEMM.withArithmetic(sampler.sigma >= Self.exactFrom ? .f32 : arithmetic) { () throws -> (Tensor, Int) in
                    if reusing, let h = held, h.cfg == cfg, h.autoguide == ag, h.uses < settings.guidanceEvery {
                        held!.uses += 1
                        return (try transformer(sampler.x, timesteps: t, context: context) + h.terms, 1)
                    }
                    let r = try stepVelocity(transformer, sampler.x, timesteps: t, context: context, unconditional: cfg ? negative : nil,
                                             scale: settings.guidance, autoguide: ag ? autoguide : nil)
                    if reusing { held = (r.velocity - r.conditional, cfg, ag, 1) }
                    return (r.velocity, r.evaluations)
                }
                nfe += evaluations
                sampler.advance(velocity: v)
                stepSeconds.append(Date().timeIntervalSince(ts))
                try onStep?(sampler.step, schedule.steps)
            }
        }
        let denoise = Date().timeIntervalSince(t0)
        var frames: Tensor? = nil
        var decodeSeconds = 0.0
        if decode {
            guard let vae else { throw ModelError.input("decoding needs a VAE") }
            let t1 = Date()
            frames = try GradMode.withDisabled { try Self.frames(fromPixels: vae.decode(vae.denormalize(sampler.x))) }
            decodeSeconds = Date().timeIntervalSince(t1)
        }
        return SampleResult(latents: sampler.x, frames: frames, nfe: nfe, denoiseSeconds: denoise, decodeSeconds: decodeSeconds, stepSeconds: stepSeconds)
    }

    /// Pixels [B, 3, F, H, W] in [−1, 1] → frames [B, F, H, W, 3] in [0, 1] (diffusers' postprocess).
    public static func frames(fromPixels x: Tensor) -> Tensor {
        (x * 0.5 + 0.5).clamp(0, 1).permute(0, 2, 3, 4, 1)
    }
}

/// Autoguidance as a sampling setting (a model folder's `sampling.autoguide`): the weaker model's
/// folder, relative to the model folder (absent: the model itself), the blocks of it left out, the
/// weight a, and optionally the noise levels at which it applies (like `guidance_interval` for the
/// classifier-free term: a step starting at σ outside them skips the weaker model's pass; the
/// distillation's guided teacher takes the weaker model at every step, with `distill.autoguide_weight`).
public struct AutoguideSettings: Equatable, Codable {
    public var model: String?
    public var skipBlocks: [Int]
    public var weight: Float
    public var interval: ClosedRange<Float>?

    enum CodingKeys: String, CodingKey { case model, skipBlocks = "skip_blocks", weight, interval }

    public init(model: String? = nil, skipBlocks: [Int] = [], weight: Float, interval: ClosedRange<Float>? = nil) throws {
        (self.model, self.skipBlocks, self.weight, self.interval) = (model, skipBlocks, weight, interval)
        if let problem { throw ModelError.input("autoguide: \(problem)") }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        skipBlocks = try c.decodeIfPresent([Int].self, forKey: .skipBlocks) ?? []
        weight = try c.decode(Float.self, forKey: .weight)
        interval = try c.decodeIfPresent(ClosedRange<Float>.self, forKey: .interval)
        if let problem { throw DecodingError.dataCorruptedError(forKey: interval == nil ? .weight : .interval, in: c, debugDescription: problem) }
    }

    /// What makes these settings unusable, or nil.
    var problem: String? {
        if !(weight.isFinite && weight >= 0 && weight <= 100) { return "weight must be a number from 0 to 100, got \(weight)" }
        if let i = skipBlocks.first(where: { $0 < 0 }) { return "skip_blocks holds \(i); block indices start at 0" }
        if Set(skipBlocks).count != skipBlocks.count { return "skip_blocks lists a block twice: \(skipBlocks)" }
        if model == nil && skipBlocks.isEmpty { return "guiding away from the model itself needs skip_blocks (the blocks its weaker version leaves out)" }
        if let m = model, m.isEmpty { return "model is empty (leave it out to guide away from the model itself)" }
        if let i = interval, !(i.lowerBound >= 0 && i.upperBound <= 1) {
            return "interval must be two noise levels [low, high] within [0, 1], got [\(i.lowerBound), \(i.upperBound)]"
        }
        return nil
    }

    /// The form `gpd eval` prints and records: "self skip 3, weight 1", "../teacher-2x-11k, weight 1 at σ 0.3–1".
    public var summary: String { weaker(model ?? "self") + ", weight " + String(format: "%g", weight) + during }

    /// The studio's short form, the weaker model by its folder's name: "teacher-2x-11k ×1", "self skip 3 ×1 at σ 0.3–1".
    public var shortSummary: String {
        weaker(model.map { ($0 as NSString).lastPathComponent } ?? "self") + String(format: " ×%g", weight) + during
    }

    private var during: String { interval.map { String(format: " at σ %g–%g", $0.lowerBound, $0.upperBound) } ?? "" }

    private func weaker(_ name: String) -> String {
        name + (skipBlocks.isEmpty ? "" : " skip " + skipBlocks.map(String.init).joined(separator: ","))
    }
}

/// Guidance away from a weaker model of the same latents (autoguidance): the velocity gains
/// a·(v_c − v_w), v_c the model's conditional prediction and v_w the weaker model's, with its own
/// prompt embeddings. One more evaluation per step.
public struct Autoguide {
    public var transformer: WanTransformer
    public var context: Tensor
    public var weight: Float
    /// Blocks of `transformer` left out (a model guided away from a weaker version of itself).
    public var skipBlocks: Set<Int>
    public init(transformer: WanTransformer, context: Tensor, weight: Float, skipBlocks: Set<Int> = []) {
        self.transformer = transformer; self.context = context; self.weight = weight; self.skipBlocks = skipBlocks
    }
}

/// One step's velocity, the conditional prediction in it and the network evaluations it took: v_c, with
/// classifier-free guidance when `unconditional` is given and g > 1 (guidedPair), plus autoguidance's
/// a·(v_c − v_w) when given with a weight ≠ 0. The sampler and distillation's guided teacher both step
/// with it.
public func stepVelocity(_ model: WanTransformer, _ x: Tensor, timesteps t: [Float], context: Tensor, unconditional: Tensor?,
                         scale g: Float, autoguide: Autoguide?) throws -> (velocity: Tensor, conditional: Tensor, evaluations: Int) {
    let vc: Tensor, v: Tensor
    var evaluations = 1
    if g > 1, let unconditional {
        (vc, v) = try guidedPair(model, x, timesteps: t, context: context, unconditional: unconditional, scale: g)
        evaluations = 2
    } else {
        vc = try model(x, timesteps: t, context: context)
        v = vc
    }
    guard let autoguide, autoguide.weight != 0 else { return (v, vc, evaluations) }
    let vw = try autoguide.transformer(x, timesteps: t, context: autoguide.context, skipping: autoguide.skipBlocks)
    return (v + (vc - vw) * autoguide.weight, vc, evaluations + 1)
}

/// Classifier-free guidance from one model: v_u + g·(v_c − v_u), the conditional and unconditional
/// passes run as one batch of 2B (every weight is packed once for both; each row's arithmetic is
/// the same as in two calls).
public func guidedVelocity(_ model: WanTransformer, _ x: Tensor, timesteps t: [Float], context: Tensor, unconditional: Tensor,
                           scale g: Float) throws -> Tensor {
    try guidedPair(model, x, timesteps: t, context: context, unconditional: unconditional, scale: g).guided
}

/// The same, returning the conditional prediction beside the guided velocity (autoguidance needs both).
public func guidedPair(_ model: WanTransformer, _ x: Tensor, timesteps t: [Float], context: Tensor, unconditional: Tensor,
                       scale g: Float) throws -> (conditional: Tensor, guided: Tensor) {
    let b = x.shape[0]
    let both = try model(Tensor.concat([x, x], axis: 0), timesteps: t + t, context: Tensor.concat([context, unconditional], axis: 0))
    let vc = both.slice(axis: 0, 0, b)
    return (vc, guided(conditional: vc, unconditional: both.slice(axis: 0, b, 2 * b), scale: g))
}
