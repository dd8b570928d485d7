"""Datasets made from folders and arrays, as ``keras.utils`` makes them: ``image_dataset_from_directory``,
``text_dataset_from_directory``, ``audio_dataset_from_directory``, ``timeseries_dataset_from_array`` and
``split_dataset``.

Keras returns ``tf.data`` (or Grain) datasets; there is no tf.data here, so these return a
:class:`Dataset` — a :class:`~neuronka.utils.PyDataset` of batches that ``fit`` / ``evaluate`` /
``predict`` take as they are, that iterates (``for x, y in ds``), and that carries ``class_names`` and
``file_paths`` as Keras's do. Items are loaded when their batch is asked for (images decoded and resized
then); with ``shuffle`` the order of the items changes every epoch, drawn from ``neuronka.random`` with the
dataset's seed. Which files, in which order, with which labels, follows Keras exactly: the same seed
gives the same ``file_paths`` as Keras (``numpy.random.RandomState(seed)``, as Keras shuffles them).
"""
from __future__ import annotations

import math
import os
import wave

import numpy

from .. import config
from .. import random as _random
from .pydataset import PyDataset

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")


class Dataset(PyDataset):
    """``n`` items, ``load(indices) -> batch`` gives the batch of the items at those indices.

    ``batch_size=None``: every item on its own (no batch axis). ``shuffle``: a new order every epoch,
    from ``seed``. ``class_names`` / ``file_paths``: as Keras's datasets carry them.
    """

    def __init__(self, n: int, load, batch_size=32, shuffle=False, seed=None, class_names=None, file_paths=None):
        super().__init__()
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"Dataset: expected batch_size to be a positive int or None, received {batch_size!r}")
        self.n, self._load, self.batch_size = int(n), load, batch_size
        self.shuffle, self.seed = bool(shuffle), seed
        self.class_names, self.file_paths = class_names, file_paths
        self._epoch = 0
        self._order = self._make_order()

    def _make_order(self):
        if not self.shuffle:
            return numpy.arange(self.n)
        seed = _random.make_default_seed() if self.seed is None else self.seed
        return numpy.random.Generator(numpy.random.PCG64([int(seed), self._epoch])).permutation(self.n)

    def __len__(self) -> int:
        if self.batch_size is None:
            return self.n
        return math.ceil(self.n / self.batch_size)

    def __getitem__(self, index: int):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Dataset: batch {index} out of range for {len(self)} batches")
        index %= len(self)
        if self.batch_size is None:
            return self._load(self._order[index:index + 1], batched=False)
        return self._load(self._order[index * self.batch_size:(index + 1) * self.batch_size], batched=True)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def on_epoch_end(self) -> None:
        self._epoch += 1
        self._order = self._make_order()

    def batch(self, batch_size: int) -> Dataset:
        """The same items in batches of ``batch_size`` (a dataset made with ``batch_size=None``, or re-batched)."""
        return Dataset(self.n, self._load, batch_size, self.shuffle, self.seed, self.class_names, self.file_paths)

    def __repr__(self) -> str:
        return f"<Dataset of {self.n} items in {len(self)} batches of {self.batch_size}>"


def _stack(items):
    """Items into a batch: arrays stacked, tuples stacked item-wise."""
    first = items[0]
    if isinstance(first, tuple):
        return tuple(_stack([it[i] for it in items]) for i in range(len(first)))
    return numpy.stack(items)


# ------------------------------------------------------------------------------------------------------
# indexing a folder (Keras's rules)
# ------------------------------------------------------------------------------------------------------
def _check_split(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, "
                         "to make sure that there is no overlap between the training and validation subset.")


def _valid_files(directory, follow_links, formats):
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda x: x[0]):
        for fname in sorted(files):
            if fname.lower().endswith(formats):
                yield root, fname


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None, follow_links=False,
                    verbose=True):
    """(file paths, integer labels or None, class names) of the files with one of ``formats`` under
    ``directory``: with ``labels="inferred"`` one class per sub-folder (sorted, or ``class_names``'s order);
    shuffled with ``numpy.random.RandomState(seed)`` as Keras does."""
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory}")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(set(subdirs)):
                raise ValueError(f"The `class_names` passed did not match the names of the subdirectories of the "
                                 f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified."
                             if labels is None else
                             "When argument `labels` is specified, argument `class_names` cannot be specified "
                             "(the `class_names` will be the sorted list of labels).")
    filenames, label_list = [], []
    for index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        dirname = os.path.basename(folder)
        for root, fname in _valid_files(folder, follow_links, formats):
            filenames.append(os.path.join(dirname, os.path.relpath(os.path.join(root, fname), folder)))
            label_list.append(index)
    if labels == "inferred":
        labels, names = numpy.asarray(label_list, dtype="int32"), list(subdirs)
    elif labels is None:
        names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in the target directory. "
                             f"len(labels) is {len(labels)} while we found {len(filenames)} files in directory "
                             f"{directory}.")
        names = [str(label) for label in sorted(set(labels))]
    if verbose:
        print(f"Found {len(filenames)} files." if labels is None else
              f"Found {len(filenames)} files belonging to {len(names)} classes.")
    paths = [os.path.join(directory, f) for f in filenames]
    if shuffle:
        seed = numpy.random.RandomState().randint(1e6) if seed is None else seed
        numpy.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            labels = numpy.asarray(labels).copy() if not isinstance(labels, numpy.ndarray) else labels
            numpy.random.RandomState(seed).shuffle(labels)
    return paths, labels, names


def _split(samples, labels, validation_split, subset, verbose=True):
    if not validation_split:
        return samples, labels
    n_val = int(validation_split * len(samples))
    if subset == "training":
        if verbose:
            print(f"Using {len(samples) - n_val} files for training.")
        return samples[:-n_val] if n_val else samples, (labels[:-n_val] if n_val else labels) \
            if labels is not None else None
    if subset == "validation":
        if verbose:
            print(f"Using {n_val} files for validation.")
        return samples[-n_val:] if n_val else [], (labels[-n_val:] if n_val else labels[:0]) \
            if labels is not None else None
    raise ValueError(f'`subset` must be either "training" or "validation", received: {subset}')


def _label_batch(labels, label_mode, num_classes):
    labels = numpy.asarray(labels)
    if label_mode == "binary":
        return labels.astype("float32")[..., None]
    if label_mode == "categorical":
        return numpy.eye(num_classes, dtype="float32")[labels.astype("int64")]
    return labels.astype("int32")


def _labelled(load_items, labels, label_mode, num_classes):
    def load(indices, batched=True):
        xs = load_items(indices)
        if labels is None:
            return xs if batched else xs[0]
        ys = _label_batch(numpy.asarray(labels)[indices], label_mode, num_classes)
        return (xs, ys) if batched else (xs[0], ys[0])
    return load


def _from_directory(directory, labels, label_mode, class_names, formats, shuffle, seed, validation_split, subset,
                    follow_links, verbose, make_loader, batch_size, check=None):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(f"`labels` argument should be a list/tuple of integer labels, of the same size as the "
                             f"number of files in the target directory. If you wish to infer the labels from the "
                             f'subdirectory names in the target directory, pass `labels="inferred"`. If you wish to '
                             f"get a dataset that only contains the files (no labels), pass `labels=None`. Received: "
                             f"labels={labels}")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. Received: labels={labels}, '
                             f"and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError(f'`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    _check_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = numpy.random.RandomState().randint(1e6)
    paths, found_labels, names = index_directory(directory, labels, formats, class_names, shuffle, seed,
                                                 follow_links, verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={names}")
    num_classes = len(names) if names else 0

    def build(part_paths, part_labels, part_shuffle):
        loader = _labelled(make_loader(part_paths), part_labels, label_mode, num_classes)
        return Dataset(len(part_paths), loader, batch_size, part_shuffle, seed, names, list(part_paths))

    if subset == "both":
        tr = _split(paths, found_labels, validation_split, "training", verbose)
        va = _split(paths, found_labels, validation_split, "validation", verbose)
        for (part, _), what in ((tr, "training"), (va, "validation")):
            if not part:
                raise ValueError(f"No {what} files found in directory {directory}. Allowed formats: {formats}")
        return [build(*tr, shuffle), build(*va, False)]
    part_paths, part_labels = _split(paths, found_labels, validation_split, subset, verbose)
    if not part_paths:
        raise ValueError(f"No files found in directory {directory}. Allowed formats: {formats}")
    return build(part_paths, part_labels, shuffle)


# ------------------------------------------------------------------------------------------------------
# images, texts, audio
# ------------------------------------------------------------------------------------------------------
def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf", verbose=True):
    """Images under ``directory`` (one sub-folder per class) as batches of float32 arrays (batch, height,
    width, channels) resized to ``image_size``, with int32 / one-hot / binary labels. ``format`` is accepted
    for Keras scripts ("tf" or "grain"); the result is a neuronka :class:`Dataset` either way."""
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}.get(color_mode)
    if channels is None:
        raise ValueError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. '
                         f"Received: color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"Invalid `image_size` value. Expected a tuple of 2 integers. "
                         f"Received: image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`.")
    data_format = config.standardize_data_format(data_format)

    def make_loader(paths):
        def load(indices):
            return numpy.stack([load_image(paths[i], image_size, channels, interpolation, data_format,
                                           crop_to_aspect_ratio, pad_to_aspect_ratio) for i in indices])
        return load

    return _from_directory(directory, labels, label_mode, class_names, IMAGE_FORMATS, shuffle, seed, validation_split,
                           subset, follow_links, verbose, make_loader, batch_size)


def load_image(path, image_size, num_channels, interpolation="bilinear", data_format="channels_last",
               crop_to_aspect_ratio=False, pad_to_aspect_ratio=False) -> numpy.ndarray:
    """One image file as a float32 array of ``image_size`` (Pillow decodes, ``ops.image.resize`` resizes)."""
    from ..ops import image as image_ops  # noqa: PLC0415
    from .image_utils import load_img  # noqa: PLC0415

    mode = {1: "grayscale", 3: "rgb", 4: "rgba"}[num_channels]
    img = numpy.asarray(load_img(path, color_mode=mode), dtype="float32")
    if img.ndim == 2:
        img = img[..., None]
    if data_format == "channels_first":
        img = img.transpose(2, 0, 1)
    out = image_ops.resize(img, size=tuple(image_size), interpolation=interpolation,
                           crop_to_aspect_ratio=crop_to_aspect_ratio, pad_to_aspect_ratio=pad_to_aspect_ratio,
                           data_format=data_format)
    return numpy.asarray(getattr(out, "data", out), dtype="float32")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """The ``.txt`` files under ``directory`` as batches of strings (a NumPy array of Python ``str``; the
    first ``max_length`` characters with ``max_length``), with labels as for images."""
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')

    def make_loader(paths):
        def load(indices):
            texts = []
            for i in indices:
                with open(paths[i], encoding="utf-8", errors="replace") as f:
                    text = f.read()
                texts.append(text[:max_length] if max_length is not None else text)
            return numpy.array(texts, dtype=object)
        return load

    return _from_directory(directory, labels, label_mode, class_names, (".txt",), shuffle, seed, validation_split,
                           subset, follow_links, verbose, make_loader, batch_size)


def read_wav(path) -> tuple[numpy.ndarray, int]:
    """A PCM WAV file as float32 samples in [-1, 1], shape (length, channels), and its sampling rate."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(frames)
    except (wave.Error, EOFError) as err:
        raise ValueError(f"audio_dataset_from_directory: {path} is not a PCM WAV file ({err})") from None
    if width == 1:
        x = (numpy.frombuffer(raw, "uint8").astype("float32") - 128.0) / 128.0
    elif width in (2, 4):
        x = numpy.frombuffer(raw, f"<i{width}").astype("float32") / float(1 << (8 * width - 1))
    else:
        raise ValueError(f"audio_dataset_from_directory: {path}: {8 * width}-bit samples are not supported "
                         f"(expected 8, 16 or 32-bit PCM)")
    return x.reshape(-1, channels), rate


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                 sampling_rate=None, output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None, follow_links=False, verbose=True):
    """The ``.wav`` files under ``directory`` as batches of float32 audio (batch, length, channels), each
    batch zero-padded to its longest file (or cut/padded to ``output_sequence_length``); with
    ``sampling_rate`` the audio is resampled (``scipy.signal.resample_poly``)."""
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if ragged:
        raise ValueError("audio_dataset_from_directory: ragged batches need tf.RaggedTensor; neuronka pads every "
                         "batch to its longest file instead (ragged=False)")
    if sampling_rate is not None and (not isinstance(sampling_rate, int) or sampling_rate <= 0):
        raise ValueError(f"`sampling_rate` should be a positive integer. Received: sampling_rate={sampling_rate}")

    def make_loader(paths):
        def one(path):
            x, rate = read_wav(path)
            if sampling_rate is not None and rate != sampling_rate:
                from scipy.signal import resample_poly  # noqa: PLC0415

                g = math.gcd(sampling_rate, rate)
                x = resample_poly(x, sampling_rate // g, rate // g, axis=0).astype("float32")
            if output_sequence_length is not None:
                x = x[:output_sequence_length]
            return x

        def load(indices):
            clips = [one(paths[i]) for i in indices]
            length = output_sequence_length or max(len(c) for c in clips)
            out = numpy.zeros((len(clips), length, clips[0].shape[1]), "float32")
            for j, c in enumerate(clips):
                out[j, :len(c)] = c
            return out
        return load

    return _from_directory(directory, labels, label_mode, class_names, (".wav",), shuffle, seed, validation_split,
                           subset, follow_links, verbose, make_loader, batch_size)


# ------------------------------------------------------------------------------------------------------
# arrays
# ------------------------------------------------------------------------------------------------------
def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None,
                                  format="tf"):
    """Windows of ``sequence_length`` steps (every ``sampling_rate``-th step) starting every
    ``sequence_stride`` steps of ``data[start_index:end_index]``; with ``targets``, window i is paired with
    ``targets[start_index + start_i]`` (the target at the window's first step)."""
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: start_index={start_index}, "
                             f"and end_index={end_index} ")
        if end_index >= n:
            raise ValueError(f"`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= n:
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: {name}={value}, for "
                             f"data of length {n}")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    start_index = start_index or 0
    end_index = end_index if end_index is not None else n
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    starts = numpy.arange(0, max(num_seqs, 0), sequence_stride)
    if shuffle:
        seed = numpy.random.RandomState().randint(1e6) if seed is None else seed
        numpy.random.RandomState(seed).shuffle(starts)
    window = numpy.arange(sequence_length) * sampling_rate
    data_slice = numpy.asarray(data[start_index:end_index])
    target_slice = None if targets is None else numpy.asarray(targets[start_index:])

    def load(indices, batched=True):
        pos = starts[indices]
        x = data_slice[pos[:, None] + window]
        if target_slice is None:
            return x if batched else x[0]
        y = target_slice[pos]
        return (x, y) if batched else (x[0], y[0])

    return Dataset(len(starts), load, batch_size, shuffle, seed)


def _as_items(dataset):
    """A dataset of arrays (an array, or a tuple/list/dict of arrays of one length) or an iterable of items."""
    if isinstance(dataset, numpy.ndarray):
        return len(dataset), lambda idx: dataset[idx]
    if isinstance(dataset, (tuple, list)) and dataset and all(hasattr(a, "__len__") and not isinstance(a, str)
                                                              for a in dataset):
        arrays = [numpy.asarray(a) for a in dataset]
        if len({len(a) for a in arrays}) != 1:
            raise ValueError(f"split_dataset: the arrays of a tuple must have one length, received "
                             f"{[len(a) for a in arrays]}")
        return len(arrays[0]), lambda idx: tuple(a[idx] for a in arrays)
    if isinstance(dataset, dict):
        arrays = {k: numpy.asarray(v) for k, v in dataset.items()}
        return len(next(iter(arrays.values()))), lambda idx: {k: a[idx] for k, a in arrays.items()}
    items = list(dataset)
    if items and isinstance(items[0], tuple):
        arrays = [numpy.stack([it[i] for it in items]) for i in range(len(items[0]))]
        return len(items), lambda idx: tuple(a[idx] for a in arrays)
    arrays = numpy.stack(items) if items else numpy.zeros((0,))
    return len(items), lambda idx: arrays[idx]


def _split_sizes(left, right, total):
    for name, size in (("left_size", left), ("right_size", right)):
        if size is not None and not isinstance(size, (int, float)) or isinstance(size, bool):
            raise TypeError(f"Invalid `{name}` Type: expected int or float, received {size!r}")
        if isinstance(size, float) and not 0 < size < 1:
            raise ValueError(f"`{name}` should be either a positive integer or a float between 0 and 1. "
                             f"Received: {name}={size}")
        if isinstance(size, int) and not 0 < size < total:
            raise ValueError(f"`{name}` should be smaller than the `total_length` and a positive integer. Received: "
                             f"{name}={size} for {total} samples")
    if left is None and right is None:
        raise ValueError("You must specify either `left_size` or `right_size`.")

    def to_int(size):
        return round(size * total) if isinstance(size, float) else size

    left_n = to_int(left) if left is not None else total - to_int(right)
    right_n = to_int(right) if right is not None else total - left_n
    if left_n + right_n > total:
        raise ValueError(f"The sum of `left_size` and `right_size` is greater than the total dataset length: "
                         f"{left_n} + {right_n} > {total}")
    if left_n == 0 or right_n == 0:
        raise ValueError(f"Both splits must hold samples: left_size={left} and right_size={right} give {left_n} "
                         f"and {right_n} of {total}")
    return left_n, right_n


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None, **kwargs):
    """Two datasets of the items of ``dataset`` (an array, a tuple of arrays, or an iterable of items):
    the first ``left_size`` (an int, or a fraction), the next ``right_size`` (default: the rest), shuffled
    first with ``shuffle``. Each is an unbatched :class:`Dataset` (``.batch(n)`` batches it)."""
    total, take = _as_items(dataset)
    left_n, right_n = _split_sizes(left_size, right_size, total)
    order = numpy.arange(total)
    if shuffle:
        seed = numpy.random.RandomState().randint(1e6) if seed is None else seed
        numpy.random.RandomState(seed).shuffle(order)
    parts = []
    for idx in (order[:left_n], order[left_n:left_n + right_n]):
        def load(indices, batched=True, idx=idx):
            items = take(idx[indices])
            if batched:
                return items
            if isinstance(items, tuple):
                return tuple(a[0] for a in items)
            if isinstance(items, dict):
                return {k: a[0] for k, a in items.items()}
            return items[0]
        parts.append(Dataset(len(idx), load, batch_size=None))
    return tuple(parts)
