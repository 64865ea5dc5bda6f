// Elementwise kernels over raw buffers. Plain loops over UnsafeMutableBufferPointers that LLVM
// vectorises (written so: no generic SIMD types, which measured ~10× slower here; docs/benchmarks.md).
// `fastExp` replaces libm's expf, which is call-bound at ~2 GB/s and blocks vectorisation.

import RealModule

public enum Kernels {
    /// e^x with ~2 ulp error for x in [-87, 88], 0 below, +inf above (Cephes-style: 2^n · p(r)).
    @inline(__always)
    public static func fastExp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.3), 88.7)
        // n = round(x·log2 e), by adding 1.5·2^23: the float's low mantissa bits then hold n as an
        // integer (round to nearest even), so 2^n is built with wrapping bit arithmetic. A checked
        // Float → Int32 conversion here would trap-check every element and stop LLVM vectorising the
        // loops that call this (8× slower SiLU in a checked build; docs/benchmarks.md).
        let magic: Float = 12_582_912
        let t = xc * 1.442695041 + magic
        let n = t - magic
        // r = x − n·ln2 in two parts for accuracy.
        // Relaxed.multiplyAdd lets LLVM fuse each step into one FMA (half the arithmetic of the
        // separate multiply and add that strict IEEE order otherwise keeps).
        let r = Relaxed.multiplyAdd(n, 2.12194440e-4, Relaxed.multiplyAdd(n, -0.693359375, xc))
        var p: Float = 1.9875691500e-4
        p = Relaxed.multiplyAdd(p, r, 1.3981999507e-3)
        p = Relaxed.multiplyAdd(p, r, 8.3334519073e-3)
        p = Relaxed.multiplyAdd(p, r, 4.1665795894e-2)
        p = Relaxed.multiplyAdd(p, r, 1.6666665459e-1)
        p = Relaxed.multiplyAdd(p, r, 5.0000001201e-1)
        let er = Relaxed.multiplyAdd(p, r * r, r + 1)
        let bits = (t.bitPattern &- magic.bitPattern &+ 127) << 23   // n + 127 in the exponent field
        let y = er * Float(bitPattern: bits)
        return x < -87.3 ? 0 : (x > 88.7 ? .infinity : y)
    }

    /// tanh through fastExp; absolute error ~1e-7.
    @inline(__always)
    public static func fastTanh(_ x: Float) -> Float {
        let e = fastExp(-2 * abs(x))
        let t = (1 - e) / (1 + e)
        return x < 0 ? -t : t
    }

    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }

    static let geluC: Float = 0.7978845608028654   // √(2/π)

    /// y = x · σ(x)
    public static func silu(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<x.count { let v = x[i]; y[i] = v / (1 + fastExp(-v)) }
    }

    /// dx += dy · σ(x)(1 + x(1 − σ(x)))
    public static func siluBackward(_ x: UnsafeBufferPointer<Float>, _ dy: UnsafeBufferPointer<Float>,
                                    _ dx: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<x.count {
            let v = x[i]
            let s = 1 / (1 + fastExp(-v))
            dx[i] = dy[i] * s * (1 + v * (1 - s))
        }
    }

    /// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
    public static func gelu(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<x.count {
            let v = x[i]
            let u = geluC * (v + 0.044715 * v * v * v)
            // 0.5(1 + tanh u) = σ(2u)
            y[i] = v / (1 + fastExp(-2 * u))
        }
    }

    public static func geluBackward(_ x: UnsafeBufferPointer<Float>, _ dy: UnsafeBufferPointer<Float>,
                                    _ dx: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<x.count {
            let v = x[i]
            let u = geluC * (v + 0.044715 * v * v * v)
            let s = 1 / (1 + fastExp(-2 * u))          // 0.5(1 + tanh u)
            let t = 2 * s - 1                            // tanh u
            let du = geluC * (1 + 3 * 0.044715 * v * v)
            dx[i] = dy[i] * (s + v * 0.5 * (1 - t * t) * du)
        }
    }

    public static func addInPlace(_ a: inout [Float], _ b: [Float]) {
        precondition(a.count == b.count)
        a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<pa.count { pa[i] += pb[i] }
            }
        }
    }

    public static func scaleInPlace(_ a: inout [Float], _ s: Float) {
        a.withUnsafeMutableBufferPointer { pa in
            for i in 0..<pa.count { pa[i] *= s }
        }
    }

    /// Σ a[i]·b[i] accumulated in Double.
    public static func dot(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var s = 0.0
        for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
        return s
    }
}
