"""Plausible learner bugs, per exercise, written as a learner would write them.

This list is separate from the mistakes the exercises register: it is how we measure
whether the checkers' diagnoses carry over to bugs they were not fitted to. Each entry
is (exercise id, what the bug is, the buggy function). Every one must fail, at every
seed; `specific_share()` counts those that get a specific diagnosis (a hint).

    .venv/bin/python tests/plausible_bugs.py     # prints the share, per exercise and overall
"""
import numpy as np

BUGS = []


def bug(exercise_id, description):
    def register(fn):
        BUGS.append((exercise_id, description, fn))
        return fn
    return register


def sig(a):
    return 1 / (1 + np.exp(-a))


def softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- 01.one_hot -------------------------------------------------------------------

@bug("01.one_hot", "np.eye(V)[ids].T")
def _(ids, V):
    return np.eye(V)[ids].T


@bug("01.one_hot", "np.eye(V, dtype=int)[ids]")
def _(ids, V):
    return np.eye(V, dtype=int)[ids]


@bug("01.one_hot", "float32")
def _(ids, V):
    return np.eye(V, dtype=np.float32)[ids]


@bug("01.one_hot", "ids - 1 (1-based)")
def _(ids, V):
    out = np.zeros((len(ids), V))
    out[np.arange(len(ids)), np.asarray(ids) - 1] = 1
    return out


@bug("01.one_hot", "width from max id")
def _(ids, V):
    ids = np.asarray(ids)
    out = np.zeros((len(ids), ids.max() + 1))
    out[np.arange(len(ids)), ids] = 1.0
    return out


@bug("01.one_hot", "out[:, ids] = 1")
def _(ids, V):
    out = np.zeros((len(ids), V))
    out[:, ids] = 1.0
    return out


@bug("01.one_hot", "V + 1 columns")
def _(ids, V):
    out = np.zeros((len(ids), V + 1))
    out[np.arange(len(ids)), ids] = 1.0
    return out


@bug("01.one_hot", "boolean comparison")
def _(ids, V):
    return np.asarray(ids).reshape(-1, 1) == np.arange(V).reshape(1, -1)


@bug("01.one_hot", "ones on the wrong axis (V, T) via out[ids, arange]")
def _(ids, V):
    out = np.zeros((V, len(ids)))
    out[ids, np.arange(len(ids))] = 1.0
    return out


@bug("01.one_hot", "loop that breaks after the first position")
def _(ids, V):
    out = np.zeros((len(ids), V))
    for t, i in enumerate(ids):
        out[t, i] = 1.0
        break
    return out


# --- 01.rnn_step_forward ----------------------------------------------------------

def _cache(x, h_prev, Wx, Wh, h):
    return (x, h_prev, Wx, Wh, h)


@bug("01.rnn_step_forward", "float32")
def _(x, h_prev, Wx, Wh, b):
    h = np.tanh((x @ Wx + h_prev @ Wh + b).astype(np.float32))
    return h, _cache(x, h_prev, Wx, Wh, h)


@bug("01.rnn_step_forward", "Wh.T")
def _(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh.T + b)
    return h, _cache(x, h_prev, Wx, Wh, h)


@bug("01.rnn_step_forward", "no bias")
def _(x, h_prev, Wx, Wh, b):
    h = np.tanh(np.dot(x, Wx) + np.dot(h_prev, Wh))
    return h, _cache(x, h_prev, Wx, Wh, h)


@bug("01.rnn_step_forward", "sigmoid")
def _(x, h_prev, Wx, Wh, b):
    h = sig(x @ Wx + h_prev @ Wh + b)
    return h, _cache(x, h_prev, Wx, Wh, h)


@bug("01.rnn_step_forward", "cache holds pre-activation")
def _(x, h_prev, Wx, Wh, b):
    a = x @ Wx + h_prev @ Wh + b
    return np.tanh(a), (x, h_prev, Wx, Wh, a)


@bug("01.rnn_step_forward", "h_prev overwritten before caching")
def _(x, h_prev, Wx, Wh, b):
    h_prev = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h_prev, (x, h_prev, Wx, Wh, h_prev)


@bug("01.rnn_step_forward", "no h_prev")
def _(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + b)
    return h, _cache(x, h_prev, Wx, Wh, h)


@bug("01.rnn_step_forward", "bias after tanh")
def _(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh) + b
    return h, _cache(x, h_prev, Wx, Wh, h)


@bug("01.rnn_step_forward", "b changed in place")
def _(x, h_prev, Wx, Wh, b):
    b += x.sum() * 0
    b -= 0.0
    a = x @ Wx
    a += h_prev @ Wh
    a += b
    h = np.tanh(a)
    x[...] = x  # harmless
    h_prev *= 1.0
    Wx[0, 0] += 0.0
    Wh[...] = Wh + 0.0
    b[0] += 1e-3  # the bug: a stray update of the caller's bias
    return h, _cache(x, h_prev, Wx, Wh, h)


@bug("01.rnn_step_forward", "tanh twice")
def _(x, h_prev, Wx, Wh, b):
    h = np.tanh(np.tanh(x @ Wx + h_prev @ Wh + b))
    return h, _cache(x, h_prev, Wx, Wh, h)


# --- 01.softmax_cross_entropy -------------------------------------------------------

def _ce(logits, y, ignore_index=-1, shift="row", n_rule="valid", log=np.log, grad_scale=1.0,
        subtract_one=True, mask=True):
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = np.asarray(y).reshape(-1)
    valid = (y != ignore_index) if mask else np.ones(len(y), dtype=bool)
    with np.errstate(all="ignore"):
        if shift == "row":
            z = z - z.max(axis=1, keepdims=True)
        elif shift == "global":
            z = z - z.max()
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        n = {"valid": max(valid.sum(), 1), "valid0": valid.sum(), "all": len(y), "N": logits.shape[0]}[n_rule]
        t = np.where(valid, y, 0) if mask else y
        rows = np.arange(len(y))
        loss = -np.sum(log(p[rows, t]) * valid) / n
        d = p.copy()
        if subtract_one:
            d[rows, t] -= 1
        d = d * valid[:, None] / n * grad_scale
    return float(loss), d.reshape(logits.shape)


bug("01.softmax_cross_entropy", "no max-subtraction")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, shift=None))
bug("01.softmax_cross_entropy", "global max")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, shift="global"))
bug("01.softmax_cross_entropy", "0/0 on all padding")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, n_rule="valid0"))
bug("01.softmax_cross_entropy", "divided by N*T")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, n_rule="all"))
bug("01.softmax_cross_entropy", "divided by N")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, n_rule="N"))
bug("01.softmax_cross_entropy", "log2")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, log=np.log2))
bug("01.softmax_cross_entropy", "no -1 at target")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, subtract_one=False))
bug("01.softmax_cross_entropy", "no mask")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, mask=False))
bug("01.softmax_cross_entropy", "gradient times 2")(lambda l, y, ignore_index=-1: _ce(l, y, ignore_index, grad_scale=2.0))


@bug("01.softmax_cross_entropy", "ignore_index hard-coded to -1")
def _(logits, y, ignore_index=-1):
    return _ce(logits, y, -1)


# --- 01.rnn_step_backward ---------------------------------------------------------

def _rnn_bwd(dh, cache, da_rule="h", dx_T=True, dh_prev="da", dWx="x.T@da", db_axis=0):
    x, h_prev, Wx, Wh, h = cache
    with np.errstate(all="ignore"):
        da = {"h": dh * (1 - h ** 2), "arctanh": dh * (1 - np.arctanh(h) ** 2),
              "none": dh, "1-h": dh * (1 - h), "tanh(h)": dh * (1 - np.tanh(h) ** 2)}[da_rule]
    dxv = da @ Wx.T
    dhp = {"da": da @ Wh.T, "zero": np.zeros_like(h_prev), "noT": da @ Wh, "dh": dh @ Wh.T}[dh_prev]
    dWxv = {"x.T@da": x.T @ da, "da.T@x": da.T @ x}[dWx]
    return dxv, dhp, dWxv, h_prev.T @ da, da.sum(axis=db_axis)


bug("01.rnn_step_backward", "arctanh-based derivative")(lambda dh, c: _rnn_bwd(dh, c, da_rule="arctanh"))
bug("01.rnn_step_backward", "no tanh derivative")(lambda dh, c: _rnn_bwd(dh, c, da_rule="none"))
bug("01.rnn_step_backward", "1 - h")(lambda dh, c: _rnn_bwd(dh, c, da_rule="1-h"))
bug("01.rnn_step_backward", "1 - tanh(h)^2")(lambda dh, c: _rnn_bwd(dh, c, da_rule="tanh(h)"))
bug("01.rnn_step_backward", "dh_prev missing")(lambda dh, c: _rnn_bwd(dh, c, dh_prev="zero"))
bug("01.rnn_step_backward", "dh_prev without transpose")(lambda dh, c: _rnn_bwd(dh, c, dh_prev="noT"))
bug("01.rnn_step_backward", "dh_prev from dh")(lambda dh, c: _rnn_bwd(dh, c, dh_prev="dh"))
bug("01.rnn_step_backward", "dWx transposed")(lambda dh, c: _rnn_bwd(dh, c, dWx="da.T@x"))
bug("01.rnn_step_backward", "db summed over axis 1")(lambda dh, c: _rnn_bwd(dh, c, db_axis=1))


@bug("01.rnn_step_backward", "derivative from the pre-activation recomputed")
def _(dh, cache):
    x, h_prev, Wx, Wh, h = cache
    a = x @ Wx + h_prev @ Wh
    da = dh * (1 - a ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(0)


@bug("01.rnn_step_backward", "db as the mean over the batch")
def _(dh, cache):
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1 - h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.mean(0)


# --- 01.rnn_backward --------------------------------------------------------------

def _step_bwd(dh, cache):
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1 - h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(0)


def _rnn_backward(dhs, caches, carry=True, accumulate=True, order="back", dh0="carry"):
    N, T, H = dhs.shape
    D = caches[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dnext = np.zeros((N, H))
    steps = reversed(range(T)) if order == "back" else range(T)
    for t in steps:
        dx[:, t], dprev, a, b, c = _step_bwd(dhs[:, t] + (dnext if carry else 0), caches[t])
        dnext = dprev
        if accumulate:
            dWx, dWh, db = dWx + a, dWh + b, db + c
        else:
            dWx, dWh, db = a, b, c
    return dx, (dnext if dh0 == "carry" else dhs[:, 0]), dWx, dWh, db


bug("01.rnn_backward", "no carry")(lambda d, c: _rnn_backward(d, c, carry=False))
bug("01.rnn_backward", "no accumulation")(lambda d, c: _rnn_backward(d, c, accumulate=False))
bug("01.rnn_backward", "forward order")(lambda d, c: _rnn_backward(d, c, order="fwd"))
bug("01.rnn_backward", "dh0 = dhs[:, 0]")(lambda d, c: _rnn_backward(d, c, dh0="first"))


@bug("01.rnn_backward", "weight gradients averaged over time")
def _(dhs, caches):
    dx, dh0, dWx, dWh, db = _rnn_backward(dhs, caches)
    T = dhs.shape[1]
    return dx, dh0, dWx / T, dWh / T, db / T


# --- 01.clip_grad_norm --------------------------------------------------------------

def _norm(grads):
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


@bug("01.clip_grad_norm", "np.clip per entry")
def _(grads, max_norm):
    return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, _norm(grads)


@bug("01.clip_grad_norm", "in place")
def _(grads, max_norm):
    total = _norm(grads)
    if total > max_norm:
        for k in grads:
            grads[k] *= max_norm / total
    return grads, total


@bug("01.clip_grad_norm", "always rescaled")
def _(grads, max_norm):
    total = _norm(grads)
    return {k: g * max_norm / total for k, g in grads.items()}, total


@bug("01.clip_grad_norm", "per-array norm")
def _(grads, max_norm):
    out = {}
    for k, g in grads.items():
        n = np.linalg.norm(g)
        out[k] = g * max_norm / n if n > max_norm else g
    return out, _norm(grads)


@bug("01.clip_grad_norm", "norm after clipping")
def _(grads, max_norm):
    total = _norm(grads)
    scale = min(1.0, max_norm / total)
    out = {k: g * scale for k, g in grads.items()}
    return out, _norm(out)


@bug("01.clip_grad_norm", "no sqrt")
def _(grads, max_norm):
    total = float(sum(np.sum(g * g) for g in grads.values()))
    scale = max_norm / total if total > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, total


@bug("01.clip_grad_norm", "scale inverted")
def _(grads, max_norm):
    total = _norm(grads)
    scale = total / max_norm if total > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, total


# --- 01.sample_with_temperature ----------------------------------------------------

@bug("01.sample_with_temperature", "max before dividing by T")
def _(logits, temperature, rng):
    z = np.asarray(logits, dtype=float)
    with np.errstate(all="ignore"):
        p = np.exp(z / temperature - z.max())
        p = p / p.sum()
    return int(rng.choice(len(p), p=p))


@bug("01.sample_with_temperature", "default_rng(0)")
def _(logits, temperature, rng):
    z = np.asarray(logits, dtype=float) / temperature
    p = np.exp(z - z.max())
    return int(np.random.default_rng(0).choice(len(p), p=p / p.sum()))


@bug("01.sample_with_temperature", "global np.random")
def _(logits, temperature, rng):
    z = np.asarray(logits, dtype=float) / temperature
    p = np.exp(z - z.max())
    return int(np.random.choice(len(p), p=p / p.sum()))


@bug("01.sample_with_temperature", "multiplied by T")
def _(logits, temperature, rng):
    z = np.asarray(logits, dtype=float) * temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


@bug("01.sample_with_temperature", "argmax")
def _(logits, temperature, rng):
    return int(np.argmax(logits))


@bug("01.sample_with_temperature", "no temperature")
def _(logits, temperature, rng):
    z = np.asarray(logits, dtype=float)
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


@bug("01.sample_with_temperature", "uniform")
def _(logits, temperature, rng):
    return int(rng.integers(0, len(logits)))


# --- 02 ----------------------------------------------------------------------------

@bug("02.embedding_forward", "flattened")
def _(ids, W):
    return W[np.asarray(ids).ravel()], (ids, W.shape[0])


@bug("02.embedding_forward", "cache holds W")
def _(ids, W):
    return W[ids], (ids, W)


@bug("02.embedding_forward", "ids.T")
def _(ids, W):
    return W[np.asarray(ids).T], (ids, W.shape[0])


@bug("02.embedding_forward", "cache holds D")
def _(ids, W):
    return W[ids], (ids, W.shape[1])


@bug("02.embedding_backward", "assignment")
def _(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]))
    dW[ids] = dout
    return dW


@bug("02.embedding_backward", "buffered +=")
def _(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]))
    dW[ids] += dout
    return dW


@bug("02.embedding_backward", "averaged")
def _(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]))
    np.add.at(dW, ids, dout)
    return dW / ids.size


@bug("02.embedding_backward", "transposed")
def _(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]))
    np.add.at(dW, ids, dout)
    return dW.T


@bug("02.nearest_neighbours", "dot product")
def _(W, index, k):
    s = W @ W[index]
    s[index] = -np.inf
    return np.argsort(-s)[:k]


@bug("02.nearest_neighbours", "itself included")
def _(W, index, k):
    n = np.linalg.norm(W, axis=1)
    return np.argsort(-(W @ W[index]) / (n * n[index]))[:k]


@bug("02.nearest_neighbours", "itself set to 0")
def _(W, index, k):
    n = np.linalg.norm(W, axis=1)
    s = W @ W[index] / (n * n[index])
    s[index] = 0
    return np.argsort(-s)[:k]


@bug("02.nearest_neighbours", "ascending")
def _(W, index, k):
    n = np.linalg.norm(W, axis=1)
    s = W @ W[index] / (n * n[index])
    s[index] = np.inf
    return np.argsort(s)[:k]


@bug("02.nearest_neighbours", "euclidean")
def _(W, index, k):
    d = np.linalg.norm(W - W[index], axis=1)
    d[index] = np.inf
    return np.argsort(d)[:k]


# --- 03 ----------------------------------------------------------------------------

def _gru(x, h_prev, W_ih, W_hh, b_ih, b_hh, variant=""):
    H = h_prev.shape[1]
    gi, gh = x @ W_ih.T + b_ih, h_prev @ W_hh.T + b_hh
    r = sig(gi[:, :H] + gh[:, :H])
    z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
    hn = gh[:, 2 * H:]
    if variant == "cho":
        a_n = gi[:, 2 * H:] + (r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:]
    else:
        a_n = gi[:, 2 * H:] + r * hn
    n = np.tanh(a_n)
    h = z * n + (1 - z) * h_prev if variant == "z swapped" else (1 - z) * n + z * h_prev
    cache_hn = r * hn if variant == "r*hn cached" else hn
    cache_n = a_n if variant == "a_n cached" else n
    return h, (x, h_prev, W_ih, W_hh, r, z, cache_n, cache_hn)


for _variant in ["cho", "z swapped", "r*hn cached", "a_n cached"]:
    bug("03.gru_step_forward", _variant)(lambda *a, _v=_variant: _gru(*a, variant=_v))


@bug("03.gru_step_forward", "gates r and z swapped")
def _(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    gi, gh = x @ W_ih.T + b_ih, h_prev @ W_hh.T + b_hh
    z = sig(gi[:, :H] + gh[:, :H])
    r = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
    hn = gh[:, 2 * H:]
    n = np.tanh(gi[:, 2 * H:] + r * hn)
    return (1 - z) * n + z * h_prev, (x, h_prev, W_ih, W_hh, r, z, n, hn)


def _gru_bwd(dh, cache, variant=""):
    x, h_prev, W_ih, W_hh, r, z, n, hn = cache
    dn = dh * (1 - z)
    dz = dh * (h_prev - n) * (-1 if variant == "dz sign" else 1)
    da_n = dn * (1 - n * n)
    da_r = da_n * hn * r * (1 - r) * (0 if variant == "no reset path" else 1)
    da_z = dz * z * (1 - z)
    dgi = np.concatenate([da_r, da_z, da_n], axis=1)
    dgh = np.concatenate([da_r, da_z, da_n if variant == "no r on hidden" else da_n * r], axis=1)
    direct = 0 if variant == "no direct path" else dh * z
    dW_ih = dgi.T @ x
    if variant == "dW_ih transposed":
        dW_ih = x.T @ dgi
    return dgi @ W_ih, dgh @ W_hh + direct, dW_ih, dgh.T @ h_prev, dgi.sum(0), dgh.sum(0)


for _variant in ["dz sign", "no reset path", "no r on hidden", "no direct path", "dW_ih transposed"]:
    bug("03.gru_step_backward", _variant)(lambda dh, c, _v=_variant: _gru_bwd(dh, c, _v))


# --- 04 ----------------------------------------------------------------------------

def _lstm(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, variant=""):
    H = h_prev.shape[1]
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + (0 if variant == "no b_hh" else b_hh)
    i, f = sig(a[:, :H]), sig(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
    if variant == "ifog":
        o, g = sig(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * (c if variant == "o*c" else tc)
    return h, c, (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c if variant == "c cached" else tc)


for _variant in ["no b_hh", "ifog", "o*c", "c cached"]:
    bug("04.lstm_step_forward", _variant)(lambda *a, _v=_variant: _lstm(*a, variant=_v))


def _lstm_bwd(dh, dc, cache, variant=""):
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tc = cache
    do = dh * tc
    if variant != "no path through h":
        dc = dc + dh * o * (1 - tc ** 2)
    di, df, dg, dcp = dc * g, dc * c_prev, dc * i, dc * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    dW_ih = x.T @ da if variant == "dW transposed" else da.T @ x
    db = da.sum(0)
    if variant == "db halved":
        db = db / 2
    return da @ W_ih, da @ W_hh, dcp, dW_ih, da.T @ h_prev, db, db


for _variant in ["no path through h", "dW transposed", "db halved"]:
    bug("04.lstm_step_backward", _variant)(lambda dh, dc, c, _v=_variant: _lstm_bwd(dh, dc, c, _v))


def _fb(b_ih, b_hh, value=1.0, variant=""):
    H = len(b_ih) // 4
    b_ih, b_hh = b_ih.copy(), b_hh.copy()
    if variant == "fold":
        b_ih, b_hh = b_ih + b_hh, np.zeros_like(b_hh)
    quarter = {"third quarter": 2, "first quarter": 0}.get(variant, 1)
    b_ih[quarter * H:(quarter + 1) * H] = value
    if variant != "b_hh untouched":
        b_hh[quarter * H:(quarter + 1) * H] = value if variant == "both" else 0.0
    return b_ih, b_hh


for _variant in ["fold", "third quarter", "first quarter", "b_hh untouched", "both"]:
    bug("04.forget_bias_init", _variant)(lambda b_ih, b_hh, value=1.0, _v=_variant: _fb(b_ih, b_hh, value, _v))


@bug("04.forget_bias_init", "in place")
def _(b_ih, b_hh, value=1.0):
    H = len(b_ih) // 4
    b_ih[H:2 * H] = value
    b_hh[H:2 * H] = 0
    return b_ih, b_hh


def _softmax1(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@bug("04.sample_top_k", "argsort exactly k")
def _(logits, k, temperature, rng):
    s = np.asarray(logits, dtype=float) / temperature
    keep = np.argsort(s)[::-1][:k]
    m = np.full_like(s, -np.inf)
    m[keep] = s[keep]
    return int(rng.choice(len(s), p=_softmax1(m)))


@bug("04.sample_top_k", "k - 1")
def _(logits, k, temperature, rng):
    s = np.asarray(logits, dtype=float) / temperature
    s = np.where(s < np.sort(s)[-(k - 1)], -np.inf, s)
    return int(rng.choice(len(s), p=_softmax1(s)))


@bug("04.sample_top_k", "no temperature")
def _(logits, k, temperature, rng):
    s = np.asarray(logits, dtype=float)
    s = np.where(s < np.sort(s)[-k], -np.inf, s)
    return int(rng.choice(len(s), p=_softmax1(s)))


@bug("04.sample_top_k", "global np.random")
def _(logits, k, temperature, rng):
    s = np.asarray(logits, dtype=float) / temperature
    s = np.where(s < np.sort(s)[-k], -np.inf, s)
    return int(np.random.choice(len(s), p=_softmax1(s)))


@bug("04.sample_top_p", "crossing character dropped")
def _(logits, p, temperature, rng):
    s = np.asarray(logits, dtype=float) / temperature
    probs = _softmax1(s)
    order = np.argsort(-probs, kind="stable")
    remove = order[np.cumsum(probs[order]) >= p]
    s = s.copy()
    s[remove] = -np.inf
    return int(rng.choice(len(s), p=_softmax1(s)))


@bug("04.sample_top_p", "no temperature")
def _(logits, p, temperature, rng):
    s = np.asarray(logits, dtype=float)
    probs = _softmax1(s)
    order = np.argsort(-probs, kind="stable")
    s = s.copy()
    s[order[np.cumsum(probs[order]) - probs[order] >= p]] = -np.inf
    return int(rng.choice(len(s), p=_softmax1(s)))


@bug("04.sample_top_p", "default_rng(0)")
def _(logits, p, temperature, rng):
    s = np.asarray(logits, dtype=float) / temperature
    probs = _softmax1(s)
    order = np.argsort(-probs, kind="stable")
    s = s.copy()
    s[order[np.cumsum(probs[order]) - probs[order] >= p]] = -np.inf
    return int(np.random.default_rng(0).choice(len(s), p=_softmax1(s)))


# --- 05 ----------------------------------------------------------------------------

def _msm(scores, mask, axis=-1, variant=""):
    with np.errstate(all="ignore"):
        s = np.where(mask, scores, -1e9 if variant == "-1e9" else -np.inf)
        if variant == "no max":
            top = 0.0
        elif variant == "global max":
            top = np.max(s[np.isfinite(s)]) if np.isfinite(s).any() else 0.0
        else:
            top = np.max(s, axis=axis, keepdims=True)
            top = np.where(np.isfinite(top), top, 0.0)
        e = np.exp(s - top)
        total = np.sum(e, axis=-1 if variant == "last axis" else axis, keepdims=True)
        return e / np.where(total > 0, total, 1.0)


for _variant in ["no max", "global max", "-1e9", "last axis"]:
    bug("05.masked_softmax", _variant)(lambda s, m, axis=-1, _v=_variant: _msm(s, m, axis, _v))


@bug("05.masked_softmax", "0/0 on empty rows")
def _(scores, mask, axis=-1):
    with np.errstate(all="ignore"):
        s = np.where(mask, scores, -np.inf)
        e = np.exp(s - np.max(s, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)


@bug("05.additive_attention", "no tanh")
def _(query, keys, mask, W_q, W_k, v):
    scores = ((query @ W_q)[:, None, :] + keys @ W_k) @ v
    w = _msm(scores, mask)
    return np.einsum("ns,nsh->nh", w, keys), w


@bug("05.additive_attention", "context from projected keys")
def _(query, keys, mask, W_q, W_k, v):
    w = _msm(np.tanh((query @ W_q)[:, None, :] + keys @ W_k) @ v, mask)
    return np.einsum("ns,nsa->na", w, keys @ W_k), w


@bug("05.additive_attention", "no mask")
def _(query, keys, mask, W_q, W_k, v):
    w = softmax_rows(np.tanh((query @ W_q)[:, None, :] + keys @ W_k) @ v)
    return np.einsum("ns,nsh->nh", w, keys), w


@bug("05.dot_product_attention", "scaled")
def _(query, keys, mask):
    w = _msm(np.einsum("nh,nsh->ns", query, keys) / np.sqrt(query.shape[1]), mask)
    return np.einsum("ns,nsh->nh", w, keys), w


@bug("05.dot_product_attention", "no mask")
def _(query, keys, mask):
    w = softmax_rows(np.einsum("nh,nsh->ns", query, keys))
    return np.einsum("ns,nsh->nh", w, keys), w


@bug("05.dot_product_attention", "context times 2")
def _(query, keys, mask):
    w = _msm(np.einsum("nh,nsh->ns", query, keys), mask)
    return np.einsum("ns,nsh->nh", w, keys) * 2, w


# --- 06 ----------------------------------------------------------------------------

def _delay(rng, N, T, delay, V, ignore_index=-1, variant=""):
    if variant == "default_rng(0)":
        x = np.random.default_rng(0).integers(0, V, size=(N, T))
    elif variant == "one sequence":
        x = np.tile(rng.integers(0, V, size=T), (N, 1))
    else:
        x = rng.integers(0, V, size=(N, T))
    y = np.full_like(x, -1 if variant == "-1 hard-coded" else ignore_index)
    shift = delay + 1 if variant == "delay + 1" else delay
    y[:, shift:] = x[:, :T - shift]
    if variant == "roll":
        y = np.roll(x, delay, axis=1)
    return x, y


for _variant in ["default_rng(0)", "one sequence", "-1 hard-coded", "delay + 1", "roll"]:
    bug("06.make_delay_batch", _variant)(
        lambda rng, N, T, d, V, ignore_index=-1, _v=_variant: _delay(rng, N, T, d, V, ignore_index, _v))


def _norms(x, h0, Wx, Wh, b, dh_last, variant=""):
    N, T, _ = x.shape
    hs, h = [], h0
    for t in range(T):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    norms, dh = np.zeros(T), dh_last
    for t in reversed(range(T)):
        norms[t] = np.linalg.norm(dh)
        if variant == "squared":
            norms[t] **= 2
        dh = (dh * (1 - hs[t] ** 2)) @ (Wh if variant == "Wh" else Wh.T)
    return norms[::-1] if variant == "reversed" else norms


for _variant in ["squared", "Wh", "reversed"]:
    bug("06.hidden_gradient_norms", _variant)(lambda *a, _v=_variant: _norms(*a, variant=_v))


# --- 07 ----------------------------------------------------------------------------

@bug("07.greedy_decode", "axis 0")
def _(logits, chars):
    return "".join(chars[i] for i in np.argmax(logits, axis=0))


@bug("07.greedy_decode", "list instead of string")
def _(logits, chars):
    return [chars[i] for i in np.argmax(logits, axis=-1)]


@bug("07.greedy_decode", "argmin")
def _(logits, chars):
    return "".join(chars[i] for i in np.argmin(logits, axis=-1))


# --- 07: torch's state_dicts and the NumPy cells -------------------------------------

@bug("07.rnn_weights_from_torch", "only Wh transposed")
def _(p):
    return p["weight_ih_l0"], p["weight_hh_l0"].T, p["bias_ih_l0"] + p["bias_hh_l0"]


@bug("07.rnn_weights_from_torch", "the two biases averaged")
def _(p):
    return p["weight_ih_l0"].T, p["weight_hh_l0"].T, (p["bias_ih_l0"] + p["bias_hh_l0"]) / 2


@bug("07.rnn_weights_from_torch", "bias_hh_l0 alone")
def _(p):
    return p["weight_ih_l0"].T, p["weight_hh_l0"].T, p["bias_hh_l0"].copy()


def _block(a, k, H):
    return a[k * H:(k + 1) * H]


@bug("07.lstm_gate_weights", "the gates in the paper's order i, f, o, g")
def _(p, gate):
    H = p["weight_hh_l0"].shape[1]
    k = "ifog".index(gate)
    return (_block(p["weight_ih_l0"], k, H).T, _block(p["weight_hh_l0"], k, H).T,
            _block(p["bias_ih_l0"], k, H) + _block(p["bias_hh_l0"], k, H))


@bug("07.lstm_gate_weights", "bias_hh_l0 left out")
def _(p, gate):
    H = p["weight_hh_l0"].shape[1]
    k = "ifgo".index(gate)
    return _block(p["weight_ih_l0"], k, H).T, _block(p["weight_hh_l0"], k, H).T, _block(p["bias_ih_l0"], k, H)


@bug("07.gru_gate_weights", "Keras's order z, r, n")
def _(p, gate):
    H = p["weight_hh_l0"].shape[1]
    k = "zrn".index(gate)
    return (_block(p["weight_ih_l0"], k, H).T, _block(p["weight_hh_l0"], k, H).T,
            _block(p["bias_ih_l0"], k, H), _block(p["bias_hh_l0"], k, H))


@bug("07.gru_gate_weights", "b_x and b_h swapped")
def _(p, gate):
    H = p["weight_hh_l0"].shape[1]
    k = "rzn".index(gate)
    return (_block(p["weight_ih_l0"], k, H).T, _block(p["weight_hh_l0"], k, H).T,
            _block(p["bias_hh_l0"], k, H), _block(p["bias_ih_l0"], k, H))


@bug("07.lstm_weights_from_gates", "the gates stacked i, f, o, g")
def _(gates):
    W_ih = np.vstack([gates[g][0].T for g in "ifog"])
    W_hh = np.vstack([gates[g][1].T for g in "ifog"])
    b = np.hstack([gates[g][2] for g in "ifog"])
    return W_ih, W_hh, b, np.zeros_like(b)


@bug("07.lstm_weights_from_gates", "each b copied into both biases")
def _(gates):
    W_ih = np.vstack([gates[g][0].T for g in "ifgo"])
    W_hh = np.vstack([gates[g][1].T for g in "ifgo"])
    b = np.hstack([gates[g][2] for g in "ifgo"])
    return W_ih, W_hh, b, b.copy()


@bug("07.lstm_weights_from_gates", "blocks stacked side by side, not transposed")
def _(gates):
    W_ih = np.hstack([gates[g][0] for g in "ifgo"])
    W_hh = np.hstack([gates[g][1] for g in "ifgo"])
    b = np.hstack([gates[g][2] for g in "ifgo"])
    return W_ih, W_hh, b, np.zeros_like(b)


# ---------------------------------------------------------------------------------

def diagnosed(report):
    """A specific diagnosis: the report names what is wrong and gives a hint."""
    return bool(report.hint)


def specific_share(seed=0):
    """{exercise id: (bugs, diagnosed)} and the overall share, at one seed."""
    from course_lib.exercises import check

    per_exercise = {}
    for exercise_id, _, fn in BUGS:
        total, good = per_exercise.get(exercise_id, (0, 0))
        report = check(exercise_id, fn, seed=seed, record=False)
        per_exercise[exercise_id] = (total + 1, good + diagnosed(report))
    bugs = sum(t for t, _ in per_exercise.values())
    good = sum(g for _, g in per_exercise.values())
    return per_exercise, good / bugs


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    per_exercise, share = specific_share()
    for exercise_id, (total, good) in sorted(per_exercise.items()):
        print(f"{exercise_id:30s} {good:2d} of {total:2d} with a specific diagnosis")
    bugs = sum(t for t, _ in per_exercise.values())
    print(f"overall: {round(share * bugs)} of {bugs} plausible bugs ({share:.0%}) get a specific diagnosis")
