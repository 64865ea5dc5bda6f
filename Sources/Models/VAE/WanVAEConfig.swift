// AutoencoderKLWan's configuration with diffusers' config.json keys (docs/wan21.md §4), any
// `dim_mult` length and temporal pattern. Wan2.2's residual variant and patchified input are refused.
import Foundation

public struct WanVAEConfig: Codable, Equatable {
    public var baseDim: Int = 96
    /// Decoder width (defaults to baseDim).
    public var decoderBaseDim: Int? = nil
    public var zDim: Int = 16
    public var dimMult: [Int] = [1, 2, 4, 4]
    public var numResBlocks: Int = 2
    /// Encoder scales (1, 1/2, …) that get an attention block after each residual block.
    public var attnScales: [Double] = []
    /// One flag per downsampling stage: also halve the frame count (causally).
    public var temperalDownsample: [Bool] = [false, true, true]
    public var dropout: Double = 0
    /// Per-channel latent statistics: z_model = (z_vae − mean)/std.
    public var latentsMean: [Float] = WanVAEConfig.wanMean
    public var latentsStd: [Float] = WanVAEConfig.wanStd
    public var isResidual: Bool = false
    public var inChannels: Int = 3
    public var outChannels: Int = 3
    public var patchSize: Int? = nil

    public static let wanMean: [Float] = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                                          0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
    public static let wanStd: [Float] = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                                         3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160]

    enum CodingKeys: String, CodingKey {
        case baseDim = "base_dim", decoderBaseDim = "decoder_base_dim", zDim = "z_dim", dimMult = "dim_mult"
        case numResBlocks = "num_res_blocks", attnScales = "attn_scales", temperalDownsample = "temperal_downsample", dropout
        case latentsMean = "latents_mean", latentsStd = "latents_std", isResidual = "is_residual"
        case inChannels = "in_channels", outChannels = "out_channels", patchSize = "patch_size"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = WanVAEConfig()
        baseDim = try c.decodeIfPresent(Int.self, forKey: .baseDim) ?? d.baseDim
        decoderBaseDim = try c.decodeIfPresent(Int.self, forKey: .decoderBaseDim)
        zDim = try c.decodeIfPresent(Int.self, forKey: .zDim) ?? d.zDim
        dimMult = try c.decodeIfPresent([Int].self, forKey: .dimMult) ?? d.dimMult
        numResBlocks = try c.decodeIfPresent(Int.self, forKey: .numResBlocks) ?? d.numResBlocks
        attnScales = try c.decodeIfPresent([Double].self, forKey: .attnScales) ?? d.attnScales
        temperalDownsample = try c.decodeIfPresent([Bool].self, forKey: .temperalDownsample) ?? d.temperalDownsample
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0
        latentsMean = try c.decodeIfPresent([Float].self, forKey: .latentsMean) ?? d.latentsMean
        latentsStd = try c.decodeIfPresent([Float].self, forKey: .latentsStd) ?? d.latentsStd
        isResidual = try c.decodeIfPresent(Bool.self, forKey: .isResidual) ?? false
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 3
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 3
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize)
    }

    /// Spatial compression: 2 per downsampling stage.
    public var spatialCompression: Int { 1 << (dimMult.count - 1) }
    /// Temporal compression: 2 per temporal stage; F frames → (F−1)/t + 1 latent frames.
    public var temporalCompression: Int { 1 << temperalDownsample.filter { $0 }.count }

    public func validate(path: String = "config") throws {
        func bad(_ field: String, _ why: String) -> ModelError { .config(path: path, field: field, why) }
        guard baseDim > 0 else { throw bad("base_dim", "must be positive") }
        guard zDim > 0 else { throw bad("z_dim", "must be positive") }
        guard !dimMult.isEmpty, dimMult.allSatisfy({ $0 > 0 }) else { throw bad("dim_mult", "must be a non-empty list of positive multipliers") }
        guard numResBlocks > 0 else { throw bad("num_res_blocks", "must be positive") }
        guard temperalDownsample.count == dimMult.count - 1 else {
            throw bad("temperal_downsample", "needs \(dimMult.count - 1) flags (one per downsampling stage of dim_mult), got \(temperalDownsample.count)")
        }
        guard !isResidual else { throw bad("is_residual", "the Wan2.2 residual VAE is not supported") }
        guard patchSize == nil else { throw bad("patch_size", "patchified (Wan2.2) input is not supported") }
        guard inChannels == 3, outChannels == 3 else { throw bad(inChannels != 3 ? "in_channels" : "out_channels", "must be 3 (RGB)") }
        guard latentsMean.count == latentsStd.count else { throw bad("latents_std", "has \(latentsStd.count) values, latents_mean has \(latentsMean.count)") }
        if let i = latentsStd.firstIndex(where: { !($0 > 0) }) { throw bad("latents_std", "value \(i) is \(latentsStd[i]); must be positive") }
    }

    public static func load(_ path: String) throws -> WanVAEConfig {
        let config = try decodeConfigFile(WanVAEConfig.self, path: path)
        try config.validate(path: path)
        return config
    }
}
