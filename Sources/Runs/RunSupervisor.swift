// Looking at runs as a person does (status that tells a dead trainer from a live one) and starting
// trainers as detached processes that outlive the studio or shell that started them.
import Foundation

public struct RunSummary: Codable {
    public var name: String
    public var kind: String
    /// The stored status, or `crashed` when it says running/paused but no process holds the run's lock.
    public var status: String
    public var step: Int
    public var stage: String?
    public var loss: Double?
    /// The latest evaluation: eval/total (teacher, students) or eval/psnr (VAE).
    public var eval: Double?
    public var evalKey: String?
    public var updated: Double
    public var pid: Int?

    public init(name: String, kind: String, status: String, step: Int, stage: String?, loss: Double?, eval: Double?, evalKey: String?,
                updated: Double, pid: Int?) {
        (self.name, self.kind, self.status, self.step, self.stage) = (name, kind, status, step, stage)
        (self.loss, self.eval, self.evalKey, self.updated, self.pid) = (loss, eval, evalKey, updated, pid)
    }
}

public enum RunSupervisor {
    public static func summaries(_ store: RunStore) throws -> [RunSummary] {
        try store.runs().map { r in
            let folder = try RunFolder(root: store.root, name: r.name)
            var status = r.status
            if (status == RunStatus.running.rawValue || status == RunStatus.paused.rawValue) && !folder.isLocked { status = RunStatus.crashed.rawValue }
            let loss = try store.latestMetric(r.name, key: "loss")?.value
            let total = try store.latestMetric(r.name, key: "eval/total"), psnr = try store.latestMetric(r.name, key: "eval/psnr")
            let ev = total ?? psnr
            return RunSummary(name: r.name, kind: r.kind, status: status, step: r.step, stage: r.stage, loss: loss, eval: ev?.value,
                              evalKey: ev?.key, updated: r.updated, pid: r.pid)
        }
    }

    /// Restarts a stopped, crashed or failed run from its newest checkpoint as a detached trainer
    /// (`gpd train KIND` or `gpd distill`, with the run's own config.toml). Returns its pid.
    public static func restart(root: String, name: String, kind: String) throws -> Int32 {
        let folder = try RunFolder(root: root, name: name)
        guard try !folder.checkpoints().isEmpty else {
            throw ConfigError(folder.path, "checkpoints", "no checkpoint to resume from (an imported run keeps its history only)")
        }
        let args = (kind == "distill" ? ["distill"] : ["train", kind]) + ["--config", folder.configPath, "--run", name, "--resume", "--runs", root]
        return try launchDetached(executable, args, log: folder.path + "/stdout.log")
    }

    /// Starts `executable arguments…` in a new session (it survives the caller), output appended to `log`.
    /// Returns its pid.
    public static func launchDetached(_ executable: String, _ arguments: [String], log: String) throws -> Int32 {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, 0x80)   // POSIX_SPAWN_SETSID (glibc ≥ 2.26; the macro needs _GNU_SOURCE)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, argv, environ)
        guard rc == 0 else { throw ConfigError(executable, "(spawn)", "cannot start: \(String(cString: strerror(rc)))") }
        return pid
    }

    /// This process's executable (for re-launching `gpd`).
    public static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
