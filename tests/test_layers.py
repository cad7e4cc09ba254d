"""The NumPy layers: every backward pass against centred differences, in float64."""
import math

import numpy as np
import pytest

from course_lib import layers
from course_lib.gradcheck import grad_check, rel_error

TOL = 1e-6  # the bar for a correct backward pass in float64


def random_rnn(rng, N=3, T=5, D=4, H=6):
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(size=(N, H))
    Wx = rng.normal(size=(D, H)) * 0.5
    Wh = rng.normal(size=(H, H)) * 0.5
    b = rng.normal(size=H) * 0.1
    return x, h0, Wx, Wh, b


def test_one_hot():
    out = layers.one_hot(np.array([2, 0, 2]), 4)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 0]])


def test_rnn_step_forward_matches_the_equation():
    rng = np.random.default_rng(0)
    x, h0, Wx, Wh, b = random_rnn(rng)
    h, cache = layers.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    np.testing.assert_allclose(h, np.tanh(x[:, 0] @ Wx + h0 @ Wh + b), rtol=0, atol=1e-15)
    assert cache[-1] is h  # the backward pass reads tanh'(a) = 1 - h^2 from the cache


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rnn_step_backward_grad_check(seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b = random_rnn(rng)
    params = {"x": x[:, 0].copy(), "h_prev": h0, "Wx": Wx, "Wh": Wh, "b": b}
    dh = rng.normal(size=h0.shape)

    def loss():  # the scalar whose gradient with respect to h is dh
        h, _ = layers.rnn_step_forward(*params.values())
        return float(np.sum(h * dh))

    _, cache = layers.rnn_step_forward(*params.values())
    grads = dict(zip(params, layers.rnn_step_backward(dh, cache)))
    errors = grad_check(loss, params, grads, num_checks=30, rng=rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rnn_backward_grad_check(seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b = random_rnn(rng, N=2, T=7)
    params = {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b}
    dhs = rng.normal(size=(2, 7, h0.shape[1]))

    def loss():
        hs, _ = layers.rnn_forward(*params.values())
        return float(np.sum(hs * dhs))

    _, cache = layers.rnn_forward(*params.values())
    grads = dict(zip(params, layers.rnn_backward(dhs, cache)))
    errors = grad_check(loss, params, grads, num_checks=40, rng=rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("seed", [0, 1])
def test_temporal_affine_grad_check(seed):
    rng = np.random.default_rng(seed)
    params = {"x": rng.normal(size=(3, 4, 5)), "W": rng.normal(size=(5, 7)), "b": rng.normal(size=7)}
    dout = rng.normal(size=(3, 4, 7))

    def loss():
        out, _ = layers.temporal_affine_forward(*params.values())
        return float(np.sum(out * dout))

    out, cache = layers.temporal_affine_forward(*params.values())
    np.testing.assert_allclose(out[1, 2], params["x"][1, 2] @ params["W"] + params["b"], atol=1e-12)
    grads = dict(zip(params, layers.temporal_affine_backward(dout, cache)))
    errors = grad_check(loss, params, grads, num_checks=30, rng=rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_cross_entropy_grad_check(seed):
    rng = np.random.default_rng(seed)
    N, T, V = 3, 4, 6
    params = {"logits": rng.normal(size=(N, T, V))}
    y = rng.integers(0, V, size=(N, T))
    y[0, 1] = y[2, 3] = -1  # ignored positions

    def loss():
        return layers.softmax_cross_entropy(params["logits"], y)[0]

    _, dlogits = layers.softmax_cross_entropy(params["logits"], y)
    assert np.all(dlogits[0, 1] == 0) and np.all(dlogits[2, 3] == 0)
    errors = grad_check(loss, params, {"logits": dlogits}, num_checks=N * T * V, rng=rng)
    assert errors["logits"] < TOL, errors


def test_softmax_cross_entropy_by_hand():
    # Two positions, the second ignored: the loss is -log softmax(logits[0])[y[0]], no mean with it.
    logits = np.array([[[1.0, 2.0, 3.0], [5.0, 0.0, 0.0]]])
    y = np.array([[0, -1]])
    loss, _ = layers.softmax_cross_entropy(logits, y)
    assert loss == pytest.approx(-math.log(math.exp(1) / (math.exp(1) + math.exp(2) + math.exp(3))))


def test_softmax_cross_entropy_uniform_scores_give_log_V():
    V = 75
    loss, _ = layers.softmax_cross_entropy(np.zeros((2, 3, V)), np.zeros((2, 3), dtype=int))
    assert loss == pytest.approx(math.log(V), abs=1e-12)


def test_softmax_cross_entropy_is_stable_on_large_logits():
    logits = np.array([[[1000.0, 0.0, -1000.0], [800.0, 801.0, 0.0]]])
    loss, dlogits = layers.softmax_cross_entropy(logits, np.array([[0, 0]]))
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
    # Position 0 is certain and right (loss 0); position 1 is -log sigmoid(-1) = log(1 + e).
    assert loss == pytest.approx(math.log(1 + math.e) / 2, abs=1e-12)


def test_softmax_cross_entropy_all_ignored_is_zero():
    loss, dlogits = layers.softmax_cross_entropy(np.ones((1, 2, 3)), np.full((1, 2), -1))
    assert loss == 0.0 and not dlogits.any()


def test_softmax_cross_entropy_keeps_float32():
    loss, dlogits = layers.softmax_cross_entropy(np.zeros((1, 2, 3), np.float32), np.zeros((1, 2), int))
    assert dlogits.dtype == np.float32


def test_grad_check_catches_a_wrong_gradient():
    # A test of the tester: a gradient 1% off must show up far above the threshold.
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=5)}

    def loss():
        return float(np.sum(params["w"] ** 3))

    right = {"w": 3 * params["w"] ** 2}
    wrong = {"w": 1.01 * right["w"]}
    assert grad_check(loss, params, right)["w"] < TOL
    assert grad_check(loss, params, wrong)["w"] > 1e-3


def test_grad_check_restores_params():
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 4))}
    before = params["w"].copy()
    grad_check(lambda: float(np.sum(params["w"] ** 2)), params, {"w": 2 * params["w"]})
    np.testing.assert_array_equal(params["w"], before)


def test_rel_error():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    assert rel_error(0.0, 0.0) == 0.0


# --- numpy_lm: the fast batched model computes what the layers compute ---------------

from course_lib.numpy_lm import CharRNN, evaluate, recurrence_backward, recurrence_forward  # noqa: E402


def test_fast_recurrence_equals_rnn_forward_backward():
    rng = np.random.default_rng(0)
    x, h0, Wx, Wh, b = random_rnn(rng, N=3, T=6)
    dhs = rng.normal(size=(3, 6, h0.shape[1]))
    hs, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = layers.rnn_backward(dhs, cache)

    xw = (x @ Wx + b).transpose(1, 0, 2).copy()  # time-major
    hs_fast = recurrence_forward(xw, h0, Wh)
    da, dh0_fast = recurrence_backward(dhs.transpose(1, 0, 2).copy(), hs_fast, h0, Wh)
    np.testing.assert_allclose(hs_fast.transpose(1, 0, 2), hs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dh0_fast, dh0, rtol=0, atol=1e-12)
    h_prev = np.concatenate([h0[None], hs_fast[:-1]])
    np.testing.assert_allclose(np.einsum("tnh,tnk->hk", h_prev, da), dWh, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.einsum("ntd,tnh->dh", x, da), dWx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(da.sum(axis=(0, 1)), db, rtol=0, atol=1e-12)
    np.testing.assert_allclose((da @ Wx.T).transpose(1, 0, 2), dx, rtol=0, atol=1e-12)


@pytest.mark.parametrize("embedding_size", [None, 4])
def test_char_rnn_grad_check(embedding_size):
    rng = np.random.default_rng(1)
    V, N, T = 7, 3, 5
    model = CharRNN(V, hidden_size=6, embedding_size=embedding_size, seed=2, dtype=np.float64)
    x, y = rng.integers(0, V, size=(N, T)), rng.integers(0, V, size=(N, T))
    h0 = rng.normal(size=(N, 6)) * 0.5
    loss, grads, _ = model.loss_and_grads(x, y, h0)
    errors = grad_check(lambda: model.loss(x, y, h0)[0], model.params, grads, num_checks=20, rng=rng)
    assert max(errors.values()) < TOL, errors


def test_char_rnn_equals_the_layers():
    # One-hot model, float64: its loss is what one_hot + rnn_forward + affine + loss give.
    rng = np.random.default_rng(3)
    V, N, T, H = 6, 2, 4, 5
    model = CharRNN(V, H, seed=0, dtype=np.float64)
    p = model.params
    x, y, h0 = rng.integers(0, V, size=(N, T)), rng.integers(0, V, size=(N, T)), rng.normal(size=(N, H))
    hs, _ = layers.rnn_forward(layers.one_hot(x, V), h0, p["Wx"], p["Wh"], p["b"])
    logits, _ = layers.temporal_affine_forward(hs, p["Wy"], p["by"])
    expected, _ = layers.softmax_cross_entropy(logits, y)
    loss, h_last = model.loss(x, y, h0)
    assert loss == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(h_last, hs[:, -1], atol=1e-12)


def test_char_rnn_initial_loss_is_about_log_V():
    V = 75
    model = CharRNN(V, 64)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, V, size=(8, 20)), rng.integers(0, V, size=(8, 20))
    loss, _ = model.loss(x, y, model.initial_state(8))
    assert abs(loss - math.log(V)) < 0.1


def test_char_rnn_learns_a_repeated_word():
    # A loss that can fail: after 150 Adam steps on "hello world " repeated, the model
    # must predict the text far better than uniform (ln 8 = 2.08 nats) and sample it back.
    from course_lib.data import CharVocab
    from course_lib.numpy_lm import train_numpy_lm

    text = "hello world " * 200
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    model = CharRNN(vocab.size, 32, seed=0)
    history = train_numpy_lm(model, ids[:2000], ids[2000:], steps=150, batch_size=8, seq_len=12,
                             lr=1e-2, eval_every=50, live_plot=False, verbose=False)
    assert history.best_val_loss < 0.2
    # The best checkpoint is the one put back in the model.
    assert evaluate(model, ids[2000:]) == pytest.approx(history.best_val_loss, abs=1e-6)
    sample = vocab.decode(model.sample(vocab.encode("hello "), 12, temperature=0.5))
    assert "world" in sample


# --- the benchmark's min-char-rnn baseline is a correct RNN too ----------------------

def load_min_char_rnn():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "min_char_rnn.py"
    spec = importlib.util.spec_from_file_location("min_char_rnn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_min_char_rnn_baseline_gradients_and_loss():
    # A fair comparison needs a correct baseline: its gradients pass the same check as
    # ours, and as a CharRNN it gives the same loss.
    baseline = load_min_char_rnn().MinCharRNN(vocab_size=7, hidden_size=5, seed=0)
    rng = np.random.default_rng(0)
    for p in baseline.params.values():
        p += rng.normal(size=p.shape) * 0.3  # away from the tiny initial weights
    inputs, targets = list(rng.integers(0, 7, size=9)), list(rng.integers(0, 7, size=9))
    hprev = rng.normal(size=(5, 1)) * 0.5
    loss, grads, _ = baseline.loss_fun(inputs, targets, hprev)
    assert max(float(np.abs(g).max()) for g in grads.values()) < 5  # clipping did nothing here
    errors = grad_check(lambda: baseline.loss_fun(inputs, targets, hprev)[0], baseline.params, grads,
                        num_checks=15, rng=rng)
    assert max(errors.values()) < TOL, errors

    model = baseline.as_char_rnn()
    mean_loss, _ = model.loss(np.array([inputs]), np.array([targets]), hprev.T)
    assert mean_loss == pytest.approx(loss / len(inputs), abs=1e-12)
