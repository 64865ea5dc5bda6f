// The headline score cannot be fooled: on real clips of held-out prompts it is ≥ 0.95, every clip that
// ignores one part of its prompt loses ≥ 0.10, a frozen clip for a moving prompt scores ≤ 0.75, and
// ignoring two parts loses more than ignoring either one. The held-out split never reaches training,
// and the committed suite is the generated one.
import _TestSupport
@testable import Data
@testable import Eval
import Foundation
import Tensors
import XCTest

final class CalibrationTests: XCTestCase {
    /// The suite's held-out prompts (36), scored at two seeds: 72 real clips and each corruption of them.
    static let rows: [CalibrationRow] = {
        let heldOut = EvalSuite.generate().filter { Split.of(PromptGrammar.parse($0).scene!) == .heldOut }
        return try! Calibration.run(prompts: heldOut, seeds: [0, 1])
    }()

    func row(_ c: Corruption) -> CalibrationRow { Self.rows.first { $0.corruption == c }! }

    func testRealClipsOfHeldOutPromptsScoreHigh() {
        let real = Self.rows[0]
        XCTAssertEqual(real.name, "real")
        XCTAssertEqual(real.score.clips.count, 72)
        XCTAssertGreaterThanOrEqual(real.score.total, 0.95)
        XCTAssertEqual(real.score.heldOut?.clips, 72, "every prompt of this set is held out")
        XCTAssertNil(real.score.seen)
        for (d, v) in real.score.dimensions { XCTAssertGreaterThanOrEqual(v, 0.95, "\(d.rawValue) on real clips") }
    }

    func testEveryIgnoredPartCostsAtLeastATenth() {
        for r in Self.rows.dropFirst() {
            XCTAssertGreaterThanOrEqual(r.margin, 0.10, "\(r.name): total \(r.score.total) against real \(r.real.total)")
            XCTAssertGreaterThan(r.score.clips.count, 5, "\(r.name) applies to enough clips to mean something")
        }
        XCTAssertLessThanOrEqual(row(.frozen).score.total, 0.75, "a still clip for a moving prompt")
        XCTAssertLessThanOrEqual(row(.movesWhenStill).score.total, 0.75, "a moving clip for a still prompt")
    }

    func testTwoIgnoredPartsCostMoreThanOne() {
        XCTAssertGreaterThan(row(.wrongColorAndShape).margin, max(row(.wrongColor).margin, row(.wrongShape).margin))
        XCTAssertGreaterThan(row(.wrongMotionAndBackground).margin, max(row(.wrongBackground).margin, row(.frozen).margin, row(.movesWhenStill).margin))
    }

    /// The VBench-weighted score, kept for comparison, is the one a frozen clip fools: that is why it is not the headline.
    func testTheVBenchWeightedScoreIsKeptAndIsWhatStillnessFools() {
        XCTAssertGreaterThan(row(.frozen).score.vbenchTotal, 0.85)
        XCTAssertGreaterThan(Self.rows[0].score.vbenchTotal, 0.95)
    }

    /// Each dimension separates real clips from the corruption aimed at it.
    func testDimensionsSeparateTheirCorruptions() {
        let real = Self.rows[0].score.dimensions
        let aimed: [(Corruption, Eval.Dimension)] = [(.frozen, .motionDirection), (.reversed, .motionDirection), (.movesWhenStill, .motionDirection),
                                                (.wrongColor, .color), (.wrongShape, .shape), (.wrongCount, .objectCount),
                                                (.wrongBackground, .backgroundColor), (.wrongLayout, .spatialRelationship),
                                                (.blurred, .imagingSharpness), (.blurred, .spectralFidelity)]
        for (c, d) in aimed {
            XCTAssertLessThan(row(c).score.dimensions[d]!, real[d]! - 0.5, "\(d.rawValue) under \(c.rawValue)")
        }
    }

    func testMotionIsJudgedAgainstThePrompt() throws {
        let scene = Scene(objects: [SceneObject(.red, .square)], motion: .right, background: .blue)
        let clip = ShapesWorld.render(scene, seed: 3)
        XCTAssertEqual(try MiniVBench.score(clip.frames, prompt: "a red square moving right on a blue background").dimensions[.motionDirection], 1)
        XCTAssertEqual(try MiniVBench.score(clip.frames, prompt: "a red square moving left on a blue background").dimensions[.motionDirection], 0)
        XCTAssertEqual(try MiniVBench.score(clip.frames, prompt: "a red square staying still on a blue background").dimensions[.motionDirection], 0)
        // Faster than the world ever moves (a jump across the frame between the first and last quarter).
        XCTAssertFalse(MiniVBench.followsMotion((40, 0), .right, frames: 17, scale: 1))
        XCTAssertTrue(MiniVBench.followsMotion((12, 1), .right, frames: 17, scale: 1))
        XCTAssertFalse(MiniVBench.followsMotion((1, 0), .right, frames: 17, scale: 1), "barely moving is not moving")
    }

    func testBadFramesAreRefused() {
        let clip = ShapesWorld.sample(seed: 4)
        var d = clip.frames.data; d[10] = 1.5
        XCTAssertThrowsError(try MiniVBench.score(Tensor(shape: clip.frames.shape, data: d), prompt: clip.caption)) { e in
            XCTAssertTrue("\(e)".contains("[0, 1]"), "\(e)")
        }
    }

    func testSeedRangesAreBounded() throws {
        XCTAssertEqual(try EvalSuite.parseSeeds("0-4"), [0, 1, 2, 3, 4])
        XCTAssertEqual(try EvalSuite.parseSeeds("3,1"), [3, 1])
        for bad in ["0-9223372036854775807", "0-4611686018427387904", "0-100000000", "5-2", "a-b", ""] {
            XCTAssertThrowsError(try EvalSuite.parseSeeds(bad), bad) { XCTAssertTrue("\($0)".contains("at most 10000 seeds"), "\($0)") }
        }
        XCTAssertThrowsError(try WorldConfig(frames: 9_223_372_036_854_775_805).validate())
    }

    // MARK: the split

    func testTrainingStreamsNeverDrawAHeldOutComposition() {
        var held = 0
        for seed in 0..<10_000 as Range<UInt64> {
            XCTAssertFalse(HeldOut.contains(ShapesWorld.sample(seed: seed).scene), "training seed \(seed)")
            var rng = RNG(seed: seed)
            if HeldOut.contains(ShapesWorld.drawScene(&rng, config: .init())) { held += 1 }
        }
        // The grammar itself draws them often, so the rejection above is doing the work.
        XCTAssertGreaterThan(held, 10_000 / 5)
    }

    func testHeldOutCompositionsAreLayoutsNotWordings() {
        func scene(_ p: String) -> Scene { PromptGrammar.parse(p).scene! }
        XCTAssertEqual(HeldOut.reasons(scene("a white circle above a red square moving down on a gray background")), ["relation circle above square"])
        XCTAssertEqual(HeldOut.reasons(scene("a red square below a white circle moving down on a gray background")), ["relation circle above square"])
        XCTAssertEqual(HeldOut.reasons(scene("a yellow square and a white triangle staying still on a gray background")), ["relation square to the left of triangle"])
        XCTAssertEqual(HeldOut.reasons(scene("a big red triangle moving down on a gray background")), ["colour–shape red triangle"])
        XCTAssertEqual(HeldOut.reasons(scene("a white circle moving up on a gray background")), ["shape–motion circle moving up"])
        XCTAssertEqual(HeldOut.reasons(scene("a white circle moving down on a gray background")), [])
        // Every colour, shape, motion and relation on its own is still seen.
        let seen = (0..<3000 as Range<UInt64>).map { ShapesWorld.sample(seed: $0).scene }
        XCTAssertEqual(Set(seen.flatMap { $0.objects.map(\.color) }), Set(ShapeColor.objectColors))
        XCTAssertEqual(Set(seen.flatMap { $0.objects.map(\.shape) }), Set(ShapeKind.allCases))
        XCTAssertEqual(Set(seen.map(\.motion)), Set(Motion.allCases))
        XCTAssertEqual(Set(seen.compactMap(\.relation)), Set(Relation.allCases))
    }

    func testTheCommittedSuiteIsTheGeneratedOne() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../samples/prompts/eval.txt")
        let committed = EvalSuite.read(try String(contentsOf: url, encoding: .utf8))
        let generated = EvalSuite.generate()
        XCTAssertEqual(committed, generated, "regenerate with `gpd data prompts > samples/prompts/eval.txt`")
        let scenes = generated.map { PromptGrammar.parse($0).scene! }
        XCTAssertEqual(scenes.filter { Split.of($0) == .heldOut }.count, 36)
        XCTAssertTrue(scenes.allSatisfy { HeldOut.reasons($0).count <= 1 }, "each held-out prompt tests one composition")
        // Any trainer's slice (the first 8) mixes one- and two-object, seen and held-out prompts.
        let head = scenes.prefix(8)
        XCTAssertEqual(Set(head.map { $0.objects.count }), [1, 2])
        XCTAssertEqual(Set(head.map { Split.of($0) }), [.seen, .heldOut])
    }
}

/// A seeded mutation loop over clip files for `gpd eval --clips`: every mutated file is read or
/// refused with an error, never a crash.
final class ClipFileFuzzTests: XCTestCase {
    func testMutatedClipFilesAreReadOrRefused() throws {
        let dir = NSTemporaryDirectory() + "clipfuzz-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clip = ShapesWorld.sample(seed: 9, config: WorldConfig(frames: 5, size: 16))
        let valid = [UInt8](try Safetensors.serialize(["frames": clip.frames], metadata: ["caption": clip.caption], storage: .f32))
        var rng = RNG(seed: 79)
        var refused = 0
        for i in 0..<300 {
            var b = valid
            switch i % 3 {
            case 0: for _ in 0..<4 { b[rng.int(below: min(b.count, 200))] = UInt8(rng.int(below: 256)) }   // the header
            case 1: b.removeSubrange(rng.int(below: b.count)..<b.count)
            default: b[200 + rng.int(below: b.count - 200)] = 0xFF                                       // NaN-ish data
            }
            let path = dir + "/c\(i).safetensors"
            try Data(b).write(to: URL(fileURLWithPath: path))
            do {
                for c in try ClipSet.load(path) { _ = try MiniVBench.score(c.frames, prompt: c.prompt ?? "") }
            } catch { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 150)
    }
}
