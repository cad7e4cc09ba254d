"""Comparing an attempt's outputs with the reference's, and naming simple differences.

`compare_value` says what is wrong with one output (shape, dtype, NaN, values);
`output_error` gives the number shown in a backward check's table; `relation` spots
an output that is the right one transposed, negated or scaled; `changed_input` looks
at what a call did to its arguments, and `with_other_generators` makes the case that
shows whether results follow the random generator they were given.
"""
import dataclasses

import numpy as np


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
        raise ValueError(f"returned {describe(out)}; expected {expected}")
    if len(out) != len(names):
        raise ValueError(f"returned {len(out)} values; expected {expected}")
    return dict(zip(names, out))


def describe(value):
    if value is None:
        return "None (did you forget `return`?)"
    arr = as_array(value)
    if arr is not None and arr.ndim > 0:
        return f"an array of shape {arr.shape}"
    return f"a {type(value).__name__}"


def lower_precision(arr, exp):
    """True when `arr` is a float type with fewer bits than the reference's float `exp`."""
    return arr.dtype.kind == "f" and exp.dtype.kind == "f" and arr.dtype.itemsize < exp.dtype.itemsize


def dtype_rule(name, arr, exp):
    """The message for an output computed in lower precision than the reference."""
    return (f"{name} is {arr.dtype}; the reference works in {exp.dtype}. Keep every array "
            f"in {exp.dtype} (no astype({arr.dtype}), no dtype=np.{arr.dtype} when you create "
            f"arrays): {arr.dtype} rounds at about {np.finfo(arr.dtype).eps:.0e}, so its results "
            f"differ from the reference's on some inputs and not on others")


def compare_value(name, got, expected, atol, rtol):
    """An error message if `got` differs from `expected`, else None."""
    exp = as_array(expected)
    if exp is None:  # strings, lists of characters, ...
        return _compare_plain(name, got, expected)
    arr = as_array(got)
    if arr is None:
        return f"{name} is {describe(got)}; expected an array of shape {exp.shape}"
    if arr.shape != exp.shape:
        return f"{name} has shape {arr.shape}, expected {exp.shape}"
    if arr.dtype.kind != exp.dtype.kind and not (arr.dtype.kind in "fc" and exp.dtype.kind in "fc"):
        return f"{name} has dtype {arr.dtype}, expected {exp.dtype}"
    # The dtype rule holds whatever the values: float32 can agree to 1e-8 on one seed's
    # cases and not on another's, and a verdict must not depend on the seed.
    if lower_precision(arr, exp):
        return dtype_rule(name, arr, exp)
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any() and not (~np.isfinite(exp)).any():
            kind = "NaN" if np.isnan(arr).any() else "inf"
            return f"{name} contains {kind} in {int(bad.sum())} of {arr.size} entries"
    if arr.dtype.kind in "fc" or exp.dtype.kind in "fc":
        ok = np.allclose(arr, exp, atol=atol, rtol=rtol, equal_nan=True)
    else:
        ok = np.array_equal(arr, exp)
    if ok:
        return None
    diff = absolute_difference(arr, exp)
    if arr.ndim == 0:
        return f"{name} is {arr.item():.6g}, expected {exp.item():.6g}"
    where = np.unravel_index(np.argmax(diff), diff.shape)
    return (f"{name} has the right shape but wrong values: largest difference "
            f"{float(diff.max()):.3g} at index {tuple(int(i) for i in where)}")


def _compare_plain(name, got, expected):
    """Strings, lists of characters and the like, compared as plain Python values.

    The attempt's value is converted first, so that an object with its own __eq__ or
    __ne__ (unittest.mock.ANY, say) decides nothing.
    """
    plain = _plain(got)
    if type(plain) is not type(expected) or plain != expected:
        return f"{name} is {_short_repr(got)}, expected {expected!r}"
    return None


def _plain(value):
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, (bool, int, float)):
        return value
    return object()  # equal to nothing


def _short_repr(value):
    try:
        text = repr(value)
    except Exception:
        text = f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."


def absolute_difference(arr, exp):
    """|arr - exp| as float64, with NaN counted as infinitely far (at least 1-D)."""
    with np.errstate(all="ignore"):
        diff = np.atleast_1d(np.abs(np.asarray(arr, dtype=np.float64) - np.asarray(exp, dtype=np.float64)))
    diff[np.isnan(diff) & ~np.isnan(np.atleast_1d(np.asarray(exp, dtype=np.float64)))] = np.inf
    diff[np.isnan(diff)] = 0.0  # NaN where the reference has NaN too
    return diff


def output_error(got, expected):
    """The largest absolute difference between two outputs; None if they cannot be compared."""
    arr, exp = as_array(got), as_array(expected)
    if arr is None or exp is None or arr.shape != exp.shape or arr.dtype.kind not in "biufc":
        return None
    return float(absolute_difference(arr, exp).max()) if exp.size else 0.0


def compare_outputs(ex, got, expected, case):
    """An error message if an attempt's output differs from the reference's, else None."""
    problems = output_problems(ex, got, expected, case)
    return next(iter(problems.values()), None) if isinstance(problems, dict) else problems


def output_problems(ex, got, expected, case):
    """{output name: message} for every compared output that is wrong ({} if none);
    a single message when the outputs cannot be split or the exercise compares its own way."""
    if ex.compare is not None:
        return ex.compare(got, expected, case)
    try:
        got_parts = split_outputs(got, ex.outputs)
    except ValueError as err:
        return str(err)
    exp_parts = split_outputs(expected, ex.outputs)
    problems = {}
    for name in ex.outputs:
        if name not in ex.skip:
            problem = compare_value(name, got_parts[name], exp_parts[name], ex.atol, ex.rtol)
            if problem:
                problems[name] = problem
    return problems


# ---------------------------------------------------------------------------
# Simple relations between a wrong output and the right one


def relation(got, expected, atol=1e-8, rtol=1e-6):
    """How `got` relates to the right answer `expected`, if simply: a phrase or None.

    Catches the commonest slips of a gradient: transposed, negated, scaled by a
    constant (a forgotten or extra division), or not summed over the batch.
    """
    arr, exp = as_array(got), as_array(expected)
    if arr is None or exp is None or arr.dtype.kind not in "fc" or exp.size == 0:
        return None
    arr, exp = arr.astype(np.float64), exp.astype(np.float64)
    if not (np.all(np.isfinite(arr)) and np.all(np.isfinite(exp))):
        return None

    def close(a, b):
        return a.shape == b.shape and np.allclose(a, b, atol=atol, rtol=rtol)

    if exp.ndim == 2 and exp.shape[0] != exp.shape[1] and close(arr, exp.T):
        return "transposed"
    if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and close(arr, exp.T) and not close(arr, exp):
        return "transposed"
    if arr.ndim == exp.ndim + 1 and arr.shape[1:] == exp.shape and close(arr.sum(axis=0), exp):
        return "not summed over the batch (its sum over axis 0 is right)"
    if arr.shape == exp.shape and np.abs(exp).max() > 1e-12:
        scale = float(np.sum(arr * exp) / np.sum(exp * exp))
        if abs(scale - 1) > 1e-6 and abs(scale) > 1e-12 and close(arr, scale * exp):
            return "of the wrong sign" if abs(scale + 1) < 1e-6 else f"the right one times {scale:.4g}"
    return None


# ---------------------------------------------------------------------------
# What a call did to its arguments


def changed_input(case, args, kwargs, names):
    """The name of an argument that the call changed in place, or None."""
    for i, (before, after) in enumerate(zip(case.args, args)):
        where = _changed(before, after)
        if where is not None:
            return (names[i] if i < len(names) else f"argument {i}") + where
    for key in case.kwargs:
        where = _changed(case.kwargs[key], kwargs[key])
        if where is not None:
            return key + where
    return None


def _changed(before, after):
    """None if `after` still equals `before`, else where it changed ("" for the whole value)."""
    if isinstance(before, np.ndarray):
        same = (isinstance(after, np.ndarray) and before.shape == after.shape
                and np.array_equal(before, after, equal_nan=True))
        return None if same else ""
    if isinstance(before, (tuple, list)):
        if not isinstance(after, (tuple, list)) or len(before) != len(after):
            return ""
        for i, (b, a) in enumerate(zip(before, after)):
            inner = _changed(b, a)
            if inner is not None:
                return f"[{i}]{inner}"
        return None
    if isinstance(before, dict):  # e.g. clip_grad_norm's {name: gradient}
        if not isinstance(after, dict) or set(before) != set(after):
            return ""
        for key in before:
            inner = _changed(before[key], after[key])
            if inner is not None:
                return f"[{key!r}]{inner}"
        return None
    return None


def with_other_generators(case, seed, index):
    """The case with every np.random.Generator argument replaced by one in another state,
    or None if the case has no generator. Used to see whether results follow the generator."""
    if not any(isinstance(a, np.random.Generator) for a in case.args):
        return None
    args = tuple(np.random.default_rng([seed, index, 99, i]) if isinstance(a, np.random.Generator) else a
                 for i, a in enumerate(case.args))
    return dataclasses.replace(case, args=args)


def same_output(a, b):
    """Whether two outputs are exactly equal, compared as plain data (arrays, numbers, strings)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_output(x, y) for x, y in zip(a, b))
    x, y = as_array(a), as_array(b)
    if x is not None and y is not None:
        return x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")
    return isinstance(a, str) and isinstance(b, str) and str(a) == str(b)
