"""Attention, and the encoder-decoder models of notebook 05.

First the NumPy references the exercise checkers compare against:

    weights = masked_softmax(scores, mask)                         # padding gets exactly 0
    context, weights = additive_attention(query, keys, mask, W_q, W_k, v)   # Bahdanau et al. 2014
    context, weights = dot_product_attention(query, keys, mask)             # Luong et al. 2015
    logits, h, weights = attention_decoder_step(y, h_prev, keys, mask, ...)  # one decoder step

Shapes: N is the batch size, S the source length (padded), H the size of a vector.
A mask is a bool array, True at real positions and False at padding.
Weights act on the right (query @ W_q, W_q: (Hq, A)); nn.Linear stores the transpose.

Then the same in PyTorch, and the models: a bidirectional GRU encoder, and a GRU
decoder that reads either the encoder's last state only or, at every step, an
attention-weighted summary of all the encoder's states.
"""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import translation as tr

# ---------------------------------------------------------------------------
# NumPy references


def masked_softmax(scores, mask, axis=-1):
    """Softmax of `scores` along `axis`, over the positions where `mask` is True only.

    scores: any shape, finite numbers or -inf; mask: same shape, bool.
    Masked positions get exactly 0, whatever their score (even huge or -inf). A slice
    with no usable position (all masked, or all -inf) gets all zeros, not NaN.
    """
    mask = np.asarray(mask, dtype=bool)
    scores = np.where(mask, scores, -np.inf)
    # Subtracting the max keeps exp from overflowing. A slice whose max is -inf has no
    # usable position: subtract 0 there, since -inf - (-inf) would be NaN.
    top = np.max(scores, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    exp = np.exp(scores - top)  # exp(-inf) is exactly 0: padding drops out here
    total = np.sum(exp, axis=axis, keepdims=True)
    return exp / np.where(total > 0, total, 1.0)


def additive_attention(query, keys, mask, W_q, W_k, v):
    """Additive (Bahdanau) attention: score_s = v . tanh(query W_q + key_s W_k).

    query: (N, Hq), one query per example (the decoder state).
    keys:  (N, S, Hk), the encoder states; they are also the values that get averaged.
    mask:  (N, S) bool, True at real source positions.
    W_q: (Hq, A), W_k: (Hk, A), v: (A,).
    Returns context: (N, Hk), the weighted average of the keys, and weights: (N, S).
    """
    hidden = np.tanh((query @ W_q)[:, None, :] + keys @ W_k)  # (N, S, A): query broadcast over S
    scores = hidden @ v                                        # (N, S)
    weights = masked_softmax(scores, mask, axis=-1)
    context = np.einsum("ns,nsh->nh", weights, keys)
    return context, weights


def dot_product_attention(query, keys, mask):
    """Dot-product (Luong) attention: score_s = query . key_s, no parameters.

    query: (N, H), keys: (N, S, H), the same size H; mask: (N, S) bool.
    Returns context: (N, H) and weights: (N, S).
    """
    scores = np.einsum("nh,nsh->ns", query, keys)
    weights = masked_softmax(scores, mask, axis=-1)
    context = np.einsum("ns,nsh->nh", weights, keys)
    return context, weights


def attention_decoder_step(y, h_prev, keys, mask, W_ih, W_hh, b_ih, b_hh, W_out, b_out):
    """One step of a GRU decoder with dot-product attention, as Decoder.step computes it.

    y: (N, D) the embedding of the previous output character, h_prev: (N, H) the decoder's
    previous state, keys: (N, S, H) the encoder outputs, mask: (N, S) bool.
    W_ih: (3H, D + H), W_hh: (3H, H), b_ih, b_hh: (3H,): a GRU in torch's layout (course_lib.gru).
    W_out: (2H, V), b_out: (V,): the output layer, acting on the right.
    Returns logits: (N, V), the new state h: (N, H) and the attention weights: (N, S).
    """
    from .gru import gru_step_forward

    # The previous state asks where to look for the next character (Bahdanau et al.).
    context, weights = dot_product_attention(h_prev, keys, mask)
    # The context goes into the GRU's input, beside the previous character...
    h, _ = gru_step_forward(np.concatenate([y, context], axis=1), h_prev, W_ih, W_hh, b_ih, b_hh)
    # ...and into the output layer, beside the new state.
    logits = np.concatenate([h, context], axis=1) @ W_out + b_out
    return logits, h, weights


# ---------------------------------------------------------------------------
# PyTorch attention


def masked_softmax_torch(scores, mask, dim=-1):
    """The torch twin of masked_softmax: scores, mask (bool) of the same shape."""
    scores = scores.masked_fill(~mask, float("-inf"))
    # Rows with no real position would be softmax(-inf, ..., -inf) = NaN: give them zeros.
    usable = mask.any(dim=dim, keepdim=True)
    weights = torch.softmax(scores.masked_fill(~usable, 0.0), dim=dim)
    return weights * usable


class AdditiveAttention(nn.Module):
    """Bahdanau attention with learned W_q: (Hq, A), W_k: (Hk, A) and v: (A,)."""

    def __init__(self, query_size, key_size, attention_size):
        super().__init__()
        self.W_q = nn.Linear(query_size, attention_size, bias=False)
        self.W_k = nn.Linear(key_size, attention_size, bias=False)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def forward(self, query, keys, mask):
        """query: (N, Hq), keys: (N, S, Hk), mask: (N, S) -> context (N, Hk), weights (N, S)."""
        scores = self.v(torch.tanh(self.W_q(query)[:, None, :] + self.W_k(keys))).squeeze(-1)
        weights = masked_softmax_torch(scores, mask)
        context = torch.einsum("ns,nsh->nh", weights, keys)
        return context, weights


class DotProductAttention(nn.Module):
    """Luong's dot-product attention; no parameters, so query and keys must have the same size."""

    def forward(self, query, keys, mask):
        """query: (N, H), keys: (N, S, H), mask: (N, S) -> context (N, H), weights (N, S)."""
        scores = torch.einsum("nh,nsh->ns", query, keys)
        weights = masked_softmax_torch(scores, mask)
        context = torch.einsum("ns,nsh->nh", weights, keys)
        return context, weights


# ---------------------------------------------------------------------------
# Encoder and decoder


class Encoder(nn.Module):
    """Characters -> embeddings -> a bidirectional GRU (num_layers stacked).

    Each output concatenates the forward state (which has read the source up to here)
    and the backward state (which has read it from the end back to here).
    """

    def __init__(self, vocab_size, embed_size=16, hidden_size=32, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=tr.PAD)
        self.gru = nn.GRU(embed_size, hidden_size, num_layers=num_layers, batch_first=True,
                          bidirectional=True)
        self.output_size = 2 * hidden_size

    def forward(self, src, src_len):
        """src: (N, S) ids, src_len: (N,) -> outputs (N, S, 2H) and final (N, 2H).

        Packing the batch makes each direction start and stop at the real characters:
        without it, the backward GRU would begin by reading the padding.
        """
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(src), src_len.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        outputs, h_n = self.gru(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=src.shape[1])
        # h_n: (num_layers * 2, N, H); the last two rows are the top layer's forward and backward.
        final = torch.cat([h_n[-2], h_n[-1]], dim=-1)
        return outputs, final


class Decoder(nn.Module):
    """A GRU that writes the target one character at a time.

    At every step it reads the previous character and a context vector, and predicts
    the next character from its new state and the context. The three decoders differ
    only in the context:
      attention=None: always the encoder's final state (Cho et al. 2014). That one
        vector of size 2H must carry the whole date, however long the source.
      attention="additive" or "dot": an average of all the encoder outputs, weighted by
        how well each one matches the decoder's state; it changes at every step.
    """

    def __init__(self, vocab_size, encoder_size, embed_size=16, hidden_size=64, attention=None,
                 attention_size=32):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.init_state = nn.Linear(encoder_size, hidden_size)
        if attention is None:
            self.attention = None
        elif attention == "additive":
            self.attention = AdditiveAttention(hidden_size, encoder_size, attention_size)
        elif attention == "dot":
            if hidden_size != encoder_size:
                raise ValueError(f"dot-product attention needs hidden_size == encoder_size, "
                                 f"got {hidden_size} and {encoder_size}")
            self.attention = DotProductAttention()
        else:
            raise ValueError(f"attention must be None, 'additive' or 'dot', got {attention!r}")
        self.cell = nn.GRUCell(embed_size + encoder_size, hidden_size)
        self.out = nn.Linear(hidden_size + encoder_size, vocab_size)

    def start(self, encoder_final):
        """encoder_final: (N, E) -> the decoder's first state (N, H)."""
        return torch.tanh(self.init_state(encoder_final))

    def step(self, prev_ids, state, encoder_outputs, encoder_final, src_mask):
        """One output character.

        prev_ids: (N,) the previous character (<s> at first), state: (N, H),
        encoder_outputs: (N, S, E), encoder_final: (N, E), src_mask: (N, S).
        Returns logits (N, V), the new state (N, H), and the attention weights (N, S) or None.
        """
        y = self.embed(prev_ids)
        if self.attention is None:
            context, weights = encoder_final, None
        else:
            # As in Bahdanau et al.: the previous state asks where to look for the next character.
            context, weights = self.attention(state, encoder_outputs, src_mask)
        state = self.cell(torch.cat([y, context], dim=-1), state)
        return self.out(torch.cat([state, context], dim=-1)), state, weights


class Seq2Seq(nn.Module):
    """Encoder + decoder. attention: None, "additive" or "dot".

    The decoder's hidden size is the encoder's output size (2 * hidden_size), so that
    the three decoders have the same state size and dot-product scores are defined.
    """

    def __init__(self, attention=None, embed_size=16, hidden_size=32, num_layers=1, attention_size=32):
        super().__init__()
        self.encoder = Encoder(tr.SOURCE_VOCAB.size, embed_size, hidden_size, num_layers)
        self.decoder = Decoder(tr.TARGET_VOCAB.size, self.encoder.output_size, embed_size,
                               self.encoder.output_size, attention, attention_size)

    def forward(self, src, src_len, src_mask, tgt_in):
        """Teacher forcing: the decoder reads the true previous character.

        src, src_mask: (N, S), src_len: (N,), tgt_in: (N, T).
        Returns logits (N, T, V) and attention weights (N, T, S) (None without attention).
        """
        outputs, final = self.encoder(src, src_len)
        state = self.decoder.start(final)
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            step_logits, state, w = self.decoder.step(tgt_in[:, t], state, outputs, final, src_mask)
            logits.append(step_logits)
            weights.append(w)
        return torch.stack(logits, dim=1), _stack_or_none(weights)

    @torch.no_grad()
    def greedy(self, src, src_len, src_mask, max_len=None):
        """Greedy decoding: feed back the model's own most likely character.

        max_len defaults to the longest target of the task (translation.TARGET_LEN).
        Returns ids (N, max_len) and attention weights (N, max_len, S) or None.
        """
        max_len = max_len or tr.TARGET_LEN
        outputs, final = self.encoder(src, src_len)
        state = self.decoder.start(final)
        prev = torch.full((src.shape[0],), tr.START, dtype=torch.long, device=src.device)
        ids, weights = [], []
        for _ in range(max_len):
            step_logits, state, w = self.decoder.step(prev, state, outputs, final, src_mask)
            prev = step_logits.argmax(dim=-1)
            ids.append(prev)
            weights.append(w)
        return torch.stack(ids, dim=1), _stack_or_none(weights)


def _stack_or_none(weights):
    return None if weights[0] is None else torch.stack(weights, dim=1)


# ---------------------------------------------------------------------------
# Training and evaluation


def to_torch(batch, device="cpu"):
    """The arrays of a translation batch (translation.encode_pairs) as torch tensors."""
    return {k: torch.as_tensor(v, device=device) for k, v in batch.items() if isinstance(v, np.ndarray)}


def sequence_loss(logits, tgt_out):
    """Mean cross-entropy per target character (nats), padding ignored.

    logits: (N, T, V), tgt_out: (N, T).
    """
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=tr.PAD)


def translate(model, texts, device="cpu"):
    """Greedy translations of a list of source strings.

    Returns three lists, one entry per text: the output string; the output tokens up to
    and including the first </s> (all of them if it never ends); and the attention
    weights as a NumPy array (len(tokens), len(text)), or None for a model without attention.
    """
    batch = tr.encode_pairs([(text, "") for text in texts])
    t = to_torch(batch, device)
    model.eval()
    ids, weights = model.greedy(t["src"], t["src_len"], t["src_mask"])
    ids = ids.cpu().numpy()
    outputs = [tr.TARGET_VOCAB.decode(row) for row in ids]
    tokens = []
    for row in ids:
        n = int(np.argmax(row == tr.END)) + 1 if np.any(row == tr.END) else len(row)
        tokens.append([tr.TARGET_VOCAB.tokens[i] for i in row[:n]])
    if weights is None:
        return outputs, tokens, [None] * len(texts)
    weights = weights.cpu().numpy()
    return outputs, tokens, [w[:len(tok), :len(text)] for w, tok, text in zip(weights, tokens, texts)]


def exact_matches(model, pairs, device="cpu", batch_size=256):
    """(N,) bool: did the greedy output equal the target exactly, for each (source, target) pair."""
    correct = []
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i:i + batch_size]
        outputs, _, _ = translate(model, [s for s, _ in chunk], device)
        correct += [out == target for out, (_, target) in zip(outputs, chunk)]
    return np.array(correct)


def sequence_accuracy(model, pairs, device="cpu"):
    """The fraction of pairs translated exactly right: one wrong digit makes a date wrong."""
    return float(exact_matches(model, pairs, device).mean())


def accuracy_by_length(correct, lengths, bin_edges):
    """Sequence accuracy in bins of source length.

    correct: (N,) bool, e.g. from exact_matches; lengths: (N,) source lengths.
    bin_edges: increasing lengths; bin i holds the sources with edges[i] <= length < edges[i+1].
    Returns (accuracy per bin, count per bin), as arrays; NaN accuracy for an empty bin.
    """
    correct, lengths = np.asarray(correct), np.asarray(lengths)
    accuracy, counts = [], []
    for lo, hi in zip(bin_edges[:-1], bin_edges[1:]):
        in_bin = (lengths >= lo) & (lengths < hi)
        counts.append(int(in_bin.sum()))
        accuracy.append(float(correct[in_bin].mean()) if in_bin.any() else math.nan)
    return np.array(accuracy), np.array(counts)


def train_seq2seq(model, steps=300, batch_size=32, lr=1e-2, groups=(((1, tr.MAX_DATES), 0),), clip=1.0, seed=0,
                  val_pairs=None, eval_every=100, seconds=None, device="cpu", desc="training",
                  live_plot=True, verbose=True):
    """Train with Adam on fresh random batches, using course_lib.train's loop.

    Every step draws a new batch of dates from the training split, so the model never
    sees the same example twice on purpose. Each example comes from one of the
    (n_dates, n_filler) `groups` (translation.make_mixed_pairs); by default one group,
    1 to MAX_DATES dates without filler.
    The validation loss is measured on `val_pairs` (by default 500 examples of the same
    kind, made from test-split dates, which training never draws) and the weights with
    the best validation loss are loaded back at the end.
    Returns the History.
    """
    from .train import optimizer_step, train_loop

    rng = np.random.default_rng(seed)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if val_pairs is None:
        val_pairs = tr.make_mixed_pairs(np.random.default_rng(seed + 12345), 500, groups, "test")
    val = to_torch(tr.encode_pairs(val_pairs), device)
    best = {"state": copy.deepcopy(model.state_dict()), "loss": math.inf}

    def step_fn(step):
        model.train()
        b = to_torch(tr.encode_pairs(tr.make_mixed_pairs(rng, batch_size, groups, "train")), device)
        logits, _ = model(b["src"], b["src_len"], b["src_mask"], b["tgt_in"])
        loss = sequence_loss(logits, b["tgt_out"])
        optimizer_step(model, optimizer, loss, clip)
        return loss.item()

    def eval_fn():
        model.eval()
        with torch.no_grad():
            logits, _ = model(val["src"], val["src_len"], val["src_mask"], val["tgt_in"])
            loss = sequence_loss(logits, val["tgt_out"]).item()
        if loss < best["loss"]:
            best["loss"], best["state"] = loss, copy.deepcopy(model.state_dict())
        return loss

    history = train_loop(step_fn, eval_fn, steps=steps, seconds=seconds, eval_every=eval_every,
                         desc=desc, live_plot=live_plot, verbose=verbose)
    model.load_state_dict(best["state"])
    history.best_state = best["state"]
    model.eval()
    return history
