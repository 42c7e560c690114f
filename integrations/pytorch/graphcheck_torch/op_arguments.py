"""An op as the dispatcher hands it over: its arguments bound to its schema, what it writes, its non-tensor
arguments as trace attributes, which operands its backward gives no gradient, and its canonical kind."""
import math

import torch
from torch.utils._pytree import SUPPORTED_NODES, tree_flatten


# ATen op names → graphcheck's canonical op kinds. Ops not listed keep their ATen name.
_CANONICAL = {
    "native_batch_norm": "batch_norm",
    "_native_batch_norm_legit": "batch_norm",
    "_native_batch_norm_legit_no_training": "batch_norm",
    "cudnn_batch_norm": "batch_norm",
    "miopen_batch_norm": "batch_norm",
    "max_pool2d_with_indices": "max_pool2d",
    "_adaptive_avg_pool2d": "adaptive_avg_pool2d",
    "_unsafe_view": "view",
    "native_dropout": "dropout",
    "native_layer_norm": "layer_norm",
    "addmm": "linear",
}


# BatchNorm kernels that update running_mean / running_var in training mode without declaring it.
_BATCH_NORM = {"native_batch_norm", "_native_batch_norm_legit", "cudnn_batch_norm", "miopen_batch_norm"}


def _tensors(value):
    """The tensors in an op's argument or result: a tensor, or a (nested) list or tuple of them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []


def _bound(schema, args, kwargs):
    """(schema argument, value) for each argument an op was called with."""
    bound = []
    for i, argument in enumerate(schema.arguments):
        if i < len(args):
            bound.append((argument, args[i]))
        elif argument.name in kwargs:
            bound.append((argument, kwargs[argument.name]))
    return bound


def _writes(name, bound):
    """Whether the op writes each bound argument: what its schema marks written (`Tensor(a!)`), and the running
    statistics BatchNorm kernels update in training mode without declaring it."""
    training = any(a.name == "training" and v is True for a, v in bound)
    return [(a.alias_info is not None and a.alias_info.is_write)
            or (name in _BATCH_NORM and training and a.name in ("running_mean", "running_var")) for a, _ in bound]


def _arguments(bound):
    """An op's arguments that are not tensors, where they differ from the schema's defaults (`dim`, `start`,
    `index`, `stride`, `dilation`): two calls on the same operands compute the same value only when these
    agree too (`enc(x[:, 0])` and `enc(x[:, 1])` are two computations)."""
    found = {}
    for argument, value in bound:
        if _tensors(value):
            continue
        if isinstance(value, tuple):
            value = list(value)
        if argument.has_default_value():
            default = argument.default_value
            if isinstance(default, tuple):
                default = list(default)
            if default == value and isinstance(default, bool) == isinstance(value, bool):
                continue
        if value is None:
            continue
        found[argument.name] = _attribute(value)
    return found


def _attribute(value):
    """A trace attribute (number, string, boolean or list of integers) for a non-tensor argument."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value
    return str(value)


def _gradient_free_positions(func, args, kwargs):
    """(tensor count, positions among the op's tensor arguments that its backward gives no gradient), or
    None when it cannot be told: the op writes an argument, fails, or returns nothing differentiable."""
    schema = func._schema
    if any(a.alias_info is not None and a.alias_info.is_write for a in schema.arguments):
        return None
    tensors = [t for _, value in _bound(schema, args, kwargs) for t in _tensors(value)]
    leaves = {}
    for t in tensors:
        if t.is_floating_point() and id(t) not in leaves:
            leaves[id(t)] = t.detach().requires_grad_()
    if not leaves:
        return None
    swap = lambda v: leaves.get(id(v), v) if isinstance(v, torch.Tensor) else v
    try:
        with torch.enable_grad():
            out = func(*torch.utils._pytree.tree_map(swap, args), **torch.utils._pytree.tree_map(swap, kwargs))
            results = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor) and o.requires_grad]
            if not results:
                return None
            asked = list(leaves.values())
            grads = torch.autograd.grad(results, asked, grad_outputs=[torch.ones_like(r) for r in results], allow_unused=True)
    except Exception:  # an op that cannot run again here tells nothing: its edges stay as they are
        return None
    none = {id(leaf) for leaf, grad in zip(asked, grads) if grad is None}
    return len(tensors), [i for i, t in enumerate(tensors) if id(leaves.get(id(t))) in none]


def _written_result(schema, bound, out):
    """What an in-place op returns is the argument it wrote (`add_` returns `self`). Fake tensor mode may
    hand back a fresh fake for a small real tensor it computed on (`num_batches_tracked.add_(1)`); the
    argument itself is what the rest of the forward goes on reading."""
    if len(schema.returns) != 1 or not isinstance(out, torch.Tensor):
        return out
    alias = schema.returns[0].alias_info
    if alias is None or not alias.is_write:
        return out
    for argument, value in bound:
        if argument.alias_info is not None and argument.alias_info.before_set == alias.before_set and isinstance(value, torch.Tensor):
            return value
    return out


def _canonical(name, args, inputs):
    if name == "convolution" and len(args) > 1 and isinstance(args[1], torch.Tensor):
        return {3: "conv1d", 4: "conv2d", 5: "conv3d"}.get(args[1].dim(), "convolution")
    if name == "mm" and any(ref.startswith("s") for ref in inputs):
        return "linear"
    op = _CANONICAL.get(name, name)
    if op.endswith("_") and not op.endswith("__"):
        op = op[:-1]
    return op


def _holds(args, tensor):
    """Whether `tensor` itself is among a module call's arguments, in any Python structure. Lists, tuples and
    dicts are walked directly: a DenseNet layer is called with the list of every earlier feature map, and
    pytree's flatten builds a spec of the whole structure on every call (the seed's export at batch 16:
    1.84 → 1.76 s, interleaved medians in one process)."""
    pending = [args]
    while pending:
        item = pending.pop()
        if item is tensor:
            return True
        if isinstance(item, torch.Tensor):
            continue
        if isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif type(item) in SUPPORTED_NODES:  # other containers registered with pytree (dataclasses, ...)
            pending.extend(tree_flatten(item)[0])
    return False
