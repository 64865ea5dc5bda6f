// MiniVBench: exact detectors for ShapesWorld, each reading the generated pixels and the prompt only —
// never the clip's ground truth — and two scores built from them (docs/metric.md):
// - `total`, the headline: per clip, quality × prompt-following, where every part of the prompt the
//   clip ignores (shape, colour, count, layout, motion, background) halves its prompt-following
//   factor; averaged over clips. A clip that stands still for "moving left" scores at most half.
// - `vbenchTotal`: VBench's structure (quality with dynamic degree at half weight, semantic, and
//   (4·quality + semantic)/5), kept so numbers compare with VBench-style tables; stillness is
//   nearly free there, which is why it is not the headline.
// Each dimension is in [0, 1]; dimensions that do not apply to a prompt (relationship for one object,
// dynamic degree for "staying still") are left out of that prompt's averages.
import Data
import Foundation
import Tensors

public enum Dimension: String, CaseIterable, Codable {
    // Quality
    case subjectConsistency = "subject_consistency", backgroundConsistency = "background_consistency"
    case temporalFlickering = "temporal_flickering", motionSmoothness = "motion_smoothness"
    case dynamicDegree = "dynamic_degree", imagingSharpness = "imaging_sharpness", spectralFidelity = "spectral_fidelity"
    // Semantic
    case shape, color, objectCount = "object_count", spatialRelationship = "spatial_relationship"
    case motionDirection = "motion_direction", backgroundColor = "background_color"

    public static let quality: [Dimension] = [.subjectConsistency, .backgroundConsistency, .temporalFlickering, .motionSmoothness,
                                              .dynamicDegree, .imagingSharpness, .spectralFidelity]
    public static let semantic: [Dimension] = [.shape, .color, .objectCount, .spatialRelationship, .motionDirection, .backgroundColor]

    /// The headline's quality factor: the quality dimensions but dynamic degree (motion is judged, against
    /// the prompt, among the parts).
    public static let headlineQuality: [Dimension] = [.subjectConsistency, .backgroundConsistency, .temporalFlickering,
                                                      .motionSmoothness, .imagingSharpness, .spectralFidelity]
    /// The parts of a prompt a clip can ignore, each a factor of the headline.
    public static let promptParts: [Dimension] = semantic
}

public struct ClipScore: Codable, Equatable {
    public var prompt: String
    public var dimensions: [Dimension: Double]
    /// The prompt's split (seen in training, or a held-out composition).
    public var split: Split

    public init(prompt: String, dimensions: [Dimension: Double], split: Split) {
        self.prompt = prompt; self.dimensions = dimensions; self.split = split
    }

    /// Mean of the headline's quality dimensions that apply.
    public var qualityFactor: Double { MiniVBench.mean(Dimension.headlineQuality.compactMap { dimensions[$0] }) }
    /// Π over the prompt's parts of (1 − ½·(1 − part)): 1 when every part is followed, ½ per ignored part.
    public var promptFollowing: Double {
        Dimension.promptParts.compactMap { dimensions[$0] }.reduce(1) { $0 * (1 - MiniVBench.partWeight * (1 - $1)) }
    }
    /// The headline for this clip.
    public var total: Double { qualityFactor * promptFollowing }
    /// How many objects the prompt names (nil when it does not parse).
    public var objects: Int? { PromptGrammar.parse(prompt).scene?.objects.count }
}

/// The headline and its factors over a set of clips.
public struct SplitScore: Codable, Equatable {
    public var clips: Int
    public var total: Double
    public var qualityFactor: Double
    public var promptFollowing: Double
    public var vbenchTotal: Double

    enum CodingKeys: String, CodingKey {
        case clips, total, qualityFactor = "quality_factor", promptFollowing = "prompt_following", vbenchTotal = "vbench_total"
    }
}

public struct BenchScore {
    /// The headline: mean over clips of quality factor × prompt-following.
    public var total: Double
    public var qualityFactor: Double
    public var promptFollowing: Double
    /// VBench's aggregation: (4·quality + semantic)/5.
    public var vbenchTotal: Double
    public var quality: Double
    public var semantic: Double
    public var dimensions: [Dimension: Double]
    public var clips: [ClipScore]
    /// The same over the clips of seen prompts and of held-out ones (nil when a split has no clip).
    public var seen: SplitScore?
    public var heldOut: SplitScore?
    /// The same over the clips of one-object prompts and of two-object ones (nil when there are none):
    /// the two kinds ask different things (a layout, two shapes and colours bound to their words).
    public var oneObject: SplitScore?
    public var twoObjects: SplitScore?
}

public enum MiniVBench {
    /// Scores one clip (frames [F, H, W, 3] in [0, 1]) against its prompt.
    public static func score(_ frames: Tensor, prompt: String) throws -> ClipScore {
        guard frames.rank == 4, frames.shape[3] == 3, frames.shape[1] >= 8, frames.shape[2] >= 8, frames.shape[0] >= 2 else {
            throw DataError.invalid("a clip must be [F ≥ 2, H ≥ 8, W ≥ 8, 3], got \(frames.shape)")
        }
        if let i = frames.data.firstIndex(where: { !$0.isFinite }) { throw DataError.invalid("the clip has a non-finite value at index \(i)") }
        let parsed = PromptGrammar.parse(prompt)
        guard let scene = parsed.scene else { throw DataError.invalid("cannot score against the prompt \"\(prompt)\": \(parsed.problem ?? "?")") }
        if let i = frames.data.firstIndex(where: { $0 < -0.01 || $0 > 1.01 }) {
            throw DataError.invalid("the clip's frames must be in [0, 1]; value \(frames.data[i]) at index \(i)")
        }
        let a = ClipAnalysis(frames.clamp(0, 1))
        let tracks = a.tracks(for: scene)
        let scale = Float(a.width) / 32
        var d: [Dimension: Double] = [:]

        // --- quality ---
        d[.subjectConsistency] = mean(tracks.map { track -> Double in
            let present = track.compactMap { $0 }
            guard present.count >= 2 else { return 0 }
            let areas = present.map { Float($0.area) }.sorted(), med = areas[areas.count / 2]
            let rel = present.map { abs(Float($0.area) - med) / med }.reduce(0, +) / Float(present.count)
            let mc = medianColor(present.map(\.color))
            let cdev = present.map { ClipAnalysis.distance($0.color, mc) }.reduce(0, +) / Float(present.count)
            let presence = Double(present.count) / Double(track.count)
            return presence * clamp01(Double(1 - rel - 2 * cdev))
        })
        let bgDev = a.analyses.map { ClipAnalysis.distance($0.background, a.background) }.reduce(0, +) / Float(a.frames)
        let spread = a.analyses.map(\.backgroundSpread).reduce(0, +) / Float(a.frames)
        d[.backgroundConsistency] = clamp01(Double(1 - 3 * bgDev - 3 * max(spread - 0.01, 0)))
        d[.temporalFlickering] = clamp01(1 - 10 * flicker(a))
        d[.motionSmoothness] = mean(tracks.map { track -> Double in
            let c = track.map { $0.map { ($0.cx, $0.cy) } }
            var acc: [Float] = []
            for t in 1..<(c.count - 1) {
                guard let p = c[t - 1], let q = c[t], let r = c[t + 1] else { continue }
                acc.append(((p.0 - 2 * q.0 + r.0) * (p.0 - 2 * q.0 + r.0) + (p.1 - 2 * q.1 + r.1) * (p.1 - 2 * q.1 + r.1)).squareRoot())
            }
            guard !acc.isEmpty else { return 0 }
            // Mean centroid acceleration (pixels/frame², per 32 px of frame): 0 for uniform motion.
            return clamp01(Double(1 - (acc.reduce(0, +) / Float(acc.count)) / scale))
        })
        if scene.motion != .still {
            d[.dynamicDegree] = mean(tracks.map { track -> Double in
                guard let disp = displacement(track) else { return 0 }
                return min(1, Double((disp.0 * disp.0 + disp.1 * disp.1).squareRoot() / (4 * scale)))
            })
        }
        d[.imagingSharpness] = sharpness(a)
        d[.spectralFidelity] = spectralFidelity(frames, scene: scene)

        // --- semantic ---
        var shapeHits = 0.0, colorHits = 0.0, found = 0.0
        for (o, track) in zip(scene.objects, tracks) {
            for blob in track.compactMap({ $0 }) {
                found += 1
                if classify(blob) == o.shape { shapeHits += 1 }
                if ClipAnalysis.nearestColor(blob.color, among: ShapeColor.objectColors) == o.color { colorHits += 1 }
            }
        }
        let slots = Double(scene.objects.count * a.frames)
        d[.shape] = shapeHits / slots
        d[.color] = colorHits / slots
        d[.objectCount] = Double(a.analyses.filter { $0.blobs.count == scene.objects.count }.count) / Double(a.frames)
        if scene.objects.count == 2, let rel = scene.relation {
            func holds(_ p: Blob, _ q: Blob) -> Bool {
                let (dx, dy) = (q.cx - p.cx, q.cy - p.cy)
                switch rel {
                case .leftOf: return dx > abs(dy)
                case .rightOf: return -dx > abs(dy)
                case .above: return dy > abs(dx)
                case .below: return -dy > abs(dx)
                }
            }
            // Two objects of one colour and shape cannot be told apart: either of them may be the first.
            let twins = scene.objects[0] == scene.objects[1]
            var ok = 0
            for f in 0..<a.frames {
                guard let p = tracks[0][f], let q = tracks[1][f] else { continue }
                if holds(p, q) || (twins && holds(q, p)) { ok += 1 }
            }
            d[.spatialRelationship] = Double(ok) / Double(a.frames)
        }
        d[.motionDirection] = mean(tracks.map { track -> Double in
            guard let disp = displacement(track) else { return 0 }
            return followsMotion(disp, scene.motion, frames: a.frames, scale: scale) ? 1 : 0
        })
        d[.backgroundColor] = ClipAnalysis.nearestColor(a.background) == scene.background ? 1 : 0
        return ClipScore(prompt: prompt, dimensions: d, split: Split.of(scene))
    }

    /// Each part of the prompt a clip ignores costs this share of its prompt-following factor.
    public static let partWeight = 0.5

    /// Scores over clips: the headline (mean of per-clip quality factor × prompt-following), and VBench's
    /// aggregation — each dimension averaged where it applies; quality weights dynamic degree by 1/2;
    /// vbenchTotal = (4·quality + semantic)/5 — over all clips, per split and by the prompts' object count.
    public static func aggregate(_ clips: [ClipScore]) -> BenchScore {
        let (quality, semantic, dims) = vbench(clips)
        func subset(_ keep: (ClipScore) -> Bool) -> SplitScore? {
            let mine = clips.filter(keep)
            guard !mine.isEmpty else { return nil }
            let (q, sem, _) = vbench(mine)
            return SplitScore(clips: mine.count, total: mean(mine.map(\.total)), qualityFactor: mean(mine.map(\.qualityFactor)),
                              promptFollowing: mean(mine.map(\.promptFollowing)), vbenchTotal: (4 * q + sem) / 5)
        }
        return BenchScore(total: mean(clips.map(\.total)), qualityFactor: mean(clips.map(\.qualityFactor)),
                          promptFollowing: mean(clips.map(\.promptFollowing)), vbenchTotal: (4 * quality + semantic) / 5,
                          quality: quality, semantic: semantic, dimensions: dims, clips: clips,
                          seen: subset { $0.split == .seen }, heldOut: subset { $0.split == .heldOut },
                          oneObject: subset { $0.objects == 1 }, twoObjects: subset { $0.objects == 2 })
    }

    static func vbench(_ clips: [ClipScore]) -> (quality: Double, semantic: Double, dimensions: [Dimension: Double]) {
        var dims: [Dimension: Double] = [:]
        for dim in Dimension.allCases {
            let v = clips.compactMap { $0.dimensions[dim] }
            if !v.isEmpty { dims[dim] = v.reduce(0, +) / Double(v.count) }
        }
        var qs = 0.0, qw = 0.0
        for dim in Dimension.quality { if let v = dims[dim] { let w = dim == .dynamicDegree ? 0.5 : 1; qs += w * v; qw += w } }
        let sem = Dimension.semantic.compactMap { dims[$0] }
        return (qw > 0 ? qs / qw : 0, sem.isEmpty ? 0 : sem.reduce(0, +) / Double(sem.count), dims)
    }

    // MARK: detectors

    static func clamp01(_ x: Double) -> Double { min(max(x, 0), 1) }
    public static func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }

    static func medianColor(_ c: [(Float, Float, Float)]) -> (Float, Float, Float) {
        func med(_ v: [Float]) -> Float { let s = v.sorted(); return s[s.count / 2] }
        return (med(c.map { $0.0 }), med(c.map { $0.1 }), med(c.map { $0.2 }))
    }

    /// Mean centroid shift from the first quarter of the frames to the last quarter.
    static func displacement(_ track: [Blob?]) -> (Float, Float)? {
        let q = max(1, track.count / 4)
        let head = track.prefix(q).compactMap { $0 }, tail = track.suffix(q).compactMap { $0 }
        guard !head.isEmpty, !tail.isEmpty else { return nil }
        func c(_ b: [Blob]) -> (Float, Float) { (b.map(\.cx).reduce(0, +) / Float(b.count), b.map(\.cy).reduce(0, +) / Float(b.count)) }
        let (a, b) = (c(head), c(tail))
        // Scale the quarter-to-quarter shift to the whole clip's length.
        let k = Float(track.count - 1) / Float(track.count - q)
        return ((b.0 - a.0) * k, (b.1 - a.1) * k)
    }

    /// Whether a track's displacement over the clip follows the prompt's motion at about the world's
    /// speed: "staying still" moves under 2.5 px (per 32 px of frame); a direction moves that way along
    /// the dominant axis, at least 2.5 px and at most 1.25 × the world's fastest (1.5 px per frame).
    static func followsMotion(_ d: (Float, Float), _ motion: Motion, frames: Int, scale: Float) -> Bool {
        let detected = detectedMotion(d, scale: scale)
        guard detected == motion else { return false }
        if motion == .still { return true }
        return (d.0 * d.0 + d.1 * d.1).squareRoot() <= 1.25 * 1.5 * scale * Float(max(frames - 1, 1))
    }

    static func detectedMotion(_ d: (Float, Float), scale: Float) -> Motion {
        if (d.0 * d.0 + d.1 * d.1).squareRoot() < 2.5 * scale { return .still }
        if abs(d.0) >= abs(d.1) { return d.0 > 0 ? .right : .left }
        return d.1 > 0 ? .down : .up
    }

    /// Mean absolute change between consecutive frames over pixels that are background in both (and
    /// not next to a foreground pixel).
    static func flicker(_ a: ClipAnalysis) -> Double {
        var total = 0.0, n = 0
        let (w, h) = (a.width, a.height)
        func fg(_ f: Int) -> [Bool] {
            var m = [Bool](repeating: false, count: w * h)
            for b in a.analyses[f].blobs { for (x, y) in b.pixels {
                for dy in -1...1 { for dx in -1...1 { let (xx, yy) = (x + dx, y + dy); if xx >= 0, xx < w, yy >= 0, yy < h { m[yy * w + xx] = true } } }
            } }
            return m
        }
        var prev = fg(0)
        for f in 1..<a.frames {
            let cur = fg(f)
            for y in 0..<h { for x in 0..<w where !prev[y * w + x] && !cur[y * w + x] {
                let p = a.pixel(f - 1, x, y), q = a.pixel(f, x, y)
                total += Double(abs(p.0 - q.0) + abs(p.1 - q.1) + abs(p.2 - q.2)) / 3
                n += 1
            } }
            prev = cur
        }
        return n > 0 ? total / Double(n) : 0
    }

    /// Edge width: pixels partway between the background and an object's colour per boundary pixel of the
    /// masks. A one-pixel anti-aliased edge gives ≈ 1; blur widens it.
    static func sharpness(_ a: ClipAnalysis) -> Double {
        var ramp = 0, boundary = 0
        let (w, h) = (a.width, a.height)
        for f in 0..<a.frames {
            let an = a.analyses[f]
            guard !an.blobs.isEmpty else { continue }
            var mask = [Bool](repeating: false, count: w * h)
            for b in an.blobs { for (x, y) in b.pixels { mask[y * w + x] = true } }
            for y in 0..<h { for x in 0..<w {
                let p = a.pixel(f, x, y)
                var t: Float = 0
                for b in an.blobs {
                    let dir = (b.color.0 - an.background.0, b.color.1 - an.background.1, b.color.2 - an.background.2)
                    let len2 = dir.0 * dir.0 + dir.1 * dir.1 + dir.2 * dir.2
                    guard len2 > 1e-4 else { continue }
                    let proj = ((p.0 - an.background.0) * dir.0 + (p.1 - an.background.1) * dir.1 + (p.2 - an.background.2) * dir.2) / len2
                    t = max(t, proj)
                }
                if t > 0.1 && t < 0.9 { ramp += 1 }
                if mask[y * w + x] {
                    let left = x == 0 || !mask[y * w + x - 1], right = x == w - 1 || !mask[y * w + x + 1]
                    let up = y == 0 || !mask[(y - 1) * w + x], down = y == h - 1 || !mask[(y + 1) * w + x]
                    if left || right || up || down { boundary += 1 }
                }
            } }
        }
        guard boundary > 0 else { return 0 }
        let width = Double(ramp) / Double(boundary)
        return clamp01(1.4 - 0.4 * width)
    }

    /// Missing fine detail against real renderings of the same prompt: R = power in the top 40 % of
    /// spatial frequencies over power in the 30–60 % band (radially averaged). Blur removes the high
    /// band (R falls by orders of magnitude). Real clips of one prompt vary by up to ~4× in R (object
    /// size, position), so the score is exp(−½·deficit) with log(R_real / R)'s excess over log 4. Only
    /// a deficit costs: excess high-frequency power is noise, which flickering and background
    /// consistency judge (scoring both ways ranked a noisy 6-step sampler best).
    static func spectralFidelity(_ frames: Tensor, scene: Scene) -> Double {
        let (f, h, w) = (frames.shape[0], frames.shape[1], frames.shape[2])
        guard h == w else { return 0 }
        func bandRatio(_ clip: Tensor) -> Double {
            let p = Spectra.radialSpatial(clip)
            let n = p.count - 1
            let mid = p[max(1, Int(0.3 * Double(n)))..<Int(0.6 * Double(n))].reduce(0, +)
            let high = p[Int(0.6 * Double(n))...].reduce(0, +)
            return mid > 0 ? high / mid : 0
        }
        var ref = 0.0
        for seed in [7, 8, 9] as [UInt64] { ref += bandRatio(ShapesWorld.render(scene, seed: seed, config: WorldConfig(frames: f, size: h)).frames) / 3 }
        let g = bandRatio(frames)
        guard ref > 0 else { return 0 }
        guard g > 0 else { return 0 }
        let deficit = max(0, Foundation.log(ref / g) - Foundation.log(4.0))
        return Foundation.exp(-0.5 * deficit)
    }

    /// Shape class by template IoU: circle, square and triangle of the blob's area at its centroid.
    static func classify(_ b: Blob) -> ShapeKind {
        let area = Float(b.area)
        var best = ShapeKind.circle, bestIoU: Float = -1
        let members = Set(b.pixels.map { $0.1 * 100_000 + $0.0 })
        for shape in ShapeKind.allCases {
            // Radius parameter giving the blob's area for this shape (see ShapesWorld.signedDistance).
            let r: Float
            switch shape {
            case .circle, .square: r = (area / .pi).squareRoot()
            case .triangle: r = (area / (1.299 * 1.5625)).squareRoot()
            }
            var inter = 0, templ = 0
            let reach = Int(r * 1.5) + 2
            for y in (Int(b.cy) - reach)...(Int(b.cy) + reach) { for x in (Int(b.cx) - reach)...(Int(b.cx) + reach) {
                if ShapesWorld.signedDistance(shape, Float(x) + 0.5 - b.cx, Float(y) + 0.5 - b.cy, r) < 0 {
                    templ += 1
                    if members.contains(y * 100_000 + x) { inter += 1 }
                }
            } }
            let iou = Float(inter) / Float(templ + b.area - inter)
            if iou > bestIoU { bestIoU = iou; best = shape }
        }
        return best
    }
}
