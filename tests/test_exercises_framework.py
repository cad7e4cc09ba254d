"""The checker framework on correct, wrong, crashing, NaN, slow and mischievous attempts."""
import numpy as np
import pytest

from course_lib import layers
from course_lib.exercises import all_exercises, check, check_and_use, get, summary_line


def correct_step(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)


def test_a_correct_attempt_passes_with_full_points():
    report = check("07.rnn_step_forward", correct_step)
    assert report.passed and report.score == report.points == 2
    assert report.cases_passed == report.cases_total >= 4


def test_sigmoid_in_place_of_tanh_gets_its_specific_hint():
    def attempt(x, h_prev, Wx, Wh, b):
        return 1 / (1 + np.exp(-(x @ Wx + h_prev @ Wh + b))), None

    report = check("07.rnn_step_forward", attempt)
    assert report.status == "failed" and report.score == 0
    assert "sigmoid in place of tanh" in report.message
    assert "np.tanh" in report.hint


@pytest.mark.parametrize("description, attempt", [
    ("Wh transposed", lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh.T + b), None)),
    ("the bias left out", lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh), None)),
])
def test_other_known_mistakes_are_named(description, attempt):
    report = check("07.rnn_step_forward", attempt)
    assert description in report.message and report.hint


def test_a_wrong_shape_is_reported_with_both_shapes():
    report = check("07.rnn_step_forward", lambda x, h, Wx, Wh, b: (correct_step(x, h, Wx, Wh, b)[0].T, None))
    assert "h has shape (5, 3), expected (3, 5)" in report.message


def test_a_wrong_dtype_is_reported():
    report = check("07.one_hot", lambda ids, V: np.eye(V, dtype=np.int64)[ids])
    assert "dtype int64, expected float64" in report.message


def test_a_crash_is_reported_with_a_trimmed_traceback():
    def attempt(x, h_prev, Wx, Wh, b):
        return np.tanh(x @ Wx + h_prev @ Wh + bias), None  # noqa: F821 (the bug)

    report = check("07.rnn_step_forward", attempt)
    assert report.status == "error" and "NameError" in report.message
    assert "bias" in report.trace and "in attempt" in report.trace
    assert "course_lib" not in report.trace  # our plumbing is trimmed away


def test_nan_output_is_reported():
    report = check("07.rnn_step_forward", lambda x, h, Wx, Wh, b: (np.full((x.shape[0], Wh.shape[0]), np.nan), None))
    assert "contains NaN" in report.message


def test_changing_an_input_in_place_is_reported():
    def attempt(x, h_prev, Wx, Wh, b):
        x *= 1.0
        b += 1.0  # the bug: changes the caller's array
        return np.tanh(x @ Wx + h_prev @ Wh + b - 1.0), None

    report = check("07.rnn_step_forward", attempt)
    assert not report.passed and "changed its input `b` in place" in report.message


def test_a_wrong_return_type_is_reported():
    report = check("07.rnn_step_forward", lambda x, h, Wx, Wh, b: None)
    assert "returned None" in report.message and "(h, cache)" in report.message


def test_an_endless_loop_is_stopped_with_a_clear_message():
    ex = get("07.one_hot")
    old, ex.time_limit = ex.time_limit, 0.3
    try:
        def attempt(ids, vocab_size):
            while True:
                try:
                    pass
                except Exception:  # a learner's blanket except must not swallow the stop
                    pass
        report = check("07.one_hot", attempt)
    finally:
        ex.time_limit = old
    assert report.status == "error" and "stopped after 0.3 s" in report.message


def test_sys_exit_does_not_end_the_process():
    import sys

    report = check("07.one_hot", lambda ids, V: sys.exit(1))
    assert report.status == "error" and "sys.exit" in report.message


def test_not_implemented_falls_back_to_the_reference(capsys):
    def attempt(ids, vocab_size):
        raise NotImplementedError()

    chosen = check_and_use("07.one_hot", attempt)
    assert chosen is layers.one_hot
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Using the reference implementation so you can continue" in out


def test_a_failed_attempt_also_falls_back_so_the_notebook_runs_on(capsys):
    chosen = check_and_use("07.one_hot", lambda ids, V: np.zeros((len(ids), V)))
    assert chosen is layers.one_hot
    assert "Fix yours" in capsys.readouterr().out


def test_a_passing_attempt_is_kept():
    def attempt(ids, vocab_size):
        return np.eye(vocab_size)[ids]

    assert check_and_use("07.one_hot", attempt) is attempt


def test_checking_the_reference_itself_earns_nothing():
    report = check("07.one_hot", layers.one_hot)
    assert report.status == "reference" and report.score == 0


def test_hidden_cases_differ_with_the_seed():
    ex = get("07.rnn_step_forward")
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
    line = summary_line("07", {"07.one_hot": "passed", "07.rnn_step_forward": "failed"})
    total = sum(ex.points for ex in exercises)
    assert line.startswith(f"Notebook 07: 1 of {len(exercises)} exercises passed, 1 of {total} points.")
    # the failed one is not "still to do"; the unchecked ones are
    assert "Still to do: greedy_decode," in line and "rnn_step_forward" not in line
