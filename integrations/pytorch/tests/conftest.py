import glob
import json
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


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch
        torch.set_num_threads(1)  # one process per core (`make pytest` runs two): no threads fighting over them


def _is_worker(session):
    return hasattr(session.config, "workerinput")


def pytest_sessionstart(session):
    table = os.environ.get("GRAPHCHECK_CORPUS_TABLE")
    if table and not _is_worker(session):
        for part in glob.glob(glob.escape(table) + ".part.*"):
            os.remove(part)


def pytest_sessionfinish(session):
    """The corpus table (GRAPHCHECK_CORPUS_TABLE) from what each process saw, in the corpus's order."""
    table = os.environ.get("GRAPHCHECK_CORPUS_TABLE")
    if not table or _is_worker(session):
        return
    parts = glob.glob(glob.escape(table) + ".part.*")
    if not parts:
        return
    from corpus import cases
    from test_corpus import FILE_COLUMNS, TABLE_HEADER, table_row

    cells, files = {}, {name: {} for name in FILE_COLUMNS}
    for part in parts:
        with open(part, encoding="utf-8") as f:
            seen = json.load(f)
        os.remove(part)
        cells.update(seen["cells"])
        for name in FILE_COLUMNS:
            files[name].update(seen["files"][name])
    lines = TABLE_HEADER + [table_row(case, cells[case.name], files) for case in cases() if case.name in cells]
    with open(table, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
