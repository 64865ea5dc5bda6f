// Basic layers as callable modules. Initialisation follows PyTorch's defaults (nn.Linear:
// U(−1/√in, 1/√in) for weight and bias; norms: ones and zeros) drawn from an explicit RNG.
import Tensors

public final class Linear: Module {
    public let weight: Tensor          // [out, in]
    public let bias: Tensor?           // [out]

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RNG) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = parameter([outFeatures, inFeatures], rng.uniform(outFeatures * inFeatures).map { ($0 * 2 - 1) * bound })
        self.bias = bias ? parameter([outFeatures], rng.uniform(outFeatures).map { ($0 * 2 - 1) * bound }) : nil
    }

    /// x: [..., in] → [..., out]
    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight, bias) }
}

public final class LayerNorm: Module {
    public let weight: Tensor?
    public let bias: Tensor?
    public let eps: Float

    public init(_ dim: Int, affine: Bool = true, eps: Float = 1e-6) {
        weight = affine ? parameter([dim], [Float](repeating: 1, count: dim)) : nil
        bias = affine ? parameter([dim], [Float](repeating: 0, count: dim)) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

public final class RMSNorm: Module {
    public let weight: Tensor
    public let eps: Float

    public init(_ dim: Int, eps: Float = 1e-6) {
        weight = parameter([dim], [Float](repeating: 1, count: dim))
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.rmsNorm(weight: weight, eps: eps) }
}
