"""Connectionist temporal classification (Graves et al., 2006): ``keras.ops.ctc_loss`` and ``ctc_decode``.

The loss sums the probability of every alignment of a label sequence l to the T frames of an output,
by the forward (α) and backward (β) recursions over the extended label l' = (blank, l₁, blank, l₂, …,
blank), of length L = 2|l| + 1, in log space and vectorized over the batch:

    α_t(s) = e_t(s) + log[ e^α_{t−1}(s) + e^α_{t−1}(s−1) + skip(s)·e^α_{t−1}(s−2) ]
    β_t(s) = e_t(s) + log[ e^β_{t+1}(s) + e^β_{t+1}(s+1) + skip(s+2)·e^β_{t+1}(s+2) ]
    log p(l | x) = logaddexp(α_{T−1}(L−1), α_{T−1}(L−2)),   loss = −log p(l | x)

with e_t(s) = log softmax(z_t)[l'_s] and skip(s) true where l'_s is a label different from l'_{s−2}. The
gradient w.r.t. the logits z (Graves, eq. 16) uses the occupancies γ_t(s) = e^{α_t(s) + β_t(s) − e_t(s)} / p:

    ∂loss/∂z_tk = softmax(z_t)_k − Σ_{s: l'_s = k} γ_t(s)        (0 for frames t ≥ output_length)

The decoder is greedy (best class per frame, repeats merged, blanks dropped) or a prefix beam search
that keeps, for each of the ``beam_width`` best prefixes, the log-probability of the alignments ending
in a label (E) and in a blank (M).
"""
from __future__ import annotations

import numpy

from ..autograd import Function, Tensor, _as_array
from ..backend import get_array_module
from ._util import wrap


def _log_softmax(xp, z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))


def _shift_right(xp, a, by: int):
    """a[:, s − by] (−∞ where s < by) along the last axis."""
    pad = xp.full(a.shape[:-1] + (by,), -xp.inf, dtype=a.dtype)
    return xp.concatenate([pad, a[..., :-by]], axis=-1) if a.shape[-1] > by else xp.full_like(a, -xp.inf)


def _shift_left(xp, a, by: int):
    """a[:, s + by] (−∞ past the end) along the last axis."""
    pad = xp.full(a.shape[:-1] + (by,), -xp.inf, dtype=a.dtype)
    return xp.concatenate([a[..., by:], pad], axis=-1) if a.shape[-1] > by else xp.full_like(a, -xp.inf)


class CTCLoss(Function):
    """−log p(labels | logits) per sequence; the input is the (batch, frames, classes) logits."""

    def forward(self, logits):
        xp = get_array_module(logits)
        batch, frames, num_classes = logits.shape
        labels, label_len, frame_len, blank = self.labels, self.label_len, self.frame_len, self.blank
        log_p = _log_softmax(xp, logits)
        n_ext = 2 * labels.shape[1] + 1
        ext = xp.full((batch, n_ext), blank, dtype=numpy.int64)
        ext[:, 1::2] = labels
        emit = xp.take_along_axis(log_p, xp.broadcast_to(ext[:, None, :], (batch, frames, n_ext)), axis=2)
        skip = xp.zeros((batch, n_ext), dtype=bool)
        skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
        with numpy.errstate(invalid="ignore"):
            # forward: α over (frames, extended labels)
            alpha = xp.full((batch, frames, n_ext), -xp.inf, dtype=logits.dtype)
            alpha[:, 0, :2] = emit[:, 0, :2]
            for t in range(1, frames):
                prev = alpha[:, t - 1]
                two_back = xp.where(skip, _shift_right(xp, prev, 2), -xp.inf)
                alpha[:, t] = xp.logaddexp(xp.logaddexp(prev, _shift_right(xp, prev, 1)), two_back) + emit[:, t]
            # backward: β, started at each sequence's last frame on its last label or final blank
            s_index = xp.arange(n_ext)[None, :]
            last = (2 * label_len)[:, None]
            end = (s_index == last) | ((s_index == last - 1) & (last > 0))
            beta = xp.full((batch, frames, n_ext), -xp.inf, dtype=logits.dtype)
            skip_ahead = _shift_left(xp, xp.where(skip, 0.0, -xp.inf).astype(logits.dtype), 2)  # skip(s + 2)
            for t in range(frames - 1, -1, -1):
                if t + 1 < frames:
                    nxt = beta[:, t + 1]
                    rec = xp.logaddexp(xp.logaddexp(nxt, _shift_left(xp, nxt, 1)), _shift_left(xp, nxt, 2) + skip_ahead)
                    rec = rec + emit[:, t]
                else:
                    rec = xp.full((batch, n_ext), -xp.inf, dtype=logits.dtype)
                start = xp.where(end, emit[:, t], -xp.inf)
                is_last = (frame_len - 1 == t)[:, None]
                before = (t < frame_len - 1)[:, None]
                beta[:, t] = xp.where(is_last, start, xp.where(before, rec, -xp.inf))
            rows = xp.arange(batch)
            final = alpha[rows, frame_len - 1]
            log_lik = xp.logaddexp(final[rows, 2 * label_len],
                                   xp.where(label_len > 0, final[rows, xp.maximum(2 * label_len - 1, 0)], -xp.inf))
            # occupancies γ_t(s), gathered per class: G_tk = Σ_{s: l'_s = k} γ_t(s)
            finite = xp.isfinite(log_lik)
            gamma = xp.exp(alpha + beta - emit - xp.where(finite, log_lik, 0.0)[:, None, None])
            gamma = xp.where(finite[:, None, None], gamma, 0.0)
        one_hot = (ext[:, :, None] == xp.arange(num_classes)[None, None, :]).astype(logits.dtype)
        occupancy = gamma @ one_hot  # (batch, frames, classes)
        valid = (xp.arange(frames)[None, :] < frame_len[:, None])[..., None] & finite[:, None, None]
        self.grad = xp.where(valid, xp.exp(log_p) - occupancy, 0.0).astype(logits.dtype)
        return -log_lik

    def backward(self, gy):  # ∂loss/∂z_tk = softmax(z_t)_k − Σ_{s: l'_s = k} γ_t(s)
        return self.grad * gy[:, None, None]


def _int_vector(x, name: str, batch: int, op: str):
    arr = numpy.asarray(_as_array(x))
    if arr.ndim == 0:
        arr = numpy.full((batch,), arr)
    if arr.shape != (batch,) or arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and arr.shape == (batch,) and numpy.all(arr == numpy.round(arr)):
            return arr.astype(numpy.int64)
        raise ValueError(f"{op}: expected `{name}` to be integer lengths of shape ({batch},), received "
                         f"shape {arr.shape} and dtype {arr.dtype}")
    return arr.astype(numpy.int64)


def ctc_loss(target, output, target_length, output_length, mask_index: int = 0) -> Tensor:
    """CTC loss per sequence, −log p(target | output): ``target`` (batch, max_label_length) integer labels,
    ``output`` (batch, max_frames, num_classes) logits (a softmax is applied inside), ``target_length`` and
    ``output_length`` the valid lengths, ``mask_index`` the blank class. Shape (batch,); an output too short
    for its labels gives +inf (and a zero gradient)."""
    logits = output if isinstance(output, Tensor) else Tensor(_as_array(output))
    if logits.dtype.kind != "f" or logits.dtype.itemsize < 4:
        from . import math as m  # noqa: PLC0415

        logits = m.cast(logits, "float32")
    if logits.ndim != 3:
        raise ValueError(f"ctc_loss: expected `output` of shape (batch_size, max_length, num_classes), received "
                         f"shape {tuple(logits.shape)}")
    batch, frames, num_classes = logits.shape
    labels = numpy.asarray(_as_array(target))
    if labels.ndim != 2 or labels.shape[0] != batch:
        raise ValueError(f"ctc_loss: expected `target` of shape ({batch}, max_label_length), received shape "
                         f"{labels.shape}")
    labels = labels.astype(numpy.int64)
    label_len = _int_vector(target_length, "target_length", batch, "ctc_loss")
    frame_len = _int_vector(output_length, "output_length", batch, "ctc_loss")
    if label_len.size and (label_len.min() < 0 or label_len.max() > labels.shape[1]):
        raise ValueError(f"ctc_loss: expected target_length in [0, {labels.shape[1]}], received {label_len.tolist()}")
    if frame_len.size and (frame_len.min() < 1 or frame_len.max() > frames):
        raise ValueError(f"ctc_loss: expected output_length in [1, {frames}], received {frame_len.tolist()}")
    if not -num_classes <= mask_index < num_classes:
        raise ValueError(f"ctc_loss: expected mask_index in [0, {num_classes}), received mask_index={mask_index}")
    xp = get_array_module(logits.data)
    return CTCLoss.apply(logits, labels=xp.asarray(labels), label_len=xp.asarray(label_len),
                         frame_len=xp.asarray(frame_len), blank=int(mask_index) % num_classes)


# ----------------------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------------------
def _greedy_decode(scores, lengths, merge_repeated: bool, blank: int):
    """Best class per frame; frames past the length are blank; repeats merged; blanks dropped and the
    labels moved to the front (−1 after them). Score: −Σ_t max_k scores_tk over the valid frames."""
    batch, frames, _ = scores.shape
    best = scores.argmax(axis=-1).astype(numpy.int32)
    top = scores.max(axis=-1)
    past = numpy.arange(frames)[None, :] >= lengths[:, None]
    best = numpy.where(past, blank, best)
    top = numpy.where(past, 0.0, top)
    if merge_repeated:
        repeat = numpy.zeros_like(past)
        repeat[:, 1:] = best[:, 1:] == best[:, :-1]
        best = numpy.where(repeat, blank, best)
    keep = best != blank
    order = numpy.argsort(~keep, axis=1, kind="stable")  # kept labels first, in frame order
    decoded = numpy.where(numpy.take_along_axis(keep, order, axis=1), numpy.take_along_axis(best, order, axis=1), -1)
    return decoded[None].astype(numpy.int32), -top.sum(axis=1, keepdims=True).astype(scores.dtype)


_HASH_MULTIPLIER = numpy.uint64(0x9E3779B97F4A7C15)  # prefix hash: h(P + c) = h(P)·A + (c + 1) mod 2⁶⁴


def _group_logsumexp(values, starts):
    """log Σ e^v within each run of ``values`` beginning at ``starts`` (−∞ for a run of −∞)."""
    top = numpy.maximum.reduceat(values, starts)
    safe = numpy.where(numpy.isfinite(top), top, 0.0)
    run = numpy.repeat(numpy.arange(len(starts)), numpy.diff(numpy.append(starts, len(values))))
    with numpy.errstate(divide="ignore"):
        return numpy.log(numpy.add.reduceat(numpy.exp(values - safe[run]), starts)) + safe


def _beam_search_decode(scores, lengths, beam_width: int, top_paths: int, blank: int):
    """Prefix beam search over log-softmax scores, all sequences of the batch at once.

    Each beam is a distinct label prefix P with E (log-probability of the alignments so far that end in
    P's last label) and M (those ending in a blank). One frame with log-probabilities x:
    blank → M(P) += logaddexp(E, M) + x_blank; the last label c again → E(P) += E + x_c; any other label
    c (or c after a blank) → E(P + c) += (M if c is P's last label else logaddexp(E, M)) + x_c. Candidates
    that reach the same prefix are merged (log-sum-exp) and the ``beam_width`` best by logaddexp(E, M)
    kept. The first frame keeps its min(classes, beam_width) best classes.
    """
    batch, frames, num_classes = scores.shape
    k = beam_width
    log_p = _log_softmax(numpy, scores.astype(numpy.float64))
    neg_inf = -numpy.inf
    paths = numpy.full((batch, k, frames), -1, dtype=numpy.int64)
    plen = numpy.zeros((batch, k), dtype=numpy.int64)
    tail = numpy.full((batch, k), -1, dtype=numpy.int64)
    keys = numpy.zeros((batch, k), dtype=numpy.uint64)
    emit = numpy.full((batch, k), neg_inf)
    blank_end = numpy.full((batch, k), neg_inf)
    n0 = min(num_classes, k)
    first = numpy.argsort(-log_p[:, 0], axis=1, kind="stable")[:, :n0]
    first_scores = numpy.take_along_axis(log_p[:, 0], first, axis=1)
    is_blank = first == blank
    emit[:, :n0] = numpy.where(is_blank, neg_inf, first_scores)
    blank_end[:, :n0] = numpy.where(is_blank, first_scores, neg_inf)
    labelled = ~is_blank
    paths[:, :n0, 0] = numpy.where(labelled, first, -1)
    plen[:, :n0] = labelled
    tail[:, :n0] = numpy.where(labelled, first, -1)
    keys[:, :n0] = numpy.where(labelled, first.astype(numpy.uint64) + numpy.uint64(1), numpy.uint64(0))
    classes = numpy.arange(num_classes)
    for t in range(1, frames):
        active = t < lengths
        if not active.any():
            break
        x = log_p[:, t]  # (batch, classes)
        total = numpy.logaddexp(emit, blank_end)
        # candidates: (batch, k, 2 + classes): stay by a blank, stay by repeating the last label, extend by c
        n_cand = 2 + num_classes
        cand_key = numpy.empty((batch, k, n_cand), dtype=numpy.uint64)
        cand_char = numpy.full((batch, k, n_cand), -1, dtype=numpy.int64)
        cand_e = numpy.full((batch, k, n_cand), neg_inf)
        cand_m = numpy.full((batch, k, n_cand), neg_inf)
        cand_key[:, :, 0] = keys
        cand_m[:, :, 0] = total + x[:, blank][:, None]
        cand_key[:, :, 1] = keys
        has_tail = tail >= 0
        cand_e[:, :, 1] = numpy.where(has_tail, emit + numpy.take_along_axis(x, numpy.maximum(tail, 0), axis=1),
                                      neg_inf)
        with numpy.errstate(over="ignore"):
            cand_key[:, :, 2:] = keys[:, :, None] * _HASH_MULTIPLIER + (classes + 1).astype(numpy.uint64)
        cand_char[:, :, 2:] = classes
        source = numpy.where(tail[:, :, None] == classes, blank_end[:, :, None], total[:, :, None])
        cand_e[:, :, 2:] = numpy.where(classes == blank, neg_inf, source + x[:, None, :])
        cand_src = numpy.broadcast_to(numpy.arange(k)[None, :, None], (batch, k, n_cand))
        # merge candidates of one prefix: sort by (batch, key)
        b_idx = numpy.broadcast_to(numpy.arange(batch)[:, None, None], (batch, k, n_cand)).ravel()
        flat_key = cand_key.ravel()
        order = numpy.lexsort((flat_key, b_idx))
        sb, sk = b_idx[order], flat_key[order]
        new_group = numpy.ones(len(order), dtype=bool)
        new_group[1:] = (sb[1:] != sb[:-1]) | (sk[1:] != sk[:-1])
        starts = numpy.flatnonzero(new_group)
        g_e = _group_logsumexp(cand_e.ravel()[order], starts)
        g_m = _group_logsumexp(cand_m.ravel()[order], starts)
        g_total = numpy.logaddexp(g_e, g_m)
        g_batch, g_key = sb[starts], sk[starts]
        # the member carrying the appended label (if any) describes the prefix
        chars = cand_char.ravel()[order]
        group_of = numpy.cumsum(new_group) - 1
        rep = starts.copy()
        with_char = numpy.flatnonzero(chars >= 0)
        rep[group_of[with_char]] = with_char
        g_src = cand_src.ravel()[order][rep]
        g_char = chars[rep]
        # the beam_width best groups of each sequence
        rank_order = numpy.lexsort((-g_total, g_batch))
        rb = g_batch[rank_order]
        batch_start = numpy.searchsorted(rb, numpy.arange(batch))
        rank = numpy.arange(len(rank_order)) - batch_start[rb]
        kept = rank_order[rank < k]
        kb, kr = g_batch[kept], rank[rank < k]
        new_paths = numpy.full_like(paths, -1)
        new_plen = numpy.zeros_like(plen)
        new_tail = numpy.full_like(tail, -1)
        new_keys = numpy.zeros_like(keys)
        new_emit = numpy.full_like(emit, neg_inf)
        new_blank = numpy.full_like(blank_end, neg_inf)
        src, ch = g_src[kept], g_char[kept]
        new_paths[kb, kr] = paths[kb, src]
        appended = ch >= 0
        new_paths[kb[appended], kr[appended], plen[kb, src][appended]] = ch[appended]
        new_plen[kb, kr] = plen[kb, src] + appended
        new_tail[kb, kr] = numpy.where(appended, ch, tail[kb, src])
        new_keys[kb, kr] = g_key[kept]
        new_emit[kb, kr] = g_e[kept]
        new_blank[kb, kr] = g_m[kept]
        a = active[:, None]
        paths = numpy.where(a[..., None], new_paths, paths)
        plen, tail = numpy.where(a, new_plen, plen), numpy.where(a, new_tail, tail)
        keys = numpy.where(a, new_keys, keys)
        emit, blank_end = numpy.where(a, new_emit, emit), numpy.where(a, new_blank, blank_end)
    total = numpy.logaddexp(emit, blank_end)
    if top_paths > k:  # more paths asked than beams kept: the rest are empty with log-probability −∞
        extra = top_paths - k
        paths = numpy.concatenate([paths, numpy.full((batch, extra, frames), -1, dtype=paths.dtype)], axis=1)
        total = numpy.concatenate([total, numpy.full((batch, extra), neg_inf)], axis=1)
    best = numpy.argsort(-total, axis=1, kind="stable")[:, :top_paths]
    out_paths = numpy.take_along_axis(paths, best[..., None], axis=1)  # (batch, top_paths, frames)
    out_scores = numpy.take_along_axis(total, best, axis=1)
    return out_paths.transpose(1, 0, 2).astype(numpy.int32), out_scores.astype(scores.dtype)


def ctc_decode(inputs, sequence_lengths, strategy: str = "greedy", beam_width: int = 100, top_paths: int = 1,
               merge_repeated: bool = True, mask_index: int | None = 0):
    """Decode CTC outputs ``inputs`` (batch, frames, classes), each sequence up to its length.

    ``strategy="greedy"``: the best class per frame, repeats merged (``merge_repeated``), blanks
    (``mask_index``, None: the last class) dropped; returns (decoded (1, batch, frames) int32 padded with −1,
    scores (batch, 1) = −Σ of the per-frame maxima of ``inputs``). ``"beam_search"``: a prefix beam search
    over log-softmax(inputs) keeping ``beam_width`` prefixes; returns the ``top_paths`` best as (decoded
    (top_paths, batch, frames), log-probabilities (batch, top_paths)). Not differentiable.
    """
    scores = numpy.asarray(_as_array(inputs))
    if scores.ndim != 3:
        raise ValueError(f"ctc_decode: expected `inputs` of shape (batch_size, max_length, num_classes), received "
                         f"shape {scores.shape}")
    if scores.dtype.kind != "f" or scores.dtype.itemsize < 4:
        scores = scores.astype(numpy.float32)
    batch, frames, num_classes = scores.shape
    lengths = _int_vector(sequence_lengths, "sequence_lengths", batch, "ctc_decode")
    blank = num_classes - 1 if mask_index is None else int(mask_index)
    if not 0 <= blank < num_classes:
        raise ValueError(f"ctc_decode: expected mask_index in [0, {num_classes}), received mask_index={mask_index}")
    if strategy == "greedy":
        decoded, log_probs = _greedy_decode(scores, lengths, merge_repeated, blank)
    elif strategy == "beam_search":
        if beam_width < 1 or top_paths < 1:
            raise ValueError(f"ctc_decode: expected beam_width >= 1 and top_paths >= 1, received "
                             f"beam_width={beam_width}, top_paths={top_paths}")
        decoded, log_probs = _beam_search_decode(scores, lengths, int(beam_width), int(top_paths), blank)
    else:
        raise ValueError(f"ctc_decode: invalid strategy {strategy!r}; supported values are 'greedy' and "
                         f"'beam_search'")
    return wrap(decoded), wrap(log_probs)


__all__ = ["ctc_decode", "ctc_loss"]
