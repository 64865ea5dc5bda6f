// How much a text-to-video model's predictions use each attribute of its prompt (docs/word-use.md).
// Real ShapesWorld clips are noised to a few noise levels; the model predicts the flow velocity once
// with the clip's own caption and once per attribute with that attribute changed (the other shape,
// colour, motion, background or layout). The loss the wrong word costs, over what it would cost a model
// that trusted the text completely (the mean squared latent difference between the clip and the same
// clip rendered with the changed attribute, same sizes and positions), is the attribute's use: 0 when
// the model ignores the word, about 1 when its prediction moves all the way to the other rendering.
// Unlike sampled scores it reads a model in seconds and sees shape use before shapes come out right.
import Data
import Foundation
import ModelFolders
import Tensors

public enum WordUse {
    public enum Attribute: String, CaseIterable, Codable {
        case shape, color, motion, background, relation
    }

    public struct Row: Codable, Equatable {
        public var attribute: Attribute
        public var sigma: Float
        public var clips: Int
        /// Mean per-element loss with the changed caption minus with the true caption.
        public var gain: Double
        /// Mean per-element squared latent difference between the clip and its changed rendering.
        public var distance: Double
        /// gain / distance.
        public var use: Double

        public init(attribute: Attribute, sigma: Float, clips: Int, gain: Double, distance: Double) {
            (self.attribute, self.sigma, self.clips, self.gain, self.distance) = (attribute, sigma, clips, gain, distance)
            use = distance > 0 ? gain / distance : 0
        }
    }

    /// The scene with `attribute` changed to the next value that keeps it a valid scene, or nil when it
    /// has none (a layout in a one-object scene). Object attributes change the first object.
    public static func changed(_ s: Scene, _ attribute: Attribute) -> Scene? {
        var t = s
        func next<T: Equatable>(_ all: [T], after x: T, allowed: (T) -> Bool) -> T? {
            guard let i = all.firstIndex(of: x) else { return nil }
            for k in 1..<all.count where allowed(all[(i + k) % all.count]) { return all[(i + k) % all.count] }
            return nil
        }
        switch attribute {
        case .shape:
            guard let k = next(ShapeKind.allCases, after: s.objects[0].shape, allowed: { _ in true }) else { return nil }
            t.objects[0].shape = k
        case .color:
            let used = Set(s.objects.map(\.color))
            guard let c = next(ShapeColor.objectColors, after: s.objects[0].color, allowed: { $0 != s.background && !used.contains($0) }) else { return nil }
            t.objects[0].color = c
        case .motion:
            guard let m = next(Motion.allCases, after: s.motion, allowed: { _ in true }) else { return nil }
            t.motion = m
        case .background:
            let used = Set(s.objects.map(\.color))
            guard let b = next(ShapeColor.allCases, after: s.background, allowed: { !used.contains($0) }) else { return nil }
            t.background = b
        case .relation:
            guard s.objects.count == 2, let r = s.relation else { return nil }
            let opposite: [Relation: Relation] = [.leftOf: .rightOf, .rightOf: .leftOf, .above: .below, .below: .above]
            t.relation = opposite[r]
        }
        return t
    }

    /// Rows for every attribute and noise level over `scenes` (each rendered with `seed`, noised with
    /// noise drawn from `seed`), in attribute-then-sigma order.
    public static func measure(model m: VideoModel, scenes: [Scene], seed: UInt64 = 0, sigmas: [Float] = [0.3, 0.5, 0.7, 0.9],
                               progress: ((Int, Int) -> Void)? = nil) throws -> [Row] {
        func latent(_ s: Scene, _ i: Int) throws -> Tensor { try m.realLatents(scene: s, seed: seed &+ UInt64(i)) }
        var sums: [Attribute: [(gain: Double, distance: Double, clips: Int)]] = [:]
        for a in Attribute.allCases { sums[a] = Array(repeating: (0, 0, 0), count: sigmas.count) }
        try GradMode.withDisabled {
            for (i, scene) in scenes.enumerated() {
                let z0 = try latent(scene, i)
                let others = Attribute.allCases.compactMap { a in changed(scene, a).map { (a, $0) } }
                let distances = try others.map { (_, s) in Double(Tensor.mse(try latent(s, i), z0).item) }
                let (ctx, _) = try m.embed([scene.caption] + others.map(\.1.caption))
                var rng = RNG(seed: seed &* 0x51_7CC1 &+ UInt64(i))
                let eps = rng.normal(shape: z0.shape)
                let target = eps - z0
                let n = others.count + 1
                for (j, sigma) in sigmas.enumerated() {
                    let x = z0 * (1 - sigma) + eps * sigma
                    let xs = Tensor.concat(Array(repeating: x, count: n), axis: 0)
                    let pred = try m.transformer(xs, timesteps: Array(repeating: sigma * 1000, count: n), context: ctx)
                    let losses = (0..<n).map { k in Double(Tensor.mse(pred.slice(axis: 0, k, k + 1), target).item) }
                    for (k, (a, _)) in others.enumerated() {
                        sums[a]![j].gain += losses[k + 1] - losses[0]
                        sums[a]![j].distance += distances[k]
                        sums[a]![j].clips += 1
                    }
                }
                progress?(i + 1, scenes.count)
            }
        }
        return Attribute.allCases.flatMap { a in sigmas.indices.compactMap { j -> Row? in
            let s = sums[a]![j]
            guard s.clips > 0 else { return nil }
            return Row(attribute: a, sigma: sigmas[j], clips: s.clips, gain: s.gain / Double(s.clips), distance: s.distance / Double(s.clips))
        } }
    }

    /// Per attribute over all noise levels: summed gain over summed distance.
    public static func summary(_ rows: [Row]) -> [(Attribute, Double)] {
        Attribute.allCases.compactMap { a in
            let r = rows.filter { $0.attribute == a }
            let d = r.map(\.distance).reduce(0, +)
            return r.isEmpty || d == 0 ? nil : (a, r.map(\.gain).reduce(0, +) / d)
        }
    }
}
