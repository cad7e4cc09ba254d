"""Our NumPy RNN, output layer and loss against PyTorch, given the same weights, in float64.

Torch's gradients come from autograd, so these tests check our hand-written backward
passes against an independent implementation, not against our own derivation.
"""
import numpy as np
import pytest
import torch

from course_lib import layers

ATOL = 1e-10


def torch_rnn_with(Wx, Wh, b):
    """A torch.nn.RNN (tanh, batch_first) holding our weights. torch stores the transposes."""
    D, H = Wx.shape
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(b))
        rnn.bias_hh_l0.zero_()  # torch has two biases; only their sum matters
    return rnn


@pytest.mark.parametrize("seed, N, T, D, H", [(0, 3, 5, 4, 6), (1, 1, 12, 7, 3), (2, 5, 2, 2, 9)])
def test_rnn_forward_backward_equal_torch(seed, N, T, D, H):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(size=(D, H)) * 0.6, rng.normal(size=(H, H)) * 0.6, rng.normal(size=H)
    dhs = rng.normal(size=(N, T, H))

    hs, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = layers.rnn_backward(dhs, cache)

    rnn = torch_rnn_with(Wx, Wh, b)
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)  # torch wants (layers, N, H)
    hs_t, h_last = rnn(x_t, h0_t)
    (hs_t * torch.from_numpy(dhs)).sum().backward()

    np.testing.assert_allclose(hs, hs_t.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(hs[:, -1], h_last[0].detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(dh0, h0_t.grad[0].numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(dWx, rnn.weight_ih_l0.grad.numpy().T, rtol=0, atol=ATOL)
    np.testing.assert_allclose(dWh, rnn.weight_hh_l0.grad.numpy().T, rtol=0, atol=ATOL)
    np.testing.assert_allclose(db, rnn.bias_ih_l0.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(db, rnn.bias_hh_l0.grad.numpy(), rtol=0, atol=ATOL)


def test_rnn_step_equals_one_step_of_torch():
    rng = np.random.default_rng(3)
    x, h_prev = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    Wx, Wh, b = rng.normal(size=(3, 5)), rng.normal(size=(5, 5)), rng.normal(size=5)
    h, _ = layers.rnn_step_forward(x, h_prev, Wx, Wh, b)
    cell = torch.nn.RNNCell(3, 5, nonlinearity="tanh").double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(Wx.T))
        cell.weight_hh.copy_(torch.from_numpy(Wh.T))
        cell.bias_ih.copy_(torch.from_numpy(b))
        cell.bias_hh.zero_()
        expected = cell(torch.from_numpy(x), torch.from_numpy(h_prev)).numpy()
    np.testing.assert_allclose(h, expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("seed", [0, 1])
def test_output_layer_and_loss_equal_torch(seed):
    rng = np.random.default_rng(seed)
    N, T, H, V = 4, 6, 5, 11
    hs, W, b = rng.normal(size=(N, T, H)), rng.normal(size=(H, V)), rng.normal(size=V)
    y = rng.integers(0, V, size=(N, T))
    y[1, :2] = -1

    logits, affine_cache = layers.temporal_affine_forward(hs, W, b)
    loss, dlogits = layers.softmax_cross_entropy(logits, y, ignore_index=-1)
    dhs, dW, db = layers.temporal_affine_backward(dlogits, affine_cache)

    linear = torch.nn.Linear(H, V).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(W.T))
        linear.bias.copy_(torch.from_numpy(b))
    hs_t = torch.tensor(hs, requires_grad=True)
    logits_t = linear(hs_t)
    loss_t = torch.nn.functional.cross_entropy(
        logits_t.reshape(-1, V), torch.from_numpy(y).reshape(-1), ignore_index=-1)
    loss_t.backward()

    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=0, atol=ATOL)
    assert abs(loss - loss_t.item()) < ATOL
    np.testing.assert_allclose(dhs, hs_t.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(dW, linear.weight.grad.numpy().T, rtol=0, atol=ATOL)
    np.testing.assert_allclose(db, linear.bias.grad.numpy(), rtol=0, atol=ATOL)
