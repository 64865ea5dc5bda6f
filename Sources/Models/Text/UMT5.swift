// Wan2.1's text encoder: the encoder half of umT5, as transformers' UMT5EncoderModel computes it
// (docs/wan21.md §6). Per block: T5's RMS norm (no mean, no bias), self-attention with no scaling of
// the logits and a relative-position bias of its own in every block (umT5; T5 has it in the first
// block only), then T5's norm and a gated-GELU feed-forward (tanh GELU of wi_0 times wi_1, then wo);
// a final norm. Inference only.
//
// Weights stay as the folder stores them (umT5-XXL: 5.7 B parameters, 11.4 GB as BF16, twice that as
// Float32) and each block's are widened to Float32 only while it runs, for all prompts at once; the
// token embedding widens only the rows a prompt uses. Each prompt runs over its real tokens alone:
// with padding masked out of the keys, the real tokens' outputs are the same, and Wan keeps only those.
import Foundation
import NN
import Tensors

public struct UMT5Config: Decodable, Equatable {
    public var vocabSize: Int
    public var dModel: Int
    public var dKV: Int
    public var dFF: Int
    public var numLayers: Int
    public var numHeads: Int
    public var relativeAttentionNumBuckets: Int
    public var relativeAttentionMaxDistance: Int
    public var feedForwardProj: String
    public var layerNormEpsilon: Float
    public var modelType: String?
    public var architectures: [String]?
    public var isDecoder: Bool?

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", dKV = "d_kv", dFF = "d_ff", numLayers = "num_layers", numHeads = "num_heads"
        case relativeAttentionNumBuckets = "relative_attention_num_buckets", relativeAttentionMaxDistance = "relative_attention_max_distance"
        case feedForwardProj = "feed_forward_proj", layerNormEpsilon = "layer_norm_epsilon", modelType = "model_type"
        case architectures, isDecoder = "is_decoder"
    }

    public init(vocabSize: Int, dModel: Int, dKV: Int, dFF: Int, numLayers: Int, numHeads: Int, buckets: Int = 32, maxDistance: Int = 128) {
        (self.vocabSize, self.dModel, self.dKV, self.dFF, self.numLayers, self.numHeads) = (vocabSize, dModel, dKV, dFF, numLayers, numHeads)
        (relativeAttentionNumBuckets, relativeAttentionMaxDistance) = (buckets, maxDistance)
        feedForwardProj = "gated-gelu"; layerNormEpsilon = 1e-6; modelType = "umt5"
    }

    public static func load(_ path: String) throws -> UMT5Config {
        let c = try decodeConfigFile(UMT5Config.self, path: path)
        try c.validate(path: path)
        return c
    }

    public func validate(path: String) throws {
        func bad(_ f: String, _ m: String) -> ModelError { .config(path: path, field: f, m) }
        let umt5 = modelType == "umt5" || (architectures ?? []).contains { $0.hasPrefix("UMT5") }
        guard umt5 else {
            throw bad("model_type", "is \(modelType.map { "'\($0)'" } ?? "missing"); the engine runs umT5 encoders (model_type 'umt5', Wan2.1's text encoder)")
        }
        guard isDecoder != true else { throw bad("is_decoder", "is true; only the encoder is supported") }
        guard feedForwardProj == "gated-gelu" else {
            throw bad("feed_forward_proj", "is '\(feedForwardProj)'; the engine supports 'gated-gelu' (umT5's), not other feed-forwards")
        }
        for (name, v) in [("vocab_size", vocabSize), ("d_model", dModel), ("d_kv", dKV), ("d_ff", dFF), ("num_heads", numHeads),
                          ("relative_attention_num_buckets", relativeAttentionNumBuckets)] where v <= 0 {
            throw bad(name, "must be positive, got \(v)")
        }
        guard numLayers >= 0 else { throw bad("num_layers", "must be ≥ 0, got \(numLayers)") }
        guard relativeAttentionNumBuckets >= 4 else { throw bad("relative_attention_num_buckets", "must be at least 4, got \(relativeAttentionNumBuckets)") }
        guard relativeAttentionMaxDistance > relativeAttentionNumBuckets / 4 else {
            throw bad("relative_attention_max_distance", "must exceed a quarter of the buckets, got \(relativeAttentionMaxDistance)")
        }
        guard layerNormEpsilon >= 0, layerNormEpsilon.isFinite else { throw bad("layer_norm_epsilon", "must be a finite value ≥ 0") }
    }
}

public final class UMT5Encoder {
    public let config: UMT5Config
    public let folder: String
    let weights: [String: StoredTensor]

    /// A transformers text-encoder folder: config.json and model.safetensors (or shards listed in
    /// model.safetensors.index.json), F32, F16 or BF16, transformers' tensor names.
    public init(folder: String) throws {
        self.folder = folder
        config = try UMT5Config.load(folder + "/config.json")
        var w = try readStoredWeights(folder: folder, name: "model")
        // The encoder's token embedding is tied to `shared`: a file may hold it under either name or both
        // (transformers then uses `shared`); keep one copy.
        if let e = w.removeValue(forKey: "encoder.embed_tokens.weight"), w["shared.weight"] == nil { w["shared.weight"] = e }
        weights = w
        try checkWeights()
    }

    /// Every tensor the encoder needs, with its shape: a missing or mis-shaped one is named.
    func checkWeights() throws {
        let c = config, inner = c.numHeads * c.dKV
        var expected: [(String, [Int])] = [("shared.weight", [c.vocabSize, c.dModel]), ("encoder.final_layer_norm.weight", [c.dModel])]
        for i in 0..<c.numLayers {
            let a = "encoder.block.\(i).layer.0.", f = "encoder.block.\(i).layer.1."
            expected += [(a + "layer_norm.weight", [c.dModel]), (a + "SelfAttention.q.weight", [inner, c.dModel]),
                         (a + "SelfAttention.k.weight", [inner, c.dModel]), (a + "SelfAttention.v.weight", [inner, c.dModel]),
                         (a + "SelfAttention.o.weight", [c.dModel, inner]),
                         (a + "SelfAttention.relative_attention_bias.weight", [c.relativeAttentionNumBuckets, c.numHeads]),
                         (f + "layer_norm.weight", [c.dModel]), (f + "DenseReluDense.wi_0.weight", [c.dFF, c.dModel]),
                         (f + "DenseReluDense.wi_1.weight", [c.dFF, c.dModel]), (f + "DenseReluDense.wo.weight", [c.dModel, c.dFF])]
        }
        let known = Set(expected.map(\.0))
        for (name, shape) in expected {
            guard let t = weights[name] else {
                let stray = weights.keys.filter { !known.contains($0) && $0.hasPrefix("encoder.") }.sorted().prefix(3)
                throw ModelError.file(path: folder, "tensor '\(name)' is missing" + (stray.isEmpty ? "" : " (unexpected tensors: \(stray.joined(separator: ", ")))"))
            }
            guard t.shape == shape else { throw ModelError.file(path: folder, "tensor '\(name)' has shape \(t.shape); the config asks for \(shape)") }
        }
    }

    /// Bytes of weights held (as stored).
    public var storedBytes: Int { weights.values.reduce(0) { $0 + $1.storedBytes } }

    func w(_ name: String) -> Tensor { weights[name]!.widened() }

    /// T5's bidirectional relative-position bucket of key position minus query position.
    public static func bucket(_ relative: Int, buckets: Int, maxDistance: Int) -> Int {
        let half = buckets / 2
        var b = relative > 0 ? half : 0
        let n = abs(relative), exact = half / 2
        if n < exact { return b + n }
        // Logarithmic bins from `exact` up to maxDistance, in Float32 as transformers computes them.
        let ratio = Float(Foundation.log(Double(Float(n) / Float(exact)))) / Float(Foundation.log(Double(maxDistance) / Double(exact)))
        b += min(exact + Int(ratio * Float(half - exact)), half - 1)
        return b
    }

    /// Hidden states of each prompt's token ids: one [n_i, d_model] tensor per prompt.
    public func callAsFunction(_ prompts: [[Int]]) throws -> [Tensor] {
        let c = config
        for ids in prompts {
            guard !ids.isEmpty else { throw ModelError.input("text encoder \(folder): a prompt has no tokens") }
            if let bad = ids.first(where: { $0 < 0 || $0 >= c.vocabSize }) {
                throw ModelError.input("text encoder \(folder): token id \(bad) is outside the vocabulary of \(c.vocabSize)")
            }
        }
        let table = weights["shared.weight"]!
        var xs = prompts.map { table.rows($0) }
        let buckets = prompts.map { ids -> [Int] in
            let n = ids.count
            return (0..<n * n).map { UMT5Encoder.bucket($0 % n - $0 / n, buckets: c.relativeAttentionNumBuckets, maxDistance: c.relativeAttentionMaxDistance) }
        }
        for i in 0..<c.numLayers {
            let a = "encoder.block.\(i).layer.0.", f = "encoder.block.\(i).layer.1."
            let (norm1, q, k, v, o) = (w(a + "layer_norm.weight"), w(a + "SelfAttention.q.weight"), w(a + "SelfAttention.k.weight"),
                                       w(a + "SelfAttention.v.weight"), w(a + "SelfAttention.o.weight"))
            let bias = w(a + "SelfAttention.relative_attention_bias.weight").data     // [buckets, heads]
            for (j, x) in xs.enumerated() {
                let n = x.shape[0], h = c.numHeads
                let normed = x.rmsNorm(weight: norm1, eps: c.layerNormEpsilon)
                func heads(_ t: Tensor) -> Tensor { t.reshape(n, h, c.dKV).permute(1, 0, 2) }
                var positionBias = [Float](repeating: 0, count: h * n * n)
                for (p, bucket) in buckets[j].enumerated() { for head in 0..<h { positionBias[head * n * n + p] = bias[bucket * h + head] } }
                let scores = heads(normed.linear(q)).matmul(heads(normed.linear(k)), transB: true) + Tensor(shape: [h, n, n], data: positionBias)
                let attended = scores.softmax().matmul(heads(normed.linear(v))).permute(1, 0, 2).reshape(n, h * c.dKV)
                xs[j] = x + attended.linear(o)
            }
            let (norm2, wi0, wi1, wo) = (w(f + "layer_norm.weight"), w(f + "DenseReluDense.wi_0.weight"), w(f + "DenseReluDense.wi_1.weight"),
                                         w(f + "DenseReluDense.wo.weight"))
            for (j, x) in xs.enumerated() {
                let normed = x.rmsNorm(weight: norm2, eps: c.layerNormEpsilon)
                xs[j] = x + (normed.linear(wi0).gelu() * normed.linear(wi1)).linear(wo)
            }
        }
        let final = w("encoder.final_layer_norm.weight")
        return xs.map { $0.rmsNorm(weight: final, eps: c.layerNormEpsilon) }
    }
}

/// A transformers/diffusers folder's weights as stored (`weightFiles`).
public func readStoredWeights(folder: String, name: String) throws -> [String: StoredTensor] {
    var out: [String: StoredTensor] = [:]
    for file in try weightFiles(folder: folder, name: name) {
        for (k, v) in try Safetensors.readStored(file).tensors { out[k] = v }
    }
    return out
}
