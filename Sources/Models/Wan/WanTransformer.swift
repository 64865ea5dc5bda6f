// The Wan2.1 diffusion transformer, computed as diffusers' WanTransformer3DModel (T2V) computes it
// (docs/wan21.md §1). The module tree is diffusers' checkpoint namespace; renames of Swift
// property names are in each module's `parameterKeys`. Tokens are [B, L, D]; videos [B, C, F, H, W].
// Not here: I2V image conditioning, Wan2.2's per-token timesteps.
import Foundation
import NN
import Tensors

/// Self- or cross-attention with q/k RMSNorm across all heads (diffusers `WanAttention`).
public final class WanAttention: Module {
    public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    public let normQ: RMSNorm, normK: RMSNorm
    let heads: Int

    public var parameterKeys: [String: String] {
        ["toQ": "to_q", "toK": "to_k", "toV": "to_v", "toOut": "to_out.0", "normQ": "norm_q", "normK": "norm_k"]
    }

    init(dim: Int, heads: Int, eps: Float, rng: inout RNG) {
        toQ = Linear(dim, dim, rng: &rng); toK = Linear(dim, dim, rng: &rng)
        toV = Linear(dim, dim, rng: &rng); toOut = Linear(dim, dim, rng: &rng)
        normQ = RMSNorm(dim, eps: eps); normK = RMSNorm(dim, eps: eps)
        self.heads = heads
    }

    /// x: [B, L, D]; context: [B, Lc, D] for cross-attention (nil: self); rope: cos/sin [L, d/2] → [B, L, D]
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, rope: (cos: Tensor, sin: Tensor)? = nil) -> Tensor {
        let (b, l, dim) = (x.shape[0], x.shape[1], x.shape[2])
        let kv = context ?? x
        let lk = kv.shape[1], d = dim / heads
        let q: Tensor, k: Tensor
        if let rope {   // self-attention: the norm and the rotation as one op each
            q = toQ(x).rmsNormRope(weight: normQ.weight, eps: normQ.eps, heads: heads, cos: rope.cos, sin: rope.sin)
            k = toK(kv).rmsNormRope(weight: normK.weight, eps: normK.eps, heads: heads, cos: rope.cos, sin: rope.sin)
        } else {
            q = normQ(toQ(x)).reshape(b, l, heads, d)
            k = normK(toK(kv)).reshape(b, lk, heads, d)
        }
        let v = toV(kv).reshape(b, lk, heads, d)
        return toOut(Tensor.attention(q: q, k: k, v: v).reshape(b, l, dim))
    }
}

/// GELU(tanh) MLP: `net.0.proj` then `net.2` (diffusers `FeedForward`).
public final class WanFeedForward: Module {
    public let proj: Linear, out: Linear
    public var parameterKeys: [String: String] { ["proj": "net.0.proj", "out": "net.2"] }

    init(dim: Int, hidden: Int, rng: inout RNG) {
        proj = Linear(dim, hidden, rng: &rng)
        out = Linear(hidden, dim, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { out(proj(x).gelu()) }
}

public final class WanBlock: Module {
    /// [1, 6, D]: shift1, scale1, gate1, shift2, scale2, gate2 (added to the timestep projection).
    public let scaleShiftTable: Tensor
    public let attn1: WanAttention, attn2: WanAttention
    /// Affine LayerNorm before cross-attention (diffusers `norm2`; original `norm3`).
    public let norm2: LayerNorm?
    public let ffn: WanFeedForward
    let eps: Float

    public var parameterKeys: [String: String] { ["scaleShiftTable": "scale_shift_table"] }

    /// The tensors (names within a block) of the three projections whose outputs the block adds to its
    /// input: with all of them zero the block is the identity.
    public static let residualOutputs = ["attn1.to_out.0.weight", "attn1.to_out.0.bias", "attn2.to_out.0.weight", "attn2.to_out.0.bias",
                                         "ffn.net.2.weight", "ffn.net.2.bias"]

    public init(_ c: WanTransformerConfig, rng: inout RNG) {
        let dim = c.dim
        scaleShiftTable = parameter([1, 6, dim], rng.normal(6 * dim).map { $0 / Float(dim).squareRoot() })
        attn1 = WanAttention(dim: dim, heads: c.numAttentionHeads, eps: c.eps, rng: &rng)
        attn2 = WanAttention(dim: dim, heads: c.numAttentionHeads, eps: c.eps, rng: &rng)
        norm2 = c.crossAttnNorm ? LayerNorm(dim, eps: c.eps) : nil
        ffn = WanFeedForward(dim: dim, hidden: c.ffnDim, rng: &rng)
        eps = c.eps
    }

    /// x: [B, L, D], context: [B, Lc, D], timestepProj: [B, 6, D], rope cos/sin [L, d/2] → [B, L, D]
    public func callAsFunction(_ x: Tensor, context: Tensor, timestepProj: Tensor, rope: (cos: Tensor, sin: Tensor)) -> Tensor {
        let m = scaleShiftTable + timestepProj                               // [B, 6, D]
        func mod(_ i: Int) -> Tensor { m.slice(axis: 1, i, i + 1) }          // [B, 1, D], broadcast over L
        var x = x
        let n1 = x.layerNormModulated(scale: mod(1), shift: mod(0), eps: eps)
        x = x.addingGated(attn1(n1, rope: rope), gate: mod(2))
        let n2 = norm2.map { $0(x) } ?? x
        x = x + attn2(n2, context: context)
        let n3 = x.layerNormModulated(scale: mod(4), shift: mod(3), eps: eps)
        return x.addingGated(ffn(n3), gate: mod(5))
    }
}

/// Timestep → (temb, 6 modulation vectors) and text → context (diffusers `WanTimeTextImageEmbedding`).
public final class WanConditionEmbedder: Module {
    public final class MLP: Module {
        public let linear1: Linear, linear2: Linear
        public var parameterKeys: [String: String] { ["linear1": "linear_1", "linear2": "linear_2"] }
        init(_ a: Int, _ b: Int, rng: inout RNG) {
            linear1 = Linear(a, b, rng: &rng); linear2 = Linear(b, b, rng: &rng)
        }
    }

    public let timeEmbedder: MLP, timeProj: Linear, textEmbedder: MLP
    let freqDim: Int

    public var parameterKeys: [String: String] {
        ["timeEmbedder": "time_embedder", "timeProj": "time_proj", "textEmbedder": "text_embedder"]
    }

    init(_ c: WanTransformerConfig, rng: inout RNG) {
        timeEmbedder = MLP(c.freqDim, c.dim, rng: &rng)
        timeProj = Linear(c.dim, 6 * c.dim, rng: &rng)
        textEmbedder = MLP(c.textDim, c.dim, rng: &rng)
        freqDim = c.freqDim
    }

    /// The sinusoidal embedding [B, freqDim]: [cos(t·ω_k), sin(t·ω_k)], ω_k = 10000^(−k/half), in
    /// Float as diffusers computes it (flip_sin_to_cos=True, downscale_freq_shift=0).
    public static func sinusoid(_ timesteps: [Float], dim: Int) -> Tensor {
        let half = dim / 2
        var out = [Float](repeating: 0, count: timesteps.count * dim)
        let logPeriod = Float(-Foundation.log(10000.0))
        for (b, t) in timesteps.enumerated() {
            for k in 0..<half {
                let w = Foundation.exp(logPeriod * Float(k) / Float(half))
                let arg = t * w
                out[b * dim + k] = Foundation.cos(arg)
                out[b * dim + half + k] = Foundation.sin(arg)
            }
        }
        return Tensor(shape: [timesteps.count, dim], data: out)
    }

    /// temb [B, D] and timestep projection [B, 6, D].
    public func time(_ timesteps: [Float]) -> (temb: Tensor, projection: Tensor) {
        let temb = timeEmbedder.linear2(timeEmbedder.linear1(Self.sinusoid(timesteps, dim: freqDim)).silu())
        let proj = timeProj(temb.silu())
        return (temb, proj.reshape(timesteps.count, 6, -1))
    }

    /// context: [B, Ltxt, text_dim] (already zero-padded) → [B, Ltxt, D]
    public func text(_ context: Tensor) -> Tensor { textEmbedder.linear2(textEmbedder.linear1(context).gelu()) }
}

public final class WanTransformer: Module {
    public let config: WanTransformerConfig
    /// [D, C_in, p_t, p_h, p_w] and [D]: a Conv3d with kernel = stride = patch, applied as one GEMM.
    public let patchWeight: Tensor, patchBias: Tensor
    public let conditionEmbedder: WanConditionEmbedder
    public let blocks: [WanBlock]
    /// [1, 2, D]: shift, scale of the output head (added to temb).
    public let scaleShiftTable: Tensor
    public let projOut: Linear

    public var parameterKeys: [String: String] {
        ["patchWeight": "patch_embedding.weight", "patchBias": "patch_embedding.bias", "conditionEmbedder": "condition_embedder",
         "scaleShiftTable": "scale_shift_table", "projOut": "proj_out"]
    }

    /// A model with PyTorch-default initialisation, as diffusers builds it before loading weights.
    public init(_ c: WanTransformerConfig, rng: inout RNG) throws {
        try c.validate()
        config = c
        let (dim, patchIn) = (c.dim, c.inChannels * c.patchSize.product)
        let bound = 1 / Float(patchIn).squareRoot()
        patchWeight = parameter([dim, c.inChannels] + c.patchSize, rng.uniform(dim * patchIn).map { ($0 * 2 - 1) * bound })
        patchBias = parameter([dim], rng.uniform(dim).map { ($0 * 2 - 1) * bound })
        conditionEmbedder = WanConditionEmbedder(c, rng: &rng)
        var blocks: [WanBlock] = []
        for _ in 0..<c.numLayers { blocks.append(WanBlock(c, rng: &rng)) }
        self.blocks = blocks
        scaleShiftTable = parameter([1, 2, dim], rng.normal(2 * dim).map { $0 / Float(dim).squareRoot() })
        projOut = Linear(dim, c.outChannels * c.patchSize.product, rng: &rng)
    }

    /// The token grid (frames, height, width) of a latent, or an error naming what does not divide.
    public func grid(of x: Tensor) throws -> (f: Int, h: Int, w: Int) {
        guard x.rank == 5 else { throw ModelError.input("transformer input \(x.shape) must be [B, C, F, H, W]") }
        guard x.shape.allSatisfy({ $0 > 0 }) else { throw ModelError.input("transformer input \(x.shape) has an empty axis") }
        guard x.shape[1] == config.inChannels else {
            throw ModelError.input("transformer input \(x.shape) has \(x.shape[1]) channels; the model takes in_channels = \(config.inChannels)")
        }
        let p = config.patchSize
        for (i, name) in ["frames", "height", "width"].enumerated() where x.shape[2 + i] % p[i] != 0 {
            throw ModelError.input("transformer input \(name) \(x.shape[2 + i]) is not a multiple of the patch size \(p[i])")
        }
        let g = (x.shape[2] / p[0], x.shape[3] / p[1], x.shape[4] / p[2])
        guard max(g.0, g.1, g.2) <= config.ropeMaxSeqLen else {
            throw ModelError.input("transformer token grid \(g) exceeds rope_max_seq_len \(config.ropeMaxSeqLen)")
        }
        return g
    }

    /// x: [B, C, F, H, W] → tokens [B, L, D], L = f·h·w flattened frame-major.
    public func patchify(_ x: Tensor, grid g: (f: Int, h: Int, w: Int)) -> Tensor {
        let p = config.patchSize, c = config.inChannels, b = x.shape[0]
        let patches = x.reshape(b, c, g.f, p[0], g.h, p[1], g.w, p[2])
            .permute(0, 2, 4, 6, 1, 3, 5, 7)                                     // [B, f, h, w, C, pt, ph, pw]
            .reshape(b, g.f * g.h * g.w, c * p.product)
        return patches.linear(patchWeight.reshape(config.dim, c * p.product), patchBias)
    }

    /// RoPE angles for a token grid: cos/sin [L, d/2], the head dim split (t, h, w) as 2⌊d/6⌋ for h, w.
    /// Frequencies in Double (diffusers builds them in float64), pairs adjacent (interleaved).
    public func ropeTables(grid g: (f: Int, h: Int, w: Int)) -> (cos: Tensor, sin: Tensor) {
        let d = config.attentionHeadDim
        let hd = 2 * (d / 6), td = d - 2 * hd
        func freqs(_ dim: Int) -> [Double] { (0..<dim / 2).map { 1 / Foundation.pow(10000.0, Double(2 * $0) / Double(dim)) } }
        let (ft, fh, fw) = (freqs(td), freqs(hd), freqs(hd))
        let l = g.f * g.h * g.w, half = d / 2
        var c = [Float](repeating: 0, count: l * half), s = c
        for fi in 0..<g.f { for hi in 0..<g.h { for wi in 0..<g.w {
            let row = ((fi * g.h + hi) * g.w + wi) * half
            var m = 0
            for (pos, table) in [(fi, ft), (hi, fh), (wi, fw)] {
                for w in table {
                    let angle = Double(pos) * w
                    c[row + m] = Float(Foundation.cos(angle)); s[row + m] = Float(Foundation.sin(angle))
                    m += 1
                }
            }
        } } }
        return (Tensor(shape: [l, half], data: c), Tensor(shape: [l, half], data: s))
    }

    /// Output head and unpatchify: tokens [B, L, D], temb [B, D] → [B, C_out, F, H, W]
    public func head(_ x: Tensor, temb: Tensor, grid g: (f: Int, h: Int, w: Int)) -> Tensor {
        let b = x.shape[0], p = config.patchSize, co = config.outChannels
        let m = scaleShiftTable + temb.reshape(b, 1, config.dim)              // [B, 2, D]
        let (shift, scale) = (m.slice(axis: 1, 0, 1), m.slice(axis: 1, 1, 2))
        let o = projOut(x.layerNormModulated(scale: scale, shift: shift, eps: config.eps))   // [B, L, pt·ph·pw·C_out], channel fastest
        return o.reshape(b, g.f, g.h, g.w, p[0], p[1], p[2], co)
            .permute(0, 7, 1, 4, 2, 5, 3, 6)
            .reshape(b, co, g.f * p[0], g.h * p[1], g.w * p[2])
    }

    /// The predicted velocity. x: [B, C_in, F, H, W], timesteps: B values (t = 1000·σ),
    /// context: [B, Ltxt, text_dim] zero-padded to the text length → [B, C_out, F, H, W]. Blocks whose
    /// indices are in `skipping` are left out (the residual stream passes them unchanged): a weaker
    /// version of the same model, for autoguidance.
    public func callAsFunction(_ x: Tensor, timesteps: [Float], context: Tensor, skipping: Set<Int> = []) throws -> Tensor {
        let g = try grid(of: x)
        let b = x.shape[0]
        guard timesteps.count == b else { throw ModelError.input("transformer got \(timesteps.count) timesteps for a batch of \(b)") }
        guard context.rank == 3, context.shape[0] == b, context.shape[1] > 0, context.shape[2] == config.textDim else {
            throw ModelError.input("transformer context \(context.shape) must be [\(b), L ≥ 1, text_dim = \(config.textDim)]")
        }
        let rope = ropeTables(grid: g)
        let (temb, proj) = conditionEmbedder.time(timesteps)
        let ctx = conditionEmbedder.text(context)
        var h = patchify(x, grid: g)
        for (i, block) in blocks.enumerated() where !skipping.contains(i) { h = block(h, context: ctx, timestepProj: proj, rope: rope) }
        return head(h, temb: temb, grid: g)
    }
}
