// Looking at runs as a person does (status that tells a dead trainer from a live one) and starting
// trainers as detached processes that outlive the studio or shell that started them.
import Foundation

public struct RunSummary: Codable {
    public var name: String
    public var kind: RunKind
    /// The stored status, or `crashed` when it says running/paused but no process holds the run's lock.
    public var status: RunStatus
    public var step: Int
    public var stage: String?
    public var loss: Double?
    /// The latest evaluation: eval/total (teacher, students) or eval/psnr (VAE).
    public var eval: Double?
    public var evalKey: String?
    public var updated: Double
    public var pid: Int?

    public init(name: String, kind: RunKind, status: RunStatus, step: Int, stage: String?, loss: Double?, eval: Double?, evalKey: String?,
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
            if (status == .running || status == .paused) && !folder.isLocked { status = .crashed }
            let loss = try store.latestMetric(r.name, key: "loss")?.value
            let total = try store.latestMetric(r.name, key: "eval/total"), psnr = try store.latestMetric(r.name, key: "eval/psnr")
            let ev = total ?? psnr
            return RunSummary(name: r.name, kind: r.kind, status: status, step: r.step, stage: r.stage, loss: loss, eval: ev?.value,
                              evalKey: ev?.key, updated: r.updated, pid: r.pid)
        }
    }

    /// Restarts a stopped, crashed or failed run from its newest checkpoint as a detached trainer
    /// (`gpd train KIND` or `gpd distill`, with the run's own config.toml). Returns its pid.
    public static func restart(root: String, name: String, kind: RunKind) throws -> Int32 {
        let folder = try RunFolder(root: root, name: name)
        guard try !folder.checkpoints().isEmpty else {
            throw ConfigError(folder.path, "checkpoints", "no checkpoint to resume from (an imported run keeps its history only)")
        }
        let args = kind.command + ["--config", folder.configPath, "--run", name, "--resume", "--runs", root]
        return try launchDetached(executable, args, log: folder.path + "/stdout.log")
    }

    /// Config keys whose value names a model or folder another run may live in.
    static let referenceKeys: Set<String> = ["teacher", "vae", "init_student", "init_from"]

    /// The runs whose config.toml refers to run `name`: a `teacher`, `vae`, `init_student` or
    /// `init_from` (in any section) that is the run's name or a path inside its folder (relative
    /// paths are read from the current directory, as the trainers read them).
    public static func dependents(root: String, of name: String) -> [String] {
        let target = URL(fileURLWithPath: root + "/" + name).standardized.path
        func refers(_ table: [String: Any]) -> Bool {
            table.contains { key, value in
                if let section = value as? [String: Any] { return refers(section) }
                guard referenceKeys.contains(key), let ref = value as? String, !ref.isEmpty else { return false }
                let path = URL(fileURLWithPath: ref).standardized.path
                return ref == name || path == target || path.hasPrefix(target + "/")
            }
        }
        let others = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0 != name }.sorted()
        return others.filter { other in (try? ConfigFile.read(root + "/" + other + "/config.toml")).map(refers) ?? false }
    }

    /// Deletes a run: its record, metrics, events and control rows, its folder (checkpoints,
    /// exports, media, log) and the output log the studio's `:new` left beside it. Refused while a
    /// trainer holds the run, and — unless `force` — while another run's config refers to it
    /// (deleting a teacher would strand its students' resumes).
    /// The folder is first renamed aside under the run's lock, so a trainer cannot start on a
    /// half-deleted run and a failure leaves either the whole run or nothing. Runs in `alongWith`
    /// (being deleted in the same command) do not count as referring to it.
    public static func delete(_ store: RunStore, name: String, force: Bool = false, alongWith: Set<String> = []) throws {
        let folder = try RunFolder(root: store.root, name: name)
        let record = try store.run(name)
        guard record != nil || folder.exists else { throw ConfigError(store.root, name, "no such run") }
        let users = dependents(root: store.root, of: name).filter { !alongWith.contains($0) }
        if !users.isEmpty && !force {
            throw ConfigError(store.root, name, "run(s) \(users.joined(separator: ", ")) refer to it in their config.toml; delete them first or pass --force")
        }
        var aside: String?
        if folder.exists {
            try folder.lock()   // throws when a live trainer holds the run
            let trash = store.root + "/.\(name).deleting-\(getpid())"
            guard rename(folder.path, trash) == 0 else {
                throw ConfigError(folder.path, "(delete)", "cannot move the run folder aside: \(String(cString: strerror(errno)))")
            }
            folder.unlock()
            aside = trash
        }
        do { try store.remove(name) } catch {
            if let aside { _ = rename(aside, folder.path) }
            throw error
        }
        if let aside { try FileManager.default.removeItem(atPath: aside) }
        try? FileManager.default.removeItem(atPath: store.root + "/\(name).stdout.log")   // the studio's `:new` output
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

/// How long ago a store time (seconds since 1970) was, as the run lists show it: 42s, 17m, 5h, 3d; "?"
/// for a time that is not a time (from a crafted archive: in the future, infinite, 1e300).
public func runAge(_ t: Double, now: Double = Date().timeIntervalSince1970) -> String {
    let e = now - t
    guard e.isFinite, e >= 0, e < 1e10 else { return "?" }
    let s = Int(e)
    return s < 120 ? "\(s)s" : s < 7200 ? "\(s / 60)m" : s < 172_800 ? "\(s / 3600)h" : "\(s / 86400)d"
}
