"""Core ops of ``keras.ops``: conversion (convert_to_tensor, convert_to_numpy, is_tensor, shape, dtype,
saturate_cast, copy), stop_gradient, custom_gradient, the control flow run eagerly with gradients through
it (cond, switch, while_loop, fori_loop, scan, associative_scan, map, vectorized_map, vectorize), jvp,
slice / slice_update and scatter / scatter_update."""
from __future__ import annotations

__all__: list[str] = []
