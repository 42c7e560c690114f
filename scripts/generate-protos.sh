#!/usr/bin/env bash
# Regenerates the committed Swift code for the protobuf messages graphcheck reads (docs/generated-code.md).
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift from swift-protobuf at the version
# Package.swift uses: build it from a checkout of that tag with `swift build -c release --product protoc-gen-swift`
# and pass its path as PROTOC_GEN_SWIFT.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to the protoc-gen-swift executable}
out=Sources/TensorBoardEvents/Generated
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Internal --swift_out="$out" \
    -I Protos Protos/tensorboard/graph_events.proto
mv "$out/tensorboard/graph_events.pb.swift" "$out/graph_events.pb.swift"
rmdir "$out/tensorboard"
echo "generate-protos: wrote $out/graph_events.pb.swift"
