// Power spectra of clips and latents: radially averaged spatial spectra (per frame, averaged) and
// temporal spectra (per pixel over time, averaged), through the engine's real FFTs.
import Foundation
import Tensors

public enum Spectra {
    /// Radially averaged spatial power of the luminance of frames [F, H, W, 3]: index = integer radius
    /// in frequency bins, 0 … min(H, W)/2.
    public static func radialSpatial(_ frames: Tensor) -> [Double] {
        let (f, h, w) = (frames.shape[0], frames.shape[1], frames.shape[2])
        var luma = [Float](repeating: 0, count: f * h * w)
        for i in 0..<(f * h * w) { luma[i] = 0.299 * frames.data[3 * i] + 0.587 * frames.data[3 * i + 1] + 0.114 * frames.data[3 * i + 2] }
        return radial(luma, batch: f, h: h, w: w)
    }

    /// Radially averaged power of `batch` real 2D signals of h×w.
    public static func radial(_ x: [Float], batch: Int, h: Int, w: Int) -> [Double] {
        let spec = FFT.shared.rfft(x, dims: [h, w])
        let wh = w / 2 + 1, bins = min(h, w) / 2 + 1
        var power = [Double](repeating: 0, count: bins), count = [Double](repeating: 0, count: bins)
        for b in 0..<batch { for i in 0..<h { for j in 0..<wh {
            let fi = Double(i <= (h - 1) / 2 ? i : i - h) / Double(h), fj = Double(j) / Double(w)
            let r = Int(((fi * fi + fj * fj).squareRoot() * Double(min(h, w))).rounded())
            guard r < bins else { continue }
            let k = ((b * h + i) * wh + j) * 2
            let re = Double(spec.values[k]), im = Double(spec.values[k + 1])
            let mult: Double = (j == 0 || (w % 2 == 0 && j == w / 2)) ? 1 : 2
            power[r] += mult * (re * re + im * im); count[r] += mult
        } } }
        return zip(power, count).map { $1 > 0 ? $0 / $1 : 0 }
    }

    /// Temporal power spectrum of frames [F, H, W, 3] (luminance), averaged over pixels: F/2+1 bins.
    public static func temporal(_ frames: Tensor) -> [Double] {
        let (f, h, w) = (frames.shape[0], frames.shape[1], frames.shape[2])
        var series = [Float](repeating: 0, count: h * w * f)
        for t in 0..<f { for p in 0..<(h * w) {
            let k = (t * h * w + p) * 3
            series[p * f + t] = 0.299 * frames.data[k] + 0.587 * frames.data[k + 1] + 0.114 * frames.data[k + 2]
        } }
        let spec = FFT.shared.rfft(series, dims: [f])
        let bins = f / 2 + 1
        var power = [Double](repeating: 0, count: bins)
        for p in 0..<(h * w) { for j in 0..<bins {
            let k = (p * bins + j) * 2
            power[j] += Double(spec.values[k] * spec.values[k] + spec.values[k + 1] * spec.values[k + 1]) / Double(h * w)
        } }
        return power
    }

    /// Spatial and temporal power of a latent [1, C, F, H, W] (or [C, F, H, W]): the radial spatial
    /// spectrum over every channel and frame, and the temporal spectrum of every (channel, pixel) series
    /// over frames (F/2+1 bins; empty for one frame). Frequency-domain losses act on these latents.
    public static func latent(_ z: Tensor) -> (spatial: [Double], temporal: [Double]) {
        let s = z.shape.suffix(4)
        let (c, f, h, w) = (s[s.startIndex], s[s.startIndex + 1], s[s.startIndex + 2], s[s.startIndex + 3])
        let spatial = radial(z.data, batch: c * f, h: h, w: w)
        guard f > 1 else { return (spatial, []) }
        var series = [Float](repeating: 0, count: c * h * w * f)
        for ci in 0..<c { for t in 0..<f { for p in 0..<(h * w) { series[(ci * h * w + p) * f + t] = z.data[((ci * f + t) * h * w) + p] } } }
        let spec = FFT.shared.rfft(series, dims: [f])
        let bins = f / 2 + 1
        var power = [Double](repeating: 0, count: bins)
        for q in 0..<(c * h * w) { for j in 0..<bins {
            let k = (q * bins + j) * 2
            power[j] += Double(spec.values[k] * spec.values[k] + spec.values[k + 1] * spec.values[k + 1]) / Double(c * h * w)
        } }
        return (spatial, power)
    }

    /// The share of a spectrum's power (the mean, bin 0, left out) from half its highest frequency up,
    /// never counting the lowest non-zero bin as high: bins 2…4 of 0…4, bin 2 of 0…2. 0 for a spectrum
    /// of fewer than three bins or with no power beyond the mean.
    public static func highFrequencyShare(_ power: [Double]) -> Double {
        guard power.count >= 3 else { return 0 }
        let total = power.dropFirst().reduce(0, +)
        return total > 0 ? power[max(2, power.count / 2)...].reduce(0, +) / total : 0
    }

    /// Mean |log10 a − log10 b| over bins (a floor keeps empty bins finite).
    public static func logDistance(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "logDistance: \(a.count) vs \(b.count) bins")
        let floor = 1e-10
        return zip(a, b).map { abs(Foundation.log10(max($0, floor)) - Foundation.log10(max($1, floor))) }.reduce(0, +) / Double(max(a.count, 1))
    }
}
