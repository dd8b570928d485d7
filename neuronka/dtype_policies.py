"""``neuronka.dtype_policies``: Keras 3's dtype policies — which dtype a layer computes in and stores its
weights in.

A policy named ``"float32"`` (or any float dtype) computes and stores in that dtype; ``"mixed_float16"``
computes in float16 and keeps the variables in float32 (``"mixed_bfloat16"`` is refused: NumPy has no
bfloat16). Quantized policies (int8, int4, float8, GPTQ, AWQ) are Keras's quantization API and are not
part of neuronka.
"""
from __future__ import annotations

from . import config

_FLOATS = ("float16", "float32", "float64")
# other dtypes Keras accepts as a policy name (a layer computing on integers or booleans, e.g. a lookup)
_OTHER = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "complex64",
          "complex128")


class DTypePolicy:
    """``compute_dtype``: the dtype of a layer's computations; ``variable_dtype``: of its weights."""

    def __init__(self, name=None):
        name = config.floatx() if name is None else name
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, such as 'mixed_float16'. Received: name={name} "
                            f"(of type {type(name)})")
        if name == "mixed_float16":
            compute, variable = "float16", "float32"
        elif name in _FLOATS or name in _OTHER:
            compute = variable = name
        else:
            raise ValueError(f"Cannot convert '{name}' to a mixed precision DTypePolicy. Valid policies include "
                             f"'mixed_float16', 'float16', 'float32' and 'float64' (neuronka has no bfloat16)")
        self._name, self._compute_dtype, self._variable_dtype = name, compute, variable

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._variable_dtype

    @property
    def quantization_mode(self):
        return None

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config_dict):
        return cls(**config_dict)

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


FloatDTypePolicy = DTypePolicy


def get(identifier) -> DTypePolicy:
    """A policy from a name, a config dict or a policy (``None``: the global policy)."""
    if identifier is None:
        return config.dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    raise ValueError(f"Cannot interpret `dtype` argument. Expected a string or an instance of DTypePolicy. "
                     f"Received: identifier={identifier!r}")


def serialize(policy) -> dict:
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(), "registered_name": None}


def deserialize(config_dict, custom_objects=None) -> DTypePolicy:
    name = config_dict.get("class_name")
    if name not in ("DTypePolicy", "FloatDTypePolicy"):
        raise ValueError(f"dtype_policies.deserialize: expected class_name 'DTypePolicy', received {name!r}")
    return DTypePolicy.from_config(config_dict.get("config", {}))
