import GraphIR
import Testing

@Suite struct DTypeTests {
    @Test func torchsNamesAreTheSameTypes() {
        #expect(DType("torch.float32") == .float32)
        #expect(DType("float8_e4m3fn").name == "float8_e4m3fn", "a type without a constant keeps its name")
    }

    @Test func whatTheAnalysisAsksOfAType() {
        #expect(DType.bfloat16.isFloatingPoint && DType("float8_e4m3fn").isFloatingPoint && !DType.int64.isFloatingPoint)
        #expect(DType.uint8.isInteger && DType.int64.isInteger && !DType.bool.isInteger)
    }

    /// An exporter's shape constant (int64[2]) is never taken for a weight; a float tensor of one element is not either.
    @Test func onlyFloatingPointTensorsOfSeveralElementsMayBeWeights() {
        #expect(Storage(id: "s", kind: .parameter, names: ["w"], shape: [4, 4], dtype: .float32).mayBeWeight)
        #expect(!Storage(id: "s", kind: .parameter, names: ["val_1"], shape: [2], dtype: .int64).mayBeWeight)
        #expect(!Storage(id: "s", kind: .parameter, names: ["scale"], shape: [1], dtype: .float32).mayBeWeight)
    }
}
