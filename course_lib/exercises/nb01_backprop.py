"""Exercises of notebook 01, the backward pass: BPTT, the output layer and one batch of training."""
import numpy as np

from .. import layers, optim
from . import Case, Exercise, Mistake, register
from .nb01_onehot_rnn import rnn_step_cases


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
