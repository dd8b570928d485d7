"""``neuronka.tree``: Keras 3's nested-structure utilities (``keras.tree``)."""
from __future__ import annotations

__all__: list[str] = []
