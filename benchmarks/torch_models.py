"""PyTorch twins of neuronka's benchmark models (a benchmark peer only: neuronka never imports torch).

Each twin has the same layers, shapes and parameter count as its neuronka original, in the same order,
so :func:`copy_from_neuronka` can move neuronka's weights into it and the outputs can be compared:

- :class:`CifarResNet`: ``neuronka.applications.resnet.get("resnet20" / "resnet56")``, He et al. 2015
  section 4.2: a 3×3 convolution with 16 filters, three stages of n basic blocks (16 / 32 / 64 filters,
  stride 2 at the start of stages 2 and 3) with option A shortcuts (x[:, :, ::2, ::2], channels
  zero-padded half before, half after), global average pooling, Dense(classes). Bias-free convolutions,
  BatchNorm(eps 1e-5, momentum 0.1 = Keras's 0.9).
- :class:`ResNet50`: torchvision's layout (torchvision is not needed): 7×7/2 stem, 3×3/2 max pool,
  bottleneck blocks [3, 4, 6, 3] with the stride on the 3×3 convolution and projection shortcuts,
  global average pooling, Dense(1000). 25,557,032 parameters.
- :class:`LSTMClassifier`: LSTM(units) (or GRU, or bidirectional) over (N, T, F), then Dense(classes) on the last
  state.
- :class:`TransformerClassifier`: ``neuronka.applications.text.text_classifier("transformer")``: token
  embedding plus a learned position embedding, post-norm encoder blocks (``nn.MultiheadAttention`` with the
  padding as ``key_padding_mask``, residual, LayerNorm(eps 1e-6), Dense(units, relu), Dense(d), residual,
  LayerNorm), the mean over the real tokens, Dense(1). Keras also masks the padded queries; their rows are
  left out of the mean, so the outputs agree (:func:`copy_transformer_from_neuronka`).

The models return logits; neuronka's end in a softmax, which its loss fuses with the cross-entropy, as
``torch.nn.functional.cross_entropy`` does with the logits.
"""
from __future__ import annotations

import re

import numpy
import torch
import torch.nn.functional as F
from torch import nn

CIFAR_DEPTHS = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by ``stride`` and zero-pad the channels to ``filters`` (extra // 2 in front)."""

    def __init__(self, filters: int, stride: int):
        super().__init__()
        self.filters, self.stride = filters, stride

    def forward(self, x):
        s = self.stride
        if s > 1:
            x = x[:, :, ::s, ::s]
        extra = self.filters - x.shape[1]
        before = extra // 2
        return F.pad(x, (0, 0, 0, 0, before, extra - before))


class BasicBlock(nn.Module):
    """relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x)), the shortcut option A where the shape changes."""

    def __init__(self, cin: int, filters: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, filters, 3, stride, 1, bias=False)
        self.bn1 = _bn(filters)
        self.conv2 = nn.Conv2d(filters, filters, 3, 1, 1, bias=False)
        self.bn2 = _bn(filters)
        self.shortcut = ZeroPadShortcut(filters, stride) if (stride != 1 or cin != filters) else nn.Identity()

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(self.shortcut(x) + y)


class CifarResNet(nn.Module):
    """The CIFAR ResNet of depth 6n + 2 with option A shortcuts (neuronka's ``cifar_resnet`` defaults)."""

    def __init__(self, depth: int = 20, classes: int = 10):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CifarResNet: expected depth = 6n + 2, received depth={depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = _bn(16)
        blocks, cin = [], 16
        for stage, filters in enumerate((16, 32, 64)):
            for block in range(n):
                blocks.append(BasicBlock(cin, filters, 2 if stage > 0 and block == 0 else 1))
                cin = filters
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Bottleneck(nn.Module):
    """1×1 → 3×3 (stride) → 1×1 (×4), each with BN; projection (1×1 conv + BN) where the shape changes."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = _bn(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = _bn(out)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), _bn(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(sc + y)


class ResNet50(nn.Module):
    """ResNet-50 in torchvision's layout (``torchvision.models.resnet50(weights=None)``'s modules and order)."""

    def __init__(self, classes: int = 1000, blocks=(3, 4, 6, 3)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = _bn(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin, stages = 64, []
        for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks)):
            layer = []
            for block in range(count):
                layer.append(Bottleneck(cin, planes, 2 if stage > 0 and block == 0 else 1))
                cin = planes * Bottleneck.expansion
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class LSTMClassifier(nn.Module):
    """LSTM(units) over (N, T, features) (gates i, f, g, o as Keras's i, f, c, o), Dense(classes) on h_T.
    ``cell="gru"``: GRU(units) (torch's r, z, n gates are Keras's GRU with ``reset_after=True``, its
    default); ``bidirectional``: Keras's ``Bidirectional(LSTM(units))``, the two final states concatenated."""

    def __init__(self, features: int = 32, units: int = 128, classes: int = 10, cell: str = "lstm",
                 bidirectional: bool = False):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.lstm = rnn(features, units, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(units * (2 if bidirectional else 1), classes)

    def forward(self, x):
        _, state = self.lstm(x)
        h = state[0] if isinstance(state, tuple) else state  # (directions, N, units): each direction's last h
        return self.fc(torch.cat(list(h), dim=1))


class TransformerBlock(nn.Module):
    """x = LN(x + Dropout(MHA(x, x, x))); x = LN(x + Dropout(W₂ relu(W₁ x))) (the keys of the padding masked)."""

    def __init__(self, width: int, units: int, heads: int, dropout: float = 0.1):
        super().__init__()
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)
        self.attention_norm = nn.LayerNorm(width, eps=1e-6)
        self.ffn_1 = nn.Linear(width, units)
        self.ffn_2 = nn.Linear(units, width)
        self.ffn_norm = nn.LayerNorm(width, eps=1e-6)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, padding):
        attended = self.attention(x, x, x, key_padding_mask=padding, need_weights=False)[0]
        x = self.attention_norm(x + self.dropout(attended))
        return self.ffn_norm(x + self.dropout(self.ffn_2(F.relu(self.ffn_1(x)))))


class TransformerClassifier(nn.Module):
    """Tokens (N, L), 0 = padding → the probability logit (N, 1) (see the module docstring)."""

    def __init__(self, vocab: int, sequence_length: int, width: int = 64, units: int = 64, heads: int = 4,
                 blocks: int = 2, block_dropout: float = 0.1, spatial_dropout: float = 0.2, dropout: float = 0.5):
        super().__init__()
        self.embedding = nn.Embedding(vocab, width)
        self.position = nn.Parameter(torch.randn(sequence_length, width) * 0.05)
        self.spatial_dropout = nn.Dropout1d(spatial_dropout)
        self.blocks = nn.ModuleList(TransformerBlock(width, units, heads, block_dropout) for _ in range(blocks))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, 1)

    def forward(self, tokens):
        real = tokens != 0
        x = self.embedding(tokens) + self.position[:tokens.shape[1]]
        x = self.spatial_dropout(x.transpose(1, 2)).transpose(1, 2)  # whole channels per sequence
        for block in self.blocks:
            x = block(x, ~real)
        weights = real.unsqueeze(-1).to(x.dtype)
        pooled = (x * weights).sum(1) / weights.sum(1)
        return self.head(self.dropout(pooled))


def copy_transformer_from_neuronka(twin: TransformerClassifier, nk_model) -> None:
    """Copy ``text_classifier("transformer")``'s weights into the twin: EinsumDense kernels (d, N, H) of the
    query, key and value stacked into ``in_proj_weight`` (3d, d), the output kernel (N, H, d) into
    ``out_proj.weight`` (d, d), Dense kernels transposed, LayerNorm γ, β as they are."""
    def put(param, value):
        value = torch.from_numpy(numpy.ascontiguousarray(value, dtype=numpy.float32))
        if tuple(param.shape) != tuple(value.shape):
            raise ValueError(f"copy_transformer_from_neuronka: shape {tuple(value.shape)} into {tuple(param.shape)}")
        with torch.no_grad():
            param.copy_(value)

    get = nk_model.get_layer
    put(twin.embedding.weight, get("embedding").get_weights()[0])
    put(twin.position, get("position_embedding").get_weights()[0][:twin.position.shape[0]])
    for i, block in enumerate(twin.blocks, start=1):
        w = get(f"block{i}_attention").get_weights()  # q kernel, q bias, k ..., v ..., output kernel, bias
        d = w[0].shape[0]
        put(block.attention.in_proj_weight, numpy.concatenate([w[j].reshape(d, -1).T for j in (0, 2, 4)]))
        put(block.attention.in_proj_bias, numpy.concatenate([w[j].reshape(-1) for j in (1, 3, 5)]))
        put(block.attention.out_proj.weight, w[6].reshape(-1, d).T)
        put(block.attention.out_proj.bias, w[7])
        for name, mod in (("attention_norm", block.attention_norm), ("ffn_norm", block.ffn_norm)):
            gamma, beta = get(f"block{i}_{name}").get_weights()
            put(mod.weight, gamma)
            put(mod.bias, beta)
        for name, mod in (("ffn_1", block.ffn_1), ("ffn_2", block.ffn_2)):
            kernel, bias = get(f"block{i}_{name}").get_weights()
            put(mod.weight, kernel.T)
            put(mod.bias, bias)
    kernel, bias = get("predictions").get_weights()
    put(twin.head.weight, kernel.T)
    put(twin.head.bias, bias)


def build(name: str) -> nn.Module:
    """A twin by neuronka's zoo name: resnet20 … resnet110, resnet50, lstm."""
    key = name.lower().replace("-", "")
    if key.startswith("resnet") and int(key[6:]) in CIFAR_DEPTHS:
        return CifarResNet(int(key[6:]))
    if key == "resnet50":
        return ResNet50()
    if key == "lstm":
        return LSTMClassifier()
    raise ValueError(f"torch_models.build: unknown model {name!r}; expected resnet20 … resnet110, resnet50 or lstm")


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _creation_order(layers: list) -> list:
    """neuronka's ``model.layers`` is topological: a block's shortcut (``..._0_conv``, ``..._0_bn``) may come
    between its other layers. Reorder each block as torchvision's modules are: 1, 2, 3, then 0 (the downsample),
    each convolution before its BN."""
    first, keyed = {}, []
    for i, layer in enumerate(layers):
        m = re.match(r"^(.*)_(\d+)_(conv|bn)$", layer.name)
        prefix, idx, kind = (m.group(1), int(m.group(2)) or 99, m.group(3) == "bn") if m else (layer.name, 0, 0)
        first.setdefault(prefix, i)
        keyed.append(((first[prefix], idx, kind), layer))
    return [layer for _, layer in sorted(keyed, key=lambda kv: kv[0])]


def copy_from_neuronka(twin: nn.Module, nk_model) -> None:
    """Copy a neuronka model's weights into its twin, layer by layer in creation order.

    Conv2D kernel (kh, kw, cin, cout) → weight (cout, cin, kh, kw); Dense kernel (in, out) → (out, in);
    BatchNormalization γ, β, moving mean / variance → weight, bias, running_mean / running_var;
    LSTM kernel (F, 4U), recurrent (U, 4U), bias (4U,) → weight_ih (4U, F), weight_hh (4U, U), bias_ih, bias_hh = 0.
    Raises ValueError where the two disagree in kind or shape (which proves the twins differ).
    """
    kinds = {"Conv2D": nn.Conv2d, "BatchNormalization": nn.BatchNorm2d, "Dense": nn.Linear, "LSTM": nn.LSTM}
    nk_layers = _creation_order([layer for layer in nk_model.layers if type(layer).__name__ in kinds])
    t_mods = [m for m in twin.modules() if isinstance(m, tuple(kinds.values()))]
    if len(nk_layers) != len(t_mods):
        raise ValueError(f"copy_from_neuronka: {len(nk_layers)} neuronka layers with weights, {len(t_mods)} torch")

    def put(param, value):
        value = torch.from_numpy(numpy.ascontiguousarray(value, dtype=numpy.float32))
        if tuple(param.shape) != tuple(value.shape):
            raise ValueError(f"copy_from_neuronka: shape {tuple(value.shape)} into {tuple(param.shape)}")
        with torch.no_grad():
            param.copy_(value)

    for layer, mod in zip(nk_layers, t_mods):
        kind = type(layer).__name__
        if not isinstance(mod, kinds[kind]):
            raise ValueError(f"copy_from_neuronka: neuronka {kind} {layer.name!r} against torch {type(mod).__name__}")
        w = layer.get_weights()
        if kind == "Conv2D":
            put(mod.weight, w[0].transpose(3, 2, 0, 1))
            if len(w) > 1:
                put(mod.bias, w[1])
        elif kind == "BatchNormalization":
            for p, v in zip((mod.weight, mod.bias, mod.running_mean, mod.running_var), w):
                put(p, v)
        elif kind == "Dense":
            put(mod.weight, w[0].T)
            put(mod.bias, w[1])
        else:
            put(mod.weight_ih_l0, w[0].T)
            put(mod.weight_hh_l0, w[1].T)
            put(mod.bias_ih_l0, w[2])
            put(mod.bias_hh_l0, numpy.zeros_like(w[2]))
