// The bench report: rows of (name, measured value, unit, baseline value measured in the same run,
// ratio). Printed as a table or written as one JSON object.
import Foundation

public struct BenchRow: Codable {
    public var group: String
    public var name: String
    /// The engine's figure (GFLOP/s, GB/s or seconds, see `unit`).
    public var value: Double
    public var unit: String
    /// The machine ceiling or reference measured in the same run (same unit), if any.
    public var baseline: Double?
    public var baselineName: String?
    /// value / baseline for rates; baseline / value for seconds (so > 1 is always better).
    public var ratio: Double?
    /// A target the issue sets, as a ratio (e.g. 0.95), and whether it was met.
    public var target: Double?
    public var met: Bool?
    public var note: String?
    /// Seconds per call of the timed work, where a row times one (e.g. a training step).
    public var seconds: Double?
}

public struct BenchReport: Codable {
    public var date: String
    public var machine: String
    public var threads: Int
    public var rows: [BenchRow] = []
    /// This process's peak resident set (VmHWM, MiB) when the report was printed.
    public var peakRSSMiB: Double?

    /// The OpenBLAS kernel set in use and why (`EngineRuntime.blasDecision`).
    public var blasCore: String?

    public init(machine: String, threads: Int, blasCore: String? = nil) {
        let f = ISO8601DateFormatter()
        date = f.string(from: Date())
        self.machine = machine
        self.threads = threads
        self.blasCore = blasCore
    }

    public mutating func add(_ group: String, _ name: String, value: Double, unit: String, baseline: Double? = nil,
                             baselineName: String? = nil, target: Double? = nil, note: String? = nil, seconds: Double? = nil) {
        var ratio: Double? = nil
        if let baseline, baseline > 0, value > 0 { ratio = unit == "s" || unit == "ms" || unit == "µs" ? baseline / value : value / baseline }
        let met = target.flatMap { t in ratio.map { $0 >= t } }
        rows.append(BenchRow(group: group, name: name, value: value, unit: unit, baseline: baseline, baselineName: baselineName,
                             ratio: ratio, target: target, met: met, note: note, seconds: seconds))
    }

    public func table() -> String {
        var out = "gpd bench — \(date), \(machine), \(threads) BLAS thread(s)\n"
        if let blasCore { out += "OpenBLAS core \(blasCore)\n" }
        var group = ""
        for r in rows {
            if r.group != group { group = r.group; out += "\n\(group)\n" }
            // Names up to 44 characters line up; a longer one is printed whole, its row pushed right.
            var line = "  " + r.name.padding(toLength: max(44, r.name.count + 1), withPad: " ", startingAt: 0)
            line += String(format: "%10.3f %-7@", r.value, r.unit as NSString)
            if let b = r.baseline, let n = r.baselineName {
                line += String(format: "  vs %@ %.3f", n as NSString, b)
            }
            if let ratio = r.ratio { line += String(format: "  ratio %.2f", ratio) }
            if let t = r.target, let met = r.met { line += String(format: "  (target ≥ %.2f: %@)", t, met ? "met" : "MISSED") }
            if let note = r.note { line += "  " + note }
            out += line + "\n"
        }
        return out
    }

    public func json() throws -> String {
        var me = self
        me.peakRSSMiB = Double(ModelBench.peakRSSKiB()) / 1024
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try e.encode(me), as: UTF8.self)
    }
}

/// CPU model name from /proc/cpuinfo, for the report header.
public func machineDescription() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = info.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
        .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores"
}
