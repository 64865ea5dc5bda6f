// The caption-structure task: its labels, read from training captions as the trainer reads them, name the
// object ShapesWorld actually draws on top or at the left; its loss trains the text encoder.
import Data
import Distill
import Foundation
import Models
import NN
import Tensors
import XCTest

final class CaptionStructureTests: XCTestCase {
    func testLabelsNameTheObjectDrawnOnTopOrAtTheLeft() throws {
        var kinds = Set<Int>()
        for seed in 0..<400 as Range<UInt64> {
            let clip = ShapesWorld.sample(seed: seed, config: WorldConfig(frames: 3, size: 32, twoObjectRate: 0.6))
            let scene = try XCTUnwrap(PromptGrammar.parse(clip.caption).scene, clip.caption)
            let s = CaptionStructure(scene)
            func color(_ o: ObjectTruth) -> Int { ShapeColor.allCases.firstIndex(of: o.color)! }
            func shape(_ o: ObjectTruth) -> Int { ShapeKind.allCases.firstIndex(of: o.shape)! }
            kinds.insert(s.axis)
            guard clip.truth.count == 2 else {
                XCTAssertEqual(s, CaptionStructure(colors: [color(clip.truth[0]), ShapeColor.allCases.count],
                                                   shapes: [shape(clip.truth[0]), ShapeKind.allCases.count], axis: 0), clip.caption)
                continue
            }
            let (a, b) = (clip.truth[0].centers[0], clip.truth[1].centers[0])
            let vertical = abs(a[1] - b[1]) > abs(a[0] - b[0])
            let along = vertical ? 1 : 0      // the coordinate the pair is ordered by: y when stacked, else x
            let first = a[along] < b[along] ? clip.truth[0] : clip.truth[1], second = a[along] < b[along] ? clip.truth[1] : clip.truth[0]
            XCTAssertEqual(s, CaptionStructure(colors: [color(first), color(second)], shapes: [shape(first), shape(second)], axis: vertical ? 2 : 1),
                           clip.caption)
        }
        XCTAssertEqual(kinds, [0, 1, 2], "one object, side by side and stacked all occur")
    }

    /// The head's loss alone reaches every text-encoder weight that shapes its outputs, and a few steps
    /// of it read the labels of a fixed set of captions.
    func testTheStructureLossTrainsTheTextEncoder() throws {
        var rng = RNG(seed: 3)
        let tok = Tokenizer()
        let encoder = try TextEncoder(TextEncoderConfig(vocab: tok.vocabularySize, dim: 32, layers: 1, heads: 2, ffn: 64, textLength: 16), rng: &rng)
        let head = StructureHead(dim: 32, rng: &rng)
        let captions = ["a red circle above a blue square staying still on a white background",
                        "a red circle below a blue square staying still on a white background",
                        "a blue square to the right of a red circle moving up on a white background",
                        "a green triangle moving left on a black background"]
        let labels = captions.map { CaptionStructure(PromptGrammar.parse($0).scene!) }
        func loss() throws -> StructureHead.Result {
            let ids = captions.map { c -> [Int] in let t = tok.encode(c, length: 16); return Array(t.ids.prefix(t.count)) }
            let out = try encoder(ids)
            return head(ids.indices.map { out.slice(axis: 0, $0, $0 + 1).reshape(16, 32).slice(axis: 0, 0, ids[$0].count) }, labels: labels)
        }
        let first = try loss()
        first.loss.backward()
        for (name, p) in encoder.namedParameters() {
            XCTAssertGreaterThan(p.grad?.map { $0 * $0 }.reduce(0, +) ?? 0, 0, "\(name) gets no gradient")
        }
        let params = encoder.parameters() + head.parameters()
        let opt = AdamW(params, lr: 3e-3, betas: (0.9, 0.99), weightDecay: 0)
        var last = first
        for _ in 0..<150 {
            opt.zeroGrad()
            last = try loss()
            last.loss.backward()
            opt.update()
        }
        XCTAssertLessThan(last.loss.item, 0.05 * first.loss.item, "the structure loss falls")
        XCTAssertEqual(last.exact, 1, "every label of the four captions is read")
    }
}
