"""Exercises of notebook 05: masked softmax, additive and dot-product attention."""
import numpy as np

from .. import attention
from . import Case, Exercise, Mistake, register


def padding_mask(rng, N, S):
    """(N, S) bool, True at the first len_n positions of row n, len_n drawn from 1..S."""
    lengths = rng.integers(1, S + 1, size=N)
    lengths[0] = S  # at least one row without padding, as in a real batch
    return np.arange(S)[None, :] < lengths[:, None]


def _softmax(scores, axis=-1):
    """A plain, numerically stable softmax (no mask). NaN where a row is all -inf, silently."""
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = scores - np.max(scores, axis=axis, keepdims=True)
        exp = np.exp(shifted)
        return exp / np.sum(exp, axis=axis, keepdims=True)


# --- masked_softmax -------------------------------------------------------------

def masked_softmax_cases(rng):
    cases = []
    for N, S in [(3, 5), (4, 7), (int(rng.integers(2, 6)), int(rng.integers(3, 10)))]:
        cases.append(Case(f"N={N}, S={S}, with padding", (rng.normal(size=(N, S)) * 2, padding_mask(rng, N, S))))
    cases.append(Case("batch size 1", (rng.normal(size=(1, 6)), padding_mask(rng, 1, 6))))
    cases.append(Case("a length-1 source", (rng.normal(size=(3, 1)), np.ones((3, 1), dtype=bool))))
    cases.append(Case("3-D scores (N, T, S)", (rng.normal(size=(2, 3, 5)),
                                               np.repeat(padding_mask(rng, 2, 5)[:, None, :], 3, axis=1))))
    scores, mask = rng.normal(size=(3, 6)), padding_mask(rng, 3, 6)
    mask[1:, -2:] = False
    scores[~mask] = 1e30
    cases.append(Case("huge scores at the padded positions", (scores, mask)))
    scores, mask = rng.normal(size=(3, 5)), padding_mask(rng, 3, 5)
    mask[1:, -1] = False
    scores[~mask] = -np.inf
    cases.append(Case("-inf scores at the padded positions", (scores, mask)))
    mask = padding_mask(rng, 3, 4)
    mask[1] = False
    cases.append(Case("a row that is all padding", (rng.normal(size=(3, 4)), mask)))
    scores, mask = rng.normal(size=(2, 4)), padding_mask(rng, 2, 4)
    scores[1] = -np.inf
    mask[1, -1] = False  # the same kind of case at every seed: real positions and padding
    cases.append(Case("a row whose scores are all -inf", (scores, mask)))
    cases.append(Case("axis=0 given", (rng.normal(size=(5, 3)), padding_mask(rng, 3, 5).T), {"axis": 0}))
    # Large real scores: exp(1000) overflows, so the max must be subtracted first.
    cases.append(Case("large scores (around 1000)", (rng.normal(size=(3, 5)) + 1000, padding_mask(rng, 3, 5))))
    # One row near 1000, the other near 0: a single max over the whole array, instead of each
    # row's own, sends every exp() of the second row to 0.
    scores = rng.normal(size=(2, 5))
    scores[0] += 1000
    cases.append(Case("rows of very different scale (one near 1000, one near 0)",
                      (scores, padding_mask(rng, 2, 5))))
    return cases


def _masked_softmax_with(shift, scores, mask, axis=-1):
    """A masked softmax that subtracts `shift(masked scores)` instead of each slice's max."""
    with np.errstate(all="ignore"):
        masked = np.where(mask, scores, -np.inf)
        exp = np.exp(masked - shift(masked))
        total = np.sum(exp, axis=axis, keepdims=True)
        return exp / np.where(total > 0, total, 1.0)


MASKED_SOFTMAX_MISTAKES = [
    Mistake("no max-subtraction before exp (it overflows on large scores)",
            lambda scores, mask, axis=-1: _masked_softmax_with(lambda m: 0.0, scores, mask, axis),
            "exp() overflows to inf above about 709, and inf / inf is NaN. Subtract each slice's "
            "maximum (over the real positions) before exp; where a slice has no real position, "
            "subtract 0 instead."),
    Mistake("one max over the whole array subtracted instead of each slice's own",
            lambda scores, mask, axis=-1: _masked_softmax_with(
                lambda m: np.max(m[np.isfinite(m)]) if np.isfinite(m).any() else 0.0, scores, mask, axis),
            "Take the max along `axis` with keepdims=True: a slice whose scores are far below the "
            "global max gets exp() = 0 everywhere, and then 0 / 0."),
    Mistake("no guard for a slice with no real position, so 0 / 0 gives NaN there",
            lambda scores, mask, axis=-1: _softmax(np.where(mask, scores, -np.inf), axis),
            "Where a whole slice is padding (or -inf), its max is -inf and its sum is 0: subtract 0 "
            "instead of the max there (np.where(np.isfinite(top), top, 0)) and divide by 1 instead "
            "of the zero sum, so that the slice comes out as all zeros."),
    Mistake("the softmax taken over axis 0 instead of `axis`",
            lambda scores, mask, axis=-1: attention.masked_softmax(scores, mask, axis=0),
            "Normalise along `axis` (the source positions, the last axis by default): use "
            "axis=axis in every max and sum, with keepdims=True so that the result broadcasts."),
    Mistake("no mask: a plain softmax over every position",
            lambda scores, mask, axis=-1: _softmax(scores, axis),
            "Padded positions (mask False) must get exactly 0 weight: replace their scores "
            "with -inf before the softmax, e.g. np.where(mask, scores, -np.inf)."),
    Mistake("the mask applied after the softmax, without renormalising",
            lambda scores, mask, axis=-1: _softmax(scores, axis) * mask,
            "Multiplying by the mask after the softmax zeroes the padding, but the remaining "
            "weights no longer sum to 1. Mask the scores first (padding -> -inf), then take the softmax."),
    Mistake("padding given a large negative score (-1e9) instead of -inf",
            lambda scores, mask, axis=-1: _softmax(np.where(mask, scores, -1e9), axis),
            "A row with no real position must come out as all zeros, and a large negative "
            "number still gets weight there. Use -inf for padding, and where a whole row's "
            "max is -inf, subtract 0 instead and divide by 1 instead of the zero sum."),
    Mistake("an additive mask (1e9 subtracted from the padded scores)",
            lambda scores, mask, axis=-1: _softmax(scores - 1e9 * (1 - np.asarray(mask, dtype=float)), axis),
            "Subtracting a big constant fails when a padded score is bigger still (1e30 here). "
            "Replace padded scores instead: np.where(mask, scores, -np.inf)."),
]


# --- additive_attention and dot_product_attention -----------------------------------

def additive_cases(rng):
    cases = []
    for N, S, Hq, Hk, A in [(3, 5, 4, 6, 5), (2, 7, 3, 3, 4), (1, 4, 2, 5, 3), (3, 1, 4, 4, 2),
                            (int(rng.integers(2, 5)), int(rng.integers(2, 9)), 3, 4, 6)]:
        name = "batch size 1" if N == 1 else "a length-1 source" if S == 1 else f"N={N}, S={S}, with padding"
        cases.append(Case(name, (rng.normal(size=(N, Hq)), rng.normal(size=(N, S, Hk)), padding_mask(rng, N, S),
                                 rng.normal(size=(Hq, A)), rng.normal(size=(Hk, A)), rng.normal(size=A))))
    query, keys, mask = rng.normal(size=(3, 4)), rng.normal(size=(3, 6, 4)), padding_mask(rng, 3, 6)
    mask[1:, -2:] = False
    keys[~mask] = 100.0  # padding must not leak into the context, however large
    cases.append(Case("large keys at the padded positions", (query, keys, mask, rng.normal(size=(4, 5)),
                                                             rng.normal(size=(4, 5)), rng.normal(size=5))))
    return cases


ADDITIVE_MISTAKES = [
    Mistake("no mask: a plain softmax over every source position",
            lambda q, k, m, W_q, W_k, v: _attend(_softmax(np.tanh((q @ W_q)[:, None] + k @ W_k) @ v), k),
            "Padded positions must get 0 weight: use masked_softmax(scores, mask), not a plain softmax."),
    Mistake("no tanh",
            lambda q, k, m, W_q, W_k, v: _attend(attention.masked_softmax(((q @ W_q)[:, None] + k @ W_k) @ v, m), k),
            "The score is v . tanh(query W_q + key W_k): without the tanh it is linear in the "
            "key and the query's part is the same for every position, so it cancels in the softmax."),
    Mistake("the softmax taken over the batch axis",
            lambda q, k, m, W_q, W_k, v: _attend(attention.masked_softmax(np.tanh((q @ W_q)[:, None] + k @ W_k) @ v,
                                                                          m, axis=0), k),
            "scores has shape (N, S): normalise over the source positions, axis=-1, so each "
            "example's weights sum to 1."),
    Mistake("the context averaged from the projected keys (keys @ W_k) instead of the keys",
            lambda q, k, m, W_q, W_k, v: _attend(attention.masked_softmax(np.tanh((q @ W_q)[:, None] + k @ W_k) @ v, m),
                                                 k @ W_k),
            "W_k is only for scoring. The context averages the encoder states themselves: "
            "context[n] = sum_s weights[n, s] * keys[n, s]."),
]


def dot_cases(rng):
    cases = []
    for N, S, H in [(3, 5, 4), (2, 8, 6), (1, 4, 3), (3, 1, 5), (int(rng.integers(2, 5)), int(rng.integers(2, 9)), 4)]:
        name = "batch size 1" if N == 1 else "a length-1 source" if S == 1 else f"N={N}, S={S}, with padding"
        cases.append(Case(name, (rng.normal(size=(N, H)), rng.normal(size=(N, S, H)), padding_mask(rng, N, S))))
    query, keys, mask = rng.normal(size=(3, 4)), rng.normal(size=(3, 6, 4)), padding_mask(rng, 3, 6)
    mask[1:, -2:] = False
    keys[~mask] = 100.0
    cases.append(Case("large keys at the padded positions", (query, keys, mask)))
    return cases


def _attend(weights, values):
    """weights: (N, S), values: (N, S, H) -> (context (N, H), weights)."""
    return np.einsum("ns,nsh->nh", weights, values), weights


DOT_MISTAKES = [
    Mistake("no mask: a plain softmax over every source position",
            lambda q, k, m: _attend(_softmax(np.einsum("nh,nsh->ns", q, k)), k),
            "Padded positions must get 0 weight: use masked_softmax(scores, mask), not a plain softmax."),
    Mistake("the scores divided by sqrt(H)",
            lambda q, k, m: _attend(attention.masked_softmax(np.einsum("nh,nsh->ns", q, k) / np.sqrt(q.shape[-1]), m), k),
            "That is the Transformer's scaled dot product. Luong's score, used here, is the plain "
            "dot product query . key, with no scaling."),
    Mistake("the softmax taken over the batch axis",
            lambda q, k, m: _attend(attention.masked_softmax(np.einsum("nh,nsh->ns", q, k), m, axis=0), k),
            "scores has shape (N, S): normalise over the source positions, axis=-1, so each "
            "example's weights sum to 1."),
]


register(Exercise(
    id="05.masked_softmax", points=2, reference=attention.masked_softmax, cases=masked_softmax_cases,
    outputs=("weights",), mistakes=MASKED_SOFTMAX_MISTAKES,
))

register(Exercise(
    id="05.additive_attention", points=2, reference=attention.additive_attention, cases=additive_cases,
    outputs=("context", "weights"), mistakes=ADDITIVE_MISTAKES,
))

register(Exercise(
    id="05.dot_product_attention", points=1, reference=attention.dot_product_attention, cases=dot_cases,
    outputs=("context", "weights"), mistakes=DOT_MISTAKES,
))


# ---------------------------------------------------------------------------
# One decoder step with attention


def decoder_step_cases(rng):
    cases = []
    for N, S, D, H, V in [(3, 5, 4, 4, 6), (2, 7, 3, 5, 4), (1, 4, 2, 3, 5), (3, 1, 4, 4, 3)]:
        name = "batch size 1" if N == 1 else "a length-1 source" if S == 1 else f"N={N}, S={S}, D={D}, H={H}"
        cases.append(Case(name, (rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, S, H)),
                                 padding_mask(rng, N, S), rng.normal(size=(3 * H, D + H)) / 2,
                                 rng.normal(size=(3 * H, H)) / 2, rng.normal(size=3 * H), rng.normal(size=3 * H),
                                 rng.normal(size=(2 * H, V)), rng.normal(size=V))))
    args = list(cases[0].args)
    args[2], args[3] = args[2].copy(), padding_mask(rng, 3, 5)
    args[3][1:, -2:] = False
    args[2][~args[3]] = 50.0
    cases.append(Case("large keys at the padded positions", tuple(args)))
    return cases


def _decoder_step(y, h_prev, keys, mask, W_ih, W_hh, b_ih, b_hh, W_out, b_out, query="previous",
                  gru_input="y, context", out_input="h, context", masked=True):
    """attention_decoder_step with one thing changed: the mistakes below."""
    from .. import gru
    attend = (attention.dot_product_attention if masked else
              lambda q, k, m: _attend(_softmax(np.einsum("nh,nsh->ns", q, k)), k))
    context, weights = attend(h_prev, keys, mask)
    parts = {"y": y, "context": context}
    x = np.concatenate([parts[p] for p in gru_input.split(", ")], axis=1)
    h, _ = gru.gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh)
    if query == "new":  # attend again, with the new state, for the output layer
        context, weights = attend(h, keys, mask)
    parts = {"h": h, "context": context}
    logits = np.concatenate([parts[p] for p in out_input.split(", ")], axis=1) @ W_out + b_out
    return logits, h, weights


DECODER_STEP_MISTAKES = [
    Mistake("the context for the output layer recomputed with the new state as the query",
            lambda *a: _decoder_step(*a, query="new"),
            "This decoder attends once per step, with the previous state h_prev as the query (it asks "
            "where to look for the next character); the same context goes into the GRU and the output layer."),
    Mistake("the GRU's input concatenated as [context, y]",
            lambda *a: _decoder_step(*a, gru_input="context, y"),
            "The GRU's input is np.concatenate([y, context], axis=1): the previous character first."),
    Mistake("the output layer's input concatenated as [context, h]",
            lambda *a: _decoder_step(*a, out_input="context, h"),
            "The output layer reads np.concatenate([h, context], axis=1): the new state first."),
    Mistake("no mask: a plain softmax over every source position",
            lambda *a: _decoder_step(*a, masked=False),
            "Padded positions must get 0 weight: use your dot_product_attention with the mask."),
]

register(Exercise(
    id="05.attention_decoder_step", points=2, reference=attention.attention_decoder_step,
    cases=decoder_step_cases, outputs=("logits", "h", "weights"), mistakes=DECODER_STEP_MISTAKES,
))
