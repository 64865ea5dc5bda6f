// Guided Progressive Distillation and classic progressive distillation (docs/design.md §2). A student of
// horizon k jumps k teacher intervals per step; stages grow k, each starting from the previous stage's
// weights. GPD's target: the frozen previous-stage student jumps p intervals, the guided teacher takes
// the remaining k − p (guidance annealed over stages); PD's: two jumps of the previous model. Training
// states come from prompts alone (student rollouts along its own grid; or teacher rollouts; or
// forward-noised data). The final stage(s) add the Butterworth high-pass frequency loss on x̂₀ vs x̃₀.
// The student is guidance-free: one network evaluation per step.
import Data
import ModelFolders
import Diffusion
import Eval
import Foundation
import Media
import Models
import NN
import Runs
import Tensors

public final class DistillTrainer {
    public let config: DistillConfig
    public let session: TrainSession
    public let teacher: VideoModel
    /// The folder `config.teacher` resolved to when this trainer started.
    let teacherFolder: String
    public let student: WanTransformer
    let previous: WanTransformer
    public let grid: TeacherGrid
    public private(set) var stages: [Int]
    public private(set) var stepsPerStage: Int
    /// Horizon of the model the first stage starts from (1: the teacher).
    public let initialHorizon: Int
    var optimizer: AdamW
    var references: [Tensor] = []        // teacher-48 clips of the eval prompts (seed 0)
    /// The guided teacher's weaker model (`distill.autoguide_weight` > 0): the model, its left-out blocks, the weight.
    let weaker: (model: VideoModel, skip: Set<Int>, weight: Float)?

    public init(config: DistillConfig, session: TrainSession, runsRoot: String) throws {
        self.config = config
        self.session = session
        teacherFolder = try ModelRef.resolve(config.teacher, runsRoot: runsRoot)
        teacher = try VideoModel.load(folder: teacherFolder)
        if config.distill.autoguideWeight > 0 {
            guard let a = teacher.config.sampling.autoguide else {
                throw TrainError("distill.autoguide_weight: the teacher \(config.teacher) (\(teacherFolder)/model.json) names no weaker model (sampling.autoguide)")
            }
            let weak = try teacher.weaker(a)
            if let i = a.skipBlocks.first(where: { !weak.transformer.blocks.indices.contains($0) }) {
                throw TrainError("distill.autoguide_weight: the teacher's sampling.autoguide skips block \(i); its weaker model has \(weak.transformer.blocks.count)")
            }
            weaker = (weak, Set(a.skipBlocks), Float(config.distill.autoguideWeight))
        } else {
            weaker = nil
        }
        // Both start as copies of the teacher (or of distill.init_student) below, every parameter
        // replaced, so they are allocated without drawing values that would be thrown away.
        var rng = RNG(seed: config.train.seed)
        let architecture = teacher.transformer.config
        (student, previous) = try ParameterInit.forLoading {
            (try WanTransformer(architecture, rng: &rng), try WanTransformer(architecture, rng: &rng))
        }
        let grid = TeacherGrid(steps: config.distill.teacherSteps, shift: config.distill.shift)
        self.grid = grid
        var start = teacher.transformer, horizon = 1
        if !config.distill.initStudent.isEmpty {
            let ref = config.distill.initStudent
            let m = try VideoModel.load(folder: try ModelRef.resolve(ref, runsRoot: runsRoot))
            guard m.transformer.config == teacher.transformer.config else {
                throw TrainError("distill.init_student: \(ref) is not the teacher's architecture")
            }
            guard let sig = m.config.sampling.sigmas, let k = (1...grid.steps).first(where: { grid.steps % $0 == 0 && grid.student($0) == sig }) else {
                throw TrainError("distill.init_student: \(ref) does not sample on a \(grid.steps)-step teacher grid with shift \(grid.shift) (not a student of this teacher?)")
            }
            start = m.transformer; horizon = k
        }
        initialHorizon = horizon
        Self.copy(start, to: student)
        Self.copy(start, to: previous)
        do { _ = try StagePlan(config.distill.stages, teacherSteps: grid.steps, after: horizon) } catch {
            throw TrainError("distill.stages: \(error) (the initial student has horizon \(horizon))")
        }
        if config.distill.method == .pd && config.distill.stages[0] != 2 * horizon {
            throw TrainError("distill.stages: pd's first stage doubles the initial horizon \(horizon): \(2 * horizon), not \(config.distill.stages[0])")
        }
        stages = config.distill.stages
        stepsPerStage = config.distill.stepsPerStage
        optimizer = Self.makeOptimizer(student, config.train)
        session.customControl = { [unowned self] c, payload, step in try self.control(c, payload, step: step) }
    }

    static func makeOptimizer(_ m: WanTransformer, _ t: TrainSection) -> AdamW {
        AdamW(m.parameters(), lr: Float(t.lr), betas: (Float(t.betas[0]), Float(t.betas[1])), weightDecay: Float(t.weightDecay))
    }

    static func copy(_ a: WanTransformer, to b: WanTransformer) {
        for ((_, p), (_, q)) in zip(a.namedParameters(), b.namedParameters()) { q.data = p.data }
    }

    // MARK: live schedule control

    var currentStage = 0

    /// "stages" "4,6,8" replaces the stages after the current one; "steps_per_stage" "300".
    func control(_ command: ControlCommand, _ payload: String, step: Int) throws -> String? {
        switch command {
        case .stages:
            let ks = try payload.split(separator: ",").map { s -> Int in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else { throw TrainError("'\(s)' is not a horizon") }
                return v
            }
            let plan = try StagePlan(ks, teacherSteps: grid.steps, after: stages[currentStage])
            stages = Array(stages[...currentStage]) + plan.horizons
            try recordConfig()
            return "remaining stages after horizon \(stages[currentStage]): \(plan.horizons.map(String.init).joined(separator: ", ")) (\(plan.horizons.map { String(grid.steps / $0) }.joined(separator: ", ")) steps)"
        case .stepsPerStage:
            guard let n = Int(payload), n >= 1 else { throw TrainError("steps per stage '\(payload)' must be a positive integer") }
            stepsPerStage = n
            try recordConfig()
            return "steps per stage: \(n)"
        default:
            return nil
        }
    }

    /// The resolved config with the live schedule, rewritten so config.toml shows what runs now.
    func recordConfig() throws {
        var c = config
        c.distill.stages = stages
        c.distill.stepsPerStage = stepsPerStage
        try session.write {
            try AtomicFile.write(Data(try c.toml().utf8), to: session.folder.configPath)
            session.folder.appendLog("schedule changed: stages \(stages), steps per stage \(stepsPerStage)")
        }
    }

    // MARK: velocity fields

    /// A model as a velocity field for fixed per-sample contexts, without gradients, its products in
    /// `distill.inference_arithmetic`; guidance > 1 adds the unconditional pass: v_u + w(v_c − v_u);
    /// `autoguide` (the teacher's, with its weaker model's contexts for the same rows) adds a(v_c − v_w).
    func field(_ model: WanTransformer, context: Tensor, unconditional: Tensor?, guidance: Float, autoguide: Autoguide? = nil) -> VelocityField {
        let arithmetic = config.distill.inferenceArithmetic
        return { x, sigmas in
            try GradMode.withDisabled { try GEMM.withArithmetic(arithmetic) {
                try stepVelocity(model, x, timesteps: sigmas.map { $0 * 1000 }, context: context, unconditional: unconditional,
                                 scale: guidance, autoguide: autoguide).velocity
            } }
        }
    }

    /// The guided teacher as a velocity field for rows of prompts `texts`, each repeated `times`
    /// (contexts [B·times, L, D]); with `distill.autoguide_weight` > 0 it also guides away from its
    /// weaker model, whose own text encoder reads the same prompts.
    func teacherField(texts: [String], times: Int, context: Tensor, unconditional: Tensor, guidance: Float) throws -> VelocityField {
        guard let weaker else { return field(teacher.transformer, context: context, unconditional: unconditional, guidance: guidance) }
        let weakContext = weaker.model === teacher ? context
            : Self.repeatRows(try GradMode.withDisabled { try weaker.model.embed(texts).0 }, times)
        return field(teacher.transformer, context: context, unconditional: unconditional, guidance: guidance,
                     autoguide: Autoguide(transformer: weaker.model.transformer, context: weakContext, weight: weaker.weight, skipBlocks: weaker.skip))
    }

    /// Rows of `t` [B, …] repeated `times` each (state-major within a prompt).
    static func repeatRows(_ t: Tensor, _ times: Int) -> Tensor {
        let per = t.count / t.shape[0]
        var out = [Float](); out.reserveCapacity(t.count * times)
        for b in 0..<t.shape[0] { for _ in 0..<times { out += t.data[(b * per)..<((b + 1) * per)] } }
        return Tensor(shape: [t.shape[0] * times] + Array(t.shape.dropFirst()), data: out)
    }

    // MARK: training

    /// Prompts of step s: grammar captions from the data seed and `[data]`'s world (its two-object
    /// rate and shape weights; prompts alone, no videos).
    func prompts(step: Int) -> [String] {
        (0..<config.distill.prompts).map { ShapesWorld.sample(seed: config.data.seed &* 104_729 &+ UInt64(step * 64 + $0), config: config.data.world).caption }
    }

    /// Training states at the student's grid points, their grid indices and per-state contexts; with
    /// offline targets also the teacher trajectory's state k intervals later for each of them.
    /// `rows`: the step's prompts this rank trains on (all of them in a single process); the noise of
    /// prompt i is the same whichever rank draws it.
    func states(step: Int, k: Int, guidance: Float, context: Tensor, unconditional: Tensor, rows: Range<Int>) throws -> (Tensor, [Int], Tensor, Tensor?) {
        let b = context.shape[0]
        precondition(b == rows.count, "one context row per prompt of this rank")
        let points = grid.steps / k
        var rng = RNG(seed: config.train.seed &+ 0xD157_0000 &+ UInt64(step))
        let all = (0..<rows.upperBound).map { _ in rng.normal(shape: teacher.latentShape) }
        let noise = Tensor.concat(Array(all[rows]), axis: 0)
        var collected: [Tensor] = []       // per grid point: [B, …]
        let offline = config.distill.targets == .offline
        var ends: [Tensor] = []            // offline: the trajectory at the next student grid point
        switch config.distill.inputs {
        case .student, .teacher:
            let useTeacher = config.distill.inputs == .teacher
            let f = useTeacher ? try teacherField(texts: Array(prompts(step: step)[rows]), times: 1, context: context, unconditional: unconditional, guidance: guidance)
                               : field(student, context: context, unconditional: nil, guidance: 1)
            var x = noise
            let stride = useTeacher ? 1 : k
            for i in Swift.stride(from: 0, to: grid.steps, by: stride) {
                if i % k == 0 { collected.append(x) }
                x = try Targets.jump(x, from: [Int](repeating: i, count: b), span: stride, grid: grid, field: f)
                if offline && (i + stride) % k == 0 { ends.append(x) }
            }
        case .data:   // forward-noised data: clips encoded by the teacher's VAE
            let clips = rows.map { ShapesWorld.sample(seed: config.data.seed &* 104_729 &+ UInt64(step * 64 + $0), config: config.data.world) }
            let x0 = try GradMode.withDisabled {
                try teacher.vae.normalize(try teacher.vae.encode(Tensor.concat(clips.map { $0.pixels.reshape([1] + $0.pixels.shape) }, axis: 0)))
            }
            for j in 0..<points {
                let s = grid.sigmas[j * k]
                collected.append(x0 * (1 - s) + noise * s)
            }
        }
        // Order: prompt-major, then grid point.
        let per = noise.count / b
        func gather(_ list: [Tensor]) -> Tensor {
            var data = [Float](); data.reserveCapacity(b * points * per)
            for p in 0..<b { for j in 0..<points { data += list[j].data[(p * per)..<((p + 1) * per)] } }
            return Tensor(shape: [b * points] + Array(noise.shape.dropFirst()), data: data)
        }
        let a = (0..<b).flatMap { _ in (0..<points).map { $0 * k } }
        return (gather(collected), a, Self.repeatRows(context, points), offline ? gather(ends) : nil)
    }

    /// Records which teacher the run distils (the folder its reference resolved to and a digest of
    /// the transformer's weights) as a `teacher` event, and refuses to resume against other weights:
    /// `demo:teacher-struct` or a run name can come to mean a different teacher between a stop and a
    /// resume. With `distill.autoguide_weight` > 0 its weaker model is recorded and checked the same
    /// way, in a `teacher` event of its own ("autoguidance: …").
    func checkTeacher(resume: Bool) throws {
        func digest(_ m: WanTransformer) -> String {
            let params = m.namedParameters()
            return VideoModel.digest(params.map(\.0).sorted(), Dictionary(uniqueKeysWithValues: params))
        }
        let events = try session.store.events(session.name).filter { $0.kind == .teacher }
        func check(_ recorded: EventRow?, _ digest: String, what: String, describe: String) throws {
            let was = recorded.flatMap { $0.detail.split(separator: " ").last.map(String.init) }
            if resume, let was, was != digest {
                throw TrainError("\(what) (transformer \(digest), recorded \(was)); restore it or start a new run")
            }
            if was != digest { try session.event(step: 0, kind: .teacher, describe) }
        }
        let isWeaker = { (e: EventRow) in e.detail.hasPrefix(Self.weakerEvent) }
        let t = digest(teacher.transformer), shown = VideoModel.displayPath(teacherFolder)
        try check(events.last { !isWeaker($0) }, t, what: "teacher: '\(config.teacher)' (\(shown)) is not the teacher this run started with",
                  describe: "\(config.teacher) → \(shown), transformer \(t)")
        if let weaker {
            let w = digest(weaker.model.transformer), folder = VideoModel.displayPath(weaker.model.folder ?? teacherFolder)
            try check(events.last(where: isWeaker), w, what: "teacher: the weaker model of its autoguidance (\(folder)) is not the one this run started with",
                      describe: "\(Self.weakerEvent) \(folder), weight \(weaker.weight), transformer \(w)")
        }
    }

    /// How a `teacher` event that records the autoguidance's weaker model begins.
    static let weakerEvent = "autoguidance: weaker model"

    public func run(resume: Bool) throws {
        let t = config.train
        var stepInStage = 0, globalStep = 0
        try checkTeacher(resume: resume)
        if resume, let c = try session.resumePoint() {
            let path = session.folder.checkpointPath(step: c.step)
            try TrainState.restore(c.file, named: student.namedParameters(), optimizer: optimizer, ema: nil, path: path)
            var prev: [String: Tensor] = [:]
            for (k, v) in c.file.tensors where k.hasPrefix("prev.") { prev[String(k.dropFirst(5))] = v }
            try previous.load(prev, path: path)
            guard let st = c.file.metadata["stage_index"].flatMap(Int.init), let inStage = c.file.metadata["step_in_stage"].flatMap(Int.init),
                  let list = c.file.metadata["stages"], let sps = c.file.metadata["steps_per_stage"].flatMap(Int.init) else {
                throw TrainError("\(path): not a distillation checkpoint (no stage metadata)")
            }
            stages = list.split(separator: ",").compactMap { Int($0) }
            stepsPerStage = sps
            currentStage = st; stepInStage = inStage; globalStep = c.step
            session.reporter?.message("resumed in stage \(st + 1) (horizon \(stages[st])) at step \(inStage) of the stage")
        }
        if session.writer { try prepareReferences() }
        let world = session.world
        while currentStage < stages.count {
            let k = stages[currentStage]
            let p = currentStage == 0 ? (config.distill.method == .pd ? k / 2 : initialHorizon) : stages[currentStage - 1]
            let previousIsTeacher = currentStage == 0 && initialHorizon == 1
            let w = config.distill.guidance(stage: currentStage, of: stages.count)
            let useFrequency = config.distill.frequencyWeight > 0 && currentStage >= stages.count - config.distill.frequencyStages
            // The frozen previous-stage student must be the same on every rank.
            let prevParams = previous.namedParameters()
            let prevDigest = VideoModel.digest(prevParams.map(\.0).sorted(), Dictionary(uniqueKeysWithValues: prevParams))
            guard try world.broadcast(prevDigest) == prevDigest else {
                throw TrainError("rank \(world.rank): the frozen previous-stage student differs from rank 0's at stage \(currentStage + 1)")
            }
            if stepInStage == 0 {
                try session.write { try session.store.update(session.name, stage: "k\(k)") }
                try session.event(step: globalStep, kind: .stage,
                                  "stage \(currentStage + 1)/\(stages.count): horizon \(k) (\(grid.steps / k) steps), previous horizon \(p), guidance \(w)\(useFrequency ? ", frequency loss" : "")")
            }
            let schedule = WarmupCosine(peak: Float(t.lr), floor: Float(t.lrFloor), warmup: min(t.warmup, stepsPerStage / 4), total: stepsPerStage)
            let (uncond1, _) = try GradMode.withDisabled { try teacher.embed([""]) }
            let offset = globalStep - stepInStage
            let reached = try session.loop(from: stepInStage, to: stepsPerStage, offset: offset, optimizer: optimizer, schedule: schedule,
                                           logEvery: t.logEvery, checkpointEvery: t.checkpointEvery, checkpointAtEnd: false, step: { globalStep in
                let all = prompts(step: globalStep), mine = try world.rows(ofBatch: all.count, section: "[distill] prompts")
                let texts = Array(all[mine])
                let (ctx, _) = try GradMode.withDisabled { try teacher.embed(texts) }
                let uncond = Self.repeatRows(uncond1, texts.count)
                let (xa, a, stateCtx, trajectoryEnd) = try states(step: globalStep, k: k, guidance: w, context: ctx, unconditional: uncond, rows: mine)
                let stateUncond = Self.repeatRows(uncond1, xa.shape[0])
                let teacherField = try teacherField(texts: texts, times: xa.shape[0] / texts.count, context: stateCtx, unconditional: stateUncond, guidance: w)
                let target: Tensor
                if let end = trajectoryEnd {
                    target = Targets.velocity(from: xa, to: end, a: a, span: k, grid: grid)
                } else if config.distill.method == .pd {
                    let prevField = previousIsTeacher ? teacherField : field(previous, context: stateCtx, unconditional: nil, guidance: 1)
                    target = try Targets.pd(xa, a: a, k: k, grid: grid, previous: prevField)
                } else {
                    let prevField = previousIsTeacher ? teacherField : field(previous, context: stateCtx, unconditional: nil, guidance: 1)
                    target = try Targets.gpd(xa, a: a, k: k, p: p, grid: grid, previous: prevField, teacher: teacherField)
                }
                let sig = a.map { grid.sigmas[$0] }
                let v = try student(xa, timesteps: sig.map { $0 * 1000 }, context: stateCtx)
                var loss = Tensor.mse(v, target)
                var freq: Float = 0, velocity: Float = 0
                if useFrequency {
                    velocity = world.mean(loss.item)
                    let s = Tensor(shape: [sig.count, 1, 1, 1, 1], data: sig)
                    let f = Tensor.frequencyLoss(xa - s * v, xa - s * target,
                                                 filter: Butterworth(order: config.distill.butterworthOrder, spatialCutoff: Float(config.distill.spatialCutoff),
                                                                     temporalCutoff: Float(config.distill.temporalCutoff)))
                    freq = world.mean(f.item)
                    loss = loss + f * Float(config.distill.frequencyWeight)
                }
                var outcome = try session.optimize(loss, params: student.parameters(), named: { student.namedParameters() }, optimizer: optimizer,
                                                   clip: t.clip, step: globalStep)
                outcome.metrics.merge(["frequency_loss": Double(freq),
                                       // the weighted frequency term over the velocity MSE: how much the loss actually steers
                                       "frequency_ratio": velocity > 0 ? Double(freq) * config.distill.frequencyWeight / Double(velocity) : 0,
                                       "horizon": Double(k), "guidance": Double(w)]) { a, _ in a }
                return outcome
            }, checkpoint: { global, local in try checkpoint(global, stepInStage: local) })
            guard let reached else { return }   // stopped: checkpointed and marked by the loop
            (globalStep, stepInStage) = (reached, reached - offset)
            try session.write {
                try evaluateStage(k: k, step: globalStep)
                try exportStage(k: k, to: session.folder.path + "/stages/k\(k)")
            }
            // Next stage starts from these weights; they are also its frozen previous model.
            Self.copy(student, to: previous)
            optimizer = Self.makeOptimizer(student, t)
            currentStage += 1
            stepInStage = 0
            try checkpoint(globalStep, stepInStage: 0)
        }
        try session.write { try exportStage(k: stages.last!, to: session.folder.path + "/export") }
        try session.finish(step: globalStep, status: .finished)
    }

    func checkpoint(_ step: Int, stepInStage: Int) throws {
        try session.saveCheckpoint(checkpointTensors(), metadata: [
            "kind": "distill", "step": String(step), "stage_index": String(currentStage), "step_in_stage": String(stepInStage),
            "stages": stages.map(String.init).joined(separator: ","), "steps_per_stage": String(stepsPerStage), "config": try config.toml()],
                                   step: step, keep: config.train.keep)
    }

    /// The student with its optimizer state, and the frozen previous-stage student as "prev.*".
    func checkpointTensors() -> [String: Tensor] {
        var tensors = TrainState.tensors(model: student.namedParameters(), optimizer: optimizer, ema: nil)
        for (n, p) in previous.namedParameters() { tensors["prev." + n] = Tensor(shape: p.shape, data: p.data) }
        return tensors
    }

    /// The student as a model folder: Euler on its own grid, no guidance.
    public func studentModel(k: Int) -> VideoModel {
        var mc = teacher.config
        mc.transformer = student.config
        mc.sampling = SamplingSettings(solver: .euler, steps: grid.steps / k, shift: grid.shift, guidance: 1, sigmas: grid.student(k))
        mc.kind = config.distill.method.rawValue
        return VideoModel(config: mc, textEncoder: teacher.textEncoder, transformer: student, vae: teacher.vae)
    }

    func exportStage(k: Int, to dir: String) throws {
        try studentModel(k: k).save(to: dir, metadata: ["source_run": session.name, "horizon": String(k), "method": config.distill.method.rawValue])
    }

    /// The first `eval_prompts` prompts of the suite: one- and two-object, seen and held-out (EvalSuite's order).
    var evalPrompts: [String] { get throws { Array(try EvalSuite.prompts().prefix(config.distill.evalPrompts)) } }

    /// Teacher clips (its own sampling: 48 UniPC steps with guidance) for the eval prompts, seed 0; cached
    /// in the run folder for as long as the prompts stay the same.
    func prepareReferences() throws {
        let path = session.folder.path + "/references.safetensors"
        let prompts = try evalPrompts
        if let f = try? Safetensors.read(path), let r = f.tensors["frames"], r.shape[0] == prompts.count,
           f.metadata["captions"] == prompts.joined(separator: "\n") {
            references = (0..<r.shape[0]).map { r.slice(axis: 0, $0, $0 + 1).reshape(Array(r.shape.dropFirst())) }
            return
        }
        let (r, _) = try teacher.sample(prompts: prompts, seeds: [UInt64](repeating: 0, count: prompts.count))
        try Safetensors.write(["frames": try r.decoded()], metadata: ["captions": prompts.joined(separator: "\n")], to: path)
        references = try (0..<r.decoded().shape[0]).map { try r.clip($0) }
    }

    /// MiniVBench and fidelity to the teacher at the stage's own step count.
    func evaluateStage(k: Int, step: Int) throws {
        let model = studentModel(k: k)
        let evalPrompts = try self.evalPrompts
        let (r, _) = try model.sample(prompts: evalPrompts, seeds: [UInt64](repeating: 0, count: evalPrompts.count))
        let f = try r.decoded()
        var scores: [ClipScore] = []
        var fid: [String: Double] = [:]
        for (i, prompt) in evalPrompts.enumerated() {
            let clip = f.slice(axis: 0, i, i + 1).reshape(Array(f.shape.dropFirst()))
            scores.append(try MiniVBench.score(clip, prompt: prompt))
            for (key, v) in Metrics.fidelity(student: clip, teacher: references[i]) { fid[key, default: 0] += v / Double(evalPrompts.count) }
        }
        let s = MiniVBench.aggregate(scores)
        var values: [String: Double] = ["eval/total": s.total, "eval/vbench_total": s.vbenchTotal, "eval/quality": s.quality,
                                        "eval/semantic": s.semantic]
        if let h = s.heldOut { values["eval/held_out"] = h.total }
        if let v = s.seen { values["eval/seen"] = v.total }
        for (key, v) in fid { values["eval/\(key)"] = v }
        try session.log(step: step, values)
        try session.event(step: step, kind: .stageEval,
                          String(format: "horizon %d (%d steps): MiniVBench %.4f, PSNR to teacher %.2f dB, SSIM %.3f", k, grid.steps / k, s.total, fid["psnr"] ?? 0, fid["ssim"] ?? 0))
        try session.saveMedia(Tensor.concat([references[0], f.slice(axis: 0, 0, 1).reshape(Array(f.shape.dropFirst()))], axis: 2),
                              caption: "teacher | student \(grid.steps / k) steps: " + evalPrompts[0], name: String(format: "step-%07d-k%d", step, k))
        session.reporter?.message(String(format: "stage k=%d (%d steps): MiniVBench %.4f, PSNR to teacher %.2f dB", k, grid.steps / k, s.total, fid["psnr"] ?? 0))
    }
}
