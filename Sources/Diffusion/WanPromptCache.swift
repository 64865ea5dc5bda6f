// The prompt-embedding cache of `gpd sample --wan` and the studio's Wan teacher.
import Foundation
import Models
import Tensors

/// Prompt embeddings of a Wan folder, cached per (folder, text-encoder files, max length, prompt) under
/// $XDG_CACHE_HOME/gpd/prompts (or ~/.cache/gpd/prompts): umT5-XXL takes seconds a prompt. A cache
/// file records its key and is used only when the key matches; one that cannot be read or written is
/// skipped, never an error.
public struct WanPromptCache {
    let folder: WanFolder
    let maxLength: Int
    let directory: String
    /// What every cached embedding of this folder depends on besides its prompt: the folder, its text
    /// encoder's and tokenizer's files (size and modification time, read when the folder was opened)
    /// and the max length.
    let fingerprint: String

    public init(folder: WanFolder, maxLength: Int) {
        self.folder = folder
        self.maxLength = maxLength
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        directory = base + "/gpd/prompts"
        let path = URL(fileURLWithPath: folder.path).standardizedFileURL.path
        var parts = [path, String(maxLength)]
        for sub in ["text_encoder", "tokenizer"] {
            let dir = path + "/" + sub
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                let a = try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)
                parts.append("\(sub)/\(name):\((a?[.size] as? NSNumber)?.intValue ?? -1):\((a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)")
            }
        }
        fingerprint = parts.joined(separator: "\u{1F}")
    }

    func key(_ prompt: String) -> String { fingerprint + "\u{1F}" + prompt }

    /// FNV-1a, 64 bits: a file name, not a security boundary (the key inside the file is compared).
    static func hash(_ s: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(format: "%016llx", h)
    }

    public func embeddings(_ prompt: String) throws -> Tensor {
        let k = key(prompt)
        let file = directory + "/" + Self.hash(k) + ".safetensors"
        if let cached = try? Safetensors.read(file), cached.metadata["key"] == k, let t = cached.tensors["prompt_embeds"] { return t }
        let t = try folder.text.embeddings([prompt], maxLength: maxLength)
        if (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil {
            try? Safetensors.write(["prompt_embeds": t], metadata: ["key": k], to: file)
        }
        return t
    }
}
