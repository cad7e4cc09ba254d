"""The checker framework: register an exercise once, then `check` any attempt at it.

An exercise knows its reference implementation, how to make test cases, its tolerance,
and a list of known mistakes: deliberately wrong variants of the reference, each with a
hint. When an attempt fails, `check` runs the mistakes on the same cases; if the attempt
agrees with one of them, the report names that mistake instead of a bare mismatch.

`check` must survive anything a learner writes: exceptions, wrong shapes or types,
NaN, inputs changed in place, endless loops and `sys.exit()`. None of them may kill
the kernel or the notebook.
"""
import copy
import html
import signal
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


@dataclass
class Case:
    """One set of arguments to call both the reference and the attempt with."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class Mistake:
    """A known wrong answer: `fn` computes it, `hint` explains how to fix it."""

    description: str
    fn: Callable
    hint: str


@dataclass
class Exercise:
    """Everything `check` needs to know about one exercise.

    id:        stable "NN.name", e.g. "07.rnn_step_forward"; NN is the notebook.
    points:    what the exercise is worth.
    reference: the correct implementation.
    cases:     cases(rng) -> list[Case]; shapes and values come from rng, so a
               different seed gives different (hidden) cases.
    outputs:   names of the returned values, for messages: ("h", "cache") for a tuple.
               A single name means the function returns one value.
    skip:      outputs not compared (a cache's layout is the learner's business).
    compare:   optional compare(got, expected, case) -> error message or None, which
               replaces the default element-wise comparison of the outputs.
    """

    id: str
    points: int
    reference: Callable
    cases: Callable[[np.random.Generator], list]
    outputs: tuple = ("output",)
    skip: tuple = ()
    atol: float = 1e-8
    rtol: float = 1e-6
    mistakes: list = field(default_factory=list)
    compare: Callable | None = None
    time_limit: float = 10.0

    @property
    def name(self):
        return self.id.split(".", 1)[1]

    @property
    def notebook(self):
        return self.id.split(".", 1)[0]


class TooSlow(BaseException):
    """Raised inside learner code when it runs past the time limit.

    A BaseException, so that a learner's `except Exception:` cannot swallow it.
    """


# ---------------------------------------------------------------------------
# Reports


STATUS_ICON = {"passed": "✅", "failed": "❌", "error": "💥", "not attempted": "✏️", "reference": "⚠️"}
STATUS_COLOR = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#cf222e",
                "not attempted": "#9a6700", "reference": "#9a6700"}


@dataclass
class Report:
    """The result of checking one attempt. Renders as HTML in Jupyter, as text elsewhere."""

    exercise_id: str
    status: str  # "passed", "failed", "error", "not attempted" or "reference"
    points: int
    cases_total: int = 0
    cases_passed: int = 0
    message: str = ""
    hint: str = ""
    trace: str = ""
    note: str = ""  # what the notebook does next, e.g. falls back to the reference

    @property
    def passed(self):
        return self.status == "passed"

    @property
    def score(self):
        # All or nothing: partial credit for passing the easy cases would reward stubs.
        return self.points if self.passed else 0

    def headline(self):
        icon = STATUS_ICON[self.status]
        if self.status == "passed":
            detail = f"passed all {self.cases_total} test cases"
        elif self.status == "failed":
            detail = f"failed: {self.cases_passed} of {self.cases_total} test cases passed"
        elif self.status == "not attempted":
            detail = "not attempted yet"
        else:
            detail = self.status
        return f"{icon} {self.exercise_id}: {detail} ({self.score}/{self.points} points)"

    def __str__(self):
        lines = [self.headline()]
        if self.message:
            lines.append(self.message)
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        if self.trace:
            lines.append(self.trace.rstrip())
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        color = STATUS_COLOR[self.status]
        parts = [f'<div style="border-left:4px solid {color};padding:4px 10px;margin:4px 0">',
                 f'<b style="color:{color}">{html.escape(self.headline())}</b>']
        if self.message:
            parts.append(f"<div>{html.escape(self.message)}</div>")
        if self.hint:
            parts.append(f"<div><b>Hint:</b> {html.escape(self.hint)}</div>")
        if self.trace:
            parts.append(f"<pre style='font-size:90%'>{html.escape(self.trace)}</pre>")
        if self.note:
            parts.append(f"<div><i>{html.escape(self.note)}</i></div>")
        parts.append("</div>")
        return "\n".join(parts)


# ---------------------------------------------------------------------------
# Running learner code safely


def time_limit(seconds):
    """A context manager that raises TooSlow in the main thread after `seconds`.

    It uses SIGALRM, so it only works in the main thread on POSIX (where Jupyter runs
    cells); elsewhere it does nothing rather than fail.
    """
    return _TimeLimit(seconds)


class _TimeLimit:
    def __init__(self, seconds):
        self.seconds = seconds
        self.active = (
            seconds is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )

    def _alarm(self, signum, frame):
        raise TooSlow()

    def __enter__(self):
        if self.active:
            self.old_handler = signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old_handler)
        return False


def learner_traceback(exc):
    """The traceback of `exc`, trimmed to the frames of the learner's own code.

    Frames inside course_lib, the standard library and site-packages are dropped: the
    learner wants to see their own line, not our plumbing. If nothing is left (the
    error came from deep inside numpy), the last frame is kept.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if _is_learner_frame(f.filename)]
    kept = own or frames[-1:]
    lines = ["Traceback (your code):\n"] + traceback.format_list(kept)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def _is_learner_frame(filename):
    if filename.startswith(PACKAGE_DIR):
        return False
    return not any(part in filename for part in ("site-packages", "/lib/python", "\\lib\\"))


def call_safely(fn, case, seconds):
    """Call fn on a deep copy of the case's arguments.

    Returns (output, copied_args, copied_kwargs): the copies show whether fn changed its
    inputs in place. Exceptions propagate to the caller.
    """
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    with time_limit(seconds):
        out = fn(*args, **kwargs)
    return out, args, kwargs


# ---------------------------------------------------------------------------
# Comparing outputs


def as_array(value):
    """numpy arrays, torch tensors and plain numbers as numpy arrays; None for anything else."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return np.asarray(value)
    return None


def split_outputs(out, names):
    """Turn a function's return value into {name: value}, or raise ValueError with a message."""
    if len(names) == 1:
        return {names[0]: out}
    expected = f"a tuple of {len(names)} values ({', '.join(names)})"
    if not isinstance(out, (tuple, list)):
        raise ValueError(f"returned {_describe(out)}; expected {expected}")
    if len(out) != len(names):
        raise ValueError(f"returned {len(out)} values; expected {expected}")
    return dict(zip(names, out))


def _describe(value):
    if value is None:
        return "None (did you forget `return`?)"
    arr = as_array(value)
    if arr is not None and arr.ndim > 0:
        return f"an array of shape {arr.shape}"
    return f"a {type(value).__name__}"


def compare_value(name, got, expected, atol, rtol):
    """An error message if `got` differs from `expected`, else None."""
    exp = as_array(expected)
    if exp is None:  # strings, lists of characters, ...
        if got != expected:
            return f"{name} is {got!r}, expected {expected!r}"
        return None
    arr = as_array(got)
    if arr is None:
        return f"{name} is {_describe(got)}; expected an array of shape {exp.shape}"
    if arr.shape != exp.shape:
        return f"{name} has shape {arr.shape}, expected {exp.shape}"
    if arr.dtype.kind != exp.dtype.kind and not (arr.dtype.kind in "fc" and exp.dtype.kind in "fc"):
        return f"{name} has dtype {arr.dtype}, expected {exp.dtype}"
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any() and not (~np.isfinite(exp)).any():
            kind = "NaN" if np.isnan(arr).any() else "inf"
            return f"{name} contains {kind} in {int(bad.sum())} of {arr.size} entries"
    if arr.dtype.kind in "fc" or exp.dtype.kind in "fc":
        ok = np.allclose(arr, exp, atol=atol, rtol=rtol, equal_nan=True)
    else:
        ok = np.array_equal(arr, exp)
    if not ok:
        with np.errstate(all="ignore"):
            diff = np.atleast_1d(np.abs(arr.astype(np.float64) - exp.astype(np.float64)))
        diff[np.isnan(diff)] = np.inf  # NaN where the reference has a number counts as far off
        if arr.ndim == 0:
            return f"{name} is {arr.item():.6g}, expected {exp.item():.6g}"
        where = np.unravel_index(np.argmax(diff), diff.shape)
        return (f"{name} has the right shape but wrong values: largest difference "
                f"{float(diff.max()):.3g} at index {tuple(int(i) for i in where)}")
    return None


def compare_outputs(ex, got, expected, case):
    """An error message if an attempt's output differs from the reference's, else None."""
    if ex.compare is not None:
        return ex.compare(got, expected, case)
    try:
        got_parts = split_outputs(got, ex.outputs)
    except ValueError as err:
        return str(err)
    exp_parts = split_outputs(expected, ex.outputs)
    for name in ex.outputs:
        if name in ex.skip:
            continue
        problem = compare_value(name, got_parts[name], exp_parts[name], ex.atol, ex.rtol)
        if problem:
            return problem
    return None


def changed_input(case, args, kwargs, names):
    """The name of an argument that the call changed in place, or None."""
    for i, (before, after) in enumerate(zip(case.args, args)):
        if _changed(before, after):
            return names[i] if i < len(names) else f"argument {i}"
    for key in case.kwargs:
        if _changed(case.kwargs[key], kwargs[key]):
            return key
    return None


def _changed(before, after):
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and before.shape == after.shape
                    and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, (tuple, list)):
        return len(before) != len(after) or any(_changed(b, a) for b, a in zip(before, after))
    return False


# ---------------------------------------------------------------------------
# Checking


def check_exercise(ex, fn, seed=0):
    """Run `fn` against the reference on the exercise's cases. Returns a Report."""
    report = Report(ex.id, "failed", ex.points)
    if not callable(fn):
        report.status = "error"
        report.message = f"expected a function, got {_describe(fn)}"
        return report
    if _is_course_lib_function(fn):
        report.status = "reference"
        report.message = ("this is course_lib's reference implementation, not your code. "
                          "Run the cell with your own function again, then this check.")
        return report

    cases = ex.cases(np.random.default_rng(seed))
    report.cases_total = len(cases)
    arg_names = _argument_names(ex.reference)
    got_outputs, first_problem = [], None
    for case in cases:
        expected, _, _ = call_safely(ex.reference, case, None)
        try:
            got, args, kwargs = call_safely(fn, case, ex.time_limit)
        except NotImplementedError:
            report.status = "not attempted"
            return report
        except SystemExit as exc:  # caught, or sys.exit() would end the kernel
            report.status = "error"
            report.message = (f"your function called sys.exit({exc.code!r}) on case '{case.name}'; "
                              "return the result instead.")
            return report
        except TooSlow:
            report.status = "error"
            report.message = (f"stopped after {ex.time_limit:g} s on case '{case.name}'. "
                              "Does a loop never end? The reference takes well under a second.")
            return report
        except Exception as exc:  # any learner bug: report it, never crash the notebook
            report.status = "error"
            report.message = f"your function raised {type(exc).__name__} on case '{case.name}'."
            report.trace = learner_traceback(exc)
            return report
        got_outputs.append(got)
        problem = compare_outputs(ex, got, expected, case)
        mutated = changed_input(case, args, kwargs, arg_names)
        if problem is None and mutated:
            problem = f"your function changed its input `{mutated}` in place; work on a copy instead"
        if problem is None:
            report.cases_passed += 1
        elif first_problem is None:
            first_problem = f"On case '{case.name}': {problem}."

    if first_problem is None:
        report.status = "passed"
        return report
    report.message = first_problem
    mistake = recognise_mistake(ex, cases, got_outputs)
    if mistake is not None:
        report.message += f" This matches the reference with {mistake.description}."
        report.hint = mistake.hint
    return report


def recognise_mistake(ex, cases, got_outputs):
    """The known mistake whose outputs the attempt reproduces on every case, if any."""
    for mistake in ex.mistakes:
        try:
            wrong = [call_safely(mistake.fn, case, None)[0] for case in cases]
        except Exception:  # a mistake variant may not apply to every case
            continue
        if all(compare_outputs(ex, g, w, c) is None for g, w, c in zip(got_outputs, wrong, cases)):
            return mistake
    return None


def _is_course_lib_function(fn):
    module = getattr(fn, "__module__", "") or ""
    return module == "course_lib" or module.startswith("course_lib.")


def _argument_names(fn):
    import inspect

    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []

