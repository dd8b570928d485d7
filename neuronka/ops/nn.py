"""Neural-network ops of ``keras.ops.nn`` that are not activations, convolutions or pooling: one_hot,
multi_hot, dot_product_attention, ctc_loss / ctc_decode, psnr, depth_to_space / space_to_depth, unfold /
fold, rms_normalization, polar, separable_conv."""
from __future__ import annotations

# the loss ops of keras.ops.nn live with the other loss math (h/losses)
from .ctc import ctc_decode, ctc_loss
from .losses import binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy

__all__: list[str] = ["binary_crossentropy", "categorical_crossentropy", "ctc_decode", "ctc_loss",
                      "sparse_categorical_crossentropy"]
