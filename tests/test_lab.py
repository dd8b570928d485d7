"""neuronka lab: each claim of the notes, asserted at a tiny scale in a way that fails if the math is wrong."""
import json

import numpy
import pytest

from neuronka import cli
from neuronka.lab import (
    activations,
    common,
    data,
    initialization,
    linear,
    normalization,
    recipe,
    regularization,
    resnets,
)
from tests.conftest import dataset_path


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn", reason="the lab's digits come from scikit-learn")
    return data.digits(0)


def test_deep_linear_net_equals_one_affine_map_the_product_of_its_kernels(digits):
    (x, y), _ = digits
    model = common.mlp(64, 32, 5, 10, None, "glorot_uniform", seed=3)
    common.fit(model, x, y, epochs=1, lr=0.01, seed=0)
    w, b = linear.collapse(model)
    kernels = [lay.kernel.numpy() for lay in common.dense_layers(model)]
    assert w.shape == (64, 10)
    numpy.testing.assert_allclose(w, numpy.linalg.multi_dot(kernels), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(common.logits(model, x), x @ w + b, rtol=1e-4, atol=1e-4)
    relu_model = common.mlp(64, 32, 5, 10, "relu", "he_normal", seed=3)  # with a nonlinearity it does not collapse
    w2, b2 = linear.collapse(relu_model)
    assert numpy.abs(common.logits(relu_model, x) - (x @ w2 + b2)).max() > 0.1


def test_sigmoid_gradients_vanish_with_depth_while_relu_he_keeps_them(digits):
    (x, y), _ = digits
    ratio = {}
    for act, init in [("sigmoid", "glorot_normal"), ("sigmoid", "normal1"), ("tanh", "normal1"), ("relu", "he_normal")]:
        g, _, _ = activations.gradient_profile(act, init, x, y)
        ratio[(act, init)] = g[0] / g[-1]
    assert ratio[("sigmoid", "glorot_normal")] < 1e-6  # σ' ≤ 1/4 per layer: 0.25¹⁹ ≈ 4e-12
    assert ratio[("sigmoid", "normal1")] < 0.05  # saturated units: two orders of magnitude
    assert 0.1 < ratio[("relu", "he_normal")] < 10
    assert ratio[("tanh", "normal1")] > 1e3  # tanh' ≈ 1 near 0 with gain 8 per layer: the gradient explodes


def test_relu_with_he_init_outputs_zero_for_about_half_of_the_units(digits):
    (x, y), _ = digits
    _, acts, _ = activations.gradient_profile("relu", "he_normal", x, y)
    zeros = numpy.mean([(a == 0).mean() for a in acts])
    assert 0.4 < zeros < 0.6


def test_dead_relu_units_get_exactly_zero_gradient_and_leaky_units_recover(digits):
    (x, y), (xv, yv) = digits
    relu, leaky = activations.dying_mlp("relu", -1.0), activations.dying_mlp("leaky", -1.0)
    dead, zero_grad = activations.dead_fractions(relu, x), activations.zero_gradient_units(relu, x, y)
    assert dead[-1] > 0.9
    assert all(z >= d for z, d in zip(zero_grad, dead))  # a unit with z ≤ 0 on every input gets ∂L/∂w = 0
    assert activations.zero_gradient_units(leaky, x, y) == [0.0] * 4  # Leaky ReLU' = 0.1 there
    inactive_before = activations.dead_fractions(leaky, x)[-1]
    common.fit(leaky, x, y, epochs=5, lr=0.05, seed=0)
    common.fit(relu, x, y, epochs=5, lr=0.05, seed=0)
    assert activations.dead_fractions(leaky, x)[-1] < inactive_before - 0.1
    assert activations.dead_fractions(leaky, x)[-1] < activations.dead_fractions(relu, x)[-1]


def test_he_init_keeps_relu_activations_in_range_and_xavier_shrinks_them(digits):
    (x, y), _ = digits
    def ratio(act, init):
        stds, _, _ = initialization.signal_profile(act, init, x, y)
        return stds[-1] / stds[0]
    assert 0.3 < ratio("relu", "he_normal") < 3
    assert 0.2 < ratio("tanh", "glorot_normal") < 3
    assert ratio("relu", "glorot_normal") < 0.01  # half the variance lost in each of 18 layers: ≈ 2⁻⁹
    assert ratio("relu", "normal1") > 1e6


def test_batch_norm_trains_a_deep_sigmoid_net_that_does_not_train_without_it(digits):
    (x, y), _ = digits
    loss = {}
    for bn in (False, True):
        m = common.mlp(64, normalization.WIDTH, normalization.DEPTH, 10, "sigmoid", "glorot_normal", 0, batch_norm=bn)
        loss[bn] = common.fit(m, x, y, epochs=3, lr=0.1, seed=0)["loss"][-1]
    assert loss[False] > 2.0  # ≈ ln 10: nothing learned
    assert loss[True] < 1.0


def test_soft_threshold_is_the_l1_proximal_step():
    w = numpy.array([-0.5, -0.01, 0.0, 0.02, 0.3], numpy.float32)
    numpy.testing.assert_allclose(regularization.SoftThreshold(0.05)(w), [-0.45, 0, 0, 0, 0.25], atol=1e-7)
    with pytest.raises(ValueError, match="threshold"):
        regularization.SoftThreshold(-1)


def test_l1_leaves_weights_exactly_zero_where_l2_leaves_none(digits):
    (x, y), (xv, yv) = digits
    zero = {}
    for kind in ("l2", "l1", "l1-prox"):
        model, _ = regularization.train_penalized(kind, 3e-3, x, y, xv, yv, epochs=5)
        w = numpy.concatenate([lay.kernel.numpy().ravel() for lay in common.dense_layers(model)])
        zero[kind] = ((w == 0).mean(), (numpy.abs(w) < 1e-3).mean())
    assert zero["l1-prox"][0] > 0.05
    assert zero["l2"][0] == 0
    assert zero["l1"][1] > 0.1  # the subgradient step only gets near 0


def test_label_smoothing_lowers_the_mean_max_probability_on_held_out_digits(digits):
    from neuronka.losses import CategoricalCrossentropy

    (x, y), (xv, yv) = digits
    conf = {}
    for s in (0.0, 0.2):
        m = common.mlp(64, 64, 2, 10, "relu", "he_normal", seed=0)
        common.fit(m, x, numpy.eye(10, dtype=numpy.float32)[y], epochs=15, lr=1e-2, optimizer="adam", seed=0,
                   loss=CategoricalCrossentropy(from_logits=True, label_smoothing=s))
        conf[s] = common.softmax(common.logits(m, xv)).max(-1).mean()
    assert conf[0.2] < conf[0.0] - 0.05


def test_bottleneck_nets_have_fewer_parameters_and_multiply_adds_at_equal_depth():
    basic, basic_macs = resnets.cifar_net(56, "basic")
    bott, bott_macs = resnets.cifar_net(56, "bottleneck")
    assert bott.count_params() < 0.2 * basic.count_params()
    assert bott_macs < 0.2 * basic_macs
    # the first 3×3 convolution of the basic net: 3·3·3·64 multiply-adds at each of 32·32 positions, counted once
    small, macs = resnets.cifar_net(8, "basic", widths=(4, 8, 16))
    assert macs > 27 * 4 * 32 * 32
    with pytest.raises(ValueError, match="9n \\+ 2"):
        resnets.cifar_net(21, "bottleneck")


@pytest.mark.slow
def test_plain56_trains_worse_than_plain20_and_resnet56_does_not_fail_on_digits():
    """Scale where this holds reliably: digits as 8×8×1 images, 2 epochs of SGD 0.05 (about 40 s). Plain-56
    stays at chance (loss ≈ ln 10) while plain-20 learns; ResNet-56 learns. ResNet-56's loss is not yet
    below ResNet-20's after 2 epochs (it starts slower), so that half of the claim is not asserted here."""
    pytest.importorskip("sklearn")
    (x, y), _ = data.digits(0, images=True)
    res = resnets.degradation_losses(x, y, epochs=2)
    assert res["plain-56"]["loss"][-1] > res["plain-20"]["loss"][-1] + 1.0
    assert res["resnet-56"]["loss"][-1] < res["plain-56"]["loss"][-1] / 2


def test_lab_list_shows_the_ten_claims_and_bad_names_are_one_line_errors(capsys):
    assert cli.main(["lab", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [int(line.split()[0]) for line in lines] == list(range(1, 11))
    assert cli.main(["lab", "run", "no-such-claim"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuronka: error: lab: unknown experiment") and "\n" not in err


def test_lab_run_quick_writes_figures_results_json_and_markdown(tmp_path, capsys):
    pytest.importorskip("sklearn")
    assert cli.main(["lab", "run", "1", "--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["experiment"] == "linear-collapse" and report["verdict"] == "supported"
    assert report["results"]["collapse_relative_error"] < 1e-4
    assert (tmp_path / "decision_boundaries.png").stat().st_size > 1000
    assert "Verdict: supported" in (tmp_path / "results.md").read_text()
    assert "(3/3) training" in capsys.readouterr().out  # progress lines


@pytest.mark.slow
@pytest.mark.parametrize("name", ["overfitting", "resnet20-cifar10"])
def test_cifar_experiments_run_in_quick_mode(name, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONKA_DATA", str(dataset_path("cifar10").parent))
    assert cli.main(["lab", "run", name, "--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    if name == "overfitting":
        r = report["results"]
        assert 0 <= r["baseline"]["test_accuracy"] <= 1 and "label smoothing 0.1" in r
    else:
        r = report["results"]
        assert (tmp_path / "train" / "results.json").exists() and r["test_accuracy"] is not None
        assert 0 <= r["test_accuracy_flip_averaged"] <= 1 and r["probe_images_per_second"] > 0
        assert r["budget_epochs"] == recipe.epochs_for(recipe.BUDGET_MINUTES, r["probe_images_per_second"])
        assert json.loads((tmp_path / "probe" / "results.json").read_text())["train_items"] == recipe.QUICK_PROBE_IMAGES


def test_the_recipe_fits_whole_epochs_into_its_share_of_the_budget():
    assert recipe.epochs_for(90, 514) == 52  # 90 min × 60 × 0.95 × 514 images/s = 2.64 M images = 52.7 epochs
    assert recipe.epochs_for(90, 300) == 30 and recipe.epochs_for(1, 10) == 1  # at least one epoch
