"""What a forward pass changes in Python objects rather than in tensors, put back after a trace.

A forward may keep what it computed: an attribute filled on the first call (`if self.anchors is None:
self.anchors = ...`), a buffer replaced (`self.inv_freq = ...`), a dict of hooked features, the per-module
`training` flags, or an `functools.lru_cache` around a method that builds position embeddings (RT-DETR and
D-FINE in transformers). After a trace on fake tensors every one of these would hold a fake tensor, and the
user's next real forward would return fake tensors or fail; after a real trace the model would still not be
as it was. The tensors' own contents are put back by the recorder (`save_before_write`).
"""
import functools
import gc

# Attribute containers whose items a forward may add or replace in place (a module's `_buffers`, a dict of
# features); compared item by item by identity, since tensors have no plain equality.
_CONTAINERS = (dict, list, set)
_MISSING = object()


class ModelState:
    """Each module's attributes as they are now, and the items of its dicts, lists and sets."""

    def __init__(self, model):
        self._modules = []
        for module in model.modules():
            attributes = dict(module.__dict__)
            items = {k: _items(v) for k, v in attributes.items() if isinstance(v, _CONTAINERS)}
            self._modules.append((module, attributes, items))

    def restore(self):
        for module, attributes, items in self._modules:
            current = module.__dict__
            for key in [k for k in current if k not in attributes]:
                del current[key]
            for key, value in attributes.items():
                if current.get(key, _MISSING) is not value:
                    current[key] = value
            for key, before in items.items():
                _put_back(attributes[key], before)
        self._modules = []


def _items(container):
    if isinstance(container, dict):
        return list(container.items())
    return list(container)


def _put_back(container, before):
    if isinstance(container, dict):
        if len(container) != len(before) or any(container.get(k, _MISSING) is not v for k, v in before):
            container.clear()
            container.update(before)
    elif isinstance(container, list):
        if len(container) != len(before) or any(a is not b for a, b in zip(container, before)):
            container[:] = before
    elif container != set(before):
        container.clear()
        container.update(before)


# torch's and sympy's own caches hold dtypes, shapes and symbols, never a model's tensors; keeping them warm
# keeps the next trace fast.
_LIBRARY_CACHES = ("torch", "sympy")


def lru_cache_misses():
    """Every `functools.lru_cache` in the process with how many results it has computed so far."""
    return {id(f): (f, f.cache_info().misses) for f in gc.get_objects() if type(f) is functools._lru_cache_wrapper}


def clear_caches_filled_since(before):
    """Empties the caches that computed a result since `before` (`lru_cache_misses()`): on a fake trace those
    results may be fake tensors. A cache only saves work, so emptying one changes no result."""
    for f in gc.get_objects():
        if type(f) is not functools._lru_cache_wrapper:
            continue
        if (getattr(f, "__module__", None) or "").split(".")[0] in _LIBRARY_CACHES:
            continue
        old = before.get(id(f))
        if old is None or old[0] is not f or f.cache_info().misses > old[1]:
            if f.cache_info().currsize:
                f.cache_clear()
