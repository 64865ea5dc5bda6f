// Sampling that starts from a clean clip noised part of the way (`VideoModel.sample(start:)`, `gpd eval
// --from-real`): the last ⌊N·strength⌋ steps run, strength 1 is sampling from noise, and a small
// strength returns the clip it started from, as the trained bundled teacher denoises it.
import Data
import Diffusion
import ModelFolders
import Tensors
import XCTest

final class SampleFromRealTests: XCTestCase {
    func testStrengthCountsTheLastStepsAndTheSuffixKeepsTheirLevels() throws {
        let s = try FlowSchedule.unipc(steps: 48, shift: 3)
        XCTAssertEqual(try s.firstStep(strength: 1), 0)
        XCTAssertEqual(try s.firstStep(strength: 0.5), 24)
        XCTAssertEqual(try s.firstStep(strength: 0.25), 36)
        XCTAssertEqual(try s.firstStep(strength: 0.3), 48 - 14, "⌊48 · 0.3⌋ = 14 steps")
        XCTAssertEqual(try s.firstStep(strength: 1.0 / 48), 47)
        for bad in [0, -0.5, 1.5, .nan, 0.02] {
            XCTAssertThrowsError(try s.firstStep(strength: bad), "strength \(bad)") { e in
                XCTAssertTrue("\(e)".contains("strength"), "\(e)")
            }
        }
        let tail = s.suffix(from: 24)
        XCTAssertEqual(tail.steps, 24)
        XCTAssertEqual(tail.sigmas, Array(s.sigmas[24...]))
        XCTAssertEqual(tail.timesteps, Array(s.timesteps[24...]), "UniPC's integer timesteps are kept, not recomputed from σ")
    }

    func testAStartIsHonouredOnlyAsFarAsItsStrength() throws {
        let m = try VideoModel.load(folder: try ModelRef.resolve("demo:teacher-2x-gap4", runsRoot: "/nonexistent"))
        let prompt = "a white triangle moving down on a red background", seed: UInt64 = 3
        let real = try m.realLatents(prompt: prompt, seed: seed)
        XCTAssertEqual(real.shape, m.latentShape)
        var three = m.config.sampling, twelve = m.config.sampling
        (three.steps, twelve.steps) = (3, 12)
        func rms(_ a: Tensor, _ b: Tensor) -> Float { (zip(a.data, b.data).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(a.count)).squareRoot() }

        // Strength 1 starts from the seed's noise alone: the same clip as no start, bit for bit.
        let plain = try m.sample(prompts: [prompt], seeds: [seed], settings: three).0
        let full = try m.sample(prompts: [prompt], seeds: [seed], settings: three, start: (real, 1)).0
        XCTAssertEqual(full.latents.data, plain.latents.data)
        // Its own sampling: the guided pair and the weaker model (autoguidance), their terms computed at
        // every 2nd step (guidance_every 2): 3 evaluations at steps 0 and 2, the conditional one at step 1.
        XCTAssertEqual(m.config.sampling.guidanceEvery, 2)
        XCTAssertEqual(plain.nfe, 3 + 1 + 3, "its own sampling over 3 steps")

        // The last of 12 steps alone (from σ 0.22 at shift 3) runs once, guided, and lands near the real
        // clip; a clip from noise lands far from it (another draw of the prompt).
        let last = try m.sample(prompts: [prompt], seeds: [seed], settings: twelve, start: (real, 1.0 / 12)).0
        XCTAssertEqual(last.nfe, 3, "one guided, autoguided step")
        let lastSigma = try twelve.schedule().sigmas[11]
        let near = rms(last.latents, real), far = rms(plain.latents, real)
        let scale = rms(real, Tensor(shape: real.shape, data: [Float](repeating: 0, count: real.count)))
        XCTAssertLessThan(near, 0.2 * scale, "one step from σ \(lastSigma) should keep the clip (rms \(near) of \(scale))")
        XCTAssertGreaterThan(far, 3 * near, "from noise the clip is another one (rms \(far) against \(near))")

        // A start of the wrong shape, or a strength that runs no step, is refused.
        XCTAssertThrowsError(try m.sample(prompts: [prompt, prompt], seeds: [0, 1], settings: twelve, start: (real, 0.5))) { e in
            XCTAssertTrue("\(e)".contains("starting latents"), "\(e)")
        }
        XCTAssertThrowsError(try m.sample(prompts: [prompt], seeds: [seed], settings: twelve, start: (real, 0.05))) { e in
            XCTAssertTrue("\(e)".contains("runs none of the 12 steps"), "\(e)")
        }
    }
}
