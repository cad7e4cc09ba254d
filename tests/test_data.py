import numpy as np
import pytest

from course_lib import data


@pytest.mark.parametrize("name", sorted(data.CORPORA))
def test_registered_corpora_load_and_match_their_sha256(name):
    text = data.load_text(name)
    assert len(text) > 100_000
    assert data.sha256_of(data.corpus_path(name)) == data.CORPORA[name].sha256


def test_alice_has_no_project_gutenberg_header_or_footer():
    text = data.load_text("alice")
    assert "PROJECT GUTENBERG" not in text.upper()
    assert text.rstrip().endswith("THE END")


def test_missing_corpus_gives_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        data.load_text("alice", data_dir=tmp_path)


def test_corrupted_corpus_gives_a_clear_error(tmp_path):
    (tmp_path / "alice.txt").write_text(data.load_text("alice")[:-1], encoding="utf-8")
    with pytest.raises(ValueError, match="corrupted"):
        data.load_text("alice", data_dir=tmp_path)


def test_unknown_corpus_names_the_known_ones():
    with pytest.raises(KeyError, match="alice"):
        data.load_text("war_and_peace")


def test_char_vocab_round_trip_and_one_hot():
    text = data.load_text("alice")[:5000]
    vocab = data.CharVocab(text)
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.max() < vocab.size
    assert vocab.decode(ids) == text
    assert vocab.chars == sorted(vocab.chars)
    oh = vocab.one_hot(ids[:10])
    assert oh.shape == (10, vocab.size)
    assert np.array_equal(oh.argmax(axis=1), ids[:10]) and np.array_equal(oh.sum(axis=1), np.ones(10))


def test_char_vocab_rejects_unknown_characters():
    with pytest.raises(KeyError, match="'z'"):
        data.CharVocab("abc").encode("abz")


def test_train_val_split_keeps_the_tail_for_validation():
    ids = np.arange(100)
    train, val = data.train_val_split(ids, 0.1)
    assert np.array_equal(train, np.arange(90)) and np.array_equal(val, np.arange(90, 100))


def test_random_batch_targets_are_inputs_shifted_by_one():
    ids = np.arange(1000)
    x, y = data.random_batch(ids, 8, 20, np.random.default_rng(0))
    assert x.shape == y.shape == (8, 20)
    assert np.array_equal(y, x + 1)


def test_sequential_batches_cover_the_text_once_in_order():
    ids = np.arange(101)
    batches = list(data.sequential_batches(ids, batch_size=4, seq_len=10))
    x = np.concatenate([bx for bx, _ in batches], axis=1)
    y = np.concatenate([by for _, by in batches], axis=1)
    assert x.shape == (4, 25)
    assert np.array_equal(x.reshape(-1), np.arange(100)) and np.array_equal(y, x + 1)
