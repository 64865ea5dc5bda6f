// Real ShapesWorld clips that each ignore one part of their prompt (or two), for calibrating
// MiniVBench: a score worth reporting must rank the real clip above every one of these by a margin
// (docs/metric.md has the table; Tests/EvalTests assert the margins).
import Data
import Tensors

public enum Corruption: String, CaseIterable, Codable {
    /// Frame 0 held for the whole clip (moving prompts).
    case frozen
    /// Played backwards: moves the wrong way (moving prompts).
    case reversed
    /// The objects moving although the prompt says "staying still" (still prompts).
    case movesWhenStill = "moves_when_still"
    /// Every object in another object colour.
    case wrongColor = "wrong_color"
    /// Every object re-rendered as another shape.
    case wrongShape = "wrong_shape"
    /// One object more (one-object prompts) or one fewer (two-object prompts).
    case wrongCount = "wrong_count"
    /// Another background colour.
    case wrongBackground = "wrong_background"
    /// Two objects in the opposite layout ("A above B" drawn with A below B; two-object prompts whose
    /// objects differ).
    case wrongLayout = "wrong_layout"
    /// Two passes of a 5-tap binomial blur over each frame: no sharp edges left.
    case blurred
    /// Two parts ignored at once: wrong colour and wrong shape.
    case wrongColorAndShape = "wrong_color_and_shape"
    /// Two parts ignored at once: frozen (or moving, for still prompts) and wrong background.
    case wrongMotionAndBackground = "wrong_motion_and_background"

    /// How many parts of the prompt it ignores.
    public var ignoredParts: Int { self == .wrongColorAndShape || self == .wrongMotionAndBackground ? 2 : 1 }

    /// The corrupted clip of `scene` (frames [F, H, W, 3]), rendered with `seed`; nil where the corruption
    /// does not apply (frozen or reversed for a still prompt, moves-when-still for a moving one, a wrong
    /// layout for one object or two identical ones).
    public func apply(to scene: Scene, seed: UInt64, config: WorldConfig) -> Tensor? {
        func render(_ s: Scene) -> Tensor { ShapesWorld.render(s, seed: seed, config: config).frames }
        let moving = scene.motion != .still
        switch self {
        case .frozen:
            guard moving else { return nil }
            return Corruption.freeze(render(scene))
        case .reversed:
            guard moving else { return nil }
            return Corruption.reverse(render(scene))
        case .movesWhenStill:
            guard !moving else { return nil }
            return render(Corruption.moving(scene))
        case .wrongColor: return render(Corruption.recolored(scene))
        case .wrongShape: return render(Corruption.reshaped(scene))
        case .wrongCount: return render(Corruption.recounted(scene))
        case .wrongBackground: return render(Corruption.rebackgrounded(scene))
        case .wrongLayout:
            guard scene.objects.count == 2, scene.objects[0] != scene.objects[1], let rel = scene.relation else { return nil }
            var s = scene
            s.relation = rel.mirrored
            return render(s)
        case .blurred: return Corruption.blur(render(scene), passes: 2)
        case .wrongColorAndShape: return render(Corruption.reshaped(Corruption.recolored(scene)))
        case .wrongMotionAndBackground:
            let s = Corruption.rebackgrounded(scene)
            return moving ? Corruption.freeze(render(s)) : render(Corruption.moving(s))
        }
    }

    // MARK: scene edits (each keeps the scene valid: object colours differ from the background)

    static func recolored(_ scene: Scene) -> Scene {
        var s = scene
        let palette = ShapeColor.objectColors
        for i in s.objects.indices {
            var k = palette.firstIndex(of: s.objects[i].color)!
            repeat { k = (k + 3) % palette.count } while palette[k] == s.background || palette[k] == scene.objects[i].color
            s.objects[i].color = palette[k]
        }
        return s
    }

    static func reshaped(_ scene: Scene) -> Scene {
        var s = scene
        for i in s.objects.indices {
            let all = ShapeKind.allCases
            s.objects[i].shape = all[(all.firstIndex(of: s.objects[i].shape)! + 1) % all.count]
        }
        return s
    }

    static func recounted(_ scene: Scene) -> Scene {
        var s = scene
        if s.objects.count == 2 {
            s.objects.removeLast(); s.relation = nil
        } else {
            let other = ShapeColor.objectColors.first { $0 != s.background && $0 != s.objects[0].color }!
            let shape = ShapeKind.allCases.first { $0 != s.objects[0].shape }!
            s.objects.append(SceneObject(other, shape)); s.relation = .leftOf
        }
        return s
    }

    static func rebackgrounded(_ scene: Scene) -> Scene {
        var s = scene
        let used = Set(scene.objects.map(\.color))
        let all = ShapeColor.allCases
        var k = all.firstIndex(of: scene.background)!
        repeat { k = (k + 4) % all.count } while used.contains(all[k]) || all[k] == scene.background
        s.background = all[k]
        return s
    }

    static func moving(_ scene: Scene) -> Scene { var s = scene; s.motion = .right; return s }

    // MARK: frame edits

    static func freeze(_ frames: Tensor) -> Tensor {
        let f = frames.shape[0], n = frames.count / f
        let first = Array(frames.data[0..<n])
        return Tensor(shape: frames.shape, data: Array((0..<f).map { _ in first }.joined()))
    }

    static func reverse(_ frames: Tensor) -> Tensor {
        let f = frames.shape[0], n = frames.count / f
        let d = frames.data
        return Tensor(shape: frames.shape, data: Array((0..<f).reversed().map { d[($0 * n)..<(($0 + 1) * n)] }.joined()))
    }

    /// Separable binomial blur [1, 4, 6, 4, 1]/16 along x then y, `passes` times, edges clamped.
    static func blur(_ frames: Tensor, passes: Int) -> Tensor {
        let (f, h, w) = (frames.shape[0], frames.shape[1], frames.shape[2])
        let k: [Float] = [1, 4, 6, 4, 1].map { $0 / 16 }
        var d = frames.data
        for _ in 0..<passes {
            for axis in 0..<2 {
                var out = d
                for t in 0..<f { for y in 0..<h { for x in 0..<w { for c in 0..<3 {
                    var acc: Float = 0
                    for (j, kv) in k.enumerated() {
                        let o = j - 2
                        let (xx, yy) = axis == 0 ? (min(max(x + o, 0), w - 1), y) : (x, min(max(y + o, 0), h - 1))
                        acc += kv * d[((t * h + yy) * w + xx) * 3 + c]
                    }
                    out[((t * h + y) * w + x) * 3 + c] = acc
                } } } }
                d = out
            }
        }
        return Tensor(shape: frames.shape, data: d)
    }
}
