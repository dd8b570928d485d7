"""``neuronka.export``: writing a model for other runtimes — ONNX (``model.export(path, format="onnx")``).

Where things are: the walk over the model and the atomic file write in :mod:`.onnx_export`, the graph
builder and the channels-first/-last bookkeeping in :mod:`.onnx_graph`, the layer → converter table in
:mod:`.registry`, and one module of converters per layer family (``convert_*.py``). See docs/export.md.
"""
from .onnx_export import DEFAULT_OPSET, build_onnx_model, export_onnx
from .registry import UnsupportedLayerError

__all__ = ["DEFAULT_OPSET", "UnsupportedLayerError", "build_onnx_model", "export_onnx"]
