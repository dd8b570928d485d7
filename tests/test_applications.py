"""The ResNet zoo: parameter counts equal the paper's (CIFAR) and Keras's (ImageNet); shapes and variants.

The ImageNet ResNets of the zoo registry (``resnet50`` / ``101`` / ``152``) are Keras's since the applications
were rebuilt layer for layer (tests/test_keras_applications_1.py compares them with real Keras); until then
they were torchvision's layout, whose counts (25,557,032 for ResNet-50) differ: Keras's convolutions have
biases (torchvision's layout is re-created apart, in neuronka/applications/torchvision_resnet.py).
"""
from __future__ import annotations

import importlib

import numpy
import pytest

import neuronka as nk

# the module (``neuronka.applications.cifar_resnet`` as an attribute of the package is the function)
resnet = importlib.import_module("neuronka.applications.cifar_resnet")

# He et al. 2015, Table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M (option A shortcuts have no parameters)
CIFAR_PARAMS = [("resnet20", 269_722, 0.27e6), ("resnet32", 464_154, 0.46e6), ("resnet44", 658_586, 0.66e6),
                ("resnet56", 853_018, 0.85e6), ("resnet110", 1_727_962, 1.7e6)]
# Keras's ResNet50 / 101 / 152 (weights=None): trainable parameters (the totals add BatchNormalization's moving
# statistics: 25,636,712 / 44,707,176 / 60,419,944)
IMAGENET_PARAMS = [("resnet50", 25_583_592), ("resnet101", 44_601_832), ("resnet152", 60_268_520)]


@pytest.mark.parametrize("name,exact,paper", CIFAR_PARAMS, ids=[c[0] for c in CIFAR_PARAMS])
def test_cifar_resnet_parameter_count_matches_the_paper(name, exact, paper):
    model = resnet.get(name)
    n = resnet.count_params(model)
    assert n == exact
    assert round(n / 1e6, 2 if paper < 1e6 else 1) == round(paper / 1e6, 2 if paper < 1e6 else 1)


@pytest.mark.parametrize("name,expected", IMAGENET_PARAMS, ids=[c[0] for c in IMAGENET_PARAMS])
def test_imagenet_resnet_trainable_parameter_count_equals_keras(name, expected):
    assert resnet.count_params(resnet.get(name)) == expected


def test_resnet50_trainable_count_in_summary():
    lines = []
    resnet.get("resnet50").summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Trainable params: 25,583,592" in text and "Total params: 25,636,712" in text


def test_cifar_resnet_forward_gives_class_probabilities():
    model = resnet.get("resnet20")
    x = numpy.random.default_rng(0).standard_normal((2, 32, 32, 3)).astype(numpy.float32)
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 10)
    numpy.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)


def test_plain_net_has_no_shortcuts_and_the_same_convolutions():
    plain, res = resnet.get("plain20"), resnet.get("resnet20")
    assert not any(isinstance(layer, nk.layers.Add) for layer in plain.layers)
    assert sum(isinstance(layer, nk.layers.Add) for layer in res.layers) == 9
    assert resnet.count_params(plain) == resnet.count_params(res)


def test_option_b_adds_projection_parameters():
    a = resnet.cifar_resnet(20, shortcut="A")
    b = resnet.cifar_resnet(20, shortcut="B")
    # two projections 16→32 and 32→64 (1×1 conv, no bias) with their BatchNorms
    assert resnet.count_params(b) - resnet.count_params(a) == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)


def test_preactivation_and_stochastic_depth_variants_build_and_run():
    model = resnet.cifar_resnet(20, preact=True, stochastic_depth=0.2, classes=100)
    drops = [layer for layer in model.layers if isinstance(layer, nk.layers.StochasticDepth)]
    assert len(drops) == 9 and drops[-1].rate == pytest.approx(0.2) and drops[0].rate == pytest.approx(0.2 / 9)
    x = numpy.zeros((2, 32, 32, 3), numpy.float32)
    assert model.predict(x, verbose=0).shape == (2, 100)


def test_option_a_shortcut_subsamples_and_zero_pads_channels():
    layer = resnet.ZeroPadShortcut(8, strides=2)
    x = numpy.arange(2 * 4 * 4 * 4, dtype=numpy.float32).reshape(2, 4, 4, 4)
    y = layer(x).numpy()
    assert y.shape == (2, 2, 2, 8)
    numpy.testing.assert_array_equal(y[..., 2:6], x[:, ::2, ::2, :])
    assert not y[..., :2].any() and not y[..., 6:].any()


def test_resnet_saves_and_loads_with_identical_predictions(tmp_path):
    model = resnet.get("resnet20")
    x = numpy.random.default_rng(1).standard_normal((2, 32, 32, 3)).astype(numpy.float32)
    path = tmp_path / "resnet20.keras"
    model.save(path)
    again = nk.models.load_model(path)
    numpy.testing.assert_array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0))


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"received 'resnet21'.*resnet20"):
        resnet.get("resnet21")
    with pytest.raises(ValueError, match="6n \\+ 2"):
        resnet.cifar_resnet(21)
