// The run store: one SQLite database per runs root (GRDB, WAL mode, so the studio reads while
// trainers write), holding runs, metrics, events and pending control commands. GRDB is a
// well-kept binding over the system libsqlite3: migrations, typed rows and a pool of readers
// without hand-written C glue.
import Foundation
import GRDB

/// What a run trains: a VAE, a teacher (flow matching) or a distilled student.
public enum RunKind: String, Codable, CaseIterable, DatabaseValueConvertible {
    case vae, teacher, distill

    /// The gpd command that runs this kind: `train vae`, `train teacher`, `distill`.
    public var command: [String] { self == .distill ? ["distill"] : ["train", rawValue] }
}

public enum RunStatus: String, Codable, CaseIterable, DatabaseValueConvertible {
    case created, running, paused, finished, failed, stopped
    /// Shown for a run whose status says running/paused but whose trainer holds no lock.
    case crashed
}

public struct RunRecord: Codable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runs"
    public var name: String
    public var kind: RunKind
    public var status: RunStatus
    public var pid: Int?
    public var heartbeat: Double?
    public var stage: String?
    public var step: Int
    public var created: Double
    public var updated: Double
    /// Processes the run's trainer ran on (mpirun -np N); 1 without MPI. The newest start's.
    public var worldSize: Int

    enum CodingKeys: String, CodingKey {
        case name, kind, status, pid, heartbeat, stage, step, created, updated, worldSize = "world_size"
    }

    public init(name: String, kind: RunKind, status: RunStatus, pid: Int?, heartbeat: Double?, stage: String?, step: Int,
                created: Double, updated: Double, worldSize: Int = 1) {
        (self.name, self.kind, self.status, self.pid, self.heartbeat, self.stage) = (name, kind, status, pid, heartbeat, stage)
        (self.step, self.created, self.updated, self.worldSize) = (step, created, updated, worldSize)
    }

    /// Archives written before world sizes were recorded read as 1.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        (name, kind, status) = (try c.decode(String.self, forKey: .name), try c.decode(RunKind.self, forKey: .kind), try c.decode(RunStatus.self, forKey: .status))
        (pid, heartbeat, stage) = (try c.decodeIfPresent(Int.self, forKey: .pid), try c.decodeIfPresent(Double.self, forKey: .heartbeat),
                                   try c.decodeIfPresent(String.self, forKey: .stage))
        (step, created, updated) = (try c.decode(Int.self, forKey: .step), try c.decode(Double.self, forKey: .created), try c.decode(Double.self, forKey: .updated))
        worldSize = try c.decodeIfPresent(Int.self, forKey: .worldSize) ?? 1
    }
}

public struct MetricRow: Codable, Equatable, FetchableRecord {
    public var step: Int
    public var key: String
    public var value: Double
    public var time: Double
}

/// What an event records. The store keeps the text, so a kind written by another version of gpd still
/// reads (and shows as its text); the project's own producers and readers use the constants, so a
/// misspelt kind does not compile.
public struct EventKind: RawRepresentable, Hashable, Codable, CustomStringConvertible, DatabaseValueConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A trainer started again from its newest checkpoint.
    public static let resume = EventKind(rawValue: "resume")
    /// A control command applied; `controlRefused`: one the trainer did not apply, with why.
    public static let control = EventKind(rawValue: "control")
    public static let controlRefused = EventKind(rawValue: "control-refused")
    /// The run ended: its status as the kind (finished, stopped, failed with the error as detail).
    public static func ended(_ status: RunStatus) -> EventKind { EventKind(rawValue: status.rawValue) }
    public static let failed = ended(.failed)
    /// A periodic evaluation; `stageEval`: a distillation stage's closing evaluation.
    public static let eval = EventKind(rawValue: "eval")
    public static let stageEval = EventKind(rawValue: "stage-eval")
    /// A distillation stage began (its horizon in the detail).
    public static let stage = EventKind(rawValue: "stage")
    /// The teacher a distillation froze, with its weights' digest.
    public static let teacher = EventKind(rawValue: "teacher")
    /// The run's history came from an archive.
    public static let imported = EventKind(rawValue: "imported")
}

public struct EventRow: Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var step: Int
    public var time: Double
    public var kind: EventKind
    public var detail: String

    public init(id: Int64, step: Int, time: Double, kind: EventKind, detail: String) {
        (self.id, self.step, self.time, self.kind, self.detail) = (id, step, time, kind, detail)
    }
}

/// What a trainer can be told while it runs (the control channel), with its payload's meaning.
public enum ControlCommand: String, Codable, CaseIterable {
    case pause, resume, stop
    /// Payload: the new learning rate.
    case lr
    /// Distillation. Payload: the horizons after the current stage ("4,6,8").
    case stages
    /// Distillation. Payload: the steps per stage.
    case stepsPerStage = "steps_per_stage"
}

public struct ControlRow: Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var command: String
    public var payload: String
    public var created: Double
}

public final class RunStore {
    public let root: String
    let db: DatabasePool

    /// Opens (creating if needed) the store of `root` (a folder holding run folders).
    public init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // Two processes opening a new store at once would both find no tables and both make them (the
        // second failing with "table runs already exists"): whoever holds the lock file opens and
        // migrates the database, the other then finds it made.
        let lockPath = root + "/runs.sqlite.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ConfigError(lockPath, "(database)", "cannot open the run database's lock file: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw ConfigError(lockPath, "(database)", "cannot lock the run database: \(String(cString: strerror(errno)))")
            }
        }
        defer { flock(fd, LOCK_UN) }
        // Several trainers and the studio share one database: writers wait for each other (WAL
        // lets readers go on) instead of failing with SQLITE_BUSY.
        var config = Configuration()
        config.busyMode = .timeout(30)
        do { db = try DatabasePool(path: root + "/runs.sqlite", configuration: config) } catch {
            throw ConfigError(root + "/runs.sqlite", "(database)", "cannot open the run database: \(error)")
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (name TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, pid INTEGER,
                                   heartbeat REAL, stage TEXT, step INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, updated REAL NOT NULL);
                CREATE TABLE metrics (run TEXT NOT NULL, step INTEGER NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, time REAL NOT NULL,
                                      PRIMARY KEY (run, key, step));
                CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, run TEXT NOT NULL, step INTEGER NOT NULL, time REAL NOT NULL,
                                     kind TEXT NOT NULL, detail TEXT NOT NULL);
                CREATE TABLE control (id INTEGER PRIMARY KEY AUTOINCREMENT, run TEXT NOT NULL, command TEXT NOT NULL, payload TEXT NOT NULL,
                                      created REAL NOT NULL, applied REAL);
                CREATE INDEX events_run ON events(run, id);
                CREATE INDEX control_run ON control(run, applied);
                """)
        }
        migrator.registerMigration("v2-world-size") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN world_size INTEGER NOT NULL DEFAULT 1")
        }
        try migrator.migrate(db)
    }

    static var now: Double { Date().timeIntervalSince1970 }
    static let insertMetric = "INSERT OR REPLACE INTO metrics (run, step, key, value, time) VALUES (?, ?, ?, ?, ?)"
    static let insertEvent = "INSERT INTO events (run, step, time, kind, detail) VALUES (?, ?, ?, ?, ?)"

    // MARK: runs

    public func register(name: String, kind: RunKind) throws {
        try db.write { db in
            if try RunRecord.fetchOne(db, key: name) == nil {
                try RunRecord(name: name, kind: kind, status: .created, pid: nil, heartbeat: nil, stage: nil, step: 0,
                              created: Self.now, updated: Self.now).insert(db)
            }
        }
    }

    /// Removes a run's record, metrics, events and control rows in one transaction; false if there was no record.
    @discardableResult
    public func remove(_ name: String) throws -> Bool {
        try db.write { db in
            for table in ["metrics", "events", "control"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE run = ?", arguments: [name])
            }
            return try RunRecord.deleteOne(db, key: name)
        }
    }

    public func run(_ name: String) throws -> RunRecord? { try db.read { try RunRecord.fetchOne($0, key: name) } }

    public func runs() throws -> [RunRecord] { try db.read { try RunRecord.order(Column("created").desc).fetchAll($0) } }

    public func update(_ name: String, status: RunStatus? = nil, step: Int? = nil, stage: String? = nil, pid: Int? = nil,
                       worldSize: Int? = nil, heartbeat: Bool = true) throws {
        try db.write { db in
            guard var r = try RunRecord.fetchOne(db, key: name) else { return }
            if let status { r.status = status }
            if let worldSize { r.worldSize = worldSize }
            if let step { r.step = step }
            if let stage { r.stage = stage }
            if let pid { r.pid = pid }
            if heartbeat { r.heartbeat = Self.now }
            r.updated = Self.now
            try r.update(db)
        }
    }

    // MARK: metrics

    /// Records metrics for a step; a rewrite of the same (run, key, step) replaces it, so a resumed run
    /// never duplicates rows.
    public func log(_ name: String, step: Int, _ values: [String: Double]) throws {
        let t = Self.now
        try db.write { db in
            for (k, v) in values where v.isFinite {
                try db.execute(sql: Self.insertMetric,
                               arguments: [name, step, k, v, t])
            }
        }
    }

    /// Drops metrics after `step` (a resume from that checkpoint recomputes them).
    public func truncateMetrics(_ name: String, after step: Int) throws {
        try db.write { try $0.execute(sql: "DELETE FROM metrics WHERE run = ? AND step > ?", arguments: [name, step]) }
    }

    public func metrics(_ name: String, key: String? = nil) throws -> [MetricRow] {
        try db.read { db in
            if let key {
                return try MetricRow.fetchAll(db, sql: "SELECT step, key, value, time FROM metrics WHERE run = ? AND key = ? ORDER BY step",
                                              arguments: [name, key])
            }
            return try MetricRow.fetchAll(db, sql: "SELECT step, key, value, time FROM metrics WHERE run = ? ORDER BY key, step", arguments: [name])
        }
    }

    public func latestMetric(_ name: String, key: String) throws -> MetricRow? {
        try db.read { try MetricRow.fetchOne($0, sql: "SELECT step, key, value, time FROM metrics WHERE run = ? AND key = ? ORDER BY step DESC LIMIT 1",
                                             arguments: [name, key]) }
    }

    // MARK: histories (archives)

    /// The run's record, metrics and events.
    public func history(_ name: String) throws -> RunHistory? {
        guard let r = try run(name) else { return nil }
        return RunHistory(run: r, metrics: try metrics(name), events: try events(name))
    }

    /// Adds an archived run, its metrics and events in one transaction; refused if the name exists.
    public func insert(_ h: RunHistory) throws {
        try db.write { db in
            guard try RunRecord.fetchOne(db, key: h.run.name) == nil else {
                throw ConfigError(root, h.run.name, "a run with this name exists in the store")
            }
            try h.run.insert(db)
            for m in h.metrics {
                try db.execute(sql: Self.insertMetric,
                               arguments: [h.run.name, m.step, m.key, m.value, m.time])
            }
            for e in h.events {
                try db.execute(sql: Self.insertEvent,
                               arguments: [h.run.name, e.step, e.time, e.kind.rawValue, e.detail])
            }
        }
    }

    // MARK: events and control

    public func event(_ name: String, step: Int, kind: EventKind, _ detail: String) throws {
        try db.write { try $0.execute(sql: Self.insertEvent,
                                      arguments: [name, step, Self.now, kind.rawValue, detail]) }
    }

    public func events(_ name: String) throws -> [EventRow] {
        try db.read { try EventRow.fetchAll($0, sql: "SELECT id, step, time, kind, detail FROM events WHERE run = ? ORDER BY id", arguments: [name]) }
    }

    /// Queues a command for the run's trainer.
    public func control(_ name: String, command: ControlCommand, payload: String = "") throws {
        try db.write { try $0.execute(sql: "INSERT INTO control (run, command, payload, created) VALUES (?, ?, ?, ?)",
                                      arguments: [name, command.rawValue, payload, Self.now]) }
    }

    /// Pending commands, oldest first, marked applied as they are taken.
    /// Takes a pending `stop` for `name`, if any, leaving every other command for the next step boundary.
    public func takeStop(_ name: String) throws -> Bool {
        try db.write { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM control WHERE run = ? AND applied IS NULL AND command = 'stop' ORDER BY id LIMIT 1",
                                              arguments: [name]) else { return false }
            try db.execute(sql: "UPDATE control SET applied = ? WHERE id = ?", arguments: [Self.now, id])
            return true
        }
    }

    /// The newest control command's id for `name` (0 when there is none): a baseline for `stopQueued`.
    public func lastControlID(_ name: String) throws -> Int64 {
        try db.read { try Int64.fetchOne($0, sql: "SELECT MAX(id) FROM control WHERE run = ?", arguments: [name]) ?? 0 }
    }

    /// Whether a `stop` for `name` was queued after control command `id`, taken or not: how the ranks
    /// that do not take commands see one that rank 0 takes.
    public func stopQueued(_ name: String, after id: Int64) throws -> Bool {
        try db.read { try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM control WHERE run = ? AND command = 'stop' AND id > ?)", arguments: [name, id]) ?? false }
    }

    public func takeControl(_ name: String) throws -> [ControlRow] {
        try db.write { db in
            let rows = try ControlRow.fetchAll(db, sql: "SELECT id, command, payload, created FROM control WHERE run = ? AND applied IS NULL ORDER BY id",
                                               arguments: [name])
            for r in rows { try db.execute(sql: "UPDATE control SET applied = ? WHERE id = ?", arguments: [Self.now, r.id]) }
            return rows
        }
    }
}
