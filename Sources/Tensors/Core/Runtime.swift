// Process-level settings for the engine, applied once by the executable (never implicitly).
// Large tensors are allocated and freed every step; glibc serves allocations above 32 MB with fresh
// mmaps, so each one page-faults its whole size again (measured: a 64 MB elementwise op ran at
// 2.3 GB/s instead of 6.3). Keeping freed memory in the heap avoids that; the cost is that RSS stays
// at its peak, which for a training or sampling process it reaches anyway.
import CRuntime
import CThreads
import Dispatch

public enum EngineRuntime {
    /// Settles OpenBLAS's environment before any compute: OpenBLAS reads it when it loads, before
    /// `main`, so a process that needs a change re-executes itself once with it set. Two settings:
    ///
    /// - OPENBLAS_THREAD_TIMEOUT=4. OpenBLAS's worker threads spin in `sched_yield` for up to 2^28
    ///   cycles after each GEMM before they sleep; between the engine's GEMMs that spinning takes the
    ///   core its own elementwise work needs (25–30 % of a teacher step's samples in a profile). With
    ///   the timeout a transformer block's forward + backward went from 0.31–0.39 to 0.43–0.50 of the
    ///   sgemm rate and a demo-teacher step from 0.56–0.60 s to 0.46–0.51 s (docs/benchmarks.md).
    /// - OPENBLAS_CORETYPE, when OpenBLAS detected a weaker kernel set than the CPU's features allow
    ///   (`BLASCore.decide`; a generic core on a CPU newer than the library runs at a third of the speed).
    ///
    /// A value the user set is never changed. `blasDecision` says afterwards what was done and why.
    public static func prepareBLAS() {
        var changed = false
        if getenv("OPENBLAS_THREAD_TIMEOUT") == nil {
            setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
            changed = true
        }
        if case .chosen(let core, let detected, let features) = BLASCore.decide(
            userSetting: environment("OPENBLAS_CORETYPE"), inUse: GEMM.coreName, features: .current) {
            setenv("OPENBLAS_CORETYPE", core, 1)
            setenv(chosenMarker, [core, detected, features].joined(separator: "|"), 1)
            changed = true
        }
        guard changed else { return }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc): carry on with OpenBLAS's defaults.
    }

    /// Set beside OPENBLAS_CORETYPE when gpd chose the core ("core|detected|features"), so the
    /// re-executed process (and the trainers it starts) can tell its own choice from the user's.
    static let chosenMarker = "GPD_BLAS_CHOSEN"

    /// The OpenBLAS core this process runs and how it came about.
    public static var blasDecision: BLASCore.Decision {
        let inUse = GEMM.coreName, user = environment("OPENBLAS_CORETYPE")
        if let marker = environment(chosenMarker), let user, user == inUse {
            let parts = marker.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 3, parts[0] == inUse { return .chosen(core: inUse, detected: parts[1], features: parts[2]) }
        }
        let decision = BLASCore.decide(userSetting: user, inUse: inUse, features: .current)
        // Not re-executed (a test process, or exec failed): it runs the detected core.
        if case .chosen(let better, _, _) = decision { return .detected(inUse, better: better) }
        return decision
    }

    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// Threads for the engine's own kernels and OpenBLAS together, from GPD_THREADS (default: one per
    /// core). Processes sharing the machine can divide the cores instead of each using all of them:
    /// two demo-teacher training steps at once took 531–673 ms each with GPD_THREADS=1 against
    /// 630–784 ms with both cores each (docs/benchmarks.md). Returns an error message for a value
    /// that is not a whole number from 1 to 256.
    public static func applyThreadSetting() -> String? {
        guard let raw = getenv("GPD_THREADS") else {
            // Ranks that mpirun started on one machine divide its cores instead of each taking all of them.
            if let local = environment("OMPI_COMM_WORLD_LOCAL_SIZE").flatMap(Int.init), local > 1 {
                let n = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount / local)
                Parallel.workers = n
                GEMM.setThreads(n)
            }
            return nil
        }
        let text = String(cString: raw)
        guard let n = Int(text), n >= 1, n <= 256 else { return "GPD_THREADS='\(text)': expected a whole number of threads from 1 to 256" }
        Parallel.workers = n
        GEMM.setThreads(n)
        return nil
    }

    /// Serve all allocations from the heap and never trim it. Call once at start-up.
    public static func keepFreedMemory() {
        _ = mallopt(M_MMAP_MAX, 0)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
    }
}

/// Splits 0..<count into contiguous chunks run on the cores (the elementwise kernels' threading, the
/// engine's split of products and attention's heads; OpenBLAS's own threads are idle meanwhile, and
/// the pool's workers sleep before a product OpenBLAS threads itself), on the engine's worker pool.
/// Small counts run inline.
public enum Parallel {
    public static var workers = max(1, System.cores)

    /// Elements per chunk below which splitting does not pay.
    public static let grain = 1 << 15

    public static func chunks(_ count: Int, grain: Int = Parallel.grain, _ body: (Range<Int>) -> Void) {
        let k = min(workers, max(1, count / grain))
        if k <= 1 { body(0..<count); return }
        onCores(k) { i in body((count * i / k)..<(count * (i + 1) / k)) }
    }

    /// Runs task(0..<k) on the cores: on the engine's pool (CThreads), whose workers spin between
    /// regions, or through Dispatch when the pool cannot take the region (one already in progress on
    /// another thread, or this is a task of one). Task-local values do not follow work onto other
    /// threads, so each task gets this thread's FLOP counter and product arithmetic.
    private static func onCores(_ k: Int, _ task: (Int) -> Void) {
        let counter = FLOPCounter.current, arithmetic = GEMM.arithmetic
        withoutActuallyEscaping(task) { task in
            let region = Region { i in FLOPCounter.$current.withValue(counter) { GEMM.$arithmetic.withValue(arithmetic) { task(i) } } }
            if pool > 0, withExtendedLifetime(region, { gpd_pool_run(k, Region.trampoline, Unmanaged.passUnretained(region).toOpaque()) }) == 0 {
                return
            }
            DispatchQueue.concurrentPerform(iterations: k) { i in region.body(i) }
        }
    }

    /// One parallel region's body, for the pool's C interface.
    private final class Region {
        let body: (Int) -> Void
        init(_ body: @escaping (Int) -> Void) { self.body = body }
        static let trampoline: gpd_pool_task = { context, index in
            Unmanaged<Region>.fromOpaque(context!).takeUnretainedValue().body(index)
        }
    }

    /// The pool's workers, started on first use: one per core beside the calling thread (`workers`
    /// as it is then; a region of more indices than threads shares them out).
    private static let pool = gpd_pool_start(max(0, workers - 1))

    /// Lets the pool's spinning workers sleep before OpenBLAS's own threads take the cores.
    static func parkWorkers() { gpd_pool_park() }

    /// Runs `body(i)` for every index of `sizes`, the indices divided into contiguous groups of about
    /// equal total size, one group per core (a list of arrays of uneven lengths, such as a model's
    /// parameters for the optimizer). Every index runs exactly once; the order within a group is kept.
    public static func balanced(_ sizes: [Int], _ body: (Int) -> Void) {
        let total = sizes.reduce(0, +)
        let k = min(workers, sizes.count, max(1, total / grain))
        if k <= 1 { for i in sizes.indices { body(i) }; return }
        // Group g ends at the first index whose running total reaches g + 1 k-ths of the whole.
        var bounds = [0], running = 0
        for (i, n) in sizes.enumerated() {
            running += n
            if bounds.count < k && running * k >= total * bounds.count { bounds.append(i + 1) }
        }
        while bounds.count <= k { bounds.append(sizes.count) }
        onCores(k) { g in for i in bounds[g]..<bounds[g + 1] { body(i) } }
    }

    /// A sum over rows of `width` values each (a norm's or a bias's gradient), with the rows on the cores:
    /// the rows go in fixed blocks of `block`, `body` adds each block's rows into that block's zeroed
    /// partial, and the partials are added in block order — so the result is the same for any number
    /// of cores. `body` may also write per-row outputs of its rows.
    public static func blockSums(rows: Int, width: Int, block: Int = 256,
                                 _ body: (_ rows: Range<Int>, _ partial: UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        let blocks = Swift.max(1, (rows + block - 1) / block)
        var partials = [Float](repeating: 0, count: blocks * width)
        partials.withUnsafeMutableBufferPointer { p in
            let base = p.base
            chunks(blocks, grain: 1) { range in
                for b in range { body((b * block)..<Swift.min(rows, (b + 1) * block), base + b * width) }
            }
        }
        var sum = [Float](repeating: 0, count: width)
        for b in 0..<blocks { for j in 0..<width { sum[j] += partials[b * width + j] } }
        return sum
    }

    /// `chunks` over `count` rows of `width` elements each: rows per chunk from the elementwise grain.
    public static func rows(_ count: Int, width: Int, _ body: (Range<Int>) -> Void) {
        chunks(count, grain: max(1, grain / max(width, 1)), body)
    }
}

public enum System {
    public static var cores: Int { sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 0 ? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) : 1 }
}

import Foundation
