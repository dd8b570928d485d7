"""The test suite without its oracles: ``NEURONKA_TEST_WITHOUT=torch,keras`` blocks their imports (see
tests/oracles.py), and the checks that need neither still run — float64 gradchecks, shapes, configs — while
only the comparisons skip. Run in a subprocess so that this process's torch and Keras stay as they are."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .oracles import ORACLE_SKIP_PREFIX, BlockedImports, LazyModule, missing, torch_module

ROOT = Path(__file__).resolve().parents[1]
# gradchecks with no oracle (must pass), layer rows whose gradcheck runs before their skipped torch or Keras
# comparison, and OpCase rows whose gradcheck runs before their skipped Keras comparison
SUBSET = [
    "tests/test_activations.py::test_activation_gradient_matches_central_differences",
    "tests/test_layers_normalization.py::test_batchnorm_float64_training_step",  # a file torch once skipped whole
    "tests/test_layers_core.py::test_layer_contract",
    "tests/test_layers_recurrent_dropout.py",
    "tests/test_keras_ops_elementwise.py::test_op_matches_keras",
]


def run_without_oracles(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEURONKA_TEST_WITHOUT": "torch,keras"}
    env.pop("NEURONKA_KERAS_COVERAGE", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def outcomes(report: str) -> dict[str, list[str]]:
    """test id → its '-rA' summary lines, per outcome (PASSED / SKIPPED / FAILED / ERROR)."""
    found: dict[str, list[str]] = {}
    for line in report.splitlines():
        m = re.match(r"(PASSED|SKIPPED|FAILED|ERROR|XFAIL|XPASS) (.*)", line)
        if m:
            found.setdefault(m.group(1), []).append(m.group(2))
    return found


def test_without_torch_and_keras_gradchecks_pass_and_only_the_oracle_comparisons_skip():
    proc = run_without_oracles(*SUBSET)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the oracle-less run failed:\n{report[-4000:]}"
    found = outcomes(report)
    assert not found.get("FAILED") and not found.get("ERROR"), report[-4000:]
    passed = found.get("PASSED", [])
    skipped = " ".join(found.get("SKIPPED", []))
    # the float64 gradchecks that need no oracle ran and passed (one per activation)
    gradchecks = [p for p in passed if "test_activation_gradient_matches_central_differences" in p]
    assert len(gradchecks) >= 10, f"the activations' float64 gradchecks did not all run: {gradchecks}"
    assert any("test_batchnorm_float64_training_step" in p for p in passed), passed
    # the recurrent dropout reference needs no oracle: all of it passed
    assert sum("test_layers_recurrent_dropout" in p for p in passed) == 4, passed
    # layer rows and op rows ran their gradchecks, then skipped the comparison saying so
    n_rows_checked = len(re.findall(rf"\[(\d+)\] [^\n]*{re.escape(ORACLE_SKIP_PREFIX)} \([^)]*float64 gradcheck",
                                    report))
    assert n_rows_checked >= 2, f"no row reported its gradcheck before skipping its oracle:\n{report[-3000:]}"
    assert "shapes, weights, config round trip, gradient flow, training flag, float64 gradcheck" in skipped
    assert "neuronka's forward, float64 gradcheck" in skipped
    assert "torch is switched off by NEURONKA_TEST_WITHOUT" in skipped


def test_without_torch_a_direct_import_fails_loudly_instead_of_skipping(tmp_path):
    probe = tmp_path / "test_direct_import_probe.py"  # outside tests/: another run never collects it
    probe.write_text("def test_direct_import():\n    import torch  # noqa: F401\n")
    proc = run_without_oracles("-p", "tests.conftest", str(probe))  # the suite's conftest installs the blocker
    report = proc.stdout + proc.stderr
    assert proc.returncode == 1, report[-2000:]
    assert "1 failed" in report and "blocked by NEURONKA_TEST_WITHOUT=torch,keras" in report, report[-2000:]


def test_the_switch_names_only_known_oracles(monkeypatch):
    monkeypatch.setenv("NEURONKA_TEST_WITHOUT", "torhc")
    with pytest.raises(ValueError, match=r"NEURONKA_TEST_WITHOUT: expected names among \('torch', 'keras'\), "
                                         r"received \['torhc'\]"):
        missing("torch")
    monkeypatch.setenv("NEURONKA_TEST_WITHOUT", "torch")
    assert "switched off" in missing("torch")
    assert "torch is switched off" in missing("keras"), "Keras runs on torch here: no torch, no Keras"


def test_blocked_imports_refuse_the_package_and_its_submodules_only():
    finder = BlockedImports({"torch"})
    for name in ("torch", "torch.nn", "torch.nn.functional"):
        with pytest.raises(ModuleNotFoundError, match=f"No module named '{name}': blocked"):
            finder.find_spec(name)
    assert finder.find_spec("torchvision_like") is None and finder.find_spec("numpy") is None


def test_lazy_module_and_torch_module_import_nothing_until_used(monkeypatch):
    monkeypatch.setenv("NEURONKA_TEST_WITHOUT", "torch")
    lazy = LazyModule("torch.nn.functional")
    with pytest.raises(AttributeError):
        lazy.__test__  # noqa: B018 - pytest's collection probes names like this one: no import, no skip
    with pytest.raises(pytest.skip.Exception, match="torch is switched off"):
        lazy.relu  # noqa: B018

    @torch_module
    class Scale:
        k = 3  # a plain class attribute stays readable without torch

        def forward(self, x):
            return self.k * x

    assert Scale.k == 3 and Scale.__name__ == "Scale"
    with pytest.raises(pytest.skip.Exception, match="torch is switched off"):
        Scale()
