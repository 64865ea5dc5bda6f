// An auxiliary task for the teacher's text encoder (`text.structure_weight`, docs/word-use.md): from the
// encoder's outputs for a caption, a small training-only head reads the layout the caption describes —
// the colour and shape of the object on top or at the left, of the object below or at the right, and
// the axis the pair lies along. The flow-matching loss alone must discover this binding through the
// transformer; the head asks the encoder for it directly, in a form cross-attention can look up ("the
// colour of the upper object"). The head is not part of the exported model.
import Data
import NN
import Tensors

/// The layout labels of one caption: two slots (top-or-left object, bottom-or-right object), each a
/// colour (an index of `ShapeColor.allCases`, or its count for no object) and a shape (likewise of
/// `ShapeKind.allCases`), and the axis (0: one object, 1: side by side, 2: one above the other).
public struct CaptionStructure: Equatable {
    public static let colorClasses = ShapeColor.allCases.count + 1
    public static let shapeClasses = ShapeKind.allCases.count + 1
    public static let axisClasses = 3

    public var colors: [Int]
    public var shapes: [Int]
    public var axis: Int

    public init(colors: [Int], shapes: [Int], axis: Int) { self.colors = colors; self.shapes = shapes; self.axis = axis }

    public init(_ scene: Scene) {
        let objects: [SceneObject?]
        switch (scene.objects.count, scene.relation) {
        case (2, .above?): objects = [scene.objects[0], scene.objects[1]]; axis = 2
        case (2, .below?): objects = [scene.objects[1], scene.objects[0]]; axis = 2
        case (2, .rightOf?): objects = [scene.objects[1], scene.objects[0]]; axis = 1
        case (2, _): objects = [scene.objects[0], scene.objects[1]]; axis = 1     // "and" reads as "to the left of"
        default: objects = [scene.objects.first, nil]; axis = 0
        }
        colors = objects.map { o in o.map { ShapeColor.allCases.firstIndex(of: $0.color)! } ?? ShapeColor.allCases.count }
        shapes = objects.map { o in o.map { ShapeKind.allCases.firstIndex(of: $0.shape)! } ?? ShapeKind.allCases.count }
    }
}

/// Two learned queries attend over a caption's encoder outputs (one per slot); linear read-outs of the
/// pooled vectors give each slot's colour and shape, and of both together the axis.
public final class StructureHead: Module {
    public let queries: Tensor     // [2, D]
    public let color: Linear, shape: Linear, axis: Linear

    public init(dim: Int, rng: inout RNG) {
        queries = parameter([2, dim], rng.normal(2 * dim))
        color = Linear(dim, CaptionStructure.colorClasses, rng: &rng)
        shape = Linear(dim, CaptionStructure.shapeClasses, rng: &rng)
        axis = Linear(2 * dim, CaptionStructure.axisClasses, rng: &rng)
    }

    public struct Result {
        /// Mean cross-entropy, summed over the three read-outs.
        public var loss: Tensor
        /// Share of captions whose every label (both slots' colour and shape, the axis) is read right.
        public var exact: Double
    }

    /// `outputs`: each caption's encoder outputs over its real tokens, [n_i, D].
    public func callAsFunction(_ outputs: [Tensor], labels: [CaptionStructure]) -> Result {
        precondition(!outputs.isEmpty && outputs.count == labels.count, "StructureHead: \(outputs.count) captions, \(labels.count) labels")
        let d = queries.shape[1]
        let pooled = outputs.map { h -> Tensor in
            let weights = (h.matmul(queries, transB: true) * (1 / Float(d).squareRoot())).transpose(0, 1).softmax()   // [2, n]
            return weights.matmul(h)                                                                                 // [2, D]
        }
        let slots = Tensor.concat(pooled, axis: 0)                      // [2B, D]: caption-major, slot-minor
        let (colorLogits, shapeLogits) = (color(slots), shape(slots))
        let axisLogits = axis(slots.reshape(labels.count, 2 * d))
        let colorLabels = labels.flatMap(\.colors), shapeLabels = labels.flatMap(\.shapes), axisLabels = labels.map(\.axis)
        let loss = Tensor.crossEntropy(colorLogits, labels: colorLabels) + Tensor.crossEntropy(shapeLogits, labels: shapeLabels)
            + Tensor.crossEntropy(axisLogits, labels: axisLabels)
        func argmax(_ t: Tensor, row: Int) -> Int {
            let c = t.shape[1]
            return (0..<c).max { t.data[row * c + $0] < t.data[row * c + $1] }!
        }
        let right = labels.indices.filter { i in
            (0..<2).allSatisfy { s in argmax(colorLogits, row: 2 * i + s) == colorLabels[2 * i + s] && argmax(shapeLogits, row: 2 * i + s) == shapeLabels[2 * i + s] }
                && argmax(axisLogits, row: i) == axisLabels[i]
        }.count
        return Result(loss: loss, exact: Double(right) / Double(labels.count))
    }
}
