// Models and configs small enough to train and distil in a debug build, shared by the trainer tests.
import Data
import Diffusion
import Foundation
import ModelFolders
import Models
import Tensors

enum TinyModels {
    /// A random teacher folder (with its VAE in vae/): 16 px, 5 frames → latent 2×3×8×8, a one-layer DiT
    /// by default. Folders of one `vaeSeed` hold the same VAE; `seed` draws the rest.
    static func teacher(at folder: String, textLength: Int = 12, layers: Int = 1, seed: UInt64 = 1, vaeSeed: UInt64 = 1) throws {
        var rng = RNG(seed: vaeSeed)
        var vc = WanVAEConfig()
        (vc.baseDim, vc.zDim, vc.dimMult, vc.numResBlocks, vc.temperalDownsample) = (2, 2, [1, 2], 1, [true])
        vc.latentsMean = [0, 0]; vc.latentsStd = [1, 1]
        let vae = try WanVAE(vc, rng: &rng)
        if seed != vaeSeed { rng = RNG(seed: seed) }
        let text = try TextEncoder(TextEncoderConfig(vocab: Tokenizer().vocabularySize, dim: 8, layers: 1, heads: 2, ffn: 8, textLength: textLength), rng: &rng)
        var tc = WanTransformerConfig()
        (tc.numAttentionHeads, tc.attentionHeadDim, tc.numLayers, tc.ffnDim, tc.inChannels, tc.outChannels, tc.textDim, tc.freqDim) = (2, 6, layers, 8, 2, 2, 8, 16)
        let dit = try WanTransformer(tc, rng: &rng)
        let mc = VideoModelConfig(textEncoder: text.config, transformer: tc, frames: 5, size: 16,
                                  sampling: SamplingSettings(solver: .unipc, steps: 4, shift: 3, guidance: 3), kind: "teacher")
        try VideoModel(config: mc, textEncoder: text, transformer: dit, vae: vae).save(to: folder)
    }

    /// A teacher training config on the VAE folder `vae` (16 px, 5 frames, a one-layer DiT).
    static func teacherConfig(vae: String, steps: Int, batch: Int, checkpointEvery: Int, datasetClips: Int = 16) -> String {
        """
        kind = "teacher"
        vae = "\(vae)"
        [data]
        frames = 5
        size = 16
        [text]
        dim = 8
        layers = 1
        heads = 2
        ffn = 8
        [model]
        heads = 2
        head_dim = 6
        layers = 1
        ffn = 8
        [train]
        steps = \(steps)
        batch = \(batch)
        warmup = 1
        log_every = 1
        checkpoint_every = \(checkpointEvery)
        eval_every = 1000
        [flow]
        dataset_clips = \(datasetClips)
        [sample]
        steps = 2
        eval_prompts = 1
        """
    }
}
