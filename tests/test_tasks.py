"""Tests of the synthetic task generators in course_lib.tasks."""
import numpy as np
import pytest

from course_lib import layers
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


# --- course_lib.memory_tasks: the helpers of notebook 06's experiments -----------

torch = pytest.importorskip("torch")
from course_lib import memory_tasks  # noqa: E402


def test_curriculum_delay_ramps_up_then_holds():
    delays = [memory_tasks.curriculum_delay(s, 100, 20, ramp=0.5) for s in range(1, 101)]
    assert delays[0] == 1 and delays[-1] == 20 and delays[49] == 20
    assert all(a <= b for a, b in zip(delays, delays[1:]))
    assert memory_tasks.curriculum_delay(1, 100, 20, ramp=0) == 20


def test_set_remember_bias_touches_only_the_forget_and_update_gates():
    lstm = memory_tasks.set_remember_bias(torch.nn.LSTM(3, 5), 2.0)
    total = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
    assert torch.allclose(total[5:10], torch.full((5,), 2.0))  # gate order i, f, g, o
    gru = torch.nn.GRU(3, 5)
    before = (gru.bias_ih_l0 + gru.bias_hh_l0).detach().clone()
    after = (memory_tasks.set_remember_bias(gru, 1.5).bias_ih_l0 + gru.bias_hh_l0).detach()
    assert torch.allclose(after[5:10], torch.full((5,), 1.5))  # gate order r, z, n
    assert torch.equal(after[:5], before[:5]) and torch.equal(after[10:], before[10:])


def test_delay_gradient_norms_match_the_numpy_bptt():
    """For a vanilla RNN, the torch step-by-step measurement equals the NumPy reference."""
    from course_lib.exercises.nb06_long_dependency import hidden_gradient_norms

    torch.manual_seed(0)
    model = memory_tasks.delay_model("rnn", 4, 8).double()
    x, y = make_delay_batch(np.random.default_rng(0), 3, 12, 2, 4)
    norms = memory_tasks.delay_gradient_norms(model.float(), x, y)
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    X = np.eye(4)[x]
    hs, _ = layers.rnn_forward(X, np.zeros((3, 8)), p["rnn.weight_ih_l0"].T, p["rnn.weight_hh_l0"].T,
                               p["rnn.bias_ih_l0"] + p["rnn.bias_hh_l0"])
    logits = hs[:, -1] @ p["decoder.weight"].T + p["decoder.bias"]
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    dlogits = (probs - np.eye(4)[y[:, -1]]) / 3          # mean cross-entropy over the batch
    expected = hidden_gradient_norms(X, np.zeros((3, 8)), p["rnn.weight_ih_l0"].T, p["rnn.weight_hh_l0"].T,
                                     p["rnn.bias_ih_l0"] + p["rnn.bias_hh_l0"], dlogits @ p["decoder.weight"])
    np.testing.assert_allclose(norms, expected, rtol=1e-4)
    lstm_norms = memory_tasks.delay_gradient_norms(memory_tasks.delay_model("lstm", 4, 8), x, y)
    assert lstm_norms.shape == (12,) and (lstm_norms > 0).all()


def test_train_delay_learns_a_short_delay_and_scores_fresh_sequences():
    model, acc, history = memory_tasks.train_delay("rnn", 2, seed=0, hidden_size=16, steps=60,
                                                   extra=10, val_size=50, eval_every=30)
    assert history.steps_done == 60 and len(history.val_loss) == 2
    assert acc > 0.6  # chance is 0.25
    # Scored on sequences from another stream: a fresh batch scores about the same.
    x, y = make_delay_batch(np.random.default_rng(123), 50, 12, 2, 4)
    assert abs(memory_tasks.delay_accuracy(model, x, y) - acc) < 0.15


def test_train_adding_and_clipping_runs():
    _, mse, history = memory_tasks.train_adding("lstm", 10, steps=5, hidden_size=8, val_size=20)
    assert np.isfinite(mse) and history.steps_done == 5
    history, grad_norms = memory_tasks.train_rnn_sgd(1.0, steps=5, hidden_size=8, seq_len=12)
    assert grad_norms.shape == (5,) and history.steps_done == 5


def test_adding_sweep_collects_every_cell_length_and_seed():
    results, histories = memory_tasks.adding_sweep(["rnn", "gru"], [4, 6], [0, 1], verbose=False,
                                                   steps=3, hidden_size=4, val_size=10)
    assert sorted(results) == [("gru", 4), ("gru", 6), ("rnn", 4), ("rnn", 6)]
    assert all(len(mses) == 2 and all(np.isfinite(mses)) for mses in results.values())
    assert len(histories) == 8
    table = memory_tasks.adding_table(results, ["rnn", "gru"], [4, 6]).splitlines()
    assert len(table) == 3 and f"{results['gru', 6][1]:.4f}" in table[2]


def test_train_delay_with_plain_sgd_takes_raw_gradient_steps():
    """optimizer='sgd': after one step every weight moved by exactly -lr times its (clipped) gradient."""
    model, _, _ = memory_tasks.train_delay("rnn", 2, seed=0, hidden_size=8, steps=1, extra=4, val_size=5,
                                           eval_every=1, optimizer="sgd", lr=0.1, clip=None, ramp=0)
    torch.manual_seed(0)
    start = memory_tasks.delay_model("rnn", 4, 8, remember_bias=1.0)
    x, y = make_delay_batch(np.random.default_rng(0), 64, 6, 2, 4)
    logits, _ = start(torch.as_tensor(x))
    torch.nn.functional.cross_entropy(logits.reshape(-1, 4), torch.as_tensor(y).reshape(-1), ignore_index=-1).backward()
    for (name, p0), p1 in zip(start.named_parameters(), model.parameters()):
        torch.testing.assert_close(p1.detach(), (p0 - 0.1 * p0.grad).detach(), msg=name)
