// WanVAE against diffusers' chunked AutoencoderKLWan (scripts/make_wan_fixtures.py): encoder pieces,
// posterior parameters, mode, decoder pieces and clamped outputs for F ∈ {1, 5, 9, 13, 17} on the
// tiny config and F ∈ {1, 9} at an odd 17×15 size on a "mini real topology" config; plus input
// errors and a residual-block gradient check.
import _TestSupport
import Foundation
@testable import Models
import NN
import Tensors
import XCTest

final class WanVAETests: XCTestCase {
    func check(_ name: String, frames: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = Bundle.module.url(forResource: "vae_\(name)", withExtension: nil, subdirectory: "Fixtures")!.path
        let vae = try WanVAE.load(folder: folder)
        let io = try loadFixture("vae_\(name)_io.safetensors", bundle: .module)
        for f in frames {
            func t(_ k: String) throws -> Tensor { try io.tensor("f\(f).\(k)") }
            let x = try t("x")
            let e = vae.encoder
            let c0 = e.convIn(x)
            assertClose(c0, try t("conv_in"), atol: 1e-5, rtol: 1e-5, "\(name) F=\(f) conv_in", file: file, line: line)
            let down = e.downBlocks.reduce(c0) { $1($0) }
            let mid = e.midBlock(down)
            assertClose(mid, try t("mid"), atol: 1e-5, rtol: 1e-4, "\(name) F=\(f) encoder mid", file: file, line: line)
            assertClose(e.convOut(e.normOut(mid).silu()), try t("enc_out"), atol: 1e-5, rtol: 1e-4, "\(name) F=\(f) encoder out", file: file, line: line)
            assertClose(try vae.moments(x), try t("h"), atol: 1e-5, rtol: 1e-4, "\(name) F=\(f) moments", file: file, line: line)
            assertClose(try vae.encode(x), try t("mode"), atol: 1e-5, rtol: 1e-4, "\(name) F=\(f) mode", file: file, line: line)

            let z = try t("z")
            let d = vae.decoder
            var h = d.midBlock(d.convIn(vae.postQuantConv(z)))
            assertClose(h, try t("dec_mid"), atol: 1e-5, rtol: 1e-4, "\(name) F=\(f) decoder mid", file: file, line: line)
            for (i, block) in d.upBlocks.enumerated() {
                h = block(h)
                assertClose(h, try t("up\(i)"), atol: 1e-5, rtol: 1e-4, "\(name) F=\(f) up block \(i)", file: file, line: line)
            }
            assertClose(try vae.decode(z), try t("decoded"), atol: 1e-5, rtol: 1e-4, "\(name) F=\(f) decode", file: file, line: line)
            assertClose(try vae.decode(try t("mode")), try t("reconstruction"), atol: 1e-5, rtol: 1e-4, "\(name) F=\(f) reconstruction", file: file, line: line)
        }
    }

    func testTinyConfigAllFrameCounts() throws { try check("tiny", frames: [1, 5, 9, 13, 17]) }

    func testMiniRealTopologyOddSize() throws { try check("mini", frames: [1, 5, 9, 13, 17]) }

    /// A residual block with a shortcut (mini encoder, 4 → 8 channels): gradients equal torch autograd's.
    func testResidualBlockGradientsMatchTorchAutograd() throws {
        let folder = Bundle.module.url(forResource: "vae_mini", withExtension: nil, subdirectory: "Fixtures")!.path
        let vae = try WanVAE.load(folder: folder)
        let g = try loadFixture("vae_block_grads.safetensors", bundle: .module)
        let block = vae.encoder.downBlocks[3] as! VAEResidualBlock
        let x = try g.tensor("in.x").detached()
        x.requiresGrad = true
        block.zeroGrad()
        let y = block(x)
        assertClose(y, try g.tensor("out"), atol: 1e-5, rtol: 1e-4, "block output")
        y.backward(seed: try g.tensor("gout").data)
        assertClose(x.grad ?? [], try g.tensor("grad.x").data, atol: 1e-5, rtol: 1e-4, "d x")
        for (name, p) in block.namedParameters() {
            assertClose(p.grad ?? [], try g.tensor("grad.param." + name).data, atol: 1e-5, rtol: 1e-4, "d \(name)")
        }
    }

    func testInputErrors() throws {
        var c = WanVAEConfig()
        (c.baseDim, c.zDim, c.dimMult, c.numResBlocks, c.temperalDownsample) = (2, 4, [1, 1, 1], 1, [true, true])
        c.latentsMean = [0, 0, 0, 0]; c.latentsStd = [1, 1, 1, 1]
        var rng = RNG(seed: 1)
        let vae = try WanVAE(c, rng: &rng)
        XCTAssertThrowsError(try vae.encode(Tensor(zeros: [1, 3, 6, 8, 8]))) { e in XCTAssertTrue("\(e)".contains("1 + 4·k frames"), "\(e)") }
        XCTAssertThrowsError(try vae.encode(Tensor(zeros: [1, 4, 5, 8, 8]))) { e in XCTAssertTrue("\(e)".contains("[B, 3, F, H, W]")) }
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [1, 3, 2, 2, 2]))) { e in XCTAssertTrue("\(e)".contains("[B, 4,")) }
        c.temperalDownsample = [true]
        XCTAssertThrowsError(try c.validate(path: "vae.json")) { e in XCTAssertTrue("\(e)".contains("temperal_downsample")) }
        XCTAssertEqual(try vae.encode(Tensor(zeros: [1, 3, 9, 8, 8])).shape, [1, 4, 3, 2, 2])
    }

    func testResidualAndAttentionBlockGradients() {
        var rng = RNG(seed: 2)
        let block = VAEResidualBlock(2, 3, rng: &rng)
        let x = randomTensor([1, 2, 3, 3, 3], seed: 3)
        gradCheck([x] + block.parameters(), eps: 1e-2, atol: 3e-3, rtol: 2e-2, "VAE residual block") { _ in block(x) }
        let attn = VAEAttentionBlock(3, rng: &rng)
        let y = randomTensor([1, 3, 2, 2, 3], seed: 4)
        gradCheck([y] + attn.parameters(), eps: 1e-2, atol: 3e-3, rtol: 2e-2, "VAE attention block") { _ in attn(y) }
        let up = VAEResample(4, mode: .upsample3d, rng: &rng)
        let z = randomTensor([1, 4, 3, 2, 2], seed: 5)
        gradCheck([z] + up.parameters(), eps: 1e-2, atol: 3e-3, rtol: 2e-2, "VAE upsample3d") { _ in up(z) }
        let down = VAEResample(2, mode: .downsample3d, rng: &rng)
        let w = randomTensor([1, 2, 5, 3, 4], seed: 6)
        gradCheck([w] + down.parameters(), eps: 1e-2, atol: 3e-3, rtol: 2e-2, "VAE downsample3d") { _ in down(w) }
    }
}
