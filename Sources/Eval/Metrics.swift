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
