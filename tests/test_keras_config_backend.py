"""``neuronka.config``, ``neuronka.backend`` (Keras's ``keras.backend`` functions) and ``neuronka.dtypes``
against real Keras 3.15.1: defaults, setters, type promotion, dtype names, name uids."""
from __future__ import annotations

import itertools

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_api, keras_or_skip

CONFIG_GETTERS = ["floatx", "epsilon", "image_data_format", "max_epochs", "max_steps_per_epoch",
                  "is_interactive_logging_enabled", "is_traceback_filtering_enabled", "is_flash_attention_enabled",
                  "is_nnx_enabled"]


@keras_api(*[f"config.{n}" for n in CONFIG_GETTERS])
def test_config_defaults_equal_keras():
    keras = keras_or_skip()
    for name in CONFIG_GETTERS:
        assert getattr(nk.config, name)() == getattr(keras.config, name)(), name


@pytest.fixture
def restore_config():
    keras = keras_or_skip()
    saved = [(m, {n: getattr(m.config, n)() for n in CONFIG_GETTERS[:5]}) for m in (nk, keras)]
    yield keras
    for m, values in saved:
        for n, v in values.items():
            getattr(m.config, "set_" + n)(v)
        m.config.enable_interactive_logging()
        m.config.enable_traceback_filtering()
        m.config.set_dtype_policy("float32")


@keras_api("config.set_floatx", "config.set_epsilon", "config.set_image_data_format", "config.set_max_epochs",
           "config.set_max_steps_per_epoch", "backend.set_floatx", "backend.set_epsilon",
           "backend.set_image_data_format", "backend.floatx", "backend.epsilon", "backend.image_data_format")
def test_config_setters_change_what_the_getters_return_as_in_keras(restore_config):
    keras = restore_config
    for setter, getter, value in [("set_floatx", "floatx", "float64"), ("set_floatx", "floatx", "float16"),
                                  ("set_epsilon", "epsilon", 1e-4),
                                  ("set_image_data_format", "image_data_format", "channels_first"),
                                  ("set_image_data_format", "image_data_format", "Channels_Last"),
                                  ("set_max_epochs", "max_epochs", 3),
                                  ("set_max_steps_per_epoch", "max_steps_per_epoch", 7)]:
        for ns in ("config", "backend"):
            if not hasattr(getattr(keras, ns), setter):
                continue
            getattr(getattr(keras, ns), setter)(value)
            getattr(getattr(nk, ns), setter)(value)
            assert getattr(getattr(nk, ns), getter)() == getattr(getattr(keras, ns), getter)(), (ns, setter, value)
    # the new floatx reaches what neuronka creates
    nk.config.set_floatx("float64")
    assert nk.Tensor([1.0, 2.0]).dtype == numpy.float64
    nk.config.set_floatx("float32")
    assert nk.Tensor([1.0, 2.0]).dtype == numpy.float32


@keras_api("config.set_floatx", "config.set_image_data_format")
def test_config_setters_refuse_what_keras_refuses(restore_config):
    keras = restore_config
    for setter, bad in [("set_floatx", "int32"), ("set_floatx", "float128"), ("set_image_data_format", "nhwc")]:
        with pytest.raises(ValueError):
            getattr(keras.config, setter)(bad)
        with pytest.raises(ValueError, match=str(bad)):
            getattr(nk.config, setter)(bad)


@keras_api("config.enable_interactive_logging", "config.disable_interactive_logging",
           "config.is_interactive_logging_enabled", "config.enable_traceback_filtering",
           "config.disable_traceback_filtering", "config.is_traceback_filtering_enabled",
           "config.enable_flash_attention", "config.disable_flash_attention", "config.is_flash_attention_enabled",
           "utils.enable_interactive_logging", "utils.disable_interactive_logging",
           "utils.is_interactive_logging_enabled")
def test_config_switches_toggle_as_in_keras(restore_config):
    keras = restore_config
    for ns in ("config", "utils"):
        for on, off, query in [("enable_interactive_logging", "disable_interactive_logging",
                                "is_interactive_logging_enabled"),
                               ("enable_traceback_filtering", "disable_traceback_filtering",
                                "is_traceback_filtering_enabled"),
                               ("enable_flash_attention", "disable_flash_attention", "is_flash_attention_enabled")]:
            kns, nns = getattr(keras, ns), getattr(nk, ns)
            if not hasattr(kns, on):
                continue
            for fn in (off, on, off):
                getattr(kns, fn)()
                getattr(nns, fn)()
                assert getattr(nns, query)() == getattr(kns, query)(), (ns, fn)
    keras.config.disable_flash_attention()  # neither Keras nor neuronka has a way back to "undecided"


@keras_api("config.dtype_policy", "config.set_dtype_policy")
def test_dtype_policy_names_and_dtypes_equal_keras(restore_config):
    keras = restore_config
    for name in ("float32", "float64", "float16", "mixed_float16"):
        keras.config.set_dtype_policy(name)
        nk.config.set_dtype_policy(name)
        kp, np_ = keras.config.dtype_policy(), nk.config.dtype_policy()
        assert (np_.name, np_.compute_dtype, np_.variable_dtype) == (kp.name, kp.compute_dtype, kp.variable_dtype)
    with pytest.raises(ValueError):
        keras.config.set_dtype_policy(3)
    with pytest.raises(ValueError, match="policy"):
        nk.config.set_dtype_policy(3)


@keras_api("config.enable_unsafe_deserialization")
def test_unsafe_deserialization_is_off_until_enabled():
    keras = keras_or_skip()
    from keras.src.saving import serialization_lib

    assert nk.config.is_unsafe_deserialization_enabled() is False
    assert serialization_lib.in_safe_mode() in (None, True)  # Keras: safe unless enabled
    nk.config.enable_unsafe_deserialization()
    keras.config.enable_unsafe_deserialization()
    try:
        assert nk.config.is_unsafe_deserialization_enabled() is True
        assert serialization_lib.in_safe_mode() is False
    finally:
        nk.config.disable_unsafe_deserialization()
        from keras.src.backend.common import global_state

        global_state.set_global_attribute("safe_mode_saving", None)


@keras_api("config.backend", "config.set_backend", "backend.backend")
def test_backend_name_is_neuronka_where_keras_names_its_engine():
    """A deliberate difference: Keras returns the framework it runs on ("torch" here); neuronka is its own
    engine. Both return a lower-case string, and switching to another engine is refused with a clear error."""
    keras = keras_or_skip()
    assert keras.config.backend() == keras.backend.backend() == "torch"
    assert nk.config.backend() == nk.backend.backend() == "neuronka"
    nk.config.set_backend("neuronka")
    with pytest.raises(ValueError, match="'jax'"):
        nk.config.set_backend("jax")


DTYPES = ["bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "float16", "float32", "complex64"]


@keras_api("backend.result_type")
def test_result_type_equals_keras_for_every_pair_of_32_bit_or_narrower_dtypes():
    keras = keras_or_skip()
    weak = [int, float, bool]
    checked = 0
    for a, b in itertools.product(DTYPES + weak, repeat=2):
        try:
            expected = keras.backend.result_type(a, b)
        except ValueError:
            with pytest.raises(ValueError):
                nk.backend.result_type(a, b)
            continue
        assert nk.backend.result_type(a, b) == expected, (a, b)
        checked += 1
    assert checked > 150
    assert nk.backend.result_type() == keras.backend.result_type() == "float32"
    assert nk.backend.result_type("int32", "uint8", float) == keras.backend.result_type("int32", "uint8", float)


def test_result_type_keeps_64_bit_where_keras_on_torch_narrows():
    """Keras on torch maps 64-bit results to 32 bits (float64 + float64 → float32); neuronka keeps them,
    since its gradient checks compute in float64."""
    assert nk.backend.result_type("float64", "float64") == "float64"
    assert nk.backend.result_type("float64", "float32") == "float64"
    assert nk.backend.result_type("int64", "int32") == "int64"
    assert nk.backend.result_type("int64", float) == "float32"  # weak float: floatx, as Keras
    assert nk.backend.result_type("uint8", "int64") == "int64"


@keras_api("backend.standardize_dtype", "utils.standardize_dtype", "backend.is_float_dtype", "backend.is_int_dtype")
def test_standardize_dtype_and_dtype_kinds_equal_keras():
    keras = keras_or_skip()
    import torch

    for value in [None, int, float, bool, "float32", "int8", "bool", "string", numpy.float64, numpy.dtype("uint16"),
                  numpy.int32, "complex64", "bfloat16", torch.float16, torch.int64]:
        assert nk.backend.standardize_dtype(value) == keras.backend.standardize_dtype(value), value
        if value is not None and keras.backend.standardize_dtype(value) != "string":
            assert nk.backend.is_float_dtype(value) == keras.backend.is_float_dtype(value), value
            assert nk.backend.is_int_dtype(value) == keras.backend.is_int_dtype(value), value
    assert nk.utils.standardize_dtype("float16") == keras.utils.standardize_dtype("float16")
    for bad in ("float", "int128", "nope"):
        with pytest.raises(ValueError):
            keras.backend.standardize_dtype(bad)
        with pytest.raises(ValueError, match=f"Invalid dtype: {bad}"):
            nk.backend.standardize_dtype(bad)


@keras_api("backend.get_uid", "backend.clear_session", "utils.clear_session")
def test_get_uid_counts_per_prefix_and_clear_session_restarts_it_as_in_keras():
    keras = keras_or_skip()
    for m in (keras, nk):
        m.backend.clear_session()
    seq = [(p, keras.backend.get_uid(p), nk.backend.get_uid(p)) for p in ["a", "a", "b", "a", "b"]]
    assert all(k == n for _, k, n in seq), seq
    keras.utils.clear_session()
    nk.utils.clear_session()
    assert nk.backend.get_uid("a") == keras.backend.get_uid("a") == 1
    # layer names restart too: the first Dense after clear_session is "dense", as in Keras
    nk.backend.clear_session()
    keras.backend.clear_session()
    names = [nk.layers.Dense(2).name for _ in range(2)]
    assert names == [keras.layers.Dense(2).name for _ in range(2)] == ["dense", "dense_1"]


@keras_api("backend.is_keras_tensor", "utils.is_keras_tensor")
def test_is_keras_tensor_is_true_for_symbolic_inputs_only():
    keras = keras_or_skip()
    for m in (keras, nk):
        x = m.Input((3,))
        assert m.backend.is_keras_tensor(x) and m.utils.is_keras_tensor(x)
        assert not m.backend.is_keras_tensor(numpy.ones(3))
        eager = m.ops.convert_to_tensor(numpy.ones(3)) if m is keras else nk.Tensor(numpy.ones(3))
        assert not m.backend.is_keras_tensor(eager)


def test_settings_table_reads_environment_overrides_and_set(monkeypatch):
    assert nk.config.get("fuse") is True
    monkeypatch.setenv("NEURONKA_FUSE", "0")
    assert nk.config.get("fuse") is False
    nk.config.set("fuse", True)
    try:
        assert nk.config.get("fuse") is True
    finally:
        nk.config.reset("fuse")
    monkeypatch.setenv("NEURONKA_CONV_THREADS", "zero")
    with pytest.raises(ValueError, match="NEURONKA_CONV_THREADS: expected a positive integer, received 'zero'"):
        nk.config.get("conv_threads")
    with pytest.raises(KeyError, match="unknown setting 'fusion'"):
        nk.config.get("fusion")
    table = nk.config.settings_table()
    assert all(f"`{s.env}`" in table for s in nk.config.SETTINGS.values())


def test_docs_settings_table_is_the_table_of_the_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text()
    assert nk.config.settings_table() in doc, "docs/settings.md is stale: rewrite it with python -m neuronka.config"


@keras_api("config.max_epochs", "config.set_max_epochs", "config.max_steps_per_epoch",
           "config.set_max_steps_per_epoch")
def test_max_epochs_and_steps_cap_fit_as_in_keras(restore_config):
    keras = restore_config
    x, y = numpy.ones((40, 3), "float32"), numpy.ones((40, 1), "float32")
    seen = []
    for m in (keras, nk):
        m.config.set_max_epochs(2)
        m.config.set_max_steps_per_epoch(3)
        model = m.Sequential([m.Input((3,)), m.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        steps = []
        cb = m.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs, steps=steps: steps.append(batch))
        with pytest.warns(UserWarning, match="Limiting"):
            history = model.fit(x, y, epochs=5, batch_size=4, verbose=0, callbacks=[cb])
        seen.append((len(history.history["loss"]), steps))
        m.config.set_max_epochs(None)
        m.config.set_max_steps_per_epoch(None)
    assert seen[0] == seen[1] == (2, [0, 1, 2, 0, 1, 2])
