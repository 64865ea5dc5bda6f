// `gpd data preview`: a ShapesWorld clip for a prompt, written as GIF, PNG frames or safetensors.
// `gpd data prompts`: the evaluation suite (samples/prompts/eval.txt) or training captions, with their split.
import ArgumentParser
import Data
import Eval
import Foundation
import Media
import Tensors

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "The ShapesWorld data world.",
                                                    subcommands: [Preview.self, Prompts.self, Vocabulary.self])

    struct Vocabulary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the tokenizer's words in id order (ids 3…; 0 pad, 1 end, 2 unknown), one per line or as JSON.")
        @Flag(help: "One JSON array.") var json = false
        func run() throws {
            let words = Tokenizer().words
            if json { print(String(decoding: try JSONEncoder().encode(words), as: UTF8.self)) } else { words.forEach { print($0) } }
        }
    }

    struct Prompts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the evaluation suite (samples/prompts/eval.txt is its output) or captions the training streams draw.")
        @Option(help: "Print this many training captions (seeds 0…) instead of the suite.") var train: Int?
        @Flag(help: "Print each prompt's split (seen or held_out) and, for held-out ones, why.") var split = false

        func validate() throws {
            if let train, !(1...100_000).contains(train) { throw ValidationError("--train takes 1 to 100000 captions, got \(train)") }
        }

        func run() throws {
            let prompts = train.map { n in (0..<n).map { ShapesWorld.sample(seed: UInt64($0)).caption } } ?? EvalSuite.generate()
            for p in prompts {
                guard split, let scene = PromptGrammar.parse(p).scene else { print(p); continue }
                let reasons = HeldOut.reasons(scene)
                print("\(p)\t\(Split.of(scene).rawValue)" + (reasons.isEmpty ? "" : "\t" + reasons.joined(separator: "; ")))
            }
        }
    }

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Render the clip a prompt describes (ground truth, not a model).")
        @Option(help: "e.g. \"a red circle moving right on a blue background\".") var prompt: String
        @Option(help: "Seed for sizes, positions and speed.") var seed: UInt64 = 0
        @Option(help: "Frames (4k+1).") var frames: Int = 17
        @Option(help: "Frame size in pixels.") var size: Int = 32
        @Option(help: "clip.gif, clip.png (numbered frames) or clip.safetensors.") var out: String
        @Option(help: "Also write a contact sheet PNG of every 4th frame.") var sheet: String?
        @Flag(help: "Print the ground truth (per-frame centres, sizes) as JSON.") var truth = false

        func run() throws {
            let config = WorldConfig(frames: frames, size: size)
            try config.validate()
            try ClipFiles.checkDestination(out)
            let parsed = PromptGrammar.parse(prompt)
            if !parsed.unknownWords.isEmpty {
                printError("note: unknown words ignored: \(parsed.unknownWords.joined(separator: ", "))")
            }
            guard let scene = parsed.scene else { throw ValidationError("cannot read the prompt: \(parsed.problem ?? "?")") }
            let clip = ShapesWorld.render(scene, seed: seed, config: config)
            let written = try ClipFiles.write(clip.frames, caption: prompt, to: out)
            if let sheet { try AtomicFile.write(ClipFiles.sheet(clip.frames, every: 4), to: sheet) }
            if truth {
                let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
                print(String(decoding: try e.encode(clip.truth), as: UTF8.self))
            }
            print("\(written.count == 1 ? written[0] : "\(written.count) frames: \(written[0]) …"): \(scene.caption)")
        }
    }
}
