#!/usr/bin/env bash
# Regenerates the committed Swift code for the protobuf messages graphcheck reads (docs/generated-code.md).
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift from swift-protobuf at the version
# Package.swift uses: build it from a checkout of that tag with `swift build -c release --product protoc-gen-swift`
# and pass its path as PROTOC_GEN_SWIFT.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to the protoc-gen-swift executable}
generate() {  # generate PROTO (under Protos/) into TARGET's Generated folder
    local proto=$1 out=Sources/$2/Generated
    local name
    name=$(basename "$proto" .proto)
    mkdir -p "$out"
    protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Internal --swift_out="$out" -I Protos "Protos/$proto"
    mv "$out/$(dirname "$proto")/$name.pb.swift" "$out/$name.pb.swift"
    rmdir "$out/$(dirname "$proto")"
    echo "generate-protos: wrote $out/$name.pb.swift"
}
generate tensorboard/graph_events.proto TensorBoardEvents
generate onnx/onnx_subset.proto ONNXModels
