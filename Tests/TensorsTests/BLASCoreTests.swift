// The OpenBLAS core choice (BLASCore.decide) over the machines this project meets, and the GEMM
// naive-twin tests run again under every core gpd may choose on this CPU, each in a child process
// (OpenBLAS reads OPENBLAS_CORETYPE only when it loads): a wrong kernel fails here, not a training run.
import _TestSupport
import Foundation
import Tensors
import XCTest

final class BLASCoreTests: XCTestCase {
    let avx2 = CPUFeatures(avx2: true, fma: true)
    let avx512 = CPUFeatures(avx2: true, fma: true, avx512f: true, avx512dq: true, avx512bw: true, avx512vl: true)
    var avx512bf16: CPUFeatures { var f = avx512; f.avx512bf16 = true; return f }

    func testDecisionsOnTheMachinesWeMeet() {
        // An Intel Xeon newer than OpenBLAS 0.3.21: generic kernels detected, AVX-512 available.
        XCTAssertEqual(BLASCore.decide(userSetting: nil, inUse: "Prescott", features: avx512),
                       .chosen(core: "SkylakeX", detected: "Prescott", features: "AVX-512 F/DQ/BW/VL"))
        // The same with AVX512-BF16 (Cooper Lake and later; also AMD Zen 4/5).
        XCTAssertEqual(BLASCore.decide(userSetting: nil, inUse: "Haswell", features: avx512bf16).core, "Cooperlake")
        // OpenBLAS already on the best core: its detection stands.
        XCTAssertEqual(BLASCore.decide(userSetting: nil, inUse: "Cooperlake", features: avx512bf16), .detected("Cooperlake", better: nil))
        XCTAssertEqual(BLASCore.decide(userSetting: nil, inUse: "SkylakeX", features: avx512), .detected("SkylakeX", better: nil))
        // An AMD EPYC with AVX2 only: Zen kernels are as wide as Haswell's; never moved sideways.
        XCTAssertEqual(BLASCore.decide(userSetting: nil, inUse: "Zen", features: avx2), .detected("Zen", better: nil))
        // An AVX2 CPU the library does not know.
        XCTAssertEqual(BLASCore.decide(userSetting: nil, inUse: "Prescott", features: avx2).core, "Haswell")
        // Below AVX2 + FMA: OpenBLAS's choice among the older cores stands.
        XCTAssertEqual(BLASCore.decide(userSetting: nil, inUse: "Nehalem", features: CPUFeatures()), .detected("Nehalem", better: nil))
        // Never a downgrade: a core the ladder does not know ranks lowest, so only a known better one replaces it.
        XCTAssertEqual(BLASCore.decide(userSetting: nil, inUse: "SapphireRapids", features: avx512bf16), .detected("SapphireRapids", better: nil))
    }

    func testTheUsersSettingIsKept() {
        let d = BLASCore.decide(userSetting: "Haswell", inUse: "Haswell", features: avx512bf16)
        XCTAssertEqual(d, .userSet(value: "Haswell", core: "Haswell", better: "Cooperlake"))
        XCTAssertEqual(d.core, "Haswell")
        XCTAssertEqual(d.explanation, "set by OPENBLAS_CORETYPE=Haswell; this CPU could run Cooperlake")
        XCTAssertEqual(BLASCore.decide(userSetting: "Prescott", inUse: "Prescott", features: avx2),
                       .userSet(value: "Prescott", core: "Prescott", better: "Haswell"))
        XCTAssertEqual(BLASCore.decide(userSetting: "SkylakeX", inUse: "SkylakeX", features: avx512).explanation,
                       "set by OPENBLAS_CORETYPE=SkylakeX")
        // A name OpenBLAS does not know: it runs its own detection, and the message says so.
        XCTAssertEqual(BLASCore.decide(userSetting: "Zen9", inUse: "Haswell", features: avx2).explanation,
                       "set by OPENBLAS_CORETYPE=Zen9 (not a core OpenBLAS knows)")
    }

    func testFeatureSummaries() {
        XCTAssertEqual(avx512bf16.summary, "AVX-512 F/DQ/BW/VL, AVX512-BF16")
        XCTAssertEqual(avx2.summary, "AVX2 + FMA")
        XCTAssertEqual(CPUFeatures().summary, "no AVX2")
        // AVX-512 without all four of F/DQ/BW/VL (Knights Landing) is not enough for SkylakeX's kernels.
        XCTAssertEqual(BLASCore.best(for: CPUFeatures(avx2: true, fma: true, avx512f: true)), "Haswell")
    }

    /// The cores gpd may run on this CPU: each rung of the ladder its features reach.
    func coresThisCPUCanRun() -> [String] {
        let f = CPUFeatures.current
        var cores: [String] = []
        if f.avx2 && f.fma { cores.append("Haswell") }
        if let best = BLASCore.best(for: f), best != "Haswell" { cores.append("SkylakeX"); if best == "Cooperlake" { cores.append(best) } }
        return cores
    }

    func testGEMMTwinsUnderEveryCoreGpdMayChoose() throws {
        let env = ProcessInfo.processInfo.environment
        if let requested = env["GPD_TEST_BLAS_CORE"] {
            // Inside a child: prove the kernels under test are the ones asked for.
            XCTAssertEqual(GEMM.coreName, requested, "the child runs the core it was started for")
            return
        }
        for core in coresThisCPUCanRun() where core != GEMM.coreName {
            let saved = env["OPENBLAS_CORETYPE"]
            setenv("OPENBLAS_CORETYPE", core, 1); setenv("GPD_TEST_BLAS_CORE", core, 1)
            defer {
                unsetenv("GPD_TEST_BLAS_CORE")
                if let saved { setenv("OPENBLAS_CORETYPE", saved, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
            }
            let (status, output) = try Child.run(["/proc/self/exe", "TensorsTests.GEMMTests,TensorsTests.BLASCoreTests"], seconds: 120)
            XCTAssertEqual(status, 0, "GEMM tests under OPENBLAS_CORETYPE=\(core):\n\(output.suffix(3000))")
            for test in ["testSgemmMatchesNaiveOnOddShapes", "testSplitProductsMatchNaive", "testGEMMTwinsUnderEveryCoreGpdMayChoose"] {
                XCTAssertTrue(output.contains("\(test)' passed"), "\(test) ran and passed under \(core)")
            }
        }
    }
}
