"""CIFAR-10/100 loaders and image-folder trees: exact round trips on small archives the tests write in the
official formats, where the data is looked for, the decoded cache, the errors (md5, truncation, missing class,
malicious pickle), and the shared real JPEG copy (skipped when ../shared/datasets is absent)."""
import dataclasses
import io
import os
import pickle
import shutil
import tarfile
import time
import urllib.error

import numpy
import pytest
from PIL import Image

from neuronka.datasets import cache_dir, cifar, cifar10, cifar100, load_image_folder
from neuronka.datasets.images import ArchiveError, natural_key, read_tar

from .conftest import dataset_path


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty user cache and no $NEURONKA_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NEURONKA_DATA", raising=False)
    return tmp_path / "xdg" / "neuronka" / "datasets"


# ---- writing small datasets in the official formats ------------------------------------------------------
def _pickle_like_the_originals(obj) -> bytes:
    """Protocol 3 pickle naming numpy.core.multiarray._reconstruct, as the official (NumPy 1.x era) files do."""
    data = pickle.dumps(obj, protocol=3)
    return data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def _rows(x):
    """NHWC uint8 images -> official rows: (n, 3072), the red plane, then green, then blue."""
    return numpy.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), 3072))


def _images(rng, n):
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=numpy.uint8)


def write_cifar10(root, rng, per_batch=4, n_test=6, archive=True):
    """cifar-10-batches-py with 5 train batches and a test batch; returns (path, expected arrays)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    x_train, x_test = _images(rng, 5 * per_batch), _images(rng, n_test)
    y_train, y_test = rng.integers(0, 10, 5 * per_batch), rng.integers(0, 10, n_test)
    for i in range(5):
        s = slice(i * per_batch, (i + 1) * per_batch)
        batch = {b"batch_label": f"training batch {i + 1} of 5".encode(), b"labels": y_train[s].tolist(),
                 b"data": _rows(x_train[s]), b"filenames": [f"img_{j}.png".encode() for j in range(per_batch)]}
        (folder / f"data_batch_{i + 1}").write_bytes(_pickle_like_the_originals(batch))
    test = {b"batch_label": b"testing batch 1 of 1", b"labels": y_test.tolist(), b"data": _rows(x_test)}
    (folder / "test_batch").write_bytes(_pickle_like_the_originals(test))
    meta = {b"label_names": [n.encode() for n in cifar10.CLASS_NAMES], b"num_cases_per_batch": per_batch,
            b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(_pickle_like_the_originals(meta))
    path = folder
    if archive:
        path = root / "cifar-10-python.tar.gz"
        with tarfile.open(path, "w:gz") as tf:
            tf.add(folder, arcname="cifar-10-batches-py")
        shutil.rmtree(folder)
    return path, (x_train, y_train, x_test, y_test)


def write_cifar100(root, rng, n_train=12, n_test=5):
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    expected = []
    for split, n in (("train", n_train), ("test", n_test)):
        x, fine = _images(rng, n), rng.integers(0, 100, n)
        coarse = cifar100.FINE_TO_COARSE[fine]
        d = {b"filenames": [b"f.png"] * n, b"batch_label": split.encode(), b"fine_labels": fine.tolist(),
             b"coarse_labels": coarse.tolist(), b"data": _rows(x)}
        (folder / split).write_bytes(_pickle_like_the_originals(d))
        expected += [x, fine, coarse]
    meta = {b"fine_label_names": [n.encode() for n in cifar100.FINE_LABEL_NAMES],
            b"coarse_label_names": [n.encode() for n in cifar100.COARSE_LABEL_NAMES]}
    (folder / "meta").write_bytes(_pickle_like_the_originals(meta))
    path = root / "cifar-100-python.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        tf.add(folder, arcname="cifar-100-python")
    shutil.rmtree(folder)
    return path, expected


def write_tree(root, rng, classes=cifar10.CLASS_NAMES, counts=None, size=(32, 32), skip=()):
    """train/<class>/<i>.png and test/<class>/<i>.png (lossless); returns {split: (x, y) class-major}."""
    counts = counts or {"train": 3, "test": 2}
    out = {}
    for split, n in counts.items():
        xs, ys = [], []
        for k, cls in enumerate(classes):
            if (split, cls) in skip:
                continue
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 256, size=size + (3,), dtype=numpy.uint8)
                Image.fromarray(img).save(root / split / cls / f"{i}.png")
                xs.append(img)
                ys.append(k)
        out[split] = (numpy.stack(xs), numpy.array(ys))
    return out


def interleaved(x, y):
    """The order the CIFAR loaders give image trees: 1st image of each class, then the 2nd, ..."""
    rank = numpy.concatenate([numpy.arange(c) for c in numpy.bincount(y)])
    order = numpy.lexsort((y, rank))
    return x[order], y[order]


def assert_loaded(result, x_train, y_train, x_test, y_test, y_dtype=numpy.uint8):
    (xa, ya), (xb, yb) = result
    for x, y, ex, ey in ((xa, ya, x_train, y_train), (xb, yb, x_test, y_test)):
        assert x.dtype == numpy.uint8 and x.shape == (len(ex), 32, 32, 3) and x.flags.c_contiguous
        assert y.dtype == y_dtype and y.shape == (len(ey), 1)
        numpy.testing.assert_array_equal(x, ex)
        numpy.testing.assert_array_equal(y[:, 0], ey)


# ---- official formats ------------------------------------------------------------------------------------
def test_cifar10_official_archive_round_trips_exact_pixels_and_labels(tmp_path, rng):
    path, expected = write_cifar10(tmp_path, rng)
    assert_loaded(cifar10.load_data(path=path), *expected)


def test_cifar10_extracted_folder_and_its_parent_folder_both_load(tmp_path, rng):
    path, expected = write_cifar10(tmp_path, rng, archive=False)
    assert_loaded(cifar10.load_data(path=path), *expected)
    assert_loaded(cifar10.load_data(path=tmp_path), *expected)  # a folder holding cifar-10-batches-py


def test_cifar100_archive_gives_fine_and_coarse_labels_as_keras_int64(tmp_path, rng):
    path, (x_train, fine_train, coarse_train, x_test, fine_test, coarse_test) = write_cifar100(tmp_path, rng)
    assert_loaded(cifar100.load_data("fine", path=path), x_train, fine_train, x_test, fine_test, numpy.int64)
    assert_loaded(cifar100.load_data(label_mode="coarse", path=path), x_train, coarse_train, x_test, coarse_test,
                  numpy.int64)
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium", path=path)


def test_class_names_are_the_official_lists_in_official_order():
    assert cifar10.CLASS_NAMES == ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                   "truck")
    fine, coarse = cifar100.FINE_LABEL_NAMES, cifar100.COARSE_LABEL_NAMES
    assert len(set(fine)) == 100 and len(set(coarse)) == 20
    assert fine[:5] == ("apple", "aquarium_fish", "baby", "bear", "beaver") and fine[-1] == "worm"
    assert coarse[0] == "aquatic_mammals" and coarse[9] == "large_man-made_outdoor_things"
    assert coarse[-2:] == ("vehicles_1", "vehicles_2")
    # the fine -> coarse map as commonly published (independent of the superclass table it is derived from)
    published = [4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
                 0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4,
                 18, 17, 10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19,
                 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13]
    numpy.testing.assert_array_equal(cifar100.FINE_TO_COARSE, published)


def test_malicious_pickle_raises_without_running_its_payload(tmp_path, rng):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path, _ = write_cifar10(tmp_path / "src", rng, archive=False)
    (path / "data_batch_3").write_bytes(pickle.dumps({b"data": Payload(), b"labels": []}, protocol=3))
    with pytest.raises(ValueError, match=r"data_batch_3.*refusing to load global (posix|os)\.system"):
        cifar10.load_data(path=path)
    assert not marker.exists()
    # the unpickler itself, on other ways in: builtins.eval, and a harmless-looking numpy global
    for evil in (b"cbuiltins\neval\n(S'1+1'\ntR.", b"cnumpy\nload\n(S'x'\ntR."):
        with pytest.raises(pickle.UnpicklingError, match="refusing"):
            cifar.RestrictedUnpickler(io.BytesIO(evil)).load()


def test_truncated_archive_raises_naming_the_file_and_leaves_no_cache(tmp_path, rng, isolated_cache):
    path, _ = write_cifar10(tmp_path, rng)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cifar-10-python\.tar\.gz is truncated or corrupted"):
        cifar10.load_data(path=path)
    assert not isolated_cache.exists() or not any(isolated_cache.iterdir())


def test_truncated_batch_file_raises_naming_it(tmp_path, rng):
    path, _ = write_cifar10(tmp_path, rng, archive=False)
    data = (path / "test_batch").read_bytes()
    (path / "test_batch").write_bytes(data[:1000])
    with pytest.raises(ValueError, match=r"test_batch: not a complete pickled CIFAR batch"):
        cifar10.load_data(path=path)


def test_unwritable_cache_warns_and_still_returns_the_data(tmp_path, rng, monkeypatch):
    path, expected = write_cifar10(tmp_path, rng)
    (tmp_path / "not_a_folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not_a_folder"))
    with pytest.warns(UserWarning, match="could not cache"):
        assert_loaded(cifar10.load_data(path=path), *expected)


def test_archive_without_the_batches_names_what_is_missing(tmp_path, rng):
    path, _ = write_cifar10(tmp_path, rng, archive=False)
    (path / "data_batch_4").unlink()
    with pytest.raises(ValueError, match="missing data_batch_4"):
        cifar10.load_data(path=path / "..")


def test_read_tar_matches_tarfile_on_long_names_and_pax_headers(tmp_path):
    path = tmp_path / "t.tar"
    files = {"a/" + "x" * 120 + ".png": b"1" * 700, "b/ü.jpg": b"22", "c/empty.png": b"", "d/e/f.txt": b"3" * 512}
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tf:  # GNU long names
        for name, data in list(files.items())[:2]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    pax = tmp_path / "p.tar.gz"
    with tarfile.open(pax, "w:gz", format=tarfile.PAX_FORMAT) as tf:  # pax path records
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    assert [(n, bytes(d)) for n, d in read_tar(path)] == list(files.items())[:2]
    assert [(n, bytes(d)) for n, d in read_tar(pax)] == list(files.items())
    corrupt = bytearray(path.read_bytes())
    corrupt[100] ^= 0xFF  # the mode field of the first header: its checksum no longer matches
    (tmp_path / "bad.tar").write_bytes(bytes(corrupt))
    with pytest.raises(ArchiveError, match="bad.tar"):
        read_tar(tmp_path / "bad.tar")


# ---- image-folder trees ------------------------------------------------------------------------------------
def test_image_folder_tree_loads_exactly_interleaving_the_classes(tmp_path, rng):
    tree = write_tree(tmp_path / "cifar10", rng)
    expected = [*interleaved(*tree["train"]), *interleaved(*tree["test"])]
    assert_loaded(cifar10.load_data(path=tmp_path / "cifar10"), *expected)
    (_, y), _ = cifar10.load_data(path=tmp_path / "cifar10")
    assert y[:10, 0].tolist() == list(range(10))  # balanced prefixes: validation_split takes every class
    archive = tmp_path / "tree.tar.gz"  # a .tar.gz of the tree, under a leading folder
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(tmp_path / "cifar10", arcname="cifar10")
    assert_loaded(cifar10.load_data(path=archive), *expected)


def test_image_tree_of_cifar100_classes_derives_the_coarse_labels(tmp_path, rng):
    write_tree(tmp_path, rng, classes=cifar100.FINE_LABEL_NAMES, counts={"train": 1, "test": 1})
    (_, y_fine), _ = cifar100.load_data("fine", path=tmp_path)
    (_, y_coarse), (_, yt_coarse) = cifar100.load_data("coarse", path=tmp_path)
    assert y_fine[:, 0].tolist() == list(range(100))
    numpy.testing.assert_array_equal(y_coarse[:, 0], cifar100.FINE_TO_COARSE)
    assert y_coarse.dtype == yt_coarse.dtype == numpy.int64


def test_image_tree_missing_a_class_names_the_split_and_the_class(tmp_path, rng):
    write_tree(tmp_path, rng, counts={"train": 1, "test": 1}, skip={("test", "truck")})
    with pytest.raises(ValueError, match=r"split 'test': no images for class\(es\) truck"):
        cifar10.load_data(path=tmp_path)


def test_image_tree_of_wrong_size_images_is_refused(tmp_path, rng):
    write_tree(tmp_path, rng, counts={"train": 1, "test": 1}, size=(24, 24))
    with pytest.raises(ValueError, match="24x24 images, expected 32x32"):
        cifar10.load_data(path=tmp_path)


def test_load_image_folder_orders_classes_and_files_naturally(tmp_path, rng):
    imgs = {}
    for cls in ("dog", "cat"):
        (tmp_path / cls).mkdir()
        for i in (10, 2, 1):
            img = rng.integers(0, 256, size=(5, 7, 3), dtype=numpy.uint8)
            Image.fromarray(img).save(tmp_path / cls / f"img{i}.png")
            imgs[cls, i] = img
    Image.fromarray(numpy.zeros((5, 7), numpy.uint8)).save(tmp_path / "cat" / "img11.png")  # grayscale -> RGB
    x, y, names = load_image_folder(tmp_path)
    assert names == ["cat", "dog"] and y.tolist() == [0, 0, 0, 0, 1, 1, 1]
    expected = [imgs["cat", 1], imgs["cat", 2], imgs["cat", 10], numpy.zeros((5, 7, 3)), imgs["dog", 1],
                imgs["dog", 2], imgs["dog", 10]]
    numpy.testing.assert_array_equal(x, numpy.stack(expected))
    x, y, names = load_image_folder(tmp_path, class_names=["dog", "cat"], image_size=(4, 4))
    assert x.shape == (7, 4, 4, 3) and names == ["dog", "cat"] and y.tolist() == [0, 0, 0, 1, 1, 1, 1]
    Image.fromarray(numpy.zeros((6, 6, 3), numpy.uint8)).save(tmp_path / "dog" / "odd.png")
    with pytest.raises(ValueError, match=r"odd\.png is 6x6, expected 7x5"):
        load_image_folder(tmp_path)
    (tmp_path / "dog" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"cannot decode image .*broken\.jpg"):
        load_image_folder(tmp_path, image_size=(4, 4))
    assert sorted(["a10", "a2", "b1", "a1"], key=natural_key) == ["a1", "a2", "a10", "b1"]


# ---- where the data comes from, and the cache --------------------------------------------------------------
def test_neuronka_data_then_user_cache_are_searched(tmp_path, rng, monkeypatch, isolated_cache):
    path, expected = write_cifar10(tmp_path / "data", rng)
    monkeypatch.setenv("NEURONKA_DATA", str(tmp_path / "data"))
    assert_loaded(cifar10.load_data(), *expected)
    monkeypatch.delenv("NEURONKA_DATA")
    assert cache_dir() == isolated_cache
    isolated_cache.mkdir(parents=True, exist_ok=True)
    shutil.move(path, isolated_cache / path.name)
    assert_loaded(cifar10.load_data(), *expected)


def test_cache_hit_decodes_nothing_and_a_changed_source_is_decoded_again(tmp_path, rng, monkeypatch, isolated_cache):
    path, expected = write_cifar10(tmp_path, rng)
    assert_loaded(cifar10.load_data(path=path), *expected)
    assert len(list(isolated_cache.glob("cifar10-*.npz"))) == 1
    assert not list(isolated_cache.glob(".*tmp"))  # written atomically: no temporary left

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(cifar, "_decode", no_decoding)
    assert_loaded(cifar10.load_data(path=path), *expected)
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated_cache.parents[1]))
    _, expected2 = write_cifar10(tmp_path / "other", rng)
    shutil.copy(tmp_path / "other" / "cifar-10-python.tar.gz", path)  # same path, new contents
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert_loaded(cifar10.load_data(path=path), *expected2)
    assert len(list(isolated_cache.glob("cifar10-*.npz"))) == 1  # one cache file per source path


def test_download_fetches_checks_md5_and_keeps_the_archive(tmp_path, rng, monkeypatch, isolated_cache):
    local, expected = write_cifar10(tmp_path, rng)
    calls = []

    def fetch(url, dest):
        calls.append(url)
        shutil.copy(local, dest)

    monkeypatch.setattr(cifar, "_fetch", fetch)
    monkeypatch.setattr(cifar, "CIFAR10", dataclasses.replace(cifar.CIFAR10, md5=cifar.file_md5(local)))
    assert_loaded(cifar10.load_data(), *expected)
    assert calls == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert (isolated_cache / "cifar-10-python.tar.gz").is_file()
    assert_loaded(cifar10.load_data(), *expected)
    assert len(calls) == 1  # found in the cache the second time


def test_download_with_wrong_md5_raises_and_keeps_nothing(tmp_path, rng, monkeypatch, isolated_cache):
    local, _ = write_cifar10(tmp_path, rng)
    monkeypatch.setattr(cifar, "_fetch", lambda url, dest: shutil.copy(local, dest))
    assert cifar.CIFAR10.md5 == "c58f30108f718f92721af3b95e74349a"
    with pytest.raises(ValueError, match=r"md5 [0-9a-f]{32} does not match the expected c58f30108f718f92721af3b"):
        cifar10.load_data()
    assert list(isolated_cache.iterdir()) == []


def test_missing_everywhere_says_where_it_looked_and_how_to_provide_the_data(monkeypatch, isolated_cache):
    def offline(url, dest):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(cifar, "_fetch", offline)
    assert cifar.CIFAR100.url == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert cifar.CIFAR100.md5 == "eb9058c3a382ffc7106e4002c42a8d85"
    with pytest.raises(FileNotFoundError) as e:
        cifar100.load_data()
    msg = str(e.value)
    for part in ("$NEURONKA_DATA (not set)", str(isolated_cache), "cifar-100-python.tar.gz", "no network",
                 "path=", "download"):
        assert part in msg
    assert not any(p.name.endswith(".part") for p in isolated_cache.iterdir())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cifar10.load_data(path="/nonexistent/cifar")


# ---- the shared real copy ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_shared_cifar10_jpeg_copy_loads_50000_and_10000_balanced_images_then_from_cache(monkeypatch):
    path = dataset_path("cifar10", "cifar10-jpeg.tar.gz")
    (x, y), (xt, yt) = cifar10.load_data(path=path)
    assert x.shape == (50000, 32, 32, 3) and xt.shape == (10000, 32, 32, 3) and x.dtype == numpy.uint8
    assert y.shape == (50000, 1) and y.dtype == numpy.uint8
    assert numpy.bincount(y[:, 0]).tolist() == [5000] * 10
    assert numpy.bincount(yt[:, 0]).tolist() == [1000] * 10
    assert 100 < x.mean() < 150  # real photographs, not blank decodes

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(cifar, "_decode", no_decoding)  # the second load must come from the cache
    (x2, y2), (xt2, yt2) = cifar10.load_data(path=path)
    numpy.testing.assert_array_equal(x2, x)
    numpy.testing.assert_array_equal(yt2, yt)


def _tar_with_pax_record(first_record: bytes) -> bytes:
    """A small tar whose pax extended header holds ``first_record`` and then a ``path`` record."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        payload = first_record + b"14 path=a.png\n"
        info = tarfile.TarInfo("././@PaxHeader")
        info.type, info.size = tarfile.XHDTYPE, len(payload)
        tar.addfile(info, io.BytesIO(payload))
        data = b"not really a png"
        info = tarfile.TarInfo("x.png")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_pax_record_of_length_zero_is_a_clear_error_not_a_hang(tmp_path):
    import threading

    from neuronka.datasets.images import ArchiveError, read_tar

    path = tmp_path / "bad.tar"
    path.write_bytes(_tar_with_pax_record(b"0 mtime=1\n"))  # a record of length 0: the reader used to spin
    assert path.stat().st_size < 20_000
    outcome = []

    def run():
        try:
            read_tar(path)
            outcome.append("read")
        except ArchiveError as err:
            outcome.append(str(err))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "read_tar hung on a pax record of length 0"
    assert outcome and "bad.tar" in outcome[0] and "pax header record" in outcome[0]
    good = tmp_path / "good.tar"
    good.write_bytes(_tar_with_pax_record(b"11 mtime=1\n"))  # "11 mtime=1\n" is 11 bytes
    assert [name for name, _ in read_tar(good)] == ["a.png"]


def test_a_gzip_bomb_is_refused_at_the_archive_cap(tmp_path):
    import gzip
    import io
    import tarfile

    from neuronka.datasets.images import ArchiveError, read_tar

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("zeros.png")
        info.size = 8 << 20
        tar.addfile(info, io.BytesIO(b"\0" * info.size))
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(gzip.compress(buf.getvalue()))
    assert path.stat().st_size < 100_000
    from neuronka import config

    config.set("max_archive_bytes", 1 << 20)
    try:
        with pytest.raises(ArchiveError, match="inflates to more than 1048576 bytes"):
            read_tar(path)
    finally:
        config.reset("max_archive_bytes")
    assert [name for name, _ in read_tar(path)] == ["zeros.png"]
