"""graphcheck's JSON report, validated against docs/report.schema.json: the seed, its fix, and every
rule's own triggering example (taken from `graphcheck explain`, so each evidence case is exercised)."""
import json
import os
import re
import subprocess

import jsonschema
import pytest

from conftest import REPO

SCHEMA = json.load(open(os.path.join(REPO, "docs", "report.schema.json")))


def rule_ids(binary):
    out = subprocess.run([binary, "rules"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip() and not line.startswith(" ")]


def report_of(binary, path):
    result = subprocess.run([binary, str(path), "--format", "json"], capture_output=True, text=True)
    assert result.returncode in (0, 1, 3), result.stderr
    return json.loads(result.stdout)


def referenced(value, key=None):
    """Every (table, index) the evidence refers to: ops by op index fields, tensors by tensor index fields."""
    refs = []
    if isinstance(value, dict):
        for k, v in value.items():
            refs += referenced(v, k)
    elif isinstance(value, list):
        if key in ("data",):
            refs += [("ops", i) for edge in value for i in edge]
        elif key in ("parameter", "state"):
            refs += [(t, i) for edge in value for t, i in zip(("tensors", "ops"), edge)]
        elif key in ("places", "readers"):
            refs += [("ops", i) for i in value]
        elif key in ("storages", "tensors", "initializers", "parameters"):
            refs += [("tensors", i) for i in value if isinstance(i, int)]
        else:
            for item in value:
                refs += referenced(item)
    elif key == "node":
        refs.append(("ops", value))
    return refs


def check(report):
    jsonschema.validate(report, SCHEMA)
    tables = {name: {entry["index"] for entry in report[name]} for name in ("ops", "tensors")}
    wanted = set()
    for finding in report["findings"]:
        for table, index in referenced(finding["evidence"]):
            assert index in tables[table], f"{finding['rule']} refers to {table}[{index}], which the report does not describe"
            wanted.add((table, index))
    # The tables describe exactly what the evidence refers to.
    assert wanted == {(name, i) for name in tables for i in tables[name]}


@pytest.mark.parametrize("sample", ["densenet121_multihead.json", "densenet121_multihead_fixed.json"])
def test_seed_reports_validate(graphcheck_binary, sample):
    report = report_of(graphcheck_binary, os.path.join(REPO, "samples", sample))
    check(report)
    assert report["independent"] is (sample.endswith("fixed.json"))


def test_every_rules_example_report_validates(graphcheck_binary, tmp_path):
    rules = rule_ids(graphcheck_binary)
    assert len(rules) >= 7
    for rule in rules:
        page = subprocess.run([graphcheck_binary, "explain", rule, "--format", "markdown"], capture_output=True, text=True, check=True).stdout
        example = re.search(r"```json\n(.*?)```", page, re.S).group(1)
        path = tmp_path / f"{rule}.json"
        path.write_text(example)
        report = report_of(graphcheck_binary, path)
        check(report)
        found = [f for f in report["findings"] if f["rule"] == rule]
        assert found, f"{rule}'s example did not trigger it: {[f['rule'] for f in report['findings']]}"


@pytest.mark.parametrize("name", ["MoCoQueue", "OtherHalfWritten", "EightyHeads", "QueryDocTowers"])
def test_reports_of_saved_tensors_overwritten_and_of_too_many_results_validate(graphcheck_binary, tmp_path, name):
    """The evidence a trace with saved storages and `overwrites_saved` gives (`tensor`, `elsewhere`), a
    discovery with lumped branches (`too-many-results`), and one with a tower's result read (`tower-result-read`),
    as the schema says."""
    import torch
    import corpus_bugs
    from graphcheck_torch import export

    torch.manual_seed(0)
    path = tmp_path / "trace.json"
    towers = name == "QueryDocTowers"
    model = corpus_bugs.QueryDocTowers(leak=True) if towers else getattr(corpus_bugs, name)()
    export(model, tuple(torch.randn(4, 8) for _ in range(2 if towers else 1)), str(path))
    report = report_of(graphcheck_binary, path)
    check(report)
    hazards = [f["evidence"] for f in report["findings"] if f["rule"] == "inplace-hazard"]
    if towers:
        assert report["undecided_reason"] == "tower-result-read"
        assert report["discovery"]["tower_result_read"]["suggested"] == [["query_encoder", "query_head"], ["doc_encoder", "doc_head"]]
    elif name == "EightyHeads":
        assert report["undecided_reason"] == "too-many-results" and report["discovery"]["lumped"] == ["heads.63"]
    else:
        assert [(e["tensor"], e["elsewhere"]) for e in hazards] == ([("queue", False)] if name == "MoCoQueue" else [(None, True)])
