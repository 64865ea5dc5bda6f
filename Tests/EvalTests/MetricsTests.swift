// Fidelity metrics: analytic values (PSNR of a known error, SSIM of identical and contrast-changed
// clips, latent spectra of cosines and sign flips), orderings (blur and noise lower SSIM and move the
// spectra), and the eval prompt suite.
import _TestSupport
import Data
@testable import Eval
import Foundation
import Tensors
import XCTest

final class MetricsTests: XCTestCase {
    func testAnalyticValues() {
        let a = ShapesWorld.sample(seed: 1).frames
        XCTAssertEqual(Metrics.psnr(a, a), 100)
        let shifted = a + 0.1
        XCTAssertEqual(Metrics.psnr(shifted, a), 20, accuracy: 1e-4, "an error of 0.1 everywhere is 20 dB")
        XCTAssertEqual(Metrics.ssim(a, a), 1, accuracy: 1e-9)
        XCTAssertEqual(Metrics.spatialSpectrumDistance(a, a), 0)
        XCTAssertEqual(Metrics.temporalSpectrumDistance(a, a), 0)
    }

    func testOrderings() {
        let a = ShapesWorld.sample(seed: 2).frames
        let blurred = Corrupt.blur(a, sigma: 1), noisy = Corrupt.noise(a, sigma: 0.05, seed: 1)
        XCTAssertLessThan(Metrics.ssim(blurred, a), 0.97)
        XCTAssertLessThan(Metrics.ssim(noisy, a), Metrics.ssim(Corrupt.noise(a, sigma: 0.01, seed: 1), a))
        XCTAssertGreaterThan(Metrics.spatialSpectrumDistance(blurred, a), Metrics.spatialSpectrumDistance(Corrupt.blur(a, sigma: 0.3), a))
        let f = Metrics.fidelity(student: blurred, teacher: a)
        XCTAssertEqual(Set(f.keys), ["psnr", "ssim", "spatial_spectrum_distance", "temporal_spectrum_distance"])
    }

    /// Latent spectra (what `gpd eval --spectra` and the Spectra screen report) against analytic
    /// values: a pure spatial cosine puts all its power in its radius's bin, a frame-to-frame sign
    /// flip all of it in the temporal Nyquist bin with the power of the series' DFT.
    func testLatentSpectraAnalytic() {
        func latent(_ f: (Int, Int, Int, Int) -> Float) -> Tensor {   // [1, C=2, F=4, H=8, W=8]
            var d: [Float] = []
            for c in 0..<2 { for t in 0..<4 { for y in 0..<8 { for x in 0..<8 { d.append(f(c, t, y, x)) } } } }
            return Tensor(shape: [1, 2, 4, 8, 8], data: d)
        }
        for k in [1, 2, 3] {
            let z = latent { _, _, _, x in Float(cos(2 * Double.pi * Double(k * x) / 8)) }
            let (spatial, temporal) = Spectra.latent(z)
            XCTAssertEqual(spatial.count, 5)
            for (r, p) in spatial.enumerated() where r != k { XCTAssertEqual(p, 0, accuracy: 1e-6, "cosine of \(k) cycles: bin \(r)") }
            XCTAssertGreaterThan(spatial[k], 1)
            // Constant in time: only the mean bin, (4 cos)² averaged over pixels = 16 · ½.
            XCTAssertEqual(temporal[0], 8, accuracy: 1e-5); XCTAssertEqual(temporal[1], 0, accuracy: 1e-6); XCTAssertEqual(temporal[2], 0, accuracy: 1e-6)
            XCTAssertEqual(Spectra.highFrequencyShare(spatial), k >= 2 ? 1 : 0, accuracy: 1e-9)
        }
        let flip = latent { c, t, y, x in (t % 2 == 0 ? 1 : -1) * Float(1 + c + y + x) }
        let (_, temporal) = Spectra.latent(flip)
        // Each series is a·(1, −1, 1, −1): its DFT is 4a at the Nyquist bin, power 16a²; a = 1 + c + y + x.
        var mean = 0.0
        for c in 0..<2 { for y in 0..<8 { for x in 0..<8 {
            let a = Double(1 + c + y + x)
            mean += 16 * a * a / 128
        } } }
        XCTAssertEqual(temporal[0], 0, accuracy: 1e-6); XCTAssertEqual(temporal[1], 0, accuracy: 1e-6)
        XCTAssertEqual(temporal[2], mean, accuracy: mean * 1e-6)
        XCTAssertEqual(Spectra.highFrequencyShare(temporal), 1, accuracy: 1e-9)
        XCTAssertEqual(Spectra.highFrequencyShare([1, 1, 1, 1, 1]), 0.75, accuracy: 1e-12, "bins 2…4 of 1…4")
        XCTAssertEqual(Spectra.highFrequencyShare([5, 1, 3]), 0.75, accuracy: 1e-12, "bin 2 of 1…2")
        XCTAssertEqual(Spectra.highFrequencyShare([5, 1]), 0)
        XCTAssertEqual(Spectra.highFrequencyShare([5, 0, 0]), 0)
    }

    func testEvalSuiteCoversTheGrammar() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../samples/prompts/eval.txt")
        let prompts = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertGreaterThanOrEqual(prompts.count, 60)
        let scenes = prompts.map { PromptGrammar.parse($0).scene }
        XCTAssertTrue(scenes.allSatisfy { $0 != nil }, "every eval prompt parses")
        let s = scenes.compactMap { $0 }
        XCTAssertEqual(Set(s.flatMap { $0.objects.map(\.color) }), Set(ShapeColor.objectColors))
        XCTAssertEqual(Set(s.flatMap { $0.objects.map(\.shape) }), Set(ShapeKind.allCases))
        XCTAssertEqual(Set(s.map(\.motion)), Set(Motion.allCases))
        XCTAssertEqual(Set(s.compactMap(\.relation)), Set(Relation.allCases))
        XCTAssertGreaterThanOrEqual(s.filter { $0.objects.count == 1 }.count, 20)
        XCTAssertGreaterThanOrEqual(s.filter { $0.objects.count == 2 }.count, 20)
    }
}
