// The evaluation prompt suite (samples/prompts/eval.txt) and the seed convention (seeds 0–4).
import Data
import Foundation

public enum EvalSuite {
    public static let defaultSeeds: [UInt64] = [0, 1, 2, 3, 4]

    /// samples/prompts/eval.txt from the working directory or near the binary; if it cannot be found,
    /// 16 captions of the grammar (seeds 9000…).
    public static func prompts() -> [String] {
        var candidates = [FileManager.default.currentDirectoryPath + "/samples/prompts/eval.txt"]
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 { candidates.append(url.path + "/samples/prompts/eval.txt"); url = url.deletingLastPathComponent() }
        for c in candidates {
            if let text = try? String(contentsOfFile: c, encoding: .utf8) { return read(text) }
        }
        return (0..<16).map { ShapesWorld.sample(seed: 9000 + UInt64($0)).scene.caption }
    }

    /// Non-empty lines.
    public static func read(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// "0-4" or "0,2,7" → seeds.
    public static func parseSeeds(_ s: String) throws -> [UInt64] {
        if let dash = s.firstIndex(of: "-"), let a = UInt64(s[..<dash]), let b = UInt64(s[s.index(after: dash)...]), a <= b { return Array(a...b) }
        let parts = s.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
            throw DataError.invalid("seeds '\(s)': use A-B with A ≤ B (e.g. 0-4) or a comma list (e.g. 0,2,7)")
        }
        return parts.map { $0! }
    }
}
