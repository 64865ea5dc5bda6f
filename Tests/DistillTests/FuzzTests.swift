// Seeded mutation loops over the readers of configs and run archives: every mutated input is read or
// refused with an error, never a crash. Deterministic and bounded.
import _TestSupport
import Distill
import Foundation
import Runs
import Tensors
import XCTest

final class ConfigAndArchiveFuzzTests: XCTestCase {
    var root: String!
    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "gpd-fuzz-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    /// Byte-level mutations of `text`: flips, insertions of TOML/JSON punctuation, deletions, truncation.
    func mutate(_ text: String, _ rng: inout RNG, _ i: Int) -> String {
        var b = Array(text.utf8)
        let specials = Array("[]{}\"'=.,-+e\n#\\0123456789nanif".utf8)
        switch i % 4 {
        case 0: for _ in 0..<(1 + rng.int(below: 3)) { b[rng.int(below: b.count)] = specials[rng.int(below: specials.count)] }
        case 1: b.insert(specials[rng.int(below: specials.count)], at: rng.int(below: b.count))
        case 2: b.remove(at: rng.int(below: b.count))
        default: b.removeSubrange(rng.int(below: b.count)..<b.count)
        }
        return String(decoding: b, as: UTF8.self)
    }

    func testMutatedConfigsAreReadOrRefused() throws {
        var rng = RNG(seed: 77)
        var refused = 0, total = 0
        for name in ["vae-demo", "teacher-demo", "gpd-demo", "pd-demo", "vae-2x", "vae-2x-gap"] {
            let text = try String(contentsOfFile: Self.repository + "/samples/configs/\(name).toml", encoding: .utf8)
            for i in 0..<150 {
                let path = root + "/\(name)-\(i).toml"
                try mutate(text, &rng, i).write(toFile: path, atomically: false, encoding: .utf8)
                total += 1
                do {
                    switch name.hasPrefix("vae") ? "vae" : name.hasPrefix("teacher") ? "teacher" : "distill" {
                    case "vae": _ = try VAETrainConfig.load(path)
                    case "teacher": _ = try TeacherTrainConfig.load(path)
                    default: _ = try DistillConfig.load(path)
                    }
                } catch {
                    refused += 1
                    XCTAssertFalse("\(error)".isEmpty)
                }
            }
        }
        XCTAssertGreaterThan(refused, total / 10, "mutations are refused often enough to mean the readers were reached")
    }

    /// A table header broken by a newline once reached the TOML library, whose parser stops on an
    /// internal assertion in debug builds (found by the loop above): it is refused with its line.
    func testBrokenTableHeadersAreRefusedWithTheirLine() throws {
        let good = "kind = \"distill\"\n[distill]\nstages = [\n  2, 3,\n]\nnested = [\n  [1,\n   2],\n]\n" +
            "note = \"\"\"\n[not a header]\n\"\"\"\n# [a comment\n[train]\nseed = 0\n"
        let table = try ConfigFile.parse(good, path: "good.toml")
        XCTAssertEqual((table["train"] as? [String: Any])?["seed"] as? Int, 0)
        XCTAssertEqual((table["distill"] as? [String: Any])?["note"] as? String, "[not a header]\n")
        for (text, line) in [("kind = 1\n[\nrain]\nseed = 0\n", 2), ("[[\nx]]\n", 1), ("a = 1\n\n  [train", 3), ("[ \t# x\n]\n", 1)] {
            XCTAssertThrowsError(try ConfigFile.parse(text, path: "bad.toml"), text) { e in
                XCTAssertTrue("\(e)".contains("bad.toml") && "\(e)".contains("(line \(line))") && "\(e)".contains("table header"), "\(e)")
            }
        }
    }

    func testMutatedRunArchivesAreImportedOrRefused() throws {
        let source = Self.repository + "/samples/demo/runs/vae-demo/run.json"
        let text = try String(contentsOfFile: source, encoding: .utf8)
        var rng = RNG(seed: 78)
        var refused = 0
        for i in 0..<300 {
            do { _ = try JSONDecoder().decode(RunHistory.self, from: Data(mutate(text, &rng, i).utf8)) } catch { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 100)
        // A few whole imports, one archive with good and bad runs: the good ones come in, each bad one is reported.
        let archive = root + "/archive"
        for i in 0..<6 {
            let dir = archive + "/run\(i)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var body = text.replacingOccurrences(of: "\"name\":\"vae-demo\"", with: "\"name\":\"run\(i)\"")
                .replacingOccurrences(of: "\"name\" : \"vae-demo\"", with: "\"name\" : \"run\(i)\"")
            if i % 2 == 1 { body = mutate(body, &rng, 3) }   // truncated
            try body.write(toFile: dir + "/run.json", atomically: false, encoding: .utf8)
        }
        let r = try RunArchive.importAll(from: archive, into: try RunStore(root: root + "/store"))
        XCTAssertEqual(r.imported.count + r.failed.count, 6)
        XCTAssertGreaterThanOrEqual(r.failed.count, 3, "the truncated ones are reported")
        for f in r.failed { XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/store/" + f.name), "\(f.name) left nothing behind") }
    }
}
