"""The array-module helpers and the allocator tuning done on import."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy
import pytest

from neuronka import backend

CHECK = "import neuronka.backend as b; print(b._ALLOCATOR_TUNED)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt tuning exists on Linux/glibc only")
@pytest.mark.parametrize("setting, expected", [("1", "True"), ("0", "False")])
def test_allocator_tuning_runs_on_import_unless_switched_off(setting, expected):
    env = {**os.environ, "NEURONKA_MALLOC_TUNING": setting}
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_array_module_of_numpy_data_and_tensors_is_numpy():
    from neuronka import Tensor

    assert backend.get_array_module(numpy.ones(2)) is numpy
    assert backend.get_array_module(Tensor(numpy.ones(2))) is numpy
