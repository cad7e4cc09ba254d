"""Naming what went wrong with a failed attempt.

First the exercise's registered mistakes (the attempt reproduces one on every case),
then simple relations any exercise can show: an unused random generator, an input
changed in place, a cache the backward pass cannot use, float32 results, a backward
right on the reference's caches only, or an output transposed, negated or scaled.
"""
import numpy as np

from .compare import compare_outputs, relation, split_outputs
from .pairing import cache_gradients_agree, exercise
from .running import TooSlow, call_safely


def diagnose(ex, fn, outcomes, forward=None):
    """(description, hint) for a failed attempt, or None if nothing specific is found."""
    kinds = {o.kind for o in outcomes if o.problem is not None}
    mistake = recognise_mistake(ex, outcomes, by_cache="cache" in kinds and kinds <= {"cache", ""})
    if mistake is not None:
        return mistake.description, mistake.hint
    first = next(o for o in outcomes if o.problem is not None)
    if any(o.unused for o in outcomes):
        return ("results that ignore the random generator it was given",
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
        fwd = exercise(ex.forward)
        return (f"the reference forward's caches; the caches your {fwd.name} makes hold something else",
                f"Your {ex.name} is right on the cache the notebook describes; the one your "
                f"{fwd.name} returns holds something else. {fwd.cache_layout}")
    related = _related_outputs(ex, outcomes)
    if related:
        description = " and ".join(f"{name} {phrase}" for name, phrase in related)
        by_kind = {}
        for name, phrase in related:
            by_kind.setdefault(phrase.split(" times ")[0], (phrase, []))[1].append(name)
        return description, " ".join(_relation_hint(names, phrase) for phrase, names in by_kind.values())
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
        if all(cache_gradients_agree(ex, o.case, i, 0, o.got, w, o.expected)
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


def output_relations(ex, outcomes):
    """{output name: relation} for each wrong output that relates to the right one in a
    single way on every case where it is wrong (see compare.relation); None where not."""
    if ex.compare is not None:
        return {}
    relations = {}
    for name in ex.outputs:
        phrases = set()
        for o in outcomes:
            if name in o.problems:
                got = split_outputs(o.got, ex.outputs)[name]
                phrases.add(relation(got, split_outputs(o.expected, ex.outputs)[name], ex.atol, ex.rtol))
        if not phrases:
            continue
        if len(phrases) == 1:
            relations[name] = phrases.pop()
        elif all(p and p.startswith("the right one times") for p in phrases):
            # A factor that changes from case to case (batch size, sequence length) is still one slip.
            relations[name] = "the right one times a factor that changes with the case"
        else:
            relations[name] = None
    return relations


def _related_outputs(ex, outcomes):
    """[(output name, relation)] when every wrong output has one; None otherwise."""
    relations = output_relations(ex, outcomes)
    if not relations or None in relations.values():
        return None
    return list(relations.items())


def _relation_hint(names, phrase):
    names = " and ".join(names)
    if phrase == "transposed":
        return (f"{names} must have the shape of the array it is the gradient of, in the same layout: "
                "swap the operands of the matmul (a.T @ b instead of b.T @ a).")
    if phrase.startswith("not summed"):
        return (f"What is shared by every row of the batch gets the sum of their gradients: "
                f"{names} = (...).sum(axis=0).")
    if phrase == "of the wrong sign":
        return f"Check the sign of each term of {names}: every entry is the negative of the right one."
    return (f"Every entry of {names} is off by the same factor: look for a factor that is missing or "
            f"extra, such as a division by the batch size or the number of positions, or a 2 from a derivative.")
