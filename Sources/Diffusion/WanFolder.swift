// A diffusers Wan2.1 folder used from text (docs/wan21.md §6): tokenizer/ and text_encoder/ make the
// prompt embeddings, transformer/ and vae/ sample and decode, scheduler/scheduler_config.json gives the
// solver and flow shift. Defaults are WanPipeline's: 50 steps, guidance 5, an empty negative prompt.
import Foundation
import Models
import Tensors

public final class WanFolder {
    public let path: String
    public let text: WanTextEncoder
    public let pipeline: WanPipeline
    public let vae: WanVAE
    /// The scheduler's solver and shift with WanPipeline's default steps and guidance.
    public let defaults: SamplingSettings

    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelError.file(path: path, "not a folder (a diffusers Wan2.1 folder holds tokenizer/, text_encoder/, transformer/, vae/, scheduler/)")
        }
        for sub in ["tokenizer", "text_encoder", "transformer", "vae"] where !FileManager.default.fileExists(atPath: path + "/" + sub) {
            throw ModelError.file(path: path, "has no \(sub)/ folder (a diffusers Wan2.1 folder holds tokenizer/, text_encoder/, transformer/, vae/, scheduler/)")
        }
        self.path = path
        text = try WanTextEncoder(wanFolder: path)
        let transformer = try WanTransformer.load(folder: path + "/transformer")
        vae = try WanVAE.load(folder: path + "/vae")
        guard transformer.config.textDim == text.encoder.config.dModel else {
            throw ModelError.file(path: path, "the transformer's text_dim \(transformer.config.textDim) differs from the text encoder's d_model \(text.encoder.config.dModel)")
        }
        guard transformer.config.inChannels == vae.config.zDim else {
            throw ModelError.file(path: path, "the transformer's in_channels \(transformer.config.inChannels) differ from the VAE's z_dim \(vae.config.zDim)")
        }
        pipeline = WanPipeline(transformer: transformer, vae: vae)
        defaults = try Self.schedulerDefaults(path + "/scheduler/scheduler_config.json")
    }

    /// Solver and shift from a diffusers scheduler config (UniPC's flow_shift, Euler's shift); Wan's
    /// UniPC with shift 3 when the folder has none.
    static func schedulerDefaults(_ file: String) throws -> SamplingSettings {
        var s = SamplingSettings(solver: .unipc, steps: 50, shift: 3, guidance: 5)
        guard let data = FileManager.default.contents(atPath: file) else { return s }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.config(path: file, field: "(json)", "not a JSON object")
        }
        switch json["_class_name"] as? String {
        case "UniPCMultistepScheduler":
            s.solver = .unipc
            if let v = json["flow_shift"] as? Double { s.shift = v }
        case "FlowMatchEulerDiscreteScheduler":
            s.solver = .euler
            if let v = json["shift"] as? Double { s.shift = v }
        case let other:
            throw ModelError.config(path: file, field: "_class_name", "is \(other.map { "'\($0)'" } ?? "missing"); the engine samples with UniPCMultistepScheduler or FlowMatchEulerDiscreteScheduler")
        }
        return s
    }

    /// The latent shape [1, z, F', H', W'] of a clip of `frames` × `height` × `width`, or an error naming
    /// the size that the VAE and the transformer's patch cannot take.
    public func latentShape(frames: Int, height: Int, width: Int) throws -> [Int] {
        let c = vae.config, p = pipeline.transformer.config.patchSize
        let (tc, sc) = (c.temporalCompression, c.spatialCompression)
        guard frames >= 1, (frames - 1) % tc == 0 else { throw ModelError.input("--frames \(frames) must be \(tc)·k + 1 (e.g. \(tc * 2 + 1))") }
        let latentFrames = (frames - 1) / tc + 1
        guard latentFrames % p[0] == 0 else { throw ModelError.input("--frames \(frames) gives \(latentFrames) latent frames, not a multiple of the patch's \(p[0])") }
        for (name, v, q) in [("height", height, p[1]), ("width", width, p[2])] where v <= 0 || v % (sc * q) != 0 {
            throw ModelError.input("--\(name) \(v) must be a positive multiple of \(sc * q)")
        }
        return [1, c.zDim, latentFrames, height / sc, width / sc]
    }

    /// Text → video with initial latents drawn from `seed` (the engine's generator, not torch's).
    /// `embeddings` lets a caller supply cached prompt embeddings for (prompt, negative).
    public func sample(prompt: String, negativePrompt: String = "", frames: Int, height: Int, width: Int, seed: UInt64,
                       settings: SamplingSettings, maxLength: Int = WanTextEncoder.defaultMaxLength,
                       embeddings: ((String) throws -> Tensor)? = nil, onStep: ((Int, Int) throws -> Void)? = nil) throws -> SampleResult {
        let shape = try latentShape(frames: frames, height: height, width: width)
        let embed = embeddings ?? { try self.text.embeddings([$0], maxLength: maxLength) }
        // In F32 whatever the products' arithmetic: the prompt conditions every step (WanPipeline.exactFrom).
        let (context, negative) = try GEMM.withArithmetic(.f32) {
            (try embed(prompt), settings.guidance > 1 ? try embed(negativePrompt) : nil)
        }
        var rng = RNG(seed: seed)
        return try pipeline.sample(latents: rng.normal(shape: shape), context: context, negative: negative, settings: settings, onStep: onStep)
    }
}
