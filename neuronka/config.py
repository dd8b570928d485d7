"""``neuronka.config``: every setting of the framework in one place (Keras 3's ``keras.config``).

Two kinds of settings live here:

* **Keras's**, with Keras's names and defaults: ``floatx()`` (``"float32"``), ``epsilon()`` (``1e-7``),
  ``image_data_format()`` (``"channels_last"``), ``max_epochs()`` / ``max_steps_per_epoch()`` (caps on
  ``fit``, ``None``), interactive logging (progress bars), unsafe deserialization, the dtype policy, flash
  attention and traceback filtering (recorded; neuronka has one attention kernel and no traceback filter).
* **neuronka's own switches** (compiled kernels, fusion, inference plans, convolution threads, ...): one
  table, :data:`SETTINGS`, read with :func:`get` and changed with :func:`set`. Each has an environment
  variable that overrides its default when the process starts (``NEURONKA_FUSE=0``); docs/settings.md
  lists them all (generated from the table by ``python -m neuronka.config``).

This module imports nothing of neuronka: every other module may import it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

# ------------------------------------------------------------------------------------------------
# Keras's settings (keras/src/backend/config.py; the environment overrides of Keras work here too:
# KERAS_MAX_EPOCHS, KERAS_MAX_STEPS_PER_EPOCH)
# ------------------------------------------------------------------------------------------------
_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_MAX_EPOCHS = int(os.environ["KERAS_MAX_EPOCHS"]) if os.environ.get("KERAS_MAX_EPOCHS") else None
_MAX_STEPS_PER_EPOCH = (int(os.environ["KERAS_MAX_STEPS_PER_EPOCH"])
                        if os.environ.get("KERAS_MAX_STEPS_PER_EPOCH") else None)
_INTERACTIVE_LOGGING = True
_UNSAFE_DESERIALIZATION = False
_FLASH_ATTENTION: bool | None = None  # None: decided per call, as in Keras
_TRACEBACK_FILTERING = True
_DTYPE_POLICY = None  # None: the policy named after floatx()

BACKEND_NAME = "neuronka"
_FLOAT_DTYPES = ("bfloat16", "float16", "float32", "float64")


def floatx() -> str:
    """The default float dtype of new weights and tensors (``"float32"``)."""
    return _FLOATX


def set_floatx(value) -> None:
    """Set the default float dtype: ``"float16"``, ``"bfloat16"``, ``"float32"`` or ``"float64"``."""
    global _FLOATX
    name = getattr(value, "name", value)
    if name not in _FLOAT_DTYPES:
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of {{{', '.join(map(repr, _FLOAT_DTYPES))}}}")
    if name == "bfloat16":
        raise ValueError("set_floatx: neuronka computes on NumPy, which has no bfloat16; expected 'float16', "
                         "'float32' or 'float64', received 'bfloat16'")
    _FLOATX = str(name)


def epsilon() -> float:
    """The fuzz factor ε of numeric expressions (``1e-7``): probabilities are clipped to [ε, 1 − ε]."""
    return _EPSILON


def set_epsilon(value) -> None:
    """Set the fuzz factor returned by :func:`epsilon`."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (images as (height, width, channels), the default) or ``"channels_first"``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format) -> None:
    """Set the default layout of image tensors: ``"channels_last"`` or ``"channels_first"``."""
    global _IMAGE_DATA_FORMAT
    data_format = str(data_format).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"The `data_format` argument must be one of {{'channels_first', 'channels_last'}}. "
                         f"Received: data_format={data_format}")
    _IMAGE_DATA_FORMAT = data_format


def standardize_data_format(data_format) -> str:
    """``data_format`` checked and lower-cased; ``None`` gives :func:`image_data_format`."""
    if data_format is None:
        return image_data_format()
    data_format = str(data_format).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"The `data_format` argument must be one of {{'channels_first', 'channels_last'}}. "
                         f"Received: data_format={data_format}")
    return data_format


def backend() -> str:
    """The name of the engine computing the ops: always ``"neuronka"`` (Keras: ``"torch"``, ``"jax"``, ...)."""
    return BACKEND_NAME


def set_backend(backend_name) -> None:
    """Keras switches between TensorFlow, JAX and PyTorch here; neuronka is its own engine, so only
    ``"neuronka"`` (or ``"numpy"``, its array module) is accepted."""
    if backend_name not in (BACKEND_NAME, "numpy"):
        raise ValueError(f"set_backend: neuronka computes with its own engine on NumPy; expected 'neuronka', "
                         f"received {backend_name!r} (that backend needs real Keras)")


def max_epochs():
    """A cap on the number of epochs of ``fit`` (``None``: no cap); ``KERAS_MAX_EPOCHS`` sets it too."""
    return _MAX_EPOCHS


def set_max_epochs(max_epochs) -> None:
    global _MAX_EPOCHS
    _MAX_EPOCHS = max_epochs


def max_steps_per_epoch():
    """A cap on the steps of each epoch of ``fit`` (``None``: no cap)."""
    return _MAX_STEPS_PER_EPOCH


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    global _MAX_STEPS_PER_EPOCH
    _MAX_STEPS_PER_EPOCH = max_steps_per_epoch


def enable_interactive_logging() -> None:
    """Progress bars and per-epoch lines printed by ``fit`` / ``evaluate`` / ``predict`` (the default)."""
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = True


def disable_interactive_logging() -> None:
    """Send the training logs to Python's ``logging`` instead of printing them."""
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = False


def is_interactive_logging_enabled() -> bool:
    return _INTERACTIVE_LOGGING


def enable_unsafe_deserialization() -> None:
    """Allow loading what can run code (``Lambda`` layers' bytecode); off by default, as in Keras."""
    global _UNSAFE_DESERIALIZATION
    _UNSAFE_DESERIALIZATION = True


def disable_unsafe_deserialization() -> None:
    global _UNSAFE_DESERIALIZATION
    _UNSAFE_DESERIALIZATION = False


def is_unsafe_deserialization_enabled() -> bool:
    return _UNSAFE_DESERIALIZATION


def enable_flash_attention() -> None:
    """Let attention use its flash form where it can (Keras's ``None``: decided per call); neuronka's
    attention is one fused kernel either way."""
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = None


def disable_flash_attention() -> None:
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = False


def is_flash_attention_enabled():
    """``False`` once disabled, else ``None`` (enabled where possible), as in Keras."""
    return _FLASH_ATTENTION


def enable_traceback_filtering() -> None:
    """Recorded for Keras scripts; neuronka's tracebacks are never filtered."""
    global _TRACEBACK_FILTERING
    _TRACEBACK_FILTERING = True


def disable_traceback_filtering() -> None:
    global _TRACEBACK_FILTERING
    _TRACEBACK_FILTERING = False


def is_traceback_filtering_enabled() -> bool:
    return _TRACEBACK_FILTERING


def is_nnx_enabled() -> bool:
    """Flax NNX is a JAX feature: never enabled here."""
    return False


def dtype_policy():
    """The global dtype policy (a ``DTypePolicy`` named after :func:`floatx` unless one was set)."""
    if _DTYPE_POLICY is not None:
        return _DTYPE_POLICY
    from .dtype_policies import DTypePolicy  # noqa: PLC0415 - config imports nothing at module level

    return DTypePolicy(floatx())


def set_dtype_policy(policy) -> None:
    """Set the global dtype policy: a name (``"float32"``, ``"mixed_float16"``, ...) or a ``DTypePolicy``."""
    global _DTYPE_POLICY
    from .dtype_policies import DTypePolicy  # noqa: PLC0415

    if isinstance(policy, str):
        policy = DTypePolicy(policy)
    if policy is not None and not isinstance(policy, DTypePolicy):
        raise ValueError(f"Invalid `policy` argument. Expected the string name of a policy (such as "
                         f"'mixed_float16') or a `DTypePolicy` instance. Received: policy={policy!r} "
                         f"(of type {type(policy).__name__})")
    _DTYPE_POLICY = policy


# ------------------------------------------------------------------------------------------------
# neuronka's own switches
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One switch: its name, default, the environment variable that overrides it, what it does."""

    name: str
    default: Any
    env: str
    help: str
    read: str = "at each use"  # when the value is read: "at each use" or "at import"


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("kernels", True, "NEURONKA_KERNELS",
            "Numba-compiled fused kernels (batch norm, ReLU, adds, pooling); off: the NumPy paths", "at import"),
    Setting("native", True, "NEURONKA_NATIVE",
            "the compiled C library ops/_native (convolution kernels, LSTM loops); off: BLAS/NumPy paths",
            "at import"),
    Setting("native_build", "auto", "NEURONKA_NATIVE_BUILD",
            "which build of the C library to load: 'auto' (the widest the CPU supports), 'avx512', 'avx2' or "
            "'baseline' (any x86-64 CPU); a build the CPU cannot run is never loaded", "at import"),
    Setting("blas", True, "NEURONKA_BLAS",
            "direct BLAS GEMM calls by pointer (ops/blas.py); off: numpy.matmul", "at import"),
    Setting("direct", True, "NEURONKA_DIRECT",
            "the compiled register-blocked convolution kernels of _native; off: BLAS per tap", "at import"),
    Setting("conv_strategy", "auto", "NEURONKA_CONV",
            "which convolution algorithm runs: 'auto', 'grid' (shifted GEMMs) or 'im2col'"),
    Setting("conv_threads", None, "NEURONKA_CONV_THREADS",
            "workers a batch is cut for in the convolution and other batch-parallel kernels (None: the BLAS "
            "thread count); they run on one pool of max(cores, this) - 1 threads and the calling one (ops/threads.py)"),
    Setting("fuse", True, "NEURONKA_FUSE",
            "models fuse a ReLU layer into the BatchNormalization or Add before it", "at model build"),
    Setting("plans", True, "NEURONKA_PLANS",
            "predict replays a recorded inference plan (batch norm folded into convolutions)"),
    Setting("malloc_tuning", False, "NEURONKA_MALLOC_TUNING",
            "raise glibc's mmap/trim thresholds so freed activations are reused (backend.tune_allocator): off on "
            "import (a library leaves its host's allocator alone); the neuronka command and the benchmarks turn "
            "it on unless this is 0", "at import"),
    Setting("allreduce_overlap", True, "NEURONKA_ALLREDUCE_OVERLAP",
            "under a DataParallel over several MPI processes, start each gradient bucket's allreduce during the "
            "backward pass, as soon as its gradients are final (docs/distributed.md); off: all after the backward"),
    Setting("data", None, "NEURONKA_DATA", "the folder of datasets looked in before the user cache"),
    Setting("kernel_cache", None, "NEURONKA_KERNEL_CACHE",
            "the folder Numba keeps the compiled kernels in (None: $XDG_CACHE_HOME/neuronka/numba, else "
            "~/.cache/neuronka/numba; never the package folder); NUMBA_CACHE_DIR, when set, wins", "at import"),
    Setting("max_archive_bytes", 4 << 30, "NEURONKA_MAX_ARCHIVE_BYTES",
            "the most bytes a dataset archive (.tar.gz) may inflate to in memory; more is an error"),
    Setting("max_extract_bytes", 16 << 30, "NEURONKA_MAX_EXTRACT_BYTES",
            "the most bytes one archive may extract to (utils.get_file, extract_archive); more is an error"),
)}

_values: dict[str, Any] = {}
_appliers: dict[str, Any] = {}


def register_applier(name: str, apply) -> None:
    """Let the module that holds switch ``name`` act on :func:`set` at once (``apply(value)``): the
    module keeps the value where its hot path reads it; this table stays the one way to change it."""
    _appliers[name] = apply


def _parse(setting: Setting, raw: str):
    if isinstance(setting.default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"environment variable {setting.env}: expected 0 or 1, received {raw!r}")
    if setting.name in ("conv_threads", "max_extract_bytes", "max_archive_bytes"):
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"environment variable {setting.env}: expected a positive integer, "
                             f"received {raw!r}") from None
        if value < 1:
            raise ValueError(f"environment variable {setting.env}: expected a positive integer, received {raw!r}")
        return value
    return raw


def get(name: str):
    """The value of neuronka's switch ``name`` (see :data:`SETTINGS`): set by :func:`set`, else its
    environment variable, else its default."""
    if name in _values:
        return _values[name]
    try:
        setting = SETTINGS[name]
    except KeyError:
        raise KeyError(f"neuronka.config.get: unknown setting {name!r}; expected one of {sorted(SETTINGS)}") from None
    raw = os.environ.get(setting.env)
    return setting.default if raw in (None, "") else _parse(setting, raw)


def set(name: str, value) -> None:  # noqa: A001 - config.set(name, value), as in a settings table
    """Change neuronka's switch ``name`` for this process (settings read "at import" take effect in a new
    process: set their environment variable instead)."""
    if name not in SETTINGS:
        raise KeyError(f"neuronka.config.set: unknown setting {name!r}; expected one of {sorted(SETTINGS)}")
    if name in _appliers:
        _appliers[name](value)
    _values[name] = value


def reset(name: str | None = None) -> None:
    """Forget values given to :func:`set` (all of them when ``name`` is None)."""
    for key in list(_values) if name is None else [name]:
        _values.pop(key, None)
        if key in _appliers:
            _appliers[key](get(key))


def settings_table() -> str:
    """The Markdown table of docs/settings.md."""
    rows = ["| setting | environment variable | default | read | what it does |", "|---|---|---|---|---|"]
    for s in SETTINGS.values():
        rows.append(f"| `{s.name}` | `{s.env}` | `{s.default!r}` | {s.read} | {s.help} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m neuronka.config: the table of docs/settings.md
    print(settings_table())
