"""NumPy layers for recurrent networks, with hand-written backward passes.

Every layer is a forward/backward pair in the cache pattern:

    h, cache = rnn_step_forward(x, h_prev, Wx, Wh, b)
    dx, dh_prev, dWx, dWh, db = rnn_step_backward(dh, cache)

Shapes: N is the batch size, T the number of time steps, D the input size,
H the hidden size, V the vocabulary size. Weights act on the right (x @ Wx),
as in cs231n; torch.nn.RNN stores the transposes (weight_ih_l0 = Wx.T).
"""
import numpy as np


def one_hot(ids, vocab_size):
    """ids: (...) ints in [0, V) -> (..., V) float64, with a single 1 per row."""
    ids = np.asarray(ids)
    out = np.zeros(ids.shape + (vocab_size,))
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One time step of a vanilla (Elman) RNN: h = tanh(x Wx + h_prev Wh + b).

    x: (N, D), h_prev: (N, H), Wx: (D, H), Wh: (H, H), b: (H,).
    Returns h: (N, H) and cache = (x, h_prev, Wx, Wh, h).
    """
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    cache = (x, h_prev, Wx, Wh, h)
    return h, cache


def rnn_step_backward(dh, cache):
    """Backward pass of rnn_step_forward.

    dh: (N, H), the gradient of the loss with respect to h.
    Returns dx: (N, D), dh_prev: (N, H), dWx: (D, H), dWh: (H, H), db: (H,).
    """
    x, h_prev, Wx, Wh, h = cache
    # tanh'(a) = 1 - tanh(a)^2, and tanh(a) is h: no need to keep the pre-activation.
    da = dh * (1.0 - h * h)
    dx = da @ Wx.T
    dh_prev = da @ Wh.T
    dWx = x.T @ da
    dWh = h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a whole sequence.

    x: (N, T, D), h0: (N, H). Returns hs: (N, T, H), the hidden state after each step,
    and cache, a list of the T step caches.
    """
    N, T, _ = x.shape
    hs = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx))
    h, cache = h0, []
    for t in range(T):
        h, step_cache = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        hs[:, t] = h
        cache.append(step_cache)
    return hs, cache


def rnn_backward(dhs, cache):
    """Backpropagation through time for rnn_forward.

    dhs: (N, T, H), the gradient of the loss with respect to every hidden state.
    Returns dx: (N, T, D), dh0: (N, H), dWx: (D, H), dWh: (H, H), db: (H,).
    """
    N, T, H = dhs.shape
    x0, _, Wx, Wh, _ = cache[0]
    dx = np.empty((N, T, x0.shape[1]), dtype=dhs.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H, dtype=dhs.dtype)
    dh_next = np.zeros((N, H), dtype=dhs.dtype)
    for t in reversed(range(T)):
        # h_t feeds both the loss at step t and the next step: the two gradients add.
        dx[:, t], dh_next, dWx_t, dWh_t, db_t = rnn_step_backward(dhs[:, t] + dh_next, cache[t])
        # The weights are shared across time, so their gradients accumulate.
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dh_next, dWx, dWh, db


def temporal_affine_forward(x, W, b):
    """The output layer, applied at every time step: out[:, t] = x[:, t] @ W + b.

    x: (N, T, H), W: (H, V), b: (V,). Returns out: (N, T, V) and cache = (x, W).
    """
    N, T, H = x.shape
    # One (N*T, H) @ (H, V) matmul instead of T small ones: the steps are independent here.
    out = (x.reshape(N * T, H) @ W).reshape(N, T, -1) + b
    cache = (x, W)
    return out, cache


def temporal_affine_backward(dout, cache):
    """Backward pass of temporal_affine_forward.

    dout: (N, T, V). Returns dx: (N, T, H), dW: (H, V), db: (V,).
    """
    x, W = cache
    N, T, H = x.shape
    V = W.shape[1]
    dout_flat = dout.reshape(N * T, V)
    dx = (dout_flat @ W.T).reshape(N, T, H)
    # W is shared by all N*T positions, so its gradient sums over all of them.
    dW = x.reshape(N * T, H).T @ dout_flat
    db = dout_flat.sum(axis=0)
    return dx, dW, db


def softmax_cross_entropy(logits, y, ignore_index=-1):
    """Mean cross-entropy of next-character predictions, and its gradient.

    logits: (N, T, V) unnormalised scores; y: (N, T) target ids in [0, V), or
    `ignore_index` at positions that should not count (padding).
    Returns loss, a float in nats (the mean over the valid positions), and
    dlogits: (N, T, V), the gradient of that mean with respect to logits
    (zero at ignored positions).
    """
    V = logits.shape[-1]
    logits_flat = logits.reshape(-1, V)
    y_flat = np.asarray(y).reshape(-1)
    valid = y_flat != ignore_index
    n_valid = max(int(valid.sum()), 1)  # an all-padding batch has loss 0, not 0/0
    # softmax(z) = softmax(z - max z): subtracting the row max keeps exp() from
    # overflowing on large scores, and leaves the probabilities unchanged.
    shifted = logits_flat - logits_flat.max(axis=1, keepdims=True)
    log_sum_exp = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_sum_exp
    targets = np.where(valid, y_flat, 0)  # any valid index at ignored positions; masked below
    rows = np.arange(len(y_flat))
    loss = -(log_probs[rows, targets] * valid).sum() / n_valid
    # d(-log p_y)/dz = p - one_hot(y); the mean divides by the number of valid positions.
    dlogits = np.exp(log_probs)
    dlogits[rows, targets] -= 1.0
    dlogits *= valid[:, None] / n_valid
    return float(loss), dlogits.reshape(logits.shape).astype(logits.dtype, copy=False)


def rnn_lm_loss(params, x_ids, y_ids, h0):
    """The whole character model of notebook 01, forward and backward, from the pieces above.

    params: {"Wx": (V, H), "Wh": (H, H), "b": (H,), "Wy": (H, V), "by": (V,)}
    x_ids, y_ids: (N, T) character ids, y the next character of x; h0: (N, H).
    Returns loss (float, mean nats/char) and grads, a dict with the keys of params.
    """
    V = params["Wx"].shape[0]
    N, T = x_ids.shape
    x = one_hot(np.asarray(x_ids).reshape(-1), V).reshape(N, T, V)
    hs, rnn_cache = rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    logits, out_cache = temporal_affine_forward(hs, params["Wy"], params["by"])
    loss, dlogits = softmax_cross_entropy(logits, y_ids)
    dhs, dWy, dby = temporal_affine_backward(dlogits, out_cache)
    _, _, dWx, dWh, db = rnn_backward(dhs, rnn_cache)
    return loss, {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}
