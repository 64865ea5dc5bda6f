// Which OpenBLAS kernel set ("core") a process runs, and why. Debian's OpenBLAS 0.3.21 is built for
// every x86-64 core (DYNAMIC_ARCH) and picks one from the CPU's family and model at load; a CPU newer
// than the library (an Intel Xeon of a later generation, say) falls back to generic SSE3 kernels
// ("Prescott") at a third of the speed. The choice here goes by the CPU's features instead: AVX-512
// F/DQ/BW/VL → SkylakeX (Cooperlake with AVX512-BF16), AVX2 + FMA → Haswell. It only ever raises a
// weaker detected core, and never touches a core the user set with OPENBLAS_CORETYPE.
// docs/benchmarks.md ("Which OpenBLAS kernels") has the measurements.
import CRuntime

/// The x86 vector features that decide which kernels can run, as cpuid reports them and the OS enables.
public struct CPUFeatures: Equatable, Sendable {
    public var avx2 = false, fma = false
    public var avx512f = false, avx512dq = false, avx512bw = false, avx512vl = false, avx512bf16 = false

    public init(avx2: Bool = false, fma: Bool = false, avx512f: Bool = false, avx512dq: Bool = false,
                avx512bw: Bool = false, avx512vl: Bool = false, avx512bf16: Bool = false) {
        (self.avx2, self.fma, self.avx512f, self.avx512dq) = (avx2, fma, avx512f, avx512dq)
        (self.avx512bw, self.avx512vl, self.avx512bf16) = (avx512bw, avx512vl, avx512bf16)
    }

    /// This CPU's features (all false off x86 or where the OS does not save the registers).
    public static let current: CPUFeatures = {
        var f = CPUFeatures()
        var r: [UInt32] = [0, 0, 0, 0]
        guard gpd_cpuid(1, 0, &r) != 0 else { return f }
        let ecx1 = r[2]
        let osxsave = ecx1 & (1 << 27) != 0, avx = ecx1 & (1 << 28) != 0
        guard osxsave, avx else { return f }
        let xcr0 = gpd_xgetbv0()
        let osAVX = xcr0 & 0b110 == 0b110                      // XMM and YMM state
        let osAVX512 = osAVX && xcr0 & 0b1110_0000 == 0b1110_0000   // opmask, ZMM_Hi256, Hi16_ZMM
        guard osAVX, gpd_cpuid(7, 0, &r) != 0 else { return f }
        let ebx7 = r[1]
        f.fma = ecx1 & (1 << 12) != 0
        f.avx2 = ebx7 & (1 << 5) != 0
        if osAVX512 {
            f.avx512f = ebx7 & (1 << 16) != 0
            f.avx512dq = ebx7 & (1 << 17) != 0
            f.avx512bw = ebx7 & (1 << 30) != 0
            f.avx512vl = ebx7 & (1 << 31) != 0
            if gpd_cpuid(7, 1, &r) != 0 { f.avx512bf16 = r[0] & (1 << 5) != 0 }
        }
        return f
    }()

    /// The names of the features that decided a choice, for messages.
    public var summary: String {
        var parts: [String] = []
        if avx512f && avx512dq && avx512bw && avx512vl { parts.append("AVX-512 F/DQ/BW/VL") }
        if avx512bf16 { parts.append("AVX512-BF16") }
        if parts.isEmpty && avx2 && fma { parts.append("AVX2 + FMA") }
        return parts.isEmpty ? "no AVX2" : parts.joined(separator: ", ")
    }
}

public enum BLASCore {
    /// How the core in use came about.
    public enum Decision: Equatable, Sendable {
        /// OPENBLAS_CORETYPE was set outside gpd and is kept; `core` is what OpenBLAS runs for it (its
        /// own detection when it does not know the name), `better` a faster core the CPU could run.
        case userSet(value: String, core: String, better: String?)
        /// OpenBLAS's own detection; `better` is set when the process was not re-executed to use it.
        case detected(String, better: String?)
        /// gpd asks for `core` instead of OpenBLAS's `detected` one.
        case chosen(core: String, detected: String, features: String)

        /// The core the process runs (for `.chosen`, once it has re-executed).
        public var core: String {
            switch self {
            case .userSet(_, let c, _), .detected(let c, _), .chosen(let c, _, _): return c
            }
        }

        /// One line for `gpd --version` and `gpd bench`.
        public var explanation: String {
            switch self {
            case .userSet(let value, let core, let better):
                let unknown = value.lowercased() == core.lowercased() ? "" : " (not a core OpenBLAS knows)"
                return "set by OPENBLAS_CORETYPE=\(value)\(unknown)" + (better.map { "; this CPU could run \($0)" } ?? "")
            case .detected(_, let better):
                return "OpenBLAS's detection" + (better.map { "; this CPU could run \($0)" } ?? "")
            case .chosen(_, let detected, let features):
                return "chosen by gpd for \(features); OpenBLAS detected \(detected)"
            }
        }
    }

    /// The best core of Debian's OpenBLAS 0.3.21 for these features, or nil below AVX2 + FMA (where
    /// OpenBLAS's own choice among the older cores stands).
    public static func best(for f: CPUFeatures) -> String? {
        if f.avx512f && f.avx512dq && f.avx512bw && f.avx512vl { return f.avx512bf16 ? "Cooperlake" : "SkylakeX" }
        if f.avx2 && f.fma { return "Haswell" }
        return nil
    }

    /// Kernel generations by vector width: a choice only moves up this order. Cores not listed
    /// (Prescott, Nehalem, Sandybridge, Bulldozer, … and any name this table does not know) rank 0.
    static func rank(_ core: String) -> Int {
        switch core.lowercased() {
        case "haswell", "zen", "excavator": return 1
        case "skylakex": return 2
        case "cooperlake", "sapphirerapids": return 3
        default: return 0
        }
    }

    /// What to run: the user's setting if any (`inUse` is the core OpenBLAS runs for it), else the
    /// better of OpenBLAS's detection (`inUse`) and `best(for:)`.
    public static func decide(userSetting: String?, inUse: String, features: CPUFeatures) -> Decision {
        let best = best(for: features)
        if let user = userSetting, !user.isEmpty {
            let better = best.flatMap { rank($0) > rank(inUse) ? $0 : nil }
            return .userSet(value: user, core: inUse, better: better)
        }
        guard let best, rank(best) > rank(inUse) else { return .detected(inUse, better: nil) }
        return .chosen(core: best, detected: inUse, features: features.summary)
    }
}
