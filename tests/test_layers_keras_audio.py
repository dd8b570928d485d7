"""The audio front ends, MelSpectrogram and STFTSpectrogram, against real Keras 3.15.1: one row per argument set
(see tests/layer_harness.py) with float64 gradchecks on small signals, unbatched signals, Keras's quirks that
neuronka keeps, and a MelSpectrogram model through ``.keras`` files both ways."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers

from .keras_oracle import assert_same, keras_api, keras_or_skip
from .layer_harness import LayerCase, layer_cases
from .test_keras_saving import assert_predictions, make_inputs, predict, randomize

SMALL = {"fft_length": 64, "sequence_stride": 16, "num_mel_bins": 8, "sampling_rate": 8000}

# signal lengths L with (L + 1) not a multiple of sequence_stride: there Keras's compute_output_shape agrees with
# the frames its call returns (see test_mel_output_shape_keeps_keras_formula)
MEL = [
    LayerCase("mel_spectrogram", layers.MelSpectrogram, SMALL, (2, 200), keras=True),
    LayerCase("mel_spectrogram_linear_grad", layers.MelSpectrogram, {**SMALL, "power_to_db": False},
              (2, 90), keras=True, gradcheck=True),
    LayerCase("mel_spectrogram_db_grad", layers.MelSpectrogram,
              {**SMALL, "top_db": 200.0, "num_mel_bins": 4}, (1, 70), keras=True, gradcheck=True),
    LayerCase("mel_spectrogram_short_window_magnitude", layers.MelSpectrogram,
              {**SMALL, "sequence_length": 48, "window": "hamming", "mag_exp": 1.0, "min_freq": 100.0,
               "max_freq": 3000, "power_to_db": False}, (2, 160), keras=True),
    LayerCase("mel_spectrogram_top_db_clipping", layers.MelSpectrogram,
              {**SMALL, "top_db": 20.0, "ref_power": 2.0, "min_power": 1e-6, "num_mel_bins": 12}, (3, 120),
              keras=True),
    LayerCase("mel_spectrogram_no_window_stride", layers.MelSpectrogram,
              {"fft_length": 32, "sequence_stride": 10, "window": None, "num_mel_bins": 6, "sampling_rate": 4000,
               "mag_exp": 1.5}, (2, 100), keras=True),
]

STFT_SMALL = {"frame_length": 32, "frame_step": 8}
STFT = [
    LayerCase("stft_spectrogram_log", layers.STFTSpectrogram, STFT_SMALL, (2, 80, 2), keras=True),
    LayerCase("stft_spectrogram_magnitude_grad", layers.STFTSpectrogram,
              {"mode": "magnitude", "frame_length": 8, "frame_step": 4}, (1, 24, 2), keras=True, gradcheck=True),
    LayerCase("stft_spectrogram_real_grad", layers.STFTSpectrogram,
              {"mode": "real", "frame_length": 16, "frame_step": 4, "padding": "same"}, (2, 30, 1), keras=True,
              gradcheck=True),
    LayerCase("stft_spectrogram_imag_expand_dims", layers.STFTSpectrogram,
              {**STFT_SMALL, "mode": "imag", "expand_dims": True}, (2, 64, 3), keras=True),
    LayerCase("stft_spectrogram_angle_periodic", layers.STFTSpectrogram,
              {**STFT_SMALL, "mode": "angle", "periodic": True, "window": "hamming"}, (2, 64, 1), keras=True),
    LayerCase("stft_spectrogram_psd_spectrum_scaling", layers.STFTSpectrogram,
              {**STFT_SMALL, "mode": "psd", "scaling": "spectrum", "fft_length": 64}, (2, 72, 2), keras=True),
    LayerCase("stft_spectrogram_stft_channels_first", layers.STFTSpectrogram,
              {**STFT_SMALL, "mode": "stft", "data_format": "channels_first", "scaling": None}, (2, 2, 70),
              keras=True),
    LayerCase("stft_spectrogram_stft_channels_first_grad", layers.STFTSpectrogram,
              {"mode": "stft", "frame_length": 8, "frame_step": 3, "data_format": "channels_first"}, (1, 2, 20),
              keras=True, gradcheck=True),
    LayerCase("stft_spectrogram_log_channels_first_expand_dims_same", layers.STFTSpectrogram,
              {"frame_length": 20, "padding": "same", "data_format": "channels_first", "expand_dims": True},
              (2, 3, 50), keras=True),
    LayerCase("stft_spectrogram_magnitude_default_step", layers.STFTSpectrogram,
              {"mode": "magnitude", "frame_length": 24, "window": None}, (2, 60, 2), keras=True),
]


@layer_cases(MEL + STFT)
def test_layer_matches_keras(case):
    case.run()


@keras_api("layers.MelSpectrogram")
def test_mel_spectrogram_of_an_unbatched_signal_is_keras():
    keras = keras_or_skip()
    x = numpy.random.default_rng(0).standard_normal(150).astype("float32")
    expected = keras.layers.MelSpectrogram(**SMALL)(x)
    actual = layers.MelSpectrogram(**SMALL)(x)
    assert_same(actual, expected, rtol=1e-4, atol=1e-4)
    assert layers.MelSpectrogram(**SMALL).compute_output_shape((150,)) == (8, 10)


@keras_api("layers.MelSpectrogram")
def test_mel_output_shape_keeps_keras_formula():
    # Keras answers (L + stride + 1) // stride frames; a centered STFT has 1 + L // stride: they differ when
    # stride divides L + 1, and both layers say the same there (the call returns the true count)
    keras = keras_or_skip()
    for length in (200, 207):
        k, n = keras.layers.MelSpectrogram(**SMALL), layers.MelSpectrogram(**SMALL)
        assert tuple(n.compute_output_shape((None, length))) == tuple(k.compute_output_shape((None, length)))
    assert layers.MelSpectrogram(**SMALL)(numpy.zeros((1, 207), "float32")).shape == (1, 8, 13)


@keras_api("layers.MelSpectrogram")
def test_mel_weight_matrix_is_keras():
    keras = keras_or_skip()
    args = (10, 33, 8000, 125.0, 3800.0)
    expected = keras.layers.MelSpectrogram().linear_to_mel_weight_matrix(*args)
    assert_same(layers.MelSpectrogram().linear_to_mel_weight_matrix(*args), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make,message,error", [
    (lambda: layers.MelSpectrogram(fft_length=64, sequence_length=128), "fft_length", ValueError),
    (lambda: layers.STFTSpectrogram(mode="power"), "mode", ValueError),
    (lambda: layers.STFTSpectrogram(frame_length=16, frame_step=32), "frame_step", ValueError),
    (lambda: layers.STFTSpectrogram(frame_length=32, fft_length=16), "fft_length", ValueError),
    (lambda: layers.STFTSpectrogram(scaling="power"), "scaling", ValueError),
    (lambda: layers.STFTSpectrogram(padding="causal"), "padding", ValueError),
    (lambda: layers.STFTSpectrogram(window="no_such_window"), "Invalid window name .no_such_window.", ValueError),
])
def test_bad_audio_arguments_raise_keras_errors(make, message, error):
    with pytest.raises(error, match=message):
        make()


def test_stft_spectrogram_refuses_integer_signals():
    with pytest.raises(TypeError, match="float"):
        layers.STFTSpectrogram(frame_length=8)(numpy.zeros((1, 16, 1), "int32"))


def test_stft_spectrogram_warns_when_fft_length_is_not_a_power_of_two():
    with pytest.warns(UserWarning, match="power of two"):
        layers.STFTSpectrogram(frame_length=16, fft_length=24)


# ---------------------------------------------------------------------------------------------- .keras files
FAMILIES = {
    "mel_spectrogram": (lambda K: K.Sequential([
        K.Input((200,)), K.layers.MelSpectrogram(**SMALL), K.layers.Flatten(), K.layers.Dense(2)]), ((2, 200),)),
    "stft_spectrogram": (lambda K: K.Sequential([
        K.Input((80, 2)), K.layers.STFTSpectrogram(mode="magnitude", **STFT_SMALL), K.layers.Flatten(),
        K.layers.Dense(2)]), ((2, 80, 2),)),
}


@pytest.fixture(scope="module")
def keras():
    k = keras_or_skip()
    yield k
    k.utils.clear_session()
    nk.utils.clear_session()


@keras_api("saving.save_model", "saving.load_model", "layers.MelSpectrogram", "layers.STFTSpectrogram")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_keras_file_saved_by_keras_loads_in_neuronka_and_back(tmp_path, keras, family):
    build, spec = FAMILIES[family]
    x = make_inputs(spec)
    km = build(keras)
    randomize(km, seed=5)
    km.save(tmp_path / "k.keras")
    loaded = nk.saving.load_model(tmp_path / "k.keras")
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in km.layers]
    assert_predictions(predict(loaded, x), predict(km, x))

    nm = build(nk)
    randomize(nm, seed=4)
    nm.save(tmp_path / "n.keras")
    back = keras.saving.load_model(tmp_path / "n.keras")
    assert_predictions(predict(back, x), predict(nm, x))
