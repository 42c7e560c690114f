import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "samples"))
sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def graphcheck_binary():
    path = os.environ.get("GRAPHCHECK") or os.path.join(REPO, ".build", "debug", "graphcheck")
    if not os.path.exists(path):
        pytest.fail(f"graphcheck executable not found at {path}: build it (swift build) or set GRAPHCHECK")
    os.environ["GRAPHCHECK"] = path
    return path
