// Sizes checked before they are allocated: a file, config or option that asks for more Float32 values
// than this machine's memory holds (or more than an Int can count) gets an error naming it, instead
// of an allocation failure that aborts the process.
import Foundation

public enum MemoryBudget {
    /// Physical memory in bytes (sysconf), or Int.max where it cannot be read.
    public static var physicalBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return .max }
        return pages.multipliedReportingOverflow(by: size).overflow ? .max : pages * size
    }

    /// The product of `dims`, or an error naming `what` when it overflows an Int or a dimension is negative.
    public static func count(_ dims: [Int], _ what: String) throws -> Int {
        var n = 1
        for d in dims {
            guard d >= 0 else { throw TensorError.tooLarge("\(what) has a negative size in \(dims)") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { throw TensorError.tooLarge("\(what) of shape \(dims) has more values than an Int can count") }
            n = p
        }
        return n
    }

    /// Throws unless `values` Float32s (`what`) fit in this machine's physical memory.
    public static func checkFloats(_ values: Int, _ what: String) throws {
        let (bytes, o) = values.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        let limit = physicalBytes
        guard !o, bytes <= limit else {
            throw TensorError.tooLarge("\(what) needs \(describe(o ? .max : bytes)) as Float32; this machine has \(describe(limit)) of memory")
        }
    }

    /// `count` and `checkFloats` together: the element count of a tensor of `dims` that fits in memory.
    @discardableResult
    public static func checkShape(_ dims: [Int], _ what: String) throws -> Int {
        let n = try count(dims, what)
        try checkFloats(n, what)
        return n
    }

    static func describe(_ bytes: Int) -> String {
        bytes == .max ? "more than an Int can count" : String(format: "%.1f GB", Double(bytes) / 1e9)
    }
}
