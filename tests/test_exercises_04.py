"""The checkers of notebook 04 accept correct attempts and name each known mistake."""
import numpy as np
import pytest

from course_lib.exercises import check


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# --- correct attempts, written independently of the references ------------------

def step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, order="ifgo", tanh_c=True, g_act=np.tanh):
    """A learner's LSTM step; `order`, `tanh_c` and `g_act` let the tests make known mistakes."""
    gates = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    parts = dict(zip(order, np.split(gates, 4, axis=1)))
    i, f, o = sigmoid(parts["i"]), sigmoid(parts["f"]), sigmoid(parts["o"])
    g = g_act(parts["g"])
    c = f * c_prev + i * g
    h = o * np.tanh(c) if tanh_c else o * c
    return h, c, (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, np.tanh(c))


def step_backward(dh, dc, cache, through_h=True, dtanh_of_c=False, transposed=False):
    """A learner's backward step, written gate by gate; the flags make known mistakes."""
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tanh_c = cache
    c = np.arctanh(np.clip(tanh_c, -1 + 1e-16, 1 - 1e-16)) if dtanh_of_c else None
    dtanh = 1 - c**2 if dtanh_of_c else 1 - tanh_c**2
    dc_total = dc + dh * o * dtanh if through_h else dc
    d_o = dh * tanh_c * o * (1 - o)
    d_i = dc_total * g * i * (1 - i)
    d_f = dc_total * c_prev * f * (1 - f)
    d_g = dc_total * i * (1 - g**2)
    da = np.hstack([d_i, d_f, d_g, d_o])
    dW_ih, dW_hh = da.T @ x, da.T @ h_prev
    if transposed:
        dW_ih, dW_hh = x.T @ da, h_prev.T @ da
    return da @ W_ih, da @ W_hh, dc_total * f, dW_ih, dW_hh, da.sum(0), da.sum(0)


def forget_bias_split(b_ih, b_hh, value=1.0):
    # Half in each: the sum is what the gate sees, so this is right too.
    H = b_ih.shape[0] // 4
    b_ih, b_hh = np.array(b_ih), np.array(b_hh)
    b_ih[H:2 * H] = value / 2
    b_hh[H:2 * H] = value / 2
    return b_ih, b_hh


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def top_k(logits, k, temperature, rng, keep=None, renormalise=True, reverse=False):
    """Keeps every logit tied with the k-th largest (the course's rule)."""
    scaled = logits / temperature
    keep = k if keep is None else keep
    if reverse:
        kept = np.flatnonzero(scaled <= np.sort(scaled)[keep - 1])
    else:
        kept = np.flatnonzero(scaled >= np.sort(scaled)[-keep])
    if renormalise:
        masked = np.full_like(scaled, -np.inf)
        masked[kept] = scaled[kept]
        return rng.choice(len(scaled), p=softmax(masked))
    probs = np.zeros_like(scaled)
    probs[kept] = softmax(scaled)[kept]
    return int(np.searchsorted(np.cumsum(probs), rng.random(), side="right"))


def top_p(logits, p, temperature, rng, crossing_kept=True, temperature_first=True, renormalise=True):
    scaled = logits / temperature
    probs = softmax(scaled if temperature_first else logits)
    order = np.argsort(-probs, kind="stable")
    total, kept = 0.0, []
    for index in order:
        if crossing_kept:
            if total >= p:
                break
            kept.append(index)
            total += probs[index]
        else:
            total += probs[index]
            if total >= p:
                break
            kept.append(index)
    kept = np.array(kept, dtype=int)
    if renormalise:
        masked = np.full_like(scaled, -np.inf)
        masked[kept] = scaled[kept]
        return int(rng.choice(len(scaled), p=softmax(masked)))
    probs = np.zeros_like(scaled)
    probs[kept] = softmax(scaled)[kept]
    return int(np.searchsorted(np.cumsum(probs), rng.random(), side="right"))


@pytest.mark.parametrize("exercise_id, fn", [
    ("04.lstm_step_forward", step_forward),
    ("04.lstm_step_backward", step_backward),
    ("04.forget_bias_init", forget_bias_split),
    ("04.sample_top_k", top_k),
    ("04.sample_top_p", top_p),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_attempt_passes(exercise_id, fn, seed):
    report = check(exercise_id, fn, seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("exercise_id", [
    "04.lstm_step_forward", "04.lstm_step_backward", "04.forget_bias_init",
    "04.sample_top_k", "04.sample_top_p"])
def test_stub_is_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError()

    assert check(exercise_id, stub).status == "not attempted"


# --- known mistakes, written the way a learner would write them -------------------

def failed_with(exercise_id, fn, phrase, seed=0):
    report = check(exercise_id, fn, seed=seed)
    assert report.status == "failed", str(report)
    assert phrase in report.message, str(report)
    assert report.hint, str(report)
    return report


@pytest.mark.parametrize("order", ["ifog", "figo", "igfo"])
def test_forward_wrong_gate_order(order):
    report = failed_with("04.lstm_step_forward", lambda *a: step_forward(*a, order=order),
                         f"order {', '.join(order)} instead of i, f, g, o")
    assert "i, f, g, o" in report.hint


def test_forward_missing_tanh_on_cell_output():
    report = failed_with("04.lstm_step_forward", lambda *a: step_forward(*a, tanh_c=False),
                         "h = o * c instead of h = o * tanh(c)")
    assert "tanh(c)" in report.hint


def test_forward_sigmoid_candidate():
    failed_with("04.lstm_step_forward", lambda *a: step_forward(*a, g_act=sigmoid),
                "sigmoid on the cell candidate")


def test_forward_one_bias():
    def one_bias(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        return step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, np.zeros_like(b_hh))

    failed_with("04.lstm_step_forward", one_bias, "b_hh left out")


def test_backward_without_the_path_through_h():
    failed_with("04.lstm_step_backward", lambda *a: step_backward(*a, through_h=False),
                "without the path through")


def test_backward_tanh_derivative_of_c():
    failed_with("04.lstm_step_backward", lambda *a: step_backward(*a, dtanh_of_c=True),
                "1 - c**2")


def test_backward_transposed_weight_gradients():
    report = failed_with("04.lstm_step_backward", lambda *a: step_backward(*a, transposed=True),
                         "transposed")
    assert "(4H, D)" in report.hint


def forget_bias_attempt(quarter=1, both=False, touch_hh=True):
    def attempt(b_ih, b_hh, value=1.0):
        H = len(b_ih) // 4
        b_ih, b_hh = b_ih.copy(), b_hh.copy()
        b_ih[quarter * H:(quarter + 1) * H] = value
        if touch_hh:
            b_hh[quarter * H:(quarter + 1) * H] = value if both else 0
        return b_ih, b_hh
    return attempt


def test_forget_bias_both_set_doubles_it():
    report = failed_with("04.forget_bias_init", forget_bias_attempt(both=True), "twice the value")
    assert "2.0" in report.hint


def test_forget_bias_b_hh_left_random():
    failed_with("04.forget_bias_init", forget_bias_attempt(touch_hh=False), "random initial value")


@pytest.mark.parametrize("quarter, phrase", [(0, "input gate"), (2, "cell candidate"),
                                             (3, "output gate")])
def test_forget_bias_wrong_quarter(quarter, phrase):
    report = failed_with("04.forget_bias_init", forget_bias_attempt(quarter=quarter), phrase)
    assert "b[H:2*H]" in report.hint


def test_forget_bias_in_place_is_refused():
    def in_place(b_ih, b_hh, value=1.0):
        H = len(b_ih) // 4
        b_ih[H:2 * H], b_hh[H:2 * H] = value, 0
        return b_ih, b_hh

    report = check("04.forget_bias_init", in_place)
    assert report.status == "failed" and "in place" in report.message


@pytest.mark.parametrize("seed", [0, 1])
def test_top_k_keeps_k_minus_1(seed):
    failed_with("04.sample_top_k", lambda l, k, t, r: top_k(l, k, t, r, keep=k - 1), "k - 1", seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_top_k_keeps_k_plus_1(seed):
    failed_with("04.sample_top_k", lambda l, k, t, r: top_k(l, k, t, r, keep=k + 1), "k + 1", seed)


def test_top_k_lowest():
    failed_with("04.sample_top_k", lambda l, k, t, r: top_k(l, k, t, r, reverse=True), "lowest")


@pytest.mark.parametrize("seed", [0, 1])
def test_top_k_not_renormalised(seed):
    report = failed_with("04.sample_top_k", lambda *a: top_k(*a, renormalise=False),
                         "not renormalised", seed)
    assert "Renormalise" in report.hint


@pytest.mark.parametrize("seed", [0, 1])
def test_top_p_crossing_character_dropped(seed):
    failed_with("04.sample_top_p", lambda *a: top_p(*a, crossing_kept=False),
                "takes the running total past p", seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_top_p_temperature_after_the_cut(seed):
    failed_with("04.sample_top_p", lambda *a: top_p(*a, temperature_first=False),
                "temperature applied after the cut", seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_top_p_not_renormalised(seed):
    failed_with("04.sample_top_p", lambda *a: top_p(*a, renormalise=False), "not renormalised", seed)


def test_top_k_ignoring_k_fails_without_a_hint():
    def attempt(logits, k, t, rng):
        return int(rng.choice(len(logits), p=softmax(logits / t) ** 0 / len(logits)))
    report = check("04.sample_top_k", attempt)
    assert report.status == "failed"
    assert report.hint == ""


def test_top_k_argmax_never_draws_from_the_generator():
    report = check("04.sample_top_k", lambda logits, k, t, rng: int(np.argmax(logits)))
    assert report.status == "failed" and "rng" in report.hint, str(report)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_k_breaking_ties_by_position_is_caught(seed):
    # np.argsort keeps exactly k; the rule keeps every logit tied with the k-th largest.
    def attempt(logits, k, temperature, rng):
        scaled = logits / temperature
        kept = np.argsort(-scaled)[:k]
        masked = np.full_like(scaled, -np.inf)
        masked[kept] = scaled[kept]
        return int(rng.choice(len(scaled), p=softmax(masked)))
    report = check("04.sample_top_k", attempt, seed=seed)
    assert report.status == "failed" and "tie" in report.message and "np.sort(scaled)[-k]" in report.hint, str(report)


def test_unnormalised_rng_choice_is_an_error_not_a_pass():
    # rng.choice refuses probabilities that do not sum to 1: the learner sees numpy's message.
    def unnormalised(logits, k, temperature, rng):
        probs = softmax(logits / temperature)
        probs[np.argsort(-probs)[k:]] = 0
        return rng.choice(len(probs), p=probs)

    report = check("04.sample_top_k", unnormalised)
    assert report.status == "error"
    assert "sum to 1" in report.trace


# --- the cases added for issue 11 --------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forget_bias_folding_b_hh_into_b_ih_fails(seed):
    def attempt(b_ih, b_hh, value=1.0):
        H = len(b_ih) // 4
        b_ih, b_hh = b_ih + b_hh, np.zeros_like(b_hh)  # the sums are right, the parameters not
        b_ih[H:2 * H] = value
        return b_ih, b_hh
    report = check("04.forget_bias_init", attempt, seed=seed)
    assert report.status == "failed" and "outside the forget quarter" in report.message
    assert "b_hh folded into b_ih" in report.message


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lstm_cache_with_c_for_tanh_c_fails_in_the_forward_check(seed):
    def attempt(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        h, c, cache = lstm_forward_attempt(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh)
        return h, c, cache[:-1] + (c,)
    report = check("04.lstm_step_forward", attempt, seed=seed)
    assert report.status == "failed" and "cannot make a correct backward pass" in report.message
    assert "the cache holding c where tanh(c) belongs" in report.message


def lstm_forward_attempt(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    i, f, g, o = (1 / (1 + np.exp(-a[:, :H])), 1 / (1 + np.exp(-a[:, H:2 * H])),
                  np.tanh(a[:, 2 * H:3 * H]), 1 / (1 + np.exp(-a[:, 3 * H:])))
    c = f * c_prev + i * g
    return o * np.tanh(c), c, (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, np.tanh(c))


def test_lstm_forward_attempt_passes():
    assert check("04.lstm_step_forward", lstm_forward_attempt).passed


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_k_exp_without_max_fails_on_large_logits_at_low_temperature(seed):
    def attempt(logits, k, temperature, rng):
        s = np.asarray(logits, dtype=float) / temperature
        s = np.where(s < np.sort(s)[-k], -np.inf, s)
        with np.errstate(all="ignore"):
            p = np.exp(s) / np.exp(s).sum()  # no max-subtraction
        return int(rng.choice(len(p), p=p))
    report = check("04.sample_top_k", attempt, seed=seed)
    assert report.status == "error" and "large logits, low temperature" in report.message
