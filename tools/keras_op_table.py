"""Write ``neuronka/layers/keras_operations.json``: how Keras 3 records an op called on symbolic tensors.

In a Keras functional model, ``keras.ops.add(x, 3.0)`` becomes a node of the operation class ``Add``
(``keras.src.ops.numpy``): the class's constructor arguments go into the layer's ``config``, its ``call``
arguments (tensors and the other call-time values) into the node's ``args``. neuronka's
:class:`~neuronka.layers.operation.OperationLayer` reads and writes that form with this table: per class, its
module, the public function that creates it, and the names of its constructor and call parameters.

Only names are read from Keras (by ``inspect``), nothing else. Run with Keras 3.15.1 installed::

    KERAS_BACKEND=torch python tools/keras_op_table.py
"""
from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path

MODULES = ("numpy", "nn", "math", "linalg", "image", "core")
# classes several functions create, or none by name: the function that owns them
OWNER = {("numpy", "I0"): "i0", ("image", "ExtractPatches"): "extract_patches", ("numpy", "Abs"): "absolute",
         ("numpy", "Conj"): "conjugate"}
OUT = Path(__file__).resolve().parents[1] / "neuronka" / "layers" / "keras_operations.json"


def _params(fn) -> list[list[str]]:
    """[name, kind] of each parameter but self and name; kind "*" for *args, "" otherwise."""
    out = []
    for p in list(inspect.signature(fn).parameters.values())[1:]:
        if p.name == "name" or p.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        out.append([p.name, "*" if p.kind is inspect.Parameter.VAR_POSITIONAL else ""])
    return out


def build() -> dict:
    from keras.src.ops.operation import Operation

    table = {}
    for module_name in MODULES:
        module = importlib.import_module(f"keras.src.ops.{module_name}")
        functions = {n: inspect.getsource(f) for n, f in vars(module).items()
                     if inspect.isfunction(f) and f.__module__ == module.__name__ and not n.startswith("_")}
        for cls_name, cls in sorted(vars(module).items()):
            if not (inspect.isclass(cls) and issubclass(cls, Operation) and cls.__module__ == module.__name__):
                continue
            owner = OWNER.get((module_name, cls_name))
            if owner is None:
                users = [n for n, src in functions.items() if re.search(rf"\b{cls_name}\(", src)]
                if len(users) != 1:
                    continue  # a base class (SegmentReduction): never a node of its own
                owner = users[0]
            table[cls_name] = {"module": module.__name__, "namespace": module_name, "function": owner,
                               "init": _params(cls.__init__), "call": _params(cls.call)}
    return table


def main() -> None:
    table = build()
    OUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(table)} operation classes → {OUT}")


if __name__ == "__main__":
    main()
