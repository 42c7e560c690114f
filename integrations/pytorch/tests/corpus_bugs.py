"""The corpus's sharing bugs, written as users write them (forum posts), each beside its fix."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from corpus import Case


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


class FrozenLeakHeads(LeakHeads):
    """head2 reads head1's intermediate, head1 frozen (`requires_grad_(False)`, a pretrained head kept as it
    is): head2's gradient passes through head1's ops into the trunk but changes nothing of head1."""

    def __init__(self):
        super().__init__()
        self.head1.requires_grad_(False)


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


def _module(cls, *args, inputs=(4, 8)):
    def build():
        torch.manual_seed(0)
        return cls(*args), (torch.randn(*inputs),)
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


class TwoLinearHeads(nn.Module):
    """A Linear trunk and two Linear heads, for the cases below to write their forward around."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head1 = nn.Linear(16, 2)
        self.head2 = nn.Linear(16, 2)


class ScaledHeads(TwoLinearHeads):
    """The parent's own parameter scales every head's output: the parent's, like the trunk's, not shared."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        t = F.relu(self.trunk(x))
        return self.head1(t) * self.scale, self.head2(t) * self.scale


class MaskedHeads(TwoLinearHeads):
    """Each head holds a mask buffer, read in the parent's forward; `shared` registers one tensor in both."""

    def __init__(self, shared):
        super().__init__()
        mask = torch.ones(16)
        self.head1.register_buffer("mask", mask)
        self.head2.register_buffer("mask", mask if shared else mask.clone())

    def forward(self, x):
        t = F.relu(self.trunk(x))
        return self.head1(t * self.head1.mask), self.head2(t * self.head2.mask)


class ScaledInPlaceBetweenHeads(TwoLinearHeads):
    """`t.mul_(2)` in the parent after head1 ran and before head2: head1's Linear saved t for backward."""

    def __init__(self, inplace=True):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        t = self.trunk(x)
        a = self.head1(t)
        return a, self.head2(t.mul_(2) if self.inplace else t * 2)


class DictHeads(nn.Module):
    """Heads in a ModuleDict, pooled in the parent's forward, results returned as a dict; `shared`: one
    Linear made outside the loop starts every head."""

    def __init__(self, shared):
        super().__init__()
        self.trunk = nn.Conv2d(3, 8, 3)
        first = nn.Linear(8, 8)
        self.heads = nn.ModuleDict({name: nn.Sequential(first if shared else nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, n))
                                    for name, n in (("cls", 3), ("reg", 4), ("seg", 2))})

    def forward(self, x):
        pooled = torch.flatten(F.adaptive_avg_pool2d(F.relu(self.trunk(x)), 1), 1)
        return {name: head(pooled) for name, head in self.heads.items()}


class FlattenedHeads(Heads):
    """`vector_to_parameters` after `parameters_to_vector`: every parameter a disjoint view of one vector."""

    def __init__(self):
        super().__init__(lambda base: [copy.deepcopy(base) for _ in range(3)])
        from torch.nn.utils import parameters_to_vector, vector_to_parameters
        vector_to_parameters(parameters_to_vector(self.parameters()), self.parameters())


class NormInEveryHead(nn.Module):
    """One LayerNorm made outside the loop that builds the heads, so every head holds it."""

    def __init__(self, shared):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        norm = nn.LayerNorm(16)
        self.heads = nn.ModuleList([nn.Sequential(norm if shared else nn.LayerNorm(16), nn.Linear(16, 2)) for _ in range(3)])

    def forward(self, x):
        t = F.relu(self.trunk(x))
        return [head(t) for head in self.heads]


class SummedLosses(TwoLinearHeads):
    """Training code in forward: each head's loss, summed into the one value returned."""

    def __init__(self, tied):
        super().__init__()
        if tied:
            self.head2.weight = self.head1.weight

    def forward(self, x):
        t = F.relu(self.trunk(x))
        return F.mse_loss(self.head1(t), torch.zeros(x.shape[0], 2)) + F.mse_loss(self.head2(t), torch.ones(x.shape[0], 2))


class Siamese(nn.Module):
    """One encoder applied to two inputs: sharing by design, and no heads."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))

    def forward(self, a, b):
        return F.pairwise_distance(self.encoder(a), self.encoder(b))


class PairedSiamese(Siamese):
    """The same encoder on the two members of a pair given as one tensor (`x[:, 0]`, `x[:, 1]`): two
    computations, because the slices differ, however alike the calls look."""

    def forward(self, x):
        return F.pairwise_distance(self.encoder(x[:, 0]), self.encoder(x[:, 1]))


class TaskRows(nn.Module):
    """A score vector per task, the rows of one parameter (`self.tasks[i]`): each task reads its own row."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.tasks = nn.Parameter(torch.randn(3, 16))

    def forward(self, x):
        t = torch.relu(self.trunk(x))
        return [t @ self.tasks[i] for i in range(3)]


class TridentConv(nn.Module):
    """One conv weight applied at two dilations (TridentNet's scale branches): two computations."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv = nn.Conv2d(8, 4, 3)

    def forward(self, x):
        t = self.stem(x)
        return [F.conv2d(t, self.conv.weight, self.conv.bias, padding=d, dilation=d) for d in (1, 2)]


def _images(cls, *args):
    def build():
        torch.manual_seed(0)
        return cls(*args), (torch.randn(2, 3, 16, 16),)
    return build


def _pair():
    torch.manual_seed(0)
    return Siamese(), (torch.randn(4, 8), torch.randn(4, 8))


def _paired():
    torch.manual_seed(0)
    return PairedSiamese(), (torch.randn(4, 2, 8),)


DICT = [["heads.cls"], ["heads.reg"], ["heads.seg"]]

BUGS += [
    Case("a parent's parameter scales every head", "bug", _module(ScaledHeads), TWO, expect_branches=["head1", "head2"]),
    Case("one mask buffer registered in two heads", "bug", _module(MaskedHeads, True), TWO, expect_branches=["head1", "head2"]),
    Case("a mask buffer per head", "bug", _module(MaskedHeads, False), TWO, expect_branches=["head1", "head2"]),
    Case("t.mul_(2) in the parent between two heads", "bug", _module(ScaledInPlaceBetweenHeads), TWO,
         twin=_module(ScaledInPlaceBetweenHeads, False), expect_branches=["head1", "head2"]),
    Case("ModuleDict heads returning a dict", "bug", _images(DictHeads, False), DICT, expect_branches=["heads.cls", "heads.reg", "heads.seg"]),
    Case("ModuleDict heads sharing a Linear made outside the loop", "bug", _images(DictHeads, True), DICT,
         expect_branches=["heads.cls", "heads.reg", "heads.seg"]),
    Case("vector_to_parameters (disjoint views of one vector)", "bug", _module(FlattenedHeads), LIST, expect_branches=NAMES),
    Case("one LayerNorm in every head", "bug", _module(NormInEveryHead, True), LIST, expect_branches=NAMES),
    Case("a LayerNorm per head", "bug", _module(NormInEveryHead, False), LIST, expect_branches=NAMES),
    Case("the heads' losses summed in forward", "bug", _module(SummedLosses, False), TWO, expect_branches=["head1", "head2"]),
    Case("the heads' losses summed, weights tied", "bug", _module(SummedLosses, True), TWO, expect_branches=["head1", "head2"]),
    Case("siamese encoder (no heads)", "bug", _pair, []),
    Case("siamese encoder on x[:, 0] and x[:, 1] (no heads)", "bug", _paired, []),
    Case("head2 reads a frozen head1's intermediate", "bug", _module(FrozenLeakHeads), NAMED, expect_branches=["head1", "head2", "head3"]),
    Case("a score vector per task, rows of one parameter (no heads)", "bug", _module(TaskRows), []),
    Case("one conv weight at two dilations (no heads)", "bug", _images(TridentConv), []),
]


class GatedHeads(TwoLinearHeads):
    """The trunk ends in a sigmoid, which keeps its result for backward; head2's argument multiplies that
    result in place (`g.mul_(3)`), breaking backward although head1 read a copy (`g * 2`)."""

    def __init__(self, inplace=True):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        g = torch.sigmoid(self.trunk(x))
        a = self.head1(g * 2)
        return a, self.head2(g.mul_(3) if self.inplace else g * 3)


class BorrowedWeightHeads(TwoLinearHeads):
    """head2 computes with head1's weight, `detach`ed (or not): read across, but detached no gradient goes back
    into head1, so training head2 changes nothing of head1's."""

    def __init__(self, detach=True):
        super().__init__()
        self.head1 = nn.Linear(16, 16)
        self.detach = detach

    def forward(self, x):
        t = F.relu(self.trunk(x))
        w = self.head1.weight.detach() if self.detach else self.head1.weight
        return self.head1(t), self.head2(t @ w)


class FrozenFirstHeads(LastInplaceHead):
    """head1 and head2 frozen (`requires_grad_(False)`): their Linears keep their weights, not their input, so
    head3's in-place ReLU on the trunk's tensor after them breaks nothing (trained, they would keep it)."""

    def __init__(self):
        super().__init__()
        self.head1.requires_grad_(False)
        self.head2.requires_grad_(False)


BUGS += [
    Case("sigmoid's result multiplied in place as head2's argument", "bug", _module(GatedHeads), TWO,
         twin=_module(GatedHeads, False), expect_branches=["head1", "head2"]),
    Case("frozen heads, the last one starting with ReLU(inplace=True)", "bug", _module(FrozenFirstHeads), NAMED,
         expect_branches=["head1", "head2", "head3"]),
    Case("head2 computes with head1.weight.detach()", "bug", _module(BorrowedWeightHeads), TWO, expect_branches=["head1", "head2"]),
    Case("head2 computes with head1.weight", "bug", _module(BorrowedWeightHeads, False), TWO, expect_branches=["head1", "head2"]),
]

# The same hazards exported in eval mode (`--eval`, fine-tuning with frozen BatchNorm): backward breaks there too.
BUGS += [
    Case("last head starts with ReLU(inplace=True), exported in eval mode", "bug", _module(LastInplaceHead), NAMED, train=False,
         twin=_module(LastInplaceHead, False), expect_branches=["head1", "head2", "head3"]),
    Case("sigmoid's result multiplied in place, exported in eval mode", "bug", _module(GatedHeads), TWO, train=False,
         twin=_module(GatedHeads, False), expect_branches=["head1", "head2"]),
]


class MaskedMixture(nn.Module):
    """A router and four experts, top-1 routing written with masks (each expert reads the rows routed to it);
    `one_expert`: `ModuleList([expert] * 4)`, every slot the same object. Whether the experts are meant to be
    heads of their own (here: yes) or one head applied per level on purpose (Deformable DETR's class head) is
    not in the graph: with the experts as one object, graphcheck cannot decide, and says which `--branch`
    options check them. Experts of their own are heads beside the router, each compared with the others."""

    def __init__(self, one_expert=False):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.router = nn.Linear(16, 4)
        make = lambda: nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))
        self.experts = nn.ModuleList([make()] * 4 if one_expert else [make() for _ in range(4)])

    def forward(self, x):
        t = self.trunk(x)
        weights = self.router(t).softmax(-1)
        chosen = (weights == weights.amax(-1, keepdim=True)).to(t.dtype)
        return sum(expert(t * chosen[:, i:i + 1]) * weights[:, i:i + 1] for i, expert in enumerate(self.experts))


EXPERTS = [[f"experts.{i}"] for i in range(4)]
BUGS += [
    Case("a router and four experts of their own", "bug", _module(MaskedMixture), EXPERTS,
         expect_branches=["router", "experts.0", "experts.1", "experts.2", "experts.3"]),
    Case("a router and ModuleList([expert] * 4)", "bug", _module(MaskedMixture, True), EXPERTS, expect_branches=["router", "experts"],
         undecided="parts-share-storage"),
]


class MultiGateMixture(nn.Module):
    """A multi-gate mixture of experts (MMoE, common in recommendation): experts shared by every task by
    design, and per task a gate on the input and a tower on the gated mix. Task i is `gates.i` with `towers.i`;
    `one_tower`: the towers are one object (`[tower] * 2`), so the tasks never train apart."""

    def __init__(self, one_tower=False):
        super().__init__()
        self.experts = nn.ModuleList([nn.Sequential(nn.Linear(8, 16), nn.ReLU()) for _ in range(3)])
        self.gates = nn.ModuleList([nn.Linear(8, 3) for _ in range(2)])
        make = lambda: nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1))
        self.towers = nn.ModuleList([make()] * 2 if one_tower else [make() for _ in range(2)])

    def forward(self, x):
        mixed = torch.stack([expert(x) for expert in self.experts], dim=1)
        return tuple(torch.sigmoid(tower((gate(x).softmax(-1).unsqueeze(-1) * mixed).sum(1)))
                     for gate, tower in zip(self.gates, self.towers))


class ProgressiveLayeredExtraction(nn.Module):
    """Progressive layered extraction (PLE, multi-task recommendation): experts shared by every task, and per
    task its own experts (`specific.i`), a gate and a tower. Task i is three modules at three levels of the
    tree, each splitting the results the same way. `one_tower`: `towers[2] = towers[0]`."""

    def __init__(self, one_tower=False):
        super().__init__()
        expert = lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.shared = nn.ModuleList([expert() for _ in range(2)])
        self.specific = nn.ModuleList([nn.ModuleList([expert() for _ in range(2)]) for _ in range(3)])
        self.gates = nn.ModuleList([nn.Linear(8, 4) for _ in range(3)])
        self.towers = nn.ModuleList([nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1)) for _ in range(3)])
        if one_tower:
            self.towers[2] = self.towers[0]

    def forward(self, x):
        shared = [expert(x) for expert in self.shared]
        outs = []
        for task, (gate, tower) in enumerate(zip(self.gates, self.towers)):
            experts = torch.stack([expert(x) for expert in self.specific[task]] + shared, dim=1)
            outs.append(tower((gate(x).softmax(-1).unsqueeze(-1) * experts).sum(1)))
        return tuple(outs)


class HeadPerTask(nn.Module):
    """A head per task, one of them run per call (`forward(x, task)`, as multi-task training loops over tasks
    do). One trace sees one head: nothing to compare. `same_object`: `ModuleList([head] * 3)`, whose other
    slots are the object that ran: that they share is a fact whichever slot runs, so the slots are the
    branches and the verdict is NOT independent."""

    def __init__(self, same_object=False):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        make = lambda: nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
        self.heads = nn.ModuleList([make()] * 3 if same_object else [make() for _ in range(3)])

    def forward(self, x, task=1):
        return self.heads[task](F.relu(self.trunk(x)))


class DeepSupervisionUNet(nn.Module):
    """A small U-Net with deep supervision (nnU-Net style): each decoder stage reads the stage before it and a
    skip from the encoder, and a 1x1 conv per stage (`seg_outputs.i`) gives one result. The stages feed one
    another by design; the heads are the 1x1 convs. `one_head`: `seg_outputs[1] = seg_outputs[0]`."""

    def __init__(self, one_head=False):
        super().__init__()
        block = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())
        self.enc = nn.ModuleList([block(3, 8), block(8, 16), block(16, 32)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(32, 16, 2, 2), nn.ConvTranspose2d(16, 8, 2, 2)])
        self.dec = nn.ModuleList([block(32, 16), block(16, 8)])
        self.squeeze = nn.Conv2d(16, 8, 1)
        self.seg_outputs = nn.ModuleList([nn.Conv2d(8, 4, 1), nn.Conv2d(8, 4, 1)])
        if one_head:
            self.seg_outputs[1] = self.seg_outputs[0]

    def forward(self, x):
        skips = []
        for i, stage in enumerate(self.enc):
            x = stage(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        outs = []
        for i, (up, dec) in enumerate(zip(self.up, self.dec)):
            x = dec(torch.cat([up(x), skips[-2 - i]], 1))
            outs.append(self.seg_outputs[i](self.squeeze(x) if i == 0 else x))
        return outs[::-1]


TASKS = [["gates.0", "towers.0"], ["gates.1", "towers.1"]]
STAGES = [["seg_outputs.0"], ["seg_outputs.1"]]
THREE_HEADS = [["heads.0"], ["heads.1"], ["heads.2"]]
PLE_TASKS = [[f"specific.{i}", f"gates.{i}", f"towers.{i}"] for i in range(3)]
BUGS += [
    Case("MMoE: a gate and a tower per task", "bug", _module(MultiGateMixture), TASKS, expect_branches=["towers.0", "towers.1"]),
    Case("MMoE: one tower object for both tasks", "bug", _module(MultiGateMixture, True), TASKS, expect_branches=["towers.0", "towers.1"]),
    Case("one head per call, chosen by a task argument", "bug", _module(HeadPerTask), THREE_HEADS, undecided="no-branches"),
    Case("one head per call over ModuleList([head] * 3)", "bug", _module(HeadPerTask, True), THREE_HEADS,
         expect_branches=["heads.0", "heads.1", "heads.2"]),
    Case("PLE: own experts, gate and tower per task", "bug", _module(ProgressiveLayeredExtraction), PLE_TASKS),
    Case("PLE: towers[2] = towers[0]", "bug", _module(ProgressiveLayeredExtraction, True), PLE_TASKS),
    Case("U-Net deep supervision: a 1x1 head per stage", "bug", _module(DeepSupervisionUNet, inputs=(2, 3, 16, 16)), STAGES,
         expect_branches=["seg_outputs.0", "seg_outputs.1"]),
    Case("U-Net deep supervision: one 1x1 head object", "bug", _module(DeepSupervisionUNet, True, inputs=(2, 3, 16, 16)), STAGES,
         expect_branches=["seg_outputs.0", "seg_outputs.1"]),
]


class UnrolledDecoder(nn.Module):
    """A GRU encoder and a GRUCell decoder unrolled for three steps, one output Linear (one object, by
    design) for every step: one head applied per step, not heads. TorchScript writes GRUCell as ops on the
    three chunks of each gate projection, overwriting some in place; TensorBoard records each chunk as a
    node of its own."""

    def __init__(self):
        super().__init__()
        self.enc = nn.GRU(8, 16, batch_first=True)
        self.cell = nn.GRUCell(16, 16)
        self.out = nn.Linear(16, 5)

    def forward(self, x):
        _, h = self.enc(x)
        h = h[0]
        step, outs = torch.zeros_like(h), []
        for _ in range(3):
            h = self.cell(step, h)
            outs.append(self.out(h))
            step = h
        return tuple(outs)


BUGS += [
    Case("GRUCell decoder unrolled, one output Linear per step (no heads)", "bug", _module(UnrolledDecoder, inputs=(2, 4, 8)), [["out"]]),
]


@torch.jit.script
def _mix(t, a):
    gated = torch.tanh(a) * a  # differentiable ops: TorchScript fuses them into one differentiable graph
    return torch.cat([t, gated], 1)


class ScriptedMix(CascadeHeads):
    """head2 reads the trunk's output joined with head1's by a TorchScript function (a fused helper, as some
    model libraries ship). Once warmed up (a model checked after training), TorchScript runs the helper as
    one differentiable graph whose ops see detached copies of its inputs; the gradient still flows."""

    def forward(self, x):
        t = F.relu(self.trunk(x))
        a = self.head1(t)
        return a, self.head2(_mix(t, a.detach() if self.detach else a))


class ScriptedHeads(nn.Module):
    """Heads whose bodies are TorchScript modules (hooks see the wrapper, not the ScriptModule)."""

    def __init__(self, share=False):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        body = torch.jit.script(nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)))
        self.head1 = _Wrapped(body)
        self.head2 = _Wrapped(body if share else torch.jit.script(nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))))

    def forward(self, x):
        t = F.relu(self.trunk(x))
        return self.head1(t), self.head2(t)


class _Wrapped(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x)


def _warmed(cls, *args):
    """Built and run forward and backward three times first, as a model checked after training is."""
    def build():
        torch.manual_seed(0)
        model, x = cls(*args), torch.randn(4, 8)
        for _ in range(3):
            sum(o.sum() for o in model(x)).backward()
        model.zero_grad(set_to_none=True)
        return model, (x,)
    return build


BUGS += [
    Case("a TorchScript helper mixes head1's output into head2's input (warmed up)", "bug", _warmed(ScriptedMix), TWO,
         expect_branches=["head1", "head2"]),
    Case("the same through detach() (warmed up)", "bug", _warmed(ScriptedMix, True), TWO, expect_branches=["head1", "head2"]),
    Case("TorchScript heads (warmed up)", "bug", _warmed(ScriptedHeads), TWO, expect_branches=["head1", "head2"]),
    Case("TorchScript heads, one body object (warmed up)", "bug", _warmed(ScriptedHeads, True), TWO, expect_branches=["head1", "head2"]),
]


class AutocastLeak(TwoLinearHeads):
    """Run under `torch.autocast` (mixed-precision training), where each Linear reads only bfloat16 copies of
    its weight and bias; head2 reads the trunk's output plus head1's (or the trunk's alone). `one_object`: one
    head object in both slots, whose second call autocast hands the casts it cached in the first."""

    def __init__(self, leak=True, one_object=False):
        super().__init__()
        self.head1 = nn.Linear(16, 16)
        if one_object:
            self.head2 = self.head1
        self.leak = leak

    def forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            t = F.relu(self.trunk(x))
            a = self.head1(t)
            return a, self.head2(t + a if self.leak else t)


BUGS += [
    Case("under autocast, head2 reads the trunk's output plus head1's", "bug", _module(AutocastLeak), TWO, expect_branches=["head1", "head2"]),
    Case("under autocast, heads on the trunk's output", "bug", _module(AutocastLeak, False), TWO, expect_branches=["head1", "head2"]),
    Case("under autocast, one head object in both slots", "bug", _module(AutocastLeak, False, True), TWO,
         expect_branches=["head1", "head2"]),
]


class LearnedLossWeights(TwoLinearHeads):
    """Multi-task uncertainty weighting written in the forward: each head's loss scaled by `exp(-s)`, `s`
    added, the log-variances a parameter of a loss module (`criterion`). `alias`: head2 is head1."""

    def __init__(self, alias=False):
        super().__init__()
        if alias:
            self.head2 = self.head1
        self.criterion = _UncertaintyWeights(2)

    def forward(self, x):
        t = F.relu(self.trunk(x))
        a, b = self.head1(t), self.head2(t)
        return a, b, self.criterion(torch.stack([a.pow(2).mean(), (b - 1).abs().mean()]))


class _UncertaintyWeights(nn.Module):
    def __init__(self, tasks):
        super().__init__()
        self.log_vars = nn.Parameter(torch.zeros(tasks))

    def forward(self, losses):
        return (torch.exp(-self.log_vars) * losses + self.log_vars).sum()


BUGS += [
    Case("learned loss weights (uncertainty weighting) in the forward, own heads", "bug", _module(LearnedLossWeights), TWO,
         expect_branches=["head1", "head2"]),
    Case("learned loss weights in the forward, one head object in both slots", "bug", _module(LearnedLossWeights, True), TWO,
         expect_branches=["head1", "head2"]),
]


class _Batch:
    """A batch object that is no pytree node (as torch_geometric's `Data`): the exporter cannot name its
    tensors as inputs."""

    def __init__(self, x):
        self.x = x


class BatchObjectHeads(TwoLinearHeads):
    """The features come in a batch object, a mask beside it; `alias`: head2 is head1."""

    def __init__(self, alias=False):
        super().__init__()
        if alias:
            self.head2 = self.head1

    def forward(self, batch, mask):
        t = F.relu(self.trunk(batch.x))
        return self.head1(t), self.head2(t), mask.sum()


def _batch_object(alias):
    def build():
        torch.manual_seed(0)
        return BatchObjectHeads(alias), (_Batch(torch.randn(4, 8)), torch.ones(4))
    return build


BUGS += [
    Case("features in a custom batch object, a mask beside it", "bug", _batch_object(False), TWO, expect_branches=["head1", "head2"]),
    Case("features in a custom batch object, one head object in both slots", "bug", _batch_object(True), TWO, expect_branches=["head1", "head2"]),
]


class NoGradContext(TwoLinearHeads):
    """head2 reads the trunk's output plus a copy of head1's made under `torch.no_grad()`: no gradient goes
    back through the copy, so head2's loss never reaches head1."""

    def __init__(self):
        super().__init__()
        self.head1 = nn.Linear(16, 16)

    def forward(self, x):
        t = F.relu(self.trunk(x))
        a = self.head1(t)
        with torch.no_grad():
            context = a * 1.0
        return a, self.head2(t + context)


class DetachedInPlace(NoGradContext):
    """The same copy detached in place (`c.detach_()`) instead: `detach_` reaches no op the exporter records;
    the read after it shows it."""

    def forward(self, x):
        t = F.relu(self.trunk(x))
        a = self.head1(t)
        context = a.clone()
        context.detach_()
        return a, self.head2(t + context)


BUGS += [
    Case("head2 reads a copy of head1's output made under no_grad", "bug", _module(NoGradContext), TWO,
         expect_branches=["head1", "head2"]),
    Case("head2 reads a copy of head1's output detached in place (detach_)", "bug", _module(DetachedInPlace), TWO,
         expect_branches=["head1", "head2"]),
]


class MoCoQueue(nn.Module):
    """MoCo: a query encoder, a momentum key encoder (a deep copy, no gradient), and a queue of past keys. The
    logits against the queue keep it for backward; writing this batch's keys into it in the forward breaks
    backward, unless the logits read a copy (`self.queue.clone().detach()`, as MoCo's own code does)."""

    def __init__(self, copy_queue=False):
        super().__init__()
        self.encoder_q = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
        self.encoder_k = copy.deepcopy(self.encoder_q).requires_grad_(False)
        self.register_buffer("queue", F.normalize(torch.randn(4, 32), dim=0))
        self.copy_queue = copy_queue

    def forward(self, x):
        q = F.normalize(self.encoder_q(x), dim=1)
        with torch.no_grad():
            k = F.normalize(self.encoder_k(x + 0.1 * torch.randn_like(x)), dim=1)
        positive = (q * k).sum(1, keepdim=True)
        negative = q @ (self.queue.clone().detach() if self.copy_queue else self.queue)
        with torch.no_grad():
            self.queue[:, : len(k)] = k.T
        return torch.cat([positive, negative], 1) / 0.07


BUGS += [
    Case("MoCo queue written in the forward after the logits read it", "bug", _module(MoCoQueue), [["encoder_q"], ["encoder_k"]]),
    Case("MoCo queue read as a copy (its fix)", "bug", _module(MoCoQueue, True), [["encoder_q"], ["encoder_k"]],
         undecided="no-branches"),
]


class OtherHalfWritten(nn.Module):
    """Two heads on the two halves of the trunk's features: head a reads the first half, then the second half
    is overwritten in place for head b (`h[:, 8:] = ...`). Other elements, the same tensor: backward raises.
    `fixed`: head b's half is computed apart (`torch.cat`), nothing is written."""

    def __init__(self, fixed=False):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head_a = nn.Linear(8, 2)
        self.head_b = nn.Linear(8, 2)
        self.fixed = fixed

    def forward(self, x):
        h = self.trunk(x) * 1.0
        a = self.head_a(h[:, :8])
        if self.fixed:
            h = torch.cat([h[:, :8], F.relu(h[:, 8:])], 1)
        else:
            h[:, 8:] = F.relu(h[:, 8:].clone())
        return a, self.head_b(h[:, 8:])


class OtherRowWritten(nn.Module):
    """Heads on rows of one tensor, each row a stretch of memory of its own (SAM's mask decoder hands its IoU head
    token 0 and its mask heads tokens 1 to 4): head a reads row 1, then row 0 is overwritten in place for head b.
    Other memory of the same tensor: backward raises all the same. `fixed`: row 0 is computed apart."""

    def __init__(self, fixed=False):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head_a = nn.Linear(16, 2)
        self.head_b = nn.Linear(16, 2)
        self.fixed = fixed

    def forward(self, x):
        h = self.trunk(x) * 1.0
        a = self.head_a(h[1])
        if self.fixed:
            first = F.relu(h[0])
        else:
            h[0] = F.relu(h[0].clone())
            first = h[0]
        return a, self.head_b(first)


BUGS += [
    # The exporter asked whether the rows share an element without asking first whether their memory overlaps: each
    # fills a stretch of its own, so they seemed to, the write was taken for one on head a's own elements (which the
    # trace shows anyway) and nothing was listed: the hazard passed (exit 0; SAM's IoU head scaling its token).
    Case("row 0 of the features overwritten after head a read row 1", "bug", _module(OtherRowWritten),
         [["head_a"], ["head_b"]], expect_branches=["head_a", "head_b"]),
    Case("row 0 of the features computed apart after head a read row 1", "bug", _module(OtherRowWritten, True),
         [["head_a"], ["head_b"]], expect_branches=["head_a", "head_b"]),
]


BUGS += [
    Case("the second half of the features overwritten after head a read the first", "bug", _module(OtherHalfWritten),
         [["head_a"], ["head_b"]], expect_branches=["head_a", "head_b"]),
]


class EightyHeads(nn.Module):
    """80 one-logit heads, each on the trunk's features scaled its own way (one per label of a multi-label
    task): more separate results than graphcheck tells apart (64). `alias`: heads[70] is heads[65]."""

    def __init__(self, alias=False):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(16, 1) for _ in range(80))
        if alias:
            self.heads[70] = self.heads[65]

    def forward(self, x):
        t = self.trunk(x)
        return tuple(head(t * (i + 1)) for i, head in enumerate(self.heads))


BUGS += [
    Case("80 heads of their own (more results than graphcheck tells apart)", "bug", _module(EightyHeads),
         [[f"heads.{i}"] for i in range(80)], undecided="too-many-results"),
    Case("80 heads, heads[70] = heads[65]", "bug", _module(EightyHeads, True), [[f"heads.{i}"] for i in range(80)]),
]


class HookedHeads(TwoLinearHeads):
    """A forward hook on head1 keeps its output, and one on head2 adds it to head2's result (a hook-based
    feature fusion): a hook's result is the module's result, so head2's loss reaches head1's weights.
    `leak=False`: head2's hook returns its output unchanged."""

    def __init__(self, leak=True):
        super().__init__()
        self.head1 = nn.Linear(16, 2)
        self.kept = {}
        self.head1.register_forward_hook(lambda module, args, out: self.kept.__setitem__("head1", out))
        self.head2.register_forward_hook(lambda module, args, out: out + self.kept["head1"] if leak else out)

    def forward(self, x):
        t = F.relu(self.trunk(x))
        return self.head1(t), self.head2(t)


BUGS += [
    Case("head2's forward hook adds head1's output", "bug", _module(HookedHeads), TWO, expect_branches=["head1", "head2"]),
]


class TwoStream(nn.Module):
    """A two-stream network: an RGB stream and an optical-flow stream, their features concatenated and
    classified. `one_network`: the streams are one network object (`backbone = make(); self.rgb = backbone;
    self.flow = backbone`), so they are one set of weights; otherwise a deep copy each."""

    def __init__(self, one_network=False):
        super().__init__()
        backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.rgb = backbone
        self.flow = backbone if one_network else copy.deepcopy(backbone)
        self.classifier = nn.Linear(16, 5)

    def forward(self, rgb, flow):
        return self.classifier(torch.cat([self.rgb(rgb), self.flow(flow)], 1))


def _two_stream(one_network):
    def build():
        torch.manual_seed(0)
        return TwoStream(one_network), (torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8))
    return build


BUGS += [
    Case("two-stream network, one backbone object in both streams", "bug", _two_stream(True), [["rgb"], ["flow"]],
         expect_branches=["rgb", "flow"]),
    Case("two-stream network, a deep copy per stream", "bug", _two_stream(False), [["rgb"], ["flow"]], expect_branches=["rgb", "flow"]),
]


class QueryDocTowers(nn.Module):
    """Towers on inputs of their own, each an encoder and a head, every head's output returned: a query and a
    document tower (and `third`: an image tower). `leak`: the document head reads the query head's output beside
    its own encoder's features (`doc_head(doc_encoder(d) + query_head(q).mean(-1, keepdim=True))`): the query
    tower's result leaks into the document tower's head — or that head is a fusion meant to read it, which the
    graph alone does not say. `detached`: read detached, independent either way."""

    def __init__(self, leak=False, third=False, detached=False):
        super().__init__()
        block = lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.detached = detached
        self.query_encoder, self.doc_encoder = block(), block()
        self.query_head, self.doc_head = nn.Linear(16, 4), nn.Linear(16, 4)
        self.image_encoder, self.image_head = (block(), nn.Linear(16, 4)) if third else (None, None)
        self.leak = leak

    def forward(self, query, doc, image=None):
        q = self.query_head(self.query_encoder(query))
        f = self.doc_encoder(doc)
        read = q.detach() if self.detached else q
        d = self.doc_head(f + read.mean(-1, keepdim=True) if self.leak else f)
        return (q, d) if image is None else (q, d, self.image_head(self.image_encoder(image)))


def _towers(leak, third=False, detached=False):
    def build():
        torch.manual_seed(0)
        return QueryDocTowers(leak, third, detached), tuple(torch.randn(2, 8) for _ in range(3 if third else 2))
    return build


class ListTowers(nn.Module):
    """Towers with their encoders and heads in two ModuleLists (`encoders[i]`, `heads[i]` for input i), every head's
    output returned. `leak="result"`: `heads[1]` reads `heads[0]`'s output beside `encoders[1]`'s features. A slot
    beside `heads[0]`, in the one slot tower 1 lacks, `heads[1]` is tower 1's head (not a fusion): the leak is
    reported. `leak="features"`: it reads `encoders[0]`'s output instead; tower 0, whose result no other branch reads,
    was once taken for tower 1's input stage and its head lost."""

    def __init__(self, leak=None):
        super().__init__()
        self.encoders = nn.ModuleList([nn.Sequential(nn.Linear(8, 16), nn.ReLU()) for _ in range(2)])
        self.heads = nn.ModuleList([nn.Linear(16, 4) for _ in range(2)])
        self.leak = leak

    def forward(self, a, b):
        e = self.encoders[0](a)
        first = self.heads[0](e)
        f = self.encoders[1](b)
        read = {"result": first.mean(-1, keepdim=True), "features": e}.get(self.leak)
        return first, self.heads[1](f if read is None else f + read)


def _list_towers(leak):
    def build():
        torch.manual_seed(0)
        return ListTowers(leak), (torch.randn(2, 8), torch.randn(2, 8))
    return build


class ImageQuestionHeads(nn.Module):
    """An image encoder with a head of its own, and an answer head over a question encoder's features plus the image
    encoder's (`answer_head(question_encoder(q) + image_encoder(x))`): the image encoder a trunk shared by both heads
    (a fusion meant to read it), or the question tower's head reading the image tower (a leak) — the graph does not
    say which. `detached`: the image features read detached, independent either way."""

    def __init__(self, detached=False):
        super().__init__()
        self.image_encoder = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.image_head = nn.Linear(16, 4)
        self.question_encoder = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.answer_head = nn.Linear(16, 6)
        self.detached = detached

    def forward(self, image, question):
        e = self.image_encoder(image)
        q = self.question_encoder(question)
        return self.image_head(e), self.answer_head(q + (e.detach() if self.detached else e))


def _image_question(detached):
    def build():
        torch.manual_seed(0)
        return ImageQuestionHeads(detached), (torch.randn(2, 8), torch.randn(2, 8))
    return build


TOWERS = [["query_encoder", "query_head"], ["doc_encoder", "doc_head"]]
LIST_TOWERS = [["encoders.0", "heads.0"], ["encoders.1", "heads.1"]]
BUGS += [
    Case("query and document towers, each with its own head", "bug", _towers(False), TOWERS, expect_branches=["query_encoder", "doc_encoder"]),
    Case("the document head reads the query tower's returned result", "bug", _towers(True), TOWERS, undecided="tower-result-read"),
    Case("the document head reads the query tower's returned result detached", "bug", _towers(True, detached=True), TOWERS,
         expect_branches=["query_encoder", "doc_encoder"]),
    Case("the document head reads the query tower's returned result, an image tower beside", "bug", _towers(True, True),
         TOWERS + [["image_encoder", "image_head"]], undecided="tower-result-read"),
    Case("towers in two ModuleLists, heads[1] reads heads[0]'s result", "bug", _list_towers("result"), LIST_TOWERS,
         expect_branches=["encoders.0", "encoders.1"]),
    Case("towers in two ModuleLists, heads[1] reads encoders[0]'s features", "bug", _list_towers("features"), LIST_TOWERS,
         expect_branches=["encoders.0", "encoders.1"]),
    Case("towers in two ModuleLists, each head on its encoder", "bug", _list_towers(None), LIST_TOWERS, expect_branches=["encoders.0", "encoders.1"]),
    Case("an answer head reads the image encoder's features beside the question encoder's", "bug", _image_question(False),
         [["image_encoder", "image_head"], ["question_encoder", "answer_head"]], undecided="tower-result-read"),
    Case("an answer head reads the image encoder's features detached", "bug", _image_question(True),
         [["image_encoder", "image_head"], ["question_encoder", "answer_head"]], expect_branches=["image_encoder", "question_encoder"]),
]


class MemoryDecoders(nn.Module):
    """Decoders on one encoder's memory, each cross-attending to it from learned queries, called in a loop. The
    second decoder is given a scaled memory; `inplace`: scaled in place (`m = mem.mul_(0.5)`), so every decoder after
    it reads the scaled memory too, while the first read it before — nothing the first decoder saved for backward
    notices. With two decoders the one after the write is the one it was meant for."""

    def __init__(self, inplace=True, decoders=3):
        super().__init__()
        self.inplace = inplace
        self.encoder = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16))
        self.decoders = nn.ModuleList([_QueryDecoder() for _ in range(decoders)])

    def forward(self, x):
        mem = self.encoder(x)
        outs = []
        for k, decoder in enumerate(self.decoders):
            m = mem
            if k == 1:
                m = mem.mul_(0.5) if self.inplace else mem * 0.5
            outs.append(decoder(m))
        return tuple(outs)


class _QueryDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(3, 16) * 0.1)
        self.cross = nn.MultiheadAttention(16, 2, batch_first=True)
        self.out = nn.Linear(16, 4)

    def forward(self, mem):
        q = self.queries.unsqueeze(0).expand(mem.shape[0], -1, -1)
        return self.out(q + self.cross(q, mem, mem, need_weights=False)[0])


def _memory_decoders(inplace, decoders):
    def build():
        torch.manual_seed(0)
        return MemoryDecoders(inplace, decoders), (torch.randn(2, 5, 8),)
    return build


BUGS += [
    Case("three decoders on one memory, the second's scaling written into it in place (m = mem.mul_(0.5))", "bug",
         _memory_decoders(True, 3), [[f"decoders.{k}"] for k in range(3)], twin=_memory_decoders(False, 3),
         expect_branches=[f"decoders.{k}" for k in range(3)]),
    Case("two decoders on one memory, the second's scaling written into it in place", "bug", _memory_decoders(True, 2),
         [[f"decoders.{k}"] for k in range(2)], twin=_memory_decoders(False, 2), expect_branches=["decoders.0", "decoders.1"]),
]


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -0.5 * grad


class _Stop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return None


class DomainAdversarial(nn.Module):
    """Domain-adversarial training (DANN): a label head, and a domain head on the features through a gradient
    reversal layer, a custom autograd Function. `condition`: the domain head also reads the label head's
    probabilities (CDAN) — through the reversal, which sends its gradient into the label head, or through a
    stop-gradient Function whose backward returns None, which does not."""

    def __init__(self, condition=None):
        super().__init__()
        self.condition = condition
        self.features = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.label_head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
        self.domain_head = nn.Sequential(nn.Linear(19 if condition else 16, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        f = self.features(x)
        y = self.label_head(f)
        r = _Reverse.apply(f)
        if self.condition:
            r = torch.cat([r, (_Reverse if self.condition == "reversed" else _Stop).apply(y.softmax(-1))], 1)
        return y, self.domain_head(r)


DOMAIN = [["label_head"], ["domain_head"]]
BUGS += [
    Case("a domain head through a gradient reversal Function (DANN)", "bug", _module(DomainAdversarial), DOMAIN,
         expect_branches=["label_head", "domain_head"]),
    Case("a domain head reading the label head's probabilities through the reversal (CDAN)", "bug", _module(DomainAdversarial, "reversed"),
         DOMAIN, expect_branches=["label_head", "domain_head"]),
    Case("a domain head reading the label head's probabilities through a stop-gradient Function", "bug", _module(DomainAdversarial, "stopped"),
         DOMAIN, expect_branches=["label_head", "domain_head"]),
]


class SlicedHeadsSharingALayer(nn.Module):
    """An image head run in two parts (`self.image_head[:2](t)` for its hidden layer, then its last layer), whose
    first Linear is the answer head's (`image_head[0] = answer_head[0]`): the layer called through the slice is the
    image head's (`image_head.0`), not the answer head's, whose name it has first — the sharing was once missed.
    `alias=False`: a Linear each."""

    def __init__(self, alias):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.answer_head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 5))
        self.image_head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
        if alias:
            self.image_head[0] = self.answer_head[0]

    def forward(self, x):
        t = torch.relu(self.trunk(x))
        hidden = self.image_head[:2](t)
        return self.image_head[2](hidden), self.answer_head(t)


BUGS += [
    Case("an image head run through its slice image_head[:2], its first Linear the answer head's", "bug", _module(SlicedHeadsSharingALayer, True),
         [["image_head"], ["answer_head"]], expect_branches=["image_head", "answer_head"]),
    Case("an image head run through its slice image_head[:2], a Linear of its own", "bug", _module(SlicedHeadsSharingALayer, False),
         [["image_head"], ["answer_head"]], expect_branches=["image_head", "answer_head"]),
]


class PyramidHeads(nn.Module):
    """A RetinaNet-style detector: a class head and a box head, one object each for every level of a feature
    pyramid (lateral 1x1 convs and a top-down sum). `leak`: at each level after the first, the box head reads the
    class head's result at the level before (`box_head(p + upsample(cls[i - 1].mean(1)))`) — once taken for a
    pipeline's stages, the lateral convs standing in for the heads and the leak passing."""

    def __init__(self, leak=False):
        super().__init__()
        self.stages = nn.ModuleList([nn.Sequential(nn.Conv2d(3 if i == 0 else 8, 8, 3, stride=2, padding=1), nn.ReLU()) for i in range(3)])
        self.fpn = nn.ModuleList([nn.Conv2d(8, 8, 1) for _ in range(3)])
        self.cls_head = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
        self.box_head = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, padding=1))
        self.leak = leak

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        levels = [conv(f) for conv, f in zip(self.fpn, feats)]
        for i in range(len(levels) - 2, -1, -1):
            levels[i] = levels[i] + F.interpolate(levels[i + 1], size=levels[i].shape[-2:])
        cls, box = [], []
        for i, p in enumerate(levels):
            cls.append(self.cls_head(p))
            read = p + F.interpolate(cls[i - 1].mean(1, keepdim=True), size=p.shape[-2:]) if self.leak and i > 0 else p
            box.append(self.box_head(read))
        return {"cls": cls, "box": box}


def _pyramid(leak):
    def build():
        torch.manual_seed(0)
        return PyramidHeads(leak), (torch.randn(2, 3, 32, 32),)
    return build


BUGS += [
    Case("heads per pyramid level, the box head reads the class head's previous level", "bug", _pyramid(True), [["cls_head"], ["box_head"]],
         expect_branches=["cls_head", "box_head"]),
    Case("heads per pyramid level, each on its level", "bug", _pyramid(False), [["cls_head"], ["box_head"]], expect_branches=["cls_head", "box_head"]),
]


class NestedHeads(nn.Module):
    """Heads at two levels of a ModuleDict: head a, and head b with a stem of its own feeding two outputs
    (b1, b2), which are heads beside a (b's stem their trunk). `reused`: b's second output layer is a's last
    layer (`heads["b"]["b2"] = heads["a"][2]`), one module object under two names, called once inside `heads.a`
    and once from the parent's forward."""

    def __init__(self, reused=False):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.heads = nn.ModuleDict({
            "a": nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)),
            "b": nn.ModuleDict({"stem": nn.Linear(16, 16), "b1": nn.Linear(16, 2), "b2": nn.Linear(16, 2)}),
        })
        if reused:
            self.heads["b"]["b2"] = self.heads["a"][2]

    def forward(self, x):
        t = F.relu(self.trunk(x))
        s = F.relu(self.heads["b"]["stem"](t))
        return {"a": self.heads["a"](t), "b1": self.heads["b"]["b1"](s), "b2": self.heads["b"]["b2"](s)}


BUGS += [
    Case("nested heads, b's output layer is a's (heads['b']['b2'] = heads['a'][2])", "bug", _module(NestedHeads, True),
         [["heads.a"], ["heads.b"]], expect_branches=["heads.b.b1", "heads.b.b2", "heads.a"]),
    Case("nested heads, a layer each", "bug", _module(NestedHeads), [["heads.a"], ["heads.b"]],
         expect_branches=["heads.b.b1", "heads.b.b2", "heads.a"]),
]


class EachReadsTheOther(nn.Module):
    """Each head adds the other head's intermediate to its own (`head1.out(a + b)`, `head2.out(b + a)`): the
    leak both ways, so every head reaches every result. `detach`: what crosses is detached, which is fine."""

    def __init__(self, detach=False):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.head1 = nn.ModuleDict({"hidden": nn.Linear(16, 16), "out": nn.Linear(16, 2)})
        self.head2 = nn.ModuleDict({"hidden": nn.Linear(16, 16), "out": nn.Linear(16, 2)})
        self.detach = detach

    def forward(self, x):
        t = F.relu(self.trunk(x))
        a, b = F.relu(self.head1["hidden"](t)), F.relu(self.head2["hidden"](t))
        cross = (lambda h: h.detach()) if self.detach else (lambda h: h)
        return self.head1["out"](a + cross(b)), self.head2["out"](b + cross(a))


class CrossStitch(nn.Module):
    """Cross-stitch networks: a column of layers per task, their activations mixed after every layer by a
    learned 2x2 unit. Each task's loss trains the other's column by design: not independent."""

    def __init__(self):
        super().__init__()
        self.a = nn.ModuleList([nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 2)])
        self.b = nn.ModuleList([nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 3)])
        self.stitch = nn.Parameter(torch.tensor([[0.9, 0.1], [0.1, 0.9]]))

    def forward(self, x):
        xa = xb = x
        for i in range(2):
            ha, hb = F.relu(self.a[i](xa)), F.relu(self.b[i](xb))
            xa = self.stitch[0, 0] * ha + self.stitch[0, 1] * hb
            xb = self.stitch[1, 0] * ha + self.stitch[1, 1] * hb
        return self.a[2](xa), self.b[2](xb)


# The head's result is its `out` layer's (the heads' containers are never called themselves).
EACH = [["head1", "head1.out"], ["head2", "head2.out"]]
BUGS += [
    Case("each head adds the other's intermediate", "bug", _module(EachReadsTheOther), EACH, expect_branches=["head1", "head2"]),
    Case("each head adds the other's intermediate, detached", "bug", _module(EachReadsTheOther, True), EACH,
         expect_branches=["head1", "head2"]),
    Case("cross-stitch columns (a learned unit mixes them after every layer)", "bug", _module(CrossStitch),
         [["a", "a.2"], ["b", "b.2"]], expect_branches=["a", "b"]),
]


class Ensemble(nn.Module):
    """An ensemble averaged inside a module of its own, below a trunk (`self.ensemble = Ensemble(...)`):
    the copies of one head are heads served together, as when the model's own forward averages them."""

    def __init__(self, one_object):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.ensemble = _Averaged([_head()] * 3 if one_object else [_head() for _ in range(3)])

    def forward(self, x):
        return self.ensemble(F.relu(self.trunk(x)))


class _Averaged(nn.Module):
    def __init__(self, models):
        super().__init__()
        self.models = nn.ModuleList(models)

    def forward(self, t):
        return sum(m(t) for m in self.models) / len(self.models)


AVERAGED = [["ensemble.models.0"], ["ensemble.models.1"], ["ensemble.models.2"]]
BUGS += [
    Case("an Ensemble module averaging its models", "bug", _module(Ensemble, False), AVERAGED,
         expect_branches=["ensemble.models.0", "ensemble.models.1", "ensemble.models.2"]),
    Case("an Ensemble module averaging ModuleList([head] * 3)", "bug", _module(Ensemble, True), AVERAGED),
]


class SlicedBodiesListedClassifiers(nn.Module):
    """The seed's bug with the per-head classifiers held in one ModuleList: the bodies are slices of one
    Sequential (the same blocks in every head) unless deep-copied."""

    def __init__(self, fixed):
        super().__init__()
        base = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16))
        take = copy.deepcopy if fixed else (lambda m: m)
        self.trunk = base[:2]
        self.branch1, self.branch2, self.branch3 = take(base[2:]), take(base[2:]), take(base[2:])
        self.classifiers = nn.ModuleList([nn.Linear(16, 2) for _ in range(3)])

    def forward(self, x):
        t = self.trunk(x)
        return [c(b(t)) for b, c in zip((self.branch1, self.branch2, self.branch3), self.classifiers)]


# Each head's result is its classifier's.
BODIES = [["branch1", "classifiers.0"], ["branch2", "classifiers.1"], ["branch3", "classifiers.2"]]
BUGS += [
    Case("the seed's slices with the classifiers in a ModuleList", "bug", _module(SlicedBodiesListedClassifiers, False), BODIES,
         expect_branches=["branch1", "branch2", "branch3"]),
    Case("the same, each slice deep-copied", "bug", _module(SlicedBodiesListedClassifiers, True), BODIES,
         expect_branches=["branch1", "branch2", "branch3"]),
]


class CosineHeads(nn.Module):
    """Cosine classifiers: each head a Linear the forward never calls, its weight normalized and applied to
    the normalized features in the model's own forward (few-shot and face-recognition heads are written so).
    `alias`: head2 is head1."""

    def __init__(self, alias):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.head1 = nn.Linear(16, 3, bias=False)
        self.head2 = self.head1 if alias else nn.Linear(16, 3, bias=False)

    def forward(self, x):
        t = F.normalize(self.trunk(x), dim=-1)
        return t @ F.normalize(self.head1.weight, dim=-1).t(), t @ F.normalize(self.head2.weight, dim=-1).t()


BUGS += [
    Case("cosine classifier heads, never called", "bug", _module(CosineHeads, False), TWO, expect_branches=["head1", "head2"]),
    Case("cosine classifier heads, head2 = head1", "bug", _module(CosineHeads, True), TWO),
]


class BodyReadByTheNextClassifier(nn.Module):
    """Each head a body and a classifier side by side in the model, the bodies copies of one stage; head 2's
    classifier also reads branch1's result (`fc2(branch2(t) + branch1(t))`). branch1 alone feeds fc1, as a
    trunk would, yet its copy branch2 runs beside it on the same input: it is head 1's, and the leak is
    between the heads. `leak=2`: head 3 also reads branch2's (a chain: branch2 then reaches its result only
    through its neighbours' sums); `leak=0`: each classifier reads its own body."""

    def __init__(self, leak):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        stage = nn.Sequential(nn.Linear(16, 16), nn.LayerNorm(16), nn.ReLU())
        self.branch1, self.branch2, self.branch3 = (copy.deepcopy(stage) for _ in range(3))
        self.fc1, self.fc2, self.fc3 = nn.Linear(16, 2), nn.Linear(16, 3), nn.Linear(16, 4)
        self.leak = leak

    def forward(self, x):
        t = self.trunk(x)
        a, b, c = self.branch1(t), self.branch2(t), self.branch3(t)
        return self.fc1(a), self.fc2(b + a if self.leak >= 1 else b), self.fc3(c + b if self.leak >= 2 else c)


class ListedBodyReadByTheNextClassifier(nn.Module):
    """The same leak with the bodies in one ModuleList and the classifiers in another
    (`fcs[1](branches[1](t) + branches[0](t))`): the bodies stay the heads, each paired with its classifier.
    `into="body"`: the second body reads the first one's result with the trunk's (`branches[1](t + branches[0](t))`),
    so the bodies feed one another, as a pipeline's stages do, but as peers on one input."""

    def __init__(self, into):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.branches = nn.ModuleList(nn.Sequential(nn.Linear(16, 16), nn.ReLU()) for _ in range(3))
        self.fcs = nn.ModuleList(nn.Linear(16, n) for n in (2, 3, 4))
        self.into = into

    def forward(self, x):
        t = self.trunk(x)
        y0 = self.branches[0](t)
        y1 = self.branches[1](t + y0) if self.into == "body" else self.branches[1](t) + y0
        ys = [y0, y1, self.branches[2](t)]
        return [fc(y) for fc, y in zip(self.fcs, ys)]


SIDE = [["branch1", "fc1"], ["branch2", "fc2"], ["branch3", "fc3"]]
LISTED = [["branches.0", "fcs.0"], ["branches.1", "fcs.1"], ["branches.2", "fcs.2"]]
BUGS += [
    Case("fcs[1] reads branches[0]'s result (bodies and classifiers in two ModuleLists)", "bug",
         _module(ListedBodyReadByTheNextClassifier, "classifier"), LISTED, expect_branches=["branches.0", "branches.1", "branches.2"]),
    Case("branches[1] reads t + branches[0](t) (bodies and classifiers in two ModuleLists)", "bug",
         _module(ListedBodyReadByTheNextClassifier, "body"), LISTED, expect_branches=["branches.0", "branches.1", "branches.2"]),
    Case("fc2 reads branch1's result beside branch2's", "bug", _module(BodyReadByTheNextClassifier, 1), SIDE,
         expect_branches=["branch1", "branch2", "branch3"]),
    Case("fc2 reads branch1's result, fc3 branch2's (a chain of leaks)", "bug", _module(BodyReadByTheNextClassifier, 2),
         SIDE, expect_branches=["branch1", "branch2", "branch3"]),
    Case("bodies and classifiers side by side, each its own", "bug", _module(BodyReadByTheNextClassifier, 0), SIDE,
         expect_branches=["branch1", "branch2", "branch3"]),
]


class ParentNormAfterEachBody(nn.Module):
    """One BatchNorm object of the parent's applied after each head's body (`self.norm` reused as if it were a
    function): its weight and running statistics are the parent's, as a trunk's are; in training mode head2's
    call updates the statistics head1's call updated, but normalizes with its own batch. Independent."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.branch1, self.branch2 = nn.Linear(16, 16), nn.Linear(16, 16)
        self.norm = nn.BatchNorm1d(16)
        self.fc1, self.fc2 = nn.Linear(16, 2), nn.Linear(16, 3)

    def forward(self, x):
        t = self.trunk(x)
        return self.fc1(self.norm(self.branch1(t))), self.fc2(self.norm(self.branch2(t)))


BUGS += [
    Case("one BatchNorm of the parent's after each head's body", "bug", _module(ParentNormAfterEachBody),
         [["branch1", "fc1"], ["branch2", "fc2"]], expect_branches=["branch1", "branch2"]),
]


class PolicyAndValue(nn.Module):
    """Actor-critic as one policy network whose hidden layer the value head also reads: the policy's last layer
    is a head alone at its level, the value head alone at the model's. `inplace`: the value head's input
    scaled in place (`h.mul_(2)`) after the policy's last layer read it for its backward."""

    def __init__(self, inplace):
        super().__init__()
        self.policy = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 4))
        self.value_head = nn.Linear(32, 1)
        self.inplace = inplace

    def forward(self, x):
        h = self.policy[1](self.policy[0](x))
        logits = self.policy[2](h)
        if self.inplace is None:
            return logits, self.value_head(h * 2)   # the twin without the in-place op
        return logits, self.value_head(h.mul_(2) if self.inplace else h)


BUGS += [
    Case("value head reading the policy network's hidden layer", "bug", _module(PolicyAndValue, False),
         [["policy.2"], ["value_head"]], expect_branches=["value_head", "policy.2"]),
    Case("value head reading the policy's hidden layer after h.mul_(2)", "bug", _module(PolicyAndValue, True),
         [["policy.2"], ["value_head"]], twin=_module(PolicyAndValue, None), expect_branches=["value_head", "policy.2"]),
]


class AuxBesideATimmModel(nn.Module):
    """A timm ResNet whose own classifier is head 1 (`m.forward_head(f)`) and an auxiliary head beside it on the
    pooled features. `leaks`: the auxiliary head also reads the classifier's output (`p + y1.mean(...)`), so its
    loss trains the classifier. Every part of `m` then reaches both results, and the classifier, inside `m`, was
    taken as trunk: no branches (exit 3) on a model that leaks."""

    def __init__(self, leaks):
        super().__init__()
        import timm
        self.m = timm.create_model("resnet18", pretrained=False, num_classes=5)
        self.aux = nn.Linear(self.m.num_features, 3)
        self.leaks = leaks

    def forward(self, x):
        f = self.m.forward_features(x)
        y1 = self.m.forward_head(f)
        p = f.mean((2, 3))
        if self.leaks:
            p = p + y1.mean(-1, keepdim=True)
        return y1, self.aux(p)


BUGS += [
    Case("aux head beside a timm model reading its classifier's output", "bug", _module(AuxBesideATimmModel, True, inputs=(2, 3, 32, 32)),
         [["m.fc"], ["aux"]], expect_branches=["aux", "m.fc"]),
    Case("aux head beside a timm model on its features only", "bug", _module(AuxBesideATimmModel, False, inputs=(2, 3, 32, 32)),
         [["m.fc"], ["aux"]]),
]


class ValueHeadReadingTheLogits(nn.Module):
    """A value head beside a GPT-2 LM that also reads the LM head's logits. The LM head's only weight is the word
    embedding (tied by the model): the value head's loss trains the trunk through it, not the LM head, which
    has nothing of its own; once reported as a cross-branch dependency."""

    def __init__(self):
        super().__init__()
        from transformers import GPT2Config, GPT2LMHeadModel
        self.lm = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=32, n_positions=16, bos_token_id=0, eos_token_id=0))
        self.value = nn.Linear(16, 1)

    def forward(self, ids):
        out = self.lm(ids, output_hidden_states=True)
        return out.logits, self.value(out.hidden_states[-1] + out.logits.mean(-1, keepdim=True))


class ExtraHeadGatedByTheClassifier(nn.Module):
    """A second head beside a BERT classifier, its input scaled by the classifier's confidence: its loss trains
    the classifier's own weights (a leak)."""

    def __init__(self):
        super().__init__()
        from transformers import BertConfig, BertForSequenceClassification
        self.clf = BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                                            intermediate_size=20, num_labels=3))
        self.extra = nn.Linear(16, 2)

    def forward(self, ids):
        out = self.clf(ids, output_hidden_states=True)
        return out.logits, self.extra(out.hidden_states[-1][:, 0] * out.logits.softmax(-1).max(-1, keepdim=True).values)


def _ids(cls, vocab):
    def build():
        torch.manual_seed(0)
        return cls(), (torch.randint(0, vocab, (2, 7)),)
    return build


BUGS += [
    Case("value head beside a GPT-2 LM reading its logits (the LM head is the tied embedding)", "bug", _ids(ValueHeadReadingTheLogits, 32),
         [["lm.lm_head"], ["value"]]),
    Case("head beside a BERT classifier gated by the classifier's confidence", "bug", _ids(ExtraHeadGatedByTheClassifier, 50),
         [["clf.classifier"], ["extra"]]),
]


class ExtraHeadBesideBertPreTraining(nn.Module):
    """BertForPreTraining with an extra head beside it that also reads one of its heads, so its loss trains that
    head's own weights (a leak). `reads="mlm"`: the MLM logits are added in (the MLM head's transform and bias
    train; its decoder is the tied embedding); `"nsp"`: the input is gated by the NSP head's probability. The
    logits going on into a learned op outside the heads' module once made that head a stage (trunk): the leak went
    unseen (exit 0)."""

    def __init__(self, reads):
        super().__init__()
        from transformers import BertConfig, BertForPreTraining
        self.pt = BertForPreTraining(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20))
        self.extra = nn.Linear(16, 2)
        self.reads = reads

    def forward(self, ids):
        out = self.pt(ids, output_hidden_states=True)
        h = out.hidden_states[-1][:, 0]
        if self.reads == "mlm":
            h = h + out.prediction_logits[:, 0].mean(-1, keepdim=True)
        else:
            h = h * out.seq_relationship_logits.softmax(-1)[:, :1]
        return out.prediction_logits, out.seq_relationship_logits, self.extra(h)


def _bert_pre_training_extra(reads):
    def build():
        torch.manual_seed(0)
        return ExtraHeadBesideBertPreTraining(reads), (torch.randint(0, 50, (2, 7)),)
    return build


BUGS += [
    Case("head beside BertForPreTraining reading the MLM logits", "bug", _bert_pre_training_extra("mlm"),
         [["pt.cls.predictions"], ["pt.cls.seq_relationship"], ["extra"]]),
]


class ExtraHeadReadingT5Logits(nn.Module):
    """An extra head beside T5 reading the LM logits; T5's LM head is the tied embedding, so nothing of a head's
    own is trained by the extra head's loss (once "no branches", exit 3)."""

    def __init__(self):
        super().__init__()
        from transformers import T5Config, T5ForConditionalGeneration
        self.t5 = T5ForConditionalGeneration(T5Config(vocab_size=40, d_model=16, d_kv=8, d_ff=20, num_layers=1, num_decoder_layers=1, num_heads=2))
        self.extra = nn.Linear(16, 1)

    def forward(self, ids, decoder_ids):
        out = self.t5(input_ids=ids, decoder_input_ids=decoder_ids, output_hidden_states=True, use_cache=False)
        return out.logits, self.extra(out.decoder_hidden_states[-1] + out.logits.mean(-1, keepdim=True))


def _t5_extra():
    torch.manual_seed(0)
    return ExtraHeadReadingT5Logits(), (torch.randint(0, 40, (2, 5)), torch.randint(0, 40, (2, 4)))


BUGS += [
    Case("head beside BertForPreTraining gated by the NSP head", "bug", _bert_pre_training_extra("nsp"),
         [["pt.cls.predictions"], ["pt.cls.seq_relationship"], ["extra"]]),
    Case("head beside T5 reading the LM logits (the LM head is the tied embedding)", "bug", _t5_extra, [["t5.lm_head"], ["extra"]]),
]


class HeadsInADictBesideAHead(nn.Module):
    """A timm `features_only` trunk, two heads in a ModuleDict and a third head `c` beside the dict reading the
    features with head `a`'s result (`detached`: `a.detach()`). Without detach, `c`'s loss trains `heads.a`; the
    dict's level was taken for the heads (the model's children looked like pipeline stages), `c` was lost and
    the leak passed (exit 0)."""

    def __init__(self, detached):
        super().__init__()
        import timm
        self.body = timm.create_model("resnet18", pretrained=False, features_only=True, out_indices=(4,))
        self.heads = nn.ModuleDict({"a": nn.Linear(512, 3), "b": nn.Linear(512, 2)})
        self.c = nn.Linear(512 + 3, 1)
        self.detached = detached

    def forward(self, x):
        f = self.body(x)[-1].mean((2, 3))
        a = self.heads["a"](f)
        return a, self.heads["b"](f), self.c(torch.cat([f, a.detach() if self.detached else a], 1))


BUGS += [
    Case("heads in a ModuleDict and a head beside it reading head a's result", "bug",
         _module(HeadsInADictBesideAHead, False, inputs=(2, 3, 32, 32)), [["heads.a"], ["heads.b"], ["c"]],
         expect_branches=["heads.a", "heads.b", "c"]),
    Case("heads in a ModuleDict and a head beside it reading head a's result detached", "bug",
         _module(HeadsInADictBesideAHead, True, inputs=(2, 3, 32, 32)), [["heads.a"], ["heads.b"], ["c"]]),
]


class KeptClassifier(nn.Module):
    """torchvision's EfficientNet classifier kept as one head beside a new one, both on the pooled features. Its
    first layer is `Dropout(inplace=True)`: in training it zeroes the features in place, so a head reading them
    after it sees the kept head's dropout mask (`new_first`: the new head reads them before, unharmed). The
    twin's dropout is not in place."""

    def __init__(self, new_first, inplace=True):
        super().__init__()
        import torchvision
        self.net = torchvision.models.efficientnet_b0(weights=None)
        kept = self.net.classifier
        kept[0].inplace = inplace
        self.net.classifier = nn.Identity()
        new = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 10))
        self.heads = nn.ModuleDict({"new": new, "kept": kept} if new_first else {"kept": kept, "new": new})

    def forward(self, x):
        f = self.net(x)
        return {name: head(f) for name, head in self.heads.items()}


BUGS += [
    Case("the kept classifier's Dropout(inplace=True) before a new head", "bug",
         _module(KeptClassifier, False, inputs=(2, 3, 64, 64)), [["heads.kept"], ["heads.new"]],
         twin=_module(KeptClassifier, False, False, inputs=(2, 3, 64, 64)), expect_branches=["heads.kept", "heads.new"]),
    Case("the kept classifier's Dropout(inplace=True) after a new head", "bug",
         _module(KeptClassifier, True, inputs=(2, 3, 64, 64)), [["heads.kept"], ["heads.new"]],
         twin=_module(KeptClassifier, True, False, inputs=(2, 3, 64, 64))),
]


class ExtraHeadReadingFcnAux(nn.Module):
    """torchvision's FCN with its aux head, and an extra head beside it reading the image with the upsampled aux
    result (`detached`: `aux.detach()`). The aux result is made by FCN's forward, which upsamples the aux head's
    output: the aux head was taken for the extra head's trunk, and the leak passed (exit 0)."""

    def __init__(self, detached):
        super().__init__()
        import torchvision
        self.seg = torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=3, aux_loss=True)
        self.extra = nn.Conv2d(6, 1, 1)
        self.detached = detached

    def forward(self, x):
        out = self.seg(x)
        aux = out["aux"].detach() if self.detached else out["aux"]
        return out["out"], out["aux"], self.extra(torch.cat([x, aux], 1))


FCN_HEADS = [["seg.classifier"], ["seg.aux_classifier"], ["extra"]]
BUGS += [
    Case("extra head beside FCN reading the image with the aux result", "bug", _module(ExtraHeadReadingFcnAux, False, inputs=(1, 3, 64, 64)),
         FCN_HEADS, expect_branches=["seg.classifier", "seg.aux_classifier", "extra"]),
    Case("extra head beside FCN reading the image with the aux result detached", "bug",
         _module(ExtraHeadReadingFcnAux, True, inputs=(1, 3, 64, 64)), FCN_HEADS),
]


class VAE(nn.Module):
    """A VAE returning the reconstruction, mu and the log-variance; the decoder reads `mu + eps * exp(logvar / 2)`.
    `split`: one Linear gives mu and the log-variance, chunked (no heads: the decoder only follows the encoder,
    which was once taken for a head the decoder leaks into, a false alarm). Else `fc_mu` and `fc_logvar` are the
    heads, `tied=True` one object in both places: both results feed the decoder, so no heads are found and
    graphcheck cannot decide — but tied, the model returns one computation twice (`duplicate-computation`), an
    error whatever the heads (once "cannot decide")."""

    def __init__(self, split, tied=False):
        super().__init__()
        self.split = split
        self.enc = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8) if split else nn.Identity())
        if not split:
            self.fc_mu = nn.Linear(32, 4)
            self.fc_logvar = self.fc_mu if tied else nn.Linear(32, 4)
        self.dec = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 16))

    def forward(self, x):
        h = self.enc(x)
        mu, logvar = h.chunk(2, dim=-1) if self.split else (self.fc_mu(h), self.fc_logvar(h))
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.dec(z), mu, logvar


VAE_HEADS = [["fc_mu"], ["fc_logvar"]]
BUGS += [
    Case("VAE: mu and log-variance chunked from the encoder's output (no heads)", "bug", _module(VAE, True, inputs=(4, 16)), []),
    Case("VAE: fc_mu and fc_logvar, both read by the decoder", "bug", _module(VAE, False, inputs=(4, 16)), VAE_HEADS,
         undecided="no-branches"),
    Case("VAE: fc_logvar = fc_mu", "bug", _module(VAE, False, True, inputs=(4, 16)), VAE_HEADS),
]


class VectorQuantizer(nn.Module):
    """A VQ-VAE's quantizer: codes by argmin over the distances to the codebook, the straight-through estimator.
    `ema`: the codebook follows the encoder's outputs by moving averages written in place under `no_grad`."""

    def __init__(self, ema):
        super().__init__()
        self.embedding = nn.Embedding(10, 4)
        self.ema = ema
        if ema:
            self.embedding.weight.requires_grad_(False)
            self.register_buffer("cluster_size", torch.zeros(10))
            self.register_buffer("embed_avg", self.embedding.weight.detach().clone())

    def forward(self, z):
        d = z.pow(2).sum(-1, keepdim=True) - 2 * z @ self.embedding.weight.t() + self.embedding.weight.pow(2).sum(-1)
        codes = d.argmin(-1)
        zq = self.embedding(codes)
        if self.ema and self.training:
            with torch.no_grad():
                onehot = F.one_hot(codes, 10).float()
                self.cluster_size.mul_(0.99).add_(onehot.sum(0), alpha=0.01)
                self.embed_avg.mul_(0.99).add_(onehot.t() @ z, alpha=0.01)
                self.embedding.weight.copy_(self.embed_avg / (self.cluster_size.unsqueeze(1) + 1e-5))
            loss = 0.25 * F.mse_loss(z, zq.detach())
        else:
            loss = F.mse_loss(zq, z.detach()) + 0.25 * F.mse_loss(z, zq.detach())
        return z + (zq - z).detach(), loss, codes


class VQVAE(nn.Module):
    """A VQ-VAE returning the reconstruction, the codebook loss and the codes. `inline`: the codes are picked in
    the model's own forward (`torch.cdist` to `self.codebook.weight`), so the codebook's result (its loss) and the
    decoder's are separate results and the two are branches: independent, since the distances only pick codes
    (once a false alarm: the read of the codebook's weight counted as the encoder's). Else an EMA quantizer
    module, whose in-place codebook update follows a product that saved the codebook for a backward pass that
    never runs: the codes returned are integers (once a false alarm: the codes started a backward pass)."""

    def __init__(self, inline):
        super().__init__()
        self.inline = inline
        self.enc = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
        if inline:
            self.codebook = nn.Embedding(10, 4)
        else:
            self.quantize = VectorQuantizer(ema=True)
        self.dec = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8))

    def forward(self, x):
        z = self.enc(x)
        if not self.inline:
            zq, loss, codes = self.quantize(z)
            return self.dec(zq), loss, codes
        zq = self.codebook(torch.cdist(z, self.codebook.weight).argmin(-1))
        loss = F.mse_loss(zq, z.detach()) + 0.25 * F.mse_loss(z, zq.detach())
        return self.dec(z + (zq - z).detach()), loss


BUGS += [
    Case("VQ-VAE, EMA quantizer returning its codes (no heads)", "bug", _module(VQVAE, False), [],
         fake_path="torch's F.one_hot checks the codes' range on real tensors (aminmax, item) and scatters; on fake ones it compares with arange"),
    Case("VQ-VAE, codes picked in the parent's forward: encoder-decoder and codebook", "bug", _module(VQVAE, True),
         [["enc", "dec"], ["codebook"]], expect_branches=["enc", "codebook"]),
]


class EntriesOfADictBesideAHead(nn.Module):
    """Two heads in a ModuleDict and a third, `c`, beside the dict, on a trunk's features. `bug="leak"`: head
    `b` reads `a`'s result with the features; `"shared"`: `b`'s first layer is `a`'s. The dict was taken for one
    head beside `c`, its entries never compared: the leak passed (exit 0), the shared layer was left open."""

    def __init__(self, bug=None):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.heads = nn.ModuleDict({k: nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)) for k in "ab"})
        if bug == "shared":
            self.heads["b"][0] = self.heads["a"][0]
        self.c = nn.Linear(16, 2)
        self.bug = bug

    def forward(self, x):
        t = self.trunk(x)
        a = self.heads["a"](t)
        b = self.heads["b"](t + a.mean(-1, keepdim=True) if self.bug == "leak" else t)
        return a, b, self.c(t)


DICT_BESIDE = [["heads.a"], ["heads.b"], ["c"]]
BUGS += [
    Case("heads in a ModuleDict beside a head", "bug", _module(EntriesOfADictBesideAHead), DICT_BESIDE,
         expect_branches=["heads.a", "heads.b", "c"]),
    Case("heads in a ModuleDict beside a head, b reads a's result", "bug", _module(EntriesOfADictBesideAHead, "leak"), DICT_BESIDE,
         expect_branches=["heads.a", "heads.b", "c"]),
    Case("heads in a ModuleDict beside a head, b's first layer is a's", "bug", _module(EntriesOfADictBesideAHead, "shared"),
         DICT_BESIDE, expect_branches=["heads.a", "heads.b", "c"]),
]


class HeadRunAgainAsAGate(nn.Module):
    """head1's result is returned, and head1 is run again on the same features to gate head2's result in the
    parent's forward (`no_grad`: only as a gate). The gate is the parent's, not a second head: no two heads are
    one computation (exit 1 before, from the trace with gradients and from TensorBoard, which records no
    `no_grad`)."""

    def __init__(self, no_grad):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.head1, self.head2, self.head3 = (nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)) for _ in range(3))
        self.no_grad = no_grad

    def forward(self, x):
        t = self.trunk(x)
        a = self.head1(t)
        with torch.set_grad_enabled(not self.no_grad):
            gate = torch.sigmoid(self.head1(t))
        return a, self.head2(t) * gate, self.head3(t)


BUGS += [
    Case("head1 run again to gate head2's result", "bug", _module(HeadRunAgainAsAGate, False), NAMED,
         expect_branches=["head1", "head2", "head3"]),
    Case("head1 run again under no_grad to gate head2's result", "bug", _module(HeadRunAgainAsAGate, True), NAMED,
         expect_branches=["head1", "head2", "head3"]),
]


class CoarseAndFine(nn.Module):
    """Hierarchical classification: a coarse head on the stem's features, a fine head on the deep features
    concatenated with the coarse logits (`detach`: with `.detach()`, the fix). The coarse logits are mixed with
    features computed beside them, not ones they were computed from: both heads vanished (no branches, exit 3)."""

    def __init__(self, detach):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.deep = nn.Sequential(nn.Linear(16, 16), nn.ReLU())
        self.coarse = nn.Linear(16, 3)
        self.fine = nn.Sequential(nn.Linear(16 + 3, 16), nn.ReLU(), nn.Linear(16, 10))
        self.detach = detach

    def forward(self, x):
        f = self.stem(x)
        coarse = self.coarse(f)
        return coarse, self.fine(torch.cat([self.deep(f), coarse.detach() if self.detach else coarse], 1))


def _built(make, args=()):
    """A corpus model and its inputs: `corpus_models.<make>` builds them, or, given `args`, makes the builder."""
    import corpus_models
    made = getattr(corpus_models, make)
    return (made(*args) if args else made)()


def _hook_adds_the_mean_of(make, args, source, reader, detach=False):
    """A corpus model (`_built(make, args)`) whose head `reader` gets the mean of head `source`'s result added to
    its input by a forward pre-hook, as a user's hook would (`detach`: the result detached, no leak). A head returning
    a tuple (OWLv2's class head: logits and class embeddings) gives its first tensor."""
    def build():
        model, inputs = _built(make, args)
        seen = {}
        model.get_submodule(source).register_forward_hook(lambda _m, _a, out: seen.update(result=out[0] if isinstance(out, tuple) else out))
        model.get_submodule(reader).register_forward_pre_hook(
            lambda _m, a: (a[0] + (seen["result"].detach() if detach else seen["result"]).mean(),) + a[1:])
        return model, inputs
    return build


BUGS += [
    Case("a fine head reads the coarse head's logits beside the deep features", "bug", _module(CoarseAndFine, False),
         [["coarse"], ["fine"]], expect_branches=["coarse", "fine"]),
    Case("a fine head reads the coarse head's logits detached", "bug", _module(CoarseAndFine, True), [["coarse"], ["fine"]],
         expect_branches=["coarse", "fine"]),
    # The class layer was taken for trunk and the leak passed (exit 0).
    Case("Mask R-CNN (eval): the mask head reads the class logits", "bug",
         _hook_adds_the_mean_of("_two_stage", ("MaskRCNN",), "roi_heads.box_predictor.cls_score", "roi_heads.mask_head"),
         [["roi_heads.box_head", "roi_heads.box_predictor"], ["roi_heads.mask_head", "roi_heads.mask_predictor"]], train=False,
         expect_branches=["roi_heads.box_head", "roi_heads.mask_head"]),
]


def _googlenet_aux1_scales_its_input(in_place):
    """GoogLeNet in training mode whose first aux head gets a forward pre-hook scaling its input, the trunk's
    features (`in_place`: `args[0].mul_(1.5)`; else a scaled copy, the fix). The trunk's next stage goes on from
    what the aux head wrote, so the main and second aux heads compute from it: passed (exit 0) before."""
    def build():
        import torchvision
        torch.manual_seed(0)
        model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True, num_classes=5)

        def scale(_module, args):
            if in_place:
                args[0].mul_(1.5)
                return None
            return (args[0] * 1.5,) + args[1:]
        model.aux1.register_forward_pre_hook(scale)
        return model, (torch.randn(2, 3, 64, 64),)
    return build


BUGS += [
    Case("googlenet (train): aux1's pre-hook scales the trunk's features in place", "bug", _googlenet_aux1_scales_its_input(True),
         [["aux1"], ["aux2"], ["fc"]], twin=_googlenet_aux1_scales_its_input(False), expect_branches=["aux1", "aux2", "inception4e"]),
]


def _pre_hook_scales(make, head, in_place, args=()):
    """A corpus model (`_built(make, args)`) whose head `head` gets a forward pre-hook scaling its input
    (`in_place`: `args[0].mul_(1.5)`; else a scaled copy, the fix)."""
    def build():
        model, inputs = _built(make, args)
        module = model.get_submodule(head)

        def scale(_module, args):
            if in_place:
                args[0].mul_(1.5)
                return None
            return (args[0] * 1.5,) + args[1:]
        module.register_forward_pre_hook(scale)
        return model, inputs
    return build


BUGS += [
    # The box head's input is a slice of the last hidden state, which the model returns: the caller gets the
    # scaled hidden state. Passed (exit 0) before: no op reads the new values.
    Case("YOLOS: the box head's pre-hook scales its slice of the returned hidden state in place", "bug",
         _pre_hook_scales("_yolos", "bbox_predictor", True), [["class_labels_classifier"], ["bbox_predictor"]],
         twin=_pre_hook_scales("_yolos", "bbox_predictor", False), expect_branches=["class_labels_classifier", "bbox_predictor"],
         fake_path="as for YolosForObjectDetection: torch's fake bicubic upsampling gives its result other strides"),
    # The class head, called first, scales the decoder's output the box and mask heads then read: the class
    # head was taken for trunk and the write passed (exit 0) before.
    Case("DETR segmentation: the class head's pre-hook scales the decoder's output in place", "bug",
         _pre_hook_scales("_detr_segmentation", "detr.class_labels_classifier", True),
         [["detr.class_labels_classifier"], ["detr.bbox_predictor"], ["mask_head", "bbox_attention"]],
         twin=_pre_hook_scales("_detr_segmentation", "detr.class_labels_classifier", False),
         expect_branches=["detr.class_labels_classifier", "detr.bbox_predictor", "mask_head"]),
    # The LM head's hook scales the hidden state through the alias GPT-2 hands it; the value head reads that
    # state after it. No branches (exit 3) before: the LM head's write reached both results.
    Case("TRL value head: the LM head's pre-hook scales the last hidden state in place", "bug",
         _pre_hook_scales("_value_head", "pretrained_model.lm_head", True, (False,)), [["pretrained_model.lm_head"], ["v_head"]],
         twin=_pre_hook_scales("_value_head", "pretrained_model.lm_head", False, (False,)),
         expect_branches=["v_head", "pretrained_model.lm_head"]),  # fake tensors trip an assert in torch: traced real
]


BUGS += [
    # MobileBERT's MLM head adds the decoder bias into its logits in place, so the NSP head reads the new values of
    # a tensor changed in place: an in-place hazard was reported (exit 1) where nothing is overwritten.
    Case("MobileBERT: the NSP head reads the MLM logits detached", "bug",
         _hook_adds_the_mean_of("_mobilebert", (), "cls.predictions", "cls.seq_relationship", detach=True),
         [["cls.predictions"], ["cls.seq_relationship"]], expect_branches=["cls.predictions", "cls.seq_relationship"]),
    Case("MobileBERT: the NSP head reads the MLM logits", "bug",
         _hook_adds_the_mean_of("_mobilebert", (), "cls.predictions", "cls.seq_relationship"),
         [["cls.predictions"], ["cls.seq_relationship"]], expect_branches=["cls.predictions", "cls.seq_relationship"]),
]


BUGS += [
    # The leak made the copies averaged inside RepViT's classifier one head (no branches, exit 3).
    Case("repvit_m1: the distillation head reads the class head's logits", "bug",
         _hook_adds_the_mean_of("_timm", ("repvit_m1",), "head.head", "head.head_dist"), [["head.head"], ["head.head_dist"]],
         expect_branches=["head.head", "head.head_dist"]),
    # RoI pooling writes the features into zeros in place: they read as a constant, so the box layer seemed to read
    # only what the class layer made, which was taken for trunk (no branches, exit 3).
    Case("Faster R-CNN (eval): the box layer reads the class scores", "bug",
         _hook_adds_the_mean_of("_tv_detection", ("fasterrcnn_mobilenet_v3_large_fpn",), "roi_heads.box_predictor.cls_score",
                                "roi_heads.box_predictor.bbox_pred"),
         [["roi_heads.box_predictor.cls_score"], ["roi_heads.box_predictor.bbox_pred"]], train=False,
         expect_branches=["roi_heads.box_predictor.cls_score", "roi_heads.box_predictor.bbox_pred"]),
]


class TrunkPerHeadCascade(nn.Module):
    """The trunk called once per head, as naive code does, and head2 reading head1's output beside it:
    `head2(trunk(x) + head1(trunk(x)).mean())`; `detach`: head1's output detached, no leak."""

    def __init__(self, detach=False):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.head1 = nn.Linear(16, 2)
        self.head2 = nn.Linear(16, 3)
        self.detach = detach

    def forward(self, x):
        a = self.head1(self.trunk(x))
        leaked = a.detach() if self.detach else a
        return a, self.head2(self.trunk(x) + leaked.mean(1, keepdim=True))


def _lxmert_object_head_sharing_the_mlm_norm():
    """LXMERT whose object-prediction head (run only given visual labels) is built around the MLM head's LayerNorm."""
    model, inputs = _built("_lxmert")
    model.obj_predict_head.transform.LayerNorm = model.cls.predictions.transform.LayerNorm
    return model, inputs


_OWL_HEADS = [["class_head"], ["box_head"], ["objectness_head"]]
_OWL_FAKE = "transformers skips the text tower's all-ones attention mask only for real tensors (its is_tracing)"

BUGS += [
    # Found by a generator of random multi-head models. The trunk run again for head2 hid that head1's output is
    # computed from the same features: it read as an intermediate, the heads as one (no branches, exit 3).
    Case("head2 reads head1's output beside the trunk run again", "bug", _module(TrunkPerHeadCascade), TWO,
         expect_branches=["head1", "head2"]),
    Case("head2 reads head1's output detached beside the trunk run again", "bug", _module(TrunkPerHeadCascade, True), TWO,
         expect_branches=["head1", "head2"]),
    # The objectness head reads the image features detached, so the class logits it was handed seemed all it
    # computed from: the class head and it were one head and the leak passed (exit 0).
    Case("OWLv2 (eval): the objectness head reads the class logits", "bug",
         _hook_adds_the_mean_of("_owlv2", (), "class_head", "objectness_head"), _OWL_HEADS, train=False,
         expect_branches=["class_head", "objectness_head", "box_head"], fake_path=_OWL_FAKE),
    Case("OWLv2 (eval): the objectness head reads the class logits detached", "bug",
         _hook_adds_the_mean_of("_owlv2", (), "class_head", "objectness_head", detach=True), _OWL_HEADS, train=False,
         expect_branches=["class_head", "objectness_head", "box_head"], fake_path=_OWL_FAKE),
    # A head that did not run in the trace holding a tensor of one that did was not looked at (exit 0).
    Case("LXMERT: the object-prediction head (not run) holds the MLM head's LayerNorm", "bug",
         _lxmert_object_head_sharing_the_mlm_norm,
         [["cls.predictions"], ["cls.seq_relationship"], ["answer_head"], ["obj_predict_head"]],
         expect_branches=["cls.predictions", "cls.seq_relationship", "answer_head"]),
]


class TaskHolders(nn.Module):
    """Two task modules, each a ModuleDict of heads on the shared features (detection: class and box; segmentation:
    mask and edge), the segmentation mask head reading the class head's logits (`detach`: detached, no leak)."""

    def __init__(self, detach=False):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.det = nn.ModuleDict({"cls": nn.Linear(16, 5), "box": nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))})
        self.seg = nn.ModuleDict({"mask": nn.Linear(17, 3), "edge": nn.Linear(16, 2)})
        self.detach = detach

    def forward(self, x):
        t = self.trunk(x)
        logits = self.det["cls"](t)
        seen = logits.detach() if self.detach else logits
        return {"cls": logits, "box": self.det["box"](t), "mask": self.seg["mask"](torch.cat([t, seen.mean(1, keepdim=True)], 1)),
                "edge": self.seg["edge"](t)}


_TASK_HEADS = [["det.cls"], ["det.box"], ["seg.mask"], ["seg.edge"]]
_MASK_RCNN_TRAIN_HEADS = [["rpn"], ["roi_heads.box_head", "roi_heads.box_predictor"], ["roi_heads.mask_head", "roi_heads.mask_predictor"]]

BUGS += [
    # Found by a generator of random models with heads in holders. Two holders each reach results of their own and
    # one result of the other's: neither reached fewer, so the two were one head and the leak passed (exit 0).
    Case("two task holders, a segmentation head reading the detection head's logits", "bug", _module(TaskHolders), _TASK_HEADS,
         expect_branches=["det.cls", "det.box", "seg.mask", "seg.edge"]),
    Case("two task holders, a segmentation head reading the detection head's logits detached", "bug", _module(TaskHolders, True),
         _TASK_HEADS, expect_branches=["det.cls", "det.box", "seg.mask", "seg.edge"]),
    # Trained on its losses, the model's heads were `rpn` and `roi_heads`, whose box and mask heads were never
    # compared: the mask head reading the class scores passed (exit 0). A holder of heads only (no body of its own,
    # no copies of one head) beside another holder is its heads.
    Case("Mask R-CNN (train, losses): the mask head reads the class logits", "bug",
         _hook_adds_the_mean_of("_two_stage", ("MaskRCNN", True), "roi_heads.box_predictor.cls_score", "roi_heads.mask_head"),
         _MASK_RCNN_TRAIN_HEADS, expect_branches=["rpn", "roi_heads.box_head", "roi_heads.mask_head"]),
    Case("Mask R-CNN (train, losses): the mask head reads the class logits detached", "bug",
         _hook_adds_the_mean_of("_two_stage", ("MaskRCNN", True), "roi_heads.box_predictor.cls_score", "roi_heads.mask_head", detach=True),
         _MASK_RCNN_TRAIN_HEADS, expect_branches=["rpn", "roi_heads.box_head", "roi_heads.mask_head"]),
]


class TokenScaledInPlace(nn.Module):
    """Heads on tokens of one sequence (a CLS token, and two tokens pooled: `pooled`, their first index); the CLS
    head's pre-hook scales its token in place (`in_place`; else a scaled copy, the fix), and the pooling head, run
    after it, reads the scaled token when it pools from token 0."""

    def __init__(self, in_place=True, pooled=0):
        super().__init__()
        self.trunk = nn.Linear(8, 16)
        self.cls_head = nn.Linear(16, 3)
        self.pool_head = nn.Linear(16, 2)
        self.pooled = pooled
        self.cls_head.register_forward_pre_hook(lambda _m, a: (a[0].mul_(2) if in_place else a[0] * 2,))

    def forward(self, x):
        h = self.trunk(x)
        return self.cls_head(h[:, 0]), self.pool_head(h[:, self.pooled:self.pooled + 2].mean(1))


_TOKEN_HEADS = [["cls_head"], ["pool_head"]]

BUGS += [
    # Found by a generator of random token heads (11 of 150 wrong): a write through a view was not followed to what
    # later heads read of the tensor's new version, so the hazard passed (exit 0).
    Case("a head scales its token in place, a head after it pools that token with the next", "bug",
         _module(TokenScaledInPlace, inputs=(2, 4, 8)), _TOKEN_HEADS,
         twin=_module(TokenScaledInPlace, False, inputs=(2, 4, 8)), expect_branches=["cls_head", "pool_head"]),
    Case("a head scales its token in place, a head after it pools the next two tokens", "bug",
         _module(TokenScaledInPlace, True, 1, inputs=(2, 4, 8)), _TOKEN_HEADS,
         twin=_module(TokenScaledInPlace, False, 1, inputs=(2, 4, 8)), expect_branches=["cls_head", "pool_head"]),
]


class CascadeStage(nn.Module):
    """A Cascade R-CNN stage: RoIAlign on the backbone's features at the boxes it is given, a body, class and box
    layers."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.ReLU())
        self.cls = nn.Linear(32, 3)
        self.reg = nn.Linear(32, 4)

    def forward(self, features, boxes):
        from torchvision.ops import roi_align
        h = self.fc(roi_align(features, boxes, (4, 4), spatial_scale=0.5, sampling_ratio=1, aligned=True))
        return self.cls(h), self.reg(h)


class Cascade(nn.Module):
    """Stages refining boxes one after the other, each next stage reading the boxes before it detached (RoIAlign
    passes no gradient to its boxes either); the last stage's class and box outputs are returned, of the stages
    before only their class outputs. `share`: `stages[1].fc = stages[0].fc` (one body), `copy`: a deep copy of it."""

    def __init__(self, share=None):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.stages = nn.ModuleList(CascadeStage() for _ in range(2))
        if share == "alias":
            self.stages[1].fc = self.stages[0].fc
        elif share == "copy":
            self.stages[1].fc = copy.deepcopy(self.stages[0].fc)

    def forward(self, image, boxes):
        features = self.backbone(image)
        scores = []
        for stage in self.stages:
            cls, reg = stage(features, boxes)
            scores.append(cls)
            xy = boxes[:, 1:3] + reg[:, :2]
            boxes = torch.cat([boxes[:, :1], xy, xy + (boxes[:, 3:5] - boxes[:, 1:3]) * torch.exp(reg[:, 2:].clamp(max=2.0))], 1).detach()
        return scores[-1], reg, scores[:-1]


def _cascade(share=None):
    def build():
        torch.manual_seed(0)
        corners = torch.rand(6, 2) * 10
        boxes = torch.cat([torch.randint(0, 2, (6, 1)).float(), corners, corners + 3 + torch.rand(6, 2) * 4], 1)
        return Cascade(share), (torch.randn(2, 3, 16, 16), boxes)
    return build


BUGS += [
    # Found by a generator of cascade detection heads (1 of 120 wrong): the last stage, returning its class and
    # box outputs apart, was opened into two heads over its body, which the alias shares with the first stage:
    # that body became trunk and the model passed (exit 0). A stage is a stage like the others of its class.
    Case("cascade stages, the second stage's body the first's (one object)", "bug", _cascade("alias"), [["stages.0"], ["stages.1"]],
         expect_branches=["stages.0", "stages.1"]),
    Case("cascade stages, the second stage's body a deep copy of the first's", "bug", _cascade("copy"), [["stages.0"], ["stages.1"]],
         expect_branches=["stages.0", "stages.1"]),
]


class KeepsItsParameters(TwoLinearHeads):
    """A model holding a plain list of its own parameters (for an optimizer or an EMA of its own, as
    DistributedDataParallel holds `_module_parameters`); head2 reads head1's output (`detach`: detached)."""

    def __init__(self, detach=False):
        super().__init__()
        self.head1 = nn.Linear(16, 16)
        self.keep = list(self.parameters())
        self.detach = detach

    def forward(self, x):
        t = F.relu(self.trunk(x))
        a = self.head1(t)
        return a, self.head2(t + (a.detach() if self.detach else a))


BUGS += [
    # Found by exporting under DistributedDataParallel: each parameter was also named in the list, outside the
    # heads, so every one was the trunk's and the leak passed (exit 0).
    Case("a model keeping a list of its own parameters, head2 reading head1's output", "bug", _module(KeepsItsParameters), TWO,
         expect_branches=["head1", "head2"]),
    Case("a model keeping a list of its own parameters, head2 reading head1's output detached", "bug", _module(KeepsItsParameters, True),
         TWO, expect_branches=["head1", "head2"]),
]


class TaskWithAux(nn.Module):
    """A task head: a body, a main layer and, with `aux`, an auxiliary layer whose output is returned apart."""

    def __init__(self, out, aux=False):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 16), nn.ReLU())
        self.main = nn.Linear(16, out)
        self.aux = nn.Linear(16, 2) if aux else None

    def forward(self, t):
        h = self.body(t)
        return (self.main(h), self.aux(h)) if self.aux is not None else self.main(h)


class TasksOneWithAux(nn.Module):
    """Three task heads of one class in a ModuleDict, segmentation also returning an auxiliary output; `share`: the
    depth task's body is segmentation's ("alias") or a deep copy of it ("copy")."""

    def __init__(self, share=None):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.tasks = nn.ModuleDict({"seg": TaskWithAux(3, aux=True), "depth": TaskWithAux(4), "normal": TaskWithAux(5)})
        if share == "alias":
            self.tasks["depth"].body = self.tasks["seg"].body
        elif share == "copy":
            self.tasks["depth"].body = copy.deepcopy(self.tasks["seg"].body)

    def forward(self, x):
        t = self.trunk(x)
        seg, seg_aux = self.tasks["seg"](t)
        return {"seg": seg, "seg_aux": seg_aux, "depth": self.tasks["depth"](t), "normal": self.tasks["normal"](t)}


_TASKS = [["tasks.seg"], ["tasks.depth"], ["tasks.normal"]]

BUGS += [
    # The same miss as the cascade's (a generator of task heads with auxiliary outputs): the one task returning two
    # outputs was opened into two heads over its body, which the alias shares with the depth task: exit 0.
    Case("task heads of one class, one also returning an auxiliary output, the depth task's body the segmentation task's",
         "bug", _module(TasksOneWithAux, "alias"), _TASKS, expect_branches=["tasks.seg", "tasks.depth", "tasks.normal"]),
    Case("task heads of one class, one also returning an auxiliary output, the depth task's body a deep copy",
         "bug", _module(TasksOneWithAux, "copy"), _TASKS, expect_branches=["tasks.seg", "tasks.depth", "tasks.normal"]),
]


class LoRALinear(nn.Module):
    """A hand-written LoRA adapter: the frozen layer it wraps plus a trainable low-rank path, added."""

    def __init__(self, base, rank=2):
        super().__init__()
        self.base = base
        self.A = nn.Linear(base.in_features, rank, bias=False)
        self.B = nn.Linear(rank, base.out_features, bias=False)
        base.requires_grad_(False)

    def forward(self, x):
        return self.base(x) + self.B(self.A(x)) * 0.5


class LoRAOnOneHead(nn.Module):
    """Two heads, the second's last layer adapted with LoRA (the user fine-tunes that head only); `share`: the heads'
    first Linear one object."""

    def __init__(self, share=False):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.head1 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
        self.head2 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
        if share:
            self.head2[0] = self.head1[0]
        self.head2[2] = LoRALinear(self.head2[2])

    def forward(self, x):
        t = self.trunk(x)
        return self.head1(t), self.head2(t)


BUGS += [
    # Found by adapting one head with peft's LoRA: the two paths the adapter adds were taken for two heads held by
    # head2, which was opened, its first layer — one object with head1's — became trunk and the model passed (exit 0).
    Case("LoRA on one head's last layer, the heads' first Linear one object", "bug", _module(LoRAOnOneHead, True), TWO,
         expect_branches=["head1", "head2"]),
    Case("LoRA on one head's last layer, the heads' own first layers", "bug", _module(LoRAOnOneHead), TWO,
         expect_branches=["head1", "head2"]),
]
