"""Gradient clipping and optimisers for a dict of NumPy parameters.

Parameters and gradients are dicts with the same keys, {"Wx": array, "Wh": array, ...}.
Every function here updates the arrays in place, so a model holding those arrays
sees the new values without being told:

    total_norm = clip_grad_norm(grads, max_norm=5.0)
    opt = Adam(lr=2e-3)
    opt.step(params, grads)
"""
import numpy as np


def clip_grad_norm(grads, max_norm):
    """Scale all gradients together so that their global L2 norm is at most max_norm.

    grads: {name: array}, changed in place. Returns total_norm, the global norm
    sqrt(sum of all squared entries) before clipping, as a float.

    One scale factor for every array keeps the direction of the full gradient; clipping
    each entry (or each array) on its own would bend it.
    """
    total_norm = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values())))
    if total_norm > max_norm:
        scale = max_norm / total_norm
        for g in grads.values():
            g *= scale
    return total_norm


class SGD:
    """Plain stochastic gradient descent, with optional momentum.

    p -= lr * g, or with momentum: v = momentum * v + g; p -= lr * v.
    """

    def __init__(self, lr=0.1, momentum=0.0):
        self.lr = lr
        self.momentum = momentum
        self.velocity = {}

    def step(self, params, grads):
        for name, p in params.items():
            g = grads[name]
            if self.momentum:
                v = self.velocity.setdefault(name, np.zeros_like(p))
                v *= self.momentum
                v += g
                g = v
            p -= self.lr * g


class Adagrad:
    """Adagrad, as in min-char-rnn: each entry's step shrinks with its history of gradients.

    cache += g**2; p -= lr * g / (sqrt(cache) + eps).
    Entries that got large gradients early take small steps for good, which is why
    Adagrad slows down on long runs.
    """

    def __init__(self, lr=0.1, eps=1e-8):
        self.lr = lr
        self.eps = eps
        self.sum_sq = {}

    def step(self, params, grads):
        for name, p in params.items():
            g = grads[name]
            s = self.sum_sq.setdefault(name, np.zeros_like(p))
            s += g * g
            p -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam:
    """Adam (Kingma & Ba, 2015): momentum on the gradient, a per-entry step size from its
    recent magnitude, and bias corrections for the zero start of both averages.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g**2
    p -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        self.m = {}
        self.v = {}

    def step(self, params, grads):
        self.t += 1
        correction1 = 1 - self.beta1 ** self.t
        correction2 = 1 - self.beta2 ** self.t
        for name, p in params.items():
            g = grads[name]
            m = self.m.setdefault(name, np.zeros_like(p))
            v = self.v.setdefault(name, np.zeros_like(p))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * (g * g)
            p -= (self.lr / correction1) * m / (np.sqrt(v / correction2) + self.eps)


def train_on_one_batch(params, x_ids, y_ids, lr, steps, loss_fn=None):
    """Plain gradient descent on a single batch: the "can it overfit?" sanity run.

    params: {name: array}; x_ids, y_ids: (N, T) ids; lr: float; steps: int.
    loss_fn(params, x_ids, y_ids, h0) -> loss, grads; course_lib.layers.rnn_lm_loss by default.
    Each step starts from h0 = 0, computes the loss and gradients at the current
    parameters, then moves every parameter by -lr * its gradient. The inputs are not
    changed: returns new_params (a new dict) and losses, the list of the `steps` losses,
    each measured before its update.
    """
    from .layers import rnn_lm_loss

    loss_fn = loss_fn or rnn_lm_loss
    h0 = np.zeros((x_ids.shape[0], params["Wh"].shape[0]))
    losses = []
    for _ in range(steps):
        loss, grads = loss_fn(params, x_ids, y_ids, h0)
        losses.append(float(loss))
        params = {name: p - lr * grads[name] for name, p in params.items()}
    return params, losses
