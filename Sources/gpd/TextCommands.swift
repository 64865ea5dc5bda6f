// `gpd text encode`: WanPipeline's prompt embeddings from a diffusers Wan2.1 folder.
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
