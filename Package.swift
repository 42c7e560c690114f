// swift-tools-version:6.0
import PackageDescription

// The folders under Sources/ are the pipeline: bytes → frontend (TraceFormat, ModelSpec, TensorBoardEvents, ONNXModels) → GraphIR →
// Analysis → reporters; GraphIR + findings → Render (the only user of CGraphviz). GraphCheck holds the
// one registry of frontends and the checks a test calls; a user imports it and the modules whose types
// they use (Analysis for the report, GraphIR for the graph). The command line's own code (progress,
// output files, config files, batch rendering) lives in the executable.
let package = Package(
    name: "graphcheck",
    platforms: [.macOS(.v15)],  // Synchronization.Mutex
    products: [
        .library(name: "GraphCheck", targets: ["GraphCheck", "Analysis", "GraphIR", "FormatSupport", "Render"]),
        .executable(name: "graphcheck", targets: ["graphcheck"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        .target(name: "FormatSupport", dependencies: [.product(name: "HeapModule", package: "swift-collections")]),
        .target(name: "GraphIR"),
        .target(name: "TraceFormat", dependencies: ["GraphIR", "FormatSupport"]),
        .target(name: "ModelSpec", dependencies: ["GraphIR", "FormatSupport"]),
        .target(
            name: "ONNXModels",
            dependencies: ["GraphIR", "FormatSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(
            name: "TensorBoardEvents",
            dependencies: ["GraphIR", "FormatSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(
            name: "Analysis",
            dependencies: ["GraphIR", "FormatSupport", .product(name: "OrderedCollections", package: "swift-collections")]),
        .systemLibrary(name: "CGraphviz", pkgConfig: "libgvc", providers: [.apt(["libgraphviz-dev"])]),
        .target(name: "Render", dependencies: ["GraphIR", "FormatSupport", "Analysis", "CGraphviz"]),
        .target(
            name: "GraphCheck",
            dependencies: ["GraphIR", "FormatSupport", "TraceFormat", "ModelSpec", "TensorBoardEvents", "ONNXModels", "Analysis", "Render"]),
        .executableTarget(
            name: "graphcheck",
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
            dependencies: ["GraphCheck", "GraphIR", "FormatSupport", "TraceFormat", "Analysis", "Render"],
            path: "fuzz/GraphCheckFuzz"),
        .target(name: "TestSupport", dependencies: ["GraphCheck", "GraphIR", "Analysis", "FormatSupport"], path: "Tests/TestSupport"),
        .testTarget(name: "GraphIRTests", dependencies: ["GraphIR"]),
        .testTarget(name: "FormatSupportTests", dependencies: ["FormatSupport"]),
        .testTarget(name: "TraceFormatTests", dependencies: ["GraphCheck", "GraphIR", "TraceFormat", "FormatSupport", "Analysis", "TestSupport"]),
        .testTarget(name: "ONNXModelsTests", dependencies: ["GraphCheck", "GraphIR", "ONNXModels", "Analysis", "FormatSupport", "TestSupport"]),
        .testTarget(name: "TensorBoardEventsTests", dependencies: ["GraphCheck", "GraphIR", "TensorBoardEvents", "Analysis", "FormatSupport", "TestSupport"]),
        .testTarget(name: "ModelSpecTests", dependencies: ["GraphCheck", "GraphIR", "TestSupport"]),
        .testTarget(name: "AnalysisTests", dependencies: ["GraphCheck", "GraphIR", "Analysis", "FormatSupport", "TestSupport", "TraceFormat"]),
        .testTarget(name: "RenderTests", dependencies: ["GraphCheck", "GraphIR", "Render", "Analysis", "FormatSupport", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["GraphCheck", "GraphIR", "Analysis", "FormatSupport", "TestSupport", "graphcheck", "graphcheck-fuzz"]),
    ]
)
