// Distillation runs on a tiny random teacher: a stage list replaced live through the control channel
// (applied at a step boundary, recorded as an event and in config.toml), a bad stage list refused,
// a run stopped inside a stage and resumed equal to an uninterrupted one, and a student exported in
// F16 sharing its teacher's text encoder and VAE loads back equal.
import _TestSupport
import Data
import Diffusion
@testable import Distill
@testable import ModelFolders
import Foundation
import Models
import Runs
import Tensors
import XCTest

final class DistillTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "gpd-distill-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try TinyModels.teacher(at: root + "/teacher")
        try "tiny teacher prompt\n".write(toFile: root + "/unused.txt", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func config(stages: [Int], steps: Int) -> DistillConfig {
        var c = DistillConfig()
        c.teacher = root + "/teacher"
        (c.data.frames, c.data.size) = (5, 16)
        (c.distill.teacherSteps, c.distill.stages, c.distill.stepsPerStage, c.distill.prompts, c.distill.evalPrompts) = (8, stages, steps, 2, 1)
        (c.train.logEvery, c.train.checkpointEvery, c.train.warmup, c.train.lr) = (1, 1, 1, 1e-3)
        return c
    }

    func session(_ name: String, _ c: DistillConfig, resume: Bool) throws -> TrainSession {
        try TrainSession(root: root, name: name, kind: .distill, configTOML: try c.toml(), resume: resume)
    }

    /// A model records its tokenizer's words; a build whose words give other ids refuses it.
    func testAModelWithAnotherVocabularyIsRefused() throws {
        let desc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/teacher/model.json"))) as! [String: Any]
        XCTAssertEqual(desc["vocabulary"] as? [String], Tokenizer().words, "exports record the words")
        var changed = desc
        var words = Tokenizer().words
        words.swapAt(3, 4)
        changed["vocabulary"] = words
        try JSONSerialization.data(withJSONObject: changed).write(to: URL(fileURLWithPath: root + "/teacher/model.json"))
        XCTAssertThrowsError(try VideoModel.load(folder: root + "/teacher")) { e in
            XCTAssertTrue("\(e)".contains("vocabulary: the model's token 6 is '\(words[3])'"), "\(e)")
        }
        changed["vocabulary"] = nil   // a model from before the words were recorded: checked by size
        try JSONSerialization.data(withJSONObject: changed).write(to: URL(fileURLWithPath: root + "/teacher/model.json"))
        XCTAssertNoThrow(try VideoModel.load(folder: root + "/teacher"))
    }

    func testSharedF16ExportLoadsTheSameModel() throws {
        let teacher = try VideoModel.load(folder: root + "/teacher")
        var rng = RNG(seed: 9)
        let student = VideoModel(config: teacher.config, textEncoder: teacher.textEncoder,
                                 transformer: try WanTransformer(teacher.transformer.config, rng: &rng), vae: teacher.vae)
        let out = root + "/pack/gpd6"
        let omitted = try student.export(to: out, storage: .f16, shareWith: root + "/teacher")
        let tp = teacher.parameters()
        XCTAssertEqual(omitted, student.parameters().filter { tp[$0.key]?.data == $0.value.data }.keys.sorted())
        XCTAssertTrue(tp.keys.filter { $0.hasPrefix("text_encoder.") }.allSatisfy(omitted.contains), "the text encoder is shared")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/vae"), "an identical VAE is referred to, not copied")
        let desc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/model.json"))) as! [String: Any]
        XCTAssertEqual(desc["base"] as? String, "../../teacher")
        XCTAssertEqual(desc["vae_folder"] as? String, "../../teacher/vae")
        // The folders move together: relative references still resolve.
        try FileManager.default.moveItem(atPath: root + "/pack", toPath: root + "/moved")
        let back = try VideoModel.load(folder: root + "/moved/gpd6")
        let want = student.parameters(), got = back.parameters()
        XCTAssertEqual(Set(got.keys), Set(want.keys))
        for (k, v) in want {
            let expected = k.hasPrefix("text_encoder.") ? v.data : v.data.map { Float(Float16($0)) }
            XCTAssertEqual(got[k]?.data, expected, k)
        }
        XCTAssertNil(back.config.base, "a loaded model describes itself, not its file layout")
        // Relative folders (as typed on the command line) resolve against the working directory.
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertEqual(VideoModel.join("teacher", "../vae"), VideoModel.normalize(cwd + "/vae"))
        XCTAssertEqual(VideoModel.relativePath(from: "a/gpd6", to: "a/teacher"), "../teacher")
        XCTAssertEqual(VideoModel.relativePath(from: "./a/./gpd6", to: "a/x/../vae"), "../vae")
        // A run's history shows folders inside the working directory relative to it, others as given.
        XCTAssertEqual(VideoModel.displayPath(cwd + "/samples/demo/./teacher"), "samples/demo/teacher")
        XCTAssertEqual(VideoModel.displayPath("samples/demo/teacher"), "samples/demo/teacher")
        XCTAssertEqual(VideoModel.displayPath(cwd + "x/teacher"), cwd + "x/teacher", "a sibling whose name starts like the directory is outside it")
        XCTAssertEqual(VideoModel.displayPath("/elsewhere/teacher"), "/elsewhere/teacher")
        // A VAE folder that holds another VAE is refused; a missing base names the field.
        var vc = teacher.vae.config
        vc.latentsStd = [2, 2]
        var r2 = RNG(seed: 3)
        try WanVAEExport.write(try WanVAE(vc, rng: &r2), config: vc, to: root + "/othervae")
        XCTAssertThrowsError(try student.export(to: root + "/x", vaeFolder: root + "/othervae")) { e in
            XCTAssertTrue("\(e)".contains("does not hold this model's VAE"), "\(e)")
        }
        // A base whose shared tensors changed since the export is refused, not silently used.
        let changed = try VideoModel.load(folder: root + "/teacher")
        changed.textEncoder.namedParameters().first { $0.0 == "token_embedding" }!.1.data[0] += 1
        try changed.save(to: root + "/teacher")
        XCTAssertThrowsError(try VideoModel.load(folder: root + "/moved/gpd6")) { e in
            XCTAssertTrue("\(e)".contains("changed since"), "\(e)")
        }
        try FileManager.default.moveItem(atPath: root + "/teacher", toPath: root + "/gone")
        XCTAssertThrowsError(try VideoModel.load(folder: root + "/moved/gpd6")) { e in
            XCTAssertTrue("\(e)".contains("base: '../../teacher' is not a model folder"), "\(e)")
        }
    }

    /// A student distilled from a teacher's F32 run shares the teacher's F16 folder's text encoder
    /// when it is stored in F16 too (what it would store equals what the teacher stores), and not
    /// when it is stored in F32 (sharing would lose its values' low bits).
    func testF16ExportSharesAnF16TeachersTextEncoder() throws {
        let teacher = try VideoModel.load(folder: root + "/teacher")
        try teacher.export(to: root + "/teacher16", storage: .f16)
        var rng = RNG(seed: 9)
        let student = VideoModel(config: teacher.config, textEncoder: teacher.textEncoder,
                                 transformer: try WanTransformer(teacher.transformer.config, rng: &rng), vae: teacher.vae)
        let tp = teacher.parameters()
        let text = tp.keys.filter { $0.hasPrefix("text_encoder.") }.sorted()
        let rounded = text.filter { n in tp[n]!.data.contains { Float(Float16($0)) != $0 } }
        XCTAssertFalse(rounded.isEmpty, "the fixture's text encoder has values F16 rounds")
        let omitted = try student.export(to: root + "/s16", storage: .f16, shareWith: root + "/teacher16")
        XCTAssertTrue(text.allSatisfy(omitted.contains), "the F16 student refers to the F16 teacher's text encoder: \(omitted)")
        let back = try VideoModel.load(folder: root + "/s16").parameters()
        for (k, v) in student.parameters() { XCTAssertEqual(back[k]?.data, v.data.map { Float(Float16($0)) }, k) }
        // Stored in F32, only tensors the F16 teacher holds exactly (the fresh norms' ones and zeros) are shared.
        let shared32 = try student.export(to: root + "/s32", storage: .f32, shareWith: root + "/teacher16")
        XCTAssertTrue(rounded.allSatisfy { !shared32.contains($0) }, "an F32 student keeps its own text encoder: \(shared32)")
        let back32 = try VideoModel.load(folder: root + "/s32").parameters()
        for (k, v) in student.parameters() { XCTAssertEqual(back32[k]?.data, v.data, k) }
    }

    func testLiveStageControl() throws {
        let c = config(stages: [2, 4, 8], steps: 2)
        let s = try session("live", c, resume: false)
        try s.store.control("live", command: .stages, payload: "8")              // drop the 4-step stage
        try s.store.control("live", command: .stepsPerStage, payload: "1")
        try s.store.control("live", command: .stages, payload: "3")              // 3 does not divide 8: refused
        let trainer = try DistillTrainer(config: c, session: s, runsRoot: root)
        try trainer.run(resume: false)
        XCTAssertEqual(trainer.stages, [2, 8])
        let events = try s.store.events("live")
        XCTAssertTrue(events.contains { $0.kind == .control && $0.detail.contains("remaining stages after horizon 2: 8") }, "\(events.map(\.detail))")
        XCTAssertTrue(events.contains { $0.kind == .controlRefused && $0.detail.contains("does not divide") })
        XCTAssertEqual(events.filter { $0.kind == .stageEval }.count, 2)
        let toml = try String(contentsOfFile: root + "/live/config.toml", encoding: .utf8)
        XCTAssertTrue(toml.contains("stages = [ 2, 8 ]") || toml.contains("stages = [2, 8]"), toml)
        XCTAssertEqual(try s.store.metrics("live", key: "loss").count, 2, "steps per stage = 1 from the first step on: one step in each of the two stages")
        // What `gpd runs show` and the studio read the pace from: the rewritten config, the stage events
        // and the step times the trainer logged — at the last step, the second stage of two, ended.
        let times = try s.store.metrics("live", key: "sec_per_step")
        let pace = try XCTUnwrap(RunPace.of(kind: .distill, config: toml, step: 2, stageStarts: events.filter { $0.kind == .stage }.map(\.step),
                                            secPerStep: times.map { ($0.step, $0.value) }))
        XCTAssertEqual(pace, RunPace(secondsPerStep: try XCTUnwrap(times.last).value, stepsLeft: 0, stage: 2, stages: 2))
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/live/export/model.json"))
        let student = try VideoModel.load(folder: root + "/live/export")
        XCTAssertEqual(student.config.sampling.sigmas, TeacherGrid(steps: 8, shift: 3).student(8), "the student samples on its own grid")
        XCTAssertEqual(student.config.sampling.guidance, 1)
    }

    func testStopInsideAStageAndResumeMatches() throws {
        let c = config(stages: [2, 4], steps: 3)
        let full = try DistillTrainer(config: c, session: try session("full", c, resume: false), runsRoot: root)
        try full.run(resume: false)

        let s = try session("split", c, resume: false)
        final class StopAt: TrainReporter {
            let session: TrainSession; var seen = 0
            init(_ s: TrainSession) { session = s }
            func progress(step: Int, total: Int, loss: Float, rate: Double) { seen += 1; if seen == 4 { session.stop.set() } }
            func message(_ text: String) {}
        }
        let stopper = StopAt(s)
        s.reporter = stopper
        try DistillTrainer(config: c, session: s, runsRoot: root).run(resume: false)
        XCTAssertEqual(try s.store.run("split")?.status, .stopped)
        s.folder.unlock()
        // Resuming against other teacher weights is refused, naming the teacher; nothing is lost.
        let other = try VideoModel.load(folder: root + "/teacher")
        other.transformer.namedParameters()[0].1.data[0] += 1
        try other.save(to: root + "/teacher2")
        var changed = c
        changed.teacher = root + "/teacher2"
        let refused = try session("split", changed, resume: true)
        XCTAssertThrowsError(try DistillTrainer(config: changed, session: refused, runsRoot: root).run(resume: true)) { e in
            XCTAssertTrue("\(e)".contains("is not the teacher this run started with"), "\(e)")
        }
        refused.folder.unlock()
        let resumed = try DistillTrainer(config: c, session: try session("split", c, resume: true), runsRoot: root)
        try resumed.run(resume: true)
        XCTAssertEqual(try RunStore(root: root).events("split").filter { $0.kind == .teacher }.count, 1, "the teacher is recorded once")
        let a = try RunStore(root: root).metrics("full", key: "loss").map(\.value), b = try RunStore(root: root).metrics("split", key: "loss").map(\.value)
        XCTAssertEqual(a.count, 6)
        assertClose(b.map(Float.init), a.map(Float.init), atol: 1e-6, rtol: 1e-5, "loss curve of the resumed run")
        for ((n, p), (_, q)) in zip(full.student.namedParameters(), resumed.student.namedParameters()) {
            assertClose(q.data, p.data, atol: 1e-6, rtol: 1e-5, n)
        }
    }

    /// The prompts follow `[data]`: with only squares weighted every prompt names a square, and the
    /// default weights give the same prompts as weights that are equal but not 1.
    func testPromptsFollowTheDataSection() throws {
        var c = config(stages: [2, 4], steps: 1)
        c.distill.prompts = 8
        let plain = try DistillTrainer(config: c, session: try session("plain", c, resume: false), runsRoot: root)
        var equal = c
        equal.data.shapeWeights = [3, 3, 3]
        let same = try DistillTrainer(config: equal, session: try session("equal", equal, resume: false), runsRoot: root)
        var squares = c
        squares.data.shapeWeights = [0, 1, 0]
        let sq = try DistillTrainer(config: squares, session: try session("squares", squares, resume: false), runsRoot: root)
        func shapes(_ prompt: String) throws -> [ShapeKind] { try XCTUnwrap(PromptGrammar.parse(prompt).scene, prompt).objects.map(\.shape) }
        var seen = Set<ShapeKind>()
        for step in 0..<10 {
            XCTAssertEqual(plain.prompts(step: step), same.prompts(step: step))
            for p in sq.prompts(step: step) { XCTAssertTrue(try shapes(p).allSatisfy { $0 == .square }, p) }
            for p in plain.prompts(step: step) { seen.formUnion(try shapes(p)) }
        }
        XCTAssertEqual(seen, Set(ShapeKind.allCases))
    }

    func testBadInputsAreRefused() throws {
        var c = config(stages: [2, 4], steps: 1)
        c.teacher = root + "/missing"
        XCTAssertThrowsError(try DistillTrainer(config: c, session: try session("bad", c, resume: false), runsRoot: root)) { e in
            XCTAssertTrue("\(e)".contains("not a model"), "\(e)")
        }
        let path = root + "/bad.toml"
        try "kind = \"distill\"\n[distill]\nstages = [2, 5]\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DistillConfig.load(path)) { e in XCTAssertTrue("\(e)".contains("'distill.stages'") && "\(e)".contains("does not divide"), "\(e)") }
        try "kind = \"distill\"\n[distill]\nmethod = \"pd\"\nstages = [2, 3]\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DistillConfig.load(path)) { e in XCTAssertTrue("\(e)".contains("pd halves"), "\(e)") }
        try "kind = \"distill\"\n[distill]\nmethod = \"gdp\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DistillConfig.load(path)) { e in XCTAssertTrue("\(e)".contains("'distill.method'") && "\(e)".contains("one of \"gpd\", \"pd\", got \"gdp\""), "\(e)") }
        try "kind = \"distill\"\n[distill]\ntargets = \"offline\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DistillConfig.load(path)) { e in XCTAssertTrue("\(e)".contains("'distill.targets'") && "\(e)".contains("inputs = \"teacher\""), "\(e)") }
        try "kind = \"distill\"\n[distill]\ninference_arithmetic = \"fp16\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DistillConfig.load(path)) { e in XCTAssertTrue("\(e)".contains("'distill.inference_arithmetic'") && "\(e)".contains("one of \"f32\", \"bf16\", got \"fp16\""), "\(e)") }
        // Overrides (gpd distill --set): TOML values, bare words as strings, unknown keys refused by name.
        try "kind = \"distill\"\n[distill]\nstages = [2, 4]\n".write(toFile: path, atomically: true, encoding: .utf8)
        let o = try DistillConfig.load(path, overrides: ["distill.frequency_weight=0", "distill.inputs=teacher", "distill.targets = \"offline\"", "train.betas=[0.8, 0.9]"])
        XCTAssertEqual(o.distill.frequencyWeight, 0); XCTAssertEqual(o.distill.inputs, .teacher); XCTAssertEqual(o.distill.targets, .offline)
        XCTAssertEqual(o.train.betas, [0.8, 0.9]); XCTAssertEqual(o.distill.stages, [2, 4])
        XCTAssertEqual(try DistillConfig.load(path, overrides: ["data.shape_weights=[1, 2, 1]"]).data.world.shapeWeights, [1, 2, 1])
        XCTAssertThrowsError(try DistillConfig.load(path, overrides: ["data.shape_weights=[1, 2]"])) { e in
            XCTAssertTrue("\(e)".contains("'data.shape_weights'") && "\(e)".contains("one per shape (circle, square, triangle)"), "\(e)")
        }
        XCTAssertThrowsError(try DistillConfig.load(path, overrides: ["distill.frequency_wieght=0"])) { e in XCTAssertTrue("\(e)".contains("'distill.frequency_wieght': unknown key"), "\(e)") }
        XCTAssertThrowsError(try DistillConfig.load(path, overrides: ["distill.stages"])) { e in XCTAssertTrue("\(e)".contains("section.key=value"), "\(e)") }
        XCTAssertThrowsError(try DistillConfig.load(path, overrides: ["teacher.x=1"])) { e in XCTAssertTrue("\(e)".contains("'teacher'"), "\(e)") }
    }

    /// The student and the previous stage's student start as the teacher's transformer, every
    /// parameter equal: they are allocated without a draw (ParameterInit.forLoading), so a parameter
    /// the copy missed would hold undefined values.
    func testStudentAndPreviousStartAsTheTeacher() throws {
        let c = config(stages: [2], steps: 1)
        let t = try DistillTrainer(config: c, session: try session("start", c, resume: false), runsRoot: root)
        let teacher = try VideoModel.load(folder: root + "/teacher").transformer.namedParameters()
        for model in [t.student, t.previous] {
            let named = model.namedParameters()
            XCTAssertEqual(named.map(\.0), teacher.map(\.0))
            for ((n, p), (_, q)) in zip(teacher, named) { XCTAssertEqual(p.data, q.data, n) }
        }
    }

    /// A run can start from an earlier run's stage export: its horizon is read from its grid, the
    /// first stage's target starts with its jump, and stages that do not go past it are refused.
    func testStartFromAStageExport() throws {
        let c = config(stages: [2], steps: 1)
        try DistillTrainer(config: c, session: try session("first", c, resume: false), runsRoot: root).run(resume: false)
        var next = config(stages: [4], steps: 1)
        next.distill.initStudent = root + "/first/stages/k2"
        let t = try DistillTrainer(config: next, session: try session("second", next, resume: false), runsRoot: root)
        XCTAssertEqual(t.initialHorizon, 2)
        let first = try VideoModel.load(folder: root + "/first/stages/k2")
        for ((n, p), (_, q)) in zip(first.transformer.namedParameters(), t.student.namedParameters()) { XCTAssertEqual(p.data, q.data, n) }
        try t.run(resume: false)
        XCTAssertEqual(try RunStore(root: root).run("second")?.status, .finished)
        var bad = config(stages: [2], steps: 1)
        bad.distill.initStudent = root + "/first/stages/k2"
        XCTAssertThrowsError(try DistillTrainer(config: bad, session: try session("bad1", bad, resume: false), runsRoot: root)) { e in
            XCTAssertTrue("\(e)".contains("distill.stages") && "\(e)".contains("horizon 2"), "\(e)")
        }
        bad.distill.initStudent = root + "/teacher"
        XCTAssertThrowsError(try DistillTrainer(config: bad, session: try session("bad2", bad, resume: false), runsRoot: root)) { e in
            XCTAssertTrue("\(e)".contains("init_student"), "\(e)")
        }
    }

    /// Offline targets: states and targets both lie on the guided teacher's own fine-grid Euler
    /// trajectory, so the target velocity carries x_a exactly to the trajectory's state k intervals on.
    func testOfflineTargetsFollowTheTeacherTrajectory() throws {
        var c = config(stages: [2, 4], steps: 1)
        (c.distill.inputs, c.distill.targets) = (.teacher, .offline)
        let trainer = try DistillTrainer(config: c, session: try session("offline", c, resume: false), runsRoot: root)
        let (ctx, _) = try trainer.teacher.embed(["a red circle"])
        let (un, _) = try trainer.teacher.embed([""])
        let (xa, a, _, end) = try trainer.states(step: 0, k: 2, guidance: 3, context: ctx, unconditional: un, rows: 0..<1)
        let xEnd = try XCTUnwrap(end)
        XCTAssertEqual(a, [0, 2, 4, 6])
        // The same trajectory by hand: single guided Euler intervals from the first state.
        let f = trainer.field(trainer.teacher.transformer, context: ctx, unconditional: un, guidance: 3)
        var x = xa.slice(axis: 0, 0, 1)
        for i in 0..<8 {
            x = try Targets.jump(x, from: [i], span: 1, grid: trainer.grid, field: f)
            if i % 2 == 1 { assertClose(x, xEnd.slice(axis: 0, i / 2, i / 2 + 1), atol: 1e-5, rtol: 1e-4, "trajectory at grid point \(i + 1)") }
            if i % 2 == 1 && i < 7 { assertClose(x, xa.slice(axis: 0, i / 2 + 1, i / 2 + 2), atol: 1e-5, rtol: 1e-4, "state at grid point \(i + 1)") }
        }
        try trainer.run(resume: false)
        XCTAssertEqual(try RunStore(root: root).metrics("offline", key: "loss").count, 2)
    }

    /// inference_arithmetic = "bf16": the velocities of the rollouts and targets (here the guided
    /// teacher's and the student's) come from BF16 products (AMX tiles or AVX512-BF16) — close to F32's,
    /// not equal — and the arithmetic does not leak out of the fields into the training step. Without
    /// either they are F32 and equal.
    func testInferenceRunsInItsArithmetic() throws {
        var c = config(stages: [2, 4], steps: 1)
        c.distill.inferenceArithmetic = .bf16
        let path = root + "/bf16.toml"
        try c.toml().write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try DistillConfig.load(path).distill.inferenceArithmetic, .bf16, "the setting does not survive config.toml")
        let trainer = try DistillTrainer(config: c, session: try session("bf16", c, resume: false), runsRoot: root)
        let (ctx, _) = try trainer.teacher.embed(["a red circle"])
        let (un, _) = try trainer.teacher.embed([""])
        var rng = RNG(seed: 5)
        let x = rng.normal(shape: trainer.teacher.latentShape)
        for (model, guidance, name) in [(trainer.teacher.transformer, Float(3), "guided teacher"), (trainer.student, 1, "student")] {
            let exact = try GradMode.withDisabled {
                guidance > 1 ? try guidedVelocity(model, x, timesteps: [600], context: ctx, unconditional: un, scale: guidance)
                             : try model(x, timesteps: [600], context: ctx)
            }
            let v = try trainer.field(model, context: ctx, unconditional: un, guidance: guidance)(x, [0.6])
            let worst = zip(v.data, exact.data).map { abs($0 - $1) }.max()!, scale = exact.data.map(abs).max()!
            XCTAssertLessThan(worst, 0.02 * scale, "\(name): BF16 velocity far from F32's")
            XCTAssertEqual(v.data != exact.data, GEMM.bf16Available, "\(name): BF16 units \(GEMM.bf16Available ? "available but unused" : "absent, yet not F32")")
        }
        XCTAssertEqual(GEMM.arithmetic, .f32, "the arithmetic leaked out of the field")
        try trainer.run(resume: false)
        XCTAssertEqual(try RunStore(root: root).run("bf16")?.status, .finished)
    }
}
