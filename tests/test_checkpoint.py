"""The shipped pretrained LSTM (data/alice_lstm.npz): it loads, it is as good as the course
says, and a missing, corrupt or mismatched file fails with a clear message."""
import json

import numpy as np
import pytest
import torch

from course_lib.checkpoint import CHECKPOINT_PATH, load_checkpoint, save_checkpoint, validation_bits
from course_lib.data import CharVocab, load_text
from course_lib.models import CharRNN


from course_lib.baselines import NOTEBOOK_01_VAL_BITS as NOTEBOOK_01_BITS  # the bar every later model must clear


@pytest.fixture(scope="module")
def shipped():
    model, vocab, info = load_checkpoint()
    val_bits = validation_bits(model, vocab)
    print(f"shipped checkpoint: {val_bits:.4f} validation bits/char on Alice")
    return model, vocab, info, val_bits


def test_shipped_checkpoint_is_an_alice_lstm(shipped):
    model, vocab, info, _ = shipped
    assert vocab.chars == CharVocab(load_text("alice")).chars
    assert model.cell == "lstm" and info["corpus"] == "alice"


def test_shipped_checkpoint_beats_notebook_01(shipped):
    """The figure notebook 04 prints comes from this same evaluation (validation_bits)."""
    assert shipped[3] < NOTEBOOK_01_BITS


def test_shipped_checkpoint_reaches_two_bits_per_char_on_alice(shipped):
    """The course's target, on Alice's validation split (scripts/train_checkpoint.py)."""
    assert shipped[3] <= 2.0


def test_shipped_checkpoint_is_small():
    assert CHECKPOINT_PATH.stat().st_size < 4e6


def tiny_model_and_vocab():
    torch.manual_seed(0)
    vocab = CharVocab("abcde ")
    return CharRNN(vocab.size, 8, cell="lstm", dropout=0.2), vocab


def test_round_trip_keeps_the_predictions(tmp_path):
    model, vocab = tiny_model_and_vocab()
    path = tmp_path / "tiny.npz"
    save_checkpoint(path, model, vocab, {"step": 3})
    loaded, loaded_vocab, info = load_checkpoint(path)
    assert loaded_vocab.chars == vocab.chars and info == {"step": 3}
    assert not loaded.training
    x = torch.randint(0, vocab.size, (2, 9))
    model.eval()
    with torch.no_grad():
        difference = (model(x)[0] - loaded(x)[0]).abs().max().item()
    assert difference < 1e-2  # stored as float16
    assert difference > 0 or all(p.dtype == torch.float32 for p in loaded.parameters())


def test_missing_file_says_how_to_get_it_back(tmp_path):
    with pytest.raises(FileNotFoundError, match="git checkout -- data/"):
        load_checkpoint(tmp_path / "absent.npz")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_corrupt_file_is_a_clear_error(tmp_path, damage):
    model, vocab = tiny_model_and_vocab()
    path = tmp_path / "tiny.npz"
    save_checkpoint(path, model, vocab)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(b"not a zip file at all" * 10)
    else:
        data[len(data) // 3] ^= 0xFF  # one flipped byte inside a compressed array
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checkpoint|do not fit|describe"):
        load_checkpoint(path)


def saved_arrays(tmp_path):
    """A tiny model's checkpoint saved in tmp_path: (its path, its arrays by name)."""
    model, vocab = tiny_model_and_vocab()
    path = tmp_path / "tiny.npz"
    save_checkpoint(path, model, vocab)
    with np.load(path) as archive:
        return path, {key: archive[key] for key in archive.files}


def test_weights_that_do_not_fit_the_settings_are_refused(tmp_path):
    path, arrays = saved_arrays(tmp_path)
    config = json.loads(str(arrays["config"]))
    config["hidden_size"] = 16
    arrays["config"] = np.array(json.dumps(config))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="do not fit"):
        load_checkpoint(path)


def test_pickled_objects_are_not_loaded(tmp_path):
    """allow_pickle=False: an object array in the file is refused, not unpickled."""
    path, arrays = saved_arrays(tmp_path)
    arrays["config"] = np.array([{"vocab_size": 6}], dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path)
