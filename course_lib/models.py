"""A character-level language model in PyTorch, for training the cells we built by hand.

    model = CharRNN(vocab.size, 256, cell="gru")
    logits, state = model(x)                 # x: (N, T) ids -> logits: (N, T, V)
    ids = model.generate(vocab.encode("Alice"), 200, temperature=0.8, top_k=10)

The recurrent layer is torch.nn.RNN, nn.GRU or nn.LSTM, so its weights have the same
layout as course_lib's NumPy cells (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0)
and copy over both ways with `numpy_weights` / `load_numpy_weights`.

Sampling is three small filters on the logits of the next character, applied in order:
temperature, then top-k, then top-p (nucleus).
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class CharRNN(nn.Module):
    """Characters in, next-character logits out.

    vocab_size:    V, the number of distinct characters.
    hidden_size:   H, the size of each recurrent layer's state.
    cell:          "rnn" (tanh Elman RNN), "gru" or "lstm".
    embedding_dim: E; None feeds one-hot vectors (E = V), as in the NumPy notebooks.
    num_layers:    stacked recurrent layers.
    dropout:       on the output of every recurrent layer (between layers and before the
                   decoder); 0 turns it off.
    tie_weights:   share the decoder's (V, H) weight with the (V, E) embedding, which
                   needs E == H (Press & Wolf 2017). It saves V*H parameters.
    """

    def __init__(self, vocab_size, hidden_size, cell="rnn", embedding_dim=None, num_layers=1,
                 dropout=0.0, tie_weights=False):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if tie_weights and embedding_dim != hidden_size:
            raise ValueError("tie_weights shares the embedding with the decoder, so it needs "
                             f"embedding_dim == hidden_size; got {embedding_dim} and {hidden_size}")
        self.vocab_size, self.hidden_size, self.cell = vocab_size, hidden_size, cell
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, embedding_dim) if embedding_dim else None
        input_size = embedding_dim or vocab_size
        # torch applies `dropout` between stacked layers only; self.drop adds it after the top one.
        self.rnn = CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight

    def forward(self, x, state=None):
        """x: (N, T) int64 ids; state: None (zeros) or the state returned by the last call.

        Returns logits: (N, T, V) and the new state: h (L, N, H) for "rnn" and "gru",
        the pair (h, c) for "lstm".
        """
        if self.embedding is None:
            inputs = F.one_hot(x, self.vocab_size).to(self.decoder.weight.dtype)
        else:
            inputs = self.embedding(x)
        hs, state = self.rnn(inputs, state)
        return self.decoder(self.drop(hs)), state

    @torch.no_grad()
    def generate(self, prime_ids, length, temperature=1.0, top_k=None, top_p=None, generator=None):
        """Sample `length` new characters after `prime_ids`, one at a time.

        prime_ids: a non-empty sequence of ids (list, NumPy array or 1-D tensor).
        generator: a torch.Generator (on the CPU) for reproducible samples.
        Returns the `length` new ids as a list of ints (the prime is not repeated).
        """
        prime = torch.as_tensor(np.asarray(prime_ids), dtype=torch.long).reshape(1, -1)
        if prime.shape[1] == 0:
            raise ValueError("generate needs at least one prime character")
        was_training = self.training
        self.eval()  # no dropout while sampling
        device = self.decoder.weight.device
        # The prime goes through in one call; its last logits predict the first new character.
        logits, state = self(prime.to(device))
        out = []
        for _ in range(length):
            next_id = sample_next(logits[0, -1], temperature, top_k, top_p, generator)
            out.append(next_id)
            logits, state = self(torch.tensor([[next_id]], device=device), state)
        self.train(was_training)
        return out


# ---------------------------------------------------------------------------
# Sampling


def apply_temperature(logits, temperature):
    """logits: (..., V) -> logits / temperature. Below 1 sharpens, above 1 flattens.

    temperature 0 means greedy: the top logit stays and every other becomes -inf.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        top = logits.argmax(dim=-1, keepdim=True)
        return torch.full_like(logits, float("-inf")).scatter(-1, top, logits.gather(-1, top))
    return logits / temperature


def top_k_filter(logits, k):
    """logits: (..., V) -> the same with all but the k largest set to -inf.

    Ties at the k-th value are all kept, so a few more than k may survive.
    """
    if k is None or k >= logits.shape[-1]:
        return logits
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}")
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def top_p_filter(logits, p):
    """logits: (..., V) -> the same with -inf outside the nucleus (Holtzman et al. 2020).

    The nucleus is the smallest set of most likely characters whose probabilities sum
    to at least p. The most likely character is always kept, so p near 0 is greedy.
    """
    if p is None or p >= 1.0:
        return logits
    if p <= 0:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    # Drop a character when the ones more likely than it already reach p.
    drop_sorted = (cumulative - sorted_logits.softmax(dim=-1)) >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """logits: (V,) scores of the next character -> one sampled id (an int)."""
    logits = top_p_filter(top_k_filter(apply_temperature(logits.float(), temperature), top_k), top_p)
    # Sample on the CPU so that a CPU torch.Generator gives the same text on any device.
    probs = logits.softmax(dim=-1).cpu()
    return int(torch.multinomial(probs, 1, generator=generator))


# ---------------------------------------------------------------------------
# Bookkeeping


def count_parameters(model):
    """The number of trainable parameters; a tied weight counts once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def numpy_weights(rnn, layer=0, dtype=np.float64):
    """One layer's weights of a torch nn.RNN / nn.GRU / nn.LSTM as NumPy arrays.

    Returns (weight_ih, weight_hh, bias_ih, bias_hh) in torch's layout: weight_ih is
    (G*H, D) with G = 1, 3 or 4 gates, weight_hh (G*H, H), the biases (G*H,).
    For course_lib.layers' vanilla RNN, Wx = weight_ih.T, Wh = weight_hh.T, b = bias_ih + bias_hh.
    """
    names = [f"{kind}_l{layer}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return tuple(getattr(rnn, name).detach().cpu().numpy().astype(dtype) for name in names)


def load_numpy_weights(rnn, weight_ih, weight_hh, bias_ih, bias_hh, layer=0):
    """Copy NumPy arrays (torch's layout, see numpy_weights) into one layer of a torch RNN."""
    with torch.no_grad():
        for kind, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                               (weight_ih, weight_hh, bias_ih, bias_hh)):
            param = getattr(rnn, f"{kind}_l{layer}")
            if param.shape != value.shape:
                raise ValueError(f"{kind}_l{layer} has shape {tuple(param.shape)}, got {value.shape}")
            param.copy_(torch.as_tensor(value, dtype=param.dtype))
