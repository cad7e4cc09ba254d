"""Exercises of notebook 07: the "hello" task, and PyTorch's state_dicts mapped onto the NumPy cells.

The notebook runs the learner's own one_hot, rnn_step_forward (01), gru_step_forward (03) and
lstm_step_forward (04) through `your_cell` (from_notebook.py); they are graded in their notebooks.
"""
import numpy as np

from . import Case, Exercise, Mistake, register
from .core import compare_value


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

register(Exercise(
    id="07.greedy_decode", points=1, reference=greedy_decode, cases=greedy_decode_cases,
    outputs=("text",), mistakes=GREEDY_MISTAKES,
))


# ---------------------------------------------------------------------------
# From torch's state_dict to the NumPy cells: transposes, gate order, two biases.
# `params` is a layer's state_dict as NumPy arrays: weight_ih_l0 (G*H, D),
# weight_hh_l0 (G*H, H), bias_ih_l0 (G*H,), bias_hh_l0 (G*H,), G gates stacked in rows.

LSTM_GATES = "ifgo"  # torch.nn.LSTM's row order: input, forget, cell candidate, output
GRU_GATES = "rzn"    # torch.nn.GRU's row order: reset, update, candidate


def rnn_weights_from_torch(params):
    """nn.RNN's params -> (Wx: (D, H), Wh: (H, H), b: (H,)) for h = tanh(x @ Wx + h_prev @ Wh + b)."""
    return (params["weight_ih_l0"].T, params["weight_hh_l0"].T,
            params["bias_ih_l0"] + params["bias_hh_l0"])


def _rows(W, k, H):
    """Rows k*H .. (k+1)*H of a stacked (G*H, ...) weight: the k-th gate's block."""
    return W[k * H:(k + 1) * H]


def lstm_gate_weights(params, gate, order=LSTM_GATES):
    """nn.LSTM's params and a gate in "ifgo" -> (Wx: (D, H), Wh: (H, H), b: (H,)) with that
    gate's pre-activation x @ Wx + h_prev @ Wh + b."""
    H = params["weight_hh_l0"].shape[1]
    k = order.index(gate)
    return (_rows(params["weight_ih_l0"], k, H).T, _rows(params["weight_hh_l0"], k, H).T,
            _rows(params["bias_ih_l0"], k, H) + _rows(params["bias_hh_l0"], k, H))


def gru_gate_weights(params, gate, order=GRU_GATES):
    """nn.GRU's params and a gate in "rzn" -> (Wx: (D, H), Wh: (H, H), b_x: (H,), b_h: (H,)).

    The biases stay apart because the candidate n = tanh(x @ Wx + b_x + r * (h_prev @ Wh + b_h))
    puts b_h inside the reset gate; for r and z only their sum matters, but the checker
    asks for bias_ih's block as b_x and bias_hh's as b_h in every gate.
    """
    H = params["weight_hh_l0"].shape[1]
    k = order.index(gate)
    return (_rows(params["weight_ih_l0"], k, H).T, _rows(params["weight_hh_l0"], k, H).T,
            _rows(params["bias_ih_l0"], k, H), _rows(params["bias_hh_l0"], k, H))


def random_layer_params(rng, gates, D, H):
    """A layer's params with G = gates stacked blocks, every entry distinct (so no mistake hides)."""
    return {"weight_ih_l0": rng.normal(size=(gates * H, D)), "weight_hh_l0": rng.normal(size=(gates * H, H)),
            "bias_ih_l0": rng.normal(size=gates * H), "bias_hh_l0": rng.normal(size=gates * H)}


def rnn_weights_cases(rng):
    # D != H in most cases so that a missing transpose shows as a shape; D == H once, so that
    # it can also be recognised by value.
    return [Case(f"D={D}, H={H}", (random_layer_params(rng, 1, D, H),))
            for D, H in [(4, 8), (5, 3), (6, 6), (1, 2)]]


def gate_cases(gates, names):
    def cases(rng):
        out = []
        for D, H in [(4, 8), (3, 3), (5, 2)]:
            params = random_layer_params(rng, gates, D, H)
            out += [Case(f"gate {g!r}, D={D}, H={H}", (params, g)) for g in names]
        return out
    return cases


RNN_WEIGHT_MISTAKES = [
    Mistake("the weights not transposed",
            lambda p: (p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"]),
            "torch stores weight_ih_l0 as (H, D) and computes x @ weight_ih_l0.T; notebook 01's "
            "cell computes x @ Wx with Wx: (D, H). So Wx = weight_ih_l0.T, and Wh = weight_hh_l0.T."),
    Mistake("W_h not transposed",
            lambda p: (p["weight_ih_l0"].T, p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"]),
            "weight_hh_l0 is square, so forgetting its transpose gives no shape error, only wrong "
            "values: Wh = weight_hh_l0.T too."),
    Mistake("only bias_ih_l0 as b",
            lambda p: (p["weight_ih_l0"].T, p["weight_hh_l0"].T, p["bias_ih_l0"]),
            "torch adds two biases, bias_ih_l0 and bias_hh_l0; your single b is their sum."),
    Mistake("only bias_hh_l0 as b",
            lambda p: (p["weight_ih_l0"].T, p["weight_hh_l0"].T, p["bias_hh_l0"]),
            "torch adds two biases, bias_ih_l0 and bias_hh_l0; your single b is their sum."),
]

LSTM_GATE_MISTAKES = [
    Mistake("the gate order i, f, o, g", lambda p, g: lstm_gate_weights(p, g, order="ifog"),
            "torch.nn.LSTM stacks its gates in the order i, f, g, o (g, the cell candidate, is third)."),
    Mistake("the gate order f, i, g, o", lambda p, g: lstm_gate_weights(p, g, order="figo"),
            "torch.nn.LSTM stacks its gates in the order i, f, g, o: the input gate comes first."),
    Mistake("the weights not transposed",
            lambda p, g: tuple(w.T if w.ndim == 2 else w for w in lstm_gate_weights(p, g)),
            "Take the gate's block of rows, then transpose it: x @ Wx needs Wx: (D, H), and the "
            "block of weight_ih_l0 is (H, D)."),
    Mistake("only bias_ih_l0's block as b",
            lambda p, g: lstm_gate_weights({**p, "bias_hh_l0": np.zeros_like(p["bias_hh_l0"])}, g),
            "torch adds two biases; the gate's b is the sum of its blocks of bias_ih_l0 and bias_hh_l0."),
]

GRU_GATE_MISTAKES = [
    Mistake("the gate order z, r, n (Keras's order)", lambda p, g: gru_gate_weights(p, g, order="zrn"),
            "torch.nn.GRU stacks its gates in the order r, z, n: the reset gate comes first "
            "(Keras stores z first, so code ported from there swaps them)."),
    Mistake("the weights not transposed",
            lambda p, g: tuple(w.T if w.ndim == 2 else w for w in gru_gate_weights(p, g)),
            "Take the gate's block of rows, then transpose it: x @ Wx needs Wx: (D, H)."),
    Mistake("the two biases swapped",
            lambda p, g: gru_gate_weights({**p, "bias_ih_l0": p["bias_hh_l0"], "bias_hh_l0": p["bias_ih_l0"]}, g),
            "b_x is the block of bias_ih_l0 (added to x @ Wx), b_h the block of bias_hh_l0 (added to "
            "h_prev @ Wh, inside the reset gate for n)."),
    Mistake("the two biases added into b_x",
            lambda p, g: (lambda Wx, Wh, bx, bh: (Wx, Wh, bx + bh, 0 * bh))(*gru_gate_weights(p, g)),
            "For n the two biases cannot be merged: b_h sits inside the reset gate, "
            "r * (h_prev @ Wh + b_h). Return each block as it is."),
]

register(Exercise(
    id="07.rnn_weights_from_torch", points=2, reference=rnn_weights_from_torch, cases=rnn_weights_cases,
    outputs=("Wx", "Wh", "b"), mistakes=RNN_WEIGHT_MISTAKES,
))
register(Exercise(
    id="07.lstm_gate_weights", points=2, reference=lstm_gate_weights, cases=gate_cases(4, LSTM_GATES),
    outputs=("Wx", "Wh", "b"), mistakes=LSTM_GATE_MISTAKES,
))
register(Exercise(
    id="07.gru_gate_weights", points=2, reference=gru_gate_weights, cases=gate_cases(3, GRU_GATES),
    outputs=("Wx", "Wh", "b_x", "b_h"), mistakes=GRU_GATE_MISTAKES,
))


# ---------------------------------------------------------------------------
# And back: per-gate NumPy weights stacked into torch's layout, for notebook 04's cell and nn.LSTM.

def lstm_weights_from_gates(gates, order=LSTM_GATES):
    """gates: {gate: (Wx: (D, H), Wh: (H, H), b: (H,))} for i, f, g, o -> torch's layout:
    W_ih: (4H, D), W_hh: (4H, H), b_ih: (4H,), b_hh: (4H,), the gates stacked in rows.

    A gate has one bias and torch two; only their sum matters, so all of b goes in b_ih.
    """
    W_ih = np.concatenate([gates[g][0].T for g in order], axis=0)
    W_hh = np.concatenate([gates[g][1].T for g in order], axis=0)
    b_ih = np.concatenate([gates[g][2] for g in order])
    return W_ih, W_hh, b_ih, np.zeros_like(b_ih)


def stacking_cases(rng):
    # D != H in most cases, so that a missing transpose shows as a shape; D == H once, so that
    # it can also be recognised by value.
    cases = []
    for D, H in [(4, 8), (3, 3), (5, 2)]:
        gates = {g: (rng.normal(size=(D, H)), rng.normal(size=(H, H)), rng.normal(size=H)) for g in LSTM_GATES}
        cases.append(Case(f"D={D}, H={H}", (gates,)))
    return cases


def compare_stacked(got, expected, case):
    """The weights must be exact; of the biases only b_ih + b_hh matters (the layer adds them)."""
    names = ("W_ih", "W_hh", "b_ih", "b_hh")
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        return "expected a tuple of 4 arrays (W_ih, W_hh, b_ih, b_hh)"
    for name, g, e in zip(names, got, expected):
        if np.shape(g) != np.shape(e):
            return f"{name} has shape {np.shape(g)}, expected {np.shape(e)}"
    for name, g, e in zip(names[:2], got, expected):
        problem = compare_value(name, np.asarray(g), e, atol=1e-12, rtol=0)
        if problem:
            return problem
    return compare_value("b_ih + b_hh", np.asarray(got[2]) + np.asarray(got[3]), expected[2] + expected[3],
                         atol=1e-12, rtol=0)


STACKING_MISTAKES = [
    Mistake("the gate order i, f, o, g", lambda gates: lstm_weights_from_gates(gates, order="ifog"),
            "torch.nn.LSTM stacks its gates in the order i, f, g, o (g, the cell candidate, is third)."),
    Mistake("the gate order f, i, g, o", lambda gates: lstm_weights_from_gates(gates, order="figo"),
            "torch.nn.LSTM stacks its gates in the order i, f, g, o: the input gate comes first."),
    Mistake("the blocks not transposed",
            lambda gates: (np.concatenate([gates[g][0] for g in LSTM_GATES], axis=1),
                           np.concatenate([gates[g][1] for g in LSTM_GATES], axis=1),
                           *lstm_weights_from_gates(gates)[2:]),
            "torch's weight_ih_l0 is (4H, D): transpose each gate's Wx (D, H) to (H, D), then stack "
            "the four along axis 0 (rows)."),
    Mistake("each gate's bias put in both b_ih and b_hh",
            lambda gates: (lambda W_ih, W_hh, b_ih, b_hh: (W_ih, W_hh, b_ih, b_ih))(*lstm_weights_from_gates(gates)),
            "torch adds b_ih and b_hh, so the gate's b must be split between them, not copied into "
            "both: put b in b_ih and zeros in b_hh (or any two parts that add up to b)."),
]

register(Exercise(
    id="07.lstm_weights_from_gates", points=2, reference=lstm_weights_from_gates, cases=stacking_cases,
    outputs=("W_ih", "W_hh", "b_ih", "b_hh"), compare=compare_stacked, mistakes=STACKING_MISTAKES,
))
