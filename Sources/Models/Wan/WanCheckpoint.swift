// Loading Wan2.1 transformer weights: diffusers folders (config.json + one or sharded safetensors) and
// original Wan names, mapped by one declarative table (docs/wan21.md §1, verified by a
// strict load with matching outputs). ComfyUI's `model.diffusion_model.` prefix is stripped.
import Foundation
import NN
import Tensors

public enum WanNames {
    /// Original Wan → diffusers name fragments, applied in order to every key. Diffusers names
    /// contain none of the left-hand sides, so both layouts load through the same function.
    public static let originalToDiffusers: [(String, String)] = [
        ("time_embedding.0.", "condition_embedder.time_embedder.linear_1."),
        ("time_embedding.2.", "condition_embedder.time_embedder.linear_2."),
        ("time_projection.1.", "condition_embedder.time_proj."),
        ("text_embedding.0.", "condition_embedder.text_embedder.linear_1."),
        ("text_embedding.2.", "condition_embedder.text_embedder.linear_2."),
        (".self_attn.q.", ".attn1.to_q."), (".self_attn.k.", ".attn1.to_k."), (".self_attn.v.", ".attn1.to_v."),
        (".self_attn.o.", ".attn1.to_out.0."), (".self_attn.norm_q.", ".attn1.norm_q."), (".self_attn.norm_k.", ".attn1.norm_k."),
        (".cross_attn.q.", ".attn2.to_q."), (".cross_attn.k.", ".attn2.to_k."), (".cross_attn.v.", ".attn2.to_v."),
        (".cross_attn.o.", ".attn2.to_out.0."), (".cross_attn.norm_q.", ".attn2.norm_q."), (".cross_attn.norm_k.", ".attn2.norm_k."),
        (".norm3.", ".norm2."),                       // the cross-attention LayerNorm (the only norm with weights)
        (".ffn.0.", ".ffn.net.0.proj."), (".ffn.2.", ".ffn.net.2."),
        ("head.head.", "proj_out."),
    ]

    public static let comfyPrefix = "model.diffusion_model."

    public static func diffusersName(_ key: String) -> String {
        var k = key.hasPrefix(comfyPrefix) ? String(key.dropFirst(comfyPrefix.count)) : key
        if k == "head.modulation" { return "scale_shift_table" }
        if k.hasPrefix("blocks."), k.hasSuffix(".modulation") { k = String(k.dropLast("modulation".count)) + "scale_shift_table" }
        for (a, b) in originalToDiffusers where k.contains(a) { k = k.replacingOccurrences(of: a, with: b) }
        return k
    }

    public static func diffusersNames(_ tensors: [String: Tensor]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in tensors { out[diffusersName(k)] = v }
        return out
    }
}

/// The weight files of a diffusers/transformers folder: `NAME.safetensors`, or the shards listed in
/// `NAME.safetensors.index.json` (each a file in the folder).
public func weightFiles(folder: String, name: String) throws -> [String] {
    let single = folder + "/\(name).safetensors"
    if FileManager.default.fileExists(atPath: single) { return [single] }
    let index = folder + "/\(name).safetensors.index.json"
    guard let data = FileManager.default.contents(atPath: index) else {
        throw TensorError.file(path: folder, "no \(name).safetensors or \(name).safetensors.index.json in this folder")
    }
    guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let map = json["weight_map"] as? [String: String] else {
        throw TensorError.file(path: index, "no weight_map object")
    }
    return try Set(map.values).sorted().map { shard in
        guard !shard.contains("/") else { throw TensorError.file(path: index, "shard name '\(shard)' must be a file in the folder") }
        return folder + "/" + shard
    }
}

/// Reads the weights of a diffusers model folder as Float32 (`weightFiles`).
public func readDiffusersWeights(folder: String, name: String = "diffusion_pytorch_model") throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for file in try weightFiles(folder: folder, name: name) {
        for (k, v) in try Safetensors.read(file).tensors { out[k] = v }
    }
    return out
}

extension WanTransformer {
    /// A diffusers-format transformer folder (config.json + weights), diffusers or original names.
    public static func load(folder: String) throws -> WanTransformer {
        let config = try WanTransformerConfig.load(folder + "/config.json")
        var rng = RNG(seed: 0)
        let model = try ParameterInit.forLoading { try WanTransformer(config, rng: &rng) }
        try model.load(WanNames.diffusersNames(try readDiffusersWeights(folder: folder)), path: folder)
        return model
    }
}
