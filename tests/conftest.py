import os
from pathlib import Path

import numpy
import pytest

from .oracles import block_missing_oracles

block_missing_oracles()  # NEURONKA_TEST_WITHOUT=torch,keras: `import torch` fails loudly, *_or_skip() skip

SHARED = Path(os.environ.get("NEURONKA_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATASETS = SHARED / "datasets"


@pytest.fixture
def rng():
    return numpy.random.default_rng(1234)


def dataset_path(*parts) -> Path:
    """A path under ../shared/datasets, or skip the test saying what is missing."""
    p = DATASETS.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real dataset not found at {p} (set NEURONKA_SHARED to the folder holding datasets/)")
    return p


# ---------------------------------------------------------------------------------------------------
# the Keras coverage record: tests marked @pytest.mark.keras_api("ops.argmax", ...) compare neuronka with
# real Keras; with NEURONKA_KERAS_COVERAGE=FILE the names of the passed and failed ones are written there
# (tools/keras_coverage.py reads it).
# ---------------------------------------------------------------------------------------------------
_keras_record: dict[str, dict[str, list[str]]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    names = [n for m in item.iter_markers("keras_api") for n in m.args]
    if not names or not os.environ.get("NEURONKA_KERAS_COVERAGE"):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        state = "passed" if report.passed else ("skipped" if report.skipped else "failed")
        for name in names:
            _keras_record.setdefault(name, {}).setdefault(state, []).append(item.nodeid)


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("NEURONKA_KERAS_COVERAGE")
    if path and _keras_record:
        import json

        with open(path, "w") as f:
            json.dump(_keras_record, f, indent=1, sort_keys=True)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``exhaustive`` (tests/keras_oracle.py: EXHAUSTIVE) run only with NEURONKA_EXHAUSTIVE=1."""
    if os.environ.get("NEURONKA_EXHAUSTIVE") == "1":
        return
    skip = pytest.mark.skip(reason="exhaustive comparison (every application and argument set, "
                                   "~30 min on 2 cores): run with NEURONKA_EXHAUSTIVE=1")
    for item in items:
        if item.get_closest_marker("exhaustive") is not None:
            item.add_marker(skip)
