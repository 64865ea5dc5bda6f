// `gpd text encode`: WanPipeline's prompt embeddings from a diffusers Wan2.1 folder, and the per-prompt
// cache `gpd sample --wan` reads them through.
import ArgumentParser
import Bench
import Diffusion
import Foundation
import Models
import Tensors

struct TextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "text", abstract: "Wan2.1's text encoder (umT5) and tokenizer.",
                                                    subcommands: [Encode.self])

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Prompt embeddings as diffusers' WanPipeline makes them: the prompt cleaned, tokenized, encoded by \
            umT5 and zero after its real tokens; writes prompt_embeds [1, L, d] (and input_ids).
            """)
        @Option(help: "A diffusers Wan2.1 folder (tokenizer/spiece.model and text_encoder/).") var model: String
        @Option(help: "The prompt.") var prompt: String
        @Option(help: "Tokens per prompt, </s> included (WanPipeline's max_sequence_length).") var maxLength: Int = WanTextEncoder.defaultMaxLength
        @Option(help: "Output .safetensors.") var out: String
        @Flag(help: "Print {\"seconds\", \"load_seconds\", \"tokens\", \"peak_rss_mib\"} as one JSON object.") var json = false

        func run() throws {
            guard (1...65_536).contains(maxLength) else { throw ValidationError("--max-length \(maxLength) must be 1…65536") }
            guard out.hasSuffix(".safetensors") else { throw ValidationError("--out must name a .safetensors file") }
            let t0 = Date()
            let text = try WanTextEncoder(wanFolder: model)
            let loaded = Date()
            let ids = try text.ids(prompt, maxLength: maxLength)
            let embeds = try text.embeddings([prompt], maxLength: maxLength)
            let seconds = Date().timeIntervalSince(loaded)
            try Safetensors.write(["prompt_embeds": embeds, "input_ids": Tensor(shape: [1, ids.count], data: ids.map(Float.init))],
                                  metadata: ["prompt": prompt, "cleaned_prompt": PromptCleaning.clean(prompt), "generator": "gpd text encode"], to: out)
            let rss = Double(ModelBench.peakRSSKiB()) / 1024
            if json {
                try printJSON(["seconds": seconds, "load_seconds": loaded.timeIntervalSince(t0), "tokens": ids.count, "peak_rss_mib": rss])
            } else {
                print(String(format: "%@: prompt_embeds %@, %d real tokens; encoded in %.3fs (load %.2fs), peak RSS %.0f MiB",
                             out, "\(embeds.shape)", ids.count, seconds, loaded.timeIntervalSince(t0), rss))
            }
        }
    }
}

/// Prompt embeddings of a Wan folder, cached per (folder, text-encoder files, max length, prompt) under
/// $XDG_CACHE_HOME/gpd/prompts (or ~/.cache/gpd/prompts): umT5-XXL takes seconds a prompt. A cache
/// file records its key and is used only when the key matches; one that cannot be read or written is
/// skipped, never an error.
struct PromptCache {
    let folder: WanFolder
    let maxLength: Int
    let directory: String

    init(folder: WanFolder, maxLength: Int) {
        self.folder = folder
        self.maxLength = maxLength
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        directory = base + "/gpd/prompts"
    }

    /// What a cached embedding depends on: the folder, its text encoder's and tokenizer's files (size and
    /// modification time), the max length and the prompt.
    func key(_ prompt: String) -> String {
        let path = URL(fileURLWithPath: folder.path).standardizedFileURL.path
        var parts = [path, String(maxLength), prompt]
        for sub in ["text_encoder", "tokenizer"] {
            let dir = path + "/" + sub
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                let a = try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)
                parts.append("\(sub)/\(name):\((a?[.size] as? NSNumber)?.intValue ?? -1):\((a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)")
            }
        }
        return parts.joined(separator: "\u{1F}")
    }

    /// FNV-1a, 64 bits: a file name, not a security boundary (the key inside the file is compared).
    static func hash(_ s: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(format: "%016llx", h)
    }

    func embeddings(_ prompt: String) throws -> Tensor {
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
