// Real FFTs in 1, 2 or 3 dimensions through FFTW (single precision) with a plan cache, and a direct
// DFT twin for tests. Forward r2c keeps the Hermitian half (last axis n/2+1); the inverse c2r is
// FFTW's unnormalised adjoint-style inverse (c2r(r2c(x)) = N·x).
import CFFTW
import Foundation

/// Interleaved complex values (re, im) of a half spectrum: shape [..., n_last/2 + 1].
public struct HalfSpectrum {
    public var dims: [Int]          // the real transform's dims, e.g. [F, H, W]
    public var batch: Int           // independent transforms
    public var values: [Float]      // batch · Π(dims.dropLast) · (dims.last/2+1) · 2

    public var halfCount: Int { dims.dropLast().product * (dims.last! / 2 + 1) }
}

public final class FFT: @unchecked Sendable {
    /// A plan cache shared by the process. FFTW's planner is not thread-safe, so planning is locked;
    /// executing a plan on new arrays (fftwf_execute_dft_r2c/c2r) is thread-safe and needs no lock.
    public static let shared = FFT()

    private struct Key: Hashable { let dims: [Int]; let batch: Int; let forward: Bool; let aligned: Bool }
    private var plans: [Key: fftwf_plan] = [:]
    private let lock = NSLock()

    public init() {}

    /// A batched plan (fftwf_plan_many_dft_*) made on scratch buffers, run on the caller's arrays without
    /// copies. FFTW's SIMD code needs the arrays aligned as at planning time; arrays that are not get a
    /// plan made with FFTW_UNALIGNED.
    private func plan(_ dims: [Int], batch: Int, forward: Bool, aligned: Bool) -> fftwf_plan {
        lock.lock()
        defer { lock.unlock() }
        let key = Key(dims: dims, batch: batch, forward: forward, aligned: aligned)
        if let p = plans[key] { return p }
        let nReal = dims.product, nHalf = dims.dropLast().product * (dims.last! / 2 + 1)
        let real = fftwf_alloc_real(nReal * batch)!, complex = fftwf_alloc_complex(nHalf * batch)!
        defer { fftwf_free(real); fftwf_free(complex) }
        let n32 = dims.map { Int32($0) }
        let flags = UInt32(FFTW_ESTIMATE) | (aligned ? 0 : UInt32(FFTW_UNALIGNED))
        let p = n32.withUnsafeBufferPointer { pn in
            forward ? fftwf_plan_many_dft_r2c(Int32(dims.count), pn.base, Int32(batch), real, nil, 1, Int32(nReal),
                                              complex, nil, 1, Int32(nHalf), flags)
                    : fftwf_plan_many_dft_c2r(Int32(dims.count), pn.base, Int32(batch), complex, nil, 1, Int32(nHalf),
                                              real, nil, 1, Int32(nReal), flags)
        }!
        plans[key] = p
        return p
    }

    /// Forward real FFT over the last `dims.count` axes of `x` (count = batch · Π dims).
    public func rfft(_ x: [Float], dims: [Int]) -> HalfSpectrum {
        precondition(!dims.isEmpty && dims.allSatisfy { $0 > 0 } && x.count % dims.product == 0,
                     "rfft: \(x.count) values do not split into transforms of \(dims)")
        let batch = x.count / dims.product
        var spec = HalfSpectrum(dims: dims, batch: batch, values: [])
        spec.values = Kernels.buffer(batch * spec.halfCount * 2) { po in
            x.withUnsafeBufferPointer { px in
                // Out-of-place r2c preserves its input (FFTW's default), so the const cast is safe.
                let input = UnsafeMutablePointer(mutating: px.base)
                let aligned = fftwf_alignment_of(input) == 0 && fftwf_alignment_of(po.base) == 0
                let p = plan(dims, batch: batch, forward: true, aligned: aligned)
                po.base.withMemoryRebound(to: fftwf_complex.self, capacity: batch * spec.halfCount) {
                    fftwf_execute_dft_r2c(p, input, $0)
                }
            }
        }
        return spec
    }

    /// Unnormalised inverse (c2r): returns N·x for the spectrum of x. Imaginary parts of self-conjugate
    /// bins are ignored, as FFTW does.
    public func irfft(_ s: HalfSpectrum) -> [Float] {
        var scratch = s.values   // c2r destroys its input
        return Kernels.buffer(s.batch * s.dims.product) { po in
            scratch.withUnsafeMutableBufferPointer { ps in
                let aligned = fftwf_alignment_of(ps.base) == 0 && fftwf_alignment_of(po.base) == 0
                let p = plan(s.dims, batch: s.batch, forward: false, aligned: aligned)
                ps.base.withMemoryRebound(to: fftwf_complex.self, capacity: s.batch * s.halfCount) {
                    fftwf_execute_dft_c2r(p, $0, po.base)
                }
            }
        }
    }

    public static var version: String { String(cString: gpd_fftwf_version()) }

    /// Direct DFT in Double (the reference): the half spectrum of each batch entry.
    public static func naiveRFFT(_ x: [Float], dims: [Int]) -> HalfSpectrum {
        let n = dims.product, batch = x.count / n
        let outDims = Array(dims.dropLast()) + [dims.last! / 2 + 1]
        let h = outDims.product
        var out = [Float](repeating: 0, count: batch * h * 2)
        let inStrides = dims.rowMajorStrides, outStrides = outDims.rowMajorStrides
        for b in 0..<batch {
            for ko in 0..<h {
                let k = outStrides.indices.map { (ko / outStrides[$0]) % outDims[$0] }
                var re = 0.0, im = 0.0
                for xo in 0..<n {
                    var phase = 0.0
                    for d in 0..<dims.count {
                        let xi = (xo / inStrides[d]) % dims[d]
                        phase += Double(k[d] * xi) / Double(dims[d])
                    }
                    let v = Double(x[b * n + xo])
                    re += v * cos(2 * .pi * phase)
                    im -= v * sin(2 * .pi * phase)
                }
                out[(b * h + ko) * 2] = Float(re)
                out[(b * h + ko) * 2 + 1] = Float(im)
            }
        }
        return HalfSpectrum(dims: dims, batch: batch, values: out)
    }
}
