"""Images between files, Pillow and arrays (``keras.utils.load_img`` / ``img_to_array`` / ``array_to_img``
/ ``save_img``), as Keras does them, on Pillow.

Decoding keeps Pillow's decompression-bomb cap (``PIL.Image.MAX_IMAGE_PIXELS``): an image with more pixels
gives a ``ValueError`` naming the file instead of filling the memory.
"""
from __future__ import annotations

import io
import os
import pathlib

import numpy

from .. import config

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil():
    try:
        from PIL import Image  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - Pillow is a runtime dependency
        raise ImportError("Could not import PIL.Image: the image utilities need Pillow (pip install pillow)") from err
    return Image


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array (height, width, channels; or channels first) as a PIL image.

    ``scale``: values shifted and scaled to [0, 255] (x ← 255·(x − min x)/max(x − min x)); 1, 3 and 4 channels
    give modes L, RGB and RGBA.
    """
    Image = _pil()
    data_format = config.standardize_data_format(data_format)
    x = numpy.asarray(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - numpy.min(x)
        x_max = numpy.max(x)
        if x_max != 0:
            x = x / x_max
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if numpy.max(x) > 255:  # 32-bit signed integer grayscale
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def img_to_array(img, data_format=None, dtype=None) -> numpy.ndarray:
    """A PIL image as a 3-D array of ``dtype`` (floatx), (height, width, channels) or channels first."""
    data_format = config.standardize_data_format(data_format)
    x = numpy.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[:, :, None]
    raise ValueError(f"Unsupported image shape: {x.shape}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs) -> None:
    """Write an image array to ``path`` (a file name or a file object); the format from the extension unless
    ``file_format``; RGBA saved as JPEG is converted to RGB (with a warning, as Keras)."""
    data_format = config.standardize_data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        ext = pathlib.Path(path).suffix.lower().lstrip(".")
        file_format = ext or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        import warnings  # noqa: PLC0415

        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """Read an image file (or ``io.BytesIO``) into a PIL image: ``color_mode`` "rgb", "rgba" or "grayscale";
    ``target_size`` (height, width) resized with ``interpolation``, centre-cropped to the target's aspect
    ratio first with ``keep_aspect_ratio``."""
    Image = _pil()
    if color_mode not in ("rgb", "rgba", "grayscale"):
        raise ValueError(f"color_mode must be 'grayscale', 'rgb', or 'rgba'. Received: color_mode={color_mode}")
    if isinstance(path, io.BytesIO):
        source, data = "<BytesIO>", path
    elif isinstance(path, (pathlib.Path, bytes, str)):
        source = os.fsdecode(path) if isinstance(path, bytes) else str(path)
        with open(source, "rb") as f:
            data = io.BytesIO(f.read())
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    try:
        img = Image.open(data)
        img.load()
    except Image.DecompressionBombError as err:
        raise ValueError(f"load_img: {source} has more pixels than Pillow's cap (PIL.Image.MAX_IMAGE_PIXELS = "
                         f"{Image.MAX_IMAGE_PIXELS}): {err}") from None
    except (OSError, SyntaxError) as err:
        raise ValueError(f"load_img: {source} is not an image Pillow can read ({err})") from None
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode == "rgba":
        if img.mode != "RGBA":
            img = img.convert("RGBA")
    elif img.mode != "RGB":
        img = img.convert("RGB")
    if target_size is not None:
        size = (int(target_size[1]), int(target_size[0]))
        if img.size != size:
            if interpolation not in INTERPOLATIONS:
                raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported methods are "
                                 f"{', '.join(INTERPOLATIONS)}")
            resample = getattr(Image.Resampling, interpolation.upper())
            if keep_aspect_ratio:
                width, height = img.size
                crop_height = min(height, (width * size[1]) // size[0])
                crop_width = min(width, (height * size[0]) // size[1])
                top, left = (height - crop_height) // 2, (width - crop_width) // 2
                img = img.resize(size, resample, box=(left, top, left + crop_width, top + crop_height))
            else:
                img = img.resize(size, resample)
    return img


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last", backend_module=None):
    """Resize images (3-D or 4-D) to ``size`` without distorting the aspect ratio: the largest centred crop
    of the target's aspect ratio, then a resize (``keras.preprocessing.image.smart_resize``)."""
    from ..ops import image as image_ops  # noqa: PLC0415

    return image_ops.resize(x, size, interpolation=interpolation, crop_to_aspect_ratio=True, data_format=data_format)
