// The whole WanPipeline against diffusers fed embeddings and latents: Euler N=2 s=7 and UniPC N=4
// s=3, guidance 6 and 1, latents and decoded frames; CFG at g = 1 equals the conditional-only run, and
// the guided pair as one batch equals two calls; the guidance interval guides only its own steps;
// autoguidance adds its weighted difference to a weaker model, and weight 0 changes nothing.
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

/// The guidance interval (an extension diffusers does not have): a step guides when the noise level it
/// starts at lies within the interval, and otherwise takes the conditional pass alone.
final class GuidanceIntervalTests: XCTestCase {
    func testOnlyTheStepsInsideTheIntervalAreGuided() throws {
        let folder = Bundle.module.url(forResource: "pipeline", withExtension: nil, subdirectory: "Fixtures")!.path
        let pipe = WanPipeline(transformer: try WanTransformer.load(folder: folder + "/transformer"), vae: nil)
        let io = try loadFixture("pipeline_io.safetensors", bundle: .module)
        let latents = try io.tensor("latents"), embeds = try io.tensor("prompt_embeds"), negative = try io.tensor("negative_prompt_embeds")
        func run(_ sigmas: [Float], _ g: Float, _ interval: ClosedRange<Float>?) throws -> SampleResult {
            try pipe.sample(latents: latents, context: embeds, negative: negative,
                            settings: SamplingSettings(solver: .euler, steps: sigmas.count - 1, shift: 1, guidance: g, sigmas: sigmas,
                                                       guidanceInterval: interval), decode: false)
        }
        let sigmas: [Float] = [1, 0.8, 0.5, 0.2, 0]
        // [0, 1] holds every step: the same run as no interval.
        let all = try run(sigmas, 6, nil), whole = try run(sigmas, 6, 0...1)
        XCTAssertEqual(whole.latents.data, all.latents.data)
        XCTAssertEqual(whole.nfe, 8)
        // An interval holding no step's noise level: guidance 1 throughout.
        let none = try run(sigmas, 6, 0.9...0.95), plain = try run(sigmas, 1, nil)
        XCTAssertEqual(none.latents.data, plain.latents.data)
        XCTAssertEqual(none.nfe, 4)
        XCTAssertNotEqual(none.latents.data, all.latents.data)
        // Guided at σ 1 and 0.8 only, bounds included (0.8 is inside [0.8, 1]): the sampler stepped by hand
        // (without a graph, as the pipeline) with the guided velocity twice, then the conditional one.
        let split = try run(sigmas, 6, 0.8...1)
        var sampler = FlowSampler(x: latents, schedule: try .custom(sigmas), solver: .euler)
        try GradMode.withDisabled {
            for i in 0..<4 {
                let t = [Float](repeating: sampler.timestep, count: latents.shape[0])
                sampler.advance(velocity: i < 2 ? try guidedVelocity(pipe.transformer, sampler.x, timesteps: t, context: embeds, unconditional: negative, scale: 6)
                                                : try pipe.transformer(sampler.x, timesteps: t, context: embeds))
            }
        }
        XCTAssertEqual(split.nfe, 2 * 2 + 2)
        XCTAssertEqual(split.latents.data, sampler.x.data)
    }

    func testModelFilesRefuseAnIntervalOutsideTheNoiseLevels() throws {
        let ok = #"{"solver":"unipc","steps":48,"shift":3,"guidance":5,"guidance_interval":[0.25,1]}"#
        let s = try JSONDecoder().decode(SamplingSettings.self, from: Data(ok.utf8))
        XCTAssertEqual(s.guidanceInterval, 0.25...1)
        XCTAssertEqual(try JSONDecoder().decode(SamplingSettings.self, from: JSONEncoder().encode(s)), s)
        let old = #"{"solver":"unipc","steps":48,"shift":3,"guidance":5}"#
        XCTAssertNil(try JSONDecoder().decode(SamplingSettings.self, from: Data(old.utf8)).guidanceInterval)
        for bad in ["[0.5,1.5]", "[-0.1,1]", "[0.8,0.2]", "[0.5]"] {
            let text = #"{"solver":"unipc","steps":48,"shift":3,"guidance":5,"guidance_interval":"# + bad + "}"
            XCTAssertThrowsError(try JSONDecoder().decode(SamplingSettings.self, from: Data(text.utf8)), bad) { e in
                XCTAssertTrue("\(e)".contains("guidance_interval"), "\(bad): \(e)")
            }
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

/// Autoguidance (guidance away from a weaker model; an extension diffusers does not have): each step's
/// velocity is the (guided) velocity plus a·(v_c − v_w), with the weaker model's own prompt embeddings.
final class AutoguideTests: XCTestCase {
    /// The pipeline fixture (a small transformer, no VAE) and its latents, prompt and empty-prompt embeddings.
    func fixture() throws -> (WanPipeline, Tensor, Tensor, Tensor) {
        let folder = Bundle.module.url(forResource: "pipeline", withExtension: nil, subdirectory: "Fixtures")!.path
        let pipe = WanPipeline(transformer: try WanTransformer.load(folder: folder + "/transformer"), vae: nil)
        let io = try loadFixture("pipeline_io.safetensors", bundle: .module)
        return (pipe, try io.tensor("latents"), try io.tensor("prompt_embeds"), try io.tensor("negative_prompt_embeds"))
    }

    func testAutoguidanceAddsTheWeightedDifferenceToTheWeakerModel() throws {
        let (pipe, latents, embeds, negative) = try fixture()
        // A "weaker model": the same network reading other embeddings than the prompt's and the empty prompt's.
        let weakContext = embeds * 0.5
        let weak = Autoguide(transformer: pipe.transformer, context: weakContext, weight: 1.5)
        let sigmas: [Float] = [1, 0.7, 0.3, 0]
        for g: Float in [4, 1] {
            let settings = SamplingSettings(solver: .euler, steps: 3, shift: 1, guidance: g, sigmas: sigmas)
            let r = try pipe.sample(latents: latents, context: embeds, negative: negative, settings: settings, decode: false, autoguide: weak)
            XCTAssertEqual(r.nfe, (g > 1 ? 3 : 2) * 3)
            var sampler = FlowSampler(x: latents, schedule: try .custom(sigmas), solver: .euler)
            try GradMode.withDisabled {
                while !sampler.isDone {
                    let t = [Float](repeating: sampler.timestep, count: latents.shape[0])
                    let vc = try pipe.transformer(sampler.x, timesteps: t, context: embeds)
                    let vu = try pipe.transformer(sampler.x, timesteps: t, context: negative)
                    let vw = try pipe.transformer(sampler.x, timesteps: t, context: weakContext)
                    let v = g > 1 ? guided(conditional: vc, unconditional: vu, scale: g) : vc
                    sampler.advance(velocity: Tensor(shape: v.shape, data: (0..<v.count).map { v.data[$0] + 1.5 * (vc.data[$0] - vw.data[$0]) }))
                }
            }
            assertClose(r.latents, sampler.x, atol: 1e-5, rtol: 1e-5, "guidance \(g) with autoguidance 1.5")
            // Weight 0 is no autoguidance: the same latents and evaluations as without it.
            var off = weak; off.weight = 0
            let a = try pipe.sample(latents: latents, context: embeds, negative: negative, settings: settings, decode: false, autoguide: off)
            let b = try pipe.sample(latents: latents, context: embeds, negative: negative, settings: settings, decode: false)
            XCTAssertEqual(a.latents.data, b.latents.data)
            XCTAssertEqual(a.nfe, b.nfe)
        }
    }

    /// With an interval, the weaker model's pass runs only at the steps starting inside it (bounds
    /// included); the classifier-free term keeps its own interval.
    func testAutoguidanceOnlyInsideItsInterval() throws {
        let (pipe, latents, embeds, negative) = try fixture()
        let weakContext = embeds * 0.5
        let weak = Autoguide(transformer: pipe.transformer, context: weakContext, weight: 1.5)
        let sigmas: [Float] = [1, 0.7, 0.3, 0]
        func settings(_ interval: ClosedRange<Float>?, cfg: ClosedRange<Float>? = nil) throws -> SamplingSettings {
            SamplingSettings(solver: .euler, steps: 3, shift: 1, guidance: 4, sigmas: sigmas, guidanceInterval: cfg,
                             autoguide: try AutoguideSettings(model: "../weaker", weight: 1.5, interval: interval))
        }
        // [0, 1] holds every step: the same run as no interval.
        let all = try pipe.sample(latents: latents, context: embeds, negative: negative, settings: settings(nil), decode: false, autoguide: weak)
        let whole = try pipe.sample(latents: latents, context: embeds, negative: negative, settings: settings(0...1), decode: false, autoguide: weak)
        XCTAssertEqual(whole.latents.data, all.latents.data)
        XCTAssertEqual(whole.nfe, 9)
        // Autoguidance at σ 0.7 only, classifier-free guidance at σ 1 and 0.7: stepped by hand.
        let r = try pipe.sample(latents: latents, context: embeds, negative: negative, settings: settings(0.5...0.7, cfg: 0.7...1),
                                decode: false, autoguide: weak)
        XCTAssertEqual(r.nfe, 2 + 3 + 1)
        var sampler = FlowSampler(x: latents, schedule: try .custom(sigmas), solver: .euler)
        try GradMode.withDisabled {
            for i in 0..<3 {
                let t = [Float](repeating: sampler.timestep, count: latents.shape[0])
                let vc = try pipe.transformer(sampler.x, timesteps: t, context: embeds)
                var v = vc
                if i < 2 { v = guided(conditional: vc, unconditional: try pipe.transformer(sampler.x, timesteps: t, context: negative), scale: 4) }
                if i == 1 {
                    let vw = try pipe.transformer(sampler.x, timesteps: t, context: weakContext)
                    v = Tensor(shape: v.shape, data: (0..<v.count).map { v.data[$0] + 1.5 * (vc.data[$0] - vw.data[$0]) })
                }
                sampler.advance(velocity: v)
            }
        }
        assertClose(r.latents, sampler.x, atol: 1e-5, rtol: 1e-5, "autoguidance at σ 0.7 only")
        XCTAssertNotEqual(r.latents.data, all.latents.data)
        // The interval is part of the settings' JSON and of their summaries.
        let s = try settings(0.3...1)
        XCTAssertEqual(try JSONDecoder().decode(SamplingSettings.self, from: JSONEncoder().encode(s)), s)
        XCTAssertEqual(s.autoguide?.summary, "../weaker, weight 1.5 at σ 0.3–1")
    }

    /// guidance_every N: the guidance terms (v − v_c) are computed at one guided step in N and reused,
    /// with a fresh conditional pass, at the steps between — recomputed early when the terms that apply
    /// change (an interval's edge).
    func testGuidanceTermsComputedEveryNStepsAndReusedBetween() throws {
        let (pipe, latents, embeds, negative) = try fixture()
        let weakContext = embeds * 0.5
        let weak = Autoguide(transformer: pipe.transformer, context: weakContext, weight: 1.5)
        let sigmas: [Float] = [1, 0.8, 0.6, 0.3, 0]
        func run(every: Int, cfg: ClosedRange<Float>? = nil) throws -> SampleResult {
            try pipe.sample(latents: latents, context: embeds, negative: negative,
                            settings: SamplingSettings(solver: .euler, steps: 4, shift: 1, guidance: 4, sigmas: sigmas, guidanceInterval: cfg,
                                                       autoguide: try AutoguideSettings(model: "../weaker", weight: 1.5), guidanceEvery: every),
                            decode: false, autoguide: weak)
        }
        /// The sampler stepped by hand: at each step, which terms apply and whether they are computed afresh.
        func byHand(_ plan: [(cfg: Bool, fresh: Bool)]) throws -> Tensor {
            var sampler = FlowSampler(x: latents, schedule: try .custom(sigmas), solver: .euler)
            var terms: Tensor? = nil
            try GradMode.withDisabled {
                for step in plan {
                    let t = [Float](repeating: sampler.timestep, count: latents.shape[0])
                    let vc = try pipe.transformer(sampler.x, timesteps: t, context: embeds)
                    if step.fresh {
                        let vw = try pipe.transformer(sampler.x, timesteps: t, context: weakContext)
                        var v = vc
                        if step.cfg { v = guided(conditional: vc, unconditional: try pipe.transformer(sampler.x, timesteps: t, context: negative), scale: 4) }
                        v = Tensor(shape: v.shape, data: (0..<v.count).map { v.data[$0] + 1.5 * (vc.data[$0] - vw.data[$0]) })
                        terms = v - vc
                        sampler.advance(velocity: v)
                    } else {
                        sampler.advance(velocity: vc + terms!)
                    }
                }
            }
            return sampler.x
        }
        // Every step: the plain run (guidance_every 1 is the default and is not written).
        let every1 = try run(every: 1)
        XCTAssertEqual(every1.nfe, 12)
        XCTAssertEqual(every1.latents.data, try pipe.sample(latents: latents, context: embeds, negative: negative,
            settings: SamplingSettings(solver: .euler, steps: 4, shift: 1, guidance: 4, sigmas: sigmas), decode: false, autoguide: weak).latents.data)
        // Every 2: computed at steps 0 and 2, reused at 1 and 3.
        let every2 = try run(every: 2)
        XCTAssertEqual(every2.nfe, 3 + 1 + 3 + 1)
        assertClose(every2.latents, try byHand([(true, true), (true, false), (true, true), (true, false)]), atol: 1e-5, rtol: 1e-5, "every 2")
        XCTAssertNotEqual(every2.latents.data, every1.latents.data)
        // Every 3 with classifier-free guidance at σ 0.7–1 only: steps 0–1 guided both ways (computed, reused);
        // at step 2 the classifier-free term stops, so autoguidance's alone is computed afresh, then reused at step 3.
        let edge = try run(every: 3, cfg: 0.7...1)
        XCTAssertEqual(edge.nfe, 3 + 1 + 2 + 1)
        assertClose(edge.latents, try byHand([(true, true), (true, false), (false, true), (false, false)]), atol: 1e-5, rtol: 1e-5, "every 3 across an edge")
        // In model files: written only when not 1, refused outside 1…100.
        let s = SamplingSettings(solver: .unipc, steps: 48, shift: 3, guidance: 2, guidanceEvery: 2)
        XCTAssertEqual(try JSONDecoder().decode(SamplingSettings.self, from: JSONEncoder().encode(s)), s)
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(SamplingSettings()), as: UTF8.self).contains("guidance_every"))
        for bad in ["0", "101", "-2"] {
            let text = #"{"solver":"unipc","steps":48,"shift":3,"guidance":5,"guidance_every":"# + bad + "}"
            XCTAssertThrowsError(try JSONDecoder().decode(SamplingSettings.self, from: Data(text.utf8)), bad) { e in
                XCTAssertTrue("\(e)".contains("guidance_every"), "\(bad): \(e)")
            }
        }
    }

    /// The weaker model as the model itself without a block: its pass leaves the block out.
    func testAutoguidanceFromTheModelWithoutABlock() throws {
        let folder = Bundle.module.url(forResource: "pipeline", withExtension: nil, subdirectory: "Fixtures")!.path
        let pipe = WanPipeline(transformer: try WanTransformer.load(folder: folder + "/transformer"), vae: nil)
        XCTAssertGreaterThan(pipe.transformer.blocks.count, 1)
        let io = try loadFixture("pipeline_io.safetensors", bundle: .module)
        let latents = try io.tensor("latents"), embeds = try io.tensor("prompt_embeds")
        let sigmas: [Float] = [1, 0.6, 0]
        let settings = SamplingSettings(solver: .euler, steps: 2, shift: 1, guidance: 1, sigmas: sigmas)
        let r = try pipe.sample(latents: latents, context: embeds, negative: nil, settings: settings, decode: false,
                                autoguide: Autoguide(transformer: pipe.transformer, context: embeds, weight: 0.7, skipBlocks: [0]))
        var sampler = FlowSampler(x: latents, schedule: try .custom(sigmas), solver: .euler)
        try GradMode.withDisabled {
            while !sampler.isDone {
                let t = [Float](repeating: sampler.timestep, count: latents.shape[0])
                let vc = try pipe.transformer(sampler.x, timesteps: t, context: embeds)
                let vw = try pipe.transformer(sampler.x, timesteps: t, context: embeds, skipping: [0])
                sampler.advance(velocity: Tensor(shape: vc.shape, data: (0..<vc.count).map { vc.data[$0] + 0.7 * (vc.data[$0] - vw.data[$0]) }))
            }
        }
        assertClose(r.latents, sampler.x, atol: 1e-5, rtol: 1e-5, "autoguidance 0.7 away from the model without block 0")
        XCTAssertEqual(r.nfe, 4)
    }
}
