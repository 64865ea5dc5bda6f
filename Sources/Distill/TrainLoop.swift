// What every trainer shares: the run folder and its lock, the resolved config, resume from the newest
// readable checkpoint (weights, optimizer moments, EMA, step — data and noise are functions of the
// step, so nothing else is needed to continue exactly), metrics and heartbeats in the store, control
// commands at step boundaries (pause, resume, stop, lr), graceful stop on SIGINT/SIGTERM with a final
// checkpoint, and a NaN/Inf guard that fails the run naming the step and the tensor. Under mpirun
// (docs/parallel.md) every rank runs the same loop: rank 0 alone writes the store, the folder and the
// log, reads the control channel and hands each command to every rank, so all apply it at one step.
import Cluster
import Dispatch
import Foundation
import Media
import NN
import Runs
import Tensors

/// Set from a signal handler's queue, read by the loop at step boundaries.
public final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private var sources: [DispatchSourceSignal] = []
    public init() {}
    public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    public func set() { lock.lock(); value = true; lock.unlock() }

    /// Routes SIGINT and SIGTERM to this flag (instead of killing the process mid-write).
    public func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [weak self] in self?.set() }
            s.resume()
            sources.append(s)
        }
    }
}

/// A stop asked for during a long phase; the trainer ends the run as stopped.
public struct StopRequested: Error {}

public struct TrainError: Error, CustomStringConvertible {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

/// Reports progress to the caller (the CLI's progress bar) without the loop knowing about terminals.
public protocol TrainReporter: AnyObject {
    func progress(step: Int, total: Int, loss: Float, rate: Double)
    func message(_ text: String)
}

public final class TrainSession {
    public let store: RunStore
    public let folder: RunFolder
    public let kind: RunKind
    /// The processes of this run; rank 0 is the one writer.
    public let world = World.current
    public var writer: Bool { world.isRoot }
    public let stop = StopFlag()
    public weak var reporter: TrainReporter?
    public private(set) var paused = false
    public var lrOverride: Float?
    /// On the other ranks, the run's newest control command when this start began: a `stop` queued after it
    /// is one rank 0 takes, which `checkStop` acts on here too.
    private var controlBaseline: Int64 = 0
    /// Trainer-specific commands (e.g. a distillation's remaining stages): returns a description of
    /// what was applied, nil for an unknown command; throws to refuse it with a reason.
    public var customControl: ((_ command: ControlCommand, _ payload: String, _ step: Int) throws -> String?)?

    /// Opens (or creates) run `name` under `root`, takes its lock and writes the resolved config.
    /// With `resume` false an existing run with checkpoints is refused (nothing is overwritten).
    public init(root: String, name: String, kind: RunKind, configTOML: String, resume: Bool) throws {
        folder = try RunFolder(root: root, name: name)
        self.kind = kind
        guard world.isRoot else {
            // Other ranks wait for rank 0 to create the run (an error there aborts the job), then read it.
            world.barrier()
            store = try RunStore(root: root)
            controlBaseline = try store.lastControlID(name)
            return
        }
        store = try RunStore(root: root)
        defer { world.barrier() }
        if folder.exists, !resume, !(try folder.checkpoints().isEmpty) {
            throw TrainError("run '\(name)' already has checkpoints in \(folder.path); use --resume to continue it or choose another --run name")
        }
        try folder.create()
        try folder.lock()
        if let existing = try store.run(name), existing.kind != kind {
            throw TrainError("run '\(name)' is a \(existing.kind) run, not \(kind)")
        }
        try store.register(name: name, kind: kind)
        if !resume || !FileManager.default.fileExists(atPath: folder.configPath) {
            try AtomicFile.write(Data(configTOML.utf8), to: folder.configPath)
        }
        try store.update(name, status: .running, pid: Int(getpid()), worldSize: world.size)
        folder.appendLog("\(resume ? "resumed" : "started") \(kind) run, pid \(getpid())" + (world.size > 1 ? ", \(world.size) processes" : ""))
    }

    public var name: String { folder.name }

    /// The newest readable checkpoint, with the metrics after it dropped (they will be recomputed).
    public func resumePoint() throws -> (step: Int, file: SafetensorsFile)? {
        let c = try folder.latestCheckpoint()
        // Every rank must continue from the same step: rank 0's choice.
        guard try world.broadcast(c?.step ?? -1) == c?.step ?? -1 else {
            throw TrainError("rank \(world.rank) finds \(c.map { "checkpoint step \($0.step)" } ?? "no checkpoint") in \(folder.path) and rank 0 another: the ranks must share the run folder (the same path on every machine)")
        }
        guard let c else { return nil }
        guard writer else { return c }
        try store.truncateMetrics(name, after: c.step)
        try store.event(name, step: c.step, kind: .resume, "resumed from step \(c.step)")
        return c
    }

    struct Command: Codable { var command: String, payload: String }

    /// Applies pending control commands; blocks while paused. Returns false when the run must stop.
    /// Rank 0 reads the commands and every rank applies the same ones; a stop on any rank (a signal)
    /// stops all of them at this step.
    public func handleControl(step: Int) throws -> Bool {
        repeat {
            let taken = writer ? try store.takeControl(name).map { Command(command: $0.command, payload: $0.payload) } : []
            for c in try world.broadcast(taken) {
                guard let command = ControlCommand(rawValue: c.command) else {
                    try event(step: step, kind: .controlRefused, "unknown command \(c.command)")
                    continue
                }
                switch command {
                case .pause: paused = true; try write { try store.update(name, status: .paused) }
                case .resume: paused = false; try write { try store.update(name, status: .running) }
                case .stop: stop.set()
                case .lr:
                    guard let v = Float(c.payload), v > 0, v.isFinite else { try event(step: step, kind: .controlRefused, "lr '\(c.payload)'"); continue }
                    lrOverride = v
                case .stages, .stepsPerStage:
                    do {
                        guard let applied = try customControl?(command, c.payload, step) else {
                            try event(step: step, kind: .controlRefused, "\(c.command) does not apply to a \(kind.rawValue) run")
                            continue
                        }
                        try event(step: step, kind: .control, applied)
                        reporter?.message("control: \(applied)")
                    } catch {
                        try event(step: step, kind: .controlRefused, "\(c.command) \(c.payload): \(error)")
                        reporter?.message("control refused: \(error)")
                    }
                    continue
                }
                try event(step: step, kind: .control, "\(c.command) \(c.payload)".trimmingCharacters(in: .whitespaces))
                reporter?.message("control: \(c.command) \(c.payload)")
            }
            if world.max([stop.isSet ? 1 : 0])[0] != 0 { stop.set(); return false }
            if paused { try write { try store.update(name) }; Thread.sleep(forTimeInterval: 0.5) }
        } while paused
        return true
    }

    /// Runs `body` on the writer (rank 0) only.
    public func write(_ body: () throws -> Void) rethrows { if writer { try body() } }

    /// Metric values at `step` (rank 0 writes them).
    public func log(step: Int, _ values: [String: Double]) throws { try write { try store.log(name, step: step, values) } }

    /// An event in the run's history (rank 0 writes it).
    public func event(step: Int, kind: EventKind, _ detail: String) throws { try write { try store.event(name, step: step, kind: kind, detail) } }

    /// A checkpoint in the run folder (rank 0 gathers and writes it; the other ranks skip both).
    public func saveCheckpoint(_ tensors: @autoclosure () throws -> [String: Tensor], metadata: @autoclosure () throws -> [String: String],
                               step: Int, keep: Int) throws {
        try write { try folder.saveCheckpoint(tensors(), metadata: metadata(), step: step, keep: keep) }
    }

    /// Every rank's agreement that a phase only rank 0 runs (encoding a dataset, an export) ended well:
    /// rank 0's `ok` on every rank.
    public func agree(_ ok: Bool) throws -> Bool { try world.broadcast(ok) }

    /// For long phases between steps (a dataset's encoding): throws `StopRequested` once a stop was asked
    /// for, by signal or by `gpd runs stop`, so it is acted on within a few seconds instead of after the
    /// phase. Rank 0 takes the command; the other ranks see it queued. Other commands wait for the next
    /// step boundary.
    public func checkStop() throws {
        if stop.isSet { throw StopRequested() }
        if writer, try store.takeStop(name) {
            stop.set()
            try store.event(name, step: 0, kind: .control, "stop")
            throw StopRequested()
        }
        if !writer, try store.stopQueued(name, after: controlBaseline) {
            stop.set()
            throw StopRequested()
        }
    }

    /// Ends the run as stopped before its first step of this start (at the newest checkpoint's step).
    public func stopBeforeTraining() throws {
        let step = (try? folder.latestCheckpoint())??.step ?? 0
        reporter?.message("stopped before training (step \(step))")
        try finish(step: step, status: .stopped)
    }

    /// Fails the run if any of `tensors` holds a NaN/Inf, naming it.
    public func checkFinite(_ tensors: [(String, [Float])], step: Int) throws {
        for (n, values) in tensors where values.contains(where: { !$0.isFinite }) {
            let message = "non-finite values in \(n) at step \(step); the last good checkpoint is kept"
            try write {
                try store.update(name, status: .failed, step: step)
                try store.event(name, step: step, kind: .failed, message)
                folder.appendLog("FAILED: " + message)
            }
            throw TrainError("run '\(name)' failed: " + message)
        }
    }

    /// A clip for people (GIF) and for the studio (safetensors with the caption) in media/.
    public func saveMedia(_ frames: Tensor, caption: String, name: String) throws {
        try write {
            try ClipFiles.write(frames, caption: caption, to: folder.mediaPath + "/\(name).gif")
            try ClipFiles.write(frames, caption: caption, to: folder.mediaPath + "/\(name).safetensors")
        }
    }

    public func finish(step: Int, status: RunStatus) throws {
        try write {
            try store.update(name, status: status, step: step)
            try store.event(name, step: step, kind: .ended(status), "\(status.rawValue) at step \(step)")
            folder.appendLog("\(status.rawValue) at step \(step)")
            folder.unlock()
        }
    }
}

/// Optimizer and EMA state as checkpoint tensors: "param.<name>", "ema.<name>", "optim.*".
public enum TrainState {
    public static func tensors(model: [(String, Tensor)], optimizer: AdamW, ema: EMA?) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (n, p) in model { out["param." + n] = Tensor(shape: p.shape, data: p.data) }
        if let ema { for ((n, p), s) in zip(model, ema.shadow) { out["ema." + n] = Tensor(shape: p.shape, data: s) } }
        for (k, v) in optimizer.state() { out[k] = v }
        return out
    }

    public static func restore(_ file: SafetensorsFile, named: [(String, Tensor)], optimizer: AdamW, ema: EMA?, path: String) throws {
        for (n, p) in named {
            guard let t = file.tensors["param." + n] else { throw TensorError.missingTensor(name: "param." + n, path: path) }
            guard t.count == p.count else { throw TensorError.wrongShape(name: "param." + n, expected: p.shape, actual: t.shape, path: path) }
            p.data = t.data
        }
        try optimizer.restore(file.tensors, path: path)
        if let ema {
            try ema.restore(named.map { n, _ in
                guard let t = file.tensors["ema." + n] else { throw TensorError.missingTensor(name: "ema." + n, path: path) }
                return t.data
            })
        }
    }
}

/// The losses since the last log line, written to the store as their mean with the step time.
public struct LossWindow {
    var losses: [Float] = []
    /// How many of `losses` were taken before a stop and restored (their time is not this process's).
    var restored = 0
    var started = Date()
    /// A window that starts with the losses a stopped run kept (`RunFolder.pendingLosses`; none for a
    /// run that did not stop between two logged steps).
    public init(restoring kept: [Float] = []) { losses = kept; restored = kept.count }

    public mutating func add(_ loss: Float) { losses.append(loss) }

    /// Logs mean loss, `extra` metrics and seconds per step at `step`; reports progress as
    /// `progress` of `total` (a stage's own count for distillation).
    public mutating func flush(_ session: TrainSession, step: Int, progress: Int, total: Int, extra: [String: Double]) throws {
        guard !losses.isEmpty else { return }
        let dt = Date().timeIntervalSince(started) / Double(max(1, losses.count - restored))
        var values = extra
        values["loss"] = Double(losses.reduce(0, +) / Float(losses.count))
        values["sec_per_step"] = dt
        try session.log(step: step, values)
        try session.write { try session.store.update(session.name, step: step) }
        session.reporter?.progress(step: progress, total: total, loss: losses.last!, rate: 1 / dt)
        losses.removeAll()
        restored = 0
        started = Date()
    }
}

/// What a trainer's step body hands back to the loop: this step's loss over the global batch and
/// metrics to log beside it.
public struct StepOutcome {
    public var loss: Float
    public var metrics: [String: Double]
    public init(loss: Float, metrics: [String: Double] = [:]) { self.loss = loss; self.metrics = metrics }
}

extension TrainSession {
    /// The optimizer step every trainer takes after computing `loss` on this rank's rows: the loss over
    /// the global batch checked for NaN/Inf, backward, gradients averaged over the ranks, clipping
    /// (`clip` ≤ 0: none; a non-finite norm fails the run naming the parameter), the update.
    public func optimize(_ loss: Tensor, params: [Tensor], named: () -> [(String, Tensor)], optimizer: AdamW, clip: Double,
                         step: Int) throws -> StepOutcome {
        let globalLoss = world.mean(loss.item)
        try checkFinite([("loss", [globalLoss])], step: step)
        optimizer.zeroGrad()
        loss.backward()
        let exchange = world.averageGradients(params)
        let norm = clipGradNorm(params, maxNorm: clip > 0 ? Float(clip) : .infinity)
        if !norm.isFinite { try checkFinite(named().map { ("gradient of \($0.0)", $0.1.grad ?? []) }, step: step) }
        optimizer.update()
        return StepOutcome(loss: globalLoss, metrics: ["grad_norm": Double(norm)].merging(world.exchangeMetrics(seconds: exchange)) { a, _ in a })
    }

    /// The loop every trainer runs: steps `from`..<`to` of a schedule (for a distillation, of a stage,
    /// with `offset` the global step of its first; `to` is read again at each step, as a live change
    /// of the steps per stage moves it), each after the control channel (pause, stop, lr)
    /// and at its learning rate; the loss window logged every `logEvery` global steps and at the end;
    /// `evaluate` (rank 0) every `evalEvery` steps and at the end — a stop asked for during it stops the
    /// run at the next step; `checkpoint` every `checkpointEvery` global steps and at the end. On a stop
    /// it keeps the losses not yet logged (so the resumed run logs what an uninterrupted one would),
    /// checkpoints, marks the run stopped and returns nil; otherwise the step reached.
    public func loop(from start: Int, to end: @autoclosure () -> Int, offset: Int = 0, optimizer: AdamW, schedule: WarmupCosine, logEvery: Int,
                     evalEvery: Int? = nil, checkpointEvery: Int, checkpointAtEnd: Bool = true,
                     step body: (_ global: Int) throws -> StepOutcome, evaluate: (_ global: Int) throws -> Void = { _ in },
                     checkpoint: (_ global: Int, _ local: Int) throws -> Void) throws -> Int? {
        var local = start, window = LossWindow(restoring: folder.pendingLosses(step: offset + start))
        while local < end() {
            guard try handleControl(step: offset + local) else {
                if writer, !window.losses.isEmpty { try folder.savePendingLosses(window.losses, step: offset + local) }
                try checkpoint(offset + local, local)
                try finish(step: offset + local, status: .stopped)
                return nil
            }
            optimizer.lr = lrOverride ?? schedule.rate(at: local)
            let outcome = try body(offset + local)
            local += 1
            let global = offset + local
            window.add(outcome.loss)
            if global % logEvery == 0 || local == end() {
                try window.flush(self, step: global, progress: local, total: end(),
                                 extra: outcome.metrics.merging(["lr": Double(optimizer.lr)]) { a, _ in a })
            }
            if let evalEvery, writer, local % evalEvery == 0 || local == end() {
                do { try evaluate(global) } catch is StopRequested { stop.set() }
            }
            if global % checkpointEvery == 0 || (checkpointAtEnd && local == end()) { try checkpoint(global, local) }
        }
        return offset + local
    }
}
