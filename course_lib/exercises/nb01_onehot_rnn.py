"""Exercises of notebook 01: a one-hot RNN from scratch in NumPy."""
import numpy as np

from .. import layers
from . import Case, Exercise, Mistake, register


# --- one_hot ----------------------------------------------------------------

def one_hot_cases(rng):
    cases = []
    for T, V in [(5, 4), (1, 3), (7, 27), (int(rng.integers(2, 12)), int(rng.integers(2, 40)))]:
        cases.append(Case(f"{T} ids, vocabulary of {V}", (rng.integers(0, V, size=T), V)))
    cases.append(Case("every id once", (rng.permutation(6), 6)))
    cases.append(Case("vocabulary of 1", (np.zeros(3, dtype=np.int64), 1)))
    return cases


ONE_HOT_MISTAKES = [
    Mistake("the ones shifted by one position",
            lambda ids, V: layers.one_hot((np.asarray(ids) + 1) % V, V),
            "Character id i goes in column i, counting from 0: out[t, ids[t]] = 1."),
]


# --- rnn_step_forward ---------------------------------------------------------

def rnn_step_cases(rng):
    cases = []
    for N, D, H in [(3, 4, 5), (1, 1, 1), (2, 6, 3), (4, 3, 8)]:
        cases.append(Case(f"N={N}, D={D}, H={H}", (
            rng.normal(size=(N, D)), rng.normal(size=(N, H)),
            rng.normal(size=(D, H)) * 0.5, rng.normal(size=(H, H)) * 0.5, rng.normal(size=H))))
    N, D, H = 2, 3, 4
    cases.append(Case("large pre-activations (tanh saturates)", (
        rng.normal(size=(N, D)) * 30, rng.normal(size=(N, H)),
        rng.normal(size=(D, H)), rng.normal(size=(H, H)), rng.normal(size=H))))
    return cases


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


RNN_STEP_MISTAKES = [
    Mistake("sigmoid in place of tanh",
            lambda x, h, Wx, Wh, b: (_sigmoid(x @ Wx + h @ Wh + b), None),
            "The vanilla RNN squashes with tanh, which is centred on 0 and lies in (-1, 1); "
            "sigmoid lies in (0, 1). Use np.tanh."),
    Mistake("Wh transposed",
            lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh.T + b), None),
            "Weights act on the right: h_prev @ Wh, where Wh[i, j] connects unit i of the "
            "previous state to unit j of the new one. Not h_prev @ Wh.T."),
    Mistake("the bias left out",
            lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh), None),
            "Add the bias b before the tanh: tanh(x @ Wx + h_prev @ Wh + b)."),
    Mistake("no tanh at all",
            lambda x, h, Wx, Wh, b: (x @ Wx + h @ Wh + b, None),
            "The new state is the tanh of the sum; without it the state can grow without bound."),
    Mistake("ReLU in place of tanh",
            lambda x, h, Wx, Wh, b: (np.maximum(0, x @ Wx + h @ Wh + b), None),
            "This RNN uses tanh, not ReLU: np.tanh(x @ Wx + h_prev @ Wh + b)."),
]


register(Exercise(
    id="01.one_hot", points=1, reference=layers.one_hot, cases=one_hot_cases,
    outputs=("one_hot",), mistakes=ONE_HOT_MISTAKES, atol=0, rtol=0,
))

register(Exercise(
    id="01.rnn_step_forward", points=2, reference=layers.rnn_step_forward, cases=rnn_step_cases,
    outputs=("h", "cache"), skip=("cache",), mistakes=RNN_STEP_MISTAKES,
))
