// A small T5-style text encoder for ShapesWorld prompts, producing Wan's context interface
// (docs/wan21.md §5): [B, text_len, dim] with the real tokens (ending in EOS) first and exact
// zeros after. Pre-RMSNorm blocks (self-attention, GELU MLP), learned absolute positions, a final
// RMSNorm. Each prompt runs over its own real tokens only, so no attention mask is needed and the
// padding rows are exactly zero, as Wan's encoders trim and re-pad. Tokenization lives in Data
// (`Tokenizer`); this module takes token ids.
import Foundation
import NN
import Tensors

public struct TextEncoderConfig: Codable, Equatable {
    /// Token vocabulary size (the tokenizer's).
    public var vocab: Int = 64
    /// Width of the token vectors = the transformer's text_dim.
    public var dim: Int = 128
    public var layers: Int = 2
    public var heads: Int = 4
    public var ffn: Int = 256
    /// Tokens per prompt (real + EOS + padding).
    public var textLength: Int = 16

    enum CodingKeys: String, CodingKey { case vocab, dim, layers, heads, ffn, textLength = "text_length" }

    public init(vocab: Int = 64, dim: Int = 128, layers: Int = 2, heads: Int = 4, ffn: Int = 256, textLength: Int = 16) {
        self.vocab = vocab; self.dim = dim; self.layers = layers; self.heads = heads; self.ffn = ffn; self.textLength = textLength
    }

    public func validate(path: String = "text encoder") throws {
        func bad(_ f: String, _ m: String) -> ModelError { .config(path: path, field: f, m) }
        guard vocab > 3 else { throw bad("vocab", "must exceed the 3 special tokens") }
        guard dim > 0, heads > 0, dim % heads == 0 else { throw bad("heads", "dim \(dim) must divide into \(heads) heads") }
        guard layers >= 0, ffn > 0 else { throw bad("layers", "layers ≥ 0 and ffn > 0") }
        guard textLength >= 2 else { throw bad("text_length", "must be at least 2") }
    }
}

public final class TextEncoderBlock: Module {
    public let norm1: RMSNorm, q: Linear, k: Linear, v: Linear, o: Linear
    public let norm2: RMSNorm, wi: Linear, wo: Linear
    let heads: Int

    /// The tensors that write into the residual stream: zeroed, they make the block the identity
    /// (a new layer of a grown encoder, `text.init_layers`).
    public static let residualOutputs = ["o.weight", "o.bias", "wo.weight", "wo.bias"]

    init(_ c: TextEncoderConfig, rng: inout RNG) {
        norm1 = RMSNorm(c.dim); norm2 = RMSNorm(c.dim)
        q = Linear(c.dim, c.dim, rng: &rng); k = Linear(c.dim, c.dim, rng: &rng); v = Linear(c.dim, c.dim, rng: &rng); o = Linear(c.dim, c.dim, rng: &rng)
        wi = Linear(c.dim, c.ffn, rng: &rng); wo = Linear(c.ffn, c.dim, rng: &rng)
        heads = c.heads
    }

    /// x: [1, L, D] → [1, L, D]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (l, d) = (x.shape[1], x.shape[2])
        let n = norm1(x)
        let a = Tensor.attention(q: q(n).reshape(1, l, heads, d / heads), k: k(n).reshape(1, l, heads, d / heads), v: v(n).reshape(1, l, heads, d / heads))
        let h = x + o(a.reshape(1, l, d))
        return h + wo(wi(norm2(h)).gelu())
    }
}

public final class TextEncoder: Module {
    public let config: TextEncoderConfig
    public let tokenEmbedding: Tensor, positionEmbedding: Tensor
    public let blocks: [TextEncoderBlock]
    public let normOut: RMSNorm
    public var parameterKeys: [String: String] {
        ["tokenEmbedding": "token_embedding", "positionEmbedding": "position_embedding", "normOut": "norm_out"]
    }

    /// Standard deviation of the position embedding's initial values (the token embedding's is 1).
    public static let positionInitStd: Float = 0.02

    public init(_ c: TextEncoderConfig, rng: inout RNG) throws {
        try c.validate()
        config = c
        tokenEmbedding = parameter([c.vocab, c.dim], rng.normal(c.vocab * c.dim))
        positionEmbedding = parameter([c.textLength, c.dim], rng.normal(c.textLength * c.dim).map { $0 * Self.positionInitStd })
        blocks = (0..<c.layers).map { _ in TextEncoderBlock(c, rng: &rng) }
        normOut = RMSNorm(c.dim)
    }

    /// Each prompt's real token ids (ending in EOS, at most text_len) → [B, text_len, dim], zero after.
    public func callAsFunction(_ prompts: [[Int]]) throws -> Tensor {
        let rows = try prompts.map { ids -> Tensor in
            guard !ids.isEmpty, ids.count <= config.textLength else {
                throw ModelError.input("text encoder: a prompt has \(ids.count) tokens; 1…\(config.textLength) fit")
            }
            guard ids.allSatisfy({ $0 >= 0 && $0 < config.vocab }) else { throw ModelError.input("text encoder: token id outside 0..<\(config.vocab)") }
            let n = ids.count
            var x = (Tensor.embedding(tokenEmbedding, ids) + positionEmbedding.slice(axis: 0, 0, n)).reshape(1, n, config.dim)
            for b in blocks { x = b(x) }
            return normOut(x).pad([(0, 0), (0, config.textLength - n), (0, 0)])
        }
        return Tensor.concat(rows, axis: 0)
    }
}
