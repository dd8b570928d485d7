"""The array-module helpers and the allocator tuning done on import."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy
import pytest

from neuronka import backend

CHECK = "import neuronka.backend as b; print(b._ALLOCATOR_TUNED)"
CHECK_CLI = ("import neuronka.backend as b, neuronka.cli as c; t = b._ALLOCATOR_TUNED\n"
             "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\nprint(t, b._ALLOCATOR_TUNED)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt tuning exists on Linux/glibc only")
@pytest.mark.parametrize("setting, on_import, in_command", [(None, "False", "True"), ("1", "True", "True"),
                                                            ("0", "False", "False")])
def test_importing_leaves_the_allocator_alone_unless_asked_and_the_command_tunes_it(setting, on_import, in_command):
    env = {k: v for k, v in os.environ.items() if k != "NEURONKA_MALLOC_TUNING"}
    if setting is not None:
        env["NEURONKA_MALLOC_TUNING"] = setting
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == on_import
    out = subprocess.run([sys.executable, "-c", CHECK_CLI], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == [on_import, in_command]


def test_array_module_of_numpy_data_and_tensors_is_numpy():
    from neuronka import Tensor

    assert backend.get_array_module(numpy.ones(2)) is numpy
    assert backend.get_array_module(Tensor(numpy.ones(2))) is numpy
