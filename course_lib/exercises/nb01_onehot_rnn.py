"""Exercises of notebook 01: a one-hot RNN from scratch in NumPy."""
import numpy as np

from .. import layers, optim, sampling
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


# --- rnn_step_backward -------------------------------------------------------

def rnn_step_backward_cases(rng):
    """(dh, cache) with the reference forward's cache; Case.forward keeps the forward's
    arguments, so that the learner's own forward can make the cache instead."""
    cases = []
    for case in rnn_step_cases(rng):
        x, h_prev, Wx, Wh, b = case.args
        _, cache = layers.rnn_step_forward(x, h_prev, Wx, Wh, b)
        cases.append(Case(case.name, (rng.normal(size=h_prev.shape), cache), forward=case.args))
    return cases


def _step_backward_with(da_fn, dh_prev_uses_transpose=True, sum_db=True, dh_prev_fn=None,
                        dWh_from_h=False):
    def wrong(dh, cache):
        x, h_prev, Wx, Wh, h = cache
        da = da_fn(dh, x, h_prev, Wx, Wh, h)
        dh_prev = da @ Wh.T if dh_prev_uses_transpose else da @ Wh
        if dh_prev_fn is not None:
            dh_prev = dh_prev_fn(dh, da, Wh)
        db = da.sum(axis=0) if sum_db else da
        dWh = (h if dWh_from_h else h_prev).T @ da
        return da @ Wx.T, dh_prev, x.T @ da, dWh, db
    return wrong


def _tanh_grad(dh, x, hp, Wx, Wh, h):
    return dh * (1 - h * h)


RNN_STEP_BACKWARD_MISTAKES = [
    Mistake("tanh'(a) computed as 1 - a**2 from the pre-activation a = x Wx + h_prev Wh, instead of 1 - h**2",
            _step_backward_with(lambda dh, x, hp, Wx, Wh, h: dh * (1 - (x @ Wx + hp @ Wh) ** 2)),
            "tanh'(a) = 1 - tanh(a)**2, and tanh(a) is h, which the cache already holds: "
            "da = dh * (1 - h**2). Squaring the pre-activation a itself is not the derivative."),
    Mistake("tanh'(a) computed as 1 - tanh(h)**2, applying tanh a second time",
            _step_backward_with(lambda dh, x, hp, Wx, Wh, h: dh * (1 - np.tanh(h) ** 2)),
            "h is already tanh(a): the derivative is 1 - h**2, not 1 - tanh(h)**2."),
    Mistake("the tanh derivative left out (da = dh)",
            _step_backward_with(lambda dh, x, hp, Wx, Wh, h: dh),
            "Go back through the tanh first: da = dh * (1 - h**2). Every other gradient is computed from da."),
    Mistake("dh_prev = da @ Wh instead of da @ Wh.T",
            _step_backward_with(lambda dh, x, hp, Wx, Wh, h: dh * (1 - h * h), dh_prev_uses_transpose=False),
            "In the forward pass h_prev is multiplied on the right by Wh: a = ... + h_prev @ Wh. "
            "Going back, the gradient is multiplied by the transpose: dh_prev = da @ Wh.T. "
            "Check the shapes: (N, H) @ (H, H), and Wh[i, j] links unit i of h_prev to unit j of a."),
    Mistake("db not summed over the batch",
            _step_backward_with(_tanh_grad, sum_db=False),
            "The same b is added to every row of the batch, so its gradient accumulates over the "
            "rows: db = da.sum(axis=0), shape (H,)."),
    Mistake("tanh'(a) computed as 1 - arctanh(h)**2, from the pre-activation recovered with arctanh",
            _step_backward_with(lambda dh, x, hp, Wx, Wh, h: dh * (1 - np.arctanh(h) ** 2)),
            "tanh'(a) = 1 - tanh(a)**2 = 1 - h**2: square h itself. arctanh(h) is the pre-activation "
            "a, and 1 - a**2 is not the derivative (notebook 01's gradient check shows the difference)."),
    Mistake("tanh'(a) computed as 1 - h instead of 1 - h**2",
            _step_backward_with(lambda dh, x, hp, Wx, Wh, h: dh * (1 - h)),
            "The derivative of tanh is 1 - tanh(a)**2, so da = dh * (1 - h**2): h squared."),
    Mistake("the sigmoid's derivative h * (1 - h) in place of tanh's 1 - h**2",
            _step_backward_with(lambda dh, x, hp, Wx, Wh, h: dh * h * (1 - h)),
            "h * (1 - h) is the derivative of the sigmoid. This step uses tanh, whose derivative is 1 - h**2."),
    Mistake("dh_prev left at zero",
            _step_backward_with(_tanh_grad, dh_prev_fn=lambda dh, da, Wh: np.zeros_like(dh)),
            "h_prev feeds the step through h_prev @ Wh, so it gets a gradient too: dh_prev = da @ Wh.T. "
            "It is what carries the gradient back in time."),
    Mistake("dh_prev = dh, the incoming gradient passed straight through",
            _step_backward_with(_tanh_grad, dh_prev_fn=lambda dh, da, Wh: dh.copy()),
            "h_prev reaches h only through the tanh and Wh: dh_prev = (dh * (1 - h**2)) @ Wh.T."),
    Mistake("dh_prev computed from dh, without the tanh derivative (dh @ Wh.T)",
            _step_backward_with(_tanh_grad, dh_prev_fn=lambda dh, da, Wh: dh @ Wh.T),
            "Every gradient below the tanh starts from da = dh * (1 - h**2): dh_prev = da @ Wh.T."),
    Mistake("dWh computed from the new state h instead of h_prev",
            _step_backward_with(_tanh_grad, dWh_from_h=True),
            "Wh multiplies the state that came in: a = ... + h_prev @ Wh, so dWh = h_prev.T @ da."),
]


# --- rnn_backward (gradients accumulate across time) -----------------------------

def rnn_backward_cases(rng):
    cases = []
    for N, T, D, H in [(2, 3, 4, 5), (1, 1, 2, 3), (3, 6, 3, 4), (2, int(rng.integers(2, 8)), 5, 3)]:
        x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
        Wx, Wh, b = rng.normal(size=(D, H)) * 0.5, rng.normal(size=(H, H)) * 0.5, rng.normal(size=H) * 0.1
        _, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", (rng.normal(size=(N, T, H)), cache),
                          forward=(x, h0, Wx, Wh, b)))
    return cases


def caches_of_steps(step_forward, x, h0, Wx, Wh, b):
    """The list of step caches that notebook 01's rnn_forward makes with `step_forward`."""
    h, caches = h0, []
    for t in range(x.shape[1]):
        h, cache = step_forward(x[:, t], h, Wx, Wh, b)
        caches.append(cache)
    return caches


def _rnn_backward_with(carry_dh=True, accumulate=True, backwards=True, dh0_before_step_0=False):
    def wrong(dhs, cache):
        N, T, H = dhs.shape
        x0, _, Wx, Wh, _ = cache[0]
        dx = np.zeros((N, T, x0.shape[1]))
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
        dh_next = np.zeros((N, H))
        for t in (reversed(range(T)) if backwards else range(T)):
            dh = dhs[:, t] + dh_next if carry_dh else dhs[:, t]
            dh_into_step_0 = dh
            dx[:, t], dh_next, dWx_t, dWh_t, db_t = layers.rnn_step_backward(dh, cache[t])
            if accumulate:
                dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
            else:
                dWx, dWh, db = dWx_t, dWh_t, db_t
        return dx, dh_into_step_0 if dh0_before_step_0 else dh_next, dWx, dWh, db
    return wrong


RNN_BACKWARD_MISTAKES = [
    Mistake("the gradient from step t+1 not added to dhs[:, t]",
            _rnn_backward_with(carry_dh=False),
            "h_t is used twice: by the loss at step t and by step t+1. Both gradients reach it, "
            "so step t starts from dhs[:, t] + dh_prev, the dh_prev returned by step t+1."),
    Mistake("the weight gradients of one time step kept instead of summed over all steps",
            _rnn_backward_with(accumulate=False),
            "The same Wx, Wh and b are used at every time step, so their gradients accumulate: "
            "start from zeros and add each step's dWx, dWh, db (+=), do not overwrite them (=)."),
    Mistake("neither: no gradient from step t+1, and the weight gradients overwritten at each step",
            _rnn_backward_with(carry_dh=False, accumulate=False),
            "Two accumulations are missing. h_t gets gradient from the loss at t and from step t+1: "
            "add them. The weights are shared across time: sum their gradients over all steps."),
    Mistake("dh0 returned as the gradient reaching h_0 (dhs[:, 0] + dh_prev of step 1), before going "
            "back through step 0",
            _rnn_backward_with(dh0_before_step_0=True),
            "dh0 is the gradient with respect to the state BEFORE the first step: the dh_prev that "
            "rnn_step_backward returns for t = 0, after the loop has finished."),
    Mistake("the steps visited from first to last",
            _rnn_backward_with(backwards=False),
            "The gradient flows backwards in time: start at the last step, t = T-1, and go down to 0 "
            "(for t in reversed(range(T))), so that dh_prev from step t+1 is ready when step t needs it."),
]


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
    id="01.softmax_cross_entropy", points=2, reference=layers.softmax_cross_entropy,
    cases=softmax_cross_entropy_cases, outputs=("loss", "dlogits"), mistakes=SOFTMAX_CE_MISTAKES,
))

register(Exercise(
    id="01.rnn_step_backward", points=3, reference=layers.rnn_step_backward,
    cases=rnn_step_backward_cases, outputs=("dx", "dh_prev", "dWx", "dWh", "db"),
    mistakes=RNN_STEP_BACKWARD_MISTAKES, forward="01.rnn_step_forward",
))

register(Exercise(
    id="01.rnn_backward", points=2, reference=layers.rnn_backward, cases=rnn_backward_cases,
    outputs=("dx", "dh0", "dWx", "dWh", "db"), mistakes=RNN_BACKWARD_MISTAKES,
    forward="01.rnn_step_forward", make_cache=caches_of_steps,
))

register(Exercise(
    id="01.clip_grad_norm", points=1, reference=clip_grad_norm, cases=clip_grad_norm_cases,
    outputs=("clipped", "total_norm"), compare=compare_clipped, mistakes=CLIP_MISTAKES,
))

register(Exercise(
    id="01.sample_with_temperature", points=1, reference=sampling.sample_with_temperature,
    cases=sample_with_temperature_cases, outputs=("index",), mistakes=SAMPLE_MISTAKES,
))


# --- temporal_affine_backward (the output layer) ------------------------------------

def temporal_affine_backward_cases(rng):
    cases = []
    for N, T, H, V in [(2, 3, 4, 5), (1, 1, 1, 1), (3, 5, 2, 7), (4, 2, 6, 3)]:
        x = rng.normal(size=(N, T, H))
        W, b = rng.normal(size=(H, V)), rng.normal(size=V)
        _, cache = layers.temporal_affine_forward(x, W, b)
        cases.append(Case(f"N={N}, T={T}, H={H}, V={V}", (rng.normal(size=(N, T, V)), cache)))
    return cases


def _affine_backward_with(db_axes=(0, 1), dW_mean=False):
    def wrong(dout, cache):
        x, W = cache
        N, T, H = x.shape
        flat = dout.reshape(N * T, W.shape[1])
        dx = (flat @ W.T).reshape(N, T, H)
        dW = x.reshape(N * T, H).T @ flat
        if dW_mean:
            dW = dW / (N * T)
        db = dout.sum(axis=db_axes)
        return dx, dW, db
    return wrong


TEMPORAL_AFFINE_MISTAKES = [
    Mistake("db summed over the batch only, not over time",
            _affine_backward_with(db_axes=0),
            "b is added at every position (n, t), so db sums dout over both: dout.sum(axis=(0, 1))."),
    Mistake("dW averaged over the positions instead of summed",
            _affine_backward_with(dW_mean=True),
            "The loss already averages over positions (softmax_cross_entropy divides dlogits); "
            "W is shared by all N*T positions, so its gradient is the plain sum x^T @ dout."),
    Mistake("dW taken from one time step only",
            lambda dout, cache: (
                (dout.reshape(-1, dout.shape[-1]) @ cache[1].T).reshape(cache[0].shape),
                cache[0][:, -1].T @ dout[:, -1], dout.sum(axis=(0, 1))),
            "Every time step uses the same W, so dW adds up the contributions of all T steps: "
            "reshape x to (N*T, H) and dout to (N*T, V), then x.T @ dout."),
]


# --- train_on_one_batch -------------------------------------------------------------

def train_on_one_batch_cases(rng):
    cases = []
    for N, T, V, H, steps, lr in [(2, 6, 5, 4, 5, 0.5), (1, 3, 3, 2, 3, 1.0), (3, 4, 6, 5, 6, 0.3)]:
        params = {"Wx": rng.normal(size=(V, H)) * 0.5, "Wh": rng.normal(size=(H, H)) * 0.5,
                  "b": rng.normal(size=H) * 0.1, "Wy": rng.normal(size=(H, V)) * 0.5,
                  "by": rng.normal(size=V) * 0.1}
        x_ids, y_ids = rng.integers(0, V, size=(N, T)), rng.integers(0, V, size=(N, T))
        cases.append(Case(f"N={N}, T={T}, V={V}, H={H}, {steps} steps, lr {lr}",
                          (params, x_ids, y_ids, lr, steps)))
    return cases


def _descent_with(sign=-1.0, loss_after=False, only=None):
    def wrong(params, x_ids, y_ids, lr, steps):
        h0 = np.zeros((x_ids.shape[0], params["Wh"].shape[0]))
        losses = []
        for _ in range(steps):
            loss, grads = layers.rnn_lm_loss(params, x_ids, y_ids, h0)
            params = {k: p + sign * lr * grads[k] if only is None or k in only else p
                      for k, p in params.items()}
            if not loss_after:
                losses.append(float(loss))
            else:
                losses.append(float(layers.rnn_lm_loss(params, x_ids, y_ids, h0)[0]))
        return params, losses
    return wrong


TRAIN_ON_ONE_BATCH_MISTAKES = [
    Mistake("the parameters moved up the gradient",
            _descent_with(sign=+1.0),
            "Gradient descent steps against the gradient: p - lr * grad. Adding it climbs the loss."),
    Mistake("each loss measured after its update",
            _descent_with(loss_after=True),
            "Record the loss that rnn_lm_loss returns, before you update: losses[0] is the loss "
            "of the parameters you were given."),
    Mistake("only the recurrent weights updated (Wy and by left as they were)",
            _descent_with(only=("Wx", "Wh", "b")),
            "Update every parameter in the dict, the output layer's Wy and by included."),
    Mistake("the parameters never updated",
            _descent_with(sign=0.0),
            "Each step must move the parameters: params = {name: p - lr * grads[name] ...}, "
            "and the next step's loss is computed with the new ones."),
]


def compare_trained(got, expected, case):
    """Compare (params dict, losses list) pairs entry by entry."""
    from .core import compare_value, split_outputs

    try:
        got_parts = split_outputs(got, ("params", "losses"))
    except ValueError as err:
        return str(err)
    exp_params, exp_losses = expected
    params = got_parts["params"]
    if not isinstance(params, dict) or set(params) != set(exp_params):
        return f"params should be a dict with the keys {sorted(exp_params)}"
    losses = got_parts["losses"]
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != len(exp_losses):
        return f"losses should be a list of {len(exp_losses)} numbers, one per step"
    problem = compare_value("losses", np.asarray(losses, dtype=float), np.asarray(exp_losses), 1e-8, 1e-6)
    if problem:
        return problem
    for name in exp_params:
        problem = compare_value(f"params[{name!r}]", params[name], exp_params[name], 1e-8, 1e-6)
        if problem:
            return problem
    return None


register(Exercise(
    id="01.temporal_affine_backward", points=2, reference=layers.temporal_affine_backward,
    cases=temporal_affine_backward_cases, outputs=("dx", "dW", "db"), mistakes=TEMPORAL_AFFINE_MISTAKES,
))

register(Exercise(
    id="01.train_on_one_batch", points=1, reference=optim.train_on_one_batch,
    cases=train_on_one_batch_cases, outputs=("params", "losses"), compare=compare_trained,
    mistakes=TRAIN_ON_ONE_BATCH_MISTAKES,
))
