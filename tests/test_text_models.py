"""The text classifiers of ``neuronka.applications.text`` (issue #6): masking of padded sequences, model by
model, and a short training of each on a small real subset of the SMS Spam Collection in which the loss falls.

What Keras 3 does with the mask of ``Embedding(mask_zero=True)``, and so what is tested here:

- LSTM, GRU and Bidirectional(LSTM) consume it: a masked step keeps the states, so a sequence padded with 0 to
  any length (at the end or at the start) gives the output of the unpadded sequence, gradients included; the
  backward LSTM of Bidirectional starts at the last real token; and the whole model agrees with PyTorch run
  on packed sequences (each sequence over its real tokens only);
- Conv1D does not support masking (Keras warns that it "will therefore destroy the mask information") and
  GlobalMaxPooling1D has no ``mask`` argument: the conv1d classifier sees the padding's embedding (row 0 of
  the table, a trained vector) and pools over every position. Its feature maps agree with the unpadded
  sequence's away from the padding; its output depends on how much padding there is;
- the Transformer's attention, residual additions, normalization and mean all honour it: a padded sequence gives
  the output (and the gradients) of the unpadded one, and the whole classifier computes what the same model
  built in Keras computes.
"""
import numpy
import pytest

from neuronka import layers, ops, training
from neuronka.applications.text import TEXT_MODELS, MaskedMean, text_classifier
from neuronka.layers.text_vectorization import TextVectorization

from .conftest import dataset_path
from .helpers import torch_or_skip
from .keras_oracle import keras_api, keras_or_skip
from .layer_harness import copy_into

RECURRENT = ("lstm", "gru", "bilstm")
VOCAB = 40
TOL = dict(rtol=1e-5, atol=1e-6)  # float32


def _sequences(seed: int = 0, lengths=(7, 3, 5, 1)) -> list[numpy.ndarray]:
    rng = numpy.random.default_rng(seed)
    return [rng.integers(1, VOCAB, size=n) for n in lengths]  # 1 = OOV is a real token; only 0 is padding


def _pad(seqs, length: int, side: str = "post") -> numpy.ndarray:
    x = numpy.zeros((len(seqs), length), dtype=numpy.int64)
    for i, s in enumerate(seqs):
        if side == "post":
            x[i, :len(s)] = s
        else:
            x[i, length - len(s):] = s
    return x


def _model(kind: str, seed: int = 1, **kwargs):
    numpy.random.seed(seed)  # the initializers draw from NumPy's global generator
    return text_classifier(kind, VOCAB, None, embedding_dim=8, units=6, **kwargs)


# ---------------------------------------------------------------------------------- masking: recurrent encoders
@pytest.mark.parametrize("side", ["post", "pre"])
@pytest.mark.parametrize("kind", RECURRENT)
def test_padded_batch_gives_the_outputs_of_the_unpadded_sequences(kind, side):
    seqs = _sequences()
    model = _model(kind)
    alone = numpy.concatenate([model(s[None]).numpy() for s in seqs])  # no padding at all
    for length in (7, 12, 30):
        numpy.testing.assert_allclose(model(_pad(seqs, length, side)).numpy(), alone, **TOL,
                                      err_msg=f"{kind}, padded ({side}) to {length}")


@pytest.mark.parametrize("kind", RECURRENT)
def test_padding_changes_no_gradient_and_the_padding_row_gets_none(kind):
    seqs = _sequences(1)
    model = _model(kind, spatial_dropout=0.0, dropout=0.0)  # training=True without randomness

    def grads(x):
        for w in model.trainable_weights:
            w.grad = None
        ops.sum(model(x, training=True)).backward()
        return {w.path: numpy.asarray(w.grad) for w in model.trainable_weights}

    short, long = grads(_pad(seqs, 7)), grads(_pad(seqs, 16))
    assert sorted(short) == sorted(long)
    for path in short:
        numpy.testing.assert_allclose(long[path], short[path], rtol=1e-5, atol=1e-7, err_msg=path)
    numpy.testing.assert_array_equal(long["embedding/embeddings"][0], 0.0)  # masked inputs feed nothing


def test_bidirectional_backward_lstm_starts_at_the_last_real_token():
    seqs = _sequences(2)
    model = _model("bilstm")
    emb, bi = model.get_layer("embedding"), model.get_layer("bidirectional")
    units = bi.backward_layer.units
    # the backward half of h equals a forward LSTM, with the backward layer's weights, run over the real
    # tokens reversed: x_L, x_{L−1}, ..., x_1 (no padding step before x_L, whatever the padding length)
    reader = layers.LSTM(units)
    reader.build((None, None, emb.output_dim))
    reader.set_weights(bi.backward_layer.get_weights())
    h = bi(emb(_pad(seqs, 11))).numpy()
    for i, s in enumerate(seqs):
        numpy.testing.assert_allclose(h[i, units:], reader(emb(s[::-1][None])).numpy()[0], **TOL)
        numpy.testing.assert_allclose(h[i, :units], bi.forward_layer(emb(s[None])).numpy()[0], **TOL)


@pytest.mark.parametrize("kind", RECURRENT)
def test_text_vectorization_padding_length_does_not_change_predictions(kind):
    texts = ["Free entry in 2 a wkly comp to win FA Cup final tkts", "Ok lar... Joking wif u oni",
             "U dun say so early hor", "WINNER!! You have been selected to receive a prize reward!"]
    ragged = TextVectorization(max_tokens=VOCAB)  # pads to the longest text of the batch
    ragged.adapt(texts)
    fixed = TextVectorization(max_tokens=VOCAB, output_sequence_length=25, vocabulary=ragged.get_vocabulary())
    a, b = ragged(texts).numpy(), fixed(texts).numpy()
    assert a.shape[1] < b.shape[1] and numpy.array_equal(b[:, :a.shape[1]], a)
    model = _model(kind)
    numpy.testing.assert_allclose(model.predict(b, verbose=0), model.predict(a, verbose=0), **TOL)


@pytest.mark.parametrize("kind", RECURRENT)
def test_recurrent_classifier_on_a_padded_batch_matches_torch_packed_sequences(kind):
    """The whole model against an independent implementation: torch's Embedding → packed LSTM/GRU (the packed
    batch runs each sequence over its real tokens only; the reverse direction starts at the last one) →
    Linear → sigmoid, with the weights copied; the outputs and the gradients of Σ_i c_i·p_i agree."""
    torch = torch_or_skip()
    from .test_layers_recurrent import _gru_perm, _torch_cell_module  # noqa: PLC0415

    seqs = _sequences(4, lengths=(9, 2, 6, 1, 4))
    x = _pad(seqs, 14)
    lengths = torch.tensor([len(s) for s in seqs])
    model = _model(kind, spatial_dropout=0.0, dropout=0.0)
    rnn = model.get_layer({"lstm": "lstm", "gru": "gru", "bilstm": "bidirectional"}[kind])
    emb, dense = model.get_layer("embedding"), model.get_layer("predictions")

    t_emb = torch.nn.Embedding(VOCAB, emb.output_dim)
    copy_into(t_emb.weight, emb.embeddings.numpy())
    t_rnn = _torch_cell_module(rnn, bidirectional=kind == "bilstm")
    t_dense = torch.nn.Linear(dense.kernel.shape[0], 1)
    copy_into(t_dense.weight, dense.kernel.numpy().T)
    copy_into(t_dense.bias, dense.bias.numpy())
    packed = torch.nn.utils.rnn.pack_padded_sequence(t_emb(torch.from_numpy(x)), lengths, batch_first=True,
                                                     enforce_sorted=False)
    _, state = t_rnn(packed)
    h_n = state[0] if isinstance(state, tuple) else state  # (directions, N, U)
    t_prob = torch.sigmoid(t_dense(torch.cat(list(h_n), dim=-1)))
    c = numpy.random.default_rng(5).normal(size=(len(seqs), 1)).astype(numpy.float32)
    (t_prob * torch.from_numpy(c)).sum().backward()

    for w in model.trainable_weights:
        w.grad = None
    prob = model(x, training=True)
    ops.sum(prob * c).backward()
    numpy.testing.assert_allclose(prob.numpy(), t_prob.detach().numpy(), **TOL)
    numpy.testing.assert_allclose(numpy.asarray(emb.embeddings.grad), t_emb.weight.grad.numpy(), rtol=1e-4,
                                  atol=1e-6)
    numpy.testing.assert_allclose(numpy.asarray(dense.kernel.grad), t_dense.weight.grad.numpy().T, rtol=1e-4,
                                  atol=1e-6)
    subs = [(rnn.forward_layer, "_l0"), (rnn.backward_layer, "_l0_reverse")] if kind == "bilstm" else [(rnn, "_l0")]
    for sub, suffix in subs:
        cell = sub.cell
        perm = _gru_perm(cell.units) if kind == "gru" else numpy.arange(cell.kernel.shape[1])
        for ours, theirs in ((cell.kernel, getattr(t_rnn, "weight_ih" + suffix).grad.numpy().T[:, perm]),
                             (cell.recurrent_kernel, getattr(t_rnn, "weight_hh" + suffix).grad.numpy().T[:, perm])):
            numpy.testing.assert_allclose(numpy.asarray(ours.grad), theirs, rtol=1e-4, atol=1e-6,
                                          err_msg=f"{kind}{suffix}")


# ---------------------------------------------------------------------------------- masking: conv1d (as in Keras)
def test_conv1d_classifier_drops_the_mask_and_pools_over_padding_as_keras_does():
    seqs = _sequences(3)
    model = _model("conv1d")
    emb, conv, pool, dense = (model.get_layer(n) for n in ("embedding", "conv", "max_pool", "predictions"))
    half = conv.kernel_size[0] // 2
    x = _pad(seqs, 12)
    e = emb(x)
    assert e._keras_mask is not None
    fmap = conv(e)
    assert getattr(fmap, "_keras_mask", None) is None  # Conv1D does not support masking: the mask ends here
    # GlobalMaxPooling1D takes the max over all 12 positions, the padded ones included
    pooled = pool(fmap).numpy()
    numpy.testing.assert_array_equal(pooled, fmap.numpy().max(axis=1))
    numpy.testing.assert_allclose(model(x).numpy(), dense(pooled).numpy(), **TOL)
    for i, s in enumerate(seqs):
        # away from the padding (kernel reach: k // 2 positions) the feature map is the unpadded sequence's
        alone = conv(emb(s[None])).numpy()[0]
        keep = max(len(s) - half, 0)
        numpy.testing.assert_allclose(fmap.numpy()[i, :keep], alone[:keep], **TOL)
    # and so the output depends on the amount of padding (unlike the recurrent encoders)
    assert not numpy.allclose(model(_pad(seqs, 7)).numpy(), model(_pad(seqs, 30)).numpy(), **TOL)


# ---------------------------------------------------------------------------------- masking: the Transformer
def _transformer(**kwargs):
    return _model("transformer", num_heads=2, **kwargs)


def test_transformer_padded_batch_gives_the_outputs_of_the_unpadded_sequences():
    seqs = _sequences()
    model = _transformer()
    alone = numpy.concatenate([model(s[None]).numpy() for s in seqs])  # no padding at all
    for length in (7, 12, 30):
        numpy.testing.assert_allclose(model(_pad(seqs, length)).numpy(), alone, **TOL,
                                      err_msg=f"transformer, padded to {length}")


def test_transformer_padding_changes_no_gradient_and_the_padding_row_gets_none():
    seqs = _sequences(1)
    model = _transformer(spatial_dropout=0.0, dropout=0.0, block_dropout=0.0)

    def grads(x):
        for w in model.trainable_weights:
            w.grad = None
        ops.sum(model(x, training=True)).backward()
        return {w.path: numpy.asarray(w.grad) for w in model.trainable_weights}

    short, long = grads(_pad(seqs, 7)), grads(_pad(seqs, 16))
    assert sorted(short) == sorted(long)
    for path in short:
        # float32: products over 16 positions and over 7 add in another order (the gradients are of size ~1-5)
        numpy.testing.assert_allclose(long[path], short[path], rtol=1e-5, atol=1e-6, err_msg=path)
    numpy.testing.assert_array_equal(long["embedding/embeddings"][0], 0.0)  # masked inputs feed nothing
    numpy.testing.assert_array_equal(long["position_embedding/embeddings"][7:], 0.0)  # nor padded positions


def test_an_all_padding_message_gives_a_finite_prediction_and_finite_gradients():
    """A message with no token after standardization (":)" in the SMS collection) is all padding; Keras's
    masked GlobalAveragePooling1D gives 0/0 there, which made a whole training run NaN. The classifier's
    MaskedMean pools it to zeros: the prediction is the head's on the zero vector, the gradients finite."""
    model = _transformer(spatial_dropout=0.0, dropout=0.0, block_dropout=0.0)
    x = _pad(_sequences(2), 9)
    x[0] = 0
    out = model(x, training=True)
    assert numpy.all(numpy.isfinite(out.numpy()))
    head = model.get_layer("predictions")
    expected = 1 / (1 + numpy.exp(-head.get_weights()[1]))  # sigmoid(W·0 + b)
    numpy.testing.assert_allclose(out.numpy()[0], expected, rtol=1e-6)
    ops.sum(out).backward()
    assert all(numpy.all(numpy.isfinite(numpy.asarray(w.grad))) for w in model.trainable_weights if w.grad is not None)
    pooled = MaskedMean()(ops.ones((2, 3, 4)), mask=numpy.array([[0, 0, 0], [1, 1, 0]],
                                                                                          dtype=bool))
    numpy.testing.assert_array_equal(pooled.numpy(), [[0.0] * 4, [1.0] * 4])


@keras_api("layers.MultiHeadAttention", "layers.LayerNormalization", "layers.GlobalAveragePooling1D")
def test_transformer_classifier_computes_what_keras_computes_on_a_padded_batch():
    keras = keras_or_skip()
    try:
        class KerasPositionEmbedding(keras.layers.Layer):  # the same addition, as a Keras layer
            def __init__(self, sequence_length, **kwargs):
                super().__init__(**kwargs)
                self.sequence_length = sequence_length
                self.supports_masking = True

            def build(self, input_shape):
                self.embeddings = self.add_weight(name="embeddings", shape=(self.sequence_length, input_shape[-1]))

            def call(self, inputs):
                return inputs + self.embeddings[:inputs.shape[1]]

        class KerasCopy(keras.layers.Layer):  # a new tensor carrying the mask (see below)
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.supports_masking = True

            def call(self, inputs):
                return inputs * 1.0

        ours = _transformer(spatial_dropout=0.0)
        tokens = keras.Input((None,), dtype="int64")
        x = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(tokens)
        x = KerasPositionEmbedding(512)(x)
        for _ in range(2):
            # Keras's MultiHeadAttention deletes the mask of the tensors it is given (set_keras_mask(query, None)),
            # so the residual Add after it, reading the same tensor, loses the mask, and the padding leaks into
            # the next block and the mean; neuronka's leaves its inputs alone. A copy keeps Keras's mask intact.
            q = KerasCopy()(x)
            a = keras.layers.Dropout(0.1)(keras.layers.MultiHeadAttention(2, 4)(q, q))
            x = keras.layers.LayerNormalization(epsilon=1e-6)(keras.layers.Add()([x, a]))
            f = keras.layers.Dense(8)(keras.layers.Dense(6, activation="relu")(x))
            x = keras.layers.LayerNormalization(epsilon=1e-6)(keras.layers.Add()([x, keras.layers.Dropout(0.1)(f)]))
        x = keras.layers.Dropout(0.5)(keras.layers.GlobalAveragePooling1D()(x))
        theirs = keras.Model(tokens, keras.layers.Dense(1, activation="sigmoid")(x))
        assert [tuple(w.shape) for w in theirs.weights] == [tuple(w.shape) for w in ours.weights]
        rng = numpy.random.default_rng(5)
        values = [(w.numpy() + 0.2 * rng.standard_normal(w.shape)).astype("float32") for w in ours.weights]
        ours.set_weights(values)
        theirs.set_weights(values)
        x = _pad(_sequences(2), 9)
        numpy.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    finally:
        keras.backend.clear_session(free_memory=False)


# ---------------------------------------------------------------------------------- training on real SMS
@pytest.fixture(scope="module")
def sms_folder():
    return dataset_path("text", "sms-spam-collection")


@pytest.mark.parametrize("kind", TEXT_MODELS)
def test_sms_model_trains_on_a_real_subset_and_the_loss_falls(kind, sms_folder, tmp_path):
    """400 real messages (≈ 50 spam), 2 epochs, balanced class weights: the training loss of epoch 2 is below
    epoch 1's, and the test loss after training is below the untrained model's."""
    result = training.train(dict(dataset="sms-spam", model=kind, epochs=2, limit_train=400, limit_test=150,
                                 max_tokens=1000, sequence_length=30, embedding_dim=16, units=16,
                                 class_weight="balanced", lr=0.01, seed=0, verbose=0, evaluate_before=True),
                            data=sms_folder, out=tmp_path / kind)
    assert result["status"] == "finished" and result["train_items"] == 2 * 400
    rows = [line.split(",") for line in (tmp_path / kind / "history.csv").read_text().splitlines()[1:]]
    loss, val_loss = [float(r[1]) for r in rows], [float(r[3]) for r in rows]
    assert loss[1] < 0.95 * loss[0], loss
    assert val_loss[-1] < result["before_training"]["loss"], (result["before_training"], val_loss)
    spam = result["positive_class"]
    assert spam["name"] == "spam" and 0.0 <= spam["precision"] <= 1.0 and spam["recall"] > 0.5, spam
