// sgemm (OpenBLAS) against the triple-loop twin over odd shapes, every transpose and leading
// dimensions wider than the matrix; batched matmul and linear against the same reference; attention's
// blocked inference path and its training path against a double-precision triple loop.
import _TestSupport
import Tensors
import XCTest

final class GEMMTests: XCTestCase {
    /// GEMM.sgemm against the twin for every transpose and each β, with leading dimensions wider
    /// than the matrices; `seed` advances per case.
    func checkSgemm(_ shapes: [(Int, Int, Int)], betas: [Float], tolerance: Float, seed: inout UInt64, _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
        for (m, n, k) in shapes {
            for ta in [false, true] { for tb in [false, true] { for beta in betas {
                seed += 1
                let (lda, ldb, ldc) = ((ta ? m : k) + 2, (tb ? k : n) + 1, n + 3)
                let a = randomTensor([(ta ? k : m) * lda], seed: seed).data
                let b = randomTensor([(tb ? n : k) * ldb], seed: seed + 100).data
                let c0 = randomTensor([m * ldc], seed: seed + 200).data
                var fast = c0, slow = c0
                GEMM.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb,
                           beta: beta, c: &fast, ldc: ldc)
                GEMM.naive(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb,
                           beta: beta, c: &slow, ldc: ldc)
                assertClose(fast, slow, atol: tolerance, rtol: tolerance, "\(what) \(m)×\(n)×\(k) tA=\(ta) tB=\(tb) β=\(beta)",
                            file: file, line: line)
            } } }
        }
    }

    func testSgemmMatchesNaiveOnOddShapes() {
        var seed: UInt64 = 1
        checkSgemm([(1, 1, 1), (3, 5, 7), (17, 1, 33), (64, 63, 65), (2, 129, 3), (31, 31, 1)], betas: [0, 0.5],
                   tolerance: 1e-5, seed: &seed, "sgemm")
    }

    /// The engine's own split of a product over the cores (rows for a tall product with a small right
    /// operand, the inner dimension for a small output) against the twin: ragged parts, every
    /// transpose, β = 0 / 0.5 / 1 and wide leading dimensions.
    func testSplitProductsMatchNaive() {
        let (workers, threads) = (Parallel.workers, GEMM.threads)
        Parallel.workers = 3; GEMM.setThreads(3)
        defer { Parallel.workers = workers; GEMM.setThreads(threads) }
        let set = GEMM.threads
        XCTAssertGreaterThan(set, 1, "OpenBLAS must allow more than one thread for the split to run")
        var seed: UInt64 = 500
        // (m, n, k): rows split (m ≥ 3·128, n·k small); inner split (k ≥ 3·128, m < 3·128); neither.
        checkSgemm([(3 * GEMM.splitRows + 5, 7, 9), (5, 6, 3 * GEMM.splitRows + 11), (40, 3, 50)], betas: [0, 0.5, 1],
                   tolerance: 1e-4, seed: &seed, "split sgemm")
        XCTAssertEqual(GEMM.threads, set, "the split restores OpenBLAS's thread count")
    }

    /// GPD_THREADS sets both the engine's workers and OpenBLAS's threads; a bad value is an error naming it.
    func testThreadSettingFromTheEnvironment() {
        let (workers, threads) = (Parallel.workers, GEMM.threads)
        defer { unsetenv("GPD_THREADS"); Parallel.workers = workers; GEMM.setThreads(threads) }
        for bad in ["0", "two", "-1", "1.5"] {
            setenv("GPD_THREADS", bad, 1)
            XCTAssertEqual(EngineRuntime.applyThreadSetting(), "GPD_THREADS='\(bad)': expected a whole number of threads from 1 to 256")
            XCTAssertEqual(Parallel.workers, workers, "a bad value changes nothing")
        }
        setenv("GPD_THREADS", "1", 1)
        XCTAssertNil(EngineRuntime.applyThreadSetting())
        XCTAssertEqual(Parallel.workers, 1)
        XCTAssertEqual(GEMM.threads, 1)
        unsetenv("GPD_THREADS")
        Parallel.workers = workers; GEMM.setThreads(threads)
        XCTAssertNil(EngineRuntime.applyThreadSetting(), "unset: nothing to apply")
        XCTAssertEqual(Parallel.workers, workers)
    }

    func testBatchedMatmulAndSharedRightOperand() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(ta ? [3, 5, 4] : [3, 4, 5], seed: 7)
            let b = randomTensor(tb ? [3, 6, 5] : [3, 5, 6], seed: 8)
            let c = a.matmul(b, transA: ta, transB: tb)
            XCTAssertEqual(c.shape, [3, 4, 6])
            for i in 0..<3 {
                var ref = [Float](repeating: 0, count: 24)
                let ai = Array(a.data[(i * 20)..<(i * 20 + 20)]), bi = Array(b.data[(i * 30)..<(i * 30 + 30)])
                GEMM.naive(transA: ta, transB: tb, m: 4, n: 6, k: 5, a: ai, lda: ta ? 4 : 5, b: bi, ldb: tb ? 5 : 6, c: &ref, ldc: 6)
                assertClose(Array(c.data[(i * 24)..<(i * 24 + 24)]), ref, "batch \(i) tA=\(ta) tB=\(tb)")
            }
            let shared = randomTensor(tb ? [6, 5] : [5, 6], seed: 9)
            let cs = a.matmul(shared, transA: ta, transB: tb)
            for i in 0..<3 {
                var ref = [Float](repeating: 0, count: 24)
                let ai = Array(a.data[(i * 20)..<(i * 20 + 20)])
                GEMM.naive(transA: ta, transB: tb, m: 4, n: 6, k: 5, a: ai, lda: ta ? 4 : 5, b: shared.data, ldb: tb ? 5 : 6, c: &ref, ldc: 6)
                assertClose(Array(cs.data[(i * 24)..<(i * 24 + 24)]), ref, "shared batch \(i)")
            }
        }
    }

    func testLinearMatchesNaive() {
        let x = randomTensor([2, 3, 7], seed: 3), w = randomTensor([5, 7], seed: 4), b = randomTensor([5], seed: 5)
        let y = x.linear(w, b)
        var ref = [Float](repeating: 0, count: 30)
        GEMM.naive(transA: false, transB: true, m: 6, n: 5, k: 7, a: x.data, lda: 7, b: w.data, ldb: 7, c: &ref, ldc: 5)
        for r in 0..<6 { for j in 0..<5 { ref[r * 5 + j] += b.data[j] } }
        assertClose(y.data, ref, "linear")
        XCTAssertEqual(y.shape, [2, 3, 5])
    }

    func testAttentionInferenceAndTrainingPathsMatchNaive() {
        // One block, and several blocks with a ragged last one (2¹⁶ score floats per block: 16 rows at
        // Lk 4096, 21 at Lk 3000). Head dimensions that are multiples of 32 take the one-kernel path on
        // AVX-512 (gpd_attention_f32): a ragged last tile of 8 and block of 32 query rows, keys that
        // fill no whole panel of 32 or a single key, and one to four passes of 32 columns over V.
        for (b, lq, lk, h, d) in [(1, 5, 7, 2, 4), (2, 64, 33, 3, 8), (1, 40, 4096, 2, 4), (1, 50, 3000, 1, 3),
                                  (2, 45, 37, 3, 32), (1, 70, 64, 2, 64), (1, 3, 1, 1, 32), (1, 20, 100, 2, 128)] {
            let q = randomTensor([b, lq, h, d], seed: UInt64(lq)), k = randomTensor([b, lk, h, d], seed: UInt64(lk + 1000))
            let v = randomTensor([b, lk, h, d], seed: UInt64(lk + 2000))
            var want = [Float](repeating: 0, count: q.count)
            let scale = 1 / Double(d).squareRoot()
            for bi in 0..<b { for hi in 0..<h { for i in 0..<lq {
                let qi = { (c: Int) in Double(q.data[((bi * lq + i) * h + hi) * d + c]) }
                let s = (0..<lk).map { j in (0..<d).reduce(0.0) { $0 + qi($1) * Double(k.data[((bi * lk + j) * h + hi) * d + $1]) } * scale }
                let m = s.max()!, e = s.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                for c in 0..<d {
                    want[((bi * lq + i) * h + hi) * d + c] = Float((0..<lk).reduce(0.0) { $0 + e[$1] / z * Double(v.data[((bi * lk + $1) * h + hi) * d + c]) })
                }
            } } }
            let inference = Tensor.attention(q: q, k: k, v: v)
            let qg = Tensor(shape: q.shape, data: q.data, requiresGrad: true)
            let training = Tensor.attention(q: qg, k: k, v: v)
            assertClose(inference.data, want, atol: 2e-5, rtol: 1e-4, "blocked attention B\(b) Lq\(lq) Lk\(lk) H\(h) d\(d)")
            assertClose(training.data, want, atol: 2e-5, rtol: 1e-4, "attention with a graph B\(b) Lq\(lq) Lk\(lk) H\(h) d\(d)")
        }
    }
}
