// Wan2.1's text path against transformers and diffusers (scripts/make_umt5_fixtures.py): the
// sentencepiece tokenizer's ids, WanPipeline's prompt cleaning and HTML unescaping, T5's relative-
// position buckets, the umT5 encoder's prompt embeddings from F32 and from sharded BF16 weights, and
// clear errors for folders that are not what they claim.
import _TestSupport
import Foundation
@testable import Models
import Tensors
import XCTest

final class UMT5Tests: XCTestCase {
    var folder: String!
    var io: SafetensorsFile!
    var prompts: [String] = [], cleaned: [String] = [], unescape: [[String]] = []

    override func setUpWithError() throws {
        folder = Bundle.module.url(forResource: "umt5", withExtension: nil, subdirectory: "Fixtures")!.path
        io = try Safetensors.read(folder + "/io.safetensors")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/prompts.json"))) as! [String: Any]
        prompts = json["prompts"] as! [String]
        cleaned = json["cleaned"] as! [String]
        unescape = json["unescape"] as! [[String]]
    }

    func ints(_ name: String) throws -> [Int] { try io.tensor(name).data.map { Int($0) } }

    func testTokenizerIDsEqualTransformers() throws {
        let tok = try SentencePieceTokenizer(path: folder + "/tokenizer")
        XCTAssertEqual(tok.eosID, 1); XCTAssertEqual(tok.padID, 0); XCTAssertEqual(tok.unkID, 2)
        for (i, p) in prompts.enumerated() {
            XCTAssertEqual(try tok.ids(p, maxLength: 10_000), try ints("ids.\(i)"), "prompt \(i) '\(p)'")
            // Truncated to the max length with </s> kept, as T5Tokenizer(truncation=True) does.
            let mask = try ints("mask.\(i)"), padded = try ints("input_ids.\(i)")
            XCTAssertEqual(try tok.ids(p, maxLength: 24), Array(padded.prefix(mask.reduce(0, +))), "prompt \(i) at max length 24")
        }
        XCTAssertTrue(try tok.ids(prompts[8], maxLength: 10_000).count > 24, "the long prompt must exceed the max length")
        XCTAssertTrue(try tok.encode(prompts[6]).contains(tok.unkID), "a character the model never saw is <unk>")
    }

    func testPromptCleaningEqualsDiffusers() throws {
        for (p, c) in zip(prompts, cleaned) { XCTAssertEqual(PromptCleaning.clean(p), c, "'\(p)'") }
        for pair in unescape { XCTAssertEqual(PromptCleaning.unescapeHTML(pair[0]), pair[1], "'\(pair[0])'") }
    }

    func testRelativePositionBucketsEqualTransformers() throws {
        let expected = try ints("buckets.32.128")
        let got = (-600...600).map { UMT5Encoder.bucket($0, buckets: 32, maxDistance: 128) }
        XCTAssertEqual(got, expected)
    }

    func testPromptEmbeddingsEqualWanPipeline() throws {
        for (weights, key) in [("text_encoder", "embeds"), ("text_encoder_bf16", "embeds_bf16")] {
            let text = try WanTextEncoder(tokenizer: folder + "/tokenizer", textEncoder: folder + "/" + weights)
            let all = try text.embeddings(prompts, maxLength: 24)
            XCTAssertEqual(all.shape, [prompts.count, 24, 32])
            for i in prompts.indices {
                let want = try io.tensor("\(key).\(i)")
                let got = all.slice(axis: 0, i, i + 1)
                assertClose(got, want, atol: 1e-5, rtol: 1e-4, "\(weights) prompt \(i)")
                // Rows after the real tokens are exactly zero.
                let real = try text.ids(prompts[i], maxLength: 24).count
                XCTAssertTrue(got.data[(real * 32)...].allSatisfy { $0 == 0 }, "prompt \(i) padding")
            }
        }
        // The BF16 reference differs from the F32 one by far more than the tolerance: the comparison
        // above tells the two weight files apart.
        let f32 = try io.tensor("embeds.0"), bf16 = try io.tensor("embeds_bf16.0")
        XCTAssertGreaterThan(zip(f32.data, bf16.data).map { abs($0 - $1) }.max()!, 0.01)
    }

    // MARK: errors

    func copyFolder(_ name: String) throws -> String {
        let tmp = NSTemporaryDirectory() + "umt5-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: tmp)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: tmp) }
        return tmp
    }

    func assertError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            for p in parts { XCTAssertTrue("\(e)".contains(p), "'\(e)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func testMissingOrMisnamedTensorIsNamed() throws {
        let dir = try copyFolder("text_encoder")
        var tensors = try Safetensors.read(dir + "/model.safetensors").tensors
        tensors["encoder.block.1.layer.0.SelfAttention.kk.weight"] = tensors.removeValue(forKey: "encoder.block.1.layer.0.SelfAttention.k.weight")
        try Safetensors.write(tensors, to: dir + "/model.safetensors")
        assertError(try UMT5Encoder(folder: dir), contains: [dir, "encoder.block.1.layer.0.SelfAttention.k.weight", "is missing", "SelfAttention.kk.weight"])

        tensors["encoder.block.1.layer.0.SelfAttention.k.weight"] = Tensor(shape: [32, 31], data: [Float](repeating: 0, count: 32 * 31))
        try Safetensors.write(tensors, to: dir + "/model.safetensors")
        assertError(try UMT5Encoder(folder: dir), contains: ["SelfAttention.k.weight", "[32, 31]", "[32, 32]"])

        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        assertError(try UMT5Encoder(folder: dir), contains: [dir, "no model.safetensors"])
    }

    func testUnsupportedConfigIsRefused() throws {
        let dir = try copyFolder("text_encoder")
        let path = dir + "/config.json"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        for (from, to, field) in [("\"gated-gelu\"", "\"relu\"", "feed_forward_proj"), ("\"umt5\"", "\"t5\"", "model_type"),
                                  ("\"num_heads\": 4", "\"num_heads\": 0", "num_heads"), ("\"d_model\": 32", "\"d_model\": \"32\"", "d_model")] {
            var text = original.replacingOccurrences(of: from, with: to)
            if field == "model_type" { text = text.replacingOccurrences(of: "UMT5EncoderModel", with: "T5EncoderModel") }
            XCTAssertNotEqual(text, original, "fixture config lacks \(from)")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            assertError(try UMT5Encoder(folder: dir), contains: [path, field])
        }
    }

    func testMissingOrBadTokenizerIsNamed() throws {
        let dir = try copyFolder("tokenizer")
        try FileManager.default.removeItem(atPath: dir + "/spiece.model")
        assertError(try SentencePieceTokenizer(path: dir), contains: [dir + "/spiece.model", "no sentencepiece model"])
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: dir + "/spiece.model"))
        assertError(try SentencePieceTokenizer(path: dir), contains: [dir + "/spiece.model", "not a sentencepiece model"])
    }
}
