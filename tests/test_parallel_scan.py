"""course_lib.parallel_scan and course_lib.min_gru: every scan agrees with the loop, the fast
scan's hand-written backward agrees with autograd, and minGRU's two modes are one function."""
import pytest
import torch

from course_lib import min_gru, parallel_scan


def random_recurrence(N=2, T=50, H=3, seed=0, low=0.05, signed=False):
    gen = torch.Generator().manual_seed(seed)
    a = low + (1 - low) * torch.rand(N, T, H, generator=gen, dtype=torch.float64)
    b = torch.rand(N, T, H, generator=gen, dtype=torch.float64) + 0.1
    h0 = torch.rand(N, H, generator=gen, dtype=torch.float64) + 0.1
    if signed:
        b, h0 = b - 0.6, h0 - 0.6
    return a, b, h0


@pytest.mark.parametrize("T", [1, 2, 7, 50, 1000])
def test_log_space_scan_agrees_with_the_loop(T):
    a, b, h0 = random_recurrence(T=T)
    expected = parallel_scan.linear_scan_loop(a, b, h0)
    assert torch.allclose(parallel_scan.linear_scan(a, b, h0), expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("T, chunk", [(1, None), (2, None), (7, None), (50, None), (50, 7), (1000, None), (33, 100)])
def test_chunked_scan_agrees_with_the_loop_for_any_sign(T, chunk):
    a, b, h0 = random_recurrence(T=T, signed=True)
    expected = parallel_scan.linear_scan_loop(a, b, h0)
    assert torch.allclose(parallel_scan.chunked_scan(a, b, h0, chunk), expected, rtol=1e-9, atol=1e-12)


def test_chunked_scan_backward_is_the_reverse_scan():
    a, b, h0 = (t.requires_grad_() for t in random_recurrence(T=23, signed=True))
    assert torch.autograd.gradcheck(parallel_scan.scan, (a, b, h0))
    dh = torch.randn(a.shape, dtype=torch.float64)
    grads = torch.autograd.grad((parallel_scan.scan(a, b, h0) * dh).sum(), (a, b, h0))
    expected = torch.autograd.grad((parallel_scan.linear_scan_loop(a, b, h0) * dh).sum(), (a, b, h0))
    for got, want in zip(grads, expected):
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)


def test_cumprod_scan_fails_where_the_log_space_scan_does_not():
    a, b, h0 = random_recurrence(T=1500, low=0.3)
    a = a.clamp(max=0.9)
    assert torch.isnan(parallel_scan.cumprod_scan(a, b, h0)).any()
    expected = parallel_scan.linear_scan_loop(a, b, h0)
    assert torch.allclose(parallel_scan.linear_scan(a, b, h0), expected, rtol=1e-9)


def test_log_space_scan_needs_positive_b_and_the_signed_scan_does_not():
    a, b, h0 = random_recurrence(signed=True)
    assert torch.isnan(parallel_scan.linear_scan(a, b, h0)).any()
    expected = parallel_scan.linear_scan_loop(a, b, h0)
    assert torch.allclose(parallel_scan.signed_linear_scan(a, b, h0), expected, rtol=1e-6, atol=1e-12)


def min_gru_weights(D=4, H=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(shape, generator=gen, dtype=torch.float64) for shape in [(H, D), (H,), (H, D), (H,)])


@pytest.mark.parametrize("scan_fn", [parallel_scan.scan, parallel_scan.linear_scan])
def test_min_gru_parallel_equals_sequential(scan_fn):
    x = torch.randn(3, 40, 4, dtype=torch.float64)
    h0 = torch.rand(3, 5, dtype=torch.float64) + 0.1
    weights = min_gru_weights()
    expected = min_gru.min_gru_sequential(x, h0, *weights)
    assert torch.allclose(min_gru.min_gru_parallel(x, h0, *weights, scan_fn=scan_fn), expected, rtol=1e-9)


def test_g_and_log_g():
    x = torch.linspace(-50, 50, 1001, dtype=torch.float64)
    assert (min_gru.g(x) > 0).all()
    assert torch.allclose(min_gru.log_g(x), torch.log(min_gru.g(x)))
    assert min_gru.g(torch.tensor(0.0)) == 0.5


def test_keep_bias_sets_the_share_kept():
    layer = min_gru.MinGRU(3, 4, keep=0.99)
    a = torch.sigmoid(-layer.gate.bias)
    assert torch.allclose(a, torch.full((4,), 0.99))


def test_language_model_carries_its_state_across_chunks():
    torch.manual_seed(0)
    model = min_gru.MinGRULM(vocab_size=11, dim=8, num_layers=2).double().eval()
    ids = torch.randint(0, 11, (2, 30))
    whole, _ = model(ids)
    first, state = model(ids[:, :12])
    second, _ = model(ids[:, 12:], state)
    assert torch.allclose(torch.cat([first, second], dim=1), whole, atol=1e-12)
    assert whole.shape == (2, 30, 11)
