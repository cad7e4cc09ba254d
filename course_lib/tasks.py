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


def make_hello_batch(rng, batch_size, word="hello"):
    """A batch of the hello task, each row starting at a random rotation of `word`.

    Rotations ("lohel", "ohell", ...) make the model learn transitions rather than
    positions. Returns x: (N, T) and y: (N, T) ids in the vocabulary of `word`.
    """
    vocab = CharVocab(word)
    ids = vocab.encode(word + word)
    starts = rng.integers(0, len(word), size=batch_size)
    T = len(word) - 1
    windows = ids[starts[:, None] + np.arange(T + 1)]
    return windows[:, :-1], windows[:, 1:]
