"""The checker framework on correct, wrong, crashing, NaN, slow and mischievous attempts."""
import numpy as np
import pytest

from course_lib import layers
from course_lib.exercises import all_exercises, check, check_and_use, get, summary_line


def correct_step(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)


def test_a_correct_attempt_passes_with_full_points():
    report = check("01.rnn_step_forward", correct_step)
    assert report.passed and report.score == report.points == 2
    assert report.cases_passed == report.cases_total >= 4


def test_sigmoid_in_place_of_tanh_gets_its_specific_hint():
    def attempt(x, h_prev, Wx, Wh, b):
        return 1 / (1 + np.exp(-(x @ Wx + h_prev @ Wh + b))), None

    report = check("01.rnn_step_forward", attempt)
    assert report.status == "failed" and report.score == 0
    assert "sigmoid in place of tanh" in report.message
    assert "np.tanh" in report.hint


@pytest.mark.parametrize("description, attempt", [
    ("Wh transposed", lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh.T + b), None)),
    ("the bias left out", lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh), None)),
])
def test_other_known_mistakes_are_named(description, attempt):
    report = check("01.rnn_step_forward", attempt)
    assert description in report.message and report.hint


def test_a_wrong_shape_is_reported_with_both_shapes():
    report = check("01.rnn_step_forward", lambda x, h, Wx, Wh, b: (correct_step(x, h, Wx, Wh, b)[0].T, None))
    assert "h has shape (5, 3), expected (3, 5)" in report.message


def test_a_wrong_dtype_is_reported():
    report = check("01.one_hot", lambda ids, V: np.eye(V, dtype=np.int64)[ids])
    assert "dtype int64, expected float64" in report.message


def test_a_crash_is_reported_with_a_trimmed_traceback():
    def attempt(x, h_prev, Wx, Wh, b):
        return np.tanh(x @ Wx + h_prev @ Wh + bias), None  # noqa: F821 (the bug)

    report = check("01.rnn_step_forward", attempt)
    assert report.status == "error" and "NameError" in report.message
    assert "bias" in report.trace and "in attempt" in report.trace
    assert "course_lib" not in report.trace  # our plumbing is trimmed away


def test_nan_output_is_reported():
    report = check("01.rnn_step_forward", lambda x, h, Wx, Wh, b: (np.full((x.shape[0], Wh.shape[0]), np.nan), None))
    assert "contains NaN" in report.message


def test_changing_an_input_in_place_is_reported():
    def attempt(x, h_prev, Wx, Wh, b):
        x *= 1.0
        b += 1.0  # the bug: changes the caller's array
        return np.tanh(x @ Wx + h_prev @ Wh + b - 1.0), None

    report = check("01.rnn_step_forward", attempt)
    assert not report.passed and "changed its input `b` in place" in report.message


def test_a_wrong_return_type_is_reported():
    report = check("01.rnn_step_forward", lambda x, h, Wx, Wh, b: None)
    assert "returned None" in report.message and "(h, cache)" in report.message


def test_an_endless_loop_is_stopped_with_a_clear_message():
    ex = get("01.one_hot")
    old, ex.time_limit = ex.time_limit, 0.3
    try:
        def attempt(ids, vocab_size):
            while True:
                try:
                    pass
                except Exception:  # a learner's blanket except must not swallow the stop
                    pass
        report = check("01.one_hot", attempt)
    finally:
        ex.time_limit = old
    assert report.status == "error" and "stopped after 0.3 s" in report.message


def test_sys_exit_does_not_end_the_process():
    import sys

    report = check("01.one_hot", lambda ids, V: sys.exit(1))
    assert report.status == "error" and "sys.exit" in report.message


def test_not_implemented_falls_back_to_the_reference(capsys):
    def attempt(ids, vocab_size):
        raise NotImplementedError()

    chosen = check_and_use("01.one_hot", attempt)
    assert chosen is layers.one_hot
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Using the reference implementation so you can continue" in out


def test_a_failed_attempt_also_falls_back_so_the_notebook_runs_on(capsys):
    chosen = check_and_use("01.one_hot", lambda ids, V: np.zeros((len(ids), V)))
    assert chosen is layers.one_hot
    assert "Fix yours" in capsys.readouterr().out


def test_a_passing_attempt_is_kept():
    def attempt(ids, vocab_size):
        return np.eye(vocab_size)[ids]

    assert check_and_use("01.one_hot", attempt) is attempt


def test_checking_the_reference_itself_earns_nothing():
    report = check("01.one_hot", layers.one_hot)
    assert report.status == "reference" and report.score == 0


def test_hidden_cases_differ_with_the_seed():
    ex = get("01.rnn_step_forward")
    a = ex.cases(np.random.default_rng(0))
    b = ex.cases(np.random.default_rng(1))
    assert not np.array_equal(a[0].args[0], b[0].args[0])


def test_report_renders_as_text_and_html():
    report = check("07.greedy_decode", lambda logits, chars: "".join(chars[i] for i in np.argmax(logits, axis=0)))
    assert "argmax over the time axis" in str(report)
    html = report._repr_html_()
    assert "<div" in html and "Hint:" in html


def test_summary_line_counts_points_from_the_registry():
    exercises = all_exercises("07")
    line = summary_line("07", {"07.greedy_decode": "passed", "07.rnn_weights_from_torch": "failed"})
    total = sum(ex.points for ex in exercises)
    assert line.startswith(f"Notebook 07: 1 of {len(exercises)} exercises passed, 1 of {total} points.")
    # the failed one is not "still to do"; the unchecked ones are
    assert "Still to do: gru_gate_weights," in line and "rnn_weights_from_torch" not in line


# --- forward and backward as a pair (issue 11) ----------------------------------------

@pytest.fixture
def no_recorded_functions():
    from course_lib import exercises

    saved = dict(exercises.PASSED)
    exercises.PASSED.clear()
    yield exercises.PASSED
    exercises.PASSED.clear()
    exercises.PASSED.update(saved)


def forward_caching_a(x, h_prev, Wx, Wh, b):
    """A forward whose cache holds the pre-activation a instead of h."""
    a = x @ Wx + h_prev @ Wh + b
    return np.tanh(a), (x, h_prev, Wx, Wh, a)


def backward_reading_a(dh, cache):
    """The backward that goes with forward_caching_a: tanh'(a) from a itself."""
    x, h_prev, Wx, Wh, a = cache
    da = dh * (1 - np.tanh(a) ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def correct_backward(dh, cache):
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1 - h * h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def test_a_forward_whose_cache_breaks_the_backward_fails_with_a_cache_message(no_recorded_functions):
    report = check("01.rnn_step_forward", forward_caching_a)
    assert report.status == "failed"
    assert "h right, but the cache cannot make a correct backward pass" in report.message
    assert "(x, h_prev, Wx, Wh, h)" in report.message and "pre-activation" in report.message


def test_a_consistent_pair_with_its_own_cache_layout_passes_both_checks(no_recorded_functions):
    # The cache is the learner's business if their own backward reads it correctly.
    assert check("01.rnn_step_backward", backward_reading_a, forward=forward_caching_a).passed
    assert check("01.rnn_step_forward", forward_caching_a, backward=backward_reading_a).passed
    # Without the learner's forward, the backward gets the reference's cache, holding h.
    assert not check("01.rnn_step_backward", backward_reading_a).passed


def test_check_and_use_hands_a_passed_forward_to_the_backward_check(no_recorded_functions, capsys):
    calls = []

    def forward(x, h_prev, Wx, Wh, b):
        calls.append(1)
        return correct_step(x, h_prev, Wx, Wh, b)

    assert check_and_use("01.rnn_step_forward", forward) is forward
    calls.clear()
    assert check("01.rnn_step_backward", correct_backward).passed
    assert calls, "the backward check did not use the learner's forward to make its caches"


def test_a_backward_right_only_on_the_reference_cache_points_at_the_forward(no_recorded_functions):
    report = check("01.rnn_step_backward", correct_backward, forward=forward_caching_a)
    assert report.status == "failed"
    assert "the caches your rnn_step_forward makes hold something else" in report.message
    assert "(x, h_prev, Wx, Wh, h)" in report.hint


def test_a_forward_that_crashes_in_the_backward_check_falls_back_to_the_reference_cache():
    def forward(x, h_prev, Wx, Wh, b):
        raise RuntimeError("not here")

    assert check("01.rnn_step_backward", correct_backward, forward=forward).passed


# --- the backward check's table (issue 9, item 5) --------------------------------------

def test_a_backward_check_shows_every_output_with_its_largest_error():
    def wrong(dh, cache):
        dx, dh_prev, dWx, dWh, db = correct_backward(dh, cache)
        return dx, dh_prev, dWx, dWh * 1.5, db

    report = check("01.rnn_step_backward", wrong)
    assert [row.name for row in report.table] == ["dx", "dh_prev", "dWx", "dWh", "db"]
    assert [row.ok for row in report.table] == [True, True, True, False, True]
    wrong_row = report.table[3]
    assert wrong_row.error > 0.01 and report.table[0].error < 1e-12
    text = str(report)
    assert "❌ dWh" in text and "✅ dx" in text and "largest error" in text
    html = report._repr_html_()
    assert "<table" in html and "<code>dWh</code>" in html and html.count("✅") == 4
    assert "dWh the right one times 1.5" in report.message


def test_a_passing_backward_check_shows_its_table_too():
    report = check("01.rnn_step_backward", correct_backward)
    assert report.passed and all(row.ok for row in report.table) and "✅ db" in str(report)


def test_a_missing_output_is_marked_in_the_table():
    report = check("01.rnn_step_backward", lambda dh, cache: correct_backward(dh, cache)[:4] + (None,))
    row = report.table[-1]
    assert not row.ok and row.error is None and "None" in row.problem


# --- what a call does to its arguments ---------------------------------------------------

def test_an_array_inside_a_dict_changed_in_place_is_reported():
    def attempt(grads, max_norm):
        total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        clipped = {k: g * min(1.0, max_norm / total) for k, g in grads.items()}
        next(iter(grads.values()))[0] = 0.0  # the bug: the caller's first array changes
        return clipped, total

    report = check("01.clip_grad_norm", attempt)
    assert report.status == "failed" and "changed its input `grads['" in report.message, str(report)


def test_an_object_with_its_own_eq_decides_nothing():
    from unittest.mock import ANY

    report = check("07.greedy_decode", lambda logits, chars: ANY)
    assert report.status == "failed"


@pytest.mark.parametrize("seed", [0, 1, 4242])
def test_a_sampler_ignoring_its_generator_is_named(seed):
    def attempt(logits, temperature, rng):
        z = np.asarray(logits) / temperature
        p = np.exp(z - z.max())
        return int(np.random.default_rng(0).choice(len(p), p=p / p.sum()))

    report = check("01.sample_with_temperature", attempt, seed=seed)
    assert report.status == "failed" and "results that ignore the random generator" in report.message
    assert "rng" in report.hint


def in_another_process(fn):
    """fn as the grader's sandbox runs it: on copies, so the caller's arguments never change."""
    import copy

    def remote(*args, **kwargs):
        return fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    return remote


def correct_sampler(logits, temperature, rng):
    z = np.asarray(logits, dtype=float) / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def test_generator_use_is_judged_from_results_so_it_holds_across_a_process_boundary():
    assert check("01.sample_with_temperature", in_another_process(correct_sampler)).passed

    def fixed_generator(logits, temperature, rng):
        return correct_sampler(logits, temperature, np.random.default_rng(0))
    report = check("01.sample_with_temperature", in_another_process(fixed_generator))
    assert report.status == "failed" and "results that ignore the random generator" in report.message
