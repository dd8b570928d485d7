"""Datasets from folders and arrays against real Keras 3.15.1 (its ``format="grain"`` datasets run without
TensorFlow): the same files in the same order with the same labels, the same pixels, windows and texts;
and neuronka's datasets feed ``fit``."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_api, keras_or_skip, to_numpy


def _grain_or_skip():
    return pytest.importorskip("grain", reason="Keras's dataset utilities need grain without TensorFlow: "
                                               "pip install -e '.[test]'")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("images")
    rng = numpy.random.default_rng(0)
    sizes = [(20, 30), (31, 17), (24, 24), (16, 40), (33, 21)]
    for c, cls in enumerate(["cat", "dog", "eel"]):
        (root / cls).mkdir()
        for i in range(4 + c):
            h, w = sizes[(i + c) % len(sizes)]
            img = Image.fromarray((rng.random((h, w, 3)) * 255).astype("uint8"))
            img.save(root / cls / f"{i}.{'png' if i % 2 else 'jpg'}")
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def _keras_batches(ds):
    return [to_numpy(b) for b in ds]


@keras_api("utils.image_dataset_from_directory")
@pytest.mark.parametrize("kwargs", [
    {},
    {"label_mode": "categorical", "image_size": (12, 10), "interpolation": "nearest"},
    {"label_mode": "binary", "class_names": ["eel", "cat"], "color_mode": "grayscale", "image_size": 8},
    {"labels": None, "batch_size": 4, "crop_to_aspect_ratio": True, "image_size": (9, 15)},
    {"validation_split": 0.25, "subset": "training", "seed": 3, "shuffle": True, "image_size": (7, 7)},
    {"validation_split": 0.25, "subset": "validation", "seed": 3, "shuffle": True, "image_size": (7, 7)},
    {"color_mode": "rgba", "data_format": "channels_first", "image_size": (6, 5)},
], ids=["defaults", "categorical-nearest", "binary-gray", "unlabelled-crop", "train-split", "val-split", "rgba-cf"])
def test_image_dataset_from_directory_equals_keras(image_folder, kwargs):
    keras = keras_or_skip()
    _grain_or_skip()
    kw = {"shuffle": False, "image_size": (16, 16), "verbose": False, **kwargs}
    if kw.get("label_mode") == "binary":
        kw["class_names"] = ["eel", "cat"]
        root = image_folder.parent / "binary"
        if not root.exists():
            root.mkdir()
            for cls in ("cat", "eel"):
                (root / cls).symlink_to(image_folder / cls)
        folder = root
    else:
        folder = image_folder
    k_ds = keras.utils.image_dataset_from_directory(str(folder), format="grain", follow_links=True, **kw)
    n_ds = nk.utils.image_dataset_from_directory(str(folder), follow_links=True, **kw)
    assert n_ds.file_paths == k_ds.file_paths
    assert n_ds.class_names == k_ds.class_names
    if kw.get("shuffle"):  # Keras's per-epoch shuffle cannot be matched: compare the sets of items
        assert len(n_ds.file_paths) == len(k_ds.file_paths)
        return
    k_batches, n_batches = _keras_batches(k_ds), [to_numpy(b) for b in n_ds]
    assert len(n_batches) == len(k_batches) == len(n_ds)
    for kb, nb in zip(k_batches, n_batches):
        kb, nb = (kb, nb) if isinstance(kb, tuple) else ((kb,), (nb,))
        for ka, na in zip(kb, nb):
            assert na.shape == ka.shape and na.dtype == ka.dtype
            numpy.testing.assert_allclose(na, ka, rtol=1e-4, atol=1e-3)


@keras_api("utils.image_dataset_from_directory")
def test_image_dataset_both_subsets_and_argument_errors_as_keras(image_folder):
    keras = keras_or_skip()
    _grain_or_skip()
    kw = {"validation_split": 0.3, "subset": "both", "seed": 7, "image_size": (5, 5), "verbose": False}
    k_tr, k_va = keras.utils.image_dataset_from_directory(str(image_folder), format="grain", **kw)
    n_tr, n_va = nk.utils.image_dataset_from_directory(str(image_folder), **kw)
    assert n_tr.file_paths == k_tr.file_paths and n_va.file_paths == k_va.file_paths
    assert not set(n_tr.file_paths) & set(n_va.file_paths)
    for bad in ({"color_mode": "cmyk"}, {"label_mode": "sparse"}, {"image_size": (1, 2, 3)},
                {"validation_split": 1.5, "subset": "training", "seed": 1}, {"subset": "training"},
                {"validation_split": 0.2, "subset": "training"}, {"interpolation": "magic"},
                {"labels": [0, 1], "class_names": ["a"]}, {"labels": "folders"}):
        with pytest.raises(ValueError):
            keras.utils.image_dataset_from_directory(str(image_folder), format="grain", verbose=False, **bad)
        with pytest.raises(ValueError):
            nk.utils.image_dataset_from_directory(str(image_folder), verbose=False, **bad)


@keras_api("utils.text_dataset_from_directory")
def test_text_dataset_from_directory_equals_keras(tmp_path):
    keras = keras_or_skip()
    _grain_or_skip()
    for c, cls in enumerate(["neg", "pos"]):
        (tmp_path / cls).mkdir()
        for i in range(3 + c):
            (tmp_path / cls / f"{i}.txt").write_text(f"{cls} review number {i} " + "é" * i, encoding="utf-8")
    for kw in ({"shuffle": False}, {"shuffle": False, "max_length": 5, "label_mode": "categorical", "batch_size": 2}):
        k = keras.utils.text_dataset_from_directory(str(tmp_path), format="grain", verbose=False, **kw)
        n = nk.utils.text_dataset_from_directory(str(tmp_path), verbose=False, **kw)
        assert n.class_names == k.class_names  # (Keras's grain text datasets carry no file_paths)
        assert len(list(k)) == len(n)
        for kb, nb in zip(k, n):
            k_texts = [t.decode() if isinstance(t, bytes) else str(t) for t in numpy.asarray(kb[0]).tolist()]
            assert list(nb[0]) == k_texts
            numpy.testing.assert_array_equal(to_numpy(nb[1]), to_numpy(kb[1]))


@keras_api("utils.timeseries_dataset_from_array")
def test_timeseries_windows_equal_keras():
    keras = keras_or_skip()
    _grain_or_skip()
    data = numpy.arange(60, dtype="float32").reshape(30, 2)
    targets = numpy.arange(30) * 10
    for kw in ({"sequence_length": 4}, {"sequence_length": 5, "sequence_stride": 3, "sampling_rate": 2,
                                        "batch_size": 4},
               {"sequence_length": 3, "start_index": 4, "end_index": 20, "batch_size": 5}):
        for tg in (None, targets):
            k = [to_numpy(b) for b in keras.utils.timeseries_dataset_from_array(data, tg, format="grain", **kw)]
            n = list(nk.utils.timeseries_dataset_from_array(data, tg, **kw))
            assert len(n) == len(k)
            for kb, nb in zip(k, n):
                kb, nb = (kb, nb) if tg is not None else ((kb,), (nb,))
                for ka, na in zip(kb, nb):
                    numpy.testing.assert_array_equal(na, ka)
    shuffled = list(nk.utils.timeseries_dataset_from_array(data, targets, 4, shuffle=True, seed=1, batch_size=100))
    x, y = shuffled[0]
    numpy.testing.assert_array_equal(x[:, 0, 0] * 5, y)  # each window still starts where its target is
    for bad in ({"sequence_stride": 0}, {"sampling_rate": 40}, {"start_index": -1}, {"end_index": 40}):
        for m, extra in ((keras, {"format": "grain"}), (nk, {})):
            with pytest.raises(ValueError):
                m.utils.timeseries_dataset_from_array(data, None, 3, **bad, **extra)


@keras_api("utils.split_dataset")
def test_split_dataset_sizes_and_items_equal_keras():
    keras = keras_or_skip()
    x, y = numpy.arange(20, dtype="float32").reshape(10, 2), numpy.arange(10)
    for kw in ({"left_size": 0.7}, {"right_size": 3}, {"left_size": 0.5}):
        k_left, k_right = keras.utils.split_dataset((x, y), **kw)
        n_left, n_right = nk.utils.split_dataset((x, y), **kw)
        assert (len(n_left), len(n_right)) == (len(k_left), len(k_right)), kw
        # Keras on torch always shuffles (random_split); neuronka keeps the order unless asked
        n_items = sorted(int(item[1]) for item in n_left) + sorted(int(item[1]) for item in n_right)
        assert sorted(int(item[1]) for item in n_left) == list(range(len(n_left)))
        assert len(set(n_items)) == len(n_items)
    # both sizes given and less than the whole: Keras on torch fails (random_split needs all the items)
    assert [len(p) for p in nk.utils.split_dataset((x, y), left_size=2, right_size=5)] == [2, 5]
    left, right = nk.utils.split_dataset(x, left_size=0.8, shuffle=True, seed=2)
    assert len(left) == 8 and {tuple(v) for v in list(left) + list(right)} == {tuple(v) for v in x}
    assert [b.shape for b in left.batch(3)] == [(3, 2), (3, 2), (2, 2)]
    for bad in ({"left_size": 0}, {"left_size": 1.5}, {"left_size": 10}, {"left_size": 0.6, "right_size": 0.6},
                {"left_size": "half"}, {}):
        for m in (keras, nk):
            with pytest.raises((ValueError, TypeError)):
                m.utils.split_dataset((x, y), **bad)


def _write_wav(path: Path, samples: numpy.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())


def test_audio_dataset_reads_pcm_wav_pads_batches_and_resamples(tmp_path):
    """Keras reads audio through TensorFlow only, so this is checked against the WAV samples themselves."""
    rng = numpy.random.default_rng(0)
    clips = {}
    for cls in ("no", "yes"):
        (tmp_path / cls).mkdir()
        for i, n in enumerate((800, 500)):
            clip = rng.uniform(-0.9, 0.9, (n, 1)).astype("float32")
            _write_wav(tmp_path / cls / f"{i}.wav", clip, 8000)
            clips[str(tmp_path / cls / f"{i}.wav")] = clip
    ds = nk.utils.audio_dataset_from_directory(str(tmp_path), batch_size=4, shuffle=False, verbose=False)
    (x, y), = list(ds)
    assert x.shape == (4, 800, 1) and x.dtype == numpy.float32 and y.tolist() == [0, 0, 1, 1]
    for row, path in zip(x, ds.file_paths):
        clip = clips[path]
        numpy.testing.assert_allclose(row[:len(clip)], clip, atol=1e-4)  # 16-bit quantization
        assert not row[len(clip):].any()
    cut = nk.utils.audio_dataset_from_directory(str(tmp_path), output_sequence_length=300, shuffle=False,
                                                verbose=False)
    assert next(iter(cut))[0].shape == (4, 300, 1)
    half = nk.utils.audio_dataset_from_directory(str(tmp_path), sampling_rate=4000, shuffle=False, verbose=False)
    assert next(iter(half))[0].shape == (4, 400, 1)
    (tmp_path / "no" / "bad.wav").write_bytes(b"RIFF0000")
    with pytest.raises(ValueError, match="bad.wav is not a PCM WAV file"):
        list(nk.utils.audio_dataset_from_directory(str(tmp_path), shuffle=False, verbose=False))


def test_a_directory_dataset_trains_a_model_with_fit(image_folder):
    ds = nk.utils.image_dataset_from_directory(str(image_folder), image_size=(8, 8), batch_size=4, seed=1,
                                               label_mode="categorical", verbose=False)
    model = nk.Sequential([nk.Input((8, 8, 3)), nk.layers.Rescaling(1 / 255), nk.layers.Flatten(),
                           nk.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and numpy.isfinite(history.history["loss"]).all()
    assert model.predict(ds, verbose=0).shape == (15, 3)
