"""Notebook 01's checkers: a correct attempt passes, and each known mistake is recognised.

The attempts below are written the way a learner would write them, outside course_lib
(the checker refuses course_lib's own functions). Each buggy attempt must fail and get
the hint of its mistake, on the notebook's cases (seed 0) and on hidden ones (seeds 1, 2).
"""
import numpy as np
import pytest

from course_lib.exercises import all_exercises, check, get

SEEDS = [0, 1, 2]


def assert_passes(exercise_id, fn):
    for seed in SEEDS:
        report = check(exercise_id, fn, seed=seed)
        assert report.status == "passed", str(report)


def assert_recognised(exercise_id, fn, description_start):
    """fn fails, and the report names the mistake whose description starts so, with its hint."""
    mistakes = [m for m in get(exercise_id).mistakes if m.description.startswith(description_start)]
    assert len(mistakes) == 1, f"no single mistake of {exercise_id} starts with {description_start!r}"
    for seed in SEEDS:
        report = check(exercise_id, fn, seed=seed)
        assert report.status == "failed", str(report)
        assert report.hint == mistakes[0].hint, str(report)
        assert mistakes[0].description in report.message


def test_every_registered_mistake_is_recognised():
    # The wrapper hides that the mistake lives in course_lib, as a learner's copy would.
    for ex in all_exercises("01"):
        for mistake in ex.mistakes:
            def attempt(*args, _fn=mistake.fn, **kwargs):
                return _fn(*args, **kwargs)
            report = check(ex.id, attempt)
            assert report.status == "failed" and report.hint == mistake.hint, (ex.id, mistake.description)


def test_stubs_are_not_attempted():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for ex in all_exercises("01"):
        assert check(ex.id, stub).status == "not attempted"


# --- softmax_cross_entropy ---------------------------------------------------

def _softmax_ce(logits, y, ignore_index=-1, stable=True, mask=True, divide_by_valid=True):
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = y.reshape(-1)
    if stable:
        z = z - z.max(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        valid = (y != ignore_index) if mask else np.ones(len(y), dtype=bool)
        n = max(valid.sum(), 1) if divide_by_valid else len(y)
        rows = np.arange(len(y))
        safe_y = np.where(valid, y, 0) if mask else y
        loss = -np.sum(np.log(probs[rows, safe_y]) * valid) / n
        dlogits = probs.copy()
        dlogits[rows, safe_y] -= 1
        dlogits = dlogits * valid[:, None] / n
    return loss, dlogits.reshape(logits.shape)


def test_softmax_ce_correct_attempt_passes():
    assert_passes("01.softmax_cross_entropy", lambda logits, y, ignore_index=-1: _softmax_ce(logits, y, ignore_index))


def test_softmax_ce_without_max_subtraction_overflows():
    def attempt(logits, y, ignore_index=-1):
        return _softmax_ce(logits, y, ignore_index, stable=False)
    assert_recognised("01.softmax_cross_entropy", attempt, "no max-subtraction")
    report = check("01.softmax_cross_entropy", attempt)
    assert "large logits" in report.message and "NaN" in report.message


def test_softmax_ce_log_sum_exp_without_max():
    def attempt(logits, y, ignore_index=-1):
        V = logits.shape[-1]
        z, y = logits.reshape(-1, V), y.reshape(-1)
        with np.errstate(all="ignore"):
            log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
            valid = y != ignore_index
            rows, t = np.arange(len(y)), np.where(valid, y, 0)
            n = max(valid.sum(), 1)
            loss = -np.sum(log_probs[rows, t] * valid) / n
            d = np.exp(log_probs)
            d[rows, t] -= 1
        return loss, (d * valid[:, None] / n).reshape(logits.shape)
    assert_recognised("01.softmax_cross_entropy", attempt, "log-softmax computed as")


def test_softmax_ce_ignored_positions_counted():
    def attempt(logits, y, ignore_index=-1):
        return _softmax_ce(logits, y, ignore_index, mask=False, divide_by_valid=False)
    assert_recognised("01.softmax_cross_entropy", attempt, "the ignored positions counted")


def test_softmax_ce_mean_over_all_positions():
    def attempt(logits, y, ignore_index=-1):
        return _softmax_ce(logits, y, ignore_index, divide_by_valid=False)
    assert_recognised("01.softmax_cross_entropy", attempt, "the mean taken over all")


# --- rnn_step_backward ---------------------------------------------------------

def _step_backward(dh, cache, derivative="h"):
    x, h_prev, Wx, Wh, h = cache
    if derivative == "h":
        da = dh * (1 - h ** 2)
    else:  # the mistake: differentiate at the pre-activation's value as if it were tanh's output
        a = x @ Wx + h_prev @ Wh
        da = dh * (1 - a ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, np.sum(da, axis=0)


def test_rnn_step_backward_correct_attempt_passes():
    assert_passes("01.rnn_step_backward", lambda dh, cache: _step_backward(dh, cache))


def test_rnn_step_backward_tanh_derivative_from_pre_activation():
    assert_recognised("01.rnn_step_backward", lambda dh, cache: _step_backward(dh, cache, "a"),
                      "tanh'(a) computed as 1 - a**2")


def test_rnn_step_backward_tanh_applied_twice():
    def attempt(dh, cache):
        x, h_prev, Wx, Wh, h = cache
        da = dh * (1 - np.tanh(h) ** 2)
        return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    assert_recognised("01.rnn_step_backward", attempt, "tanh'(a) computed as 1 - tanh(h)**2")


def test_rnn_step_backward_db_not_summed_over_batch():
    def attempt(dh, cache):
        x, h_prev, Wx, Wh, h = cache
        da = dh * (1 - h * h)
        return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da
    assert_recognised("01.rnn_step_backward", attempt, "db not summed")


# --- rnn_backward: accumulation across time ----------------------------------------

def _rnn_backward(dhs, cache, carry=True, accumulate=True):
    N, T, H = dhs.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dh_prev = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dh = dhs[:, t] + dh_prev if carry else dhs[:, t]
        dx[:, t], dh_prev, dWx_t, dWh_t, db_t = _step_backward(dh, cache[t])
        if accumulate:
            dWx += dWx_t
            dWh += dWh_t
            db += db_t
        else:
            dWx, dWh, db = dWx_t, dWh_t, db_t
    return dx, dh_prev, dWx, dWh, db


def test_rnn_backward_correct_attempt_passes():
    assert_passes("01.rnn_backward", lambda dhs, cache: _rnn_backward(dhs, cache))


def test_rnn_backward_missing_gradient_from_next_step():
    assert_recognised("01.rnn_backward", lambda dhs, cache: _rnn_backward(dhs, cache, carry=False),
                      "the gradient from step t+1 not added")


def test_rnn_backward_weight_gradients_not_accumulated_over_time():
    assert_recognised("01.rnn_backward", lambda dhs, cache: _rnn_backward(dhs, cache, accumulate=False),
                      "the weight gradients of one time step kept")


# --- clip_grad_norm ----------------------------------------------------------------

def test_clip_grad_norm_correct_attempt_passes():
    def attempt(grads, max_norm):
        total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
        scale = min(1.0, max_norm / total)
        return {k: g * scale for k, g in grads.items()}, total
    assert_passes("01.clip_grad_norm", attempt)


def test_clip_grad_norm_in_place_attempt_fails():
    # Scaling the given arrays in place changes the caller's gradients: the exercise
    # returns new arrays (issue 11: arrays inside a dict argument changed in place).
    def attempt(grads, max_norm):
        total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        if total > max_norm:
            for g in grads.values():
                g *= max_norm / total
        return grads, total
    for seed in SEEDS:
        report = check("01.clip_grad_norm", attempt, seed=seed)
        assert report.status == "failed" and "in place" in report.message, str(report)
        assert "grads['" in report.message and "copies" in report.hint


def test_clip_grad_norm_per_element_clipping():
    def attempt(grads, max_norm):
        total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
        return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, total
    assert_recognised("01.clip_grad_norm", attempt, "each entry clipped")


def test_clip_grad_norm_per_array_norm():
    def attempt(grads, max_norm):
        total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
        out = {}
        for k, g in grads.items():
            norm = np.linalg.norm(g)
            out[k] = g * max_norm / norm if norm > max_norm else g
        return out, total
    assert_recognised("01.clip_grad_norm", attempt, "each array rescaled")


# --- sample_with_temperature ------------------------------------------------------

def test_sample_correct_attempts_pass():
    def with_choice(logits, temperature, rng):
        z = logits / temperature
        p = np.exp(z - z.max())
        return int(rng.choice(len(p), p=p / p.sum()))

    def with_searchsorted(logits, temperature, rng):
        z = logits / temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        return int(np.searchsorted(np.cumsum(p), rng.random(), side="right"))

    assert_passes("01.sample_with_temperature", with_choice)
    assert_passes("01.sample_with_temperature", with_searchsorted)


def test_sample_temperature_multiplied():
    def attempt(logits, temperature, rng):
        z = logits * temperature
        p = np.exp(z - z.max())
        return int(rng.choice(len(p), p=p / p.sum()))
    assert_recognised("01.sample_with_temperature", attempt, "the logits multiplied")


def test_sample_greedy():
    assert_recognised("01.sample_with_temperature",
                      lambda logits, temperature, rng: int(np.argmax(logits)), "the argmax taken")


def test_sample_without_max_subtraction_fails_on_large_logits():
    def attempt(logits, temperature, rng):
        with np.errstate(all="ignore"):
            p = np.exp(logits / temperature)
            return int(rng.choice(len(p), p=p / p.sum()))
    report = check("01.sample_with_temperature", attempt)
    assert not report.passed and "large logits" in report.message


# --- the original two exercises still pass a correct attempt -------------------------

def test_one_hot_and_step_forward_correct_attempts_pass():
    def one_hot(ids, V):
        out = np.zeros((len(ids), V))
        out[np.arange(len(ids)), ids] = 1
        return out

    def rnn_step_forward(x, h_prev, Wx, Wh, b):
        h = np.tanh(x @ Wx + h_prev @ Wh + b)
        return h, (x, h_prev, Wx, Wh, h)

    assert_passes("01.one_hot", one_hot)
    assert_passes("01.rnn_step_forward", rnn_step_forward)


def first_array(case):
    """The first array among a case's arguments (inside a dict of gradients, if need be)."""
    first = case.args[0]
    return np.asarray(next(iter(first.values())) if isinstance(first, dict) else first)


@pytest.mark.parametrize("exercise_id", ["01.softmax_cross_entropy", "01.rnn_step_backward",
                                         "01.rnn_backward", "01.clip_grad_norm",
                                         "01.sample_with_temperature"])
def test_hidden_cases_differ_from_the_notebook_cases(exercise_id):
    # A different seed must give different cases, or "hidden" tests would be the visible ones.
    ex = get(exercise_id)
    visible, hidden = ex.cases(np.random.default_rng(0)), ex.cases(np.random.default_rng(1))
    assert any(not np.array_equal(first_array(a), first_array(b)) for a, b in zip(visible, hidden))


# --- the cases added for issue 11, each held to the bug it exists to catch ------------

def failing_case(exercise_id, fn, seed=0):
    """The name of the first case the attempt fails on, from the report's message."""
    report = check(exercise_id, fn, seed=seed)
    assert report.status in ("failed", "error"), str(report)
    return report, report.message.split("'")[1]


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_ce_global_max_fails_on_rows_of_very_different_scale(seed):
    def attempt(logits, y, ignore_index=-1):
        return _softmax_ce(logits - logits.max(), y, ignore_index, stable=False)  # one max for all rows
    report, case = failing_case("01.softmax_cross_entropy", attempt, seed)
    assert case.startswith("rows of very different scale")


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_ce_zero_division_fails_on_an_all_padding_batch(seed):
    def attempt(logits, y, ignore_index=-1):
        loss, d = _softmax_ce(logits, y, ignore_index)
        n = (np.asarray(y) != ignore_index).sum()
        with np.errstate(all="ignore"):
            scale = max(n, 1) / n  # 0 valid positions: inf * 0 = NaN, as 0 / 0 gives
        return loss * scale, d * scale
    report, case = failing_case("01.softmax_cross_entropy", attempt, seed)
    assert case == "a batch that is all padding" and "no valid position" in report.message


@pytest.mark.parametrize("seed", SEEDS)
def test_temperature_max_before_dividing_fails_at_low_temperature(seed):
    def attempt(logits, temperature, rng):
        z = np.asarray(logits, dtype=float)
        with np.errstate(all="ignore"):
            p = np.exp(z / temperature - z.max())
        return int(rng.choice(len(p), p=p / p.sum()))
    report, case = failing_case("01.sample_with_temperature", attempt, seed)
    assert case.startswith("large logits (around 1000), temperature 0.")
    assert float(case.rsplit(" ", 1)[1]) <= 0.1


@pytest.mark.parametrize("seed", SEEDS)
def test_one_hot_width_from_the_ids_fails_on_an_unused_last_id(seed):
    def attempt(ids, V):
        return np.eye(int(np.max(ids)) + 1)[ids]
    report, case = failing_case("01.one_hot", attempt, seed)
    assert "vocab_size" in report.hint


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_step_backward_with_arctanh_is_named(seed):
    def attempt(dh, cache):
        x, h_prev, Wx, Wh, h = cache
        with np.errstate(all="ignore"):
            da = dh * (1 - np.arctanh(h) ** 2)
        return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    assert_recognised("01.rnn_step_backward", attempt, "tanh'(a) computed as 1 - arctanh(h)")
