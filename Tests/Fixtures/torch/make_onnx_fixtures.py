"""Exports the sample models to ONNX with both of torch's exporters, weights stripped, for the Swift tests:

    ~/.cache/graphcheck-venv/bin/pip install onnx onnxscript     # once
    ~/.cache/graphcheck-venv/bin/python Tests/Fixtures/torch/make_onnx_fixtures.py [NAME ...]   # all, or those named

Writes onnx/<model>.<exporter>.onnx next to this file, for exporter in {torchscript, dynamo}:
- densenet121_multihead (shared heads) freshly initialized, and `_trained` (every parameter and float buffer
  perturbed, as training would);
- densenet121_multihead_fixed freshly initialized, and `_trained` (perturbed: the copies have diverged);
- list_heads_shared / list_heads (a ModuleList of three heads, one object or three);
- dict_heads (heads in a ModuleDict, whose entries the TorchScript-based exporter scopes without the dict).
Initializer bytes are removed (dims and types stay), and so are the dynamo exporter's per-node stack traces:
graphcheck reads neither. With `--transformer` it
also writes the benchmark's large model, transformer192.dynamo.onnx (192 encoder layers).
"""
import os
import sys
import tempfile
import warnings

import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "samples"))
sys.path.insert(0, os.path.join(REPO, "integrations", "pytorch", "tests"))
from densenet121_multihead import DenseNet121MultiHead  # noqa: E402
from models import DictHeads, ListHeads  # noqa: E402

OUT = os.path.join(HERE, "onnx")


def perturbed(model):
    """Moves every parameter and float buffer a little, differently for each tensor, as training would."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        seen = set()
        for tensor in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            tensor.add_(torch.randn(tensor.shape, generator=generator) * 0.01)
    return model


def strip(path):
    model = onnx.load(path, load_external_data=False)
    for tensor in model.graph.initializer:
        tensor.ClearField("raw_data")
        for field in ("float_data", "int32_data", "int64_data", "double_data", "string_data", "uint64_data", "external_data"):
            tensor.ClearField(field)
        tensor.ClearField("data_location")
    # The dynamo exporter's per-node stack traces and FX dumps are most of the file; graphcheck reads
    # only the name scopes and class hierarchy.
    for node in model.graph.node:
        keep = [p for p in node.metadata_props if p.key not in ("pkg.torch.onnx.stack_trace", "pkg.torch.onnx.fx_node")]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    onnx.save(model, path)


def export(model, example, name, exporter):
    path = os.path.join(OUT, f"{name}.{exporter}.onnx")
    with tempfile.TemporaryDirectory() as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        temporary = os.path.join(directory, "model.onnx")
        if exporter == "dynamo":
            torch.onnx.export(model.eval(), (example,), temporary, dynamo=True)
        else:
            torch.onnx.export(model.eval(), (example,), temporary, dynamo=False)
        strip(temporary)
        os.makedirs(OUT, exist_ok=True)
        os.replace(temporary, path)
    print(path, os.path.getsize(path))


def main():
    models = {
        "densenet121_multihead": (lambda: DenseNet121MultiHead(fixed=False), (2, 3, 224, 224)),
        "densenet121_multihead_trained": (lambda: perturbed(DenseNet121MultiHead(fixed=False)), (2, 3, 224, 224)),
        "densenet121_multihead_fixed": (lambda: DenseNet121MultiHead(fixed=True), (2, 3, 224, 224)),
        "densenet121_multihead_fixed_trained": (lambda: perturbed(DenseNet121MultiHead(fixed=True)), (2, 3, 224, 224)),
        "list_heads_shared": (lambda: ListHeads(shared=True), (2, 3, 8, 8)),
        "list_heads": (lambda: perturbed(ListHeads(shared=False)), (2, 3, 8, 8)),
        "dict_heads": (lambda: perturbed(DictHeads()), (2, 16)),
    }
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    for name, (build, shape) in models.items():
        if only and name not in only:
            continue
        for exporter in ("torchscript", "dynamo"):
            torch.manual_seed(0)
            export(build(), torch.randn(*shape), name, exporter)
    if "--transformer" in sys.argv:
        torch.manual_seed(0)
        layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, batch_first=True)
        encoder = torch.nn.TransformerEncoder(layer, num_layers=192, enable_nested_tensor=False)
        export(encoder, torch.randn(2, 16, 32), "transformer192", "dynamo")


if __name__ == "__main__":
    main()
