"""ImageBatches and the augmentations: determinism given a seed, the batch protocol model.fit uses, exact
geometry (pad-and-crop, flips, rotations by 90°, bilinear blends), photometry, cutout and normalization stats."""
import numpy
import pytest

from neuronka.datasets import Augmentation, ImageBatches, channel_stats
from neuronka.datasets.pipeline import Workspace, standard_normal, warp

EVERYTHING = Augmentation(crop_padding=4, horizontal_flip=True, rotation=15, shift=0.1, brightness=0.2,
                          contrast=0.2, noise=0.05, cutout=8)


@pytest.fixture
def images(rng):
    return rng.integers(0, 256, size=(50, 32, 32, 3), dtype=numpy.uint8)


def indexed(n, size=8):
    """Images whose every pixel holds the image's index: the label travelling with it can be checked."""
    x = numpy.repeat(numpy.arange(n, dtype=numpy.uint8), size * size * 3).reshape(n, size, size, 3)
    return x, numpy.arange(n).reshape(n, 1)


# ---- the batch protocol ------------------------------------------------------------------------------------
def test_same_seed_same_batches_every_epoch_and_other_seeds_or_epochs_differ(images):
    y = numpy.arange(len(images))
    a = ImageBatches(images, y, batch_size=16, augment=EVERYTHING, seed=3)
    b = ImageBatches(images, y, batch_size=16, augment=EVERYTHING, seed=3)
    epoch0_a, epoch0_b = list(a), list(b)
    epoch1_a = list(a)
    for (xa, ya), (xb, yb) in zip(epoch0_a, epoch0_b):
        numpy.testing.assert_array_equal(xa, xb)
        numpy.testing.assert_array_equal(ya, yb)
    assert not numpy.array_equal(epoch0_a[0][1], epoch1_a[0][1])  # a new shuffle each pass
    c = ImageBatches(images, y, batch_size=16, augment=EVERYTHING, seed=4)
    assert not numpy.array_equal(next(iter(c))[0], epoch0_a[0][0])


def test_batches_cover_the_set_once_per_epoch_with_labels_aligned():
    x, y = indexed(37)
    b = ImageBatches(x, y, batch_size=8, normalize=False, rescale=1.0, seed=0)
    assert len(b) == 5
    for _ in range(2):
        batches = list(b)
        assert [len(yb) for _, yb in batches] == [8, 8, 8, 8, 5]
        for xb, yb in batches:
            assert xb.dtype == numpy.float32 and xb.shape[1:] == (8, 8, 3)
            numpy.testing.assert_array_equal(xb[:, 0, 0, 0], yb[:, 0])
        assert sorted(numpy.concatenate([yb[:, 0] for _, yb in batches]).tolist()) == list(range(37))
    dropped = ImageBatches(x, y, batch_size=8, drop_remainder=True, shuffle=False)
    assert len(dropped) == 4 and [len(yb) for _, yb in dropped] == [8, 8, 8, 8]
    assert len(ImageBatches(x, None, batch_size=8)) == 5 and next(iter(ImageBatches(x, batch_size=8))).shape[0] == 8


def test_pydataset_protocol_getitem_matches_iteration_and_on_epoch_end_moves_on(images):
    b = ImageBatches(images, numpy.arange(50), batch_size=16, augment="cifar", seed=1)
    first = [b[i] for i in range(len(b))]
    assert b.epoch == 0
    for (x1, y1), (x2, y2) in zip(first, b):
        numpy.testing.assert_array_equal(x1, x2)
        numpy.testing.assert_array_equal(y1, y2)
    assert b.epoch == 1
    b.on_epoch_end()
    assert b.epoch == 2 and not numpy.array_equal(b[0][1], first[0][1])
    numpy.testing.assert_array_equal(b.batch(0, epoch=0)[0], first[0][0])
    with pytest.raises(IndexError):
        b[len(b)]


def test_unshuffled_unaugmented_batches_are_the_normalized_images_in_order(images):
    b = ImageBatches(images, None, batch_size=20, shuffle=False, mean=[0.5, 0.4, 0.3], std=[0.2, 0.25, 0.5])
    out = numpy.concatenate(list(b))
    expected = (images / 255.0 - numpy.array([0.5, 0.4, 0.3])) / numpy.array([0.2, 0.25, 0.5])
    numpy.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_normalization_from_training_stats_gives_zero_mean_unit_std(images):
    b = ImageBatches(images, None, batch_size=16, shuffle=False)
    out = numpy.concatenate(list(b)).astype(numpy.float64)
    numpy.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    numpy.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-5)
    ref = images.reshape(-1, 3) / 255.0
    mean, std = channel_stats(images)
    assert mean.dtype == numpy.float32
    numpy.testing.assert_allclose(mean, ref.mean(axis=0), rtol=1e-6)
    numpy.testing.assert_allclose(std, ref.std(axis=0), rtol=1e-6)
    numpy.testing.assert_allclose(channel_stats(images.astype(numpy.float32) / 255, rescale=1.0)[1], std, rtol=1e-5)


@pytest.mark.parametrize("bad, match", [
    (dict(x=numpy.zeros((4, 8, 8))), "shape"),
    (dict(y=numpy.zeros(3)), "rows"),
    (dict(batch_size=0), "batch_size"),
    (dict(augment="imagenet"), "augment"),
    (dict(mean=[0.1, 0.2], std=[1, 1]), "mean and std"),
    (dict(std=[0.0, 1, 1], mean=[0, 0, 0]), "std > 0"),
])
def test_bad_arguments_are_refused_naming_them(bad, match):
    args = dict(x=numpy.zeros((4, 8, 8, 3), numpy.uint8), y=numpy.zeros(4), batch_size=2)
    args.update(bad)
    with pytest.raises((ValueError, TypeError), match=match):
        ImageBatches(**args)
    with pytest.raises(ValueError, match="cutout"):
        Augmentation(cutout=-1)
    with pytest.raises(ValueError, match="interpolation"):
        Augmentation(interpolation="cubic")


# ---- geometry ---------------------------------------------------------------------------------------------
def test_flip_twice_is_identity_and_flip_mirrors_columns(images):
    flip = numpy.ones(len(images), bool)
    once = warp(images, flip=flip)
    numpy.testing.assert_array_equal(once, images[:, :, ::-1])
    numpy.testing.assert_array_equal(warp(once, flip=flip), images)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_integer_translation_equals_pad_4_then_crop_32(images, rng, interpolation):
    dy, dx = rng.integers(-4, 5, size=(2, len(images)))
    flip = rng.random(len(images)) < 0.5
    out = warp(images, flip=flip, dy=dy, dx=dx, interpolation=interpolation, work=Workspace())
    mirrored = numpy.where(flip[:, None, None, None], images[:, :, ::-1], images)  # mirror first, then move
    padded = numpy.pad(mirrored, ((0, 0), (4, 4), (4, 4), (0, 0)))
    for b in range(len(images)):  # the reference, one image at a time: out[r, c] = x[r − dy, c − dx]
        numpy.testing.assert_array_equal(out[b], padded[b, 4 - dy[b]:36 - dy[b], 4 - dx[b]:36 - dx[b]])


def test_rotation_by_90_degrees_is_rot90_counterclockwise(images):
    angle = numpy.full(len(images), 90.0)
    numpy.testing.assert_array_equal(warp(images, angle=angle), numpy.rot90(images, 1, axes=(1, 2)))
    bilinear = warp(images, angle=angle, interpolation="bilinear")
    numpy.testing.assert_allclose(bilinear, numpy.rot90(images, 1, axes=(1, 2)), atol=1e-3)


def test_bilinear_half_pixel_shift_averages_neighbours_and_fills_outside(images):
    out = warp(images, dx=numpy.full(len(images), 0.5), angle=numpy.full(len(images), 1e-9),
               interpolation="bilinear", fill_value=7.0)
    x = images.astype(numpy.float64)
    numpy.testing.assert_allclose(out[:, :, 1:], (x[:, :, :-1] + x[:, :, 1:]) / 2, atol=1e-3)
    numpy.testing.assert_allclose(out[:, :, 0], (x[:, :, 0] + 7.0) / 2, atol=1e-3)


def test_augmented_batches_keep_shape_dtype_and_crop_shifts_only_by_up_to_4_pixels():
    x = numpy.zeros((64, 32, 32, 3), numpy.uint8)
    x[:, 14:18, 14:18] = 255  # a centred square: its position after augmentation shows the shift
    b = ImageBatches(x, None, batch_size=64, augment=Augmentation(crop_padding=4), normalize=False, seed=0)
    out = next(iter(b))
    assert out.shape == (64, 32, 32, 3) and out.dtype == numpy.float32
    rows = numpy.argwhere(out[..., 0] > 0)
    shifts = rows[:, 1:] - 14
    assert shifts.min() >= -4 and shifts.max() <= 4 + 3
    assert len({tuple(r) for r in numpy.argwhere(out[:, :, :, 0] > 0)[:, 1:]}) > 16  # various offsets drawn


# ---- photometry, noise, cutout ---------------------------------------------------------------------------------
def test_contrast_and_brightness_follow_the_formula_and_clip(rng):
    x = rng.uniform(0.3, 0.7, size=(32, 8, 8, 3)).astype(numpy.float32)
    aug = Augmentation(contrast=0.5, brightness=0.1)
    out = aug.apply_photometric(x.copy(), numpy.random.default_rng(0))
    g = numpy.random.default_rng(0)
    f = g.uniform(0.5, 1.5, size=32)[:, None, None, None]
    delta = g.uniform(-0.1, 0.1, size=32)[:, None, None, None]
    m = x.mean(axis=(1, 2), keepdims=True)
    numpy.testing.assert_allclose(out, numpy.clip(f * (x - m) + m + delta, 0, 1), atol=1e-5)
    big = Augmentation(contrast=1.0, brightness=1.0).apply_photometric(x.copy(), rng)
    assert big.min() >= 0 and big.max() <= 1


def test_noise_has_the_requested_standard_deviation(rng):
    eps = standard_normal(rng, numpy.empty((200, 32, 32, 3), numpy.float32))
    assert abs(eps.mean()) < 0.01 and abs(eps.std() - 1) < 0.01 and abs(eps).max() < 4.4
    x = numpy.full((64, 16, 16, 3), 0.5, numpy.float32)
    out = Augmentation(noise=0.1).apply_photometric(x.copy(), rng)
    assert abs((out - x).std() - 0.1) < 0.003


def test_cutout_zeros_one_clipped_square_per_image(rng):
    x = numpy.ones((200, 32, 32, 3), numpy.float32)
    out = Augmentation(cutout=8).apply_cutout(x, rng)
    for img in out[:, :, :, 0]:
        rows, cols = numpy.nonzero(img == 0)
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert len(rows) == h * w and 4 <= h <= 8 and 4 <= w <= 8  # one rectangle, clipped at most to half
    assert numpy.all(out[..., 0] == out[..., 2])  # every channel


def test_everything_on_gives_finite_float32_batches(images):
    b = ImageBatches(images, numpy.arange(50), batch_size=32, augment=EVERYTHING, seed=0)
    for xb, _ in b:
        assert xb.dtype == numpy.float32 and numpy.isfinite(xb).all()
    nearest = ImageBatches(images, None, augment=dict(EVERYTHING.get_config(), interpolation="nearest"), seed=0)
    assert next(iter(nearest)).shape == (50, 32, 32, 3)


def test_model_fit_trains_on_image_batches_one_epoch_per_pass():
    from neuronka import layers
    from neuronka.models import Sequential

    g = numpy.random.default_rng(0)
    x = g.integers(0, 256, size=(256, 8, 8, 3), dtype=numpy.uint8)
    y = (x.mean(axis=(1, 2, 3)) > 127.5).astype(numpy.int64).reshape(-1, 1)  # bright or dark
    train = ImageBatches(x, y, batch_size=32, augment=Augmentation(horizontal_flip=True), seed=0)
    val = ImageBatches(x[:64], y[:64], batch_size=32, shuffle=False, mean=train.mean, std=train.std)
    model = Sequential([layers.Input((8, 8, 3)), layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, epochs=3, validation_data=val, verbose=0).history
    assert len(history["loss"]) == len(history["val_accuracy"]) == 3 and numpy.isfinite(history["loss"]).all()
    assert train.epoch == 3  # fit's on_epoch_end moved the pipeline on: a new shuffle and augmentation each epoch
