// Module parameter naming (the property tree is the checkpoint namespace) and strict loading errors.
import _TestSupport
import NN
import Tensors
import XCTest

final class Block: Module {
    let proj: Linear
    let norm: LayerNorm
    let extra: Linear?
    init(rng: inout RNG, extra: Bool) {
        proj = Linear(4, 4, rng: &rng)
        norm = LayerNorm(4, affine: false)
        self.extra = extra ? Linear(4, 2, bias: false, rng: &rng) : nil
    }
    var parameterKeys: [String: String] { ["proj": "to_out.0"] }
}

final class Stack: Module {
    let blocks: [Block]
    let head: Tensor
    init(rng: inout RNG) {
        blocks = [Block(rng: &rng, extra: false), Block(rng: &rng, extra: true)]
        head = parameter([1, 2, 4], [Float](repeating: 0, count: 8))
    }
}

final class ModuleTests: XCTestCase {
    func testNamesFollowThePropertyTree() {
        var rng = RNG(seed: 1)
        let m = Stack(rng: &rng)
        XCTAssertEqual(m.namedParameters().map(\.0), [
            "blocks.0.to_out.0.weight", "blocks.0.to_out.0.bias",
            "blocks.1.to_out.0.weight", "blocks.1.to_out.0.bias", "blocks.1.extra.weight",
            "head",
        ])
        XCTAssertEqual(m.parameterCount, 20 + 20 + 8 + 8)
    }

    func testAModuleBuiltForLoadingDrawsNothingAndLoadsTheSame() throws {
        var rng = RNG(seed: 1)
        let drawn = Stack(rng: &rng)
        var unused = RNG(seed: 1)
        let empty = ParameterInit.forLoading { Stack(rng: &unused) }
        XCTAssertEqual(unused, RNG(seed: 1), "no values drawn for parameters a checkpoint replaces")
        XCTAssertFalse(ParameterInit.unfilled, "the switch ends with its scope")
        XCTAssertEqual(empty.namedParameters().map(\.0), drawn.namedParameters().map(\.0))
        XCTAssertEqual(empty.namedParameters().map(\.1.shape), drawn.namedParameters().map(\.1.shape))
        XCTAssertTrue(empty.namedParameters().allSatisfy { $0.1.requiresGrad })
        try empty.load(drawn.stateDict(), path: "ck.safetensors")
        for ((name, a), (_, b)) in zip(empty.namedParameters(), drawn.namedParameters()) { XCTAssertEqual(a.data, b.data, name) }
        // Outside the scope the same seed draws the same values as before.
        var again = RNG(seed: 1)
        XCTAssertEqual(Stack(rng: &again).stateDict()["blocks.0.to_out.0.weight"]?.data, drawn.stateDict()["blocks.0.to_out.0.weight"]?.data)
    }

    func testStrictLoadingNamesTheProblem() throws {
        var rng = RNG(seed: 1)
        let m = Stack(rng: &rng)
        var state = m.stateDict()
        try m.load(state, path: "ok.safetensors")

        state["blocks.1.extra.weight"] = Tensor(zeros: [3, 4])
        XCTAssertThrowsError(try m.load(state, path: "ck.safetensors")) { e in
            XCTAssertEqual(e as? TensorError, .wrongShape(name: "blocks.1.extra.weight", expected: [2, 4], actual: [3, 4], path: "ck.safetensors"))
            XCTAssertTrue(String(describing: e).contains("blocks.1.extra.weight"))
        }
        state = m.stateDict()
        state.removeValue(forKey: "head")
        XCTAssertThrowsError(try m.load(state, path: "ck.safetensors")) { e in
            XCTAssertEqual(e as? TensorError, .missingTensor(name: "head", path: "ck.safetensors"))
        }
        state = m.stateDict()
        state["blocks.2.to_out.0.weight"] = Tensor(zeros: [4, 4])
        XCTAssertThrowsError(try m.load(state, path: "ck.safetensors")) { e in
            XCTAssertEqual(e as? TensorError, .unexpectedTensors(names: ["blocks.2.to_out.0.weight"], path: "ck.safetensors"))
        }
        XCTAssertNoThrow(try m.load(state, path: "ck.safetensors", strict: false))
        // Unit axes may differ ([C,1,1,1] checkpoints for [C] parameters).
        state = m.stateDict()
        state["head"] = Tensor(zeros: [2, 4])
        XCTAssertNoThrow(try m.load(state, path: "ck.safetensors"))
    }
}
