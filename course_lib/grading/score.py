"""Step 4: score each exercise on hidden cases, with the learner's function in a sandbox.

For one exercise the grader starts a fresh sandbox and loads into it the notebook's own code
above the exercise (the prelude), the course_lib helpers the cell uses (stub.py) and the
learner's cell. Then `exercises.check(exercise_id, fn, seed=<secret>)` runs here, in the
grader, with `fn` a RemoteFunction: each call sends the case's arguments into the sandbox as
plain data and gets the outputs back as plain data (plain.py). The cases, the reference, the
known mistakes and every comparison stay in this process; the seed never leaves it.

An exercise that calls an earlier exercise gets that exercise's reference as a black box (a
callback the grader answers), as check_and_use gives it in the notebook. A backward exercise
whose forward passed is checked on the learner's own forward, loaded beside it.
"""
import inspect

import numpy as np

from . import plain
from .read import _used_names, prelude_for
from .report import ExerciseGrade
from .sandbox import Limits, Process, SandboxError
from .static_check import review_reason
from .stub import Helpers, ShipError, references


class RemoteFunction:
    """Stands for the learner's function in the grader process; calls go to the sandbox."""

    __module__ = "submission"  # not course_lib: `check` refuses course_lib's own functions

    def __init__(self, process, unit, name, timeout, callables):
        self.process, self.unit, self.__name__ = process, unit, name
        self.timeout, self.callables = timeout, callables

    def __call__(self, *args, **kwargs):
        process = self.process
        try:
            process.send(["call", self.unit, self.__name__, list(args), kwargs], self.timeout, self.callables)
            while True:
                kind, *rest = _reply(process.receive(self.timeout))
                if kind != "callback":
                    break
                process.send(_answer_callback(self.callables, rest), self.timeout)
        except plain.BoundaryError as err:
            raise RuntimeError(f"the arguments cannot be sent to the sandbox: {err}") from None
        except SandboxError as err:
            process.close()
            raise RuntimeError(str(err)) from None
        except BaseException:  # the checker's time limit (TooSlow), mid-call: the sandbox is of no more use
            process.close()
            raise
        if kind == "returned" and len(rest) == 3:
            out, new_args, new_kwargs = rest
            if isinstance(new_args, list) and len(new_args) == len(args):
                for before, after in zip(args, new_args):
                    copy_back(before, after)
            if isinstance(new_kwargs, dict):
                for key in kwargs:
                    copy_back(kwargs[key], new_kwargs.get(key))
            return out
        if kind == "raised" and len(rest) == 2:
            raise _exception(*rest)
        raise RuntimeError("the sandbox sent a reply the grader does not understand")


def _reply(message):
    if not message or not isinstance(message[0], str):
        raise SandboxError("sent a reply the grader does not understand")
    return message


def _answer_callback(callables, rest):
    """Run the grader's callable (an earlier exercise's reference) on plain arguments."""
    try:
        number, args, kwargs = rest
        fn = callables[number]
        return ["returned", fn(*args, **kwargs)]
    except Exception as err:
        return ["raised", type(err).__name__, str(err)[:500]]


def _exception(type_name, message):
    """An exception of the kind the sandbox reported, for the checker's messages."""
    name = type_name if isinstance(type_name, str) and type_name.isidentifier() and len(type_name) < 60 else "Exception"
    message = str(message)
    if name == "NotImplementedError":
        return NotImplementedError(message)
    if name == "SystemExit":
        return SystemExit(message)
    return type(name, (Exception,), {"__module__": "submission"})(message)


def copy_back(before, after):
    """Apply the sandbox's in-place changes to an argument, so that `check` sees them."""
    if isinstance(before, np.ndarray):
        if isinstance(after, np.ndarray) and after.shape == before.shape:
            np.copyto(before, after, casting="unsafe")
    elif isinstance(before, list) and isinstance(after, list):
        before[:] = after
    elif isinstance(before, dict) and isinstance(after, dict):
        before.clear()
        before.update(after)
    elif isinstance(before, tuple) and isinstance(after, tuple) and len(before) == len(after):
        for b, a in zip(before, after):
            copy_back(b, a)
    elif isinstance(before, np.random.Generator) and isinstance(after, np.random.Generator):
        before.bit_generator.state = after.bit_generator.state
    elif hasattr(before, "detach") and hasattr(after, "detach") and tuple(before.shape) == tuple(after.shape):
        import torch

        with torch.no_grad():
            before.copy_(after)


# ---------------------------------------------------------------------------
# What goes into the sandbox for one exercise


def load_spec(slot, cell_source, objects, own_reference, earlier, callables):
    """child.py's `load` spec: the prelude, the helpers and the cell, for one exercise.

    earlier: {name: reference} of the exercises above this one, given as callbacks.
    """
    helpers = Helpers(own_reference, references(), callables)
    prelude = prelude_for(slot.prelude, cell_source, exclude=[slot.name, *earlier])
    needed = (_used_names(cell_source) | _used_names(prelude)) - {slot.name}
    binds = []
    for name in sorted(needed):
        if name in earlier:
            binds.append([name, "value", earlier[name]])
        elif name in objects:
            binds.append(helpers.bind(name, objects[name]))
            module = objects[name]
            if binds[-1][1] == "module":
                for attr in _attributes_of(name, cell_source + "\n" + prelude):
                    if hasattr(module, attr):
                        entry = helpers.module_entry(module.__name__)
                        entry["binds"].setdefault(attr, helpers.bind(attr, getattr(module, attr)))
    return {"modules": helpers.spec_modules(), "binds": binds, "prelude": prelude, "cell": cell_source}


def _attributes_of(name, source):
    import ast

    from .read import parse_cell

    tree = parse_cell(source)
    return sorted({n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                   and isinstance(n.value, ast.Name) and n.value.id == name}) if tree else []


# ---------------------------------------------------------------------------
# Scoring one exercise


def score_exercise(slot, slots, cell_sources, seed, objects, allowed_imports, passed, child_dir,
                   time_limit=60, unsafe=False, review=True):
    """An ExerciseGrade for one exercise.

    cell_sources: {slot name: source of the submission's exercise cell}.
    passed: exercise ids that have passed so far (a backward exercise uses its own forward then).
    review: False skips the static check (the tests do, to show what the sandbox alone holds).
    """
    from .. import exercises

    ex = exercises.get(slot.exercise_id)
    grade = ExerciseGrade(slot.exercise_id, ex.points)
    source = cell_sources[slot.name]
    reason = review_reason(source, allowed_imports, objects, ex.reference) if review else ""
    if reason:
        grade.status, grade.reason = "needs review", reason
        return grade
    earlier = {s.name: exercises.get(s.exercise_id).reference for s in slots
               if s.solution_index < slot.solution_index}
    callables = []
    limits = Limits(cpu_seconds=int(time_limit) + int(ex.time_limit) * 40)
    process = Process("score", child_dir, limits, unsafe=unsafe)
    try:
        kwargs = {}
        forward_id = getattr(ex, "forward", None)
        forward_slot = next((s for s in slots if s.exercise_id == forward_id), None)
        if forward_id in passed and forward_slot is not None and "forward" in inspect.signature(exercises.check).parameters:
            problem = _load(process, "forward", forward_slot, slots, cell_sources, objects, callables, time_limit)
            if problem is None:
                kwargs["forward"] = RemoteFunction(process, "forward", forward_slot.name, ex.time_limit + 5, callables)
        problem = _load(process, "main", slot, slots, cell_sources, objects, callables, time_limit)
        if problem is not None:
            grade.status, grade.reason = "error", problem
            return grade
        fn = RemoteFunction(process, "main", slot.name, ex.time_limit + 5, callables)
        report = exercises.check(slot.exercise_id, fn, seed=seed, record=False, **kwargs)
    except ShipError as err:
        grade.status, grade.reason = "error", f"the grader cannot prepare this exercise: {err}"
        return grade
    except (SandboxError, plain.BoundaryError) as err:
        grade.status, grade.reason = "error", f"running the exercise cell: {err}"
        return grade
    finally:
        process.close()
    grade.status = report.status
    grade.earned = report.score
    if not report.passed:
        grade.reason = _reason(report)
    return grade


def _load(process, unit, slot, slots, cell_sources, objects, callables, time_limit):
    """Load one exercise cell into the sandbox; None, or why it failed."""
    from .. import exercises

    ex = exercises.get(slot.exercise_id)
    earlier = {s.name: exercises.get(s.exercise_id).reference for s in slots
               if s.solution_index < slot.solution_index}
    spec = load_spec(slot, cell_sources[slot.name], objects, ex.reference, earlier, callables)
    process.send(["load", unit, spec], time_limit, callables)
    reply = _reply(process.receive(time_limit))
    if reply[0] == "ok":
        return None
    if reply[0] == "raised" and len(reply) == 3:
        return f"running the exercise cell raised {reply[1]}: {reply[2]}"
    return "the sandbox sent a reply the grader does not understand"


def _reason(report):
    if report.status == "not attempted":
        return "the function still raises NotImplementedError"
    reason = report.message or report.status
    if report.trace:  # the exception's last line: "ValueError: ... (line 3 of your cell)"
        reason = f"{reason} {report.trace.strip().splitlines()[-1]}"
    if report.status == "failed":
        reason = f"{report.cases_passed} of {report.cases_total} hidden test cases passed. {reason}"
    return reason
