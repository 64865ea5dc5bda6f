// A text-to-video model as the project ships it: tokenizer + text encoder + Wan transformer + VAE,
// with its default sampling settings. On disk a model is a folder: `model.json` (configs and
// defaults), `model.safetensors` (text_encoder.* and transformer.* tensors) and `vae/` (a diffusers
// VAE folder). REF strings: `demo:teacher`, `demo:gpd6`, `demo:pd6`, a run name, or a folder.
import Data
import Diffusion
import Foundation
import Models
import NN
import Runs
import Tensors

public struct VideoModelConfig: Codable, Equatable {
    public var textEncoder: TextEncoderConfig
    public var transformer: WanTransformerConfig
    /// The world the model was trained on (frames, size).
    public var frames: Int
    public var size: Int
    /// Default sampling of this model (a student's own step count and schedule).
    public var sampling: SamplingSettings
    /// What the model is ("teacher", "gpd", "pd").
    public var kind: String

    enum CodingKeys: String, CodingKey {
        case textEncoder = "text_encoder", transformer, frames, size, sampling, kind
    }
}

public final class VideoModel {
    public let config: VideoModelConfig
    public let tokenizer: Tokenizer
    public let textEncoder: TextEncoder
    public let transformer: WanTransformer
    public let vae: WanVAE

    public init(config: VideoModelConfig, textEncoder: TextEncoder, transformer: WanTransformer, vae: WanVAE) {
        self.config = config
        tokenizer = Tokenizer()
        self.textEncoder = textEncoder
        self.transformer = transformer
        self.vae = vae
    }

    /// Text embeddings for prompts, plus each prompt's tokenization (unknown words, truncation).
    public func embed(_ prompts: [String]) throws -> (Tensor, [Tokenized]) {
        let toks = prompts.map { tokenizer.encode($0, length: config.textEncoder.textLength) }
        return (try textEncoder(toks.map { Array($0.ids.prefix($0.count)) }), toks)
    }

    /// Latent shape for one clip: [1, z, F', H', W'].
    public var latentShape: [Int] {
        let c = vae.config
        return [1, c.zDim, (config.frames - 1) / c.temporalCompression + 1, config.size / c.spatialCompression, config.size / c.spatialCompression]
    }

    /// The initial noise of (seed): the same on every machine and thread count.
    public func noise(seed: UInt64, batch: Int = 1) -> Tensor {
        var rng = RNG(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x5EED)
        var shape = latentShape
        shape[0] = batch
        return rng.normal(shape: shape)
    }

    public func parameters() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in textEncoder.stateDict() { out["text_encoder." + k] = v }
        for (k, v) in transformer.stateDict() { out["transformer." + k] = v }
        return out
    }

    public func save(to dir: String, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try e.encode(config), to: dir + "/model.json")
        try Safetensors.write(parameters(), metadata: metadata, to: dir + "/model.safetensors")
        var vaeConfig = vae.config
        vaeConfig.decoderBaseDim = nil
        try WanVAEExport.write(vae, config: vaeConfig, to: dir + "/vae")
    }

    public static func load(folder dir: String) throws -> VideoModel {
        guard let data = FileManager.default.contents(atPath: dir + "/model.json") else {
            throw TensorError.file(path: dir, "not a model folder (no model.json)")
        }
        let config: VideoModelConfig
        do { config = try JSONDecoder().decode(VideoModelConfig.self, from: data) } catch {
            throw TensorError.file(path: dir + "/model.json", "not a valid model description: \(error)")
        }
        var rng = RNG(seed: 0)
        let text = try TextEncoder(config.textEncoder, rng: &rng)
        let transformer = try WanTransformer(config.transformer, rng: &rng)
        let file = try Safetensors.read(dir + "/model.safetensors")
        try split(file.tensors, into: text, transformer, path: dir + "/model.safetensors")
        let vae = try WanVAE.load(folder: dir + "/vae")
        return VideoModel(config: config, textEncoder: text, transformer: transformer, vae: vae)
    }

    static func split(_ tensors: [String: Tensor], into text: TextEncoder, _ transformer: WanTransformer, path: String) throws {
        var t: [String: Tensor] = [:], d: [String: Tensor] = [:]
        for (k, v) in tensors {
            if k.hasPrefix("text_encoder.") { t[String(k.dropFirst(13))] = v }
            else if k.hasPrefix("transformer.") { d[String(k.dropFirst(12))] = v }
            else { throw TensorError.unexpectedTensors(names: [k], path: path) }
        }
        try text.load(t, path: path)
        try transformer.load(d, path: path)
    }

    /// Text → frames with this model (guidance > 1 uses the empty prompt as the unconditional input).
    public func sample(prompts: [String], seeds: [UInt64], settings: SamplingSettings? = nil,
                       onStep: ((Int, Int) -> Void)? = nil) throws -> (SampleResult, [Tokenized]) {
        precondition(prompts.count == seeds.count, "sample: one seed per prompt")
        let s = settings ?? config.sampling
        return try GradMode.withDisabled {
            let (ctx, toks) = try embed(prompts)
            let negative = s.guidance > 1 ? try embed([String](repeating: "", count: prompts.count)).0 : nil
            let noise = Tensor.concat(seeds.map { self.noise(seed: $0) }, axis: 0)
            let r = try WanPipeline(transformer: transformer, vae: vae).sample(latents: noise, context: ctx, negative: negative, settings: s, onStep: onStep)
            return (r, toks)
        }
    }
}

public enum ModelRef {
    /// The repository's demo folder (samples/demo), found from the working directory or the binary's location.
    public static func demoRoot() -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/samples/demo"]
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 { candidates.append(url.path + "/samples/demo"); url = url.deletingLastPathComponent() }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Resolves REF to a model folder: demo:NAME, a run (its export), or a folder path.
    public static func resolve(_ ref: String, runsRoot: String) throws -> String {
        if ref.hasPrefix("demo:") {
            let name = String(ref.dropFirst(5))
            guard let root = demoRoot() else { throw TensorError.file(path: "samples/demo", "the demo models are not found (run from the repository)") }
            let dir = root + "/" + name
            guard FileManager.default.fileExists(atPath: dir + "/model.json") else {
                let known = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { FileManager.default.fileExists(atPath: root + "/" + $0 + "/model.json") }
                throw TensorError.file(path: dir, "no demo model '\(name)' (available: \(known.isEmpty ? "none yet" : known.sorted().map { "demo:" + $0 }.joined(separator: ", ")))")
            }
            return dir
        }
        if FileManager.default.fileExists(atPath: ref + "/model.json") { return ref }
        let run = runsRoot + "/" + ref + "/export"
        if FileManager.default.fileExists(atPath: run + "/model.json") { return run }
        throw TensorError.file(path: ref, "not a model: expected demo:NAME, a run with an export in \(runsRoot), or a folder with model.json")
    }
}
