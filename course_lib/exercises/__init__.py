"""Exercise checkers for the notebooks.

In a notebook, a check cell is one line:

    rnn_step_forward = check_and_use("01.rnn_step_forward", rnn_step_forward)

It shows a report and hands back your function if it passed, or the reference
implementation if it did not, so the rest of the notebook always runs.
`check(exercise_id, fn)` returns the report without switching anything.

The exercises themselves live in one module per notebook (`nb07_hello.py`, ...),
each calling `register(Exercise(...))`.
"""
import importlib
import pkgutil

from .core import Case, Exercise, Mistake, Report, check_exercise

__all__ = ["Case", "Exercise", "Mistake", "Report", "register", "get", "all_exercises",
           "check", "check_and_use", "yours", "your_cell", "whose", "summary", "summary_line", "assert_passed"]

REGISTRY = {}
RESULTS = {}  # exercise id -> the last Report of this session, for summary() and assert_passed()
ATTEMPTS = {}  # exercise id -> the learner's function last handed to check_and_use, for yours()
PASSED = {}   # exercise id -> the learner's function, when check_and_use last found it correct


def register(exercise):
    if exercise.id in REGISTRY:
        raise ValueError(f"exercise {exercise.id!r} is registered twice")
    REGISTRY[exercise.id] = exercise
    return exercise


def _load_all():
    """Import every nbNN_*.py module in this package, which registers its exercises."""
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("nb"):
            importlib.import_module(f"{__name__}.{module.name}")


def all_exercises(notebook=None):
    """The registered exercises, in id order; only notebook "NN"'s when given."""
    _load_all()
    return [REGISTRY[k] for k in sorted(REGISTRY) if notebook is None or k.split(".")[0] == notebook]


def get(exercise_id):
    _load_all()
    if exercise_id not in REGISTRY:
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[exercise_id]


def check(exercise_id, fn, seed=0, record=True, forward=None, backward=None):
    """Check `fn` against the reference of `exercise_id`; returns a Report.

    With record=False the result does not count towards summary(): for showing what
    the checker says about a deliberately wrong variant.
    forward / backward: the learner's function paired with this one (a backward
    exercise's forward, a forward exercise's backward), which then makes or reads the
    caches; by default the one check_and_use last accepted, if any (see core.py).
    """
    ex = get(exercise_id)
    if forward is None and ex.forward is not None:
        forward = PASSED.get(ex.forward)
    if backward is None and ex.backward is not None:
        backward = PASSED.get(ex.backward)
    report = check_exercise(ex, fn, seed=seed, forward=forward, backward=backward)
    if record:
        RESULTS[exercise_id] = report
    return report


def check_and_use(exercise_id, fn):
    """Check `fn`, show the report, and return the function the notebook should go on with."""
    report = check(exercise_id, fn)
    ATTEMPTS[exercise_id] = fn
    if report.passed:
        chosen = fn
        PASSED[exercise_id] = fn
    else:
        PASSED.pop(exercise_id, None)
        chosen = get(exercise_id).reference
        if report.status == "not attempted":
            report.note = "Using the reference implementation so you can continue."
        elif report.status != "reference":
            report.note = ("Using the reference implementation for the rest of the notebook, "
                           "so later cells still run. Fix yours and run both cells again.")
    _show(report)
    return chosen


def yours(exercise_id):
    """Your own function for `exercise_id`, as you last checked it, whether it passed or not.

    check_and_use hands the notebook the reference when your attempt fails, so that later
    cells run; a gradient check must still test *your* code, so it asks for it here.
    Before you have attempted the exercise, this prints a note and returns the reference.
    """
    report = RESULTS.get(exercise_id)
    if report is None or report.status == "not attempted" or exercise_id not in ATTEMPTS:
        print(f"{exercise_id} is not attempted yet: the cell below checks the reference instead of your code.")
        return get(exercise_id).reference
    return ATTEMPTS[exercise_id]


def _show(report):
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(report)
        return
    if get_ipython() is None:
        print(report)
    else:
        display(report)


def summary_line(notebook, statuses):
    """One line on a notebook's exercises, given {exercise id: status}."""
    exercises = all_exercises(notebook)
    passed = [ex for ex in exercises if statuses.get(ex.id) == "passed"]
    points = sum(ex.points for ex in passed)
    total = sum(ex.points for ex in exercises)
    line = (f"Notebook {notebook}: {len(passed)} of {len(exercises)} exercises passed, "
            f"{points} of {total} points.")
    waiting = [ex.name for ex in exercises if statuses.get(ex.id) in (None, "not attempted")]
    if waiting:
        line += f" Still to do: {', '.join(waiting)}."
    return line


def summary(notebook):
    """Print how this session's checks of notebook "NN" went, in one line."""
    statuses = {eid: r.status for eid, r in RESULTS.items()}
    print(summary_line(notebook, statuses))


def assert_passed(exercise_id):
    """Raise AssertionError unless the last check of `exercise_id` passed (for graders)."""
    report = RESULTS.get(exercise_id)
    assert report is not None, f"{exercise_id} was never checked"
    assert report.passed, str(report)


# Last, because it uses check() and get() from above.
from .from_notebook import whose, your_cell  # noqa: E402
