"""The module call stack of a forward being traced: which module each op's call site is, by the path a user
would write (`heads.a`, not the path a shared object was first registered under), modules made during the
forward, and calls through container slots. A part of the trace (`exporter._Trace`), kept apart for size."""
import sys

import torch

from .frames import expression_position, expression_within, user_frame
from .memory import _block
from .members import _called_between
from .op_arguments import _holds


class ModuleCalls:
    """The trace's methods for module calls; the state they keep (`stack`, `called`, `open_calls`, ...) is made in
    `_Trace.__init__`."""

    def enter(self, module, args=()):
        self.called.add(id(module))
        if isinstance(module, torch.jit.ScriptModule):
            # Its modules run inside TorchScript, where no call is seen: called all the same, so an op reading
            # their parameters stays in this module rather than being given to the first that holds them (`_holders`):
            # one layer called from two of its heads would otherwise be all in the first.
            self.called.update(id(m) for m in module.modules())
        path = self._path(module)
        self._mark_argument(path, args)
        self.stack.append((path, module, {}))
        self.open_calls.append(self._log_slot_call(module, path))

    def _log_slot_call(self, module, path):
        """Calls of a module that is a direct attribute and also in every slot of a container (`self.head = h;
        self.heads = nn.ModuleList([h] * 3)`), logged so `finish` can tell which name each call came through."""
        if len(self.stack) < 2:
            return None
        parent_path, parent, _ = self.stack[-2]
        if id(module) not in self.also_held.get(id(parent), {}):
            return None
        self.slot_calls.append([id(parent), id(module), parent_path, path, len(self.nodes), None])
        return len(self.slot_calls) - 1

    def _mark_argument(self, path, args):
        """`self.head1(F.relu_(t))`: an in-place op written as the argument of a module call (inside the call's
        parentheses, in the same frame) belongs to that call (its `argument_of`), although it runs in the
        caller; another head reading `t` afterwards sees the overwritten values. A statement before it on the
        same line (`t = F.relu(t, inplace=True); a = self.head1(t)`) is no argument."""
        if self.last_inplace is None:
            return
        tensor, frame, position, index = self.last_inplace
        if not _holds(args, tensor):
            return
        caller = user_frame(sys._getframe(1))
        if caller is frame and expression_within(position, expression_position(caller)):
            self.nodes[index].setdefault("attrs", {}).setdefault("argument_of", path)
        self.last_inplace = None

    def _path(self, module):
        if not self.stack:
            path = "" if module is self.model else self.first_name.get(id(module), type(module).__name__)
        else:
            parent_path, parent, calls = self.stack[-1]
            if id(parent) in self.transient and id(module) in self.first_name:
                # A child of a container made on the fly around the model's own layers (`self.net[:-1](x)` slices
                # `net` into a new Sequential): the layer is the model's, and keeps its name in the container it
                # was cut from (`net.0`) — not the first name of a layer one object with another's (`head[:2]`
                # whose first Linear is also `answer_head.0`).
                source = self.transient_source.get(id(parent))
                if source is not None:
                    source_path, container = source
                    key = next((k for k, child in container._modules.items() if child is module), None)
                    if key is not None:
                        return f"{source_path}.{key}" if source_path else key
                return self.first_name[id(module)]
            names = self._held_by_caller(module, parent) or self.names_under(parent).get(id(module))
            if not names and any(child is module for child in parent._modules.values()):
                self.children.pop(id(parent), None)  # assigned by this forward before the call (built lazily)
                names = self.names_under(parent).get(id(module))
            if not names and id(module) not in self.first_name and self._made_here(module):
                path = self._adopt(module, parent_path)
            elif not names:  # called from a module that does not own it: fall back to its own first name
                path = self.first_name.get(id(module))
                if path is None:
                    path = type(module).__name__
                    self.transient.add(id(module))
                    self.transients.append(module)
                    self.transient_source[id(module)] = self._cut_from(module)
            else:
                # One object held under several names of the caller (`self.a = self.b = m`, or one head in
                # every slot of a ModuleList): the n-th call takes the n-th name, as a loop over them would.
                n = calls.get(id(module), 0)
                calls[id(module)] = n + 1
                name = names[n % len(names)]
                path = f"{parent_path}.{name}" if parent_path else name
        return path

    def _cut_from(self, transient):
        """The model's container (path, module) holding every child of `transient`, a container made on the fly
        (`self.head[:2]`): by the children's keys as well where several hold them all (a slice keeps its keys).
        None when no container or none alone fits."""
        children = list(transient._modules.items())
        if not children:
            return None
        if self.containers is None:
            self.containers = [(path, m) for path, m in self.model.named_modules(remove_duplicate=False) if m._modules]
        holders = [(path, m) for path, m in self.containers
                   if all(any(child is held for held in m._modules.values()) for _, child in children)]
        if len(holders) > 1:
            holders = [(path, m) for path, m in holders if all(m._modules.get(k) is child for k, child in children)]
        objects = {id(m) for _, m in holders}
        return holders[0] if len(objects) == 1 else None

    def _held_by_caller(self, module, parent):
        """`module`'s name below `parent` through the module whose method calls it, when that is a descendant of
        `parent` called through a method other than its forward (`self.m.forward_head(f)` from the model: the
        classifier it calls is `m.classifier`, even when the model also holds that object as `aux`). The caller is
        told by its code object among the holder's methods: reading a frame's locals would keep them alive."""
        held = self.holders.get(id(module), ())
        if all(holder is parent for holder, _ in held):
            return None  # the usual call: from the forward of the one module holding it
        caller = user_frame(sys._getframe(2))
        if caller is None:
            return None
        code = caller.f_code
        # Up the modules holding it (`m.head` holds `fc`, `m` holds `head`: timm's `m.forward_head` calls `m.head.fc`).
        frontier = list(held)
        for _ in range(8):
            wider = []
            for holder, name in frontier:
                if holder is parent:
                    continue
                if any(getattr(vars(k).get(code.co_name), "__code__", None) is code for k in type(holder).__mro__):
                    above = self.names_under(parent).get(id(holder))
                    if above:
                        return [f"{above[0]}.{name}"]
                wider += [(outer, f"{attribute}.{name}") for outer, attribute in self.holders.get(id(holder), ())]
            frontier = wider
        return None

    def _made_here(self, module):
        """Whether `module`'s parameters were made by ops of this forward (`head = nn.Linear(16, 4)` written in
        it): its weights made anew on every call, which no optimizer sees."""
        blocks = [_block(p) for p in module.parameters()]
        return bool(blocks) and all(b is not None and b in self.in_block for b in blocks)

    def _adopt(self, module, parent_path):
        """A module made in the forward, named after the caller's variable that holds it (`head2`, under the
        caller's path), listed as unregistered and made in the forward, and its parameters and buffers
        storages like the model's own: so its ops are a module's, and its weights tensors, not constants."""
        frame = user_frame(sys._getframe(2))
        local = next((k for k, v in frame.f_locals.items() if v is module and k != "self"), None) if frame is not None else None
        base = f"{parent_path}.{local or type(module).__name__}" if parent_path else local or type(module).__name__
        taken = {m["path"] for m in self.modules}
        path, k = base, 1
        while path in taken:
            path, k = f"{base}_{k}", k + 1
        for sub_path, sub in module.named_modules(prefix=path, remove_duplicate=False):
            self.first_name.setdefault(id(sub), sub_path)
            instance = self.instances.setdefault(id(sub), f"m{len(self.instances)}")
            self.modules.append({"path": sub_path, "type": type(sub).__name__, "instance": instance, "registered": False,
                                 "made_in_forward": True})
        for kind, named in (("parameter", module.named_parameters), ("buffer", module.named_buffers)):
            for name, tensor in named(prefix=path, remove_duplicate=False):
                self.memory.add(kind, name, tensor)
        return path

    def names_under(self, parent):
        """id(module) -> every relative path it has below `parent`: direct attributes first, then
        modules reached through containers that are never called themselves (ModuleList, ModuleDict)."""
        names = self.children.get(id(parent))
        if names is None:
            names = {}
            for name, child in parent._modules.items():
                if child is not None:
                    names.setdefault(id(child), []).append(name)
            direct = set(names)
            containers = {id(c) for c in parent._modules.values() if isinstance(c, (torch.nn.ModuleList, torch.nn.ModuleDict))}
            for name, child in parent.named_modules(remove_duplicate=False):
                if "." in name and id(child) not in direct:
                    names.setdefault(id(child), []).append(name)
                elif name.count(".") == 1 and id(child) in direct and id(parent._modules[name.split(".")[0]]) in containers:
                    self.also_held.setdefault(id(parent), {}).setdefault(id(child), []).append(name)
            for name, child in self.unregistered.get(id(parent), ()):
                names.setdefault(id(child), []).append(name)
            for key, held in names.items():
                if len(held) > 1:
                    names[key] = sorted(held, key=lambda name: _called_between(parent, name))
            self.children[id(parent)] = names
        return names

    def leave(self):
        if self.stack:
            self.stack.pop()
            logged = self.open_calls.pop()
            if logged is not None:
                self.slot_calls[logged][5] = len(self.nodes)

    def _calls_through_slots(self):
        """A module called once per slot of a container that holds it in two or more slots, all under its
        direct name: the calls came through the container (`for h in self.heads`), so the i-th call's ops take the
        i-th slot's path, as they would for a module held only there."""
        calls = {}
        for entry in self.slot_calls:
            calls.setdefault((entry[0], entry[1]), []).append(entry)
        for (parent, module), made in calls.items():
            slots = self.also_held[parent][module]
            if len(slots) < 2 or len(made) != len(slots) or len({entry[3] for entry in made}) != 1:
                continue
            for (_, _, parent_path, path, start, end), slot in zip(made, slots):
                new = f"{parent_path}.{slot}" if parent_path else slot
                for node in self.nodes[start:end]:
                    if node["module"] == path or node["module"].startswith(path + "."):
                        node["module"] = new + node["module"][len(path):]

    # -- values -------------------------------------------------------------------------------------

    def _holders(self):
        """An op of a module reading a parameter of a submodule that is never called (a cosine classifier's
        `F.normalize(self.head1.weight)`, `F.linear(t, self.head1.weight)`, prototypes kept in a bare
        `nn.Module`) is that submodule's computation, as if it had been called: per-head weights used this
        way are heads like called ones. A module that is called (an embedding whose weight the output layer
        also reads, tied) keeps its ops where they ran."""
        uncalled = {}
        for index, owners in self.held.items():
            first = next(((path, kind) for path, kind, key in owners if key not in self.called and index not in self.slots), None)
            if first is not None:
                uncalled[f"s{index}"] = first
        if not uncalled:
            return
        # What the submodule's call would have held: the ops computing from its parameters alone (the weight
        # normalized), and the first op that applies them to anything else (the product with the features).
        made = {}  # value -> the submodule whose parameters alone made it
        for node in self.nodes:
            owners = {uncalled.get(ref) or made.get(ref) for ref in node["inputs"]} - {None}
            if len(owners) != 1:
                continue
            owner = owners.pop()
            if node["module"] and not owner[0].startswith(node["module"] + "."):
                continue
            node["module"], node["module_type"] = owner
            if all(ref in uncalled or ref in made for ref in node["inputs"]):
                for ref in node["outputs"]:
                    made[ref] = owner
