// The frequency-domain loss: its value against a direct full-spectrum DFT sum in Double (odd and
// even sizes, so the half-spectrum multiplicities are exercised), the Butterworth weights against
// their formula, and the gradient (adjoint real FFT) by finite differences.
import _TestSupport
import NN
import Tensors
import XCTest
import Foundation

final class FrequencyLossTests: XCTestCase {
    /// Σ_full H|DFT(d)|² / (F·H·W)², averaged over (B, C), computed directly (frequencies in [−1, 1]).
    func directLoss(_ d: [Float], bc: Int, f: Int, h: Int, w: Int, filter: Butterworth) -> Double {
        var total = 0.0
        let n = f * h * w
        func freq(_ k: Int, _ n: Int) -> Double { 2 * Double(k <= (n - 1) / 2 ? k : k - n) / Double(n) }
        for b in 0..<bc {
            for ka in 0..<f { for ki in 0..<h { for kj in 0..<w {
                var re = 0.0, im = 0.0
                for a in 0..<f { for i in 0..<h { for j in 0..<w {
                    let ph = 2 * Double.pi * (Double(ka * a) / Double(f) + Double(ki * i) / Double(h) + Double(kj * j) / Double(w))
                    let v = Double(d[b * n + (a * h + i) * w + j])
                    re += v * cos(ph); im -= v * sin(ph)
                } } }
                let ft = Double(filter.spatialCutoff / filter.temporalCutoff) * freq(ka, f)
                let d2 = ft * ft + freq(ki, h) * freq(ki, h) + freq(kj, w) * freq(kj, w)
                let d0 = Double(filter.spatialCutoff)
                let hw = 1 - 1 / (1 + pow(d2 / (d0 * d0), Double(filter.order)))
                total += hw * (re * re + im * im)
            } } }
        }
        return total / Double(n) / Double(n) / Double(bc)
    }

    func testValueMatchesDirectSum() {
        for (shape, filter) in [([1, 2, 3, 4, 5], Butterworth()), ([2, 1, 5, 4, 4], Butterworth(order: 2, spatialCutoff: 0.2, temporalCutoff: 0.4)),
                                ([1, 3, 1, 6, 7], Butterworth())] {
            let a = randomTensor(shape, seed: 1), b = randomTensor(shape, seed: 2)
            let loss = Tensor.frequencyLoss(a, b, filter: filter).item
            let d = zip(a.data, b.data).map { $0 - $1 }
            let ref = directLoss(d, bc: shape[0] * shape[1], f: shape[2], h: shape[3], w: shape[4], filter: filter)
            XCTAssertEqual(Double(loss), ref, accuracy: 1e-5 * max(1, ref), "\(shape)")
        }
    }

    func testHighPassWeights() {
        let filter = Butterworth()
        let w = filter.highPass(frames: 4, height: 4, width: 4)
        XCTAssertEqual(w[0], 0, "DC is not penalised")
        // (0, 0, 2): the Nyquist bin, f_w = 1, d² = 1, (d²/d₀²)⁴ = 16⁴ → 1 − 1/65537
        XCTAssertEqual(w[2], 1 - 1 / 65537, accuracy: 1e-6)
        // (0, 0, 1): f_w = 0.5, (0.25/0.0625)⁴ = 256 → 1 − 1/257
        XCTAssertEqual(w[1], 1 - 1 / 257, accuracy: 1e-6)
        // A cut-off at d₀ gives ½: (0, 1, 0) with d₀ = 0.5 (f_h = 0.5)
        XCTAssertEqual(Butterworth(spatialCutoff: 0.5, temporalCutoff: 0.5).highPass(frames: 4, height: 4, width: 4)[3], 0.5, accuracy: 1e-6)
        XCTAssertTrue(w.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// Parseval: with a cut-off far below every frequency but DC, H ≈ 1 off DC and the loss is the mean
    /// squared difference less its squared mean, per (b, c), averaged — a mean, on the velocity MSE's scale.
    func testAnAllPassFilterGivesTheMeanSquaredError() {
        let shape = [2, 3, 5, 8, 6]
        let a = randomTensor(shape, seed: 5), b = randomTensor(shape, seed: 6)
        let loss = Double(Tensor.frequencyLoss(a, b, filter: Butterworth(order: 8, spatialCutoff: 1e-3, temporalCutoff: 1e-3)).item)
        let n = 5 * 8 * 6
        var ref = 0.0
        for c in 0..<6 {
            let d = (0..<n).map { Double(a.data[c * n + $0] - b.data[c * n + $0]) }
            let mean = d.reduce(0, +) / Double(n)
            ref += d.map { $0 * $0 }.reduce(0, +) / Double(n) - mean * mean
        }
        XCTAssertEqual(loss, ref / 6, accuracy: 1e-5)
    }

    func testGradientByFiniteDifferences() {
        for shape in [[1, 2, 3, 4, 5], [1, 1, 5, 4, 6]] {
            let a = randomTensor(shape, seed: 3), b = randomTensor(shape, seed: 4)
            gradCheck([a, b], eps: 1e-2, "frequencyLoss \(shape)") { Tensor.frequencyLoss($0[0], $0[1]) }
        }
    }
}
