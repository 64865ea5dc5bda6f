// `gpd eval`: MiniVBench scores of clips (their prompts from metadata or a prompts file).
import ArgumentParser
import Eval
import Foundation
import Tensors

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval",
        abstract: "Score clips with MiniVBench: total, quality, semantic and 13 dimensions.")

    @Option(help: "A clip file (.safetensors with frames [F,H,W,3] or [B,F,H,W,3]) or a folder of them.") var clips: String
    @Option(help: "Prompts, one per line, in clip order (default: each clip's caption metadata).") var prompts: String?
    @Flag(help: "Print one JSON object: total, quality, semantic, dimensions, prompts.") var json = false

    func run() throws {
        let set = try ClipSet.load(clips)
        var texts: [String]? = nil
        if let prompts {
            guard let data = FileManager.default.contents(atPath: prompts) else { throw ValidationError("\(prompts): cannot read") }
            texts = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            guard texts!.count == set.count else { throw ValidationError("\(prompts) has \(texts!.count) prompts for \(set.count) clips") }
        }
        var scores: [ClipScore] = []
        for (i, c) in set.enumerated() {
            guard let p = texts?[i] ?? c.prompt else { throw ValidationError("\(c.source): no prompt (no caption metadata); give --prompts FILE") }
            do { scores.append(try MiniVBench.score(c.frames, prompt: p)) } catch { throw ValidationError("\(c.source): \(error)") }
        }
        let s = MiniVBench.aggregate(scores)
        if json {
            let dims = Dictionary(uniqueKeysWithValues: s.dimensions.map { ($0.key.rawValue, $0.value) })
            let rows = scores.map { c -> [String: Any] in
                let one = MiniVBench.aggregate([c])
                return ["prompt": c.prompt, "total": one.total, "quality": one.quality, "semantic": one.semantic,
                        "dimensions": Dictionary(uniqueKeysWithValues: c.dimensions.map { ($0.key.rawValue, $0.value) })]
            }
            try printJSON(["total": s.total, "quality": s.quality, "semantic": s.semantic, "dimensions": dims, "prompts": rows])
        } else {
            print(String(format: "%d clips   total %.4f   quality %.4f   semantic %.4f", scores.count, s.total, s.quality, s.semantic))
            for d in Dimension.allCases { if let v = s.dimensions[d] { print(String(format: "  %-24@ %.4f", d.rawValue as NSString, v)) } }
        }
    }
}
