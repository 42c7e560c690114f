"""python -m graphcheck_torch MODULE:FACTORY --input 2x3x224x224 -o model.json

Imports MODULE, calls FACTORY() to build the model, runs it on random inputs of the given shapes and
writes the trace JSON.
"""
import argparse
import importlib
import os
import sys

import torch

from .exporter import export


def _shape(text):
    try:
        dims = [int(d) for d in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape like 2x3x224x224")
    if not dims or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape like 2x3x224x224")
    return dims


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m graphcheck_torch", description=__doc__.split("\n\n")[1])
    parser.add_argument("factory", help="MODULE:FACTORY, e.g. mypackage.models:build_model")
    parser.add_argument("--input", type=_shape, action="append", required=True, help="an input shape (repeatable)")
    parser.add_argument("--dtype", default="float32", help="dtype of the inputs (default float32; int64 for token ids)")
    parser.add_argument("--eval", action="store_true", help="trace in eval mode (default: training mode)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, help="where to write the trace JSON")
    args = parser.parse_args(argv)

    module_name, _, factory_name = args.factory.partition(":")
    if not factory_name:
        parser.error("the model is given as MODULE:FACTORY")
    sys.path.insert(0, os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as error:
        parser.exit(2, f"graphcheck_torch: error: cannot load {args.factory}: {error}\n")
    model = factory()
    if not isinstance(model, torch.nn.Module):
        parser.exit(2, f"graphcheck_torch: error: {args.factory}() returned {type(model).__name__}, not an nn.Module\n")
    dtype = getattr(torch, args.dtype, None)
    if not isinstance(dtype, torch.dtype):
        parser.exit(2, f"graphcheck_torch: error: unknown dtype '{args.dtype}'\n")
    torch.manual_seed(args.seed)
    inputs = [torch.randint(0, 2, shape, dtype=dtype) if not dtype.is_floating_point else torch.randn(shape, dtype=dtype)
              for shape in args.input]
    export(model, inputs, args.output, train=not args.eval)
    print(f"graphcheck_torch: wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
