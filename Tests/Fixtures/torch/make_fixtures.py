"""Regenerates the fixtures the Swift tests read, with real torch, torchvision and tensorboard:

    ~/.cache/graphcheck-venv/bin/pip install tensorboard      # once; torch and torchvision: scripts/python-venv.sh
    ~/.cache/graphcheck-venv/bin/python Tests/Fixtures/torch/make_fixtures.py [MODEL ...]   # all, or these

Writes, next to this file:
- <model>.reference.txt: every leaf-module call in execution order as `call <path> <type>` (call-site path
  from the live module call stack), then every parameter/buffer storage with all its names;
- <model>.trace.json: the graphcheck_torch exporter's trace;
- tensorboard/<model>/events.out.tfevents.fixture: what SummaryWriter.add_graph writes;
- expected.json: counts the Swift tests compare with, taken from these files by torch/tensorboard's own
  readers (e.g. how many edges TensorBoard draws from branch1's parameter nodes into branches 2-5).
No pretrained weights are needed. The event files carry wall-clock times, so they differ run to run.
"""
import glob
import json
import os
import shutil
import sys
import tempfile
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "samples"))
sys.path.insert(0, os.path.join(REPO, "integrations", "pytorch"))
sys.path.insert(0, os.path.join(REPO, "integrations", "pytorch", "tests"))
from densenet121_multihead import DenseNet121MultiHead  # noqa: E402
from graphcheck_torch import export  # noqa: E402
from models import DictHeads, ListHeads  # noqa: E402
from corpus_bugs import DeepSupervisionUNet, Heads, UnrolledDecoder  # noqa: E402
from corpus_bugs import DictHeads as DictOutputHeads  # noqa: E402
import copy  # noqa: E402

MODELS = {
    "densenet121_multihead": (lambda: DenseNet121MultiHead(fixed=False), (2, 3, 224, 224)),
    "densenet121_multihead_fixed": (lambda: DenseNet121MultiHead(fixed=True), (2, 3, 224, 224)),
    "list_heads_shared": (lambda: ListHeads(shared=True), (2, 3, 8, 8)),
    "list_heads": (lambda: ListHeads(shared=False), (2, 3, 8, 8)),
    "dict_heads_tied": (lambda: DictHeads(tied=True), (4, 16)),
    "deep_supervision": (DeepSupervisionUNet, (2, 3, 16, 16)),
    "gru_decoder": (UnrolledDecoder, (2, 4, 8)),
    "copy_per_slot": (lambda: Heads(lambda head: [copy.copy(head) for _ in range(3)]), (4, 8)),
    "dict_output": (lambda: DictOutputHeads(shared=False), (2, 3, 8, 8)),
}


def reference(model, example):
    lines, stack = [], []

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
        stack.pop()  # returns None: a forward hook's return value would replace the module's output

    handles = [m.register_forward_pre_hook(pre) for m in model.modules()]
    handles += [m.register_forward_hook(post) for m in model.modules()]
    model(example)
    for h in handles:
        h.remove()
    for kind, named in (("parameter", model.named_parameters), ("buffer", model.named_buffers)):
        groups = {}
        for name, tensor in named(remove_duplicate=False):
            groups.setdefault(tensor.untyped_storage().data_ptr(), (list(tensor.shape), []))[1].append(name)
        for shape, names in groups.values():
            lines.append(f"{kind} {'x'.join(map(str, shape)) or 'scalar'} {' '.join(names)}")
    return "\n".join(lines) + "\n"


def write_event_file(model, example, destination):
    from torch.utils.tensorboard import SummaryWriter
    with tempfile.TemporaryDirectory() as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        writer = SummaryWriter(directory)
        writer.add_graph(model, example, use_strict_trace=False)  # as for Hugging Face models: dict outputs allowed
        writer.close()
        (source,) = glob.glob(os.path.join(directory, "events.out.tfevents.*"))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copyfile(source, destination)


def tensorboard_cross_edges(event_file, source="branch1", targets=("branch2", "branch3", "branch4", "branch5")):
    """Edges TensorBoard draws from parameter/buffer nodes scoped under `source` into ops under `targets`."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.compat.proto import graph_pb2
    graph = graph_pb2.GraphDef()
    for event in EventFileLoader(event_file).Load():
        if event.HasField("graph_def"):
            graph.ParseFromString(event.graph_def)
    by_name = {n.name: n for n in graph.node}

    def scope(name):
        return [c[c.index("[") + 1:-1] for c in name.split("/")[:-1] if c.endswith("]")]

    count = 0
    for node in graph.node:
        if node.op == "prim::GetAttr" or not scope(node.name) or scope(node.name)[0] not in targets:
            continue
        for name in node.input:
            producer = by_name.get(name)
            if producer is not None and producer.op == "prim::GetAttr" and scope(name)[:1] == [source]:
                count += 1
    return count


def main():
    only = sys.argv[1:]
    expected = {}
    if only:
        with open(os.path.join(HERE, "expected.json")) as f:
            expected = json.load(f)
    for stem, (build, shape) in MODELS.items():
        if only and stem not in only:
            continue
        torch.manual_seed(0)
        model = build().train()
        example = torch.randn(*shape)
        if stem.startswith("densenet"):
            with open(os.path.join(HERE, f"{stem}.reference.txt"), "w") as f:
                f.write(reference(model, example))
        export(model, example, os.path.join(HERE, f"{stem}.trace.json"))
        event_file = os.path.join(HERE, "tensorboard", stem, "events.out.tfevents.fixture")
        write_event_file(model, example, event_file)
        entry = {
            "parameter_storages": len(list(model.named_parameters())),
            "parameter_names": len(list(model.named_parameters(remove_duplicate=False))),
            "buffer_storages": len(list(model.named_buffers())),
            "buffer_names": len(list(model.named_buffers(remove_duplicate=False))),
        }
        if stem.startswith("densenet"):
            entry["tensorboard_cross_edges_from_branch1"] = tensorboard_cross_edges(event_file)
        expected[stem] = entry
        print(stem, entry)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
