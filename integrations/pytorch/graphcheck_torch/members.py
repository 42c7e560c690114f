"""What a model holds: its parameters and buffers by every name, the modules and parameters it holds where
nn.Module does not register them, and the weights it declares tied."""
import torch


_MODULE_STATE = frozenset(vars(torch.nn.Module()))  # nn.Module's own bookkeeping attributes


def unregistered_members(model):
    """(holder, name relative to it, value) for each module and each bare nn.Parameter the model holds where
    nn.Module does not register it: in a plain Python list, tuple or dict (`self.heads = [nn.Linear(16, 2) for
    _ in range(3)]`, `self.w = [nn.Parameter(torch.randn(16, 2)) for _ in range(3)]`), or as a class attribute
    (`proj = nn.Linear(16, 16)` in the class body: one object for every instance). Their parameters are not the
    model's (`parameters()`, `state_dict()` and `.to()` miss them), yet the forward uses them. One object in
    several slots (`[head] * 3`, a class attribute of two heads) is listed under each. A parameter the model
    registers is not: a list of the model's own parameters (`self.keep = list(self.parameters())`, what
    DistributedDataParallel holds as `_module_parameters`) is a reference to them, not a name, and naming every
    parameter outside the heads too made each one the trunk's, so a leak between the heads passed."""
    registered = {id(m) for m in model.modules()} | {id(p) for p in model.parameters()}

    def taken(value):
        return isinstance(value, (torch.nn.Parameter, torch.nn.Module)) and id(value) not in registered

    found = []
    in_class_body = {}  # class -> its (and its bases') attributes that are modules or tensors or hold some
    for holder in model.modules():
        cls = type(holder)
        if cls not in in_class_body:
            in_class_body[cls] = {}
            for base in cls.__mro__:
                if base is torch.nn.Module:
                    break
                for attribute, value in vars(base).items():
                    if isinstance(value, (torch.nn.Module, torch.Tensor, list, tuple, dict)) and not attribute.startswith("__"):
                        in_class_body[cls].setdefault(attribute, value)
        attributes = dict(vars(holder))
        for attribute, value in in_class_body[cls].items():
            attributes.setdefault(attribute, value)
        for attribute, value in attributes.items():
            if attribute in _MODULE_STATE:
                continue
            if isinstance(value, (torch.nn.Module, torch.Tensor)):
                if taken(value):
                    found.append((holder, attribute, value))
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
            for key, item in items:
                if taken(item):
                    found.append((holder, f"{attribute}.{key}", item))
    return found


def _called_between(parent, name):
    """How many modules a call from `parent` to its descendant `name` would pass that have a forward of their
    own (not ModuleList / ModuleDict). One object under two names (`self.heads["b"]["b2"] = self.heads["a"][2]`),
    called from `parent`: the name through containers only is the one written at the call, the other is
    reached by calling the module that holds it (`heads.a`)."""
    module, count = parent, 0
    for part in name.split(".")[:-1]:
        module = module._modules.get(part)
        if module is None:
            return 0
        count += not isinstance(module, (torch.nn.ModuleList, torch.nn.ModuleDict))
    return count


def _named_tensors(model, unregistered, loose=()):
    """(kind, name, tensor) for every parameter, then every buffer, of the model and of the modules it holds
    without registering them (`unregistered`: (full path, module) pairs), the parameters it holds bare without
    registering them (`loose`: (full name, parameter) pairs) after the others."""
    for kind in ("parameter", "buffer"):
        modules = [("", model)] + [(path, module) for path, module in unregistered]
        for prefix, module in modules:
            named = module.named_parameters if kind == "parameter" else module.named_buffers
            for name, tensor in named(prefix=prefix, remove_duplicate=False):
                yield kind, name, tensor
        if kind == "parameter":
            for name, tensor in loose:
                yield kind, name, tensor


def declared_ties(model):
    """Weights the model itself declares tied — Hugging Face's `_tied_weights_keys` (`{tied: source}`, resolved
    in `all_tied_weights_keys` by transformers 5; a list of tied names before, whose source is the input
    embedding when `config.tie_word_embeddings`) — as (tied, source) name pairs, kept only where the two
    really are one tensor. Such sharing is intended: the trace marks the tensor `declared`, which graphcheck
    takes as declared intended (as with --allow-shared), and the pytest helper lists the pairs in its report."""
    keys = getattr(model, "all_tied_weights_keys", None) or getattr(model, "_tied_weights_keys", None)
    if not keys:
        return []
    if isinstance(keys, dict):
        pairs = list(keys.items())
    else:
        config = getattr(model, "config", None)
        embedding = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
        if not (config is not None and getattr(config, "tie_word_embeddings", False) and embedding is not None):
            return []
        source = next((f"{name}.weight" for name, module in model.named_modules() if module is embedding), None)
        pairs = [(key, source) for key in keys] if source else []
    parameters = dict(model.named_parameters(remove_duplicate=False))
    return [(tied, source) for tied, source in pairs
            if tied in parameters and source in parameters
            and parameters[tied].untyped_storage()._cdata == parameters[source].untyped_storage()._cdata]
