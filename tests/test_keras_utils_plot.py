"""``keras.utils.model_to_dot`` / ``plot_model`` against real Keras 3.15.1: the same nodes (labels) and the
same edges for Sequential, functional and nested models; a picture written where Graphviz is installed."""
from __future__ import annotations

import re
import shutil

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_api, keras_or_skip

pydot = pytest.importorskip("pydot", reason="model_to_dot needs pydot: pip install -e '.[test]'")


def _graph(dot):
    """{layer name: label} and {(source name, destination name)} of a pydot graph (node ids are Python ids)."""
    labels, names = {}, {}
    nodes = list(dot.get_nodes()) + [n for sub in dot.get_subgraphs() for n in sub.get_nodes()]
    for n in nodes:
        label = n.get("label")
        if not label:
            continue
        m = re.search(r"<b>([^<]+)</b>( \((\w+)\))?", label)
        names[n.get_name()] = m.group(1)
        labels[m.group(1)] = label
    edges = {(names[e.get_source()], names[e.get_destination()]) for e in dot.get_edges()}
    return labels, edges


def _models(m):
    seq = m.Sequential([m.Input((6,)), m.layers.Dense(4, activation="relu", name="hidden"),
                        m.layers.Dropout(0.2, name="drop"), m.layers.Dense(2, name="out")], name="seq")
    a = m.Input((5,), name="a")
    b = m.Input((3,), name="b")
    h = m.layers.Dense(3, activation="tanh", name="h")(a)
    s = m.layers.Add(name="sum")([h, b])
    c = m.layers.Concatenate(name="cat")([s, h])
    frozen = m.layers.Dense(1, name="frozen")
    frozen.trainable = False
    fun = m.Model([a, b], [frozen(c), m.layers.Dense(2, name="other")(s)], name="fun")
    x = m.Input((6,), name="x")
    nested = m.Model(x, m.layers.Dense(1, name="head")(seq(x)), name="outer")
    return {"seq": seq, "fun": fun, "nested": nested}


@keras_api("utils.model_to_dot")
@pytest.mark.parametrize("kwargs", [{}, {"show_shapes": True, "show_dtype": True},
                                    {"show_layer_activations": True, "show_trainable": True, "show_shapes": True},
                                    {"show_layer_names": False, "rankdir": "LR", "dpi": 96}],
                         ids=["plain", "shapes-dtype", "activations-trainable", "no-names-LR"])
def test_model_to_dot_draws_the_nodes_and_edges_keras_draws(kwargs):
    keras = keras_or_skip()
    k_models, n_models = _models(keras), _models(nk)
    for key in k_models:
        k_dot = keras.utils.model_to_dot(k_models[key], **kwargs)
        n_dot = nk.utils.model_to_dot(n_models[key], **kwargs)
        k_labels, k_edges = _graph(k_dot)
        n_labels, n_edges = _graph(n_dot)
        assert n_edges == k_edges, key
        assert n_labels == k_labels, key
        for attr in ("rankdir", "dpi", "splines", "concentrate"):
            assert str(n_dot.get(attr)) == str(k_dot.get(attr)), attr


@keras_api("utils.model_to_dot")
def test_nested_models_expand_into_clusters_as_in_keras():
    keras = keras_or_skip()
    k = _graph(keras.utils.model_to_dot(_models(keras)["nested"], expand_nested=True))
    n = _graph(nk.utils.model_to_dot(_models(nk)["nested"], expand_nested=True))
    assert n == k
    with pytest.raises(ValueError, match="not yet been built"):
        nk.utils.model_to_dot(nk.Sequential([nk.layers.Dense(2)]))
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        nk.utils.model_to_dot(_models(nk)["seq"], colour="red")


@keras_api("utils.plot_model")
def test_plot_model_writes_a_picture_or_says_what_is_missing(tmp_path, monkeypatch):
    keras = keras_or_skip()
    model = _models(nk)["fun"]
    if shutil.which("dot") is None:
        with pytest.raises(ImportError, match="install graphviz"):
            nk.utils.plot_model(model, to_file=str(tmp_path / "m.png"))
        pytest.skip("Graphviz's dot is not installed here (CI installs it): the picture itself was not drawn")
    for ext in ("png", "svg"):
        nk.utils.plot_model(model, to_file=str(tmp_path / f"n.{ext}"), show_shapes=True)
        assert (tmp_path / f"n.{ext}").stat().st_size > 1000
    keras.utils.plot_model(_models(keras)["fun"], to_file=str(tmp_path / "k.png"), show_shapes=True)
    from PIL import Image

    n_img, k_img = Image.open(tmp_path / "n.png"), Image.open(tmp_path / "k.png")
    assert n_img.size == k_img.size  # the same graph laid out by the same program
    assert numpy.asarray(n_img).std() > 0
    import neuronka.utils.model_visualization as mv

    monkeypatch.setattr(mv, "check_graphviz", lambda: False)
    with pytest.raises(ImportError, match="install graphviz"):
        nk.utils.plot_model(model, to_file=str(tmp_path / "x.png"))
