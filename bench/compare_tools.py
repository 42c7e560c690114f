"""One measurement of one tool on one model, for bench/compare.sh.

    python bench/compare_tools.py TOOL MODEL OUTDIR

Builds MODEL (random weights, CPU), runs TOOL once and prints one JSON line: the seconds the tool's own
call took (model construction and `import torch` excluded, as a user who already has the model would see)
and the process's peak resident memory in MB (which includes torch itself; `baseline` measures that).

Tools: baseline (build the model, nothing else), export (graphcheck's PyTorch exporter: writes
OUTDIR/MODEL.trace.json), onnx-export (torch.onnx.export, TorchScript-based: writes OUTDIR/MODEL.onnx),
add_graph (TensorBoard's SummaryWriter.add_graph, in eval mode), torchviz (make_dot + render to SVG), torchview
(draw_graph + render to SVG), onnx.load (of OUTDIR/MODEL.onnx).
"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "samples"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integrations", "pytorch"))


def build(name):
    """The model and an example input. Shapes are the smallest each model accepts as designed."""
    import torchvision

    if name in ("seed", "seed_fixed"):
        from densenet121_multihead import DenseNet121MultiHead

        return DenseNet121MultiHead(fixed=name == "seed_fixed"), torch.randn(1, 3, 224, 224)
    if name == "densenet201":
        return torchvision.models.densenet201(weights=None), torch.randn(1, 3, 224, 224)
    if name == "vit_b_16":
        return torchvision.models.vit_b_16(weights=None), torch.randn(1, 3, 224, 224)
    if name == "transformer200":
        layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
        return torch.nn.TransformerEncoder(layer, num_layers=200, enable_nested_tensor=False), torch.randn(2, 16, 64)
    raise SystemExit(f"unknown model {name}")


def measure(tool, name, out):
    model, example = build(name)
    start = time.perf_counter()
    if tool == "baseline":
        pass
    elif tool == "export":
        from graphcheck_torch import export

        export(model.train(), (example,), os.path.join(out, f"{name}.trace.json"))
    elif tool == "onnx-export":
        torch.onnx.export(model.eval(), (example,), os.path.join(out, f"{name}.onnx"), dynamo=False)
    elif tool == "add_graph":
        from torch.utils.tensorboard import SummaryWriter

        # In eval mode: TorchScript's trace check (which add_graph runs) fails on dropout in training mode
        # ("graphs differ across invocations"), so that is how users get a graph of ViT or a transformer.
        with SummaryWriter(os.path.join(out, f"tb-{name}")) as writer:
            writer.add_graph(model.eval(), example)
    elif tool == "torchviz":
        from torchviz import make_dot

        make_dot(model(example), params=dict(model.named_parameters())).render(
            os.path.join(out, f"{name}.torchviz"), format="svg", cleanup=True)
    elif tool == "torchview":
        from torchview import draw_graph

        draw_graph(model, input_data=example, expand_nested=True, depth=100).visual_graph.render(
            os.path.join(out, f"{name}.torchview"), format="svg", cleanup=True)
    elif tool == "onnx.load":
        import onnx

        start = time.perf_counter()
        onnx.load(os.path.join(out, f"{name}.onnx"))
    else:
        raise SystemExit(f"unknown tool {tool}")
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the dot process
    print(json.dumps({"tool": tool, "model": name, "seconds": round(seconds, 3), "peak_mb": round(max(peak_mb, children_mb))}))


if __name__ == "__main__":
    measure(*sys.argv[1:4])
