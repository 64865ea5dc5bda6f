// A text-to-video model as the project ships it: tokenizer + text encoder + Wan transformer + VAE,
// with its default sampling settings. On disk a model is a folder: `model.json` (configs and
// defaults), `model.safetensors` (text_encoder.* and transformer.* tensors, F32 or F16) and `vae/` (a
// diffusers VAE folder). A shared folder (`gpd model export --share-with`) omits what another folder
// already holds: model.json's `base` names a model folder whose tensors fill in the missing ones
// (students share their teacher's text encoder), `vae_folder` names the VAE folder; both relative to
// the model folder. REF strings: `demo:teacher-2x-gap4`, `demo:gpd6-struct`, … (a folder of
// samples/demo), a run name, or a folder.
import Data
import Diffusion
import Foundation
import Models
import NN
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
    public var isTeacher: Bool { kind == "teacher" }
    /// A model folder, relative to this one, whose tensors fill in those this folder omits.
    public var base: String? = nil
    /// A digest of the tensors taken from `base` at export: a base that changed since is refused.
    public var baseDigest: String? = nil
    /// The VAE folder, relative to this one ("vae" when absent).
    public var vaeFolder: String? = nil
    /// The tokenizer's words in id order (ids 3…): a model is refused by a build whose grammar gives
    /// different ids (a new synonym would shift them). Absent in models made before it was recorded,
    /// which are checked by the vocabulary's size only.
    public var vocabulary: [String]? = nil

    enum CodingKeys: String, CodingKey {
        case textEncoder = "text_encoder", transformer, frames, size, sampling, kind, base, baseDigest = "base_digest", vaeFolder = "vae_folder"
        case vocabulary
    }

    public init(textEncoder: TextEncoderConfig, transformer: WanTransformerConfig, frames: Int, size: Int, sampling: SamplingSettings, kind: String) {
        (self.textEncoder, self.transformer, self.frames, self.size, self.sampling, self.kind) = (textEncoder, transformer, frames, size, sampling, kind)
    }

    /// Refuses a model whose token ids this build's tokenizer would not reproduce.
    public func checkVocabulary(_ tokenizer: Tokenizer, path: String) throws {
        if let words = vocabulary, words != tokenizer.words {
            let i = (0..<min(words.count, tokenizer.words.count)).first { words[$0] != tokenizer.words[$0] } ?? min(words.count, tokenizer.words.count)
            let theirs = i < words.count ? "'\(words[i])'" : "nothing", ours = i < tokenizer.words.count ? "'\(tokenizer.words[i])'" : "nothing"
            throw TensorError.file(path: path, "vocabulary: the model's token \(i + 3) is \(theirs), this build's tokenizer has \(ours) "
                                   + "(\(words.count) words against \(tokenizer.words.count)); its prompts would be read wrong")
        }
        guard textEncoder.vocab == tokenizer.vocabularySize else {
            throw TensorError.file(path: path, "text_encoder.vocab is \(textEncoder.vocab), this build's tokenizer has \(tokenizer.vocabularySize) ids")
        }
    }
}

public final class VideoModel {
    public let config: VideoModelConfig
    public let tokenizer: Tokenizer
    public let textEncoder: TextEncoder
    public let transformer: WanTransformer
    public let vae: WanVAE
    /// The `__metadata__` of the weights file it was loaded from (source run, step, …).
    public internal(set) var metadata: [String: String] = [:]
    /// The folder it was loaded from (a relative `sampling.autoguide.model` is resolved against it).
    public private(set) var folder: String?
    /// Weaker models loaded for autoguidance, by absolute folder.
    private var weakerModels: [String: VideoModel] = [:]

    public init(config: VideoModelConfig, textEncoder: TextEncoder, transformer: WanTransformer, vae: WanVAE) {
        var config = config
        (config.base, config.baseDigest, config.vaeFolder) = (nil, nil, nil)
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

    /// Copies of the text encoder's and transformer's weights, by their names in the weights file.
    public func parameters() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameterList().map { ($0.0, Tensor(shape: $0.1.shape, data: $0.1.data)) })
    }

    /// The live parameters behind `parameters()` (text encoder, then transformer), by the same names.
    func parameterList() -> [(String, Tensor)] {
        textEncoder.namedParameters().map { ("text_encoder." + $0.0, $0.1) } + transformer.namedParameters().map { ("transformer." + $0.0, $0.1) }
    }

    /// Writes a complete model folder (F32 weights, its own VAE copy).
    public func save(to dir: String, metadata: [String: String] = [:]) throws {
        try export(to: dir, metadata: metadata)
    }

    /// Writes a model folder. `storage` .f16 halves the weights file; `shareWith` (a model folder)
    /// omits every tensor that folder holds with the same values, or with the values this export
    /// would store (an F16 student shares an F16 teacher's text encoder though its own copy is the F32
    /// original), and refers to it as `base`;
    /// `vaeFolder` (a VAE folder holding this model's VAE, or by default the shared model's VAE when
    /// identical) is referred to instead of copied. Returns the names of the omitted tensors.
    @discardableResult
    public func export(to dir: String, metadata: [String: String] = [:], storage: Safetensors.Storage = .f32,
                       shareWith: String? = nil, vaeFolder: String? = nil) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config = self.config
        config.vocabulary = tokenizer.words
        if let weak = config.sampling.autoguide?.model, let folder {
            config.sampling.autoguide?.model = Self.relativePath(from: dir, to: Self.join(folder, weak))   // still the same folder
        }
        var tensors = parameters()
        var omitted: [String] = []
        if let folder = vaeFolder {
            guard try Self.sameVAE(vae, folder: folder) else {
                throw TensorError.file(path: folder, "does not hold this model's VAE (its config or weights differ); cannot share it")
            }
            config.vaeFolder = Self.relativePath(from: dir, to: folder)
        }
        if let share = shareWith {
            let (baseTensors, baseConfig, _) = try Self.readTensors(folder: share)
            for (name, t) in tensors {
                guard let b = baseTensors[name], b.shape == t.shape, b.data == t.data || b.data == storage.stored(t.data) else { continue }
                tensors[name] = nil
                omitted.append(name)
            }
            config.base = Self.relativePath(from: dir, to: share)
            config.baseDigest = Self.digest(omitted.sorted(), baseTensors)
            let candidate = Self.join(share, baseConfig.vaeFolder ?? "vae")
            if config.vaeFolder == nil, try Self.sameVAE(vae, folder: candidate) { config.vaeFolder = Self.relativePath(from: dir, to: candidate) }
        }
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Safetensors.write(tensors, metadata: self.metadata.merging(metadata) { _, new in new }, storage: storage, to: dir + "/model.safetensors")
        if config.vaeFolder == nil {
            var vaeConfig = vae.config
            if vaeConfig.decoderBaseDim == vaeConfig.baseDim { vaeConfig.decoderBaseDim = nil }
            try WanVAEExport.write(vae, config: vaeConfig, to: dir + "/vae")
        }
        try AtomicFile.write(try e.encode(config), to: dir + "/model.json")
        return omitted.sorted()
    }

    public static func load(folder dir: String) throws -> VideoModel {
        let (tensors, config, metadata) = try readTensors(folder: dir)
        try config.checkVocabulary(Tokenizer(), path: dir + "/model.json")
        var rng = RNG(seed: 0)
        let (text, transformer) = try ParameterInit.forLoading {
            (try TextEncoder(config.textEncoder, rng: &rng), try WanTransformer(config.transformer, rng: &rng))
        }
        try split(tensors, into: text, transformer, path: dir + "/model.safetensors")
        let vae = try WanVAE.load(folder: join(dir, config.vaeFolder ?? "vae"))
        let model = VideoModel(config: config, textEncoder: text, transformer: transformer, vae: vae)
        model.metadata = metadata
        model.folder = normalize(dir)
        return model
    }

    /// The model that autoguidance `a` guides away from: this one (no `model`), or the folder it names,
    /// loaded once and checked to make the same latents with the same VAE.
    public func weaker(_ a: AutoguideSettings) throws -> VideoModel {
        guard let name = a.model else { return self }
        guard name.hasPrefix("/") || folder != nil else {
            throw ModelError.input("autoguide: the weaker model '\(name)' is relative, and this model was not loaded from a folder")
        }
        let path = Self.join(folder ?? "/", name)
        if let m = weakerModels[path] { return m }
        guard FileManager.default.fileExists(atPath: path + "/model.json") else {
            throw TensorError.file(path: path, "sampling.autoguide.model: not a model folder (no model.json)")
        }
        let m = try VideoModel.load(folder: path)
        guard m.latentShape == latentShape, try Self.sameVAE(vae, as: m.vae) else {
            throw TensorError.file(path: path, "sampling.autoguide.model: its latents (\(m.latentShape), its VAE) are not this model's (\(latentShape)); autoguidance needs the same VAE")
        }
        weakerModels[path] = m
        return m
    }

    /// A folder's description, all its tensors (the omitted ones filled in from its `base` chain) and
    /// its weights file's metadata.
    static func readTensors(folder dir: String, depth: Int = 0) throws -> ([String: Tensor], VideoModelConfig, [String: String]) {
        guard let data = FileManager.default.contents(atPath: dir + "/model.json") else {
            throw TensorError.file(path: dir, "not a model folder (no model.json)")
        }
        let config: VideoModelConfig
        do { config = try JSONDecoder().decode(VideoModelConfig.self, from: data) } catch {
            throw TensorError.file(path: dir + "/model.json", "not a valid model description: \(error)")
        }
        let file = try Safetensors.read(dir + "/model.safetensors")
        var tensors = file.tensors
        if let base = config.base {
            guard depth < 4 else { throw TensorError.file(path: dir + "/model.json", "base: more than 4 folders deep (a cycle?)") }
            let baseDir = join(dir, base)
            guard FileManager.default.fileExists(atPath: baseDir + "/model.json") else {
                throw TensorError.file(path: dir + "/model.json", "base: '\(base)' is not a model folder (\(baseDir))")
            }
            let baseTensors = try readTensors(folder: baseDir, depth: depth + 1).0
            let taken = baseTensors.keys.filter { tensors[$0] == nil }.sorted()
            if let want = config.baseDigest, digest(taken, baseTensors) != want {
                throw TensorError.file(path: dir + "/model.json", "base: the tensors taken from '\(base)' changed since this model was exported (digest \(digest(taken, baseTensors)), expected \(want)); re-export it")
            }
            for k in taken { tensors[k] = baseTensors[k] }
        }
        return (tensors, config, file.metadata)
    }

    /// FNV-1a (64-bit) over the names, shapes and float bits of `names` in `tensors`.
    public static func digest(_ names: [String], _ tensors: [String: Tensor]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        for name in names {
            for b in name.utf8 { mix(b) }
            guard let t = tensors[name] else { continue }
            for d in t.shape { for i in 0..<8 { mix(UInt8(truncatingIfNeeded: d >> (8 * i))) } }
            for v in t.data { let u = v.bitPattern; for i in 0..<4 { mix(UInt8(truncatingIfNeeded: u >> (8 * i))) } }
        }
        return String(format: "fnv1a64:%016llx", h)
    }

    static func sameVAE(_ vae: WanVAE, folder: String) throws -> Bool {
        guard FileManager.default.fileExists(atPath: folder + "/config.json") else { return false }
        return try sameVAE(vae, as: WanVAE.load(folder: folder))
    }

    /// Whether two VAEs have the same config and weights.
    static func sameVAE(_ vae: WanVAE, as other: WanVAE) throws -> Bool {
        if vae === other { return true }
        var a = vae.config, b = other.config
        if a.decoderBaseDim == a.baseDim { a.decoderBaseDim = nil }
        if b.decoderBaseDim == b.baseDim { b.decoderBaseDim = nil }
        guard a == b else { return false }
        let mine = vae.stateDict(), theirs = other.stateDict()
        return mine.count == theirs.count && mine.allSatisfy { theirs[$0.key]?.data == $0.value.data }
    }

    /// `relative` resolved against the folder `dir`: an absolute path with "." and ".." removed.
    static func join(_ dir: String, _ relative: String) -> String {
        normalize(relative.hasPrefix("/") ? relative : dir + "/" + relative)
    }

    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for p in absolute.split(separator: "/") where p != "." {
            if p == ".." { _ = parts.popLast() } else { parts.append(p) }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `path` as it is shown in a run's history: relative to the current directory when it lies inside
    /// it (samples/demo/teacher-2x-gap4), so an exported history does not carry the machine's checkout
    /// path; otherwise as given.
    public static func displayPath(_ path: String) -> String {
        let cwd = normalize(FileManager.default.currentDirectoryPath), p = normalize(path)
        return p.hasPrefix(cwd + "/") ? String(p.dropFirst(cwd.count + 1)) : path
    }

    /// `to` relative to the folder `from` ("../teacher").
    static func relativePath(from: String, to: String) -> String {
        let a = URL(fileURLWithPath: normalize(from)).resolvingSymlinksInPath().pathComponents
        let b = URL(fileURLWithPath: normalize(to)).resolvingSymlinksInPath().pathComponents
        var i = 0
        while i < min(a.count, b.count), a[i] == b[i] { i += 1 }
        let parts = [String](repeating: "..", count: a.count - i) + b[i...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
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

    /// The real ShapesWorld clip of a prompt and seed (what `gpd data preview` renders), at this
    /// model's frames and size, encoded by its VAE: latents in model space [1, z, F', H', W'].
    public func realLatents(prompt: String, seed: UInt64) throws -> Tensor {
        let parsed = PromptGrammar.parse(prompt)
        guard let scene = parsed.scene else { throw ModelError.input("cannot render the prompt \"\(prompt)\": \(parsed.problem ?? "?")") }
        return try realLatents(scene: scene, seed: seed)
    }

    /// The same for a scene (rendered with `seed`).
    public func realLatents(scene: Scene, seed: UInt64) throws -> Tensor {
        let real = ShapesWorld.render(scene, seed: seed, config: WorldConfig(frames: config.frames, size: config.size))
        return try GradMode.withDisabled { try vae.normalize(try vae.encode(real.pixels.reshape([1] + real.pixels.shape))) }
    }

    /// Text → frames with this model (guidance > 1 uses the empty prompt as the unconditional input):
    /// clips of `prompts`, one noise seed each. `start`, when given, holds clean latents in model
    /// space [B, z, F', H', W'] and a strength in (0, 1]: the clips start from those latents noised
    /// with each seed's noise to the level where the schedule's last ⌊N·strength⌋ steps begin, and
    /// run only those steps (image-to-video as diffusers' pipelines do it; strength 1 starts from
    /// noise alone and equals no start at all). The settings' `autoguide`, when set, guides away from a
    /// weaker model of the same latents and VAE (its own text encoder reads the prompts; this model
    /// itself when it names none): each step gains weight·(v_c − v_weak).
    public func sample(prompts: [String], seeds: [UInt64], settings: SamplingSettings? = nil,
                       start: (latents: Tensor, strength: Double)? = nil, onStep: ((Int, Int) throws -> Void)? = nil) throws -> (SampleResult, [Tokenized]) {
        precondition(prompts.count == seeds.count, "sample: one seed per prompt")
        let s = settings ?? config.sampling
        var fromStep = 0, startSigma: Float = 1
        if let start {
            var shape = latentShape
            shape[0] = prompts.count
            guard start.latents.shape == shape else {
                throw ModelError.input("the starting latents are \(start.latents.shape); \(prompts.count) clips of this model need \(shape)")
            }
            let schedule = try s.schedule()
            fromStep = try schedule.firstStep(strength: start.strength)
            startSigma = schedule.sigmas[fromStep]
        }
        return try GradMode.withDisabled {
            // The prompt conditions every step: it is encoded in F32 whatever the products' arithmetic
            // (once per clip, a few products; see WanPipeline.exactFrom).
            let (ctx, toks, negative) = try GEMM.withArithmetic(.f32) {
                let (ctx, toks) = try embed(prompts)
                return (ctx, toks, s.guidance > 1 ? try embed([String](repeating: "", count: prompts.count)).0 : nil)
            }
            let guide = try s.autoguide.map { a -> Autoguide in
                let weak = try weaker(a)
                if let i = a.skipBlocks.first(where: { !weak.transformer.blocks.indices.contains($0) }) {
                    throw ModelError.input("autoguide: the weaker model has blocks 0 to \(weak.transformer.blocks.count - 1); cannot skip block \(i)")
                }
                let context = weak === self ? ctx : try GEMM.withArithmetic(.f32) { try weak.embed(prompts).0 }
                return Autoguide(transformer: weak.transformer, context: context, weight: a.weight, skipBlocks: Set(a.skipBlocks))
            }
            var x = Tensor.concat(seeds.map { self.noise(seed: $0) }, axis: 0)
            if let start, fromStep > 0 {
                x = start.latents * (1 - startSigma) + x * startSigma
            }
            let r = try WanPipeline(transformer: transformer, vae: vae).sample(latents: x, context: ctx, negative: negative, settings: s,
                                                                               fromStep: fromStep, autoguide: guide, onStep: onStep)
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

    /// A demo model taken out of samples/demo to keep the bundle within its size budget: what it was
    /// and its recipe, the last commit that held its files, and the folders restored with it (a
    /// student's `base` is its teacher's folder, so a trio comes back whole).
    struct RetiredDemo { let what: String, commit: String, group: [String] }
    /// samples/demo/README.md, "Models no longer bundled". `git checkout COMMIT -- FOLDERS` restores
    /// their exact files.
    static let retiredDemos: [String: RetiredDemo] = {
        let firstTrio = ["teacher", "gpd6", "pd6"], students11k = ["gpd6-2x", "pd6-2x"]
        let first = "dfdecd57b2014687f927df175c21aac7bf6cdaef", then = "904815f3801873e98d4a4a8650b9a79b0a0a89b1"
        let beforeAutoguide = "d9464fb2767d681c82a4177e51419afe546d1855", guidanceOnly = "8bc8aaa4224782d5a7b0f17a66915bbd3b4a590e"
        let pdGuidanceOnly = "385c3dad20466daa33efbbabeb13d37bcd4f5033"
        return [
            "teacher": RetiredDemo(what: "the first 80-token teacher, recipe samples/configs/teacher-demo.toml", commit: first, group: firstTrio),
            "gpd6": RetiredDemo(what: "the first teacher's GPD-6, recipe samples/configs/gpd-demo.toml with teacher = \"demo:teacher\"", commit: first, group: firstTrio),
            "pd6": RetiredDemo(what: "the first teacher's PD-6, recipe samples/configs/pd-demo.toml with teacher = \"demo:teacher\"", commit: first, group: firstTrio),
            "teacher-2x": RetiredDemo(what: "the 576-token teacher at 6000 steps, recipe samples/configs/teacher-2x-warm.toml; demo:teacher-2x-11k is it trained 5000 steps more", commit: first, group: ["teacher-2x"]),
            "gpd6-2x": RetiredDemo(what: "teacher-2x-11k's GPD-6, recipe samples/configs/gpd-2x.toml with teacher = \"demo:teacher-2x-11k\"", commit: then, group: students11k),
            "pd6-2x": RetiredDemo(what: "teacher-2x-11k's PD-6, recipe samples/configs/pd-2x.toml with teacher = \"demo:teacher-2x-11k\"", commit: then, group: students11k),
            "pd6-struct": RetiredDemo(what: "teacher-struct's PD-6, recipe samples/configs/pd-demo.toml", commit: beforeAutoguide, group: ["pd6-struct"]),
            "gpd6-gap4": RetiredDemo(what: "teacher-2x-gap4's GPD-6 distilled from guidance alone, recipe samples/configs/gpd-2x.toml; demo:gpd6-gap4-ag is the same recipe from its autoguided sampling", commit: guidanceOnly, group: ["gpd6-gap4"]),
            "pd6-gap4": RetiredDemo(what: "teacher-2x-gap4's PD-6 distilled from guidance alone, recipe samples/configs/pd-2x.toml; demo:pd6-gap4-ag is the same recipe from its autoguided sampling", commit: pdGuidanceOnly, group: ["pd6-gap4"]),
        ]
    }()

    /// Resolves REF to a model folder: demo:NAME, a run (its export), or a folder path.
    public static func resolve(_ ref: String, runsRoot: String) throws -> String {
        if ref.hasPrefix("demo:") {
            let name = String(ref.dropFirst(5))
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw TensorError.file(path: ref, "a demo model name uses letters, digits, '-' and '_' only (demo:teacher-2x-gap4, demo:gpd6-gap4-ag, …)")
            }
            guard let root = demoRoot() else { throw TensorError.file(path: "samples/demo", "the demo models are not found (run from the repository)") }
            let dir = root + "/" + name
            guard FileManager.default.fileExists(atPath: dir + "/model.json") else {
                if let retired = retiredDemos[name] {
                    throw TensorError.file(path: dir, "demo:\(name) is no longer bundled (\(retired.what)); restore it with `git checkout \(retired.commit) -- \(retired.group.map { "samples/demo/" + $0 }.joined(separator: " "))`")
                }
                let known = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { FileManager.default.fileExists(atPath: root + "/" + $0 + "/model.json") }
                throw TensorError.file(path: dir, "no demo model '\(name)' (available: \(known.isEmpty ? "none yet" : known.sorted().map { "demo:" + $0 }.joined(separator: ", ")))")
            }
            return dir
        }
        if FileManager.default.fileExists(atPath: ref + "/model.json") { return ref }
        // A run name (letters, digits, '-', '_', '.'; no path) names that run's export.
        let isRunName = !ref.isEmpty && !ref.hasPrefix(".") && ref.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        let run = runsRoot + "/" + ref + "/export"
        if isRunName, FileManager.default.fileExists(atPath: run + "/model.json") { return run }
        throw TensorError.file(path: ref, "not a model: expected demo:NAME, a run with an export in \(runsRoot), or a folder with model.json")
    }

    /// `resolve`, made absolute against the working directory: for a weaker model named on the command
    /// line (`--autoguide MODEL,A`), which `VideoModel.weaker` would otherwise read relative to the
    /// model's own folder, as it reads model.json's `sampling.autoguide`.
    public static func resolveAbsolute(_ ref: String, runsRoot: String) throws -> String {
        VideoModel.normalize(try resolve(ref, runsRoot: runsRoot))
    }
}
