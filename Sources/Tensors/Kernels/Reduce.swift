// Row reductions that LLVM may vectorise: swift-numerics' `Relaxed` arithmetic permits reassociation,
// which strict IEEE order forbids (a plain `s += x[i]` loop runs one add per FP latency).
// Results differ from sequential sums only by rounding.
import RealModule

public extension Kernels {
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { s = Relaxed.sum(s, x[i]) }
        return s
    }

    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { s = Relaxed.multiplyAdd(x[i], y[i], s) }
        return s
    }

    /// Σ (x − c)²
    @inline(__always)
    static func sumSquaredDeviation(_ x: UnsafePointer<Float>, _ n: Int, _ c: Float) -> Float {
        var s: Float = 0
        for i in 0..<n { let d = x[i] - c; s = Relaxed.multiplyAdd(d, d, s) }
        return s
    }

    @inline(__always)
    static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        // A scalar max reduction does not vectorise (its order is fixed without fast-math), and it
        // was most of a 576-token attention's softmax; explicit 16-lane maxima in two chains do.
        let raw = UnsafeRawPointer(x)
        var a = SIMD16<Float>(repeating: -.infinity), b = a, i = 0
        while i + 32 <= n {
            let u = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            let v = raw.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self)
            a.replace(with: u, where: u .> a)
            b.replace(with: v, where: v .> b)
            i += 32
        }
        a.replace(with: b, where: b .> a)
        var m = a.max()
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        return m
    }

    /// A Float array of `n` values written by `fill` without zero-filling first.
    @inline(__always)
    static func buffer(_ n: Int, _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        [Float](unsafeUninitializedCapacity: n) { buf, count in
            fill(buf)
            count = n
        }
    }

    /// `buffer` for arrays filled later, through their own pointers (outputs of β = 0 GEMMs that
    /// write every element before anything reads it).
    static func unfilled(_ n: Int) -> [Float] { buffer(n) { _ in } }
}
