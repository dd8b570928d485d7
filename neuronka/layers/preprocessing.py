"""Preprocessing layers that are part of a model: Resizing and Rescaling.

Both accept a batch (N, H, W, C) or a single image (H, W, C) (channels_first: (N, C, H, W) / (C, H, W)),
and both are differentiable, so they can sit anywhere in a model.
"""
from __future__ import annotations

import numpy

from .. import ops
from ..ops.convolution import normalize_data_format
from .base import Layer

__all__ = ["Rescaling", "Resizing"]

_RESIZE_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


class Resizing(Layer):
    """Resizes images to (height, width) with :func:`neuronka.ops.image.resize` (which also holds the
    cropping/padding rules and lists the interpolations implemented: "bilinear", "nearest").

    ``crop_to_aspect_ratio=True`` first takes the largest centred crop with the target aspect ratio
    width/height (so the image is not distorted); ``pad_to_aspect_ratio=True`` instead pads the image
    evenly with ``fill_value`` up to that ratio. Otherwise the image is stretched. Integer images come back
    in their dtype, rounded and clipped to its range (Keras's); float ones in the layer's dtype.
    Keras's dict inputs with bounding boxes (``bounding_box_format``) are not supported.
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs):
        bounding_box_format = kwargs.pop("bounding_box_format", None)
        if bounding_box_format is not None:
            raise NotImplementedError(f"Resizing: bounding boxes are not supported; expected "
                                      f"bounding_box_format=None, received {bounding_box_format!r}")
        super().__init__(**kwargs)
        for arg, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, (int, numpy.integer)) or v <= 0:
                raise ValueError(f"Resizing: expected a positive integer for `{arg}`, received {arg}={v!r}")
        if interpolation not in _RESIZE_INTERPOLATIONS:
            raise ValueError(f"Resizing: expected `interpolation` to be one of {list(_RESIZE_INTERPOLATIONS)}, "
                             f"received interpolation={interpolation!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: expected at most one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio`, "
                             "received both set to True")
        if fill_mode != "constant":
            raise ValueError(f"Resizing: only fill_mode='constant' is supported, received fill_mode={fill_mode!r}")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)
        self.data_format = normalize_data_format(data_format, "Resizing")

    def _hw_axes(self, ndim: int) -> tuple[int, int]:
        if ndim not in (3, 4):
            raise ValueError(f"Resizing {self.name!r}: expected images of rank 3 (H, W, C) or 4 (N, H, W, C), "
                             f"received rank {ndim}")
        first = ndim - 3  # 0 for a single image, 1 for a batch
        return (first, first + 1) if self.data_format == "channels_last" else (first + 1, first + 2)

    def call(self, inputs):
        from ..ops import image  # noqa: PLC0415

        self._hw_axes(inputs.ndim)
        is_float = numpy.issubdtype(inputs.dtype, numpy.floating)
        x = inputs if is_float else ops.cast(inputs, self.compute_dtype)
        y = image.resize(x, (self.height, self.width), interpolation=self.interpolation, antialias=self.antialias,
                         crop_to_aspect_ratio=self.crop_to_aspect_ratio, pad_to_aspect_ratio=self.pad_to_aspect_ratio,
                         fill_mode=self.fill_mode, fill_value=self.fill_value, data_format=self.data_format)
        if is_float:
            return y
        info = numpy.iinfo(inputs.dtype) if inputs.dtype != numpy.bool_ else None
        y = ops.round(y)
        if info is not None:
            y = ops.clip(y, info.min, info.max)
        return ops.cast(y, inputs.dtype)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        hi, wi = self._hw_axes(len(out))
        out[hi], out[wi] = self.height, self.width
        return tuple(out)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class Rescaling(Layer):
    """y = x · scale + offset (e.g. ``Rescaling(1/255)`` maps [0, 255] to [0, 1]); integer inputs become
    floats. ``scale`` and ``offset`` may be per-channel lists (broadcast against the last axis, or against
    axis −3 when ``keras.config.image_data_format()`` is "channels_first", as Keras does)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, v in (("scale", scale), ("offset", offset)):
            try:
                numpy.asarray(v, dtype=numpy.float64)
            except (TypeError, ValueError):
                raise ValueError(f"Rescaling: expected a number or a list of numbers for `{arg}`, "
                                 f"received {arg}={v!r}") from None
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def _as_dtype(self, value, dtype):
        return float(value) if numpy.ndim(value) == 0 else numpy.asarray(value, dtype=dtype)

    def call(self, inputs):
        from ..config import image_data_format  # noqa: PLC0415

        x = inputs
        if not numpy.issubdtype(x.dtype, numpy.floating):
            x = ops.cast(x, self.compute_dtype)
        scale = self._as_dtype(self.scale, x.dtype)
        if numpy.ndim(scale) > 0 and image_data_format() == "channels_first":
            scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        return x * scale + self._as_dtype(self.offset, x.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        from ..serialization import serialize_keras_object  # noqa: PLC0415

        return {**super().get_config(), "scale": serialize_keras_object(self.scale),
                "offset": serialize_keras_object(self.offset)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..serialization import deserialize_keras_object  # noqa: PLC0415

        config = dict(config)
        for key in ("scale", "offset"):
            if key in config:
                config[key] = deserialize_keras_object(config[key], custom_objects=custom_objects)
        return cls(**config)
