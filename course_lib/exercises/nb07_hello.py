"""Exercises of notebook 07: the "hello" task, end to end."""
import numpy as np

from .. import layers
from . import Case, Exercise, Mistake, register
from .nb01_onehot_rnn import ONE_HOT_MISTAKES, RNN_STEP_MISTAKES, one_hot_cases, rnn_step_cases


def greedy_decode(logits, chars):
    """logits: (T, V) scores; chars: list of V characters -> the string of the top-scoring ones."""
    return "".join(chars[i] for i in np.argmax(logits, axis=-1))


def greedy_decode_cases(rng):
    cases = []
    for T, V in [(4, 4), (1, 5), (6, 10), (2, 7)]:
        chars = [chr(ord("a") + i) for i in range(V)]
        cases.append(Case(f"T={T}, V={V}", (rng.normal(size=(T, V)), chars)))
    chars = list("helo")
    cases.append(Case("large logits", (rng.normal(size=(4, 4)) * 1e4, chars)))
    # V >= T in every case, so that an argmax over the wrong axis still gives valid
    # indices and the mistake can be recognised instead of crashing.
    return cases


GREEDY_MISTAKES = [
    Mistake("argmax over the time axis instead of the vocabulary axis",
            lambda logits, chars: "".join(chars[i] for i in np.argmax(logits, axis=0)),
            "logits has shape (T, V): take the argmax along the last axis (axis=-1), "
            "one character per time step."),
    Mistake("argmin in place of argmax",
            lambda logits, chars: "".join(chars[i] for i in np.argmin(logits, axis=-1)),
            "The prediction is the character with the highest score: np.argmax."),
]

register(Exercise(
    id="07.one_hot", points=1, reference=layers.one_hot, cases=one_hot_cases,
    outputs=("one_hot",), mistakes=ONE_HOT_MISTAKES, atol=0, rtol=0,
))

register(Exercise(
    id="07.rnn_step_forward", points=2, reference=layers.rnn_step_forward, cases=rnn_step_cases,
    outputs=("h", "cache"), skip=("cache",), mistakes=RNN_STEP_MISTAKES,
))

register(Exercise(
    id="07.greedy_decode", points=1, reference=greedy_decode, cases=greedy_decode_cases,
    outputs=("text",), mistakes=GREEDY_MISTAKES,
))
