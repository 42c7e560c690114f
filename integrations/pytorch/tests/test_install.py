"""The README's two install lines, run as written in a clean prefix: `make install PREFIX=…` puts the
binary there, `pip install ./integrations/pytorch` the package, and `assert_independent` then finds the
binary with no GRAPHCHECK variable — on PATH, or in `make install`'s default prefix when PATH lacks it —
and says what to run when it is nowhere."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO

# A trunk and two heads, the heads one module (shared) or a deep copy: the script both tests run.
_TWO_HEADS = textwrap.dedent("""
    import copy, torch

    class TwoHeads(torch.nn.Module):
        def __init__(self, shared):
            super().__init__()
            self.trunk = torch.nn.Linear(4, 4)
            self.head1 = torch.nn.Linear(4, 2)
            self.head2 = self.head1 if shared else copy.deepcopy(self.head1)
        def forward(self, x):
            t = self.trunk(x)
            return self.head1(t), self.head2(t)
""")

_CHECK = _TWO_HEADS + textwrap.dedent("""
    import graphcheck_torch
    from graphcheck_torch import assert_independent
    assert graphcheck_torch.__file__.startswith({site!r}), graphcheck_torch.__file__

    assert_independent(TwoHeads(shared=False), torch.randn(2, 4))
    try:
        assert_independent(TwoHeads(shared=True), torch.randn(2, 4))
    except AssertionError as failure:
        assert "shared-storage" in str(failure)
    else:
        raise SystemExit("the shared model passed")
    print("checked")
""")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A prefix and a package folder filled by the documented commands (pip with --target, so the test venv
    is left as it was; without dependencies, since torch is already there)."""
    root = tmp_path_factory.mktemp("install")
    home = root / "home"
    prefix = home / ".local"
    subprocess.run(["make", "-s", "install", f"PREFIX={prefix}"], cwd=REPO, check=True, capture_output=True, timeout=1800)
    site = root / "site"
    package = root / "package"  # pip builds in the folder it is given: a copy keeps the checkout clean
    shutil.copytree(os.path.join(REPO, "integrations", "pytorch"), package, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                    "--target", str(site), str(package)],
                   check=True, capture_output=True, timeout=600)
    return home, prefix, site


def _run(home, site, path):
    environment = {k: v for k, v in os.environ.items() if k not in ("GRAPHCHECK", "PYTHONPATH")}
    environment.update(HOME=str(home), PATH=path, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-c", _CHECK.format(site=str(site))], cwd=str(home.parent),
                          env=environment, capture_output=True, text=True, timeout=600)


def test_make_install_puts_an_executable_graphcheck_in_the_prefix(installed):
    _, prefix, _ = installed
    binary = prefix / "bin" / "graphcheck"
    assert os.access(binary, os.X_OK)
    result = subprocess.run([str(binary), "formats"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "onnx" in result.stdout.lower()


def test_the_package_finds_the_installed_binary_on_path(installed):
    home, prefix, site = installed
    result = _run(home, site, f"{prefix / 'bin'}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "checked"


def test_the_package_finds_the_default_prefix_when_path_lacks_it(installed):
    home, _, site = installed
    result = _run(home, site, "/usr/bin:/bin")
    assert result.returncode == 0, result.stderr


def test_a_missing_binary_is_answered_with_the_command_to_run(installed, tmp_path):
    _, _, site = installed
    empty_home = tmp_path / "nobody"
    empty_home.mkdir()
    result = _run(empty_home, site, "/usr/bin:/bin")
    assert result.returncode != 0
    assert "graphcheck executable not found" in result.stderr and "make install" in result.stderr


_PLUGIN_TESTS = _TWO_HEADS + textwrap.dedent("""
    def test_copies(graphcheck):
        graphcheck.assert_independent(TwoHeads(shared=False), torch.randn(2, 4))

    def test_shared(graphcheck):
        graphcheck.assert_independent(TwoHeads(shared=True), torch.randn(2, 4))
""")


def test_the_installed_plugin_gives_a_fixture_that_draws_the_failing_model(installed, tmp_path):
    home, prefix, site = installed
    (tmp_path / "test_heads.py").write_text(_PLUGIN_TESTS)
    reports = tmp_path / "reports"
    environment = {k: v for k, v in os.environ.items() if k not in ("GRAPHCHECK", "PYTHONPATH")}
    environment.update(HOME=str(home), PATH=f"{prefix / 'bin'}:/usr/bin:/bin", PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={reports / 'junit.xml'}",
                             "test_heads.py"], cwd=str(tmp_path), env=environment, capture_output=True, text=True, timeout=600)
    out = result.stdout
    assert result.returncode == 1 and "1 failed, 1 passed" in out, out + result.stderr
    # The whole finding: message, every detail, the notes that answer the user's questions, the fix.
    assert "shared-storage: head1, head2 share" in out
    assert "note: shared storage makes these branches one set of weights forever" in out
    assert "help:" in out and "deepcopy" in out
    assert "(trunk): Linear(in_features" not in out, "pytest printed the model's repr: the helper's frames are not hidden"
    picture = reports / "test_heads.py_test_shared.svg"
    assert picture.exists() and picture.read_text().lstrip().startswith("<?xml")
    assert f"picture: {picture}" in out
    view = reports / "test_heads.py_test_shared.html"
    assert view.exists() and view.read_text().startswith("<!DOCTYPE html>")
    assert f"interactive view (modules open on a click): {view}" in out
    assert not (reports / "test_heads.py_test_copies.svg").exists()
    assert not (reports / "test_heads.py_test_copies.html").exists()
