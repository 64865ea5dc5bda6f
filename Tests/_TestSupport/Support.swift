// Shared test helpers: tolerance-aware comparisons that report the worst element, a finite-difference
// gradient check (Double accumulation, per-op step and tolerance; ggml test-backend-ops style), and
// fixture loading. Helpers forward file/line so failures point at the caller.
import Foundation
import Tensors
import XCTest

/// Largest |a − b| and where; fails when any |a − b| > atol + rtol·|b|.
public func assertClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-5, _ what: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    guard a.count == b.count else {
        XCTFail("\(what): \(a.count) values vs \(b.count)", file: file, line: line); return
    }
    var worst = 0, worstExcess: Float = -.infinity, bad = 0
    for i in 0..<a.count {
        let excess = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if !(excess <= 0) { bad += 1 }
        if !(excess <= worstExcess) { worstExcess = excess; worst = i }
    }
    if bad > 0 {
        XCTFail("\(what): \(bad)/\(a.count) values out of tolerance; worst at \(worst): \(a[worst]) vs \(b[worst]) (atol \(atol), rtol \(rtol))",
                file: file, line: line)
    }
}

public func assertClose(_ a: Tensor, _ b: Tensor, atol: Float = 1e-5, rtol: Float = 1e-5, _ what: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shapes", file: file, line: line)
    assertClose(a.data, b.data, atol: atol, rtol: rtol, what, file: file, line: line)
}

/// Random tensor with values in [lo, hi), deterministic by seed.
public func randomTensor(_ shape: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1, requiresGrad: Bool = false) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor(shape: shape, data: rng.uniform(shape.product).map { lo + (hi - lo) * $0 }, requiresGrad: requiresGrad)
}

/// Finite-difference check of every input's gradient for the scalar Σ f(inputs)∘R with fixed random R.
/// Central differences with step `eps`; the projection is accumulated in Double. Checks at most
/// `maxPoints` entries per input (spread evenly). Returns one message per mismatch (empty: pass).
public func gradCheckErrors(_ inputs: [Tensor], eps: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 1e-2,
                            maxPoints: Int = 48, _ f: ([Tensor]) -> Tensor) -> [String] {
    for t in inputs { t.requiresGrad = true; t.zeroGrad() }
    let out = f(inputs)
    let r = randomTensor(out.shape, seed: 99, lo: -1, hi: 1)
    (out * r).sum().backward()
    func project() -> Double {
        GradMode.withDisabled { Kernels.dot(f(inputs).data, r.data) }
    }
    var errors: [String] = []
    for (n, t) in inputs.enumerated() {
        guard let analytic = t.grad else { errors.append("input \(n) got no gradient"); continue }
        let stride = max(1, t.count / maxPoints)
        for i in Swift.stride(from: 0, to: t.count, by: stride) {
            let v = t.data[i]
            t.data[i] = v + eps; let lp = project()
            t.data[i] = v - eps; let lm = project()
            t.data[i] = v
            let numeric = (lp - lm) / (2 * Double(eps))
            let a = Double(analytic[i])
            if abs(a - numeric) > atol + rtol * abs(numeric) {
                errors.append("d/d input\(n)[\(i)]: analytic \(a) vs numeric \(numeric)")
            }
        }
    }
    return errors
}

/// Fails the test when `gradCheckErrors` finds any mismatch (the first three are shown).
public func gradCheck(_ inputs: [Tensor], eps: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 1e-2,
                      maxPoints: Int = 48, _ what: String,
                      file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    let errors = gradCheckErrors(inputs, eps: eps, atol: atol, rtol: rtol, maxPoints: maxPoints, f)
    if !errors.isEmpty {
        XCTFail("\(what): \(errors.count) gradient mismatch(es): \(errors.prefix(3).joined(separator: "; "))", file: file, line: line)
    }
}

/// Loads a fixture file from a test bundle's `Fixtures` folder.
public func loadFixture(_ name: String, bundle: Bundle) throws -> SafetensorsFile {
    guard let url = bundle.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw TensorError.file(path: "Fixtures/\(name)", "fixture missing from the test bundle (run scripts/make_engine_fixtures.py)")
    }
    return try Safetensors.read(url.path)
}
