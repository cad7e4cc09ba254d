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

from .compare import (as_array, compare_outputs, compare_value, describe, changed_input,  # noqa: F401
                      lower_precision, output_error, output_problems, relation, split_outputs,
                      unused_generators)
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

    id:        stable "NN.name", e.g. "07.rnn_step_forward"; NN is the notebook.
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
    unused: list = field(default_factory=list)  # generators the attempt never drew from


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
    if ex.forward is not None:
        report.table = _gradient_table(ex, outcomes)
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
    expected, ref_args, _ = call_safely(ex.reference, case, None)
    attempt_case = _with_learner_cache(ex, case, forward) if forward is not None else case
    got, args, kwargs = run_attempt(fn, attempt_case, ex.time_limit)
    outcome = _Outcome(case, got, expected)
    problems = output_problems(ex, got, expected, case)
    if isinstance(problems, dict):
        outcome.problems = problems
        outcome.problem = next(iter(problems.values()), None)
    else:
        outcome.problem = problems
    mutated = outcome.mutated = changed_input(attempt_case, args, kwargs, arg_names)
    unused = outcome.unused = unused_generators(case, ref_args, args, arg_names)
    if outcome.problem is not None:
        outcome.kind = "outputs"
        return outcome
    if mutated:
        outcome.kind = "in place"
        outcome.problem = f"your function changed its input `{mutated}` in place; work on a copy instead"
    elif unused:
        outcome.kind = "generator"
        outcome.problem = (f"your function never drew from the random generator `{unused[0]}` "
                           "it was given, so its results do not depend on it")
    elif ex.backward is not None:
        problem = cache_problem(ex, case, got, expected, index, seed, backward)
        if problem:
            outcome.kind, outcome.problem = "cache", problem
    return outcome


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


# ---------------------------------------------------------------------------
# Forward and backward as a pair


def _exercise(exercise_id):
    from . import get  # here, not at the top: the package imports this module

    return get(exercise_id)


def make_cache(backward_ex, forward_fn, forward_args):
    """The cache that forward_fn makes from a backward case's forward arguments."""
    if backward_ex.make_cache is not None:
        return backward_ex.make_cache(forward_fn, *forward_args)
    out = forward_fn(*forward_args)
    return out[-1]


def _with_learner_cache(ex, case, forward):
    """The case with its cache (the last argument) made by the learner's forward.

    If that forward cannot make one here (it raised, or ran too long), the reference's
    cache is kept: the forward's own check is where that is reported.
    """
    if case.forward is None:
        return case
    import copy

    try:
        with time_limit(ex.time_limit):
            cache = make_cache(ex, forward, copy.deepcopy(case.forward))
    except (Exception, TooSlow, SystemExit):
        return case
    return Case(case.name, tuple(case.args[:-1]) + (cache,), case.kwargs, case.forward)


def upstream_gradients(ex, expected, index, seed):
    """Made-up gradients for every output of a forward step but its cache (the last)."""
    rng = np.random.default_rng([seed, index, 77])
    parts = expected[:-1]
    return tuple(rng.normal(size=np.shape(part)) for part in parts)


def gradients_from_cache(back_ex, backward_fn, upstream, cache, seconds=None):
    """backward_fn(*upstream, cache), on copies, within the time limit."""
    return call_safely(backward_fn, Case("cache", tuple(upstream) + (cache,)), seconds)[0]


def cache_problem(ex, case, got, expected, index, seed, backward=None):
    """What is wrong with a forward attempt's cache, or None.

    The cache is right when a backward pass given it produces the reference gradients:
    the learner's own backward if known, else the reference backward.
    """
    back_ex = _exercise(ex.backward)
    upstream = upstream_gradients(ex, expected, index, seed)
    want = gradients_from_cache(back_ex, back_ex.reference, upstream, expected[-1])
    judge = backward if backward is not None else back_ex.reference
    whose = "your" if backward is not None else "the reference"
    layout = f" {ex.cache_layout}" if ex.cache_layout else ""
    try:
        grads = gradients_from_cache(back_ex, judge, upstream, got[-1], back_ex.time_limit)
    except TooSlow:
        return f"{whose} {back_ex.name} ran too long on your cache.{layout}"
    except (Exception, SystemExit) as exc:
        return (f"{', '.join(ex.outputs[:-1])} right, but {whose} {back_ex.name} cannot use your "
                f"cache ({type(exc).__name__}: {exc}).{layout}")
    problem = compare_outputs(back_ex, grads, want, case)
    if problem is None:
        return None
    return (f"{', '.join(ex.outputs[:-1])} right, but the cache cannot make a correct backward pass: "
            f"given it, {whose} {back_ex.name} returns {problem}.{layout}")


def _cache_gradients_agree(ex, case, index, seed, got, wrong, expected):
    """Whether two forward outputs' caches give the same gradients in the reference backward."""
    back_ex = _exercise(ex.backward)
    upstream = upstream_gradients(ex, expected, index, seed)
    try:
        a = gradients_from_cache(back_ex, back_ex.reference, upstream, got[-1])
        b = gradients_from_cache(back_ex, back_ex.reference, upstream, wrong[-1])
    except Exception:
        return False
    return compare_outputs(back_ex, a, b, case) is None


# ---------------------------------------------------------------------------
# Naming what went wrong


def diagnose(ex, fn, outcomes, forward=None):
    """(description, hint) for a failed attempt, or None if nothing specific is found."""
    kinds = {o.kind for o in outcomes if o.problem is not None}
    mistake = recognise_mistake(ex, outcomes, by_cache="cache" in kinds and kinds <= {"cache", ""})
    if mistake is not None:
        return mistake.description, mistake.hint
    first = next(o for o in outcomes if o.problem is not None)
    if any(o.unused for o in outcomes):
        return ("no draw from the random generator it was given",
                "Draw every random number from the `rng` argument (rng.choice, rng.integers, "
                "rng.random), never from np.random.* or a new np.random.default_rng(...), and do not "
                "replace the draw by a fixed choice: the caller seeds `rng` to make runs reproducible, "
                "and generators in different states must be able to give different results.")
    if any(o.mutated for o in outcomes):
        return ("an input changed in place",
                "Work on copies: b = b.copy() before assigning into it, g * scale rather than "
                "g *= scale, and build a new dict rather than changing the one you were given. "
                "The caller still needs its arrays unchanged.")
    if first.kind == "cache":
        return ("the right outputs but a cache the backward pass cannot use",
                ex.cache_layout or "Return the cache the notebook describes.")
    low = _lower_precision_output(ex, outcomes)
    if low:
        return (f"{low} computed in float32 instead of float64",
                "Do not cast to np.float32 or create arrays with dtype=np.float32: the reference "
                "works in float64, and float32's rounding (about 1e-7) shows on some inputs and "
                "not others, so such an answer would pass or fail depending on the test cases.")
    if forward is not None and ex.forward is not None and _right_on_reference_caches(ex, fn, outcomes):
        fwd = _exercise(ex.forward)
        return (f"the reference forward's caches; the caches your {fwd.name} makes hold something else",
                f"Your {ex.name} is right on the cache the notebook describes; the one your "
                f"{fwd.name} returns holds something else. {fwd.cache_layout}")
    related = _related_outputs(ex, outcomes)
    if related:
        description = " and ".join(f"{name} {phrase}" for name, phrase in related)
        return description, " ".join(dict.fromkeys(_relation_hint(n, p) for n, p in related))
    return None


def recognise_mistake(ex, outcomes, by_cache=False):
    """The known mistake whose outputs the attempt reproduces on every case, if any.

    With by_cache, the outputs all agree with the reference and the cache is what is
    wrong: a mistake then matches when its cache gives the same gradients as the attempt's.
    """
    for mistake in ex.mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = [call_safely(mistake.fn, o.case, None)[0] for o in outcomes]
        except Exception:  # a mistake variant may not apply to every case
            continue
        if not all(compare_outputs(ex, o.got, w, o.case) is None for o, w in zip(outcomes, wrong)):
            continue
        if not by_cache:
            if all(compare_outputs(ex, o.expected, w, o.case) is None for o, w in zip(outcomes, wrong)):
                continue  # a cache-only mistake cannot explain wrong outputs
            return mistake
        if all(_cache_gradients_agree(ex, o.case, i, 0, o.got, w, o.expected)
               for i, (o, w) in enumerate(zip(outcomes, wrong))):
            return mistake
    return None


def _lower_precision_output(ex, outcomes):
    for o in outcomes:
        for name, problem in o.problems.items():
            if " the reference works in " in problem:
                return name
    return None


def _right_on_reference_caches(ex, fn, outcomes):
    """Whether the attempt passes every case when given the reference forward's caches."""
    for o in outcomes:
        try:
            got = call_safely(fn, o.case, ex.time_limit)[0]
        except (Exception, TooSlow, SystemExit):
            return False
        if compare_outputs(ex, got, o.expected, o.case) is not None:
            return False
    return True


def _related_outputs(ex, outcomes):
    """[(output name, relation)] when every wrong output relates to the right one in one
    way on every case (the same factor, say); None otherwise."""
    if ex.compare is not None:
        return None
    wrong_names = [n for n in ex.outputs if any(n in o.problems for o in outcomes)]
    found = []
    for name in wrong_names:
        phrases = set()
        for o in outcomes:
            if name in o.problems:
                got = split_outputs(o.got, ex.outputs)[name]
                phrases.add(relation(got, split_outputs(o.expected, ex.outputs)[name], ex.atol, ex.rtol))
        if len(phrases) == 1 and None not in phrases:
            found.append((name, phrases.pop()))
        elif phrases and all(p and p.startswith("the right one times") for p in phrases):
            # A factor that changes from case to case (batch size, sequence length) is still one slip.
            found.append((name, "the right one times a factor that changes with the case"))
        else:
            return None
    return found or None


def _relation_hint(name, phrase):
    if phrase == "transposed":
        return (f"{name} must have the shape of the array it is the gradient of, in the same layout: "
                "swap the operands of the matmul (a.T @ b instead of b.T @ a).")
    if phrase.startswith("not summed"):
        return (f"What is shared by every row of the batch gets the sum of their gradients: "
                f"{name} = (...).sum(axis=0).")
    if phrase == "of the wrong sign":
        return f"Check the sign of each term of {name}: every entry is the negative of the right one."
    return (f"Every entry of {name} is off by the same factor: look for a factor that is missing or "
            f"extra, such as a division by the batch size or the number of positions, or a 2 from a derivative.")


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
