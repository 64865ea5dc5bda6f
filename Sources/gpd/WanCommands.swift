// `gpd schedule`, `gpd model forward`, `gpd vae encode|decode` and the embeddings form of `gpd sample`:
// the Wan2.1 engine on diffusers-format folders and safetensors files.
import ArgumentParser
import Bench
import Diffusion
import Distill
import ModelFolders
import Eval
import Foundation
import Media
import Models
import Tensors

/// Sampling settings a command may override (each defaults to the model's own).
struct SamplingOverrides: ParsableArguments {
    @Option(help: "Denoising steps.") var steps: Int?
    @Option(help: "unipc or euler.") var solver: Solver?
    @Option(help: "Flow shift.") var shift: Double?
    @Option(help: "Classifier-free guidance scale (≤ 1: one pass per step).") var guidance: Float?
    @Option(help: "A custom sigma list, e.g. 1,0.8,0.5,0 (replaces steps and shift).") var sigmas: String?
    @Option(help: ArgumentHelp("Guidance only at the steps that start at a noise level in LOW,HIGH (e.g. 0.3,1; 0,1: every step); the others take one conditional pass.",
                               valueName: "low,high"))
    var guidanceInterval: String?
    @Option(help: "The products' arithmetic: f32, or bf16 (BF16 inputs, F32 sums, on AMX tiles, or AVX512-BF16 on AMD CPUs; F32 elsewhere).")
    var arithmetic: GEMM.Arithmetic = .f32
    @Option(help: ArgumentHelp("With --model: guide away from a weaker model of the same latents and VAE as well (autoguidance): each step's velocity gains A·(v − v_weak), one more evaluation per step. MODEL: demo:NAME, a run or a folder, or 'self' (the model without the --autoguide-skip blocks); 'none' turns off the model's own.", valueName: "MODEL,A|none"))
    var autoguide: String?
    @Option(help: ArgumentHelp("With --autoguide: the weaker model's blocks to leave out (0-based), e.g. 3 or 2,3.", valueName: "LIST"))
    var autoguideSkip: String?
    @Option(help: ArgumentHelp("Autoguidance (--autoguide's, or the model's own) only at the steps that start at a noise level in LOW,HIGH; the others skip the weaker model's pass.",
                               valueName: "low,high"))
    var autoguideInterval: String?
    @Option(help: ArgumentHelp("Compute the guidance terms (classifier-free and autoguidance) at one guided step in N; the steps between take the conditional pass alone and reuse them.",
                               valueName: "N"))
    var guidanceEvery: Int?

    /// The settings with these overrides; `resolve` turns --autoguide's MODEL into a model folder
    /// (nil where sampling takes no autoguidance: --autoguide is then refused).
    func apply(to base: SamplingSettings, resolve: ((String) throws -> String)? = nil) throws -> SamplingSettings {
        if let guidance, !(guidance.isFinite && guidance >= 0 && guidance <= 100) { throw ValidationError("--guidance must be a number from 0 to 100, got \(guidance)") }
        if let shift, !(shift.isFinite && shift > 0 && shift <= 1000) { throw ValidationError("--shift must be a number in (0, 1000], got \(shift)") }
        if let steps, !(1...1000).contains(steps) { throw ValidationError("--steps must be 1 to 1000, got \(steps)") }
        if let guidanceEvery, !(1...100).contains(guidanceEvery) { throw ValidationError("--guidance-every must be 1 to 100 steps, got \(guidanceEvery)") }
        var s = base
        if let steps { s.steps = steps; s.sigmas = nil }
        if let solver { s.solver = solver }
        if let shift { s.shift = shift; s.sigmas = nil }
        if let guidance { s.guidance = guidance }
        if let sigmas { s.sigmas = try FlowSchedule.parse(sigmas) }
        if let guidanceEvery { s.guidanceEvery = guidanceEvery }
        if let guidanceInterval { s.guidanceInterval = try Self.parseInterval(guidanceInterval, option: "--guidance-interval") }
        if autoguide != nil || autoguideSkip != nil {
            guard let resolve else { throw ValidationError("--autoguide and --autoguide-skip go with --model") }
            s.autoguide = try parseAutoguide(resolve: resolve)
        }
        if let autoguideInterval {
            let interval = try Self.parseInterval(autoguideInterval, option: "--autoguide-interval")
            guard resolve != nil, s.autoguide != nil else {
                throw ValidationError("--autoguide-interval needs autoguidance: a model whose model.json has sampling.autoguide, or --autoguide MODEL,A")
            }
            s.autoguide?.interval = interval
        }
        return s
    }

    /// --autoguide's MODEL as given ("self" for the model itself), or nil.
    var autoguideModel: String? { autoguide.flatMap { $0.lastIndex(of: ",").map { String(autoguide![..<$0]) } } }

    func parseAutoguide(resolve: (String) throws -> String) throws -> AutoguideSettings? {
        guard let autoguide else { throw ValidationError("--autoguide-skip goes with --autoguide MODEL,A") }
        if autoguide == "none" {
            guard autoguideSkip == nil else { throw ValidationError("--autoguide none goes without --autoguide-skip") }
            return nil
        }
        guard let comma = autoguide.lastIndex(of: ","), let a = Float(autoguide[autoguide.index(after: comma)...]), a.isFinite, (0...100).contains(a) else {
            throw ValidationError("--autoguide must be MODEL,A (a model and a weight from 0 to 100) or none, got '\(autoguide)'")
        }
        let skip = try autoguideSkip.map { text in
            try text.split(separator: ",", omittingEmptySubsequences: false).map { part -> Int in
                guard let i = Int(part.trimmingCharacters(in: .whitespaces)), i >= 0 else {
                    throw ValidationError("--autoguide-skip must list block indices from 0, e.g. 3 or 2,3; got '\(text)'")
                }
                return i
            }
        } ?? []
        let name = autoguideModel!
        if name == "self" && skip.isEmpty { throw ValidationError("--autoguide self needs --autoguide-skip LIST: the model without those blocks is the weaker one") }
        do {
            return try AutoguideSettings(model: name == "self" ? nil : try resolve(name), skipBlocks: skip, weight: a)
        } catch let e as ModelError {
            throw ValidationError("--autoguide \(autoguide)\(autoguideSkip.map { " --autoguide-skip " + $0 } ?? ""): \(e)")
        }
    }

    static func parseInterval(_ text: String, option: String) throws -> ClosedRange<Float> {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo >= 0, hi <= 1, lo <= hi else {
            throw ValidationError("\(option) must be two noise levels LOW,HIGH with 0 ≤ LOW ≤ HIGH ≤ 1, got '\(text)'")
        }
        return lo...hi
    }
}

extension GEMM.Arithmetic: ExpressibleByArgument {}

/// `--from-real S` (gpd sample, gpd eval): a strength in (0, 1], checked before any model is loaded.
func checkFromReal(_ s: Double?) throws {
    if let s, !(s.isFinite && s > 0 && s <= 1) { throw ValidationError("--from-real must be in (0, 1], got \(s)") }
}

/// Non-empty lines of a prompts file, or the eval suite when no file is given.
func readPrompts(_ path: String?) throws -> [String] {
    guard let path else { return try EvalSuite.prompts() }
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read") }
    return EvalSuite.read(String(decoding: data, as: UTF8.self))
}

/// The tensor `name` from a safetensors file, or its only tensor; a clear error otherwise.
func readTensor(_ path: String, _ name: String) throws -> Tensor {
    let file = try Safetensors.read(path)
    if let t = file.tensors[name] { return t }
    if file.tensors.count == 1 { return file.tensors.first!.value }
    throw ValidationError("\(path): no tensor '\(name)' (it holds \(file.tensors.keys.sorted().joined(separator: ", ")))")
}

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schedule",
        abstract: "Print a sampler's sigma and timestep tables (equal to diffusers').")

    @Option(help: "unipc or euler.") var solver: Solver = .unipc
    @Option(help: "Number of denoising steps.") var steps: Int = 50
    @Option(help: "Flow shift s (σ' = sσ/(1+(s−1)σ)).") var shift: Double = 5
    @Flag(help: "Print {\"sigmas\": […], \"timesteps\": […]}.") var json = false

    func run() throws {
        let s = try FlowSchedule.preset(solver, steps: steps, shift: shift)
        let ts: [Any] = solver == .unipc ? s.timesteps.map { Int($0) } : s.timesteps.map { Double($0) }
        if json {
            try printJSON(["sigmas": s.sigmas.map { Double($0) }, "timesteps": ts])
        } else {
            print("step  sigma       timestep")
            for i in 0..<s.steps { print(String(format: "%4d  %.7f  %@", i, s.sigmas[i], "\(ts[i])")) }
            print(String(format: "%4d  %.7f", s.steps, s.sigmas[s.steps]))
        }
    }
}

extension Solver: ExpressibleByArgument {}

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Run a diffusers-format Wan transformer; export or average project models.",
                                                    subcommands: [Forward.self, Export.self, Average.self])

    /// The --storage of a model written to --out, which must be a new or empty folder (the model's own
    /// folder included): nothing is overwritten.
    static func outputStorage(_ storage: String, out: String) throws -> Safetensors.Storage {
        guard let st = Safetensors.Storage(rawValue: storage.uppercased()) else {
            throw ValidationError("--storage: '\(storage)' is not one of f32, f16")
        }
        if let items = try? FileManager.default.contentsOfDirectory(atPath: out), !items.isEmpty {
            throw ValidationError("--out \(out) exists and is not empty; give a new folder")
        }
        return st
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a project model (text encoder + transformer + VAE) to a folder, optionally in F16 and sharing parts with another model.",
            discussion: """
            --share-with MODEL omits every tensor MODEL's folder holds with the same values, or with the \
            values --storage would store (a student's text encoder is its teacher's), and refers to MODEL \
            instead; its VAE is referred to when identical. \
            --vae-folder refers to a VAE folder instead of copying it (it must hold the same weights). \
            Paths are stored relative, so the folders move together.
            """)

        @Option(help: "A project model: demo:NAME, a run name (its export) or a model folder.") var model: String
        @Option(help: "The folder to write.") var out: String
        @Option(help: "Weights storage: f32 or f16 (half the size; relative rounding ≤ 2⁻¹¹).") var storage: String = "f32"
        @Option(help: "A model folder whose identical tensors (and VAE) are referred to, not copied.") var shareWith: String?
        @Option(help: "A VAE folder holding this model's VAE, referred to instead of copied.") var vaeFolder: String?
        @OptionGroup var runs: RunsOption

        func run() throws {
            let st = try ModelCommand.outputStorage(storage, out: out)
            let source = try ModelRef.resolve(model, runsRoot: runs.root)
            let m = try VideoModel.load(folder: source)
            let share = try shareWith.map { try ModelRef.resolve($0, runsRoot: runs.root) }
            let omitted = try m.export(to: out, storage: st, shareWith: share, vaeFolder: vaeFolder)
            let size = ((try? FileManager.default.attributesOfItem(atPath: out + "/model.safetensors")[.size]) as? Int) ?? 0
            print("\(out): \(m.config.kind) model, weights \(storage.lowercased()) \(String(format: "%.2f", Double(size) / 1e6)) MB" +
                  (omitted.isEmpty ? "" : ", \(omitted.count) tensors shared with \(share!)") +
                  (FileManager.default.fileExists(atPath: out + "/vae") ? ", own VAE" : ", VAE referred to"))
        }
    }

    struct Average: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the uniform average of project models' weights (text encoder + transformer) to a folder.",
            discussion: """
            Each --model weighs the same. They must be of one kind, with the same text encoder and \
            transformer configuration, clip size and VAE; the first model's description, sampling and \
            VAE are kept (its VAE copied, or referred to with --vae-folder). The weights file's metadata \
            names the models averaged (averaged_from).
            """)

        @Option(name: .customLong("model"), help: "A project model (demo:NAME, a run name or a folder); two or more.") var models: [String]
        @Option(help: "The folder to write.") var out: String
        @Option(help: "Weights storage: f32 or f16 (half the size; relative rounding ≤ 2⁻¹¹).") var storage: String = "f32"
        @Option(help: "A VAE folder holding the models' VAE, referred to instead of copied.") var vaeFolder: String?
        @OptionGroup var runs: RunsOption

        func run() throws {
            guard models.count >= 2 else { throw ValidationError("--model: give two or more models to average") }
            let st = try ModelCommand.outputStorage(storage, out: out)
            let folders = try models.map { try ModelRef.resolve($0, runsRoot: runs.root) }
            let loaded = try folders.map { try VideoModel.load(folder: $0) }
            try loaded[0].average(with: Array(loaded.dropFirst()), names: models)
            try loaded[0].export(to: out, storage: st, vaeFolder: vaeFolder)
            print("\(out): the average of \(models.count) \(loaded[0].config.kind) models, weights \(storage.lowercased())" +
                  (FileManager.default.fileExists(atPath: out + "/vae") ? ", own VAE" : ", VAE referred to"))
        }
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(abstract:
            "One forward pass: IN holds hidden_states [B,C,F,H,W], timestep [B], encoder_hidden_states [B,L,text_dim]; OUT gets sample.")

        @Option(help: "A diffusers transformer folder (config.json + diffusion_pytorch_model.safetensors).") var model: String
        @Option(help: "Input safetensors.") var inputs: String
        @Option(help: "Output safetensors.") var out: String?
        @Option(name: .customLong("repeat"), help: "Time N forward passes after one warm-up.") var repeats: Int = 0
        @Flag(help: "With --repeat: print {\"seconds_per_forward\": median, \"peak_rss_mib\": this process's peak RSS}.") var json = false
        @Option(help: "The products' arithmetic: f32, or bf16 (BF16 inputs, F32 sums, on AMX tiles, or AVX512-BF16 on AMD CPUs; F32 elsewhere).")
        var arithmetic: GEMM.Arithmetic = .f32

        func validate() throws {
            if out == nil && repeats == 0 { throw ValidationError("give --out FILE, or --repeat N to time the forward pass") }
            if !(0...100_000).contains(repeats) { throw ValidationError("--repeat must be 0 to 100000") }
            if let out {
                guard out.hasSuffix(".safetensors") else { throw ValidationError("--out writes .safetensors: \(out)") }
                try ClipFiles.checkDestination(out)
            }
        }

        func run() throws { try GEMM.withArithmetic(arithmetic) { try forward() } }

        func forward() throws {
            let transformer = try WanTransformer.load(folder: model)
            let x = try readTensor(inputs, "hidden_states")
            let t = try readTensor(inputs, "timestep").data
            let ctx = try readTensor(inputs, "encoder_hidden_states")
            let y = try GradMode.withDisabled { try transformer(x, timesteps: t, context: ctx) }
            if let out { try Safetensors.write(["sample": y], metadata: ["generator": "gpd model forward"], to: out) }
            if repeats > 0 {
                var times: [Double] = []
                for _ in 0..<repeats {
                    let t0 = Date()
                    _ = try GradMode.withDisabled { try transformer(x, timesteps: t, context: ctx) }
                    times.append(Date().timeIntervalSince(t0))
                }
                let median = times.sorted()[times.count / 2]
                if json { try printJSON(["seconds_per_forward": median, "peak_rss_mib": Double(ModelBench.peakRSSKiB()) / 1024]) } else { print(String(format: "%.6f s per forward (median of %d)", median, repeats)) }
            }
        }
    }
}

struct VAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vae", abstract: "Encode or decode with a diffusers-format Wan VAE.",
                                                    subcommands: [Encode.self, Decode.self])

    struct Options: ParsableArguments {
        @Option(help: "A diffusers VAE folder (config.json + diffusion_pytorch_model.safetensors).") var model: String
        @Option(help: "Input safetensors.") var input: String
        @Option(help: "Output safetensors.") var out: String

        /// The output's format and folder, checked before any work.
        func validate() throws {
            guard out.hasSuffix(".safetensors") else { throw ValidationError("--out writes .safetensors: \(out)") }
            try ClipFiles.checkDestination(out)
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "sample [B,3,F,H,W] in [−1,1] → latents (the posterior mode, un-normalised).")
        @OptionGroup var options: Options
        func run() throws {
            let vae = try WanVAE.load(folder: options.model)
            let z = try GradMode.withDisabled { try vae.encode(try readTensor(options.input, "sample")) }
            try Safetensors.write(["latents": z], metadata: ["generator": "gpd vae encode"], to: options.out)
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "latents → sample [B,3,F,H,W] clamped to [−1,1].")
        @OptionGroup var options: Options
        @Option(name: .customLong("repeat"), help: "Also time N decodes after one warm-up.") var repeats: Int = 0
        @Flag(help: "With --repeat: print {\"seconds_per_decode\": median}.") var json = false

        func validate() throws { if !(0...100_000).contains(repeats) { throw ValidationError("--repeat must be 0 to 100000") } }

        func run() throws {
            let vae = try WanVAE.load(folder: options.model)
            let z = try readTensor(options.input, "latents")
            let x = try GradMode.withDisabled { try vae.decode(z) }
            try Safetensors.write(["sample": x], metadata: ["generator": "gpd vae decode"], to: options.out)
            guard repeats > 0 else { return }
            var times: [Double] = []
            for _ in 0..<repeats {
                let t0 = Date()
                _ = try GradMode.withDisabled { try vae.decode(z) }
                times.append(Date().timeIntervalSince(t0))
            }
            let median = times.sorted()[times.count / 2]
            if json { try printJSON(["seconds_per_decode": median]) } else { print(String(format: "%.6f s per decode (median of %d)", median, repeats)) }
        }
    }
}

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sample", abstract: """
        Text to video. With --model REF --prompt "…": a project model (demo:teacher-2x-gap4, demo:gpd6-gap4-ag, a run or a \
        folder) writes a GIF, PNG frames or safetensors. With --wan DIR --prompt "…": a diffusers Wan2.1 folder \
        (tokenizer, umT5 text encoder, transformer, VAE, scheduler) does the same. With \
        --transformer/--vae/--prompt-embeds/--latents: a diffusers-format Wan2.1 fed prompt embeddings and initial \
        latents writes safetensors.
        """)

    @Option(help: "A project model: demo:NAME, a run name (its export) or a model folder.") var model: String?
    @Option(help: "A diffusers Wan2.1 folder (model_index.json, tokenizer/, text_encoder/, transformer/, vae/, scheduler/).") var wan: String?
    @Option(help: "The prompt (with --model or --wan).") var prompt: String?
    @Option(help: "With --wan: the negative prompt (WanPipeline's default: empty).") var negativePrompt: String = ""
    @Option(help: "With --wan: frames (4·k + 1 for Wan2.1's VAE).") var frames: Int = 17
    @Option(help: "With --wan: frame height in pixels.") var height: Int = 128
    @Option(help: "With --wan: frame width in pixels.") var width: Int = 128
    @Option(help: "With --wan: tokens per prompt (WanPipeline's max_sequence_length).") var maxLength: Int = WanTextEncoder.defaultMaxLength
    @Flag(help: "With --wan: encode the prompts afresh instead of using the prompt-embedding cache (~/.cache/gpd/prompts).") var noPromptCache = false
    @Option(help: "Noise seed (with --model or --wan).") var seed: UInt64 = 0
    @Option(help: "A diffusers transformer folder.") var transformer: String?
    @Option(help: "A diffusers VAE folder.") var vae: String?
    @Option(help: "Prompt embeddings [B, L, text_dim] (safetensors; tensor 'prompt_embeds' or the only one).") var promptEmbeds: String?
    @Option(help: "Negative prompt embeddings, same shape (needed when guidance > 1).") var negativePromptEmbeds: String?
    @Option(help: "Initial latents [B, z, F', H', W'] (tensor 'latents' or the only one).") var latents: String?
    @Option(help: ArgumentHelp("With --model: start from the real ShapesWorld clip of the prompt and seed (as `gpd data preview` renders it), encoded by the model's VAE and noised with the seed's noise to where the schedule's last ⌊steps·S⌋ steps begin (0 < S ≤ 1, diffusers' img2img strength).", valueName: "S"))
    var fromReal: Double?
    @OptionGroup var sampling: SamplingOverrides
    @Option(help: "Output: .gif, .png (frames) or .safetensors (latents, and frames in [0,1]: [F,H,W,3] with --model, [B,F,H,W,3] otherwise).") var out: String
    @Flag(help: "Print timings as one JSON object.") var json = false
    @OptionGroup var runs: RunsOption

    /// Which options go together, checked at the start of `run` rather than in `validate`: ArgumentParser
    /// validates before it reports unknown options, so a typo (`--promt`) would otherwise be answered
    /// with "--model needs --prompt" instead of being named.
    func checkOptions() throws {
        if wan != nil {
            guard prompt != nil else { throw ValidationError("--wan needs --prompt") }
            guard model == nil, transformer == nil, vae == nil, promptEmbeds == nil, latents == nil else {
                throw ValidationError("use --wan/--prompt alone, not with --model or --transformer/--vae/--prompt-embeds/--latents")
            }
            guard (1...1024).contains(frames), (1...4096).contains(height), (1...4096).contains(width) else {
                throw ValidationError("--frames must be 1…1024, --height and --width 1…4096")
            }
            guard (1...65_536).contains(maxLength) else { throw ValidationError("--max-length \(maxLength) must be 1…65536") }
        } else if model != nil {
            guard prompt != nil else { throw ValidationError("--model needs --prompt") }
            try checkFromReal(fromReal)
            guard transformer == nil, vae == nil, promptEmbeds == nil, latents == nil else {
                throw ValidationError("use either --model/--prompt or --transformer/--vae/--prompt-embeds/--latents, not both")
            }
        } else {
            guard transformer != nil, vae != nil, promptEmbeds != nil, latents != nil else {
                throw ValidationError("give --model REF --prompt \"…\", or all of --transformer, --vae, --prompt-embeds and --latents")
            }
            guard out.hasSuffix(".safetensors") else { throw ValidationError("the embeddings form writes .safetensors") }
        }
        if fromReal != nil && model == nil { throw ValidationError("--from-real goes with --model") }
        try ClipFiles.checkDestination(out)
    }

    func run() throws {
        try checkOptions()
        try GEMM.withArithmetic(sampling.arithmetic) { try sample() }
    }

    func sample() throws {
        if let wan { try runWan(wan); return }
        if let model { try runModel(model); return }
        let pipe = WanPipeline(transformer: try WanTransformer.load(folder: transformer!), vae: try WanVAE.load(folder: vae!))
        let context = try readTensor(promptEmbeds!, "prompt_embeds")
        let negative = try negativePromptEmbeds.map { try readTensor($0, "negative_prompt_embeds") }
        let s = try sampling.apply(to: SamplingSettings())
        let schedule = try s.schedule()
        let progress = Progress("sampling", total: schedule.steps, enabled: !json)
        let t0 = Date()
        let r = try pipe.sample(latents: try readTensor(latents!, "latents"), context: context, negative: negative, settings: s) { i, _ in progress.update(i) }
        let wall = Date().timeIntervalSince(t0)
        try Safetensors.write(["latents": r.latents, "frames": try r.decoded()], metadata: ["generator": "gpd sample"], to: out)
        try report(r, steps: schedule.steps, wall: wall, extra: [:])
    }

    func runWan(_ path: String) throws {
        let t0 = Date()
        let folder = try WanFolder(path: path)
        let loadSeconds = Date().timeIntervalSince(t0)
        let s = try sampling.apply(to: folder.defaults)
        let schedule = try s.schedule()
        _ = try folder.latentShape(frames: frames, height: height, width: width)
        let cache = WanPromptCache(folder: folder, maxLength: maxLength)
        let encode: (String) throws -> Tensor = noPromptCache ? { try folder.text.embeddings([$0], maxLength: maxLength) } : cache.embeddings
        var textSeconds = 0.0
        let progress = Progress("sampling", total: schedule.steps, enabled: !json)
        let t1 = Date()
        let r = try folder.sample(prompt: prompt!, negativePrompt: negativePrompt, frames: frames, height: height, width: width, seed: seed,
                                  settings: s, maxLength: maxLength, embeddings: { p in
            let t = Date()
            defer { textSeconds += Date().timeIntervalSince(t) }
            return try encode(p)
        }) { i, _ in progress.update(i) }
        let wall = Date().timeIntervalSince(t1) - textSeconds
        let written = try writeClip(r, model: path)
        try report(r, steps: schedule.steps, wall: wall, extra: ["load_seconds": loadSeconds, "text_seconds": textSeconds, "files": written],
                   written: written)
    }

    func runModel(_ ref: String) throws {
        let t0 = Date()
        let m = try VideoModel.load(folder: try ModelRef.resolve(ref, runsRoot: runs.root))
        let loadSeconds = Date().timeIntervalSince(t0)
        let s = try sampling.apply(to: m.config.sampling) { try ModelRef.resolveAbsolute($0, runsRoot: runs.root) }
        let schedule = try s.schedule()
        let start = try fromReal.map { (latents: try m.realLatents(prompt: prompt!, seed: seed), strength: $0) }
        let steps = schedule.steps - (try fromReal.map { try schedule.firstStep(strength: $0) } ?? 0)
        let progress = Progress("sampling", total: steps, enabled: !json)
        let t1 = Date()
        let (r, toks) = try m.sample(prompts: [prompt!], seeds: [seed], settings: s, start: start) { i, _ in progress.update(i) }
        let wall = Date().timeIntervalSince(t1)
        if !toks[0].unknownWords.isEmpty {
            printError("note: unknown words (encoded as <unk>): \(toks[0].unknownWords.joined(separator: ", "))")
        }
        if toks[0].truncatedWords > 0 {
            printError("note: the prompt was cut to \(m.config.textEncoder.textLength) tokens (\(toks[0].truncatedWords) words dropped)")
        }
        let written = try writeClip(r, model: ref)
        var extra: [String: Any] = ["load_seconds": loadSeconds, "unknown_words": toks[0].unknownWords, "files": written]
        if let fromReal { (extra["from_real"], extra["start_sigma"]) = (fromReal, Double(schedule.sigmas[schedule.steps - steps])) }
        try report(r, steps: steps, wall: wall, extra: extra, written: written)
    }

    /// Writes the first clip to --out (safetensors with latents and frames, a GIF, or PNG frames); the files written.
    func writeClip(_ r: SampleResult, model: String) throws -> [String] {
        let clip = try r.clip(0)
        guard out.hasSuffix(".safetensors") else { return try ClipFiles.write(clip, caption: prompt!, to: out) }
        try Safetensors.write(["latents": r.latents, "frames": clip], metadata: ["caption": prompt!, "model": model, "seed": String(seed)], to: out)
        return [out]
    }

    func report(_ r: SampleResult, steps: Int, wall: Double, extra: [String: Any], written: [String]? = nil) throws {
        if json {
            var o: [String: Any] = ["wall_seconds": wall, "denoise_seconds": r.denoiseSeconds, "decode_seconds": r.decodeSeconds,
                                    "nfe": r.nfe, "steps": steps, "step_seconds": r.stepSeconds]
            for (k, v) in extra { o[k] = v }
            try printJSON(o)
        } else {
            let files = written.map { $0.count == 1 ? $0[0] : "\($0.count) frames \($0[0]) … \($0.last!)" } ?? out
            print(String(format: "%@: %d steps, %d network evaluations, denoise %.3fs, decode %.3fs, total %.3fs", files, steps, r.nfe, r.denoiseSeconds, r.decodeSeconds, wall))
        }
    }
}
