"""The regression corpus: real third-party models and the sharing bugs users write, each with its truth
measured on the live model (never written by hand).

A case builds a model and its example inputs and names its intended heads (module prefixes, the last one
the module whose output is the head's result). `truth()` then decides from the model itself:

- shared storage: a parameter or buffer whose memory (storage and byte range) is named under two heads;
- gradient leak: `autograd.grad` from one head's result reaches a parameter only another head owns;
- in-place hazard: backward raises "modified by an inplace operation", or the outputs differ from the
  same model built without the in-place op (`twin`), both with the same generic weights (a little noise on
  every parameter: a layer initialised to zero would hide the change).

Tensors tied between the trunk and one head (BERT's decoder is the word embedding) are the trunk's; so is a
parameter no head names (the parent's, even when each head's output is scaled by it).

The cases: corpus_models.py (third-party models), corpus_bugs.py (the bugs users write); `CASES` is both.
"""
from dataclasses import dataclass, field

import torch


@dataclass
class Case:
    name: str
    source: str                      # torchvision, timm, transformers, smp, or bug
    build: object                    # () -> (model, inputs tuple)
    heads: list                      # [[prefix, ...], ...]; [] for a model without heads
    train: bool = True
    twin: object = None              # () -> (model, inputs): the same model without the in-place op
    expect_branches: list = None     # the branch names graphcheck should find (None: verdict only)
    notes: str = ""
    meta: bool = False               # built on the meta device: the truth comes from `twin` on the CPU
    fake_path: str = ""              # the fake run takes another path (the model's code tells fake tensors from real ones, or a fake kernel's strides differ): how
    known_miss: str = ""             # a wrong verdict we know of and cannot fix yet: why (the test is a strict xfail)
    undecided: str = ""              # graphcheck must not decide, for this reason (the graph cannot say what the heads are)
    kwargs: dict = field(default_factory=dict)


# -- truth ------------------------------------------------------------------------------------------

def _memory(tensor):
    start = tensor.storage_offset() * tensor.element_size()
    extent = 1 + sum((n - 1) * abs(s) for n, s in zip(tensor.shape, tensor.stride())) if tensor.numel() else 0
    return tensor.untyped_storage().data_ptr(), start, start + extent * tensor.element_size()


def _owner(name, heads):
    for i, prefixes in enumerate(heads):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    return None


def _groups(model):
    """Names of parameters and buffers grouped by overlapping memory (real tensors: by address)."""
    spans = []
    for named in (model.named_parameters, model.named_buffers):
        for name, tensor in named(remove_duplicate=False):
            block, start, end = _memory(tensor)
            for span in spans:
                if span[0] == block and start < span[2] and span[1] < end:
                    span[1], span[2] = min(span[1], start), max(span[2], end)
                    span[3].append((name, tensor))
                    break
            else:
                spans.append([block, start, end, [(name, tensor)]])
    return [span[3] for span in spans]


def _head_outputs(model, heads, inputs, train):
    outputs = [[] for _ in heads]
    hooks = []
    modules = dict(model.named_modules(remove_duplicate=False))
    for i, prefixes in enumerate(heads):
        def keep(_module, _args, out, i=i):
            outputs[i].extend(t for t in torch.utils._pytree.tree_flatten(out)[0] if isinstance(t, torch.Tensor) and t.requires_grad)
        hooks.append(modules[prefixes[-1]].register_forward_hook(keep))
    model.train(train)
    try:
        result = model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    return outputs, result


def truth(case):
    """{'shared': bool, 'leak': bool, 'inplace': bool, 'independent': bool or None} from the live model."""
    model, inputs = (case.twin if case.meta else case.build)()
    heads = case.heads
    if len(heads) < 2:
        return {"shared": False, "leak": False, "inplace": False, "independent": None}
    shared = False
    owned = [[] for _ in heads]
    for group in _groups(model):
        owners = {_owner(name, heads) for name, _ in group}
        if len(owners - {None}) >= 2:
            shared = True
        if None not in owners and len(owners) == 1 and group[0][1].requires_grad:
            owned[owners.pop()].append(group[0][1])
    outputs, result = _head_outputs(model, heads, inputs, case.train)
    leak = False
    for i, outs in enumerate(outputs):
        if not outs:
            continue
        total = sum(o.float().sum() for o in outs)
        for j in range(len(heads)):
            if j == i or not owned[j]:
                continue
            try:
                grads = torch.autograd.grad(total, owned[j], allow_unused=True, retain_graph=True)
            except RuntimeError as error:  # an in-place op broke the backward pass: judged below
                if "inplace" not in str(error):
                    raise
                continue
            leak = leak or any(g is not None for g in grads)
    inplace = False
    flat = [t for t in torch.utils._pytree.tree_flatten(result)[0] if isinstance(t, torch.Tensor) and t.requires_grad]
    try:
        sum(t.float().sum() for t in flat).backward()
    except RuntimeError as error:
        if "inplace" not in str(error):
            raise
        inplace = True
    if not inplace and case.twin is not None and not case.meta:
        torch.manual_seed(0)
        twin, twin_inputs = case.twin()
        _perturb(model)
        twin.load_state_dict(model.state_dict())
        twin.train(case.train)
        model.train(case.train)
        with torch.no_grad():  # each from the same seed: dropout draws the same masks in both
            torch.manual_seed(0)
            a = torch.utils._pytree.tree_flatten(model(*inputs))[0]
            torch.manual_seed(0)
            b = torch.utils._pytree.tree_flatten(twin(*twin_inputs))[0]
        inplace = any(not torch.allclose(x, y) for x, y in zip(a, b) if isinstance(x, torch.Tensor))
    return {"shared": shared, "leak": leak, "inplace": inplace, "independent": not (shared or leak or inplace)}


def _perturb(model):
    """Small noise on every parameter, so that a layer a model initialises to zero (DAB-DETR's last box layer)
    does not hide from the comparison what an in-place op changed upstream: the weights are generic, as trained
    ones are."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point() and p.device.type != "meta":
                p.add_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.02)


def cases():
    """Every case, third-party models first."""
    from corpus_bugs import BUGS
    from corpus_models import THIRD_PARTY
    return THIRD_PARTY + BUGS
