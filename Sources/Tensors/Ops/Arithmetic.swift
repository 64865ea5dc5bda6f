// Broadcasting arithmetic (+, −, ×, ÷ between tensors and with scalars) with backward passes.
// Gradients of broadcast inputs are summed back to their own shapes.

extension Tensor {
    static func broadcastShape(_ op: String, _ a: Tensor, _ b: Tensor) -> [Int] {
        guard let s = Broadcast.shape(a.shape, b.shape) else {
            preconditionFailure("\(op): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        return s
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let shape = broadcastShape("add", a, b)
        let out = Tensor(shape: shape, data: Broadcast.binary(a.data, a.shape, b.data, b.shape, shape, +))
        if needsGrad(a, b) {
            let (sa, sb) = (a.shape, b.shape)
            out.record("add", [a, b]) { g in
                [Broadcast.reduce(g, from: shape, to: sa), Broadcast.reduce(g, from: shape, to: sb)]
            }
        }
        return out
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let shape = broadcastShape("sub", a, b)
        let out = Tensor(shape: shape, data: Broadcast.binary(a.data, a.shape, b.data, b.shape, shape, -))
        if needsGrad(a, b) {
            let (sa, sb) = (a.shape, b.shape)
            out.record("sub", [a, b]) { g in
                var gb = Broadcast.reduce(g, from: shape, to: sb)
                Kernels.scaleInPlace(&gb, -1)
                return [Broadcast.reduce(g, from: shape, to: sa), gb]
            }
        }
        return out
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let shape = broadcastShape("mul", a, b)
        let out = Tensor(shape: shape, data: Broadcast.binary(a.data, a.shape, b.data, b.shape, shape, *))
        if needsGrad(a, b) {
            let (ad, bd, sa, sb) = (a.data, b.data, a.shape, b.shape)
            let (ra, rb) = (a.requiresGrad, b.requiresGrad)
            out.record("mul", [a, b]) { g in
                // d(a·b)/da = b, broadcast to the output shape first, then summed back.
                let ga = ra ? Broadcast.reduce(Broadcast.binary(g, shape, bd, sb, shape, *), from: shape, to: sa) : nil
                let gb = rb ? Broadcast.reduce(Broadcast.binary(g, shape, ad, sa, shape, *), from: shape, to: sb) : nil
                return [ga, gb]
            }
        }
        return out
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let shape = broadcastShape("div", a, b)
        let out = Tensor(shape: shape, data: Broadcast.binary(a.data, a.shape, b.data, b.shape, shape, /))
        if needsGrad(a, b) {
            let (bd, sa, sb, od) = (b.data, a.shape, b.shape, out.data)
            let rb = b.requiresGrad
            out.record("div", [a, b]) { g in
                let ga = Broadcast.binary(g, shape, bd, sb, shape, /)
                // d(a/b)/db = −(a/b)/b
                var gb: [Float]? = nil
                if rb {
                    let t = Broadcast.binary(ga, shape, od, shape, shape, *)
                    var r = Broadcast.reduce(t, from: shape, to: sb)
                    Kernels.scaleInPlace(&r, -1)
                    gb = r
                }
                return [Broadcast.reduce(ga, from: shape, to: sa), gb]
            }
        }
        return out
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.affine(scale: -1, shift: s) }

    /// y = scale·x + shift
    public func affine(scale: Float, shift: Float) -> Tensor {
        var y = data
        y.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = p[i] * scale + shift } }
        let out = Tensor(shape: shape, data: y)
        if Tensor.needsGrad(self) {
            out.record("affine", [self]) { g in
                var gx = g
                if scale != 1 { Kernels.scaleInPlace(&gx, scale) }
                return [gx]
            }
        }
        return out
    }
}
