"""graphcheck on real third-party models and on the sharing bugs users write, against the truth measured on
the live model (corpus.py). Branches are found automatically. A wrong verdict fails: no false alarm on
an independent model, no pass on one that shares, leaks or overwrites; "cannot decide" (exit 3) is
allowed only where the model is independent, and required where it has no heads (no verdict either way).

The same models exported to ONNX (torch.onnx.export with both exporters: the TorchScript-based one and the
dynamo one, the default since torch 2.9) and to TensorBoard (SummaryWriter.add_graph) must never give a false
verdict either: none of these formats shows storage identity (and ONNX drops `.detach()`), so there "cannot
decide" is allowed everywhere, a pass never happens, and an error must be a real problem.

With GRAPHCHECK_CORPUS_TABLE=FILE the results are also written as the Markdown table of docs/corpus.md.
"""
import json
import os
import subprocess
import tempfile

import pytest
import torch

from corpus import cases, truth
from graphcheck_torch.exporter import export, trace

CASES = cases()

VERDICT = {0: True, 1: False, 3: None}
_results = []
_onnx_results = {}
_dynamo_results = {}
_tensorboard_results = {}
_truths = {}


def _truth(case):
    if case.name not in _truths:
        _truths[case.name] = truth(case)
    return _truths[case.name]


def _check(path):
    result = subprocess.run([os.environ["GRAPHCHECK"], "check", path, "--format", "json"], capture_output=True, text=True, timeout=600)
    assert result.returncode in VERDICT, f"exit {result.returncode}: {result.stderr}"
    return result.returncode, json.loads(result.stdout)


def _param(case):
    marks = [pytest.mark.xfail(strict=True, reason=case.known_miss)] if case.known_miss else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_corpus_case(case, graphcheck_binary):
    expected = _truth(case)
    model, inputs = case.build()
    with tempfile.TemporaryDirectory(prefix="graphcheck-corpus-") as directory:
        path = os.path.join(directory, "trace.json")
        export(model, inputs, path, train=case.train)
        code, report = _check(path)
    verdict = VERDICT[code]
    _results.append((case, expected, code, report))
    if case.undecided:
        assert (code, report.get("undecided_reason")) == (3, case.undecided), f"{case.name}: expected no verdict ({case.undecided})"
    elif expected["independent"] is None:
        assert verdict is None, f"{case.name}: no heads, yet a verdict: {[f['rule'] + ': ' + f['message'] for f in report['findings'] if f['severity'] == 'error']}"
    elif expected["independent"]:
        assert verdict is not False, f"{case.name}: false alarm: {[f['rule'] + ': ' + f['message'] for f in report['findings'] if f['severity'] == 'error']}"
        # A graphcheck_torch trace records storage identity: an independent model is said to be, not left open.
        assert verdict is True, f"{case.name}: independent, yet no verdict ({report.get('undecided_reason')})"
    else:
        assert verdict is False, f"{case.name}: missed ({expected}); graphcheck said {report.get('undecided_reason') or 'independent'}, branches {report['branches']}"
    if case.expect_branches is not None and expected["independent"] is not None:
        assert report["branches"] == case.expect_branches, f"{case.name}: branches"


def _trace(model, inputs, case, tensors):
    """One call site for both modes, so the ops' `source` lines agree."""
    return trace(model, inputs, train=case.train, tensors=tensors)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_fake_tensor_trace_is_the_real_trace_op_for_op(case, graphcheck_binary):
    """The default export runs the model on fake tensors; it must record what a real forward records: the same
    ops with the same call sites, shapes, dtypes, storages, in-place writes and BatchNorm state writes. A
    model fake tensors cannot run (data-dependent shapes: the detection models' `nonzero`) falls back to
    real tensors, with a warning. Where the model's own code tells fake from real tensors and takes another
    path (`case.fake_path`), the two traces must give the same verdict. Models that set themselves up on their
    first call are traced once before (MultiScaleRoIAlign infers its scales then)."""
    import warnings

    model, inputs = case.build()
    _trace(model, inputs, case, "real")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        automatic = _trace(model, inputs, case, "auto")
    real = _trace(model, inputs, case, "real")
    fell_back = [w for w in caught if "cannot run on fake tensors" in str(w.message)]
    if case.fake_path:
        assert not fell_back
        with tempfile.TemporaryDirectory(prefix="graphcheck-corpus-") as directory:
            verdicts = []
            for recorded in (real, automatic):
                path = os.path.join(directory, "trace.json")
                with open(path, "w") as f:
                    json.dump(recorded, f)
                verdicts.append(_check(path)[0])
        assert verdicts[0] == verdicts[1], f"{case.name}: the fake trace says {verdicts[1]}, the real one {verdicts[0]}"
        return
    for key in real:
        if real[key] != automatic[key] and isinstance(real[key], list):
            first = next((i for i, (a, b) in enumerate(zip(real[key], automatic[key])) if a != b), min(len(real[key]), len(automatic[key])))
            pytest.fail(f"{case.name}: {key}[{first}] differs (fallback: {bool(fell_back)}): real "
                        f"{real[key][first] if first < len(real[key]) else None}, fake {automatic[key][first] if first < len(automatic[key]) else None}")
        assert real[key] == automatic[key], key


class InvalidOnnx(RuntimeError):
    """The exporter wrote a file onnx.checker rejects (the dynamo exporter once left a Clip reading a bound no
    node makes): graphcheck must reject it too, as bad input (exit 2), which the test checks."""


def _export_onnx(model, inputs, directory, dynamo=False):
    import onnx

    path = os.path.join(directory, "model.onnx")
    torch.onnx.export(model, inputs, path, dynamo=dynamo)
    try:
        onnx.checker.check_model(path)
    except onnx.checker.ValidationError as error:
        said = subprocess.run([os.environ["GRAPHCHECK"], "check", path], capture_output=True, text=True, timeout=600)
        assert said.returncode == 2, f"onnx.checker rejects {path} ({str(error).splitlines()[0]}), graphcheck said exit {said.returncode}"
        raise InvalidOnnx(str(error)) from None
    return path


def _export_onnx_dynamo(model, inputs, directory):
    """torch.onnx.export's default since torch 2.9: torch.export, then ONNX."""
    return _export_onnx(model, inputs, directory, dynamo=True)


def _export_tensorboard(model, inputs, directory):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(directory)
    writer.add_graph(model, inputs if len(inputs) > 1 else inputs[0], use_strict_trace=False)
    writer.close()
    return directory


# Formats without storage identity: (name, exporter, what the exporter itself cannot do, results by case).
FORMATS = {
    # dict outputs of transformers models; an op it cannot translate (VOLO's fold raises TypeError in col2im;
    # grouped-query attention an AssertionError in its scaled_dot_product_attention).
    "ONNX": (_export_onnx, (RuntimeError, TypeError, AssertionError), _onnx_results),
    # torch.export's limits (one module object under several names with BatchNorm state; data-dependent
    # shapes) surface as many exception types.
    "ONNX (dynamo)": (_export_onnx_dynamo, (Exception,), _dynamo_results),
    # torch.jit.trace's limits: dict or dataclass outputs, the detection models' list inputs.
    "TensorBoard": (_export_tensorboard, (RuntimeError, ValueError), _tensorboard_results),
}


@pytest.mark.parametrize("format_name", list(FORMATS))
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES if not c.meta])
def test_corpus_case_through_a_format_without_storage_identity(case, format_name, graphcheck_binary):
    import contextlib
    import io
    import warnings

    exporter, limits, results = FORMATS[format_name]
    expected = _truth(case)
    model, inputs = case.build()
    model.train(case.train)
    with tempfile.TemporaryDirectory(prefix="graphcheck-corpus-") as directory:
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                path = exporter(model, inputs, directory)
        except limits as error:
            results[case.name] = f"export fails ({type(error).__name__})"
            return
        code, report = _check(path)
    verdict = VERDICT[code]
    rules = sorted({f["rule"] for f in report["findings"] if f["severity"] == "error"})
    results[case.name] = f"{code}" + (f": {', '.join(rules)}" if rules else f" ({report.get('undecided_reason')})" if code == 3 else "")
    assert verdict is not True, f"{case.name}: a pass from {format_name}, which cannot show storage identity"
    if expected["independent"] is not False:
        assert verdict is not False, f"{case.name}: false alarm from {format_name}: {rules}"


def _describe(expected):
    if expected["independent"] is None:
        return "no heads"
    if expected["independent"]:
        return "independent"
    return "NOT: " + ", ".join(k for k in ("shared", "leak", "inplace") if expected[k])


TABLE_HEADER = ["| model | source | truth (live model) | graphcheck_torch trace | branches found | ONNX (TorchScript exporter) | ONNX (dynamo exporter) | TensorBoard (add_graph) |",
                "|---|---|---|---|---|---|---|---|"]
FILE_COLUMNS = ("ONNX", "ONNX (dynamo)", "TensorBoard")


def teardown_module(_module):
    """What this process saw for the table: the cells of each case it checked from a trace, and each file format's
    result by case — another process (`make pytest` runs two) may have checked the same case's files. conftest's
    `pytest_sessionfinish` puts them together, in the corpus's order (`table_row`)."""
    table = os.environ.get("GRAPHCHECK_CORPUS_TABLE")
    if not table:
        return
    cells = {}
    for case, expected, code, report in _results:
        said = {0: "independent (0)", 1: "NOT independent (1)", 3: f"cannot decide (3: {report.get('undecided_reason')})"}[code]
        rules = sorted({f["rule"] for f in report["findings"] if f["severity"] == "error"})
        if rules:
            said += ": " + ", ".join(rules)
        branches = report["branches"] if len(report["branches"]) <= 8 else report["branches"][:3] + ["…"] + report["branches"][-2:]
        cells[case.name] = [case.name, case.source, _describe(expected), said, ", ".join(branches) or "—"]
    files = {name: FORMATS[name][2] for name in FILE_COLUMNS}
    with open(f"{table}.part.{os.environ.get('PYTEST_XDIST_WORKER', 'main')}", "w", encoding="utf-8") as f:
        json.dump({"cells": cells, "files": files}, f)


def table_row(case, cells, files):
    """One line of the table: the trace's cells, then each format's result (or why there is none)."""
    said = [files[name].get(case.name, "— (meta device)" if case.meta else "not run") for name in FILE_COLUMNS]
    return "| " + " | ".join(cells + said) + " |"
