"""Neural-network ops of ``keras.ops.nn`` that are not activations, convolutions or pooling: one_hot,
multi_hot, dot_product_attention, ctc_loss / ctc_decode, psnr, depth_to_space / space_to_depth, unfold /
fold, rms_normalization, polar, separable_conv."""
from __future__ import annotations

__all__: list[str] = []
