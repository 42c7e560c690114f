// swift-tools-version:6.0
import PackageDescription

// The folders under Sources/ are the pipeline: bytes → frontend (TraceFormat, ModelSpec, TensorBoardEvents, ONNXModels) → GraphIR →
// Analysis → reporters; GraphIR + findings → Render (the only user of CGraphviz). GraphCheck is the
// umbrella that users and tests import.
let package = Package(
    name: "graphcheck",
    platforms: [.macOS(.v15)],  // Synchronization.Mutex
    products: [
        .library(name: "GraphCheck", targets: ["GraphCheck"]),
        .executable(name: "graphcheck", targets: ["graphcheck"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .target(name: "FormatSupport"),
        .target(name: "GraphIR"),
        .target(name: "TraceFormat", dependencies: ["GraphIR", "FormatSupport"]),
        .target(name: "ModelSpec", dependencies: ["GraphIR", "FormatSupport"]),
        .target(
            name: "ONNXModels",
            dependencies: ["GraphIR", "FormatSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(
            name: "TensorBoardEvents",
            dependencies: ["GraphIR", "FormatSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "Analysis", dependencies: ["GraphIR", "FormatSupport"]),
        .systemLibrary(name: "CGraphviz", pkgConfig: "libgvc", providers: [.apt(["libgraphviz-dev"])]),
        .target(name: "Render", dependencies: ["GraphIR", "FormatSupport", "Analysis", "CGraphviz"]),
        .target(
            name: "GraphCheck",
            dependencies: ["GraphIR", "FormatSupport", "TraceFormat", "ModelSpec", "TensorBoardEvents", "ONNXModels", "Analysis", "Render"]),
        .executableTarget(
            name: "graphcheck",
            // The modules the CLI uses are named (and imported) directly, not only through GraphCheck's
            // re-exports: incremental builds otherwise miss layout changes in them.
            dependencies: [
                "GraphCheck", "Analysis", "Render", "TraceFormat", "FormatSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "synthetic-traces", path: "bench/SyntheticTraces"),
        .executableTarget(name: "render-soak", dependencies: ["GraphCheck", "Render"], path: "bench/RenderSoak"),
        // libFuzzer harness over every reader (fuzz/run.sh builds it with -sanitize=fuzzer).
        .executableTarget(
            name: "graphcheck-fuzz",
            dependencies: ["GraphIR", "FormatSupport", "TraceFormat", "ModelSpec", "TensorBoardEvents", "ONNXModels", "Analysis", "Render"],
            path: "fuzz/GraphCheckFuzz"),
        .target(name: "TestSupport", dependencies: ["GraphCheck", "GraphIR", "Analysis"], path: "Tests/TestSupport"),
        .testTarget(name: "GraphIRTests", dependencies: ["GraphIR"]),
        .testTarget(name: "FormatSupportTests", dependencies: ["FormatSupport"]),
        .testTarget(name: "TraceFormatTests", dependencies: ["GraphCheck", "GraphIR", "TraceFormat", "FormatSupport", "Analysis", "TestSupport"]),
        .testTarget(name: "ONNXModelsTests", dependencies: ["GraphCheck", "GraphIR", "ONNXModels", "Analysis", "TestSupport"]),
        .testTarget(name: "TensorBoardEventsTests", dependencies: ["GraphCheck", "GraphIR", "TensorBoardEvents", "Analysis", "TestSupport"]),
        .testTarget(name: "ModelSpecTests", dependencies: ["GraphCheck", "GraphIR", "ModelSpec", "TestSupport"]),
        .testTarget(name: "AnalysisTests", dependencies: ["GraphCheck", "GraphIR", "Analysis", "TestSupport"]),
        .testTarget(name: "RenderTests", dependencies: ["GraphCheck", "GraphIR", "Render", "Analysis", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["GraphCheck", "GraphIR", "FormatSupport", "TestSupport", "graphcheck", "graphcheck-fuzz"]),
    ]
)
