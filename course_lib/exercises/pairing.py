"""Forward and backward checked as a pair: caches made by one, read by the other.

A forward step's cache is only right if a backward pass can use it, and a backward
pass is only the learner's own if it reads the learner's cache. See core.py for how
`check` uses these.
"""
import copy
import dataclasses

import numpy as np

from .compare import compare_outputs
from .running import TooSlow, call_safely, time_limit


@dataclasses.dataclass
class _Arguments:
    """Positional arguments for call_safely, without a case's name."""

    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)


def exercise(exercise_id):
    from . import get  # here, not at the top: the package imports this module

    return get(exercise_id)


def make_cache(backward_ex, forward_fn, forward_args):
    """The cache that forward_fn makes from a backward case's forward arguments."""
    if backward_ex.make_cache is not None:
        return backward_ex.make_cache(forward_fn, *forward_args)
    out = forward_fn(*forward_args)
    return out[-1]


def with_learner_cache(ex, case, forward):
    """The case with its cache (the last argument) made by the learner's forward.

    If that forward cannot make one here (it raised, or ran too long), the reference's
    cache is kept: the forward's own check is where that is reported.
    """
    if case.forward is None:
        return case
    try:
        with time_limit(ex.time_limit):
            cache = make_cache(ex, forward, copy.deepcopy(case.forward))
    except (Exception, TooSlow, SystemExit):
        return case
    return dataclasses.replace(case, args=tuple(case.args[:-1]) + (cache,))


def upstream_gradients(expected, index, seed):
    """Made-up gradients for every output of a forward step but its cache (the last)."""
    rng = np.random.default_rng([seed, index, 77])
    parts = expected[:-1]
    return tuple(rng.normal(size=np.shape(part)) for part in parts)


def gradients_from_cache(backward_fn, upstream, cache, seconds=None):
    """backward_fn(*upstream, cache), on copies, within the time limit."""
    return call_safely(backward_fn, _Arguments(tuple(upstream) + (cache,)), seconds)[0]


def cache_problem(ex, case, got, expected, index, seed, backward=None):
    """What is wrong with a forward attempt's cache, or None.

    The cache is right when a backward pass given it produces the reference gradients:
    the learner's own backward if known, else the reference backward.
    """
    back_ex = exercise(ex.backward)
    upstream = upstream_gradients(expected, index, seed)
    want = gradients_from_cache(back_ex.reference, upstream, expected[-1])
    judge = backward if backward is not None else back_ex.reference
    whose = "your" if backward is not None else "the reference"
    layout = f" {ex.cache_layout}" if ex.cache_layout else ""
    try:
        grads = gradients_from_cache(judge, upstream, got[-1], back_ex.time_limit)
    except TooSlow:
        return f"{whose} {back_ex.name} ran too long on your cache.{layout}"
    except (Exception, SystemExit) as exc:
        return (f"{', '.join(ex.outputs[:-1])} right, but {whose} {back_ex.name} cannot use your "
                f"cache ({type(exc).__name__}: {_one_line(exc)}).{layout}")
    problem = compare_outputs(back_ex, grads, want, case)
    if problem is None:
        return None
    return (f"{', '.join(ex.outputs[:-1])} right, but the cache cannot make a correct backward pass: "
            f"given it, {whose} {back_ex.name} returns {problem}.{layout}")


def cache_gradients_agree(ex, case, index, seed, got, wrong, expected):
    """Whether two forward outputs' caches give the same gradients in the reference backward."""
    back_ex = exercise(ex.backward)
    upstream = upstream_gradients(expected, index, seed)
    try:
        a = gradients_from_cache(back_ex.reference, upstream, got[-1])
        b = gradients_from_cache(back_ex.reference, upstream, wrong[-1])
    except Exception:
        return False
    return compare_outputs(back_ex, a, b, case) is None


def _one_line(exc, limit=200):
    """An exception's message on one line, cut to `limit` characters (it is the learner's text)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
