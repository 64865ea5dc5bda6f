// The evaluation prompt suite (samples/prompts/eval.txt, made by `EvalSuite.generate`) and the seed
// convention (seeds 0–4). Half the suite is held out (compositions no training stream draws; Data's
// `HeldOut`), and the order interleaves the kinds of prompt, so any prefix — the few prompts a trainer
// scores at each evaluation — mixes one- and two-object scenes, seen and held-out ones.
import Data
import Foundation
import Tensors

public enum EvalSuite {
    public static let defaultSeeds: [UInt64] = [0, 1, 2, 3, 4]

    /// samples/prompts/eval.txt from the working directory or near the binary.
    public static func prompts() throws -> [String] {
        var candidates = [FileManager.default.currentDirectoryPath + "/samples/prompts/eval.txt"]
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 { candidates.append(url.path + "/samples/prompts/eval.txt"); url = url.deletingLastPathComponent() }
        for c in candidates {
            if let text = try? String(contentsOfFile: c, encoding: .utf8) { return read(text) }
        }
        throw DataError.invalid("samples/prompts/eval.txt not found in the working directory or beside the binary; "
                                + "run from the repository or give the prompts explicitly (--prompts FILE)")
    }

    /// The suite: 72 prompts, 36 seen and 36 held out. Seen: 18 one-object and 18 two-object scenes.
    /// Held out, one held-out composition each: 12 colour–shape (8 one-object, 4 two-object), 12
    /// shape–motion (8 and 4) and 12 two-object layouts. Deterministic.
    public static func generate() -> [String] {
        enum Kind: CaseIterable { case seen1, colorShape, seen2, relation, shapeMotion }
        // Interleaved order of kinds (72 slots): seen one-object and two-object, then a held-out kind.
        let pattern: [Kind] = [.seen1, .colorShape, .seen2, .relation, .seen1, .shapeMotion, .seen2, .colorShape,
                               .seen1, .relation, .seen2, .shapeMotion]
        var rng = RNG(seed: 0x5717E)
        var out: [String] = [], used = Set<String>()
        var counters: [Int] = [0, 0, 0, 0, 0]
        func pick<T>(_ v: [T]) -> T { v[rng.int(below: v.count)] }
        func object(avoiding bg: ShapeColor) -> SceneObject {
            SceneObject(pick(ShapeColor.objectColors.filter { $0 != bg }), pick(ShapeKind.allCases))
        }
        for slot in 0..<72 {
            let kind = pattern[slot % pattern.count]
            let index = counters[Kind.allCases.firstIndex(of: kind)!]
            counters[Kind.allCases.firstIndex(of: kind)!] += 1
            while true {
                let bg = pick(ShapeColor.allCases), motion = pick(Motion.allCases)
                var scene: Scene
                switch kind {
                case .seen1: scene = Scene(objects: [object(avoiding: bg)], motion: motion, background: bg)
                case .seen2:
                    scene = Scene(objects: [object(avoiding: bg), object(avoiding: bg)], relation: pick(Relation.allCases), motion: motion, background: bg)
                case .colorShape:
                    let (c, sh) = HeldOut.colorShapes[index % HeldOut.colorShapes.count]
                    var objects = [SceneObject(c, sh)]
                    if index % 3 == 2 { objects.append(object(avoiding: bg)) }
                    scene = Scene(objects: objects, relation: objects.count == 2 ? pick(Relation.allCases) : nil, motion: motion, background: bg)
                case .shapeMotion:
                    let (sh, m) = HeldOut.shapeMotions[index % HeldOut.shapeMotions.count]
                    var objects = [SceneObject(pick(ShapeColor.objectColors.filter { $0 != bg }), sh)]
                    if index % 3 == 2 { objects.append(object(avoiding: bg)) }
                    scene = Scene(objects: objects, relation: objects.count == 2 ? pick(Relation.allCases) : nil, motion: m, background: bg)
                case .relation:
                    let (a, rel, b) = HeldOut.relations[index % HeldOut.relations.count]
                    let first = SceneObject(pick(ShapeColor.objectColors.filter { $0 != bg }), a)
                    let second = SceneObject(pick(ShapeColor.objectColors.filter { $0 != bg }), b)
                    scene = Scene(objects: [first, second], relation: rel, motion: motion, background: bg)
                }
                let reasons = HeldOut.reasons(scene)
                let wanted = kind == .seen1 || kind == .seen2 ? 0 : 1
                guard scene.objects.allSatisfy({ $0.color != bg }), reasons.count == wanted, !used.contains(scene.caption) else { continue }
                used.insert(scene.caption)
                out.append(scene.caption)
                break
            }
        }
        return out
    }

    /// Non-empty lines.
    public static func read(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The most seeds one command takes (a bound, so a typo cannot ask for billions of clips).
    public static let maxSeeds = 10_000

    /// "0-4" or "0,2,7" → seeds (at most `maxSeeds`).
    public static func parseSeeds(_ s: String) throws -> [UInt64] {
        let usage = "seeds '\(s)': use A-B with A ≤ B (e.g. 0-4) or a comma list (e.g. 0,2,7), at most \(maxSeeds) seeds"
        if let dash = s.firstIndex(of: "-"), let a = UInt64(s[..<dash]), let b = UInt64(s[s.index(after: dash)...]) {
            guard a <= b, b - a < UInt64(maxSeeds) else { throw DataError.invalid(usage) }
            return Array(a...b)
        }
        let parts = s.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.count <= maxSeeds, parts.allSatisfy({ $0 != nil }) else { throw DataError.invalid(usage) }
        return parts.map { $0! }
    }
}
