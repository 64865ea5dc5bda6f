// `VideoModel.average` (`gpd model average`): the averaged folder holds each tensor's mean over the
// models, keeps the first model's description and VAE, and is refused — unchanged — for models that
// do not compute the same way.
import Data
import Foundation
import ModelFolders
import Models
import Tensors
import XCTest

final class ModelAverageTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "gpd-average-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func testTheAverageHoldsEachTensorsMeanAndKeepsTheFirstModelsVAE() throws {
        let folders = (1...3).map { root + "/m\($0)" }
        for (i, f) in folders.enumerated() { try TinyModels.teacher(at: f, seed: UInt64(10 + i)) }
        // The first model names the run and step it came from, as a run's export does.
        try VideoModel.load(folder: folders[0]).export(to: folders[0], metadata: ["source_run": "m1", "step": "7"])
        let models = try folders.map { try VideoModel.load(folder: $0) }
        XCTAssertEqual(models[0].metadata["source_run"], "m1")
        let before = models.map { $0.parameters() }
        XCTAssertNotEqual(before[0]["transformer.blocks.0.ffn.net.0.proj.weight"]?.data, before[1]["transformer.blocks.0.ffn.net.0.proj.weight"]?.data,
                          "the models differ")
        try models[0].average(with: Array(models.dropFirst()), names: folders)
        let out = root + "/avg"
        try models[0].export(to: out)
        let avg = try VideoModel.load(folder: out)
        let got = avg.parameters()
        XCTAssertEqual(Set(got.keys), Set(before[0].keys))
        for (name, t) in got {
            let (x, y, z) = (before[0][name]!.data, before[1][name]!.data, before[2][name]!.data)
            var worst = 0.0
            for j in 0..<t.count {
                let want: Double = (Double(x[j]) + Double(y[j]) + Double(z[j])) / 3
                worst = max(worst, abs(Double(t.data[j]) - want) / max(1, abs(want)))
            }
            XCTAssertLessThanOrEqual(worst, 1e-7, name)
        }
        XCTAssertEqual(avg.metadata, ["averaged_from": folders.joined(separator: ", ")], "no one run's name or step")
        XCTAssertEqual(avg.config.sampling, models[0].config.sampling)
        XCTAssertEqual(avg.vae.stateDict().mapValues(\.data), models[1].vae.stateDict().mapValues(\.data), "the models' VAE")
        // A model averaged with copies of itself is itself.
        let a = try VideoModel.load(folder: folders[1]), b = try VideoModel.load(folder: folders[1])
        try a.average(with: [b], names: ["a", "b"])
        XCTAssertEqual(a.parameters().mapValues(\.data), before[1].mapValues(\.data))
    }

    func testModelsThatComputeDifferentlyAreRefusedByNameAndLeftUnchanged() throws {
        let (one, deeper, otherVAE) = (root + "/one", root + "/deeper", root + "/other-vae")
        try TinyModels.teacher(at: one, seed: 3)
        try TinyModels.teacher(at: deeper, layers: 2, seed: 4)
        try TinyModels.teacher(at: otherVAE, seed: 5, vaeSeed: 9)
        let m = try VideoModel.load(folder: one)
        let before = m.parameters().mapValues(\.data)
        XCTAssertThrowsError(try m.average(with: [VideoModel.load(folder: deeper)], names: [one, deeper])) { e in
            XCTAssertTrue("\(e)".contains(deeper) && "\(e)".contains("transformer configuration"), "\(e)")
        }
        XCTAssertThrowsError(try m.average(with: [VideoModel.load(folder: otherVAE)], names: [one, otherVAE])) { e in
            XCTAssertTrue("\(e)".contains(otherVAE) && "\(e)".contains("VAE"), "\(e)")
        }
        XCTAssertEqual(m.parameters().mapValues(\.data), before, "a refused average changes nothing")
    }
}
