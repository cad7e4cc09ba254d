"""A character-level language model in PyTorch, for training the cells we built by hand.

    model = CharRNN(vocab.size, 256, cell="gru")
    logits, state = model(x)                 # x: (N, T) ids -> logits: (N, T, V)
    ids = model.generate(vocab.encode("Alice"), 200, temperature=0.8, top_k=10)

The recurrent layer is torch.nn.RNN, nn.GRU or nn.LSTM, so its weights have the same
layout as course_lib's NumPy cells (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0)
and copy over both ways with `numpy_weights` / `load_numpy_weights`.

Sampling uses course_lib.sampling's NumPy recipes (temperature, top-k, top-p), so the
text generate() writes is drawn exactly as the notebooks' sampling exercises draw it.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import sampling

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

        prime_ids:   a non-empty sequence of ids (list, NumPy array or 1-D tensor).
        temperature: divides the logits; 0 means greedy (always the most likely character).
        top_k/top_p: sample only among the k most likely characters, or the smallest set
                     holding probability p (at most one of the two).
        generator:   a np.random.Generator or an int seed, for reproducible text; None draws
                     a seed from NumPy's global state, which course_lib.setup() seeds.
        Returns the `length` new ids as a list of ints (the prime is not repeated).
        """
        if top_k is not None and top_p is not None:
            raise ValueError("give top_k or top_p, not both")
        prime = torch.as_tensor(np.asarray(prime_ids), dtype=torch.long).reshape(1, -1)
        if prime.shape[1] == 0:
            raise ValueError("generate needs at least one prime character")
        rng = np.random.default_rng(np.random.randint(2**31) if generator is None else generator)
        was_training = self.training
        self.eval()  # no dropout while sampling
        device = self.decoder.weight.device
        # The prime goes through in one call; its last logits predict the first new character.
        logits, state = self(prime.to(device))
        out = []
        for _ in range(length):
            next_logits = logits[0, -1].double().cpu().numpy()
            if temperature == 0:
                next_id = int(np.argmax(next_logits))
            elif top_k is not None:
                next_id = sampling.sample_top_k(next_logits, top_k, temperature, rng)
            elif top_p is not None:
                next_id = sampling.sample_top_p(next_logits, top_p, temperature, rng)
            else:
                next_id = sampling.sample_with_temperature(next_logits, temperature, rng)
            out.append(next_id)
            logits, state = self(torch.tensor([[next_id]], device=device), state)
        self.train(was_training)
        return out


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
