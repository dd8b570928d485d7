"""Text classifiers over token sequences: an embedding, then a convolutional or recurrent encoder, then softmax.

``text_classifier(kind, vocab_size, sequence_length)`` builds, for int token matrices (N, L) as
``TextVectorization(output_mode="int")`` makes them (0 = padding, 1 = out of vocabulary)::

    Embedding(vocab_size, embedding_dim, mask_zero=True)      x_t → e_t ∈ R^d; mask m_t = (x_t ≠ 0)
    SpatialDropout1D(spatial_dropout)                         drops whole embedding channels per sequence
    encoder (``kind``):
      "conv1d"  Conv1D(units, 5, relu, "same") → GlobalMaxPooling1D      h = max_t relu(W * e)_t
      "lstm"    LSTM(units)                                             h = h_T (masked steps skipped)
      "gru"     GRU(units)                                              h = h_T
      "bilstm"  Bidirectional(LSTM(units))                              h = [h_T→, h_1←]  (2·units)
    Dropout(dropout)
    Dense: 1 sigmoid unit when num_classes == 2 (p = P(class 1)), else num_classes softmax units

The two-class model outputs one probability (use ``binary_crossentropy``); more classes use
``sparse_categorical_crossentropy``. ``vocab_size`` is ``TextVectorization.vocabulary_size()``
(padding and OOV included).
"""
from __future__ import annotations

from .. import layers
from ..layers.embedding import Embedding  # (not re-exported by neuronka.layers yet)
from ..models import Model

TEXT_MODELS = ("conv1d", "lstm", "gru", "bilstm")


def text_classifier(kind: str, vocab_size: int, sequence_length: int | None, embedding_dim: int = 64,
                    units: int = 64, num_classes: int = 2, spatial_dropout: float = 0.2, dropout: float = 0.5,
                    kernel_size: int = 5, name: str | None = None) -> Model:
    """Embedding(mask_zero) → SpatialDropout1D → encoder ``kind`` → Dropout → Dense (see the module docstring).

    ``kind``: "conv1d", "lstm", "gru" or "bilstm". ``sequence_length`` may be None (variable length).
    """
    kind = str(kind).lower()
    if kind not in TEXT_MODELS:
        raise ValueError(f"text_classifier: expected kind one of {TEXT_MODELS}, received kind={kind!r}")
    for arg, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim), ("units", units)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"text_classifier: expected a positive integer for `{arg}`, received {arg}={value!r}")
    if vocab_size < 3:
        raise ValueError(f"text_classifier: expected vocab_size ≥ 3 (padding, OOV and one token), "
                         f"received vocab_size={vocab_size}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"text_classifier: expected num_classes an integer ≥ 2, received num_classes={num_classes!r}")
    inputs = layers.Input(shape=(sequence_length,), dtype="int64", name="tokens")
    x = Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(inputs)
    if spatial_dropout:
        x = layers.SpatialDropout1D(spatial_dropout, name="spatial_dropout")(x)
    if kind == "conv1d":
        x = layers.Conv1D(units, kernel_size, padding="same", activation="relu", name="conv")(x)
        x = layers.GlobalMaxPooling1D(name="max_pool")(x)
    elif kind == "lstm":
        x = layers.LSTM(units, name="lstm")(x)
    elif kind == "gru":
        x = layers.GRU(units, name="gru")(x)
    else:
        x = layers.Bidirectional(layers.LSTM(units, name="lstm"), name="bidirectional")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    if num_classes == 2:
        outputs = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    else:
        outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return Model(inputs, outputs, name=name or f"text_{kind}")
