// What a ShapesWorld clip shows: one or two coloured shapes, a layout, a motion and a background.
// A Scene is what a prompt means; a Clip (ShapesWorld.swift) is a Scene rendered with sampled sizes,
// positions and speeds, plus its per-frame ground truth.

public enum ShapeColor: String, CaseIterable, Codable {
    case red, green, blue, yellow, white, purple, orange, black, gray

    /// Colours objects can have (black and gray are backgrounds only).
    public static let objectColors: [ShapeColor] = [.red, .green, .blue, .yellow, .white, .purple, .orange]

    /// sRGB in [0, 1].
    public var rgb: (Float, Float, Float) {
        switch self {
        case .red: return (0.90, 0.10, 0.10)
        case .green: return (0.10, 0.75, 0.20)
        case .blue: return (0.15, 0.30, 0.95)
        case .yellow: return (0.95, 0.90, 0.10)
        case .white: return (0.95, 0.95, 0.95)
        case .purple: return (0.60, 0.20, 0.80)
        case .orange: return (1.00, 0.55, 0.05)
        case .black: return (0.05, 0.05, 0.05)
        case .gray: return (0.50, 0.50, 0.50)
        }
    }
}

public enum ShapeKind: String, CaseIterable, Codable {
    case circle, square, triangle

    /// How far the shape of size parameter `r` reaches from its centre along an axis direction (unit
    /// (dx, dy), y down), as ShapesWorld draws it: a circle r; a square its half side 0.886·r; the
    /// upward-pointing triangle (circumradius 1.25·r, centred on its centroid) 1.25·r up to its apex,
    /// 0.625·r down to its base, 1.083·r sideways at the base.
    public func extent(towards d: (Float, Float), _ r: Float) -> Float {
        switch self {
        case .circle: return r
        case .square: return 0.886 * r
        case .triangle: return d.1 < 0 ? 1.25 * r : (d.1 > 0 ? 0.625 * r : 1.083 * r)
        }
    }

    /// The farthest the shape reaches from its centre along either axis.
    public func reach(_ r: Float) -> Float { self == .triangle ? 1.25 * r : r }
}

public enum Motion: String, CaseIterable, Codable {
    case left, right, up, down, still

    /// Unit direction in image coordinates (y grows downwards).
    public var direction: (Float, Float) {
        switch self {
        case .left: return (-1, 0)
        case .right: return (1, 0)
        case .up: return (0, -1)
        case .down: return (0, 1)
        case .still: return (0, 0)
        }
    }

    /// The canonical phrase of the minimum grammar.
    public var phrase: String { self == .still ? "staying still" : "moving \(rawValue)" }
}

/// Where the second object sits relative to the first.
public enum Relation: String, CaseIterable, Codable {
    case leftOf = "to the left of", rightOf = "to the right of", above, below

    /// The second object's offset direction from the first: "A left of B" puts B to the right.
    var offset: (Float, Float) {
        switch self {
        case .leftOf: return (1, 0)
        case .rightOf: return (-1, 0)
        case .above: return (0, 1)
        case .below: return (0, -1)
        }
    }
}

public struct SceneObject: Equatable, Codable {
    public var color: ShapeColor
    public var shape: ShapeKind
    public init(_ color: ShapeColor, _ shape: ShapeKind) { self.color = color; self.shape = shape }
}

public struct Scene: Equatable, Codable {
    public var objects: [SceneObject]            // 1 or 2
    /// Layout of objects[0] relative to objects[1] ("a X and a Y" means X to the left of Y).
    public var relation: Relation?
    public var motion: Motion
    public var background: ShapeColor

    public init(objects: [SceneObject], relation: Relation? = nil, motion: Motion, background: ShapeColor) {
        self.objects = objects; self.relation = relation; self.motion = motion; self.background = background
    }

    /// The canonical caption (minimum grammar; "and" for left-to-right pairs).
    public var caption: String {
        func np(_ o: SceneObject) -> String { "a \(o.color.rawValue) \(o.shape.rawValue)" }
        var s = np(objects[0])
        if objects.count == 2 {
            let rel = relation ?? .leftOf
            s += rel == .leftOf ? " and " : " \(rel.rawValue) "
            s += np(objects[1])
        }
        return s + " \(motion.phrase) on a \(background.rawValue) background"
    }
}
