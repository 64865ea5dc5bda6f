// What a run needs besides its own folder, checked before the run is created: a VAE's init_from, a
// teacher's VAE and init_from (whose architecture must be the config's), a distillation's teacher and
// initial student. A config that names something that is not there (or is /etc/passwd, or
// demo:bogus) is refused with the key that names it, and no half-made run is left behind.
import Data
import Models
import ModelFolders
import Runs

public enum Preflight {
    public static func check(_ c: VAETrainConfig, path: String) throws {
        guard !c.model.initFrom.isEmpty else { return }
        var source: WanVAE!
        try loadable(path, "model.init_from", c.model.initFrom) { source = try WanVAE.load(folder: c.model.initFrom) }
        if c.model.initWidth > 1 { try VAETrainer.checkWidth(source: source.config, into: c.model.config, width: c.model.initWidth, path: path) }
    }

    /// `initialWeights` false (a run resuming from its checkpoint) skips `model.init_from`.
    public static func check(_ c: TeacherTrainConfig, path: String, runsRoot: String, initialWeights: Bool = true) throws {
        var vae: WanVAE!
        try loadable(path, "vae", c.vae) { vae = try WanVAE.load(folder: c.vae) }
        guard initialWeights, !c.model.initFrom.isEmpty else { return }
        var source: VideoModel!
        try loadable(path, "model.init_from", c.model.initFrom) { source = try VideoModel.load(folder: try ModelRef.resolve(c.model.initFrom, runsRoot: runsRoot)) }
        let zDim = vae.config.zDim
        let (t, m) = (source.textEncoder.config, source.transformer.config)
        let w = c.model.initWidth, widened = w > 1 ? " (times model.init_width = \(w))" : ""
        let pairs: [(String, String, String)] = [
            ("text.dim", "\(t.dim)", "\(c.text.dim)"), ("text.layers", "\(t.layers)", c.text.initLayers.isEmpty ? "\(c.text.layers)" : "\(t.layers)"),
            ("text.heads", "\(t.heads)", "\(c.text.heads)"), ("text.ffn", "\(t.ffn)", "\(c.text.ffn)"),
            ("text.text_length", "\(t.textLength)", "\(c.text.textLength)"),
            ("model.heads" + widened, "\(m.numAttentionHeads * w)", "\(c.model.heads)"),
            ("model.head_dim", "\(m.attentionHeadDim)", "\(c.model.headDim)"),
            ("model.layers", "\(m.numLayers)", c.model.initLayers.isEmpty ? "\(c.model.layers)" : "\(m.numLayers)"),
            ("model.ffn" + widened, "\(m.ffnDim * w)", "\(c.model.ffn)"), ("model.patch_size", "\(m.patchSize)", "\(c.model.patchSize)"),
            ("the VAE's z_dim", "\(m.inChannels)", "\(zDim)"), ("a tokenizer vocabulary", "\(t.vocab)", "\(Tokenizer().vocabularySize)"),
        ]
        if let (key, theirs, mine) = pairs.first(where: { $0.1 != $0.2 }) {
            throw ConfigError(path, "model.init_from", "'\(c.model.initFrom)' has \(key) = \(theirs) where this config has \(mine); the architectures must match")
        }
        if let bad = c.model.initLayers.first(where: { $0 >= m.numLayers }) {
            throw ConfigError(path, "model.init_layers", "names layer \(bad) where '\(c.model.initFrom)' has \(m.numLayers) (0…\(m.numLayers - 1))")
        }
        if let bad = c.text.initLayers.first(where: { $0 >= t.layers }) {
            throw ConfigError(path, "text.init_layers", "names layer \(bad) where '\(c.model.initFrom)''s text encoder has \(t.layers) (0…\(t.layers - 1))")
        }
        let ours = c.model.config(latentChannels: zDim, textDim: c.text.dim)
        var theirs = m
        (theirs.ropeMaxSeqLen, theirs.eps) = (ours.ropeMaxSeqLen, ours.eps)   // no weight depends on them
        if !c.model.initLayers.isEmpty { theirs.numLayers = ours.numLayers }   // model.init_layers maps them
        (theirs.numAttentionHeads, theirs.ffnDim) = (m.numAttentionHeads * w, m.ffnDim * w)   // model.init_width widens them
        guard theirs == ours else {
            throw ConfigError(path, "model.init_from", "'\(c.model.initFrom)' has a transformer this config cannot build (\(theirs) against \(ours))")
        }
    }

    public static func check(_ c: DistillConfig, path: String, runsRoot: String) throws {
        var teacher: VideoModel?
        try loadable(path, "teacher", c.teacher) { teacher = try VideoModel.load(folder: try ModelRef.resolve(c.teacher, runsRoot: runsRoot)) }
        if c.distill.autoguideWeight > 0, let teacher {
            guard let a = teacher.config.sampling.autoguide else {
                throw ConfigError(path, "distill.autoguide_weight", "the teacher '\(c.teacher)' names no weaker model in its sampling (model.json's sampling.autoguide)")
            }
            try loadable(path, "distill.autoguide_weight", c.teacher) { _ = try teacher.weaker(a) }
        }
        if !c.distill.initStudent.isEmpty {
            try loadable(path, "distill.init_student", c.distill.initStudent) {
                _ = try VideoModel.load(folder: try ModelRef.resolve(c.distill.initStudent, runsRoot: runsRoot))
            }
        }
    }

    static func loadable(_ path: String, _ key: String, _ value: String, _ load: () throws -> Void) throws {
        do { try load() } catch { throw ConfigError(path, key, "'\(value)' cannot be loaded: \(error)") }
    }
}
