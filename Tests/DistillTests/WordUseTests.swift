// WordUse: the changed scenes change exactly one attribute and stay sayable; a model that cannot see its
// prompt uses no word (gain exactly 0), one that can does; distances are those of the renderings.
import Data
import Distill
import Eval
import Foundation
import ModelFolders
import Tensors
import XCTest

final class WordUseTests: XCTestCase {
    func testChangedScenesChangeOneAttributeAndParseBack() throws {
        let scenes = try EvalSuite.prompts().map { PromptGrammar.parse($0).scene! }
        for s in scenes {
            for a in WordUse.Attribute.allCases {
                guard let t = WordUse.changed(s, a) else {
                    XCTAssertTrue(a == .relation && s.objects.count == 1, "\(a) of \(s.caption) has no change")
                    continue
                }
                XCTAssertEqual(PromptGrammar.parse(t.caption).scene, t, "\(a): \"\(t.caption)\" does not read back")
                XCTAssertFalse(t.objects.contains { $0.color == t.background }, t.caption)
                XCTAssertEqual(t.objects.count, s.objects.count)
                XCTAssertEqual(t.objects[0].shape != s.objects[0].shape, a == .shape, "\(a): \(s.caption) → \(t.caption)")
                XCTAssertEqual(t.objects[0].color != s.objects[0].color, a == .color, "\(a): \(s.caption) → \(t.caption)")
                XCTAssertEqual(t.motion != s.motion, a == .motion, "\(a): \(s.caption) → \(t.caption)")
                XCTAssertEqual(t.background != s.background, a == .background, "\(a): \(s.caption) → \(t.caption)")
                XCTAssertEqual(t.relation != s.relation, a == .relation, "\(a): \(s.caption) → \(t.caption)")
                if s.objects.count == 2 { XCTAssertEqual(t.objects[1], s.objects[1], "\(a) changed the second object") }
            }
        }
    }

    func testAModelBlindToItsPromptUsesNoWord() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wordUse-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TinyModels.teacher(at: dir)
        let m = try VideoModel.load(folder: dir)
        let scenes = ["a red circle moving left on a blue background", "a white square above a green triangle staying still on a black background"]
            .map { PromptGrammar.parse($0).scene! }
        let sigmas: [Float] = [0.4, 0.8]
        let seeing = try WordUse.measure(model: m, scenes: scenes, seed: 3, sigmas: sigmas)
        XCTAssertEqual(seeing.count, 4 * 2 + 2, "four attributes on both scenes, the layout on one, at two noise levels")
        // Losses are about 1 and rounded to Float (6e-8): a changed word moves a random model's loss by 1e-4–1e-3.
        for r in seeing { XCTAssertGreaterThan(abs(r.gain), 1e-5, "a random model that reads its prompt reacts to a changed \(r.attribute) (σ \(r.sigma))") }

        // The distances are the renderings' own: the changed scene's clip against the clip, through the VAE.
        let world = WorldConfig(frames: m.config.frames, size: m.config.size)
        func z(_ s: Scene, _ i: Int) throws -> Tensor {
            let c = ShapesWorld.render(s, seed: 3 + UInt64(i), config: world)
            return try GradMode.withDisabled { try m.vae.normalize(try m.vae.encode(c.pixels.reshape([1] + c.pixels.shape))) }
        }
        for a in WordUse.Attribute.allCases {
            var expected = 0.0, n = 0
            for (i, s) in scenes.enumerated() {
                guard let t = WordUse.changed(s, a) else { continue }
                expected += Double(Tensor.mse(try z(t, i), try z(s, i)).item); n += 1
            }
            for r in seeing where r.attribute == a {
                XCTAssertEqual(r.clips, n)
                XCTAssertEqual(r.distance, expected / Double(n), accuracy: 1e-6 * max(1, expected), "\(a)")
                XCTAssertGreaterThan(r.distance, 0, "\(a)")
            }
        }

        // Cut the text pathway (every block's cross-attention output): no word can matter any more.
        for b in m.transformer.blocks { for p in b.attn2.toOut.parameters() { p.data = [Float](repeating: 0, count: p.count) } }
        let blind = try WordUse.measure(model: m, scenes: scenes, seed: 3, sigmas: sigmas)
        for (r, s) in zip(blind, seeing) {
            XCTAssertEqual(r.gain, 0, accuracy: 1e-6, "\(r.attribute) at σ \(r.sigma)")
            XCTAssertEqual(r.distance, s.distance, "\(r.attribute)")
        }
        XCTAssertTrue(WordUse.summary(blind).allSatisfy { abs($0.1) < 1e-4 })
    }
}
