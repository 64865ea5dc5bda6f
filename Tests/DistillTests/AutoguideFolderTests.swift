// Autoguidance as a model folder's own sampling (`sampling.autoguide` in model.json): the model
// guided away from itself without some blocks, or from another folder named relative to it; the
// folder's sampling equals the pipeline given the same Autoguide by hand; exports keep the weaker
// model's folder; bad settings and a weaker model of another VAE are refused by name; distillation's
// guided teacher with `distill.autoguide_weight` is the same step velocity with the folder's weaker
// model at the config's weight.
import Data
import Diffusion
@testable import Distill
import Foundation
import ModelFolders
import Runs
import Models
import Tensors
import XCTest

final class AutoguideFolderTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "gpd-autoguide-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    /// Sets (or removes, with nil) model.json's sampling.autoguide as a person would edit it.
    func setAutoguide(_ folder: String, _ value: [String: Any]?) throws {
        let url = URL(fileURLWithPath: folder + "/model.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var sampling = json["sampling"] as! [String: Any]
        sampling["autoguide"] = value
        json["sampling"] = sampling
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    /// Two tiny teachers of one VAE: `strong` (two blocks) naming `weak` (one block) as its weaker
    /// model at `weight`.
    func strongAndWeak(_ strong: String, _ weak: String, weight: Double) throws {
        try TinyModels.teacher(at: strong, layers: 2)
        try TinyModels.teacher(at: weak, layers: 1, seed: 5)
        try setAutoguide(strong, ["model": "../weak", "weight": weight])
    }

    /// A two-stage distillation of `teacher` small enough for a debug build, with autoguidance at `weight`.
    func tinyDistill(teacher: String, autoguideWeight: Double) -> DistillConfig {
        var c = DistillConfig()
        c.teacher = teacher
        (c.data.frames, c.data.size) = (5, 16)
        (c.distill.teacherSteps, c.distill.stages, c.distill.stepsPerStage, c.distill.prompts, c.distill.evalPrompts) = (8, [2, 4], 1, 1, 1)
        (c.train.logEvery, c.train.checkpointEvery, c.train.warmup) = (1, 1, 1)
        c.distill.autoguideWeight = autoguideWeight
        return c
    }

    func testAFolderGuidesAwayFromItselfWithoutTheBlocksItNames() throws {
        let dir = root + "/teacher"
        try TinyModels.teacher(at: dir, layers: 2)
        try setAutoguide(dir, ["skip_blocks": [1], "weight": 1.5])
        let m = try VideoModel.load(folder: dir)
        XCTAssertEqual(m.config.sampling.autoguide, try AutoguideSettings(skipBlocks: [1], weight: 1.5))
        let prompt = "a red circle moving left on a blue background"
        let (r, _) = try m.sample(prompts: [prompt], seeds: [4])
        XCTAssertEqual(r.nfe, 4 * 3, "guided pair plus the weaker pass at each of 4 steps")

        // The same by hand: the pipeline with the model's own embeddings and the block left out (without
        // a graph, as sampling runs: attention then takes its graph-free path).
        let (ctx, negative) = try GradMode.withDisabled { (try m.embed([prompt]).0, try m.embed([""]).0) }
        var plain = m.config.sampling
        plain.autoguide = nil
        let byHand = try WanPipeline(transformer: m.transformer, vae: m.vae).sample(
            latents: m.noise(seed: 4), context: ctx, negative: negative, settings: plain,
            autoguide: Autoguide(transformer: m.transformer, context: ctx, weight: 1.5, skipBlocks: [1]))
        XCTAssertEqual(r.latents.data, byHand.latents.data)
        let without = try m.sample(prompts: [prompt], seeds: [4], settings: plain).0
        XCTAssertNotEqual(r.latents.data, without.latents.data, "the autoguidance term changes the clip")
        XCTAssertEqual(without.nfe, 8)

        // A block the model does not have is named.
        var beyond = m.config.sampling
        beyond.autoguide = try AutoguideSettings(skipBlocks: [2], weight: 1)
        XCTAssertThrowsError(try m.sample(prompts: [prompt], seeds: [0], settings: beyond)) { e in
            XCTAssertTrue("\(e)".contains("cannot skip block 2"), "\(e)")
        }
    }

    func testAWeakerFolderIsFoundRelativeToTheModelAndKeptOnExport() throws {
        let (strong, weak) = (root + "/models/strong", root + "/models/weak")
        try strongAndWeak(strong, weak, weight: 2)
        let m = try VideoModel.load(folder: strong)
        let w = try VideoModel.load(folder: weak)
        let prompt = "a green square moving up on a black background"
        let (r, _) = try m.sample(prompts: [prompt], seeds: [1])
        var plain = m.config.sampling
        plain.autoguide = nil
        let byHand = try GradMode.withDisabled {
            try WanPipeline(transformer: m.transformer, vae: m.vae).sample(
                latents: m.noise(seed: 1), context: try m.embed([prompt]).0, negative: try m.embed([""]).0, settings: plain,
                autoguide: Autoguide(transformer: w.transformer, context: try w.embed([prompt]).0, weight: 2))
        }
        XCTAssertEqual(r.latents.data, byHand.latents.data, "the weaker model reads the prompt with its own text encoder")

        // Exported elsewhere, the folder still names the same weaker model.
        let copy = root + "/elsewhere/deeper/strong"
        try m.export(to: copy)
        let exported = try VideoModel.load(folder: copy)
        XCTAssertEqual(exported.config.sampling.autoguide?.model, "../../../models/weak")
        XCTAssertEqual(try exported.sample(prompts: [prompt], seeds: [1]).0.latents.data, r.latents.data)

        // A weaker model with another VAE makes other latents: refused, naming the field.
        let stranger = root + "/models/stranger"
        try TinyModels.teacher(at: stranger, layers: 1, seed: 6, vaeSeed: 6)
        try setAutoguide(strong, ["model": "../stranger", "weight": 1])
        XCTAssertThrowsError(try VideoModel.load(folder: strong).sample(prompts: [prompt], seeds: [1])) { e in
            XCTAssertTrue("\(e)".contains("sampling.autoguide.model") && "\(e)".contains("same VAE"), "\(e)")
        }
        try setAutoguide(strong, ["model": "../missing", "weight": 1])
        XCTAssertThrowsError(try VideoModel.load(folder: strong).sample(prompts: [prompt], seeds: [1])) { e in
            XCTAssertTrue("\(e)".contains("missing") && "\(e)".contains("not a model folder"), "\(e)")
        }
    }

    /// A weaker model named on the command line (`--autoguide MODEL,A`) is a path from the working
    /// directory, not from the model's folder as model.json's is: `ModelRef.resolveAbsolute` makes it so.
    func testAWeakerModelNamedFromTheWorkingDirectoryIsFoundWhereverTheModelIs() throws {
        let (strong, weak) = (root + "/models/strong", root + "/models/weak")
        try strongAndWeak(strong, weak, weight: 1)
        let here = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(root))
        defer { FileManager.default.changeCurrentDirectoryPath(here) }
        let m = try VideoModel.load(folder: "models/strong")
        let named = try ModelRef.resolveAbsolute("models/weak", runsRoot: root + "/runs")
        XCTAssertTrue(named.hasPrefix("/"), named)
        let w = try m.weaker(try AutoguideSettings(model: named, weight: 1))
        XCTAssertEqual(w.transformer.namedParameters().map(\.1.data), try VideoModel.load(folder: weak).transformer.namedParameters().map(\.1.data))
        // The same name as given would be read from the model's folder (models/strong/models/weak).
        XCTAssertThrowsError(try m.weaker(try AutoguideSettings(model: try ModelRef.resolve("models/weak", runsRoot: root + "/runs"), weight: 1))) { e in
            XCTAssertTrue("\(e)".contains("strong/models/weak") && "\(e)".contains("not a model folder"), "\(e)")
        }
    }

    func testDistillationsGuidedTeacherGuidesAwayFromTheFoldersWeakerModel() throws {
        let (strong, weak) = (root + "/strong", root + "/weak")
        try strongAndWeak(strong, weak, weight: 7)
        var c = tinyDistill(teacher: strong, autoguideWeight: 0.5)
        let session = try TrainSession(root: root + "/runs", name: "ag", kind: .distill, configTOML: try c.toml(), resume: false)
        let trainer = try DistillTrainer(config: c, session: session, runsRoot: root + "/runs")
        let texts = ["a red circle moving left on a blue background", "a white square staying still on a green background"]
        let (m, w) = (try VideoModel.load(folder: strong), try VideoModel.load(folder: weak))
        let (ctx, uncond, weakCtx) = try GradMode.withDisabled {
            (DistillTrainer.repeatRows(try m.embed(texts).0, 2), DistillTrainer.repeatRows(try m.embed(["", ""]).0, 2),
             DistillTrainer.repeatRows(try w.embed(texts).0, 2))
        }
        var rng = RNG(seed: 3)
        var shape = m.latentShape
        shape[0] = 4
        let x = rng.normal(shape: shape), sigmas: [Float] = [0.9, 0.7, 0.9, 0.7]
        let f = try trainer.teacherField(texts: texts, times: 2, context: ctx, unconditional: uncond, guidance: 3)
        let byHand = try GradMode.withDisabled {
            try stepVelocity(m.transformer, x, timesteps: sigmas.map { $0 * 1000 }, context: ctx, unconditional: uncond, scale: 3,
                             autoguide: Autoguide(transformer: w.transformer, context: weakCtx, weight: 0.5)).velocity
        }
        XCTAssertEqual(try f(x, sigmas).data, byHand.data, "weight 0.5 from the config, not the folder's 7; the weaker model's own embeddings")
        let plain = try GradMode.withDisabled {
            try stepVelocity(m.transformer, x, timesteps: sigmas.map { $0 * 1000 }, context: ctx, unconditional: uncond, scale: 3, autoguide: nil).velocity
        }
        XCTAssertNotEqual(byHand.data, plain.data)

        // A teacher whose folder names no weaker model is refused, and so is a weight out of range.
        try setAutoguide(strong, nil)
        XCTAssertThrowsError(try DistillTrainer(config: c, session: session, runsRoot: root + "/runs")) { e in
            XCTAssertTrue("\(e)".contains("distill.autoguide_weight") && "\(e)".contains("names no weaker model"), "\(e)")
        }
        XCTAssertThrowsError(try Preflight.check(c, path: "d.toml", runsRoot: root + "/runs"), "refused before a run exists") { e in
            XCTAssertTrue("\(e)".contains("distill.autoguide_weight") && "\(e)".contains("names no weaker model"), "\(e)")
        }
        try setAutoguide(strong, ["model": "../gone", "weight": 1])
        XCTAssertThrowsError(try Preflight.check(c, path: "d.toml", runsRoot: root + "/runs")) { e in
            XCTAssertTrue("\(e)".contains("distill.autoguide_weight") && "\(e)".contains("gone"), "\(e)")
        }
        c.distill.autoguideWeight = -1
        XCTAssertThrowsError(try c.distill.validate(path: "d.toml", prefix: "distill")) { e in
            XCTAssertTrue("\(e)".contains("distill.autoguide_weight"), "\(e)")
        }
    }

    /// A run distilled with autoguidance records its weaker model and refuses to resume against other
    /// weights for it; a run without autoguidance records none.
    func testADistillationResumesOnlyWithTheWeakerModelItStartedWith() throws {
        let (strong, weak) = (root + "/strong", root + "/weak")
        try strongAndWeak(strong, weak, weight: 1)
        var c = tinyDistill(teacher: strong, autoguideWeight: 1)
        let runs = root + "/runs"
        var s = try TrainSession(root: runs, name: "ag", kind: .distill, configTOML: try c.toml(), resume: false)
        try DistillTrainer(config: c, session: s, runsRoot: runs).run(resume: false)
        s.folder.unlock()
        let recorded = try RunStore(root: runs).events("ag").filter { $0.kind == .teacher }.map(\.detail)
        XCTAssertEqual(recorded.count, 2, "the teacher and its weaker model: \(recorded)")
        XCTAssertTrue(recorded[1].hasPrefix(DistillTrainer.weakerEvent) && recorded[1].contains("/weak"), recorded[1])

        // The same weaker model resumes (nothing new recorded); changed weights are refused by name.
        s = try TrainSession(root: runs, name: "ag", kind: .distill, configTOML: try c.toml(), resume: true)
        try DistillTrainer(config: c, session: s, runsRoot: runs).checkTeacher(resume: true)
        s.folder.unlock()
        XCTAssertEqual(try RunStore(root: runs).events("ag").filter { $0.kind == .teacher }.count, 2)
        let changed = try VideoModel.load(folder: weak)
        changed.transformer.namedParameters()[0].1.data[0] += 1
        try changed.save(to: weak)
        s = try TrainSession(root: runs, name: "ag", kind: .distill, configTOML: try c.toml(), resume: true)
        XCTAssertThrowsError(try DistillTrainer(config: c, session: s, runsRoot: runs).checkTeacher(resume: true)) { e in
            XCTAssertTrue("\(e)".contains("weaker model of its autoguidance") && "\(e)".contains("not the one this run started with"), "\(e)")
        }
        s.folder.unlock()

        c.distill.autoguideWeight = 0
        let plain = try TrainSession(root: runs, name: "plain", kind: .distill, configTOML: try c.toml(), resume: false)
        try DistillTrainer(config: c, session: plain, runsRoot: runs).checkTeacher(resume: false)
        XCTAssertEqual(try RunStore(root: runs).events("plain").filter { $0.kind == .teacher }.count, 1)
    }

    func testUnusableSettingsAreRefusedWhenTheFolderIsRead() throws {
        let dir = root + "/teacher"
        try TinyModels.teacher(at: dir, layers: 2)
        let bad: [([String: Any], String)] = [
            (["skip_blocks": [1], "weight": -1], "weight must be a number from 0 to 100"),
            (["skip_blocks": [1], "weight": 101], "weight must be a number from 0 to 100"),
            (["weight": 1], "needs skip_blocks"),
            (["skip_blocks": [-1], "weight": 1], "block indices start at 0"),
            (["skip_blocks": [1, 1], "weight": 1], "lists a block twice"),
            (["model": "", "weight": 1], "model is empty"),
            (["skip_blocks": [1]], "weight"),
            (["skip_blocks": [1], "weight": 1, "interval": [0.2, 1.5]], "interval must be two noise levels"),
            (["skip_blocks": [1], "weight": 1, "interval": [-0.1, 1]], "interval must be two noise levels"),
            (["skip_blocks": [1], "weight": 1, "interval": [0.8, 0.2]], "interval"),
        ]
        for (value, message) in bad {
            try setAutoguide(dir, value)
            XCTAssertThrowsError(try VideoModel.load(folder: dir), "\(value)") { e in
                XCTAssertTrue("\(e)".contains("model.json") && "\(e)".contains(message), "\(value): \(e)")
            }
        }
        try setAutoguide(dir, ["skip_blocks": [1], "weight": 1, "interval": [0.3, 1]])
        XCTAssertEqual(try VideoModel.load(folder: dir).config.sampling.autoguide?.interval, 0.3...1)
        try setAutoguide(dir, nil)
        XCTAssertNil(try VideoModel.load(folder: dir).config.sampling.autoguide)
    }
}
