// WanTransformer3DModel's configuration with diffusers' config.json keys (docs/wan21.md §1).
// Unknown keys (`_class_name`, …) are ignored; I2V-only features are refused.
import Foundation
import Tensors

public struct WanTransformerConfig: Codable, Equatable {
    /// (frames, height, width) patch; only (1, 2, 2) is used by Wan2.1.
    public var patchSize: [Int] = [1, 2, 2]
    public var numAttentionHeads: Int = 12
    /// Head dim d; dim = heads · d.
    public var attentionHeadDim: Int = 128
    public var inChannels: Int = 16
    public var outChannels: Int = 16
    /// Width of the text embeddings fed as context.
    public var textDim: Int = 4096
    /// Sinusoidal timestep embedding width.
    public var freqDim: Int = 256
    public var ffnDim: Int = 8960
    public var numLayers: Int = 30
    /// Affine LayerNorm before cross-attention (True in every Wan2.1 T2V config).
    public var crossAttnNorm: Bool = true
    /// Only "rms_norm_across_heads" is supported.
    public var qkNorm: String? = "rms_norm_across_heads"
    public var eps: Float = 1e-6
    /// I2V only; must be null here.
    public var imageDim: Int? = nil
    public var addedKvProjDim: Int? = nil
    /// RoPE tables cover positions 0..<ropeMaxSeqLen per axis.
    public var ropeMaxSeqLen: Int = 1024

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", numAttentionHeads = "num_attention_heads", attentionHeadDim = "attention_head_dim"
        case inChannels = "in_channels", outChannels = "out_channels", textDim = "text_dim", freqDim = "freq_dim"
        case ffnDim = "ffn_dim", numLayers = "num_layers", crossAttnNorm = "cross_attn_norm", qkNorm = "qk_norm", eps
        case imageDim = "image_dim", addedKvProjDim = "added_kv_proj_dim", ropeMaxSeqLen = "rope_max_seq_len"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = WanTransformerConfig()
        patchSize = try c.decodeIfPresent([Int].self, forKey: .patchSize) ?? d.patchSize
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        attentionHeadDim = try c.decodeIfPresent(Int.self, forKey: .attentionHeadDim) ?? d.attentionHeadDim
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? inChannels
        textDim = try c.decodeIfPresent(Int.self, forKey: .textDim) ?? d.textDim
        freqDim = try c.decodeIfPresent(Int.self, forKey: .freqDim) ?? d.freqDim
        ffnDim = try c.decodeIfPresent(Int.self, forKey: .ffnDim) ?? d.ffnDim
        numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? d.numLayers
        crossAttnNorm = try c.decodeIfPresent(Bool.self, forKey: .crossAttnNorm) ?? d.crossAttnNorm
        qkNorm = try c.decodeIfPresent(String.self, forKey: .qkNorm)
        eps = try c.decodeIfPresent(Float.self, forKey: .eps) ?? d.eps
        imageDim = try c.decodeIfPresent(Int.self, forKey: .imageDim)
        addedKvProjDim = try c.decodeIfPresent(Int.self, forKey: .addedKvProjDim)
        ropeMaxSeqLen = try c.decodeIfPresent(Int.self, forKey: .ropeMaxSeqLen) ?? d.ropeMaxSeqLen
    }

    public var dim: Int { numAttentionHeads * attentionHeadDim }

    /// Wan2.1-T2V-1.3B (1,418,996,800 parameters).
    public static var wan1_3B: WanTransformerConfig {
        var c = WanTransformerConfig()
        (c.numAttentionHeads, c.attentionHeadDim, c.ffnDim, c.numLayers) = (12, 128, 8960, 30)
        return c
    }

    /// Wan2.1-T2V-14B (14,288,491,584 parameters).
    public static var wan14B: WanTransformerConfig {
        var c = WanTransformerConfig()
        (c.numAttentionHeads, c.attentionHeadDim, c.ffnDim, c.numLayers) = (40, 128, 13824, 40)
        return c
    }

    /// Refuses configs this implementation cannot run, before any compute. `path` names the source.
    public func validate(path: String = "config") throws {
        func bad(_ field: String, _ why: String) -> ModelError { .config(path: path, field: field, why) }
        guard patchSize.count == 3, patchSize.allSatisfy({ $0 > 0 }) else { throw bad("patch_size", "must be 3 positive sizes, got \(patchSize)") }
        guard numAttentionHeads > 0 else { throw bad("num_attention_heads", "must be positive") }
        guard attentionHeadDim > 0, attentionHeadDim % 2 == 0 else { throw bad("attention_head_dim", "must be positive and even (RoPE pairs), got \(attentionHeadDim)") }
        guard attentionHeadDim >= 6 else { throw bad("attention_head_dim", "must be at least 6 to split RoPE over 3 axes, got \(attentionHeadDim)") }
        for (field, v) in [("in_channels", inChannels), ("out_channels", outChannels), ("text_dim", textDim), ("ffn_dim", ffnDim),
                           ("num_layers", numLayers), ("rope_max_seq_len", ropeMaxSeqLen)] where v <= 0 {
            throw bad(field, "must be positive, got \(v)")
        }
        guard freqDim > 0, freqDim % 2 == 0 else { throw bad("freq_dim", "must be positive and even, got \(freqDim)") }
        guard qkNorm == "rms_norm_across_heads" else { throw bad("qk_norm", "only \"rms_norm_across_heads\" (Wan2.1) is supported, got \(qkNorm ?? "null")") }
        guard imageDim == nil, addedKvProjDim == nil else { throw bad(imageDim != nil ? "image_dim" : "added_kv_proj_dim", "image conditioning (I2V) is not supported") }
        guard eps > 0 else { throw bad("eps", "must be positive") }
        // Its weights must fit in memory as Float32 (counted in Double: a crafted config must not overflow an Int).
        let d = Double(numAttentionHeads) * Double(attentionHeadDim), p = Double(patchSize.reduce(1, *))
        let perLayer = 8 * d * d + 2 * d * Double(ffnDim) + 10 * d
        let weights = Double(numLayers) * perLayer + d * (Double(textDim) + Double(freqDim) + 8 * d + p * Double(inChannels + outChannels))
        guard weights * 4 <= Double(MemoryBudget.physicalBytes) else {
            throw bad("num_attention_heads", String(format: "with attention_head_dim, ffn_dim and num_layers the weights need %.3g GB as Float32; this machine has %.1f GB",
                                                    weights * 4 / 1e9, Double(MemoryBudget.physicalBytes) / 1e9))
        }
    }

    /// Reads and validates a diffusers `config.json`.
    public static func load(_ path: String) throws -> WanTransformerConfig {
        let config = try decodeConfigFile(WanTransformerConfig.self, path: path)
        try config.validate(path: path)
        return config
    }
}
