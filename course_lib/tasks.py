"""Synthetic tasks: small problems with a known answer, made fresh on every call."""
import numpy as np

from .data import CharVocab


def hello_example(word="hello"):
    """The "hello" task: from each character of "hell", predict the next one, "ello".

    Returns the vocabulary (sorted characters of `word`), input ids x: (T,) and
    target ids y: (T,), with T = len(word) - 1.
    """
    vocab = CharVocab(word)
    ids = vocab.encode(word)
    return vocab, ids[:-1], ids[1:]


def make_delay_batch(rng, batch_size, seq_len, delay, vocab_size, ignore_index=-1):
    """The delay task: at step t, output the token that was read at step t - delay.

    Every call draws fresh uniform random tokens, so the model cannot memorise
    sequences: the only way to score is to remember what it saw `delay` steps ago.
    Returns x: (N, T) input ids in [0, vocab_size) and y: (N, T) target ids, with
    y[:, t] = x[:, t - delay] for t >= delay and y[:, t] = ignore_index before that
    (there is nothing to recall yet, so those steps must not count in the loss).
    """
    x = rng.integers(0, vocab_size, size=(batch_size, seq_len))
    y = np.full_like(x, ignore_index)
    if delay < seq_len:
        y[:, delay:] = x[:, :seq_len - delay]
    return x, y


def make_adding_batch(rng, batch_size, seq_len):
    """The adding problem (Hochreiter & Schmidhuber 1997), in its usual modern form.

    Each step reads two numbers: a value drawn uniformly from [0, 1) and a marker.
    Exactly two steps are marked with 1, one in the first half and one in the second
    half; the target is the sum of their two values. Always answering 1.0 (the mean
    of the sum) gives an MSE of Var(U + U') = 2/12 = 0.167: the baseline to beat.
    Returns x: (N, T, 2) float32 with x[..., 0] the values and x[..., 1] the markers,
    and y: (N,) float32 targets.
    """
    values = rng.random((batch_size, seq_len))
    markers = np.zeros((batch_size, seq_len))
    half = seq_len // 2
    rows = np.arange(batch_size)
    first = rng.integers(0, half, size=batch_size)
    second = rng.integers(half, seq_len, size=batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)
    return x, y


def make_copy_batch(rng, batch_size, n_symbols, delay, vocab_size, ignore_index=-1):
    """The copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

    Read `n_symbols` tokens, then `delay` blanks, then a "go" marker; then write the
    tokens back in order while the input is blank. Token ids: 0 is the blank,
    vocab_size + 1 the "go" marker, and the symbols are 1..vocab_size, so the model's
    input vocabulary has vocab_size + 2 entries.
    Returns x: (N, T) and y: (N, T) with T = 2 * n_symbols + delay + 1; y is
    ignore_index everywhere except the last n_symbols steps, which hold the symbols.
    """
    T = 2 * n_symbols + delay + 1
    symbols = rng.integers(1, vocab_size + 1, size=(batch_size, n_symbols))
    x = np.zeros((batch_size, T), dtype=np.int64)
    x[:, :n_symbols] = symbols
    x[:, n_symbols + delay] = vocab_size + 1
    y = np.full((batch_size, T), ignore_index, dtype=np.int64)
    y[:, -n_symbols:] = symbols
    return x, y
