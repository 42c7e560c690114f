// The umbrella: `import GraphCheck` gives the IR, the frontends and the analyzer.
@_exported import Analysis
@_exported import FormatSupport
@_exported import GraphIR
@_exported import ModelSpec
@_exported import ONNXModels
@_exported import Render
@_exported import TensorBoardEvents
@_exported import TraceFormat
