// WanTransformer against diffusers (scripts/make_wan_fixtures.py): every intermediate of a batch-2,
// non-square-grid forward, the original-name loader, negative tests that prove the comparison catches
// the known mistakes (docs/wan21.md §1), config/checkpoint errors, and a block gradient check.
import _TestSupport
import Foundation
@testable import Models
import NN
import Tensors
import XCTest

final class WanTransformerTests: XCTestCase {
    var io: SafetensorsFile!
    var model: WanTransformer!
    var folder: String!

    override func setUpWithError() throws {
        folder = Bundle.module.url(forResource: "wan_transformer", withExtension: nil, subdirectory: "Fixtures")!.path
        model = try WanTransformer.load(folder: folder)
        io = try loadFixture("wan_transformer_io.safetensors", bundle: .module)
    }

    func t(_ name: String) throws -> Tensor { try io.tensor(name) }

    func testIntermediatesMatchDiffusers() throws {
        let x = try t("hidden_states"), ctx = try t("encoder_hidden_states")
        let timesteps = try t("timestep").data
        let grid = try model.grid(of: x)
        XCTAssertTrue(grid == (3, 2, 3))

        assertClose(WanConditionEmbedder.sinusoid(timesteps, dim: 256), try t("sinusoid"), atol: 1e-4, rtol: 0, "sinusoid")
        let rope = model.ropeTables(grid: grid)
        assertClose(rope.cos.data, try t("rope_cos").data.enumerated().filter { $0.offset % 2 == 0 }.map(\.element), atol: 1e-6, rtol: 0, "rope cos")
        assertClose(rope.sin.data, try t("rope_sin").data.enumerated().filter { $0.offset % 2 == 1 }.map(\.element), atol: 1e-6, rtol: 0, "rope sin")

        let (temb, proj) = model.conditionEmbedder.time(timesteps)
        assertClose(temb, try t("temb"), atol: 1e-4, rtol: 1e-4, "temb")
        assertClose(proj.reshape(2, -1), try t("timestep_proj"), atol: 1e-4, rtol: 1e-4, "timestep_proj")
        let text = model.conditionEmbedder.text(ctx)
        assertClose(text, try t("text_embeds"), atol: 1e-5, rtol: 1e-5, "text embeds")
        assertClose(model.patchify(x, grid: grid), try t("patch_tokens"), atol: 1e-5, rtol: 1e-5, "patch embedding")

        // Each block from diffusers' own input, so errors do not compound.
        let diffusersProj = try t("timestep_proj").reshape(2, 6, -1)
        var h = try t("patch_tokens")
        for i in 0..<2 {
            let out = model.blocks[i](h, context: try t("text_embeds"), timestepProj: diffusersProj, rope: rope)
            assertClose(out, try t("block\(i)"), atol: 1e-5, rtol: 1e-4, "block \(i)")
            h = try t("block\(i)")
        }
        let y = model.head(h, temb: try t("temb"), grid: grid)
        assertClose(y, try t("sample"), atol: 1e-5, rtol: 1e-4, "head + unpatchify")

        let full = try model(x, timesteps: timesteps, context: ctx)
        assertClose(full, try t("sample"), atol: 1e-4, rtol: 1e-4, "full forward")
    }

    /// A skipped block passes the residual stream on unchanged: skipping block 0 of two is the
    /// one-block model holding block 1's weights, and skipping both is the head on the patch tokens.
    func testSkippedBlocksAreLeftOut() throws {
        let x = try t("hidden_states"), ctx = try t("encoder_hidden_states"), timesteps = try t("timestep").data
        var config = model.config
        config.numLayers = 1
        var rng = RNG(seed: 9)
        let shallow = try WanTransformer(config, rng: &rng)
        var weights = model.stateDict().filter { !$0.key.hasPrefix("blocks.") }
        for (k, v) in model.stateDict() where k.hasPrefix("blocks.1.") { weights["blocks.0." + k.dropFirst("blocks.1.".count)] = v }
        try shallow.load(weights, path: "blocks 0 and 1 renamed")
        assertClose(try model(x, timesteps: timesteps, context: ctx, skipping: [0]), try shallow(x, timesteps: timesteps, context: ctx),
                    atol: 1e-6, rtol: 1e-6, "block 0 skipped")
        let grid = try model.grid(of: x)
        let headOnly = model.head(model.patchify(x, grid: grid), temb: model.conditionEmbedder.time(timesteps).0, grid: grid)
        assertClose(try model(x, timesteps: timesteps, context: ctx, skipping: [0, 1]), headOnly, atol: 1e-6, rtol: 1e-6, "both skipped")
        XCTAssertNotEqual(try model(x, timesteps: timesteps, context: ctx, skipping: [1]).data, try model(x, timesteps: timesteps, context: ctx).data)
    }

    func testOriginalNamesLoadIdentically() throws {
        let original = try loadFixture("wan_transformer_original.safetensors", bundle: .module)
        XCTAssertTrue(original.tensors.keys.contains { $0.hasPrefix("model.diffusion_model.") }, "fixture covers the ComfyUI prefix")
        XCTAssertTrue(original.tensors.keys.contains("head.modulation"))
        var rng = RNG(seed: 1)
        let other = try WanTransformer(model.config, rng: &rng)
        try other.load(WanNames.diffusersNames(original.tensors), path: "wan_transformer_original.safetensors")
        for ((name, a), (_, b)) in zip(model.namedParameters(), other.namedParameters()) {
            XCTAssertEqual(a.data, b.data, "\(name) differs between diffusers and original names")
        }
    }

    /// The comparison must be sensitive to each mistake docs/wan21.md lists.
    func testKnownMistakesAreCaught() throws {
        let x = try t("hidden_states"), ctx = try t("encoder_hidden_states"), ts = try t("timestep").data
        let reference = try t("sample")
        func maxDiff(_ a: Tensor, _ b: Tensor) -> Float { zip(a.data, b.data).map { abs($0 - $1) }.max()! }

        // 1. Context not padded to the text length: a different (diffusers-verified) result.
        let unpadded = try model(x, timesteps: ts, context: ctx.slice(axis: 1, 0, 8))
        assertClose(unpadded, try t("sample_unpadded_context"), atol: 1e-4, rtol: 1e-4, "unpadded context as diffusers")
        XCTAssertGreaterThan(maxDiff(unpadded, reference), 1e-2, "padding must matter")

        let grid = try model.grid(of: x)
        let rope = model.ropeTables(grid: grid)
        let h0 = try t("patch_tokens"), text = try t("text_embeds"), proj = try t("timestep_proj").reshape(2, 6, -1)
        let good = model.blocks[0](h0, context: text, timestepProj: proj, rope: rope)

        // 2. RoPE on the wrong pairs (rotate-half instead of adjacent): permute each head's dims first.
        let d = model.config.attentionHeadDim
        let halfPerm = (0..<d).map { $0 % 2 == 0 ? $0 / 2 : d / 2 + $0 / 2 }
        let wrongRope = (cos: rope.cos, sin: rope.sin)
        let attn = model.blocks[0].attn1
        let n1 = h0.layerNorm()
        let q = attn.normQ(attn.toQ(n1)).reshape(2, 18, 2, d)
        let qHalf = Tensor(shape: q.shape, data: (0..<q.count).map { i in q.data[(i / d) * d + halfPerm[i % d]] })
        XCTAssertGreaterThan(maxDiff(q.rope(cos: wrongRope.cos, sin: wrongRope.sin), qHalf.rope(cos: wrongRope.cos, sin: wrongRope.sin)), 1e-2)

        // 3. q/k RMSNorm per head instead of across heads.
        let perHead = q.reshape(2, 18, 2, d).rmsNorm()
        let acrossHeads = q.reshape(2, 18, 2 * d).rmsNorm().reshape(2, 18, 2, d)
        XCTAssertGreaterThan(maxDiff(perHead, acrossHeads), 1e-3)

        // 4. Channel-slowest unpatchify.
        let o = model.projOut(good.layerNorm())
        let p = model.config.patchSize, co = model.config.outChannels
        let right = o.reshape(2, 3, 2, 3, p[0], p[1], p[2], co).permute(0, 7, 1, 4, 2, 5, 3, 6).reshape(2, co, 3, 4, 6)
        let wrong = o.reshape(2, 3, 2, 3, co, p[0], p[1], p[2]).permute(0, 4, 1, 5, 2, 6, 3, 7).reshape(2, co, 3, 4, 6)
        XCTAssertGreaterThan(maxDiff(right, wrong), 1e-2)
    }

    func testBadConfigsAndCheckpointsAreRefused() throws {
        var c = model.config
        c.qkNorm = "rms_norm"
        XCTAssertThrowsError(try c.validate(path: "cfg.json")) { e in XCTAssertTrue("\(e)".contains("qk_norm")) }
        c = model.config; c.attentionHeadDim = 7
        XCTAssertThrowsError(try c.validate(path: "cfg.json")) { e in XCTAssertTrue("\(e)".contains("attention_head_dim")) }
        c = model.config; c.imageDim = 1280
        XCTAssertThrowsError(try c.validate(path: "cfg.json")) { e in XCTAssertTrue("\(e)".contains("image_dim")) }

        var weights = WanNames.diffusersNames(try readDiffusersWeights(folder: folder))
        weights["blocks.1.attn2.to_k.weight"] = Tensor(zeros: [24, 20])
        var rng = RNG(seed: 2)
        let m = try WanTransformer(model.config, rng: &rng)
        XCTAssertThrowsError(try m.load(weights, path: "ck")) { e in
            XCTAssertEqual(e as? TensorError, .wrongShape(name: "blocks.1.attn2.to_k.weight", expected: [24, 24], actual: [24, 20], path: "ck"))
        }
        weights.removeValue(forKey: "blocks.1.attn2.to_k.weight")
        XCTAssertThrowsError(try m.load(weights, path: "ck")) { e in
            XCTAssertEqual(e as? TensorError, .missingTensor(name: "blocks.1.attn2.to_k.weight", path: "ck"))
        }

        let x = try t("hidden_states"), ctx = try t("encoder_hidden_states")
        XCTAssertThrowsError(try model(x.slice(axis: 1, 0, 3), timesteps: [1, 2], context: ctx)) { e in XCTAssertTrue("\(e)".contains("in_channels")) }
        XCTAssertThrowsError(try model(x.slice(axis: 4, 0, 5), timesteps: [1, 2], context: ctx)) { e in XCTAssertTrue("\(e)".contains("width 5")) }
        XCTAssertThrowsError(try model(x, timesteps: [1], context: ctx)) { e in XCTAssertTrue("\(e)".contains("timesteps")) }
        XCTAssertThrowsError(try model(x, timesteps: [1, 2], context: ctx.slice(axis: 2, 0, 8))) { e in XCTAssertTrue("\(e)".contains("text_dim")) }
    }

    func testBigConfigsConstructTheirShapes() throws {
        // Parameter counts from docs/wan21.md §1, without allocating 1.3B/14B weights.
        func count(_ c: WanTransformerConfig) -> Int {
            let d = c.dim, p = c.patchSize.product
            let block = 6 * d + 2 * (4 * (d * d + d) + 2 * d) + 2 * d + (d * c.ffnDim + c.ffnDim) + (c.ffnDim * d + d)
            return d * c.inChannels * p + d + (c.freqDim * d + d) + (d * d + d) + (d * 6 * d + 6 * d) + (c.textDim * d + d) + (d * d + d)
                + c.numLayers * block + 2 * d + (d * c.outChannels * p + c.outChannels * p)
        }
        XCTAssertEqual(count(.wan1_3B), 1_418_996_800)
        XCTAssertEqual(count(.wan14B), 14_288_491_584)
        XCTAssertEqual(count(model.config), model.parameterCount, "the formula counts what the module builds")
    }

    /// Block 0's gradients (inputs and every parameter) equal torch autograd's for the same upstream gradient.
    func testBlockGradientsMatchTorchAutograd() throws {
        let g = try loadFixture("wan_block_grads.safetensors", bundle: .module)
        let block = model.blocks[0]
        let h = try g.tensor("in.hidden").detached(), ctx = try g.tensor("in.context").detached(), proj = try g.tensor("in.timestep_proj").detached()
        for t in [h, ctx, proj] { t.requiresGrad = true }
        block.zeroGrad()
        let rope = model.ropeTables(grid: try model.grid(of: try t("hidden_states")))
        let y = block(h, context: ctx, timestepProj: proj, rope: rope)
        assertClose(y, try g.tensor("out"), atol: 1e-5, rtol: 1e-4, "block output")
        y.backward(seed: try g.tensor("gout").data)
        assertClose(h.grad ?? [], try g.tensor("grad.hidden").data, atol: 1e-5, rtol: 1e-4, "d hidden")
        assertClose(ctx.grad ?? [], try g.tensor("grad.context").data, atol: 1e-5, rtol: 1e-4, "d context")
        assertClose(proj.grad ?? [], try g.tensor("grad.timestep_proj").data, atol: 1e-5, rtol: 1e-4, "d timestep_proj")
        for (name, p) in block.namedParameters() {
            assertClose(p.grad ?? [], try g.tensor("grad.param." + name).data, atol: 1e-5, rtol: 1e-4, "d \(name)")
        }
        block.zeroGrad()
    }

    func testBlockGradients() {
        var c = WanTransformerConfig()
        (c.numAttentionHeads, c.attentionHeadDim, c.ffnDim, c.numLayers, c.inChannels, c.outChannels, c.textDim, c.freqDim) = (2, 6, 16, 1, 4, 4, 8, 16)
        var rng = RNG(seed: 3)
        let m = try! WanTransformer(c, rng: &rng)
        let block = m.blocks[0]
        let rope = m.ropeTables(grid: (2, 1, 2))
        let x = randomTensor([1, 4, 12], seed: 4), ctx = randomTensor([1, 3, 12], seed: 5), proj = randomTensor([1, 6, 12], seed: 6, lo: -0.5, hi: 0.5)
        let params = block.parameters()
        gradCheck([x, ctx, proj] + params.prefix(6), eps: 1e-2, atol: 3e-3, rtol: 2e-2, "Wan block") { inputs in
            block(inputs[0], context: inputs[1], timestepProj: inputs[2], rope: rope)
        }
    }
}

final class WanInputSafetyTests: XCTestCase {
    func testEmptyAxesAndImpossibleConfigsAreErrors() throws {
        var c = WanTransformerConfig()
        (c.numAttentionHeads, c.attentionHeadDim, c.ffnDim, c.numLayers, c.inChannels, c.outChannels, c.textDim, c.freqDim) = (2, 6, 16, 1, 4, 4, 8, 16)
        var rng = RNG(seed: 3)
        let m = try WanTransformer(c, rng: &rng)
        XCTAssertThrowsError(try m(Tensor(zeros: [0, 4, 3, 4, 6]), timesteps: [], context: Tensor(zeros: [0, 3, 8]))) { e in
            XCTAssertTrue("\(e)".contains("empty axis"), "\(e)")
        }
        XCTAssertThrowsError(try m(Tensor(zeros: [1, 4, 1, 2, 2]), timesteps: [1], context: Tensor(zeros: [1, 0, 8]))) { e in
            XCTAssertTrue("\(e)".contains("L ≥ 1"), "\(e)")
        }
        var huge = WanTransformerConfig()
        (huge.numAttentionHeads, huge.attentionHeadDim) = (100_000, 100_000)
        XCTAssertThrowsError(try huge.validate(path: "config.json")) { e in XCTAssertTrue("\(e)".contains("this machine has"), "\(e)") }
    }
}
