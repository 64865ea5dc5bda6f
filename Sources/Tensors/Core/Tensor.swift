// The engine's tensor: Float32, contiguous, row-major, PyTorch axis order (docs/design.md §1).
// A tensor owns a value-semantic `[Float]`; views that would need strides (permute, slice) copy.
// Autograd lives in Autograd.swift; ops are in Ops/, one file per family.

public final class Tensor {
    /// Sizes, outermost first. A scalar has shape [].
    public let shape: [Int]
    /// Row-major values; `data.count == shape.product`.
    public var data: [Float]
    /// Whether gradients flow to this tensor (parameters, or results of ops on them).
    public var requiresGrad: Bool
    /// Accumulated gradient of a leaf, same count as `data`. Zeroed explicitly (`zeroGrad()`).
    public var grad: [Float]?
    /// Optional name, used in error messages and checkpoints.
    public var name: String?
    /// The op that produced this tensor, while a graph is being recorded.
    var node: Node?

    public init(shape: [Int], data: [Float], requiresGrad: Bool = false, name: String? = nil) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative size in shape \(shape)")
        precondition(data.count == shape.product,
                     "Tensor\(name.map { " '\($0)'" } ?? ""): \(data.count) values for shape \(shape) (needs \(shape.product))")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
        self.name = name
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.product), requiresGrad: requiresGrad)
    }

    public convenience init(filled value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.product))
    }

    public convenience init(scalar: Float) {
        self.init(shape: [], data: [scalar])
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(data.count == 1, "item: tensor of shape \(shape) has \(data.count) values")
        return data[0]
    }

    /// Row-major strides of `shape`.
    public var strides: [Int] { shape.rowMajorStrides }

    /// A new tensor with the same values that no graph reaches (like PyTorch's `detach()`).
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }

    public func zeroGrad() { grad = nil }

    /// The value at a multi-index (slow; for tests and debugging).
    public subscript(_ index: Int...) -> Float {
        precondition(index.count == shape.count, "subscript: \(index.count) indices for shape \(shape)")
        var offset = 0
        for (i, s) in zip(index, strides) { offset += i * s }
        return data[offset]
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = data.prefix(8).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(data.count > 8 ? ", …" : "")]"
    }
}

public extension Array where Element == Int {
    /// Product of the sizes (1 for an empty shape).
    var product: Int { reduce(1, *) }

    var rowMajorStrides: [Int] {
        var strides = [Int](repeating: 1, count: count)
        var s = 1
        for i in stride(from: count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= self[i]
        }
        return strides
    }
}

import Foundation
