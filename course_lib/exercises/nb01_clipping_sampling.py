"""Exercises of notebook 01, training and sampling: clip_grad_norm, sample_with_temperature."""
import numpy as np

from .. import optim, sampling
from . import Case, Exercise, Mistake, register


# --- clip_grad_norm --------------------------------------------------------------

def clip_grad_norm(grads, max_norm):
    """The exercise's form of optim.clip_grad_norm: it returns the clipped gradients.

    grads: {name: array}; max_norm: float. Returns clipped, a new dict of arrays
    scaled by one common factor so that their global norm is at most max_norm, and
    total_norm, the global norm before clipping.
    """
    clipped = {name: np.array(g, dtype=np.float64) for name, g in grads.items()}
    total_norm = optim.clip_grad_norm(clipped, max_norm)
    return clipped, total_norm


def clip_grad_norm_cases(rng):
    def grads(shapes, scale):
        return {name: rng.normal(size=shape) * scale for name, shape in shapes.items()}

    rnn_shapes = {"Wx": (5, 4), "Wh": (4, 4), "b": (4,), "Wy": (4, 5), "by": (5,)}
    return [
        Case("norm far above max_norm, entries above it too", (grads(rnn_shapes, 10.0), 5.0)),
        # 100 entries of about 0.5: global norm about 5, yet no single entry reaches 1.
        Case("norm above max_norm, every entry below it", (grads({"W": (10, 10)}, 0.5), 1.0)),
        Case("one array much larger than the others",
             ({"big": rng.normal(size=(3, 3)) * 50, "small": rng.normal(size=4) * 0.01}, 2.0)),
        Case("norm below max_norm: nothing changes", (grads(rnn_shapes, 0.01), 5.0)),
        Case("a single array", ({"W": rng.normal(size=(int(rng.integers(2, 6)), 3)) * 4}, 1.0)),
    ]


def _global_norm(grads):
    return float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))


def _clip_elementwise(grads, max_norm):
    return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, _global_norm(grads)


def _clip_each_array(grads, max_norm):
    clipped = {}
    for k, g in grads.items():
        norm = np.sqrt(np.sum(g ** 2))
        clipped[k] = g * (max_norm / norm) if norm > max_norm else g.copy()
    return clipped, _global_norm(grads)


def _clip_always(grads, max_norm):
    total = _global_norm(grads)
    return {k: g * (max_norm / total) for k, g in grads.items()}, total


def _clip_norm_after(grads, max_norm):
    clipped, _ = clip_grad_norm(grads, max_norm)
    return clipped, _global_norm(clipped)


def _clip_scaled_by(grads, max_norm, scale_fn):
    total = _global_norm(grads)
    scale = scale_fn(total, max_norm) if total > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, total


def _clip_by_largest_norm(grads, max_norm):
    total = max(float(np.sqrt(np.sum(g ** 2))) for g in grads.values())
    scale = max_norm / total if total > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, total


def _clip_without_sqrt(grads, max_norm):
    total = float(sum(np.sum(g ** 2) for g in grads.values()))
    scale = max_norm / total if total > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, total


def compare_clipped(got, expected, case):
    """Compare (clipped dict, total_norm) pairs entry by entry."""
    from .core import compare_value, split_outputs

    try:
        got_parts = split_outputs(got, ("clipped", "total_norm"))
    except ValueError as err:
        return str(err)
    clipped, exp_clipped = got_parts["clipped"], expected[0]
    if not isinstance(clipped, dict) or set(clipped) != set(exp_clipped):
        return f"clipped should be a dict with the keys {sorted(exp_clipped)}"
    for name in exp_clipped:
        problem = compare_value(f"clipped[{name!r}]", clipped[name], exp_clipped[name], 1e-8, 1e-6)
        if problem:
            return problem
    return compare_value("total_norm", got_parts["total_norm"], expected[1], 1e-8, 1e-6)


CLIP_MISTAKES = [
    Mistake("each entry clipped to [-max_norm, max_norm] on its own (np.clip)",
            _clip_elementwise,
            "Clip by the global norm: compute one norm over all arrays together, "
            "total_norm = sqrt(sum of g**2 over every entry of every array), and if it exceeds "
            "max_norm multiply every array by max_norm / total_norm. np.clip changes entries "
            "one by one and bends the direction of the gradient."),
    Mistake("each array rescaled by its own norm",
            _clip_each_array,
            "One norm over all the arrays together, and one scale factor for all of them: "
            "rescaling each array separately changes the direction of the full gradient."),
    Mistake("the gradients rescaled even when their norm is below max_norm",
            _clip_always,
            "Clip only when total_norm > max_norm; a small gradient must be left unchanged."),
    Mistake("the norm measured after clipping instead of before",
            _clip_norm_after,
            "Return total_norm as it was before clipping: it is the number you monitor, and after "
            "clipping it would never exceed max_norm."),
    Mistake("the scale factor upside down (total_norm / max_norm)",
            lambda grads, max_norm: _clip_scaled_by(grads, max_norm, lambda total, m: total / m),
            "To bring the norm down to max_norm, multiply by max_norm / total_norm, which is below 1 "
            "when clipping is needed."),
    Mistake("the largest of the arrays' norms used in place of the global norm",
            _clip_by_largest_norm,
            "The global norm combines every array: sqrt(sum over arrays of np.sum(g**2)), not the "
            "norm of the largest array alone."),
    Mistake("the sum of squares used as the norm, without the square root",
            _clip_without_sqrt,
            "The L2 norm is the square root of the sum of squares: np.sqrt(sum of np.sum(g**2))."),
]


# --- sample_with_temperature ----------------------------------------------------

def sample_with_temperature_cases(rng):
    cases = []
    for i, (V, temperature, scale) in enumerate([(5, 1.0, 1.0), (10, 0.5, 2.0), (10, 2.0, 2.0), (27, 0.7, 3.0),
                                                 (8, 1.5, 1.0), (3, 0.2, 1.0), (30, 3.0, 2.0), (12, 0.9, 2.0)]):
        logits = rng.normal(size=V) * scale
        cases.append(Case(f"V={V}, temperature {temperature}",
                          (logits, temperature, np.random.default_rng(int(rng.integers(1 << 30))))))
    cases.append(Case("large logits (around 1000), temperature 0.8",
                      (rng.normal(size=6) * 2 + 1000, 0.8, np.random.default_rng(int(rng.integers(1 << 30))))))
    cases.append(Case("large logits (around 1000), temperature 1.3",
                      (rng.normal(size=6) * 2 + 1000, 1.3, np.random.default_rng(int(rng.integers(1 << 30))))))
    # Low temperatures with large logits: logits / T reach 10000, so the max must be taken
    # AFTER dividing by T; exp(z / T - max z) overflows.
    for temperature in (0.1, 0.05):
        logits = rng.normal(size=7) * 2 + 1000
        logits[int(rng.integers(7))] -= 1.0
        cases.append(Case(f"large logits (around 1000), temperature {temperature}",
                          (logits, temperature, np.random.default_rng(int(rng.integers(1 << 30))))))
    return cases


def _sample_from(probs_fn):
    def wrong(logits, temperature, rng):
        probs = probs_fn(np.asarray(logits, dtype=np.float64), temperature)
        return int(rng.choice(len(probs), p=probs))
    return wrong


SAMPLE_MISTAKES = [
    Mistake("the logits multiplied by the temperature instead of divided",
            _sample_from(lambda logits, temperature: sampling.softmax(logits * temperature)),
            "Divide: softmax(logits / temperature). A low temperature must sharpen the "
            "distribution, and dividing by a number below 1 makes the scores further apart."),
    Mistake("the argmax taken instead of a random draw",
            lambda logits, temperature, rng: int(np.argmax(logits)),
            "Sampling draws at random from the probabilities: rng.choice(V, p=probs). "
            "Always taking the argmax is greedy decoding, and temperature has no effect on it."),
    Mistake("the temperature left out",
            _sample_from(lambda logits, temperature: sampling.softmax(logits)),
            "Scale the logits before the softmax: softmax(logits / temperature)."),
    Mistake("a uniform draw that ignores the logits",
            lambda logits, temperature, rng: int(rng.integers(len(logits))),
            "Draw from the distribution the logits give: rng.choice(V, p=softmax(logits / temperature)), "
            "not rng.integers(V), which makes every character equally likely."),
    Mistake("the argmin taken instead of a random draw",
            lambda logits, temperature, rng: int(np.argmin(logits)),
            "Sampling draws at random from the probabilities: rng.choice(V, p=probs)."),
]


register(Exercise(
    id="01.clip_grad_norm", points=1, reference=clip_grad_norm, cases=clip_grad_norm_cases,
    outputs=("clipped", "total_norm"), compare=compare_clipped, mistakes=CLIP_MISTAKES,
))

register(Exercise(
    id="01.sample_with_temperature", points=1, reference=sampling.sample_with_temperature,
    cases=sample_with_temperature_cases, outputs=("index",), mistakes=SAMPLE_MISTAKES,
))
