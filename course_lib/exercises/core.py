"""The checker framework: register an exercise once, then `check` any attempt at it.

An exercise knows its reference implementation, how to make test cases, its tolerance,
and a list of known mistakes: deliberately wrong variants of the reference, each with a
hint. When an attempt fails, `check` runs the mistakes on the same cases; if the attempt
agrees with one of them, the report names that mistake instead of a bare mismatch. If
none agrees, simple relations are tried (an output transposed, negated or scaled, a
float32 result, a random generator left unused, an input changed in place).

Forward and backward are checked as a pair, because a forward step's cache is only
right if a backward pass can use it:

- A forward exercise names its backward (`backward="01.rnn_step_backward"`). When its
  outputs are right, its cache goes into a backward pass with upstream gradients made
  up for the case: the learner's own backward if it has passed its check (check_and_use
  records it), else the reference backward, which reads the layout the notebook gives.
  If the gradients come out wrong, the forward fails with a message about its cache.
- A backward exercise names its forward (`forward="01.rnn_step_forward"`), and each of
  its cases keeps the forward's arguments (`Case.forward`). If the learner's forward has
  passed, the attempt gets the cache that the learner's forward makes from them, so the
  learner's own pair is graded; otherwise it gets the reference forward's cache. Either
  way its gradients are compared with the reference backward's on the reference cache.

`check` must survive anything a learner writes (see running.py).
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .compare import (as_array, changed_input, compare_outputs, compare_value, describe,  # noqa: F401
                      output_error, output_problems, same_output, split_outputs,
                      with_other_generators)
from .diagnose import diagnose, output_relations, recognise_mistake  # noqa: F401
from .pairing import cache_problem, with_learner_cache
from .report import OutputRow, Report
from .running import TooSlow, call_safely, learner_traceback, time_limit  # noqa: F401


@dataclass
class Case:
    """One set of arguments to call both the reference and the attempt with.

    forward: for a backward exercise, the arguments of the forward step that made the
             cache (the last of `args`), so that the learner's forward can make it again.
    """

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    forward: tuple | None = None


@dataclass
class Mistake:
    """A known wrong answer: `fn` computes it, `hint` explains how to fix it."""

    description: str
    fn: Callable
    hint: str


@dataclass
class Exercise:
    """Everything `check` needs to know about one exercise.

    id:        stable "NN.name", e.g. "01.rnn_step_forward"; NN is the notebook.
    points:    what the exercise is worth.
    reference: the correct implementation.
    cases:     cases(rng) -> list[Case]; shapes and values come from rng, so a
               different seed gives different (hidden) cases, but every seed gives the
               same kinds of case, so a verdict does not depend on the seed.
    outputs:   names of the returned values, for messages: ("h", "cache") for a tuple.
               A single name means the function returns one value.
    skip:      outputs not compared (a cache's layout is the learner's business).
    compare:   optional compare(got, expected, case) -> error message or None, which
               replaces the default element-wise comparison of the outputs.
    backward:  a forward exercise's backward exercise id: its cache (the last output)
               must make that backward pass correct. cache_layout says what it holds.
    forward:   a backward exercise's forward exercise id; the cache is its last argument.
    make_cache: make_cache(forward_fn, *case.forward) -> cache, when the cache is not
               simply forward_fn(*case.forward)[-1] (rnn_backward loops over steps).
    table:     show every output in a table with its largest error; backward
               exercises (those with `forward`) always do.
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
    backward: str | None = None
    cache_layout: str = ""
    forward: str | None = None
    make_cache: Callable | None = None
    table: bool = False

    @property
    def name(self):
        return self.id.split(".", 1)[1]

    @property
    def notebook(self):
        return self.id.split(".", 1)[0]


class _Stop(Exception):
    """The attempt could not be run to the end: the report says why."""

    def __init__(self, status, message="", trace=""):
        super().__init__(message)
        self.status, self.message, self.trace = status, message, trace


@dataclass
class _Outcome:
    """What happened on one case."""

    case: Case          # the case as the reference saw it
    got: object         # the attempt's output
    expected: object    # the reference's output
    problem: str | None = None
    problems: dict = field(default_factory=dict)  # output name -> message
    kind: str = ""      # "outputs", "cache", "in place" or "generator"
    mutated: str | None = None   # an argument the attempt changed in place
    unused: list = field(default_factory=list)  # generators whose state the attempt's results ignore


# ---------------------------------------------------------------------------
# Checking


def check_exercise(ex, fn, seed=0, forward=None, backward=None):
    """Run `fn` against the reference on the exercise's cases. Returns a Report.

    forward:  the learner's forward function paired with this backward exercise, if it
              passed; its caches then replace the reference's.
    backward: the learner's backward function paired with this forward exercise, if it
              passed; it then judges the cache instead of the reference backward.
    """
    report = Report(ex.id, "failed", ex.points)
    if not callable(fn):
        report.status = "error"
        report.message = f"expected a function, got {describe(fn)}"
        return report
    if _is_course_lib_function(fn):
        report.status = "reference"
        report.message = ("this is course_lib's reference implementation, not your code. "
                          "Run the cell with your own function again, then this check.")
        return report

    cases = ex.cases(np.random.default_rng(seed))
    report.cases_total = len(cases)
    arg_names = _argument_names(ex.reference)
    outcomes = []
    try:
        for index, case in enumerate(cases):
            outcomes.append(_run_case(ex, fn, case, index, seed, arg_names, forward, backward))
    except _Stop as stop:
        report.status, report.message, report.trace = stop.status, stop.message, stop.trace
        return report

    report.cases_passed = sum(o.problem is None for o in outcomes)
    if ex.table or ex.forward is not None:
        report.table = _gradient_table(ex, outcomes)
        relations = output_relations(ex, outcomes)
        for row in report.table:
            if relations.get(row.name):
                row.problem = relations[row.name].replace("the right one times", "times")
    failed = [o for o in outcomes if o.problem is not None]
    if not failed:
        report.status = "passed"
        return report
    report.message = f"On case '{failed[0].case.name}': {failed[0].problem}"
    report.message += "" if report.message.endswith(".") else "."
    diagnosis = diagnose(ex, fn, outcomes, forward)
    if diagnosis is not None:
        description, hint = diagnosis
        report.message += f" This matches the reference with {description}."
        report.hint = hint
    return report


def _run_case(ex, fn, case, index, seed, arg_names, forward, backward):
    expected = call_safely(ex.reference, case, None)[0]
    attempt_case = with_learner_cache(ex, case, forward) if forward is not None else case
    got, args, kwargs = run_attempt(fn, attempt_case, ex.time_limit)
    outcome = _Outcome(case, got, expected)
    problems = output_problems(ex, got, expected, case)
    if isinstance(problems, dict):
        outcome.problems = problems
        outcome.problem = next(iter(problems.values()), None)
    else:
        outcome.problem = problems
    mutated = outcome.mutated = changed_input(attempt_case, args, kwargs, arg_names)
    unused = outcome.unused = ignored_generators(ex, fn, case, got, expected, index, seed, arg_names)
    if outcome.problem is not None:
        outcome.kind = "outputs"
        return outcome
    if mutated:
        outcome.kind = "in place"
        outcome.problem = f"your function changed its input `{mutated}` in place; work on a copy instead"
    elif unused:
        outcome.kind = "generator"
        outcome.problem = (f"your function's result does not change with the state of the random "
                           f"generator `{unused[0]}` it was given")
    elif ex.backward is not None:
        problem = cache_problem(ex, case, got, expected, index, seed, backward)
        if problem:
            outcome.kind, outcome.problem = "cache", problem
    return outcome


def ignored_generators(ex, fn, case, got, expected, index, seed, arg_names):
    """Names of the Generator arguments whose state the attempt's results ignore.

    The case is run again with the generators in other states. If the reference's result
    changes and the attempt's does not, the attempt drew its randomness from somewhere
    else (np.random, a new default_rng(0)) or not at all. Only outputs are compared, so
    this also holds when the attempt runs in another process (the grader's sandbox).
    """
    other = with_other_generators(case, seed, index)
    if other is None:
        return []
    names = [arg_names[i] if i < len(arg_names) else f"argument {i}"
             for i, a in enumerate(case.args) if isinstance(a, np.random.Generator)]
    # The same generators in the same state must give the same result: if a rerun differs,
    # the attempt draws from a generator of its own (np.random.*), which the next check can
    # miss by chance. A few reruns make a coincidence unlikely.
    for _ in range(3):
        if not same_output(run_attempt(fn, case, ex.time_limit)[0], got):
            return names
    if same_output(call_safely(ex.reference, other, None)[0], expected):
        return []  # this draw does not show it; other cases will
    if not same_output(run_attempt(fn, other, ex.time_limit)[0], got):
        return []
    return names


def run_attempt(fn, case, seconds):
    """Call the attempt on a copy of the case; any way it can go wrong becomes a _Stop."""
    try:
        return call_safely(fn, case, seconds)
    except NotImplementedError:
        raise _Stop("not attempted")
    except SystemExit as exc:  # caught, or sys.exit() would end the kernel
        raise _Stop("error", f"your function called sys.exit({exc.code!r}) on case '{case.name}'; "
                             "return the result instead.")
    except TooSlow:
        raise _Stop("error", f"stopped after {seconds:g} s on case '{case.name}'. "
                             "Does a loop never end? The reference takes well under a second.")
    except Exception as exc:  # any learner bug: report it, never crash the notebook
        raise _Stop("error", f"your function raised {type(exc).__name__} on case '{case.name}'.",
                    learner_traceback(exc))


def _gradient_table(ex, outcomes):
    """One OutputRow per compared output: right on every case, and its largest error."""
    rows = []
    for name in ex.outputs:
        if name in ex.skip:
            continue
        errors, problem, ok = [], "", True
        for o in outcomes:
            try:
                got = split_outputs(o.got, ex.outputs)[name]
            except ValueError:
                ok, problem = False, "missing"
                continue
            errors.append(output_error(got, split_outputs(o.expected, ex.outputs)[name]))
            if name in o.problems:
                ok = False
                problem = problem or _short_problem(name, o.problems[name])
        known = [e for e in errors if e is not None]
        error = max(known) if known and len(known) == len(errors) else None
        rows.append(OutputRow(name, ok, error, problem))
    return rows


def _short_problem(name, message):
    """The gist of a compare_value message, for a table cell."""
    if "largest difference" in message:
        return "wrong values"
    text = message.split(";")[0]
    return text[len(name) + 1:] if text.startswith(name + " ") else text


def _is_course_lib_function(fn):
    module = getattr(fn, "__module__", "") or ""
    return module == "course_lib" or module.startswith("course_lib.")


def _argument_names(fn):
    import inspect

    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []
