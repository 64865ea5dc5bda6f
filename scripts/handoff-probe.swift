// What handing work to a second core costs through Dispatch (whose idle workers sleep): a region of
// two equal tasks (DispatchQueue.concurrentPerform) against the same work run serially on one thread,
// with a short serial gap before each region as between an engine's operations. The pool in
// Sources/CThreads exists because of what this measures (docs/benchmarks.md, "Handing work to the
// cores").
//
//   swiftc -O scripts/handoff-probe.swift -o /tmp/handoff-probe && /tmp/handoff-probe
//
// Prints, per amount of work, the median serial time, the median and 90th-percentile split time;
// the split's overhead is about split − serial / 2.
import Dispatch
import Foundation

func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
@inline(never) func work(_ n: Int) -> Int { var x = 0; for i in 0..<n { x = x &* 31 &+ i }; return x }

var sink = [Int](repeating: 0, count: 64)   // results kept apart so that no two tasks share a cache line
let t0 = now(); sink[0] &+= work(10_000_000); let secondsPerIteration = (now() - t0) / 1e7
for microseconds in [20.0, 50.0, 100.0, 300.0] {
    let n = Int(microseconds * 1e-6 / secondsPerIteration)
    var serial: [Double] = [], split: [Double] = []
    for _ in 0..<1000 {
        var start = now(); sink[0] &+= work(2 * n); serial.append(now() - start)
        sink[1] &+= work(n / 2)   // the serial gap
        start = now()
        sink.withUnsafeMutableBufferPointer { p in DispatchQueue.concurrentPerform(iterations: 2) { i in p[8 * (i + 1)] &+= work(n) } }
        split.append(now() - start)
    }
    serial.sort(); split.sort()
    print(String(format: "two tasks of %5.0f µs: serial %6.1f µs, split %6.1f µs (90th percentile %6.1f)",
                 microseconds, serial[500] * 1e6, split[500] * 1e6, split[900] * 1e6))
}
