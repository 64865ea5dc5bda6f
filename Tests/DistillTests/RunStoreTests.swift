// The run store and trainers under faults: exact resume (a stopped-and-resumed run equals an
// uninterrupted one, step by step, with no metric rows lost or duplicated), kill -9 of the real binary
// at random moments (the newest readable checkpoint survives and the run resumes), a truncated
// checkpoint (skipped for an older one), two trainers on one run, a NaN, config errors naming keys, and
// run archives (export → import into another store keeps the whole history; the demo's archive imports).
import _TestSupport
import Data
@testable import Distill
@testable import ModelFolders
import Foundation
import Models
import NN
import Runs
import Tensors
import XCTest

final class RunStoreTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "gpd-runs-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    /// A VAE config small enough to train a few steps in a debug build.
    func tinyVAEConfig(steps: Int, checkpointEvery: Int = 1, model: String = "", loss: String = "") throws -> String {
        let text = """
        kind = "vae"
        [data]
        frames = 5
        size = 16
        [model]
        base_dim = 4
        z_dim = 2
        dim_mult = [1, 2]
        num_res_blocks = 1
        temperal_downsample = [true]
        \(model)
        [train]
        steps = \(steps)
        batch = 2
        warmup = 2
        log_every = 1
        checkpoint_every = \(checkpointEvery)
        eval_every = 1000
        [loss]
        \(loss)
        """
        let path = root + "/vae-\(steps)-\(checkpointEvery)-\(UUID().uuidString.prefix(8)).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func train(_ configPath: String, name: String, resume: Bool) throws -> VAETrainer {
        let cfg = try VAETrainConfig.load(configPath)
        let session = try TrainSession(root: root, name: name, kind: .vae, configTOML: try cfg.toml(), resume: resume)
        let trainer = try VAETrainer(config: cfg, session: session)
        try trainer.run(resume: resume)
        return trainer
    }

    func losses(_ name: String) throws -> [Double] { try RunStore(root: root).metrics(name, key: "loss").map(\.value) }

    /// A config that cannot start a run is refused before the run exists: empty, a section replaced by
    /// a value, a VAE or teacher that is not there.
    func testConfigsThatCannotStartARunLeaveNothingBehind() throws {
        let empty = root + "/empty.toml"
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try VAETrainConfig.load(empty)) { XCTAssertTrue("\($0)".contains("missing section [model]"), "\($0)") }
        XCTAssertThrowsError(try VAETrainConfig.load(try tinyVAEConfig(steps: 2), overrides: ["train=1"])) { e in
            XCTAssertTrue("\(e)".contains("'train': must be a section"), "\(e)")
        }
        var teacher = TeacherTrainConfig()
        teacher.vae = "/etc/passwd"
        XCTAssertThrowsError(try Preflight.check(teacher, path: "t.toml", runsRoot: root)) { XCTAssertTrue("\($0)".contains("'vae': '/etc/passwd' cannot be loaded"), "\($0)") }
        var distill = DistillConfig()
        distill.teacher = "demo:bogus"
        XCTAssertThrowsError(try Preflight.check(distill, path: "d.toml", runsRoot: root)) { XCTAssertTrue("\($0)".contains("'teacher'"), "\($0)") }
        XCTAssertNoThrow(try Preflight.check(DistillConfig(), path: "d.toml", runsRoot: root), "the default teacher is bundled")
        // A demo model no longer bundled says how to get its exact files back, its teacher's with a student's.
        distill.teacher = "demo:gpd6"
        XCTAssertThrowsError(try Preflight.check(distill, path: "d.toml", runsRoot: root)) { e in
            for needle in ["'teacher'", "demo:gpd6 is no longer bundled", "samples/configs/gpd-demo.toml",
                           "git checkout dfdecd57b2014687f927df175c21aac7bf6cdaef -- samples/demo/teacher samples/demo/gpd6 samples/demo/pd6"] {
                XCTAssertTrue("\(e)".contains(needle), "\(needle) in \(e)")
            }
        }
        distill.teacher = "demo:pd6-2x"
        XCTAssertThrowsError(try Preflight.check(distill, path: "d.toml", runsRoot: root)) { e in
            for needle in ["demo:pd6-2x is no longer bundled", "samples/configs/pd-2x.toml",
                           "git checkout 904815f3801873e98d4a4a8650b9a79b0a0a89b1 -- samples/demo/gpd6-2x samples/demo/pd6-2x"] {
                XCTAssertTrue("\(e)".contains(needle), "\(needle) in \(e)")
            }
        }
        XCTAssertNil(try RunStore(root: root).runs().first, "no run was made")
    }

    func testStopAndResumeEqualsAnUninterruptedRun() throws {
        let full = try train(try tinyVAEConfig(steps: 4), name: "full", resume: false)
        // Same config, stopped at a step boundary after 2 steps (by a control command), then resumed.
        let cfg = try VAETrainConfig.load(try tinyVAEConfig(steps: 4))
        let session = try TrainSession(root: root, name: "split", kind: .vae, configTOML: try cfg.toml(), resume: false)
        let first = try VAETrainer(config: cfg, session: session)
        let stopper = StopAt(session, 2)
        session.reporter = stopper
        try first.run(resume: false)
        XCTAssertEqual(try RunStore(root: root).run("split")?.status, .stopped)
        XCTAssertEqual(try losses("split").count, 2)
        let second = try train(try tinyVAEConfig(steps: 4), name: "split", resume: true)
        XCTAssertEqual(try losses("split"), try losses("full"), "the resumed loss curve equals the uninterrupted one")
        for ((n, a), (_, b)) in zip(full.vae.namedParameters(), second.vae.namedParameters()) { XCTAssertEqual(a.data, b.data, n) }
        let events = try RunStore(root: root).events("split").map(\.kind)
        XCTAssertTrue(events.contains(.resume) && events.contains(.ended(.stopped)) && events.contains(.ended(.finished)) && events.contains(.eval), "\(events)")
    }

    /// A run stopped between two logged steps logs, once resumed, the loss means an uninterrupted run
    /// logs: the losses of the steps after the last logged one are kept at the stop and restored by the
    /// resumed loop (and only by a loop resuming at that step).
    func testAStopBetweenLoggedStepsLogsTheSameLossMeansOnceResumed() throws {
        let losses: [Float] = (0..<10).map { 0.37 * Float($0 + 1) + 0.011 * Float($0 * $0) }
        func run(_ name: String, from: Int, stopAfter: Int? = nil, resume: Bool) throws -> Int? {
            let s = try TrainSession(root: root, name: name, kind: .vae, configTOML: "kind = \"vae\"\n", resume: resume)
            defer { s.folder.unlock() }
            return try s.loop(from: from, to: 10, optimizer: AdamW([], lr: 1), schedule: WarmupCosine(peak: 1, warmup: 1, total: 10),
                              logEvery: 4, checkpointEvery: 1000, checkpointAtEnd: false,
                              step: { g in
                                  if g + 1 == stopAfter { s.stop.set() }
                                  return StepOutcome(loss: losses[g])
                              }, checkpoint: { _, _ in })
        }
        XCTAssertEqual(try run("full", from: 0, resume: false), 10)
        XCTAssertNil(try run("split", from: 0, stopAfter: 6, resume: false), "stopped after step 6, between the logs at 4 and 8")
        XCTAssertEqual(try run("split", from: 6, resume: true), 10)
        let store = try RunStore(root: root)
        func logged(_ name: String) throws -> [Int: Double] {
            Dictionary(uniqueKeysWithValues: try store.metrics(name, key: "loss").map { ($0.step, $0.value) })
        }
        let full = try logged("full")
        XCTAssertEqual(full.keys.sorted(), [4, 8, 10])
        XCTAssertEqual(full[8]!, Double(losses[4..<8].reduce(0, +) / 4), accuracy: 1e-6)
        XCTAssertEqual(try logged("split"), full, "the resumed run's log equals the uninterrupted one's")
        // A loop that starts at another step (a crash resumed from an earlier checkpoint) restores nothing.
        XCTAssertEqual(try RunFolder(root: root, name: "split").pendingLosses(step: 6), [losses[4], losses[5]])
        XCTAssertEqual(try RunFolder(root: root, name: "split").pendingLosses(step: 4), [])
    }

    /// The teacher trainer resumes exactly too: data order, noise, timesteps and prompt dropout are
    /// functions of the step, and the optimizer moments and EMA are in the checkpoint.
    func testTeacherStopAndResumeEqualsAnUninterruptedRun() throws {
        try teacherStopAndResume(structureWeight: nil)
    }

    /// With the gap weight (`flow.gap_weight`) the run resumes exactly too; each clip's weights are 1 plus
    /// the weight times its gap map on the latent grid — all 1 for a one-object clip — and the weighted
    /// loss is logged with the plain mean square beside it, never below it.
    func testTeacherWithTheGapWeightResumesExactlyAndLogsThePlainLoss() throws {
        let full = try teacherStopAndResume(structureWeight: nil, flow: "gap_weight = 4")
        let weights = try XCTUnwrap(full.lossWeights)
        let plane = full.latents.count / (full.latents.shape[0] * full.latents.shape[1])
        XCTAssertEqual(weights.count, full.latents.shape[0] * plane)
        var pairs = 0
        for (i, caption) in full.captions.enumerated() {
            let w = weights[(i * plane)..<((i + 1) * plane)]
            XCTAssertTrue(w.allSatisfy { $0 >= 1 && $0 <= 5 }, caption)
            if PromptGrammar.parse(caption).scene?.objects.count == 2 { pairs += 1; XCTAssertGreaterThan(w.max()!, 2, caption) }
            else { XCTAssertTrue(w.allSatisfy { $0 == 1 }, caption) }
        }
        XCTAssertGreaterThan(pairs, 0, "the tiny dataset has a two-object clip")
        let store = try RunStore(root: root)
        let plain = try store.metrics("full", key: "flow_mse").map(\.value), loss = try losses("full")
        XCTAssertEqual(plain.count, 6)
        XCTAssertEqual(loss.count, 6)
        for (l, p) in zip(loss, plain) { XCTAssertGreaterThanOrEqual(l, p * (1 - 1e-6)) }
        XCTAssertTrue(zip(loss, plain).contains { $0 > $1 * 1.001 }, "a batch with a pair weighs its gap more")
    }

    /// With the edge weight (`flow.edge_weight`) every clip, one object or two, weighs its outlines: each
    /// clip's weights lie in [1, 1 + weight] and reach above 1 + weight/2 somewhere; the run resumes
    /// exactly and logs the plain mean square beside the weighted loss, always below it.
    func testTeacherWithTheEdgeWeightWeighsEveryClipAndResumesExactly() throws {
        let full = try teacherStopAndResume(structureWeight: nil, flow: "edge_weight = 2")
        let weights = try XCTUnwrap(full.lossWeights)
        let plane = full.latents.count / (full.latents.shape[0] * full.latents.shape[1])
        XCTAssertEqual(weights.count, full.latents.shape[0] * plane)
        for (i, caption) in full.captions.enumerated() {
            let w = weights[(i * plane)..<((i + 1) * plane)]
            XCTAssertTrue(w.allSatisfy { $0 >= 1 && $0 <= 3 }, caption)
            XCTAssertGreaterThan(w.max()!, 2, caption)
            XCTAssertTrue(w.contains { $0 < 1.5 }, "\(caption): the background away from the outlines")
        }
        let store = try RunStore(root: root)
        let plain = try store.metrics("full", key: "flow_mse").map(\.value), loss = try losses("full")
        XCTAssertEqual(plain.count, 6)
        for (l, p) in zip(loss, plain) { XCTAssertGreaterThan(l, p) }
    }

    /// With the temporal weight (`flow.temporal_weight`) every logged loss is the plain mean square plus
    /// the weight times the logged frame-difference term, and the run resumes exactly. The term itself:
    /// zero for an error the same in every latent frame, the mean square of the frame-to-frame changes
    /// for one that is not (against a loop), its gradient against finite differences.
    func testTeacherWithTheTemporalWeightAddsTheErrorsFrameChangesAndResumesExactly() throws {
        let full = try teacherStopAndResume(structureWeight: nil, flow: "temporal_weight = 2")
        XCTAssertNil(full.lossWeights, "no gap or edge weight")
        let store = try RunStore(root: root)
        let plain = try store.metrics("full", key: "flow_mse").map(\.value), temporal = try store.metrics("full", key: "temporal_mse").map(\.value)
        let loss = try losses("full")
        XCTAssertEqual(plain.count, 6)
        XCTAssertEqual(temporal.count, 6)
        for (i, l) in loss.enumerated() {
            XCTAssertGreaterThan(temporal[i], 0)
            XCTAssertEqual(l, plain[i] + 2 * temporal[i], accuracy: 1e-5 * l, "step \(i + 1)")
        }

        let shape = [2, 3, 4, 2, 3], plane = 6, frames = 4
        let same = randomTensor([2, 3, 1, 2, 3], seed: 5, lo: -1, hi: 1)
        XCTAssertEqual(TeacherTrainer.frameDifferenceMSE(Tensor.concat([same, same, same, same], axis: 2)).item, 0)
        let e = randomTensor(shape, seed: 6, lo: -1, hi: 1)
        var sum = 0.0, count = 0
        for nc in 0..<(2 * 3) {
            for f in 0..<(frames - 1) {
                for p in 0..<plane {
                    let d = Double(e.data[(nc * frames + f + 1) * plane + p]) - Double(e.data[(nc * frames + f) * plane + p])
                    sum += d * d; count += 1
                }
            }
        }
        XCTAssertEqual(Double(TeacherTrainer.frameDifferenceMSE(e).item), sum / Double(count), accuracy: 1e-6)
        XCTAssertEqual(TeacherTrainer.frameDifferenceMSE(same).item, 0, "one frame: nothing to difference")
        gradCheck([e], "frame-difference mean square") { TeacherTrainer.frameDifferenceMSE($0[0]) }
    }

    /// With the caption-structure task the head resumes too (its weights and moments are in the
    /// checkpoint), its loss is logged apart from the flow loss, and the exported model is without it.
    func testTeacherWithTheStructureTaskResumesExactlyAndExportsWithoutItsHead() throws {
        let full = try teacherStopAndResume(structureWeight: 0.5)
        XCTAssertTrue(full.named.contains { $0.0.hasPrefix("structure_head.") })
        let store = try RunStore(root: root)
        XCTAssertEqual(try store.metrics("full", key: "structure_loss").count, 6)
        let exported = try Safetensors.read(root + "/full/export/model.safetensors")
        XCTAssertFalse(exported.tensors.keys.contains { $0.contains("structure") }, "\(exported.tensors.keys.sorted())")
        XCTAssertNoThrow(try VideoModel.load(folder: root + "/full/export"))
    }

    @discardableResult
    func teacherStopAndResume(structureWeight: Double?, flow: String? = nil) throws -> TeacherTrainer {
        try TinyModels.teacher(at: root + "/tiny")
        let path = root + "/teacher.toml"
        var text = TinyModels.teacherConfig(vae: root + "/tiny/vae", steps: 6, batch: 3, checkpointEvery: 1)
        if let w = structureWeight { text = text.replacingOccurrences(of: "[text]\n", with: "[text]\nstructure_weight = \(w)\n") }
        if let flow { text = text.replacingOccurrences(of: "[flow]\n", with: "[flow]\n\(flow)\n") }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let cfg = try TeacherTrainConfig.load(path)
        XCTAssertEqual(cfg.text.structureWeight, structureWeight ?? 0)
        func trainer(_ name: String, resume: Bool, stopAt: Int? = nil) throws -> TeacherTrainer {
            let session = try TrainSession(root: root, name: name, kind: .teacher, configTOML: try cfg.toml(), resume: resume)
            let stopper = stopAt.map { StopAt(session, $0) }
            session.reporter = stopper
            let t = try TeacherTrainer(config: cfg, session: session)
            try t.run(resume: resume)
            session.reporter = nil
            _ = stopper
            return t
        }
        let full = try trainer("full", resume: false)
        _ = try trainer("split", resume: false, stopAt: 3)
        XCTAssertEqual(try RunStore(root: root).run("split")?.status, .stopped)
        XCTAssertEqual(try losses("split").count, 3)
        let second = try trainer("split", resume: true)
        XCTAssertEqual(try losses("split"), try losses("full"), "the resumed loss curve equals the uninterrupted one")
        XCTAssertEqual(full.named.map(\.0), second.named.map(\.0))
        for ((n, a), (_, b)) in zip(full.named, second.named) { XCTAssertEqual(a.data, b.data, n) }
        XCTAssertEqual(full.ema?.shadow, second.ema?.shadow, "the EMA resumes too")
        return full
    }

    /// model.init_from starts a teacher from a trained one: every text-encoder and transformer weight
    /// (and so the EMA) is the source's, whatever the run's own seed; an architecture that differs is
    /// refused before the run exists, with the key that differs, and again tensor by tensor.
    func testTeacherInitFromCopiesATrainedTeacherAndRefusesAnotherArchitecture() throws {
        try TinyModels.teacher(at: root + "/tiny")
        let base = TinyModels.teacherConfig(vae: root + "/tiny/vae", steps: 2, batch: 2, checkpointEvery: 1)
        func config(_ text: String, _ name: String) throws -> TeacherTrainConfig {
            try text.write(toFile: root + "/\(name).toml", atomically: true, encoding: .utf8)
            return try TeacherTrainConfig.load(root + "/\(name).toml")
        }
        func trainer(_ cfg: TeacherTrainConfig, _ name: String) throws -> TeacherTrainer {
            try TeacherTrainer(config: cfg, session: try TrainSession(root: root, name: name, kind: .teacher, configTOML: try cfg.toml(), resume: false))
        }
        try trainer(try config(base, "src"), "src").run(resume: false)
        let source = try VideoModel.load(folder: root + "/src/export")
        let want = Dictionary(uniqueKeysWithValues: source.textEncoder.namedParameters().map { ("text_encoder." + $0.0, $0.1.data) }
                                                     + source.transformer.namedParameters().map { ("transformer." + $0.0, $0.1.data) })
        let reseeded = base.replacingOccurrences(of: "[train]\n", with: "[train]\nseed = 5\nema = 0.9\n")
        let warm = try config(reseeded.replacingOccurrences(of: "[model]\n", with: "[model]\ninit_from = \"src\"\n"), "warm")
        XCTAssertEqual(warm.model.initFrom, "src")
        XCTAssertNoThrow(try Preflight.check(warm, path: "warm.toml", runsRoot: root))
        let started = try trainer(warm, "warm"), cold = try trainer(try config(reseeded, "cold"), "cold")
        XCTAssertEqual(Set(started.named.map(\.0)), Set(want.keys))
        for (n, p) in started.named { XCTAssertEqual(p.data, want[n], n) }
        XCTAssertTrue(started.ema?.shadow == started.params.map(\.data), "the EMA starts from the copied weights")
        XCTAssertTrue(cold.named.contains { $0.1.data != want[$0.0] }, "without init_from the run's own seed draws other weights")

        // Once the run has checkpoints, its resume needs neither the starting teacher nor its check.
        try started.run(resume: false)
        try FileManager.default.moveItem(atPath: root + "/src/export", toPath: root + "/src-export-aside")
        XCTAssertThrowsError(try Preflight.check(warm, path: "warm.toml", runsRoot: root))
        XCTAssertNoThrow(try Preflight.check(warm, path: "warm.toml", runsRoot: root, initialWeights: false))
        let resumed = try TeacherTrainer(config: warm, session: try TrainSession(root: root, name: "warm", kind: .teacher, configTOML: try warm.toml(), resume: true))
        try resumed.run(resume: true)
        for ((n, a), (_, b)) in zip(started.named, resumed.named) { XCTAssertEqual(a.data, b.data, n) }
        try FileManager.default.moveItem(atPath: root + "/src-export-aside", toPath: root + "/src/export")

        for (from, to, says) in [("head_dim = 6\nlayers = 1\n", "head_dim = 6\nlayers = 2\n", "model.layers = 1 where this config has 2"),
                                 ("[text]\n", "[text]\ntext_length = 12\n", "text.text_length = 16 where this config has 12")] {
            let text = base.replacingOccurrences(of: from, with: to).replacingOccurrences(of: "[model]\n", with: "[model]\ninit_from = \"src\"\n")
            let cfg = try config(text, "other")
            XCTAssertThrowsError(try Preflight.check(cfg, path: "other.toml", runsRoot: root)) { e in
                XCTAssertTrue("\(e)".contains("model.init_from") && "\(e)".contains(says), "\(e)")
            }
            XCTAssertThrowsError(try trainer(cfg, "other-\(cfg.model.layers)-\(cfg.text.textLength)")) { e in
                XCTAssertTrue("\(e)".contains("model.init_from"), "the trainer checks tensor by tensor too: \(e)")
            }
        }
    }

    /// model.init_layers grows a trained teacher: each layer copies the source layer it names, and a -1
    /// layer starts as the identity, so the grown model computes exactly what its source computes; its
    /// new layers then learn. A map that does not fit the config or the source, or leaves a source layer
    /// out, is refused by key.
    /// The tiny teacher's config with `model` for its [model] lines (heads = 2, head_dim = 6, layers = 1,
    /// ffn = 8), written as NAME.toml beside the tiny models and loaded.
    private func tinyTeacherConfig(_ model: String, _ name: String) throws -> TeacherTrainConfig {
        let base = TinyModels.teacherConfig(vae: root + "/tiny/vae", steps: 2, batch: 2, checkpointEvery: 1)
        let text = base.replacingOccurrences(of: "heads = 2\nhead_dim = 6\nlayers = 1\nffn = 8\n", with: model)
        try text.write(toFile: root + "/\(name).toml", atomically: true, encoding: .utf8)
        return try TeacherTrainConfig.load(root + "/\(name).toml")
    }

    /// Asserts that `body` throws an error whose message contains every one of `words`.
    private func assertRefused<T>(_ body: @autoclosure () throws -> T, mentioning words: String..., line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { e in XCTAssertTrue(words.allSatisfy { "\(e)".contains($0) }, "\(e)", line: line) }
    }

    /// Asserts that `grown` (three blocks, grown by the map [-1, 0, -1] from a one-block `source`) holds
    /// source's block 0 as its block 1 and source's other tensors; its new blocks 0 and 2 have the
    /// `residual` tensors zeroed (each drawn nonzero without the map) and the rest as `drawn`, a model
    /// of the grown shape built from the same seed, drew them.
    private func assertGrownFromOneLayer(_ grown: [(String, Tensor)], source: [(String, Tensor)], drawn: [String: [Float]],
                                         residual: [String], line: UInt = #line) {
        let src = Dictionary(uniqueKeysWithValues: source.map { ($0.0, $0.1.data) })
        for (name, p) in grown {
            if name.hasPrefix("blocks.1.") {
                XCTAssertEqual(p.data, src["blocks.0." + name.dropFirst("blocks.1.".count)], name, line: line)
            } else if name.hasPrefix("blocks.") {
                if residual.contains(where: { name.hasSuffix("." + $0) }) {
                    XCTAssertTrue(p.data.allSatisfy { $0 == 0 }, name, line: line)
                    XCTAssertTrue(!name.hasSuffix("weight") || drawn[name]!.contains { $0 != 0 }, "\(name) is drawn nonzero without the map", line: line)
                } else {
                    XCTAssertEqual(p.data, drawn[name], name, line: line)
                }
            } else {
                XCTAssertEqual(p.data, src[name], name, line: line)
            }
        }
    }

    private func teacherTrainer(_ cfg: TeacherTrainConfig, _ name: String) throws -> TeacherTrainer {
        try TeacherTrainer(config: cfg, session: try TrainSession(root: root, name: name, kind: .teacher, configTOML: try cfg.toml(), resume: false))
    }

    func testTeacherInitLayersGrowsATrainedTeacherThatComputesTheSame() throws {
        try TinyModels.teacher(at: root + "/tiny")
        func config(_ model: String, _ name: String) throws -> TeacherTrainConfig { try tinyTeacherConfig("heads = 2\nhead_dim = 6\nffn = 8\n" + model, name) }
        let trainer = teacherTrainer
        try trainer(try config("layers = 1\n", "src"), "src").run(resume: false)
        let source = try VideoModel.load(folder: root + "/src/export")
        let grown = try config("layers = 3\ninit_from = \"src\"\ninit_layers = [-1, 0, -1]\n", "grown")
        XCTAssertEqual(grown.model.initLayers, [-1, 0, -1])
        XCTAssertEqual(try TeacherTrainConfig.load(root + "/grown.toml"), grown)
        try grown.toml().write(toFile: root + "/grown-again.toml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try TeacherTrainConfig.load(root + "/grown-again.toml"), grown, "the run's config.toml keeps init_layers")
        XCTAssertNoThrow(try Preflight.check(grown, path: "grown.toml", runsRoot: root))
        let started = try trainer(grown, "grown")
        let drawn = Dictionary(uniqueKeysWithValues: try trainer(try config("layers = 3\n", "cold3"), "cold3").model.transformer.namedParameters().map { ($0.0, $0.1.data) })
        let dit = started.model.transformer
        XCTAssertEqual(dit.blocks.count, 3)
        assertGrownFromOneLayer(dit.namedParameters(), source: source.transformer.namedParameters(), drawn: drawn, residual: WanBlock.residualOutputs)
        for ((n, a), (_, b)) in zip(started.model.textEncoder.namedParameters(), source.textEncoder.namedParameters()) { XCTAssertEqual(a.data, b.data, n) }

        // The same velocity, bit for bit, at two noise levels.
        var rng = RNG(seed: 9)
        let c = dit.config.inChannels
        let x = Tensor(shape: [2, c, 2, 4, 4], data: rng.normal(2 * c * 32))
        let context = Tensor(shape: [2, 3, dit.config.textDim], data: rng.normal(2 * 3 * dit.config.textDim))
        XCTAssertEqual(try dit(x, timesteps: [100, 800], context: context).data,
                       try source.transformer(x, timesteps: [100, 800], context: context).data)

        // Training moves the new layers' outputs off zero.
        try started.run(resume: false)
        XCTAssertTrue(dit.namedParameters().contains { $0.0 == "blocks.0.ffn.net.2.weight" && $0.1.data.contains { $0 != 0 } })
        XCTAssertTrue(dit.namedParameters().contains { $0.0 == "blocks.2.attn1.to_out.0.weight" && $0.1.data.contains { $0 != 0 } })

        assertRefused(try config("layers = 3\ninit_from = \"src\"\ninit_layers = [0, -1]\n", "short"), mentioning: "model.init_layers", "one entry per layer")
        assertRefused(try config("layers = 2\ninit_layers = [0, -1]\n", "nosource"), mentioning: "model.init_layers", "needs init_from")
        assertRefused(try config("layers = 2\ninit_from = \"src\"\ninit_layers = [0, -2]\n", "minus2"), mentioning: "model.init_layers", "-2")
        let beyond = try config("layers = 2\ninit_from = \"src\"\ninit_layers = [0, 1]\n", "beyond")
        assertRefused(try Preflight.check(beyond, path: "beyond.toml", runsRoot: root), mentioning: "model.init_layers", "names layer 1 where 'src' has 1")
        assertRefused(try trainer(beyond, "beyond"), mentioning: "blocks.1.")
        // A map that leaves one of the source's layers out is refused too: every trained layer is used.
        assertRefused(try trainer(try config("layers = 1\ninit_from = \"src\"\ninit_layers = [-1]\n", "dropped"), "dropped"), mentioning: "transformer.blocks.0.", "model.init_layers")
    }

    /// text.init_layers grows the text encoder of a trained teacher the same way: each layer copies the
    /// source layer it names, a -1 layer starts as the identity, so the grown encoder reads every prompt
    /// exactly as its source does, and its new layers then learn. A map that does not fit is refused by key.
    func testTeacherTextInitLayersGrowsTheTextEncoderThatReadsTheSame() throws {
        try TinyModels.teacher(at: root + "/tiny")
        let tinyText = "[text]\ndim = 8\nlayers = 1\nheads = 2\nffn = 8\n"
        func config(text: String, model: String, _ name: String) throws -> TeacherTrainConfig {
            let base = TinyModels.teacherConfig(vae: root + "/tiny/vae", steps: 2, batch: 2, checkpointEvery: 1)
            XCTAssertTrue(base.contains(tinyText), "the tiny teacher's [text] section is as this test expects")
            let toml = base.replacingOccurrences(of: tinyText, with: "[text]\ndim = 8\nheads = 2\nffn = 8\n" + text)
                .replacingOccurrences(of: "[model]\n", with: "[model]\n" + model)
            try toml.write(toFile: root + "/\(name).toml", atomically: true, encoding: .utf8)
            return try TeacherTrainConfig.load(root + "/\(name).toml")
        }
        let trainer = teacherTrainer
        try trainer(try config(text: "layers = 1\n", model: "", "src"), "src").run(resume: false)
        let source = try VideoModel.load(folder: root + "/src/export")
        let grown = try config(text: "layers = 3\ninit_layers = [-1, 0, -1]\n", model: "init_from = \"src\"\n", "grown")
        XCTAssertEqual(grown.text.initLayers, [-1, 0, -1])
        try grown.toml().write(toFile: root + "/grown-again.toml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try TeacherTrainConfig.load(root + "/grown-again.toml"), grown, "the run's config.toml keeps text.init_layers")
        XCTAssertNoThrow(try Preflight.check(grown, path: "grown.toml", runsRoot: root))
        let started = try trainer(grown, "grown")
        let cold = try trainer(try config(text: "layers = 3\n", model: "", "cold3"), "cold3")
        let drawn = Dictionary(uniqueKeysWithValues: cold.model.textEncoder.namedParameters().map { ($0.0, $0.1.data) })
        let text = started.model.textEncoder
        XCTAssertEqual(text.blocks.count, 3)
        assertGrownFromOneLayer(text.namedParameters(), source: source.textEncoder.namedParameters(), drawn: drawn, residual: TextEncoderBlock.residualOutputs)
        for ((n, a), (_, b)) in zip(started.model.transformer.namedParameters(), source.transformer.namedParameters()) { XCTAssertEqual(a.data, b.data, n) }

        // The same encoding of every prompt, bit for bit (prompts of 1 to 6 tokens, the EOS included).
        let prompts = [[1], [5, 9, 2], [7, 7, 12, 30, 4, 2]]
        XCTAssertEqual(try text(prompts).data, try source.textEncoder(prompts).data)

        // Training moves the new layers' outputs off zero.
        try started.run(resume: false)
        for name in ["blocks.0.wo.weight", "blocks.2.o.weight"] {
            XCTAssertTrue(text.namedParameters().contains { $0.0 == name && $0.1.data.contains { $0 != 0 } }, name)
        }

        let from = "init_from = \"src\"\n"
        assertRefused(try config(text: "layers = 3\ninit_layers = [0, -1]\n", model: from, "short"), mentioning: "text.init_layers", "one entry per layer")
        assertRefused(try config(text: "layers = 2\ninit_layers = [0, -1]\n", model: "", "nosource"), mentioning: "text.init_layers", "needs model.init_from")
        assertRefused(try config(text: "layers = 2\ninit_layers = [0, -2]\n", model: from, "minus2"), mentioning: "text.init_layers", "-2")
        let beyond = try config(text: "layers = 2\ninit_layers = [0, 1]\n", model: from, "beyond")
        assertRefused(try Preflight.check(beyond, path: "beyond.toml", runsRoot: root), mentioning: "text.init_layers", "names layer 1 where 'src''s text encoder has 1")
        // A map that leaves one of the source's layers out is refused too: every trained layer is used.
        assertRefused(try trainer(try config(text: "layers = 1\ninit_layers = [-1]\n", model: from, "dropped"), "dropped"),
                      mentioning: "text_encoder.blocks.0.", "text.init_layers")
    }

    /// model.init_width widens a trained teacher (heads and FFN) into one that computes the same
    /// velocity, whose copies of a channel are not equal where they read (so training can part them).
    func testTeacherInitWidthWidensATrainedTeacherThatComputesTheSame() throws {
        try TinyModels.teacher(at: root + "/tiny")
        let (config, trainer) = (tinyTeacherConfig, teacherTrainer)
        try trainer(try config("heads = 2\nhead_dim = 6\nlayers = 2\nffn = 8\n", "src"), "src").run(resume: false)
        let source = try VideoModel.load(folder: root + "/src/export")
        for w in [2, 3] {
            let cfg = try config("heads = \(2 * w)\nhead_dim = 6\nlayers = 2\nffn = \(8 * w)\ninit_from = \"src\"\ninit_width = \(w)\n", "wide\(w)")
            XCTAssertEqual(cfg.model.initWidth, w)
            try cfg.toml().write(toFile: root + "/wide-again.toml", atomically: true, encoding: .utf8)
            XCTAssertEqual(try TeacherTrainConfig.load(root + "/wide-again.toml"), cfg, "the run's config.toml keeps init_width")
            XCTAssertNoThrow(try Preflight.check(cfg, path: "wide.toml", runsRoot: root))
            let started = try trainer(cfg, "wide\(w)")
            let dit = started.model.transformer
            XCTAssertEqual(dit.config.numAttentionHeads, 2 * w)

            // The same velocity at two noise levels (to rounding: each weight is split into shares).
            var rng = RNG(seed: 9)
            let c = dit.config.inChannels
            let x = Tensor(shape: [2, c, 2, 4, 4], data: rng.normal(2 * c * 32))
            let context = Tensor(shape: [2, 3, dit.config.textDim], data: rng.normal(2 * 3 * dit.config.textDim))
            let wide = try dit(x, timesteps: [100, 800], context: context).data
            let narrow = try source.transformer(x, timesteps: [100, 800], context: context).data
            let err = zip(wide, narrow).map { abs($0 - $1) }.max()!, scale = narrow.map(abs).max()!
            XCTAssertLessThan(err, 1e-5 * max(scale, 1), "width \(w): the widened teacher computes something else")
            XCTAssertGreaterThan(scale, 0.1)

            // Written axes repeat; read axes hold shares that differ between copies and sum to the source.
            let src = Dictionary(uniqueKeysWithValues: source.transformer.namedParameters().map { ($0.0, $0.1) })
            let mine = Dictionary(uniqueKeysWithValues: dit.namedParameters().map { ($0.0, $0.1) })
            let (q, q0) = (mine["blocks.1.attn1.to_q.weight"]!, src["blocks.1.attn1.to_q.weight"]!)
            let d = q0.shape[0]
            XCTAssertEqual(q.shape, [d * w, d * w])
            var differ = false
            for r in 0..<(d * w) {
                for i in 0..<d {
                    let parts = (0..<w).map { q.data[r * d * w + $0 * d + i] }
                    XCTAssertEqual(parts.reduce(0, +), q0.data[(r % d) * d + i], accuracy: 1e-6)
                    if parts[0] != parts[1] { differ = true }
                }
            }
            XCTAssertTrue(differ, "the copies' shares are all equal: training could never part them")
            XCTAssertEqual(Array(mine["blocks.0.ffn.net.0.proj.bias"]!.data.suffix(8)), src["blocks.0.ffn.net.0.proj.bias"]!.data)
            XCTAssertEqual(mine["proj_out.bias"]!.data, src["proj_out.bias"]!.data)
            for ((n, a), (_, b)) in zip(started.model.textEncoder.namedParameters(), source.textEncoder.namedParameters()) { XCTAssertEqual(a.data, b.data, n) }
        }

        assertRefused(try config("heads = 4\nhead_dim = 6\nlayers = 2\nffn = 8\ninit_width = 2\n", "nosource"), mentioning: "model.init_width", "needs init_from")
        assertRefused(try config("heads = 4\nhead_dim = 6\nlayers = 2\nffn = 9\ninit_from = \"src\"\ninit_width = 2\n", "odd"), mentioning: "model.init_width", "must divide")
        let wrong = try config("heads = 6\nhead_dim = 6\nlayers = 2\nffn = 24\ninit_from = \"src\"\ninit_width = 2\n", "wrong")
        assertRefused(try Preflight.check(wrong, path: "wrong.toml", runsRoot: root), mentioning: "model.heads (times model.init_width = 2)")
    }

    /// text.position_init rescales the text encoder's drawn position embedding and nothing else: every
    /// other initial weight is the default recipe's, so a run that sets it changes one thing.
    func testTextPositionInitRescalesOnlyThePositionEmbedding() throws {
        try TinyModels.teacher(at: root + "/tiny")
        let base = TinyModels.teacherConfig(vae: root + "/tiny/vae", steps: 2, batch: 2, checkpointEvery: 1)
        func named(_ text: String, _ name: String) throws -> [(String, Tensor)] {
            let path = root + "/\(name).toml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let cfg = try TeacherTrainConfig.load(path)
            try cfg.toml().write(toFile: path + ".again", atomically: true, encoding: .utf8)
            XCTAssertEqual(try TeacherTrainConfig.load(path + ".again"), cfg, "the run's config.toml keeps position_init")
            let session = try TrainSession(root: root, name: name, kind: .teacher, configTOML: try cfg.toml(), resume: false)
            return try TeacherTrainer(config: cfg, session: session).named
        }
        let plain = try named(base, "plain")
        let wide = try named(base.replacingOccurrences(of: "[text]\n", with: "[text]\nposition_init = 1.0\n"), "wide")
        XCTAssertEqual(plain.map(\.0), wide.map(\.0))
        for ((n, a), (_, b)) in zip(plain, wide) {
            if n == "text_encoder.position_embedding" {
                for (x, y) in zip(a.data, b.data) { XCTAssertEqual(y, x * 50, accuracy: 1e-5 * max(1, abs(y))) }
                let rms = (b.data.map { $0 * $0 }.reduce(0, +) / Float(b.count)).squareRoot()
                XCTAssertEqual(rms, 1, accuracy: 0.35, "about unit scale")
            } else {
                XCTAssertEqual(a.data, b.data, n)
            }
        }
    }

    func testExportedRunsImportIntoAnotherStoreWithTheirWholeHistory() throws {
        _ = try train(try tinyVAEConfig(steps: 3), name: "a", resume: false)
        let store = try RunStore(root: root)
        try store.event("a", step: 3, kind: EventKind(rawValue: "note"), "a note to carry over")
        let archive = root + "/archive", other = root + "/other"
        XCTAssertEqual(try RunArchive.export(store, to: archive), ["a"])
        let (imported, skipped) = try RunArchive.importRuns(from: archive, into: try RunStore(root: other))
        XCTAssertEqual(imported, ["a"]); XCTAssertEqual(skipped, [])
        let want = try XCTUnwrap(store.history("a")), got = try XCTUnwrap(RunStore(root: other).history("a"))
        XCTAssertEqual(got.metrics, want.metrics)
        XCTAssertEqual(got.run.status, .finished); XCTAssertEqual(got.run.step, want.run.step); XCTAssertNil(got.run.pid)
        XCTAssertEqual(got.events.dropLast().map(\.detail), want.events.map(\.detail))
        XCTAssertEqual(got.events.last?.kind, .imported)
        XCTAssertEqual(try String(contentsOfFile: other + "/a/config.toml", encoding: .utf8), try String(contentsOfFile: root + "/a/config.toml", encoding: .utf8))
        // Importing again skips, never overwrites; an imported run has nothing to resume from.
        XCTAssertEqual(try RunArchive.importRuns(from: archive, into: try RunStore(root: other)).skipped, ["a"])
        XCTAssertThrowsError(try RunSupervisor.restart(root: other, name: "a", kind: .vae)) { e in
            XCTAssertTrue("\(e)".contains("no checkpoint to resume from"), "\(e)")
        }
        XCTAssertThrowsError(try RunArchive.importRuns(from: root + "/nowhere", into: store))
        // The history alone (no media folder) imports the same history.
        let bare = root + "/bare", fourth = root + "/fourth"
        XCTAssertEqual(try RunArchive.export(store, to: bare, media: false), ["a"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: bare + "/a/media"))
        XCTAssertEqual(try RunArchive.importRuns(from: bare, into: try RunStore(root: fourth)).imported, ["a"])
        XCTAssertEqual(try XCTUnwrap(RunStore(root: fourth).history("a")).metrics, want.metrics)
        // A symlink inside an archive (log.txt → a secret) refuses that run before anything is made.
        try FileManager.default.removeItem(atPath: archive + "/a/log.txt")
        try FileManager.default.createSymbolicLink(atPath: archive + "/a/log.txt", withDestinationPath: "/etc/passwd")
        let third = root + "/third"
        XCTAssertThrowsError(try RunArchive.importRuns(from: archive, into: try RunStore(root: third))) { e in
            XCTAssertTrue("\(e)".contains("symbolic link"), "\(e)")
        }
        XCTAssertNil(try RunStore(root: third).run("a"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: third + "/a"))
        // The demo's own archive (samples/demo/runs) imports: the runs that made the demo models.
        let demo = try XCTUnwrap(ModelRef.demoRoot()) + "/runs"
        let fresh = try RunStore(root: root + "/fresh")
        let names = try RunArchive.importRuns(from: demo, into: fresh).imported
        XCTAssertTrue(Set(["vae-demo", "teacher-8000", "gpd-8000", "pd-8000"]).isSubset(of: Set(names)), "\(names)")
        XCTAssertGreaterThanOrEqual(try fresh.metrics("gpd-8000", key: "loss").count, 100)
    }

    /// The demo archive's manifest of the runs behind the bundled models names archived runs and bundled
    /// folders only (so the Runs screen's "bundled as" never points at nothing); a malformed manifest is
    /// refused naming the file and the entry, and no manifest is an empty list.
    func testTheBundledModelsManifestNamesArchivedRunsAndBundledFolders() throws {
        let demoRoot = try XCTUnwrap(ModelRef.demoRoot())
        let entries = try RunArchive.bundledModels(in: demoRoot + "/runs")
        let archived = Set(try RunArchive.archivedRuns(in: demoRoot + "/runs", names: []))
        XCTAssertTrue(entries.contains { $0 == ("teacher-2x-gap4", "t2x-gap4") }, "\(entries)")
        for e in entries {
            XCTAssertTrue(archived.contains(e.run), "\(e.run) (for \(e.model)) is not archived in samples/demo/runs")
            let folder = demoRoot + "/" + e.model
            XCTAssertTrue(["model.json", "config.json"].contains { FileManager.default.fileExists(atPath: folder + "/" + $0) },
                          "\(e.model) is not a bundled model folder")
        }
        // The Runs screen tells the demo's run from a run of one's own of the same name by its record's
        // `updated`: an import keeps it exactly.
        let store = try RunStore(root: root + "/demo-store")
        try RunArchive.importRuns(from: demoRoot + "/runs", into: store, names: entries.map(\.run))
        let summaries = try RunSupervisor.summaries(store)
        for e in entries {
            let archived = try RunArchive.archivedRecord(in: demoRoot + "/runs", name: e.run)
            XCTAssertEqual(summaries.first { $0.name == e.run }?.updated, archived.updated, "\(e.run)'s time survives the import")
        }
        XCTAssertThrowsError(try RunArchive.archivedRecord(in: demoRoot + "/runs", name: "no-such-run")) { e in
            XCTAssertTrue("\(e)".contains("no-such-run/run.json"), "\(e)")
        }
        let dir = root + "/manifests"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertEqual(try RunArchive.bundledModels(in: dir).count, 0, "no manifest: none")
        let file = dir + "/" + RunArchive.manifestName
        for (text, want) in [("{\"models\": [{\"model\": \"a\"}]}", "'models'"),
                             ("{\"models\": [{\"model\": \"a\", \"run\": \"r\"}, {\"model\": \"b\", \"run\": \"r\"}]}", "'models[1]': run 'r' is named twice"),
                             ("{\"models\": [{\"model\": \"\", \"run\": \"r\"}]}", "'models[0]'")] {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try RunArchive.bundledModels(in: dir), text) { e in
                XCTAssertTrue("\(e)".contains(file) && "\(e)".contains(want), "\(e)")
            }
        }
    }

    /// model.init_width widens a trained decoder (every channel between conv_in and conv_out copied)
    /// into one that decodes the same frames, with shares that differ between copies where it reads,
    /// and refuses a width that does not match decoder_base_dim.
    func testVAEInitWidthWidensADecoderThatDecodesTheSame() throws {
        _ = try train(try tinyVAEConfig(steps: 2), name: "base", resume: false)
        let base = try WanVAE.load(folder: root + "/base/export"), baseTensors = base.stateDict()
        var rng = RNG(seed: 5)
        let z = Tensor(shape: [2, 2, 2, 4, 4], data: rng.normal(2 * 2 * 2 * 16))   // two latent frames: the time upsampler runs
        let narrow = try base.decode(z, clamp: false).data
        for w in [2, 3] {
            let path = try tinyVAEConfig(steps: 1, model: "decoder_base_dim = \(4 * w)\ninit_from = \"\(root!)/base/export\"\nfreeze_encoder = true\ninit_width = \(w)")
            let cfg = try VAETrainConfig.load(path)
            XCTAssertEqual(cfg.model.initWidth, w)
            try cfg.toml().write(toFile: path + ".again", atomically: true, encoding: .utf8)
            XCTAssertEqual(try VAETrainConfig.load(path + ".again"), cfg, "the run's config.toml keeps init_width")
            let session = try TrainSession(root: root, name: "wide\(w)", kind: .vae, configTOML: try cfg.toml(), resume: false)
            let wide = try VAETrainer(config: cfg, session: session).vae, wideTensors = wide.stateDict()
            XCTAssertEqual(wideTensors["decoder.conv_in.weight"]?.shape, [8 * w, 2, 3, 3, 3])
            let out = try wide.decode(z, clamp: false).data
            let err = zip(out, narrow).map { abs($0 - $1) }.max()!, scale = narrow.map(abs).max()!
            XCTAssertGreaterThan(scale, 0.05)
            XCTAssertLessThan(err, 1e-5 * max(scale, 1), "width \(w): the widened decoder decodes something else")

            // A conv that reads a widened axis holds per-kernel-element shares that sum to the source's
            // weight and differ between copies.
            let (c, c0) = (wideTensors["decoder.up_blocks.1.resnets.0.conv1.weight"]!, baseTensors["decoder.up_blocks.1.resnets.0.conv1.weight"]!)
            let (d, k) = (c0.shape[0], 27)
            XCTAssertEqual(c.shape, [d * w, d * w, 3, 3, 3])
            var differ = false
            for r in 0..<(d * w) { for i in 0..<d { for e in 0..<k {
                let parts = (0..<w).map { c.data[(r * d * w + $0 * d + i) * k + e] }
                XCTAssertEqual(parts.reduce(0, +), c0.data[((r % d) * d + i) * k + e], accuracy: 1e-6)
                if parts[0] != parts[1] { differ = true }
            } } }
            XCTAssertTrue(differ, "the copies' shares are all equal: training could never part them")
            for (name, t) in wideTensors where !name.hasPrefix("decoder.") {
                XCTAssertEqual(t.data, baseTensors[name]?.data, "\(name) is not the decoder's: it is copied as it is")
            }
        }
        let odd = try VAETrainConfig.load(try tinyVAEConfig(steps: 1, model: "decoder_base_dim = 6\ninit_from = \"\(root!)/base/export\"\ninit_width = 2"))
        assertRefused(try Preflight.check(odd, path: "odd.toml"), mentioning: "odd.toml", "model.init_width", "decoder width 4 of model.init_from is 8", "is 6")
        assertRefused(try VAETrainer(config: odd, session: try TrainSession(root: root, name: "odd", kind: .vae, configTOML: try odd.toml(), resume: false)),
                      mentioning: "model.init_width", "is 8", "is 6")
        assertRefused(try VAETrainConfig.load(try tinyVAEConfig(steps: 1, model: "decoder_base_dim = 8\ninit_width = 2")), mentioning: "model.init_width", "needs init_from")
        assertRefused(try VAETrainConfig.load(try tinyVAEConfig(steps: 1, model: "init_from = \"x\"\ninit_width = 5")), mentioning: "model.init_width", "1…4")
    }

    func testDecoderOnlyTrainingKeepsTheLatentSpace() throws {
        _ = try train(try tinyVAEConfig(steps: 2), name: "base", resume: false)
        let base = try WanVAE.load(folder: root + "/base/export")
        // On other data (more two-object clips, another stream) than the source was measured on.
        var text = try String(contentsOfFile: try tinyVAEConfig(steps: 3, model: "decoder_base_dim = 6\ninit_from = \"\(root!)/base/export\"\nfreeze_encoder = true",
                                                                loss: "gradient = 0.5\ntemporal = 0.5"), encoding: .utf8)
        text = text.replacingOccurrences(of: "[data]\n", with: "[data]\ntwo_object_rate = 0.9\nseed = 7\n")
        let cfg = root + "/decoder.toml"
        try text.write(toFile: cfg, atomically: true, encoding: .utf8)
        let tuned = try train(cfg, name: "decoder", resume: false).vae
        let before = base.stateDict(), after = tuned.stateDict()
        for (name, t) in after where name.hasPrefix("encoder.") || name.hasPrefix("quant_conv.") {
            XCTAssertEqual(t.data, before[name]?.data, "\(name) must stay frozen")
        }
        XCTAssertEqual(tuned.config.decoderBaseDim, 6)
        XCTAssertNotEqual(after["decoder.conv_in.weight"]?.shape, before["decoder.conv_in.weight"]?.shape, "the wider decoder is new")
        // Same encoder, the source's latent statistics in the export, whatever the run's data: a teacher
        // trained on the old latents still fits.
        let exported = try WanVAE.load(folder: root + "/decoder/export")
        XCTAssertEqual(exported.config.latentsMean, base.config.latentsMean)
        XCTAssertEqual(exported.config.latentsStd, base.config.latentsStd)
        XCTAssertEqual(exported.config.decoderBaseDim, 6)
        // A frozen encoder that does not match is refused, naming the key.
        var other = base.config
        other.baseDim = 5
        var rng = RNG(seed: 2)
        try WanVAEExport.write(try WanVAE(other, rng: &rng), config: other, to: root + "/other")
        let bad = try tinyVAEConfig(steps: 1, model: "init_from = \"\(root!)/other\"\nfreeze_encoder = true")
        XCTAssertThrowsError(try train(bad, name: "bad", resume: false)) { e in XCTAssertTrue("\(e)".contains("model.init_from"), "\(e)") }
        // The edge term: zero for a constant error, the slope for a ramp along W (weights 1).
        let ones = Tensor(shape: [1, 1, 1, 4, 4], data: [Float](repeating: 1, count: 16))
        XCTAssertEqual(VAETrainer.edgeLoss(ones * 3, weights: ones).item, 0)
        let ramp = Tensor(shape: [1, 1, 1, 4, 4], data: (0..<16).map { Float($0 % 4) * 0.5 })
        XCTAssertEqual(VAETrainer.edgeLoss(ramp, weights: ones).item, 0.5, accuracy: 1e-6)
        // The frame-difference term: zero for an error constant in time (the ramp above, in every frame),
        // the slope for a ramp along F, each difference weighted by its two frames' mean weight.
        let still = Tensor.concat([ramp, ramp, ramp], axis: 2), threeOnes = Tensor(shape: [1, 1, 3, 4, 4], data: [Float](repeating: 1, count: 48))
        XCTAssertEqual(VAETrainer.frameDifferenceLoss(still, weights: threeOnes).item, 0)
        let inTime = Tensor(shape: [1, 1, 3, 4, 4], data: (0..<48).map { Float($0 / 16) * 0.25 })
        XCTAssertEqual(VAETrainer.frameDifferenceLoss(inTime, weights: threeOnes).item, 0.25, accuracy: 1e-6)
        let firstHeavy = Tensor(shape: [1, 1, 3, 4, 4], data: (0..<48).map { $0 < 16 ? 3 : 1 })
        XCTAssertEqual(VAETrainer.frameDifferenceLoss(inTime, weights: firstHeavy).item, 0.25 * (2 + 1) / 2, accuracy: 1e-6)
        XCTAssertEqual(VAETrainer.frameDifferenceLoss(ramp, weights: ones).item, 0, "one frame: nothing to difference")
    }

    /// The decoder's latent noise (`loss.latent_noise`): each channel's noise is the scale times that
    /// channel's deviation, a row's noise depends on its index in the global batch and the step only, a
    /// run with it trains on other inputs than one without (and resumes exactly: the noise is a function
    /// of seed, step and row), and it needs a frozen encoder.
    func testTheDecodersLatentNoiseIsScaledPerChannelAndAFunctionOfStepAndRow() throws {
        let z = Tensor(shape: [2, 2, 1, 32, 32], data: [Float](repeating: 0, count: 4096))
        let noise = VAETrainer.latentNoise(like: z, std: [0.5, 2], scale: 0.1, seed: 0, step: 3, rows: [3, 7])
        let per = 32 * 32
        for (c, want) in [(0, Float(0.05)), (1, Float(0.2))] {
            var v: [Float] = []
            for b in 0..<2 { v += noise.data[((b * 2 + c) * per)..<((b * 2 + c + 1) * per)] }
            let n = Float(v.count), mean: Float = v.reduce(0, +) / n
            let variance: Float = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
            let std = variance.squareRoot()
            XCTAssertEqual(std, want, accuracy: want * 0.06, "channel \(c)")
            XCTAssertEqual(mean, 0, accuracy: want * 0.1, "channel \(c)")
        }
        let alone = VAETrainer.latentNoise(like: z.slice(axis: 0, 0, 1), std: [0.5, 2], scale: 0.1, seed: 0, step: 3, rows: [7])
        XCTAssertEqual(alone.data, Array(noise.data[(2 * per)...]), "row 7's noise whatever else is in the batch")
        let later = VAETrainer.latentNoise(like: z.slice(axis: 0, 0, 1), std: [0.5, 2], scale: 0.1, seed: 0, step: 4, rows: [7])
        XCTAssertNotEqual(later.data, alone.data, "another step, other noise")

        _ = try train(try tinyVAEConfig(steps: 2), name: "base", resume: false)
        let decoderOnly = "init_from = \"\(root!)/base/export\"\nfreeze_encoder = true"
        let plain = try train(try tinyVAEConfig(steps: 3, model: decoderOnly), name: "plain", resume: false)
        _ = try train(try tinyVAEConfig(steps: 3, model: decoderOnly, loss: "latent_noise = 0.3"), name: "noisy", resume: false)
        XCTAssertNotEqual(try losses("noisy").first, try losses("plain").first, "the noise reaches the decoder")
        // Stopped after 2 steps and resumed: the same losses and weights as the uninterrupted run.
        let cfg = try VAETrainConfig.load(try tinyVAEConfig(steps: 3, model: decoderOnly, loss: "latent_noise = 0.3"))
        let session = try TrainSession(root: root, name: "split", kind: .vae, configTOML: try cfg.toml(), resume: false)
        session.reporter = StopAt(session, 2)
        try VAETrainer(config: cfg, session: session).run(resume: false)
        let resumed = try train(try tinyVAEConfig(steps: 3, model: decoderOnly, loss: "latent_noise = 0.3"), name: "split", resume: true)
        XCTAssertEqual(try losses("split"), try losses("noisy"))
        let noisy = try WanVAE.load(folder: root + "/noisy/export").stateDict()
        for (n, p) in resumed.vae.namedParameters() { XCTAssertEqual(p.data, noisy[n]?.data, n) }
        XCTAssertEqual(plain.keptStatistics?.std.count, 2, "the noise is measured in the kept encoder's deviations")
        XCTAssertThrowsError(try VAETrainConfig.load(try tinyVAEConfig(steps: 1, loss: "latent_noise = 0.1"))) { e in
            XCTAssertTrue("\(e)".contains("loss.latent_noise") && "\(e)".contains("freeze_encoder"), "\(e)")
        }
        XCTAssertThrowsError(try VAETrainConfig.load(try tinyVAEConfig(steps: 1, model: decoderOnly, loss: "latent_noise = -0.1"))) { e in
            XCTAssertTrue("\(e)".contains("loss.latent_noise"), "\(e)")
        }
    }

    /// The VAE's gap weight (`loss.gap_weight`): a two-object clip's pixel weights gain exactly the weight
    /// times its gap map (times the first frame's weight on frame 0); a one-object clip's weights are
    /// unchanged; a negative weight is refused by name.
    func testTheVAEsGapWeightWeighsTheBandBetweenAPair() throws {
        func trainer(_ name: String, _ loss: String) throws -> VAETrainer {
            let cfg = try VAETrainConfig.load(try tinyVAEConfig(steps: 1, loss: loss))
            return try VAETrainer(config: cfg, session: try TrainSession(root: root, name: name, kind: .vae, configTOML: try cfg.toml(), resume: false))
        }
        let plain = try trainer("plain", ""), gapped = try trainer("gapped", "gap_weight = 4\ngap_sigma = 2")
        let clips = (0..<40).map { plain.clip(step: 0, index: $0) }
        let pair = try XCTUnwrap(clips.first { $0.truth.count == 2 }), single = try XCTUnwrap(clips.first { $0.truth.count == 1 })
        let (f, n) = (plain.world.frames, plain.world.size)
        let map = ShapesWorld.gapMap(pair.truth, config: plain.world, sigma: 2)
        let (_, w0) = plain.batch([pair, single]), (_, w1) = gapped.batch([pair, single])
        XCTAssertGreaterThan(map.max()!, 0.5, "the pair has a band between its objects")
        for i in 0..<(f * n * n) {
            let firstFrame: Float = i < n * n ? 2 : 1   // the config's first_frame_weight
            XCTAssertEqual(w1.data[i] - w0.data[i], 4 * map[i] * firstFrame, accuracy: 1e-5, "pixel \(i)")
        }
        XCTAssertEqual(Array(w1.data[(f * n * n)...]), Array(w0.data[(f * n * n)...]), "a one-object clip is unchanged")
        XCTAssertThrowsError(try VAETrainConfig.load(try tinyVAEConfig(steps: 1, loss: "gap_weight = -1"))) { e in
            XCTAssertTrue("\(e)".contains("loss.gap_weight"), "\(e)")
        }
    }

    /// Two trainers (two connections) writing at once: each waits for the other, none fails with
    /// "database is locked", and every row lands.
    func testConcurrentWritersWaitForEachOther() throws {
        let stores = try [RunStore(root: root), RunStore(root: root)]
        for (i, s) in stores.enumerated() { try s.register(name: "w\(i)", kind: .distill) }
        let failures = NSLock()
        var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            for step in 1...300 {
                do {
                    try stores[i].log("w\(i)", step: step, ["loss": Double(step), "lr": 1e-4])
                    if step % 50 == 0 { try stores[i].event("w\(i)", step: step, kind: EventKind(rawValue: "note"), "step \(step)") }
                } catch { failures.lock(); errors.append("\(error)"); failures.unlock() }
            }
        }
        XCTAssertEqual(errors, [])
        for i in 0..<2 { XCTAssertEqual(try stores[0].metrics("w\(i)", key: "loss").count, 300) }
    }

    /// Two trainers started at once on a fresh checkout both create the run database: one makes its
    /// tables, the other waits and finds them made (each RunStore is its own connection, as two
    /// processes' are), instead of failing with "table runs already exists".
    func testStoresOpenedAtOnceOnANewFolderAllOpen() throws {
        let failures = NSLock()
        var errors: [String] = []
        for round in 0..<40 {
            let fresh = root + "/fresh-\(round)"
            DispatchQueue.concurrentPerform(iterations: 4) { i in
                do { try RunStore(root: fresh).register(name: "r\(i)", kind: .vae) } catch {
                    failures.lock(); errors.append("round \(round), store \(i): \(error)"); failures.unlock()
                }
            }
            XCTAssertEqual(try RunStore(root: fresh).runs().count, 4, "round \(round)")
        }
        XCTAssertEqual(errors, [])
    }

    func testSecondTrainerIsRefusedAndCrashedRunsShowAsCrashed() throws {
        let cfg = try VAETrainConfig.load(try tinyVAEConfig(steps: 2))
        let a = try TrainSession(root: root, name: "locked", kind: .vae, configTOML: try cfg.toml(), resume: false)
        XCTAssertThrowsError(try TrainSession(root: root, name: "locked", kind: .vae, configTOML: try cfg.toml(), resume: true)) { e in
            XCTAssertTrue("\(e)".contains("another trainer"), "\(e)")
        }
        XCTAssertEqual(try RunSupervisor.summaries(a.store).first { $0.name == "locked" }?.status, .running)
        a.folder.unlock()   // as if the trainer died: the kernel drops its flock
        XCTAssertEqual(try RunSupervisor.summaries(a.store).first { $0.name == "locked" }?.status, .crashed)
    }

    /// How the ranks that take no commands see a stop: queued after their baseline, taken by rank 0 or not;
    /// not one queued before it, another command, or another run's.
    func testAStopQueuedAfterABaselineIsSeenWhetherTakenOrNot() throws {
        let store = try RunStore(root: root)
        try store.register(name: "a", kind: .teacher)
        try store.register(name: "b", kind: .teacher)
        XCTAssertEqual(try store.lastControlID("a"), 0)
        try store.control("a", command: .stop)
        let baseline = try store.lastControlID("a")
        XCTAssertGreaterThan(baseline, 0)
        XCTAssertFalse(try store.stopQueued("a", after: baseline), "a stop before the baseline")
        try store.control("a", command: .pause)
        try store.control("b", command: .stop)
        XCTAssertFalse(try store.stopQueued("a", after: baseline), "another command, another run's stop")
        try store.control("a", command: .stop)
        XCTAssertTrue(try store.stopQueued("a", after: baseline))
        XCTAssertTrue(try store.takeStop("a"))
        XCTAssertTrue(try store.takeStop("a"))
        XCTAssertFalse(try store.takeStop("a"))
        XCTAssertTrue(try store.stopQueued("a", after: baseline), "still seen once rank 0 has taken it")
    }

    func testDeleteRemovesTheWholeRunButNotALiveOneOrOneOthersUse() throws {
        let cfg = try VAETrainConfig.load(try tinyVAEConfig(steps: 2))
        let teacher = try TrainSession(root: root, name: "teacher", kind: .vae, configTOML: try cfg.toml(), resume: false)
        let store = teacher.store
        try store.log("teacher", step: 1, ["loss": 1])
        try store.event("teacher", step: 1, kind: EventKind(rawValue: "note"), "x")
        try store.control("teacher", command: .pause)
        // A live trainer holds the run: refused, nothing removed.
        XCTAssertThrowsError(try RunSupervisor.delete(store, name: "teacher")) { XCTAssertTrue("\($0)".contains("another trainer"), "\($0)") }
        XCTAssertNotNil(try store.run("teacher"))
        teacher.folder.unlock()
        // A student whose config names a path inside the teacher's folder: refused, naming it.
        let student = try RunFolder(root: root, name: "student")
        try student.create()
        try "kind = 'distill'\nteacher = '\(root!)/./teacher/export'\n".write(toFile: student.configPath, atomically: true, encoding: .utf8)
        try store.register(name: "student", kind: .distill)
        try "started by the studio".write(toFile: root + "/student.stdout.log", atomically: true, encoding: .utf8)
        XCTAssertEqual(RunSupervisor.dependents(root: root, of: "teacher"), ["student"])
        XCTAssertEqual(RunSupervisor.dependents(root: root, of: "student"), [])
        XCTAssertThrowsError(try RunSupervisor.delete(store, name: "teacher")) { XCTAssertTrue("\($0)".contains("student"), "\($0)") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/teacher/config.toml"))
        // Deleted together (or with force), both go: records, metrics, events, control, folders.
        for name in ["teacher", "student"] { try RunSupervisor.delete(store, name: name, alongWith: ["teacher", "student"]) }
        XCTAssertEqual(try store.runs().map(\.name), [])
        XCTAssertEqual(try store.metrics("teacher"), [])
        XCTAssertEqual(try store.events("teacher"), [])
        XCTAssertEqual(try store.takeControl("teacher"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).filter { !$0.hasSuffix(".toml") && !$0.hasPrefix("runs.sqlite") }, [])
        XCTAssertThrowsError(try RunSupervisor.delete(store, name: "teacher")) { XCTAssertTrue("\($0)".contains("no such run"), "\($0)") }
        // The name is free again: a new run starts from nothing.
        let again = try TrainSession(root: root, name: "teacher", kind: .vae, configTOML: try cfg.toml(), resume: false)
        XCTAssertEqual(try store.metrics("teacher"), [])
        again.folder.unlock()
    }

    func testNonFiniteValuesFailTheRunNamingTheTensor() throws {
        let cfg = try VAETrainConfig.load(try tinyVAEConfig(steps: 2))
        let s = try TrainSession(root: root, name: "nan", kind: .vae, configTOML: try cfg.toml(), resume: false)
        XCTAssertThrowsError(try s.checkFinite([("loss", [1]), ("gradient of encoder.conv_in.weight", [0, .nan])], step: 7)) { e in
            XCTAssertTrue("\(e)".contains("encoder.conv_in.weight") && "\(e)".contains("step 7"), "\(e)")
        }
        XCTAssertEqual(try s.store.run("nan")?.status, .failed)
        XCTAssertTrue(try s.store.events("nan").contains { $0.kind == .failed && $0.detail.contains("conv_in") })
    }

    func testTruncatedNewestCheckpointFallsBackToAnOlderOne() throws {
        _ = try train(try tinyVAEConfig(steps: 3), name: "trunc", resume: false)
        let folder = try RunFolder(root: root, name: "trunc")
        let newest = folder.checkpointPath(step: 3)
        let data = try Data(contentsOf: URL(fileURLWithPath: newest))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: newest))
        let c = try folder.latestCheckpoint()
        XCTAssertEqual(c?.step, 2, "the truncated step-3 file is skipped")
    }

    func testKill9AtRandomMomentsLeavesALoadableCheckpoint() throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("gpd").path
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "needs the gpd binary beside the test bundle (swift build --build-tests)")
        let total = 120
        let config = try tinyVAEConfig(steps: total)
        var rng = RNG(seed: 11)
        let store = try RunStore(root: root)
        for attempt in 0..<3 {
            let p = try Child.spawn([binary, "train", "vae", "--config", config, "--run", "killed", "--runs", root]
                                    + (attempt > 0 ? ["--resume"] : []))
            // Kill at a random moment once the run has made progress past the last kill (by the steps
            // it has recorded, not by wall time: a fast machine must not finish first).
            let target = 10 + 30 * attempt, deadline = Date().addingTimeInterval(60)
            while Date() < deadline, (try store.run("killed")?.step ?? 0) < target { Thread.sleep(forTimeInterval: 0.02) }
            Thread.sleep(forTimeInterval: Double(rng.uniform(1)[0]) * 0.1)
            p.signal(SIGKILL)
            XCTAssertEqual(p.wait(seconds: 30), 128 + SIGKILL)
            let folder = try RunFolder(root: root, name: "killed")
            if let c = try folder.latestCheckpoint() {
                XCTAssertNotNil(c.file.tensors["param.encoder.conv_in.weight"], "checkpoint at step \(c.step) reads back whole")
            }
        }
        let summary = try RunSupervisor.summaries(try RunStore(root: root)).first { $0.name == "killed" }
        XCTAssertEqual(summary?.status, .crashed, "a killed trainer shows as crashed")
        // Resume to the end: metric rows form exactly one row per step, none lost or duplicated.
        _ = try train(config, name: "killed", resume: true)
        let steps = try RunStore(root: root).metrics("killed", key: "loss").map(\.step)
        XCTAssertEqual(steps, Array(1...total))
    }

    func testSIGTERMStopsGracefullyWithACheckpoint() throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("gpd").path
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "needs the gpd binary beside the test bundle (swift build --build-tests)")
        let p = try Child.spawn([binary, "train", "vae", "--config", try tinyVAEConfig(steps: 200, checkpointEvery: 1000),
                                 "--run", "termed", "--runs", root])
        let store = try RunStore(root: root)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try store.run("termed")?.step ?? 0) < 2 { Thread.sleep(forTimeInterval: 0.2) }
        p.signal(SIGTERM)
        XCTAssertEqual(p.wait(seconds: 120), 0, "SIGTERM ends the trainer cleanly")
        let run = try store.run("termed")
        XCTAssertEqual(run?.status, .stopped)
        let c = try RunFolder(root: root, name: "termed").latestCheckpoint()
        XCTAssertEqual(c?.step, run?.step, "a final checkpoint at the step it stopped")
    }

    func testResolvedConfigsWriteShortFloatsAndReadBackEqual() throws {
        var c = DistillConfig()
        c.data.twoObjectRate = 0.4
        (c.train.lr, c.train.lrFloor) = (3e-4, 1e-5)
        c.train.betas = [0.9, 0.999]
        let text = try c.toml()
        XCTAssertTrue(text.contains("two_object_rate = 0.4\n"), text)
        XCTAssertFalse(text.contains("0000000"), "a float written with 17 digits:\n\(text)")
        let path = root + "/resolved.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try DistillConfig.load(path), c)
        XCTAssertEqual(ConfigFile.shortestFloats("a = 'x 0.40000000000000002' # 1.5\nb = [0.90000000000000002, 1e-05, -2.5, 3]"),
                       "a = 'x 0.40000000000000002' # 1.5\nb = [0.9, 1e-05, -2.5, 3]")
    }

    func testEveryShippedConfigLoads() throws {
        let dir = try XCTUnwrap(ModelRef.demoRoot()) + "/../configs"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".toml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5)
        for f in files {
            let path = dir + "/" + f
            let kind = try ConfigFile.read(path)["kind"] as? String
            XCTAssertNoThrow(try {
                switch kind {
                case "vae": _ = try VAETrainConfig.load(path)
                case "teacher": _ = try TeacherTrainConfig.load(path)
                case "distill": _ = try DistillConfig.load(path)
                default: XCTFail("\(f): unknown kind \(kind ?? "none")")
                }
            }(), f)
        }
    }

    func testConfigErrorsNameTheKey() throws {
        func load(_ body: String) -> String {
            let path = root + "/bad-\(UUID().uuidString.prefix(6)).toml"
            try? body.write(toFile: path, atomically: true, encoding: .utf8)
            do { _ = try VAETrainConfig.load(path); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(load("kind = \"vae\"\n[model]\n[train]\nstep = 5\n").contains("'train.step': unknown key"))
        XCTAssertTrue(load("[model]\n[train]\nlr = \"fast\"\n").contains("'train.lr'"))
        XCTAssertTrue(load("[model]\n[train]\nbatch = 0\n").contains("'train.batch'"))
        XCTAssertTrue(load("[model]\n[data]\nframes = 16\n").contains("'data.frames'"))
        XCTAssertTrue(load("[modle]\nz_dim = 4\n").contains("'modle'"))
        XCTAssertTrue(load("kind = \"teacher\"\n").contains("'kind'"))
        XCTAssertTrue(load("[train\n").contains("not valid TOML"))
        XCTAssertTrue(load("[train]\nsteps = 10\n").contains("missing section [model]"), "a config names its model")
        XCTAssertTrue(load("[model]\n[train]\nsteps = 9223372036854775807\n").contains("'train.steps'"))
        XCTAssertEqual(load("[model]\n[train]\nsteps = 10\n"), "", "a valid partial config keeps the defaults")
    }
}

/// Stops a run at a step boundary, as a control command would.
final class StopAt: TrainReporter {
    let session: TrainSession, at: Int
    init(_ s: TrainSession, _ a: Int) { session = s; at = a }
    func progress(step: Int, total: Int, loss: Float, rate: Double) { if step == at { session.stop.set() } }
    func message(_ text: String) {}
}
