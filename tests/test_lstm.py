"""course_lib.lstm against numerical gradients and against torch.nn.LSTM, in float64."""
import numpy as np
import pytest
import torch

from course_lib.lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from course_lib.models import load_numpy_weights, numpy_weights


def random_lstm(rng, N, T, D, H, dtype=np.float64):
    x = rng.normal(size=(N, T, D))
    h0, c0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    weights = (rng.normal(size=(4 * H, D)) * 0.5, rng.normal(size=(4 * H, H)) * 0.5,
               rng.normal(size=4 * H) * 0.5, rng.normal(size=4 * H) * 0.5)
    return [a.astype(dtype) for a in (x, h0, c0, *weights)]


def numerical_gradient(f, array, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of `array`."""
    grad = np.zeros_like(array)
    it = np.nditer(array, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = array[idx]
        array[idx] = old + eps
        plus = f()
        array[idx] = old - eps
        minus = f()
        array[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


def test_step_gradients_match_numerical():
    rng = np.random.default_rng(0)
    x, h0, c0, W_ih, W_hh, b_ih, b_hh = random_lstm(rng, 3, 1, 4, 5)
    x = x[:, 0]
    dh, dc = rng.normal(size=h0.shape), rng.normal(size=c0.shape)
    inputs = [x, h0, c0, W_ih, W_hh, b_ih, b_hh]

    def loss():
        h, c, _ = lstm_step_forward(*inputs)
        return np.sum(h * dh) + np.sum(c * dc)

    _, _, cache = lstm_step_forward(*inputs)
    grads = lstm_step_backward(dh, dc, cache)  # dx, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh
    for array, grad in zip(inputs, grads):
        assert rel_error(numerical_gradient(loss, array), grad) < 1e-6


def test_sequence_gradients_match_numerical():
    rng = np.random.default_rng(1)
    inputs = random_lstm(rng, 2, 4, 3, 4)
    dhs = rng.normal(size=(2, 4, 4))
    dc_last = rng.normal(size=(2, 4))

    def loss():
        hs, c, _ = lstm_forward(*inputs)
        return np.sum(hs * dhs) + np.sum(c * dc_last)

    _, _, cache = lstm_forward(*inputs)
    grads = lstm_backward(dhs, cache, dc_last)  # dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh
    for array, grad in zip(inputs, grads):
        assert rel_error(numerical_gradient(loss, array), grad) < 1e-6


def test_a_wrong_gradient_is_caught():
    # The check above must be able to fail: a perturbed gradient does not pass it.
    rng = np.random.default_rng(2)
    inputs = random_lstm(rng, 2, 3, 3, 2)
    dhs = rng.normal(size=(2, 3, 2))

    def loss():
        return np.sum(lstm_forward(*inputs)[0] * dhs)

    _, _, cache = lstm_forward(*inputs)
    dW_hh = lstm_backward(dhs, cache)[4]
    dW_hh[0, 0] *= 1.001
    assert rel_error(numerical_gradient(loss, inputs[4]), dW_hh) > 1e-6


def torch_run(lstm, x, h0, c0, dhs, dc_last):
    """Forward + backward through a torch.nn.LSTM; returns outputs and gradients as NumPy."""
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0, requires_grad=True)
    c0_t = torch.tensor(c0, requires_grad=True)
    out, (h_n, c_n) = lstm(x_t, (h0_t, c0_t))
    loss = (out * torch.tensor(dhs)).sum() + (c_n[-1] * torch.tensor(dc_last)).sum()
    lstm.zero_grad()
    loss.backward()
    grads = {name: p.grad.numpy() for name, p in lstm.named_parameters()}
    return out.detach().numpy(), c_n.detach().numpy(), x_t.grad.numpy(), h0_t.grad.numpy(), \
        c0_t.grad.numpy(), grads


@pytest.mark.parametrize("N,T,D,H", [(3, 5, 4, 6), (1, 1, 2, 3), (4, 12, 7, 5)])
def test_matches_torch_lstm(N, T, D, H):
    rng = np.random.default_rng(N * 100 + T)
    x, h0, c0, *weights = random_lstm(rng, N, T, D, H)
    dhs, dc_last = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    load_numpy_weights(lstm, *weights)

    out, c_n, dx_t, dh0_t, dc0_t, grads = torch_run(lstm, x, h0[None], c0[None], dhs, dc_last)
    hs, c, cache = lstm_forward(x, h0, c0, *weights)
    dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh = lstm_backward(dhs, cache, dc_last)

    atol = dict(atol=1e-10, rtol=0)
    np.testing.assert_allclose(hs, out, **atol)
    np.testing.assert_allclose(c, c_n[0], **atol)
    np.testing.assert_allclose(dx, dx_t, **atol)
    np.testing.assert_allclose(dh0, dh0_t[0], **atol)
    np.testing.assert_allclose(dc0, dc0_t[0], **atol)
    np.testing.assert_allclose(dW_ih, grads["weight_ih_l0"], **atol)
    np.testing.assert_allclose(dW_hh, grads["weight_hh_l0"], **atol)
    np.testing.assert_allclose(db_ih, grads["bias_ih_l0"], **atol)
    np.testing.assert_allclose(db_hh, grads["bias_hh_l0"], **atol)


def test_step_functions_match_torch_lstm():
    # T steps of lstm_step_forward/backward by hand give torch's outputs and gradients.
    rng = np.random.default_rng(3)
    N, T, D, H = 3, 4, 5, 4
    x, h0, c0, *weights = random_lstm(rng, N, T, D, H)
    dhs, dc_last = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    load_numpy_weights(lstm, *weights)
    out, c_n, dx_t, dh0_t, dc0_t, grads = torch_run(lstm, x, h0[None], c0[None], dhs, dc_last)

    h, c, caches, hs = h0, c0, [], []
    for t in range(T):
        h, c, cache = lstm_step_forward(x[:, t], h, c, *weights)
        hs.append(h)
        caches.append(cache)
    np.testing.assert_allclose(np.stack(hs, axis=1), out, atol=1e-10, rtol=0)
    np.testing.assert_allclose(c, c_n[0], atol=1e-10, rtol=0)

    dh, dc = np.zeros((N, H)), dc_last
    sums = [np.zeros_like(w) for w in weights]
    for t in reversed(range(T)):
        dx_step, dh, dc, *dweights = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])
        np.testing.assert_allclose(dx_step, dx_t[:, t], atol=1e-10, rtol=0)
        sums = [s + d for s, d in zip(sums, dweights)]
    np.testing.assert_allclose(dh, dh0_t[0], atol=1e-10, rtol=0)
    np.testing.assert_allclose(dc, dc0_t[0], atol=1e-10, rtol=0)
    for name, total in zip(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], sums):
        np.testing.assert_allclose(total, grads[name], atol=1e-10, rtol=0)


def test_two_layer_stack_matches_torch():
    rng = np.random.default_rng(4)
    N, T, D, H = 3, 6, 4, 5
    lstm = torch.nn.LSTM(D, H, num_layers=2, batch_first=True).double()
    torch.manual_seed(0)
    with torch.no_grad():
        for p in lstm.parameters():
            p.normal_(0, 0.5)
    x = rng.normal(size=(N, T, D))
    h0, c0 = rng.normal(size=(2, N, H)), rng.normal(size=(2, N, H))
    dhs, dc_last = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))
    out, c_n, dx_t, dh0_t, dc0_t, grads = torch_run(lstm, x, h0, c0, dhs, dc_last)

    w0, w1 = numpy_weights(lstm, 0), numpy_weights(lstm, 1)
    hs0, c_last0, cache0 = lstm_forward(x, h0[0], c0[0], *w0)
    hs1, c_last1, cache1 = lstm_forward(hs0, h0[1], c0[1], *w1)  # layer 1 reads layer 0's states
    np.testing.assert_allclose(hs1, out, atol=1e-10, rtol=0)
    np.testing.assert_allclose(c_last1, c_n[1], atol=1e-10, rtol=0)

    # torch's loss only reads the top layer's last cell state, so layer 0 gets dc_last = 0.
    dhs0, dh0_1, dc0_1, *g1 = lstm_backward(dhs, cache1, dc_last)
    dx, dh0_0, dc0_0, *g0 = lstm_backward(dhs0, cache0)
    np.testing.assert_allclose(dx, dx_t, atol=1e-10, rtol=0)
    np.testing.assert_allclose(np.stack([dh0_0, dh0_1]), dh0_t, atol=1e-10, rtol=0)
    np.testing.assert_allclose(np.stack([dc0_0, dc0_1]), dc0_t, atol=1e-10, rtol=0)
    for layer, g in ((0, g0), (1, g1)):
        for name, value in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], g):
            np.testing.assert_allclose(value, grads[f"{name}_l{layer}"], atol=1e-10, rtol=0)


def test_float32_stays_float32_and_close_to_float64():
    rng = np.random.default_rng(5)
    inputs64 = random_lstm(rng, 4, 8, 6, 7)
    inputs32 = [a.astype(np.float32) for a in inputs64]
    dhs = rng.normal(size=(4, 8, 7))
    hs32, c32, cache32 = lstm_forward(*inputs32)
    grads32 = lstm_backward(dhs.astype(np.float32), cache32)
    hs64, c64, cache64 = lstm_forward(*inputs64)
    grads64 = lstm_backward(dhs, cache64)
    assert hs32.dtype == c32.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads32)
    np.testing.assert_allclose(hs32, hs64, atol=1e-5)
    for g32, g64 in zip(grads32, grads64):
        np.testing.assert_allclose(g32, g64, atol=1e-4)


def test_changing_the_outputs_does_not_corrupt_the_backward_pass():
    rng = np.random.default_rng(7)
    inputs = random_lstm(rng, 2, 4, 3, 5)
    dhs = rng.normal(size=(2, 4, 5))
    hs, c, cache = lstm_forward(*inputs)
    expected = lstm_backward(dhs, cache)
    hs, c, cache = lstm_forward(*inputs)
    hs *= 0.0  # e.g. a dropout mask applied in place
    c *= 0.0
    for got, want in zip(lstm_backward(dhs, cache), expected):
        np.testing.assert_array_equal(got, want)


def test_forward_does_not_change_its_inputs():
    rng = np.random.default_rng(6)
    inputs = random_lstm(rng, 2, 3, 4, 5)
    copies = [a.copy() for a in inputs]
    hs, c, cache = lstm_forward(*inputs)
    lstm_backward(np.ones_like(hs), cache)
    for a, b in zip(inputs, copies):
        np.testing.assert_array_equal(a, b)
