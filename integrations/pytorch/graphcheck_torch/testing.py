"""`assert_independent` for pytest: export the model, run graphcheck on it, fail with the findings."""
import json
import os
import shutil
import subprocess
import tempfile

from .exporter import export
from .members import declared_ties


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


def graphcheck_report(model, example_inputs, branches=None, allow_shared=(), train=True, picture=None):
    """Exports `model` and returns graphcheck's JSON report as a dict. Ties the model declares are allowed
    sharing (listed under the report's `declared_ties`). With `picture`, a model that is not independent is
    also drawn there (`graphcheck render`, any of its formats), with its interactive HTML view beside it."""
    __tracebackhide__ = True
    binary = _graphcheck()
    ties = declared_ties(model)
    with tempfile.TemporaryDirectory(prefix="graphcheck-") as directory:
        path = os.path.join(directory, "model.trace.json")
        export(model, example_inputs, path, train=train)
        command = [binary, "check", path, "--format", "json"]
        for branch in branches or ():
            command += ["--branch", branch]
        for pattern in list(allow_shared) + [name for pair in ties for name in pair]:
            command += ["--allow-shared", pattern]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if result.returncode not in (0, 1, 3):  # 3: cannot decide (the report says why)
            raise RuntimeError(f"graphcheck failed (exit {result.returncode}): {result.stderr.strip()}")
        report = json.loads(result.stdout)
        report["declared_ties"] = [{"tied": tied, "source": source} for tied, source in ties]
        if picture and report["independent"] is not True:
            os.makedirs(os.path.dirname(os.path.abspath(picture)), exist_ok=True)
            options = [a for b in branches or () for a in ("--branch", b)]
            drawn = subprocess.run([binary, "render", path, "-o", picture] + options, capture_output=True, text=True, timeout=600)
            report["picture"] = picture if drawn.returncode == 0 else None
            view = os.path.splitext(picture)[0] + ".html"
            if view != picture:
                opened = subprocess.run([binary, "render", path, "-o", view] + options, capture_output=True, text=True, timeout=600)
                report["view"] = view if opened.returncode == 0 else None
    return report


def _describe(report, severity="error", headline=None):
    if headline is None:
        # Errors without two branches (an in-place op breaking backward) hold whatever the heads are.
        headline = (f"{report['model']}: branches {', '.join(report['branches'])} are NOT independent:" if len(report["branches"]) >= 2
                    else f"{report['model']}: no branches to compare, but errors that no choice of heads changes:")
    lines = [headline]
    for finding in report["findings"]:
        if finding["severity"] != severity:
            continue
        lines.append(f"  {finding['rule']}: {finding['message']}")
        lines.extend(f"    {detail}" for detail in finding.get("details", []))
        lines.extend(f"    note: {note}" for note in finding.get("notes", []))
        if finding.get("help"):
            lines.append(f"    help: {finding['help']}")
    lines.extend(_context(report))
    return "\n".join(lines)


def _context(report):
    lines = [f"  declared by the model (intended, allowed): {t['tied']} is {t['source']}" for t in report.get("declared_ties", [])]
    if report.get("picture"):
        lines.append(f"  picture: {report['picture']}")
    if report.get("view"):
        lines.append(f"  interactive view (modules open on a click): {report['view']}")
    return lines


def assert_independent(model, example_inputs, branches=None, allow_shared=(), train=True, picture=None):
    """Raises AssertionError, listing the findings, unless the model's branches are independent.

    `branches`: module prefixes of the branches (default: found by graphcheck). `allow_shared`: module
    paths or tensor names whose sharing is intended (ties the model declares are added). `picture`: where to
    draw a model that fails (.svg, .png, .pdf, .dot; its HTML view is written beside it).
    """
    __tracebackhide__ = True  # pytest shows the assertion, not this helper's frames (and the model's repr)
    report = graphcheck_report(model, example_inputs, branches=branches, allow_shared=allow_shared, train=train, picture=picture)
    if report["independent"] is None:
        reason = report.get("undecided_reason")
        if reason == "no-branches":
            message = f"{report['model']}: graphcheck found no branches to compare; pass branches=[...]"
            same = report.get("not_run_same_object", {})
            other = [m for m in report.get("modules_not_run", []) if m not in same]
            if other:
                message += (f" ({', '.join(other)} did not run for these inputs: a training-only head in eval "
                            "mode? export with train=True to check it)")
            for ran in sorted(set(same.values())):
                slots = sorted([m for m, r in same.items() if r == ran] + [ran])
                message += (f" ({', '.join(slots)} are one module object and only {ran} ran: if they are meant as separate heads "
                            f"they share all its weights; pass branches={slots!r} to check)")
        elif reason == "branch-not-run":
            message = (f"{report['model']}: {', '.join(report.get('branches_not_run', []))} did not run for these inputs "
                       "(a training-only head in eval mode?); nothing about them was checked")
        elif reason == "parts-share-storage":
            raise AssertionError(_describe(report, "warning", f"{report['model']}: graphcheck cannot decide: parts inside a branch share "
                                           "storage and may be meant as heads of their own; pass branches=[...] to say which:"))
        elif reason == "tower-result-read":
            read = report["discovery"]["tower_result_read"]
            one = len(read["without"]) == 1
            what = ("the returned result of " if read.get("result", True) else "what is computed by ") + ", ".join(read["returned"])
            message = (f"{report['model']}: graphcheck cannot decide: {read['reader'] or 'the fusion'} computes with {what} "
                       f"and with {', '.join(read['without'])}, which {'returns' if one else 'return'} nothing "
                       f"of {'its' if one else 'their'} own: a head reading another tower (a leak), or a fusion meant to read it? "
                       + (f"to check each tower with its own head, pass branches={[','.join(b) for b in read['suggested']]!r}"
                          if read["suggested"] else "pass branches=[...]"))
        else:
            message = f"{report['model']}: graphcheck cannot decide from this input ({reason})"
        raise AssertionError("\n".join([message] + _context(report)))
    if not report["independent"]:
        raise AssertionError(_describe(report))
    return report
