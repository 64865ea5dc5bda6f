// Matrix products: cblas_sgemm (OpenBLAS) and its naive twin, and inside `withArithmetic(.bf16)` the
// BF16 product on AMX tiles or AVX512-BF16 vectors (Sources/CKernels). Row-major throughout.
// C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C, op = transpose when the flag is set.
import CBLAS
import CKernels
import Foundation

/// Counts the FLOPs of every GEMM run inside `FLOPCounter.counting { … }` (the engine's matrix products
/// carry nearly all of a model's arithmetic), for benchmarks that report achieved GFLOP/s.
public final class FLOPCounter: @unchecked Sendable {
    @TaskLocal public static var current: FLOPCounter?
    private let lock = NSLock()
    private var total = 0

    public init() {}

    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }

    public var flops: Int { lock.lock(); defer { lock.unlock() }; return total }

    /// Runs `body` and returns its result with the FLOPs its GEMMs performed.
    public static func counting<R>(_ body: () throws -> R) rethrows -> (R, Int) {
        let c = FLOPCounter()
        let r = try $current.withValue(c, operation: body)
        return (r, c.flops)
    }
}

public enum GEMM {
    /// The arithmetic of the products a computation runs.
    public enum Arithmetic: String, Sendable, CaseIterable {
        /// F32 inputs and sums (OpenBLAS): every product by default, and always in training.
        case f32
        /// Inputs rounded to BF16 (8 significant bits), sums in F32, on the AMX tile units or the
        /// AVX512-BF16 vector instructions where the CPU has them (`bf16Available`, `bf16Units`;
        /// elsewhere the products stay F32). For sampling, with the
        /// pipeline's precision rule (the steps from σ ≥ `WanPipeline.exactFrom` and the prompt's
        /// encoding stay F32), a clip's frames differ from the F32 clip's by less than the eye sees
        /// (docs/benchmarks.md, "BF16 products on AMX"); without it they need not. Products whose A
        /// is transposed (only gradients have one) stay F32.
        case bf16
    }

    /// The arithmetic of the products run inside `withArithmetic` (F32 elsewhere). The engine's worker
    /// threads carry it with them (`Parallel`).
    @TaskLocal public static var arithmetic: Arithmetic = .f32

    /// Runs `body` with its products in `arithmetic`.
    public static func withArithmetic<R>(_ arithmetic: Arithmetic, _ body: () throws -> R) rethrows -> R {
        try $arithmetic.withValue(arithmetic, operation: body)
    }

    /// Whether this machine runs BF16 products: on AMX tiles (with the OS's permission), or on
    /// AVX512-BF16 vectors where they beat F32 — on AMD CPUs: twice OpenBLAS's F32 rate on Zen 4, but
    /// half of it on an Intel Xeon without AMX (docs/benchmarks.md, "BF16 products on AVX512-BF16
    /// vectors"), where `.bf16` then runs F32 products, faster and exact.
    public static let bf16Available = bf16Tiles || (bf16Vectors && gpd_cpu_is_amd() == 1)

    /// Whether they run on AMX tiles (else, where available, on vectors).
    static let bf16Tiles = gpd_amx_bf16_available() == 1

    /// Whether the CPU has AVX512-BF16 (used or not: `bf16Available`).
    static let bf16Vectors = gpd_avx512_bf16_available() == 1

    /// What runs them, for reports: "AMX tiles", "AVX512-BF16 vectors", or nil.
    public static let bf16Units: String? = bf16Tiles ? "AMX tiles" : bf16Available ? "AVX512-BF16 vectors" : nil

    /// Why a CPU with AVX512-BF16 runs no BF16 products, for reports; nil when it runs them or lacks the vectors.
    public static let bf16Unused: String? = bf16Vectors && !bf16Available
        ? "AVX512-BF16 vectors, unused: on Intel cores they ran at half of F32 sgemm's rate, so BF16 products run as F32 here"
        : nil

    /// The studio's arithmetic when none is asked for: BF16 on AMX tiles, where a whole teacher-2x
    /// clip is about 1.6× faster; F32 elsewhere, vectors included — there a clip gained 1.1–1.45×,
    /// under the 1.5× that sampling in BF16 by default was to be worth (docs/benchmarks.md, "BF16
    /// products on AVX512-BF16 vectors").
    public static let studioDefault: Arithmetic = bf16Tiles ? .bf16 : .f32

    /// Whether this machine runs AVX-512 (F and BW): the C kernels' 16-lane loops then serve
    /// attention's softmax without a graph and GELU (forward and backward), F32 or BF16 (the Swift build targets AVX2).
    public static let avx512Available = gpd_avx512_available() == 1

    /// Whether products here run in BF16: asked for, and the machine has the units.
    @inline(__always) static var bf16Active: Bool { arithmetic == .bf16 && bf16Available }

    /// Row-major sgemm on raw pointers with explicit leading dimensions (lets callers address
    /// one head of a [L, H·d] matrix without copying).
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if let counter = FLOPCounter.current { counter.add(2 * m * n * k) }
        if k == 0 {
            if beta == 0 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] = 0 } } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
            return
        }
        let parts = min(Parallel.workers, threads)
        if !transA && bf16Active {
            let packed = BF16Operand(transB: transB, n: n, k: k, b: b, ldb: ldb)
            if parts > 1 && m * n * k >= singleThreadWork && m >= parts * 32 {
                // Rows over the cores in whole 32-row blocks, the packed B shared.
                let blocks = (m + 31) / 32
                Parallel.chunks(parts, grain: 1) { range in for i in range {
                    let i0 = min(m, 32 * (blocks * i / parts)), i1 = min(m, 32 * (blocks * (i + 1) / parts))
                    if i1 > i0 { packed.multiply(m: i1 - i0, alpha: alpha, a: a + i0 * lda, lda: lda, beta: beta, c: c + i0 * ldc, ldc: ldc) }
                } }
            } else {
                packed.multiply(m: m, alpha: alpha, a: a, lda: lda, beta: beta, c: c, ldc: ldc)
            }
            return
        }
        if parts > 1 && n * k <= splitOperand && m >= parts * splitRows {
            // Tall product, small right operand: rows over the cores, one single-threaded GEMM each.
            singleThreaded { Parallel.chunks(parts, grain: 1) { range in for i in range {
                let i0 = m * i / parts, i1 = m * (i + 1) / parts
                raw(transA, transB, i1 - i0, n, k, alpha, transA ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc)
            } } }
        } else if parts > 1 && m * n <= splitOperand && k >= parts * splitRows && m < parts * splitRows {
            // Small output, long inner dimension (weight gradients dyᵀ·x): the inner dimension over the
            // cores, each part into its own buffer (the first into C with the caller's β), then summed.
            let partials = UnsafeMutablePointer<Float>.allocate(capacity: (parts - 1) * m * n)
            defer { partials.deallocate() }
            singleThreaded { Parallel.chunks(parts, grain: 1) { range in for i in range {
                let k0 = k * i / parts, k1 = k * (i + 1) / parts
                let pa = transA ? a + k0 * lda : a + k0, pb = transB ? b + k0 : b + k0 * ldb
                if i == 0 { raw(transA, transB, m, n, k1 - k0, alpha, pa, lda, pb, ldb, beta, c, ldc) }
                else { raw(transA, transB, m, n, k1 - k0, alpha, pa, lda, pb, ldb, 0, partials + (i - 1) * m * n, n) }
            } } }
            for p in 0..<(parts - 1) {
                let part = partials + p * m * n
                for i in 0..<m { let row = c + i * ldc, src = part + i * n; for j in 0..<n { row[j] += src[j] } }
            }
        } else if parts > 1 && m * n * k < singleThreadWork {
            singleThreaded { raw(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) }
        } else {
            if parts > 1 { Parallel.parkWorkers() }
            raw(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
    }

    /// When a product is split over the cores by the engine instead of OpenBLAS's threads: the operand
    /// every part shares (B for a row split, C for an inner split) at most this many floats, and at
    /// least `splitRows` rows (or inner steps) per part. OpenBLAS hands each GEMM to its threads and
    /// back; on the demo model's shapes ([2560 × 128] by [128 × 128 … 512]) one single-threaded GEMM per
    /// core on half the rows ran 1.2–1.7× faster, and the weight gradients split along the inner
    /// dimension 1.0–1.4× (`gpd bench --only gemm`, docs/benchmarks.md). Large right operands (a 1.3B
    /// FFN, 1024²) stay with OpenBLAS, which packs them once for both threads.
    public static let splitOperand = 512 * 512
    /// Below this many multiply-adds a product runs on one thread. With Dispatch's sleeping workers a
    /// hand-off cost more than half of a product of the demo teacher's step (batch 2 × 80 tokens:
    /// 2.6–10.5 M multiply-adds), and the limit was 2²⁴; the engine's pool hands work over without a
    /// wake-up, and 2²¹ ran the demo models' steps as fast or faster (docs/benchmarks.md, "Handing
    /// work to the cores").
    public static let singleThreadWork = 1 << 21
    public static let splitRows = 128

    @inline(__always)
    static func raw(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Triple-loop reference with Double accumulation; same contract as `sgemm`.
    public static func naive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                let prev = beta == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = alpha * Float(s) + prev
            }
        }
    }

    /// Runs `body` with OpenBLAS single-threaded, for callers that spread many small GEMMs over the
    /// cores themselves (attention heads): OpenBLAS's own threads spend their time yielding on them.
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        let n = threads
        if n == 1 { return try body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(n)) }
        return try body()
    }

    /// Threads OpenBLAS may use (it starts with one per core).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
    public static var config: String { String(cString: gpd_openblas_config()) }
    public static var coreName: String { String(cString: gpd_openblas_corename()) }
}

/// op(B) [K, N] rounded to BF16 and packed for the BF16 product (`GEMM.Arithmetic.bf16`): packed once,
/// it serves any number of products with it (attention packs each head's K and V once for all its
/// blocks of query rows).
public final class BF16Operand {
    public let n: Int, k: Int
    let storage: UnsafeMutablePointer<UInt16>

    /// op(B) = Bᵀ with B stored [N, K] (row stride ldb) when transB, else B stored [K, N]. Only where
    /// `GEMM.bf16Available`.
    public init(transB: Bool, n: Int, k: Int, b: UnsafePointer<Float>, ldb: Int) {
        precondition(GEMM.bf16Available, "BF16Operand: this machine has neither AMX BF16 tiles nor AVX512-BF16")
        self.n = n; self.k = k
        storage = .allocate(capacity: max(1, gpd_bf16_packed_count(n, k)))
        gpd_bf16_pack(transB ? 1 : 0, n, k, b, ldb, storage)
    }

    deinit { storage.deallocate() }

    /// C[M, N] = alpha · A[M, K] · op(B) + beta · C (A row-major, rounded to BF16 as it is read).
    public func product(m: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, beta: Float = 0,
                        c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if let counter = FLOPCounter.current { counter.add(2 * m * n * k) }
        multiply(m: m, alpha: alpha, a: a, lda: lda, beta: beta, c: c, ldc: ldc)
    }

    /// `product` without counting its FLOPs (GEMM.sgemm has counted them).
    func multiply(m: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // Fails only when its scratch (32 or 48 rows of A in BF16) cannot be allocated: the process is out of memory.
        let status = gpd_bf16_gemm_packed(m, n, k, alpha, a, lda, storage, beta, c, ldc)
        precondition(status == 0, "BF16 product \(m)×\(n)×\(k): out of memory for its scratch")
    }
}
