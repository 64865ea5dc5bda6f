// Timing helpers for `gpd bench`: medians over repeats after a warm-up, monotonic clock.
// Benchmarks report ratios against a baseline measured in the same run; never a lone absolute time.
import Foundation

public enum Timing {
    @inline(__always)
    public static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// Median seconds per call of `body` over `repeats` timed calls (after `warmup` untimed ones).
    /// Each timed sample runs `inner` calls so very short bodies are still measurable.
    public static func median(repeats: Int = 7, warmup: Int = 1, inner: Int = 1, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        for _ in 0..<repeats {
            let t0 = now()
            for _ in 0..<inner { body() }
            samples.append((now() - t0) / Double(inner))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Chooses `inner` so one sample takes about `target` seconds.
    public static func calibrate(target: Double = 0.02, _ body: () -> Void) -> Int {
        let t0 = now()
        body()
        let dt = max(now() - t0, 1e-7)
        return max(1, min(100_000, Int(target / dt)))
    }

    /// Medians of `a` and `b` timed alternately (a, b, a, b, …) so drifting machine load hits both alike.
    public static func compare(repeats: Int = 9, target: Double = 0.02, _ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
        let ia = calibrate(target: target, a), ib = calibrate(target: target, b)
        a(); b()
        var sa: [Double] = [], sb: [Double] = []
        for _ in 0..<repeats {
            var t0 = now()
            for _ in 0..<ia { a() }
            sa.append((now() - t0) / Double(ia))
            t0 = now()
            for _ in 0..<ib { b() }
            sb.append((now() - t0) / Double(ib))
        }
        sa.sort(); sb.sort()
        return (sa[repeats / 2], sb[repeats / 2])
    }

    public static func measure(repeats: Int = 7, target: Double = 0.02, _ body: () -> Void) -> Double {
        let inner = calibrate(target: target, body)
        return median(repeats: repeats, warmup: 1, inner: inner, body)
    }
}
