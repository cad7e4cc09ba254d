"""A character language model in NumPy: vanilla RNN, hand-written BPTT, batched and fast.

    model = CharRNN(vocab_size=V, hidden_size=256)                  # one-hot input
    model = CharRNN(vocab_size=V, hidden_size=256, embedding_size=32)  # embedding input
    loss, grads, h = model.loss_and_grads(x, y, h)    # x, y: (N, T) ids, h: (N, H)
    history = train_numpy_lm(model, train_ids, val_ids, seconds=60)

The network, at every step t and for every sequence in the batch:

    x_t = one_hot(id_t)  or  W_embed[id_t]
    h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)
    logits_t = h_t @ Wy + by

It computes what course_lib.layers computes step by step, arranged for speed
(the tests check that the two agree):
- float32: half the memory traffic of float64, and enough precision for training;
- the input projection x_t @ Wx + b for all time steps is one big matmul before the
  loop, since it does not depend on h;
- the time loop keeps only what must be sequential: one (N, H) @ (H, H) matmul per step;
- the weight gradients are big matmuls after the backward loop, not T small ones;
- arrays are time-major, (T, N, H), so that hs[t] is one contiguous block.
"""
import copy
import math

import numpy as np

from . import layers
from .data import sequential_batches
from .embedding import embedding_backward, embedding_forward
from .optim import Adam, clip_grad_norm
from .sampling import sample_with_temperature
from .train import train_loop


def recurrence_forward(xw, h0, Wh):
    """Run h_t = tanh(xw[t] + h_{t-1} @ Wh) over all steps.

    xw: (T, N, H), the input projections x_t @ Wx + b, already computed; h0: (N, H).
    Returns hs: (T, N, H).
    """
    hs = np.empty_like(xw)
    h = h0
    for t in range(xw.shape[0]):
        a = h @ Wh
        a += xw[t]
        h = np.tanh(a, out=hs[t])
    return hs


def recurrence_backward(dhs, hs, h0, Wh):
    """Backpropagation through time for recurrence_forward.

    dhs: (T, N, H), the gradient of the loss with respect to each h_t from the layer above.
    Returns da: (T, N, H), the gradient with respect to each pre-activation
    a_t = xw[t] + h_{t-1} @ Wh, and dh0: (N, H). Every weight gradient follows from da
    with one matmul (see CharRNN.backward).
    """
    dtanh = 1.0 - hs * hs  # tanh'(a_t) = 1 - h_t^2, for all steps at once
    da = np.empty_like(dhs)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(dhs.shape[0])):
        # h_t feeds the output at step t and the state at step t+1: the gradients add.
        np.multiply(dhs[t] + dh_next, dtanh[t], out=da[t])
        dh_next = da[t] @ Wh.T
    return da, dh_next


class CharRNN:
    """A vanilla-RNN character model with parameters in a dict of NumPy arrays.

    vocab_size: V; hidden_size: H; embedding_size: D for an embedding input, or None for
    one-hot input (then the input size is V). Weights start as torch's nn.Embedding, nn.RNN
    and nn.Linear start theirs (uniform in +-1/sqrt(H)), except the one-hot input weights
    and the output weights (see below).
    """

    def __init__(self, vocab_size, hidden_size, embedding_size=None, seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        V, H = vocab_size, hidden_size
        D = embedding_size if embedding_size is not None else V
        bound = 1.0 / math.sqrt(H)
        self.vocab_size, self.hidden_size, self.embedding_size = V, H, embedding_size
        self.dtype = dtype
        self.params = {}
        if embedding_size is not None:
            self.params["W_embed"] = rng.normal(size=(V, D))  # as torch's nn.Embedding: N(0, 1)
        # A one-hot input selects a single row of Wx: that row is the character's whole
        # input to the hidden layer. At nn.RNN's scale (+-1/sqrt(H)) it is a feeble signal,
        # and Adam grows it by only about lr per step: the rows of common characters keep
        # growing for thousands of steps. Starting them at +-2 (std 1.15) reached a lower
        # validation loss in the same time on Alice than +-0.5 or +-1 did.
        input_bound = bound if embedding_size is not None else 2.0
        self.params["Wx"] = rng.uniform(-input_bound, input_bound, size=(D, H))
        self.params["Wh"] = rng.uniform(-bound, bound, size=(H, H))
        self.params["b"] = rng.uniform(-bound, bound, size=H)
        # Small output weights: the first predictions are close to uniform, so the initial
        # loss is close to ln V whatever the hidden state looks like.
        self.params["Wy"] = rng.uniform(-bound, bound, size=(H, V)) * 0.1
        self.params["by"] = rng.uniform(-bound, bound, size=V)
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}

    def num_parameters(self):
        return sum(p.size for p in self.params.values())

    def initial_state(self, batch_size):
        return np.zeros((batch_size, self.hidden_size), dtype=self.dtype)

    def forward(self, ids, h0):
        """ids: (N, T) ints, h0: (N, H). Returns logits: (T, N, V) (time-major), h_last: (N, H), cache."""
        p = self.params
        ids_tm = np.ascontiguousarray(np.asarray(ids).T)  # (T, N)
        T, N = ids_tm.shape
        if self.embedding_size is None:
            x = layers.one_hot(ids_tm, self.vocab_size).astype(self.dtype)
            embed_cache = None
        else:
            x, embed_cache = embedding_forward(ids_tm, p["W_embed"])
        x_flat = x.reshape(T * N, -1)
        xw = (x_flat @ p["Wx"] + p["b"]).reshape(T, N, self.hidden_size)
        h0 = h0.astype(self.dtype, copy=False)
        hs = recurrence_forward(xw, h0, p["Wh"])
        logits, affine_cache = layers.temporal_affine_forward(hs, p["Wy"], p["by"])
        cache = (x_flat, embed_cache, h0, hs, affine_cache)
        return logits, hs[-1].copy(), cache

    def backward(self, dlogits, cache):
        """dlogits: (T, N, V). Returns grads: {name: array}, shaped like params."""
        p = self.params
        x_flat, embed_cache, h0, hs, affine_cache = cache
        T, N, H = hs.shape
        dhs, dWy, dby = layers.temporal_affine_backward(dlogits, affine_cache)
        da, _ = recurrence_backward(dhs, hs, h0, p["Wh"])  # dh0 is dropped: the state is detached
        da_flat = da.reshape(T * N, H)
        # Each weight is shared by all T*N positions: its gradient is a sum over them,
        # which is exactly what a matmul over the flattened positions computes.
        h_prev = np.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)
        grads = {"Wx": x_flat.T @ da_flat, "Wh": h_prev.T @ da_flat, "b": da_flat.sum(axis=0),
                 "Wy": dWy, "by": dby}
        if embed_cache is not None:
            dx = (da_flat @ p["Wx"].T).reshape(T, N, -1)
            grads["W_embed"] = embedding_backward(dx, embed_cache)
        return {k: grads[k] for k in p}

    def loss_and_grads(self, x, y, h0):
        """x, y: (N, T) ids, h0: (N, H). Returns loss (nats/char), grads, h_last (N, H)."""
        logits, h_last, cache = self.forward(x, h0)
        loss, dlogits = layers.softmax_cross_entropy(logits, np.asarray(y).T)
        return loss, self.backward(dlogits, cache), h_last

    def loss(self, x, y, h0):
        """The loss without gradients. Returns loss (nats/char), h_last (N, H)."""
        logits, h_last, _ = self.forward(x, h0)
        loss, _ = layers.softmax_cross_entropy(logits, np.asarray(y).T)
        return loss, h_last

    def sample(self, prefix_ids, length, temperature=1.0, rng=None):
        """Feed `prefix_ids`, then draw `length` more ids one at a time. Returns (length,) int64."""
        rng = rng if rng is not None else np.random.default_rng(0)
        h = self.initial_state(1)
        logits, h, _ = self.forward(np.asarray(prefix_ids)[None], h)
        out = []
        for _ in range(length):
            next_id = sample_with_temperature(logits[-1, 0], temperature, rng)
            out.append(next_id)
            logits, h, _ = self.forward(np.array([[next_id]]), h)
        return np.array(out, dtype=np.int64)


def evaluate(model, ids, batch_size=32, seq_len=100):
    """Mean cross-entropy (nats/char) of `model` over `ids`, read once in order,
    with the hidden state carried from one chunk to the next."""
    total, count = 0.0, 0
    h = model.initial_state(batch_size)
    for x, y in sequential_batches(ids, batch_size, seq_len):
        loss, h = model.loss(x, y, h)
        total += loss * y.size
        count += y.size
    return total / count


def stream_batches(ids, batch_size, seq_len, rng):
    """Endless training batches for truncated BPTT with a carried hidden state.

    The text is cut into `batch_size` parallel streams, read in chunks of `seq_len`, so
    that chunk k+1 of each stream continues chunk k and the hidden state can carry over.
    Each pass starts at a random offset so that the chunk boundaries move.
    Yields (x (N, T), y (N, T), new_pass) with new_pass True at the first chunk of a pass,
    when the hidden state should be reset.
    """
    while True:
        offset = int(rng.integers(0, seq_len))
        new_pass = True
        for x, y in sequential_batches(ids[offset:], batch_size, seq_len):
            yield x, y, new_pass
            new_pass = False


def train_numpy_lm(model, train_ids, val_ids, steps=100_000, seconds=None, batch_size=32,
                   seq_len=50, lr=2e-3, clip=5.0, eval_every=100, seed=0, on_eval=None,
                   desc="training", live_plot=True, verbose=True, val_batch_size=32,
                   lr_decay=0.5):
    """Train `model` (a CharRNN) with Adam, truncated BPTT and global-norm clipping.

    Each time the validation loss fails to improve on the best so far, the learning rate
    is multiplied by `lr_decay` (1.0 turns this off): once the model starts to overfit,
    smaller steps still improve it a little instead of making it worse.

    Runs course_lib.train.train_loop for `steps` steps or `seconds` seconds, whichever
    ends first. Keeps the parameters with the best validation loss and puts them back
    in the model at the end, so an overfitting model is returned at its best point.
    Returns the History; history.best_state holds the best parameters.
    """
    rng = np.random.default_rng(seed)
    batches = stream_batches(train_ids, batch_size, seq_len, rng)
    optimizer = Adam(lr=lr)
    state = {"h": model.initial_state(batch_size)}
    best = {"params": copy.deepcopy(model.params), "loss": math.inf}

    def step_fn(step):
        x, y, new_pass = next(batches)
        if new_pass:
            state["h"] = model.initial_state(batch_size)
        # The state is carried over but not backpropagated into: truncated BPTT.
        loss, grads, state["h"] = model.loss_and_grads(x, y, state["h"])
        if clip is not None:
            clip_grad_norm(grads, clip)
        optimizer.step(model.params, grads)
        return loss

    def eval_fn():
        loss = evaluate(model, val_ids, batch_size=val_batch_size)
        if loss < best["loss"]:
            best["loss"], best["params"] = loss, copy.deepcopy(model.params)
        else:
            optimizer.lr *= lr_decay
        return loss

    history = train_loop(step_fn, eval_fn, steps=steps, seconds=seconds, eval_every=eval_every,
                         on_eval=on_eval, desc=desc, live_plot=live_plot, verbose=verbose,
                         plot_units="bits/char")
    model.params = copy.deepcopy(best["params"])
    history.best_state = best["params"]
    return history
