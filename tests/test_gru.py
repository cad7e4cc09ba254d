"""The NumPy GRU against numerical gradients and against torch.nn.GRU, in float64."""
import numpy as np
import pytest
import torch

from course_lib.gradcheck import grad_check
from course_lib.gru import (gru_backward, gru_forward, gru_stack_backward, gru_stack_forward,
                            gru_step_backward, gru_step_forward, sigmoid)
from course_lib.models import load_numpy_weights, numpy_weights


def random_weights(rng, D, H, scale=0.5):
    """(W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,)), float64."""
    return (rng.normal(size=(3 * H, D)) * scale, rng.normal(size=(3 * H, H)) * scale,
            rng.normal(size=3 * H) * scale, rng.normal(size=3 * H) * scale)


def all_errors(loss, params, grads):
    """grad_check on every entry (the arrays are small): {name: largest relative error}."""
    return grad_check(loss, params, grads, num_checks=10**6)


def test_sigmoid_is_stable_and_exact():
    a = np.array([-800.0, -30.0, -1.0, 0.0, 2.0, 40.0, 800.0])
    with np.errstate(over="raise", invalid="raise"):  # no overflow at the extremes
        s = sigmoid(a)
    np.testing.assert_allclose(s, torch.sigmoid(torch.tensor(a)).numpy(), rtol=1e-14, atol=0)


def test_step_forward_by_hand():
    """A 1-unit GRU, computed from the equations with scalars."""
    x, h, W_ih, W_hh = 0.7, -0.3, np.array([[0.5], [-1.0], [2.0]]), np.array([[0.3], [0.8], [-0.6]])
    b_ih, b_hh = np.array([0.1, 0.2, -0.1]), np.array([-0.2, 0.05, 0.4])
    r = 1 / (1 + np.exp(-(0.5 * x + 0.1 + 0.3 * h - 0.2)))
    z = 1 / (1 + np.exp(-(-1.0 * x + 0.2 + 0.8 * h + 0.05)))
    n = np.tanh(2.0 * x - 0.1 + r * (-0.6 * h + 0.4))
    h_new, _ = gru_step_forward(np.array([[x]]), np.array([[h]]), W_ih, W_hh, b_ih, b_hh)
    np.testing.assert_allclose(h_new, [[(1 - z) * n + z * h]], rtol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_backward_gradient_check(seed):
    rng = np.random.default_rng(seed)
    N, D, H = 3, 4, 5
    x, h_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    weights = random_weights(rng, D, H)
    dh = rng.normal(size=(N, H))
    _, cache = gru_step_forward(x, h_prev, *weights)
    analytic = gru_step_backward(dh, cache)

    names = ("x", "h_prev", "W_ih", "W_hh", "b_ih", "b_hh")
    params = dict(zip(names, (x, h_prev, *weights)))  # perturbed in place by grad_check
    def loss():
        return np.sum(gru_step_forward(*params.values())[0] * dh)
    for name, grad in zip(names, analytic):
        assert grad.shape == params[name].shape, name
    errors = all_errors(loss, params, dict(zip(names, analytic)))
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("seed", [0, 1])
def test_sequence_backward_gradient_check(seed):
    rng = np.random.default_rng(seed)
    N, T, D, H = 2, 5, 3, 4
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    weights = random_weights(rng, D, H)
    dhs = rng.normal(size=(N, T, H))
    _, cache = gru_forward(x, h0, *weights)
    analytic = gru_backward(dhs, cache)

    names = ("x", "h0", "W_ih", "W_hh", "b_ih", "b_hh")
    params = dict(zip(names, (x, h0, *weights)))
    def loss():
        return np.sum(gru_forward(*params.values())[0] * dhs)
    errors = all_errors(loss, params, dict(zip(names, analytic)))
    assert max(errors.values()) < 1e-6, errors


def test_stack_backward_gradient_check():
    rng = np.random.default_rng(3)
    N, T, D, H, L = 2, 4, 3, 4, 2
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(L, N, H))
    params = [random_weights(rng, D if layer == 0 else H, H) for layer in range(L)]
    dhs, dh_n = rng.normal(size=(N, T, H)), rng.normal(size=(L, N, H))
    _, _, cache = gru_stack_forward(x, h0, params)
    dx, dh0, grads = gru_stack_backward(dhs, cache, dh_n)

    def loss():
        hs, h_n, _ = gru_stack_forward(x, h0, params)
        return np.sum(hs * dhs) + np.sum(h_n * dh_n)
    arrays = {"x": x, "h0": h0}
    analytic = {"x": dx, "h0": dh0}
    for layer in range(L):
        for kind, array, grad in zip(("W_ih", "W_hh", "b_ih", "b_hh"), params[layer], grads[layer]):
            arrays[f"{kind}_l{layer}"], analytic[f"{kind}_l{layer}"] = array, grad
    errors = all_errors(loss, arrays, analytic)
    assert max(errors.values()) < 1e-6, errors


def torch_gru_run(gru, x, h0, dhs, dh_n):
    """Forward and backward through a float64 torch GRU; returns outputs and all gradients."""
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0, requires_grad=True)
    hs, h_n = gru(x_t, h0_t)
    (torch.sum(hs * torch.tensor(dhs)) + torch.sum(h_n * torch.tensor(dh_n))).backward()
    grads = {name: p.grad.numpy() for name, p in gru.named_parameters()}
    return hs.detach().numpy(), h_n.detach().numpy(), x_t.grad.numpy(), h0_t.grad.numpy(), grads


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_torch_gru(num_layers, seed):
    """Same weights in, same outputs and gradients out, to 1e-10, for one layer and a stack."""
    rng = np.random.default_rng(seed)
    N, T, D, H = 4, 9, 5, 6
    torch.manual_seed(seed)
    gru = torch.nn.GRU(D, H, num_layers=num_layers, batch_first=True).double()
    params = [numpy_weights(gru, layer) for layer in range(num_layers)]
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(num_layers, N, H))
    dhs, dh_n = rng.normal(size=(N, T, H)), rng.normal(size=(num_layers, N, H))

    hs, h_n, cache = gru_stack_forward(x, h0, params)
    dx, dh0, grads = gru_stack_backward(dhs, cache, dh_n)
    t_hs, t_h_n, t_dx, t_dh0, t_grads = torch_gru_run(gru, x, h0, dhs, dh_n)

    np.testing.assert_allclose(hs, t_hs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(h_n, t_h_n, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, t_dx, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dh0, t_dh0, rtol=0, atol=1e-10)
    for layer in range(num_layers):
        for kind, grad in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), grads[layer]):
            np.testing.assert_allclose(grad, t_grads[f"{kind}_l{layer}"], rtol=0, atol=1e-10,
                                       err_msg=f"{kind}_l{layer}")


def test_single_layer_functions_match_torch():
    """gru_forward / gru_backward on their own (no stack helper) against nn.GRU."""
    rng = np.random.default_rng(5)
    N, T, D, H = 3, 6, 4, 5
    gru = torch.nn.GRU(D, H, batch_first=True).double()
    weights = numpy_weights(gru)
    x, h0, dhs = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))
    hs, cache = gru_forward(x, h0, *weights)
    dx, dh0, *grads = gru_backward(dhs, cache)
    t_hs, _, t_dx, t_dh0, t_grads = torch_gru_run(gru, x, h0[None], dhs, np.zeros((1, N, H)))
    np.testing.assert_allclose(hs, t_hs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, t_dx, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dh0, t_dh0[0], rtol=0, atol=1e-10)
    for kind, grad in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), grads):
        np.testing.assert_allclose(grad, t_grads[f"{kind}_l0"], rtol=0, atol=1e-10)


def test_weights_copy_back_into_torch():
    """NumPy weights loaded into a fresh nn.GRU give the NumPy forward's outputs."""
    rng = np.random.default_rng(7)
    N, T, D, H = 2, 5, 3, 4
    weights = random_weights(rng, D, H)
    gru = torch.nn.GRU(D, H, batch_first=True).double()
    load_numpy_weights(gru, *weights)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    hs, _ = gru_forward(x, h0, *weights)
    t_hs, _ = gru(torch.tensor(x), torch.tensor(h0[None]))
    np.testing.assert_allclose(hs, t_hs.detach().numpy(), rtol=0, atol=1e-10)


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    weights = [w.astype(np.float32) for w in random_weights(rng, 3, 4)]
    x, h0 = rng.normal(size=(2, 5, 3)).astype(np.float32), np.zeros((2, 4), np.float32)
    hs, cache = gru_forward(x, h0, *weights)
    assert hs.dtype == np.float32
    dx, dh0, *grads = gru_backward(np.ones_like(hs), cache)
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
