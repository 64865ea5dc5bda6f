// Distillation targets against analytic answers: the exact flow of one data point (constant velocity
// ε − x₀) gives v* = ε − x₀ for every horizon; a linear field's Euler steps compose as a matrix product;
// PD's target is the Δσ-weighted mean of two velocities; the teacher grid nests; stage lists validate.
import _TestSupport
import Diffusion
@testable import Distill
import Tensors
import XCTest

final class TargetTests: XCTestCase {
    let grid = TeacherGrid(steps: 48, shift: 3)

    func testExactFlowGivesTheExactVelocity() throws {
        let x0 = randomTensor([3, 2, 4], seed: 1), eps = randomTensor([3, 2, 4], seed: 2)
        let truth = eps - x0
        let field: VelocityField = { x, _ in Tensor(shape: x.shape, data: truth.data) }
        let a = [0, 8, 24]
        // States on the true path at their σ.
        var xa = [Float]()
        for (b, i) in a.enumerated() {
            let s = grid.sigmas[i]
            for j in 0..<8 { xa.append((1 - s) * x0.data[b * 8 + j] + s * eps.data[b * 8 + j]) }
        }
        let x = Tensor(shape: [3, 2, 4], data: xa)
        for (k, p) in [(2, 1), (3, 2), (8, 6), (6, 4)] {
            assertClose(try Targets.gpd(x, a: a, k: k, p: p, grid: grid, previous: field, teacher: field), truth, atol: 1e-5, rtol: 1e-5, "gpd k=\(k) p=\(p)")
        }
        assertClose(try Targets.pd(x, a: a, k: 4, grid: grid, previous: field), truth, atol: 1e-5, rtol: 1e-5, "pd")
    }

    func testLinearFieldComposesAsAMatrixProduct() throws {
        // v = A·x per sample (A 2×2), state [1, 2]: Euler from σ to σ' is x ← (I + (σ'−σ)A)·x.
        let A: [[Double]] = [[0.3, -0.8], [0.5, 0.1]]
        let field: VelocityField = { x, _ in
            let d = x.data
            return Tensor(shape: x.shape, data: [Float(A[0][0] * Double(d[0]) + A[0][1] * Double(d[1])), Float(A[1][0] * Double(d[0]) + A[1][1] * Double(d[1]))])
        }
        let teacherField: VelocityField = { x, s in try field(x, s) * 2 }    // a different teacher: v = 2A·x
        let x = Tensor(shape: [1, 2], data: [0.7, -1.1])
        let (a, k, p) = (12, 4, 2)
        func step(_ v: [Double], _ m: Double, _ ds: Double) -> [Double] {
            [v[0] + ds * m * (A[0][0] * v[0] + A[0][1] * v[1]), v[1] + ds * m * (A[1][0] * v[0] + A[1][1] * v[1])]
        }
        let s = grid.sigmas.map(Double.init)
        var y = step([0.7, -1.1], 1, s[a + p] - s[a])                        // previous student: one jump of p
        for i in p..<k { y = step(y, 2, s[a + i + 1] - s[a + i]) }           // teacher: single intervals
        let expected = [(y[0] - 0.7) / (s[a + k] - s[a]), (y[1] + 1.1) / (s[a + k] - s[a])]
        let got = try Targets.gpd(x, a: [a], k: k, p: p, grid: grid, previous: field, teacher: teacherField)
        assertClose(got.data, expected.map(Float.init), atol: 1e-5, rtol: 1e-4, "linear field")
    }

    func testPDIsTheWeightedMeanOfTwoVelocities() throws {
        let field: VelocityField = { x, s in x * 0.5 + s[0] }
        let x = Tensor(shape: [1, 3], data: [0.2, -0.4, 1.0])
        let a = 10, k = 4
        let (sa, sb, sc) = (grid.sigmas[a], grid.sigmas[a + 2], grid.sigmas[a + 4])
        let v1 = try field(x, [sa]), xb = x + v1 * (sb - sa), v2 = try field(xb, [sb])
        let expected = (v1 * (sa - sb) + v2 * (sb - sc)) / (sa - sc)
        assertClose(try Targets.pd(x, a: [a], k: k, grid: grid, previous: field), expected, atol: 1e-5, rtol: 1e-5, "pd weighted mean")
    }

    func testTeacherGridNests() {
        for k in [2, 3, 4, 6, 8] {
            assertClose(grid.student(k), TeacherGrid(steps: 48 / k, shift: 3).sigmas, atol: 1e-6, rtol: 0, "every \(k)-th point is the \(48 / k)-step grid")
        }
        XCTAssertEqual(grid.sigmas.first, 1)
        XCTAssertEqual(grid.sigmas.last, 0)
    }

    func testStagePlanValidation() throws {
        XCTAssertEqual(try StagePlan([2, 3, 4, 6, 8], teacherSteps: 48).horizons, [2, 3, 4, 6, 8])
        XCTAssertThrowsError(try StagePlan([2, 5], teacherSteps: 48)) { e in XCTAssertTrue("\(e)".contains("does not divide")) }
        XCTAssertThrowsError(try StagePlan([4, 3], teacherSteps: 48)) { e in XCTAssertTrue("\(e)".contains("increase")) }
        XCTAssertThrowsError(try StagePlan([], teacherSteps: 48))
        XCTAssertThrowsError(try StagePlan([4, 6], teacherSteps: 48, after: 4)) { e in XCTAssertTrue("\(e)".contains("increase")) }
    }
}
