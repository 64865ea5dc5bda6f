// ShapesWorld: a procedural text-to-video world small enough to train a Wan-architecture teacher on
// two cores. Deterministic by seed; anti-aliased shapes from signed distances (one-pixel ramp);
// every clip carries its caption and per-frame ground truth.
import Foundation
import Tensors

public struct WorldConfig: Codable, Equatable {
    /// Frames per clip: 4k + 1.
    public var frames: Int = 17
    /// Square frame size in pixels.
    public var size: Int = 32
    /// Probability of a two-object clip.
    public var twoObjectRate: Double = 0.4
    /// Relative weights of circle, square and triangle (`ShapeKind.allCases` order) when a scene
    /// draws an object's shape. nil or equal weights: every shape alike, by the original stream (so
    /// runs from before the weights existed draw the same clips).
    public var shapeWeights: [Double]?

    public init(frames: Int = 17, size: Int = 32, twoObjectRate: Double = 0.4, shapeWeights: [Double]? = nil) {
        self.frames = frames; self.size = size; self.twoObjectRate = twoObjectRate; self.shapeWeights = shapeWeights
    }

    public func validate() throws {
        guard frames >= 1, frames <= 1025, (frames - 1) % 4 == 0 else { throw DataError.invalid("frames must be 4k+1 from 1 to 1025 (1, 5, 9, 17, …), got \(frames)") }
        guard size >= 16, size <= 256 else { throw DataError.invalid("size must be 16…256 pixels, got \(size)") }
        if let w = shapeWeights, let problem = Self.weightsProblem(w) { throw DataError.invalid("shape weights \(w): \(problem)") }
    }

    /// Why `w` cannot weigh the shapes, or nil.
    public static func weightsProblem(_ w: [Double]) -> String? {
        if w.count != ShapeKind.allCases.count {
            return "need \(ShapeKind.allCases.count), one per shape (\(ShapeKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
        if !w.allSatisfy({ $0.isFinite && $0 >= 0 }) { return "each must be finite and ≥ 0" }
        if !w.contains(where: { $0 > 0 }) { return "at least one must be > 0" }
        return nil
    }
}

public enum DataError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String { switch self { case let .invalid(m): return m } }
}

/// Per-object ground truth.
public struct ObjectTruth: Codable, Equatable {
    public var color: ShapeColor
    public var shape: ShapeKind
    /// Size: circle radius, half the square's side, the triangle's circumradius (pixels).
    public var radius: Float
    /// Centre per frame (pixels, x right, y down).
    public var centers: [[Float]]
}

public struct Clip {
    public var caption: String
    public var scene: Scene
    public var truth: [ObjectTruth]
    /// Frames [F, H, W, 3] in [0, 1].
    public var frames: Tensor

    /// The VAE's input layout: [3, F, H, W] in [−1, 1].
    public var pixels: Tensor { (frames * 2 - 1).permute(3, 0, 1, 2) }
}

public enum ShapesWorld {
    /// A random training scene and its rendering; `seed` fixes everything (scene, phrasing, sizes,
    /// motion). Scenes of the held-out split (`HeldOut`) are drawn again from the same stream, so no
    /// training stream ever sees one.
    public static func sample(seed: UInt64, config: WorldConfig = .init()) -> Clip {
        var rng = RNG(seed: seed)
        var scene = drawScene(&rng, config: config)
        while HeldOut.contains(scene) { scene = drawScene(&rng, config: config) }
        var clip = render(scene, seed: seed &+ 0x9E37_79B9, config: config)
        clip.caption = PromptGrammar.phrase(scene, variant: rng.int(below: 60))
        return clip
    }

    /// A scene of the whole grammar, held-out compositions included.
    static func drawScene(_ rng: inout RNG, config: WorldConfig) -> Scene {
        let two = Double(rng.uniform(1)[0]) < config.twoObjectRate
        let background = ShapeColor.allCases[rng.int(below: ShapeColor.allCases.count)]
        let choices = ShapeColor.objectColors.filter { $0 != background }
        var objects = [SceneObject(choices[rng.int(below: choices.count)], drawShape(&rng, config: config))]
        var relation: Relation?
        if two {
            objects.append(SceneObject(choices[rng.int(below: choices.count)], drawShape(&rng, config: config)))
            relation = Relation.allCases[rng.int(below: Relation.allCases.count)]
        }
        return Scene(objects: objects, relation: relation, motion: Motion.allCases[rng.int(below: Motion.allCases.count)], background: background)
    }

    /// An object's shape: uniform by one integer draw (the original stream) unless `shapeWeights`
    /// weighs the shapes unequally, then by one uniform draw against their cumulative shares.
    static func drawShape(_ rng: inout RNG, config: WorldConfig) -> ShapeKind {
        let all = ShapeKind.allCases
        guard let w = config.shapeWeights, Set(w).count > 1 else { return all[rng.int(below: all.count)] }
        let u = Double(rng.uniform(1)[0]) * w.reduce(0, +)
        var below = 0.0
        for (shape, weight) in zip(all, w) where weight > 0 {
            below += weight
            if u < below { return shape }
        }
        return all[w.lastIndex(where: { $0 > 0 })!]   // u within rounding of the total
    }

    /// Renders `scene` with sizes, positions and speed drawn from `seed`.
    public static func render(_ scene: Scene, seed: UInt64, config: WorldConfig = .init()) -> Clip {
        var rng = RNG(seed: seed)
        let s = Float(config.size), f = config.frames
        func u(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * rng.uniform(1)[0] }
        let two = scene.objects.count == 2
        // Sizes (radius) relative to the frame; pairs are smaller so both fit with a gap.
        let radii = scene.objects.map { _ in two ? u(s / 9, s / 6.5) : u(s / 7, s / 4.5) }
        // Layout: offsets of each object from the group's centre.
        let reach = zip(scene.objects, radii).map { $0.shape.reach($1) }
        var offsets: [(Float, Float)] = [(0, 0)]
        var extent: (Float, Float) = (reach[0], reach[0])         // half-size of the group's bounding box
        if two, let rel = scene.relation {
            let gap = u(2, s / 10)
            let (ox, oy) = rel.offset
            // Centre distance: each object's extent towards the other plus the gap, so a triangle's apex
            // never touches the object above it.
            let dist = scene.objects[0].shape.extent(towards: (ox, oy), radii[0]) + scene.objects[1].shape.extent(towards: (-ox, -oy), radii[1]) + gap
            offsets = [(-ox * dist / 2, -oy * dist / 2), (ox * dist / 2, oy * dist / 2)]
            extent = (abs(ox) * dist / 2 + max(reach[0], reach[1]), abs(oy) * dist / 2 + max(reach[0], reach[1]))
        }
        // Speed (pixels per frame), capped so the group stays inside the frame the whole clip.
        let (dx, dy) = scene.motion.direction
        let room = (dx != 0 ? s - 2 * extent.0 : s - 2 * extent.1) - 2
        var speed = scene.motion == .still ? 0 : u(0.5, 1.5) * s / 32
        if f > 1 { speed = min(speed, max(room, 0) / Float(f - 1)) }
        let travel = speed * Float(f - 1)
        // Start so that the whole path fits: choose the centre range along each axis.
        func start(_ ext: Float, _ d: Float) -> Float {
            let lo = ext + 1 + (d < 0 ? travel : 0), hi = s - ext - 1 - (d > 0 ? travel : 0)
            return hi > lo ? u(lo, hi) : (lo + hi) / 2   // no slack: the one position that fits
        }
        let cx0 = start(extent.0, dx), cy0 = start(extent.1, dy)
        var truth: [ObjectTruth] = []
        for (i, o) in scene.objects.enumerated() {
            let centers = (0..<f).map { t in [cx0 + offsets[i].0 + dx * speed * Float(t), cy0 + offsets[i].1 + dy * speed * Float(t)] }
            truth.append(ObjectTruth(color: o.color, shape: o.shape, radius: radii[i], centers: centers))
        }
        return Clip(caption: scene.caption, scene: scene, truth: truth, frames: draw(truth, background: scene.background, config: config))
    }

    /// Pixels of the frames: background, then each object composited with its coverage.
    static func draw(_ objects: [ObjectTruth], background: ShapeColor, config: WorldConfig) -> Tensor {
        let (f, n) = (config.frames, config.size)
        let bg = background.rgb
        var px = [Float](repeating: 0, count: f * n * n * 3)
        px.withUnsafeMutableBufferPointer { p in
            for i in 0..<(f * n * n) { p[3 * i] = bg.0; p[3 * i + 1] = bg.1; p[3 * i + 2] = bg.2 }
            for o in objects {
                let c = o.color.rgb
                let reach = Int(o.radius.rounded(.up)) + 2
                for t in 0..<f {
                    let (cx, cy) = (o.centers[t][0], o.centers[t][1])
                    let x0 = max(0, Int(cx) - reach), x1 = min(n - 1, Int(cx) + reach)
                    let y0 = max(0, Int(cy) - reach), y1 = min(n - 1, Int(cy) + reach)
                    if x0 > x1 || y0 > y1 { continue }
                    for y in y0...y1 {
                        for x in x0...x1 {
                            let d = signedDistance(o.shape, Float(x) + 0.5 - cx, Float(y) + 0.5 - cy, o.radius)
                            let a = min(max(0.5 - d, 0), 1)
                            if a == 0 { continue }
                            let k = ((t * n + y) * n + x) * 3
                            p[k] += a * (c.0 - p[k]); p[k + 1] += a * (c.1 - p[k + 1]); p[k + 2] += a * (c.2 - p[k + 2])
                        }
                    }
                }
            }
        }
        return Tensor(shape: [f, n, n, 3], data: px)
    }

    /// Signed distance (pixels, negative inside) from a point relative to the shape's centre.
    @inline(__always)
    public static func signedDistance(_ shape: ShapeKind, _ x: Float, _ y: Float, _ r: Float) -> Float {
        switch shape {
        case .circle:
            return (x * x + y * y).squareRoot() - r
        case .square:
            let h = r * 0.886    // the square of equal area to the circle of radius r
            let qx = abs(x) - h, qy = abs(y) - h
            let outside = (max(qx, 0) * max(qx, 0) + max(qy, 0) * max(qy, 0)).squareRoot()
            return outside + min(max(qx, qy), 0)
        case .triangle:
            // Equilateral, pointing up, circumradius r·1.25 (so its area is close to the circle's), centred
            // on its centroid. Exact SDF (Quílez's formulation).
            let k = Float(3).squareRoot()
            let side = r * 1.25 * k
            var px = abs(x) - side / 2
            var py = -(y) + side / (2 * k)
            if px + k * py > 0 { (px, py) = ((px - k * py) / 2, (-k * px - py) / 2) }
            px -= min(max(px, -side), 0)
            return -(px * px + py * py).squareRoot() * (py < 0 ? -1 : 1)
        }
    }
}

extension ShapesWorld {
    /// Where a pair comes closest, per pixel of every frame ([F, H, W], row-major): exp(−(d₁ + d₂)²/(2σ²)),
    /// d₁ and d₂ the pixel centre's distances (pixels, 0 on an edge) to the two shapes, on the pixels
    /// neither shape covers fully; 0 on the pixels a shape covers and on every pixel of a one-object
    /// clip. Along the shortest path between the two shapes d₁ + d₂ is the gap (2–3.2 px at 32 px, see
    /// `render`), so the band that keeps the objects apart gets exp(−gap²/(2σ²)) and the map falls off
    /// around the pair. The teacher's flow loss can weigh this band more (`flow.gap_weight`,
    /// docs/two-objects.md) — the weight map of U-Net's touching-cell segmentation, on ShapesWorld's exact
    /// shapes.
    public static func gapMap(_ truth: [ObjectTruth], config: WorldConfig, sigma: Float) -> [Float] {
        guard truth.count == 2, sigma > 0 else { return [Float](repeating: 0, count: config.frames * config.size * config.size) }
        let k = -1 / (2 * sigma * sigma)
        return distanceMap(truth, config: config) { d in
            // A pixel whose centre lies half a pixel inside a shape is covered fully (`draw`).
            guard d[0] > -0.5, d[1] > -0.5 else { return 0 }
            let s = max(d[0], 0) + max(d[1], 0)
            return Foundation.exp(k * s * s)
        }
    }

    /// Where the objects' outlines are, per pixel of every frame ([F, H, W], row-major):
    /// exp(−d²/(2σ²)), d the pixel centre's distance (pixels) to the nearest object's edge, inside or
    /// outside it — 1 on an outline, falling off to both sides. Every clip has one, one object or two.
    /// The teacher's flow loss can weigh this band more (`flow.edge_weight`, docs/two-objects.md), so the
    /// positions that carry a shape's sides and corners count for more than flat background.
    public static func edgeMap(_ truth: [ObjectTruth], config: WorldConfig, sigma: Float) -> [Float] {
        guard sigma > 0 else { return [Float](repeating: 0, count: config.frames * config.size * config.size) }
        let k = -1 / (2 * sigma * sigma)
        return distanceMap(truth, config: config) { d in
            let e = d.map(abs).min()!
            return Foundation.exp(k * e * e)
        }
    }

    /// `value` of the pixel centre's signed distances to every object (in `truth`'s order), per pixel of
    /// every frame ([F, H, W], row-major); 0 everywhere when `truth` is empty.
    static func distanceMap(_ truth: [ObjectTruth], config: WorldConfig, _ value: ([Float]) -> Float) -> [Float] {
        let (f, n) = (config.frames, config.size)
        var map = [Float](repeating: 0, count: f * n * n)
        guard !truth.isEmpty else { return map }
        for t in 0..<f {
            for y in 0..<n {
                for x in 0..<n {
                    let d = truth.map { o in
                        signedDistance(o.shape, Float(x) + 0.5 - o.centers[t][0], Float(y) + 0.5 - o.centers[t][1], o.radius)
                    }
                    map[(t * n + y) * n + x] = value(d)
                }
            }
        }
        return map
    }
}
