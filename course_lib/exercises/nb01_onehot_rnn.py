"""Exercises of notebook 01, the forward pass: one_hot, rnn_step_forward, softmax_cross_entropy."""
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
    cases.append(Case("the last id of the vocabulary never used", (rng.integers(0, 5, size=6), 9)))
    cases.append(Case("a repeated id", (np.array([2, 2, 0, 2]), 3)))
    return cases


def _one_hot_rows_set(ids, V):
    """out[ids] = 1: fancy indexing on the first axis sets whole rows, not one entry per row."""
    ids = np.asarray(ids)
    out = np.zeros((len(ids), V))
    out[ids[ids < len(ids)]] = 1.0
    return out


def _one_hot_columns_set(ids, V):
    """out[:, ids] = 1: every row gets a 1 in the column of every id."""
    out = np.zeros((len(ids), V))
    out[:, np.asarray(ids)] = 1.0
    return out


ONE_HOT_COLUMN_HINT = "Character id i goes in column i, counting from 0: out[t, ids[t]] = 1."
ONE_HOT_INDEX_HINT = ("Set one entry per row, by pairing the rows with the ids: "
                      "out[np.arange(len(ids)), ids] = 1.0 (or np.eye(vocab_size)[ids]).")

ONE_HOT_MISTAKES = [
    Mistake("the ones shifted by one position",
            lambda ids, V: layers.one_hot((np.asarray(ids) + 1) % V, V), ONE_HOT_COLUMN_HINT),
    Mistake("the ones shifted one position to the left (ids counted from 1)",
            lambda ids, V: layers.one_hot((np.asarray(ids) - 1) % V, V), ONE_HOT_COLUMN_HINT),
    Mistake("the output transposed, (vocab_size, T)",
            lambda ids, V: layers.one_hot(ids, V).T,
            "One row per position and one column per character: the shape is (len(ids), vocab_size), "
            "and out[t, ids[t]] = 1, not out[ids[t], t]."),
    Mistake("integer entries instead of float64",
            lambda ids, V: layers.one_hot(ids, V).astype(np.int64),
            "The rows are multiplied by weight matrices of floats: np.zeros((T, V)) is float64 "
            "already; np.eye(V, dtype=int) or np.zeros(..., dtype=int) is not."),
    Mistake("a boolean array (ids[:, None] == np.arange(V)) not converted to float",
            lambda ids, V: np.asarray(ids)[:, None] == np.arange(V),
            "The comparison gives True/False; convert it: (ids[:, None] == np.arange(V)).astype(np.float64)."),
    Mistake("the width taken from the ids (max id + 1) instead of vocab_size",
            lambda ids, V: layers.one_hot(ids, int(np.max(ids)) + 1),
            "The width is the vocabulary size you are given: a sequence need not contain the "
            "last character of the vocabulary. Use np.zeros((len(ids), vocab_size))."),
    Mistake("one column too many (vocab_size + 1)",
            lambda ids, V: layers.one_hot(ids, V + 1),
            "Ids run from 0 to vocab_size - 1, so vocab_size columns hold them all."),
    Mistake("out[ids] = 1, which sets whole rows", _one_hot_rows_set, ONE_HOT_INDEX_HINT),
    Mistake("out[:, ids] = 1, which puts a 1 in every row for every id", _one_hot_columns_set,
            ONE_HOT_INDEX_HINT),
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
    # Rows of very different scale: the second row sits near 0, where float32's relative
    # error of 1e-7 is larger than the tolerance allows against the 1e-8 absolute part.
    x = rng.normal(size=(N, D))
    x[1] *= 1e-3
    cases.append(Case("rows of very different scale", (
        x, np.zeros((N, H)), rng.normal(size=(D, H)), rng.normal(size=(H, H)) * 0.5, np.zeros(H))))
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
    Mistake("h_prev left out",
            lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + b), None),
            "The recurrence is what makes it an RNN: add h_prev @ Wh inside the tanh."),
    Mistake("the bias added after the tanh",
            lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh) + b, None),
            "The bias shifts the pre-activation: tanh(x @ Wx + h_prev @ Wh + b), so that h stays in (-1, 1)."),
    Mistake("a tanh on each term separately",
            lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx) + np.tanh(h @ Wh) + b, None),
            "Sum first, squash once: h = tanh(x @ Wx + h_prev @ Wh + b)."),
    Mistake("the cache holding the pre-activation a = x @ Wx + h_prev @ Wh + b where h belongs",
            lambda x, h, Wx, Wh, b: (np.tanh(x @ Wx + h @ Wh + b), (x, h, Wx, Wh, x @ Wx + h @ Wh + b)),
            "The backward pass computes tanh'(a) = 1 - h**2 from the cache's last entry, so it must "
            "be h = tanh(a), the output, not a: cache = (x, h_prev, Wx, Wh, h)."),
    Mistake("the cache holding the new h where h_prev belongs",
            lambda x, h, Wx, Wh, b: ((hn := np.tanh(x @ Wx + h @ Wh + b)), (x, hn, Wx, Wh, hn)),
            "dWh = h_prev.T @ da needs the state that came IN to the step: keep h_prev in the "
            "cache under its own name, before you compute h."),
]

RNN_CACHE_LAYOUT = ("The cache must be (x, h_prev, Wx, Wh, h), with h the new state after the tanh: "
                    "rnn_step_backward reads it in that order.")


register(Exercise(
    id="01.one_hot", points=1, reference=layers.one_hot, cases=one_hot_cases,
    outputs=("one_hot",), mistakes=ONE_HOT_MISTAKES, atol=0, rtol=0,
))

register(Exercise(
    id="01.rnn_step_forward", points=2, reference=layers.rnn_step_forward, cases=rnn_step_cases,
    outputs=("h", "cache"), skip=("cache",), mistakes=RNN_STEP_MISTAKES,
    backward="01.rnn_step_backward", cache_layout=RNN_CACHE_LAYOUT,
))


# --- softmax_cross_entropy ----------------------------------------------------

def softmax_cross_entropy_cases(rng):
    cases = []
    for N, T, V in [(2, 3, 5), (1, 1, 2), (3, 4, 7), (int(rng.integers(1, 5)), int(rng.integers(1, 6)), 27)]:
        cases.append(Case(f"N={N}, T={T}, V={V}",
                          (rng.normal(size=(N, T, V)) * 2, rng.integers(0, V, size=(N, T)))))
    y = rng.integers(0, 6, size=(3, 5))
    y[0, 3:] = -1
    y[2, 1] = -1
    cases.append(Case("some positions ignored (y = -1)", (rng.normal(size=(3, 5, 6)), y)))
    # exp(1000) overflows float64 to inf, and exp(-1000) underflows to 0: both break the
    # textbook formula, while the max-subtracted one sees scores within a few units of 0.
    cases.append(Case("large logits (around 1000)",
                      (rng.normal(size=(2, 3, 5)) * 5 + 1000, rng.integers(0, 5, size=(2, 3)))))
    cases.append(Case("large negative logits (around -1000)",
                      (rng.normal(size=(2, 2, 4)) * 5 - 1000, rng.integers(0, 4, size=(2, 2)))))
    y = rng.integers(0, 4, size=(2, 3))
    y[1, 0] = 3
    cases.append(Case("ignore_index=3", (rng.normal(size=(2, 3, 4)), y), {"ignore_index": 3}))
    # A batch of padding only: the loss is 0 and so is its gradient, not 0 / 0 = NaN.
    cases.append(Case("a batch that is all padding", (rng.normal(size=(2, 3, 4)), np.full((2, 3), -1))))
    # One position's logits near 1000, the others near 0: subtracting one max over the whole
    # array, instead of each row's own, sends exp() of the small rows to 0.
    logits = rng.normal(size=(2, 3, 5))
    logits[0, 0] += 1000
    cases.append(Case("rows of very different scale (one near 1000, the rest near 0)",
                      (logits, rng.integers(0, 5, size=(2, 3)))))
    return cases


def _flat(logits, y, ignore_index):
    """The pieces every variant below shares: flat logits (M, V), flat targets (M,), mask (M,)."""
    V = logits.shape[-1]
    y = np.asarray(y).reshape(-1)
    valid = y != ignore_index
    return logits.reshape(-1, V), np.where(valid, y, 0), valid


def _stable_log_probs(logits_flat):
    shifted = logits_flat - logits_flat.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _loss_and_grad(probs, log_probs, targets, valid, n):
    """The sum of -log p[target] over the valid positions divided by n, and its gradient."""
    rows = np.arange(len(targets))
    loss = -(log_probs[rows, targets] * valid).sum() / n
    dlogits = probs.copy()
    dlogits[rows, targets] -= 1.0
    return float(loss), dlogits * valid[:, None] / n


def _ce_without_max(logits, y, ignore_index=-1):
    """The textbook formula, exp() straight on the logits."""
    logits_flat, targets, valid = _flat(logits, y, ignore_index)
    with np.errstate(all="ignore"):
        probs = np.exp(logits_flat) / np.exp(logits_flat).sum(axis=1, keepdims=True)
        loss, dlogits = _loss_and_grad(probs, np.log(probs), targets, valid, max(valid.sum(), 1))
    return loss, dlogits.reshape(logits.shape)


def _ce_log_softmax_without_max(logits, y, ignore_index=-1):
    """log-softmax as logits - log(sum(exp(logits))), still without the max."""
    logits_flat, targets, valid = _flat(logits, y, ignore_index)
    with np.errstate(all="ignore"):
        log_probs = logits_flat - np.log(np.exp(logits_flat).sum(axis=1, keepdims=True))
        loss, dlogits = _loss_and_grad(np.exp(log_probs), log_probs, targets, valid, max(valid.sum(), 1))
    return loss, dlogits.reshape(logits.shape)


def _ce_ignored_counted(logits, y, ignore_index=-1):
    """No mask at all: y = -1 used as an index picks the last column."""
    V = logits.shape[-1]
    logits_flat, targets = logits.reshape(-1, V), np.asarray(y).reshape(-1)
    log_probs = _stable_log_probs(logits_flat)
    everywhere = np.ones(len(targets), dtype=bool)
    loss, dlogits = _loss_and_grad(np.exp(log_probs), log_probs, targets, everywhere, len(targets))
    return loss, dlogits.reshape(logits.shape)


def _ce_divided_by_all(logits, y, ignore_index=-1):
    """Masked, but divided by N*T."""
    logits_flat, targets, valid = _flat(logits, y, ignore_index)
    log_probs = _stable_log_probs(logits_flat)
    loss, dlogits = _loss_and_grad(np.exp(log_probs), log_probs, targets, valid, len(targets))
    return loss, dlogits.reshape(logits.shape)


def _ce_sum(logits, y, ignore_index=-1):
    logits_flat, targets, valid = _flat(logits, y, ignore_index)
    log_probs = _stable_log_probs(logits_flat)
    loss, dlogits = _loss_and_grad(np.exp(log_probs), log_probs, targets, valid, 1)
    return loss, dlogits.reshape(logits.shape)


def _ce_global_max(logits, y, ignore_index=-1):
    """One max over the whole array subtracted, instead of each row's own."""
    logits_flat, targets, valid = _flat(logits, y, ignore_index)
    with np.errstate(all="ignore"):
        shifted = logits_flat - logits_flat.max()
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss, dlogits = _loss_and_grad(np.exp(log_probs), log_probs, targets, valid, max(valid.sum(), 1))
    return loss, dlogits.reshape(logits.shape)


def _ce_zero_division(logits, y, ignore_index=-1):
    """Divided by the number of valid positions even when there are none (0 / 0)."""
    logits_flat, targets, valid = _flat(logits, y, ignore_index)
    log_probs = _stable_log_probs(logits_flat)
    with np.errstate(all="ignore"):
        loss, dlogits = _loss_and_grad(np.exp(log_probs), log_probs, targets, valid, valid.sum())
    return loss, dlogits.reshape(logits.shape)


def _ce_divided_by_batch(logits, y, ignore_index=-1):
    """Divided by N, the batch size, instead of the number of valid positions."""
    logits_flat, targets, valid = _flat(logits, y, ignore_index)
    log_probs = _stable_log_probs(logits_flat)
    loss, dlogits = _loss_and_grad(np.exp(log_probs), log_probs, targets, valid, logits.shape[0])
    return loss, dlogits.reshape(logits.shape)


def _ce_grad_not_divided(logits, y, ignore_index=-1):
    loss, dlogits = layers.softmax_cross_entropy(logits, y, ignore_index)
    return loss, dlogits * max(int((np.asarray(y) != ignore_index).sum()), 1)


def _ce_grad_without_one_hot(logits, y, ignore_index=-1):
    logits_flat, _, valid = _flat(logits, y, ignore_index)
    loss, _ = layers.softmax_cross_entropy(logits, y, ignore_index)
    dlogits = np.exp(_stable_log_probs(logits_flat)) * valid[:, None] / max(valid.sum(), 1)
    return loss, dlogits.reshape(logits.shape)


STABILITY_HINT = ("exp() overflows to inf above about 709, and inf / inf is NaN. Subtract each row's "
                  "maximum from the logits before exp: softmax(z) = softmax(z - max(z)), and the "
                  "largest exponent becomes exp(0) = 1.")

SOFTMAX_CE_MISTAKES = [
    Mistake("no max-subtraction before exp (it overflows on large logits)",
            _ce_without_max, STABILITY_HINT),
    Mistake("log-softmax computed as logits - log(sum(exp(logits))), without the max-subtraction",
            _ce_log_softmax_without_max, STABILITY_HINT),
    Mistake("the ignored positions counted as targets",
            _ce_ignored_counted,
            "Positions where y == ignore_index are padding: leave them out of the loss (mask them), "
            "give them a zero gradient, and divide by the number of valid positions only. Careful: "
            "y = -1 used as an index silently picks the last column."),
    Mistake("the mean taken over all N*T positions, ignored ones included",
            _ce_divided_by_all,
            "Masking the ignored positions is half of it: divide by the number of valid positions, "
            "(y != ignore_index).sum(), not by N*T."),
    Mistake("a sum over positions instead of a mean",
            _ce_sum,
            "The loss is the mean over the valid positions, so that it does not grow with the batch; "
            "divide both the loss and dlogits by their number."),
    Mistake("dlogits not divided by the number of valid positions",
            _ce_grad_not_divided,
            "The loss is a mean over n valid positions, so each position's gradient "
            "softmax - one_hot is divided by n as well."),
    Mistake("one max over the whole array subtracted instead of each row's own",
            _ce_global_max,
            "Subtract each row's maximum, z.max(axis=1, keepdims=True): with a single max, a row "
            "whose scores are far below it gets exp() = 0 everywhere and log(0) = -inf."),
    Mistake("a division by zero on a batch with no valid position",
            _ce_zero_division,
            "When every target is ignore_index there is nothing to average: divide by "
            "max(number of valid positions, 1), so that the loss and the gradient are 0, not NaN."),
    Mistake("the mean taken over the batch size N instead of the valid positions",
            _ce_divided_by_batch,
            "The mean is over positions, not sequences: divide by (y != ignore_index).sum()."),
    Mistake("the loss in bits (log base 2) instead of nats",
            lambda logits, y, ignore_index=-1: (layers.softmax_cross_entropy(logits, y, ignore_index)[0] / np.log(2),
                                                layers.softmax_cross_entropy(logits, y, ignore_index)[1]),
            "Use the natural log, np.log: the loss is in nats. Bits per character are the loss "
            "divided by log(2), a conversion made only for display."),
    Mistake("dlogits = softmax, without subtracting 1 at the target",
            _ce_grad_without_one_hot,
            "The gradient of -log softmax(z)[y] with respect to z is softmax(z) - one_hot(y): "
            "subtract 1 at the target column."),
]


register(Exercise(
    id="01.softmax_cross_entropy", points=2, reference=layers.softmax_cross_entropy,
    cases=softmax_cross_entropy_cases, outputs=("loss", "dlogits"), mistakes=SOFTMAX_CE_MISTAKES,
))
