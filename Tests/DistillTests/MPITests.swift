// The trainers and the evaluation under mpirun (docs/parallel.md), with the real binary: N ranks at a
// global batch take the same steps as one process (losses equal at every step, N = 1, 2, 3), a batch N
// does not divide is refused before a run exists, a distillation whose rank is killed shows as
// crashed, resumes on another world size and ends equal to a single-process run, and a sharded
// evaluation reports the single-process totals. Every child has a deadline.
import _TestSupport
import Data
import Diffusion
import Eval
@testable import Distill
@testable import ModelFolders
import Foundation
import Models
import Runs
import Tensors
import XCTest

final class MPITests: XCTestCase {
    var root: String!
    var binary: String!

    override func setUpWithError() throws {
        binary = Bundle.main.bundleURL.appendingPathComponent("gpd").path
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "needs the gpd binary beside the test bundle (swift build --build-tests)")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun"), "needs OpenMPI's mpirun (scripts/debian-packages.txt)")
        // Shared-memory transfers without cross-process memory access (CMA), which containers without
        // ptrace rights refuse: the ranks of these tests exchange small buffers either way.
        setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1)
        root = NSTemporaryDirectory() + "gpd-mpi-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try TinyModels.teacher(at: root + "/teacher", textLength: 16)
    }

    override func tearDownWithError() throws { if let root { try? FileManager.default.removeItem(atPath: root) } }

    /// `mpirun -np n gpd ARGS…` with one thread per rank; the exit status (nil on timeout).
    @discardableResult
    func mpirun(_ n: Int, _ args: [String], log: String, seconds: Double = 240) throws -> Int32? {
        let p = try Child.spawn(["/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe", "-np", String(n), "-x", "GPD_THREADS=1", binary] + args,
                                output: root + "/" + log)
        return p.wait(seconds: seconds)
    }

    func losses(_ name: String) throws -> [Int: Double] {
        Dictionary(uniqueKeysWithValues: try RunStore(root: root).metrics(name, key: "loss").map { ($0.step, $0.value) })
    }

    func assertSameCurve(_ a: [Int: Double], _ b: [Int: Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), "\(what): the same steps", file: file, line: line)
        for (s, x) in a { if let y = b[s] { XCTAssertEqual(y, x, accuracy: 1e-4 * abs(x), "\(what) at step \(s)", file: file, line: line) } }
    }

    func write(_ text: String, _ name: String) throws -> String {
        let path = root + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func teacherConfig(batch: Int) throws -> String {
        try write(TinyModels.teacherConfig(vae: root + "/teacher/vae", steps: 24, batch: batch, checkpointEvery: 8, datasetClips: 18), "teacher-\(batch).toml")
    }

    func testTeacherStepsEqualOneProcessAtEveryWorldSize() throws {
        let config = try teacherConfig(batch: 6)
        for n in [1, 2, 3] {
            XCTAssertEqual(try mpirun(n, ["train", "teacher", "--config", config, "--run", "t\(n)", "--runs", root], log: "t\(n).log"), 0,
                           (try? String(contentsOfFile: root + "/t\(n).log", encoding: .utf8)) ?? "")
        }
        let one = try losses("t1")
        XCTAssertEqual(one.count, 24)
        // The ranks encode their shares of the dataset's batches of 16 (2 batches here: at 3 ranks one
        // rank has none) and rank 0 joins them: the cache one process writes, bit for bit, and no parts left.
        let cache = try Safetensors.read(root + "/t1/latents.safetensors")
        for n in [2, 3] {
            assertSameCurve(one, try losses("t\(n)"), "\(n) ranks")
            XCTAssertEqual(try RunStore(root: root).run("t\(n)")?.worldSize, n)
            let joined = try Safetensors.read(root + "/t\(n)/latents.safetensors")
            XCTAssertEqual(joined.tensors["latents"]?.shape, cache.tensors["latents"]?.shape, "\(n) ranks")
            XCTAssertEqual(joined.tensors["latents"]?.data, cache.tensors["latents"]?.data, "\(n) ranks: the same latents")
            XCTAssertEqual(joined.metadata["captions"], cache.metadata["captions"], "\(n) ranks: the same captions")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/t\(n)").filter { $0.contains(".part-") }, [])
        }
        XCTAssertEqual(cache.tensors["latents"]?.shape.first, 18)
        // A batch the ranks cannot share is refused before the run exists.
        XCTAssertNotEqual(try mpirun(4, ["train", "teacher", "--config", config, "--run", "t4", "--runs", root], log: "t4.log"), 0)
        let log = try String(contentsOfFile: root + "/t4.log", encoding: .utf8)
        XCTAssertTrue(log.contains("[train] batch 6 does not divide among 4 processes"), log)
        XCTAssertNil(try RunStore(root: root).run("t4"), "no run is created")
    }

    /// Trains the tiny teacher with `changes` made to its config as 1 and as 2 ranks, and asserts that
    /// the flow loss and every metric in `metrics` (logged at all 16 steps) are the same.
    func assertTwoRanksTrainAsOne(_ name: String, _ changes: [(String, String)], metrics: [String],
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let text = changes.reduce(TinyModels.teacherConfig(vae: root + "/teacher/vae", steps: 16, batch: 6, checkpointEvery: 8, datasetClips: 18)) {
            $0.replacingOccurrences(of: $1.0, with: $1.1)
        }
        let config = try write(text, "teacher-\(name).toml")
        for n in [1, 2] {
            XCTAssertEqual(try mpirun(n, ["train", "teacher", "--config", config, "--run", "\(name)\(n)", "--runs", root], log: "\(name)\(n).log"), 0,
                           (try? String(contentsOfFile: root + "/\(name)\(n).log", encoding: .utf8)) ?? "", file: file, line: line)
        }
        assertSameCurve(try losses("\(name)1"), try losses("\(name)2"), "flow loss, 2 ranks", file: file, line: line)
        for key in metrics {
            func curve(_ run: String) throws -> [Int: Double] {
                Dictionary(uniqueKeysWithValues: try RunStore(root: root).metrics(run, key: key).map { ($0.step, $0.value) })
            }
            XCTAssertEqual(try curve("\(name)1").count, 16, key, file: file, line: line)
            assertSameCurve(try curve("\(name)1"), try curve("\(name)2"), "\(key), 2 ranks", file: file, line: line)
        }
    }

    /// With the caption-structure task the ranks hold different numbers of captions (empty prompts are
    /// dropped from it), and still train as one process: the same flow and structure losses.
    func testTeacherWithTheStructureTaskStepsEqualOneProcess() throws {
        try assertTwoRanksTrainAsOne("s", [("[text]\n", "[text]\nstructure_weight = 2.0\n"), ("[flow]\n", "[flow]\nprompt_dropout = 0.3\n")],
                                     metrics: ["structure_loss"])
    }

    /// With the gap and edge weights every rank weighs its own rows' positions, and the ranks still train
    /// as one process: the same weighted loss and plain mean square.
    func testTeacherWithTheGapAndEdgeWeightsStepsEqualOneProcess() throws {
        try assertTwoRanksTrainAsOne("g", [("[flow]\n", "[flow]\ngap_weight = 4.0\nedge_weight = 2.0\n")], metrics: ["flow_mse"])
    }

    /// `gpd runs stop` while two ranks encode their shares of a large dataset: rank 0 takes the command,
    /// rank 1 sees it queued, and both stop within a batch — the run ends stopped before training, with
    /// neither the cache nor any rank's part left behind.
    func testAStopWhileTheRanksEncodeStopsEveryRank() throws {
        let config = try write(TinyModels.teacherConfig(vae: root + "/teacher/vae", steps: 4, batch: 2, checkpointEvery: 4, datasetClips: 400_000),
                               "teacher-big.toml")
        let job = try Child.spawn(["/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "GPD_THREADS=1", binary,
                                   "train", "teacher", "--config", config, "--run", "big", "--runs", root], output: root + "/big.log")
        let deadline = Date().addingTimeInterval(120)
        func log() -> String { (try? String(contentsOfFile: root + "/big.log", encoding: .utf8)) ?? "" }
        while Date() < deadline, !log().contains("encoding the dataset") { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(log().contains("0/200000 clips of this process's share of 400000"), log())
        let store = try RunStore(root: root)
        try store.control("big", command: .stop)
        XCTAssertEqual(job.wait(seconds: 60), 0, "both ranks stop within a minute: " + log())
        XCTAssertEqual(try store.run("big")?.status, .stopped)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/big").filter { $0.hasPrefix("latents") }, [],
                       "stopped before the dataset was encoded: no cache, no parts")
    }

    func testKilledRankCrashesTheRunWhichResumesOnAnotherWorldSizeAndMatches() throws {
        let config = try write("""
        kind = "distill"
        teacher = "\(root!)/teacher"
        [data]
        frames = 5
        size = 16
        [distill]
        teacher_steps = 8
        stages = [2, 4]
        steps_per_stage = 150
        prompts = 4
        eval_prompts = 1
        [train]
        lr = 1e-3
        warmup = 1
        log_every = 1
        checkpoint_every = 10
        """, "distill.toml")
        XCTAssertEqual(try mpirun(1, ["distill", "--config", config, "--run", "single", "--runs", root], log: "single.log"), 0)

        let job = try Child.spawn(["/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "GPD_THREADS=1", binary,
                                   "distill", "--config", config, "--run", "split", "--runs", root], output: root + "/split.log")
        let store = try RunStore(root: root)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, (try store.run("split")?.step ?? 0) < 40 { Thread.sleep(forTimeInterval: 0.05) }
        let rank1 = try XCTUnwrap(rankProcess(1, marker: "split"), "rank 1 of the job")
        kill(rank1, SIGKILL)
        let killedAt = Date()
        XCTAssertNotNil(job.wait(seconds: 60), "the job ends when a rank dies")
        // mpirun ends the other rank (SIGTERM, then SIGKILL); its exit — and the release of the run's
        // lock — may trail mpirun's by a moment (seconds under AddressSanitizer, whose shadow memory
        // takes long to unmap).
        var summary = try RunSupervisor.summaries(store).first { $0.name == "split" }
        while Date().timeIntervalSince(killedAt) < 60, summary?.status != .crashed {
            Thread.sleep(forTimeInterval: 0.2)
            summary = try RunSupervisor.summaries(store).first { $0.name == "split" }
        }
        XCTAssertEqual(summary?.status, .crashed, "a job that lost a rank shows as crashed within a minute")
        XCTAssertNil(rankProcess(0, marker: "split"), "rank 0 is gone")
        XCTAssertLessThan(summary?.step ?? 300, 300, "killed before the end")

        XCTAssertEqual(try mpirun(1, ["distill", "--config", config, "--run", "split", "--runs", root, "--resume"], log: "resumed.log"), 0,
                       (try? String(contentsOfFile: root + "/resumed.log", encoding: .utf8)) ?? "")
        XCTAssertEqual(try store.run("split")?.status, .finished)
        assertSameCurve(try losses("single"), try losses("split"), "killed, resumed run")
        let a = try VideoModel.load(folder: root + "/single/export"), b = try VideoModel.load(folder: root + "/split/export")
        for ((n, p), (_, q)) in zip(a.transformer.namedParameters(), b.transformer.namedParameters()) {
            assertClose(q.data, p.data, atol: 1e-5, rtol: 1e-3, n)
        }
    }

    func testShardedEvaluationReportsTheSingleProcessTotals() throws {
        let prompts = try write(Array(try EvalSuite.prompts().prefix(5)).joined(separator: "\n") + "\n", "prompts.txt")
        func eval(_ n: Int, _ flags: String, _ out: String) throws -> [String: Any] {
            let p = try Child.spawn(["/bin/sh", "-c", "/usr/bin/mpirun --allow-run-as-root --oversubscribe -np \(n) -x GPD_THREADS=1 '\(binary!)' eval --model '\(root!)/teacher' --prompts '\(prompts)' --seeds 0-1 \(flags) --json > '\(root!)/\(out)'"])
            XCTAssertEqual(p.wait(seconds: 240), 0, out)
            return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/" + out))) as! [String: Any]
        }
        // The reference: the same prompts and seeds at 2 steps; the runs below sample at 3.
        _ = try eval(1, "--steps 2 --save-clips '\(root!)/ref.safetensors'", "ref.json")
        var totals: [Double] = [], clipPSNR: [[Double]] = []
        for n in [1, 2, 3] {
            let json = try eval(n, "--steps 3 --reference '\(root!)/ref.safetensors'" + (n == 1 ? " --save-clips '\(root!)/mine.safetensors'" : ""), "eval\(n).json")
            let rows = try XCTUnwrap(json["prompts"] as? [[String: Any]])
            XCTAssertEqual(rows.count, 10, "one score per clip")
            totals.append(json["total"] as! Double)
            clipPSNR.append(rows.compactMap { $0["psnr"] as? Double })
            XCTAssertEqual(clipPSNR.last!.count, 10, "each clip's PSNR to its reference")
            let mean = try XCTUnwrap((json["fidelity"] as? [String: Double])?["psnr"])
            XCTAssertEqual(clipPSNR.last!.reduce(0, +) / 10, mean, accuracy: 1e-9, "the mean is over the clips' PSNRs")
        }
        XCTAssertEqual(totals[1], totals[0], accuracy: 1e-6)
        XCTAssertEqual(totals[2], totals[0], accuracy: 1e-6)
        // The report names the sampling; a guidance interval holding only the first step's noise level
        // (σ ≈ 1, then 0.86 and 0.6 at shift 3) guides one step of three.
        let full = try eval(2, "--steps 3", "full.json"), interval = try eval(2, "--steps 3 --guidance-interval 0.9,1", "interval.json")
        XCTAssertEqual(full["steps"] as? Int, 3)
        XCTAssertEqual(full["nfe"] as? Int, 6)
        XCTAssertEqual(full["guidance"] as? Double, 3)
        XCTAssertEqual(full["solver"] as? String, "unipc")
        XCTAssertNil(full["guidance_interval"])
        XCTAssertEqual(interval["nfe"] as? Int, 4)
        XCTAssertEqual(interval["guidance_interval"] as? [Double], [0.9, 1], "as given, not widened from Float")
        let refused = try Child.spawn(["/bin/sh", "-c", "'\(binary!)' eval --model '\(root!)/teacher' --prompts '\(prompts)' --seeds 0 --guidance-interval 0.8,0.2 2> '\(root!)/refused.txt'"])
        XCTAssertNotEqual(refused.wait(seconds: 60), 0, "a reversed interval is refused")
        XCTAssertTrue(try String(contentsOfFile: root + "/refused.txt", encoding: .utf8).contains("--guidance-interval must be"))
        // Each row's PSNR is its own clip's, in clip order, at every world size.
        let ref = try XCTUnwrap(Safetensors.read(root + "/ref.safetensors").tensors["frames"]), mine = try XCTUnwrap(Safetensors.read(root + "/mine.safetensors").tensors["frames"])
        let clip = { (t: Tensor, i: Int) in t.slice(axis: 0, i, i + 1).reshape(Array(t.shape.dropFirst())) }
        let expected = (0..<10).map { Metrics.psnr(clip(mine, $0), clip(ref, $0)) }
        XCTAssertGreaterThan(Set(expected.map { Int($0 * 100) }).count, 1, "the clips differ from their references by different amounts")
        for (n, got) in zip([1, 2, 3], clipPSNR) { assertClose(got.map(Float.init), expected.map(Float.init), atol: 1e-4, rtol: 0, "\(n) processes") }
    }

    /// The pid of rank `rank` of a running job whose command line contains `marker`.
    func rankProcess(_ rank: Int, marker: String) -> pid_t? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                  let cmd = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  String(decoding: cmd, as: UTF8.self).contains(marker),
                  let env = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            if env.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }),
               String(decoding: cmd, as: UTF8.self).hasPrefix(binary) { return pid }
        }
        return nil
    }
}
