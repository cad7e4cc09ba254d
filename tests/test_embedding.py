"""The NumPy embedding against a numerical gradient and against torch.nn.Embedding."""
import numpy as np
import pytest
import torch

from course_lib.embedding import (cosine_nearest_neighbours, embedding_backward,
                                  embedding_forward, pca_2d)
from course_lib.gradcheck import grad_check
from course_lib.layers import one_hot


def random_problem(seed, N=4, T=6, V=9, D=5):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, size=(N, T))
    ids[0, :3] = ids[1, 0]  # make sure some ids repeat, which is where scatter-add matters
    W = rng.normal(size=(V, D))
    dout = rng.normal(size=(N, T, D))
    return ids, W, dout


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_check(seed):
    # A non-linear loss, so that the centred differences have something to get wrong:
    # loss(W) = sum(tanh(out) * c), whose gradient with respect to out is c * (1 - tanh(out)^2).
    ids, W, c = random_problem(seed)
    out, cache = embedding_forward(ids, W)
    dW = embedding_backward(c * (1 - np.tanh(out) ** 2), cache)
    errors = grad_check(lambda: np.sum(np.tanh(embedding_forward(ids, W)[0]) * c),
                        {"W": W}, {"W": dW}, num_checks=W.size)
    assert errors["W"] < 1e-6


def test_forward_is_one_hot_times_W():
    ids, W, _ = random_problem(3)
    out, _ = embedding_forward(ids, W)
    assert out.shape == ids.shape + (W.shape[1],)
    np.testing.assert_allclose(out, one_hot(ids, W.shape[0]) @ W, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_torch_embedding(seed):
    ids, W, dout = random_problem(seed, N=8, T=11, V=30, D=7)
    out, cache = embedding_forward(ids, W)
    dW = embedding_backward(dout, cache)

    emb = torch.nn.Embedding(*W.shape).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(W))
    out_t = emb(torch.from_numpy(ids))
    (out_t * torch.from_numpy(dout)).sum().backward()

    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dW, emb.weight.grad.numpy(), rtol=0, atol=1e-10)


def test_backward_accumulates_repeated_ids():
    # Every position holds id 2: its row must get the sum of all of dout.
    W = np.zeros((4, 3))
    ids = np.full((2, 5), 2)
    dout = np.random.default_rng(0).normal(size=(2, 5, 3))
    dW = embedding_backward(dout, embedding_forward(ids, W)[1])
    np.testing.assert_allclose(dW[2], dout.sum(axis=(0, 1)), atol=1e-12)
    assert np.all(dW[[0, 1, 3]] == 0)


def test_backward_keeps_dtype():
    ids, W, dout = random_problem(0)
    dW = embedding_backward(dout.astype(np.float32), embedding_forward(ids, W)[1])
    assert dW.dtype == np.float32


def test_cosine_nearest_neighbours_matches_brute_force():
    rng = np.random.default_rng(0)
    # Scale rows very differently: cosine similarity must ignore length.
    W = rng.normal(size=(12, 4)) * rng.uniform(0.1, 10, size=(12, 1))
    for index in range(12):
        got = cosine_nearest_neighbours(W, index, 3)
        sims = [W[index] @ W[j] / np.linalg.norm(W[index]) / np.linalg.norm(W[j]) for j in range(12)]
        expected = [j for j in sorted(range(12), key=lambda j: -sims[j]) if j != index][:3]
        assert list(got) == expected


def test_cosine_nearest_neighbours_finds_the_same_direction():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [50.0, 1.0], [-1.0, 0.0]])
    assert list(cosine_nearest_neighbours(W, 0, 3)) == [2, 1, 3]


def test_pca_2d_keeps_the_main_directions():
    rng = np.random.default_rng(0)
    # Rows that vary mostly along two known directions, plus a little noise.
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0].T  # (2, 6), orthonormal rows
    W = rng.normal(size=(40, 2)) * [5.0, 2.0] @ basis + 0.01 * rng.normal(size=(40, 6)) + 3.0
    coords = pca_2d(W)
    assert coords.shape == (40, 2)
    np.testing.assert_allclose(coords.mean(axis=0), 0, atol=1e-10)
    # Uncorrelated components, the first with the larger variance.
    cov = np.cov(coords.T)
    assert abs(cov[0, 1]) < 1e-8 * cov[0, 0]
    assert cov[0, 0] > cov[1, 1]
    # Together they keep almost all the variance of W.
    assert np.trace(cov) > 0.99 * np.trace(np.cov(W.T))
    np.testing.assert_allclose(pca_2d(W), coords)  # deterministic, signs included
