import os
from pathlib import Path

import numpy
import pytest

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
