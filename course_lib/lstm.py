"""The LSTM in NumPy, forward and backward, with PyTorch's exact conventions.

The weights have torch.nn.LSTM's layouts, so they copy over both ways:

    W_ih = lstm.weight_ih_l0    (4H, D)     W_hh = lstm.weight_hh_l0    (4H, H)
    b_ih = lstm.bias_ih_l0      (4H,)       b_hh = lstm.bias_hh_l0      (4H,)

The 4H rows are the four gates in torch's order i, f, g, o (input, forget, cell
candidate, output). course_lib.models.numpy_weights / load_numpy_weights copy them
out of and into a torch layer. Unlike layers.py (x @ Wx), the weights act through
their transpose: x @ W_ih.T. One step is

    i = sigmoid(x W_ii^T + b_ii + h_prev W_hi^T + b_hi)      (and likewise f, o)
    g = tanh(x W_ig^T + b_ig + h_prev W_hg^T + b_hg)
    c = f * c_prev + i * g          the cell state: the conveyor belt
    h = o * tanh(c)                 what the cell shows the rest of the network

Two versions of the same maths:
- lstm_step_forward / lstm_step_backward: one time step, written to be read.
- lstm_forward / lstm_backward: a whole sequence, written to be fast. It computes
  the input projection of every time step in one large matmul before the loop,
  does one matmul per step for the recurrent part, and the weight gradients as
  three large matmuls after the loop. It works in place in preallocated buffers
  and keeps the dtype it is given (float32 or float64).
Shapes: N batch, T time steps, D input size, H hidden size.
"""
import numpy as np


def sigmoid(a):
    # 0.5 * (1 + tanh(a / 2)) is the logistic function, without exp's overflow for large -a.
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _sigmoid_inplace(a):
    """a <- sigmoid(a), without temporaries."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


# ---------------------------------------------------------------------------
# One time step, written to be read


def lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step.

    x: (N, D), h_prev: (N, H), c_prev: (N, H), W_ih: (4H, D), W_hh: (4H, H),
    b_ih: (4H,), b_hh: (4H,).
    Returns h: (N, H), c: (N, H) and the cache for lstm_step_backward.
    """
    H = h_prev.shape[1]
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (N, 4H): all four gates in one matmul each
    i = sigmoid(a[:, 0 * H:1 * H])  # how much of the candidate to write
    f = sigmoid(a[:, 1 * H:2 * H])  # how much of the old cell to keep
    g = np.tanh(a[:, 2 * H:3 * H])  # the candidate values
    o = sigmoid(a[:, 3 * H:4 * H])  # how much of the cell to show
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tanh_c)
    return h, c, cache


def lstm_step_backward(dh, dc, cache):
    """Backward pass of lstm_step_forward.

    dh: (N, H) and dc: (N, H), the gradients of the loss with respect to h and c
    (c feeds the next step directly, so it brings its own gradient).
    Returns dx: (N, D), dh_prev: (N, H), dc_prev: (N, H), dW_ih: (4H, D),
    dW_hh: (4H, H), db_ih: (4H,), db_hh: (4H,). The two bias gradients are equal:
    both biases are added to the same pre-activation.
    """
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tanh_c = cache
    do = dh * tanh_c
    # c reaches the loss directly (dc) and through h = o * tanh(c).
    dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
    di = dc * g
    df = dc * c_prev
    dg = dc * i
    dc_prev = dc * f
    # Back through the nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2.
    da = np.concatenate([di * i * (1.0 - i), df * f * (1.0 - f),
                         dg * (1.0 - g * g), do * o * (1.0 - o)], axis=1)  # (N, 4H), order i, f, g, o
    dx = da @ W_ih
    dh_prev = da @ W_hh
    dW_ih = da.T @ x
    dW_hh = da.T @ h_prev
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dW_ih, dW_hh, db, db.copy()


# ---------------------------------------------------------------------------
# Initialisation


def forget_bias_init(b_ih, b_hh, value=1.0):
    """Set the forget gate's bias to `value`, in PyTorch's layout, and leave the rest alone.

    b_ih: (4H,), b_hh: (4H,), the two bias vectors of an LSTM layer; the gates are stacked
    i, f, g, o, so the forget gate is the second quarter, [H:2H]. The gate sees the SUM
    b_ih + b_hh, so one of them gets `value` and the other 0 there.
    Returns new arrays (b_ih, b_hh); the inputs are not changed.
    """
    H = len(b_ih) // 4
    b_ih, b_hh = b_ih.copy(), b_hh.copy()
    b_ih[H:2 * H] = value
    b_hh[H:2 * H] = 0.0
    return b_ih, b_hh


# ---------------------------------------------------------------------------
# A whole sequence, written to be fast


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Run the LSTM over a sequence.

    x: (N, T, D), h0: (N, H), c0: (N, H); weights as in lstm_step_forward.
    Returns hs: (N, T, H), the hidden state after every step; c: (N, H), the last
    cell state (to carry over to the next batch); and the cache for lstm_backward.
    Computes in the result dtype of its inputs (all float32 gives float32).
    """
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = np.result_type(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    W_ih, W_hh = W_ih.astype(dtype, copy=False), W_hh.astype(dtype, copy=False)
    # Time-major: every step then reads and writes contiguous (N, ...) blocks.
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)  # (T, N, D)

    # The input projection of all T steps in one large matmul: acts[t] starts as step
    # t's input pre-activations and is turned into its gate activations in place.
    acts = (x_tm.reshape(T * N, D) @ W_ih.T).reshape(T, N, 4 * H)
    acts += (b_ih + b_hh).astype(dtype, copy=False)

    hs = np.empty((T + 1, N, H), dtype)  # hs[t] is the hidden state before step t
    cs = np.empty((T + 1, N, H), dtype)  # cs[t] is the cell state before step t
    tanh_cs = np.empty((T, N, H), dtype)
    hs[0], cs[0] = h0, c0
    recurrent = np.empty((N, 4 * H), dtype)  # preallocated: no allocation inside the loop
    ig = np.empty((N, H), dtype)
    for t in range(T):
        a = acts[t]
        np.matmul(hs[t], W_hh.T, out=recurrent)  # the only matmul in the loop
        a += recurrent
        _sigmoid_inplace(a[:, :2 * H])  # i and f are side by side
        np.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
        _sigmoid_inplace(a[:, 3 * H:])
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        np.multiply(f, cs[t], out=cs[t + 1])
        np.multiply(i, g, out=ig)
        cs[t + 1] += ig
        np.tanh(cs[t + 1], out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=hs[t + 1])

    cache = (x_tm, hs, cs, tanh_cs, acts, W_ih, W_hh)
    # Copies, not views: changing the returned arrays in place must not corrupt the cache.
    return np.ascontiguousarray(hs[1:].transpose(1, 0, 2)), cs[T].copy(), cache


def lstm_backward(dhs, cache, dc_last=None):
    """Backpropagation through time for lstm_forward.

    dhs: (N, T, H), the gradient of the loss with respect to every hidden state;
    dc_last: (N, H) or None, the gradient with respect to the returned last cell state.
    Returns dx: (N, T, D), dh0: (N, H), dc0: (N, H), dW_ih: (4H, D), dW_hh: (4H, H),
    db_ih: (4H,), db_hh: (4H,).
    """
    x_tm, hs, cs, tanh_cs, acts, W_ih, W_hh = cache
    T, N, D = x_tm.shape
    H = hs.shape[2]
    dtype = acts.dtype
    dhs_tm = dhs.transpose(1, 0, 2)  # a view: (T, N, H)

    dacts = np.empty((T, N, 4 * H), dtype)  # the gradients of the gate pre-activations
    dh = np.zeros((N, H), dtype)  # gradient flowing into h from the step after
    dc = np.zeros((N, H), dtype) if dc_last is None else np.array(dc_last, dtype=dtype)
    tmp = np.empty((N, H), dtype)
    tmp_if = np.empty((N, 2 * H), dtype)
    for t in reversed(range(T)):
        a, da = acts[t], dacts[t]
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        di, df, dg, do = da[:, :H], da[:, H:2 * H], da[:, 2 * H:3 * H], da[:, 3 * H:]
        tanh_c = tanh_cs[t]
        dh += dhs_tm[t]  # h_t feeds both the loss at step t and step t + 1
        np.multiply(dh, tanh_c, out=do)
        # dc += dh * o * (1 - tanh_c^2): c reaches the loss directly and through h.
        np.multiply(tanh_c, tanh_c, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        np.multiply(dc, g, out=di)
        np.multiply(dc, cs[t], out=df)
        np.multiply(dc, i, out=dg)
        dc *= f  # now dc_prev: the forget gate is the only path along the belt
        # Through the nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2.
        np.subtract(1.0, a[:, :2 * H], out=tmp_if)
        tmp_if *= a[:, :2 * H]
        da[:, :2 * H] *= tmp_if
        np.subtract(1.0, o, out=tmp)
        tmp *= o
        do *= tmp
        np.multiply(g, g, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        dg *= tmp
        np.matmul(da, W_hh, out=dh)  # the only matmul in the loop: now dh_prev

    # The weights are shared across time: their gradients are three large matmuls.
    da_all = dacts.reshape(T * N, 4 * H)
    dW_ih = da_all.T @ x_tm.reshape(T * N, D)
    dW_hh = da_all.T @ hs[:T].reshape(T * N, H)
    db = da_all.sum(axis=0)
    dx = (da_all @ W_ih).reshape(T, N, D).transpose(1, 0, 2)
    return dx, dh, dc, dW_ih, dW_hh, db, db.copy()
