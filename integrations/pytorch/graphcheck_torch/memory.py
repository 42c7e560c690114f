"""Parameters and buffers by the memory they cover: storage identity by byte range (disjoint views of one
buffer are not shared), element-exact overlap of views, and a fingerprint of values (equal copies)."""
import hashlib

import torch
from torch._subclasses.fake_tensor import FakeTensor
from torch.utils._python_dispatch import _disable_current_modes

from .members import _named_tensors, declared_ties


def _memory(tensor):
    """(storage object, first byte, end byte) of the memory a tensor covers. The storage object, not its
    address: every storage of a model built on the meta device (or under FakeTensorMode) has address 0.
    Two tensors share memory when they have the same storage and their byte ranges overlap; disjoint
    views of one flat buffer (fused QKV weights, flat parameters) do not."""
    storage = tensor.untyped_storage()
    size = tensor.element_size()
    start = tensor.storage_offset() * size
    if tensor.numel() == 0:
        return storage._cdata, start, start
    extent = 1 + sum((n - 1) * abs(s) for n, s in zip(tensor.shape, tensor.stride()))
    return storage._cdata, start, start + extent * size


class _Storages:
    """The model's parameters and buffers by memory: one entry per set of overlapping byte ranges."""

    def __init__(self, model, unregistered=(), loose=()):
        self.model = model
        self.unregistered = list(unregistered)  # (path, module) held outside the model's registry
        self.loose = list(loose)  # (name, parameter) held bare outside it
        self.entries = []
        self.ranges = {}   # storage object -> [(start, end, entry index)]
        self.blocks = {}   # storage object -> its label in the trace
        self.trainable = []  # whether some parameter of each entry requires grad
        first = []         # the tensor of each entry's first name
        for kind, name, tensor in _named_tensors(model, self.unregistered, self.loose):
            if self._place(kind, name, tensor):
                first.append(tensor)
        self._finish(range(len(self.entries)))
        # Known by no name the model registers: `model.parameters()` misses it.
        bare = {name for name, _ in self.loose}
        tied = {name for pair in declared_ties(model) for name in pair}
        for entry in self.entries:
            if bare and all(name in bare for name in entry["names"]):
                entry["registered"] = False
            if tied and any(name in tied for name in entry["names"]):
                entry["declared"] = True
        for entry, tensor in zip(self.entries, first):
            digest = _digest(tensor)
            if digest is not None:
                entry["digest"] = digest

    def add(self, kind, name, tensor):
        """A parameter or buffer of a module made during the forward: an entry like the model's own (no
        digest: its values are made anew on every call)."""
        before = len(self.entries)
        self._place(kind, name, tensor)
        self._finish(range(before, len(self.entries)), blocks=[_memory(tensor)[0]])

    def _place(self, kind, name, tensor):
        """Files `tensor` under the entry whose memory it overlaps, or a new one (then True)."""
        block, start, end = _memory(tensor)
        found = self._overlapping(block, start, end)
        new = found is None
        if new:
            found = len(self.entries)
            self.ranges.setdefault(block, []).append([start, end, found])
            self.entries.append({"id": f"s{found}", "kind": kind, "names": [name], "shape": list(tensor.shape), "dtype": _dtype(tensor)})
            self.trainable.append(False)
        else:
            self.entries[found]["names"].append(name)
        self.trainable[found] = self.trainable[found] or (kind == "parameter" and tensor.requires_grad)
        return new

    def _finish(self, indices, blocks=None):
        """Which storage object each entry lives in and its bytes, for the trace (`memory`), and which
        parameters are frozen (`requires_grad_(False)`: no gradient changes them)."""
        for block in blocks if blocks is not None else list(self.ranges):
            label = self.blocks.setdefault(block, f"m{len(self.blocks)}")
            for start, end, index in self.ranges[block]:
                self.entries[index]["memory"] = {"block": label, "bytes": [start, end]}
        for index in indices:
            entry = self.entries[index]
            if entry["kind"] == "parameter" and not self.trainable[index]:
                entry["requires_grad"] = False

    def _overlapping(self, block, start, end):
        for span in self.ranges.get(block, ()):
            if start < span[1] and span[0] < end or (start == end == span[0] == span[1]):
                span[0], span[1] = min(span[0], start), max(span[1], end)
                return span[2]
        return None

    def add_fake(self, fake_mode):
        """Registers the fake twin of every parameter and buffer (FakeTensorMode turns the real ones into
        fakes as ops read them, memoised, with storage sharing and offsets preserved): a view of a fake
        parameter is that parameter, as a view of the real one is."""
        self.fakes = []
        for _, _, tensor in _named_tensors(self.model, self.unregistered, self.loose):
            index = self.find(tensor)
            fake = fake_mode.from_tensor(tensor)
            self.fakes.append(fake)  # alive, so its storage object is not reused
            block, start, end = _memory(fake)
            spans = self.ranges.setdefault(block, [])
            if not any(s <= start and end <= e and i == index for s, e, i in spans):
                spans.append([start, end, index])

    def find(self, tensor):
        """The entry whose memory a tensor (a parameter, or a view of one) overlaps, or None."""
        spans = self.ranges.get(tensor.untyped_storage()._cdata)
        if not spans:
            return None
        _, start, end = _memory(tensor)
        for span_start, span_end, index in spans:
            if start < span_end and span_start < end or start == end == span_start:
                return index
        return None


def _digest(tensor):
    """A fingerprint of a tensor's values (BLAKE2b of its bytes), so that copies — deep copies, one state
    dict loaded into several heads — are seen as equal values in separate storage. None where there are no
    values to read (meta and fake tensors), where numpy is missing, and for constant fills (BatchNorm's ones
    and zeros are equal in every model without being copies)."""
    if tensor.is_meta or isinstance(tensor, FakeTensor) or tensor.layout != torch.strided or tensor.numel() < 2:
        return None
    try:
        import numpy  # noqa: F401  (the bytes are hashed through numpy's buffer, without a copy)
    except ImportError:
        return None
    with torch.no_grad():
        flat = tensor.detach().reshape(-1)
        if bool((flat == flat[0]).all()):
            return None
        data = flat.contiguous().cpu().view(torch.uint8).numpy()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _dtype(tensor):
    return str(tensor.dtype).replace("torch.", "")


def _element_offsets(tensor):
    """The storage offsets of every element of a strided tensor, computed from its geometry alone (meta and
    fake tensors have no data to look at)."""
    offsets = torch.tensor([tensor.storage_offset()], dtype=torch.int64)
    for size, stride in zip(tensor.shape, tensor.stride()):
        offsets = (offsets.unsqueeze(-1) + torch.arange(size, dtype=torch.int64) * stride).reshape(-1)
    return offsets


# Above this many elements two views whose byte ranges overlap are taken to share elements without
# enumerating them (the safe side: an overlap seen where there is none can only add a finding).
_EXACT_OVERLAP_LIMIT = 1 << 22


def _gapless(tensor):
    """Whether a strided tensor's elements fill every storage offset from its first to its last (a
    contiguous tensor, a transpose, Longformer's overlapping attention windows), from its geometry alone."""
    covered = 0  # the offsets 0..covered (from the first element) that the dimensions taken so far fill
    for stride, size in sorted((abs(stride), size) for size, stride in zip(tensor.shape, tensor.stride()) if size > 1):
        if stride > covered + 1:
            return False
        covered += (size - 1) * stride
    return True


def _overlap(a, b):
    """Whether two tensors of one storage share an element: their byte ranges overlap, and an element lies in
    both."""
    _, start, end = _memory(a)
    _, other_start, other_end = _memory(b)
    return start < other_end and other_start < end and _share_elements(a, b)


def _share_elements(a, b):
    """Whether two views of one storage whose byte ranges overlap share an element: the chunks of a GRU's
    gates or a fused QKV projection interleave by byte range but not by element."""
    if a.dtype != b.dtype or a.numel() == 0 or b.numel() == 0 or max(a.numel(), b.numel()) > _EXACT_OVERLAP_LIMIT:
        return a.numel() > 0 and b.numel() > 0
    if a.shape == b.shape and a.stride() == b.stride() and a.storage_offset() == b.storage_offset():
        return True
    gapless_a, gapless_b = _gapless(a), _gapless(b)
    if gapless_a and gapless_b:
        return True  # each fills its range, and the ranges overlap
    with _disable_current_modes():  # real integer arithmetic, also while fake tensors are being traced
        if gapless_a or gapless_b:  # one fills its range: whether an element of the other lies in it
            full, other = (a, b) if gapless_a else (b, a)
            _, start, end = _memory(full)
            low, high = start // full.element_size(), end // full.element_size() - 1
            others = _element_offsets(other)
            return bool(((others >= low) & (others <= high)).any())
        oa, ob = _element_offsets(a), _element_offsets(b)
        low, high = max(int(oa.min()), int(ob.min())), min(int(oa.max()), int(ob.max()))
        if low > high:
            return False
        # One mark per offset of the common range: linear, where a sort-based `isin` of millions of offsets
        # took 70 ms a pair.
        marked = torch.zeros(high - low + 1, dtype=torch.bool)
        marked[oa[(oa >= low) & (oa <= high)] - low] = True
        return bool(marked[ob[(ob >= low) & (ob <= high)] - low].any())


def _version(tensor):
    """Autograd's version counter of a tensor (bumped by every in-place write to its memory that autograd
    sees), or None for one that keeps none (an inference tensor)."""
    try:
        return tensor._version
    except RuntimeError:
        return None


def _block(tensor):
    """The storage object a tensor's memory lies in, or None for tensors without one (sparse, nested)."""
    try:
        return tensor.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, AttributeError):
        return None


def _dense(tensor):
    """Whether a tensor's elements fill its memory with no gap or overlap, in some dimension order."""
    expected = 1
    for size, stride in sorted(zip(tensor.shape, tensor.stride()), key=lambda p: p[1]):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True
