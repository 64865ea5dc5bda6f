// The Wan-VAE (diffusers AutoencoderKLWan, docs/wan21.md §4) in its whole-sequence form: causal
// 3D convolutions over all frames at once, which equals diffusers' chunked feature-cache form to float
// rounding (§4.2). Parameters keep diffusers' names and shapes (2D convs stay [out, in, 3, 3]) so a
// state dict saves back in the same layout. Videos are [B, C, F, H, W], pixels in [−1, 1].
import NN
import Tensors

/// A layer of the VAE's heterogeneous block lists.
public protocol VAELayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// Conv3d with Wan's causal padding: 2·p frames in front, none behind; p on each spatial side.
public final class CausalConv3d: Module {
    public let weight: Tensor, bias: Tensor
    let geometry: Conv3dGeometry

    init(_ cin: Int, _ cout: Int, kernel: (Int, Int, Int), padding: (Int, Int, Int) = (0, 0, 0), stride: (Int, Int, Int) = (1, 1, 1), rng: inout RNG) {
        let fanIn = cin * kernel.0 * kernel.1 * kernel.2
        let bound = 1 / Float(fanIn).squareRoot()
        weight = parameter([cout, cin, kernel.0, kernel.1, kernel.2], rng.uniform(cout * fanIn).map { ($0 * 2 - 1) * bound })
        bias = parameter([cout], rng.uniform(cout).map { ($0 * 2 - 1) * bound })
        geometry = Conv3dGeometry(stride: stride, padding: [(2 * padding.0, 0), (padding.1, padding.1), (padding.2, padding.2)])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.conv3d(weight, bias, geometry) }
}

/// Wan's "RMS_norm": L2-normalise over channels, times √C and γ (γ stored as [C, 1, 1, 1] or [C, 1, 1]).
public final class VAENorm: Module {
    public let gamma: Tensor
    init(_ c: Int, images: Bool) { gamma = parameter(images ? [c, 1, 1] : [c, 1, 1, 1], [Float](repeating: 1, count: c)) }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.l2Norm(gamma: gamma) }
}

public final class VAEResidualBlock: VAELayer {
    public let norm1: VAENorm, conv1: CausalConv3d, norm2: VAENorm, conv2: CausalConv3d
    public let convShortcut: CausalConv3d?
    public var parameterKeys: [String: String] { ["convShortcut": "conv_shortcut"] }

    init(_ cin: Int, _ cout: Int, rng: inout RNG) {
        norm1 = VAENorm(cin, images: false)
        conv1 = CausalConv3d(cin, cout, kernel: (3, 3, 3), padding: (1, 1, 1), rng: &rng)
        norm2 = VAENorm(cout, images: false)
        conv2 = CausalConv3d(cout, cout, kernel: (3, 3, 3), padding: (1, 1, 1), rng: &rng)
        convShortcut = cin != cout ? CausalConv3d(cin, cout, kernel: (1, 1, 1), rng: &rng) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = convShortcut.map { $0(x) } ?? x
        return conv2(norm2(conv1(norm1(x).silu())).silu()) + h
    }
}

/// Single-head self-attention over each frame's pixels (the middle blocks).
public final class VAEAttentionBlock: VAELayer {
    public let norm: VAENorm
    public let qkvWeight: Tensor, qkvBias: Tensor      // Conv2d 1×1: [3C, C, 1, 1]
    public let projWeight: Tensor, projBias: Tensor    // Conv2d 1×1: [C, C, 1, 1]
    public var parameterKeys: [String: String] {
        ["qkvWeight": "to_qkv.weight", "qkvBias": "to_qkv.bias", "projWeight": "proj.weight", "projBias": "proj.bias"]
    }

    init(_ c: Int, rng: inout RNG) {
        norm = VAENorm(c, images: true)
        let bound = 1 / Float(c).squareRoot()
        qkvWeight = parameter([3 * c, c, 1, 1], rng.uniform(3 * c * c).map { ($0 * 2 - 1) * bound })
        qkvBias = parameter([3 * c], rng.uniform(3 * c).map { ($0 * 2 - 1) * bound })
        projWeight = parameter([c, c, 1, 1], rng.uniform(c * c).map { ($0 * 2 - 1) * bound })
        projBias = parameter([c], rng.uniform(c).map { ($0 * 2 - 1) * bound })
    }

    /// x: [B, C, T, H, W] → same
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        let tokens = norm(frames).reshape(b * t, c, h * w).transpose(1, 2)          // [BT, HW, C]
        let qkv = tokens.linear(qkvWeight.reshape(3 * c, c), qkvBias)               // [BT, HW, 3C]
        func part(_ i: Int) -> Tensor { qkv.slice(axis: 2, i * c, (i + 1) * c).reshape(b * t, h * w, 1, c) }
        let attended = Tensor.attention(q: part(0), k: part(1), v: part(2)).reshape(b * t, h * w, c)
        let out = attended.linear(projWeight.reshape(c, c), projBias)                 // [BT, HW, C]
        return out.transpose(1, 2).reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4) + x
    }
}

/// Down- or upsampling between stages (diffusers `WanResample`).
public final class VAEResample: VAELayer {
    public enum Mode: String { case downsample2d, downsample3d, upsample2d, upsample3d }
    public let mode: Mode
    /// The spatial Conv2d (`resample.1`): [C_out, C, 3, 3].
    public let weight: Tensor, bias: Tensor
    /// The temporal conv: (3,1,1) C→C stride 2 (down) or causal C→2C (up).
    public let timeConv: CausalConv3d?
    public var parameterKeys: [String: String] { ["weight": "resample.1.weight", "bias": "resample.1.bias", "timeConv": "time_conv"] }

    init(_ c: Int, mode: Mode, rng: inout RNG) {
        self.mode = mode
        let cout = mode == .upsample2d || mode == .upsample3d ? c / 2 : c
        let bound = 1 / Float(c * 9).squareRoot()
        weight = parameter([cout, c, 3, 3], rng.uniform(cout * c * 9).map { ($0 * 2 - 1) * bound })
        bias = parameter([cout], rng.uniform(cout).map { ($0 * 2 - 1) * bound })
        switch mode {
        case .downsample3d: timeConv = CausalConv3d(c, c, kernel: (3, 1, 1), stride: (2, 1, 1), rng: &rng)
        case .upsample3d: timeConv = CausalConv3d(c, 2 * c, kernel: (3, 1, 1), padding: (1, 0, 0), rng: &rng)
        default: timeConv = nil
        }
    }

    /// The 3×3 Conv2d applied to every frame, as a conv3d with a (1, 3, 3) kernel.
    func spatial(_ x: Tensor, _ geo: Conv3dGeometry) -> Tensor {
        x.conv3d(weight.reshape(weight.shape[0], weight.shape[1], 1, 3, 3), bias, geo)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch mode {
        case .downsample2d, .downsample3d:
            // Zero-pad right and bottom by 1, 3×3 stride 2.
            let y = spatial(x, Conv3dGeometry(stride: (1, 2, 2), padding: [(0, 0), (0, 1), (0, 1)]))
            guard mode == .downsample3d, let timeConv else { return y }
            // Frames y0…y2m → y0 unchanged, then the stride-2 time conv over all of them (no padding).
            let first = y.slice(axis: 2, 0, 1)
            if y.shape[2] == 1 { return first }
            return Tensor.concat([first, timeConv(y)], axis: 2)
        case .upsample2d, .upsample3d:
            var x = x
            if mode == .upsample3d, let timeConv, x.shape[2] > 1 {
                // Frame a0 passes; a1…a(n−1) go through the causal time conv (C → 2C) and each becomes two
                // frames: channels [0, C) then [C, 2C).
                let (b, c, n, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
                let y = timeConv(x.slice(axis: 2, 1, n))                                   // [B, 2C, n−1, H, W]
                let pairs = y.reshape(b, 2, c, n - 1, h, w).permute(0, 2, 3, 1, 4, 5)     // [B, C, n−1, 2, H, W]
                x = Tensor.concat([x.slice(axis: 2, 0, 1), pairs.reshape(b, c, 2 * (n - 1), h, w)], axis: 2)
            }
            return spatial(x.upsampleNearest((1, 2, 2)), Conv3dGeometry(padding: (0, 1, 1)))
        }
    }
}

public final class VAEMidBlock: Module {
    public let resnets: [VAEResidualBlock]
    public let attentions: [VAEAttentionBlock]

    init(_ c: Int, rng: inout RNG) {
        resnets = [VAEResidualBlock(c, c, rng: &rng), VAEResidualBlock(c, c, rng: &rng)]
        attentions = [VAEAttentionBlock(c, rng: &rng)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { resnets[1](attentions[0](resnets[0](x))) }
}

public final class VAEUpBlock: Module {
    public let resnets: [VAEResidualBlock]
    public let upsamplers: [VAEResample]

    init(_ cin: Int, _ cout: Int, blocks: Int, mode: VAEResample.Mode?, rng: inout RNG) {
        var r: [VAEResidualBlock] = []
        var c = cin
        for _ in 0..<blocks { r.append(VAEResidualBlock(c, cout, rng: &rng)); c = cout }
        resnets = r
        upsamplers = mode.map { [VAEResample(cout, mode: $0, rng: &rng)] } ?? []
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = resnets.reduce(x) { $1($0) }
        return upsamplers.first.map { $0(h) } ?? h
    }
}

public final class VAEEncoder: Module {
    public let convIn: CausalConv3d
    public let downBlocks: [any VAELayer]
    public let midBlock: VAEMidBlock
    public let normOut: VAENorm
    public let convOut: CausalConv3d
    public var parameterKeys: [String: String] {
        ["convIn": "conv_in", "downBlocks": "down_blocks", "midBlock": "mid_block", "normOut": "norm_out", "convOut": "conv_out"]
    }

    init(_ c: WanVAEConfig, rng: inout RNG) {
        let dims = ([1] + c.dimMult).map { $0 * c.baseDim }
        convIn = CausalConv3d(c.inChannels, dims[0], kernel: (3, 3, 3), padding: (1, 1, 1), rng: &rng)
        var layers: [any VAELayer] = []
        var scale = 1.0
        for i in 0..<c.dimMult.count {
            var cin = dims[i]
            for _ in 0..<c.numResBlocks {
                layers.append(VAEResidualBlock(cin, dims[i + 1], rng: &rng))
                if c.attnScales.contains(scale) { layers.append(VAEAttentionBlock(dims[i + 1], rng: &rng)) }
                cin = dims[i + 1]
            }
            if i != c.dimMult.count - 1 {
                layers.append(VAEResample(dims[i + 1], mode: c.temperalDownsample[i] ? .downsample3d : .downsample2d, rng: &rng))
                scale /= 2
            }
        }
        downBlocks = layers
        midBlock = VAEMidBlock(dims.last!, rng: &rng)
        normOut = VAENorm(dims.last!, images: false)
        convOut = CausalConv3d(dims.last!, 2 * c.zDim, kernel: (3, 3, 3), padding: (1, 1, 1), rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = downBlocks.reduce(convIn(x)) { $1($0) }
        return convOut(normOut(midBlock(h)).silu())
    }
}

public final class VAEDecoder: Module {
    public let convIn: CausalConv3d
    public let midBlock: VAEMidBlock
    public let upBlocks: [VAEUpBlock]
    public let normOut: VAENorm
    public let convOut: CausalConv3d
    public var parameterKeys: [String: String] {
        ["convIn": "conv_in", "upBlocks": "up_blocks", "midBlock": "mid_block", "normOut": "norm_out", "convOut": "conv_out"]
    }

    init(_ c: WanVAEConfig, rng: inout RNG) {
        let base = c.decoderBaseDim ?? c.baseDim
        let dims = ([c.dimMult.last!] + c.dimMult.reversed()).map { $0 * base }
        let temporalUp = Array(c.temperalDownsample.reversed())
        convIn = CausalConv3d(c.zDim, dims[0], kernel: (3, 3, 3), padding: (1, 1, 1), rng: &rng)
        midBlock = VAEMidBlock(dims[0], rng: &rng)
        var blocks: [VAEUpBlock] = []
        for i in 0..<c.dimMult.count {
            // Wan2.1 upsamplers halve the channels, so every stage after the first takes half its width.
            let cin = i > 0 ? dims[i] / 2 : dims[i]
            let up = i != c.dimMult.count - 1
            let mode: VAEResample.Mode? = up ? (temporalUp[i] ? .upsample3d : .upsample2d) : nil
            blocks.append(VAEUpBlock(cin, dims[i + 1], blocks: c.numResBlocks + 1, mode: mode, rng: &rng))
        }
        upBlocks = blocks
        normOut = VAENorm(dims.last!, images: false)
        convOut = CausalConv3d(dims.last!, c.outChannels, kernel: (3, 3, 3), padding: (1, 1, 1), rng: &rng)
    }

    public func callAsFunction(_ z: Tensor) -> Tensor {
        let h = upBlocks.reduce(midBlock(convIn(z))) { $1($0) }
        return convOut(normOut(h).silu())
    }
}

public final class WanVAE: Module {
    public let config: WanVAEConfig
    public let encoder: VAEEncoder, decoder: VAEDecoder
    public let quantConv: CausalConv3d, postQuantConv: CausalConv3d
    public var parameterKeys: [String: String] { ["quantConv": "quant_conv", "postQuantConv": "post_quant_conv"] }

    public init(_ c: WanVAEConfig, rng: inout RNG) throws {
        try c.validate()
        config = c
        encoder = VAEEncoder(c, rng: &rng)
        decoder = VAEDecoder(c, rng: &rng)
        quantConv = CausalConv3d(2 * c.zDim, 2 * c.zDim, kernel: (1, 1, 1), rng: &rng)
        postQuantConv = CausalConv3d(c.zDim, c.zDim, kernel: (1, 1, 1), rng: &rng)
    }

    /// Checks a video for `encode`: [B, 3, F, H, W] with F = 1 + k·(temporal compression).
    public func checkVideo(_ x: Tensor) throws {
        guard x.rank == 5, x.shape[1] == config.inChannels else {
            throw ModelError.input("VAE input \(x.shape) must be [B, \(config.inChannels), F, H, W]")
        }
        guard x.shape.allSatisfy({ $0 > 0 }) else { throw ModelError.input("VAE input \(x.shape) has an empty axis") }
        let t = config.temporalCompression
        guard x.shape[2] >= 1, (x.shape[2] - 1) % t == 0 else {
            throw ModelError.input("VAE input has \(x.shape[2]) frames; this VAE needs 1 + \(t)·k frames (1, \(1 + t), \(1 + 2 * t), …)")
        }
    }

    /// The encoder's distribution parameters before splitting (diffusers `_encode`): [B, 2z, F', H', W'].
    public func moments(_ x: Tensor) throws -> Tensor {
        try checkVideo(x)
        return quantConv(encoder(x))
    }

    /// The latent (mode of the posterior, un-normalised): [B, z, F', H', W'].
    public func encode(_ x: Tensor) throws -> Tensor {
        try moments(x).slice(axis: 1, 0, config.zDim)
    }

    /// Pixels in [−1, 1] from an un-normalised latent [B, z, F', H', W'] → [B, 3, F, H, W].
    public func decode(_ z: Tensor, clamp: Bool = true) throws -> Tensor {
        guard z.rank == 5, z.shape[1] == config.zDim else { throw ModelError.input("VAE latent \(z.shape) must be [B, \(config.zDim), F', H', W']") }
        guard z.shape.allSatisfy({ $0 > 0 }) else { throw ModelError.input("VAE latent \(z.shape) has an empty axis") }
        let y = decoder(postQuantConv(z))
        return clamp ? y.clamp(-1, 1) : y
    }

    /// Model-space latents (z − mean)/std ↔ VAE latents, per channel.
    public func normalize(_ z: Tensor) throws -> Tensor {
        let (mean, std) = try statistics()
        return (z - mean) / std
    }

    public func denormalize(_ z: Tensor) throws -> Tensor {
        let (mean, std) = try statistics()
        return z * std + mean
    }

    func statistics() throws -> (Tensor, Tensor) {
        guard config.latentsMean.count == config.zDim else {
            throw ModelError.config(path: "VAE config", field: "latents_mean", "has \(config.latentsMean.count) values for z_dim \(config.zDim)")
        }
        let shape = [1, config.zDim, 1, 1, 1]
        return (Tensor(shape: shape, data: config.latentsMean), Tensor(shape: shape, data: config.latentsStd))
    }
}

extension WanVAE {
    /// A diffusers-format VAE folder (config.json + weights).
    public static func load(folder: String) throws -> WanVAE {
        let config = try WanVAEConfig.load(folder + "/config.json")
        var rng = RNG(seed: 0)
        let model = try ParameterInit.forLoading { try WanVAE(config, rng: &rng) }
        try model.load(try readDiffusersWeights(folder: folder), path: folder)
        return model
    }
}
