// Process-level settings for the engine, applied once by the executable (never implicitly).
// Large tensors are allocated and freed every step; glibc serves allocations above 32 MB with fresh
// mmaps, so each one page-faults its whole size again (measured: a 64 MB elementwise op ran at
// 2.3 GB/s instead of 6.3). Keeping freed memory in the heap avoids that; the cost is that RSS stays
// at its peak, which for a training or sampling process it reaches anyway.
import CRuntime
import Dispatch

public enum EngineRuntime {
    /// OpenBLAS's worker threads spin in `sched_yield` for up to 2^28 cycles after each GEMM before
    /// they sleep; between the engine's GEMMs that spinning takes the core its own elementwise work
    /// needs (25–30 % of a teacher step's samples in a profile). OPENBLAS_THREAD_TIMEOUT=4 makes them
    /// sleep at once: a transformer block's forward + backward went from 0.31–0.39 to 0.43–0.50 of
    /// the sgemm rate and a demo-teacher step from 0.56–0.60 s to 0.46–0.51 s (three alternations,
    /// docs/benchmarks.md). OpenBLAS reads the variable when it loads, before `main`, so a process
    /// without it re-executes itself once with it set; a value already set is respected. For the
    /// compute commands (training, distillation, evaluation, sampling, benchmarks, model/VAE runs).
    public static func ensureBLASThreadTimeout() {
        guard getenv("OPENBLAS_THREAD_TIMEOUT") == nil else { return }
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc): carry on with OpenBLAS's default.
    }

    /// Threads for the engine's own kernels and OpenBLAS together, from GPD_THREADS (default: one per
    /// core). Processes sharing the machine can divide the cores instead of each using all of them:
    /// two demo-teacher training steps at once took 531–673 ms each with GPD_THREADS=1 against
    /// 630–784 ms with both cores each (docs/benchmarks.md). Returns an error message for a value
    /// that is not a whole number from 1 to 256.
    public static func applyThreadSetting() -> String? {
        guard let raw = getenv("GPD_THREADS") else { return nil }
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

/// Splits 0..<count into contiguous chunks run on the cores (the elementwise kernels' threading;
/// OpenBLAS is idle meanwhile, so the two never oversubscribe). Small counts run inline.
public enum Parallel {
    public static var workers = max(1, System.cores)

    /// Elements per chunk below which splitting does not pay.
    public static let grain = 1 << 15

    public static func chunks(_ count: Int, grain: Int = Parallel.grain, _ body: (Range<Int>) -> Void) {
        let k = min(workers, max(1, count / grain))
        if k <= 1 { body(0..<count); return }
        // Task-local values do not follow work onto Dispatch's threads; carry the FLOP counter over.
        let counter = FLOPCounter.current
        DispatchQueue.concurrentPerform(iterations: k) { i in
            FLOPCounter.$current.withValue(counter) { body((count * i / k)..<(count * (i + 1) / k)) }
        }
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
