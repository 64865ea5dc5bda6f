// Run archives: a run's history (its record, every metric row and event), config, log and newest
// media clip as plain files — `gpd runs export` writes them, `gpd runs import` brings them into a
// store. The demo's runs ship this way in samples/demo/runs, so a fresh checkout can browse the
// runs that made the demo models without a database in git. Checkpoints stay behind: an imported
// run is history to read and compare, not a run to resume.
import Foundation

/// What the store holds about one run.
public struct RunHistory: Codable, Equatable {
    public var run: RunRecord
    public var metrics: [MetricRow]
    public var events: [EventRow]
}

public enum RunArchive {
    /// The files copied beside run.json (those that exist).
    static let files = ["config.toml", "log.txt"]

    /// Writes `names` (all runs when empty) of `store` to `dir`/NAME/, with each run's newest media
    /// clip unless `media` is false (the history alone: a few kilobytes instead of a clip's hundreds).
    /// Returns the names written.
    @discardableResult
    public static func export(_ store: RunStore, names: [String] = [], to dir: String, media: Bool = true) throws -> [String] {
        let all = try store.runs().map(\.name)
        let chosen = names.isEmpty ? all : names
        for name in chosen where !all.contains(name) { throw ConfigError(store.root, name, "no such run (runs: \(all.joined(separator: ", ")))") }
        let fm = FileManager.default
        for name in chosen {
            guard var history = try store.history(name) else { continue }
            (history.run.pid, history.run.heartbeat) = (nil, nil)
            let src = store.root + "/" + name, out = dir + "/" + name
            try fm.createDirectory(atPath: media ? out + "/media" : out, withIntermediateDirectories: true)
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try e.encode(history).write(to: URL(fileURLWithPath: out + "/run.json"), options: .atomic)
            for f in files where fm.fileExists(atPath: src + "/" + f) { try replaceCopy(src + "/" + f, out + "/" + f) }
            for f in media ? newestMedia(src + "/media") : [] { try replaceCopy(src + "/media/" + f, out + "/media/" + f) }
        }
        return chosen
    }

    /// Imports every archived run in `dir` (or only `names`) into `store`, each whole or not at all. A
    /// run whose name the store already has is skipped, never overwritten; a run that cannot be
    /// imported (a malformed run.json, a symbolic link) is reported in `failed` and the others still
    /// come in. Throws only when the archive itself cannot be read.
    @discardableResult
    public static func importAll(from dir: String, into store: RunStore, names: [String] = [])
        throws -> (imported: [String], skipped: [String], failed: [(name: String, error: Error)]) {
        let found = try archivedRuns(in: dir, names: names)
        var imported: [String] = [], skipped: [String] = [], failed: [(name: String, error: Error)] = []
        for name in found {
            do {
                let r = try importRuns(from: dir, into: store, names: [name])
                imported += r.imported; skipped += r.skipped
            } catch { failed.append((name, error)) }
        }
        return (imported, skipped, failed)
    }

    /// The archive's manifest of the runs whose exports are bundled models, `dir`/bundled.json:
    /// `{"models": [{"model": NAME, "run": RUN}, …]}`, in the order a reader should meet them. No file,
    /// no manifest ([]); a file that is not that shape throws, naming the file and the entry.
    /// `archivedRecord` gives each run's record, whose `updated` tells the imported run from another
    /// of the same name.
    public static func bundledModels(in dir: String) throws -> [(model: String, run: String)] {
        let path = dir + "/" + manifestName
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        struct Entry: Decodable { var model: String, run: String }
        struct Manifest: Decodable { var models: [Entry] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw ConfigError(path, "models", "not a list of {\"model\": NAME, \"run\": RUN}: \(error)")
        }
        var seen = Set<String>()
        for (i, e) in manifest.models.enumerated() {
            guard !e.model.isEmpty, !e.run.isEmpty else { throw ConfigError(path, "models[\(i)]", "model and run must be names, got '\(e.model)' and '\(e.run)'") }
            guard seen.insert(e.run).inserted else { throw ConfigError(path, "models[\(i)]", "run '\(e.run)' is named twice") }
        }
        return manifest.models.map { ($0.model, $0.run) }
    }

    /// The manifest's file name in an archive folder (samples/demo/runs/bundled.json).
    public static let manifestName = "bundled.json"

    /// An archived run's record (`dir`/NAME/run.json), as an import brings it into a store; its metrics
    /// and events are not decoded, so the studio can read the bundled models' records at start-up.
    public static func archivedRecord(in dir: String, name: String) throws -> RunRecord {
        struct RecordOnly: Decodable { var run: RunRecord }
        return try archived(RecordOnly.self, in: dir, name: name).run
    }

    /// `dir`/NAME/run.json decoded as `type`, or an error naming the file.
    static func archived<T: Decodable>(_ type: T.Type, in dir: String, name: String) throws -> T {
        let path = dir + "/" + name + "/run.json"
        do { return try JSONDecoder().decode(type, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw ConfigError(path, "(run.json)", "not a run history: \(error)")
        }
    }

    /// The archived runs in `dir` (NAME/run.json), or `names` checked against them.
    public static func archivedRuns(in dir: String, names: [String]) throws -> [String] {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dir) else { throw ConfigError(dir, "(archive)", "no such folder") }
        let found = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { fm.fileExists(atPath: dir + "/" + $0 + "/run.json") }.sorted()
        if found.isEmpty { throw ConfigError(dir, "(archive)", "holds no archived runs (NAME/run.json)") }
        for n in names where !found.contains(n) { throw ConfigError(dir, n, "no such archived run (archived: \(found.joined(separator: ", ")))") }
        return names.isEmpty ? found : found.filter { names.contains($0) }
    }

    /// Imports the archived runs (all, or `names`), stopping at the first that cannot be imported.
    @discardableResult
    public static func importRuns(from dir: String, into store: RunStore, names: [String] = []) throws -> (imported: [String], skipped: [String]) {
        let fm = FileManager.default
        let found = try archivedRuns(in: dir, names: names)
        var imported: [String] = [], skipped: [String] = []
        for name in found {
            let path = dir + "/" + name + "/run.json"
            var history = try archived(RunHistory.self, in: dir, name: name)
            guard history.run.name == name else { throw ConfigError(path, "run.name", "is '\(history.run.name)', the folder is '\(name)'") }
            if try store.run(name) != nil || fm.fileExists(atPath: store.root + "/" + name) { skipped.append(name); continue }
            // A run archived while it was live is history now.
            if [RunStatus.running, .paused, .created].contains(history.run.status) { history.run.status = .stopped }
            (history.run.pid, history.run.heartbeat) = (nil, nil)
            // Only regular files are copied: a symlink in an archive (log.txt → /etc/shadow) would show
            // another file's contents as the run's, so such an archive is refused before anything is made.
            let sources = files.map { (dir + "/" + name + "/" + $0, $0) }.filter { fm.fileExists(atPath: $0.0) || isSymlink($0.0) }
                + ((try? fm.contentsOfDirectory(atPath: dir + "/" + name + "/media")) ?? []).map { (dir + "/" + name + "/media/" + $0, "media/" + $0) }
            for path in [dir + "/" + name, dir + "/" + name + "/run.json", dir + "/" + name + "/media"] + sources.map(\.0) where isSymlink(path) {
                throw ConfigError(path, "(archive)", "is a symbolic link; archives hold plain files only, so this run was not imported")
            }
            let folder = try RunFolder(root: store.root, name: name)
            try folder.create()
            do {
                for (from, rel) in sources { try replaceCopy(from, folder.path + "/" + rel) }
                try store.insert(history)
            } catch {
                try? fm.removeItem(atPath: folder.path)   // all or nothing for this run
                throw error
            }
            try store.event(name, step: history.run.step, kind: .imported, "imported from \(dir) (history, config, log and newest media; no checkpoints)")
            imported.append(name)
        }
        return (imported, skipped)
    }

    /// The newest media clip: its .safetensors and the same-stem .gif.
    static func newestMedia(_ dir: String) -> [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        guard let newest = all.filter({ $0.hasSuffix(".safetensors") }).sorted().last else { return [] }
        let stem = String(newest.dropLast(".safetensors".count))
        return all.filter { $0 == newest || $0 == stem + ".gif" }.sorted()
    }

    static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    static func replaceCopy(_ from: String, _ to: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: to) { try fm.removeItem(atPath: to) }
        try fm.copyItem(atPath: from, toPath: to)
    }
}
