"""Tests of the synthetic task generators in course_lib.tasks."""
import numpy as np
import pytest

from course_lib.tasks import make_adding_batch, make_copy_batch, make_delay_batch


@pytest.mark.parametrize("delay", [0, 1, 5, 19])
def test_delay_targets_are_the_inputs_shifted_by_delay(delay):
    x, y = make_delay_batch(np.random.default_rng(0), 8, 20, delay, vocab_size=5)
    assert x.shape == y.shape == (8, 20)
    assert x.min() >= 0 and x.max() < 5
    assert (y[:, :delay] == -1).all()
    np.testing.assert_array_equal(y[:, delay:], x[:, :20 - delay])
    for t in range(delay, 20):  # the definition, written out once
        np.testing.assert_array_equal(y[:, t], x[:, t - delay])


def test_delay_respects_ignore_index_and_long_delays():
    x, y = make_delay_batch(np.random.default_rng(1), 4, 10, 3, vocab_size=4, ignore_index=-100)
    assert (y[:, :3] == -100).all() and (y[:, 3:] >= 0).all()
    _, y = make_delay_batch(np.random.default_rng(1), 4, 10, 12, vocab_size=4)
    assert (y == -1).all()  # nothing to recall inside the sequence


def test_delay_batches_are_fresh_and_seeded():
    rng = np.random.default_rng(0)
    a, _ = make_delay_batch(rng, 16, 30, 5, 8)
    b, _ = make_delay_batch(rng, 16, 30, 5, 8)
    assert not np.array_equal(a, b)  # a new batch on every call
    c, _ = make_delay_batch(np.random.default_rng(0), 16, 30, 5, 8)
    np.testing.assert_array_equal(a, c)  # the same seed, the same batch
    counts = np.bincount(make_delay_batch(rng, 200, 50, 5, 8)[0].ravel(), minlength=8)
    assert counts.min() > 0.8 * counts.mean()  # roughly uniform: chance is 1 / V


def test_adding_batch():
    rng = np.random.default_rng(0)
    x, y = make_adding_batch(rng, 500, 50)
    assert x.shape == (500, 50, 2) and y.shape == (500,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    markers = x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :25].sum(axis=1) == 1).all() and (markers[:, 25:].sum(axis=1) == 1).all()
    np.testing.assert_allclose((x[..., 0] * markers).sum(axis=1), y, rtol=1e-6)
    # Always answering 1.0 scores MSE 1/6, up to sampling noise.
    x, y = make_adding_batch(rng, 20000, 50)
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01
    x2, _ = make_adding_batch(rng, 500, 50)
    assert not np.array_equal(x[:500], x2)


def test_copy_batch():
    x, y = make_copy_batch(np.random.default_rng(0), 6, n_symbols=4, delay=7, vocab_size=3)
    T = 2 * 4 + 7 + 1
    assert x.shape == y.shape == (6, T)
    np.testing.assert_array_equal(y[:, -4:], x[:, :4])
    assert (y[:, :-4] == -1).all()
    assert (x[:, 4 + 7] == 4).all()  # the "go" marker
    assert (x[:, 4:4 + 7] == 0).all() and (x[:, -4:] == 0).all()
    assert x[:, :4].min() >= 1 and x[:, :4].max() <= 3
