"""`assert_independent` for pytest: export the model, run graphcheck on it, fail with the findings."""
import json
import os
import shutil
import subprocess
import tempfile

from .exporter import export


# Where `make install` puts the binary by default (PREFIX=~/.local): found even when that folder is not on PATH.
_DEFAULT_INSTALL = os.path.join("~", ".local", "bin", "graphcheck")


def _graphcheck():
    """The executable, found before any export is spent: GRAPHCHECK, else PATH, else `make install`'s default."""
    path = os.environ.get("GRAPHCHECK")
    if path:
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"GRAPHCHECK is {path!r}, which is not an executable file: build graphcheck or fix the variable")
        return path
    path = shutil.which("graphcheck")
    if path:
        return path
    installed = os.path.expanduser(_DEFAULT_INSTALL)
    if os.access(installed, os.X_OK):
        return installed
    raise RuntimeError(
        "graphcheck executable not found (looked at $GRAPHCHECK, PATH and ~/.local/bin): in a graphcheck checkout run "
        "`make install` (or `make install PREFIX=/some/prefix` and put its bin/ on PATH), or set GRAPHCHECK=/path/to/graphcheck")


def graphcheck_report(model, example_inputs, branches=None, allow_shared=(), train=True):
    """Exports `model` and returns graphcheck's JSON report as a dict."""
    __tracebackhide__ = True
    binary = _graphcheck()
    with tempfile.TemporaryDirectory(prefix="graphcheck-") as directory:
        path = os.path.join(directory, "model.trace.json")
        export(model, example_inputs, path, train=train)
        command = [binary, "check", path, "--format", "json"]
        for branch in branches or ():
            command += ["--branch", branch]
        for pattern in allow_shared:
            command += ["--allow-shared", pattern]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode not in (0, 1, 3):  # 3: cannot decide (the report says why)
        raise RuntimeError(f"graphcheck failed (exit {result.returncode}): {result.stderr.strip()}")
    return json.loads(result.stdout)


def _describe(report):
    lines = [f"{report['model']}: branches {', '.join(report['branches'])} are NOT independent:"]
    for finding in report["findings"]:
        if finding["severity"] != "error":
            continue
        lines.append(f"  {finding['rule']}: {finding['message']}")
        lines.extend(f"    {detail}" for detail in finding.get("details", [])[:6])
        lines.extend(f"    note: {note}" for note in finding.get("notes", []))
        if finding.get("help"):
            lines.append(f"    help: {finding['help']}")
    return "\n".join(lines)


def assert_independent(model, example_inputs, branches=None, allow_shared=(), train=True):
    """Raises AssertionError, listing the findings, unless the model's branches are independent.

    `branches`: module prefixes of the branches (default: found by graphcheck). `allow_shared`: module
    paths or tensor names whose sharing is intended.
    """
    __tracebackhide__ = True  # pytest shows the assertion, not this helper's frames (and the model's repr)
    report = graphcheck_report(model, example_inputs, branches=branches, allow_shared=allow_shared, train=train)
    if report["independent"] is None:
        reason = report.get("undecided_reason")
        if reason == "no-branches":
            raise AssertionError(f"{report['model']}: graphcheck found no branches to compare; pass branches=[...]")
        if reason == "branch-not-run":
            raise AssertionError(
                f"{report['model']}: {', '.join(report.get('branches_not_run', []))} did not run for these inputs "
                "(a training-only head in eval mode?); nothing about them was checked")
        raise AssertionError(f"{report['model']}: graphcheck cannot decide from this input ({reason})")
    if not report["independent"]:
        raise AssertionError(_describe(report))
    return report
