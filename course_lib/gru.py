"""The gated recurrent unit (GRU) in NumPy, forward and backward, in PyTorch's conventions.

One step, for a batch of N inputs x: (N, D) and previous states h_prev: (N, H):

    r = sigmoid(x W_ir^T + b_ir + h_prev W_hr^T + b_hr)        reset gate
    z = sigmoid(x W_iz^T + b_iz + h_prev W_hz^T + b_hz)        update gate
    n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T + b_hn))     candidate state
    h = (1 - z) * n + z * h_prev

z near 1 keeps the old state (the unit is "closed" to new input); z near 0 replaces it
with the candidate. The reset gate multiplies h_prev W_hn^T + b_hn, AFTER the matmul, as
torch.nn.GRU and cuDNN do; Cho et al. (2014) reset before it, (r * h_prev) W_hn^T.

The weights are stored as torch stores them, so they copy over both ways:
    W_ih: (3H, D) = weight_ih_l0, rows in gate order r, z, n
    W_hh: (3H, H) = weight_hh_l0
    b_ih: (3H,)   = bias_ih_l0
    b_hh: (3H,)   = bias_hh_l0
Two biases where one would do for r and z: b_hn sits inside the reset, b_in outside it.
"""
import numpy as np


def sigmoid(a):
    """1 / (1 + exp(-a)), computed as exp(-log(1 + exp(-a))) so that no exp overflows."""
    return np.exp(-np.logaddexp(0.0, -a))


def gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    """One GRU time step.

    x: (N, D), h_prev: (N, H), W_ih: (3H, D), W_hh: (3H, H), b_ih: (3H,), b_hh: (3H,).
    Returns h: (N, H) and cache = (x, h_prev, W_ih, W_hh, r, z, n, hn), where
    r, z, n are the gates (N, H) and hn = h_prev W_hn^T + b_hn (N, H), which the
    reset gate multiplies.
    """
    H = h_prev.shape[1]
    # All three gates in one matmul each for the input and the hidden state.
    gi = x @ W_ih.T + b_ih
    gh = h_prev @ W_hh.T + b_hh
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    hn = gh[:, 2 * H:]
    n = np.tanh(gi[:, 2 * H:] + r * hn)
    h = (1.0 - z) * n + z * h_prev
    cache = (x, h_prev, W_ih, W_hh, r, z, n, hn)
    return h, cache


def gru_step_backward(dh, cache):
    """Backward pass of gru_step_forward.

    dh: (N, H), the gradient of the loss with respect to h.
    Returns dx: (N, D), dh_prev: (N, H), dW_ih: (3H, D), dW_hh: (3H, H),
    db_ih: (3H,), db_hh: (3H,).
    """
    x, h_prev, W_ih, W_hh, r, z, n, hn = cache
    # h = (1 - z) * n + z * h_prev: three ways back.
    dn = dh * (1.0 - z)
    dz = dh * (h_prev - n)
    dh_prev = dh * z  # the direct path: gradient flows through the open update gate untouched
    # Back through the nonlinearities, to the pre-activations. tanh' = 1 - n^2, sigmoid' = s(1 - s).
    da_n = dn * (1.0 - n * n)
    da_r = da_n * hn * r * (1.0 - r)
    da_z = dz * z * (1.0 - z)
    # r and z add the input and hidden parts, so both get the same gradient;
    # for n the hidden part was multiplied by r first.
    dgi = np.concatenate([da_r, da_z, da_n], axis=1)
    dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)
    dx = dgi @ W_ih
    dh_prev = dh_prev + dgh @ W_hh
    dW_ih = dgi.T @ x
    dW_hh = dgh.T @ h_prev
    db_ih = dgi.sum(axis=0)
    db_hh = dgh.sum(axis=0)
    return dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Run the GRU over a whole sequence.

    x: (N, T, D), h0: (N, H). Returns hs: (N, T, H), the state after each step, and
    cache, the list of the T step caches. hs[:, -1] is torch's h_n for this layer.
    """
    N, T, _ = x.shape
    hs = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0, W_ih))
    h, cache = h0, []
    for t in range(T):
        h, step_cache = gru_step_forward(x[:, t], h, W_ih, W_hh, b_ih, b_hh)
        hs[:, t] = h
        cache.append(step_cache)
    return hs, cache


def gru_backward(dhs, cache):
    """Backpropagation through time for gru_forward.

    dhs: (N, T, H), the gradient of the loss with respect to every state.
    Returns dx: (N, T, D), dh0: (N, H), dW_ih: (3H, D), dW_hh: (3H, H), db_ih: (3H,), db_hh: (3H,).
    """
    N, T, H = dhs.shape
    x0, _, W_ih, W_hh = cache[0][:4]
    dx = np.empty((N, T, x0.shape[1]), dtype=dhs.dtype)
    grads = [np.zeros_like(W_ih), np.zeros_like(W_hh),
             np.zeros(3 * H, dtype=dhs.dtype), np.zeros(3 * H, dtype=dhs.dtype)]
    dh_next = np.zeros((N, H), dtype=dhs.dtype)
    for t in reversed(range(T)):
        # h_t feeds both the loss at step t and step t + 1: the two gradients add.
        dx[:, t], dh_next, *step_grads = gru_step_backward(dhs[:, t] + dh_next, cache[t])
        # The weights are shared across time, so their gradients accumulate.
        for total, g in zip(grads, step_grads):
            total += g
    return (dx, dh_next, *grads)


def gru_stack_forward(x, h0, params):
    """A stack of GRU layers, each one's states the next one's inputs (torch's num_layers).

    x: (N, T, D), h0: (L, N, H), params: a list of L tuples (W_ih, W_hh, b_ih, b_hh);
    layer 0's W_ih is (3H, D), the others' (3H, H).
    Returns hs: (N, T, H), the top layer's states (torch's output), h_n: (L, N, H), the
    last state of every layer (torch's h_n), and cache, the list of the L layer caches.
    """
    inputs, h_n, cache = x, [], []
    for layer, weights in enumerate(params):
        inputs, layer_cache = gru_forward(inputs, h0[layer], *weights)
        h_n.append(inputs[:, -1])
        cache.append(layer_cache)
    return inputs, np.stack(h_n), cache


def gru_stack_backward(dhs, cache, dh_n=None):
    """Backward pass of gru_stack_forward.

    dhs: (N, T, H), the gradient with respect to the top layer's states;
    dh_n: (L, N, H) or None, the gradient with respect to h_n.
    Returns dx: (N, T, D), dh0: (L, N, H) and grads, a list of L tuples
    (dW_ih, dW_hh, db_ih, db_hh).
    """
    L = len(cache)
    dh0, grads = [None] * L, [None] * L
    for layer in reversed(range(L)):
        if dh_n is not None:
            # h_n[layer] is the layer's last state, so its gradient joins that step's.
            dhs = dhs.copy()
            dhs[:, -1] += dh_n[layer]
        dhs, dh0[layer], *layer_grads = gru_backward(dhs, cache[layer])
        grads[layer] = tuple(layer_grads)
    return dhs, np.stack(dh0), grads
