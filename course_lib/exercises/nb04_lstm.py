"""Exercises of notebook 04: the LSTM cell, its forget-gate bias, and top-k / top-p sampling."""
import numpy as np

from .. import lstm, sampling
from . import Case, Exercise, Mistake, register
from .core import compare_value

sigmoid = lstm.sigmoid


# --- lstm_step_forward -----------------------------------------------------------

def _weights(rng, D, H, scale=0.5):
    """W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,), with biases far enough from 0
    that leaving one out shows."""
    return (rng.normal(size=(4 * H, D)) * scale, rng.normal(size=(4 * H, H)) * scale,
            rng.normal(size=4 * H), rng.normal(size=4 * H))


def lstm_step_cases(rng):
    cases = []
    for N, D, H in [(3, 4, 5), (1, 1, 1), (2, 6, 3), (4, 3, 8),
                    (int(rng.integers(1, 6)), int(rng.integers(1, 9)), int(rng.integers(1, 9)))]:
        cases.append(Case(f"N={N}, D={D}, H={H}", (
            rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)),
            *_weights(rng, D, H))))
    N, D, H = 2, 3, 4
    cases.append(Case("large inputs (the gates saturate)", (
        rng.normal(size=(N, D)) * 30, rng.normal(size=(N, H)), rng.normal(size=(N, H)) * 3,
        *_weights(rng, D, H, scale=1.0))))
    cases.append(Case("h_prev = c_prev = 0 (the first step)", (
        rng.normal(size=(N, D)), np.zeros((N, H)), np.zeros((N, H)), *_weights(rng, D, H))))
    return cases


def _forward_variant(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, order="ifgo", tanh_c=True,
                     g_act=np.tanh, use_b_hh=True, cache=None):
    """lstm_step_forward with one thing changed, to recognise a known mistake.

    order: the order in which the attempt reads the four quarters of the gates.
    """
    H = h_prev.shape[1]
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + (b_hh if use_b_hh else 0.0)
    quarter = {name: a[:, k * H:(k + 1) * H] for k, name in enumerate(order)}
    i, f, o = sigmoid(quarter["i"]), sigmoid(quarter["f"]), sigmoid(quarter["o"])
    g = g_act(quarter["g"])
    c = f * c_prev + i * g
    h = o * (np.tanh(c) if tanh_c else c)
    caches = {None: None,
              "c": (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c),
              "pre-activations": (x, h_prev, c_prev, W_ih, W_hh, quarter["i"], quarter["f"], quarter["g"],
                                  quarter["o"], np.tanh(c))}
    return h, c, caches[cache]


GATE_ORDER_HINT = (
    "PyTorch stacks the four gates in the order i, f, g, o: rows 0:H of W_ih, W_hh and the "
    "biases are the input gate, H:2H the forget gate, 2H:3H the cell candidate g (tanh), "
    "3H:4H the output gate. Other libraries differ (Keras: i, f, c, o; TensorFlow's LSTMCell: "
    "i, j, f, o), and reading the quarters in another order gives a different function, so "
    "weights copied from torch.nn.LSTM would not work.")

STEP_FORWARD_MISTAKES = [
    Mistake("the gates read in the order i, f, o, g instead of i, f, g, o",
            lambda *args: _forward_variant(*args, order="ifog"), GATE_ORDER_HINT),
    Mistake("the gates read in the order f, i, g, o instead of i, f, g, o",
            lambda *args: _forward_variant(*args, order="figo"), GATE_ORDER_HINT),
    Mistake("the gates read in the order i, g, f, o instead of i, f, g, o",
            lambda *args: _forward_variant(*args, order="igfo"), GATE_ORDER_HINT),
    Mistake("h = o * c instead of h = o * tanh(c)",
            lambda *args: _forward_variant(*args, tanh_c=False),
            "The cell state c is not squashed: it can grow past 1 as the cell adds to it "
            "step after step. The output is o * tanh(c), so that h stays in (-1, 1); "
            "c itself is passed on unchanged."),
    Mistake("a sigmoid on the cell candidate g instead of tanh",
            lambda *args: _forward_variant(*args, g_act=sigmoid),
            "i, f and o are gates, so they use sigmoid (a fraction between 0 and 1); the "
            "candidate g is a value to write, which must be able to be negative: tanh."),
    Mistake("b_hh left out",
            lambda *args: _forward_variant(*args, use_b_hh=False),
            "PyTorch has two biases, b_ih and b_hh, and adds both: "
            "x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh."),
    Mistake("the cache holding c where tanh(c) belongs",
            lambda *args: _forward_variant(*args, cache="c"),
            "The backward pass reads tanh(c) from the cache's last entry, for do = dh * tanh(c) and "
            "the derivative 1 - tanh(c)**2: store tanh_c = np.tanh(c), not c."),
    Mistake("the cache holding the gates' pre-activations instead of the gates",
            lambda *args: _forward_variant(*args, cache="pre-activations"),
            "The backward pass uses the gates after their activations (i * (1 - i) is the sigmoid's "
            "derivative written with its output): cache i, f, g, o = sigmoid/tanh of the quarters."),
]

LSTM_CACHE_LAYOUT = ("The cache must be (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tanh_c): the four "
                     "gates after their sigmoid / tanh, and tanh_c = np.tanh(c).")


# --- lstm_step_backward ----------------------------------------------------------

def lstm_step_backward_cases(rng):
    cases = []
    for args_case in lstm_step_cases(rng):
        x, h_prev, c_prev = args_case.args[:3]
        _, _, cache = lstm.lstm_step_forward(*args_case.args)
        cases.append(Case(args_case.name, (
            rng.normal(size=h_prev.shape), rng.normal(size=c_prev.shape), cache), forward=args_case.args))
    return cases


def _backward_variant(dh, dc, cache, through_h=True, tanh_derivative="tanh_c",
                      transpose_dW=False):
    """lstm_step_backward with one thing changed, to recognise a known mistake."""
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tanh_c = cache
    do = dh * tanh_c
    if tanh_derivative == "tanh_c":
        dtanh = 1.0 - tanh_c * tanh_c
    else:  # 1 - c^2, with c recomputed from the cache
        c = f * c_prev + i * g
        dtanh = 1.0 - c * c
    if through_h:
        dc = dc + dh * o * dtanh
    di, df, dg, dc_prev = dc * g, dc * c_prev, dc * i, dc * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)],
                        axis=1)
    dW_ih, dW_hh = da.T @ x, da.T @ h_prev
    if transpose_dW:
        dW_ih, dW_hh = dW_ih.T, dW_hh.T
    db = da.sum(axis=0)
    return da @ W_ih, da @ W_hh, dc_prev, dW_ih, dW_hh, db, db.copy()


STEP_BACKWARD_MISTAKES = [
    Mistake("only the incoming dc used for the cell's gradient, without the path through "
            "h = o * tanh(c)",
            lambda *args: _backward_variant(*args, through_h=False),
            "c reaches the loss two ways: directly, through the next step (dc), and through "
            "h = o * tanh(c). Add both before using it: dc_total = dc + dh * o * (1 - tanh(c)**2)."),
    Mistake("the tanh derivative taken as 1 - c**2 instead of 1 - tanh(c)**2",
            lambda *args: _backward_variant(*args, tanh_derivative="c"),
            "tanh'(c) = 1 - tanh(c)**2. The cache keeps tanh(c) for exactly this; c itself "
            "is not in (-1, 1), so 1 - c**2 can even be negative."),
    Mistake("dW_ih and dW_hh transposed",
            lambda *args: _backward_variant(*args, transpose_dW=True),
            "A weight's gradient has the weight's shape. W_ih is (4H, D), in torch's layout, so "
            "dW_ih = da.T @ x, not x.T @ da (that is the layout of weights acting on the right)."),
]


# --- forget_bias_init --------------------------------------------------------------

def forget_bias_cases(rng):
    cases = []
    for H, value in [(3, 1.0), (1, 1.0), (8, 1.0), (5, 2.0), (int(rng.integers(2, 10)), 1.0)]:
        # torch.nn.LSTM's default: every bias uniform in (-1/sqrt(H), 1/sqrt(H)).
        bound = 1 / np.sqrt(H)
        cases.append(Case(f"H={H}, value={value}", (
            rng.uniform(-bound, bound, 4 * H), rng.uniform(-bound, bound, 4 * H), value)))
    return cases + [Case("value=0", (rng.uniform(-0.5, 0.5, 12), rng.uniform(-0.5, 0.5, 12), 0.0))]


def compare_effective_bias(got, expected, case):
    """The forget gate only sees b_ih + b_hh, so any split of `value` between the two is
    right there; every other entry of both must be left as it was."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a tuple of 2 values (b_ih, b_hh)"
    for name, g, e in zip(("b_ih", "b_hh"), got, expected):
        if np.shape(g) != np.shape(e):
            return f"{name} has shape {np.shape(g)}, expected {np.shape(e)}"
    H = len(expected[0]) // 4
    others = np.r_[0:H, 2 * H:4 * H]
    for name, g, e in zip(("b_ih", "b_hh"), got, expected):
        problem = compare_value(f"{name} outside the forget quarter", np.asarray(g)[others], e[others],
                                atol=0, rtol=0)
        if problem:
            return problem + " (only rows H:2H may change)"
    return compare_value("b_ih + b_hh", np.asarray(got[0]) + np.asarray(got[1]),
                         expected[0] + expected[1], atol=1e-12, rtol=0)


def _bias_variant(b_ih, b_hh, value=1.0, quarter=1, both=False, hh_untouched=False, fold=False):
    H = len(b_ih) // 4
    b_ih, b_hh = b_ih.copy(), b_hh.copy()
    if fold:  # b_hh moved into b_ih everywhere: the sums are right, the parameters are not
        b_ih, b_hh = b_ih + b_hh, np.zeros_like(b_hh)
    rows = slice(quarter * H, (quarter + 1) * H)
    b_ih[rows] = value
    if not hh_untouched:
        b_hh[rows] = value if both else 0.0
    return b_ih, b_hh


WRONG_QUARTER_HINT = ("torch.nn.LSTM stacks the gates i, f, g, o, so the forget gate is the "
                      "second quarter: b[H:2*H], with H = len(b) // 4.")

FORGET_BIAS_MISTAKES = [
    Mistake("both b_ih and b_hh set to the value in the forget quarter, so the gate's bias is "
            "twice the value",
            lambda *args: _bias_variant(*args, both=True),
            "The forget gate sees b_ih + b_hh. Setting both to 1.0 gives it a bias of 2.0: "
            "set one of them to the value and the other to 0 in that quarter."),
    Mistake("b_hh's forget quarter left at its random initial value, so the gate's bias is not "
            "the value",
            lambda *args: _bias_variant(*args, hh_untouched=True),
            "The forget gate sees b_ih + b_hh, and torch initialises both at random. Set b_ih's "
            "forget quarter to the value AND b_hh's to 0."),
    Mistake("b_hh folded into b_ih (b_ih + b_hh, and b_hh set to 0) in every gate",
            lambda *args: _bias_variant(*args, fold=True),
            "Only the forget gate's rows, H:2H, should change. The other gates keep their own b_ih and "
            "b_hh as torch initialised them: copy both arrays and assign to [H:2*H] only."),
    Mistake("every gate's bias set to the value, not only the forget gate's",
            lambda b_ih, b_hh, value=1.0: (np.full_like(b_ih, value), np.zeros_like(b_hh)),
            "Only the forget gate's rows, b[H:2*H], get the value; leave the other three quarters alone."),
    Mistake("the first quarter (the input gate) set instead of the second",
            lambda *args: _bias_variant(*args, quarter=0), WRONG_QUARTER_HINT),
    Mistake("the third quarter (the cell candidate g) set instead of the second",
            lambda *args: _bias_variant(*args, quarter=2),
            WRONG_QUARTER_HINT + " (The third quarter is the forget gate in TensorFlow's "
            "order i, j, f, o, not in PyTorch's.)"),
    Mistake("the fourth quarter (the output gate) set instead of the second",
            lambda *args: _bias_variant(*args, quarter=3), WRONG_QUARTER_HINT),
]


# --- sample_top_k and sample_top_p ----------------------------------------------------

def sampling_cases(rng, kind):
    """Several draws (fresh generators) from each of a few score vectors.

    Each case is a single draw, and a wrong distribution can agree with the right one on
    a draw. So the scores are fairly flat and k small: every character at the edge of the
    cut holds a good share of the mass, and a cut off by one changes many draws.
    """
    cases = []
    for case_index in range(8):
        V = int(rng.integers(8, 30))
        logits = rng.normal(size=V) * rng.uniform(0.3, 0.8)
        temperature = [1.0, 0.5, 2.0, 0.8, 1.5, float(rng.uniform(0.5, 2.0)), 0.1, 1.0][case_index]
        if case_index == 6:
            # Large logits at a low temperature: logits / T reach 10000, so the max must
            # be subtracted after dividing by T, or exp() overflows.
            logits = logits * 0.1 + 1000
        if kind == "k":
            setting = int(rng.integers(2, 6))
            if case_index == 7:
                # Four logits tied at the k-th largest: every one of them is kept, so the
                # three that an exactly-k cut drops hold a good share of the mass.
                order = np.argsort(-logits)
                logits[order[setting:setting + 3]] = logits[order[setting - 1]]
        else:
            # The top character alone stays below p (every variant below can then run),
            # and p leaves a few characters out.
            top = sampling.softmax(logits / temperature).max()
            setting = float(rng.uniform(max(top + 0.02, 0.3), 0.8))
        for draw in range(16 if case_index == 7 and kind == "k" else 8):
            seed = int(rng.integers(2**31))
            special = {6: "large logits, low temperature, ", 7: "a tie at the k-th largest, " if kind == "k" else ""}
            name = (f"{special.get(case_index, '')}V={V}, {kind}={setting:.3g}, temperature={temperature:.3g}, "
                    f"rng=default_rng({seed})")
            cases.append(Case(name, (logits, setting, temperature, np.random.default_rng(seed))))
    return cases


def _top_k_variant(logits, k, temperature, rng, keep=None, smallest=False, renormalise=True):
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    keep = k if keep is None else keep(k)
    if smallest:
        scaled = np.where(scaled > np.sort(scaled)[keep - 1], -np.inf, scaled)
    else:
        scaled = np.where(scaled < np.sort(scaled)[-keep], -np.inf, scaled)
    if not renormalise:
        return _draw_unnormalised_from(logits, temperature, scaled, rng)
    return int(rng.choice(len(scaled), p=sampling.softmax(scaled)))


def _draw_unnormalised_from(logits, temperature, scaled, rng):
    """Probabilities from the softmax of ALL the logits, the removed ones set to 0, no renormalising."""
    probs = sampling.softmax(np.asarray(logits, dtype=np.float64) / temperature)
    probs = np.where(np.isneginf(scaled), 0.0, probs)
    return int(np.searchsorted(np.cumsum(probs), rng.random(), side="right"))


RENORMALISE_HINT = (
    "After removing characters, the probabilities of the ones left sum to less than 1. "
    "Renormalise: take the softmax of the logits with the removed ones set to -inf (or divide "
    "the kept probabilities by their sum), then draw with rng.choice(V, p=probs).")

def _top_k_exactly_k(logits, k, temperature, rng, descending=True):
    """Exactly k kept, ties at the k-th largest broken by np.argsort, as a learner writes it."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    kept = np.argsort(-scaled)[:k] if descending else np.argsort(scaled)[-k:]
    masked = np.full_like(scaled, -np.inf)
    masked[kept] = scaled[kept]
    return int(rng.choice(len(scaled), p=sampling.softmax(masked)))


TIES_HINT = ("Keep every logit that is at least the k-th largest: scaled >= np.sort(scaled)[-k]. "
             "np.argsort keeps exactly k and picks among the tied ones by position, so the result "
             "would depend on where a character sits in the vocabulary.")

TOP_K_MISTAKES = [
    Mistake("only the k - 1 highest-scoring characters kept",
            lambda *args: _top_k_variant(*args, keep=lambda k: k - 1),
            "Keep exactly the k largest logits: the k-th largest is np.sort(scaled)[-k], and "
            "everything strictly below it goes to -inf. Check with k = 1: one character is left."),
    Mistake("the k + 1 highest-scoring characters kept",
            lambda *args: _top_k_variant(*args, keep=lambda k: k + 1),
            "Keep exactly the k largest logits: the k-th largest is np.sort(scaled)[-k] "
            "(np.sort(scaled)[-k - 1] is the (k+1)-th)."),
    Mistake("the k lowest-scoring characters kept instead of the k highest",
            lambda *args: _top_k_variant(*args, smallest=True),
            "np.sort sorts in increasing order, so the k largest are at the end: np.sort(x)[-k:]."),
    Mistake("the kept probabilities not renormalised",
            lambda *args: _top_k_variant(*args, renormalise=False), RENORMALISE_HINT),
    Mistake("exactly k characters kept when others tie with the k-th largest (np.argsort(-scaled)[:k])",
            _top_k_exactly_k, TIES_HINT),
    Mistake("exactly k characters kept when others tie with the k-th largest (np.argsort(scaled)[-k:])",
            lambda *args: _top_k_exactly_k(*args, descending=False), TIES_HINT),
    Mistake("the temperature left out",
            lambda logits, k, temperature, rng: _top_k_variant(logits, k, 1.0, rng),
            "Divide the logits by the temperature first: scaled = logits / temperature."),
]


def _top_p_variant(logits, p, temperature, rng, include_self=False, temperature_after=False,
                   renormalise=True):
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    # The nucleus is chosen from these probabilities:
    probs = sampling.softmax(np.asarray(logits, dtype=np.float64) if temperature_after else scaled)
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    mass = cumulative if include_self else cumulative - probs[order]
    removed = order[mass >= p]
    scaled = scaled.copy()
    scaled[removed] = -np.inf
    if not renormalise:
        return _draw_unnormalised_from(logits, temperature, scaled, rng)
    return int(rng.choice(len(scaled), p=sampling.softmax(scaled)))


TOP_P_MISTAKES = [
    Mistake("the character that takes the running total past p removed too, so the nucleus "
            "holds less than p",
            lambda *args: _top_p_variant(*args, include_self=True),
            "The nucleus is the SHORTEST prefix whose mass reaches p, so it includes the "
            "character that crosses p. Keep a character when the mass of the ones before it "
            "is still below p: cumsum(sorted_probs) - sorted_probs < p."),
    Mistake("the nucleus chosen from the probabilities at temperature 1, and the temperature "
            "applied after the cut",
            lambda *args: _top_p_variant(*args, temperature_after=True),
            "Divide the logits by the temperature FIRST, then take the nucleus of that "
            "distribution: the temperature changes the probabilities, and so which characters "
            "are needed to reach p."),
    Mistake("the kept probabilities not renormalised",
            lambda *args: _top_p_variant(*args, renormalise=False), RENORMALISE_HINT),
    Mistake("the temperature left out",
            lambda logits, p, temperature, rng: _top_p_variant(logits, p, 1.0, rng),
            "Divide the logits by the temperature first: scaled = logits / temperature."),
]


register(Exercise(
    id="04.lstm_step_forward", points=3, reference=lstm.lstm_step_forward, cases=lstm_step_cases,
    outputs=("h", "c", "cache"), skip=("cache",), mistakes=STEP_FORWARD_MISTAKES,
    backward="04.lstm_step_backward", cache_layout=LSTM_CACHE_LAYOUT,
))

register(Exercise(
    id="04.lstm_step_backward", points=3, reference=lstm.lstm_step_backward,
    cases=lstm_step_backward_cases,
    outputs=("dx", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db_ih", "db_hh"),
    mistakes=STEP_BACKWARD_MISTAKES, forward="04.lstm_step_forward",
))

register(Exercise(
    id="04.forget_bias_init", points=1, reference=lstm.forget_bias_init, cases=forget_bias_cases,
    outputs=("b_ih", "b_hh"), compare=compare_effective_bias, mistakes=FORGET_BIAS_MISTAKES,
))

register(Exercise(
    id="04.sample_top_k", points=2, reference=sampling.sample_top_k,
    cases=lambda rng: sampling_cases(rng, "k"), outputs=("index",), atol=0, rtol=0,
    mistakes=TOP_K_MISTAKES,
))

register(Exercise(
    id="04.sample_top_p", points=2, reference=sampling.sample_top_p,
    cases=lambda rng: sampling_cases(rng, "p"), outputs=("index",), atol=0, rtol=0,
    mistakes=TOP_P_MISTAKES,
))
