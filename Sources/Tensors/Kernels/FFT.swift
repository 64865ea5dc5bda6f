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
    /// A plan cache shared by the process; FFTW's planner is not thread-safe, so planning is locked.
    public static let shared = FFT()

    private struct Key: Hashable { let dims: [Int]; let forward: Bool }
    private final class Plan {
        let plan: fftwf_plan
        let real: UnsafeMutablePointer<Float>
        let complex: UnsafeMutablePointer<fftwf_complex>
        init(plan: fftwf_plan, real: UnsafeMutablePointer<Float>, complex: UnsafeMutablePointer<fftwf_complex>) {
            self.plan = plan; self.real = real; self.complex = complex
        }
    }
    private var plans: [Key: Plan] = [:]
    private let lock = NSLock()
    public var flags: UInt32 = UInt32(FFTW_ESTIMATE)

    public init() {}

    /// Runs `body` with the plan for `dims` held (a plan's buffers are reused, so one user at a time).
    private func withPlan<R>(_ dims: [Int], forward: Bool, _ body: (Plan) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        let key = Key(dims: dims, forward: forward)
        let plan: Plan
        if let p = plans[key] { plan = p } else {
            let nReal = dims.product, nHalf = dims.dropLast().product * (dims.last! / 2 + 1)
            let real = fftwf_alloc_real(nReal)!
            let complex = fftwf_alloc_complex(nHalf)!
            let n32 = dims.map { Int32($0) }
            let p = n32.withUnsafeBufferPointer { pn in
                forward ? fftwf_plan_dft_r2c(Int32(dims.count), pn.baseAddress!, real, complex, flags)
                        : fftwf_plan_dft_c2r(Int32(dims.count), pn.baseAddress!, complex, real, flags)
            }
            plan = Plan(plan: p!, real: real, complex: complex)
            plans[key] = plan
        }
        return body(plan)
    }

    /// Forward real FFT over the last `dims.count` axes of `x` (count = batch · Π dims).
    public func rfft(_ x: [Float], dims: [Int]) -> HalfSpectrum {
        precondition(!dims.isEmpty && dims.allSatisfy { $0 > 0 } && x.count % dims.product == 0,
                     "rfft: \(x.count) values do not split into transforms of \(dims)")
        let n = dims.product, batch = x.count / n
        var spec = HalfSpectrum(dims: dims, batch: batch, values: [])
        let h = spec.halfCount
        var out = [Float](repeating: 0, count: batch * h * 2)
        withPlan(dims, forward: true) { plan in
            x.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in
                for b in 0..<batch {
                    plan.real.update(from: px.baseAddress! + b * n, count: n)
                    fftwf_execute(plan.plan)
                    UnsafeMutableRawPointer(po.baseAddress! + b * h * 2)
                        .copyMemory(from: plan.complex, byteCount: h * 2 * MemoryLayout<Float>.size)
                }
            } }
        }
        spec.values = out
        return spec
    }

    /// Unnormalised inverse (c2r): returns N·x for the spectrum of x. Imaginary parts of self-conjugate
    /// bins are ignored, as FFTW does.
    public func irfft(_ s: HalfSpectrum) -> [Float] {
        let n = s.dims.product, h = s.halfCount
        var out = [Float](repeating: 0, count: s.batch * n)
        withPlan(s.dims, forward: false) { plan in
            s.values.withUnsafeBufferPointer { ps in out.withUnsafeMutableBufferPointer { po in
                for b in 0..<s.batch {
                    UnsafeMutableRawPointer(plan.complex)
                        .copyMemory(from: ps.baseAddress! + b * h * 2, byteCount: h * 2 * MemoryLayout<Float>.size)
                    fftwf_execute(plan.plan)   // c2r destroys its input; it was a copy
                    (po.baseAddress! + b * n).update(from: plan.real, count: n)
                }
            } }
        }
        return out
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
