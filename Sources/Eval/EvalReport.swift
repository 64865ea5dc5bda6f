// What `gpd eval --json` prints, as one Codable type: its keys are the schema scripts and docs rely on
// (scripts/results, scripts/calibrate). Optional fields appear only for the mode that fills them.
import Data
import Foundation

public struct EvalReport: Codable {
    /// The headline (MiniVBench.aggregate's total) and its two factors.
    public var total: Double
    public var qualityFactor: Double
    public var promptFollowing: Double
    /// VBench's aggregation and its quality/semantic split.
    public var vbenchTotal: Double
    public var quality: Double
    public var semantic: Double
    /// The same over the seen and the held-out prompts (nil when a split has no clip).
    public var seen: SplitScore?
    public var heldOut: SplitScore?
    /// The same over the one-object and the two-object prompts.
    public var oneObject: SplitScore?
    public var twoObjects: SplitScore?
    public var dimensions: [String: Double]
    /// One row per clip (left out of calibration rows).
    public var prompts: [PromptRow]?

    // --model
    public var model: String?
    public var seeds: [UInt64]?
    public var steps: Int?
    /// The sampling the clips were made with: solver, shift or a custom sigma list, guidance and its
    /// interval (absent: every step).
    public var solver: String?
    public var shift: Double?
    public var sigmas: [Double]?
    public var guidance: Double?
    public var guidanceInterval: [Double]?
    /// The guidance terms computed at one guided step in this many (absent: every step).
    public var guidanceEvery: Int?
    /// The autoguidance sampled with: the weaker model (as `--autoguide` gave it, or as the model folder's
    /// sampling names it; "self" for the model itself), the blocks it leaves out and the weight
    /// ("self skip 3, weight 1"; absent: none).
    public var autoguide: String?
    public var nfe: Int?
    public var sampleSecondsPerClip: Double?
    public var denoiseSecondsPerClip: Double?
    public var decodeSecondsPerClip: Double?
    public var perSeed: [SeedRow]?
    /// With --reference: PSNR, SSIM and spectrum distances to the reference clips, averaged (each
    /// clip's own PSNR is in its row of `prompts`).
    public var fidelity: [String: Double]?
    /// With --spectra: the latent power spectra of the model's clips and of the real clips of the same
    /// prompts and seeds through the model's VAE, averaged over clips.
    public var latentSpectra: [String: LatentSpectrum]?
    /// With --from-real: the strength, and the noise level the clips started from (the real clips of
    /// their prompts and seeds, noised), and the steps they ran of `steps`.
    public var fromReal: Double?
    public var startSigma: Double?
    public var stepsRun: Int?
    // --vae
    public var vae: String?
    public var psnr: Double?

    public struct PromptRow: Codable {
        public var prompt: String
        public var split: Split
        public var total: Double
        public var qualityFactor: Double
        public var promptFollowing: Double
        public var vbenchTotal: Double
        public var quality: Double
        public var semantic: Double
        public var dimensions: [String: Double]
        /// With --reference: this clip's PSNR to its reference clip (dB; 100 for identical clips).
        public var psnr: Double?
        enum CodingKeys: String, CodingKey {
            case prompt, split, total, qualityFactor = "quality_factor", promptFollowing = "prompt_following"
            case vbenchTotal = "vbench_total", quality, semantic, dimensions, psnr
        }
    }

    /// Mean spatial (radial) and temporal power spectra of latents, and the share of each above half
    /// its highest frequency (Spectra.highFrequencyShare).
    public struct LatentSpectrum: Codable {
        public var spatial: [Double]
        public var temporal: [Double]
        public var spatialHighShare: Double
        public var temporalHighShare: Double
        enum CodingKeys: String, CodingKey { case spatial, temporal, spatialHighShare = "spatial_high_share", temporalHighShare = "temporal_high_share" }
        public init(spatial: [Double], temporal: [Double]) {
            (self.spatial, self.temporal) = (spatial, temporal)
            (spatialHighShare, temporalHighShare) = (Spectra.highFrequencyShare(spatial), Spectra.highFrequencyShare(temporal))
        }
    }

    public struct SeedRow: Codable {
        public var seed: UInt64
        public var total: Double
        public var vbenchTotal: Double
        public var quality: Double
        public var semantic: Double
        public var seen: Double?
        public var heldOut: Double?
        public var oneObject: Double?
        public var twoObjects: Double?
        enum CodingKeys: String, CodingKey {
            case seed, total, vbenchTotal = "vbench_total", quality, semantic, seen, heldOut = "held_out"
            case oneObject = "one_object", twoObjects = "two_objects"
        }
        public init(seed: UInt64, _ s: BenchScore) {
            (self.seed, total, vbenchTotal, quality, semantic) = (seed, s.total, s.vbenchTotal, s.quality, s.semantic)
            (seen, heldOut, oneObject, twoObjects) = (s.seen?.total, s.heldOut?.total, s.oneObject?.total, s.twoObjects?.total)
        }
    }

    enum CodingKeys: String, CodingKey {
        case total, qualityFactor = "quality_factor", promptFollowing = "prompt_following", vbenchTotal = "vbench_total"
        case quality, semantic, seen, heldOut = "held_out", oneObject = "one_object", twoObjects = "two_objects", dimensions, prompts, model, seeds, steps, nfe, solver, shift, sigmas, guidance
        case guidanceInterval = "guidance_interval", autoguide, guidanceEvery = "guidance_every"
        case sampleSecondsPerClip = "sample_seconds_per_clip", denoiseSecondsPerClip = "denoise_seconds_per_clip"
        case decodeSecondsPerClip = "decode_seconds_per_clip", perSeed = "per_seed", fidelity, latentSpectra = "latent_spectra", vae, psnr
        case fromReal = "from_real", startSigma = "start_sigma", stepsRun = "steps_run"
    }

    /// The aggregate of `scores`, with a row per clip when `rows` is set.
    public init(_ scores: [ClipScore], rows: Bool = true) {
        let s = MiniVBench.aggregate(scores)
        (total, qualityFactor, promptFollowing) = (s.total, s.qualityFactor, s.promptFollowing)
        (vbenchTotal, quality, semantic, seen, heldOut) = (s.vbenchTotal, s.quality, s.semantic, s.seen, s.heldOut)
        (oneObject, twoObjects) = (s.oneObject, s.twoObjects)
        dimensions = Dictionary(uniqueKeysWithValues: s.dimensions.map { ($0.key.rawValue, $0.value) })
        guard rows else { return }
        prompts = scores.map { c in
            let one = MiniVBench.aggregate([c])
            return PromptRow(prompt: c.prompt, split: c.split, total: c.total, qualityFactor: c.qualityFactor, promptFollowing: c.promptFollowing,
                             vbenchTotal: one.vbenchTotal, quality: one.quality, semantic: one.semantic,
                             dimensions: Dictionary(uniqueKeysWithValues: c.dimensions.map { ($0.key.rawValue, $0.value) }))
        }
    }

    /// One JSON object, keys sorted.
    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }
}

/// `gpd eval --calibrate --json`: the seeds and one row per clip set (real, then each corruption).
public struct CalibrationReport: Codable {
    public var seeds: [UInt64]
    public var rows: [Row]

    public struct Row: Codable {
        public var name: String
        public var clips: Int
        public var realTotal: Double
        public var margin: Double
        public var ignoredParts: Int
        public var score: EvalReport

        enum CodingKeys: String, CodingKey { case name, clips, realTotal = "real_total", margin, ignoredParts = "ignored_parts" }

        public init(_ r: CalibrationRow) {
            (name, clips, realTotal, margin) = (r.name, r.score.clips.count, r.real.total, r.margin)
            ignoredParts = r.corruption?.ignoredParts ?? 0
            score = EvalReport(r.score.clips, rows: false)
        }

        // The row's own keys and its score's, flat in one object.
        public func encode(to encoder: Encoder) throws {
            try score.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name); try c.encode(clips, forKey: .clips)
            try c.encode(realTotal, forKey: .realTotal); try c.encode(margin, forKey: .margin)
            try c.encode(ignoredParts, forKey: .ignoredParts)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (name, clips) = (try c.decode(String.self, forKey: .name), try c.decode(Int.self, forKey: .clips))
            (realTotal, margin) = (try c.decode(Double.self, forKey: .realTotal), try c.decode(Double.self, forKey: .margin))
            ignoredParts = try c.decode(Int.self, forKey: .ignoredParts)
            score = try EvalReport(from: decoder)
        }
    }

    public init(seeds: [UInt64], rows: [CalibrationRow]) {
        self.seeds = seeds
        self.rows = rows.map(Row.init)
    }

    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }
}
