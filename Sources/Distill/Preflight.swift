// What a run needs besides its own folder, checked before the run is created: a VAE's init_from, a
// teacher's VAE, a distillation's teacher and initial student. A config that names something that
// is not there (or is /etc/passwd, or demo:bogus) is refused with the key that names it, and no
// half-made run is left behind.
import Models
import ModelFolders
import Runs

public enum Preflight {
    public static func check(_ c: VAETrainConfig, path: String) throws {
        guard !c.model.initFrom.isEmpty else { return }
        try loadable(path, "model.init_from", c.model.initFrom) { _ = try WanVAE.load(folder: c.model.initFrom) }
    }

    public static func check(_ c: TeacherTrainConfig, path: String) throws {
        try loadable(path, "vae", c.vae) { _ = try WanVAE.load(folder: c.vae) }
    }

    public static func check(_ c: DistillConfig, path: String, runsRoot: String) throws {
        try loadable(path, "teacher", c.teacher) { _ = try VideoModel.load(folder: try ModelRef.resolve(c.teacher, runsRoot: runsRoot)) }
        if !c.distill.initStudent.isEmpty {
            try loadable(path, "distill.init_student", c.distill.initStudent) {
                _ = try VideoModel.load(folder: try ModelRef.resolve(c.distill.initStudent, runsRoot: runsRoot))
            }
        }
    }

    static func loadable(_ path: String, _ key: String, _ value: String, _ load: () throws -> Void) throws {
        do { try load() } catch { throw ConfigError(path, key, "'\(value)' cannot be loaded: \(error)") }
    }
}
