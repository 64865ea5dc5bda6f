// Counter-based RNG: Philox-4×32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
// Value i of a draw depends only on (seed, position), never on thread count or batching, so a
// (seed, prompt) pair gives the same noise everywhere. The state is two integers, so it checkpoints.

public struct RNG: Equatable, Codable {
    public let seed: UInt64
    /// 128-bit counter blocks consumed so far (each block yields four 32-bit values).
    public private(set) var position: UInt64

    public init(seed: UInt64, position: UInt64 = 0) {
        self.seed = seed
        self.position = position
    }

    /// The four 32-bit outputs of counter block `counter`.
    @inline(__always)
    public static func philox(seed: UInt64, counter: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2: UInt32 = 0, c3: UInt32 = 0
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let (hi0, lo0) = (UInt32(p0 >> 32), UInt32(truncatingIfNeeded: p0))
            let (hi1, lo1) = (UInt32(p1 >> 32), UInt32(truncatingIfNeeded: p1))
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always)
    static func unit(_ u: UInt32) -> Float { Float(u >> 8) * (1.0 / 16_777_216.0) }

    /// `count` uniforms in [0, 1).
    public mutating func uniform(_ count: Int) -> [Float] {
        let blocks = (count + 3) / 4
        let out = Kernels.buffer(count) { po in
            for b in 0..<blocks {
                let r = RNG.philox(seed: seed, counter: position + UInt64(b))
                let i = b * 4
                po[i] = RNG.unit(r.0)
                if i + 1 < count { po[i + 1] = RNG.unit(r.1) }
                if i + 2 < count { po[i + 2] = RNG.unit(r.2) }
                if i + 3 < count { po[i + 3] = RNG.unit(r.3) }
            }
        }
        position += UInt64(blocks)
        return out
    }

    /// `count` standard normals (Box–Muller, two per pair of uniforms, computed in Double).
    public mutating func normal(_ count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let blocks = (count + 3) / 4
        out.withUnsafeMutableBufferPointer { po in
            for b in 0..<blocks {
                let r = RNG.philox(seed: seed, counter: position + UInt64(b))
                for p in 0..<2 {
                    let (a, c) = p == 0 ? (r.0, r.1) : (r.2, r.3)
                    // u1 in (0, 1]: never log(0).
                    let u1 = (Double(a >> 8) + 1) / 16_777_216.0
                    let u2 = Double(c >> 8) / 16_777_216.0
                    let radius = (-2 * _log(u1)).squareRoot()
                    let i = b * 4 + p * 2
                    if i < count { po[i] = Float(radius * _cos(2 * .pi * u2)) }
                    if i + 1 < count { po[i + 1] = Float(radius * _sin(2 * .pi * u2)) }
                }
            }
        }
        position += UInt64(blocks)
        return out
    }

    /// A uniform integer in 0..<n.
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0)
        let r = RNG.philox(seed: seed, counter: position)
        position += 1
        let wide = (UInt64(r.0) << 32) | UInt64(r.1)
        return Int(wide % UInt64(n))
    }

    public mutating func normal(shape: [Int]) -> Tensor { Tensor(shape: shape, data: normal(shape.product)) }
    public mutating func uniform(shape: [Int]) -> Tensor { Tensor(shape: shape, data: uniform(shape.product)) }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
@inline(__always) private func _sin(_ x: Double) -> Double { Foundation.sin(x) }
