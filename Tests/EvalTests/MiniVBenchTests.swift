// MiniVBench calibration: real ShapesWorld clips score ≥ 0.97 on every dimension; each corruption
// lowers the dimensions it should (by a margin) and leaves the others high.
import _TestSupport
import Data
@testable import Eval
import Foundation
import Tensors
import XCTest

enum Corrupt {
    /// Separable Gaussian blur of each frame (σ in pixels).
    static func blur(_ x: Tensor, sigma: Float) -> Tensor {
        let (f, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let r = Int((3 * sigma).rounded(.up))
        let k = (-r...r).map { Foundation.exp(-Float($0 * $0) / (2 * sigma * sigma)) }
        let ks = k.reduce(0, +)
        func pass(_ src: [Float], horizontal: Bool) -> [Float] {
            var out = src
            for t in 0..<f { for y in 0..<h { for xx in 0..<w { for c in 0..<3 {
                var s: Float = 0
                for (i, kv) in k.enumerated() {
                    let o = i - r
                    let (sx, sy) = horizontal ? (min(max(xx + o, 0), w - 1), y) : (xx, min(max(y + o, 0), h - 1))
                    s += kv * src[((t * h + sy) * w + sx) * 3 + c]
                }
                out[((t * h + y) * w + xx) * 3 + c] = s / ks
            } } } }
            return out
        }
        return Tensor(shape: x.shape, data: pass(pass(x.data, horizontal: true), horizontal: false))
    }

    static func noise(_ x: Tensor, sigma: Float, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        return Tensor(shape: x.shape, data: zip(x.data, rng.normal(x.count)).map { min(max($0 + sigma * $1, 0), 1) })
    }

    static func frozen(_ x: Tensor) -> Tensor {
        let per = x.count / x.shape[0]
        return Tensor(shape: x.shape, data: (0..<x.shape[0]).flatMap { _ in x.data[0..<per] })
    }

    static func shuffled(_ x: Tensor, seed: UInt64) -> Tensor {
        let f = x.shape[0], per = x.count / f
        var order = Array(0..<f)
        var rng = RNG(seed: seed)
        for i in stride(from: f - 1, to: 0, by: -1) { order.swapAt(i, rng.int(below: i + 1)) }
        return Tensor(shape: x.shape, data: order.flatMap { x.data[($0 * per)..<(($0 + 1) * per)] })
    }

    /// Pixels close to `from` become `to` (blended edges follow).
    static func recolor(_ x: Tensor, from: ShapeColor, to: ShapeColor, background: ShapeColor) -> Tensor {
        var d = x.data
        let (a, b, bg) = (from.rgb, to.rgb, background.rgb)
        let dir = (a.0 - bg.0, a.1 - bg.1, a.2 - bg.2)
        let len2 = dir.0 * dir.0 + dir.1 * dir.1 + dir.2 * dir.2
        for i in stride(from: 0, to: d.count, by: 3) {
            let t = ((d[i] - bg.0) * dir.0 + (d[i + 1] - bg.1) * dir.1 + (d[i + 2] - bg.2) * dir.2) / len2
            let resid = ((d[i] - bg.0 - t * dir.0) * (d[i] - bg.0 - t * dir.0) + (d[i + 1] - bg.1 - t * dir.1) * (d[i + 1] - bg.1 - t * dir.1)
                         + (d[i + 2] - bg.2 - t * dir.2) * (d[i + 2] - bg.2 - t * dir.2)).squareRoot()
            guard t > 0.05, resid < 0.05 else { continue }
            let tt = min(t, 1)
            d[i] = bg.0 + tt * (b.0 - bg.0); d[i + 1] = bg.1 + tt * (b.1 - bg.1); d[i + 2] = bg.2 + tt * (b.2 - bg.2)
        }
        return Tensor(shape: x.shape, data: d)
    }
}

final class MiniVBenchTests: XCTestCase {
    static let clips: [Clip] = (0..<48).map { ShapesWorld.sample(seed: 1000 + UInt64($0)) }

    func score(_ transform: (Clip) -> Tensor?, _ filter: (Clip) -> Bool = { _ in true }) throws -> BenchScore {
        var scores: [ClipScore] = []
        for c in Self.clips where filter(c) {
            guard let x = transform(c) else { continue }
            scores.append(try MiniVBench.score(x, prompt: c.caption))
        }
        return MiniVBench.aggregate(scores)
    }

    func describe(_ s: BenchScore) -> String {
        Dimension.allCases.compactMap { d in s.dimensions[d].map { "\(d.rawValue)=\(String(format: "%.3f", $0))" } }.joined(separator: " ")
    }

    func testRealClipsScoreNearOne() throws {
        let s = try score { $0.frames }
        for (d, v) in s.dimensions { XCTAssertGreaterThanOrEqual(v, 0.97, "\(d.rawValue) on real clips: \(describe(s))") }
        XCTAssertGreaterThanOrEqual(s.total, 0.97)
        XCTAssertEqual(Set(s.dimensions.keys), Set(Dimension.allCases), "every dimension applies somewhere in the set")
    }

    func testBlurLosesSharpnessAndSpectrumOnly() throws {
        let real = try score { $0.frames }, blurred = try score { Corrupt.blur($0.frames, sigma: 1.2) }
        for d in [Dimension.imagingSharpness, .spectralFidelity] {
            XCTAssertLessThan(blurred.dimensions[d]!, real.dimensions[d]! - 0.15, "\(d.rawValue): \(describe(blurred))")
        }
        for d in [Dimension.color, .backgroundColor, .motionDirection] {
            XCTAssertGreaterThanOrEqual(blurred.dimensions[d]!, 0.9, "\(d.rawValue) should survive blur: \(describe(blurred))")
        }
    }

    func testNoiseLosesFlickerAndConsistency() throws {
        let real = try score { $0.frames }, noisy = try score { Corrupt.noise($0.frames, sigma: 0.08, seed: 3) }
        for d in [Dimension.temporalFlickering, .backgroundConsistency] {
            XCTAssertLessThan(noisy.dimensions[d]!, real.dimensions[d]! - 0.15, "\(d.rawValue): \(describe(noisy))")
        }
        XCTAssertGreaterThanOrEqual(noisy.dimensions[.backgroundColor]!, 0.9, describe(noisy))
    }

    func testFrozenClipsLoseMotion() throws {
        let moving: (Clip) -> Bool = { $0.scene.motion != .still }
        let real = try score({ $0.frames }, moving), frozen = try score({ Corrupt.frozen($0.frames) }, moving)
        for d in [Dimension.dynamicDegree, .motionDirection] {
            XCTAssertLessThan(frozen.dimensions[d]!, real.dimensions[d]! - 0.5, "\(d.rawValue): \(describe(frozen))")
        }
        for d in [Dimension.color, .shape, .backgroundColor] {
            XCTAssertGreaterThanOrEqual(frozen.dimensions[d]!, 0.9, "\(d.rawValue) should survive freezing: \(describe(frozen))")
        }
    }

    func testWrongColorLosesColorOnly() throws {
        let wrong = try score { c -> Tensor? in
            let o = c.scene.objects[0].color
            guard let to = ShapeColor.objectColors.first(where: { $0 != o && $0 != c.scene.background && !c.scene.objects.map(\.color).contains($0) }) else { return nil }
            return Corrupt.recolor(c.frames, from: o, to: to, background: c.scene.background)
        }
        let real = try score { $0.frames }
        XCTAssertLessThan(wrong.dimensions[.color]!, real.dimensions[.color]! - 0.3, describe(wrong))
        for d in [Dimension.shape, .backgroundColor, .motionDirection, .objectCount, .imagingSharpness] {
            XCTAssertGreaterThanOrEqual(wrong.dimensions[d]!, 0.9, "\(d.rawValue) should survive recolouring: \(describe(wrong))")
        }
    }

    func testShuffledFramesLoseSmoothness() throws {
        let moving: (Clip) -> Bool = { $0.scene.motion != .still }
        let real = try score({ $0.frames }, moving), shuffled = try score({ Corrupt.shuffled($0.frames, seed: 5) }, moving)
        XCTAssertLessThan(shuffled.dimensions[.motionSmoothness]!, real.dimensions[.motionSmoothness]! - 0.3, describe(shuffled))
        for d in [Dimension.color, .shape, .backgroundColor] { XCTAssertGreaterThanOrEqual(shuffled.dimensions[d]!, 0.9, describe(shuffled)) }
    }

    /// Two green squares, one above the other, moving left 1 px per frame, their sizes trading every frame
    /// (4 and 6 px wide about fixed centres): by size the larger would be the first object in every frame
    /// and the tracks would jump 14 px each frame; followed by position, each moves uniformly.
    func testTwinsAreTrackedByPositionNotSize() throws {
        let (f, n) = (17, 32)
        let bg = ShapeColor.blue.rgb, fg = ShapeColor.green.rgb
        var d = [Float](repeating: 0, count: f * n * n * 3)
        func square(_ t: Int, cx: Int, cy: Int, side: Int) {
            for y in (cy - side / 2)..<(cy + side / 2) { for x in (cx - side / 2)..<(cx + side / 2) {
                let k = ((t * n + y) * n + x) * 3
                (d[k], d[k + 1], d[k + 2]) = fg
            } }
        }
        for t in 0..<f {
            for y in 0..<n { for x in 0..<n { let k = ((t * n + y) * n + x) * 3; (d[k], d[k + 1], d[k + 2]) = bg } }
            let big = t % 2 == 0 ? 6 : 4
            square(t, cx: 24 - t, cy: 9, side: big)
            square(t, cx: 24 - t, cy: 23, side: 10 - big)
        }
        let clip = Tensor(shape: [f, n, n, 3], data: d)
        let prompt = "a green square above a green square moving left on a blue background"
        let tracks = ClipAnalysis(clip).tracks(for: try XCTUnwrap(PromptGrammar.parse(prompt).scene))
        for track in tracks {
            let ys = track.map { $0?.cy ?? -1 }
            XCTAssertTrue(ys.allSatisfy { abs($0 - ys[0]) < 0.01 }, "each twin keeps its row: \(ys)")
        }
        let s = try MiniVBench.score(clip, prompt: prompt)
        XCTAssertGreaterThan(s.dimensions[.motionSmoothness]!, 0.99, "uniform motion: \(s.dimensions)")
        XCTAssertEqual(s.dimensions[.motionDirection], 1)
        XCTAssertEqual(s.dimensions[.spatialRelationship], 1)
    }

    func testScoresByObjectCountSplitTheClipsByTheirScenes() throws {
        // Two-object clips lose their second object's colour: only that subset's score falls.
        let scores = try Self.clips.map { c -> ClipScore in
            var x = c.frames
            if c.scene.objects.count == 2, let to = ShapeColor.objectColors.first(where: { $0 != c.scene.background && !c.scene.objects.map(\.color).contains($0) }) {
                x = Corrupt.recolor(x, from: c.scene.objects[1].color, to: to, background: c.scene.background)
            }
            return try MiniVBench.score(x, prompt: c.caption)
        }
        let all = MiniVBench.aggregate(scores)
        let counts = Self.clips.map(\.scene.objects.count)
        let one = try XCTUnwrap(all.oneObject), two = try XCTUnwrap(all.twoObjects)
        XCTAssertEqual(one.clips, counts.filter { $0 == 1 }.count)
        XCTAssertEqual(two.clips, counts.filter { $0 == 2 }.count)
        XCTAssertGreaterThan(two.clips, 5, "the sample holds enough two-object clips to mean something")
        for (subset, n) in [(one, 1), (two, 2)] {
            let mine = zip(scores, counts).filter { $0.1 == n }.map(\.0)
            XCTAssertEqual(subset.total, mine.map(\.total).reduce(0, +) / Double(mine.count), accuracy: 1e-12)
            XCTAssertEqual(subset.promptFollowing, mine.map(\.promptFollowing).reduce(0, +) / Double(mine.count), accuracy: 1e-12)
        }
        XCTAssertGreaterThanOrEqual(one.total, 0.95, "one-object clips are untouched")
        XCTAssertLessThan(two.total, one.total - 0.15, "a wrong second colour costs the two-object clips")
        XCTAssertNil(MiniVBench.aggregate(scores.filter { $0.objects == 1 }).twoObjects)
    }

    func testBadClipsAreRefused() {
        XCTAssertThrowsError(try MiniVBench.score(Tensor(zeros: [17, 32, 32, 4]), prompt: "a red circle moving left on a blue background"))
        var nan = Self.clips[0].frames.data; nan[5] = .nan
        XCTAssertThrowsError(try MiniVBench.score(Tensor(shape: Self.clips[0].frames.shape, data: nan), prompt: Self.clips[0].caption)) { e in
            XCTAssertTrue("\(e)".contains("non-finite"))
        }
        XCTAssertThrowsError(try MiniVBench.score(Self.clips[0].frames, prompt: "a purple elephant")) { e in XCTAssertTrue("\(e)".contains("cannot score")) }
    }
}
