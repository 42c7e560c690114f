// swift-tools-version:6.0
import PackageDescription

// The folders under Sources/ are the pipeline: bytes → frontend (TraceFormat, ModelSpec) → GraphIR →
// Analysis → reporters. GraphCheck is the umbrella that users and tests import.
let package = Package(
    name: "graphcheck",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "GraphCheck", targets: ["GraphCheck"]),
        .executable(name: "graphcheck", targets: ["graphcheck"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "FormatSupport"),
        .target(name: "GraphIR"),
        .target(name: "TraceFormat", dependencies: ["GraphIR", "FormatSupport"]),
        .target(name: "ModelSpec", dependencies: ["GraphIR", "FormatSupport"]),
        .target(name: "Analysis", dependencies: ["GraphIR", "FormatSupport"]),
        .target(name: "GraphCheck", dependencies: ["GraphIR", "FormatSupport", "TraceFormat", "ModelSpec", "Analysis"]),
        .executableTarget(
            name: "graphcheck",
            dependencies: ["GraphCheck", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "TestSupport", dependencies: ["GraphCheck"], path: "Tests/TestSupport"),
        .testTarget(name: "GraphIRTests", dependencies: ["GraphIR"]),
        .testTarget(name: "FormatSupportTests", dependencies: ["FormatSupport"]),
        .testTarget(name: "TraceFormatTests", dependencies: ["GraphCheck", "TestSupport"]),
        .testTarget(name: "ModelSpecTests", dependencies: ["GraphCheck", "TestSupport"]),
        .testTarget(name: "AnalysisTests", dependencies: ["GraphCheck", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["GraphCheck", "TestSupport", "graphcheck"]),
    ]
)
