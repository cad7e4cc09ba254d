"""Exercises of notebook 08: minGRU step by step, and the linear recurrence as a scan."""
import torch

from .. import min_gru, parallel_scan
from ..depth import DepthTensor
from . import Case, Exercise, Mistake, register
from .core import compare_value

g = min_gru.g


def _tensor(rng, shape, low=None, high=None):
    """A float64 DepthTensor (course_lib.depth): normal draws, or uniform in [low, high) when given.
    A DepthTensor crosses the grader's process boundary as plain data, which a torch tensor does not."""
    values = rng.normal(size=shape) if low is None else rng.uniform(low, high, size=shape)
    return torch.tensor(values, dtype=torch.float64).as_subclass(DepthTensor)


# --- min_gru_sequential -------------------------------------------------------

def min_gru_cases(rng):
    cases = []
    for N, T, D, H in [(2, 5, 3, 4), (1, 1, 1, 1), (3, 7, 2, 5), (2, 12, 4, 3),
                       (int(rng.integers(1, 5)), int(rng.integers(2, 15)), int(rng.integers(1, 7)),
                        int(rng.integers(1, 7)))]:
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", (
            _tensor(rng, (N, T, D)), _tensor(rng, (N, H), 0.1, 1.0), _tensor(rng, (H, D)), _tensor(rng, H),
            _tensor(rng, (H, D)), _tensor(rng, H))))
    N, T, D, H = 2, 6, 3, 4
    cases.append(Case("large inputs (the gates saturate)", (
        _tensor(rng, (N, T, D)) * 20, _tensor(rng, (N, H), 0.1, 1.0), _tensor(rng, (H, D)), _tensor(rng, H),
        _tensor(rng, (H, D)), _tensor(rng, H))))
    cases.append(Case("h0 = 0", (
        _tensor(rng, (N, T, D)), torch.zeros(N, H, dtype=torch.float64).as_subclass(DepthTensor), _tensor(rng, (H, D)),
        _tensor(rng, H), _tensor(rng, (H, D)), _tensor(rng, H))))
    return cases


def _min_gru_variant(x, h0, W_z, b_z, W_h, b_h, swap=False, candidate=g, start=None, late=False):
    """min_gru_sequential with one thing changed, to recognise a known mistake."""
    h = h0 if start is None else start(h0)
    hs = []
    for x_t in x.unbind(1):
        z = torch.sigmoid(x_t @ W_z.T + b_z)
        h_tilde = candidate(x_t @ W_h.T + b_h)
        if late:
            hs.append(h)
        h = z * h + (1 - z) * h_tilde if swap else (1 - z) * h + z * h_tilde
        if not late:
            hs.append(h)
    return torch.stack(hs, dim=1)


MIN_GRU_MISTAKES = [
    Mistake("z and (1 - z) swapped (nn.GRU's convention)",
            lambda *a: _min_gru_variant(*a, swap=True),
            "In minGRU, as in Feng et al. (2024), z is the share of the NEW candidate: "
            "h = (1 - z) * h_prev + z * h_tilde. torch.nn.GRU (notebook 03) uses the opposite "
            "convention, where z is the share of the old state kept."),
    Mistake("a tanh candidate, as in the GRU",
            lambda *a: _min_gru_variant(*a, candidate=torch.tanh),
            "minGRU's candidate is h_tilde = g(x_t @ W_h.T + b_h) with the g imported from "
            "course_lib.min_gru (x + 0.5 for x >= 0, sigmoid(x) below), not tanh. g keeps the "
            "state positive, which the log-space scan of the next exercise needs."),
    Mistake("no activation on the candidate",
            lambda *a: _min_gru_variant(*a, candidate=lambda v: v),
            "Apply g to the candidate's pre-activation: h_tilde = g(x_t @ W_h.T + b_h)."),
    Mistake("the state started from zeros instead of h0",
            lambda *a: _min_gru_variant(*a, start=torch.zeros_like),
            "Start the loop from the h0 you are given: h = h0."),
    Mistake("each step's state recorded before its update (off by one)",
            lambda *a: _min_gru_variant(*a, late=True),
            "hs[:, t] is the state AFTER reading x[:, t]: update h first, then append it. "
            "So hs[:, 0] is already one step past h0."),
]


# --- linear_scan --------------------------------------------------------------

def scan_cases(rng):
    """(a, b, h0) as float64 DepthTensors, so that a loop over time shows in the result's depth.
    a in (0, 1], b > 0, h0 > 0."""
    def case(name, a, b, h0):
        return Case(name, (a, b, h0))

    cases = []
    for N, T, H in [(2, 5, 3), (1, 1, 1), (3, 17, 4),
                    (int(rng.integers(1, 4)), int(rng.integers(2, 40)), int(rng.integers(1, 6)))]:
        cases.append(case(f"N={N}, T={T}, H={H}", _tensor(rng, (N, T, H), 0.05, 1.0),
                          _tensor(rng, (N, T, H), 0.1, 2.0), _tensor(rng, (N, H), 0.1, 2.0)))
    T = int(rng.integers(1000, 1300))
    cases.append(case(f"T={T}, a near 0 (1e-6 to 1e-3): a naive product underflows",
                      torch.exp(_tensor(rng, (2, T, 3), -13.8, -6.9)),
                      _tensor(rng, (2, T, 3), 0.1, 2.0), _tensor(rng, (2, 3), 0.1, 2.0)))
    cases.append(case(f"T={T}, a near 1 (1 - 1e-4 to 1): a long memory",
                      1 - _tensor(rng, (2, T, 3), 0.0, 1e-4),
                      _tensor(rng, (2, T, 3), 0.1, 2.0), _tensor(rng, (2, 3), 0.1, 2.0)))
    cases.append(case(f"T={T}, a from 0.1 to 0.7: the product of the a's underflows after ~700 steps",
                      _tensor(rng, (2, T, 4), 0.1, 0.7),
                      _tensor(rng, (2, T, 4), 0.1, 2.0), _tensor(rng, (2, 4), 0.1, 2.0)))
    a = torch.cat([_tensor(rng, (1, 50, 2), 1e-6, 1e-3), _tensor(rng, (1, 50, 2), 0.999, 1.0)], dim=1)
    cases.append(case("a near 0, then near 1; b over 8 orders of magnitude",
                      a, torch.exp(_tensor(rng, (1, 100, 2), -9.0, 9.0)), _tensor(rng, (1, 2), 0.1, 2.0)))
    return cases


def compare_scan(got, expected, case):
    """The values as usual; then that the result was computed from a, b and h0 with torch
    operations (the model trains through this function), and not one time step at a time."""
    problem = compare_value("h", got, expected, atol=1e-8, rtol=1e-6)
    if problem:
        return problem
    if not isinstance(got, torch.Tensor):
        return (f"h is a {type(got).__name__}; return a torch tensor computed from a, b and h0 with "
                "torch operations, so that gradients can flow through it")
    depth = getattr(got, "depth", 0)
    if depth == 0:
        return ("h was not computed from a, b and h0 with torch operations (a NumPy detour, or "
                "torch.tensor(...) of a result?): gradients could not flow through it")
    T = case.args[0].shape[1]
    if T >= 1000 and depth > T // 2:
        return (f"h has the right values, but it is {depth} operations deep for {T} time steps: "
                "that is a loop over time. Compute all steps at once: torch.cumsum of log(a) and "
                "torch.logcumsumexp, as in the equations above")
    return None


def _log_scan_variant(a, b, h0, dim=1, lse=torch.logcumsumexp):
    """linear_scan along `dim`, with `lse` as the cumulative log-sum-exp."""
    a_star = torch.cumsum(torch.log(a), dim=dim)
    log_sum = lse(torch.log(b) - a_star, dim)
    return torch.exp(a_star + torch.logaddexp(torch.log(h0)[:, None], log_sum))


LOG_HINT = ("Work in log space: log A_t = torch.cumsum(torch.log(a), dim=1), and the sum of "
            "b_k / A_k as torch.logcumsumexp(torch.log(b) - log A, dim=1). logcumsumexp subtracts the "
            "running maximum before it exponentiates, so it never overflows.")

SCAN_MISTAKES = [
    Mistake("the products and quotients in plain numbers (A_t = cumprod(a), then b / A_t)",
            parallel_scan.cumprod_scan,
            "The closed form is right, but A_t = a_1 * ... * a_t underflows to 0 once it falls "
            "below ~1e-308, and then b / A_t is inf and A_t * inf is NaN. " + LOG_HINT),
    Mistake("log(cumsum(exp(...))) in place of logcumsumexp",
            lambda a, b, h0: _log_scan_variant(a, b, h0, lse=lambda v, d: torch.log(torch.cumsum(torch.exp(v), d))),
            "exp(log b - log A) is b / A_t again, which overflows to inf for a long sequence "
            "of small a. torch.logcumsumexp(v, dim=1) computes log(cumsum(exp(v))) without forming exp(v)."),
    Mistake("h0 left out",
            lambda a, b, h0: _log_scan_variant(a, b, torch.full_like(h0, torch.finfo(h0.dtype).tiny)),
            "The initial state is carried too: h_t = A_t * (h0 + sum_k b_k / A_k). In log space, "
            "combine log(h0) with the log of the sum: torch.logaddexp(torch.log(h0)[:, None], log_sum)."),
    Mistake("b multiplied by its own step's a (h_t = a_t * (h_{t-1} + b_t))",
            lambda a, b, h0: parallel_scan.linear_scan(a, a * b, h0),
            "b_t enters after the multiplication by a_t: b_k is divided by A_k = a_1 ... a_k, "
            "including a_k itself, so that A_t / A_k leaves only a_{k+1} ... a_t."),
    Mistake("the cumulative sums over the last axis (the units) instead of time",
            lambda a, b, h0: _log_scan_variant(a, b, h0, dim=-1),
            "a and b have shape (N, T, H): time is dim=1. Give dim=1 to torch.cumsum and torch.logcumsumexp."),
]


register(Exercise(
    id="08.min_gru_sequential", points=2, reference=min_gru.min_gru_sequential, cases=min_gru_cases,
    outputs=("hs",), mistakes=MIN_GRU_MISTAKES,
))

register(Exercise(
    id="08.linear_scan", points=3, reference=parallel_scan.linear_scan, cases=scan_cases,
    outputs=("h",), mistakes=SCAN_MISTAKES, compare=compare_scan,
))
