"""The notebook-06 checkers accept correct attempts and name each known mistake."""
import numpy as np
import pytest

from course_lib import layers
from course_lib.exercises import check
from course_lib.exercises.nb06_long_dependency import DELAY_MISTAKES, GRADIENT_NORM_MISTAKES


def as_learner(fn):
    """Wrap fn so that the checker treats it as learner code, not course_lib's reference."""
    return lambda *args, **kwargs: fn(*args, **kwargs)


# --- make_delay_batch ----------------------------------------------------------

def delay_batch_with_choice(rng, batch_size, seq_len, delay, vocab_size, ignore_index=-1):
    """Correct, but draws tokens with rng.choice and builds y in a loop."""
    x = rng.choice(vocab_size, size=(batch_size, seq_len))
    y = np.full((batch_size, seq_len), ignore_index)
    for t in range(delay, seq_len):
        y[:, t] = x[:, t - delay]
    return x, y


def delay_batch_slicing(rng, batch_size, seq_len, delay, vocab_size, ignore_index=-1):
    x = rng.integers(0, vocab_size, size=(batch_size, seq_len))
    y = np.full_like(x, ignore_index)
    y[:, delay:] = x[:, :seq_len - delay]
    return x, y


@pytest.mark.parametrize("fn", [delay_batch_with_choice, delay_batch_slicing])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_delay_batches_pass(fn, seed):
    report = check("06.make_delay_batch", fn, seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("mistake", DELAY_MISTAKES, ids=lambda m: m.description)
def test_delay_mistakes_are_recognised(mistake):
    report = check("06.make_delay_batch", as_learner(mistake.fn))
    assert report.status == "failed"
    assert mistake.description in report.message
    assert report.hint == mistake.hint


@pytest.mark.parametrize("bad, expected", [
    (lambda rng, N, T, d, V, ignore_index=-1: (np.zeros((N, T), int), np.full((N, T), ignore_index)),
     "every token of x is the same"),
    (lambda rng, N, T, d, V, ignore_index=-1: (rng.integers(0, V + 1, size=(N, T)), None), "y is a NoneType"),
    (lambda rng, N, T, d, V, ignore_index=-1: delay_batch_slicing(rng, N, T, d, V, ignore_index)[0], "tuple"),
    (lambda rng, N, T, d, V, ignore_index=-1: tuple(a.astype(float) for a in delay_batch_slicing(rng, N, T, d, V, ignore_index)),
     "must be integers"),
    (lambda rng, N, T, d, V, ignore_index=-1: tuple(a.T for a in delay_batch_slicing(rng, N, T, d, V, ignore_index)),
     "has shape"),
])
def test_delay_other_wrong_attempts_fail_with_a_message(bad, expected):
    report = check("06.make_delay_batch", bad)
    assert not report.passed
    assert expected in report.message


def test_delay_stub_is_not_attempted():
    def stub(rng, batch_size, seq_len, delay, vocab_size, ignore_index=-1):
        raise NotImplementedError()
    assert check("06.make_delay_batch", stub).status == "not attempted"


# --- hidden_gradient_norms -----------------------------------------------------

def norms_by_hand(x, h0, Wx, Wh, b, dh_last):
    """Correct, written without rnn_step_backward: the Jacobian product step by step."""
    hs, _ = layers.rnn_forward(x, h0, Wx, Wh, b)
    T = x.shape[1]
    norms, dh = np.zeros(T), dh_last
    for t in range(T - 1, -1, -1):
        norms[t] = np.sqrt((dh ** 2).sum())
        dh = (dh * (1 - hs[:, t] ** 2)) @ Wh.T
    return norms


def norms_with_rnn_backward(x, h0, Wx, Wh, b, dh_last):
    """Correct but slow: dL_T/dh_t is the dh0 of BPTT over the steps after t."""
    hs, _ = layers.rnn_forward(x, h0, Wx, Wh, b)
    T = x.shape[1]
    norms = np.zeros(T)
    for t in range(T):
        suffix = x[:, t + 1:]
        if suffix.shape[1] == 0:
            norms[t] = np.linalg.norm(dh_last)
            continue
        _, cache = layers.rnn_forward(suffix, hs[:, t], Wx, Wh, b)
        dhs = np.zeros(suffix.shape[:2] + (h0.shape[1],))
        dhs[:, -1] = dh_last
        _, dh_t, _, _, _ = layers.rnn_backward(dhs, cache)
        norms[t] = np.linalg.norm(dh_t)
    return norms


@pytest.mark.parametrize("fn", [norms_by_hand, norms_with_rnn_backward])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_gradient_norms_pass(fn, seed):
    report = check("06.hidden_gradient_norms", fn, seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("mistake", GRADIENT_NORM_MISTAKES, ids=lambda m: m.description)
def test_gradient_norm_mistakes_are_recognised(mistake):
    report = check("06.hidden_gradient_norms", as_learner(mistake.fn))
    assert report.status == "failed"
    assert mistake.description in report.message
    assert report.hint == mistake.hint


def test_gradient_norms_match_autograd():
    """The reference agrees with torch autograd on the same RNN."""
    torch = pytest.importorskip("torch")
    from course_lib.exercises.nb06_long_dependency import hidden_gradient_norms

    rng = np.random.default_rng(0)
    N, T, D, H = 2, 7, 3, 4
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(size=(D, H)), rng.normal(size=(H, H)) * 0.6, rng.normal(size=H)
    dh_last = rng.normal(size=(N, H))
    hs = []
    h = torch.tensor(h0, requires_grad=True)
    for t in range(T):
        h = torch.tanh(torch.tensor(x[:, t]) @ torch.tensor(Wx) + h @ torch.tensor(Wh) + torch.tensor(b))
        h.retain_grad()
        hs.append(h)
    (hs[-1] * torch.tensor(dh_last)).sum().backward()
    expected = np.array([np.linalg.norm(h.grad.numpy()) for h in hs])
    np.testing.assert_allclose(hidden_gradient_norms(x, h0, Wx, Wh, b, dh_last), expected, rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delay_batch_from_its_own_generator_fails(seed):
    def attempt(rng, batch_size, seq_len, delay, vocab_size, ignore_index=-1):
        x = np.random.default_rng(0).integers(0, vocab_size, size=(batch_size, seq_len))
        y = np.full_like(x, ignore_index)
        y[:, delay:] = x[:, :seq_len - delay]
        return x, y
    report = check("06.make_delay_batch", attempt, seed=seed)
    assert report.status == "failed" and "does not change with the state of the random generator `rng`" in report.message


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delay_batch_repeating_one_sequence_fails(seed):
    def attempt(rng, batch_size, seq_len, delay, vocab_size, ignore_index=-1):
        x = np.tile(rng.integers(0, vocab_size, size=seq_len), (batch_size, 1))
        y = np.full_like(x, ignore_index)
        y[:, delay:] = x[:, :seq_len - delay]
        return x, y
    report = check("06.make_delay_batch", attempt, seed=seed)
    assert report.status == "failed" and "every row of x is the same sequence" in report.message
