"""Clipping and optimisers against torch, and the sampling recipes."""
import numpy as np
import pytest
import torch

from course_lib import optim
from course_lib.sampling import sample_top_k, sample_top_p, sample_with_temperature, softmax


def random_grads(rng, scale=1.0):
    return {"W": rng.normal(size=(4, 3)) * scale, "b": rng.normal(size=3) * scale}


# --- clip_grad_norm -----------------------------------------------------------

@pytest.mark.parametrize("scale, max_norm", [(10.0, 1.0), (0.01, 1.0), (1.0, 3.0)])
def test_clip_grad_norm_equals_torch(scale, max_norm):
    rng = np.random.default_rng(0)
    grads = random_grads(rng, scale)
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.from_numpy(g.copy())
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()

    total_norm = optim.clip_grad_norm(grads, max_norm)
    assert total_norm == pytest.approx(expected_norm, rel=1e-12)
    # torch divides by total_norm + 1e-6, we by total_norm: equal to about 1e-6 relative.
    for t, g in zip(tensors, grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=2e-6, atol=0)


def test_clip_grad_norm_keeps_the_direction():
    rng = np.random.default_rng(1)
    grads = random_grads(rng, 100.0)
    before = np.concatenate([g.ravel() for g in grads.values()])
    optim.clip_grad_norm(grads, 5.0)
    after = np.concatenate([g.ravel() for g in grads.values()])
    assert np.linalg.norm(after) == pytest.approx(5.0, rel=1e-6)
    np.testing.assert_allclose(after / np.linalg.norm(after), before / np.linalg.norm(before), atol=1e-12)


# --- optimisers ---------------------------------------------------------------

def run_ours_and_torch(ours, torch_opt_class, torch_kwargs, steps=5):
    rng = np.random.default_rng(2)
    params = random_grads(rng)
    tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    torch_opt = torch_opt_class(list(tensors.values()), **torch_kwargs)
    for _ in range(steps):
        grads = random_grads(rng)
        for k, t in tensors.items():
            t.grad = torch.from_numpy(grads[k].copy())
        torch_opt.step()
        ours.step(params, grads)
    for k in params:
        np.testing.assert_allclose(params[k], tensors[k].detach().numpy(), rtol=0, atol=1e-12)


def test_sgd_equals_torch():
    run_ours_and_torch(optim.SGD(lr=0.1), torch.optim.SGD, {"lr": 0.1})


def test_sgd_momentum_equals_torch():
    run_ours_and_torch(optim.SGD(lr=0.05, momentum=0.9), torch.optim.SGD, {"lr": 0.05, "momentum": 0.9})


def test_adagrad_equals_torch():
    run_ours_and_torch(optim.Adagrad(lr=0.1, eps=1e-8), torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-8})


def test_adam_equals_torch():
    run_ours_and_torch(optim.Adam(lr=0.01, betas=(0.9, 0.99), eps=1e-8), torch.optim.Adam,
                       {"lr": 0.01, "betas": (0.9, 0.99), "eps": 1e-8})


def test_optimisers_update_in_place():
    params = {"w": np.ones(3)}
    w = params["w"]
    optim.Adam(lr=0.1).step(params, {"w": np.ones(3)})
    assert params["w"] is w and np.all(w < 1)


# --- sampling -----------------------------------------------------------------

def test_the_recipe_is_searchsorted_on_the_cumulative_sum():
    # The docstring promises that rng.choice(V, p=probs) == searchsorted(cumsum(probs), rng.random()).
    logits = np.random.default_rng(0).normal(size=20)
    for seed in range(50):
        probs = softmax(logits / 0.7)
        manual = int(np.searchsorted(np.cumsum(probs), np.random.default_rng(seed).random(), side="right"))
        assert sample_with_temperature(logits, 0.7, np.random.default_rng(seed)) == manual


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sample_frequencies_follow_softmax(temperature):
    logits = np.array([2.0, 1.0, 0.0, -1.0])
    rng = np.random.default_rng(0)
    n = 20000
    counts = np.bincount([sample_with_temperature(logits, temperature, rng) for _ in range(n)], minlength=4)
    expected = softmax(logits / temperature)
    # 5 standard deviations of a binomial count: fails only if the distribution is wrong.
    assert np.all(np.abs(counts / n - expected) < 5 * np.sqrt(expected * (1 - expected) / n))


def test_low_temperature_is_greedy_and_large_logits_do_not_overflow():
    logits = np.array([1000.0, 999.0, -1000.0])
    rng = np.random.default_rng(0)
    assert {sample_with_temperature(logits, 0.01, rng) for _ in range(100)} == {0}


def test_top_k_only_draws_from_the_k_best():
    logits = np.random.default_rng(1).normal(size=30)
    best = set(np.argsort(logits)[-3:])
    rng = np.random.default_rng(0)
    drawn = {sample_top_k(logits, 3, 1.5, rng) for _ in range(500)}
    assert drawn == best


def test_top_k_with_k_equal_V_and_top_p_with_p_1_are_plain_sampling():
    logits = np.random.default_rng(2).normal(size=12)
    for seed in range(30):
        plain = sample_with_temperature(logits, 0.8, np.random.default_rng(seed))
        assert sample_top_k(logits, 12, 0.8, np.random.default_rng(seed)) == plain
        assert sample_top_p(logits, 1.0, 0.8, np.random.default_rng(seed)) == plain


@pytest.mark.parametrize("p, kept", [(0.3, {0}), (0.45, {0}), (0.6, {0, 1}), (0.79, {0, 1}), (0.85, {0, 1, 2})])
def test_top_p_keeps_the_shortest_prefix_reaching_p(p, kept):
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    rng = np.random.default_rng(0)
    assert {sample_top_p(logits, p, 1.0, rng) for _ in range(400)} == kept
