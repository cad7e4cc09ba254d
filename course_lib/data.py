"""Corpora, character vocabularies and batches for language modelling.

Every corpus ships in the repository's `data/` folder; nothing is downloaded.
`load_text` checks each file against the sha256 recorded here, so a truncated
or edited file fails loudly instead of quietly training on the wrong text.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Corpus:
    filename: str
    sha256: str
    description: str


CORPORA = {
    "alice": Corpus(
        "alice.txt",
        "b44b499274ef98e0bc12c190ee08d9c63480b7c96946101a540a0cb24b3a944c",
        "Alice's Adventures in Wonderland, Lewis Carroll (Project Gutenberg #11), ~145k characters",
    ),
    "tinyshakespeare": Corpus(
        "tinyshakespeare.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        "Shakespeare plays as used in char-rnn experiments, ~1.1M characters",
    ),
}


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_path(name, data_dir=None):
    """The path of a registered corpus. Raises KeyError naming the known corpora."""
    if name not in CORPORA:
        raise KeyError(f"unknown corpus {name!r}; the course ships: {', '.join(sorted(CORPORA))}")
    return Path(data_dir or DATA_DIR) / CORPORA[name].filename


def load_text(name, data_dir=None):
    """Read a registered corpus as one string, after checking its sha256."""
    path = corpus_path(name, data_dir)
    if not path.exists():
        raise FileNotFoundError(
            f"corpus {name!r} should be at {path}, but that file is missing. "
            "It ships with the repository: restore it with `git checkout -- data/`."
        )
    actual = sha256_of(path)
    if actual != CORPORA[name].sha256:
        raise ValueError(
            f"corpus {name!r} at {path} is corrupted or was edited: its sha256 is {actual[:12]}..., "
            f"expected {CORPORA[name].sha256[:12]}.... Restore it with `git checkout -- data/`."
        )
    return path.read_text(encoding="utf-8")


class CharVocab:
    """A character-level vocabulary: characters <-> integer ids <-> one-hot vectors.

    The ids are assigned in sorted order, so the same text always gives the same vocabulary.
    """

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    @property
    def size(self):
        return len(self.chars)

    def __repr__(self):
        preview = "".join(self.chars[:40]).replace("\n", "\\n")
        return f"CharVocab(size={self.size}, chars={preview!r}{'...' if self.size > 40 else ''})"

    def encode(self, text):
        """text: str of length T -> ids: (T,) int64."""
        try:
            return np.array([self.index[ch] for ch in text], dtype=np.int64)
        except KeyError as err:
            raise KeyError(f"character {err.args[0]!r} is not in this vocabulary") from None

    def decode(self, ids):
        """ids: (T,) ints -> str of length T."""
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))

    def one_hot(self, ids, dtype=np.float64):
        """ids: (...) ints -> (..., V) one-hot."""
        ids = np.asarray(ids)
        out = np.zeros(ids.shape + (self.size,), dtype=dtype)
        np.put_along_axis(out, ids[..., None], 1, axis=-1)
        return out


def train_val_split(ids, val_fraction=0.1):
    """Split a 1-D id array into (train, val), keeping the last `val_fraction` for validation.

    A contiguous tail, not a random sample: random windows would overlap the training
    text and the validation loss would flatter the model.
    """
    ids = np.asarray(ids)
    n_val = max(1, int(len(ids) * val_fraction))
    return ids[:-n_val], ids[-n_val:]


def random_batch(ids, batch_size, seq_len, rng):
    """Sample `batch_size` random windows for next-character prediction.

    ids: (L,) ints. Returns x: (N, T) and y: (N, T) with y[:, t] = x[:, t + 1].
    """
    starts = rng.integers(0, len(ids) - seq_len - 1, size=batch_size)
    offsets = np.arange(seq_len + 1)
    windows = np.asarray(ids)[starts[:, None] + offsets]
    return windows[:, :-1], windows[:, 1:]


def sequential_batches(ids, batch_size, seq_len):
    """Yield (x, y) batches that cover `ids` once, in order, for evaluation.

    The text is cut into `batch_size` parallel streams; batch k holds the k-th chunk of
    every stream, so a model can carry its hidden state from one batch to the next.
    ids: (L,) ints. Yields x: (N, T), y: (N, T).
    """
    ids = np.asarray(ids)
    stream_len = (len(ids) - 1) // batch_size
    if stream_len < 1:
        raise ValueError(f"{len(ids)} ids are too few for batch_size={batch_size}")
    x_all = ids[: stream_len * batch_size].reshape(batch_size, stream_len)
    y_all = ids[1 : stream_len * batch_size + 1].reshape(batch_size, stream_len)
    for start in range(0, stream_len, seq_len):
        yield x_all[:, start : start + seq_len], y_all[:, start : start + seq_len]
