"""The checkers of notebook 03 accept correct attempts and name each known mistake."""
import numpy as np
import pytest

from course_lib.exercises import check


def sig(a):
    return 1 / (1 + np.exp(-np.clip(a, -500, 500)))


def split3(W):
    """Rows r, z, n of a (3H, ...) weight or a (3H,) bias."""
    H = W.shape[0] // 3
    return W[:H], W[H:2 * H], W[2 * H:]


# --- correct attempts, written independently of the references ------------------

def forward_per_gate(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    """One matmul per gate, as the equations are usually written."""
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = split3(W_ih), split3(W_hh)
    (b_ir, b_iz, b_in), (b_hr, b_hz, b_hn) = split3(b_ih), split3(b_hh)
    r = sig(x @ W_ir.T + b_ir + h_prev @ W_hr.T + b_hr)
    z = sig(x @ W_iz.T + b_iz + h_prev @ W_hz.T + b_hz)
    hn = h_prev @ W_hn.T + b_hn
    n = np.tanh(x @ W_in.T + b_in + r * hn)
    h = n + z * (h_prev - n)
    return h, (x, h_prev, W_ih, W_hh, r, z, n, hn)


def backward_per_gate(dh, cache):
    """The chain rule gate by gate, gradients assembled with np.vstack/np.hstack."""
    x, h_prev, W_ih, W_hh, r, z, n, hn = cache
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = split3(W_ih), split3(W_hh)
    dz_pre = dh * (h_prev - n) * z * (1 - z)
    dn_pre = dh * (1 - z) * (1 - n ** 2)
    dr_pre = dn_pre * hn * r * (1 - r)
    dhn = dn_pre * r
    dx = dr_pre @ W_ir + dz_pre @ W_iz + dn_pre @ W_in
    dh_prev = dh * z + dr_pre @ W_hr + dz_pre @ W_hz + dhn @ W_hn
    dW_ih = np.vstack([dr_pre.T @ x, dz_pre.T @ x, dn_pre.T @ x])
    dW_hh = np.vstack([dr_pre.T @ h_prev, dz_pre.T @ h_prev, dhn.T @ h_prev])
    db_ih = np.hstack([dr_pre.sum(0), dz_pre.sum(0), dn_pre.sum(0)])
    db_hh = np.hstack([dr_pre.sum(0), dz_pre.sum(0), dhn.sum(0)])
    return dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh


@pytest.mark.parametrize("exercise_id, fn", [
    ("03.gru_step_forward", forward_per_gate),
    ("03.gru_step_backward", backward_per_gate),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_attempt_passes(exercise_id, fn, seed):
    report = check(exercise_id, fn, seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("exercise_id", ["03.gru_step_forward", "03.gru_step_backward"])
def test_stub_is_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError()

    assert check(exercise_id, stub).status == "not attempted"


def test_the_reference_itself_is_refused():
    from course_lib.gru import gru_step_forward

    assert check("03.gru_step_forward", gru_step_forward).status == "reference"


# --- known mistakes, written the way a learner would write them -------------------

def failed_with(exercise_id, fn, phrase, hint_phrase):
    report = check(exercise_id, fn)
    assert report.status == "failed", str(report)
    assert phrase in report.message, str(report)
    assert hint_phrase in report.hint, str(report)
    return report


def forward_with(x, h_prev, W_ih, W_hh, b_ih, b_hh, candidate=None, update=None, order="rzn"):
    """forward_per_gate with one learner-style change: `candidate(x, h, r, W_in, b_in, W_hn, b_hn)`
    computes n, `update(z, n, h)` computes h, `order` is the gate order the rows are read in."""
    rows = dict(zip(order, zip(split3(W_ih), split3(W_hh), split3(b_ih), split3(b_hh))))
    W_ir, W_hr, b_ir, b_hr = rows["r"]
    W_iz, W_hz, b_iz, b_hz = rows["z"]
    W_in, W_hn, b_in, b_hn = rows["n"]
    r = sig(x @ W_ir.T + b_ir + h_prev @ W_hr.T + b_hr)
    z = sig(x @ W_iz.T + b_iz + h_prev @ W_hz.T + b_hz)
    if candidate is None:
        n = np.tanh(x @ W_in.T + b_in + r * (h_prev @ W_hn.T + b_hn))
    else:
        n = candidate(x, h_prev, r, W_in, b_in, W_hn, b_hn)
    h = (1 - z) * n + z * h_prev if update is None else update(z, n, h_prev)
    return h, None


def test_forward_cho_variant_gets_the_two_forms_explained():
    def cho(x, h, r, W_in, b_in, W_hn, b_hn):
        return np.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)

    report = failed_with("03.gru_step_forward", lambda *a: forward_with(*a, candidate=cho),
                         "before the hidden matmul (Cho et al. 2014)", "Cho et al. (2014)")
    # The hint explains both forms and which one PyTorch uses.
    assert "W_hn (r * h_prev)" in report.hint and "r * (W_hn h_prev + b_hn)" in report.hint
    assert "PyTorch" in report.hint and "cuDNN" in report.hint


def test_forward_bias_outside_the_reset():
    def bias_outside(x, h, r, W_in, b_in, W_hn, b_hn):
        return np.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T) + b_hn)

    failed_with("03.gru_step_forward", lambda *a: forward_with(*a, candidate=bias_outside),
                "but not b_hn", "b_hn sits inside the reset")


def test_forward_update_gate_swapped():
    failed_with("03.gru_step_forward",
                lambda *a: forward_with(*a, update=lambda z, n, h: z * n + (1 - z) * h),
                "z and (1 - z) swapped", "OLD state")


def test_forward_gate_order_z_r_n():
    failed_with("03.gru_step_forward", lambda *a: forward_with(*a, order="zrn"),
                "wrong order", "r, z, n")


def test_forward_missing_tanh():
    def no_tanh(x, h, r, W_in, b_in, W_hn, b_hn):
        return x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn)

    failed_with("03.gru_step_forward", lambda *a: forward_with(*a, candidate=no_tanh),
                "no tanh", "tanh")


def backward_with(dh, cache, forget=None):
    """backward_per_gate with one learner-style slip, named by `forget`."""
    x, h_prev, W_ih, W_hh, r, z, n, hn = cache
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = split3(W_ih), split3(W_hh)
    dz = dh * (n - h_prev) if forget == "sign" else dh * (h_prev - n)
    dz_pre = dz * z * (1 - z)
    dn = dh * (1 - z)
    dn_pre = dn if forget == "tanh" else dn * (1 - n ** 2)
    dr_pre = np.zeros_like(r) if forget == "reset" else dn_pre * hn * r * (1 - r)
    dhn = dn_pre if forget == "r on hidden" else dn_pre * r
    dx = dr_pre @ W_ir + dz_pre @ W_iz + dn_pre @ W_in
    dh_prev = dr_pre @ W_hr + dz_pre @ W_hz + dhn @ W_hn
    if forget != "direct":
        dh_prev = dh_prev + dh * z
    dW_ih = np.vstack([dr_pre.T @ x, dz_pre.T @ x, dn_pre.T @ x])
    dW_hh = np.vstack([dr_pre.T @ h_prev, dz_pre.T @ h_prev, dhn.T @ h_prev])
    db_ih = np.hstack([dr_pre.sum(0), dz_pre.sum(0), dn_pre.sum(0)])
    db_hh = np.hstack([dr_pre.sum(0), dz_pre.sum(0), dhn.sum(0)])
    return dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh


@pytest.mark.parametrize("forget, phrase, hint_phrase", [
    ("reset", "no gradient through the reset gate", "dr = da_n * hn"),
    ("direct", "direct path", "dh * z"),
    ("sign", "wrong sign", "h_prev - n"),
    ("r on hidden", "not multiplied by r", "da_n * r"),
    ("tanh", "tanh derivative", "1 - n**2"),
])
def test_backward_mistake_is_named(forget, phrase, hint_phrase):
    failed_with("03.gru_step_backward", lambda dh, cache: backward_with(dh, cache, forget),
                phrase, hint_phrase)


def test_backward_helper_without_slips_passes():
    """backward_with itself is right when nothing is forgotten, so each slip alone is tested."""
    assert check("03.gru_step_backward", lambda dh, cache: backward_with(dh, cache)).passed


def test_an_unknown_mistake_fails_without_a_hint():
    def wrong(x, h_prev, W_ih, W_hh, b_ih, b_hh):
        h, cache = forward_per_gate(x, h_prev, W_ih, W_hh, b_ih, b_hh)
        return h + 0.01 * h ** 2, cache

    report = check("03.gru_step_forward", wrong)
    assert report.status == "failed" and not report.hint, str(report)


def test_an_output_off_by_a_constant_factor_is_named():
    def wrong(x, h_prev, W_ih, W_hh, b_ih, b_hh):
        h, cache = forward_per_gate(x, h_prev, W_ih, W_hh, b_ih, b_hh)
        return 0.9 * h, cache

    report = check("03.gru_step_forward", wrong)
    assert "h the right one times 0.9" in report.message and report.hint, str(report)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gru_cache_with_r_times_hn_fails_in_the_forward_check(seed):
    def attempt(x, h_prev, W_ih, W_hh, b_ih, b_hh):
        h, (x, h_prev, W_ih, W_hh, r, z, n, hn) = forward_per_gate(x, h_prev, W_ih, W_hh, b_ih, b_hh)
        return h, (x, h_prev, W_ih, W_hh, r, z, n, r * hn)
    report = check("03.gru_step_forward", attempt, seed=seed)
    assert report.status == "failed" and "cannot make a correct backward pass" in report.message
    assert "the cache holding r * hn where hn belongs" in report.message


def test_gru_pair_is_graded_on_the_learners_own_cache():
    # The learner's forward makes the caches the learner's backward reads.
    assert check("03.gru_step_backward", backward_per_gate, forward=forward_per_gate).passed
