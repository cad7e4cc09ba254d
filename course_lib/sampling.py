"""Drawing the next character from a model's scores (NumPy reference versions).

Every function here draws in the same fixed way, so that anyone who follows the recipe
gets the same character for the same generator state:

    1. divide the logits by the temperature;
    2. (top-k / top-p only) set the logits of the removed characters to -inf;
    3. softmax, with the max subtracted first;
    4. return int(rng.choice(V, p=probs)), one draw over all V characters in their
       original order (removed ones have probability 0).

rng.choice(V, p=probs) is the same as np.searchsorted(np.cumsum(probs), rng.random(),
side="right"), so either way of writing step 4 gives the same character.
"""
import numpy as np


def softmax(logits):
    """logits: (V,) -> probabilities (V,), computed without overflow."""
    shifted = logits - np.max(logits)
    exp = np.exp(shifted)
    return exp / exp.sum()


def sample_with_temperature(logits, temperature, rng):
    """Draw one index from softmax(logits / temperature).

    logits: (V,) floats; temperature > 0; rng: np.random.Generator.
    Returns an int in [0, V). Temperature below 1 sharpens the distribution (towards
    the argmax), above 1 flattens it (towards uniform).
    """
    probs = softmax(np.asarray(logits, dtype=np.float64) / temperature)
    return int(rng.choice(len(probs), p=probs))


def sample_top_k(logits, k, temperature, rng):
    """Like sample_with_temperature, but only among the k highest-scoring indices.

    logits: (V,); k: int in [1, V]. Every logit below the k-th largest is set to -inf
    before the softmax (a logit tied with the k-th largest is kept).
    """
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    kth_largest = np.sort(scaled)[-k]
    scaled = np.where(scaled < kth_largest, -np.inf, scaled)
    probs = softmax(scaled)
    return int(rng.choice(len(probs), p=probs))


def sample_top_p(logits, p, temperature, rng):
    """Nucleus sampling: draw among the most likely indices that together hold mass p.

    logits: (V,); p in (0, 1]. Sort the probabilities of softmax(logits / temperature)
    in decreasing order (a stable sort, so ties keep index order) and keep the shortest
    prefix whose sum reaches p, i.e. keep an index when the probability *before* it in
    that order is below p; the most likely index is always kept. The others get logit
    -inf, and we draw from the softmax of what is left.
    """
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    probs = softmax(scaled)
    order = np.argsort(-probs, kind="stable")
    mass_before = np.concatenate([[0.0], np.cumsum(probs[order])[:-1]])
    removed = order[mass_before >= p]
    scaled = scaled.copy()
    scaled[removed] = -np.inf
    probs = softmax(scaled)
    return int(rng.choice(len(probs), p=probs))
