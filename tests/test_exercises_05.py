"""The checkers of notebook 05 accept correct attempts and name each known mistake."""
import numpy as np
import pytest

from course_lib.exercises import check

# The wrong attempts below make NaN on purpose (an all -inf row), as a learner's would.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


# --- correct attempts, written independently of the references ------------------

def softmax_attempt(scores, mask, axis=-1, how="where", force_axis=None):
    """A learner's masked softmax, written with moveaxis; `how` and `force_axis` make mistakes."""
    axis = axis if force_axis is None else force_axis
    s = np.moveaxis(np.asarray(scores, dtype=float), axis, -1)
    m = np.moveaxis(np.asarray(mask, dtype=bool), axis, -1)
    if how == "no mask":
        e = np.exp(s - s.max(-1, keepdims=True))
        w = e / e.sum(-1, keepdims=True)
    elif how == "mask after":
        e = np.exp(s - s.max(-1, keepdims=True))
        w = e / e.sum(-1, keepdims=True) * m
    elif how == "minus 1e9":
        s = np.where(m, s, -1e9)
        e = np.exp(s - s.max(-1, keepdims=True))
        w = e / e.sum(-1, keepdims=True)
    elif how == "additive mask":
        s = s + (m - 1.0) * 1e9
        e = np.exp(s - s.max(-1, keepdims=True))
        w = e / e.sum(-1, keepdims=True)
    else:  # the right way: one row at a time, the kept finite scores only
        w = np.zeros_like(s)
        for index in np.ndindex(s.shape[:-1]):
            keep = m[index] & np.isfinite(s[index])
            if keep.any():
                e = np.exp(s[index][keep] - s[index][keep].max())
                w[index][keep] = e / e.sum()
    return np.moveaxis(w, -1, axis)


def additive_attempt(query, keys, mask, W_q, W_k, v, tanh=True, masked=True, axis=-1, values_projected=False):
    N, S, _ = keys.shape
    scores = np.zeros((N, S))
    for n in range(N):
        for s in range(S):
            a = query[n] @ W_q + keys[n, s] @ W_k
            scores[n, s] = v @ (np.tanh(a) if tanh else a)
    weights = softmax_attempt(scores, mask if masked else np.ones_like(mask), axis=axis)
    values = keys @ W_k if values_projected else keys
    return (weights[:, :, None] * values).sum(axis=1), weights


def dot_attempt(query, keys, mask, masked=True, scaled=False, axis=-1):
    scores = (keys @ query[:, :, None])[:, :, 0]
    if scaled:
        scores = scores / np.sqrt(query.shape[1])
    weights = softmax_attempt(scores, mask if masked else np.ones_like(mask), axis=axis)
    return (weights[:, :, None] * keys).sum(axis=1), weights


@pytest.mark.parametrize("exercise_id, fn", [
    ("05.masked_softmax", softmax_attempt),
    ("05.additive_attention", additive_attempt),
    ("05.dot_product_attention", dot_attempt),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_attempt_passes(exercise_id, fn, seed):
    report = check(exercise_id, fn, seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("exercise_id", ["05.masked_softmax", "05.additive_attention", "05.dot_product_attention"])
def test_stub_is_not_attempted(exercise_id):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    assert check(exercise_id, stub).status == "not attempted"


def test_the_cases_cover_padding_batch_size_1_and_a_length_1_source():
    from course_lib.exercises import get

    for exercise_id in ["05.masked_softmax", "05.additive_attention", "05.dot_product_attention"]:
        names = " | ".join(c.name for c in get(exercise_id).cases(np.random.default_rng(0)))
        for phrase in ["padding", "batch size 1", "length-1 source"]:
            assert phrase in names, (exercise_id, phrase)


# --- known mistakes, written the way a learner would write them -------------------

def failed_with(exercise_id, fn, phrase, seed=0):
    report = check(exercise_id, fn, seed=seed)
    assert report.status == "failed", str(report)
    assert phrase in report.message, str(report)
    assert report.hint, str(report)
    return report


@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_over_the_wrong_axis(seed):
    report = failed_with("05.masked_softmax", lambda s, m, axis=-1: softmax_attempt(s, m, force_axis=0),
                         "over axis 0 instead of `axis`", seed)
    assert "keepdims=True" in report.hint


@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_without_the_mask(seed):
    report = failed_with("05.masked_softmax", lambda s, m, axis=-1: softmax_attempt(s, m, axis, how="no mask"),
                         "no mask", seed)
    assert "-inf" in report.hint


@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_mask_after_without_renormalising(seed):
    report = failed_with("05.masked_softmax", lambda s, m, axis=-1: softmax_attempt(s, m, axis, how="mask after"),
                         "mask applied after the softmax, without renormalising", seed)
    assert "sum to 1" in report.hint


def test_softmax_padding_at_minus_1e9():
    report = failed_with("05.masked_softmax", lambda s, m, axis=-1: softmax_attempt(s, m, axis, how="minus 1e9"),
                         "large negative score (-1e9)")
    assert "all zeros" in report.hint


def test_softmax_additive_mask():
    report = failed_with("05.masked_softmax", lambda s, m, axis=-1: softmax_attempt(s, m, axis, how="additive mask"),
                         "additive mask")
    assert "1e30" in report.hint


def test_softmax_nan_on_empty_rows_is_reported():
    def naive(scores, mask, axis=-1):
        s = np.where(mask, scores, -np.inf)
        e = np.exp(s - s.max(axis, keepdims=True))
        return e / e.sum(axis, keepdims=True)

    report = check("05.masked_softmax", naive)
    assert report.status == "failed" and "NaN" in report.message, str(report)


@pytest.mark.parametrize("kwargs, phrase", [
    (dict(masked=False), "no mask"),
    (dict(tanh=False), "no tanh"),
    (dict(axis=0), "over the batch axis"),
    (dict(values_projected=True), "projected keys"),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_additive_attention_mistakes(kwargs, phrase, seed):
    failed_with("05.additive_attention", lambda *a: additive_attempt(*a, **kwargs), phrase, seed)


@pytest.mark.parametrize("kwargs, phrase", [
    (dict(masked=False), "no mask"),
    (dict(scaled=True), "divided by sqrt(H)"),
    (dict(axis=0), "over the batch axis"),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_dot_product_attention_mistakes(kwargs, phrase, seed):
    failed_with("05.dot_product_attention", lambda *a: dot_attempt(*a, **kwargs), phrase, seed)


def test_additive_attention_with_the_weights_not_the_context_fails_without_a_hint():
    report = check("05.additive_attention",
                   lambda q, k, m, W_q, W_k, v: additive_attempt(q, k, m, W_q, W_k, v)[::-1])
    assert report.status == "failed" and report.hint == ""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_softmax_without_max_fails_on_large_scores(seed):
    def attempt(scores, mask, axis=-1):
        with np.errstate(all="ignore"):
            e = np.where(mask, np.exp(scores), 0.0)
            total = e.sum(axis=axis, keepdims=True)
            return e / np.where(total > 0, total, 1.0)
    report = check("05.masked_softmax", attempt, seed=seed)
    assert report.status == "failed" and "large scores (around 1000)" in report.message
