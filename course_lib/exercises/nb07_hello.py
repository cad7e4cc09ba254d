"""Exercises of notebook 07: the "hello" task, end to end."""
import dataclasses

import numpy as np

from . import REGISTRY, Case, Exercise, Mistake, nb01_onehot_rnn, register  # noqa: F401 (nb01 registers first)


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
    Mistake("a list of characters returned instead of a string",
            lambda logits, chars: [chars[i] for i in np.argmax(logits, axis=-1)],
            "Join the characters into one string: \"\".join(chars[i] for i in ids)."),
]

# one_hot and rnn_step_forward are notebook 01's exercises again, under 07's ids.
register(dataclasses.replace(REGISTRY["01.one_hot"], id="07.one_hot"))
register(dataclasses.replace(REGISTRY["01.rnn_step_forward"], id="07.rnn_step_forward"))

register(Exercise(
    id="07.greedy_decode", points=1, reference=greedy_decode, cases=greedy_decode_cases,
    outputs=("text",), mistakes=GREEDY_MISTAKES,
))
