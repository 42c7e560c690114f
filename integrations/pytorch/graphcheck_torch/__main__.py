"""python -m graphcheck_torch MODULE:FACTORY --input 2x3x224x224 -o model.json

Imports MODULE, calls FACTORY() to build the model, runs it on random inputs of the given shapes and
writes the trace JSON. By default the forward runs on fake tensors: the batch size costs neither time nor
memory.

An --input is [NAME=]SHAPE[:DTYPE]: `2x3x224x224`, `2x16:int64` (token ids), `attention_mask=2x16:int64`
(a keyword argument). Every problem is reported in one line naming what to change (exit 2).
"""
import argparse
import importlib
import inspect
import os
import sys
import threading
import time
import warnings

import torch

from . import construction
from .exporter import TENSORS, export, failure_reason


class _Input:
    def __init__(self, text):
        self.text = text
        name, equals, rest = text.rpartition("=")
        self.name = name if equals else None
        shape, _, dtype = rest.partition(":")
        try:
            self.shape = [int(d) for d in shape.lower().split("x")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not [NAME=]SHAPE[:DTYPE] like 2x3x224x224 or ids=2x16:int64")
        if not self.shape or any(d <= 0 for d in self.shape) or (self.name is not None and not self.name.isidentifier()):
            raise argparse.ArgumentTypeError(f"'{text}' is not [NAME=]SHAPE[:DTYPE] like 2x3x224x224 or ids=2x16:int64")
        self.dtype = dtype or None

    def tensor(self, default_dtype):
        dtype = _dtype(self.dtype or default_dtype)
        if dtype.is_floating_point or dtype.is_complex:
            return torch.randn(self.shape, dtype=dtype)
        if dtype == torch.bool:
            return torch.ones(self.shape, dtype=dtype)
        return torch.randint(0, 2, self.shape, dtype=dtype)  # token ids and masks: 0 and 1 are valid everywhere


def _dtype(name):
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise argparse.ArgumentTypeError(f"unknown dtype '{name}' (float32, float16, bfloat16, int64, bool, …)")
    return dtype


def _check_arity(model, positional, keywords):
    """The forward's own signature against the --input options, before anything runs."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*positional, **keywords)
    except TypeError as error:
        names = [p.name for p in signature.parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
        return (f"{type(model).__name__}.forward{signature} does not take these inputs ({error}); give one --input per "
                f"argument{' (' + ', '.join(names) + ')' if names else ''}, NAME=SHAPE for a keyword argument")
    return None


def _hint(error):
    text = str(error)
    if "Expected more than 1 value per channel when training" in text:
        return "; a batch of 1 cannot be normalised in training mode: give a batch of at least 2, or --eval"
    if "to have" in text and "channels" in text:
        return "; the input's second dimension is its channel count"
    return ""


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m graphcheck_torch", description=__doc__.split("\n\n")[1],
                                     epilog=__doc__.split("\n\n")[2])
    parser.add_argument("factory", help="MODULE:FACTORY, e.g. mypackage.models:build_model")
    parser.add_argument("--input", type=_Input, action="append", required=True,
                        help="an input: [NAME=]SHAPE[:DTYPE] (repeatable, in the forward's order)")
    parser.add_argument("--dtype", default="float32", help="dtype of inputs that name none (default float32)")
    parser.add_argument("--eval", action="store_true", help="trace in eval mode (default: training mode)")
    parser.add_argument("--tensors", choices=TENSORS, default="auto",
                        help="fake: no arithmetic runs; real: the forward runs on the inputs; auto (default): fake, "
                             "or real with a warning when the model reads values")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, help="where to write the trace JSON")
    args = parser.parse_args(argv)

    def fail(message):
        parser.exit(2, f"graphcheck_torch: error: {message}\n")

    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        fail(f"cannot write {args.output}: the folder {folder} does not exist")
    try:
        _dtype(args.dtype)
        for given in args.input:
            if given.dtype:
                _dtype(given.dtype)
    except argparse.ArgumentTypeError as error:
        fail(str(error))
    module_name, _, factory_name = args.factory.partition(":")
    if not factory_name:
        parser.error("the model is given as MODULE:FACTORY")
    sys.path.insert(0, os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as error:
        fail(f"cannot load {args.factory}: {error}")
    try:
        with construction.recording():  # so a report can point at the line that assigned a shared module
            model = factory()
    except Exception as error:
        fail(f"{args.factory}() failed: {failure_reason(error)}")
    if not isinstance(model, torch.nn.Module):
        fail(f"{args.factory}() returned {type(model).__name__}, not an nn.Module")
    torch.manual_seed(args.seed)
    positional = [given.tensor(args.dtype) for given in args.input if given.name is None]
    keywords = {given.name: given.tensor(args.dtype) for given in args.input if given.name is not None}
    if positional and keywords:
        fail("give the inputs all by position or all by NAME=, not both")
    problem = _check_arity(model, positional, keywords)
    if problem:
        fail(problem)
    # Progress on stderr for an export that takes more than a second.
    started = time.monotonic()
    notice = threading.Timer(1.0, lambda: print(f"graphcheck_torch: tracing {type(model).__name__} "
                                                f"({'real' if args.tensors == 'real' else 'fake'} tensors)…", file=sys.stderr, flush=True))
    notice.daemon = True
    notice.start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            export(model, keywords or tuple(positional), args.output, train=not args.eval, tensors=args.tensors)
        except Exception as error:
            notice.cancel()
            shapes = ", ".join(given.text for given in args.input)
            fail(f"{type(model).__name__}'s forward failed on {shapes} ({'eval' if args.eval else 'training'} mode): "
                 f"{failure_reason(error)}{_hint(error)}")
    notice.cancel()
    for warning in caught:
        if str(warning.message).startswith("graphcheck_torch: "):
            print(f"graphcheck_torch: warning: {str(warning.message)[len('graphcheck_torch: '):]}", file=sys.stderr)
    elapsed = time.monotonic() - started
    print(f"graphcheck_torch: wrote {args.output}" + (f" in {elapsed:.1f} s" if elapsed >= 1 else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
