// Fidelity metrics between two clips of the same shape (frames in [0, 1]): PSNR, SSIM (per frame,
// averaged), MSE, and radially averaged spatial / temporal power-spectrum distances.
import Foundation
import Tensors

public enum Metrics {
    /// 10·log10(1/MSE) over all values (inputs in [0, 1]); capped at 100 dB for identical clips.
    public static func psnr(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "psnr: \(a.shape) vs \(b.shape)")
        let m = mse(a, b)
        return m <= 1e-10 ? 100 : 10 * Foundation.log10(1 / m)
    }

    public static func mse(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.count == b.count, "mse: \(a.shape) vs \(b.shape)")
        var s = 0.0
        for i in 0..<a.count { let d = Double(a.data[i] - b.data[i]); s += d * d }
        return s / Double(max(a.count, 1))
    }
}

extension Metrics {
    /// Mean SSIM over frames of the luminance (Y of BT.601) with a 7×7 Gaussian window (σ = 1.5),
    /// C1 = 0.01², C2 = 0.03² for data in [0, 1]; windows are clipped at the borders. Clips [F, H, W, 3].
    public static func ssim(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape && a.rank == 4, "ssim: \(a.shape) vs \(b.shape)")
        let (f, h, w) = (a.shape[0], a.shape[1], a.shape[2])
        func luma(_ t: Tensor) -> [Double] {
            (0..<(f * h * w)).map { i -> Double in
                let (r, g, b) = (Double(t.data[3 * i]), Double(t.data[3 * i + 1]), Double(t.data[3 * i + 2]))
                return 0.299 * r + 0.587 * g + 0.114 * b
            }
        }
        let (x, y) = (luma(a), luma(b))
        let r = 3, sigma = 1.5
        let g = (-r...r).map { Foundation.exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let (c1, c2) = (0.01 * 0.01, 0.03 * 0.03)
        var total = 0.0
        for t in 0..<f {
            var s = 0.0
            for i in 0..<h { for j in 0..<w {
                var wsum = 0.0, mx = 0.0, my = 0.0, xx = 0.0, yy = 0.0, xy = 0.0
                for di in -r...r { for dj in -r...r {
                    let (ii, jj) = (i + di, j + dj)
                    guard ii >= 0, ii < h, jj >= 0, jj < w else { continue }
                    let wt = g[di + r] * g[dj + r], k = (t * h + ii) * w + jj
                    wsum += wt; mx += wt * x[k]; my += wt * y[k]; xx += wt * x[k] * x[k]; yy += wt * y[k] * y[k]; xy += wt * x[k] * y[k]
                } }
                mx /= wsum; my /= wsum
                let vx = xx / wsum - mx * mx, vy = yy / wsum - my * my, cxy = xy / wsum - mx * my
                s += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
            } }
            total += s / Double(h * w)
        }
        return total / Double(f)
    }

    /// Mean |Δ log10 power| between the radially averaged spatial spectra of two clips [F, H, W, 3].
    public static func spatialSpectrumDistance(_ a: Tensor, _ b: Tensor) -> Double {
        Spectra.logDistance(Spectra.radialSpatial(a), Spectra.radialSpatial(b))
    }

    /// Mean |Δ log10 power| between the temporal spectra of two clips.
    public static func temporalSpectrumDistance(_ a: Tensor, _ b: Tensor) -> Double {
        Spectra.logDistance(Spectra.temporal(a), Spectra.temporal(b))
    }

    /// All fidelity numbers of a student clip against the teacher's (frames [F, H, W, 3] in [0, 1];
    /// latents optional, any equal shapes).
    public static func fidelity(student: Tensor, teacher: Tensor, studentLatents: Tensor? = nil, teacherLatents: Tensor? = nil) -> [String: Double] {
        var out: [String: Double] = ["psnr": psnr(student, teacher), "ssim": ssim(student, teacher),
                                     "spatial_spectrum_distance": spatialSpectrumDistance(student, teacher),
                                     "temporal_spectrum_distance": temporalSpectrumDistance(student, teacher)]
        if let s = studentLatents, let t = teacherLatents { out["latent_mse"] = mse(s, t) }
        return out
    }
}
