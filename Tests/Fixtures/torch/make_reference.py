"""Writes what real PyTorch says about a sample model, for the Swift tracer's fidelity tests.

    python Tests/Fixtures/torch/make_reference.py            # rewrites the *.reference.txt files here

Each file lists, for one model: every leaf-module call in execution order as `call <module path> <type>`
(the path of the call site, from the live module call stack — not from named_modules, which would
name a shared module after one of its names), then every parameter and buffer storage as
`parameter|buffer <shape> <name> <name> ...` with all the names it goes by, in first-name order.
Needs torch and torchvision.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "samples"))
from densenet121_multihead import DenseNet121MultiHead  # noqa: E402


def reference(model, example):
    lines = []
    stack = []

    def pre(module, args):
        if stack:
            parent_path, parent = stack[-1]
            name = next(n for n, c in parent.named_children() if c is module)
            path = f"{parent_path}.{name}" if parent_path else name
        else:
            path = ""
        stack.append((path, module))
        if not list(module.children()):
            lines.append(f"call {path} {type(module).__name__}")

    def post(module, args, output):
        stack.pop()

    for m in model.modules():
        m.register_forward_pre_hook(pre)
        m.register_forward_hook(post)
    model(example)

    for kind, named in (("parameter", model.named_parameters), ("buffer", model.named_buffers)):
        groups = {}
        for name, tensor in named(remove_duplicate=False):
            key = tensor.untyped_storage().data_ptr()
            groups.setdefault(key, (list(tensor.shape), []))[1].append(name)
        for shape, names in groups.values():
            lines.append(f"{kind} {'x'.join(map(str, shape)) or 'scalar'} {' '.join(names)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    torch.manual_seed(0)
    for fixed, stem in ((False, "densenet121_multihead"), (True, "densenet121_multihead_fixed")):
        model = DenseNet121MultiHead(fixed=fixed).train()
        text = reference(model, torch.randn(2, 3, 224, 224))
        with open(os.path.join(HERE, f"{stem}.reference.txt"), "w") as f:
            f.write(text)
        print(stem, text.count("\n"), "lines")
