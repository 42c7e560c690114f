"""Records a model's forward pass at dispatch level and writes it as a graphcheck trace (version 1).

The call-site module path of each op comes from the live module call stack, kept by global forward
pre/post hooks; parameters and buffers are identified by their untyped storage and carry every name they
go by. By default the forward runs on fake tensors (torch's FakeTensorMode): every op, shape and dtype is
recorded but no arithmetic runs on the inputs and no activation takes memory, so the batch size costs
nothing. See docs/trace-format.md in the graphcheck repository.
"""
import contextlib
import json
import logging
import os
import sys
import traceback
import warnings
import weakref

import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.utils._python_dispatch import _disable_current_modes
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten

from . import construction
from .frames import caller_stacklevel, expression_position, op_caller, source_of, user_frame
from .module_calls import ModuleCalls
from .model_state import ModelState, clear_caches_filled_since, lru_cache_misses
from .members import _named_tensors, unregistered_members
from .memory import _block, _dtype, _memory, _overlap, _Storages, _version
from .op_arguments import _arguments, _canonical, _gradient_free_positions, _tensors, _writes, _written_result
from .recorder import _Recorder

FORMAT = "graphcheck.trace"
VERSION = 1
# Matrix products, as recorded: what a weight matrix held bare beside a module's children is used for.
_PRODUCTS = {"linear", "mm", "bmm", "matmul", "baddbmm", "conv1d", "conv2d", "conv3d", "convolution"}


class _Trace(ModuleCalls):
    """The trace under construction: storages first (from the model), then values and nodes as ops run."""

    def __init__(self, model):
        self.model = model
        by_path = dict(model.named_modules(remove_duplicate=False))
        path_of = {}
        for path, module in by_path.items():
            path_of.setdefault(id(module), path)
        # Modules held in plain lists and dicts: named `<holder>.<attribute>.<key>`, traced as the model's own
        # (their ops, their parameters) and marked `"registered": false`; bare parameters held so, likewise.
        self.unregistered = {}  # id(holder) -> [(name relative to it, module)]
        unregistered, loose, listed = [], [], []
        for holder, name, value in unregistered_members(model):
            full = f"{path_of[id(holder)]}.{name}" if path_of[id(holder)] else name
            if isinstance(value, torch.nn.Module):
                self.unregistered.setdefault(id(holder), []).append((name, value))
                unregistered.append((full, value))
                continue
            loose.append((full, value))
            if "." in name:
                listed.append(loose[-1])  # an entry of a plain list or dict: a slot, as in an nn.ParameterList
        self.memory = _Storages(model, unregistered, loose)
        self.storages = self.memory.entries
        self.modules = []
        instances = self.instances = {}
        self.first_name = {}
        for path, module in by_path.items():
            self.first_name.setdefault(id(module), path)
            instance = instances.setdefault(id(module), f"m{len(instances)}")
            entry = {"path": path, "type": type(module).__name__, "instance": instance}
            parent, _, name = path.rpartition(".")
            source = construction.assigned(by_path[parent], name) if path else None
            if source:
                entry["source"] = source  # where it was assigned while the model was built (construction.recording)
            self.modules.append(entry)
        for prefix, held in unregistered:
            for path, module in held.named_modules(prefix=prefix, remove_duplicate=False):
                self.first_name.setdefault(id(module), path)
                instance = instances.setdefault(id(module), f"m{len(instances)}")
                self.modules.append({"path": path, "type": type(module).__name__, "instance": instance, "registered": False})
        self.values = []
        self.value_of = {}      # id(tensor) -> value index, for tensors alive in the forward
        self.alive = []         # keeps recorded tensors alive so their ids are not reused
        self.in_block = {}      # storage object -> {id(tensor): tensor}: the recorded tensors in each block of memory
        self.last_inplace = None  # (tensor, user frame, line, node index) of the latest in-place op on a value
        self.nodes = []
        self.protected = set()  # storage objects of the model and the inputs: restored after the forward if written
        self.saved = {}         # id(tensor) -> (tensor, its values before the first write)
        self.versions_before = {}  # id(tensor) -> its version counter just before an in-place op (aliases of what it writes)
        self.unsettled = []     # (node, alias, version before): writes through a view, checked once autograd has counted them
        self.stack = []         # (call-site path, module, calls of each child so far)
        self.transient = set()  # id(module) of modules called that the model does not hold (`self.net[:-1]`, a new Sequential)
        self.transient_source = {}  # id(transient) -> the path of the model's container it was cut from, when known
        self.transients = []  # kept alive, so their ids are not reused by other objects
        self.containers = None  # (path, module) of every module of the model that has children, made when first needed
        self.holders = {}       # id(module) -> [(module holding it as a direct child, its name there)]
        for holder in {id(m): m for m in by_path.values()}.values():
            for name, child in holder._modules.items():
                if child is not None:
                    self.holders.setdefault(id(child), []).append((holder, name))
        # Parameters whose ops are theirs (`_slot`), by storage entry: their paths (`heads.0`), those of an
        # nn.ParameterList / nn.ParameterDict first, then weights held bare; and how many ops read each so far.
        self.slots = {}
        self.bare = set()  # the slots that are weights a composite module holds bare: only its matrix products move
        for path, module in by_path.items():
            if isinstance(module, (torch.nn.ParameterList, torch.nn.ParameterDict)):
                for name, parameter in module.named_parameters(prefix=path, recurse=False, remove_duplicate=False):
                    index = self.memory.find(parameter)
                    if index is not None:
                        self.slots.setdefault(index, []).append(name)
        for name, parameter in listed:
            index = self.memory.find(parameter)
            if index is not None and self.storages[index].get("registered", True) is False:
                self.slots.setdefault(index, []).append(name)
        for path, module in by_path.items():
            if module._modules and not type(module).__module__.startswith("torch."):
                # A weight the module holds bare beside its children (TAPAS's cell-selection head:
                # `output_weights` beside `aggregation_classifier`): its matrix products are that weight's.
                for name, parameter in module.named_parameters(prefix=path, recurse=False, remove_duplicate=False):
                    index = self.memory.find(parameter) if parameter.dim() >= 1 else None
                    if index is not None and (index not in self.slots or index in self.bare):
                        self.slots.setdefault(index, []).append(name)
                        self.bare.add(index)
        self.slot_reads = {}
        # Parameters held directly by a module, by storage entry: that module's first path and class. Read by an
        # op of an enclosing module while the module itself is never called, they make the op the module's
        # (`_holders`).
        self.held = {}
        for path, module in by_path.items():
            if path and not isinstance(module, (torch.nn.ParameterList, torch.nn.ParameterDict)):
                for parameter in module.parameters(recurse=False):
                    index = self.memory.find(parameter)
                    if index is not None:
                        self.held.setdefault(index, []).append((self.first_name[id(module)], type(module).__name__, id(module)))
        self.called = set()     # id() of every module whose forward ran
        self.children = {}      # id(parent) -> {id(child): [relative paths]}
        self.also_held = {}     # id(parent) -> {id(child): [container slots]} for direct children also in containers
        self.slot_calls = []    # [id(parent), id(module), parent path, path, first node, end node] of such children's calls
        self.open_calls = []    # per entry of `stack`: its index in slot_calls, or None
        self.pending_saves = []  # values autograd saved since the last op was recorded: the next op's inputs
        self.pending_storage_saves = []  # (storage id, tensor, its version) saved since then, likewise
        self.storage_saves = []  # (node, storage id, tensor, version when saved): checked after the forward
        self.value_saves = []  # (value id, tensor, version when saved, nodes recorded by then), likewise
        self.block_writes = []  # (node index, memory block, tensor) per tensor an in-place op wrote, in order
        self.custom_calls = {}  # op from outside ATen -> (args, kwargs) of its first call
        self.last_call = (None, -1)  # the Python frame (and instruction) that called the latest recorded op
        self.regenerating = None  # a view the latest op wrote in place, whose history autograd now remakes
        # TorchScript's differentiable graphs (see `_trace`): values ops made under grad mode from inputs none of
        # which required grad, the node that made each value, and the `detach` nodes that cut a gradient.
        self.gradless = set()
        self.made_by = {}
        self.cuts = set()
        # Values ops made with gradients off (`torch.no_grad()`, or the forward of an autograd Function).
        self.gradoff = set()
        # Floating-point values ops made from inputs that required grad: the ones that do not require grad when
        # read were cut from their history since (`t.detach_()`, which reaches no dispatched op), or never had
        # one (`zeros_like(t)`): no gradient goes back through that read.
        self.graded = set()

    def new_value(self, tensor):
        index = len(self.values)
        self.values.append({"id": f"v{index}", "shape": list(tensor.shape), "dtype": _dtype(tensor)})
        self.value_of[id(tensor)] = index
        self.alive.append(tensor)
        block = _block(tensor)
        if block is not None:
            self.in_block.setdefault(block, {})[id(tensor)] = tensor
        return f"v{index}"

    def aliases(self, tensor):
        """The other recorded tensors whose memory `tensor` overlaps: the base a view was taken from
        (`x[:, :4]`, `x.view(...)`) and the other views of it."""
        block = _block(tensor)
        if block is None:
            return []
        return [other for other in self.in_block.get(block, {}).values() if other is not tensor and _overlap(tensor, other)]

    def operand(self, tensor):
        """The id of what an op reads: a parameter/buffer storage, or a value (recorded as a constant when
        the tensor was made outside the forward)."""
        storage = self.memory.find(tensor)
        if storage is not None:
            return self.storages[storage]["id"], True
        index = self.value_of.get(id(tensor))
        if index is None:
            value = self.new_value(tensor)
            self.add_node("constant", [], [value], [], False, {})
            return value, False
        # `is_leaf`, not `grad_fn`: reading `grad_fn` from Python gives the autograd node a Python object, and a
        # chain of such nodes is freed recursively when the output dies (a 60,000-op chain overflowed the stack).
        if tensor.requires_grad and not tensor.is_leaf:
            if index in self.gradoff:
                self._reopen_function_forward(index)
            elif index in self.gradless:
                self._reopen_differentiable_graph(index)
        return f"v{index}", False

    def _reopen_function_forward(self, index):
        """A value made with gradients off now requires grad, through an autograd node of its own: an autograd
        Function ran the ops that made it (a custom `autograd.Function`, reentrant checkpointing, a C++ op with
        its own backward such as torchvision's `roi_align`), with gradients off inside. Gradient flows back
        through those ops after all: their `no_grad_inputs` are taken back, up to the values made with gradients
        on. (A leaf the user made require grad, `x.requires_grad_()`, has no such node.) Not into the inputs the
        Function's backward gives no gradient (`return None`: a stop-gradient, as a detach), asked of autograd."""
        output = index
        region, pending = [], [index]
        while pending:
            index = pending.pop()
            node = self.made_by.get(index)
            if node is None or index not in self.gradoff:
                continue
            self.gradoff.discard(index)
            region.append(node)
            pending.extend(int(i[1:]) for i in self.nodes[node]["inputs"] if i.startswith("v"))
        cut = self._inputs_without_gradient(output, region)
        for node in region:
            attrs = self.nodes[node].get("attrs", {})
            attrs.pop("no_grad_inputs", None)
            positions = [k for k, ref in enumerate(self.nodes[node]["inputs"]) if ref in cut]
            if positions:
                attrs["no_grad_inputs"] = positions

    def _inputs_without_gradient(self, output, region):
        """The values, made with gradients on, that the ops of `region` (an autograd Function's forward) read and
        that backward from the Function's result `output` sends no gradient into: all those it reads when the
        Function's backward returns None for them. Empty when the ops read a parameter (a gradient it gives only
        the weights is not told apart here), or when autograd cannot say."""
        if any(not ref.startswith("v") for node in region for ref in self.nodes[node]["inputs"]):
            return set()
        made_here = {out for node in region for out in self.nodes[node]["outputs"]}
        refs = sorted({ref for node in region for ref in self.nodes[node]["inputs"] if ref not in made_here})
        reads = [(ref, self.alive[int(ref[1:])]) for ref in refs]
        reads = [(ref, t) for ref, t in reads if t.requires_grad]
        result = self.alive[output]
        if not reads or not result.requires_grad or result.grad_fn is None:
            return set()
        try:
            grads = torch.autograd.grad(result, [t for _, t in reads], grad_outputs=torch.ones_like(result),
                                        retain_graph=True, allow_unused=True)
        except Exception:  # noqa: BLE001 — a backward that cannot run here: take the gradient as flowing, as before
            return set()
        return {ref for (ref, _), g in zip(reads, grads) if g is None}

    def _reopen_differentiable_graph(self, index):
        """A value made without gradient now requires grad: an autograd node outside the ops made it (a
        TorchScript differentiable graph, whose ops ran on detached copies of its inputs). Gradient flows from
        it back to those inputs, so the `detach` ops at the graph's entry pass it on, and the parameters its ops
        read through detached copies get their gradient. A `detach` whose input did not require grad (the
        user's own, inside or before the graph) stays where it is and ends the walk."""
        pending = [index]
        while pending:
            index = pending.pop()
            node = self.made_by.get(index)
            if node is None:
                continue
            entry = self.nodes[node]
            if node in self.cuts:
                entry["op"] = "alias"
                entry.setdefault("attrs", {})["torchscript"] = "differentiable graph input"
                self.cuts.discard(node)
            elif index in self.gradless and entry["op"] != "detach":
                self.gradless.discard(index)
                entry.get("attrs", {}).pop("no_grad_inputs", None)
                pending.extend(int(i[1:]) for i in entry["inputs"] if i.startswith("v"))

    def _slot(self, op, path, module_type, inputs):
        """An op reading an entry of an nn.ParameterList / nn.ParameterDict the calling module holds
        (`t @ self.heads[0]`) is that entry's, as an op of a called module is the module's: per-task heads kept
        as parameter lists are heads like modules (`heads.0`, `heads.1`). So is a matrix product with a weight
        its module holds bare, in that module's forward. One parameter under several names: the n-th read
        takes the n-th name."""
        for ref in inputs:
            if not ref.startswith("s") or int(ref[1:]) not in self.slots:
                continue
            index = int(ref[1:])
            names = self.slots[index]
            n = self.slot_reads.get(ref, 0)
            slot = names[n % len(names)]
            if index in self.bare:
                owned = op in _PRODUCTS and names[0].rpartition(".")[0] == path
            else:
                owned = path == "" or slot.startswith(path + ".")
            if owned:
                self.slot_reads[ref] = n + 1
                return slot, "Parameter"
        return path, module_type

    def _trainable(self, ref):
        entry = self.storages[int(ref[1:])]
        return entry["kind"] == "parameter" and entry.get("requires_grad", True)

    def add_node(self, op, inputs, outputs, writes, inplace, attrs):
        path, module, _ = self.stack[-1] if self.stack else ("", self.model, None)
        module_type = type(module).__name__
        if self.slots:
            path, module_type = self._slot(op, path, module_type, inputs)
        node = {"id": f"n{len(self.nodes)}", "op": op, "module": path, "module_type": module_type,
                "inputs": inputs, "outputs": outputs}
        if writes:
            node["writes"] = writes
        if inplace:
            node["inplace"] = True
        if attrs:
            node["attrs"] = attrs
        source = _user_source()
        if source:
            node["source"] = source
        if self.pending_saves or self.pending_storage_saves:
            self._assign_saves(node)
        self.nodes.append(node)

    # -- leaving the user's tensors as they were --------------------------------------------------------

    def protect(self, tensors):
        self.protected.update(b for b in map(_block, tensors) if b is not None)

    def save_before_write(self, func, bound):
        """Copies a real parameter, buffer or input before an op first writes it, so `restore` can put it
        back: BatchNorm's running statistics in training mode, `num_batches_tracked.add_(1)`, an in-place op
        on the input. Only what is written is copied (a 7B-parameter model is not cloned to be traced). Also
        notes the version counters of the recorded tensors in the memory written, for `settle_writes`."""
        self.settle_writes()
        writes = _writes(func.overloadpacket.__name__, bound)
        self.versions_before = {}
        for (argument, value), written in zip(bound, writes):
            if not written:
                continue
            for tensor in _tensors(value):
                # Every recorded tensor in the memory block (its aliases among them), without working out which
                # share elements: `record` does that once, after the op.
                for other in self.in_block.get(_block(tensor), {}).values():
                    self.versions_before[id(other)] = other._version
                if not isinstance(tensor, FakeTensor) \
                        and id(tensor) not in self.saved and _block(tensor) in self.protected:
                    with _disable_current_modes():  # a real copy, also while fake tensors are being traced
                        self.saved[id(tensor)] = (tensor, tensor.detach().clone())

    def restore(self):
        with torch.no_grad():
            for tensor, value in reversed(list(self.saved.values())):  # the first copy of a region is its original
                tensor.copy_(value)
        self.saved.clear()

    # -- what autograd saves -----------------------------------------------------------------------

    def saved_for_backward(self, tensor, caller):
        """Autograd's pack hook: `tensor` is kept for the backward pass. An op's inputs are saved just before
        the op runs, its result (sigmoid, tanh, exp) just after; an in-place op that later overwrites a saved
        tensor makes `backward()` raise "modified by an inplace operation". Only recorded values are noted:
        parameters and buffers (and views of them) are kept aside with their version, and listed only if the
        forward overwrites them in place afterwards (see `overwritten_saves`)."""
        index = self.value_of.get(id(tensor))
        if index is None:
            storage = self.memory.find(tensor)
            if storage is not None:
                self.pending_storage_saves.append((self.storages[storage]["id"], tensor, _version(tensor)))
            return
        value = f"v{index}"
        self.value_saves.append((value, tensor, _version(tensor), len(self.nodes)))
        # Still inside the instruction that ran the latest op: that op saving its result. (An op's inputs are
        # saved before it runs, when the instruction calling it has not yet reached dispatch.)
        if self.nodes and value in self.nodes[-1]["outputs"] and self._in_last_call(caller):
            if value not in self.nodes[-1].setdefault("saves", []):
                self.nodes[-1]["saves"].append(value)
        else:
            self.pending_saves.append(value)

    def _assign_saves(self, node):
        """Gives the pending saves to `node` when it reads them (saved just before it ran), the rest to the
        latest op that made or read them (a result saved just after its op, a custom Function's saves)."""
        def owner(ref):
            if node is not None and ref in node["inputs"]:
                return node
            return next((n for n in reversed(self.nodes) if ref in n["outputs"] or ref in n["inputs"]), None)

        pending, self.pending_saves = self.pending_saves, []
        for value in dict.fromkeys(pending):
            saver = owner(value)
            if saver is not None and value not in saver.setdefault("saves", []):
                saver["saves"].append(value)
        storages, self.pending_storage_saves = self.pending_storage_saves, []
        for ref, tensor, version in storages:
            saver = owner(ref)
            if saver is not None:
                self.storage_saves.append((saver, ref, tensor, version))

    def overwritten_saves(self):
        """What the forward overwrote in place after autograd saved it, found by autograd's own version
        counters: `backward()` raises "modified by an inplace operation" on the same check. A parameter or
        buffer is listed in the `saves` of the op that saved it (`q @ self.queue`, then
        `self.queue[:, :n] = k.T`); writes autograd does not count (BatchNorm's running statistics, `.data`)
        leave it unlisted, as they leave backward working."""
        self._assign_saves(None)
        for owner, ref, tensor, version in self.storage_saves:
            if _version(tensor) != version and ref not in owner.setdefault("saves", []):
                owner["saves"].append(ref)
        self.storage_saves = []
        # A saved value whose memory an in-place op wrote afterwards, though not its own elements (`h[:, 8:] = …`
        # after a Linear read `h[:, :8]`; a loop filling `out[:, t]` after reading `out[:, t - 1]`): autograd
        # counts versions per memory block, not per element, so backward raises all the same. The first op
        # after the save that wrote that block names the value in `overwrites_saved` — unless it wrote the
        # value's own elements, which the trace already shows (the value's new version, made by that op).
        for value, tensor, version, recorded in self.value_saves:
            if _version(tensor) == version:
                continue
            block = _block(tensor)
            if block is None:
                continue  # no storage to compare (a nested or sparse tensor)
            at, written = next(((n, t) for n, b, t in self.block_writes if b == block and n >= recorded), (None, None))
            if at is not None and value not in self.nodes[at]["inputs"] and not _overlap(tensor, written):
                listed = self.nodes[at].setdefault("overwrites_saved", [])
                if value not in listed:
                    listed.append(value)
        self.value_saves, self.block_writes = [], []

    # -- ops ----------------------------------------------------------------------------------------

    def record(self, func, args, bound, out):
        if func.namespace == "prim":
            return  # metadata queries (`prim.device`) that fake tensors answer through dispatch
        if self.regenerating is not None:
            written, self.regenerating = self.regenerating, None
            if self._remade_view(written, out):
                return
        name = func.overloadpacket.__name__
        schema = func._schema
        inputs, writes, written_values, read_bytes, detached = [], [], [], [], []
        grad_on = torch.is_grad_enabled()
        needs_grad = False
        for (argument, value), written in zip(bound, _writes(name, bound)):
            for tensor in _tensors(value):
                needs_grad = needs_grad or tensor.requires_grad
                ref, is_storage = self.operand(tensor)
                if is_storage and grad_on and not tensor.requires_grad and self._trainable(ref):
                    detached.append(len(inputs))  # `head1.weight.detach()`: read, but no gradient goes back
                elif grad_on and not tensor.requires_grad and not is_storage and int(ref[1:]) in self.graded:
                    detached.append(len(inputs))
                elif not grad_on and tensor.requires_grad:
                    # under `torch.no_grad()`: backward never runs through the op (unless an autograd Function's
                    # forward ran it: see `_reopen_function_forward`)
                    detached.append(len(inputs))
                inputs.append(ref)
                if is_storage:
                    read_bytes.append(_memory(tensor)[1:])
                if written:
                    if is_storage:
                        writes.append(ref)
                    else:
                        written_values.append(tensor)
        outputs = []
        for tensor in _tensors(_written_result(schema, bound, out)):
            if self.memory.find(tensor) is not None:
                continue  # a view of a parameter or buffer is that parameter or buffer
            outputs.append(self.new_value(tensor))
        if not outputs and not writes and name in ("t", "transpose", "permute", "expand", "detach", "alias", "view"):
            return  # only reshaped a parameter: the reader of the result reads the parameter itself
        inplace = bool(written_values) or bool(writes and name.endswith("_"))
        op = _canonical(name, args, inputs)
        caller = op_caller(sys._getframe(1))
        self.last_call = (caller, caller.f_lasti if caller else -1)
        attrs = {"aten": str(func), **_arguments(bound)}
        if detached:
            attrs["no_grad_inputs"] = detached
        storages = [ref for ref in inputs if ref.startswith("s")]
        if any(tuple(self.storages[int(ref[1:])]["memory"]["bytes"]) != span for ref, span in zip(storages, read_bytes)):
            attrs["read_bytes"] = [b for span in read_bytes for b in span]
        self.add_node(op, inputs, outputs, writes, inplace, attrs)
        node = len(self.nodes) - 1
        if grad_on and name == "detach" and needs_grad:
            self.cuts.add(node)
        for value in outputs:
            self.made_by[int(value[1:])] = node
            if not grad_on:
                self.gradoff.add(int(value[1:]))
            elif not needs_grad:
                self.gradless.add(int(value[1:]))
            elif name != "detach" and self.values[int(value[1:])]["dtype"].startswith(("float", "complex", "bfloat")):
                self.graded.add(int(value[1:]))
        if not written_values:
            return
        for written in written_values:
            self.block_writes.append((len(self.nodes) - 1, _block(written), written))
        frame = user_frame(sys._getframe(1))
        self.last_inplace = (written_values[0], frame, expression_position(frame), len(self.nodes) - 1)
        if written_values[-1]._is_view():
            self.regenerating = written_values[-1]
        # Writing into a view writes into its base: every other recorded tensor sharing those elements gets a new
        # version, made by the same op, so its later readers read what the op wrote.
        for written in written_values:
            result = f"v{self.value_of[id(written)]}"
            for other in self.aliases(written):
                before = f"v{self.value_of[id(other)]}"
                self.add_node(op, [before, result], [self.new_value(other)], [], True, {"aten": str(func), "through_view": result})
                if id(other) in self.versions_before:
                    self.unsettled.append((self.nodes[-1], other, self.versions_before[id(other)]))

    def settle_writes(self):
        """Marks the writes through a view that autograd did not count on the tensor written into: a write
        through `.data` shares the memory but not the version counter, so backward does not see it and computes
        from the overwritten values instead of raising (`unwatched`). Autograd counts a write after the op
        returns, so each is checked at the next op, and after the forward."""
        for node, alias, version in self.unsettled:
            if alias._version == version:
                node["attrs"]["unwatched"] = True
        self.unsettled.clear()

    def _remade_view(self, written, out):
        """Whether `out` is autograd remaking the history of a view just written in place (on fake tensors it
        replays the view op on the base, in the same call): the same elements of the same memory, made inside
        the instruction that wrote them. It is no op of the model's, and is not recorded."""
        if not isinstance(out, torch.Tensor) or _block(out) != _block(written) or out.shape != written.shape \
                or out.stride() != written.stride() or out.storage_offset() != written.storage_offset():
            return False
        return self._in_last_call(op_caller(sys._getframe(1)))

    def _in_last_call(self, caller):
        """Whether `caller` is still in the instruction that called the latest recorded op (the same C++ call)."""
        frame, instruction = self.last_call
        return caller is not None and caller is frame and caller.f_lasti == instruction

    # -- output -------------------------------------------------------------------------------------

    def remember_custom_call(self, func, args, kwargs):
        """Keeps the first call of each op from outside ATen, for `mark_gradient_free_inputs`."""
        if func.namespace not in ("aten", "prim") and func not in self.custom_calls:
            self.custom_calls[func] = (args, kwargs)

    def mark_gradient_free_inputs(self):
        """Notes, on ops from outside ATen (torchvision's `roi_align`), the inputs their backward gives no
        gradient (`no_grad_inputs`): RoIAlign's boxes choose where to read, as an index does, and
        `autograd.grad` from its result never reaches what computed them. ATen's ops keep such arguments
        integer; these do not say, so each such op is run once more on its first call's arguments, every
        floating-point one made a leaf that requires grad, and autograd is asked which get no gradient.
        (Fake when the trace is; never an op that writes its arguments.)"""
        free = {}
        for func, (args, kwargs) in self.custom_calls.items():
            positions = _gradient_free_positions(func, args, kwargs)
            if positions is not None:
                free[str(func)] = positions
        for node in self.nodes:
            found = free.get(node.get("attrs", {}).get("aten"))
            if found and found[0] == len(node["inputs"]) and found[1]:
                node["attrs"]["no_grad_inputs"] = sorted(set(node["attrs"].get("no_grad_inputs", [])) | set(found[1]))

    def finish(self, inputs, outputs, name, mode):
        self._assign_saves(None)
        self.last_call, self.last_inplace = (None, -1), None  # frames: their locals hold the model and its tensors
        self._calls_through_slots()
        self._holders()
        used = set()
        for node in self.nodes:
            used.update(node["inputs"])
        used.update(outputs)
        # Allocations the kernels made for themselves (empty, zeros) that nothing read.
        self.nodes = [n for n in self.nodes if n["inputs"] or n.get("writes") or any(o in used for o in n["outputs"])]
        return {
            "format": FORMAT, "version": VERSION, "producer": f"graphcheck_torch 0.1.0 (torch {torch.__version__})",
            "model": name, "mode": mode, "saved_tensors": True, "inputs": inputs, "outputs": outputs,
            "modules": self.modules, "storages": self.storages, "values": self.values, "nodes": self.nodes,
        }


def _user_source():
    """`file:line` for a report of the op being recorded (see `frames.source_of`)."""
    return source_of(sys._getframe(3))


TENSORS = ("auto", "fake", "real")


def trace(model, example_inputs, train=True, tensors="auto"):
    """Runs `model` once on `example_inputs` and returns the trace as a dict (the trace JSON).

    `example_inputs`: a tensor, a tuple of positional arguments, or a dict of keyword arguments.
    `tensors`: "fake" runs the forward on fake tensors (shapes and dtypes only: no arithmetic on the inputs,
    no activation memory); "real" runs it on the inputs themselves, for models whose control flow reads
    values; "auto" (the default) tries fake and, when the model cannot run that way, warns and runs real.
    Either way the model is left as it was: parameters and buffers the forward wrote, its mode, and the
    global random generator are put back.
    """
    if tensors not in TENSORS:
        raise ValueError(f"tensors must be one of {', '.join(TENSORS)}, not {tensors!r}")
    model = _uncompiled(model)
    lazy = [name for name, p in model.named_parameters(remove_duplicate=False) if torch.nn.parameter.is_lazy(p)]
    if lazy:
        # Lazy modules (nn.LazyLinear) make their parameters on the first forward: exporting first would
        # either change the model or trace parameters it does not have yet.
        raise ValueError(
            f"{type(model).__name__} has parameters not made yet ({', '.join(lazy[:3])}{', …' if len(lazy) > 3 else ''}): lazy "
            "modules make them on their first forward pass; run the model once on an example batch, then export it")
    inference = [name for named in (model.named_parameters, model.named_buffers) for name, t in named(remove_duplicate=False) if t.is_inference()]
    if inference:
        # Tensors made under `torch.inference_mode()` can never be recorded by autograd, which is what tells a
        # leak between heads from a detached read.
        raise ValueError(
            f"{type(model).__name__} has tensors made under torch.inference_mode() ({', '.join(inference[:3])}{', …' if len(inference) > 3 else ''}): "
            "autograd cannot record what is computed from them; build or load the model outside inference mode "
            "(torch.no_grad() is fine), then export it")
    scripted = _scripted_with_modules_inside(model)
    if scripted == ["the model"]:
        raise ValueError(
            f"{type(model).__name__}: the model is TorchScript (torch.jit.script or torch.jit.trace): its modules run in TorchScript's "
            "interpreter, where no module call can be seen, so no op could be placed in a head; export the Python module it was made "
            "from, before torch.jit.script / torch.jit.trace")
    if scripted:
        warnings.warn(
            f"graphcheck_torch: {', '.join(scripted)} {'is' if len(scripted) == 1 else 'are'} TorchScript: the modules inside run where no "
            "call can be seen, so their ops are placed in the scripted module as one; heads inside it are not told apart (export the "
            "Python module to check them)", stacklevel=caller_stacklevel())
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    if isinstance(example_inputs, dict):
        args, kwargs = (), {k: tree_map(lambda v: _on_model_device(model, v), v) for k, v in example_inputs.items()}
    else:
        args, kwargs = tuple(tree_map(lambda v: _on_model_device(model, v), v) for v in example_inputs), {}
    if tensors == "real" or (tensors == "auto" and _on_meta(model)):
        # A model on the meta device computes nothing already: running it is a fake run without the fake
        # mode's cost per op (a 7B configuration: 0.7 s against 2.3 s).
        return _trace(model, args, kwargs, train, fake=False)
    try:
        with _quiet(FAKE_TENSOR_LOG):
            return _trace(model, args, kwargs, train, fake=True)
    except Exception as error:  # any failure of fake execution
        if tensors == "fake":
            raise
        fake_error = error
    # A model that fails on real tensors too has an error of its own, which is raised as it is; one that runs
    # reads values fake tensors do not have (or uses an op they do not support), which the user is told.
    recorded = _trace(model, args, kwargs, train, fake=False)
    warnings.warn(f"graphcheck_torch: {type(model).__name__} cannot run on fake tensors ({failure_reason(fake_error)}); "
                  "traced it on the real inputs instead, which runs the forward for real", stacklevel=caller_stacklevel())
    return recorded


FAKE_TENSOR_LOG = "torch._subclasses.fake_tensor"


@contextlib.contextmanager
def _quiet(logger_name):
    """torch logs a traceback for every op whose fake kernel fails ("failed while attempting to run meta");
    the fallback's one-line warning says what failed and where, so those lines are dropped meanwhile."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _trace(model, args, kwargs, train, fake):
    state = ModelState(model)  # before `train()`, which sets every module's flag
    caches = lru_cache_misses() if fake else None
    rng = torch.random.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    model.train(train)
    recorder = _Trace(model)
    # Every tensor the forward is given is an input, also inside lists, tuples and dicts (a detection model's
    # list of images, its targets): what the model computes from them is what its heads compute.
    flat, spec = tree_flatten((args, kwargs))
    if any(isinstance(v, torch.Tensor) and v.is_inference() for v in flat):
        # Made under `torch.inference_mode()`: autograd may not save such a tensor, so the forward runs on a normal
        # copy of it (the user's tensor is not written either).
        with torch.inference_mode(False):
            copies = {id(v): v.clone() for v in flat if isinstance(v, torch.Tensor) and v.is_inference()}
        flat = [copies.get(id(v), v) if isinstance(v, torch.Tensor) else v for v in flat]
        args, kwargs = tree_unflatten(flat, spec)
    given = list({id(v): v for v in flat if isinstance(v, torch.Tensor)}.values())
    recorder.protect([t for _, _, t in _named_tensors(model, recorder.memory.unregistered, recorder.memory.loose)] + given)
    fake_mode = FakeTensorMode(allow_non_fake_inputs=True) if fake else None
    if fake_mode is not None:
        # The inputs become fake up front, so in-place ops on them write the fake copies, and every later
        # reader reads the tensor the recorder knows.
        fake_of = {id(t): fake_mode.from_tensor(t) for t in given}
        args, kwargs = tree_unflatten([fake_of.get(id(v), v) if isinstance(v, torch.Tensor) else v for v in flat], spec)
        given = [fake_of[id(t)] for t in given]
        recorder.memory.add_fake(fake_mode)
    inputs = [recorder.new_value(t) for t in given]
    pre = torch.nn.modules.module.register_module_forward_pre_hook(lambda m, a: recorder.enter(m, a))
    # A module's own forward hooks run after the global ones, and what they compute (a hook that edits the
    # module's result) is that module's call: a module with hooks of its own leaves from one appended after them.
    own = {id(m): m.register_forward_hook(lambda m, a, o: recorder.leave()) for m in model.modules() if m._forward_hooks}
    post = torch.nn.modules.module.register_module_forward_hook(lambda m, a, o: None if id(m) in own else recorder.leave())
    # Autograd runs as in training, and what it saves for backward is recorded: which tensor an in-place op must
    # not overwrite. In eval mode too: backward breaks the same way there (fine-tuning with frozen BatchNorm).
    try:
        # TorchScript's optimizing executor runs a scripted module or function, from its second call on, as one
        # differentiable graph: its ops see detached copies of their inputs while the gradient flows around
        # them, so they would record `detach` where autograd does not stop (a leak through a scripted head,
        # missed). Unoptimized, the interpreter runs each op on the tensors autograd sees.
        # Under the caller's `torch.inference_mode()` autograd records nothing (a leak between heads would pass):
        # it is turned off as `no_grad()` is.
        with torch.inference_mode(False), torch.enable_grad(), torch.jit.optimized_execution(False), \
                torch.autograd.graph.saved_tensors_hooks(*_saving_hooks(recorder)):
            if fake_mode is not None:
                with fake_mode, _Recorder(recorder, fake=True):
                    out = model(*args, **kwargs)
            else:
                with _Recorder(recorder):
                    out = model(*args, **kwargs)
            recorder.settle_writes()
            recorder.overwritten_saves()  # before `restore` writes them back
            # Unrecorded, and before the random state is put back (an op run again may draw from it).
            with fake_mode if fake_mode is not None else contextlib.nullcontext():
                recorder.mark_gradient_free_inputs()
    finally:
        pre.remove()
        post.remove()
        for handle in own.values():
            handle.remove()
        recorder.restore()
        state.restore()
        if caches is not None:
            clear_caches_filled_since(caches)
        torch.random.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
    outputs = []
    for tensor in tree_flatten(out)[0]:
        if isinstance(tensor, torch.Tensor):
            ref, is_storage = recorder.operand(tensor)
            if not is_storage:
                outputs.append(ref)
    return recorder.finish(inputs, outputs, type(model).__name__, "train" if train else "eval")


def _scripted_with_modules_inside(model):
    """The outermost TorchScript modules holding modules with parameters or buffers (the model itself: "the
    model"): the forward hooks that place each op in its module are not called inside TorchScript, so their ops
    are placed in the scripted module. A scripted module without such children is one module anyway."""
    found = []
    for name, module in model.named_modules(remove_duplicate=False):
        if not isinstance(module, torch.jit.ScriptModule) or any(name.startswith(f + ".") or f == "" for f in found):
            continue
        if any(any(True for _ in child.parameters()) or any(True for _ in child.buffers()) for child in module.children()):
            found.append(name)
    return [name or "the model" for name in found]


def _uncompiled(model):
    """The module `torch.compile(model)` wraps: its forward is the user's, its names are the ones they wrote
    (`head1`, not `_orig_mod.head1`), and tracing it does not ask dynamo to compile anything."""
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")  # not imported: nothing was compiled
    wrapper = getattr(eval_frame, "OptimizedModule", None)
    while wrapper is not None and isinstance(model, wrapper):
        model = model._orig_mod
    return model


def _saving_hooks(recorder):
    """Autograd's pack and unpack hooks while tracing. Autograd's graph keeps what pack returns and the hooks
    themselves, so neither may hold what the trace made: an op's result saved by that op, returned as is,
    would be a cycle through C++ that Python's collector cannot see, and the graph would keep the recorder,
    every tensor it recorded and the model alive after the export (memory growing with each export in one
    process). Pack returns a detached alias (same elements, no history) and reaches the recorder weakly."""
    ref = weakref.ref(recorder)

    def pack(tensor):
        trace = ref()
        if trace is not None:
            trace.saved_for_backward(tensor, sys._getframe(1))
        with _disable_current_modes():  # not an op of the model
            return tensor.detach()

    return pack, _unpack


def _unpack(tensor):
    return tensor


def _on_model_device(model, value):
    """An input moved to the meta device when the whole model is there (built under `torch.device("meta")`
    to be inspected without allocating it); anything else as given."""
    if not isinstance(value, torch.Tensor) or value.is_meta:
        return value
    return value.to("meta") if _on_meta(model) else value


def _on_meta(model):
    """Whether every parameter and buffer of the model is on the meta device."""
    tensors = list(model.parameters()) + list(model.buffers())
    return bool(tensors) and all(t.is_meta for t in tensors)


def failure_reason(error):
    """What failed and where in the user's code: the exception's first line and the innermost user frame."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    where = ""
    for frame, line in reversed(list(traceback.walk_tb(error.__traceback__))):
        if user_frame(frame) is frame:
            where = f" at {os.path.relpath(frame.f_code.co_filename)}:{line}"
            break
    return f"{type(error).__name__}{': ' + message[:200] if message else ''}{where}"


def dumps(trace_dict):
    """Trace JSON with one module, storage, value or node per line."""
    lines = ["{"]
    scalars = [k for k in ("format", "version", "producer", "model", "mode", "saved_tensors", "inputs", "outputs") if k in trace_dict]
    for key in scalars:
        lines.append(f"  {json.dumps(key)}: {json.dumps(trace_dict[key], ensure_ascii=False)},")
    lists = ["modules", "storages", "values", "nodes"]
    for n, key in enumerate(lists):
        items = trace_dict[key]
        tail = "," if n < len(lists) - 1 else ""
        if not items:
            lines.append(f"  {json.dumps(key)}: []{tail}")
            continue
        lines.append(f"  {json.dumps(key)}: [")
        lines.extend("    " + json.dumps(item, ensure_ascii=False) + ("," if i < len(items) - 1 else "") for i, item in enumerate(items))
        lines.append(f"  ]{tail}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export(model, example_inputs, path, train=True, tensors="auto"):
    """Traces `model` on `example_inputs` and writes the trace JSON to `path` (atomically).

    The folder is checked before tracing: a trace can take minutes, and the error should name the
    user's path, not the temporary file beside it."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path}: the folder {directory} does not exist")
    text = dumps(trace(model, example_inputs, train=train, tensors=tensors))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path
