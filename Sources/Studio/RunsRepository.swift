// The run store as the studio reads it: the runs list and the open run's detail (metrics, events, log,
// config, newest media clip, marked runs' curves), read on a queue of its own and handed to the UI
// loop through the mailbox, so a busy database or a large history never stalls a keypress. One read
// at a time; a request while one is in flight is folded into the next.
import Dispatch
import Foundation
import Runs
import Tensors

public final class RunsRepository: @unchecked Sendable {
    let queue = DispatchQueue(label: "gpd.studio.runs")
    let mailbox: Mailbox
    let root: String
    private var store: RunStore?
    private let lock = NSLock()
    private var inFlight = false, pending: Request?

    /// What to read: the open run's name (nil: the list only), the runs to compare it with, and the
    /// media clip already on screen (not read again while it is the newest).
    public struct Request {
        public var detail: String?
        public var marked: Set<String>
        public var shownMedia: (name: String, frames: [Float]?, shape: [Int], caption: String)?
    }

    public init(mailbox: Mailbox, root: String) {
        self.mailbox = mailbox
        self.root = root
    }

    public func refresh(_ request: Request) {
        lock.lock()
        if inFlight { pending = request; lock.unlock(); return }
        inFlight = true
        lock.unlock()
        queue.async { [self] in
            read(request)
            lock.lock()
            let next = pending
            pending = nil
            inFlight = false
            lock.unlock()
            if let next { refresh(next) }
        }
    }

    func read(_ request: Request) {
        if store == nil { store = try? RunStore(root: root) }
        guard let store else {
            mailbox.post { [root] s in s.runs.warning = "cannot open the run store in \(root)" }
            return
        }
        let rows: [RunSummary]
        do { rows = try RunSupervisor.summaries(store) } catch {
            mailbox.post { s in s.runs.warning = "run store busy or unreadable: \(error)" }
            return
        }
        let opened = request.detail.map { read(detailOf: $0, store: store, rows: rows, request: request) }
        mailbox.post { s in
            s.runs.rows = rows
            s.runs.loaded = true
            s.runs.warning = nil
            s.runs.selected = min(s.runs.selected, max(0, s.runs.visible.count - 1))
            // A detail read for a run the user has since left is dropped.
            if let opened, s.run.detail?.name == opened.name { s.run.detail = opened }
        }
    }

    func read(detailOf name: String, store: RunStore, rows: [RunSummary], request: Request) -> RunDetail {
        var d = RunDetail(name: name)
        if let summary = rows.first(where: { $0.name == name }) { (d.kind, d.status, d.step) = (summary.kind, summary.status, summary.step) }
        for m in (try? store.metrics(name)) ?? [] { d.metrics[m.key, default: []].append((Double(m.step), m.value)) }
        d.worldSize = (try? store.run(name))??.worldSize ?? 1
        d.events = (try? store.events(name)) ?? []
        let log = (try? String(contentsOfFile: root + "/\(name)/log.txt", encoding: .utf8)) ?? ""
        d.logTail = log.split(separator: "\n").suffix(20).map(String.init)
        d.config = (try? String(contentsOfFile: root + "/\(name)/config.toml", encoding: .utf8)) ?? ""
        let mediaDir = root + "/\(name)/media"
        if let newest = ((try? FileManager.default.contentsOfDirectory(atPath: mediaDir)) ?? []).filter({ $0.hasSuffix(".safetensors") }).sorted().last {
            if let shown = request.shownMedia, shown.name == newest {
                (d.mediaFrames, d.mediaShape, d.mediaCaption, d.mediaName) = (shown.frames, shown.shape, shown.caption, shown.name)
            } else if let f = try? Safetensors.read(mediaDir + "/" + newest), let frames = f.tensors["frames"], frames.rank == 4 {
                (d.mediaFrames, d.mediaShape, d.mediaCaption, d.mediaName) = (frames.data, frames.shape, f.metadata["caption"] ?? "", newest)
            }
        }
        for other in request.marked where other != name {
            var m: [String: [(x: Double, y: Double)]] = [:]
            for row in (try? store.metrics(other)) ?? [] { m[row.key, default: []].append((Double(row.step), row.value)) }
            d.compared[other] = m
        }
        return d
    }
}
