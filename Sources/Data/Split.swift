// The held-out split: compositions of ShapesWorld that no training stream ever draws (VAE, teacher,
// distillation all sample through `ShapesWorld.sample`, which rejects them), so the evaluation can ask
// whether a model composes what it learned rather than recalls it. Every colour, shape, motion and
// relation on its own is seen in training; only these combinations are not. docs/metric.md lists
// them and says why.

public enum HeldOut {
    /// An object of this colour and shape, anywhere in a scene.
    public static let colorShapes: [(ShapeColor, ShapeKind)] = [(.red, .triangle), (.green, .circle), (.blue, .square), (.orange, .circle)]
    /// An object of this shape with this motion (in a two-object scene, either object).
    public static let shapeMotions: [(ShapeKind, Motion)] = [(.circle, .up), (.square, .left), (.triangle, .right)]
    /// First object's shape, relation, second object's shape ("a … circle above a … square").
    public static let relations: [(ShapeKind, Relation, ShapeKind)] = [(.circle, .above, .square), (.square, .leftOf, .triangle),
                                                                        (.triangle, .below, .circle)]

    /// Why a scene is held out: one phrase per held-out composition it contains (empty: a seen scene).
    public static func reasons(_ scene: Scene) -> [String] {
        var out: [String] = []
        for o in scene.objects where colorShapes.contains(where: { $0 == (o.color, o.shape) }) {
            out.append("colour–shape \(o.color.rawValue) \(o.shape.rawValue)")
        }
        for o in scene.objects where shapeMotions.contains(where: { $0 == (o.shape, scene.motion) }) {
            out.append("shape–motion \(o.shape.rawValue) \(scene.motion.phrase)")
        }
        // The layout, not its wording: "a square below a circle" is the held-out "circle above a square".
        if scene.objects.count == 2, let rel = scene.relation {
            let (a, b) = (scene.objects[0].shape, scene.objects[1].shape)
            if let held = relations.first(where: { ($0.0, $0.1, $0.2) == (a, rel, b) || ($0.2, $0.1.mirrored, $0.0) == (a, rel, b) }) {
                out.append("relation \(held.0.rawValue) \(held.1.rawValue) \(held.2.rawValue)")
            }
        }
        return out
    }

    public static func contains(_ scene: Scene) -> Bool { !reasons(scene).isEmpty }
}

/// Which part of the world a prompt belongs to.
public enum Split: String, Codable, CaseIterable {
    /// Compositions the training streams draw.
    case seen
    /// Compositions they never draw (`HeldOut`).
    case heldOut = "held_out"

    public static func of(_ scene: Scene) -> Split { HeldOut.contains(scene) ? .heldOut : .seen }
}

extension Relation {
    /// The same layout seen from the other object: A above B is B below A.
    public var mirrored: Relation {
        switch self {
        case .leftOf: return .rightOf
        case .rightOf: return .leftOf
        case .above: return .below
        case .below: return .above
        }
    }
}
