"""The test oracles (PyTorch, real Keras) as optional dependencies, and a way to run the suite without them.

neuronka's runtime needs neither; only the comparisons with them do. So a test file never imports torch or
Keras at module level: a comparison asks for its oracle inside the test (:func:`torch_or_skip`,
``keras_oracle.keras_or_skip``), and only that test (or, in the layer harness, only that comparison) is
skipped when the oracle is missing. Shapes, configs and the float64 central-difference gradchecks run
anyway.

``NEURONKA_TEST_WITHOUT=torch,keras`` simulates an environment without them: ``tests/conftest.py`` installs
:class:`BlockedImports` before any test module is imported, so ``import torch`` raises
``ModuleNotFoundError`` (an accidental import outside ``torch_or_skip`` fails loudly instead of passing), and
the ``*_or_skip`` helpers skip. Keras runs on its torch backend here, so without torch there is no Keras
either.

A module-level name for the oracle, for tables whose rows build torch modules lazily::

    torch = LazyModule("torch")          # nothing is imported yet
    F = LazyModule("torch.nn.functional")
    ROW = LayerCase(..., torch_equivalent=lambda layer: (torch.relu, None, None))  # imported when called

and a torch module class written without importing torch (``@torch_module`` mixes in ``torch.nn.Module`` at
the first instantiation)::

    @torch_module
    class Scale:
        def __init__(self, k):
            super().__init__()  # torch.nn.Module.__init__
            self.k = k

        def forward(self, x):
            return self.k * x
"""
from __future__ import annotations

import functools
import importlib
import importlib.abc
import os
import sys

import pytest

ENV = "NEURONKA_TEST_WITHOUT"
# how a test that ran all it could without its oracle says so when it skips the comparison
ORACLE_SKIP_PREFIX = "oracle missing, every other check passed"
KNOWN = ("torch", "keras")
REQUIRES = {"keras": ("torch",)}  # Keras is the oracle on its torch backend: no torch, no Keras


def without() -> frozenset[str]:
    """The oracles ``NEURONKA_TEST_WITHOUT`` (comma-separated) says to treat as absent."""
    names = frozenset(n.strip() for n in os.environ.get(ENV, "").split(",") if n.strip())
    unknown = sorted(names - set(KNOWN))
    if unknown:
        raise ValueError(f"{ENV}: expected names among {KNOWN}, received {unknown}")
    return names


def missing(name: str) -> str | None:
    """Why the oracle ``name`` cannot be used here, or None when it can (it is then imported)."""
    for needed in (*REQUIRES.get(name, ()), name):
        if needed in without():
            return f"{needed} is switched off by {ENV}={os.environ[ENV]} (simulating an install without it)"
    try:
        importlib.import_module(name)
    except ImportError as e:
        return f"{name} is not installed ({e}); it is a test oracle: pip install -e '.[test]'"
    return None


def torch_or_skip():
    """The torch module, or skip the calling test: PyTorch is an oracle, not a dependency."""
    reason = missing("torch")
    if reason:
        pytest.skip(reason)
    import torch  # noqa: PLC0415

    return torch


class LazyModule:
    """A stand-in for ``import <name>`` at module level: the module is imported at the first attribute
    access (inside a test), which skips that test when the oracle is missing."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        if attr.startswith("_"):  # pytest's collection probes module-level names (__test__, _pytestfixture...)
            raise AttributeError(attr)
        reason = missing(self._name.split(".")[0])
        if reason:
            pytest.skip(reason)
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r})"


def torch_module(cls: type):
    """Class decorator: ``cls`` (a plain class with ``forward``) becomes a ``torch.nn.Module`` subclass when it
    is first instantiated, so that defining it at module level imports nothing. Instantiating it skips the
    test when torch is missing."""

    @functools.cache
    def module_class() -> type:
        torch = torch_or_skip()
        return type(cls.__name__, (cls, torch.nn.Module), {"__module__": cls.__module__, "__doc__": cls.__doc__,
                                                          "__qualname__": cls.__qualname__})

    @functools.wraps(cls, updated=())
    def make(*args, **kwargs):
        return module_class()(*args, **kwargs)

    for name, value in vars(cls).items():  # plain class attributes (constants) stay readable on the maker
        if not name.startswith("_") and not callable(value):
            setattr(make, name, value)
    return make


class BlockedImports(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` finder that refuses the given top-level packages (and their submodules)."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: blocked by {ENV}={os.environ.get(ENV)} (a test imported an oracle "
                f"directly; ask for it with torch_or_skip() / keras_or_skip() so that only the comparison skips)",
                name=fullname)
        return None


def block_missing_oracles() -> None:
    """Make ``import torch`` / ``import keras`` fail for the oracles ``NEURONKA_TEST_WITHOUT`` names."""
    names = set(without())
    for name in KNOWN:
        if any(needed in names for needed in REQUIRES.get(name, ())):
            names.add(name)
    if not names:
        return
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in names)
    if loaded:
        raise RuntimeError(f"{ENV}: {loaded[:3]} already imported before the blocker was installed")
    if not any(isinstance(f, BlockedImports) for f in sys.meta_path):
        sys.meta_path.insert(0, BlockedImports(names))
