// The BF16 products (GEMM.Arithmetic.bf16, Sources/CKernels: AMX tiles, or AVX512-BF16 vectors)
// against the triple-loop twin run on inputs rounded to BF16 here, independently of the kernels: what
// is left is F32 summation order, so the tolerance is F32's, far below BF16's rounding (a wrong
// layout or edge is off by O(1)). On machines with neither the BF16 scope must change nothing.
import CKernels
import _TestSupport
import Tensors
import XCTest

final class BF16Tests: XCTestCase {
    /// Round to nearest BF16, ties to even (what VCVTNE2PS2BF16 does for finite values).
    static func bf16(_ x: Float) -> Float {
        let u = x.bitPattern
        let rounded = u &+ 0x7fff &+ ((u >> 16) & 1)
        return Float(bitPattern: rounded & 0xffff_0000)
    }

    func requireBF16() throws {
        try XCTSkipUnless(GEMM.bf16Available, "this machine runs BF16 products as F32: no AMX BF16 tiles, and no AVX512-BF16 on an AMD CPU (the F32 fallback is tested below; the vector kernel itself wherever AVX512-BF16 exists)")
    }

    static let cases = [(1, 1, 1), (37, 45, 70), (64, 64, 32), (64, 96, 128), (33, 17, 95), (50, 80, 40), (13, 33, 64), (97, 300, 96)]

    func testRoundingHelperIsBF16() {
        XCTAssertEqual(Self.bf16(1), 1)
        XCTAssertEqual(Self.bf16(1 + 1 / 256), 1, "1 + 2⁻⁸ is a tie between 1 and 1 + 2⁻⁷: to the even one, 1")
        XCTAssertEqual(Self.bf16(1 + 3 / 256), 1 + 1 / 64, "1 + 3·2⁻⁸ is a tie: to the even 1 + 2⁻⁶")
        XCTAssertEqual(Self.bf16(1 + 3 / 512), 1 + 1 / 128, "above half an ulp rounds up")
        XCTAssertEqual(Self.bf16(1 + 1 / 512), 1, "below half an ulp rounds down")
    }

    /// GEMM.sgemm inside withArithmetic(.bf16), on this machine's units: every transpose of B, α 1 and
    /// 0.7, β 0, 1 and 0.5, whole 32 × 32 blocks (stored straight into C by the tiles) and ragged edges
    /// (50 × 80: a block of 18 rows, a block whose second column of tiles lies wholly past C; 13 and 97
    /// rows: the vectors' 8-row blocks and 48-row chunks with a remainder), leading dimensions wider
    /// than the matrices, and a product large enough to be split over the cores.
    func testBF16ProductMatchesNaiveOnRoundedInputs() throws {
        try requireBF16()
        let (workers, threads) = (Parallel.workers, GEMM.threads)
        Parallel.workers = 3; GEMM.setThreads(3)
        defer { Parallel.workers = workers; GEMM.setThreads(threads) }
        var seed: UInt64 = 900
        let small = Self.cases.map { ($0, [Float(1), 0.7], [Float(0), 1, 0.5]) }
        let split = ((1000, 130, 200), [Float(1)], [Float(1)])   // 26 M multiply-adds: rows over the cores
        for ((m, n, k), alphas, betas) in small + [split] {
            for tb in [false, true] { for alpha in alphas { for beta in betas {
                seed += 1
                let (lda, ldb, ldc) = (k + 3, (tb ? k : n) + 5, n + 2)
                let a = randomTensor([m * lda], seed: seed).data
                let b = randomTensor([(tb ? n : k) * ldb], seed: seed + 100).data
                let c0 = randomTensor([m * ldc], seed: seed + 200).data
                var tiles = c0, want = c0
                GEMM.withArithmetic(.bf16) {
                    GEMM.sgemm(transA: false, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: &tiles, ldc: ldc)
                }
                GEMM.naive(transA: false, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a.map(Self.bf16), lda: lda,
                           b: b.map(Self.bf16), ldb: ldb, beta: beta, c: &want, ldc: ldc)
                assertClose(tiles, want, atol: 2e-5, rtol: 2e-5, "BF16 \(m)×\(n)×\(k) tB=\(tb) α=\(alpha) β=\(beta)")
            } } }
        }
    }

    /// The vector kernel called directly, so that a machine with tiles (where GEMM uses those) tests it
    /// too: the same cases as above against the twin, B packed by the same packing.
    func testVectorProductMatchesNaiveOnRoundedInputs() throws {
        try XCTSkipUnless(gpd_avx512_bf16_available() == 1, "this CPU has no AVX512-BF16")
        var seed: UInt64 = 1900
        for (m, n, k) in Self.cases { for tb in [false, true] { for (alpha, beta) in [(Float(1), Float(0)), (1, 1), (0.7, 0.5)] {
            seed += 1
            let (lda, ldb, ldc) = (k + 3, (tb ? k : n) + 5, n + 2)
            let a = randomTensor([m * lda], seed: seed).data
            let b = randomTensor([(tb ? n : k) * ldb], seed: seed + 100).data
            var got = randomTensor([m * ldc], seed: seed + 200).data
            var want = got
            var packed = [UInt16](repeating: 0, count: gpd_bf16_packed_count(n, k))
            gpd_bf16_pack(tb ? 1 : 0, n, k, b, ldb, &packed)
            XCTAssertEqual(gpd_bf16_gemm_packed_vectors(m, n, k, alpha, a, lda, packed, beta, &got, ldc), 0)
            GEMM.naive(transA: false, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a.map(Self.bf16), lda: lda,
                       b: b.map(Self.bf16), ldb: ldb, beta: beta, c: &want, ldc: ldc)
            assertClose(got, want, atol: 2e-5, rtol: 2e-5, "vectors \(m)×\(n)×\(k) tB=\(tb) α=\(alpha) β=\(beta)")
        } } }
    }

    /// A linear layer with its bias (β = 1, whole blocks) and attention's blocked inference path, whose
    /// heads run on the engine's worker threads: both must compute in BF16 inside the scope (the
    /// workers carry it) and in F32 outside.
    func testScopeReachesLinearAndAttentionHeads() throws {
        try requireBF16()
        let x = randomTensor([2, 32, 64], seed: 31), w = randomTensor([96, 64], seed: 32), bias = randomTensor([96], seed: 33)
        let y = GEMM.withArithmetic(.bf16) { x.linear(w, bias) }
        var want = [Float](repeating: 0, count: 64 * 96)
        for r in 0..<64 { for j in 0..<96 { want[r * 96 + j] = bias.data[j] } }
        GEMM.naive(transA: false, transB: true, m: 64, n: 96, k: 64, a: x.data.map(Self.bf16), lda: 64, b: w.data.map(Self.bf16), ldb: 64,
                   beta: 1, c: &want, ldc: 96)
        assertClose(y.data, want, atol: 2e-5, rtol: 2e-5, "linear in BF16")
        let f32 = x.linear(w, bias)
        XCTAssertGreaterThan(zip(f32.data, y.data).map { abs($0 - $1) }.max()!, 1e-4, "outside the scope the linear runs in F32")

        // Attention: 4 heads of 300 × 300 (split over the workers; two blocks of query rows per head, so
        // each head's packed K and V serve twice), scores and P·V in BF16. Against a
        // Double reference on the F32 inputs: off by BF16's rounding, not by a wrong layout.
        let (workers, threads) = (Parallel.workers, GEMM.threads)
        Parallel.workers = 2; GEMM.setThreads(2)
        defer { Parallel.workers = workers; GEMM.setThreads(threads) }
        let (lq, h, d) = (300, 4, 32)
        let q = randomTensor([1, lq, h, d], seed: 41), k = randomTensor([1, lq, h, d], seed: 42), v = randomTensor([1, lq, h, d], seed: 43)
        let inBF16 = GEMM.withArithmetic(.bf16) { Tensor.attention(q: q, k: k, v: v) }
        let inF32 = Tensor.attention(q: q, k: k, v: v)
        var reference = [Float](repeating: 0, count: q.count)
        let scale = 1 / Double(d).squareRoot()
        for hi in 0..<h { for i in 0..<lq {
            let s = (0..<lq).map { j in (0..<d).reduce(0.0) { $0 + Double(q.data[(i * h + hi) * d + $1]) * Double(k.data[(j * h + hi) * d + $1]) } * scale }
            let mx = s.max()!, e = s.map { Foundation.exp($0 - mx) }, z = e.reduce(0, +)
            for c in 0..<d { reference[(i * h + hi) * d + c] = Float((0..<lq).reduce(0.0) { $0 + e[$1] / z * Double(v.data[($1 * h + hi) * d + c]) }) }
        } }
        assertClose(inF32.data, reference, atol: 2e-5, rtol: 1e-4, "attention in F32")
        assertClose(inBF16.data, reference, atol: 4e-3, rtol: 1e-2, "attention in BF16")
        for hi in 0..<h {
            let moved = (0..<lq).flatMap { i in (0..<d).map { c in abs(inF32.data[(i * h + hi) * d + c] - inBF16.data[(i * h + hi) * d + c]) } }
            XCTAssertGreaterThan(moved.max()!, 1e-5, "head \(hi) ran in BF16")
        }
    }

    /// Where the CPU has neither, the BF16 scope is the F32 computation, bit for bit.
    func testWithoutBF16UnitsTheScopeChangesNothing() throws {
        try XCTSkipIf(GEMM.bf16Available, "this machine has \(GEMM.bf16Units ?? "BF16 units") (the BF16 product is tested above)")
        let a = randomTensor([37 * 70], seed: 7).data, b = randomTensor([45 * 70], seed: 8).data
        var f32 = [Float](repeating: 0, count: 37 * 45), asked = f32
        GEMM.sgemm(transA: false, transB: true, m: 37, n: 45, k: 70, a: a, lda: 70, b: b, ldb: 70, c: &f32, ldc: 45)
        GEMM.withArithmetic(.bf16) {
            GEMM.sgemm(transA: false, transB: true, m: 37, n: 45, k: 70, a: a, lda: 70, b: b, ldb: 70, c: &asked, ldc: 45)
        }
        XCTAssertEqual(f32, asked)
    }

    /// The 16-lane exponential (attention's softmax rows without a graph, wherever the CPU has AVX-512)
    /// and GELU's forward (likewise) against Double, over the whole range: tails shorter than 16 lanes,
    /// results down to F32's smallest normals, and the ends (0, +∞, GELU's −0 and identity far out).
    func testWideExponentialAndGELUMatchDouble() throws {
        try XCTSkipUnless(GEMM.avx512Available, "this CPU has no AVX-512 (the Swift exponential serves it)")
        for n in [1, 15, 16, 17, 576, 583] { for scale: Float in [0.5, 1] {   // 1: the F32 path's scores come scaled
            let raw = (0..<n).map { i in Float(-190 + 190 * Double((i * 37) % n) / Double(max(n - 1, 1))) }
            var row = raw
            let sum = gpd_exp_row_shifted(&row, n, scale)
            let mx = Double(raw.max()!)
            var want = 0.0
            for i in 0..<n {
                let e = Foundation.exp(Double(scale) * (Double(raw[i]) - mx))
                want += e
                if e > 1.2e-38 { XCTAssertEqual(Double(row[i]), e, accuracy: 4e-7 * e, "exp of \(raw[i]) shifted by \(mx), n \(n), scale \(scale)") }
                else { XCTAssertLessThan(Double(row[i]), 1.2e-38) }
            }
            XCTAssertEqual(Double(sum), want, accuracy: 1e-6 * want, "row sum, n \(n), scale \(scale)")
        } }
        let x: [Float] = (0..<203).map { Float($0 - 101) * 0.05 } + [-1000, -60, -9, 9, 60, 1000, 0, -0.0001]
        var y = [Float](repeating: .nan, count: x.count)
        gpd_gelu16(x, &y, x.count)
        for (v, g) in zip(x, y) {
            let d = Double(v), u = 0.7978845608028654 * (d + 0.044715 * d * d * d)
            let want = d / (1 + Foundation.exp(-2 * u))
            XCTAssertEqual(Double(g), want, accuracy: 1e-6 * max(1, abs(want)), "GELU(\(v))")
        }
        XCTAssertEqual(y[x.firstIndex(of: 1000)!], 1000)
        XCTAssertEqual(y[x.firstIndex(of: -1000)!], 0)
        // The backward: dy · GELU′(x) against the Double derivative of the same function.
        let dy = x.indices.map { Float(($0 * 29) % 13) / 4 - 1.5 }
        var dx = [Float](repeating: .nan, count: x.count)
        gpd_gelu16_backward(x, dy, &dx, x.count)
        for i in x.indices {
            let d = Double(x[i]), u = 0.7978845608028654 * (d + 0.044715 * d * d * d)
            let t = Foundation.tanh(u), du = 0.7978845608028654 * (1 + 3 * 0.044715 * d * d)
            let want = Double(dy[i]) * (0.5 * (1 + t) + 0.5 * d * (1 - t * t) * du)
            XCTAssertEqual(Double(dx[i]), want, accuracy: 2e-6 * max(1, abs(want)), "GELU′(\(x[i])) · \(dy[i])")
        }
    }
}
