// The whole WanPipeline against diffusers fed embeddings and latents: Euler N=2 s=7 and UniPC N=4
// s=3, guidance 6 and 1, latents and decoded frames; CFG at g = 1 equals the conditional-only run, and
// the guided pair as one batch equals two calls.
import _TestSupport
import Diffusion
import Foundation
import Models
import Tensors
import XCTest

final class PipelineTests: XCTestCase {
    func testMatchesDiffusersWanPipeline() throws {
        let folder = Bundle.module.url(forResource: "pipeline", withExtension: nil, subdirectory: "Fixtures")!.path
        let pipe = WanPipeline(transformer: try WanTransformer.load(folder: folder + "/transformer"),
                               vae: try WanVAE.load(folder: folder + "/vae"))
        let io = try loadFixture("pipeline_io.safetensors", bundle: .module)
        let latents = try io.tensor("latents"), embeds = try io.tensor("prompt_embeds"), negative = try io.tensor("negative_prompt_embeds")
        for (solver, n, s) in [(Solver.euler, 2, 7), (.unipc, 4, 3)] {
            for g: Float in [6, 1] {
                let key = "\(solver.rawValue).n\(n).s\(s).g\(Int(g))"
                let settings = SamplingSettings(solver: solver, steps: n, shift: Double(s), guidance: g)
                let r = try pipe.sample(latents: latents, context: embeds, negative: negative, settings: settings)
                XCTAssertEqual(r.nfe, g > 1 ? 2 * n : n)
                assertClose(r.latents, try io.tensor(key + ".latents"), atol: 1e-5, rtol: 1e-4, "\(key) latents")
                assertClose(r.frames!, try io.tensor(key + ".frames"), atol: 1e-5, rtol: 0, "\(key) frames")
            }
        }
        // g = 1 skips the unconditional pass: identical to a run without negative embeddings.
        let settings = SamplingSettings(solver: .unipc, steps: 4, shift: 3, guidance: 1)
        let a = try pipe.sample(latents: latents, context: embeds, negative: negative, settings: settings, decode: false)
        let b = try pipe.sample(latents: latents, context: embeds, negative: nil, settings: settings, decode: false)
        XCTAssertEqual(a.latents.data, b.latents.data)
        // The guided pair runs as one batch of 2B: the same velocity as two calls.
        let t = [Float](repeating: 700, count: latents.shape[0])
        let vc = try pipe.transformer(latents, timesteps: t, context: embeds), vu = try pipe.transformer(latents, timesteps: t, context: negative)
        assertClose(try guidedVelocity(pipe.transformer, latents, timesteps: t, context: embeds, unconditional: negative, scale: 6),
                    guided(conditional: vc, unconditional: vu, scale: 6), atol: 1e-5, rtol: 1e-5, "one batch of 2B")
        XCTAssertThrowsError(try pipe.sample(latents: latents, context: embeds, negative: nil,
                                             settings: SamplingSettings(solver: .unipc, steps: 2, shift: 3, guidance: 5))) { e in
            XCTAssertTrue("\(e)".contains("negative"))
        }
    }
}

/// A whole diffusers Wan2.1 folder from text (scripts/make_umt5_fixtures.py): tokenizer, umT5 text
/// encoder, transformer, VAE and the scheduler's settings, against WanPipeline(prompt=…, negative_prompt=…)
/// with the same initial latents.
final class WanFolderTests: XCTestCase {
    func testTextToFramesMatchesDiffusers() throws {
        let path = Bundle.module.url(forResource: "wan_text", withExtension: nil, subdirectory: "Fixtures")!.path
        let folder = try WanFolder(path: path)
        XCTAssertEqual(folder.defaults, SamplingSettings(solver: .unipc, steps: 50, shift: 3, guidance: 5))
        let io = try loadFixture("wan_text_io.safetensors", bundle: .module)
        let latents = try io.tensor("latents")
        let prompt = "a white triangle moving down on a red background"
        for (g, negative) in [(Float(5), ""), (5, "still, gray"), (1, "")] {
            var s = folder.defaults
            (s.steps, s.guidance) = (4, g)
            let context = try folder.text.embeddings([prompt], maxLength: 24)
            let r = try folder.pipeline.sample(latents: latents, context: context,
                                               negative: g > 1 ? try folder.text.embeddings([negative], maxLength: 24) : nil, settings: s)
            assertClose(r.frames!, try io.tensor("frames.g\(Int(g)).neg\(negative.count)"), atol: 1e-5, rtol: 0, "g \(g), negative '\(negative)'")
        }
        XCTAssertThrowsError(try folder.latentShape(frames: 8, height: 16, width: 16)) { XCTAssertTrue("\($0)".contains("4·k + 1")) }
        XCTAssertThrowsError(try folder.latentShape(frames: 9, height: 24, width: 16)) { XCTAssertTrue("\($0)".contains("--height 24")) }
        XCTAssertEqual(try folder.latentShape(frames: 9, height: 16, width: 32), [1, 16, 3, 2, 4])
    }
}
