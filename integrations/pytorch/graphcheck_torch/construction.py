"""Where the model's submodules were assigned while it was built (`self.branch2 = features[-2:]`): the line a
report points at for sharing, since that line, not the forward call, is what made two heads one."""
import contextlib
import sys
import weakref

import torch

# parent module -> {attribute name: "file:line"} of the latest assignment of a module to that attribute.
_ASSIGNED = weakref.WeakKeyDictionary()
_active = 0


def _recording_setattr(original, source_of):
    def setattr_(module, name, value):
        if isinstance(value, torch.nn.Module):
            source = source_of(sys._getframe(1))
            if source:
                try:
                    _ASSIGNED.setdefault(module, {})[name] = source
                except TypeError:  # a module that cannot be weakly referenced is not recorded
                    pass
        original(module, name, value)
    return setattr_


@contextlib.contextmanager
def recording():
    """Records module assignments made inside the block (the model's construction). Nothing is stored on
    the modules themselves; the record is dropped with them."""
    global _active
    from .frames import source_of
    original = torch.nn.Module.__setattr__
    outermost = _active == 0
    if outermost:
        torch.nn.Module.__setattr__ = _recording_setattr(original, source_of)
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if outermost:
            torch.nn.Module.__setattr__ = original


def assigned(parent, name):
    """`file:line` where a module was assigned to `parent.name` inside `recording()`, or None."""
    try:
        return _ASSIGNED.get(parent, {}).get(name)
    except TypeError:
        return None
