"""model.export(format="onnx"): every layer family, the zoo's networks and the CLI, checked by
``onnx.checker`` and by running the file in ONNX Runtime against neuronka's ``predict`` at batch 1 and 7."""
from __future__ import annotations

import importlib
import json
import os

import numpy
import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX export tests need `onnx` (pip install 'neuronka[test]')")
ort = pytest.importorskip("onnxruntime", reason="the ONNX export tests need `onnxruntime` (pip install "
                                                "'neuronka[test]')")

import neuronka as keras  # noqa: E402
from neuronka import layers  # noqa: E402
from neuronka.export import UnsupportedLayerError, build_onnx_model  # noqa: E402

cifar = importlib.import_module("neuronka.applications.cifar_resnet")
text = importlib.import_module("neuronka.applications.text")
RNG = numpy.random.default_rng(0)


def run_onnx(proto, xs):
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), xs)}
    return sess.run(None, feeds)


def assert_exports_equal(model, make_input, atol=2e-5, rtol=1e-4, batches=(1, 7)):
    """check_model passes and ONNX Runtime's outputs equal ``predict``'s at each batch size."""
    proto = build_onnx_model(model)
    onnx.checker.check_model(proto, full_check=True)
    for n in batches:
        xs = make_input(n)
        xs = xs if isinstance(xs, list) else [xs]
        got = run_onnx(proto, xs)
        ref = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        ref = ref if isinstance(ref, (list, tuple)) else [ref]
        assert len(got) == len(ref)
        for g, r in zip(got, ref):
            r = numpy.asarray(r)
            assert g.shape == r.shape, (model.name, n, g.shape, r.shape)
            scale = max(1.0, float(numpy.abs(r).max()))
            numpy.testing.assert_allclose(g, r, rtol=rtol, atol=atol * scale, err_msg=f"{model.name} batch {n}")
    return proto


def floats(*shape):
    return lambda n: RNG.standard_normal((n, *shape)).astype("float32")


def tokens(length, vocab=30, pad_from=None, padding="right"):
    """Token ids (n, length); with ``pad_from``, padding zeros of varying length: "right" (row 0 fully real, the
    others real up to pad_from − i), "left" (the same, mirrored), "holes" (zeros scattered, row n−1 all zeros)."""
    def make(n):
        x = RNG.integers(1, vocab, (n, length)).astype("int64")
        if pad_from is None:
            return x
        for i in range(1, n):
            real = max(1, pad_from - i)
            if padding == "right":
                x[i, real:] = 0
            elif padding == "left":
                x[i, :length - real] = 0
        if padding == "holes":
            x[RNG.uniform(size=x.shape) < 0.35] = 0
            if n > 1:
                x[-1] = 0
        return x
    return make


def seq(shape, *stack, dtype="float32"):
    """A Sequential model over keras.Input(shape), with its weights (and BN statistics) randomized."""
    model = keras.Sequential([keras.Input(shape, dtype=dtype), *stack])
    _randomize(model)
    return model


def _randomize(model):
    for w in model.weights:
        v = w.numpy()
        if "variance" in w.name:
            w.assign(RNG.uniform(0.5, 2.0, v.shape).astype(v.dtype))
        elif v.dtype.kind == "f":
            w.assign((RNG.standard_normal(v.shape) * 0.5).astype(v.dtype))


ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "elu", "celu", "selu",
               "gelu", "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "softplus", "softsign", "linear",
               "exponential", "mish", "hard_tanh", "tanh_shrink", "log_sigmoid", "soft_shrink", "hard_shrink",
               "sparse_plus", "sparse_sigmoid", "squareplus", "glu"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_every_activation_matches_onnxruntime(activation):
    assert_exports_equal(seq((5,), layers.Dense(6, activation=activation)), floats(5))


def _quiet(cls, **kwargs):
    """``cls(**kwargs)`` without its deprecation warning (rms_scaling is deprecated but still exported)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**kwargs)


def _functional(build, *shapes, dtype="float32"):
    inputs = [keras.Input(s, dtype=dtype) for s in shapes]
    outputs = build(*inputs)
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs)
    _randomize(model)
    return model


LAYER_CASES = {
    # activation layers
    "ReLU": lambda: seq((4, 4, 3), layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2)),
    "LeakyReLU": lambda: seq((6,), layers.LeakyReLU(0.1)),
    "PReLU": lambda: seq((4, 4, 3), layers.PReLU(shared_axes=[1, 2])),
    "ELU": lambda: seq((6,), layers.ELU(0.7)),
    "Softmax": lambda: seq((3, 5), layers.Softmax(axis=1)),
    # convolutions
    "Conv1D": lambda: seq((9, 3), layers.Conv1D(4, 3, strides=2, padding="same", activation="relu")),
    "Conv1D_causal": lambda: seq((9, 3), layers.Conv1D(4, 3, padding="causal", dilation_rate=2)),
    "Conv2D": lambda: seq((7, 8, 4), layers.Conv2D(6, 3, strides=2, padding="same", groups=2)),
    "Conv2D_valid_dilated": lambda: seq((9, 9, 2), layers.Conv2D(3, (3, 2), dilation_rate=2, use_bias=False)),
    "Conv3D": lambda: seq((5, 6, 5, 2), layers.Conv3D(3, 2, padding="same", strides=(1, 2, 2))),
    "Conv1DTranspose": lambda: seq((5, 3), layers.Conv1DTranspose(4, 3, strides=2, padding="same")),
    "Conv2DTranspose": lambda: seq((4, 5, 3), layers.Conv2DTranspose(2, 3, strides=2, padding="valid")),
    "Conv2DTranspose_same_padding": lambda: seq((4, 5, 3), layers.Conv2DTranspose(2, 4, strides=2, padding="same",
                                                                                  output_padding=1)),
    "Conv2DTranspose_small_kernel": lambda: seq((4, 4, 3), layers.Conv2DTranspose(2, 1, strides=3)),
    "Conv3DTranspose": lambda: seq((3, 3, 3, 2), layers.Conv3DTranspose(2, 3, strides=2, padding="same")),
    "DepthwiseConv2D": lambda: seq((6, 6, 3), layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")),
    "DepthwiseConv1D": lambda: seq((8, 3), layers.DepthwiseConv1D(3, strides=2)),
    "SeparableConv2D": lambda: seq((6, 6, 3), layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same",
                                                                      activation="relu")),
    "SeparableConv1D": lambda: seq((8, 3), layers.SeparableConv1D(4, 3)),
    # pooling
    "MaxPooling1D": lambda: seq((9, 3), layers.MaxPooling1D(3, strides=2, padding="same")),
    "MaxPooling2D": lambda: seq((7, 7, 3), layers.MaxPooling2D(3, strides=2, padding="same")),
    "MaxPooling3D": lambda: seq((4, 4, 4, 2), layers.MaxPooling3D(2)),
    "AveragePooling1D": lambda: seq((9, 3), layers.AveragePooling1D(2)),
    "AveragePooling2D_same": lambda: seq((7, 7, 3), layers.AveragePooling2D(3, strides=2, padding="same")),
    "AveragePooling3D": lambda: seq((4, 4, 4, 2), layers.AveragePooling3D(2, padding="same")),
    "GlobalAveragePooling2D": lambda: seq((5, 6, 3), layers.GlobalAveragePooling2D()),
    "GlobalMaxPooling2D_keepdims": lambda: seq((5, 6, 3), layers.GlobalMaxPooling2D(keepdims=True)),
    "GlobalAveragePooling1D": lambda: seq((5, 3), layers.GlobalAveragePooling1D()),
    "GlobalMaxPooling3D": lambda: seq((3, 4, 5, 2), layers.GlobalMaxPooling3D()),
    "AdaptiveAveragePooling2D": lambda: seq((8, 7, 3), layers.AdaptiveAveragePooling2D((4, 3))),
    "AdaptiveMaxPooling1D": lambda: seq((10, 3), layers.AdaptiveMaxPooling1D(5)),
    # normalization
    "BatchNormalization_folded": lambda: seq((6, 6, 3), layers.Conv2D(4, 3), layers.BatchNormalization(),
                                             layers.ReLU()),
    "BatchNormalization_folded_depthwise": lambda: seq((6, 6, 3), layers.DepthwiseConv2D(3, use_bias=False),
                                                       layers.BatchNormalization(epsilon=1e-5, scale=False)),
    "BatchNormalization": lambda: seq((6, 6, 3), layers.MaxPooling2D(), layers.BatchNormalization()),
    "BatchNormalization_dense": lambda: seq((5,), layers.Dense(4), layers.BatchNormalization()),
    "BatchNormalization_axis1": lambda: seq((3, 5), layers.BatchNormalization(axis=1, center=False)),
    "LayerNormalization": lambda: seq((4, 6), layers.LayerNormalization(epsilon=1e-5)),
    "LayerNormalization_two_axes": lambda: seq((3, 4, 5), layers.LayerNormalization(axis=[2, 3])),
    "LayerNormalization_rms": lambda: seq((4, 6), _quiet(layers.LayerNormalization, rms_scaling=True)),
    "RMSNormalization": lambda: seq((4, 6), layers.RMSNormalization()),
    "GroupNormalization": lambda: seq((4, 4, 6), layers.Conv2D(6, 1), layers.GroupNormalization(groups=3)),
    "GroupNormalization_1d": lambda: seq((5, 4), layers.GroupNormalization(groups=2, epsilon=1e-5)),
    "UnitNormalization": lambda: seq((4, 6), layers.UnitNormalization()),
    "Normalization": lambda: seq((4, 4, 3), layers.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 4.0, 0.25])),
    "Normalization_invert": lambda: seq((3,), layers.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 4.0, 0.25],
                                                                   invert=True)),
    "Rescaling": lambda: seq((4, 4, 3), layers.Rescaling(1 / 255, offset=-0.5)),
    "Rescaling_per_channel": lambda: seq((4, 4, 3), layers.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 1.0, 2.0])),
    "Resizing_bilinear": lambda: seq((6, 8, 3), layers.Resizing(9, 5)),
    "Resizing_nearest": lambda: seq((6, 8, 3), layers.Resizing(12, 4, interpolation="nearest")),
    # identities at inference
    "Dropout_and_noise": lambda: seq((6, 6, 3), layers.Dropout(0.5), layers.GaussianNoise(1.0),
                                     layers.SpatialDropout2D(0.3), layers.GaussianDropout(0.2),
                                     layers.AlphaDropout(0.1)),
    # reshaping
    "Flatten": lambda: seq((3, 4, 2), layers.Conv2D(3, 1), layers.Flatten(), layers.Dense(2)),
    "Reshape": lambda: seq((12,), layers.Reshape((3, -1)), layers.Dense(2)),
    "Permute": lambda: seq((3, 4, 2), layers.Permute((3, 1, 2))),
    "RepeatVector": lambda: seq((4,), layers.RepeatVector(3)),
    "Cropping1D": lambda: seq((8, 3), layers.Cropping1D((1, 2))),
    "Cropping2D": lambda: seq((7, 8, 3), layers.Conv2D(2, 1), layers.Cropping2D(((1, 0), (2, 3)))),
    "Cropping3D": lambda: seq((5, 5, 5, 2), layers.Cropping3D(((1, 1), (0, 2), (1, 0)))),
    "ZeroPadding1D": lambda: seq((5, 3), layers.ZeroPadding1D((1, 2))),
    "ZeroPadding2D": lambda: seq((4, 5, 3), layers.ZeroPadding2D(((1, 0), (2, 1)))),
    "ZeroPadding3D": lambda: seq((3, 3, 3, 2), layers.ZeroPadding3D(1)),
    "UpSampling1D": lambda: seq((4, 3), layers.UpSampling1D(3)),
    "UpSampling2D": lambda: seq((3, 4, 2), layers.UpSampling2D((2, 3))),
    "UpSampling2D_bilinear": lambda: seq((3, 4, 2), layers.UpSampling2D(2, interpolation="bilinear")),
    "UpSampling3D": lambda: seq((2, 3, 2, 2), layers.UpSampling3D(2)),
    # merges
    "Add_Subtract_Multiply": lambda: _functional(
        lambda a, b: layers.Multiply()([layers.Add()([a, b]), layers.Subtract()([a, b])]), (4, 4, 3), (4, 4, 3)),
    "Average_Maximum_Minimum": lambda: _functional(
        lambda a, b: layers.Average()([layers.Maximum()([a, b]), layers.Minimum()([a, b]), a]), (5,), (5,)),
    "Add_channels_first_branches": lambda: _functional(
        lambda a: layers.Add()([layers.Conv2D(3, 3, padding="same")(a), layers.Conv2D(3, 1)(a)]), (5, 5, 2)),
    "Concatenate": lambda: _functional(
        lambda a, b: layers.Concatenate()([layers.Conv2D(2, 1)(a), layers.Conv2D(3, 1)(b)]), (4, 4, 3), (4, 4, 3)),
    "Concatenate_axis1": lambda: _functional(lambda a, b: layers.Concatenate(axis=1)([a, b]), (2, 3), (4, 3)),
    "Dot": lambda: _functional(lambda a, b: layers.Dot(axes=1)([a, b]), (5,), (5,)),
    "Dot_normalized_3d": lambda: _functional(lambda a, b: layers.Dot(axes=(2, 2), normalize=True)([a, b]),
                                             (3, 4), (5, 4)),
    # nested models
    "nested_Sequential": lambda: _functional(
        lambda a: layers.Dense(2)(keras.Sequential([layers.Conv2D(3, 3), layers.BatchNormalization(),
                                                    layers.GlobalAveragePooling2D()])(a)), (6, 6, 2)),
    "nested_functional": lambda: _functional(
        lambda a: _functional(lambda b: layers.Dense(3, activation="tanh")(b), (4,))(layers.Dense(4)(a)), (3,)),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_family_matches_onnxruntime(case):
    model = LAYER_CASES[case]()
    n_inputs = len(model.inputs) if hasattr(model, "inputs") and model.inputs else 1
    shapes = [tuple(t.shape[1:]) for t in model.inputs] if n_inputs > 1 else None

    def make(n):
        if shapes is None:
            return floats(*model.input_shape[1:])(n)
        return [floats(*s)(n) for s in shapes]
    assert_exports_equal(model, make)


def test_conv_batchnorm_pair_is_folded_into_one_conv():
    model = LAYER_CASES["BatchNormalization_folded"]()
    ops = [n.op_type for n in build_onnx_model(model).graph.node]
    assert "BatchNormalization" not in ops and ops.count("Conv") == 1


def test_resnet_block_has_no_transposes_between_convolutions():
    proto = assert_exports_equal(cifar.MODELS["resnet20"](classes=10), floats(32, 32, 3))
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Conv") == 19 + 2 * 0 and "BatchNormalization" not in ops
    assert ops.count("Transpose") == 1  # the input, once


RECURRENT_CASES = {
    "LSTM": lambda: layers.LSTM(5),
    "LSTM_sequences": lambda: layers.LSTM(5, return_sequences=True),
    "LSTM_go_backwards": lambda: layers.LSTM(4, go_backwards=True),
    "GRU": lambda: layers.GRU(5),
    "GRU_reset_before": lambda: layers.GRU(5, reset_after=False, return_sequences=True),
    "SimpleRNN": lambda: layers.SimpleRNN(4, activation="relu", return_sequences=True),
    "Bidirectional_concat": lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
    "Bidirectional_sum": lambda: layers.Bidirectional(layers.GRU(3), merge_mode="sum"),
    "Bidirectional_ave": lambda: layers.Bidirectional(layers.SimpleRNN(3), merge_mode="ave"),
    "Bidirectional_mul": lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="mul"),
}


@pytest.mark.parametrize("padding", [None, "right", "left", "holes"])
@pytest.mark.parametrize("case", sorted(RECURRENT_CASES))
def test_recurrent_layer_matches_onnxruntime(case, padding):
    """Unmasked, and behind Embedding(mask_zero=True) with right, left and scattered padding (an all-padding row)."""
    rnn = RECURRENT_CASES[case]()
    if padding is not None and "go_backwards" in case:
        rnn = layers.LSTM(4, go_backwards=True)  # return_sequences=False: the masked form that is exported
    masked = padding is not None
    stack = [layers.Embedding(30, 6, mask_zero=masked), rnn]
    if getattr(rnn, "return_sequences", False) or getattr(getattr(rnn, "forward_layer", None), "return_sequences",
                                                          False):
        stack.append(layers.Flatten())  # every step's output compared, the padded ones included
    model = seq((10,), *stack, dtype="int64")
    assert_exports_equal(model, tokens(10, pad_from=7 if masked else None, padding=padding))


def test_lstm_return_state_matches_onnxruntime():
    model = _functional(lambda a: layers.LSTM(4, return_state=True)(a), (6, 3))
    assert_exports_equal(model, floats(6, 3))


def _lora(layer):
    layer.enable_lora(2)
    return layer


def test_lora_layers_export_their_merged_kernels():
    dense, conv = layers.Dense(3), layers.Conv2D(2, 3)
    model = seq((5, 5, 2), conv, layers.Flatten(), dense)
    conv.enable_lora(2)
    dense.enable_lora(2)
    _randomize(model)
    assert_exports_equal(model, floats(5, 5, 2))


def test_masking_layer_mask_reaches_the_lstm():
    def make(n):
        x = floats(6, 3)(n)
        x[:, 4:] = 0.0  # right padding
        return x
    assert_exports_equal(seq((6, 3), layers.Masking(0.0), layers.LSTM(4)), make)


def test_multi_head_attention_gate_scores_and_attention_mask_input_match_onnxruntime():
    q, mask = keras.Input((4, 6)), keras.Input((4, 5), dtype="bool")
    v = keras.Input((5, 6))
    out, scores = layers.MultiHeadAttention(2, 3, use_gate=True)(q, v, attention_mask=mask,
                                                                   return_attention_scores=True)
    model = keras.Model([q, v, mask], [out, scores])
    _randomize(model)

    def make(n):
        m = RNG.uniform(size=(n, 4, 5)) > 0.3
        m[:, :, 0] = True
        return [floats(4, 6)(n), floats(5, 6)(n), m]
    assert_exports_equal(model, make)


def test_multi_head_attention_with_causal_mask_matches_onnxruntime():
    def build(q, v):
        return layers.MultiHeadAttention(2, 3, value_dim=4)(q, v, use_causal_mask=True)
    model = _functional(build, (5, 6), (5, 6))
    assert_exports_equal(model, lambda n: [floats(5, 6)(n), floats(5, 6)(n)])


def test_embedding_with_padding_mask_reaches_attention_and_mean():
    tok = keras.Input((8,), dtype="int64")
    x = layers.Embedding(20, 8, mask_zero=True)(tok)
    x = layers.Add()([x, layers.MultiHeadAttention(2, 4)(x, x)])
    model = keras.Model(tok, layers.GlobalAveragePooling1D()(layers.LayerNormalization()(x)))
    _randomize(model)
    assert_exports_equal(model, tokens(8, vocab=20, pad_from=5))


@pytest.mark.parametrize("kind", text.TEXT_MODELS)
def test_text_classifier_matches_onnxruntime(kind):
    model = text.text_classifier(kind, 60, 16, 16, 8, 3)
    assert_exports_equal(model, tokens(16, vocab=60, pad_from=11))


@pytest.mark.parametrize("name", ["resnet20", "plain20"])
def test_cifar_net_matches_onnxruntime(name):
    model = cifar.MODELS[name](classes=10)
    _randomize(model)
    assert_exports_equal(model, floats(32, 32, 3))


@pytest.mark.slow
@pytest.mark.parametrize("name", [f"{p}{d}" for p in ("resnet", "plain") for d in cifar.CIFAR_DEPTHS
                                  if f"{p}{d}" not in ("resnet20", "plain20")])
def test_every_cifar_net_matches_onnxruntime(name):
    assert_exports_equal(cifar.MODELS[name](classes=10), floats(32, 32, 3))


def test_cifar_resnet_option_b_and_preact_match_onnxruntime():
    for model in (cifar.cifar_resnet(8, shortcut="B"), cifar.cifar_resnet(8, preact=True)):
        _randomize(model)
        assert_exports_equal(model, floats(32, 32, 3))


def test_transfer_model_with_imagenet_preprocessing_matches_onnxruntime():
    from neuronka.transfer import ImageNetPreprocessing

    for mode in ("caffe", "torch"):
        model = seq((8, 8, 3), ImageNetPreprocessing(mode), layers.Conv2D(2, 3), layers.GlobalMaxPooling2D())
        assert_exports_equal(model, lambda n: RNG.uniform(0, 1, (n, 8, 8, 3)).astype("float32"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["keras_resnet50", "torchvision_resnet50", "MobileNetV2", "EfficientNetB0",
                                  "DenseNet121"])
def test_imagenet_network_matches_onnxruntime(name):
    from neuronka import applications

    if name == "torchvision_resnet50":
        from neuronka.applications.torchvision_resnet import torchvision_resnet

        model = torchvision_resnet(50, weights=None, input_shape=(64, 64, 3))
    else:
        model = getattr(applications, "ResNet50" if name == "keras_resnet50" else name)(
            weights=None, input_shape=(64, 64, 3))
    assert_exports_equal(model, lambda n: RNG.uniform(0, 255, (n, 64, 64, 3)).astype("float32"), atol=1e-4)


# ---- errors, files, metadata, the command ---------------------------------------------------------------------
def test_unsupported_layer_names_it_and_leaves_no_file(tmp_path):
    model = seq((4,), layers.Dense(3), layers.Lambda(lambda x: x * 2, name="doubler"))
    target = tmp_path / "m.onnx"
    with pytest.raises(UnsupportedLayerError, match="'doubler' of class Lambda"):
        model.export(target, format="onnx")
    assert list(tmp_path.iterdir()) == []


def test_failed_export_keeps_the_previous_file(tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous")
    with pytest.raises(UnsupportedLayerError):
        seq((4,), layers.Lambda(lambda x: x)).export(target, format="onnx")
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["m.onnx"]


def test_bad_paths_and_format_give_clear_errors(tmp_path):
    model = seq((4,), layers.Dense(2))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.export(tmp_path / "missing" / "m.onnx", format="onnx")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        model.export(tmp_path, format="onnx")
    with pytest.raises(ValueError, match="format='onnx' only, received format='tf_saved_model'"):
        model.export(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="opset_version"):
        model.export(tmp_path / "m.onnx", format="onnx", opset_version=9)


def test_unbuilt_and_subclassed_models_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not built|no input shape"):
        keras.Sequential([layers.Dense(2)]).export(tmp_path / "m.onnx", format="onnx")

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)
    net = Net()
    net(numpy.zeros((1, 3), "float32"))
    with pytest.raises(UnsupportedLayerError, match="subclassed|no symbolic inputs"):
        net.export(tmp_path / "m.onnx", format="onnx")
    assert list(tmp_path.iterdir()) == []


def test_export_writes_dynamic_batch_opset_and_class_names(tmp_path):
    from neuronka.export import export_onnx

    model = seq((4,), layers.Dense(3, activation="softmax"))
    export_onnx(model, tmp_path / "m.onnx", class_names=["cat", "dog", "emu"])
    proto = onnx.load(tmp_path / "m.onnx")
    assert proto.opset_import[0].version == 18
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert json.loads({p.key: p.value for p in proto.metadata_props}["class_names"]) == ["cat", "dog", "emu"]


def test_cli_exports_a_run_folder_and_a_model_file(tmp_path, capsys):
    from neuronka.cli import main

    model = cifar.cifar_resnet(8, classes=3)
    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"kind": "image", "class_names": ["a", "b", "c"], "num_classes": 3,
                                                 "settings": {"dataset": "cifar10", "kind": "image"}}))
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "r.onnx")]) == 0
    proto = onnx.load(tmp_path / "r.onnx")
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["class_names"]) == ["a", "b", "c"] and meta["kind"] == "image"
    x = floats(32, 32, 3)(2)
    numpy.testing.assert_allclose(run_onnx(proto, [x])[0], model.predict(x, verbose=0), atol=2e-5)
    assert main(["export", str(run / "model.keras")]) == 0
    assert (run / "model.onnx").is_file()
    assert main(["export", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(run), "--out", str(tmp_path / "no" / "x.onnx")]) == 2
    assert "folder of --out" in capsys.readouterr().err
