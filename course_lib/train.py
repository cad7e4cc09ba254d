"""A small training loop: progress bar, live loss plot, loss history, best checkpoint.

`train_loop` knows nothing about models. It calls `step_fn(step)` for one optimisation
step (returning the training loss in nats) and, every `eval_every` steps,
`eval_fn()` for the validation loss. That way the same loop drives a NumPy model with
hand-written gradients and a PyTorch model with autograd.

Losses are in nats per character (natural log). `loss_units` converts them:
bits/char = nats / ln 2, perplexity = exp(nats).
"""
import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm


def loss_units(nats):
    """A loss given in nats/char, as bits/char first, then nats and perplexity, in one string."""
    return f"{nats / math.log(2):.3f} bits/char (= {nats:.3f} nats/char, perplexity {math.exp(nats):.2f})"


def bits(nats):
    """Nats to bits: the course reports every character loss in bits/char."""
    return nats / math.log(2)


@dataclass
class History:
    """What happened during training. Steps count from 1."""

    steps: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_steps: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    best_val_loss: float = math.inf
    best_step: int = 0
    seconds: float = 0.0
    best_state: dict | None = None  # train_torch_lm keeps the best weights here

    @property
    def steps_done(self):
        return self.steps[-1] if self.steps else 0

    def smoothed_train_loss(self, window=None):
        """The training loss averaged over the last `window` steps, at each step.

        The default window is a twentieth of the run (at most 50 steps), so that a short
        run's curve does not lag far behind the raw losses.
        """
        losses = np.asarray(self.train_loss, dtype=float)
        window = window or max(1, min(50, len(losses) // 20))
        cumsum = np.concatenate([[0.0], np.cumsum(losses)])
        hi = np.arange(1, len(losses) + 1)
        lo = np.maximum(hi - window, 0)
        return (cumsum[hi] - cumsum[lo]) / (hi - lo)

    def summary(self):
        lines = [f"{self.steps_done} steps in {self.seconds:.1f} s "
                 f"({self.steps_done / max(self.seconds, 1e-9):.0f} steps/s)"]
        if self.train_loss:
            lines.append(f"final training loss (last 50 steps): {loss_units(float(np.mean(self.train_loss[-50:])))}")
        if self.val_loss:
            lines.append(f"final validation loss: {loss_units(self.val_loss[-1])}")
            lines.append(f"best validation loss:  {loss_units(self.best_val_loss)} at step {self.best_step}")
        return "\n".join(lines)


class LivePlot:
    """A loss plot that redraws in place in Jupyter, and prints text lines elsewhere.

    Redraws are at least `min_interval` seconds apart: each one sends a whole PNG to
    the browser, and many in a row slow training and flood the notebook's messages.
    """

    def __init__(self, title="loss", min_interval=2.0, units="nats/char"):
        self.title = title
        self.units = units
        self.min_interval = min_interval
        self.handle = None
        self.last_draw = -math.inf
        self.in_notebook = _in_notebook()

    def update(self, history, final=False):
        if not self.in_notebook:
            return  # train_loop prints a text line at each evaluation instead
        if not final and time.perf_counter() - self.last_draw < self.min_interval:
            return
        self.last_draw = time.perf_counter()
        import matplotlib.pyplot as plt
        from IPython.display import display

        from .plots import plot_losses

        fig, ax = plt.subplots(figsize=(6, 3))
        plot_losses(history, ax=ax, title=self.title, units=self.units)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)


def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def train_loop(step_fn, eval_fn=None, steps=1000, seconds=None, eval_every=100,
               on_eval=None, desc="training", live_plot=True, verbose=True, plot_units="nats/char"):
    """Call step_fn(step) `steps` times (or until `seconds` run out), evaluating as it goes.

    step_fn(step) -> training loss (nats) of that step.
    eval_fn() -> validation loss (nats); called every `eval_every` steps and at the end.
    on_eval(step, history) -> called after each evaluation, e.g. to print a sample.
    plot_units: the live plot's "nats/char" or "bits/char" (the History keeps nats).
    Returns a History.
    """
    history = History()
    plot = LivePlot(desc, units=plot_units) if live_plot else None
    start = time.perf_counter()
    # One refresh a second at most: each refresh is a message to the notebook, and
    # thousands of them slow the kernel down on a small machine.
    bar = tqdm(total=steps, desc=desc, leave=True, disable=not verbose, mininterval=1.0)
    step = 0
    for step in range(1, steps + 1):
        loss = float(step_fn(step))
        history.steps.append(step)
        history.train_loss.append(loss)
        bar.update(1)
        out_of_time = seconds is not None and time.perf_counter() - start > seconds
        if step % eval_every == 0 or step == steps or out_of_time:
            _evaluate(history, step, eval_fn, on_eval, bar, plot, verbose)
        if bar.n % 10 == 0:
            bar.set_postfix(loss=f"{np.mean(history.train_loss[-50:]):.3f}", refresh=False)
        if out_of_time:
            break
    bar.close()
    history.seconds = time.perf_counter() - start
    if plot is not None:
        plot.update(history, final=True)
    return history


def _evaluate(history, step, eval_fn, on_eval, bar, plot, verbose):
    train = float(np.mean(history.train_loss[-50:]))
    line = f"step {step}: train {train:.3f}"
    if eval_fn is not None:
        val = float(eval_fn())
        history.val_steps.append(step)
        history.val_loss.append(val)
        if val < history.best_val_loss:
            history.best_val_loss, history.best_step = val, step
        line += f", val {val:.3f} nats ({bits(val):.3f} bits)"
    if plot is not None:
        plot.update(history)
    if verbose and (plot is None or not plot.in_notebook):
        bar.write(line)
    if on_eval is not None:
        on_eval(step, history)


# ---------------------------------------------------------------------------
# PyTorch character language models


def optimizer_step(model, optimizer, loss, clip=None):
    """Backpropagate `loss`, clip the global gradient norm to `clip` (if given), take a step."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()


def evaluate_torch_lm(model, ids, batch_size=32, seq_len=100, device="cpu", max_batches=None):
    """Mean cross-entropy (nats/char) of `model` on `ids`, read once in order.

    The hidden state is carried from one chunk to the next, as in training.
    model(x (N, T) long, state) -> (logits (N, T, V), state).
    """
    import torch
    import torch.nn.functional as F

    from .data import sequential_batches

    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for i, (x, y) in enumerate(sequential_batches(ids, batch_size, seq_len)):
            if max_batches is not None and i >= max_batches:
                break
            x = torch.as_tensor(x, device=device)
            y = torch.as_tensor(y, device=device)
            logits, state = model(x, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    model.train(was_training)
    return total / count


def detach_state(state):
    """Cut the graph behind a recurrent state: h, or the LSTM's pair (h, c), or None."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def train_torch_lm(model, train_ids, val_ids, steps=500, batch_size=32, seq_len=64, lr=3e-3,
                   clip=1.0, eval_every=100, seconds=None, device="cpu", seed=0, desc="training",
                   on_eval=None, live_plot=True, verbose=True, val_batch_size=32,
                   carry_state=False, lr_decay=1.0):
    """Train a torch character model with Adam on `train_ids`.

    carry_state=False: every batch is `batch_size` random windows, and every window starts
        from a zero state.
    carry_state=True: truncated BPTT, as course_lib.numpy_lm trains. The text is cut into
        `batch_size` parallel streams read in order, so batch k+1 continues batch k; the
        state at the end of one batch is the start of the next, detached so that the
        gradient stops at the batch boundary. The model then sees context longer than
        `seq_len` and learns to use it, as it must when it generates or is evaluated.
    lr_decay: each time the validation loss fails to improve on the best so far, the
        learning rate is multiplied by it (1.0 keeps it constant).

    Keeps the state_dict with the best validation loss and loads it back at the end,
    so an overfitting model is returned at its best point, not its last.
    Returns the History; history.best_state holds the best weights.
    """
    import torch
    import torch.nn.functional as F

    from .data import random_batch
    from .numpy_lm import stream_batches

    rng = np.random.default_rng(seed)
    model.to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best = {"state": copy.deepcopy(model.state_dict()), "loss": math.inf}
    streams = stream_batches(train_ids, batch_size, seq_len, rng) if carry_state else None
    carried = {"state": None}

    def step_fn(step):
        if carry_state:
            x, y, new_pass = next(streams)
            if new_pass:
                carried["state"] = None  # a new pass through the text starts from zeros
        else:
            x, y = random_batch(train_ids, batch_size, seq_len, rng)
        x = torch.as_tensor(x, device=device)
        y = torch.as_tensor(y, device=device)
        logits, state = model(x, carried["state"])
        if carry_state:
            carried["state"] = detach_state(state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer_step(model, optimizer, loss, clip)
        return loss.item()

    def eval_fn():
        loss = evaluate_torch_lm(model, val_ids, batch_size=val_batch_size, seq_len=seq_len, device=device)
        if loss < best["loss"]:
            best["loss"], best["state"] = loss, copy.deepcopy(model.state_dict())
        else:
            for group in optimizer.param_groups:
                group["lr"] *= lr_decay
        return loss

    history = train_loop(step_fn, eval_fn, steps=steps, seconds=seconds, eval_every=eval_every,
                         on_eval=on_eval, desc=desc, live_plot=live_plot, verbose=verbose,
                         plot_units="bits/char")
    model.load_state_dict(best["state"])
    history.best_state = best["state"]
    return history
