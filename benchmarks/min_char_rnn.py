"""A min-char-rnn style baseline, in our own code: one sequence at a time, column vectors.

The same recipe as karpathy's min-char-rnn.py (2015): batch 1, 100 hidden units,
sequences of 25 characters, Adagrad with learning rate 0.1, gradients clipped
entry by entry to [-5, 5], weights drawn from N(0, 0.01^2), and the hidden state
carried from one chunk to the next as the pointer walks through the text.
Used by rnn_vs_min_char.py as the baseline to beat.

    python benchmarks/min_char_rnn.py --seconds 60
"""
import argparse
import time

import numpy as np

from course_lib.data import CharVocab, load_text, train_val_split
from course_lib.numpy_lm import CharRNN, evaluate


class MinCharRNN:
    """Parameters in min-char-rnn's layout: Wxh (H, V), Whh (H, H), Why (V, H), bh (H, 1), by (V, 1)."""

    def __init__(self, vocab_size, hidden_size=100, seed=0):
        rng = np.random.default_rng(seed)
        V, H = vocab_size, hidden_size
        self.params = {
            "Wxh": rng.normal(size=(H, V)) * 0.01,
            "Whh": rng.normal(size=(H, H)) * 0.01,
            "Why": rng.normal(size=(V, H)) * 0.01,
            "bh": np.zeros((H, 1)),
            "by": np.zeros((V, 1)),
        }
        self.memory = {k: np.zeros_like(v) for k, v in self.params.items()}  # Adagrad's sums

    def loss_fun(self, inputs, targets, hprev):
        """inputs, targets: lists of T ids; hprev: (H, 1). Returns loss (summed over T), grads, h_last."""
        Wxh, Whh, Why, bh, by = (self.params[k] for k in ("Wxh", "Whh", "Why", "bh", "by"))
        V = Wxh.shape[1]
        xs, hs, ps = {}, {-1: hprev}, {}
        loss = 0.0
        for t in range(len(inputs)):
            xs[t] = np.zeros((V, 1))
            xs[t][inputs[t]] = 1
            hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
            ys = Why @ hs[t] + by
            ps[t] = np.exp(ys - ys.max()) / np.sum(np.exp(ys - ys.max()))
            loss += -np.log(ps[t][targets[t], 0])
        grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(len(inputs))):
            dy = ps[t].copy()
            dy[targets[t]] -= 1
            grads["Why"] += dy @ hs[t].T
            grads["by"] += dy
            dh = Why.T @ dy + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            grads["bh"] += dhraw
            grads["Wxh"] += dhraw @ xs[t].T
            grads["Whh"] += dhraw @ hs[t - 1].T
            dhnext = Whh.T @ dhraw
        for g in grads.values():
            np.clip(g, -5, 5, out=g)  # min-char-rnn clips entry by entry
        return loss, grads, hs[len(inputs) - 1]

    def adagrad_step(self, grads, lr=0.1):
        for k, p in self.params.items():
            self.memory[k] += grads[k] * grads[k]
            p -= lr * grads[k] / np.sqrt(self.memory[k] + 1e-8)

    def as_char_rnn(self):
        """The same network as a course_lib CharRNN (float64), to evaluate it the same way as ours."""
        V = self.params["Wxh"].shape[1]
        model = CharRNN(V, self.params["Whh"].shape[0], dtype=np.float64)
        model.params = {"Wx": self.params["Wxh"].T.copy(), "Wh": self.params["Whh"].T.copy(),
                        "b": self.params["bh"][:, 0].copy(), "Wy": self.params["Why"].T.copy(),
                        "by": self.params["by"][:, 0].copy()}
        return model


def train_min_char_rnn(train_ids, vocab_size, seconds=60.0, hidden_size=100, seq_length=25,
                       lr=0.1, seed=0):
    """Train for `seconds` of wall clock, min-char-rnn's way. Returns (model, stats dict)."""
    model = MinCharRNN(vocab_size, hidden_size, seed)
    smooth_loss = np.log(vocab_size)  # per character, in nats
    pointer, iterations = 0, 0
    hprev = np.zeros((hidden_size, 1))
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if pointer + seq_length + 1 >= len(train_ids):
            pointer, hprev = 0, np.zeros((hidden_size, 1))  # back to the start of the text
        inputs = train_ids[pointer:pointer + seq_length]
        targets = train_ids[pointer + 1:pointer + seq_length + 1]
        loss, grads, hprev = model.loss_fun(inputs, targets, hprev)
        # min-char-rnn's smoothing, per character rather than per chunk.
        smooth_loss = 0.999 * smooth_loss + 0.001 * loss / seq_length
        model.adagrad_step(grads, lr)
        pointer += seq_length
        iterations += 1
    elapsed = time.perf_counter() - start
    return model, {"iterations": iterations, "seconds": elapsed, "chars": iterations * seq_length,
                   "smooth_train_loss": float(smooth_loss)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--corpus", default="alice")
    args = parser.parse_args()
    text = load_text(args.corpus)
    vocab = CharVocab(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), 0.1)
    model, stats = train_min_char_rnn(train_ids, vocab.size, seconds=args.seconds)
    val = evaluate(model.as_char_rnn(), val_ids)
    print(f"min-char-rnn style: {stats['iterations']} iterations in {stats['seconds']:.1f} s "
          f"({stats['iterations'] / stats['seconds']:.0f} it/s), smoothed training loss "
          f"{stats['smooth_train_loss']:.3f} nats/char, validation {val:.3f} nats/char "
          f"= {val / np.log(2):.3f} bits/char")


if __name__ == "__main__":
    main()
