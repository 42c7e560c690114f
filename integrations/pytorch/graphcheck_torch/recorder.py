"""The dispatch mode that hands every op of the forward to the trace, computing on fake tensors where asked
(with the shortcuts that keep fake tracing fast and buffers' identity as in a real run)."""
import torch
from torch._subclasses.fake_tensor import FakeTensor
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

from .memory import _dense
from .op_arguments import _bound, _tensors


_NATIVE_BATCH_NORM = torch.ops.aten.native_batch_norm.default


def _fake_batch_norm(func, args, kwargs):
    """native_batch_norm's results as the CPU kernel makes them (the output laid out like the input; the saved
    mean and inverse deviation of the input's dtype, one per channel in training, empty otherwise), made
    directly: fake tensor mode's batch norm is a Python decomposition that took two thirds of fake tracing
    time on DenseNet. The trace-mode comparison test holds it to the real kernel, op for op. None when the
    case is not that plain one (not CPU, not densely laid out)."""
    if func is not _NATIVE_BATCH_NORM or kwargs or len(args) < 6:
        return None
    x, training = args[0], args[5]
    if not isinstance(x, FakeTensor) or x.device.type != "cpu" or x.dim() < 2 or not _dense(x):
        return None
    channels = x.shape[1] if training else 0
    return torch.empty_like(x), x.new_empty((channels,)), x.new_empty((channels,))


def _real_scalars(bound):
    """Whether an op reads only real one-element tensors (`num_batches_tracked.add_(1)`): fake tensor mode
    would compute it for real anyway, then wrap the result in a new fake; computing it directly keeps the
    buffer's identity, as in a real trace (the buffer is put back afterwards)."""
    tensors = [t for _, value in bound for t in _tensors(value)]
    return bool(tensors) and all(not isinstance(t, FakeTensor) and t.numel() <= 1 for t in tensors)


class _Recorder(TorchDispatchMode):
    def __init__(self, trace, fake=False):
        super().__init__()
        self.trace = trace
        self.fake = fake

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        bound = _bound(func._schema, args, kwargs)
        self.trace.save_before_write(func, bound)
        out = None
        if self.fake:
            if _real_scalars(bound):
                with _disable_current_modes():
                    out = func(*args, **kwargs)
            else:
                out = _fake_batch_norm(func, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        self.trace.record(func, args, bound, out)
        self.trace.remember_custom_call(func, args, kwargs)
        return out
