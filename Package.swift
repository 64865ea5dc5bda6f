// swift-tools-version:5.10
// GPD Studio: an embedded video-diffusion engine, Guided Progressive Distillation and a terminal studio.
// Layers (arrows point down): gpd → Studio → Terminal; Distill → ModelFolders, Cluster (MPI); Runs, Eval, Data, Diffusion, Models → NN → Tensors → C shims.
import PackageDescription
import Foundation

// Release builds keep Swift's checks (-O: integer overflow traps, preconditions), so bad input that a
// check should refuse ends in a clear error, never undefined behaviour; the kernels are written so the
// checks cost nothing measurable (docs/benchmarks.md, "Checked builds"). GPD_UNCHECKED_BUILD=1 builds
// with -Ounchecked instead, only to reproduce that measurement.
// They also target the CPU's vector units. Swift compiles for baseline x86-64 (SSE2) unless told
// otherwise; `haswell` (AVX2 + FMA) runs on every machine this project targets and lets LLVM vectorise
// the elementwise loops 3× wider (docs/benchmarks.md has the measurement). GPD_BASELINE_CPU=1 builds the
// baseline instead, to reproduce that measurement.
let unchecked = ProcessInfo.processInfo.environment["GPD_UNCHECKED_BUILD"] != nil
var engineFlags: [SwiftSetting] = [.unsafeFlags(unchecked ? ["-Ounchecked", "-wmo"] : ["-wmo"], .when(configuration: .release))]
#if arch(x86_64)
if ProcessInfo.processInfo.environment["GPD_BASELINE_CPU"] == nil {
    engineFlags.append(.unsafeFlags(["-target-cpu", "haswell"]))
}
#endif

let package = Package(
    name: "GPDStudio",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gpd", targets: ["gpd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C shims (module maps and static inline wrappers) and C code.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f",
                       providers: [.apt(["libfftw3-dev"])]),
        // No pkgConfig: ncursesw.pc's only flags are -D defines SwiftPM refuses with a warning (the shim
        // defines what it needs) and the libraries, which the module map links.
        .systemLibrary(name: "CNcursesw", path: "Sources/CNcursesw", providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "CRuntime", path: "Sources/CRuntime"),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // The BF16 tile product on AMX (the one kernel written in C: Swift has no AMX intrinsics).
        .target(name: "CKernels", path: "Sources/CKernels", exclude: ["README.md"]),
        // The engine's worker pool: workers that spin between parallel regions (Parallel in Tensors).
        .target(name: "CThreads", path: "Sources/CThreads"),
        // A C interface to libsentencepiece's C++ processor (the umT5 tokenizer).
        .target(name: "CSentencePiece", path: "Sources/CSentencePiece", linkerSettings: [.linkedLibrary("sentencepiece")]),
        .systemLibrary(name: "CSixel", path: "Sources/CSixel", pkgConfig: "libsixel",
                       providers: [.apt(["libsixel-dev"])]),

        // Engine.
        .target(name: "Tensors", dependencies: ["CBLAS", "CFFTW", "CKernels", "CRuntime", "CThreads", .product(name: "RealModule", package: "swift-numerics")],
                exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "NN", dependencies: ["Tensors"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Models", dependencies: ["CSentencePiece", "NN", "Tensors"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Cluster", dependencies: ["CMPI"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Data", dependencies: ["Tensors"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Media", dependencies: ["Tensors"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Runs", dependencies: ["Tensors", .product(name: "GRDB", package: "GRDB.swift"),
                                            .product(name: "TOMLKit", package: "TOMLKit")], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Eval", dependencies: ["Data", "Tensors"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "ModelFolders", dependencies: ["Data", "Diffusion", "Models", "NN", "Tensors"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Distill", dependencies: ["Cluster", "ModelFolders", "Runs", "Eval", "Data", "Media", "Diffusion", "Models", "NN", "Tensors"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Diffusion", dependencies: ["Models", "Tensors"], exclude: ["README.md"], swiftSettings: engineFlags),

        .target(name: "Terminal", dependencies: ["CNcursesw", "CSixel"], exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Studio", dependencies: ["Terminal", "Runs", "ModelFolders", "Diffusion", "Eval", "Data", "Models", "Tensors", "Bench"],
                exclude: ["README.md"], swiftSettings: engineFlags),
        .target(name: "Bench", dependencies: ["Tensors", "NN", "Models", "Diffusion", "Data", "Eval", "CBLAS", "CFFTW"], exclude: ["README.md"], swiftSettings: engineFlags),

        // The command line.
        .executableTarget(name: "gpd", dependencies: [
            "Cluster", "Tensors", "Models", "Diffusion", "Data", "Media", "Runs", "ModelFolders", "Distill", "Eval", "Terminal", "Studio", "Bench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: engineFlags),

        // Test helpers shared by the test targets (gradient checks, tolerance-aware asserts, fixtures).
        .target(name: "_TestSupport", dependencies: ["Tensors"], path: "Tests/_TestSupport", swiftSettings: engineFlags),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "_TestSupport"], resources: [.copy("Fixtures")],
                    swiftSettings: engineFlags),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "NN", "Tensors", "_TestSupport"], resources: [.copy("Fixtures")],
                    swiftSettings: engineFlags),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Models", "Tensors", "_TestSupport"], resources: [.copy("Fixtures")],
                    swiftSettings: engineFlags),
        .testTarget(name: "DistillTests", dependencies: ["Distill", "ModelFolders", "Runs", "Data", "Diffusion", "Eval", "Models", "Tensors", "_TestSupport"], swiftSettings: engineFlags),
        .testTarget(name: "StudioTests", dependencies: ["Studio", "Terminal", "Runs", "Diffusion", "ModelFolders", "Bench", "_TestSupport"], exclude: ["Snapshots"],
                    swiftSettings: engineFlags),
        .testTarget(name: "MediaTests", dependencies: ["Media", "CSixel", "Tensors"], swiftSettings: engineFlags),
        .testTarget(name: "DataTests", dependencies: ["Data", "Tensors", "_TestSupport"], swiftSettings: engineFlags),
        .testTarget(name: "EvalTests", dependencies: ["Eval", "Data", "Tensors", "_TestSupport"], swiftSettings: engineFlags),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensors", "_TestSupport"], resources: [.copy("Fixtures")],
                    swiftSettings: engineFlags),
    ],
    cxxLanguageStandard: .cxx17
)
