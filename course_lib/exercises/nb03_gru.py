"""Exercises of notebook 03: the GRU cell, forward and backward, in PyTorch's conventions."""
import numpy as np

from .. import gru
from . import Case, Exercise, Mistake, register

sigmoid = gru.sigmoid


# --- gru_step_forward -----------------------------------------------------------

def _weights(rng, D, H, scale=0.5):
    """W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,), with biases far enough from 0
    that leaving one out, or putting it in the wrong place, shows."""
    return (rng.normal(size=(3 * H, D)) * scale, rng.normal(size=(3 * H, H)) * scale,
            rng.normal(size=3 * H), rng.normal(size=3 * H))


def gru_step_cases(rng):
    cases = []
    for N, D, H in [(3, 4, 5), (1, 1, 1), (2, 6, 3), (4, 3, 8),
                    (int(rng.integers(1, 6)), int(rng.integers(1, 9)), int(rng.integers(1, 9)))]:
        cases.append(Case(f"N={N}, D={D}, H={H}", (
            rng.normal(size=(N, D)), rng.normal(size=(N, H)), *_weights(rng, D, H))))
    N, D, H = 2, 3, 4
    cases.append(Case("large inputs (the gates saturate)", (
        rng.normal(size=(N, D)) * 30, rng.normal(size=(N, H)), *_weights(rng, D, H, scale=1.0))))
    cases.append(Case("h_prev = 0 (the first step)", (
        rng.normal(size=(N, D)), np.zeros((N, H)), *_weights(rng, D, H))))
    return cases


def _forward_variant(x, h_prev, W_ih, W_hh, b_ih, b_hh, reset="after", swap_rz=False,
                     swap_update=False, tanh=True, cache=None):
    """gru_step_forward with one thing changed, to recognise a known mistake."""
    H = h_prev.shape[1]
    gi = x @ W_ih.T + b_ih
    gh = h_prev @ W_hh.T + b_hh
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    if swap_rz:
        r, z = z, r
    W_hn, b_hn = W_hh[2 * H:], b_hh[2 * H:]
    if reset == "after":
        hidden = r * (h_prev @ W_hn.T + b_hn)
    elif reset == "before":  # Cho et al. (2014)
        hidden = (r * h_prev) @ W_hn.T + b_hn
    else:  # "matmul only": the bias outside the reset
        hidden = r * (h_prev @ W_hn.T) + b_hn
    a_n = gi[:, 2 * H:] + hidden
    n = np.tanh(a_n) if tanh else a_n
    h = z * n + (1 - z) * h_prev if swap_update else (1 - z) * n + z * h_prev
    hn = h_prev @ W_hn.T + b_hn
    caches = {None: None,
              "r * hn": (x, h_prev, W_ih, W_hh, r, z, n, r * hn),
              "a_n": (x, h_prev, W_ih, W_hh, r, z, a_n, hn)}
    return h, caches[cache]


CHO_HINT = (
    "There are two GRUs in the literature. Cho et al. (2014) reset the state BEFORE the "
    "hidden matmul: n = tanh(W_in x + b_in + W_hn (r * h_prev) + b_hn). PyTorch, cuDNN and "
    "this course apply it AFTER: n = tanh(W_in x + b_in + r * (W_hn h_prev + b_hn)). Both are "
    "GRUs, but they are different functions, so weights do not carry over from one to the "
    "other. The 'after' form lets all three hidden matmuls run as one, h_prev @ W_hh.T, "
    "before r is known; cuDNN computes that form and PyTorch matches cuDNN. Compute hn = h_prev @ W_hn.T + b_hn first, "
    "then multiply it by r.")

GRU_FORWARD_MISTAKES = [
    Mistake("the reset gate applied before the hidden matmul (Cho et al. 2014)",
            lambda *a: _forward_variant(*a, reset="before"), CHO_HINT),
    Mistake("the reset gate multiplying h_prev @ W_hn.T but not b_hn",
            lambda *a: _forward_variant(*a, reset="matmul only"),
            "b_hn sits inside the reset: r * (h_prev @ W_hn.T + b_hn). That is why PyTorch keeps "
            "two candidate biases: b_in outside the reset, b_hn inside it."),
    Mistake("z and (1 - z) swapped",
            lambda *a: _forward_variant(*a, swap_update=True),
            "In PyTorch's convention z is the share of the OLD state that is kept: "
            "h = (1 - z) * n + z * h_prev. Some texts write it the other way round; both are "
            "GRUs, but only the PyTorch form matches nn.GRU's weights."),
    Mistake("the reset and update gates in the wrong order",
            lambda *a: _forward_variant(*a, swap_rz=True),
            "PyTorch stacks the gates' rows in the order r, z, n: rows 0:H of W_ih, W_hh, b_ih and "
            "b_hh belong to the reset gate r, rows H:2H to the update gate z, rows 2H:3H to the "
            "candidate n. (Keras uses z, r, h, so its weights need reordering.)"),
    Mistake("no tanh on the candidate",
            lambda *a: _forward_variant(*a, tanh=False),
            "The candidate state is squashed like a vanilla RNN's state: "
            "n = tanh(W_in x + b_in + r * hn). Without tanh, n and then h can grow without bound."),
    Mistake("the cache holding r * hn where hn belongs",
            lambda *a: _forward_variant(*a, cache="r * hn"),
            "The backward pass needs hn = h_prev @ W_hn.T + b_hn itself, before the reset: it is "
            "what r multiplied, so dr = da_n * hn. Keep hn and r apart in the cache."),
    Mistake("the cache holding the candidate's pre-activation where n belongs",
            lambda *a: _forward_variant(*a, cache="a_n"),
            "The cache's n is the candidate after the tanh: the backward pass uses 1 - n**2 as "
            "the tanh's derivative, and h_prev - n for the update gate."),
]

GRU_CACHE_LAYOUT = ("The cache must be (x, h_prev, W_ih, W_hh, r, z, n, hn): the gates r, z and the "
                    "candidate n after their sigmoid / tanh, and hn = h_prev @ W_hn.T + b_hn before "
                    "the reset multiplies it.")


# --- gru_step_backward ----------------------------------------------------------

def gru_step_backward_cases(rng):
    """Each case is (dh, cache), with the cache made by the reference forward pass."""
    cases = []
    for name, (x, h_prev, *weights) in ((c.name, c.args) for c in gru_step_cases(rng)):
        _, cache = gru.gru_step_forward(x, h_prev, *weights)
        cases.append(Case(name, (rng.normal(size=h_prev.shape), cache), forward=(x, h_prev, *weights)))
    return cases


def _backward_variant(dh, cache, reset_path=True, direct_path=True, dz_sign=1.0,
                      r_on_hidden=True, tanh_grad=True):
    """gru_step_backward with one thing changed, to recognise a known mistake."""
    x, h_prev, W_ih, W_hh, r, z, n, hn = cache
    dn = dh * (1.0 - z)
    dz = dz_sign * dh * (h_prev - n)
    da_n = dn * (1.0 - n * n) if tanh_grad else dn
    da_r = da_n * hn * r * (1.0 - r) if reset_path else np.zeros_like(r)
    da_z = dz * z * (1.0 - z)
    dgi = np.concatenate([da_r, da_z, da_n], axis=1)
    dgh = np.concatenate([da_r, da_z, da_n * r if r_on_hidden else da_n], axis=1)
    dh_prev = dgh @ W_hh + (dh * z if direct_path else 0.0)
    return (dgi @ W_ih, dh_prev, dgi.T @ x, dgh.T @ h_prev, dgi.sum(axis=0), dgh.sum(axis=0))


GRU_BACKWARD_MISTAKES = [
    Mistake("no gradient through the reset gate",
            lambda dh, cache: _backward_variant(dh, cache, reset_path=False),
            "r multiplies hn = h_prev @ W_hn.T + b_hn inside the tanh, so the loss reaches r too: "
            "dr = da_n * hn, then da_r = dr * r * (1 - r). Without it, the reset gate's rows of "
            "W_ih, W_hh, b_ih and b_hh never learn."),
    Mistake("the direct path from h to h_prev left out",
            lambda dh, cache: _backward_variant(dh, cache, direct_path=False),
            "h = (1 - z) * n + z * h_prev uses h_prev directly, not only through the matmuls: "
            "dh_prev gets dh * z on top of dgh @ W_hh. This direct path is the one that lets "
            "gradients cross many steps when z is near 1."),
    Mistake("the update gate's gradient with the wrong sign",
            lambda dh, cache: _backward_variant(dh, cache, dz_sign=-1.0),
            "Write h = n + z * (h_prev - n): then dh/dz = h_prev - n, so dz = dh * (h_prev - n), "
            "not dh * (n - h_prev)."),
    Mistake("the hidden part of the candidate's gradient not multiplied by r",
            lambda dh, cache: _backward_variant(dh, cache, r_on_hidden=False),
            "The candidate's pre-activation is (W_in x + b_in) + r * hn. The input part gets da_n, "
            "but the hidden part hn = h_prev @ W_hn.T + b_hn was multiplied by r, so it gets "
            "da_n * r: that goes into rows 2H:3H of dW_hh and db_hh, and into dh_prev."),
    Mistake("the tanh derivative left out",
            lambda dh, cache: _backward_variant(dh, cache, tanh_grad=False),
            "n = tanh(a_n), so da_n = dn * (1 - n**2). The cache holds n, the tanh's output, "
            "which is all you need."),
]


register(Exercise(
    id="03.gru_step_forward", points=3, reference=gru.gru_step_forward, cases=gru_step_cases,
    outputs=("h", "cache"), skip=("cache",), mistakes=GRU_FORWARD_MISTAKES,
    backward="03.gru_step_backward", cache_layout=GRU_CACHE_LAYOUT,
))

register(Exercise(
    id="03.gru_step_backward", points=4, reference=gru.gru_step_backward,
    cases=gru_step_backward_cases,
    outputs=("dx", "dh_prev", "dW_ih", "dW_hh", "db_ih", "db_hh"), mistakes=GRU_BACKWARD_MISTAKES,
    forward="03.gru_step_forward",
))
