"""The checkers of notebook 08 accept correct attempts, refuse loops over time, and name each
known mistake."""
import math

import pytest
import torch

from course_lib.exercises import check


# --- correct attempts, written independently of the references ------------------

def min_gru_by_index(x, h0, W_z, b_z, W_h, b_h):
    """The loop as most people write it: x[:, t], and the gates from torch.nn.functional."""
    h, out = h0, []
    for t in range(x.shape[1]):
        z = torch.sigmoid(torch.nn.functional.linear(x[:, t], W_z, b_z))
        pre = torch.nn.functional.linear(x[:, t], W_h, b_h)
        h_tilde = torch.where(pre >= 0, pre + 0.5, torch.sigmoid(pre))
        h = h + z * (h_tilde - h)
        out.append(h)
    return torch.stack(out, dim=1)


def scan_log_space(a, b, h0):
    """Heinsen (2023) with h0 put in front of the sequence as one more term."""
    log_a = torch.cat([torch.zeros_like(h0)[:, None], torch.log(a)], dim=1)
    log_b = torch.cat([torch.log(h0)[:, None], torch.log(b)], dim=1)
    a_star = torch.cumsum(log_a, dim=1)
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))[:, 1:]


def scan_doubling(a, b, h0):
    """Hillis-Steele: log2(T) rounds; in round d each step absorbs the one d before it.
    No logs at all: only products of gates <= 1, which may underflow harmlessly."""
    b = torch.cat([a[:, :1] * h0[:, None] + b[:, :1], b[:, 1:]], dim=1)
    d = 1
    while d < a.shape[1]:
        b = torch.cat([b[:, :d], a[:, d:] * b[:, :-d] + b[:, d:]], dim=1)
        a = torch.cat([a[:, :d], a[:, d:] * a[:, :-d]], dim=1)
        d *= 2
    return b


def scan_blelloch(a, b, h0):
    """Blelloch's up-sweep and down-sweep on (a, b) pairs, padded to a power of two."""
    N, T, H = a.shape
    size = 1 << max(0, math.ceil(math.log2(T)))
    b = torch.cat([a[:, :1] * h0[:, None] + b[:, :1], b[:, 1:]], dim=1)
    a = torch.cat([a, a.new_ones(N, size - T, H)], dim=1)
    b = torch.cat([b, b.new_zeros(N, size - T, H)], dim=1)
    levels = [(a, b)]
    while a.shape[1] > 1:  # up-sweep: combine neighbours
        a_left, a_right, b_left, b_right = a[:, 0::2], a[:, 1::2], b[:, 0::2], b[:, 1::2]
        a, b = a_left * a_right, a_right * b_left + b_right
        levels.append((a, b))
    h = levels[-1][1]  # the state after each block of the coarsest level
    for a_fine, b_fine in reversed(levels[:-1]):  # down-sweep: fill in the odd steps
        h_before = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)
        even = a_fine[:, 0::2] * h_before + b_fine[:, 0::2]
        h = torch.stack([even, h], dim=2).reshape(N, -1, H)
    return h[:, :T]


@pytest.mark.parametrize("fn", [scan_log_space, scan_doubling, scan_blelloch])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_scans_pass(fn, seed):
    report = check("08.linear_scan", fn, seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_min_gru_passes(seed):
    report = check("08.min_gru_sequential", min_gru_by_index, seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("exercise_id", ["08.min_gru_sequential", "08.linear_scan"])
def test_stub_is_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError()

    assert check(exercise_id, stub).status == "not attempted"


def test_the_references_are_refused():
    from course_lib.min_gru import min_gru_sequential
    from course_lib.parallel_scan import linear_scan

    assert check("08.min_gru_sequential", min_gru_sequential).status == "reference"
    assert check("08.linear_scan", linear_scan).status == "reference"


# --- what the scan checker refuses ------------------------------------------------

def failed_with(exercise_id, fn, phrase, hint_phrase=None):
    report = check(exercise_id, fn)
    assert report.status == "failed", str(report)
    assert phrase in report.message, str(report)
    if hint_phrase is not None:
        assert hint_phrase in report.hint, str(report)
    return report


def test_a_loop_over_time_is_refused_although_its_values_are_right():
    def loop(a, b, h0):
        h, out = h0, []
        for t in range(a.shape[1]):
            h = a[:, t] * h + b[:, t]
            out.append(h)
        return torch.stack(out, dim=1)

    report = failed_with("08.linear_scan", loop, "loop over time")
    assert "right values" in report.message


def test_a_loop_writing_into_a_preallocated_tensor_is_refused():
    def loop(a, b, h0):
        out = torch.zeros_like(b)
        h = h0
        for t in range(a.shape[1]):
            h = a[:, t] * h + b[:, t]
            out[:, t] = h
        return out

    failed_with("08.linear_scan", loop, "loop over time")


def test_results_not_computed_with_torch_are_refused():
    def via_numpy(a, b, h0):
        return torch.from_numpy(scan_doubling(a, b, h0).detach().numpy())

    failed_with("08.linear_scan", via_numpy, "not computed from a, b and h0")
    failed_with("08.linear_scan", lambda a, b, h0: scan_doubling(a, b, h0).detach().numpy(),
                "torch tensor")


def test_naive_cumprod_is_recognised():
    def naive(a, b, h0):
        prods = torch.cumprod(a, dim=1)
        return prods * (h0[:, None] + torch.cumsum(b / prods, dim=1))

    report = failed_with("08.linear_scan", naive, "cumprod", "underflows")
    assert "NaN" in report.message or "inf" in report.message


def test_log_of_cumsum_of_exp_is_recognised():
    def overflowing(a, b, h0):
        log_A = torch.cumsum(torch.log(a), dim=1)
        total = torch.log(torch.cumsum(torch.exp(torch.log(b) - log_A), dim=1))
        return torch.exp(log_A + torch.logaddexp(torch.log(h0)[:, None], total))

    failed_with("08.linear_scan", overflowing, "log(cumsum(exp", "logcumsumexp")


def test_h0_left_out_is_recognised():
    def no_h0(a, b, h0):
        log_A = torch.cumsum(torch.log(a), dim=1)
        return torch.exp(log_A + torch.logcumsumexp(torch.log(b) - log_A, dim=1))

    failed_with("08.linear_scan", no_h0, "h0 left out", "logaddexp")


def test_b_times_its_own_a_is_recognised():
    def late(a, b, h0):
        return scan_doubling(a, a * b, h0)

    failed_with("08.linear_scan", late, "its own step's a", "A_t / A_k")


def test_scan_over_the_wrong_axis_is_recognised():
    def wrong_axis(a, b, h0):
        log_A = torch.cumsum(torch.log(a), dim=2)
        log_sum = torch.logcumsumexp(torch.log(b) - log_A, dim=2)
        return torch.exp(log_A + torch.logaddexp(torch.log(h0)[:, None], log_sum))

    failed_with("08.linear_scan", wrong_axis, "last axis", "dim=1")


# --- known min_gru mistakes, written the way a learner would write them ------------

def min_gru_with(x, h0, W_z, b_z, W_h, b_h, update=None, act=None, start=None, record_first=False):
    h = h0 if start is None else start
    out = []
    for t in range(x.shape[1]):
        z = torch.sigmoid(x[:, t] @ W_z.T + b_z)
        pre = x[:, t] @ W_h.T + b_h
        h_tilde = act(pre) if act else torch.where(pre >= 0, pre + 0.5, torch.sigmoid(pre))
        if record_first:
            out.append(h)
        h = update(z, h, h_tilde) if update else (1 - z) * h + z * h_tilde
        if not record_first:
            out.append(h)
    return torch.stack(out, dim=1)


@pytest.mark.parametrize("change, phrase, hint_phrase", [
    (dict(update=lambda z, h, ht: (1 - z) * ht + z * h), "swapped", "NEW candidate"),
    (dict(act=torch.tanh), "tanh candidate", "not tanh"),
    (dict(act=lambda v: v), "no activation", "g(x_t"),
    (dict(record_first=True), "off by one", "AFTER"),
])
def test_min_gru_mistake_is_named(change, phrase, hint_phrase):
    failed_with("08.min_gru_sequential", lambda *a: min_gru_with(*a, **change), phrase, hint_phrase)


def test_min_gru_zero_start_is_named():
    def zero_start(x, h0, *weights):
        return min_gru_with(x, h0, *weights, start=torch.zeros_like(h0))

    failed_with("08.min_gru_sequential", zero_start, "zeros instead of h0", "h = h0")


def test_min_gru_helper_without_changes_passes():
    assert check("08.min_gru_sequential", lambda *a: min_gru_with(*a)).passed
