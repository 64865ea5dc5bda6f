// Analysing a generated ShapesWorld clip without its ground truth: background estimate (median of the
// border), a foreground mask (colour distance from the background), connected components per frame,
// and per-object tracks matched to the prompt's objects by colour. The MiniVBench dimensions read these.
import Data
import Foundation
import Tensors

public struct Blob {
    public var area: Int
    public var cx: Float, cy: Float
    /// Mean colour of the blob's core (pixels at least 80 % of the way from the background).
    public var color: (Float, Float, Float)
    /// Pixel coordinates (x, y) of the blob.
    public var pixels: [(Int, Int)]
}

public struct FrameAnalysis {
    public var background: (Float, Float, Float)
    /// Foreground blobs, largest first.
    public var blobs: [Blob]
    /// Mean colour distance of background-classified pixels from the background estimate (noise).
    public var backgroundSpread: Float
}

public struct ClipAnalysis {
    public let frames: Int, height: Int, width: Int
    public let analyses: [FrameAnalysis]
    /// The clip's background: per-channel median of the frames' estimates.
    public let background: (Float, Float, Float)
    let pixels: [Float]

    /// Frames [F, H, W, 3] in [0, 1].
    public init(_ clip: Tensor) {
        precondition(clip.rank == 4 && clip.shape[3] == 3, "ClipAnalysis: clip \(clip.shape) must be [F, H, W, 3]")
        (frames, height, width) = (clip.shape[0], clip.shape[1], clip.shape[2])
        pixels = clip.data
        var list: [FrameAnalysis] = []
        for f in 0..<frames { list.append(ClipAnalysis.analyse(clip.data, frame: f, h: height, w: width)) }
        analyses = list
        func median(_ v: [Float]) -> Float { let s = v.sorted(); return s[s.count / 2] }
        background = (median(list.map { $0.background.0 }), median(list.map { $0.background.1 }), median(list.map { $0.background.2 }))
    }

    public func pixel(_ f: Int, _ x: Int, _ y: Int) -> (Float, Float, Float) {
        let k = ((f * height + y) * width + x) * 3
        return (pixels[k], pixels[k + 1], pixels[k + 2])
    }

    static func distance(_ a: (Float, Float, Float), _ b: (Float, Float, Float)) -> Float {
        ((a.0 - b.0) * (a.0 - b.0) + (a.1 - b.1) * (a.1 - b.1) + (a.2 - b.2) * (a.2 - b.2)).squareRoot()
    }

    /// Foreground threshold (RGB distance in [0, 1] units) and the smallest blob kept, per 32×32 pixels.
    static let threshold: Float = 0.25
    static let minArea = 4

    static func analyse(_ px: [Float], frame f: Int, h: Int, w: Int) -> FrameAnalysis {
        func at(_ x: Int, _ y: Int) -> (Float, Float, Float) { let k = ((f * h + y) * w + x) * 3; return (px[k], px[k + 1], px[k + 2]) }
        var border: [(Float, Float, Float)] = []
        for x in 0..<w { border.append(at(x, 0)); border.append(at(x, h - 1)) }
        for y in 1..<(h - 1) { border.append(at(0, y)); border.append(at(w - 1, y)) }
        func median(_ v: [Float]) -> Float { let s = v.sorted(); return s[s.count / 2] }
        let bg = (median(border.map { $0.0 }), median(border.map { $0.1 }), median(border.map { $0.2 }))
        var mask = [Bool](repeating: false, count: h * w)
        var spread: Float = 0, bgCount = 0
        for y in 0..<h { for x in 0..<w {
            let d = distance(at(x, y), bg)
            if d > threshold { mask[y * w + x] = true } else { spread += d; bgCount += 1 }
        } }
        // Connected components (4-neighbour flood fill).
        var seen = [Bool](repeating: false, count: h * w)
        var blobs: [Blob] = []
        let minArea = max(2, minArea * h * w / 1024)
        for start in 0..<(h * w) where mask[start] && !seen[start] {
            var stack = [start], members: [(Int, Int)] = []
            seen[start] = true
            while let p = stack.popLast() {
                let (x, y) = (p % w, p / w)
                members.append((x, y))
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && nx < w && ny >= 0 && ny < h {
                    let q = ny * w + nx
                    if mask[q] && !seen[q] { seen[q] = true; stack.append(q) }
                }
            }
            guard members.count >= minArea else { continue }
            // Core colour: the members farthest from the background (the top 60 %).
            let byDistance = members.map { ($0, distance(at($0.0, $0.1), bg)) }.sorted { $0.1 > $1.1 }
            let core = byDistance.prefix(max(1, byDistance.count * 6 / 10))
            var c = (Float(0), Float(0), Float(0))
            for ((x, y), _) in core { let v = at(x, y); c.0 += v.0; c.1 += v.1; c.2 += v.2 }
            let n = Float(core.count)
            let color = (c.0 / n, c.1 / n, c.2 / n)
            // Centroid weighted by coverage (the projection of each pixel onto background → colour) over the
            // blob grown by one pixel, so anti-aliased edges move it smoothly instead of in pixel steps.
            let dir = (color.0 - bg.0, color.1 - bg.1, color.2 - bg.2)
            let len2 = max(dir.0 * dir.0 + dir.1 * dir.1 + dir.2 * dir.2, 1e-6)
            // (A mask visited in pixel order, not a Set: a Set's order changes from process to process, and
            // with it the sums' rounding, so the same clip scored differently in the fifth decimal.)
            var sx: Float = 0, sy: Float = 0, sw: Float = 0
            var grown = [Bool](repeating: false, count: h * w)
            for (x, y) in members { for dy in -1...1 { for dx in -1...1 {
                let (xx, yy) = (x + dx, y + dy)
                if xx >= 0, xx < w, yy >= 0, yy < h { grown[yy * w + xx] = true }
            } } }
            for p in 0..<(h * w) where grown[p] {
                let (x, y) = (p % w, p / w), v = at(x, y)
                let t = min(max(((v.0 - bg.0) * dir.0 + (v.1 - bg.1) * dir.1 + (v.2 - bg.2) * dir.2) / len2, 0), 1)
                sx += t * (Float(x) + 0.5); sy += t * (Float(y) + 0.5); sw += t
            }
            blobs.append(Blob(area: members.count, cx: sx / max(sw, 1e-6), cy: sy / max(sw, 1e-6), color: color, pixels: members))
        }
        blobs.sort { $0.area > $1.area }
        return FrameAnalysis(background: bg, blobs: blobs, backgroundSpread: bgCount > 0 ? spread / Float(bgCount) : 1)
    }

    /// The named colour nearest to an RGB value.
    public static func nearestColor(_ c: (Float, Float, Float), among names: [ShapeColor] = ShapeColor.allCases) -> ShapeColor {
        names.min { distance($0.rgb, c) < distance($1.rgb, c) }!
    }

    /// For each prompt object, its blob in each frame (nil where none matches), by colour: each frame's
    /// largest blobs are assigned to the prompt objects minimising the total colour distance, the shape
    /// class breaking ties. Where what the blobs look like cannot tell which is which — two objects of one
    /// colour and shape (twins), or of one colour drawn alike — the frame's pair is ordered to follow the
    /// tracks so far, each blob to the track whose last centroid is nearer, not by size: twins drawn at
    /// nearly equal sizes would otherwise trade places whenever their sizes cross, and both tracks would
    /// jump across the frame.
    public func tracks(for scene: Scene) -> [[Blob?]] {
        var out = [[Blob?]](repeating: [Blob?](repeating: nil, count: frames), count: scene.objects.count)
        var last: [(Float, Float)?] = [nil, nil]
        for f in 0..<frames {
            let blobs = Array(analyses[f].blobs.prefix(scene.objects.count + 1))
            if scene.objects.count == 1 {
                let best = blobs.prefix(2).min { Self.distance($0.color, scene.objects[0].color.rgb) < Self.distance($1.color, scene.objects[0].color.rgb) }
                out[0][f] = best
                continue
            }
            // cost[i][k]: blob i as object k — colour distance, the shape class breaking ties.
            let cost = blobs.map { b in scene.objects.map { Self.distance(b.color, $0.color.rgb) + (MiniVBench.classify(b) == $0.shape ? 0 : 0.05) } }
            var best: (i: Int, j: Int)? = nil
            for i in blobs.indices { for j in blobs.indices where j != i {
                if best.map({ cost[i][0] + cost[j][1] < cost[$0.i][0] + cost[$0.j][1] }) ?? true { best = (i, j) }
            } }
            let alike: Bool
            if let (i, j) = best {
                (out[0][f], out[1][f]) = (blobs[i], blobs[j])
                alike = abs(cost[i][0] + cost[j][1] - cost[j][0] - cost[i][1]) < 1e-6
            } else if let b = blobs.first {
                let (d0, d1) = (Self.distance(b.color, scene.objects[0].color.rgb), Self.distance(b.color, scene.objects[1].color.rgb))
                if d0 <= d1 { out[0][f] = b } else { out[1][f] = b }
                alike = abs(d0 - d1) < 1e-6
            } else {
                alike = false
            }
            if alike {
                // The distance of a blob from a track's last centroid (0 when either is missing).
                func far(_ b: Blob?, _ p: (Float, Float)?) -> Float {
                    guard let b, let p else { return 0 }
                    return ((b.cx - p.0) * (b.cx - p.0) + (b.cy - p.1) * (b.cy - p.1)).squareRoot()
                }
                let (a, b) = (out[0][f], out[1][f])
                if far(b, last[0]) + far(a, last[1]) < far(a, last[0]) + far(b, last[1]) { (out[0][f], out[1][f]) = (b, a) }
            }
            for k in 0..<2 { if let blob = out[k][f] { last[k] = (blob.cx, blob.cy) } }
        }
        return out
    }
}
