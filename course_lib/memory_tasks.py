"""Small torch models and training helpers for notebook 06's memory experiments.

The delay task uses course_lib.models.CharRNN (token ids in, per-step logits out);
the adding problem reads two numbers per step and answers one number at the end,
so it gets its own small model here. Every training draws fresh batches from
course_lib.tasks, and every evaluation uses sequences from a separate random stream,
never trained on.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import CharRNN
from .tasks import make_adding_batch, make_delay_batch
from .train import optimizer_step, train_loop

IGNORE = -1  # the ignore_index of the delay task's targets


def set_remember_bias(rnn, value):
    """Start a gated layer biased towards keeping its state.

    LSTM: the forget-gate bias (torch's gate order is i, f, g, o), so f = sigmoid(value)
    starts near 1 (Gers et al. 2000; Jozefowicz et al. 2015). GRU: the update-gate bias
    (order r, z, n); h = (1 - z) * n + z * h_prev, so a large z keeps the old state.
    A vanilla RNN has no gate, so it is left alone. Returns the layer.
    """
    gate = {"LSTM": 1, "GRU": 1}.get(type(rnn).__name__)
    if gate is None:
        return rnn
    H = rnn.hidden_size
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            # The layer adds bias_ih and bias_hh: put the whole offset in one of them.
            if name.startswith("bias_ih"):
                p[gate * H:(gate + 1) * H] = value
            elif name.startswith("bias_hh"):
                p[gate * H:(gate + 1) * H] = 0.0
    return rnn


# ---------------------------------------------------------------------------
# The delay task


def delay_model(cell, vocab_size, hidden_size, remember_bias=None):
    """A one-hot CharRNN for the delay task; remember_bias as in set_remember_bias."""
    model = CharRNN(vocab_size, hidden_size, cell=cell)
    if remember_bias is not None:
        set_remember_bias(model.rnn, remember_bias)
    return model


@torch.no_grad()
def delay_accuracy(model, x, y):
    """Fraction of the scored steps (y != IGNORE) where the top logit is the target.

    x, y: (N, T) NumPy ids from make_delay_batch.
    """
    model.eval()
    logits, _ = model(torch.as_tensor(x))
    model.train()
    pred = logits.argmax(-1).numpy()
    scored = y != IGNORE
    return float((pred[scored] == y[scored]).mean())


def curriculum_delay(step, steps, delay, ramp):
    """The delay to train on at `step` (1-based): it grows linearly from 1 to `delay`
    over the first `ramp` fraction of the steps, then stays at `delay`. ramp=0: no curriculum."""
    if ramp <= 0:
        return delay
    return int(min(delay, 1 + (delay - 1) * step / (ramp * steps)))


def train_delay(cell, delay, seed=0, vocab_size=4, hidden_size=64, steps=1500, lr=1e-2,
                batch_size=64, extra=30, ramp=0.5, remember_bias=1.0, clip=1.0, cooldown=0.0,
                optimizer="adam", val_size=500, eval_every=100, verbose=False, live_plot=False):
    """Train one model on the delay task and measure it on fresh sequences.

    Sequences have length delay + extra, so each one scores `extra` steps. With ramp > 0 the
    training delay follows a curriculum (curriculum_delay); validation always uses `delay`.
    With cooldown > 0 the learning rate falls linearly to 0 over that last fraction of the steps.
    optimizer: "adam", or "sgd" (plain SGD, whose step is lr times the raw gradient).
    Returns (model, accuracy on val_size never-seen sequences, History).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = delay_model(cell, vocab_size, hidden_size, remember_bias)
    optimizer = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[optimizer](model.parameters(), lr=lr)
    seq_len = delay + extra
    # A separate stream for validation, so it never sees a training sequence.
    val_x, val_y = make_delay_batch(np.random.default_rng([seed, 1]), val_size, seq_len, delay,
                                    vocab_size, IGNORE)

    def loss_of(x, y):
        logits, _ = model(torch.as_tensor(x))
        return F.cross_entropy(logits.reshape(-1, vocab_size), torch.as_tensor(y).reshape(-1),
                               ignore_index=IGNORE)

    def step_fn(step):
        if cooldown > 0:
            optimizer.param_groups[0]["lr"] = lr * min(1.0, (steps - step + 1) / (cooldown * steps))
        d = curriculum_delay(step, steps, delay, ramp)
        loss = loss_of(*make_delay_batch(rng, batch_size, seq_len, d, vocab_size, IGNORE))
        optimizer_step(model, optimizer, loss, clip)
        return loss.item()

    @torch.no_grad()
    def eval_fn():
        return loss_of(val_x, val_y).item()

    history = train_loop(step_fn, eval_fn, steps=steps, eval_every=eval_every,
                         desc=f"{cell} delay {delay} seed {seed}", live_plot=live_plot, verbose=verbose)
    return model, delay_accuracy(model, val_x, val_y), history


def delay_sweep(cells, delays, seeds, verbose=True, **settings):
    """train_delay for every cell, delay and seed, with the same settings.

    Returns results {(cell, delay): [accuracy per seed]} and the trained models
    {(cell, delay, seed): model}.
    """
    results, models = {}, {}
    for delay in delays:
        for cell in cells:
            results[cell, delay] = []
            for seed in seeds:
                model, acc, history = train_delay(cell, delay, seed=seed, **settings)
                results[cell, delay].append(acc)
                models[cell, delay, seed] = model
                if verbose:
                    print(f"delay {delay:3d}  {cell:4s}  seed {seed}: accuracy {acc:6.1%}  "
                          f"({history.seconds:.1f} s)", flush=True)
    return results, models


def delay_table(results, cells, delays):
    """The sweep as text: one row per delay, each cell's accuracies (min-max over seeds)."""
    lines = ["delay | " + " | ".join(f"{c.upper():^19s}" for c in cells)]
    for d in delays:
        row = []
        for c in cells:
            accs = results[c, d]
            row.append(f"{np.mean(accs):6.1%} ({min(accs):.0%}-{max(accs):.0%})")
        lines.append(f"{d:5d} | " + " | ".join(f"{r:^19s}" for r in row))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The adding problem


class AddingModel(nn.Module):
    """Two numbers per step in, one number out after the last step.

    x: (N, T, 2) -> prediction: (N,), read from the final hidden state.
    """

    def __init__(self, cell, hidden_size, remember_bias=None):
        super().__init__()
        self.rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](2, hidden_size, batch_first=True)
        if remember_bias is not None:
            set_remember_bias(self.rnn, remember_bias)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        hs, _ = self.rnn(x)
        return self.head(hs[:, -1]).squeeze(-1)


def train_adding(cell, seq_len, seed=0, hidden_size=64, steps=1000, lr=1e-2, batch_size=64,
                 remember_bias=1.0, clip=1.0, val_size=1000, eval_every=100, verbose=False,
                 live_plot=False):
    """Train on the adding problem; returns (model, MSE on val_size fresh sequences, History).

    Always answering 1.0 scores an MSE of 1/6 = 0.167: a model that beats it has learned
    to find the two marked numbers and add them.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = AddingModel(cell, hidden_size, remember_bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    val_x, val_y = (torch.as_tensor(a) for a in make_adding_batch(np.random.default_rng([seed, 1]),
                                                                   val_size, seq_len))

    def step_fn(step):
        x, y = (torch.as_tensor(a) for a in make_adding_batch(rng, batch_size, seq_len))
        loss = F.mse_loss(model(x), y)
        optimizer_step(model, optimizer, loss, clip)
        return loss.item()

    @torch.no_grad()
    def eval_fn():
        return F.mse_loss(model(val_x), val_y).item()

    history = train_loop(step_fn, eval_fn, steps=steps, eval_every=eval_every,
                         desc=f"{cell} adding T={seq_len} seed {seed}", live_plot=live_plot, verbose=verbose)
    return model, eval_fn(), history


def adding_sweep(cells, lengths, seeds, verbose=True, **settings):
    """train_adding for every cell, sequence length and seed, with the same settings.

    Returns results {(cell, T): [validation MSE per seed]} and the training histories
    {(cell, T, seed): History}.
    """
    results, histories = {}, {}
    for T in lengths:
        for cell in cells:
            results[cell, T] = []
            for seed in seeds:
                _, mse, history = train_adding(cell, T, seed=seed, **settings)
                results[cell, T].append(mse)
                histories[cell, T, seed] = history
                if verbose:
                    print(f"T = {T:3d}  {cell:4s}  seed {seed}: validation MSE {mse:.4f}  "
                          f"({history.seconds:.1f} s)", flush=True)
    return results, histories


def adding_table(results, cells, lengths):
    """The adding sweep as text: one row per length, each cell's MSE on every seed."""
    lines = ["    T | " + " | ".join(f"{c.upper():^24s}" for c in cells)]
    for T in lengths:
        lines.append(f"{T:5d} | " + " | ".join(
            f"{' / '.join(f'{m:.4f}' for m in results[c, T]):^24s}" for c in cells))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Gradients through time


def delay_gradient_norms(model, x, y):
    """||dL_T/dh_t|| for every step t of a delay-task CharRNN, L_T the loss at the last step.

    x, y: (N, T) ids. The layer is run one step at a time so that every hidden state h_t is
    a tensor of its own whose gradient autograd can keep. For an LSTM, h_t is the output
    o * tanh(c), not the cell c. Returns norms: (T,) NumPy, the norm over the whole batch.
    """
    inputs = F.one_hot(torch.as_tensor(x), model.vocab_size).float()
    state, hs = None, []
    for t in range(inputs.shape[1]):
        h, state = model.rnn(inputs[:, t:t + 1], state)
        h.retain_grad()
        hs.append(h)
        # Feed h itself (not the layer's separate copy h_n) to the next step, so that
        # the gradient from later steps flows back through h and lands in h.grad.
        h_next = h.transpose(0, 1)
        state = (h_next, state[1]) if isinstance(state, tuple) else h_next
    logits = model.decoder(hs[-1][:, 0])
    F.cross_entropy(logits, torch.as_tensor(y[:, -1])).backward()
    model.zero_grad(set_to_none=True)
    return np.array([h.grad.norm().item() for h in hs])


# ---------------------------------------------------------------------------
# Exploding gradients and clipping


def scale_spectral_radius(weight, radius):
    """Rescale a square weight matrix in place so that its largest |eigenvalue| is `radius`."""
    with torch.no_grad():
        weight *= radius / torch.linalg.eigvals(weight).abs().max()
    return weight


def train_rnn_sgd(clip, seed=0, radius=3.0, lr=0.5, steps=300, delay=5, vocab_size=4,
                  hidden_size=64, seq_len=50, batch_size=32, verbose=False, live_plot=False):
    """Train a vanilla RNN on the delay task with plain SGD, from a W_h of spectral radius `radius`.

    clip: None, or the max_norm of torch.nn.utils.clip_grad_norm_. Plain SGD steps by lr times
    the raw gradient, so one exploding gradient makes one enormous step; Adam would hide that by
    normalising each step. Returns (History, grad_norms), the gradient norm before clipping at
    every step.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = delay_model("rnn", vocab_size, hidden_size)
    scale_spectral_radius(model.rnn.weight_hh_l0, radius)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    grad_norms = []

    def step_fn(step):
        x, y = make_delay_batch(rng, batch_size, seq_len, delay, vocab_size, IGNORE)
        logits, _ = model(torch.as_tensor(x))
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), torch.as_tensor(y).reshape(-1),
                               ignore_index=IGNORE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # With max_norm=inf this only measures the norm.
        norm = nn.utils.clip_grad_norm_(model.parameters(), clip if clip is not None else float("inf"))
        grad_norms.append(norm.item())
        optimizer.step()
        return loss.item()

    history = train_loop(step_fn, None, steps=steps, eval_every=steps,
                         desc=f"SGD, clip={clip}", live_plot=live_plot, verbose=verbose)
    return history, np.array(grad_norms)


# Notebook 06's settings, which benchmarks/delay_sweep.py and benchmarks/adding_sweep.py start from.
# The delay task: 400 steps per run, a few seconds each on one core.
DELAY_SETTINGS = dict(vocab_size=4, hidden_size=64, steps=400, lr=1e-2, batch_size=64, extra=15,
                      ramp=0.0, remember_bias=1.0, cooldown=0.0, optimizer="adam")
# The adding problem: 400 steps of 64 sequences per run, hidden size 32, about 1-2 s per run
# at T = 20 on one core.
ADDING_SETTINGS = dict(hidden_size=32, steps=400, lr=1e-2, batch_size=64, remember_bias=1.0, clip=1.0)
