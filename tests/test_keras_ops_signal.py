"""keras.ops' Fourier and framing ops — fft, fft2, ifft2, rfft, irfft, stft, istft, extract_sequences,
view_as_complex, view_as_real — compared with real Keras 3.15.1 (PyTorch backend): values, shapes, dtypes;
and their backwards (the adjoints of these linear maps) against central differences in float64.

A complex value is a (real, imag) pair, as in Keras; a gradient row checks both outputs at once by
concatenating them.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk

from .keras_oracle import Inputs, OpCase, keras_api, keras_or_skip, op_cases

RTOL, ATOL = 1e-4, 1e-4  # float32 transforms of a few dozen samples


def _both(pair):
    """One tensor holding the (real, imag) outputs, for gradcheck."""
    return nk.ops.concatenate([pair[0], pair[1]], axis=-1)


def pair(r: Inputs, shape, dtype="float32"):
    return (r.normal(shape, dtype), r.normal(shape, dtype))


def _pair_case(name, shape, kwargs=None, id="", dtype="float32", grad=True):
    """A row of an op taking x = (real, imag): both parts are arguments, so that both are gradchecked."""
    op = name.split(".")[-1]
    pair_out = op != "irfft"
    return OpCase(name, lambda r: pair(r, shape, dtype), kwargs or {}, id=id, rtol=RTOL, atol=ATOL,
                  keras_fn=lambda re, im, **kw: getattr(keras_or_skip().ops, op)((re, im), **kw),
                  nk_fn=lambda re, im, **kw: getattr(nk.ops, op)((re, im), **kw),
                  grad=(0, 1) if grad else (),
                  grad_fn=(lambda re, im, **kw: _both(getattr(nk.ops, op)((re, im), **kw))) if pair_out else None)


def _real_case(name, shape, kwargs=None, id="", dtype="float32", grad=True, make=None):
    op = name.split(".")[-1]
    return OpCase(name, make or (lambda r: (r.normal(shape, dtype),)), kwargs or {}, id=id, rtol=RTOL, atol=ATOL,
                  grad=(0,) if grad else (), grad_fn=lambda x, **kw: _both(getattr(nk.ops, op)(x, **kw)))


FOURIER = [
    _pair_case("ops.fft", (2, 8)),
    _pair_case("ops.fft", (7,), id="odd_length_float64", dtype="float64"),
    _pair_case("ops.fft2", (2, 3, 4)),
    _pair_case("ops.fft2", (5, 4), id="float64", dtype="float64", grad=False),
    _pair_case("ops.ifft2", (3, 5)),
    _pair_case("ops.ifft2", (2, 4, 4), id="batched_float64", dtype="float64", grad=False),
    _real_case("ops.rfft", (2, 8)),
    _real_case("ops.rfft", (2, 9), {"fft_length": 5}, id="cropped_odd"),
    _real_case("ops.rfft", (3, 5), {"fft_length": 12}, id="zero_padded"),
    _real_case("ops.rfft", (6,), id="float64", dtype="float64", grad=False),
    _real_case("ops.rfft", (), id="int32_gives_float32", grad=False, make=lambda r: (r.ints((2, 6)),)),
    _pair_case("ops.irfft", (2, 5)),
    _pair_case("ops.irfft", (2, 5), {"fft_length": 7}, id="odd_length"),
    _pair_case("ops.irfft", (4,), {"fft_length": 12}, id="bins_zero_padded"),
    _pair_case("ops.irfft", (2, 9), {"fft_length": 6}, id="bins_cropped"),
]


@op_cases(FOURIER)
def test_fourier_op_matches_keras(case):
    case.run()


# ---------------------------------------------------------------------------------------------------------------
# stft / istft
# ---------------------------------------------------------------------------------------------------------------
STFT_SETTINGS = [  # (sequence_length, sequence_stride, fft_length, window, center)
    (8, 2, 8, "hann", True),
    (6, 2, 8, "hamming", True),
    (5, 3, 8, None, True),
    (4, 2, 8, "hann", False),
    (7, 4, 7, "hamming", False),
]


def _stft_id(s):
    return "_".join(str(v) for v in s)


STFT = [
    OpCase("ops.stft", lambda r: (r.normal((2, 16)),), {"sequence_length": sl, "sequence_stride": st, "fft_length": fl,
                                                        "window": w, "center": c},
           id=_stft_id((sl, st, fl, w, c)), rtol=RTOL, atol=ATOL, grad=(0,),
           grad_fn=lambda x, **kw: _both(nk.ops.stft(x, **kw)))
    for sl, st, fl, w, c in STFT_SETTINGS
] + [
    OpCase("ops.stft", lambda r: (r.normal((2, 3, 20), "float64"),), {"sequence_length": 6, "sequence_stride": 3,
                                                                     "fft_length": 8},
           id="batched_float64"),
    OpCase("ops.stft", lambda r: (r.normal((16,)),), {"sequence_length": 6, "sequence_stride": 2, "fft_length": 6,
                                                     "window": numpy.linspace(0.1, 1.0, 6).astype("float32")},
           id="window_array", rtol=RTOL, atol=ATOL),
]

ISTFT_SETTINGS = [  # (sequence_length, sequence_stride, fft_length, window, center, length)
    (8, 2, 8, "hann", True, None),  # torch.istft: divided by the overlap-added w² at each sample
    (8, 2, 8, "hamming", True, 10),
    (8, 2, 8, "hann", True, 20),  # longer than the signal: zero-padded
    (6, 2, 8, "hann", True, None),  # Keras's own path: divided by the steady-state Σ w²
    (5, 3, 8, None, True, 12),
    (4, 2, 8, "hann", False, None),
    (8, 4, 8, "hamming", False, 30),
]


def _istft_case(sl, st, fl, w, c, length):
    def make(r):  # a real spectrogram: what istft inverts
        spec = nk.ops.stft(r.normal((2, 16)), sl, st, fl, window=w, center=c)
        return spec[0].numpy(), spec[1].numpy()

    kw = {"sequence_length": sl, "sequence_stride": st, "fft_length": fl, "window": w, "center": c,
          "length": length}
    return OpCase("ops.istft", make, kw, id=_stft_id((sl, st, fl, w, c, length)), rtol=RTOL, atol=ATOL,
                  keras_fn=lambda re, im, **k: keras_or_skip().ops.istft((re, im), **k),
                  nk_fn=lambda re, im, **k: nk.ops.istft((re, im), **k), grad=(0, 1))


ISTFT = [_istft_case(*s) for s in ISTFT_SETTINGS]


@op_cases(STFT + ISTFT)
def test_stft_istft_match_keras(case):
    case.run()


@keras_api("ops.stft", "ops.istft")
def test_istft_of_stft_reconstructs_the_signal_like_keras():
    keras = keras_or_skip()
    x = Inputs(3).normal((2, 32))
    for sl, st, fl in ((8, 2, 8), (16, 4, 16)):
        spec = nk.ops.stft(x, sl, st, fl)
        y = nk.ops.istft(spec, sl, st, fl, length=32)
        numpy.testing.assert_allclose(y.numpy(), x, atol=1e-5)
        ky = keras.ops.istft(keras.ops.stft(x, sl, st, fl), sl, st, fl, length=32)
        numpy.testing.assert_allclose(y.numpy(), ky.numpy(), atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# framing and complex views
# ---------------------------------------------------------------------------------------------------------------
FRAMING = [
    OpCase("ops.extract_sequences", lambda r: (r.normal((2, 10)),), {"sequence_length": 3, "sequence_stride": 2},
           grad=(0,)),
    OpCase("ops.extract_sequences", lambda r: (r.normal((2, 3, 11)),), {"sequence_length": 4, "sequence_stride": 4},
           id="batched_no_overlap_dropped_tail", grad=(0,)),
    OpCase("ops.extract_sequences", lambda r: (r.normal((9,)),), {"sequence_length": 5, "sequence_stride": 1},
           id="stride_1", grad=(0,)),
    OpCase("ops.extract_sequences", lambda r: (r.ints((2, 6)),), {"sequence_length": 3, "sequence_stride": 2},
           id="int32_keeps_dtype"),
    OpCase("ops.view_as_complex", lambda r: (r.normal((3, 2)),)),
    OpCase("ops.view_as_complex", lambda r: (r.normal((2, 3, 2), "float64"),), id="float64_gives_complex64"),
    OpCase("ops.view_as_complex", lambda r: (r.ints((4, 2)),), id="int32_gives_complex64"),
    OpCase("ops.view_as_real", lambda r: ((r.normal((3,)) + 1j * r.normal((3,))).astype("complex64"),)),
    OpCase("ops.view_as_real", lambda r: ((r.normal((2, 3)) + 1j * r.normal((2, 3))),), id="complex128"),
]


@op_cases(FRAMING)
def test_framing_and_complex_views_match_keras(case):
    case.run()


ERRORS = [  # (name, call(ops module, inputs), Keras's exception type)
    ("ops.fft", lambda ops, r: ops.fft(r.normal((4,))), ValueError),
    ("ops.fft", lambda ops, r: ops.fft((r.normal((4,)), r.normal((5,)))), ValueError),
    ("ops.fft", lambda ops, r: ops.fft((r.ints((4,)), r.ints((4,)))), ValueError),
    ("ops.stft", lambda ops, r: ops.stft(r.ints((16,)), 4, 2, 4), TypeError),
    ("ops.stft", lambda ops, r: ops.stft(r.normal((16,)), 8, 2, 4), ValueError),
    ("ops.stft", lambda ops, r: ops.stft(r.normal((16,)), 4, 0, 4), ValueError),
    ("ops.stft", lambda ops, r: ops.stft(r.normal((16,)), 4, 2, 4, window="blackman"), ValueError),
    ("ops.stft", lambda ops, r: ops.stft(r.normal((16,)), 4, 2, 4, window=r.normal((5,))), ValueError),
    ("ops.view_as_complex", lambda ops, r: ops.view_as_complex(r.normal((3, 3))), ValueError),
]


@pytest.mark.parametrize(("name", "call", "error"),
                         [pytest.param(*e, id=f"{e[0]}{i}", marks=keras_api(e[0])) for i, e in enumerate(ERRORS)])
def test_bad_input_raises_like_keras(name, call, error):
    keras = keras_or_skip()
    for ops in (keras.ops, nk.ops):
        with pytest.raises(error):
            call(ops, Inputs(0))


def test_view_as_complex_refuses_to_differentiate_and_view_as_real_takes_real_input():
    """neuronka's gradients are real: a backward through a complex tensor raises instead of being wrong."""
    x = nk.Tensor(Inputs(0).normal((3, 2), "float64"), requires_grad=True)
    z = nk.ops.view_as_complex(x)
    assert z.dtype == numpy.complex64
    with pytest.raises(RuntimeError, match="view_as_complex"):
        nk.ops.view_as_real(z).sum().backward()
    r = nk.ops.view_as_real(x)  # a real input: imaginary parts 0, differentiable
    assert r.shape == (3, 2, 2) and not r.numpy()[..., 1].any()
    assert nk.gradcheck(nk.ops.view_as_real, [x.numpy()])
