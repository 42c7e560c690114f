"""The regression corpus: real third-party models and the sharing bugs users write, each with its truth
measured on the live model (never written by hand).

A case builds a model and its example inputs and names its intended heads (module prefixes, the last one
the module whose output is the head's result). `truth()` then decides from the model itself:

- shared storage: a parameter or buffer whose memory (storage and byte range) is named under two heads;
- gradient leak: `autograd.grad` from one head's result reaches a parameter only another head owns;
- in-place hazard: backward raises "modified by an inplace operation", or the outputs differ from the
  same model built without the in-place op (`twin`).

Tensors tied between the trunk and one head (BERT's decoder is the word embedding) are the trunk's.
"""
import copy
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


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
    fake_path: str = ""              # the model's code tells fake tensors from real ones and takes another path: how
    known_miss: str = ""             # a wrong verdict we know of and cannot fix yet: why (the test is a strict xfail)
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
        twin.load_state_dict(model.state_dict())
        twin.train(case.train)
        model.train(case.train)
        with torch.no_grad():
            a = torch.utils._pytree.tree_flatten(model(*inputs))[0]
            b = torch.utils._pytree.tree_flatten(twin(*twin_inputs))[0]
        inplace = any(not torch.allclose(x, y) for x, y in zip(a, b) if isinstance(x, torch.Tensor))
    return {"shared": shared, "leak": leak, "inplace": inplace, "independent": not (shared or leak or inplace)}


# -- third-party models -----------------------------------------------------------------------------

def _image(n=2, size=64):
    torch.manual_seed(0)
    return (torch.randn(n, 3, size, size),)


def _tv(name, **kwargs):
    def build():
        import torchvision
        torch.manual_seed(0)
        return getattr(torchvision.models, name)(weights=None, **kwargs), _image()
    return build


def _tv_detection(name, **kwargs):
    def build():
        import torchvision
        torch.manual_seed(0)
        model = getattr(torchvision.models.detection, name)(
            weights=None, weights_backbone=None, num_classes=3, min_size=64, max_size=64, **kwargs)
        return model, ([torch.rand(3, 64, 64)],)
    return build


def _tv_segmentation(name):
    def build():
        import torchvision
        torch.manual_seed(0)
        return getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None, num_classes=3, aux_loss=True), _image()
    return build


def _timm(name, **kwargs):
    def build():
        import timm
        torch.manual_seed(0)
        return timm.create_model(name, pretrained=False, **kwargs), _image(2, kwargs.get("img_size", 64))
    return build


def _bert():
    from transformers import BertConfig, BertForPreTraining
    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                        max_position_embeddings=32, attn_implementation="eager")
    return BertForPreTraining(config), (torch.randint(0, 64, (2, 8)),)


def _gpt2_double_heads():
    from transformers import GPT2Config, GPT2DoubleHeadsModel
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=2, n_positions=32, attn_implementation="eager")
    return GPT2DoubleHeadsModel(config), (torch.randint(0, 64, (2, 2, 8)),)


def _smp(name):
    def build():
        import segmentation_models_pytorch as smp
        torch.manual_seed(0)
        model = getattr(smp, name)("resnet18", encoder_weights=None, classes=2, aux_params={"classes": 3})
        return model, _image()
    return build


class ResNetMultiTask(nn.Module):
    """What a user writes: a torchvision ResNet-18 as trunk, two task heads."""

    def __init__(self):
        super().__init__()
        import torchvision
        resnet = torchvision.models.resnet18(weights=None)
        self.trunk = nn.Sequential(*list(resnet.children())[:-1])
        self.age = nn.Linear(512, 1)
        self.gender = nn.Linear(512, 2)

    def forward(self, x):
        t = torch.flatten(self.trunk(x), 1)
        return self.age(t), self.gender(t)


def _multitask():
    torch.manual_seed(0)
    return ResNetMultiTask(), _image()


THIRD_PARTY = [
    Case("deeplabv3_resnet50 (aux_loss)", "torchvision", _tv_segmentation("deeplabv3_resnet50"), [["classifier"], ["aux_classifier"]],
         expect_branches=["classifier", "aux_classifier"]),
    Case("fcn_resnet50 (aux_loss)", "torchvision", _tv_segmentation("fcn_resnet50"), [["classifier"], ["aux_classifier"]],
         expect_branches=["classifier", "aux_classifier"]),
    Case("googlenet (aux_logits, train)", "torchvision", _tv("googlenet", aux_logits=True, init_weights=False),
         [["aux1"], ["aux2"], ["inception4e", "inception5a", "inception5b", "fc"]]),
    Case("retinanet_resnet50_fpn (eval)", "torchvision", _tv_detection("retinanet_resnet50_fpn"),
         [["head.classification_head"], ["head.regression_head"]], train=False,
         expect_branches=["head.classification_head", "head.regression_head"]),
    Case("fcos_resnet50_fpn (eval)", "torchvision", _tv_detection("fcos_resnet50_fpn"),
         [["head.classification_head"], ["head.regression_head"]], train=False,
         expect_branches=["head.classification_head", "head.regression_head"]),
    Case("fasterrcnn_mobilenet_v3_large_fpn (eval)", "torchvision", _tv_detection("fasterrcnn_mobilenet_v3_large_fpn"),
         [["roi_heads.box_predictor.cls_score"], ["roi_heads.box_predictor.bbox_pred"]], train=False),
    Case("resnet18 trunk + two task heads", "torchvision", _multitask, [["age"], ["gender"]], expect_branches=["age", "gender"]),
    Case("mobilenet_v3_small (one head)", "torchvision", _tv("mobilenet_v3_small"), []),
    Case("deit_tiny_distilled_patch16_224", "timm", _timm("deit_tiny_distilled_patch16_224", img_size=32), [["head"], ["head_dist"]],
         expect_branches=["head", "head_dist"]),
    Case("levit_128s (distilled heads)", "timm", _timm("levit_128s", img_size=64), [["head"], ["head_dist"]], expect_branches=["head", "head_dist"]),
    Case("resnet18 (timm, one head)", "timm", _timm("resnet18"), []),
    Case("BertForPreTraining", "transformers", _bert, [["cls.predictions"], ["cls.seq_relationship"]],
         expect_branches=["cls.predictions", "cls.seq_relationship"]),
    Case("GPT2DoubleHeadsModel", "transformers", _gpt2_double_heads, [["lm_head"], ["multiple_choice_head"]],
         expect_branches=["lm_head", "multiple_choice_head"]),
    Case("smp.Unet (aux_params)", "smp", _smp("Unet"), [["decoder", "segmentation_head"], ["classification_head"]],
         expect_branches=["decoder", "classification_head"]),
    Case("smp.FPN (aux_params)", "smp", _smp("FPN"), [["decoder", "segmentation_head"], ["classification_head"]],
         expect_branches=["decoder", "classification_head"]),
    Case("smp.DeepLabV3Plus (aux_params)", "smp", _smp("DeepLabV3Plus"), [["decoder", "segmentation_head"], ["classification_head"]],
         expect_branches=["decoder", "classification_head"]),
]


# -- the bugs users write ---------------------------------------------------------------------------

def _head():
    return nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))


class Heads(nn.Module):
    """A trunk and three heads in a ModuleList, made by `make(head)`."""

    def __init__(self, make, inplace_first=False, relu_in_parent=False):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        base = _head()
        self.heads = nn.ModuleList(make(base))
        self.inplace_first = inplace_first
        self.relu_in_parent = relu_in_parent

    def forward(self, x):
        t = self.trunk[0](x)
        if self.relu_in_parent:
            outs = [self.heads[0](F.relu_(t) if self.relu_in_parent == "inplace" else F.relu(t))]
            outs += [h(t) for h in self.heads[1:]]
            return torch.cat(outs, dim=1)
        t = self.trunk[1](t)
        return torch.cat([h(t) for h in self.heads], dim=1)


def _heads(make, **kwargs):
    def build():
        torch.manual_seed(0)
        return Heads(make, **kwargs), (torch.randn(4, 8),)
    return build


def _same_head(attribute):
    def make(base):
        heads = [copy.deepcopy(base) for _ in range(3)]
        attribute(heads)
        return heads
    return make


def _assign_weight(heads):
    heads[1][0].weight = heads[0][0].weight


def _assign_data(heads):
    heads[1][0].weight.data = heads[0][0].weight.data


def _parameter_of_other(heads):
    heads[1][3].weight = nn.Parameter(heads[0][3].weight)


def _flat(overlap):
    def attribute(heads):
        flat = torch.randn(16 * 16 * 2)
        offset = 128 if overlap else 256
        heads[0][0].weight = nn.Parameter(flat[:256].view(16, 16))
        heads[1][0].weight = nn.Parameter(flat[offset:offset + 256].view(16, 16))
    return attribute


def _reused_batchnorm(heads):
    heads[1][1] = heads[0][1]


def _loaded_copy(base):
    heads = [copy.deepcopy(base) for _ in range(3)]
    for h in heads[1:]:
        h.load_state_dict(heads[0].state_dict())
    return heads


class AliasHeads(nn.Module):
    """`self.head2 = self.head1`: one module under two attribute names."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head1 = _head()
        self.head2 = self.head1
        self.head3 = _head()

    def forward(self, x):
        t = F.relu(self.trunk(x))
        return self.head1(t), self.head2(t), self.head3(t)


class LeakHeads(nn.Module):
    """head2 reads head1's intermediate (`t + a`): the leak the tool exists to find. Through `.detach()`
    (`detach=True`) values cross but gradients do not."""

    def __init__(self, inplace_add=False, detach=False):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head1 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
        self.head2 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
        self.head3 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
        self.inplace_add = inplace_add
        self.detach = detach

    def forward(self, x):
        t = F.relu(self.trunk(x))
        if self.inplace_add:
            o1 = self.head1(t)
            t += self.head1[0](t)
            return o1, self.head2(t), self.head3(t)
        a = self.head1[0](t)
        o1 = self.head1[2](self.head1[1](a))
        return o1, self.head2(t + (a.detach() if self.detach else a)), self.head3(t)


class LastInplaceHead(nn.Module):
    """The last head starts with nn.ReLU(inplace=True): it overwrites what the others saved for backward."""

    def __init__(self, inplace=True):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head1 = nn.Linear(16, 2)
        self.head2 = nn.Linear(16, 2)
        self.head3 = nn.Sequential(nn.ReLU(inplace=inplace), nn.Linear(16, 2))

    def forward(self, x):
        t = self.trunk(x)
        return self.head1(t), self.head2(t), self.head3(t)


class CascadeHeads(nn.Module):
    """head2 reads head1's output, which the model also returns (a cascade); `.detach()` makes it harmless."""

    def __init__(self, detach=False):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head1 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
        self.head2 = nn.Sequential(nn.Linear(18, 16), nn.ReLU(), nn.Linear(16, 3))
        self.detach = detach

    def forward(self, x):
        t = F.relu(self.trunk(x))
        o1 = self.head1(t)
        return o1, self.head2(torch.cat([t, o1.detach() if self.detach else o1], 1))


class LeakIntoConcatenatedHeads(nn.Module):
    """head2 reads `t + head1(t)`, and the heads' outputs are concatenated into one returned tensor: head1's
    output is a result only through the `cat`, and still the leak must be found between the heads."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head1 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16))
        self.head2 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        t = F.relu(self.trunk(x))
        a = self.head1(t)
        return torch.cat([a, self.head2(t + a)], 1)


class SliceWriteHead(nn.Module):
    """Zeroes the first features of its input in place (`x[:, :4] = 0`), or out of place."""

    def __init__(self, inplace):
        super().__init__()
        self.inplace = inplace
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        if self.inplace:
            x[:, :4] = 0
        else:
            x = torch.cat([torch.zeros_like(x[:, :4]), x[:, 4:]], 1)
        return self.fc(x)


class SliceWriteHeads(nn.Module):
    """A write through a view of the trunk's tensor, in the first head or in the parent between the heads."""

    def __init__(self, where, inplace=True):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head1 = SliceWriteHead(inplace and where == "head")
        self.head2 = nn.Linear(16, 2)
        self.where, self.inplace = where, inplace

    def forward(self, x):
        t = F.gelu(self.trunk(x))  # saves its input, not its result: only the heads can be hurt
        o1 = self.head1(t)
        if self.where == "parent":
            if self.inplace:
                t[:, 0] = 0
            else:
                t = torch.cat([torch.zeros_like(t[:, :1]), t[:, 1:]], 1)
        return o1, self.head2(t)


class ReLUModuleAsArgument(nn.Module):
    """One `nn.ReLU(inplace=True)` of the parent applied as head1's argument; head2 reads `t` afterwards."""

    def __init__(self, inplace=True):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.relu = nn.ReLU(inplace=inplace)
        self.head1 = nn.Linear(16, 2)
        self.head2 = nn.Linear(16, 2)

    def forward(self, x):
        t = self.trunk(x)
        a = self.head1(self.relu(t))
        return a, self.head2(t)


class RecurrentHeads(nn.Module):
    """Two GRU encoders over one embedding, each with its classifier; `share` makes the second an alias of
    the first (the GRU's gates are in-place ops on views of one buffer)."""

    def __init__(self, share):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.enc1 = nn.GRU(16, 16, batch_first=True)
        self.enc2 = self.enc1 if share else nn.GRU(16, 16, batch_first=True)
        self.cls1 = nn.Linear(16, 3)
        self.cls2 = nn.Linear(16, 4)

    def forward(self, x):
        e = self.emb(x)
        a, _ = self.enc1(e)
        b, _ = self.enc2(e)
        return self.cls1(a[:, -1]), self.cls2(b[:, -1])


def _recurrent(share):
    def build():
        torch.manual_seed(0)
        return RecurrentHeads(share), (torch.randint(0, 50, (2, 5)),)
    return build


def _module(cls, *args):
    def build():
        torch.manual_seed(0)
        return cls(*args), (torch.randn(4, 8),)
    return build


def _meta_heads(shared):
    def build():
        with torch.device("meta"):
            model = Heads(lambda base: [base] * 3 if shared else [copy.deepcopy(base) for _ in range(3)])
        return model, (torch.randn(4, 8, device="meta"),)
    return build


LIST = [["heads.0"], ["heads.1"], ["heads.2"]]
NAMED = [["head1"], ["head2"], ["head3"]]
NAMES = ["heads.0", "heads.1", "heads.2"]

BUGS = [
    Case("ModuleList([head] * 3)", "bug", _heads(lambda b: [b] * 3), LIST, expect_branches=NAMES),
    Case("copy.copy(head) per slot", "bug", _heads(lambda b: [copy.copy(b) for _ in range(3)]), LIST, expect_branches=NAMES),
    Case("alias attribute (self.head2 = self.head1)", "bug", _module(AliasHeads), NAMED, expect_branches=["head1", "head2", "head3"]),
    Case("head2.weight = head1.weight", "bug", _heads(_same_head(_assign_weight)), LIST, expect_branches=NAMES),
    Case("head2.weight.data = head1.weight.data", "bug", _heads(_same_head(_assign_data)), LIST, expect_branches=NAMES),
    Case("nn.Parameter(head1.weight)", "bug", _heads(_same_head(_parameter_of_other)), LIST, expect_branches=NAMES),
    Case("overlapping slices of one flat buffer", "bug", _heads(_same_head(_flat(True))), LIST, expect_branches=NAMES),
    Case("disjoint slices of one flat buffer", "bug", _heads(_same_head(_flat(False))), LIST, expect_branches=NAMES),
    Case("one BatchNorm reused by two heads", "bug", _heads(_same_head(_reused_batchnorm)), LIST, expect_branches=NAMES),
    Case("copy.deepcopy per slot", "bug", _heads(lambda b: [copy.deepcopy(b) for _ in range(3)]), LIST, expect_branches=NAMES),
    Case("deepcopy + load_state_dict", "bug", _heads(_loaded_copy), LIST, expect_branches=NAMES),
    Case("head2 reads head1's intermediate", "bug", _module(LeakHeads), NAMED, expect_branches=["head1", "head2", "head3"]),
    Case("t += head1(t)", "bug", _module(LeakHeads, True), NAMED, expect_branches=["head1", "head2", "head3"]),
    Case("F.relu_(t) in the parent before one head", "bug",
         _heads(lambda b: [copy.deepcopy(b) for _ in range(3)], relu_in_parent="inplace"), LIST,
         twin=_heads(lambda b: [copy.deepcopy(b) for _ in range(3)], relu_in_parent="functional"), expect_branches=NAMES),
    Case("last head starts with ReLU(inplace=True)", "bug", _module(LastInplaceHead), NAMED,
         twin=_module(LastInplaceHead, False), expect_branches=["head1", "head2", "head3"]),
    Case("deep-copied heads on the meta device", "bug", _meta_heads(False), LIST, meta=True,
         twin=_heads(lambda b: [copy.deepcopy(b) for _ in range(3)]), expect_branches=NAMES),
    Case("[head] * 3 on the meta device", "bug", _meta_heads(True), LIST, meta=True, twin=_heads(lambda b: [b] * 3),
         expect_branches=NAMES),
]

TWO = [["head1"], ["head2"]]
GRU = [["enc1", "cls1"], ["enc2", "cls2"]]

BUGS += [
    Case("head2 reads head1's output (cascade)", "bug", _module(CascadeHeads), TWO, expect_branches=["head1", "head2"]),
    Case("cascade through detach()", "bug", _module(CascadeHeads, True), TWO, expect_branches=["head1", "head2"]),
    Case("head2(t + head1(t)), outputs concatenated", "bug", _module(LeakIntoConcatenatedHeads), TWO, expect_branches=["head1", "head2"]),
    Case("head2 reads head1's intermediate through detach()", "bug", _module(LeakHeads, False, True), NAMED,
         expect_branches=["head1", "head2", "head3"]),
    Case("x[:, :4] = 0 in the first head", "bug", _module(SliceWriteHeads, "head"), TWO,
         twin=_module(SliceWriteHeads, "head", False), expect_branches=["head1", "head2"]),
    Case("t[:, 0] = 0 in the parent after head1 ran", "bug", _module(SliceWriteHeads, "parent"), TWO,
         twin=_module(SliceWriteHeads, "parent", False), expect_branches=["head1", "head2"]),
    Case("head1(self.relu(t)) with ReLU(inplace=True)", "bug", _module(ReLUModuleAsArgument), TWO,
         twin=_module(ReLUModuleAsArgument, False), expect_branches=["head1", "head2"]),
    Case("GRU encoder aliased (self.enc2 = self.enc1)", "bug", _recurrent(True), GRU, expect_branches=["enc1", "enc2"]),
    Case("two GRU encoders", "bug", _recurrent(False), GRU, expect_branches=["enc1", "enc2"]),
]


def _inception():
    import torchvision
    torch.manual_seed(0)
    return torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False), (torch.randn(2, 3, 299, 299),)


def _features_only():
    import timm
    torch.manual_seed(0)
    return timm.create_model("resnet18", features_only=True, pretrained=False), _image()


def _albert():
    from transformers import AlbertConfig, AlbertForPreTraining
    torch.manual_seed(0)
    config = AlbertConfig(vocab_size=64, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=37, max_position_embeddings=32, attn_implementation="eager")
    return AlbertForPreTraining(config), (torch.randint(0, 64, (2, 8)),)


def _ssdlite():
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3)
    return model, ([torch.rand(3, 64, 64)],)


def _bart():
    from transformers import BartConfig, BartForConditionalGeneration
    torch.manual_seed(0)
    config = BartConfig(vocab_size=64, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=32)
    ids = torch.randint(0, 64, (2, 8))
    return BartForConditionalGeneration(config), (ids, None, ids)


THIRD_PARTY += [
    Case("BartForConditionalGeneration (returns the encoder's output; no heads)", "transformers", _bart, [],
         fake_path="transformers builds the attention mask explicitly when it sees a FakeTensor (its is_tracing)"),
    Case("inception_v3 (aux_logits, train)", "torchvision", _inception, [["AuxLogits"], ["Mixed_7a", "Mixed_7b", "Mixed_7c", "fc"]]),
    Case("deeplabv3_mobilenet_v3_large (aux_loss)", "torchvision", _tv_segmentation("deeplabv3_mobilenet_v3_large"),
         [["classifier"], ["aux_classifier"]], expect_branches=["classifier", "aux_classifier"]),
    Case("ssdlite320_mobilenet_v3_large (eval)", "torchvision", _ssdlite, [["head.classification_head"], ["head.regression_head"]],
         train=False),
    Case("resnet18 features_only (no heads)", "timm", _features_only, []),
    Case("AlbertForPreTraining", "transformers", _albert, [["predictions"], ["sop_classifier"]],
         expect_branches=["predictions", "sop_classifier"]),
]

CASES = THIRD_PARTY + BUGS
