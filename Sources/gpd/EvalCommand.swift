// `gpd eval`: MiniVBench scores of clips (their prompts from metadata or a prompts file).
import ArgumentParser
import Cluster
import Diffusion
import Distill
import ModelFolders
import Eval
import Data
import Foundation
import Media
import Models
import Tensors

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval",
        abstract: "Score clips with MiniVBench: total, quality, semantic and 13 dimensions.")

    @Option(help: "A clip file (.safetensors with frames [F,H,W,3] or [B,F,H,W,3]) or a folder of them.") var clips: String?
    @Option(help: "Sample with a model instead: demo:NAME, a run name or a model folder.") var model: String?
    @Option(help: "Score a VAE's reconstructions instead: real ShapesWorld clips of the prompts and seeds, encoded and decoded (adds PSNR).") var vae: String?
    @Option(help: "Prompts, one per line (clips: in clip order, default their captions; --model: default samples/prompts/eval.txt).") var prompts: String?
    @Option(help: "Seeds per prompt for --model: A-B or a list (default 0-4).") var seeds: String = "0-4"
    @OptionGroup(title: "Sampling with --model (defaults: the model's own)") var sampling: SamplingOverrides
    @Option(help: "With --model: also write the sampled clips to this .safetensors (frames [B,F,H,W,3], captions).") var saveClips: String?
    @Option(help: "With --model: clips of the same prompts and seeds (e.g. the teacher's, from --save-clips) to measure fidelity to (PSNR, SSIM, spectrum distances, averaged; each clip's PSNR in its row of the JSON prompts, worst and median in the summary).")
    var reference: String?
    @Flag(help: "With --model: also report the latent power spectra (spatial and temporal) of its clips and of the real clips of the same prompts and seeds through its VAE, with the share of power from half the highest frequency up (JSON latent_spectra).")
    var spectra = false
    @Option(help: ArgumentHelp("With --model: start each clip from the real ShapesWorld clip of its prompt and seed, encoded by the model's VAE and noised with the seed's noise to where the schedule's last ⌊steps·S⌋ steps begin (0 < S ≤ 1, diffusers' img2img strength): what the model keeps of, or does to, a clip that is right up to that noise level.", valueName: "S"))
    var fromReal: Double?
    @Flag(help: "With --model: measure instead how much its predictions use each attribute of the prompt (shape, colour, motion, background, layout): real clips of the prompts (seed: the first of --seeds), noised, predicted with the true caption and with one attribute changed (docs/word-use.md).")
    var wordUse = false
    @Flag(help: "Calibrate the metric instead: real ShapesWorld clips of the prompts and seeds, and each corruption of them (frozen, reversed, wrong colour, shape, count, background, blurred, two at once), with each corruption's margin below the real clips.")
    var calibrate = false
    @Flag(help: "Print one JSON object: total, vbench_total, seen, held_out, one_object, two_objects, quality, semantic, dimensions, prompts; with --model also per_seed, timings, nfe (fidelity with --reference, latent_spectra with --spectra).") var json = false
    @OptionGroup var runs: RunsOption

    func validate() throws {
        guard [clips, model, vae].compactMap({ $0 }).count + (calibrate ? 1 : 0) == 1 else {
            throw ValidationError("give exactly one of --clips, --model, --vae and --calibrate")
        }
        if spectra && model == nil { throw ValidationError("--spectra goes with --model") }
        if wordUse && model == nil { throw ValidationError("--word-use goes with --model") }
        if fromReal != nil && (model == nil || wordUse) { throw ValidationError("--from-real goes with --model (and not --word-use)") }
        if sampling.autoguide != nil && (model == nil || wordUse) { throw ValidationError("--autoguide goes with --model (and not --word-use)") }
        try checkFromReal(fromReal)
        if wordUse && (spectra || reference != nil || saveClips != nil) { throw ValidationError("--word-use samples no clips: it goes without --spectra, --reference and --save-clips") }
        if let saveClips {
            guard saveClips.hasSuffix(".safetensors") else { throw ValidationError("--save-clips writes .safetensors: \(saveClips)") }
            try ClipFiles.checkDestination(saveClips)
        }
    }

    func run() throws {
        if let model, wordUse { if World.current.isRoot { try runWordUse(model) }; return }
        if let model { try runModel(model); return }
        // Under mpirun only --model is split over the ranks; the other forms run once, on rank 0.
        guard World.current.isRoot else { return }
        if let vae { try runVAE(vae); return }
        if calibrate { try runCalibration(); return }
        let set = try ClipSet.load(clips!)
        var texts: [String]? = nil
        if let prompts {
            guard let data = FileManager.default.contents(atPath: prompts) else { throw ValidationError("\(prompts): cannot read") }
            texts = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            guard texts!.count == set.count else { throw ValidationError("\(prompts) has \(texts!.count) prompts for \(set.count) clips") }
        }
        var scores: [ClipScore] = []
        for (i, c) in set.enumerated() {
            guard let p = texts?[i] ?? c.prompt else { throw ValidationError("\(c.source): no prompt (no caption metadata); give --prompts FILE") }
            do { scores.append(try MiniVBench.score(c.frames, prompt: p)) } catch { throw ValidationError("\(c.source): \(error)") }
        }
        guard !scores.isEmpty else { throw ValidationError("\(clips!): no clips to score") }
        try output(EvalReport(scores))
    }

    func runModel(_ ref: String) throws {
        let m = try VideoModel.load(folder: try ModelRef.resolve(ref, runsRoot: runs.root))
        let texts = try readPrompts(prompts)
        try checkPrompts(texts)
        let seedList = try EvalSuite.parseSeeds(seeds)
        let base = try sampling.apply(to: m.config.sampling) { try ModelRef.resolveAbsolute($0, runsRoot: runs.root) }
        let jobs = texts.flatMap { p in seedList.map { (p, $0) } }
        let schedule = try base.schedule()
        let firstStep = try fromReal.map { try schedule.firstStep(strength: $0) } ?? 0
        var references: Tensor?
        if let reference {
            let f = try Safetensors.read(reference)
            guard let r = f.tensors["frames"], r.rank == 5, r.shape[0] == jobs.count else {
                throw ValidationError("\(reference): needs frames [\(jobs.count), F, H, W, 3] for \(texts.count) prompts × \(seedList.count) seeds")
            }
            let captions = (f.metadata["captions"] ?? "").split(separator: "\n").map(String.init)
            if captions.count == jobs.count, let i = captions.indices.first(where: { captions[$0] != jobs[$0].0 }) {
                throw ValidationError("\(reference): clip \(i) is \"\(captions[i])\", not \"\(jobs[i].0)\" (same prompts and seeds, same order)")
            }
            references = r
        }
        // Under mpirun each rank samples and scores a contiguous share of the clips; rank 0 gathers
        // the scores (and clips) in job order and reports them as one process would.
        let world = World.current, mine = world.share(of: jobs.count)
        guard jobs.count >= world.size else { throw ValidationError("\(jobs.count) clips for \(world.size) processes: use fewer processes") }
        var fidelity: [String: Double] = [:]
        var clipPSNR: [Double] = []   // per clip, in the order of `jobs`
        let progress = Progress("sampling \(jobs.count) clips" + (world.size > 1 ? " on \(world.size) processes" : ""),
                                total: mine.count, enabled: !json && world.isRoot)
        var scores: [ClipScore] = [], frames: [Tensor] = [], captions: [String] = []
        var sampleSeconds = 0.0, denoiseSeconds = 0.0, decodeSeconds = 0.0, nfe = 0
        // --spectra: sums over clips of the model's and the real clips' latent spectra.
        var spectrumSums: [String: [[Double]]] = [:]
        func addSpectra(_ name: String, _ z: Tensor) {
            let (sp, tp) = Spectra.latent(z)
            let old = spectrumSums[name] ?? [[Double](repeating: 0, count: sp.count), [Double](repeating: 0, count: tp.count)]
            spectrumSums[name] = [zip(old[0], sp).map { $0 + $1 }, zip(old[1], tp).map { $0 + $1 }]
        }
        for start in stride(from: mine.lowerBound, to: mine.upperBound, by: 8) {
            let batch = Array(jobs[start..<min(mine.upperBound, start + 8)])
            let t0 = Date()
            let initial = try fromReal.map { strength in
                (latents: Tensor.concat(try batch.map { try m.realLatents(prompt: $0.0, seed: $0.1) }, axis: 0), strength: strength)
            }
            let (r, _) = try GEMM.withArithmetic(sampling.arithmetic) {
                try m.sample(prompts: batch.map(\.0), seeds: batch.map(\.1), settings: base, start: initial)
            }
            sampleSeconds += Date().timeIntervalSince(t0)
            (denoiseSeconds, decodeSeconds) = (denoiseSeconds + r.denoiseSeconds, decodeSeconds + r.decodeSeconds)
            nfe = r.nfe
            let f = try r.decoded()
            for (i, job) in batch.enumerated() {
                let clip = f.slice(axis: 0, i, i + 1).reshape(Array(f.shape.dropFirst()))
                scores.append(try MiniVBench.score(clip, prompt: job.0))
                if let references {
                    let j = start + i
                    let ref = references.slice(axis: 0, j, j + 1).reshape(Array(references.shape.dropFirst()))
                    guard ref.shape == clip.shape else { throw ValidationError("\(reference!): clips are \(ref.shape), the model makes \(clip.shape)") }
                    let f = Metrics.fidelity(student: clip, teacher: ref)
                    for (k, v) in f { fidelity[k, default: 0] += v / Double(jobs.count) }
                    clipPSNR.append(f["psnr"]!)
                }
                if saveClips != nil { frames.append(clip.reshape([1] + clip.shape)); captions.append(job.0) }
                if spectra {
                    addSpectra("model", r.latents.slice(axis: 0, i, i + 1))
                    addSpectra("data", try initial.map { $0.latents.slice(axis: 0, i, i + 1) } ?? m.realLatents(prompt: job.0, seed: job.1))
                }
            }
            progress.update(start + batch.count - mine.lowerBound)
        }
        if world.size > 1 {
            struct Share: Codable { var scores: [ClipScore], fidelity: [String: Double], psnr: [Double], seconds: [Double], nfe: Int, spectra: [String: [[Double]]] }
            let parts = try world.gather(Share(scores: scores, fidelity: fidelity, psnr: clipPSNR, seconds: [sampleSeconds, denoiseSeconds, decodeSeconds],
                                               nfe: nfe, spectra: spectrumSums))
            let clipParts = saveClips == nil ? nil : world.gather(frames.isEmpty ? [] : Tensor.concat(frames, axis: 0).data)
            guard let parts else { return }   // rank 0 reports
            scores = parts.flatMap(\.scores)
            clipPSNR = parts.flatMap(\.psnr)
            fidelity = parts.reduce(into: [:]) { acc, p in for (k, v) in p.fidelity { acc[k, default: 0] += v } }
            (sampleSeconds, denoiseSeconds, decodeSeconds) = (parts.map { $0.seconds[0] }.reduce(0, +), parts.map { $0.seconds[1] }.reduce(0, +),
                                                              parts.map { $0.seconds[2] }.reduce(0, +))
            nfe = parts.map(\.nfe).max() ?? nfe
            spectrumSums = parts.reduce(into: [:]) { acc, p in
                for (k, v) in p.spectra { acc[k] = acc[k].map { a in zip(a, v).map { zip($0, $1).map { $0 + $1 } } } ?? v }
            }
            if let clipParts, let first = frames.first {
                let all = clipParts.flatMap { $0 }
                frames = [Tensor(shape: [jobs.count] + Array(first.shape.dropFirst()), data: all)]
                captions = jobs.map(\.0)
            }
        }
        if let saveClips {
            try Safetensors.write(["frames": Tensor.concat(frames, axis: 0)], metadata: ["captions": captions.joined(separator: "\n"), "model": ref], to: saveClips)
        }
        var report = EvalReport(scores)
        report.model = ref
        report.seeds = seedList
        report.steps = schedule.steps
        if let fromReal {
            (report.fromReal, report.startSigma, report.stepsRun) = (fromReal, Double(schedule.sigmas[firstStep]), schedule.steps - firstStep)
        }
        let decimal = { (x: Float) in Double("\(x)") ?? Double(x) }   // 0.3, not 0.30000001192092896
        (report.solver, report.guidance) = (base.solver.rawValue, decimal(base.guidance))
        (report.shift, report.sigmas) = (base.sigmas == nil ? base.shift : nil, base.sigmas?.map(decimal))
        report.autoguide = base.autoguide.map { a in
            var shown = a
            if let given = sampling.autoguideModel { shown.model = given == "self" ? nil : given }   // as given, not the resolved path
            return shown.summary
        }
        report.guidanceInterval = base.guidanceInterval.map { [decimal($0.lowerBound), decimal($0.upperBound)] }
        report.guidanceEvery = base.guidanceEvery == 1 ? nil : base.guidanceEvery
        report.nfe = nfe
        report.sampleSecondsPerClip = sampleSeconds / Double(jobs.count)
        report.denoiseSecondsPerClip = denoiseSeconds / Double(jobs.count)
        report.decodeSecondsPerClip = decodeSeconds / Double(jobs.count)
        if references != nil {
            report.fidelity = fidelity
            for (i, p) in clipPSNR.enumerated() { report.prompts?[i].psnr = p }
        }
        if spectra {
            report.latentSpectra = spectrumSums.mapValues { sums in
                EvalReport.LatentSpectrum(spatial: sums[0].map { $0 / Double(jobs.count) }, temporal: sums[1].map { $0 / Double(jobs.count) })
            }
        }
        // The same aggregate per noise seed: the seed-to-seed spread of the suite's scores.
        report.perSeed = seedList.map { seed in
            EvalReport.SeedRow(seed: seed, MiniVBench.aggregate(zip(jobs, scores).filter { $0.0.1 == seed }.map(\.1)))
        }
        try output(report)
    }

    func runWordUse(_ ref: String) throws {
        let m = try VideoModel.load(folder: try ModelRef.resolve(ref, runsRoot: runs.root))
        let texts = try readPrompts(prompts)
        try checkPrompts(texts)
        let scenes = texts.map { PromptGrammar.parse($0).scene! }
        let seed = try EvalSuite.parseSeeds(seeds)[0]
        let progress = Progress("predicting \(scenes.count) clips", total: scenes.count, enabled: !json)
        let rows = try WordUse.measure(model: m, scenes: scenes, seed: seed) { done, _ in progress.update(done) }
        let summary = WordUse.summary(rows)
        if json {
            struct Report: Codable { var model: String, seed: UInt64, rows: [WordUse.Row], use: [String: Double] }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            let r = Report(model: ref, seed: seed, rows: rows, use: Dictionary(uniqueKeysWithValues: summary.map { ($0.0.rawValue, $0.1) }))
            print(String(decoding: try enc.encode(r), as: UTF8.self))
            return
        }
        let sigmas = Array(Set(rows.map(\.sigma))).sorted()
        print("use of each prompt attribute: the loss a changed word costs over what it costs a model that trusts the text fully")
        print("attribute    clips   all σ  " + sigmas.map { String(format: "σ %.1f  ", $0) }.joined())
        for (a, u) in summary {
            let r = rows.filter { $0.attribute == a }
            print(a.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: " %5d  %6.3f  ", r[0].clips, u)
                  + sigmas.map { s in r.first { $0.sigma == s }.map { String(format: "%6.3f ", $0.use) } ?? "     – " }.joined())
        }
    }

    /// Reconstructions of real clips: what a teacher trained on this VAE can reach at best.
    func runVAE(_ folder: String) throws {
        let v = try WanVAE.load(folder: folder)
        let texts = try readPrompts(prompts)
        try checkPrompts(texts)
        let seedList = try EvalSuite.parseSeeds(seeds)
        let size = 8 * v.config.spatialCompression
        var scores: [ClipScore] = [], psnr = 0.0, count = 0
        let progress = Progress("reconstructing", total: texts.count * seedList.count, enabled: !json)
        for p in texts {
            guard let scene = PromptGrammar.parse(p).scene else { throw ValidationError("cannot read the prompt \"\(p)\"") }
            for seed in seedList {
                let clip = ShapesWorld.render(scene, seed: seed, config: WorldConfig(frames: 17, size: max(32, size)))
                let y = try GradMode.withDisabled { try v.decode(try v.encode(clip.pixels.reshape([1] + clip.pixels.shape))) }
                let rec = (y * 0.5 + 0.5).clamp(0, 1).reshape(Array(y.shape.dropFirst())).permute(1, 2, 3, 0)
                psnr += Metrics.psnr(rec, clip.frames); count += 1
                scores.append(try MiniVBench.score(rec, prompt: p))
                progress.update(count)
            }
        }
        var report = EvalReport(scores)
        (report.vae, report.psnr, report.seeds) = (folder, psnr / Double(count), seedList)
        try output(report)
    }

    /// Every prompt must be one MiniVBench can score, before any clip is made.
    func checkPrompts(_ texts: [String]) throws {
        guard !texts.isEmpty else { throw ValidationError("\(prompts ?? "the suite"): no prompts") }
        for (i, p) in texts.enumerated() {
            let parsed = PromptGrammar.parse(p)
            guard parsed.scene != nil else { throw ValidationError("\(prompts ?? "the suite"), prompt \(i + 1) \"\(p)\": \(parsed.problem ?? "cannot be read")") }
        }
    }

    func runCalibration() throws {
        let texts = try readPrompts(prompts)
        try checkPrompts(texts)
        let seedList = try EvalSuite.parseSeeds(seeds)
        let progress = Progress("calibrating", total: texts.count * seedList.count, enabled: !json)
        let rows = try Calibration.run(prompts: texts, seeds: seedList) { done, _ in progress.update(done) }
        if json {
            print(try CalibrationReport(seeds: seedList, rows: rows).json())
            return
        }
        print("row                          clips   total  margin   held-out  seen    VBench-weighted")
        for r in rows {
            print(String(format: "%@ %5d  %.4f  %6.3f   %.4f    %.4f  %.4f", r.name.padding(toLength: 28, withPad: " ", startingAt: 0), r.score.clips.count, r.score.total, r.margin,
                         r.score.heldOut?.total ?? .nan, r.score.seen?.total ?? .nan, r.score.vbenchTotal))
        }
    }

    func output(_ r: EvalReport) throws {
        if json { print(try r.json()); return }
        print(String(format: "%d clips   total %.4f   (quality factor %.4f × prompt-following %.4f)", r.prompts?.count ?? 0, r.total,
                     r.qualityFactor, r.promptFollowing) + (r.psnr.map { String(format: "   PSNR %.2f dB", $0) } ?? ""))
        if let s = r.fromReal, let sigma = r.startSigma, let run = r.stepsRun, let steps = r.steps {
            print(String(format: "  from the real clips at strength %g: noise level %.4f, the last %d of %d steps", s, sigma, run, steps))
        }
        for (name, x) in [("held-out", r.heldOut), ("seen", r.seen), ("one object", r.oneObject), ("two objects", r.twoObjects)] {
            if let x { print(String(format: "  %@ %3d clips   total %.4f   VBench-weighted %.4f", name.padding(toLength: 11, withPad: " ", startingAt: 0), x.clips, x.total, x.vbenchTotal)) }
        }
        print(String(format: "  VBench-weighted %.4f   quality %.4f   semantic %.4f", r.vbenchTotal, r.quality, r.semantic))
        if let l = r.latentSpectra {
            print("  latent power from half the highest frequency up: " + l.keys.sorted().map {
                String(format: "%@ spatial %.4f temporal %.4f", $0, l[$0]!.spatialHighShare, l[$0]!.temporalHighShare)
            }.joined(separator: "   "))
        }
        if let f = r.fidelity {
            print("  to the reference: " + f.keys.sorted().map { $0 + String(format: " %.4f", f[$0]!) }.joined(separator: "   "))
            let clips = (r.prompts ?? []).compactMap(\.psnr).sorted()
            if let worst = clips.first {
                let median = clips.count % 2 == 1 ? clips[clips.count / 2] : (clips[clips.count / 2 - 1] + clips[clips.count / 2]) / 2
                print(String(format: "  PSNR per clip: worst %.2f dB, median %.2f dB", worst, median))
            }
        }
        for d in Dimension.allCases { if let v = r.dimensions[d.rawValue] { print("  " + d.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: " %.4f", v)) } }
    }
}
