// The ShapesWorld prompt grammar: a tolerant parser (any case, "a"/"an", punctuation, synonyms such as
// "sliding", "drifting", "box") from text to a Scene, and varied phrasings for training captions.
// Unknown words are not an error: they are reported so a caller (the studio) can show them.

public struct ParsedPrompt: Equatable {
    public var scene: Scene?
    /// Words the grammar does not know (in order of appearance).
    public var unknownWords: [String]
    /// Why no scene could be read (missing colour, shape, …), when `scene` is nil.
    public var problem: String?
}

public enum PromptGrammar {
    static let colorWords: [String: ShapeColor] = Dictionary(uniqueKeysWithValues: ShapeColor.allCases.map { ($0.rawValue, $0) })
        .merging(["grey": .gray, "violet": .purple], uniquingKeysWith: { a, _ in a })
    static let shapeWords: [String: ShapeKind] = [
        "circle": .circle, "ball": .circle, "disc": .circle, "disk": .circle, "dot": .circle,
        "square": .square, "box": .square, "block": .square,
        "triangle": .triangle,
    ]
    static let motionVerbs: Set<String> = ["moving", "sliding", "drifting", "going", "heading", "travelling", "traveling", "gliding"]
    static let directionWords: [String: Motion] = ["left": .left, "right": .right, "up": .up, "upwards": .up, "upward": .up,
                                                   "down": .down, "downwards": .down, "downward": .down]
    static let stillWords: Set<String> = ["staying", "still", "static", "resting", "stationary", "motionless", "standing", "sitting"]
    static let glue: Set<String> = ["a", "an", "the", "and", "on", "of", "to", "in", "background", "backdrop", "is", "are", "both",
                                     "above", "below", "over", "under", "beneath", "with"]

    /// Every word the grammar knows (the tokenizer's vocabulary).
    public static var vocabulary: [String] {
        Array(colorWords.keys) + Array(shapeWords.keys) + Array(motionVerbs) + Array(directionWords.keys) + Array(stillWords) + Array(glue)
    }

    /// Lowercased words; punctuation and non-letters separate words.
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter }.map(String.init)
    }

    public static func parse(_ text: String) -> ParsedPrompt {
        let w = words(text)
        var unknown: [String] = []
        for word in w where colorWords[word] == nil && shapeWords[word] == nil && !motionVerbs.contains(word)
            && directionWords[word] == nil && !stillWords.contains(word) && !glue.contains(word) && !unknown.contains(word) {
            unknown.append(word)
        }
        // The background: the colour right before "background"/"backdrop" (or after "on").
        var background: ShapeColor?
        var backgroundIndex: Int?
        if let bi = w.firstIndex(where: { $0 == "background" || $0 == "backdrop" }), bi > 0, let c = colorWords[w[bi - 1]] {
            background = c; backgroundIndex = bi - 1
        } else if let oi = w.lastIndex(of: "on"), oi + 1 < w.count, let c = colorWords[w[oi + 1]] ?? (oi + 2 < w.count ? colorWords[w[oi + 2]] : nil) {
            background = c; backgroundIndex = colorWords[w[oi + 1]] != nil ? oi + 1 : oi + 2
        }
        // Objects: each shape word takes the nearest colour word before it.
        var objects: [SceneObject] = []
        var objectWordIndex: [Int] = []
        var lastColor: (ShapeColor, Int)?
        for (i, word) in w.enumerated() {
            if i == backgroundIndex { continue }
            if let c = colorWords[word] { lastColor = (c, i) }
            if let s = shapeWords[word] {
                guard let (c, _) = lastColor else {
                    return ParsedPrompt(scene: nil, unknownWords: unknown, problem: "the \(word) has no colour")
                }
                objects.append(SceneObject(c, s)); objectWordIndex.append(i)
                lastColor = nil
            }
        }
        guard !objects.isEmpty else { return ParsedPrompt(scene: nil, unknownWords: unknown, problem: "no shape (circle, square, triangle)") }
        guard objects.count <= 2 else { return ParsedPrompt(scene: nil, unknownWords: unknown, problem: "at most two shapes, found \(objects.count)") }
        guard let background else { return ParsedPrompt(scene: nil, unknownWords: unknown, problem: "no background colour (… on a <color> background)") }
        // Relation: the words between the two object phrases.
        var relation: Relation?
        if objects.count == 2 {
            let between = Set(w[(objectWordIndex[0] + 1)..<objectWordIndex[1]])
            if between.contains("above") || between.contains("over") { relation = .above }
            else if between.contains("below") || between.contains("under") || between.contains("beneath") { relation = .below }
            else if between.contains("right") { relation = .rightOf }
            else { relation = .leftOf }    // "and" or "to the left of"
        }
        // Motion: a direction word (outside the relation phrase) or a still word.
        let tail = objectWordIndex.last.map { Array(w[($0 + 1)...]) } ?? w
        var motion: Motion = .still
        if let d = tail.first(where: { directionWords[$0] != nil }) { motion = directionWords[d]! }
        else if tail.contains(where: { stillWords.contains($0) }) { motion = .still }
        else if !tail.contains(where: { motionVerbs.contains($0) }) { motion = .still }
        else { return ParsedPrompt(scene: nil, unknownWords: unknown, problem: "a motion verb without a direction") }
        if objects.contains(where: { $0.color == background }) {
            return ParsedPrompt(scene: nil, unknownWords: unknown, problem: "an object has the background's colour (\(background.rawValue))")
        }
        return ParsedPrompt(scene: Scene(objects: objects, relation: relation, motion: motion, background: background),
                            unknownWords: unknown, problem: nil)
    }

    /// A caption for `scene` in one of several phrasings (training text), chosen by `variant`.
    public static func phrase(_ scene: Scene, variant: Int) -> String {
        let articles = ["a", "a", "the"]
        let shapeSyn: [ShapeKind: [String]] = [.circle: ["circle", "circle", "ball"], .square: ["square", "square", "box"], .triangle: ["triangle"]]
        func np(_ o: SceneObject, _ k: Int) -> String {
            let syn = shapeSyn[o.shape]!
            return "\(articles[k % articles.count]) \(o.color.rawValue) \(syn[(k / 3) % syn.count])"
        }
        var s = np(scene.objects[0], variant)
        if scene.objects.count == 2 {
            let rel = scene.relation ?? .leftOf
            s += rel == .leftOf && variant % 2 == 0 ? " and " : " \(rel.rawValue) "
            s += np(scene.objects[1], variant / 2)
        }
        let verbs = ["moving", "moving", "sliding", "drifting"]
        let motion = scene.motion == .still ? ["staying still", "staying still", "resting"][variant % 3]
            : "\(verbs[(variant / 5) % verbs.count]) \(scene.motion.rawValue)"
        return s + " \(motion) on a \(scene.background.rawValue) background"
    }
}
