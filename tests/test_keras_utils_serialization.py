"""``keras.utils`` (de)serialization, the custom-object registry and the progress bar against real Keras
3.15.1: the same configs both ways, registered names, scopes, and the same lines printed."""
from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_api, keras_or_skip


def _objects(m):
    return [
        m.initializers.GlorotUniform(seed=3), m.initializers.Constant(0.5), m.regularizers.L1L2(0.1, 0.2),
        m.constraints.MaxNorm(2.0), m.losses.Huber(delta=1.5) if m is not nk else nk.losses.Huber(delta=1.5),
        m.metrics.AUC(num_thresholds=50, name="auc"), m.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9),
        m.activations.relu, m.losses.mean_squared_error, 3, 2.5, "relu", None, [1, 2], {"a": 1},
        m.random.SeedGenerator(7, name="seeds"),
    ]


def _plain(config):
    """A config with its floats rounded to float32 and tuples as lists (JSON's view)."""
    if isinstance(config, dict):
        return {k: _plain(v) for k, v in config.items() if k != "dtype"}
    if isinstance(config, (list, tuple)):
        return [_plain(v) for v in config]
    if isinstance(config, float):
        return float(numpy.float32(config))
    return config


@keras_api("utils.serialize_keras_object", "utils.deserialize_keras_object")
def test_serialized_configs_equal_keras_and_load_both_ways():
    keras = keras_or_skip()
    for k_obj, n_obj in zip(_objects(keras), _objects(nk)):
        k_cfg, n_cfg = keras.utils.serialize_keras_object(k_obj), nk.utils.serialize_keras_object(n_obj)
        if isinstance(k_cfg, dict) and k_cfg.get("class_name") not in (None, "function"):
            assert n_cfg["module"] == k_cfg["module"] or k_cfg["module"].startswith("keras.src")
            assert n_cfg["class_name"] == k_cfg["class_name"]
            assert n_cfg["registered_name"] == k_cfg["registered_name"]
            # Keras's Huber config drops delta (neuronka keeps it: a round trip must not lose it)
            common = {k: v for k, v in n_cfg["config"].items() if k in k_cfg["config"]}
            assert _plain(common) == _plain(k_cfg["config"]), n_cfg["class_name"]
        elif isinstance(k_cfg, dict) and k_cfg.get("class_name") == "function":
            assert n_cfg == {**k_cfg, "module": "builtins"}
        else:
            assert n_cfg == k_cfg
        # Keras reads neuronka's config and neuronka reads Keras's
        back_in_keras = keras.utils.deserialize_keras_object(n_cfg)
        back_in_nk = nk.utils.deserialize_keras_object(k_cfg)
        assert type(back_in_keras).__name__ == type(k_obj).__name__
        assert type(back_in_nk).__name__ == type(n_obj).__name__
        if callable(n_obj) and not hasattr(n_obj, "get_config"):
            assert back_in_nk is n_obj
    arr = numpy.arange(6, dtype="int32").reshape(2, 3)
    assert nk.utils.serialize_keras_object(arr) == keras.utils.serialize_keras_object(arr)
    numpy.testing.assert_array_equal(nk.utils.deserialize_keras_object(keras.utils.serialize_keras_object(arr)), arr)


@keras_api("utils.deserialize_keras_object")
def test_deserialization_never_imports_or_runs_code_from_a_config():
    keras_or_skip()
    for evil in ({"module": "os", "class_name": "system", "config": {"command": "echo hi"}, "registered_name": None},
                 {"module": "subprocess", "class_name": "Popen", "config": {"args": ["ls"]}}):
        with pytest.raises(TypeError, match="Could not locate class"):
            nk.utils.deserialize_keras_object(evil)
    with pytest.raises(ValueError, match="never runs code"):
        nk.utils.deserialize_keras_object({"class_name": "__lambda__", "config": {"code": "AAAA"}})
    with pytest.raises(ValueError, match="Could not locate function 'nope'"):
        nk.utils.deserialize_keras_object({"module": "builtins", "class_name": "function", "config": "nope"})


@keras_api("utils.register_keras_serializable", "utils.get_registered_name", "utils.get_registered_object",
           "utils.get_custom_objects", "utils.custom_object_scope", "utils.CustomObjectScope")
def test_registry_and_scopes_behave_as_keras():
    keras = keras_or_skip()
    results = []
    for m in (keras, nk):
        @m.utils.register_keras_serializable(package="Parity")
        class Scale:
            def __init__(self, factor=2.0):
                self.factor = factor

            def get_config(self):
                return {"factor": self.factor}

            @classmethod
            def from_config(cls, config):
                return cls(**config)

        @m.utils.register_keras_serializable(package="Parity", name="double")
        def twice(x):
            return 2 * x

        cfg = m.utils.serialize_keras_object(Scale(3.0))
        rebuilt = m.utils.deserialize_keras_object(cfg)
        results.append((m.utils.get_registered_name(Scale), m.utils.get_registered_name(twice),
                        m.utils.get_registered_object("Parity>Scale") is Scale,
                        "Parity>double" in m.utils.get_custom_objects(), cfg["registered_name"], rebuilt.factor,
                        m.utils.serialize_keras_object(twice)["config"]))

        class Local:
            def __init__(self, v=1):
                self.v = v

            def get_config(self):
                return {"v": self.v}

            @classmethod
            def from_config(cls, config):
                return cls(**config)

        local_cfg = {"module": None, "class_name": "Local", "config": {"v": 5}, "registered_name": "Local"}
        with m.utils.custom_object_scope({"Local": Local}):
            assert m.utils.deserialize_keras_object(local_cfg).v == 5
            assert m.utils.get_registered_object("Local") is Local
        with m.utils.CustomObjectScope({"Local": Local}):
            assert m.utils.deserialize_keras_object(local_cfg).v == 5
        assert "Local" not in m.utils.get_custom_objects()
        assert m.utils.get_registered_object("Local", custom_objects={"Local": Local}) is Local
        with pytest.raises(ValueError, match="get_config"):
            m.utils.register_keras_serializable()(type("NoConfig", (), {}))
    assert results[0] == results[1]


def _screen(text: str) -> list[str]:
    """What a terminal shows, line by line: colours, backspaces and redraws removed, times blanked."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\b", "")
    lines = [part.strip() for part in re.split(r"[\r\n]", text) if part.strip()]
    return [re.sub(r"\d+(us|ms|s)/(\w+)", r"T/\2", re.sub(r"\b\d+s\b", "Ts", line)) for line in lines]


@keras_api("utils.Progbar")
def test_progbar_prints_what_keras_prints():
    keras = keras_or_skip()
    screens = []
    for m in (keras, nk):
        out = io.StringIO()
        with redirect_stdout(out):
            bar = m.utils.Progbar(5, width=10, interval=0.0)
            for i in range(1, 6):
                bar.update(i, values=[("loss", 0.5 / i), ("acc", i / 10)])
            unknown = m.utils.Progbar(None, interval=0.0, unit_name="batch")
            unknown.update(3, finalize=True)
            quiet = m.utils.Progbar(4, verbose=2)
            quiet.update(4, values=[("mae", 1.25)])
            silent = m.utils.Progbar(3, verbose=0)
            silent.update(3)
        screens.append(_screen(out.getvalue()))
    k, n = screens
    assert n[-3:] == k[-3:], (n, k)  # the final state of each bar
    assert set(n) <= set(k)  # every line neuronka shows, Keras showed too
