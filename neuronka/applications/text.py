"""Text classifiers over token sequences: an embedding, then a convolutional, recurrent or Transformer encoder,
then softmax.

``text_classifier(kind, vocab_size, sequence_length)`` builds, for int token matrices (N, L) as
``TextVectorization(output_mode="int")`` makes them (0 = padding, 1 = out of vocabulary)::

    Embedding(vocab_size, embedding_dim, mask_zero=True)      x_t → e_t ∈ R^d; mask m_t = (x_t ≠ 0)
    SpatialDropout1D(spatial_dropout)                         drops whole embedding channels per sequence
    encoder (``kind``):
      "conv1d"  Conv1D(units, 5, relu, "same") → GlobalMaxPooling1D      h = max_t relu(W * e)_t
      "lstm"    LSTM(units)                                             h = h_T (masked steps skipped)
      "gru"     GRU(units)                                              h = h_T
      "bilstm"  Bidirectional(LSTM(units))                              h = [h_T→, h_1←]  (2·units)
      "transformer"  + PositionEmbedding (learned, added), then ``num_blocks`` encoder blocks (Vaswani et al.,
                post-norm, as Keras's text-classification example):
                  x = LayerNorm(x + Dropout(MultiHeadAttention(num_heads, d / num_heads)(x, x)))
                  x = LayerNorm(x + Dropout(Dense(d)(Dense(units, relu)(x))))
                → GlobalAveragePooling1D                               h = mean of x_t over the real tokens
    Dropout(dropout)
    Dense: 1 sigmoid unit when num_classes == 2 (p = P(class 1)), else num_classes softmax units

The padding mask of the embedding reaches every layer of the Transformer: the attention's keys (padded tokens
are never attended to), the residual additions and the normalization (position by position) and the mean,
so a padded sequence gives the output of the unpadded one.

The two-class model outputs one probability (use ``binary_crossentropy``); more classes use
``sparse_categorical_crossentropy``. ``vocab_size`` is ``TextVectorization.vocabulary_size()``
(padding and OOV included).
"""
from __future__ import annotations

from .. import initializers, layers, ops
from ..layers.embedding import Embedding
from ..models import Model
from ..serialization import register_keras_serializable

TEXT_MODELS = ("conv1d", "lstm", "gru", "bilstm", "transformer")
MAX_POSITIONS = 512  # the positions a Transformer classifier built for sequences of any length (None) knows


@register_keras_serializable(package="neuronka")
class PositionEmbedding(layers.Layer):
    """y_t = x_t + P_t for t < L: a learned position embedding P (``sequence_length``, d), added to the inputs
    (N, L, d), L ≤ ``sequence_length`` (keras_hub's ``PositionEmbedding`` followed by the addition). The input's
    mask passes through. dL/dP_t = Σ_n dL/dy_{n,t} (the slice and the broadcast addition)."""

    def __init__(self, sequence_length: int, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) or sequence_length < 1:
            raise ValueError(f"PositionEmbedding: expected a positive integer `sequence_length`, received "
                             f"sequence_length={sequence_length!r}")
        self.sequence_length = sequence_length
        self.initializer = initializers.get(initializer)
        self.supports_masking = True

    def build(self, input_shape):
        self.embeddings = self.add_weight(name="embeddings", shape=(self.sequence_length, input_shape[-1]),
                                          initializer=self.initializer)

    def call(self, inputs):
        length = inputs.shape[1]
        if length > self.sequence_length:
            raise ValueError(f"PositionEmbedding {self.name!r}: sequences of at most {self.sequence_length} "
                             f"positions, received {length} (input shape {tuple(inputs.shape)})")
        return inputs + (self.embeddings if length == self.sequence_length else self.embeddings[:length])

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length,
                "initializer": initializers.serialize(self.initializer)}


@register_keras_serializable(package="neuronka")
class MaskedMean(layers.GlobalAveragePooling1D):
    """h = Σ_t m_t·x_t / max(Σ_t m_t, 1): the mean over the real tokens of (N, L, d), and the zero vector for a
    sequence with none (Keras's GlobalAveragePooling1D divides 0 by 0 there: one empty message — ":)" after
    standardization — made a whole SMS training run NaN). Without a mask, the plain mean.
    dL/dx_t = m_t · dL/dh / max(Σ_t m_t, 1)."""

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        if self.data_format != "channels_last":
            raise ValueError(f"MaskedMean {self.name!r}: expected data_format='channels_last', received "
                             f"{self.data_format!r}")
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)  # (N, L, 1)
        total = ops.sum(inputs * weights, axis=1, keepdims=self.keepdims)
        count = ops.maximum(ops.sum(weights, axis=1, keepdims=self.keepdims), 1.0)
        return total / count


def transformer_block(x, num_heads: int, units: int, dropout: float, name: str):
    """One post-norm encoder block on the symbolic (N, L, d) ``x`` (see the module docstring)."""
    d = x.shape[-1]
    if d % num_heads:
        raise ValueError(f"text_classifier: the embedding size {d} must be a multiple of num_heads={num_heads}")
    attended = layers.MultiHeadAttention(num_heads, d // num_heads, name=f"{name}_attention")(x, x)
    if dropout:
        attended = layers.Dropout(dropout, name=f"{name}_attention_dropout")(attended)
    x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_attention_norm")(
        layers.Add(name=f"{name}_attention_add")([x, attended]))
    hidden = layers.Dense(units, activation="relu", name=f"{name}_ffn_1")(x)
    hidden = layers.Dense(d, name=f"{name}_ffn_2")(hidden)
    if dropout:
        hidden = layers.Dropout(dropout, name=f"{name}_ffn_dropout")(hidden)
    return layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ffn_norm")(
        layers.Add(name=f"{name}_ffn_add")([x, hidden]))


def text_classifier(kind: str, vocab_size: int, sequence_length: int | None, embedding_dim: int = 64,
                    units: int = 64, num_classes: int = 2, spatial_dropout: float = 0.2, dropout: float = 0.5,
                    kernel_size: int = 5, name: str | None = None, num_heads: int = 4, num_blocks: int = 2,
                    block_dropout: float = 0.1) -> Model:
    """Embedding(mask_zero) → SpatialDropout1D → encoder ``kind`` → Dropout → Dense (see the module docstring).

    ``kind``: "conv1d", "lstm", "gru", "bilstm" or "transformer". ``sequence_length`` may be None (variable
    length; the Transformer then knows ``MAX_POSITIONS`` positions). Transformer only: ``num_heads`` (dividing
    ``embedding_dim``), ``num_blocks``, ``block_dropout`` (after the attention and the feed-forward part of
    each block); ``units`` is the feed-forward width.
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
    if kind == "transformer":
        x = PositionEmbedding(sequence_length or MAX_POSITIONS, name="position_embedding")(x)
    if spatial_dropout:
        x = layers.SpatialDropout1D(spatial_dropout, name="spatial_dropout")(x)
    if kind == "conv1d":
        x = layers.Conv1D(units, kernel_size, padding="same", activation="relu", name="conv")(x)
        x = layers.GlobalMaxPooling1D(name="max_pool")(x)
    elif kind == "lstm":
        x = layers.LSTM(units, name="lstm")(x)
    elif kind == "gru":
        x = layers.GRU(units, name="gru")(x)
    elif kind == "transformer":
        for i in range(num_blocks):
            x = transformer_block(x, num_heads, units, block_dropout, name=f"block{i + 1}")
        x = MaskedMean(name="mean_pool")(x)
    else:
        x = layers.Bidirectional(layers.LSTM(units, name="lstm"), name="bidirectional")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    if num_classes == 2:
        outputs = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    else:
        outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return Model(inputs, outputs, name=name or f"text_{kind}")
