"""Numerical gradient checking: is a hand-written backward pass right?

For a loss f and a parameter entry p, the centred difference

    (f(p + h) - f(p - h)) / (2 h)

approximates df/dp with an error of order h**2. We compare it with the analytic
gradient through the relative error |a - n| / max(|a| + |n|, 1e-8), which does not
care how large the gradient is. In float64 with h = 1e-5, a correct backward pass
gives relative errors around 1e-7 or below; 1e-3 or more means a bug. Run gradient
checks in float64: float32 has only ~7 significant digits, so the difference of two
nearby losses loses most of them.
"""
import numpy as np


def rel_error(a, b):
    """The largest element-wise relative error between two arrays (or numbers)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f, param, index, h=1e-5):
    """The centred difference of f() at one entry of `param`, which f must read.

    param is changed in place during the call and restored afterwards.
    """
    old = param[index]
    param[index] = old + h
    f_plus = f()
    param[index] = old - h
    f_minus = f()
    param[index] = old
    return (f_plus - f_minus) / (2 * h)


def grad_check(f, params, grads, num_checks=10, h=1e-5, rng=None):
    """Compare analytic gradients with centred differences on random entries.

    f: a function of no arguments that returns the loss (a float) computed from the
       current values in `params`.
    params: {name: array}, perturbed in place one entry at a time, then restored.
    grads: {name: array}, the analytic gradients at the current params.
    num_checks: how many random entries to check per parameter (all of them if the
       parameter has fewer).
    Returns {name: largest relative error over the checked entries}.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    errors = {}
    for name, param in params.items():
        n = min(num_checks, param.size)
        flat_indices = rng.choice(param.size, size=n, replace=False)
        worst = 0.0
        for flat in flat_indices:
            index = np.unravel_index(flat, param.shape)
            numeric = numerical_gradient(f, param, index, h)
            worst = max(worst, rel_error(grads[name][index], numeric))
        errors[name] = worst
    return errors


def show_grad_check(errors, threshold=1e-6):
    """Print one row per parameter: its largest relative error and ✅ (below threshold) or ❌.

    errors: {name: largest relative error}, as grad_check returns. Returns True if all pass.
    """
    width = max(len(name) for name in errors)
    for name, error in errors.items():
        mark = "✅" if error < threshold else "❌"
        print(f"{mark} {name:>{width}}: largest relative error {error:.1e}")
    ok = all(error < threshold for error in errors.values())
    print("all gradients agree with the numerical ones" if ok else
          f"❌ errors above {threshold:.0e}: the backward pass does not compute the gradient of this loss")
    return ok
