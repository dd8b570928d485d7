"""Training batches: shuffling, on-the-fly augmentation vectorized over the batch, per-channel normalization.

:class:`ImageBatches` is what ``model.fit`` iterates: a re-iterable sequence of ``(x, y)`` batches with
``len()``, one shuffle and one set of random augmentations per pass (epoch), all drawn from its
``seed``: the same seed gives the same batches, epoch after epoch. Each batch is built as

1. geometry, one gather per batch: pad-and-crop, shift, horizontal flip and rotation compose into one
   affine map per image, ``src = c + F·R(−θ)·(dst − c − t)`` (``c`` the image center, ``t`` the
   translation, ``R`` the rotation, ``F`` the mirror), sampled by index arithmetic (nearest, exact for
   the integer translations and flips, or bilinear when rotating); pixels mapped from outside the
   image take ``fill_value`` (zero padding, the CIFAR standard);
2. scale to [0, 1] (``rescale``) and photometry: ``x ← clip(f·(x − m) + m + δ, 0, 1)`` with contrast
   factor ``f``, per-image channel mean ``m`` and brightness offset ``δ``; then ``x ← x + σ·ε``, ε ~ N(0, 1)
   (by inverse-CDF lookup, :func:`standard_normal`);
3. normalization ``x ← (x − mean) / std`` per channel (statistics of the training set, or given);
4. cutout: a ``cutout``×``cutout`` square (clipped at the borders) set to 0, the mean after normalization.

Output: float32 NHWC. Everything random in batch ``i`` of epoch ``e`` comes from one generator seeded
with ``(seed, e, i)``, so a batch does not depend on which batches were drawn before it.

Data-parallel training (``num_shards`` P > 1, ``shard_id`` r; :func:`epoch_order`): a shuffled pipeline takes
rank r's part of the epoch's permutation (``neuronka.distribution.shard_indices``: one permutation from
``(seed, e)`` on every rank, the n mod P left over skipped, dealt round-robin), its augmentation drawn from
``(seed, e, i, r)``; an unshuffled one (evaluation) takes the rows r, r + P, r + 2P, ..., none left out.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy

from .. import random as _random


def channel_stats(x: numpy.ndarray, rescale: float = 1.0 / 255.0) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Per-channel mean and standard deviation of ``x · rescale`` over all images and pixels (float32, shape (C,)).

    mean_c = Σ x_c / n,  std_c = sqrt(Σ (x_c − mean_c)² / n). For uint8 images the sums come exactly
    from a histogram of the 256 values; otherwise from float64 sums over chunks.
    """
    x = numpy.asarray(x)
    c = x.shape[-1]
    flat = x.reshape(-1, c)
    if x.dtype == numpy.uint8:
        values = numpy.arange(256, dtype=numpy.float64)
        counts = numpy.zeros((c, 256))
        for start in range(0, len(flat), 1 << 20):  # chunks: bincount widens its input to int64
            chunk = flat[start:start + (1 << 20)]
            for k in range(c):
                counts[k] += numpy.bincount(chunk[:, k], minlength=256)
        n = counts.sum(axis=1)
        mean = counts @ values / n
        var = (counts * (values[None, :] - mean[:, None]) ** 2).sum(axis=1) / n
    else:
        s = numpy.zeros(c)
        s2 = numpy.zeros(c)
        for start in range(0, len(flat), 1 << 20):
            chunk = flat[start:start + (1 << 20)].astype(numpy.float64)
            s += chunk.sum(axis=0)
            s2 += (chunk * chunk).sum(axis=0)
        n = len(flat)
        mean = s / n
        var = numpy.maximum(s2 / n - mean * mean, 0.0)
    return (mean * rescale).astype(numpy.float32), (numpy.sqrt(var) * abs(rescale)).astype(numpy.float32)


_NORMAL_QUANTILES: numpy.ndarray | None = None


def standard_normal(rng: numpy.random.Generator, out: numpy.ndarray) -> numpy.ndarray:
    """Fill ``out`` (float32) with N(0, 1) draws by inverse-CDF lookup: ε = Φ⁻¹((u + ½) / 65536), u uniform 16-bit.

    The 65,536 equiprobable quantiles of N(0, 1) (tails cut at ±4.33σ, std 0.99999): about 4x faster than
    ``Generator.standard_normal`` (the ziggurat dominated the cost of a noisy batch), and close enough to
    Gaussian for noise augmentation.
    """
    global _NORMAL_QUANTILES
    if _NORMAL_QUANTILES is None:
        from statistics import NormalDist  # noqa: PLC0415

        inv = NormalDist().inv_cdf
        _NORMAL_QUANTILES = numpy.array([inv((i + 0.5) / 65536) for i in range(65536)], dtype=numpy.float32)
    u = rng.integers(0, 65536, size=out.shape, dtype=numpy.uint16)
    return _NORMAL_QUANTILES.take(u, out=out, mode="clip")


class Workspace:
    """Scratch arrays kept between batches: fresh megabyte-sized arrays cost page faults on every call
    (measured: 3x slower geometry), so the batch builder reuses its temporaries by name."""

    def __init__(self):
        self._arrays: dict[str, numpy.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype) -> numpy.ndarray:
        a = self._arrays.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = self._arrays[name] = numpy.empty(shape, dtype=dtype)
        return a


def _flat_index(idx, col, y, x, row_length, base):
    """idx <- base + y·row_length + x, from float arrays holding whole numbers, into preallocated int arrays."""
    numpy.copyto(idx, y, casting="unsafe")
    numpy.copyto(col, x, casting="unsafe")
    idx *= row_length
    idx += base
    idx += col


def warp(x: numpy.ndarray, flip: numpy.ndarray | None = None, angle: numpy.ndarray | None = None,
         dy: numpy.ndarray | None = None, dx: numpy.ndarray | None = None, interpolation: str = "nearest",
         fill_value: float = 0.0, work: Workspace | None = None) -> numpy.ndarray:
    """Mirror, rotate and translate each image of a batch ``x`` (N, H, W, C); a new float32 array.

    Image ``b`` is mirrored left-right if ``flip[b]``, rotated by ``angle[b]`` degrees about its center
    (counterclockwise as displayed), then moved down ``dy[b]`` and right ``dx[b]`` pixels. Each output
    pixel ``p`` reads the source at ``q = c + F·R(−θ)·(p − c − t)``: the nearest pixel (``"nearest"``) or
    the bilinear blend of the 4 around it (``"bilinear"``); sources outside the image read ``fill_value``.
    With no rotation and integer shifts, both modes copy pixels exactly. ``work`` keeps the scratch
    arrays for the next call.
    """
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"warp: expected interpolation 'nearest' or 'bilinear', received {interpolation!r}")
    work = Workspace() if work is None else work
    n, h, w, c = x.shape
    f32, intp = numpy.float32, numpy.intp
    zeros = numpy.zeros(n, dtype=f32)
    flip = numpy.zeros(n, dtype=bool) if flip is None else numpy.asarray(flip, dtype=bool)
    dy = zeros if dy is None else numpy.asarray(dy, dtype=f32)
    dx = zeros if dx is None else numpy.asarray(dx, dtype=f32)
    # the source framed by 2 pixels of fill_value: a coordinate clipped into the frame reads fill_value
    # wherever the true coordinate lies outside the image, so no masks are needed
    hp, wp = h + 4, w + 4
    framed = work.get("framed", (n, hp, wp, c), f32)
    framed[:, :2] = framed[:, -2:] = fill_value
    framed[:, 2:-2, :2] = framed[:, 2:-2, -2:] = fill_value
    framed[:, 2:-2, 2:-2] = x
    src = framed.reshape(-1, c)
    base = (numpy.arange(n, dtype=intp) * (hp * wp))[:, None, None] + (2 * wp + 2)  # pixel (0, 0) of each image
    out = numpy.empty((n, h, w, c), dtype=f32)
    idx = work.get("idx", (n, h, w), intp)
    rows = numpy.arange(h, dtype=f32)
    cols = numpy.arange(w, dtype=f32)
    rotate = angle is not None and numpy.any(numpy.asarray(angle) != 0)
    if not rotate and numpy.all(dy == numpy.round(dy)) and numpy.all(dx == numpy.round(dx)):
        # integer translation and mirror: separable index arithmetic, exact copies
        sr = numpy.clip(rows[None, :] - dy[:, None], -1, h).astype(intp)  # (N, H)
        sc = numpy.where(flip[:, None], (w - 1) - cols[None, :] + dx[:, None], cols[None, :] - dx[:, None])
        sc = numpy.clip(sc, -1, w).astype(intp)  # (N, W)
        numpy.add(base + sr[:, :, None] * wp, sc[:, None, :], out=idx)
        return src.take(idx, axis=0, out=out, mode="clip")
    theta = numpy.deg2rad(zeros if angle is None else numpy.asarray(angle, dtype=f32))
    cos, sin = numpy.cos(theta)[:, None, None], numpy.sin(theta)[:, None, None]
    cy, cx = f32((h - 1) / 2), f32((w - 1) / 2)
    py = rows[None, :, None] - cy - dy[:, None, None]  # p − c − t: (N, H, 1) and (N, 1, W)
    px = cols[None, None, :] - cx - dx[:, None, None]
    # R(−θ) in (row, col) with rows pointing down: row' = cosθ·row + sinθ·col, col' = cosθ·col − sinθ·row
    qy = numpy.add(cos * py, sin * px + cy, out=work.get("qy", (n, h, w), f32))
    qx = numpy.subtract(cos * px, sin * py, out=work.get("qx", (n, h, w), f32))
    numpy.negative(qx, out=qx, where=numpy.broadcast_to(flip[:, None, None], qx.shape))
    qx += cx
    col = work.get("col", (n, h, w), intp)
    if interpolation == "nearest":
        for q, size in ((qy, h), (qx, w)):
            q += f32(0.5)
            numpy.floor(q, out=q)
            numpy.clip(q, -1, size, out=q)
        _flat_index(idx, col, qy, qx, wp, base)
        return src.take(idx, axis=0, out=out, mode="clip")
    # bilinear: q = (y0 + fy, x0 + fx) blends the 2x2 pixels from (y0, x0) with weights (1-fy|fy)·(1-fx|fx)
    y0 = numpy.floor(qy, out=work.get("y0", (n, h, w), f32))
    x0 = numpy.floor(qx, out=work.get("x0", (n, h, w), f32))
    fy = numpy.subtract(qy, y0, out=qy)[..., None]
    fx = numpy.subtract(qx, x0, out=qx)[..., None]
    numpy.clip(y0, -2, h, out=y0)
    numpy.clip(x0, -2, w, out=x0)
    _flat_index(idx, col, y0, x0, wp, base)
    # the 4 neighbours of source row i are rows i, i+1, i+wp, i+wp+1: take the same indices from shifted views
    t = work.get("t", out.shape, f32)
    bottom = work.get("bottom", out.shape, f32)
    top = src.take(idx, axis=0, out=out, mode="clip")
    src[1:].take(idx, axis=0, out=t, mode="clip")
    t -= top
    t *= fx
    top += t  # top = (1 − fx)·s00 + fx·s01
    src[wp:].take(idx, axis=0, out=bottom, mode="clip")
    src[wp + 1:].take(idx, axis=0, out=t, mode="clip")
    t -= bottom
    t *= fx
    bottom += t  # bottom = (1 − fx)·s10 + fx·s11
    bottom -= top
    bottom *= fy
    top += bottom  # (1 − fy)·top + fy·bottom
    return top


@dataclass
class Augmentation:
    """Random augmentation of image batches, each image drawing its own parameters.

    - ``crop_padding``: pad p pixels with ``fill_value`` and crop back to the original size at a random
      offset, i.e. translate by integers in [−p, p] (CIFAR: 4).
    - ``horizontal_flip``: mirror left-right with probability 1/2.
    - ``rotation``: rotate by θ ~ U(−r, r) degrees about the center.
    - ``shift``: translate by U(−s, s) × height and × width (rounded to whole pixels unless rotating
      with bilinear interpolation).
    - ``brightness``: add δ ~ U(−b, b) (on the [0, 1] scale); ``contrast``: scale the deviation from the
      image's channel means by f ~ U(1 − c, 1 + c); the result is clipped to [0, 1].
    - ``noise``: add Gaussian noise of standard deviation σ (on the [0, 1] scale).
    - ``cutout``: set a random ``cutout``×``cutout`` square (center anywhere in the image, clipped at the
      border) to 0 after normalization, i.e. to the mean (DeVries & Taylor, 2017).
    - ``interpolation``: ``"bilinear"`` or ``"nearest"``, used when rotating.
    """

    crop_padding: int = 0
    horizontal_flip: bool = False
    rotation: float = 0.0
    shift: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    noise: float = 0.0
    cutout: int = 0
    interpolation: str = "bilinear"
    fill_value: float = 0.0

    def __post_init__(self):
        for name in ("crop_padding", "cutout"):
            v = getattr(self, name)
            if int(v) != v or v < 0:
                raise ValueError(f"Augmentation: expected {name} a non-negative integer, received {name}={v!r}")
        for name in ("rotation", "shift", "brightness", "contrast", "noise"):
            v = getattr(self, name)
            if not (isinstance(v, numbers.Real) and v >= 0):
                raise ValueError(f"Augmentation: expected {name} a non-negative number, received {name}={v!r}")
        if self.contrast > 1:
            raise ValueError(f"Augmentation: expected contrast in [0, 1], received contrast={self.contrast!r}")
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"Augmentation: expected interpolation 'nearest' or 'bilinear', received "
                             f"interpolation={self.interpolation!r}")

    @classmethod
    def cifar(cls, **overrides) -> Augmentation:
        """The standard CIFAR training augmentation (He et al., 2016): pad 4 and crop 32, horizontal flip."""
        return cls(**{"crop_padding": 4, "horizontal_flip": True, **overrides})

    def get_config(self) -> dict:
        return asdict(self)

    @property
    def geometric(self) -> bool:
        return bool(self.crop_padding or self.horizontal_flip or self.rotation or self.shift)

    def apply_geometry(self, x: numpy.ndarray, rng: numpy.random.Generator,
                       work: Workspace | None = None) -> numpy.ndarray:
        """Crop, shift, flip and rotate a batch (N, H, W, C) in one :func:`warp`; float32, same scale as ``x``."""
        n, h, w = x.shape[:3]
        if not self.geometric:
            return x.astype(numpy.float32)
        dy = numpy.zeros(n)
        dx = numpy.zeros(n)
        if self.crop_padding:
            p = int(self.crop_padding)
            dy += rng.integers(-p, p + 1, size=n)
            dx += rng.integers(-p, p + 1, size=n)
        angle = rng.uniform(-self.rotation, self.rotation, size=n) if self.rotation else None
        if self.shift:
            sy = rng.uniform(-self.shift, self.shift, size=n) * h
            sx = rng.uniform(-self.shift, self.shift, size=n) * w
            if angle is None or self.interpolation == "nearest":
                sy, sx = numpy.round(sy), numpy.round(sx)
            dy += sy
            dx += sx
        flip = rng.random(n) < 0.5 if self.horizontal_flip else None
        return warp(x, flip=flip, angle=angle, dy=dy, dx=dx, interpolation=self.interpolation,
                    fill_value=self.fill_value, work=work)

    def apply_photometric(self, x: numpy.ndarray, rng: numpy.random.Generator,
                          work: Workspace | None = None) -> numpy.ndarray:
        """Contrast, brightness (then clip to [0, 1]) and noise, in place on a float32 batch on the [0, 1] scale."""
        n = x.shape[0]
        if self.contrast or self.brightness:
            # x <- f·(x − m) + m + δ = f·x + ((1 − f)·m + δ)
            f = rng.uniform(1 - self.contrast, 1 + self.contrast, size=n).astype(numpy.float32)[:, None, None, None]
            delta = rng.uniform(-self.brightness, self.brightness, size=n).astype(numpy.float32)[:, None, None, None]
            offset = delta
            if self.contrast:
                hw = x.shape[1] * x.shape[2]  # per-image channel means as one batched matmul (fast)
                m = numpy.matmul(numpy.full((1, hw), 1.0 / hw, dtype=numpy.float32),
                                 x.reshape(n, hw, x.shape[3]))[:, :, None, :]
                offset = (1 - f) * m + delta
                x *= f
            x += offset
            numpy.clip(x, 0.0, 1.0, out=x)
        if self.noise:
            eps = numpy.empty(x.shape, numpy.float32) if work is None else work.get("noise", x.shape, numpy.float32)
            standard_normal(rng, eps)
            eps *= numpy.float32(self.noise)
            x += eps
        return x

    def apply_cutout(self, x: numpy.ndarray, rng: numpy.random.Generator) -> numpy.ndarray:
        """Zero a random ``cutout``×``cutout`` square per image, in place (the square may overhang the border)."""
        if not self.cutout:
            return x
        n, h, w = x.shape[:3]
        size = int(self.cutout)
        top = rng.integers(0, h, size=n) - size // 2  # the square's first row and column (center anywhere)
        left = rng.integers(0, w, size=n) - size // 2
        r = numpy.arange(h)
        c = numpy.arange(w)
        in_rows = (r[None, :] >= top[:, None]) & (r[None, :] < top[:, None] + size)
        in_cols = (c[None, :] >= left[:, None]) & (c[None, :] < left[:, None] + size)
        keep = (~(in_rows[:, :, None] & in_cols[:, None, :])).astype(numpy.float32)  # (N, H, W): 0 in the square
        numpy.multiply(x, keep[..., None], out=x)
        return x


def epoch_order(n: int, epoch: int, seed: int, shuffle: bool, num_shards: int = 1, shard_id: int = 0) -> numpy.ndarray:
    """The rows of epoch ``epoch``, in the order a pipeline takes them.

    One process: a permutation of range(n) from ``(seed, epoch, 0)`` (``shuffle``) or range(n). Shard r of P > 1:
    ``shard_indices(n, epoch, seed, P, r)`` (shuffle: every rank draws the same permutation and keeps every P-th
    row of it, the same number of rows on every rank) or r, r + P, r + 2P, ... (no shuffle: every row once over
    the ranks, what ``neuronka.distribution.evaluation.gather_in_order`` puts back in order)."""
    if num_shards > 1:
        if not shuffle:
            return numpy.arange(shard_id, n, num_shards)
        from ..distribution import shard_indices  # noqa: PLC0415 - the distribution imports the optimizers

        return shard_indices(n, epoch, seed, num_shards, shard_id)
    return numpy.random.default_rng([seed, epoch, 0]).permutation(n) if shuffle else numpy.arange(n)


def batch_generator(seed: int, epoch: int, index: int, num_shards: int = 1, shard_id: int = 0):
    """The generator everything random in batch ``index`` of ``epoch`` is drawn from: ``(seed, epoch, index + 1)``,
    and the shard id after it on P > 1 processes (each process its own augmentation)."""
    return numpy.random.default_rng([seed, epoch, index + 1, *([shard_id] if num_shards > 1 else [])])


def shard_rows(n: int, shuffle: bool, num_shards: int = 1, shard_id: int = 0) -> int:
    """len(epoch_order(n, ...)) without drawing it: n, ⌊n / P⌋ (shuffled shard) or |{r, r + P, ...} ∩ [0, n)|."""
    if num_shards <= 1:
        return n
    return n // num_shards if shuffle else len(range(shard_id, n, num_shards))


def _check_shard(owner: str, num_shards, shard_id) -> tuple[int, int]:
    if int(num_shards) != num_shards or num_shards < 1 or int(shard_id) != shard_id or not 0 <= shard_id < num_shards:
        raise ValueError(f"{owner}: expected num_shards ≥ 1 and 0 ≤ shard_id < num_shards, received "
                         f"num_shards={num_shards!r}, shard_id={shard_id!r}")
    return int(num_shards), int(shard_id)


class ImageBatches:
    """Seeded, re-iterable ``(x, y)`` batches of images for ``model.fit``, augmented on the fly.

    ``x``: (N, H, W, C) images (uint8 0..255, or floats); ``y``: labels with N rows (any shape), or
    None to yield ``x`` batches alone. Each pass (``for xb, yb in batches``) is one epoch: a fresh
    shuffle (``shuffle=True``) and fresh augmentation (``augment``: an :class:`Augmentation`, a dict of
    its fields, ``"cifar"``, or None). Batches are float32 NHWC::

        x_out = (augment(x) · rescale − mean) / std

    ``normalize=True`` uses ``mean``/``std`` (per channel, on the rescaled scale) or, when not given,
    :func:`channel_stats` of ``x``; pass the training set's ``batches.mean``/``batches.std`` to the
    validation batches. ``drop_remainder`` drops the last, smaller batch. ``num_shards``/``shard_id``: this
    process's shard for data-parallel training (:func:`epoch_order`).

    Determinism: batch ``i`` of epoch ``e`` depends only on ``(seed, e, i)``. ``seed=None`` draws one
    seed at construction (``batches.seed``). ``len(batches)`` is the number of batches per epoch;
    ``batches[i]`` is batch ``i`` of the current epoch and ``on_epoch_end()`` moves to the next (the
    ``keras.utils.PyDataset`` protocol); a pass with ``iter`` moves on by itself when it ends.
    """

    def __init__(self, x: numpy.ndarray, y: numpy.ndarray | None = None, batch_size: int = 128, shuffle: bool = True,
                 augment: Augmentation | dict | str | None = None, normalize: bool = True,
                 mean: numpy.ndarray | None = None, std: numpy.ndarray | None = None, rescale: float = 1.0 / 255.0,
                 seed: int | None = None, drop_remainder: bool = False, num_shards: int = 1, shard_id: int = 0):
        x = numpy.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"ImageBatches: expected x of shape (N, H, W, C), received shape {x.shape}")
        if y is not None:
            y = numpy.asarray(y)
            if len(y) != len(x):
                raise ValueError(f"ImageBatches: expected y with {len(x)} rows like x, received {len(y)}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"ImageBatches: expected batch_size a positive integer, received {batch_size=}")
        if augment == "cifar":
            augment = Augmentation.cifar()
        elif isinstance(augment, dict):
            augment = Augmentation(**augment)
        elif augment is not None and not isinstance(augment, Augmentation):
            raise ValueError(f"ImageBatches: expected augment an Augmentation, a dict, 'cifar' or None, received "
                             f"augment={augment!r}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.augment = augment
        self.rescale = float(rescale)
        self.drop_remainder = bool(drop_remainder)
        self.num_shards, self.shard_id = _check_shard("ImageBatches", num_shards, shard_id)
        # no seed: one drawn from neuronka.random (so set_random_seed makes the augmentation repeatable)
        self.seed = _random.make_default_seed() if seed is None else int(seed)
        self.epoch = 0
        self._work = Workspace()  # scratch arrays reused from batch to batch (one pass at a time)
        self._cached_order: tuple[int, numpy.ndarray] | None = None
        self.normalize = bool(normalize)
        if normalize:
            if mean is None or std is None:
                m, s = channel_stats(x, rescale)
                mean = m if mean is None else mean
                std = s if std is None else std
            self.mean = numpy.asarray(mean, dtype=numpy.float32).reshape(-1)
            self.std = numpy.asarray(std, dtype=numpy.float32).reshape(-1)
            if self.mean.shape not in ((1,), (x.shape[-1],)) or self.std.shape != self.mean.shape:
                raise ValueError(f"ImageBatches: expected mean and std with 1 or {x.shape[-1]} values, received "
                                 f"{self.mean.shape} and {self.std.shape}")
            if numpy.any(self.std <= 0):
                raise ValueError(f"ImageBatches: expected std > 0, received std={self.std!r}")
        else:
            self.mean = self.std = None

    def __len__(self) -> int:
        n = self.num_rows
        return n // self.batch_size if self.drop_remainder else math.ceil(n / self.batch_size)

    @property
    def num_rows(self) -> int:
        """Rows per epoch of this pipeline (of this shard)."""
        return shard_rows(len(self.x), self.shuffle, self.num_shards, self.shard_id)

    @property
    def num_batches(self) -> int:
        return len(self)

    def _order(self, epoch: int) -> numpy.ndarray:
        """The epoch's order of the images (kept for the epoch: ``batches[i]`` asks for it once per batch)."""
        if self._cached_order is None or self._cached_order[0] != epoch:
            order = epoch_order(len(self.x), epoch, self.seed, self.shuffle, self.num_shards, self.shard_id)
            self._cached_order = (epoch, order)
        return self._cached_order[1]

    def batch(self, index: int, epoch: int | None = None, order: numpy.ndarray | None = None):
        """Batch ``index`` of ``epoch`` (default: the current epoch) as ``(x, y)``, or ``x`` when y is None."""
        n_batches = len(self)
        if not -n_batches <= index < n_batches:
            raise IndexError(f"ImageBatches: batch index {index} out of range for {n_batches} batches")
        index %= n_batches
        epoch = self.epoch if epoch is None else epoch
        order = self._order(epoch) if order is None else order
        sel = order[index * self.batch_size:(index + 1) * self.batch_size]
        if self.shuffle:
            sel = numpy.sort(sel)  # gather in memory order (the images are shuffled across batches already)
        rng = batch_generator(self.seed, epoch, index, self.num_shards, self.shard_id)
        xb = self.x.take(sel, axis=0, out=self._work.get("x", (len(sel),) + self.x.shape[1:], self.x.dtype))
        aug = self.augment
        xb = aug.apply_geometry(xb, rng, self._work) if aug is not None else xb.astype(numpy.float32)
        if self.rescale != 1.0:
            xb *= numpy.float32(self.rescale)
        if aug is not None:
            aug.apply_photometric(xb, rng, self._work)
        if self.normalize:
            # (x − mean) / std as x·(1/std) + (−mean/std)
            inv = 1.0 / self.std
            xb *= inv
            xb += -self.mean * inv
        if aug is not None:
            aug.apply_cutout(xb, rng)
        return xb if self.y is None else (xb, self.y[sel])

    def __getitem__(self, index: int):
        return self.batch(index)

    def on_epoch_end(self) -> None:
        """Move to the next epoch (new shuffle, new augmentation)."""
        self.epoch += 1

    def __iter__(self) -> Iterator:
        epoch = self.epoch
        order = self._order(epoch)
        try:
            for i in range(len(self)):
                yield self.batch(i, epoch, order)
        finally:
            self.epoch = max(self.epoch, epoch + 1)

    def __repr__(self) -> str:
        return (f"ImageBatches({len(self.x)} images, batch_size={self.batch_size}, {len(self)} batches, "
                f"shuffle={self.shuffle}, augment={self.augment}, seed={self.seed})")
