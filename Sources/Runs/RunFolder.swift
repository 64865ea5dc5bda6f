// A run's folder: runs/<name>/ with config.toml, checkpoints/ (step-NNNNNNN.safetensors written
// atomically, a `latest` pointer, the last N kept), media/, log.txt, a lock file and, after a stop
// between two logged steps, pending-losses.json (those steps' losses, for the resumed run). The lock
// is an flock held by the trainer for its lifetime: the kernel drops it when the process dies, so a
// second trainer is refused and a dead one is detected exactly (status `crashed`), with no stale-pid
// guessing.
import Foundation
import Tensors

public final class RunFolder {
    public let path: String
    public let name: String
    private var lockFD: Int32 = -1

    public init(root: String, name: String) throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".") else {
            throw ConfigError(name, "run", "a run name uses letters, digits, '-', '_' and '.' only")
        }
        self.name = name
        path = root + "/" + name
    }

    public var configPath: String { path + "/config.toml" }
    public var checkpointsPath: String { path + "/checkpoints" }
    public var mediaPath: String { path + "/media" }
    public var logPath: String { path + "/log.txt" }
    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    public func create() throws {
        for dir in [path, checkpointsPath, mediaPath] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    }

    // MARK: lock

    /// Takes the run's lock, or throws if another live process holds it.
    public func lock() throws {
        // Close-on-exec: a process this one starts (a symbolizer, a launched trainer) must not inherit the lock.
        let fd = open(path + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConfigError(path + "/lock", "(lock)", "cannot open: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw ConfigError(path, "(lock)", "another trainer is running this run (its lock is held); stop it first")
        }
        lockFD = fd
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    public func unlock() {
        if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD); lockFD = -1 }
    }

    /// Whether some process holds the lock right now (a live trainer).
    public var isLocked: Bool {
        let fd = open(path + "/lock", O_RDWR)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return true
    }

    deinit { unlock() }

    // MARK: the losses of a stopped run's unlogged steps

    /// Where a run stopped between two logged steps keeps those steps' losses (`savePendingLosses`).
    public var pendingLossesPath: String { path + "/pending-losses.json" }

    struct PendingLosses: Codable { var step: Int; var bits: [UInt32] }

    /// Keeps the losses of the steps after the last logged one, written by a run that stops at `step`
    /// between two logged steps, so that the run resumed from `step` logs the same mean at its next
    /// logged step as an uninterrupted run would. Bit patterns, so they come back exactly.
    public func savePendingLosses(_ losses: [Float], step: Int) throws {
        let data = try JSONEncoder().encode(PendingLosses(step: step, bits: losses.map(\.bitPattern)))
        try AtomicFile.write(data, to: pendingLossesPath)
    }

    /// The losses kept by a stop at `step`; none when the run did not stop there (it stopped on a
    /// logged step, at another step, or crashed).
    public func pendingLosses(step: Int) -> [Float] {
        guard let data = FileManager.default.contents(atPath: pendingLossesPath),
              let kept = try? JSONDecoder().decode(PendingLosses.self, from: data), kept.step == step else { return [] }
        return kept.bits.map(Float.init(bitPattern:))
    }

    // MARK: checkpoints

    public func checkpointPath(step: Int) -> String { checkpointsPath + String(format: "/step-%07d.safetensors", step) }

    /// Writes a checkpoint atomically, points `latest` at it, keeps the newest `keep`.
    public func saveCheckpoint(_ tensors: [String: Tensor], metadata: [String: String], step: Int, keep: Int) throws {
        let p = checkpointPath(step: step)
        try Safetensors.write(tensors, metadata: metadata, to: p)
        try AtomicFile.write(Data(((p as NSString).lastPathComponent + "\n").utf8), to: checkpointsPath + "/latest")
        let all = try checkpoints()
        if keep > 0, all.count > keep { for old in all.dropLast(keep) { try? FileManager.default.removeItem(atPath: old.path) } }
    }

    /// Checkpoints on disk, oldest first.
    public func checkpoints() throws -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsPath)) ?? []
        return names.compactMap { n -> (Int, String)? in
            guard n.hasPrefix("step-"), n.hasSuffix(".safetensors"), let s = Int(n.dropFirst(5).dropLast(12)) else { return nil }
            return (s, checkpointsPath + "/" + n)
        }.sorted { $0.0 < $1.0 }
    }

    /// The newest checkpoint that reads back whole (the `latest` pointer first, then older ones).
    public func latestCheckpoint() throws -> (step: Int, file: SafetensorsFile)? {
        var candidates = try checkpoints().reversed().map { $0 }
        if let pointed = try? String(contentsOfFile: checkpointsPath + "/latest", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           let i = candidates.firstIndex(where: { ($0.path as NSString).lastPathComponent == pointed }) {
            candidates.insert(candidates.remove(at: i), at: 0)
        }
        for c in candidates {
            if let f = try? Safetensors.read(c.path) { return (c.step, f) }
            appendLog("checkpoint \(c.path) is unreadable; trying an older one")
        }
        return nil
    }

    // MARK: log

    public func appendLog(_ line: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        let text = "\(stamp) \(line)\n"
        if let h = FileHandle(forWritingAtPath: logPath) {
            h.seekToEndOfFile(); h.write(text.data(using: .utf8)!); try? h.close()
        } else {
            _ = FileManager.default.createFile(atPath: logPath, contents: text.data(using: .utf8))   // best effort: a log line is never worth failing a step
        }
    }
}
