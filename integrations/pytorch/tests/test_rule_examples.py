"""Every rule's PyTorch example, run as its page says (`graphcheck explain RULE`): the example that should
trigger the rule does, on real torch through the exporter (or torch.onnx.export for the ONNX rules), and
the example written the way the page recommends does not."""
import json
import os
import re
import runpy
import shlex
import subprocess
import sys

import pytest

from conftest import REPO


def rule_ids(binary):
    out = subprocess.run([binary, "rules"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def page(binary, rule):
    return subprocess.run([binary, "explain", rule, "--format", "markdown"], capture_output=True, text=True, check=True).stdout


def run_python(words, folder):
    """`python -m MODULE ARGS` or `python -c CODE`, run in this process (importing torch once for all
    examples) with the working directory, `sys.argv` and `sys.path` the command would have."""
    saved = (os.getcwd(), sys.argv[:], sys.path[:])
    sys.modules.pop("example", None)
    try:
        os.chdir(folder)
        sys.path.insert(0, str(folder))
        if words[0] == "-m":
            sys.argv = [words[1]] + words[2:]
            try:
                runpy.run_module(words[1], run_name="__main__", alter_sys=True)
            except SystemExit as exit:
                assert exit.code in (0, None), f"{' '.join(words)} exited {exit.code}"
        else:
            assert words[0] == "-c"
            exec(compile(words[1], "<command>", "exec"), {"__name__": "__main__"})
    finally:
        os.chdir(saved[0])
        sys.argv, sys.path[:] = saved[1], saved[2]
        sys.modules.pop("example", None)


def findings(binary, folder, source, commands):
    (folder / "example.py").write_text(source)
    for command in commands:
        words = shlex.split(command)
        if words[0] == "python":
            run_python(words[1:], folder)
        else:
            assert words[0] == "graphcheck"
            result = subprocess.run([binary] + words[1:] + ["--format", "json"], cwd=folder, capture_output=True, text=True)
            assert result.returncode in (0, 1, 3), result.stderr
            return json.loads(result.stdout)["findings"]
    raise AssertionError("the page's commands never run graphcheck")


@pytest.mark.parametrize("rule", ["shared-storage", "shared-initializer", "merged-branch", "cross-branch-dependency",
                                  "gradient-leak", "inplace-hazard", "module-reuse"])
def test_the_pages_pytorch_example_triggers_and_its_fix_does_not(graphcheck_binary, tmp_path, rule):
    assert rule in rule_ids(graphcheck_binary)
    text = page(graphcheck_binary, rule)
    triggering, fixed = re.findall(r"```python\n(.*?)```", text, re.S)
    commands = re.search(r"```sh\n(.*?)```", text, re.S).group(1).strip().splitlines()
    (tmp_path / "bad").mkdir()
    (tmp_path / "good").mkdir()
    found = findings(graphcheck_binary, tmp_path / "bad", triggering, commands)
    assert rule in [f["rule"] for f in found], f"{rule}'s example did not trigger it: {[f['rule'] for f in found]}"
    found = findings(graphcheck_binary, tmp_path / "good", fixed, commands)
    assert rule not in [f["rule"] for f in found], f"{rule}'s fixed example triggers it"


def test_every_rule_has_a_pytorch_example(graphcheck_binary):
    for rule in rule_ids(graphcheck_binary):
        assert "```python" in page(graphcheck_binary, rule), rule
