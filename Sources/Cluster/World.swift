// The processes of one job: a rank and a world size, and the few collectives data parallelism needs
// (sum over ranks in place, broadcast from rank 0, gather to rank 0, barrier), over MPI
// (docs/parallel.md). A process started without mpirun is a world of one: no MPI call is made and
// every collective returns its input. MPI is initialised on first use when mpirun (OpenMPI's, or any
// PMIx launcher) started this process, and finalised at exit; an error exit aborts the whole job so
// no rank waits forever for one that is gone.
import CMPI
import Foundation

public final class World: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public var isRoot: Bool { rank == 0 }
    let usesMPI: Bool

    /// The world of this process.
    public static let current = World()

    /// Whether a launcher started this process as one rank of several (read before MPI starts).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
    }

    private init() {
        guard World.launchedByMPI else { (rank, size, usesMPI) = (0, 1, false); return }
        _ = gpd_mpi_init()
        (rank, size, usesMPI) = (Int(gpd_mpi_rank()), Int(gpd_mpi_size()), true)
        atexit { World.current.finalizeAtExit() }
    }

    private var ended = false
    private func finalizeAtExit() { if usesMPI && !ended { ended = true; _ = gpd_mpi_finalize() } }

    /// Ends the job with `code` on every rank (after an error on this one), or just exits when alone.
    public func abort(_ code: Int32) -> Never {
        if usesMPI && size > 1 { ended = true; gpd_mpi_abort(code) }
        exit(code)
    }

    public func barrier() { if size > 1 { _ = gpd_mpi_barrier() } }

    /// Sums `values` over the ranks, in place (every rank gets the sum).
    public func sum(_ values: inout [Float]) {
        guard size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { _ = gpd_mpi_allreduce_sum_float($0.baseAddress!, Int32($0.count)) }
    }

    public func sum(_ values: inout [Double]) {
        guard size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { _ = gpd_mpi_allreduce_sum_double($0.baseAddress!, Int32($0.count)) }
    }

    /// The largest of each value over the ranks (flags: any rank's 1 wins).
    public func max(_ values: [Int32]) -> [Int32] {
        guard size > 1, !values.isEmpty else { return values }
        var v = values
        v.withUnsafeMutableBufferPointer { _ = gpd_mpi_allreduce_max_int($0.baseAddress!, Int32($0.count)) }
        return v
    }

    /// Rank 0's bytes on every rank (`bytes` is ignored elsewhere).
    public func broadcast(_ bytes: [UInt8]) -> [UInt8] {
        guard size > 1 else { return bytes }
        var n: [Int32] = [Int32(isRoot ? bytes.count : 0)]
        n.withUnsafeMutableBufferPointer { _ = gpd_mpi_bcast_int($0.baseAddress!, 1, 0) }
        var out = isRoot ? bytes : [UInt8](repeating: 0, count: Int(n[0]))
        if n[0] > 0 { out.withUnsafeMutableBytes { _ = gpd_mpi_bcast_bytes($0.baseAddress!, n[0], 0) } }
        return out
    }

    /// Rank 0's value of a Codable on every rank.
    public func broadcast<T: Codable>(_ value: T) throws -> T {
        guard size > 1 else { return value }
        let bytes = isRoot ? [UInt8](try JSONEncoder().encode(value)) : []
        return try JSONDecoder().decode(T.self, from: Data(broadcast(bytes)))
    }

    /// Every rank's `values` in rank order on rank 0; nil elsewhere.
    public func gather(_ values: [Float]) -> [[Float]]? {
        guard size > 1 else { return [values] }
        let bytes = values.withUnsafeBytes { [UInt8]($0) }
        return gather(bytes: bytes)?.map { b in
            [Float](unsafeUninitializedCapacity: b.count / 4) { out, n in
                b.withUnsafeBytes { raw in for i in 0..<(b.count / 4) { out[i] = raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) } }
                n = b.count / 4
            }
        }
    }

    /// Every rank's bytes in rank order on rank 0; nil elsewhere.
    public func gather(bytes: [UInt8]) -> [[UInt8]]? {
        guard size > 1 else { return [bytes] }
        var counts = [Int32](repeating: 0, count: size)
        counts.withUnsafeMutableBufferPointer { _ = gpd_mpi_gather_int(Int32(bytes.count), $0.baseAddress!, 0) }
        var offsets = [Int32](repeating: 0, count: size)
        for i in 1..<size { offsets[i] = offsets[i - 1] + counts[i - 1] }
        var all = [UInt8](repeating: 0, count: isRoot ? Int(counts.reduce(0, +)) : 0)
        bytes.withUnsafeBytes { send in all.withUnsafeMutableBytes { receive in
            counts.withUnsafeBufferPointer { c in offsets.withUnsafeBufferPointer { o in
                _ = gpd_mpi_gatherv_bytes(send.baseAddress ?? UnsafeRawPointer(bitPattern: 16), Int32(bytes.count),
                                          receive.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 16), c.baseAddress!, o.baseAddress!, 0)
            } }
        } }
        guard isRoot else { return nil }
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + counts[$0])]) }
    }

    /// Every rank's Codable value in rank order on rank 0; nil elsewhere.
    public func gather<T: Codable>(_ value: T) throws -> [T]? {
        guard size > 1 else { return [value] }
        return try gather(bytes: [UInt8](try JSONEncoder().encode(value)))?.map { try JSONDecoder().decode(T.self, from: Data($0)) }
    }

    /// This rank's part of `count` items split into equal contiguous shares (the first ranks take one
    /// more when it does not divide).
    public func share(of count: Int) -> Range<Int> { share(of: count, rank: rank) }

    /// Rank `r`'s share of `count` items (as `share(of:)` on that rank).
    public func share(of count: Int, rank r: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = r * base + Swift.min(r, extra)
        return start..<(start + base + (r < extra ? 1 : 0))
    }
}
