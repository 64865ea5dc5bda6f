// Sigma/timestep tables against diffusers for N ∈ {1, 2, 4, 10, 50} and shifts {1, 3, 5, 7}, the
// documented examples, and custom-schedule validation.
import _TestSupport
import Diffusion
import Tensors
import XCTest

final class ScheduleTests: XCTestCase {
    func testTablesMatchDiffusers() throws {
        let f = try loadFixture("schedules.safetensors", bundle: .module)
        for n in [1, 2, 4, 10, 50] {
            for s in [1, 3, 5, 7] {
                let u = try FlowSchedule.unipc(steps: n, shift: Double(s))
                XCTAssertEqual(u.timesteps, try f.tensor("unipc.n\(n).s\(s).timesteps").data, "UniPC timesteps N=\(n) s=\(s)")
                assertClose(u.sigmas, try f.tensor("unipc.n\(n).s\(s).sigmas").data, atol: 1e-7, rtol: 0, "UniPC sigmas N=\(n) s=\(s)")
                let e = try FlowSchedule.euler(steps: n, shift: Double(s))
                assertClose(e.timesteps, try f.tensor("euler.n\(n).s\(s).timesteps").data, atol: 1e-4, rtol: 1e-7, "Euler timesteps N=\(n) s=\(s)")
                assertClose(e.sigmas, try f.tensor("euler.n\(n).s\(s).sigmas").data, atol: 1e-7, rtol: 0, "Euler sigmas N=\(n) s=\(s)")
            }
        }
    }

    func testDocumentedExamples() throws {
        XCTAssertEqual(try FlowSchedule.unipc(steps: 4, shift: 3).timesteps, [999, 900, 750, 500])
        XCTAssertEqual(try FlowSchedule.unipc(steps: 2, shift: 5).timesteps, [999, 833])
        XCTAssertEqual(try FlowSchedule.unipc(steps: 10, shift: 5).timesteps, [999, 978, 952, 921, 882, 833, 769, 682, 556, 359])
        let e = try FlowSchedule.euler(steps: 2, shift: 7)
        XCTAssertEqual(e.timesteps[0], 1000)
        XCTAssertEqual(e.timesteps[1], 46.7557, accuracy: 1e-3)
        XCTAssertEqual(try FlowSchedule.euler(steps: 4, shift: 1).timesteps.map { $0.rounded() }, [1000, 667, 334, 1])
    }

    func testCustomSchedulesAreValidated() throws {
        XCTAssertEqual(try FlowSchedule.custom([1, 0.5, 0]).timesteps, [1000, 500])
        let cases: [([Float], String)] = [
            ([1], "at least two"), ([1.2, 0.5, 0], "at most 1"), ([1, 0.5, 0.1], "must be 0"),
            ([1, 0.5, 0.6, 0], "strictly decrease"), ([1, 0.5, 0.5, 0], "strictly decrease"), ([1, .nan, 0], "finite"),
        ]
        for (sigmas, expected) in cases {
            XCTAssertThrowsError(try FlowSchedule.custom(sigmas)) { e in XCTAssertTrue("\(e)".contains(expected), "\(sigmas): \(e)") }
        }
        XCTAssertThrowsError(try FlowSchedule.parse("1, 0.5, x")) { e in XCTAssertTrue("\(e)".contains("'x'")) }
        XCTAssertEqual(try FlowSchedule.parse("1, 0.5,0"), [1, 0.5, 0])
        XCTAssertThrowsError(try FlowSchedule.unipc(steps: 0, shift: 3))
        XCTAssertThrowsError(try FlowSchedule.euler(steps: 4, shift: -1))
    }
}
