"""Bounding boxes for the augmentation layers: Keras's formats, conversions and geometric helpers
(the functions of ``keras.utils.bounding_boxes``, with its names and arguments).

A set of boxes is a ``(..., 4)`` tensor in one of the formats of :data:`SUPPORTED_FORMATS`; in the
layers it travels in a dict ``{"boxes": (batch, num_boxes, 4), "labels": (batch, num_boxes)}``.
Absolute formats are in pixels, the ``rel_`` ones in fractions of the image's width and height:

    xyxy         (left, top, right, bottom)          yxyx         (top, left, bottom, right)
    xywh         (left, top, width, height)          center_xywh  (x_c, y_c, width, height)
    center_yxhw  (y_c, x_c, height, width)           rel_xyxy, rel_yxyx, rel_xywh, rel_center_xywh

Every conversion goes through xyxy: x1 = x_c − w/2, x2 = x_c + w/2; rel → absolute multiplies x by the
width and y by the height (``height``/``width`` may be tensors broadcasting against the boxes).
All functions take and return neuronka Tensors (or arrays) and compute with ``neuronka.ops``.
"""
from __future__ import annotations

import math

import numpy

from ... import ops
from ...autograd import Tensor

__all__ = ["SUPPORTED_FORMATS", "affine_transform", "clip_to_image_size", "convert_format", "crop",
           "densify_bounding_boxes", "pad", "validate_bounding_boxes"]

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")


def check_format(bounding_box_format, owner: str) -> None:
    """A clear ValueError unless ``bounding_box_format`` is None or one of :data:`SUPPORTED_FORMATS`."""
    if bounding_box_format is None:
        return
    if not isinstance(bounding_box_format, str) or bounding_box_format.lower() not in SUPPORTED_FORMATS:
        raise ValueError(f"{owner}: expected `bounding_box_format` to be None or one of {list(SUPPORTED_FORMATS)}, "
                         f"received bounding_box_format={bounding_box_format!r}")


def _columns(boxes) -> list[Tensor]:
    """The four coordinates of ``boxes`` as (..., 1) tensors."""
    return ops.split(boxes, 4, axis=-1)


def _join(columns) -> Tensor:
    return ops.concatenate(list(columns), axis=-1)


# ----------------------------------------------------------------------------------------------
# to and from xyxy (absolute); h, w are the image's height and width for the rel_ formats
# ----------------------------------------------------------------------------------------------
def _to_xyxy(boxes, fmt: str, h, w) -> Tensor:
    a, b, c, d = _columns(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join([b, a, d, c])
    if fmt == "xywh":  # x2 = x1 + w
        return _join([a, b, a + c, b + d])
    if fmt == "center_xywh":  # x1 = xc − w/2, x2 = xc + w/2
        return _join([a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0])
    if fmt == "center_yxhw":
        return _join([b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0])
    if fmt == "rel_xyxy":
        return _join([a * w, b * h, c * w, d * h])
    if fmt == "rel_yxyx":
        return _join([b * w, a * h, d * w, c * h])
    if fmt == "rel_xywh":
        return _join([a * w, b * h, (a + c) * w, (b + d) * h])
    # rel_center_xywh
    return _join([(a - c / 2.0) * w, (b - d / 2.0) * h, (a + c / 2.0) * w, (b + d / 2.0) * h])


def _from_xyxy(boxes, fmt: str, h, w) -> Tensor:
    x1, y1, x2, y2 = _columns(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join([y1, x1, y2, x2])
    if fmt == "xywh":
        return _join([x1, y1, x2 - x1, y2 - y1])
    if fmt == "center_xywh":  # xc = x1 + (x2 − x1)/2
        return _join([x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0, x2 - x1, y2 - y1])
    if fmt == "center_yxhw":
        return _join([y1 + (y2 - y1) / 2.0, x1 + (x2 - x1) / 2.0, y2 - y1, x2 - x1])
    if fmt == "rel_xyxy":
        return _join([x1 / w, y1 / h, x2 / w, y2 / h])
    if fmt == "rel_yxyx":
        return _join([y1 / h, x1 / w, y2 / h, x2 / w])
    if fmt == "rel_xywh":
        return _join([x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h])
    # rel_center_xywh
    return _join([(x1 + (x2 - x1) / 2.0) / w, (y1 + (y2 - y1) / 2.0) / h, (x2 - x1) / w, (y2 - y1) / h])


def _as_dtype(value, dtype):
    return value if value is None else ops.cast(value, dtype)


def convert_format(boxes, source: str, target: str, height=None, width=None, dtype: str = "float32"):
    """``boxes`` (a ``(..., 4)`` tensor, or a dict holding one under "boxes") converted from the format
    ``source`` to ``target`` (case-insensitive), in ``dtype``. ``height`` and ``width`` (numbers or tensors
    broadcasting against the boxes) are required when either format is relative. A dict comes back as a
    new dict with its "boxes" converted."""
    if isinstance(boxes, dict):
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height, width, dtype)}
    boxes = boxes if isinstance(boxes, Tensor) else Tensor(numpy.asarray(boxes))
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"`boxes` must be a tensor with the last dimension of 4. Received: boxes.shape={boxes.shape}")
    source, target = str(source).lower(), str(target).lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"Invalid source or target format. Supported formats: {SUPPORTED_FORMATS}; "
                         f"received source={source!r}, target={target!r}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (width is None or height is None):
        raise ValueError(f"convert_format() must receive `height` and `width` transforming between relative and "
                         f"absolute formats. convert_format() received source=`{source}`, target=`{target}`, "
                         f"but height={height} and width={width}.")
    boxes = ops.cast(boxes, dtype)
    if source == target:
        return boxes
    height, width = _as_dtype(height, dtype), _as_dtype(width, dtype)
    if source.startswith("rel_") and target.startswith("rel_"):  # relative to relative: the sizes cancel
        source, target = source[4:], target[4:]
    return _from_xyxy(_to_xyxy(boxes, source, height, width), target, height, width)


def _area(boxes) -> Tensor:
    """(x2 − x1)·(y2 − y1) of xyxy boxes, as (..., 1)."""
    x1, y1, x2, y2 = _columns(boxes)
    return (x2 - x1) * (y2 - y1)


def clip_to_image_size(bounding_boxes: dict, height=None, width=None, bounding_box_format: str = "xyxy") -> dict:
    """The boxes of ``bounding_boxes`` clipped to the image, x to [0, width] and y to [0, height] ("xyxy"),
    or both to [0, 1] ("rel_xyxy"); a box left with no area gets the label −1. Returns a new dict."""
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(f"clip_to_image_size: only the 'xyxy' and 'rel_xyxy' formats are supported, "
                                  f"received bounding_box_format={bounding_box_format!r}")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    boxes = bounding_boxes["boxes"]
    labels = bounding_boxes.get("labels", None)
    if bounding_box_format == "xyxy":
        x_max, y_max = ops.cast(width, boxes.dtype), ops.cast(height, boxes.dtype)
    else:
        x_max = y_max = 1.0
    x1, y1, x2, y2 = _columns(boxes)
    boxes = _join([ops.clip(x1, 0, x_max), ops.clip(y1, 0, y_max), ops.clip(x2, 0, x_max), ops.clip(y2, 0, y_max)])
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    if labels is not None:
        result["labels"] = ops.where(ops.squeeze(_area(boxes), axis=-1) > 0, labels, -1)
    return result


def _inverse_affine_matrix(center_x, center_y, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                           width) -> Tensor:
    """(batch, 3, 3): the map of input points to output points of the image transform whose *inverse*
    (output → input) is rotation by ``angle`` degrees, shear ``shear_x``/``shear_y`` degrees, ``scale`` and a
    translation by (translate_x·(W − 1), translate_y·(H − 1)) about the centre (c_x·(W − 1), c_y·(H − 1)).

    With θ = −angle, s_x = −shear_x, s_y = −shear_y (radians), t = −translate·(size − 1):
        a = cos(θ − s_y)/cos(s_y),  b = a·tan(s_x) + sin θ,  c = −sin(θ − s_y)/cos(s_y),  d = cos θ − c·tan(s_x)
        M = scale·[[d, −b], [−c, a]],  offset = centre − M·(centre + t)
    (the inverse of a rotation-shear matrix of determinant 1, as torchvision's and TensorFlow's)."""
    angle = ops.convert_to_tensor(angle)
    dtype = angle.dtype
    n = angle.shape[0]
    rad = math.pi / 180.0
    cx = ops.multiply(center_x, width - 1)
    cy = ops.multiply(center_y, height - 1)
    rot = ops.multiply(-angle, rad)
    tx = ops.multiply(-ops.convert_to_tensor(translate_x), width - 1)
    ty = ops.multiply(-ops.convert_to_tensor(translate_y), height - 1)
    sx = ops.multiply(-ops.convert_to_tensor(shear_x), rad)
    sy = ops.multiply(-ops.convert_to_tensor(shear_y), rad)
    cos_sy, tan_sx = ops.cos(sy), ops.tan(sx)
    a = ops.cos(rot - sy) / cos_sy
    b = a * tan_sx + ops.sin(rot)
    c = -ops.sin(rot - sy) / cos_sy
    d = ops.cos(rot) - c * tan_sx
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros, ones = ops.zeros((n,), dtype), ops.ones((n,), dtype)
    return ops.reshape(ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], axis=-1), (n, 3, 3))


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height, width, center_x=None,
                     center_y=None, bounding_box_format: str = "xyxy") -> Tensor:
    """xyxy boxes (batch, N, 4) moved by the affine image transform of :func:`_inverse_affine_matrix`
    (one angle, translation, scale and shear per image; translations as fractions of the size, angles in
    degrees, centre 0.5 by default): the four corners are mapped and the result is their bounding box
    (min and max of the mapped x and y)."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"affine_transform: only the 'xyxy' format is supported, received "
                                  f"bounding_box_format={bounding_box_format!r}")
    boxes = ops.convert_to_tensor(boxes)
    batch, n_boxes = boxes.shape[0], boxes.shape[1]
    matrix = _inverse_affine_matrix(0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y,
                                    angle, translate_x, translate_y, scale, shear_x, shear_y, height, width)
    boxes = ops.cast(boxes, matrix.dtype)
    x1, y1, x2, y2 = (boxes[..., k] for k in range(4))
    corners = ops.reshape(ops.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=-1), (batch, n_boxes, 4, 2))
    corners = ops.concatenate([corners, ops.ones((batch, n_boxes, 4, 1), corners.dtype)], axis=-1)
    # p' = M[:2] · (x, y, 1) for every corner
    mapped = ops.einsum("bnkj,bij->bnki", corners, matrix[:, :2, :])
    return ops.concatenate([ops.min(mapped, axis=2), ops.max(mapped, axis=2)], axis=-1)


def crop(boxes, top, left, height, width, bounding_box_format: str = "xyxy") -> Tensor:
    """xyxy boxes in the frame of the crop of size (height, width) whose top-left corner is (left, top):
    x − left clipped to [0, width], y − top clipped to [0, height]."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"crop: only the 'xyxy' format is supported, received "
                                  f"bounding_box_format={bounding_box_format!r}")
    x1, y1, x2, y2 = _columns(ops.convert_to_tensor(boxes))
    return _join([ops.clip(x1 - left, 0, width), ops.clip(y1 - top, 0, height), ops.clip(x2 - left, 0, width),
                  ops.clip(y2 - top, 0, height)])


def pad(boxes, top, left, height=None, width=None, bounding_box_format: str = "xyxy") -> Tensor:
    """xyxy boxes in the frame of the image padded by ``top`` rows and ``left`` columns: x + left, y + top."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"pad: only the 'xyxy' format is supported, received "
                                  f"bounding_box_format={bounding_box_format!r}")
    x1, y1, x2, y2 = _columns(ops.convert_to_tensor(boxes))
    return _join([x1 + left, y1 + top, x2 + left, y2 + top])


# ----------------------------------------------------------------------------------------------
# the input dict: checked, and made dense
# ----------------------------------------------------------------------------------------------
def validate_bounding_boxes(bounding_boxes) -> None:
    """A ValueError unless ``bounding_boxes`` is a dict of "boxes" ((N, 4) or (batch, N, 4), or nested lists)
    and "labels" (of rank one or two above the boxes' leading axes)."""
    if not isinstance(bounding_boxes, dict) or "labels" not in bounding_boxes or "boxes" not in bounding_boxes:
        raise ValueError(f"Expected `bounding_boxes` argument to be a dict with keys 'boxes' and 'labels'. "
                         f"Received: bounding_boxes={bounding_boxes}")
    boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
    if isinstance(boxes, list):
        if not isinstance(labels, list):
            raise ValueError(f"If `bounding_boxes['boxes']` is a list, then `bounding_boxes['labels']` must also be "
                             f"a list. Received: bounding_boxes['labels']={labels}")
        if len(boxes) != len(labels):
            raise ValueError(f"If `bounding_boxes['boxes']` and `bounding_boxes['labels']` are both lists, they must "
                             f"have the same length. Received: len(bounding_boxes['boxes'])={len(boxes)} and "
                             f"len(bounding_boxes['labels'])={len(labels)}")
        return
    boxes_rank, labels_rank = numpy.ndim(boxes), numpy.ndim(labels)
    if boxes_rank not in (2, 3):
        raise ValueError(f"Expected `bounding_boxes['boxes']` to have rank 2 or 3, with shape (num_boxes, 4) or "
                         f"(batch_size, num_boxes, 4). Received: bounding_boxes['boxes'].shape={numpy.shape(boxes)}")
    if labels_rank not in (boxes_rank - 1, boxes_rank):
        raise ValueError(f"Found bounding_boxes['boxes'].shape={numpy.shape(boxes)} and expected "
                         f"bounding_boxes['labels'] to have rank {boxes_rank - 1} or {boxes_rank}, but received: "
                         f"bounding_boxes['labels'].shape={numpy.shape(labels)}")


def _is_batched_list(boxes: list) -> bool:
    return bool(boxes) and isinstance(boxes[0], list) and bool(boxes[0]) and isinstance(boxes[0][0], list)


def densify_bounding_boxes(bounding_boxes: dict, is_batched: bool = False, max_boxes: int | None = None,
                           boxes_default_value=0, labels_default_value=-1) -> dict:
    """``bounding_boxes`` with its "boxes" as float32 and "labels" as tensors. Nested lists (a different
    number of boxes per image) are padded — boxes with ``boxes_default_value``, labels with
    ``labels_default_value`` — to ``max_boxes`` boxes, or to the longest image's count when it is None
    (Keras's own list path fails on ``max_boxes=None``; neuronka pads to the longest)."""
    validate_bounding_boxes(bounding_boxes)
    boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
    if isinstance(boxes, list) and _is_batched_list(boxes):
        if labels and labels[0] and not isinstance(labels[0][0], (int, numpy.integer)):
            raise ValueError(f"If providing `bounding_boxes['labels']` as a list, it should contain integers "
                             f"labels. Received: bounding_boxes['labels']={labels}")
        count = max_boxes if max_boxes is not None else max(len(b) for b in boxes)
        new_boxes, new_labels = [], []
        for b, lab in zip(boxes, labels):
            missing = max(count - len(b), 0)
            new_boxes.append(list(b[:count]) + [[boxes_default_value] * 4] * missing)
            new_labels.append(list(lab[:count]) + [labels_default_value] * missing)
        return {**bounding_boxes, "boxes": Tensor(numpy.asarray(new_boxes, dtype=numpy.float32).reshape(-1, count, 4)),
                "labels": Tensor(numpy.asarray(new_labels, dtype=numpy.int32).reshape(-1, count))}
    if isinstance(boxes, list) and max_boxes is not None:  # one image's boxes as a list
        missing = max(max_boxes - len(boxes), 0)
        boxes = list(boxes[:max_boxes]) + [[boxes_default_value] * 4] * missing
        labels = list(labels[:max_boxes]) + [labels_default_value] * missing
        return {**bounding_boxes, "boxes": Tensor(numpy.asarray(boxes, dtype=numpy.float32).reshape(-1, 4)),
                "labels": Tensor(numpy.asarray(labels, dtype=numpy.int32))}
    boxes = boxes if isinstance(boxes, Tensor) else Tensor(numpy.asarray(boxes))
    labels = labels if isinstance(labels, Tensor) else Tensor(numpy.asarray(labels))
    return {**bounding_boxes, "boxes": ops.cast(boxes, "float32"), "labels": labels}
