// The frequency-domain loss (docs/design-notes.md): a Butterworth high-pass weighted squared distance
// between the 3D real FFTs (frames, height, width) of two latents, per channel, as a mean:
//   L = mean_{b,c} Σ_f H(f)·|F(x̂)(f) − F(x̃)(f)|² / (F·H·W)²,
//   H = 1 − 1/(1 + (d²/d₀²)ⁿ),  d² = ((d_s/d_t)·f_t)² + f_h² + f_w²,
// with frequencies normalised to [−1, 1] (twice numpy's fftfreq, the Nyquist frequency at 1), the
// units in which FreeInit states its Butterworth filters (d₀ = 0.25). By Parseval, with H = 1 the loss
// is exactly the mean squared error (the DC bin's H is 0, so it is the MSE less the squared mean);
// so its weight compares directly with the velocity MSE's.
// The sum runs over the full spectrum; the half spectrum counts interior bins of the last axis twice.
// Backward: for D = F(x̂ − x̃), ∂/∂x̂ Σ_full H|D|² = 2·c2r(H∘D) (the c2r is the adjoint on Hermitian data).
import Tensors

public struct Butterworth: Codable, Equatable {
    /// Filter order n.
    public var order: Int = 4
    /// Spatial cut-off d_s (normalised frequency; also d₀).
    public var spatialCutoff: Float = 0.25
    /// Temporal cut-off d_t.
    public var temporalCutoff: Float = 0.25

    public init(order: Int = 4, spatialCutoff: Float = 0.25, temporalCutoff: Float = 0.25) {
        self.order = order; self.spatialCutoff = spatialCutoff; self.temporalCutoff = temporalCutoff
    }

    /// Normalised frequency of index k on an axis of n points, in [−1, 1]: 2 × numpy.fft.fftfreq.
    static func freq(_ k: Int, _ n: Int) -> Float { 2 * Float(k <= (n - 1) / 2 ? k : k - n) / Float(n) }

    /// High-pass weights H over the half spectrum [F, H, W/2+1] of a [F, H, W] signal.
    public func highPass(frames f: Int, height h: Int, width w: Int) -> [Float] {
        let wh = w / 2 + 1
        var out = [Float](repeating: 0, count: f * h * wh)
        let ratio = spatialCutoff / temporalCutoff
        let d0sq = spatialCutoff * spatialCutoff
        for a in 0..<f { for i in 0..<h { for j in 0..<wh {
            let ft = ratio * Butterworth.freq(a, f), fh = Butterworth.freq(i, h), fw = 2 * Float(j) / Float(w)
            let d2 = ft * ft + fh * fh + fw * fw
            out[(a * h + i) * wh + j] = 1 - 1 / (1 + powf(d2 / d0sq, Float(order)))
        } } }
        return out
    }
}

import Foundation

extension Tensor {
    /// Frequency loss between `prediction` and `target`, both [B, C, F, H, W] → shape [].
    public static func frequencyLoss(_ prediction: Tensor, _ target: Tensor, filter: Butterworth = .init()) -> Tensor {
        precondition(prediction.shape == target.shape && prediction.rank == 5,
                     "frequencyLoss: prediction \(prediction.shape) and target \(target.shape) must be equal [B, C, F, H, W]")
        let (bc, f, h, w) = (prediction.shape[0] * prediction.shape[1], prediction.shape[2], prediction.shape[3], prediction.shape[4])
        let diff = zip(prediction.data, target.data).map { $0 - $1 }
        let spec = FFT.shared.rfft(diff, dims: [f, h, w])
        let weight = filter.highPass(frames: f, height: h, width: w)
        let wh = w / 2 + 1
        let norm = Double(f * h * w) * Double(f * h * w) * Double(bc)
        var total = 0.0
        spec.values.withUnsafeBufferPointer { ps in
            for b in 0..<bc {
                for idx in 0..<weight.count {
                    let j = idx % wh
                    let mult: Double = (j == 0 || (w % 2 == 0 && j == w / 2)) ? 1 : 2
                    let re = Double(ps[(b * weight.count + idx) * 2]), im = Double(ps[(b * weight.count + idx) * 2 + 1])
                    total += mult * Double(weight[idx]) * (re * re + im * im)
                }
            }
        }
        let out = Tensor(shape: [], data: [Float(total / norm)])
        if needsGrad(prediction, target) {
            let (rp, rt) = (prediction.requiresGrad, target.requiresGrad)
            out.record("frequency_loss", [prediction, target]) { g in
                var weighted = spec
                let k = 2 * g[0] / Float(norm)
                weighted.values.withUnsafeMutableBufferPointer { pv in
                    for b in 0..<bc { for idx in 0..<weight.count {
                        let s = weight[idx] * k
                        pv[(b * weight.count + idx) * 2] *= s
                        pv[(b * weight.count + idx) * 2 + 1] *= s
                    } }
                }
                let gp = FFT.shared.irfft(weighted)
                var gt: [Float]? = nil
                if rt { var t = gp; Kernels.scaleInPlace(&t, -1); gt = t }
                return [rp ? gp : nil, gt]
            }
        }
        return out
    }
}
