// A progress line for long work: a bar with steps, rate and ETA on a terminal (stderr), plain
// lines otherwise, nothing with --json.
import Foundation

struct Progress {
    let label: String
    let total: Int
    let enabled: Bool
    let start = Date()
    let tty = isatty(2) != 0

    init(_ label: String, total: Int, enabled: Bool = true) {
        self.label = label; self.total = total; self.enabled = enabled
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = done > 0 ? Double(total - done) / rate : 0
        if tty {
            let width = 30, filled = total > 0 ? width * done / total : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write(String(format: "\r%@ %@ %d/%d  %.1f/s  ETA %.1fs ", label, bar, done, total, rate, eta).data(using: .utf8)!)
            if done == total { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        } else if done == total || done % max(1, total / 10) == 0 {
            FileHandle.standardError.write(String(format: "%@ %d/%d (%.1fs)\n", label, done, total, elapsed).data(using: .utf8)!)
        }
    }
}

/// Prints one JSON object (sorted keys) to stdout.
func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
