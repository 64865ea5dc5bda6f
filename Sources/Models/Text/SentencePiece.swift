// The T5/umT5 tokenizer of a Wan2.1 folder: its sentencepiece model (tokenizer/spiece.model) run by
// libsentencepiece, with T5's conventions on top (docs/wan21.md §6): `</s>` appended, truncation to the
// max length keeping room for it, `<pad>` after.
import CSentencePiece
import Foundation

public final class SentencePieceTokenizer {
    private let model: OpaquePointer
    public let path: String
    public let pieceCount: Int
    public let eosID: Int, unkID: Int, padID: Int

    /// Loads `path` (a spiece.model file, or a folder holding one).
    public init(path: String) throws {
        var isDir: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue ? path + "/spiece.model" : path
        guard FileManager.default.fileExists(atPath: file) else {
            throw ModelError.file(path: file, "no sentencepiece model here (a Wan2.1 folder keeps it as tokenizer/spiece.model)")
        }
        var error = [CChar](repeating: 0, count: 512)
        guard let m = gpd_spm_load(file, &error, error.count) else {
            throw ModelError.file(path: file, "not a sentencepiece model: \(String(cString: error))")
        }
        model = m
        self.path = file
        (pieceCount, eosID, unkID, padID) = (Int(gpd_spm_piece_size(m)), Int(gpd_spm_eos_id(m)), Int(gpd_spm_unk_id(m)), Int(gpd_spm_pad_id(m)))
        guard eosID >= 0 else {
            gpd_spm_free(m)
            throw ModelError.file(path: file, "the model has no </s> piece, which T5 tokenization appends")
        }
    }

    deinit { gpd_spm_free(model) }

    /// The pieces of `text` as ids, nothing added.
    public func encode(_ text: String) throws -> [Int] {
        var bytes = Array(text.utf8)
        var ids = [Int32](repeating: 0, count: max(16, bytes.count + 1))
        var error = [CChar](repeating: 0, count: 512)
        while true {
            let n = bytes.withUnsafeMutableBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { gpd_spm_encode(model, $0.baseAddress ?? nil, $0.count, &ids, ids.count, &error, error.count) }
            }
            guard n >= 0 else { throw ModelError.input("tokenizer \(path): \(String(cString: error))") }
            if n <= ids.count { return ids[..<n].map(Int.init) }
            ids = [Int32](repeating: 0, count: n)
        }
    }

    /// T5's ids for one prompt: its pieces, cut to `maxLength − 1`, then `</s>`.
    public func ids(_ text: String, maxLength: Int) throws -> [Int] {
        precondition(maxLength >= 1)
        return Array(try encode(text).prefix(maxLength - 1)) + [eosID]
    }
}
