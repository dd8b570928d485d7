"""``keras.ops.image``: the 16 image ops under their Keras names, and the upsampling of UpSampling1D/2D.

Where each lives (every module opens with the formulas it computes):

* :mod:`.image_resize` — ``resize``, ``scale_and_translate`` (separable resampling, one axis at a time)
  and ``upsample``;
* :mod:`.image_sampling` — ``map_coordinates``, ``affine_transform``, ``perspective_transform``,
  ``elastic_transform`` (sampling at computed coordinates);
* :mod:`.image_filters` — ``gaussian_blur``, ``sobel_edges``, ``ssim`` (separable filters);
* :mod:`.image_patches` — ``crop_images``, ``pad_images``, ``extract_patches``, ``extract_patches_3d``;
* :mod:`.image_color` — ``rgb_to_grayscale``, ``rgb_to_hsv``, ``hsv_to_rgb``.

Keras's torch backend is the reference; where it refuses an option (the Lanczos and area
interpolations) or departs from its own documentation, the function's docstring says what neuronka does.
"""
from __future__ import annotations

from .image_color import hsv_to_rgb, rgb_to_grayscale, rgb_to_hsv
from .image_filters import gaussian_blur, sobel_edges, ssim
from .image_patches import crop_images, extract_patches, extract_patches_3d, pad_images
from .image_resize import resize, scale_and_translate, upsample
from .image_sampling import affine_transform, elastic_transform, map_coordinates, perspective_transform

__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d",
    "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize",
    "rgb_to_grayscale", "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim", "upsample",
]
