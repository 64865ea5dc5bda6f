// The engine's parallel regions (`Parallel`) on its worker pool (Sources/CThreads): every index runs
// exactly once — in back-to-back regions, in regions of more indices than threads, in a region started
// from inside another one's task, and with two threads starting regions at once (one of them then
// runs through Dispatch) — and a task sees its caller's FLOP counter.
import Foundation
import Tensors
import XCTest

final class ParallelTests: XCTestCase {
    /// Runs `body` with `Parallel.workers` = 3, so that regions split even on a 2-core machine.
    func withThreeWorkers(_ body: () throws -> Void) rethrows {
        let workers = Parallel.workers
        Parallel.workers = 3
        defer { Parallel.workers = workers }
        try body()
    }

    /// Runs regions of `count` chunks over `count` elements; returns how often each element ran.
    func hits(regions: Int, count: Int) -> [Int] {
        var hits = [Int](repeating: 0, count: count)
        hits.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            for _ in 0..<regions {
                Parallel.chunks(count, grain: 1) { range in for i in range { base[i] += 1 } }
            }
        }
        return hits
    }

    func testEveryIndexRunsOnceInBackToBackRegions() {
        withThreeWorkers {
            // 1 … 7 indices: fewer, as many and more than the threads.
            for count in 1...7 {
                XCTAssertEqual(hits(regions: 500, count: count), [Int](repeating: 500, count: count), "\(count) indices")
            }
        }
    }

    func testChunksCoverTheRangeWithUnevenWork() {
        withThreeWorkers {
            // Chunks whose work differs a hundredfold: whichever thread is free takes the next index.
            var out = [Double](repeating: 0, count: 3000)
            out.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                Parallel.chunks(3000, grain: 1000) { range in
                    for i in range {
                        var s = 0.0
                        for j in 0..<(i < 1000 ? 1000 : 10) { s += Double(j) }
                        base[i] = s
                    }
                }
            }
            for i in [0, 999, 1000, 2999] { XCTAssertEqual(out[i], i < 1000 ? 499500 : 45, "element \(i)") }
        }
    }

    func testRegionInsideATaskRunsEveryIndex() {
        withThreeWorkers {
            var hits = [Int](repeating: 0, count: 4 * 5)
            hits.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                for _ in 0..<100 {
                    Parallel.chunks(4, grain: 1) { outer in for o in outer {
                        Parallel.chunks(5, grain: 1) { inner in for i in inner { base[o * 5 + i] += 1 } }
                    } }
                }
            }
            XCTAssertEqual(hits, [Int](repeating: 100, count: 20))
        }
    }

    func testTwoThreadsStartingRegionsAtOnce() {
        withThreeWorkers {
            let results = UnsafeMutablePointer<[Int]>.allocate(capacity: 2)
            results.initialize(repeating: [], count: 2)
            defer { results.deinitialize(count: 2); results.deallocate() }
            DispatchQueue.concurrentPerform(iterations: 2) { t in
                results[t] = hits(regions: 300, count: 6)
            }
            XCTAssertEqual(results[0], [Int](repeating: 300, count: 6))
            XCTAssertEqual(results[1], [Int](repeating: 300, count: 6))
        }
    }

    func testTasksCountTheirCallersFLOPs() {
        withThreeWorkers {
            let a = [Float](repeating: 1, count: 8 * 8)
            var c = [Float](repeating: 0, count: 6 * 8 * 8)
            let (_, flops) = FLOPCounter.counting {
                a.withUnsafeBufferPointer { pa in c.withUnsafeMutableBufferPointer { pc in
                    let (ab, cb) = (pa.baseAddress!, pc.baseAddress!)
                    Parallel.chunks(6, grain: 1) { range in for i in range {
                        GEMM.sgemm(transA: false, transB: false, m: 8, n: 8, k: 8, a: ab, lda: 8, b: ab, ldb: 8, c: cb + i * 64, ldc: 8)
                    } }
                } }
            }
            XCTAssertEqual(flops, 6 * 2 * 8 * 8 * 8, "every task's product is counted by the caller's counter")
            XCTAssertEqual(c, [Float](repeating: 8, count: c.count))
        }
    }
}
