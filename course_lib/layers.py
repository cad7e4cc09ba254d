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
