// A Wan VAE written as a diffusers-format folder (config.json with `_class_name` AutoencoderKLWan, and
// diffusion_pytorch_model.safetensors), which `WanVAE.load` and diffusers both read.
import Foundation
import Tensors

/// Writes a VAE as a diffusers-format folder.
public enum WanVAEExport {
    public static func write(_ vae: WanVAE, config: WanVAEConfig, to dir: String, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        json["_class_name"] = "AutoencoderKLWan"
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]), to: dir + "/config.json")
        try Safetensors.write(vae.stateDict(), metadata: metadata.merging(["format": "pt"]) { a, _ in a },
                              to: dir + "/diffusion_pytorch_model.safetensors")
    }
}
