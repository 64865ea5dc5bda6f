// Prompt embeddings exactly as diffusers' WanPipeline makes them (docs/wan21.md §6): the prompt
// cleaned, tokenized to at most `maxLength` ids ending in </s>, encoded by umT5, and written into a
// [B, maxLength, d_model] tensor whose rows after the real tokens are exactly zero.
import Foundation
import Tensors

public final class WanTextEncoder {
    public let tokenizer: SentencePieceTokenizer
    public let encoder: UMT5Encoder
    /// WanPipeline's default max_sequence_length.
    public static let defaultMaxLength = 512

    /// A Wan2.1 folder (tokenizer/spiece.model and text_encoder/), or the two folders given apart.
    public convenience init(wanFolder: String) throws {
        try self.init(tokenizer: wanFolder + "/tokenizer", textEncoder: wanFolder + "/text_encoder")
    }

    public init(tokenizer: String, textEncoder: String) throws {
        self.tokenizer = try SentencePieceTokenizer(path: tokenizer)
        encoder = try UMT5Encoder(folder: textEncoder)
        guard self.tokenizer.pieceCount <= encoder.config.vocabSize else {
            throw ModelError.file(path: self.tokenizer.path, "has \(self.tokenizer.pieceCount) pieces; the text encoder's vocabulary holds \(encoder.config.vocabSize)")
        }
    }

    /// The ids WanPipeline feeds the encoder for `prompt` (cleaned, `</s>`-terminated, at most maxLength).
    public func ids(_ prompt: String, maxLength: Int = defaultMaxLength) throws -> [Int] {
        try tokenizer.ids(PromptCleaning.clean(prompt), maxLength: maxLength)
    }

    /// [prompts.count, maxLength, d_model] prompt embeddings.
    public func embeddings(_ prompts: [String], maxLength: Int = defaultMaxLength) throws -> Tensor {
        guard maxLength >= 1 else { throw ModelError.input("max length must be at least 1, got \(maxLength)") }
        let hidden = try encoder(try prompts.map { try ids($0, maxLength: maxLength) })
        let rows = hidden.map { $0.pad([(0, maxLength - $0.shape[0]), (0, 0)]).reshape(1, maxLength, encoder.config.dModel) }
        return Tensor.concat(rows, axis: 0)
    }
}
