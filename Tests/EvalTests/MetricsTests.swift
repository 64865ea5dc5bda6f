// Fidelity metrics: analytic values (PSNR of a known error, SSIM of identical and contrast-changed
// clips), orderings (blur and noise lower SSIM and move the spectra), and the eval prompt suite.
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
