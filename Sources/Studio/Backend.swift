// Background work for the studio: model discovery and loading, sampling (the teacher once per
// prompt/seed, the student on every schedule edit — the newest request wins, stale results are
// dropped), latent spectra. Results come back as state updates through a mailbox the UI loop drains;
// no curses call ever happens here.
import Data
import Diffusion
import Eval
import Foundation
import ModelFolders
import Models
import Runs
import Tensors

public final class Mailbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var updates: [(inout StudioState) -> Void] = []
    public init() {}
    public func post(_ u: @escaping (inout StudioState) -> Void) {
        condition.lock(); updates.append(u); condition.signal(); condition.unlock()
    }
    public func drain() -> [(inout StudioState) -> Void] { wait(seconds: 0) }
    /// The updates posted so far, waiting up to `seconds` for the first when there are none (empty if
    /// none came). A waiter sleeps instead of polling: a loop that drained every 100 µs made a 2-core
    /// machine's clips 1.2–1.3× slower (docs/benchmarks.md, "The studio's clip times").
    public func wait(seconds: Double) -> [(inout StudioState) -> Void] {
        condition.lock()
        defer { updates.removeAll(); condition.unlock() }
        if updates.isEmpty && seconds > 0 { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
        return updates
    }
}

public final class SampleBackend: @unchecked Sendable {
    /// A student the Sample screen offers: its label, its folder and whether it was distilled from the
    /// current teacher.
    public typealias StudentCandidate = (label: String, folder: String, ofTeacher: Bool)

    let queue = DispatchQueue(label: "gpd.studio.sample")
    let mailbox: Mailbox
    let runsRoot: String
    private var teacher: VideoModel?
    private var student: VideoModel?
    /// The folder `student` was loaded from (nil: none, or the teacher at the student's steps).
    private var studentFolder: String?
    /// A diffusers Wan2.1 folder as the teacher (`gpd studio --teacher DIR`, `:teacher DIR`), sampled at
    /// `wanClip` size; the student is then the same folder at the student's steps.
    private var wan: WanFolder?
    private var wanCache: WanPromptCache?
    public static let wanClip = (frames: 9, height: 128, width: 128)
    private let lock = NSLock()
    private var latestStudent = 0
    private var latestTeacher = 0
    private var teacherLatents: Tensor?
    private var teacherFrames: Tensor?
    /// The products' arithmetic for every clip this backend samples; set before the first request.
    public var arithmetic: GEMM.Arithmetic = .f32

    /// Where a student clip's time went on the backend's queue (seconds): the model's sampling call
    /// (text encoding, denoising, decode; the first two split by the pipeline's own clock) and the
    /// fidelity to the teacher's clip, all before its frames are posted. For `gpd bench`.
    public struct StudentTimings {
        public var sample = 0.0, denoise = 0.0, decode = 0.0, fidelity = 0.0
    }
    private var studentTimings: StudentTimings?
    /// The last student clip's timings (nil before the first).
    public var lastStudentTimings: StudentTimings? { lock.lock(); defer { lock.unlock() }; return studentTimings }

    public init(mailbox: Mailbox, runsRoot: String) {
        self.mailbox = mailbox
        self.runsRoot = runsRoot
    }

    /// The bundled teachers the studio opens on, in order of preference: teacher-2x-gap4 (576 tokens
    /// on the 2× VAE: the teacher that draws its prompts best), then teacher-struct (80 tokens); each
    /// has its GPD-6 and PD-6 students bundled beside it.
    static let demoTeachers = ["teacher-2x-gap4", "teacher-struct"]

    /// The first bundled teacher of `demoTeachers`, else the newest finished teacher run; its first own
    /// student candidate (nil when none was distilled from it: the teacher at the student's steps).
    static func discover(runsRoot: String) -> (teacher: String?, student: StudentCandidate?) {
        var teacher = demoTeachers.lazy.compactMap { try? ModelRef.resolve("demo:" + $0, runsRoot: runsRoot) }.first
        if teacher == nil, let store = try? RunStore(root: runsRoot), let runs = try? store.runs() {
            teacher = runs.first { $0.kind == .teacher && FileManager.default.fileExists(atPath: runsRoot + "/" + $0.name + "/export/model.json") }
                .map { runsRoot + "/" + $0.name + "/export" }
        }
        return (teacher, studentCandidates(runsRoot: runsRoot, teacher: teacher).first { $0.ofTeacher })
    }

    /// Students to compare with the teacher: the bundled students — those distilled from `teacher`
    /// (their model.json's `base` is its folder) first, GPD before PD — then every distillation run's
    /// final export and its per-stage exports, the runs distilled from `teacher` (their config's
    /// `teacher` resolves to its folder) first, newest first. `ofTeacher`: distilled from `teacher`.
    public static func studentCandidates(runsRoot: String, teacher: String? = nil) -> [StudentCandidate] {
        let fm = FileManager.default
        let demoRoot = ModelRef.demoRoot() ?? "samples/demo"
        let teacherPath = teacher.map(canonical)
        let demos = ((try? fm.contentsOfDirectory(atPath: demoRoot)) ?? []).compactMap { name -> (gpd: Bool, candidate: StudentCandidate)? in
            guard let config = studentConfig(folder: demoRoot + "/" + name) else { return nil }
            let ofTeacher = teacherPath != nil && config.base.map { canonical(demoRoot + "/" + name + "/" + $0) } == teacherPath
            return (config.kind == "gpd", ("demo:" + name, demoRoot + "/" + name, ofTeacher))
        }.sorted { a, b in
            (a.candidate.ofTeacher ? 0 : 1, a.gpd ? 0 : 1, a.candidate.label) < (b.candidate.ofTeacher ? 0 : 1, b.gpd ? 0 : 1, b.candidate.label)
        }
        var out = demos.map(\.candidate)
        if let store = try? RunStore(root: runsRoot), let runs = try? store.runs() {
            var own: [StudentCandidate] = [], others = own
            for r in runs.sorted(by: { $0.updated > $1.updated }) where r.kind == .distill {
                let dir = runsRoot + "/" + r.name
                let ofTeacher = teacherPath != nil && distilledFrom(run: dir, runsRoot: runsRoot) == teacherPath
                var found: [StudentCandidate] = []
                if fm.fileExists(atPath: dir + "/export/model.json") { found.append((r.name, dir + "/export", ofTeacher)) }
                let stages = ((try? fm.contentsOfDirectory(atPath: dir + "/stages")) ?? []).filter { fm.fileExists(atPath: dir + "/stages/" + $0 + "/model.json") }
                for k in stages.sorted(by: { (Int($0.dropFirst()) ?? 0) > (Int($1.dropFirst()) ?? 0) }) { found.append(("\(r.name)/\(k)", dir + "/stages/" + k, ofTeacher)) }
                if ofTeacher { own += found } else { others += found }
            }
            out += own + others
        }
        return out
    }

    /// The canonical folder of the teacher a distillation run (its folder) was configured with; nil when
    /// its config is unreadable or the teacher no longer resolves.
    static func distilledFrom(run dir: String, runsRoot: String) -> String? {
        guard let table = try? ConfigFile.read(dir + "/config.toml"), let ref = table["teacher"] as? String,
              let folder = try? ModelRef.resolve(ref, runsRoot: runsRoot) else { return nil }
        return canonical(folder)
    }

    /// A path with `.`, `..` and symbolic links resolved, for comparing folders named two ways.
    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// A project teacher (demo:NAME, a run's export or a model folder) in place of the current teacher
    /// (or Wan2.1 folder). The student stays if it was distilled from this teacher; else the teacher's
    /// own first student, or the teacher itself at the student's steps, replaces it.
    public func loadTeacher(ref: String) {
        queue.async { [self] in
            do {
                let folder = try ModelRef.resolve(ref, runsRoot: runsRoot)
                let model = try VideoModel.load(folder: folder)
                guard model.config.isTeacher else {
                    let kind = model.config.kind
                    mailbox.post { s in s.message = ("\(ref) is a \(kind) model, not a teacher (students: c or :student NAME)", true) }
                    return
                }
                let settings = model.config.sampling
                // A student distilled from another teacher would be compared with a teacher it never
                // learnt from (another world when their VAEs differ): the new teacher's own first
                // student replaces it, else the teacher itself at the student's steps. Loaded before
                // anything changes, so that a student that fails to load leaves both as they were.
                let candidates = Self.studentCandidates(runsRoot: runsRoot, teacher: folder)
                let keeps = wan == nil && studentFolder.map { f in candidates.contains { $0.ofTeacher && $0.folder == f } } ?? false
                var switched: (label: String, preset: [Float], model: VideoModel?, folder: String?)?
                if !keeps {
                    let own = candidates.first { $0.ofTeacher }
                    let m = try own.map { try VideoModel.load(folder: $0.folder) }
                    switched = (own?.label ?? Self.teacherAsStudent, m?.config.sampling.sigmas ?? TeacherGridPreset.sigmas(steps: 6, shift: settings.shift),
                                m, own?.folder)
                }
                wan = nil; wanCache = nil; teacher = model
                if let switched { student = switched.model; studentFolder = switched.folder }
                mailbox.post { s in
                    s.sample.teacherIsWan = false
                    s.sample.teacherLabel = ref
                    s.sample.teacherFolder = folder
                    s.sample.teacherSettings = settings
                    s.sample.teacherReload = true
                    s.sample.studentReload = true
                    s.message = ("teacher: \(ref)", false)
                    if let switched {
                        s.sample.studentLabel = switched.label
                        s.sample.preset = switched.preset
                        s.sample.sigmas = switched.preset
                        s.sample.point = 1
                        s.message = ("teacher: \(ref); student: " + (switched.label == Self.teacherAsStudent
                            ? "no student distilled from it here, so the teacher at the student's steps" : switched.label), false)
                    }
                }
            } catch {
                mailbox.post { s in s.message = ("teacher \(ref): \(error)", true) }
            }
        }
    }

    /// A model folder whose model.json says it is not a teacher (whatever the folder is called).
    static func isStudent(folder: String) -> Bool { studentConfig(folder: folder) != nil }

    /// The description of a student's folder; nil for a teacher or a folder without a readable model.json.
    static func studentConfig(folder: String) -> VideoModelConfig? {
        guard let data = FileManager.default.contents(atPath: folder + "/model.json"),
              let config = try? JSONDecoder().decode(VideoModelConfig.self, from: data), !config.isTeacher else { return nil }
        return config
    }

    /// Loads a diffusers Wan2.1 folder as the teacher (replacing the project teacher and student) and
    /// asks the UI thread to sample it.
    public func loadWan(path: String) {
        mailbox.post { s in s.message = ("loading Wan2.1 folder \(path)…", false) }
        queue.async { [self] in
            do {
                let folder = try WanFolder(path: path)
                wan = folder; wanCache = WanPromptCache(folder: folder, maxLength: WanTextEncoder.defaultMaxLength)
                teacher = nil; student = nil; studentFolder = nil
                let settings = folder.defaults, name = (path as NSString).lastPathComponent
                let c = Self.wanClip
                mailbox.post { s in
                    s.sample.teacherIsWan = true
                    s.sample.teacherFolder = nil
                    s.sample.teacherLabel = "Wan2.1 \(name) (\(c.frames)×\(c.height)×\(c.width))"
                    s.sample.studentLabel = Self.teacherAsStudent
                    s.sample.teacherSettings = settings
                    s.sample.unknownWords = []; s.sample.problem = nil
                    let preset = TeacherGridPreset.sigmas(steps: 6, shift: settings.shift)
                    (s.sample.preset, s.sample.sigmas, s.sample.point) = (preset, preset, 1)
                    s.sample.teacherReload = true; s.sample.studentReload = true
                    s.message = ("teacher: Wan2.1 folder \(path); \(settings.steps) steps with guidance take minutes a clip on a CPU — s/S edit the student's steps", false)
                }
            } catch {
                mailbox.post { s in s.message = ("teacher \(path): \(error)", true) }
            }
        }
    }

    /// Samples the Wan folder; progress goes to the state, and a newer request cancels this one.
    func sampleWan(_ folder: WanFolder, prompt: String, seed: UInt64, settings: SamplingSettings, stillWanted: @escaping () -> Bool,
                   progress: ((Int, Int) -> Void)? = nil) throws -> SampleResult {
        let c = Self.wanClip
        return try folder.sample(prompt: prompt, frames: c.frames, height: c.height, width: c.width, seed: seed, settings: settings,
                                 embeddings: wanCache?.embeddings) { i, n in
            guard stillWanted() else { throw CancellationError() }
            progress?(i, n)
        }
    }

    /// Loads the models (once) and reports what was found, with their sampling settings, and asks for
    /// the first clips (teacherReload, studentReload): requested before, they would use the defaults.
    public func load() {
        queue.async { [self] in
            guard wan == nil else { return }
            let found = Self.discover(runsRoot: runsRoot)
            var note: String?
            if let t = found.teacher { do { teacher = try VideoModel.load(folder: t) } catch { note = "teacher: \(error)" } }
            if let s = found.student?.folder { do { student = try VideoModel.load(folder: s); studentFolder = s } catch { note = "student: \(error)" } }
            let tLabel = found.teacher.map { ($0 as NSString).lastPathComponent == "export" ? (($0 as NSString).deletingLastPathComponent as NSString).lastPathComponent : "demo:" + ($0 as NSString).lastPathComponent }
            let sLabel = found.student?.label
            let studentSampling = student?.config.sampling
            let teacherSampling = teacher?.config.sampling
            mailbox.post { s in
                s.sample.teacherLabel = tLabel ?? "ground truth (no teacher model yet)"
                s.sample.teacherFolder = found.teacher
                s.sample.studentLabel = sLabel ?? (tLabel != nil ? Self.teacherAsStudent : "no student (no models yet)")
                if let ts = teacherSampling { s.sample.teacherSettings = ts }
                let preset = studentSampling?.sigmas ?? TeacherGridPreset.sigmas(steps: 6, shift: s.sample.shift)
                s.sample.preset = preset
                if s.sample.sigmas.isEmpty { s.sample.sigmas = preset }
                s.sample.teacherReload = true
                s.sample.studentReload = true
                if let note { s.message = (note, true) }
            }
        }
    }

    public static let teacherAsStudent = "teacher at the student's steps"

    /// Switches the student (a candidate's folder; nil: the teacher itself at the student's steps), resets
    /// the schedule to its own grid and asks for a new student clip. `foreign`: distilled from another
    /// teacher than the current one, which the message says.
    public func selectStudent(folder: String?, label: String, foreign: Bool = false) {
        queue.async { [self] in
            guard wan == nil else {
                mailbox.post { s in s.message = ("with a Wan2.1 teacher the student is the same folder at the student's steps (s/S, schedule keys)", true) }
                return
            }
            do {
                let m = try folder.map { try VideoModel.load(folder: $0) }
                student = m; studentFolder = folder
                let preset = m?.config.sampling.sigmas ?? TeacherGridPreset.sigmas(steps: 6, shift: 3)
                mailbox.post { s in
                    s.sample.studentLabel = label
                    s.sample.preset = preset
                    s.sample.sigmas = preset
                    s.sample.point = 1
                    s.sample.studentReload = true
                    s.message = ("student: \(label) (\(preset.count - 1) step\(preset.count == 2 ? "" : "s"))"
                                 + (foreign ? " — distilled from another teacher, so not this teacher's clip to match" : ""), foreign)
                }
            } catch {
                mailbox.post { s in s.message = ("student \(label): \(error)", true) }
            }
        }
    }

    /// The teacher clip (or the ground truth when there is no teacher) for (prompt, seed). A newer
    /// request supersedes this one: it is skipped if not begun, and a Wan2.1 clip stops at its next step.
    public func sampleTeacher(prompt: String, seed: UInt64, settings: SamplingSettings) {
        lock.lock(); latestTeacher += 1; let generation = latestTeacher; wanGuidance = settings.guidance; lock.unlock()
        let arithmetic = arithmetic
        queue.async { [self] in GEMM.withArithmetic(arithmetic) {
            guard isLatestTeacher(generation) else { return }
            let t0 = Date()
            var frames: Tensor?, latents: Tensor?
            var problem: String?
            if let wan {
                do {
                    let r = try sampleWan(wan, prompt: prompt, seed: seed, settings: settings, stillWanted: { self.isLatestTeacher(generation) }) { i, n in
                        self.mailbox.post { s in s.sample.teacherProgress = (i, n) }
                    }
                    frames = try r.clip(0); latents = r.latents
                } catch is CancellationError { return } catch { problem = "\(error)" }
            } else if let teacher {
                do {
                    let (r, _) = try teacher.sample(prompts: [prompt], seeds: [seed], settings: settings)
                    frames = try r.clip(0); latents = r.latents
                } catch { problem = "\(error)" }
            } else if let scene = PromptGrammar.parse(prompt).scene {
                frames = ShapesWorld.render(scene, seed: seed).frames
            }
            let seconds = Date().timeIntervalSince(t0)
            lock.lock(); teacherLatents = latents; teacherFrames = frames; lock.unlock()
            mailbox.post { s in
                s.sample.teacherBusy = false
                s.sample.teacherProgress = nil
                if let problem { s.message = ("teacher: " + problem, true) }
                guard let frames else { return }
                s.sample.teacherFrames = frames.data
                s.sample.clipShape = frames.shape
                s.sample.teacherSeconds = seconds
                s.sample.imageVersion &+= 1
            }
        } }
    }

    func isLatestTeacher(_ g: Int) -> Bool { lock.lock(); defer { lock.unlock() }; return g == latestTeacher }
    func isLatestStudent(_ g: Int) -> Bool { lock.lock(); defer { lock.unlock() }; return g == latestStudent }

    /// The student clip on a custom schedule (Euler, no guidance). Superseded like the teacher's.
    public func sampleStudent(prompt: String, seed: UInt64, sigmas: [Float]) {
        lock.lock(); latestStudent += 1; let generation = latestStudent; lock.unlock()
        let arithmetic = arithmetic
        queue.async { [self] in GEMM.withArithmetic(arithmetic) {
            guard isLatestStudent(generation) else { return }
            if let wan { sampleWanStudent(wan, prompt: prompt, seed: seed, sigmas: sigmas, generation: generation); return }
            guard let model = student ?? teacher else {
                mailbox.post { s in s.sample.studentBusy = false }
                return
            }
            let t0 = Date()
            do {
                let own = model === teacher ? model.config.sampling : nil
                let settings = SamplingSettings(solver: .euler, steps: sigmas.count - 1, shift: 1, guidance: own?.guidance ?? 1, sigmas: sigmas,
                                                guidanceInterval: own?.guidanceInterval, autoguide: own?.autoguide, guidanceEvery: own?.guidanceEvery ?? 1)
                let (r, _) = try model.sample(prompts: [prompt], seeds: [seed], settings: settings)
                guard isLatestStudent(generation) else { return }
                try postStudent(r, seconds: Date().timeIntervalSince(t0), prompt: prompt, seed: seed, model: model, generation: generation)
            } catch {
                mailbox.post { s in s.sample.studentBusy = false; s.message = ("student: \(error)", true) }
            }
        } }
    }

    /// The Wan folder at the student's schedule (Euler, the teacher's guidance).
    func sampleWanStudent(_ wan: WanFolder, prompt: String, seed: UInt64, sigmas: [Float], generation: Int) {
        let t0 = Date()
        do {
            lock.lock(); let guidance = wanGuidance; lock.unlock()
            let settings = SamplingSettings(solver: .euler, steps: sigmas.count - 1, shift: 1, guidance: guidance, sigmas: sigmas)
            let r = try sampleWan(wan, prompt: prompt, seed: seed, settings: settings, stillWanted: { self.isLatestStudent(generation) })
            try postStudent(r, seconds: Date().timeIntervalSince(t0), prompt: prompt, seed: seed, model: nil, generation: generation)
        } catch is CancellationError {
        } catch {
            mailbox.post { s in s.sample.studentBusy = false; s.message = ("student: \(error)", true) }
        }
    }

    /// Hands a student clip to the UI with its fidelity to the teacher clip, then its latent spectra: the
    /// frames do not wait for the spectra, and a clip superseded by a newer request gets none.
    func postStudent(_ r: SampleResult, seconds: Double, prompt: String, seed: UInt64, model: VideoModel?, generation: Int) throws {
        let t0 = Date()
        let frames = try r.clip(0)
        lock.lock(); let tf = teacherFrames, tl = teacherLatents; lock.unlock()
        var psnr: Double?, ssim: Double?
        if let tf, tf.shape == frames.shape { psnr = Metrics.psnr(frames, tf); ssim = Metrics.ssim(frames, tf) }
        let timings = StudentTimings(sample: seconds, denoise: r.denoiseSeconds, decode: r.decodeSeconds, fidelity: Date().timeIntervalSince(t0))
        lock.lock(); studentTimings = timings; lock.unlock()
        mailbox.post { s in
            s.sample.studentBusy = false
            s.sample.studentFrames = frames.data
            if s.sample.clipShape.isEmpty { s.sample.clipShape = frames.shape }
            s.sample.studentSeconds = seconds
            s.sample.psnr = psnr; s.sample.ssim = ssim
            s.sample.imageVersion &+= 1
        }
        guard isLatestStudent(generation) else { return }
        let spectra = spectraSnapshot(teacher: tl, student: r.latents, prompt: prompt, seed: seed, model: model)
        mailbox.post { s in s.sample.spectra = spectra }
    }

    /// The prompt's ground-truth clip through the VAE of the model the last spectra were computed for,
    /// with the prompt, seed and model it belongs to: every schedule edit re-samples the same prompt and
    /// seed, and this encode is most of a snapshot's cost. Used on the backend's queue only.
    private struct DataLatent {
        var prompt: String, seed: UInt64
        weak var model: VideoModel?   // nil once that model is gone: never matches a later one
        var z: Tensor?
    }
    private var dataLatent: DataLatent?

    /// The guidance the Wan student uses: the teacher's, set with each teacher request.
    private var wanGuidance: Float = 5

    /// Latent spectra of teacher, student and data (the prompt's ground-truth clip through the VAE of a
    /// project model; none for a Wan folder).
    func spectraSnapshot(teacher: Tensor?, student: Tensor, prompt: String, seed: UInt64, model: VideoModel?) -> SpectraSnapshot {
        var snap = SpectraSnapshot()
        var latents: [String: Tensor] = ["student": student]
        if let teacher { latents["teacher"] = teacher }
        if let model, let scene = PromptGrammar.parse(prompt).scene {
            if let d = dataLatent, d.prompt == prompt, d.seed == seed, d.model === model {} else {
                dataLatent = DataLatent(prompt: prompt, seed: seed, model: model, z: try? model.realLatents(scene: scene, seed: seed))
            }
            if let z = dataLatent?.z { latents["data"] = z }
        }
        for (name, z) in latents {
            let (c, f, h, w) = (z.shape[1], z.shape[2], z.shape[3], z.shape[4])
            let (spatial, temporal) = Spectra.latent(z)
            snap.spatial[name] = spatial
            if !temporal.isEmpty { snap.temporal[name] = temporal }
            snap.highFrequencyRatio[name] = Spectra.highFrequencyShare(spatial)
            if name != "data" {
                // Per-channel 2D power of the middle frame, log10, DC-centred.
                let spec = FFT.shared.rfft(z.data, dims: [h, w])
                let wh = w / 2 + 1, mid = f / 2
                var maps: [[Double]] = []
                for ci in 0..<c {
                    var m = [Double](repeating: 0, count: h * w)
                    for y in 0..<h { for x in 0..<w {
                        let (ky, kx) = ((y + h / 2) % h, (x + w / 2) % w)
                        let (jx, conj) = kx < wh ? (kx, false) : (w - kx, true)
                        let jy = conj ? (h - ky) % h : ky
                        let k = (((ci * f + mid) * h + jy) * wh + jx) * 2
                        let p = Double(spec.values[k] * spec.values[k] + spec.values[k + 1] * spec.values[k + 1])
                        m[y * w + x] = log10(p + 1e-6)
                    } }
                    maps.append(m)
                }
                snap.heatmaps[name] = maps
                snap.heatmapSize = (h, w)
            }
        }
        return snap
    }
}

/// Shifted preset grids for the schedule editor (Wan's sampling sigmas).
public enum TeacherGridPreset {
    public static func sigmas(steps: Int, shift: Double) -> [Float] { TeacherGrid(steps: max(1, steps), shift: shift).sigmas }
}
