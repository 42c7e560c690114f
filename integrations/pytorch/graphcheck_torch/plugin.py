"""The pytest plugin (entry point `pytest11`, active once the package is installed): a `graphcheck` fixture
whose `assert_independent` draws a failing model beside the test report.

    def test_heads(graphcheck):
        graphcheck.assert_independent(MyModel(), torch.randn(2, 3, 224, 224), allow_shared=["encoder"])

The picture goes to `--graphcheck-pictures DIR`, else the folder of `--junitxml`, else
`graphcheck-pictures/` in the rootdir; one SVG per failing test, named after the test.
"""
import os
import re

import pytest

from . import construction, testing


def pytest_addoption(parser):
    group = parser.getgroup("graphcheck")
    group.addoption("--graphcheck-pictures", metavar="DIR", default=None,
                    help="where the graphcheck fixture draws failing models (default: beside --junitxml, "
                         "else graphcheck-pictures/ in the rootdir)")


def _pictures_folder(config):
    chosen = config.getoption("graphcheck_pictures")
    if chosen:
        return os.path.abspath(chosen)
    junit = config.getoption("xmlpath", None)
    if junit:
        return os.path.dirname(os.path.abspath(junit))
    return os.path.join(str(config.rootpath), "graphcheck-pictures")


class GraphCheck:
    """`assert_independent` and `report` for one test: a failing model is drawn as `<test name>.svg`, with its
    interactive view as `<test name>.html`."""

    def __init__(self, picture):
        self.picture = picture

    def assert_independent(self, model, example_inputs, branches=None, allow_shared=(), train=True):
        __tracebackhide__ = True
        return testing.assert_independent(model, example_inputs, branches=branches, allow_shared=allow_shared,
                                          train=train, picture=self.picture)

    def report(self, model, example_inputs, branches=None, allow_shared=(), train=True):
        """graphcheck's JSON report as a dict (`independent`: true, false, or null with `undecided_reason`)."""
        return testing.graphcheck_report(model, example_inputs, branches=branches, allow_shared=allow_shared, train=train)


@pytest.fixture
def graphcheck(request):
    """Models built during the test have their module assignments recorded, so a failure points at the
    `__init__` line that made two heads share."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")
    with construction.recording():
        yield GraphCheck(os.path.join(_pictures_folder(request.config), f"{name}.svg"))
