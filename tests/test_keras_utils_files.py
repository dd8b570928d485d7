"""``keras.utils`` file and image helpers against real Keras 3.15.1: ``get_file`` (served from a local HTTP
server: the same cache layout, hashes, extraction as Keras), safe extraction, and the image round trips."""
from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_api, keras_or_skip, to_numpy


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/www (loopback only): yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _tar_gz(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@keras_api("utils.get_file")
def test_get_file_downloads_into_keras_cache_layout_and_checks_hashes(server, tmp_path, capsys):
    keras = keras_or_skip()
    root, url = server
    (tmp_path / "k").mkdir(), (tmp_path / "n").mkdir()  # Keras falls back to /tmp/.keras for a missing folder
    payload = os.urandom(5000)
    (root / "data.bin").write_bytes(payload)
    sha, md5 = hashlib.sha256(payload).hexdigest(), hashlib.md5(payload).hexdigest()
    for kw in ({}, {"fname": "named.bin"}, {"file_hash": sha}, {"md5_hash": md5}, {"cache_subdir": "sub/dir"}):
        k = keras.utils.get_file(origin=f"{url}/data.bin", cache_dir=str(tmp_path / "k"), **kw)
        n = nk.utils.get_file(origin=f"{url}/data.bin", cache_dir=str(tmp_path / "n"), **kw)
        assert os.path.relpath(n, tmp_path / "n") == os.path.relpath(k, tmp_path / "k"), kw
        assert Path(n).read_bytes() == payload
    # a cached file with the right hash is not fetched again; with a wrong one it is fetched again
    (root / "data.bin").write_bytes(b"changed")
    cached = nk.utils.get_file(origin=f"{url}/data.bin", cache_dir=str(tmp_path / "n"), file_hash=sha)
    assert Path(cached).read_bytes() == payload
    Path(cached).write_bytes(b"corrupt")
    with pytest.raises(ValueError, match="file hash does not match the provided value"):
        nk.utils.get_file(origin=f"{url}/data.bin", cache_dir=str(tmp_path / "n"), file_hash=sha)
    assert not Path(cached).exists()  # a download failing its check leaves nothing under the final name
    with pytest.raises(Exception, match="URL fetch failure"):
        nk.utils.get_file(origin=f"{url}/missing.bin", cache_dir=str(tmp_path / "n"))
    assert not list((tmp_path / "n" / "datasets").glob(".download-*"))  # no temporary file left behind
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        nk.utils.get_file(fname="a/b.bin", origin=f"{url}/data.bin", cache_dir=str(tmp_path / "n"))
    with pytest.raises(ValueError, match="origin"):
        nk.utils.get_file("x.bin")


@keras_api("utils.get_file")
def test_get_file_extracts_archives_where_keras_does(server, tmp_path):
    keras = keras_or_skip()
    root, url = server
    members = {"flowers/a.txt": b"alpha", "flowers/sub/b.txt": b"beta" * 100}
    _tar_gz(root / "flowers.tar.gz", members)
    with zipfile.ZipFile(root / "pack.zip", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    for i, kw in enumerate(({"origin": f"{url}/flowers.tar.gz", "extract": True},
               {"origin": f"{url}/flowers.tar.gz", "fname": "flowers.tar.gz", "extract": True},
               {"origin": f"{url}/flowers.tar.gz", "fname": "flowers", "untar": True},
               {"origin": f"{url}/pack.zip", "fname": "pack.zip", "extract": True})):
        kdir, ndir = tmp_path / f"k{i}", tmp_path / f"n{i}"
        kdir.mkdir(parents=True), ndir.mkdir(parents=True)
        k = keras.utils.get_file(cache_dir=str(kdir), **kw)
        n = nk.utils.get_file(cache_dir=str(ndir), **kw)
        assert os.path.relpath(n, ndir) == os.path.relpath(k, kdir), kw
        assert _tree(Path(n)) == _tree(Path(k)) == members


def test_extraction_refuses_escaping_members_links_and_archives_over_the_cap(tmp_path):
    from neuronka.utils.file_utils import ExtractionError, extract_archive

    evil = tmp_path / "evil.tar.gz"
    _tar_gz(evil, {"../outside.txt": b"x"})
    with pytest.raises(ExtractionError, match="outside the extraction folder"):
        extract_archive(evil, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "out").exists()
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.writestr("/etc/abs.txt", b"x")
    with pytest.raises(ExtractionError, match="outside the extraction folder"):
        extract_archive(tmp_path / "evil.zip", tmp_path / "out2")
    link = tmp_path / "link.tar"
    with tarfile.open(link, "w") as tar:
        info = tarfile.TarInfo("l")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(ExtractionError, match="is a link"):
        extract_archive(link, tmp_path / "out3")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros", b"\0" * (4 << 20))  # 4 MiB that compress to a few KiB
    assert bomb.stat().st_size < 50_000
    nk.config.set("max_extract_bytes", 1 << 20)
    try:
        with pytest.raises(ExtractionError, match="more than 1048576 bytes extracted"):
            extract_archive(bomb, tmp_path / "out4")
    finally:
        nk.config.reset("max_extract_bytes")
    assert not (tmp_path / "out4").exists()  # what it wrote is removed
    assert extract_archive(bomb, tmp_path / "out5") and (tmp_path / "out5" / "zeros").stat().st_size == 4 << 20
    assert extract_archive(tmp_path / "evil.zip", tmp_path / "o", archive_format=None) is False


def _image(rng, shape, dtype="uint8"):
    return (rng.random(shape) * 255).astype(dtype)


@keras_api("utils.load_img", "utils.img_to_array", "utils.array_to_img", "utils.save_img")
def test_image_round_trips_equal_keras(tmp_path):
    keras = keras_or_skip()
    rng = numpy.random.default_rng(0)
    for ext, shape in (("png", (17, 23, 3)), ("png", (9, 11, 4)), ("bmp", (12, 10, 3)), ("jpg", (16, 16, 3))):
        arr = _image(rng, shape).astype("float32")
        kp, np_ = tmp_path / f"k.{ext}", tmp_path / f"n.{ext}"
        keras.utils.save_img(kp, arr)
        nk.utils.save_img(np_, arr)
        assert kp.read_bytes() == np_.read_bytes() or ext == "jpg"
        for kwargs in ({}, {"color_mode": "grayscale"}, {"color_mode": "rgba"}, {"target_size": (8, 5)},
                       {"target_size": (8, 12), "interpolation": "bilinear", "keep_aspect_ratio": True}):
            k_img, n_img = keras.utils.load_img(kp, **kwargs), nk.utils.load_img(kp, **kwargs)
            assert n_img.mode == k_img.mode and n_img.size == k_img.size, kwargs
            for fmt in ("channels_last", "channels_first"):
                k_arr = keras.utils.img_to_array(k_img, data_format=fmt)
                n_arr = nk.utils.img_to_array(n_img, data_format=fmt)
                assert n_arr.dtype == k_arr.dtype and n_arr.shape == k_arr.shape
                numpy.testing.assert_array_equal(n_arr, k_arr)
    for x, kw in ((rng.standard_normal((5, 6, 3)), {}),
                  (rng.standard_normal((3, 5, 6)), {"data_format": "channels_first"}),
                  (rng.random((4, 4, 1)), {}), (rng.random((4, 4, 1)) * 255, {"scale": False}),
                  (rng.random((4, 4, 4)) * 255, {"scale": False})):
        k_img, n_img = keras.utils.array_to_img(x, **kw), nk.utils.array_to_img(x, **kw)
        assert n_img.mode == k_img.mode
        numpy.testing.assert_array_equal(numpy.asarray(n_img), numpy.asarray(k_img))
    with pytest.raises(ValueError, match="rank 3"):
        nk.utils.array_to_img(numpy.zeros((2, 2)))
    (tmp_path / "not.png").write_bytes(b"nonsense")
    with pytest.raises(ValueError, match="not.png is not an image"):
        nk.utils.load_img(tmp_path / "not.png")
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 10  # Pillow refuses more than twice this
    try:
        with pytest.raises(ValueError, match="more pixels than Pillow's cap"):
            nk.utils.load_img(tmp_path / "k.png")
    finally:
        Image.MAX_IMAGE_PIXELS = limit


@keras_api("utils.pad_sequences")
def test_pad_sequences_equals_keras():
    keras = keras_or_skip()
    seqs = [[1, 2, 3, 4], [5, 6], [], [7]]
    for kw in ({}, {"maxlen": 2}, {"maxlen": 3, "padding": "post"}, {"maxlen": 3, "truncating": "post"},
               {"value": -1}, {"dtype": "float32", "value": 0.5}):
        k, n = keras.utils.pad_sequences(seqs, **kw), nk.utils.pad_sequences(seqs, **kw)
        assert n.dtype == k.dtype
        numpy.testing.assert_array_equal(n, k)
    nested = [numpy.ones((2, 3)), numpy.zeros((1, 3))]
    numpy.testing.assert_array_equal(nk.utils.pad_sequences(nested, dtype="float32"),
                                     keras.utils.pad_sequences(nested, dtype="float32"))
    for m in (keras, nk):
        with pytest.raises(ValueError, match="Padding type"):
            m.utils.pad_sequences(seqs, padding="middle")
        with pytest.raises(ValueError):
            m.utils.pad_sequences([1, 2])


@keras_api("utils.normalize", "utils.to_categorical", "utils.pack_x_y_sample_weight",
           "utils.unpack_x_y_sample_weight")
def test_numeric_and_batch_tuple_helpers_equal_keras():
    keras = keras_or_skip()
    x = numpy.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    for kw in ({}, {"axis": 1}, {"order": 1}):
        numpy.testing.assert_allclose(nk.utils.normalize(x, **kw), keras.utils.normalize(x, **kw))
    # Keras turns axis=0 into -1 for NumPy inputs (`axis or -1`); neuronka normalizes the columns
    numpy.testing.assert_allclose(nk.utils.normalize(x, axis=0), x / numpy.linalg.norm(x, axis=0, keepdims=True))
    numpy.testing.assert_allclose(nk.utils.normalize(nk.Tensor(x.astype("float32"))).numpy(),
                                  to_numpy(keras.utils.normalize(keras.ops.convert_to_tensor(x.astype("float32")))),
                                  rtol=1e-6)
    for labels, kw in (([0, 2, 1], {}), (numpy.array([[1], [0]]), {"num_classes": 3}), ([[0, 1], [1, 1]], {})):
        k, n = keras.utils.to_categorical(labels, **kw), nk.utils.to_categorical(labels, **kw)
        assert n.dtype == k.dtype and n.shape == k.shape
        numpy.testing.assert_array_equal(n, k)
    for args in ((1,), ((1, 2),), (1, 2), (1, 2, 3), ([1, 2], None, 4)):
        assert nk.utils.pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)
    for data in (1, (1,), (1, 2), (1, 2, 3), [1, 2]):
        assert nk.utils.unpack_x_y_sample_weight(data) == keras.utils.unpack_x_y_sample_weight(data)
    for m in (keras, nk):
        with pytest.raises(ValueError, match="Data is expected to be in format"):
            m.utils.unpack_x_y_sample_weight((1, 2, 3, 4))


@keras_api("utils.get_source_inputs")
def test_get_source_inputs_equals_keras():
    keras = keras_or_skip()
    names = []
    for m in (keras, nk):
        a, b = m.Input((2,), name="a"), m.Input((2,), name="b")
        c = m.layers.Dense(2)(m.layers.Add()([a, b]))
        d = m.layers.Dense(1)(m.layers.Concatenate()([c, a]))
        names.append([[t.name for t in m.utils.get_source_inputs(t)] for t in (a, c, d)])
    assert names[0] == names[1]


@keras_api("utils.Config")
def test_config_object_behaves_as_keras():
    keras = keras_or_skip()
    for m in (keras, nk):
        cfg = m.utils.Config(learning_rate=0.1, momentum=0.9)
        cfg.seed = 3
        cfg["decay"] = 0.5
        assert cfg.seed == 3 and cfg["learning_rate"] == 0.1 and cfg.get("x", 7) == 7
        assert list(cfg) == ["decay", "learning_rate", "momentum", "seed"]
        assert cfg.as_dict() == {"learning_rate": 0.1, "momentum": 0.9, "seed": 3, "decay": 0.5}
        assert cfg.to_json() == '{"learning_rate": 0.1, "momentum": 0.9, "seed": 3, "decay": 0.5}'
        cfg.freeze()
        assert cfg.frozen
        with pytest.raises(ValueError, match="frozen"):
            cfg.x = 1
        with pytest.raises(AttributeError, match="Did you mean 'momentum'"):
            _ = cfg.momentun
        cfg.unfreeze()
        cfg.pop("seed")
        assert "seed" not in cfg.keys()
