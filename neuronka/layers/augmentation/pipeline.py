"""Pipeline (a plain layer running layers in sequence, Keras's augmentation container) and
MaxNumBoundingBoxes (boxes truncated or padded to a fixed count)."""
from __future__ import annotations

from ... import ops
from ..base import Layer
from .base import BaseImagePreprocessingLayer

__all__ = ["MaxNumBoundingBoxes", "Pipeline"]


class Pipeline(Layer):
    """y = f_n(… f_2(f_1(x))): the ``layers`` applied in order to an image batch or an augmentation dict,
    each given ``training`` (True by default, as in Keras, so a pipeline called directly augments) and the
    mask of the previous output. Not a model: no ``fit``, no summary; its config is ``{"layers": [...],
    "name"}`` as Keras's."""

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(x, Layer) for x in layers):
            raise ValueError(f"Pipeline: expected `layers` to be a list of layers, received layers={layers!r}")
        self._pipeline_layers = list(layers)

    @property
    def layers(self) -> list:
        return self._pipeline_layers

    def call(self, inputs, training=True, mask=None):
        outputs = inputs
        for layer in self._pipeline_layers:
            kwargs = {}
            if layer._call_has_mask and mask is not None:
                kwargs["mask"] = mask
            if layer._call_has_training and training is not None:
                kwargs["training"] = training
            outputs = layer(inputs, **kwargs)
            inputs = outputs
            mask = getattr(outputs, "_keras_mask", None)
        return outputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self) -> dict:
        from ...serialization import serialize_keras_object  # noqa: PLC0415

        return {"layers": serialize_keras_object(self._pipeline_layers), "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        from ...serialization import deserialize_keras_object  # noqa: PLC0415

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"`Pipeline` config must contain a `layers` key mapping to a list of serialized layers. "
                             f"Received config with layers={layers}.")
        return cls(**{**config, "layers": [deserialize_keras_object(x, custom_objects=custom_objects)
                                           for x in layers]})


class MaxNumBoundingBoxes(BaseImagePreprocessingLayer):
    """Gives every image exactly ``max_number`` boxes: the first ``max_number`` are kept, missing ones are
    added with boxes and labels equal to ``fill_value`` (−1). Images, labels and masks pass through. Needs
    ``bounding_box_format`` when called on boxes (the base's rule). As in Keras, ``fill_value`` is not part of
    the config (a rebuilt layer pads with −1).
    """

    def __init__(self, max_number: int, fill_value: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)
        if self.max_number < 0:
            raise ValueError(f"MaxNumBoundingBoxes: expected a non-negative `max_number`, received {max_number}")

    def transform_images(self, images, transformation=None, training=True):
        return images

    def transform_labels(self, labels, transformation=None, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """boxes (batch, N, 4) → (batch, max_number, 4), labels (batch, N) → (batch, max_number)."""
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        missing = max(self.max_number - boxes.shape[1], 0)
        boxes = ops.pad(boxes[:, :self.max_number], [[0, 0], [0, missing], [0, 0]], constant_values=self.fill_value)
        labels = ops.pad(labels[:, :self.max_number], [[0, 0], [0, missing]], constant_values=self.fill_value)
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def transform_segmentation_masks(self, segmentation_masks, transformation=None, training=True):
        return segmentation_masks

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            extra = set(input_shape["bounding_boxes"]) - {"boxes", "labels"}
            if extra:
                raise KeyError(f"There are unsupported keys in `bounding_boxes`: {sorted(extra)}. Only `boxes` and "
                               f"`labels` are supported.")
            boxes = list(input_shape["bounding_boxes"]["boxes"])
            labels = list(input_shape["bounding_boxes"]["labels"])
            boxes[1] = labels[1] = self.max_number
            return {**input_shape, "bounding_boxes": {**input_shape["bounding_boxes"], "boxes": tuple(boxes),
                                                      "labels": tuple(labels)}}
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "max_number": self.max_number}
