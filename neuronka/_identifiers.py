"""Resolving ``keras.<namespace>.get(identifier)`` for the namespaces that share Keras's simple rule
(regularizers, constraints): None, an instance, a registered name, a config dict, or any callable."""
from __future__ import annotations


def serialize(obj) -> dict | None:
    """``{"class_name": ..., "config": obj.get_config()}``, or None for None."""
    if obj is None:
        return None
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def get(identifier, base: type, table: dict, what: str):
    """None or a ``base`` instance as is; a name in ``table`` instantiated; a config dict through ``from_config``;
    any other callable as is; anything else a ValueError naming ``what`` and the accepted names."""
    if identifier is None or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str) and identifier in table:
        return table[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in table:
        return table[identifier["class_name"]].from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"Unknown {what}: received {identifier!r}; expected one of {sorted(set(table))}, "
                     f"a config dict or a callable")
