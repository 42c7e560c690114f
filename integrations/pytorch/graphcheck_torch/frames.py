"""Which Python frames are the user's: where an op or a module assignment is written, for a report's
`file:line`, and which frames are only torch's dispatch plumbing around an op."""
import itertools
import os
import sys
import sysconfig

import torch

# Folders whose frames are not the user's code (with the separator: torchvision's folder starts with "torch").
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_THIS_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Frames between a C++ op call and `__torch_dispatch__`: ours (by the path we were imported from, as frames
# name it, and by the absolute one), and the wrappers torch puts around dispatch modes.
_DISPATCH_DIRS = (_THIS_DIR, os.path.dirname(__file__) + os.sep, _TORCH_DIR + "_dynamo" + os.sep, _TORCH_DIR + "_compile.py",
                  _TORCH_DIR + "utils" + os.sep + "_python_dispatch.py", _TORCH_DIR + "_subclasses" + os.sep)

_LIBRARIES = tuple(os.path.abspath(p) + os.sep for p in {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")})
_CODE_KIND = {}  # code object -> "internal" (torch's or ours), "library" (installed or standard) or "own" (the user's files)


def code_kind(code):
    kind = _CODE_KIND.get(code)
    if kind is None:
        filename = os.path.abspath(code.co_filename)
        kind = _CODE_KIND[code] = "internal" if filename.startswith((_TORCH_DIR, _THIS_DIR)) else \
            "library" if filename.startswith(_LIBRARIES) else "own"
    return kind


def op_caller(frame):
    """The Python frame that called into torch's C++ for the op being dispatched: the first frame above
    `frame` that is neither this package nor torch's dispatch plumbing (the wrappers around `__torch_dispatch__`)."""
    while frame is not None and frame.f_code.co_filename.startswith(_DISPATCH_DIRS):
        frame = frame.f_back
    return frame


def user_frame(frame):
    """The innermost frame at or above `frame` of model code (not torch's, not ours): where an op or a module
    call is written, also inside torchvision or transformers."""
    while frame is not None and code_kind(frame.f_code) == "internal":
        frame = frame.f_back
    return frame


def source_of(frame):
    """`file:line` for a report, from `frame` outwards: the innermost frame in the user's own files (what a code
    review can point at), else the innermost model-code frame (a model run from an installed library only)."""
    first = frame = user_frame(frame)
    while frame is not None and code_kind(frame.f_code) != "own":
        frame = frame.f_back
    frame = frame or first
    if frame is None:
        return None
    filename = os.path.abspath(frame.f_code.co_filename)
    return f"{os.path.relpath(filename) if not filename.startswith('/usr') else filename}:{frame.f_lineno}"


def caller_stacklevel():
    """`warnings.warn`'s `stacklevel`, for a warning given by the function calling this, that names the first line
    outside this package and torch (as `user_frame` tells them): the user's call, whether it was `export`, `trace`
    or `assert_independent`."""
    frame, level = sys._getframe(1), 1
    while frame is not None and code_kind(frame.f_code) == "internal":
        frame, level = frame.f_back, level + 1
    return level


def expression_position(frame):
    """(line, end line, column, end column) of the expression `frame` is executing (Python 3.11+), or
    (line, None, None, None) where the interpreter does not say."""
    if frame is None:
        return None
    positions = getattr(frame.f_code, "co_positions", None)
    if positions is not None and frame.f_lasti >= 0:
        found = next(itertools.islice(positions(), frame.f_lasti // 2, None), None)
        if found is not None and None not in found:
            return found
    return (frame.f_lineno, None, None, None)


def expression_within(inner, outer):
    """Whether the expression at `inner` lies inside the one at `outer`: by columns where both are known,
    else on the same line."""
    if inner is None or outer is None:
        return False
    if None in inner or None in outer:
        return inner[0] == outer[0]
    return (inner[0], inner[2]) >= (outer[0], outer[2]) and (inner[1], inner[3]) <= (outer[1], outer[3])
