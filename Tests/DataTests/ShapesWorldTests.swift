// ShapesWorld: determinism, every object fully inside every frame, motion as the prompt says, the
// minimum grammar and its tolerant variants, unknown words, and the tokenizer's contract.
import _TestSupport
@testable import Data
import Tensors
import XCTest

final class ShapesWorldTests: XCTestCase {
    func testDeterministicBySeed() {
        let a = ShapesWorld.sample(seed: 42), b = ShapesWorld.sample(seed: 42), c = ShapesWorld.sample(seed: 43)
        XCTAssertEqual(a.frames.data, b.frames.data)
        XCTAssertEqual(a.caption, b.caption)
        XCTAssertNotEqual(a.frames.data, c.frames.data)
        XCTAssertEqual(a.frames.shape, [17, 32, 32, 3])
        XCTAssertTrue(a.frames.data.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testObjectsStayInsideAndMoveAsPrompted() {
        for seed in 0..<300 as Range<UInt64> {
            for size in [32, 64] {
                let clip = ShapesWorld.sample(seed: seed, config: WorldConfig(frames: 17, size: size))
                let s = Float(size)
                for o in clip.truth {
                    for c in o.centers {
                        XCTAssertTrue(c[0] - o.radius >= 0 && c[0] + o.radius <= s && c[1] - o.radius >= 0 && c[1] + o.radius <= s,
                                      "seed \(seed): \(o.shape) at \(c) r \(o.radius) leaves the \(size)² frame")
                    }
                    let (dx, dy) = (o.centers.last![0] - o.centers[0][0], o.centers.last![1] - o.centers[0][1])
                    let (ux, uy) = clip.scene.motion.direction
                    if clip.scene.motion == .still { XCTAssertEqual(dx * dx + dy * dy, 0) } else { XCTAssertGreaterThan(dx * ux + dy * uy, 0, "seed \(seed)") }
                }
                if clip.truth.count == 2, let rel = clip.scene.relation {
                    let (a, b) = (clip.truth[0].centers[0], clip.truth[1].centers[0])
                    switch rel {
                    case .leftOf: XCTAssertLessThan(a[0], b[0])
                    case .rightOf: XCTAssertGreaterThan(a[0], b[0])
                    case .above: XCTAssertLessThan(a[1], b[1])
                    case .below: XCTAssertGreaterThan(a[1], b[1])
                    }
                }
            }
        }
    }

    /// Shape weights: equal ones draw the original stream clip for clip; unequal ones give each
    /// shape its share of draws (20000 draws: within 4 standard deviations of the binomial); a zero
    /// weight never draws its shape, held-out scenes are still never drawn; bad weights are refused.
    func testShapeWeights() throws {
        for seed in 0..<100 as Range<UInt64> {
            let a = ShapesWorld.sample(seed: seed), b = ShapesWorld.sample(seed: seed, config: WorldConfig(shapeWeights: [2, 2, 2]))
            XCTAssertEqual(a.caption, b.caption, "seed \(seed)")
            XCTAssertEqual(a.frames.data, b.frames.data, "seed \(seed)")
        }
        let weights = [1.0, 2.0, 1.0], n = 20_000
        var rng = RNG(seed: 7)
        var counts = [ShapeKind: Int]()
        for _ in 0..<n { counts[ShapesWorld.drawShape(&rng, config: WorldConfig(shapeWeights: weights)), default: 0] += 1 }
        for (shape, w) in zip(ShapeKind.allCases, weights) {
            let p = w / weights.reduce(0, +), share = Double(counts[shape, default: 0]) / Double(n)
            XCTAssertEqual(share, p, accuracy: 4 * (p * (1 - p) / Double(n)).squareRoot(), "\(shape)")
        }
        let squares = WorldConfig(twoObjectRate: 0.5, shapeWeights: [0, 1, 0])
        for seed in 0..<200 as Range<UInt64> {
            let clip = ShapesWorld.sample(seed: seed, config: squares)
            XCTAssertTrue(clip.scene.objects.allSatisfy { $0.shape == .square }, "seed \(seed): \(clip.caption)")
            XCTAssertFalse(HeldOut.contains(clip.scene), "seed \(seed): \(clip.caption)")
        }
        for (bad, words) in [([1.0, 2.0], "one per shape"), ([1, -1, 1], "≥ 0"), ([0, 0, 0], "> 0"), ([1, .nan, 1], "finite")] {
            XCTAssertThrowsError(try WorldConfig(shapeWeights: bad).validate()) { e in XCTAssertTrue("\(e)".contains(words), "\(e)") }
        }
        XCTAssertNoThrow(try squares.validate())
    }

    /// The edge map: every clip has one, one object or two; in [0, 1], the same whichever object comes
    /// first; each row that crosses an object's edge holds a pixel at least exp(−0.5²/(2σ²)) — the signed
    /// distance changes sign between two neighbouring centres 1 px apart and moves by at most 1 between
    /// them, so one of the two lies within 0.5 px of the edge — and a pixel farther than 3σ from every
    /// edge, inside or out, is under 0.012.
    func testEdgeMapMarksEveryOutline() {
        let config = WorldConfig(), sigma: Float = 1, n = config.size
        let near = Foundation.exp(-0.25 / (2 * sigma * sigma)), far = Foundation.exp(-4.5 as Float)
        var ones = 0
        for seed in 0..<60 as Range<UInt64> {
            let clip = ShapesWorld.sample(seed: seed, config: config)
            let map = ShapesWorld.edgeMap(clip.truth, config: config, sigma: sigma)
            XCTAssertEqual(map.count, config.frames * n * n)
            if clip.truth.count == 1 { ones += 1 }
            XCTAssertEqual(map, ShapesWorld.edgeMap(clip.truth.reversed(), config: config, sigma: sigma), "seed \(seed)")
            for t in [0, config.frames / 2, config.frames - 1] {
                for y in 0..<n {
                    // Each object's signed distance at the row's pixel centres.
                    let sd = clip.truth.map { o in
                        (0..<n).map { x in ShapesWorld.signedDistance(o.shape, Float(x) + 0.5 - o.centers[t][0], Float(y) + 0.5 - o.centers[t][1], o.radius) }
                    }
                    let row = map[((t * n + y) * n)..<((t * n + y + 1) * n)]
                    XCTAssertTrue(row.allSatisfy { $0 >= 0 && $0 <= 1 }, "seed \(seed)")
                    for (x, v) in zip(0..., row) where sd.allSatisfy({ abs($0[x]) > 3 * sigma }) {
                        XCTAssertLessThan(v, far * 1.001, "seed \(seed): far from every edge")
                    }
                    // Where an object's signed distance changes sign between neighbouring centres.
                    let edgeInRow = sd.contains { d in (0..<(n - 1)).contains { (d[$0] < 0) != (d[$0 + 1] < 0) } }
                    if edgeInRow { XCTAssertGreaterThanOrEqual(row.max()!, near * 0.999, "seed \(seed) frame \(t) row \(y)") }
                }
            }
            XCTAssertGreaterThan(map.max()!, near, "seed \(seed): \(clip.caption)")
        }
        XCTAssertGreaterThan(ones, 10, "one-object clips have outlines too")
        XCTAssertTrue(ShapesWorld.edgeMap([], config: config, sigma: sigma).allSatisfy { $0 == 0 })
    }

    /// The gap map: 0 for one object and on covered pixels, in [0, 1] everywhere, the same whichever object
    /// comes first, at least exp(−(gap + 1.5)²/(2σ²)) halfway between the facing edges (the pixel centre
    /// lies within 0.71 px of that point, moving each distance by at most that), and under 0.01 where
    /// both objects are farther than 3σ.
    func testGapMapMarksTheBandBetweenAPair() {
        let config = WorldConfig(), sigma: Float = 3, n = config.size
        var pairs = 0
        for seed in 0..<80 as Range<UInt64> {
            let clip = ShapesWorld.sample(seed: seed, config: config)
            let map = ShapesWorld.gapMap(clip.truth, config: config, sigma: sigma)
            XCTAssertEqual(map.count, config.frames * n * n)
            guard clip.truth.count == 2, let rel = clip.scene.relation else {
                XCTAssertTrue(map.allSatisfy { $0 == 0 }, "seed \(seed): one object has no gap"); continue
            }
            pairs += 1
            XCTAssertEqual(map, ShapesWorld.gapMap(clip.truth.reversed(), config: config, sigma: sigma), "seed \(seed)")
            let (a, b) = (clip.truth[0], clip.truth[1])
            for t in [0, config.frames - 1] {
                for y in 0..<n {
                    for x in 0..<n {
                        let v = map[(t * n + y) * n + x]
                        XCTAssertTrue(v >= 0 && v <= 1)
                        let d = [a, b].map { ShapesWorld.signedDistance($0.shape, Float(x) + 0.5 - $0.centers[t][0], Float(y) + 0.5 - $0.centers[t][1], $0.radius) }
                        if d.contains(where: { $0 <= -0.5 }) { XCTAssertEqual(v, 0, "seed \(seed): a covered pixel") }
                        if d.allSatisfy({ $0 > 3 * sigma }) { XCTAssertLessThan(v, 0.01, "seed \(seed): far from both") }
                    }
                }
                // Halfway between the facing edges along the relation's axis (object 0 lies at −offset).
                let (ox, oy) = rel.offset
                let (ca, cb) = (a.centers[t], b.centers[t])
                let dist = ((cb[0] - ca[0]) * (cb[0] - ca[0]) + (cb[1] - ca[1]) * (cb[1] - ca[1])).squareRoot()
                let (ea, eb) = (a.shape.extent(towards: (ox, oy), a.radius), b.shape.extent(towards: (-ox, -oy), b.radius))
                let gap = dist - ea - eb, along = ea + gap / 2
                let (mx, my) = (ca[0] + ox * along, ca[1] + oy * along)
                let v = map[(t * n + Int(my)) * n + Int(mx)]
                XCTAssertGreaterThanOrEqual(v, Foundation.exp(-(gap + 1.5) * (gap + 1.5) / (2 * sigma * sigma)), "seed \(seed) frame \(t): gap \(gap)")
            }
        }
        XCTAssertGreaterThan(pairs, 10)
    }

    func testGrammar() {
        let scene = PromptGrammar.parse("a red circle moving right on a blue background").scene
        XCTAssertEqual(scene, Scene(objects: [SceneObject(.red, .circle)], motion: .right, background: .blue))
        // Articles, case, punctuation, synonyms.
        XCTAssertEqual(PromptGrammar.parse("An ORANGE box, sliding left... on a green background!").scene,
                       Scene(objects: [SceneObject(.orange, .square)], motion: .left, background: .green))
        XCTAssertEqual(PromptGrammar.parse("a orange triangle staying still on a white background").scene?.motion, .still)
        let two = PromptGrammar.parse("a yellow square and a purple circle moving up on a gray background").scene
        XCTAssertEqual(two?.objects, [SceneObject(.yellow, .square), SceneObject(.purple, .circle)])
        XCTAssertEqual(two?.relation, .leftOf)
        XCTAssertEqual(PromptGrammar.parse("a white ball above a red triangle drifting down on a black background").scene?.relation, .above)
        XCTAssertEqual(PromptGrammar.parse("a white ball to the right of a red triangle on a black background").scene?.relation, .rightOf)
        // Round trip: every phrasing of every sampled scene parses back to the scene.
        for seed in 0..<200 as Range<UInt64> {
            let c = ShapesWorld.sample(seed: seed)
            XCTAssertEqual(PromptGrammar.parse(c.caption).scene, c.scene, c.caption)
            XCTAssertEqual(PromptGrammar.parse(c.scene.caption).scene, c.scene, c.scene.caption)
        }
        let odd = PromptGrammar.parse("a red circle moving swiftly right on a blue background")
        XCTAssertEqual(odd.unknownWords, ["swiftly"])
        XCTAssertNotNil(odd.scene)
        XCTAssertNotNil(PromptGrammar.parse("").problem)
        XCTAssertNotNil(PromptGrammar.parse("a red circle on a red background").problem)
    }

    func testTokenizer() {
        let t = Tokenizer()
        let a = t.encode("A red circle, moving right on a blue background.", length: 16)
        XCTAssertEqual(a.ids.count, 16)
        XCTAssertEqual(a.count, 10)
        XCTAssertEqual(a.ids[9], Tokenizer.eos)
        XCTAssertTrue(a.ids[10...].allSatisfy { $0 == Tokenizer.pad })
        XCTAssertEqual(a.unknownWords, [])
        XCTAssertEqual(t.encode("a red circle moving right on a blue background", length: 16).ids, a.ids, "case and punctuation do not matter")
        let u = t.encode("a zebra circle", length: 16)
        XCTAssertEqual(u.unknownWords, ["zebra"])
        XCTAssertEqual(u.ids[1], Tokenizer.unk)
        let long = t.encode(String(repeating: "red ", count: 30), length: 16)
        XCTAssertEqual(long.truncatedWords, 15)
        XCTAssertEqual(long.count, 16)
        XCTAssertEqual(long.ids.last, Tokenizer.eos)
        XCTAssertEqual(t.encode("", length: 8).ids, [1, 0, 0, 0, 0, 0, 0, 0], "an empty prompt is EOS then padding")
        let broken = String(decoding: [0x61, 0xFF, 0xFE, 0x20, 0x72, 0x65, 0x64] as [UInt8], as: UTF8.self)
        XCTAssertEqual(t.encode(broken, length: 8).ids[0], t.encode("a", length: 8).ids[0], "invalid UTF-8 becomes a word break")
    }
}
