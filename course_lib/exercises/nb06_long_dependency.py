"""Exercises of notebook 06: long dependencies, vanishing and exploding gradients."""
import numpy as np

from .. import layers
from ..tasks import make_delay_batch
from . import Case, Exercise, Mistake, register


# --- make_delay_batch ---------------------------------------------------------

def delay_cases(rng):
    """Each case hands over its own seeded Generator, as the notebook does."""
    cases = []
    for N, T, delay, V in [(4, 12, 3, 5), (1, 6, 1, 3), (3, 9, 8, 2),
                           (int(rng.integers(2, 9)), 30, int(rng.integers(2, 25)), int(rng.integers(2, 12)))]:
        seed = int(rng.integers(1 << 30))
        cases.append(Case(f"N={N}, T={T}, delay={delay}, V={V}",
                          (np.random.default_rng(seed), N, T, delay, V)))
    seed = int(rng.integers(1 << 30))
    cases.append(Case("ignore_index=-100", (np.random.default_rng(seed), 3, 10, 4, 6),
                      {"ignore_index": -100}))
    seed = int(rng.integers(1 << 30))
    cases.append(Case("a wide batch, N=16, T=8, delay=2, V=4", (np.random.default_rng(seed), 16, 8, 2, 4)))
    return cases


def _delay_args(case):
    """(N, T, delay, V, ignore_index) of a make_delay_batch case."""
    _, N, T, delay, V = case.args
    return N, T, delay, V, case.kwargs.get("ignore_index", -1)


def delay_problem(x, y, case):
    """What is wrong with (x, y) as a delay batch for this case, or None if nothing is.

    Checks the definition rather than exact values, so any way of drawing uniform
    random tokens is accepted: y[:, t] = x[:, t - delay], ignore_index before that.
    """
    N, T, delay, V, ignore_index = _delay_args(case)
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, np.ndarray):
            return f"{name} is a {type(value).__name__}; expected a NumPy array"
        if value.shape != (N, T):
            return f"{name} has shape {value.shape}, expected (batch_size, seq_len) = {(N, T)}"
        if value.dtype.kind not in "iu":
            return f"{name} has dtype {value.dtype}; token ids must be integers"
    if x.min() < 0 or x.max() >= V:
        return f"x holds ids from {x.min()} to {x.max()}; they must lie in [0, vocab_size) = [0, {V})"
    if N * T >= 20 and len(np.unique(x)) == 1:
        return "every token of x is the same; draw them at random with rng.integers"
    if N >= 2 and V ** T >= 1000 and all(np.array_equal(x[0], row) for row in x[1:]):
        return "every row of x is the same sequence; draw each row's tokens at random"
    for t in range(T):
        want = x[:, t - delay] if t >= delay else np.full(N, ignore_index)
        if not np.array_equal(y[:, t], want):
            what = f"x[:, {t - delay}]" if t >= delay else f"ignore_index ({ignore_index})"
            return f"y[:, {t}] should be {what}, but is {y[:, t].tolist()}"
    return None


def compare_delay(got, expected, case):
    """Compare an attempt by the definition when `expected` is the reference's output;
    when it is a known mistake's output (which breaks the definition), exactly."""
    if not (isinstance(got, tuple) or isinstance(got, list)) or len(got) != 2:
        return "expected a tuple (x, y) of two arrays"
    if delay_problem(*expected, case) is None:
        return delay_problem(got[0], got[1], case)
    same = all(isinstance(g, np.ndarray) and g.shape == e.shape and np.array_equal(g, e)
               for g, e in zip(got, expected))
    return None if same else "differs from this variant"


def _variant(rule):
    """A delay generator that draws x like the reference and builds y with `rule`."""
    def make(rng, batch_size, seq_len, delay, vocab_size, ignore_index=-1):
        x = rng.integers(0, vocab_size, size=(batch_size, seq_len))
        return x, rule(x, delay, ignore_index)
    return make


def _shifted(x, shift, fill):
    """y[:, t] = x[:, t - shift], `fill` where t - shift falls outside the sequence."""
    y = np.full_like(x, fill)
    T = x.shape[1]
    if shift >= 0:
        y[:, shift:] = x[:, :T - shift]
    else:
        y[:, :T + shift] = x[:, -shift:]
    return y


def _one_sequence_repeated(rng, batch_size, seq_len, delay, vocab_size, ignore_index=-1):
    x = np.repeat(rng.integers(0, vocab_size, size=(1, seq_len)), batch_size, axis=0)
    return x, _shifted(x, delay, ignore_index)


DELAY_MISTAKES = [
    Mistake("one random sequence repeated in every row",
            _one_sequence_repeated,
            "Draw the whole batch at once, rng.integers(0, vocab_size, size=(batch_size, seq_len)): "
            "each row must be its own random sequence, or the batch holds one example N times."),
    Mistake("the targets shifted by delay + 1 (off by one)",
            _variant(lambda x, d, ig: _shifted(x, d + 1, ig)),
            "At step t the target is the token read at step t - delay, so y[:, delay] = x[:, 0]: "
            "y[:, delay:] = x[:, :seq_len - delay]."),
    Mistake("the targets shifted by delay - 1 (off by one)",
            _variant(lambda x, d, ig: _shifted(x, d - 1, ig)),
            "At step t the target is the token read at step t - delay, so y[:, delay] = x[:, 0]: "
            "y[:, delay:] = x[:, :seq_len - delay]."),
    Mistake("the first delay targets left at 0 instead of ignore_index",
            _variant(lambda x, d, ig: _shifted(x, d, 0)),
            "Before step `delay` there is nothing to recall. Fill those targets with ignore_index "
            "(start from np.full_like(x, ignore_index)), so that the loss skips them; 0 is a real "
            "token id and would train the model to answer it."),
    Mistake("np.roll, which wraps the last tokens round to the first delay targets",
            _variant(lambda x, d, ig: np.roll(x, d, axis=1)),
            "np.roll wraps the end of the sequence round to the start, so the first `delay` "
            "targets become tokens the model has not read yet. Set them to ignore_index."),
    Mistake("ignore_index hard-coded as -1",
            _variant(lambda x, d, ig: _shifted(x, d, -1)),
            "Use the ignore_index argument, not the literal -1: PyTorch's CrossEntropyLoss uses "
            "-100 by default, for example."),
    Mistake("the targets shifted the wrong way (the future, not the past)",
            _variant(lambda x, d, ig: _shifted(x, -d, ig)),
            "y[:, t] = x[:, t + delay] asks the model to predict tokens it has not seen yet, which "
            "nothing can do with random tokens. Recall the past: y[:, t] = x[:, t - delay]."),
]


# --- hidden_gradient_norms ----------------------------------------------------

def hidden_gradient_norms(x, h0, Wx, Wh, b, dh_last):
    """How strongly the loss at the last step reaches back to each hidden state.

    x: (N, T, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H,).
    dh_last: (N, H), the gradient dL_T/dh_{T-1} of a loss that depends on the last state only.
    Returns norms: (T,), norms[t] = ||dL_T/dh_t||, the norm over the whole (N, H) gradient
    with respect to hs[:, t]; so norms[T-1] = ||dh_last||.
    """
    _, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
    T = x.shape[1]
    norms = np.empty(T)
    dh = dh_last
    for t in reversed(range(T)):
        norms[t] = np.linalg.norm(dh)
        # One step back multiplies the gradient by the Jacobian dh_t/dh_{t-1} (transposed).
        _, dh, _, _, _ = layers.rnn_step_backward(dh, cache[t])
    return norms


def gradient_norm_cases(rng):
    cases = []
    for N, T, D, H, radius in [(2, 6, 3, 4, 0.9), (1, 1, 2, 3, 1.0), (3, 12, 4, 5, 1.5),
                               (int(rng.integers(1, 5)), int(rng.integers(5, 20)), 3, 6, 0.5)]:
        Wh = rng.normal(size=(H, H))
        Wh *= radius / np.max(np.abs(np.linalg.eigvals(Wh)))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}, spectral radius {radius}", (
            rng.normal(size=(N, T, D)), rng.normal(size=(N, H)) * 0.1,
            rng.normal(size=(D, H)) * 0.5, Wh, rng.normal(size=H) * 0.1, rng.normal(size=(N, H)))))
    return cases


def _norms_after_step(x, h0, Wx, Wh, b, dh_last):
    """Off by one: records each norm after stepping back, so norms[t] is ||dL/dh_{t-1}||."""
    _, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
    norms, dh = np.empty(x.shape[1]), dh_last
    for t in reversed(range(x.shape[1])):
        _, dh, _, _, _ = layers.rnn_step_backward(dh, cache[t])
        norms[t] = np.linalg.norm(dh)
    return norms


def _norms_without_tanh(x, h0, Wx, Wh, b, dh_last):
    """Forgets the tanh derivative: multiplies by Wh.T only at each step back."""
    norms, dh = np.empty(x.shape[1]), dh_last
    for t in reversed(range(x.shape[1])):
        norms[t] = np.linalg.norm(dh)
        dh = dh @ Wh.T
    return norms


def _norms_with_Wh(x, h0, Wx, Wh, b, dh_last):
    """Steps back through Wh instead of its transpose."""
    hs, _ = layers.rnn_forward(x, h0, Wx, Wh, b)
    norms, dh = np.empty(x.shape[1]), dh_last
    for t in reversed(range(x.shape[1])):
        norms[t] = np.linalg.norm(dh)
        dh = (dh * (1 - hs[:, t] ** 2)) @ Wh
    return norms


def _norms_squared(x, h0, Wx, Wh, b, dh_last):
    return hidden_gradient_norms(x, h0, Wx, Wh, b, dh_last) ** 2


GRADIENT_NORM_MISTAKES = [
    Mistake("the squared norms (np.sum(dh**2)) without the square root",
            _norms_squared,
            "The norm is the square root of the sum of squares: np.linalg.norm(dh)."),
    Mistake("the norms in reverse order",
            lambda *args: hidden_gradient_norms(*args)[::-1],
            "norms[t] belongs to hidden state t, counting from the start: fill the array from the "
            "end (norms[T-1] = ||dh_last||) while you walk back in time, and do not reverse it."),
    Mistake("each norm recorded after stepping back instead of before (off by one)",
            _norms_after_step,
            "Record norms[t] = ||dh|| while dh is still the gradient with respect to h_t, then step "
            "back with rnn_step_backward(dh, cache[t]) to get the gradient with respect to h_{t-1}."),
    Mistake("the tanh derivative left out",
            _norms_without_tanh,
            "Each step back multiplies by diag(1 - h_t^2) before Wh.T. rnn_step_backward(dh, cache[t]) "
            "does both, so use it rather than dh @ Wh.T."),
    Mistake("Wh in place of Wh.T",
            _norms_with_Wh,
            "h_t = tanh(h_{t-1} @ Wh + ...), so the gradient flows back through Wh.T: "
            "dh_prev = (dh * (1 - h_t^2)) @ Wh.T. rnn_step_backward does this for you."),
]


register(Exercise(
    id="06.make_delay_batch", points=2, reference=make_delay_batch, cases=delay_cases,
    outputs=("x", "y"), mistakes=DELAY_MISTAKES, compare=compare_delay,
))

register(Exercise(
    id="06.hidden_gradient_norms", points=2, reference=hidden_gradient_norms,
    cases=gradient_norm_cases, outputs=("norms",), mistakes=GRADIENT_NORM_MISTAKES,
))
