"""The pretrained character LSTM shipped in data/, saved as plain NumPy arrays.

    model, vocab, info = load_checkpoint()          # data/alice_lstm.npz, made by
                                                    # scripts/train_checkpoint.py
    save_checkpoint(path, model, vocab, info)

The file is an .npz (a zip of .npy arrays) read with allow_pickle=False, so loading it
runs no code from the file: the weights, the model's settings (JSON text) and the
vocabulary's characters are plain data.
"""
import json
import zipfile
from pathlib import Path

import numpy as np

from .data import DATA_DIR, CharVocab

CHECKPOINT_PATH = DATA_DIR / "alice_lstm.npz"
CONFIG_KEYS = ("vocab_size", "hidden_size", "cell", "embedding_dim", "num_layers", "dropout")
RESTORE_HINT = "Restore it with `git checkout -- data/`, or make it again with `python scripts/train_checkpoint.py`."


def model_config(model):
    """The CharRNN settings that rebuild `model`'s shape, as a JSON-friendly dict."""
    embedding_dim = None if model.embedding is None else model.embedding.embedding_dim
    return {"vocab_size": model.vocab_size, "hidden_size": model.hidden_size, "cell": model.cell,
            "embedding_dim": embedding_dim, "num_layers": model.num_layers, "dropout": model.drop.p}


def save_checkpoint(path, model, vocab, info=None, dtype=np.float16):
    """Write `model`'s weights (as `dtype`, float16 by default: half the size of float32,
    and the loss it costs is measured by whoever evaluates the loaded file), its settings,
    the vocabulary and `info` (a JSON-friendly dict, e.g. how it was trained) to `path`."""
    arrays = {f"param/{name}": tensor.detach().cpu().numpy().astype(dtype)
              for name, tensor in model.state_dict().items()}
    arrays["config"] = np.array(json.dumps(model_config(model)))
    arrays["chars"] = np.array(json.dumps(vocab.chars))
    arrays["info"] = np.array(json.dumps(info or {}))
    np.savez_compressed(path, **arrays)


def load_checkpoint(path=None, device="cpu"):
    """Rebuild the CharRNN saved at `path` (default: data/alice_lstm.npz), in eval mode.

    Returns (model, vocab, info). Raises FileNotFoundError when the file is missing and
    ValueError, saying what is wrong, when it is corrupt or does not describe a CharRNN.
    """
    import torch

    from .models import CharRNN

    path = Path(path or CHECKPOINT_PATH)
    if not path.exists():
        raise FileNotFoundError(f"the pretrained model should be at {path}, but that file is missing. {RESTORE_HINT}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {key: archive[key] for key in archive.files}  # reading checks each array's CRC
        config = json.loads(str(contents.pop("config")))
        chars = json.loads(str(contents.pop("chars")))
        info = json.loads(str(contents.pop("info")))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as err:
        raise ValueError(f"{path} is not a readable checkpoint ({type(err).__name__}: {err}). {RESTORE_HINT}") from None
    if sorted(config) != sorted(CONFIG_KEYS) or len(chars) != config["vocab_size"]:
        raise ValueError(f"{path} holds settings {config} and {len(chars)} characters, which do not "
                         f"describe a CharRNN. {RESTORE_HINT}")
    model = CharRNN(**config)
    state = {key[len("param/"):]: torch.as_tensor(value.astype(np.float32))
             for key, value in contents.items() if key.startswith("param/")}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: the weights do not fit the model its settings describe ({err}). {RESTORE_HINT}") from None
    vocab = CharVocab("".join(chars))
    if vocab.chars != chars:
        raise ValueError(f"{path}: its characters are not a sorted set of distinct characters. {RESTORE_HINT}")
    return model.to(device).eval(), vocab, info


def validation_bits(model, vocab, corpus="alice", batch_size=32, seq_len=100):
    """The model's loss on the corpus's validation split (the last 10%, as in every
    notebook), in bits/char: read once in order, the state carried from chunk to chunk."""
    from .data import load_text, train_val_split
    from .train import bits, evaluate_torch_lm

    _, val_ids = train_val_split(vocab.encode(load_text(corpus)), val_fraction=0.1)
    device = next(model.parameters()).device
    return bits(evaluate_torch_lm(model, val_ids, batch_size=batch_size, seq_len=seq_len, device=device))
